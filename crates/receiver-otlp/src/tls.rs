//! Server TLS from PEM files, with optional client certificate verification.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use stratus_core::ComponentError;
use tokio_rustls::TlsAcceptor;

use crate::config::TlsConfig;

/// Builds the TLS acceptor for `cfg`, advertising `alpn` protocols. `what` names the
/// listener in errors (`otlp gRPC`).
pub(crate) fn acceptor(
    cfg: &TlsConfig,
    alpn: &[&[u8]],
    what: &str,
) -> Result<TlsAcceptor, ComponentError> {
    let err = |msg: String| ComponentError::new(format!("{what} TLS: {msg}"));
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cfg.cert_file)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| {
            err(format!(
                "cannot read certificates from `{}`: {e}",
                cfg.cert_file
            ))
        })?;
    if certs.is_empty() {
        return Err(err(format!("no certificate found in `{}`", cfg.cert_file)));
    }
    let key = PrivateKeyDer::from_pem_file(&cfg.key_file).map_err(|e| {
        err(format!(
            "cannot read private key from `{}`: {e}",
            cfg.key_file
        ))
    })?;

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        match (cfg.min_version.as_str(), cfg.max_version.as_str()) {
            ("1.3", _) => vec![&rustls::version::TLS13],
            (_, "1.2") => vec![&rustls::version::TLS12],
            _ => vec![&rustls::version::TLS13, &rustls::version::TLS12],
        };
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| err(e.to_string()))?;

    let mut roots = RootCertStore::empty();
    for file in [&cfg.ca_file, &cfg.client_ca_file] {
        if file.is_empty() {
            continue;
        }
        let cas = CertificateDer::pem_file_iter(file)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| err(format!("cannot read CA certificates from `{file}`: {e}")))?;
        if cas.is_empty() {
            return Err(err(format!("no CA certificate found in `{file}`")));
        }
        for ca in cas {
            roots
                .add(ca)
                .map_err(|e| err(format!("invalid CA certificate in `{file}`: {e}")))?;
        }
    }
    let builder = if roots.is_empty() {
        builder.with_no_client_auth()
    } else {
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| err(format!("invalid client CA: {e}")))?;
        builder.with_client_cert_verifier(verifier)
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| {
        err(format!(
            "certificate `{}` and key `{}` do not form a usable pair: {e}",
            cfg.cert_file, cfg.key_file
        ))
    })?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(TlsAcceptor::from(Arc::new(config)))
}
