//! A socket read buffer that frames are parsed from in place.
//!
//! Consuming a frame only moves a start offset; the unconsumed tail is moved to the
//! front only when the free space at the end runs short, so a megabyte frame arriving
//! in many reads costs one copy at most rather than one drain per frame.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::AsyncRead;

/// Reads that keep filling the buffer double the read size up to this.
const MAX_READ: usize = 256 * 1024;

pub struct ReadBuf {
    data: Vec<u8>,
    start: usize,
    end: usize,
    /// The smallest read worth issuing; compacting or growing keeps at least this free.
    /// Starts small (idle connections stay cheap) and grows while reads fill it.
    min_read: usize,
}

impl ReadBuf {
    /// `capacity` is the initial size (small for idle connections, bigger for throughput).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(64);
        ReadBuf { data: vec![0; capacity], start: 0, end: 0, min_read: capacity.min(MAX_READ) }
    }

    /// Starts the buffer with bytes that arrived together with the handshake.
    pub fn with_initial(capacity: usize, initial: &[u8]) -> Self {
        let mut buf = ReadBuf::new(capacity.max(initial.len()));
        buf.data[..initial.len()].copy_from_slice(initial);
        buf.end = initial.len();
        buf
    }

    /// The unconsumed bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// The unconsumed bytes, writable (the server unmasks payloads in place).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.data[self.start..self.end]
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Drops `n` bytes from the front.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Makes room so that `total` unconsumed bytes fit (a frame whose header says how
    /// long it is gets its whole size reserved at once, not in doubling steps).
    pub fn reserve_frame(&mut self, total: usize) {
        let need = total.max(self.end - self.start + self.min_read);
        if self.data.len() - self.start < need {
            self.compact();
            if self.data.len() < need {
                self.data.resize(need, 0);
            }
        }
    }

    /// Releases a buffer grown for a big frame once it is empty again.
    pub fn shrink_to(&mut self, capacity: usize) {
        if self.is_empty() && self.data.len() > capacity {
            self.data = vec![0; capacity.max(64)];
            self.min_read = self.min_read.min(self.data.len());
        }
    }

    fn compact(&mut self) {
        if self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }

    /// One read from `stream`; returns the number of bytes read (0 at end of stream).
    pub async fn read_from<S: AsyncRead + Unpin>(&mut self, stream: &mut S) -> std::io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_read_from(cx, stream)).await
    }

    /// The poll form of [`ReadBuf::read_from`], for reading while a write is pending.
    pub fn poll_read_from<S: AsyncRead + Unpin>(&mut self, cx: &mut Context<'_>, stream: &mut S) -> Poll<std::io::Result<usize>> {
        if self.data.len() - self.end < self.min_read {
            self.reserve_frame(0);
        }
        let mut window = tokio::io::ReadBuf::new(&mut self.data[self.end..]);
        match Pin::new(stream).poll_read(cx, &mut window) {
            Poll::Ready(Ok(())) => {
                let n = window.filled().len();
                if n == self.data.len() - self.end {
                    // The socket had more than we had room for: read bigger next time.
                    self.min_read = (self.min_read * 2).min(MAX_READ);
                }
                self.end += n;
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consume_compact_and_grow() {
        let mut buf = ReadBuf::with_initial(64, b"hello world");
        buf.consume(6);
        assert_eq!(buf.bytes(), b"world");
        buf.reserve_frame(1000);
        assert_eq!(buf.bytes(), b"world");
        assert!(buf.data.len() >= 1000);
        buf.consume(5);
        assert!(buf.is_empty());
        buf.shrink_to(64);
        assert_eq!(buf.data.len(), 64);
    }
}
