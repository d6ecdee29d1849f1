//! The one connection API the binding uses, for both roles and every protocol
//! version. A server picks the protocol from the upgrade request as websocket-driver
//! does: RFC 6455 when the request carries Sec-WebSocket-Version or Sec-WebSocket-Key,
//! hixie-76 when it carries Sec-WebSocket-Key1/Key2, hixie-75 otherwise. For RFC 6455
//! it runs the opening handshake (answering an upgrade request, or writing one and
//! checking the response) before handing the byte stream to the frame state machine.

use super::deflate::{CompressionJob, DeflateConfig, DeflateSession, Negotiated};
use super::close;
use super::error::{ProtocolError, UsageError};
use super::hixie::{Draft, Hixie};
use super::handshake::client::{ClientExtensions, ClientHandshake, ClientTarget, HANDSHAKE_ERROR_PREFIX};
use super::handshake::headers::HeaderList;
use super::handshake::response::{HeadProgress, HeadReader, ResponseHead};
use super::handshake::server::{self, Outcome, ServerExtensions, UpgradeRequest};
use super::hybi::{Hybi, SendStatus};
use super::limits::Limits;
use super::{Event, MaskSource, NoMasks, Role, State};

pub const HYBI_VERSION: &str = "hybi-13";

/// Where the opening handshake stands.
/// The states before `Done` hold their data boxed, so that an open connection does not
/// carry their size.
enum Handshake {
    /// A server connection waiting for `start()`.
    ServerPending(Box<PendingRequest>),
    /// A client connection: the request is written on `start()`, then the response read.
    ClientPending(Box<ClientHandshake>),
    ClientAwaiting(Box<(ClientHandshake, HeadReader)>),
    /// A client whose caller runs the extensions: the response was accepted and the
    /// caller now checks its Sec-WebSocket-Extensions (`activate_extensions` or
    /// `fail`). Bytes that arrive meanwhile wait here.
    ClientActivating { rest: Vec<u8> },
    Done,
}

/// What a server needs to answer the upgrade request on `start()`.
struct PendingRequest {
    request: UpgradeRequest,
    protocols: Vec<String>,
    headers: HeaderList,
}

pub struct Connection {
    engine: Engine,
}

// The RFC 6455 connection is held inline: it is nearly every connection, and the
// binding boxes the whole `Connection` once already.
#[allow(clippy::large_enum_variant)]
enum Engine {
    Hybi(HybiConnection),
    Hixie { hixie: Box<Hixie>, pending: Option<Box<DraftRequest>> },
}

/// A draft connection's request, until `start()` answers it.
struct DraftRequest {
    request: UpgradeRequest,
    url: String,
    headers: HeaderList,
}

/// The RFC 6455 connection: opening handshake, then frames.
struct HybiConnection {
    hybi: Hybi,
    /// permessage-deflate, when the application enabled it.
    deflate: Option<Box<DeflateConfig>>,
    /// Set when the caller negotiates and runs the extensions instead of the core.
    caller: Option<Box<CallerExtensions>>,
    protocol: Option<String>,
    handshake: Handshake,
    /// The server's handshake response, for a client, until the caller takes it.
    response: Option<Box<ResponseHead>>,
}

/// Extensions the caller negotiates and runs (see `Hybi::open_for_caller_extensions`).
struct CallerExtensions {
    /// A server's answer to the offers: the response header, or a refusal.
    answer: Result<Option<String>, String>,
    /// The reserved bits the negotiated extensions use.
    rsv: u8,
}

impl Connection {
    /// A server-side connection for an upgrade request. `url` is the URL the client
    /// asked for (the drafts echo it in their handshake). `headers` (the `headers`
    /// option) are checked here, so a bad one is a usage error before anything is
    /// written.
    pub fn server(
        request: UpgradeRequest,
        url: &str,
        protocols: Vec<String>,
        headers: &[(String, String)],
        limits: Limits,
        deflate: Option<DeflateConfig>,
    ) -> Result<Self, UsageError> {
        // websocket-driver tests the values for truth: an empty header counts as absent.
        let has = |name: &str| request.headers.get(name).is_some_and(|v| !v.is_empty());
        let draft = if has("sec-websocket-version") || has("sec-websocket-key") {
            None
        } else if has("sec-websocket-key1") || has("sec-websocket-key2") {
            Some(Draft::Hixie76)
        } else {
            Some(Draft::Hixie75)
        };
        let engine = match draft {
            None => Engine::Hybi(HybiConnection::server(request, protocols, headers, limits, deflate)?),
            Some(draft) => {
                let mut list = HeaderList::default();
                for (name, value) in headers {
                    list.set(name, value)?;
                }
                let pending = DraftRequest { request, url: url.to_owned(), headers: list };
                Engine::Hixie { hixie: Box::new(Hixie::new(draft, limits)), pending: Some(Box::new(pending)) }
            }
        };
        Ok(Connection { engine })
    }

    /// A client-side connection (RFC 6455). `nonce` is the 16 random bytes of
    /// Sec-WebSocket-Key; `masks` supplies a fresh key for every frame. With
    /// `ClientExtensions::Caller` the caller negotiates and runs the extensions: once
    /// the response arrives, the connection waits for `activate_extensions` (or
    /// `fail`) before it opens.
    pub fn client(
        target: &ClientTarget,
        nonce: [u8; 16],
        limits: Limits,
        masks: Box<dyn MaskSource>,
        extensions: ClientExtensions,
    ) -> Result<Self, UsageError> {
        if let ClientExtensions::Native(Some(config)) = &extensions {
            config.validate()?;
        }
        let caller = matches!(extensions, ClientExtensions::Caller(_));
        let mut conn = HybiConnection::client(target, nonce, limits, masks, extensions)?;
        if caller {
            conn.caller = Some(Box::new(CallerExtensions { answer: Ok(None), rsv: 0 }));
        }
        Ok(Connection { engine: Engine::Hybi(conn) })
    }

    /// For a server whose caller negotiates and runs the extensions: the caller's
    /// answer to the client's offers (the response header and the reserved bits its
    /// extensions use), or the reason to refuse the request. Call before `start`;
    /// replaces the core's own permessage-deflate. The drafts have no extensions.
    pub fn answer_extensions(&mut self, answer: Result<(Option<String>, u8), String>) {
        if let Engine::Hybi(conn) = &mut self.engine {
            conn.deflate = None;
            conn.caller = Some(Box::new(match answer {
                Ok((header, rsv)) => CallerExtensions { answer: Ok(header), rsv },
                Err(reason) => CallerExtensions { answer: Err(reason), rsv: 0 },
            }));
        }
    }

    /// For a client whose caller runs the extensions: it accepted the server's
    /// answer, whose extensions use the reserved bits `rsv`. Opens the connection.
    pub fn activate_extensions(&mut self, rsv: u8) {
        if let Engine::Hybi(conn) = &mut self.engine {
            if let Handshake::ClientActivating { rest } = std::mem::replace(&mut conn.handshake, Handshake::Done) {
                conn.hybi.open_for_caller_extensions(rsv);
                conn.hybi.feed(&rest);
            }
        }
    }

    /// Fails the connection for a reason the caller found, such as an extension that
    /// could not process a message (RFC 6455 only; the drafts have no status codes).
    pub fn fail(&mut self, code: u16, reason: String) {
        if let Engine::Hybi(conn) = &mut self.engine {
            conn.handshake = Handshake::Done;
            conn.hybi.fail_with(code, reason);
        }
    }

    /// Sends a message whose payload `fill` appends to the Vec it is given (see
    /// `Hybi::send_with`).
    pub fn send_with<E>(&mut self, text: bool, len: usize, fill: impl FnOnce(&mut Vec<u8>) -> Result<(), E>) -> Result<SendStatus, E> {
        match &mut self.engine {
            Engine::Hybi(conn) => conn.hybi.send_with(text, len, fill),
            Engine::Hixie { .. } => {
                let mut payload = Vec::with_capacity(len + super::hybi::FILL_SLACK);
                fill(&mut payload)?;
                Ok(self.send(text, &payload))
            }
        }
    }

    /// Sends a message's frame header only; the caller writes the payload right after
    /// the output. `None` when the message must go through `send` instead (see
    /// `Hybi::send_head`; the drafts frame text differently).
    pub fn send_head(&mut self, text: bool, len: u64) -> Option<SendStatus> {
        match &mut self.engine {
            Engine::Hybi(conn) => conn.hybi.send_head(text, len),
            Engine::Hixie { .. } => None,
        }
    }

    /// Hands a message over to be compressed elsewhere: see `Hybi::take_compression`.
    /// Gives the payload back where that is not possible (the drafts have no
    /// compression).
    pub fn take_compression(&mut self, text: bool, payload: Vec<u8>) -> Result<CompressionJob, Vec<u8>> {
        match &mut self.engine {
            Engine::Hybi(conn) => conn.hybi.take_compression(text, payload),
            Engine::Hixie { .. } => Err(payload),
        }
    }

    pub fn can_take_compression(&self) -> bool {
        match &self.engine {
            Engine::Hybi(conn) => conn.hybi.can_take_compression(),
            Engine::Hixie { .. } => false,
        }
    }

    /// Takes back a job from `take_compression` and writes its frame.
    pub fn finish_compression(&mut self, job: CompressionJob) -> SendStatus {
        match &mut self.engine {
            Engine::Hybi(conn) => conn.hybi.finish_compression(job),
            Engine::Hixie { .. } => SendStatus::Refused,
        }
    }

    /// Sends a message the caller's extensions have transformed, as one frame with
    /// their reserved bits (RFC 6455 only).
    pub fn send_raw(&mut self, text: bool, rsv: u8, payload: &[u8]) -> SendStatus {
        match &mut self.engine {
            Engine::Hybi(conn) => conn.hybi.send_raw(text, rsv, payload),
            Engine::Hixie { .. } => SendStatus::Refused,
        }
    }

    /// Starts the opening handshake: a server answers the upgrade request, a client
    /// writes its own.
    pub fn start(&mut self) {
        match &mut self.engine {
            Engine::Hybi(conn) => conn.start(),
            Engine::Hixie { hixie, pending } => {
                if let Some(pending) = pending.take() {
                    hixie.start(&pending.request, &pending.url, &pending.headers);
                }
            }
        }
    }

    /// 'hybi-13', 'hixie-75' or 'hixie-76'.
    pub fn version(&self) -> &'static str {
        match &self.engine {
            Engine::Hybi(_) => HYBI_VERSION,
            Engine::Hixie { hixie, .. } => hixie.version(),
        }
    }

    /// The negotiated subprotocol, once open (RFC 6455 only).
    pub fn protocol(&self) -> Option<&str> {
        match &self.engine {
            Engine::Hybi(conn) => conn.protocol.as_deref(),
            Engine::Hixie { .. } => None,
        }
    }

    pub fn ready_state(&self) -> u32 {
        match &self.engine {
            Engine::Hybi(conn) => conn.hybi.state().ready_state(),
            Engine::Hixie { hixie, .. } => hixie.state().ready_state(),
        }
    }

    /// Processes bytes read from the peer. Peer faults become events, never errors.
    pub fn feed(&mut self, input: &[u8]) {
        match &mut self.engine {
            Engine::Hybi(conn) => conn.feed(input),
            Engine::Hixie { hixie, .. } => hixie.feed(input),
        }
    }

    /// The peer closed the TCP connection.
    pub fn feed_eof(&mut self) {
        match &mut self.engine {
            Engine::Hybi(conn) => conn.hybi.feed_eof(),
            Engine::Hixie { hixie, .. } => hixie.feed_eof(),
        }
    }

    /// Sends a message. The drafts carry text only: binary is refused, never dropped
    /// while reporting success.
    pub fn send(&mut self, text: bool, payload: &[u8]) -> SendStatus {
        match &mut self.engine {
            Engine::Hybi(conn) => conn.hybi.send(text, payload),
            Engine::Hixie { hixie, .. } => match (text, hixie.state()) {
                (false, _) => SendStatus::Refused,
                (true, State::Connecting) if hixie.send_text(payload) => SendStatus::Queued,
                (true, _) if hixie.send_text(payload) => SendStatus::Written,
                (true, _) => SendStatus::Refused,
            },
        }
    }

    /// Sends a ping; the drafts have none.
    pub fn ping(&mut self, payload: &[u8]) -> SendStatus {
        match &mut self.engine {
            Engine::Hybi(conn) => conn.hybi.ping(payload),
            Engine::Hixie { .. } => SendStatus::Refused,
        }
    }

    /// Starts the closing handshake. The code and reason are checked for every
    /// protocol, as the API promises, though the drafts cannot send them.
    pub fn close(&mut self, code: Option<u16>, reason: &str) -> Result<(), UsageError> {
        match &mut self.engine {
            Engine::Hybi(conn) => conn.hybi.close(code, reason),
            Engine::Hixie { hixie, .. } => {
                close::check_app_code(code.unwrap_or(close::NORMAL_CLOSURE))?;
                close::check_reason(reason)?;
                hixie.close();
                Ok(())
            }
        }
    }

    /// Writes the close frame (or hixie-76 `FF 00`) owed to the peer, once the events
    /// drained before the close have been handled.
    pub fn flush_close(&mut self) {
        match &mut self.engine {
            Engine::Hybi(conn) => conn.hybi.flush_close(),
            Engine::Hixie { hixie, .. } => hixie.flush_close(),
        }
    }

    pub fn close_expected(&self) -> bool {
        match &self.engine {
            Engine::Hybi(conn) => conn.hybi.close_expected(),
            Engine::Hixie { .. } => false,
        }
    }

    /// See `Hybi::plain_frames`; the drafts frame text their own way.
    pub fn plain_frames(&self) -> bool {
        match &self.engine {
            Engine::Hybi(conn) => conn.hybi.plain_frames(),
            Engine::Hixie { .. } => false,
        }
    }

    /// The server's handshake response (client side), once, after it arrived.
    pub fn take_response(&mut self) -> Option<ResponseHead> {
        match &mut self.engine {
            Engine::Hybi(conn) => conn.response.take().map(|head| *head),
            Engine::Hixie { .. } => None,
        }
    }

    /// Bytes written and not yet drained: what `drain_output` would return.
    pub fn output_len(&self) -> usize {
        match &self.engine {
            Engine::Hybi(conn) => conn.hybi.output_len(),
            Engine::Hixie { hixie, .. } => hixie.output_len(),
        }
    }

    pub fn drain_output(&mut self) -> Option<Vec<u8>> {
        match &mut self.engine {
            Engine::Hybi(conn) => conn.hybi.drain_output(),
            Engine::Hixie { hixie, .. } => hixie.drain_output(),
        }
    }

    /// Moves all the output into the start of `dst` and returns its length, for a
    /// caller that writes from a buffer of its own; `None` when there is none or it
    /// does not fit, and the output stays for `drain_output`.
    pub fn drain_output_into(&mut self, dst: &mut [u8]) -> Option<usize> {
        match &mut self.engine {
            Engine::Hybi(conn) => conn.hybi.drain_output_into(dst),
            Engine::Hixie { hixie, .. } => hixie.drain_output_into(dst),
        }
    }

    pub fn drain_events(&mut self) -> Vec<Event> {
        match &mut self.engine {
            Engine::Hybi(conn) => conn.hybi.drain_events(),
            Engine::Hixie { hixie, .. } => hixie.drain_events(),
        }
    }
}

impl HybiConnection {
    fn server(
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
        Ok(HybiConnection {
            hybi: Hybi::new(Role::Server, limits, Box::new(NoMasks)),
            deflate: deflate.map(Box::new),
            caller: None,
            protocol: None,
            handshake: Handshake::ServerPending(Box::new(PendingRequest { request, protocols, headers: list })),
            response: None,
        })
    }

    fn client(
        target: &ClientTarget,
        nonce: [u8; 16],
        limits: Limits,
        masks: Box<dyn MaskSource>,
        extensions: ClientExtensions,
    ) -> Result<Self, UsageError> {
        let deflate = match &extensions {
            ClientExtensions::Native(deflate) => deflate.clone(),
            ClientExtensions::Caller(_) => None,
        };
        Ok(HybiConnection {
            hybi: Hybi::new(Role::Client, limits, masks),
            handshake: Handshake::ClientPending(Box::new(ClientHandshake::new(target, nonce, extensions)?)),
            deflate: deflate.map(Box::new),
            caller: None,
            protocol: None,
            response: None,
        })
    }

    /// A server answers the upgrade request: a 101 and `Event::Open`, or a 400 with
    /// `Event::Error` and `Event::Close`. A client writes its upgrade request. Does
    /// nothing a second time, or once closed.
    fn start(&mut self) {
        if self.hybi.state() != State::Connecting {
            return;
        }
        match std::mem::replace(&mut self.handshake, Handshake::Done) {
            Handshake::ServerPending(pending) => {
                let PendingRequest { request, protocols, headers } = *pending;
                let extensions = match &self.caller {
                    Some(caller) => ServerExtensions::Caller(&caller.answer),
                    None => ServerExtensions::Native(self.deflate.as_deref()),
                };
                match server::respond(&request, &protocols, &headers, extensions) {
                    Outcome::Accepted { response, protocol, deflate } => {
                        self.protocol = protocol;
                        self.hybi.write_raw(&response);
                        match &self.caller {
                            Some(caller) => self.hybi.open_for_caller_extensions(caller.rsv),
                            None => self.hybi.open(self.session(deflate)),
                        }
                    }
                    Outcome::Refused { response, message } => {
                        self.hybi.write_raw(&response);
                        self.hybi.abort(ProtocolError::Handshake(message));
                    }
                }
            }
            Handshake::ClientPending(handshake) => {
                self.hybi.write_raw(handshake.request());
                self.handshake = Handshake::ClientAwaiting(Box::new((*handshake, HeadReader::default())));
            }
            other => self.handshake = other,
        }
    }

    /// Reads the server's response head; returns the bytes that followed it once the
    /// connection is open.
    fn read_response(&mut self, input: &[u8]) -> Option<Vec<u8>> {
        let Handshake::ClientAwaiting(awaiting) = &mut self.handshake else {
            return None;
        };
        let (handshake, reader) = &mut **awaiting;
        match reader.feed(input) {
            HeadProgress::NeedMore => None,
            HeadProgress::Invalid(reason) => {
                self.handshake = Handshake::Done;
                self.hybi.abort(ProtocolError::Handshake(format!("{HANDSHAKE_ERROR_PREFIX}{reason}")));
                None
            }
            HeadProgress::Complete(head, rest) => {
                let verdict = handshake.validate(&head);
                self.response = Some(Box::new(head));
                self.handshake = Handshake::Done;
                match verdict {
                    Ok(agreed) if self.caller.is_some() => {
                        self.protocol = agreed.protocol;
                        self.handshake = Handshake::ClientActivating { rest };
                        None
                    }
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
        Some(DeflateSession::new(self.deflate.as_deref()?, negotiated?))
    }

    /// Processes bytes read from the peer: the handshake response first, for a client,
    /// then frames (including any that arrived in the same read as the response).
    fn feed(&mut self, input: &[u8]) {
        if let Handshake::ClientActivating { rest } = &mut self.handshake {
            return rest.extend_from_slice(input);
        }
        if matches!(self.handshake, Handshake::ClientAwaiting(_)) {
            if let Some(rest) = self.read_response(input) {
                self.hybi.feed(&rest);
            }
            return;
        }
        self.hybi.feed(input)
    }
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
