//! RFC 6455 section 5.2 frames: header parsing, header writing and masking.
//!
//! Everything here works on byte slices so the client and the server share it; both
//! parse every complete frame a read brought in and write many frames per syscall.

pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// Whether `opcode` is a control frame (close, ping, pong).
pub fn is_control(opcode: u8) -> bool {
    opcode & 0x8 != 0
}

/// A parsed frame header; the payload follows at `header_len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub fin: bool,
    /// Set on the first frame of a permessage-deflate compressed message.
    pub rsv1: bool,
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    pub payload_len: usize,
    pub header_len: usize,
}

impl Header {
    /// Header plus payload: how many bytes of the buffer this frame occupies.
    pub fn frame_len(&self) -> usize {
        self.header_len + self.payload_len
    }
}

/// Why a peer's bytes are not a frame we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    ReservedBits,
    UnknownOpcode(u8),
    BadControlFrame,
    TooLong,
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::ReservedBits => write!(f, "reserved bits set"),
            FrameError::UnknownOpcode(op) => write!(f, "unknown opcode {op}"),
            FrameError::BadControlFrame => write!(f, "fragmented or oversized control frame"),
            FrameError::TooLong => write!(f, "frame longer than the limit"),
        }
    }
}

/// Parses the header at the start of `buf`. `Ok(None)` means more bytes are needed.
/// RSV2/RSV3 are always rejected (no extension here uses them); whether RSV1 is
/// allowed depends on the negotiated extensions, so the caller checks it.
pub fn parse_header(buf: &[u8], max_payload: usize) -> Result<Option<Header>, FrameError> {
    let [b0, b1, ..] = *buf else { return Ok(None) };
    if b0 & 0x30 != 0 {
        return Err(FrameError::ReservedBits);
    }
    let fin = b0 & 0x80 != 0;
    let opcode = b0 & 0x0F;
    match opcode {
        CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG => {}
        other => return Err(FrameError::UnknownOpcode(other)),
    }
    let masked = b1 & 0x80 != 0;
    let (len, mut at) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(&[a, b]) => (u64::from(u16::from_be_bytes([a, b])), 4),
            _ => return Ok(None),
        },
        127 => match buf.get(2..10).and_then(|s| <[u8; 8]>::try_from(s).ok()) {
            Some(bytes) => (u64::from_be_bytes(bytes), 10),
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if is_control(opcode) && (!fin || len > 125) {
        return Err(FrameError::BadControlFrame);
    }
    // RFC 6455 forbids 64-bit lengths with the top bit set; refusing them also keeps
    // `frame_len` from overflowing.
    let payload_len = usize::try_from(len)
        .ok()
        .filter(|&n| len >> 63 == 0 && n <= max_payload)
        .ok_or(FrameError::TooLong)?;
    let mask = if masked {
        match buf.get(at..at + 4).and_then(|s| <[u8; 4]>::try_from(s).ok()) {
            Some(key) => {
                at += 4;
                Some(key)
            }
            None => return Ok(None),
        }
    } else {
        None
    };
    Ok(Some(Header { fin, rsv1: b0 & 0x40 != 0, opcode, mask, payload_len, header_len: at }))
}

/// Appends a frame header (FIN set: this tool never fragments what it sends).
pub fn write_header(out: &mut Vec<u8>, opcode: u8, rsv1: bool, len: usize, mask: Option<[u8; 4]>) {
    out.push(0x80 | if rsv1 { 0x40 } else { 0 } | opcode);
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    if len <= 125 {
        out.push(mask_bit | len as u8);
    } else if let Ok(short) = u16::try_from(len) {
        out.push(mask_bit | 126);
        out.extend_from_slice(&short.to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
}

/// Appends a whole unmasked frame (what a server sends).
pub fn write_frame(out: &mut Vec<u8>, opcode: u8, rsv1: bool, payload: &[u8]) {
    write_header(out, opcode, rsv1, payload.len(), None);
    out.extend_from_slice(payload);
}

/// Appends a whole frame masked with `key` (what a client sends).
pub fn write_masked_frame(out: &mut Vec<u8>, opcode: u8, rsv1: bool, payload: &[u8], key: [u8; 4]) {
    write_header(out, opcode, rsv1, payload.len(), Some(key));
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], key);
}

/// XORs `data` with the repeating 4-byte `key` (masking and unmasking are the same).
/// Works 8 bytes at a time so a megabyte costs about as much as a copy.
pub fn apply_mask(data: &mut [u8], key: [u8; 4]) {
    // Byte order does not matter: the key bytes are laid out in memory in the same
    // order as the data bytes they apply to.
    let wide = u64::from_ne_bytes([key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ wide).to_ne_bytes());
    }
    // Whole 8-byte chunks keep the key phase at 0, so the tail starts at key[0].
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= key[i & 3];
    }
}

/// xorshift64*: cheap random-looking mask keys and handshake nonces. RFC 6455 wants
/// unpredictable masks to protect proxies; for a load tool on loopback a fresh
/// pseudo-random key per frame exercises the peer's unmasking just the same.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        // Zero is the one state xorshift never leaves.
        XorShift(seed | 1)
    }

    /// A seed that differs between processes and between calls.
    pub fn from_time(salt: u64) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        XorShift::new(nanos ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(std::process::id()) << 32)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn mask_key(&mut self) -> [u8; 4] {
        ((self.next_u64() >> 32) as u32).to_ne_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_matches_bytewise_definition() {
        let key = [0x12, 0x34, 0x56, 0x78];
        for len in [0, 1, 3, 7, 8, 9, 15, 16, 17, 1000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let mut fast = data.clone();
            apply_mask(&mut fast, key);
            let slow: Vec<u8> = data.iter().enumerate().map(|(i, b)| b ^ key[i % 4]).collect();
            assert_eq!(fast, slow, "len {len}");
            apply_mask(&mut fast, key);
            assert_eq!(fast, data);
        }
    }

    #[test]
    fn round_trip_all_length_encodings() {
        for len in [0usize, 125, 126, 65535, 65536, 1 << 20] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut out = Vec::new();
            write_masked_frame(&mut out, BINARY, true, &payload, [1, 2, 3, 4]);
            let header = parse_header(&out, usize::MAX).unwrap().unwrap();
            assert_eq!(header.opcode, BINARY);
            assert!(header.fin && header.rsv1);
            assert_eq!(header.payload_len, len);
            assert_eq!(header.frame_len(), out.len());
            let key = header.mask.unwrap();
            let mut body = out[header.header_len..].to_vec();
            apply_mask(&mut body, key);
            assert_eq!(body, payload);
            // Every strict prefix of the header asks for more bytes.
            for cut in 0..header.header_len {
                assert_eq!(parse_header(&out[..cut], usize::MAX), Ok(None));
            }

            let mut plain = Vec::new();
            write_frame(&mut plain, TEXT, false, &payload);
            let header = parse_header(&plain, usize::MAX).unwrap().unwrap();
            assert_eq!((header.opcode, header.mask, header.rsv1), (TEXT, None, false));
            assert_eq!(&plain[header.header_len..], &payload[..]);
        }
    }

    #[test]
    fn rejects_bad_frames() {
        assert_eq!(parse_header(&[0xA1, 0], 100), Err(FrameError::ReservedBits));
        assert_eq!(parse_header(&[0x83, 0], 100), Err(FrameError::UnknownOpcode(3)));
        assert_eq!(parse_header(&[0x09, 0], 100), Err(FrameError::BadControlFrame));
        assert_eq!(parse_header(&[0x89, 126, 0, 126], 100), Err(FrameError::BadControlFrame));
        assert_eq!(parse_header(&[0x82, 101], 100), Err(FrameError::TooLong));
        let mut huge = vec![0x82, 127];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(parse_header(&huge, usize::MAX), Err(FrameError::TooLong));
    }
}
