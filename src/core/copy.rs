//! Copies of payload bytes, made in pieces of at most [`PIECE`] bytes.
//!
//! Above a few KiB, glibc's `memcpy` switches to `rep movsb`, which AMD Zen CPUs run
//! about 15 times slower when the destination lies 4 to 28 bytes past the source
//! modulo 4096 (measured on an EPYC under glibc 2.36: 64 KiB in 24 µs instead of
//! 1.4; glibc bug 30994). Payloads sit a few bytes into buffers (behind a frame header,
//! in a chunk the kernel filled), so real copies land in that window: receiving one
//! 64 KiB message cost 21–40 µs in its copy. Below the threshold glibc copies with
//! vector loads and stores, which run at full speed whatever the alignment, and on
//! CPUs without the problem the extra calls cost nothing measurable.
//!
//! The compiler must not fuse the pieces back into one large `memcpy`, as it did with a
//! loop over `chunks_mut(PIECE)`: `copy` computes each piece's end from the lengths,
//! and `extend` goes through `Vec::extend_from_slice`, whose length update sits between
//! the pieces. Both were measured to stay fast at the slow alignment.

/// Below glibc's smallest `rep movsb` threshold (2048 bytes × vector width / 16).
pub const PIECE: usize = 2048;

/// `dst.extend_from_slice(src)`, piece by piece.
pub fn extend(dst: &mut Vec<u8>, src: &[u8]) {
    dst.reserve(src.len());
    for piece in src.chunks(PIECE) {
        dst.extend_from_slice(piece);
    }
}

/// Copies as much of `src` as fits to the start of `dst`, piece by piece.
pub fn copy(dst: &mut [u8], src: &[u8]) {
    let len = dst.len().min(src.len());
    let mut at = 0;
    while at < len {
        let end = (at + PIECE).min(len);
        if let (Some(to), Some(from)) = (dst.get_mut(at..end), src.get(at..end)) {
            to.copy_from_slice(from);
        }
        at = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn extend_appends_every_byte_in_order() {
        for len in [0, 1, PIECE - 1, PIECE, PIECE + 1, 3 * PIECE + 5, 65_540] {
            let src = bytes(len);
            let mut dst = vec![9, 8, 7];
            extend(&mut dst, &src);
            assert_eq!(dst.len(), 3 + len);
            assert_eq!(&dst[..3], &[9, 8, 7]);
            assert_eq!(&dst[3..], &src[..], "len {len}");
        }
    }

    #[test]
    fn copy_fills_the_shorter_length() {
        for len in [0, 1, PIECE, PIECE + 1, 2 * PIECE + 3] {
            let src = bytes(len);
            let mut dst = vec![0xEE; len + 4];
            copy(&mut dst, &src);
            assert_eq!(&dst[..len], &src[..]);
            assert_eq!(&dst[len..], &[0xEE; 4], "bytes past the source are left alone");

            let mut short = vec![0u8; len / 2];
            copy(&mut short, &src);
            assert_eq!(&short[..], &src[..len / 2]);
        }
    }
}
