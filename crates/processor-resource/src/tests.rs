//! The processor end to end: every signal, absent resources, request context and
//! two-phase admission.

use std::sync::Arc;

use serde_json::{Value, json};
use stratus_core::factory::{BuildContext, Processor, ProcessorFactory};
use stratus_core::pdata::common::KeyValue;
use stratus_core::pdata::resource::Resource;
use stratus_core::telemetry::Registry;
use stratus_core::{
    BoxConsumer, ComponentId, ConsumeError, Metadata, Payload, Prepared, Signal, Telemetry,
};
use stratus_testkit::RecordingConsumer;
use stratus_testkit::otlp::{gauge, kv, log, logs, metrics, number_point, span, traces};

use crate::ResourceProcessorFactory;

async fn build(config: Value, next: BoxConsumer) -> Arc<dyn Processor> {
    ResourceProcessorFactory
        .build(
            BuildContext::new(
                ComponentId::new("resource"),
                vec![Signal::Traces, Signal::Metrics, Signal::Logs],
                Registry::new(),
            ),
            &config,
            next,
        )
        .await
        .unwrap()
}

fn resources(t: &Telemetry) -> Vec<Option<Resource>> {
    match &*t.payload {
        Payload::Traces(r) => r.iter().map(|x| x.resource.clone()).collect(),
        Payload::Metrics(r) => r.iter().map(|x| x.resource.clone()).collect(),
        Payload::Logs(r) => r.iter().map(|x| x.resource.clone()).collect(),
    }
}

fn attrs(r: &Option<Resource>) -> Vec<KeyValue> {
    let mut a = r.as_ref().map(|r| r.attributes.clone()).unwrap_or_default();
    a.sort_by(|x, y| x.key.cmp(&y.key));
    a
}

#[tokio::test]
async fn conformance() {
    stratus_testkit::conformance::processor(&ResourceProcessorFactory)
        .config(json!({"attributes": [{"key": "cloud.region", "value": "eu-west-1", "action": "upsert"}]}))
        .default_config_rejected(&["attributes"])
        .await;
}

/// Upstream README's example, on each signal.
#[tokio::test]
async fn edits_the_resource_of_every_signal() {
    let sink = RecordingConsumer::new();
    let p = build(
        json!({"attributes": [
            {"key": "cloud.availability_zone", "value": "zone-1", "action": "upsert"},
            {"key": "k8s.cluster.name", "from_attribute": "k8s-cluster", "action": "insert"},
            {"key": "redundant-attribute", "action": "delete"},
        ]}),
        sink.boxed(),
    )
    .await;
    let r = [
        ("k8s-cluster", "prod-eu"),
        ("redundant-attribute", "x"),
        ("cloud.availability_zone", "zone-9"),
    ];
    let batches: [Telemetry; 3] = [
        traces()
            .resource(r)
            .span(span("a"))
            .resource([("service.name", "b")])
            .span(span("b"))
            .build(),
        metrics()
            .resource(r)
            .metric(gauge("m").point(number_point(1)))
            .build(),
        logs().resource(r).record(log("x")).build(),
    ];
    for batch in batches {
        let signal = batch.signal();
        p.consume(batch).await.unwrap();
        let out = sink.take().pop().unwrap();
        let got = resources(&out);
        assert_eq!(
            attrs(&got[0]),
            vec![
                kv("cloud.availability_zone", "zone-1"),
                kv("k8s-cluster", "prod-eu"),
                kv("k8s.cluster.name", "prod-eu"),
            ],
            "{signal}"
        );
        if signal == Signal::Traces {
            assert_eq!(
                attrs(&got[1]),
                vec![
                    kv("cloud.availability_zone", "zone-1"),
                    kv("service.name", "b")
                ]
            );
        }
    }
}

#[tokio::test]
async fn an_absent_resource_is_created_only_when_written() {
    let sink = RecordingConsumer::new();
    let upsert = build(
        json!({"attributes": [{"key": "tenant", "from_context": "metadata.x-tenant", "action": "upsert"}]}),
        sink.boxed(),
    )
    .await;
    let md = Metadata::new(None, [("x-tenant".to_string(), "acme".to_string())]);
    upsert
        .consume(traces().span(span("a")).build_with(md))
        .await
        .unwrap();
    upsert
        .consume(traces().span(span("b")).build())
        .await
        .unwrap();
    let out = sink.take();
    assert_eq!(attrs(&resources(&out[0])[0]), vec![kv("tenant", "acme")]);
    assert_eq!(
        resources(&out[1]),
        vec![None],
        "no header: nothing written, no resource"
    );
}

#[tokio::test]
async fn refused_data_comes_back_with_its_resources_as_they_came() {
    let queue = RecordingConsumer::reserving();
    queue.refuse_next(1, ConsumeError::retryable("full"));
    let p = build(
        json!({"attributes": [
            {"key": "host.name", "action": "hash"},
            {"key": "env", "value": "prod", "action": "upsert"},
        ]}),
        queue.boxed(),
    )
    .await;
    assert!(p.can_prepare());
    let batch = traces()
        .resource([("host.name", "ip-10-0-0-1")])
        .span(span("a"))
        .build();
    let mut batch = batch;
    // A second resource group with no resource at all.
    if let Payload::Traces(r) = &mut *batch.payload {
        let mut bare = r[0].clone();
        bare.resource = None;
        r.push(bare);
    }
    let back = match p.prepare(batch.clone()).await {
        Prepared::Refused(_, back) => back,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        back, batch,
        "hashed host.name, added env and created resource undone"
    );
    match p.prepare(back).await {
        Prepared::Ready(a) => a.commit().await.unwrap(),
        other => panic!("{other:?}"),
    }
    let got = resources(&queue.batches()[0]);
    assert_eq!(attrs(&got[1]), vec![kv("env", "prod")]);
    let host = &attrs(&got[0])[1];
    assert_eq!(host.key, "host.name");
    use sha2::Digest;
    let once = hex::encode(sha2::Sha256::digest(b"ip-10-0-0-1"));
    assert_eq!(host, &kv("host.name", once), "hashed once");
}
