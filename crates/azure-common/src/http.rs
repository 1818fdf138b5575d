//! The shared HTTP client: hyper 1 over rustls (aws-lc-rs), http and https.

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use stratus_tls::TlsClientConfig;

/// The client type: pooled, http and https, HTTP/1.1 and HTTP/2.
pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Builds a client that trusts the system's roots (`TlsClientConfig` defaults).
pub fn client() -> Result<HttpClient, String> {
    client_with(&TlsClientConfig::default())
}

/// Builds a client with the collector's `configtls` client settings.
pub fn client_with(tls: &TlsClientConfig) -> Result<HttpClient, String> {
    let tls_config = match tls.client_config(&[]) {
        Ok(c) => std::sync::Arc::unwrap_or_clone(c),
        // No usable roots (a minimal container): plain http still works, https fails
        // at connect with a clear TLS error.
        Err(_) => rustls::ClientConfig::builder_with_provider(stratus_tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
    };
    let mut connector = HttpConnector::new();
    connector.enforce_http(false);
    connector.set_nodelay(true);
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls_config)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(connector);
    Ok(Client::builder(TokioExecutor::new()).build(https))
}
