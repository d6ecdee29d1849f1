//! Turns what the core drained after one call into the single object returned to JS.

use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;

use crate::core::{Connection, Event};

/// One event for the JavaScript layer. `kind` is the event name JS dispatches.
#[napi(object, object_from_js = false)]
pub struct NativeEvent {
    pub kind: &'static str,
    /// Message payload: a string for text, a Buffer for binary, ping and pong.
    pub data: Option<Either<String, Buffer>>,
    pub code: Option<u32>,
    /// Close reason, or the error message.
    pub reason: Option<String>,
    /// Bytes owed to the peer for this event (a ping's pong), written when JS reaches
    /// the event so they keep their place among the application's replies.
    pub output: Option<Buffer>,
    /// For `rawText`/`rawBinary` (messages for the JS extension pipeline): the first
    /// frame's reserved bits, RSV1 = 0x40.
    pub rsv: Option<u32>,
}

/// The server's handshake response, for a client's `statusCode` and `headers`.
#[napi(object, object_from_js = false)]
pub struct HandshakeResponse {
    pub status_code: u32,
    /// Flat `[name, value, …]`, names lower-cased, repeated headers joined.
    pub headers: Vec<String>,
}

/// Everything one native call produced: bytes to write, the handshake response if it
/// arrived in this call, then events in order.
#[napi(object, object_from_js = false)]
pub struct Batch {
    pub output: Option<Buffer>,
    pub handshake: Option<HandshakeResponse>,
    pub events: Vec<NativeEvent>,
}

impl NativeEvent {
    fn new(kind: &'static str) -> Self {
        NativeEvent { kind, data: None, code: None, reason: None, output: None, rsv: None }
    }
}

fn convert(event: Event) -> NativeEvent {
    match event {
        Event::Open => NativeEvent::new("open"),
        Event::Message { text: true, data } => NativeEvent {
            data: Some(Either::A(utf8_string(data))),
            ..NativeEvent::new("message")
        },
        Event::Message { text: false, data } => NativeEvent {
            data: Some(Either::B(data.into())),
            ..NativeEvent::new("message")
        },
        Event::RawMessage { text, rsv, data } => NativeEvent {
            data: Some(Either::B(data.into())),
            rsv: Some(u32::from(rsv)),
            ..NativeEvent::new(if text { "rawText" } else { "rawBinary" })
        },
        Event::Ping { payload, pong } => NativeEvent {
            data: Some(Either::B(payload.into())),
            output: (!pong.is_empty()).then(|| pong.into()),
            ..NativeEvent::new("ping")
        },
        Event::Pong(data) => NativeEvent { data: Some(Either::B(data.into())), ..NativeEvent::new("pong") },
        Event::Error(error) => NativeEvent {
            code: Some(u32::from(error.close_code())),
            reason: Some(error.to_string()),
            ..NativeEvent::new("error")
        },
        Event::Close { code, reason } => NativeEvent {
            code: Some(u32::from(code)),
            reason: Some(reason),
            ..NativeEvent::new("close")
        },
        Event::CloseNoStatus => NativeEvent::new("close"),
    }
}

/// The core delivers text messages as validated UTF-8, so this never replaces anything;
/// the lossy path only guards against a core bug.
fn utf8_string(data: Vec<u8>) -> String {
    String::from_utf8(data).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

pub fn drain(conn: &mut Connection) -> Batch {
    Batch {
        output: conn.drain_output().map(Buffer::from),
        handshake: conn.take_response().map(|head| HandshakeResponse {
            status_code: u32::from(head.status),
            headers: head.headers.into_iter().flat_map(|(name, value)| [name, value]).collect(),
        }),
        events: conn.drain_events().into_iter().map(convert).collect(),
    }
}
