//! The `google.rpc` messages OTLP answers carry besides the OTLP types: `Status` with
//! its `RetryInfo` detail, and the packing of a retry delay into a status and back.
//! One home for the receiver, which sends them when it refuses data, and for the
//! exporters, which read them to honour a destination's throttling.

use std::time::Duration;

use prost::Message;

/// The type URL of a `google.rpc.RetryInfo` detail.
pub const RETRY_INFO_TYPE_URL: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// `google.rpc.Status`: a gRPC status with details (sent in `grpc-status-details-bin`,
/// and as the body of OTLP/HTTP error responses).
#[derive(Clone, PartialEq, Message)]
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
#[derive(Clone, PartialEq, Message)]
pub struct ProtoAny {
    /// The message type, ending in its full name (`.../google.rpc.RetryInfo`).
    #[prost(string, tag = "1")]
    pub type_url: String,
    /// The encoded message.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `google.rpc.RetryInfo`: how long the client should wait before retrying.
#[derive(Clone, PartialEq, Message)]
pub struct RetryInfo {
    /// The wait.
    #[prost(message, optional, tag = "1")]
    pub retry_delay: Option<ProtoDuration>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, Message)]
pub struct ProtoDuration {
    /// Whole seconds.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds on top of `seconds`.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl From<Duration> for ProtoDuration {
    fn from(d: Duration) -> Self {
        ProtoDuration {
            seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
        }
    }
}

impl RetryInfo {
    /// A `RetryInfo` asking to wait `delay`, packed as a status detail.
    pub fn detail(delay: Duration) -> ProtoAny {
        let info = RetryInfo {
            retry_delay: Some(delay.into()),
        };
        ProtoAny {
            type_url: RETRY_INFO_TYPE_URL.into(),
            value: info.encode_to_vec(),
        }
    }
}

impl RpcStatus {
    /// A status with `code` (a `google.rpc.Code` value) and `message`, no details.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        RpcStatus {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// The same status with a `RetryInfo` detail asking to wait `delay`, when known.
    pub fn with_retry_delay(mut self, delay: Option<Duration>) -> Self {
        if let Some(delay) = delay {
            self.details.push(RetryInfo::detail(delay));
        }
        self
    }

    /// The retry delay of the first `RetryInfo` detail, if the status has one.
    /// A `RetryInfo` without a delay, or with a negative one, means "retry now" (zero).
    pub fn retry_delay(&self) -> Option<Duration> {
        self.details
            .iter()
            .find(|d| d.type_url.ends_with("google.rpc.RetryInfo"))
            .and_then(|d| RetryInfo::decode(d.value.as_slice()).ok())
            .map(|info| match info.retry_delay {
                Some(d) if d.seconds > 0 || (d.seconds == 0 && d.nanos > 0) => {
                    Duration::new(d.seconds.unsigned_abs(), d.nanos.max(0).unsigned_abs())
                }
                _ => Duration::ZERO,
            })
    }

    /// The status in the proto3 JSON mapping (the body of an OTLP/HTTP JSON error):
    /// `{"code":14,"message":"...","details":[{"@type":"...RetryInfo","retryDelay":"7s"}]}`.
    /// Only `RetryInfo` details are rendered; others have no JSON form here.
    pub fn to_json(&self) -> serde_json::Value {
        let mut status = serde_json::json!({
            "code": self.code,
            "message": self.message,
        });
        if let Some(delay) = self.retry_delay() {
            status["details"] = serde_json::json!([{
                "@type": RETRY_INFO_TYPE_URL,
                "retryDelay": json_duration(delay),
            }]);
        }
        status
    }

    /// Reads a status from an OTLP/HTTP JSON error body (`{"code":3,"message":"..."}`),
    /// with its `RetryInfo` detail when it has one.
    pub fn from_json(body: &[u8]) -> Option<RpcStatus> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        let message = value.get("message")?.as_str()?.to_string();
        let code = value
            .get("code")
            .and_then(|c| c.as_i64())
            .and_then(|c| i32::try_from(c).ok())
            .unwrap_or(0);
        let delay = value
            .get("details")
            .and_then(|d| d.as_array())
            .into_iter()
            .flatten()
            .find(|d| {
                d.get("@type")
                    .and_then(|t| t.as_str())
                    .is_some_and(|t| t.ends_with("google.rpc.RetryInfo"))
            })
            .map(|d| {
                d.get("retryDelay")
                    .and_then(|v| v.as_str())
                    .and_then(parse_json_duration)
                    .unwrap_or(Duration::ZERO)
            });
        Some(RpcStatus::new(code, message).with_retry_delay(delay))
    }
}

/// The retry delay carried in a gRPC status's details (`grpc-status-details-bin`), if any.
pub fn retry_delay_in_details(details: &[u8]) -> Option<Duration> {
    if details.is_empty() {
        return None;
    }
    RpcStatus::decode(details).ok()?.retry_delay()
}

/// A duration in the proto3 JSON form: seconds with up to 9 fractional digits, `s`.
pub fn json_duration(d: Duration) -> String {
    let nanos = d.subsec_nanos();
    if nanos == 0 {
        format!("{}s", d.as_secs())
    } else {
        let frac = format!("{nanos:09}");
        format!("{}.{}s", d.as_secs(), frac.trim_end_matches('0'))
    }
}

/// Parses the proto3 JSON form of a non-negative duration (`"1.5s"`).
fn parse_json_duration(s: &str) -> Option<Duration> {
    let secs = s.strip_suffix('s')?;
    let (whole, frac) = secs.split_once('.').unwrap_or((secs, ""));
    let whole: u64 = whole.parse().ok()?;
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    Some(Duration::new(whole, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn json_form_round_trips_with_and_without_a_delay() {
        let s = RpcStatus::new(14, "q full").with_retry_delay(Some(Duration::from_secs(7)));
        let json = s.to_json();
        assert_eq!(json["code"], 14);
        assert_eq!(json["details"][0]["@type"], RETRY_INFO_TYPE_URL);
        assert_eq!(json["details"][0]["retryDelay"], "7s");
        let back = RpcStatus::from_json(json.to_string().as_bytes()).unwrap();
        assert_eq!(back, s);
        let plain = RpcStatus::new(3, "bad span");
        assert!(plain.to_json().get("details").is_none());
        let back = RpcStatus::from_json(br#"{"code":3,"message":"bad span"}"#).unwrap();
        assert_eq!(back, plain);
        assert!(RpcStatus::from_json(b"<html>").is_none());
        let half = RpcStatus::from_json(
            br#"{"code":8,"message":"m","details":[{"@type":"x/google.rpc.RetryInfo","retryDelay":"1.5s"}]}"#,
        )
        .unwrap();
        assert_eq!(half.retry_delay(), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn json_durations() {
        assert_eq!(json_duration(Duration::from_secs(3)), "3s");
        assert_eq!(json_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(json_duration(Duration::from_nanos(1)), "0.000000001s");
        for d in [
            Duration::from_secs(3),
            Duration::from_millis(1500),
            Duration::from_nanos(1),
        ] {
            assert_eq!(parse_json_duration(&json_duration(d)), Some(d));
        }
        assert_eq!(parse_json_duration("-1s"), None);
        assert_eq!(parse_json_duration("1.0000000001s"), None);
        assert_eq!(parse_json_duration("1"), None);
    }
}
