//! EventSource encoding (WHATWG HTML, "Server-sent events"), byte-for-byte as
//! faye-websocket writes it: its response head, a `retry:` line, `event:`/`id:`/`data:`
//! fields with CRLF line ends, and `:` comments as pings.
//!
//! Stricter than faye: an `event` or `id` holding CR or LF could end the field and
//! inject others (`id: "1\r\ndata: injected"`), so such a value is refused; `data` may
//! hold any line breaks, since each line becomes its own `data:` field. An `id` holding
//! NUL is refused too: clients drop such an id field, so the event would reach them
//! under the previous id.

use super::error::UsageError;
use super::handshake::headers::HeaderList;

/// A comment line: clients ignore it, proxies see traffic.
pub const PING: &[u8] = b":\r\n\r\n";

/// The response head and the reconnection delay, written straight to the socket.
pub fn response_head(custom: &HeaderList, retry_ms: u64) -> Vec<u8> {
    let mut out = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache, no-store\r\nConnection: close\r\n".to_vec();
    custom.write_into(&mut out);
    out.extend_from_slice(format!("\r\nretry: {retry_ms}\r\n\r\n").as_bytes());
    out
}

fn check_field(name: &'static str, value: &str) -> Result<(), UsageError> {
    if value.contains(['\r', '\n']) {
        Err(UsageError::InvalidEventField(name))
    } else {
        Ok(())
    }
}

/// One event. Each line of `data` becomes a `data:` field, keeping its original line
/// ending as faye does; empty `event` or `id` are left out, as faye leaves them out.
pub fn message(data: &str, event: Option<&str>, id: Option<&str>) -> Result<Vec<u8>, UsageError> {
    let event = event.filter(|e| !e.is_empty());
    let id = id.filter(|i| !i.is_empty());
    if let Some(event) = event {
        check_field("event", event)?;
    }
    if let Some(id) = id {
        check_field("id", id)?;
        if id.contains('\0') {
            return Err(UsageError::NulInEventId);
        }
    }
    let mut out = Vec::with_capacity(data.len() + 16);
    if let Some(event) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(event.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(id) = id {
        out.extend_from_slice(b"id: ");
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"data: ");
    let bytes = data.as_bytes();
    let mut at = 0;
    while let Some(offset) = bytes.get(at..).and_then(|rest| rest.iter().position(|&b| b == b'\r' || b == b'\n')) {
        let brk = at + offset;
        // A line ends with CRLF, CR or LF.
        let end = if bytes.get(brk) == Some(&b'\r') && bytes.get(brk + 1) == Some(&b'\n') { brk + 2 } else { brk + 1 };
        super::copy::extend(&mut out, bytes.get(at..end).unwrap_or_default());
        out.extend_from_slice(b"data: ");
        at = end;
    }
    super::copy::extend(&mut out, bytes.get(at..).unwrap_or_default());
    out.extend_from_slice(b"\r\n\r\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn writes_faye_head_with_custom_headers_and_retry() {
        let mut custom = HeaderList::default();
        custom.set("Access-Control-Allow-Origin", "*").unwrap();
        assert_eq!(
            text(response_head(&custom, 10_000)),
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache, no-store\r\nConnection: close\r\nAccess-Control-Allow-Origin: *\r\n\r\nretry: 10000\r\n\r\n"
        );
    }

    #[test]
    fn writes_event_id_and_data_lines() {
        assert_eq!(text(message("Hello", None, None).unwrap()), "data: Hello\r\n\r\n");
        assert_eq!(
            text(message("Breaking News!", Some("notification"), Some("99")).unwrap()),
            "event: notification\r\nid: 99\r\ndata: Breaking News!\r\n\r\n"
        );
    }

    #[test]
    fn keeps_each_original_line_ending_in_multiline_data() {
        assert_eq!(text(message("a\nb", None, None).unwrap()), "data: a\ndata: b\r\n\r\n");
        assert_eq!(text(message("a\r\nb\rc\n", None, None).unwrap()), "data: a\r\ndata: b\rdata: c\ndata: \r\n\r\n");
    }

    #[test]
    fn refuses_line_breaks_in_event_and_id() {
        assert_eq!(message("x", None, Some("1\r\ndata: injected")), Err(UsageError::InvalidEventField("id")));
        assert_eq!(message("x", Some("a\nb"), None), Err(UsageError::InvalidEventField("event")));
        assert_eq!(message("x", Some("a\rb"), None), Err(UsageError::InvalidEventField("event")));
    }

    #[test]
    fn refuses_nul_in_id_which_clients_would_ignore() {
        assert_eq!(message("x", None, Some("1\0")), Err(UsageError::NulInEventId));
        // NUL is harmless elsewhere: it survives in the event name and the data.
        assert_eq!(text(message("a\0b", Some("n\0"), None).unwrap()), "event: n\0\r\ndata: a\0b\r\n\r\n");
    }
}
