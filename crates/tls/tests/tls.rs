//! stratus-tls: config validation, loading errors, and real handshakes on 127.0.0.1
//! with certificates made by rcgen.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls_pki_types::CertificateDer;
use serde_json::{Value, json};
use stratus_core::factory::{ConfigProblem, Validate, decode_config};
use stratus_tls::{TlsClientConfig, TlsError, TlsServerConfig, prefixed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::client::TlsStream;

// ---------------------------------------------------------------- certificates

/// A test CA.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, as PEM.
#[derive(Clone)]
struct Leaf {
    cert: String,
    key: String,
}

impl Leaf {
    fn der(&self) -> Vec<u8> {
        use rustls_pki_types::pem::PemObject;
        CertificateDer::from_pem_slice(self.cert.as_bytes())
            .unwrap()
            .to_vec()
    }
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        Ca {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    fn leaf(&self, names: &[&str]) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

/// A directory for PEM files.
struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().unwrap())
    }

    fn path(&self, name: &str) -> String {
        self.0.path().join(name).display().to_string()
    }

    /// Writes `text` to `name` atomically (write, then rename), as secret mounts do.
    fn write(&self, name: &str, text: &str) -> String {
        let tmp: PathBuf = self.0.path().join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        let path = self.path(name);
        std::fs::rename(&tmp, Path::new(&path)).unwrap();
        path
    }
}

fn server(value: Value) -> TlsServerConfig {
    decode_config(&value).unwrap_or_else(|p| panic!("{value}: {p:?}"))
}

fn client(value: Value) -> TlsClientConfig {
    decode_config(&value).unwrap_or_else(|p| panic!("{value}: {p:?}"))
}

// ---------------------------------------------------------------- validation

#[test]
fn defaults_follow_configtls() {
    let c = TlsClientConfig::default();
    assert_eq!(c.min_version, "1.2");
    assert_eq!(c.max_version, "");
    assert!(c.cipher_suites.is_empty());
    assert!(c.reload_interval.is_zero());
    assert!(!c.insecure && !c.insecure_skip_verify && !c.include_system_ca_certs_pool);
    let s = TlsServerConfig::default();
    assert_eq!(s.min_version, "1.2");
    assert!(!s.client_ca_file_reload);
    // `null` (a key with nothing after it) is the default config.
    assert_eq!(client(Value::Null), c);
}

#[test]
fn valid_configs() {
    for value in [
        json!({}),
        json!({"ca_file": "/etc/ca.pem", "include_system_ca_certs_pool": true}),
        json!({"ca_pem": "-----BEGIN CERTIFICATE-----", "ca_file": null}),
        json!({"cert_file": "/c.pem", "key_file": "/k.pem", "reload_interval": "1m30s"}),
        json!({"cert_pem": "x", "key_pem": "y"}),
        json!({"cert_file": "/c.pem", "key_pem": "y"}),
        json!({"min_version": "1.3"}),
        json!({"min_version": "1.2", "max_version": "1.2"}),
        json!({"min_version": "", "max_version": "1.3"}),
        json!({"cipher_suites": ["TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                                 "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"]}),
        json!({"curve_preferences": ["X25519MLKEM768", "X25519", "P256", "P384"]}),
        json!({"insecure": true, "insecure_skip_verify": true}),
        json!({"server_name_override": "collector.example.com"}),
        json!({"server_name_override": "10.0.0.1"}),
    ] {
        let c = client(value.clone());
        assert!(c.validate().is_empty(), "{value}");
    }
    for value in [
        json!({"cert_file": "/c.pem", "key_file": "/k.pem"}),
        json!({"cert_pem": "x", "key_pem": "y", "client_ca_file": "/ca.pem",
               "client_ca_file_reload": true, "reload_interval": "10s"}),
        json!({"cert_file": "/c.pem", "key_file": "/k.pem", "ca_file": "/ca.pem",
               "min_version": "1.3", "cipher_suites": ["TLS_AES_256_GCM_SHA384"]}),
    ] {
        let s = server(value.clone());
        assert!(s.validate().is_empty(), "{value}");
    }
}

/// Every problem of `value`: decoding errors and validation problems.
fn problems<C>(value: &Value) -> Vec<ConfigProblem>
where
    C: serde::de::DeserializeOwned + Default + Validate,
{
    match decode_config::<C>(value) {
        Ok(_) => Vec::new(),
        Err(problems) => problems,
    }
}

#[test]
fn invalid_client_configs() {
    let cases: &[(Value, &str, &str)] = &[
        (
            json!({"ca_file": "/ca.pem", "ca_pem": "x"}),
            "ca_pem",
            "either `ca_file` or `ca_pem`, not both",
        ),
        (
            json!({"cert_file": "/c.pem", "cert_pem": "x", "key_file": "/k.pem"}),
            "cert_pem",
            "either `cert_file` or `cert_pem`",
        ),
        (
            json!({"cert_file": "/c.pem", "key_file": "/k.pem", "key_pem": "x"}),
            "key_pem",
            "either `key_file` or `key_pem`",
        ),
        (
            json!({"cert_file": "/c.pem"}),
            "key_file",
            "the certificate needs its private key",
        ),
        (
            json!({"key_pem": "x"}),
            "cert_file",
            "the key needs its certificate",
        ),
        (
            json!({"min_version": "1.0"}),
            "min_version",
            "TLS 1.0 is not supported: rustls speaks only TLS 1.2 and 1.3",
        ),
        (
            json!({"min_version": "1.1"}),
            "min_version",
            "TLS 1.1 is not supported",
        ),
        (
            json!({"max_version": "1.4"}),
            "max_version",
            "unknown TLS version `1.4`",
        ),
        (
            json!({"min_version": "1.3", "max_version": "1.2"}),
            "max_version",
            "lower than `min_version`",
        ),
        (
            json!({"cipher_suites": ["TLS_AES_128_GCM_SHA256", "TLS_FANCY"]}),
            "cipher_suites",
            "unknown cipher suite `TLS_FANCY`",
        ),
        (
            json!({"cipher_suites": ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"]}),
            "cipher_suites",
            "`TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA` is not supported",
        ),
        (
            json!({"curve_preferences": ["P521"]}),
            "curve_preferences",
            "`P521` is not supported by rustls",
        ),
        (
            json!({"server_name_override": "not a name"}),
            "server_name_override",
            "not a valid DNS name",
        ),
        (
            json!({"reload_interval": "soon"}),
            "reload_interval",
            "invalid duration",
        ),
        (
            json!({"client_ca_file": "/ca.pem"}),
            "client_ca_file",
            "unknown field `client_ca_file`",
        ),
    ];
    for (value, path, message) in cases {
        let found = problems::<TlsClientConfig>(value);
        assert_eq!(found.len(), 1, "{value}: {found:?}");
        assert_eq!(found[0].path, *path, "{value}");
        assert!(
            found[0].message.contains(message),
            "{value}: {}",
            found[0].message
        );
    }
}

#[test]
fn invalid_server_configs() {
    let cases: &[(Value, &[&str], &str)] = &[
        (json!({}), &["cert_file", "key_file"], "is required"),
        (
            json!({"client_ca_file": "/ca.pem"}),
            &["cert_file", "key_file"],
            "is required",
        ),
        (
            json!({"cert_file": "/c.pem"}),
            &["key_file"],
            "needs its private key",
        ),
        (
            json!({"cert_file": "/c.pem", "key_file": "/k.pem", "min_version": "1.1"}),
            &["min_version"],
            "rustls speaks only TLS 1.2 and 1.3",
        ),
        (
            json!({"cert_file": "/c.pem", "key_file": "/k.pem", "max_version": "TLS13"}),
            &["max_version"],
            "unknown TLS version",
        ),
        (
            json!({"cert_file": "/c.pem", "key_file": "/k.pem", "cipher_suites": ["RC4"]}),
            &["cipher_suites"],
            "unknown cipher suite `RC4`",
        ),
        (
            json!({"cert_file": "/c.pem", "key_file": "/k.pem", "insecure": true}),
            &["insecure"],
            "unknown field `insecure`",
        ),
    ];
    for (value, paths, message) in cases {
        let found = problems::<TlsServerConfig>(value);
        let got: Vec<&str> = found.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(got, *paths, "{value}");
        assert!(
            found.iter().all(|p| p.message.contains(message)),
            "{value}: {found:?}"
        );
    }
    // Every problem at once, each at its key, prefixed by the component.
    let found = prefixed(
        "protocols::grpc::tls",
        problems::<TlsServerConfig>(&json!({
            "cert_file": "/c.pem", "cert_pem": "x", "min_version": "1.0",
            "max_version": "2", "curve_preferences": ["P999"],
        })),
    );
    let got: Vec<&str> = found.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        got,
        [
            "protocols::grpc::tls::cert_pem",
            "protocols::grpc::tls::key_file",
            "protocols::grpc::tls::min_version",
            "protocols::grpc::tls::max_version",
            "protocols::grpc::tls::curve_preferences",
        ]
    );
}

#[test]
fn key_pem_is_never_printed() {
    let secret = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0IGtleQ==\n-----END PRIVATE KEY-----";
    let s = server(json!({"cert_file": "/c.pem", "key_pem": secret}));
    assert!(!format!("{s:?}").contains("c2VjcmV0"), "{s:?}");
    let c: TlsClientConfig =
        serde_json::from_value(json!({"key_file": "/k.pem", "key_pem": secret, "cert_pem": "x"}))
            .unwrap();
    let found = c.validate();
    assert_eq!(found[0].path, "key_pem");
    assert!(found.iter().all(|p| !p.message.contains("c2VjcmV0")));
    // Not a usable key: the error says where, never what.
    let ca = Ca::new("ca");
    let leaf = ca.leaf(&["localhost"]);
    let err = server(json!({"cert_pem": leaf.cert, "key_pem": secret}))
        .server_config(&[])
        .unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("key_pem: inline PEM: "), "{text}");
    assert!(!text.contains("c2VjcmV0"), "{text}");
}

// ---------------------------------------------------------------- loading errors

#[test]
fn load_errors_name_the_key_and_the_file() {
    let dir = Dir::new();
    let ca = Ca::new("ca");
    let leaf = ca.leaf(&["localhost"]);
    let cert = dir.write("cert.pem", &leaf.cert);
    let key = dir.write("key.pem", &leaf.key);
    let garbage = dir.write("garbage.pem", "not pem at all");
    let other_key = dir.write("other-key.pem", &ca.leaf(&["x"]).key);
    let missing = dir.path("missing.pem");

    let cases: Vec<(TlsServerConfig, &str, String, &str)> = vec![
        (
            server(json!({"cert_file": missing, "key_file": key})),
            "cert_file",
            format!("cert_file: cannot read `{missing}`"),
            "No such file",
        ),
        (
            server(json!({"cert_file": garbage, "key_file": key})),
            "cert_file",
            format!("cert_file: `{garbage}`"),
            "no CERTIFICATE block found",
        ),
        (
            server(json!({"cert_file": cert, "key_file": garbage})),
            "key_file",
            format!("key_file: `{garbage}`"),
            "no PRIVATE KEY block found",
        ),
        (
            server(json!({"cert_file": cert, "key_file": other_key})),
            "key_file",
            format!("key_file: `{other_key}`"),
            "not a usable private key for the certificate",
        ),
        (
            server(json!({"cert_file": cert, "key_file": key, "client_ca_file": garbage})),
            "client_ca_file",
            format!("client_ca_file: `{garbage}`"),
            "no CERTIFICATE",
        ),
        (
            server(json!({"cert_file": cert, "key_file": key, "ca_pem": "junk"})),
            "ca_pem",
            "ca_pem: inline PEM".to_string(),
            "no CERTIFICATE",
        ),
    ];
    for (config, key, start, reason) in cases {
        let err = config.server_config(&[]).unwrap_err();
        let text = err.to_string();
        assert_eq!(err.key(), Some(key), "{text}");
        assert!(text.starts_with(&start), "{text}");
        assert!(text.contains(reason), "{text}");
    }
    let err = client(json!({"ca_file": missing}))
        .client_config(&[])
        .unwrap_err();
    assert!(
        matches!(err, TlsError::Read { key: "ca_file", .. }),
        "{err}"
    );
    assert!(
        err.at("tls").starts_with("tls::ca_file: cannot read"),
        "{err}"
    );
    let err = TlsError::SystemRoots("none found".into());
    assert!(err.at("tls").starts_with("tls: cannot load"), "{err}");
    // Loading an invalid config fails as validating it does.
    let err = TlsServerConfig::default().server_config(&[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cert_file: {}",
            TlsServerConfig::default().validate()[0].message
        )
    );
}

// ---------------------------------------------------------------- handshakes

/// What the test server saw of one accepted connection.
struct Accepted {
    /// The client's certificate, when it sent one.
    client_cert: Option<Vec<u8>>,
}

/// A TLS echo server on 127.0.0.1: every accepted connection is reported, then echoed.
async fn serve(config: &TlsServerConfig) -> (SocketAddr, mpsc::UnboundedReceiver<Accepted>) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config.server_config(&[]).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let client_cert = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| c.to_vec());
                let _ = tx.send(Accepted { client_cert });
                let mut buf = [0u8; 256];
                while let Ok(n) = tls.read(&mut buf).await {
                    if n == 0 || tls.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, rx)
}

/// Connects with `config` to `addr` as `host` and checks the echo: the open stream,
/// or why it failed. TLS 1.3 clients learn of a refused client certificate only when
/// they read, hence the round trip.
async fn connect(
    config: &TlsClientConfig,
    addr: SocketAddr,
    host: &str,
) -> Result<TlsStream<TcpStream>, String> {
    let rustls = config.client_config(&[]).map_err(|e| e.to_string())?;
    let name = config.server_name(host).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let mut tls = tokio_rustls::TlsConnector::from(rustls)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    echo(&mut tls).await?;
    Ok(tls)
}

async fn echo(tls: &mut TlsStream<TcpStream>) -> Result<(), String> {
    tls.write_all(b"ping").await.map_err(|e| e.to_string())?;
    let mut back = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(10), tls.read_exact(&mut back))
        .await
        .map_err(|_| "no echo within 10s".to_string())?
        .map_err(|e| format!("echo: {e}"))?;
    if &back != b"ping" {
        return Err(format!("echoed {back:?}"));
    }
    Ok(())
}

/// The certificate the server presented on `tls`.
fn server_cert(tls: &TlsStream<TcpStream>) -> Vec<u8> {
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

/// A server presenting `leaf` from files in `dir`, with `extra` keys.
fn server_files(dir: &Dir, leaf: &Leaf, extra: Value) -> TlsServerConfig {
    let mut value = json!({
        "cert_file": dir.write("server.pem", &leaf.cert),
        "key_file": dir.write("server-key.pem", &leaf.key),
    });
    for (k, v) in extra.as_object().unwrap() {
        value[k] = v.clone();
    }
    server(value)
}

#[tokio::test]
async fn server_tls_with_ca_pem_or_ca_file() {
    let dir = Dir::new();
    let ca = Ca::new("ca");
    let leaf = ca.leaf(&["localhost"]);
    let (addr, _rx) = serve(&server_files(&dir, &leaf, json!({}))).await;
    let ca_file = dir.write("ca.pem", &ca.pem());
    for trust in [json!({"ca_pem": ca.pem()}), json!({"ca_file": ca_file})] {
        let tls = connect(&client(trust.clone()), addr, "localhost")
            .await
            .unwrap_or_else(|e| panic!("{trust}: {e}"));
        assert_eq!(server_cert(&tls), leaf.der(), "{trust}");
    }
    // Another CA does not vouch for the server.
    let err = connect(
        &client(json!({"ca_pem": Ca::new("other").pem()})),
        addr,
        "localhost",
    )
    .await
    .unwrap_err();
    assert!(err.contains("UnknownIssuer"), "{err}");
    // Nor does a name the certificate does not hold.
    let err = connect(&client(json!({"ca_pem": ca.pem()})), addr, "127.0.0.1")
        .await
        .unwrap_err();
    assert!(err.contains("not valid for name"), "{err}");
    // With the system pool added, the private CA given as ca_pem still vouches for
    // the server (the two are joined, not replaced).
    let tls = connect(
        &client(json!({"ca_pem": ca.pem(), "include_system_ca_certs_pool": true})),
        addr,
        "localhost",
    )
    .await
    .unwrap();
    assert_eq!(server_cert(&tls), leaf.der());
    // insecure_skip_verify trusts anything.
    connect(
        &client(json!({"insecure_skip_verify": true})),
        addr,
        "127.0.0.1",
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn server_name_override_is_checked_instead_of_the_host() {
    let dir = Dir::new();
    let ca = Ca::new("ca");
    let (addr, _rx) = serve(&server_files(
        &dir,
        &ca.leaf(&["collector.stratus.test"]),
        json!({}),
    ))
    .await;
    let plain = client(json!({"ca_pem": ca.pem()}));
    assert!(connect(&plain, addr, "127.0.0.1").await.is_err());
    let overridden =
        client(json!({"ca_pem": ca.pem(), "server_name_override": "collector.stratus.test"}));
    connect(&overridden, addr, "127.0.0.1").await.unwrap();
    assert_eq!(
        overridden.server_name_override().unwrap().unwrap().to_str(),
        "collector.stratus.test"
    );
    assert!(plain.server_name_override().unwrap().is_none());
}

#[tokio::test]
async fn mutual_tls_needs_a_client_certificate() {
    let dir = Dir::new();
    let ca = Ca::new("ca");
    let client_leaf = ca.leaf(&["stratus-client"]);
    for client_ca in [
        json!({"client_ca_file": dir.write("ca.pem", &ca.pem())}),
        json!({"ca_pem": ca.pem()}),
        json!({"client_ca_file": dir.path("ca.pem"), "client_ca_file_reload": true}),
    ] {
        let (addr, mut rx) = serve(&server_files(
            &dir,
            &ca.leaf(&["localhost"]),
            client_ca.clone(),
        ))
        .await;
        let with_cert = client(json!({
            "ca_pem": ca.pem(),
            "cert_file": dir.write("client.pem", &client_leaf.cert),
            "key_pem": client_leaf.key,
        }));
        connect(&with_cert, addr, "localhost")
            .await
            .unwrap_or_else(|e| panic!("{client_ca}: {e}"));
        let accepted = rx.recv().await.unwrap();
        assert_eq!(accepted.client_cert, Some(client_leaf.der()), "{client_ca}");

        let without = client(json!({"ca_pem": ca.pem()}));
        let err = connect(&without, addr, "localhost").await.unwrap_err();
        assert!(
            err.contains("CertificateRequired") || err.contains("echo"),
            "{client_ca}: {err}"
        );
        // A certificate from another CA is refused too.
        let stranger = Ca::new("stranger").leaf(&["stratus-client"]);
        let other =
            client(json!({"ca_pem": ca.pem(), "cert_pem": stranger.cert, "key_pem": stranger.key}));
        assert!(
            connect(&other, addr, "localhost").await.is_err(),
            "{client_ca}"
        );
        assert!(rx.try_recv().is_err(), "only the first client was accepted");
    }
}

#[tokio::test]
async fn versions_and_cipher_suites_are_enforced() {
    let dir = Dir::new();
    let ca = Ca::new("ca");
    let leaf = ca.leaf(&["localhost"]);
    let trust = |extra: Value| {
        let mut value = json!({"ca_pem": ca.pem()});
        for (k, v) in extra.as_object().unwrap() {
            value[k] = v.clone();
        }
        client(value)
    };

    let (tls13, _rx) = serve(&server_files(&dir, &leaf, json!({"min_version": "1.3"}))).await;
    let err = connect(&trust(json!({"max_version": "1.2"})), tls13, "localhost")
        .await
        .unwrap_err();
    assert!(err.contains("handshake"), "{err}");
    let tls = connect(&trust(json!({})), tls13, "localhost")
        .await
        .unwrap();
    assert_eq!(
        tls.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );

    let (tls12, _rx) = serve(&server_files(
        &dir,
        &leaf,
        json!({"max_version": "1.2", "cipher_suites": ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"]}),
    ))
    .await;
    let tls = connect(&trust(json!({})), tls12, "localhost")
        .await
        .unwrap();
    let conn = tls.get_ref().1;
    assert_eq!(
        conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    assert_eq!(
        format!("{:?}", conn.negotiated_cipher_suite().unwrap().suite()),
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
    );
    // A client that offers only another TLS 1.2 suite finds nothing in common.
    let err = connect(
        &trust(json!({"cipher_suites": ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"], "max_version": "1.2"})),
        tls12,
        "localhost",
    )
    .await
    .unwrap_err();
    assert!(err.contains("handshake"), "{err}");
}

/// Polls `check` until it is true, at most 10 seconds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_swapped_server_certificate_serves_new_connections() {
    let dir = Dir::new();
    let ca = Ca::new("ca");
    let first = ca.leaf(&["localhost"]);
    let second = ca.leaf(&["localhost"]);
    let interval = Duration::from_millis(50);
    let (addr, _rx) = serve(&server_files(
        &dir,
        &first,
        json!({"reload_interval": "50ms"}),
    ))
    .await;
    let trust = client(json!({"ca_pem": ca.pem()}));
    let mut open = connect(&trust, addr, "localhost").await.unwrap();
    assert_eq!(server_cert(&open), first.der());

    dir.write("server-key.pem", &second.key);
    dir.write("server.pem", &second.cert);
    eventually("the new certificate", || async {
        let tls = connect(&trust, addr, "localhost").await.unwrap();
        server_cert(&tls) == second.der()
    })
    .await;
    // The connection opened before the swap is still served.
    echo(&mut open).await.unwrap();
    assert_eq!(server_cert(&open), first.der());

    // A broken file is not taken: handshakes go on while it is on disk, and those
    // after the interval has passed re-read it, fail to parse it, and keep serving
    // the second certificate. Every one of them must succeed with it.
    dir.write("server.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n");
    let written = std::time::Instant::now();
    let mut handshakes = 0;
    while written.elapsed() <= interval * 3 || handshakes < 3 {
        let tls = connect(&trust, addr, "localhost").await.unwrap();
        assert_eq!(server_cert(&tls), second.der());
        handshakes += 1;
    }
}

#[tokio::test]
async fn a_swapped_client_certificate_is_sent_on_new_connections() {
    let dir = Dir::new();
    let ca = Ca::new("ca");
    let (addr, mut rx) = serve(&server_files(
        &dir,
        &ca.leaf(&["localhost"]),
        json!({"client_ca_file": dir.write("ca.pem", &ca.pem())}),
    ))
    .await;
    let first = ca.leaf(&["client-1"]);
    let second = ca.leaf(&["client-2"]);
    let mtls = client(json!({
        "ca_pem": ca.pem(),
        "cert_file": dir.write("client.pem", &first.cert),
        "key_file": dir.write("client-key.pem", &first.key),
        "reload_interval": "20ms",
    }));
    let mut open = connect(&mtls, addr, "localhost").await.unwrap();
    assert_eq!(rx.recv().await.unwrap().client_cert, Some(first.der()));

    dir.write("client-key.pem", &second.key);
    dir.write("client.pem", &second.cert);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        connect(&mtls, addr, "localhost").await.unwrap();
        if rx.recv().await.unwrap().client_cert == Some(second.der()) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for the new client certificate"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    echo(&mut open).await.unwrap();
}

#[tokio::test]
async fn a_changed_client_ca_is_used_with_client_ca_file_reload() {
    let dir = Dir::new();
    let old_ca = Ca::new("old");
    let new_ca = Ca::new("new");
    let (addr, _rx) = serve(&server_files(
        &dir,
        &old_ca.leaf(&["localhost"]),
        json!({
            "client_ca_file": dir.write("clients.pem", &old_ca.pem()),
            "client_ca_file_reload": true,
            "reload_interval": "20ms",
        }),
    ))
    .await;
    let with = |leaf: Leaf| {
        client(json!({"ca_pem": old_ca.pem(), "cert_pem": leaf.cert, "key_pem": leaf.key}))
    };
    let old_client = with(old_ca.leaf(&["old-client"]));
    let new_client = with(new_ca.leaf(&["new-client"]));
    let mut open = connect(&old_client, addr, "localhost").await.unwrap();
    assert!(connect(&new_client, addr, "localhost").await.is_err());

    dir.write("clients.pem", &new_ca.pem());
    eventually("the new client CA", || async {
        connect(&new_client, addr, "localhost").await.is_ok()
    })
    .await;
    assert!(connect(&old_client, addr, "localhost").await.is_err());
    echo(&mut open).await.unwrap();
}
