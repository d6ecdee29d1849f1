//! Reads an HTTP/1.1 response head (the server's 101, or a proxy's CONNECT answer) from
//! a byte stream, within a size limit that applies before anything is buffered.

use crate::core::limits::{MAX_HANDSHAKE_BYTES, MAX_HANDSHAKE_HEADERS};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    /// Header names lower-cased, repeated headers joined with ", ", in first-seen order:
    /// the shape of websocket-driver's `headers`.
    pub headers: Vec<(String, String)>,
}

impl ResponseHead {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadProgress {
    NeedMore,
    /// The head, and the bytes that followed it in the input.
    Complete(ResponseHead, Vec<u8>),
    Invalid(String),
}

#[derive(Debug, Default)]
pub struct HeadReader {
    buf: Vec<u8>,
}

impl HeadReader {
    pub fn feed(&mut self, input: &[u8]) -> HeadProgress {
        let room = MAX_HANDSHAKE_BYTES.saturating_sub(self.buf.len());
        let (accepted, overflow) = input.split_at(room.min(input.len()));
        let scan_from = self.buf.len().saturating_sub(3);
        self.buf.extend_from_slice(accepted);
        // Only a blank line can end the head: skip parsing until one may be there, so a
        // trickled head costs one parse per line at most.
        if !self.buf.get(scan_from..).unwrap_or_default().contains(&b'\n') {
            return self.need_more(overflow);
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HANDSHAKE_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&self.buf) {
            Ok(httparse::Status::Partial) => self.need_more(overflow),
            Err(httparse::Error::TooManyHeaders) => {
                HeadProgress::Invalid(format!("Response has more than {MAX_HANDSHAKE_HEADERS} headers"))
            }
            Err(error) => HeadProgress::Invalid(format!("Invalid HTTP response: {error}")),
            Ok(httparse::Status::Complete(len)) => {
                let mut joined: Vec<(String, String)> = Vec::new();
                for header in response.headers.iter() {
                    let name = header.name.to_ascii_lowercase();
                    let value = String::from_utf8_lossy(header.value).into_owned();
                    match joined.iter_mut().find(|(n, _)| *n == name) {
                        Some((_, existing)) => {
                            existing.push_str(", ");
                            existing.push_str(&value);
                        }
                        None => joined.push((name, value)),
                    }
                }
                let head = ResponseHead { status: response.code.unwrap_or(0), headers: joined };
                let mut rest = self.buf.get(len..).unwrap_or_default().to_vec();
                rest.extend_from_slice(overflow);
                self.buf = Vec::new();
                HeadProgress::Complete(head, rest)
            }
        }
    }

    fn need_more(&self, overflow: &[u8]) -> HeadProgress {
        if self.buf.len() >= MAX_HANDSHAKE_BYTES || !overflow.is_empty() {
            HeadProgress::Invalid(format!("Response head is larger than {MAX_HANDSHAKE_BYTES} bytes"))
        } else {
            HeadProgress::NeedMore
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nX-A: 1\r\nx-a: 2\r\n\r\n\x81\x00";

    #[test]
    fn reads_head_and_keeps_following_bytes_at_every_split() {
        for cut in 0..=HEAD.len() {
            let mut reader = HeadReader::default();
            let first = reader.feed(&HEAD[..cut]);
            let result = match first {
                HeadProgress::NeedMore => reader.feed(&HEAD[cut..]),
                complete => {
                    // Completed early: what remains of the input still follows the head.
                    let HeadProgress::Complete(head, mut rest) = complete else { panic!("{complete:?}") };
                    rest.extend_from_slice(&HEAD[cut..]);
                    HeadProgress::Complete(head, rest)
                }
            };
            let HeadProgress::Complete(head, rest) = result else { panic!("cut {cut}: {result:?}") };
            assert_eq!(head.status, 101);
            assert_eq!(head.get("upgrade"), Some("websocket"));
            assert_eq!(head.get("x-a"), Some("1, 2"));
            assert_eq!(rest, b"\x81\x00");
        }
    }

    #[test]
    fn refuses_oversized_and_endless_heads() {
        let mut reader = HeadReader::default();
        let mut endless = b"HTTP/1.1 101 OK\r\n".to_vec();
        endless.extend(std::iter::repeat_n(b'a', MAX_HANDSHAKE_BYTES));
        assert!(matches!(reader.feed(&endless), HeadProgress::Invalid(_)));

        let mut reader = HeadReader::default();
        let mut many = b"HTTP/1.1 101 OK\r\n".to_vec();
        for i in 0..=MAX_HANDSHAKE_HEADERS {
            many.extend(format!("X-{i}: y\r\n").bytes());
        }
        many.extend(b"\r\n");
        assert!(matches!(reader.feed(&many), HeadProgress::Invalid(_)));
    }

    #[test]
    fn refuses_garbage() {
        let mut reader = HeadReader::default();
        assert!(matches!(reader.feed(b"SSH-2.0-OpenSSH\r\n\r\n"), HeadProgress::Invalid(_)));
    }
}
