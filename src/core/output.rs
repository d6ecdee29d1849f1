//! Handing an engine's pending output to its caller: the Vec itself, or a copy into
//! the caller's buffer.

/// Output capacity kept for the next frame after a move: enough for the small frames
/// that make up most traffic, so they need no allocation, and small enough not to
/// matter for an idle connection.
const KEPT_CAPACITY: usize = 128;

/// All of `out`, leaving it empty; `None` when there is nothing.
pub(crate) fn drain(out: &mut Vec<u8>) -> Option<Vec<u8>> {
    if out.is_empty() {
        None
    } else {
        Some(std::mem::take(out))
    }
}

/// Copies all of `out` to the start of `dst` and empties `out`, returning the number of
/// bytes copied; `None`, leaving `out` as it is, when it does not fit or is empty.
pub(crate) fn drain_into(out: &mut Vec<u8>, dst: &mut [u8]) -> Option<usize> {
    let len = out.len();
    if len == 0 {
        return None;
    }
    super::copy::copy(dst.get_mut(..len)?, out);
    out.clear();
    if out.capacity() > KEPT_CAPACITY {
        *out = Vec::new();
    }
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_and_empties_when_it_fits() {
        let mut out = vec![1, 2, 3];
        let mut dst = [0u8; 5];
        assert_eq!(drain_into(&mut out, &mut dst), Some(3));
        assert_eq!(dst, [1, 2, 3, 0, 0]);
        assert!(out.is_empty());
    }

    #[test]
    fn leaves_output_that_does_not_fit() {
        let mut out = vec![1, 2, 3];
        let mut dst = [0u8; 2];
        assert_eq!(drain_into(&mut out, &mut dst), None);
        assert_eq!(out, [1, 2, 3]);
        assert_eq!(dst, [0, 0]);
    }

    #[test]
    fn nothing_to_move() {
        assert_eq!(drain_into(&mut Vec::new(), &mut [0u8; 4]), None);
    }

    #[test]
    fn releases_large_capacity() {
        let mut out = Vec::with_capacity(4096);
        out.push(7);
        assert_eq!(drain_into(&mut out, &mut [0u8; 1]), Some(1));
        assert_eq!(out.capacity(), 0);
        let mut small = Vec::with_capacity(64);
        small.push(7);
        assert_eq!(drain_into(&mut small, &mut [0u8; 1]), Some(1));
        assert!(small.capacity() >= 64);
    }
}
