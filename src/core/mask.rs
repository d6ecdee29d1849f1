//! Payload masking (RFC 6455 section 5.3).
//!
//! Masking is an XOR with a 4-byte key that repeats from the first payload byte. The
//! payload of one frame may arrive in several pieces, so every function takes the
//! offset of its first byte within the frame's payload.

use super::copy;

/// XORs `buf` in place with `key`, as if `buf` started `offset` bytes into the payload.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotate(key, offset);
    let word = u64::from_ne_bytes([key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]]);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut lane = [0u8; 8];
        lane.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(lane) ^ word).to_ne_bytes());
    }
    // Whole 8-byte lanes keep the key phase, so the tail starts at key[0].
    for (byte, k) in chunks.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *byte ^= k;
    }
}

/// Copies `src` onto the end of `dst`, XORed with `key` as if `src` started `offset`
/// bytes into the payload: masking and unmasking are the same operation. Each piece is
/// masked while it is still in the nearest cache (see `copy` on why pieces).
pub fn extend_masked(dst: &mut Vec<u8>, src: &[u8], key: [u8; 4], offset: usize) {
    dst.reserve(src.len());
    let mut done = offset;
    for piece in src.chunks(copy::PIECE) {
        let start = dst.len();
        dst.extend_from_slice(piece);
        if let Some(tail) = dst.get_mut(start..) {
            apply_mask(tail, key, done);
        }
        done += piece.len();
    }
}

/// The key as seen from `offset` bytes into the payload.
fn rotate(key: [u8; 4], offset: usize) -> [u8; 4] {
    let mut out = key;
    out.rotate_left(offset % 4);
    out
}

/// The byte-at-a-time definition from section 5.3, kept as the reference for tests.
#[cfg(test)]
pub fn apply_mask_bytewise(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(offset + i) % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::test_util::hex;

    #[test]
    fn masks_rfc_example_hello() {
        // Section 5.7: a masked "Hello".
        let mut payload = b"Hello".to_vec();
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(payload, hex("7f 9f 4d 51 58"));
    }

    #[test]
    fn matches_bytewise_reference_at_every_alignment_and_offset() {
        let key = [0x12, 0x34, 0x56, 0x78];
        let data: Vec<u8> = (0..100u32).map(|i| (i * 7 + 3) as u8).collect();
        for align in 0..16 {
            for len in 0..(data.len() - align) {
                for offset in 0..4 {
                    let mut fast = data.clone();
                    let mut slow = data.clone();
                    apply_mask(&mut fast[align..align + len], key, offset);
                    apply_mask_bytewise(&mut slow[align..align + len], key, offset);
                    assert_eq!(fast, slow, "align {align} len {len} offset {offset}");
                }
            }
        }
    }

    #[test]
    fn masking_in_pieces_equals_masking_whole() {
        let key = [0xde, 0xad, 0xbe, 0xef];
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 13 + i / 256) as u8).collect();
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        // Splits around the copy pieces too, where the key phase must carry over.
        let splits = (0..57).chain([copy::PIECE - 3, copy::PIECE, copy::PIECE + 1, 2 * copy::PIECE + 2, data.len()]);
        for split in splits {
            let mut pieces = Vec::new();
            extend_masked(&mut pieces, &data[..split], key, 0);
            extend_masked(&mut pieces, &data[split..], key, split);
            assert_eq!(pieces, whole, "split {split}");
        }
    }
}
