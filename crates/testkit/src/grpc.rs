//! A small OTLP/gRPC sink on 127.0.0.1: the trace, metrics and logs services, which
//! record every export and answer OK or a scripted status. The destination for the
//! `otlp` exporter's tests and conformance check.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use stratus_core::pdata::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};
use stratus_core::{Payload, Signal};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataMap;
use tonic::{Code, Request, Status};

use crate::recorder::{Recorder, Scripted, bind_loopback, recording_methods};

/// The largest request the sink decodes: 64 MiB.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// One scripted answer of the sink.
///
/// ```
/// use std::time::Duration;
/// use stratus_testkit::grpc::Reply;
/// use tonic::Code;
/// let down = Reply::status(Code::Unavailable, "try later");
/// let partial = Reply::partial_success(2, "2 spans had no name");
/// let slow = Reply::ok().delay(Duration::from_millis(50));
/// # let _ = (down, partial, slow);
/// ```
#[derive(Debug, Clone)]
pub struct Reply {
    outcome: Result<(i64, String), (Code, String)>,
    delay: Duration,
}

impl Reply {
    /// Success with no partial-success details: the default answer.
    pub fn ok() -> Self {
        Reply {
            outcome: Ok((0, String::new())),
            delay: Duration::ZERO,
        }
    }

    /// Failure with this status.
    pub fn status(code: Code, message: impl Into<String>) -> Self {
        Reply {
            outcome: Err((code, message.into())),
            delay: Duration::ZERO,
        }
    }

    /// Success that rejects `rejected` items with `message` (OTLP partial success).
    pub fn partial_success(rejected: i64, message: impl Into<String>) -> Self {
        Reply {
            outcome: Ok((rejected, message.into())),
            delay: Duration::ZERO,
        }
    }

    /// Waits this long before answering.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// An export the sink received.
#[derive(Debug, Clone)]
pub struct GrpcRequest {
    /// The signal of the service called.
    pub signal: Signal,
    /// The request's metadata (headers such as `authorization`, `grpc-encoding`).
    pub metadata: MetadataMap,
    /// The exported data.
    pub payload: Payload,
}

impl GrpcRequest {
    /// The first value of a metadata key (lower-case), if present and text.
    pub fn header(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).and_then(|v| v.to_str().ok())
    }
}

impl Scripted for Reply {
    fn delay(&self) -> Duration {
        self.delay
    }
}

type Shared = Recorder<GrpcRequest, Reply>;

#[derive(Clone)]
struct Services(Arc<Shared>);

/// Turns a reply into the service's response type.
fn respond<R>(
    reply: Reply,
    make: impl FnOnce(i64, String) -> R,
) -> Result<tonic::Response<R>, Status> {
    match reply.outcome {
        Ok((rejected, message)) => Ok(tonic::Response::new(make(rejected, message))),
        Err((code, message)) => Err(Status::new(code, message)),
    }
}

/// Implements the OTLP service of each signal: records each export and answers as
/// scripted, with the partial-success details in the signal's response.
macro_rules! otlp_services {
    ($($service:ident($signal:ident, $request:ident.$resources:ident)
        -> $response:ident($partial:ident.$rejected:ident);)*) => {$(
        #[tonic::async_trait]
        impl $service for Services {
            async fn export(
                &self,
                request: Request<$request>,
            ) -> Result<tonic::Response<$response>, Status> {
                let (metadata, _, body) = request.into_parts();
                let payload = Payload::$signal(body.$resources);
                let signal = Signal::$signal;
                let reply = self.0.record(GrpcRequest { signal, metadata, payload }).await;
                respond(reply, |rejected, message| $response {
                    partial_success: (rejected != 0 || !message.is_empty()).then_some($partial {
                        $rejected: rejected,
                        error_message: message,
                    }),
                })
            }
        }
    )*};
}
otlp_services! {
    TraceService(Traces, ExportTraceServiceRequest.resource_spans)
        -> ExportTraceServiceResponse(ExportTracePartialSuccess.rejected_spans);
    MetricsService(Metrics, ExportMetricsServiceRequest.resource_metrics)
        -> ExportMetricsServiceResponse(ExportMetricsPartialSuccess.rejected_data_points);
    LogsService(Logs, ExportLogsServiceRequest.resource_logs)
        -> ExportLogsServiceResponse(ExportLogsPartialSuccess.rejected_log_records);
}

/// A generated OTLP service server, accepting gzip and zstd and requests up to
/// [`MAX_MESSAGE`].
macro_rules! accepting {
    ($server:expr) => {
        $server
            .accept_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Zstd)
            .max_decoding_message_size(MAX_MESSAGE)
    };
}

/// An OTLP/gRPC server on 127.0.0.1 (plaintext; gzip and zstd accepted; requests up
/// to 64 MiB) that records every export and answers from a script: queued
/// [`Reply`]s first, then a default (OK unless [`OtlpGrpcSink::set_default`] changed
/// it). It stops when dropped.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use stratus_testkit::grpc::{OtlpGrpcSink, Reply};
/// use tonic::Code;
///
/// let sink = OtlpGrpcSink::start().await;
/// sink.respond(Reply::status(Code::Unavailable, "warming up"));
/// // ... point the otlp exporter at sink.url() and send ...
/// # let _ = sink.url();
/// # }
/// ```
pub struct OtlpGrpcSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl OtlpGrpcSink {
    /// Binds 127.0.0.1 on a port the OS chooses and starts serving. Panics when it
    /// cannot bind.
    pub async fn start() -> Self {
        let (listener, addr) = bind_loopback("OTLP gRPC sink").await;
        let shared = Arc::new(Recorder::new(Reply::ok()));
        let services = Services(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let router = tonic::transport::Server::builder()
            .add_service(accepting!(TraceServiceServer::new(services.clone())))
            .add_service(accepting!(MetricsServiceServer::new(services.clone())))
            .add_service(accepting!(LogsServiceServer::new(services)));
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let task = tokio::spawn(async move {
            let _ = router
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stopped.await;
                })
                .await;
        });
        OtlpGrpcSink {
            addr,
            shared,
            stop: Some(stop),
            task,
        }
    }

    recording_methods!(
        GrpcRequest, reply: Reply, "export", "exports", initially "OK",
        /// `http://127.0.0.1:<port>`: an `endpoint` for the `otlp` exporter (plaintext).
        waits for "OTLP/gRPC exports" showing |r: &GrpcRequest| r.signal
    );

    /// Items (spans, points, records) received in all.
    pub fn item_count(&self) -> usize {
        self.shared
            .with_requests(|r| r.iter().map(|r| r.payload.item_count()).sum())
    }
}

impl Drop for OtlpGrpcSink {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::{sample_logs, sample_metrics, sample_spans};
    use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
    use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;

    const T: Duration = Duration::from_secs(10);

    fn traces_of(p: Payload) -> ExportTraceServiceRequest {
        match p {
            Payload::Traces(resource_spans) => ExportTraceServiceRequest { resource_spans },
            _ => unreachable!(),
        }
    }

    #[tokio::test]
    async fn records_every_signal_and_answers_from_the_script() {
        let sink = OtlpGrpcSink::start().await;
        sink.respond(Reply::status(Code::InvalidArgument, "bad spans"));
        sink.respond(Reply::partial_success(1, "one span dropped"));
        let mut traces = TraceServiceClient::connect(sink.url())
            .await
            .unwrap()
            .send_compressed(CompressionEncoding::Gzip);
        let mut req = Request::new(traces_of(sample_spans(3).payload.into_payload()));
        req.metadata_mut()
            .insert("authorization", "Bearer t".parse().unwrap());
        let err = traces.export(req).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(err.message(), "bad spans");
        let ok = traces
            .export(traces_of(sample_spans(1).payload.into_payload()))
            .await
            .unwrap()
            .into_inner();
        let partial = ok.partial_success.unwrap();
        assert_eq!(partial.rejected_spans, 1);
        assert_eq!(partial.error_message, "one span dropped");
        let plain = traces
            .export(traces_of(sample_spans(1).payload.into_payload()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(plain.partial_success, None);

        let Payload::Metrics(resource_metrics) = sample_metrics(2).payload.into_payload() else {
            unreachable!()
        };
        MetricsServiceClient::connect(sink.url())
            .await
            .unwrap()
            .export(ExportMetricsServiceRequest { resource_metrics })
            .await
            .unwrap();
        sink.set_default(Reply::status(Code::Unavailable, "down"));
        let Payload::Logs(resource_logs) = sample_logs(4).payload.into_payload() else {
            unreachable!()
        };
        let err = LogsServiceClient::connect(sink.url())
            .await
            .unwrap()
            .send_compressed(CompressionEncoding::Zstd)
            .export(ExportLogsServiceRequest { resource_logs })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable);

        let got = sink.wait_for_requests(5, T).await;
        let signals: Vec<Signal> = got.iter().map(|r| r.signal).collect();
        assert_eq!(
            signals,
            [
                Signal::Traces,
                Signal::Traces,
                Signal::Traces,
                Signal::Metrics,
                Signal::Logs
            ]
        );
        assert_eq!(got[0].header("authorization"), Some("Bearer t"));
        assert_eq!(got[0].header("grpc-encoding"), Some("gzip"));
        assert_eq!(got[0].payload.item_count(), 3);
        assert_eq!(got[4].payload.item_count(), 4);
        assert_eq!(sink.item_count(), 3 + 1 + 1 + 2 + 4);
        assert_eq!(sink.take_requests().len(), 5);
        assert_eq!(sink.request_count(), 0);
    }

    #[tokio::test]
    async fn stops_when_dropped() {
        let sink = OtlpGrpcSink::start().await;
        let addr = sink.addr();
        drop(sink);
        crate::wait_until("the port to be released", T, || {
            std::net::TcpListener::bind(addr).is_ok()
        })
        .await;
    }
}
