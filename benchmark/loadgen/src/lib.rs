//! Shared pieces of the benchmark's WebSocket tools: the `loadgen` load generator and
//! the native `echo-server` that serves as the ceiling to compare Node servers with.
//! Not part of the package; written for speed of the tools and clarity, with no
//! panics on what a peer sends.

pub mod client;
pub mod deflate;
pub mod frame;
pub mod handshake;
pub mod histogram;
pub mod payload;
pub mod readbuf;
pub mod tls;
