use super::*;
use serde_json::json;
use stratus_core::auth::AuthFailure;
use stratus_core::factory::ExtensionFactory;
use stratus_core::telemetry::Registry;

// `hunter2` as apr1 and bcrypt (see htpasswd.rs for where the vectors come from).
const APR1: &str = "$apr1$saltsalt$r/QcFGT5pNL28bNkeDMHR.";
const BCRYPT: &str = "$2y$05$ABCDEFGHIJKLMNOPQRSTUug9EJi7O5Rz32D/n75peBLa/jSnjeWsu";

fn id() -> ComponentId {
    ComponentId::with_name("basicauth", "t")
}

fn ctx() -> BuildContext {
    BuildContext::new(id(), vec![], Registry::new())
}

async fn build(raw: serde_json::Value) -> Result<Arc<dyn Extension>, ComponentError> {
    BasicAuthExtensionFactory.build(ctx(), &raw).await
}

fn basic(user: &str, password: &str) -> HeaderMap {
    raw_auth(&format!(
        "Basic {}",
        STANDARD.encode(format!("{user}:{password}"))
    ))
}

fn raw_auth(value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
    h
}

async fn server(raw: serde_json::Value) -> Arc<dyn ServerAuthenticator> {
    let ext = build(raw).await.unwrap();
    let sides = ext.authenticators().unwrap();
    assert!(
        sides.client.is_none(),
        "a server-side basicauth has no client side"
    );
    sides.server.unwrap()
}

#[tokio::test]
async fn server_accepts_htpasswd_users_and_names_the_subject() {
    let s =
        server(json!({"htpasswd": {"inline": format!("alice:{APR1}\nbob:{BCRYPT}\ncarol:plain")}}))
            .await;
    for user in ["alice", "bob"] {
        let info = s.authenticate(&basic(user, "hunter2")).await.unwrap();
        assert_eq!(info.subject.as_deref(), Some(user));
        assert!(info.groups.is_empty());
    }
    let info = s.authenticate(&basic("carol", "plain")).await.unwrap();
    assert_eq!(info.subject.as_deref(), Some("carol"));
    // The scheme is case-insensitive, as upstream.
    let v = format!("bAsIc {}", STANDARD.encode("alice:hunter2"));
    s.authenticate(&raw_auth(&v)).await.unwrap();
}

#[tokio::test]
async fn server_refuses_every_failure_kind_without_echoing_credentials() {
    let s = server(json!({"htpasswd": {"inline": format!("alice:{APR1}\nbob:{BCRYPT}")}})).await;
    let kind = |e: AuthError| {
        assert!(!e.message.contains("hunter"), "{e}");
        (e.failure, e.message)
    };
    let missing = s.authenticate(&HeaderMap::new()).await.unwrap_err();
    assert_eq!(
        kind(missing),
        (AuthFailure::Missing, "no basic auth provided".into())
    );
    let empty = s.authenticate(&raw_auth("")).await.unwrap_err();
    assert_eq!(empty.failure, AuthFailure::Missing);
    for (value, message) in [
        ("Bearer hunter2", "invalid authorization scheme prefix"),
        ("Basic", "invalid authorization scheme prefix"),
        ("Basic !!!not-base64", "invalid authorization format"),
        ("Basic YWxpY2VodW50ZXIy", "invalid authorization format"), // no colon
        ("Basic YWxpY2U6aHVudGVyMg", "invalid authorization format"), // unpadded
        ("Basic /zpw", "invalid authorization format"),             // user not UTF-8
    ] {
        let e = s.authenticate(&raw_auth(value)).await.unwrap_err();
        assert_eq!(kind(e), (AuthFailure::Malformed, message.into()), "{value}");
    }
    for (user, pw) in [
        ("alice", "hunter3"),
        ("alice", ""),
        ("bob", "hunter3"),
        ("mallory", "hunter2"),
        ("", "hunter2"),
        ("Alice", "hunter2"),
    ] {
        let e = s.authenticate(&basic(user, pw)).await.unwrap_err();
        assert_eq!(
            kind(e),
            (AuthFailure::Invalid, "invalid credentials".into()),
            "{user}:{pw}"
        );
    }
}

#[tokio::test]
async fn expensive_checks_are_remembered_only_when_they_succeed() {
    let ext = BasicAuthExtension::new(
        &id(),
        &stratus_core::factory::decode_config(&json!({
            "htpasswd": {"inline": format!("bob:{BCRYPT}\nalice:{APR1}")}
        }))
        .unwrap(),
    )
    .unwrap();
    let server = ext.authenticators().unwrap().server.unwrap();
    // Reach the concrete type for its cache.
    let concrete = BasicAuthServer::new({
        let mut h = Htpasswd::new();
        h.add(&format!("bob:{BCRYPT}\nalice:{APR1}"));
        h
    });
    for s in [server.as_ref(), &concrete as &dyn ServerAuthenticator] {
        s.authenticate(&basic("bob", "wrong")).await.unwrap_err();
        s.authenticate(&basic("bob", "hunter2")).await.unwrap();
        s.authenticate(&basic("bob", "hunter2")).await.unwrap();
        s.authenticate(&basic("bob", "hunter2x")).await.unwrap_err();
    }
    assert_eq!(
        concrete.verified().len(),
        1,
        "only bob's good password is remembered"
    );
    concrete
        .authenticate(&basic("alice", "hunter2"))
        .await
        .unwrap();
    assert_eq!(concrete.verified().len(), 1, "cheap formats are not cached");
}

#[tokio::test]
async fn file_and_inline_are_merged_with_inline_winning() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("htpasswd");
    std::fs::write(&file, format!("alice:{APR1}\nbob:frompath\nbroken-line\n")).unwrap();
    let s = server(json!({"htpasswd": {"file": file, "inline": "bob:frominline"}})).await;
    s.authenticate(&basic("alice", "hunter2")).await.unwrap();
    s.authenticate(&basic("bob", "frominline")).await.unwrap();
    let e = s.authenticate(&basic("bob", "frompath")).await.unwrap_err();
    assert_eq!(e.failure, AuthFailure::Invalid);
    let s = server(json!({"htpasswd": {"file": file}})).await;
    s.authenticate(&basic("bob", "frompath")).await.unwrap();
}

#[tokio::test]
async fn a_missing_htpasswd_file_fails_the_build() {
    let dir = tempfile::tempdir().unwrap();
    let err = build(json!({"htpasswd": {"file": dir.path().join("nope")}}))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("open htpasswd file") && err.contains("nope"),
        "{err}"
    );
}

#[tokio::test]
async fn client_sends_basic_credentials_the_server_accepts() {
    let ext = build(json!({"client_auth": {"username": "agent", "password": "p@ss:w0rd"}}))
        .await
        .unwrap();
    let sides = ext.authenticators().unwrap();
    assert!(
        sides.server.is_none(),
        "a client-side basicauth has no server side"
    );
    let client = sides.client.unwrap();
    let mut h = raw_auth("Bearer stale");
    client.apply(&mut h).await.unwrap();
    let values: Vec<_> = h.get_all(AUTHORIZATION).iter().collect();
    assert_eq!(values.len(), 1, "the client replaces the header");
    assert_eq!(values[0], "Basic YWdlbnQ6cEBzczp3MHJk"); // base64("agent:p@ss:w0rd")
    assert!(values[0].is_sensitive());
    // A password with a colon round-trips through the server side.
    let s = server(json!({"htpasswd": {"inline": "agent:$apr1$x$28zJqnFA/xtD4rroLQohx0"}})).await;
    let info = s.authenticate(&h).await.unwrap();
    assert_eq!(info.subject.as_deref(), Some("agent"));
}

#[test]
fn debug_of_the_extension_never_shows_a_secret() {
    let config: BasicAuthConfig = stratus_core::factory::decode_config(&json!({
        "client_auth": {"username": "u", "password": "pw-marker"}
    }))
    .unwrap();
    let ext = BasicAuthExtension::new(&id(), &config).unwrap();
    let shown = format!("{ext:?}");
    assert!(!shown.contains("pw-marker"), "{shown}");
    assert!(!shown.contains(&STANDARD.encode("u:pw-marker")), "{shown}");
    let config: BasicAuthConfig = stratus_core::factory::decode_config(&json!({
        "htpasswd": {"inline": "alice:plain-marker"}
    }))
    .unwrap();
    let ext = BasicAuthExtension::new(&id(), &config).unwrap();
    let shown = format!("{ext:?}");
    assert!(!shown.contains("plain-marker"), "{shown}");
}

#[tokio::test]
async fn conformance() {
    stratus_testkit::conformance::extension(&BasicAuthExtensionFactory)
        .config(json!({"htpasswd": {"inline": "user:pass"}}))
        .default_config_rejected(&[""])
        .await;
    stratus_testkit::conformance::extension(&BasicAuthExtensionFactory)
        .config(json!({"client_auth": {"username": "user", "password": "pass"}}))
        .default_config_rejected(&[""])
        .await;
}
