//! The HTTP client of the AWS exporters when the session asks for more than the SDK's
//! default one gives: `certificate_file_path` (extra CA certificates), `no_verify_ssl`
//! (accept any server certificate) or `proxy_address` (an HTTP proxy, reached with
//! `CONNECT`).
//!
//! TLS goes through stratus's TLS module ([`stratus_tls::TlsClientConfig`]): the same
//! rustls and aws-lc-rs as every other stratus client, the system's roots plus the
//! extra CA file, and `insecure_skip_verify` for `no_verify_ssl` (which still checks
//! the handshake's signatures). Both `https://` and `http://` endpoints work; through
//! a proxy every connection is a `CONNECT` tunnel, TLS inside it for `https://`. A
//! proxy URL may carry `user:password@`, sent as `Proxy-Authorization: Basic`.
//!
//! Without any of the three keys the SDK's default client is used unchanged.

use std::sync::Arc;
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::rt::TokioExecutor;

use crate::session::AwsSessionConfig;

/// Why the custom client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HttpClientError {
    /// The TLS settings (`certificate_file_path`) could not be loaded.
    #[error("certificate_file_path: {0}")]
    Tls(String),
    /// `proxy_address` is not a usable URL.
    #[error("proxy_address: {0}")]
    Proxy(String),
}

/// Whether the session needs [`http_client`] rather than the SDK's default client.
pub fn needs_custom_client(cfg: &AwsSessionConfig) -> bool {
    cfg.no_verify_ssl || !cfg.proxy_address.is_empty() || !cfg.certificate_file_path.is_empty()
}

/// The proxy of `proxy_address`: its `http://host:port` and, when the URL carries
/// user info, the `Proxy-Authorization` value.
pub(crate) fn parse_proxy(
    address: &str,
) -> Result<(http::Uri, Option<http::HeaderValue>), HttpClientError> {
    let bad = |why: &str| {
        HttpClientError::Proxy(format!(
            "`{}` {why}: write it as http://host:port (optionally http://user:password@host:port)",
            redact_user_info(address)
        ))
    };
    let rest = address
        .strip_prefix("http://")
        .ok_or_else(|| bad("is not an http:// URL"))?;
    let authority_part = rest.split('/').next().unwrap_or_default();
    let (user_info, host) = match authority_part.rsplit_once('@') {
        Some((user, host)) => (Some(user), host),
        None => (None, authority_part),
    };
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    let uri: http::Uri = format!("http://{host}")
        .parse()
        .map_err(|_| bad("is not a valid URL"))?;
    let auth = match user_info {
        None => None,
        Some(info) => {
            use base64::Engine as _;
            let encoded = base64::engine::general_purpose::STANDARD.encode(info);
            let value = http::HeaderValue::from_str(&format!("Basic {encoded}"))
                .map_err(|_| bad("has unusable user info"))?;
            Some(value)
        }
    };
    Ok((uri, auth))
}

/// `address` with any password replaced, for messages.
fn redact_user_info(address: &str) -> String {
    match (address.find("://"), address.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &address[..scheme], &address[at + 1..])
        }
        _ => address.to_owned(),
    }
}

/// The HTTP client for `cfg` (see the module docs), or `None` when the SDK's default
/// client does.
pub fn http_client(cfg: &AwsSessionConfig) -> Result<Option<SharedHttpClient>, HttpClientError> {
    if !needs_custom_client(cfg) {
        return Ok(None);
    }
    let tls = stratus_tls::TlsClientConfig {
        ca_file: cfg.certificate_file_path.clone(),
        include_system_ca_certs_pool: true,
        insecure_skip_verify: cfg.no_verify_ssl,
        ..Default::default()
    };
    let rustls = tls
        .client_config(&[])
        .map_err(|e| HttpClientError::Tls(e.to_string()))?;
    let mut tcp = TcpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(Duration::from_secs(10)));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(Arc::unwrap_or_clone(rustls))
        .https_or_http()
        .enable_http1();
    let connector: SharedHttpConnector = if cfg.proxy_address.is_empty() {
        let client = Client::builder(TokioExecutor::new()).build(https.wrap_connector(tcp));
        SharedHttpConnector::new(HyperConnector { client })
    } else {
        let (proxy, auth) = parse_proxy(&cfg.proxy_address)?;
        let mut tunnel = Tunnel::new(proxy, tcp);
        if let Some(auth) = auth {
            tunnel = tunnel.with_auth(auth);
        }
        let client = Client::builder(TokioExecutor::new()).build(https.wrap_connector(tunnel));
        SharedHttpConnector::new(HyperConnector { client })
    };
    Ok(Some(SharedHttpClient::new(FixedConnector(connector))))
}

/// One connector for every operation (the SDK's per-operation connect and read
/// timeouts are replaced by the session's attempt timeout and a 10 s connect
/// timeout).
#[derive(Debug)]
struct FixedConnector(SharedHttpConnector);

impl HttpClient for FixedConnector {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.clone()
    }
}

/// A hyper client as the SDK's connector.
struct HyperConnector<C> {
    client: Client<C, SdkBody>,
}

impl<C> std::fmt::Debug for HyperConnector<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HyperConnector")
    }
}

impl<C> HttpConnector for HyperConnector<C>
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(r) => r,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            let response = client.request(request).await.map_err(|e| {
                if e.is_connect() {
                    ConnectorError::io(e.into())
                } else {
                    ConnectorError::other(e.into(), None)
                }
            })?;
            let (parts, body) = response.into_parts();
            let response = http::Response::from_parts(parts, SdkBody::from_body_1_x(body));
            HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_addresses() {
        let (uri, auth) = parse_proxy("http://proxy.internal:3128").unwrap();
        assert_eq!(uri.to_string(), "http://proxy.internal:3128/");
        assert!(auth.is_none());
        let (uri, auth) = parse_proxy("http://svc:s3cret@10.0.0.1:8080/").unwrap();
        assert_eq!(uri.authority().unwrap().as_str(), "10.0.0.1:8080");
        // base64("svc:s3cret")
        assert_eq!(auth.unwrap(), "Basic c3ZjOnMzY3JldA==");
        let err = parse_proxy("https://svc:s3cret@proxy:443")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not an http:// URL"), "{err}");
        assert!(!err.contains("s3cret"), "the password is not shown: {err}");
        assert!(parse_proxy("http://").is_err());
    }

    #[test]
    fn the_default_client_is_kept_unless_asked() {
        assert!(!needs_custom_client(&AwsSessionConfig::default()));
        for cfg in [
            AwsSessionConfig {
                no_verify_ssl: true,
                ..Default::default()
            },
            AwsSessionConfig {
                proxy_address: "http://p:1".into(),
                ..Default::default()
            },
        ] {
            assert!(needs_custom_client(&cfg));
            assert!(http_client(&cfg).unwrap().is_some());
        }
        let missing = AwsSessionConfig {
            certificate_file_path: "/nonexistent/ca.pem".into(),
            ..Default::default()
        };
        let err = http_client(&missing).unwrap_err().to_string();
        assert!(err.starts_with("certificate_file_path:"), "{err}");
    }
}
