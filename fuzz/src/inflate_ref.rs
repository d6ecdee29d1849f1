//! Reference inflate for permessage-deflate (RFC 7692 section 7.2.2), two ways:
//!
//! - `ZlibInflater`: flate2's `Decompress`, driven in the plainest way (one call per
//!   piece, output unbounded but for a cap). It decodes exactly as the zlib the core
//!   links, so it says what the core must do with any input, valid or not: the
//!   targets check the core's own work (splits, limits, state reuse, the trailer).
//! - `RefInflater`: miniz_oxide, a second DEFLATE implementation. Where it decodes a
//!   message, the core must decode the same bytes. Its corruption checks differ from
//!   zlib's in timing (it refuses an unusable Huffman table as soon as it reads one;
//!   zlib may wait for more input), so where it refuses, it proves nothing about zlib.
//!   The whole output of a stream is kept in one flat buffer and miniz_oxide is told so
//!   (`NON_WRAPPING_OUTPUT_BUF`): then, like zlib, it refuses a distance that reaches
//!   back before the start of the stream instead of reading a zeroed window.

use miniz_oxide::inflate::core::inflate_flags::{TINFL_FLAG_HAS_MORE_INPUT, TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF};
use miniz_oxide::inflate::core::{decompress, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

/// The four bytes a sender strips from the end of each compressed message.
pub const TRAILER: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fed {
    /// All input used (or ignored after the stream's final block).
    Ok,
    /// The message grew past the cap given; decoding stopped there.
    TooBig,
    Corrupt,
}

/// One DEFLATE stream, which with context takeover spans several messages.
pub struct RefInflater {
    decomp: Box<DecompressorOxide>,
    history: Vec<u8>,
    /// A block with BFINAL set ended the stream: the rest of the message is not
    /// DEFLATE data any more (section 7.2.3.4's trailer, or nothing).
    ended: bool,
    failed: bool,
}

impl Default for RefInflater {
    fn default() -> Self {
        Self::new()
    }
}

impl RefInflater {
    pub fn new() -> Self {
        RefInflater { decomp: Box::default(), history: Vec::new(), ended: false, failed: false }
    }

    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Inflates `input`, appending to `out`; stops once `out` holds more than `cap` bytes.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>, cap: usize) -> Fed {
        if self.failed {
            return Fed::Corrupt;
        }
        loop {
            if self.ended {
                return Fed::Ok;
            }
            let pos = self.history.len();
            self.history.resize(pos + 32 * 1024, 0);
            let flags = TINFL_FLAG_HAS_MORE_INPUT | TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
            let (status, used, written) = decompress(&mut self.decomp, input, &mut self.history, pos, flags);
            self.history.truncate(pos + written);
            input = &input[used..];
            out.extend_from_slice(&self.history[pos..]);
            if out.len() > cap {
                return Fed::TooBig;
            }
            match status {
                TINFLStatus::Done => self.ended = true,
                TINFLStatus::NeedsMoreInput => return Fed::Ok,
                TINFLStatus::HasMoreOutput => {}
                TINFLStatus::FailedCannotMakeProgress => return Fed::Ok,
                _ => {
                    self.failed = true;
                    return Fed::Corrupt;
                }
            }
        }
    }
}

/// flate2 (zlib) as a reference: see the module comment.
pub struct ZlibInflater {
    state: flate2::Decompress,
    ended: bool,
    failed: bool,
    /// zlib's message for the corruption it found, if any.
    error: Option<String>,
}

impl ZlibInflater {
    /// zlib has no 8-bit raw window; like every permessage-deflate on zlib, 8 reads as 9.
    pub fn new(window_bits: u8) -> Self {
        ZlibInflater { state: flate2::Decompress::new_with_window_bits(false, window_bits.clamp(9, 15)), ended: false, failed: false, error: None }
    }

    /// Whether the corruption zlib found is a distance past the window, a verdict that
    /// with a small window depends on how the output was cut into calls: zlib lets a
    /// distance reach back into the output of the same call, whatever the window.
    pub fn refused_far_distance(&self) -> bool {
        self.error.as_deref().is_some_and(|m| m.contains("too far back"))
    }

    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Same contract as `RefInflater::feed`.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>, cap: usize) -> Fed {
        if self.failed {
            return Fed::Corrupt;
        }
        loop {
            if self.ended {
                return Fed::Ok;
            }
            out.reserve(32 * 1024);
            let (before_in, before_out) = (self.state.total_in(), self.state.total_out());
            let status = self.state.decompress_vec(input, out, flate2::FlushDecompress::None);
            let used = (self.state.total_in() - before_in) as usize;
            let produced = (self.state.total_out() - before_out) as usize;
            input = &input[used..];
            if out.len() > cap {
                return Fed::TooBig;
            }
            match status {
                Err(error) => {
                    self.failed = true;
                    self.error = Some(error.message().unwrap_or("invalid data").to_owned());
                    return Fed::Corrupt;
                }
                Ok(flate2::Status::StreamEnd) => self.ended = true,
                Ok(_) if used == 0 && produced == 0 => return Fed::Ok,
                Ok(_) if input.is_empty() && out.len() < out.capacity() => return Fed::Ok,
                Ok(_) => {}
            }
        }
    }
}

/// Inflates one whole message (its payload, the trailer added), for tests and seeds.
pub fn inflate_message(payload: &[u8], cap: usize) -> Result<Vec<u8>, Fed> {
    let mut inflater = RefInflater::new();
    let mut out = Vec::new();
    match inflater.feed(payload, &mut out, cap) {
        Fed::Ok => {}
        other => return Err(other),
    }
    match inflater.feed(&TRAILER, &mut out, cap) {
        Fed::Ok => Ok(out),
        other => Err(other),
    }
}

/// How far past the limit the reference keeps inflating, to learn whether corrupt data
/// follows within the same inflate step of the core (its steps are at most 64 KiB).
const SLACK: usize = 2 * 64 * 1024;

const WINDOWS: [u8; 8] = [15, 15, 15, 15, 8, 9, 11, 14];

/// Input: a setup byte (window bits, context takeover, limit), a byte whose low bit
/// makes two codecs take turns (they share the per-thread pool of zlib states), then
/// messages as pieces: a byte whose low 7 bits give the piece's length and whose high
/// bit ends the message, then the piece.
pub fn fuzz_inflate(data: &[u8]) {
    use faye_websocket_native::core::deflate::{Decompressor, InflateError};

    let [setup, options, rest @ ..] = data else { return };
    let mut rest: &[u8] = rest;
    let bits = WINDOWS[usize::from(setup & 0x07)];
    let takeover = setup & 0x08 != 0;
    let limit = crate::MAX_LENGTHS[usize::from(setup >> 4)];
    let codecs = if options & 1 != 0 { 2 } else { 1 };
    let max = usize::try_from(limit).unwrap_or(usize::MAX);

    let mut messages: Vec<Vec<&[u8]>> = vec![Vec::new()];
    while let [head, tail @ ..] = rest {
        let (piece, tail) = tail.split_at(usize::from(head & 0x7F).min(tail.len()));
        messages.last_mut().expect("never empty").push(piece);
        if head & 0x80 != 0 {
            messages.push(Vec::new());
        }
        rest = tail;
    }

    let mut cores: Vec<Decompressor> = (0..codecs).map(|_| Decompressor::new(bits, takeover)).collect();
    let mut zlibs: Vec<Option<ZlibInflater>> = (0..codecs).map(|_| None).collect();
    let mut minizes: Vec<Option<RefInflater>> = (0..codecs).map(|_| None).collect();
    // Once miniz_oxide refused part of a shared stream, it no longer knows the window.
    let mut miniz_lost = vec![false; codecs];
    for (n, pieces) in messages.iter().enumerate() {
        let core = &mut cores[n % codecs];
        let mut out = Vec::new();
        let mut result = Ok(());
        for piece in pieces {
            result = core.inflate(piece, &mut out, limit);
            if result.is_err() {
                break;
            }
            assert!(out.len() <= max, "inflate grew the output past the limit");
        }
        if result.is_ok() {
            result = core.finish_message(&mut out, limit);
        }
        match &result {
            Ok(()) => assert!(out.len() <= max, "output {} past the limit {limit}", out.len()),
            // One byte over tells "too much" from "exactly full".
            Err(_) => assert!(out.len() <= max.saturating_add(1), "output {} past the limit {limit}", out.len()),
        }

        // A message without a single payload byte is empty; its trailer is not fed.
        let empty = pieces.iter().all(|p| p.is_empty());
        let trailer: &[u8] = if empty { &[] } else { &TRAILER };
        let zlib = zlibs[n % codecs].get_or_insert_with(|| ZlibInflater::new(bits));
        let mut expected = Vec::new();
        let mut fed = Fed::Ok;
        for piece in pieces.iter().copied().chain([trailer]) {
            fed = zlib.feed(piece, &mut expected, max.saturating_add(SLACK));
            if fed != Fed::Ok {
                break;
            }
        }
        let too_big = expected.len() > max;
        let corrupt = fed == Fed::Corrupt;
        // Both cut their output differently (see `refused_far_distance`), so with a
        // small window a far distance may pass in one and not in the other.
        let far_either_way = bits < 15 && corrupt && zlib.refused_far_distance();
        match &result {
            Ok(()) if far_either_way => {}
            Ok(()) => {
                assert!(!too_big && !corrupt, "accepted a message zlib refuses ({fed:?}, {} bytes)", expected.len());
                assert_eq!(out, expected, "inflated output differs from zlib's");
            }
            Err(InflateError::TooLarge) => assert!(too_big, "TooLarge, but zlib inflates {} bytes ({fed:?})", expected.len()),
            Err(InflateError::Corrupt(message)) => {
                // With a small window zlib's verdict on a far distance depends on how
                // its output was cut; the core cuts finer than the reference.
                let far = bits < 15 && message.contains("too far back");
                assert!(corrupt || far, "corrupt ({message}), but zlib inflates {} bytes", expected.len());
            }
        }

        // A second implementation: whatever it decodes within the limit, the core must
        // decode the same, unless zlib refuses it too: miniz_oxide is the more lenient
        // of the two (it inflates a dynamic block whose code lengths leave out the
        // end-of-block symbol, which zlib calls "missing end-of-block"), and zlib is
        // what Node and the permessage-deflate package inflate with.
        let miniz = minizes[n % codecs].get_or_insert_with(RefInflater::new);
        let mut second = Vec::new();
        let mut fed_second = Fed::Ok;
        for piece in pieces.iter().copied().chain([trailer]) {
            fed_second = miniz.feed(piece, &mut second, max.saturating_add(SLACK));
            if fed_second != Fed::Ok {
                break;
            }
        }
        if fed_second == Fed::Ok && !corrupt && second.len() <= max && bits == 15 && !miniz_lost[n % codecs] {
            assert_eq!(result, Ok(()), "miniz_oxide inflates {} bytes that the core refuses", second.len());
            assert_eq!(out, second, "output differs from miniz_oxide's");
        }

        if result.is_err() {
            // The connection fails; nothing more reaches this codec.
            return;
        }
        if !takeover || zlib.ended() {
            zlibs[n % codecs] = None;
        }
        if takeover && fed_second != Fed::Ok {
            miniz_lost[n % codecs] = true;
        }
        if !takeover || fed_second != Fed::Ok || miniz.ended() {
            minizes[n % codecs] = None;
        }
    }
}
