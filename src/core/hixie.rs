//! The hixie-75 and hixie-76 draft protocols (server side), which faye-websocket still
//! serves to old clients.
//!
//! ```text
//!  text frame      00 <UTF-8 bytes> FF
//!  binary frame    80-FF <base-128 length, high bit = more> <bytes>   (discarded)
//!  closing (76)    FF 00
//! ```
//!
//! hixie-76 adds a handshake body: after the request head the client sends 8 bytes,
//! and the server answers its 101 head with the MD5 digest of the two key numbers and
//! those bytes. Those 8 bytes may arrive after the head (a client behind a proxy);
//! sends made before then are queued. The drafts have no close codes: the connection
//! ends with `Event::CloseNoStatus`.

use md5::{Digest, Md5};

use super::error::ProtocolError;
use super::handshake::headers::HeaderList;
use super::handshake::server::{is_websocket, UpgradeRequest};
use super::limits::Limits;
use super::utf8::Utf8Validator;
use super::{Event, State};

const BODY_SIZE: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Draft {
    Hixie75,
    Hixie76,
}

enum Reader {
    /// hixie-76: the 8 bytes of the handshake body, before anything else.
    Body,
    Idle,
    Text,
    /// A length prefix; `closing` when it follows a hixie-76 `FF`; `digits` read so far.
    Length { length: u64, closing: bool, digits: u8 },
    Skip { remaining: u64 },
    Discard,
}

/// Base-128 digits in the longest length prefix there can be (a u64).
const MAX_LENGTH_DIGITS: u8 = 10;

pub struct Hixie {
    draft: Draft,
    state: State,
    limits: Limits,
    reader: Reader,
    key_values: Option<(u32, u32)>,
    body: Vec<u8>,
    text: Vec<u8>,
    utf8: Utf8Validator,
    queued: Vec<Vec<u8>>,
    /// The connection closed (a failure, or hixie-76's `FF 00`) in a read whose events
    /// the caller has not handled yet: until `flush_close`, replies to them still go
    /// out, exactly as if the close had come in a later read; then hixie-76 writes its
    /// closing `FF 00`. hixie-75 has no closing frame, but the same replies.
    owes_close: bool,
    out: Vec<u8>,
    events: Vec<Event>,
}

/// websocket-driver's key check: the digits form a number, divided by the number of
/// spaces, which must divide it and leave a 32-bit value. Arithmetic is checked, so
/// no key, however long, can overflow.
fn key_value(key: &str) -> Option<u32> {
    let mut number: u64 = 0;
    let mut digits = 0usize;
    for b in key.bytes().filter(u8::is_ascii_digit) {
        number = number.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        digits += 1;
    }
    let spaces = key.bytes().filter(|&b| b == b' ').count() as u64;
    if digits == 0 || number == 0 || spaces == 0 || !number.is_multiple_of(spaces) {
        return None;
    }
    u32::try_from(number / spaces).ok()
}

/// websocket-driver writes the draft-76 head in Node's 'binary' (latin1) encoding: each
/// character becomes one byte. Node hands header values over latin1-decoded, so this
/// gives a client's non-ASCII Origin bytes back unchanged.
///
/// Node keeps the low byte of a character above U+00FF, which turns U+010A into LF and
/// U+010D into CR after the header checks passed: a value from the `headers` option or
/// a request-like object could add header lines. Such characters, which latin1 cannot
/// hold anyway, become `?`.
fn latin1(utf8: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(utf8).chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect()
}

impl Hixie {
    pub fn new(draft: Draft, limits: Limits) -> Self {
        Hixie {
            draft,
            state: State::Connecting,
            limits,
            reader: Reader::Discard,
            key_values: None,
            body: Vec::new(),
            text: Vec::new(),
            utf8: Utf8Validator::new(),
            queued: Vec::new(),
            owes_close: false,
            out: Vec::new(),
            events: Vec::new(),
        }
    }

    pub fn version(&self) -> &'static str {
        match self.draft {
            Draft::Hixie75 => "hixie-75",
            Draft::Hixie76 => "hixie-76",
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Writes the 101 head. hixie-75 opens at once; hixie-76 waits for its body.
    pub fn start(&mut self, request: &UpgradeRequest, url: &str, custom: &HeaderList) {
        if self.state != State::Connecting {
            return;
        }
        if !is_websocket(request) {
            return self.refuse("Not a WebSocket request");
        }
        let origin = request.headers.get("origin");
        let (status, prefix) = match self.draft {
            Draft::Hixie75 => ("HTTP/1.1 101 Web Socket Protocol Handshake", ""),
            Draft::Hixie76 => ("HTTP/1.1 101 WebSocket Protocol Handshake", "Sec-"),
        };
        if self.draft == Draft::Hixie76 {
            let key = |name: &str| request.headers.get(name).filter(|v| !v.is_empty());
            let values = match (key("sec-websocket-key1"), key("sec-websocket-key2")) {
                (None, _) => Err("Missing required header: Sec-WebSocket-Key1"),
                (_, None) => Err("Missing required header: Sec-WebSocket-Key2"),
                (Some(k1), Some(k2)) => match (key_value(&k1), key_value(&k2)) {
                    (Some(v1), Some(v2)) => Ok((v1, v2)),
                    _ => Err("Client sent invalid Sec-WebSocket-Key headers"),
                },
            };
            match values {
                Ok(values) => self.key_values = Some(values),
                Err(message) => return self.refuse(message),
            }
        }
        // websocket-driver's order: the protocol's headers, then the `headers` option.
        let mut headers = HeaderList::default();
        let mut ok = headers.set("Upgrade", "WebSocket").is_ok() && headers.set("Connection", "Upgrade").is_ok();
        if let Some(origin) = origin {
            ok &= headers.set(&format!("{prefix}WebSocket-Origin"), &origin).is_ok();
        }
        ok &= headers.set(&format!("{prefix}WebSocket-Location"), url).is_ok();
        if !ok {
            return self.refuse("Invalid Origin header");
        }
        let mut head = format!("{status}\r\n").into_bytes();
        headers.write_into(&mut head);
        custom.write_into(&mut head);
        head.extend_from_slice(b"\r\n");
        if self.draft == Draft::Hixie76 {
            head = latin1(&head);
        }
        self.out.extend_from_slice(&head);
        match self.draft {
            Draft::Hixie75 => self.open(),
            Draft::Hixie76 => self.reader = Reader::Body,
        }
    }

    fn refuse(&mut self, message: &str) {
        let mut response = format!("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n", message.len()).into_bytes();
        response.extend_from_slice(message.as_bytes());
        self.out.extend_from_slice(&response);
        self.events.push(Event::Error(ProtocolError::Handshake(message.to_owned())));
        self.finish();
    }

    fn open(&mut self) {
        self.state = State::Open;
        self.reader = Reader::Idle;
        for text in std::mem::take(&mut self.queued) {
            self.write_text(&text);
        }
        self.events.push(Event::Open);
    }

    pub fn feed(&mut self, mut input: &[u8]) {
        while !input.is_empty() {
            let used = match std::mem::replace(&mut self.reader, Reader::Discard) {
                Reader::Discard => return,
                Reader::Body => self.read_body(input),
                Reader::Idle => self.read_leading_byte(input),
                Reader::Text => self.read_text(input),
                Reader::Length { length, closing, digits } => self.read_length(input, length, closing, digits),
                Reader::Skip { remaining } => {
                    let take = usize::try_from(remaining).map_or(input.len(), |r| r.min(input.len()));
                    let remaining = remaining - take as u64;
                    self.reader = if remaining == 0 { Reader::Idle } else { Reader::Skip { remaining } };
                    take
                }
            };
            input = input.get(used..).unwrap_or_default();
        }
    }

    fn read_body(&mut self, input: &[u8]) -> usize {
        let take = (BODY_SIZE - self.body.len()).min(input.len());
        self.body.extend_from_slice(input.get(..take).unwrap_or_default());
        if self.body.len() < BODY_SIZE {
            self.reader = Reader::Body;
            return take;
        }
        let (v1, v2) = self.key_values.unwrap_or_default();
        let mut md5 = Md5::new();
        md5.update(v1.to_be_bytes());
        md5.update(v2.to_be_bytes());
        md5.update(&self.body);
        self.out.extend_from_slice(&md5.finalize());
        self.body = Vec::new();
        self.open();
        take
    }

    fn read_leading_byte(&mut self, input: &[u8]) -> usize {
        let Some(&lead) = input.first() else { return 0 };
        self.reader = if self.draft == Draft::Hixie76 && lead == 0xFF {
            Reader::Length { length: 0, closing: true, digits: 0 }
        } else if lead & 0x80 != 0 {
            Reader::Length { length: 0, closing: false, digits: 0 }
        } else {
            self.text.clear();
            self.utf8.reset();
            Reader::Text
        };
        1
    }

    fn read_length(&mut self, input: &[u8], length: u64, closing: bool, digits: u8) -> usize {
        let Some(&byte) = input.first() else { return 0 };
        // Checked: a long run of high-bit bytes cannot overflow (CVE-2026-54466). A run
        // of 0x80 keeps the value at zero, so the digits are counted too: no length
        // needs more than MAX_LENGTH_DIGITS of them.
        let digits = digits.saturating_add(1);
        let length = length
            .checked_mul(128)
            .and_then(|l| l.checked_add(u64::from(byte & 0x7F)))
            .filter(|_| digits <= MAX_LENGTH_DIGITS);
        match length {
            Some(length) if length <= self.limits.max_length => {
                if closing && length == 0 {
                    self.peer_closed();
                } else if byte & 0x80 != 0 {
                    self.reader = Reader::Length { length, closing, digits };
                } else if length == 0 {
                    self.reader = Reader::Idle;
                } else {
                    self.reader = Reader::Skip { remaining: length };
                }
            }
            _ => self.fail(ProtocolError::MessageTooLarge),
        }
        1
    }

    fn read_text(&mut self, input: &[u8]) -> usize {
        let end = input.iter().position(|&b| b == 0xFF);
        let chunk = input.get(..end.unwrap_or(input.len())).unwrap_or_default();
        if (self.text.len() + chunk.len()) as u64 > self.limits.max_length {
            self.fail(ProtocolError::MessageTooLarge);
            return input.len();
        }
        if !self.utf8.feed(chunk) {
            self.fail(ProtocolError::InvalidUtf8);
            return input.len();
        }
        super::copy::extend(&mut self.text, chunk);
        match end {
            None => {
                self.reader = Reader::Text;
                input.len()
            }
            Some(at) => {
                if !self.utf8.is_complete() {
                    self.fail(ProtocolError::InvalidUtf8);
                    return input.len();
                }
                self.events.push(Event::Message { text: true, data: std::mem::take(&mut self.text) });
                self.reader = Reader::Idle;
                at + 1
            }
        }
    }

    /// hixie-76's `FF 00`: answered in kind, once the events before it were handled
    /// (`flush_close`), so replies to messages in the same read go out first.
    fn peer_closed(&mut self) {
        self.close_after_events();
    }

    fn fail(&mut self, error: ProtocolError) {
        if self.state == State::Closed {
            return;
        }
        self.events.push(Event::Error(error));
        self.close_after_events();
    }

    fn close_after_events(&mut self) {
        if self.state == State::Closed {
            return;
        }
        self.owes_close = self.state == State::Open;
        self.finish();
    }

    /// Ends the replies to the events before the close; writes the `FF 00` owed to a
    /// hixie-76 peer.
    pub fn flush_close(&mut self) {
        if std::mem::take(&mut self.owes_close) && self.draft == Draft::Hixie76 {
            self.out.extend_from_slice(&[0xFF, 0x00]);
        }
    }

    /// Closes the connection; hixie-76 sends `FF 00` when it was open.
    pub fn close(&mut self) {
        if self.state == State::Closed {
            return;
        }
        if self.draft == Draft::Hixie76 && self.state == State::Open {
            self.out.extend_from_slice(&[0xFF, 0x00]);
        }
        self.finish();
    }

    fn finish(&mut self) {
        self.state = State::Closed;
        self.reader = Reader::Discard;
        self.queued.clear();
        self.text = Vec::new();
        self.events.push(Event::CloseNoStatus);
    }

    pub fn feed_eof(&mut self) {
        self.owes_close = false;
        if self.state != State::Closed {
            self.state = State::Closed;
            self.reader = Reader::Discard;
            self.events.push(Event::Close { code: super::close::ABNORMAL_CLOSURE, reason: String::new() });
        }
    }

    /// Sends a text message; queued until the hixie-76 handshake body has arrived.
    /// Returns false once closed.
    pub fn send_text(&mut self, text: &[u8]) -> bool {
        match self.state {
            State::Connecting => {
                self.queued.push(text.to_vec());
                true
            }
            // Also while the events before the close are being handled.
            State::Open => {
                self.write_text(text);
                true
            }
            State::Closed if self.owes_close => {
                self.write_text(text);
                true
            }
            State::Closing | State::Closed => false,
        }
    }

    fn write_text(&mut self, text: &[u8]) {
        self.out.reserve(text.len() + 2);
        self.out.push(0x00);
        super::copy::extend(&mut self.out, text);
        self.out.push(0xFF);
    }

    /// Bytes written and not yet drained.
    pub fn output_len(&self) -> usize {
        self.out.len()
    }

    pub fn drain_output(&mut self) -> Option<Vec<u8>> {
        super::output::drain(&mut self.out)
    }

    /// Moves the output into `dst` if it fits: see `Connection::drain_output_into`.
    pub fn drain_output_into(&mut self, dst: &mut [u8]) -> Option<usize> {
        super::output::drain_into(&mut self.out, dst)
    }

    pub fn drain_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::handshake::headers::RequestHeaders;

    const URL: &str = "ws://example.com/demo";

    fn request(draft: Draft) -> UpgradeRequest {
        let mut pairs = vec![
            ("Host".to_owned(), "example.com".to_owned()),
            ("Connection".to_owned(), "Upgrade".to_owned()),
            ("Upgrade".to_owned(), "WebSocket".to_owned()),
            ("Origin".to_owned(), "http://example.com".to_owned()),
        ];
        if draft == Draft::Hixie76 {
            // The example from draft-hixie-thewebsocketprotocol-76 section 1.3.
            pairs.push(("Sec-WebSocket-Key1".to_owned(), "4 @1  46546xW%0l 1 5".to_owned()));
            pairs.push(("Sec-WebSocket-Key2".to_owned(), "12998 5 Y3 1  .P00".to_owned()));
        }
        UpgradeRequest { method: "GET".into(), headers: RequestHeaders::new(pairs) }
    }

    fn started(draft: Draft) -> Hixie {
        let mut hixie = Hixie::new(draft, Limits { max_length: 1000 });
        hixie.start(&request(draft), URL, &HeaderList::default());
        hixie
    }

    #[test]
    fn hixie75_handshake_opens_at_once() {
        let mut hixie = started(Draft::Hixie75);
        assert_eq!(
            String::from_utf8(hixie.drain_output().unwrap()).unwrap(),
            "HTTP/1.1 101 Web Socket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nWebSocket-Origin: http://example.com\r\nWebSocket-Location: ws://example.com/demo\r\n\r\n"
        );
        assert_eq!(hixie.drain_events(), vec![Event::Open]);
    }

    #[test]
    fn hixie76_answers_the_drafts_example_digest_once_the_body_arrives() {
        let body = b"^n:ds[4U";
        for cut in 0..=body.len() {
            let mut hixie = started(Draft::Hixie76);
            let head = String::from_utf8(hixie.drain_output().unwrap()).unwrap();
            assert!(head.starts_with("HTTP/1.1 101 WebSocket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nSec-WebSocket-Origin: http://example.com\r\nSec-WebSocket-Location: ws://example.com/demo\r\n\r\n"));
            assert!(hixie.send_text(b"early"), "queued until open");
            hixie.feed(&body[..cut]);
            let mut rest = body[cut..].to_vec();
            rest.extend_from_slice(b"\x00hi\xFF");
            hixie.feed(&rest);
            let mut expected = b"8jKS'y:G*Co,Wxa-".to_vec();
            expected.extend_from_slice(b"\x00early\xFF");
            assert_eq!(hixie.drain_output().unwrap(), expected, "cut {cut}");
            assert_eq!(hixie.drain_events(), vec![Event::Open, Event::Message { text: true, data: b"hi".to_vec() }]);
        }
    }

    #[test]
    fn hixie76_head_echoes_latin1_header_bytes() {
        let mut req = request(Draft::Hixie76);
        let mut pairs: Vec<(String, String)> = vec![("Connection".into(), "Upgrade".into()), ("Upgrade".into(), "WebSocket".into())];
        pairs.push(("Origin".into(), "http://b\u{e4}r.example".into())); // byte E4, as Node decodes it
        pairs.push(("Sec-WebSocket-Key1".into(), "4 @1  46546xW%0l 1 5".into()));
        pairs.push(("Sec-WebSocket-Key2".into(), "12998 5 Y3 1  .P00".into()));
        req.headers = RequestHeaders::new(pairs);
        let mut hixie = Hixie::new(Draft::Hixie76, Limits::default());
        hixie.start(&req, URL, &HeaderList::default());
        let head = hixie.drain_output().unwrap();
        let origin: &[u8] = b"Origin: http://b\xe4r.example\r\n";
        assert!(head.windows(origin.len()).any(|w| w == origin), "{head:02x?}");
    }

    #[test]
    fn malformed_keys_are_refused_with_400() {
        for (k1, k2) in [("no digits here", "1 2"), ("123456", "1 2"), ("1 2", "99999999999999999999999999 9"), ("3 3", "7  ")] {
            let mut req = request(Draft::Hixie76);
            let mut pairs: Vec<(String, String)> = vec![("Connection".into(), "Upgrade".into()), ("Upgrade".into(), "WebSocket".into())];
            pairs.push(("Sec-WebSocket-Key1".into(), k1.into()));
            pairs.push(("Sec-WebSocket-Key2".into(), k2.into()));
            req.headers = RequestHeaders::new(pairs);
            let mut hixie = Hixie::new(Draft::Hixie76, Limits::default());
            hixie.start(&req, URL, &HeaderList::default());
            assert!(hixie.drain_output().unwrap().starts_with(b"HTTP/1.1 400 Bad Request"), "{k1:?} {k2:?}");
            let events = hixie.drain_events();
            assert_eq!(events.first(), Some(&Event::Error(ProtocolError::Handshake("Client sent invalid Sec-WebSocket-Key headers".into()))));
        }
    }

    #[test]
    fn text_frames_split_anywhere() {
        let input = b"\x00one\xFF\x00two \xE2\x9C\x93\xFF";
        for cut in 0..=input.len() {
            let mut hixie = started(Draft::Hixie75);
            hixie.drain_events();
            hixie.feed(&input[..cut]);
            hixie.feed(&input[cut..]);
            assert_eq!(
                hixie.drain_events(),
                vec![Event::Message { text: true, data: b"one".to_vec() }, Event::Message { text: true, data: "two ✓".as_bytes().to_vec() }]
            );
        }
    }

    #[test]
    fn binary_frames_are_skipped_and_framing_continues() {
        let mut hixie = started(Draft::Hixie75);
        hixie.drain_events();
        hixie.feed(b"\x80\x03abc\x00next\xFF");
        assert_eq!(hixie.drain_events(), vec![Event::Message { text: true, data: b"next".to_vec() }]);
    }

    #[test]
    fn endless_length_prefix_is_refused() {
        // CVE-2026-54466: many high-bit bytes once grew the length without bound.
        let mut hixie = started(Draft::Hixie75);
        hixie.drain_events();
        hixie.feed(&[0xFF; 64]);
        assert_eq!(hixie.drain_events(), vec![Event::Error(ProtocolError::MessageTooLarge), Event::CloseNoStatus]);
        // Zero digits keep the value at 0 but may not go on for ever either.
        for draft in [Draft::Hixie75, Draft::Hixie76] {
            let mut hixie = started(draft);
            if draft == Draft::Hixie76 {
                hixie.feed(b"^n:ds[4U");
            }
            hixie.drain_events();
            hixie.feed(&[0x80; 64 * 1024]);
            assert_eq!(hixie.drain_events(), vec![Event::Error(ProtocolError::MessageTooLarge), Event::CloseNoStatus], "{draft:?}");
        }
    }

    #[test]
    fn hixie76_close_is_answered_in_kind() {
        let mut hixie = started(Draft::Hixie76);
        hixie.feed(b"^n:ds[4U");
        hixie.drain_output();
        hixie.drain_events();
        hixie.feed(b"\x00hi\xFF\xFF\x00");
        assert_eq!(hixie.drain_events(), vec![Event::Message { text: true, data: b"hi".to_vec() }, Event::CloseNoStatus]);
        assert_eq!(hixie.drain_output(), None, "the FF 00 waits for the events before it");
        assert!(hixie.send_text(b"hi"), "a reply to the message still goes out");
        hixie.flush_close();
        assert_eq!(hixie.drain_output().unwrap(), b"\x00hi\xFF\xFF\x00");
        assert!(!hixie.send_text(b"late"));
    }

    #[test]
    fn hixie76_head_cannot_gain_lines_from_characters_beyond_latin1() {
        let mut req = request(Draft::Hixie76);
        let mut pairs: Vec<(String, String)> = vec![("Connection".into(), "Upgrade".into()), ("Upgrade".into(), "WebSocket".into())];
        pairs.push(("Sec-WebSocket-Key1".into(), "4 @1  46546xW%0l 1 5".into()));
        pairs.push(("Sec-WebSocket-Key2".into(), "12998 5 Y3 1  .P00".into()));
        // Latin-1 characters come back as their byte; U+010D U+010A would be CR LF.
        pairs.push(("Origin".into(), "http://\u{e9}x\u{10d}\u{10a}Set-Cookie: a=1".into()));
        req.headers = RequestHeaders::new(pairs);
        let mut custom = HeaderList::default();
        custom.set("X-Note", "\u{10a}Injected: 1").unwrap();
        let mut hixie = Hixie::new(Draft::Hixie76, Limits::default());
        hixie.start(&req, URL, &custom);
        let head = hixie.drain_output().unwrap();
        assert_eq!(head.iter().filter(|&&b| b == b'\n').count(), 7, "{}", String::from_utf8_lossy(&head));
        assert!(head.windows(33).any(|w| w == b"Sec-WebSocket-Origin: http://\xe9x??"));
        assert!(head.windows(20).any(|w| w == b"X-Note: ?Injected: 1"));
    }

    #[test]
    fn hixie75_replies_to_messages_in_the_read_that_failed() {
        // A reply to a message must not depend on whether the bad frame after it came
        // in the same read: hixie-75 once refused it, having no closing frame to hold.
        let mut hixie = started(Draft::Hixie75);
        hixie.drain_output();
        hixie.drain_events();
        hixie.feed(b"\x00hi\xFF\x00\xC0\xFF");
        assert_eq!(
            hixie.drain_events(),
            vec![Event::Message { text: true, data: b"hi".to_vec() }, Event::Error(ProtocolError::InvalidUtf8), Event::CloseNoStatus]
        );
        assert!(hixie.send_text(b"hi"));
        hixie.flush_close();
        assert_eq!(hixie.drain_output().unwrap(), b"\x00hi\xFF", "no closing frame in hixie-75");
        assert!(!hixie.send_text(b"late"));
    }

    #[test]
    fn text_over_max_length_or_invalid_utf8_closes() {
        let mut hixie = started(Draft::Hixie75);
        hixie.drain_events();
        let mut long = vec![0x00];
        long.extend(vec![b'a'; 1001]);
        hixie.feed(&long);
        assert_eq!(hixie.drain_events().first(), Some(&Event::Error(ProtocolError::MessageTooLarge)));
        let mut hixie = started(Draft::Hixie75);
        hixie.drain_events();
        hixie.feed(b"\x00\xC0\xAF\xFF");
        assert_eq!(hixie.drain_events().first(), Some(&Event::Error(ProtocolError::InvalidUtf8)));
    }
}
