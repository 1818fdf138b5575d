//! The `otlp` receiver: OTLP over gRPC (port 4317) and HTTP (port 4318), with the
//! OpenTelemetry Collector's config keys and defaults.
//!
//! ```yaml
//! receivers:
//!   otlp:
//!     protocols:
//!       grpc: { endpoint: 0.0.0.0:4317 }
//!       http:            # present, even empty, means served with defaults
//! ```
//!
//! - gRPC: the `TraceService`, `MetricsService` and `LogsService` `Export` methods,
//!   requests compressed with gzip or zstd, responses compressed the way the client
//!   accepts. A signal that no pipeline takes answers `UNIMPLEMENTED`.
//! - HTTP/1.1 and HTTP/2 (h2c): `POST` to `/v1/traces`, `/v1/metrics`, `/v1/logs` with
//!   `application/x-protobuf` or `application/json` (OTLP/JSON) bodies, compressed
//!   with gzip, zstd, deflate, snappy or lz4; answers in the request's encoding.
//! - Refusals by the pipeline are reported so clients do the right thing: retryable
//!   errors as gRPC `UNAVAILABLE` / HTTP 503 (with `RetryInfo` / `Retry-After` when the
//!   pipeline asked for a delay), permanent ones as `INVALID_ARGUMENT` / HTTP 400.
//! - `auth.authenticator` on either protocol names an authenticator extension
//!   (`bearertokenauth`, `basicauth`, `oidc`) that checks every request by its
//!   headers before the body is read; failures answer `UNAUTHENTICATED` / 401 and
//!   are counted in `stratus_receiver_auth_failures{receiver, transport, reason}`.
//! - Counts `otelcol_receiver_accepted_*` and `otelcol_receiver_refused_*` per
//!   transport.
//!
//! [`OtlpReceiverFactory`] is what a stratus build registers; [`OtlpReceiver`] is the
//! running component, and [`Config`] its configuration.

mod auth;
pub mod config;
mod decoded;
mod factory;
mod grpc;
#[cfg(test)]
mod hostile;
mod http;
mod intake;
mod receiver;
mod server;
mod status;

pub use config::Config;
pub use factory::OtlpReceiverFactory;
pub use receiver::{DEFAULT_DRAIN_TIMEOUT, OtlpReceiver};
/// The name of the counter of authentication failures.
pub const AUTH_FAILURES_METRIC: &str = auth::AUTH_FAILURES;
pub use stratus_tls::TlsServerConfig;
