//! Why TLS material could not be loaded.

/// A `tls` block could not be turned into a rustls config. Each variant names the key
/// (relative to the `tls` block, as in `ca_file`) and, for files, the path; none
/// carries PEM text, so a key given inline never reaches a message.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The config has a problem [`validate`](stratus_core::factory::Validate) reports.
    #[error("{path}: {message}")]
    Config {
        /// Key path inside the `tls` block.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read.
    #[error("{key}: cannot read `{path}`: {source}")]
    Read {
        /// The key naming the file (`cert_file`).
        key: &'static str,
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// PEM material was read but holds nothing usable.
    #[error("{key}: {origin}: {reason}")]
    Pem {
        /// The key the material comes from (`cert_file`, `key_pem`).
        key: &'static str,
        /// Where it was read: the file name in backquotes, or `inline PEM`.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// The system's trusted CA certificates could not be loaded.
    #[error("cannot load the system's trusted CA certificates ({0}); set `ca_file` or `ca_pem`")]
    SystemRoots(String),
    /// rustls refused the settings.
    #[error("{context}: {source}")]
    Rustls {
        /// What was being set up.
        context: String,
        /// rustls' reason.
        #[source]
        source: rustls::Error,
    },
}

impl TlsError {
    /// The key of the `tls` block the error is about, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            TlsError::Config { path, .. } => Some(path),
            TlsError::Read { key, .. } | TlsError::Pem { key, .. } => Some(key),
            TlsError::SystemRoots(_) | TlsError::Rustls { .. } => None,
        }
    }

    /// The message with the `tls` block's own path in front, for a component's error:
    /// `at("protocols::grpc::tls")` gives `protocols::grpc::tls::cert_file: cannot read
    /// ...`, or `protocols::grpc::tls: ...` for an error about no key.
    pub fn at(&self, prefix: &str) -> String {
        match self.key() {
            Some(_) => format!("{prefix}::{self}"),
            None => format!("{prefix}: {self}"),
        }
    }
}
