#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Back-pressure and graceful shutdown with real processes: nothing that stratus
//! accepted may be lost.

mod common;

use std::collections::BTreeSet;

use common::configs::{Ports, agent, gateway};
use common::*;
use prost::Message;

#[test]
fn full_queue_refuses_clients_then_delivers_when_destination_returns() {
    let dir = tempfile::tempdir().unwrap();
    let gw_ports = Ports::new();
    let agent_ports = Ports::new();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // The gateway is down. The agent has a tiny queue, one consumer and fast retries.
    let mut ag = Stratus::start(
        dir.path(),
        "agent",
        &agent(
            agent_ports,
            gw_ports.grpc,
            "{timeout: 1ms, send_batch_size: 10}",
            "    sending_queue: {queue_size: 2, num_consumers: 1}\n    retry_on_failure: {initial_interval: 100ms, max_interval: 200ms, max_elapsed_time: 0}\n",
        ),
    );
    ag.wait_running();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let (accepted, refused) = rt.block_on(async {
        let mut client = trace_client(agent_ports.grpc).await;
        let mut accepted = BTreeSet::new();
        let mut refused = 0;
        let mut next = 0u64;
        // Bounded: at most 2000 requests; stop after a handful of refusals.
        for _ in 0..2000 {
            let req = make_spans(next, 10);
            match client.export(req).await {
                Ok(_) => accepted.extend(next..next + 10),
                Err(status) => {
                    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
                    refused += 1;
                    if refused >= 5 {
                        break;
                    }
                }
            }
            next += 10;
        }
        (accepted, refused)
    });
    assert!(
        refused >= 5,
        "the agent never refused data while its destination was down"
    );
    assert!(!accepted.is_empty());
    // Memory stays bounded: the agent holds at most queue + in-flight + batch buffer.
    assert!(
        accepted.len() < 1000,
        "accepted {} spans with a 2-request queue",
        accepted.len()
    );

    // Over HTTP the same refusal is a 503.
    let body = make_spans(1_000_000, 10).encode_to_vec();
    let resp = http(
        "POST",
        agent_ports.http,
        "/v1/traces",
        &[("Content-Type", "application/x-protobuf")],
        &body,
    );
    assert_eq!(resp.status, 503, "{}", resp.text());

    let refused_metric = metric(
        agent_ports.metrics,
        "otelcol_receiver_refused_spans{receiver=\"otlp\",transport=\"grpc\"}",
    );
    assert!(
        refused_metric >= 50.0,
        "refused spans counted: {refused_metric}"
    );

    // The destination comes back: everything accepted is delivered.
    let mut gw = Stratus::start(
        dir.path(),
        "gateway",
        &gateway(gw_ports, &out, "{timeout: 10ms}"),
    );
    gw.wait_running();
    let delivered = wait_for("accepted spans at the gateway", || {
        let ids: BTreeSet<u64> = span_ids(&out.join("traces.out")).into_iter().collect();
        accepted.is_subset(&ids).then_some(ids)
    });
    let all = span_ids(&out.join("traces.out"));
    eprintln!(
        "accepted {} spans, delivered {} distinct, {} duplicates",
        accepted.len(),
        delivered.len(),
        all.len() - delivered.len()
    );
}

#[test]
fn sigterm_flushes_batch_and_queue_to_a_destination_that_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let gw_ports = Ports::new();
    let agent_ports = Ports::new();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // Spans wait in the batch processor (long timeout, large trigger); logs skip the
    // batch processor and wait in the exporter's queue because the gateway is down.
    let config = agent(
        agent_ports,
        gw_ports.grpc,
        "{timeout: 1h, send_batch_size: 100000}",
        "    retry_on_failure: {initial_interval: 100ms, max_interval: 200ms}\n",
    )
    .replace(
        "    logs:\n      receivers: [otlp]\n      processors: [memory_limiter, batch]",
        "    logs:\n      receivers: [otlp]\n      processors: [memory_limiter]",
    );
    let mut ag = Stratus::start(dir.path(), "agent", &config);
    ag.wait_running();

    let dump = dir.path().join("dump");
    run_python_client(&[
        "--protocol",
        "grpc",
        "--endpoint",
        &format!("127.0.0.1:{}", agent_ports.grpc),
        "--spans",
        "50",
        "--logs",
        "20",
        "--dump",
        dump.to_str().unwrap(),
    ]);
    // Everything was accepted, nothing could be sent yet.
    let accepted = |what: &str| {
        metric(
            agent_ports.metrics,
            &format!("otelcol_receiver_accepted_{what}{{receiver=\"otlp\",transport=\"grpc\"}}"),
        )
    };
    assert_eq!(accepted("spans"), 100.0);
    assert_eq!(accepted("log_records"), 20.0);
    assert_eq!(
        metric(
            agent_ports.metrics,
            "otelcol_exporter_sent_log_records{exporter=\"otlp\"}"
        ),
        0.0
    );
    assert_eq!(span_ids(&out.join("traces.out")).len(), 0);

    ag.terminate();
    let mut gw = Stratus::start(
        dir.path(),
        "gateway",
        &gateway(gw_ports, &out, "{timeout: 10ms}"),
    );
    gw.wait_running();
    let status = ag.wait_exit();
    assert!(
        status.success(),
        "agent exit status {status}:\n{}",
        ag.logs()
    );

    let sent_spans = flat_spans(&read_length_prefixed(&dump.join("traces.bin")));
    let sent_logs = flat_logs(&read_length_prefixed(&dump.join("logs.bin")));
    // The gateway writes what it received a moment after acknowledging it.
    let got_spans = wait_flat(
        "spans at the gateway",
        &out.join("traces.out"),
        sent_spans.len(),
        flat_spans,
    );
    let got_logs = wait_flat(
        "logs at the gateway",
        &out.join("logs.out"),
        sent_logs.len(),
        flat_logs,
    );
    assert_eq!(got_spans.len(), 100);
    assert!(
        got_spans == sent_spans,
        "spans held in the batch processor were lost or changed"
    );
    assert!(
        got_logs == sent_logs,
        "logs held in the queue were lost or changed"
    );
}
