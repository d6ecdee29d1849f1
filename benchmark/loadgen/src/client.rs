//! The load generator's side of one WebSocket connection, over any byte stream (TCP
//! or TLS).
//!
//! Reading and writing are batched: `read` brings in whatever the socket has, `drain`
//! hands over every complete message in it, `queue` appends frames to one write
//! buffer and `flush` sends them all with one write.

use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::deflate::{self, Deflater, Inflater};
use crate::frame::{self, XorShift};
use crate::handshake;
use crate::readbuf::ReadBuf;

/// Largest message accepted from the server (frame or reassembled/inflated).
const MAX_MESSAGE: usize = 256 << 20;
/// zlib level for what we send: the fastest, so compressing is never the load
/// generator's bottleneck; the server still has to inflate every message.
const DEFLATE_LEVEL: u32 = 1;

pub type Error = String;

/// permessage-deflate state; the zlib streams are made on first use so idle
/// connections that never carry a message cost no zlib memory on our side.
struct Compression {
    params: deflate::Params,
    deflater: Option<Deflater>,
    inflater: Option<Inflater>,
}

/// A message arriving in several frames.
struct Fragments {
    opcode: u8,
    compressed: bool,
    data: Vec<u8>,
}

pub struct Client<S> {
    stream: S,
    rbuf: ReadBuf,
    wbuf: Vec<u8>,
    rng: XorShift,
    compression: Option<Compression>,
    fragments: Option<Fragments>,
    /// Reused output of inflate (received) and deflate (sent).
    inflated: Vec<u8>,
    deflated: Vec<u8>,
    /// Idle connections skip decoding data messages altogether.
    discard_messages: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// Performs the opening handshake on a connected stream. `read_capacity` sizes
    /// the read buffer (it grows for big frames).
    pub async fn handshake(mut stream: S, host: &str, port: u16, offer_deflate: bool, seed: u64, read_capacity: usize) -> Result<Self, Error> {
        let mut rng = XorShift::from_time(seed);
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&rng.next_u64().to_ne_bytes());
        nonce[8..].copy_from_slice(&rng.next_u64().to_ne_bytes());
        let hello = handshake::client_hello(host, port, nonce, offer_deflate);
        stream.write_all(&hello.request).await.map_err(|e| format!("handshake write: {e}"))?;
        stream.flush().await.map_err(|e| format!("handshake write: {e}"))?;
        let (params, early) = handshake::read_head(&mut stream, |buf| handshake::parse_response(buf, &hello.key, offer_deflate)).await?;
        Ok(Client {
            stream,
            rbuf: ReadBuf::with_initial(read_capacity, &early),
            wbuf: Vec::new(),
            rng,
            compression: params.map(|params| Compression { params, deflater: None, inflater: None }),
            fragments: None,
            inflated: Vec::new(),
            deflated: Vec::new(),
            discard_messages: false,
        })
    }

    /// Whether permessage-deflate was negotiated.
    pub fn deflate(&self) -> bool {
        self.compression.is_some()
    }

    /// Stops decoding messages and frees the zlib state: an idle connection only
    /// answers pings from here on.
    pub fn into_idle(&mut self) {
        self.discard_messages = true;
        self.fragments = None;
        if let Some(c) = &mut self.compression {
            c.deflater = None;
            c.inflater = None;
        }
        self.inflated = Vec::new();
        self.deflated = Vec::new();
        self.wbuf = Vec::new();
        self.rbuf.shrink_to(4096);
    }

    /// Appends one message as a single masked frame (compressed if negotiated).
    pub fn queue(&mut self, opcode: u8, payload: &[u8]) -> Result<(), Error> {
        let key = self.rng.mask_key();
        match &mut self.compression {
            None => frame::write_masked_frame(&mut self.wbuf, opcode, false, payload, key),
            Some(c) => {
                let p = c.params;
                let deflater = c
                    .deflater
                    .get_or_insert_with(|| Deflater::new(DEFLATE_LEVEL, p.client_max_window_bits, p.client_no_context_takeover));
                self.deflated.clear();
                deflater.compress(payload, &mut self.deflated)?;
                frame::write_masked_frame(&mut self.wbuf, opcode, true, &self.deflated, key);
            }
        }
        Ok(())
    }

    /// Appends a close frame with status `code`.
    pub fn queue_close(&mut self, code: u16) {
        let key = self.rng.mask_key();
        frame::write_masked_frame(&mut self.wbuf, frame::CLOSE, false, &code.to_be_bytes(), key);
    }

    /// Writes everything queued (messages and pongs), in one write when the socket
    /// takes it. While the socket is full it also reads (without parsing): a server
    /// blocked writing echoes we do not read would never read the rest of ours.
    pub async fn flush(&mut self) -> Result<(), Error> {
        let Client { stream, rbuf, wbuf, .. } = self;
        let mut written = 0;
        std::future::poll_fn(|cx| loop {
            while written < wbuf.len() {
                match Pin::new(&mut *stream).poll_write(cx, &wbuf[written..]) {
                    Poll::Ready(Ok(0)) => return Poll::Ready(Err("write: connection closed".to_string())),
                    Poll::Ready(Ok(n)) => written += n,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(format!("write: {e}"))),
                    Poll::Pending => break,
                }
            }
            if written == wbuf.len() {
                // A no-op on TCP; TLS may hold records back until flushed.
                return Pin::new(&mut *stream).poll_flush(cx).map_err(|e| format!("write: {e}"));
            }
            match rbuf.poll_read_from(cx, stream) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err("server closed the TCP connection".to_string())),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(format!("read: {e}"))),
                Poll::Pending => return Poll::Pending,
            }
        })
        .await?;
        wbuf.clear();
        Ok(())
    }

    /// Waits for at least one complete frame in the read buffer (returning at once if
    /// `flush` already read one); the end of the stream is an error here.
    pub async fn read(&mut self) -> Result<(), Error> {
        if self.has_frame() {
            return Ok(());
        }
        match self.rbuf.read_from(&mut self.stream).await {
            Ok(0) => Err("server closed the TCP connection".into()),
            Ok(_) => Ok(()),
            Err(e) => Err(format!("read: {e}")),
        }
    }

    /// Whether a whole frame (or bytes that are no frame at all, for `drain` to
    /// report) is waiting in the read buffer.
    fn has_frame(&self) -> bool {
        match frame::parse_header(self.rbuf.bytes(), MAX_MESSAGE) {
            Ok(Some(header)) => self.rbuf.bytes().len() >= header.frame_len(),
            Ok(None) => false,
            Err(_) => true,
        }
    }

    /// Hands every complete message in the read buffer to `on_message(opcode,
    /// payload)` and queues pongs for pings. A close from the server is an error: this
    /// tool never expects one while it is still sending.
    pub fn drain(&mut self, mut on_message: impl FnMut(u8, &[u8]) -> Result<(), Error>) -> Result<(), Error> {
        let Client { rbuf, wbuf, rng, compression, fragments, inflated, discard_messages, .. } = self;
        while let Some(header) = frame::parse_header(rbuf.bytes(), MAX_MESSAGE).map_err(|e| format!("bad frame from server: {e}"))? {
            if rbuf.bytes().len() < header.frame_len() {
                rbuf.reserve_frame(header.frame_len());
                break;
            }
            if header.mask.is_some() {
                return Err("server sent a masked frame".into());
            }
            if header.rsv1 && (compression.is_none() || frame::is_control(header.opcode) || header.opcode == frame::CONTINUATION) {
                return Err("RSV1 set where permessage-deflate does not allow it".into());
            }
            let payload = &rbuf.bytes()[header.header_len..header.frame_len()];
            match header.opcode {
                frame::PING => frame::write_masked_frame(wbuf, frame::PONG, false, payload, rng.mask_key()),
                frame::PONG => {}
                frame::CLOSE => {
                    let code = payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]]));
                    return Err(format!("server sent close (code {code:?})"));
                }
                _ if *discard_messages => {}
                opcode => {
                    // A whole message in one frame is used in place; fragments are gathered.
                    let (opcode, compressed, message): (u8, bool, &[u8]) = match (opcode, fragments.as_mut()) {
                        (frame::CONTINUATION, None) => return Err("continuation frame outside a message".into()),
                        (frame::CONTINUATION, Some(f)) => {
                            if f.data.len() + payload.len() > MAX_MESSAGE {
                                return Err("fragmented message too long".into());
                            }
                            f.data.extend_from_slice(payload);
                            if !header.fin {
                                rbuf.consume(header.frame_len());
                                continue;
                            }
                            (f.opcode, f.compressed, &f.data)
                        }
                        (_, Some(_)) => return Err("new message inside a fragmented one".into()),
                        (opcode, None) if !header.fin => {
                            *fragments = Some(Fragments { opcode, compressed: header.rsv1, data: payload.to_vec() });
                            rbuf.consume(header.frame_len());
                            continue;
                        }
                        (opcode, None) => (opcode, header.rsv1, payload),
                    };
                    if compressed {
                        let c = compression.as_mut().ok_or("compressed message without permessage-deflate")?;
                        let p = c.params;
                        let inflater = c.inflater.get_or_insert_with(|| Inflater::new(p.server_max_window_bits, p.server_no_context_takeover));
                        inflated.clear();
                        inflater.decompress(message, inflated, MAX_MESSAGE)?;
                        on_message(opcode, inflated)?;
                    } else {
                        on_message(opcode, message)?;
                    }
                    if header.opcode == frame::CONTINUATION {
                        *fragments = None;
                    }
                }
            }
            rbuf.consume(header.frame_len());
        }
        Ok(())
    }

    /// Sends a normal close (1000) and waits at most `wait` for the server's close or
    /// end of stream, so the server sees a clean close rather than a reset.
    pub async fn close(mut self, wait: Duration) {
        self.queue_close(1000);
        if self.flush().await.is_err() {
            return;
        }
        self.discard_messages = true;
        let _ = tokio::time::timeout(wait, async {
            loop {
                if self.read().await.is_err() || self.drain(|_, _| Ok(())).is_err() {
                    break;
                }
            }
        })
        .await;
        let _ = self.stream.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_with_input(input: &[u8]) -> Client<tokio::io::DuplexStream> {
        let (ours, _theirs) = tokio::io::duplex(64);
        Client {
            stream: ours,
            rbuf: ReadBuf::with_initial(64, input),
            wbuf: Vec::new(),
            rng: XorShift::new(1),
            compression: None,
            fragments: None,
            inflated: Vec::new(),
            deflated: Vec::new(),
            discard_messages: false,
        }
    }

    #[test]
    fn drains_every_frame_kind_and_answers_pings() {
        let big = vec![7u8; 70_000]; // 64-bit length
        let mut input = Vec::new();
        frame::write_frame(&mut input, frame::TEXT, false, b"frag-");
        input[0] &= 0x7F; // not FIN
        frame::write_frame(&mut input, frame::PING, false, b"hi");
        frame::write_frame(&mut input, frame::CONTINUATION, false, b"ment");
        frame::write_frame(&mut input, frame::BINARY, false, &big);
        frame::write_frame(&mut input, frame::TEXT, false, &[b'x'; 200]); // 16-bit length
        let split = input.len() - 50;
        let mut client = client_with_input(&input[..split]);
        let mut got = Vec::new();
        client
            .drain(|op, data| {
                got.push((op, data.len()));
                Ok(())
            })
            .unwrap();
        assert_eq!(got, vec![(frame::TEXT, 9), (frame::BINARY, 70_000)]);
        // The pong went to the write buffer, masked.
        let pong = frame::parse_header(&client.wbuf, 125).unwrap().unwrap();
        assert_eq!((pong.opcode, pong.payload_len, pong.mask.is_some()), (frame::PONG, 2, true));
        assert!(!client.has_frame(), "the last frame is incomplete");
        // Header 4 bytes (16-bit length) plus 200 of payload.
        client.rbuf = ReadBuf::with_initial(64, &input[input.len() - 204..]);
        assert!(client.has_frame());
        client
            .drain(|op, data| {
                got.push((op, data.len()));
                Ok(())
            })
            .unwrap();
        assert_eq!(got.last(), Some(&(frame::TEXT, 200)));
    }

    #[test]
    fn rejects_close_masked_and_stray_rsv1() {
        for frame_bytes in [vec![0x88, 0x02, 0x03, 0xE8], vec![0x81, 0x81, 0, 0, 0, 0, b'a'], vec![0xC1, 0x01, b'a']] {
            let mut client = client_with_input(&frame_bytes);
            assert!(client.drain(|_, _| Ok(())).is_err(), "{frame_bytes:?}");
        }
    }
}
