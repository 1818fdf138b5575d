//! The `awsxray` exporter's config ([`AwsXrayConfig`]) and the translator's options
//! ([`TranslatorConfig`]), with upstream's keys.

use std::time::Duration;

use serde::Deserialize;
use stratus_aws_common::session::{
    AwsSessionConfig, DEFAULT_MAX_RETRIES, DEFAULT_NUM_WORKERS, DEFAULT_REQUEST_TIMEOUT_SECONDS,
};
use stratus_core::factory::{ConfigProblem, Validate};
use stratus_exporter_helper::config::{DEFAULT_TIMEOUT, validate_shared};
use stratus_exporter_helper::{ExporterSettings, QueueConfig, RetryConfig};

/// The keys of the `awsxray` exporter that shape the documents (upstream
/// `exporter/awsxrayexporter/config.go`: `indexed_attributes`,
/// `index_all_attributes`, `aws_log_groups`), plus the switch for dots in
/// annotation keys, which upstream has only as a feature gate.
///
/// The exporter's config holds these keys at its top level, as upstream's does, and
/// builds this struct from them for [`Translator::new`](crate::Translator::new); it
/// also deserialises on its own (`deny_unknown_fields`), for tests and tools.
///
/// ```
/// use stratus_exporter_awsxray::TranslatorConfig;
///
/// let config: TranslatorConfig = serde_yaml_ng::from_str(
///     "{ index_all_attributes: true, indexed_attributes: [http.method, http.status_code, error] }",
/// ).unwrap();
/// assert!(config.index_all_attributes);
/// assert!(config.allow_dot_in_annotation_keys);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TranslatorConfig {
    /// Attribute names (span or resource; a resource attribute is named
    /// `otel.resource.<key>`) to write as X-Ray annotations, which X-Ray indexes for
    /// filtering, instead of metadata. Listed attributes are indexed even when a block
    /// such as `http` already carries them. Default: none.
    pub indexed_attributes: Vec<String>,
    /// Write every span and resource attribute with a string, number or boolean value
    /// as an annotation; `indexed_attributes` is then not needed. Default `false`.
    pub index_all_attributes: bool,
    /// CloudWatch Logs group names written to `aws.cloudwatch_logs` when the resource
    /// names none (`aws.log.group.arns` / `aws.log.group.names`), which links the
    /// trace to its logs in the X-Ray console. Default: none.
    pub aws_log_groups: Vec<String>,
    /// Keep `.` in annotation keys (`http.method` stays `http.method`); `false`
    /// replaces it with `_` (`http_method`), as upstream did before v0.97.0 and does
    /// with `--feature-gates=-exporter.xray.allowDot`. Other characters than
    /// `[0-9A-Za-z]` always become `_`. Default `true`, upstream's default.
    pub allow_dot_in_annotation_keys: bool,
}

impl Default for TranslatorConfig {
    fn default() -> Self {
        TranslatorConfig {
            indexed_attributes: Vec::new(),
            index_all_attributes: false,
            aws_log_groups: Vec::new(),
            allow_dot_in_annotation_keys: true,
        }
    }
}

impl Validate for TranslatorConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        for (i, name) in self.indexed_attributes.iter().enumerate() {
            if name.is_empty() {
                problems.push(ConfigProblem::new(
                    format!("indexed_attributes::{i}"),
                    "an empty attribute name matches no attribute",
                ));
            }
        }
        for (i, name) in self.aws_log_groups.iter().enumerate() {
            if name.is_empty() {
                problems.push(ConfigProblem::new(
                    format!("aws_log_groups::{i}"),
                    "a log group name cannot be empty",
                ));
            }
        }
        problems
    }
}

/// Upstream's `telemetry` block (contrib `internal/aws/xray/telemetry`): with
/// `enabled`, upstream sends its own send/receive counts to X-Ray with
/// `PutTelemetryRecords`. stratus does not: the block is accepted so upstream configs
/// load, and `enabled: true` is refused.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct XrayTelemetryConfig {
    /// Send `PutTelemetryRecords`. Not supported: `true` is refused. Default `false`.
    pub enabled: bool,
    /// Read the hostname, instance id and resource ARN from the metadata services.
    /// Not used. Default `false`.
    pub include_metadata: bool,
    /// Component ids whose counts upstream adds in. Not used. Default: none.
    pub contributors: Vec<String>,
    /// Hostname for the records. Not used. Default empty.
    pub hostname: String,
    /// EC2 instance id for the records. Not used. Default empty.
    pub instance_id: String,
    /// Resource ARN for the records. Not used. Default empty.
    pub resource_arn: String,
}

// The house rule: one hand-written Default holding every default.
#[allow(clippy::derivable_impls)]
impl Default for XrayTelemetryConfig {
    fn default() -> Self {
        XrayTelemetryConfig {
            enabled: false,
            include_metadata: false,
            contributors: Vec::new(),
            hostname: String::new(),
            instance_id: String::new(),
            resource_arn: String::new(),
        }
    }
}

/// The config of the `awsxray` exporter: upstream's keys
/// (`exporter/awsxrayexporter/config.go`): the translator's keys, the AWS session
/// keys at the top level (as upstream's squashed `AWSSessionSettings`), `telemetry`,
/// plus the exporter helper's `timeout`, `retry_on_failure` and `sending_queue`.
///
/// The session keys are listed here, not flattened (`#[serde(flatten)]` would turn
/// off unknown-key errors); [`AwsXrayConfig::session`] copies them into an
/// [`AwsSessionConfig`], which checks them at their own paths.
///
/// ```
/// use stratus_core::factory::{Validate, decode_config};
/// use stratus_exporter_awsxray::AwsXrayConfig;
///
/// let config: AwsXrayConfig = decode_config(&serde_json::json!({
///     "region": "us-east-1",
///     "index_all_attributes": true,
///     "indexed_attributes": ["http.method", "http.status_code", "error"],
/// })).unwrap();
/// assert!(config.validate().is_empty());
/// assert_eq!(config.session().region, "us-east-1");
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsXrayConfig {
    /// Attributes to write as annotations (see [`TranslatorConfig`]). Default: none.
    pub indexed_attributes: Vec<String>,
    /// Every attribute with a string, number or boolean value as an annotation.
    /// Default `false`.
    pub index_all_attributes: bool,
    /// CloudWatch Logs groups for `aws.cloudwatch_logs` when the resource names none.
    /// Default: none.
    pub aws_log_groups: Vec<String>,
    /// Keep `.` in annotation keys (upstream's `exporter.xray.allowDot` gate, on);
    /// `false` writes `http_method`. Default `true`.
    pub allow_dot_in_annotation_keys: bool,
    /// The AWS region (`us-east-1`). Default empty: `AWS_REGION`, the profile, then
    /// IMDS.
    pub region: String,
    /// An `http://` or `https://` URL replacing X-Ray's endpoint (tests, VPC
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
    /// Seconds one PutTraceSegments attempt may take; `0` for no limit (the
    /// exporter's `timeout` still bounds a request). Default 30.
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
    /// The ARN of the resource running the collector (upstream uses it for
    /// telemetry records). Not used. Default empty.
    pub resource_arn: String,
    /// Extra CA certificates. Not supported: a value is refused. Default empty.
    pub certificate_file_path: String,
    /// IMDSv2 retries. Not supported: only 0 is accepted. Default 0.
    pub imds_retries: u32,
    /// Upstream's exporter telemetry (`PutTelemetryRecords`); see
    /// [`XrayTelemetryConfig`]. Default: disabled.
    pub telemetry: XrayTelemetryConfig,
    /// Upstream's middleware extension id. Not supported: a value is refused.
    /// Default: none.
    pub middleware: Option<String>,
    /// How long one attempt of a request (the PutTraceSegments calls of a batch) may
    /// take; `0` for no limit. Default `5s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub timeout: Duration,
    /// Retries of failed requests. Default: enabled, 5s initial, 30s max, 300s total.
    pub retry_on_failure: RetryConfig,
    /// The sending queue. Default: enabled, 10 consumers, 1000 requests.
    pub sending_queue: QueueConfig,
}

impl Default for AwsXrayConfig {
    fn default() -> Self {
        AwsXrayConfig {
            indexed_attributes: Vec::new(),
            index_all_attributes: false,
            aws_log_groups: Vec::new(),
            allow_dot_in_annotation_keys: true,
            region: String::new(),
            endpoint: String::new(),
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
            telemetry: XrayTelemetryConfig::default(),
            middleware: None,
            timeout: DEFAULT_TIMEOUT,
            retry_on_failure: RetryConfig::default(),
            sending_queue: QueueConfig::default(),
        }
    }
}

impl AwsXrayConfig {
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

    /// The translator's keys as a [`TranslatorConfig`].
    pub fn translator(&self) -> TranslatorConfig {
        TranslatorConfig {
            indexed_attributes: self.indexed_attributes.clone(),
            index_all_attributes: self.index_all_attributes,
            aws_log_groups: self.aws_log_groups.clone(),
            allow_dot_in_annotation_keys: self.allow_dot_in_annotation_keys,
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

impl Validate for AwsXrayConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = self.translator().validate();
        problems.extend(self.session().problems_at(""));
        if self.telemetry.enabled {
            problems.push(ConfigProblem::new(
                "telemetry::enabled",
                "sending the exporter's own telemetry to X-Ray (PutTelemetryRecords) is not \
                 supported by stratus: remove it (or set it to false); stratus's own metrics \
                 are on service::telemetry::metrics",
            ));
        }
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

#[cfg(test)]
mod tests;
