//! Close status codes and the close frame payload (RFC 6455 sections 5.5.1 and 7.4).

use super::error::{ProtocolError, UsageError};
use super::utf8;

/// Section 7.1.5: the code reported when a close frame carried no status code.
pub const NO_STATUS_RECEIVED: u16 = 1005;
/// Section 7.1.5: the code reported when the connection closed without a close frame.
pub const ABNORMAL_CLOSURE: u16 = 1006;
pub const NORMAL_CLOSURE: u16 = 1000;
/// The longest reason that fits in a control frame beside the 2-byte code.
pub const MAX_REASON_BYTES: usize = 123;

/// Whether a peer may put `code` in a close frame: the codes defined by section 7.4.1
/// and the IANA registry (1012-1014), and the 3000-4999 ranges for libraries and
/// applications. 1004-1006 and 1015 must never appear on the wire.
pub fn is_valid_wire_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Whether an application may pass `code` to `close()`, following the WHATWG API.
pub fn check_app_code(code: u16) -> Result<(), UsageError> {
    if code == NORMAL_CLOSURE || (3000..=4999).contains(&code) {
        Ok(())
    } else {
        Err(UsageError::InvalidCloseCode(code))
    }
}

/// Checks that a close reason fits in a control frame.
pub fn check_reason(reason: &str) -> Result<(), UsageError> {
    if reason.len() > MAX_REASON_BYTES {
        Err(UsageError::CloseReasonTooLong(reason.len()))
    } else {
        Ok(())
    }
}

/// A decoded close frame payload. `code` is `None` for an empty payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosePayload {
    pub code: Option<u16>,
    pub reason: String,
}

/// Decodes a received close frame payload (already unmasked, at most 125 bytes).
pub fn parse_close_payload(payload: &[u8]) -> Result<ClosePayload, ProtocolError> {
    match payload {
        [] => Ok(ClosePayload { code: None, reason: String::new() }),
        [_] => Err(ProtocolError::TruncatedCloseCode),
        [hi, lo, rest @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !is_valid_wire_code(code) {
                return Err(ProtocolError::InvalidCloseCode(code));
            }
            let reason = utf8::decode(rest).ok_or(ProtocolError::InvalidCloseReason)?;
            Ok(ClosePayload { code: Some(code), reason })
        }
    }
}

/// Encodes a close frame payload: the code, then the reason's bytes.
pub fn encode_close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + reason.len());
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(reason.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::test_util::hex;

    #[test]
    fn empty_payload_has_no_code() {
        assert_eq!(parse_close_payload(&[]), Ok(ClosePayload { code: None, reason: String::new() }));
    }

    #[test]
    fn decodes_code_and_reason() {
        let payload = parse_close_payload(&hex("03 e8 62 79 65")).unwrap();
        assert_eq!(payload, ClosePayload { code: Some(1000), reason: "bye".into() });
        assert_eq!(encode_close_payload(1000, "bye"), hex("03 e8 62 79 65"));
    }

    #[test]
    fn rejects_one_byte_payload() {
        assert_eq!(parse_close_payload(&hex("03")), Err(ProtocolError::TruncatedCloseCode));
    }

    #[test]
    fn rejects_codes_that_must_not_be_sent() {
        for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
            let payload = code.to_be_bytes();
            assert_eq!(parse_close_payload(&payload), Err(ProtocolError::InvalidCloseCode(code)), "{code}");
        }
        for code in [1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] {
            assert!(parse_close_payload(&code.to_be_bytes()).is_ok(), "{code}");
        }
    }

    #[test]
    fn rejects_invalid_utf8_reason() {
        assert_eq!(parse_close_payload(&hex("03 e8 ce ba e1 bd b9 ce bc ce b5 ed a0 80")), Err(ProtocolError::InvalidCloseReason));
    }

    #[test]
    fn application_codes_follow_the_whatwg_api() {
        assert!(check_app_code(1000).is_ok());
        assert!(check_app_code(3000).is_ok());
        assert!(check_app_code(4999).is_ok());
        assert_eq!(check_app_code(1001), Err(UsageError::InvalidCloseCode(1001)));
        assert_eq!(check_app_code(5000), Err(UsageError::InvalidCloseCode(5000)));
    }

    #[test]
    fn reason_must_fit_a_control_frame() {
        assert!(check_reason(&"a".repeat(123)).is_ok());
        assert_eq!(check_reason(&"a".repeat(124)), Err(UsageError::CloseReasonTooLong(124)));
        // 62 two-byte characters: 124 bytes although only 62 characters.
        assert!(check_reason(&"é".repeat(62)).is_err());
    }
}
