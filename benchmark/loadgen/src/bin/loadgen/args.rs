//! Command line of the load generator.

pub const USAGE: &str = "usage: loadgen --port P [--host 127.0.0.1] [--connections N] [--size S] [--inflight K] \
[--seconds D] [--deflate] [--tls] [--binary] [--warm] [--mode echo|broadcast|idle]";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Echo,
    Broadcast,
    Idle,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Echo => "echo",
            Mode::Broadcast => "broadcast",
            Mode::Idle => "idle",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Args {
    pub host: String,
    pub port: u16,
    pub connections: usize,
    pub size: usize,
    pub inflight: usize,
    pub seconds: f64,
    pub deflate: bool,
    pub tls: bool,
    pub binary: bool,
    /// Idle mode: one echoed message per connection before going idle.
    pub warm: bool,
    pub mode: Mode,
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value.parse().map_err(|_| format!("bad value for {flag}: {value}"))
}

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut out = Args {
        host: "127.0.0.1".into(),
        port: 0,
        connections: 1,
        size: 16,
        inflight: 1,
        seconds: 2.0,
        deflate: false,
        tls: false,
        binary: false,
        warm: false,
        mode: Mode::Echo,
    };
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--deflate" => out.deflate = true,
            "--tls" => out.tls = true,
            "--binary" => out.binary = true,
            "--warm" => out.warm = true,
            "--port" | "--host" | "--connections" | "--size" | "--inflight" | "--seconds" | "--mode" => {
                let value = it.next().ok_or(format!("{flag} needs a value"))?;
                match flag.as_str() {
                    "--port" => out.port = number(&flag, &value)?,
                    "--host" => out.host = value,
                    "--connections" => out.connections = number(&flag, &value)?,
                    "--size" => out.size = number(&flag, &value)?,
                    "--inflight" => out.inflight = number(&flag, &value)?,
                    "--seconds" => out.seconds = number(&flag, &value)?,
                    _ => {
                        out.mode = match value.as_str() {
                            "echo" => Mode::Echo,
                            "broadcast" => Mode::Broadcast,
                            "idle" => Mode::Idle,
                            _ => return Err(format!("unknown mode {value}")),
                        }
                    }
                }
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if out.port == 0 {
        return Err("--port is required".into());
    }
    if out.connections == 0 || out.inflight == 0 {
        return Err("--connections and --inflight must be at least 1".into());
    }
    if !(out.seconds.is_finite() && out.seconds > 0.0) {
        return Err("--seconds must be a positive number".into());
    }
    if out.warm && out.mode != Mode::Idle {
        // Elsewhere the extra message would upset the counting (a broadcast reaches all).
        return Err("--warm is for --mode idle".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_flags() {
        let a = parse(strings("--port 80 --deflate --mode broadcast --size 1024 --tls --seconds 0.5")).unwrap();
        assert_eq!((a.port, a.size, a.mode, a.deflate, a.tls, a.binary), (80, 1024, Mode::Broadcast, true, true, false));
        assert_eq!(a.seconds, 0.5);
        assert!(parse(strings("--size 3")).is_err());
        assert!(parse(strings("--port 80 --mode nope")).is_err());
        assert!(parse(strings("--port 80 --inflight 0")).is_err());
        assert!(parse(strings("--port 80 --bogus")).is_err());
        assert!(parse(strings("--port")).is_err());
        assert!(parse(strings("--port 80 --warm")).is_err());
        assert!(parse(strings("--port 80 --warm --mode idle")).unwrap().warm);
    }
}
