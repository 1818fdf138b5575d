//! The `file` exporter through its factory: formats, compression, rotation, append.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use stratus_core::factory::{BuildContext, Exporter, ExporterFactory, FactoryInfo};
use stratus_core::telemetry::Registry;
use stratus_core::{ComponentId, Host, Payload, Signal, Telemetry};
use stratus_exporter_file::writer::backups;
use stratus_exporter_file::{FileCompression, FileExporterFactory, Format, read_file};
use stratus_testkit::otlp::{self, SeverityNumber, gauge, number_point, span, traces};

fn ctx(registry: &Registry) -> BuildContext {
    BuildContext::new(
        ComponentId::with_name("file", "test"),
        Signal::ALL.to_vec(),
        registry.clone(),
    )
}

const RESOURCE: [(&str, &str); 1] = [("service.name", "checkout")];

fn spans(n: u8) -> Payload {
    traces()
        .resource(RESOURCE)
        .spans((0..n).map(|i| {
            span(format!("op-{i}"))
                .trace_id([7; 16])
                .span_id([i + 1; 8])
                .start(1_714_557_600_000_000_000 + u64::from(i))
        }))
        .payload()
}

fn metrics() -> Payload {
    otlp::metrics()
        .resource(RESOURCE)
        .metric(gauge("queue.depth").point(number_point(0).time(5)))
        .payload()
}

fn log(body: String) -> Payload {
    otlp::logs()
        .resource(RESOURCE)
        .record(
            otlp::log(body)
                .severity(SeverityNumber::Info)
                .severity_text(""),
        )
        .payload()
}

async fn exporter(registry: &Registry, config: serde_json::Value) -> Arc<dyn Exporter> {
    let exp = FileExporterFactory
        .build(ctx(registry), &config)
        .await
        .unwrap();
    exp.start(&Host::ready()).await.unwrap();
    exp
}

fn read(path: &Path, format: Format, compression: FileCompression, signal: Signal) -> Vec<Payload> {
    read_file(path, format, compression, signal).unwrap()
}

#[tokio::test]
async fn json_lines_hold_every_signal_and_are_readable_while_running() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.json");
    let registry = Registry::new();
    let exp = exporter(&registry, json!({"path": path})).await;
    exp.consume(Telemetry::new(spans(2))).await.unwrap();
    exp.consume(Telemetry::new(metrics())).await.unwrap();
    exp.consume(Telemetry::new(log("hello".into())))
        .await
        .unwrap();
    exp.consume(Telemetry::new(spans(1))).await.unwrap();
    // Readable before shutdown: every batch is on disk once consume returns.
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 4);
    assert!(
        text.starts_with("{\"resourceSpans\":[{\"resource\":"),
        "{text}"
    );
    let none = FileCompression::None;
    assert_eq!(
        read(&path, Format::Json, none, Signal::Traces),
        vec![spans(2), spans(1)]
    );
    assert_eq!(
        read(&path, Format::Json, none, Signal::Metrics),
        vec![metrics()]
    );
    assert_eq!(
        read(&path, Format::Json, none, Signal::Logs),
        vec![log("hello".into())]
    );
    assert!(
        registry
            .render()
            .lines()
            .any(|l| l == "otelcol_exporter_sent_spans{exporter=\"file/test\"} 3")
    );
    exp.shutdown().await.unwrap();
    exp.shutdown().await.unwrap();
}

#[tokio::test]
async fn every_format_and_compression_reads_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    for (format, format_name) in [(Format::Json, "json"), (Format::Proto, "proto")] {
        for (compression, compression_name) in [
            (FileCompression::None, "none"),
            (FileCompression::Zstd, "zstd"),
        ] {
            for signal in Signal::ALL {
                let path = dir
                    .path()
                    .join(format!("{format_name}-{compression_name}-{signal}.out"));
                let exp = exporter(
                    &Registry::new(),
                    json!({"path": path, "format": format_name, "compression": compression_name}),
                )
                .await;
                let batches = match signal {
                    Signal::Traces => vec![spans(3), spans(1)],
                    Signal::Metrics => vec![metrics(), metrics()],
                    Signal::Logs => vec![log("a".into()), log(String::new())],
                };
                for b in &batches {
                    exp.consume(Telemetry::new(b.clone())).await.unwrap();
                }
                exp.shutdown().await.unwrap();
                assert_eq!(
                    read(&path, format, compression, signal),
                    batches,
                    "{format_name}/{compression_name}/{signal}"
                );
                let raw = std::fs::read(&path).unwrap();
                if format == Format::Proto || compression == FileCompression::Zstd {
                    // Length-prefixed: the first 4 bytes give the first record's size.
                    let len = u32::from_be_bytes(raw[..4].try_into().unwrap()) as usize;
                    assert!(4 + len < raw.len());
                } else {
                    assert_eq!(raw.iter().filter(|b| **b == b'\n').count(), 2);
                }
            }
        }
    }
}

#[tokio::test]
async fn append_keeps_and_default_truncates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/logs.json");
    let none = FileCompression::None;
    let exp = exporter(&Registry::new(), json!({"path": path})).await;
    exp.consume(Telemetry::new(log("first".into())))
        .await
        .unwrap();
    exp.shutdown().await.unwrap();

    let exp = exporter(&Registry::new(), json!({"path": path, "append": true})).await;
    exp.consume(Telemetry::new(log("second".into())))
        .await
        .unwrap();
    exp.shutdown().await.unwrap();
    assert_eq!(
        read(&path, Format::Json, none, Signal::Logs),
        vec![log("first".into()), log("second".into())]
    );

    let exp = exporter(&Registry::new(), json!({"path": path})).await;
    assert!(
        read(&path, Format::Json, none, Signal::Logs).is_empty(),
        "truncated at start"
    );
    exp.consume(Telemetry::new(log("third".into())))
        .await
        .unwrap();
    exp.shutdown().await.unwrap();
    assert_eq!(
        read(&path, Format::Json, none, Signal::Logs),
        vec![log("third".into())]
    );
}

#[tokio::test]
async fn rotation_starts_new_files_and_keeps_max_backups() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    let exp = exporter(
        &Registry::new(),
        json!({"path": path, "rotation": {"max_megabytes": 1, "max_backups": 2}}),
    )
    .await;
    // Eight batches of ~400 KiB: two fit in 1 MiB, so the file rotates every two
    // batches: three rotations, of which two rotated files are kept.
    let batches: Vec<Payload> = (0..8u8)
        .map(|i| log(char::from(b'a' + i).to_string().repeat(400 * 1024)))
        .collect();
    for b in &batches {
        exp.consume(Telemetry::new(b.clone())).await.unwrap();
    }
    exp.shutdown().await.unwrap();
    let none = FileCompression::None;
    let rotated = backups(&path).unwrap();
    assert_eq!(rotated.len(), 2, "{rotated:?}");
    for (p, _) in &rotated {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("big-") && name.ends_with(".json"),
            "{name}"
        );
        assert!(std::fs::metadata(p).unwrap().len() <= 1024 * 1024);
    }
    // The oldest backup (batches 0-1) was removed; the rest are in order.
    let mut seen = Vec::new();
    for (p, _) in &rotated {
        seen.extend(read(p, Format::Json, none, Signal::Logs));
    }
    seen.extend(read(&path, Format::Json, none, Signal::Logs));
    assert_eq!(seen, batches[2..].to_vec());
}

#[tokio::test]
async fn start_fails_when_the_file_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let exp = FileExporterFactory
        .build(ctx(&Registry::new()), &json!({"path": dir.path()}))
        .await
        .unwrap();
    let err = exp.start(&Host::ready()).await.err().unwrap().to_string();
    assert!(err.contains("cannot open"), "{err}");
    // Consuming without a started file is refused, retryably.
    let err = exp.consume(Telemetry::new(spans(1))).await.unwrap_err();
    assert!(!err.is_permanent(), "{err}");
}

#[tokio::test]
async fn conformance() {
    let dir = tempfile::tempdir().unwrap();
    stratus_testkit::conformance::exporter(&FileExporterFactory)
        .config(json!({"path": dir.path().join("out.jsonl")}))
        .default_config_rejected(&["path"])
        .await;
}

#[tokio::test]
async fn factory_info_and_config_errors() {
    let f = FileExporterFactory;
    assert_eq!(f.type_name(), "file");
    assert!(Signal::ALL.iter().all(|s| f.supports(*s)));
    assert!(f.check_config(&json!({"path": "/tmp/x.json"})).is_ok());
    let problems = f
        .check_config(&json!({"path": "/tmp/x.json", "pth": 1}))
        .unwrap_err();
    assert_eq!(problems[0].path, "pth");
    let err = f
        .build(ctx(&Registry::new()), &json!({}))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("path"), "{err}");
}
