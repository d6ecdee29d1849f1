//! Server side of the opening handshake (RFC 6455 section 4.2): checks the client's
//! upgrade request, picks a subprotocol the way websocket-driver does, and writes the
//! `101 Switching Protocols` response or a `400 Bad Request` refusal.

use base64::Engine;

use super::accept_key;
use super::extensions::{self, ExtensionOffer};
use crate::core::deflate::params::{self, DeflateConfig, Negotiated};
use super::headers::{HeaderList, RequestHeaders};

/// The upgrade request, as Node's HTTP parser delivered it.
#[derive(Debug, Clone, Default)]
pub struct UpgradeRequest {
    pub method: String,
    pub headers: RequestHeaders,
}

/// The only protocol version this side speaks (section 4.4).
pub const SUPPORTED_VERSION: &str = "13";

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Accepted { response: Vec<u8>, protocol: Option<String>, deflate: Option<Negotiated> },
    Refused { response: Vec<u8>, message: String },
}

/// websocket-driver's `isWebSocket`: a GET whose Connection header lists `upgrade` and
/// whose Upgrade header is `websocket`.
pub fn is_websocket(request: &UpgradeRequest) -> bool {
    request.method == "GET"
        && request.headers.has_token("connection", "upgrade")
        && request.headers.get("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
}

/// Picks the first protocol the client offered that the server supports.
pub fn select_protocol(offered: Option<&str>, supported: &[String]) -> Option<String> {
    offered?
        .split(',')
        .map(str::trim)
        .find(|p| supported.iter().any(|s| s == p))
        .map(str::to_owned)
}

/// Who answers a server connection's extension offers.
#[derive(Debug, Clone, Copy)]
pub enum ServerExtensions<'a> {
    /// The core: permessage-deflate, when the server offers it.
    Native(Option<&'a DeflateConfig>),
    /// The caller, which negotiated its own extensions: the Sec-WebSocket-Extensions
    /// response to send (if any), or the reason to refuse the request.
    Caller(&'a Result<Option<String>, String>),
}

/// Runs the handshake. `custom` holds the `headers` option, already validated; they
/// come first in the response, as websocket-driver writes them.
pub fn respond(request: &UpgradeRequest, protocols: &[String], custom: &HeaderList, extensions: ServerExtensions) -> Outcome {
    match check(request) {
        Err(refusal) => refuse(refusal),
        Ok((key, offers)) => {
            let protocol = select_protocol(request.headers.get("sec-websocket-protocol").as_deref(), protocols);
            let accepted = match extensions {
                ServerExtensions::Native(deflate) => deflate
                    .and_then(|config| params::server_accept(config, &offers))
                    .map(|(negotiated, header)| (Some(negotiated), header)),
                ServerExtensions::Caller(Err(message)) => return refuse(Refusal::plain(message.clone())),
                ServerExtensions::Caller(Ok(header)) => header.clone().map(|header| (None, header)),
            };
            let mut headers = custom.clone();
            // The names and values below are constants or base64 and protocol tokens the
            // client sent; none can fail the header check, but never write one that did.
            let ok = headers.set("Upgrade", "websocket").is_ok()
                && headers.set("Connection", "Upgrade").is_ok()
                && headers.set("Sec-WebSocket-Accept", &accept_key(&key)).is_ok()
                && protocol.as_deref().is_none_or(|p| headers.set("Sec-WebSocket-Protocol", p).is_ok())
                && accepted.as_ref().is_none_or(|(_, ext)| headers.set("Sec-WebSocket-Extensions", ext).is_ok());
            if !ok {
                return refuse(Refusal::plain("Invalid Sec-WebSocket-Protocol header".to_owned()));
            }
            let mut response = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
            headers.write_into(&mut response);
            response.extend_from_slice(b"\r\n");
            Outcome::Accepted { response, protocol, deflate: accepted.and_then(|(negotiated, _)| negotiated) }
        }
    }
}

struct Refusal {
    message: String,
    /// Section 4.4: a version mismatch is answered with the versions we speak.
    advertise_version: bool,
}

impl Refusal {
    fn plain(message: String) -> Self {
        Refusal { message, advertise_version: false }
    }
}

/// Validates the request and returns its Sec-WebSocket-Key and extension offers.
fn check(request: &UpgradeRequest) -> Result<(String, Vec<ExtensionOffer>), Refusal> {
    if !is_websocket(request) {
        return Err(Refusal::plain("Not a WebSocket request".to_owned()));
    }
    let version = request.headers.get("sec-websocket-version");
    if version.as_deref() != Some(SUPPORTED_VERSION) {
        let shown = version.unwrap_or_else(|| "undefined".to_owned());
        return Err(Refusal { message: format!("Unsupported WebSocket version: {shown}"), advertise_version: true });
    }
    let key = request
        .headers
        .get("sec-websocket-key")
        .ok_or_else(|| Refusal::plain("Missing handshake request header: Sec-WebSocket-Key".to_owned()))?;
    // Section 4.1: the key is a randomly chosen 16-byte value, base64-encoded.
    let decoded = base64::engine::general_purpose::STANDARD.decode(key.as_bytes());
    if decoded.map(|k| k.len()) != Ok(16) {
        return Err(Refusal::plain("Invalid Sec-WebSocket-Key header: it must be 16 bytes, base64-encoded".to_owned()));
    }
    let offers = match request.headers.get("sec-websocket-extensions") {
        None => Vec::new(),
        Some(header) => {
            extensions::parse(&header).ok_or_else(|| Refusal::plain(extensions::invalid_header_message(&header)))?
        }
    };
    Ok((key, offers))
}

fn refuse(refusal: Refusal) -> Outcome {
    let body = refusal.message.as_bytes();
    let mut response = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n".to_vec();
    response.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    if refusal.advertise_version {
        response.extend_from_slice(b"Sec-WebSocket-Version: 13\r\n");
    }
    response.extend_from_slice(b"\r\n");
    response.extend_from_slice(body);
    Outcome::Refused { response, message: refusal.message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(extra: &[(&str, &str)]) -> UpgradeRequest {
        let mut pairs: Vec<(String, String)> = vec![
            ("Host".into(), "example.com".into()),
            ("Upgrade".into(), "websocket".into()),
            ("Connection".into(), "Upgrade".into()),
            ("Sec-WebSocket-Key".into(), "dGhlIHNhbXBsZSBub25jZQ==".into()),
            ("Sec-WebSocket-Version".into(), "13".into()),
        ];
        for (name, value) in extra {
            pairs.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            if !value.is_empty() {
                pairs.push(((*name).into(), (*value).into()));
            }
        }
        UpgradeRequest { method: "GET".into(), headers: RequestHeaders::new(pairs) }
    }

    fn refused_with(outcome: Outcome) -> (String, String) {
        match outcome {
            Outcome::Refused { response, message } => (String::from_utf8(response).unwrap(), message),
            Outcome::Accepted { .. } => panic!("expected a refusal"),
        }
    }

    #[test]
    fn accepts_rfc_example_request() {
        let outcome = respond(&request(&[]), &[], &HeaderList::default(), ServerExtensions::Native(None));
        let expected = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        assert_eq!(outcome, Outcome::Accepted { response: expected.as_bytes().to_vec(), protocol: None, deflate: None });
    }

    #[test]
    fn custom_headers_come_first() {
        let mut custom = HeaderList::default();
        custom.set("X-Powered-By", "native").unwrap();
        let Outcome::Accepted { response, .. } = respond(&request(&[]), &[], &custom, ServerExtensions::Native(None)) else { panic!() };
        assert!(String::from_utf8(response).unwrap().starts_with("HTTP/1.1 101 Switching Protocols\r\nX-Powered-By: native\r\nUpgrade"));
    }

    #[test]
    fn selects_first_offered_protocol_the_server_supports() {
        let supported = vec!["amqp".to_owned(), "irc".to_owned()];
        let Outcome::Accepted { response, protocol, .. } = respond(&request(&[("Sec-WebSocket-Protocol", "xmpp, irc, amqp")]), &supported, &HeaderList::default(), ServerExtensions::Native(None)) else { panic!() };
        assert_eq!(protocol.as_deref(), Some("irc"));
        assert!(String::from_utf8(response).unwrap().contains("Sec-WebSocket-Protocol: irc\r\n"));
        assert_eq!(select_protocol(Some("xmpp"), &supported), None);
        assert_eq!(select_protocol(None, &supported), None);
    }

    #[test]
    fn refuses_non_websocket_request() {
        let (response, message) = refused_with(respond(&request(&[("Upgrade", "h2c")]), &[], &HeaderList::default(), ServerExtensions::Native(None)));
        assert_eq!(message, "Not a WebSocket request");
        assert_eq!(response, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 23\r\n\r\nNot a WebSocket request");
    }

    #[test]
    fn refuses_unsupported_version_and_advertises_13() {
        let (response, message) = refused_with(respond(&request(&[("Sec-WebSocket-Version", "8")]), &[], &HeaderList::default(), ServerExtensions::Native(None)));
        assert_eq!(message, "Unsupported WebSocket version: 8");
        assert!(response.contains("\r\nSec-WebSocket-Version: 13\r\n\r\n"));
        let (_, message) = refused_with(respond(&request(&[("Sec-WebSocket-Version", "")]), &[], &HeaderList::default(), ServerExtensions::Native(None)));
        assert_eq!(message, "Unsupported WebSocket version: undefined");
    }

    #[test]
    fn negotiates_permessage_deflate_after_the_protocol() {
        let config = DeflateConfig::default();
        let request = request(&[("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"), ("Sec-WebSocket-Protocol", "chat")]);
        let Outcome::Accepted { response, deflate, .. } = respond(&request, &["chat".to_owned()], &HeaderList::default(), ServerExtensions::Native(Some(&config))) else { panic!() };
        assert!(String::from_utf8(response).unwrap().ends_with("Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"));
        assert!(deflate.is_some());
        let Outcome::Accepted { deflate, .. } = respond(&request, &[], &HeaderList::default(), ServerExtensions::Native(None)) else { panic!() };
        assert_eq!(deflate, None, "not offered by the server");
    }

    #[test]
    fn refuses_malformed_extensions_header() {
        let (_, message) = refused_with(respond(&request(&[("Sec-WebSocket-Extensions", "permessage-deflate; x=")]), &[], &HeaderList::default(), ServerExtensions::Native(None)));
        assert_eq!(message, "Invalid Sec-WebSocket-Extensions header: permessage-deflate; x=");
    }

    #[test]
    fn refuses_missing_or_malformed_key() {
        let (_, message) = refused_with(respond(&request(&[("Sec-WebSocket-Key", "")]), &[], &HeaderList::default(), ServerExtensions::Native(None)));
        assert_eq!(message, "Missing handshake request header: Sec-WebSocket-Key");
        for bad in ["abc", "AAAAAAAAAAAAAAAAAAAA", "dGhlIHNhbXBsZSBub25j", "dGhlIHNhbXBsZSBub25jZQ==, dGhlIHNhbXBsZSBub25jZQ=="] {
            let (_, message) = refused_with(respond(&request(&[("Sec-WebSocket-Key", bad)]), &[], &HeaderList::default(), ServerExtensions::Native(None)));
            assert!(message.starts_with("Invalid Sec-WebSocket-Key header"), "{bad}");
        }
    }

    #[test]
    fn hostile_protocol_header_is_handled_in_linear_time() {
        // CVE-2021-32640: `b` + many spaces + `x` made ws's protocol regex backtrack.
        let header = format!("b{}x", " ".repeat(1_000_000));
        let started = std::time::Instant::now();
        let supported = ["b".to_owned()];
        let outcome = respond(&request(&[("Sec-WebSocket-Protocol", &header)]), &supported, &HeaderList::default(), ServerExtensions::Native(None));
        assert!(matches!(outcome, Outcome::Accepted { protocol: None, .. }));
        assert_eq!(select_protocol(Some(&format!("b,{}x", " ".repeat(1_000_000))), &supported), Some("b".to_owned()));
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "took {:?}", started.elapsed());
    }
}
