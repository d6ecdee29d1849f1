#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| faye_websocket_native_fuzz::sse_ref::fuzz_eventsource(data));
