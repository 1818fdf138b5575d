#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Overload: clients send far more than the destination takes (here: nothing, it is
//! down). stratus must keep its memory bounded by the memory limiter, refuse with a
//! retry delay (gRPC `UNAVAILABLE` + `RetryInfo`, HTTP 503 + `Retry-After`), stay
//! healthy, and deliver everything it accepted once the destination is back.
//!
//! The memory limiter reads the live heap at every request and the receiver refuses
//! before decoding a request that would cross it, so even with the recommended
//! `check_interval: 1s` the high-water RSS stays near `limit_mib`.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::configs::{Ports, gateway};
use common::*;
use prost::Message;

const LIMIT_MIB: u64 = 96;

/// Refusals the gRPC overload test's clients got with the memory limiter's message.
static MEMORY_REFUSALS: AtomicU64 = AtomicU64::new(0);

/// A `/proc/<pid>/status` field in kB (`VmRSS`, `VmHWM`), in bytes.
fn proc_status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn rss_bytes(pid: u32) -> u64 {
    proc_status_bytes(pid, "VmRSS")
}

#[test]
fn overload_keeps_memory_bounded_refuses_with_retry_delay_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let gw_ports = Ports::new();
    let ports = Ports::new();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let config = format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: 127.0.0.1:{grpc} }}
      http: {{ endpoint: 127.0.0.1:{http} }}
processors:
  memory_limiter: {{ check_interval: 50ms, limit_mib: {LIMIT_MIB}, spike_limit_mib: 32 }}
  batch: {{ timeout: 20ms, send_batch_size: 2000 }}
exporters:
  otlp:
    endpoint: 127.0.0.1:{gw}
    tls: {{ insecure: true }}
    sending_queue: {{ sizer: items, queue_size: 5000000 }}
    retry_on_failure: {{ initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 0 }}
extensions:
  health_check: {{ endpoint: 127.0.0.1:{health} }}
service:
  extensions: [health_check]
  telemetry: {{ metrics: {{ address: 127.0.0.1:{metrics} }} }}
  pipelines:
    traces: {{ receivers: [otlp], processors: [memory_limiter, batch], exporters: [otlp] }}
"#,
        grpc = ports.grpc,
        http = ports.http,
        gw = gw_ports.grpc,
        health = ports.health,
        metrics = ports.metrics,
    );
    let mut agent = Stratus::start(dir.path(), "agent", &config);
    agent.wait_running();
    let pid = agent.pid();

    // Sample RSS in the background while the load runs.
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (done, peak) = (done.clone(), peak.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_bytes(pid), Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        })
    };

    let rt = tokio::runtime::Runtime::new().unwrap();
    let (accepted, refusals_with_delay) = rt.block_on(async {
        let mut tasks = Vec::new();
        for worker in 0..2u64 {
            tasks.push(tokio::spawn(async move {
                let mut client = trace_client(ports.grpc).await;
                let mut accepted = Vec::new();
                let (mut refused, mut with_delay) = (0, 0);
                let mut next = worker << 40;
                // Bounded: at most 3000 requests of 1000 spans, stop after 50 refusals.
                for _ in 0..3000 {
                    match client.export(make_spans(next, 1000)).await {
                        Ok(_) => accepted.push(next),
                        Err(status) => {
                            assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
                            // The memory limiter's refusal, whether the limiter or the
                            // receiver's admission check (before decoding) gave it (the
                            // batch processor may refuse too, when its buffer is full).
                            if status.message() == "data refused due to high memory usage" {
                                MEMORY_REFUSALS.fetch_add(1, Ordering::Relaxed);
                            }
                            refused += 1;
                            if !status.details().is_empty() {
                                with_delay += 1;
                            }
                            if refused >= 50 {
                                break;
                            }
                        }
                    }
                    next += 1000;
                }
                (accepted, refused, with_delay)
            }));
        }
        let mut accepted = BTreeSet::new();
        let mut with_delay_total = 0;
        for t in tasks {
            let (firsts, refused, with_delay) = t.await.unwrap();
            assert_eq!(refused, 50, "the agent never pushed back");
            with_delay_total += with_delay;
            for first in firsts {
                accepted.extend(first..first + 1000);
            }
        }
        (accepted, with_delay_total)
    });
    assert!(refusals_with_delay > 0, "refusals carried no RetryInfo");

    // Still overloaded: HTTP clients get 503 with Retry-After (memory hovers at the
    // soft limit, so a request may slip in; what is accepted must arrive too).
    let mut accepted = accepted;
    let mut refused_http = None;
    for n in 0..200u64 {
        let first = (1 << 50) + n * 1000;
        let body = make_spans(first, 1000).encode_to_vec();
        let resp = http(
            "POST",
            ports.http,
            "/v1/traces",
            &[("Content-Type", "application/x-protobuf")],
            &body,
        );
        match resp.status {
            200 => accepted.extend(first..first + 1000),
            503 => {
                refused_http = Some(resp);
                break;
            }
            other => panic!("unexpected status {other}: {}", resp.text()),
        }
    }
    let resp = refused_http.expect("HTTP clients were never refused while overloaded");
    assert!(resp.header("retry-after").is_some(), "{:?}", resp.headers);
    assert_eq!(http("GET", ports.health, "/", &[], b"").status, 200);

    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let peak_mib = peak.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0);
    eprintln!(
        "accepted {} spans; peak RSS {peak_mib:.1} MiB (limit {LIMIT_MIB} MiB)",
        accepted.len()
    );
    // The memory limiter checks every 50ms; allow what arrives between two checks.
    assert!(
        peak_mib < (LIMIT_MIB + 48) as f64,
        "RSS peaked at {peak_mib:.1} MiB with limit_mib {LIMIT_MIB}"
    );
    // Most memory refusals now come from the receiver, before decoding (it asks the
    // memory limiter's admission gate), so the limiter's own refused count may stay at
    // 0: count the clients' refusals with the limiter's message instead.
    assert!(
        MEMORY_REFUSALS.load(Ordering::Relaxed) > 0,
        "memory limiter never refused"
    );

    // The destination comes back: the backlog drains and everything accepted arrives.
    let mut gw = Stratus::start(
        dir.path(),
        "gateway",
        &gateway(gw_ports, &out, "{timeout: 10ms}"),
    );
    gw.wait_running();
    wait_for("the backlog to reach the gateway", || {
        let ids: BTreeSet<u64> = span_ids(&out.join("traces.out")).into_iter().collect();
        accepted.is_subset(&ids).then_some(())
    });
    // Load fell: new data is accepted again once memory is back under the soft limit.
    rt.block_on(async {
        let mut client = trace_client(ports.grpc).await;
        wait_for_async_ok(&mut client).await;
    });
}

async fn wait_for_async_ok(
    client: &mut opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient<
        tonic::transport::Channel,
    >,
) {
    let start = std::time::Instant::now();
    let mut id = 1u64 << 52;
    loop {
        if client.export(make_spans(id, 10)).await.is_ok() {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "stratus never accepted data again"
        );
        id += 10;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

const MIB: u64 = 1024 * 1024;

/// The issue's overload: `limit_mib: 100`, `spike_limit_mib: 20`, the recommended
/// `check_interval: 1s`, the destination down behind a 50M-item queue with endless
/// retries, and 8 clients posting ~0.55 MiB OTLP/HTTP protobuf requests for 20 s.
/// Every refusal must be a 503 with `Retry-After`, and the health endpoint must answer
/// 200 throughout.
/// The limiter used to act only every `check_interval`, letting the high-water RSS
/// reach several times the limit; now it must stay within `limit_mib` × 1.3.
#[test]
fn http_overload_with_a_one_second_check_keeps_the_high_water_rss_within_the_limit() {
    const LIMIT_MIB: u64 = 100;
    const CLIENTS: u64 = 8;
    const SPANS_PER_REQUEST: u64 = 2450;
    const LOAD: Duration = Duration::from_secs(20);

    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on the destination's port.
    let gw_ports = Ports::new();
    let ports = Ports::new();
    let config = format!(
        r#"
receivers:
  otlp:
    protocols:
      http: {{ endpoint: 127.0.0.1:{http} }}
processors:
  memory_limiter: {{ check_interval: 1s, limit_mib: {LIMIT_MIB}, spike_limit_mib: 20 }}
  batch: {{}}
exporters:
  otlp:
    endpoint: 127.0.0.1:{gw}
    tls: {{ insecure: true }}
    sending_queue: {{ sizer: items, queue_size: 50000000 }}
    retry_on_failure: {{ max_elapsed_time: 0 }}
extensions:
  health_check: {{ endpoint: 127.0.0.1:{health} }}
service:
  extensions: [health_check]
  telemetry: {{ metrics: {{ address: 127.0.0.1:{metrics} }} }}
  pipelines:
    traces: {{ receivers: [otlp], processors: [memory_limiter, batch], exporters: [otlp] }}
"#,
        http = ports.http,
        gw = gw_ports.grpc,
        health = ports.health,
        metrics = ports.metrics,
    );
    let mut agent = Stratus::start(dir.path(), "agent", &config);
    agent.wait_running();
    let pid = agent.pid();
    let start_rss = proc_status_bytes(pid, "VmRSS");

    // The health endpoint, checked every 100 ms while the load runs.
    let done = Arc::new(AtomicBool::new(false));
    let health = {
        let done = done.clone();
        let port = ports.health;
        std::thread::spawn(move || {
            let (mut checks, mut bad) = (0u64, Vec::new());
            while !done.load(Ordering::Relaxed) {
                let status = http("GET", port, "/", &[], b"").status;
                checks += 1;
                if status != 200 {
                    bad.push(status);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            (checks, bad)
        })
    };

    let end = Instant::now() + LOAD;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let port = ports.http;
            std::thread::spawn(move || {
                let mut conn = KeepAlive::connect(port);
                let mut report = ClientReport::default();
                let mut first = (client + 1) << 40;
                let mut body = request_body(first, SPANS_PER_REQUEST);
                while Instant::now() < end {
                    let resp = conn.post("/v1/traces", &body);
                    match resp.status {
                        200 => {
                            report.accepted.push(first);
                            first += SPANS_PER_REQUEST;
                            body = request_body(first, SPANS_PER_REQUEST);
                        }
                        503 => {
                            report.refused += 1;
                            if resp.retry_after.is_some() {
                                report.with_retry_after += 1;
                            }
                            // The same request is sent again, after a pause far
                            // shorter than the Retry-After a polite client would wait.
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        other => panic!("unexpected status {other}: {}", resp.text),
                    }
                }
                report
            })
        })
        .collect();
    let reports: Vec<ClientReport> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let hwm = proc_status_bytes(pid, "VmHWM");
    let rss = proc_status_bytes(pid, "VmRSS");
    let heap = metric(ports.metrics, "otelcol_process_runtime_heap_alloc_bytes");
    done.store(true, Ordering::Relaxed);
    let (health_checks, unhealthy) = health.join().unwrap();

    let body_len = request_body(0, SPANS_PER_REQUEST).len() as u64;
    let refused: u64 = reports.iter().map(|r| r.refused).sum();
    let with_retry_after: u64 = reports.iter().map(|r| r.with_retry_after).sum();
    let accepted: BTreeSet<u64> = reports
        .iter()
        .flat_map(|r| r.accepted.iter())
        .flat_map(|&first| first..first + SPANS_PER_REQUEST)
        .collect();
    let mib = |b: f64| b / MIB as f64;
    eprintln!(
        "requests of {:.2} MiB: accepted {} spans, {refused} refusals; RSS at start {:.1} MiB, \
         VmHWM {:.1} MiB, VmRSS {:.1} MiB, heap {:.1} MiB (limit {LIMIT_MIB} MiB)",
        mib(body_len as f64),
        accepted.len(),
        mib(start_rss as f64),
        mib(hwm as f64),
        mib(rss as f64),
        mib(heap),
    );
    assert!(
        (MIB / 2..MIB * 6 / 10).contains(&body_len),
        "requests of {body_len} bytes, not ~0.55 MiB"
    );
    assert!(refused > 0, "the clients were never refused");
    assert_eq!(
        with_retry_after, refused,
        "every 503 carries Retry-After ({with_retry_after} of {refused} did)"
    );
    assert!(!accepted.is_empty(), "nothing was accepted");
    assert!(health_checks > 0);
    assert!(
        unhealthy.is_empty(),
        "health endpoint answered {unhealthy:?} during the overload"
    );
    // The bound (limit_mib x 1.3) is the release binary's, whose idle RSS is about
    // 13 MiB (benches/README.md). A debug build's code alone is resident for ~16 MiB
    // more (29-30 MiB idle), memory no limiter governs: allow what this binary's RSS
    // at start exceeds the release figure by.
    let release_idle = 13 * MIB;
    let allowance = if cfg!(debug_assertions) {
        start_rss.saturating_sub(release_idle)
    } else {
        0
    };
    assert!(
        hwm <= LIMIT_MIB * MIB * 13 / 10 + allowance,
        "high-water RSS {:.1} MiB above {LIMIT_MIB} MiB x 1.3 (+ {:.1} MiB for a debug build; \
         RSS at start {:.1} MiB)",
        mib(hwm as f64),
        mib(allowance as f64),
        mib(start_rss as f64),
    );

    // That nothing accepted is lost once the destination is back is checked by the
    // gRPC overload test above: draining this test's 80 MiB backlog through a debug
    // build takes over a minute, too long for the suite.
}

/// What one client of the HTTP overload saw.
#[derive(Default)]
struct ClientReport {
    /// The first span id of every accepted request.
    accepted: Vec<u64>,
    refused: u64,
    with_retry_after: u64,
}

/// A protobuf trace request of `count` spans with ids from `first`, each span with
/// eight short string attributes, like the load generator's (`benches/`).
fn request_body(first: u64, count: u64) -> Vec<u8> {
    use stratus_testkit::otlp::{SpanKind, span, traces};
    traces()
        .resource([("service.name", "overload")])
        .scope("overload")
        .spans((first..first + count).map(|i| {
            let mut s = span("GET /api/orders")
                .trace_id(u128::from(i) << 64 | 1)
                .span_id(i)
                .kind(SpanKind::Server)
                .start(1_700_000_000_000_000_000 + i)
                .end(1_700_000_000_000_100_000 + i);
            for a in 0..8 {
                s = s.attr(format!("attr.{a}"), format!("value-{a}"));
            }
            s
        }))
        .request()
        .encode_to_vec()
}

/// One HTTP/1.1 keep-alive connection posting protobuf bodies.
struct KeepAlive {
    port: u16,
    reader: BufReader<TcpStream>,
}

/// The parts of an answer the overload test looks at.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    text: String,
}

impl KeepAlive {
    fn connect(port: u16) -> KeepAlive {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        KeepAlive {
            port,
            reader: BufReader::new(stream),
        }
    }

    fn post(&mut self, path: &str, body: &[u8]) -> Answer {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
            self.port,
            body.len()
        );
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {line:?}"));
        let (mut length, mut retry_after, mut close) = (0usize, None, false);
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (k, v) = l.split_once(':').unwrap();
            let v = v.trim();
            if k.eq_ignore_ascii_case("content-length") {
                length = v.parse().unwrap();
            } else if k.eq_ignore_ascii_case("retry-after") {
                retry_after = Some(v.to_string());
            } else if k.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close") {
                close = true;
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).unwrap();
        if close {
            *self = KeepAlive::connect(self.port);
        }
        Answer {
            status,
            retry_after,
            text: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}
