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
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;
use stratus_aws_common::cwlogs::StreamKey;
use stratus_core::factory::{ConfigProblem, Validate};

/// Retention periods CloudWatch Logs accepts, in days; `0` means never expire.
/// Source: PutRetentionPolicy API reference, upstream `ValidateRetentionValue`.
pub const ALLOWED_RETENTION_DAYS: &[i64] = &[
    0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 2192, 2557, 2922, 3288,
    3653,
];

/// Most tags on a log group: 50. Source: CreateLogGroup API reference.
pub const MAX_TAGS: usize = 50;

/// Longest tag key, in bytes (upstream measures Go string length): 128. Source:
/// CreateLogGroup API reference.
pub const MAX_TAG_KEY_LEN: usize = 128;

/// Longest tag value, in bytes: 256. Source: CreateLogGroup API reference.
pub const MAX_TAG_VALUE_LEN: usize = 256;

/// The pattern a tag key must match (CreateLogGroup API reference).
pub const TAG_KEY_PATTERN: &str = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]+)$";

/// The pattern a tag value must match (CreateLogGroup API reference).
pub const TAG_VALUE_PATTERN: &str = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$";

// The patterns are constants: they compile.
#[allow(clippy::expect_used)]
static TAG_KEY_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(TAG_KEY_PATTERN).expect("tag key pattern compiles"));
#[allow(clippy::expect_used)]
static TAG_VALUE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(TAG_VALUE_PATTERN).expect("tag value pattern compiles"));

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
        if !ALLOWED_RETENTION_DAYS.contains(&self.log_retention) {
            problems.push(ConfigProblem::new(
                "log_retention",
                format!(
                    "invalid value {} for retention policy. Please make sure to use the \
                     following values: 0 (Never Expire), 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, \
                     180, 365, 400, 545, 731, 1827, 2192, 2557, 2922, 3288, or 3653",
                    self.log_retention
                ),
            ));
        }
        if let Some(tags) = &self.tags {
            validate_tags(tags, &mut problems);
        }
        problems
    }
}

/// Upstream's `ValidateTagsInput`, reporting every problem with its key path.
fn validate_tags(tags: &BTreeMap<String, String>, problems: &mut Vec<ConfigProblem>) {
    if tags.is_empty() {
        problems.push(ConfigProblem::new(
            "tags",
            "invalid amount of items. Please input at least 1 tag or remove the tag field",
        ));
    }
    if tags.len() > MAX_TAGS {
        problems.push(ConfigProblem::new(
            "tags",
            format!(
                "invalid amount of items ({}). Please input at most 50 tags",
                tags.len()
            ),
        ));
    }
    for (key, value) in tags {
        let path = format!("tags::{key}");
        if key.is_empty() || key.len() > MAX_TAG_KEY_LEN {
            problems.push(ConfigProblem::new(
                &path,
                format!(
                    "key has an invalid length ({} bytes). Please use keys with a length \
                     of 1 to 128 characters",
                    key.len()
                ),
            ));
        } else if !TAG_KEY_RE.is_match(key) {
            problems.push(ConfigProblem::new(
                &path,
                format!("key - {key} does not follow the regex pattern {TAG_KEY_PATTERN}"),
            ));
        }
        if value.is_empty() || value.len() > MAX_TAG_VALUE_LEN {
            problems.push(ConfigProblem::new(
                &path,
                format!(
                    "value has an invalid length ({} bytes). Please use values with a \
                     length of 1 to 256 characters",
                    value.len()
                ),
            ));
        } else if !TAG_VALUE_RE.is_match(value) {
            problems.push(ConfigProblem::new(
                &path,
                format!("value - {value} does not follow the regex pattern {TAG_VALUE_PATTERN}"),
            ));
        }
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

    // Upstream TestRetentionValidateCorrect / TestRetentionValidateWrong, every value.
    #[test]
    fn retention_table() {
        for days in ALLOWED_RETENTION_DAYS {
            let c: Result<CloudWatchLogsConfig, _> =
                decode_config(&with(json!({"log_retention": days})));
            assert!(c.is_ok(), "{days}");
        }
        for days in [366, 2, -1, 4000] {
            let e = decode_config::<CloudWatchLogsConfig>(&with(json!({"log_retention": days})))
                .unwrap_err();
            assert_eq!(e[0].path, "log_retention", "{days}");
            assert!(e[0].message.contains("0 (Never Expire)"), "{days}");
        }
    }

    // Upstream TestValidateTags, case for case.
    #[test]
    fn tags_table() {
        let big: serde_json::Map<String, Value> =
            (0..51).map(|i| (i.to_string(), json!("avalue"))).collect();
        type Case<'a> = (&'a str, Value, Option<(String, &'a str)>);
        let cases: Vec<Case> = vec![
            ("validate-correct", json!({"basicKey": "avalue"}), None),
            (
                "unicode letters, spaces and symbols",
                json!({"Équipe ü 1": "a b_.:/=+-@"}),
                None,
            ),
            (
                "exactly 50",
                Value::Object(
                    big.iter()
                        .take(50)
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
                None,
            ),
            (
                "too-little-tags",
                json!({}),
                Some((
                    "tags".into(),
                    "Please input at least 1 tag or remove the tag field",
                )),
            ),
            (
                "too-many-tags",
                Value::Object(big),
                Some(("tags".into(), "Please input at most 50 tags")),
            ),
            (
                "wrong-key-regex",
                json!({"***": "avalue"}),
                Some((
                    "tags::***".into(),
                    r"key - *** does not follow the regex pattern ^([\p{L}\p{Z}\p{N}_.:/=+\-@]+)$",
                )),
            ),
            (
                "wrong-value-regex",
                json!({"basicKey": "***"}),
                Some((
                    "tags::basicKey".into(),
                    r"value - *** does not follow the regex pattern ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$",
                )),
            ),
            (
                "key-too-short",
                json!({"": "avalue"}),
                Some((
                    "tags::".into(),
                    "Please use keys with a length of 1 to 128 characters",
                )),
            ),
            (
                "key-too-long",
                json!({"a".repeat(129): "avalue"}),
                Some((
                    format!("tags::{}", "a".repeat(129)),
                    "Please use keys with a length of 1 to 128 characters",
                )),
            ),
            (
                "value-too-short",
                json!({"basicKey": ""}),
                Some((
                    "tags::basicKey".into(),
                    "Please use values with a length of 1 to 256 characters",
                )),
            ),
            (
                "value-too-long",
                json!({"basicKey": "a".repeat(257)}),
                Some((
                    "tags::basicKey".into(),
                    "Please use values with a length of 1 to 256 characters",
                )),
            ),
            (
                "key of 128 and value of 256",
                json!({"k".repeat(128): "v".repeat(256)}),
                None,
            ),
        ];
        for (name, tags, want) in cases {
            let got = decode_config::<CloudWatchLogsConfig>(&with(json!({"tags": tags})));
            match want {
                None => assert!(got.is_ok(), "{name}: {got:?}"),
                Some((path, msg)) => {
                    let e = got.unwrap_err();
                    assert_eq!(e.len(), 1, "{name}: {e:?}");
                    assert_eq!(e[0].path, path, "{name}");
                    assert!(e[0].message.contains(msg), "{name}: {}", e[0].message);
                }
            }
        }
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
}
