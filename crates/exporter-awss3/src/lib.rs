//! The `awss3` exporter (traces, metrics, logs): each batch becomes one S3 object,
//! uploaded with `PutObject`, as the collector's exporter does it (contrib
//! `exporter/awss3exporter`).
//!
//! By default each batch is one object, as upstream. `sending_queue::batch`
//! aggregates small batches into larger objects (awss3's defaults: `bytes`, 8 MiB,
//! 60s; see [`config`]), uploads what it holds on shutdown, and with
//! `sending_queue::storage` keeps every batch on disk until its object was uploaded.
//!
//! - [`config`]: upstream's `s3uploader:` block and the product brief's flat keys,
//!   normalised to one [`S3Settings`] and checked at their key paths.
//! - [`partition`]: strftime partition formats and their time zone.
//! - [`key`]: `prefix/partition/<file_prefix><signal>_<unique>.<ext>[.gz|.zst]`, with a
//!   collision-free unique part made from inputs the caller passes (time, random bits).
//! - [`marshal`]: `otlp_json`, `otlp_proto`, `body`; gzip and zstd; content types.
//! - [`object`]: all of it together, [`S3Settings::object`].
//! - [`client`]: the [`S3Sender`] on `aws-sdk-s3` (PutObject, error classification).
//! - [`factory`]: [`AwsS3ExporterFactory`], type `awss3`.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use stratus_core::Signal;
//! use stratus_core::factory::decode_config;
//! use stratus_exporter_awss3::AwsS3Config;
//!
//! // The product brief's block.
//! let raw = serde_json::json!({
//!     "region": "us-east-1", "s3_bucket": "otel-traces-archive", "s3_prefix": "traces/",
//!     "s3_partition": "hour", "compression": "gzip", "marshaler": "otlp_json"
//! });
//! let settings = decode_config::<AwsS3Config>(&raw).unwrap().settings().unwrap();
//! let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_748_783_000);
//! let key = settings.key_builder(Signal::Traces).build_with_unique(at, "123456789");
//! assert_eq!(key, "traces/year=2025/month=06/day=01/hour=13/traces_123456789.json.gz");
//! ```

pub mod client;
pub mod config;
pub mod factory;
pub mod key;
pub mod marshal;
pub mod object;
pub mod partition;

pub use client::S3Sender;
pub use config::{
    Acl, AwsS3Config, LegacyPartition, S3BatchConfig, S3QueueConfig, S3Settings, S3UploaderConfig,
    StorageClass,
};
pub use factory::AwsS3ExporterFactory;
pub use key::{KeyBuilder, UniqueKeyFunc};
pub use marshal::{Compression, MarshalError, Marshaler};
pub use object::{ObjectError, S3Object};
pub use partition::{PartitionFormat, TimeZone};
