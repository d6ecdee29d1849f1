//! Raw deflate through zlib's own API. flate2 fixes memLevel at 8 and the strategy at
//! the default; permessage-deflate hands both to zlib, so the `memLevel` and
//! `strategy` options need this thin wrapper to mean what they mean there.

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
unsafe extern "C" fn zalloc(_opaque: z::voidpf, items: z::uInt, size: z::uInt) -> z::voidpf {
    match (items as usize).checked_mul(size as usize) {
        // SAFETY: a plain allocation; null on failure, which zlib reports as
        // Z_MEM_ERROR.
        Some(bytes) => unsafe { malloc(bytes) },
        None => ptr::null_mut(),
    }
}

unsafe extern "C" fn zfree(_opaque: z::voidpf, address: z::voidpf) {
    // SAFETY: zlib frees only what zalloc returned.
    unsafe { free(address) }
}

/// A raw deflate stream (no zlib header), flushed with Z_SYNC_FLUSH per call.
pub struct RawDeflate {
    /// Boxed: zlib keeps a pointer back to the stream, so it must never move.
    stream: Box<z::z_stream>,
}

// SAFETY: the stream is owned and only touched through `&mut self`; zlib's state has
// no thread affinity.
unsafe impl Send for RawDeflate {}

impl RawDeflate {
    /// `window_bits` 9..=15 (zlib refuses 8 for raw streams), `mem_level` 1..=9,
    /// `strategy` 0..=4, level 0..=9: checked by the caller, refused by zlib otherwise.
    pub fn new(level: u32, window_bits: u8, mem_level: u32, strategy: u32) -> Result<Self, String> {
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
            opaque: ptr::null_mut(),
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
        Ok(RawDeflate { stream })
    }

    /// Compresses `input` and flushes to a byte boundary, appending to `out`.
    pub fn compress_sync(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
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
