#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The `loadbalancing` exporter with real processes: an agent spreads the spans of
//! many traces over three gateway stratus processes (OTLP receiver → file exporter).
//! Every span of a trace lands on one gateway, the one upstream's consistent-hash ring
//! names; removing a gateway from the agent's list moves only the traces that gateway
//! owned; a gateway killed with `kill -9` mid-run loses nothing the agent accepted
//! (its share goes to the others, and comes back once it restarts).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use stratus_exporter_loadbalancing::HashRing;

/// A gateway: OTLP/gRPC in, every batch written to `traces.out` (length-prefixed
/// protobuf) before the request is answered (the file exporter has no queue), appended
/// across restarts.
fn gateway_config(grpc: u16, metrics: u16, out: &Path) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
exporters:
  file:
    path: {out}
    format: proto
    append: true
service:
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file]
"#,
        out = out.display()
    )
}

/// An agent: OTLP/gRPC in, `loadbalancing` to `backends` (static resolver), with
/// upstream's default timeout, retry and queue settings: only TLS is turned off.
fn agent_config(grpc: u16, metrics: u16, backends: &[String]) -> String {
    let hostnames = backends
        .iter()
        .map(|b| format!("\n          - {b}"))
        .collect::<String>();
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
exporters:
  loadbalancing:
    routing_key: traceID
    protocol:
      otlp:
        tls:
          insecure: true
    resolver:
      static:
        hostnames:{hostnames}
service:
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [loadbalancing]
"#
    )
}

struct Gateway {
    process: Stratus,
    grpc: u16,
    metrics: u16,
    out: PathBuf,
    name: String,
}

impl Gateway {
    fn start(dir: &Path, name: &str) -> Gateway {
        let (grpc, metrics) = (free_port(), free_port());
        let out = dir.join(format!("{name}.traces.out"));
        let mut process = Stratus::start(dir, name, &gateway_config(grpc, metrics, &out));
        process.wait_running();
        Gateway {
            process,
            grpc,
            metrics,
            out,
            name: name.to_string(),
        }
    }

    /// Starts it again on the same ports and file.
    fn restart(&mut self, dir: &Path) {
        let config = gateway_config(self.grpc, self.metrics, &self.out);
        self.process = Stratus::start(dir, &format!("{}-again", self.name), &config);
        self.process.wait_running();
    }

    fn backend(&self) -> String {
        format!("127.0.0.1:{}", self.grpc)
    }

    /// (trace id, span id) of every span written, with repeats.
    fn spans(&self) -> Vec<(Vec<u8>, u64)> {
        read_length_prefixed(&self.out)
            .iter()
            .flat_map(|r| {
                ExportTraceServiceRequest::decode(&r[..])
                    .unwrap()
                    .resource_spans
                    .into_iter()
                    .flat_map(|rs| rs.scope_spans)
                    .flat_map(|ss| ss.spans)
                    .map(|s| {
                        (
                            s.trace_id,
                            u64::from_be_bytes(s.span_id[..8].try_into().unwrap()),
                        )
                    })
            })
            .collect()
    }
}

fn start_agent(dir: &Path, name: &str, backends: &[String]) -> (Stratus, u16, u16) {
    let (grpc, metrics) = (free_port(), free_port());
    let mut agent = Stratus::start(dir, name, &agent_config(grpc, metrics, backends));
    agent.wait_running();
    (agent, grpc, metrics)
}

/// A well-spread 16-byte trace id for trace number `n`.
fn trace_id(n: u64) -> Vec<u8> {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    [mix(n).to_be_bytes(), mix(!n).to_be_bytes()].concat()
}

/// A request with `per_trace` spans of each of the traces `traces`, interleaved (as an
/// agent's batch of many concurrent requests looks); span ids from `first_span`.
fn request(
    traces: std::ops::Range<u64>,
    per_trace: u64,
    first_span: u64,
) -> ExportTraceServiceRequest {
    let mut spans = Vec::new();
    let mut id = first_span;
    for k in 0..per_trace {
        for t in traces.clone() {
            spans.push(Span {
                trace_id: trace_id(t),
                span_id: id.to_be_bytes().to_vec(),
                name: format!("op-{k}"),
                start_time_unix_nano: 1_700_000_000_000_000_000 + id,
                end_time_unix_nano: 1_700_000_000_000_500_000 + id,
                ..Default::default()
            });
            id += 1;
        }
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("checkout".into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

type Client =
    opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient<
        tonic::transport::Channel,
    >;

/// Which gateway (index) holds each trace id among the spans with ids in `span_ids`;
/// fails when a trace is on two.
fn owners(gateways: &[Gateway], span_ids: &std::ops::Range<u64>) -> BTreeMap<Vec<u8>, usize> {
    let mut owner: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    for (g, gw) in gateways.iter().enumerate() {
        for (tid, sid) in gw.spans() {
            if !span_ids.contains(&sid) {
                continue;
            }
            let prev = *owner.entry(tid.clone()).or_insert(g);
            assert_eq!(prev, g, "a trace's spans landed on two gateways");
        }
    }
    owner
}

fn distinct_spans(gateways: &[Gateway], span_ids: &std::ops::Range<u64>) -> BTreeSet<u64> {
    gateways
        .iter()
        .flat_map(|g| g.spans())
        .map(|(_, s)| s)
        .filter(|s| span_ids.contains(s))
        .collect()
}

#[test]
fn traces_land_whole_on_their_gateway_and_removing_one_moves_only_its_share() {
    let dir = tempfile::tempdir().unwrap();
    let gateways: Vec<Gateway> = (0..3)
        .map(|i| Gateway::start(dir.path(), &format!("gateway-{i}")))
        .collect();
    let backends: Vec<String> = gateways.iter().map(Gateway::backend).collect();
    let (mut agent, port, _) = start_agent(dir.path(), "agent", &backends);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut client: Client = rt.block_on(trace_client(port));

    // 300 traces of 6 spans, 20 traces per request.
    let (traces, per_trace) = (300u64, 6u64);
    let send_all = |client: &mut Client, first_span: u64| {
        for r in 0..traces / 20 {
            let first = first_span + r * 20 * per_trace;
            rt.block_on(client.export(request(r * 20..(r + 1) * 20, per_trace, first)))
                .unwrap();
        }
    };
    send_all(&mut client, 0);
    let round1 = 0..traces * per_trace;
    wait_for("every span at a gateway", || {
        (distinct_spans(&gateways, &round1).len() == round1.end as usize).then_some(())
    });
    let before = owners(&gateways, &round1);
    assert_eq!(before.len(), traces as usize);
    // No span twice, and each gateway holds whole traces, a fair share of them.
    let written: usize = gateways.iter().map(|g| g.spans().len()).sum();
    assert_eq!(written, round1.end as usize, "no span written twice");
    for g in 0..3 {
        let n = before.values().filter(|o| **o == g).count();
        assert!(n > 40, "gateway {g} owns {n} of {traces} traces");
    }
    // The owners are the ones upstream's ring names for these backends.
    let mut sorted = backends.clone();
    sorted.sort();
    let ring = HashRing::new(&sorted);
    for (tid, g) in &before {
        assert_eq!(sorted[ring.owner_of(tid).unwrap()], backends[*g]);
    }

    // The agent again, without gateway 2: the same trace ids, new spans.
    agent.terminate();
    agent.wait_exit();
    let removed = 2;
    let (_agent2, port2, _) = start_agent(dir.path(), "agent-2", &backends[..2]);
    let mut client2: Client = rt.block_on(trace_client(port2));
    let offset = 1_000_000;
    send_all(&mut client2, offset);
    let round2 = offset..offset + traces * per_trace;
    wait_for("every span of the second round", || {
        (distinct_spans(&gateways, &round2).len() == traces as usize * per_trace as usize)
            .then_some(())
    });
    let after = owners(&gateways, &round2);
    let mut moved = 0;
    for (tid, g) in &before {
        let now = after[tid];
        assert_ne!(now, removed, "the removed gateway got data");
        if *g == removed {
            moved += 1;
        } else {
            assert_eq!(now, *g, "a trace of a remaining gateway moved");
        }
    }
    let owned_by_removed = before.values().filter(|g| **g == removed).count();
    assert_eq!(
        moved, owned_by_removed,
        "exactly the removed gateway's traces moved"
    );
}

/// Requests of 10 traces of 4 spans, with the span ids the agent accepted.
#[derive(Default)]
struct Load {
    next: u64,
    accepted: BTreeSet<u64>,
    refused: usize,
}

impl Load {
    fn send(&mut self, rt: &tokio::runtime::Runtime, client: &mut Client) {
        let per_trace = 4;
        let first = self.next * 10 * per_trace;
        let req = request(self.next * 10..self.next * 10 + 10, per_trace, first);
        self.next += 1;
        match rt.block_on(client.export(req)) {
            Ok(_) => self.accepted.extend(first..first + 10 * per_trace),
            Err(_) => self.refused += 1,
        }
    }
}

#[test]
fn a_gateway_killed_mid_run_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut gateways: Vec<Gateway> = (0..3)
        .map(|i| Gateway::start(dir.path(), &format!("gw-{i}")))
        .collect();
    let backends: Vec<String> = gateways.iter().map(Gateway::backend).collect();
    let (_agent, port, agent_metrics) = start_agent(dir.path(), "agent", &backends);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut client: Client = rt.block_on(trace_client(port));

    let mut load = Load::default();
    let send = |client: &mut Client, load: &mut Load| load.send(&rt, client);
    for _ in 0..20 {
        send(&mut client, &mut load);
    }
    gateways[1].process.kill9();
    for _ in 0..40 {
        send(&mut client, &mut load);
    }
    let reached = |gateways: &[Gateway]| -> BTreeSet<u64> {
        gateways
            .iter()
            .flat_map(|g| g.spans())
            .map(|(_, s)| s)
            .collect()
    };
    // While it is down its share reaches the other two.
    wait_for("every accepted span at a gateway while one is down", || {
        load.accepted.is_subset(&reached(&gateways)).then_some(())
    });
    assert_eq!(
        load.refused, 0,
        "the agent refused data while two gateways were up"
    );
    let rerouted = metric(
        agent_metrics,
        "stratus_loadbalancer_rerouted_spans{exporter=\"loadbalancing\"}",
    );
    assert!(rerouted > 0.0, "the killed gateway's share was rerouted");

    // Restarted, it gets its share back.
    let written_before = gateways[1].spans().len();
    gateways[1].restart(dir.path());
    wait_for("the restarted gateway to get its share again", || {
        send(&mut client, &mut load);
        (gateways[1].spans().len() > written_before).then_some(())
    });
    for _ in 0..10 {
        send(&mut client, &mut load);
    }
    wait_for("every accepted span at a gateway", || {
        load.accepted.is_subset(&reached(&gateways)).then_some(())
    });
    assert_eq!(load.refused, 0);
    // What the restarted gateway got since its restart is its own share.
    let mut sorted = backends.clone();
    sorted.sort();
    let ring = HashRing::new(&sorted);
    let me = sorted.iter().position(|b| *b == backends[1]).unwrap();
    let since: Vec<(Vec<u8>, u64)> = gateways[1].spans().split_off(written_before);
    assert!(since.iter().all(|(tid, _)| ring.owner_of(tid) == Some(me)));
}

/// `stratus validate` takes a DNS resolver, and rejects upstream's
/// k8s resolver with advice and its key path (exit code 78).
#[test]
fn validate_accepts_dns_and_explains_unsupported_resolvers() {
    let dir = tempfile::tempdir().unwrap();
    let validate = |name: &str, exporter: &str| {
        let path = dir.path().join(name);
        let config = format!(
            "receivers: {{otlp: {{protocols: {{grpc: {{endpoint: 127.0.0.1:0}}}}}}}}\n\
             exporters:\n{exporter}\n\
             service: {{pipelines: {{traces: {{receivers: [otlp], exporters: [loadbalancing]}}}}}}\n"
        );
        std::fs::write(&path, config).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_stratus"))
            .args(["validate", "--config"])
            .arg(&path)
            .output()
            .unwrap()
    };
    let ok = validate(
        "dns.yaml",
        "  loadbalancing:\n    protocol: {otlp: {tls: {insecure: true}}}\n    \
         resolver: {dns: {hostname: otelcol-gateway.observability.svc.cluster.local, port: \"4317\"}}",
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let bad = validate(
        "k8s.yaml",
        "  loadbalancing:\n    resolver: {k8s: {service: lb-svc.observability}}",
    );
    assert_eq!(bad.status.code(), Some(78));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("exporters::loadbalancing::resolver::k8s") && err.contains("headless Service"),
        "{err}"
    );
}

/// The DNS resolver through the system resolver: `localhost` (from /etc/hosts) is the
/// gateway's address, so everything sent reaches that gateway.
#[test]
fn a_dns_name_resolves_to_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = Gateway::start(dir.path(), "gateway");
    let (grpc, metrics) = (free_port(), free_port());
    let config = agent_config(grpc, metrics, &[]).replace(
        "      static:\n        hostnames:\n",
        &format!(
            "      dns:\n        hostname: localhost\n        port: {}\n        interval: 1s\n",
            gateway.grpc
        ),
    );
    assert!(config.contains("hostname: localhost"), "{config}");
    let mut agent = Stratus::start(dir.path(), "agent", &config);
    agent.wait_running();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut client: Client = rt.block_on(trace_client(grpc));
    rt.block_on(client.export(request(0..10, 3, 0))).unwrap();
    wait_for("the spans at the gateway behind `localhost`", || {
        (gateway.spans().len() == 30).then_some(())
    });
    assert_eq!(
        metric(
            metrics,
            "otelcol_loadbalancer_num_backends{exporter=\"loadbalancing\",resolver=\"dns\"}"
        ),
        1.0
    );
}
