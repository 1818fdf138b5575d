//! The `debug` exporter's output at each verbosity, through the logger and a writer.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;
use stratus_core::factory::{BuildContext, ExporterFactory, FactoryInfo};
use stratus_core::telemetry::Registry;
use stratus_core::{ComponentId, Host, Payload, Signal, Telemetry};
use stratus_exporter_debug::{DebugConfig, DebugExporterFactory, DebugSender, Output, Verbosity};
use stratus_exporter_helper::Sender;
use stratus_testkit::otlp::{
    self, SeverityNumber, SpanKind, histogram, histogram_point, log, number_point, span, sum,
    traces,
};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buf {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buf {
    type Writer = Buf;
    fn make_writer(&'a self) -> Buf {
        self.clone()
    }
}

const RESOURCE: [(&str, &str); 1] = [("service.name", "checkout")];

fn spans() -> Payload {
    traces()
        .resource(RESOURCE)
        .spans((1..=3u8).map(|i| {
            span(format!("GET /orders/{i}"))
                .trace_id([0xab; 16])
                .span_id([i; 8])
                .kind(SpanKind::Server)
                .start(1_714_557_600_001_000_000)
                .attr("http.status_code", 200)
                .error("boom")
                .event("cache.miss")
        }))
        .payload()
}

fn metrics() -> Payload {
    otlp::metrics()
        .resource(RESOURCE)
        .metric(sum("requests").point(number_point(42).attr("route", "/a")))
        .metric(
            histogram("latency")
                .delta()
                .point(histogram_point([1, 3, 1]).bounds([1.0, 10.0]).sum(12.5)),
        )
        .payload()
}

fn logs() -> Payload {
    otlp::logs()
        .resource(RESOURCE)
        .record(
            log("disk almost full")
                .severity(SeverityNumber::Warn)
                .attr("disk", "/dev/sda"),
        )
        .payload()
}

fn ctx(registry: &Registry) -> BuildContext {
    BuildContext::new(
        ComponentId::new("debug"),
        Signal::ALL.to_vec(),
        registry.clone(),
    )
}

/// Runs every signal through an exporter built from `config`, capturing the log.
async fn logged(config: serde_json::Value) -> (String, Registry) {
    let buf = Buf::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buf.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let registry = Registry::new();
    let exp = DebugExporterFactory
        .build(ctx(&registry), &config)
        .await
        .unwrap();
    exp.start(&Host::ready()).await.unwrap();
    for p in [spans(), metrics(), logs()] {
        exp.consume(Telemetry::new(p)).await.unwrap();
    }
    exp.shutdown().await.unwrap();
    (buf.text(), registry)
}

#[tokio::test]
async fn basic_prints_one_line_per_batch_with_counts() {
    let (text, registry) = logged(json!(null)).await;
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains(" Traces exporter=\"debug\""), "{text}");
    assert!(lines[0].ends_with("resource spans=1 spans=3"), "{text}");
    assert!(lines[1].contains(" Metrics "), "{text}");
    assert!(
        lines[1].ends_with("resource metrics=1 metrics=2 data points=2"),
        "{text}"
    );
    assert!(lines[2].contains(" Logs "), "{text}");
    assert!(
        lines[2].ends_with("resource logs=1 log records=1"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(!text.contains("GET /orders"), "{text}");
    let rendered = registry.render();
    assert!(
        rendered.contains("otelcol_exporter_sent_spans{exporter=\"debug\"} 3"),
        "{rendered}"
    );
    assert!(rendered.contains("otelcol_exporter_sent_log_records{exporter=\"debug\"} 1"));
}

#[tokio::test]
async fn normal_prints_a_line_per_item() {
    let (text, _) = logged(json!({"verbosity": "normal"})).await;
    for i in 1..=3 {
        let line = format!(
            "GET /orders/{i} abababababababababababababababab {} http.status_code=200",
            format!("{i:02x}").repeat(8)
        );
        assert!(text.contains(&line), "missing {line:?} in {text}");
    }
    assert!(
        text.contains("ResourceSpans #0 service.name=checkout"),
        "{text}"
    );
    assert!(text.contains("requests{route=/a} 42"), "{text}");
    assert!(text.contains("latency{} count=5 sum=12.5"), "{text}");
    assert!(text.contains("disk almost full disk=/dev/sda"), "{text}");
    assert!(!text.contains("Trace ID"), "{text}");
}

#[tokio::test]
async fn detailed_prints_every_field() {
    let (text, _) = logged(json!({"verbosity": "detailed"})).await;
    for needle in [
        "ResourceSpans #0",
        "     -> service.name: Str(checkout)",
        "Span #2",
        "    Trace ID       : abababababababababababababababab",
        "    Kind           : Server",
        "    Start time     : 2024-05-01 10:00:00.001 +0000 UTC",
        "    Status code    : Error",
        "    Status message : boom",
        "     -> http.status_code: Int(200)",
        "SpanEvent #0",
        "     -> Name: cache.miss",
        "     -> DataType: Sum",
        "     -> IsMonotonic: true",
        "     -> AggregationTemporality: Cumulative",
        "Value: 42",
        "HistogramDataPoints #0",
        "Buckets #1, Count: 3",
        "SeverityNumber: Warn(13)",
        "Body: Str(disk almost full)",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in {text}");
    }
}

#[tokio::test]
async fn writer_output_and_sampling() {
    let buf = Buf::default();
    let config = DebugConfig {
        verbosity: Verbosity::Normal,
        sampling_initial: 1,
        sampling_thereafter: 1000,
        ..Default::default()
    };
    let sender = DebugSender::new(
        "debug/w".into(),
        &config,
        Output::Writer(Mutex::new(Box::new(buf.clone()))),
    );
    let request = sender.encode(Telemetry::new(logs())).unwrap();
    sender.send(&request).await.unwrap();
    let text = buf.text();
    assert!(
        text.starts_with("Logs: resource logs: 1, log records: 1\n"),
        "{text}"
    );
    assert!(text.contains("disk almost full"), "{text}");
    // The next batches in the same second are sampled away (but still succeed).
    let before = buf.text().len();
    sender.send(&request).await.unwrap();
    sender.send(&request).await.unwrap();
    assert_eq!(buf.text().len(), before);
}

#[tokio::test]
async fn conformance() {
    stratus_testkit::conformance::exporter(&DebugExporterFactory).await;
}

#[tokio::test]
async fn factory_info_and_bad_config() {
    let f = DebugExporterFactory;
    assert_eq!(f.type_name(), "debug");
    assert!(Signal::ALL.iter().all(|s| f.supports(*s)));
    assert!(
        f.check_config(
            &json!({"verbosity": "basic", "sampling_initial": 5, "use_internal_logger": false})
        )
        .is_ok()
    );
    let problems = f.check_config(&json!({"verbosity": "chatty"})).unwrap_err();
    assert_eq!(problems[0].path, "verbosity");
    let err = f
        .build(ctx(&Registry::new()), &json!({"colour": true}))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("colour"), "{err}");
}
