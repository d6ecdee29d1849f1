//! `#[napi]` class around `core::handshake::proxy::ProxyTunnel`, for WebSocket.Client's
//! `proxy` option.

use napi::bindgen_prelude::Buffer;
use napi::Result;
use napi_derive::napi;

use super::connection::{pairs, usage};
use crate::core::handshake::proxy::{ProxyTunnel, TunnelProgress};

/// The proxy's answer so far: `state` is 'pending', 'connected' or 'refused'.
#[napi(object, object_from_js = false)]
pub struct TunnelState {
    pub state: &'static str,
    /// Bytes after the proxy's head, which belong to the origin connection.
    pub rest: Option<Buffer>,
    pub status_code: Option<u32>,
}

#[napi]
pub struct NativeProxyTunnel {
    inner: ProxyTunnel,
}

#[napi]
impl NativeProxyTunnel {
    #[napi(constructor, catch_unwind)]
    pub fn new(authority: String, host: String, authorization: Option<String>, headers: Vec<String>) -> Result<Self> {
        let inner = ProxyTunnel::new(&authority, &host, authorization.as_deref(), &pairs(headers)).map_err(usage)?;
        Ok(NativeProxyTunnel { inner })
    }

    /// The CONNECT request to write to the proxy.
    #[napi(catch_unwind)]
    pub fn request(&self) -> Buffer {
        self.inner.request().to_vec().into()
    }

    #[napi(catch_unwind)]
    pub fn feed(&mut self, chunk: &[u8]) -> TunnelState {
        match self.inner.feed(chunk) {
            TunnelProgress::NeedMore => TunnelState { state: "pending", rest: None, status_code: None },
            TunnelProgress::Connected(rest) => TunnelState { state: "connected", rest: Some(rest.into()), status_code: Some(200) },
            TunnelProgress::Refused { status } => {
                TunnelState { state: "refused", rest: None, status_code: Some(u32::from(status)) }
            }
        }
    }
}
