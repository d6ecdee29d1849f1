//! The two kinds of failure: a peer that broke the protocol (`ProtocolError`, which
//! becomes an `error` event and a close frame) and a caller that misused the API
//! (`UsageError`, which JavaScript throws).
//!
//! Messages reuse websocket-driver's texts, because existing code may match on them.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// The upgrade request or response was not acceptable.
    Handshake(String),
    ReservedBits { rsv1: bool, rsv2: bool, rsv3: bool },
    UnknownOpcode(u8),
    FragmentedControlFrame(u8),
    ControlFrameTooLong(u64),
    /// A 64-bit payload length with its most significant bit set (section 5.2).
    InvalidLength,
    UnmaskedFrame,
    MaskedFrame,
    UnexpectedContinuation,
    UnfinishedMessage,
    MessageTooLarge,
    InvalidUtf8,
    InvalidCloseCode(u16),
    /// A close frame whose payload is a single byte: half a status code.
    TruncatedCloseCode,
    InvalidCloseReason,
    /// A negotiated extension could not process a message, e.g. corrupt deflate data.
    Extension(String),
    /// A failure found by the caller's own extensions, with the status code they chose.
    Caller { code: u16, reason: String },
}

impl ProtocolError {
    /// The status code sent in the close frame that this error causes.
    pub fn close_code(&self) -> u16 {
        match self {
            ProtocolError::Handshake(_)
            | ProtocolError::ReservedBits { .. }
            | ProtocolError::UnknownOpcode(_)
            | ProtocolError::FragmentedControlFrame(_)
            | ProtocolError::ControlFrameTooLong(_)
            | ProtocolError::InvalidLength
            | ProtocolError::UnmaskedFrame
            | ProtocolError::MaskedFrame
            | ProtocolError::UnexpectedContinuation
            | ProtocolError::UnfinishedMessage
            | ProtocolError::InvalidCloseCode(_)
            | ProtocolError::TruncatedCloseCode
            | ProtocolError::InvalidCloseReason => 1002,
            ProtocolError::InvalidUtf8 => 1007,
            ProtocolError::Extension(_) => 1010,
            ProtocolError::MessageTooLarge => 1009,
            ProtocolError::Caller { code, .. } => *code,
        }
    }
}

fn bit(flag: bool) -> u8 {
    u8::from(flag)
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Handshake(message)
            | ProtocolError::Extension(message)
            | ProtocolError::Caller { reason: message, .. } => f.write_str(message),
            ProtocolError::ReservedBits { rsv1, rsv2, rsv3 } => write!(
                f,
                "One or more reserved bits are on: reserved1 = {}, reserved2 = {}, reserved3 = {}",
                bit(*rsv1),
                bit(*rsv2),
                bit(*rsv3)
            ),
            ProtocolError::UnknownOpcode(op) => write!(f, "Unrecognized frame opcode: {op}"),
            ProtocolError::FragmentedControlFrame(op) => {
                write!(f, "Received fragmented control frame: opcode = {op}")
            }
            ProtocolError::ControlFrameTooLong(len) => {
                write!(f, "Received control frame having too long payload: {len}")
            }
            ProtocolError::InvalidLength => {
                f.write_str("Received frame length with the most significant bit set")
            }
            ProtocolError::UnmaskedFrame => f.write_str("Received unmasked frame but masking is required"),
            ProtocolError::MaskedFrame => f.write_str("Received masked frame but masking is not allowed"),
            ProtocolError::UnexpectedContinuation => f.write_str("Received unexpected continuation frame"),
            ProtocolError::UnfinishedMessage => {
                f.write_str("Received new data frame but previous continuous frame is unfinished")
            }
            ProtocolError::MessageTooLarge => f.write_str("WebSocket frame length too large"),
            ProtocolError::InvalidUtf8 => f.write_str("Could not decode a text frame as UTF-8"),
            ProtocolError::InvalidCloseCode(code) => {
                write!(f, "Received close frame with invalid status code: {code}")
            }
            ProtocolError::TruncatedCloseCode => f.write_str("Received close frame with a 1-byte payload"),
            ProtocolError::InvalidCloseReason => {
                f.write_str("Received close frame whose reason is not valid UTF-8")
            }
        }
    }
}

impl std::error::Error for ProtocolError {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageError {
    /// `close(code)` with a code an application may not send.
    InvalidCloseCode(u16),
    /// `close(code, reason)` whose reason would make the control frame exceed 125 bytes.
    CloseReasonTooLong(usize),
    /// A custom header whose name is not an HTTP token or whose value holds CR, LF or NUL.
    InvalidHeader(String),
    /// An extension option out of range; the message names it.
    InvalidOption(String),
    /// An EventSource `event` or `id` holding CR or LF, which would inject fields.
    InvalidEventField(&'static str),
    /// An EventSource `id` holding NUL: clients ignore such an id field (WHATWG HTML,
    /// "Interpreting an event stream"), so the event would arrive under an old id.
    NulInEventId,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::InvalidCloseCode(code) => f.write_str(&invalid_close_code_message(code)),
            UsageError::CloseReasonTooLong(len) => write!(
                f,
                "Failed to execute 'close' on WebSocket: The close reason must not be greater than 123 UTF-8 bytes ({len} given)."
            ),
            UsageError::InvalidOption(message) => f.write_str(message),
            UsageError::InvalidEventField(field) => {
                write!(f, "EventSource {field} must not contain CR or LF")
            }
            UsageError::NulInEventId => f.write_str("EventSource id must not contain NUL"),
            UsageError::InvalidHeader(name) => {
                write!(f, "Invalid HTTP header {name:?}: names must be tokens and values must not contain CR, LF or NUL")
            }
        }
    }
}

impl std::error::Error for UsageError {}

/// The WHATWG API's message for a close code an application may not send; callers that
/// hold a code which is not even a `u16` use it directly.
pub fn invalid_close_code_message(code: impl fmt::Display) -> String {
    format!("Failed to execute 'close' on WebSocket: The code must be either 1000, or between 3000 and 4999. {code} is neither.")
}
