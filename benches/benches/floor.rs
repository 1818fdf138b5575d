//! The floors a collector cannot beat, and every translator against its floor:
//! `cargo bench -p stratus-benches --bench floor`.
//!
//! - `otlp`: OTLP/protobuf decode, encode, and decode + re-encode of a request of 100
//!   spans with 10 attributes each (the loadgen's shape): what a forwarding collector
//!   does at the least; gzip of it at the default level (the otlp exporter's default
//!   compression). OTLP/JSON decode and encode of the same request.
//! - `translate`: each cloud translator (and the S3 marshalers) on a batch, next to
//!   `serde_json` alone writing the same output (the translator's documents parsed
//!   back into `serde_json::Value` once, before timing). The target is a
//!   translator within 3x its floor.
//! - `sample`: the probabilistic sampler deciding on 100 spans.
//! - `pipeline`: what sits between receiver and exporter: the batch processor merging
//!   ten requests of 100 spans into one batch of 1,000 handed to a consumer that takes
//!   it over (as an exporter's queue does), and one batch of 100 spans offered to,
//!   taken from and marked done in the exporter helper's memory queue and its disk
//!   queue (`file_storage`, with and without fsync).
//!
//! Throughput is in items (spans, records, data points), so criterion's elements/s
//! is items/s and ns per item is the batch time divided by the item count.

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench setup: a failure should panic

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;
use serde_json::Value;
use stratus_core::{Payload, Signal, Telemetry};
use stratus_testkit::otlp::{
    SeverityNumber, SpanKind, gauge, log, logs, metrics, number_point, scope, span, traces,
};

const ITEMS: usize = 100;

fn spans() -> ExportTraceServiceRequest {
    traces()
        .resource([("service.name", "checkout"), ("host.name", "ip-10-0-1-17")])
        .scope(scope("io.opentelemetry.http").version("2.1.0"))
        .spans((0..ITEMS).map(|i| {
            let mut s = span("GET /api/orders")
                .kind(SpanKind::Server)
                .start(1_700_000_000_000_000_000 + i as u64 * 1_000)
                .end(1_700_000_000_005_000_000 + i as u64 * 1_000)
                .attr("http.request.method", "GET")
                .attr("http.response.status_code", 200);
            for a in 0..8 {
                s = s.attr(format!("attr.{a}"), format!("value-{a}-{i}"));
            }
            s
        }))
        .request()
}

fn log_batch() -> Payload {
    logs()
        .resource([("service.name", "checkout"), ("host.name", "ip-10-0-1-17")])
        .scope(scope("io.opentelemetry.logback").version("2.1.0"))
        .records((0..ITEMS).map(|i| {
            log(format!("order {i} placed for customer 42 in 17 ms"))
                .severity(SeverityNumber::Info)
                .time(1_700_000_000_000_000_000 + i as u64 * 1_000_000)
                .trace(0x5b8e_fff7_9803_8103_d269_b633_813f_c60cu128, i as u64 + 1)
                .attr("http.method", "POST")
                .attr("http.status_code", 201)
                .attr("order.id", i)
        }))
        .payload()
}

fn metric_batch() -> Payload {
    let mut g = gauge("http.server.active_requests").unit("{request}");
    for i in 0..ITEMS {
        g = g.point(
            number_point(i as i64)
                .attr("service.name", "checkout")
                .attr("operation", format!("GET /api/{}", i % 10))
                .attr("instance", format!("i-{i}"))
                .time(1_700_000_000_000_000_000),
        );
    }
    metrics()
        .resource([("service.name", "checkout"), ("host.name", "ip-10-0-1-17")])
        .scope(scope("io.opentelemetry.http").version("2.1.0"))
        .metric(g)
        .payload()
}

fn bench_otlp(c: &mut Criterion) {
    let request = spans();
    let bytes = request.encode_to_vec();
    let payload = Payload::Traces(request.resource_spans.clone());
    let json = stratus_core::pdata::json::encode_request(&payload);
    let mut g = c.benchmark_group("otlp");
    g.throughput(Throughput::Elements(ITEMS as u64));
    g.bench_function("protobuf_decode_100_spans", |b| {
        b.iter(|| ExportTraceServiceRequest::decode(black_box(bytes.as_slice())).unwrap())
    });
    g.bench_function("protobuf_encode_100_spans", |b| {
        let mut buf = Vec::with_capacity(bytes.len());
        b.iter(|| {
            buf.clear();
            black_box(&request).encode(&mut buf).unwrap();
            black_box(buf.len())
        })
    });
    g.bench_function("protobuf_decode_reencode_100_spans", |b| {
        let mut buf = Vec::with_capacity(bytes.len());
        b.iter(|| {
            let r = ExportTraceServiceRequest::decode(black_box(bytes.as_slice())).unwrap();
            buf.clear();
            r.encode(&mut buf).unwrap();
            black_box(buf.len())
        })
    });
    // What the otlp exporter's default compression costs per request (gzip at the
    // default level, as upstream's gRPC gzip compressor uses).
    g.bench_function("gzip_default_level_100_spans", |b| {
        use std::io::Write as _;
        b.iter(|| {
            let mut e = flate2::write::GzEncoder::new(
                Vec::with_capacity(bytes.len() / 4),
                flate2::Compression::default(),
            );
            e.write_all(black_box(&bytes)).unwrap();
            black_box(e.finish().unwrap().len())
        })
    });
    g.bench_function("json_decode_100_spans", |b| {
        b.iter(|| {
            stratus_core::pdata::json::decode_request(Signal::Traces, black_box(&json)).unwrap()
        })
    });
    g.bench_function("json_encode_100_spans", |b| {
        b.iter(|| stratus_core::pdata::json::encode_request(black_box(&payload)))
    });
    g.finish();
}

/// `documents` parsed back into values, for the serde_json floor.
fn parsed(documents: &[String]) -> Vec<Value> {
    documents
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

fn floor(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    values: &[Value],
) {
    g.bench_function(format!("{name}_serde_json_floor"), |b| {
        let mut buf = Vec::with_capacity(64 << 10);
        b.iter(|| {
            buf.clear();
            for v in black_box(values) {
                serde_json::to_writer(&mut buf, v).unwrap();
            }
            black_box(buf.len())
        })
    });
}

fn bench_translate(c: &mut Criterion) {
    let mut g = c.benchmark_group("translate");
    g.throughput(Throughput::Elements(ITEMS as u64));
    g.measurement_time(Duration::from_secs(3));

    // X-Ray segment documents.
    let rs = spans().resource_spans;
    let xray = stratus_exporter_awsxray::Translator::new(
        &stratus_exporter_awsxray::TranslatorConfig::default(),
    );
    let docs: Vec<String> = xray
        .translate(&rs)
        .documents
        .into_iter()
        .map(|d| d.json)
        .collect();
    assert_eq!(docs.len(), ITEMS);
    g.bench_function("xray", |b| {
        b.iter(|| black_box(xray.translate(black_box(&rs))))
    });
    floor(&mut g, "xray", &parsed(&docs));

    // Application Insights envelopes.
    let ai = stratus_exporter_azuremonitor::translate::Translator::new(
        stratus_exporter_azuremonitor::translate::TranslatorConfig {
            instrumentation_key: "00000000-0000-0000-0000-000000000000".into(),
            span_events_enabled: true,
            custom_events_enabled: true,
            exception_events_enabled: true,
        },
    );
    let traces_payload = Payload::Traces(rs.clone());
    let envelopes = ai.translate(&traces_payload).envelopes;
    g.bench_function("appinsights_spans", |b| {
        b.iter(|| black_box(ai.translate(black_box(&traces_payload))))
    });
    floor(&mut g, "appinsights_spans", &parsed(&envelopes));

    // Log Analytics rows.
    let logs_payload = log_batch();
    let rows = stratus_exporter_azureloganalytics::rows::rows(&logs_payload);
    assert_eq!(rows.len(), ITEMS);
    g.bench_function("loganalytics_log_rows", |b| {
        b.iter(|| {
            black_box(stratus_exporter_azureloganalytics::rows::rows(black_box(
                &logs_payload,
            )))
        })
    });
    floor(&mut g, "loganalytics_log_rows", &parsed(&rows));

    // CloudWatch Logs events (upstream's JSON message form).
    let Payload::Logs(rl) = &logs_payload else {
        unreachable!()
    };
    let key = stratus_aws_common::cwlogs::StreamKey::new("/aws/otel/app", "collector");
    let cw = stratus_exporter_awscloudwatchlogs::Translator::new(key, false);
    let messages: Vec<String> = cw
        .translate(rl)
        .batches
        .split(1_700_000_000_000 + 60_000)
        .requests
        .into_iter()
        .flat_map(|r| r.events.into_iter().map(|e| e.message))
        .collect();
    assert_eq!(messages.len(), ITEMS);
    g.bench_function("cloudwatch_logs", |b| {
        b.iter(|| black_box(cw.translate(black_box(rl))))
    });
    floor(&mut g, "cloudwatch_logs", &parsed(&messages));

    // EMF: one event per dimension set and timestamp.
    let Payload::Metrics(rm) = metric_batch() else {
        unreachable!()
    };
    let emf = stratus_exporter_awsemf::EmfTranslator::new(
        &stratus_exporter_awsemf::EmfConfig::default(),
        "otel-stream",
    )
    .unwrap();
    let now = SystemTime::now();
    let events: Vec<String> = emf
        .translate(&rm, now)
        .events
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert!(!events.is_empty());
    g.bench_function("emf", |b| {
        b.iter(|| black_box(emf.translate(black_box(&rm), now)))
    });
    floor(&mut g, "emf", &parsed(&events));

    // S3 object bodies. `otlp_json` (S3's default marshaler) against serde_json
    // writing the same document; `body` (log bodies, a line each) against serde_json
    // writing the bodies as strings. `otlp_proto` is the protobuf encode of the
    // `otlp` group, its own floor.
    let s3_json = stratus_exporter_awss3::Marshaler::OtlpJson;
    let document = String::from_utf8(s3_json.marshal(&traces_payload).unwrap()).unwrap();
    g.bench_function("s3_otlp_json", |b| {
        b.iter(|| black_box(s3_json.marshal(black_box(&traces_payload)).unwrap()))
    });
    floor(&mut g, "s3_otlp_json", &parsed(&[document]));
    let s3_body = stratus_exporter_awss3::Marshaler::Body;
    let lines: Vec<Value> = String::from_utf8(s3_body.marshal(&logs_payload).unwrap())
        .unwrap()
        .lines()
        .map(|l| Value::String(l.to_string()))
        .collect();
    assert_eq!(lines.len(), ITEMS);
    g.bench_function("s3_body", |b| {
        b.iter(|| black_box(s3_body.marshal(black_box(&logs_payload)).unwrap()))
    });
    floor(&mut g, "s3_body", &lines);
    g.finish();
}

fn bench_sample(c: &mut Criterion) {
    let mut g = c.benchmark_group("sample");
    g.throughput(Throughput::Elements(ITEMS as u64));
    let config = stratus_processor_probabilistic_sampler::ProbabilisticSamplerConfig {
        sampling_percentage: 25.0,
        ..Default::default()
    };
    let sampler = stratus_processor_probabilistic_sampler::Sampler::new(&config, Signal::Traces);
    let rs = spans().resource_spans;
    g.bench_function("probabilistic_25_percent_100_spans", |b| {
        b.iter_batched(
            || rs.clone(),
            |mut batch| black_box(sampler.sample_traces(&mut batch)),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// What [`Counting`] was given: items, and a wake-up at each batch. The batches are
/// kept until [`Counts::clear`], so that dropping them is not timed (criterion drops
/// the outputs of the other benches untimed too).
#[derive(Default)]
struct Counts {
    items: std::sync::atomic::AtomicUsize,
    kept: std::sync::Mutex<Vec<Telemetry>>,
    arrived: tokio::sync::Notify,
}

impl Counts {
    fn add(&self, data: Telemetry) {
        self.items
            .fetch_add(data.item_count(), std::sync::atomic::Ordering::Relaxed);
        self.kept.lock().unwrap().push(data);
        self.arrived.notify_one();
    }

    fn clear(&self) {
        self.kept.lock().unwrap().clear();
    }

    fn items(&self) -> usize {
        self.items.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A consumer that takes hand-overs, as an exporter's sending queue does, and counts
/// the items it was given.
struct Counting(std::sync::Arc<Counts>);

struct Handed(std::sync::Arc<Counts>, Telemetry);

#[async_trait::async_trait]
impl stratus_core::Admission for Handed {
    async fn commit(self: Box<Self>) -> Result<(), stratus_core::ConsumeError> {
        self.0.add(self.1);
        Ok(())
    }
}

#[async_trait::async_trait]
impl stratus_core::Consumer for Counting {
    async fn consume(&self, data: Telemetry) -> Result<(), stratus_core::ConsumeError> {
        self.0.add(data);
        Ok(())
    }
    fn can_prepare(&self) -> bool {
        true
    }
    async fn prepare(&self, data: Telemetry) -> stratus_core::Prepared {
        stratus_core::Prepared::Ready(Box::new(Handed(self.0.clone(), data)))
    }
}

fn bench_pipeline(c: &mut Criterion) {
    use stratus_core::factory::{BuildContext, ProcessorFactory as _};
    use stratus_exporter_helper::queue::Queue;
    use stratus_exporter_helper::{MemoryQueue, PersistentOptions, PersistentQueue, Sizer};

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let request = Telemetry::new(Payload::Traces(spans().resource_spans));
    let mut g = c.benchmark_group("pipeline");

    const REQUESTS: usize = 10;
    g.throughput(Throughput::Elements((REQUESTS * ITEMS) as u64));
    let counts = std::sync::Arc::new(Counts::default());
    let processor = rt.block_on(async {
        let ctx = BuildContext::new(
            "batch".parse().unwrap(),
            vec![Signal::Traces],
            stratus_core::telemetry::Registry::new(),
        );
        let config = serde_json::json!({"send_batch_size": REQUESTS * ITEMS, "timeout": "1h"});
        stratus_processor_batch::BatchProcessorFactory
            .build(ctx, &config, std::sync::Arc::new(Counting(counts.clone())))
            .await
            .unwrap()
    });
    g.bench_function("batch_10_requests_of_100_spans_into_one", |b| {
        b.iter_batched(
            || {
                counts.clear();
                vec![request.clone(); REQUESTS]
            },
            |requests| {
                rt.block_on(async {
                    let want = counts.items() + REQUESTS * ITEMS;
                    for r in requests {
                        processor.consume(r).await.unwrap();
                    }
                    while counts.items() < want {
                        counts.arrived.notified().await;
                    }
                })
            },
            BatchSize::SmallInput,
        )
    });

    g.throughput(Throughput::Elements(ITEMS as u64));
    let memory = MemoryQueue::new(Sizer::Requests, 1000);
    g.bench_function("memory_queue_offer_take_done_100_spans", |b| {
        b.iter_batched(
            || request.clone(),
            |data| {
                rt.block_on(async {
                    memory.offer(data, false).await.unwrap();
                    let e = memory.take().await.unwrap();
                    memory.done(e.token).await;
                    black_box(e.data)
                })
            },
            BatchSize::SmallInput,
        )
    });
    for fsync in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let opts = PersistentOptions {
            sizer: Sizer::Requests,
            capacity: 1000,
            fsync,
            segment_bytes: stratus_exporter_helper::persistent::DEFAULT_SEGMENT_BYTES,
            owner: "bench".into(),
        };
        let disk = PersistentQueue::open(dir.path(), opts, Default::default()).unwrap();
        let name = if fsync {
            "disk_queue_fsync_offer_take_done_100_spans"
        } else {
            "disk_queue_offer_take_done_100_spans"
        };
        // The exporter takes a record as it was stored and sends those bytes.
        g.bench_function(name, |b| {
            b.iter_batched(
                || request.clone(),
                |data| {
                    rt.block_on(async {
                        disk.offer(data, false).await.unwrap();
                        let e = disk.take_stored().await.unwrap();
                        disk.done(e.token).await;
                        black_box(e)
                    })
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_otlp,
    bench_translate,
    bench_sample,
    bench_pipeline
);
criterion_main!(benches);
