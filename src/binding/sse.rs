//! EventSource encoding for lib/eventsource.js: one call per message.

use super::bytes::JsBytes;
use napi::Result;
use napi_derive::napi;

use super::connection::{pairs, usage};
use crate::core::handshake::headers::HeaderList;
use crate::core::sse;

/// The response head and `retry:` line. Throws on an invalid `headers` option.
#[napi(catch_unwind)]
pub fn event_source_head(headers: Vec<String>, retry_ms: f64) -> Result<JsBytes> {
    let mut list = HeaderList::default();
    for (name, value) in pairs(headers) {
        list.set(&name, &value).map_err(usage)?;
    }
    let retry_ms = if retry_ms.is_finite() && retry_ms >= 0.0 { retry_ms.floor() as u64 } else { 0 };
    Ok(JsBytes(sse::response_head(&list, retry_ms)))
}

/// One event; throws when `event` or `id` holds CR or LF.
#[napi(catch_unwind)]
pub fn event_source_message(data: String, event: Option<String>, id: Option<String>) -> Result<JsBytes> {
    Ok(JsBytes(sse::message(&data, event.as_deref(), id.as_deref()).map_err(usage)?))
}

#[napi(catch_unwind)]
pub fn event_source_ping() -> JsBytes {
    JsBytes(sse::PING.to_vec())
}
