//! HTTP header lists: looking up request headers, and building response heads the way
//! websocket-driver does (names and values trimmed, first one of a name wins).

use crate::core::error::UsageError;

/// Headers that websocket-driver lets appear more than once in a response.
const ALLOWED_DUPLICATES: [&str; 4] = ["set-cookie", "set-cookie2", "warning", "www-authenticate"];

/// Request headers as received, in order, names as sent.
#[derive(Debug, Clone, Default)]
pub struct RequestHeaders {
    pairs: Vec<(String, String)>,
}

impl RequestHeaders {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        RequestHeaders { pairs }
    }

    /// The value of `name` (case-insensitive); repeated headers are joined with ", "
    /// as Node's `request.headers` joins them.
    pub fn get(&self, name: &str) -> Option<String> {
        let mut values = self.pairs.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim());
        let first = values.next()?;
        let mut joined = first.to_owned();
        for value in values {
            joined.push_str(", ");
            joined.push_str(value);
        }
        Some(joined)
    }

    /// Whether a comma-separated header contains `token` (case-insensitive).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get(name).is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }
}

/// Response header lines in the order they were set.
#[derive(Debug, Clone, Default)]
pub struct HeaderList {
    lines: Vec<(String, String)>,
}

impl HeaderList {
    /// Adds a header unless one of that name was set already. Names and values are
    /// trimmed of spaces; a CR, LF or NUL in either would let a caller inject header
    /// lines, so it is refused.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), UsageError> {
        let name = name.trim_matches(' ');
        let value = value.trim_matches(' ');
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(UsageError::InvalidHeader(name.to_owned()));
        }
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(UsageError::InvalidHeader(name.to_owned()));
        }
        let key = name.to_ascii_lowercase();
        let seen = self.lines.iter().any(|(n, _)| n.eq_ignore_ascii_case(&key));
        if !seen || ALLOWED_DUPLICATES.contains(&key.as_str()) {
            self.lines.push((name.to_owned(), value.to_owned()));
        }
        Ok(())
    }

    /// Appends `Name: value\r\n` for each header.
    pub fn write_into(&self, out: &mut Vec<u8>) {
        for (name, value) in &self.lines {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// RFC 7230 section 3.2.6 `tchar`.
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_request_headers_are_joined() {
        let headers = RequestHeaders::new(vec![
            ("Sec-WebSocket-Protocol".into(), "a".into()),
            ("sec-websocket-protocol".into(), " b ".into()),
        ]);
        assert_eq!(headers.get("SEC-WEBSOCKET-PROTOCOL").as_deref(), Some("a, b"));
        assert_eq!(headers.get("missing"), None);
    }

    #[test]
    fn connection_tokens_are_case_insensitive() {
        let headers = RequestHeaders::new(vec![("Connection".into(), "keep-alive, Upgrade".into())]);
        assert!(headers.has_token("connection", "upgrade"));
        assert!(!headers.has_token("connection", "close"));
    }

    #[test]
    fn first_header_of_a_name_wins_except_allowed_duplicates() {
        let mut list = HeaderList::default();
        list.set(" X-Name ", " one ").unwrap();
        list.set("x-name", "two").unwrap();
        list.set("Set-Cookie", "a=1").unwrap();
        list.set("Set-Cookie", "b=2").unwrap();
        let mut out = Vec::new();
        list.write_into(&mut out);
        assert_eq!(out, b"X-Name: one\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n");
    }

    #[test]
    fn refuses_header_injection() {
        let mut list = HeaderList::default();
        assert_eq!(list.set("X-A", "1\r\nInjected: yes"), Err(UsageError::InvalidHeader("X-A".into())));
        assert_eq!(list.set("X-A\r\nB", "1"), Err(UsageError::InvalidHeader("X-A\r\nB".into())));
        assert_eq!(list.set("", "1"), Err(UsageError::InvalidHeader(String::new())));
    }
}
