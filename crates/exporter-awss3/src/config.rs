//! The `awss3` exporter's config, in both forms, normalised to one [`S3Settings`].
//!
//! Upstream's form (contrib `exporter/awss3exporter/config.go` at 6af8dea,
//! `config.schema.yaml` at 8e7ccd6, defaults from `factory.go` at 9289da3) nests the
//! bucket settings under `s3uploader:`:
//!
//! ```yaml
//! exporters:
//!   awss3:
//!     s3uploader: { region: eu-west-1, s3_bucket: telemetry, s3_prefix: traces, compression: gzip }
//!     marshaler: otlp_proto
//! ```
//!
//! The product brief's form puts a few of those keys at the top level and partitions
//! by `s3_partition: minute|hour` (upstream's older key, `s3_writer.go` at 770f840):
//!
//! ```yaml
//! exporters:
//!   awss3: { region: us-east-1, s3_bucket: otel-traces-archive, s3_prefix: traces/, s3_partition: hour, compression: gzip, marshaler: otlp_json }
//! ```
//!
//! A config uses one form or the other; mixing them is reported at each flat key.
//! `s3_partition` is also accepted inside `s3uploader` (older upstream configs), but
//! not together with `s3_partition_format`.
//!
//! Beside either form sit the exporter helper's `timeout` (5s), `sending_queue`
//! (upstream's default: disabled, so a batch is uploaded in the caller's task) and
//! `retry_on_failure`, and the AWS session keys stratus's AWS exporters share
//! (`profile`, `shared_credentials_file`, `external_id`, `request_timeout_seconds`,
//! `local_mode`); the region, endpoint and role come from the bucket settings
//! ([`AwsS3Config::session`]). Upstream's `encoding` / `encoding_file_extension`
//! (encoding extensions) and `resource_attrs_to_s3` are not supported; a config using
//! them is refused as having unknown keys.
//!
//! ## Aggregating small objects
//!
//! By default each batch the exporter receives is one object, as upstream. Tiny
//! objects cost money (S3 bills per PUT), so `sending_queue::batch` aggregates: queued
//! batches are merged until the merged batch holds `min_size` or its first item waited
//! `flush_timeout`, and the merged batch is one PutObject. The key's partition time is
//! taken at upload, so one merged batch is one object in one partition.
//!
//! ```yaml
//! exporters:
//!   awss3:
//!     s3uploader: { region: us-east-1, s3_bucket: otel-traces-archive, compression: gzip }
//!     sending_queue:
//!       batch: {}    # awss3's defaults: sizer bytes, min_size 8 MiB, flush_timeout 60s
//! ```
//!
//! These are awss3's own defaults for a written `batch` section ([`S3BatchConfig`]),
//! not the helper's 200ms / 8192 items, which would still make small objects. On
//! shutdown whatever is being aggregated is uploaded at once. With a persistent queue
//! (`sending_queue::storage`) a queued batch leaves the disk only once the object
//! holding it was uploaded, so a crash loses nothing: the next start uploads it.

use std::time::Duration;

use serde::Deserialize;
use stratus_aws_common::session::{
    AwsSessionConfig, DEFAULT_MAX_RETRIES, DEFAULT_NUM_WORKERS, DEFAULT_REQUEST_TIMEOUT_SECONDS,
};
use stratus_core::Signal;
use stratus_core::factory::{ConfigProblem, Validate};
use stratus_exporter_helper::config::{DEFAULT_TIMEOUT, validate_shared};
use stratus_exporter_helper::{
    BatchConfig, ExporterSettings, PartitionConfig, QueueConfig, RetryConfig, Sizer, WhenFull,
};

use crate::key::{KeyBuilder, UniqueKeyFunc};
use crate::marshal::{Compression, Marshaler};
use crate::partition::{
    DEFAULT_PARTITION_FORMAT, HOUR_PARTITION_FORMAT, PartitionFormat, TimeZone,
};

/// Upstream's default region.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The legacy partition granularity (`s3_partition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LegacyPartition {
    /// `year=%Y/month=%m/day=%d/hour=%H/minute=%M`.
    Minute,
    /// `year=%Y/month=%m/day=%d/hour=%H`.
    Hour,
}

impl LegacyPartition {
    /// The strftime format this granularity stands for.
    pub fn format(&self) -> &'static str {
        match self {
            LegacyPartition::Minute => DEFAULT_PARTITION_FORMAT,
            LegacyPartition::Hour => HOUR_PARTITION_FORMAT,
        }
    }
}

/// S3 storage classes upstream accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub enum StorageClass {
    /// `STANDARD`, the default.
    #[default]
    #[serde(rename = "STANDARD")]
    Standard,
    /// `STANDARD_IA`.
    #[serde(rename = "STANDARD_IA")]
    StandardIa,
    /// `ONEZONE_IA`.
    #[serde(rename = "ONEZONE_IA")]
    OnezoneIa,
    /// `INTELLIGENT_TIERING`.
    #[serde(rename = "INTELLIGENT_TIERING")]
    IntelligentTiering,
    /// `GLACIER`.
    #[serde(rename = "GLACIER")]
    Glacier,
    /// `DEEP_ARCHIVE`.
    #[serde(rename = "DEEP_ARCHIVE")]
    DeepArchive,
}

impl StorageClass {
    /// The value of PutObject's `StorageClass`.
    pub fn as_str(&self) -> &'static str {
        match self {
            StorageClass::Standard => "STANDARD",
            StorageClass::StandardIa => "STANDARD_IA",
            StorageClass::OnezoneIa => "ONEZONE_IA",
            StorageClass::IntelligentTiering => "INTELLIGENT_TIERING",
            StorageClass::Glacier => "GLACIER",
            StorageClass::DeepArchive => "DEEP_ARCHIVE",
        }
    }
}

/// S3 canned ACLs upstream accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Acl {
    /// No ACL sent (also written `""`). The default: the bucket's own settings apply.
    #[default]
    #[serde(alias = "")]
    None,
    /// `private`.
    Private,
    /// `public-read`.
    PublicRead,
    /// `public-read-write`.
    PublicReadWrite,
    /// `authenticated-read`.
    AuthenticatedRead,
    /// `aws-exec-read`.
    AwsExecRead,
    /// `bucket-owner-read`.
    BucketOwnerRead,
    /// `bucket-owner-full-control`.
    BucketOwnerFullControl,
}

impl Acl {
    /// The value of PutObject's `ACL`, or `None` to send none.
    pub fn as_str(&self) -> Option<&'static str> {
        Some(match self {
            Acl::None => return None,
            Acl::Private => "private",
            Acl::PublicRead => "public-read",
            Acl::PublicReadWrite => "public-read-write",
            Acl::AuthenticatedRead => "authenticated-read",
            Acl::AwsExecRead => "aws-exec-read",
            Acl::BucketOwnerRead => "bucket-owner-read",
            Acl::BucketOwnerFullControl => "bucket-owner-full-control",
        })
    }
}

/// Upstream's `s3uploader:` block.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3UploaderConfig {
    /// The bucket's region. Default `us-east-1` (upstream's default).
    pub region: String,
    /// The bucket. Required unless `endpoint` is set. Default: empty.
    pub s3_bucket: String,
    /// Key prefix ("directory") inside the bucket; a trailing `/` is fine. Default:
    /// empty.
    pub s3_prefix: String,
    /// Key prefix before `s3_prefix`. Default: empty.
    pub s3_base_prefix: String,
    /// The time partition of keys, in strftime form (see [`crate::partition`]).
    /// Default `year=%Y/month=%m/day=%d/hour=%H/minute=%M`.
    pub s3_partition_format: Option<String>,
    /// Upstream's older way to say the partition: `minute` or `hour`. Not together
    /// with `s3_partition_format`. Default: absent.
    pub s3_partition: Option<LegacyPartition>,
    /// The time zone of partitions: `UTC`, a fixed offset (`+02:00`) or `Etc/GMT-2`.
    /// Default: empty, which is UTC (upstream: the host's zone).
    pub s3_partition_timezone: String,
    /// Prefix of each object's file name. Default: empty.
    pub file_prefix: String,
    /// The S3 endpoint to use instead of the region's (`http://127.0.0.1:9000` for an
    /// S3-compatible store). Default: empty.
    pub endpoint: String,
    /// Address buckets in the path (`endpoint/bucket/key`) instead of the host name.
    /// Default `false`.
    pub s3_force_path_style: bool,
    /// Use `http` instead of `https` for an `endpoint` without a scheme. Default
    /// `false`.
    pub disable_ssl: bool,
    /// The objects' storage class. Default `STANDARD`.
    pub storage_class: StorageClass,
    /// A canned ACL for the objects. Default: none.
    pub acl: Acl,
    /// `gzip`, `zstd` or none. Default: none.
    pub compression: Compression,
    /// An IAM role to assume. Default: empty.
    pub role_arn: String,
    /// How the unique part of keys is made: `uuidv7` or `random` (upstream's 9-digit
    /// number, which may collide across a fleet). Default: empty, which is `uuidv7`
    /// (upstream: `random`).
    pub unique_key_func_name: String,
    /// Accepted for compatibility (`standard`, `adaptive`, `nop`); stratus turns the
    /// SDK's own retries off and retries with the exporter helper. Default `standard`.
    pub retry_mode: String,
    /// Accepted for compatibility; see `retry_mode`. Default `3`.
    pub retry_max_attempts: i64,
    /// Accepted for compatibility; see `retry_mode`. Default `20s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub retry_max_backoff: Duration,
}

impl Default for S3UploaderConfig {
    fn default() -> Self {
        S3UploaderConfig {
            region: DEFAULT_REGION.to_string(),
            s3_bucket: String::new(),
            s3_prefix: String::new(),
            s3_base_prefix: String::new(),
            s3_partition_format: None,
            s3_partition: None,
            s3_partition_timezone: String::new(),
            file_prefix: String::new(),
            endpoint: String::new(),
            s3_force_path_style: false,
            disable_ssl: false,
            storage_class: StorageClass::Standard,
            acl: Acl::None,
            compression: Compression::None,
            role_arn: String::new(),
            unique_key_func_name: String::new(),
            retry_mode: "standard".to_string(),
            retry_max_attempts: 3,
            retry_max_backoff: Duration::from_secs(20),
        }
    }
}

/// awss3's default `sending_queue::batch::min_size`: 8 MiB of OTLP protobuf, before
/// marshaling and compression.
pub const DEFAULT_AGGREGATE_MIN_SIZE: usize = 8 * 1024 * 1024;

/// awss3's default `sending_queue::batch::flush_timeout`: at most one object a minute
/// per exporter when little data flows.
pub const DEFAULT_AGGREGATE_FLUSH_TIMEOUT: Duration = Duration::from_secs(60);

/// `sending_queue::batch` of `awss3`: aggregation of queued batches into larger
/// objects. The keys are the exporter helper's (`BatchConfig`); the defaults are
/// awss3's own, sized for objects rather than for requests.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3BatchConfig {
    /// `false` turns a written `batch` section off again. Default `true`: a `batch`
    /// section (even `batch:` with no body) turns aggregation on.
    pub enabled: bool,
    /// Upload an object this long after its first item arrived, however small it is.
    /// Must be greater than 0. Default `60s` (the helper's default is `200ms`).
    #[serde(with = "stratus_core::confval::duration")]
    pub flush_timeout: Duration,
    /// Upload once the merged batch holds at least this much, in units of `sizer`.
    /// Default `8388608` (8 MiB with the default `bytes` sizer; the helper's default
    /// is 8192 items).
    pub min_size: usize,
    /// Split merged batches larger than this, at item boundaries, into several
    /// objects, in units of `sizer`; `0` = no maximum. When set, at least `min_size`.
    /// Default `0`.
    pub max_size: usize,
    /// What `min_size` and `max_size` count: `bytes` (of the batch encoded as OTLP
    /// protobuf, before marshaling and compression) or `items` (spans, data points,
    /// log records). Default `bytes` (the helper inherits the queue's sizer instead).
    pub sizer: Sizer,
    /// Separate objects per request metadata (`metadata_keys`). Default: none.
    pub partition: PartitionConfig,
}

impl Default for S3BatchConfig {
    fn default() -> Self {
        S3BatchConfig {
            enabled: true,
            flush_timeout: DEFAULT_AGGREGATE_FLUSH_TIMEOUT,
            min_size: DEFAULT_AGGREGATE_MIN_SIZE,
            max_size: 0,
            sizer: Sizer::Bytes,
            partition: PartitionConfig::default(),
        }
    }
}

/// `batch:` with no body is the section with awss3's defaults.
fn s3_batch_section<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<S3BatchConfig>, D::Error> {
    Ok(Some(
        Option::<S3BatchConfig>::deserialize(d)?.unwrap_or_default(),
    ))
}

/// `sending_queue` of `awss3`: the exporter helper's queue keys with their defaults
/// (see `stratus_exporter_helper::QueueConfig`), and a `batch` section with awss3's
/// aggregation defaults ([`S3BatchConfig`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3QueueConfig {
    /// Whether to queue. Without a queue a batch is uploaded in the caller's task and
    /// its failure returned to the caller. Default `true` once a `sending_queue` block
    /// is written; without the block the queue is off (upstream's default).
    pub enabled: bool,
    /// Uploads running in parallel. Default `10`.
    pub num_consumers: usize,
    /// Capacity, in units of `sizer`. With `storage` and `batch`, what is being
    /// aggregated stays in the queue until uploaded, so leave room for several
    /// `min_size`s. Default `1000`.
    pub queue_size: usize,
    /// What the queue counts: `requests`, `items` or `bytes`. Default `requests`.
    pub sizer: Sizer,
    /// When full, make the caller wait for room instead of refusing its data.
    /// Default `false`.
    pub block_on_overflow: bool,
    /// What a full queue does with new data: `refuse`, `drop` or `block`. Default
    /// (unset): `block` when `block_on_overflow` is true, else `refuse`.
    pub when_full: Option<WhenFull>,
    /// Make the caller wait until its data was uploaded, and return the upload's
    /// error. Not with `storage`. Default `false`.
    pub wait_for_result: bool,
    /// A storage extension id (`file_storage/name`) for a queue that survives
    /// restarts and crashes. Default: none (in memory).
    pub storage: Option<String>,
    /// Aggregation of queued batches into larger objects. Default: absent (off: one
    /// object per batch); `batch: {}` or `batch:` turn it on with awss3's defaults.
    #[serde(deserialize_with = "s3_batch_section")]
    pub batch: Option<S3BatchConfig>,
}

impl Default for S3QueueConfig {
    fn default() -> Self {
        let q = QueueConfig::default();
        S3QueueConfig {
            enabled: q.enabled,
            num_consumers: q.num_consumers,
            queue_size: q.queue_size,
            sizer: q.sizer,
            block_on_overflow: q.block_on_overflow,
            when_full: q.when_full,
            wait_for_result: q.wait_for_result,
            storage: q.storage,
            batch: None,
        }
    }
}

impl S3QueueConfig {
    /// The exporter helper's queue config for this one.
    pub fn to_queue(&self) -> QueueConfig {
        QueueConfig {
            enabled: self.enabled,
            num_consumers: self.num_consumers,
            queue_size: self.queue_size,
            sizer: self.sizer,
            block_on_overflow: self.block_on_overflow,
            when_full: self.when_full,
            wait_for_result: self.wait_for_result,
            storage: self.storage.clone(),
            batch: self.batch.as_ref().map(|b| BatchConfig {
                enabled: b.enabled,
                flush_timeout: b.flush_timeout,
                min_size: b.min_size,
                max_size: b.max_size,
                sizer: Some(b.sizer),
                partition: b.partition.clone(),
            }),
        }
    }
}

/// The config of the `awss3` exporter: upstream's `s3uploader:` block, or the
/// product brief's flat keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsS3Config {
    /// Upstream's form: the bucket settings. Default: absent.
    pub s3uploader: Option<S3UploaderConfig>,
    /// `otlp_json`, `otlp_proto` or `body` (logs only). Default `otlp_json`.
    pub marshaler: Marshaler,
    /// Flat form: `s3uploader::region`. Default: absent.
    pub region: Option<String>,
    /// Flat form: `s3uploader::s3_bucket`. Default: absent.
    pub s3_bucket: Option<String>,
    /// Flat form: `s3uploader::s3_prefix`. Default: absent.
    pub s3_prefix: Option<String>,
    /// Flat form: `minute` or `hour`. Default: absent (`minute`).
    pub s3_partition: Option<LegacyPartition>,
    /// Flat form: `s3uploader::compression`. Default: absent.
    pub compression: Option<Compression>,
    /// Flat form: `s3uploader::endpoint`. Default: absent.
    pub endpoint: Option<String>,
    /// Flat form: `s3uploader::s3_force_path_style`. Default: absent.
    pub s3_force_path_style: Option<bool>,
    /// Flat form: `s3uploader::disable_ssl`. Default: absent.
    pub disable_ssl: Option<bool>,
    /// AWS session (either form): the shared-config profile. Default empty:
    /// `AWS_PROFILE`, else `default`.
    pub profile: String,
    /// AWS session (either form): shared credentials files replacing
    /// `~/.aws/credentials`. Default: none.
    pub shared_credentials_file: Vec<String>,
    /// AWS session (either form): the external id for assuming `role_arn`. Default
    /// empty.
    pub external_id: String,
    /// AWS session (either form): seconds one PutObject attempt may take; `0` for no
    /// limit (`timeout` still bounds a request). Default 30.
    pub request_timeout_seconds: u64,
    /// AWS session (either form): running outside EC2, the region is not looked up in
    /// IMDS. Default `false`.
    pub local_mode: bool,
    /// How long one attempt of a request (one PutObject) may take; `0` for no limit.
    /// Default `5s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub timeout: Duration,
    /// Retries of failed uploads. Default: enabled, 5s initial, 30s max, 300s total.
    pub retry_on_failure: RetryConfig,
    /// The sending queue, and with its `batch` section the aggregation of small
    /// batches into larger objects ([`S3QueueConfig`]). Default: disabled (upstream's
    /// default), so each batch is one object uploaded in the caller's task; a written
    /// block without `enabled` turns it on with the helper's defaults (10 consumers,
    /// 1000 requests), still one object per batch unless it has a `batch` section.
    pub sending_queue: S3QueueConfig,
}

impl Default for AwsS3Config {
    fn default() -> Self {
        AwsS3Config {
            s3uploader: None,
            marshaler: Marshaler::OtlpJson,
            region: None,
            s3_bucket: None,
            s3_prefix: None,
            s3_partition: None,
            compression: None,
            endpoint: None,
            s3_force_path_style: None,
            disable_ssl: None,
            profile: String::new(),
            shared_credentials_file: Vec::new(),
            external_id: String::new(),
            request_timeout_seconds: DEFAULT_REQUEST_TIMEOUT_SECONDS,
            local_mode: false,
            timeout: DEFAULT_TIMEOUT,
            retry_on_failure: RetryConfig::default(),
            sending_queue: S3QueueConfig {
                enabled: false,
                ..S3QueueConfig::default()
            },
        }
    }
}

/// The normalised settings of one `awss3` exporter, whichever form the config used.
#[derive(Debug, Clone, PartialEq)]
pub struct S3Settings {
    /// The bucket's region.
    pub region: String,
    /// The bucket (may be empty with an `endpoint`).
    pub bucket: String,
    /// `s3_base_prefix`.
    pub base_prefix: String,
    /// `s3_prefix`.
    pub prefix: String,
    /// The time partition.
    pub partition: PartitionFormat,
    /// Its time zone.
    pub timezone: TimeZone,
    /// `file_prefix`.
    pub file_prefix: String,
    /// The endpoint override, empty for the region's.
    pub endpoint: String,
    /// Path-style bucket addressing.
    pub force_path_style: bool,
    /// `http` for an endpoint without a scheme.
    pub disable_ssl: bool,
    /// The storage class.
    pub storage_class: StorageClass,
    /// The canned ACL.
    pub acl: Acl,
    /// The compression.
    pub compression: Compression,
    /// The role to assume, empty for none.
    pub role_arn: String,
    /// How unique key parts are made.
    pub unique_key: UniqueKeyFunc,
    /// The marshaler.
    pub marshaler: Marshaler,
}

impl S3Settings {
    /// The key builder for `signal` objects.
    pub fn key_builder(&self, signal: Signal) -> KeyBuilder {
        KeyBuilder {
            prefixes: [self.base_prefix.clone(), self.prefix.clone()],
            partition: self.partition.clone(),
            timezone: self.timezone.clone(),
            file_prefix: self.file_prefix.clone(),
            signal,
            extension: self.marshaler.extension(),
            compression: self.compression,
            unique: self.unique_key,
        }
    }

    /// The endpoint URL to give the SDK, if overridden: `endpoint` as written when it
    /// has a scheme, else with `https://` (`http://` with `disable_ssl`).
    pub fn endpoint_url(&self) -> Option<String> {
        if self.endpoint.is_empty() {
            return None;
        }
        if self.endpoint.contains("://") {
            return Some(self.endpoint.clone());
        }
        let scheme = if self.disable_ssl { "http" } else { "https" };
        Some(format!("{scheme}://{}", self.endpoint))
    }
}

impl AwsS3Config {
    /// Whether the config uses the brief's flat keys.
    fn flat_keys(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        let mut note = |set: bool, key: &'static str| {
            if set {
                keys.push(key);
            }
        };
        note(self.region.is_some(), "region");
        note(self.s3_bucket.is_some(), "s3_bucket");
        note(self.s3_prefix.is_some(), "s3_prefix");
        note(self.s3_partition.is_some(), "s3_partition");
        note(self.compression.is_some(), "compression");
        note(self.endpoint.is_some(), "endpoint");
        note(self.s3_force_path_style.is_some(), "s3_force_path_style");
        note(self.disable_ssl.is_some(), "disable_ssl");
        keys
    }

    /// The flat keys as an `s3uploader` block.
    fn flat_as_uploader(&self) -> S3UploaderConfig {
        let d = S3UploaderConfig::default();
        S3UploaderConfig {
            region: self.region.clone().unwrap_or(d.region.clone()),
            s3_bucket: self.s3_bucket.clone().unwrap_or_default(),
            s3_prefix: self.s3_prefix.clone().unwrap_or_default(),
            s3_partition: self.s3_partition,
            compression: self.compression.unwrap_or_default(),
            endpoint: self.endpoint.clone().unwrap_or_default(),
            s3_force_path_style: self.s3_force_path_style.unwrap_or_default(),
            disable_ssl: self.disable_ssl.unwrap_or_default(),
            ..d
        }
    }

    /// The normalised settings, or every problem found (each at its key path).
    pub fn settings(&self) -> Result<S3Settings, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let flat = self.flat_keys();
        let (uploader, base) = match &self.s3uploader {
            Some(u) => {
                for key in &flat {
                    problems.push(ConfigProblem::new(
                        *key,
                        format!(
                            "the flat `{key}` key and an `s3uploader:` block cannot be mixed: \
                             move it to `s3uploader::{key}`"
                        ),
                    ));
                }
                (u.clone(), "s3uploader::")
            }
            None if !flat.is_empty() => (self.flat_as_uploader(), ""),
            None => (S3UploaderConfig::default(), "s3uploader::"),
        };
        let path = |key: &str| format!("{base}{key}");

        if uploader.region.trim().is_empty() {
            problems.push(ConfigProblem::new(path("region"), "region is required"));
        }
        if uploader.s3_bucket.is_empty() && uploader.endpoint.is_empty() {
            problems.push(ConfigProblem::new(
                path("s3_bucket"),
                "bucket or endpoint is required",
            ));
        }
        let format = match (&uploader.s3_partition_format, uploader.s3_partition) {
            (Some(_), Some(_)) => {
                problems.push(ConfigProblem::new(
                    path("s3_partition"),
                    "set `s3_partition_format` or the older `s3_partition`, not both",
                ));
                DEFAULT_PARTITION_FORMAT
            }
            (Some(f), None) => f.as_str(),
            (None, Some(p)) => p.format(),
            (None, None) => DEFAULT_PARTITION_FORMAT,
        };
        let partition = PartitionFormat::parse(format).unwrap_or_else(|e| {
            let key = if uploader.s3_partition_format.is_some() {
                "s3_partition_format"
            } else {
                "s3_partition"
            };
            problems.push(ConfigProblem::new(path(key), e.to_string()));
            // A placeholder so the other checks still run; the config is refused.
            PartitionFormat::default()
        });
        let timezone = TimeZone::parse(&uploader.s3_partition_timezone).unwrap_or_else(|e| {
            problems.push(ConfigProblem::new(
                path("s3_partition_timezone"),
                e.to_string(),
            ));
            TimeZone::utc()
        });
        let unique_key = match uploader.unique_key_func_name.as_str() {
            "" | "uuidv7" => UniqueKeyFunc::UuidV7,
            "random" => UniqueKeyFunc::Random,
            other => {
                problems.push(ConfigProblem::new(
                    path("unique_key_func_name"),
                    format!("unknown unique key function `{other}`: use `uuidv7` or `random`"),
                ));
                UniqueKeyFunc::UuidV7
            }
        };
        if !["standard", "adaptive", "nop"].contains(&uploader.retry_mode.as_str()) {
            problems.push(ConfigProblem::new(
                path("retry_mode"),
                format!(
                    "unknown retry mode `{}`: use `standard`, `adaptive` or `nop`",
                    uploader.retry_mode
                ),
            ));
        }
        if uploader.retry_max_attempts < 0 {
            problems.push(ConfigProblem::new(
                path("retry_max_attempts"),
                "must not be negative",
            ));
        }
        if self.marshaler == Marshaler::SumoIc {
            problems.push(ConfigProblem::new(
                "marshaler",
                "`sumo_ic` is not supported by stratus: use `otlp_json`, `otlp_proto` or `body`",
            ));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(S3Settings {
            region: uploader.region,
            bucket: uploader.s3_bucket,
            base_prefix: uploader.s3_base_prefix,
            prefix: uploader.s3_prefix,
            partition,
            timezone,
            file_prefix: uploader.file_prefix,
            endpoint: uploader.endpoint,
            force_path_style: uploader.s3_force_path_style,
            disable_ssl: uploader.disable_ssl,
            storage_class: uploader.storage_class,
            acl: uploader.acl,
            compression: uploader.compression,
            role_arn: uploader.role_arn,
            unique_key,
            marshaler: self.marshaler,
        })
    }
}

impl AwsS3Config {
    /// The AWS session for `settings` (this config's [`AwsS3Config::settings`]): its
    /// region, endpoint URL and role, plus the session keys of this config.
    pub fn session(&self, settings: &S3Settings) -> AwsSessionConfig {
        AwsSessionConfig {
            region: settings.region.clone(),
            endpoint: settings.endpoint_url().unwrap_or_default(),
            role_arn: settings.role_arn.clone(),
            external_id: self.external_id.clone(),
            profile: self.profile.clone(),
            shared_credentials_file: self.shared_credentials_file.clone(),
            request_timeout_seconds: self.request_timeout_seconds,
            max_retries: DEFAULT_MAX_RETRIES,
            num_workers: DEFAULT_NUM_WORKERS,
            no_verify_ssl: false,
            proxy_address: String::new(),
            local_mode: self.local_mode,
            resource_arn: String::new(),
            certificate_file_path: String::new(),
            imds_retries: 0,
        }
    }

    /// The helper settings from `timeout`, `retry_on_failure` and `sending_queue`.
    pub fn exporter_settings(&self) -> ExporterSettings {
        ExporterSettings {
            timeout: self.timeout,
            retry: self.retry_on_failure.clone(),
            queue: self.sending_queue.to_queue(),
        }
    }
}

impl Validate for AwsS3Config {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = match self.settings() {
            Ok(settings) => {
                // The bucket keys sit under `s3uploader::` in upstream's form.
                let base = if self.s3uploader.is_some() {
                    "s3uploader::"
                } else {
                    ""
                };
                self.session(&settings)
                    .problems_at("")
                    .into_iter()
                    .map(|mut p| {
                        if ["region", "endpoint", "role_arn"].contains(&p.path.as_str()) {
                            p.path = format!("{base}{}", p.path);
                        }
                        p
                    })
                    .collect()
            }
            Err(problems) => problems,
        };
        problems.extend(validate_shared(
            &self.retry_on_failure,
            &self.sending_queue.to_queue(),
        ));
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use stratus_core::factory::decode_config;

    fn settings(v: Value) -> S3Settings {
        decode_config::<AwsS3Config>(&v)
            .unwrap()
            .settings()
            .unwrap()
    }

    fn problems(v: Value) -> Vec<(String, String)> {
        decode_config::<AwsS3Config>(&v)
            .unwrap_err()
            .into_iter()
            .map(|p| (p.path, p.message))
            .collect()
    }

    // Upstream TestLoadConfig (default.yaml): the defaults.
    #[test]
    fn upstream_defaults() {
        let s = settings(json!({"s3uploader": {"s3_bucket": "foo"}}));
        assert_eq!(s.region, "us-east-1");
        assert_eq!(s.bucket, "foo");
        assert_eq!(s.partition.as_str(), DEFAULT_PARTITION_FORMAT);
        assert_eq!(s.timezone, TimeZone::utc());
        assert_eq!(s.storage_class, StorageClass::Standard);
        assert_eq!(s.acl, Acl::None);
        assert_eq!(s.compression, Compression::None);
        assert_eq!(s.marshaler, Marshaler::OtlpJson);
        assert_eq!(s.unique_key, UniqueKeyFunc::UuidV7);
        assert_eq!(
            (
                s.prefix.as_str(),
                s.base_prefix.as_str(),
                s.file_prefix.as_str()
            ),
            ("", "", "")
        );
        assert!(!s.force_path_style && !s.disable_ssl);
        assert_eq!(s.endpoint_url(), None);
        let d = S3UploaderConfig::default();
        assert_eq!(
            (
                d.retry_mode.as_str(),
                d.retry_max_attempts,
                d.retry_max_backoff
            ),
            ("standard", 3, Duration::from_secs(20))
        );
    }

    // Upstream TestConfig (config.yaml), TestConfigS3StorageClass, TestConfigS3ACL,
    // TestConfigForS3CompatibleSystems, TestMarshallerName, TestCompressionName.
    #[test]
    fn upstream_form_table() {
        let s = settings(json!({"s3uploader": {
            "region": "us-east-1", "s3_bucket": "foo", "s3_prefix": "bar",
            "s3_partition_format": "year=%Y/month=%m/day=%d/hour=%H/minute=%M",
            "s3_partition_timezone": "+01:00", "endpoint": "http://endpoint.com"
        }}));
        assert_eq!((s.bucket.as_str(), s.prefix.as_str()), ("foo", "bar"));
        assert_eq!(s.timezone, TimeZone::fixed(3600));
        assert_eq!(s.endpoint_url().as_deref(), Some("http://endpoint.com"));

        let s =
            settings(json!({"s3uploader": {"s3_bucket": "foo", "storage_class": "STANDARD_IA"}}));
        assert_eq!(s.storage_class.as_str(), "STANDARD_IA");
        let s = settings(json!({"s3uploader": {"s3_bucket": "foo", "acl": "bucket-owner-read"}}));
        assert_eq!(s.acl.as_str(), Some("bucket-owner-read"));
        let s = settings(json!({"s3uploader": {"s3_bucket": "foo", "acl": ""}}));
        assert_eq!(s.acl.as_str(), None);

        let s = settings(json!({"s3uploader": {
            "s3_bucket": "foo", "s3_prefix": "bar", "endpoint": "alternative-s3-system.example.com",
            "s3_force_path_style": true, "disable_ssl": true
        }}));
        assert!(s.force_path_style);
        assert_eq!(
            s.endpoint_url().as_deref(),
            Some("http://alternative-s3-system.example.com")
        );

        let s = settings(json!({"s3uploader": {"s3_bucket": "bar"}, "marshaler": "otlp_proto"}));
        assert_eq!(s.marshaler, Marshaler::OtlpProto);
        let s = settings(json!({"s3uploader": {"s3_bucket": "bar"}, "marshaler": "body"}));
        assert_eq!(s.marshaler, Marshaler::Body);
        for (c, want) in [
            ("gzip", Compression::Gzip),
            ("zstd", Compression::Zstd),
            ("none", Compression::None),
            ("", Compression::None),
        ] {
            let s = settings(json!({"s3uploader": {"s3_bucket": "foo", "compression": c}}));
            assert_eq!(s.compression, want, "{c}");
        }
        let s = settings(json!({"s3uploader": {
            "s3_bucket": "foo", "s3_base_prefix": "root", "file_prefix": "f-",
            "unique_key_func_name": "random", "role_arn": "arn:aws:iam::1:role/r",
            "retry_mode": "adaptive", "retry_max_attempts": 5, "retry_max_backoff": "30s"
        }}));
        assert_eq!(s.unique_key, UniqueKeyFunc::Random);
        assert_eq!(
            (
                s.base_prefix.as_str(),
                s.file_prefix.as_str(),
                s.role_arn.as_str()
            ),
            ("root", "f-", "arn:aws:iam::1:role/r")
        );
        // The older s3_partition inside s3uploader.
        let s = settings(json!({"s3uploader": {"s3_bucket": "foo", "s3_partition": "hour"}}));
        assert_eq!(s.partition.as_str(), HOUR_PARTITION_FORMAT);
    }

    #[test]
    fn the_briefs_flat_form() {
        let s = settings(json!({
            "region": "us-east-1", "s3_bucket": "otel-traces-archive", "s3_prefix": "traces/",
            "s3_partition": "hour", "compression": "gzip", "marshaler": "otlp_json"
        }));
        assert_eq!(s.region, "us-east-1");
        assert_eq!(s.bucket, "otel-traces-archive");
        assert_eq!(s.prefix, "traces/");
        assert_eq!(s.partition.as_str(), HOUR_PARTITION_FORMAT);
        assert_eq!(s.compression, Compression::Gzip);
        assert_eq!(s.marshaler, Marshaler::OtlpJson);
        let key = s.key_builder(Signal::Traces).build_with_unique(
            std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_748_783_000),
            "123456789",
        );
        assert_eq!(
            key,
            "traces/year=2025/month=06/day=01/hour=13/traces_123456789.json.gz"
        );

        let s = settings(json!({"s3_bucket": "b", "s3_partition": "minute"}));
        assert_eq!(s.partition.as_str(), DEFAULT_PARTITION_FORMAT);
        assert_eq!(s.region, "us-east-1");
        let s = settings(json!({
            "s3_bucket": "b", "endpoint": "127.0.0.1:5000", "s3_force_path_style": true,
            "disable_ssl": true
        }));
        assert_eq!(s.endpoint_url().as_deref(), Some("http://127.0.0.1:5000"));
        assert!(s.force_path_style);
        let s = settings(json!({"s3_bucket": "b", "endpoint": "s3.local:443"}));
        assert_eq!(s.endpoint_url().as_deref(), Some("https://s3.local:443"));
    }

    // Upstream TestConfig_Validate, plus stratus's own checks.
    #[test]
    fn problems_table() {
        let cases: Vec<(Value, Vec<(&str, &str)>)> = vec![
            // Valid: endpoint without bucket, bucket with region.
            (
                json!({"s3uploader": {"endpoint": "http://example.com", "region": "foo"}}),
                vec![],
            ),
            (
                json!({"s3uploader": {"region": "foo", "s3_bucket": "bar"}}),
                vec![],
            ),
            (
                json!({"s3uploader": {"region": ""}}),
                vec![
                    ("s3uploader::region", "region is required"),
                    ("s3uploader::s3_bucket", "bucket or endpoint is required"),
                ],
            ),
            (
                json!({"s3uploader": {"region": "foo"}}),
                vec![("s3uploader::s3_bucket", "bucket or endpoint is required")],
            ),
            (
                json!({"s3uploader": {"s3_bucket": "foo", "region": ""}}),
                vec![("s3uploader::region", "region is required")],
            ),
            (
                json!({"s3uploader": {"endpoint": "http://example.com", "region": ""}}),
                vec![("s3uploader::region", "region is required")],
            ),
            (
                Value::Null,
                vec![("s3uploader::s3_bucket", "bucket or endpoint is required")],
            ),
            (
                json!({"region": "us-east-1"}),
                vec![("s3_bucket", "bucket or endpoint is required")],
            ),
            (
                json!({"s3uploader": {"s3_bucket": "b"}, "region": "x", "s3_partition": "hour"}),
                vec![
                    ("region", "cannot be mixed"),
                    ("s3_partition", "cannot be mixed"),
                ],
            ),
            (
                json!({"s3uploader": {"s3_bucket": "b", "s3_partition": "hour", "s3_partition_format": "%Y"}}),
                vec![("s3uploader::s3_partition", "not both")],
            ),
            (
                json!({"s3uploader": {"s3_bucket": "b", "s3_partition_format": "%Y/%Q"}}),
                vec![("s3uploader::s3_partition_format", "`%Q`")],
            ),
            (
                json!({"s3uploader": {"s3_bucket": "b", "s3_partition_timezone": "Europe/London"}}),
                vec![(
                    "s3uploader::s3_partition_timezone",
                    "`Europe/London` is not supported",
                )],
            ),
            (
                json!({"s3uploader": {"s3_bucket": "b", "unique_key_func_name": "uuidv4"}}),
                vec![("s3uploader::unique_key_func_name", "`uuidv4`")],
            ),
            (
                json!({"s3uploader": {"s3_bucket": "b", "retry_mode": "fast"}}),
                vec![("s3uploader::retry_mode", "`fast`")],
            ),
            (
                json!({"s3uploader": {"s3_bucket": "b"}, "marshaler": "sumo_ic"}),
                vec![("marshaler", "not supported")],
            ),
        ];
        for (config, want) in cases {
            let got = match decode_config::<AwsS3Config>(&config) {
                Ok(_) => vec![],
                Err(p) => p.into_iter().map(|p| (p.path, p.message)).collect(),
            };
            assert_eq!(got.len(), want.len(), "{config}: {got:?}");
            for ((path, msg), (want_path, want_msg)) in got.iter().zip(&want) {
                assert_eq!(path, want_path, "{config}");
                assert!(msg.contains(want_msg), "{config}: {msg}");
            }
        }
    }

    #[test]
    fn aggregation_is_off_by_default_and_has_awss3_defaults_when_asked_for() {
        let base = json!({"s3_bucket": "b"});
        let queue = |v: Value| {
            decode_config::<AwsS3Config>(&v)
                .unwrap()
                .exporter_settings()
                .queue
        };
        // No block: no queue, one object per batch, as upstream.
        let q = queue(base.clone());
        assert!(!q.enabled && q.active_batch().is_none());
        // A queue without `batch`: still one object per batch.
        let q = queue(json!({"s3_bucket": "b", "sending_queue": {}}));
        assert!(q.enabled && q.active_batch().is_none());
        assert_eq!((q.num_consumers, q.queue_size), (10, 1000));
        // `batch: {}` and `batch:` (null): awss3's defaults, not the helper's.
        for batch in [json!({}), Value::Null] {
            let q = queue(json!({"s3_bucket": "b", "sending_queue": {"batch": batch}}));
            let b = q.active_batch().unwrap();
            assert_eq!(b.flush_timeout, Duration::from_secs(60), "{batch}");
            assert_eq!(b.min_size, 8 * 1024 * 1024);
            assert_eq!(b.max_size, 0);
            assert_eq!(q.batch_sizer(), Sizer::Bytes);
        }
        assert_ne!(
            QueueConfig::default().batch_sizer(),
            Sizer::Bytes,
            "the helper's would differ"
        );
        // Written values win; `enabled: false` turns it off again.
        let q = queue(json!({"s3_bucket": "b", "sending_queue": {"batch": {
            "sizer": "items", "min_size": 100, "max_size": 500, "flush_timeout": "5s",
            "partition": {"metadata_keys": ["tenant"]}
        }, "storage": "file_storage/q"}}));
        let b = q.active_batch().unwrap();
        assert_eq!(
            (b.min_size, b.max_size, b.flush_timeout),
            (100, 500, Duration::from_secs(5))
        );
        assert_eq!(b.partition.metadata_keys, ["tenant"]);
        assert_eq!(q.batch_sizer(), Sizer::Items);
        assert_eq!(q.storage.as_deref(), Some("file_storage/q"));
        let q = queue(json!({"s3_bucket": "b", "sending_queue": {"batch": {"enabled": false}}}));
        assert!(q.active_batch().is_none());
        // The helper's checks apply at their paths.
        let p = problems(json!({"s3_bucket": "b", "sending_queue": {"batch": {
            "flush_timeout": "0s", "min_size": 10, "max_size": 5
        }}}));
        let paths: Vec<&str> = p.iter().map(|(path, _)| path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "sending_queue::batch::flush_timeout",
                "sending_queue::batch::max_size"
            ],
            "{p:?}"
        );
        let p = problems(json!({"s3_bucket": "b", "sending_queue": {"batch": {"size": 1}}}));
        assert_eq!(p[0].0, "sending_queue::batch::size", "{p:?}");
        assert!(p[0].1.contains("unknown field"), "{p:?}");
    }

    #[test]
    fn serde_refusals_name_the_key() {
        let cases = [
            (
                json!({"s3uploader": {"s3_bucket": "b", "storage_class": "COLD"}}),
                "s3uploader::storage_class",
            ),
            (
                json!({"s3uploader": {"s3_bucket": "b", "acl": "public"}}),
                "s3uploader::acl",
            ),
            (
                json!({"s3uploader": {"s3_bucket": "b", "compression": "lz4"}}),
                "s3uploader::compression",
            ),
            (
                json!({"s3uploader": {"s3_bucket": "b", "bucket": "x"}}),
                "s3uploader::bucket",
            ),
            (
                json!({"s3_bucket": "b", "s3_partition": "day"}),
                "s3_partition",
            ),
            (
                json!({"s3_bucket": "b", "marshaler": "parquet"}),
                "marshaler",
            ),
            (
                json!({"s3_bucket": "b", "s3_partition_format": "%Y"}),
                "s3_partition_format",
            ),
            (
                json!({"s3uploader": {"s3_bucket": "b"}, "resource_attrs_to_s3": {}}),
                "resource_attrs_to_s3",
            ),
        ];
        for (config, path) in cases {
            let p = problems(config.clone());
            assert_eq!(p[0].0, path, "{config}");
        }
    }
}
