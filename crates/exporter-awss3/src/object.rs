//! One S3 object for a batch: key, body, `Content-Type`, `Content-Encoding`, storage
//! class and ACL, everything PutObject needs besides the bucket.

use std::time::SystemTime;

use stratus_core::Payload;

use crate::config::S3Settings;
use crate::marshal::MarshalError;

/// An object ready for PutObject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Object {
    /// The key (see [`crate::key`]).
    pub key: String,
    /// The body, compressed when the config says so.
    pub body: Vec<u8>,
    /// The `Content-Type` (from the marshaler).
    pub content_type: &'static str,
    /// The `Content-Encoding` (`gzip`, `zstd`), when compressed.
    pub content_encoding: Option<&'static str>,
    /// The storage class (`STANDARD`, ...).
    pub storage_class: &'static str,
    /// The canned ACL, when one is configured.
    pub acl: Option<&'static str>,
}

/// Why a batch could not become an object.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The marshaler cannot write this signal.
    #[error(transparent)]
    Marshal(#[from] MarshalError),
    /// Compression failed.
    #[error("compressing the object failed: {0}")]
    Compress(#[from] std::io::Error),
}

impl S3Settings {
    /// The object for `payload` written at `time`, its key's unique part made from
    /// `time` and `random` (bits from a random source). `None` when the marshaled body
    /// is empty (a `body` batch without records): upstream uploads nothing then.
    pub fn object(
        &self,
        payload: &Payload,
        time: SystemTime,
        random: u128,
    ) -> Result<Option<S3Object>, ObjectError> {
        let body = self.marshaler.marshal(payload)?;
        if body.is_empty() {
            return Ok(None);
        }
        let body = self.compression.compress(body)?;
        Ok(Some(S3Object {
            key: self.key_builder(payload.signal()).build(time, random),
            body,
            content_type: self.marshaler.content_type(),
            content_encoding: self.compression.content_encoding(),
            storage_class: self.storage_class.as_str(),
            acl: self.acl.as_str(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::time::Duration;

    use serde_json::json;
    use stratus_core::Signal;
    use stratus_core::factory::decode_config;
    use stratus_core::pdata::json as otlp_json;
    use stratus_testkit::otlp::sample;

    use crate::config::AwsS3Config;

    fn settings(v: serde_json::Value) -> crate::S3Settings {
        decode_config::<AwsS3Config>(&v)
            .unwrap()
            .settings()
            .unwrap()
    }

    #[test]
    fn brief_config_makes_gzipped_otlp_json_objects() {
        let s = settings(json!({
            "region": "us-east-1", "s3_bucket": "otel-traces-archive", "s3_prefix": "traces/",
            "s3_partition": "hour", "compression": "gzip", "marshaler": "otlp_json"
        }));
        let batch = sample(Signal::Traces, 3).payload.into_payload();
        let t = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_748_783_000);
        let o = s.object(&batch, t, 7).unwrap().unwrap();
        assert!(
            o.key
                .starts_with("traces/year=2025/month=06/day=01/hour=13/traces_"),
            "{}",
            o.key
        );
        assert!(o.key.ends_with(".json.gz"), "{}", o.key);
        assert_eq!(o.content_type, "application/json");
        assert_eq!(o.content_encoding, Some("gzip"));
        assert_eq!((o.storage_class, o.acl), ("STANDARD", None));
        let mut body = Vec::new();
        flate2::read::GzDecoder::new(o.body.as_slice())
            .read_to_end(&mut body)
            .unwrap();
        assert_eq!(
            otlp_json::decode_request(Signal::Traces, &body).unwrap(),
            batch
        );
        // Another random value, another key.
        assert_ne!(s.object(&batch, t, 8).unwrap().unwrap().key, o.key);
    }

    #[test]
    fn proto_round_trips_and_body_needs_logs() {
        let s = settings(json!({"s3uploader": {
            "s3_bucket": "b", "compression": "zstd", "acl": "private", "storage_class": "GLACIER"
        }, "marshaler": "otlp_proto"}));
        let batch = sample(Signal::Metrics, 4).payload.into_payload();
        let o = s
            .object(&batch, std::time::SystemTime::UNIX_EPOCH, 1)
            .unwrap()
            .unwrap();
        assert!(
            o.key.ends_with(".binpb.zst") && o.key.contains("/metrics_"),
            "{}",
            o.key
        );
        assert_eq!(
            (o.content_type, o.content_encoding),
            ("application/x-protobuf", Some("zstd"))
        );
        assert_eq!((o.storage_class, o.acl), ("GLACIER", Some("private")));
        assert_eq!(
            zstd::decode_all(o.body.as_slice()).unwrap(),
            batch.encode_request()
        );

        let s = settings(json!({"s3uploader": {"s3_bucket": "b"}, "marshaler": "body"}));
        let o = s.object(
            &sample(Signal::Logs, 2).payload,
            std::time::SystemTime::UNIX_EPOCH,
            1,
        );
        let o = o.unwrap().unwrap();
        assert!(
            o.key.ends_with(".txt") && o.key.contains("/logs_"),
            "{}",
            o.key
        );
        assert_eq!(o.content_type, "text/plain; charset=utf-8");
        assert_eq!(o.content_encoding, None);
        assert!(
            s.object(
                &sample(Signal::Traces, 1).payload,
                std::time::SystemTime::UNIX_EPOCH,
                1
            )
            .is_err()
        );
        assert!(
            s.object(
                &stratus_core::Payload::Logs(vec![]),
                std::time::SystemTime::UNIX_EPOCH,
                1
            )
            .unwrap()
            .is_none()
        );
    }
}
