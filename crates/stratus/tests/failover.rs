#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The `failover` connector with real processes: an agent sends traces to a primary
//! gateway and falls back to a secondary one when the primary stops; nothing the agent
//! accepted is lost, and traffic returns to the primary once it is back.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::configs::{Ports, gateway};
use common::*;

/// An agent whose traces go through `failover` to `traces/primary` (otlp_grpc to
/// `primary`) or else `traces/secondary` (otlp to `secondary`). Both exporters have no
/// queue and no retries, so a down gateway is seen on the first request.
fn failover_agent(ports: Ports, primary: u16, secondary: u16) -> String {
    // The primary uses upstream's current type name, the secondary the older alias
    // that existing configs still carry: both must work.
    let exporter = |ty: &str, name: &str, port: u16| {
        format!(
            r#"
  {ty}/{name}:
    endpoint: 127.0.0.1:{port}
    tls:
      insecure: true
    timeout: 1s
    sending_queue:
      enabled: false
    retry_on_failure:
      enabled: false"#
        )
    };
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
      http:
        endpoint: 127.0.0.1:{http}
exporters:{primary}{secondary}
connectors:
  failover:
    priority_levels: [[traces/primary], [traces/secondary]]
    retry_interval: 2s
    retry_gap: 1s
    max_retries: 0
service:
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [failover]
    traces/primary:
      receivers: [failover]
      exporters: [otlp_grpc/primary]
    traces/secondary:
      receivers: [failover]
      exporters: [otlp/secondary]
"#,
        grpc = ports.grpc,
        http = ports.http,
        metrics = ports.metrics,
        primary = exporter("otlp_grpc", "primary", primary),
        secondary = exporter("otlp", "secondary", secondary),
    )
}

type Client =
    opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient<
        tonic::transport::Channel,
    >;

fn start_gateway(dir: &Path, name: &str, ports: Ports) -> Stratus {
    let out = dir.join(name);
    std::fs::create_dir_all(&out).unwrap();
    let mut gw = Stratus::start(dir, name, &gateway(ports, &out, "{timeout: 10ms}"));
    gw.wait_running();
    gw
}

fn ids_in(dir: &Path, name: &str) -> BTreeSet<u64> {
    span_ids(&dir.join(name).join("traces.out"))
        .into_iter()
        .collect()
}

#[test]
fn traces_fail_over_to_the_secondary_and_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let (p1, p2, pa) = (Ports::new(), Ports::new(), Ports::new());
    let mut gw1 = start_gateway(dir.path(), "primary", p1);
    let _gw2 = start_gateway(dir.path(), "secondary", p2);
    let mut agent = Stratus::start(dir.path(), "agent", &failover_agent(pa, p1.grpc, p2.grpc));
    agent.wait_running();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut client = rt.block_on(trace_client(pa.grpc));
    let mut accepted = BTreeSet::new();
    let mut next = 0u64;
    // Sends one batch of 10 spans with the next ids; records them when accepted.
    let send = |client: &mut Client, next: &mut u64, accepted: &mut BTreeSet<u64>| {
        let first = *next;
        *next += 10;
        if rt.block_on(client.export(make_spans(first, 10))).is_ok() {
            accepted.extend(first..first + 10);
        }
    };

    // Healthy primary.
    for _ in 0..20 {
        send(&mut client, &mut next, &mut accepted);
    }
    // Stop the primary while data keeps flowing.
    gw1.terminate();
    for _ in 0..30 {
        send(&mut client, &mut next, &mut accepted);
    }
    gw1.wait_exit();
    for _ in 0..20 {
        send(&mut client, &mut next, &mut accepted);
    }
    assert!(
        accepted.len() >= 600,
        "the agent refused data although the secondary was up: accepted {}",
        accepted.len()
    );

    // Everything accepted is in one of the two outputs.
    let primary_ids = ids_in(dir.path(), "primary");
    let secondary_ids = wait_for("the secondary to have every span", || {
        let secondary = ids_in(dir.path(), "secondary");
        accepted
            .iter()
            .all(|id| primary_ids.contains(id) || secondary.contains(id))
            .then_some(secondary)
    });
    assert!(
        primary_ids.iter().any(|id| accepted.contains(id)),
        "nothing reached the primary"
    );
    assert!(
        secondary_ids.iter().any(|id| accepted.contains(id)),
        "nothing reached the secondary"
    );
    let switches =
        r#"stratus_connector_failover_switches{connector="failover",otel_signal="traces"}"#;
    assert!(metric(pa.metrics, switches) >= 1.0);

    // Restart the primary on the same ports; new data goes to it again.
    let _gw1 = start_gateway(dir.path(), "primary-again", p1);
    let restart_from = 1_000_000u64;
    next = restart_from;
    let mut accepted_after = BTreeSet::new();
    wait_for("new spans at the restarted primary", || {
        send(&mut client, &mut next, &mut accepted_after);
        ids_in(dir.path(), "primary-again")
            .iter()
            .any(|id| *id >= restart_from)
            .then_some(())
    });
    assert!(metric(pa.metrics, switches) >= 2.0);
    assert_eq!(
        metric(
            pa.metrics,
            r#"stratus_connector_failover_level{connector="failover",otel_signal="traces"}"#
        ),
        0.0
    );
    // What was accepted meanwhile is in one of the outputs too.
    wait_for("every span after the restart", || {
        let primary = ids_in(dir.path(), "primary-again");
        let secondary = ids_in(dir.path(), "secondary");
        accepted_after
            .iter()
            .all(|id| primary.contains(id) || secondary.contains(id))
            .then_some(())
    });
    let logs = agent.logs();
    assert!(
        logs.contains("switching to the next priority level"),
        "{logs}"
    );
    assert!(
        logs.contains("returning to a higher priority level"),
        "{logs}"
    );
}

#[test]
fn priority_levels_must_name_receiving_pipelines() {
    // Checked before anything runs: `stratus validate` and startup both exit 78 with
    // the exact key of each bad entry.
    let dir = tempfile::tempdir().unwrap();
    let (pa, other) = (Ports::new(), Ports::new());
    let config = failover_agent(pa, other.grpc, other.http).replace(
        "[[traces/primary], [traces/secondary]]",
        "[[traces/primary], [traces/nope], [traces]]",
    );
    let path = dir.path().join("bad-failover.yaml");
    std::fs::write(&path, &config).unwrap();
    for args in [vec!["validate", "--config"], vec!["--config"]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_stratus"))
            .args(&args)
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{stderr}");
        assert!(
            stderr.contains(
                "connectors::failover::priority_levels::1::0: pipeline `traces/nope` is not defined"
            ),
            "{stderr}"
        );
        assert!(
            stderr.contains("connectors::failover::priority_levels::2::0: pipeline `traces` does not list `failover` in its receivers"),
            "{stderr}"
        );
    }
}

/// An agent whose two OTLP exporters have no queue, retry or timeout settings at all
/// (the collector's defaults: a 1000-batch queue, five minutes of retries), with
/// `storage` (a `file_storage` directory) on both queues when given.
fn default_settings_agent(
    ports: Ports,
    primary: u16,
    secondary: u16,
    storage: Option<&Path>,
) -> String {
    let (extension, queue, enabled) = match storage {
        Some(dir) => (
            format!("\n  file_storage:\n    directory: {}", dir.display()),
            "\n    sending_queue:\n      storage: file_storage",
            "[file_storage]",
        ),
        None => (String::new(), "", "[]"),
    };
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
extensions:{extension_or_empty}
exporters:
  otlp_grpc/primary:
    endpoint: 127.0.0.1:{primary}
    tls:
      insecure: true{queue}
  otlp_grpc/secondary:
    endpoint: 127.0.0.1:{secondary}
    tls:
      insecure: true{queue}
connectors:
  failover:
    priority_levels: [[traces/primary], [traces/secondary]]
    retry_interval: {RETRY_INTERVAL_S}s
service:
  extensions: {enabled}
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [failover]
    traces/primary:
      receivers: [failover]
      exporters: [otlp_grpc/primary]
    traces/secondary:
      receivers: [failover]
      exporters: [otlp_grpc/secondary]
"#,
        grpc = ports.grpc,
        metrics = ports.metrics,
        extension_or_empty = if extension.is_empty() {
            " {}".to_string()
        } else {
            extension
        },
    )
}

const RETRY_INTERVAL_S: u64 = 5;

/// Sends `count` spans with ids from `first` in requests of 10, each retried until
/// the agent accepts it (as an SDK's exporter does).
fn send_all(rt: &tokio::runtime::Runtime, client: &mut Client, first: u64, count: u64) {
    for start in (first..first + count).step_by(10) {
        wait_for("the agent to accept a request", || {
            rt.block_on(client.export(make_spans(start, 10))).ok()
        });
    }
}

/// The brief's disaster-recovery shape with the exporters' default settings: when
/// the primary gateway dies, new spans reach the secondary within seconds (not once
/// the primary's 1000-batch queue is full, not after five minutes of retries); when
/// it is back, new spans return to it within `retry_interval`; and nothing accepted
/// is lost on the way.
#[test]
fn failover_with_default_exporter_settings() {
    let dir = tempfile::tempdir().unwrap();
    let (p1, p2, pa) = (Ports::new(), Ports::new(), Ports::new());
    let mut gw1 = start_gateway(dir.path(), "primary", p1);
    let _gw2 = start_gateway(dir.path(), "secondary", p2);
    let mut agent = Stratus::start(
        dir.path(),
        "agent",
        &default_settings_agent(pa, p1.grpc, p2.grpc, None),
    );
    agent.wait_running();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut client = rt.block_on(trace_client(pa.grpc));

    send_all(&rt, &mut client, 0, 500);
    wait_for("the first 500 spans at the primary", || {
        (ids_in(dir.path(), "primary").len() >= 500).then_some(())
    });
    gw1.kill9();

    send_all(&rt, &mut client, 1000, 500);
    wait_within(
        "all 500 spans sent after the primary died, at the secondary",
        Duration::from_secs(30),
        || {
            let secondary = ids_in(dir.path(), "secondary");
            (1000..1500).all(|id| secondary.contains(&id)).then_some(())
        },
    );
    let logs = agent.logs();
    assert!(
        logs.contains("switching to the next priority level"),
        "{logs}"
    );

    // The primary comes back on the same port: new data reaches it within
    // retry_interval (plus the probe's own round trip).
    let _gw1 = start_gateway(dir.path(), "primary-again", p1);
    let mut next = 10_000u64;
    wait_within(
        "new spans at the restarted primary",
        Duration::from_secs(RETRY_INTERVAL_S + 10),
        || {
            send_all(&rt, &mut client, next, 10);
            next += 10;
            ids_in(dir.path(), "primary-again")
                .iter()
                .any(|id| *id >= 10_000)
                .then_some(())
        },
    );

    // Over the whole run, the union of the outputs holds every accepted span.
    let accepted: BTreeSet<u64> = (0..500).chain(1000..1500).chain(10_000..next).collect();
    wait_for("every accepted span in one of the outputs", || {
        let all: BTreeSet<u64> = ["primary", "secondary", "primary-again"]
            .iter()
            .flat_map(|n| ids_in(dir.path(), n))
            .collect();
        accepted.is_subset(&all).then_some(())
    });
    assert!(
        metric(
            pa.metrics,
            r#"stratus_exporter_handed_over_spans{exporter="otlp_grpc/primary"}"#
        ) > 0.0,
        "what the primary held when it died was handed to the secondary"
    );
}

/// The same with `file_storage` on the exporters' queues and a `kill -9` of the
/// agent during the outage: what the dead primary's disk queue held is handed to the
/// secondary after the restart; nothing accepted is lost.
#[test]
fn failover_through_a_crash_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("storage");
    std::fs::create_dir_all(&storage).unwrap();
    let (p1, p2, pa) = (Ports::new(), Ports::new(), Ports::new());
    let mut gw1 = start_gateway(dir.path(), "primary", p1);
    let _gw2 = start_gateway(dir.path(), "secondary", p2);
    let config = default_settings_agent(pa, p1.grpc, p2.grpc, Some(&storage));
    let mut agent = Stratus::start(dir.path(), "agent", &config);
    agent.wait_running();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut client = rt.block_on(trace_client(pa.grpc));

    send_all(&rt, &mut client, 0, 500);
    // (The gateway batches in memory: what it acknowledged it must have written
    // before it is killed, or the loss would be the gateway's.)
    wait_for("the first 500 spans at the primary", || {
        (ids_in(dir.path(), "primary").len() >= 500).then_some(())
    });
    gw1.kill9();
    send_all(&rt, &mut client, 1000, 500);
    // Crash in the middle of the outage, with whatever is still on disk.
    agent.kill9();
    let mut agent = Stratus::start(dir.path(), "agent-again", &config);
    agent.wait_running();
    drop(client);
    let mut client = rt.block_on(trace_client(pa.grpc));
    send_all(&rt, &mut client, 2000, 200);

    let accepted: BTreeSet<u64> = (0..500).chain(1000..1500).chain(2000..2200).collect();
    let start = std::time::Instant::now();
    loop {
        let all: BTreeSet<u64> = ["primary", "secondary"]
            .iter()
            .flat_map(|n| ids_in(dir.path(), n))
            .collect();
        let missing: Vec<u64> = accepted.difference(&all).copied().collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{} accepted spans lost (first {:?}); agent after the crash:\n{}",
            missing.len(),
            &missing[..missing.len().min(10)],
            agent.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
