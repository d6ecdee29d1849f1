//! The one connection API the binding uses, for both roles. It runs the opening
//! handshake (answering an upgrade request, or writing one and checking the response)
//! before handing the byte stream to the frame state machine.

use super::deflate::{DeflateConfig, DeflateSession, Negotiated};
use super::error::{ProtocolError, UsageError};
use super::handshake::client::{ClientHandshake, ClientTarget, HANDSHAKE_ERROR_PREFIX};
use super::handshake::headers::HeaderList;
use super::handshake::response::{HeadProgress, HeadReader, ResponseHead};
use super::handshake::server::{self, Outcome, UpgradeRequest};
use super::hybi::{Hybi, SendStatus};
use super::limits::Limits;
use super::{Event, MaskSource, NoMasks, Role, State};

pub const HYBI_VERSION: &str = "hybi-13";

/// Where the opening handshake stands.
enum Handshake {
    /// A server connection waiting for `start()`.
    ServerPending { request: UpgradeRequest, protocols: Vec<String>, headers: HeaderList },
    /// A client connection: the request is written on `start()`, then the response read.
    ClientPending(ClientHandshake),
    ClientAwaiting { handshake: ClientHandshake, reader: HeadReader },
    Done,
}

pub struct Connection {
    hybi: Hybi,
    /// permessage-deflate, when the application enabled it.
    deflate: Option<DeflateConfig>,
    protocol: Option<String>,
    handshake: Handshake,
    /// The server's handshake response, for a client, until the caller takes it.
    response: Option<ResponseHead>,
}

impl Connection {
    /// A server-side connection for an upgrade request. `headers` (the `headers` option)
    /// are checked here, so a bad one is a usage error before anything is written.
    pub fn server(
        request: UpgradeRequest,
        protocols: Vec<String>,
        headers: &[(String, String)],
        limits: Limits,
        deflate: Option<DeflateConfig>,
    ) -> Result<Self, UsageError> {
        let mut list = HeaderList::default();
        for (name, value) in headers {
            list.set(name, value)?;
        }
        if let Some(config) = &deflate {
            config.validate()?;
        }
        Ok(Connection {
            hybi: Hybi::new(Role::Server, limits, Box::new(NoMasks)),
            deflate,
            protocol: None,
            handshake: Handshake::ServerPending { request, protocols, headers: list },
            response: None,
        })
    }

    /// A client-side connection. `nonce` is the 16 random bytes of Sec-WebSocket-Key;
    /// `masks` supplies a fresh key for every frame.
    pub fn client(
        target: &ClientTarget,
        nonce: [u8; 16],
        limits: Limits,
        masks: Box<dyn MaskSource>,
        deflate: Option<DeflateConfig>,
    ) -> Result<Self, UsageError> {
        if let Some(config) = &deflate {
            config.validate()?;
        }
        Ok(Connection {
            hybi: Hybi::new(Role::Client, limits, masks),
            handshake: Handshake::ClientPending(ClientHandshake::new(target, nonce, deflate.clone())?),
            deflate,
            protocol: None,
            response: None,
        })
    }

    /// Starts the opening handshake. A server answers the upgrade request: a 101 and
    /// `Event::Open`, or a 400 with `Event::Error` and `Event::Close`. A client writes
    /// its upgrade request. Does nothing a second time, or once closed.
    pub fn start(&mut self) {
        if self.hybi.state() != State::Connecting {
            return;
        }
        match std::mem::replace(&mut self.handshake, Handshake::Done) {
            Handshake::ServerPending { request, protocols, headers } => {
                match server::respond(&request, &protocols, &headers, self.deflate.as_ref()) {
                    Outcome::Accepted { response, protocol, deflate } => {
                        self.protocol = protocol;
                        self.hybi.write_raw(&response);
                        self.hybi.open(self.session(deflate));
                    }
                    Outcome::Refused { response, message } => {
                        self.hybi.write_raw(&response);
                        self.hybi.abort(ProtocolError::Handshake(message));
                    }
                }
            }
            Handshake::ClientPending(handshake) => {
                self.hybi.write_raw(handshake.request());
                self.handshake = Handshake::ClientAwaiting { handshake, reader: HeadReader::default() };
            }
            other => self.handshake = other,
        }
    }

    /// Reads the server's response head; returns the bytes that followed it once the
    /// connection is open.
    fn read_response(&mut self, input: &[u8]) -> Option<Vec<u8>> {
        let Handshake::ClientAwaiting { handshake, reader } = &mut self.handshake else {
            return None;
        };
        match reader.feed(input) {
            HeadProgress::NeedMore => None,
            HeadProgress::Invalid(reason) => {
                self.handshake = Handshake::Done;
                self.hybi.abort(ProtocolError::Handshake(format!("{HANDSHAKE_ERROR_PREFIX}{reason}")));
                None
            }
            HeadProgress::Complete(head, rest) => {
                let verdict = handshake.validate(&head);
                self.response = Some(head);
                self.handshake = Handshake::Done;
                match verdict {
                    Ok(agreed) => {
                        self.protocol = agreed.protocol;
                        let session = self.session(agreed.deflate);
                        self.hybi.open(session);
                        Some(rest)
                    }
                    Err(message) => {
                        self.hybi.abort(ProtocolError::Handshake(message));
                        None
                    }
                }
            }
        }
    }

    fn session(&self, negotiated: Option<Negotiated>) -> Option<DeflateSession> {
        Some(DeflateSession::new(self.deflate.as_ref()?, negotiated?))
    }

    /// The server's handshake response (client side), once, after it arrived.
    pub fn take_response(&mut self) -> Option<ResponseHead> {
        self.response.take()
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

    /// Processes bytes read from the peer: the handshake response first, for a client,
    /// then frames (including any that arrived in the same read as the response).
    pub fn feed(&mut self, input: &[u8]) {
        if matches!(self.handshake, Handshake::ClientAwaiting { .. }) {
            if let Some(rest) = self.read_response(input) {
                self.hybi.feed(&rest);
            }
            return;
        }
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
