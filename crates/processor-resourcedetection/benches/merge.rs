//! Cost of merging the detected resource into a batch, what the processor does per
//! call: `cargo bench -p stratus-processor-resourcedetection --bench merge`.
//!
//! The detected resource is what `detectors: [env, ec2]` finds on an instance (ten
//! attributes). Each batch holds 100 spans: under one resource (what an SDK sends), or
//! under 100 resources of one span each (the worst case: the merge runs per
//! resource). Criterion reports the time per batch; ns per span is that divided by 100.
//! The batch is cloned outside the timed part (`iter_batched`).

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use stratus_core::Payload;
use stratus_core::pdata::common::{AnyValue, KeyValue, any_value::Value};
use stratus_processor_resourcedetection::{DetectedResource, merge};
use stratus_testkit::otlp::{span, traces};

const SPANS: u64 = 100;

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn detected() -> DetectedResource {
    DetectedResource {
        attributes: vec![
            kv("deployment.environment", "prod"),
            kv("cloud.provider", "aws"),
            kv("cloud.platform", "aws_ec2"),
            kv("cloud.region", "us-west-2"),
            kv("cloud.account.id", "123456789012"),
            kv("cloud.availability_zone", "us-west-2b"),
            kv("host.id", "i-1234567890abcdef0"),
            kv("host.image.id", "ami-5fb8c835"),
            kv("host.type", "t2.micro"),
            kv("host.name", "ip-10-158-112-84.us-west-2.compute.internal"),
        ],
        schema_url: "https://opentelemetry.io/schemas/1.6.1".into(),
    }
}

const SDK_RESOURCE: [(&str, &str); 6] = [
    ("service.name", "checkout"),
    ("service.version", "1.4.2"),
    ("telemetry.sdk.name", "opentelemetry"),
    ("telemetry.sdk.language", "java"),
    ("telemetry.sdk.version", "1.40.0"),
    ("host.name", "checkout-7d9f"),
];

/// 100 spans under one resource with six attributes.
fn one_resource() -> Payload {
    let mut b = traces().resource(SDK_RESOURCE);
    for i in 0..SPANS {
        b = b.span(span("GET /cart").attr("i", i));
    }
    b.payload()
}

/// 100 resources of one span each.
fn hundred_resources() -> Payload {
    let mut all = Vec::new();
    for i in 0..SPANS {
        let Payload::Traces(mut rs) = traces()
            .resource(SDK_RESOURCE)
            .span(span("GET /cart").attr("i", i))
            .payload()
        else {
            unreachable!()
        };
        all.append(&mut rs);
    }
    Payload::Traces(all)
}

fn bench(c: &mut Criterion) {
    let detected = detected();
    let mut g = c.benchmark_group("merge_100_spans");
    g.throughput(Throughput::Elements(SPANS));
    for (name, batch) in [
        ("one_resource", one_resource()),
        ("100_resources", hundred_resources()),
    ] {
        for override_existing in [true, false] {
            let id = format!("{name}/override_{override_existing}");
            g.bench_function(id, |b| {
                b.iter_batched(
                    || batch.clone(),
                    |mut p| {
                        merge::apply(&mut p, black_box(&detected), override_existing);
                        p
                    },
                    BatchSize::SmallInput,
                )
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
