//! Material that follows its files: certificates and client CAs re-read at most once per
//! `reload_interval` and swapped in for new handshakes. Open connections keep what they
//! negotiated; a file that fails to parse leaves the previous material in use.
//!
//! The check runs inside the handshake that finds the interval passed, on its thread:
//! a few small files read once per interval, as the collector does in its
//! `GetCertificate` callback, instead of a task per config to own and stop.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustls::client::ResolvesClientCert;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::{CertificateDer, UnixTime};

use crate::TlsError;
use crate::pem::Source;

/// Builds the value from the bytes of every source, in order.
type Build<T> = Box<dyn Fn(&[Cow<'_, [u8]>]) -> Result<T, TlsError> + Send + Sync>;

/// A value built from PEM sources, rebuilt when their bytes change.
pub(crate) struct Reloading<T> {
    /// For log lines: `server certificate`, `client CA`.
    what: &'static str,
    sources: Vec<Source>,
    /// `None`: never re-read.
    interval: Option<Duration>,
    build: Build<T>,
    state: Mutex<State<T>>,
}

struct State<T> {
    current: T,
    /// Digest of the bytes `current` was built from.
    digest: u64,
    /// When the files are next read.
    next_check: Instant,
}

impl<T: Clone> Reloading<T> {
    /// Reads and builds once; errors are the caller's. `interval` is ignored (no
    /// reload) when no source is a file.
    pub(crate) fn new(
        what: &'static str,
        sources: Vec<Source>,
        interval: Option<Duration>,
        build: Build<T>,
    ) -> Result<Self, TlsError> {
        let bytes = read_all(&sources)?;
        let current = build(&bytes)?;
        let interval = interval.filter(|_| sources.iter().any(Source::is_file));
        Ok(Reloading {
            what,
            state: Mutex::new(State {
                current,
                digest: digest(&bytes),
                next_check: next(Instant::now(), interval),
            }),
            sources,
            interval,
            build,
        })
    }

    /// The value to use for a new handshake: re-reads the files first when the
    /// interval has passed.
    pub(crate) fn current(&self) -> T {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(interval) = self.interval {
            let now = Instant::now();
            if now >= state.next_check {
                state.next_check = next(now, Some(interval));
                self.reload(&mut state);
            }
        }
        state.current.clone()
    }

    /// The value in use, without checking the files.
    pub(crate) fn peek(&self) -> T {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .current
            .clone()
    }

    fn reload(&self, state: &mut State<T>) {
        let files = || {
            self.sources
                .iter()
                .filter(|s| s.is_file())
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let bytes = match read_all(&self.sources) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(what = self.what, files = %files(), error = %e,
                    "cannot re-read TLS files; keeping the loaded ones");
                return;
            }
        };
        let digest = digest(&bytes);
        if digest == state.digest {
            return;
        }
        match (self.build)(&bytes) {
            Ok(value) => {
                state.current = value;
                state.digest = digest;
                tracing::info!(what = self.what, files = %files(), "TLS files reloaded");
            }
            Err(e) => {
                tracing::warn!(what = self.what, files = %files(), error = %e,
                    "changed TLS files are not usable; keeping the loaded ones");
            }
        }
    }
}

impl<T> std::fmt::Debug for Reloading<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloading")
            .field("what", &self.what)
            .field("sources", &self.sources)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

fn next(now: Instant, interval: Option<Duration>) -> Instant {
    interval.and_then(|i| now.checked_add(i)).unwrap_or(now)
}

fn read_all(sources: &[Source]) -> Result<Vec<Cow<'_, [u8]>>, TlsError> {
    sources.iter().map(Source::read).collect()
}

/// A change detector, not a security measure: SipHash over every source's bytes.
fn digest(bytes: &[Cow<'_, [u8]>]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    for b in bytes {
        b.as_ref().hash(&mut h);
    }
    h.finish()
}

/// The server's certificate and key, as a rustls resolver.
#[derive(Debug)]
pub(crate) struct ServerCert(pub Reloading<Arc<CertifiedKey>>);

impl ResolvesServerCert for ServerCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.current())
    }
}

/// The client's certificate and key for mutual TLS, as a rustls resolver.
#[derive(Debug)]
pub(crate) struct ClientCert(pub Reloading<Arc<CertifiedKey>>);

impl ResolvesClientCert for ClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.0.current())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Client certificate verification against a client CA file that may change: each new
/// client certificate is checked by the verifier built from the file's latest usable
/// content. Sends no CA names in its certificate request (they could change under a
/// borrowed slice), so clients offer whatever certificate they have.
#[derive(Debug)]
pub(crate) struct ReloadingClientVerifier(pub Reloading<Arc<dyn ClientCertVerifier>>);

impl ClientCertVerifier for ReloadingClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.0
            .current()
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.peek().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.peek().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.peek().supported_verify_schemes()
    }
}
