//! The Sec-WebSocket-Extensions header (RFC 6455 section 9.1), parsed in one pass.
//!
//! ```text
//! extension-list = 1#( token *( ";" token [ "=" ( token / quoted-string ) ] ) )
//! ```
//!
//! The parser walks each byte once and never backtracks, so a hostile header (the
//! shape of CVE-2020-7662) costs time linear in its length.

use super::headers::is_token_byte;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionOffer {
    pub name: String,
    /// Parameters in order; a parameter without `=value` has `None`.
    pub params: Vec<(String, Option<String>)>,
}

/// The message websocket-extensions uses for a header that does not parse.
pub fn invalid_header_message(header: &str) -> String {
    format!("Invalid Sec-WebSocket-Extensions header: {header}")
}

/// Writes an offer back as header text, quoting values that are not tokens.
pub fn serialize(offer: &ExtensionOffer) -> String {
    let mut out = offer.name.clone();
    for (key, value) in &offer.params {
        out.push_str("; ");
        out.push_str(key);
        match value {
            None => {}
            Some(v) if !v.is_empty() && v.bytes().all(is_token_byte) => {
                out.push('=');
                out.push_str(v);
            }
            Some(v) => {
                out.push_str("=\"");
                out.push_str(&v.replace('\\', "\\\\").replace('"', "\\\""));
                out.push('"');
            }
        }
    }
    out
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn token(&mut self) -> Option<String> {
        let start = self.at;
        while self.peek().is_some_and(is_token_byte) {
            self.at += 1;
        }
        let token = self.bytes.get(start..self.at)?;
        if token.is_empty() {
            return None;
        }
        String::from_utf8(token.to_vec()).ok()
    }

    /// A quoted-string, unescaped. The opening quote has been consumed.
    fn quoted(&mut self) -> Option<String> {
        let mut value = Vec::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return String::from_utf8(value).ok();
                }
                b'\\' => {
                    self.at += 1;
                    value.push(self.peek()?);
                    self.at += 1;
                }
                b'\r' | b'\n' | 0 => return None,
                other => {
                    value.push(other);
                    self.at += 1;
                }
            }
        }
    }
}

/// Parses a Sec-WebSocket-Extensions header value. `None` when it is malformed; an
/// empty value offers nothing, as websocket-extensions reads it.
pub fn parse(header: &str) -> Option<Vec<ExtensionOffer>> {
    if header.trim_matches([' ', '\t']).is_empty() {
        return Some(Vec::new());
    }
    let mut cursor = Cursor { bytes: header.as_bytes(), at: 0 };
    let mut offers = Vec::new();
    loop {
        cursor.skip_ows();
        let name = cursor.token()?;
        let mut params = Vec::new();
        loop {
            cursor.skip_ows();
            if !cursor.eat(b';') {
                break;
            }
            cursor.skip_ows();
            let key = cursor.token()?;
            cursor.skip_ows();
            let value = if cursor.eat(b'=') {
                cursor.skip_ows();
                if cursor.eat(b'"') {
                    Some(cursor.quoted()?)
                } else {
                    Some(cursor.token()?)
                }
            } else {
                None
            };
            params.push((key, value));
        }
        offers.push(ExtensionOffer { name, params });
        cursor.skip_ows();
        match cursor.peek() {
            None => return Some(offers),
            Some(b',') => cursor.at += 1,
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(name: &str, params: &[(&str, Option<&str>)]) -> ExtensionOffer {
        ExtensionOffer {
            name: name.into(),
            params: params.iter().map(|(k, v)| ((*k).into(), v.map(str::to_owned))).collect(),
        }
    }

    #[test]
    fn parses_offers_with_parameters() {
        let parsed = parse("permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits=10 ; x=\"a\\\"b\", foo").unwrap();
        assert_eq!(
            parsed,
            vec![
                offer("permessage-deflate", &[("client_max_window_bits", None)]),
                offer("permessage-deflate", &[("server_max_window_bits", Some("10")), ("x", Some("a\"b"))]),
                offer("foo", &[]),
            ]
        );
    }

    #[test]
    fn serializes_back_to_header_text() {
        let parsed = parse("a; b; c=1; d=\"x y\"").unwrap();
        assert_eq!(serialize(&parsed[0]), "a; b; c=1; d=\"x y\"");
    }

    #[test]
    fn refuses_malformed_headers() {
        assert_eq!(parse(""), Some(vec![]), "an empty header offers nothing");
        for bad in [",", "a;", "a; b=", "a; b=\"unterminated", "a b", "a;;b", "a, ,b", "a; b=c d", "a=b"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn hostile_header_parses_in_linear_time() {
        // CVE-2020-7662: `a; b="\c\c\c…` made websocket-extensions' regex backtrack.
        let header = format!("a; b=\"{}", "\\c".repeat(500_000));
        let started = std::time::Instant::now();
        assert_eq!(parse(&header), None);
        let long_valid = format!("a; b=\"{}\"", "\\c".repeat(500_000));
        assert!(parse(&long_valid).is_some());
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "took {:?}", started.elapsed());
    }
}
