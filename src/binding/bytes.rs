//! Bytes handed to JavaScript as a Buffer.
//!
//! napi-rs turns a `Vec<u8>` into an external Buffer: no copy, but V8 must track a
//! finalizer for it and sweep it, and the Vec is freed on another pass. For the small
//! frames and messages that make up most traffic that bookkeeping costs several times
//! more than copying the bytes into a Buffer V8 allocates itself (measured: external
//! buffer creation and their sweeping took 14% of a 16-byte echo server's time). Large
//! payloads keep the zero-copy path, where copying would cost more.

use std::ffi::c_void;
use std::ptr;

use napi::bindgen_prelude::{Buffer, ToNapiValue, TypeName, ValueType};
use napi::{check_status, sys, Result};

/// Above this many bytes a Buffer wraps the Vec instead of copying it.
const COPY_LIMIT: usize = 16 * 1024;

pub struct JsBytes(pub Vec<u8>);

impl From<Vec<u8>> for JsBytes {
    fn from(bytes: Vec<u8>) -> Self {
        JsBytes(bytes)
    }
}

impl TypeName for JsBytes {
    fn type_name() -> &'static str {
        "Buffer"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for JsBytes {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let bytes = val.0;
        if bytes.len() > COPY_LIMIT {
            // SAFETY: forwarded with the caller's valid `env`.
            return unsafe { Buffer::to_napi_value(env, bytes.into()) };
        }
        let mut out = ptr::null_mut();
        let mut data: *mut c_void = ptr::null_mut();
        // SAFETY: napi writes the new Buffer and the address of its `len` bytes.
        check_status!(unsafe { sys::napi_create_buffer(env, bytes.len(), &mut data, &mut out) }, "Failed to create a Buffer")?;
        if !bytes.is_empty() {
            if data.is_null() {
                return Err(napi::Error::from_reason("Failed to create a Buffer: no memory for its bytes"));
            }
            // SAFETY: `data` points at the `bytes.len()` bytes of the Buffer just made,
            // which nothing else references yet. Copied in pieces rather than by
            // napi_create_buffer_copy's single memcpy: see `core::copy`.
            let target = unsafe { std::slice::from_raw_parts_mut(data.cast::<u8>(), bytes.len()) };
            crate::core::copy::copy(target, &bytes);
        }
        Ok(out)
    }
}
