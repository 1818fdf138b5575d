//! The admin endpoint served on a real socket on 127.0.0.1.

// Test helpers outside #[test] functions may unwrap too: a failure is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use stratus_core::auth::{AuthError, AuthFailure, AuthInfo, ServerAuthenticator};
use stratus_core::factory::{Authenticators, BuildContext, ExtensionFactory, FactoryInfo};
use stratus_core::telemetry::Registry;
use stratus_core::{Health, Host, PipelineShape, Signal, Topology};
use stratus_extension_admin::{AdminExtensionFactory, ZPagesExtensionFactory};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// One HTTP/1.1 request on a fresh connection, with extra header lines.
async fn request(addr: SocketAddr, method: &str, path: &str, headers: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{headers}\r\n"
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    Reply {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

async fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path, "").await
}

fn topology() -> Topology {
    Topology {
        pipelines: vec![PipelineShape {
            id: "traces".into(),
            signal: Signal::Traces,
            receivers: vec!["otlp".into()],
            processors: vec!["batch".into()],
            exporters: vec!["otlp/gateway".into()],
        }],
        extensions: vec!["admin".into()],
        connectors: vec![],
    }
}

fn ctx(id: &str, registry: &Registry) -> BuildContext {
    BuildContext::new(id.parse().unwrap(), vec![], registry.clone())
}

/// Builds and starts an admin extension of `factory` on a free port.
async fn started(
    factory: &dyn ExtensionFactory,
    ctx: BuildContext,
    mut config: Value,
    host: &Host,
) -> (Arc<dyn stratus_core::factory::Extension>, SocketAddr) {
    let port = stratus_testkit::net::free_port();
    config["endpoint"] = json!(format!("127.0.0.1:{port}"));
    let ext = factory.build(ctx, &config).await.unwrap();
    ext.start(host).await.unwrap();
    (ext, SocketAddr::from(([127, 0, 0, 1], port)))
}

#[tokio::test]
async fn serves_the_status_document_with_rates_and_the_zpages() {
    let registry = Registry::new();
    let accepted = registry.counter(
        "otelcol_receiver_accepted_spans",
        "",
        &[("receiver", "otlp"), ("transport", "grpc")],
    );
    registry
        .gauge(
            "otelcol_exporter_queue_capacity",
            "",
            &[("exporter", "otlp/gateway")],
        )
        .set(1000.0);
    let (_health_tx, health) = watch::channel(Health::Ready);
    let host = Host::new(health).with_topology(topology());
    let (ext, addr) = started(
        &AdminExtensionFactory,
        ctx("admin", &registry),
        json!({}),
        &host,
    )
    .await;

    let first = get(addr, "/api/v1/status").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("content-type").unwrap(), "application/json");
    assert_eq!(first.header("cache-control").unwrap(), "no-store");
    let doc = first.json();
    assert_eq!(doc["schema"], "stratus.admin/v1");
    assert_eq!(doc["health"], "ready");
    assert_eq!(doc["pipelines"][0]["processors"], json!(["batch"]));
    let kinds: Vec<(&str, &str)> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap(), c["id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("receiver", "otlp"),
            ("processor", "batch"),
            ("exporter", "otlp/gateway"),
            ("extension", "admin"),
        ]
    );
    assert_eq!(
        doc["components"][2]["queue"],
        json!({"size": 0, "capacity": 1000})
    );
    assert!(doc["components"][0]["rates"].is_null());

    // Traffic arrives; a second reading a second later has a rate.
    accepted.add(2_000);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let rates = loop {
        let doc = get(addr, "/api/v1/status").await.json();
        if doc["components"][0]["rates"]["incoming"].as_f64() > Some(0.0) {
            break doc;
        }
        assert!(tokio::time::Instant::now() < deadline, "no rate: {doc}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(rates["components"][0]["totals"]["incoming"], 2_000);
    assert!(rates["interval_seconds"].as_f64().unwrap() > 0.8);

    for (path, needle) in [
        ("/debug/servicez", "stratus"),
        ("/debug/pipelinez", "otlp/gateway"),
        ("/debug/extensionz", "admin"),
        ("/debug/featurez", "feature gates"),
        ("/", "api/v1/status"),
    ] {
        let page = get(addr, path).await;
        assert_eq!(page.status, 200, "{path}");
        assert_eq!(
            page.header("content-type").unwrap(),
            "text/html; charset=utf-8"
        );
        assert!(page.body.contains(needle), "{path}: {}", page.body);
    }
    // The status page loads nothing from elsewhere.
    let page = get(addr, "/").await.body;
    assert!(!page.contains("http://") || !page.contains("src=\"http"));
    assert!(!page.contains("<script src"));

    assert_eq!(get(addr, "/debug/expvarz").await.status, 404);
    assert_eq!(get(addr, "/nope").await.status, 404);
    let post = request(addr, "POST", "/api/v1/status", "Content-Length: 0\r\n").await;
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow").unwrap(), "GET, HEAD");

    ext.shutdown().await.unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "closed after shutdown"
    );
    ext.shutdown().await.unwrap();
}

#[tokio::test]
async fn zpages_is_the_same_server_under_upstreams_name() {
    let f = ZPagesExtensionFactory;
    assert_eq!(f.type_name(), "zpages");
    assert!(f.check_config(&Value::Null).is_ok());
    assert_eq!(
        f.check_config(&json!({"endpoint": "nowhere"})).unwrap_err()[0].path,
        "endpoint"
    );
    let registry = Registry::new();
    let host = Host::ready().with_topology(topology());
    let (ext, addr) = started(
        &f,
        ctx("zpages", &registry),
        json!({"expvar": {"enabled": true}}),
        &host,
    )
    .await;
    let pipelinez = get(addr, "/debug/pipelinez").await;
    assert_eq!(pipelinez.status, 200);
    assert!(pipelinez.body.contains("<td>traces</td>"));
    let expvar = get(addr, "/debug/expvarz").await;
    assert_eq!(expvar.status, 200);
    assert!(expvar.json()["rss_bytes"].is_u64());
    ext.shutdown().await.unwrap();
}

/// Lets a request through when it carries `Authorization: Bearer letmein`.
struct Token;

#[async_trait]
impl ServerAuthenticator for Token {
    async fn authenticate(&self, headers: &http::HeaderMap) -> Result<AuthInfo, AuthError> {
        match headers.get("authorization").map(|v| v.as_bytes()) {
            Some(b"Bearer letmein") => Ok(AuthInfo::default()),
            Some(_) => Err(AuthError::new(
                AuthFailure::Invalid,
                "bearer token does not match",
            )),
            None => Err(AuthError::new(
                AuthFailure::Missing,
                "missing Authorization header",
            )),
        }
    }
}

#[tokio::test]
async fn behind_an_authenticator_every_page_asks_for_credentials() {
    let registry = Registry::new();
    let mut authenticators = BTreeMap::new();
    authenticators.insert(
        "bearertokenauth".parse().unwrap(),
        Authenticators {
            server: Some(Arc::new(Token)),
            client: None,
        },
    );
    let config = json!({"auth": {"authenticator": "bearertokenauth"}});
    let (ext, addr) = started(
        &AdminExtensionFactory,
        ctx("admin", &registry).with_authenticators(authenticators),
        config,
        &Host::ready(),
    )
    .await;
    for path in ["/", "/api/v1/status", "/debug/servicez"] {
        let refused = get(addr, path).await;
        assert_eq!(refused.status, 401, "{path}");
        assert!(refused.body.contains("missing Authorization header"));
        assert!(refused.header("www-authenticate").is_some());
        let wrong = request(addr, "GET", path, "Authorization: Bearer guess\r\n").await;
        assert_eq!(wrong.status, 401);
        let ok = request(addr, "GET", path, "Authorization: Bearer letmein\r\n").await;
        assert_eq!(ok.status, 200, "{path}");
    }
    ext.shutdown().await.unwrap();

    // An authenticator that is not running is a build error naming the key.
    let err = AdminExtensionFactory
        .build(
            ctx("admin", &registry),
            &json!({"auth": {"authenticator": "basicauth"}}),
        )
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("auth::authenticator"), "{err}");
}

#[test]
fn listening_beyond_loopback_without_auth_is_warned_about() {
    let f = AdminExtensionFactory;
    assert!(f.exposure_warnings(&json!({})).is_empty());
    let w = f.exposure_warnings(&json!({"endpoint": "0.0.0.0:55679"}));
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].path, "endpoint");
    assert!(
        f.exposure_warnings(
            &json!({"endpoint": "0.0.0.0:55679", "auth": {"authenticator": "basicauth"}})
        )
        .is_empty()
    );
}

#[tokio::test]
async fn conformance() {
    stratus_testkit::conformance::extension(&AdminExtensionFactory)
        .config(json!({"endpoint": stratus_testkit::net::free_endpoint()}))
        .await;
    stratus_testkit::conformance::extension(&ZPagesExtensionFactory)
        .config(json!({"endpoint": stratus_testkit::net::free_endpoint()}))
        .await;
}
