//! The `awscloudwatchlogs` exporter's pure parts: its config and the translation of
//! log records into CloudWatch Logs events, as the collector's exporter does them
//! (contrib `exporter/awscloudwatchlogsexporter`).
//!
//! Status: translator and config only; the exporter wiring (SDK client, factory,
//! group and stream creation, sending queue) is pending.
//!
//! ```yaml
//! exporters:
//!   awscloudwatchlogs: { log_group_name: /aws/otel/traces, log_stream_name: otel-collector, region: us-east-1 }
//! ```
//!
//! The path of a batch, once wired:
//!
//! 1. [`Translator::translate`] turns every record into an
//!    [`Event`](stratus_aws_common::cwlogs::Event) (upstream's JSON message, or the raw
//!    body with `raw_log: true`) and groups the events by destination stream (an EMF
//!    body may name its own);
//! 2. [`StreamBatches::split`](stratus_aws_common::cwlogs::StreamBatches::split) cuts
//!    them into PutLogEvents requests at AWS's limits, dropping and counting events
//!    outside the accepted time window;
//! 3. each request is queued, sent and retried on its own.
//!
//! ```
//! use stratus_aws_common::cwlogs::StreamKey;
//! use stratus_exporter_awscloudwatchlogs::Translator;
//! use stratus_testkit::otlp::{log, logs, SeverityNumber};
//!
//! let batch = logs()
//!     .resource([("host", "abc123")])
//!     .record(log("hello").severity(SeverityNumber::Info).time(1_700_000_000_000_000_000))
//!     .resource_logs();
//! let translator = Translator::new(StreamKey::new("/aws/otel/app", "collector"), false);
//! let split = translator.translate(&batch).batches.split(1_700_000_000_000);
//! assert_eq!(
//!     split.requests[0].events[0].message,
//!     r#"{"body":"hello","severity_number":9,"severity_text":"INFO","resource":{"host":"abc123"}}"#
//! );
//! ```

pub mod config;
pub mod translate;

pub use config::CloudWatchLogsConfig;
pub use translate::{Route, TranslateError, Translated, Translator};
