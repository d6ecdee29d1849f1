//! The hixie-75 and hixie-76 drafts: a reference decoder of what a client sends after
//! the handshake, and the driver of the `hixie75` / `hixie76` targets.
//!
//! Framing as websocket-driver reads it (the shape faye-websocket users rely on):
//! `00 <UTF-8> FF` is a text message (any lead byte below 0x80 opens one); a lead byte
//! with the high bit set is followed by a base-128 length and that many bytes, which
//! are dropped; in hixie-76 a lead `FF` whose length is still 0 after any length byte
//! is the closing handshake. Lengths and text longer than maxLength fail.

use faye_websocket_native::core::handshake::headers::RequestHeaders;
use faye_websocket_native::core::handshake::server::UpgradeRequest;
use faye_websocket_native::core::{Connection, Event, Limits, ProtocolError};
use md5::{Digest, Md5};

use crate::{utf8_ok, utf8_prefix_ok};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    Exhausted,
    /// hixie-76's `FF 00`.
    PeerClose,
    /// The core must fail with one of these errors.
    Fail(Vec<ProtocolError>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub messages: Vec<Vec<u8>>,
    pub end: End,
}

pub fn decode(input: &[u8], draft76: bool, max_length: u64) -> Decoded {
    let mut messages = Vec::new();
    let mut at = 0usize;
    let end = loop {
        let Some(&lead) = input.get(at) else { break End::Exhausted };
        at += 1;
        if lead & 0x80 != 0 {
            let closing = draft76 && lead == 0xFF;
            let mut length: u64 = 0;
            let mut cut_short = false;
            // No length needs more than 10 base-128 digits (a u64); more is refused
            // even when they are zeros.
            let mut digits = 0u32;
            loop {
                let Some(&b) = input.get(at) else {
                    cut_short = true;
                    break;
                };
                at += 1;
                digits += 1;
                length = match length.checked_mul(128).and_then(|l| l.checked_add(u64::from(b & 0x7F))) {
                    Some(l) if l <= max_length && digits <= 10 => l,
                    _ => return Decoded { messages, end: End::Fail(vec![ProtocolError::MessageTooLarge]) },
                };
                if closing && length == 0 {
                    return Decoded { messages, end: End::PeerClose };
                }
                if b & 0x80 == 0 {
                    break;
                }
            }
            if cut_short {
                break End::Exhausted;
            }
            let skip = usize::try_from(length).unwrap_or(usize::MAX);
            if input.len() - at < skip {
                break End::Exhausted;
            }
            at += skip;
        } else {
            let stop = input[at..].iter().position(|&b| b == 0xFF);
            let text = &input[at..stop.map_or(input.len(), |s| at + s)];
            let max = usize::try_from(max_length).unwrap_or(usize::MAX);
            let mut faults = Vec::new();
            if text.len() > max {
                faults.push(ProtocolError::MessageTooLarge);
            }
            // UTF-8 is checked on what fitted within the limit.
            if !utf8_prefix_ok(&text[..text.len().min(max)]) {
                faults.push(ProtocolError::InvalidUtf8);
            }
            if !faults.is_empty() {
                break End::Fail(faults);
            }
            let Some(stop) = stop else { break End::Exhausted };
            if !utf8_ok(text) {
                break End::Fail(vec![ProtocolError::InvalidUtf8]);
            }
            messages.push(text.to_vec());
            at += stop + 1;
        }
    };
    Decoded { messages, end }
}

const URL: &str = "ws://example.com/demo";
/// The example keys of draft-hixie-thewebsocketprotocol-76 section 1.3.
const KEY1: &str = "4 @1  46546xW%0l 1 5";
const KEY2: &str = "12998 5 Y3 1  .P00";

/// Section 5.2 of draft 76: the digits of a key, as a number, divided by its spaces.
pub fn key_number(key: &str) -> Option<u32> {
    let digits: String = key.chars().filter(char::is_ascii_digit).collect();
    let spaces = key.chars().filter(|&c| c == ' ').count() as u128;
    let number: u128 = digits.parse().ok()?;
    if spaces == 0 || number == 0 || !number.is_multiple_of(spaces) {
        return None;
    }
    u32::try_from(number / spaces).ok()
}

/// The 16 bytes a hixie-76 server sends after its head.
pub fn challenge_response(key1: u32, key2: u32, body: &[u8]) -> Vec<u8> {
    let mut md5 = Md5::new();
    md5.update(key1.to_be_bytes());
    md5.update(key2.to_be_bytes());
    md5.update(body);
    md5.finalize().to_vec()
}

fn request(draft76: bool) -> UpgradeRequest {
    let mut pairs = vec![
        ("Host".to_owned(), "example.com".to_owned()),
        ("Connection".to_owned(), "Upgrade".to_owned()),
        ("Upgrade".to_owned(), "WebSocket".to_owned()),
        ("Origin".to_owned(), "http://example.com".to_owned()),
    ];
    if draft76 {
        pairs.push(("Sec-WebSocket-Key1".to_owned(), KEY1.to_owned()));
        pairs.push(("Sec-WebSocket-Key2".to_owned(), KEY2.to_owned()));
    }
    UpgradeRequest { method: "GET".into(), headers: RequestHeaders::new(pairs) }
}

/// Input: a setup byte (maxLength, echo, TCP close after the input, `close()` first),
/// a split seed, then what the client sends (hixie-76: its 8-byte body first).
pub fn run(data: &[u8], draft76: bool) {
    let [setup, seed, stream @ ..] = data else { return };
    let max_length = crate::MAX_LENGTHS[usize::from(setup & 0x0F)];
    let echo = setup & 0x10 != 0;
    let eof = setup & 0x20 != 0;
    let close_first = setup & 0x40 != 0;

    let mut conn = Connection::server(request(draft76), URL, vec![], &[], Limits { max_length }, None).expect("no custom headers");
    assert_eq!(conn.version(), if draft76 { "hixie-76" } else { "hixie-75" });
    conn.start();
    let head = conn.drain_output().expect("a 101 head");
    let status = if draft76 { "HTTP/1.1 101 WebSocket Protocol Handshake\r\n" } else { "HTTP/1.1 101 Web Socket Protocol Handshake\r\n" };
    assert!(head.starts_with(status.as_bytes()) && head.ends_with(b"\r\n\r\n"), "{}", String::from_utf8_lossy(&head));
    let mut events = conn.drain_events();
    let mut wire = Vec::new();
    let mut expected_wire = Vec::new();

    let (body, frames) = if draft76 { stream.split_at(stream.len().min(8)) } else { (&[][..], stream) };
    let opened = !draft76 || body.len() == 8;
    let mut input = stream;
    if close_first {
        // Closing needs an open connection: hixie-76's body comes in a read of its own.
        conn.feed(body);
        wire.extend(conn.drain_output().unwrap_or_default());
        events.extend(conn.drain_events());
        conn.close(None, "").expect("default code");
        wire.extend(conn.drain_output().unwrap_or_default());
        events.extend(conn.drain_events());
        input = frames;
    }
    for piece in crate::chunks::split(input, *seed) {
        conn.feed(piece);
        wire.extend(conn.drain_output().unwrap_or_default());
        for event in conn.drain_events() {
            if let (Event::Message { data, .. }, true) = (&event, echo) {
                let status = conn.send(true, data);
                assert_eq!(status, faye_websocket_native::core::hybi::SendStatus::Written, "a reply to a message in the same read as the close");
                wire.extend(conn.drain_output().unwrap_or_default());
            }
            events.push(event);
        }
        conn.flush_close();
        wire.extend(conn.drain_output().unwrap_or_default());
    }
    if eof {
        conn.feed_eof();
        events.extend(conn.drain_events());
        assert_eq!(conn.drain_output(), None, "nothing is written after TCP closed");
    }

    if draft76 && opened {
        let (k1, k2) = (key_number(KEY1).expect("valid key"), key_number(KEY2).expect("valid key"));
        expected_wire.extend(challenge_response(k1, k2, body));
    }
    let mut events = events.into_iter();
    let mut closed = false;
    if opened {
        assert_eq!(events.next(), Some(Event::Open));
    }
    if close_first {
        if opened && draft76 {
            expected_wire.extend_from_slice(&[0xFF, 0x00]);
        }
        assert_eq!(events.next(), Some(Event::CloseNoStatus));
        closed = true;
    } else if opened {
        let decoded = decode(frames, draft76, max_length);
        for message in &decoded.messages {
            assert_eq!(events.next(), Some(Event::Message { text: true, data: message.clone() }), "message differs from the reference");
            assert!(message.len() as u64 <= max_length);
            if echo {
                expected_wire.push(0x00);
                expected_wire.extend_from_slice(message);
                expected_wire.push(0xFF);
            }
        }
        match decoded.end {
            End::Exhausted => {}
            End::PeerClose => {
                assert_eq!(events.next(), Some(Event::CloseNoStatus), "peer close");
                expected_wire.extend_from_slice(&[0xFF, 0x00]);
                closed = true;
            }
            End::Fail(errors) => {
                match events.next() {
                    Some(Event::Error(e)) if errors.contains(&e) => {}
                    other => panic!("expected one of {errors:?}, got {other:?}"),
                }
                assert_eq!(events.next(), Some(Event::CloseNoStatus));
                if draft76 {
                    expected_wire.extend_from_slice(&[0xFF, 0x00]);
                }
                closed = true;
            }
        }
    }
    if eof && !closed {
        assert_eq!(events.next(), Some(Event::Close { code: 1006, reason: String::new() }));
        closed = true;
    }
    let rest: Vec<Event> = events.collect();
    assert!(rest.is_empty(), "unexpected events {rest:?}");
    let state = match (closed, opened) {
        (true, _) => 3,
        (false, true) => 1,
        (false, false) => 0,
    };
    assert_eq!(conn.ready_state(), state);
    assert_eq!(wire, expected_wire, "output after the head");
}
