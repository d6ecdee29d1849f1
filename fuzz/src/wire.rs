//! A reference parser for what the core writes: a byte string that must be a sequence
//! of whole, valid RFC 6455 frames (section 5.2), written from the RFC's frame diagram.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireFrame {
    pub opcode: u8,
    pub rsv1: bool,
    /// Unmasked.
    pub payload: Vec<u8>,
}

pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// Section 7.4: the status codes an endpoint may put in a close frame. 1012-1014 were
/// registered with IANA after the RFC.
pub fn close_code_sendable(code: u16) -> bool {
    (1000..=1003).contains(&code) || (1007..=1014).contains(&code) || (3000..=4999).contains(&code)
}

fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize) -> Result<&'a [u8], String> {
    let piece = bytes.get(*at..*at + n).ok_or_else(|| format!("frame cut short at byte {}", *at))?;
    *at += n;
    Ok(piece)
}

/// Parses every frame in `bytes`. `masked`: a client's frames must all be masked, a
/// server's none (section 5.1). `rsv1_allowed`: permessage-deflate was negotiated, so
/// RSV1 may mark a data frame. The core never fragments what it sends, so every frame
/// must have FIN set. Nothing may follow a close frame.
pub fn parse(bytes: &[u8], masked: bool, rsv1_allowed: bool) -> Result<Vec<WireFrame>, String> {
    let mut frames: Vec<WireFrame> = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if frames.last().is_some_and(|f| f.opcode == CLOSE) {
            return Err("bytes after a close frame".into());
        }
        let head = take(bytes, &mut at, 2)?;
        let (b0, b1) = (head[0], head[1]);
        let opcode = b0 & 0x0F;
        if b0 & 0x80 == 0 {
            return Err(format!("FIN clear on opcode {opcode}"));
        }
        if b0 & 0x30 != 0 {
            return Err("RSV2 or RSV3 set".into());
        }
        let rsv1 = b0 & 0x40 != 0;
        let is_data = opcode == TEXT || opcode == BINARY;
        if rsv1 && !(rsv1_allowed && is_data) {
            return Err(format!("RSV1 set on opcode {opcode} (deflate negotiated: {rsv1_allowed})"));
        }
        if !matches!(opcode, TEXT | BINARY | CLOSE | PING | PONG) {
            return Err(format!("opcode {opcode} written"));
        }
        if (b1 & 0x80 != 0) != masked {
            return Err(format!("mask bit {} where {} was required", b1 >> 7, u8::from(masked)));
        }
        let len = match b1 & 0x7F {
            126 => {
                let ext = take(bytes, &mut at, 2)?;
                let len = u64::from(u16::from_be_bytes([ext[0], ext[1]]));
                if len < 126 {
                    return Err(format!("16-bit length {len} not minimal"));
                }
                len
            }
            127 => {
                let ext = take(bytes, &mut at, 8)?;
                let mut be = [0u8; 8];
                be.copy_from_slice(ext);
                let len = u64::from_be_bytes(be);
                if len >> 63 != 0 {
                    return Err("64-bit length with its top bit set".into());
                }
                if len <= 0xFFFF {
                    return Err(format!("64-bit length {len} not minimal"));
                }
                len
            }
            short => u64::from(short),
        };
        if opcode >= CLOSE && len > 125 {
            return Err(format!("control frame of {len} bytes"));
        }
        let key = if masked { Some(take(bytes, &mut at, 4)?.to_vec()) } else { None };
        let len = usize::try_from(len).map_err(|_| "length beyond memory".to_string())?;
        let raw = take(bytes, &mut at, len)?;
        let payload: Vec<u8> = match &key {
            Some(key) => raw.iter().enumerate().map(|(i, b)| b ^ key[i % 4]).collect(),
            None => raw.to_vec(),
        };
        if opcode == CLOSE {
            check_close_payload(&payload)?;
        }
        frames.push(WireFrame { opcode, rsv1, payload });
    }
    Ok(frames)
}

/// Section 5.5.1: empty, or a sendable code and a UTF-8 reason.
fn check_close_payload(payload: &[u8]) -> Result<(), String> {
    match payload {
        [] => Ok(()),
        [_] => Err("1-byte close payload".into()),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !close_code_sendable(code) {
                return Err(format!("close code {code} may not be sent"));
            }
            if !crate::utf8_ok(reason) {
                return Err("close reason is not UTF-8".into());
            }
            Ok(())
        }
    }
}

/// The code and reason of a close frame's payload (already checked by `parse`).
pub fn close_parts(payload: &[u8]) -> (Option<u16>, String) {
    match payload {
        [hi, lo, reason @ ..] => (Some(u16::from_be_bytes([*hi, *lo])), String::from_utf8_lossy(reason).into_owned()),
        _ => (None, String::new()),
    }
}

/// Builds a frame as a peer would send it, for seeds and tests: `b0` as given, masked
/// with `key` when there is one, with the shortest length encoding.
pub fn encode(b0: u8, key: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![b0];
    let mask_bit = if key.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    if len <= 125 {
        out.push(mask_bit | len as u8);
    } else if len <= 0xFFFF {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    match key {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}
