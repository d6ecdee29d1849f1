//! Drives an RFC 6455 connection the way the Node binding does, and checks its events
//! and everything it wrote against the reference decoder.
//!
//! The binding, after each read: drains the events; writes each ping's pong when it
//! handles the ping; lets the application answer messages (here: an optional echo);
//! then calls `flush_close` and writes what is left.

use faye_websocket_native::core::handshake::client::{ClientExtensions, ClientTarget};
use faye_websocket_native::core::handshake::headers::RequestHeaders;
use faye_websocket_native::core::handshake::server::UpgradeRequest;
use faye_websocket_native::core::hybi::SendStatus;
use faye_websocket_native::core::deflate::DeflateConfig;
use faye_websocket_native::core::{Connection, Event, Limits};

use crate::inflate_ref::{Fed, RefInflater, TRAILER};
use crate::wire::{self, WireFrame};
use crate::ws_ref::{Decoded, End, Item, PeerDeflate};
use crate::CountingMasks;

pub const URL: &str = "ws://example.com/";
/// RFC 6455 section 1.3's example key and its accept value.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
pub const NONCE: [u8; 16] = *b"the sample nonce";

/// Window sizes a config nibble picks from; mostly 15, whose behaviour is exact.
const WINDOWS: [Option<u8>; 8] = [None, None, None, None, Some(15), Some(8), Some(9), Some(12)];

/// The fuzz-chosen shape of a connection, decoded from the first input bytes.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    pub max_length: u64,
    pub deflate: bool,
    /// The application sends every message back.
    pub echo: bool,
    /// The application calls `close()` before any input: the connection is closing.
    pub close_first: bool,
    /// The peer closes TCP after the input.
    pub eof: bool,
    /// Deflate parameters: peer window, peer takeover off, own window, own takeover off.
    pub peer_window: Option<u8>,
    pub peer_no_takeover: bool,
    pub own_window: Option<u8>,
    pub own_no_takeover: bool,
}

impl Setup {
    pub fn from_bytes(a: u8, b: u8) -> Setup {
        Setup {
            max_length: crate::MAX_LENGTHS[usize::from(a & 0x0F)],
            deflate: a & 0x10 != 0,
            echo: a & 0x20 != 0,
            close_first: a & 0x40 != 0,
            eof: a & 0x80 != 0,
            peer_window: WINDOWS[usize::from(b & 0x07)],
            peer_no_takeover: b & 0x08 != 0,
            own_window: WINDOWS[usize::from((b >> 4) & 0x07)],
            own_no_takeover: b & 0x80 != 0,
        }
    }

    pub fn to_bytes(self) -> [u8; 2] {
        let max = crate::MAX_LENGTHS.iter().position(|&m| m == self.max_length).unwrap_or(15) as u8;
        let window = |w: Option<u8>| WINDOWS.iter().position(|&x| x == w).unwrap_or(0) as u8;
        let a = max | u8::from(self.deflate) << 4 | u8::from(self.echo) << 5 | u8::from(self.close_first) << 6 | u8::from(self.eof) << 7;
        let b = window(self.peer_window) | u8::from(self.peer_no_takeover) << 3 | window(self.own_window) << 4 | u8::from(self.own_no_takeover) << 7;
        [a, b]
    }
}

/// What both ends agreed for permessage-deflate, read from the handshake as a peer
/// reads it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Agreed {
    pub peer: Option<PeerDeflate>,
    /// Whether our compressor keeps its context, when deflate is on.
    pub own_takeover: Option<bool>,
}

/// Extension parameters in order; one without `=value` has `None`.
pub type Params = Vec<(String, Option<String>)>;

/// The parameters of the `permessage-deflate` element of an extensions header.
pub fn deflate_params(header: &str) -> Option<Params> {
    const OWS: [char; 2] = [' ', '\t'];
    let mut parts = header.split(';').map(|p| p.trim_matches(OWS));
    if parts.next()? != "permessage-deflate" {
        return None;
    }
    Some(
        parts
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim_matches(OWS).to_owned(), Some(v.trim_matches(OWS).to_owned())),
                None => (p.to_owned(), None),
            })
            .collect(),
    )
}

fn param_bits(params: &[(String, Option<String>)], name: &str) -> Option<u8> {
    params.iter().find(|(k, _)| k == name).and_then(|(_, v)| v.as_deref()?.parse().ok())
}

fn has_param(params: &[(String, Option<String>)], name: &str) -> bool {
    params.iter().any(|(k, _)| k == name)
}

/// A server connection, opened by a valid upgrade request; with permessage-deflate
/// offered as `setup` says when `setup.deflate`.
pub fn open_server(setup: &Setup) -> (Connection, Agreed) {
    let mut pairs = vec![
        ("Host".to_owned(), "example.com".to_owned()),
        ("Upgrade".to_owned(), "websocket".to_owned()),
        ("Connection".to_owned(), "Upgrade".to_owned()),
        ("Sec-WebSocket-Key".to_owned(), KEY.to_owned()),
        ("Sec-WebSocket-Version".to_owned(), "13".to_owned()),
    ];
    if setup.deflate {
        let mut offer = String::from("permessage-deflate");
        match setup.peer_window {
            Some(bits) => offer.push_str(&format!("; client_max_window_bits={bits}")),
            None => offer.push_str("; client_max_window_bits"),
        }
        if setup.peer_no_takeover {
            offer.push_str("; client_no_context_takeover");
        }
        if let Some(bits) = setup.own_window {
            offer.push_str(&format!("; server_max_window_bits={bits}"));
        }
        if setup.own_no_takeover {
            offer.push_str("; server_no_context_takeover");
        }
        pairs.push(("Sec-WebSocket-Extensions".to_owned(), offer));
    }
    let request = UpgradeRequest { method: "GET".into(), headers: RequestHeaders::new(pairs) };
    let config = setup.deflate.then(DeflateConfig::default);
    let mut conn = Connection::server(request, URL, vec![], &[], Limits { max_length: setup.max_length }, config)
        .expect("a server connection without custom headers");
    conn.start();
    let head = conn.drain_output().expect("a 101 response");
    let head = String::from_utf8(head).expect("an ASCII head");
    assert!(head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"), "{head}");
    assert!(head.contains(&format!("\r\nSec-WebSocket-Accept: {ACCEPT}\r\n")), "{head}");
    assert_eq!(conn.drain_events(), vec![Event::Open]);
    let extension = head.lines().find_map(|l| l.strip_prefix("Sec-WebSocket-Extensions: "));
    let mut agreed = Agreed::default();
    if setup.deflate {
        let params = deflate_params(extension.expect("permessage-deflate accepted")).expect("a permessage-deflate response");
        let response_bits = param_bits(&params, "client_max_window_bits");
        let window = setup.peer_window.unwrap_or(15).min(response_bits.unwrap_or(15));
        let takeover = !setup.peer_no_takeover && !has_param(&params, "client_no_context_takeover");
        agreed.peer = Some(PeerDeflate { window_bits: window, context_takeover: takeover });
        agreed.own_takeover = Some(!has_param(&params, "server_no_context_takeover"));
        if setup.own_no_takeover {
            assert_eq!(agreed.own_takeover, Some(false), "server_no_context_takeover was asked for: {head}");
        }
    } else {
        assert!(extension.is_none(), "{head}");
    }
    (conn, agreed)
}

/// A started client connection (its request written and drained), and the 101 that
/// accepts it: with a permessage-deflate response built from `setup` when
/// `setup.deflate`.
pub fn start_client(setup: &Setup) -> (Connection, Vec<u8>, Agreed) {
    let target = ClientTarget { path: "/chat".into(), host: "server.example.com".into(), ..Default::default() };
    let config = setup.deflate.then(DeflateConfig::default);
    let masks = Box::new(CountingMasks(0));
    let mut conn = Connection::client(&target, NONCE, Limits { max_length: setup.max_length }, masks, ClientExtensions::Native(config))
        .expect("a client connection");
    conn.start();
    let request = conn.drain_output().expect("an upgrade request");
    assert!(request.starts_with(b"GET /chat HTTP/1.1\r\n"));
    let mut head = format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\n");
    let mut agreed = Agreed::default();
    if setup.deflate {
        let mut ext = String::from("permessage-deflate");
        if setup.peer_no_takeover {
            ext.push_str("; server_no_context_takeover");
        }
        if let Some(bits) = setup.peer_window {
            ext.push_str(&format!("; server_max_window_bits={bits}"));
        }
        if setup.own_no_takeover {
            ext.push_str("; client_no_context_takeover");
        }
        if let Some(bits) = setup.own_window {
            ext.push_str(&format!("; client_max_window_bits={bits}"));
        }
        head.push_str(&format!("Sec-WebSocket-Extensions: {ext}\r\n"));
        agreed.peer = Some(PeerDeflate { window_bits: setup.peer_window.unwrap_or(15), context_takeover: !setup.peer_no_takeover });
        agreed.own_takeover = Some(!setup.own_no_takeover);
    }
    head.push_str("\r\n");
    (conn, head.into_bytes(), agreed)
}

/// What a run produced.
pub struct Run {
    pub events: Vec<Event>,
    /// Every byte written after the handshake, in the order the binding writes them.
    pub wire: Vec<u8>,
    pub echoes: Vec<SendStatus>,
}

pub fn drive(conn: &mut Connection, pieces: &[&[u8]], echo: bool, eof: bool) -> Run {
    let mut run = Run { events: Vec::new(), wire: Vec::new(), echoes: Vec::new() };
    let after = |conn: &mut Connection, run: &mut Run| {
        run.wire.extend(conn.drain_output().unwrap_or_default());
        for event in conn.drain_events() {
            match &event {
                Event::Ping { pong, .. } => run.wire.extend_from_slice(pong),
                Event::Message { text, data } if echo => {
                    run.echoes.push(conn.send(*text, data));
                    run.wire.extend(conn.drain_output().unwrap_or_default());
                }
                _ => {}
            }
            run.events.push(event);
        }
        conn.flush_close();
        run.wire.extend(conn.drain_output().unwrap_or_default());
    };
    for piece in pieces {
        conn.feed(piece);
        after(conn, &mut run);
    }
    if eof {
        conn.feed_eof();
        after(conn, &mut run);
    }
    run
}

/// What the wire must carry, in order.
#[derive(Debug)]
enum Expected {
    Data { text: bool, data: Vec<u8> },
    Pong(Vec<u8>),
    /// A close frame; the reason is checked when given.
    Close { code: u16, reason: Option<String> },
}

pub struct Context {
    /// A client masks what it sends.
    pub client: bool,
    pub setup: Setup,
    pub agreed: Agreed,
}

/// Checks a run against the reference decoding of the same input. `events` must not
/// hold the opening `Open` (the caller checked it).
pub fn check(conn: &Connection, events: &[Event], run: &Run, decoded: &Decoded, ctx: &Context) {
    let closing = ctx.setup.close_first;
    let mut expected = Vec::new();
    let mut events = events.iter();
    let mut closed = false;
    let fail_here = |e: &faye_websocket_native::core::ProtocolError, events: &mut std::slice::Iter<Event>, expected: &mut Vec<Expected>| {
        let code = e.close_code();
        let reason = e.to_string();
        assert_eq!(events.next(), Some(&Event::Close { code, reason }), "an error is followed by its close");
        if !closing {
            expected.push(Expected::Close { code, reason: None });
        }
    };
    'items: {
        for item in &decoded.items {
            match item {
                Item::Message { text, data } => {
                    let event = events.next();
                    assert_eq!(event, Some(&Event::Message { text: *text, data: data.clone() }), "message differs from the reference");
                    assert!(data.len() as u64 <= ctx.setup.max_length, "message over maxLength");
                    assert!(!text || crate::utf8_ok(data), "text message is not UTF-8");
                    if ctx.setup.echo && !closing {
                        expected.push(Expected::Data { text: *text, data: data.clone() });
                    }
                }
                Item::Ping(payload) => match events.next() {
                    Some(Event::Ping { payload: got, pong }) => {
                        assert_eq!(got, payload, "ping payload");
                        if closing {
                            assert!(pong.is_empty(), "pong while closing");
                        } else {
                            let frames = wire::parse(pong, ctx.client, false).expect("a valid pong frame");
                            assert_eq!(frames, vec![WireFrame { opcode: wire::PONG, rsv1: false, payload: payload.clone() }]);
                            expected.push(Expected::Pong(payload.clone()));
                        }
                    }
                    other => panic!("expected ping {payload:02x?}, got {other:?}"),
                },
                Item::Pong(payload) => assert_eq!(events.next(), Some(&Event::Pong(payload.clone())), "pong"),
                Item::MayFail { codes, needle } => {
                    if let Some(Event::Error(e)) = events.as_slice().first() {
                        let text_ok = needle.is_none_or(|n| e.to_string().contains(n));
                        if codes.contains(&e.close_code()) && text_ok {
                            events.next();
                            fail_here(e, &mut events, &mut expected);
                            closed = true;
                            break 'items;
                        }
                    }
                }
            }
        }
        match &decoded.end {
            End::Exhausted => {}
            End::PeerClose { code, reason } => {
                let event = events.next();
                assert_eq!(event, Some(&Event::Close { code: code.unwrap_or(1005), reason: reason.clone() }), "peer close");
                if !closing {
                    expected.push(Expected::Close { code: code.unwrap_or(1000), reason: Some(reason.clone()) });
                }
                closed = true;
            }
            End::Fail(codes) => match events.next() {
                Some(Event::Error(e)) if codes.contains(&e.close_code()) => {
                    fail_here(e, &mut events, &mut expected);
                    closed = true;
                }
                other => panic!("expected a failure with one of {codes:?}, got {other:?}"),
            },
        }
    }
    if ctx.setup.eof && !closed {
        assert_eq!(events.next(), Some(&Event::Close { code: 1006, reason: String::new() }), "TCP close is 1006");
        closed = true;
    }
    let rest: Vec<&Event> = events.collect();
    assert!(rest.is_empty(), "unexpected events: {rest:?}");
    let state = if closed {
        3
    } else if closing {
        2
    } else {
        1
    };
    assert_eq!(conn.ready_state(), state, "readyState");

    let expected_status = if closing { SendStatus::Refused } else { SendStatus::Written };
    assert!(run.echoes.iter().all(|&s| s == expected_status), "echo status {:?}", run.echoes);
    check_wire(&run.wire, &expected, ctx);
}

fn check_wire(bytes: &[u8], expected: &[Expected], ctx: &Context) {
    let deflate = ctx.agreed.own_takeover.is_some();
    let frames = match wire::parse(bytes, ctx.client, deflate) {
        Ok(frames) => frames,
        Err(e) => panic!("invalid output: {e}: {bytes:02x?}"),
    };
    assert_eq!(frames.len(), expected.len(), "output frames {frames:02x?}, expected {expected:02x?}");
    let mut inflater: Option<RefInflater> = None;
    for (frame, want) in frames.iter().zip(expected) {
        match want {
            Expected::Data { text, data } => {
                assert_eq!(frame.opcode, if *text { wire::TEXT } else { wire::BINARY });
                assert_eq!(frame.rsv1, deflate, "every message is compressed once deflate is on");
                if deflate {
                    let takeover = ctx.agreed.own_takeover == Some(true);
                    let state = inflater.get_or_insert_with(RefInflater::new);
                    let mut out = Vec::new();
                    let first = state.feed(&frame.payload, &mut out, usize::MAX);
                    let second = state.feed(&TRAILER, &mut out, usize::MAX);
                    assert_eq!((first, second), (Fed::Ok, Fed::Ok), "our compressed output does not inflate");
                    assert_eq!(&out, data, "our compressed output inflates to something else");
                    if !takeover || state.ended() {
                        inflater = None;
                    }
                } else {
                    assert_eq!(&frame.payload, data);
                }
            }
            Expected::Pong(payload) => {
                assert_eq!((frame.opcode, &frame.payload), (wire::PONG, payload));
            }
            Expected::Close { code, reason } => {
                assert_eq!(frame.opcode, wire::CLOSE);
                let (got_code, got_reason) = wire::close_parts(&frame.payload);
                assert_eq!(got_code, Some(*code), "close frame code");
                if let Some(reason) = reason {
                    assert_eq!(&got_reason, reason, "close frame reason");
                }
            }
        }
    }
}

/// Checks the close frame `close()` writes before any input, when the setup asks for it.
fn close_first(conn: &mut Connection, client: bool) {
    conn.close(Some(1000), "").expect("1000 is a valid code");
    let out = conn.drain_output().expect("a close frame");
    let frames = wire::parse(&out, client, false).expect("a valid close frame");
    assert_eq!(frames, vec![WireFrame { opcode: wire::CLOSE, rsv1: false, payload: vec![0x03, 0xE8] }]);
    assert!(conn.drain_events().is_empty());
    assert!(conn.close_expected());
}

/// Input: two setup bytes, a split seed, then the bytes the client sends.
pub fn server_feed(data: &[u8]) {
    let [a, b, seed, stream @ ..] = data else { return };
    let setup = Setup::from_bytes(*a, *b);
    let (mut conn, agreed) = open_server(&setup);
    if setup.close_first {
        close_first(&mut conn, false);
    }
    let pieces = crate::chunks::split(stream, *seed);
    let run = drive(&mut conn, &pieces, setup.echo, setup.eof);
    let cfg = crate::ws_ref::RefConfig { expect_masked: true, deflate: agreed.peer, max_length: setup.max_length };
    let decoded = crate::ws_ref::decode(stream, &cfg);
    check(&conn, &run.events, &run, &decoded, &Context { client: false, setup, agreed });
}

/// Input: two setup bytes, a split seed, then the bytes the server sends after its
/// 101, which is read in the same stream (so frames can share a read with it).
pub fn client_feed(data: &[u8]) {
    let [a, b, seed, stream @ ..] = data else { return };
    let setup = Setup::from_bytes(*a, *b);
    let (mut conn, head, agreed) = start_client(&setup);
    let mut all = Vec::new();
    if setup.close_first {
        // Closing needs an open connection: the 101 comes in a read of its own.
        conn.feed(&head);
        assert_eq!(conn.drain_events(), vec![Event::Open]);
        assert_eq!(conn.drain_output(), None);
        close_first(&mut conn, true);
    } else {
        all.extend_from_slice(&head);
    }
    all.extend_from_slice(stream);
    let pieces = crate::chunks::split(&all, *seed);
    let run = drive(&mut conn, &pieces, setup.echo, setup.eof);
    let events = if setup.close_first {
        &run.events[..]
    } else {
        assert_eq!(run.events.first(), Some(&Event::Open), "the 101 opens the connection");
        &run.events[1..]
    };
    let response = conn.take_response().expect("the 101 is kept");
    assert_eq!(response.status, 101);
    let cfg = crate::ws_ref::RefConfig { expect_masked: false, deflate: agreed.peer, max_length: setup.max_length };
    let decoded = crate::ws_ref::decode(stream, &cfg);
    check(&conn, events, &run, &decoded, &Context { client: true, setup, agreed });
}
