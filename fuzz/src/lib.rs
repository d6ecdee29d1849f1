//! Shared code of the fuzz targets: reference decoders written from the specifications
//! (never the core's own parsers), and drivers that feed the core the way the Node
//! binding does and check what comes out.
//!
//! Every target panics on a broken invariant; libFuzzer records the input as a crash.

pub mod chunks;
pub mod handshake_targets;
pub mod hixie_ref;
pub mod http_ref;
pub mod hybi_driver;
pub mod inflate_ref;
pub mod seeds;
pub mod sse_ref;
pub mod wire;
pub mod ws_ref;

/// maxLength values the targets choose from: the edges of the length encodings, and
/// none above 1 MiB, so that an inflated message never costs more than that.
pub const MAX_LENGTHS: [u64; 16] = [0, 1, 2, 5, 16, 100, 125, 126, 127, 1000, 4096, 65535, 65536, 100_000, 1 << 20, 3];

/// Whether `bytes` can be the start of a UTF-8 string: valid, or cut inside the last
/// code point.
pub fn utf8_prefix_ok(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

pub fn utf8_ok(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok()
}

/// Mask keys for a client connection: they vary per frame, and the first one is zero,
/// which masks nothing.
pub struct CountingMasks(pub u32);

impl faye_websocket_native::core::MaskSource for CountingMasks {
    fn next_key(&mut self) -> [u8; 4] {
        let key = self.0.wrapping_mul(0x9E37_79B9).to_be_bytes();
        self.0 = self.0.wrapping_add(1);
        key
    }
}
