//! OTLP over HTTP: encodings, compression, every error status, metadata, metrics.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

mod common;

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use serde_json::json;
use stratus_core::factory::SignalConsumers;
use stratus_core::pdata::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};
use stratus_core::rpc::RpcStatus;
use stratus_core::{BoxConsumer, ConsumeError, Payload};

const PROTO: &str = "application/x-protobuf";
const JSON: &str = "application/json";

fn compress(encoding: Option<&str>, body: Vec<u8>) -> Vec<u8> {
    match encoding {
        None => body,
        Some("gzip") => gzip(&body),
        Some("zstd") => zstd(&body),
        Some(other) => panic!("{other}"),
    }
}

#[tokio::test]
async fn protobuf_and_json_with_every_compression() {
    let rec = Recorder::ok();
    let r = start(local_config(json!({}), json!({})), all(&rec)).await;
    let addr = r.http();
    for encoding in [None, Some("gzip"), Some("zstd")] {
        // Protobuf.
        let body = ExportTraceServiceRequest {
            resource_spans: spans(3),
        }
        .encode_to_vec();
        let a = post(
            addr,
            "/v1/traces",
            PROTO,
            encoding,
            compress(encoding, body),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{encoding:?}");
        assert_eq!(a.header("content-type"), Some(PROTO));
        assert_eq!(
            ExportTraceServiceResponse::decode(a.body).unwrap(),
            ExportTraceServiceResponse::default()
        );
        assert_eq!(only_payload(&rec), Payload::Traces(spans(3)));

        let body = ExportMetricsServiceRequest {
            resource_metrics: gauge(2),
        }
        .encode_to_vec();
        let a = post(
            addr,
            "/v1/metrics",
            PROTO,
            encoding,
            compress(encoding, body),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK);
        ExportMetricsServiceResponse::decode(a.body).unwrap();
        assert_eq!(only_payload(&rec), Payload::Metrics(gauge(2)));

        let body = ExportLogsServiceRequest {
            resource_logs: records(4),
        }
        .encode_to_vec();
        let a = post(addr, "/v1/logs", PROTO, encoding, compress(encoding, body)).await;
        assert_eq!(a.status, StatusCode::OK);
        ExportLogsServiceResponse::decode(a.body).unwrap();
        assert_eq!(only_payload(&rec), Payload::Logs(records(4)));

        // JSON, with a charset parameter.
        let body = serde_json::to_vec(&ExportTraceServiceRequest {
            resource_spans: spans(2),
        })
        .unwrap();
        let a = post(
            addr,
            "/v1/traces",
            "application/json; charset=utf-8",
            encoding,
            compress(encoding, body),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{encoding:?}");
        assert_eq!(a.header("content-type"), Some(JSON));
        let resp: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(resp, json!({}));
        assert_eq!(only_payload(&rec), Payload::Traces(spans(2)));

        let body = serde_json::to_vec(&ExportMetricsServiceRequest {
            resource_metrics: gauge(3),
        })
        .unwrap();
        let a = post(
            addr,
            "/v1/metrics",
            JSON,
            encoding,
            compress(encoding, body),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(only_payload(&rec), Payload::Metrics(gauge(3)));

        let body = serde_json::to_vec(&ExportLogsServiceRequest {
            resource_logs: records(1),
        })
        .unwrap();
        let a = post(addr, "/v1/logs", JSON, encoding, compress(encoding, body)).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(only_payload(&rec), Payload::Logs(records(1)));
    }
    assert_eq!(r.metric("otelcol_receiver_accepted_spans", "http"), 15);
    assert_eq!(
        r.metric("otelcol_receiver_accepted_metric_points", "http"),
        15
    );
    assert_eq!(
        r.metric("otelcol_receiver_accepted_log_records", "http"),
        15
    );
    assert_eq!(r.metric("otelcol_receiver_accepted_spans", "grpc"), 0);
}

#[tokio::test]
async fn reference_json_payloads_arrive_as_their_protobuf_twins() {
    let rec = Recorder::ok();
    let r = start(local_config(json!({}), json!({})), all(&rec)).await;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/otlp-pairs");
    for (case, path) in [
        ("v01", "/v1/traces"),
        ("v02", "/v1/traces"),
        ("v03", "/v1/traces"),
        ("v04", "/v1/traces"),
        ("v05", "/v1/traces"),
        ("v06", "/v1/logs"),
        ("v07", "/v1/metrics"),
    ] {
        let json = std::fs::read(dir.join(format!("{case}.otlp.json"))).unwrap();
        let bin = std::fs::read(dir.join(format!("{case}.otlp.binpb"))).unwrap();
        let a = post(r.http(), path, JSON, None, json).await;
        assert_eq!(a.status, StatusCode::OK, "{case}");
        let expected = match path {
            "/v1/traces" => Payload::Traces(
                ExportTraceServiceRequest::decode(&bin[..])
                    .unwrap()
                    .resource_spans,
            ),
            "/v1/logs" => Payload::Logs(
                ExportLogsServiceRequest::decode(&bin[..])
                    .unwrap()
                    .resource_logs,
            ),
            _ => Payload::Metrics(
                ExportMetricsServiceRequest::decode(&bin[..])
                    .unwrap()
                    .resource_metrics,
            ),
        };
        assert!(!expected.is_empty());
        assert_eq!(only_payload(&rec), expected, "{case}");
        // The protobuf twin decodes the same way.
        let a = post(r.http(), path, PROTO, None, bin).await;
        assert_eq!(a.status, StatusCode::OK, "{case}");
        assert_eq!(only_payload(&rec), expected, "{case}");
    }
}

#[tokio::test]
async fn json_accepts_numbers_for_64_bit_integers_and_ignores_unknown_fields() {
    let rec = Recorder::ok();
    let r = start(local_config(json!({}), json!({})), all(&rec)).await;
    let body = json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [
        {"timeUnixNano": 1714557600000000000u64, "severityNumber": 9,
         "body": {"intValue": 42}, "futureField": true,
         "traceId": "0102030405060708090a0b0c0d0e0f10", "spanId": "0102030405060708"}
    ]}]}]});
    let a = post(r.http(), "/v1/logs", JSON, None, body.to_string()).await;
    assert_eq!(a.status, StatusCode::OK);
    let Payload::Logs(logs) = only_payload(&rec) else {
        panic!()
    };
    let record = &logs[0].scope_logs[0].log_records[0];
    assert_eq!(record.time_unix_nano, 1_714_557_600_000_000_000);
    assert_eq!(record.severity_number, 9);
    assert_eq!(record.trace_id, (1..=16).collect::<Vec<u8>>());
    assert_eq!(record.span_id, (1..=8).collect::<Vec<u8>>());
}

#[tokio::test]
async fn malformed_bodies_are_400_in_the_request_encoding() {
    let rec = Recorder::ok();
    let r = start(local_config(json!({}), json!({})), all(&rec)).await;
    let a = post(r.http(), "/v1/traces", PROTO, None, vec![0xff, 0xff, 0xff]).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.header("content-type"), Some(PROTO));
    let status = RpcStatus::decode(a.body).unwrap();
    assert_eq!(status.code, 3);
    assert!(status.message.contains("protobuf"), "{}", status.message);

    for bad in [
        "{not json",
        r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}"#,
        r#"{"resourceSpans": 7}"#,
    ] {
        let a = post(r.http(), "/v1/traces", JSON, None, bad).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(a.header("content-type"), Some(JSON));
        let status: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(status["code"], 3);
        assert!(status["message"].as_str().unwrap().contains("JSON"));
    }

    // Unsupported or corrupt compression.
    let body = ExportTraceServiceRequest {
        resource_spans: spans(1),
    }
    .encode_to_vec();
    let a = post(r.http(), "/v1/traces", PROTO, Some("br"), body.clone()).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(RpcStatus::decode(a.body).unwrap().message.contains("br"));
    let a = post(r.http(), "/v1/traces", JSON, Some("gzip"), "not gzip").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let status: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(status["code"], 3);
    let a = post(r.http(), "/v1/traces", PROTO, Some("zstd"), body).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(rec.count(), 0);
    assert_eq!(r.metric("otelcol_receiver_refused_spans", "http"), 0);
}

#[tokio::test]
async fn method_media_type_and_path_errors() {
    let rec = Recorder::ok();
    let r = start(local_config(json!({}), json!({})), all(&rec)).await;
    let a = send(r.http(), Method::GET, "/v1/traces", &[], Bytes::new()).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.header("allow"), Some("POST"));
    let a = send(
        r.http(),
        Method::PUT,
        "/v1/logs",
        &[("content-type", JSON)],
        "{}",
    )
    .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);

    let a = post(r.http(), "/v1/traces", "text/plain", None, "hello").await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(a.header("content-type").unwrap().starts_with("text/plain"));
    let a = send(r.http(), Method::POST, "/v1/traces", &[], "{}").await;
    assert_eq!(
        a.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "no content type"
    );

    for path in ["/", "/v1/trace", "/v1/traces/extra", "/v2/traces"] {
        let a = post(r.http(), path, JSON, None, "{}").await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(rec.count(), 0);
}

#[tokio::test]
async fn custom_paths_replace_the_defaults() {
    let rec = Recorder::ok();
    let r = start(
        local_config(json!({}), json!({"traces_url_path": "/otlp/spans"})),
        all(&rec),
    )
    .await;
    let body = ExportTraceServiceRequest {
        resource_spans: spans(1),
    }
    .encode_to_vec();
    let a = post(r.http(), "/otlp/spans", PROTO, None, body.clone()).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = post(r.http(), "/v1/traces", PROTO, None, body).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(rec.count(), 1);
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_before_and_after_decompression() {
    let rec = Recorder::ok();
    let limit = 64 * 1024;
    let r = start(
        local_config(json!({}), json!({"max_request_body_size": limit})),
        all(&rec),
    )
    .await;
    let mut big = spans(1);
    big[0].scope_spans[0].spans[0].name = "x".repeat(limit);
    let body = ExportTraceServiceRequest {
        resource_spans: big,
    }
    .encode_to_vec();
    assert!(body.len() > limit);

    let a = post(r.http(), "/v1/traces", PROTO, None, body.clone()).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(RpcStatus::decode(a.body).unwrap().code, 3);

    // Without Content-Length (chunked), the limit holds while reading.
    let stream = tokio::net::TcpStream::connect(r.http()).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let chunks = futures::stream::iter(
        body.chunks(8192)
            .map(|c| {
                Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(Bytes::copy_from_slice(
                    c,
                )))
            })
            .collect::<Vec<_>>(),
    );
    let req = http::Request::post("/v1/traces")
        .header("host", "x")
        .header("content-type", JSON)
        .body(http_body_util::StreamBody::new(chunks))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(resp.headers()["content-type"], JSON);

    // A gzip bomb: a few KB on the wire, far over the limit inflated.
    let bomb = gzip(&vec![0u8; 16 * 1024 * 1024]);
    assert!(bomb.len() < 32 * 1024, "{}", bomb.len());
    let a = post(r.http(), "/v1/traces", PROTO, Some("gzip"), bomb).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    let zbomb = zstd(&vec![0u8; 16 * 1024 * 1024]);
    let a = post(r.http(), "/v1/logs", JSON, Some("zstd"), zbomb).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    let status: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
    assert!(status["message"].as_str().unwrap().contains("decompressed"));

    // The same data compressed under the limit, but over it inflated.
    let a = post(r.http(), "/v1/traces", PROTO, Some("gzip"), gzip(&body)).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(rec.count(), 0);

    // Exactly at the limit is fine.
    let mut fits = spans(1);
    fits[0].scope_spans[0].spans[0].name = "x".repeat(limit - 200);
    let body = ExportTraceServiceRequest {
        resource_spans: fits,
    }
    .encode_to_vec();
    assert!(body.len() <= limit);
    let a = post(r.http(), "/v1/traces", PROTO, Some("gzip"), gzip(&body)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(rec.count(), 1);
}

#[tokio::test]
async fn retryable_refusal_is_503_with_retry_after_only_when_throttled() {
    let rec = Recorder::failing(ConsumeError::throttled(
        "memory limit",
        Duration::from_millis(2500),
    ));
    let r = start(local_config(json!({}), json!({})), all(&rec)).await;
    let body = ExportTraceServiceRequest {
        resource_spans: spans(2),
    }
    .encode_to_vec();
    let a = post(r.http(), "/v1/traces", PROTO, None, body).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.header("retry-after"), Some("3"));
    let status = RpcStatus::decode(a.body).unwrap();
    assert_eq!((status.code, status.message.as_str()), (14, "memory limit"));
    let body = serde_json::to_vec(&ExportTraceServiceRequest {
        resource_spans: spans(1),
    })
    .unwrap();
    let a = post(r.http(), "/v1/traces", JSON, None, body).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    let status: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(status["code"], 14);
    assert_eq!(
        status["details"][0]["@type"],
        "type.googleapis.com/google.rpc.RetryInfo"
    );
    assert_eq!(status["details"][0]["retryDelay"], "2.5s");
    assert_eq!(r.metric("otelcol_receiver_refused_spans", "http"), 3);
    assert_eq!(r.metric("otelcol_receiver_accepted_spans", "http"), 0);

    let rec = Recorder::failing(ConsumeError::retryable("exporter down"));
    let r = start(local_config(json!({}), json!({})), all(&rec)).await;
    let body = ExportLogsServiceRequest {
        resource_logs: records(1),
    }
    .encode_to_vec();
    let a = post(r.http(), "/v1/logs", PROTO, None, body).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.header("retry-after"), None);
    assert_eq!(r.metric("otelcol_receiver_refused_log_records", "http"), 1);
}

#[tokio::test]
async fn permanent_refusal_is_400() {
    let rec = Recorder::failing(ConsumeError::permanent("rejected by the destination"));
    let r = start(local_config(json!({}), json!({})), all(&rec)).await;
    let body = serde_json::to_vec(&ExportMetricsServiceRequest {
        resource_metrics: gauge(2),
    })
    .unwrap();
    let a = post(r.http(), "/v1/metrics", JSON, None, body).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.header("retry-after"), None);
    let status: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(
        status,
        json!({"code": 3, "message": "rejected by the destination"})
    );
    assert_eq!(
        r.metric("otelcol_receiver_refused_metric_points", "http"),
        2
    );
}

#[tokio::test]
async fn empty_requests_are_accepted_without_calling_the_pipeline() {
    let rec = Recorder::failing(ConsumeError::permanent("must not be called"));
    let r = start(local_config(json!({}), json!({})), all(&rec)).await;
    let a = post(r.http(), "/v1/traces", PROTO, None, Vec::new()).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = post(r.http(), "/v1/logs", JSON, None, "{}").await;
    assert_eq!(a.status, StatusCode::OK);
    let a = post(
        r.http(),
        "/v1/metrics",
        JSON,
        None,
        r#"{"resourceMetrics": []}"#,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(rec.count(), 0);
}

#[tokio::test]
async fn signal_without_pipeline_is_404() {
    let rec = Recorder::ok();
    let logs_only = SignalConsumers {
        logs: Some(rec.clone() as BoxConsumer),
        ..Default::default()
    };
    let r = start(local_config(json!({}), json!({})), logs_only).await;
    let a = post(r.http(), "/v1/traces", JSON, None, "{}").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = post(r.http(), "/v1/metrics", JSON, None, "{}").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let body = serde_json::to_vec(&ExportLogsServiceRequest {
        resource_logs: records(1),
    })
    .unwrap();
    let a = post(r.http(), "/v1/logs", JSON, None, body).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(rec.count(), 1);
}

#[tokio::test]
async fn include_metadata_passes_headers_down() {
    let rec = Recorder::ok();
    let r = start(
        local_config(json!({}), json!({"include_metadata": true})),
        all(&rec),
    )
    .await;
    let body = ExportTraceServiceRequest {
        resource_spans: spans(1),
    }
    .encode_to_vec();
    let a = send(
        r.http(),
        Method::POST,
        "/v1/traces",
        &[
            ("content-type", PROTO),
            ("X-Tenant", "acme"),
            ("x-tenant", "beta"),
        ],
        body.clone(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let batch = rec.take().remove(0);
    assert_eq!(batch.metadata.get("x-tenant"), ["acme", "beta"]);
    assert_eq!(batch.metadata.get("Content-Type"), [PROTO]);
    assert_eq!(
        batch.metadata.client_addr().unwrap().ip().to_string(),
        "127.0.0.1"
    );

    // Off by default: only the client address.
    let r = start(local_config(json!({}), json!({})), all(&rec)).await;
    let a = send(
        r.http(),
        Method::POST,
        "/v1/traces",
        &[("content-type", PROTO), ("x-tenant", "acme")],
        body,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let batch = rec.take().remove(0);
    assert_eq!(batch.metadata.headers().count(), 0);
    assert!(batch.metadata.client_addr().is_some());
}

#[tokio::test]
async fn http2_cleartext_is_served() {
    let rec = Recorder::ok();
    let r = start(local_config(json!({}), json!({})), all(&rec)).await;
    let stream = tokio::net::TcpStream::connect(r.http()).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let body = ExportTraceServiceRequest {
        resource_spans: spans(2),
    }
    .encode_to_vec();
    for _ in 0..2 {
        let req = http::Request::post(r.http_url("/v1/traces"))
            .header("content-type", PROTO)
            .body(Full::new(Bytes::from(body.clone())))
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.version(), http::Version::HTTP_2);
        resp.into_body().collect().await.unwrap();
    }
    assert_eq!(rec.count(), 2);
}

#[tokio::test]
async fn cors_preflight_and_response_headers() {
    let rec = Recorder::ok();
    let r = start(
        local_config(
            json!({}),
            json!({"cors": {"allowed_origins": ["https://*.example.com"],
                            "allowed_headers": ["X-Tenant"], "max_age": 600}}),
        ),
        all(&rec),
    )
    .await;
    let preflight = |origin: &'static str, headers: &'static str| {
        let addr = r.http();
        async move {
            send(
                addr,
                Method::OPTIONS,
                "/v1/traces",
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", headers),
                ],
                Bytes::new(),
            )
            .await
        }
    };
    let a = preflight("https://app.example.com", "content-type, x-tenant").await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(
        a.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(a.header("access-control-allow-methods"), Some("POST"));
    assert_eq!(
        a.header("access-control-allow-headers"),
        Some("content-type, x-tenant")
    );
    assert_eq!(a.header("access-control-max-age"), Some("600"));
    let a = preflight("https://evil.test", "content-type").await;
    assert_eq!(a.header("access-control-allow-origin"), None);
    let a = preflight("https://app.example.com", "x-secret").await;
    assert_eq!(a.header("access-control-allow-origin"), None);

    let body = serde_json::to_vec(&ExportTraceServiceRequest {
        resource_spans: spans(1),
    })
    .unwrap();
    let a = send(
        r.http(),
        Method::POST,
        "/v1/traces",
        &[
            ("content-type", JSON),
            ("origin", "https://app.example.com"),
        ],
        body,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(rec.count(), 1);

    // Without `cors`, OPTIONS is just another method.
    let r = start(local_config(json!({}), json!({})), all(&rec)).await;
    let a = send(
        r.http(),
        Method::OPTIONS,
        "/v1/traces",
        &[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "POST"),
        ],
        Bytes::new(),
    )
    .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
}
