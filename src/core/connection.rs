//! The one connection API the binding uses. It picks the protocol from the upgrade
//! request (today RFC 6455 only) and runs the opening handshake before handing the
//! byte stream to the frame state machine.

use super::error::{ProtocolError, UsageError};
use super::handshake::headers::HeaderList;
use super::handshake::server::{self, Outcome, UpgradeRequest};
use super::hybi::{Hybi, SendStatus};
use super::limits::Limits;
use super::{Event, NoMasks, Role, State};

pub const HYBI_VERSION: &str = "hybi-13";

/// A server connection waiting for `start()`.
struct PendingHandshake {
    request: UpgradeRequest,
    protocols: Vec<String>,
    headers: HeaderList,
}

pub struct Connection {
    hybi: Hybi,
    protocol: Option<String>,
    pending: Option<PendingHandshake>,
}

impl Connection {
    /// A server-side connection for an upgrade request. `headers` (the `headers` option)
    /// are checked here, so a bad one is a usage error before anything is written.
    pub fn server(
        request: UpgradeRequest,
        protocols: Vec<String>,
        headers: &[(String, String)],
        limits: Limits,
    ) -> Result<Self, UsageError> {
        let mut list = HeaderList::default();
        for (name, value) in headers {
            list.set(name, value)?;
        }
        Ok(Connection {
            hybi: Hybi::new(Role::Server, limits, Box::new(NoMasks)),
            protocol: None,
            pending: Some(PendingHandshake { request, protocols, headers: list }),
        })
    }

    /// Answers the upgrade request: a 101 and `Event::Open`, or a 400 with
    /// `Event::Error` and `Event::Close`. Does nothing a second time, or once closed.
    pub fn start(&mut self) {
        let Some(pending) = self.pending.take() else { return };
        if self.hybi.state() != State::Connecting {
            return;
        }
        match server::respond(&pending.request, &pending.protocols, &pending.headers) {
            Outcome::Accepted { response, protocol } => {
                self.protocol = protocol;
                self.hybi.write_raw(&response);
                self.hybi.open();
            }
            Outcome::Refused { response, message } => {
                self.hybi.write_raw(&response);
                self.hybi.abort(ProtocolError::Handshake(message));
            }
        }
    }

    pub fn version(&self) -> &'static str {
        HYBI_VERSION
    }

    /// The negotiated subprotocol, once open.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    pub fn ready_state(&self) -> u32 {
        self.hybi.state().ready_state()
    }

    pub fn feed(&mut self, input: &[u8]) {
        self.hybi.feed(input)
    }

    pub fn feed_eof(&mut self) {
        self.hybi.feed_eof()
    }

    pub fn send(&mut self, text: bool, payload: &[u8]) -> SendStatus {
        self.hybi.send(text, payload)
    }

    pub fn ping(&mut self, payload: &[u8]) -> SendStatus {
        self.hybi.ping(payload)
    }

    pub fn close(&mut self, code: Option<u16>, reason: &str) -> Result<(), UsageError> {
        self.hybi.close(code, reason)
    }

    pub fn flush_close(&mut self) {
        self.hybi.flush_close()
    }

    pub fn close_expected(&self) -> bool {
        self.hybi.close_expected()
    }

    pub fn drain_output(&mut self) -> Option<Vec<u8>> {
        self.hybi.drain_output()
    }

    pub fn drain_events(&mut self) -> Vec<Event> {
        self.hybi.drain_events()
    }
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
