//! Broadcast mode: connection 0 sends a message, the server relays every message to
//! all its connections (the sender too), and the broadcast counts once every
//! connection has received it; then the next one goes out. With K > 1, K broadcasts
//! are kept in flight.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Instant;

use loadgen::client::Client;
use loadgen::histogram::Histogram;
use loadgen::payload::Payloads;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{watch, Notify};

use crate::echo::{CLOSE_WAIT, GRACE};
use crate::setup::report_error;
use crate::Report;

/// A broadcast on its way: when it was sent and how many connections still miss it.
struct Pending {
    sent: Instant,
    missing: usize,
}

struct Shared {
    payloads: Rc<Payloads>,
    connections: usize,
    until: Instant,
    /// Broadcasts not yet received everywhere, in sending order; the front one is
    /// number `first_pending`. Every connection receives them in that order, so they
    /// also complete in that order.
    pending: RefCell<VecDeque<Pending>>,
    first_pending: Cell<u64>,
    /// Broadcasts the sender may start (completions hand them back).
    credits: Cell<usize>,
    wake_sender: Notify,
    /// Set when the run is over (time up and nothing pending, or a failure).
    done: watch::Sender<bool>,
    completed: Cell<u64>,
    deliveries: Cell<u64>,
    latencies: RefCell<Histogram>,
    errors: Cell<u64>,
    last_completion: Cell<Option<Instant>>,
}

impl Shared {
    /// Records that one connection received broadcast `number` at `now`.
    fn delivered(&self, number: u64, now: Instant) -> Result<(), String> {
        let mut pending = self.pending.borrow_mut();
        let index = number.checked_sub(self.first_pending.get()).ok_or("a broadcast arrived twice")?;
        let entry = pending.get_mut(index as usize).ok_or("a broadcast arrived that was never sent")?;
        entry.missing = entry.missing.saturating_sub(1);
        self.deliveries.set(self.deliveries.get() + 1);
        while pending.front().is_some_and(|p| p.missing == 0) {
            if let Some(done) = pending.pop_front() {
                self.latencies.borrow_mut().record(now.duration_since(done.sent).as_micros() as u64);
                self.completed.set(self.completed.get() + 1);
                self.first_pending.set(self.first_pending.get() + 1);
                self.last_completion.set(Some(now));
                self.credits.set(self.credits.get() + 1);
                self.wake_sender.notify_one();
            }
        }
        drop(pending);
        self.finish_if_over();
        Ok(())
    }

    fn finish_if_over(&self) {
        if Instant::now() >= self.until && self.pending.borrow().is_empty() {
            self.done.send_replace(true);
        }
    }

    fn fail(&self, message: &str) {
        report_error(message);
        self.errors.set(self.errors.get() + 1);
        self.done.send_replace(true);
    }
}

async fn run_one<S: AsyncRead + AsyncWrite + Unpin>(client: &mut Client<S>, shared: &Shared, sender: bool) -> Result<(), String> {
    let payloads = &*shared.payloads;
    let mut done = shared.done.subscribe();
    let mut expected: u64 = 0;
    let mut next: u64 = 0;
    let deadline = tokio::time::Instant::from(shared.until + GRACE);
    loop {
        if *done.borrow_and_update() {
            return Ok(());
        }
        if sender {
            while shared.credits.get() > 0 {
                shared.credits.set(shared.credits.get() - 1);
                let now = Instant::now();
                if now >= shared.until {
                    continue;
                }
                client.queue(payloads.opcode, payloads.get(next))?;
                shared.pending.borrow_mut().push_back(Pending { sent: now, missing: shared.connections });
                next += 1;
            }
            shared.finish_if_over();
        }
        client.flush().await?;
        tokio::select! {
            read = client.read() => {
                read?;
                let now = Instant::now();
                client.drain(|op, data| {
                    if op != payloads.opcode || data != payloads.get(expected) {
                        return Err(format!("broadcast {expected} arrived with different bytes or opcode"));
                    }
                    shared.delivered(expected, now)?;
                    expected += 1;
                    Ok(())
                })?;
            }
            _ = shared.wake_sender.notified(), if sender => {}
            _ = done.changed() => {}
            _ = tokio::time::sleep_until(deadline) => return Err("timed out waiting for broadcasts".into()),
        }
    }
}

pub async fn run<S>(clients: Vec<Client<S>>, payloads: Rc<Payloads>, inflight: usize, seconds: f64) -> Report
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let started = Instant::now();
    let shared = Rc::new(Shared {
        payloads,
        connections: clients.len(),
        until: started + std::time::Duration::from_secs_f64(seconds),
        pending: RefCell::default(),
        first_pending: Cell::new(0),
        credits: Cell::new(inflight),
        wake_sender: Notify::new(),
        done: watch::Sender::new(clients.is_empty()),
        completed: Cell::new(0),
        deliveries: Cell::new(0),
        latencies: RefCell::default(),
        errors: Cell::new(0),
        last_completion: Cell::new(None),
    });
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut client)| {
            let shared = shared.clone();
            tokio::task::spawn_local(async move {
                match run_one(&mut client, &shared, i == 0).await {
                    Ok(()) => client.close(CLOSE_WAIT).await,
                    // One broken connection stalls every broadcast: stop them all.
                    Err(message) => shared.fail(&message),
                }
            })
        })
        .collect();
    for task in tasks {
        if task.await.is_err() {
            shared.fail("connection task failed");
        }
    }
    let ended = shared.last_completion.get().unwrap_or_else(Instant::now);
    let latencies = shared.latencies.borrow();
    Report {
        messages: shared.completed.get(),
        deliveries: shared.deliveries.get(),
        seconds: ended.duration_since(started).as_secs_f64(),
        p50_us: latencies.quantile(0.5),
        p99_us: latencies.quantile(0.99),
        errors: shared.errors.get(),
    }
}
