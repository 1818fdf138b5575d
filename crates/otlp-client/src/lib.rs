//! The OTLP/gRPC client every stratus component that sends OTLP over gRPC shares: the
//! `otlp_grpc` exporter and the `loadbalancing` exporter (one client per backend).
//!
//! - [`config::OtlpConfig`]: the collector's `otlp_grpc` exporter keys (`endpoint`,
//!   `tls`, `headers`, `compression`, `timeout`, `retry_on_failure`, `sending_queue`,
//!   `keepalive`, `balancer_name`, `auth`, `authority`, `wait_for_ready`,
//!   `read_buffer_size`, `write_buffer_size`, `user_agent`) with upstream's defaults.
//! - [`connect`]: TCP (to the host, or one of its addresses for `round_robin`), TLS,
//!   and the read/write buffers of a connection.
//! - [`grpc::GrpcSender`]: the exporter helper's [`stratus_exporter_helper::Sender`]
//!   for OTLP export requests over gRPC (tonic, rustls): a lazily connecting channel,
//!   one encoding per batch, the collector's classification of gRPC answers
//!   ([`grpc::classify_status`]).
//! - [`rpc`]: the export response with its partial success, shared with OTLP/HTTP.
//! - [`redact`]: configured header values scrubbed from errors (a destination may echo
//!   them), shared with OTLP/HTTP.
//!
//! This is a foundation crate: components depend on it, never on each other.
//!
//! ```no_run
//! # async fn demo(ctx: stratus_core::factory::BuildContext) -> Result<(), stratus_core::ComponentError> {
//! use stratus_otlp_client::{GrpcSender, OtlpConfig};
//! let config = OtlpConfig { endpoint: "http://127.0.0.1:4317".into(), ..OtlpConfig::default() };
//! let sender = GrpcSender::new(ctx.id.to_string(), &config)?;
//! let exporter = stratus_exporter_helper::try_build_exporter(&ctx, config.settings(), sender)?;
//! # let _ = exporter; Ok(()) }
//! ```

pub mod auth;
pub mod config;
pub mod connect;
pub mod grpc;
pub mod redact;
pub mod rpc;

pub use config::{Compression, GrpcTarget, KeepaliveConfig, OtlpConfig, TlsClientConfig};
pub use grpc::GrpcSender;
