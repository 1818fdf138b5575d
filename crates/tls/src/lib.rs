//! Client and server TLS for stratus components, from the OpenTelemetry Collector's
//! `configtls` keys: one place that reads PEM material and builds rustls configs
//! (aws-lc-rs provider, TLS 1.2 and 1.3), used by the OTLP receiver and exporters.
//!
//! ```yaml
//! receivers:
//!   otlp:
//!     protocols:
//!       grpc:
//!         tls:                        # a TlsServerConfig
//!           cert_file: /etc/stratus/server.pem
//!           key_file: /etc/stratus/server-key.pem
//!           client_ca_file: /etc/stratus/clients-ca.pem   # mutual TLS
//!           min_version: "1.3"
//!           reload_interval: 1h
//! exporters:
//!   otlp:
//!     endpoint: gateway.example.com:4317
//!     tls:                            # a TlsClientConfig
//!       ca_pem: ${env:GATEWAY_CA}
//!       server_name_override: gateway.internal
//! ```
//!
//! A component embeds [`TlsServerConfig`] or [`TlsClientConfig`] in its config, adds
//! their [`Validate`](stratus_core::factory::Validate) problems under its own key path
//! with [`prefixed`], and at build time calls [`TlsServerConfig::server_config`] or
//! [`TlsClientConfig::client_config`] for an `Arc` of the rustls config.
//!
//! - Validation is pure: both `*_file` and `*_pem` given, a certificate without its
//!   key (or a server without either), unknown or unsupported versions (`1.0`, `1.1`:
//!   rustls does not speak them), cipher suites and curves are problems with paths
//!   relative to the `tls` block. Unreadable or unusable files are load errors
//!   ([`TlsError`]), naming the key and the file; inline PEM is never quoted.
//! - Every file is read once per (re)load and parsed with `rustls-pki-types`.
//! - With `reload_interval`, the certificate and key are re-read at most once per
//!   interval, on the next handshake after it passed, and a changed pair serves new
//!   connections; open connections keep theirs. Material that fails to read or parse
//!   is logged as a warning and the previous pair stays in use. On a server,
//!   `client_ca_file_reload` does the same for `client_ca_file` (checked on every new
//!   connection when `reload_interval` is `0`).
//! - `cipher_suites` takes Go's (IANA) names; naming suites of one TLS version
//!   restricts that version and leaves the other at its defaults, as Go does for 1.3.

mod config;
mod error;
mod load;
mod names;
mod pem;
mod reload;

pub use config::{TlsClientConfig, TlsServerConfig, prefixed};
pub use error::TlsError;
pub use load::{SkipServerVerification, provider};
