//! Cost of turning log records into CloudWatch Logs events (upstream's JSON message).
//!
//! `cargo bench -p stratus-exporter-awscloudwatchlogs --bench translate`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stratus_aws_common::cwlogs::StreamKey;
use stratus_exporter_awscloudwatchlogs::Translator;
use stratus_testkit::otlp::{SeverityNumber, log, logs, scope};

const RECORDS: usize = 1_000;

/// A batch of typical service logs: one resource of 3 attributes, one scope, records
/// with a text body, severity, trace context and 4 attributes.
fn batch() -> Vec<stratus_core::pdata::logs::ResourceLogs> {
    logs()
        .resource([
            ("service.name", "checkout"),
            ("host.name", "ip-10-0-1-17"),
            ("cloud.region", "us-east-1"),
        ])
        .scope(scope("io.opentelemetry.logback").version("2.1.0"))
        .records((0..RECORDS).map(|i| {
            log(format!("order {i} placed for customer 42 in 17 ms"))
                .severity(SeverityNumber::Info)
                .time(1_700_000_000_000_000_000 + i as u64 * 1_000_000)
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

criterion_group!(benches, bench_translate);
criterion_main!(benches);
