//! The `awscloudwatchlogs` exporter's config, with upstream's keys, defaults and
//! checks (contrib `exporter/awscloudwatchlogsexporter/config.go` at b548215,
//! `factory.go`, and `internal/aws/cwlogs/utils.go` at f17fbd0): the exporter's own
//! keys, the AWS session keys at the top level (upstream's squashed
//! `AWSSessionSettings`, listed here rather than flattened so unknown keys stay
//! errors), and the exporter helper's `timeout`, `retry_on_failure` and
//! `sending_queue`.
//!
//! Upstream's defaults: the sending queue is on with **one** consumer (upstream's
//! `createDefaultConfig` keeps one "for backwards compatibility", which also keeps a
//! stream's requests in order), 1000 requests; retries 5s / 30s / 300s; `timeout` 5s.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use stratus_aws_common::cwlogs::StreamKey;
use stratus_aws_common::cwlogs::group_settings::validate_log_group_settings;
use stratus_aws_common::cwlogs::pusher::GroupSettings;
use stratus_aws_common::session::{
    AwsSessionConfig, DEFAULT_MAX_RETRIES, DEFAULT_NUM_WORKERS, DEFAULT_REQUEST_TIMEOUT_SECONDS,
};
use stratus_core::factory::{ConfigProblem, Validate};
use stratus_exporter_helper::config::{DEFAULT_TIMEOUT, validate_shared};
use stratus_exporter_helper::{ExporterSettings, QueueConfig, RetryConfig};

/// Upstream's default number of sending-queue consumers for this exporter.
pub const DEFAULT_NUM_CONSUMERS: usize = 1;

pub use stratus_aws_common::cwlogs::group_settings::{
    ALLOWED_RETENTION_DAYS, MAX_TAG_KEY_LEN, MAX_TAG_VALUE_LEN, MAX_TAGS, TAG_KEY_PATTERN,
    TAG_VALUE_PATTERN,
};

/// The config of the `awscloudwatchlogs` exporter.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CloudWatchLogsConfig {
    /// The log group the events go to. Required; no default.
    pub log_group_name: String,
    /// The log stream the events go to. Required; no default.
    pub log_stream_name: String,
    /// The AWS region (`us-east-1`). Default: empty, which means the SDK's chain
    /// (`AWS_REGION`, the profile, then the instance metadata).
    pub region: String,
    /// The CloudWatch Logs endpoint to use instead of the region's
    /// (`logs.us-east-1.amazonaws.com`, a VPC endpoint, or a local test server).
    /// Default: empty (the region's endpoint).
    pub endpoint: String,
    /// Retention of a log group the exporter creates, in days; one of
    /// [`ALLOWED_RETENTION_DAYS`]. An existing group is not changed. Default `0`
    /// (never expire).
    pub log_retention: i64,
    /// Tags of a log group the exporter creates: 1 to 50 pairs; keys 1-128 bytes,
    /// values 1-256 bytes, of letters, digits, spaces and `_.:/=+-@`. Default:
    /// absent (no tags).
    pub tags: Option<BTreeMap<String, String>>,
    /// Send each record's body as it is instead of upstream's JSON wrapper, and let
    /// EMF bodies name their own group and stream (`_aws.LogGroupName`,
    /// `_aws.LogStreamName`). Default `false`.
    pub raw_log: bool,
    /// An IAM role to assume for the calls. Default: empty (the credentials of the
    /// default chain are used as they are).
    pub role_arn: String,
    /// The external id for assuming `role_arn`. Default empty.
    pub external_id: String,
    /// The shared-config profile. Default empty: `AWS_PROFILE`, else `default`.
    pub profile: String,
    /// Shared credentials files replacing `~/.aws/credentials`. Default: none.
    pub shared_credentials_file: Vec<String>,
    /// Seconds one AWS call may take; `0` for no limit (the exporter's `timeout`
    /// still bounds an attempt). Default 30.
    pub request_timeout_seconds: u64,
    /// Upstream's SDK retry count: accepted, not applied (`retry_on_failure` governs
    /// retries). Default 2.
    pub max_retries: u32,
    /// Upstream's worker count: accepted, not used (`sending_queue::num_consumers`
    /// sets how many requests go out at once). Default 8; at least 1.
    pub num_workers: u32,
    /// Skip TLS verification. Not supported: `true` is refused. Default `false`.
    pub no_verify_ssl: bool,
    /// An HTTP(S) proxy URL. Not supported: a value is refused. Default empty.
    pub proxy_address: String,
    /// Running outside EC2: the region is not looked up in IMDS. Default `false`.
    pub local_mode: bool,
    /// The ARN of the resource running the collector. Not used. Default empty.
    pub resource_arn: String,
    /// Extra CA certificates. Not supported: a value is refused. Default empty.
    pub certificate_file_path: String,
    /// IMDSv2 retries. Not supported: only 0 is accepted. Default 0.
    pub imds_retries: u32,
    /// How long one attempt of a request (one PutLogEvents call, with the group and
    /// stream creation it may need) may take; `0` for no limit. Default `5s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub timeout: Duration,
    /// Retries of failed requests. Default: enabled, 5s initial, 30s max, 300s total.
    pub retry_on_failure: RetryConfig,
    /// The sending queue. Default: enabled, 1 consumer (upstream's), 1000 requests;
    /// a block that does not name `num_consumers` keeps the 1.
    #[serde(deserialize_with = "queue_with_upstreams_consumers")]
    pub sending_queue: QueueConfig,
}

// The house rule: one hand-written Default holding every default.
#[allow(clippy::derivable_impls)]
impl Default for CloudWatchLogsConfig {
    fn default() -> Self {
        CloudWatchLogsConfig {
            log_group_name: String::new(),
            log_stream_name: String::new(),
            region: String::new(),
            endpoint: String::new(),
            log_retention: 0,
            tags: None,
            raw_log: false,
            role_arn: String::new(),
            external_id: String::new(),
            profile: String::new(),
            shared_credentials_file: Vec::new(),
            request_timeout_seconds: DEFAULT_REQUEST_TIMEOUT_SECONDS,
            max_retries: DEFAULT_MAX_RETRIES,
            num_workers: DEFAULT_NUM_WORKERS,
            no_verify_ssl: false,
            proxy_address: String::new(),
            local_mode: false,
            resource_arn: String::new(),
            certificate_file_path: String::new(),
            imds_retries: 0,
            timeout: DEFAULT_TIMEOUT,
            retry_on_failure: RetryConfig::default(),
            sending_queue: QueueConfig {
                num_consumers: DEFAULT_NUM_CONSUMERS,
                ..QueueConfig::default()
            },
        }
    }
}

/// `sending_queue` over this exporter's default: a block without `num_consumers`
/// keeps upstream's 1 (as Go's decoding onto the default config does), instead of the
/// helper's 10.
fn queue_with_upstreams_consumers<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<QueueConfig, D::Error> {
    use serde::de::Error;
    let value = serde_json::Value::deserialize(d)?;
    if value.is_null() {
        return Ok(CloudWatchLogsConfig::default().sending_queue);
    }
    let names_consumers = value.get("num_consumers").is_some();
    let mut queue: QueueConfig = serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string().replace('.', "::");
        D::Error::custom(format!("{path}: {}", e.into_inner()))
    })?;
    if !names_consumers {
        queue.num_consumers = DEFAULT_NUM_CONSUMERS;
    }
    Ok(queue)
}

impl CloudWatchLogsConfig {
    /// The configured destination.
    pub fn stream_key(&self) -> StreamKey {
        StreamKey::new(&self.log_group_name, &self.log_stream_name)
    }

    /// The session keys as an [`AwsSessionConfig`] for `session::load`.
    pub fn session(&self) -> AwsSessionConfig {
        AwsSessionConfig {
            region: self.region.clone(),
            endpoint: self.endpoint.clone(),
            role_arn: self.role_arn.clone(),
            external_id: self.external_id.clone(),
            profile: self.profile.clone(),
            shared_credentials_file: self.shared_credentials_file.clone(),
            request_timeout_seconds: self.request_timeout_seconds,
            max_retries: self.max_retries,
            num_workers: self.num_workers,
            no_verify_ssl: self.no_verify_ssl,
            proxy_address: self.proxy_address.clone(),
            local_mode: self.local_mode,
            resource_arn: self.resource_arn.clone(),
            certificate_file_path: self.certificate_file_path.clone(),
            imds_retries: self.imds_retries,
        }
    }

    /// What the pusher applies to the groups it creates (`log_retention`, `tags`).
    pub fn group_settings(&self) -> GroupSettings {
        GroupSettings {
            retention_days: self.log_retention,
            tags: self.tags.clone().unwrap_or_default(),
        }
    }

    /// The helper settings from `timeout`, `retry_on_failure` and `sending_queue`.
    pub fn settings(&self) -> ExporterSettings {
        ExporterSettings {
            timeout: self.timeout,
            retry: self.retry_on_failure.clone(),
            queue: self.sending_queue.clone(),
        }
    }
}

impl Validate for CloudWatchLogsConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.log_group_name.is_empty() {
            problems.push(ConfigProblem::new(
                "log_group_name",
                "'log_group_name' must be set",
            ));
        }
        if self.log_stream_name.is_empty() {
            problems.push(ConfigProblem::new(
                "log_stream_name",
                "'log_stream_name' must be set",
            ));
        }
        problems.extend(validate_log_group_settings(
            "",
            self.log_retention,
            self.tags.as_ref(),
        ));
        problems.extend(self.session().problems_at(""));
        problems.extend(validate_shared(&self.retry_on_failure, &self.sending_queue));
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use stratus_core::factory::decode_config;

    fn base() -> Value {
        json!({"log_group_name": "test-1", "log_stream_name": "testing"})
    }

    fn with(extra: Value) -> Value {
        let mut v = base();
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }

    #[test]
    fn defaults_and_the_brief_block() {
        let c: CloudWatchLogsConfig = decode_config(&json!({
            "log_group_name": "/aws/otel/traces", "log_stream_name": "otel-collector",
            "region": "us-east-1"
        }))
        .unwrap();
        assert_eq!(
            c.stream_key(),
            StreamKey::new("/aws/otel/traces", "otel-collector")
        );
        assert_eq!(c.region, "us-east-1");
        assert_eq!(
            (
                c.log_retention,
                c.tags.clone(),
                c.raw_log,
                c.endpoint.as_str(),
                c.role_arn.as_str()
            ),
            (0, None, false, "", "")
        );
        let c: CloudWatchLogsConfig = decode_config(&with(json!({
            "endpoint": "http://127.0.0.1:5000", "log_retention": 365, "raw_log": true,
            "role_arn": "arn:aws:iam::123456789012:role/otel", "tags": {"team": "obs"}
        })))
        .unwrap();
        assert_eq!(c.log_retention, 365);
        assert!(c.raw_log);
        assert_eq!(c.tags.unwrap()["team"], "obs");
    }

    #[test]
    fn helper_and_session_keys_with_upstreams_defaults() {
        let c: CloudWatchLogsConfig = decode_config(&base()).unwrap();
        let settings = c.settings();
        assert_eq!(settings.timeout, Duration::from_secs(5));
        assert!(settings.queue.enabled);
        assert_eq!(settings.queue.num_consumers, 1);
        assert_eq!(settings.queue.queue_size, 1000);
        assert!(settings.retry.enabled);
        let session = c.session();
        assert_eq!(
            (
                session.max_retries,
                session.num_workers,
                session.request_timeout_seconds
            ),
            (2, 8, 30)
        );
        let c: CloudWatchLogsConfig = decode_config(&with(json!({
            "profile": "p", "shared_credentials_file": ["/tmp/c"], "external_id": "x",
            "role_arn": "arn:aws:iam::123456789012:role/otel", "timeout": "10s",
            "sending_queue": {"num_consumers": 4, "queue_size": 10},
            "retry_on_failure": {"enabled": false}, "local_mode": true,
        })))
        .unwrap();
        assert_eq!(c.session().profile, "p");
        assert_eq!(
            c.session().shared_credentials_file,
            vec!["/tmp/c".to_string()]
        );
        assert_eq!(c.settings().timeout, Duration::from_secs(10));
        assert_eq!(c.settings().queue.num_consumers, 4);
        assert!(!c.settings().retry.enabled);
        // A block without num_consumers keeps upstream's 1; its errors name the key.
        let c: CloudWatchLogsConfig =
            decode_config(&with(json!({"sending_queue": {"queue_size": 5}}))).unwrap();
        assert_eq!(
            (c.sending_queue.num_consumers, c.sending_queue.queue_size),
            (1, 5)
        );
        let c: CloudWatchLogsConfig = decode_config(&with(json!({"sending_queue": null}))).unwrap();
        assert_eq!(c.sending_queue.num_consumers, 1);
        let e = decode_config::<CloudWatchLogsConfig>(&with(
            json!({"sending_queue": {"queue_sise": 5}}),
        ))
        .unwrap_err();
        assert_eq!(e[0].path, "sending_queue");
        assert!(e[0].message.contains("queue_sise"), "{}", e[0].message);
        assert_eq!(
            c.group_settings(),
            GroupSettings {
                retention_days: 0,
                tags: BTreeMap::new()
            }
        );
        // Session keys are checked at their paths.
        let e =
            decode_config::<CloudWatchLogsConfig>(&with(json!({"proxy_address": "proxy:3128"})))
                .unwrap_err();
        assert_eq!(e[0].path, "proxy_address");
        let e = decode_config::<CloudWatchLogsConfig>(&with(json!({"endpoint": "logs.x.com"})))
            .unwrap_err();
        assert_eq!(e[0].path, "endpoint");
    }

    // Upstream TestLoadConfig's required-field cases, and both at once.
    #[test]
    fn required_fields() {
        let e = decode_config::<CloudWatchLogsConfig>(&json!({"log_group_name": "g"})).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].path.as_str(), e[0].message.as_str()),
            ("log_stream_name", "'log_stream_name' must be set")
        );
        let e =
            decode_config::<CloudWatchLogsConfig>(&json!({"log_stream_name": "s"})).unwrap_err();
        assert_eq!(
            (e[0].path.as_str(), e[0].message.as_str()),
            ("log_group_name", "'log_group_name' must be set")
        );
        let e = decode_config::<CloudWatchLogsConfig>(&Value::Null).unwrap_err();
        let paths: Vec<_> = e.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["log_group_name", "log_stream_name"]);
    }

    #[test]
    fn unknown_and_mistyped_keys_are_refused() {
        let e =
            decode_config::<CloudWatchLogsConfig>(&with(json!({"log_group": "x"}))).unwrap_err();
        assert_eq!(e[0].path, "log_group");
        let e = decode_config::<CloudWatchLogsConfig>(&with(json!({"log_retention": "7d"})))
            .unwrap_err();
        assert_eq!(e[0].path, "log_retention");
        let e =
            decode_config::<CloudWatchLogsConfig>(&with(json!({"tags": {"a": 1}}))).unwrap_err();
        assert_eq!(e[0].path, "tags::a");
        // `emf_only` is not an upstream key (digest section 0).
        let e =
            decode_config::<CloudWatchLogsConfig>(&with(json!({"emf_only": true}))).unwrap_err();
        assert_eq!(e[0].path, "emf_only");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let e = decode_config::<CloudWatchLogsConfig>(&json!({
            "log_retention": 2, "tags": {"ok": "v", "b@d!": "", "fine": "x"}
        }))
        .unwrap_err();
        let paths: Vec<_> = e.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "log_group_name",
                "log_stream_name",
                "log_retention",
                "tags::b@d!",
                "tags::b@d!"
            ]
        );
    }

    // The checks themselves (upstream's retention and tag tables) are tested in
    // stratus_aws_common::cwlogs::group_settings; here, that this config uses them.
    #[test]
    fn log_group_settings_are_checked() {
        for days in ALLOWED_RETENTION_DAYS {
            let c: Result<CloudWatchLogsConfig, _> =
                decode_config(&with(json!({"log_retention": days})));
            assert!(c.is_ok(), "{days}");
        }
        let e = decode_config::<CloudWatchLogsConfig>(&with(json!({"log_retention": 366})))
            .unwrap_err();
        assert_eq!(e[0].path, "log_retention");
        assert!(
            e[0].message
                .starts_with("366 is not a CloudWatch Logs retention period; use 0 (never expire)"),
            "{}",
            e[0].message
        );
        // An empty `tags` block is refused (absent is fine), as upstream.
        let e = decode_config::<CloudWatchLogsConfig>(&with(json!({"tags": {}}))).unwrap_err();
        assert_eq!(e[0].path, "tags");
        assert!(e[0].message.contains("at least 1 tag"), "{}", e[0].message);
        let e = decode_config::<CloudWatchLogsConfig>(&with(json!({"tags": {"basicKey": "***"}})))
            .unwrap_err();
        assert_eq!(
            (e[0].path.as_str(), e[0].message.as_str()),
            (
                "tags::basicKey",
                r"value - *** does not follow the regex pattern ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"
            )
        );
    }
}
