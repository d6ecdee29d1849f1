//! Opening the connections: TCP or TLS, the WebSocket handshake, optional warm-up.
//! Every mode opens all its connections before its clock starts.

use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use loadgen::client::Client;
use loadgen::payload::Payloads;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

/// Handshakes in progress at once: enough to open 10,000 connections in seconds
/// without a burst that overflows the server's accept backlog.
const CONCURRENT_HANDSHAKES: usize = 200;
/// A connection that has not finished its handshake (and warm-up) by then failed.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Prints the first few errors to stderr; all of them are counted in the JSON.
pub fn report_error(message: &str) {
    static PRINTED: AtomicUsize = AtomicUsize::new(0);
    if PRINTED.fetch_add(1, Ordering::Relaxed) < 5 {
        eprintln!("loadgen: {message}");
    }
}

/// How to open the byte stream under a WebSocket connection.
pub trait Dial: Clone + 'static {
    type Stream: AsyncRead + AsyncWrite + Unpin + 'static;
    fn dial(&self) -> impl Future<Output = std::io::Result<Self::Stream>>;
}

async fn tcp(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect(addr).await?;
    // Frames are written whole and in batches; Nagle would only add delay.
    stream.set_nodelay(true)?;
    Ok(stream)
}

#[derive(Clone)]
pub struct PlainDial(pub SocketAddr);

impl Dial for PlainDial {
    type Stream = TcpStream;
    fn dial(&self) -> impl Future<Output = std::io::Result<TcpStream>> {
        tcp(self.0)
    }
}

#[derive(Clone)]
pub struct TlsDial {
    pub addr: SocketAddr,
    pub connector: TlsConnector,
    pub name: ServerName<'static>,
}

impl Dial for TlsDial {
    type Stream = TlsStream<TcpStream>;
    async fn dial(&self) -> std::io::Result<TlsStream<TcpStream>> {
        let stream = tcp(self.addr).await?;
        self.connector.connect(self.name.clone(), stream).await
    }
}

/// What every connection is opened with.
pub struct Setup {
    pub host: String,
    pub port: u16,
    pub deflate: bool,
    /// Send one message and wait for its echo before counting the connection ready.
    pub warm: bool,
    /// Drop per-connection buffers and zlib state once open (idle mode).
    pub idle: bool,
    pub read_capacity: usize,
    pub payloads: Rc<Payloads>,
}

async fn open_one<D: Dial>(dial: D, setup: Rc<Setup>, seed: u64) -> Result<Client<D::Stream>, String> {
    let stream = dial.dial().await.map_err(|e| format!("connect: {e}"))?;
    let mut client = Client::handshake(stream, &setup.host, setup.port, setup.deflate, seed, setup.read_capacity).await?;
    if setup.deflate && !client.deflate() {
        return Err("server declined permessage-deflate".into());
    }
    if setup.warm {
        let expected = setup.payloads.get(0);
        let opcode = setup.payloads.opcode;
        client.queue(opcode, expected)?;
        client.flush().await?;
        let mut echoed = false;
        while !echoed {
            client.read().await?;
            client.drain(|op, data| {
                if op != opcode || data != expected {
                    return Err("warm-up echo differs from what was sent".into());
                }
                echoed = true;
                Ok(())
            })?;
            client.flush().await?;
        }
    }
    if setup.idle {
        // Now rather than when all are open: 10,000 zlib streams would be gigabytes.
        client.into_idle();
    }
    Ok(client)
}

/// Opens `count` connections, `CONCURRENT_HANDSHAKES` at a time; returns those that
/// succeeded and the number that failed (each failure is reported).
pub async fn open_all<D: Dial>(dial: D, setup: Setup, count: usize) -> (Vec<Client<D::Stream>>, u64) {
    let setup = Rc::new(setup);
    let mut clients = Vec::with_capacity(count);
    let mut errors = 0;
    let mut running = JoinSet::new();
    let mut started = 0;
    while started < count || !running.is_empty() {
        while started < count && running.len() < CONCURRENT_HANDSHAKES {
            let attempt = open_one(dial.clone(), setup.clone(), started as u64);
            running.spawn_local(async move {
                tokio::time::timeout(SETUP_TIMEOUT, attempt).await.unwrap_or_else(|_| Err("connection setup timed out".into()))
            });
            started += 1;
        }
        match running.join_next().await {
            Some(Ok(Ok(client))) => clients.push(client),
            Some(Ok(Err(message))) => {
                report_error(&message);
                errors += 1;
            }
            Some(Err(join_error)) => {
                report_error(&format!("setup task failed: {join_error}"));
                errors += 1;
            }
            None => {}
        }
    }
    (clients, errors)
}
