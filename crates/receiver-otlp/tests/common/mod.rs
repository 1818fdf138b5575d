//! Helpers shared by the integration tests: a recording consumer, a receiver on
//! 127.0.0.1 ports chosen by the OS, and a small HTTP/1.1 client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use stratus_core::factory::{BuildContext, SignalConsumers, decode_config};
use stratus_core::pdata::{common, logs, metrics, resource, trace};
use stratus_core::telemetry::Registry;
use stratus_core::{
    BoxConsumer, Component, ComponentId, ConsumeError, Consumer, Host, Payload, Signal, Telemetry,
};
use stratus_receiver_otlp::{Config, OtlpReceiver};

/// A consumer that keeps every batch and answers with a fixed result.
#[derive(Default)]
pub struct Recorder {
    pub batches: Mutex<Vec<Telemetry>>,
    pub answer: Option<ConsumeError>,
}

impl Recorder {
    pub fn ok() -> Arc<Self> {
        Arc::new(Recorder::default())
    }

    pub fn failing(err: ConsumeError) -> Arc<Self> {
        Arc::new(Recorder {
            batches: Mutex::new(Vec::new()),
            answer: Some(err),
        })
    }

    pub fn take(&self) -> Vec<Telemetry> {
        std::mem::take(&mut *self.batches.lock().unwrap())
    }

    pub fn count(&self) -> usize {
        self.batches.lock().unwrap().len()
    }
}

#[async_trait]
impl Consumer for Recorder {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        self.batches.lock().unwrap().push(data);
        self.answer.clone().map_or(Ok(()), Err)
    }
}

/// Consumers for every signal, all `c`.
pub fn all(c: &Arc<Recorder>) -> SignalConsumers {
    let b: BoxConsumer = c.clone();
    SignalConsumers {
        traces: Some(b.clone()),
        metrics: Some(b.clone()),
        logs: Some(b),
    }
}

/// Both protocols on 127.0.0.1 with OS-chosen ports, plus `extra` merged into each.
pub fn local_config(grpc: Value, http: Value) -> Value {
    let mut g = json!({"endpoint": "127.0.0.1:0"});
    let mut h = json!({"endpoint": "127.0.0.1:0"});
    merge(&mut g, grpc);
    merge(&mut h, http);
    json!({"protocols": {"grpc": g, "http": h}})
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(into), Value::Object(from)) = (into.as_object_mut(), from) {
        for (k, v) in from {
            into.insert(k, v);
        }
    }
}

pub struct Running {
    pub receiver: OtlpReceiver,
    pub registry: Registry,
}

impl Running {
    pub fn grpc(&self) -> SocketAddr {
        self.receiver.grpc_addr().unwrap()
    }

    pub fn http(&self) -> SocketAddr {
        self.receiver.http_addr().unwrap()
    }

    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc())
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http())
    }

    /// The value of one series in the rendered metrics, 0 when absent.
    pub fn metric(&self, name: &str, transport: &str) -> u64 {
        let needle = format!("{name}{{receiver=\"otlp\",transport=\"{transport}\"}} ");
        self.registry
            .render()
            .lines()
            .find_map(|l| l.strip_prefix(&needle).map(|v| v.trim().parse().unwrap()))
            .unwrap_or(0)
    }
}

/// Starts a receiver with `raw` config delivering to `next`.
pub async fn start(raw: Value, next: SignalConsumers) -> Running {
    let config: Config = decode_config(&raw).unwrap();
    let registry = Registry::new();
    let ctx = BuildContext::new(
        ComponentId::new("otlp"),
        Signal::ALL.to_vec(),
        registry.clone(),
    );
    let receiver = OtlpReceiver::new(&ctx, config, next);
    receiver.start(&Host::ready()).await.unwrap();
    Running { receiver, registry }
}

/// Polls `cond` every few milliseconds until it holds, failing after 10 s.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub struct HttpAnswer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl HttpAnswer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// Sends one HTTP/1.1 request on a new connection.
pub async fn send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> HttpAnswer {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    send_on(
        TokioIo::new(stream),
        addr,
        method,
        path,
        headers,
        body.into(),
    )
    .await
}

/// Sends one HTTP/1.1 request over an established stream.
pub async fn send_on<I>(
    io: I,
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> HttpAnswer
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = sender
        .send_request(req.body(Full::new(body)).unwrap())
        .await
        .unwrap();
    let (parts, body) = resp.into_parts();
    HttpAnswer {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

/// POSTs `body` with a content type and optional content encoding.
pub async fn post(
    addr: SocketAddr,
    path: &str,
    content_type: &str,
    encoding: Option<&str>,
    body: impl Into<Bytes>,
) -> HttpAnswer {
    let mut headers = vec![("content-type", content_type)];
    if let Some(e) = encoding {
        headers.push(("content-encoding", e));
    }
    send(addr, Method::POST, path, &headers, body).await
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

fn attr(key: &str, value: &str) -> common::KeyValue {
    common::KeyValue {
        key: key.into(),
        value: Some(common::AnyValue {
            value: Some(common::any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn res() -> Option<resource::Resource> {
    Some(resource::Resource {
        attributes: vec![attr("service.name", "checkout")],
        ..Default::default()
    })
}

/// `n` spans under one resource.
pub fn spans(n: usize) -> Vec<trace::ResourceSpans> {
    vec![trace::ResourceSpans {
        resource: res(),
        scope_spans: vec![trace::ScopeSpans {
            spans: (0..n)
                .map(|i| trace::Span {
                    trace_id: vec![1; 16],
                    span_id: vec![u8::try_from(i + 1).unwrap(); 8],
                    name: format!("span-{i}"),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }]
}

/// One gauge with `n` points.
pub fn gauge(n: usize) -> Vec<metrics::ResourceMetrics> {
    vec![metrics::ResourceMetrics {
        resource: res(),
        scope_metrics: vec![metrics::ScopeMetrics {
            metrics: vec![metrics::Metric {
                name: "queue.depth".into(),
                data: Some(metrics::metric::Data::Gauge(metrics::Gauge {
                    data_points: (0..n)
                        .map(|i| metrics::NumberDataPoint {
                            value: Some(metrics::number_data_point::Value::AsInt(
                                i64::try_from(i).unwrap(),
                            )),
                            ..Default::default()
                        })
                        .collect(),
                })),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }]
}

/// `n` log records.
pub fn records(n: usize) -> Vec<logs::ResourceLogs> {
    vec![logs::ResourceLogs {
        resource: res(),
        scope_logs: vec![logs::ScopeLogs {
            log_records: (0..n)
                .map(|i| logs::LogRecord {
                    body: Some(common::AnyValue {
                        value: Some(common::any_value::Value::StringValue(format!("line {i}"))),
                    }),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }]
}

/// The payload of the only batch recorded.
pub fn only_payload(r: &Recorder) -> Payload {
    let mut batches = r.take();
    assert_eq!(batches.len(), 1, "expected exactly one batch");
    batches.remove(0).payload.into_payload()
}
