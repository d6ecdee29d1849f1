//! The sans-I/O protocol core: bytes in, events and bytes out.
//!
//! Nothing here performs I/O, reads a clock or draws randomness: the caller feeds what
//! it read, writes what it drains, owns every timer, and supplies mask keys through
//! [`MaskSource`]. Nothing here depends on Node.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

pub mod close;
pub mod connection;
pub mod copy;
pub mod deflate;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod hixie;
pub mod hybi;
pub mod limits;
pub mod mask;
mod output;
pub mod sse;
pub mod utf8;

#[cfg(test)]
pub(crate) mod test_util;

pub use connection::Connection;
pub use error::{ProtocolError, UsageError};
pub use limits::Limits;

/// Which end of the connection this is: servers require masked input and send unmasked
/// frames, clients the reverse (RFC 6455 section 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Server,
    Client,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Connecting,
    Open,
    /// We sent a close frame and wait for the peer's.
    Closing,
    Closed,
}

impl State {
    /// The WebSocket API's `readyState` number.
    pub fn ready_state(self) -> u32 {
        match self {
            State::Connecting => 0,
            State::Open => 1,
            State::Closing => 2,
            State::Closed => 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Open,
    /// A complete message; for text, `data` is validated UTF-8.
    Message { text: bool, data: Vec<u8> },
    /// A complete message for the caller's own extensions (see
    /// `Hybi::open_for_caller_extensions`): the payload as received, not yet decoded
    /// or checked as UTF-8, and the reserved bits of its first frame (RSV1 = 0x40).
    RawMessage { text: bool, rsv: u8, data: Vec<u8> },
    /// A ping, with the pong that answers it (empty when none is owed, e.g. while
    /// closing). The caller writes `pong` when it handles this event, so that replies
    /// to earlier messages go out first, in arrival order.
    Ping { payload: Vec<u8>, pong: Vec<u8> },
    Pong(Vec<u8>),
    /// Informational: a `Close` always follows.
    Error(ProtocolError),
    /// The connection is over: the caller shuts the TCP connection.
    Close { code: u16, reason: String },
    /// The same for the hixie drafts, which have no status codes (faye reports
    /// `null` code and reason).
    CloseNoStatus,
}

/// Source of masking keys for client frames (section 5.3 asks for a strong source of
/// entropy; the binding draws from the OS, tests use a fixed key).
pub trait MaskSource: Send {
    fn next_key(&mut self) -> [u8; 4];
}

/// For servers, which never mask.
pub struct NoMasks;

impl MaskSource for NoMasks {
    fn next_key(&mut self) -> [u8; 4] {
        [0; 4]
    }
}
