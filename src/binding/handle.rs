//! A connection handed to JavaScript as an External that owns it.
//!
//! A `#[napi]` class costs every method call an unwrap, a class-identity check and a
//! borrow registered in a mutex-guarded map: 4–5% of a small-message echo server's
//! time, with two calls per message. An External costs one pointer read. The
//! connection's functions take it as their first argument; `lib/connection.js` gives
//! them back the shape of a class.

use std::ffi::c_void;
use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, ToNapiValue, TypeName, ValidateNapiValue, ValueType};
use napi::{check_status, sys, Error, Result, Status};

use crate::core::Connection;

/// Marks the Externals made here, so that any other External passed by mistake is
/// refused instead of read as a connection.
const TAG: u64 = u64::from_le_bytes(*b"fwsn\x00con");

#[repr(C)]
struct Slot {
    tag: u64,
    /// Set while a call uses the connection. Nothing a call does runs JavaScript, so
    /// no call can start inside another; this makes sure of it.
    busy: bool,
    conn: Connection,
}

/// A new connection, returned to JavaScript as its handle.
pub struct ConnectionHandle(pub Connection);

unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the Box made in `to_napi_value`, finalized once, when the
    // External is collected; no call can be using it then.
    drop(unsafe { Box::from_raw(data.cast::<Slot>()) });
}

impl ToNapiValue for ConnectionHandle {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let slot = Box::into_raw(Box::new(Slot { tag: TAG, busy: false, conn: val.0 }));
        let mut external = ptr::null_mut();
        // SAFETY: `env` is the current call's; on success the External owns `slot` and
        // `finalize` frees it.
        let status = unsafe { sys::napi_create_external(env, slot.cast(), Some(finalize), ptr::null_mut(), &mut external) };
        if let Err(error) = check_status!(status, "Failed to create a connection") {
            // SAFETY: not handed over: still ours to free.
            drop(unsafe { Box::from_raw(slot) });
            return Err(error);
        }
        Ok(external)
    }
}

impl TypeName for ConnectionHandle {
    fn type_name() -> &'static str {
        "ExternalObject<Connection>"
    }

    fn value_type() -> ValueType {
        ValueType::External
    }
}

/// A connection handle passed back by JavaScript, for the duration of one call.
pub struct ConnectionArg {
    slot: *mut Slot,
}

impl ConnectionArg {
    /// Runs `f` on the connection.
    pub fn with<R>(&mut self, f: impl FnOnce(&mut Connection) -> R) -> Result<R> {
        // SAFETY: `from_napi_value` checked that `slot` is a live Slot made by
        // `ConnectionHandle`; the External that owns it is an argument of the current
        // call, so it is not collected during it, and `busy` keeps this the only
        // reference to the connection.
        let slot = unsafe { &mut *self.slot };
        if slot.busy {
            return Err(Error::new(Status::GenericFailure, "connection already in use"));
        }
        slot.busy = true;
        let guard = Busy(&mut slot.busy);
        let result = f(&mut slot.conn);
        drop(guard);
        Ok(result)
    }
}

/// Clears `busy` on the way out, including when `f` unwinds.
struct Busy<'a>(&'a mut bool);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        *self.0 = false;
    }
}

impl FromNapiValue for ConnectionArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        let mut data = ptr::null_mut();
        // SAFETY: `env` and `value` come from the call napi-rs is converting; this
        // fails for anything but an External.
        check_status!(unsafe { sys::napi_get_value_external(env, value, &mut data) }, "Expected a connection")?;
        let slot = data.cast::<Slot>();
        // SAFETY: an External's data is a pointer its maker chose; the binding's
        // functions are internal, and the only Externals `lib/` passes are ours. The
        // tag check refuses another's before its contents are used.
        if slot.is_null() || !slot.is_aligned() || unsafe { (*slot).tag } != TAG {
            return Err(Error::new(Status::InvalidArg, "Expected a connection"));
        }
        Ok(ConnectionArg { slot })
    }
}

impl ValidateNapiValue for ConnectionArg {}

impl TypeName for ConnectionArg {
    fn type_name() -> &'static str {
        "ExternalObject<Connection>"
    }

    fn value_type() -> ValueType {
        ValueType::External
    }
}
