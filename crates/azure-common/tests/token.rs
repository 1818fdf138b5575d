//! The token provider against a recording server playing the Entra ID token endpoint
//! and IMDS.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use stratus_azure_common::http::client;
use stratus_azure_common::{AuthenticationConfig, Clock, MONITOR_SCOPE, TokenError, TokenProvider};
use stratus_testkit::http::{RecordingHttpServer, Response};

/// A clock the test moves by hand.
#[derive(Clone)]
struct ManualClock(Arc<Mutex<SystemTime>>);

impl ManualClock {
    fn at(secs: u64) -> Self {
        ManualClock(Arc::new(Mutex::new(UNIX_EPOCH + Duration::from_secs(secs))))
    }
    fn advance(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

fn config(v: serde_json::Value) -> AuthenticationConfig {
    serde_json::from_value(v).unwrap()
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8(body.to_vec()).unwrap();
    text.split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[tokio::test]
async fn client_credentials_form_scope_cache_and_refresh_before_expiry() {
    let server = RecordingHttpServer::start().await;
    let path = "/tenant-1/oauth2/v2.0/token";
    server.route(
        "POST",
        path,
        Response::ok()
            .json(&json!({"token_type": "Bearer", "expires_in": 3600, "access_token": "tok-1"})),
    );
    let clock = ManualClock::at(1_700_000_000);
    let provider = TokenProvider::new(
        &config(
            json!({"type": "client_secret", "tenant_id": "tenant-1", "client_id": "app-1",
            "client_secret": "s3cr3t&=+", "authority_host": server.url()}),
        ),
        MONITOR_SCOPE,
        client().unwrap(),
    )
    .unwrap()
    .with_clock(Arc::new(clock.clone()));

    let t = provider.token().await.unwrap();
    assert_eq!(t.token.expose(), "tok-1");
    assert_eq!(
        t.expires_on,
        UNIX_EPOCH + Duration::from_secs(1_700_003_600)
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, path);
    assert_eq!(
        reqs[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        form(&reqs[0].body),
        [
            ("grant_type", "client_credentials"),
            ("client_id", "app-1"),
            ("scope", "https%3A%2F%2Fmonitor.azure.com%2F.default"),
            ("client_secret", "s3cr3t%26%3D%2B"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );

    // Cached while more than 5 minutes are left.
    clock.advance(Duration::from_secs(3600 - 301));
    assert_eq!(provider.token().await.unwrap().token.expose(), "tok-1");
    assert_eq!(server.requests().len(), 1);

    // Within 5 minutes of expires_on: a new token, before the old one expired.
    server.route(
        "POST",
        path,
        Response::ok()
            .json(&json!({"token_type": "Bearer", "expires_in": 3600, "access_token": "tok-2"})),
    );
    clock.advance(Duration::from_secs(2));
    assert!(clock.now() < t.expires_on);
    assert_eq!(provider.token().await.unwrap().token.expose(), "tok-2");
    assert_eq!(server.requests().len(), 2);
    assert!(!format!("{provider:?}").contains("s3cr3t"));
}

#[tokio::test]
async fn refusal_is_permanent_and_never_shows_the_secret() {
    let server = RecordingHttpServer::start().await;
    server.set_default(
        Response::status(401).json(&json!({"error": "invalid_client",
        "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x"})),
    );
    let provider = TokenProvider::new(
        &config(
            json!({"type": "client_secret", "tenant_id": "t", "client_id": "c",
            "client_secret": "very-secret-value", "authority_host": server.url()}),
        ),
        MONITOR_SCOPE,
        client().unwrap(),
    )
    .unwrap();
    let err = provider.token().await.unwrap_err();
    assert!(
        matches!(err, TokenError::Refused { status: 401, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(
        text.contains("AADSTS7000215") && text.contains("client_id"),
        "{text}"
    );
    assert!(
        !text.contains("very-secret-value") && !format!("{err:?}").contains("very-secret-value")
    );
}

/// A token endpoint that echoes the request's form (with the secret, raw and
/// form-encoded) in its refusal: the message keeps the refusal, not the secret.
#[tokio::test]
async fn an_echoed_secret_is_scrubbed_from_the_refusal() {
    let server = RecordingHttpServer::start().await;
    server.set_default(Response::status(401).json(&json!({"error": "invalid_client",
        "error_description": "echo: grant_type=client_credentials&client_secret=echo%2Bsecret%26value raw echo+secret&value"})));
    let provider = TokenProvider::new(
        &config(
            json!({"type": "client_secret", "tenant_id": "t", "client_id": "c",
            "client_secret": "echo+secret&value", "authority_host": server.url()}),
        ),
        MONITOR_SCOPE,
        client().unwrap(),
    )
    .unwrap();
    let err = provider.token().await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("invalid_client") && text.contains("client_secret=[REDACTED]"),
        "{text}"
    );
    assert!(
        !text.contains("echo+secret") && !text.contains("echo%2Bsecret"),
        "{text}"
    );
}

#[tokio::test]
async fn managed_identity_asks_imds_with_metadata_header() {
    let server = RecordingHttpServer::start().await;
    server.set_default(Response::ok().json(&json!({"access_token": "mi-tok",
        "expires_on": "1700003600", "expires_in": "3600", "resource": "https://monitor.azure.com"})));
    let provider = TokenProvider::new(
        &config(json!({"type": "managed_identity", "client_id": "uami-1",
            "imds_endpoint": format!("{}/metadata/identity/oauth2/token", server.url())})),
        MONITOR_SCOPE,
        client().unwrap(),
    )
    .unwrap();
    let t = provider.token().await.unwrap();
    assert_eq!(t.token.expose(), "mi-tok");
    assert_eq!(
        t.expires_on,
        UNIX_EPOCH + Duration::from_secs(1_700_003_600)
    );
    let r = &server.requests()[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, "/metadata/identity/oauth2/token");
    assert_eq!(r.header("metadata"), Some("true"));
    assert_eq!(r.query_param("api-version"), Some("2018-02-01"));
    assert_eq!(
        r.query_param("resource"),
        Some("https%3A%2F%2Fmonitor.azure.com")
    );
    assert_eq!(r.query_param("client_id"), Some("uami-1"));
}

#[tokio::test]
async fn workload_identity_sends_the_federated_token_as_assertion() {
    let server = RecordingHttpServer::start().await;
    server.set_default(Response::ok().json(&json!({"access_token": "wi-tok", "expires_in": 3600})));
    let dir = std::env::temp_dir().join(format!("stratus-wi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(&file, "eyJfederated.jwt\n").unwrap();
    let provider = TokenProvider::new(
        &config(
            json!({"type": "workload_identity", "tenant_id": "tn", "client_id": "cl",
            "federated_token_file": file.to_str().unwrap(), "authority_host": server.url()}),
        ),
        MONITOR_SCOPE,
        client().unwrap(),
    )
    .unwrap();
    assert_eq!(provider.token().await.unwrap().token.expose(), "wi-tok");
    let r = &server.requests()[0];
    assert_eq!(r.path, "/tn/oauth2/v2.0/token");
    let f = form(&r.body);
    let get = |k: &str| f.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    assert_eq!(get("client_assertion"), Some("eyJfederated.jwt"));
    assert_eq!(
        get("client_assertion_type"),
        Some("urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer")
    );
    assert_eq!(get("client_id"), Some("cl"));
    assert_eq!(get("client_secret"), None);
    std::fs::remove_dir_all(&dir).unwrap();
}
