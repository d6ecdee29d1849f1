//! Runs a target's checks on saved inputs, without libFuzzer or sanitizers, on any
//! toolchain: the quickest way to read a crash's whole panic message, or to debug it.
//!
//! cargo run --example replay -- <target> <input files>...   (from fuzz/)

use faye_websocket_native_fuzz as fuzz;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(target) = args.next() else {
        eprintln!("usage: replay <target> <input files>...");
        std::process::exit(2);
    };
    let check: fn(&[u8]) = match target.as_str() {
        "server_feed" => fuzz::hybi_driver::server_feed,
        "client_feed" => fuzz::hybi_driver::client_feed,
        "server_handshake" => fuzz::handshake_targets::server_handshake,
        "client_response" => fuzz::handshake_targets::client_response,
        "proxy_connect" => fuzz::handshake_targets::proxy_connect,
        "inflate" => fuzz::inflate_ref::fuzz_inflate,
        "hixie76" => |data| fuzz::hixie_ref::run(data, true),
        "hixie75" => |data| fuzz::hixie_ref::run(data, false),
        "eventsource" => fuzz::sse_ref::fuzz_eventsource,
        other => {
            eprintln!("unknown target {other}");
            std::process::exit(2);
        }
    };
    for path in args {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
        eprintln!("{path}: {hex}");
        check(&data);
    }
}
