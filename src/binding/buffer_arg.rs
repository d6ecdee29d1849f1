//! A Buffer (or other Uint8Array) argument, read in place.
//!
//! napi-rs's `&[u8]` argument registers every borrow in a mutex-guarded map and
//! releases it after the call, to catch a native call that detaches a buffer another
//! argument borrows. Nothing here runs JavaScript or detaches anything during a call,
//! and that bookkeeping cost a small-message echo about 1.5% of its time (one borrow
//! per socket read, and per binary send).

use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, TypeName, ValidateNapiValue, ValueType};
use napi::{check_status, sys, Error, Result, Status};

/// The bytes of a Uint8Array argument, valid for the duration of the call that took it.
pub struct BufferArg {
    data: *mut u8,
    len: usize,
}

impl BufferArg {
    pub fn as_slice(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `data` points to `len` bytes of the array's backing store, which
        // lives at least as long as the call this argument was taken for, and no JS
        // runs during that call to change or detach it.
        unsafe { std::slice::from_raw_parts(self.data, self.len) }
    }

    /// The bytes from `offset` on, for writing into. The caller must not hold a slice
    /// from another `BufferArg` that may view the same memory while using this one.
    pub fn tail_mut(&mut self, offset: usize) -> Option<&mut [u8]> {
        if offset > self.len || self.len == 0 {
            return None;
        }
        // SAFETY: as in `as_slice`; `offset <= len`, and `&mut self` keeps this the
        // only slice made from this argument while it lives.
        let whole = unsafe { std::slice::from_raw_parts_mut(self.data, self.len) };
        whole.get_mut(offset..)
    }
}

impl FromNapiValue for BufferArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        let mut kind = 0;
        let mut len = 0;
        let mut data = ptr::null_mut();
        let mut array_buffer = ptr::null_mut();
        let mut byte_offset = 0;
        // SAFETY: `env` and `value` come from the call napi-rs is converting.
        check_status!(
            unsafe {
                sys::napi_get_typedarray_info(env, value, &mut kind, &mut len, &mut data, &mut array_buffer, &mut byte_offset)
            },
            "Expected a Buffer"
        )?;
        if kind != sys::TypedarrayType::uint8_array {
            return Err(Error::new(Status::InvalidArg, "Expected a Buffer"));
        }
        Ok(BufferArg { data: data.cast(), len })
    }
}

impl ValidateNapiValue for BufferArg {}

impl TypeName for BufferArg {
    fn type_name() -> &'static str {
        "Buffer"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}
