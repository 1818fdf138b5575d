//! OTLP over gRPC: the three `Export` methods, served on hyper connections.
//!
//! The methods are dispatched here rather than through generated service stubs so
//! that an undecodable request answers `INVALID_ARGUMENT` (the stubs' codec answers
//! `INTERNAL`) and so no router sits on the hot path. The wire protocol is the
//! generated clients' own: tonic's `Grpc` does the framing, compression and limits.
//!
//! Memory admission: a call is refused with `UNAVAILABLE` and `RetryInfo` (the memory
//! limiter's own answer) before anything is read when the heap is already at the
//! limiter's soft limit, and, once tonic has the whole (decompressed) message, before
//! it is decoded when the heap plus its length would reach it. tonic reads and
//! decompresses a message before handing it to the codec, so a message is in memory
//! once in encoded form; the decoded form, several times larger, is what is saved.

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Buf as _;
use http::{Request, Response};
use hyper::body::Incoming;
use stratus_core::Signal;
use stratus_core::memory::AdmissionGate;
use stratus_core::pdata::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};
use tonic::Status;
use tonic::codec::{
    Codec, CompressionEncoding, DecodeBuf, Decoder, EnabledCompressionEncodings, EncodeBuf, Encoder,
};
use tonic::metadata::KeyAndValueRef;
use tonic::server::{Grpc, UnaryService};

use crate::intake::{ExportRequest, Intake};
use crate::status::Refusal;

/// The method path of trace export.
pub(crate) const TRACES_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
/// The method path of metrics export.
pub(crate) const METRICS_PATH: &str =
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
/// The method path of logs export.
pub(crate) const LOGS_PATH: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

/// What every gRPC connection of one receiver shares.
pub(crate) struct GrpcShared {
    pub intake: Intake,
    /// Largest decompressed message, in bytes.
    pub max_message_size: usize,
    /// Where memory limiters publish their soft limit.
    pub gate: Arc<AdmissionGate>,
}

/// The request handler of one gRPC connection.
#[derive(Clone)]
pub(crate) struct GrpcHandler {
    shared: Arc<GrpcShared>,
    peer: SocketAddr,
}

impl GrpcHandler {
    pub fn new(shared: Arc<GrpcShared>, peer: SocketAddr) -> Self {
        GrpcHandler { shared, peer }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl hyper::service::Service<Request<Incoming>> for GrpcHandler {
    type Response = Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let signal = match req.uri().path() {
            TRACES_PATH => Some(Signal::Traces),
            METRICS_PATH => Some(Signal::Metrics),
            LOGS_PATH => Some(Signal::Logs),
            _ => None,
        }
        .filter(|s| self.shared.intake.serves(*s));
        let handler = self.clone();
        Box::pin(async move {
            Ok(match signal {
                Some(Signal::Traces) => handler.unary::<ExportTraceServiceRequest>(req).await,
                Some(Signal::Metrics) => handler.unary::<ExportMetricsServiceRequest>(req).await,
                Some(Signal::Logs) => handler.unary::<ExportLogsServiceRequest>(req).await,
                None => unimplemented(),
            })
        })
    }
}

impl GrpcHandler {
    async fn unary<R: ExportRequest>(self, req: Request<Incoming>) -> Response<tonic::body::Body> {
        let mut encodings = EnabledCompressionEncodings::default();
        encodings.enable(CompressionEncoding::Gzip);
        encodings.enable(CompressionEncoding::Zstd);
        if let Err(over) = self.shared.gate.check(0) {
            return Refusal::memory_limited(over.retry_after)
                .grpc_status()
                .into_http();
        }
        let max = self.shared.max_message_size;
        let codec = OtlpCodec::<R> {
            gate: self.shared.gate.clone(),
            request: PhantomData,
        };
        let mut grpc = Grpc::new(codec)
            .apply_compression_config(encodings, encodings)
            .apply_max_message_size_config(Some(max), None);
        grpc.unary(Export::<R>(self, PhantomData), req).await
    }
}

/// The answer for a method this receiver does not serve: a trailers-only response
/// with `grpc-status: 12`.
fn unimplemented() -> Response<tonic::body::Body> {
    Status::unimplemented("").into_http()
}

/// One export call.
struct Export<R>(GrpcHandler, PhantomData<fn() -> R>);

impl<R: ExportRequest> UnaryService<R> for Export<R> {
    type Response = R::Response;
    type Future = BoxFuture<Result<tonic::Response<R::Response>, Status>>;

    fn call(&mut self, request: tonic::Request<R>) -> Self::Future {
        let handler = self.0.clone();
        Box::pin(async move {
            let intake = &handler.shared.intake;
            let (meta, _, message) = request.into_parts();
            let metadata = intake.metadata(
                handler.peer,
                meta.iter().filter_map(|kv| match kv {
                    KeyAndValueRef::Ascii(k, v) => Some((k.as_str(), v.to_str().ok()?)),
                    KeyAndValueRef::Binary(..) => None,
                }),
            );
            match intake.consume(message.into_payload(), metadata).await {
                Ok(()) => Ok(tonic::Response::new(R::Response::default())),
                Err(refusal) => Err(refusal.grpc_status()),
            }
        })
    }
}

/// Protobuf codec whose decode failures are `INVALID_ARGUMENT`, and which refuses a
/// message whose decoding would take the heap over the memory limit.
struct OtlpCodec<R> {
    gate: Arc<AdmissionGate>,
    request: PhantomData<fn() -> R>,
}

impl<R: ExportRequest> Codec for OtlpCodec<R> {
    type Encode = R::Response;
    type Decode = R;
    type Encoder = ProtoEncoder<R::Response>;
    type Decoder = ProtoDecoder<R>;

    fn encoder(&mut self) -> Self::Encoder {
        ProtoEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProtoDecoder {
            gate: self.gate.clone(),
            message: PhantomData,
        }
    }
}

struct ProtoEncoder<T>(PhantomData<fn(T)>);

impl<T: prost::Message> Encoder for ProtoEncoder<T> {
    type Item = T;
    type Error = Status;

    fn encode(&mut self, item: T, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst)
            .map_err(|e| Status::internal(format!("cannot encode response: {e}")))
    }
}

struct ProtoDecoder<T> {
    gate: Arc<AdmissionGate>,
    message: PhantomData<fn() -> T>,
}

impl<T: prost::Message + Default> Decoder for ProtoDecoder<T> {
    type Item = T;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<T>, Status> {
        // The decoded message takes at least as much memory as its encoding.
        let len = u64::try_from(src.remaining()).unwrap_or(u64::MAX);
        if let Err(over) = self.gate.check(len) {
            return Err(Refusal::memory_limited(over.retry_after).grpc_status());
        }
        T::decode(src)
            .map(Some)
            .map_err(|e| Status::invalid_argument(format!("cannot decode protobuf request: {e}")))
    }
}
