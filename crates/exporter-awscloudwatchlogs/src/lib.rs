//! The `awscloudwatchlogs` exporter: log records to CloudWatch Logs events, as the
//! collector's exporter writes them (contrib `exporter/awscloudwatchlogsexporter`),
//! sent with PutLogEvents through the shared
//! [`LogsPusher`](stratus_aws_common::cwlogs::pusher::LogsPusher).
//!
//! - [`AwsCloudWatchLogsExporterFactory`]: type `awscloudwatchlogs`, logs, beta;
//! - [`CloudWatchLogsConfig`]: upstream's keys and defaults;
//! - [`CloudWatchLogsSender`]: the exporter helper's sender (split before queueing,
//!   encode, send);
//! - [`Translator`]: the pure mapping of records to events.
//!
//! ```yaml
//! exporters:
//!   awscloudwatchlogs: { log_group_name: /aws/otel/traces, log_stream_name: otel-collector, region: us-east-1 }
//! ```
//!
//! The path of a batch:
//!
//! 1. [`Translator`] turns every record into an
//!    [`Event`](stratus_aws_common::cwlogs::Event) (upstream's JSON message, or the raw
//!    body with `raw_log: true`) and groups the events by destination stream (an EMF
//!    body may name its own);
//! 2. [`split_tagged`](stratus_aws_common::cwlogs::split_tagged) cuts them at AWS's
//!    PutLogEvents limits, dropping and counting events outside the accepted time
//!    window, and the sender cuts the *records* the same way
//!    ([`CloudWatchLogsSender`]'s `split`), one part per request;
//! 3. each part is queued, translated again, sent and retried on its own.
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

pub mod client;
pub mod config;
pub mod factory;
pub mod translate;

pub use client::CloudWatchLogsSender;
pub use config::CloudWatchLogsConfig;
pub use factory::AwsCloudWatchLogsExporterFactory;
pub use translate::{Route, TranslateError, Translated, Translator};
