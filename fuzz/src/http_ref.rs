//! HTTP heads: a lenient request reader that turns fuzz bytes into what Node would hand
//! the binding, and the reference verdict on a response head read from a stream.

/// The largest head the core reads, and the most header lines (src/core/limits.rs).
pub const MAX_HEAD: usize = 16 * 1024;
pub const MAX_HEADERS: usize = 128;

#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    pub target: String,
    /// As sent: names unchanged, values trimmed of spaces and tabs (Node's rawHeaders).
    pub headers: Vec<(String, String)>,
    /// Lines whose name starts with `@`: the application's `headers` option.
    pub custom: Vec<(String, String)>,
    /// Whatever follows the blank line.
    pub body: Vec<u8>,
}

/// Reads `METHOD target ...` and `name: value` lines up to a blank line. Lines without a
/// colon are dropped. Bytes that are not UTF-8 become U+FFFD, as a JavaScript string
/// would hold them; characters beyond Latin-1 stay, as a request-like object may carry.
pub fn parse_request(bytes: &[u8]) -> Request {
    let text_end = find_blank_line(bytes);
    let (head, body) = match text_end {
        Some((end, skip)) => (&bytes[..end], &bytes[end + skip..]),
        None => (bytes, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let mut request = Request { body: body.to_vec(), ..Default::default() };
    let first = lines.next().unwrap_or_default();
    let mut words = first.split(' ');
    request.method = words.next().unwrap_or_default().to_owned();
    request.target = words.next().unwrap_or_default().to_owned();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim_matches([' ', '\t']).to_owned();
        match name.strip_prefix('@') {
            Some(custom) => request.custom.push((custom.to_owned(), value)),
            None => request.headers.push((name.to_owned(), value)),
        }
    }
    request
}

fn find_blank_line(bytes: &[u8]) -> Option<(usize, usize)> {
    let crlf = bytes.windows(4).position(|w| w == b"\r\n\r\n").map(|p| (p, 4));
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|p| (p, 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// Node's `request.headers[name]`: repeated headers joined with ", ".
pub fn joined(headers: &[(String, String)], name: &str) -> Option<String> {
    let values: Vec<&str> = headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()).collect();
    if values.is_empty() {
        None
    } else {
        Some(values.join(", "))
    }
}

/// A comma-separated header lists `token` (case-insensitive).
pub fn has_token(value: Option<&str>, token: &str) -> bool {
    value.is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// RFC 7230 section 3.2.6.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether a `headers` option entry may be written: a token name, and a value that
/// cannot end the line (both trimmed of spaces first).
pub fn custom_header_ok(name: &str, value: &str) -> bool {
    let name = name.trim_matches(' ');
    let value = value.trim_matches(' ');
    !name.is_empty() && name.bytes().all(is_tchar) && !value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

/// The reference verdict on the start of a byte stream that should be a response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    /// The head, and its length in bytes.
    Complete { status: u16, headers: Vec<(String, String)>, len: usize },
    NeedMore,
    Invalid,
    /// Malformed, but only in bytes after the last line break: a reader that parses on
    /// line ends may still be waiting for one.
    InvalidOrNeedMore,
}

/// A parsed head: status, joined headers, length in bytes.
type Parsed = (u16, Vec<(String, String)>, usize);

fn parse(window: &[u8]) -> Result<Option<Parsed>, ()> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut slots);
    let len = match response.parse(window) {
        Err(_) => return Err(()),
        Ok(httparse::Status::Partial) => return Ok(None),
        Ok(httparse::Status::Complete(len)) => len,
    };
    // Names lower-cased, repeats joined with ", ", values decoded leniently: the shape
    // of websocket-driver's `headers`.
    let mut joined: Vec<(String, String)> = Vec::new();
    for header in response.headers.iter() {
        let name = header.name.to_ascii_lowercase();
        let value = String::from_utf8_lossy(header.value).into_owned();
        match joined.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => {
                v.push_str(", ");
                v.push_str(&value);
            }
            None => joined.push((name, value)),
        }
    }
    Ok(Some((response.code.unwrap_or(0), joined, len)))
}

/// What a reader that holds at most `MAX_HEAD` bytes makes of `input`, whichever reads
/// it arrived in.
pub fn read_head(input: &[u8]) -> Head {
    let window = &input[..input.len().min(MAX_HEAD)];
    match parse(window) {
        Ok(Some((status, headers, len))) => Head::Complete { status, headers, len },
        Ok(None) if input.len() >= MAX_HEAD => Head::Invalid,
        Ok(None) => Head::NeedMore,
        Err(()) => {
            // Up to the last line break the head was read for certain.
            match window.iter().rposition(|&b| b == b'\n') {
                Some(at) if parse(&window[..=at]).is_err() => Head::Invalid,
                _ if input.len() >= MAX_HEAD => Head::Invalid,
                _ => Head::InvalidOrNeedMore,
            }
        }
    }
}

/// The value of a joined response header.
pub fn get<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}
