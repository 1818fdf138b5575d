//! Cost of turning log records into CloudWatch Logs events (upstream's JSON message),
//! and of the exporter's whole CPU path before the network: `split` (translate, group,
//! cut the records into one part per PutLogEvents request) then `encode` of every part
//! (translate again, prepare the request).
//!
//! `cargo bench -p stratus-exporter-awscloudwatchlogs --bench translate`

#![allow(clippy::unwrap_used)] // bench code: a failure should panic

use std::time::{SystemTime, UNIX_EPOCH};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use stratus_aws_common::cwlogs::StreamKey;
use stratus_core::factory::{BuildContext, decode_config};
use stratus_core::telemetry::Registry;
use stratus_core::{ComponentId, Payload, Signal, Telemetry};
use stratus_exporter_awscloudwatchlogs::{CloudWatchLogsConfig, CloudWatchLogsSender, Translator};
use stratus_exporter_helper::Sender;
use stratus_testkit::otlp::{SeverityNumber, log, logs, scope};

const RECORDS: usize = 1_000;

/// A batch of typical service logs: one resource of 3 attributes, one scope, records
/// with a text body, severity, trace context and 4 attributes.
fn batch() -> Vec<stratus_core::pdata::logs::ResourceLogs> {
    batch_at(1_700_000_000_000_000_000, RECORDS)
}

/// [`batch`]'s records, `n` of them, from `start_ns` on, a millisecond apart.
fn batch_at(start_ns: u64, n: usize) -> Vec<stratus_core::pdata::logs::ResourceLogs> {
    logs()
        .resource([
            ("service.name", "checkout"),
            ("host.name", "ip-10-0-1-17"),
            ("cloud.region", "us-east-1"),
        ])
        .scope(scope("io.opentelemetry.logback").version("2.1.0"))
        .records((0..n).map(|i| {
            log(format!("order {i} placed for customer 42 in 17 ms"))
                .severity(SeverityNumber::Info)
                .time(start_ns + i as u64 * 1_000_000)
                .trace(
                    0x5b8e_fff7_9803_8103_d269_b633_813f_c60cu128 + i as u128,
                    i as u64 + 1,
                )
                .flags(1)
                .attr("http.method", "POST")
                .attr("http.status_code", 201)
                .attr("order.id", i)
                .attr("thread.name", "http-nio-8080-exec-3")
        }))
        .resource_logs()
}

fn bench_translate(c: &mut Criterion) {
    let input = batch();
    let key = StreamKey::new("/aws/otel/app", "collector");
    let mut group = c.benchmark_group("cwlogs_translate");
    group.throughput(Throughput::Elements(RECORDS as u64));
    let json = Translator::new(key.clone(), false);
    group.bench_function("json_message", |b| b.iter(|| json.translate(&input)));
    let raw = Translator::new(key, true);
    group.bench_function("raw_log", |b| b.iter(|| raw.translate(&input)));
    group.finish();
}

/// `split` then `encode` of every part, for a batch of one request (1,000 records:
/// passed through unchanged) and one of three (25,000 records: rebuilt into parts).
fn bench_split_encode(c: &mut Criterion) {
    let config: CloudWatchLogsConfig = decode_config(&serde_json::json!({
        "log_group_name": "/aws/otel/app", "log_stream_name": "collector", "region": "us-east-1"
    }))
    .unwrap();
    let ctx = BuildContext::new(
        ComponentId::with_name("awscloudwatchlogs", "bench"),
        vec![Signal::Logs],
        Registry::new(),
    );
    let sender = CloudWatchLogsSender::new(&ctx, &config, aws_config::SdkConfig::builder().build());
    let now_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut group = c.benchmark_group("cwlogs_exporter");
    for n in [RECORDS, 25_000] {
        let input = Telemetry::new(Payload::Logs(batch_at(now_ns - n as u64 * 1_000_000, n)));
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("split_encode_{n}"), |b| {
            b.iter_batched(
                || input.clone(),
                |data| {
                    let parts = sender.split(data);
                    parts
                        .into_iter()
                        .map(|p| sender.encode(p).unwrap().requests().len())
                        .sum::<usize>()
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench_translate, bench_split_encode);
criterion_main!(benches);
