//! The `awsemf` exporter (also registered as the product brief's `awscloudwatch`):
//! OTLP metrics to CloudWatch [Embedded Metric Format] log events, as upstream's
//! `exporter/awsemfexporter` writes them, sent with PutLogEvents through the
//! CloudWatch Logs pusher of `aws-common` (or printed, `output_destination: stdout`).
//!
//! - [`factory`]: [`AwsEmfExporterFactory`] (`awsemf`) and
//!   [`AwsCloudWatchExporterFactory`] (`awscloudwatch`, the same exporter);
//! - [`client`]: the [`EmfSender`] on the exporter helper: translation once per
//!   batch in `encode` (the delta state advances once, however many retries), the
//!   PutLogEvents calls in `send`;
//!
//! The translator's split mirrors upstream's files:
//! - [`config`]: the exporter's own keys ([`EmfConfig`]) with upstream's names and
//!   defaults, and their validation;
//! - `metric_declaration`: `metric_declarations` (selectors, label matchers,
//!   dimension sets);
//! - `datapoint`, `delta`: data point values, cumulative sums (and Prometheus
//!   summaries) to deltas in a bounded state, stale / NaN / Inf points dropped;
//! - `grouped_metric`: points grouped into events by labels, timestamp, metric type;
//! - `metric_translator`, `emf`: `CloudWatchMetrics` directives (dimension
//!   rollup, declarations) and the EMF JSON document (versions "1" and "0"),
//!   serialised with serde and `stratus_aws_common::gojson` as Go's
//!   `encoding/json` writes upstream's map: keys
//!   sorted, floats in Go's shortest form (`1`, `9e+36`), `<>&` escaped, `Unit`
//!   written even when empty:
//!
//! ```json
//! {"OTelLib":"io.opentelemetry.http","Version":"1",
//!  "_aws":{"CloudWatchMetrics":[{"Namespace":"OTLP/Metrics",
//!          "Dimensions":[["operation","service.name"]],
//!          "Metrics":[{"Name":"http.server.duration","Unit":"Milliseconds","StorageResolution":60}]}],
//!          "Timestamp":1668387032641},
//!  "http.server.duration":{"Max":9,"Min":1,"Count":3,"Sum":15},
//!  "operation":"GET","service.name":"checkout"}
//! ```
//!
//! - `util`: namespace, log group / stream placeholders, rollup.
//!
//! ```
//! use std::time::{Duration, SystemTime, UNIX_EPOCH};
//! use stratus_exporter_awsemf::{EmfConfig, EmfTranslator, MetricDeclarationConfig};
//! use stratus_testkit::otlp::*;
//!
//! let config = EmfConfig {
//!     namespace: "OTLP/Metrics".into(),
//!     metric_declarations: vec![MetricDeclarationConfig {
//!         dimensions: vec![vec!["service.name".into(), "operation".into()]],
//!         metric_name_selectors: vec!["^http\\..*".into(), "^rpc\\..*".into()],
//!         ..Default::default()
//!     }],
//!     ..Default::default()
//! };
//! let translator = EmfTranslator::new(&config, "otel-stream-1").unwrap();
//! let now = UNIX_EPOCH + Duration::from_millis(1_700_000_000_000);
//! let batch = metrics()
//!     .metric(gauge("http.server.active_requests")
//!         .point(number_point(3).attr("service.name", "checkout").attr("operation", "GET")))
//!     .resource_metrics();
//! let out = translator.translate(&batch, now);
//! assert_eq!(out.events[0].log_group_name, "/metrics/OTLP/Metrics");
//! assert!(out.events[0].message.contains(r#""Dimensions":[["operation","service.name"]"#));
//! ```
//!
//! [Embedded Metric Format]: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html

pub mod client;
pub mod config;
mod datapoint;
mod delta;
mod emf;
pub mod factory;
mod grouped_metric;
mod labels;
mod metric_declaration;
mod metric_translator;
mod translator;
mod util;

pub use client::{EmfRequest, EmfSender};
pub use config::{
    AwsEmfExporterConfig, DimensionRollupOption, EmfConfig, EmfVersion, LabelMatcherConfig,
    MetricDeclarationConfig, MetricDescriptorConfig, OutputDestination, ResourceToTelemetryConfig,
};
pub use datapoint::MAX_VALUES_PER_DATAPOINT;
pub use delta::{DEFAULT_MAX_SERIES, DEFAULT_SERIES_TTL, DeltaLimits};
pub use factory::{AwsCloudWatchExporterFactory, AwsEmfExporterFactory};
pub use metric_declaration::MAX_DIMENSION_SET_SIZE;
pub use metric_translator::{
    FIELD_PROMETHEUS_METRIC_TYPE, STANDARD_STORAGE_RESOLUTION, STORAGE_RESOLUTION_ATTRIBUTE,
};
pub use translator::{
    EmfEvent, EmfTranslator, Translation, TranslationStats, default_log_stream_name,
};
pub use util::{DEFAULT_NAMESPACE, OTEL_LIB_DIMENSION_KEY, PLACEHOLDERS, UNDEFINED};
