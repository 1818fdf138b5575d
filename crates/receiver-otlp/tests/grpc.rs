//! OTLP over gRPC, driven by the generated OpenTelemetry clients.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use serde_json::json;
use stratus_core::factory::SignalConsumers;
use stratus_core::pdata::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};
use stratus_core::rpc::{ProtoDuration, RetryInfo, RpcStatus};
use stratus_core::{BoxConsumer, Component, ConsumeError, Payload};
use tonic::Code;
use tonic::codec::CompressionEncoding;

#[tokio::test]
async fn exports_every_signal_plain_gzip_and_zstd() {
    let rec = Recorder::ok();
    let r = start(local_config(json!({}), json!({})), all(&rec)).await;
    for enc in [
        None,
        Some(CompressionEncoding::Gzip),
        Some(CompressionEncoding::Zstd),
    ] {
        let mut traces = TraceServiceClient::connect(r.grpc_url()).await.unwrap();
        let mut metrics = MetricsServiceClient::connect(r.grpc_url()).await.unwrap();
        let mut logs = LogsServiceClient::connect(r.grpc_url()).await.unwrap();
        if let Some(enc) = enc {
            traces = traces.send_compressed(enc).accept_compressed(enc);
            metrics = metrics.send_compressed(enc).accept_compressed(enc);
            logs = logs.send_compressed(enc).accept_compressed(enc);
        }

        let resp = traces
            .export(ExportTraceServiceRequest {
                resource_spans: spans(3),
            })
            .await
            .unwrap();
        let sent_back = resp
            .metadata()
            .get("grpc-encoding")
            .map(|v| v.to_str().unwrap());
        let expected = enc.map(|e| e.to_string());
        assert_eq!(
            sent_back,
            expected.as_deref(),
            "response compression for {enc:?}"
        );
        assert_eq!(resp.into_inner().partial_success, None);
        assert_eq!(only_payload(&rec), Payload::Traces(spans(3)), "{enc:?}");

        let resp = metrics
            .export(ExportMetricsServiceRequest {
                resource_metrics: gauge(4),
            })
            .await
            .unwrap();
        assert_eq!(resp.into_inner().partial_success, None);
        assert_eq!(only_payload(&rec), Payload::Metrics(gauge(4)), "{enc:?}");

        let resp = logs
            .export(ExportLogsServiceRequest {
                resource_logs: records(2),
            })
            .await
            .unwrap();
        assert_eq!(resp.into_inner().partial_success, None);
        assert_eq!(only_payload(&rec), Payload::Logs(records(2)), "{enc:?}");
    }
    assert_eq!(r.metric("otelcol_receiver_accepted_spans", "grpc"), 9);
    assert_eq!(
        r.metric("otelcol_receiver_accepted_metric_points", "grpc"),
        12
    );
    assert_eq!(r.metric("otelcol_receiver_accepted_log_records", "grpc"), 6);
    assert_eq!(r.metric("otelcol_receiver_refused_spans", "grpc"), 0);
    assert_eq!(r.metric("otelcol_receiver_accepted_spans", "http"), 0);
}

#[tokio::test]
async fn empty_request_is_accepted_without_calling_the_pipeline() {
    let rec = Recorder::failing(ConsumeError::permanent("must not be called"));
    let r = start(local_config(json!({}), json!({})), all(&rec)).await;
    let mut client = TraceServiceClient::connect(r.grpc_url()).await.unwrap();
    client
        .export(ExportTraceServiceRequest::default())
        .await
        .unwrap();
    assert_eq!(rec.count(), 0);
}

#[tokio::test]
async fn retryable_refusal_is_unavailable() {
    let rec = Recorder::failing(ConsumeError::retryable("exporter queue is full"));
    let r = start(local_config(json!({}), json!({})), all(&rec)).await;
    let mut client = TraceServiceClient::connect(r.grpc_url()).await.unwrap();
    let status = client
        .export(ExportTraceServiceRequest {
            resource_spans: spans(2),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(status.message(), "exporter queue is full");
    assert!(
        status.details().is_empty(),
        "no RetryInfo without a throttle"
    );
    assert_eq!(r.metric("otelcol_receiver_refused_spans", "grpc"), 2);
    assert_eq!(r.metric("otelcol_receiver_accepted_spans", "grpc"), 0);
}

#[tokio::test]
async fn throttled_refusal_carries_retry_info() {
    let rec = Recorder::failing(ConsumeError::throttled("slow down", Duration::from_secs(3)));
    let r = start(local_config(json!({}), json!({})), all(&rec)).await;
    let mut client = LogsServiceClient::connect(r.grpc_url()).await.unwrap();
    let status = client
        .export(ExportLogsServiceRequest {
            resource_logs: records(1),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    let detail = RpcStatus::decode(status.details()).unwrap();
    assert_eq!(detail.code, Code::Unavailable as i32);
    assert_eq!(detail.details.len(), 1);
    assert_eq!(
        detail.details[0].type_url,
        "type.googleapis.com/google.rpc.RetryInfo"
    );
    let info = RetryInfo::decode(detail.details[0].value.as_slice()).unwrap();
    assert_eq!(
        info.retry_delay,
        Some(ProtoDuration {
            seconds: 3,
            nanos: 0
        })
    );
    assert_eq!(r.metric("otelcol_receiver_refused_log_records", "grpc"), 1);
}

#[tokio::test]
async fn permanent_refusal_is_invalid_argument() {
    let rec = Recorder::failing(ConsumeError::permanent("attribute limit exceeded"));
    let r = start(local_config(json!({}), json!({})), all(&rec)).await;
    let mut client = MetricsServiceClient::connect(r.grpc_url()).await.unwrap();
    let status = client
        .export(ExportMetricsServiceRequest {
            resource_metrics: gauge(5),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "attribute limit exceeded");
    assert_eq!(
        r.metric("otelcol_receiver_refused_metric_points", "grpc"),
        5
    );
}

#[tokio::test]
async fn signal_without_pipeline_is_unimplemented() {
    let rec = Recorder::ok();
    let traces_only = SignalConsumers {
        traces: Some(rec.clone() as BoxConsumer),
        ..Default::default()
    };
    let r = start(local_config(json!({}), json!({})), traces_only).await;
    let mut metrics = MetricsServiceClient::connect(r.grpc_url()).await.unwrap();
    let status = metrics
        .export(ExportMetricsServiceRequest {
            resource_metrics: gauge(1),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    let mut logs = LogsServiceClient::connect(r.grpc_url()).await.unwrap();
    let status = logs
        .export(ExportLogsServiceRequest {
            resource_logs: records(1),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    let mut traces = TraceServiceClient::connect(r.grpc_url()).await.unwrap();
    traces
        .export(ExportTraceServiceRequest {
            resource_spans: spans(1),
        })
        .await
        .unwrap();
    assert_eq!(rec.count(), 1);
}

/// Sends one raw gRPC frame over h2c and returns the `grpc-status` answered.
async fn raw_grpc(addr: std::net::SocketAddr, path: &str, message: &[u8]) -> i32 {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut frame = vec![0u8];
    frame.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(message);
    let req = http::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(Bytes::from(frame)))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let header_status = resp.headers().get("grpc-status").cloned();
    let collected = resp.into_body().collect().await.unwrap();
    let status = header_status
        .or_else(|| {
            collected
                .trailers()
                .and_then(|t| t.get("grpc-status").cloned())
        })
        .expect("a grpc-status");
    status.to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn undecodable_request_is_invalid_argument() {
    let rec = Recorder::ok();
    let r = start(local_config(json!({}), json!({})), all(&rec)).await;
    let path = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    let status = raw_grpc(r.grpc(), path, &[0xff, 0xff, 0xff, 0xff]).await;
    assert_eq!(status, Code::InvalidArgument as i32);
    let ok = ExportTraceServiceRequest {
        resource_spans: spans(1),
    }
    .encode_to_vec();
    assert_eq!(raw_grpc(r.grpc(), path, &ok).await, Code::Ok as i32);
    let status = raw_grpc(r.grpc(), "/no.such.Service/Export", &ok).await;
    assert_eq!(status, Code::Unimplemented as i32);
    assert_eq!(rec.count(), 1);
}

fn big_span_request(bytes: usize) -> ExportTraceServiceRequest {
    let mut rs = spans(1);
    rs[0].scope_spans[0].spans[0].name = "x".repeat(bytes);
    ExportTraceServiceRequest { resource_spans: rs }
}

#[tokio::test]
async fn message_size_limit_applies_before_and_after_decompression() {
    let rec = Recorder::ok();
    let r = start(
        local_config(json!({"max_recv_msg_size_mib": 1}), json!({})),
        all(&rec),
    )
    .await;
    let mut plain = TraceServiceClient::connect(r.grpc_url()).await.unwrap();
    let status = plain.export(big_span_request(2 << 20)).await.unwrap_err();
    assert!(
        matches!(status.code(), Code::OutOfRange | Code::ResourceExhausted),
        "{status:?}"
    );
    // A highly compressible message: small on the wire, over the limit inflated.
    let mut gz = TraceServiceClient::connect(r.grpc_url())
        .await
        .unwrap()
        .send_compressed(CompressionEncoding::Gzip);
    let status = gz.export(big_span_request(2 << 20)).await.unwrap_err();
    assert!(
        matches!(status.code(), Code::OutOfRange | Code::ResourceExhausted),
        "{status:?}"
    );
    // Just under the limit passes.
    gz.export(big_span_request(1000 << 10)).await.unwrap();
    assert_eq!(rec.count(), 1);
}

#[tokio::test]
async fn include_metadata_passes_grpc_metadata_down() {
    let rec = Recorder::ok();
    let r = start(
        local_config(json!({"include_metadata": true}), json!({})),
        all(&rec),
    )
    .await;
    let mut client = TraceServiceClient::connect(r.grpc_url()).await.unwrap();
    let mut req = tonic::Request::new(ExportTraceServiceRequest {
        resource_spans: spans(1),
    });
    req.metadata_mut()
        .insert("x-tenant", "acme".parse().unwrap());
    client.export(req).await.unwrap();
    let batch = rec.take().remove(0);
    assert_eq!(batch.metadata.get("x-tenant"), ["acme"]);
    let peer = batch.metadata.client_addr().unwrap();
    assert_eq!(peer.ip().to_string(), "127.0.0.1");
}

#[tokio::test]
async fn without_include_metadata_only_the_client_address_is_kept() {
    let rec = Recorder::ok();
    let r = start(local_config(json!({}), json!({})), all(&rec)).await;
    let mut client = TraceServiceClient::connect(r.grpc_url()).await.unwrap();
    let mut req = tonic::Request::new(ExportTraceServiceRequest {
        resource_spans: spans(1),
    });
    req.metadata_mut()
        .insert("x-tenant", "acme".parse().unwrap());
    client.export(req).await.unwrap();
    let batch = rec.take().remove(0);
    assert!(batch.metadata.get("x-tenant").is_empty());
    assert_eq!(batch.metadata.headers().count(), 0);
    assert!(batch.metadata.client_addr().is_some());
}

#[tokio::test]
async fn idle_and_old_connections_are_closed() {
    let rec = Recorder::ok();
    for keepalive in [
        json!({"server_parameters": {"max_connection_idle": "50ms"}}),
        json!({"server_parameters": {"max_connection_age": "50ms"}}),
        json!({"server_parameters": {"max_connection_age": "50ms", "max_connection_age_grace": "50ms"}}),
    ] {
        let r = start(
            local_config(json!({"keepalive": keepalive}), json!({})),
            all(&rec),
        )
        .await;
        let stream = tokio::net::TcpStream::connect(r.grpc()).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .unwrap();
        let conn = tokio::spawn(conn);
        let req = http::Request::post(format!("http://{}/no.such.Service/Export", r.grpc()))
            .header("content-type", "application/grpc")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        assert_eq!(resp.headers()["grpc-status"], "12");
        // The client does nothing more: the server closes the connection.
        tokio::time::timeout(Duration::from_secs(10), conn)
            .await
            .expect("connection closed by the server")
            .unwrap()
            .unwrap();
        assert!(sender.ready().await.is_err(), "{keepalive}");
        r.receiver.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn requests_on_a_connection_survive_keepalive_settings() {
    let rec = Recorder::ok();
    let r = start(
        local_config(
            json!({"max_concurrent_streams": 2, "keepalive": {"server_parameters":
                {"max_connection_idle": "1h", "time": "1s", "timeout": "5s"}}}),
            json!({}),
        ),
        all(&rec),
    )
    .await;
    let mut client = TraceServiceClient::connect(r.grpc_url()).await.unwrap();
    // The first call makes sure the client knows the server's stream limit.
    client
        .export(ExportTraceServiceRequest {
            resource_spans: spans(1),
        })
        .await
        .unwrap();
    let calls = (0..8).map(|_| {
        let mut c = client.clone();
        async move {
            c.export(ExportTraceServiceRequest {
                resource_spans: spans(1),
            })
            .await
            .unwrap()
        }
    });
    futures::future::join_all(calls).await;
    assert_eq!(rec.count(), 9);
}
