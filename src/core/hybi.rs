//! The RFC 6455 connection state machine, for either role, after the opening handshake.
//!
//! ```text
//!  feed(bytes) ──► Reader::Header ──parse_header──► begin_frame ──► Reader::Payload
//!                        ▲                               │ error        │ bytes (unmasked,
//!                        │                               ▼              │  UTF-8 checked)
//!                        └──────── finish_frame ◄──── fail(err) ◄───────┘
//!                                     │                  │
//!              Message/Ping/Pong/Close events     Error + close frame + Close,
//!              (a Ping carries its pong)          then Reader::Discard
//! ```
//!
//! Closing handshake (section 7): `close()` sends a close frame and waits in
//! `Closing` (the caller starts its close timeout); the peer's close frame then ends
//! the connection. A close frame received while `Open` is echoed with its code and
//! the connection ends at once. Either way `Event::Close` tells the caller to shut
//! the TCP connection.
//!
//! A close frame that the core owes the peer (an echo, or the frame that fails the
//! connection) is held until the caller calls `flush_close`, after it has delivered
//! the events that came before the close. Messages the application sends while
//! handling those events still go out first, exactly as if the frames had arrived in
//! separate reads: an echo server answers every message it received before the close.

use super::close::{self, ClosePayload, NO_STATUS_RECEIVED, NORMAL_CLOSURE};
use super::deflate::{CompressionJob, DeflateSession, InflateError};
use super::error::{ProtocolError, UsageError};
use super::frame::{self, encode_header_into, FrameHeader, OpCode, Parsed, MAX_CONTROL_PAYLOAD, MAX_HEADER_BYTES};
use super::limits::Limits;
use super::copy;
use super::mask::{apply_mask, extend_masked};
use super::utf8::Utf8Validator;
use super::{Event, MaskSource, Role, State};

/// The most bytes reserved up front for a message, whatever length a frame declares,
/// so that a peer cannot make us allocate memory it never sends.
const MAX_RESERVATION: u64 = 1 << 20;

const RSV_BITS: u8 = frame::RSV1 | frame::RSV2 | frame::RSV3;

enum Reader {
    Header { buf: [u8; MAX_HEADER_BYTES], len: usize },
    Payload { header: FrameHeader, received: u64 },
    /// After a failure or the closing handshake: input is dropped.
    Discard,
}

impl Reader {
    fn header() -> Self {
        Reader::Header { buf: [0; MAX_HEADER_BYTES], len: 0 }
    }
}

/// The most a frame's declared length makes `receive_data` reserve ahead of its bytes.
const RESERVE_AHEAD: u64 = 1 << 20;

/// Room `send_with` leaves after the payload it was promised: see there.
pub const FILL_SLACK: usize = 1;

struct PartialMessage {
    text: bool,
    /// RSV1 on the first frame: the payload is deflate-compressed (RFC 7692).
    compressed: bool,
    /// The first frame's reserved bits, for the caller's extensions.
    rsv: u8,
    /// The message as delivered: inflated when compressed.
    data: Vec<u8>,
    /// Payload bytes received so far, for the declared-length check.
    wire_len: u64,
    utf8: Utf8Validator,
}

/// A message or ping sent before the handshake completed.
struct Queued {
    opcode: OpCode,
    payload: Vec<u8>,
}

/// Whether a send was written, held until open, or refused because the connection is
/// closing or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    Written,
    Queued,
    Refused,
}

pub struct Hybi {
    role: Role,
    state: State,
    limits: Limits,
    reader: Reader,
    message: Option<PartialMessage>,
    control: Vec<u8>,
    queued: Vec<Queued>,
    /// Payload of the close frame we owe the peer, until `flush_close`.
    owed_close: Option<Vec<u8>>,
    /// Boxed: most connections never negotiate it, and an idle one should be small.
    deflate: Option<Box<DeflateSession>>,
    /// The compressor is away with a `CompressionJob` until `finish_compression`.
    compressing: bool,
    /// Set when the caller runs the extensions itself: the reserved bits they claimed.
    /// Messages are then delivered raw (`Event::RawMessage`) and UTF-8 is the caller's
    /// to check after its extensions have run.
    caller_rsv: Option<u8>,
    /// Unmasked compressed bytes on their way to the inflater.
    scratch: Vec<u8>,
    masks: Box<dyn MaskSource>,
    out: Vec<u8>,
    events: Vec<Event>,
}

impl Hybi {
    pub fn new(role: Role, limits: Limits, masks: Box<dyn MaskSource>) -> Self {
        Hybi {
            role,
            state: State::Connecting,
            limits,
            reader: Reader::header(),
            message: None,
            control: Vec::new(),
            queued: Vec::new(),
            owed_close: None,
            deflate: None,
            compressing: false,
            caller_rsv: None,
            scratch: Vec::new(),
            masks,
            out: Vec::new(),
            events: Vec::new(),
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Completes the opening handshake, with permessage-deflate if it was negotiated,
    /// and flushes what was sent while connecting.
    pub fn open(&mut self, deflate: Option<DeflateSession>) {
        if self.state != State::Connecting {
            return;
        }
        self.state = State::Open;
        self.deflate = deflate.map(Box::new);
        for Queued { opcode, payload } in std::mem::take(&mut self.queued) {
            self.write_message(opcode, &payload);
        }
        self.events.push(Event::Open);
    }

    /// Completes the opening handshake for a caller that negotiated extensions itself
    /// and runs them on whole messages; `rsv` holds the reserved bits they use
    /// (RSV1 = 0x40, RSV2 = 0x20, RSV3 = 0x10). Frames are then sent with `send_raw`.
    pub fn open_for_caller_extensions(&mut self, rsv: u8) {
        if self.state != State::Connecting {
            return;
        }
        self.caller_rsv = Some(rsv & RSV_BITS);
        self.open(None);
    }

    /// Fails the connection for a reason found outside the core, such as an extension
    /// that could not process a message: as a protocol error would, with `code`.
    pub fn fail_with(&mut self, code: u16, reason: String) {
        self.fail(ProtocolError::Caller { code, reason });
    }

    /// Ends the connection without a handshake, e.g. when the opening handshake failed.
    pub fn abort(&mut self, error: ProtocolError) {
        let code = error.close_code();
        let reason = error.to_string();
        if !matches!(self.state, State::Closed) {
            self.events.push(Event::Error(error));
            self.finish(code, reason);
        }
    }

    /// Bytes for the peer that are not frames, such as the handshake response.
    pub fn write_raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// Processes bytes read from the peer. Peer faults become events, never errors.
    pub fn feed(&mut self, mut input: &[u8]) {
        while !input.is_empty() {
            let used = match std::mem::replace(&mut self.reader, Reader::Discard) {
                Reader::Discard => return,
                Reader::Header { buf, len } => self.read_header(buf, len, input),
                Reader::Payload { header, received } => self.read_payload(header, received, input),
            };
            input = input.get(used..).unwrap_or_default();
        }
    }

    /// The peer closed the TCP connection.
    pub fn feed_eof(&mut self) {
        self.owed_close = None;
        if self.state != State::Closed {
            self.finish(close::ABNORMAL_CLOSURE, String::new());
        }
    }

    fn read_header(&mut self, mut buf: [u8; MAX_HEADER_BYTES], len: usize, input: &[u8]) -> usize {
        // Parse in place when no earlier read left part of a header behind.
        let (parsed, from_input) = if len == 0 {
            (frame::parse_header(input, self.allowed_rsv()), 0)
        } else {
            let take = (MAX_HEADER_BYTES - len).min(input.len());
            if let (Some(dst), Some(src)) = (buf.get_mut(len..len + take), input.get(..take)) {
                dst.copy_from_slice(src);
            }
            (frame::parse_header(buf.get(..len + take).unwrap_or_default(), self.allowed_rsv()), take)
        };
        match parsed {
            Err(error) => {
                self.fail(error);
                input.len()
            }
            Ok(Parsed::NeedMore) => {
                // Keep what we have; `input` is shorter than a header here.
                let mut held = [0u8; MAX_HEADER_BYTES];
                let total = if len == 0 { input.len() } else { len + from_input };
                let source: &[u8] = if len == 0 { input } else { buf.get(..total).unwrap_or_default() };
                if let (Some(dst), Some(src)) = (held.get_mut(..total), source.get(..total)) {
                    dst.copy_from_slice(src);
                }
                self.reader = Reader::Header { buf: held, len: total };
                input.len()
            }
            Ok(Parsed::Header(header, header_len)) => {
                let used = header_len - len;
                match self.begin_frame(&header) {
                    Err(error) => {
                        self.fail(error);
                        input.len()
                    }
                    Ok(()) => {
                        self.reader = Reader::Payload { header, received: 0 };
                        if header.payload_len == 0 {
                            self.finish_frame(header);
                        }
                        used
                    }
                }
            }
        }
    }

    /// RSV1 belongs to permessage-deflate once negotiated, or the bits the caller's
    /// extensions claimed; `begin_frame` then checks that they only mark the first
    /// frame of a data message.
    fn allowed_rsv(&self) -> u8 {
        match (&self.deflate, self.caller_rsv) {
            (Some(_), _) => frame::RSV1,
            (None, Some(rsv)) => rsv,
            (None, None) => 0,
        }
    }

    fn begin_frame(&mut self, header: &FrameHeader) -> Result<(), ProtocolError> {
        match (self.role, header.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        // RFC 7692 section 6: RSV1 marks a compressed message on its first frame only;
        // websocket-extensions holds every extension's bits to the same rule.
        if header.rsv() != 0 && !matches!(header.opcode, OpCode::Text | OpCode::Binary) {
            return Err(ProtocolError::ReservedBits { rsv1: header.rsv1, rsv2: header.rsv2, rsv3: header.rsv3 });
        }
        let held = match (header.opcode, &self.message) {
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Text | OpCode::Binary, Some(_)) => return Err(ProtocolError::UnfinishedMessage),
            (OpCode::Continuation, Some(message)) => message.wire_len,
            (OpCode::Text | OpCode::Binary, None) => 0,
            (OpCode::Close | OpCode::Ping | OpCode::Pong, _) => {
                self.control.clear();
                return Ok(());
            }
        };
        if held.saturating_add(header.payload_len) > self.limits.max_length {
            return Err(ProtocolError::MessageTooLarge);
        }
        let reserve = usize::try_from(header.payload_len.min(MAX_RESERVATION)).unwrap_or(0);
        match &mut self.message {
            Some(message) => {
                message.wire_len += header.payload_len;
                if !message.compressed {
                    message.data.reserve(reserve);
                }
            }
            None => {
                let compressed = header.rsv1 && self.deflate.is_some();
                self.message = Some(PartialMessage {
                    text: header.opcode == OpCode::Text,
                    compressed,
                    rsv: header.rsv(),
                    data: Vec::with_capacity(if compressed { 0 } else { reserve }),
                    wire_len: header.payload_len,
                    utf8: Utf8Validator::new(),
                })
            }
        }
        Ok(())
    }

    fn read_payload(&mut self, header: FrameHeader, received: u64, input: &[u8]) -> usize {
        let remaining = header.payload_len - received;
        let take = usize::try_from(remaining).map_or(input.len(), |r| r.min(input.len()));
        let chunk = input.get(..take).unwrap_or_default();
        let offset = usize::try_from(received % 4).unwrap_or(0);
        let result = if header.opcode.is_control() {
            append_payload(&mut self.control, chunk, header.mask, offset);
            Ok(())
        } else {
            self.receive_data(chunk, header.mask, offset, remaining)
        };
        if let Err(error) = result {
            self.fail(error);
            return input.len();
        }
        let received = received + take as u64;
        self.reader = Reader::Payload { header, received };
        if received == header.payload_len {
            self.finish_frame(header);
        }
        take
    }

    /// Adds payload bytes to the message: inflated first when it is compressed, and
    /// checked as UTF-8 as they arrive when it is text.
    /// `frame_remaining` counts the frame's payload bytes not yet received, `chunk`'s
    /// included.
    fn receive_data(&mut self, chunk: &[u8], mask: Option<[u8; 4]>, offset: usize, frame_remaining: u64) -> Result<(), ProtocolError> {
        let Some(message) = self.message.as_mut() else {
            return Ok(()); // begin_frame guarantees a message
        };
        if !message.compressed && message.data.capacity() - message.data.len() < chunk.len() {
            // Room for the rest of the frame at once, rather than growing by doubling
            // and copying what arrived so far each time; at most RESERVE_AHEAD, so a
            // peer that declares a large frame and sends little of it costs little.
            let ahead = usize::try_from(frame_remaining.min(RESERVE_AHEAD)).unwrap_or(chunk.len());
            message.data.reserve(ahead.max(chunk.len()));
        }
        let start = message.data.len();
        if message.compressed {
            self.scratch.clear();
            append_payload(&mut self.scratch, chunk, mask, offset);
            if let Some(deflate) = self.deflate.as_mut() {
                deflate
                    .decompressor
                    .inflate(&self.scratch, &mut message.data, self.limits.max_length)
                    .map_err(inflate_error)?;
            }
        } else {
            append_payload(&mut message.data, chunk, mask, offset);
        }
        if message.text && self.caller_rsv.is_none() && !message.utf8.feed(message.data.get(start..).unwrap_or_default()) {
            return Err(ProtocolError::InvalidUtf8);
        }
        Ok(())
    }

    /// Ends a compressed message: the inflater sees the trailer the sender removed.
    fn finish_inflate(&mut self, message: &mut PartialMessage) -> Result<(), ProtocolError> {
        let Some(deflate) = self.deflate.as_mut().filter(|_| message.compressed) else {
            return Ok(());
        };
        let start = message.data.len();
        deflate.decompressor.finish_message(&mut message.data, self.limits.max_length).map_err(inflate_error)?;
        if message.text && !message.utf8.feed(message.data.get(start..).unwrap_or_default()) {
            return Err(ProtocolError::InvalidUtf8);
        }
        Ok(())
    }

    fn finish_frame(&mut self, header: FrameHeader) {
        self.reader = Reader::header();
        match header.opcode {
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                if !header.fin {
                    return;
                }
                if let Some(mut message) = self.message.take() {
                    if self.caller_rsv.is_some() {
                        let PartialMessage { text, rsv, data, .. } = message;
                        return self.events.push(Event::RawMessage { text, rsv, data });
                    }
                    if let Err(error) = self.finish_inflate(&mut message) {
                        return self.fail(error);
                    }
                    if message.text && !message.utf8.is_complete() {
                        return self.fail(ProtocolError::InvalidUtf8);
                    }
                    self.events.push(Event::Message { text: message.text, data: message.data });
                }
            }
            OpCode::Close => {
                let payload = std::mem::take(&mut self.control);
                match close::parse_close_payload(&payload) {
                    Ok(received) => self.on_close_frame(received),
                    Err(error) => self.fail(error),
                }
            }
            OpCode::Ping => {
                let payload = std::mem::take(&mut self.control);
                // The pong travels with the event, so the caller writes it in arrival
                // order, after its replies to the messages before the ping.
                let mut pong = Vec::new();
                if self.state == State::Open {
                    self.encode_frame(&mut pong, OpCode::Pong, 0, &payload);
                }
                self.events.push(Event::Ping { payload, pong });
            }
            OpCode::Pong => {
                let payload = std::mem::take(&mut self.control);
                self.events.push(Event::Pong(payload));
            }
        }
    }

    fn on_close_frame(&mut self, received: ClosePayload) {
        let code = received.code.unwrap_or(NO_STATUS_RECEIVED);
        if self.state == State::Open {
            // Section 5.5.1: echo the status code; an empty close is answered with 1000
            // as websocket-driver answers it.
            let reply = close::encode_close_payload(received.code.unwrap_or(NORMAL_CLOSURE), &received.reason);
            self.owed_close = Some(reply);
        }
        self.finish(code, received.reason);
    }

    /// Fails the connection (section 7.1.7): report, send a close frame, stop reading.
    fn fail(&mut self, error: ProtocolError) {
        let code = error.close_code();
        let reason = error.to_string();
        match self.state {
            State::Closed => return,
            State::Open => {
                self.owed_close = Some(close::encode_close_payload(code, truncate_reason(&reason)));
            }
            State::Connecting | State::Closing => {}
        }
        self.events.push(Event::Error(error));
        self.finish(code, reason);
    }

    fn finish(&mut self, code: u16, reason: String) {
        self.state = State::Closed;
        self.reader = Reader::Discard;
        self.message = None;
        self.control = Vec::new();
        self.queued.clear();
        self.events.push(Event::Close { code, reason });
    }

    /// Sends a text or binary message. `text` must already be UTF-8.
    pub fn send(&mut self, text: bool, payload: &[u8]) -> SendStatus {
        let opcode = if text { OpCode::Text } else { OpCode::Binary };
        self.send_frame(opcode, payload)
    }

    /// Whether a message sent now is written: while open, and once closed while the
    /// close frame owed to the peer is not on the wire yet.
    fn takes_messages(&self) -> bool {
        self.state == State::Open || (self.state == State::Closed && self.owed_close.is_some())
    }

    /// Sends one message as a single frame with the given reserved bits, for a caller
    /// whose extensions have already transformed it (see `open_for_caller_extensions`).
    /// Only sent while open: the caller's extensions exist only after the handshake.
    pub fn send_raw(&mut self, text: bool, rsv: u8, payload: &[u8]) -> SendStatus {
        let opcode = if text { OpCode::Text } else { OpCode::Binary };
        let writable = self.takes_messages();
        if !writable {
            return SendStatus::Refused;
        }
        let mut out = std::mem::take(&mut self.out);
        self.encode_frame(&mut out, opcode, rsv & RSV_BITS, payload);
        self.out = out;
        SendStatus::Written
    }

    /// Sends a ping. Payloads over 125 bytes cannot be a control frame: refused.
    pub fn ping(&mut self, payload: &[u8]) -> SendStatus {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return SendStatus::Refused;
        }
        self.send_frame(OpCode::Ping, payload)
    }

    fn send_frame(&mut self, opcode: OpCode, payload: &[u8]) -> SendStatus {
        match self.state {
            State::Connecting => {
                self.queued.push(Queued { opcode, payload: payload.to_vec() });
                SendStatus::Queued
            }
            State::Open => {
                self.write_message(opcode, payload);
                SendStatus::Written
            }
            // The connection is over but its close frame is not on the wire yet.
            State::Closed if self.owed_close.is_some() => {
                self.write_message(opcode, payload);
                SendStatus::Written
            }
            State::Closing | State::Closed => SendStatus::Refused,
        }
    }

    /// Sends a message of `len` bytes that `fill` appends to the Vec it is given, so a
    /// caller holding the payload in another form (a JavaScript string) writes it
    /// straight into the frame instead of into a buffer that is then copied. Where
    /// the frame needs the whole payload first (compression, a message queued before
    /// open) `fill` writes into a Vec of its own. A refused message is never filled.
    /// Either Vec has room for `len` bytes and `FILL_SLACK` more, so a filler whose
    /// writer ends with a terminator (V8's string writers do) grows nothing: growing a
    /// Vec makes the allocator copy all of its old capacity.
    pub fn send_with<E>(&mut self, text: bool, len: usize, fill: impl FnOnce(&mut Vec<u8>) -> Result<(), E>) -> Result<SendStatus, E> {
        let opcode = if text { OpCode::Text } else { OpCode::Binary };
        let writable = self.takes_messages();
        if self.state != State::Connecting && !writable {
            return Ok(SendStatus::Refused);
        }
        if self.deflate.is_some() || !writable {
            let mut payload = Vec::with_capacity(len + FILL_SLACK);
            fill(&mut payload)?;
            return Ok(self.send_frame(opcode, &payload));
        }
        let frame_start = self.out.len();
        self.out.reserve(frame::MAX_HEADER_BYTES + len + FILL_SLACK);
        let mut out = std::mem::take(&mut self.out);
        let mask = self.push_header(&mut out, opcode, 0, len);
        self.out = out;
        let start = self.out.len();
        if let Err(error) = fill(&mut self.out) {
            self.out.truncate(frame_start);
            return Err(error);
        }
        if self.out.len() - start != len {
            // The header promised `len` bytes: frame what was written instead.
            let payload = self.out.split_off(start);
            self.out.truncate(frame_start);
            return Ok(self.send_frame(opcode, &payload));
        }
        mask_from(&mut self.out, start, mask);
        Ok(SendStatus::Written)
    }

    /// Hands a message over to be compressed away from the connection (see
    /// `CompressionJob`): only while open, with permessage-deflate in use and no other
    /// message away. Until `finish_compression` takes the job back, the caller sends no
    /// other message (that would fail the connection); control frames may still go.
    /// Gives the payload back when the message must be sent with `send` instead.
    pub fn take_compression(&mut self, text: bool, payload: Vec<u8>) -> Result<CompressionJob, Vec<u8>> {
        if !self.can_take_compression() {
            return Err(payload);
        }
        let Some(deflate) = self.deflate.as_mut() else {
            return Err(payload);
        };
        self.compressing = true;
        Ok(CompressionJob::new(deflate.compressor.take(), text, payload))
    }

    /// Whether `take_compression` would take a message now.
    pub fn can_take_compression(&self) -> bool {
        self.state == State::Open && self.deflate.is_some() && !self.compressing
    }

    /// Takes back a job from `take_compression` and writes its frame, unless the
    /// connection has stopped taking messages meanwhile (it sent or answered a close).
    pub fn finish_compression(&mut self, job: CompressionJob) -> SendStatus {
        let (compressor, text, packed) = job.finish();
        if let (Some(deflate), true) = (self.deflate.as_mut(), self.compressing) {
            deflate.compressor = compressor;
        }
        self.compressing = false;
        if !self.takes_messages() {
            return SendStatus::Refused;
        }
        match packed {
            Ok(packed) => {
                self.write_frame(if text { OpCode::Text } else { OpCode::Binary }, frame::RSV1, &packed);
                SendStatus::Written
            }
            Err(reason) => {
                self.fail(ProtocolError::Extension(format!("permessage-deflate: {reason}")));
                SendStatus::Refused
            }
        }
    }

    /// Sends a message of `len` bytes by writing only its frame header, for a caller
    /// that writes the payload itself right after the output: an uncompressed server
    /// frame is its header followed by the payload unchanged, so a large payload need
    /// not be copied. `None` when the frame is not that (a client masks, compression
    /// changes the payload, a message before open is queued whole): send it with `send`.
    pub fn send_head(&mut self, text: bool, len: u64) -> Option<SendStatus> {
        if self.role != Role::Server || self.deflate.is_some() {
            return None;
        }
        let writable = self.takes_messages();
        match self.state {
            State::Connecting => None,
            _ if !writable => Some(SendStatus::Refused),
            _ => {
                let header = FrameHeader {
                    fin: true,
                    rsv1: false,
                    rsv2: false,
                    rsv3: false,
                    opcode: if text { OpCode::Text } else { OpCode::Binary },
                    mask: None,
                    payload_len: len,
                };
                encode_header_into(&header, &mut self.out);
                Some(SendStatus::Written)
            }
        }
    }

    /// Writes the close frame the core owes the peer, if any. Call it once the events
    /// drained before `Event::Close` have been handled.
    pub fn flush_close(&mut self) {
        if let Some(payload) = self.owed_close.take() {
            self.write_frame(OpCode::Close, 0, &payload);
        }
    }

    /// Starts the closing handshake. `code` defaults to 1000.
    pub fn close(&mut self, code: Option<u16>, reason: &str) -> Result<(), UsageError> {
        let code = code.unwrap_or(NORMAL_CLOSURE);
        close::check_app_code(code)?;
        close::check_reason(reason)?;
        match self.state {
            State::Connecting => self.finish(code, reason.to_owned()),
            State::Open => {
                self.write_frame(OpCode::Close, 0, &close::encode_close_payload(code, reason));
                self.state = State::Closing;
            }
            State::Closing | State::Closed => {}
        }
        Ok(())
    }

    /// Whether every data frame this side sends is its header followed by the payload
    /// as given: a server's (clients mask), with no compression and no reserved bits
    /// of the caller's extensions. Two such connections frame the same message into
    /// the same bytes, so a caller broadcasting it may frame it once.
    pub fn plain_frames(&self) -> bool {
        self.role == Role::Server && self.deflate.is_none() && self.caller_rsv.is_none()
    }

    /// True while a close frame we sent waits for the peer's reply: the caller's close
    /// timeout should be running.
    pub fn close_expected(&self) -> bool {
        self.state == State::Closing
    }

    /// Writes a message or control frame, compressing data messages when
    /// permessage-deflate was negotiated (control frames never are, RFC 7692 section 6.1).
    fn write_message(&mut self, opcode: OpCode, payload: &[u8]) {
        if self.compressing && !opcode.is_control() {
            // The caller broke take_compression's rule: this message would be
            // compressed out of order, against a stream without the one before it.
            let reason = "a message was sent while another was being compressed".to_owned();
            return self.fail(ProtocolError::Caller { code: 1011, reason });
        }
        let Some(deflate) = self.deflate.as_mut().filter(|_| !opcode.is_control()) else {
            return self.write_frame(opcode, 0, payload);
        };
        let mut packed = Vec::new();
        match deflate.compressor.compress(payload, &mut packed) {
            Ok(()) => self.write_frame(opcode, frame::RSV1, &packed),
            Err(reason) => self.fail(ProtocolError::Extension(format!("permessage-deflate: {reason}"))),
        }
    }

    fn write_frame(&mut self, opcode: OpCode, rsv: u8, payload: &[u8]) {
        let mut out = std::mem::take(&mut self.out);
        self.encode_frame(&mut out, opcode, rsv, payload);
        self.out = out;
    }

    /// Appends one whole frame to `out`, masked with a fresh key on the client.
    fn encode_frame(&mut self, out: &mut Vec<u8>, opcode: OpCode, rsv: u8, payload: &[u8]) {
        let mask = self.push_header(out, opcode, rsv, payload.len());
        append_payload(out, payload, mask, 0);
    }

    /// Appends the header of a final frame with a payload of `len` bytes, reserving
    /// room for the payload too. Returns the key the payload must be masked with: a
    /// fresh one on the client, none on the server.
    fn push_header(&mut self, out: &mut Vec<u8>, opcode: OpCode, rsv: u8, len: usize) -> Option<[u8; 4]> {
        let mask = match self.role {
            Role::Client => Some(self.masks.next_key()),
            Role::Server => None,
        };
        let header = FrameHeader {
            fin: true,
            rsv1: rsv & frame::RSV1 != 0,
            rsv2: rsv & frame::RSV2 != 0,
            rsv3: rsv & frame::RSV3 != 0,
            opcode,
            mask,
            payload_len: len as u64,
        };
        out.reserve(frame::header_len(header.payload_len, mask.is_some()) + len);
        encode_header_into(&header, out);
        mask
    }

    /// Bytes written and not yet drained.
    pub fn output_len(&self) -> usize {
        self.out.len()
    }

    pub fn drain_output(&mut self) -> Option<Vec<u8>> {
        super::output::drain(&mut self.out)
    }

    /// Moves the output into `dst` if it fits: see `Connection::drain_output_into`.
    pub fn drain_output_into(&mut self, dst: &mut [u8]) -> Option<usize> {
        super::output::drain_into(&mut self.out, dst)
    }

    pub fn drain_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
}

/// Masks the payload that starts at `start` of `out`, when there is a key.
fn mask_from(out: &mut [u8], start: usize, mask: Option<[u8; 4]>) {
    if let (Some(key), Some(payload)) = (mask, out.get_mut(start..)) {
        apply_mask(payload, key, 0);
    }
}

/// Appends `chunk` to `target`, XORed with the mask key when there is one (masking and
/// unmasking are the same), as if it started `offset` bytes into the payload.
fn append_payload(target: &mut Vec<u8>, chunk: &[u8], mask: Option<[u8; 4]>, offset: usize) {
    match mask {
        Some(key) => extend_masked(target, chunk, key, offset),
        None => copy::extend(target, chunk),
    }
}

/// RFC 7692 section 8: the inflated message is what maxLength limits.
fn inflate_error(error: InflateError) -> ProtocolError {
    match error {
        InflateError::TooLarge => ProtocolError::MessageTooLarge,
        InflateError::Corrupt(reason) => ProtocolError::Extension(format!("permessage-deflate: {reason}")),
    }
}

/// Protocol error messages are short ASCII, but never let one overflow a control frame.
fn truncate_reason(reason: &str) -> &str {
    let mut end = reason.len().min(close::MAX_REASON_BYTES);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason.get(..end).unwrap_or_default()
}
