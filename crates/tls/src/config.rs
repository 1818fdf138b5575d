//! The `tls:` blocks of clients and servers: the OpenTelemetry Collector's `configtls`
//! keys and defaults, and their pure validation.

use std::time::Duration;

use serde::{Deserialize, Deserializer};
use stratus_core::confval::Secret;
use stratus_core::factory::{ConfigProblem, Validate};

use crate::names::{self, Version};

/// `tls:` of a client (an exporter): how the server is authenticated and, for mutual
/// TLS, the certificate the client presents.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsClientConfig {
    /// PEM file of the CA certificates the server's certificate must chain to; replaces
    /// the system's trusted roots (unless `include_system_ca_certs_pool`). Default:
    /// empty (the system's roots).
    #[serde(deserialize_with = "null_is_empty")]
    pub ca_file: String,
    /// The same CA certificates as PEM text; not together with `ca_file`. Default: empty.
    pub ca_pem: String,
    /// Trust the system's CA certificates as well as `ca_file` / `ca_pem`. Default: `false`.
    pub include_system_ca_certs_pool: bool,
    /// PEM file of the client certificate chain, for mutual TLS; needs a key. Default:
    /// empty (no client certificate).
    #[serde(deserialize_with = "null_is_empty")]
    pub cert_file: String,
    /// The client certificate chain as PEM text; not together with `cert_file`.
    /// Default: empty.
    pub cert_pem: String,
    /// PEM file of the client certificate's private key (PKCS#8, PKCS#1 or SEC1).
    /// Default: empty.
    #[serde(deserialize_with = "null_is_empty")]
    pub key_file: String,
    /// The private key as PEM text; a secret, never printed. Not together with
    /// `key_file`. Default: empty.
    pub key_pem: Secret,
    /// Lowest TLS version offered: `1.2` or `1.3` (rustls has no 1.0 or 1.1). Default:
    /// `1.2`.
    pub min_version: String,
    /// Highest TLS version offered: `1.2` or `1.3`; empty is the highest rustls speaks
    /// (1.3). Default: empty.
    pub max_version: String,
    /// Cipher suites by IANA/Go name (`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`, for TLS
    /// 1.3 `TLS_AES_128_GCM_SHA256`). Naming suites of one version restricts that
    /// version to them; a version none are named for keeps its defaults. Default:
    /// empty (rustls' safe defaults).
    pub cipher_suites: Vec<String>,
    /// Key-exchange groups in preference order: `X25519MLKEM768`, `X25519`, `P256`,
    /// `P384`. Default: empty (rustls' defaults).
    pub curve_preferences: Vec<String>,
    /// How often `cert_file` and `key_file` are re-read; a changed pair is used for new
    /// connections. Duration; `0` never re-reads. Default: `0`.
    #[serde(with = "stratus_core::confval::duration")]
    pub reload_interval: Duration,
    /// Plaintext instead of TLS. Used by the component (the gRPC exporter, for an
    /// endpoint without scheme), not by this crate. Default: `false`.
    pub insecure: bool,
    /// Accept any server certificate: TLS without server authentication, for tests
    /// only. Default: `false`.
    pub insecure_skip_verify: bool,
    /// The name the server's certificate is checked against (and sent as SNI) instead
    /// of the endpoint's host. Default: empty (the endpoint's host).
    pub server_name_override: String,
}

impl Default for TlsClientConfig {
    fn default() -> Self {
        TlsClientConfig {
            ca_file: String::new(),
            ca_pem: String::new(),
            include_system_ca_certs_pool: false,
            cert_file: String::new(),
            cert_pem: String::new(),
            key_file: String::new(),
            key_pem: Secret::default(),
            min_version: "1.2".into(),
            max_version: String::new(),
            cipher_suites: Vec::new(),
            curve_preferences: Vec::new(),
            reload_interval: Duration::ZERO,
            insecure: false,
            insecure_skip_verify: false,
            server_name_override: String::new(),
        }
    }
}

/// `tls:` of a server (a receiver): the certificate it presents and, for mutual TLS,
/// the CA certificates client certificates must chain to.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsServerConfig {
    /// PEM file of CA certificates that client certificates must chain to: when set,
    /// clients must present one (mutual TLS), as with `client_ca_file`. Default: empty.
    #[serde(deserialize_with = "null_is_empty")]
    pub ca_file: String,
    /// The same CA certificates as PEM text; not together with `ca_file`. Default: empty.
    pub ca_pem: String,
    /// Trust the system's CA certificates for client certificates as well, when a
    /// client CA is given. Default: `false`.
    pub include_system_ca_certs_pool: bool,
    /// PEM file of the server certificate chain. Required (or `cert_pem`). Default: empty.
    #[serde(deserialize_with = "null_is_empty")]
    pub cert_file: String,
    /// The server certificate chain as PEM text; not together with `cert_file`.
    /// Default: empty.
    pub cert_pem: String,
    /// PEM file of the server's private key (PKCS#8, PKCS#1 or SEC1). Required (or
    /// `key_pem`). Default: empty.
    #[serde(deserialize_with = "null_is_empty")]
    pub key_file: String,
    /// The private key as PEM text; a secret, never printed. Not together with
    /// `key_file`. Default: empty.
    pub key_pem: Secret,
    /// Lowest TLS version accepted: `1.2` or `1.3` (rustls has no 1.0 or 1.1). Default:
    /// `1.2`.
    pub min_version: String,
    /// Highest TLS version accepted: `1.2` or `1.3`; empty is the highest rustls speaks
    /// (1.3). Default: empty.
    pub max_version: String,
    /// Cipher suites by IANA/Go name; see the client's `cipher_suites`. Default: empty
    /// (rustls' safe defaults).
    pub cipher_suites: Vec<String>,
    /// Key-exchange groups in preference order: `X25519MLKEM768`, `X25519`, `P256`,
    /// `P384`. Default: empty (rustls' defaults).
    pub curve_preferences: Vec<String>,
    /// How often `cert_file` and `key_file` (and with `client_ca_file_reload` the
    /// `client_ca_file`) are re-read; changed files are used for new connections,
    /// open ones are kept. Duration; `0` never re-reads. Default: `0`.
    #[serde(with = "stratus_core::confval::duration")]
    pub reload_interval: Duration,
    /// PEM file of CA certificates that client certificates must chain to: when set,
    /// clients must present one (mutual TLS). Default: empty.
    #[serde(deserialize_with = "null_is_empty")]
    pub client_ca_file: String,
    /// Re-read `client_ca_file` when it changes: checked at most once per
    /// `reload_interval`, or on every new connection when that is `0`. Default: `false`.
    pub client_ca_file_reload: bool,
}

impl Default for TlsServerConfig {
    fn default() -> Self {
        TlsServerConfig {
            ca_file: String::new(),
            ca_pem: String::new(),
            include_system_ca_certs_pool: false,
            cert_file: String::new(),
            cert_pem: String::new(),
            key_file: String::new(),
            key_pem: Secret::default(),
            min_version: "1.2".into(),
            max_version: String::new(),
            cipher_suites: Vec::new(),
            curve_preferences: Vec::new(),
            reload_interval: Duration::ZERO,
            client_ca_file: String::new(),
            client_ca_file_reload: false,
        }
    }
}

/// A null value (`ca_file:` with nothing after it) is an empty path: unset.
fn null_is_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Option::<String>::deserialize(d).map(Option::unwrap_or_default)
}

/// The keys clients and servers share, borrowed from either config.
pub(crate) struct Common<'a> {
    pub ca_file: &'a str,
    pub ca_pem: &'a str,
    pub cert_file: &'a str,
    pub cert_pem: &'a str,
    pub key_file: &'a str,
    pub key_pem: &'a Secret,
    pub min_version: &'a str,
    pub max_version: &'a str,
    pub cipher_suites: &'a [String],
    pub curve_preferences: &'a [String],
    pub reload_interval: Duration,
}

impl TlsClientConfig {
    pub(crate) fn common(&self) -> Common<'_> {
        Common {
            ca_file: &self.ca_file,
            ca_pem: &self.ca_pem,
            cert_file: &self.cert_file,
            cert_pem: &self.cert_pem,
            key_file: &self.key_file,
            key_pem: &self.key_pem,
            min_version: &self.min_version,
            max_version: &self.max_version,
            cipher_suites: &self.cipher_suites,
            curve_preferences: &self.curve_preferences,
            reload_interval: self.reload_interval,
        }
    }

    /// Whether a client certificate is configured (mutual TLS).
    pub fn has_client_certificate(&self) -> bool {
        !self.cert_file.is_empty() || !self.cert_pem.is_empty()
    }
}

impl TlsServerConfig {
    pub(crate) fn common(&self) -> Common<'_> {
        Common {
            ca_file: &self.ca_file,
            ca_pem: &self.ca_pem,
            cert_file: &self.cert_file,
            cert_pem: &self.cert_pem,
            key_file: &self.key_file,
            key_pem: &self.key_pem,
            min_version: &self.min_version,
            max_version: &self.max_version,
            cipher_suites: &self.cipher_suites,
            curve_preferences: &self.curve_preferences,
            reload_interval: self.reload_interval,
        }
    }

    /// Whether clients must present a certificate (`client_ca_file`, `ca_file` or
    /// `ca_pem` is set).
    pub fn requires_client_certificate(&self) -> bool {
        !self.client_ca_file.is_empty() || !self.ca_file.is_empty() || !self.ca_pem.is_empty()
    }
}

impl Common<'_> {
    pub(crate) fn has_cert(&self) -> bool {
        !self.cert_file.is_empty() || !self.cert_pem.is_empty()
    }

    pub(crate) fn has_key(&self) -> bool {
        !self.key_file.is_empty() || !self.key_pem.is_empty()
    }

    /// The version range; call after [`Common::check`] found no problem.
    pub(crate) fn versions(&self) -> (Version, Version) {
        let min = names::version(self.min_version, Version::Tls12).unwrap_or(Version::Tls12);
        let max = names::version(self.max_version, Version::Tls13).unwrap_or(Version::Tls13);
        (min, max)
    }

    /// Every problem of the shared keys; `server` requires a certificate.
    fn check(&self, server: bool, problems: &mut Vec<ConfigProblem>) {
        let mut push =
            |path: &str, message: String| problems.push(ConfigProblem::new(path, message));
        for (file_key, file, pem_key, pem_set) in [
            ("ca_file", self.ca_file, "ca_pem", !self.ca_pem.is_empty()),
            (
                "cert_file",
                self.cert_file,
                "cert_pem",
                !self.cert_pem.is_empty(),
            ),
            (
                "key_file",
                self.key_file,
                "key_pem",
                !self.key_pem.is_empty(),
            ),
        ] {
            if !file.is_empty() && pem_set {
                push(
                    pem_key,
                    format!("give either `{file_key}` or `{pem_key}`, not both"),
                );
            }
        }
        match (self.has_cert(), self.has_key()) {
            (false, false) if server => {
                push(
                    "cert_file",
                    "is required (or `cert_pem`): the certificate the server presents".into(),
                );
                push(
                    "key_file",
                    "is required (or `key_pem`): the private key of the server's certificate"
                        .into(),
                );
            }
            (true, false) => push(
                "key_file",
                "must be set (or `key_pem`) when a certificate is given: the certificate \
                 needs its private key"
                    .into(),
            ),
            (false, true) => push(
                "cert_file",
                "must be set (or `cert_pem`) when a private key is given: the key needs its \
                 certificate"
                    .into(),
            ),
            _ => {}
        }
        let min = names::version(self.min_version, Version::Tls12);
        if let Err(e) = &min {
            push("min_version", e.clone());
        }
        let max = names::version(self.max_version, Version::Tls13);
        if let Err(e) = &max {
            push("max_version", e.clone());
        }
        if let (Ok(min), Ok(max)) = (min, max)
            && max < min
        {
            push(
                "max_version",
                format!(
                    "`{}` is lower than `min_version` `{}`",
                    self.max_version, self.min_version
                ),
            );
        }
        for name in self.cipher_suites {
            if let Err(e) = names::cipher_suite(name) {
                push("cipher_suites", e);
            }
        }
        for name in self.curve_preferences {
            if let Err(e) = names::kx_group(name) {
                push("curve_preferences", e);
            }
        }
    }
}

impl Validate for TlsClientConfig {
    /// Every problem, with paths relative to the `tls` block (`min_version`). Pure:
    /// files are read only when the config is loaded.
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        self.common().check(false, &mut problems);
        if !self.server_name_override.is_empty()
            && rustls_pki_types::ServerName::try_from(self.server_name_override.as_str()).is_err()
        {
            problems.push(ConfigProblem::new(
                "server_name_override",
                format!(
                    "`{}` is not a valid DNS name or IP address",
                    self.server_name_override
                ),
            ));
        }
        problems
    }
}

impl Validate for TlsServerConfig {
    /// Every problem, with paths relative to the `tls` block (`cert_file`). Pure:
    /// files are read only when the config is loaded.
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        self.common().check(true, &mut problems);
        problems
    }
}

/// `problems` with `prefix` put before each path: how a component reports the problems
/// of its `tls` block (`prefixed("protocols::grpc::tls", tls.validate())`).
pub fn prefixed(prefix: &str, problems: Vec<ConfigProblem>) -> Vec<ConfigProblem> {
    problems
        .into_iter()
        .map(|p| {
            let path = if p.path.is_empty() {
                prefix.to_string()
            } else {
                format!("{prefix}::{}", p.path)
            };
            ConfigProblem::new(path, p.message)
        })
        .collect()
}
