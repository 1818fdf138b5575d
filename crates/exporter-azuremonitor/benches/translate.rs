//! Cost of the Application Insights translator per item:
//! `cargo bench -p stratus-exporter-azuremonitor`.
//!
//! Each benchmark translates a batch built from a golden pair (`tests/pairs/`) repeated to
//! about 100 items into serialised envelopes (`Translator::translate`, everything the exporter
//! does before compressing and sending). Criterion reports the time per batch and the items
//! per second (throughput in elements = OTLP items), so ns per item = batch time / items.

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench setup: failures should panic

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use stratus_core::Payload;
use stratus_exporter_azuremonitor::translate::{Translator, TranslatorConfig};

/// `case`'s batch repeated until it holds at least 100 items.
fn batch(case: &str) -> Payload {
    let one = common::load_payload(case);
    let mut all = one.clone();
    while all.item_count() < 100 {
        all.append(one.clone()).unwrap();
    }
    all
}

fn bench(c: &mut Criterion) {
    let translator = Translator::new(TranslatorConfig {
        instrumentation_key: common::IKEY.to_owned(),
        span_events_enabled: true,
        custom_events_enabled: true,
        exception_events_enabled: true,
    });
    let mut group = c.benchmark_group("translate");
    for (name, case) in [
        ("span_http_server", "v01"),
        ("span_db_client_and_server", "v02"),
        ("span_internal_with_2_events", "v04"),
        ("log_record", "v06"),
        ("metric_data_point", "v07"),
    ] {
        let payload = batch(case);
        group.throughput(Throughput::Elements(payload.item_count() as u64));
        group.bench_function(name, |b| {
            b.iter(|| black_box(translator.translate(black_box(&payload))))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
