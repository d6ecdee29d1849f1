//! The opening-handshake targets: a server answering arbitrary upgrade requests, a
//! client reading arbitrary responses, and a proxy tunnel reading arbitrary CONNECT
//! answers.

use base64::Engine;
use faye_websocket_native::core::deflate::DeflateConfig;
use faye_websocket_native::core::handshake::client::{ClientExtensions, ClientTarget};
use faye_websocket_native::core::handshake::headers::RequestHeaders;
use faye_websocket_native::core::handshake::proxy::{ProxyTunnel, TunnelProgress};
use faye_websocket_native::core::handshake::server::UpgradeRequest;
use faye_websocket_native::core::{Connection, Event, Limits, ProtocolError};
use sha1::{Digest, Sha1};

use crate::http_ref::{self, has_token, joined, Head};
use crate::hybi_driver::{self, Agreed, Context, Params, Setup, ACCEPT, NONCE};
use crate::ws_ref::PeerDeflate;
use crate::CountingMasks;

const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const HANDSHAKE_PREFIX: &str = "Error during WebSocket handshake: ";

/// RFC 6455 section 4.2.2 step 5.4.
fn accept_for(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

const SUPPORTED: [&[&str]; 4] = [&[], &["chat"], &["chat", "superchat"], &["superchat", "chat"]];

/// Handshake headers the `headers` option is not fuzzed with: the application could
/// replace them (custom headers come first, and the first of a name wins), which is
/// its choice, not a fault.
fn reserved(name: &str) -> bool {
    let name = name.trim_matches(' ').to_ascii_lowercase();
    matches!(name.as_str(), "upgrade" | "connection" | "content-type" | "content-length")
        || name.starts_with("sec-websocket")
        || name.starts_with("websocket-")
}

/// Splits a head into its status line and its `name: value` lines, failing if a line
/// is not one: a header value that smuggled a line break shows up here.
/// Header lines as written: name and value bytes.
type Lines = Vec<(Vec<u8>, Vec<u8>)>;

fn head_lines(head: &[u8]) -> Result<(String, Lines), String> {
    let text = head.strip_suffix(b"\r\n\r\n").ok_or("head does not end with a blank line")?;
    let show = |line: &[u8]| format!("{:?}", String::from_utf8_lossy(line));
    let mut lines = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.windows(2).position(|w| w == b"\r\n") {
        lines.push(&rest[..at]);
        rest = &rest[at + 2..];
    }
    lines.push(rest);
    let mut lines = lines.into_iter();
    let status = String::from_utf8_lossy(lines.next().ok_or("no status line")?).into_owned();
    let mut headers = Vec::new();
    for line in lines {
        if line.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(format!("CR, LF or NUL inside {}", show(line)));
        }
        let colon = line.iter().position(|&b| b == b':').ok_or_else(|| format!("no colon in {}", show(line)))?;
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| http_ref::is_tchar(b)) {
            return Err(format!("bad header name {}", show(name)));
        }
        let value = line[colon + 1..].strip_prefix(b" ").ok_or("no space after colon")?;
        headers.push((name.to_vec(), value.to_vec()));
    }
    Ok((status, headers))
}

/// Where the head ends in `out`.
fn head_end(out: &[u8]) -> Option<usize> {
    out.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// Checks a refusal: one 400 head with a plain-text body that is the error message,
/// and an error then a close. Returns the message.
fn check_refusal(out: &[u8], events: &[Event], hybi: bool) -> String {
    let end = head_end(out).expect("a 400 head");
    let (status, headers) = head_lines(&out[..end]).unwrap_or_else(|e| panic!("malformed 400: {e}"));
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    let body = &out[end..];
    let length = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(b"content-length")).expect("Content-Length");
    assert_eq!(String::from_utf8_lossy(&length.1), body.len().to_string());
    let message = String::from_utf8(body.to_vec()).expect("a UTF-8 message");
    let close = if hybi { Event::Close { code: 1002, reason: message.clone() } } else { Event::CloseNoStatus };
    assert_eq!(events, [Event::Error(ProtocolError::Handshake(message.clone())), close]);
    message
}

/// The `permessage-deflate` offers of an extensions header, as (name, value) lists;
/// `None` when the header uses quoted strings, which this reader does not take apart.
fn deflate_offers(header: &str) -> Option<Vec<Params>> {
    if header.contains('"') {
        return None;
    }
    Some(header.split(',').filter_map(hybi_driver::deflate_params).collect())
}

/// RFC 7692 section 7.1: an offer a server may accept (known parameters, each once,
/// window bits 8 to 15 without leading zeros, no value where none is allowed).
fn offer_acceptable(params: &[(String, Option<String>)]) -> bool {
    let bits_ok = |v: &str| !v.starts_with('0') && v.parse::<u8>().is_ok_and(|b| (8..=15).contains(&b));
    let mut seen = Vec::new();
    params.iter().all(|(name, value)| {
        let fresh = !seen.contains(name);
        seen.push(name.clone());
        fresh
            && match (name.as_str(), value.as_deref()) {
                ("server_no_context_takeover" | "client_no_context_takeover" | "client_max_window_bits", None) => true,
                ("server_max_window_bits" | "client_max_window_bits", Some(v)) => bits_ok(v),
                _ => false,
            }
    })
}

/// Input: a setup byte (supported subprotocols, deflate configuration), then an upgrade
/// request as text; lines named `@name` are the `headers` option instead.
pub fn server_handshake(data: &[u8]) {
    let [setup, text @ ..] = data else { return };
    let supported: Vec<String> = SUPPORTED[usize::from(setup & 3)].iter().map(|s| (*s).to_owned()).collect();
    let deflate = match (setup >> 2) & 3 {
        0 | 1 => None,
        2 => Some(DeflateConfig::default()),
        _ => Some(DeflateConfig {
            no_context_takeover: true,
            max_window_bits: Some(10),
            request_no_context_takeover: true,
            request_max_window_bits: Some(9),
            ..Default::default()
        }),
    };
    let mut request = http_ref::parse_request(text);
    request.custom.retain(|(name, _)| !reserved(name));
    let host = joined(&request.headers, "host").unwrap_or_default();
    let url = format!("ws://{host}{}", request.target);
    let upgrade = UpgradeRequest { method: request.method.clone(), headers: RequestHeaders::new(request.headers.clone()) };
    let custom_ok = request.custom.iter().all(|(n, v)| http_ref::custom_header_ok(n, v));
    let conn = Connection::server(upgrade, &url, supported.clone(), &request.custom, Limits::default(), deflate.clone());
    let mut conn = match conn {
        Err(_) => {
            assert!(!custom_ok, "refused valid custom headers {:?}", request.custom);
            return;
        }
        Ok(conn) => {
            assert!(custom_ok, "accepted invalid custom headers {:?}", request.custom);
            conn
        }
    };

    let get = |name: &str| joined(&request.headers, name);
    let present = |name: &str| get(name).is_some_and(|v| !v.is_empty());
    let draft = if present("sec-websocket-version") || present("sec-websocket-key") {
        None
    } else {
        Some(present("sec-websocket-key1") || present("sec-websocket-key2"))
    };
    assert_eq!(conn.version(), match draft {
        None => "hybi-13",
        Some(true) => "hixie-76",
        Some(false) => "hixie-75",
    });
    conn.start();
    let out = conn.drain_output().expect("a response");
    let events = conn.drain_events();
    let is_websocket = request.method == "GET" && has_token(get("connection").as_deref(), "upgrade") && get("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    if out.starts_with(b"HTTP/1.1 400 ") {
        let message = check_refusal(&out, &events, draft.is_none());
        assert_eq!(conn.ready_state(), 3);
        // A refusal needs a reason.
        let valid = match draft {
            None => {
                let key = get("sec-websocket-key").unwrap_or_default();
                let key_ok = base64::engine::general_purpose::STANDARD.decode(&key).is_ok_and(|k| k.len() == 16);
                let bad_extensions = message.starts_with("Invalid Sec-WebSocket-Extensions header: ") && get("sec-websocket-extensions").is_some();
                is_websocket && get("sec-websocket-version").as_deref() == Some("13") && key_ok && !bad_extensions
            }
            Some(draft76) => {
                let keys_ok = !draft76 || {
                    let k1 = get("sec-websocket-key1").and_then(|k| crate::hixie_ref::key_number(&k));
                    let k2 = get("sec-websocket-key2").and_then(|k| crate::hixie_ref::key_number(&k));
                    k1.is_some() && k2.is_some()
                };
                let clean = |v: &str| !v.trim_matches(' ').bytes().any(|b| matches!(b, b'\r' | b'\n' | 0));
                is_websocket && keys_ok && get("origin").is_none_or(|o| clean(&o)) && clean(&url)
            }
        };
        assert!(!valid, "refused a valid request: {message}");
        return;
    }
    match draft {
        None => check_hybi_101(&mut conn, &out, &events, &request, &supported, deflate.as_ref(), is_websocket),
        Some(draft76) => check_hixie_101(&mut conn, &out, &events, &request, &url, draft76, is_websocket),
    }
}

/// The custom header lines a 101 must carry first: valid ones, first of a name wins
/// except the names HTTP lets repeat.
fn expected_custom(custom: &[(String, String)]) -> Vec<(String, String)> {
    let mut lines: Vec<(String, String)> = Vec::new();
    for (name, value) in custom {
        let (name, value) = (name.trim_matches(' '), value.trim_matches(' '));
        let repeatable = ["set-cookie", "set-cookie2", "warning", "www-authenticate"].contains(&name.to_ascii_lowercase().as_str());
        if repeatable || !lines.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            lines.push((name.to_owned(), value.to_owned()));
        }
    }
    lines
}

#[allow(clippy::too_many_arguments)]
fn check_hybi_101(conn: &mut Connection, out: &[u8], events: &[Event], request: &http_ref::Request, supported: &[String], deflate: Option<&DeflateConfig>, is_websocket: bool) {
    let get = |name: &str| joined(&request.headers, name);
    assert_eq!(events, [Event::Open], "a 101 opens the connection");
    assert_eq!(conn.ready_state(), 1);
    let end = head_end(out).expect("a 101 head");
    assert_eq!(end, out.len(), "one response, nothing after it");
    let (status, lines) = head_lines(out).unwrap_or_else(|e| panic!("malformed 101: {e}"));
    assert_eq!(status, "HTTP/1.1 101 Switching Protocols");
    assert!(is_websocket, "accepted a request that is not a WebSocket upgrade");
    assert_eq!(get("sec-websocket-version").as_deref(), Some("13"), "accepted another version");
    let key = get("sec-websocket-key").expect("accepted without a key");
    let decoded = base64::engine::general_purpose::STANDARD.decode(&key).expect("accepted a key that is not base64");
    assert_eq!(decoded.len(), 16, "accepted a key of {} bytes", decoded.len());

    let text = |v: &[u8]| String::from_utf8(v.to_vec()).expect("a UTF-8 header");
    let lines: Vec<(String, String)> = lines.iter().map(|(n, v)| (text(n), text(v))).collect();
    let custom = expected_custom(&request.custom);
    assert_eq!(&lines[..custom.len()], &custom[..], "custom headers first");
    let mut rest = lines[custom.len()..].iter();
    let mut next = |name: &str| rest.next().filter(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(next("Upgrade").as_deref(), Some("websocket"));
    assert_eq!(next("Connection").as_deref(), Some("Upgrade"));
    assert_eq!(next("Sec-WebSocket-Accept"), Some(accept_for(&key)), "Sec-WebSocket-Accept");
    let offered: Vec<String> = get("sec-websocket-protocol").map(|p| p.split(',').map(|s| s.trim().to_owned()).collect()).unwrap_or_default();
    let chosen = offered.iter().find(|p| supported.contains(p));
    let extension = match chosen {
        Some(protocol) => {
            assert_eq!(next("Sec-WebSocket-Protocol").as_ref(), Some(protocol), "the first offered protocol we support");
            next("Sec-WebSocket-Extensions")
        }
        None => match next("Sec-WebSocket-Protocol") {
            Some(p) => panic!("protocol {p:?} chosen from {offered:?}"),
            None => {
                let after = lines[custom.len() + 3..].first().cloned();
                after.filter(|(n, _)| n == "Sec-WebSocket-Extensions").map(|(_, v)| v)
            }
        },
    };
    let header_count = custom.len() + 3 + usize::from(chosen.is_some()) + usize::from(extension.is_some());
    assert_eq!(lines.len(), header_count, "unexpected header lines {lines:?}");
    assert_eq!(conn.protocol(), chosen.map(String::as_str));

    let offer_header = get("sec-websocket-extensions");
    let offers = offer_header.as_deref().and_then(deflate_offers);
    match (&extension, deflate) {
        (Some(_), None) => panic!("an extension accepted that the server does not enable"),
        (Some(response), Some(config)) => {
            let params = hybi_driver::deflate_params(response).expect("a permessage-deflate response");
            assert!(offer_acceptable(&params), "invalid response parameters {response:?}");
            assert!(!has(&params, "client_max_window_bits") || params.iter().any(|(n, v)| n == "client_max_window_bits" && v.is_some()), "client_max_window_bits without a value in a response");
            if let Some(offers) = offers {
                let chosen = offers.iter().find(|o| offer_acceptable(o)).expect("accepted an offer that was not acceptable");
                for name in ["server_max_window_bits", "client_max_window_bits"] {
                    if has(&params, name) {
                        assert!(has(chosen, name), "{name} answered but not offered");
                    }
                }
                if has(chosen, "server_no_context_takeover") || config.no_context_takeover {
                    assert!(has(&params, "server_no_context_takeover"), "server_no_context_takeover dropped");
                }
            }
        }
        (None, Some(_)) => {
            if let Some(offers) = offers {
                assert!(!offers.iter().any(|o| offer_acceptable(o)), "an acceptable permessage-deflate offer was declined: {offer_header:?}");
            }
        }
        (None, None) => {}
    }
}

fn has(params: &[(String, Option<String>)], name: &str) -> bool {
    params.iter().any(|(n, _)| n == name)
}

/// Whether `written` is `text` in Node's 'latin1' encoding: one byte per character, the
/// character itself up to U+00FF. Beyond that latin1 has no byte; any byte will do but
/// one that ends or cuts a line.
fn latin1_matches(text: &str, written: &[u8]) -> bool {
    text.chars().count() == written.len()
        && text.chars().zip(written).all(|(c, &b)| match u8::try_from(u32::from(c)) {
            Ok(byte) => byte == b,
            Err(_) => !matches!(b, b'\r' | b'\n' | 0),
        })
}

#[allow(clippy::too_many_arguments)]
fn check_hixie_101(conn: &mut Connection, out: &[u8], events: &[Event], request: &http_ref::Request, url: &str, draft76: bool, is_websocket: bool) {
    let get = |name: &str| joined(&request.headers, name);
    assert!(is_websocket, "accepted a request that is not a WebSocket upgrade");
    let end = head_end(out).expect("a 101 head");
    assert_eq!(end, out.len(), "one response, nothing after it");
    let (status, lines) = head_lines(out).unwrap_or_else(|e| panic!("malformed 101: {e}: {:?}", String::from_utf8_lossy(out)));
    let (expected_status, prefix) = if draft76 {
        ("HTTP/1.1 101 WebSocket Protocol Handshake", "Sec-")
    } else {
        ("HTTP/1.1 101 Web Socket Protocol Handshake", "")
    };
    assert_eq!(status, expected_status);
    let mut expected: Vec<(&str, String)> = vec![("Upgrade", "WebSocket".into()), ("Connection", "Upgrade".into())];
    let origin_name = format!("{prefix}WebSocket-Origin");
    let location_name = format!("{prefix}WebSocket-Location");
    if let Some(origin) = get("origin") {
        expected.push((&origin_name, origin.trim_matches(' ').to_owned()));
    }
    expected.push((&location_name, url.trim_matches(' ').to_owned()));
    let custom = expected_custom(&request.custom);
    for (name, value) in &custom {
        expected.push((name, value.clone()));
    }
    let same = |(name, value): &(&str, String), (got_name, got_value): &(Vec<u8>, Vec<u8>)| {
        if draft76 {
            latin1_matches(name, got_name) && latin1_matches(value, got_value)
        } else {
            name.as_bytes() == got_name && value.as_bytes() == got_value
        }
    };
    assert!(
        lines.len() == expected.len() && expected.iter().zip(&lines).all(|(e, g)| same(e, g)),
        "101 header lines {:?}, expected {expected:?}",
        String::from_utf8_lossy(out)
    );
    if !draft76 {
        assert_eq!(events, [Event::Open]);
        assert_eq!(conn.ready_state(), 1);
        return;
    }
    assert!(events.is_empty(), "hixie-76 opens only once the body arrives");
    let k1 = get("sec-websocket-key1").and_then(|k| crate::hixie_ref::key_number(&k)).expect("accepted an invalid Key1");
    let k2 = get("sec-websocket-key2").and_then(|k| crate::hixie_ref::key_number(&k)).expect("accepted an invalid Key2");
    let body = &request.body[..request.body.len().min(8)];
    conn.feed(body);
    if body.len() == 8 {
        assert_eq!(conn.drain_output(), Some(crate::hixie_ref::challenge_response(k1, k2, body)));
        assert_eq!(conn.drain_events(), [Event::Open]);
    } else {
        assert_eq!(conn.drain_output(), None);
        assert!(conn.drain_events().is_empty());
    }
}

/// What a client makes of a response's extensions header.
enum ClientVerdict {
    Accept(Agreed),
    Refuse,
    /// Quoted values: this reader does not take them apart.
    Unknown,
}

fn client_extension(header: Option<&str>, offered: bool) -> ClientVerdict {
    let Some(header) = header.map(|h| h.trim_matches([' ', '\t'])).filter(|h| !h.is_empty()) else {
        return ClientVerdict::Accept(Agreed::default());
    };
    if header.contains('"') {
        return ClientVerdict::Unknown;
    }
    // One response per offer: a second element is a second extension on RSV1.
    if !offered || header.contains(',') {
        return ClientVerdict::Refuse;
    }
    let Some(params) = hybi_driver::deflate_params(header) else { return ClientVerdict::Refuse };
    // We offered `client_max_window_bits` without a value and asked nothing of the
    // server: any valid response is acceptable except a bare client_max_window_bits.
    if !offer_acceptable(&params) || params.iter().any(|(n, v)| n == "client_max_window_bits" && v.is_none()) {
        return ClientVerdict::Refuse;
    }
    let bits = params.iter().find(|(n, _)| n == "server_max_window_bits").and_then(|(_, v)| v.as_deref()?.parse().ok());
    ClientVerdict::Accept(Agreed {
        peer: Some(PeerDeflate { window_bits: bits.unwrap_or(15), context_takeover: !has(&params, "server_no_context_takeover") }),
        own_takeover: Some(!has(&params, "client_no_context_takeover")),
    })
}

/// Input: two setup bytes as `client_feed` reads them, except that the `close()` bit
/// offers subprotocols instead, a split seed, then the server's response and frames.
pub fn client_response(data: &[u8]) {
    let [a, b, seed, input @ ..] = data else { return };
    let mut setup = Setup::from_bytes(*a, *b);
    let offer_protocols = setup.close_first;
    setup.close_first = false;
    let protocols: Vec<String> = if offer_protocols { vec!["chat".into(), "superchat".into()] } else { vec![] };
    let target = ClientTarget { path: "/chat".into(), host: "server.example.com".into(), protocols: protocols.clone(), ..Default::default() };
    let config = setup.deflate.then(DeflateConfig::default);
    let mut conn = Connection::client(&target, NONCE, Limits { max_length: setup.max_length }, Box::new(CountingMasks(7)), ClientExtensions::Native(config)).expect("a client");
    conn.start();
    conn.drain_output().expect("the upgrade request");

    let pieces = crate::chunks::split(input, *seed);
    let run = hybi_driver::drive(&mut conn, &pieces, setup.echo, setup.eof);
    let head = http_ref::read_head(input);
    let response = conn.take_response();
    let failed = |events: &[Event]| -> bool {
        match events {
            [Event::Error(ProtocolError::Handshake(m)), Event::Close { code: 1002, reason }, rest @ ..] => {
                assert!(m.starts_with(HANDSHAKE_PREFIX), "{m}");
                assert_eq!(m, reason);
                assert!(rest.is_empty(), "events after a failed handshake {rest:?}");
                assert_eq!(run.wire, b"", "output after a failed handshake");
                true
            }
            _ => false,
        }
    };
    let eof_close = Event::Close { code: 1006, reason: String::new() };
    let waiting = |events: &[Event]| -> bool { events.is_empty() || (setup.eof && events == [eof_close.clone()]) };
    match head {
        Head::NeedMore => {
            assert!(waiting(&run.events), "events before the head is complete: {:?}", run.events);
            assert!(response.is_none());
        }
        Head::Invalid => assert!(failed(&run.events) && response.is_none(), "invalid head not refused: {:?}", run.events),
        Head::InvalidOrNeedMore => assert!(response.is_none() && (waiting(&run.events) || failed(&run.events)), "{:?}", run.events),
        Head::Complete { status, headers, len } => {
            let response = response.expect("a complete head is kept");
            assert_eq!((response.status, &response.headers), (status, &headers), "response head");
            let get = |name: &str| http_ref::get(&headers, name);
            let protocol_ok = match get("sec-websocket-protocol").unwrap_or_default() {
                "" => true,
                chosen => protocols.iter().any(|p| p == chosen),
            };
            let verdict = client_extension(get("sec-websocket-extensions"), setup.deflate);
            let valid = status == 101
                && get("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
                && has_token(get("connection"), "upgrade")
                && get("sec-websocket-accept") == Some(ACCEPT)
                && protocol_ok;
            let agreed = match verdict {
                ClientVerdict::Accept(agreed) if valid => agreed,
                ClientVerdict::Unknown if valid => {
                    if !failed(&run.events) {
                        assert_eq!(run.events.first(), Some(&Event::Open), "{:?}", run.events);
                    }
                    return;
                }
                _ => {
                    assert!(failed(&run.events), "accepted an invalid response: {:?}", run.events);
                    return;
                }
            };
            assert_eq!(run.events.first(), Some(&Event::Open), "refused a valid response: {:?}", run.events);
            let chosen = get("sec-websocket-protocol").filter(|p| !p.is_empty());
            assert_eq!(conn.protocol(), chosen);
            setup.deflate = agreed.peer.is_some();
            let cfg = crate::ws_ref::RefConfig { expect_masked: false, deflate: agreed.peer, max_length: setup.max_length };
            let decoded = crate::ws_ref::decode(&input[len..], &cfg);
            hybi_driver::check(&conn, &run.events[1..], &run, &decoded, &Context { client: true, setup, agreed });
        }
    }
}

/// Input: a split seed, then the proxy's answer and what follows it.
pub fn proxy_connect(data: &[u8]) {
    let [seed, input @ ..] = data else { return };
    let mut tunnel = ProxyTunnel::new("example.com:443", "example.com", Some("Basic dTpw"), &[]).expect("a tunnel");
    assert!(tunnel.request().starts_with(b"CONNECT example.com:443 HTTP/1.1\r\n"));
    let pieces = crate::chunks::split(input, *seed);
    let mut progress = TunnelProgress::NeedMore;
    let mut fed = 0;
    for piece in &pieces {
        progress = tunnel.feed(piece);
        fed += piece.len();
        if progress != TunnelProgress::NeedMore {
            break;
        }
    }
    match (http_ref::read_head(input), progress) {
        (Head::NeedMore | Head::InvalidOrNeedMore, TunnelProgress::NeedMore) => {}
        (Head::Invalid | Head::InvalidOrNeedMore, TunnelProgress::Refused { status: 0 }) => {}
        (Head::Complete { status: 200, len, .. }, TunnelProgress::Connected(mut rest)) => {
            // The tunnel hands back what followed the head in the reads it was given.
            rest.extend_from_slice(&input[fed..]);
            assert_eq!(rest, &input[len..], "bytes after the proxy's head");
        }
        (Head::Complete { status, .. }, TunnelProgress::Refused { status: got }) if status != 200 => assert_eq!(got, status),
        (head, progress) => panic!("reference {head:?}, tunnel {progress:?}"),
    }
}
