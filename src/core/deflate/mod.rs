//! permessage-deflate (RFC 7692): parameter negotiation (`params`) and the codec that
//! compresses and inflates whole messages (`codec`).

pub mod codec;
mod job;
pub mod params;
mod zlib;

pub use codec::{Compressor, Decompressor, InflateError, Tuning};
pub use job::CompressionJob;
pub use params::{DeflateConfig, Negotiated, EXTENSION_NAME};

/// Both directions' codecs for one connection, built from the negotiated parameters.
/// Neither allocates zlib state until its first message.
pub struct DeflateSession {
    pub compressor: Compressor,
    pub decompressor: Decompressor,
}

impl DeflateSession {
    pub fn new(config: &DeflateConfig, negotiated: Negotiated) -> Self {
        DeflateSession {
            compressor: Compressor::new(
                Tuning { level: config.level, mem_level: config.mem_level, strategy: config.strategy },
                negotiated.own_window_bits,
                negotiated.own_context_takeover,
            ),
            decompressor: Decompressor::new(negotiated.peer_window_bits, negotiated.peer_context_takeover),
        }
    }
}
