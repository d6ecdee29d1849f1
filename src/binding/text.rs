//! A JavaScript string argument, read as UTF-8 straight into the caller's buffer.
//!
//! napi-rs's `String` argument asks V8 for the UTF-8 length, zero-fills a new Vec of
//! that size, has V8 encode into it, and the frame then copies it again. Sends use
//! this instead: the frame header goes out first and V8 encodes the string directly
//! after it, into spare capacity of the output (`send_with` leaves room for V8's
//! terminating NUL, so nothing is reallocated). For a long string the JS side first
//! finds out whether it is ASCII, and an ASCII string is then copied as Latin-1.

use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, TypeName, ValidateNapiValue, ValueType};
use napi::{check_status, sys, Error, Result, Status};

pub struct JsText {
    env: sys::napi_env,
    value: sys::napi_value,
}

/// One of Node-API's string getters, into a buffer of the given size: the UTF-8 or
/// the Latin-1 one. A null buffer asks for the length only.
type Getter = unsafe fn(sys::napi_env, sys::napi_value, *mut std::ffi::c_char, usize, *mut usize) -> sys::napi_status;

/// SAFETY (both): the caller's arguments go to Node-API unchanged.
unsafe fn get_utf8(env: sys::napi_env, value: sys::napi_value, buf: *mut std::ffi::c_char, size: usize, len: *mut usize) -> sys::napi_status {
    unsafe { sys::napi_get_value_string_utf8(env, value, buf, size, len) }
}

unsafe fn get_latin1(env: sys::napi_env, value: sys::napi_value, buf: *mut std::ffi::c_char, size: usize, len: *mut usize) -> sys::napi_status {
    unsafe { sys::napi_get_value_string_latin1(env, value, buf, size, len) }
}

impl JsText {
    fn len_with(&self, get: Getter) -> Result<usize> {
        let mut len = 0;
        // SAFETY: a null buffer asks only for the length.
        check_status!(unsafe { get(self.env, self.value, ptr::null_mut(), 0, &mut len) }, "Expected a string")?;
        Ok(len)
    }

    /// Appends the `len` bytes `get` writes of the string to `out`.
    fn append_with(&self, get: Getter, out: &mut Vec<u8>, len: usize) -> Result<()> {
        // V8 always ends with a NUL, which takes one more byte and is not kept.
        out.reserve(len + 1);
        let start = out.len();
        let mut written = 0;
        // SAFETY: the pointer is to `len + 1` bytes of reserved spare capacity, which
        // is the size passed; `set_len` then covers only the bytes V8 reports it wrote.
        unsafe {
            let spare = out.spare_capacity_mut();
            check_status!(get(self.env, self.value, spare.as_mut_ptr().cast(), len + 1, &mut written), "Expected a string")?;
            if written > len {
                return Err(Error::new(Status::GenericFailure, "string grew while being encoded"));
            }
            out.set_len(start + written);
        }
        Ok(())
    }

    /// The string's length in UTF-8 bytes (lone surrogates count as U+FFFD, as they
    /// are encoded).
    pub fn utf8_len(&self) -> Result<usize> {
        self.len_with(get_utf8)
    }

    /// Appends the string's `len` UTF-8 bytes (from `utf8_len`) to `out`.
    pub fn append_utf8(&self, out: &mut Vec<u8>, len: usize) -> Result<()> {
        self.append_with(get_utf8, out, len)
    }

    /// The string's length in UTF-16 units: its byte length when it is ASCII.
    pub fn units(&self) -> Result<usize> {
        self.len_with(get_latin1)
    }

    /// Appends an ASCII string of `len` units (from `units`) to `out`: V8 copies it
    /// without encoding. That the string is ASCII is the caller's promise: lib/api.js
    /// makes it only for a string whose UTF-8 length equals its length, or one equal
    /// to a received message the core found to be ASCII. A byte over 0x7f, what a
    /// Latin-1 string breaking it would show, sends the string as UTF-8 instead, so the
    /// frame is valid UTF-8 whatever the caller said; a string with characters over
    /// U+00FF would still lose their high bytes, which is why the promise must hold.
    pub fn append_ascii(&self, out: &mut Vec<u8>, len: usize) -> Result<()> {
        let start = out.len();
        self.append_with(get_latin1, out, len)?;
        if !out[start..].is_ascii() {
            out.truncate(start);
            let len = self.utf8_len()?;
            return self.append_utf8(out, len);
        }
        Ok(())
    }

    /// The string's length as a frame carries it: its units when the caller promises
    /// ASCII (see `append_ascii`), its UTF-8 length otherwise.
    pub fn encoded_len(&self, ascii: bool) -> Result<usize> {
        if ascii {
            self.units()
        } else {
            self.utf8_len()
        }
    }

    /// Appends the string's `len` bytes (from `encoded_len` with the same `ascii`).
    pub fn append_encoded(&self, out: &mut Vec<u8>, len: usize, ascii: bool) -> Result<()> {
        if ascii {
            self.append_ascii(out, len)
        } else {
            self.append_utf8(out, len)
        }
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
