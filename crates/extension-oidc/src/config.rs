//! The `oidc` extension's config: upstream's `oidcauthextension` keys and defaults,
//! the older single-provider keys at the top level and the newer `providers` list.

use serde::Deserialize;
use stratus_core::factory::{ConfigProblem, Validate};

/// The header upstream reads the token from by default.
pub const DEFAULT_ATTRIBUTE: &str = "authorization";

/// Config of the `oidc` extension.
///
/// The top-level `issuer_url`, `audience`, `ignore_audience`, `issuer_ca_path`,
/// `username_claim` and `groups_claim` are upstream's older form of one provider
/// (deprecated there, still accepted): when any of them is set they make a provider
/// that comes before those of `providers`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// The header (case-insensitive) that carries `<scheme> <jwt>`. Empty means the
    /// default. Default `authorization`.
    pub attribute: String,
    /// Older form: the issuer's base URL (`https://idp.example.com/realms/otel`),
    /// where `/.well-known/openid-configuration` is found. Default empty.
    pub issuer_url: String,
    /// Older form: the audience tokens must carry in `aud`; required unless
    /// `ignore_audience`. Default empty.
    pub audience: String,
    /// Older form: accept tokens whatever their `aud`. Default `false`.
    pub ignore_audience: bool,
    /// Older form: PEM file of the CA that signed the issuer's TLS certificate; when
    /// set, only it is trusted for the issuer. Default empty (the system's roots).
    pub issuer_ca_path: String,
    /// Older form: the claim whose (string) value is the subject, instead of `sub`.
    /// Default empty (`sub`).
    pub username_claim: String,
    /// Older form: the claim holding the subject's groups (a string or a list).
    /// Default empty (no groups).
    pub groups_claim: String,
    /// The issuers whose tokens are accepted; a token is checked against the one whose
    /// `issuer_url` equals its `iss`. Default empty.
    pub providers: Vec<ProviderConfig>,
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            attribute: DEFAULT_ATTRIBUTE.to_string(),
            issuer_url: String::new(),
            audience: String::new(),
            ignore_audience: false,
            issuer_ca_path: String::new(),
            username_claim: String::new(),
            groups_claim: String::new(),
            providers: Vec::new(),
        }
    }
}

/// One OpenID Connect issuer (an entry of `providers`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProviderConfig {
    /// The issuer's base URL, `http://` or `https://`; tokens' `iss` must equal it
    /// exactly, and so must the `issuer` of its discovery document. Required.
    pub issuer_url: String,
    /// The audience tokens must carry in `aud` (a string or a list); required unless
    /// `ignore_audience`. Default empty.
    pub audience: String,
    /// Accept tokens whatever their `aud`. Default `false`.
    pub ignore_audience: bool,
    /// Accept tokens whatever their `iss` (only with a single provider). Default
    /// `false`.
    pub ignore_issuer: bool,
    /// PEM file of the CA that signed the issuer's TLS certificate; when set, only it
    /// is trusted for this issuer. Default empty (the system's roots).
    pub issuer_ca_path: String,
    /// The claim whose (string) value is the subject, instead of `sub`. Default empty
    /// (`sub`).
    pub username_claim: String,
    /// The claim holding the subject's groups (a string or a list). Default empty (no
    /// groups).
    pub groups_claim: String,
    /// A local JWKS file with the keys tokens are checked against, instead of
    /// discovery; re-read when it changes. Default empty (discovery).
    pub public_keys_file: String,
}

// Written out: the house rule is one hand-written Default holding every default.
#[allow(clippy::derivable_impls)]
impl Default for ProviderConfig {
    fn default() -> Self {
        ProviderConfig {
            issuer_url: String::new(),
            audience: String::new(),
            ignore_audience: false,
            ignore_issuer: false,
            issuer_ca_path: String::new(),
            username_claim: String::new(),
            groups_claim: String::new(),
            public_keys_file: String::new(),
        }
    }
}

impl OidcConfig {
    /// The older top-level provider, when any of its keys is set.
    fn legacy_provider(&self) -> Option<ProviderConfig> {
        let set = !self.issuer_url.is_empty()
            || !self.audience.is_empty()
            || self.ignore_audience
            || !self.issuer_ca_path.is_empty()
            || !self.username_claim.is_empty()
            || !self.groups_claim.is_empty();
        set.then(|| ProviderConfig {
            issuer_url: self.issuer_url.clone(),
            audience: self.audience.clone(),
            ignore_audience: self.ignore_audience,
            issuer_ca_path: self.issuer_ca_path.clone(),
            username_claim: self.username_claim.clone(),
            groups_claim: self.groups_claim.clone(),
            ..ProviderConfig::default()
        })
    }

    /// Every provider, the older top-level one first, each with the key path prefix
    /// its problems are reported under (`""` or `providers::N::`).
    pub fn provider_configs(&self) -> Vec<(String, ProviderConfig)> {
        let mut all = Vec::new();
        if let Some(legacy) = self.legacy_provider() {
            all.push((String::new(), legacy));
        }
        for (i, p) in self.providers.iter().enumerate() {
            all.push((format!("providers::{i}::"), p.clone()));
        }
        all
    }

    /// The header tokens are read from (`attribute`, or its default when empty).
    pub fn header_name(&self) -> &str {
        if self.attribute.is_empty() {
            DEFAULT_ATTRIBUTE
        } else {
            &self.attribute
        }
    }
}

/// Whether `url` is an absolute `http://` or `https://` URL with a host.
pub(crate) fn issuer_url_problem(url: &str) -> Option<String> {
    let uri: http::Uri = match url.parse() {
        Ok(u) => u,
        Err(e) => return Some(format!("`{url}` is not a URL: {e}")),
    };
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Some(format!("`{url}` must start with `https://` (or `http://`)")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Some(format!("`{url}` has no host"));
    }
    None
}

impl Validate for OidcConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if http::HeaderName::from_bytes(self.header_name().as_bytes()).is_err() {
            problems.push(ConfigProblem::new(
                "attribute",
                format!("`{}` is not a valid header name", self.attribute),
            ));
        }
        let providers = self.provider_configs();
        if providers.is_empty() {
            problems.push(ConfigProblem::new(
                "",
                "no provider: set `providers` (a list of `issuer_url` and `audience`), or the \
                 older top-level `issuer_url` and `audience`",
            ));
        }
        let mut seen: Vec<&str> = Vec::new();
        for (prefix, p) in &providers {
            let at = |key: &str| format!("{prefix}{key}");
            if p.issuer_url.is_empty() {
                problems.push(ConfigProblem::new(at("issuer_url"), "required"));
            } else if let Some(message) = issuer_url_problem(&p.issuer_url) {
                problems.push(ConfigProblem::new(at("issuer_url"), message));
            } else if seen.contains(&p.issuer_url.as_str()) {
                problems.push(ConfigProblem::new(
                    at("issuer_url"),
                    format!("duplicate issuer URL `{}`", p.issuer_url),
                ));
            } else {
                seen.push(&p.issuer_url);
            }
            if p.audience.is_empty() && !p.ignore_audience {
                problems.push(ConfigProblem::new(
                    at("audience"),
                    "required unless `ignore_audience: true`",
                ));
            }
            if p.ignore_issuer && providers.len() > 1 {
                problems.push(ConfigProblem::new(
                    at("ignore_issuer"),
                    "cannot be true when several providers are configured (the token's `iss` \
                     picks the provider)",
                ));
            }
            if !p.public_keys_file.is_empty() && !p.issuer_ca_path.is_empty() {
                problems.push(ConfigProblem::new(
                    at("issuer_ca_path"),
                    "has no effect with `public_keys_file` (no issuer is contacted)",
                ));
            }
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
        decode_config::<OidcConfig>(&raw)
            .unwrap_err()
            .into_iter()
            .map(|p| p.path)
            .collect()
    }

    #[test]
    fn defaults_match_upstream_and_need_a_provider() {
        let c = OidcConfig::default();
        assert_eq!(c.attribute, "authorization");
        assert!(c.providers.is_empty());
        assert_eq!(paths(Value::Null), [""]);
    }

    #[test]
    fn older_top_level_keys_make_the_first_provider() {
        let c: OidcConfig = decode_config(&json!({
            "issuer_url": "https://a.example.com",
            "audience": "otel",
            "issuer_ca_path": "/ca.pem",
            "username_claim": "email",
            "groups_claim": "groups",
            "providers": [{
                "issuer_url": "https://b.example.com", "ignore_audience": true,
                "public_keys_file": "/jwks.json"
            }],
        }))
        .unwrap();
        let all = c.provider_configs();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].0, "");
        assert_eq!(all[0].1.issuer_url, "https://a.example.com");
        assert_eq!(all[0].1.audience, "otel");
        assert_eq!(all[0].1.issuer_ca_path, "/ca.pem");
        assert_eq!(all[0].1.username_claim, "email");
        assert_eq!(all[0].1.groups_claim, "groups");
        assert_eq!(all[1].0, "providers::0::");
        assert!(all[1].1.ignore_audience);
        assert_eq!(all[1].1.public_keys_file, "/jwks.json");
    }

    #[test]
    fn reports_every_problem_with_its_path() {
        assert_eq!(paths(json!({"issuer_url": "https://a"})), ["audience"]);
        assert_eq!(paths(json!({"audience": "x"})), ["issuer_url"]);
        assert_eq!(
            paths(json!({"issuer_url": "ftp://a", "audience": "x"})),
            ["issuer_url"]
        );
        assert_eq!(
            paths(json!({"providers": [
                {"issuer_url": "https://a", "audience": "x", "ignore_issuer": true},
                {"issuer_url": "https://a", "audience": "x"},
                {"issuer_url": "https://c"},
            ]})),
            [
                "providers::0::ignore_issuer",
                "providers::1::issuer_url",
                "providers::2::audience"
            ]
        );
        assert_eq!(
            paths(json!({"issuer_url": "https://a", "ignore_audience": true, "attribute": "a b"})),
            ["attribute"]
        );
        assert_eq!(
            paths(json!({"providers": [{"issuer_url": "https://a", "audience": "x", "x": 1}]})),
            ["providers[0]::x"]
        );
        assert_eq!(
            paths(
                json!({"providers": [{"issuer_url": "https://a", "audience": "x",
                "public_keys_file": "/k", "issuer_ca_path": "/c"}]})
            ),
            ["providers::0::issuer_ca_path"]
        );
    }

    #[test]
    fn ignore_issuer_is_fine_with_one_provider() {
        decode_config::<OidcConfig>(&json!({"providers": [
            {"issuer_url": "http://127.0.0.1:1", "audience": "x", "ignore_issuer": true}
        ]}))
        .unwrap();
    }
}
