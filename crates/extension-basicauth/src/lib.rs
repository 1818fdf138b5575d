//! The `basicauth` extension: HTTP Basic authentication, as upstream's
//! `basicauthextension`. A receiver checks users from an htpasswd file; an exporter
//! sends one user name and password.
//!
//! ```yaml
//! extensions:
//!   basicauth/server:
//!     htpasswd:
//!       file: /etc/stratus/htpasswd
//!       inline: |
//!         ${env:BASIC_AUTH_USERNAME}:${env:BASIC_AUTH_PASSWORD}
//!   basicauth/client:
//!     client_auth:
//!       username: agent
//!       password: ${env:AGENT_PASSWORD}
//! receivers:
//!   otlp:
//!     protocols:
//!       http:
//!         auth: { authenticator: basicauth/server }
//! exporters:
//!   otlp_http:
//!     endpoint: https://gateway:4318
//!     auth: { authenticator: basicauth/client }
//! service:
//!   extensions: [basicauth/server, basicauth/client]
//! ```
//!
//! One instance is a server side (`htpasswd`) or a client side (`client_auth`), never
//! both. The server side reads `Authorization: Basic base64(user:password)`: no header
//! is `Missing`; another scheme, bad base64 or no `:` is `Malformed`; an unknown user
//! or a wrong password is `Invalid`. On success the [`AuthInfo`] subject is the user
//! name. The htpasswd formats are listed in [`htpasswd`]; every comparison of a secret
//! is constant-time, and bcrypt and SHA-crypt checks run on the blocking pool, with
//! successful checks remembered (see [`VerifiedCache`]) so a client sending the same
//! credentials on every request pays the hash cost once.

pub mod config;
pub mod htpasswd;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use http::header::{AUTHORIZATION, HeaderValue};
use sha2::{Digest, Sha256};
use stratus_core::auth::{AuthError, AuthInfo, ClientAuthenticator, ServerAuthenticator};
use stratus_core::factory::{
    Authenticators, BuildContext, BuildExtension, Extension, Factory, Stability,
};
use stratus_core::{Component, ComponentError, ComponentId, Signal};
use subtle::ConstantTimeEq;

pub use config::{BasicAuthConfig, ClientAuthConfig, HtpasswdConfig};
pub use htpasswd::{Hash, Htpasswd};

/// How many verified credentials the server side remembers; when full, it forgets
/// them all and starts again.
pub const VERIFIED_CACHE_SIZE: usize = 1024;

/// The largest htpasswd file read.
pub const MAX_HTPASSWD_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Builds `basicauth` extensions.
#[derive(Debug, Clone, Copy, Default)]
pub struct BasicAuthExtensionFactory;

impl Factory for BasicAuthExtensionFactory {
    type Config = BasicAuthConfig;
    const TYPE: &'static str = "basicauth";
    const SIGNALS: &'static [(Signal, Stability)] = &[];
}

#[async_trait]
impl BuildExtension for BasicAuthExtensionFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: BasicAuthConfig,
    ) -> Result<Arc<dyn Extension>, ComponentError> {
        Ok(Arc::new(BasicAuthExtension::new(&ctx.id, &config)?))
    }
}

/// A running `basicauth` extension: one side or the other.
#[derive(Debug)]
pub struct BasicAuthExtension {
    sides: Authenticators,
}

impl BasicAuthExtension {
    /// Builds the extension from a valid config, reading the htpasswd file if one is
    /// set. Lines that cannot be read are skipped with a warning (as upstream skips
    /// them); a file that cannot be read fails.
    pub fn new(id: &ComponentId, config: &BasicAuthConfig) -> Result<Self, ComponentError> {
        let mut sides = Authenticators::default();
        if let Some(h) = &config.htpasswd {
            sides.server = Some(Arc::new(BasicAuthServer::from_config(id, h)?));
        }
        if let Some(c) = &config.client_auth {
            sides.client = Some(Arc::new(BasicAuthClient::new(id, c)?));
        }
        Ok(BasicAuthExtension { sides })
    }
}

#[async_trait]
impl Component for BasicAuthExtension {}

impl Extension for BasicAuthExtension {
    fn authenticators(&self) -> Option<Authenticators> {
        Some(self.sides.clone())
    }
}

fn read_htpasswd_file(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let shown = path.display();
    let file =
        std::fs::File::open(path).map_err(|e| format!("open htpasswd file `{shown}`: {e}"))?;
    let mut raw = Vec::new();
    file.take(MAX_HTPASSWD_FILE_BYTES + 1)
        .read_to_end(&mut raw)
        .map_err(|e| format!("read htpasswd file `{shown}`: {e}"))?;
    if raw.len() as u64 > MAX_HTPASSWD_FILE_BYTES {
        return Err(format!(
            "htpasswd file `{shown}` is larger than {MAX_HTPASSWD_FILE_BYTES} bytes"
        ));
    }
    String::from_utf8(raw).map_err(|_| format!("htpasswd file `{shown}` is not UTF-8 text"))
}

/// Credentials that passed an expensive check, remembered as keyed SHA-256 digests
/// (a random per-process key, so the cache holds nothing an attacker could use
/// offline). Only successes are remembered: every wrong guess pays the full hash.
pub struct VerifiedCache {
    key: [u8; 32],
    entries: Mutex<HashMap<String, [u8; 32]>>,
}

impl std::fmt::Debug for VerifiedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedCache").finish_non_exhaustive()
    }
}

impl VerifiedCache {
    fn new() -> Self {
        VerifiedCache {
            key: rand::random(),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn digest(&self, user: &str, password: &[u8]) -> [u8; 32] {
        Sha256::new()
            .chain_update(self.key)
            .chain_update((user.len() as u64).to_le_bytes())
            .chain_update(user.as_bytes())
            .chain_update(password)
            .finalize()
            .into()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, [u8; 32]>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether these credentials passed before.
    fn contains(&self, user: &str, password: &[u8]) -> bool {
        let d = self.digest(user, password);
        self.entries()
            .get(user)
            .is_some_and(|known| bool::from(known.ct_eq(&d)))
    }

    fn insert(&self, user: &str, password: &[u8]) {
        let d = self.digest(user, password);
        let mut entries = self.entries();
        if entries.len() >= VERIFIED_CACHE_SIZE && !entries.contains_key(user) {
            entries.clear();
        }
        entries.insert(user.to_string(), d);
    }

    /// How many credentials are remembered.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The server side: checks `Authorization: Basic …` against an htpasswd table.
#[derive(Debug)]
pub struct BasicAuthServer {
    users: Arc<Htpasswd>,
    verified: Arc<VerifiedCache>,
}

impl BasicAuthServer {
    /// A server side over a parsed htpasswd table.
    pub fn new(users: Htpasswd) -> Self {
        BasicAuthServer {
            users: Arc::new(users),
            verified: Arc::new(VerifiedCache::new()),
        }
    }

    fn from_config(id: &ComponentId, h: &HtpasswdConfig) -> Result<Self, ComponentError> {
        let mut users = Htpasswd::new();
        // The file first, then inline, so inline users win (upstream's order).
        let mut sources: Vec<(String, String)> = Vec::new();
        if let Some(path) = &h.file {
            let text =
                read_htpasswd_file(path).map_err(|e| ComponentError::new(format!("{id}: {e}")))?;
            sources.push((format!("htpasswd file `{}`", path.display()), text));
        }
        if !h.inline.is_empty() {
            sources.push((
                "htpasswd::inline".to_string(),
                h.inline.expose().to_string(),
            ));
        }
        for (source, text) in &sources {
            for skipped in users.add(text) {
                tracing::warn!(
                    extension = %id,
                    "{source}, line {}: {}; the line is ignored",
                    skipped.line,
                    skipped.reason
                );
            }
        }
        if users.is_empty() {
            tracing::warn!(extension = %id, "htpasswd holds no user: every request will be refused");
        }
        Ok(BasicAuthServer::new(users))
    }

    /// The cache of verified credentials (for tests and diagnostics).
    pub fn verified(&self) -> &VerifiedCache {
        &self.verified
    }
}

/// The user name and password of an `Authorization: Basic` header value.
fn parse_basic(headers: &HeaderMap) -> Result<(String, Vec<u8>), AuthError> {
    let value = match headers.get(AUTHORIZATION) {
        Some(v) if !v.is_empty() => v.as_bytes(),
        _ => return Err(AuthError::missing("no basic auth provided")),
    };
    const PREFIX: &[u8] = b"Basic ";
    if value.len() < PREFIX.len() || !value[..PREFIX.len()].eq_ignore_ascii_case(PREFIX) {
        return Err(AuthError::malformed("invalid authorization scheme prefix"));
    }
    let format = || AuthError::malformed("invalid authorization format");
    let decoded = STANDARD
        .decode(&value[PREFIX.len()..])
        .map_err(|_| format())?;
    let colon = decoded.iter().position(|&b| b == b':').ok_or_else(format)?;
    let user = std::str::from_utf8(&decoded[..colon]).map_err(|_| format())?;
    Ok((user.to_string(), decoded[colon + 1..].to_vec()))
}

#[async_trait]
impl ServerAuthenticator for BasicAuthServer {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<AuthInfo, AuthError> {
        let (user, password) = parse_basic(headers)?;
        let invalid = || AuthError::invalid("invalid credentials");
        let Some(hash) = self.users.get(&user) else {
            return Err(invalid());
        };
        let ok = if !hash.is_expensive() {
            hash.verify(&password)
        } else if self.verified.contains(&user, &password) {
            true
        } else {
            let (users, name, pw) = (self.users.clone(), user.clone(), password.clone());
            let ok = tokio::task::spawn_blocking(move || users.verify(&name, &pw))
                .await
                .map_err(|_| AuthError::unavailable("password check did not complete"))?;
            if ok {
                self.verified.insert(&user, &password);
            }
            ok
        };
        if ok {
            Ok(AuthInfo {
                subject: Some(user),
                groups: Vec::new(),
            })
        } else {
            Err(invalid())
        }
    }
}

/// The client side: sends `Authorization: Basic base64(username:password)`.
pub struct BasicAuthClient {
    value: HeaderValue,
}

impl std::fmt::Debug for BasicAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuthClient").finish_non_exhaustive()
    }
}

impl BasicAuthClient {
    /// The client side for these credentials. Fails when the user name holds a `:`.
    pub fn new(id: &ComponentId, c: &ClientAuthConfig) -> Result<Self, ComponentError> {
        if c.username.contains(':') {
            return Err(ComponentError::new(format!(
                "{id}: client_auth::username: must not contain `:`"
            )));
        }
        let encoded = STANDARD.encode(format!("{}:{}", c.username, c.password.expose()));
        let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
            .map_err(|_| ComponentError::new(format!("{id}: client_auth: not encodable")))?;
        value.set_sensitive(true);
        Ok(BasicAuthClient { value })
    }
}

#[async_trait]
impl ClientAuthenticator for BasicAuthClient {
    async fn apply(&self, headers: &mut HeaderMap) -> Result<(), AuthError> {
        headers.insert(AUTHORIZATION, self.value.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests;
