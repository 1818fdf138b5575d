//! PEM material from a file or inline text, parsed with `rustls-pki-types`.

use std::borrow::Cow;

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::TlsError;

/// Where one piece of PEM material comes from.
#[derive(Clone)]
pub(crate) enum Source {
    /// A file, read on every (re)load.
    File {
        /// The config key naming it (`cert_file`).
        key: &'static str,
        /// The path.
        path: String,
    },
    /// Text given in the config, fixed for the process' life.
    Inline {
        /// The config key holding it (`cert_pem`).
        key: &'static str,
        /// The PEM text; may be a private key, so never printed.
        text: Vec<u8>,
    },
}

// Written by hand so an inline key never reaches a log line.
impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File { key, path } => write!(f, "{key}: `{path}`"),
            Source::Inline { key, .. } => write!(f, "{key}: inline PEM"),
        }
    }
}

impl Source {
    /// The source of one of the `*_file` / `*_pem` pairs, `None` when neither is set.
    /// Validation has made sure at most one is.
    pub(crate) fn pick(
        file_key: &'static str,
        file: &str,
        pem_key: &'static str,
        pem: &str,
    ) -> Option<Source> {
        if !file.is_empty() {
            Some(Source::File {
                key: file_key,
                path: file.to_string(),
            })
        } else if !pem.is_empty() {
            Some(Source::Inline {
                key: pem_key,
                text: pem.as_bytes().to_vec(),
            })
        } else {
            None
        }
    }

    /// A file source.
    pub(crate) fn file(key: &'static str, path: &str) -> Source {
        Source::File {
            key,
            path: path.to_string(),
        }
    }

    /// Whether the material is re-read on reload.
    pub(crate) fn is_file(&self) -> bool {
        matches!(self, Source::File { .. })
    }

    /// The config key.
    pub(crate) fn key(&self) -> &'static str {
        match self {
            Source::File { key, .. } | Source::Inline { key, .. } => key,
        }
    }

    /// Where the material is, for messages: the file in backquotes or `inline PEM`.
    pub(crate) fn origin(&self) -> String {
        match self {
            Source::File { path, .. } => format!("`{path}`"),
            Source::Inline { .. } => "inline PEM".to_string(),
        }
    }

    /// The PEM bytes: the file's current content, or the inline text.
    pub(crate) fn read(&self) -> Result<Cow<'_, [u8]>, TlsError> {
        match self {
            Source::File { key, path } => {
                std::fs::read(path)
                    .map(Cow::Owned)
                    .map_err(|source| TlsError::Read {
                        key,
                        path: path.clone(),
                        source,
                    })
            }
            Source::Inline { text, .. } => Ok(Cow::Borrowed(text)),
        }
    }

    fn error(&self, reason: impl Into<String>) -> TlsError {
        TlsError::Pem {
            key: self.key(),
            origin: self.origin(),
            reason: reason.into(),
        }
    }

    /// The certificates in `pem` (read from this source); at least one.
    pub(crate) fn certificates(
        &self,
        pem: &[u8],
    ) -> Result<Vec<CertificateDer<'static>>, TlsError> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.error(describe(&e)))?;
        if certs.is_empty() {
            return Err(self.error("no CERTIFICATE block found"));
        }
        Ok(certs)
    }

    /// The private key in `pem` (read from this source).
    pub(crate) fn private_key(&self, pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
        PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
            rustls_pki_types::pem::Error::NoItemsFound => {
                self.error("no PRIVATE KEY block found (PKCS#8, PKCS#1 or SEC1)")
            }
            other => self.error(describe(&other)),
        })
    }

    /// Adds the CA certificates in `pem` (read from this source) to `roots`.
    pub(crate) fn add_roots(&self, pem: &[u8], roots: &mut RootCertStore) -> Result<(), TlsError> {
        for cert in self.certificates(pem)? {
            roots
                .add(cert)
                .map_err(|e| self.error(format!("not a usable CA certificate: {e}")))?;
        }
        Ok(())
    }
}

/// What is wrong with PEM text, without quoting any of it (it may be a key).
fn describe(e: &rustls_pki_types::pem::Error) -> String {
    use rustls_pki_types::pem::Error;
    match e {
        Error::MissingSectionEnd { .. } => "a PEM section has no END line".into(),
        Error::IllegalSectionStart { .. } => "a PEM section has a malformed BEGIN line".into(),
        Error::Base64Decode(_) => "a PEM section is not valid base64".into(),
        Error::NoItemsFound => "no PEM section found".into(),
        Error::Io(e) => format!("cannot read: {e}"),
        _ => "not valid PEM".into(),
    }
}

/// The system's trusted CA certificates, added to `roots`.
pub(crate) fn add_system_roots(roots: &mut RootCertStore) -> Result<(), TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = match found.errors.first() {
            Some(e) => e.to_string(),
            None => "none found".to_string(),
        };
        return Err(TlsError::SystemRoots(why));
    }
    Ok(())
}
