//! Where the list of backends comes from: a fixed list (`static`) or the addresses a
//! DNS name resolves to (`dns`), re-resolved every `interval`.
//!
//! Both give a sorted list without duplicates, so the ring does not depend on the
//! order of the config or of the DNS answer. A DNS backend is `ip:port` (`[ip]:port`
//! for IPv6), as upstream names it.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::config::{DnsResolverConfig, ResolverConfig, StaticResolverConfig};

/// Looks a host name up: the seam through which tests answer for DNS.
#[async_trait]
pub trait Lookup: Send + Sync + 'static {
    /// The addresses `host` resolves to.
    async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>>;
}

/// The system resolver (`getaddrinfo` through tokio: `/etc/hosts`, then DNS as
/// `/etc/resolv.conf` says).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

#[async_trait]
impl Lookup for SystemLookup {
    async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, 0))
            .await?
            .map(|a| a.ip())
            .collect())
    }
}

/// The backends of a `static` resolver: trimmed, sorted, duplicates removed.
pub fn static_backends(config: &StaticResolverConfig) -> Vec<String> {
    let mut v: Vec<String> = config
        .hostnames
        .iter()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The name of a resolved backend: `ip:port`, `[ip]:port` for IPv6.
pub fn backend_name(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// A DNS resolver: one lookup of `hostname`, bounded by `timeout`.
#[derive(Clone)]
pub struct DnsResolver {
    /// The name resolved.
    pub hostname: String,
    /// The port of every backend.
    pub port: u16,
    /// Time between resolutions.
    pub interval: Duration,
    /// Bound of one resolution.
    pub timeout: Duration,
    lookup: Arc<dyn Lookup>,
}

impl std::fmt::Debug for DnsResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsResolver")
            .field("hostname", &self.hostname)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl DnsResolver {
    /// A resolver for `config` that looks names up with `lookup`.
    pub fn new(config: &DnsResolverConfig, lookup: Arc<dyn Lookup>) -> Self {
        DnsResolver {
            hostname: config.hostname.trim().to_string(),
            port: config.port,
            interval: config.interval,
            timeout: config.timeout,
            lookup,
        }
    }

    /// Resolves once: the backends, sorted, without duplicates; an error when the
    /// lookup failed, timed out or found no address.
    pub async fn resolve(&self) -> Result<Vec<String>, String> {
        let ips = tokio::time::timeout(self.timeout, self.lookup.lookup(&self.hostname))
            .await
            .map_err(|_| {
                format!(
                    "resolving `{}` took longer than {}",
                    self.hostname,
                    stratus_core::confval::format_duration(self.timeout)
                )
            })?
            .map_err(|e| format!("resolving `{}` failed: {e}", self.hostname))?;
        let mut backends: Vec<String> = ips
            .into_iter()
            .map(|ip| backend_name(ip, self.port))
            .collect();
        backends.sort();
        backends.dedup();
        if backends.is_empty() {
            return Err(format!("`{}` resolved to no address", self.hostname));
        }
        Ok(backends)
    }
}

/// The resolver a config names.
#[derive(Debug, Clone)]
pub enum Resolver {
    /// A fixed list.
    Static(Vec<String>),
    /// A DNS name.
    Dns(DnsResolver),
}

impl Resolver {
    /// The resolver of a validated config (`static` when both were set, which
    /// validation refuses).
    pub fn from_config(config: &ResolverConfig, lookup: Arc<dyn Lookup>) -> Option<Resolver> {
        if let Some(s) = &config.static_ {
            return Some(Resolver::Static(static_backends(s)));
        }
        config
            .dns
            .as_ref()
            .map(|d| Resolver::Dns(DnsResolver::new(d, lookup)))
    }

    /// `static` or `dns`: the `resolver` label of the resolver metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Resolver::Static(_) => "static",
            Resolver::Dns(_) => "dns",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Answers from a script: each lookup takes the next answer, the last one stays.
    pub(crate) struct Scripted(pub Mutex<Vec<std::io::Result<Vec<IpAddr>>>>);

    #[async_trait]
    impl Lookup for Scripted {
        async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
            assert_eq!(host, "gateway.test");
            let mut answers = self.0.lock().unwrap();
            if answers.len() > 1 {
                answers.remove(0)
            } else {
                match &answers[0] {
                    Ok(v) => Ok(v.clone()),
                    Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
                }
            }
        }
    }

    fn dns(lookup: Arc<dyn Lookup>, host: &str) -> DnsResolver {
        DnsResolver::new(
            &DnsResolverConfig {
                hostname: host.into(),
                port: 55690,
                ..Default::default()
            },
            lookup,
        )
    }

    #[tokio::test]
    async fn dns_answers_become_sorted_backends() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let lookup = Arc::new(Scripted(Mutex::new(vec![
            Ok(vec![
                ip("10.0.0.9"),
                ip("10.0.0.10"),
                ip("10.0.0.9"),
                ip("fd00::1"),
            ]),
            Err(std::io::Error::other("SERVFAIL")),
            Ok(vec![]),
        ])));
        let r = dns(lookup, "gateway.test");
        assert_eq!(
            r.resolve().await.unwrap(),
            ["10.0.0.10:55690", "10.0.0.9:55690", "[fd00::1]:55690"]
        );
        let e = r.resolve().await.unwrap_err();
        assert!(e.contains("SERVFAIL"), "{e}");
        let e = r.resolve().await.unwrap_err();
        assert!(e.contains("no address"), "{e}");
    }

    /// A real name through the system resolver: `localhost` is in /etc/hosts.
    #[tokio::test]
    async fn localhost_resolves_through_the_system_resolver() {
        let r = dns(Arc::new(SystemLookup), "localhost");
        let backends = r.resolve().await.unwrap();
        assert!(
            backends.contains(&"127.0.0.1:55690".to_string()),
            "{backends:?}"
        );
    }

    #[test]
    fn static_lists_are_sorted_and_deduplicated() {
        let s = StaticResolverConfig {
            hostnames: vec!["b:1".into(), " a:1 ".into(), "b:1".into()],
        };
        assert_eq!(static_backends(&s), ["a:1", "b:1"]);
    }
}
