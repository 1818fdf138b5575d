//! How refusals are reported: `google.rpc.Status` bodies and the mapping from
//! [`ConsumeError`] to gRPC codes and HTTP status codes.

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use prost::Message;
use stratus_core::ConsumeError;
use tonic::Code;

const RETRY_INFO_TYPE: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// `google.rpc.Status`.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct RpcStatus {
    /// A `google.rpc.Code` value.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// A developer-facing message.
    #[prost(string, tag = "2")]
    pub message: String,
    /// Typed details.
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<Any>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct Any {
    /// The type of `value`.
    #[prost(string, tag = "1")]
    pub type_url: String,
    /// The encoded message.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `google.rpc.RetryInfo`.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct RetryInfo {
    /// How long the client should wait before retrying.
    #[prost(message, optional, tag = "1")]
    pub retry_delay: Option<ProtoDuration>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct ProtoDuration {
    /// Whole seconds.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds past `seconds`.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// A refused request, as both transports report it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Refusal {
    /// The gRPC code.
    pub code: Code,
    /// The HTTP status.
    pub http: StatusCode,
    /// What went wrong.
    pub message: String,
    /// How long the client should wait before retrying, when known.
    pub retry_after: Option<Duration>,
}

impl Refusal {
    /// The request itself is malformed (bad encoding, undecodable body).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Refusal {
            code: Code::InvalidArgument,
            http: StatusCode::BAD_REQUEST,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The body is larger than allowed.
    pub fn too_large(message: impl Into<String>) -> Self {
        Refusal {
            code: Code::InvalidArgument,
            http: StatusCode::PAYLOAD_TOO_LARGE,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The pipeline refused the data: retryable errors ask the client to retry
    /// (`UNAVAILABLE` / 503), permanent errors tell it not to (`INVALID_ARGUMENT` / 400).
    pub fn from_consume(err: &ConsumeError) -> Self {
        match err {
            ConsumeError::Permanent { message } => Refusal {
                code: Code::InvalidArgument,
                http: StatusCode::BAD_REQUEST,
                message: message.clone(),
                retry_after: None,
            },
            ConsumeError::Retryable { message, throttle } => Refusal {
                code: Code::Unavailable,
                http: StatusCode::SERVICE_UNAVAILABLE,
                message: message.clone(),
                retry_after: *throttle,
            },
        }
    }

    /// The `google.rpc.Status` for this refusal, with a `RetryInfo` detail when a
    /// retry delay is known.
    pub fn rpc_status(&self) -> RpcStatus {
        let details = self
            .retry_after
            .map(|d| Any {
                type_url: RETRY_INFO_TYPE.into(),
                value: RetryInfo {
                    retry_delay: Some(ProtoDuration {
                        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
                    }),
                }
                .encode_to_vec(),
            })
            .into_iter()
            .collect();
        RpcStatus {
            code: self.code as i32,
            message: self.message.clone(),
            details,
        }
    }

    /// The gRPC status, details included.
    pub fn grpc_status(&self) -> tonic::Status {
        if self.retry_after.is_some() {
            tonic::Status::with_details(
                self.code,
                self.message.clone(),
                Bytes::from(self.rpc_status().encode_to_vec()),
            )
        } else {
            tonic::Status::new(self.code, self.message.clone())
        }
    }

    /// The `Retry-After` header value: whole seconds, rounded up, at least 1.
    pub fn retry_after_header(&self) -> Option<u64> {
        self.retry_after.map(|d| {
            let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
            secs.max(1)
        })
    }

    /// The status as protobuf bytes.
    pub fn proto_body(&self) -> Bytes {
        Bytes::from(self.rpc_status().encode_to_vec())
    }

    /// The status as OTLP/JSON (proto3 JSON mapping of `google.rpc.Status`).
    pub fn json_body(&self) -> Bytes {
        let mut status = serde_json::json!({
            "code": self.code as i32,
            "message": self.message,
        });
        if let Some(d) = self.retry_after {
            status["details"] = serde_json::json!([{
                "@type": RETRY_INFO_TYPE,
                "retryDelay": json_duration(d),
            }]);
        }
        Bytes::from(status.to_string())
    }
}

/// A duration in the proto3 JSON form: seconds with up to 9 fractional digits, `s`.
fn json_duration(d: Duration) -> String {
    let nanos = d.subsec_nanos();
    if nanos == 0 {
        format!("{}s", d.as_secs())
    } else {
        let frac = format!("{nanos:09}");
        format!("{}.{}s", d.as_secs(), frac.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consume_errors_map_to_codes() {
        let r = Refusal::from_consume(&ConsumeError::permanent("never"));
        assert_eq!(
            (r.code, r.http),
            (Code::InvalidArgument, StatusCode::BAD_REQUEST)
        );
        assert_eq!(r.retry_after_header(), None);
        let r = Refusal::from_consume(&ConsumeError::retryable("later"));
        assert_eq!(
            (r.code, r.http),
            (Code::Unavailable, StatusCode::SERVICE_UNAVAILABLE)
        );
        assert_eq!(r.retry_after_header(), None);
        assert!(r.grpc_status().details().is_empty());
        let r = Refusal::from_consume(&ConsumeError::throttled(
            "slow",
            Duration::from_millis(1500),
        ));
        assert_eq!(r.retry_after_header(), Some(2));
        let r = Refusal::from_consume(&ConsumeError::throttled("slow", Duration::from_millis(1)));
        assert_eq!(r.retry_after_header(), Some(1));
    }

    #[test]
    fn retry_info_rides_in_the_status_details() {
        let r = Refusal::from_consume(&ConsumeError::throttled("q full", Duration::from_secs(7)));
        let status = r.grpc_status();
        assert_eq!(status.code(), Code::Unavailable);
        let decoded = RpcStatus::decode(status.details()).unwrap();
        assert_eq!(decoded.code, Code::Unavailable as i32);
        assert_eq!(decoded.message, "q full");
        assert_eq!(decoded.details[0].type_url, RETRY_INFO_TYPE);
        let info = RetryInfo::decode(decoded.details[0].value.as_slice()).unwrap();
        assert_eq!(info.retry_delay.unwrap().seconds, 7);
        let json: serde_json::Value = serde_json::from_slice(&r.json_body()).unwrap();
        assert_eq!(json["code"], 14);
        assert_eq!(json["details"][0]["retryDelay"], "7s");
    }

    #[test]
    fn json_durations() {
        assert_eq!(json_duration(Duration::from_secs(3)), "3s");
        assert_eq!(json_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(json_duration(Duration::from_nanos(1)), "0.000000001s");
    }
}
