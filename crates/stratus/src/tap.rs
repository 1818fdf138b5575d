//! `stratus tap <component-id>`: prints a bounded sample of the data leaving one
//! component of a running stratus, as OTLP/JSON lines on stdout, read from its admin
//! endpoint's `/api/v1/tap`. What the tap itself reports (what it taps, samples it
//! dropped because this reader fell behind) goes to stderr, so stdout stays OTLP/JSON.

use std::io::{BufRead, Write};

/// The tap the user asked for.
pub struct Args<'a> {
    /// The admin endpoint.
    pub endpoint: &'a str,
    /// The component id.
    pub component: &'a str,
    /// Its kind, when a receiver and an exporter share the id.
    pub kind: Option<&'a str>,
    /// One signal, or all.
    pub signal: Option<&'a str>,
    /// Items after which to stop.
    pub limit: Option<u64>,
    /// Items a second at most (0: no cap).
    pub rate: f64,
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The request path for `args`.
pub fn path(args: &Args) -> String {
    let mut path = format!(
        "/api/v1/tap?component={}&rate={}",
        encode(args.component),
        args.rate
    );
    if let Some(kind) = args.kind {
        path.push_str(&format!("&kind={}", encode(kind)));
    }
    if let Some(signal) = args.signal {
        path.push_str(&format!("&signal={}", encode(signal)));
    }
    if let Some(limit) = args.limit {
        path.push_str(&format!("&limit={limit}"));
    }
    path
}

/// Streams the tap to stdout until the limit is reached or the server goes away.
pub fn run(args: &Args) -> Result<(), String> {
    let (status, mut reader) = crate::healthcheck::open_stream(args.endpoint, &path(args))?;
    if status != 200 {
        let mut body = String::new();
        let _ = std::io::Read::read_to_string(&mut reader, &mut body);
        return Err(match status {
            404 if body.is_empty() => format!(
                "{} has no tap (is the `admin` or `zpages` extension enabled?)",
                args.endpoint
            ),
            _ => format!("HTTP {status}: {}", body.trim()),
        });
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(format!("reading the tap: {e}")),
        }
        if line.starts_with(b"{\"stratusTap\":") {
            eprint!("tap: {}", String::from_utf8_lossy(&line));
            continue;
        }
        // A closed stdout (`stratus tap ... | head`) ends the tap quietly.
        if out.write_all(&line).and_then(|()| out.flush()).is_err() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_names_what_was_asked() {
        let args = Args {
            endpoint: "http://localhost:55679",
            component: "otlp/eu",
            kind: Some("exporter"),
            signal: Some("traces"),
            limit: Some(10),
            rate: 50.0,
        };
        assert_eq!(
            path(&args),
            "/api/v1/tap?component=otlp%2Feu&rate=50&kind=exporter&signal=traces&limit=10"
        );
    }
}
