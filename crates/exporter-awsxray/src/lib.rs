//! The `awsxray` exporter: OTLP spans → AWS X-Ray segment documents, as the
//! OpenTelemetry Collector's `awsxray` exporter writes them (contrib
//! `exporter/awsxrayexporter/internal/translator`), sent with `PutTraceSegments`.
//!
//! ```yaml
//! exporters:
//!   awsxray: { region: us-east-1, index_all_attributes: true, indexed_attributes: [http.method, http.status_code, error] }
//! ```
//!
//! - [`AwsXrayExporterFactory`] (`awsxray`, traces): config [`AwsXrayConfig`]
//!   (upstream's keys, the AWS session keys at the top level, and the helper's
//!   `timeout`, `retry_on_failure`, `sending_queue`);
//! - [`client::XraySender`]: one SDK client built at build time from
//!   `stratus_aws_common::session::load`; at most 50 documents per call; unprocessed
//!   documents retried alone; errors classified by
//!   `stratus_aws_common::errors::classify_sdk_error`; an auth failure logged once
//!   with the identity. Its metrics: the helper's `otelcol_exporter_*_spans`, plus
//!   `stratus_exporter_awsxray_dropped_spans`, `_shrunk_segments` and
//!   `_unprocessed_segments`.
//!
//! The modules follow upstream's files, one concern each, with their tests beside
//! them:
//!
//! | module | upstream | writes |
//! | --- | --- | --- |
//! | [`segment`] | `segment.go` `MakeSegment(s…)` | segment vs subsegment, `name`, `namespace`, `origin`, local-root split |
//! | `http` | `http.go` | `http` (old and new HTTP conventions, URL assembly) |
//! | [`cause`] | `cause.go` | `error`, `fault`, `throttle`, `cause` and the stack trace parsers |
//! | `aws` | `aws.go`, `service.go` | `aws` (EC2, ECS, EKS, Beanstalk, log groups, SDK call), `service` |
//! | `sql` | `sql.go` | `sql` (old and new DB conventions) |
//! | [`annotations`] | `segment.go` `makeXRayAttributes` | `annotations`, `metadata`, `user` |
//! | `span_links` | `span_links.go` | `links` |
//! | [`trace_id`] | `segment.go` `convertToAmazonTraceID` | `trace_id`, ids |
//! | [`model`] | `internal/aws/xray/tracesegment.go` | the document's types and JSON shape |
//! | [`document`] | `awsxray.go` | JSON, shrinking to 64 KB, batches of 50 |
//!
//! ```
//! use stratus_exporter_awsxray::{Translator, TranslatorConfig, batches};
//! use stratus_testkit::otlp::*;
//!
//! let translator = Translator::new(&TranslatorConfig {
//!     indexed_attributes: vec!["http.method".into()],
//!     ..TranslatorConfig::default()
//! });
//! let request = traces()
//!     .resource([("service.name", "checkout")])
//!     .span(span("GET /cart").kind(SpanKind::Server).attr("http.method", "GET"))
//!     .request();
//! let translation = translator.translate(&request.resource_spans);
//! assert!(translation.failures.is_empty());
//! let doc: serde_json::Value = serde_json::from_str(&translation.documents[0].json).unwrap();
//! assert_eq!(doc["name"], "checkout");
//! assert_eq!(doc["annotations"]["http.method"], "GET");
//! assert_eq!(batches(&translation.documents).count(), 1);
//! ```
//!
//! Behaviour is upstream's as of v0.147 unless a module says otherwise; the
//! differences, all deliberate:
//! - both the old and the new HTTP and database semantic conventions are read (as
//!   upstream with its `EmitV1…Conventions` feature gates on);
//! - exception ids and the service segment id of a split local root are derived
//!   from the span instead of drawn at random, so a retry sends the same document;
//! - a document over 64 KB is shrunk ([`document`]) instead of being refused by
//!   X-Ray;
//! - where upstream would panic on a malformed stack trace, or fail a span over a
//!   non-finite double, the translator reads an empty string or writes `null`.

pub mod annotations;
mod attrs;
mod aws;
pub mod cause;
pub mod client;
pub mod config;
pub mod document;
pub mod factory;
mod http;
pub mod model;
pub mod segment;
mod span_links;
mod sql;
pub mod trace_id;
pub mod translate;

#[cfg(test)]
mod test_support;

pub use client::XraySender;
pub use config::{AwsXrayConfig, TranslatorConfig, XrayTelemetryConfig};
pub use document::{
    MAX_SEGMENT_DOCUMENT_BYTES, MAX_SEGMENTS_PER_PUT, SegmentDocument, ShrinkReport, batches,
    encode_segment,
};
pub use factory::AwsXrayExporterFactory;
pub use model::Segment;
pub use translate::{SpanFailure, Translation, Translator};

/// Why a span gave no document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    /// A trace id (of the span or of one of its links) is neither empty nor 16 bytes.
    #[error("trace id of {len} bytes; OTLP trace ids are 16 bytes")]
    InvalidTraceId {
        /// Its length.
        len: usize,
    },
    /// A span or parent span id is neither empty nor 8 bytes.
    #[error("span id of {len} bytes; OTLP span ids are 8 bytes")]
    InvalidSpanId {
        /// Its length.
        len: usize,
    },
    /// The document is over X-Ray's size limit even after shrinking.
    #[error(
        "segment document of {bytes} bytes after shrinking; X-Ray takes at most {} bytes",
        MAX_SEGMENT_DOCUMENT_BYTES
    )]
    DocumentTooLarge {
        /// Its size after shrinking.
        bytes: usize,
    },
    /// JSON encoding failed (not expected: every value the translator writes encodes).
    #[error("encoding the segment document: {0}")]
    Encode(String),
}
