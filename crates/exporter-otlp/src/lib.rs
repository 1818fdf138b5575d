//! The OTLP exporters: send telemetry on to another collector or any OTLP endpoint.
//!
//! - [`OtlpExporterFactory`] (`otlp`): OTLP over gRPC, with TLS (and mutual TLS),
//!   gzip/zstd compression, headers, keepalive, client authentication
//!   (`auth.authenticator`), `authority`, `round_robin` / `pick_first` balancing and
//!   `wait_for_ready`. The channel connects lazily, so
//!   stratus starts while the destination is down and delivers once it is up.
//! - [`OtlpHttpExporterFactory`] (`otlphttp`): OTLP over HTTP/1.1 or HTTP/2, protobuf
//!   or JSON bodies, gzip/zstd compression, `Retry-After` honoured, client
//!   authentication, an HTTP proxy (`proxy_url`) and Go's connection pool keys.
//!
//! The gRPC sender and its config live in the foundation crate `stratus-otlp-client`
//! (shared with the `loadbalancing` exporter) and are re-exported here.
//!
//! Both run on the shared exporter helper (sending queue, retry with back-off, per
//! attempt timeout, `otelcol_exporter_*` metrics); this crate only encodes a batch,
//! sends one request and classifies the answer the way the collector does (see
//! [`grpc::classify_status`] and [`http::classify_response`]).
//!
//! ```yaml
//! exporters:
//!   otlp/gateway:
//!     endpoint: gateway.example.com:4317
//!     tls: { ca_file: /etc/stratus/ca.pem }
//!     headers: { authorization: "Bearer ${env:TOKEN}" }
//!   otlphttp:
//!     endpoint: https://collector.example.com:4318
//!     encoding: json
//! ```

pub mod config;
pub mod factory;
pub mod http;

/// The gRPC sender, from the shared OTLP client crate (`stratus-otlp-client`).
pub use stratus_otlp_client::grpc;
/// Export responses and partial success, from the shared OTLP client crate.
pub use stratus_otlp_client::rpc;

pub use config::{Compression, Encoding, OtlpConfig, OtlpHttpConfig, TlsClientConfig};
pub use factory::{OtlpExporterFactory, OtlpHttpExporterFactory};
pub use grpc::GrpcSender;
pub use http::HttpSender;
