//! Randomness for the client: Sec-WebSocket-Key nonces and per-frame mask keys, from the
//! operating system's CSPRNG. Mask keys are drawn from a buffer refilled in blocks, so
//! small frames do not cost a system call each.

use crate::core::MaskSource;

const BLOCK: usize = 1024;

pub fn nonce() -> napi::Result<[u8; 16]> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| napi::Error::from_reason(format!("no randomness available: {e}")))?;
    Ok(bytes)
}

pub struct OsMasks {
    block: [u8; BLOCK],
    used: usize,
}

impl OsMasks {
    pub fn new() -> Self {
        OsMasks { block: [0; BLOCK], used: BLOCK }
    }
}

impl MaskSource for OsMasks {
    fn next_key(&mut self) -> [u8; 4] {
        if self.used + 4 > BLOCK {
            // getrandom only fails when the OS has no entropy source at all; a panic
            // here is caught by the export's guard and fails the connection.
            #[allow(clippy::expect_used)]
            getrandom::fill(&mut self.block).expect("operating system randomness");
            self.used = 0;
        }
        let mut key = [0u8; 4];
        if let Some(bytes) = self.block.get(self.used..self.used + 4) {
            key.copy_from_slice(bytes);
        }
        self.used += 4;
        key
    }
}
