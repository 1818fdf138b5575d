//! The `oauth2client` extension: exporters authenticate to their destination with an
//! OAuth2 access token that stratus gets from a token endpoint by the
//! client-credentials grant (or a signed JWT assertion), as the collector's
//! `oauth2clientauthextension` does.
//!
//! ```yaml
//! extensions:
//!   oauth2client:
//!     client_id: agent
//!     client_secret: ${env:OAUTH_CLIENT_SECRET}
//!     token_url: https://idp.example.com/oauth2/token
//!     scopes: [api.metrics]
//!     endpoint_params:
//!       audience: ingest
//! exporters:
//!   otlphttp:
//!     endpoint: https://ingest.example.com
//!     auth:
//!       authenticator: oauth2client
//! service:
//!   extensions: [oauth2client]
//! ```
//!
//! Every outgoing request gets `Authorization: <token_type> <access_token>` (`Bearer`
//! unless the endpoint says otherwise). The token is fetched on first use and kept
//! until `expiry_buffer` (5 minutes) before it expires; a token without `expires_in`
//! is kept for good. Concurrent requests needing a token wait for one fetch and share
//! its result. A failed fetch fails the request with
//! [`AuthFailure::Unavailable`](stratus_core::auth::AuthFailure::Unavailable), which
//! the exporter retries; the next request tries again.
//!
//! The client credentials go in an HTTP Basic header first; when the endpoint refuses
//! that, in the form body, and the style that worked is kept (golang.org/x/oauth2's
//! auto-detection). Neither the secret nor the token is ever logged or put in an
//! error.

mod assertion;
pub mod config;
mod token;

use std::sync::Arc;

use async_trait::async_trait;
use http::HeaderMap;
use stratus_core::auth::{AuthError, ClientAuthenticator};
use stratus_core::factory::{
    Authenticators, BuildContext, BuildExtension, Extension, Factory, Stability,
};
use stratus_core::{Component, ComponentError, Signal};

pub use config::{GRANT_CLIENT_CREDENTIALS, GRANT_JWT_BEARER, OAuth2ClientConfig, ParamValues};

use crate::token::TokenSource;

/// Builds `oauth2client` extensions.
#[derive(Debug, Clone, Copy, Default)]
pub struct OAuth2ClientExtensionFactory;

impl Factory for OAuth2ClientExtensionFactory {
    type Config = OAuth2ClientConfig;
    const TYPE: &'static str = "oauth2client";
    const SIGNALS: &'static [(Signal, Stability)] = &[];
}

#[async_trait]
impl BuildExtension for OAuth2ClientExtensionFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: OAuth2ClientConfig,
    ) -> Result<Arc<dyn Extension>, ComponentError> {
        let ext = OAuth2ClientExtension::new(config)
            .map_err(|e| ComponentError::new(format!("{}: {e}", ctx.id)))?;
        Ok(Arc::new(ext))
    }
}

/// A running `oauth2client` extension.
#[derive(Debug)]
pub struct OAuth2ClientExtension {
    authenticator: Arc<OAuth2ClientAuthenticator>,
}

impl OAuth2ClientExtension {
    /// The extension for a validated `config`. Loads the TLS settings; fetches no
    /// token before the first request.
    pub fn new(config: OAuth2ClientConfig) -> Result<Self, String> {
        Ok(OAuth2ClientExtension {
            authenticator: Arc::new(OAuth2ClientAuthenticator {
                source: TokenSource::new(config)?,
            }),
        })
    }

    /// The client authenticator exporters use.
    pub fn authenticator(&self) -> Arc<OAuth2ClientAuthenticator> {
        self.authenticator.clone()
    }
}

impl Component for OAuth2ClientExtension {}

impl Extension for OAuth2ClientExtension {
    fn authenticators(&self) -> Option<Authenticators> {
        Some(Authenticators {
            server: None,
            client: Some(self.authenticator.clone()),
        })
    }
}

/// Adds the current access token to outgoing requests.
#[derive(Debug)]
pub struct OAuth2ClientAuthenticator {
    source: TokenSource,
}

impl OAuth2ClientAuthenticator {
    /// How many tokens have been fetched successfully so far.
    pub fn tokens_fetched(&self) -> u64 {
        self.source.tokens_fetched()
    }
}

#[async_trait]
impl ClientAuthenticator for OAuth2ClientAuthenticator {
    async fn apply(&self, headers: &mut HeaderMap) -> Result<(), AuthError> {
        let value = self.source.authorization().await?;
        headers.insert(http::header::AUTHORIZATION, value);
        Ok(())
    }
}
