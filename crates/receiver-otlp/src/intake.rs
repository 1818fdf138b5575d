//! What both transports share: the three export request types, and handing a decoded
//! request to the pipeline with the receiver's metrics counted.

use std::net::SocketAddr;

use prost::Message;
use serde::de::DeserializeOwned;
use stratus_core::factory::SignalConsumers;
use stratus_core::pdata::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};
use stratus_core::telemetry::ReceiverMetrics;
use stratus_core::{Contents, Metadata, Payload, Signal, Telemetry};

use crate::status::Refusal;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;

/// How deep protobuf messages may nest in a request: prost's recursion limit. A
/// request is `ExportTraceServiceRequest` → `ResourceSpans` → `ScopeSpans` → `Span` →
/// `KeyValue` → `AnyValue`, and each further `AnyValue` level inside an array or map
/// takes two more, so attribute values nest about 45 levels deep at most.
pub(crate) const PROTOBUF_DEPTH_LIMIT: u32 = 100;

/// How deep JSON arrays and objects may nest in an OTLP/JSON request: serde_json's
/// recursion limit. Each `AnyValue` level inside an array takes three (the value
/// object, `arrayValue`, `values`), so attribute values nest about 40 levels deep.
pub(crate) const JSON_DEPTH_LIMIT: u32 = 128;

/// The refusal for an OTLP/JSON body serde_json could not decode; says so plainly
/// when the nesting limit was what stopped it.
pub(crate) fn json_refusal(e: serde_json::Error) -> Refusal {
    let text = e.to_string();
    if text.contains("recursion limit exceeded") {
        Refusal::bad_request(format!(
            "cannot decode JSON request: arrays and objects nested more than {JSON_DEPTH_LIMIT} deep (the depth limit), at line {} column {}",
            e.line(),
            e.column()
        ))
    } else {
        Refusal::bad_request(format!("cannot decode JSON request: {text}"))
    }
}

/// An OTLP export request of one signal.
pub(crate) trait ExportRequest:
    Message + Default + DeserializeOwned + Send + Sync + 'static
{
    /// The matching export response.
    type Response: Message + Default + Send + 'static;
    /// The message type, for the decoded-size bound.
    const TYPE: crate::decoded::Ty;
    /// The request's signal.
    const SIGNAL: Signal;
    /// The request's data as a pipeline payload.
    fn into_payload(self) -> Payload;
}

impl ExportRequest for ExportTraceServiceRequest {
    type Response = ExportTraceServiceResponse;
    const TYPE: crate::decoded::Ty = crate::decoded::Ty::TraceRequest;
    const SIGNAL: Signal = Signal::Traces;
    fn into_payload(self) -> Payload {
        Payload::Traces(self.resource_spans)
    }
}

impl ExportRequest for ExportMetricsServiceRequest {
    type Response = ExportMetricsServiceResponse;
    const TYPE: crate::decoded::Ty = crate::decoded::Ty::MetricsRequest;
    const SIGNAL: Signal = Signal::Metrics;
    fn into_payload(self) -> Payload {
        Payload::Metrics(self.resource_metrics)
    }
}

impl ExportRequest for ExportLogsServiceRequest {
    type Response = ExportLogsServiceResponse;
    const TYPE: crate::decoded::Ty = crate::decoded::Ty::LogsRequest;
    const SIGNAL: Signal = Signal::Logs;
    fn into_payload(self) -> Payload {
        Payload::Logs(self.resource_logs)
    }
}

/// The pipeline side of one transport: where each signal goes and what is counted.
pub(crate) struct Intake {
    pub receiver: String,
    pub transport: &'static str,
    pub consumers: SignalConsumers,
    pub metrics: ReceiverMetrics,
    pub include_metadata: bool,
}

impl Intake {
    /// Whether some pipeline takes `signal` from this receiver.
    pub fn serves(&self, signal: Signal) -> bool {
        self.consumers.get(signal).is_some()
    }

    /// The metadata to attach: the client address, and the headers when
    /// `include_metadata` is on.
    pub fn metadata<'a>(
        &self,
        peer: SocketAddr,
        headers: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> Metadata {
        if self.include_metadata {
            Metadata::new(
                Some(peer),
                headers.map(|(k, v)| (k.to_string(), v.to_string())),
            )
        } else {
            Metadata::new(Some(peer), std::iter::empty())
        }
    }

    /// Hands a payload (decoded, or the checked bytes of a protobuf request) to the
    /// pipeline. Empty payloads are accepted without calling it.
    pub async fn consume(
        &self,
        payload: impl Into<Contents>,
        metadata: Metadata,
    ) -> Result<(), Refusal> {
        let payload: Contents = payload.into();
        if payload.is_empty() {
            return Ok(());
        }
        let signal = payload.signal();
        let Some(consumer) = self.consumers.get(signal) else {
            // Callers check `serves` first; answer as for an unknown route.
            return Err(Refusal {
                code: tonic::Code::Unimplemented,
                http: http::StatusCode::NOT_FOUND,
                message: format!("{signal} are not accepted by this receiver"),
                retry_after: None,
            });
        };
        let items = payload.item_count();
        match consumer
            .consume(Telemetry::with_metadata(payload, metadata))
            .await
        {
            Ok(()) => {
                self.metrics.accepted(signal, items);
                Ok(())
            }
            Err(e) => {
                self.metrics.refused(signal, items);
                tracing::debug!(
                    receiver = %self.receiver,
                    transport = self.transport,
                    signal = signal.as_str(),
                    items,
                    permanent = e.is_permanent(),
                    error = %e,
                    "pipeline refused data"
                );
                Err(Refusal::from_consume(&e))
            }
        }
    }
}
