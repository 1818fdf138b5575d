//! The `awsemf` exporter's own keys, with upstream's names and defaults
//! (contrib `exporter/awsemfexporter/config.go`, `config.schema.yaml`, `factory.go`).
//!
//! [`EmfConfig`] holds every key of the exporter except the AWS session keys
//! (`region`, `endpoint`, `role_arn`, `max_retries`, ...) and the exporter helper's
//! (`sending_queue`, `retry_on_failure`, `timeout`): the exporter's config puts those
//! beside it. [`EmfConfig::KEYS`] and [`EmfConfig::take_keys`] split a component's
//! raw config into the two parts, so both can keep `deny_unknown_fields`.

use std::collections::BTreeMap;

use regex::Regex;
use serde::{Deserialize, Deserializer};
use stratus_core::factory::{ConfigProblem, Validate};

use crate::metric_declaration;

/// The CloudWatch units a `metric_descriptors` entry may name (upstream
/// `newEMFSupportedUnits`, from the CloudWatch `MetricDatum` API reference).
pub const SUPPORTED_UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// The retention periods CloudWatch Logs accepts, in days; `0` means never expire
/// (upstream `isValidRetentionValue`, from the `PutRetentionPolicy` API reference).
pub const LOG_RETENTION_DAYS: &[i64] = &[
    0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 2192, 2557, 2922, 3288,
    3653,
];

/// At most this many tags on a log group (CloudWatch Logs `CreateLogGroup`).
pub const MAX_LOG_GROUP_TAGS: usize = 50;
/// Tag keys are 1 to this many characters (CloudWatch Logs `CreateLogGroup`).
pub const MAX_TAG_KEY_CHARS: usize = 128;
/// Tag values are at most this many characters (CloudWatch Logs `CreateLogGroup`).
pub const MAX_TAG_VALUE_CHARS: usize = 256;

/// `dimension_rollup_option`: which rolled-up dimension sets are added to each
/// metric's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum DimensionRollupOption {
    /// The zero-dimension set (`[]`, or `[OTelLib]`) and one set per label.
    #[default]
    ZeroAndSingleDimensionRollup,
    /// One set per label.
    SingleDimensionRollupOnly,
    /// Only the metric's own dimension set. Upstream also treats `""` this way.
    #[serde(alias = "")]
    NoDimensionRollup,
}

/// `output_destination`: where the exporter writes the EMF events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputDestination {
    /// CloudWatch Logs (PutLogEvents).
    #[default]
    Cloudwatch,
    /// Standard output, one JSON event per line (upstream `fmt.Println`).
    Stdout,
}

impl<'de> Deserialize<'de> for OutputDestination {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Upstream compares with strings.EqualFold.
        let s = String::deserialize(d)?;
        match s.to_ascii_lowercase().as_str() {
            "cloudwatch" => Ok(OutputDestination::Cloudwatch),
            "stdout" => Ok(OutputDestination::Stdout),
            _ => Err(serde::de::Error::custom(format!(
                "unknown output_destination `{s}`: expected `cloudwatch` or `stdout`"
            ))),
        }
    }
}

/// `version`: the EMF document version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmfVersion {
    /// `"0"`: legacy EMF, `CloudWatchMetrics` and a string `Timestamp` at the top level.
    V0,
    /// `"1"`: the `_aws` metadata object.
    #[default]
    V1,
}

impl<'de> Deserialize<'de> for EmfVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // "0" / "1" as upstream writes them; a bare YAML 0 / 1 is accepted too.
        let v = serde_json::Value::deserialize(d)?;
        match &v {
            serde_json::Value::String(s) if s == "0" => Ok(EmfVersion::V0),
            serde_json::Value::String(s) if s == "1" => Ok(EmfVersion::V1),
            serde_json::Value::Number(n) if n.as_u64() == Some(0) => Ok(EmfVersion::V0),
            serde_json::Value::Number(n) if n.as_u64() == Some(1) => Ok(EmfVersion::V1),
            _ => Err(serde::de::Error::custom(format!(
                "unknown EMF version {v}: expected \"0\" or \"1\""
            ))),
        }
    }
}

/// `label_matchers` entry: the declaration applies to data points whose listed
/// label values, joined by `separator`, match `regex` (unanchored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LabelMatcherConfig {
    /// Labels whose values are joined and matched; a missing label counts as `""`.
    /// Required, at least one.
    pub label_names: Vec<String>,
    /// Put between the joined values. Default `;` (also when set to `""`).
    pub separator: String,
    /// Regular expression (RE2-like syntax of the `regex` crate), matched anywhere in
    /// the joined values. Required.
    pub regex: String,
}

impl Default for LabelMatcherConfig {
    fn default() -> Self {
        LabelMatcherConfig {
            label_names: Vec::new(),
            separator: ";".to_string(),
            regex: String::new(),
        }
    }
}

/// `metric_declarations` entry: which metrics are extracted as CloudWatch metrics,
/// and with which dimension sets.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricDeclarationConfig {
    /// Dimension sets (lists of label names); a set is used for a data point only
    /// when the point has every label in it. Sets of more than 10 names are
    /// dropped with a warning, duplicates removed, names sorted. Default: none.
    pub dimensions: Vec<Vec<String>>,
    /// Regular expressions matched anywhere in the metric name (unanchored: write
    /// `^http\..*` to anchor). Required, at least one.
    pub metric_name_selectors: Vec<String>,
    /// Optional label rules: the declaration applies when any matches. Default: none
    /// (it applies to every data point).
    pub label_matchers: Vec<LabelMatcherConfig>,
}

/// `metric_descriptors` entry: the CloudWatch unit of a metric.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricDescriptorConfig {
    /// The metric's name. Required.
    pub metric_name: String,
    /// A CloudWatch unit ([`SUPPORTED_UNITS`]). Required.
    pub unit: String,
    /// `true`: replace the metric's own unit; `false`: only set it when the metric
    /// has none. Default `false`.
    pub overwrite: bool,
}

/// `resource_to_telemetry_conversion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceToTelemetryConfig {
    /// Copy every resource attribute onto each data point's labels (a resource
    /// attribute replaces a point attribute of the same name). Default `false`.
    pub enabled: bool,
    /// Leave out `service.name`, `service.instance.id` and `service.namespace`.
    /// Default `false`.
    pub exclude_service_attributes: bool,
}

/// The `awsemf` (also `awscloudwatch`) exporter's keys other than the AWS session
/// and exporter-helper keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmfConfig {
    /// CloudWatch metrics namespace. Default `""`: `service.namespace/service.name`
    /// of each resource, else `service.name`, else `service.namespace`, else `default`.
    pub namespace: String,
    /// Log group. Default `""`: `/metrics/<namespace>`. Placeholders `{ClusterName}`,
    /// `{TaskId}`, `{NodeName}`, `{PodName}`, `{ServiceName}`, `{ContainerInstanceId}`
    /// and `{TaskDefinitionFamily}` are filled from resource attributes, then from the
    /// data point's labels; a missing one becomes `undefined`.
    pub log_group_name: String,
    /// Log stream, with the same placeholders. Default `""`: `otel-stream-<collector id>`.
    pub log_stream_name: String,
    /// Retention of log groups the exporter creates, in days ([`LOG_RETENTION_DAYS`]);
    /// `0` never expires. Used by the log pusher, not the translator. Default `0`.
    pub log_retention: i64,
    /// Tags of log groups the exporter creates, at most 50. Used by the log pusher.
    /// Default: none.
    pub tags: BTreeMap<String, String>,
    /// Rolled-up dimension sets. Default `ZeroAndSingleDimensionRollup` (upstream's
    /// `awsemf.nodimrollupdefault` feature gate is alpha, so off).
    pub dimension_rollup_option: DimensionRollupOption,
    /// Which metrics become CloudWatch metrics, with which dimensions. Default: none,
    /// which extracts every metric with all its labels as one dimension set.
    pub metric_declarations: Vec<MetricDeclarationConfig>,
    /// Unit overrides. Default: none.
    pub metric_descriptors: Vec<MetricDescriptorConfig>,
    /// Labels whose values are JSON text, written into the event as JSON. Default: none.
    pub parse_json_encoded_attr_values: Vec<String>,
    /// `cloudwatch` or `stdout`. Default `cloudwatch`.
    pub output_destination: OutputDestination,
    /// For data points with label `Type` `Pod` or `Container`, add a `kubernetes`
    /// label holding the Container Insights object (add `kubernetes` to
    /// `parse_json_encoded_attr_values` to write it as JSON). Default `false`.
    pub eks_fargate_container_insights_enabled: bool,
    /// Write no `_aws` metadata: every event is a plain structured log line.
    /// Default `false`.
    pub disable_metric_extraction: bool,
    /// Resource attributes as labels. Default: disabled.
    pub resource_to_telemetry_conversion: ResourceToTelemetryConfig,
    /// Summaries as `<name>_sum`, `<name>_count` and one `<name>` per quantile (label
    /// `quantile`) instead of one statistic set. Default `false`.
    pub detailed_metrics: bool,
    /// EMF version, `"1"` or `"0"`. Default `"1"`.
    pub version: EmfVersion,
    /// Send the first value of a cumulative sum (and of a Prometheus summary)
    /// instead of keeping it only as the baseline of the next delta. Default `false`.
    pub retain_initial_value_of_delta_metric: bool,
}

impl Default for EmfConfig {
    fn default() -> Self {
        EmfConfig {
            namespace: String::new(),
            log_group_name: String::new(),
            log_stream_name: String::new(),
            log_retention: 0,
            tags: BTreeMap::new(),
            dimension_rollup_option: DimensionRollupOption::ZeroAndSingleDimensionRollup,
            metric_declarations: Vec::new(),
            metric_descriptors: Vec::new(),
            parse_json_encoded_attr_values: Vec::new(),
            output_destination: OutputDestination::Cloudwatch,
            eks_fargate_container_insights_enabled: false,
            disable_metric_extraction: false,
            resource_to_telemetry_conversion: ResourceToTelemetryConfig::default(),
            detailed_metrics: false,
            version: EmfVersion::V1,
            retain_initial_value_of_delta_metric: false,
        }
    }
}

impl EmfConfig {
    /// Every key [`EmfConfig`] reads, in the exporter's config namespace.
    pub const KEYS: &'static [&'static str] = &[
        "namespace",
        "log_group_name",
        "log_stream_name",
        "log_retention",
        "tags",
        "dimension_rollup_option",
        "metric_declarations",
        "metric_descriptors",
        "parse_json_encoded_attr_values",
        "output_destination",
        "eks_fargate_container_insights_enabled",
        "disable_metric_extraction",
        "resource_to_telemetry_conversion",
        "detailed_metrics",
        "version",
        "retain_initial_value_of_delta_metric",
    ];

    /// Moves the keys of [`EmfConfig::KEYS`] out of a component's raw config map into
    /// a map of their own, so the exporter can decode that into an [`EmfConfig`] and
    /// the rest into its session and helper settings, both strictly.
    pub fn take_keys(
        raw: &mut serde_json::Map<String, serde_json::Value>,
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut own = serde_json::Map::new();
        for key in Self::KEYS {
            if let Some(v) = raw.remove(*key) {
                own.insert((*key).to_string(), v);
            }
        }
        own
    }

    /// The log group for `namespace` when `log_group_name` is unset (upstream
    /// `getLogInfo`): `/metrics/<namespace>`.
    pub fn default_log_group(namespace: &str) -> String {
        format!("/metrics/{namespace}")
    }
}

impl Validate for EmfConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if let Err(mut p) = metric_declaration::compile_all(&self.metric_declarations) {
            problems.append(&mut p);
        }
        for (i, d) in self.metric_descriptors.iter().enumerate() {
            // Upstream skips a descriptor without a name and drops one with an
            // unsupported unit, with a warning; both are mistakes, so say so here.
            if d.metric_name.is_empty() {
                problems.push(ConfigProblem::new(
                    format!("metric_descriptors::{i}::metric_name"),
                    "is required: the metric whose unit is set",
                ));
            }
            if !SUPPORTED_UNITS.contains(&d.unit.as_str()) {
                problems.push(ConfigProblem::new(
                    format!("metric_descriptors::{i}::unit"),
                    format!(
                        "`{}` is not a CloudWatch unit; use one of: {}",
                        d.unit,
                        SUPPORTED_UNITS.join(", ")
                    ),
                ));
            }
        }
        if !LOG_RETENTION_DAYS.contains(&self.log_retention) {
            problems.push(ConfigProblem::new(
                "log_retention",
                format!(
                    "{} is not a CloudWatch Logs retention period; use 0 (never expire) or one of \
                     1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 2192, \
                     2557, 2922, 3288, 3653 (days)",
                    self.log_retention
                ),
            ));
        }
        validate_tags(&self.tags, &mut problems);
        problems
    }
}

/// CloudWatch Logs tag rules (`CreateLogGroup`; upstream `cwlogs.ValidateTagsInput`).
fn validate_tags(tags: &BTreeMap<String, String>, problems: &mut Vec<ConfigProblem>) {
    if tags.len() > MAX_LOG_GROUP_TAGS {
        problems.push(ConfigProblem::new(
            "tags",
            format!(
                "{} tags given; a log group takes at most {MAX_LOG_GROUP_TAGS}",
                tags.len()
            ),
        ));
    }
    // Both patterns are constant and valid; if the regex engine ever refused them the
    // tags would go unchecked here and AWS would still refuse bad ones.
    let key_re = Regex::new(r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]+)$").ok();
    let value_re = Regex::new(r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$").ok();
    for (k, v) in tags {
        let key_chars = k.chars().count();
        if key_chars == 0
            || key_chars > MAX_TAG_KEY_CHARS
            || key_re.as_ref().is_some_and(|re| !re.is_match(k))
        {
            problems.push(ConfigProblem::new(
                format!("tags::{k}"),
                format!(
                    "tag keys are 1 to {MAX_TAG_KEY_CHARS} letters, digits, spaces or `_.:/=+-@`"
                ),
            ));
        }
        if v.chars().count() > MAX_TAG_VALUE_CHARS
            || value_re.as_ref().is_some_and(|re| !re.is_match(v))
        {
            problems.push(ConfigProblem::new(
                format!("tags::{k}"),
                format!(
                    "tag values are at most {MAX_TAG_VALUE_CHARS} letters, digits, spaces or `_.:/=+-@`"
                ),
            ));
        }
    }
}
