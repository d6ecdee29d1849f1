//! The HTTP/1.1 upgrade (RFC 6455 section 4), both sides.

use base64::Engine;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::deflate;

/// Longest request or response head accepted before giving up on the peer.
const MAX_HEAD: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 section 4.2.2 step 5.4).
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// Reads from `stream` into `buf` until `parse` recognises a complete head; returns
/// what it parsed and the bytes that came after the head (early frames).
pub async fn read_head<S, T>(
    stream: &mut S,
    mut parse: impl FnMut(&[u8]) -> Result<Option<(T, usize)>, String>,
) -> Result<(T, Vec<u8>), String>
where
    S: AsyncRead + Unpin,
{
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|e| format!("handshake read: {e}"))?;
        if n == 0 {
            return Err("closed during handshake".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some((parsed, head_len)) = parse(&buf)? {
            return Ok((parsed, buf.split_off(head_len)));
        }
        if buf.len() > MAX_HEAD {
            return Err("handshake head too long".into());
        }
    }
}

fn header<'a>(headers: &'a [httparse::Header<'a>], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .and_then(|h| std::str::from_utf8(h.value).ok())
        .map(str::trim)
}

/// Comma-separated header values joined across repeated headers (RFC 9110 5.3).
fn joined_header(headers: &[httparse::Header<'_>], name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name))
        .filter_map(|h| std::str::from_utf8(h.value).ok())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

fn has_token(value: Option<&str>, token: &str) -> bool {
    value.is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// A client's opening handshake, ready to send, and the key the answer must match.
pub struct ClientHello {
    pub request: Vec<u8>,
    pub key: String,
}

pub fn client_hello(host: &str, port: u16, nonce: [u8; 16], offer_deflate: bool) -> ClientHello {
    let key = base64::engine::general_purpose::STANDARD.encode(nonce);
    let extensions = if offer_deflate { format!("Sec-WebSocket-Extensions: {}\r\n", deflate::CLIENT_OFFER) } else { String::new() };
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extensions}\r\n"
    );
    ClientHello { request: request.into_bytes(), key }
}

/// Parses the server's answer: `Ok(Some((deflate params if accepted, head length)))`.
pub fn parse_response(buf: &[u8], key: &str, offered_deflate: bool) -> Result<Option<(Option<deflate::Params>, usize)>, String> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("bad handshake response: {e}")),
    };
    if response.code != Some(101) {
        return Err(format!("handshake refused: status {:?}", response.code));
    }
    let headers = response.headers;
    if !has_token(header(headers, "upgrade"), "websocket") {
        return Err("101 without Upgrade: websocket".into());
    }
    if header(headers, "sec-websocket-accept") != Some(accept_key(key).as_str()) {
        return Err("wrong Sec-WebSocket-Accept".into());
    }
    let params = match joined_header(headers, "sec-websocket-extensions") {
        None => None,
        Some(_) if !offered_deflate => return Err("server accepted an extension we did not offer".into()),
        Some(value) => Some(deflate::parse_server_response(&value)?),
    };
    Ok(Some((params, head_len)))
}

/// What the server needs from a client's upgrade request.
pub struct UpgradeRequest {
    pub key: String,
    pub extensions: Option<String>,
}

/// Parses a client's upgrade request; extra headers (Origin, cookies...) are ignored.
pub fn parse_request(buf: &[u8]) -> Result<Option<(UpgradeRequest, usize)>, String> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let head_len = match request.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("bad request: {e}")),
    };
    if request.method != Some("GET") {
        return Err("not a GET".into());
    }
    let headers = request.headers;
    if !has_token(header(headers, "upgrade"), "websocket") || !has_token(header(headers, "connection"), "upgrade") {
        return Err("not a WebSocket upgrade".into());
    }
    if header(headers, "sec-websocket-version") != Some("13") {
        return Err("unsupported Sec-WebSocket-Version".into());
    }
    let key = header(headers, "sec-websocket-key").filter(|k| !k.is_empty()).ok_or("no Sec-WebSocket-Key")?;
    Ok(Some((UpgradeRequest { key: key.to_string(), extensions: joined_header(headers, "sec-websocket-extensions") }, head_len)))
}

pub fn response_101(key: &str, extensions: Option<&str>) -> Vec<u8> {
    let extensions = extensions.map(|e| format!("Sec-WebSocket-Extensions: {e}\r\n")).unwrap_or_default();
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{extensions}\r\n",
        accept_key(key)
    )
    .into_bytes()
}

pub const RESPONSE_400: &[u8] = b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_rfc_example() {
        assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn client_and_server_agree() {
        let hello = client_hello("127.0.0.1", 8080, [9; 16], true);
        let (request, used) = parse_request(&hello.request).unwrap().unwrap();
        assert_eq!(used, hello.request.len());
        let (_, reply) = deflate::accept_client_offer(request.extensions.as_deref().unwrap()).unwrap();
        let mut response = response_101(&request.key, Some(&reply));
        response.extend_from_slice(b"\x81\x00");
        let (params, used) = parse_response(&response, &hello.key, true).unwrap().unwrap();
        assert_eq!(params, Some(deflate::Params::default()));
        assert_eq!(&response[used..], b"\x81\x00");
        assert!(parse_response(&response[..10], &hello.key, true).unwrap().is_none());
        assert!(parse_response(&response, "other", true).is_err());
        assert!(parse_response(&response, &hello.key, false).is_err());
    }
}
