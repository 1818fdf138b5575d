//! The `oauth2client` extension's config: upstream's `oauth2clientauthextension` keys
//! and defaults.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};
use stratus_core::confval::Secret;
use stratus_core::factory::{ConfigProblem, Validate};
use stratus_tls::{TlsClientConfig, prefixed};

/// `grant_type` of the client-credentials flow (RFC 6749 §4.4), the default.
pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";

/// `grant_type` of the JWT bearer assertion flow (RFC 7523).
pub const GRANT_JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// One `endpoint_params` value: a string, or a list of strings (a repeated form
/// field), as Go's `url.Values` takes them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ParamValues {
    /// One value.
    One(String),
    /// Several values, sent as repeated fields.
    Many(Vec<String>),
}

impl ParamValues {
    /// The values in order.
    pub fn values(&self) -> Vec<&str> {
        match self {
            ParamValues::One(v) => vec![v.as_str()],
            ParamValues::Many(vs) => vs.iter().map(String::as_str).collect(),
        }
    }
}

/// Config of the `oauth2client` extension.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OAuth2ClientConfig {
    /// The client identifier (RFC 6749 §2.2). Required unless `client_id_file`.
    /// Default empty.
    pub client_id: String,
    /// A file holding the client identifier (trimmed), read at every token fetch;
    /// wins over `client_id`. Default empty.
    pub client_id_file: String,
    /// The client secret (RFC 6749 §2.3.1); a secret, never printed. Required for
    /// `client_credentials` unless `client_secret_file`. Default empty.
    pub client_secret: Secret,
    /// A file holding the client secret (trimmed), read at every token fetch; wins
    /// over `client_secret`. Default empty.
    pub client_secret_file: String,
    /// The token endpoint, `https://` (or `http://`). Required.
    pub token_url: String,
    /// Scopes requested, sent space-separated as `scope`. Default none.
    pub scopes: Vec<String>,
    /// Extra form fields sent to the token endpoint (`audience: api`); a list value
    /// repeats the field. They may replace `grant_type` but no other field stratus
    /// sends. Default none.
    pub endpoint_params: BTreeMap<String, ParamValues>,
    /// TLS to the token endpoint: the collector's `configtls` client keys. Default:
    /// the system's roots.
    pub tls: TlsClientConfig,
    /// How long one token request may take (a duration); `0` sets no limit of its
    /// own (the exporter's timeout still bounds the request that waits for it).
    /// Default `0`.
    #[serde(with = "stratus_core::confval::duration")]
    pub timeout: Duration,
    /// How long before its expiry a token is replaced (a duration). Default `5m`.
    #[serde(with = "stratus_core::confval::duration")]
    pub expiry_buffer: Duration,
    /// `client_credentials`, or `urn:ietf:params:oauth:grant-type:jwt-bearer` (a JWT
    /// signed with `client_certificate_key` is the credential). Default
    /// `client_credentials`.
    pub grant_type: String,
    /// jwt-bearer: the RSA private key (PEM, PKCS#1 or PKCS#8) that signs the
    /// assertion; a secret. Required for jwt-bearer unless
    /// `client_certificate_key_file`. Default empty.
    pub client_certificate_key: Secret,
    /// jwt-bearer: a file holding that key, read at every token fetch. Default empty.
    pub client_certificate_key_file: String,
    /// jwt-bearer: the `kid` put in the assertion's header. Default empty (none).
    pub client_certificate_key_id: String,
    /// jwt-bearer: `RS256`, `RS384` or `RS512`. Default empty (`RS256`).
    pub signature_algorithm: String,
    /// jwt-bearer: the assertion's `iss`. Default empty (the client id).
    pub iss: String,
    /// jwt-bearer: the assertion's `aud`. Default empty (`token_url`).
    pub audience: String,
    /// jwt-bearer: more claims for the assertion; they replace the standard ones of
    /// the same name. Default none.
    pub claims: Map<String, Value>,
}

impl Default for OAuth2ClientConfig {
    fn default() -> Self {
        OAuth2ClientConfig {
            client_id: String::new(),
            client_id_file: String::new(),
            client_secret: Secret::default(),
            client_secret_file: String::new(),
            token_url: String::new(),
            scopes: Vec::new(),
            endpoint_params: BTreeMap::new(),
            tls: TlsClientConfig::default(),
            timeout: Duration::ZERO,
            expiry_buffer: Duration::from_secs(300),
            grant_type: String::new(),
            client_certificate_key: Secret::default(),
            client_certificate_key_file: String::new(),
            client_certificate_key_id: String::new(),
            signature_algorithm: String::new(),
            iss: String::new(),
            audience: String::new(),
            claims: Map::new(),
        }
    }
}

impl OAuth2ClientConfig {
    /// Whether the JWT bearer grant is configured.
    pub fn is_jwt_bearer(&self) -> bool {
        self.grant_type == GRANT_JWT_BEARER
    }
}

impl Validate for OAuth2ClientConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.client_id.is_empty() && self.client_id_file.is_empty() {
            problems.push(ConfigProblem::new(
                "client_id",
                "required (or `client_id_file`)",
            ));
        }
        match self.grant_type.as_str() {
            "" | GRANT_CLIENT_CREDENTIALS => {
                if self.client_secret.is_empty() && self.client_secret_file.is_empty() {
                    problems.push(ConfigProblem::new(
                        "client_secret",
                        "required (or `client_secret_file`)",
                    ));
                }
            }
            GRANT_JWT_BEARER => {
                if self.client_certificate_key.is_empty()
                    && self.client_certificate_key_file.is_empty()
                {
                    problems.push(ConfigProblem::new(
                        "client_certificate_key",
                        format!(
                            "required with grant_type `{GRANT_JWT_BEARER}` (or \
                             `client_certificate_key_file`)"
                        ),
                    ));
                }
            }
            other => problems.push(ConfigProblem::new(
                "grant_type",
                format!(
                    "`{other}` is not supported: use `{GRANT_CLIENT_CREDENTIALS}` or \
                     `{GRANT_JWT_BEARER}`"
                ),
            )),
        }
        if !matches!(
            self.signature_algorithm.as_str(),
            "" | "RS256" | "RS384" | "RS512"
        ) {
            problems.push(ConfigProblem::new(
                "signature_algorithm",
                format!(
                    "`{}` is not supported: use RS256, RS384 or RS512",
                    self.signature_algorithm
                ),
            ));
        }
        if self.token_url.is_empty() {
            problems.push(ConfigProblem::new("token_url", "required"));
        } else {
            match self.token_url.parse::<http::Uri>() {
                Ok(u)
                    if matches!(u.scheme_str(), Some("http" | "https"))
                        && u.host().is_some_and(|h| !h.is_empty()) => {}
                _ => problems.push(ConfigProblem::new(
                    "token_url",
                    format!(
                        "`{}` is not an `https://` (or `http://`) URL",
                        self.token_url
                    ),
                )),
            }
        }
        for name in self.endpoint_params.keys() {
            if matches!(
                name.as_str(),
                "scope" | "client_id" | "client_secret" | "assertion"
            ) {
                problems.push(ConfigProblem::new(
                    format!("endpoint_params::{name}"),
                    format!("`{name}` is set by the extension itself and cannot be replaced"),
                ));
            }
        }
        problems.extend(prefixed("tls", self.tls.validate()));
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stratus_core::factory::decode_config;

    fn paths(raw: Value) -> Vec<String> {
        decode_config::<OAuth2ClientConfig>(&raw)
            .unwrap_err()
            .into_iter()
            .map(|p| p.path)
            .collect()
    }

    #[test]
    fn defaults_match_upstream() {
        let c = OAuth2ClientConfig::default();
        assert_eq!(c.expiry_buffer, Duration::from_secs(300));
        assert_eq!(c.timeout, Duration::ZERO);
        assert!(c.scopes.is_empty() && c.endpoint_params.is_empty());
        assert!(!c.is_jwt_bearer());
        assert_eq!(
            paths(Value::Null),
            ["client_id", "client_secret", "token_url"]
        );
    }

    #[test]
    fn decodes_every_key() {
        let c: OAuth2ClientConfig = decode_config(&json!({
            "client_id": "id", "client_id_file": "/id", "client_secret": "s3cret",
            "client_secret_file": "/secret", "token_url": "https://idp/token",
            "scopes": ["a", "b"], "endpoint_params": {"audience": "api", "resource": ["x", "y"]},
            "tls": {"insecure_skip_verify": true}, "timeout": "2s", "expiry_buffer": "30s",
        }))
        .unwrap();
        assert_eq!(c.client_secret.expose(), "s3cret");
        assert!(!format!("{c:?}").contains("s3cret"));
        assert_eq!(c.endpoint_params["audience"].values(), ["api"]);
        assert_eq!(c.endpoint_params["resource"].values(), ["x", "y"]);
        assert_eq!(c.timeout, Duration::from_secs(2));
        assert_eq!(c.expiry_buffer, Duration::from_secs(30));
        assert!(c.tls.insecure_skip_verify);
        let jwt: OAuth2ClientConfig = decode_config(&json!({
            "client_id": "id", "token_url": "https://idp/token", "grant_type": GRANT_JWT_BEARER,
            "client_certificate_key": "-----BEGIN PRIVATE KEY-----", "client_certificate_key_id": "k",
            "signature_algorithm": "RS384", "iss": "me", "audience": "them",
            "claims": {"tenant": "t1"},
        }))
        .unwrap();
        assert!(jwt.is_jwt_bearer());
        assert_eq!(jwt.claims["tenant"], "t1");
    }

    #[test]
    fn reports_every_problem_with_its_path() {
        let base = json!({"client_id": "id", "client_secret": "s", "token_url": "https://idp/t"});
        let with = |extra: Value| {
            let mut v = base.clone();
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            v
        };
        assert_eq!(
            paths(with(json!({"token_url": "idp/token"}))),
            ["token_url"]
        );
        assert_eq!(
            paths(with(json!({"grant_type": "password"}))),
            ["grant_type"]
        );
        assert_eq!(
            paths(with(json!({"grant_type": GRANT_JWT_BEARER}))),
            ["client_certificate_key"]
        );
        assert_eq!(
            paths(with(json!({"signature_algorithm": "ES256"}))),
            ["signature_algorithm"]
        );
        assert_eq!(
            paths(with(json!({"endpoint_params": {"scope": "x"}}))),
            ["endpoint_params::scope"]
        );
        assert_eq!(
            paths(with(json!({"tls": {"min_version": "1.0"}}))),
            ["tls::min_version"]
        );
        assert_eq!(paths(with(json!({"timeout": "soon"}))), ["timeout"]);
        assert_eq!(paths(with(json!({"client_key": "x"}))), ["client_key"]);
        // files stand in for the values
        decode_config::<OAuth2ClientConfig>(&json!({
            "client_id_file": "/id", "client_secret_file": "/s", "token_url": "http://127.0.0.1:1/t"
        }))
        .unwrap();
    }
}
