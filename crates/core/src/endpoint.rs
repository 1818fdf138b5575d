//! Listen endpoints: the one parser for every `endpoint`-like key a server binds
//! (OTLP receivers, `health_check`, internal metrics, the Prometheus reader).
//!
//! Accepted forms, as in the Go collector:
//!
//! | text              | listens on                                                  |
//! |-------------------|-------------------------------------------------------------|
//! | `:4317`           | every IPv4 interface (`0.0.0.0:4317`)                        |
//! | `0.0.0.0:4317`    | every IPv4 interface                                         |
//! | `[::]:4317`       | every IPv6 interface (and IPv4 too where the OS is dual-stack) |
//! | `127.0.0.1:4317`  | that address                                                 |
//! | `[::1]:4317`      | that IPv6 address                                            |
//! | `localhost:4317`  | what `localhost` resolves to, IPv4 first (`127.0.0.1`)       |
//! | `my-host:4317`    | what the name resolves to at start, IPv4 first               |
//!
//! Port `0` asks the OS for a free port. Parsing is pure, so `stratus validate`
//! rejects every malformed endpoint; only what needs the running machine (name
//! resolution, a port already taken) can fail at start.
//!
//! ```
//! use stratus_core::endpoint::{Endpoint, Host};
//!
//! let any: Endpoint = ":8888".parse().unwrap();
//! assert_eq!(any.host(), &Host::Any);
//! assert_eq!(any.port(), 8888);
//! let err = "::1:4317".parse::<Endpoint>().unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "`::1:4317` has an IPv6 address without brackets: write `[::1]:4317`"
//! );
//! ```

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

use tokio::net::TcpListener;

/// The host part of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// No host (`:4317`): every IPv4 interface.
    Any,
    /// An IP address (`0.0.0.0`, `127.0.0.1`, `::1`).
    Ip(IpAddr),
    /// A name resolved at bind time (`localhost`, `my-host.internal`).
    Name(String),
}

/// A parsed listen endpoint: a host and a port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    host: Host,
    port: u16,
}

/// Why an endpoint does not parse. The message names the text and says what to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EndpointError(String);

impl EndpointError {
    fn new(message: impl Into<String>) -> Self {
        EndpointError(message.into())
    }
}

const FORM: &str = "expected `host:port` (e.g. `localhost:8080`), or `:port` for every interface";

impl Endpoint {
    /// An endpoint from its parts.
    pub fn new(host: Host, port: u16) -> Self {
        Endpoint { host, port }
    }

    /// An endpoint from a separate host and port, as the Prometheus reader's
    /// `host` and `port` keys give them. The host may be empty (every interface), an
    /// IP address (IPv6 with or without brackets) or a name.
    pub fn from_host_port(host: &str, port: u16) -> Result<Endpoint, EndpointError> {
        let inner = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if inner.is_empty() {
            return Ok(Endpoint::new(Host::Any, port));
        }
        if let Ok(ip) = inner.parse::<IpAddr>() {
            return Ok(Endpoint::new(Host::Ip(ip), port));
        }
        check_name(inner)
            .map(|()| Endpoint::new(Host::Name(inner.to_string()), port))
            .map_err(|reason| EndpointError::new(format!("`{host}` is not a valid host: {reason}")))
    }

    /// The host.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The port (`0`: any free port).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The addresses a listener tries, in order: one for an IP or no host, what the
    /// name resolves to (IPv4 first) for a name.
    pub async fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        match &self.host {
            Host::Any => Ok(vec![SocketAddr::new(
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                self.port,
            )]),
            Host::Ip(ip) => Ok(vec![SocketAddr::new(*ip, self.port)]),
            Host::Name(name) => {
                let mut addrs: Vec<SocketAddr> =
                    tokio::net::lookup_host((name.as_str(), self.port))
                        .await
                        .map_err(|e| {
                            io::Error::new(e.kind(), format!("cannot resolve `{name}`: {e}"))
                        })?
                        .collect();
                // IPv4 first, as Go's listener prefers; the sort is stable.
                addrs.sort_by_key(SocketAddr::is_ipv6);
                addrs.dedup();
                if addrs.is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("`{name}` resolves to no address"),
                    ));
                }
                Ok(addrs)
            }
        }
    }

    /// Binds a TCP listener: the first address of [`Endpoint::resolve`] that binds.
    /// The error says which endpoint could not be bound and why.
    pub async fn bind(&self) -> io::Result<TcpListener> {
        let addrs = self
            .resolve()
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on `{self}`: {e}")))?;
        let mut last = None;
        for addr in addrs {
            match TcpListener::bind(addr).await {
                Ok(listener) => return Ok(listener),
                Err(e) => last = Some((addr, e)),
            }
        }
        let (addr, e) = last.unwrap_or_else(|| {
            (
                SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), self.port),
                io::Error::other("no address"),
            )
        });
        Err(io::Error::new(
            e.kind(),
            format!("cannot listen on `{self}` ({addr}): {e}"),
        ))
    }
}

/// A host name: dot-separated labels of letters, digits, `-` and `_`.
fn check_name(name: &str) -> Result<(), String> {
    if name.len() > 253 {
        return Err("a host name has at most 253 characters".to_string());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("a host name has no empty parts between dots".to_string());
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!(
                "`{c}` is not allowed in a host name (letters, digits, `-`, `_` and `.`)"
            ));
        }
    }
    Ok(())
}

impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(text: &str) -> Result<Endpoint, EndpointError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(EndpointError::new(format!("the endpoint is empty: {FORM}")));
        }
        if let Some((scheme, _)) = t.split_once("://") {
            return Err(EndpointError::new(format!(
                "`{t}` is a URL (`{scheme}://`): a listen endpoint is `host:port` without a scheme"
            )));
        }
        if t.contains('/') {
            return Err(EndpointError::new(format!(
                "`{t}` has a path: a listen endpoint is `host:port`"
            )));
        }
        let (host, port) = if let Some(rest) = t.strip_prefix('[') {
            let Some((ip, after)) = rest.split_once(']') else {
                return Err(EndpointError::new(format!(
                    "`{t}` opens `[` without closing it: write `[::1]:port`"
                )));
            };
            let Some(port) = after.strip_prefix(':') else {
                return Err(EndpointError::new(format!(
                    "`{t}` has no port after `]`: write `[{ip}]:port`"
                )));
            };
            let Ok(addr) = ip.parse::<std::net::Ipv6Addr>() else {
                return Err(EndpointError::new(format!(
                    "`{t}` has an invalid IPv6 address `{ip}` in brackets"
                )));
            };
            (Host::Ip(IpAddr::V6(addr)), port)
        } else {
            let Some((host, port)) = t.rsplit_once(':') else {
                return Err(EndpointError::new(format!("`{t}` has no port: {FORM}")));
            };
            if host.contains(':') {
                if host.parse::<std::net::Ipv6Addr>().is_ok() {
                    return Err(EndpointError::new(format!(
                        "`{t}` has an IPv6 address without brackets: write `[{host}]:{port}`"
                    )));
                }
                return Err(EndpointError::new(format!(
                    "`{t}` has more than one `:`: {FORM}"
                )));
            }
            let host = if host.is_empty() {
                Host::Any
            } else if let Ok(ip) = host.parse::<Ipv4Addr>() {
                Host::Ip(IpAddr::V4(ip))
            } else {
                check_name(host).map_err(|reason| {
                    EndpointError::new(format!("`{t}` has an invalid host `{host}`: {reason}"))
                })?;
                Host::Name(host.to_string())
            };
            (host, port)
        };
        if port.is_empty() {
            return Err(EndpointError::new(format!("`{t}` has no port: {FORM}")));
        }
        let port = if port.chars().all(|c| c.is_ascii_digit()) {
            port.parse::<u16>().ok()
        } else {
            None
        }
        .ok_or_else(|| {
            EndpointError::new(format!(
                "`{t}` has an invalid port `{port}`: expected a number from 0 to 65535"
            ))
        })?;
        Ok(Endpoint::new(host, port))
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Any => write!(f, ":{}", self.port),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]:{}", self.port),
            Host::Ip(ip) => write!(f, "{ip}:{}", self.port),
            Host::Name(name) => write!(f, "{name}:{}", self.port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Endpoint, String> {
        s.parse::<Endpoint>().map_err(|e| e.to_string())
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(parse(":8888").unwrap(), Endpoint::new(Host::Any, 8888));
        assert_eq!(
            parse("0.0.0.0:4317").unwrap(),
            Endpoint::new(Host::Ip(IpAddr::V4(Ipv4Addr::UNSPECIFIED)), 4317)
        );
        assert_eq!(
            parse("[::1]:4317").unwrap(),
            Endpoint::new(Host::Ip("::1".parse().unwrap()), 4317)
        );
        assert_eq!(
            parse("localhost:0").unwrap(),
            Endpoint::new(Host::Name("localhost".into()), 0)
        );
        assert_eq!(
            parse("my-host.internal:1").unwrap().host(),
            &Host::Name("my-host.internal".into())
        );
        for s in [
            ":8888",
            "127.0.0.1:1",
            "[::1]:4317",
            "localhost:4318",
            "[::]:9",
        ] {
            assert_eq!(parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn rejected_forms_say_why() {
        let cases = [
            (
                "",
                "the endpoint is empty: expected `host:port` (e.g. `localhost:8080`), or `:port` for every interface",
            ),
            (
                "localhost",
                "`localhost` has no port: expected `host:port` (e.g. `localhost:8080`), or `:port` for every interface",
            ),
            (
                "localhost:",
                "`localhost:` has no port: expected `host:port` (e.g. `localhost:8080`), or `:port` for every interface",
            ),
            (
                "localhost:http",
                "`localhost:http` has an invalid port `http`: expected a number from 0 to 65535",
            ),
            (
                "host:99999",
                "`host:99999` has an invalid port `99999`: expected a number from 0 to 65535",
            ),
            (
                "host:-1",
                "`host:-1` has an invalid port `-1`: expected a number from 0 to 65535",
            ),
            (
                "::1:4317",
                "`::1:4317` has an IPv6 address without brackets: write `[::1]:4317`",
            ),
            (
                "a:b:c",
                "`a:b:c` has more than one `:`: expected `host:port` (e.g. `localhost:8080`), or `:port` for every interface",
            ),
            (
                "[::1",
                "`[::1` opens `[` without closing it: write `[::1]:port`",
            ),
            ("[::1]", "`[::1]` has no port after `]`: write `[::1]:port`"),
            (
                "[zz]:1",
                "`[zz]:1` has an invalid IPv6 address `zz` in brackets",
            ),
            (
                "a b:1",
                "`a b:1` has an invalid host `a b`: ` ` is not allowed in a host name (letters, digits, `-`, `_` and `.`)",
            ),
            (
                "a..b:1",
                "`a..b:1` has an invalid host `a..b`: a host name has no empty parts between dots",
            ),
            (
                "http://x:1",
                "`http://x:1` is a URL (`http://`): a listen endpoint is `host:port` without a scheme",
            ),
            (
                "x:1/v1",
                "`x:1/v1` has a path: a listen endpoint is `host:port`",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(parse(text).unwrap_err(), message, "{text}");
        }
    }

    #[test]
    fn host_and_port_keys() {
        assert_eq!(
            Endpoint::from_host_port("", 8888).unwrap(),
            Endpoint::new(Host::Any, 8888)
        );
        assert_eq!(
            Endpoint::from_host_port("::1", 1).unwrap().to_string(),
            "[::1]:1"
        );
        assert_eq!(
            Endpoint::from_host_port("[::0]", 1).unwrap().host(),
            &Host::Ip("::".parse().unwrap())
        );
        assert_eq!(
            Endpoint::from_host_port("0.0.0.0", 2).unwrap().to_string(),
            "0.0.0.0:2"
        );
        assert_eq!(
            Endpoint::from_host_port("a b", 1).unwrap_err().to_string(),
            "`a b` is not a valid host: ` ` is not allowed in a host name (letters, digits, `-`, `_` and `.`)"
        );
    }

    #[tokio::test]
    async fn binds_what_it_says() {
        let any = parse(":0").unwrap().bind().await.unwrap();
        let port = any.local_addr().unwrap().port();
        assert!(any.local_addr().unwrap().ip().is_unspecified());
        // Every interface includes loopback.
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let local = parse("localhost:0").unwrap().bind().await.unwrap();
        assert!(local.local_addr().unwrap().ip().is_loopback());
        let v4 = parse("127.0.0.1:0").unwrap().bind().await.unwrap();
        assert_eq!(
            v4.local_addr().unwrap().ip(),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        // A taken port is an error that names the endpoint.
        let taken = format!("127.0.0.1:{}", v4.local_addr().unwrap().port());
        let err = parse(&taken).unwrap().bind().await.unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot listen on `{taken}`")),
            "{err}"
        );
    }
}
