//! stratus's test kit: what component tests would otherwise write by hand.
//!
//! A dev-dependency only (`stratus-testkit = { workspace = true }` under
//! `[dev-dependencies]`); nothing here belongs in a running collector.
//!
//! - [`otlp`]: fluent builders for spans, every metric type and log records,
//!   grouped into resources and scopes, ending in a `Telemetry`, a `Payload`, an
//!   export request or its protobuf bytes; [`otlp::sample`] for "some data";
//!   [`otlp::PayloadExt`] to read items back.
//! - [`RecordingConsumer`]: a `Consumer` that records every batch, refuses on
//!   command (permanent, retryable, throttled; for the next N calls or until told
//!   otherwise), pauses, and waits for items with a deadline.
//! - [`http::RecordingHttpServer`]: an HTTP server on 127.0.0.1 that records each
//!   request with its body decompressed and answers from a script of
//!   [`http::Response`]s (status, headers such as `Retry-After`, body, delay);
//!   [`http::RecordingHttpServer::proxy`] puts it in front of a real server (moto),
//!   answering the script first and forwarding every other request verbatim.
//! - [`grpc::OtlpGrpcSink`]: the OTLP/gRPC trace, metrics and logs services,
//!   recording each export and answering OK or a scripted status.
//! - [`moto::Moto`]: a `moto_server` (the AWS mock) from the test virtualenv on
//!   127.0.0.1, for the AWS exporters' tests.
//! - [`conformance`]: the contract every component keeps, one line per component.
//! - [`net::free_port`], [`metric_value`], [`wait_until`]: free ports shared safely
//!   across test processes, reading internal metrics, bounded polling.
//! - `bench::ThreadCpuTime` (feature `bench`): a criterion measurement of the
//!   benchmark thread's CPU time.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::time::Duration;
//! use stratus_core::Consumer;
//! use stratus_testkit::RecordingConsumer;
//! use stratus_testkit::otlp::*;
//!
//! let sink = RecordingConsumer::new();
//! let batch = traces()
//!     .resource([("service.name", "api")])
//!     .span(span("GET /").attr("http.method", "GET").event("e"))
//!     .build();
//! sink.consume(batch).await.unwrap();
//! let got = sink.wait_for_items(1, Duration::from_secs(5)).await;
//! assert_eq!(got[0].span_names(), ["GET /"]);
//! # }
//! ```

#[cfg(feature = "bench")]
pub mod bench;
pub mod conformance;
mod consumer;
pub mod grpc;
pub mod http;
mod metrics;
pub mod moto;
pub mod net;
pub mod otlp;
mod recorder;
mod wait;

pub use consumer::RecordingConsumer;
pub use metrics::metric_value;
pub use wait::{DEFAULT_TIMEOUT, wait_until};
