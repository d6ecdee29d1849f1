//! Deterministic message payloads, the same bytes for every server under test.
//!
//! Text is words drawn from a fixed pseudo-random word list: printable ASCII that
//! deflate compresses a few times over, like chat or JSON traffic, rather than a
//! repeated letter that compresses to nothing. Binary payloads are the same text with
//! the top bit set on every byte, so nothing in them is ASCII or valid UTF-8.

use crate::frame::{XorShift, BINARY, TEXT};

const WORDS: usize = 512;
/// The pool of distinct payloads cycled through spans at least this many bytes, twice
/// deflate's 32 KiB window: a compressor with context takeover then never finds a
/// whole earlier message to point back at, only words and phrases, as with real
/// traffic. Distinct consecutive messages also catch a server echoing stale bytes.
const MIN_POOL_BYTES: usize = 64 << 10;
const MIN_VARIANTS: usize = 16;
const MAX_VARIANTS: usize = 16 << 10;
/// For big messages, fewer variants keep the pool within a few megabytes.
const MAX_POOL_BYTES: usize = 8 << 20;

fn variant_count(size: usize) -> usize {
    let size = size.max(1);
    let count = MIN_POOL_BYTES.div_ceil(size).clamp(MIN_VARIANTS, MAX_VARIANTS);
    count.min((MAX_POOL_BYTES / size).max(2))
}

pub struct Payloads {
    pub opcode: u8,
    variants: Vec<Vec<u8>>,
}

impl Payloads {
    pub fn new(size: usize, binary: bool) -> Self {
        let mut rng = XorShift::new(0x5EED_F00D);
        let words: Vec<Vec<u8>> = (0..WORDS)
            .map(|_| {
                let len = 2 + (rng.next_u64() % 8) as usize;
                (0..len).map(|_| b'a' + (rng.next_u64() % 26) as u8).collect()
            })
            .collect();
        let count = variant_count(size);
        let variants = (0..count)
            .map(|_| {
                let mut text = Vec::with_capacity(size + 16);
                while text.len() < size {
                    // Skewed choice (min of two draws) so some words are common.
                    let pick = (rng.next_u64() % WORDS as u64).min(rng.next_u64() % WORDS as u64);
                    text.extend_from_slice(&words[pick as usize]);
                    if rng.next_u64().is_multiple_of(12) {
                        text.push(b'.');
                    }
                    text.push(b' ');
                }
                text.truncate(size);
                if binary {
                    text.iter_mut().for_each(|b| *b |= 0x80);
                }
                text
            })
            .collect();
        Payloads { opcode: if binary { BINARY } else { TEXT }, variants }
    }

    /// The payload of message number `n`.
    pub fn get(&self, n: u64) -> &[u8] {
        &self.variants[(n % self.variants.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_sized_and_typed() {
        let a = Payloads::new(1000, false);
        let b = Payloads::new(1000, false);
        assert_eq!(a.get(3), b.get(3));
        assert_ne!(a.get(0), a.get(1));
        assert!(a.get(0).iter().all(|c| c.is_ascii_graphic() || *c == b' '));
        let bin = Payloads::new(1000, true);
        assert_eq!(bin.opcode, BINARY);
        assert!(bin.get(0).iter().all(|c| *c >= 0x80));
        assert!(std::str::from_utf8(bin.get(0)).is_err());
        assert_eq!(Payloads::new(0, false).get(0).len(), 0);
    }

    #[test]
    fn pool_outspans_the_deflate_window() {
        for size in [1, 16, 1000, 65536] {
            assert!(variant_count(size) * size >= MIN_POOL_BYTES || variant_count(size) == MAX_VARIANTS);
        }
        assert_eq!(variant_count(1 << 20), 8);
        assert_eq!(variant_count(64 << 20), 2);
    }
}
