//! permessage-deflate (RFC 7692): parameter negotiation and per-message compression.
//!
//! zlib is used for both directions because it is what the servers under test use
//! and because it takes window bits below 15: compression through the package's own
//! codec (see `Deflater`), decompression through flate2's zlib backend, so that every
//! echo is checked by code apart from the codec under test.

use faye_websocket_native::core::deflate::codec::{Compressor, Tuning};
use flate2::{Decompress, FlushDecompress, Status};

/// The four bytes a sync flush ends with; RFC 7692 section 7.2.1 strips them from the
/// wire and section 7.2.2 puts them back before inflating.
const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// zlib cannot produce raw deflate with an 8-bit window (it silently uses 9).
const ZLIB_MIN_WINDOW_BITS: u8 = 9;

/// Negotiated parameters (RFC 7692 section 7.1), from the point of view of the names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    pub server_max_window_bits: u8,
    pub client_max_window_bits: u8,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }
}

/// What the client offers: the common browser/ws offer, which leaves the server free
/// to limit our window.
pub const CLIENT_OFFER: &str = "permessage-deflate; client_max_window_bits";

/// One extension element: its name and `key[=value]` parameters, unquoted.
fn parse_element(element: &str) -> (String, Vec<(String, Option<String>)>) {
    let mut parts = element.split(';').map(str::trim);
    let name = parts.next().unwrap_or("").to_ascii_lowercase();
    let params = parts
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim().trim_matches('"').to_string())),
            None => (p.to_ascii_lowercase(), None),
        })
        .collect();
    (name, params)
}

fn window_bits(value: Option<&str>) -> Result<u8, String> {
    value
        .and_then(|v| v.parse::<u8>().ok())
        .filter(|bits| (8..=15).contains(bits))
        .ok_or_else(|| format!("bad window bits {value:?}"))
}

/// Parses the server's `Sec-WebSocket-Extensions` answer to [`CLIENT_OFFER`].
pub fn parse_server_response(header: &str) -> Result<Params, String> {
    let elements: Vec<&str> = header.split(',').map(str::trim).filter(|e| !e.is_empty()).collect();
    let [element] = elements[..] else {
        return Err(format!("expected one extension, got {header:?}"));
    };
    let (name, params) = parse_element(element);
    if name != "permessage-deflate" {
        return Err(format!("unexpected extension {name:?}"));
    }
    let mut out = Params::default();
    let mut seen = Vec::new();
    for (key, value) in params {
        if seen.contains(&key) {
            return Err(format!("duplicate parameter {key}"));
        }
        match (key.as_str(), value.as_deref()) {
            ("server_no_context_takeover", None) => out.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => out.client_no_context_takeover = true,
            ("server_max_window_bits", v) => out.server_max_window_bits = window_bits(v)?,
            ("client_max_window_bits", v) => out.client_max_window_bits = window_bits(v)?,
            _ => return Err(format!("bad parameter {key}")),
        }
        seen.push(key);
    }
    if out.client_max_window_bits < ZLIB_MIN_WINDOW_BITS {
        return Err("client_max_window_bits=8 cannot be honoured with zlib".into());
    }
    Ok(out)
}

/// The server's choice among the client's offers, and the header value to answer with.
/// Declines offers it could not honour (an 8-bit server window) or does not understand.
pub fn accept_client_offer(header: &str) -> Option<(Params, String)> {
    'offers: for element in header.split(',') {
        let (name, params) = parse_element(element);
        if name != "permessage-deflate" {
            continue;
        }
        let mut out = Params::default();
        let mut reply = String::from("permessage-deflate");
        for (key, value) in params {
            match (key.as_str(), value.as_deref()) {
                ("server_no_context_takeover", None) => {
                    out.server_no_context_takeover = true;
                    reply.push_str("; server_no_context_takeover");
                }
                ("client_no_context_takeover", None) => {
                    out.client_no_context_takeover = true;
                    reply.push_str("; client_no_context_takeover");
                }
                ("server_max_window_bits", v) => match window_bits(v) {
                    Ok(bits) if bits >= ZLIB_MIN_WINDOW_BITS => {
                        out.server_max_window_bits = bits;
                        reply.push_str(&format!("; server_max_window_bits={bits}"));
                    }
                    _ => continue 'offers,
                },
                // Without a value the client merely allows us to limit its window; we
                // inflate with the full window whatever it uses, so we do not answer it.
                ("client_max_window_bits", None) => {}
                ("client_max_window_bits", v) => match window_bits(v) {
                    Ok(bits) => out.client_max_window_bits = bits,
                    Err(_) => continue 'offers,
                },
                _ => continue 'offers,
            }
        }
        return Some((out, reply));
    }
    None
}

/// Compresses messages for one direction of one connection, with the package's
/// codec: zlib at the given level, whose tables are fetched into the CPU caches first
/// when another connection compressed last. With flate2 instead, the ceiling server
/// compressed 1 KiB messages for 100 connections slower than the package did, and
/// measured zlib's cache misses rather than the limit of the load.
pub struct Deflater(Compressor);

impl Deflater {
    pub fn new(level: u32, window_bits: u8, no_context_takeover: bool) -> Self {
        let tuning = Tuning { level: Some(level), ..Tuning::default() };
        // The codec raises window bits below 9 to zlib's minimum itself.
        Deflater(Compressor::new(tuning, window_bits, !no_context_takeover))
    }

    /// Appends the compressed form of `message` to `out`, without the sync tail.
    pub fn compress(&mut self, message: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        self.0.compress(message, out).map_err(|e| format!("deflate: {e}"))
    }
}

/// Inflates messages for one direction of one connection.
pub struct Inflater {
    zlib: Decompress,
    no_context_takeover: bool,
}

impl Inflater {
    pub fn new(window_bits: u8, no_context_takeover: bool) -> Self {
        let bits = window_bits.max(ZLIB_MIN_WINDOW_BITS);
        Inflater { zlib: Decompress::new_with_window_bits(false, bits), no_context_takeover }
    }

    /// Appends the inflated form of one compressed message (sync tail stripped) to
    /// `out`; fails past `max_len` bytes of output (a deflate bomb, or a broken peer).
    pub fn decompress(&mut self, compressed: &[u8], out: &mut Vec<u8>, max_len: usize) -> Result<(), String> {
        let limit = out.len() + max_len;
        for input in [compressed, &SYNC_TAIL[..]] {
            let mut consumed = 0;
            loop {
                if out.len() == out.capacity() {
                    out.reserve((compressed.len() * 4).clamp(4096, 1 << 20));
                }
                let before = self.zlib.total_in();
                let status = self
                    .zlib
                    .decompress_vec(&input[consumed..], out, FlushDecompress::Sync)
                    .map_err(|e| format!("inflate: {e}"))?;
                consumed += (self.zlib.total_in() - before) as usize;
                if out.len() > limit {
                    return Err("inflated message too long".into());
                }
                if status == Status::StreamEnd {
                    // A final block ended the stream; what follows needs a fresh one.
                    self.zlib.reset(false);
                    break;
                }
                if consumed == input.len() && out.len() < out.capacity() {
                    break;
                }
            }
        }
        if self.no_context_takeover {
            // flate2's reset keeps the window bits the inflater was created with.
            self.zlib.reset(false);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_and_without_context_takeover() {
        let text: Vec<u8> = b"the quick brown fox jumps over the lazy dog ".iter().copied().cycle().take(100_000).collect();
        for takeover_off in [false, true] {
            let mut deflater = Deflater::new(1, 10, takeover_off);
            let mut inflater = Inflater::new(10, takeover_off);
            for round in 0..3 {
                let message = &text[round * 7..];
                let mut wire = Vec::new();
                deflater.compress(message, &mut wire).unwrap();
                assert!(wire.len() < message.len() / 4, "compressible text compressed");
                let mut plain = Vec::new();
                inflater.decompress(&wire, &mut plain, usize::MAX).unwrap();
                assert_eq!(plain, message);
            }
        }
    }

    #[test]
    fn empty_and_limit() {
        let mut deflater = Deflater::new(6, 15, false);
        let mut inflater = Inflater::new(15, false);
        let mut wire = Vec::new();
        deflater.compress(b"", &mut wire).unwrap();
        let mut plain = Vec::new();
        inflater.decompress(&wire, &mut plain, 10).unwrap();
        assert!(plain.is_empty());
        wire.clear();
        deflater.compress(&[b'a'; 1000], &mut wire).unwrap();
        assert!(inflater.decompress(&wire, &mut plain, 10).is_err());
        assert!(Inflater::new(15, false).decompress(&[0xFF; 8], &mut plain, 1000).is_err());
    }

    #[test]
    fn negotiation() {
        assert_eq!(parse_server_response("permessage-deflate").unwrap(), Params::default());
        let p = parse_server_response("permessage-deflate; server_no_context_takeover; client_max_window_bits=10").unwrap();
        assert!(p.server_no_context_takeover && !p.client_no_context_takeover);
        assert_eq!((p.server_max_window_bits, p.client_max_window_bits), (15, 10));
        assert!(parse_server_response("permessage-deflate; client_max_window_bits=8").is_err());
        assert!(parse_server_response("permessage-deflate; foo").is_err());
        assert!(parse_server_response("x-webkit-deflate-frame").is_err());
        assert!(parse_server_response("permessage-deflate, permessage-deflate").is_err());

        let (p, reply) = accept_client_offer("permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!((p, reply.as_str()), (Params::default(), "permessage-deflate"));
        let (p, reply) = accept_client_offer(
            "permessage-deflate; server_max_window_bits=8, permessage-deflate; server_no_context_takeover; server_max_window_bits=12",
        )
        .unwrap();
        assert!(p.server_no_context_takeover);
        assert_eq!(p.server_max_window_bits, 12);
        assert_eq!(reply, "permessage-deflate; server_no_context_takeover; server_max_window_bits=12");
        assert!(accept_client_offer("permessage-deflate; bogus").is_none());
    }
}
