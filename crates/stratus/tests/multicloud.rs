#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The multi-cloud processors in real stratus processes, configured the way users
//! write them: one sampling seed keeps a trace whole across collectors in different
//! clouds, EU data stays in the EU pipeline, a tenant header picks the pipeline, a
//! privacy pipeline enriches, masks and filters, and a gateway's tail sampling keeps
//! the traces worth keeping.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use prost::Message;
use stratus_testkit::otlp::{SeverityNumber, SpanKind, log, logs, span, traces};

/// The ports of one stratus process.
struct Ports {
    grpc: u16,
    http: u16,
    metrics: u16,
}

impl Ports {
    fn new() -> Ports {
        Ports {
            grpc: free_port(),
            http: free_port(),
            metrics: free_port(),
        }
    }

    /// The OTLP receiver on both protocols (HTTP keeps request headers for routing).
    fn receiver(&self) -> String {
        format!(
            r#"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{}
      http:
        endpoint: 127.0.0.1:{}
        include_metadata: true
"#,
            self.grpc, self.http
        )
    }

    /// `service:` with internal metrics on `metrics`, up to `pipelines:`.
    fn service(&self) -> String {
        format!(
            "service:\n  telemetry:\n    metrics:\n      address: 127.0.0.1:{}\n  pipelines:",
            self.metrics
        )
    }
}

/// A `file` exporter block named `name` writing proto requests to `dir/name.out`.
fn file_exporter(dir: &Path, name: &str) -> String {
    format!(
        "\n  file/{name}:\n    path: {}/{name}.out\n    format: proto",
        dir.display()
    )
}

/// Every span in `dir/name.out` as (trace id, span name, attributes, resource attributes).
fn spans_in(dir: &Path, name: &str) -> Vec<SpanSeen> {
    read_length_prefixed(&dir.join(format!("{name}.out")))
        .iter()
        .flat_map(|r| {
            ExportTraceServiceRequest::decode(&r[..])
                .unwrap()
                .resource_spans
        })
        .flat_map(|rs| {
            let resource = attrs(&rs.resource.clone().unwrap_or_default().attributes);
            rs.scope_spans
                .into_iter()
                .flat_map(|ss| ss.spans)
                .map(move |s| SpanSeen {
                    trace_id: u128::from_be_bytes(s.trace_id[..].try_into().unwrap()),
                    name: s.name.clone(),
                    attributes: attrs(&s.attributes),
                    resource: resource.clone(),
                })
        })
        .collect()
}

#[derive(Debug, Clone)]
struct SpanSeen {
    trace_id: u128,
    name: String,
    attributes: BTreeMap<String, String>,
    resource: BTreeMap<String, String>,
}

/// Attributes as strings (ints and bools rendered), for assertions.
fn attrs(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| {
            let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                Some(any_value::Value::IntValue(i)) => i.to_string(),
                Some(any_value::Value::BoolValue(b)) => b.to_string(),
                Some(any_value::Value::DoubleValue(d)) => d.to_string(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), v)
        })
        .collect()
}

/// The sum of every series of the metric `name` on `/metrics`, whatever its labels.
fn metric_sum(port: u16, name: &str) -> f64 {
    http("GET", port, "/metrics", &[], b"")
        .text()
        .lines()
        .filter_map(|l| l.strip_prefix(name))
        .filter(|rest| rest.starts_with('{') || rest.starts_with(' '))
        .filter_map(|rest| rest.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A deterministic stream of well-mixed 128-bit trace ids (splitmix64).
fn trace_ids(seed: u64, n: usize) -> Vec<u128> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    (0..n)
        .map(|_| u128::from(next()) << 64 | u128::from(next()))
        .collect()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Sends `requests` over OTLP/gRPC to 127.0.0.1:`port`, each answered before the next.
fn send_traces(port: u16, requests: Vec<ExportTraceServiceRequest>) {
    rt().block_on(async {
        let mut client = trace_client(port).await;
        for r in requests {
            client.export(r).await.unwrap();
        }
    });
}

/// The cross-cloud sampling promise. Each trace has one span in AWS and one in Azure,
/// and each cloud's collector samples its half with the same `hash_seed` and
/// percentage: both keep exactly the same traces, so every kept trace is whole. A
/// final span with `sampling.priority` (which overrides the hash) marks the end of
/// the input in each output.
#[test]
fn one_seed_keeps_traces_whole_across_collectors_in_two_clouds() {
    const TRACES: usize = 2000;
    let dir = tempfile::tempdir().unwrap();
    let ids = trace_ids(42, TRACES);
    let mut collectors = Vec::new();
    for cloud in ["aws", "azure"] {
        let p = Ports::new();
        let config = format!(
            r#"{receiver}
processors:
  probabilistic_sampler:
    sampling_percentage: 25
    hash_seed: 22
exporters:{file}
{service}
    traces:
      receivers: [otlp]
      processors: [probabilistic_sampler]
      exporters: [file/{cloud}]
"#,
            receiver = p.receiver(),
            service = p.service(),
            file = file_exporter(dir.path(), cloud),
        );
        let mut s = Stratus::start(dir.path(), cloud, &config);
        s.wait_running();
        collectors.push((cloud, p.grpc, s));
    }
    for (cloud, grpc, _) in &collectors {
        let mut requests: Vec<_> = ids
            .chunks(200)
            .map(|chunk| {
                traces()
                    .resource([("service.name", format!("checkout-{cloud}"))])
                    .spans(chunk.iter().map(|&id| {
                        span(format!("{cloud} hop"))
                            .trace_id(id)
                            .span_id(id as u64 | 1)
                            .kind(SpanKind::Server)
                    }))
                    .request()
            })
            .collect();
        requests.push(
            traces()
                .span(
                    span("end of input")
                        .trace_id(7u128)
                        .span_id(7u64)
                        .attr("sampling.priority", 1i64),
                )
                .request(),
        );
        send_traces(*grpc, requests);
    }
    let mut kept = Vec::new();
    for (cloud, _, _) in &collectors {
        let spans = wait_for(&format!("the end marker in {cloud}'s output"), || {
            let spans = spans_in(dir.path(), cloud);
            spans
                .iter()
                .any(|s| s.name == "end of input")
                .then_some(spans)
        });
        let ids: BTreeSet<u128> = spans
            .iter()
            .filter(|s| s.name != "end of input")
            .map(|s| s.trace_id)
            .collect();
        kept.push(ids);
    }
    assert_eq!(
        kept[0], kept[1],
        "the two clouds kept different traces: broken traces"
    );
    // 25% of 2000, within 5 standard deviations (sd = 19.4).
    let n = kept[0].len();
    assert!(
        (403..=597).contains(&n),
        "kept {n} of {TRACES} traces at 25%"
    );
    assert!(kept[0].iter().all(|id| ids.contains(id)));
}

/// Data residency: the routing connector sends every resource whose `cloud.region`
/// is in the EU to the EU pipeline only; everything else, including data with no
/// region, goes to the default pipeline. Nothing is duplicated or lost.
#[test]
fn eu_data_stays_in_the_eu_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let p = Ports::new();
    let config = format!(
        r#"{receiver}
exporters:{eu}{rest}
connectors:
  routing:
    default_pipelines: [traces/rest]
    table:
      - condition: IsMatch(resource.attributes["cloud.region"], "^eu-")
        pipelines: [traces/eu]
{service}
    traces:
      receivers: [otlp]
      exporters: [routing]
    traces/eu:
      receivers: [routing]
      exporters: [file/eu]
    traces/rest:
      receivers: [routing]
      exporters: [file/rest]
"#,
        receiver = p.receiver(),
        service = p.service(),
        eu = file_exporter(dir.path(), "eu"),
        rest = file_exporter(dir.path(), "rest"),
    );
    let mut s = Stratus::start(dir.path(), "router", &config);
    s.wait_running();
    let regions = ["eu-west-1", "us-east-1", "eu-central-1", "", "ap-south-1"];
    let mut batch = traces();
    for (i, region) in regions.iter().enumerate() {
        batch = if region.is_empty() {
            batch.resource([("service.name", "no-region")])
        } else {
            batch.resource([("service.name", "svc"), ("cloud.region", *region)])
        };
        for j in 0..10u64 {
            batch = batch.span(span(format!("op-{i}-{j}")).trace_id(i as u128 + 1));
        }
    }
    send_traces(p.grpc, vec![batch.request()]);
    let eu = wait_for("20 EU spans", || {
        let s = spans_in(dir.path(), "eu");
        (s.len() >= 20).then_some(s)
    });
    let rest = wait_for("30 other spans", || {
        let s = spans_in(dir.path(), "rest");
        (s.len() >= 30).then_some(s)
    });
    assert_eq!(eu.len(), 20);
    assert_eq!(rest.len(), 30);
    assert!(
        eu.iter().all(|s| s
            .resource
            .get("cloud.region")
            .is_some_and(|r| r.starts_with("eu-"))),
        "{eu:?}"
    );
    assert!(
        rest.iter().all(|s| !s
            .resource
            .get("cloud.region")
            .is_some_and(|r| r.starts_with("eu-"))),
        "{rest:?}"
    );
}

/// A tenant picks its pipeline by request header (`context: request`, with the
/// receiver's `include_metadata: true`): acme's logs land in acme's file only.
#[test]
fn a_request_header_picks_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let p = Ports::new();
    let d = dir.path().display();
    let config = format!(
        r#"{receiver}
exporters:
  file/acme:
    path: {d}/acme.out
    format: proto
  file/others:
    path: {d}/others.out
    format: proto
connectors:
  routing:
    default_pipelines: [logs/others]
    table:
      - context: request
        condition: request["x-tenant"] == "acme"
        pipelines: [logs/acme]
{service}
    logs:
      receivers: [otlp]
      exporters: [routing]
    logs/acme:
      receivers: [routing]
      exporters: [file/acme]
    logs/others:
      receivers: [routing]
      exporters: [file/others]
"#,
        receiver = p.receiver(),
        service = p.service(),
    );
    let mut s = Stratus::start(dir.path(), "tenants", &config);
    s.wait_running();
    for (tenant, n) in [("acme", 3), ("globex", 2), ("", 1)] {
        let body = logs()
            .records((0..n).map(|i| log(format!("{tenant} line {i}"))))
            .encode();
        let mut headers = vec![("Content-Type", "application/x-protobuf")];
        if !tenant.is_empty() {
            headers.push(("X-Tenant", tenant));
        }
        let resp = http("POST", p.http, "/v1/logs", &headers, &body);
        assert_eq!(resp.status, 200, "{}", resp.text());
    }
    let acme = wait_flat("acme's 3 logs", &dir.path().join("acme.out"), 3, flat_logs);
    let others = wait_flat(
        "the other 3 logs",
        &dir.path().join("others.out"),
        3,
        flat_logs,
    );
    assert_eq!(acme.len(), 3);
    assert_eq!(others.len(), 3);
    let text = |flat: &Flat| {
        flat.iter()
            .map(|[_, _, r]| String::from_utf8_lossy(r).into_owned())
            .collect::<Vec<_>>()
    };
    assert!(text(&acme).iter().all(|r| r.contains("acme line")));
    assert!(text(&others).iter().all(|r| !r.contains("acme line")));
}

/// The brief's privacy and enrichment promise, as a new user writes it: the resource
/// gets the environment's attributes, `attributes` tags every span, `redaction` masks
/// card numbers, e-mail addresses and a blocked key's value, and `filter` drops the
/// health-check spans and debug logs before anything leaves the machine.
#[test]
fn a_privacy_pipeline_enriches_masks_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let p = Ports::new();
    let d = dir.path().display();
    let config = format!(
        r#"{receiver}
processors:
  resource_detection:
    detectors: [env]
  attributes/tag:
    actions:
      - key: deployment.environment
        value: prod
        action: insert
      - key: user.id
        action: hash
  redaction:
    allow_all_keys: true
    blocked_key_patterns: ["^password$"]
    blocked_values:
      - "4[0-9]{{12}}(?:[0-9]{{3}})?"
      - "[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{{2,}}"
    summary: debug
  filter/health:
    error_mode: ignore
    traces:
      span:
        - attributes["http.route"] == "/healthz"
    logs:
      log_record:
        - severity_number < SEVERITY_NUMBER_INFO
exporters:
  file/traces:
    path: {d}/traces.out
    format: proto
  file/logs:
    path: {d}/logs.out
    format: proto
{service}
    traces:
      receivers: [otlp]
      processors: [resource_detection, attributes/tag, redaction, filter/health]
      exporters: [file/traces]
    logs:
      receivers: [otlp]
      processors: [resource_detection, filter/health]
      exporters: [file/logs]
"#,
        receiver = p.receiver(),
        service = p.service(),
    );
    let mut s = Stratus::start_with_env(
        dir.path(),
        "privacy",
        &config,
        &[],
        &[(
            "OTEL_RESOURCE_ATTRIBUTES",
            "cloud.region=eu-west-1,team=payments",
        )],
    );
    s.wait_running();
    let batch = traces()
        .resource([("service.name", "checkout")])
        .span(
            span("POST /pay")
                .trace_id(1u128)
                .attr("card", "paid with 4111111111111111 today")
                .attr("customer", "mail jane.doe@example.com")
                .attr("password", "hunter2")
                .attr("user.id", "u-123"),
        )
        .span(
            span("GET /healthz")
                .trace_id(2u128)
                .attr("http.route", "/healthz"),
        )
        .span(
            span("GET /cart")
                .trace_id(3u128)
                .attr("http.route", "/cart"),
        )
        .request();
    send_traces(p.grpc, vec![batch]);
    let body = logs()
        .record(log("debug noise").severity(SeverityNumber::Debug))
        .record(log("payment accepted").severity(SeverityNumber::Info))
        .encode();
    let resp = http(
        "POST",
        p.http,
        "/v1/logs",
        &[("Content-Type", "application/x-protobuf")],
        &body,
    );
    assert_eq!(resp.status, 200, "{}", resp.text());

    let spans = wait_for("two spans", || {
        let s = spans_in(dir.path(), "traces");
        (s.len() >= 2).then_some(s)
    });
    let names: BTreeSet<_> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["POST /pay", "GET /cart"]));
    let pay = spans.iter().find(|s| s.name == "POST /pay").unwrap();
    assert_eq!(pay.resource["cloud.region"], "eu-west-1");
    assert_eq!(pay.resource["team"], "payments");
    assert_eq!(pay.attributes["deployment.environment"], "prod");
    assert!(
        !pay.attributes["card"].contains("4111111111111111"),
        "{pay:?}"
    );
    assert!(pay.attributes["card"].contains("****"), "{pay:?}");
    assert!(!pay.attributes["customer"].contains("jane.doe@example.com"));
    // A blocked key's value is masked whole, as upstream does.
    assert_eq!(pay.attributes["password"], "****", "{pay:?}");
    assert_ne!(pay.attributes["user.id"], "u-123");
    assert_eq!(pay.attributes["user.id"].len(), 64, "SHA-256 hex");
    assert!(
        pay.attributes.contains_key("redaction.masked.count"),
        "{pay:?}"
    );

    let logs = wait_flat("one log", &dir.path().join("logs.out"), 1, flat_logs);
    assert_eq!(logs.len(), 1);
    assert!(String::from_utf8_lossy(&logs[0][2]).contains("payment accepted"));
}

/// A gateway's tail sampling, as upstream's docs configure it and with its defaults
/// (`decision_wait` 30 s, `num_traces` 50000): traces with an error and traces slower
/// than 500 ms are kept whole, the rest dropped, once `decision_wait` has passed since
/// each trace's first span.
#[test]
fn tail_sampling_at_the_gateway_keeps_error_and_slow_traces() {
    let dir = tempfile::tempdir().unwrap();
    let p = Ports::new();
    let config = format!(
        r#"{receiver}
processors:
  tail_sampling:
    policies:
      - name: errors
        type: status_code
        status_code: {{status_codes: [ERROR]}}
      - name: slow
        type: latency
        latency: {{threshold_ms: 500}}
exporters:{file}
{service}
    traces:
      receivers: [otlp]
      processors: [tail_sampling]
      exporters: [file/kept]
"#,
        receiver = p.receiver(),
        service = p.service(),
        file = file_exporter(dir.path(), "kept"),
    );
    let mut s = Stratus::start(dir.path(), "gateway", &config);
    s.wait_running();
    const MS: u64 = 1_000_000;
    let t0 = 1_700_000_000_000 * MS;
    let trace = |id: u128, slow: bool, error: bool| {
        let mut b = traces().resource([("service.name", "shop")]);
        for i in 0..3u64 {
            let mut sp = span(format!("t{id}-s{i}"))
                .trace_id(id)
                .span_id(id as u64 * 10 + i)
                .start(t0)
                .end(t0 + if slow { 900 } else { 20 } * MS);
            if error && i == 2 {
                sp = sp.error("boom");
            }
            b = b.span(sp);
        }
        b.request()
    };
    send_traces(
        p.grpc,
        vec![
            trace(1, false, false),
            trace(2, false, true),
            trace(3, true, false),
            trace(4, false, false),
        ],
    );
    // Every trace is decided once `decision_wait` has passed; the metric says when.
    wait_for("four decisions", || {
        let decided = metric_sum(
            p.metrics,
            "otelcol_processor_tail_sampling_global_count_traces_sampled",
        );
        (decided >= 4.0).then_some(())
    });
    let kept = wait_for("the kept traces' 6 spans", || {
        let s = spans_in(dir.path(), "kept");
        (s.len() >= 6).then_some(s)
    });
    let ids: BTreeSet<u128> = kept.iter().map(|s| s.trace_id).collect();
    assert_eq!(ids, BTreeSet::from([2, 3]), "{kept:?}");
}
