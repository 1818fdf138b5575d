//! The health check served on a real socket on 127.0.0.1.

// Test helpers outside #[test] functions may unwrap too: a failure is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use stratus_core::factory::{BuildContext, ExtensionFactory, FactoryInfo};
use stratus_core::telemetry::Registry;
use stratus_core::{Component, Health, Host};
use stratus_extension_health_check::extension::NEVER_READY;
use stratus_extension_health_check::{
    HealthCheckConfig, HealthCheckExtension, HealthCheckExtensionFactory,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
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

/// One HTTP/1.1 request on a fresh connection.
async fn request(addr: SocketAddr, method: &str, path: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
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
    request(addr, "GET", path).await
}

/// Polls until a GET on `path` answers `status`, failing after a generous deadline.
async fn wait_for_status(addr: SocketAddr, path: &str, status: u16) -> Reply {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let reply = get(addr, path).await;
        if reply.status == status {
            return reply;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {} instead of {status}: {}",
            reply.status,
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn config(extra: Value) -> HealthCheckConfig {
    let mut raw = json!({"endpoint": "127.0.0.1:0"});
    if let (Some(map), Value::Object(extra)) = (raw.as_object_mut(), extra) {
        map.extend(extra);
    }
    stratus_core::factory::decode_config(&raw).unwrap()
}

async fn started(
    extra: Value,
    health: Health,
) -> (HealthCheckExtension, SocketAddr, watch::Sender<Health>) {
    let (tx, rx) = watch::channel(health);
    let ext = HealthCheckExtension::new("health_check", config(extra));
    ext.start(&Host::new(rx)).await.unwrap();
    let addr = ext.local_addr().unwrap();
    (ext, addr, tx)
}

/// Is `s` a Go-style RFC 3339 UTC time with an optional fraction?
fn looks_like_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() >= 20
        && s.ends_with('Z')
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && (s.len() == 20 || b[19] == b'.')
}

#[tokio::test]
async fn ready_answers_200_with_status_document() {
    let (ext, addr, _tx) = started(json!({}), Health::Ready).await;
    let reply = get(addr, "/").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/json")
    );
    let doc = reply.json();
    let obj = doc.as_object().unwrap();
    assert_eq!(
        obj.keys().collect::<Vec<_>>(),
        ["status", "upSince", "uptime"]
    );
    assert_eq!(doc["status"], "Server available");
    let since = doc["upSince"].as_str().unwrap();
    assert!(looks_like_rfc3339(since), "{since}");
    assert_ne!(since, NEVER_READY);
    let uptime = doc["uptime"].as_str().unwrap();
    assert!(
        stratus_core::confval::parse_duration(uptime).is_ok(),
        "uptime {uptime}"
    );
    // upSince stays put from one request to the next.
    assert_eq!(get(addr, "/").await.json()["upSince"], since);
    // The document keys appear in the collector's order.
    assert!(
        reply
            .body
            .starts_with("{\"status\":\"Server available\",\"upSince\":\"")
    );
    ext.shutdown().await.unwrap();
}

#[tokio::test]
async fn starting_then_ready_then_stopping() {
    let (ext, addr, tx) = started(json!({}), Health::Starting).await;
    let reply = get(addr, "/").await;
    assert_eq!(reply.status, 503);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/json")
    );
    let doc = reply.json();
    assert_eq!(doc["status"], "Server not available");
    assert_eq!(doc["upSince"], NEVER_READY);
    assert_eq!(doc["uptime"], "");

    tx.send(Health::Ready).unwrap();
    let ready = wait_for_status(addr, "/", 200).await.json();
    assert_eq!(ready["status"], "Server available");
    let since = ready["upSince"].as_str().unwrap().to_string();

    tx.send(Health::Stopping).unwrap();
    let stopping = wait_for_status(addr, "/", 503).await.json();
    assert_eq!(stopping["status"], "Server not available");
    assert_eq!(stopping["upSince"], since.as_str());
    assert!(stratus_core::confval::parse_duration(stopping["uptime"].as_str().unwrap()).is_ok());
    ext.shutdown().await.unwrap();
}

#[tokio::test]
async fn other_paths_are_404_and_custom_paths_work() {
    let (ext, addr, _tx) = started(json!({"path": "/health/status"}), Health::Ready).await;
    assert_eq!(get(addr, "/health/status").await.status, 200);
    assert_eq!(get(addr, "/health/status?verbose=1").await.status, 200);
    assert_eq!(get(addr, "/").await.status, 404);
    assert_eq!(get(addr, "/health").await.status, 404);
    assert_eq!(get(addr, "/health/status/x").await.status, 404);
    let head = request(addr, "HEAD", "/health/status").await;
    assert_eq!(head.status, 200);
    assert_eq!(head.body, "");
    let post = request(addr, "POST", "/health/status").await;
    assert_eq!(post.status, 405);
    ext.shutdown().await.unwrap();

    let (ext, addr, _tx) = started(json!({}), Health::Ready).await;
    assert_eq!(get(addr, "/").await.status, 200);
    assert_eq!(get(addr, "/metrics").await.status, 404);
    ext.shutdown().await.unwrap();
}

#[tokio::test]
async fn response_body_overrides_the_document() {
    let (ext, addr, tx) = started(
        json!({"response_body": {"healthy": "I'm OK", "unhealthy": "I'm not well"}}),
        Health::Starting,
    )
    .await;
    let reply = get(addr, "/").await;
    assert_eq!((reply.status, reply.body.as_str()), (503, "I'm not well"));
    tx.send(Health::Ready).unwrap();
    let reply = wait_for_status(addr, "/", 200).await;
    assert_eq!(reply.body, "I'm OK");
    ext.shutdown().await.unwrap();
}

#[tokio::test]
async fn bind_failure_is_an_error_from_start() {
    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = taken.local_addr().unwrap().port();
    let ext = HealthCheckExtension::new(
        "health_check/busy",
        config(json!({"endpoint": format!("127.0.0.1:{port}")})),
    );
    let err = ext.start(&Host::ready()).await.unwrap_err().to_string();
    assert!(err.contains("health_check/busy"), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(ext.local_addr().is_none());
    ext.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_stops_listening_and_is_idempotent() {
    let (ext, addr, _tx) = started(json!({}), Health::Ready).await;
    assert_eq!(get(addr, "/").await.status, 200);
    ext.shutdown().await.unwrap();
    assert!(ext.local_addr().is_none());
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "nothing listens after shutdown"
    );
    ext.shutdown().await.unwrap();
    // Shutdown without start is fine too.
    HealthCheckExtension::new("health_check", config(json!({})))
        .shutdown()
        .await
        .unwrap();
}

#[tokio::test]
async fn conformance() {
    stratus_testkit::conformance::extension(&HealthCheckExtensionFactory)
        .config(json!({"endpoint": stratus_testkit::net::free_endpoint()}))
        .await;
}

#[tokio::test]
async fn factory_builds_a_working_extension() {
    let f = HealthCheckExtensionFactory;
    assert_eq!(f.type_name(), "health_check");
    assert!(f.signals().is_empty());
    assert!(f.check_config(&Value::Null).is_ok());
    let problems = f.check_config(&json!({"path": "nope"})).unwrap_err();
    assert_eq!(problems[0].path, "path");

    let ctx = || BuildContext::new("health_check".parse().unwrap(), vec![], Registry::new());
    let err = f
        .build(ctx(), &json!({"endpoint": "nowhere"}))
        .await
        .err()
        .expect("invalid endpoint");
    assert!(err.to_string().contains("endpoint"), "{err}");

    let ext: Arc<dyn Component> = f
        .build(ctx(), &json!({"endpoint": "127.0.0.1:0"}))
        .await
        .unwrap();
    ext.start(&Host::ready()).await.unwrap();
    ext.shutdown().await.unwrap();
}
