//! Echo load generator: opens N WebSocket connections to a server, keeps K messages of
//! S bytes in flight on each, checks every echoed byte, and prints one JSON line with
//! the message rate and round-trip latency percentiles.
//!
//!   loadgen --port P [--connections N] [--size S] [--inflight K] [--seconds D]
//!
//! Single-threaded on purpose: pinned to one CPU it leaves the other to the server.

use std::time::{Duration, Instant};

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Args {
    port: u16,
    connections: usize,
    size: usize,
    inflight: usize,
    seconds: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { port: 0, connections: 1, size: 16, inflight: 1, seconds: 2.0 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let bad = format!("bad value for {flag}: {value}");
        match flag.as_str() {
            "--port" => args.port = value.parse().map_err(|_| bad.clone())?,
            "--connections" => args.connections = value.parse().map_err(|_| bad.clone())?,
            "--size" => args.size = value.parse().map_err(|_| bad.clone())?,
            "--inflight" => args.inflight = value.parse().map_err(|_| bad.clone())?,
            "--seconds" => args.seconds = value.parse().map_err(|_| bad.clone())?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if args.port == 0 {
        return Err("--port is required".into());
    }
    Ok(args)
}

/// A masked text frame carrying `payload` (the mask is fixed: this is a load tool).
fn frame(payload: &[u8]) -> Vec<u8> {
    let key = [0x12, 0x34, 0x56, 0x78];
    let mut out = vec![0x81];
    let len = payload.len();
    if len <= 125 {
        out.push(0x80 | len as u8);
    } else if len <= 0xFFFF {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

async fn handshake(stream: &mut TcpStream, port: u16) -> std::io::Result<Vec<u8>> {
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
    let request = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::other("closed during handshake"));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            if !buf.starts_with(b"HTTP/1.1 101") {
                return Err(std::io::Error::other("handshake refused"));
            }
            return Ok(buf.split_off(end + 4));
        }
    }
}

/// Reads one unmasked server frame from `buf`/`stream` and checks its payload against
/// `expected`, consuming it. `chunk` is a reused read buffer.
async fn read_echo(stream: &mut TcpStream, buf: &mut Vec<u8>, chunk: &mut [u8], expected: &[u8]) -> std::io::Result<bool> {
    loop {
        if buf.len() >= 2 {
            let (len, at) = match buf[1] & 0x7F {
                126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
                127 if buf.len() >= 10 => (u64::from_be_bytes(buf[2..10].try_into().unwrap_or([0; 8])) as usize, 10),
                n if n < 126 => (n as usize, 2),
                _ => (usize::MAX, 0),
            };
            if len != usize::MAX && buf.len() >= at + len {
                let same = &buf[at..at + len] == expected;
                buf.drain(..at + len);
                return Ok(same);
            }
        }
        let n = stream.read(chunk).await?;
        if n == 0 {
            return Err(std::io::Error::other("closed"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

struct Outcome {
    messages: u64,
    latencies_us: Vec<u32>,
    errors: u64,
}

async fn run_connection(port: u16, size: usize, inflight: usize, until: Instant) -> Outcome {
    let mut outcome = Outcome { messages: 0, latencies_us: Vec::new(), errors: 0 };
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await else {
        outcome.errors += 1;
        return outcome;
    };
    let _ = stream.set_nodelay(true);
    let mut buf = match handshake(&mut stream, port).await {
        Ok(rest) => rest,
        Err(_) => {
            outcome.errors += 1;
            return outcome;
        }
    };
    let payload: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
    let message = frame(&payload);
    let mut sent_at = std::collections::VecDeque::new();
    for _ in 0..inflight {
        if stream.write_all(&message).await.is_err() {
            outcome.errors += 1;
            return outcome;
        }
        sent_at.push_back(Instant::now());
    }
    let mut chunk = vec![0u8; 256 * 1024];
    while let Some(start) = sent_at.pop_front() {
        match read_echo(&mut stream, &mut buf, &mut chunk, &payload).await {
            Ok(true) => {
                outcome.messages += 1;
                outcome.latencies_us.push(start.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
            }
            _ => {
                outcome.errors += 1;
                return outcome;
            }
        }
        if Instant::now() < until {
            if stream.write_all(&message).await.is_err() {
                outcome.errors += 1;
                return outcome;
            }
            sent_at.push_back(Instant::now());
        }
    }
    // A close frame with 1000; then let the server close.
    let _ = stream.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]).await;
    outcome
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("loadgen: {message}");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(args.seconds);
    let tasks: Vec<_> = (0..args.connections)
        .map(|_| tokio::spawn(run_connection(args.port, args.size, args.inflight, until)))
        .collect();
    let mut messages = 0;
    let mut errors = 0;
    let mut latencies = Vec::new();
    for task in tasks {
        if let Ok(outcome) = task.await {
            messages += outcome.messages;
            errors += outcome.errors;
            latencies.extend(outcome.latencies_us);
        } else {
            errors += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pick = |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0);
    println!(
        "{{\"messages\":{messages},\"seconds\":{elapsed:.3},\"rate\":{:.1},\"p50_us\":{},\"p99_us\":{},\"errors\":{errors}}}",
        messages as f64 / elapsed,
        pick(0.5),
        pick(0.99)
    );
}
