//! Incremental UTF-8 validation (RFC 6455 section 8.1) that fails fast.
//!
//! A text message may be split across frames and each frame across reads, and a
//! code point may be split anywhere. `Utf8Validator` keeps the unfinished tail of the
//! last piece (at most 3 bytes) and rejects a piece as soon as it contains a byte that
//! cannot continue any valid sequence, so an invalid message is refused when its bad
//! bytes arrive, not when it ends.

/// Decodes a complete byte string, or `None` if it is not valid UTF-8.
pub fn decode(bytes: &[u8]) -> Option<String> {
    std::str::from_utf8(bytes).ok().map(str::to_owned)
}

#[derive(Debug, Default, Clone)]
pub struct Utf8Validator {
    /// Bytes of a sequence that the previous piece started but did not finish.
    partial: [u8; 4],
    partial_len: usize,
}

/// The length of the sequence that starts with `lead`, for lead bytes that can start one.
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 1,
    }
}

impl Utf8Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates the next piece of the message. Returns false as soon as the bytes seen
    /// so far cannot be the prefix of valid UTF-8.
    pub fn feed(&mut self, mut piece: &[u8]) -> bool {
        if self.partial_len > 0 {
            let need = sequence_len(self.partial[0]) - self.partial_len;
            let take = need.min(piece.len());
            let (head, rest) = piece.split_at(take);
            let end = self.partial_len + take;
            let Some(slot) = self.partial.get_mut(self.partial_len..end) else {
                return false;
            };
            slot.copy_from_slice(head);
            self.partial_len = end;
            let Some(sequence) = self.partial.get(..end) else {
                return false;
            };
            match std::str::from_utf8(sequence) {
                Ok(_) => self.partial_len = 0,
                Err(e) if e.error_len().is_none() => return true, // still unfinished, valid so far
                Err(_) => return false,
            }
            piece = rest;
        }
        match std::str::from_utf8(piece) {
            Ok(_) => true,
            Err(e) => match e.error_len() {
                Some(_) => false,
                None => {
                    // The piece ends inside a sequence that is valid so far: keep its bytes.
                    let tail = piece.get(e.valid_up_to()..).unwrap_or_default();
                    match self.partial.get_mut(..tail.len()) {
                        Some(slot) => {
                            slot.copy_from_slice(tail);
                            self.partial_len = tail.len();
                            true
                        }
                        None => false,
                    }
                }
            },
        }
    }

    /// True when the message may end here: no code point is left unfinished.
    pub fn is_complete(&self) -> bool {
        self.partial_len == 0
    }

    pub fn reset(&mut self) {
        self.partial_len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::test_util::hex;

    fn valid_whole(bytes: &[u8]) -> bool {
        let mut v = Utf8Validator::new();
        v.feed(bytes) && v.is_complete()
    }

    /// Feeds `bytes` one byte at a time and reports the index at which it was refused.
    fn first_refusal(bytes: &[u8]) -> Option<usize> {
        let mut v = Utf8Validator::new();
        bytes.iter().position(|b| !v.feed(std::slice::from_ref(b)))
    }

    #[test]
    fn agrees_with_std_for_every_split() {
        let samples: Vec<Vec<u8>> = vec![
            "Hello-µ@ßöäüàá-UTF-8!!".as_bytes().to_vec(),
            "κόσμε".as_bytes().to_vec(),
            "𝄞 emoji 😀 and CJK 中文".as_bytes().to_vec(),
            hex("ce ba e1 bd b9 ce bc ce b5 ed a0 80 65 64 69 74 65 64"),
            hex("f4 90 80 80"),
            hex("c0 af"),
            hex("e0 80 af"),
            hex("ed 9f bf"),
            hex("ef bf bf"),
            hex("f4 8f bf bf"),
            hex("e1 bd"),
        ];
        for sample in samples {
            let expected = std::str::from_utf8(&sample).is_ok();
            assert_eq!(valid_whole(&sample), expected, "{sample:02x?}");
            for a in 0..=sample.len() {
                for b in a..=sample.len() {
                    let mut v = Utf8Validator::new();
                    let ok = v.feed(&sample[..a]) && v.feed(&sample[a..b]) && v.feed(&sample[b..]) && v.is_complete();
                    assert_eq!(ok, expected, "{sample:02x?} split {a}/{b}");
                }
            }
        }
    }

    #[test]
    fn fails_at_the_first_impossible_byte() {
        // Autobahn 6.4.1: the surrogate lead ed a0 is refused at a0, before the message ends.
        assert_eq!(first_refusal(&hex("ce ba e1 bd b9 ce bc ce b5 ed a0 80 65")), Some(10));
        // Above U+10FFFF: refused at the second byte.
        assert_eq!(first_refusal(&hex("f4 90 80 80")), Some(1));
        // A bare continuation byte.
        assert_eq!(first_refusal(&hex("61 80")), Some(1));
        // Overlong encodings.
        assert_eq!(first_refusal(&hex("c0 af")), Some(0));
        assert_eq!(first_refusal(&hex("e0 80 af")), Some(1));
    }

    #[test]
    fn unfinished_sequence_is_incomplete_not_invalid() {
        let mut v = Utf8Validator::new();
        assert!(v.feed(&hex("e2 82")));
        assert!(!v.is_complete());
        assert!(v.feed(&hex("ac")));
        assert!(v.is_complete());
    }
}
