//! The `awsemf` exporter's own keys, with upstream's names and defaults
//! (contrib `exporter/awsemfexporter/config.go`, `config.schema.yaml`, `factory.go`).
//!
//! [`AwsEmfExporterConfig`] is the exporter's whole config, as the user writes it.
//! [`EmfConfig`] holds every key of the exporter except the AWS session keys
//! (`region`, `endpoint`, `role_arn`, `max_retries`, ...) and the exporter helper's
//! (`sending_queue`, `retry_on_failure`, `timeout`): the exporter's config puts those
//! beside it. [`EmfConfig::KEYS`] and [`EmfConfig::take_keys`] split a component's
//! raw config into the two parts, so both can keep `deny_unknown_fields`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use stratus_aws_common::cwlogs::group_settings::validate_log_group_settings;
use stratus_aws_common::cwlogs::pusher::GroupSettings;
use stratus_aws_common::session::AwsSessionConfig;
use stratus_core::factory::{ConfigProblem, Validate};
use stratus_exporter_helper::config::{DEFAULT_TIMEOUT, validate_shared};
use stratus_exporter_helper::{ExporterSettings, QueueConfig, RetryConfig};

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

/// The config of the `awsemf` exporter (also registered as `awscloudwatch`, the
/// product brief's name): upstream's keys (`exporter/awsemfexporter/config.go`) at
/// the top level, as upstream's are: the EMF keys of [`EmfConfig`], the AWS session
/// keys (upstream's squashed `AWSSessionSettings`), `middleware`, plus the exporter
/// helper's `timeout`, `retry_on_failure` and `sending_queue`.
///
/// The keys are listed here, not flattened (`#[serde(flatten)]` would turn off
/// unknown-key errors); [`AwsEmfExporterConfig::emf`] and
/// [`AwsEmfExporterConfig::session`] copy them into [`EmfConfig`] and
/// [`AwsSessionConfig`], whose checks report at the same (top-level) paths.
///
/// ```
/// use stratus_core::factory::{Validate, decode_config};
/// use stratus_exporter_awsemf::AwsEmfExporterConfig;
///
/// // The product brief's block, verbatim.
/// let config: AwsEmfExporterConfig = decode_config(&serde_json::json!({
///     "namespace": "OTLP/Metrics",
///     "region": "us-east-1",
///     "metric_declarations": [{
///         "dimensions": [["service.name", "operation"]],
///         "metric_name_selectors": ["^http\\..*", "^rpc\\..*"],
///     }],
/// })).unwrap();
/// assert!(config.validate().is_empty());
/// assert_eq!(config.session().region, "us-east-1");
/// assert_eq!(config.emf().namespace, "OTLP/Metrics");
/// assert_eq!(config.sending_queue.num_consumers, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsEmfExporterConfig {
    /// CloudWatch metrics namespace. Default `""`: `service.namespace/service.name`
    /// of each resource, else `service.name`, else `service.namespace`, else `default`.
    pub namespace: String,
    /// Log group, with placeholders (see [`EmfConfig::log_group_name`]). Default `""`:
    /// `/metrics/<namespace>`.
    pub log_group_name: String,
    /// Log stream, with placeholders. Default `""`: `otel-stream-<uuid>`, a random
    /// UUID per exporter instance (upstream's default).
    pub log_stream_name: String,
    /// Retention of log groups the exporter creates, in days; `0` never expires.
    /// Default `0`.
    pub log_retention: i64,
    /// Tags of log groups the exporter creates (at most 50). Default: none.
    pub tags: BTreeMap<String, String>,
    /// Rolled-up dimension sets. Default `ZeroAndSingleDimensionRollup`.
    pub dimension_rollup_option: DimensionRollupOption,
    /// Which metrics become CloudWatch metrics, with which dimensions. Default: none
    /// (every metric, all its labels as one dimension set).
    pub metric_declarations: Vec<MetricDeclarationConfig>,
    /// Unit overrides. Default: none.
    pub metric_descriptors: Vec<MetricDescriptorConfig>,
    /// Labels whose values are JSON text, written as JSON. Default: none.
    pub parse_json_encoded_attr_values: Vec<String>,
    /// `cloudwatch` (PutLogEvents) or `stdout` (one EMF JSON per line on standard
    /// output, no AWS call and no AWS client). Default `cloudwatch`.
    pub output_destination: OutputDestination,
    /// Container Insights `kubernetes` object for `Type: Pod/Container` points.
    /// Default `false`.
    pub eks_fargate_container_insights_enabled: bool,
    /// No `_aws` metadata: plain structured log lines. Default `false`.
    pub disable_metric_extraction: bool,
    /// Resource attributes as labels (and so as dimensions). Default: disabled.
    pub resource_to_telemetry_conversion: ResourceToTelemetryConfig,
    /// Summaries as `<name>_sum`, `<name>_count` and per-quantile metrics. Default
    /// `false`.
    pub detailed_metrics: bool,
    /// EMF version, `"1"` or `"0"`. Default `"1"`.
    pub version: EmfVersion,
    /// Send the first value of a cumulative sum instead of keeping it only as the
    /// baseline. Default `false`.
    pub retain_initial_value_of_delta_metric: bool,
    /// The AWS region (`us-east-1`). Default empty: `AWS_REGION`, the profile, then
    /// IMDS.
    pub region: String,
    /// An `http://` or `https://` URL replacing CloudWatch Logs' endpoint (tests, VPC
    /// endpoints, FIPS). Default empty: the region's endpoint.
    pub endpoint: String,
    /// An IAM role ARN to assume on top of the default chain's credentials. Default
    /// empty.
    pub role_arn: String,
    /// The external id for assuming `role_arn`. Default empty.
    pub external_id: String,
    /// The shared-config profile. Default empty: `AWS_PROFILE`, else `default`.
    pub profile: String,
    /// Shared credentials files replacing `~/.aws/credentials`. Default: none.
    pub shared_credentials_file: Vec<String>,
    /// Seconds one AWS call may take; `0` for no limit. Default 30.
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
    /// Upstream's middleware extension id. Not supported: a value is refused.
    /// Default: none.
    pub middleware: Option<String>,
    /// How long one attempt of a request (the PutLogEvents calls of a batch) may
    /// take; `0` for no limit. Default `5s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub timeout: Duration,
    /// Retries of failed requests. Default: enabled, 5s initial, 30s max, 300s total.
    pub retry_on_failure: RetryConfig,
    /// The sending queue. Default: enabled, **1 consumer** (cumulative series are
    /// turned into deltas as batches are sent, so batches go one at a time and in
    /// order; more consumers may reorder two batches of a series), 1000 requests.
    pub sending_queue: QueueConfig,
}

impl Default for AwsEmfExporterConfig {
    fn default() -> Self {
        let emf = EmfConfig::default();
        let session = AwsSessionConfig::default();
        AwsEmfExporterConfig {
            namespace: emf.namespace,
            log_group_name: emf.log_group_name,
            log_stream_name: emf.log_stream_name,
            log_retention: emf.log_retention,
            tags: emf.tags,
            dimension_rollup_option: emf.dimension_rollup_option,
            metric_declarations: emf.metric_declarations,
            metric_descriptors: emf.metric_descriptors,
            parse_json_encoded_attr_values: emf.parse_json_encoded_attr_values,
            output_destination: emf.output_destination,
            eks_fargate_container_insights_enabled: emf.eks_fargate_container_insights_enabled,
            disable_metric_extraction: emf.disable_metric_extraction,
            resource_to_telemetry_conversion: emf.resource_to_telemetry_conversion,
            detailed_metrics: emf.detailed_metrics,
            version: emf.version,
            retain_initial_value_of_delta_metric: emf.retain_initial_value_of_delta_metric,
            region: session.region,
            endpoint: session.endpoint,
            role_arn: session.role_arn,
            external_id: session.external_id,
            profile: session.profile,
            shared_credentials_file: session.shared_credentials_file,
            request_timeout_seconds: session.request_timeout_seconds,
            max_retries: session.max_retries,
            num_workers: session.num_workers,
            no_verify_ssl: session.no_verify_ssl,
            proxy_address: session.proxy_address,
            local_mode: session.local_mode,
            resource_arn: session.resource_arn,
            certificate_file_path: session.certificate_file_path,
            imds_retries: session.imds_retries,
            middleware: None,
            timeout: DEFAULT_TIMEOUT,
            retry_on_failure: RetryConfig::default(),
            sending_queue: QueueConfig {
                num_consumers: 1,
                ..QueueConfig::default()
            },
        }
    }
}

impl AwsEmfExporterConfig {
    /// The EMF keys as an [`EmfConfig`] for the translator.
    pub fn emf(&self) -> EmfConfig {
        EmfConfig {
            namespace: self.namespace.clone(),
            log_group_name: self.log_group_name.clone(),
            log_stream_name: self.log_stream_name.clone(),
            log_retention: self.log_retention,
            tags: self.tags.clone(),
            dimension_rollup_option: self.dimension_rollup_option,
            metric_declarations: self.metric_declarations.clone(),
            metric_descriptors: self.metric_descriptors.clone(),
            parse_json_encoded_attr_values: self.parse_json_encoded_attr_values.clone(),
            output_destination: self.output_destination,
            eks_fargate_container_insights_enabled: self.eks_fargate_container_insights_enabled,
            disable_metric_extraction: self.disable_metric_extraction,
            resource_to_telemetry_conversion: self.resource_to_telemetry_conversion,
            detailed_metrics: self.detailed_metrics,
            version: self.version,
            retain_initial_value_of_delta_metric: self.retain_initial_value_of_delta_metric,
        }
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

    /// The log group settings (`log_retention`, `tags`) for the pusher.
    pub fn group_settings(&self) -> GroupSettings {
        GroupSettings {
            retention_days: self.log_retention,
            tags: self.tags.clone(),
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

impl Validate for AwsEmfExporterConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = self.emf().validate();
        problems.extend(self.session().problems_at(""));
        if self.middleware.is_some() {
            problems.push(ConfigProblem::new(
                "middleware",
                "middleware extensions are not supported by stratus: remove it",
            ));
        }
        problems.extend(validate_shared(&self.retry_on_failure, &self.sending_queue));
        problems
    }
}
