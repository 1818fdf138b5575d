//! Shared helpers for stratus's end-to-end tests: start the real binary, wait for it
//! with bounded polling, talk to it over real sockets on 127.0.0.1, and compare what
//! arrived with what was sent, message by message.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub mod configs;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

/// How long any wait in these tests may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// A port on 127.0.0.1 reserved for this test, claimed across the parallel test
/// processes (each starts several stratus processes) by the test kit.
pub use stratus_testkit::net::free_port;

/// Polls `check` until it returns `Some`, failing the test after [`DEADLINE`].
pub fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls `check` until it returns `Some`, failing the test after `limit`: for the
/// promises that name a bound ("within 30 s").
pub fn wait_within<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The Python interpreter of the test virtualenv (set up by `scripts/test`).
pub fn python() -> PathBuf {
    let path = std::env::var("STRATUS_TEST_PYTHON").unwrap_or_else(|_| {
        let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/python");
        venv.to_string()
    });
    let path = PathBuf::from(path);
    assert!(
        path.exists(),
        "no Python virtualenv with the OpenTelemetry SDK at {}: run ./scripts/test, which creates it",
        path.display()
    );
    path
}

/// The repository's `tests/python` directory.
pub fn python_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/python"))
}

/// The OTLP/JSON and protobuf reference pairs (`tests/data/otlp-pairs`).
pub fn pairs_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/otlp-pairs"
    ))
}

/// A running stratus process; killed when dropped.
pub struct Stratus {
    child: Option<Child>,
    pub log: PathBuf,
    pub config: PathBuf,
}

impl Stratus {
    /// Starts stratus with `config` (YAML text) written into `dir`.
    pub fn start(dir: &Path, name: &str, config: &str) -> Stratus {
        Self::start_with_args(dir, name, config, &[])
    }

    /// Starts stratus with a config and extra arguments.
    pub fn start_with_args(dir: &Path, name: &str, config: &str, args: &[&str]) -> Stratus {
        Self::spawn(
            dir,
            name,
            config,
            args,
            Command::new(env!("CARGO_BIN_EXE_stratus")),
        )
    }

    /// Starts stratus with a config, extra arguments and extra environment variables
    /// (on the child only).
    pub fn start_with_env(
        dir: &Path,
        name: &str,
        config: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Stratus {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stratus"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        Self::spawn(dir, name, config, args, cmd)
    }

    /// Starts stratus with `env` as its only AWS environment: the test's `AWS_*`
    /// variables removed, `HOME` in `dir`, no shared config or credentials file, IMDS
    /// off; then `env` set.
    pub fn start_with_aws_env(
        dir: &Path,
        name: &str,
        config: &str,
        env: &[(&str, &str)],
    ) -> Stratus {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stratus"));
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") {
                cmd.env_remove(k);
            }
        }
        let missing = dir.join("missing");
        cmd.env("HOME", dir)
            .env("AWS_CONFIG_FILE", missing.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", missing.join("credentials"))
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for (k, v) in env {
            cmd.env(k, v);
        }
        Self::spawn(dir, name, config, &[], cmd)
    }

    fn spawn(dir: &Path, name: &str, config: &str, args: &[&str], mut cmd: Command) -> Stratus {
        let config_path = dir.join(format!("{name}.yaml"));
        std::fs::write(&config_path, config).unwrap();
        cmd.arg("--config").arg(&config_path).args(args);
        let mut stratus = Self::launch(dir, name, cmd);
        stratus.config = config_path;
        stratus
    }

    /// Starts `cmd` (the stratus binary with the arguments and environment the test
    /// gave it, and no `--config` added), logging into `dir` as [`Stratus::start`] does.
    pub fn launch(dir: &Path, name: &str, mut cmd: Command) -> Stratus {
        let log = dir.join(format!("{name}.log"));
        let child = cmd
            .env("STRATUS_LOG", "info")
            .stdout(Stdio::from(
                std::fs::File::create(dir.join(format!("{name}.out"))).unwrap(),
            ))
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .unwrap();
        Stratus {
            child: Some(child),
            log,
            config: PathBuf::new(),
        }
    }

    /// Everything stratus logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until stratus logged that it is running.
    pub fn wait_running(&mut self) {
        wait_for("stratus to start", || {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("stratus exited early with {status}:\n{}", self.logs());
            }
            self.logs().contains("stratus is running").then_some(())
        });
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit.
    /// Kills the process with SIGKILL (no shutdown at all) and waits for it.
    pub fn kill9(&mut self) {
        let pid = self.pid().to_string();
        let status = Command::new("kill").args(["-KILL", &pid]).status().unwrap();
        assert!(status.success());
        self.wait_exit();
    }

    /// Whether the process is still running (reaps it once it exited).
    pub fn running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => child.try_wait().unwrap().is_none(),
            None => false,
        }
    }

    pub fn wait_exit(&mut self) -> ExitStatus {
        let child = self.child.as_mut().unwrap();
        let status = wait_for("stratus to exit", || child.try_wait().unwrap());
        self.child = None;
        status
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }
}

impl Drop for Stratus {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits until something accepts connections on `port`.
pub fn wait_port(port: u16) {
    wait_for(&format!("port {port}"), || {
        TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ())
    });
}

/// A minimal HTTP/1.1 response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request over a fresh connection.
pub fn http(
    method: &str,
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16)
                    .unwrap();
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest = &rest[line_end + 2 + size + 2..];
        }
        body = out;
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

/// Scrapes `/metrics` and returns the value of the series `name{labels}` (labels in
/// the exact rendered order), or 0 when absent.
pub fn metric(port: u16, series: &str) -> f64 {
    let text = http("GET", port, "/metrics", &[], b"").text();
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .map(|v| v.parse().unwrap())
        .unwrap_or(0.0)
}

/// Reads a file of 4-byte big-endian length-prefixed messages (the `file` exporter's
/// `proto` format and the Python client's dumps).
pub fn read_length_prefixed(path: &Path) -> Vec<Vec<u8>> {
    let data = std::fs::read(path).unwrap_or_default();
    let mut out = Vec::new();
    let mut rest = &data[..];
    while rest.len() >= 4 {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        if rest.len() < 4 + len {
            break; // a write in progress
        }
        out.push(rest[4..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    out
}

/// Every span as (resource, scope, span), each encoded, sorted: a canonical form in
/// which batching and re-grouping do not matter but any change to a span does.
pub fn flat_spans(requests: &[Vec<u8>]) -> Vec<[Vec<u8>; 3]> {
    let mut out = Vec::new();
    for r in requests {
        let req = ExportTraceServiceRequest::decode(&r[..]).unwrap();
        for rs in req.resource_spans {
            let res = (
                rs.resource.clone().unwrap_or_default().encode_to_vec(),
                rs.schema_url.clone(),
            );
            for ss in rs.scope_spans {
                let scope = (
                    ss.scope.clone().unwrap_or_default().encode_to_vec(),
                    ss.schema_url.clone(),
                );
                for span in ss.spans {
                    out.push([
                        [res.0.clone(), res.1.clone().into_bytes()].concat(),
                        [scope.0.clone(), scope.1.clone().into_bytes()].concat(),
                        span.encode_to_vec(),
                    ]);
                }
            }
        }
    }
    out.sort();
    out
}

/// Every metric as (resource, scope, metric), encoded and sorted.
pub fn flat_metrics(requests: &[Vec<u8>]) -> Vec<[Vec<u8>; 3]> {
    let mut out = Vec::new();
    for r in requests {
        let req = ExportMetricsServiceRequest::decode(&r[..]).unwrap();
        for rm in req.resource_metrics {
            let res = rm.resource.clone().unwrap_or_default().encode_to_vec();
            for sm in rm.scope_metrics {
                let scope = sm.scope.clone().unwrap_or_default().encode_to_vec();
                for m in sm.metrics {
                    out.push([res.clone(), scope.clone(), m.encode_to_vec()]);
                }
            }
        }
    }
    out.sort();
    out
}

/// Every log record as (resource, scope, record), encoded and sorted.
pub fn flat_logs(requests: &[Vec<u8>]) -> Vec<[Vec<u8>; 3]> {
    let mut out = Vec::new();
    for r in requests {
        let req = ExportLogsServiceRequest::decode(&r[..]).unwrap();
        for rl in req.resource_logs {
            let res = rl.resource.clone().unwrap_or_default().encode_to_vec();
            for sl in rl.scope_logs {
                let scope = sl.scope.clone().unwrap_or_default().encode_to_vec();
                for l in sl.log_records {
                    out.push([res.clone(), scope.clone(), l.encode_to_vec()]);
                }
            }
        }
    }
    out.sort();
    out
}

/// Runs a boto3 script with `argv[1]` = the moto endpoint and `argv[2..]` = `args`,
/// signed with `keys` (moto without signature checking takes any); returns stdout.
pub fn boto(endpoint: &str, keys: (&str, &str), script: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(format!(
            "import boto3, json, sys\n\
             def client(service):\n    \
                 return boto3.client(service, endpoint_url=sys.argv[1], region_name='us-east-1', \
                 aws_access_key_id={:?}, aws_secret_access_key={:?})\n{script}",
            keys.0, keys.1
        ))
        .arg(endpoint)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boto3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Creates an S3 bucket in moto, as an account would already have it.
pub fn create_bucket(endpoint: &str, keys: (&str, &str), bucket: &str) {
    boto(
        endpoint,
        keys,
        "client('s3').create_bucket(Bucket=sys.argv[2])",
        &[bucket],
    );
}

/// Keys for a moto that does not check signatures.
pub const ANY_KEYS: (&str, &str) = ("test", "test");

/// Runs the Python SDK client; panics with its output when it fails.
pub fn run_python_client(args: &[&str]) {
    let out = Command::new(python())
        .arg(python_dir().join("otlp_client.py"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python client failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Spans built in the test, each with a unique span id derived from `first`.
pub fn make_spans(first: u64, count: u64) -> ExportTraceServiceRequest {
    use stratus_testkit::otlp::{SpanKind, span, traces};
    traces()
        .resource([("service.name", "e2e")])
        .scope("e2e")
        .spans((first..first + count).map(|i| {
            span(format!("span-{i}"))
                .trace_id(u128::from(i) << 64 | 7)
                .span_id(i)
                .kind(SpanKind::Server)
                .start(1_700_000_000_000_000_000 + i)
                .end(1_700_000_000_000_000_500 + i)
                .attr("i", i)
        }))
        .request()
}

/// The span ids (as u64) in a file of length-prefixed trace requests, with repeats.
pub fn span_ids(path: &Path) -> Vec<u64> {
    read_length_prefixed(path)
        .iter()
        .flat_map(|r| {
            ExportTraceServiceRequest::decode(&r[..])
                .unwrap()
                .resource_spans
                .into_iter()
                .flat_map(|rs| rs.scope_spans)
                .flat_map(|ss| ss.spans)
                .map(|s| u64::from_be_bytes(s.span_id[..8].try_into().unwrap()))
        })
        .collect()
}

/// A gRPC trace client to 127.0.0.1:`port`.
pub async fn trace_client(
    port: u16,
) -> opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient<
    tonic::transport::Channel,
> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient::new(
        channel,
    )
}

/// Telemetry in the canonical flattened form of [`flat_spans`] and friends.
pub type Flat = Vec<[Vec<u8>; 3]>;

/// Waits until the file of length-prefixed requests at `path` holds at least `want`
/// items in the flattened form `flat`, and returns them.
pub fn wait_flat(what: &str, path: &Path, want: usize, flat: fn(&[Vec<u8>]) -> Flat) -> Flat {
    wait_for(what, || {
        let got = flat(&read_length_prefixed(path));
        (got.len() >= want).then_some(got)
    })
}

/// The local OpenID Connect issuer; killed when dropped.
pub struct Issuer {
    child: Child,
    pub port: u16,
}

impl Issuer {
    pub const CLIENT_ID: &'static str = "tenant1-oidc-client";
    pub const CLIENT_SECRET: &'static str = "ZXhhbXBsZS1hcHAtc2VjcmV0";

    pub fn start(dir: &Path) -> Issuer {
        let port_file = dir.join("issuer.port");
        let child = Command::new(python())
            .arg(python_dir().join("oidc_issuer.py"))
            .arg("--port-file")
            .arg(&port_file)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let port = wait_for("the OIDC issuer to listen", || {
            std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|s| s.trim().parse().ok())
        });
        wait_port(port);
        Issuer { child, port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A token minted directly by the issuer, for audience `aud`, valid for `ttl` seconds
    /// (negative: already expired).
    pub fn mint(&self, aud: &str, ttl: i64) -> String {
        let resp = http(
            "GET",
            self.port,
            &format!("/mint?aud={aud}&ttl={ttl}"),
            &[],
            b"",
        );
        assert_eq!(resp.status, 200, "{}", resp.text());
        let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        v["access_token"].as_str().unwrap().to_string()
    }

    /// How many token requests the issuer answered.
    pub fn token_requests(&self) -> u64 {
        let resp = http("GET", self.port, "/stats", &[], b"");
        let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        v["token_requests"].as_u64().unwrap()
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
