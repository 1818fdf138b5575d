#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Overload: clients send far more than the destination takes (here: nothing, it is
//! down). stratus must keep its memory bounded by the memory limiter, refuse with a
//! retry delay (gRPC `UNAVAILABLE` + `RetryInfo`, HTTP 503 + `Retry-After`), stay
//! healthy, and deliver everything it accepted once the destination is back.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use common::configs::{Ports, gateway};
use common::*;
use prost::Message;

const LIMIT_MIB: u64 = 96;

fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
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
    // The memory limiter refuses in the pipeline, or the receiver before decoding
    // (the admission gate the limiter registers): either is the limit holding.
    let refused = metric(
        ports.metrics,
        "otelcol_processor_refused_spans{processor=\"memory_limiter\"}",
    ) + metric(
        ports.metrics,
        "otelcol_receiver_refused_spans{receiver=\"otlp\",transport=\"grpc\"}",
    );
    assert!(refused > 0.0, "memory limit never refused");

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
