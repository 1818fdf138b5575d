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

/// An agent whose traces fan out to two OTLP exporters, `a` and `b`, each with its
/// own extra settings (indented YAML lines under the exporter), no processors.
fn two_exporters(ports: Ports, a: u16, a_extra: &str, b: u16, b_extra: &str) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
exporters:
  otlp_grpc/a:
    endpoint: 127.0.0.1:{a}
    tls:
      insecure: true
{a_extra}
  otlp_grpc/b:
    endpoint: 127.0.0.1:{b}
    tls:
      insecure: true
{b_extra}
service:
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp_grpc/a, otlp_grpc/b]
"#,
        grpc = ports.grpc,
        metrics = ports.metrics,
    )
}

fn start_gateway(dir: &std::path::Path, name: &str, ports: Ports) -> (Stratus, std::path::PathBuf) {
    let out = dir.join(name);
    std::fs::create_dir_all(&out).unwrap();
    let mut gw = Stratus::start(dir, name, &gateway(ports, &out, "{timeout: 10ms}"));
    gw.wait_running();
    (gw, out.join("traces.out"))
}

/// Sends 1,500 spans in requests of 10, each retried on every refusal the way an
/// SDK does, and starts gateway `b` 10 s into the run. Returns gateway `b`.
fn send_with_b_coming_up(
    dir: &std::path::Path,
    agent_grpc: u16,
    b_ports: Ports,
) -> (Stratus, std::path::PathBuf) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut client = rt.block_on(trace_client(agent_grpc));
    let started = std::time::Instant::now();
    let mut b = None;
    for first in (0..1500u64).step_by(10) {
        loop {
            if b.is_none() && started.elapsed() >= std::time::Duration::from_secs(10) {
                b = Some(start_gateway(dir, "b", b_ports));
            }
            if rt.block_on(client.export(make_spans(first, 10))).is_ok() {
                break;
            }
            assert!(started.elapsed() < DEADLINE, "the agent kept refusing");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    b.unwrap_or_else(|| start_gateway(dir, "b", b_ports))
}

fn counts(path: &std::path::Path) -> std::collections::BTreeMap<u64, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for id in span_ids(path) {
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

/// The fan-out tests' run: gateway `a` up, an agent fanning out to `a` and to `b`
/// (`queue_size: 5` plus `b_queue_extra` in b's queue block), 1,500 spans sent while
/// `b` comes up 10 s in.
struct FanoutRun {
    _dir: tempfile::TempDir,
    _gateways: (Stratus, Stratus),
    agent_ports: Ports,
    ag: Stratus,
    a_out: std::path::PathBuf,
    b_out: std::path::PathBuf,
}

impl FanoutRun {
    fn new(b_queue_extra: &str) -> FanoutRun {
        let dir = tempfile::tempdir().unwrap();
        let (pa, pb, agent_ports) = (Ports::new(), Ports::new(), Ports::new());
        let (a, a_out) = start_gateway(dir.path(), "a", pa);
        let b_extra = format!("    sending_queue:\n      queue_size: 5{b_queue_extra}");
        let config = two_exporters(agent_ports, pa.grpc, "", pb.grpc, &b_extra);
        let mut ag = Stratus::start(dir.path(), "agent", &config);
        ag.wait_running();
        let (b, b_out) = send_with_b_coming_up(dir.path(), agent_ports.grpc, pb);
        FanoutRun {
            _dir: dir,
            _gateways: (a, b),
            agent_ports,
            ag,
            a_out,
            b_out,
        }
    }
}

/// A fan-out to a healthy exporter and one whose destination is down: while the
/// slow one's queue is full the whole batch is refused, so the client's retries
/// never duplicate spans into the healthy one. Once `b` is up, both hold every span,
/// and `a` holds each exactly once.
#[test]
fn fanout_refusals_do_not_duplicate_into_the_healthy_exporter() {
    let run = FanoutRun::new("");
    let FanoutRun {
        agent_ports,
        a_out,
        b_out,
        ag,
        ..
    } = &run;

    let all: BTreeSet<u64> = (0..1500).collect();
    wait_for("every span at b", || {
        (counts(b_out).keys().copied().collect::<BTreeSet<_>>() == all).then_some(())
    });
    wait_for("every span at a", || {
        (counts(a_out).len() == 1500).then_some(())
    });
    let a_counts = counts(a_out);
    let duplicated: Vec<_> = a_counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicated.is_empty(), "a got duplicates: {duplicated:?}");
    assert!(
        metric(
            agent_ports.metrics,
            r#"otelcol_exporter_enqueue_failed_spans{exporter="otlp_grpc/b"}"#
        ) > 0.0,
        "b's queue never refused: the test did not exercise a full queue"
    );
    assert!(
        ag.logs().contains("sending queue refuses data"),
        "{}",
        ag.logs()
    );
}

/// With `when_full: drop` on `b`, `a` is isolated from b's outage: it receives
/// every span exactly once and the client is never refused; b's share that did not
/// fit is dropped and counted exactly.
#[test]
fn when_full_drop_isolates_the_healthy_exporter_and_counts_the_loss() {
    let run = FanoutRun::new("\n      when_full: drop");
    let FanoutRun {
        agent_ports,
        a_out,
        b_out,
        ag,
        ..
    } = &run;

    wait_for("every span at a", || {
        (counts(a_out).len() == 1500).then_some(())
    });
    assert!(counts(a_out).values().all(|n| *n == 1), "a got duplicates");
    let dropped = metric(
        agent_ports.metrics,
        r#"otelcol_exporter_enqueue_failed_spans{exporter="otlp_grpc/b"}"#,
    );
    assert!(dropped > 0.0, "nothing was dropped for b");
    // Whatever b did not get is exactly what was counted as dropped.
    wait_for("b's queue to drain", || {
        let got = counts(b_out).len() as f64;
        (got + dropped == 1500.0).then_some(())
    });
    assert_eq!(
        metric(
            agent_ports.metrics,
            r#"otelcol_receiver_refused_spans{receiver="otlp",transport="grpc"}"#
        ),
        0.0,
        "the client was refused although only b was full"
    );
    assert!(ag.logs().contains("when_full: drop"), "{}", ag.logs());
}

/// The agent of the durable/memory queue tests: one exporter to a gateway that is
/// down for 15 s, retries running out after 5 s.
fn short_retries_agent(
    ports: Ports,
    gateway_grpc: u16,
    storage: Option<&std::path::Path>,
) -> String {
    let (extensions, queue) = match storage {
        Some(dir) => (
            format!(
                "extensions:\n  file_storage:\n    directory: {}\n",
                dir.display()
            ),
            "    sending_queue:\n      storage: file_storage\n",
        ),
        None => (String::new(), ""),
    };
    let service_ext = if storage.is_some() {
        "  extensions: [file_storage]\n"
    } else {
        ""
    };
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
{extensions}exporters:
  otlp_grpc:
    endpoint: 127.0.0.1:{gateway_grpc}
    tls:
      insecure: true
    retry_on_failure:
      initial_interval: 1s
      max_interval: 2s
      max_elapsed_time: 5s
{queue}service:
{service_ext}  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp_grpc]
"#,
        grpc = ports.grpc,
        metrics = ports.metrics,
    )
}

/// Sends 300 spans, waits until the retries of every batch ran out (`max_elapsed_time`
/// is 5 s; the outage lasts 15 s), then brings the gateway up. Returns its output.
fn outage_of_15s(
    dir: &std::path::Path,
    ag: &Stratus,
    agent: Ports,
    gw: Ports,
) -> (Stratus, std::path::PathBuf) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut client = rt.block_on(trace_client(agent.grpc));
    let started = std::time::Instant::now();
    for first in (0..300u64).step_by(10) {
        rt.block_on(client.export(make_spans(first, 10))).unwrap();
    }
    // Every batch was tried until its retries ran out.
    wait_for("retries to run out", || {
        { ag.logs().contains("retries ran out") || ag.logs().contains("dropping data") }
            .then_some(())
    });
    while started.elapsed() < std::time::Duration::from_secs(15) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    start_gateway(dir, "gateway", gw)
}

/// With a `file_storage` queue, retries running out do not drop data: it goes back
/// into the queue, and after 15 s of outage every span arrives.
#[test]
fn durable_queue_keeps_data_whose_retries_ran_out() {
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("storage");
    std::fs::create_dir_all(&storage).unwrap();
    let (agent_ports, gw_ports) = (Ports::new(), Ports::new());
    let mut ag = Stratus::start(
        dir.path(),
        "agent",
        &short_retries_agent(agent_ports, gw_ports.grpc, Some(&storage)),
    );
    ag.wait_running();
    let (_gw, out) = outage_of_15s(dir.path(), &ag, agent_ports, gw_ports);
    let all: BTreeSet<u64> = (0..300).collect();
    wait_for("every span at the gateway", || {
        (span_ids(&out).into_iter().collect::<BTreeSet<_>>() == all).then_some(())
    });
    assert_eq!(
        metric(
            agent_ports.metrics,
            r#"otelcol_exporter_send_failed_spans{exporter="otlp_grpc"}"#
        ),
        0.0
    );
}

/// With the in-memory queue, upstream's behaviour: data whose retries ran out is
/// dropped, and the drop is counted exactly in `otelcol_exporter_send_failed_spans`
/// and logged with the number of items.
#[test]
fn memory_queue_counts_what_it_drops_after_max_elapsed_time() {
    let dir = tempfile::tempdir().unwrap();
    let (agent_ports, gw_ports) = (Ports::new(), Ports::new());
    let mut ag = Stratus::start(
        dir.path(),
        "agent",
        &short_retries_agent(agent_ports, gw_ports.grpc, None),
    );
    ag.wait_running();
    let (_gw, out) = outage_of_15s(dir.path(), &ag, agent_ports, gw_ports);
    let failed = r#"otelcol_exporter_send_failed_spans{exporter="otlp_grpc"}"#;
    // What reached the gateway plus what was counted as dropped is all 300.
    wait_for("every span delivered or counted", || {
        let got = span_ids(&out).len() as f64;
        (got + metric(agent_ports.metrics, failed) == 300.0).then_some(())
    });
    assert!(metric(agent_ports.metrics, failed) > 0.0);
    let logs = ag.logs();
    assert!(
        logs.contains("dropping data") && logs.contains("items=10"),
        "{logs}"
    );
}

/// Shutdown with both destinations down and data in both in-memory queues: the
/// exporters drain in parallel within `--shutdown-timeout`, a line a second tells the
/// drain's progress, the process exits in time, and one line per exporter says how
/// many items it could not deliver.
#[test]
fn shutdown_drains_exporters_in_parallel_and_counts_what_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb, agent_ports) = (Ports::new(), Ports::new(), Ports::new());
    let config = two_exporters(agent_ports, pa.grpc, "", pb.grpc, "");
    let mut ag =
        Stratus::start_with_args(dir.path(), "agent", &config, &["--shutdown-timeout", "4s"]);
    ag.wait_running();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut client = rt.block_on(trace_client(agent_ports.grpc));
    for first in (0..100u64).step_by(10) {
        rt.block_on(client.export(make_spans(first, 10))).unwrap();
    }
    drop(client);
    ag.terminate();
    wait_within(
        "the agent to exit within the deadline plus 2 s",
        std::time::Duration::from_secs(6),
        || (!ag.running()).then_some(()),
    );
    let logs = ag.logs();
    for exporter in ["otlp_grpc/a", "otlp_grpc/b"] {
        let line = logs
            .lines()
            .find(|l| {
                l.contains("could not deliver") && l.contains(&format!("exporter={exporter}"))
            })
            .unwrap_or_else(|| panic!("no loss line for {exporter}:\n{logs}"));
        assert!(line.contains("items=100"), "{line}");
    }
    // Meanwhile, once a second, one line said what each exporter still held and how
    // long was left.
    let progress: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("draining: exporters still delivering"))
        .collect();
    assert!(progress.len() >= 2, "{logs}");
    for line in &progress {
        assert!(
            line.contains("otlp_grpc/a 100 items") && line.contains("otlp_grpc/b 100 items"),
            "{line}"
        );
        assert!(line.contains("deadline_in="), "{line}");
    }
}

/// A gateway that writes every request it receives as one record (no batch
/// processor), to see how the agent's requests were shaped.
fn recording_gateway(
    dir: &std::path::Path,
    name: &str,
    ports: Ports,
) -> (Stratus, std::path::PathBuf) {
    let out = dir.join(name);
    std::fs::create_dir_all(&out).unwrap();
    let config = gateway(ports, &out, "{}").replace("processors: [batch]", "processors: []");
    let mut gw = Stratus::start(dir, name, &config);
    gw.wait_running();
    (gw, out.join("traces.out"))
}

/// An agent with no batch processor and one exporter with `exporter_extra`.
fn exporter_batching_agent(ports: Ports, gateway_grpc: u16, exporter_extra: &str) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
exporters:
  otlp_grpc:
    endpoint: 127.0.0.1:{gateway_grpc}
    tls:
      insecure: true
{exporter_extra}
service:
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp_grpc]
"#,
        grpc = ports.grpc,
        metrics = ports.metrics,
    )
}

fn send_requests(grpc: u16, requests: u64) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut client = rt.block_on(trace_client(grpc));
    for first in (0..requests * 10).step_by(10) {
        rt.block_on(client.export(make_spans(first, 10))).unwrap();
    }
}

/// `sending_queue: {batch: {}}` batches in the exporter, with no batch processor:
/// small requests reach the destination merged (by `flush_timeout` with the
/// defaults, up to `min_size` when that is reached first).
#[test]
fn exporter_side_batching_merges_small_requests() {
    let dir = tempfile::tempdir().unwrap();
    // Defaults: 200ms flush_timeout, min_size 8192 items.
    let (gp, ap) = (Ports::new(), Ports::new());
    let (_gw, out) = recording_gateway(dir.path(), "gateway", gp);
    let mut ag = Stratus::start(
        dir.path(),
        "agent",
        &exporter_batching_agent(ap, gp.grpc, "    sending_queue:\n      batch: {}"),
    );
    ag.wait_running();
    send_requests(ap.grpc, 20);
    let requests = wait_for("all 200 spans at the gateway", || {
        let requests = read_length_prefixed(&out);
        (flat_spans(&requests).len() == 200).then_some(requests)
    });
    assert!(
        requests.len() < 20,
        "20 requests of 10 spans arrived as {} requests: not merged",
        requests.len()
    );

    // min_size reached before a (long) flush_timeout: batches of at least 50.
    let (gp, ap) = (Ports::new(), Ports::new());
    let (_gw, out) = recording_gateway(dir.path(), "gateway-min", gp);
    let mut ag = Stratus::start(
        dir.path(),
        "agent-min",
        &exporter_batching_agent(
            ap,
            gp.grpc,
            "    sending_queue:\n      batch:\n        min_size: 50\n        flush_timeout: 1h",
        ),
    );
    ag.wait_running();
    send_requests(ap.grpc, 20);
    let requests = wait_for("all 200 spans at the gateway", || {
        let requests = read_length_prefixed(&out);
        (flat_spans(&requests).len() == 200).then_some(requests)
    });
    for r in &requests {
        let n = flat_spans(std::slice::from_ref(r)).len();
        assert!(n >= 50, "a request of {n} spans went out before min_size");
    }
}

/// `wait_for_result: true`: the client's request returns only with the
/// destination's answer, so a down destination is an error for the client although
/// the queue had room.
#[test]
fn wait_for_result_makes_the_client_wait_for_the_destination() {
    let dir = tempfile::tempdir().unwrap();
    let (gp, ap) = (Ports::new(), Ports::new());
    let mut ag = Stratus::start(
        dir.path(),
        "agent",
        &exporter_batching_agent(
            ap,
            gp.grpc,
            "    sending_queue:\n      wait_for_result: true\n    retry_on_failure:\n      enabled: false",
        ),
    );
    ag.wait_running();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut client = rt.block_on(trace_client(ap.grpc));
    let err = rt
        .block_on(client.export(make_spans(0, 10)))
        .expect_err("accepted although the destination is down");
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    let (_gw, out) = recording_gateway(dir.path(), "gateway", gp);
    rt.block_on(client.export(make_spans(100, 10))).unwrap();
    // Returned only after the gateway answered: the spans are there (the file
    // exporter writes before answering).
    assert_eq!(span_ids(&out), (100..110).collect::<Vec<_>>());
}
