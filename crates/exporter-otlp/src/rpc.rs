//! The few protobuf messages OTLP answers carry besides the OTLP types: `google.rpc.Status`
//! with its `google.rpc.RetryInfo` detail, and the export response with its partial success.

use std::time::Duration;

/// `google.rpc.Status`: a gRPC status with details (sent in `grpc-status-details-bin`,
/// and as the body of OTLP/HTTP error responses).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    /// The gRPC status code.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// A developer-facing message.
    #[prost(string, tag = "2")]
    pub message: String,
    /// Typed details.
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<ProtoAny>,
}

/// `google.protobuf.Any`: a typed, encoded message.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoAny {
    /// The message type, ending in its full name (`.../google.rpc.RetryInfo`).
    #[prost(string, tag = "1")]
    pub type_url: String,
    /// The encoded message.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `google.rpc.RetryInfo`: how long the client should wait before retrying.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RetryInfo {
    /// The wait.
    #[prost(message, optional, tag = "1")]
    pub retry_delay: Option<ProtoDuration>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoDuration {
    /// Whole seconds.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds on top of `seconds`.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// The type URL of a `google.rpc.RetryInfo` detail.
pub const RETRY_INFO_TYPE_URL: &str = "type.googleapis.com/google.rpc.RetryInfo";

impl RetryInfo {
    /// A `RetryInfo` asking to wait `delay`, packed as a status detail.
    pub fn detail(delay: Duration) -> ProtoAny {
        let info = RetryInfo {
            retry_delay: Some(ProtoDuration {
                seconds: i64::try_from(delay.as_secs()).unwrap_or(i64::MAX),
                nanos: i32::try_from(delay.subsec_nanos()).unwrap_or(0),
            }),
        };
        ProtoAny {
            type_url: RETRY_INFO_TYPE_URL.into(),
            value: prost::Message::encode_to_vec(&info),
        }
    }
}

impl RpcStatus {
    /// The retry delay of the first `RetryInfo` detail, if the status has one.
    /// A `RetryInfo` without a delay, or with a negative one, means "retry now" (zero).
    pub fn retry_delay(&self) -> Option<Duration> {
        self.details
            .iter()
            .find(|d| d.type_url.ends_with("google.rpc.RetryInfo"))
            .and_then(|d| <RetryInfo as prost::Message>::decode(d.value.as_slice()).ok())
            .map(|info| match info.retry_delay {
                Some(d) if d.seconds > 0 || (d.seconds == 0 && d.nanos > 0) => {
                    Duration::new(d.seconds.unsigned_abs(), d.nanos.max(0).unsigned_abs())
                }
                _ => Duration::ZERO,
            })
    }
}

/// The retry delay carried in a gRPC status's details (`grpc-status-details-bin`), if any.
pub fn retry_delay_in_details(details: &[u8]) -> Option<Duration> {
    if details.is_empty() {
        return None;
    }
    <RpcStatus as prost::Message>::decode(details)
        .ok()?
        .retry_delay()
}

/// An OTLP export response of any signal: `Export{Trace,Metrics,Logs}ServiceResponse`
/// share this wire shape.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportResponse {
    /// Set when the server accepted only part of the data, or has a warning.
    #[prost(message, optional, tag = "1")]
    pub partial_success: Option<PartialSuccess>,
}

/// `Export*PartialSuccess`: what the server rejected and why.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PartialSuccess {
    /// Rejected spans, data points or log records.
    #[prost(int64, tag = "1")]
    pub rejected: i64,
    /// Why, or a warning.
    #[prost(string, tag = "2")]
    pub error_message: String,
}

impl PartialSuccess {
    /// Reads the partial success of an OTLP/JSON export response
    /// (`{"partialSuccess":{"rejectedSpans":"2","errorMessage":"..."}}`); the rejected
    /// count may be a number or a decimal string.
    pub fn from_json(body: &[u8]) -> Option<PartialSuccess> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        let ps = value.get("partialSuccess")?;
        let rejected = ["rejectedSpans", "rejectedDataPoints", "rejectedLogRecords"]
            .iter()
            .find_map(|k| ps.get(*k))
            .and_then(|v| match v {
                serde_json::Value::Number(n) => n.as_i64(),
                serde_json::Value::String(s) => s.parse().ok(),
                _ => None,
            })
            .unwrap_or(0);
        let error_message = ps
            .get("errorMessage")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        Some(PartialSuccess {
            rejected,
            error_message,
        })
    }
}

/// Reads a `google.rpc.Status` from an OTLP/HTTP JSON error body (`{"code":3,"message":"..."}`).
pub fn status_from_json(body: &[u8]) -> Option<RpcStatus> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let message = value.get("message")?.as_str()?.to_string();
    let code = value
        .get("code")
        .and_then(|c| c.as_i64())
        .and_then(|c| i32::try_from(c).ok())
        .unwrap_or(0);
    Some(RpcStatus {
        code,
        message,
        details: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn retry_info_round_trips_through_status_details() {
        let status = RpcStatus {
            code: 8,
            message: "slow down".into(),
            details: vec![
                ProtoAny {
                    type_url: "type.googleapis.com/google.rpc.ErrorInfo".into(),
                    value: vec![1, 2, 3],
                },
                RetryInfo::detail(Duration::from_millis(1500)),
            ],
        };
        let bytes = status.encode_to_vec();
        assert_eq!(
            retry_delay_in_details(&bytes),
            Some(Duration::from_millis(1500))
        );
        let no_info = RpcStatus {
            details: vec![],
            ..status
        };
        assert_eq!(retry_delay_in_details(&no_info.encode_to_vec()), None);
        assert_eq!(retry_delay_in_details(b""), None);
        assert_eq!(retry_delay_in_details(b"\xff\xff garbage"), None);
        let empty = RpcStatus {
            details: vec![ProtoAny {
                type_url: RETRY_INFO_TYPE_URL.into(),
                value: vec![],
            }],
            ..no_info
        };
        assert_eq!(empty.retry_delay(), Some(Duration::ZERO));
    }

    #[test]
    fn export_response_matches_every_signal() {
        use opentelemetry_proto::tonic::collector::logs::v1::*;
        let resp = ExportLogsServiceResponse {
            partial_success: Some(ExportLogsPartialSuccess {
                rejected_log_records: 4,
                error_message: "too old".into(),
            }),
        };
        let ours = ExportResponse::decode(resp.encode_to_vec().as_slice()).unwrap();
        let ps = ours.partial_success.unwrap();
        assert_eq!((ps.rejected, ps.error_message.as_str()), (4, "too old"));
    }

    #[test]
    fn json_forms() {
        let ps = PartialSuccess::from_json(
            br#"{"partialSuccess":{"rejectedSpans":"2","errorMessage":"x"}}"#,
        )
        .unwrap();
        assert_eq!((ps.rejected, ps.error_message.as_str()), (2, "x"));
        let ps =
            PartialSuccess::from_json(br#"{"partialSuccess":{"rejectedDataPoints":3}}"#).unwrap();
        assert_eq!(ps.rejected, 3);
        assert!(PartialSuccess::from_json(b"{}").is_none());
        let s = status_from_json(br#"{"code":3,"message":"bad span"}"#).unwrap();
        assert_eq!((s.code, s.message.as_str()), (3, "bad span"));
        assert!(status_from_json(b"<html>").is_none());
    }
}
