//! `stratus healthcheck`: asks a running stratus's `health_check` extension whether it
//! is ready, for container health checks in images that have no shell, `wget` or
//! `curl` (distroless, and the ECS, ACI and Docker `HEALTHCHECK` probes that need a
//! command to exec).
//!
//! A plain HTTP/1.1 GET over a blocking socket with a short timeout: no runtime to
//! start, nothing to configure, exit 0 on `200 OK` and 1 on anything else.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Where the `health_check` extension answers by default.
pub const DEFAULT_ENDPOINT: &str = "http://localhost:13133/";

/// How long one probe may take, connect and answer together.
const TIMEOUT: Duration = Duration::from_secs(3);

/// What a probe found.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint answered 200.
    Healthy,
    /// The endpoint answered with another status (503 while starting or stopping).
    Unhealthy(u16),
    /// Nothing answered, or the answer was not HTTP.
    Unreachable(String),
}

/// A parsed `http://host:port/path` URL.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    host: String,
    port: u16,
    path: String,
}

fn parse(url: &str) -> Result<Target, String> {
    let rest = match url.split_once("://") {
        Some(("http", rest)) => rest,
        Some((scheme, _)) => {
            return Err(format!(
                "`{url}`: only http:// is supported (the health_check extension serves plain HTTP), not {scheme}://"
            ));
        }
        // `localhost:13133` and `localhost:13133/health` work too.
        None => url,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            let port = port
                .parse::<u16>()
                .map_err(|_| format!("`{url}`: `{port}` is not a port number"))?;
            (host, port)
        }
        _ => (authority, 80),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("`{url}`: no host"));
    }
    Ok(Target {
        host: host.to_string(),
        port,
        path: path.to_string(),
    })
}

/// Probes `url` once.
pub fn probe(url: &str) -> Result<Outcome, String> {
    let target = parse(url)?;
    let addrs: Vec<SocketAddr> = match (target.host.as_str(), target.port).to_socket_addrs() {
        Ok(addrs) => addrs.collect(),
        Err(e) => return Ok(Outcome::Unreachable(format!("{}: {e}", target.host))),
    };
    let mut last = format!("{}: no address", target.host);
    for addr in addrs {
        match get(addr, &target) {
            Ok(200) => return Ok(Outcome::Healthy),
            Ok(status) => return Ok(Outcome::Unhealthy(status)),
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Ok(Outcome::Unreachable(last))
}

/// GETs `path` from the server `url` names (its own path is ignored), reading the
/// whole answer within the probe's timeout: for `stratus top`, which reads the admin
/// endpoint's status document. Returns the status code and the body.
pub fn fetch(url: &str, path: &str) -> Result<(u16, Vec<u8>), String> {
    let (status, mut reader) = open(url, path, Some(TIMEOUT))?;
    let mut body = Vec::new();
    reader
        .read_to_end(&mut body)
        .map_err(|e| format!("reading the answer: {e}"))?;
    Ok((status, body))
}

/// Opens a streaming GET of `path` on the server `url` names: returns the status code
/// and a reader positioned at the start of the body, which runs until the server
/// closes the connection. For `stratus tap`; no read timeout, since a stream may be
/// quiet for a while.
pub fn open_stream(url: &str, path: &str) -> Result<(u16, std::io::BufReader<TcpStream>), String> {
    open(url, path, None)
}

/// Sends an HTTP/1.0 GET (so the body runs to the end of the connection, never
/// chunked) and reads the answer's head.
fn open(
    url: &str,
    path: &str,
    read_timeout: Option<Duration>,
) -> Result<(u16, std::io::BufReader<TcpStream>), String> {
    use std::io::BufRead;
    let target = parse(url)?;
    let mut last = format!("{}: no address", target.host);
    for addr in resolve(&target)? {
        let opened = (|| -> std::io::Result<(u16, std::io::BufReader<TcpStream>)> {
            let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
            stream.set_read_timeout(read_timeout)?;
            stream.set_write_timeout(Some(TIMEOUT))?;
            write!(
                stream,
                "GET {path} HTTP/1.0\r\nHost: {}\r\nUser-Agent: stratus\r\n\r\n",
                host_header(&target)
            )?;
            let mut reader = std::io::BufReader::new(stream);
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let status = status_of(line.trim_end())?;
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
                    break;
                }
            }
            Ok((status, reader))
        })();
        match opened {
            Ok(answer) => return Ok(answer),
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(last)
}

fn resolve(target: &Target) -> Result<Vec<SocketAddr>, String> {
    Ok((target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| format!("{}: {e}", target.host))?
        .collect())
}

fn host_header(target: &Target) -> String {
    if target.host.contains(':') {
        format!("[{}]:{}", target.host, target.port)
    } else {
        format!("{}:{}", target.host, target.port)
    }
}

fn status_of(line: &str) -> std::io::Result<u16> {
    let mut parts = line.split_whitespace();
    match (
        parts.next(),
        parts.next().and_then(|s| s.parse::<u16>().ok()),
    ) {
        (Some(version), Some(status)) if version.starts_with("HTTP/") => Ok(status),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not an HTTP answer: {line:?}"),
        )),
    }
}

fn get(addr: SocketAddr, target: &Target) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let host = host_header(target);
    write!(
        stream,
        "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: stratus-healthcheck\r\nConnection: close\r\n\r\n",
        target.path
    )?;
    // The status line is all we need; the body may be a JSON document or empty.
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 256];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 4096 {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    status_of(line.lines().next().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_as_a_probe_reads_them() {
        let t = |host: &str, port, path: &str| {
            Ok(Target {
                host: host.into(),
                port,
                path: path.into(),
            })
        };
        assert_eq!(parse(DEFAULT_ENDPOINT), t("localhost", 13133, "/"));
        assert_eq!(
            parse("http://10.0.0.7:13133/health/status"),
            t("10.0.0.7", 13133, "/health/status")
        );
        assert_eq!(parse("localhost:13133"), t("localhost", 13133, "/"));
        assert_eq!(parse("http://[::1]:13133/"), t("::1", 13133, "/"));
        assert_eq!(parse("http://health/"), t("health", 80, "/"));
        assert!(
            parse("https://localhost:13133/")
                .unwrap_err()
                .contains("only http://")
        );
        assert!(
            parse("http://localhost:x/")
                .unwrap_err()
                .contains("not a port")
        );
        assert!(parse("http://:13133/").unwrap_err().contains("no host"));
    }
}
