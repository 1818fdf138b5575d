//! Client TLS from the `tls` block: rustls with the aws-lc-rs provider, for both the
//! gRPC channel (through tonic) and the HTTP client (through hyper-rustls).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::config::TlsClientConfig;

/// TLS settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("tls::{key}: cannot use `{path}`: {reason}")]
    File {
        /// The config key naming the file.
        key: &'static str,
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// rustls refused the settings.
    #[error("tls: {0}")]
    Rustls(#[from] rustls::Error),
    /// No trusted roots could be found.
    #[error("tls: cannot load the system's trusted CA certificates ({0}); set tls::ca_file")]
    NativeRoots(String),
    /// The server name is not a DNS name or IP address.
    #[error("tls: `{0}` is not a valid server name")]
    ServerName(String),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn read(key: &'static str, path: &str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::File {
        key,
        path: path.into(),
        reason: e.to_string(),
    })
}

fn certs(key: &'static str, path: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(key, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::File {
            key,
            path: path.into(),
            reason: format!("invalid PEM: {e}"),
        })?;
    if certs.is_empty() {
        return Err(TlsError::File {
            key,
            path: path.into(),
            reason: "no CERTIFICATE block found".into(),
        });
    }
    Ok(certs)
}

fn private_key(path: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read("key_file", path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| TlsError::File {
        key: "key_file",
        path: path.into(),
        reason: format!("no usable private key: {e}"),
    })
}

fn non_empty(f: &Option<String>) -> Option<&str> {
    f.as_deref().filter(|s| !s.is_empty())
}

/// Accepts any server certificate (`insecure_skip_verify`), while still checking that
/// the server holds the key of the certificate it showed.
#[derive(Debug)]
pub struct SkipServerVerification {
    algorithms: WebPkiSupportedAlgorithms,
}

impl SkipServerVerification {
    /// A verifier using the aws-lc-rs signature algorithms.
    pub fn new() -> Arc<Self> {
        Arc::new(SkipServerVerification {
            algorithms: provider().signature_verification_algorithms,
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

/// Applies the `tls` block to a gRPC endpoint (reads the PEM files).
pub fn configure_grpc_endpoint(
    tls: &TlsClientConfig,
    host: &str,
    endpoint: tonic::transport::Endpoint,
) -> Result<tonic::transport::Endpoint, TlsError> {
    use tonic::transport::{Certificate, ClientTlsConfig, Identity};
    let server_name = if tls.server_name_override.is_empty() {
        host
    } else {
        tls.server_name_override.as_str()
    };
    let mut config = ClientTlsConfig::new().domain_name(server_name);
    if let (Some(cert), Some(key)) = (non_empty(&tls.cert_file), non_empty(&tls.key_file)) {
        // Parse first, for a clear error naming the file.
        certs("cert_file", cert)?;
        private_key(key)?;
        config = config.identity(Identity::from_pem(
            read("cert_file", cert)?,
            read("key_file", key)?,
        ));
    }
    let tonic_error = |e: tonic::transport::Error| {
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg = format!("{msg}: {s}");
            source = s.source();
        }
        if msg.contains("native") {
            TlsError::NativeRoots(msg)
        } else {
            TlsError::Rustls(rustls::Error::General(msg))
        }
    };
    if tls.insecure_skip_verify {
        return endpoint
            .tls_config_with_verifier(config, SkipServerVerification::new())
            .map_err(tonic_error);
    }
    config = match non_empty(&tls.ca_file) {
        Some(ca) => {
            certs("ca_file", ca)?;
            config.ca_certificate(Certificate::from_pem(read("ca_file", ca)?))
        }
        None => config.with_native_roots(),
    };
    endpoint.tls_config(config).map_err(tonic_error)
}

/// The rustls client config for HTTPS (reads the PEM files).
pub fn http_client_config(tls: &TlsClientConfig) -> Result<rustls::ClientConfig, TlsError> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?;
    let builder = if tls.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(SkipServerVerification::new())
    } else {
        let mut roots = rustls::RootCertStore::empty();
        match non_empty(&tls.ca_file) {
            Some(ca) => {
                for cert in certs("ca_file", ca)? {
                    roots.add(cert).map_err(|e| TlsError::File {
                        key: "ca_file",
                        path: ca.into(),
                        reason: e.to_string(),
                    })?;
                }
            }
            None => {
                use hyper_rustls::ConfigBuilderExt;
                let native = builder
                    .with_native_roots()
                    .map_err(|e| TlsError::NativeRoots(e.to_string()))?;
                return finish(native, tls);
            }
        }
        builder.with_root_certificates(roots)
    };
    finish(builder, tls)
}

fn finish(
    builder: rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>,
    tls: &TlsClientConfig,
) -> Result<rustls::ClientConfig, TlsError> {
    match (non_empty(&tls.cert_file), non_empty(&tls.key_file)) {
        (Some(cert), Some(key)) => {
            Ok(builder.with_client_auth_cert(certs("cert_file", cert)?, private_key(key)?)?)
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

/// The server name certificates are checked against, when overridden.
pub fn server_name_override(
    tls: &TlsClientConfig,
) -> Result<Option<ServerName<'static>>, TlsError> {
    if tls.server_name_override.is_empty() {
        return Ok(None);
    }
    ServerName::try_from(tls.server_name_override.clone())
        .map(Some)
        .map_err(|_| TlsError::ServerName(tls.server_name_override.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_empty_files_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem").display().to_string();
        let tls = TlsClientConfig {
            ca_file: Some(missing.clone()),
            ..Default::default()
        };
        let err = http_client_config(&tls).unwrap_err().to_string();
        assert!(err.starts_with("tls::ca_file: cannot use"), "{err}");
        assert!(err.contains(&missing), "{err}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not pem at all").unwrap();
        let tls = TlsClientConfig {
            ca_file: Some(empty.display().to_string()),
            ..Default::default()
        };
        let err = http_client_config(&tls).unwrap_err().to_string();
        assert!(err.contains("no CERTIFICATE"), "{err}");
    }

    #[test]
    fn skip_verify_needs_no_files() {
        let tls = TlsClientConfig {
            insecure_skip_verify: true,
            ..Default::default()
        };
        assert!(http_client_config(&tls).is_ok());
        let ep = tonic::transport::Endpoint::from_static("https://localhost:4317");
        assert!(configure_grpc_endpoint(&tls, "localhost", ep).is_ok());
    }
}
