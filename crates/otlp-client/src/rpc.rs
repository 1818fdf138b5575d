//! What OTLP export answers carry: the export response with its partial success. The
//! `google.rpc` status types live in [`stratus_core::rpc`], shared with the receiver.

pub use stratus_core::rpc::{RetryInfo, RpcStatus, retry_delay_in_details};

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

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

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
    }
}
