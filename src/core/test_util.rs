//! Helpers shared by the core's unit tests.

use super::MaskSource;

/// Parses "81 05 48 65" into bytes; whitespace is ignored.
pub fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// Always the same key, so client output is predictable.
pub struct FixedMask(pub [u8; 4]);

impl MaskSource for FixedMask {
    fn next_key(&mut self) -> [u8; 4] {
        self.0
    }
}

/// Masks `payload` with `key` and prefixes a masked header, for building client frames.
pub fn masked_frame(b0: u8, key: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = vec![b0];
    let len = payload.len();
    if len <= 125 {
        out.push(0x80 | len as u8);
    } else if len <= 0xFFFF {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}
