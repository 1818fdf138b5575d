//! Authenticators: extensions that check who a client is (server side, used by
//! receivers) or say who stratus is (client side, used by exporters).
//!
//! Upstream's model: an authenticator is an extension (`bearertokenauth`,
//! `basicauth`, `oidc`, `oauth2client`), listed in `service.extensions`, and a
//! receiver or exporter names it under `auth.authenticator`. Receivers call
//! [`ServerAuthenticator::authenticate`] with the request's headers (gRPC metadata
//! is HTTP/2 headers) before they read the body; exporters call
//! [`ClientAuthenticator::apply`] on every outgoing request.
//!
//! Errors never carry the credential itself: their message is safe to log and to
//! send back to the client.

use std::fmt;

use async_trait::async_trait;
use http::HeaderMap;

/// Why a request was refused. A small fixed set, so it can label a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuthFailure {
    /// The request carried no credentials (no `Authorization` header).
    Missing,
    /// The credentials could not be read: wrong scheme, bad base64, not a JWT.
    Malformed,
    /// The credentials were read but are wrong: unknown token, bad password, bad
    /// signature, wrong issuer or audience.
    Invalid,
    /// The credentials were valid once but have expired.
    Expired,
    /// The authenticator could not decide: its key source is unreachable (the JWKS
    /// could not be fetched, the token endpoint failed, a token file is unreadable).
    Unavailable,
}

impl AuthFailure {
    /// Every failure kind, in label order.
    pub const ALL: [AuthFailure; 5] = [
        AuthFailure::Missing,
        AuthFailure::Malformed,
        AuthFailure::Invalid,
        AuthFailure::Expired,
        AuthFailure::Unavailable,
    ];

    /// The metric label value: `missing`, `malformed`, `invalid`, `expired`,
    /// `unavailable`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::Malformed => "malformed",
            AuthFailure::Invalid => "invalid",
            AuthFailure::Expired => "expired",
            AuthFailure::Unavailable => "unavailable",
        }
    }
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authentication failure: its kind and a message that never contains the
/// credential, so it is safe to log and to return to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AuthError {
    /// What kind of failure it is.
    pub failure: AuthFailure,
    /// What went wrong, in words (`"bearer token does not match"`).
    pub message: String,
}

impl AuthError {
    /// A failure of kind `failure`.
    pub fn new(failure: AuthFailure, message: impl Into<String>) -> Self {
        AuthError {
            failure,
            message: message.into(),
        }
    }

    /// No credentials were sent.
    pub fn missing(message: impl Into<String>) -> Self {
        AuthError::new(AuthFailure::Missing, message)
    }

    /// The credentials could not be read.
    pub fn malformed(message: impl Into<String>) -> Self {
        AuthError::new(AuthFailure::Malformed, message)
    }

    /// The credentials are wrong.
    pub fn invalid(message: impl Into<String>) -> Self {
        AuthError::new(AuthFailure::Invalid, message)
    }

    /// The credentials have expired.
    pub fn expired(message: impl Into<String>) -> Self {
        AuthError::new(AuthFailure::Expired, message)
    }

    /// The authenticator could not decide.
    pub fn unavailable(message: impl Into<String>) -> Self {
        AuthError::new(AuthFailure::Unavailable, message)
    }
}

/// Who the client is, as the authenticator found it (upstream's `client.Info.Auth`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthInfo {
    /// The authenticated principal: the basic-auth user name, the OIDC
    /// `username_claim`. Bearer tokens have none.
    pub subject: Option<String>,
    /// Groups the principal belongs to (the OIDC `groups_claim`).
    pub groups: Vec<String>,
}

/// Checks incoming requests (`bearertokenauth`, `basicauth`, `oidc`).
#[async_trait]
pub trait ServerAuthenticator: Send + Sync {
    /// Checks a request by its headers: HTTP headers, or gRPC metadata (which are
    /// HTTP/2 headers). Called before the body is read. Implementations compare
    /// secrets in constant time.
    async fn authenticate(&self, headers: &HeaderMap) -> Result<AuthInfo, AuthError>;
}

/// Adds credentials to outgoing requests (`bearertokenauth`, `basicauth`'s
/// `client_auth`, `oauth2client`).
#[async_trait]
pub trait ClientAuthenticator: Send + Sync {
    /// Adds this client's credentials to the headers of one outgoing request (HTTP
    /// headers or gRPC metadata). Fails when no credentials can be had right now (the
    /// token endpoint is down); the exporter treats that as a retryable failure.
    async fn apply(&self, headers: &mut HeaderMap) -> Result<(), AuthError>;
}

impl fmt::Debug for dyn ServerAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerAuthenticator")
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for dyn ClientAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAuthenticator")
            .finish_non_exhaustive()
    }
}

/// `auth:` in a receiver protocol or an exporter config: which authenticator
/// extension to use (upstream's `configauth`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// The id of an authenticator extension listed in `service.extensions`
    /// (`bearertokenauth/gateway`). Required.
    pub authenticator: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_labels_are_distinct_and_stable() {
        let labels: Vec<&str> = AuthFailure::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(
            labels,
            ["missing", "malformed", "invalid", "expired", "unavailable"]
        );
    }

    #[test]
    fn auth_config_takes_upstream_key_and_rejects_others() {
        let c: AuthConfig = serde_json::from_str(r#"{"authenticator":"basicauth/in"}"#).unwrap();
        assert_eq!(c.authenticator, "basicauth/in");
        assert!(serde_json::from_str::<AuthConfig>(r#"{"authenticator":"a","x":1}"#).is_err());
        assert!(serde_json::from_str::<AuthConfig>("{}").is_err());
    }
}
