//! stratus load generator: sends OTLP/gRPC (or, with `--http`, OTLP/HTTP protobuf)
//! trace requests to a collector as fast as it accepts them (or at a fixed rate) and
//! reports what was accepted.
//!
//! ```text
//! loadgen --endpoint http://127.0.0.1:4317 --seconds 20 --batch 100 --concurrency 4 [--rate 10000]
//! loadgen --http --endpoint http://127.0.0.1:4318 --seconds 20 --batch 2000 --concurrency 8
//! ```
//! Prints one JSON line: `{"sent_spans":…,"refused_requests":…,"seconds":…,"spans_per_second":…}`
//! (with `--http` also the request size and how many refusals carried `Retry-After`).
//! An HTTP sender encodes its request once and posts it again and again, and a refused
//! request is not retried: it goes on with the next one at once, the harshest client for
//! a collector under overload.

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
    /// Send OTLP/HTTP protobuf (`POST {endpoint}/v1/traces`, one HTTP/1.1 keep-alive
    /// connection per sender) instead of OTLP/gRPC.
    #[arg(long)]
    http: bool,
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
    if args.http {
        return http::run(&args).await;
    }
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

/// OTLP/HTTP protobuf senders.
mod http {
    use super::*;
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::TokioIo;
    use prost::Message;

    type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

    async fn connect(authority: &str) -> anyhow::Result<Sender> {
        let stream = tokio::net::TcpStream::connect(authority)
            .await
            .with_context(|| format!("connecting to {authority}"))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(sender)
    }

    pub async fn run(args: &Args) -> anyhow::Result<()> {
        let uri: hyper::Uri = format!("{}/v1/traces", args.endpoint.trim_end_matches('/'))
            .parse()
            .context("--endpoint")?;
        let authority = uri
            .authority()
            .context("--endpoint needs host:port")?
            .to_string();
        let request_bytes = request(0, args.batch, args.attributes).encoded_len();
        let sent = Arc::new(AtomicU64::new(0));
        let refused = Arc::new(AtomicU64::new(0));
        let retry_after = Arc::new(AtomicU64::new(0));
        let other = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let end = start + Duration::from_secs(args.seconds);
        let mut tasks = Vec::new();
        for worker in 0..args.concurrency {
            let (sent, refused, retry_after, other) = (
                sent.clone(),
                refused.clone(),
                retry_after.clone(),
                other.clone(),
            );
            let (batch, attributes) = (args.batch, args.attributes);
            let (uri, authority) = (uri.clone(), authority.clone());
            tasks.push(tokio::spawn(async move {
                // One body per sender, sent again and again: the client spends no CPU
                // building requests, so the collector sees the most it can take.
                let body = Bytes::from(request(worker << 40, batch, attributes).encode_to_vec());
                let mut sender: Option<Sender> = None;
                while Instant::now() < end {
                    let body = body.clone();
                    let mut s = match sender.take() {
                        Some(s) if !s.is_closed() => s,
                        _ => connect(&authority).await?,
                    };
                    s.ready().await?;
                    let req = hyper::Request::post(uri.clone())
                        .header("host", authority.as_str())
                        .header("content-type", "application/x-protobuf")
                        .body(Full::new(body))?;
                    let resp = match s.send_request(req).await {
                        Ok(resp) => resp,
                        Err(_) => {
                            other.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                    };
                    let status = resp.status();
                    let has_retry_after = resp.headers().contains_key("retry-after");
                    // Read the answer so the connection can be reused.
                    let _ = resp.into_body().collect().await;
                    sender = Some(s);
                    match status.as_u16() {
                        200 => {
                            sent.fetch_add(batch, Ordering::Relaxed);
                        }
                        503 | 429 => {
                            refused.fetch_add(1, Ordering::Relaxed);
                            if has_retry_after {
                                retry_after.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        _ => {
                            other.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                anyhow::Ok(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        let seconds = start.elapsed().as_secs_f64();
        let sent = sent.load(Ordering::Relaxed);
        println!(
            "{{\"request_bytes\":{request_bytes},\"sent_spans\":{sent},\"refused_requests\":{},\"refused_with_retry_after\":{},\"other_failures\":{},\"seconds\":{seconds:.3},\"spans_per_second\":{:.0}}}",
            refused.load(Ordering::Relaxed),
            retry_after.load(Ordering::Relaxed),
            other.load(Ordering::Relaxed),
            sent as f64 / seconds
        );
        Ok(())
    }
}
