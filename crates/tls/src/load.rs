//! Loading a `tls` block into a rustls config: PEM material read once per (re)load,
//! the configured versions, cipher suites and groups, the aws-lc-rs provider.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use stratus_core::factory::Validate;

use crate::config::Common;
use crate::names::{self, Version};
use crate::pem::{self, Source};
use crate::reload::{ClientCert, Reloading, ReloadingClientVerifier, ServerCert};
use crate::{TlsClientConfig, TlsError, TlsServerConfig};

/// The aws-lc-rs crypto provider with rustls' defaults: the one provider stratus uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The first problem `validate` finds, as an error: loading an unvalidated config
/// fails the same way validating it does.
fn check(problems: Vec<stratus_core::factory::ConfigProblem>) -> Result<(), TlsError> {
    match problems.into_iter().next() {
        Some(p) => Err(TlsError::Config {
            path: p.path,
            message: p.message,
        }),
        None => Ok(()),
    }
}

fn rustls_error(context: &str) -> impl FnOnce(rustls::Error) -> TlsError + '_ {
    move |source| TlsError::Rustls {
        context: context.to_string(),
        source,
    }
}

impl Common<'_> {
    /// The provider restricted to the configured suites and groups.
    fn provider(&self) -> Result<Arc<CryptoProvider>, TlsError> {
        let mut provider = rustls::crypto::aws_lc_rs::default_provider();
        provider.cipher_suites =
            names::select_suites(self.cipher_suites).map_err(|message| TlsError::Config {
                path: "cipher_suites".into(),
                message,
            })?;
        provider.kx_groups =
            names::select_kx_groups(self.curve_preferences).map_err(|message| {
                TlsError::Config {
                    path: "curve_preferences".into(),
                    message,
                }
            })?;
        Ok(Arc::new(provider))
    }

    fn protocol_versions(&self) -> Vec<&'static rustls::SupportedProtocolVersion> {
        let (min, max) = self.versions();
        Version::range(min, max)
    }

    fn interval(&self) -> Option<Duration> {
        (!self.reload_interval.is_zero()).then_some(self.reload_interval)
    }

    /// The certificate and key, reloading when `reload_interval` is set; `None` when
    /// neither is configured.
    fn identity(
        &self,
        what: &'static str,
        provider: &Arc<CryptoProvider>,
    ) -> Result<Option<Reloading<Arc<CertifiedKey>>>, TlsError> {
        let cert = Source::pick("cert_file", self.cert_file, "cert_pem", self.cert_pem);
        let key = Source::pick("key_file", self.key_file, "key_pem", self.key_pem.expose());
        let (Some(cert), Some(key)) = (cert, key) else {
            return Ok(None);
        };
        let (cert_src, key_src) = (cert.clone(), key.clone());
        let provider = provider.clone();
        let build = move |bytes: &[Cow<'_, [u8]>]| -> Result<Arc<CertifiedKey>, TlsError> {
            let chain = cert_src.certificates(&bytes[0])?;
            let key = key_src.private_key(&bytes[1])?;
            CertifiedKey::from_der(chain, key, &provider)
                .map(Arc::new)
                .map_err(|e| TlsError::Pem {
                    key: key_src.key(),
                    origin: key_src.origin(),
                    reason: format!(
                        "not a usable private key for the certificate in {}: {e}",
                        cert_src.origin()
                    ),
                })
        };
        Reloading::new(what, vec![cert, key], self.interval(), Box::new(build)).map(Some)
    }

    /// The CA of `ca_file` / `ca_pem`, when given.
    fn ca(&self) -> Option<Source> {
        Source::pick("ca_file", self.ca_file, "ca_pem", self.ca_pem)
    }
}

impl TlsServerConfig {
    /// The rustls server config, offering `alpn` protocols (`&[b"h2"]` for gRPC).
    ///
    /// Reads every file once. With `reload_interval`, the certificate (and with
    /// `client_ca_file_reload` the client CA) is re-read for new connections as
    /// described in the crate docs. Fails on what [`Validate::validate`] reports and
    /// on files that cannot be read or used, naming the key and the file.
    pub fn server_config(&self, alpn: &[&[u8]]) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        check(self.validate())?;
        let common = self.common();
        let provider = common.provider()?;
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&common.protocol_versions())
            .map_err(rustls_error("TLS versions"))?;
        let builder = match self.client_verifier(&provider)? {
            Some(verifier) => builder.with_client_cert_verifier(verifier),
            None => builder.with_no_client_auth(),
        };
        let identity = common
            .identity("server certificate", &provider)?
            .ok_or_else(|| TlsError::Config {
                path: "cert_file".into(),
                message: "is required".into(),
            })?;
        let mut config = builder.with_cert_resolver(Arc::new(ServerCert(identity)));
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }

    /// Verification of client certificates, when a client CA is configured.
    fn client_verifier(
        &self,
        provider: &Arc<CryptoProvider>,
    ) -> Result<Option<Arc<dyn ClientCertVerifier>>, TlsError> {
        if !self.requires_client_certificate() {
            return Ok(None);
        }
        // The CA that never reloads: `ca_file` / `ca_pem` and the system's roots.
        let mut fixed = RootCertStore::empty();
        if let Some(ca) = self.common().ca() {
            let bytes = ca.read()?;
            ca.add_roots(&bytes, &mut fixed)?;
        }
        if self.include_system_ca_certs_pool {
            pem::add_system_roots(&mut fixed)?;
        }
        let client_ca = (!self.client_ca_file.is_empty())
            .then(|| Source::file("client_ca_file", &self.client_ca_file));
        let provider = provider.clone();
        let build = move |client_ca: Option<(&Source, &[u8])>| {
            let mut roots = fixed.clone();
            if let Some((source, bytes)) = client_ca {
                source.add_roots(bytes, &mut roots)?;
            }
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| TlsError::Rustls {
                    context: "client certificate verification".into(),
                    source: rustls::Error::General(e.to_string()),
                })
        };
        match client_ca {
            Some(source) if self.client_ca_file_reload => {
                let interval = Some(self.reload_interval);
                let src = source.clone();
                let reloading = Reloading::new(
                    "client CA",
                    vec![source],
                    interval,
                    Box::new(move |bytes: &[Cow<'_, [u8]>]| build(Some((&src, &bytes[0])))),
                )?;
                Ok(Some(Arc::new(ReloadingClientVerifier(reloading))))
            }
            Some(source) => {
                let bytes = source.read()?;
                build(Some((&source, &bytes))).map(Some)
            }
            None => build(None).map(Some),
        }
    }
}

impl TlsClientConfig {
    /// The rustls client config, offering `alpn` protocols. Pass `&[]` for
    /// hyper-rustls, which sets ALPN itself (`Arc::unwrap_or_clone` gives the value
    /// its builder takes).
    ///
    /// Trusts `ca_file` / `ca_pem` (plus the system's roots with
    /// `include_system_ca_certs_pool`), or the system's roots when neither is given;
    /// `insecure_skip_verify` trusts any server. Reads every file once; with
    /// `reload_interval` the client certificate is re-read for new connections.
    /// `insecure` and `server_name_override` are the caller's to apply (see
    /// [`TlsClientConfig::server_name`]). Fails on what [`Validate::validate`]
    /// reports and on files that cannot be read or used, naming the key and the file.
    pub fn client_config(&self, alpn: &[&[u8]]) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        check(self.validate())?;
        let common = self.common();
        let provider = common.provider()?;
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&common.protocol_versions())
            .map_err(rustls_error("TLS versions"))?;
        let builder = if self.insecure_skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(SkipServerVerification::new(&provider))
        } else {
            let mut roots = RootCertStore::empty();
            match common.ca() {
                Some(ca) => {
                    let bytes = ca.read()?;
                    ca.add_roots(&bytes, &mut roots)?;
                    if self.include_system_ca_certs_pool {
                        pem::add_system_roots(&mut roots)?;
                    }
                }
                None => pem::add_system_roots(&mut roots)?,
            }
            builder.with_root_certificates(roots)
        };
        let mut config = match common.identity("client certificate", &provider)? {
            Some(identity) => builder.with_client_cert_resolver(Arc::new(ClientCert(identity))),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }

    /// The name the server's certificate is checked against and sent as SNI:
    /// `server_name_override` when set, else `host` (a DNS name or IP address).
    pub fn server_name(&self, host: &str) -> Result<ServerName<'static>, TlsError> {
        let (key, name) = if self.server_name_override.is_empty() {
            ("endpoint", host)
        } else {
            ("server_name_override", self.server_name_override.as_str())
        };
        let name = name.trim_start_matches('[').trim_end_matches(']');
        ServerName::try_from(name.to_string()).map_err(|_| TlsError::Config {
            path: key.into(),
            message: format!("`{name}` is not a valid DNS name or IP address"),
        })
    }

    /// `server_name_override` as a server name, `None` when unset.
    pub fn server_name_override(&self) -> Result<Option<ServerName<'static>>, TlsError> {
        if self.server_name_override.is_empty() {
            return Ok(None);
        }
        self.server_name("").map(Some)
    }
}

/// Accepts any server certificate (`insecure_skip_verify`), while still checking that
/// the server holds the key of the certificate it showed.
#[derive(Debug)]
pub struct SkipServerVerification {
    algorithms: WebPkiSupportedAlgorithms,
}

impl SkipServerVerification {
    /// A verifier checking handshake signatures with `provider`'s algorithms.
    pub fn new(provider: &CryptoProvider) -> Arc<Self> {
        Arc::new(SkipServerVerification {
            algorithms: provider.signature_verification_algorithms,
        })
    }
}

impl ServerCertVerifier for SkipServerVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
