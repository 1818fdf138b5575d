//! The `bearertokenauth` extension: a static bearer token that receivers check and
//! exporters send, as upstream's `bearertokenauthextension`.
//!
//! ```yaml
//! extensions:
//!   bearertokenauth/in:
//!     tokens: [${env:TOKEN_A}, ${env:TOKEN_B}]
//!   bearertokenauth/out:
//!     filename: /var/run/secrets/otel/token
//! receivers:
//!   otlp:
//!     protocols:
//!       grpc:
//!         auth: { authenticator: bearertokenauth/in }
//! exporters:
//!   otlp:
//!     endpoint: gateway:4317
//!     auth: { authenticator: bearertokenauth/out }
//! service:
//!   extensions: [bearertokenauth/in, bearertokenauth/out]
//! ```
//!
//! One extension offers both sides ([`Extension::authenticators`]):
//!
//! - **Server side** ([`ServerAuthenticator`]): the request's `header` must be
//!   `<scheme> <token>` for one of the configured tokens. No header (or an empty one):
//!   `Missing`; another scheme, or no token after it: `Malformed`; an unknown token:
//!   `Invalid`. The
//!   scheme is matched without regard to case (RFC 9110 §11.1); the token is compared
//!   in constant time, as SHA-256 digests, so neither its bytes nor its length leak.
//! - **Client side** ([`ClientAuthenticator`]): every outgoing request gets
//!   `header: <scheme> <token>` (the first token when there are several), marked
//!   sensitive so HTTP/2 never adds it to its header compression table.
//!
//! With `filename`, the file is read at build (a missing or unreadable file fails the
//! start, as upstream without `retry_on_failure`) and then re-read every
//! [`RELOAD_INTERVAL`] while the extension runs: a changed file takes effect without a
//! restart; a file that becomes unreadable, empty or invalid keeps the last good
//! tokens and logs one warning until it is good again. Polling (rather than inotify)
//! also follows Kubernetes secret volumes, whose files are swapped through symlinks.

pub mod config;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use http::{HeaderMap, HeaderName, HeaderValue};
use sha2::{Digest, Sha256};
use stratus_core::auth::{AuthError, AuthInfo, ClientAuthenticator, ServerAuthenticator};
use stratus_core::factory::{
    Authenticators, BuildContext, BuildExtension, Extension, Factory, Stability,
};
use stratus_core::{Component, ComponentError, ComponentId, Host, Signal};
use subtle::ConstantTimeEq;
use tokio::task::JoinHandle;

pub use config::{BearerTokenAuthConfig, DEFAULT_HEADER, DEFAULT_SCHEME};

/// How often a token file is checked for changes.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// The largest token file read; a bigger file is refused (and the last good tokens
/// kept), so a wrong path cannot make stratus read a disk image into memory.
pub const MAX_TOKEN_FILE_BYTES: u64 = 1024 * 1024;

/// Builds `bearertokenauth` extensions.
#[derive(Debug, Clone, Copy, Default)]
pub struct BearerTokenAuthExtensionFactory;

impl Factory for BearerTokenAuthExtensionFactory {
    type Config = BearerTokenAuthConfig;
    const TYPE: &'static str = "bearertokenauth";
    const SIGNALS: &'static [(Signal, Stability)] = &[];
}

#[async_trait]
impl BuildExtension for BearerTokenAuthExtensionFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: BearerTokenAuthConfig,
    ) -> Result<Arc<dyn Extension>, ComponentError> {
        Ok(Arc::new(BearerTokenAuthExtension::new(&ctx.id, &config)?))
    }
}

/// The tokens currently accepted and sent.
struct Tokens {
    /// SHA-256 of each accepted `<scheme> <token>` value.
    digests: Vec<[u8; 32]>,
    /// What the client side sends: the first token, as a sensitive header value.
    outgoing: HeaderValue,
}

impl Tokens {
    fn new(scheme: &str, tokens: &[&str]) -> Result<Tokens, String> {
        let values: Vec<String> = tokens
            .iter()
            .map(|t| {
                if scheme.is_empty() {
                    (*t).to_string()
                } else {
                    format!("{scheme} {t}")
                }
            })
            .collect();
        let first = values.first().ok_or("holds no token")?;
        let mut outgoing = HeaderValue::from_str(first)
            .map_err(|_| "holds a token a header value cannot carry".to_string())?;
        outgoing.set_sensitive(true);
        Ok(Tokens {
            digests: values.iter().map(|v| digest(v.as_bytes())).collect(),
            outgoing,
        })
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The authenticator both sides share: it checks incoming requests and adds the
/// token to outgoing ones.
pub struct BearerTokenAuthenticator {
    header: HeaderName,
    scheme: String,
    tokens: RwLock<Arc<Tokens>>,
    /// How many times the token file was checked since start.
    file_checks: AtomicU64,
}

impl std::fmt::Debug for BearerTokenAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerTokenAuthenticator")
            .field("header", &self.header)
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

impl BearerTokenAuthenticator {
    fn current(&self) -> Arc<Tokens> {
        // A poisoned lock still holds a complete value (it is replaced whole).
        self.tokens
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, tokens: Tokens) {
        *self
            .tokens
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(tokens);
    }

    /// Checks one request's headers (what [`ServerAuthenticator::authenticate`] does,
    /// without the `async`).
    pub fn check(&self, headers: &HeaderMap) -> Result<AuthInfo, AuthError> {
        let header = self.header.as_str();
        let value = match headers.get(&self.header) {
            Some(v) if !v.is_empty() => v,
            _ => {
                return Err(AuthError::missing(format!(
                    "missing or empty authorization header: {header}"
                )));
            }
        };
        let bytes = value.as_bytes();
        let presented: Vec<u8> = if self.scheme.is_empty() {
            bytes.to_vec()
        } else {
            let n = self.scheme.len();
            let scheme_ok = bytes.len() > n + 1
                && bytes[..n].eq_ignore_ascii_case(self.scheme.as_bytes())
                && bytes[n] == b' ';
            if !scheme_ok {
                return Err(AuthError::malformed(format!(
                    "the {header} header does not carry a `{}` credential",
                    self.scheme
                )));
            }
            // Compare as `<configured scheme> <token>`, the value the digests are of.
            let mut v = Vec::with_capacity(bytes.len());
            v.extend_from_slice(self.scheme.as_bytes());
            v.extend_from_slice(&bytes[n..]);
            v
        };
        let presented = digest(&presented);
        let tokens = self.current();
        // Every configured token is compared; no early exit.
        let mut matched = subtle::Choice::from(0);
        for d in &tokens.digests {
            matched |= d.ct_eq(&presented);
        }
        if bool::from(matched) {
            Ok(AuthInfo::default())
        } else {
            Err(AuthError::invalid(
                "provided authorization does not match expected scheme or token",
            ))
        }
    }
}

#[async_trait]
impl ServerAuthenticator for BearerTokenAuthenticator {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<AuthInfo, AuthError> {
        self.check(headers)
    }
}

#[async_trait]
impl ClientAuthenticator for BearerTokenAuthenticator {
    async fn apply(&self, headers: &mut HeaderMap) -> Result<(), AuthError> {
        headers.insert(self.header.clone(), self.current().outgoing.clone());
        Ok(())
    }
}

/// Reads a token file: one token per line, surrounding whitespace trimmed, blank lines
/// skipped. Errors name the file, never its content.
fn read_token_file(path: &Path, scheme: &str) -> Result<Tokens, String> {
    use std::io::Read;
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let mut raw = Vec::new();
    file.take(MAX_TOKEN_FILE_BYTES + 1)
        .read_to_end(&mut raw)
        .map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    if raw.len() as u64 > MAX_TOKEN_FILE_BYTES {
        return Err(format!(
            "`{shown}` is larger than {MAX_TOKEN_FILE_BYTES} bytes; not a token file"
        ));
    }
    let text = std::str::from_utf8(&raw).map_err(|_| format!("`{shown}` is not UTF-8 text"))?;
    let tokens: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    for (i, t) in tokens.iter().enumerate() {
        if let Some(why) = config::token_problem(t) {
            return Err(format!("`{shown}`: token {} {why}", i + 1));
        }
    }
    Tokens::new(scheme, &tokens).map_err(|why| format!("`{shown}` {why}"))
}

/// A running `bearertokenauth` extension.
#[derive(Debug)]
pub struct BearerTokenAuthExtension {
    id: ComponentId,
    auth: Arc<BearerTokenAuthenticator>,
    filename: Option<PathBuf>,
    reload_interval: Duration,
    watcher: Mutex<Option<JoinHandle<()>>>,
}

impl BearerTokenAuthExtension {
    /// Builds the extension from a valid config, reading the token file if one is
    /// set. Fails when the file cannot be read or holds no usable token.
    pub fn new(id: &ComponentId, config: &BearerTokenAuthConfig) -> Result<Self, ComponentError> {
        use stratus_core::factory::Validate;
        if let Some(p) = config.validate().first() {
            return Err(ComponentError::new(format!(
                "{id}: invalid config: {}{}{}",
                p.path,
                if p.path.is_empty() { "" } else { ": " },
                p.message
            )));
        }
        let header = HeaderName::from_bytes(config.header.as_bytes())
            .map_err(|_| ComponentError::new(format!("{id}: header: not a valid header name")))?;
        let tokens = match &config.filename {
            Some(path) => {
                if config.inline_tokens_ignored() {
                    tracing::warn!(
                        extension = %id,
                        "a filename is specified; the configured token(s) are ignored"
                    );
                }
                read_token_file(path, &config.scheme)
                    .map_err(|e| ComponentError::new(format!("{id}: token file {e}")))?
            }
            None => {
                let inline: Vec<&str> = if config.tokens.is_empty() {
                    vec![config.token.expose()]
                } else {
                    config.tokens.iter().map(|t| t.expose()).collect()
                };
                Tokens::new(&config.scheme, &inline)
                    .map_err(|why| ComponentError::new(format!("{id}: token {why}")))?
            }
        };
        Ok(BearerTokenAuthExtension {
            id: id.clone(),
            auth: Arc::new(BearerTokenAuthenticator {
                header,
                scheme: config.scheme.clone(),
                tokens: RwLock::new(Arc::new(tokens)),
                file_checks: AtomicU64::new(0),
            }),
            filename: config.filename.clone(),
            reload_interval: RELOAD_INTERVAL,
            watcher: Mutex::new(None),
        })
    }

    /// The same extension checking its token file every `interval` instead of
    /// [`RELOAD_INTERVAL`] (zero is taken as one millisecond).
    pub fn with_reload_interval(mut self, interval: Duration) -> Self {
        self.reload_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// How many times the token file was checked since start (for tests and
    /// diagnostics).
    pub fn file_checks(&self) -> u64 {
        self.auth.file_checks.load(Ordering::Relaxed)
    }

    /// The authenticator both sides use.
    pub fn authenticator(&self) -> Arc<BearerTokenAuthenticator> {
        self.auth.clone()
    }

    fn watcher(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<()>>> {
        self.watcher
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Re-reads the token file every `interval` and swaps in what changed.
async fn watch_token_file(
    id: ComponentId,
    path: PathBuf,
    interval: Duration,
    auth: Arc<BearerTokenAuthenticator>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await; // the first tick is immediate; the file was just read
    let mut failing = false;
    loop {
        ticker.tick().await;
        let read = {
            let (path, scheme) = (path.clone(), auth.scheme.clone());
            tokio::task::spawn_blocking(move || read_token_file(&path, &scheme)).await
        };
        match read {
            Ok(Ok(tokens)) => {
                if failing {
                    tracing::info!(extension = %id, file = %path.display(), "token file readable again");
                    failing = false;
                }
                let current = auth.current();
                if tokens.digests != current.digests || tokens.outgoing != current.outgoing {
                    let count = tokens.digests.len();
                    auth.replace(tokens);
                    tracing::info!(extension = %id, file = %path.display(), tokens = count, "token file reloaded");
                }
            }
            Ok(Err(e)) => {
                if !failing {
                    tracing::warn!(extension = %id, "token file {e}; keeping the last good token(s)");
                    failing = true;
                }
            }
            Err(_) => return, // the runtime is shutting down
        }
        auth.file_checks.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl Component for BearerTokenAuthExtension {
    async fn start(&self, _host: &Host) -> Result<(), ComponentError> {
        let Some(path) = &self.filename else {
            return Ok(());
        };
        let mut watcher = self.watcher();
        if watcher.is_none() {
            *watcher = Some(tokio::spawn(watch_token_file(
                self.id.clone(),
                path.clone(),
                self.reload_interval,
                self.auth.clone(),
            )));
        }
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), ComponentError> {
        let handle = self.watcher().take();
        if let Some(handle) = handle {
            handle.abort();
            let _ = handle.await;
        }
        Ok(())
    }
}

impl Drop for BearerTokenAuthExtension {
    fn drop(&mut self) {
        if let Some(handle) = self.watcher().take() {
            handle.abort();
        }
    }
}

impl Extension for BearerTokenAuthExtension {
    fn authenticators(&self) -> Option<Authenticators> {
        Some(Authenticators {
            server: Some(self.auth.clone()),
            client: Some(self.auth.clone()),
        })
    }
}

#[cfg(test)]
mod tests;
