//! How refusals are reported: `google.rpc.Status` bodies and the mapping from
//! [`ConsumeError`] to gRPC codes and HTTP status codes.

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use prost::Message;
use stratus_core::ConsumeError;
use stratus_core::rpc::RpcStatus;
use tonic::Code;

/// What the memory limiter answers when it refuses data (the collector's wording);
/// receivers refusing early for the same reason say the same.
pub(crate) const DATA_REFUSED: &str = "data refused due to high memory usage";

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

    /// The request would decode to more memory than allowed (HTTP `413`, gRPC
    /// `RESOURCE_EXHAUSTED`).
    pub fn decodes_too_large(message: impl Into<String>) -> Self {
        Refusal {
            code: Code::ResourceExhausted,
            http: StatusCode::PAYLOAD_TOO_LARGE,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The body was not read within `read_timeout` (HTTP `408`).
    pub fn read_timed_out(limit: Duration) -> Self {
        Refusal {
            code: Code::DeadlineExceeded,
            http: StatusCode::REQUEST_TIMEOUT,
            message: format!("request body not read within read_timeout ({limit:?})"),
            retry_after: None,
        }
    }

    /// The request was not answered within `write_timeout`: abandoned, and the
    /// client may retry (HTTP `503`).
    pub fn write_timed_out(limit: Duration) -> Self {
        Refusal {
            code: Code::Unavailable,
            http: StatusCode::SERVICE_UNAVAILABLE,
            message: format!("request not answered within write_timeout ({limit:?})"),
            retry_after: None,
        }
    }

    /// The request would take memory over the memory limiter's soft limit: refused
    /// before decoding, with the limiter's own message and shape (`UNAVAILABLE` / 503
    /// with a retry delay), as if the limiter had refused it.
    pub fn memory_limited(retry_after: Duration) -> Self {
        Refusal::from_consume(&ConsumeError::throttled(DATA_REFUSED, retry_after))
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
        RpcStatus::new(self.code as i32, self.message.clone()).with_retry_delay(self.retry_after)
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
        Bytes::from(self.rpc_status().to_json().to_string())
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
        assert_eq!(decoded.retry_delay(), Some(Duration::from_secs(7)));
        let json: serde_json::Value = serde_json::from_slice(&r.json_body()).unwrap();
        assert_eq!(json["code"], 14);
        assert_eq!(json["details"][0]["retryDelay"], "7s");
    }
}
