//! A deliberate internal failure, for the test that proves a panic in the addon
//! reaches JavaScript as an exception (which the socket layer turns into `error` and
//! close 1011) instead of aborting the process.

use napi_derive::napi;

#[napi(catch_unwind)]
pub fn internal_failure_probe() {
    panic!("internal failure probe");
}
