//! Echo mode: K messages in flight on every connection; each verified echo is
//! answered by the next message until the time is up.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::{Duration, Instant};

use loadgen::client::Client;
use loadgen::histogram::Histogram;
use loadgen::payload::Payloads;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::timeout_at;

use crate::setup::report_error;
use crate::Report;

/// How long to wait for the server's close after ours.
pub const CLOSE_WAIT: Duration = Duration::from_millis(500);
/// After the sending stops, how long the last echoes may take before the run fails.
pub const GRACE: Duration = Duration::from_secs(10);

struct Shared {
    payloads: Rc<Payloads>,
    inflight: usize,
    until: Instant,
    latencies: RefCell<Histogram>,
    messages: Cell<u64>,
    errors: Cell<u64>,
    last_echo: Cell<Option<Instant>>,
}

async fn run_one<S: AsyncRead + AsyncWrite + Unpin>(client: &mut Client<S>, shared: &Shared, first: u64) -> Result<(), String> {
    let payloads = &*shared.payloads;
    let opcode = payloads.opcode;
    // Send time and message number of each message awaiting its echo, oldest first.
    let mut in_flight: VecDeque<(Instant, u64)> = VecDeque::with_capacity(shared.inflight);
    let mut next = first;
    let now = Instant::now();
    for _ in 0..shared.inflight {
        client.queue(opcode, payloads.get(next))?;
        in_flight.push_back((now, next));
        next += 1;
    }
    client.flush().await?;
    let deadline = (shared.until + GRACE).into();
    while !in_flight.is_empty() {
        timeout_at(deadline, client.read()).await.map_err(|_| "timed out waiting for echoes".to_string())??;
        let now = Instant::now();
        let mut echoed = 0;
        {
            let mut latencies = shared.latencies.borrow_mut();
            client.drain(|op, data| {
                let (sent, number) = in_flight.pop_front().ok_or("message from the server that echoes nothing we sent")?;
                if op != opcode {
                    return Err(format!("echo has opcode {op}, sent {opcode}"));
                }
                if data != payloads.get(number) {
                    return Err(format!("echo differs from what was sent ({} bytes, sent {})", data.len(), payloads.get(number).len()));
                }
                latencies.record(now.duration_since(sent).as_micros() as u64);
                echoed += 1;
                Ok(())
            })?;
        }
        if echoed > 0 {
            shared.messages.set(shared.messages.get() + echoed);
            shared.last_echo.set(Some(now));
        }
        if now < shared.until {
            for _ in 0..echoed {
                client.queue(opcode, payloads.get(next))?;
                in_flight.push_back((now, next));
                next += 1;
            }
        }
        // The refills and any pongs, in one write.
        client.flush().await?;
    }
    Ok(())
}

pub async fn run<S>(clients: Vec<Client<S>>, payloads: Rc<Payloads>, inflight: usize, seconds: f64) -> Report
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let started = Instant::now();
    let shared = Rc::new(Shared {
        payloads,
        inflight,
        until: started + Duration::from_secs_f64(seconds),
        latencies: RefCell::default(),
        messages: Cell::new(0),
        errors: Cell::new(0),
        last_echo: Cell::new(None),
    });
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut client)| {
            let shared = shared.clone();
            tokio::task::spawn_local(async move {
                // Connections start at different payloads so they do not move in lockstep.
                match run_one(&mut client, &shared, i as u64).await {
                    Ok(()) => client.close(CLOSE_WAIT).await,
                    Err(message) => {
                        report_error(&message);
                        shared.errors.set(shared.errors.get() + 1);
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        if task.await.is_err() {
            shared.errors.set(shared.errors.get() + 1);
        }
    }
    let ended = shared.last_echo.get().unwrap_or_else(Instant::now);
    let latencies = shared.latencies.borrow();
    Report {
        messages: shared.messages.get(),
        deliveries: shared.messages.get(),
        seconds: ended.duration_since(started).as_secs_f64(),
        p50_us: latencies.quantile(0.5),
        p99_us: latencies.quantile(0.99),
        errors: shared.errors.get(),
    }
}
