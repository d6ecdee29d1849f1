//! permessage-deflate parameter negotiation (RFC 7692 section 7.1), with the outcomes of
//! the permessage-deflate npm package: the same options, the same offers, the same
//! responses, the same offers declined.

use crate::core::error::UsageError;
use crate::core::handshake::extensions::ExtensionOffer;

pub const EXTENSION_NAME: &str = "permessage-deflate";
const MAX_WINDOW_BITS: u8 = 15;

/// The options of `deflate.configure(...)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeflateConfig {
    /// Compression level 0-9; `None` is zlib's default (6).
    pub level: Option<u32>,
    /// zlib's memLevel 1-9. Checked, but the codec's defaults are used (see codec.rs).
    pub mem_level: Option<u32>,
    /// zlib's strategy 0-4. Checked, but the codec's defaults are used (see codec.rs).
    pub strategy: Option<u32>,
    /// `noContextTakeover`: do not keep our compression context between messages.
    pub no_context_takeover: bool,
    /// `maxWindowBits`: the largest window we compress with.
    pub max_window_bits: Option<u8>,
    /// `requestNoContextTakeover`: ask the peer not to keep its context.
    pub request_no_context_takeover: bool,
    /// `requestMaxWindowBits`: ask the peer for a smaller window.
    pub request_max_window_bits: Option<u8>,
}

impl DeflateConfig {
    /// Checks the ranges zlib accepts, so no codec is ever built from a bad value.
    pub fn validate(&self) -> Result<(), UsageError> {
        let bad = |name: &str| Err(UsageError::InvalidOption(format!("Invalid value for {name}")));
        if self.level.is_some_and(|l| l > 9) {
            return bad("level");
        }
        if self.mem_level.is_some_and(|m| !(1..=9).contains(&m)) {
            return bad("memLevel");
        }
        if self.strategy.is_some_and(|s| s > 4) {
            return bad("strategy");
        }
        if self.max_window_bits.is_some_and(|b| !(8..=15).contains(&b)) {
            return bad("maxWindowBits");
        }
        if self.request_max_window_bits.is_some_and(|b| !(8..=15).contains(&b)) {
            return bad("requestMaxWindowBits");
        }
        Ok(())
    }
}

/// What both sides agreed, from this side's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    pub own_context_takeover: bool,
    pub own_window_bits: u8,
    pub peer_context_takeover: bool,
    pub peer_window_bits: u8,
}

/// The four parameters of section 7.1, once checked. `client_max_window_bits` may come
/// without a value in an offer (`Some(None)`).
#[derive(Debug, Default)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    client_max_window_bits: Option<Option<u8>>,
}

/// Window bits as section 7.1.2 writes them: 8 to 15, no leading zero.
fn window_bits(value: &str) -> Option<u8> {
    if value.starts_with('0') {
        return None;
    }
    value.parse::<u8>().ok().filter(|b| (8..=15).contains(b))
}

/// Reads an offer's or response's parameters; `None` when one is unknown, repeated, or
/// has a value it may not have (section 7.1: such an offer is declined).
fn parse_params(offer: &ExtensionOffer) -> Option<Params> {
    let mut params = Params::default();
    let mut seen: Vec<&str> = Vec::new();
    for (name, value) in &offer.params {
        if seen.contains(&name.as_str()) {
            return None;
        }
        seen.push(name);
        match (name.as_str(), value.as_deref()) {
            ("server_no_context_takeover", None) => params.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => params.client_no_context_takeover = true,
            ("server_max_window_bits", Some(v)) => params.server_max_window_bits = Some(window_bits(v)?),
            ("client_max_window_bits", None) => params.client_max_window_bits = Some(None),
            ("client_max_window_bits", Some(v)) => params.client_max_window_bits = Some(Some(window_bits(v)?)),
            _ => return None,
        }
    }
    Some(params)
}

/// Server side: picks the first acceptable permessage-deflate offer and returns what
/// was agreed and the response's extension text.
pub fn server_accept(config: &DeflateConfig, offers: &[ExtensionOffer]) -> Option<(Negotiated, String)> {
    let params = offers.iter().filter(|o| o.name == EXTENSION_NAME).find_map(parse_params)?;
    let mut response = String::from(EXTENSION_NAME);

    // Section 7.1.1.1: we drop our context if we want to or the client asks.
    let own_context_takeover = !config.no_context_takeover && !params.server_no_context_takeover;
    if !own_context_takeover {
        response.push_str("; server_no_context_takeover");
    }
    // Section 7.1.1.2: we may ask the client to drop its context.
    let peer_context_takeover = !config.request_no_context_takeover && !params.client_no_context_takeover;
    if !peer_context_takeover {
        response.push_str("; client_no_context_takeover");
    }
    // Section 7.1.2.1: our window is at most what the client allows. Only echoed when
    // the client asked (Firefox fails a response that names an unrequested parameter).
    let own_window_bits = config
        .max_window_bits
        .unwrap_or(MAX_WINDOW_BITS)
        .min(params.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS));
    if own_window_bits < MAX_WINDOW_BITS && params.server_max_window_bits.is_some() {
        response.push_str(&format!("; server_max_window_bits={own_window_bits}"));
    }
    // Section 7.1.2.2: the client's window may only be limited if it said it can be.
    let peer_window_bits = match params.client_max_window_bits {
        Some(limit) => config.request_max_window_bits.unwrap_or(MAX_WINDOW_BITS).min(limit.unwrap_or(MAX_WINDOW_BITS)),
        None => MAX_WINDOW_BITS,
    };
    if peer_window_bits < MAX_WINDOW_BITS {
        response.push_str(&format!("; client_max_window_bits={peer_window_bits}"));
    }
    let negotiated = Negotiated { own_context_takeover, own_window_bits, peer_context_takeover, peer_window_bits };
    Some((negotiated, response))
}

/// Client side: the offer to send.
pub fn client_offer(config: &DeflateConfig) -> String {
    let mut offer = String::from(EXTENSION_NAME);
    if config.no_context_takeover {
        offer.push_str("; client_no_context_takeover");
    }
    match config.max_window_bits {
        Some(bits) => offer.push_str(&format!("; client_max_window_bits={bits}")),
        None => offer.push_str("; client_max_window_bits"),
    }
    if config.request_no_context_takeover {
        offer.push_str("; server_no_context_takeover");
    }
    if let Some(bits) = config.request_max_window_bits {
        offer.push_str(&format!("; server_max_window_bits={bits}"));
    }
    offer
}

/// Client side: checks the server's response against what we offered.
pub fn client_activate(config: &DeflateConfig, response: &ExtensionOffer) -> Option<Negotiated> {
    let params = parse_params(response)?;
    // In a response, client_max_window_bits must carry a value (section 7.1.2.2).
    let client_max = match params.client_max_window_bits {
        Some(None) => return None,
        Some(Some(bits)) => Some(bits),
        None => None,
    };
    if let (Some(ours), Some(theirs)) = (config.max_window_bits, client_max) {
        if theirs > ours {
            return None;
        }
    }
    if config.request_no_context_takeover && !params.server_no_context_takeover {
        return None;
    }
    if let Some(requested) = config.request_max_window_bits {
        match params.server_max_window_bits {
            Some(bits) if bits <= requested => {}
            _ => return None,
        }
    }
    Some(Negotiated {
        own_context_takeover: !(config.no_context_takeover || params.client_no_context_takeover),
        own_window_bits: config.max_window_bits.unwrap_or(MAX_WINDOW_BITS).min(client_max.unwrap_or(MAX_WINDOW_BITS)),
        peer_context_takeover: !params.server_no_context_takeover,
        peer_window_bits: params.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::handshake::extensions::parse;

    fn accept(config: &DeflateConfig, header: &str) -> Option<(Negotiated, String)> {
        server_accept(config, &parse(header).unwrap())
    }

    #[test]
    fn accepts_plain_offer_with_full_context() {
        let (negotiated, response) = accept(&DeflateConfig::default(), "permessage-deflate").unwrap();
        assert_eq!(response, "permessage-deflate");
        assert_eq!(negotiated, Negotiated { own_context_takeover: true, own_window_bits: 15, peer_context_takeover: true, peer_window_bits: 15 });
    }

    #[test]
    fn honours_every_parameter_of_an_offer() {
        let (negotiated, response) = accept(
            &DeflateConfig::default(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9",
        )
        .unwrap();
        assert_eq!(response, "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9");
        assert_eq!(negotiated, Negotiated { own_context_takeover: false, own_window_bits: 10, peer_context_takeover: false, peer_window_bits: 9 });
    }

    #[test]
    fn applies_server_options() {
        let config = DeflateConfig { no_context_takeover: true, max_window_bits: Some(12), request_max_window_bits: Some(11), request_no_context_takeover: true, ..Default::default() };
        let (negotiated, response) = accept(&config, "permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(response, "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=11");
        assert_eq!(negotiated.own_window_bits, 12, "a smaller own window needs no announcement");
    }

    #[test]
    fn declines_invalid_offers_and_takes_the_next() {
        for bad in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; client_max_window_bits=abc",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; unknown",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "x-webkit-deflate-frame",
        ] {
            assert_eq!(accept(&DeflateConfig::default(), bad), None, "{bad}");
        }
        let (negotiated, _) = accept(&DeflateConfig::default(), "permessage-deflate; foo, permessage-deflate; server_max_window_bits=8").unwrap();
        assert_eq!(negotiated.own_window_bits, 8);
    }

    #[test]
    fn client_offer_follows_options() {
        assert_eq!(client_offer(&DeflateConfig::default()), "permessage-deflate; client_max_window_bits");
        let config = DeflateConfig { no_context_takeover: true, max_window_bits: Some(10), request_no_context_takeover: true, request_max_window_bits: Some(9), ..Default::default() };
        assert_eq!(client_offer(&config), "permessage-deflate; client_no_context_takeover; client_max_window_bits=10; server_no_context_takeover; server_max_window_bits=9");
    }

    #[test]
    fn client_checks_the_response_against_the_offer() {
        let response = |h: &str| parse(h).unwrap().remove(0);
        let default = DeflateConfig::default();
        assert_eq!(
            client_activate(&default, &response("permessage-deflate; server_no_context_takeover; client_max_window_bits=10")),
            Some(Negotiated { own_context_takeover: true, own_window_bits: 10, peer_context_takeover: false, peer_window_bits: 15 })
        );
        assert_eq!(client_activate(&default, &response("permessage-deflate; client_max_window_bits")), None);
        let limited = DeflateConfig { max_window_bits: Some(10), request_no_context_takeover: true, request_max_window_bits: Some(9), ..Default::default() };
        assert_eq!(client_activate(&limited, &response("permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=11")), None);
        assert_eq!(client_activate(&limited, &response("permessage-deflate; server_max_window_bits=9")), None, "takeover was requested off");
        assert_eq!(client_activate(&limited, &response("permessage-deflate; server_no_context_takeover")), None, "window was requested");
        assert!(client_activate(&limited, &response("permessage-deflate; server_no_context_takeover; server_max_window_bits=8")).is_some());
    }

    #[test]
    fn config_ranges_are_checked() {
        assert!(DeflateConfig { max_window_bits: Some(16), ..Default::default() }.validate().is_err());
        assert!(DeflateConfig { level: Some(10), ..Default::default() }.validate().is_err());
        assert!(DeflateConfig { mem_level: Some(0), ..Default::default() }.validate().is_err());
        assert!(DeflateConfig { max_window_bits: Some(8), level: Some(9), ..Default::default() }.validate().is_ok());
    }
}
