//! stratus load generator: sends OTLP traces, metrics or logs to a collector over
//! gRPC or HTTP (protobuf or JSON), uncompressed, gzip or zstd, from N connections,
//! as fast as the collector answers or at a fixed rate, and prints one JSON line.
//!
//! ```text
//! loadgen --endpoint http://127.0.0.1:4317 --seconds 20 --batch 100 --concurrency 4 [--rate 10000]
//! loadgen --protocol http --encoding json --signal logs --compression zstd --endpoint http://127.0.0.1:4318
//! ```
//!
//! Requests are generated and encoded (and compressed) before the clock starts, into
//! a pool per connection that is sent round-robin, so generating load costs only the
//! HTTP/2 or HTTP/1.1 framing. A refused request is not retried: the next one goes at
//! once. Each connection has one request in flight; `--rate` paces the connections
//! (an open loop: a late answer delays only its own connection).
//!
//! The JSON line: `items` and `items_per_second` (also `sent_spans` and
//! `spans_per_second` for traces), `requests`, `refused` by status (`grpc:8`,
//! `http:503`, `transport`), `request_bytes` (encoded, before compression) and
//! `wire_bytes` (as sent), and the latency percentiles of accepted requests in ms.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::{BufMut, Bytes, BytesMut};
use clap::{Parser, ValueEnum};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;
use stratus_core::pdata::Payload;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Protocol {
    Grpc,
    Http,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Encoding {
    Protobuf,
    Json,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Signal {
    Traces,
    Metrics,
    Logs,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

#[derive(Parser, Debug)]
struct Args {
    /// The collector's OTLP endpoint (gRPC: http://host:4317; HTTP: http://host:4318).
    #[arg(long, default_value = "http://127.0.0.1:4317")]
    endpoint: String,
    /// gRPC (HTTP/2, one connection each) or HTTP/1.1 (one keep-alive connection each).
    #[arg(long, value_enum, default_value_t = Protocol::Grpc)]
    protocol: Protocol,
    /// Shorthand for `--protocol http`.
    #[arg(long)]
    http: bool,
    /// Body encoding over HTTP (gRPC is always protobuf).
    #[arg(long, value_enum, default_value_t = Encoding::Protobuf)]
    encoding: Encoding,
    #[arg(long, value_enum, default_value_t = Signal::Traces)]
    signal: Signal,
    #[arg(long, value_enum, default_value_t = Compression::None)]
    compression: Compression,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Items (spans, data points, log records) per request.
    #[arg(long, default_value_t = 100)]
    batch: u64,
    /// Connections.
    #[arg(long, alias = "connections", default_value_t = 4)]
    concurrency: u64,
    /// Requests in flight per connection: gRPC multiplexes them as HTTP/2 streams;
    /// over HTTP/1.1 each is its own connection.
    #[arg(long, default_value_t = 1)]
    in_flight: u64,
    /// Target items per second across all connections; 0 sends as fast as answered.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Attributes per item.
    #[arg(long, default_value_t = 8)]
    attributes: usize,
    /// Bytes per attribute value.
    #[arg(long, default_value_t = 8)]
    attribute_size: usize,
    /// Distinct pre-encoded requests per connection, sent round-robin.
    #[arg(long, default_value_t = 8)]
    pool: usize,
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

fn attributes(n: usize, size: usize, salt: u64) -> Vec<KeyValue> {
    (0..n)
        .map(|a| {
            let mut v = format!("value-{a}-{salt:x}");
            v.truncate(size);
            while v.len() < size {
                v.push('x');
            }
            kv(&format!("attr.{a}"), v)
        })
        .collect()
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            kv("service.name", "loadgen".into()),
            kv("host.name", "bench-host".into()),
        ],
        ..Default::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "loadgen".into(),
        ..Default::default()
    })
}

/// One request of `count` items; `first` makes ids and values distinct.
fn payload(args: &Args, first: u64) -> Payload {
    let (n, size) = (args.attributes, args.attribute_size);
    // Stamped now (the pools are built at start): CloudWatch Logs takes only events
    // from the last 14 days, and the cloud exporters are benchmarked too.
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1_700_000_000_000_000_000, |d| d.as_nanos() as u64);
    let items = first..first + args.batch;
    match args.signal {
        Signal::Traces => Payload::Traces(vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                scope: scope(),
                spans: items
                    .map(|i| Span {
                        trace_id: [i.to_be_bytes(), 1u64.to_be_bytes()].concat(),
                        span_id: (i | 1 << 63).to_be_bytes().to_vec(),
                        name: "GET /api/orders".into(),
                        kind: 2,
                        start_time_unix_nano: t0 + i,
                        end_time_unix_nano: t0 + 100_000 + i,
                        attributes: attributes(n, size, i),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }]),
        Signal::Metrics => Payload::Metrics(vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(),
                metrics: vec![Metric {
                    name: "http.server.active_requests".into(),
                    unit: "{request}".into(),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: items
                            .map(|i| NumberDataPoint {
                                attributes: attributes(n, size, i),
                                time_unix_nano: t0 + i,
                                value: Some(number_data_point::Value::AsInt(i as i64 % 1000)),
                                ..Default::default()
                            })
                            .collect(),
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }]),
        Signal::Logs => Payload::Logs(vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                scope: scope(),
                log_records: items
                    .map(|i| LogRecord {
                        time_unix_nano: t0 + i,
                        severity_number: 9,
                        severity_text: "INFO".into(),
                        body: Some(AnyValue {
                            value: Some(any_value::Value::StringValue(format!(
                                "order {i} accepted for shipping"
                            ))),
                        }),
                        attributes: attributes(n, size, i),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }]),
    }
}

fn encode(args: &Args, p: &Payload) -> Vec<u8> {
    if args.protocol == Protocol::Http && args.encoding == Encoding::Json {
        return stratus_core::pdata::json::encode_request(p);
    }
    use opentelemetry_proto::tonic::collector::{logs, metrics, trace};
    match p {
        Payload::Traces(r) => trace::v1::ExportTraceServiceRequest {
            resource_spans: r.clone(),
        }
        .encode_to_vec(),
        Payload::Metrics(r) => metrics::v1::ExportMetricsServiceRequest {
            resource_metrics: r.clone(),
        }
        .encode_to_vec(),
        Payload::Logs(r) => logs::v1::ExportLogsServiceRequest {
            resource_logs: r.clone(),
        }
        .encode_to_vec(),
    }
}

fn compress(c: Compression, bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    Ok(match c {
        Compression::None => bytes.to_vec(),
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(bytes)?;
            e.finish()?
        }
        Compression::Zstd => zstd::encode_all(bytes, 1)?,
    })
}

fn encoding_name(c: Compression) -> Option<&'static str> {
    match c {
        Compression::None => None,
        Compression::Gzip => Some("gzip"),
        Compression::Zstd => Some("zstd"),
    }
}

/// A ready-to-send body: for gRPC the length-prefixed message frame.
fn body(args: &Args, encoded: &[u8]) -> anyhow::Result<Bytes> {
    let wire = compress(args.compression, encoded)?;
    Ok(match args.protocol {
        Protocol::Http => Bytes::from(wire),
        Protocol::Grpc => {
            let mut b = BytesMut::with_capacity(5 + wire.len());
            b.put_u8(u8::from(args.compression != Compression::None));
            b.put_u32(u32::try_from(wire.len()).context("request over 4 GiB")?);
            b.put_slice(&wire);
            b.freeze()
        }
    })
}

fn path(args: &Args) -> &'static str {
    match (args.protocol, args.signal) {
        (Protocol::Grpc, Signal::Traces) => {
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
        }
        (Protocol::Grpc, Signal::Metrics) => {
            "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
        }
        (Protocol::Grpc, Signal::Logs) => {
            "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
        }
        (Protocol::Http, Signal::Traces) => "/v1/traces",
        (Protocol::Http, Signal::Metrics) => "/v1/metrics",
        (Protocol::Http, Signal::Logs) => "/v1/logs",
    }
}

enum Conn {
    H1(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

impl Conn {
    /// Another handle on the same HTTP/2 connection; `None` for HTTP/1.1.
    fn share(&self) -> Option<Conn> {
        match self {
            Conn::H1(_) => None,
            Conn::H2(s) => Some(Conn::H2(s.clone())),
        }
    }
}

async fn connect(protocol: Protocol, authority: &str) -> anyhow::Result<Conn> {
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .with_context(|| format!("connecting to {authority}"))?;
    stream.set_nodelay(true)?;
    let io = TokioIo::new(stream);
    Ok(match protocol {
        Protocol::Http => {
            let (s, conn) = hyper::client::conn::http1::handshake(io).await?;
            tokio::spawn(conn);
            Conn::H1(s)
        }
        Protocol::Grpc => {
            let (s, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
                .initial_stream_window_size(4 << 20)
                .initial_connection_window_size(8 << 20)
                .handshake(io)
                .await?;
            tokio::spawn(conn);
            Conn::H2(s)
        }
    })
}

/// How one request ended: accepted, or refused with a status.
enum Outcome {
    Accepted,
    Refused(String),
}

async fn send(conn: &mut Conn, req: hyper::Request<Full<Bytes>>) -> anyhow::Result<Outcome> {
    let resp = match conn {
        Conn::H1(s) => {
            s.ready().await?;
            s.send_request(req).await?
        }
        Conn::H2(s) => {
            s.ready().await?;
            s.send_request(req).await?
        }
    };
    let status = resp.status();
    let header_status = resp
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // Read the whole answer (and, for gRPC, its trailers) so the connection is reused.
    let collected = resp.into_body().collect().await?;
    if let Conn::H2(_) = conn {
        let code = header_status.or_else(|| {
            collected
                .trailers()
                .and_then(|t| t.get("grpc-status"))
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        });
        return Ok(match code.as_deref() {
            Some("0") => Outcome::Accepted,
            Some(c) => Outcome::Refused(format!("grpc:{c}")),
            None => Outcome::Refused(format!("http:{}", status.as_u16())),
        });
    }
    Ok(if status.is_success() {
        Outcome::Accepted
    } else {
        Outcome::Refused(format!("http:{}", status.as_u16()))
    })
}

#[derive(Default)]
struct Tally {
    requests: u64,
    accepted: u64,
    refused: BTreeMap<String, u64>,
    latency_us: Vec<u32>,
    wire_bytes: u64,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.http {
        args.protocol = Protocol::Http;
    }
    anyhow::ensure!(args.concurrency > 0 && args.in_flight > 0 && args.batch > 0 && args.pool > 0);
    let uri: hyper::Uri = args.endpoint.parse().context("--endpoint")?;
    let authority = uri
        .authority()
        .context("--endpoint needs host:port")?
        .to_string();
    let args = Arc::new(args);

    // Every request encoded before the clock starts.
    let mut pools = Vec::new();
    let mut request_bytes = 0;
    for c in 0..args.concurrency {
        let mut pool = Vec::new();
        for i in 0..args.pool as u64 {
            let encoded = encode(&args, &payload(&args, (c << 40) + i * args.batch));
            request_bytes = encoded.len();
            pool.push(body(&args, &encoded)?);
        }
        pools.push(pool);
    }

    let interval = (args.rate > 0).then(|| {
        Duration::from_secs_f64(
            args.batch as f64 * (args.concurrency * args.in_flight) as f64 / args.rate as f64,
        )
    });
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(args.seconds);
    let mut tasks = Vec::new();
    let mut workers = Vec::new();
    for pool in pools {
        let pool = Arc::new(pool);
        let first = connect(args.protocol, &authority).await?;
        for _ in 1..args.in_flight {
            let conn = match first.share() {
                Some(c) => c,
                None => connect(args.protocol, &authority).await?,
            };
            workers.push((pool.clone(), conn));
        }
        workers.push((pool, first));
    }
    for (pool, conn) in workers {
        let (args, authority) = (args.clone(), authority.clone());
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut conn = conn;
            let mut ticker = interval.map(|i| {
                let mut t = tokio::time::interval(i);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            });
            let uri = format!("http://{authority}{}", path(&args));
            let content_type = match (args.protocol, args.encoding) {
                (Protocol::Grpc, _) => "application/grpc",
                (Protocol::Http, Encoding::Protobuf) => "application/x-protobuf",
                (Protocol::Http, Encoding::Json) => "application/json",
            };
            let mut next = 0;
            while Instant::now() < end {
                if let Some(t) = ticker.as_mut() {
                    t.tick().await;
                }
                let body: &Bytes = &pool[next % pool.len()];
                next += 1;
                let mut req =
                    hyper::Request::post(uri.as_str()).header("content-type", content_type);
                if let Some(e) = encoding_name(args.compression) {
                    req = match args.protocol {
                        Protocol::Grpc => req.header("grpc-encoding", e),
                        Protocol::Http => req.header("content-encoding", e),
                    };
                }
                if args.protocol == Protocol::Grpc {
                    req = req.header("te", "trailers");
                }
                let req = req.body(Full::new(body.clone()))?;
                let sent_at = Instant::now();
                tally.requests += 1;
                tally.wire_bytes += body.len() as u64;
                match send(&mut conn, req).await {
                    Ok(Outcome::Accepted) => {
                        tally.accepted += args.batch;
                        let us = sent_at.elapsed().as_micros();
                        tally.latency_us.push(u32::try_from(us).unwrap_or(u32::MAX));
                    }
                    Ok(Outcome::Refused(status)) => *tally.refused.entry(status).or_default() += 1,
                    Err(_) => {
                        *tally.refused.entry("transport".into()).or_default() += 1;
                        conn = connect(args.protocol, &authority).await?;
                    }
                }
            }
            anyhow::Ok(tally)
        }));
    }
    let mut all = Tally::default();
    for t in tasks {
        let t = t.await??;
        all.requests += t.requests;
        all.accepted += t.accepted;
        all.wire_bytes += t.wire_bytes;
        all.latency_us.extend(t.latency_us);
        for (k, v) in t.refused {
            *all.refused.entry(k).or_default() += v;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    all.latency_us.sort_unstable();
    let l = &all.latency_us;
    let rate = all.accepted as f64 / seconds;
    let mut out = serde_json::json!({
        "signal": format!("{:?}", args.signal).to_lowercase(),
        "protocol": format!("{:?}", args.protocol).to_lowercase(),
        "encoding": format!("{:?}", if args.protocol == Protocol::Grpc { Encoding::Protobuf } else { args.encoding }).to_lowercase(),
        "compression": format!("{:?}", args.compression).to_lowercase(),
        "connections": args.concurrency,
        "in_flight_per_connection": args.in_flight,
        "items_per_request": args.batch,
        "target_rate": args.rate,
        "request_bytes": request_bytes,
        "wire_bytes": all.wire_bytes,
        "requests": all.requests,
        "items": all.accepted,
        "refused": all.refused,
        "refused_requests": all.refused.values().sum::<u64>(),
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "items_per_second": rate.round(),
        "latency_ms": {
            "p50": percentile(l, 0.50),
            "p90": percentile(l, 0.90),
            "p99": percentile(l, 0.99),
            "max": percentile(l, 1.0),
        },
    });
    if args.signal == Signal::Traces {
        out["sent_spans"] = all.accepted.into();
        out["spans_per_second"] = rate.round().into();
    }
    println!("{out}");
    Ok(())
}
