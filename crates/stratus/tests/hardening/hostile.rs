//! Hostile input against the real stratus binary, with the OTLP receiver's default
//! settings (only the endpoints are set, to free ports): every case gets a clear HTTP
//! status or gRPC code, the process stays up and keeps serving, and its peak memory
//! (`VmHWM` in `/proc/<pid>/status`) stays bounded.
//!
//! The slow-client test runs a second config with short `read_header_timeout`,
//! `read_timeout` and `idle_timeout`, and polls (with a bounded deadline) for the
//! server to close each slow connection.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::common::{DEADLINE, Stratus, free_port, wait_for, wait_port};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use stratus_core::rpc::RpcStatus;
use tonic::{Code, Status};

const TRACES_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const MIB: usize = 1 << 20;
/// The peak memory every test process must stay under.
const RSS_BOUND_KIB: u64 = 200 * 1024;

struct Ports {
    grpc: u16,
    http: u16,
    metrics: u16,
}

/// The receiver with its defaults (endpoints only) into a `nop` exporter; `http_extra`
/// is added to the `http` block.
fn config(ports: &Ports, http_extra: &str) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
      http:
        endpoint: 127.0.0.1:{http}
{http_extra}
exporters:
  nop:
service:
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [nop]
    metrics:
      receivers: [otlp]
      exporters: [nop]
"#,
        grpc = ports.grpc,
        http = ports.http,
        metrics = ports.metrics,
    )
}

fn start(name: &str, http_extra: &str) -> (tempfile::TempDir, Stratus, Ports) {
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports {
        grpc: free_port(),
        http: free_port(),
        metrics: free_port(),
    };
    let mut stratus = Stratus::start(dir.path(), name, &config(&ports, http_extra));
    stratus.wait_running();
    wait_port(ports.grpc);
    wait_port(ports.http);
    (dir, stratus, ports)
}

/// Peak resident memory of `pid`, in KiB.
fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The process is alive, serves a good request on both protocols, and its peak
/// memory stayed under [`RSS_BOUND_KIB`].
fn assert_healthy(stratus: &mut Stratus, ports: &Ports) {
    assert!(stratus.running(), "stratus died:\n{}", stratus.logs());
    let (status, _) = http_post(ports.http, &[], &good_request());
    assert_eq!(status, 200);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut client = TraceServiceClient::connect(format!("http://127.0.0.1:{}", ports.grpc))
            .await
            .unwrap();
        client
            .export(ExportTraceServiceRequest::decode(&good_request()[..]).unwrap())
            .await
            .unwrap();
    });
    let hwm = vm_hwm_kib(stratus.pid());
    eprintln!("peak memory (VmHWM): {hwm} KiB");
    assert!(
        hwm < RSS_BOUND_KIB,
        "peak memory {hwm} KiB, over the {RSS_BOUND_KIB} KiB bound"
    );
    assert!(!stratus.logs().contains("panicked"), "{}", stratus.logs());
}

// ---- payloads ----

fn field(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    varint(out, body.len());
    out.extend_from_slice(body);
}

fn varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// An `ExportTraceServiceRequest` with one span named `name` (raw bytes) whose
/// attributes field holds `attributes` (encoded `KeyValue`s, each with its tag).
fn span_request(name: &[u8], attributes: &[u8]) -> Vec<u8> {
    let mut span = Vec::new();
    field(&mut span, 0x0a, &[1; 16]); // trace_id
    field(&mut span, 0x12, &[2; 8]); // span_id
    field(&mut span, 0x2a, name);
    span.extend_from_slice(attributes);
    let mut scope = Vec::new();
    field(&mut scope, 0x12, &span);
    let mut resource = Vec::new();
    field(&mut resource, 0x12, &scope);
    let mut req = Vec::new();
    field(&mut req, 0x0a, &resource);
    req
}

/// One attribute `key` = `value` (an encoded `AnyValue`), as a `Span.attributes` field.
fn attribute(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut kv = Vec::new();
    field(&mut kv, 0x0a, key);
    field(&mut kv, 0x12, value);
    let mut out = Vec::new();
    field(&mut out, 0x4a, &kv);
    out
}

fn string_value(s: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    field(&mut v, 0x0a, s);
    v
}

/// `inner` framed as field `tag` of each message in `tags`, innermost first.
fn nest(tags: &[u8], inner: Vec<u8>) -> Vec<u8> {
    tags.iter().fold(inner, |body, &tag| {
        let mut out = Vec::with_capacity(body.len() + 6);
        field(&mut out, tag, &body);
        out
    })
}

/// An `ExportTraceServiceRequest` of about `bytes` bytes: one scope of empty spans,
/// 2 bytes each on the wire, a whole `Span` each once decoded.
fn empty_spans(bytes: usize) -> Vec<u8> {
    // ScopeSpans.spans = 2; ResourceSpans.scope_spans = 2; request.resource_spans = 1.
    nest(&[0x12, 0x0a], [0x12, 0x00].repeat((bytes - 16) / 2))
}

/// An `ExportMetricsServiceRequest` of about `bytes` bytes: one gauge of empty
/// data points.
fn empty_data_points(bytes: usize) -> Vec<u8> {
    // Gauge.data_points = 1; Metric.gauge = 5; ScopeMetrics.metrics = 2;
    // ResourceMetrics.scope_metrics = 2; request.resource_metrics = 1.
    nest(
        &[0x2a, 0x12, 0x12, 0x0a],
        [0x0a, 0x00].repeat((bytes - 32) / 2),
    )
}

/// The same spans as OTLP/JSON: `{}` each.
fn empty_spans_json(bytes: usize) -> Vec<u8> {
    let head = br#"{"resourceSpans":[{"scopeSpans":[{"spans":["#;
    let mut out = head.to_vec();
    out.extend_from_slice(&b"{},".repeat((bytes - head.len() - 10) / 3));
    out.extend_from_slice(b"{}]}]}]}");
    out
}

fn good_request() -> Vec<u8> {
    span_request(b"good", &attribute(b"k", &string_value(b"v")))
}

/// An `AnyValue` nested `depth` arrays deep, built back to front.
fn nested_any_value(depth: usize) -> Vec<u8> {
    let mut rev: Vec<u8> = Vec::new();
    for _ in 0..depth {
        for tag in [0x0a, 0x2a] {
            let mut len = Vec::new();
            varint(&mut len, rev.len());
            rev.extend(len.iter().rev());
            rev.push(tag);
        }
    }
    rev.reverse();
    rev
}

fn nested_json(depth: usize) -> String {
    let value = format!(
        "{}{{}}{}",
        r#"{"arrayValue":{"values":["#.repeat(depth),
        "]}}".repeat(depth)
    );
    format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"name":"s","attributes":[{{"key":"k","value":{value}}}]}}]}}]}}]}}"#
    )
}

/// A gzip member that inflates to `mib` MiB of zeros in about 1 KiB per MiB: one
/// sync-flushed deflate block of zeros, repeated (each refers back only to zeros).
fn gzip_bomb(mib: usize) -> Vec<u8> {
    use flate2::write::DeflateEncoder;
    let zeros = vec![0u8; MIB];
    let mut enc = DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&zeros).unwrap();
    enc.flush().unwrap();
    let first = enc.get_ref().len();
    enc.write_all(&zeros).unwrap();
    enc.flush().unwrap();
    let second = enc.get_ref()[first..].to_vec();
    let all = enc.finish().unwrap();
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend_from_slice(&all[..first]);
    for _ in 1..mib {
        out.extend_from_slice(&second);
    }
    out.extend_from_slice(&all[first + second.len()..]);
    // The trailer (CRC, length) is never reached: the receiver stops at its limit.
    out.extend_from_slice(&[0; 8]);
    out
}

fn truncated(mut body: Vec<u8>) -> Vec<u8> {
    body.truncate(body.len() / 2);
    body
}

// ---- HTTP ----

/// A `POST /v1/traces` over HTTP/1.1 with `headers`; returns the status and the error
/// message (from the `google.rpc.Status` body, or the text body).
fn http_post(port: u16, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    http_post_to(port, "/v1/traces", headers, body)
}

fn http_post_to(port: u16, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let mut all = vec![("Content-Type", "application/x-protobuf")];
    all.retain(|(k, _)| !headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(k)));
    all.extend_from_slice(headers);
    all.retain(|(_, v)| !v.is_empty());
    let r = super::common::http("POST", port, path, &all, body);
    let message = match RpcStatus::decode(&r.body[..]) {
        Ok(s) if !s.message.is_empty() => s.message,
        _ => r.text(),
    };
    (r.status, message)
}

#[test]
fn http_hostile_inputs() {
    let (_dir, mut stratus, ports) = start("http", "");
    let port = ports.http;
    let post = |headers: &[(&str, &str)], body: &[u8]| http_post(port, headers, body);

    let (status, msg) = post(&[], &[0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2]);
    assert_eq!(status, 400, "malformed protobuf: {msg}");
    assert!(msg.contains("cannot decode protobuf request"), "{msg}");

    let (status, msg) = post(&[], &span_request(b"\xff\xfe", &[]));
    assert_eq!(status, 400, "invalid UTF-8: {msg}");
    assert!(msg.contains("not UTF-8"), "{msg}");
    let mut json = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"#.to_vec();
    json.extend_from_slice(b"\"\xff\xfe\"}]}]}]}");
    let (status, msg) = post(&[("Content-Type", "application/json")], &json);
    assert_eq!(status, 400, "invalid UTF-8 in JSON: {msg}");

    let deep = span_request(b"s", &attribute(b"k", &nested_any_value(10_000)));
    let (status, msg) = post(&[], &deep);
    assert_eq!(status, 400, "deep protobuf: {msg}");
    assert!(
        msg.contains("nested more than 100 deep (the depth limit)"),
        "{msg}"
    );
    let (status, msg) = post(
        &[("Content-Type", "application/json")],
        nested_json(10_000).as_bytes(),
    );
    assert_eq!(status, 400, "deep JSON: {msg}");
    assert!(
        msg.contains("nested more than 128 deep (the depth limit)"),
        "{msg}"
    );

    let (status, _) = post(&[("Content-Type", "text/plain")], &good_request());
    assert_eq!(status, 415);
    let (status, _) = post(&[("Content-Type", "")], &good_request());
    assert_eq!(status, 415);

    // Truncated compressed bodies.
    let good = good_request();
    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&good).unwrap();
        e.finish().unwrap()
    };
    let zs = zstd::encode_all(&good[..], 3).unwrap();
    for (encoding, body) in [("gzip", gz), ("zstd", zs)] {
        let (status, msg) = post(&[("Content-Encoding", encoding)], &body);
        assert_eq!(status, 200, "{encoding}: {msg}");
        let (status, msg) = post(&[("Content-Encoding", encoding)], &truncated(body));
        assert_eq!(status, 400, "truncated {encoding}: {msg}");
    }

    // Bombs: 1 GiB of zeros, cut at max_request_body_size (20 MiB) while inflating.
    let bomb = gzip_bomb(1024);
    assert!(bomb.len() < 2 * MIB, "{}", bomb.len());
    let (status, msg) = post(&[("Content-Encoding", "gzip")], &bomb);
    assert_eq!(status, 413, "gzip bomb: {msg}");
    let zeros = vec![0u8; MIB];
    let zbomb = zstd::encode_all(&zeros[..], 3).unwrap().repeat(1024);
    let (status, msg) = post(&[("Content-Encoding", "zstd")], &zbomb);
    assert_eq!(status, 413, "zstd bomb: {msg}");
    assert!(stratus.running());

    // Declared over the limit: refused on the header, before any body is sent.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        s,
        "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 1073741824\r\n\r\n"
    )
    .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 413", "{}", String::from_utf8_lossy(&head));

    // Large but legal: a million attributes (7 MB), and a 15 MiB string.
    let million: Vec<u8> = (0..1_000_000).flat_map(|_| attribute(b"a", &[])).collect();
    let (status, msg) = post(&[], &span_request(b"many", &million));
    assert_eq!(status, 200, "a million attributes: {msg}");
    let huge = vec![b'x'; 15 * MIB];
    let (status, msg) = post(
        &[],
        &span_request(b"huge", &attribute(b"k", &string_value(&huge))),
    );
    assert_eq!(status, 200, "a 15 MiB string: {msg}");

    // Decoded-size amplification: 20 MiB (the body limit) of empty spans would
    // decode to gigabytes; refused by its decoded-size bound before decoding,
    // as protobuf, as JSON, gzipped (the bound is of the inflated body), and as
    // empty metric data points.
    let amplified = [
        (
            "/v1/traces",
            "application/x-protobuf",
            None,
            empty_spans(20 * MIB),
        ),
        (
            "/v1/traces",
            "application/json",
            None,
            empty_spans_json(20 * MIB),
        ),
        (
            "/v1/metrics",
            "application/x-protobuf",
            None,
            empty_data_points(20 * MIB),
        ),
        (
            "/v1/traces",
            "application/x-protobuf",
            Some("gzip"),
            gzip(&empty_spans(20 * MIB)),
        ),
    ];
    for (path, content_type, encoding, body) in amplified {
        assert!(body.len() <= 20 * MIB);
        let headers = [
            ("Content-Type", content_type),
            ("Content-Encoding", encoding.unwrap_or("")),
        ];
        let (status, msg) = http_post_to(port, path, &headers, &body);
        assert_eq!(status, 413, "{path} {content_type} {encoding:?}: {msg}");
        assert!(msg.contains("decodes to more than 320 MiB"), "{msg}");
        assert!(stratus.running());
    }

    assert_healthy(&mut stratus, &ports);
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(body).unwrap();
    e.finish().unwrap()
}

#[test]
fn http_snappy_and_lz4_bodies() {
    let (_dir, mut stratus, ports) = start("compression", "");
    let good = good_request();
    let block = snap::raw::Encoder::new().compress_vec(&good).unwrap();
    let framed = {
        let mut e = snap::write::FrameEncoder::new(Vec::new());
        e.write_all(&good).unwrap();
        e.into_inner().unwrap()
    };
    let lz4 = {
        let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
        e.write_all(&good).unwrap();
        e.finish().unwrap()
    };
    for (encoding, body) in [
        ("snappy", &block),
        ("snappy", &framed),
        ("x-snappy-framed", &framed),
        ("lz4", &lz4),
    ] {
        let (status, msg) = http_post(ports.http, &[("Content-Encoding", encoding)], body);
        assert_eq!(status, 200, "{encoding}: {msg}");
        let (status, msg) = http_post(
            ports.http,
            &[("Content-Encoding", encoding)],
            &body[..body.len() / 2],
        );
        assert_eq!(status, 400, "truncated {encoding}: {msg}");
    }
    // Bombs: lz4 1 GiB; snappy (20:1 at best) declared 1 GiB in the block header.
    let zeros = vec![0u8; MIB];
    let lz4_bomb = {
        let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
        e.write_all(&zeros).unwrap();
        e.finish().unwrap()
    }
    .repeat(1024);
    let (status, msg) = http_post(ports.http, &[("Content-Encoding", "lz4")], &lz4_bomb);
    assert_eq!(status, 413, "lz4 bomb: {msg}");
    let mut claims = Vec::new();
    varint(&mut claims, 1 << 30);
    claims.extend_from_slice(&[0; 16]);
    let (status, msg) = http_post(ports.http, &[("Content-Encoding", "snappy")], &claims);
    assert_eq!(status, 413, "snappy claiming 1 GiB: {msg}");
    let (status, msg) = http_post(ports.http, &[("Content-Encoding", "br")], &good);
    assert_eq!(status, 400, "unknown encoding: {msg}");
    assert_healthy(&mut stratus, &ports);
}

// ---- gRPC ----

/// A gRPC length-prefixed message.
fn frame(compressed: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![u8::from(compressed)];
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// One trace export call with a hand-made body; returns its status.
async fn grpc_call(addr: SocketAddr, encoding: Option<&str>, messages: Vec<u8>) -> Status {
    grpc_call_at(addr, TRACES_PATH, encoding, messages).await
}

/// One uncompressed call of `path`.
async fn grpc_call_to(addr: SocketAddr, path: &str, messages: Vec<u8>) -> Status {
    grpc_call_at(addr, path, None, messages).await
}

async fn grpc_call_at(
    addr: SocketAddr,
    path: &str,
    encoding: Option<&str>,
    messages: Vec<u8>,
) -> Status {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut req = http::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(e) = encoding {
        req = req.header("grpc-encoding", e);
    }
    let resp = send
        .send_request(req.body(Full::new(Bytes::from(messages))).unwrap())
        .await
        .unwrap();
    let (parts, body) = resp.into_parts();
    if let Some(status) = Status::from_header_map(&parts.headers) {
        return status;
    }
    let collected = body.collect().await.unwrap();
    Status::from_header_map(collected.trailers().unwrap()).unwrap()
}

#[test]
fn grpc_hostile_inputs() {
    let (_dir, mut stratus, ports) = start("grpc", "");
    let addr: SocketAddr = format!("127.0.0.1:{}", ports.grpc).parse().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(grpc_cases(addr));
    assert_healthy(&mut stratus, &ports);
}

async fn grpc_cases(addr: SocketAddr) {
    let call = |encoding: Option<&'static str>, body: Vec<u8>| grpc_call(addr, encoding, body);

    let st = call(None, frame(false, &[0x0a, 0xff, 0xff, 0xff, 0x0f, 1])).await;
    assert_eq!(st.code(), Code::InvalidArgument, "malformed: {st:?}");
    let st = call(None, frame(false, &span_request(b"\xff\xfe", &[]))).await;
    assert_eq!(st.code(), Code::InvalidArgument, "UTF-8: {st:?}");
    assert!(st.message().contains("not UTF-8"), "{st:?}");
    let deep = span_request(b"s", &attribute(b"k", &nested_any_value(10_000)));
    let st = call(None, frame(false, &deep)).await;
    assert_eq!(st.code(), Code::InvalidArgument, "deep: {st:?}");
    assert!(st.message().contains("(the depth limit)"), "{st:?}");

    let good = good_request();
    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&good).unwrap();
        e.finish().unwrap()
    };
    let zs = zstd::encode_all(&good[..], 3).unwrap();
    for (encoding, body) in [("gzip", gz), ("zstd", zs)] {
        let st = call(Some(encoding), frame(true, &body)).await;
        assert_eq!(st.code(), Code::Ok, "{encoding}: {st:?}");
        let st = call(Some(encoding), frame(true, &truncated(body))).await;
        assert_eq!(
            st.code(),
            Code::InvalidArgument,
            "truncated {encoding}: {st:?}"
        );
    }
    let mut cut = frame(false, &good);
    cut.truncate(cut.len() - 3);
    let st = call(None, cut).await;
    assert_eq!(
        st.code(),
        Code::InvalidArgument,
        "cut inside a message: {st:?}"
    );

    // Bombs, cut at max_recv_msg_size_mib (4 MiB) while inflating.
    let st = call(Some("gzip"), frame(true, &gzip_bomb(1024))).await;
    assert_eq!(st.code(), Code::ResourceExhausted, "gzip bomb: {st:?}");
    let zeros = vec![0u8; MIB];
    let zbomb = zstd::encode_all(&zeros[..], 3).unwrap().repeat(1024);
    let st = call(Some("zstd"), frame(true, &zbomb)).await;
    assert_eq!(st.code(), Code::ResourceExhausted, "zstd bomb: {st:?}");
    // Declared over the limit: refused on the length prefix.
    let mut huge = vec![0u8];
    huge.extend_from_slice(&(1u32 << 30).to_be_bytes());
    let st = call(None, huge).await;
    assert_eq!(st.code(), Code::OutOfRange, "declared 1 GiB: {st:?}");

    // A million attributes (7 MB) is over the 4 MiB message limit; 500,000 is not.
    let many: Vec<u8> = (0..1_000_000).flat_map(|_| attribute(b"a", &[])).collect();
    let st = call(None, frame(false, &span_request(b"many", &many))).await;
    assert_eq!(st.code(), Code::OutOfRange, "a million attributes: {st:?}");
    let st = call(
        None,
        frame(false, &span_request(b"many", &many[..many.len() / 2])),
    )
    .await;
    assert_eq!(st.code(), Code::Ok, "500,000 attributes: {st:?}");

    // Decoded-size amplification: a 4 MiB message (the limit) of empty spans, of
    // empty attributes, gzipped: refused by its decoded-size bound before decoding.
    let empty_attrs: Vec<u8> = [0x4a, 0x00].repeat(2 * MIB - 64);
    for (what, encoding, message) in [
        ("empty spans", None, empty_spans(4 * MIB)),
        ("empty attributes", None, span_request(b"s", &empty_attrs)),
        (
            "gzipped empty spans",
            Some("gzip"),
            gzip(&empty_spans(4 * MIB)),
        ),
    ] {
        let st = call(encoding, frame(encoding.is_some(), &message)).await;
        assert_eq!(st.code(), Code::ResourceExhausted, "{what}: {st:?}");
        assert!(
            st.message().contains("decodes to more than 64 MiB"),
            "{what}: {st:?}"
        );
    }
    let metrics = grpc_call_to(
        addr,
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        frame(false, &empty_data_points(4 * MIB)),
    )
    .await;
    assert_eq!(metrics.code(), Code::ResourceExhausted, "{metrics:?}");
    assert!(
        metrics.message().contains("decodes to more than 64 MiB"),
        "{metrics:?}"
    );
}

// ---- HTTP/2 abuse, with raw frames ----

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const SETTINGS: u8 = 0x4;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const GOAWAY: u8 = 0x7;
const END_HEADERS: u8 = 0x4;

fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A request header block (HPACK, no Huffman, nothing indexed): `POST path` with
/// `content_type`.
fn header_block(path: &str, content_type: &str) -> Vec<u8> {
    let mut b = vec![0x83, 0x86]; // :method POST, :scheme http
    b.push(0x04); // :path, literal without indexing
    b.push(path.len() as u8);
    b.extend_from_slice(path.as_bytes());
    b.push(0x01); // :authority
    b.push(9);
    b.extend_from_slice(b"127.0.0.1");
    b.extend_from_slice(&[0x0f, 0x10]); // content-type (static index 31)
    b.push(content_type.len() as u8);
    b.extend_from_slice(content_type.as_bytes());
    b
}

struct H2Frame {
    kind: u8,
    flags: u8,
    payload: Vec<u8>,
}

fn read_frame(s: &mut TcpStream) -> Option<H2Frame> {
    let mut head = [0u8; 9];
    s.read_exact(&mut head).ok()?;
    let len = (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).ok()?;
    Some(H2Frame {
        kind: head[3],
        flags: head[4],
        payload,
    })
}

/// Opens an HTTP/2 connection: preface, settings exchanged both ways. Returns the
/// stream and the server's `SETTINGS_MAX_CONCURRENT_STREAMS`.
fn h2_connect(port: u16) -> (TcpStream, Option<u32>) {
    h2_try_connect(port).expect("server closed during the HTTP/2 handshake")
}

/// [`h2_connect`], or `None` when the server closed the connection.
fn h2_try_connect(port: u16) -> Option<(TcpStream, Option<u32>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    s.write_all(PREFACE).ok()?;
    s.write_all(&h2_frame(SETTINGS, 0, 0, &[])).ok()?;
    let mut max_streams = None;
    let mut acked = false;
    let mut got_settings = false;
    while !(acked && got_settings) {
        let f = read_frame(&mut s)?;
        if f.kind != SETTINGS {
            continue;
        }
        if f.flags & 1 == 1 {
            acked = true;
            continue;
        }
        got_settings = true;
        for setting in f.payload.chunks(6) {
            if setting[..2] == [0, 3] {
                max_streams = Some(u32::from_be_bytes(setting[2..6].try_into().unwrap()));
            }
        }
        s.write_all(&h2_frame(SETTINGS, 1, 0, &[])).ok()?;
    }
    Some((s, max_streams))
}

/// Sends `streams` requests each reset at once (the rapid-reset attack), while a
/// reader collects what the server answers; returns the GOAWAY error code, if any.
fn rapid_reset(port: u16, path: &str, content_type: &str, streams: u32) -> Option<u32> {
    let (s, _) = h2_connect(port);
    let mut reader = s.try_clone().unwrap();
    let goaway = std::thread::spawn(move || {
        while let Some(f) = read_frame(&mut reader) {
            if f.kind == GOAWAY {
                return Some(u32::from_be_bytes(f.payload[4..8].try_into().unwrap()));
            }
        }
        None
    });
    let block = header_block(path, content_type);
    let mut w = s;
    let mut batch = Vec::new();
    for i in 0..streams {
        let id = 2 * i + 1;
        batch.extend(h2_frame(HEADERS, END_HEADERS, id, &block));
        batch.extend(h2_frame(RST_STREAM, 0, id, &8u32.to_be_bytes())); // CANCEL
        if batch.len() > 64 * 1024 {
            if w.write_all(&batch).is_err() {
                break;
            }
            batch.clear();
        }
    }
    let _ = w.write_all(&batch);
    let _ = w.shutdown(std::net::Shutdown::Write);
    goaway.join().unwrap()
}

/// Opens `streams` requests that never send their body; returns how many the server
/// refused (`RST_STREAM REFUSED_STREAM`).
fn too_many_streams(port: u16, path: &str, content_type: &str, streams: u32) -> (Option<u32>, u32) {
    let (mut s, max) = h2_connect(port);
    let block = header_block(path, content_type);
    let mut all = Vec::new();
    for i in 0..streams {
        all.extend(h2_frame(HEADERS, END_HEADERS, 2 * i + 1, &block));
    }
    s.write_all(&all).unwrap();
    let mut refused = 0;
    let expected = streams - max.unwrap_or(streams);
    let start = Instant::now();
    while refused < expected && start.elapsed() < DEADLINE {
        let Some(f) = read_frame(&mut s) else { break };
        if f.kind == RST_STREAM && f.payload[..4] == 7u32.to_be_bytes() {
            refused += 1;
        }
    }
    (max, refused)
}

#[test]
fn http2_rapid_reset_and_too_many_streams() {
    let (_dir, mut stratus, ports) = start("h2", "");
    for (port, path, content_type) in [
        (ports.grpc, TRACES_PATH, "application/grpc"),
        (ports.http, "/v1/traces", "application/x-protobuf"),
    ] {
        // Rapid reset: the server gives up on the connection (GOAWAY
        // ENHANCE_YOUR_CALM) instead of serving every cancelled stream.
        let code = rapid_reset(port, path, content_type, 20_000);
        assert_eq!(code, Some(0xb), "port {port}: GOAWAY code");
        assert!(stratus.running());

        // Too many streams: the server advertises 200 and refuses the rest.
        let (max, refused) = too_many_streams(port, path, content_type, 300);
        assert_eq!(
            max,
            Some(200),
            "port {port}: SETTINGS_MAX_CONCURRENT_STREAMS"
        );
        assert_eq!(refused, 100, "port {port}: streams refused");
    }
    assert_healthy(&mut stratus, &ports);
}

// ---- connections ----

#[test]
fn connection_limit() {
    let (_dir, mut stratus, ports) = start("conns", "");
    for port in [ports.grpc, ports.http] {
        // 1024 idle connections (the default limit) are held...
        let held: Vec<TcpStream> = (0..1024)
            .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
            .collect();
        // ...and the next one is closed at once.
        let closed = wait_for("a connection over the limit to be closed", || {
            let mut extra = TcpStream::connect(("127.0.0.1", port)).unwrap();
            extra
                .set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            match extra.read(&mut [0u8; 1]) {
                Ok(0) => Some(true),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Some(true),
                _ => None,
            }
        });
        assert!(closed);
        drop(held);
        // Once they are gone, new connections are served again.
        wait_for("connections to be served again", || {
            if port == ports.http {
                (http_post(port, &[], &good_request()).0 == 200).then_some(())
            } else {
                h2_try_connect(port).and_then(|(_s, max)| max).map(|_| ())
            }
        });
    }
    let logs = stratus.logs();
    assert!(logs.contains("connection limit reached"), "{logs}");
    assert!(logs.contains("max_connections=1024"), "{logs}");
    assert_healthy(&mut stratus, &ports);
}

/// Polls until the server closes `s` (a read returns end of file or a reset),
/// writing `trickle` (if any) between reads; false if it stayed open past `limit`.
fn closed_within(s: &mut TcpStream, trickle: Option<&[u8]>, limit: Duration) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    while start.elapsed() < limit {
        if let Some(bytes) = trickle
            && s.write_all(bytes).is_err()
        {
            return true;
        }
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn slow_clients_are_cut_off() {
    let (_dir, mut stratus, ports) = start(
        "slow",
        "        read_header_timeout: 1s\n        read_timeout: 2s\n        idle_timeout: 1s",
    );
    let connect = || TcpStream::connect(("127.0.0.1", ports.http)).unwrap();
    let bound = Duration::from_secs(20);

    // Slowloris: headers one line at a time, never finished.
    let mut s = connect();
    s.write_all(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    assert!(
        closed_within(&mut s, Some(b"X-Slow: 1\r\n"), bound),
        "slow headers were not cut off"
    );

    // A body that never arrives: 408 once read_timeout passes, then closed.
    let mut s = connect();
    s.write_all(
        b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 1000\r\n\r\n0123456789",
    )
    .unwrap();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 408", "{}", String::from_utf8_lossy(&head));
    assert!(closed_within(&mut s, None, bound), "not closed after 408");

    // A connection that never sends anything, and one idle after a request.
    let mut s = connect();
    assert!(closed_within(&mut s, None, bound), "silent connection kept");
    let mut s = connect();
    let good = good_request();
    write!(
        s,
        "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
        good.len()
    )
    .unwrap();
    s.write_all(&good).unwrap();
    s.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    assert!(closed_within(&mut s, None, bound), "idle connection kept");

    assert_healthy(&mut stratus, &ports);
}
