//! Byte-vector tests of a server connection, grouped by RFC 6455 section. Every vector
//! is also fed split at every byte offset, and must give the same events and output.

use super::*;
use crate::core::handshake::headers::RequestHeaders;
use crate::core::test_util::{hex, masked_frame};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const URL: &str = "ws://example.com/";

fn upgrade_request() -> UpgradeRequest {
    UpgradeRequest {
        method: "GET".into(),
        headers: RequestHeaders::new(vec![
            ("Host".into(), "example.com".into()),
            ("Upgrade".into(), "websocket".into()),
            ("Connection".into(), "Upgrade".into()),
            ("Sec-WebSocket-Key".into(), "dGhlIHNhbXBsZSBub25jZQ==".into()),
            ("Sec-WebSocket-Version".into(), "13".into()),
        ]),
    }
}

fn open_server(max_length: u64) -> Connection {
    let mut conn = Connection::server(upgrade_request(), URL, vec![], &[], Limits { max_length }, None).unwrap();
    conn.start();
    assert!(conn.drain_output().unwrap().starts_with(b"HTTP/1.1 101"));
    assert_eq!(conn.drain_events(), vec![Event::Open]);
    conn
}

fn run(pieces: &[&[u8]], max_length: u64) -> (Vec<Event>, Vec<u8>) {
    let mut conn = open_server(max_length);
    for piece in pieces {
        conn.feed(piece);
    }
    let events = conn.drain_events();
    conn.flush_close();
    (events, conn.drain_output().unwrap_or_default())
}

/// Feeds `input` whole, then split in two at every offset, and returns what the whole
/// feed gave after checking that every split gives the same.
fn feed_everywhere(input: &[u8], max_length: u64) -> (Vec<Event>, Vec<u8>) {
    let whole = run(&[input], max_length);
    for cut in 0..=input.len() {
        let (a, b) = input.split_at(cut);
        assert_eq!(run(&[a, b], max_length), whole, "split at {cut}");
    }
    let bytewise: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(run(&bytewise, max_length), whole, "one byte at a time");
    whole
}

fn feed_all(input: &[u8]) -> (Vec<Event>, Vec<u8>) {
    feed_everywhere(input, crate::core::limits::DEFAULT_MAX_LENGTH)
}

fn text(s: &str) -> Event {
    Event::Message { text: true, data: s.as_bytes().to_vec() }
}

fn close_event(code: u16, reason: &str) -> Event {
    Event::Close { code, reason: reason.into() }
}

/// The close frame a server sends: unmasked, code then reason.
fn server_close(code: u16, reason: &str) -> Vec<u8> {
    let mut out = vec![0x88, (2 + reason.len()) as u8];
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(reason.as_bytes());
    out
}

fn assert_fails_with(input: &[u8], error: ProtocolError) {
    let (events, output) = feed_all(input);
    let reason = error.to_string();
    let code = error.close_code();
    assert_eq!(events, vec![Event::Error(error), close_event(code, &reason)]);
    assert_eq!(output, server_close(code, &reason));
}

mod data_frames_5_6 {
    use super::*;

    #[test]
    fn receives_rfc_masked_hello() {
        // Section 5.7: a single-frame masked text message.
        let (events, output) = feed_all(&hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"));
        assert_eq!(events, vec![text("Hello")]);
        assert!(output.is_empty());
    }

    #[test]
    fn receives_binary_with_16_and_64_bit_lengths() {
        let payload: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        let (events, _) = feed_all(&masked_frame(0x82, KEY, &payload));
        assert_eq!(events, vec![Event::Message { text: false, data: payload }]);
        let big: Vec<u8> = (0..70_000u32).map(|i| i as u8).collect();
        let (events, _) = run(&[&masked_frame(0x82, KEY, &big)], u64::MAX);
        assert_eq!(events, vec![Event::Message { text: false, data: big }]);
    }

    #[test]
    fn receives_empty_messages() {
        let mut input = masked_frame(0x81, KEY, b"");
        input.extend(masked_frame(0x82, KEY, b""));
        let (events, _) = feed_all(&input);
        assert_eq!(events, vec![text(""), Event::Message { text: false, data: vec![] }]);
    }

    #[test]
    fn receives_several_frames_in_one_read() {
        let mut input = masked_frame(0x81, KEY, b"one");
        input.extend(masked_frame(0x81, KEY, "two ✓".as_bytes()));
        let (events, _) = feed_all(&input);
        assert_eq!(events, vec![text("one"), text("two ✓")]);
    }

    #[test]
    fn refuses_unmasked_client_frame_with_1002() {
        assert_fails_with(&hex("81 05 48 65 6c 6c 6f"), ProtocolError::UnmaskedFrame);
    }

    #[test]
    fn sends_unmasked_frames() {
        let mut conn = open_server(1000);
        assert_eq!(conn.send(true, b"Hello"), SendStatus::Written);
        assert_eq!(conn.drain_output().unwrap(), hex("81 05 48 65 6c 6c 6f"));
        assert_eq!(conn.send(false, &[0; 256]), SendStatus::Written);
        assert_eq!(conn.drain_output().unwrap().get(..4).unwrap(), &hex("82 7e 01 00")[..]);
    }
}

mod fragmentation_5_4 {
    use super::*;

    #[test]
    fn reassembles_fragments_with_interleaved_ping() {
        let mut input = masked_frame(0x01, KEY, b"Hel");
        input.extend(masked_frame(0x89, KEY, b"p"));
        input.extend(masked_frame(0x80, KEY, b"lo"));
        let (events, output) = feed_all(&input);
        assert_eq!(events, vec![Event::Ping { payload: b"p".to_vec(), pong: hex("8a 01 70") }, text("Hello")]);
        assert!(output.is_empty(), "the pong travels with its event");
    }

    #[test]
    fn refuses_unexpected_continuation() {
        assert_fails_with(&masked_frame(0x80, KEY, b"x"), ProtocolError::UnexpectedContinuation);
    }

    #[test]
    fn refuses_new_message_inside_fragmented_one() {
        let mut input = masked_frame(0x01, KEY, b"a");
        input.extend(masked_frame(0x81, KEY, b"b"));
        assert_fails_with(&input, ProtocolError::UnfinishedMessage);
    }
}

mod control_frames_5_5 {
    use super::*;

    #[test]
    fn answers_ping_with_pong_of_same_payload() {
        let (events, output) = feed_all(&masked_frame(0x89, KEY, b"Hello"));
        assert_eq!(events, vec![Event::Ping { payload: b"Hello".to_vec(), pong: hex("8a 05 48 65 6c 6c 6f") }]);
        assert!(output.is_empty());
    }

    #[test]
    fn reports_pong() {
        let (events, output) = feed_all(&masked_frame(0x8a, KEY, b"1"));
        assert_eq!(events, vec![Event::Pong(b"1".to_vec())]);
        assert!(output.is_empty());
    }

    #[test]
    fn refuses_fragmented_ping() {
        assert_fails_with(&masked_frame(0x09, KEY, b""), ProtocolError::FragmentedControlFrame(9));
    }

    #[test]
    fn refuses_control_frame_over_125_bytes() {
        assert_fails_with(&masked_frame(0x89, KEY, &[0; 126]), ProtocolError::ControlFrameTooLong(126));
    }

    #[test]
    fn refuses_reserved_bits_and_opcodes() {
        assert_fails_with(&masked_frame(0xc1, KEY, b"x"), ProtocolError::ReservedBits { rsv1: true, rsv2: false, rsv3: false });
        assert_fails_with(&masked_frame(0x83, KEY, b""), ProtocolError::UnknownOpcode(3));
        assert_fails_with(&masked_frame(0x8b, KEY, b""), ProtocolError::UnknownOpcode(11));
    }

    #[test]
    fn ping_over_125_bytes_is_refused_not_sent() {
        let mut conn = open_server(1000);
        assert_eq!(conn.ping(&[0; 126]), SendStatus::Refused);
        assert_eq!(conn.drain_output(), None);
        assert_eq!(conn.ping(&[0; 125]), SendStatus::Written);
        assert_eq!(conn.drain_output().unwrap().len(), 127);
    }
}

mod closing_handshake_7 {
    use super::*;

    #[test]
    fn echoes_peer_close_with_its_code_and_reason() {
        let (events, output) = feed_all(&masked_frame(0x88, KEY, &hex("03 e8 62 79 65")));
        assert_eq!(events, vec![close_event(1000, "bye")]);
        assert_eq!(output, hex("88 05 03 e8 62 79 65"));
    }

    #[test]
    fn empty_close_is_reported_as_1005_and_answered_with_1000() {
        let (events, output) = feed_all(&masked_frame(0x88, KEY, b""));
        assert_eq!(events, vec![close_event(1005, "")]);
        assert_eq!(output, hex("88 02 03 e8"));
    }

    #[test]
    fn refuses_invalid_close_payloads() {
        assert_fails_with(&masked_frame(0x88, KEY, &hex("03")), ProtocolError::TruncatedCloseCode);
        assert_fails_with(&masked_frame(0x88, KEY, &hex("03 ec")), ProtocolError::InvalidCloseCode(1004));
        assert_fails_with(&masked_frame(0x88, KEY, &hex("03 e8 ed a0 80")), ProtocolError::InvalidCloseReason);
    }

    #[test]
    fn replies_sent_before_flush_precede_the_close_frame() {
        // Autobahn 3.2: a valid message and a bad frame in one read. The echo of the
        // message must still go out, before the close frame.
        let mut input = masked_frame(0x81, KEY, b"Hello");
        input.extend(masked_frame(0xa1, KEY, b"x"));
        let mut conn = open_server(1000);
        conn.feed(&input);
        assert_eq!(conn.drain_events().first(), Some(&text("Hello")));
        assert_eq!(conn.drain_output(), None, "close frame held");
        assert_eq!(conn.send(true, b"Hello"), SendStatus::Written);
        conn.flush_close();
        let mut expected = hex("81 05 48 65 6c 6c 6f");
        expected.extend(server_close(1002, &ProtocolError::ReservedBits { rsv1: false, rsv2: true, rsv3: false }.to_string()));
        assert_eq!(conn.drain_output().unwrap(), expected);
        assert_eq!(conn.send(true, b"late"), SendStatus::Refused);
    }

    #[test]
    fn ignores_input_after_close() {
        let mut input = masked_frame(0x88, KEY, &hex("03 e8"));
        input.extend(masked_frame(0x81, KEY, b"late"));
        input.extend(hex("ff ff ff"));
        let (events, output) = feed_all(&input);
        assert_eq!(events, vec![close_event(1000, "")]);
        assert_eq!(output, hex("88 02 03 e8"));
    }

    #[test]
    fn local_close_waits_for_peer_reply() {
        let mut conn = open_server(1000);
        conn.close(Some(4000), "done").unwrap();
        assert_eq!(conn.drain_output().unwrap(), hex("88 06 0f a0 64 6f 6e 65"));
        assert!(conn.close_expected());
        assert_eq!(conn.ready_state(), 2);
        // Sends after close are refused; messages still arriving are delivered.
        assert_eq!(conn.send(true, b"x"), SendStatus::Refused);
        conn.feed(&masked_frame(0x81, KEY, b"late"));
        conn.feed(&masked_frame(0x88, KEY, &hex("0f a0")));
        assert_eq!(conn.drain_events(), vec![text("late"), close_event(4000, "")]);
        assert_eq!(conn.drain_output(), None, "no second close frame");
        assert_eq!(conn.ready_state(), 3);
        assert!(!conn.close_expected());
    }

    #[test]
    fn close_checks_code_and_reason_length() {
        let mut conn = open_server(1000);
        assert_eq!(conn.close(Some(1001), ""), Err(UsageError::InvalidCloseCode(1001)));
        assert_eq!(conn.close(Some(1000), &"x".repeat(124)), Err(UsageError::CloseReasonTooLong(124)));
        assert_eq!(conn.drain_output(), None);
        assert!(conn.close(None, &"x".repeat(123)).is_ok());
        assert_eq!(conn.drain_output().unwrap().len(), 2 + 125);
    }

    #[test]
    fn tcp_drop_is_1006() {
        let mut conn = open_server(1000);
        conn.feed_eof();
        assert_eq!(conn.drain_events(), vec![close_event(1006, "")]);
    }
}

mod utf8_8_1 {
    use super::*;

    #[test]
    fn fails_fast_inside_first_fragment() {
        // The first fragment already holds an impossible sequence: fail before the rest.
        let mut conn = open_server(1000);
        conn.feed(&masked_frame(0x01, KEY, &hex("ce ba e1 bd b9 ce bc ce b5 ed a0 80")));
        let reason = ProtocolError::InvalidUtf8.to_string();
        assert_eq!(conn.drain_events(), vec![Event::Error(ProtocolError::InvalidUtf8), close_event(1007, &reason)]);
    }

    #[test]
    fn fails_fast_inside_a_partially_received_frame() {
        let frame = masked_frame(0x81, KEY, &hex("61 62 ff 63 64 65 66"));
        let mut conn = open_server(1000);
        conn.feed(frame.get(..9).unwrap());
        assert_eq!(conn.drain_events().len(), 2, "error and close before the frame is complete");
    }

    #[test]
    fn code_point_split_across_fragments_is_valid() {
        let euro = "€".as_bytes();
        let mut input = masked_frame(0x01, KEY, &euro[..1]);
        input.extend(masked_frame(0x00, KEY, &euro[1..2]));
        input.extend(masked_frame(0x80, KEY, &euro[2..]));
        assert_eq!(feed_all(&input).0, vec![text("€")]);
    }

    #[test]
    fn unfinished_code_point_at_message_end_is_1007() {
        assert_fails_with(&masked_frame(0x81, KEY, &hex("e2 82")), ProtocolError::InvalidUtf8);
    }
}

mod limits {
    use super::*;

    #[test]
    fn refuses_declared_length_over_max_before_buffering() {
        let header = hex("82 ff 00 00 00 00 04 00 00 00 37 fa 21 3d"); // 64 MiB declared
        let mut conn = open_server(crate::core::limits::DEFAULT_MAX_LENGTH);
        conn.feed(&header);
        let reason = ProtocolError::MessageTooLarge.to_string();
        assert_eq!(conn.drain_events(), vec![Event::Error(ProtocolError::MessageTooLarge), close_event(1009, &reason)]);
    }

    #[test]
    fn refuses_largest_declared_length() {
        assert_fails_with(&hex("82 ff 7f ff ff ff ff ff ff ff 37 fa 21 3d"), ProtocolError::MessageTooLarge);
        assert_fails_with(&hex("82 ff 80 00 00 00 00 00 00 00 37 fa 21 3d"), ProtocolError::InvalidLength);
    }

    #[test]
    fn counts_fragments_toward_max_length() {
        let mut input = masked_frame(0x02, KEY, &[1; 6]);
        input.extend(masked_frame(0x80, KEY, &[2; 5]));
        let (events, _) = feed_everywhere(&input, 10);
        assert_eq!(events.first(), Some(&Event::Error(ProtocolError::MessageTooLarge)));
        let (events, _) = feed_everywhere(&input, 11);
        assert_eq!(events.len(), 1);
    }
}

mod opening_handshake_4 {
    use super::*;

    #[test]
    fn queues_sends_until_open() {
        let mut conn = Connection::server(upgrade_request(), URL, vec![], &[], Limits::default(), None).unwrap();
        assert_eq!(conn.ready_state(), 0);
        assert_eq!(conn.send(true, b"early"), SendStatus::Queued);
        assert_eq!(conn.drain_output(), None);
        conn.start();
        let output = conn.drain_output().unwrap();
        assert!(output.ends_with(b"\r\n\r\n\x81\x05early"));
        assert_eq!(conn.ready_state(), 1);
    }

    #[test]
    fn refusal_reports_error_then_close_1002() {
        let mut request = upgrade_request();
        request.method = "POST".into();
        let mut conn = Connection::server(request, URL, vec![], &[], Limits::default(), None).unwrap();
        conn.start();
        assert!(conn.drain_output().unwrap().starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
        let message = "Not a WebSocket request".to_owned();
        assert_eq!(conn.drain_events(), vec![Event::Error(ProtocolError::Handshake(message.clone())), close_event(1002, &message)]);
        assert_eq!(conn.ready_state(), 3);
    }

    #[test]
    fn close_before_start_closes_without_handshake() {
        let mut conn = Connection::server(upgrade_request(), URL, vec![], &[], Limits::default(), None).unwrap();
        conn.close(Some(3000), "early").unwrap();
        assert_eq!(conn.drain_events(), vec![close_event(3000, "early")]);
        conn.start();
        assert_eq!(conn.drain_output(), None);
    }

    #[test]
    fn invalid_custom_header_is_a_usage_error() {
        let headers = vec![("X-Evil".to_owned(), "a\r\nInjected: 1".to_owned())];
        assert!(matches!(Connection::server(upgrade_request(), URL, vec![], &headers, Limits::default(), None), Err(UsageError::InvalidHeader(_))));
    }
}

mod client_role {
    use super::*;
    use crate::core::handshake::client::ClientTarget;
    use crate::core::test_util::FixedMask;

    const NONCE: [u8; 16] = *b"the sample nonce";
    const RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

    fn client() -> Connection {
        let target = ClientTarget { path: "/chat".into(), host: "server.example.com".into(), ..Default::default() };
        let mut conn = Connection::client(&target, NONCE, Limits::default(), Box::new(FixedMask(KEY)), ClientExtensions::Native(None)).unwrap();
        conn.start();
        assert!(conn.drain_output().unwrap().starts_with(b"GET /chat HTTP/1.1\r\n"));
        conn
    }

    #[test]
    fn processes_frames_in_the_same_read_as_the_101() {
        let mut input = RESPONSE.to_vec();
        input.extend(hex("81 05 48 65 6c 6c 6f"));
        for cut in 0..=input.len() {
            let mut conn = client();
            conn.feed(&input[..cut]);
            conn.feed(&input[cut..]);
            assert_eq!(conn.drain_events(), vec![Event::Open, text("Hello")], "cut {cut}");
            assert_eq!(conn.take_response().map(|r| r.status), Some(101));
        }
    }

    #[test]
    fn masks_every_frame_it_sends() {
        let mut conn = client();
        conn.feed(RESPONSE);
        assert_eq!(conn.send(true, b"Hello"), SendStatus::Written);
        // Section 5.7's masked "Hello".
        assert_eq!(conn.drain_output().unwrap(), hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"));
    }

    #[test]
    fn refuses_masked_frame_from_server() {
        let mut conn = client();
        conn.feed(RESPONSE);
        conn.drain_events();
        conn.feed(&masked_frame(0x81, KEY, b"x"));
        let reason = ProtocolError::MaskedFrame.to_string();
        assert_eq!(conn.drain_events(), vec![Event::Error(ProtocolError::MaskedFrame), close_event(1002, &reason)]);
        conn.flush_close();
        // The client's close frame is itself masked.
        assert_eq!(conn.drain_output().unwrap().get(..2), Some(&[0x88, 0x80 | (2 + reason.len() as u8)][..]));
    }

    #[test]
    fn failed_handshake_reports_error_and_close_1002() {
        let mut conn = client();
        conn.feed(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        let message = "Error during WebSocket handshake: Unexpected response code: 404".to_owned();
        assert_eq!(conn.drain_events(), vec![Event::Error(ProtocolError::Handshake(message.clone())), close_event(1002, &message)]);
        assert_eq!(conn.take_response().map(|r| r.status), Some(404));
        assert_eq!(conn.ready_state(), 3);
    }

    #[test]
    fn queued_sends_follow_the_handshake() {
        let target = ClientTarget { path: "/".into(), host: "h".into(), ..Default::default() };
        let mut conn = Connection::client(&target, NONCE, Limits::default(), Box::new(FixedMask(KEY)), ClientExtensions::Native(None)).unwrap();
        assert_eq!(conn.send(true, b"Hello"), SendStatus::Queued);
        conn.start();
        conn.drain_output();
        conn.feed(RESPONSE);
        assert_eq!(conn.drain_output().unwrap(), hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"));
    }
}

mod permessage_deflate_rfc7692 {
    use super::*;
    use crate::core::deflate::DeflateConfig;

    fn deflate_server(offer: &str, max_length: u64) -> Connection {
        let mut request = upgrade_request();
        let mut pairs = vec![
            ("Upgrade".to_owned(), "websocket".to_owned()),
            ("Connection".to_owned(), "Upgrade".to_owned()),
            ("Sec-WebSocket-Key".to_owned(), "dGhlIHNhbXBsZSBub25jZQ==".to_owned()),
            ("Sec-WebSocket-Version".to_owned(), "13".to_owned()),
        ];
        pairs.push(("Sec-WebSocket-Extensions".to_owned(), offer.to_owned()));
        request.headers = RequestHeaders::new(pairs);
        let mut conn = Connection::server(request, URL, vec![], &[], Limits { max_length }, Some(DeflateConfig::default())).unwrap();
        conn.start();
        let head = String::from_utf8(conn.drain_output().unwrap()).unwrap();
        assert!(head.contains("Sec-WebSocket-Extensions: permessage-deflate"), "{head}");
        conn.drain_events();
        conn
    }

    #[test]
    fn inflates_compressed_hello_and_compresses_replies() {
        let mut conn = deflate_server("permessage-deflate", 1000);
        // Section 7.2.3.1, masked: "Hello" compressed, RSV1 set.
        conn.feed(&masked_frame(0xc1, KEY, &hex("f2 48 cd c9 c9 07 00")));
        assert_eq!(conn.drain_events(), vec![text("Hello")]);
        conn.send(true, b"Hello");
        assert_eq!(conn.drain_output().unwrap(), hex("c1 07 f2 48 cd c9 c9 07 00"));
        // Control frames are never compressed.
        conn.ping(b"x");
        assert_eq!(conn.drain_output().unwrap(), hex("89 01 78"));
    }

    #[test]
    fn inflates_a_message_fragmented_across_frames_at_every_split() {
        // Section 7.2.3.1's fragmented form: RSV1 on the first frame only.
        let mut input = masked_frame(0x41, KEY, &hex("f2 48 cd"));
        input.extend(masked_frame(0x80, KEY, &hex("c9 c9 07 00")));
        for cut in 0..=input.len() {
            let mut conn = deflate_server("permessage-deflate", 1000);
            conn.feed(&input[..cut]);
            conn.feed(&input[cut..]);
            assert_eq!(conn.drain_events(), vec![text("Hello")], "cut {cut}");
        }
    }

    #[test]
    fn refuses_rsv1_on_continuation_and_control_frames() {
        let mut conn = deflate_server("permessage-deflate", 1000);
        let mut input = masked_frame(0x41, KEY, &hex("f2 48 cd"));
        input.extend(masked_frame(0xc0, KEY, &hex("c9 c9 07 00")));
        conn.feed(&input);
        assert_eq!(conn.drain_events().first(), Some(&Event::Error(ProtocolError::ReservedBits { rsv1: true, rsv2: false, rsv3: false })));
        let mut conn = deflate_server("permessage-deflate", 1000);
        conn.feed(&masked_frame(0xc9, KEY, b""));
        assert!(matches!(conn.drain_events().first(), Some(Event::Error(ProtocolError::ReservedBits { .. }))));
    }

    #[test]
    fn corrupt_data_closes_with_1010() {
        let mut conn = deflate_server("permessage-deflate", 1000);
        conn.feed(&masked_frame(0xc1, KEY, &hex("ff ff ff ff")));
        let events = conn.drain_events();
        assert!(matches!(events.last(), Some(Event::Close { code: 1010, reason }) if reason.starts_with("permessage-deflate: ")), "{events:?}");
    }

    #[test]
    fn inflated_size_is_held_to_max_length() {
        let mut packed = Vec::new();
        crate::core::deflate::Compressor::new(crate::core::deflate::Tuning::default(), 15, false).compress(&vec![b'a'; 100_000], &mut packed).unwrap();
        let mut conn = deflate_server("permessage-deflate", 4096);
        conn.feed(&masked_frame(0xc1, KEY, &packed));
        let reason = ProtocolError::MessageTooLarge.to_string();
        assert_eq!(conn.drain_events(), vec![Event::Error(ProtocolError::MessageTooLarge), close_event(1009, &reason)]);
    }

    #[test]
    fn invalid_utf8_inside_compressed_text_is_1007() {
        let mut packed = Vec::new();
        crate::core::deflate::Compressor::new(crate::core::deflate::Tuning::default(), 15, false).compress(&hex("ce ba ed a0 80"), &mut packed).unwrap();
        let mut conn = deflate_server("permessage-deflate", 1000);
        conn.feed(&masked_frame(0xc1, KEY, &packed));
        assert_eq!(conn.drain_events().first(), Some(&Event::Error(ProtocolError::InvalidUtf8)));
    }

    /// A text long enough to take zlib a while, and with repeats for context
    /// takeover to find in the next message.
    fn long_text() -> Vec<u8> {
        (0..40_000u32).flat_map(|i| format!("{} ", i % 997).into_bytes()).collect()
    }

    #[test]
    fn a_message_compressed_away_is_framed_as_if_sent_in_place() {
        let mut in_place = deflate_server("permessage-deflate", 1000);
        in_place.send(true, &long_text());
        in_place.send(true, b"after");
        let expected = in_place.drain_output().unwrap();

        let mut away = deflate_server("permessage-deflate", 1000);
        let mut job = away.take_compression(true, long_text()).unwrap_or_else(|_| panic!("open with deflate"));
        // Another thread compresses it, as the binding's worker does.
        let job = std::thread::spawn(move || {
            job.run();
            job
        })
        .join()
        .unwrap();
        assert_eq!(away.drain_output(), None, "nothing is written while the message is away");
        assert_eq!(away.finish_compression(job), SendStatus::Written);
        // The next message is compressed against the first one, as in place.
        away.send(true, b"after");
        assert_eq!(away.drain_output().unwrap(), expected);
    }

    #[test]
    fn only_one_message_at_a_time_is_compressed_away_and_only_with_deflate() {
        let mut conn = deflate_server("permessage-deflate", 1000);
        let job = conn.take_compression(false, b"one".to_vec()).unwrap_or_else(|_| panic!("open with deflate"));
        assert!(!conn.can_take_compression());
        assert_eq!(conn.take_compression(false, b"two".to_vec()).err(), Some(b"two".to_vec()));
        assert_eq!(conn.finish_compression(job), SendStatus::Written);
        assert!(conn.can_take_compression());
        assert!(conn.take_compression(false, b"three".to_vec()).is_ok());

        let mut plain = Connection::server(upgrade_request(), URL, vec![], &[], Limits::default(), None).unwrap();
        plain.start();
        plain.drain_output();
        assert!(!plain.can_take_compression());
        assert_eq!(plain.take_compression(true, b"hi".to_vec()).err(), Some(b"hi".to_vec()));
    }

    #[test]
    fn control_frames_go_while_a_message_is_away_and_messages_fail_with_1011() {
        let mut conn = deflate_server("permessage-deflate", 1000);
        let job = conn.take_compression(true, b"away".to_vec()).unwrap_or_else(|_| panic!("open with deflate"));
        assert_eq!(conn.ping(b"x"), SendStatus::Written);
        assert_eq!(conn.drain_output().unwrap(), hex("89 01 78"));
        conn.send(true, b"out of turn");
        let reason = "a message was sent while another was being compressed";
        assert_eq!(conn.drain_events(), vec![Event::Error(ProtocolError::Caller { code: 1011, reason: reason.into() }), close_event(1011, reason)]);
        conn.flush_close();
        assert_eq!(conn.drain_output().unwrap()[..4], hex("88 37 03 f3"));
        assert_eq!(conn.finish_compression(job), SendStatus::Refused);
    }

    #[test]
    fn a_message_back_after_our_close_frame_is_refused() {
        let mut conn = deflate_server("permessage-deflate", 1000);
        let job = conn.take_compression(true, b"late".to_vec()).unwrap_or_else(|_| panic!("open with deflate"));
        conn.close(None, "").unwrap();
        assert_eq!(conn.drain_output().unwrap(), hex("88 02 03 e8"));
        assert_eq!(conn.finish_compression(job), SendStatus::Refused);
        assert_eq!(conn.drain_output(), None);
    }

    #[test]
    fn uncompressed_messages_still_work_after_negotiation() {
        let mut conn = deflate_server("permessage-deflate; client_no_context_takeover", 1000);
        conn.feed(&masked_frame(0x81, KEY, b"plain"));
        assert_eq!(conn.drain_events(), vec![text("plain")]);
    }
}

mod protocol_choice {
    use super::*;

    fn request(pairs: &[(&str, &str)]) -> UpgradeRequest {
        let mut all = vec![("Connection".to_owned(), "Upgrade".to_owned()), ("Upgrade".to_owned(), "WebSocket".to_owned())];
        all.extend(pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())));
        UpgradeRequest { method: "GET".into(), headers: RequestHeaders::new(all) }
    }

    #[test]
    fn picks_the_protocol_from_the_request_headers() {
        let version = |pairs: &[(&str, &str)]| Connection::server(request(pairs), URL, vec![], &[], Limits::default(), None).unwrap().version();
        assert_eq!(version(&[("Sec-WebSocket-Version", "13")]), "hybi-13");
        assert_eq!(version(&[("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]), "hybi-13");
        assert_eq!(version(&[("Sec-WebSocket-Key1", "1 2"), ("Sec-WebSocket-Key2", "3 4")]), "hixie-76");
        assert_eq!(version(&[]), "hixie-75");
    }

    #[test]
    fn drafts_send_text_only_and_never_ping() {
        let mut conn = Connection::server(request(&[]), URL, vec![], &[], Limits::default(), None).unwrap();
        conn.start();
        conn.drain_output();
        assert_eq!(conn.send(true, b"hi"), SendStatus::Written);
        assert_eq!(conn.drain_output().unwrap(), b"\x00hi\xff");
        assert_eq!(conn.send(false, b"bin"), SendStatus::Refused);
        assert_eq!(conn.ping(b""), SendStatus::Refused);
        assert_eq!(conn.drain_output(), None);
        assert!(conn.close(Some(1001), "").is_err(), "the API's code check applies to drafts too");
        conn.close(None, "").unwrap();
        assert_eq!(conn.drain_events().last(), Some(&Event::CloseNoStatus));
    }
}

/// Extensions negotiated and run by the caller (websocket-extensions objects in JS):
/// the core checks reserved bits, frames and limits, and hands whole raw messages over.
mod caller_extensions {
    use super::*;
    use crate::core::handshake::client::ClientTarget;
    use crate::core::test_util::FixedMask;

    const RSV2: u8 = 0x20;

    fn server_with(answer: Result<(Option<String>, u8), String>) -> (Connection, Vec<u8>, Vec<Event>) {
        let mut conn = Connection::server(upgrade_request(), URL, vec![], &[], Limits::default(), None).unwrap();
        conn.answer_extensions(answer);
        conn.start();
        let output = conn.drain_output().unwrap();
        let events = conn.drain_events();
        (conn, output, events)
    }

    fn open_server() -> Connection {
        let (conn, output, events) = server_with(Ok((Some("x-reverse".into()), RSV2)));
        assert!(String::from_utf8(output).unwrap().ends_with("Sec-WebSocket-Extensions: x-reverse\r\n\r\n"));
        assert_eq!(events, vec![Event::Open]);
        conn
    }

    #[test]
    fn refuses_the_request_with_the_callers_reason() {
        let (_, output, events) = server_with(Err("Invalid Sec-WebSocket-Extensions header: a;".into()));
        let output = String::from_utf8(output).unwrap();
        assert!(output.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(output.ends_with("\r\n\r\nInvalid Sec-WebSocket-Extensions header: a;"));
        assert!(matches!(events.last(), Some(Event::Close { code: 1002, .. })));
    }

    #[test]
    fn delivers_raw_messages_with_the_first_frames_bits() {
        let mut conn = open_server();
        // Text with RSV2, in two fragments, whose bytes are not UTF-8 until the
        // caller's extension has run: the core must not judge them.
        let mut input = masked_frame(0x21, KEY, b"\xa9\x82");
        input.extend(masked_frame(0x80, KEY, b"\xe2"));
        for cut in 0..=input.len() {
            let mut conn = open_server();
            conn.feed(&input[..cut]);
            conn.feed(&input[cut..]);
            assert_eq!(conn.drain_events(), vec![Event::RawMessage { text: true, rsv: RSV2, data: b"\xa9\x82\xe2".to_vec() }], "cut {cut}");
        }
        conn.feed(&masked_frame(0x82, KEY, b"\x01"));
        assert_eq!(conn.drain_events(), vec![Event::RawMessage { text: false, rsv: 0, data: vec![1] }]);
    }

    #[test]
    fn refuses_bits_no_extension_claimed_and_bits_on_continuations() {
        for (input, error) in [
            (masked_frame(0xc1, KEY, b"x"), ProtocolError::ReservedBits { rsv1: true, rsv2: false, rsv3: false }),
            ([masked_frame(0x01, KEY, b"x"), masked_frame(0xa0, KEY, b"y")].concat(), ProtocolError::ReservedBits { rsv1: false, rsv2: true, rsv3: false }),
            (masked_frame(0xa9, KEY, b""), ProtocolError::ReservedBits { rsv1: false, rsv2: true, rsv3: false }),
        ] {
            let mut conn = open_server();
            conn.feed(&input);
            let reason = error.to_string();
            assert_eq!(conn.drain_events(), vec![Event::Error(error), close_event(1002, &reason)]);
        }
    }

    #[test]
    fn sends_frames_with_the_callers_bits_and_fails_with_its_code() {
        let mut conn = open_server();
        assert_eq!(conn.send_raw(true, RSV2, b"ih"), SendStatus::Written);
        assert_eq!(conn.drain_output().unwrap(), hex("a1 02 69 68"));
        conn.fail(1010, "x-reverse: broken".into());
        let error = ProtocolError::Caller { code: 1010, reason: "x-reverse: broken".into() };
        assert_eq!(conn.drain_events(), vec![Event::Error(error), close_event(1010, "x-reverse: broken")]);
        conn.flush_close();
        assert_eq!(conn.drain_output().unwrap(), server_close(1010, "x-reverse: broken"));
        assert_eq!(conn.send_raw(true, 0, b"late"), SendStatus::Refused);
    }

    fn client(offer: Option<&str>) -> Connection {
        let target = ClientTarget { path: "/".into(), host: "h".into(), ..Default::default() };
        let mut conn = Connection::client(&target, *b"the sample nonce", Limits::default(), Box::new(FixedMask(KEY)), ClientExtensions::Caller(offer.map(str::to_owned))).unwrap();
        conn.start();
        let request = String::from_utf8(conn.drain_output().unwrap()).unwrap();
        match offer {
            Some(offer) => assert!(request.contains(&format!("\r\nSec-WebSocket-Extensions: {offer}\r\n"))),
            None => assert!(!request.contains("Sec-WebSocket-Extensions")),
        }
        conn
    }

    const RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: x-reverse\r\n\r\n";

    #[test]
    fn client_waits_for_the_caller_to_activate() {
        let mut conn = client(Some("x-reverse"));
        let mut input = RESPONSE.to_vec();
        input.extend(hex("a1 02 69 68"));
        conn.feed(&input[..input.len() - 1]);
        assert_eq!(conn.drain_events(), vec![], "not open before the caller accepts the extensions");
        assert!(conn.take_response().unwrap().get("sec-websocket-extensions").is_some());
        conn.feed(&input[input.len() - 1..]);
        conn.activate_extensions(RSV2);
        assert_eq!(conn.drain_events(), vec![Event::Open, Event::RawMessage { text: true, rsv: RSV2, data: b"ih".to_vec() }]);
    }

    #[test]
    fn client_handshake_fails_when_the_caller_rejects_the_answer() {
        let mut conn = client(None);
        conn.feed(RESPONSE);
        let message = "Error during WebSocket handshake: Server sent an extension response for unknown extension \"x-reverse\"";
        conn.fail(1002, message.into());
        assert_eq!(conn.drain_events(), vec![Event::Error(ProtocolError::Caller { code: 1002, reason: message.into() }), close_event(1002, message)]);
        assert_eq!(conn.drain_output(), None, "no close frame before the connection opened");
        conn.activate_extensions(RSV2);
        assert_eq!(conn.drain_events(), vec![]);
    }
}

mod header_only_sends {
    use super::*;
    use crate::core::handshake::client::ClientTarget;
    use crate::core::test_util::FixedMask;

    #[test]
    fn a_server_header_followed_by_the_payload_is_the_whole_frame() {
        for len in [0usize, 125, 126, 65_535, 65_536, 70_000] {
            let payload = vec![b'x'; len];
            let mut whole = open_server(1 << 20);
            assert_eq!(whole.send(false, &payload), SendStatus::Written);
            let mut head = open_server(1 << 20);
            assert_eq!(head.send_head(false, len as u64), Some(SendStatus::Written));
            let mut split = head.drain_output().unwrap();
            split.extend_from_slice(&payload);
            assert_eq!(split, whole.drain_output().unwrap(), "{len} bytes");
        }
    }

    #[test]
    fn the_header_follows_output_not_yet_drained() {
        let mut conn = open_server(1000);
        conn.send(true, b"first");
        assert_eq!(conn.send_head(true, 3), Some(SendStatus::Written));
        assert_eq!(conn.drain_output().unwrap(), hex("81 05 66 69 72 73 74 81 03"));
    }

    /// An upgrade request whose client offers permessage-deflate.
    fn offering_deflate() -> UpgradeRequest {
        let mut request = upgrade_request();
        request.headers = RequestHeaders::new(vec![
            ("Upgrade".into(), "websocket".into()),
            ("Connection".into(), "Upgrade".into()),
            ("Sec-WebSocket-Key".into(), "dGhlIHNhbXBsZSBub25jZQ==".into()),
            ("Sec-WebSocket-Version".into(), "13".into()),
            ("Sec-WebSocket-Extensions".into(), "permessage-deflate".into()),
        ]);
        request
    }

    #[test]
    fn refused_once_closing_and_left_to_send_where_the_payload_changes() {
        let mut conn = open_server(1000);
        conn.close(None, "").unwrap();
        assert_eq!(conn.send_head(false, 10), Some(SendStatus::Refused));

        // A client masks its payload.
        let target = ClientTarget { path: "/".into(), host: "h".into(), ..Default::default() };
        let mut client = Connection::client(&target, *b"the sample nonce", Limits::default(), Box::new(FixedMask(KEY)), ClientExtensions::Native(None)).unwrap();
        assert_eq!(client.send_head(false, 10), None);
        assert!(!client.plain_frames());

        // Compression rewrites it.
        let mut deflating = Connection::server(offering_deflate(), URL, vec![], &[], Limits::default(), Some(crate::core::deflate::DeflateConfig::default())).unwrap();
        deflating.start();
        assert_eq!(deflating.send_head(false, 10), None);
        assert!(!deflating.plain_frames());
    }

    #[test]
    fn plain_frames_are_a_servers_with_nothing_to_change_them() {
        assert!(open_server(1000).plain_frames());
        // Offered deflate but not configured with it: nothing negotiated.
        let mut offered = Connection::server(offering_deflate(), URL, vec![], &[], Limits::default(), None).unwrap();
        offered.start();
        assert!(offered.plain_frames());
        // The caller's extensions may set reserved bits.
        let mut extended = Connection::server(upgrade_request(), URL, vec![], &[], Limits::default(), None).unwrap();
        extended.answer_extensions(Ok((Some("x-reverse".into()), 0x20)));
        extended.start();
        assert!(!extended.plain_frames());
    }

    #[test]
    fn a_message_before_open_is_left_to_send() {
        let mut conn = Connection::server(upgrade_request(), URL, vec![], &[], Limits::default(), None).unwrap();
        assert_eq!(conn.send_head(false, 10), None);
    }
}

mod filled_sends {
    use super::*;
    use crate::core::handshake::client::ClientTarget;
    use crate::core::test_util::FixedMask;

    fn fill_with(payload: &[u8]) -> impl FnOnce(&mut Vec<u8>) -> Result<(), ()> + '_ {
        move |out| {
            out.extend_from_slice(payload);
            Ok(())
        }
    }

    #[test]
    fn a_filled_frame_equals_a_sent_one_on_server_and_client() {
        for len in [0usize, 5, 126, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut sent = open_server(1 << 20);
            sent.send(false, &payload);
            let mut filled = open_server(1 << 20);
            assert_eq!(filled.send_with(false, len, fill_with(&payload)), Ok(SendStatus::Written));
            assert_eq!(filled.drain_output(), sent.drain_output(), "server, {len} bytes");

            let target = ClientTarget { path: "/".into(), host: "h".into(), ..Default::default() };
            let response = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
            let mut clients = [0, 1].map(|_| {
                let mut c = Connection::client(&target, *b"the sample nonce", Limits::default(), Box::new(FixedMask(KEY)), ClientExtensions::Native(None)).unwrap();
                c.start();
                c.drain_output();
                c.feed(response);
                c
            });
            clients[0].send(true, &payload);
            assert_eq!(clients[1].send_with(true, len, fill_with(&payload)), Ok(SendStatus::Written));
            let [a, b] = &mut clients;
            assert_eq!(b.drain_output(), a.drain_output(), "client, {len} bytes");
        }
    }

    #[test]
    fn a_fill_that_fails_leaves_no_trace_and_a_short_fill_is_framed_as_written() {
        let mut conn = open_server(1000);
        assert_eq!(conn.send_with(true, 3, |out: &mut Vec<u8>| { out.push(b'x'); Err("no") }), Err("no"));
        assert_eq!(conn.drain_output(), None);
        assert_eq!(conn.send_with(true, 3, fill_with(b"ab")), Ok(SendStatus::Written));
        assert_eq!(conn.drain_output().unwrap(), hex("81 02 61 62"));
    }

    #[test]
    fn the_filler_finds_room_for_the_payload_and_its_slack() {
        // A filler that needed to grow the Vec would make the allocator copy it whole.
        for len in [0usize, 5, 126, 70_000] {
            let room = |out: &mut Vec<u8>| -> Result<(), usize> {
                let spare = out.capacity() - out.len();
                out.resize(out.len() + len, b'a');
                if spare >= len + crate::core::hybi::FILL_SLACK { Ok(()) } else { Err(spare) }
            };
            let mut open = open_server(1 << 20);
            assert_eq!(open.send(true, b"earlier output"), SendStatus::Written);
            assert_eq!(open.send_with(true, len, room), Ok(SendStatus::Written), "open, {len} bytes");
            let mut connecting = Connection::server(upgrade_request(), URL, vec![], &[], Limits::default(), None).unwrap();
            assert_eq!(connecting.send_with(true, len, room), Ok(SendStatus::Queued), "before open, {len} bytes");
        }
    }

    #[test]
    fn queued_before_open_and_refused_once_closing() {
        let mut conn = Connection::server(upgrade_request(), URL, vec![], &[], Limits::default(), None).unwrap();
        assert_eq!(conn.send_with(true, 2, fill_with(b"hi")), Ok(SendStatus::Queued));
        conn.start();
        let out = conn.drain_output().unwrap();
        assert!(out.ends_with(&hex("81 02 68 69")), "the queued message follows the 101");
        conn.close(None, "").unwrap();
        let mut filled = false;
        let status = conn.send_with(true, 2, |out: &mut Vec<u8>| -> Result<(), ()> { filled = true; out.extend_from_slice(b"no"); Ok(()) });
        assert_eq!(status, Ok(SendStatus::Refused));
        assert!(!filled, "a refused message is never filled");
    }
}
