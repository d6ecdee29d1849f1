//! The opening handshake (RFC 6455 section 4): header helpers shared by both sides.

pub mod client;
pub mod extensions;
pub mod headers;
pub mod proxy;
pub mod response;
pub mod server;

use base64::Engine;
use sha1::{Digest, Sha1};

/// Section 1.3: the GUID appended to Sec-WebSocket-Key before hashing.
pub const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Sec-WebSocket-Accept for a given Sec-WebSocket-Key (section 4.2.2, step 5.4).
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(ACCEPT_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_rfc_example() {
        // Section 1.3.
        assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }
}
