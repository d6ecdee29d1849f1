//! Seed inputs for every target, built from the byte vectors of the core's unit tests
//! (src/core/*_tests.rs and the modules' tests) in each target's input format.
//! `cargo run --example seed_corpus` writes them under corpus/<target>/.

use crate::hybi_driver::Setup;
use crate::wire::encode;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).expect("ASCII"), 16).expect("hex")).collect()
}

/// Raw DEFLATE with a sync flush and the trailer removed, as a permessage-deflate
/// sender writes a message.
pub fn compress(data: &[u8]) -> Vec<u8> {
    let mut c = flate2::Compress::new(flate2::Compression::default(), false);
    let mut out = Vec::with_capacity(data.len() + 64);
    loop {
        let before = c.total_in() as usize;
        out.reserve(data.len() + 64);
        c.compress_vec(&data[before..], &mut out, flate2::FlushCompress::Sync).expect("compress");
        if c.total_in() as usize == data.len() && out.len() < out.capacity() {
            break;
        }
    }
    if out.ends_with(&crate::inflate_ref::TRAILER) {
        out.truncate(out.len() - 4);
    }
    out
}

/// Frame streams a peer might send, as (b0, payload) lists, from the core's tests.
fn frame_vectors() -> Vec<Vec<(u8, Vec<u8>)>> {
    let bye = hex("03 e8 62 79 65");
    let euro = "€".as_bytes().to_vec();
    vec![
        vec![(0x81, b"Hello".to_vec())],
        vec![(0x82, (0..=255u8).cycle().take(300).collect())],
        vec![(0x81, vec![]), (0x82, vec![])],
        vec![(0x81, b"one".to_vec()), (0x81, "two ✓".as_bytes().to_vec())],
        vec![(0x01, b"Hel".to_vec()), (0x89, b"p".to_vec()), (0x80, b"lo".to_vec())],
        vec![(0x80, b"x".to_vec())],
        vec![(0x01, b"a".to_vec()), (0x81, b"b".to_vec())],
        vec![(0x89, b"Hello".to_vec())],
        vec![(0x8a, b"1".to_vec())],
        vec![(0x09, vec![])],
        vec![(0x89, vec![0; 126])],
        vec![(0xc1, b"x".to_vec())],
        vec![(0x83, vec![])],
        vec![(0x88, bye.clone())],
        vec![(0x88, vec![])],
        vec![(0x88, hex("03"))],
        vec![(0x88, hex("03 ec"))],
        vec![(0x88, hex("03 e8 ed a0 80"))],
        vec![(0x81, b"Hello".to_vec()), (0xa1, b"x".to_vec())],
        vec![(0x88, hex("03 e8")), (0x81, b"late".to_vec())],
        vec![(0x01, hex("ce ba e1 bd b9 ce bc ce b5 ed a0 80"))],
        vec![(0x81, hex("61 62 ff 63 64 65 66"))],
        vec![(0x01, euro[..1].to_vec()), (0x00, euro[1..2].to_vec()), (0x80, euro[2..].to_vec())],
        vec![(0x81, hex("e2 82"))],
        vec![(0x02, vec![1; 6]), (0x80, vec![2; 5])],
        // permessage-deflate, RFC 7692 section 7.2.3.
        vec![(0xc1, hex("f2 48 cd c9 c9 07 00"))],
        vec![(0x41, hex("f2 48 cd")), (0x80, hex("c9 c9 07 00"))],
        vec![(0x41, hex("f2 48 cd")), (0xc0, hex("c9 c9 07 00"))],
        vec![(0xc9, vec![])],
        vec![(0xc1, hex("ff ff ff ff"))],
        vec![(0xc1, hex("f2 48 cd c9 c9 07 00")), (0xc1, hex("f2 00 11 00 00"))],
        vec![(0xc1, hex("00 05 00 fa ff 48 65 6c 6c 6f 00"))],
        vec![(0xc1, hex("f3 48 cd c9 c9 07 00 00"))],
        vec![(0xc2, hex("00"))],
        vec![(0xc1, compress(&hex("ce ba ed a0 80")))],
        vec![(0xc2, compress(&[b'a'; 5000]))],
        vec![(0xc1, compress(b"plain")), (0x81, b"plain".to_vec()), (0xc1, compress(b"plain"))],
    ]
}

fn stream(frames: &[(u8, Vec<u8>)], masked: bool) -> Vec<u8> {
    frames.iter().flat_map(|(b0, payload)| encode(*b0, masked.then_some(KEY), payload)).collect()
}

fn setups() -> Vec<Setup> {
    let plain = Setup {
        max_length: 1 << 20,
        deflate: false,
        echo: true,
        close_first: false,
        eof: false,
        peer_window: None,
        peer_no_takeover: false,
        own_window: None,
        own_no_takeover: false,
    };
    vec![
        plain,
        Setup { deflate: true, ..plain },
        Setup { deflate: true, peer_no_takeover: true, own_no_takeover: true, ..plain },
        Setup { deflate: true, peer_window: Some(9), own_window: Some(12), ..plain },
        Setup { max_length: 10, eof: true, ..plain },
        Setup { close_first: true, deflate: true, ..plain },
    ]
}

fn hybi_seeds(masked: bool) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for (i, frames) in frame_vectors().iter().enumerate() {
        let setup = setups()[i % setups().len()];
        let deflating = frames.iter().any(|(b0, _)| b0 & 0x40 != 0);
        let setup = if deflating { Setup { deflate: true, ..setup } } else { setup };
        let [a, b] = setup.to_bytes();
        // Whole reads, and reads of a few bytes.
        for seed in [0u8, 0x61] {
            let mut input = vec![a, b, seed];
            input.extend(stream(frames, masked));
            seeds.push(input);
        }
    }
    // The largest declared lengths, from the core's limit tests.
    for header in ["82 ff 00 00 00 00 04 00 00 00 37 fa 21 3d", "82 ff 7f ff ff ff ff ff ff ff 37 fa 21 3d", "82 ff 80 00 00 00 00 00 00 00 37 fa 21 3d"] {
        let mut input = setups()[0].to_bytes().to_vec();
        input.push(0);
        input.extend(hex(header));
        seeds.push(input);
    }
    seeds
}

const REQUEST: &str = "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

fn handshake_seeds() -> Vec<Vec<u8>> {
    let hixie = "GET /demo HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\nOrigin: http://example.com\r\n";
    let keys = "Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\nSec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n";
    let requests: Vec<(u8, String)> = vec![
        (0, format!("{REQUEST}\r\n")),
        (2, format!("{REQUEST}Sec-WebSocket-Protocol: xmpp, irc, chat\r\n\r\n")),
        (3, format!("{REQUEST}Sec-WebSocket-Protocol: superchat\r\n@X-Powered-By: native\r\n@Set-Cookie: a=1\r\n@set-cookie: b=2\r\n\r\n")),
        (0x08, format!("{REQUEST}Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")),
        (0x0c, format!("{REQUEST}Sec-WebSocket-Extensions: x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=10; client_max_window_bits, permessage-deflate\r\n\r\n")),
        (0x08, format!("{REQUEST}Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=\"9\"\r\n\r\n")),
        (0x08, format!("{REQUEST}Sec-WebSocket-Extensions: permessage-deflate; x=\r\n\r\n")),
        (0, REQUEST.replace("Version: 13", "Version: 8") + "\r\n"),
        (0, REQUEST.replace("dGhlIHNhbXBsZSBub25jZQ==", "AAAAAAAAAAAAAAAAAAAA") + "\r\n"),
        (0, REQUEST.replace("GET", "POST") + "\r\n"),
        (0, REQUEST.replace("websocket", "h2c") + "\r\n"),
        (0, format!("{REQUEST}@X-Evil: a\r\n@Bad Name: 1\r\n\r\n")),
        (0, format!("{hixie}\r\n")),
        (0, format!("{hixie}{keys}\r\n^n:ds[4U")),
        (0, format!("{hixie}{keys}@X-Note: \u{e9}t\u{e9}\r\n\r\n^n:ds[4U")),
        (0, format!("{hixie}Sec-WebSocket-Key1: 1 2\r\nSec-WebSocket-Key2: 3\r\n\r\n12345678")),
    ];
    requests.into_iter().map(|(setup, text)| [vec![setup], text.into_bytes()].concat()).collect()
}

const RESPONSE: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";

fn response_seeds() -> Vec<Vec<u8>> {
    let base = setups()[0];
    let with = |setup: Setup, protocols: bool, text: String| {
        let [a, b] = Setup { close_first: protocols, ..setup }.to_bytes();
        [vec![a, b, 0], text.into_bytes()].concat()
    };
    let deflate = Setup { deflate: true, ..base };
    vec![
        with(base, false, format!("{RESPONSE}\r\n")),
        [with(base, false, format!("{RESPONSE}\r\n")), hex("81 05 48 65 6c 6c 6f 89 00 88 02 03 e8")].concat(),
        with(base, true, format!("{RESPONSE}Sec-WebSocket-Protocol: superchat\r\n\r\n")),
        with(base, true, format!("{RESPONSE}Sec-WebSocket-Protocol: xmpp\r\n\r\n")),
        with(base, false, format!("{}\r\n", RESPONSE.replace("Connection: Upgrade", "Connection: keep-alive, Upgrade"))),
        with(base, false, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_owned()),
        with(base, false, format!("{}\r\n", RESPONSE.replace("s3pP", "wron"))),
        with(base, false, "SSH-2.0-OpenSSH\r\n\r\n".to_owned()),
        [with(deflate, false, format!("{RESPONSE}Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=12\r\n\r\n")), hex("c1 07 f2 48 cd c9 c9 07 00")].concat(),
        with(deflate, false, format!("{RESPONSE}Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; server_max_window_bits=9\r\n\r\n")),
        with(deflate, false, format!("{RESPONSE}Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")),
        with(deflate, false, format!("{RESPONSE}Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate\r\n\r\n")),
        with(base, false, format!("{RESPONSE}Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n")),
    ]
}

fn proxy_seeds() -> Vec<Vec<u8>> {
    vec![
        [&[0u8][..], b"HTTP/1.1 200 Connection established\r\n\r\nxyz"].concat(),
        [&[0x61u8][..], b"HTTP/1.1 200 Connection established\r\nProxy-Agent: x\r\n\r\n\x81\x00"].concat(),
        [&[0u8][..], b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"].concat(),
        [&[0u8][..], b"HTTP/1.0 200 OK\n\n"].concat(),
    ]
}

/// Pieces in the inflate target's format: a length byte (high bit ends the message).
fn pieces(messages: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for message in messages {
        let chunks: Vec<&[u8]> = message.chunks(127).collect();
        if chunks.is_empty() {
            out.push(0x80);
        }
        for (i, chunk) in chunks.iter().enumerate() {
            let last = if i + 1 == chunks.len() { 0x80 } else { 0 };
            out.push(last | chunk.len() as u8);
            out.extend_from_slice(chunk);
        }
    }
    out
}

fn inflate_seeds() -> Vec<Vec<u8>> {
    let hello = hex("f2 48 cd c9 c9 07 00");
    let second = hex("f2 00 11 00 00");
    let text: Vec<u8> = b"abcdefghij".iter().cycle().take(5000).copied().collect();
    let bomb = compress(&[0u8; 200_000]);
    let takeover = 0x08;
    let limit = |l: u64| (crate::MAX_LENGTHS.iter().position(|&m| m == l).expect("a listed limit") as u8) << 4;
    vec![
        [vec![limit(1000), 0], pieces(&[&hello])].concat(),
        [vec![limit(1000) | takeover, 0], pieces(&[&hello, &second])].concat(),
        [vec![limit(1000) | takeover, 1], pieces(&[&hello, &hello, &second, &second])].concat(),
        [vec![limit(1000), 0], pieces(&[&hex("00 05 00 fa ff 48 65 6c 6c 6f 00")])].concat(),
        [vec![limit(1000), 0], pieces(&[&hex("f3 48 cd c9 c9 07 00 00"), &hello])].concat(),
        [vec![limit(0), 0], pieces(&[&hex("00"), &[]])].concat(),
        [vec![limit(65536) | 4, 0], pieces(&[&compress(&text)])].concat(),
        [vec![limit(4096), 0], pieces(&[&bomb])].concat(),
        [vec![limit(1000), 0], pieces(&[&hex("ff ff ff ff")])].concat(),
        [vec![limit(1000), 0], pieces(&[&hex("0b 00 00 18 7e cd 89 6f")])].concat(),
    ]
}

fn hixie_seeds() -> Vec<Vec<u8>> {
    let frames: Vec<Vec<u8>> = vec![
        b"\x00one\xFF\x00two \xE2\x9C\x93\xFF".to_vec(),
        b"\x80\x03abc\x00next\xFF".to_vec(),
        vec![0xFF; 64],
        b"\x00hi\xFF\xFF\x00".to_vec(),
        [vec![0x00], vec![b'a'; 1001]].concat(),
        b"\x00\xC0\xAF\xFF".to_vec(),
        b"\x00hi\xFF\x81\x80\x00\x00x\xFF".to_vec(),
    ];
    frames.into_iter().flat_map(|f| [[vec![0x19, 0], f.clone()].concat(), [vec![0x39, 0x61], f].concat()]).collect()
}

fn eventsource_seeds() -> Vec<Vec<u8>> {
    let fields: Vec<&[&str]> = vec![
        &["Hello"],
        &["Breaking News!", "notification", "99"],
        &["a\nb", "", ""],
        &["a\r\nb\rc\n", "update", "7", "second", "", ""],
        &["x", "", "1\r\ndata: injected"],
        &["x", "a\nb", ""],
        &[" leading", " spaced", " id", "", "message", "\u{0}"],
    ];
    fields
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let mut out = vec![(i % 2) as u8, 0x27, 0x10];
            for (n, field) in f.iter().enumerate() {
                if n > 0 {
                    out.push(0xFF);
                }
                out.extend_from_slice(field.as_bytes());
            }
            out
        })
        .collect()
}

/// Every seed, by target name.
pub fn all() -> Vec<(&'static str, Vec<u8>)> {
    let mut seeds = Vec::new();
    let mut add = |target: &'static str, inputs: Vec<Vec<u8>>| seeds.extend(inputs.into_iter().map(|i| (target, i)));
    add("server_feed", hybi_seeds(true));
    add("client_feed", hybi_seeds(false));
    add("server_handshake", handshake_seeds());
    add("client_response", response_seeds());
    add("proxy_connect", proxy_seeds());
    add("inflate", inflate_seeds());
    add("hixie75", hixie_seeds());
    add("hixie76", hixie_seeds().into_iter().map(|s| [&s[..2], b"^n:ds[4U", &s[2..]].concat()).collect());
    add("eventsource", eventsource_seeds());
    seeds
}
