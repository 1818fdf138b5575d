//! The `awsemf` exporter's own keys, with upstream's names and defaults
//! (contrib `exporter/awsemfexporter/config.go`, `config.schema.yaml`, `factory.go`).
//!
//! [`EmfConfig`] holds every key of the exporter except the AWS session keys
//! (`region`, `endpoint`, `role_arn`, `max_retries`, ...) and the exporter helper's
//! (`sending_queue`, `retry_on_failure`, `timeout`): the exporter's config puts those
//! beside it. [`EmfConfig::KEYS`] and [`EmfConfig::take_keys`] split a component's
//! raw config into the two parts, so both can keep `deny_unknown_fields`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use stratus_aws_common::cwlogs::group_settings::validate_log_group_settings;
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
    /// Retention of log groups the exporter creates, in days (one of
    /// [`ALLOWED_RETENTION_DAYS`](stratus_aws_common::cwlogs::group_settings::ALLOWED_RETENTION_DAYS));
    /// `0` never expires. Used by the log pusher, not the translator. Default `0`.
    pub log_retention: i64,
    /// Tags of log groups the exporter creates: at most 50 pairs; keys 1-128 bytes,
    /// values 1-256 bytes, of letters, digits, spaces and `_.:/=+-@`. Used by the log
    /// pusher. Default: none (an empty map, `tags: {}` included, means no tags).
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
        // An empty map is the default (no tags), not an empty `tags` block to refuse.
        problems.extend(validate_log_group_settings(
            "",
            self.log_retention,
            (!self.tags.is_empty()).then_some(&self.tags),
        ));
        problems
    }
}
