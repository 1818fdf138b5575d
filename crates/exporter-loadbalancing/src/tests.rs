//! The load balancer against real OTLP/gRPC backends on loopback, and the split.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use stratus_core::factory::{BuildContext, decode_config};
use stratus_core::pdata::common::{AnyValue, InstrumentationScope, KeyValue, any_value};
use stratus_core::pdata::logs::{LogRecord, ResourceLogs, ScopeLogs};
use stratus_core::pdata::metrics::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric::Data,
};
use stratus_core::pdata::resource::Resource;
use stratus_core::pdata::trace::{ResourceSpans, ScopeSpans, Span};
use stratus_core::telemetry::Registry;
use stratus_core::{Component, Consumer, Host, Payload, Signal, Telemetry};
use stratus_testkit::grpc::{OtlpGrpcSink, Reply};
use stratus_testkit::metric_value;
use stratus_testkit::wait_until;

use crate::config::{LoadBalancingConfig, RoutingKey};
use crate::exporter::LoadBalancer;
use crate::factory::LoadBalancingExporterFactory;
use crate::resolver::{Lookup, SystemLookup};
use crate::ring::{HashRing, position};
use crate::split::{service_name, split};

const T: Duration = Duration::from_secs(20);
const ID: &str = "loadbalancing/test";

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![kv("service.name", service)],
        ..Default::default()
    })
}

fn scope(name: &str) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: name.into(),
        ..Default::default()
    })
}

/// A well-spread 16-byte trace id (splitmix64 of `n`).
fn trace_id(n: u64) -> Vec<u8> {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    [mix(n).to_be_bytes(), mix(n ^ 0xffff).to_be_bytes()].concat()
}

/// `traces` traces of `per_trace` spans each, interleaved over two resources and two
/// scopes; span ids run from `first_span`. Trace `t` has id `trace_id(first_trace + t)`.
fn batch(first_trace: u64, traces: u64, per_trace: u64, first_span: u64) -> Telemetry {
    let mut rss = Vec::new();
    let mut span_id = first_span;
    for (r, svc) in ["checkout", "frontend"].iter().enumerate() {
        let mut scope_spans = Vec::new();
        for s in 0..2u64 {
            let mut spans = Vec::new();
            for k in 0..per_trace {
                if (k % 4) / 2 != s || k % 2 != r as u64 {
                    continue;
                }
                for t in 0..traces {
                    spans.push(Span {
                        trace_id: trace_id(first_trace + t),
                        span_id: span_id.to_be_bytes().to_vec(),
                        name: format!("{svc}-{s}-{k}"),
                        ..Default::default()
                    });
                    span_id += 1;
                }
            }
            scope_spans.push(ScopeSpans {
                scope: scope(&format!("scope-{s}")),
                spans,
                ..Default::default()
            });
        }
        rss.push(ResourceSpans {
            resource: resource(svc),
            scope_spans,
            schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
        });
    }
    Telemetry::new(Payload::Traces(rss))
}

/// Every span of a payload with its resource's service, its scope name and the
/// schema url.
fn spans_of(p: &Payload) -> Vec<(String, String, String, Span)> {
    let Payload::Traces(rss) = p else {
        panic!("not traces")
    };
    rss.iter()
        .flat_map(|rs| {
            rs.scope_spans.iter().flat_map(move |ss| {
                ss.spans.iter().map(move |s| {
                    (
                        service_name(&rs.resource).to_string(),
                        ss.scope.as_ref().unwrap().name.clone(),
                        rs.schema_url.clone(),
                        s.clone(),
                    )
                })
            })
        })
        .collect()
}

fn config(hostnames: &[String], extra: Value) -> LoadBalancingConfig {
    let mut v = json!({
        "protocol": {"otlp": {
            "tls": {"insecure": true},
            "timeout": "1s",
            "retry_on_failure": {"initial_interval": "50ms", "max_interval": "200ms"},
        }},
        "resolver": {"static": {"hostnames": hostnames}},
    });
    if let (Some(base), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
        base.extend(extra.clone());
    }
    decode_config(&v).unwrap()
}

fn lb(
    config: LoadBalancingConfig,
    signals: &[Signal],
    lookup: Arc<dyn Lookup>,
) -> (LoadBalancer, Registry) {
    let registry = Registry::new();
    let ctx = BuildContext::new(ID.parse().unwrap(), signals.to_vec(), registry.clone());
    (LoadBalancer::new(ctx, config, lookup).unwrap(), registry)
}

fn host_of(sink: &OtlpGrpcSink) -> String {
    sink.addr().to_string()
}

/// Span ids received by a sink, by trace id.
fn received(sink: &OtlpGrpcSink) -> BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>> {
    let mut out: BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>> = BTreeMap::new();
    for r in sink.requests() {
        for (_, _, _, s) in spans_of(&r.payload) {
            out.entry(s.trace_id).or_default().insert(s.span_id);
        }
    }
    out
}

fn span_count(sinks: &[&OtlpGrpcSink]) -> usize {
    sinks.iter().map(|s| s.item_count()).sum()
}

#[tokio::test]
async fn conformance() {
    stratus_testkit::conformance::exporter(&LoadBalancingExporterFactory::default())
        .grpc_destination(|url| {
            json!({
                "protocol": {"otlp": {"tls": {"insecure": true}}},
                "resolver": {"static": {"hostnames": [url.trim_start_matches("http://")]}},
            })
        })
        .default_config_rejected(&["resolver"])
        .await;
}

/// Every span of a trace reaches one backend, the ring's owner of its trace id, with
/// its resource, scope and schema url; nothing is lost or duplicated.
#[tokio::test]
async fn each_trace_lands_whole_on_its_owner() {
    let sinks = [
        OtlpGrpcSink::start().await,
        OtlpGrpcSink::start().await,
        OtlpGrpcSink::start().await,
    ];
    let hosts: Vec<String> = sinks.iter().map(host_of).collect();
    let (lb, registry) = lb(
        config(&hosts, json!({})),
        &[Signal::Traces],
        Arc::new(SystemLookup),
    );
    lb.start(&Host::ready()).await.unwrap();
    let mut sorted = hosts.clone();
    sorted.sort();
    assert_eq!(lb.backends(), sorted);

    let mut sent = Vec::new();
    for b in 0..20u64 {
        let data = batch(b * 10, 10, 6, b * 1000);
        sent.extend(spans_of(&data.payload));
        lb.consume(data).await.unwrap();
    }
    let all: Vec<&OtlpGrpcSink> = sinks.iter().collect();
    wait_until("every span at a backend", T, || {
        span_count(&all) >= sent.len()
    })
    .await;
    assert_eq!(span_count(&all), sent.len(), "no span twice");

    let ring = HashRing::new(&sorted);
    let mut got = Vec::new();
    for sink in &sinks {
        let me = sorted.iter().position(|h| *h == host_of(sink)).unwrap();
        let traces = received(sink);
        assert!(
            traces.len() > 20,
            "each backend owns a fair share: {}",
            traces.len()
        );
        for tid in traces.keys() {
            assert_eq!(
                ring.owner_of(tid),
                Some(me),
                "trace at a backend that does not own it"
            );
            assert_eq!(lb.owner_of(tid), Some(sorted[me].clone()));
        }
        for r in sink.requests() {
            got.extend(spans_of(&r.payload));
        }
    }
    // Each trace id on one backend only.
    let per_sink: Vec<BTreeSet<Vec<u8>>> = sinks
        .iter()
        .map(|s| received(s).into_keys().collect())
        .collect();
    for (i, a) in per_sink.iter().enumerate() {
        for b in &per_sink[i + 1..] {
            assert!(a.is_disjoint(b), "a trace split over two backends");
        }
    }
    // Same spans, each with its own resource, scope and schema url.
    let key = |x: &(String, String, String, Span)| (x.3.span_id.clone(), x.clone());
    let mut want: Vec<_> = sent.iter().map(key).collect();
    let mut have: Vec<_> = got.iter().map(key).collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    have.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(want.iter().map(|x| &x.1).eq(have.iter().map(|x| &x.1)));
    let ok = metric_value(
        &registry,
        "otelcol_loadbalancer_backend_outcome",
        &[("success", "true")],
    );
    assert!(ok >= 20.0, "one outcome per backend and batch: {ok}");
    wait_until("the sub-exporters to count what they sent", T, || {
        metric_value(
            &registry,
            "otelcol_exporter_sent_spans",
            &[("exporter", ID)],
        ) == sent.len() as f64
    })
    .await;
    assert_eq!(
        metric_value(&registry, "otelcol_loadbalancer_num_backends", &[]),
        3.0
    );
    lb.shutdown().await.unwrap();
    lb.shutdown().await.unwrap();
}

/// A backend that fails: its share goes to the next backend on the ring, what its
/// exporter held is handed to the new owners, nothing is lost; once it answers again
/// it gets its own share back.
#[tokio::test]
async fn a_failing_backends_share_is_rerouted_and_comes_back() {
    let sinks = [
        OtlpGrpcSink::start().await,
        OtlpGrpcSink::start().await,
        OtlpGrpcSink::start().await,
    ];
    let mut hosts: Vec<String> = sinks.iter().map(host_of).collect();
    hosts.sort();
    let sink = |h: &str| sinks.iter().find(|s| host_of(s) == h).unwrap();
    let (down, others) = (sink(&hosts[1]), [sink(&hosts[0]), sink(&hosts[2])]);
    down.set_default(Reply::status(tonic::Code::Unavailable, "restarting"));
    let (lb, registry) = lb(
        config(&hosts, json!({})),
        &[Signal::Traces],
        Arc::new(SystemLookup),
    );
    lb.start(&Host::ready()).await.unwrap();
    let ring = HashRing::new(&hosts);

    // While it fails: everything reaches the two others.
    let mut sent = BTreeSet::new();
    let mut next = 0u64;
    for _ in 0..30 {
        let data = batch(next * 10, 10, 3, next * 1000);
        next += 1;
        sent.extend(spans_of(&data.payload).into_iter().map(|x| x.3.span_id));
        lb.consume(data).await.unwrap();
    }
    let union = || -> BTreeSet<Vec<u8>> {
        others
            .iter()
            .flat_map(|s| received(s).into_values().flatten())
            .collect()
    };
    wait_until("the failing backend's share at the others", T, || {
        sent.is_subset(&union())
    })
    .await;
    let rerouted = metric_value(&registry, "stratus_loadbalancer_rerouted_spans", &[]);
    assert!(
        rerouted > 0.0,
        "new data of the failing backend was rerouted"
    );
    let handed = metric_value(
        &registry,
        "stratus_exporter_handed_over_spans",
        &[("exporter", ID)],
    );
    assert!(handed > 0.0, "data its exporter held was handed over");
    // The others' own traces did not move.
    for s in &others {
        let me = hosts.iter().position(|h| *h == host_of(s)).unwrap();
        let foreign = received(s)
            .keys()
            .filter(|t| ring.owner_of(t) != Some(me))
            .all(|t| ring.owner_of(t) == Some(1));
        assert!(foreign, "only the failing backend's traces moved");
    }

    // It comes back: nothing is in flight to it now, so what it records from here on
    // was accepted.
    down.take_requests();
    down.set_default(Reply::ok());
    let mut sent2 = BTreeSet::new();
    let deadline = tokio::time::Instant::now() + T;
    while down.item_count() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the backend never got its share back"
        );
        let data = batch(next * 10, 10, 3, next * 1000);
        next += 1;
        sent2.extend(spans_of(&data.payload).into_iter().map(|x| x.3.span_id));
        lb.consume(data).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await; // pacing the traffic, not a sync
    }
    for t in received(down).keys() {
        assert_eq!(
            ring.owner_of(t),
            Some(1),
            "the recovered backend gets only its own traces"
        );
    }
    let all = || -> BTreeSet<Vec<u8>> {
        sinks
            .iter()
            .flat_map(|s| received(s).into_values().flatten())
            .collect()
    };
    wait_until("every span after recovery", T, || sent2.is_subset(&all())).await;
    lb.shutdown().await.unwrap();
}

/// Refused by one backend's full queue, a batch is refused for all of them: no
/// backend keeps a part the sender will send again.
#[tokio::test]
async fn a_full_queue_refuses_the_whole_batch() {
    let sinks = [OtlpGrpcSink::start().await, OtlpGrpcSink::start().await];
    let hosts: Vec<String> = sinks.iter().map(host_of).collect();
    // Each backend's queue holds one request and its one sender is stuck on a slow
    // answer.
    for s in &sinks {
        s.set_default(Reply::ok().delay(Duration::from_secs(1)));
    }
    let cfg = config(
        &hosts,
        json!({"protocol": {"otlp": {"tls": {"insecure": true}, "timeout": "10s",
            "sending_queue": {"num_consumers": 1, "queue_size": 1}}}}),
    );
    let (lb, registry) = lb(cfg, &[Signal::Traces], Arc::new(SystemLookup));
    lb.start(&Host::ready()).await.unwrap();
    let mut accepted = 0;
    let mut refused = 0;
    for b in 0..6u64 {
        match lb.consume(batch(b * 10, 10, 2, b * 1000)).await {
            Ok(()) => accepted += 20,
            Err(e) => {
                assert!(!e.is_permanent(), "{e}");
                refused += 1;
            }
        }
    }
    assert!(refused > 0, "queues of one request must refuse");
    let all: Vec<&OtlpGrpcSink> = sinks.iter().collect();
    wait_until("the accepted batches delivered", T, || {
        span_count(&all) >= accepted
    })
    .await;
    let enqueue_failed = metric_value(
        &registry,
        "otelcol_exporter_enqueue_failed_spans",
        &[("exporter", ID)],
    );
    assert!(enqueue_failed > 0.0);
    // Nothing but the accepted batches arrives.
    lb.shutdown().await.unwrap();
    assert_eq!(
        span_count(&all),
        accepted,
        "a refused batch left nothing behind"
    );
}

/// Answers for DNS from a list the test changes.
struct Answers(Mutex<Vec<IpAddr>>);

#[async_trait]
impl Lookup for Answers {
    async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        assert_eq!(host, "gateway.test");
        Ok(self.0.lock().unwrap().clone())
    }
}

/// A trace service on `addr`, recording the spans it takes.
async fn trace_server(addr: SocketAddr) -> (Arc<Mutex<Vec<Span>>>, tokio::task::JoinHandle<()>) {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
        TraceService, TraceServiceServer,
    };
    use stratus_core::pdata::ExportTraceServiceRequest;
    struct Svc(Arc<Mutex<Vec<Span>>>);
    #[async_trait]
    impl TraceService for Svc {
        async fn export(
            &self,
            request: tonic::Request<ExportTraceServiceRequest>,
        ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
            let spans = request
                .into_inner()
                .resource_spans
                .into_iter()
                .flat_map(|r| r.scope_spans)
                .flat_map(|s| s.spans);
            self.0.lock().unwrap().extend(spans);
            Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
        }
    }
    let spans = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let svc = TraceServiceServer::new(Svc(spans.clone()))
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
    let task = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(svc)
            .serve_with_incoming(incoming)
            .await;
    });
    (spans, task)
}

/// The DNS resolver picks up a new backend (a second address for the name) and drops
/// a removed one; the ring follows.
#[tokio::test]
async fn dns_changes_add_and_remove_backends() {
    let port = stratus_testkit::net::free_port();
    let (first, t1) = trace_server(format!("127.0.0.1:{port}").parse().unwrap()).await;
    let (second, t2) = trace_server(format!("127.0.0.2:{port}").parse().unwrap()).await;
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let answers = Arc::new(Answers(Mutex::new(vec![ip("127.0.0.1")])));
    let cfg: LoadBalancingConfig = decode_config(&json!({
        "protocol": {"otlp": {"tls": {"insecure": true}, "timeout": "1s"}},
        "resolver": {"dns": {"hostname": "gateway.test", "port": port, "interval": "100ms"}},
    }))
    .unwrap();
    let (lb, registry) = lb(cfg, &[Signal::Traces], answers.clone());
    lb.start(&Host::ready()).await.unwrap();
    let one = format!("127.0.0.1:{port}");
    let two = format!("127.0.0.2:{port}");
    assert_eq!(lb.backends(), std::slice::from_ref(&one));
    lb.consume(batch(0, 10, 2, 0)).await.unwrap();
    wait_until("the first backend", T, || first.lock().unwrap().len() == 20).await;

    answers.0.lock().unwrap().push(ip("127.0.0.2"));
    wait_until("the new backend in use", T, || lb.backends().len() == 2).await;
    assert_eq!(lb.backends(), [one.clone(), two.clone()]);
    lb.consume(batch(100, 40, 2, 10_000)).await.unwrap();
    let ring = HashRing::new(&[one.clone(), two.clone()]);
    let owned_by_two = (100..140)
        .filter(|t| ring.owner_of(&trace_id(*t)) == Some(1))
        .count();
    assert!(owned_by_two > 5, "the new backend owns a share");
    wait_until("the new backend's share", T, || {
        second.lock().unwrap().len() == owned_by_two * 2
    })
    .await;
    assert!(
        second
            .lock()
            .unwrap()
            .iter()
            .all(|s| ring.owner_of(&s.trace_id) == Some(1))
    );

    *answers.0.lock().unwrap() = vec![ip("127.0.0.2")];
    wait_until("the removed backend gone", T, || {
        lb.backends() == [two.clone()]
    })
    .await;
    let before = second.lock().unwrap().len();
    lb.consume(batch(200, 10, 2, 20_000)).await.unwrap();
    wait_until("everything at the one left", T, || {
        second.lock().unwrap().len() == before + 20
    })
    .await;
    assert!(metric_value(&registry, "otelcol_loadbalancer_num_backend_updates", &[]) >= 3.0);
    assert!(
        metric_value(
            &registry,
            "otelcol_loadbalancer_num_resolutions",
            &[("success", "true")]
        ) >= 3.0
    );
    lb.shutdown().await.unwrap();
    t1.abort();
    t2.abort();
}

/// Routing keys that cannot route a signal are refused when the exporter is built.
#[tokio::test]
async fn routing_key_must_fit_the_pipelines() {
    let registry = Registry::new();
    let cfg = config(&["a:4317".into()], json!({"routing_key": "traceID"}));
    let ctx = BuildContext::new(ID.parse().unwrap(), vec![Signal::Metrics], registry);
    let e = LoadBalancer::new(ctx, cfg, Arc::new(SystemLookup))
        .err()
        .unwrap();
    assert!(e.to_string().contains("cannot route metrics"), "{e}");
}

// ---- the split, without backends ----

fn route_by_ring(ring: &HashRing) -> impl FnMut(u32) -> usize + '_ {
    move |pos| ring.owner(pos).unwrap()
}

#[test]
fn one_backend_gets_the_batch_untouched() {
    let ring = HashRing::new(&["only:4317"]);
    let data = batch(0, 5, 4, 0);
    let Telemetry { payload, .. } = data.clone();
    let payload = payload.into_payload();
    let parts = split(
        payload,
        RoutingKey::TraceId,
        1,
        &mut route_by_ring(&ring),
        &mut || 0,
    );
    assert_eq!(parts, vec![(0, data.payload.into_payload())]);
}

#[test]
fn service_routing_moves_whole_resources() {
    let ring = HashRing::new(&["a:1", "b:1", "c:1"]);
    let data = batch(0, 30, 2, 0);
    let parts = split(
        data.payload.into_payload(),
        RoutingKey::Service,
        3,
        &mut route_by_ring(&ring),
        &mut || 0,
    );
    let total: usize = parts.iter().map(|(_, p)| p.item_count()).sum();
    assert_eq!(total, 60);
    for (b, p) in parts {
        let Payload::Traces(rss) = p else {
            unreachable!()
        };
        for rs in rss {
            let svc = service_name(&rs.resource);
            assert_eq!(ring.owner_of(svc.as_bytes()), Some(b));
            assert_eq!(rs.scope_spans.len(), 2, "the resource moved whole");
        }
    }
}

#[test]
fn logs_split_by_trace_id_and_records_without_one_stay_together() {
    let ring = HashRing::new(&["a:1", "b:1", "c:1"]);
    let records: Vec<LogRecord> = (0..60u64)
        .map(|i| LogRecord {
            trace_id: if i % 3 == 0 {
                Vec::new()
            } else {
                trace_id(i % 20)
            },
            time_unix_nano: i,
            ..Default::default()
        })
        .collect();
    let payload = Payload::Logs(vec![ResourceLogs {
        resource: resource("svc"),
        scope_logs: vec![ScopeLogs {
            scope: scope("s"),
            log_records: records,
            ..Default::default()
        }],
        ..Default::default()
    }]);
    let mut randoms = 0;
    let parts = split(
        payload,
        RoutingKey::TraceId,
        3,
        &mut route_by_ring(&ring),
        &mut || {
            randoms += 1;
            12_345
        },
    );
    assert_eq!(randoms, 1, "one random position per batch");
    let no_trace_owner = ring.owner(12_345).unwrap();
    let mut seen = 0;
    for (b, p) in parts {
        let Payload::Logs(rls) = p else {
            unreachable!()
        };
        for rl in rls {
            assert_eq!(service_name(&rl.resource), "svc");
            for sl in rl.scope_logs {
                assert_eq!(sl.scope.as_ref().unwrap().name, "s");
                for r in sl.log_records {
                    seen += 1;
                    let want = if r.trace_id.is_empty() {
                        no_trace_owner
                    } else {
                        ring.owner_of(&r.trace_id).unwrap()
                    };
                    assert_eq!(b, want);
                }
            }
        }
    }
    assert_eq!(seen, 60);
}

fn gauge(name: &str, points: &[(&str, f64)]) -> Metric {
    Metric {
        name: name.into(),
        unit: "1".into(),
        data: Some(Data::Gauge(Gauge {
            data_points: points
                .iter()
                .map(|(host, v)| NumberDataPoint {
                    attributes: vec![kv("host", host)],
                    value: Some(
                        stratus_core::pdata::metrics::number_data_point::Value::AsDouble(*v),
                    ),
                    ..Default::default()
                })
                .collect(),
        })),
        ..Default::default()
    }
}

fn metrics_payload() -> Payload {
    let hosts: Vec<String> = (0..30).map(|i| format!("h{i}")).collect();
    let points: Vec<(&str, f64)> = hosts.iter().map(|h| (h.as_str(), 1.0)).collect();
    let mut sum = gauge("requests", &points);
    if let Some(Data::Gauge(g)) = sum.data.take() {
        sum.data = Some(Data::Sum(Sum {
            data_points: g.data_points,
            aggregation_temporality: 2,
            is_monotonic: true,
        }));
    }
    Payload::Metrics(vec![ResourceMetrics {
        resource: resource("svc"),
        scope_metrics: vec![ScopeMetrics {
            scope: scope("m"),
            metrics: (0..20)
                .map(|i| gauge(&format!("cpu.{i}"), &points[..3]))
                .chain([sum])
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }])
}

#[test]
fn metrics_split_by_name_and_by_stream() {
    let ring = HashRing::new(&["a:1", "b:1", "c:1"]);
    // By name: whole metrics, each to the owner of its name.
    let parts = split(
        metrics_payload(),
        RoutingKey::Metric,
        3,
        &mut route_by_ring(&ring),
        &mut || 0,
    );
    assert!(parts.len() > 1);
    let mut points = 0;
    for (b, p) in &parts {
        let Payload::Metrics(rms) = p else {
            unreachable!()
        };
        for m in rms
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
        {
            assert_eq!(ring.owner_of(m.name.as_bytes()), Some(*b));
        }
        points += p.item_count();
    }
    assert_eq!(points, 20 * 3 + 30);
    // By stream: the 30 points of one sum spread, each keeping the sum's type.
    let parts = split(
        metrics_payload(),
        RoutingKey::StreamId,
        3,
        &mut route_by_ring(&ring),
        &mut || 0,
    );
    let mut sums = 0;
    let mut total = 0;
    for (_, p) in &parts {
        total += p.item_count();
        let Payload::Metrics(rms) = p else {
            unreachable!()
        };
        for m in rms
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
        {
            if let Some(Data::Sum(s)) = &m.data {
                sums += 1;
                assert!(s.is_monotonic && s.aggregation_temporality == 2);
            }
        }
    }
    assert_eq!(total, 20 * 3 + 30);
    assert!(sums >= 2, "the sum's points went to several backends");
    // The same stream always goes to the same backend.
    let again = split(
        metrics_payload(),
        RoutingKey::StreamId,
        3,
        &mut route_by_ring(&ring),
        &mut || 0,
    );
    assert_eq!(parts, again);
    // By resource: everything of one resource together.
    let parts = split(
        metrics_payload(),
        RoutingKey::Resource,
        3,
        &mut route_by_ring(&ring),
        &mut || 0,
    );
    assert_eq!(parts.len(), 1);
    let _ = position(b"");
}
