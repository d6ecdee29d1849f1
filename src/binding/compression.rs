//! Long messages compressed on libuv's thread pool (see `core::deflate::CompressionJob`):
//! `compressText`/`compressBinary` hand a message over and return a Promise of the
//! job; `finishCompression` takes the job back and returns the frame to write. The
//! JavaScript side sends nothing else on the connection in between.

use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::bindgen_prelude::{AsyncTask, External, ToNapiValue, TypeName, ValueType};
use napi::{sys, Env, Error, Result, Status, Task};
use napi_derive::napi;

use super::buffer_arg::BufferArg;
use super::bytes::JsBytes;
use super::handle::ConnectionArg;
use super::text::JsText;
use crate::core::deflate::CompressionJob;
use crate::core::hybi::SendStatus;
use crate::core::Connection;

/// A job on its way back: `finishCompression` takes it out, once.
type Finished = External<Option<CompressionJob>>;

/// What the Promise resolves to: napi-rs's External, which a task cannot return as it
/// is (it names no type for the TypeScript definitions).
pub struct Compressed(Finished);

impl ToNapiValue for Compressed {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        // SAFETY: the caller's env, passed on.
        unsafe { Finished::to_napi_value(env, val.0) }
    }
}

impl TypeName for Compressed {
    fn type_name() -> &'static str {
        "ExternalObject<CompressionJob>"
    }

    fn value_type() -> ValueType {
        ValueType::External
    }
}

pub struct Compress(Option<CompressionJob>);

impl Task for Compress {
    type Output = ();
    type JsValue = Compressed;

    fn compute(&mut self) -> Result<()> {
        let job = self.0.as_mut().ok_or_else(|| Error::new(Status::GenericFailure, "no message to compress"))?;
        // A panic must not cross into Node from a worker thread either; the job is
        // then dropped with its compressor, and the connection fails (lib/api.js).
        catch_unwind(AssertUnwindSafe(|| job.run())).map_err(|_| {
            self.0 = None;
            Error::new(Status::GenericFailure, "compression failed")
        })
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> Result<Compressed> {
        Ok(Compressed(External::new(self.0.take())))
    }
}

fn hand_over(conn: &mut Connection, text: bool, payload: Vec<u8>) -> Option<AsyncTask<Compress>> {
    conn.take_compression(text, payload).ok().map(|job| AsyncTask::new(Compress(Some(job))))
}

/// Compresses a text message on the thread pool: a Promise of the job, or `null` when
/// the message must be sent with `sendText` (not open, no permessage-deflate).
#[napi(catch_unwind)]
pub fn connection_compress_text(mut conn: ConnectionArg, text: JsText, ascii: bool) -> Result<Option<AsyncTask<Compress>>> {
    // Asked first, so a connection that cannot encodes nothing for nothing.
    if !conn.with(|conn| conn.can_take_compression())? {
        return Ok(None);
    }
    let len = text.encoded_len(ascii)?;
    let mut payload = Vec::new();
    text.append_encoded(&mut payload, len, ascii)?;
    conn.with(|conn| hand_over(conn, true, payload))
}

/// `compressText` for binary messages; the bytes are copied before the call returns.
#[napi(catch_unwind)]
pub fn connection_compress_binary(mut conn: ConnectionArg, data: BufferArg) -> Result<Option<AsyncTask<Compress>>> {
    conn.with(|conn| hand_over(conn, false, data.as_slice().to_vec()))
}

/// Takes back a compressed message: the bytes to write, or `null` when the connection
/// stopped taking messages meanwhile (then its compressor is back and nothing is sent).
#[napi(catch_unwind)]
pub fn connection_finish_compression(mut conn: ConnectionArg, job: &mut Finished) -> Result<Option<JsBytes>> {
    let job = job.take().ok_or_else(|| Error::new(Status::InvalidArg, "this compressed message was already taken back"))?;
    conn.with(|conn| match conn.finish_compression(job) {
        SendStatus::Refused => None,
        SendStatus::Queued | SendStatus::Written => conn.drain_output().map(JsBytes),
    })
}
