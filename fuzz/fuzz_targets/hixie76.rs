#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| faye_websocket_native_fuzz::hixie_ref::run(data, true));
