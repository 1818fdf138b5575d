//! OTLP over gRPC: the three `Export` methods, served on hyper connections.
//!
//! The methods are dispatched here rather than through generated service stubs so
//! that an undecodable request answers `INVALID_ARGUMENT` (the stubs' codec answers
//! `INTERNAL`) and so no router sits on the hot path. The wire protocol is the
//! generated clients' own: tonic's `Grpc` does the framing, compression and limits.
//!
//! A message is not decoded here. The codec walks its bytes once, refusing what prost
//! would refuse and counting its items, and hands the bytes on as they came
//! ([`Contents::encoded`]): a stage that looks inside decodes them, one that only
//! moves data (batch, queue, the `otlp` exporter) never does.
//!
//! Memory admission: a call is refused with `UNAVAILABLE` and `RetryInfo` (the memory
//! limiter's own answer) before anything is read when the heap is already at the
//! limiter's soft limit, and, once tonic has the whole (decompressed) message, when
//! the heap plus the bound of its decoded size would reach it (a later stage may
//! decode it). tonic reads and decompresses a message before handing it to the codec.

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Buf as _;
use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use stratus_core::memory::AdmissionGate;
use stratus_core::pdata::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};
use stratus_core::{Contents, Signal};
use tonic::Status;
use tonic::codec::{
    Codec, CompressionEncoding, DecodeBuf, Decoder, EnabledCompressionEncodings, EncodeBuf, Encoder,
};
use tonic::metadata::KeyAndValueRef;
use tonic::server::{Grpc, UnaryService};

use crate::auth::Auth;
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
    /// Largest decoded-size bound of a message, in bytes (`decoded::decoded_cap`).
    pub max_decoded: u64,
    /// Where memory limiters publish their soft limit.
    pub gate: Arc<AdmissionGate>,
    /// Checks every call by its metadata before its message is read.
    pub auth: Option<Auth>,
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
            // Before anything else, the method included: an unauthenticated client
            // learns nothing, and its message is never read.
            if let Some(auth) = &handler.shared.auth
                && let Err(refusal) = auth.check(req.headers(), None, handler.peer).await
            {
                return Ok(refusal.grpc_status().into_http());
            }
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
            max_decoded: self.shared.max_decoded,
            request: PhantomData,
        };
        let mut grpc = Grpc::new(codec)
            .apply_compression_config(encodings, encodings)
            .apply_max_message_size_config(Some(max), None);
        let mut response = grpc.unary(Export::<R>(self, PhantomData), req).await;
        client_fault_is_invalid_argument(&mut response);
        response
    }
}

/// tonic answers `INTERNAL` for what is wrong with the request's framing or
/// compression (a truncated or corrupt compressed message, a compressed flag without
/// `grpc-encoding`, a body ending inside a message). Those are the client's fault, so
/// they answer `INVALID_ARGUMENT` with tonic's message. tonic reports them in a
/// trailers-only answer (the status in the headers); nothing this receiver does
/// answers `INTERNAL` there.
fn client_fault_is_invalid_argument(response: &mut Response<tonic::body::Body>) {
    const GRPC_STATUS: &str = "grpc-status";
    let internal = response
        .headers()
        .get(GRPC_STATUS)
        .is_some_and(|v| v.as_bytes() == b"13");
    if internal {
        response.headers_mut().insert(
            GRPC_STATUS,
            http::HeaderValue::from_static("3"), // INVALID_ARGUMENT
        );
    }
}

/// The answer for a method this receiver does not serve: a trailers-only response
/// with `grpc-status: 12`.
fn unimplemented() -> Response<tonic::body::Body> {
    Status::unimplemented("").into_http()
}

/// A request message as the codec checked it: its bytes and the items they hold.
struct Checked {
    bytes: Bytes,
    items: usize,
}

/// One export call.
struct Export<R>(GrpcHandler, PhantomData<fn() -> R>);

impl<R: ExportRequest> UnaryService<Checked> for Export<R> {
    type Response = R::Response;
    type Future = BoxFuture<Result<tonic::Response<R::Response>, Status>>;

    fn call(&mut self, request: tonic::Request<Checked>) -> Self::Future {
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
            let payload = Contents::encoded(R::SIGNAL, message.bytes, message.items);
            match intake.consume(payload, metadata).await {
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
    max_decoded: u64,
    request: PhantomData<fn() -> R>,
}

impl<R: ExportRequest> Codec for OtlpCodec<R> {
    type Encode = R::Response;
    type Decode = Checked;
    type Encoder = ProtoEncoder<R::Response>;
    type Decoder = ProtoDecoder<R>;

    fn encoder(&mut self) -> Self::Encoder {
        ProtoEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProtoDecoder {
            gate: self.gate.clone(),
            max_decoded: self.max_decoded,
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
    max_decoded: u64,
    message: PhantomData<fn() -> T>,
}

impl<T: ExportRequest> Decoder for ProtoDecoder<T> {
    type Item = Checked;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Checked>, Status> {
        // Refused if prost would refuse it, or if what it decodes to, at most, passes
        // the cap or would take the heap over the limit. The buffer is one contiguous
        // `BytesMut`, and the message is split off it without a copy.
        let scanned = crate::decoded::protobuf_within(src.chunk(), T::TYPE, self.max_decoded)
            .map_err(|refusal| refusal.grpc_status())?;
        self.gate
            .check(scanned.bound)
            .map_err(|over| Refusal::memory_limited(over.retry_after).grpc_status())?;
        let bytes = src.copy_to_bytes(src.remaining());
        Ok(Some(Checked {
            bytes,
            items: scanned.items,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use hyper_util::rt::{TokioExecutor, TokioIo};
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    use stratus_core::factory::SignalConsumers;
    use stratus_core::rpc::RpcStatus;
    use stratus_core::telemetry::{ReceiverMetrics, Registry};
    use stratus_testkit::RecordingConsumer;
    use stratus_testkit::otlp::traces;
    use tonic::Code;

    const MIB: u64 = 1024 * 1024;

    /// Serves gRPC with `gate` on 127.0.0.1; returns its address and the trace sink.
    async fn serve(gate: Arc<AdmissionGate>) -> (SocketAddr, Arc<RecordingConsumer>) {
        let sink = RecordingConsumer::new();
        let mut consumers = SignalConsumers::default();
        consumers.set(Signal::Traces, sink.clone().boxed());
        let shared = Arc::new(GrpcShared {
            intake: Intake {
                receiver: "otlp".into(),
                transport: "grpc",
                consumers,
                metrics: ReceiverMetrics::new(&Registry::new(), "otlp", "grpc"),
                include_metadata: false,
            },
            max_message_size: 4 * MIB as usize,
            max_decoded: crate::decoded::decoded_cap(4 * MIB as usize),
            gate,
            auth: None,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                let handler = GrpcHandler::new(shared.clone(), peer);
                tokio::spawn(
                    hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), handler),
                );
            }
        });
        (addr, sink)
    }

    fn request(spans: usize) -> ExportTraceServiceRequest {
        traces()
            .spans((0..spans).map(|i| format!("op{i}")))
            .request()
    }

    fn assert_memory_refusal(status: &Status) {
        use prost::Message as _;
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert_eq!(status.message(), crate::status::DATA_REFUSED);
        let detail = RpcStatus::decode(status.details()).unwrap();
        assert_eq!(detail.retry_delay(), Some(Duration::from_secs(3)));
    }

    #[tokio::test]
    async fn refuses_at_call_start_and_by_message_length_before_decoding() {
        use prost::Message as _;

        let heap = Arc::new(AtomicU64::new(0));
        let gate = {
            let heap = heap.clone();
            AdmissionGate::with_heap_reader(move || Some(heap.load(Ordering::SeqCst)))
        };
        let _limit = gate.register(10 * MIB, Duration::from_secs(3));
        let (addr, sink) = serve(gate).await;
        let mut client = TraceServiceClient::connect(format!("http://{addr}"))
            .await
            .unwrap();
        let message = request(50);
        // What the admission gate reserves: the decoded-size bound, not the length.
        let len = crate::decoded::protobuf_bound(
            &message.encode_to_vec(),
            crate::decoded::Ty::TraceRequest,
        )
        .unwrap();
        assert!(len > 4 * message.encoded_len() as u64, "{len}");

        // Heap at the soft limit: refused when the call arrives.
        heap.store(10 * MIB, Ordering::SeqCst);
        let status = client.export(message.clone()).await.unwrap_err();
        assert_memory_refusal(&status);

        // Room for less than the message decodes to: refused by its bound, before decoding.
        heap.store(10 * MIB - len + 1, Ordering::SeqCst);
        let status = client.export(message.clone()).await.unwrap_err();
        assert_memory_refusal(&status);
        assert!(sink.batches().is_empty());

        // Room for it: decoded and delivered.
        heap.store(10 * MIB - len - 1, Ordering::SeqCst);
        client.export(message).await.unwrap();
        assert_eq!(sink.batches().len(), 1);
        assert_eq!(sink.batches()[0].item_count(), 50);
    }

    /// A message is handed on as the client encoded it, with its span count, and
    /// is decoded only when a stage reads it.
    #[tokio::test]
    async fn messages_are_handed_on_as_sent_with_their_item_counts() {
        use prost::Message as _;

        let gate = AdmissionGate::with_heap_reader(|| Some(0));
        let (addr, sink) = serve(gate).await;
        let mut client = TraceServiceClient::connect(format!("http://{addr}"))
            .await
            .unwrap()
            .send_compressed(tonic::codec::CompressionEncoding::Gzip);
        let message = request(7);
        client.export(message.clone()).await.unwrap();
        let got = sink.take().remove(0);
        assert!(got.payload.is_encoded());
        assert_eq!(got.item_count(), 7);
        assert_eq!(
            got.payload.encode_request().as_ref(),
            message.encode_to_vec()
        );
        assert_eq!(
            *got.payload,
            stratus_core::Payload::Traces(message.resource_spans)
        );
    }

    /// One unary call with a hand-made body: `messages` is the gRPC-framed request
    /// (see [`frame`]); `encoding` the `grpc-encoding` header. Returns the status.
    async fn raw_call(addr: SocketAddr, encoding: Option<&str>, messages: Vec<u8>) -> Status {
        use http_body_util::{BodyExt, Full};
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut send, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let mut req = Request::post(format!("http://{addr}{TRACES_PATH}"))
            .header("content-type", "application/grpc")
            .header("te", "trailers");
        if let Some(e) = encoding {
            req = req.header("grpc-encoding", e);
        }
        let resp = send
            .send_request(req.body(Full::new(bytes::Bytes::from(messages))).unwrap())
            .await
            .unwrap();
        let (parts, body) = resp.into_parts();
        if let Some(status) = Status::from_header_map(&parts.headers) {
            return status;
        }
        let collected = body.collect().await.unwrap();
        Status::from_header_map(collected.trailers().unwrap()).unwrap()
    }

    /// A gRPC length-prefixed message.
    fn frame(compressed: bool, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![u8::from(compressed)];
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[tokio::test]
    async fn hostile_messages_get_clear_statuses() {
        use crate::hostile::{gzip_bomb, nested_any_value, span_request};
        use prost::Message as _;
        use std::io::Write as _;

        let open = AdmissionGate::with_heap_reader(|| None);
        let (addr, sink) = serve(open).await;

        // Malformed protobuf.
        let st = raw_call(addr, None, frame(false, &[0x0a, 0xff, 0xff, 0xff, 0x0f, 1])).await;
        assert_eq!(st.code(), Code::InvalidArgument, "{st:?}");
        assert!(st.message().contains("cannot decode protobuf request"));
        // Invalid UTF-8 in a string.
        let st = raw_call(addr, None, frame(false, &span_request(b"\xff\xfe", b""))).await;
        assert_eq!(st.code(), Code::InvalidArgument, "{st:?}");
        assert!(st.message().contains("not UTF-8"), "{st:?}");
        // AnyValue nested 10,000 deep.
        let deep = span_request(b"s", &nested_any_value(10_000));
        let st = raw_call(addr, None, frame(false, &deep)).await;
        assert_eq!(st.code(), Code::InvalidArgument, "{st:?}");
        assert!(st.message().contains("(the depth limit)"), "{st:?}");

        // Truncated gzip and zstd messages.
        let good = request(20).encode_to_vec();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&good).unwrap();
        let gz = gz.finish().unwrap();
        let zs = zstd::encode_all(&good[..], 3).unwrap();
        for (encoding, body) in [("gzip", &gz), ("zstd", &zs)] {
            let cut = &body[..body.len() / 2];
            let st = raw_call(addr, Some(encoding), frame(true, cut)).await;
            assert_eq!(st.code(), Code::InvalidArgument, "{encoding}: {st:?}");
            assert!(st.message().contains("decompress"), "{st:?}");
            // The whole message goes through.
            let st = raw_call(addr, Some(encoding), frame(true, body)).await;
            assert_eq!(st.code(), Code::Ok, "{encoding}: {st:?}");
        }
        // A body that ends inside a message.
        let mut cut = frame(false, &good);
        cut.truncate(cut.len() - 5);
        let st = raw_call(addr, None, cut).await;
        assert_eq!(st.code(), Code::InvalidArgument, "{st:?}");

        // Bombs: 1 GiB inflated from about 1 MiB (gzip) and 100 KiB (zstd), cut at
        // max_recv_msg_size_mib while inflating.
        let st = raw_call(addr, Some("gzip"), frame(true, &gzip_bomb(1024))).await;
        assert_eq!(st.code(), Code::ResourceExhausted, "{st:?}");
        let zeros = vec![0u8; 1 << 20];
        let zbomb = zstd::encode_all(&zeros[..], 3).unwrap().repeat(1024);
        let st = raw_call(addr, Some("zstd"), frame(true, &zbomb)).await;
        assert_eq!(st.code(), Code::ResourceExhausted, "{st:?}");
        // A message declared larger than the limit: refused on its length prefix.
        let mut huge = vec![0u8];
        huge.extend_from_slice(&(1u32 << 30).to_be_bytes());
        huge.extend_from_slice(b"abc");
        let st = raw_call(addr, None, huge).await;
        assert_eq!(st.code(), Code::OutOfRange, "{st:?}");
        // An encoding the receiver does not take.
        let st = raw_call(addr, Some("snappy"), frame(true, b"x")).await;
        assert_eq!(st.code(), Code::Unimplemented, "{st:?}");

        assert_eq!(sink.batches().len(), 2);
    }
}
