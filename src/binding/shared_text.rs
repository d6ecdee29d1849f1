//! Long ASCII text messages handed to JavaScript without copying: the string is an
//! external string over the message's own bytes, and a Buffer over the same bytes
//! comes with it, so that sending the message on (an echo, a relay, a broadcast)
//! writes those bytes behind a frame header instead of encoding the string again.
//!
//! Measured on a 1 MiB echo: V8 copies a long string into its large-object space,
//! whose fresh pages fault in and are zeroed, and the allocation starts scavenges
//! that a server pinned to one CPU pays for in context switches (13,000 a second
//! against 1,400 for external strings). Encoding the string back into a frame then
//! takes a second fresh buffer.
//!
//! The bytes live in an `Arc` that the string and the Buffer each hold a count of;
//! their finalizers drop them, so the memory goes when V8 has collected both. V8 is
//! told of the memory as external, so garbage collection sees the pressure.
//!
//! `node_api_create_external_string_latin1` came with Node 20.4 (experimental
//! until Node-API 10). The package supports older Node too, so the function is
//! looked up at run time rather than linked: where it is missing, or refuses, the
//! caller copies the text as before. `FAYE_WEBSOCKET_NATIVE_NO_EXTERNAL_STRINGS=1` in
//! the environment takes that path on any Node (read once, when first needed),
//! as `WS_NO_BUFFER_UTIL` does for ws: to compare, or to rule sharing out.

use std::cell::Cell;
use std::ffi::{c_char, c_void};
use std::ptr;
use std::sync::{Arc, OnceLock};

use napi::sys;
use napi_derive::napi;

/// Shorter strings fit V8's young generation, whose pages are reused: copying them
/// measured as fast as sharing (64 KiB echo, 1 and 100 connections). From here on
/// V8 puts a string in its large-object space (objects over 128 KiB).
pub const SHARED_MIN: usize = 128 * 1024;

type CreateExternalLatin1 = unsafe extern "C" fn(
    env: sys::napi_env,
    str_: *mut c_char,
    length: isize,
    finalize: sys::napi_finalize,
    hint: *mut c_void,
    result: *mut sys::napi_value,
    copied: *mut bool,
) -> sys::napi_status;

const OPT_OUT: &str = "FAYE_WEBSOCKET_NATIVE_NO_EXTERNAL_STRINGS";

fn lookup() -> Option<CreateExternalLatin1> {
    const NAME: &[u8] = b"node_api_create_external_string_latin1\0";
    if std::env::var_os(OPT_OUT).is_some_and(|value| !value.is_empty() && value != "0") {
        return None;
    }
    #[cfg(unix)]
    let host = Some(libloading::os::unix::Library::this());
    #[cfg(windows)]
    let host = libloading::os::windows::Library::this().ok();
    #[cfg(not(any(unix, windows)))]
    let host: Option<libloading::Library> = None;
    let host = host?;
    // SAFETY: where Node exports this name it is the Node-API function of this type.
    let function = unsafe { host.get::<CreateExternalLatin1>(NAME) }.ok().map(|symbol| *symbol);
    // The handle is the running program, never unloaded: leaving it open keeps the
    // function pointer valid.
    std::mem::forget(host);
    function
}

fn create_external_latin1() -> Option<CreateExternalLatin1> {
    static FUNCTION: OnceLock<Option<CreateExternalLatin1>> = OnceLock::new();
    *FUNCTION.get_or_init(lookup)
}

/// Whether long ASCII messages reach JavaScript shared rather than copied here: this
/// Node has external strings and the environment does not opt out.
#[napi]
pub fn shares_long_text() -> bool {
    create_external_latin1().is_some()
}

type Shared = Arc<Vec<u8>>;

thread_local! {
    /// Bytes whose last holder was collected since V8 was last told of a change.
    /// Finalizers tell no one themselves: one may run inside a garbage collection,
    /// where calling into Node-API is not safe. The next share settles the account.
    static RELEASED: Cell<i64> = const { Cell::new(0) };
}

/// Drops the count that a collected string or Buffer held; the last one counts the
/// memory as released.
unsafe extern "C" fn release(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is a Box made by `counted` below, and Node-API finalizes once.
    let shared = unsafe { Box::from_raw(hint.cast::<Shared>()) };
    // Both holders are finalized on the thread that made them, the one this
    // thread-local belongs to, so the count cannot change under this check.
    if Arc::strong_count(&shared) == 1 {
        let len = i64::try_from(shared.len()).unwrap_or(i64::MAX);
        let _ = RELEASED.try_with(|released| released.set(released.get().saturating_add(len)));
    }
}

fn counted(shared: &Shared) -> *mut Shared {
    Box::into_raw(Box::new(Arc::clone(shared)))
}

/// A received text message as a string and, where Node allows external Buffers, a
/// Buffer over the same bytes.
pub struct SharedText {
    pub string: sys::napi_value,
    pub bytes: Option<sys::napi_value>,
}

/// Shares `text`, which must be ASCII (so that its Latin-1 reading is the UTF-8 it
/// was received as). Gives `text` back when external strings are not to be had here.
///
/// SAFETY: `env` must be the current call's environment.
pub unsafe fn share(env: sys::napi_env, text: Vec<u8>) -> Result<SharedText, Vec<u8>> {
    let Some(create) = create_external_latin1() else {
        return Err(text);
    };
    let Ok(len) = isize::try_from(text.len()) else {
        return Err(text);
    };
    let shared: Shared = Arc::new(text);
    // A Vec's bytes stay where they are while the Arc holds it: nothing changes it.
    let data = shared.as_ptr().cast_mut();
    let hint = counted(&shared);
    let mut string = ptr::null_mut();
    let mut copied = false;
    // SAFETY: `data` is valid for `len` bytes until `release` drops the last count.
    let status = unsafe { create(env, data.cast(), len, Some(release), hint.cast(), &mut string, &mut copied) };
    if status != sys::Status::napi_ok {
        // Refused before V8 took the resource: its finalizer will not run.
        // SAFETY: `hint` came from `counted` and nothing else has freed it.
        drop(unsafe { Box::from_raw(hint) });
        return Err(Arc::try_unwrap(shared).unwrap_or_else(|shared| shared.as_ref().clone()));
    }
    let hint = counted(&shared);
    let mut buffer = ptr::null_mut();
    // SAFETY: as above; the Buffer's finalizer drops this second count.
    let status = unsafe { sys::napi_create_external_buffer(env, shared.len(), data.cast(), Some(release), hint.cast(), &mut buffer) };
    let bytes = if status == sys::Status::napi_ok {
        Some(buffer)
    } else {
        // Node builds without external Buffers (a V8 sandbox) say so here.
        // SAFETY: refused, so the finalizer will not run; `hint` is still ours.
        drop(unsafe { Box::from_raw(hint) });
        None
    };
    // V8 cannot see memory outside its heap: unless told, it would not collect the
    // strings and Buffers holding it until its own heap filled, with every message
    // of that time still in memory (1 GiB after 3 s of a 1 MiB echo, measured).
    if Arc::strong_count(&shared) > 1 {
        let released = RELEASED.try_with(|released| released.replace(0)).unwrap_or(0);
        let change = i64::try_from(len).unwrap_or(i64::MAX).saturating_sub(released);
        let mut total = 0;
        // SAFETY: the caller's env, outside any garbage collection.
        unsafe { sys::napi_adjust_external_memory(env, change, &mut total) };
    }
    Ok(SharedText { string, bytes })
}
