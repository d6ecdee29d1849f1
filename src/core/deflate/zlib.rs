//! Raw deflate through zlib's own API. flate2 fixes memLevel at 8 and the strategy at
//! the default; permessage-deflate hands both to zlib, so the `memLevel` and
//! `strategy` options need this thin wrapper to mean what they mean there.

use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::ptr;

use libz_sys as z;

extern "C" {
    fn malloc(size: usize) -> *mut c_void;
    fn free(address: *mut c_void);
}

// zlib asks for its state through these (libz-sys types them as non-null function
// pointers, so "use zlib's default" is not an option). Like zlib's own default, this
// does not zero the memory: zlib initialises what it reads, and pages of its 256 KiB
// of tables that a connection never touches then stay out of the process's RSS,
// which calloc's zeroing would put there.
unsafe extern "C" fn zalloc(opaque: z::voidpf, items: z::uInt, size: z::uInt) -> z::voidpf {
    let Some(bytes) = (items as usize).checked_mul(size as usize) else {
        return ptr::null_mut();
    };
    // SAFETY: a plain allocation; null on failure, which zlib reports as Z_MEM_ERROR.
    let address = unsafe { malloc(bytes) };
    // SAFETY: a stream's opaque is its `Tables`, boxed beside it (RawDeflate::new).
    if let Some(tables) = unsafe { opaque.cast::<Tables>().as_mut() } {
        tables.record(address as usize, bytes);
    }
    address
}

unsafe extern "C" fn zfree(_opaque: z::voidpf, address: z::voidpf) {
    // SAFETY: zlib frees only what zalloc returned.
    unsafe { free(address) }
}

/// Where zlib put one stream's state and tables (window, hash chains, hash heads,
/// pending output): all of it, allocated once, by deflateInit2.
#[derive(Default)]
struct Tables {
    regions: [(usize, usize); 8],
    count: usize,
}

impl Tables {
    fn record(&mut self, address: usize, bytes: usize) {
        if let Some(slot) = self.regions.get_mut(self.count) {
            *slot = (address, bytes);
            self.count += 1;
        }
    }

    fn regions(&self) -> &[(usize, usize)] {
        self.regions.get(..self.count).unwrap_or_default()
    }
}

/// Messages shorter than this are compressed without fetching the tables first: they
/// touch too few of them to repay it (measured: 16 B messages cost 1 to 3 µs more
/// with it, 128 B broke even, 512 B and 1 KiB gained 30%).
const PREFETCH_MIN_INPUT: usize = 256;

thread_local! {
    /// The stream this thread compressed with last: its tables are likely still in
    /// the CPU caches, and no other's are.
    static LAST_STREAM: Cell<usize> = const { Cell::new(0) };
}

/// Asks the CPU to bring `bytes` at `address` into its caches, without waiting.
#[cfg(target_arch = "x86_64")]
fn prefetch(address: usize, bytes: usize) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    const LINE: usize = 64;
    for line in (address..address.saturating_add(bytes)).step_by(LINE) {
        // SAFETY: a prefetch is a hint: it never faults, whatever the address, and
        // pages never touched stay unmapped (it does not count in RSS).
        unsafe { _mm_prefetch::<_MM_HINT_T0>(line as *const i8) };
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn prefetch(_address: usize, _bytes: usize) {}

/// A raw deflate stream (no zlib header), flushed with Z_SYNC_FLUSH per call.
pub struct RawDeflate {
    /// Boxed: zlib keeps a pointer back to the stream, so it must never move.
    stream: Box<z::z_stream>,
    /// Boxed too: the stream's opaque points at it.
    tables: Box<Tables>,
}

// SAFETY: the stream is owned and only touched through `&mut self`; zlib's state has
// no thread affinity.
unsafe impl Send for RawDeflate {}

impl RawDeflate {
    /// `window_bits` 9..=15 (zlib refuses 8 for raw streams), `mem_level` 1..=9,
    /// `strategy` 0..=4, level 0..=9: checked by the caller, refused by zlib otherwise.
    pub fn new(level: u32, window_bits: u8, mem_level: u32, strategy: u32) -> Result<Self, String> {
        let mut tables = Box::<Tables>::default();
        let mut stream = Box::new(z::z_stream {
            next_in: ptr::null_mut(),
            avail_in: 0,
            total_in: 0,
            next_out: ptr::null_mut(),
            avail_out: 0,
            total_out: 0,
            msg: ptr::null_mut(),
            state: ptr::null_mut(),
            zalloc,
            zfree,
            opaque: ptr::from_mut::<Tables>(&mut tables).cast(),
            data_type: 0,
            adler: 0,
            reserved: 0,
        });
        let as_int = |n: u32| c_int::try_from(n).unwrap_or(c_int::MAX);
        // SAFETY: the stream is initialised above and lives in a Box that outlives
        // every later call; the version and size tell zlib which layout we use.
        let status = unsafe {
            z::deflateInit2_(
                &mut *stream,
                as_int(level),
                z::Z_DEFLATED,
                -c_int::from(window_bits),
                as_int(mem_level),
                as_int(strategy),
                z::zlibVersion(),
                std::mem::size_of::<z::z_stream>() as c_int,
            )
        };
        if status != z::Z_OK {
            return Err(format!("zlib refused the deflate parameters (status {status})"));
        }
        Ok(RawDeflate { stream, tables })
    }

    /// With many connections, each compresses against tables the others have pushed
    /// out of the CPU caches, and zlib's hash chain walks then wait on memory at
    /// nearly every step (1 KiB messages took 3 times as long with 100 connections
    /// as with one). Fetching the tables in one sweep first, which the CPU overlaps,
    /// is cheaper than those misses one by one.
    fn warm_up(&self, input_len: usize) {
        let stream = ptr::from_ref::<z::z_stream>(&self.stream) as usize;
        let cold = LAST_STREAM.with(|last| last.replace(stream) != stream);
        if cold && input_len >= PREFETCH_MIN_INPUT {
            for &(address, bytes) in self.tables.regions() {
                prefetch(address, bytes);
            }
        }
    }

    /// Compresses `input` and flushes to a byte boundary, appending to `out`.
    pub fn compress_sync(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        self.warm_up(input.len());
        let mut consumed = 0usize;
        loop {
            let rest = input.get(consumed..).unwrap_or_default();
            out.reserve(rest.len() / 2 + 64);
            let spare = out.capacity() - out.len();
            let avail_in = z::uInt::try_from(rest.len()).unwrap_or(z::uInt::MAX);
            let avail_out = z::uInt::try_from(spare).unwrap_or(z::uInt::MAX);
            self.stream.next_in = rest.as_ptr().cast_mut();
            self.stream.avail_in = avail_in;
            // SAFETY: `spare` bytes past `len` are allocated (reserve above).
            self.stream.next_out = unsafe { out.as_mut_ptr().add(out.len()) };
            self.stream.avail_out = avail_out;
            // SAFETY: next_in/avail_in describe `rest`, which zlib only reads;
            // next_out/avail_out describe the Vec's spare capacity.
            let status = unsafe { z::deflate(&mut *self.stream, z::Z_SYNC_FLUSH) };
            let read = (avail_in - self.stream.avail_in) as usize;
            let written = (avail_out - self.stream.avail_out) as usize;
            // SAFETY: zlib initialised exactly `written` bytes of the spare capacity.
            unsafe { out.set_len(out.len() + written) };
            self.stream.next_in = ptr::null_mut();
            self.stream.next_out = ptr::null_mut();
            consumed += read;
            match status {
                // Nothing to do: the flush had already been made.
                z::Z_BUF_ERROR => return Ok(()),
                z::Z_OK => {}
                other => return Err(format!("zlib deflate failed (status {other})")),
            }
            // The flush is complete once all input is in and zlib left output space.
            if consumed >= input.len() && self.stream.avail_out > 0 {
                return Ok(());
            }
        }
    }

    /// Starts a fresh stream (no shared window), keeping the allocation.
    pub fn reset(&mut self) {
        // SAFETY: the stream was initialised by deflateInit2_.
        unsafe { z::deflateReset(&mut *self.stream) };
    }
}

impl Drop for RawDeflate {
    fn drop(&mut self) {
        // SAFETY: the stream was initialised by deflateInit2_ and is ended once.
        unsafe { z::deflateEnd(&mut *self.stream) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b"the quick brown fox jumps over a lazy dog; "[(x % 43) as usize]
            })
            .collect()
    }

    #[test]
    fn records_where_zlib_put_the_tables() {
        let stream = RawDeflate::new(6, 15, 8, 0).unwrap();
        let regions = stream.tables.regions();
        // State, window, chains, heads and pending output: 4 × 64 KiB of tables at
        // windowBits 15 and memLevel 8, and every region a real allocation.
        assert!(regions.len() >= 4, "{regions:?}");
        assert!(regions.iter().map(|r| r.1).sum::<usize>() >= 256 * 1024, "{regions:?}");
        assert!(regions.iter().all(|&(address, bytes)| address != 0 && bytes > 0));
        let small = RawDeflate::new(6, 9, 1, 0).unwrap();
        assert!(small.tables.regions().iter().map(|r| r.1).sum::<usize>() < 64 * 1024);
    }

    #[test]
    fn taking_turns_with_other_streams_changes_no_output() {
        // Alternating between streams makes every message start cold (the tables are
        // fetched first); one stream alone never does. The bytes must be the same.
        let messages: Vec<Vec<u8>> = (0..6).map(|i| text(i, 200 + 300 * i as usize)).collect();
        let compress = |stream: &mut RawDeflate, message: &[u8]| {
            let mut out = Vec::new();
            stream.compress_sync(message, &mut out).unwrap();
            out
        };
        let mut stream = RawDeflate::new(6, 15, 8, 0).unwrap();
        let alone: Vec<Vec<u8>> = messages.iter().map(|m| compress(&mut stream, m)).collect();
        let mut streams: Vec<RawDeflate> = (0..3).map(|_| RawDeflate::new(6, 15, 8, 0).unwrap()).collect();
        let mut outputs = vec![Vec::new(); 3];
        for message in &messages {
            for (stream, output) in streams.iter_mut().zip(outputs.iter_mut()) {
                output.push(compress(stream, message));
            }
        }
        for output in outputs {
            assert_eq!(output, alone);
        }
    }
}
