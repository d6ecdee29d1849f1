//! The HTTP CONNECT request that opens a tunnel through a proxy (RFC 7231 section
//! 4.3.6), and reading the proxy's answer.

use super::headers::HeaderList;
use super::response::{HeadProgress, HeadReader};
use crate::core::error::UsageError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelProgress {
    NeedMore,
    /// The tunnel is open; the bytes after the proxy's head belong to the origin.
    Connected(Vec<u8>),
    /// The proxy refused (or answered nonsense).
    Refused { status: u16 },
}

#[derive(Debug)]
pub struct ProxyTunnel {
    request: Vec<u8>,
    reader: HeadReader,
}

impl ProxyTunnel {
    /// `authority` is `host:port` of the origin; `host` its Host header value;
    /// `authorization` the proxy's Basic credentials; `headers` the proxy `headers` option.
    pub fn new(
        authority: &str,
        host: &str,
        authorization: Option<&str>,
        headers: &[(String, String)],
    ) -> Result<Self, UsageError> {
        if authority.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(UsageError::InvalidHeader("CONNECT authority".to_owned()));
        }
        let mut list = HeaderList::default();
        list.set("Host", host)?;
        list.set("Connection", "keep-alive")?;
        list.set("Proxy-Connection", "keep-alive")?;
        if let Some(auth) = authorization {
            list.set("Proxy-Authorization", auth)?;
        }
        for (name, value) in headers {
            list.set(name, value)?;
        }
        let mut request = format!("CONNECT {authority} HTTP/1.1\r\n").into_bytes();
        list.write_into(&mut request);
        request.extend_from_slice(b"\r\n");
        Ok(ProxyTunnel { request, reader: HeadReader::default() })
    }

    pub fn request(&self) -> &[u8] {
        &self.request
    }

    pub fn feed(&mut self, input: &[u8]) -> TunnelProgress {
        match self.reader.feed(input) {
            HeadProgress::NeedMore => TunnelProgress::NeedMore,
            HeadProgress::Complete(head, rest) if head.status == 200 => TunnelProgress::Connected(rest),
            HeadProgress::Complete(head, _) => TunnelProgress::Refused { status: head.status },
            HeadProgress::Invalid(_) => TunnelProgress::Refused { status: 0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_connect_request_with_auth_and_headers() {
        let headers = vec![("User-Agent".to_owned(), "node".to_owned())];
        let tunnel = ProxyTunnel::new("example.com:443", "example.com", Some("Basic dTpw"), &headers).unwrap();
        assert_eq!(
            String::from_utf8(tunnel.request().to_vec()).unwrap(),
            "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic dTpw\r\nUser-Agent: node\r\n\r\n"
        );
    }

    #[test]
    fn opens_on_200_and_passes_following_bytes() {
        let mut tunnel = ProxyTunnel::new("a:80", "a", None, &[]).unwrap();
        assert_eq!(tunnel.feed(b"HTTP/1.1 200 Connection established\r\n"), TunnelProgress::NeedMore);
        assert_eq!(tunnel.feed(b"\r\nxyz"), TunnelProgress::Connected(b"xyz".to_vec()));
    }

    #[test]
    fn refuses_other_statuses() {
        let mut tunnel = ProxyTunnel::new("a:80", "a", None, &[]).unwrap();
        assert_eq!(tunnel.feed(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"), TunnelProgress::Refused { status: 407 });
    }
}
