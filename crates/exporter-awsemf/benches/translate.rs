//! Cost of the EMF translator per data point: a batch of gauges, cumulative sums
//! (already past their baseline, so deltas are computed) and histograms with three
//! labels each, translated to EMF events, with and without the product brief's
//! `metric_declarations`.

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stratus_core::pdata::metrics::ResourceMetrics;
use stratus_exporter_awsemf::{EmfConfig, EmfTranslator, MetricDeclarationConfig};
use stratus_testkit::otlp::*;

/// Points per metric, metrics per type.
const POINTS: usize = 50;
const METRICS_PER_TYPE: usize = 4;

fn batch() -> (Vec<ResourceMetrics>, usize) {
    let ts = 1_700_000_000_000_000_000u64;
    let mut b = metrics()
        .resource([("service.name", "checkout"), ("host.name", "ip-10-0-0-1")])
        .scope("io.opentelemetry.http");
    let mut n = 0;
    for m in 0..METRICS_PER_TYPE {
        let mut g = gauge(format!("http.server.active_requests.{m}"));
        let mut s = sum(format!("http.server.requests.{m}")).unit("1");
        let mut h = histogram(format!("http.server.duration.{m}"))
            .unit("ms")
            .bounds([5.0, 10.0, 50.0]);
        for p in 0..POINTS {
            let route = format!("/api/v1/items/{p}");
            g = g.point(
                number_point(p as i64)
                    .time(ts)
                    .attr("service.name", "checkout")
                    .attr("operation", "GET")
                    .attr("http.route", route.clone()),
            );
            s = s.point(
                number_point((p * 10) as i64)
                    .time(ts)
                    .attr("service.name", "checkout")
                    .attr("operation", "GET")
                    .attr("http.route", route.clone()),
            );
            h = h.point(
                histogram_point([1, 4, 2, 0])
                    .sum(61.5)
                    .min(1.0)
                    .max(40.0)
                    .time(ts)
                    .attr("service.name", "checkout")
                    .attr("operation", "GET")
                    .attr("http.route", route),
            );
            n += 3;
        }
        b = b.metric(g).metric(s).metric(h);
    }
    (b.resource_metrics(), n)
}

fn bench(c: &mut Criterion) {
    let (data, points) = batch();
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let brief = EmfConfig {
        namespace: "OTLP/Metrics".into(),
        metric_declarations: vec![MetricDeclarationConfig {
            dimensions: vec![vec!["service.name".into(), "operation".into()]],
            metric_name_selectors: vec!["^http\\..*".into(), "^rpc\\..*".into()],
            ..Default::default()
        }],
        ..EmfConfig::default()
    };
    let mut group = c.benchmark_group("awsemf_translate");
    group.throughput(Throughput::Elements(points as u64));
    for (name, config) in [
        ("no_declarations", EmfConfig::default()),
        ("brief_declarations", brief),
    ] {
        let Ok(t) = EmfTranslator::new(&config, "otel-stream-bench") else {
            return;
        };
        // Past the baselines of the cumulative sums.
        let _ = t.translate(&data, now);
        group.bench_function(name, |b| {
            b.iter(|| black_box(t.translate(black_box(&data), now)).events.len())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
