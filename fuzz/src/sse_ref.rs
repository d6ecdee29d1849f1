//! A reference EventSource parser (WHATWG HTML, "Server-sent events", section
//! "Interpreting an event stream"), and the `eventsource` target.

use faye_websocket_native::core::handshake::headers::HeaderList;
use faye_websocket_native::core::sse;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatched {
    pub event_type: String,
    pub data: String,
    pub last_event_id: String,
}

#[derive(Debug, Default)]
pub struct Parser {
    data: String,
    event_type: String,
    last_event_id: String,
    pub reconnection_time: Option<u64>,
    pub events: Vec<Dispatched>,
}

impl Parser {
    /// Parses a whole stream. A last event without its blank line is dropped, as the
    /// specification drops it when the stream ends.
    pub fn parse(stream: &str) -> Parser {
        let mut parser = Parser::default();
        let stream = stream.strip_prefix('\u{FEFF}').unwrap_or(stream);
        let mut rest = stream;
        // Lines end with CRLF, LF or CR; what follows the last line break is not a line.
        while let Some(at) = rest.find(['\r', '\n']) {
            let line = &rest[..at];
            let skip = if rest[at..].starts_with("\r\n") { 2 } else { 1 };
            rest = &rest[at + skip..];
            parser.line(line);
        }
        parser
    }

    fn line(&mut self, line: &str) {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.event_type = value.to_owned(),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            // An id holding NUL is ignored.
            "id" if !value.contains('\0') => self.last_event_id = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.reconnection_time = value.parse().ok();
            }
            _ => {}
        }
    }

    fn dispatch(&mut self) {
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop();
        let event_type = match std::mem::take(&mut self.event_type) {
            t if t.is_empty() => "message".to_owned(),
            t => t,
        };
        self.events.push(Dispatched { event_type, data, last_event_id: self.last_event_id.clone() });
    }
}

/// The data a client sees for `data`: each line break (CRLF, CR or LF) becomes LF.
pub fn normalized(data: &str) -> String {
    data.replace("\r\n", "\n").replace('\r', "\n")
}

/// Input: a setup byte (bit 0: a ping between events), two bytes of `retry`, then
/// fields separated by 0xFF (never part of UTF-8), three per event: data, event, id.
pub fn fuzz_eventsource(bytes: &[u8]) {
    let [setup, r0, r1, fields @ ..] = bytes else { return };
    let pings = setup & 1 != 0;
    let retry = u64::from(u16::from_be_bytes([*r0, *r1]));
    let head = sse::response_head(&HeaderList::default(), retry);
    let body_at = head.windows(4).position(|w| w == b"\r\n\r\n").expect("a head") + 4;
    assert!(head.starts_with(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"));
    let mut stream = head[body_at..].to_vec();

    let fields: Vec<String> = fields.split(|&b| b == 0xFF).map(|f| String::from_utf8_lossy(f).into_owned()).collect();
    let mut expected = Vec::new();
    let mut last_id = String::new();
    for event in fields.chunks(3) {
        let data = &event[0];
        let name = event.get(1).map(String::as_str);
        let id = event.get(2).map(String::as_str);
        let breaks = |v: Option<&str>, nul: bool| v.is_some_and(|v| v.contains(['\r', '\n']) || (nul && v.contains('\0')));
        match sse::message(data, name, id) {
            Err(e) => {
                assert!(breaks(name, false) || breaks(id, true), "refused {data:?} {name:?} {id:?}: {e}");
                continue;
            }
            Ok(bytes) => {
                assert!(!breaks(name, false) && !breaks(id, true), "accepted a field the client cannot read back: {name:?} {id:?}");
                stream.extend_from_slice(&bytes);
            }
        }
        if pings {
            stream.extend_from_slice(sse::PING);
        }
        // An empty id is left out, so the client keeps the last one it saw.
        if let Some(id) = id.filter(|i| !i.is_empty()) {
            last_id = id.to_owned();
        }
        let event_type = name.filter(|n| !n.is_empty()).unwrap_or("message").to_owned();
        expected.push(Dispatched { event_type, data: normalized(data), last_event_id: last_id.clone() });
    }
    let text = String::from_utf8(stream).expect("the stream is UTF-8");
    let parsed = Parser::parse(&text);
    assert_eq!(parsed.reconnection_time, Some(retry), "retry");
    assert_eq!(parsed.events, expected, "events read back from {text:?}");
}
