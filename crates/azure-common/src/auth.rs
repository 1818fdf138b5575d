//! The `authentication:` block: which Entra ID credential gets the access token.
//!
//! ```yaml
//! authentication:
//!   type: client_secret          # or managed_identity, workload_identity
//!   tenant_id: 00000000-0000-0000-0000-000000000000
//!   client_id: 11111111-1111-1111-1111-111111111111
//!   client_secret: ${AZURE_CLIENT_SECRET}
//! ```

use serde::Deserialize;
use stratus_core::confval::Secret;
use stratus_core::factory::{ConfigProblem, Validate};

/// The public cloud's Entra ID authority host.
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";
/// The Azure Instance Metadata Service token endpoint (managed identity).
pub const DEFAULT_IMDS_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";
/// The environment variable AKS workload identity sets to the projected token file.
pub const ENV_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
/// The environment variable holding the tenant id (set by AKS workload identity).
pub const ENV_TENANT_ID: &str = "AZURE_TENANT_ID";
/// The environment variable holding the client id (set by AKS workload identity).
pub const ENV_CLIENT_ID: &str = "AZURE_CLIENT_ID";
/// The environment variable holding the authority host (set by AKS workload identity).
pub const ENV_AUTHORITY_HOST: &str = "AZURE_AUTHORITY_HOST";

/// Which credential to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthType {
    /// An app registration's client secret (`tenant_id`, `client_id`, `client_secret`):
    /// the OAuth2 client-credentials grant.
    ClientSecret,
    /// The VM's, VM scale set's or node's managed identity through IMDS; `client_id`
    /// picks a user-assigned identity.
    ManagedIdentity,
    /// AKS workload identity: the federated token in `AZURE_FEDERATED_TOKEN_FILE` is
    /// exchanged for an access token (client-credentials grant with a client
    /// assertion).
    WorkloadIdentity,
}

/// The `authentication:` block.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthenticationConfig {
    /// The credential: `client_secret`, `managed_identity` or `workload_identity`.
    /// Required; no default.
    #[serde(rename = "type")]
    pub auth_type: Option<AuthType>,
    /// The Entra ID tenant (directory) id. Required for `client_secret`; for
    /// `workload_identity` the default is `AZURE_TENANT_ID`. Default: empty.
    pub tenant_id: String,
    /// The application (client) id. Required for `client_secret`; for
    /// `workload_identity` the default is `AZURE_CLIENT_ID`; for `managed_identity` it
    /// selects a user-assigned identity (empty: the system-assigned one). Default: empty.
    pub client_id: String,
    /// The client secret (`client_secret` only). Never logged. Default: empty.
    pub client_secret: Secret,
    /// The federated token file (`workload_identity` only). Default:
    /// `AZURE_FEDERATED_TOKEN_FILE`.
    pub federated_token_file: String,
    /// The Entra ID authority host (sovereign clouds, tests). Default:
    /// `AZURE_AUTHORITY_HOST` for `workload_identity`, else
    /// `https://login.microsoftonline.com`.
    pub authority_host: String,
    /// The managed identity token endpoint (tests). Default: IMDS,
    /// `http://169.254.169.254/metadata/identity/oauth2/token`.
    pub imds_endpoint: String,
}

#[allow(clippy::derivable_impls)] // house rule: one hand-written Default
impl Default for AuthenticationConfig {
    fn default() -> Self {
        AuthenticationConfig {
            auth_type: None,
            tenant_id: String::new(),
            client_id: String::new(),
            client_secret: Secret::default(),
            federated_token_file: String::new(),
            authority_host: String::new(),
            imds_endpoint: String::new(),
        }
    }
}

fn is_http_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://")) && s.parse::<http::Uri>().is_ok()
}

impl Validate for AuthenticationConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let Some(kind) = self.auth_type else {
            problems.push(ConfigProblem::new(
                "type",
                "is required: `client_secret`, `managed_identity` or `workload_identity`",
            ));
            return problems;
        };
        let not_for = |key: &str, set: bool, problems: &mut Vec<ConfigProblem>| {
            if set {
                problems.push(ConfigProblem::new(
                    key,
                    format!("is not used with `type: {}`", kind.name()),
                ));
            }
        };
        match kind {
            AuthType::ClientSecret => {
                for (key, value) in [
                    ("tenant_id", &self.tenant_id),
                    ("client_id", &self.client_id),
                ] {
                    if value.trim().is_empty() {
                        problems.push(ConfigProblem::new(
                            key,
                            "is required with `type: client_secret`",
                        ));
                    }
                }
                if self.client_secret.is_empty() {
                    problems.push(ConfigProblem::new(
                        "client_secret",
                        "is required with `type: client_secret`",
                    ));
                }
                not_for(
                    "federated_token_file",
                    !self.federated_token_file.is_empty(),
                    &mut problems,
                );
                not_for(
                    "imds_endpoint",
                    !self.imds_endpoint.is_empty(),
                    &mut problems,
                );
            }
            AuthType::ManagedIdentity => {
                not_for("tenant_id", !self.tenant_id.is_empty(), &mut problems);
                not_for(
                    "client_secret",
                    !self.client_secret.is_empty(),
                    &mut problems,
                );
                not_for(
                    "federated_token_file",
                    !self.federated_token_file.is_empty(),
                    &mut problems,
                );
                not_for(
                    "authority_host",
                    !self.authority_host.is_empty(),
                    &mut problems,
                );
            }
            AuthType::WorkloadIdentity => {
                not_for(
                    "client_secret",
                    !self.client_secret.is_empty(),
                    &mut problems,
                );
                not_for(
                    "imds_endpoint",
                    !self.imds_endpoint.is_empty(),
                    &mut problems,
                );
            }
        }
        for (key, value) in [
            ("authority_host", &self.authority_host),
            ("imds_endpoint", &self.imds_endpoint),
        ] {
            if !value.is_empty() && !is_http_url(value) {
                problems.push(ConfigProblem::new(
                    key,
                    "must be an http:// or https:// URL",
                ));
            }
        }
        problems
    }
}

impl AuthType {
    /// The config spelling.
    pub fn name(self) -> &'static str {
        match self {
            AuthType::ClientSecret => "client_secret",
            AuthType::ManagedIdentity => "managed_identity",
            AuthType::WorkloadIdentity => "workload_identity",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> AuthenticationConfig {
        serde_json::from_value(v).unwrap()
    }

    fn paths(c: &AuthenticationConfig) -> Vec<String> {
        c.validate().into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn client_secret_needs_its_three_keys() {
        let c = parse(json!({"type": "client_secret"}));
        assert_eq!(paths(&c), ["tenant_id", "client_id", "client_secret"]);
        let c = parse(
            json!({"type": "client_secret", "tenant_id": "t", "client_id": "c",
            "client_secret": "s3cr3t"}),
        );
        assert!(c.validate().is_empty());
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }

    #[test]
    fn type_is_required_and_keys_are_checked_per_type() {
        assert_eq!(paths(&AuthenticationConfig::default()), ["type"]);
        let c = parse(json!({"type": "managed_identity"}));
        assert!(c.validate().is_empty());
        let c = parse(json!({"type": "managed_identity", "client_id": "c", "client_secret": "x"}));
        assert_eq!(paths(&c), ["client_secret"]);
        let c = parse(json!({"type": "workload_identity", "imds_endpoint": "ftp://x"}));
        assert_eq!(paths(&c), ["imds_endpoint", "imds_endpoint"]);
        assert!(serde_json::from_value::<AuthenticationConfig>(json!({"type": "cli"})).is_err());
        assert!(serde_json::from_value::<AuthenticationConfig>(json!({"tenant": "x"})).is_err());
    }
}
