//! The `awscloudwatchlogs` exporter's config, with upstream's keys, defaults and
//! checks (contrib `exporter/awscloudwatchlogsexporter/config.go` at b548215 and
//! `internal/aws/cwlogs/utils.go` at f17fbd0).
//!
//! Still to come with the exporter wiring: the exporter helper's `sending_queue`,
//! `retry_on_failure` and `timeout` blocks, and the AWS session keys shared by every
//! AWS exporter (`max_retries`, `request_timeout_seconds`, `no_verify_ssl`,
//! `proxy_address`, `external_id`, ...) from `aws-common`. Until then a config using
//! them is refused as having unknown keys.

use std::collections::BTreeMap;

use serde::Deserialize;
use stratus_aws_common::cwlogs::StreamKey;
use stratus_aws_common::cwlogs::group_settings::validate_log_group_settings;
use stratus_core::factory::{ConfigProblem, Validate};

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
        }
    }
}

impl CloudWatchLogsConfig {
    /// The configured destination.
    pub fn stream_key(&self) -> StreamKey {
        StreamKey::new(&self.log_group_name, &self.log_stream_name)
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
