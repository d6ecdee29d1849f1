//! Client side of the opening handshake (RFC 6455 sections 4.1 and 4.2.2): the upgrade
//! request, and the checks on the server's response that websocket-driver makes, with
//! its messages, plus a Connection header read as a token list.

use base64::Engine;

use super::accept_key;
use super::extensions;
use super::headers::HeaderList;
use super::response::ResponseHead;
use crate::core::deflate::params::{self, DeflateConfig, Negotiated, EXTENSION_NAME};
use crate::core::error::UsageError;

/// Where the client connects, as the JavaScript layer parsed the URL.
#[derive(Debug, Clone, Default)]
pub struct ClientTarget {
    /// Path and query, e.g. `/chat?room=1`.
    pub path: String,
    /// Host, with the port when it is not the scheme's default.
    pub host: String,
    pub protocols: Vec<String>,
    /// `Basic …` from user:password in the URL.
    pub authorization: Option<String>,
    /// The `headers` option.
    pub headers: Vec<(String, String)>,
}

pub const HANDSHAKE_ERROR_PREFIX: &str = "Error during WebSocket handshake: ";

/// Who offers and activates a client connection's extensions.
#[derive(Debug, Clone)]
pub enum ClientExtensions {
    /// The core: permessage-deflate, when configured.
    Native(Option<DeflateConfig>),
    /// The caller, which runs its own extensions: the Sec-WebSocket-Extensions offer
    /// to send. The caller then checks the server's answer itself.
    Caller(Option<String>),
}

#[derive(Debug)]
pub struct ClientHandshake {
    accept: String,
    protocols: Vec<String>,
    extensions: ClientExtensions,
    request: Vec<u8>,
}

/// What the server agreed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreed {
    pub protocol: Option<String>,
    pub deflate: Option<Negotiated>,
}

impl ClientHandshake {
    /// `nonce` is the 16 random bytes of Sec-WebSocket-Key.
    pub fn new(target: &ClientTarget, nonce: [u8; 16], extensions: ClientExtensions) -> Result<Self, UsageError> {
        let key = base64::engine::general_purpose::STANDARD.encode(nonce);
        // websocket-driver's order: its own headers first, then the `headers` option,
        // which cannot replace them (the first header of a name wins).
        let mut headers = HeaderList::default();
        headers.set("Host", &target.host)?;
        headers.set("Upgrade", "websocket")?;
        headers.set("Connection", "Upgrade")?;
        headers.set("Sec-WebSocket-Key", &key)?;
        headers.set("Sec-WebSocket-Version", "13")?;
        if !target.protocols.is_empty() {
            headers.set("Sec-WebSocket-Protocol", &target.protocols.join(", "))?;
        }
        if let Some(auth) = &target.authorization {
            headers.set("Authorization", auth)?;
        }
        for (name, value) in &target.headers {
            headers.set(name, value)?;
        }
        let offer = match &extensions {
            ClientExtensions::Native(deflate) => deflate.as_ref().map(params::client_offer),
            ClientExtensions::Caller(offer) => offer.clone(),
        };
        if let Some(offer) = offer.filter(|o| !o.is_empty()) {
            headers.set("Sec-WebSocket-Extensions", &offer)?;
        }
        if target.path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(UsageError::InvalidHeader("request path".to_owned()));
        }
        let mut request = format!("GET {} HTTP/1.1\r\n", target.path).into_bytes();
        headers.write_into(&mut request);
        request.extend_from_slice(b"\r\n");
        Ok(ClientHandshake { accept: accept_key(&key), protocols: target.protocols.clone(), extensions, request })
    }

    pub fn request(&self) -> &[u8] {
        &self.request
    }

    /// Checks the server's response. Err holds the message for the `error` event and
    /// close reason.
    pub fn validate(&self, head: &ResponseHead) -> Result<Agreed, String> {
        self.check(head).map_err(|reason| format!("{HANDSHAKE_ERROR_PREFIX}{reason}"))
    }

    fn check(&self, head: &ResponseHead) -> Result<Agreed, String> {
        if head.status != 101 {
            return Err(format!("Unexpected response code: {}", head.status));
        }
        match head.get("upgrade").unwrap_or_default() {
            "" => return Err("'Upgrade' header is missing".to_owned()),
            upgrade if !upgrade.eq_ignore_ascii_case("websocket") => {
                return Err("'Upgrade' header value is not 'WebSocket'".to_owned())
            }
            _ => {}
        }
        match head.get("connection").unwrap_or_default() {
            "" => return Err("'Connection' header is missing".to_owned()),
            // RFC 7230 section 6.1: Connection is a token list; `keep-alive, Upgrade` is valid.
            connection if !connection.split(',').any(|t| t.trim().eq_ignore_ascii_case("upgrade")) => {
                return Err("'Connection' header value is not 'Upgrade'".to_owned())
            }
            _ => {}
        }
        if head.get("sec-websocket-accept") != Some(self.accept.as_str()) {
            return Err("Sec-WebSocket-Accept mismatch".to_owned());
        }
        let protocol = match head.get("sec-websocket-protocol").unwrap_or_default() {
            "" => None,
            chosen if self.protocols.iter().any(|p| p == chosen) => Some(chosen.to_owned()),
            _ => return Err("Sec-WebSocket-Protocol mismatch".to_owned()),
        };
        let deflate = match (&self.extensions, head.get("sec-websocket-extensions")) {
            (ClientExtensions::Native(config), Some(header)) => self.activate(config.as_ref(), header)?,
            _ => None,
        };
        Ok(Agreed { protocol, deflate })
    }

    /// websocket-extensions' `activate`: every response must name an extension we
    /// offered, at most once per RSV bit, with parameters its offer allows.
    fn activate(&self, deflate: Option<&DeflateConfig>, header: &str) -> Result<Option<Negotiated>, String> {
        let responses = extensions::parse(header).ok_or_else(|| extensions::invalid_header_message(header))?;
        let mut negotiated = None;
        for response in &responses {
            let config = match deflate {
                Some(config) if response.name == EXTENSION_NAME => config,
                _ => return Err(format!("Server sent an extension response for unknown extension \"{}\"", response.name)),
            };
            if negotiated.is_some() {
                return Err(format!("Server sent two extension responses that use the RSV1 bit: \"{EXTENSION_NAME}\" and \"{EXTENSION_NAME}\""));
            }
            negotiated = Some(params::client_activate(config, response).ok_or_else(|| {
                format!("Server sent unacceptable extension parameters: {}", extensions::serialize(response))
            })?);
        }
        Ok(negotiated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6455 section 1.3's example nonce.
    const NONCE: [u8; 16] = *b"the sample nonce";

    fn target() -> ClientTarget {
        ClientTarget { path: "/chat".into(), host: "server.example.com".into(), protocols: vec!["chat".into(), "superchat".into()], ..Default::default() }
    }

    fn response(extra: &[(&str, &str)]) -> ResponseHead {
        let mut headers: Vec<(String, String)> = vec![
            ("upgrade".into(), "websocket".into()),
            ("connection".into(), "Upgrade".into()),
            ("sec-websocket-accept".into(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".into()),
        ];
        for (name, value) in extra {
            headers.retain(|(n, _)| n != name);
            if !value.is_empty() {
                headers.push(((*name).into(), (*value).into()));
            }
        }
        ResponseHead { status: 101, headers }
    }

    #[test]
    fn writes_rfc_example_request() {
        let handshake = ClientHandshake::new(&target(), NONCE, ClientExtensions::Native(None)).unwrap();
        assert_eq!(
            String::from_utf8(handshake.request().to_vec()).unwrap(),
            "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n"
        );
    }

    #[test]
    fn custom_headers_follow_and_cannot_replace_the_handshake_headers() {
        let mut t = target();
        t.headers = vec![("Origin".into(), "http://example.com".into()), ("Upgrade".into(), "h2c".into())];
        t.authorization = Some("Basic dTpw".into());
        let text = String::from_utf8(ClientHandshake::new(&t, NONCE, ClientExtensions::Native(None)).unwrap().request().to_vec()).unwrap();
        assert!(text.ends_with("Sec-WebSocket-Protocol: chat, superchat\r\nAuthorization: Basic dTpw\r\nOrigin: http://example.com\r\n\r\n"));
        assert!(!text.contains("h2c"));
    }

    #[test]
    fn accepts_valid_response_and_keep_alive_upgrade_connection() {
        let handshake = ClientHandshake::new(&target(), NONCE, ClientExtensions::Native(None)).unwrap();
        let agreed = |protocol: Option<&str>| Ok(Agreed { protocol: protocol.map(str::to_owned), deflate: None });
        assert_eq!(handshake.validate(&response(&[])), agreed(None));
        assert_eq!(handshake.validate(&response(&[("connection", "keep-alive, Upgrade")])), agreed(None));
        assert_eq!(handshake.validate(&response(&[("sec-websocket-protocol", "superchat")])), agreed(Some("superchat")));
    }

    #[test]
    fn refuses_invalid_responses_with_driver_messages() {
        let handshake = ClientHandshake::new(&target(), NONCE, ClientExtensions::Native(None)).unwrap();
        let cases: Vec<(ResponseHead, &str)> = vec![
            (ResponseHead { status: 404, headers: vec![] }, "Unexpected response code: 404"),
            (response(&[("upgrade", "")]), "'Upgrade' header is missing"),
            (response(&[("upgrade", "h2c")]), "'Upgrade' header value is not 'WebSocket'"),
            (response(&[("connection", "")]), "'Connection' header is missing"),
            (response(&[("connection", "keep-alive")]), "'Connection' header value is not 'Upgrade'"),
            (response(&[("sec-websocket-accept", "wrong")]), "Sec-WebSocket-Accept mismatch"),
            (response(&[("sec-websocket-protocol", "xmpp")]), "Sec-WebSocket-Protocol mismatch"),
            (response(&[("sec-websocket-extensions", "permessage-deflate")]), "Server sent an extension response for unknown extension \"permessage-deflate\""),
            (response(&[("sec-websocket-extensions", "a;")]), "Invalid Sec-WebSocket-Extensions header: a;"),
        ];
        for (head, message) in cases {
            assert_eq!(handshake.validate(&head), Err(format!("Error during WebSocket handshake: {message}")));
        }
    }

    #[test]
    fn offers_and_activates_permessage_deflate() {
        let handshake = ClientHandshake::new(&target(), NONCE, ClientExtensions::Native(Some(DeflateConfig::default()))).unwrap();
        assert!(String::from_utf8(handshake.request().to_vec()).unwrap().ends_with("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"));
        let agreed = handshake.validate(&response(&[("sec-websocket-extensions", "permessage-deflate; client_max_window_bits=12")])).unwrap();
        assert_eq!(agreed.deflate.map(|n| n.own_window_bits), Some(12));
        assert_eq!(
            handshake.validate(&response(&[("sec-websocket-extensions", "permessage-deflate; client_max_window_bits")])),
            Err("Error during WebSocket handshake: Server sent unacceptable extension parameters: permessage-deflate; client_max_window_bits".into())
        );
        assert_eq!(
            handshake.validate(&response(&[("sec-websocket-extensions", "permessage-deflate, permessage-deflate")])),
            Err("Error during WebSocket handshake: Server sent two extension responses that use the RSV1 bit: \"permessage-deflate\" and \"permessage-deflate\"".into())
        );
    }

    #[test]
    fn refuses_header_injection_in_options() {
        let mut t = target();
        t.headers = vec![("X".into(), "1\r\nEvil: 1".into())];
        assert!(ClientHandshake::new(&t, NONCE, ClientExtensions::Native(None)).is_err());
        let mut t = target();
        t.path = "/a b".into();
        assert!(ClientHandshake::new(&t, NONCE, ClientExtensions::Native(None)).is_err());
    }
}
