//! Size limits, applied before bytes are buffered.

/// websocket-driver's default: 2^26 - 1 bytes, one byte short of 64 MiB.
pub const DEFAULT_MAX_LENGTH: u64 = (1 << 26) - 1;
/// The most bytes an HTTP head (request or response) may take before it is refused.
pub const MAX_HANDSHAKE_BYTES: usize = 16 * 1024;
/// The most header lines an HTTP head may have.
pub const MAX_HANDSHAKE_HEADERS: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest message, in bytes, checked against each frame's declared length plus
    /// what the message already holds.
    pub max_length: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_length: DEFAULT_MAX_LENGTH }
    }
}
