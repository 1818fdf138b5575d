//! The processor end to end: every signal, include/exclude, request context, build-time
//! checks per signal, and two-phase admission.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use stratus_core::factory::{BuildContext, FactoryInfo, ProcessorFactory};
use stratus_core::pdata::common::KeyValue;
use stratus_core::telemetry::Registry;
use stratus_core::{
    BoxConsumer, ComponentId, ConsumeError, Consumer, Destination, Metadata, Prepared, Signal,
    Telemetry,
};
use stratus_testkit::RecordingConsumer;
use stratus_testkit::otlp::{
    PayloadExt, SeverityNumber, SpanKind, exp_histogram, exp_histogram_point, gauge, histogram,
    histogram_point, kv, log, logs, metrics, number_point, span, sum, summary, summary_point,
    traces,
};

use crate::AttributesProcessorFactory;

fn ctx(signals: &[Signal]) -> BuildContext {
    BuildContext::new(
        ComponentId::with_name("attributes", "test"),
        signals.to_vec(),
        Registry::new(),
    )
}

/// A processor for a pipeline of `signal` (a processor belongs to one pipeline).
async fn build_for(
    signal: Signal,
    config: Value,
    next: BoxConsumer,
) -> Arc<dyn stratus_core::factory::Processor> {
    AttributesProcessorFactory
        .build(ctx(&[signal]), &config, next)
        .await
        .unwrap()
}

async fn build(config: Value, next: BoxConsumer) -> Arc<dyn stratus_core::factory::Processor> {
    build_for(Signal::Traces, config, next).await
}

fn value_of(attrs: &[KeyValue], key: &str) -> Option<String> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| stratus_attraction::value::as_string(kv.value.as_ref()).into_owned())
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

#[tokio::test]
async fn conformance() {
    stratus_testkit::conformance::processor(&AttributesProcessorFactory)
        .config(json!({"actions": [{"key": "env", "value": "prod", "action": "insert"}]}))
        .default_config_rejected(&["actions"])
        .await;
}

#[tokio::test]
async fn edits_span_attributes_in_order() {
    let sink = RecordingConsumer::new();
    let p = build(
        json!({"actions": [
            {"key": "env", "value": "prod", "action": "insert"},
            {"key": "user.email", "action": "hash"},
            {"key": "password", "action": "delete"},
            {"key": "url.path", "pattern": "^/api/(?P<api.version>v\\d+)/", "action": "extract"},
            {"key": "http.status_code", "converted_type": "int", "action": "convert"},
        ]}),
        sink.boxed(),
    )
    .await;
    let batch = traces()
        .span(
            span("GET /api/v2/cart")
                .attr("env", "dev")
                .attr("user.email", "a@example.com")
                .attr("password", "hunter2")
                .attr("url.path", "/api/v2/cart")
                .attr("http.status_code", "200"),
        )
        .span(span("other"))
        .build();
    p.consume(batch).await.unwrap();
    let batches = sink.batches();
    let spans = batches[0].spans();
    let a = &spans[0].attributes;
    assert_eq!(
        value_of(a, "env").as_deref(),
        Some("dev"),
        "insert does not overwrite"
    );
    assert_eq!(value_of(a, "user.email"), Some(sha256_hex("a@example.com")));
    assert_eq!(value_of(a, "password"), None);
    assert_eq!(value_of(a, "api.version").as_deref(), Some("v2"));
    let status = a.iter().find(|kv| kv.key == "http.status_code").unwrap();
    assert_eq!(status, &kv("http.status_code", 200));
    assert_eq!(spans[1].attributes, vec![kv("env", "prod")]);
}

#[tokio::test]
async fn include_and_exclude_select_spans() {
    let sink = RecordingConsumer::new();
    let p = build(
        json!({
            "include": {"match_type": "strict", "services": ["checkout"], "span_kinds": ["SPAN_KIND_SERVER"]},
            "exclude": {"match_type": "regexp", "span_names": ["^health"]},
            "actions": [{"key": "touched", "value": true, "action": "upsert"}],
        }),
        sink.boxed(),
    )
    .await;
    let batch = traces()
        .resource([("service.name", "checkout")])
        .span(span("GET /cart").kind(SpanKind::Server))
        .span(span("healthz").kind(SpanKind::Server))
        .span(span("SELECT").kind(SpanKind::Client))
        .resource([("service.name", "payments")])
        .span(span("POST /pay").kind(SpanKind::Server))
        .build();
    p.consume(batch).await.unwrap();
    let touched: Vec<(String, bool)> = sink.batches()[0]
        .spans()
        .iter()
        .map(|s| (s.name.clone(), !s.attributes.is_empty()))
        .collect();
    assert_eq!(
        touched,
        [
            ("GET /cart".to_string(), true),
            ("healthz".to_string(), false),
            ("SELECT".to_string(), false),
            ("POST /pay".to_string(), false),
        ]
    );
}

#[tokio::test]
async fn edits_every_data_point_of_matching_metrics() {
    let sink = RecordingConsumer::new();
    let p = build_for(
        Signal::Metrics,
        json!({
            "include": {"match_type": "regexp", "metric_names": ["^http\\."]},
            "actions": [
                {"key": "host", "action": "delete"},
                {"key": "region", "value": "eu", "action": "insert"},
            ],
        }),
        sink.boxed(),
    )
    .await;
    let point = || number_point(1).attr("host", "h1");
    let batch = metrics()
        .metric(gauge("http.a").point(point()).point(point()))
        .metric(sum("http.b").point(point()))
        .metric(
            histogram("http.c")
                .bounds([1.0])
                .point(histogram_point([1, 0]).attr("host", "h")),
        )
        .metric(exp_histogram("http.d").point(exp_histogram_point(0).attr("host", "h")))
        .metric(summary("http.e").point(summary_point(1, 2.0).attr("host", "h")))
        .metric(gauge("db.calls").point(point()))
        .build();
    p.consume(batch).await.unwrap();
    let out = sink.batches()[0].clone();
    let mut seen = Vec::new();
    for m in out.metrics() {
        use stratus_core::pdata::metrics::metric::Data;
        let attrs: Vec<Vec<KeyValue>> = match m.data.as_ref().unwrap() {
            Data::Gauge(g) => g.data_points.iter().map(|p| p.attributes.clone()).collect(),
            Data::Sum(s) => s.data_points.iter().map(|p| p.attributes.clone()).collect(),
            Data::Histogram(h) => h.data_points.iter().map(|p| p.attributes.clone()).collect(),
            Data::ExponentialHistogram(h) => {
                h.data_points.iter().map(|p| p.attributes.clone()).collect()
            }
            Data::Summary(s) => s.data_points.iter().map(|p| p.attributes.clone()).collect(),
        };
        for a in attrs {
            seen.push((m.name.clone(), a));
        }
    }
    let edited = vec![kv("region", "eu")];
    assert_eq!(seen.len(), 7);
    for (name, attrs) in &seen[..6] {
        assert_eq!(attrs, &edited, "{name}");
    }
    assert_eq!(seen[6], ("db.calls".to_string(), vec![kv("host", "h1")]));
}

#[tokio::test]
async fn selects_log_records_by_severity_and_reads_request_headers() {
    let sink = RecordingConsumer::new();
    let p = build_for(
        Signal::Logs,
        json!({
            "include": {"match_type": "strict", "log_severity_number": {"min": "WARN"}},
            "actions": [
                {"key": "tenant", "from_context": "metadata.x-tenant", "action": "insert"},
                {"key": "client", "from_context": "client.address", "action": "insert"},
            ],
        }),
        sink.boxed(),
    )
    .await;
    let md = Metadata::new(
        Some("10.1.2.3:5555".parse().unwrap()),
        [
            ("X-Tenant".to_string(), "acme".to_string()),
            ("x-tenant".to_string(), "beta".to_string()),
        ],
    );
    let batch = logs()
        .record(log("disk full").severity(SeverityNumber::Error))
        .record(log("hello").severity(SeverityNumber::Info))
        .build_with(md);
    p.consume(batch).await.unwrap();
    let batches = sink.batches();
    let records = batches[0].log_records();
    assert_eq!(
        records[0].attributes,
        vec![kv("tenant", "acme;beta"), kv("client", "10.1.2.3")]
    );
    assert!(records[1].attributes.is_empty(), "below WARN: untouched");
}

#[tokio::test]
async fn the_rules_of_each_pipeline_signal_are_checked_at_build() {
    let config = json!({
        "include": {"match_type": "strict", "services": ["a"]},
        "actions": [{"key": "k", "action": "delete"}],
    });
    // Fine for traces, and for metrics (which ignore `services`).
    AttributesProcessorFactory
        .build(
            ctx(&[Signal::Traces, Signal::Metrics]),
            &config,
            RecordingConsumer::new().boxed(),
        )
        .await
        .unwrap();
    // Logs have no services.
    let err = AttributesProcessorFactory
        .build(
            ctx(&[Signal::Logs]),
            &config,
            RecordingConsumer::new().boxed(),
        )
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string().contains(
            "include::services: services, span_names, and span_kinds are not valid for log records"
        ),
        "{err}"
    );
    // The generic checks come from check_config, with paths.
    let problems = AttributesProcessorFactory
        .check_config(&json!({"actions": [{"key": "k", "action": "insert"}]}))
        .unwrap_err();
    assert_eq!(problems[0].path, "actions[0]::value");
}

/// A downstream queue that refuses hands the batch back: it must come back as it was
/// sent, not hashed, so the retry hashes once.
#[tokio::test]
async fn refused_data_comes_back_unedited() {
    let queue = RecordingConsumer::reserving();
    queue.refuse_next(1, ConsumeError::retryable("full"));
    let p = build(
        json!({"actions": [
            {"key": "user.email", "action": "hash"},
            {"key": "added", "value": 1, "action": "insert"},
        ]}),
        queue.boxed(),
    )
    .await;
    assert!(p.can_prepare(), "two-phase admission passes through");
    let batch = traces()
        .span(span("a").attr("user.email", "a@example.com"))
        .span(span("b"))
        .build();
    let back = match p.prepare(batch.clone()).await {
        Prepared::Refused(_, back) => back,
        other => panic!("{other:?}"),
    };
    assert_eq!(back, batch, "refused data is handed back as it came");
    // The retry goes through, edited once.
    match p.prepare(back).await {
        Prepared::Ready(admission) => admission.commit().await.unwrap(),
        other => panic!("{other:?}"),
    }
    let batches = queue.batches();
    let spans = batches[0].spans();
    assert_eq!(
        value_of(&spans[0].attributes, "user.email"),
        Some(sha256_hex("a@example.com"))
    );
    assert_eq!(
        value_of(&spans[1].attributes, "added").as_deref(),
        Some("1")
    );

    // A consumer that cannot reserve answers `Unsupported`: the data comes back as it
    // came too, for the caller's `consume`.
    let direct = RecordingConsumer::new();
    let p = build(
        json!({"actions": [{"key": "user.email", "action": "hash"}]}),
        direct.boxed(),
    )
    .await;
    assert!(!p.can_prepare());
    match p.prepare(batch.clone()).await {
        Prepared::Unsupported(back) => assert_eq!(back, batch),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn refused_metrics_and_logs_come_back_unedited() {
    let queue = RecordingConsumer::reserving();
    queue.refuse_all(ConsumeError::retryable("full"));
    let p = build(
        json!({"actions": [{"key": "k", "action": "hash"}]}),
        queue.boxed(),
    )
    .await;
    let batches: [Telemetry; 2] = [
        metrics()
            .metric(
                gauge("g")
                    .point(number_point(1).attr("k", "v"))
                    .point(number_point(2)),
            )
            .metric(sum("s").point(number_point(3).attr("k", 7)))
            .build(),
        logs()
            .record(log("x").attr("k", "v"))
            .record(log("y"))
            .build(),
    ];
    for batch in batches {
        match p.prepare(batch.clone()).await {
            Prepared::Refused(_, back) => assert_eq!(back, batch),
            other => panic!("{other:?}"),
        }
    }
}

struct WithDestination(Arc<Destination>);

#[async_trait]
impl Consumer for WithDestination {
    async fn consume(&self, _data: Telemetry) -> Result<(), ConsumeError> {
        Ok(())
    }
    fn destinations(&self) -> Vec<Arc<Destination>> {
        vec![self.0.clone()]
    }
}

#[tokio::test]
async fn destinations_pass_through() {
    let d = Destination::new("otlp/aws");
    let p = build(
        json!({"actions": [{"key": "k", "action": "delete"}]}),
        Arc::new(WithDestination(d.clone())),
    )
    .await;
    let got = p.destinations();
    assert_eq!(got.len(), 1);
    assert!(Arc::ptr_eq(&got[0], &d));
}
