//! Access tokens for one scope, cached and refreshed before they expire.
//!
//! The flows, each one HTTP request:
//! - **client secret**: `POST {authority_host}/{tenant_id}/oauth2/v2.0/token` with the
//!   form `grant_type=client_credentials&client_id=..&client_secret=..&scope=..`;
//! - **workload identity**: the same request with
//!   `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and
//!   `client_assertion=<the federated token file>` (read at every request: the kubelet
//!   rotates it) instead of a secret;
//! - **managed identity**: `GET {imds_endpoint}?api-version=2018-02-01&resource=..`
//!   (`&client_id=..` for a user-assigned identity) with `Metadata: true`.
//!
//! The answer's `expires_on` (epoch seconds) or `expires_in` (seconds from now) sets
//! the expiry; a token is used until [`REFRESH_BEFORE`] before it.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use serde::Deserialize;
use stratus_core::confval::Secret;
use tokio::sync::Mutex;

use crate::auth::{
    AuthType, AuthenticationConfig, DEFAULT_AUTHORITY_HOST, DEFAULT_IMDS_ENDPOINT,
    ENV_AUTHORITY_HOST, ENV_CLIENT_ID, ENV_FEDERATED_TOKEN_FILE, ENV_TENANT_ID,
};
use crate::http::HttpClient;

/// How long before its expiry a cached token is replaced.
pub const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);
/// The largest token response read, in bytes.
const MAX_RESPONSE: usize = 256 * 1024;
/// How long one token request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The time source of the token cache (injectable for tests).
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// An access token and when it expires.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessToken {
    /// The bearer token (redacted in `Debug`).
    pub token: Secret,
    /// When the token expires.
    pub expires_on: SystemTime,
}

/// Why no token could be had. Never carries the secret or the token.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TokenError {
    /// The config cannot make a credential (missing tenant/client, unreadable file).
    #[error("Entra ID authentication: {0}")]
    Config(String),
    /// The token endpoint could not be reached or did not answer in time.
    #[error("Entra ID token request to {endpoint} failed: {message}")]
    Transport {
        /// The endpoint (no query, no secret).
        endpoint: String,
        /// What went wrong.
        message: String,
    },
    /// The token endpoint refused (a wrong tenant, client id or secret, an identity
    /// that does not exist).
    #[error(
        "Entra ID refused the token request ({status}): {message}; check tenant_id, \
         client_id and the credential"
    )]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The endpoint's `error` / `error_description`, shortened.
        message: String,
    },
}

impl TokenError {
    /// Whether retrying later may help (a transport failure or a 5xx / 429 answer);
    /// a refused credential is permanent.
    pub fn is_retryable(&self) -> bool {
        match self {
            TokenError::Config(_) => false,
            TokenError::Transport { .. } => true,
            TokenError::Refused { status, .. } => *status >= 500 || *status == 429,
        }
    }
}

#[derive(Debug, Clone)]
enum Flow {
    ClientSecret {
        url: String,
        client_id: String,
        secret: Secret,
    },
    Workload {
        url: String,
        client_id: String,
        token_file: String,
    },
    Managed {
        url: String,
    },
}

/// Gets, caches and refreshes access tokens for one scope.
pub struct TokenProvider {
    flow: Flow,
    scope: String,
    client: HttpClient,
    clock: Arc<dyn Clock>,
    cache: Mutex<Option<AccessToken>>,
}

impl std::fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenProvider")
            .field("flow", &self.flow)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_default()
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl TokenProvider {
    /// A provider for `scope` (e.g. [`crate::MONITOR_SCOPE`]) from a validated config,
    /// filling workload identity's tenant, client, file and authority host from the
    /// environment where the config leaves them empty.
    pub fn new(
        config: &AuthenticationConfig,
        scope: &str,
        client: HttpClient,
    ) -> Result<Self, TokenError> {
        let or_env = |v: &str, key: &str| {
            if v.trim().is_empty() {
                env(key)
            } else {
                v.trim().to_string()
            }
        };
        let authority = |configured: &str, from_env: bool| {
            let host = if !configured.is_empty() {
                configured.to_string()
            } else if from_env && !env(ENV_AUTHORITY_HOST).is_empty() {
                env(ENV_AUTHORITY_HOST)
            } else {
                DEFAULT_AUTHORITY_HOST.to_string()
            };
            host.trim_end_matches('/').to_string()
        };
        let need = |v: String, what: &str| {
            if v.is_empty() {
                Err(TokenError::Config(format!("{what} is not set")))
            } else {
                Ok(v)
            }
        };
        let flow = match config.auth_type {
            None => return Err(TokenError::Config("`type` is not set".into())),
            Some(AuthType::ClientSecret) => {
                let tenant = need(config.tenant_id.trim().to_string(), "tenant_id")?;
                Flow::ClientSecret {
                    url: format!(
                        "{}/{tenant}/oauth2/v2.0/token",
                        authority(&config.authority_host, false)
                    ),
                    client_id: need(config.client_id.trim().to_string(), "client_id")?,
                    secret: config.client_secret.clone(),
                }
            }
            Some(AuthType::WorkloadIdentity) => {
                let tenant = need(
                    or_env(&config.tenant_id, ENV_TENANT_ID),
                    "tenant_id (or AZURE_TENANT_ID)",
                )?;
                Flow::Workload {
                    url: format!(
                        "{}/{tenant}/oauth2/v2.0/token",
                        authority(&config.authority_host, true)
                    ),
                    client_id: need(
                        or_env(&config.client_id, ENV_CLIENT_ID),
                        "client_id (or AZURE_CLIENT_ID)",
                    )?,
                    token_file: need(
                        or_env(&config.federated_token_file, ENV_FEDERATED_TOKEN_FILE),
                        "federated_token_file (or AZURE_FEDERATED_TOKEN_FILE)",
                    )?,
                }
            }
            Some(AuthType::ManagedIdentity) => {
                let base = if config.imds_endpoint.is_empty() {
                    DEFAULT_IMDS_ENDPOINT
                } else {
                    config.imds_endpoint.as_str()
                };
                let resource = scope.strip_suffix("/.default").unwrap_or(scope);
                let mut url = format!(
                    "{base}?api-version=2018-02-01&resource={}",
                    form_encode(resource)
                );
                if !config.client_id.trim().is_empty() {
                    url.push_str(&format!(
                        "&client_id={}",
                        form_encode(config.client_id.trim())
                    ));
                }
                Flow::Managed { url }
            }
        };
        Ok(TokenProvider {
            flow,
            scope: scope.to_string(),
            client,
            clock: Arc::new(SystemClock),
            cache: Mutex::new(None),
        })
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// A valid token: the cached one unless it expires within [`REFRESH_BEFORE`],
    /// else a new one. Concurrent callers wait for one request.
    pub async fn token(&self) -> Result<AccessToken, TokenError> {
        let mut cache = self.cache.lock().await;
        let now = self.clock.now();
        if let Some(t) = cache.as_ref()
            && now + REFRESH_BEFORE < t.expires_on
        {
            return Ok(t.clone());
        }
        let fresh = tokio::time::timeout(REQUEST_TIMEOUT, self.fetch(now))
            .await
            .map_err(|_| TokenError::Transport {
                endpoint: self.endpoint(),
                message: format!("no answer within {}s", REQUEST_TIMEOUT.as_secs()),
            })??;
        tracing::debug!(endpoint = %self.endpoint(), "fetched an Entra ID access token");
        *cache = Some(fresh.clone());
        Ok(fresh)
    }

    /// Drops the cached token, so the next [`TokenProvider::token`] fetches one (after
    /// the destination answered 401).
    pub async fn invalidate(&self) {
        *self.cache.lock().await = None;
    }

    /// The token endpoint, without its query.
    pub fn endpoint(&self) -> String {
        let url = match &self.flow {
            Flow::ClientSecret { url, .. } | Flow::Workload { url, .. } | Flow::Managed { url } => {
                url
            }
        };
        url.split('?').next().unwrap_or_default().to_string()
    }

    fn request(&self) -> Result<Request<Full<Bytes>>, TokenError> {
        let form = |client_id: &str, cred: String| {
            format!(
                "grant_type=client_credentials&client_id={}&scope={}&{cred}",
                form_encode(client_id),
                form_encode(&self.scope)
            )
        };
        let (method, url, body) = match &self.flow {
            Flow::ClientSecret {
                url,
                client_id,
                secret,
            } => (
                Method::POST,
                url,
                form(
                    client_id,
                    format!("client_secret={}", form_encode(secret.expose())),
                ),
            ),
            Flow::Workload {
                url,
                client_id,
                token_file,
            } => {
                let assertion = std::fs::read_to_string(token_file).map_err(|e| {
                    TokenError::Config(format!(
                        "cannot read the federated token file {token_file}: {e}"
                    ))
                })?;
                (
                    Method::POST,
                    url,
                    form(
                        client_id,
                        format!(
                            "client_assertion_type={}&client_assertion={}",
                            form_encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                            form_encode(assertion.trim())
                        ),
                    ),
                )
            }
            Flow::Managed { url } => (Method::GET, url, String::new()),
        };
        let mut builder = Request::builder().method(method.clone()).uri(url.as_str());
        if method == Method::POST {
            builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        } else {
            builder = builder.header("Metadata", "true");
        }
        builder
            .header(header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| TokenError::Config(format!("bad token endpoint URL: {e}")))
    }

    async fn fetch(&self, now: SystemTime) -> Result<AccessToken, TokenError> {
        let request = self.request()?;
        let transport = |message: String| TokenError::Transport {
            endpoint: self.endpoint(),
            message,
        };
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| transport(error_chain(&e)))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| transport(format!("reading the answer: {e}")))?
            .to_bytes();
        if status != StatusCode::OK {
            return Err(TokenError::Refused {
                status: status.as_u16(),
                message: self.scrub(&refusal(&body)),
            });
        }
        parse_token(&body, now).map_err(transport)
    }
}

impl TokenProvider {
    /// `text` without the credential this provider sends (the client secret or the
    /// federated token, raw and form-encoded): an endpoint that echoes the request's
    /// form in its `error_description` must not put it in a message.
    fn scrub(&self, text: &str) -> String {
        let credential = match &self.flow {
            Flow::ClientSecret { secret, .. } => secret.expose().to_string(),
            Flow::Workload { token_file, .. } => std::fs::read_to_string(token_file)
                .map(|t| t.trim().to_string())
                .unwrap_or_default(),
            Flow::Managed { .. } => String::new(),
        };
        if credential.is_empty() {
            return text.to_string();
        }
        text.replace(&credential, "[REDACTED]")
            .replace(&form_encode(&credential), "[REDACTED]")
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The `error` and first line of `error_description` of a refusal, shortened.
fn refusal(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Refusal {
        #[serde(default)]
        error: String,
        #[serde(default)]
        error_description: String,
    }
    match serde_json::from_slice::<Refusal>(body) {
        Ok(r) => {
            let desc = r.error_description.lines().next().unwrap_or_default();
            let text = format!("{} {}", r.error, desc);
            text.trim().chars().take(300).collect()
        }
        Err(_) => "no OAuth2 error in the answer".to_string(),
    }
}

/// A number or a string holding one (IMDS sends strings).
#[derive(Deserialize)]
#[serde(untagged)]
enum Num {
    N(u64),
    S(String),
}

impl Num {
    fn get(&self) -> Option<u64> {
        match self {
            Num::N(n) => Some(*n),
            Num::S(s) => s.trim().parse().ok(),
        }
    }
}

/// Parses a token answer; `now` is when it was requested.
pub fn parse_token(body: &[u8], now: SystemTime) -> Result<AccessToken, String> {
    #[derive(Deserialize)]
    struct Answer {
        access_token: String,
        expires_on: Option<Num>,
        expires_in: Option<Num>,
    }
    let a: Answer = serde_json::from_slice(body)
        .map_err(|e| format!("the answer is not a token response ({e})"))?;
    let expires_on = if let Some(on) = a.expires_on.as_ref().and_then(Num::get) {
        UNIX_EPOCH + Duration::from_secs(on)
    } else if let Some(secs) = a.expires_in.as_ref().and_then(Num::get) {
        now + Duration::from_secs(secs)
    } else {
        return Err("the token response has neither expires_on nor expires_in".into());
    };
    Ok(AccessToken {
        token: Secret::new(a.access_token),
        expires_on,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding() {
        assert_eq!(
            form_encode("https://monitor.azure.com/.default"),
            "https%3A%2F%2Fmonitor.azure.com%2F.default"
        );
        assert_eq!(form_encode("a b+c&d=é"), "a+b%2Bc%26d%3D%C3%A9");
    }

    #[test]
    fn token_answers_of_both_shapes() {
        let now = UNIX_EPOCH + Duration::from_secs(1000);
        let t = parse_token(
            br#"{"token_type":"Bearer","expires_in":3599,"access_token":"abc"}"#,
            now,
        )
        .unwrap();
        assert_eq!(t.token.expose(), "abc");
        assert!(!format!("{t:?}").contains("abc"));
        assert_eq!(t.expires_on, now + Duration::from_secs(3599));
        let t = parse_token(
            br#"{"access_token":"x","expires_on":"1700000000","expires_in":"86399"}"#,
            now,
        )
        .unwrap();
        assert_eq!(
            t.expires_on,
            UNIX_EPOCH + Duration::from_secs(1_700_000_000)
        );
        assert!(parse_token(br#"{"access_token":"x"}"#, now).is_err());
        assert!(format!("{t:?}").contains("[REDACTED]"));
    }

    #[test]
    fn refusals_are_short_and_classified() {
        let m = refusal(br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret.\r\nTrace ID: 1"}"#);
        assert_eq!(m, "invalid_client AADSTS7000215: Invalid client secret.");
        assert!(
            !TokenError::Refused {
                status: 401,
                message: m
            }
            .is_retryable()
        );
        assert!(
            TokenError::Refused {
                status: 503,
                message: String::new()
            }
            .is_retryable()
        );
    }
}
