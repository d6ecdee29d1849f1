//! The functions around `core::Connection`: one call per socket read (`feed`) and one
//! per send. Every export catches panics, so a bug surfaces as a JS exception that the
//! JavaScript layer turns into `error` + `close` 1011, never as a crash.

use napi::{Error, Result, Status};
use napi_derive::napi;

use super::batch::{drain, Batch, ReadBatch};
use super::buffer_arg::BufferArg;
use super::handle::{ConnectionArg, ConnectionHandle};
use super::bytes::JsBytes;
use super::text::JsText;
use super::random::{nonce, OsMasks};
use crate::core::handshake::client::{ClientExtensions, ClientTarget};
use crate::core::handshake::headers::RequestHeaders;
use crate::core::handshake::server::{self, UpgradeRequest};
use crate::core::hybi::SendStatus;
use crate::core::limits::{Limits, DEFAULT_MAX_LENGTH};
use crate::core::deflate::DeflateConfig;
use crate::core::error::invalid_close_code_message;
use crate::core::Connection;

pub(crate) fn usage(error: impl std::fmt::Display) -> Error {
    Error::new(Status::InvalidArg, error.to_string())
}

/// Pairs up a flat `[name, value, name, value, …]` list, as Node's `rawHeaders` is.
pub(crate) fn pairs(flat: Vec<String>) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(flat.len() / 2);
    let mut iter = flat.into_iter();
    while let (Some(name), Some(value)) = (iter.next(), iter.next()) {
        out.push((name, value));
    }
    out
}

/// The options of `deflate.configure(...)`, as JS found them on the extension object.
#[napi(object)]
pub struct DeflateOptions {
    pub level: Option<i32>,
    pub mem_level: Option<i32>,
    pub strategy: Option<i32>,
    pub no_context_takeover: Option<bool>,
    pub max_window_bits: Option<i32>,
    pub request_no_context_takeover: Option<bool>,
    pub request_max_window_bits: Option<i32>,
}

/// Converts JS numbers to the core's ranges; out-of-range values are caught by
/// `DeflateConfig::validate` with the option's name.
pub(crate) fn deflate_config(options: Option<DeflateOptions>) -> Option<DeflateConfig> {
    let options = options?;
    let as_u32 = |v: Option<i32>| v.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    let as_bits = |v: Option<i32>| v.map(|n| u8::try_from(n).unwrap_or(u8::MAX));
    Some(DeflateConfig {
        // zlib's Z_DEFAULT_COMPRESSION is -1.
        level: options.level.filter(|&l| l != -1).map(|l| u32::try_from(l).unwrap_or(u32::MAX)),
        mem_level: as_u32(options.mem_level),
        strategy: as_u32(options.strategy),
        no_context_takeover: options.no_context_takeover.unwrap_or(false),
        max_window_bits: as_bits(options.max_window_bits),
        request_no_context_takeover: options.request_no_context_takeover.unwrap_or(false),
        request_max_window_bits: as_bits(options.request_max_window_bits),
    })
}

pub(crate) fn limits(max_length: Option<f64>) -> Result<Limits> {
    let max_length = match max_length {
        None => DEFAULT_MAX_LENGTH,
        Some(n) if n.is_finite() && n >= 0.0 => n.floor() as u64,
        Some(n) => return Err(usage(format!("maxLength must be a non-negative number, got {n}"))),
    };
    Ok(Limits { max_length })
}

/// websocket-driver's `isWebSocket`, on the request's method and raw headers.
#[napi(catch_unwind)]
pub fn is_websocket(method: String, raw_headers: Vec<String>) -> bool {
    server::is_websocket(&UpgradeRequest { method, headers: RequestHeaders::new(pairs(raw_headers)) })
}

/// A message's bytes as text, or `null` when they are not valid UTF-8 (for messages
/// that passed through JavaScript extensions, which the core could not check).
#[napi(catch_unwind)]
pub fn decode_text(data: BufferArg) -> Option<String> {
    std::str::from_utf8(data.as_slice()).ok().map(str::to_owned)
}

fn close_code(code: Option<f64>) -> Result<Option<u16>> {
    match code {
        None => Ok(None),
        Some(n) if n.fract() == 0.0 && (0.0..=65535.0).contains(&n) => Ok(Some(n as u16)),
        Some(n) => Err(usage(invalid_close_code_message(n))),
    }
}

/// Throws what `close(code, reason)` would throw, without closing anything: for a close
/// that must wait until earlier messages are sent.
#[napi(catch_unwind)]
pub fn check_close(code: Option<f64>, reason: String) -> Result<()> {
    let code = close_code(code)?.unwrap_or(crate::core::close::NORMAL_CLOSURE);
    crate::core::close::check_app_code(code).map_err(usage)?;
    crate::core::close::check_reason(&reason).map_err(usage)
}

/// What a send did: the bytes to write (empty when the send was queued until open), or
/// `null` when the connection is closing or closed.
fn sent(conn: &mut Connection, status: SendStatus) -> Option<JsBytes> {
    match status {
        SendStatus::Refused => None,
        SendStatus::Queued | SendStatus::Written => Some(JsBytes(conn.drain_output().unwrap_or_default())),
    }
}

/// Sends a text message, V8 encoding the string straight into the frame: copying it,
/// when the caller says it is ASCII.
fn send_js_text(conn: &mut Connection, text: &JsText, ascii: bool) -> Result<SendStatus> {
    let len = text.encoded_len(ascii)?;
    conn.send_with(true, len, |out| text.append_encoded(out, len, ascii))
}

/// What a queued send did, for `queueText`/`queueBinary`.
fn queued(conn: &Connection, status: SendStatus) -> i64 {
    match status {
        SendStatus::Refused => -1,
        SendStatus::Queued => 0,
        SendStatus::Written => i64::try_from(conn.output_len()).unwrap_or(i64::MAX),
    }
}

/// What a send into the caller's pool did, for `sendTextInto`/`sendBinaryInto`: the
/// length of the frame now at `offset` in `pool`, 0 when the message was queued until
/// open, -1 when the connection is closing or closed, or -2 when the output did not
/// fit there and waits for `takeOutput`.
fn pooled(conn: &mut Connection, status: SendStatus, pool: &mut BufferArg, offset: u32) -> i64 {
    match status {
        SendStatus::Refused => -1,
        SendStatus::Queued => 0,
        SendStatus::Written => {
            let room = usize::try_from(offset).ok().and_then(|offset| pool.tail_mut(offset));
            match room.and_then(|room| conn.drain_output_into(room)) {
                Some(len) => i64::try_from(len).unwrap_or(-2),
                None => -2,
            }
        }
    }
}

// The connection's functions: `lib/connection.js` wraps them as the methods of its
// `NativeConnection` class, the handle as their receiver (see `handle.rs`).

/// A server connection for an upgrade request to `url`. Throws on an invalid `headers`
/// option.
#[napi(catch_unwind)]
pub fn connection_server(
    method: String,
    raw_headers: Vec<String>,
    url: String,
    protocols: Vec<String>,
    headers: Vec<String>,
    max_length: Option<f64>,
    deflate: Option<DeflateOptions>,
) -> Result<ConnectionHandle> {
    let request = UpgradeRequest { method, headers: RequestHeaders::new(pairs(raw_headers)) };
    let conn = Connection::server(request, &url, protocols, &pairs(headers), limits(max_length)?, deflate_config(deflate))
        .map_err(usage)?;
    Ok(ConnectionHandle(conn))
}

/// A client connection. `path` and `host` come from the URL as JS parsed it;
/// `authorization` from its user:password. With `callerExtensions` the extensions run
/// in JavaScript and `offer` is their Sec-WebSocket-Extensions offer, if any: after the
/// response arrives the connection waits for `activateExtensions` or `fail`.
/// Otherwise `deflate` configures the native permessage-deflate, if any.
#[napi(catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn connection_client(
    path: String,
    host: String,
    protocols: Vec<String>,
    headers: Vec<String>,
    authorization: Option<String>,
    max_length: Option<f64>,
    deflate: Option<DeflateOptions>,
    caller_extensions: bool,
    offer: Option<String>,
) -> Result<ConnectionHandle> {
    let target = ClientTarget { path, host, protocols, authorization, headers: pairs(headers) };
    let extensions = if caller_extensions {
        ClientExtensions::Caller(offer)
    } else {
        ClientExtensions::Native(deflate_config(deflate))
    };
    let masks = Box::new(OsMasks::new());
    let conn = Connection::client(&target, nonce()?, limits(max_length)?, masks, extensions).map_err(usage)?;
    Ok(ConnectionHandle(conn))
}

/// Server, extensions run in JavaScript: the answer to the client's offers, given
/// before `start`. `refusal` refuses the request with that message.
#[napi(catch_unwind)]
pub fn connection_answer_extensions(mut conn: ConnectionArg, header: Option<String>, rsv: u32, refusal: Option<String>) -> Result<()> {
    let rsv = u8::try_from(rsv).unwrap_or(0);
    conn.with(|conn| {
        conn.answer_extensions(match refusal {
            Some(message) => Err(message),
            None => Ok((header, rsv)),
        })
    })
}

/// Client, extensions run in JavaScript: they accepted the server's answer.
#[napi(catch_unwind)]
pub fn connection_activate_extensions(mut conn: ConnectionArg, rsv: u32) -> Result<Batch> {
    conn.with(|conn| {
        conn.activate_extensions(u8::try_from(rsv).unwrap_or(0));
        drain(conn)
    })
}

/// Fails the connection with `code`, e.g. when an extension could not process a
/// message: `error`, a close frame when open, then `close`.
#[napi(catch_unwind)]
pub fn connection_fail(mut conn: ConnectionArg, code: u32, reason: String) -> Result<Batch> {
    conn.with(|conn| {
        conn.fail(u16::try_from(code).unwrap_or(1011), reason);
        drain(conn)
    })
}

/// Sends a message the JavaScript extensions produced, as one frame with their
/// reserved bits; `null` when the connection is not open.
#[napi(catch_unwind)]
pub fn connection_send_frame(mut conn: ConnectionArg, text: bool, rsv: u32, data: BufferArg) -> Result<Option<JsBytes>> {
    conn.with(|conn| {
        let status = conn.send_raw(text, u8::try_from(rsv).unwrap_or(0), data.as_slice());
        sent(conn, status)
    })
}

/// Starts the opening handshake: answers it (server) or writes the request (client).
#[napi(catch_unwind)]
pub fn connection_start(mut conn: ConnectionArg) -> Result<Batch> {
    conn.with(|conn| {
        conn.start();
        drain(conn)
    })
}

/// Processes one socket read; the Buffer is borrowed, not copied.
#[napi(catch_unwind)]
pub fn connection_feed(mut conn: ConnectionArg, chunk: BufferArg) -> Result<ReadBatch> {
    conn.with(|conn| {
        conn.feed(chunk.as_slice());
        ReadBatch(drain(conn))
    })
}

/// The TCP connection ended.
#[napi(catch_unwind)]
pub fn connection_feed_eof(mut conn: ConnectionArg) -> Result<Batch> {
    conn.with(|conn| {
        conn.feed_eof();
        drain(conn)
    })
}

#[napi(catch_unwind)]
pub fn connection_send_text(mut conn: ConnectionArg, text: JsText, ascii: bool) -> Result<Option<JsBytes>> {
    conn.with(|conn| {
        let status = send_js_text(conn, &text, ascii)?;
        Ok(sent(conn, status))
    })?
}

#[napi(catch_unwind)]
pub fn connection_send_binary(mut conn: ConnectionArg, data: BufferArg) -> Result<Option<JsBytes>> {
    conn.with(|conn| {
        let status = conn.send(false, data.as_slice());
        sent(conn, status)
    })
}

/// Sends a small text message and copies its frame into `pool` at `offset`, where JS
/// slices it out to write: cheaper than a Buffer of its own per frame. See `pooled`
/// for the result.
#[napi(catch_unwind)]
pub fn connection_send_text_into(mut conn: ConnectionArg, text: JsText, mut pool: BufferArg, offset: u32) -> Result<i64> {
    conn.with(|conn| {
        let status = send_js_text(conn, &text, false)?;
        Ok(pooled(conn, status, &mut pool, offset))
    })?
}

/// `sendTextInto` for binary messages. `data` is copied into the output before anything
/// is written into `pool`, so the two may share memory.
#[napi(catch_unwind)]
pub fn connection_send_binary_into(mut conn: ConnectionArg, data: BufferArg, mut pool: BufferArg, offset: u32) -> Result<i64> {
    conn.with(|conn| {
        let status = conn.send(false, data.as_slice());
        pooled(conn, status, &mut pool, offset)
    })
}

/// Sends a text message without draining the output, for sends made while JS is
/// dispatching one read's events: their frames leave together, in one Buffer and one
/// socket write, through `takeOutput`. Returns the bytes now waiting in the output, 0
/// when the message was queued until open, or -1 when the connection is closing or
/// closed.
#[napi(catch_unwind)]
pub fn connection_queue_text(mut conn: ConnectionArg, text: JsText, ascii: bool) -> Result<i64> {
    conn.with(|conn| {
        let status = send_js_text(conn, &text, ascii)?;
        Ok(queued(conn, status))
    })?
}

/// `queueText` for binary messages.
#[napi(catch_unwind)]
pub fn connection_queue_binary(mut conn: ConnectionArg, data: BufferArg) -> Result<i64> {
    conn.with(|conn| {
        let status = conn.send(false, data.as_slice());
        queued(conn, status)
    })
}

/// Sends a message of `len` bytes by its frame header only: returns the output to
/// write, ending with that header, and the caller writes its own payload right after
/// it, uncopied. `null` when the message must go through `sendText` or `sendBinary`
/// instead (client, compression, not open yet, closing).
#[napi(catch_unwind)]
pub fn connection_send_head(mut conn: ConnectionArg, text: bool, len: f64) -> Result<Option<JsBytes>> {
    if !(len.is_finite() && len >= 0.0) {
        return Ok(None);
    }
    conn.with(|conn| match conn.send_head(text, len as u64) {
        Some(SendStatus::Written) => conn.drain_output().map(JsBytes),
        _ => None,
    })
}

/// Everything written since the output was last drained, or `null`.
#[napi(catch_unwind)]
pub fn connection_take_output(mut conn: ConnectionArg) -> Result<Option<JsBytes>> {
    conn.with(|conn| conn.drain_output().map(JsBytes))
}

/// Sends a ping; `null` when it cannot be sent (closing, or over 125 bytes).
#[napi(catch_unwind)]
pub fn connection_ping(mut conn: ConnectionArg, data: BufferArg) -> Result<Option<JsBytes>> {
    conn.with(|conn| {
        let status = conn.ping(data.as_slice());
        sent(conn, status)
    })
}

/// Starts the closing handshake; throws faye's messages for a bad code or reason.
#[napi(catch_unwind)]
pub fn connection_close(mut conn: ConnectionArg, code: Option<f64>, reason: String) -> Result<Batch> {
    let code = close_code(code)?;
    conn.with(|conn| {
        conn.close(code, &reason).map_err(usage)?;
        Ok(drain(conn))
    })?
}

/// 0 connecting, 1 open, 2 closing, 3 closed, as the protocol sees it.
#[napi(catch_unwind)]
pub fn connection_ready_state(mut conn: ConnectionArg) -> Result<u32> {
    conn.with(|conn| conn.ready_state())
}

/// The close frame owed to the peer once the events before a `close` event were
/// delivered (see `Hybi::flush_close`), or `null`.
#[napi(catch_unwind)]
pub fn connection_flush_close(mut conn: ConnectionArg) -> Result<Option<JsBytes>> {
    conn.with(|conn| {
        conn.flush_close();
        conn.drain_output().map(JsBytes)
    })
}

#[napi(catch_unwind)]
pub fn connection_close_expected(mut conn: ConnectionArg) -> Result<bool> {
    conn.with(|conn| conn.close_expected())
}

#[napi(catch_unwind)]
pub fn connection_plain_frames(mut conn: ConnectionArg) -> Result<bool> {
    conn.with(|conn| conn.plain_frames())
}

#[napi(catch_unwind)]
pub fn connection_version(mut conn: ConnectionArg) -> Result<&'static str> {
    conn.with(|conn| conn.version())
}

#[napi(catch_unwind)]
pub fn connection_protocol(mut conn: ConnectionArg) -> Result<String> {
    conn.with(|conn| conn.protocol().unwrap_or_default().to_owned())
}
