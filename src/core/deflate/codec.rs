//! The permessage-deflate codec (RFC 7692 section 7.2): raw deflate, one sync flush per
//! message with its trailing `00 00 ff ff` removed, and the trailer appended again on
//! inflate.
//!
//! Memory: zlib state is allocated on a codec's first message. With context takeover
//! it must survive between messages (it is the shared window). Without, nothing of it
//! survives a message, so the state goes back, reset, to a small per-thread pool that
//! every such connection draws from: an idle connection without takeover holds no zlib
//! state, and a busy one allocates none per message. A per-thread pool keeps worker
//! threads independent.
//!
//! zlib cannot make raw deflate streams with an 8-bit window; as permessage-deflate does,
//! 8 is served with 9 (`MIN_WINDOW_BITS`). Compression goes through zlib directly
//! (`zlib.rs`) so that `memLevel` and `strategy` apply as they do in permessage-deflate.

use std::cell::RefCell;

use flate2::{Decompress, FlushDecompress, Status};

use super::zlib::RawDeflate;

const MIN_WINDOW_BITS: u8 = 9;
const TRAILER: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Inflate output is produced in steps of at most this many bytes, so a small input
/// that inflates hugely is stopped at the limit without allocating past it.
const INFLATE_STEP: usize = 64 * 1024;
/// The first step for an input: room for it inflated four times over, at least this
/// much, doubling while the output fills it. (Making room is free: the output goes
/// into uninitialised capacity, so no step is zeroed, and a step larger than the
/// message costs no cache lines.)
const FIRST_INFLATE_STEP: usize = 4 * 1024;
const DEFAULT_LEVEL: u32 = 6;
/// zlib's defaults, as Node's zlib and flate2 use them.
const DEFAULT_MEM_LEVEL: u32 = 8;
const DEFAULT_STRATEGY: u32 = 0;

/// What a compressor state was made with; pooled states are shared only between equals.
type CompressorKey = (u32, u8, u32, u32);

fn clamp_bits(bits: u8) -> u8 {
    bits.clamp(MIN_WINDOW_BITS, 15)
}

/// How many idle states a thread keeps, across all configurations. One message is
/// processed at a time per thread, so one per configuration in use is enough.
const POOL_LIMIT: usize = 8;

thread_local! {
    static SPARE_COMPRESSORS: RefCell<Vec<(CompressorKey, RawDeflate)>> = const { RefCell::new(Vec::new()) };
    static SPARE_DECOMPRESSORS: RefCell<Vec<(u8, Decompress)>> = const { RefCell::new(Vec::new()) };
}

fn take_spare<K: PartialEq, T>(pool: &RefCell<Vec<(K, T)>>, key: &K) -> Option<T> {
    let mut pool = pool.borrow_mut();
    let at = pool.iter().position(|(k, _)| k == key)?;
    Some(pool.swap_remove(at).1)
}

fn put_spare<K, T>(pool: &RefCell<Vec<(K, T)>>, key: K, state: T) {
    let mut pool = pool.borrow_mut();
    if pool.len() < POOL_LIMIT {
        pool.push((key, state));
    }
}

/// zlib's tuning knobs beyond the window: permessage-deflate's `level`, `memLevel`
/// and `strategy` options (`None` for zlib's defaults).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tuning {
    pub level: Option<u32>,
    pub mem_level: Option<u32>,
    pub strategy: Option<u32>,
}

pub struct Compressor {
    key: CompressorKey,
    context_takeover: bool,
    state: Option<RawDeflate>,
}

impl Compressor {
    pub fn new(tuning: Tuning, window_bits: u8, context_takeover: bool) -> Self {
        let key = (
            tuning.level.unwrap_or(DEFAULT_LEVEL).min(9),
            clamp_bits(window_bits),
            tuning.mem_level.unwrap_or(DEFAULT_MEM_LEVEL).clamp(1, 9),
            tuning.strategy.unwrap_or(DEFAULT_STRATEGY).min(4),
        );
        Compressor { key, context_takeover, state: None }
    }

    /// Compresses one whole message into `out` (appended).
    pub fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let key = self.key;
        let mut state = match self.state.take() {
            Some(state) => state,
            None => match (!self.context_takeover).then(|| SPARE_COMPRESSORS.with(|pool| take_spare(pool, &key))).flatten() {
                Some(state) => state,
                None => RawDeflate::new(key.0, key.1, key.2, key.3)?,
            },
        };
        // On error the state is dropped: it may be mid-stream.
        Self::compress_with(&mut state, input, out)?;
        if self.context_takeover {
            self.state = Some(state);
        } else {
            state.reset();
            SPARE_COMPRESSORS.with(|pool| put_spare(pool, key, state));
        }
        Ok(())
    }

    fn compress_with(state: &mut RawDeflate, input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let start = out.len();
        state.compress_sync(input, out)?;
        if out.len() >= start + TRAILER.len() && out.ends_with(&TRAILER) {
            out.truncate(out.len() - TRAILER.len());
        }
        // zlib writes nothing for an empty flush right after another flush, but an
        // empty payload would leave the receiver inflating its bare trailer, which is
        // not a block. One zero byte is an empty stored block once the receiver
        // appends the trailer (RFC 7692 section 7.2.3.6).
        if out.len() == start {
            out.push(0x00);
        }
        Ok(())
    }

    /// Whether zlib state is allocated (for memory tests).
    pub fn is_allocated(&self) -> bool {
        self.state.is_some()
    }

    /// Moves this compressor's stream out, with its settings, leaving one with the
    /// same settings and no stream: for compressing a message elsewhere (see
    /// `Hybi::take_compression`), after which the one moved out is put back.
    pub fn take(&mut self) -> Compressor {
        Compressor { key: self.key, context_takeover: self.context_takeover, state: self.state.take() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InflateError {
    /// The inflated message would exceed the limit.
    TooLarge,
    /// zlib's message for corrupt data.
    Corrupt(String),
}

pub struct Decompressor {
    window_bits: u8,
    context_takeover: bool,
    state: Option<Decompress>,
    /// A block with BFINAL set ended the message's DEFLATE stream. What follows in the
    /// message is not DEFLATE data (RFC 7692 section 7.2.3.4: at most the trailer) and
    /// is ignored, in whichever read it arrives, so that the result never depends on
    /// how the message was split.
    stream_ended: bool,
    /// The current message has had payload bytes. One that had none is empty: DEFLATE
    /// never compresses to nothing (an empty message is `00`), and the trailer alone
    /// would leave the stream inside a stored block, breaking the next message.
    message_fed: bool,
}

impl Decompressor {
    pub fn new(window_bits: u8, context_takeover: bool) -> Self {
        Decompressor { window_bits: clamp_bits(window_bits), context_takeover, state: None, stream_ended: false, message_fed: false }
    }

    /// Inflates the next piece of a compressed message onto `out`, never letting `out`
    /// grow past `limit` bytes.
    pub fn inflate(&mut self, input: &[u8], out: &mut Vec<u8>, limit: u64) -> Result<(), InflateError> {
        if self.stream_ended {
            return Ok(());
        }
        self.message_fed |= !input.is_empty();
        let bits = self.window_bits;
        let takeover = self.context_takeover;
        let state = self.state.get_or_insert_with(|| {
            (!takeover)
                .then(|| SPARE_DECOMPRESSORS.with(|pool| take_spare(pool, &bits)))
                .flatten()
                .unwrap_or_else(|| Decompress::new_with_window_bits(false, bits))
        });
        let mut consumed = 0usize;
        let mut step_size = input.len().saturating_mul(4).clamp(FIRST_INFLATE_STEP, INFLATE_STEP);
        loop {
            let held = out.len();
            let room = usize::try_from(limit.saturating_sub(held as u64)).unwrap_or(usize::MAX);
            // One byte more than the limit allows, to tell "exactly full" from "too much".
            let step = room.saturating_add(1).min(step_size);
            out.reserve(step);
            let (before_in, before_out) = (state.total_in(), state.total_out());
            let rest = input.get(consumed..).unwrap_or_default();
            let target = out.spare_capacity_mut().get_mut(..step).unwrap_or_default();
            let status = state.decompress_uninit(rest, target, FlushDecompress::Sync);
            let produced = usize::try_from(state.total_out() - before_out).unwrap_or(0).min(step);
            consumed += usize::try_from(state.total_in() - before_in).unwrap_or(0);
            // SAFETY: zlib wrote `produced` bytes (its output count, at most the `step`
            // bytes of capacity it was given) to the start of the spare capacity.
            unsafe { out.set_len(held + produced) };
            if produced == step {
                step_size = step_size.saturating_mul(2).min(INFLATE_STEP);
            }
            let status = status.map_err(|e| InflateError::Corrupt(e.message().unwrap_or("invalid compressed data").to_owned()))?;
            if out.len() as u64 > limit {
                return Err(InflateError::TooLarge);
            }
            if status == Status::StreamEnd {
                // A final block ends the stream: the next message starts a new one.
                self.state = None;
                self.stream_ended = true;
                return Ok(());
            }
            let done = consumed >= input.len() && produced < step;
            if done || (produced == 0 && status == Status::BufError) {
                return Ok(());
            }
        }
    }

    /// Ends a message: inflates the trailer the sender removed, then gives the state
    /// back to the pool when takeover is off (or drops it after an error).
    pub fn finish_message(&mut self, out: &mut Vec<u8>, limit: u64) -> Result<(), InflateError> {
        let result = if self.state.is_some() && self.message_fed { self.inflate(&TRAILER, out, limit) } else { Ok(()) };
        self.stream_ended = false;
        self.message_fed = false;
        if result.is_err() {
            self.state = None;
        } else if !self.context_takeover {
            if let Some(mut state) = self.state.take() {
                state.reset(false);
                SPARE_DECOMPRESSORS.with(|pool| put_spare(pool, self.window_bits, state));
            }
        }
        result
    }

    pub fn is_allocated(&self) -> bool {
        self.state.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::test_util::hex;

    fn inflate_all(d: &mut Decompressor, input: &[u8], limit: u64) -> Result<Vec<u8>, InflateError> {
        let mut out = Vec::new();
        d.inflate(input, &mut out, limit)?;
        d.finish_message(&mut out, limit)?;
        Ok(out)
    }

    mod rfc7692_7_2_3 {
        use super::*;

        #[test]
        fn hello_compressed() {
            // 7.2.3.1: "Hello" as one compressed frame.
            let mut out = Vec::new();
            Compressor::new(Tuning::default(), 15, false).compress(b"Hello", &mut out).unwrap();
            assert_eq!(out, hex("f2 48 cd c9 c9 07 00"));
            assert_eq!(inflate_all(&mut Decompressor::new(15, false), &out, 100).unwrap(), b"Hello");
        }

        #[test]
        fn shared_window_makes_second_message_shorter() {
            // 7.2.3.2: with context takeover the second "Hello" refers back to the first.
            let mut c = Compressor::new(Tuning::default(), 15, true);
            let (mut first, mut second) = (Vec::new(), Vec::new());
            c.compress(b"Hello", &mut first).unwrap();
            c.compress(b"Hello", &mut second).unwrap();
            assert_eq!(first, hex("f2 48 cd c9 c9 07 00"));
            assert_eq!(second, hex("f2 00 11 00 00"));
            let mut d = Decompressor::new(15, true);
            assert_eq!(inflate_all(&mut d, &first, 100).unwrap(), b"Hello");
            assert_eq!(inflate_all(&mut d, &second, 100).unwrap(), b"Hello");
        }

        #[test]
        fn empty_message_is_an_empty_stored_block_even_after_a_flush() {
            // 7.2.3.6: an empty message compresses to 0x00; zlib alone writes nothing
            // when the previous message already ended with a flush.
            let mut c = Compressor::new(Tuning::default(), 15, true);
            let mut d = Decompressor::new(15, true);
            for message in [&b"Hello"[..], b"", b"", b"Hello again, Hello"] {
                let mut packed = Vec::new();
                c.compress(message, &mut packed).unwrap();
                if message.is_empty() {
                    assert_eq!(packed, [0x00]);
                }
                assert_eq!(inflate_all(&mut d, &packed, 100).unwrap(), message);
            }
        }

        #[test]
        fn no_context_takeover_repeats_the_bytes_and_frees_state() {
            let mut c = Compressor::new(Tuning::default(), 15, false);
            let (mut first, mut second) = (Vec::new(), Vec::new());
            c.compress(b"Hello", &mut first).unwrap();
            assert!(!c.is_allocated());
            c.compress(b"Hello", &mut second).unwrap();
            assert_eq!(first, second);
            let mut d = Decompressor::new(15, false);
            assert_eq!(inflate_all(&mut d, &second, 100).unwrap(), b"Hello");
            assert!(!d.is_allocated());
        }

        #[test]
        fn inflates_rfc_stored_block_and_bfinal_examples() {
            // 7.2.3.3: "Hello" in an uncompressed (stored) block.
            let mut d = Decompressor::new(15, true);
            assert_eq!(inflate_all(&mut d, &hex("00 05 00 fa ff 48 65 6c 6c 6f 00"), 100).unwrap(), b"Hello");
            // 7.2.3.4: a block with BFINAL set.
            let mut d = Decompressor::new(15, true);
            assert_eq!(inflate_all(&mut d, &hex("f3 48 cd c9 c9 07 00 00"), 100).unwrap(), b"Hello");
            // 7.2.3.6: an empty message is the single byte 00.
            let mut empty = Vec::new();
            Compressor::new(Tuning::default(), 15, false).compress(b"", &mut empty).unwrap();
            assert_eq!(empty, hex("00"));
            assert_eq!(inflate_all(&mut Decompressor::new(15, false), &empty, 0).unwrap(), b"");
        }

        #[test]
        fn eight_bit_window_round_trips() {
            let text: Vec<u8> = b"abcdefghij".iter().cycle().take(5000).copied().collect();
            let mut out = Vec::new();
            Compressor::new(Tuning { level: Some(9), ..Tuning::default() }, 8, true).compress(&text, &mut out).unwrap();
            assert!(out.len() < text.len() / 10);
            assert_eq!(inflate_all(&mut Decompressor::new(8, true), &out, 10_000).unwrap(), text);
        }
    }

    #[test]
    fn pooled_states_give_every_connection_a_fresh_context() {
        let mut first = Compressor::new(Tuning::default(), 15, false);
        let mut second = Compressor::new(Tuning::default(), 15, false);
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        first.compress(b"Hello Hello Hello", &mut a).unwrap();
        second.compress(b"Hello Hello Hello", &mut b).unwrap();
        first.compress(b"Hello Hello Hello", &mut c).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        let mut d = Decompressor::new(15, false);
        let mut e = Decompressor::new(15, false);
        assert_eq!(inflate_all(&mut d, &a, 100).unwrap(), b"Hello Hello Hello");
        assert_eq!(inflate_all(&mut e, &b, 100).unwrap(), b"Hello Hello Hello");
        assert_eq!(inflate_all(&mut d, &c, 100).unwrap(), b"Hello Hello Hello");
    }

    #[test]
    fn stops_a_deflate_bomb_at_the_limit() {
        let zeros = vec![0u8; 8 << 20];
        let mut bomb = Vec::new();
        Compressor::new(Tuning { level: Some(9), ..Tuning::default() }, 15, false).compress(&zeros, &mut bomb).unwrap();
        assert!(bomb.len() < 16 * 1024);
        let mut d = Decompressor::new(15, false);
        let mut out = Vec::new();
        assert_eq!(d.inflate(&bomb, &mut out, 4096), Err(InflateError::TooLarge));
        assert!(out.capacity() <= 4096 + INFLATE_STEP, "allocated {}", out.capacity());
    }

    #[test]
    fn room_grows_with_the_output_and_only_as_far_as_it_needs() {
        // 1 KiB of compressed zeros inflates to far more than the first step.
        let zeros = vec![0u8; 300 * 1024];
        let mut packed = Vec::new();
        Compressor::new(Tuning::default(), 15, false).compress(&zeros, &mut packed).unwrap();
        assert!(packed.len() < 1024);
        assert_eq!(inflate_all(&mut Decompressor::new(15, false), &packed, 1 << 20).unwrap(), zeros);
        // A short message takes a short step.
        let mut packed = Vec::new();
        Compressor::new(Tuning::default(), 15, false).compress(b"Hello", &mut packed).unwrap();
        let mut out = Vec::new();
        Decompressor::new(15, false).inflate(&packed, &mut out, 1 << 20).unwrap();
        assert_eq!(out, b"Hello");
        assert!(out.capacity() <= FIRST_INFLATE_STEP, "allocated {}", out.capacity());
    }

    #[test]
    fn exactly_the_limit_is_allowed() {
        let data = vec![7u8; 1000];
        let mut packed = Vec::new();
        Compressor::new(Tuning::default(), 15, false).compress(&data, &mut packed).unwrap();
        assert_eq!(inflate_all(&mut Decompressor::new(15, false), &packed, 1000).unwrap(), data);
        assert_eq!(inflate_all(&mut Decompressor::new(15, false), &packed, 999), Err(InflateError::TooLarge));
    }

    #[test]
    fn reports_corrupt_data() {
        let result = inflate_all(&mut Decompressor::new(15, false), &hex("ff ff ff ff"), 100);
        assert!(matches!(result, Err(InflateError::Corrupt(_))), "{result:?}");
    }

    #[test]
    fn bytes_after_a_final_block_are_ignored_in_any_read() {
        // "P" in a fixed-Huffman block with BFINAL set, then bytes that would be an
        // invalid stored block if read as the start of a new stream.
        let message = hex("0b 00 00 18 7e cd 89 6f");
        for cut in 0..=message.len() {
            let mut d = Decompressor::new(15, true);
            let mut out = Vec::new();
            d.inflate(&message[..cut], &mut out, 100).unwrap();
            d.inflate(&message[cut..], &mut out, 100).unwrap();
            d.finish_message(&mut out, 100).unwrap();
            assert_eq!(out, b"P", "cut {cut}");
            // The next message starts a stream of its own.
            assert_eq!(inflate_all(&mut d, &hex("f2 48 cd c9 c9 07 00"), 100).unwrap(), b"Hello", "cut {cut}");
        }
    }

    #[test]
    fn mem_level_and_strategy_reach_zlib() {
        let text = b"abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabc".repeat(50);
        let packed = |tuning: Tuning| {
            let mut out = Vec::new();
            Compressor::new(tuning, 15, false).compress(&text, &mut out).unwrap();
            assert_eq!(inflate_all(&mut Decompressor::new(15, false), &out, 1 << 20).unwrap(), text);
            out
        };
        let default = packed(Tuning::default());
        // Z_HUFFMAN_ONLY (2) finds no repeats: far larger than the default.
        let huffman = packed(Tuning { strategy: Some(2), ..Tuning::default() });
        assert!(huffman.len() > default.len() * 10, "{} vs {}", huffman.len(), default.len());
        // memLevel sizes zlib's hash table: on varied input a tiny one finds other matches.
        let varied: Vec<u8> = (0..60_000u32).map(|i| b"the quick brown fox jumps over the lazy dog"[(i * i % 43) as usize]).collect();
        let pack_varied = |mem_level| {
            let mut out = Vec::new();
            Compressor::new(Tuning { mem_level: Some(mem_level), ..Tuning::default() }, 15, false).compress(&varied, &mut out).unwrap();
            assert_eq!(inflate_all(&mut Decompressor::new(15, false), &out, 1 << 20).unwrap(), varied);
            out
        };
        assert_ne!(pack_varied(1), pack_varied(9));
    }

    #[test]
    fn a_message_without_payload_is_empty_and_leaves_the_stream_alone() {
        // With context takeover the state outlives a message: feeding the trailer for an
        // empty payload once left it inside a stored block, so the next message failed.
        let mut d = Decompressor::new(15, true);
        assert_eq!(inflate_all(&mut d, &hex("f2 48 cd c9 c9 07 00"), 100).unwrap(), b"Hello");
        let mut out = Vec::new();
        d.finish_message(&mut out, 100).unwrap();
        assert_eq!(out, b"");
        assert_eq!(inflate_all(&mut d, &hex("f2 00 11 00 00"), 100).unwrap(), b"Hello");
    }

    #[test]
    fn inflates_in_pieces() {
        let text: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        let mut packed = Vec::new();
        Compressor::new(Tuning::default(), 15, false).compress(&text, &mut packed).unwrap();
        for cut in [0, 1, packed.len() / 2, packed.len() - 1] {
            let mut d = Decompressor::new(15, false);
            let mut out = Vec::new();
            d.inflate(&packed[..cut], &mut out, 1 << 20).unwrap();
            d.inflate(&packed[cut..], &mut out, 1 << 20).unwrap();
            d.finish_message(&mut out, 1 << 20).unwrap();
            assert_eq!(out, text, "cut {cut}");
        }
    }
}
