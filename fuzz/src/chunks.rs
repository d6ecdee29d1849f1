//! Splitting an input into reads. One fuzzer-chosen byte seeds the split points, so the
//! fuzzer explores the splits and the bytes independently: mutating the bytes keeps
//! the splits, mutating the seed keeps the bytes.

/// Cuts `data` into pieces. Seed 0 is one read; otherwise the seed's top three bits pick
/// a largest piece (1 byte up to 1 KiB) and the rest seed the sizes.
pub fn split(data: &[u8], seed: u8) -> Vec<&[u8]> {
    if seed == 0 {
        return vec![data];
    }
    const LARGEST: [usize; 8] = [1, 2, 3, 5, 9, 17, 130, 1024];
    let largest = LARGEST[usize::from(seed >> 5)];
    let mut state = u32::from(seed) | 0x1234_5600;
    let mut pieces = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        // xorshift32: any fixed sequence works; this one is short and has no zero cycle.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = 1 + (state as usize) % largest;
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        pieces.push(piece);
        rest = tail;
    }
    pieces
}
