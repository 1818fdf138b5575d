//! The `oidc` extension: receivers authenticate clients by a JSON Web Token in
//! `Authorization: Bearer <jwt>`, checked against the keys of an OpenID Connect
//! issuer, as the collector's `oidcauthextension` does.
//!
//! ```yaml
//! extensions:
//!   oidc:
//!     providers:
//!       - issuer_url: https://idp.example.com/realms/otel
//!         audience: otel-collector
//!         username_claim: email
//!         groups_claim: groups
//! receivers:
//!   otlp:
//!     protocols:
//!       grpc:
//!         auth:
//!           authenticator: oidc
//! service:
//!   extensions: [oidc]
//! ```
//!
//! At start, for each provider, stratus reads
//! `<issuer_url>/.well-known/openid-configuration`, checks that its `issuer` is
//! `issuer_url`, and fetches the JWK Set at its `jwks_uri` (or reads
//! `public_keys_file`); start fails when it cannot, as upstream's does. The keys are
//! fetched again every 5 minutes (failures keep the old keys), and at once when a
//! token names a `kid` the set lacks (at most once per 10 seconds, concurrent
//! requests sharing one fetch); a `public_keys_file` is re-read when it changes.
//!
//! A token is accepted when its `alg` is one the issuer announces
//! (`id_token_signing_alg_values_supported`, RS256 when it lists none) and fits the
//! key (RSA for RS/PS, the right curve for ES, Ed25519 for EdDSA, and the key's own
//! `alg` when it has one), its signature verifies, `iss` equals `issuer_url`, `aud`
//! includes `audience`, `exp` has not passed (60 s leeway) and `nbf` has (5 min
//! leeway). The subject is `username_claim` (or `sub`), the groups `groups_claim` (a
//! string or a list).
//!
//! Failures: no header is `Missing`; a header that is not `<scheme> <token>` or a
//! token that is not a JWT is `Malformed`; a bad signature, an unknown key, a wrong
//! issuer or audience is `Invalid`; a passed `exp` is `Expired`; keys that cannot be
//! fetched when needed are `Unavailable`. Messages never contain the token.

pub mod config;
mod http;
pub mod jwt;
pub mod provider;

use std::sync::{Arc, Mutex};

use ::http::{HeaderMap, HeaderName};
use async_trait::async_trait;
use stratus_core::auth::{AuthError, AuthInfo, ServerAuthenticator};
use stratus_core::factory::{
    Authenticators, BuildContext, BuildExtension, Extension, Factory, Stability,
};
use stratus_core::{Component, ComponentError, Host, Signal};
use tokio::task::JoinHandle;

pub use config::{OidcConfig, ProviderConfig};
pub use provider::Tuning;

use crate::jwt::{Token, shown};
use crate::provider::Provider;

/// Builds `oidc` extensions.
#[derive(Debug, Clone, Copy, Default)]
pub struct OidcExtensionFactory;

impl Factory for OidcExtensionFactory {
    type Config = OidcConfig;
    const TYPE: &'static str = "oidc";
    const SIGNALS: &'static [(Signal, Stability)] = &[];
}

#[async_trait]
impl BuildExtension for OidcExtensionFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: OidcConfig,
    ) -> Result<Arc<dyn Extension>, ComponentError> {
        let ext = OidcExtension::new(&config, Tuning::default())
            .map_err(|e| ComponentError::new(format!("{}: {e}", ctx.id)))?;
        Ok(Arc::new(ext))
    }
}

/// A running `oidc` extension: the server authenticator and its refresh tasks.
#[derive(Debug)]
pub struct OidcExtension {
    authenticator: Arc<OidcAuthenticator>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl OidcExtension {
    /// The extension for a validated `config`, refreshing keys as `tuning` says. Reads
    /// each `issuer_ca_path`; contacts no issuer before [`Component::start`].
    pub fn new(config: &OidcConfig, tuning: Tuning) -> Result<Self, String> {
        let attribute = HeaderName::from_bytes(config.header_name().as_bytes())
            .map_err(|_| format!("attribute: `{}` is not a header name", config.attribute))?;
        let providers = config
            .provider_configs()
            .into_iter()
            .map(|(prefix, p)| {
                Provider::new(p, tuning)
                    .map(Arc::new)
                    .map_err(|e| format!("{prefix}{e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OidcExtension {
            authenticator: Arc::new(OidcAuthenticator {
                attribute,
                providers,
            }),
            tasks: Mutex::new(Vec::new()),
        })
    }

    /// The server authenticator receivers use.
    pub fn authenticator(&self) -> Arc<OidcAuthenticator> {
        self.authenticator.clone()
    }
}

#[async_trait]
impl Component for OidcExtension {
    async fn start(&self, _host: &Host) -> Result<(), ComponentError> {
        let mut problems = Vec::new();
        for p in &self.authenticator.providers {
            if let Err(e) = p.load().await {
                problems.push(format!("issuer `{}`: {e}", p.config.issuer_url));
            }
        }
        if !problems.is_empty() {
            return Err(ComponentError::new(format!(
                "oidc: cannot load the keys of at least one issuer: {}",
                problems.join("; ")
            )));
        }
        let mut tasks = self
            .tasks
            .lock()
            .map_err(|_| ComponentError::new("oidc: task list poisoned"))?;
        for p in &self.authenticator.providers {
            let p = p.clone();
            tasks.push(tokio::spawn(async move {
                let every = p.refresh_interval();
                let mut ticker =
                    tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticker.tick().await;
                    p.refresh().await;
                }
            }));
        }
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), ComponentError> {
        if let Ok(mut tasks) = self.tasks.lock() {
            for t in tasks.drain(..) {
                t.abort();
            }
        }
        Ok(())
    }
}

impl Extension for OidcExtension {
    fn authenticators(&self) -> Option<Authenticators> {
        Some(Authenticators {
            server: Some(self.authenticator.clone()),
            client: None,
        })
    }
}

/// Checks incoming requests' JWTs against the configured issuers.
#[derive(Debug)]
pub struct OidcAuthenticator {
    attribute: HeaderName,
    providers: Vec<Arc<Provider>>,
}

impl OidcAuthenticator {
    fn provider_for(&self, token: &Token) -> Result<&Provider, AuthError> {
        if let [only] = self.providers.as_slice() {
            return Ok(only);
        }
        let iss = token.issuer().unwrap_or("");
        self.providers
            .iter()
            .find(|p| p.config.issuer_url == iss)
            .map(|p| p.as_ref())
            .ok_or_else(|| {
                AuthError::invalid(format!(
                    "no OIDC provider configured for the issuer `{}`",
                    shown(iss)
                ))
            })
    }
}

#[async_trait]
impl ServerAuthenticator for OidcAuthenticator {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<AuthInfo, AuthError> {
        let result = async {
            let value = headers
                .get(&self.attribute)
                .ok_or_else(|| AuthError::missing(format!("no `{}` header", self.attribute)))?;
            let value = value
                .to_str()
                .map_err(|_| AuthError::malformed("the authorization header is not text"))?;
            // Upstream: exactly `<scheme> <token>`, split on one space.
            let mut parts = value.split(' ');
            let (Some(_scheme), Some(raw), None) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(AuthError::malformed(
                    "invalid authorization header format (want `Bearer <token>`)",
                ));
            };
            let token = Token::parse(raw)?;
            self.provider_for(&token)?.verify(&token).await
        }
        .await;
        if let Err(e) = &result {
            tracing::debug!(failure = %e.failure, reason = %e.message, "oidc: request refused");
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_core::auth::AuthFailure;

    fn ext() -> OidcExtension {
        let config: OidcConfig = stratus_core::factory::decode_config(&serde_json::json!({
            "issuer_url": "http://127.0.0.1:9", "audience": "otel"
        }))
        .unwrap();
        OidcExtension::new(&config, Tuning::default()).unwrap()
    }

    #[tokio::test]
    async fn header_shapes_map_to_failures() {
        let auth = ext().authenticator();
        let mut h = HeaderMap::new();
        let err = auth.authenticate(&h).await.unwrap_err();
        assert_eq!(err.failure, AuthFailure::Missing);
        for value in ["Bearer", "Bearer a b", "Bearer  x", "Bearer not-a-jwt"] {
            h.insert("authorization", value.parse().unwrap());
            let err = auth.authenticate(&h).await.unwrap_err();
            assert_eq!(err.failure, AuthFailure::Malformed, "{value}");
        }
        // A well-formed JWT before start: the keys are not there yet.
        let t = format!(
            "{}.{}.c2ln",
            jwt::base64url(br#"{"alg":"RS256","kid":"k"}"#),
            jwt::base64url(br#"{"iss":"x"}"#)
        );
        h.insert("authorization", format!("Bearer {t}").parse().unwrap());
        let err = auth.authenticate(&h).await.unwrap_err();
        assert_eq!(err.failure, AuthFailure::Unavailable);
        assert!(!err.message.contains(&t));
    }

    #[tokio::test]
    async fn start_fails_when_the_issuer_is_unreachable() {
        let e = ext();
        let err = e.start(&Host::ready()).await.unwrap_err();
        assert!(err.to_string().contains("http://127.0.0.1:9"), "{err}");
        e.shutdown().await.unwrap();
    }
}
