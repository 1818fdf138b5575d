//! The admin and zpages extensions' config: upstream zpages' keys and defaults.

use serde::Deserialize;
use stratus_core::endpoint::Endpoint;
use stratus_core::factory::{ConfigProblem, Validate};

/// Where both extensions listen by default: the collector's zPages port, on loopback.
pub const DEFAULT_ENDPOINT: &str = "localhost:55679";

/// Config of the `admin` and `zpages` extensions.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Address the HTTP server listens on, `host:port` (an empty host listens on every
    /// interface). Default `localhost:55679`.
    pub endpoint: String,
    /// An authenticator extension that checks every request (`basicauth`,
    /// `bearertokenauth`, `oidc`). Default unset: anyone who can reach the endpoint
    /// may read it, which is why it listens on loopback by default.
    pub auth: Option<AuthSettings>,
    /// Upstream zpages' `expvar` page (Go's runtime variables). Accepted so existing
    /// configs load; stratus has no Go runtime, so `/debug/expvarz` answers with the
    /// process figures instead. Default disabled.
    pub expvar: Expvar,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            endpoint: DEFAULT_ENDPOINT.to_string(),
            auth: None,
            expvar: Expvar::default(),
        }
    }
}

/// `auth`: the authenticator extension's id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// The id of an authenticator extension listed before this one in
    /// `service::extensions`.
    pub authenticator: String,
}

/// `expvar`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Expvar {
    /// Whether `/debug/expvarz` is served. Default `false`.
    pub enabled: bool,
}

impl AdminConfig {
    /// `endpoint` parsed by the one listen-endpoint parser.
    pub fn listen_endpoint(&self) -> Result<Endpoint, String> {
        self.endpoint.parse().map_err(|e| format!("{e}"))
    }
}

impl Validate for AdminConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.endpoint.trim().is_empty() {
            problems.push(ConfigProblem::new(
                "endpoint",
                format!("must not be empty (e.g. `{DEFAULT_ENDPOINT}`)"),
            ));
        } else if let Err(e) = self.listen_endpoint() {
            problems.push(ConfigProblem::new(
                "endpoint",
                format!("invalid endpoint: {e}"),
            ));
        }
        if let Some(auth) = &self.auth
            && auth.authenticator.trim().is_empty()
        {
            problems.push(ConfigProblem::new(
                "auth::authenticator",
                "must name an authenticator extension (e.g. `basicauth`)",
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
        decode_config::<AdminConfig>(&raw)
            .unwrap_err()
            .into_iter()
            .map(|p| p.path)
            .collect()
    }

    #[test]
    fn defaults_match_zpages() {
        let c: AdminConfig = decode_config(&Value::Null).unwrap();
        assert_eq!(c.endpoint, "localhost:55679");
        assert_eq!(c.auth, None);
        assert!(!c.expvar.enabled);
    }

    #[test]
    fn decodes_every_key() {
        let c: AdminConfig = decode_config(&json!({
            "endpoint": "0.0.0.0:55680",
            "auth": {"authenticator": "basicauth/admin"},
            "expvar": {"enabled": true},
        }))
        .unwrap();
        assert_eq!(c.endpoint, "0.0.0.0:55680");
        assert_eq!(c.auth.unwrap().authenticator, "basicauth/admin");
        assert!(c.expvar.enabled);
    }

    #[test]
    fn reports_every_bad_value() {
        assert_eq!(
            paths(json!({"endpoint": "localhost", "auth": {"authenticator": ""}})),
            ["endpoint", "auth::authenticator"]
        );
        assert_eq!(paths(json!({"endpoint": ""})), ["endpoint"]);
        assert_eq!(paths(json!({"port": 55679})), ["port"]);
        assert_eq!(paths(json!({"expvar": {"on": true}})), ["expvar::on"]);
    }
}
