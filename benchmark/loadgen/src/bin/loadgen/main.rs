//! WebSocket load generator for the benchmarks. Opens N connections to a server and,
//! by mode, keeps K echoes in flight on each (echo), relays broadcasts through the
//! server to all of them (broadcast), or holds them open (idle). Every received byte
//! is checked. Prints one JSON line on stdout; errors go to stderr and are counted.
//!
//!   loadgen --port P [--host 127.0.0.1] [--connections N] [--size S] [--inflight K]
//!           [--seconds D] [--deflate] [--tls] [--binary] [--warm]
//!           [--mode echo|broadcast|idle]
//!
//! Single-threaded on purpose: pinned to one CPU it leaves the other to the server.

mod args;
mod broadcast;
mod echo;
mod idle;
mod setup;

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;

use args::{Args, Mode};
use loadgen::payload::Payloads;
use setup::{Dial, PlainDial, Setup, TlsDial};

/// What echo and broadcast runs measured.
pub struct Report {
    /// Echoes, or completed broadcasts.
    pub messages: u64,
    /// Messages received (equal to `messages` for echo).
    pub deliveries: u64,
    pub seconds: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub errors: u64,
}

/// Read buffer per connection: room for many small frames per read under load (it
/// grows further if reads keep filling it); idle connections start small so that
/// 10,000 of them stay cheap.
const READ_BUFFER: usize = 64 * 1024;
const IDLE_READ_BUFFER: usize = 4 * 1024;

fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn print_report(args: &Args, report: &Report) {
    let per_second = |n: f64| if report.seconds > 0.0 { n / report.seconds } else { 0.0 };
    let deliveries = match args.mode {
        Mode::Broadcast => format!("\"deliveries\":{},", report.deliveries),
        _ => String::new(),
    };
    print_line(&format!(
        "{{\"mode\":\"{}\",\"connections\":{},\"messages\":{},{deliveries}\"seconds\":{:.3},\"rate\":{:.1},\
         \"bytes_per_sec\":{:.0},\"p50_us\":{},\"p99_us\":{},\"errors\":{}}}",
        args.mode.name(),
        args.connections,
        report.messages,
        report.seconds,
        per_second(report.messages as f64),
        per_second(report.deliveries as f64 * args.size as f64),
        report.p50_us,
        report.p99_us,
        report.errors
    ));
}

/// Every connection failed before anything could run.
fn failed(args: &Args, message: &str) {
    setup::report_error(message);
    let errors = args.connections as u64;
    match args.mode {
        Mode::Idle => print_line(&format!("{{\"mode\":\"idle\",\"ready\":0,\"errors\":{errors}}}")),
        _ => print_report(args, &Report { messages: 0, deliveries: 0, seconds: 0.0, p50_us: 0, p99_us: 0, errors }),
    }
}

async fn run_with<D: Dial>(dial: D, args: &Args) {
    let payloads = Rc::new(Payloads::new(args.size, args.binary));
    let setup = Setup {
        host: args.host.clone(),
        port: args.port,
        deflate: args.deflate,
        warm: args.warm,
        idle: args.mode == Mode::Idle,
        read_capacity: if args.mode == Mode::Idle { IDLE_READ_BUFFER } else { READ_BUFFER },
        payloads: payloads.clone(),
    };
    let (clients, setup_errors) = setup::open_all(dial, setup, args.connections).await;
    let mut report = match args.mode {
        Mode::Idle => {
            print_line(&format!("{{\"mode\":\"idle\",\"ready\":{},\"errors\":{setup_errors}}}", clients.len()));
            idle::hold(clients).await;
            // Without ceremony: the runner is done measuring; the kernel closes the sockets.
            std::process::exit(0);
        }
        Mode::Echo => echo::run(clients, payloads, args.inflight, args.seconds).await,
        Mode::Broadcast => broadcast::run(clients, payloads, args.inflight, args.seconds).await,
    };
    report.errors += setup_errors;
    print_report(args, &report);
}

async fn run(args: Args, addr: SocketAddr) {
    if !args.tls {
        return run_with(PlainDial(addr), &args).await;
    }
    let dial = loadgen::tls::insecure_connector()
        .and_then(|connector| Ok(TlsDial { addr, connector, name: loadgen::tls::server_name(&args.host)? }));
    match dial {
        Ok(dial) => run_with(dial, &args).await,
        Err(message) => failed(&args, &message),
    }
}

fn main() {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("loadgen: {message}\n{}", args::USAGE);
            std::process::exit(2);
        }
    };
    let addr = match (args.host.as_str(), args.port).to_socket_addrs().map(|mut a| a.next()) {
        Ok(Some(addr)) => addr,
        _ => return failed(&args, &format!("cannot resolve {}", args.host)),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return failed(&args, &format!("tokio runtime: {e}")),
    };
    // A LocalSet lets the connection tasks share counters through Rc/Cell.
    tokio::task::LocalSet::new().block_on(&runtime, run(args, addr));
}
