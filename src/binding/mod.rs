//! Node-API binding: converts JavaScript values to core types and each call's events and
//! output into one batch. It never parses protocol bytes itself.

mod batch;
mod buffer_arg;
mod bytes;
mod compression;
mod connection;
mod extensions;
mod handle;
mod probe;
mod proxy;
mod random;
mod shared_text;
mod sse;
mod text;
