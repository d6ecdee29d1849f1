//! faye-websocket-native: a sans-I/O WebSocket core (`core`) and, behind the default
//! `node` feature, the Node-API binding that exposes it to the JavaScript shims.

pub mod core;

#[cfg(feature = "node")]
mod binding;
