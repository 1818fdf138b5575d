//! The `azureloganalytics` config: the Logs Ingestion API when `dcr_immutable_id` is
//! set, else the legacy HTTP Data Collector API.

use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;
use stratus_azure_common::AuthenticationConfig;
use stratus_core::confval::Secret;
use stratus_core::factory::{ConfigProblem, Validate};
use stratus_exporter_helper::config::{DEFAULT_TIMEOUT, validate_shared};
use stratus_exporter_helper::{ExporterSettings, QueueConfig, RetryConfig};

/// The `azureloganalytics` exporter's config.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AzureLogAnalyticsConfig {
    /// Data Collector API: the workspace id (a GUID). Default: empty.
    pub workspace_id: String,
    /// Data Collector API: the workspace's primary or secondary key (base64). Never
    /// logged. Default: empty.
    pub workspace_key: Secret,
    /// Data Collector API: the record type (`Log-Type`); the table is `<log_type>_CL`.
    /// Letters, digits and `_`, at most 100. Default: empty.
    pub log_type: String,
    /// Data Collector API: the record field holding the time (`time-generated-field`).
    /// Default `TimeGenerated`.
    pub time_generated_field: String,
    /// Logs Ingestion API: the data collection endpoint (DCE) URL, required. Data
    /// Collector API: an optional base URL replacing
    /// `https://{workspace_id}.ods.opinsights.azure.com`. Default: empty.
    pub endpoint: String,
    /// Logs Ingestion API: the data collection rule's immutable id (`dcr-…`); setting it
    /// selects the Logs Ingestion API. Default: empty.
    pub dcr_immutable_id: String,
    /// Logs Ingestion API: the DCR stream (`Custom-OTelTraces_CL`). Default: empty.
    pub stream_name: String,
    /// Logs Ingestion API: the Entra ID credential (see `stratus-azure-common`).
    /// Default: none (required with `dcr_immutable_id`).
    pub authentication: Option<AuthenticationConfig>,
    /// Per-attempt timeout. Default `5s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub timeout: Duration,
    /// Retries of failed requests. Default: enabled, 5s initial, 30s max, 300s total.
    pub retry_on_failure: RetryConfig,
    /// The sending queue. Default: enabled, 10 consumers, 1000 requests.
    pub sending_queue: QueueConfig,
}

#[allow(clippy::derivable_impls)] // house rule: one hand-written Default
impl Default for AzureLogAnalyticsConfig {
    fn default() -> Self {
        AzureLogAnalyticsConfig {
            workspace_id: String::new(),
            workspace_key: Secret::default(),
            log_type: String::new(),
            time_generated_field: "TimeGenerated".to_string(),
            endpoint: String::new(),
            dcr_immutable_id: String::new(),
            stream_name: String::new(),
            authentication: None,
            timeout: DEFAULT_TIMEOUT,
            retry_on_failure: RetryConfig::default(),
            sending_queue: QueueConfig::default(),
        }
    }
}

/// Which API a config speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Logs Ingestion API (DCE + DCR + stream, Entra ID).
    LogsIngestion,
    /// The retired HTTP Data Collector API (workspace id + SharedKey).
    DataCollector,
}

fn is_http_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://"))
        && s.parse::<http::Uri>().is_ok_and(|u| u.host().is_some())
}

impl AzureLogAnalyticsConfig {
    /// The API this config speaks.
    pub fn api(&self) -> Api {
        if self.dcr_immutable_id.trim().is_empty() {
            Api::DataCollector
        } else {
            Api::LogsIngestion
        }
    }

    /// Where requests go: the full URL with its query.
    pub fn url(&self) -> String {
        let base = self.endpoint.trim().trim_end_matches('/');
        match self.api() {
            Api::LogsIngestion => format!(
                "{base}/dataCollectionRules/{}/streams/{}?api-version=2023-01-01",
                self.dcr_immutable_id.trim(),
                self.stream_name.trim()
            ),
            Api::DataCollector if base.is_empty() => format!(
                "https://{}.ods.opinsights.azure.com/api/logs?api-version=2016-04-01",
                self.workspace_id.trim()
            ),
            Api::DataCollector => format!("{base}/api/logs?api-version=2016-04-01"),
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

impl Validate for AzureLogAnalyticsConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut p = Vec::new();
        let endpoint = self.endpoint.trim();
        if !endpoint.is_empty() && !is_http_url(endpoint) {
            p.push(ConfigProblem::new(
                "endpoint",
                "must be an http:// or https:// URL",
            ));
        }
        match self.api() {
            Api::LogsIngestion => {
                if endpoint.is_empty() {
                    p.push(ConfigProblem::new(
                        "endpoint",
                        "is required with `dcr_immutable_id`: the data collection endpoint, \
                         e.g. `https://my-dce-abcd.westeurope-1.ingest.monitor.azure.com`",
                    ));
                }
                if self.stream_name.trim().is_empty() {
                    p.push(ConfigProblem::new(
                        "stream_name",
                        "is required with `dcr_immutable_id`, e.g. `Custom-OTelTraces_CL`",
                    ));
                }
                match &self.authentication {
                    None => p.push(ConfigProblem::new(
                        "authentication",
                        "is required with `dcr_immutable_id`: `type: client_secret`, \
                         `managed_identity` or `workload_identity`",
                    )),
                    Some(a) => p.extend(a.validate().into_iter().map(|mut x| {
                        x.path = format!("authentication::{}", x.path);
                        x
                    })),
                }
                for (key, set) in [
                    ("workspace_key", !self.workspace_key.is_empty()),
                    ("log_type", !self.log_type.is_empty()),
                ] {
                    if set {
                        p.push(ConfigProblem::new(
                            key,
                            "belongs to the Data Collector API and is not used with \
                             `dcr_immutable_id`: remove it",
                        ));
                    }
                }
            }
            Api::DataCollector => {
                if self.workspace_id.trim().is_empty() {
                    p.push(ConfigProblem::new(
                        "workspace_id",
                        "is required (or set `dcr_immutable_id`, `endpoint`, `stream_name` and \
                         `authentication` for the Logs Ingestion API)",
                    ));
                } else if !self
                    .workspace_id
                    .trim()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
                {
                    p.push(ConfigProblem::new(
                        "workspace_id",
                        "must be the workspace GUID",
                    ));
                }
                if self.workspace_key.is_empty() {
                    p.push(ConfigProblem::new("workspace_key", "is required"));
                } else if base64::engine::general_purpose::STANDARD
                    .decode(self.workspace_key.expose().trim())
                    .is_err()
                {
                    p.push(ConfigProblem::new(
                        "workspace_key",
                        "is not base64 (the key as the portal shows it)",
                    ));
                }
                let lt = &self.log_type;
                if lt.is_empty() {
                    p.push(ConfigProblem::new(
                        "log_type",
                        "is required, e.g. `OTelTraces`",
                    ));
                } else if lt.len() > 100
                    || !lt.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    p.push(ConfigProblem::new(
                        "log_type",
                        "must be letters, digits and `_`, at most 100 characters",
                    ));
                }
                if self.time_generated_field.trim().is_empty() {
                    p.push(ConfigProblem::new(
                        "time_generated_field",
                        "must not be empty",
                    ));
                }
                for (key, set) in [
                    ("stream_name", !self.stream_name.is_empty()),
                    ("authentication", self.authentication.is_some()),
                ] {
                    if set {
                        p.push(ConfigProblem::new(
                            key,
                            "belongs to the Logs Ingestion API: set `dcr_immutable_id` too",
                        ));
                    }
                }
            }
        }
        p.extend(validate_shared(&self.retry_on_failure, &self.sending_queue));
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> AzureLogAnalyticsConfig {
        serde_json::from_value(v).unwrap()
    }
    fn paths(c: &AzureLogAnalyticsConfig) -> Vec<String> {
        c.validate().into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn the_briefs_block_is_the_data_collector_api() {
        let c = parse(
            json!({"workspace_id": "abc-123", "workspace_key": "c2VjcmV0",
            "log_type": "OTelTraces"}),
        );
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        assert_eq!(c.api(), Api::DataCollector);
        assert_eq!(
            c.url(),
            "https://abc-123.ods.opinsights.azure.com/api/logs?api-version=2016-04-01"
        );
        let c = parse(
            json!({"workspace_id": "w", "workspace_key": "c2VjcmV0", "log_type": "T",
            "endpoint": "http://127.0.0.1:8080/"}),
        );
        assert_eq!(
            c.url(),
            "http://127.0.0.1:8080/api/logs?api-version=2016-04-01"
        );
        assert!(!format!("{c:?}").contains("c2VjcmV0"));
    }

    #[test]
    fn default_and_bad_values_are_reported_at_their_paths() {
        assert_eq!(
            paths(&AzureLogAnalyticsConfig::default()),
            ["workspace_id", "workspace_key", "log_type"]
        );
        let c =
            parse(json!({"workspace_id": "w", "workspace_key": "not base64!", "log_type": "a-b"}));
        assert_eq!(paths(&c), ["workspace_key", "log_type"]);
        assert!(
            c.validate()
                .iter()
                .all(|p| !p.message.contains("not base64!"))
        );
    }

    #[test]
    fn logs_ingestion_needs_endpoint_stream_and_authentication() {
        let c = parse(json!({"dcr_immutable_id": "dcr-1"}));
        assert_eq!(paths(&c), ["endpoint", "stream_name", "authentication"]);
        let c = parse(
            json!({"dcr_immutable_id": "dcr-1", "endpoint": "https://dce.example",
            "stream_name": "Custom-X_CL", "authentication": {"type": "client_secret"},
            "log_type": "X"}),
        );
        assert_eq!(
            paths(&c),
            [
                "authentication::tenant_id",
                "authentication::client_id",
                "authentication::client_secret",
                "log_type"
            ]
        );
        let c = parse(
            json!({"dcr_immutable_id": "dcr-1", "endpoint": "https://dce.example/",
            "stream_name": "Custom-X_CL", "authentication": {"type": "managed_identity"}}),
        );
        assert!(c.validate().is_empty());
        assert_eq!(
            c.url(),
            "https://dce.example/dataCollectionRules/dcr-1/streams/Custom-X_CL?api-version=2023-01-01"
        );
    }
}
