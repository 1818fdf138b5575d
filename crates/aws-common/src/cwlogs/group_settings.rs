//! The settings of a log group the exporter creates, `log_retention` and `tags`, as
//! `awscloudwatchlogs` and `awsemf` both accept them, and their validation
//! (upstream `internal/aws/cwlogs/utils.go` `ValidateRetentionValue` and
//! `ValidateTagsInput` at f17fbd0, from the `PutRetentionPolicy` and
//! `CreateLogGroup` API references).
//!
//! ```
//! use std::collections::BTreeMap;
//! use stratus_aws_common::cwlogs::group_settings::validate_log_group_settings;
//!
//! let tags = BTreeMap::from([("team".to_string(), "obs".to_string())]);
//! assert!(validate_log_group_settings("", 30, Some(&tags)).is_empty());
//! let problems = validate_log_group_settings("", 2, None);
//! assert_eq!(problems[0].path, "log_retention");
//! ```

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use stratus_core::factory::ConfigProblem;

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

// Constant patterns, so `None` cannot happen (a test checks); were it ever to, the
// pattern check is skipped and AWS still refuses a bad tag.
static TAG_KEY_RE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(TAG_KEY_PATTERN).ok());
static TAG_VALUE_RE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(TAG_VALUE_PATTERN).ok());

/// `prefix::key`, or `key` when `prefix` is empty.
fn path(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}::{key}")
    }
}

/// Every problem of a log group's `log_retention` (days) and `tags`, with key paths
/// under `prefix` (`""` for keys at the top of the component's config):
/// `<prefix>::log_retention`, `<prefix>::tags` (count) and `<prefix>::tags::<key>`.
/// `tags: None` means the key is absent; `Some` of an empty map is refused, as
/// upstream refuses an empty `tags` block.
pub fn validate_log_group_settings(
    prefix: &str,
    retention_days: i64,
    tags: Option<&BTreeMap<String, String>>,
) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    if let Some(problem) = validate_retention(&path(prefix, "log_retention"), retention_days) {
        problems.push(problem);
    }
    if let Some(tags) = tags {
        validate_tags(&path(prefix, "tags"), tags, &mut problems);
    }
    problems
}

/// Upstream's `ValidateRetentionValue`: `days` must be one of
/// [`ALLOWED_RETENTION_DAYS`]; the problem is reported at `path`.
pub fn validate_retention(path: &str, days: i64) -> Option<ConfigProblem> {
    if ALLOWED_RETENTION_DAYS.contains(&days) {
        return None;
    }
    let allowed: Vec<String> = ALLOWED_RETENTION_DAYS[1..]
        .iter()
        .map(i64::to_string)
        .collect();
    Some(ConfigProblem::new(
        path,
        format!(
            "{days} is not a CloudWatch Logs retention period; use 0 (never expire) or one of \
             {} (days)",
            allowed.join(", ")
        ),
    ))
}

/// Upstream's `ValidateTagsInput`, reporting every problem: the count at `path`,
/// each pair at `path::<key>`. Lengths are in bytes, as Go's `len`.
pub fn validate_tags(
    path: &str,
    tags: &BTreeMap<String, String>,
    problems: &mut Vec<ConfigProblem>,
) {
    if tags.is_empty() {
        problems.push(ConfigProblem::new(
            path,
            "invalid amount of items. Please input at least 1 tag or remove the tag field",
        ));
    }
    if tags.len() > MAX_TAGS {
        problems.push(ConfigProblem::new(
            path,
            format!(
                "invalid amount of items ({}). Please input at most {MAX_TAGS} tags",
                tags.len()
            ),
        ));
    }
    let matches =
        |re: &LazyLock<Option<Regex>>, s: &str| re.as_ref().is_none_or(|re| re.is_match(s));
    for (key, value) in tags {
        let pair = format!("{path}::{key}");
        if key.is_empty() || key.len() > MAX_TAG_KEY_LEN {
            problems.push(ConfigProblem::new(
                &pair,
                format!(
                    "key has an invalid length ({} bytes). Please use keys with a length \
                     of 1 to {MAX_TAG_KEY_LEN} characters",
                    key.len()
                ),
            ));
        } else if !matches(&TAG_KEY_RE, key) {
            problems.push(ConfigProblem::new(
                &pair,
                format!("key - {key} does not follow the regex pattern {TAG_KEY_PATTERN}"),
            ));
        }
        if value.is_empty() || value.len() > MAX_TAG_VALUE_LEN {
            problems.push(ConfigProblem::new(
                &pair,
                format!(
                    "value has an invalid length ({} bytes). Please use values with a \
                     length of 1 to {MAX_TAG_VALUE_LEN} characters",
                    value.len()
                ),
            ));
        } else if !matches(&TAG_VALUE_RE, value) {
            problems.push(ConfigProblem::new(
                &pair,
                format!("value - {value} does not follow the regex pattern {TAG_VALUE_PATTERN}"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn tags_of(v: Value) -> BTreeMap<String, String> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn patterns_compile() {
        assert!(TAG_KEY_RE.is_some());
        assert!(TAG_VALUE_RE.is_some());
    }

    // Upstream TestRetentionValidateCorrect / TestRetentionValidateWrong, every value.
    #[test]
    fn retention_table() {
        for days in ALLOWED_RETENTION_DAYS {
            assert!(
                validate_retention("log_retention", *days).is_none(),
                "{days}"
            );
        }
        for days in [366, 2, -1, 4000] {
            let p = validate_retention("log_retention", days).unwrap();
            assert_eq!(p.path, "log_retention", "{days}");
            assert_eq!(
                p.message,
                format!(
                    "{days} is not a CloudWatch Logs retention period; use 0 (never expire) or \
                     one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, \
                     2192, 2557, 2922, 3288, 3653 (days)"
                )
            );
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
                Some(("tags".into(), "(51). Please input at most 50 tags")),
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
                    "(129 bytes). Please use keys with a length of 1 to 128 characters",
                )),
            ),
            (
                // Go's len counts bytes: 65 two-byte letters are 130.
                "key-too-long-in-bytes",
                json!({"é".repeat(65): "avalue"}),
                Some((
                    format!("tags::{}", "é".repeat(65)),
                    "(130 bytes). Please use keys with a length of 1 to 128 characters",
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
            let tags = tags_of(tags);
            let got = validate_log_group_settings("", 0, Some(&tags));
            match want {
                None => assert!(got.is_empty(), "{name}: {got:?}"),
                Some((path, msg)) => {
                    assert_eq!(got.len(), 1, "{name}: {got:?}");
                    assert_eq!(got[0].path, path, "{name}");
                    assert!(got[0].message.contains(msg), "{name}: {}", got[0].message);
                }
            }
        }
    }

    #[test]
    fn every_problem_at_once_under_a_prefix() {
        let tags = tags_of(json!({"ok": "v", "b@d!": "", "fine": "x"}));
        let got = validate_log_group_settings("exporters::awsemf", 2, Some(&tags));
        let paths: Vec<_> = got.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "exporters::awsemf::log_retention",
                "exporters::awsemf::tags::b@d!",
                "exporters::awsemf::tags::b@d!"
            ]
        );
        assert!(
            got[1].message.starts_with("key - b@d! does not follow"),
            "{}",
            got[1].message
        );
        assert!(
            got[2]
                .message
                .starts_with("value has an invalid length (0 bytes)"),
            "{}",
            got[2].message
        );
        // Absent tags are not checked; valid settings give no problem.
        assert!(validate_log_group_settings("", 3653, None).is_empty());
    }
}
