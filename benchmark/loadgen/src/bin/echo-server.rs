//! Native RFC 6455 echo server: the ceiling the Node servers are compared with, and
//! the peer for the Node client benchmarks.
//!
//!   echo-server [--port 0] [--deflate] [--tls CERT.pem KEY.pem] [--broadcast]
//!
//! Prints the bound port on stdout, then serves on 127.0.0.1 until killed. Each message
//! is echoed as one unmasked frame of the same opcode (fragments reassembled); with
//! --broadcast it goes to every open connection instead, the sender included.
//! Single-threaded like one Node process, so the comparison is one core against one.
//! Every complete frame in a read is handled before one write sends all the replies.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

use loadgen::deflate::{self, Deflater, Inflater};
use loadgen::frame::{self, Header};
use loadgen::handshake;
use loadgen::readbuf::ReadBuf;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;

const USAGE: &str = "usage: echo-server [--port 0] [--deflate] [--tls CERT.pem KEY.pem] [--broadcast]";
/// Largest message accepted (ws's default maxPayload is 100 MiB).
const MAX_MESSAGE: usize = 256 << 20;
/// Initial read buffer: small, so idle connections cost little; it grows with traffic.
const READ_BUFFER: usize = 4 * 1024;
/// zlib's default level, which ws and the package also use, so the ceiling does the
/// same compression work as the servers it is compared with.
const DEFLATE_LEVEL: u32 = 6;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

struct Options {
    port: u16,
    deflate: bool,
    tls: Option<(String, String)>,
    broadcast: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options { port: 0, deflate: false, tls: None, broadcast: false };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--port" => {
                let value = it.next().ok_or("--port needs a value")?;
                options.port = value.parse().map_err(|_| format!("bad port {value}"))?;
            }
            "--tls" => {
                let cert = it.next().ok_or("--tls needs CERT.pem KEY.pem")?;
                let key = it.next().ok_or("--tls needs CERT.pem KEY.pem")?;
                options.tls = Some((cert, key));
            }
            "--deflate" => options.deflate = true,
            "--broadcast" => options.broadcast = true,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(options)
}

/// One connection as every connection sees it: the frames waiting to be written to
/// it, and its compressor (per connection, because of context takeover).
struct Peer {
    outbox: RefCell<Vec<u8>>,
    deflater: RefCell<Option<Deflater>>,
    /// Another connection queued a broadcast here.
    wake: Notify,
}

impl Peer {
    /// Queues one message as a single frame, compressed if negotiated.
    fn send(&self, opcode: u8, message: &[u8], scratch: &mut Vec<u8>) -> Result<(), String> {
        let mut outbox = self.outbox.borrow_mut();
        match &mut *self.deflater.borrow_mut() {
            None => frame::write_frame(&mut outbox, opcode, false, message),
            Some(deflater) => {
                scratch.clear();
                deflater.compress(message, scratch)?;
                frame::write_frame(&mut outbox, opcode, true, scratch);
            }
        }
        Ok(())
    }
}

struct Server {
    deflate: bool,
    broadcast: bool,
    /// Open connections, for --broadcast.
    peers: RefCell<Vec<Rc<Peer>>>,
    /// A broadcast frame encoded once for all uncompressed peers.
    shared_frame: RefCell<Vec<u8>>,
}

impl Server {
    fn deliver(&self, me: &Peer, opcode: u8, message: &[u8], scratch: &mut Vec<u8>) -> Result<(), String> {
        if !self.broadcast {
            return me.send(opcode, message, scratch);
        }
        let mut encoded = self.shared_frame.borrow_mut();
        encoded.clear();
        frame::write_frame(&mut encoded, opcode, false, message);
        for peer in self.peers.borrow().iter() {
            if peer.deflater.borrow().is_some() {
                peer.send(opcode, message, scratch)?;
            } else {
                peer.outbox.borrow_mut().extend_from_slice(&encoded);
            }
            if !std::ptr::eq(&**peer, me) {
                peer.wake.notify_one();
            }
        }
        Ok(())
    }
}

/// A reason to end a connection with a close frame (RFC 6455 section 7.4.1).
struct Failure {
    code: u16,
    reason: String,
}

fn fail(code: u16, reason: impl Into<String>) -> Failure {
    Failure { code, reason: reason.into() }
}

/// A message arriving in several frames.
struct Fragments {
    opcode: u8,
    compressed: bool,
    data: Vec<u8>,
}

/// The receiving half of a connection's state.
struct Receiver {
    inflater: Option<Inflater>,
    fragments: Option<Fragments>,
    inflated: Vec<u8>,
    deflated: Vec<u8>,
}

/// What handling the frames of one read led to.
enum Next {
    Continue,
    /// The client sent close; our answer is queued.
    Close,
}

impl Receiver {
    /// Handles every complete frame in `rbuf`, queuing replies in the outboxes.
    fn handle_frames(&mut self, rbuf: &mut ReadBuf, server: &Server, me: &Peer) -> Result<Next, Failure> {
        loop {
            let header = match frame::parse_header(rbuf.bytes(), MAX_MESSAGE) {
                Ok(Some(header)) => header,
                Ok(None) => return Ok(Next::Continue),
                Err(frame::FrameError::TooLong) => return Err(fail(1009, "frame too long")),
                Err(e) => return Err(fail(1002, e.to_string())),
            };
            if rbuf.bytes().len() < header.frame_len() {
                rbuf.reserve_frame(header.frame_len());
                return Ok(Next::Continue);
            }
            let Some(key) = header.mask else {
                return Err(fail(1002, "unmasked client frame"));
            };
            let payload = &mut rbuf.bytes_mut()[header.header_len..header.frame_len()];
            frame::apply_mask(payload, key);
            let next = self.handle_frame(header, payload, server, me)?;
            rbuf.consume(header.frame_len());
            if let Next::Close = next {
                return Ok(Next::Close);
            }
        }
    }

    fn handle_frame(&mut self, header: Header, payload: &[u8], server: &Server, me: &Peer) -> Result<Next, Failure> {
        let may_compress = self.inflater.is_some() && matches!(header.opcode, frame::TEXT | frame::BINARY);
        if header.rsv1 && !may_compress {
            return Err(fail(1002, "RSV1 set where permessage-deflate does not allow it"));
        }
        match header.opcode {
            frame::PING => {
                frame::write_frame(&mut me.outbox.borrow_mut(), frame::PONG, false, payload);
                Ok(Next::Continue)
            }
            frame::PONG => Ok(Next::Continue),
            frame::CLOSE => {
                // Echo the status code back; a 1-byte body is malformed.
                let body = match payload.len() {
                    0 => &[][..],
                    1 => return Err(fail(1002, "close frame with a 1-byte body")),
                    _ => &payload[..2],
                };
                frame::write_frame(&mut me.outbox.borrow_mut(), frame::CLOSE, false, body);
                Ok(Next::Close)
            }
            frame::CONTINUATION => {
                let Some(fragments) = self.fragments.as_mut() else {
                    return Err(fail(1002, "continuation frame outside a message"));
                };
                if fragments.data.len() + payload.len() > MAX_MESSAGE {
                    return Err(fail(1009, "message too long"));
                }
                fragments.data.extend_from_slice(payload);
                if header.fin {
                    if let Some(done) = self.fragments.take() {
                        self.message(done.opcode, done.compressed, &done.data, server, me)?;
                    }
                }
                Ok(Next::Continue)
            }
            opcode => {
                if self.fragments.is_some() {
                    return Err(fail(1002, "new message inside a fragmented one"));
                }
                if header.fin {
                    self.message(opcode, header.rsv1, payload, server, me)?;
                } else {
                    self.fragments = Some(Fragments { opcode, compressed: header.rsv1, data: payload.to_vec() });
                }
                Ok(Next::Continue)
            }
        }
    }

    /// A complete message: inflate, check text is UTF-8, send it on.
    fn message(&mut self, opcode: u8, compressed: bool, data: &[u8], server: &Server, me: &Peer) -> Result<(), Failure> {
        let data = if compressed {
            let inflater = self.inflater.as_mut().ok_or_else(|| fail(1002, "compressed without permessage-deflate"))?;
            self.inflated.clear();
            inflater.decompress(data, &mut self.inflated, MAX_MESSAGE).map_err(|e| fail(1007, e))?;
            &self.inflated[..]
        } else {
            data
        };
        if opcode == frame::TEXT && std::str::from_utf8(data).is_err() {
            return Err(fail(1007, "text message is not UTF-8"));
        }
        server.deliver(me, opcode, data, &mut self.deflated).map_err(|e| fail(1011, e))
    }
}

/// Writes whatever is queued for `me`. The outbox is swapped out first so that other
/// connections can keep queuing broadcasts while this write waits on the socket.
async fn write_outbox<S: AsyncWrite + Unpin>(stream: &mut S, me: &Peer, writing: &mut Vec<u8>) -> std::io::Result<()> {
    std::mem::swap(writing, &mut *me.outbox.borrow_mut());
    if writing.is_empty() {
        return Ok(());
    }
    stream.write_all(writing).await?;
    stream.flush().await?;
    writing.clear();
    Ok(())
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, server: Rc<Server>) -> Result<(), String> {
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake::read_head(&mut stream, handshake::parse_request));
    let (request, early) = match handshake.await {
        Ok(Ok(parsed)) => parsed,
        Ok(Err(message)) => {
            let _ = stream.write_all(handshake::RESPONSE_400).await;
            let _ = stream.shutdown().await;
            return Err(message);
        }
        Err(_) => return Err("handshake timed out".into()),
    };
    let negotiated = match (server.deflate, request.extensions.as_deref()) {
        (true, Some(offer)) => deflate::accept_client_offer(offer),
        _ => None,
    };
    let response = handshake::response_101(&request.key, negotiated.as_ref().map(|(_, reply)| reply.as_str()));
    stream.write_all(&response).await.map_err(|e| e.to_string())?;
    stream.flush().await.map_err(|e| e.to_string())?;

    let params = negotiated.map(|(params, _)| params);
    let me = Rc::new(Peer {
        outbox: RefCell::new(Vec::new()),
        deflater: RefCell::new(params.map(|p| Deflater::new(DEFLATE_LEVEL, p.server_max_window_bits, p.server_no_context_takeover))),
        wake: Notify::new(),
    });
    let mut receiver = Receiver {
        inflater: params.map(|p| Inflater::new(p.client_max_window_bits, p.client_no_context_takeover)),
        fragments: None,
        inflated: Vec::new(),
        deflated: Vec::new(),
    };
    if server.broadcast {
        server.peers.borrow_mut().push(me.clone());
    }
    let result = connection_loop(&mut stream, &server, &me, &mut receiver, ReadBuf::with_initial(READ_BUFFER, &early)).await;
    if server.broadcast {
        server.peers.borrow_mut().retain(|peer| !Rc::ptr_eq(peer, &me));
    }
    let _ = stream.shutdown().await;
    result
}

async fn connection_loop<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    server: &Server,
    me: &Peer,
    receiver: &mut Receiver,
    mut rbuf: ReadBuf,
) -> Result<(), String> {
    let mut writing = Vec::new();
    // Frames that came with the handshake are handled before the first read.
    let mut need_read = rbuf.is_empty();
    loop {
        if need_read {
            let read = if server.broadcast {
                tokio::select! {
                    read = rbuf.read_from(stream) => Some(read),
                    _ = me.wake.notified() => None,
                }
            } else {
                Some(rbuf.read_from(stream).await)
            };
            match read {
                Some(Ok(0)) => return Ok(()),
                Some(Err(e)) => return Err(e.to_string()),
                Some(Ok(_)) | None => {}
            }
        }
        need_read = true;
        match receiver.handle_frames(&mut rbuf, server, me) {
            Ok(Next::Continue) => {}
            Ok(Next::Close) => {
                let _ = write_outbox(stream, me, &mut writing).await;
                return Ok(());
            }
            Err(failure) => {
                frame::write_frame(&mut me.outbox.borrow_mut(), frame::CLOSE, false, &failure.code.to_be_bytes());
                let _ = write_outbox(stream, me, &mut writing).await;
                return Err(failure.reason);
            }
        }
        write_outbox(stream, me, &mut writing).await.map_err(|e| e.to_string())?;
    }
}

async fn accept_loop(listener: TcpListener, tls: Option<TlsAcceptor>, server: Rc<Server>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, most likely: wait for some to be released.
                eprintln!("echo-server: accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let server = server.clone();
        let tls = tls.clone();
        tokio::task::spawn_local(async move {
            // Peers that misbehave or vanish are routine under load: drop them quietly.
            let _ = match tls {
                None => serve::<TcpStream>(stream, server).await,
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => serve(stream, server).await,
                    Err(e) => Err(e.to_string()),
                },
            };
        });
    }
}

fn main() {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("echo-server: {message}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let tls = match &options.tls {
        None => None,
        Some((cert, key)) => match loadgen::tls::acceptor(cert, key) {
            Ok(acceptor) => Some(acceptor),
            Err(message) => {
                eprintln!("echo-server: {message}");
                std::process::exit(2);
            }
        },
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("echo-server: tokio runtime: {e}");
            std::process::exit(1);
        }
    };
    let server = Rc::new(Server {
        deflate: options.deflate,
        broadcast: options.broadcast,
        peers: RefCell::new(Vec::new()),
        shared_frame: RefCell::new(Vec::new()),
    });
    tokio::task::LocalSet::new().block_on(&runtime, async move {
        let listener = match TcpListener::bind(("127.0.0.1", options.port)).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("echo-server: bind: {e}");
                std::process::exit(1);
            }
        };
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{port}");
        let _ = out.flush();
        drop(out);
        accept_loop(listener, tls, server).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        frame::write_masked_frame(&mut out, opcode, false, payload, [9, 8, 7, 6]);
        if !fin {
            out[0] &= 0x7F;
        }
        out
    }

    fn setup() -> (Server, Peer, Receiver) {
        let server = Server { deflate: false, broadcast: false, peers: RefCell::new(Vec::new()), shared_frame: RefCell::new(Vec::new()) };
        let peer = Peer { outbox: RefCell::new(Vec::new()), deflater: RefCell::new(None), wake: Notify::new() };
        let receiver = Receiver { inflater: None, fragments: None, inflated: Vec::new(), deflated: Vec::new() };
        (server, peer, receiver)
    }

    /// Splits the server's output into (opcode, payload) pairs.
    fn frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut out = Vec::new();
        while let Ok(Some(h)) = frame::parse_header(bytes, usize::MAX) {
            assert!(h.fin && h.mask.is_none());
            out.push((h.opcode, bytes[h.header_len..h.frame_len()].to_vec()));
            bytes = &bytes[h.frame_len()..];
        }
        assert!(bytes.is_empty());
        out
    }

    #[test]
    fn echoes_reassembled_messages_and_answers_ping_and_close() {
        let (server, peer, mut receiver) = setup();
        let mut input = masked(false, frame::TEXT, b"frag-");
        input.extend(masked(true, frame::PING, b"p"));
        input.extend(masked(true, frame::CONTINUATION, b"ment"));
        input.extend(masked(true, frame::BINARY, &[0xFF; 300]));
        let partial = masked(true, frame::TEXT, b"later");
        input.extend_from_slice(&partial[..3]);
        let mut rbuf = ReadBuf::with_initial(64, &input);
        assert!(matches!(receiver.handle_frames(&mut rbuf, &server, &peer), Ok(Next::Continue)));
        assert_eq!(rbuf.bytes(), &partial[..3], "an incomplete frame waits for more bytes");
        let out = frames(&peer.outbox.borrow());
        assert_eq!(out, vec![(frame::PONG, b"p".to_vec()), (frame::TEXT, b"frag-ment".to_vec()), (frame::BINARY, vec![0xFF; 300])]);

        peer.outbox.borrow_mut().clear();
        let mut rbuf = ReadBuf::with_initial(64, &masked(true, frame::CLOSE, &[0x0F, 0xA0, b'x']));
        assert!(matches!(receiver.handle_frames(&mut rbuf, &server, &peer), Ok(Next::Close)));
        assert_eq!(frames(&peer.outbox.borrow()), vec![(frame::CLOSE, vec![0x0F, 0xA0])]);
    }

    #[test]
    fn protocol_errors_have_close_codes() {
        let cases: [(Vec<u8>, u16); 4] = [
            (vec![0x81, 0x01, b'a'], 1002),               // unmasked
            (masked(true, frame::TEXT, &[0xC3, 0x28]), 1007), // not UTF-8
            (masked(true, frame::CONTINUATION, b"x"), 1002),
            (masked(true, frame::CLOSE, &[3]), 1002),
        ];
        for (input, code) in cases {
            let (server, peer, mut receiver) = setup();
            let mut rbuf = ReadBuf::with_initial(64, &input);
            match receiver.handle_frames(&mut rbuf, &server, &peer) {
                Err(failure) => assert_eq!(failure.code, code, "{}", failure.reason),
                Ok(_) => panic!("accepted {input:?}"),
            }
        }
    }

    #[test]
    fn deflate_round_trip_through_the_server() {
        let (server, peer, mut receiver) = setup();
        receiver.inflater = Some(Inflater::new(15, false));
        *peer.deflater.borrow_mut() = Some(Deflater::new(DEFLATE_LEVEL, 15, false));
        let message = b"compress me, compress me, compress me".repeat(20);
        let mut client_deflater = Deflater::new(1, 15, false);
        let mut input = Vec::new();
        for _ in 0..2 {
            let mut wire = Vec::new();
            client_deflater.compress(&message, &mut wire).unwrap();
            frame::write_masked_frame(&mut input, frame::TEXT, true, &wire, [1, 2, 3, 4]);
        }
        let mut rbuf = ReadBuf::with_initial(64, &input);
        assert!(matches!(receiver.handle_frames(&mut rbuf, &server, &peer), Ok(Next::Continue)));
        let outbox = peer.outbox.borrow();
        let mut client_inflater = Inflater::new(15, false);
        let mut bytes = &outbox[..];
        for _ in 0..2 {
            let h = frame::parse_header(bytes, usize::MAX).unwrap().unwrap();
            assert!(h.rsv1 && h.opcode == frame::TEXT);
            let mut plain = Vec::new();
            client_inflater.decompress(&bytes[h.header_len..h.frame_len()], &mut plain, usize::MAX).unwrap();
            assert_eq!(plain, message);
            bytes = &bytes[h.frame_len()..];
        }
    }

    /// The load generator's client against `serve`, over an in-memory pipe smaller
    /// than the messages: the client has to read echoes while it writes or both stall.
    #[tokio::test(flavor = "current_thread")]
    async fn client_and_server_end_to_end() {
        for deflate in [false, true] {
            let (client_end, server_end) = tokio::io::duplex(64 * 1024);
            let server = Rc::new(Server { deflate, broadcast: false, peers: RefCell::new(Vec::new()), shared_frame: RefCell::new(Vec::new()) });
            let payloads = loadgen::payload::Payloads::new(300_000, true);
            let client_side = async {
                let mut client = loadgen::client::Client::handshake(client_end, "127.0.0.1", 80, deflate, 1, 4096).await.unwrap();
                assert_eq!(client.deflate(), deflate);
                for n in 0..4 {
                    client.queue(payloads.opcode, payloads.get(n)).unwrap();
                }
                client.flush().await.unwrap();
                let mut next = 0;
                while next < 4 {
                    client.read().await.unwrap();
                    client
                        .drain(|op, data| {
                            assert_eq!((op, data), (payloads.opcode, payloads.get(next)));
                            next += 1;
                            Ok(())
                        })
                        .unwrap();
                }
                client.close(Duration::from_secs(1)).await;
            };
            let (_, served) = tokio::join!(client_side, serve(server_end, server));
            assert_eq!(served, Ok(()));
        }
    }
}
