//! The `otlp` exporter's sender: OTLP export requests over gRPC (tonic).
//!
//! A batch is encoded once into protobuf bytes; every attempt sends those bytes through
//! a codec that writes them as they are, so a retry costs no re-encoding and no copy of
//! the batch.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use bytes::{BufMut, Bytes};
use http::Uri;
use hyper_rustls::{FixedServerNameResolver, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use prost::Message;
use stratus_core::pdata::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};
use stratus_core::{ComponentError, ConsumeError, Payload, Signal, Telemetry};
use stratus_exporter_helper::Sender;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue, MetadataMap};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use crate::config::{Compression, OtlpConfig};
use crate::rpc::{ExportResponse, retry_delay_in_details};

/// One encoded export request, sent as is on every attempt.
#[derive(Debug, Clone)]
pub struct GrpcRequest {
    /// The request's signal, which picks the gRPC method.
    pub signal: Signal,
    /// The encoded `Export*ServiceRequest`.
    pub body: Bytes,
}

/// Encodes a batch as its signal's export request, moving the data (no copy).
pub fn encode_payload(payload: Payload) -> Bytes {
    Bytes::from(match payload {
        Payload::Traces(resource_spans) => {
            ExportTraceServiceRequest { resource_spans }.encode_to_vec()
        }
        Payload::Metrics(resource_metrics) => {
            ExportMetricsServiceRequest { resource_metrics }.encode_to_vec()
        }
        Payload::Logs(resource_logs) => ExportLogsServiceRequest { resource_logs }.encode_to_vec(),
    })
}

/// The gRPC method of a signal's export.
pub fn method_path(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    }
}

/// A codec that sends pre-encoded protobuf bytes and decodes the export response.
#[derive(Debug, Clone, Copy, Default)]
pub struct PreEncodedCodec;

/// Writes pre-encoded bytes into the gRPC frame.
#[derive(Debug, Clone, Copy, Default)]
pub struct PreEncodedEncoder;

impl Encoder for PreEncodedEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Codec for PreEncodedCodec {
    type Encode = Bytes;
    type Decode = ExportResponse;
    type Encoder = PreEncodedEncoder;
    type Decoder = ResponseDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        PreEncodedEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        ResponseDecoder(tonic_prost::ProstDecoder::default())
    }
}

/// Decodes the export response of any signal.
#[derive(Debug, Default)]
pub struct ResponseDecoder(tonic_prost::ProstDecoder<ExportResponse>);

impl Decoder for ResponseDecoder {
    type Item = ExportResponse;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<ExportResponse>, Status> {
        self.0.decode(src)
    }
}

/// Classifies a failed gRPC call as the collector does.
///
/// Retryable: `CANCELLED`, `DEADLINE_EXCEEDED`, `ABORTED`, `OUT_OF_RANGE`,
/// `UNAVAILABLE`, `DATA_LOSS`, and `RESOURCE_EXHAUSTED` when the server sent a
/// `google.rpc.RetryInfo`, whose delay becomes the throttle. A failure of our own
/// transport (the connection could not be made or broke) is retryable too. Everything
/// else is permanent.
pub fn classify_status(status: &Status) -> ConsumeError {
    let retry_delay = retry_delay_in_details(status.details());
    // Statuses built from a local error (connect, I/O, HTTP/2) keep it as their source;
    // statuses sent by the server have none.
    let local = std::error::Error::source(status).is_some();
    let retryable = match status.code() {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => true,
        Code::ResourceExhausted => retry_delay.is_some(),
        Code::Unknown | Code::Internal => local,
        _ => false,
    };
    let message = format!(
        "gRPC export failed: {:?}: {}",
        status.code(),
        status.message()
    );
    match (retryable, retry_delay) {
        (false, _) => ConsumeError::permanent(message),
        (true, Some(delay)) if !delay.is_zero() => ConsumeError::throttled(message, delay),
        (true, _) => ConsumeError::retryable(message),
    }
}

/// Connects over TCP and always does TLS (ALPN `h2`), whatever the URI's scheme: tonic
/// hands it `http://` URIs so that tonic's own TLS is not involved.
#[derive(Clone)]
pub struct TlsConnector(HttpsConnector<HttpConnector>);

impl TlsConnector {
    /// A connector checking the server against `config` and `server_name`.
    pub fn new(
        config: Arc<rustls::ClientConfig>,
        server_name: rustls_pki_types::ServerName<'static>,
    ) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        TlsConnector(
            HttpsConnectorBuilder::new()
                .with_tls_config(Arc::unwrap_or_clone(config))
                .https_only()
                .with_server_name_resolver(FixedServerNameResolver::new(server_name))
                .enable_http2()
                .wrap_connector(tcp),
        )
    }
}

impl tonic::codegen::Service<Uri> for TlsConnector {
    type Response = <HttpsConnector<HttpConnector> as tonic::codegen::Service<Uri>>::Response;
    type Error = <HttpsConnector<HttpConnector> as tonic::codegen::Service<Uri>>::Error;
    type Future = <HttpsConnector<HttpConnector> as tonic::codegen::Service<Uri>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let mut parts = uri.clone().into_parts();
        parts.scheme = Some(http::uri::Scheme::HTTPS);
        // A URI with an authority stays valid with another scheme; if not, the
        // connector refuses the original with its own error.
        self.0.call(Uri::from_parts(parts).unwrap_or(uri))
    }
}

/// The `otlp` exporter's [`Sender`].
pub struct GrpcSender {
    id: String,
    grpc: tonic::client::Grpc<Channel>,
    metadata: MetadataMap,
    timeout: Duration,
}

impl GrpcSender {
    /// Builds the sender: a lazily connecting channel, so starting succeeds while the
    /// destination is down. Reads the TLS files.
    pub fn new(id: String, config: &OtlpConfig) -> Result<Self, ComponentError> {
        let fail = |msg: String| ComponentError::new(format!("exporter {id}: {msg}"));
        let target = config
            .target()
            .map_err(|e| fail(format!("endpoint: {e}")))?;
        // With TLS, tonic is given the `http://` form of the URI, so its own TLS stays
        // out of the way; our connector does TLS, and requests carry the `https` origin.
        let connect_uri = if target.tls {
            let mut parts = target.uri.clone().into_parts();
            parts.scheme = Some(http::uri::Scheme::HTTP);
            Uri::from_parts(parts).map_err(|e| fail(format!("endpoint: {e}")))?
        } else {
            target.uri.clone()
        };
        let mut endpoint = Endpoint::from(connect_uri)
            .user_agent(concat!("stratus/", env!("CARGO_PKG_VERSION")))
            .map_err(|e| fail(e.to_string()))?;
        if target.tls {
            endpoint = endpoint.origin(target.uri.clone());
        }
        if let Some(k) = &config.keepalive {
            endpoint = endpoint
                .http2_keep_alive_interval(k.time)
                .keep_alive_timeout(k.timeout)
                .keep_alive_while_idle(k.permit_without_stream);
        }
        if !config.balancer_name.is_empty() {
            tracing::debug!(
                exporter = %id,
                balancer_name = %config.balancer_name,
                "balancer_name is ignored: stratus connects to the endpoint's address"
            );
        }
        let channel = if target.tls {
            let tls_error = |e: stratus_tls::TlsError| fail(e.at("tls"));
            let rustls = config.tls.client_config(&[]).map_err(tls_error)?;
            let name = config.tls.server_name(&target.host).map_err(tls_error)?;
            endpoint.connect_with_connector_lazy(TlsConnector::new(rustls, name))
        } else {
            endpoint.connect_lazy()
        };
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc = match config.compression {
            Compression::Gzip => grpc.send_compressed(CompressionEncoding::Gzip),
            Compression::Zstd => grpc.send_compressed(CompressionEncoding::Zstd),
            Compression::None => grpc,
        };
        let mut metadata = MetadataMap::new();
        for (name, value) in &config.headers {
            // Validation has checked names and values; a failure here is a bug, reported
            // without the (secret) value.
            let key = AsciiMetadataKey::from_bytes(name.as_bytes()).map_err(|_| {
                ComponentError::new(format!("exporter {id}: invalid header name `{name}`"))
            })?;
            let value = AsciiMetadataValue::try_from(value.expose()).map_err(|_| {
                ComponentError::new(format!("exporter {id}: invalid value for header `{name}`"))
            })?;
            metadata.append(key, value);
        }
        Ok(GrpcSender {
            id,
            grpc,
            metadata,
            timeout: config.timeout,
        })
    }
}

impl GrpcSender {
    /// The configured metadata values, for [`crate::redact`].
    fn header_values(&self) -> impl Iterator<Item = &str> {
        self.metadata.iter().filter_map(|kv| match kv {
            tonic::metadata::KeyAndValueRef::Ascii(_, v) => v.to_str().ok(),
            tonic::metadata::KeyAndValueRef::Binary(..) => None,
        })
    }

    /// `e` without the configured metadata values: a destination may echo them.
    fn scrub(&self, e: ConsumeError) -> ConsumeError {
        crate::redact::scrub_error(e, self.header_values())
    }
}

#[async_trait]
impl Sender for GrpcSender {
    type Request = GrpcRequest;

    fn encode(&self, data: Telemetry) -> Result<GrpcRequest, ConsumeError> {
        let signal = data.signal();
        Ok(GrpcRequest {
            signal,
            body: encode_payload(data.payload),
        })
    }

    /// A batch a persistent queue stored as its signal's OTLP export request is that
    /// gRPC message: sent as stored, neither decoded nor encoded again.
    fn encode_stored(
        &self,
        signal: Signal,
        otlp: Bytes,
    ) -> Option<Result<GrpcRequest, ConsumeError>> {
        Some(Ok(GrpcRequest { signal, body: otlp }))
    }

    async fn send(&self, request: &GrpcRequest) -> Result<(), ConsumeError> {
        let mut grpc = self.grpc.clone();
        grpc.ready()
            .await
            .map_err(|e| ConsumeError::retryable(format!("gRPC connection failed: {e}")))?;
        let mut call = tonic::Request::new(request.body.clone());
        *call.metadata_mut() = self.metadata.clone();
        if !self.timeout.is_zero() {
            call.set_timeout(self.timeout);
        }
        let path = http::uri::PathAndQuery::from_static(method_path(request.signal));
        let response = grpc
            .unary(call, path, PreEncodedCodec)
            .await
            .map_err(|status| self.scrub(classify_status(&status)))?;
        if let Some(ps) = response.into_inner().partial_success
            && (ps.rejected > 0 || !ps.error_message.is_empty())
        {
            tracing::warn!(
                exporter = %self.id,
                signal = %request.signal,
                rejected = ps.rejected,
                message = %crate::redact::scrub_text(&ps.error_message, self.header_values()),
                "partial success: the destination rejected part of the data",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::{RetryInfo, RpcStatus};

    fn with_retry_info(code: Code, delay: Duration) -> Status {
        let details = RpcStatus {
            code: code as i32,
            message: "m".into(),
            details: vec![RetryInfo::detail(delay)],
        }
        .encode_to_vec();
        Status::with_details(code, "m", details.into())
    }

    #[test]
    fn classification_follows_the_collector() {
        for code in [
            Code::Cancelled,
            Code::DeadlineExceeded,
            Code::Aborted,
            Code::OutOfRange,
            Code::Unavailable,
            Code::DataLoss,
        ] {
            let e = classify_status(&Status::new(code, "x"));
            assert!(!e.is_permanent(), "{code:?}");
            assert_eq!(e.throttle(), None);
        }
        for code in [
            Code::InvalidArgument,
            Code::Unauthenticated,
            Code::PermissionDenied,
            Code::NotFound,
            Code::Unimplemented,
            Code::Internal,
            Code::Unknown,
            Code::FailedPrecondition,
            Code::ResourceExhausted,
        ] {
            assert!(
                classify_status(&Status::new(code, "x")).is_permanent(),
                "{code:?}"
            );
        }
        let e = classify_status(&with_retry_info(
            Code::ResourceExhausted,
            Duration::from_secs(7),
        ));
        assert_eq!(e.throttle(), Some(Duration::from_secs(7)));
        let e = classify_status(&with_retry_info(
            Code::Unavailable,
            Duration::from_millis(250),
        ));
        assert_eq!(e.throttle(), Some(Duration::from_millis(250)));
        // RetryInfo does not make a permanent code retryable.
        let e = classify_status(&with_retry_info(
            Code::InvalidArgument,
            Duration::from_secs(1),
        ));
        assert!(e.is_permanent());
        assert!(e.message().contains("InvalidArgument"), "{}", e.message());
    }

    #[test]
    fn local_transport_failures_are_retryable() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        let status = Status::from_error(Box::new(io));
        assert!(!classify_status(&status).is_permanent());
    }

    /// A batch stored by a persistent queue is sent as those very bytes: the same body
    /// as encoding the batch, without a copy.
    #[tokio::test]
    async fn stored_requests_are_the_stored_bytes() {
        let config = OtlpConfig {
            endpoint: "http://127.0.0.1:4317".into(),
            ..OtlpConfig::default()
        };
        let sender = GrpcSender::new("otlp".into(), &config).unwrap();
        let span = stratus_core::pdata::trace::Span {
            name: "s".into(),
            ..Default::default()
        };
        let payload = Payload::Traces(vec![stratus_core::pdata::trace::ResourceSpans {
            scope_spans: vec![stratus_core::pdata::trace::ScopeSpans {
                spans: vec![span; 3],
                ..Default::default()
            }],
            ..Default::default()
        }]);
        let stored = Bytes::from(payload.encode_request());
        let request = sender
            .encode_stored(Signal::Traces, stored.clone())
            .unwrap()
            .unwrap();
        let fresh = sender.encode(Telemetry::new(payload)).unwrap();
        assert_eq!(request.signal, Signal::Traces);
        assert_eq!(request.body, fresh.body);
        assert_eq!(
            request.body.as_ptr(),
            stored.as_ptr(),
            "sent without a copy"
        );
    }

    #[test]
    fn paths_and_encoding() {
        assert_eq!(
            method_path(Signal::Logs),
            "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
        );
        let payload = Payload::Traces(vec![Default::default()]);
        let bytes = encode_payload(payload.clone());
        assert_eq!(bytes.as_ref(), payload.encode_request().as_slice());
    }
}
