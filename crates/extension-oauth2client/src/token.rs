//! Getting, caching and refreshing the access token.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{FixedServerNameResolver, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde_json::Value;
use stratus_core::auth::AuthError;

use crate::assertion;
use crate::config::{GRANT_CLIENT_CREDENTIALS, OAuth2ClientConfig};

/// The largest token response read, in bytes (golang.org/x/oauth2's limit).
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;

type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// How the client credentials reach the token endpoint (RFC 6749 §2.3.1). Like
/// golang.org/x/oauth2's auto-detection: HTTP Basic first; when the endpoint refuses
/// that, the form body, and whichever worked is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthStyle {
    Unknown = 0,
    Header = 1,
    Params = 2,
}

impl AuthStyle {
    fn from_u8(v: u8) -> AuthStyle {
        match v {
            1 => AuthStyle::Header,
            2 => AuthStyle::Params,
            _ => AuthStyle::Unknown,
        }
    }
}

/// A token in use: the header value to send and when to replace it.
#[derive(Debug, Clone)]
struct Cached {
    header: HeaderValue,
    /// `expiry - expiry_buffer`; `None` for a token without `expires_in`, kept forever.
    refresh_at: Option<Instant>,
}

#[derive(Debug, Default)]
struct FetchState {
    /// The error of the last fetch and its attempt number, when it failed.
    failed: Option<(u64, AuthError)>,
}

/// What a token endpoint answered.
#[derive(Debug)]
pub struct TokenResponse {
    /// `access_token` (kept out of `Debug` by the caller: this type is private).
    access_token: String,
    /// `token_type`, normalized (`Bearer` when absent).
    token_type: String,
    /// `expires_in`, when given and positive.
    expires_in: Option<Duration>,
}

/// Gets tokens and hands out the current one.
pub struct TokenSource {
    config: OAuth2ClientConfig,
    client: HttpClient,
    style: AtomicU8,
    cached: Mutex<Option<Cached>>,
    fetch: tokio::sync::Mutex<FetchState>,
    /// Fetches finished, successful or not.
    attempts: AtomicU64,
    fetched: AtomicU64,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("token_url", &self.config.token_url)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// A source for a validated `config`: loads its TLS settings (no request yet).
    pub fn new(config: OAuth2ClientConfig) -> Result<Self, String> {
        let tls_config = if config.token_url.starts_with("https://") {
            std::sync::Arc::unwrap_or_clone(config.tls.client_config(&[]).map_err(|e| e.at("tls"))?)
        } else {
            // A plain http:// endpoint never uses TLS, so no roots are needed.
            rustls::ClientConfig::builder_with_provider(stratus_tls::provider())
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        };
        let mut connector = HttpConnector::new();
        connector.enforce_http(false);
        let builder = HttpsConnectorBuilder::new()
            .with_tls_config(tls_config)
            .https_or_http();
        let builder = match config.tls.server_name_override().map_err(|e| e.at("tls"))? {
            Some(name) => builder.with_server_name_resolver(FixedServerNameResolver::new(name)),
            None => builder,
        };
        let https = builder
            .enable_http1()
            .enable_http2()
            .wrap_connector(connector);
        Ok(TokenSource {
            config,
            client: Client::builder(TokioExecutor::new()).build(https),
            style: AtomicU8::new(AuthStyle::Unknown as u8),
            cached: Mutex::new(None),
            fetch: tokio::sync::Mutex::new(FetchState::default()),
            attempts: AtomicU64::new(0),
            fetched: AtomicU64::new(0),
        })
    }

    /// How many tokens were fetched successfully so far.
    pub fn tokens_fetched(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed)
    }

    fn fresh(&self) -> Option<HeaderValue> {
        let cached = self.cached.lock().ok()?;
        let c = cached.as_ref()?;
        match c.refresh_at {
            Some(at) if Instant::now() >= at => None,
            _ => Some(c.header.clone()),
        }
    }

    /// The `Authorization` value to send: the cached token while it is fresh, else a
    /// new one. Concurrent callers wait for one fetch and share its result, a failure
    /// included.
    pub async fn authorization(&self) -> Result<HeaderValue, AuthError> {
        if let Some(v) = self.fresh() {
            return Ok(v);
        }
        // Fetches finished before we wait: one finishing while we wait is ours too.
        let seen = self.attempts.load(Ordering::Acquire);
        let mut state = self.fetch.lock().await;
        if let Some(v) = self.fresh() {
            return Ok(v);
        }
        if let Some((attempt, err)) = &state.failed
            && *attempt > seen
        {
            // A fetch finished and failed while we waited: share its failure.
            return Err(err.clone());
        }
        // Counted when finished (under the lock), so waiters can tell.
        let attempt = self.attempts.load(Ordering::Acquire) + 1;
        let result = match self.config.timeout {
            Duration::ZERO => self.fetch_token().await,
            limit => tokio::time::timeout(limit, self.fetch_token())
                .await
                .unwrap_or_else(|_| Err(format!("no answer within {limit:?}"))),
        };
        self.attempts.store(attempt, Ordering::Release);
        match result {
            Ok(token) => {
                let header = token.header_value()?;
                let refresh_at = token.expires_in.map(|life| {
                    if life <= self.config.expiry_buffer {
                        tracing::warn!(
                            token_url = %self.config.token_url,
                            expires_in_secs = life.as_secs(),
                            expiry_buffer_secs = self.config.expiry_buffer.as_secs(),
                            "the token lives no longer than expiry_buffer: every request \
                             fetches a new one; lower expiry_buffer"
                        );
                    }
                    Instant::now() + life.saturating_sub(self.config.expiry_buffer)
                });
                if let Ok(mut c) = self.cached.lock() {
                    *c = Some(Cached {
                        header: header.clone(),
                        refresh_at,
                    });
                }
                self.fetched.fetch_add(1, Ordering::Relaxed);
                state.failed = None;
                tracing::debug!(token_url = %self.config.token_url,
                    expires_in_secs = token.expires_in.map(|d| d.as_secs()),
                    "fetched an OAuth2 token");
                Ok(header)
            }
            Err(reason) => {
                tracing::warn!(token_url = %self.config.token_url, error = %reason,
                    "failed to get an OAuth2 token");
                let err = AuthError::unavailable(format!(
                    "failed to get a token from {}: {reason}",
                    self.config.token_url
                ));
                state.failed = Some((attempt, err.clone()));
                Err(err)
            }
        }
    }

    /// One fetch, as the grant type says.
    async fn fetch_token(&self) -> Result<TokenResponse, String> {
        let client_id = value_or_file(&self.config.client_id, &self.config.client_id_file)
            .map_err(|e| format!("client_id: {e}"))?;
        let scope = self.config.scopes.join(" ");
        let mut form: Vec<(String, String)> = Vec::new();
        if self.config.is_jwt_bearer() {
            let key = value_or_file(
                self.config.client_certificate_key.expose(),
                &self.config.client_certificate_key_file,
            )
            .map_err(|e| format!("client_certificate_key: {e}"))?;
            let jwt = assertion::sign(&self.config, &client_id, &key, unix_now())?;
            form.push(("grant_type".into(), self.config.grant_type.clone()));
            form.push(("assertion".into(), jwt));
            if !scope.is_empty() {
                form.push(("scope".into(), scope));
            }
            self.add_endpoint_params(&mut form);
            return self.post(&form, None).await.map_err(|(_, e)| e);
        }
        let secret = value_or_file(
            self.config.client_secret.expose(),
            &self.config.client_secret_file,
        )
        .map_err(|e| format!("client_secret: {e}"))?;
        form.push(("grant_type".into(), GRANT_CLIENT_CREDENTIALS.into()));
        if !scope.is_empty() {
            form.push(("scope".into(), scope));
        }
        self.add_endpoint_params(&mut form);
        let style = AuthStyle::from_u8(self.style.load(Ordering::Relaxed));
        let basic = || {
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let raw = format!("{}:{}", enc(&client_id), enc(&secret));
            let mut v = HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(raw)))
                .map_err(|_| "the client credentials cannot be sent in a header".to_string())?;
            v.set_sensitive(true);
            Ok::<_, String>(v)
        };
        let in_params = |form: &[(String, String)]| {
            let mut f = form.to_vec();
            f.push(("client_id".into(), client_id.clone()));
            if !secret.is_empty() {
                f.push(("client_secret".into(), secret.clone()));
            }
            f
        };
        match style {
            AuthStyle::Header => self.post(&form, Some(basic()?)).await.map_err(|(_, e)| e),
            AuthStyle::Params => self.post(&in_params(&form), None).await.map_err(|(_, e)| e),
            AuthStyle::Unknown => match self.post(&form, Some(basic()?)).await {
                Ok(t) => {
                    self.style.store(AuthStyle::Header as u8, Ordering::Relaxed);
                    Ok(t)
                }
                // Refused with a status: try the credentials in the body instead.
                Err((Some(_), first)) => match self.post(&in_params(&form), None).await {
                    Ok(t) => {
                        self.style.store(AuthStyle::Params as u8, Ordering::Relaxed);
                        Ok(t)
                    }
                    Err((_, second)) => Err(format!(
                        "{first} (credentials in an Authorization header); {second} \
                         (credentials in the form body)"
                    )),
                },
                Err((None, e)) => Err(e),
            },
        }
    }

    fn add_endpoint_params(&self, form: &mut Vec<(String, String)>) {
        for (name, values) in &self.config.endpoint_params {
            // grant_type may be replaced (non-compliant endpoints); validation
            // rejects the other fields stratus sets.
            form.retain(|(k, _)| k != name);
            for v in values.values() {
                form.push((name.clone(), v.to_string()));
            }
        }
    }

    /// POSTs the form; on failure, the status when the endpoint answered one.
    async fn post(
        &self,
        form: &[(String, String)],
        authorization: Option<HeaderValue>,
    ) -> Result<TokenResponse, (Option<StatusCode>, String)> {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .finish();
        let mut request = http::Request::post(self.config.token_url.as_str())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        if let Some(v) = authorization {
            request = request.header(header::AUTHORIZATION, v);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| (None, e.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| (None, error_chain(&e)))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let bytes = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| (Some(status), format!("reading the answer: {e}")))?
            .to_bytes();
        if !status.is_success() {
            return Err((Some(status), refusal(status, &bytes)));
        }
        parse_token_response(&content_type, &bytes).map_err(|e| (Some(status), e))
    }
}

/// `status 401 (invalid_client)`: the status and the OAuth2 error code, never the
/// body itself.
fn refusal(status: StatusCode, body: &[u8]) -> String {
    let code = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
        .filter(|c| c.len() <= 64 && c.bytes().all(|b| b.is_ascii_graphic()));
    match code {
        Some(code) => format!("the token endpoint answered {status} ({code})"),
        None => format!("the token endpoint answered {status}"),
    }
}

/// Parses a token response: JSON, or a form (`application/x-www-form-urlencoded`,
/// `text/plain`) as some endpoints answer.
pub fn parse_token_response(content_type: &str, body: &[u8]) -> Result<TokenResponse, String> {
    #[derive(Deserialize)]
    struct Json {
        #[serde(default)]
        access_token: String,
        #[serde(default)]
        token_type: String,
        #[serde(default)]
        expires_in: Option<Value>,
    }
    let (access_token, token_type, expires_in) = if content_type
        .starts_with("application/x-www-form-urlencoded")
        || content_type.starts_with("text/plain")
    {
        let mut t = (String::new(), String::new(), None);
        for (k, v) in form_urlencoded::parse(body) {
            match k.as_ref() {
                "access_token" => t.0 = v.into_owned(),
                "token_type" => t.1 = v.into_owned(),
                "expires_in" => t.2 = v.parse::<f64>().ok(),
                _ => {}
            }
        }
        t
    } else {
        let j: Json = serde_json::from_slice(body)
            .map_err(|_| "the token endpoint's answer is not a JSON token response".to_string())?;
        let expires_in = match j.expires_in {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.parse::<f64>().ok(),
            _ => None,
        };
        (j.access_token, j.token_type, expires_in)
    };
    if access_token.is_empty() {
        return Err("the token endpoint's answer has no access_token".into());
    }
    Ok(TokenResponse {
        access_token,
        token_type: normalize_type(&token_type),
        expires_in: expires_in
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(|s| Duration::from_secs_f64(s.min(1e9))),
    })
}

/// golang.org/x/oauth2's `Token.Type()`: `Bearer` when empty, canonical case for the
/// known types.
fn normalize_type(t: &str) -> String {
    if t.is_empty() || t.eq_ignore_ascii_case("bearer") {
        "Bearer".into()
    } else if t.eq_ignore_ascii_case("mac") {
        "MAC".into()
    } else if t.eq_ignore_ascii_case("basic") {
        "Basic".into()
    } else {
        t.into()
    }
}

impl TokenResponse {
    /// `<type> <access_token>`, marked sensitive.
    fn header_value(&self) -> Result<HeaderValue, AuthError> {
        let mut v = HeaderValue::from_str(&format!("{} {}", self.token_type, self.access_token))
            .map_err(|_| {
                AuthError::unavailable(
                    "the token endpoint returned a token that is not header text",
                )
            })?;
        v.set_sensitive(true);
        Ok(v)
    }
}

/// The value from `file` (trimmed, must not be empty) when set, else `value`.
fn value_or_file(value: &str, file: &str) -> Result<String, String> {
    if file.is_empty() {
        return Ok(value.to_string());
    }
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read `{file}`: {e}"))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("`{file}` is empty"));
    }
    Ok(text.to_string())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_responses_json_and_form() {
        let t = parse_token_response(
            "application/json",
            br#"{"access_token":"abc","token_type":"bearer","expires_in":3600}"#,
        )
        .unwrap();
        assert_eq!(
            (t.access_token.as_str(), t.token_type.as_str()),
            ("abc", "Bearer")
        );
        assert_eq!(t.expires_in, Some(Duration::from_secs(3600)));
        let t = parse_token_response("", br#"{"access_token":"x","expires_in":"60"}"#).unwrap();
        assert_eq!(t.token_type, "Bearer");
        assert_eq!(t.expires_in, Some(Duration::from_secs(60)));
        let t = parse_token_response(
            "application/x-www-form-urlencoded; charset=utf-8",
            b"access_token=a%2Bb&token_type=mac&expires_in=10",
        )
        .unwrap();
        assert_eq!(
            (t.access_token.as_str(), t.token_type.as_str()),
            ("a+b", "MAC")
        );
        let t = parse_token_response("application/json", br#"{"access_token":"x"}"#).unwrap();
        assert_eq!(t.expires_in, None);
        for bad in [
            &br#"{"token_type":"bearer"}"#[..],
            b"not json",
            br#"{"access_token":""}"#,
        ] {
            assert!(parse_token_response("application/json", bad).is_err());
        }
    }

    #[test]
    fn refusals_name_the_code_not_the_body() {
        let m = refusal(
            StatusCode::UNAUTHORIZED,
            br#"{"error":"invalid_client","error_description":"secret s3cret is wrong"}"#,
        );
        assert!(m.contains("401") && m.contains("invalid_client"), "{m}");
        assert!(!m.contains("s3cret"));
        assert!(!refusal(StatusCode::BAD_GATEWAY, b"<html>s3cret</html>").contains("s3cret"));
    }

    #[test]
    fn files_win_over_values_and_are_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("id");
        std::fs::write(&f, "  from-file\n").unwrap();
        assert_eq!(
            value_or_file("v", f.to_str().unwrap()).unwrap(),
            "from-file"
        );
        assert_eq!(value_or_file("v", "").unwrap(), "v");
        std::fs::write(&f, "\n").unwrap();
        assert!(value_or_file("v", f.to_str().unwrap()).is_err());
        assert!(value_or_file("v", "/nonexistent/x").is_err());
    }
}
