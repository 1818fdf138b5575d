//! The translator's options, with upstream's config keys.

use serde::Deserialize;
use stratus_core::factory::{ConfigProblem, Validate};

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

#[cfg(test)]
mod tests;
