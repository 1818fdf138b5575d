//! Cost of routing per span: `cargo bench -p stratus-connector-routing --bench routing`.
//!
//! Each benchmark hands a batch of 100 server spans (8 attributes each) in 4 resources
//! (two in `eu-west-1`, two in `us-east-1`, 8 attributes each) to a routing connector
//! through `consume` on a current-thread runtime: planning, splitting and handing on.
//! The batch is cloned, and what the pipelines got is freed, outside the measurement.
//! Criterion reports the time per batch and spans per second; ns per span is the batch
//! time divided by 100.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use stratus_connector_routing::RoutingConnectorFactory;
use stratus_core::factory::{BuildContext, ConnectorFactory, Exporter};
use stratus_core::telemetry::Registry;
use stratus_core::{BoxConsumer, ComponentId, ConsumeError, Consumer, Signal, Telemetry};
use stratus_testkit::otlp::{SpanKind, span, traces};

const SPANS: u64 = 100;

/// A pipeline that keeps what it gets until the next setup clears it, so freeing the
/// data (the exporters' cost, not the router's) stays outside the measurement.
#[derive(Default)]
struct Stash(Mutex<Vec<Telemetry>>);

impl Stash {
    fn clear(&self) {
        if let Ok(mut kept) = self.0.lock() {
            kept.clear();
        }
    }
}

#[async_trait]
impl Consumer for Stash {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        if let Ok(mut kept) = self.0.lock() {
            kept.push(data);
        }
        Ok(())
    }
}

fn batch() -> Telemetry {
    let mut b = traces();
    for (r, region) in ["eu-west-1", "us-east-1", "eu-west-1", "us-east-1"]
        .into_iter()
        .enumerate()
    {
        b = b
            .resource([
                ("service.name", "checkout"),
                ("service.version", "1.4.2"),
                ("cloud.provider", "aws"),
                ("cloud.platform", "aws_eks"),
                ("cloud.region", region),
                ("k8s.cluster.name", "prod"),
                ("k8s.pod.name", "checkout-7d9f"),
                ("telemetry.sdk.language", "java"),
            ])
            .scope("io.opentelemetry.servlet");
        for i in 0..SPANS / 4 {
            let tenant = if (i + r as u64).is_multiple_of(2) {
                "acme"
            } else {
                "globex"
            };
            b = b.span(
                span("GET /cart/{id}")
                    .kind(SpanKind::Server)
                    .attr("http.request.method", "GET")
                    .attr("url.scheme", "https")
                    .attr("server.address", "shop.example.com")
                    .attr("url.path", "/cart/42")
                    .attr("http.response.status_code", 200)
                    .attr("client.address", "203.0.113.7")
                    .attr("tenant", tenant)
                    .attr("cart.items", 3),
            );
        }
    }
    b.build()
}

fn router(rt: &tokio::runtime::Runtime, config: Value, stash: &Arc<Stash>) -> Arc<dyn Exporter> {
    let pipelines: Vec<(String, BoxConsumer)> = ["traces/eu", "traces/acme", "traces/global"]
        .iter()
        .map(|p| (p.to_string(), stash.clone() as BoxConsumer))
        .collect();
    let ctx = BuildContext::new(
        ComponentId::new("routing"),
        vec![Signal::Traces],
        Registry::new(),
    );
    rt.block_on(RoutingConnectorFactory.build(
        ctx,
        &config,
        Signal::Traces,
        Signal::Traces,
        pipelines,
    ))
    .unwrap_or_else(|e| panic!("{e}"))
}

fn bench(c: &mut Criterion) {
    let rt = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    let cases = [
        (
            "by_resource_region",
            json!({
                "default_pipelines": ["traces/global"],
                "table": [{"condition": r#"IsMatch(resource.attributes["cloud.region"], "^eu-")"#,
                           "pipelines": ["traces/eu"]}],
            }),
        ),
        (
            "by_span_attribute_split",
            json!({
                "default_pipelines": ["traces/global"],
                "table": [{"context": "span", "condition": r#"attributes["tenant"] == "acme""#,
                           "pipelines": ["traces/acme"]}],
            }),
        ),
        (
            "resource_then_span",
            json!({
                "default_pipelines": ["traces/global"],
                "table": [
                    {"condition": r#"resource.attributes["cloud.region"] == "ap-south-1""#,
                     "pipelines": ["traces/eu"]},
                    {"context": "span", "condition": r#"attributes["tenant"] == "acme""#,
                     "pipelines": ["traces/acme"]},
                ],
            }),
        ),
    ];
    let input = batch();
    let mut group = c.benchmark_group("routing_spans");
    group.throughput(Throughput::Elements(SPANS));
    for (name, config) in cases {
        let stash = Arc::new(Stash::default());
        let router = router(&rt, config, &stash);
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    stash.clear();
                    input.clone()
                },
                |data| rt.block_on(router.consume(data)),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
