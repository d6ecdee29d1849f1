//! What the JavaScript extension framework (lib/extensions.js) needs from the core when
//! an application registers websocket-extensions objects of its own: the linear-time
//! Sec-WebSocket-Extensions parser, and permessage-deflate as a session object that
//! compresses and inflates whole messages in Rust.

use super::bytes::JsBytes;
use napi::Result;
use napi_derive::napi;

use super::connection::{deflate_config, limits, usage, DeflateOptions};
use crate::core::deflate::params::{self, DeflateConfig, Negotiated};
use crate::core::deflate::{DeflateSession, InflateError, EXTENSION_NAME};
use crate::core::handshake::extensions::{self, ExtensionOffer};

#[napi(object)]
pub struct ExtensionParam {
    pub key: String,
    /// `null` for a parameter without `=value`.
    pub value: Option<String>,
}

#[napi(object, object_from_js = false)]
pub struct ParsedExtension {
    pub name: String,
    pub params: Vec<ExtensionParam>,
}

fn to_js(params: Vec<(String, Option<String>)>) -> Vec<ExtensionParam> {
    params.into_iter().map(|(key, value)| ExtensionParam { key, value }).collect()
}

fn from_js(params: Vec<ExtensionParam>) -> ExtensionOffer {
    ExtensionOffer { name: EXTENSION_NAME.to_owned(), params: params.into_iter().map(|p| (p.key, p.value)).collect() }
}

/// The header's extensions in order; throws websocket-extensions' message when it
/// does not parse.
#[napi(catch_unwind)]
pub fn parse_extensions(header: String) -> Result<Vec<ParsedExtension>> {
    let offers = extensions::parse(&header).ok_or_else(|| usage(extensions::invalid_header_message(&header)))?;
    Ok(offers.into_iter().map(|o| ParsedExtension { name: o.name, params: to_js(o.params) }).collect())
}

/// The parameters of a permessage-deflate header text the core wrote.
fn params_of(text: &str) -> Vec<ExtensionParam> {
    let params = extensions::parse(text).and_then(|mut offers| offers.pop()).map(|o| o.params);
    to_js(params.unwrap_or_default())
}

/// An inflated message, or why it could not be.
#[napi(object, object_from_js = false)]
pub struct Inflated {
    pub data: Option<JsBytes>,
    /// The message inflated past maxLength (1009).
    pub too_large: bool,
    /// Corrupt compressed data (1010).
    pub error: Option<String>,
}

/// One connection's permessage-deflate session, for the JavaScript extension pipeline.
/// zlib state is allocated on first use and freed by `close`.
#[napi]
pub struct NativeDeflate {
    session: Option<DeflateSession>,
    response: Vec<(String, Option<String>)>,
    max_length: u64,
}

fn checked(options: DeflateOptions) -> Result<DeflateConfig> {
    let config = deflate_config(Some(options)).unwrap_or_default();
    config.validate().map_err(usage)?;
    Ok(config)
}

impl NativeDeflate {
    fn new(config: &DeflateConfig, negotiated: Negotiated, max_length: Option<f64>) -> Result<Self> {
        Ok(NativeDeflate {
            session: Some(DeflateSession::new(config, negotiated)),
            response: Vec::new(),
            max_length: limits(max_length)?.max_length,
        })
    }
}

#[napi]
impl NativeDeflate {
    /// Throws for options out of range, with the option's name.
    #[napi(catch_unwind)]
    pub fn validate(options: DeflateOptions) -> Result<()> {
        checked(options).map(|_| ())
    }

    /// The client's offer, as parameters.
    #[napi(catch_unwind)]
    pub fn client_offer(options: DeflateOptions) -> Result<Vec<ExtensionParam>> {
        Ok(params_of(&params::client_offer(&checked(options)?)))
    }

    /// A client session for the server's response, or `null` when the response is
    /// not acceptable for what was offered.
    #[napi(catch_unwind)]
    pub fn client_session(options: DeflateOptions, response: Vec<ExtensionParam>, max_length: Option<f64>) -> Result<Option<NativeDeflate>> {
        let config = checked(options)?;
        match params::client_activate(&config, &from_js(response)) {
            Some(negotiated) => Ok(Some(NativeDeflate::new(&config, negotiated, max_length)?)),
            None => Ok(None),
        }
    }

    /// A server session for the client's offers (in order), or `null` when none is
    /// acceptable.
    #[napi(catch_unwind)]
    pub fn server_session(options: DeflateOptions, offers: Vec<Vec<ExtensionParam>>, max_length: Option<f64>) -> Result<Option<NativeDeflate>> {
        let config = checked(options)?;
        let offers: Vec<ExtensionOffer> = offers.into_iter().map(from_js).collect();
        match params::server_accept(&config, &offers) {
            Some((negotiated, text)) => {
                let mut session = NativeDeflate::new(&config, negotiated, max_length)?;
                session.response = params_of(&text).into_iter().map(|p| (p.key, p.value)).collect();
                Ok(Some(session))
            }
            None => Ok(None),
        }
    }

    /// The server's response parameters.
    #[napi(getter, catch_unwind)]
    pub fn response(&self) -> Vec<ExtensionParam> {
        to_js(self.response.clone())
    }

    /// Compresses one whole message (the payload of a frame with RSV1 set).
    #[napi(catch_unwind)]
    pub fn deflate(&mut self, data: &[u8]) -> Result<JsBytes> {
        let session = self.session.as_mut().ok_or_else(|| usage("permessage-deflate session is closed"))?;
        let mut out = Vec::new();
        session.compressor.compress(data, &mut out).map_err(usage)?;
        Ok(JsBytes(out))
    }

    /// Inflates one whole message, stopping at maxLength.
    #[napi(catch_unwind)]
    pub fn inflate(&mut self, data: &[u8]) -> Inflated {
        let Some(session) = self.session.as_mut() else {
            return Inflated { data: None, too_large: false, error: Some("session is closed".to_owned()) };
        };
        let mut out = Vec::new();
        let result = session
            .decompressor
            .inflate(data, &mut out, self.max_length)
            .and_then(|()| session.decompressor.finish_message(&mut out, self.max_length));
        match result {
            Ok(()) => Inflated { data: Some(JsBytes(out)), too_large: false, error: None },
            Err(InflateError::TooLarge) => Inflated { data: None, too_large: true, error: None },
            Err(InflateError::Corrupt(reason)) => Inflated { data: None, too_large: false, error: Some(reason) },
        }
    }

    /// Frees the zlib state.
    #[napi(catch_unwind)]
    pub fn close(&mut self) {
        self.session = None;
    }
}
