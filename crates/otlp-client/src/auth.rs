//! The client side of `auth.authenticator`, shared by the OTLP exporters (gRPC here,
//! HTTP in `stratus-exporter-otlp`).

use std::sync::Arc;

use http::HeaderMap;
use stratus_core::auth::{AuthConfig, ClientAuthenticator};
use stratus_core::factory::BuildContext;
use stratus_core::telemetry::Registry;
use stratus_core::{ComponentError, ConsumeError};

/// The metric counting failed client authentications (labels `exporter`, `failure`).
pub const AUTH_FAILURES_METRIC: &str = "stratus_exporter_client_auth_failures";

/// An exporter's client authenticator, with what it needs to count and log failures.
pub struct ClientAuth {
    /// The extension's id, for logs and errors.
    id: String,
    authenticator: Arc<dyn ClientAuthenticator>,
    telemetry: Registry,
}

impl ClientAuth {
    /// The authenticator `auth` names, looked up in the collector's extensions;
    /// `None` without `auth`. Fails, naming exporter `exporter`, when the extension is
    /// not an enabled client authenticator.
    pub fn from_context(
        ctx: &BuildContext,
        exporter: &str,
        auth: Option<&AuthConfig>,
    ) -> Result<Option<Self>, ComponentError> {
        let Some(auth) = auth else {
            return Ok(None);
        };
        let authenticator = ctx
            .client_authenticator("auth::authenticator", &auth.authenticator)
            .map_err(|e| ComponentError::new(format!("exporter {exporter}: {e}")))?;
        Ok(Some(ClientAuth {
            id: auth.authenticator.clone(),
            authenticator,
            telemetry: ctx.telemetry.clone(),
        }))
    }

    /// Adds the credentials to one request's headers. A failed authenticator is a
    /// retryable failure of the send, counted in [`AUTH_FAILURES_METRIC`] and logged
    /// (its message never holds a credential).
    pub async fn apply(&self, exporter: &str, headers: &mut HeaderMap) -> Result<(), ConsumeError> {
        self.authenticator.apply(headers).await.map_err(|e| {
            self.telemetry
                .counter(
                    AUTH_FAILURES_METRIC,
                    "Requests an exporter could not send because its client \
                     authenticator gave no credentials",
                    &[("exporter", exporter), ("failure", e.failure.as_str())],
                )
                .add(1);
            tracing::warn!(
                exporter = %exporter,
                authenticator = %self.id,
                failure = %e.failure,
                error = %e.message,
                "client authentication failed; the request will be retried",
            );
            ConsumeError::retryable(format!(
                "client authenticator `{}` failed ({}): {}",
                self.id, e.failure, e.message
            ))
        })
    }
}
