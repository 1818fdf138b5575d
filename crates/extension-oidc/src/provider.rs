//! One issuer at run time: where its keys come from (discovery or a local JWKS file),
//! the keys in use, and how they are refreshed.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use stratus_core::auth::{AuthError, AuthInfo};

use crate::config::ProviderConfig;
use crate::http::IssuerClient;
use crate::jwt::{self, Alg, KeySet, Token, shown};

/// How keys are refreshed. [`Tuning::default`] is what the factory uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// How often an issuer's JWK Set is fetched again, whatever happens. Default 5
    /// minutes.
    pub refresh_interval: Duration,
    /// The least time between two fetches caused by tokens naming an unknown `kid`,
    /// so clients cannot make stratus hammer the issuer. Default 10 seconds.
    pub unknown_kid_refetch_interval: Duration,
    /// How often a `public_keys_file` is checked for changes. Default 1 second.
    pub file_poll_interval: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            refresh_interval: Duration::from_secs(300),
            unknown_kid_refetch_interval: Duration::from_secs(10),
            file_poll_interval: Duration::from_secs(1),
        }
    }
}

/// The keys in use and the algorithms tokens may be signed with.
#[derive(Debug)]
struct Keys {
    /// Bumped on every successful load, so waiters see that someone else refreshed.
    generation: u64,
    set: KeySet,
    algorithms: Vec<Alg>,
}

/// Where the keys come from.
#[derive(Debug)]
enum Source {
    /// OpenID Connect discovery; `jwks_uri` is known after the first load.
    Remote {
        client: Box<IssuerClient>,
        jwks_uri: RwLock<Option<String>>,
        /// Algorithms from the discovery document (`id_token_signing_alg_values_supported`).
        discovered: RwLock<Vec<Alg>>,
    },
    /// A local JWK Set, and the (modified time, length) last read.
    File {
        path: PathBuf,
        seen: std::sync::Mutex<Option<(SystemTime, u64)>>,
    },
}

/// The state of fetches caused by unknown `kid`s.
#[derive(Debug, Default)]
struct Refetch {
    last: Option<Instant>,
    /// The error of the last such fetch, when it failed.
    failed: Option<String>,
}

/// One issuer.
#[derive(Debug)]
pub struct Provider {
    /// Its config.
    pub config: ProviderConfig,
    source: Source,
    keys: RwLock<Option<Arc<Keys>>>,
    refetch: tokio::sync::Mutex<Refetch>,
    tuning: Tuning,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
    #[serde(default)]
    id_token_signing_alg_values_supported: Vec<String>,
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Provider {
    /// A provider for `config`; reads `issuer_ca_path` (no network yet).
    pub fn new(config: ProviderConfig, tuning: Tuning) -> Result<Self, String> {
        let source = if config.public_keys_file.is_empty() {
            Source::Remote {
                client: Box::new(IssuerClient::new(&config.issuer_ca_path)?),
                jwks_uri: RwLock::new(None),
                discovered: RwLock::new(Vec::new()),
            }
        } else {
            Source::File {
                path: PathBuf::from(&config.public_keys_file),
                seen: std::sync::Mutex::new(None),
            }
        };
        if let Some(host) = plain_http_host(&config.issuer_url)
            && config.public_keys_file.is_empty()
        {
            tracing::warn!(
                issuer = %config.issuer_url,
                host,
                "the OIDC issuer is reached over plain http: anyone on the path can replace \
                 its keys; use https"
            );
        }
        Ok(Provider {
            config,
            source,
            keys: RwLock::new(None),
            refetch: tokio::sync::Mutex::new(Refetch::default()),
            tuning,
        })
    }

    fn current(&self) -> Option<Arc<Keys>> {
        self.keys.read().ok().and_then(|k| k.clone())
    }

    fn install(&self, set: KeySet, algorithms: Vec<Alg>) {
        if let Ok(mut slot) = self.keys.write() {
            let generation = slot.as_ref().map_or(1, |k| k.generation + 1);
            *slot = Some(Arc::new(Keys {
                generation,
                set,
                algorithms,
            }));
        }
    }

    /// Loads the keys for the first time: discovery then the JWK Set, or the file.
    pub async fn load(&self) -> Result<(), String> {
        match &self.source {
            Source::Remote {
                client,
                jwks_uri,
                discovered,
            } => {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    self.config.issuer_url.trim_end_matches('/')
                );
                let body = client.get(&url).await?;
                let doc: Discovery = serde_json::from_slice(&body)
                    .map_err(|e| format!("{url} is not a discovery document: {e}"))?;
                if doc.issuer != self.config.issuer_url {
                    return Err(format!(
                        "the discovery document names issuer `{}`, not `{}`",
                        shown(&doc.issuer),
                        self.config.issuer_url
                    ));
                }
                let algs: Vec<Alg> = doc
                    .id_token_signing_alg_values_supported
                    .iter()
                    .filter_map(|a| Alg::parse(a))
                    .collect();
                if let Ok(mut d) = discovered.write() {
                    *d = algs;
                }
                if let Ok(mut j) = jwks_uri.write() {
                    *j = Some(doc.jwks_uri);
                }
                self.fetch_remote().await
            }
            Source::File { .. } => self.reload_file(true),
        }
    }

    /// Fetches the JWK Set again from `jwks_uri` and installs it.
    async fn fetch_remote(&self) -> Result<(), String> {
        let Source::Remote {
            client,
            jwks_uri,
            discovered,
        } = &self.source
        else {
            return Ok(());
        };
        let Some(uri) = jwks_uri.read().ok().and_then(|j| j.clone()) else {
            return Err("the issuer's discovery document was never read".into());
        };
        let body = client.get(&uri).await?;
        let set = KeySet::parse(&body).map_err(|e| format!("{uri}: {e}"))?;
        // go-oidc: the discovery document's algorithms, RS256 when it lists none.
        let mut algs = discovered.read().map(|d| d.clone()).unwrap_or_default();
        if algs.is_empty() {
            algs = vec![Alg::RS256];
        }
        if set.skipped > 0 {
            tracing::debug!(issuer = %self.config.issuer_url, skipped = set.skipped,
                "JWK Set entries skipped (encryption keys or unsupported types)");
        }
        self.install(set, algs);
        Ok(())
    }

    /// Reads the JWKS file when it changed (or always, with `force`).
    fn reload_file(&self, force: bool) -> Result<(), String> {
        let Source::File { path, seen } = &self.source else {
            return Ok(());
        };
        let shown_path = path.display();
        let meta =
            std::fs::metadata(path).map_err(|e| format!("public_keys_file `{shown_path}`: {e}"))?;
        let stamp = (
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            meta.len(),
        );
        if !force && seen.lock().ok().and_then(|s| *s) == Some(stamp) {
            return Ok(());
        }
        let bytes =
            std::fs::read(path).map_err(|e| format!("public_keys_file `{shown_path}`: {e}"))?;
        let set =
            KeySet::parse(&bytes).map_err(|e| format!("public_keys_file `{shown_path}`: {e}"))?;
        let algs = set.algorithms();
        self.install(set, algs);
        if let Ok(mut s) = seen.lock() {
            *s = Some(stamp);
        }
        Ok(())
    }

    /// One round of the background refresh: the JWK Set again, or the file when it
    /// changed. Failures keep the keys in use and are logged.
    pub async fn refresh(&self) {
        let result = match &self.source {
            Source::Remote { .. } => self.fetch_remote().await,
            Source::File { .. } => self.reload_file(false),
        };
        if let Err(e) = result {
            tracing::warn!(issuer = %self.config.issuer_url, error = %e,
                "could not refresh the OIDC keys; the previous keys stay in use");
        }
    }

    /// How often [`Provider::refresh`] should run.
    pub fn refresh_interval(&self) -> Duration {
        match self.source {
            Source::Remote { .. } => self.tuning.refresh_interval,
            Source::File { .. } => self.tuning.file_poll_interval,
        }
    }

    /// After a token named a `kid` that `seen` lacks: fetches the JWK Set again, unless
    /// someone else just did (then their keys are used) or the last such fetch was
    /// less than [`Tuning::unknown_kid_refetch_interval`] ago.
    async fn refetch_for_unknown_kid(&self, seen: u64) -> Result<Option<Arc<Keys>>, AuthError> {
        if !matches!(self.source, Source::Remote { .. }) {
            return Ok(None);
        }
        let mut state = self.refetch.lock().await;
        if let Some(keys) = self.current()
            && keys.generation != seen
        {
            return Ok(Some(keys));
        }
        if let Some(last) = state.last
            && last.elapsed() < self.tuning.unknown_kid_refetch_interval
        {
            return match &state.failed {
                Some(e) => Err(unavailable(&self.config.issuer_url, e)),
                None => Ok(None),
            };
        }
        state.last = Some(Instant::now());
        match self.fetch_remote().await {
            Ok(()) => {
                state.failed = None;
                Ok(self.current())
            }
            Err(e) => {
                tracing::warn!(issuer = %self.config.issuer_url, error = %e,
                    "could not fetch the OIDC keys for a token with an unknown key id");
                let err = unavailable(&self.config.issuer_url, &e);
                state.failed = Some(e);
                Err(err)
            }
        }
    }

    /// Verifies `token`'s signature with this issuer's keys and checks its claims.
    pub async fn verify(&self, token: &Token) -> Result<AuthInfo, AuthError> {
        let Some(mut keys) = self.current() else {
            return Err(AuthError::unavailable(format!(
                "the keys of issuer `{}` are not loaded (the extension has not started)",
                self.config.issuer_url
            )));
        };
        let Some(alg) = Alg::parse(&token.alg).filter(|a| keys.algorithms.contains(a)) else {
            return Err(AuthError::invalid(format!(
                "signing algorithm `{}` is not accepted",
                shown(&token.alg)
            )));
        };
        let kid = token.kid.as_deref();
        if keys.set.candidates(kid, alg).is_empty()
            && kid.is_some()
            && let Some(newer) = self.refetch_for_unknown_kid(keys.generation).await?
        {
            keys = newer;
        }
        let candidates = keys.set.candidates(kid, alg);
        if candidates.is_empty() {
            return Err(AuthError::invalid(match kid {
                Some(kid) => format!("no key with id `{}` fits the token", shown(kid)),
                None => "no key fits the token".to_string(),
            }));
        }
        let message = token.signing_input.as_bytes();
        if !candidates
            .iter()
            .any(|k| k.verify(alg, message, &token.signature))
        {
            return Err(AuthError::invalid("the token's signature does not verify"));
        }
        jwt::check_claims(&token.claims, &self.config, now_secs())
    }
}

fn unavailable(issuer: &str, error: &str) -> AuthError {
    AuthError::unavailable(format!(
        "the keys of issuer `{issuer}` cannot be fetched: {error}"
    ))
}

/// The host of an `http://` URL that is not a loopback address.
fn plain_http_host(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    if uri.scheme_str() != Some("http") {
        return None;
    }
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    (!loopback).then(|| host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_warning_spares_loopback() {
        assert_eq!(plain_http_host("http://127.0.0.1:8080/x"), None);
        assert_eq!(plain_http_host("http://localhost/x"), None);
        assert_eq!(plain_http_host("http://[::1]:1/x"), None);
        assert_eq!(plain_http_host("https://idp.example.com"), None);
        assert_eq!(
            plain_http_host("http://keycloak:8080/realms/x").as_deref(),
            Some("keycloak")
        );
    }
}
