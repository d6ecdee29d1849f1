//! A JavaScript string argument, read as UTF-8 straight into the caller's buffer.
//!
//! napi-rs's `String` argument asks V8 for the UTF-8 length, zero-fills a new Vec of
//! that size, has V8 encode into it, and the frame then copies it again. Sends use
//! this instead: the frame header goes out first and V8 encodes the string directly
//! after it, into spare capacity of the output.

use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, TypeName, ValidateNapiValue, ValueType};
use napi::{check_status, sys, Error, Result, Status};

pub struct JsText {
    env: sys::napi_env,
    value: sys::napi_value,
}

impl JsText {
    /// The string's length in UTF-8 bytes (lone surrogates count as U+FFFD, as they
    /// are encoded).
    pub fn utf8_len(&self) -> Result<usize> {
        let mut len = 0;
        // SAFETY: a null buffer asks only for the length.
        check_status!(
            unsafe { sys::napi_get_value_string_utf8(self.env, self.value, ptr::null_mut(), 0, &mut len) },
            "Expected a string"
        )?;
        Ok(len)
    }

    /// Appends the string's `len` UTF-8 bytes (from `utf8_len`) to `out`.
    pub fn append_utf8(&self, out: &mut Vec<u8>, len: usize) -> Result<()> {
        // V8 always ends with a NUL, which takes one more byte and is not kept.
        out.reserve(len + 1);
        let start = out.len();
        let mut written = 0;
        // SAFETY: the pointer is to `len + 1` bytes of reserved spare capacity, which
        // is the size passed; `set_len` then covers only the bytes V8 reports it wrote.
        unsafe {
            let spare = out.spare_capacity_mut();
            check_status!(
                sys::napi_get_value_string_utf8(self.env, self.value, spare.as_mut_ptr().cast(), len + 1, &mut written),
                "Expected a string"
            )?;
            if written > len {
                return Err(Error::new(Status::GenericFailure, "string grew while being encoded"));
            }
            out.set_len(start + written);
        }
        Ok(())
    }
}

impl FromNapiValue for JsText {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        Ok(JsText { env, value })
    }
}

impl ValidateNapiValue for JsText {}

impl TypeName for JsText {
    fn type_name() -> &'static str {
        "string"
    }

    fn value_type() -> ValueType {
        ValueType::String
    }
}
