//! The health check's config: the collector's `health_check` keys and defaults.

use std::time::Duration;

use serde::Deserialize;
use stratus_core::endpoint::{Endpoint, EndpointError};
use stratus_core::factory::{ConfigProblem, Validate};

/// Config of the `health_check` extension.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthCheckConfig {
    /// Address the HTTP server listens on, `host:port` (an empty host listens on every
    /// interface). Default `localhost:13133`.
    pub endpoint: String,
    /// URL path that answers health requests; must start with `/`. Default `/`.
    pub path: String,
    /// Fixed response bodies that replace the JSON status document. Default unset.
    pub response_body: Option<ResponseBody>,
    /// The collector's exporter-failure based health check. Accepted so existing
    /// configs load; not acted on yet. Default disabled.
    pub check_collector_pipeline: CheckCollectorPipeline,
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        HealthCheckConfig {
            endpoint: "localhost:13133".to_string(),
            path: "/".to_string(),
            response_body: None,
            check_collector_pipeline: CheckCollectorPipeline::default(),
        }
    }
}

/// Fixed bodies for health responses (sent as `text/plain`). Both default to empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResponseBody {
    /// Body of the 200 answer while the collector is ready. Default empty.
    pub healthy: String,
    /// Body of the 503 answer while it is starting or stopping. Default empty.
    pub unhealthy: String,
}

/// The collector's `check_collector_pipeline` block. Accepted and validated; stratus
/// does not act on it yet.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckCollectorPipeline {
    /// Whether exporter failures make the check unhealthy. Default `false`.
    pub enabled: bool,
    /// Window over which exporter failures are counted (a duration). Default `5m`.
    #[serde(with = "stratus_core::confval::duration")]
    pub interval: Duration,
    /// Exporter failures within `interval` that make the check unhealthy; must be
    /// positive. Default `5`.
    pub exporter_failure_threshold: i64,
}

impl Default for CheckCollectorPipeline {
    fn default() -> Self {
        CheckCollectorPipeline {
            enabled: false,
            interval: Duration::from_secs(300),
            exporter_failure_threshold: 5,
        }
    }
}

impl HealthCheckConfig {
    /// `endpoint` parsed by the one listen-endpoint parser ([`stratus_core::endpoint`]):
    /// `:13133` listens on every interface.
    pub fn listen_endpoint(&self) -> Result<Endpoint, EndpointError> {
        self.endpoint.parse()
    }
}

fn endpoint_problem(endpoint: &str) -> Option<String> {
    if endpoint.trim().is_empty() {
        return Some("must not be empty (e.g. `localhost:13133`)".to_string());
    }
    endpoint
        .parse::<Endpoint>()
        .err()
        .map(|e| format!("invalid endpoint: {e}"))
}

impl Validate for HealthCheckConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if let Some(message) = endpoint_problem(&self.endpoint) {
            problems.push(ConfigProblem::new("endpoint", message));
        }
        if !self.path.starts_with('/') {
            problems.push(ConfigProblem::new(
                "path",
                format!("must start with `/`, got `{}`", self.path),
            ));
        }
        if self.check_collector_pipeline.exporter_failure_threshold <= 0 {
            problems.push(ConfigProblem::new(
                "check_collector_pipeline::exporter_failure_threshold",
                format!(
                    "must be a positive number, got {}",
                    self.check_collector_pipeline.exporter_failure_threshold
                ),
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use stratus_core::factory::decode_config;

    fn paths(raw: Value) -> Vec<String> {
        decode_config::<HealthCheckConfig>(&raw)
            .unwrap_err()
            .into_iter()
            .map(|p| p.path)
            .collect()
    }

    #[test]
    fn defaults_match_the_collector() {
        let c: HealthCheckConfig = decode_config(&Value::Null).unwrap();
        assert_eq!(c.endpoint, "localhost:13133");
        assert_eq!(c.path, "/");
        assert_eq!(c.response_body, None);
        assert!(!c.check_collector_pipeline.enabled);
        assert_eq!(
            c.check_collector_pipeline.interval,
            Duration::from_secs(300)
        );
        assert_eq!(c.check_collector_pipeline.exporter_failure_threshold, 5);
    }

    #[test]
    fn decodes_every_key() {
        let c: HealthCheckConfig = decode_config(&json!({
            "endpoint": "0.0.0.0:13134",
            "path": "/health/status",
            "response_body": {"healthy": "I'm OK", "unhealthy": "I'm not well"},
            "check_collector_pipeline": {
                "enabled": true, "interval": "1m", "exporter_failure_threshold": 3
            },
        }))
        .unwrap();
        assert_eq!(c.endpoint, "0.0.0.0:13134");
        assert_eq!(c.path, "/health/status");
        let body = c.response_body.unwrap();
        assert_eq!(body.healthy, "I'm OK");
        assert_eq!(body.unhealthy, "I'm not well");
        assert!(c.check_collector_pipeline.enabled);
        assert_eq!(c.check_collector_pipeline.interval, Duration::from_secs(60));
        assert_eq!(c.check_collector_pipeline.exporter_failure_threshold, 3);
        let c: HealthCheckConfig =
            decode_config(&json!({"response_body": {"healthy": "up"}})).unwrap();
        assert_eq!(c.response_body.unwrap().unhealthy, "");
    }

    #[test]
    fn reports_every_bad_value() {
        assert_eq!(
            paths(json!({
                "endpoint": "localhost",
                "path": "health",
                "check_collector_pipeline": {"exporter_failure_threshold": 0},
            })),
            [
                "endpoint",
                "path",
                "check_collector_pipeline::exporter_failure_threshold"
            ]
        );
        assert_eq!(paths(json!({"endpoint": ""})), ["endpoint"]);
        assert_eq!(paths(json!({"endpoint": "localhost:99999"})), ["endpoint"]);
        assert_eq!(paths(json!({"endpoint": "local host:1"})), ["endpoint"]);
        assert_eq!(
            paths(json!({"check_collector_pipeline": {"interval": "often"}})),
            ["check_collector_pipeline::interval"]
        );
        assert_eq!(paths(json!({"port": 13133})), ["port"]);
        assert_eq!(
            paths(json!({"response_body": {"healthy": "x", "sick": "y"}})),
            ["response_body::sick"]
        );
    }

    #[test]
    fn accepts_the_usual_endpoint_forms() {
        for endpoint in ["localhost:13133", "0.0.0.0:0", "[::1]:13133", ":13133"] {
            decode_config::<HealthCheckConfig>(&json!({ "endpoint": endpoint }))
                .unwrap_or_else(|e| panic!("{endpoint}: {e:?}"));
        }
        let any: HealthCheckConfig = decode_config(&json!({"endpoint": ":13133"})).unwrap();
        assert_eq!(
            any.listen_endpoint().unwrap().host(),
            &stratus_core::endpoint::Host::Any
        );
        assert_eq!(paths(json!({"endpoint": "::1:13133"})), ["endpoint"]);
    }
}
