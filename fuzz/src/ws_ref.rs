//! A reference decoder for the frames a peer sends (RFC 6455 section 5, RFC 7692
//! section 7.2), written from the RFCs as one pass over the whole input. It says what
//! the core must deliver, and where the input allows more than one outcome (a frame
//! with two faults, input that ends mid-frame) it lists every outcome allowed.
//!
//! Compressed messages are inflated with zlib (see inflate_ref.rs), so that input zlib
//! accepts or refuses is judged the same way here; the core's own handling of it is
//! what is checked. A compressed message with no payload bytes at all (never valid
//! DEFLATE output: an empty message compresses to `00`) is taken as empty, leaving the
//! stream as it was.
//!
//! Close codes for each fault follow src/core/error.rs, the documented mapping.

use crate::inflate_ref::{Fed, ZlibInflater, TRAILER};
use crate::{utf8_ok, utf8_prefix_ok};

/// The peer's permessage-deflate parameters: what we inflate with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerDeflate {
    pub window_bits: u8,
    pub context_takeover: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct RefConfig {
    /// A server requires masked frames, a client refuses them (section 5.1).
    pub expect_masked: bool,
    pub deflate: Option<PeerDeflate>,
    pub max_length: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Message { text: bool, data: Vec<u8> },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// The core may fail here with one of these close codes; when it does, nothing
    /// after this point is expected. `needle`, when set, must appear in the error text.
    MayFail { codes: Vec<u16>, needle: Option<&'static str> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The input ran out with nothing left to report.
    Exhausted,
    /// A valid close frame; nothing after it is read.
    PeerClose { code: Option<u16>, reason: String },
    /// A fault: the core must fail with one of these close codes.
    Fail(Vec<u16>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub items: Vec<Item>,
    pub end: End,
}

const PROTOCOL_ERROR: u16 = 1002;
const INVALID_DATA: u16 = 1007;
const TOO_BIG: u16 = 1009;
const EXTENSION: u16 = 1010;

/// How far past the limit the reference keeps inflating, to learn whether corrupt data
/// follows in the same inflate step of the core (its steps are at most 64 KiB).
const INFLATE_SLACK: usize = 2 * 64 * 1024;

struct Message {
    text: bool,
    compressed: bool,
    data: Vec<u8>,
    wire_len: u64,
}

pub fn decode(input: &[u8], cfg: &RefConfig) -> Decoded {
    Decoder { cfg: *cfg, items: Vec::new(), message: None, inflater: None }.run(input)
}

struct Decoder {
    cfg: RefConfig,
    items: Vec<Item>,
    message: Option<Message>,
    inflater: Option<ZlibInflater>,
}

impl Decoder {
    fn done(self, end: End) -> Decoded {
        Decoded { items: self.items, end }
    }

    fn fail(self, codes: Vec<u16>) -> Decoded {
        self.done(End::Fail(codes))
    }

    fn run(mut self, input: &[u8]) -> Decoded {
        let mut at = 0usize;
        loop {
            let rest = &input[at..];
            // Everything below needs the first two bytes.
            let [b0, b1, ..] = *rest else { return self.done(End::Exhausted) };
            let fin = b0 & 0x80 != 0;
            let rsv1 = b0 & 0x40 != 0;
            let opcode = b0 & 0x0F;
            let control = opcode >= 0x8;
            // Faults the first two bytes decide are reported at once, even before the
            // rest of the header arrives.
            if b0 & 0x30 != 0 || (rsv1 && self.cfg.deflate.is_none()) {
                return self.fail(vec![PROTOCOL_ERROR]);
            }
            if !matches!(opcode, 0x0 | 0x1 | 0x2 | 0x8 | 0x9 | 0xA) {
                return self.fail(vec![PROTOCOL_ERROR]);
            }
            if control && !fin {
                return self.fail(vec![PROTOCOL_ERROR]);
            }
            let masked = b1 & 0x80 != 0;
            let (len, mut header_len) = match b1 & 0x7F {
                126 => match rest.get(2..4) {
                    Some(ext) => (u64::from(u16::from_be_bytes([ext[0], ext[1]])), 4),
                    None => return self.done(End::Exhausted),
                },
                127 => match rest.get(2..10) {
                    Some(ext) => {
                        let mut be = [0u8; 8];
                        be.copy_from_slice(ext);
                        (u64::from_be_bytes(be), 10)
                    }
                    None => return self.done(End::Exhausted),
                },
                short => (u64::from(short), 2),
            };
            if len >> 63 != 0 || (control && len > 125) {
                return self.fail(vec![PROTOCOL_ERROR]);
            }
            let key = if masked {
                match rest.get(header_len..header_len + 4) {
                    Some(key) => {
                        header_len += 4;
                        Some([key[0], key[1], key[2], key[3]])
                    }
                    None => return self.done(End::Exhausted),
                }
            } else {
                None
            };
            // The whole header is here.
            if masked != self.cfg.expect_masked {
                return self.fail(vec![PROTOCOL_ERROR]);
            }
            if rsv1 && !(opcode == 0x1 || opcode == 0x2) {
                return self.fail(vec![PROTOCOL_ERROR]);
            }
            match (opcode, &self.message) {
                (0x0, None) | (0x1 | 0x2, Some(_)) => return self.fail(vec![PROTOCOL_ERROR]),
                _ => {}
            }
            if !control {
                let held = self.message.as_ref().map_or(0, |m| m.wire_len);
                if held.saturating_add(len) > self.cfg.max_length {
                    return self.fail(vec![TOO_BIG]);
                }
            }
            at += header_len;
            let available = (input.len() - at).min(usize::try_from(len).unwrap_or(usize::MAX));
            let raw = &input[at..at + available];
            at += available;
            let payload: Vec<u8> = match key {
                Some(key) => raw.iter().enumerate().map(|(i, b)| b ^ key[i % 4]).collect(),
                None => raw.to_vec(),
            };
            let complete = available as u64 == len;

            if control {
                if !complete {
                    return self.done(End::Exhausted);
                }
                match opcode {
                    0x8 => return self.close_frame(&payload),
                    0x9 => self.items.push(Item::Ping(payload)),
                    _ => self.items.push(Item::Pong(payload)),
                }
                continue;
            }

            if opcode != 0x0 {
                self.message = Some(Message { text: opcode == 0x1, compressed: rsv1, data: Vec::new(), wire_len: 0 });
            }
            let compressed = self.message.as_ref().is_some_and(|m| m.compressed);
            if let Some(message) = self.message.as_mut() {
                message.wire_len += len;
            }
            if compressed {
                if let Some(end) = self.inflate_frame(&payload, complete) {
                    return self.done(end);
                }
                if !complete {
                    return self.done(End::Exhausted);
                }
            } else {
                let Some(message) = self.message.as_mut() else { unreachable!() };
                message.data.extend_from_slice(&payload);
                // Section 8.1: a text message fails as soon as its bytes cannot be UTF-8,
                // even in a frame not yet complete.
                if message.text && !utf8_prefix_ok(&message.data) {
                    return self.fail(vec![INVALID_DATA]);
                }
                if !complete {
                    return self.done(End::Exhausted);
                }
            }
            if fin {
                if let Some(end) = self.finish_message() {
                    return self.done(end);
                }
            }
        }
    }

    fn close_frame(self, payload: &[u8]) -> Decoded {
        match payload {
            [] => self.done(End::PeerClose { code: None, reason: String::new() }),
            [_] => self.fail(vec![PROTOCOL_ERROR]),
            [hi, lo, reason @ ..] => {
                let code = u16::from_be_bytes([*hi, *lo]);
                if !crate::wire::close_code_sendable(code) || !utf8_ok(reason) {
                    return self.fail(vec![PROTOCOL_ERROR]);
                }
                let reason = String::from_utf8_lossy(reason).into_owned();
                self.done(End::PeerClose { code: Some(code), reason })
            }
        }
    }

    /// The faults a piece of a compressed message shows: the core reports whichever
    /// it meets first, which depends on how the input was split into reads.
    fn inflate_faults(&mut self, piece: &[u8]) -> Vec<u16> {
        let max = usize::try_from(self.cfg.max_length).unwrap_or(usize::MAX);
        let bits = self.cfg.deflate.map_or(15, |d| d.window_bits);
        let inflater = self.inflater.get_or_insert_with(|| ZlibInflater::new(bits));
        let Some(message) = self.message.as_mut() else { unreachable!() };
        let fed = inflater.feed(piece, &mut message.data, max.saturating_add(INFLATE_SLACK));
        let mut faults = Vec::new();
        // Output past the limit stops the core, unless the data turned corrupt within
        // the same step.
        if message.data.len() > max {
            faults.push(TOO_BIG);
        }
        if fed == Fed::Corrupt {
            faults.push(EXTENSION);
        }
        // The core checks UTF-8 only on output it kept: within the limit.
        if message.text && !utf8_prefix_ok(&message.data[..message.data.len().min(max)]) {
            faults.push(INVALID_DATA);
        }
        faults
    }

    /// Inflates one frame's payload. Returns how decoding ends, if it does here.
    fn inflate_frame(&mut self, payload: &[u8], complete: bool) -> Option<End> {
        // zlib, with a window smaller than 32 KiB, refuses a distance beyond its window
        // unless the bytes it reaches are still in its output buffer: whether it does
        // depends on how the message was split. The peer broke its promise either way.
        if self.cfg.deflate.is_some_and(|d| d.window_bits < 15) {
            self.items.push(Item::MayFail { codes: vec![EXTENSION], needle: Some("too far back") });
        }
        let faults = self.inflate_faults(payload);
        if faults.is_empty() {
            return None;
        }
        if complete {
            Some(End::Fail(faults))
        } else {
            // Cut short: the core has seen these bytes, but zlib may not have decoded
            // as far as the fault yet.
            self.items.push(Item::MayFail { codes: faults, needle: None });
            Some(End::Exhausted)
        }
    }

    fn finish_message(&mut self) -> Option<End> {
        let message = self.message.as_ref()?;
        if message.compressed {
            let ended = self.inflater.as_ref().is_some_and(ZlibInflater::ended);
            if !ended && message.wire_len > 0 {
                // The trailer may complete a length/distance code the sender left open.
                if self.cfg.deflate.is_some_and(|d| d.window_bits < 15) {
                    self.items.push(Item::MayFail { codes: vec![EXTENSION], needle: Some("too far back") });
                }
                let faults = self.inflate_faults(&TRAILER);
                if !faults.is_empty() {
                    return Some(End::Fail(faults));
                }
            }
            // A stream that ended, or a peer without context takeover, starts afresh.
            let takeover = self.cfg.deflate.is_some_and(|d| d.context_takeover);
            if !takeover || self.inflater.as_ref().is_some_and(ZlibInflater::ended) {
                self.inflater = None;
            }
        }
        let message = self.message.take()?;
        if message.text && !utf8_ok(&message.data) {
            return Some(End::Fail(vec![INVALID_DATA]));
        }
        self.items.push(Item::Message { text: message.text, data: message.data });
        None
    }
}
