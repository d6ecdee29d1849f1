//! Frame header codec (RFC 6455 section 5.2).
//!
//! `parse_header` never consumes input: it either returns a complete header and its
//! length in bytes, reports that more bytes are needed, or reports a protocol error
//! that can be decided from the header alone.

use super::error::ProtocolError;

/// The largest payload a control frame may carry (RFC 6455 section 5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;
/// The longest possible header: 2 bytes, 8 bytes of extended length, 4 bytes of mask.
pub const MAX_HEADER_BYTES: usize = 14;

const FIN: u8 = 0x80;
pub const RSV1: u8 = 0x40;
pub const RSV2: u8 = 0x20;
pub const RSV3: u8 = 0x10;
const MASK: u8 = 0x80;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl OpCode {
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }

    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }
}

impl TryFrom<u8> for OpCode {
    type Error = u8;

    fn try_from(value: u8) -> Result<Self, u8> {
        match value {
            0x0 => Ok(OpCode::Continuation),
            0x1 => Ok(OpCode::Text),
            0x2 => Ok(OpCode::Binary),
            0x8 => Ok(OpCode::Close),
            0x9 => Ok(OpCode::Ping),
            0xA => Ok(OpCode::Pong),
            other => Err(other),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub fin: bool,
    pub rsv1: bool,
    pub rsv2: bool,
    pub rsv3: bool,
    pub opcode: OpCode,
    pub mask: Option<[u8; 4]>,
    pub payload_len: u64,
}

impl FrameHeader {
    /// The reserved bits as they sit in the first byte.
    pub fn rsv(&self) -> u8 {
        (if self.rsv1 { RSV1 } else { 0 }) | (if self.rsv2 { RSV2 } else { 0 }) | (if self.rsv3 { RSV3 } else { 0 })
    }
}

/// Outcome of looking at the start of a buffer for a frame header.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// The header and how many bytes of input it occupies.
    Header(FrameHeader, usize),
    /// Not enough bytes yet; nothing was consumed.
    NeedMore,
}

/// Parses a frame header from the start of `buf`.
///
/// Errors that the first two bytes already decide (reserved bits, unknown opcode,
/// fragmented control frame) are reported as soon as those bytes are present, so a
/// peer cannot stall the connection by withholding the rest of a bad header.
/// `allowed_rsv` holds the reserved bits that a negotiated extension has claimed.
pub fn parse_header(buf: &[u8], allowed_rsv: u8) -> Result<Parsed, ProtocolError> {
    let (b0, b1) = match buf {
        [b0, b1, ..] => (*b0, *b1),
        _ => return Ok(Parsed::NeedMore),
    };
    let rsv = b0 & (RSV1 | RSV2 | RSV3);
    if rsv & !allowed_rsv != 0 {
        return Err(ProtocolError::ReservedBits {
            rsv1: b0 & RSV1 != 0,
            rsv2: b0 & RSV2 != 0,
            rsv3: b0 & RSV3 != 0,
        });
    }
    let opcode = OpCode::try_from(b0 & 0x0F).map_err(ProtocolError::UnknownOpcode)?;
    let fin = b0 & FIN != 0;
    if opcode.is_control() && !fin {
        return Err(ProtocolError::FragmentedControlFrame(opcode.as_u8()));
    }

    let masked = b1 & MASK != 0;
    let (payload_len, mut at) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(&[a, b]) => (u64::from(u16::from_be_bytes([a, b])), 4),
            _ => return Ok(Parsed::NeedMore),
        },
        127 => match buf.get(2..10).and_then(|s| <[u8; 8]>::try_from(s).ok()) {
            Some(bytes) => {
                let len = u64::from_be_bytes(bytes);
                // Section 5.2: "the most significant bit MUST be 0".
                if len >> 63 != 0 {
                    return Err(ProtocolError::InvalidLength);
                }
                (len, 10)
            }
            None => return Ok(Parsed::NeedMore),
        },
        short => (u64::from(short), 2),
    };
    if opcode.is_control() && payload_len > MAX_CONTROL_PAYLOAD as u64 {
        return Err(ProtocolError::ControlFrameTooLong(payload_len));
    }

    let mask = if masked {
        let key = buf.get(at..at + 4).and_then(|s| <[u8; 4]>::try_from(s).ok());
        match key {
            Some(key) => {
                at += 4;
                Some(key)
            }
            None => return Ok(Parsed::NeedMore),
        }
    } else {
        None
    };

    let header = FrameHeader {
        fin,
        rsv1: b0 & RSV1 != 0,
        rsv2: b0 & RSV2 != 0,
        rsv3: b0 & RSV3 != 0,
        opcode,
        mask,
        payload_len,
    };
    Ok(Parsed::Header(header, at))
}

/// Appends the encoded header to `out`. The payload (already masked if `mask` is set)
/// follows it; this function does not write it.
pub fn encode_header_into(header: &FrameHeader, out: &mut Vec<u8>) {
    let mut b0 = header.opcode.as_u8();
    if header.fin {
        b0 |= FIN;
    }
    if header.rsv1 {
        b0 |= RSV1;
    }
    if header.rsv2 {
        b0 |= RSV2;
    }
    if header.rsv3 {
        b0 |= RSV3;
    }
    let mask_bit = if header.mask.is_some() { MASK } else { 0 };
    out.push(b0);
    let len = header.payload_len;
    if len <= 125 {
        out.push(mask_bit | len as u8);
    } else if let Ok(len16) = u16::try_from(len) {
        out.push(mask_bit | 126);
        out.extend_from_slice(&len16.to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&len.to_be_bytes());
    }
    if let Some(key) = header.mask {
        out.extend_from_slice(&key);
    }
}

/// Size of the header `encode_header_into` writes for this payload length.
pub fn header_len(payload_len: u64, masked: bool) -> usize {
    let base = if payload_len <= 125 {
        2
    } else if payload_len <= 0xFFFF {
        4
    } else {
        10
    };
    base + if masked { 4 } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::test_util::hex;

    fn header(opcode: OpCode, len: u64, mask: Option<[u8; 4]>) -> FrameHeader {
        FrameHeader { fin: true, rsv1: false, rsv2: false, rsv3: false, opcode, mask, payload_len: len }
    }

    /// Encoding gives the bytes and parsing the bytes gives the header back.
    fn round_trip(h: FrameHeader, bytes: &str) {
        let bytes = hex(bytes);
        let mut out = Vec::new();
        encode_header_into(&h, &mut out);
        assert_eq!(out, bytes);
        assert_eq!(header_len(h.payload_len, h.mask.is_some()), bytes.len());
        assert_eq!(parse_header(&bytes, 0), Ok(Parsed::Header(h, bytes.len())));
        for cut in 0..bytes.len() {
            let partial = parse_header(&bytes[..cut], 0);
            assert_eq!(partial, Ok(Parsed::NeedMore), "cut at {cut}");
        }
    }

    mod base_framing_5_2 {
        use super::*;

        #[test]
        fn seven_bit_length() {
            round_trip(header(OpCode::Text, 5, None), "81 05");
            round_trip(header(OpCode::Binary, 125, None), "82 7d");
        }

        #[test]
        fn sixteen_bit_length() {
            round_trip(header(OpCode::Binary, 126, None), "82 7e 00 7e");
            round_trip(header(OpCode::Binary, 65535, None), "82 7e ff ff");
        }

        #[test]
        fn sixty_four_bit_length() {
            round_trip(header(OpCode::Binary, 65536, None), "82 7f 00 00 00 00 00 01 00 00");
            round_trip(header(OpCode::Binary, (1 << 63) - 1, None), "82 7f 7f ff ff ff ff ff ff ff");
        }

        #[test]
        fn masked_header_carries_key() {
            round_trip(header(OpCode::Text, 5, Some([0x37, 0xfa, 0x21, 0x3d])), "81 85 37 fa 21 3d");
        }

        #[test]
        fn rejects_length_with_top_bit_set() {
            let bytes = hex("82 7f 80 00 00 00 00 00 00 00");
            assert_eq!(parse_header(&bytes, 0), Err(ProtocolError::InvalidLength));
        }

        #[test]
        fn rejects_reserved_bits_not_negotiated() {
            assert_eq!(
                parse_header(&hex("c1 00"), 0),
                Err(ProtocolError::ReservedBits { rsv1: true, rsv2: false, rsv3: false })
            );
            assert!(matches!(parse_header(&hex("c1 00"), RSV1), Ok(Parsed::Header(..))));
        }

        #[test]
        fn rejects_unknown_opcode_from_first_byte() {
            assert_eq!(parse_header(&hex("83 80"), 0), Err(ProtocolError::UnknownOpcode(3)));
            assert_eq!(parse_header(&hex("8b 80"), 0), Err(ProtocolError::UnknownOpcode(11)));
        }
    }

    mod control_frames_5_5 {
        use super::*;

        #[test]
        fn rejects_fragmented_ping() {
            assert_eq!(parse_header(&hex("09 00"), 0), Err(ProtocolError::FragmentedControlFrame(9)));
        }

        #[test]
        fn rejects_control_payload_over_125() {
            assert_eq!(parse_header(&hex("89 7e 00 7e"), 0), Err(ProtocolError::ControlFrameTooLong(126)));
            round_trip(header(OpCode::Ping, 125, None), "89 7d");
        }
    }
}
