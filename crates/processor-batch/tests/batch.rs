//! The batch processor driven through its factory, against a recording consumer.

// Test helpers outside #[test] functions may unwrap too: a failure is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use stratus_core::factory::{BuildContext, FactoryInfo, Processor, ProcessorFactory, Stability};
use stratus_core::pdata::metrics::{metric::Data, number_data_point};
use stratus_core::pdata::trace::ResourceSpans;
use stratus_core::telemetry::Registry;
use stratus_core::{ConsumeError, Contents, Metadata, Payload, Signal, Telemetry};
use stratus_processor_batch::BatchProcessorFactory;
use stratus_processor_batch::processor::{BUFFER_FULL, SHUTTING_DOWN, TOO_MANY_BATCHERS};
use stratus_testkit::RecordingConsumer;
use stratus_testkit::otlp::{self, PayloadExt, gauge, log, span, sum, traces};

/// How long any wait in these tests may take.
const T: Duration = Duration::from_secs(10);

/// What a full exporter queue answers.
fn full() -> ConsumeError {
    ConsumeError::throttled("exporter queue is full", Duration::from_millis(5))
}

async fn build(config: Value, sink: &Arc<RecordingConsumer>) -> (Arc<dyn Processor>, Registry) {
    let registry = Registry::new();
    let ctx = BuildContext::new(
        "batch".parse().unwrap(),
        vec![Signal::Traces, Signal::Metrics, Signal::Logs],
        registry.clone(),
    );
    let processor = BatchProcessorFactory
        .build(ctx, &config, sink.boxed())
        .await
        .unwrap();
    (processor, registry)
}

/// Spans with span ids `ids` named `{prefix}{id}`, spread over two scopes of one
/// resource.
fn spans(prefix: &str, ids: std::ops::Range<u64>) -> Payload {
    let mut first: Vec<_> = ids
        .map(|i| span(format!("{prefix}{i}")).span_id(i))
        .collect();
    let second = first.split_off(first.len() / 2);
    traces()
        .scope("a")
        .spans(first)
        .scope("b")
        .spans(second)
        .payload()
}

fn all_span_ids(sink: &RecordingConsumer) -> Vec<u64> {
    sink.batches().iter().flat_map(|b| b.span_ids()).collect()
}

fn logs(ids: std::ops::Range<u64>) -> Payload {
    otlp::logs()
        .records(ids.map(|i| log(format!("line {i}")).time(i)))
        .payload()
}

fn render_line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines().find(|l| l.starts_with(prefix))
}

fn metric_value(text: &str, series: &str) -> f64 {
    let line = render_line(text, &format!("{series} ")).unwrap_or_else(|| {
        panic!("series {series} not rendered in:\n{text}");
    });
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn factory_describes_the_batch_processor() {
    let f = BatchProcessorFactory;
    assert_eq!(f.type_name(), "batch");
    assert_eq!(
        f.signals(),
        &[
            (Signal::Traces, Stability::Stable),
            (Signal::Metrics, Stability::Stable),
            (Signal::Logs, Stability::Stable),
        ]
    );
    assert!(f.check_config(&Value::Null).is_ok());
    let problems = f
        .check_config(&json!({"send_batch_size": 10, "send_batch_max_size": 5}))
        .unwrap_err();
    assert_eq!(problems[0].path, "send_batch_max_size");
}

#[tokio::test]
async fn conformance() {
    stratus_testkit::conformance::processor(&BatchProcessorFactory).await;
}

#[tokio::test]
async fn build_rejects_an_invalid_config() {
    let ctx = BuildContext::new(
        "batch/x".parse().unwrap(),
        vec![Signal::Traces],
        Registry::new(),
    );
    let err = BatchProcessorFactory
        .build(
            ctx,
            &json!({"send_batch_sise": 1}),
            RecordingConsumer::new(),
        )
        .await
        .err()
        .expect("build must fail");
    let text = err.to_string();
    assert!(text.contains("invalid config"), "{text}");
    assert!(text.contains("send_batch_sise"), "{text}");
}

#[tokio::test]
async fn size_trigger_sends_everything_pending_in_one_batch() {
    let sink = RecordingConsumer::new();
    let (p, registry) = build(json!({"send_batch_size": 10, "timeout": "1h"}), &sink).await;
    // 4 + 4 = 8 items stay below the trigger; the third request brings 12 >= 10,
    // and with no max size all 12 leave together.
    for start in [0, 4, 8] {
        p.consume(Telemetry::new(spans("s", start..start + 4)))
            .await
            .unwrap();
    }
    sink.wait_for_batches(1, T).await;
    let batch = &sink.batches()[0];
    assert_eq!(batch.item_count(), 12);
    assert_eq!(batch.span_ids(), (0..12).collect::<Vec<_>>());
    assert_eq!(batch.metadata, Metadata::default());
    let text = registry.render();
    assert_eq!(
        metric_value(
            &text,
            "otelcol_processor_batch_batch_size_trigger_send{processor=\"batch\"}"
        ),
        1.0
    );
    assert_eq!(
        metric_value(
            &text,
            "otelcol_processor_batch_timeout_trigger_send{processor=\"batch\"}"
        ),
        0.0
    );
    p.shutdown().await.unwrap();
    assert_eq!(sink.batches().len(), 1, "nothing was left to flush");
}

/// Requests a receiver handed on undecoded (as the OTLP receiver does with
/// protobuf) are batched undecoded: one batch whose request is theirs, in order.
/// Splitting one at `send_batch_max_size` decodes it and keeps the order.
#[tokio::test]
async fn encoded_requests_are_batched_without_decoding() {
    let encoded = |start: u64| {
        let payload = spans("s", start..start + 4);
        let bytes = payload.encode_request();
        (
            Telemetry::new(Contents::encoded(Signal::Traces, bytes.clone().into(), 4)),
            bytes,
        )
    };
    let sink = RecordingConsumer::new();
    let (p, _) = build(json!({"send_batch_size": 10, "timeout": "1h"}), &sink).await;
    let mut sent = Vec::new();
    for start in [0, 4, 8] {
        let (data, bytes) = encoded(start);
        sent.extend_from_slice(&bytes);
        p.consume(data).await.unwrap();
    }
    sink.wait_for_batches(1, T).await;
    let batch = &sink.batches()[0];
    assert!(batch.payload.is_encoded(), "{:?}", batch.payload);
    assert_eq!(batch.item_count(), 12);
    assert_eq!(batch.payload.encode_request().as_ref(), sent.as_slice());
    assert_eq!(batch.span_ids(), (0..12).collect::<Vec<_>>());
    p.shutdown().await.unwrap();

    let sink = RecordingConsumer::new();
    let config = json!({"send_batch_size": 5, "send_batch_max_size": 5, "timeout": "1h"});
    let (p, _) = build(config, &sink).await;
    for start in [0, 4, 8] {
        p.consume(encoded(start).0).await.unwrap();
    }
    sink.wait_for_batches(2, T).await;
    p.shutdown().await.unwrap();
    let sizes: Vec<usize> = sink.batches().iter().map(|b| b.item_count()).collect();
    assert_eq!(sizes, [5, 5, 2]);
    assert_eq!(all_span_ids(&sink), (0..12).collect::<Vec<_>>());
}

#[tokio::test]
async fn timeout_trigger_sends_a_small_batch() {
    let sink = RecordingConsumer::new();
    let (p, registry) = build(json!({"send_batch_size": 1000, "timeout": "20ms"}), &sink).await;
    p.consume(Telemetry::new(logs(0..3))).await.unwrap();
    sink.wait_for_batches(1, T).await;
    let batch = &sink.batches()[0];
    assert_eq!(batch.signal(), Signal::Logs);
    assert_eq!(batch.item_count(), 3);
    let text = registry.render();
    assert_eq!(
        metric_value(
            &text,
            "otelcol_processor_batch_timeout_trigger_send{processor=\"batch\"}"
        ),
        1.0
    );
    assert_eq!(
        metric_value(
            &text,
            "otelcol_processor_batch_batch_size_trigger_send{processor=\"batch\"}"
        ),
        0.0
    );
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn oversized_batches_are_split_at_max_size_keeping_order() {
    let sink = RecordingConsumer::new();
    let (p, registry) = build(
        json!({"send_batch_size": 10, "send_batch_max_size": 10, "timeout": "1h"}),
        &sink,
    )
    .await;
    p.consume(Telemetry::new(spans("s", 0..25))).await.unwrap();
    sink.wait_for_batches(2, T).await;
    // The last 5 items wait for the timeout (an hour); shutdown flushes them.
    p.shutdown().await.unwrap();
    let batches = sink.batches();
    let sizes: Vec<usize> = batches.iter().map(Telemetry::item_count).collect();
    assert_eq!(sizes, [10, 10, 5]);
    assert!(sizes.iter().all(|&n| n <= 10));
    assert_eq!(all_span_ids(&sink), (0..25).collect::<Vec<_>>());
    let text = registry.render();
    assert_eq!(
        metric_value(
            &text,
            "otelcol_processor_batch_batch_size_trigger_send{processor=\"batch\"}"
        ),
        2.0
    );
    assert_eq!(
        metric_value(
            &text,
            "otelcol_processor_batch_timeout_trigger_send{processor=\"batch\"}"
        ),
        1.0
    );
}

#[tokio::test]
async fn metric_points_are_counted_and_split_per_point() {
    let sink = RecordingConsumer::new();
    let (p, _) = build(
        json!({"send_batch_size": 3, "send_batch_max_size": 3, "timeout": "1h"}),
        &sink,
    )
    .await;
    let metrics = otlp::metrics()
        .metric(sum("requests").unit("1").points(0..7))
        .metric(gauge("queue").points(7..9))
        .build();
    p.consume(metrics).await.unwrap();
    sink.wait_for_batches(3, T).await;
    let mut values = Vec::new();
    for batch in sink.batches() {
        assert_eq!(batch.item_count(), 3);
        for m in batch.metrics() {
            match &m.data {
                Some(Data::Sum(s)) => {
                    assert_eq!(m.name, "requests");
                    assert_eq!(m.unit, "1");
                    assert!(s.is_monotonic);
                    assert_eq!(s.aggregation_temporality, 2);
                    values.extend(s.data_points.iter().map(|p| p.value));
                }
                Some(Data::Gauge(g)) => {
                    assert_eq!(m.name, "queue");
                    values.extend(g.data_points.iter().map(|p| p.value));
                }
                other => panic!("unexpected metric data {other:?}"),
            }
        }
    }
    let expected: Vec<_> = (0..9)
        .map(|v| Some(number_data_point::Value::AsInt(v)))
        .collect();
    assert_eq!(values, expected);
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn zero_timeout_sends_at_once_split_to_max_size() {
    let sink = RecordingConsumer::new();
    let (p, _) = build(
        json!({"send_batch_size": 2, "send_batch_max_size": 3, "timeout": "0s"}),
        &sink,
    )
    .await;
    p.consume(Telemetry::new(spans("s", 0..7))).await.unwrap();
    sink.wait_for_items(7, T).await;
    let sizes: Vec<usize> = sink.batches().iter().map(Telemetry::item_count).collect();
    assert_eq!(sizes, [3, 3, 1]);
    // A single span goes out on its own too: no waiting for company.
    p.consume(Telemetry::new(spans("s", 7..8))).await.unwrap();
    sink.wait_for_items(8, T).await;
    assert_eq!(all_span_ids(&sink), (0..8).collect::<Vec<_>>());
    p.shutdown().await.unwrap();
}

fn tenant(name: &str) -> Metadata {
    let addr: SocketAddr = "10.0.0.1:4000".parse().unwrap();
    Metadata::new(
        Some(addr),
        [
            ("X-Tenant".to_string(), name.to_string()),
            ("authorization".to_string(), "Bearer secret".to_string()),
        ],
    )
}

#[tokio::test]
async fn metadata_keys_keep_tenants_apart() {
    let sink = RecordingConsumer::new();
    let (p, registry) = build(
        json!({"send_batch_size": 4, "timeout": "1h", "metadata_keys": ["X-Tenant"]}),
        &sink,
    )
    .await;
    let mut next = 0;
    for _ in 0..2 {
        for name in ["a", "b"] {
            let payload = spans(name, next..next + 2);
            next += 2;
            p.consume(Telemetry::with_metadata(payload, tenant(name)))
                .await
                .unwrap();
        }
    }
    // Data with no tenant header is a combination of its own.
    p.consume(Telemetry::new(spans("none", 100..101)))
        .await
        .unwrap();
    sink.wait_for_batches(2, T).await;
    p.shutdown().await.unwrap();
    let batches = sink.batches();
    assert_eq!(batches.len(), 3);
    let mut seen = Vec::new();
    for batch in &batches {
        let names = batch.span_names();
        let values = batch.metadata.get("x-tenant").to_vec();
        match values.as_slice() {
            [t] => {
                assert_eq!(batch.item_count(), 4);
                assert!(
                    names.iter().all(|n| n.starts_with(t.as_str())),
                    "tenant {t} batch holds {names:?}"
                );
                seen.push(t.clone());
            }
            [] => assert_eq!(names, ["none100"]),
            other => panic!("unexpected tenant values {other:?}"),
        }
        // Only the configured keys travel with the batch.
        assert!(batch.metadata.get("authorization").is_empty());
        assert_eq!(batch.metadata.client_addr(), None);
    }
    seen.sort();
    assert_eq!(seen, ["a", "b"]);
    let text = registry.render();
    assert_eq!(
        metric_value(
            &text,
            "otelcol_processor_batch_metadata_cardinality{processor=\"batch\"}"
        ),
        3.0
    );
}

#[tokio::test]
async fn new_combinations_beyond_the_cardinality_limit_are_refused_permanently() {
    let sink = RecordingConsumer::new();
    let (p, registry) = build(
        json!({"timeout": "1h", "metadata_keys": ["x-tenant"], "metadata_cardinality_limit": 2}),
        &sink,
    )
    .await;
    for name in ["a", "b"] {
        p.consume(Telemetry::with_metadata(spans(name, 0..1), tenant(name)))
            .await
            .unwrap();
    }
    let err = p
        .consume(Telemetry::with_metadata(spans("c", 0..1), tenant("c")))
        .await
        .unwrap_err();
    assert!(err.is_permanent());
    assert_eq!(err.message(), TOO_MANY_BATCHERS);
    // Known combinations keep flowing.
    p.consume(Telemetry::with_metadata(spans("a", 1..2), tenant("a")))
        .await
        .unwrap();
    let text = registry.render();
    assert_eq!(
        metric_value(
            &text,
            "otelcol_processor_batch_metadata_cardinality{processor=\"batch\"}"
        ),
        2.0
    );
    p.shutdown().await.unwrap();
    assert_eq!(sink.item_count(), 3);
    assert!(
        sink.batches()
            .iter()
            .all(|b| b.metadata.get("x-tenant") != ["c"])
    );
}

#[tokio::test]
async fn refused_batches_are_retried_and_the_buffer_pushes_back() {
    let sink = RecordingConsumer::new();
    sink.refuse_all(full());
    // Buffer limit: max(2 * 4, 0) = 8 items.
    let (p, _) = build(json!({"send_batch_size": 4, "timeout": "1h"}), &sink).await;
    p.consume(Telemetry::new(spans("s", 0..4))).await.unwrap();
    sink.wait_for_calls(2, T).await;
    assert_eq!(sink.item_count(), 0);
    // 4 held: accepted (8 held), then 8 held is not over the limit: accepted (12).
    p.consume(Telemetry::new(spans("s", 4..8))).await.unwrap();
    p.consume(Telemetry::new(spans("s", 8..12))).await.unwrap();
    // 12 held > 8: refused, retryable, so the client keeps its data and retries.
    let err = p
        .consume(Telemetry::new(spans("s", 12..16)))
        .await
        .unwrap_err();
    assert!(!err.is_permanent());
    assert_eq!(err.message(), BUFFER_FULL);
    assert_eq!(err.throttle(), Some(std::time::Duration::from_secs(1)));
    sink.accept_all();
    sink.wait_for_items(12, T).await;
    assert_eq!(all_span_ids(&sink), (0..12).collect::<Vec<_>>());
    // With room again, data is accepted.
    p.consume(Telemetry::new(spans("s", 12..16))).await.unwrap();
    sink.wait_for_items(16, T).await;
    assert_eq!(all_span_ids(&sink), (0..16).collect::<Vec<_>>());
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn refusals_without_throttle_back_off_and_deliver_once() {
    let sink = RecordingConsumer::new();
    sink.refuse_next(2, ConsumeError::retryable("not now"));
    let (p, _) = build(json!({"send_batch_size": 2, "timeout": "1h"}), &sink).await;
    p.consume(Telemetry::new(logs(0..2))).await.unwrap();
    sink.wait_for_items(2, T).await;
    assert_eq!(sink.refused().len(), 2);
    assert_eq!(sink.calls(), 3);
    assert_eq!(sink.batches().len(), 1);
    p.shutdown().await.unwrap();
    assert_eq!(sink.batches().len(), 1);
}

#[tokio::test]
async fn permanently_rejected_batches_are_dropped_not_retried() {
    let sink = RecordingConsumer::new();
    sink.refuse_all(ConsumeError::permanent("malformed"));
    let (p, _) = build(json!({"send_batch_size": 2, "timeout": "1h"}), &sink).await;
    p.consume(Telemetry::new(spans("s", 0..2))).await.unwrap();
    sink.wait_for_calls(1, T).await;
    sink.accept_all();
    p.consume(Telemetry::new(spans("s", 2..4))).await.unwrap();
    sink.wait_for_batches(1, T).await;
    assert_eq!(all_span_ids(&sink), [2, 3]);
    assert_eq!(
        sink.calls(),
        2,
        "the rejected batch was never offered again"
    );
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_flushes_pending_data_at_once_and_refuses_more() {
    let sink = RecordingConsumer::new();
    let (p, registry) = build(json!({"send_batch_size": 100, "timeout": "1h"}), &sink).await;
    p.consume(Telemetry::new(spans("s", 0..5))).await.unwrap();
    p.shutdown().await.unwrap();
    // No polling: shutdown returns once the data is delivered.
    assert_eq!(all_span_ids(&sink), (0..5).collect::<Vec<_>>());
    let err = p
        .consume(Telemetry::new(spans("s", 5..6)))
        .await
        .unwrap_err();
    assert!(!err.is_permanent());
    assert!(err.message().contains("shutting down"));
    assert_eq!(err.message(), SHUTTING_DOWN);
    p.shutdown().await.unwrap();
    assert_eq!(sink.batches().len(), 1);
    let text = registry.render();
    assert_eq!(
        metric_value(
            &text,
            "otelcol_processor_batch_timeout_trigger_send{processor=\"batch\"}"
        ),
        1.0
    );
}

#[tokio::test]
async fn shutdown_without_data_or_start_is_fine() {
    let sink = RecordingConsumer::new();
    let (p, _) = build(Value::Null, &sink).await;
    p.shutdown().await.unwrap();
    p.shutdown().await.unwrap();
    assert_eq!(sink.calls(), 0);
}

#[tokio::test]
async fn shutdown_keeps_retrying_until_downstream_recovers() {
    let sink = RecordingConsumer::new();
    sink.refuse_all(full());
    let (p, _) = build(json!({"send_batch_size": 100, "timeout": "1h"}), &sink).await;
    p.consume(Telemetry::new(spans("s", 0..3))).await.unwrap();
    let stopping = tokio::spawn({
        let p = p.clone();
        async move { p.shutdown().await }
    });
    sink.wait_for_calls(3, T).await;
    assert!(!stopping.is_finished(), "shutdown must wait for delivery");
    sink.accept_all();
    stopping.await.unwrap().unwrap();
    assert_eq!(all_span_ids(&sink), [0, 1, 2]);
}

#[tokio::test]
async fn cancelled_shutdown_stops_the_tasks_and_can_be_called_again() {
    let sink = RecordingConsumer::new();
    sink.refuse_all(full());
    let (p, _) = build(json!({"send_batch_size": 100, "timeout": "1h"}), &sink).await;
    p.consume(Telemetry::new(spans("s", 0..3))).await.unwrap();
    let cancelled = tokio::time::timeout(Duration::from_millis(50), p.shutdown()).await;
    assert!(
        cancelled.is_err(),
        "shutdown cannot finish while downstream refuses"
    );
    // The retrying task was stopped with the cancelled shutdown: a second shutdown
    // has nothing left to wait for, and intake stays closed.
    tokio::time::timeout(Duration::from_secs(10), p.shutdown())
        .await
        .expect("second shutdown returns")
        .unwrap();
    assert!(
        p.consume(Telemetry::new(spans("s", 3..4)))
            .await
            .unwrap_err()
            .message()
            .contains("shutting down")
    );
    let before = sink.calls();
    // Give an aborted task the chance to misbehave, then check it did not: the sink
    // sees no further offers once both shutdowns have returned.
    tokio::task::yield_now().await;
    assert_eq!(sink.calls(), before);
    assert_eq!(sink.item_count(), 0);
}

#[tokio::test]
async fn empty_requests_are_accepted_without_a_batcher() {
    let sink = RecordingConsumer::new();
    let (p, registry) = build(json!({"timeout": "0s"}), &sink).await;
    p.consume(Telemetry::new(Payload::Traces(vec![
        ResourceSpans::default(),
    ])))
    .await
    .unwrap();
    p.consume(Telemetry::empty(Signal::Metrics)).await.unwrap();
    p.shutdown().await.unwrap();
    assert_eq!(sink.calls(), 0);
    let text = registry.render();
    assert_eq!(
        metric_value(
            &text,
            "otelcol_processor_batch_metadata_cardinality{processor=\"batch\"}"
        ),
        0.0
    );
}

#[tokio::test]
async fn send_size_histogram_is_rendered_with_collector_buckets() {
    let sink = RecordingConsumer::new();
    let (p, registry) = build(json!({"send_batch_size": 30, "timeout": "1h"}), &sink).await;
    p.consume(Telemetry::new(spans("s", 0..30))).await.unwrap();
    p.consume(Telemetry::new(logs(0..5))).await.unwrap();
    sink.wait_for_batches(1, T).await;
    p.shutdown().await.unwrap();
    let text = registry.render();
    let bucket = |le: &str| {
        metric_value(
            &text,
            &format!(
                "otelcol_processor_batch_batch_send_size_bucket{{processor=\"batch\",le=\"{le}\"}}"
            ),
        )
    };
    // One batch of 5 (logs, shutdown flush) and one of 30 (spans, size trigger).
    assert_eq!(bucket("10"), 1.0);
    assert_eq!(bucket("25"), 1.0);
    assert_eq!(bucket("50"), 2.0);
    assert_eq!(bucket("100000"), 2.0);
    assert_eq!(bucket("+Inf"), 2.0);
    assert_eq!(
        metric_value(
            &text,
            "otelcol_processor_batch_batch_send_size_sum{processor=\"batch\"}"
        ),
        35.0
    );
    assert!(text.contains("# TYPE otelcol_processor_batch_batch_send_size histogram"));
}

/// A downstream that reserves (an exporter's sending queue) hands a refused batch
/// back: the processor retries it from what came back, and delivers it once, whole.
#[tokio::test]
async fn a_reserving_downstream_hands_refused_batches_back_and_they_arrive_once() {
    let sink = RecordingConsumer::reserving();
    sink.refuse_next(3, full());
    let (p, _) = build(json!({"send_batch_size": 4, "timeout": "1h"}), &sink).await;
    p.consume(Telemetry::new(spans("s", 0..4))).await.unwrap();
    sink.wait_for_items(4, T).await;
    assert_eq!(sink.refused().len(), 3);
    assert_eq!(sink.batches().len(), 1, "delivered once");
    assert_eq!(all_span_ids(&sink), (0..4).collect::<Vec<_>>());
    p.shutdown().await.unwrap();
}

/// A permanent refusal of a batch the processor already acknowledged is counted.
#[tokio::test]
async fn permanent_refusals_after_acknowledging_are_counted() {
    let sink = RecordingConsumer::reserving();
    sink.refuse_all(ConsumeError::permanent("malformed"));
    let (p, registry) = build(json!({"send_batch_size": 3, "timeout": "1h"}), &sink).await;
    p.consume(Telemetry::new(spans("s", 0..3))).await.unwrap();
    let deadline = std::time::Instant::now() + T;
    let series = "stratus_processor_batch_dropped_spans{processor=\"batch\"}";
    while metric_value(&registry.render(), series) < 3.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            registry.render()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(sink.calls(), 1, "not offered again");
    p.shutdown().await.unwrap();
}

/// `send_batch_size: 0` means "send at once", as upstream: under 8 concurrent
/// clients, nothing is refused while the destination keeps up (the buffer limit is
/// never 0).
#[tokio::test]
async fn send_batch_size_zero_sends_at_once_and_refuses_nothing_under_concurrency() {
    let sink = RecordingConsumer::reserving();
    let (p, _) = build(json!({"send_batch_size": 0}), &sink).await;
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..8u64 {
        let p = p.clone();
        clients.spawn(async move {
            for r in 0..50u64 {
                let first = (c * 50 + r) * 10;
                p.consume(Telemetry::new(spans("s", first..first + 10)))
                    .await
                    .expect("refused while the destination keeps up");
            }
        });
    }
    while let Some(done) = clients.join_next().await {
        done.unwrap();
    }
    sink.wait_for_items(4000, T).await;
    let mut ids = all_span_ids(&sink);
    ids.sort_unstable();
    assert_eq!(ids, (0..4000).collect::<Vec<_>>());
    p.shutdown().await.unwrap();
}

/// The batch processor reserves room in its buffer, so a fan-out into two pipelines
/// that start with it is all or nothing.
#[tokio::test]
async fn the_buffer_is_reserved_in_two_phases() {
    let sink = RecordingConsumer::new();
    sink.refuse_all(full());
    let (p, _) = build(json!({"send_batch_size": 2, "timeout": "1h"}), &sink).await;
    assert!(p.can_prepare());
    // Fill past the limit (2 * 2 = 4 items) while downstream refuses.
    for i in 0..3u64 {
        p.consume(Telemetry::new(spans("s", i * 2..i * 2 + 2)))
            .await
            .unwrap();
    }
    match p.prepare(Telemetry::new(spans("s", 6..8))).await {
        stratus_core::Prepared::Refused(e, back) => {
            assert_eq!(e.message(), BUFFER_FULL);
            assert_eq!(back.item_count(), 2, "the data comes back");
        }
        other => panic!("{other:?}"),
    }
    sink.accept_all();
    sink.wait_for_items(6, T).await;
    let admission = match p.prepare(Telemetry::new(spans("s", 6..8))).await {
        stratus_core::Prepared::Ready(a) => a,
        other => panic!("{other:?}"),
    };
    admission.commit().await.unwrap();
    sink.wait_for_items(8, T).await;
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn flush_sends_small_batches_now_and_keeps_batching_afterwards() {
    let sink = RecordingConsumer::new();
    let (p, registry) = build(json!({"send_batch_size": 100, "timeout": "1h"}), &sink).await;
    p.consume(Telemetry::new(spans("s", 0..5))).await.unwrap();
    p.consume(Telemetry::new(logs(0..2))).await.unwrap();
    // No polling: flush returns once the data is delivered.
    p.flush().await.unwrap();
    assert_eq!(all_span_ids(&sink), (0..5).collect::<Vec<_>>());
    assert_eq!(sink.item_count(), 7);
    // Not a shutdown: intake stays open, and the next data waits for its batch again.
    p.consume(Telemetry::new(spans("s", 5..6))).await.unwrap();
    tokio::task::yield_now().await;
    assert_eq!(sink.item_count(), 7);
    p.flush().await.unwrap();
    assert_eq!(sink.item_count(), 8);
    // Nothing held: returns at once.
    p.flush().await.unwrap();
    assert_eq!(
        metric_value(
            &registry.render(),
            "otelcol_processor_batch_timeout_trigger_send{processor=\"batch\"}"
        ),
        3.0
    );
}

#[tokio::test]
async fn flush_waits_until_a_refused_batch_is_delivered() {
    let sink = RecordingConsumer::new();
    sink.refuse_all(full());
    let (p, _) = build(json!({"send_batch_size": 100, "timeout": "1h"}), &sink).await;
    p.consume(Telemetry::new(spans("s", 0..3))).await.unwrap();
    let flushing = tokio::spawn({
        let p = p.clone();
        async move { p.flush().await }
    });
    sink.wait_for_calls(3, T).await;
    assert!(!flushing.is_finished(), "flush must wait for delivery");
    sink.accept_all();
    tokio::time::timeout(T, flushing)
        .await
        .expect("flush returns once delivered")
        .unwrap()
        .unwrap();
    assert_eq!(all_span_ids(&sink), [0, 1, 2]);
    p.consume(Telemetry::new(spans("s", 3..4))).await.unwrap();
}
