//! Turns what the core drained after one call into the single value returned to JS.
//!
//! A batch is one flat array rather than an object per event: building objects field
//! by field through Node-API cost more than the rest of a small message's trip.
//!
//!   [output, handshake, kind, a, b, kind, a, b, …]
//!
//! `output` is the bytes to write (or undefined), `handshake` the server's response
//! on the client side (or undefined), then three slots per event, in order:
//!
//! | kind | event     | a                                | b                        |
//! |------|-----------|----------------------------------|--------------------------|
//! | 0    | open      |                                  |                          |
//! | 1    | message   | string (text) or Buffer (binary) |                          |
//! | 2    | rawText   | Buffer, for JS extensions        | reserved bits, RSV1 0x40 |
//! | 3    | rawBinary | Buffer, for JS extensions        | reserved bits            |
//! | 4    | ping      | payload Buffer                   | the pong frame to write  |
//! | 5    | pong      | payload Buffer                   |                          |
//! | 6    | error     | close code                       | message                  |
//! | 7    | close     | code (absent for the drafts)     | reason                   |
//! | 8    | message   | string, ASCII and over 4 KiB     | Buffer of the same bytes |
//!
//! Absent slots read as undefined. `lib/api.js` decodes this; keep the two in step.
//!
//! `feed` returns a [`ReadBatch`]: when a read's only result is one message, the most
//! common read by far, that is the message alone (a string, or a Buffer for binary),
//! without the array.

use std::ptr;

use napi::bindgen_prelude::{ToNapiValue, TypeName, ValueType};
use napi::{check_status, sys, Result};
use napi_derive::napi;

use super::bytes::JsBytes;
use super::shared_text;
use crate::core::{Connection, Event};

/// The server's handshake response, for a client's `statusCode` and `headers`.
#[napi(object, object_from_js = false)]
pub struct HandshakeResponse {
    pub status_code: u32,
    /// Flat `[name, value, …]`, names lower-cased, repeated headers joined.
    pub headers: Vec<String>,
}

/// Everything one native call produced: bytes to write, the handshake response if it
/// arrived in this call, then events in order.
pub struct Batch {
    output: Option<Vec<u8>>,
    handshake: Option<HandshakeResponse>,
    events: Vec<Event>,
}

pub fn drain(conn: &mut Connection) -> Batch {
    Batch {
        output: conn.drain_output(),
        handshake: conn.take_response().map(|head| HandshakeResponse {
            status_code: u32::from(head.status),
            headers: head.headers.into_iter().flat_map(|(name, value)| [name, value]).collect(),
        }),
        events: conn.drain_events(),
    }
}

const OPEN: u32 = 0;
const MESSAGE: u32 = 1;
const RAW_TEXT: u32 = 2;
const RAW_BINARY: u32 = 3;
const PING: u32 = 4;
const PONG: u32 = 5;
const ERROR: u32 = 6;
const CLOSE: u32 = 7;
const ASCII_MESSAGE: u32 = 8;

/// Writes values into consecutive slots of a JS array.
struct Slots {
    env: sys::napi_env,
    array: sys::napi_value,
}

impl Slots {
    /// SAFETY: `env` must be the current call's environment.
    unsafe fn set<T: ToNapiValue>(&self, index: usize, value: T) -> Result<()> {
        // SAFETY: converts with the caller's env.
        unsafe { self.set_value(index, T::to_napi_value(self.env, value)?) }
    }

    /// SAFETY: `env` must be the current call's environment, and `value` of it.
    unsafe fn set_value(&self, index: usize, value: sys::napi_value) -> Result<()> {
        let index = u32::try_from(index).map_err(|_| napi::Error::from_reason("batch too long"))?;
        // SAFETY: stores into the array the caller's env created.
        check_status!(unsafe { sys::napi_set_element(self.env, self.array, index, value) }, "Failed to fill a batch")
    }

    /// A text message's kind and slots: long ASCII text is marked, and shared with a
    /// Buffer where it can be (`shared_text`).
    ///
    /// SAFETY: `env` must be the current call's environment.
    unsafe fn set_text_message(&self, at: usize, data: Vec<u8>, ascii: bool) -> Result<()> {
        // SAFETY: every call uses the caller's env.
        unsafe {
            if !ascii || data.len() <= LONG_TEXT {
                self.set(at, MESSAGE)?;
                return self.set_text(at + 1, &data, ascii);
            }
            self.set(at, ASCII_MESSAGE)?;
            if data.len() < shared_text::SHARED_MIN {
                return self.set_text(at + 1, &data, true);
            }
            match shared_text::share(self.env, data) {
                Ok(shared) => {
                    self.set_value(at + 1, shared.string)?;
                    match shared.bytes {
                        Some(bytes) => self.set_value(at + 2, bytes),
                        None => Ok(()),
                    }
                }
                Err(data) => self.set_text(at + 1, &data, true),
            }
        }
    }

    /// SAFETY: `env` must be the current call's environment.
    unsafe fn set_text(&self, index: usize, data: &[u8], ascii: bool) -> Result<()> {
        // SAFETY: converts with the caller's env.
        unsafe { self.set_value(index, text_value(self.env, data, ascii)?) }
    }
}

impl TypeName for Batch {
    fn type_name() -> &'static str {
        "Array<unknown>"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

/// The message of a batch that holds nothing else.
fn lone_message(batch: &mut Batch) -> Option<(bool, Vec<u8>)> {
    if batch.output.is_some() || batch.handshake.is_some() || batch.events.len() != 1 {
        return None;
    }
    match batch.events.pop() {
        Some(Event::Message { text, data }) => Some((text, data)),
        other => {
            batch.events.extend(other);
            None
        }
    }
}

/// Text messages at least this long (in UTF-8 bytes) that are ASCII are marked so in
/// the batch: sending the same string back then skips finding out whether it is
/// ASCII (`lib/api.js`). The same length as `POOLED_MAX` in `lib/frame_pool.js`, above
/// which sends ask that question; keep the two in step.
const LONG_TEXT: usize = 4 * 1024;

/// A text message's validated UTF-8 as a JS string. ASCII, the common case, takes V8's
/// one-byte path, which copies without decoding.
///
/// SAFETY: `env` must be the current call's environment.
unsafe fn text_value(env: sys::napi_env, data: &[u8], ascii: bool) -> Result<sys::napi_value> {
    let mut string = ptr::null_mut();
    let bytes = data.as_ptr().cast::<std::ffi::c_char>();
    let len = isize::try_from(data.len()).map_err(|_| napi::Error::from_reason("message too long"))?;
    // SAFETY: `data` outlives the call, which copies `len` bytes; the core only
    // delivers text it has validated as UTF-8.
    unsafe {
        if ascii {
            check_status!(sys::napi_create_string_latin1(env, bytes, len, &mut string), "Failed to create a string")?;
        } else {
            check_status!(sys::napi_create_string_utf8(env, bytes, len, &mut string), "Failed to create a string")?;
        }
    }
    Ok(string)
}

/// What one socket read produced: a batch, or its lone message.
pub struct ReadBatch(pub Batch);

impl TypeName for ReadBatch {
    fn type_name() -> &'static str {
        "Array<unknown> | string | Buffer"
    }

    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ToNapiValue for ReadBatch {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let mut batch = val.0;
        // SAFETY: the env napi-rs handed us for this return value.
        unsafe {
            match lone_message(&mut batch) {
                Some((true, data)) => {
                    let ascii = data.is_ascii();
                    if ascii && data.len() > LONG_TEXT {
                        // Marked as ASCII, which takes a batch.
                        let mut array = ptr::null_mut();
                        check_status!(sys::napi_create_array_with_length(env, 5, &mut array), "Failed to create a batch")?;
                        let slots = Slots { env, array };
                        slots.set_text_message(2, data, true)?;
                        return Ok(array);
                    }
                    text_value(env, &data, ascii)
                }
                Some((false, data)) => JsBytes::to_napi_value(env, JsBytes(data)),
                None => Batch::to_napi_value(env, batch),
            }
        }
    }
}

impl ToNapiValue for Batch {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let mut array = ptr::null_mut();
        // SAFETY: every call below uses the env napi-rs handed us for this return value.
        unsafe {
            check_status!(
                sys::napi_create_array_with_length(env, 2 + 3 * val.events.len(), &mut array),
                "Failed to create a batch"
            )?;
            let slots = Slots { env, array };
            if let Some(output) = val.output {
                slots.set(0, JsBytes(output))?;
            }
            if let Some(handshake) = val.handshake {
                slots.set(1, handshake)?;
            }
            for (i, event) in val.events.into_iter().enumerate() {
                let at = 2 + 3 * i;
                match event {
                    Event::Open => slots.set(at, OPEN)?,
                    Event::Message { text: true, data } => {
                        let ascii = data.is_ascii();
                        slots.set_text_message(at, data, ascii)?;
                    }
                    Event::Message { text: false, data } => {
                        slots.set(at, MESSAGE)?;
                        slots.set(at + 1, JsBytes(data))?;
                    }
                    Event::RawMessage { text, rsv, data } => {
                        slots.set(at, if text { RAW_TEXT } else { RAW_BINARY })?;
                        slots.set(at + 1, JsBytes(data))?;
                        slots.set(at + 2, u32::from(rsv))?;
                    }
                    Event::Ping { payload, pong } => {
                        slots.set(at, PING)?;
                        slots.set(at + 1, JsBytes(payload))?;
                        if !pong.is_empty() {
                            slots.set(at + 2, JsBytes(pong))?;
                        }
                    }
                    Event::Pong(data) => {
                        slots.set(at, PONG)?;
                        slots.set(at + 1, JsBytes(data))?;
                    }
                    Event::Error(error) => {
                        slots.set(at, ERROR)?;
                        slots.set(at + 1, u32::from(error.close_code()))?;
                        slots.set(at + 2, error.to_string())?;
                    }
                    Event::Close { code, reason } => {
                        slots.set(at, CLOSE)?;
                        slots.set(at + 1, u32::from(code))?;
                        slots.set(at + 2, reason)?;
                    }
                    Event::CloseNoStatus => slots.set(at, CLOSE)?,
                }
            }
        }
        Ok(array)
    }
}
