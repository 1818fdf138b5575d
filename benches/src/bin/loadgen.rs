//! stratus load generator: sends OTLP/gRPC trace requests to a collector as fast as
//! it accepts them (or at a fixed rate) and reports what was accepted.
//!
//! ```text
//! loadgen --endpoint http://127.0.0.1:4317 --duration 20s --batch 100 --concurrency 4 [--rate 10000]
//! ```
//! Prints one JSON line: `{"sent_spans":…,"refused_requests":…,"seconds":…,"spans_per_second":…}`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

#[derive(Parser, Debug)]
struct Args {
    /// Collector OTLP/gRPC endpoint.
    #[arg(long, default_value = "http://127.0.0.1:4317")]
    endpoint: String,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Spans per request.
    #[arg(long, default_value_t = 100)]
    batch: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: u64,
    /// Target spans per second across all senders; 0 sends as fast as accepted.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Attributes per span (each a short string).
    #[arg(long, default_value_t = 8)]
    attributes: usize,
}

fn kv(key: &str, value: String) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value)),
        }),
        ..Default::default()
    }
}

fn request(first: u64, count: u64, attributes: usize) -> ExportTraceServiceRequest {
    let spans = (first..first + count)
        .map(|i| Span {
            trace_id: [i.to_be_bytes(), 1u64.to_be_bytes()].concat(),
            span_id: i.to_be_bytes().to_vec(),
            name: "GET /api/orders".into(),
            kind: 2,
            start_time_unix_nano: 1_700_000_000_000_000_000 + i,
            end_time_unix_nano: 1_700_000_000_000_100_000 + i,
            attributes: (0..attributes)
                .map(|a| kv(&format!("attr.{a}"), format!("value-{a}")))
                .collect(),
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "loadgen".into())],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "loadgen".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let channel = tonic::transport::Endpoint::from_shared(args.endpoint.clone())?
        .connect()
        .await
        .with_context(|| format!("connecting to {}", args.endpoint))?;
    let sent = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs(args.seconds);
    let per_sender_interval = (args.rate > 0).then(|| {
        Duration::from_secs_f64(args.batch as f64 * args.concurrency as f64 / args.rate as f64)
    });
    let mut tasks = Vec::new();
    for worker in 0..args.concurrency {
        let mut client = TraceServiceClient::new(channel.clone());
        let (sent, refused) = (sent.clone(), refused.clone());
        let (batch, attributes) = (args.batch, args.attributes);
        tasks.push(tokio::spawn(async move {
            let mut next = worker << 40;
            let mut ticker = per_sender_interval.map(tokio::time::interval);
            while Instant::now() < end {
                if let Some(t) = ticker.as_mut() {
                    t.tick().await;
                }
                match client.export(request(next, batch, attributes)).await {
                    Ok(_) => {
                        sent.fetch_add(batch, Ordering::Relaxed);
                    }
                    Err(_) => {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
                next += batch;
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let seconds = start.elapsed().as_secs_f64();
    let sent = sent.load(Ordering::Relaxed);
    println!(
        "{{\"sent_spans\":{sent},\"refused_requests\":{},\"seconds\":{seconds:.3},\"spans_per_second\":{:.0}}}",
        refused.load(Ordering::Relaxed),
        sent as f64 / seconds
    );
    Ok(())
}
