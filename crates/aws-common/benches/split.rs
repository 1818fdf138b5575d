//! Cost of splitting a batch of CloudWatch Logs events into PutLogEvents requests.
//!
//! `cargo bench -p stratus-aws-common --bench split`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use stratus_aws_common::cwlogs::{Event, StreamBatches, StreamKey, split_stream};

const NOW_MS: i64 = 1_700_000_000_000;

/// `n` events of about 200 bytes, a millisecond apart, slightly out of order.
fn events(n: usize) -> Vec<Event> {
    (0..n)
        .map(|i| {
            let jitter = if i % 7 == 0 { 5 } else { 0 };
            Event::new(
                NOW_MS - 60_000 + i as i64 + jitter,
                format!(
                    r#"{{"body":"GET /api/v1/items/{i} 200","severity_number":9,"severity_text":"INFO","attributes":{{"http.method":"GET","http.status_code":200}},"resource":{{"service.name":"api"}}}}"#
                ),
            )
        })
        .collect()
}

fn bench_split(c: &mut Criterion) {
    let key = StreamKey::new("/aws/otel/app", "collector");
    let mut group = c.benchmark_group("cwlogs_split");
    for n in [1_000usize, 25_000] {
        let input = events(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("split_stream", n), &input, |b, input| {
            b.iter_batched(
                || input.clone(),
                |events| split_stream(key.clone(), events, NOW_MS),
                criterion::BatchSize::LargeInput,
            )
        });
        group.bench_with_input(BenchmarkId::new("stream_batches", n), &input, |b, input| {
            b.iter_batched(
                || input.clone(),
                |events| {
                    let mut batches = StreamBatches::new();
                    for e in events {
                        batches.push(&key, e);
                    }
                    batches.split(NOW_MS)
                },
                criterion::BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench_split);
criterion_main!(benches);
