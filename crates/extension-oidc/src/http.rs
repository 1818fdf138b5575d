//! The HTTP client that reads discovery documents and JWK Sets: hyper over rustls
//! (aws-lc-rs), `http://` and `https://`, bounded in time and size.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use stratus_tls::TlsClientConfig;

/// How long one request to the issuer may take, connecting included (upstream's
/// client timeout).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest discovery document or JWK Set read, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A client for one issuer.
#[derive(Clone, Debug)]
pub struct IssuerClient {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl IssuerClient {
    /// A client trusting only the CA certificates in `ca_path` when it is set, else
    /// the system's roots.
    pub fn new(ca_path: &str) -> Result<Self, String> {
        let tls = TlsClientConfig {
            ca_file: ca_path.to_string(),
            ..TlsClientConfig::default()
        };
        let tls_config = match tls.client_config(&[]) {
            Ok(c) => std::sync::Arc::unwrap_or_clone(c),
            Err(e) if !ca_path.is_empty() => {
                return Err(format!("issuer_ca_path: {}", e.at("")));
            }
            // No system roots (a minimal container): http still works, https fails at
            // connect with a TLS error naming the cause.
            Err(_) => rustls::ClientConfig::builder_with_provider(stratus_tls::provider())
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        };
        let mut connector = HttpConnector::new();
        connector.enforce_http(false);
        connector.set_connect_timeout(Some(REQUEST_TIMEOUT));
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls_config)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(connector);
        Ok(IssuerClient {
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(90))
                .build(https),
        })
    }

    /// GETs `url` and returns the body of a 2xx answer.
    pub async fn get(&self, url: &str) -> Result<Bytes, String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("`{url}` is not a URL: {e}"))?;
        let request = http::Request::get(uri)
            .header(http::header::ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let work = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| format!("GET {url}: {}", error_chain(&e)))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
                .collect()
                .await
                .map_err(|e| format!("GET {url}: reading the body: {e}"))?
                .to_bytes();
            if !status.is_success() {
                return Err(format!("GET {url}: status {status}"));
            }
            Ok(body)
        };
        tokio::time::timeout(REQUEST_TIMEOUT, work)
            .await
            .map_err(|_| format!("GET {url}: no answer within {REQUEST_TIMEOUT:?}"))?
    }
}

/// An error with its causes, `a: b: c`.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
