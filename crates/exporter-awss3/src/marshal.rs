//! What goes into an object: the marshalers (contrib `exporter/awss3exporter`
//! `marshaler.go`, `body_marshaler.go`), compression (`internal/upload/writer.go`) and
//! the object's `Content-Type` / `Content-Encoding`.
//!
//! | `marshaler` | body | extension | `Content-Type` |
//! | --- | --- | --- | --- |
//! | `otlp_json` (default) | the export request in OTLP/JSON (`{"resourceSpans":[...]}`) | `json` | `application/json` |
//! | `otlp_proto` | the export request in protobuf | `binpb` | `application/x-protobuf` |
//! | `body` (logs only) | each record's body as a string (pdata's `AsString`), one per line | `txt` | `text/plain; charset=utf-8` |
//!
//! `compression: gzip` or `zstd` compresses the body, adds `.gz` / `.zst` to the key
//! and sets `Content-Encoding: gzip` / `zstd` (upstream sets `Content-Encoding` the
//! same way; `Content-Type` is stratus's addition, so readers know the format).

use std::io::{self, Write as _};

use serde::Deserialize;
use stratus_aws_common::gojson;
use stratus_core::pdata::json;
use stratus_core::{Payload, Signal};

/// How a batch becomes an object body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Marshaler {
    /// OTLP/JSON. The default.
    #[default]
    OtlpJson,
    /// OTLP protobuf.
    OtlpProto,
    /// Log bodies as text, one per line (logs only).
    Body,
    /// Upstream's Sumo Logic format: not supported by stratus (refused by validation).
    SumoIc,
}

impl Marshaler {
    /// The config name (`otlp_json`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Marshaler::OtlpJson => "otlp_json",
            Marshaler::OtlpProto => "otlp_proto",
            Marshaler::Body => "body",
            Marshaler::SumoIc => "sumo_ic",
        }
    }

    /// The file extension, without the dot.
    pub fn extension(&self) -> &'static str {
        match self {
            Marshaler::OtlpJson | Marshaler::SumoIc => "json",
            Marshaler::OtlpProto => "binpb",
            Marshaler::Body => "txt",
        }
    }

    /// The object's `Content-Type`.
    pub fn content_type(&self) -> &'static str {
        match self {
            Marshaler::OtlpJson | Marshaler::SumoIc => "application/json",
            Marshaler::OtlpProto => "application/x-protobuf",
            Marshaler::Body => "text/plain; charset=utf-8",
        }
    }

    /// Whether this marshaler can write `signal` (`body` writes logs only).
    pub fn supports(&self, signal: Signal) -> bool {
        match self {
            Marshaler::OtlpJson | Marshaler::OtlpProto => true,
            Marshaler::Body => signal == Signal::Logs,
            Marshaler::SumoIc => false,
        }
    }

    /// The object body for `payload`.
    pub fn marshal(&self, payload: &Payload) -> Result<Vec<u8>, MarshalError> {
        match (self, payload) {
            (Marshaler::OtlpJson, p) => Ok(json::encode_request(p)),
            (Marshaler::OtlpProto, p) => Ok(p.encode_request()),
            (Marshaler::Body, Payload::Logs(resource_logs)) => {
                let mut out = Vec::new();
                for record in resource_logs
                    .iter()
                    .flat_map(|rl| &rl.scope_logs)
                    .flat_map(|sl| &sl.log_records)
                {
                    out.extend_from_slice(gojson::as_string(record.body.as_ref()).as_bytes());
                    out.push(b'\n');
                }
                Ok(out)
            }
            (m, p) => Err(MarshalError::Unsupported {
                marshaler: m.name(),
                signal: p.signal(),
            }),
        }
    }
}

/// A batch the marshaler cannot write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarshalError {
    /// `body` with traces or metrics (upstream: "traces can't be marshaled into txt
    /// format"), or `sumo_ic`.
    #[error("{signal} can't be marshaled with the `{marshaler}` marshaler")]
    Unsupported {
        /// The marshaler.
        marshaler: &'static str,
        /// The batch's signal.
        signal: Signal,
    },
}

/// Compression of object bodies (upstream `configcompression`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// None (also written `""`). The default.
    #[default]
    #[serde(alias = "")]
    None,
    /// gzip, at the default level (6), as Go's `gzip.NewWriter`.
    Gzip,
    /// Zstandard at the default level (3).
    Zstd,
}

impl Compression {
    /// What the key ends with: `""`, `.gz` or `.zst`.
    pub fn extension(&self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
        }
    }

    /// The object's `Content-Encoding`, when compressed.
    pub fn content_encoding(&self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
        }
    }

    /// `body`, compressed.
    pub fn compress(&self, body: Vec<u8>) -> io::Result<Vec<u8>> {
        match self {
            Compression::None => Ok(body),
            Compression::Gzip => {
                let mut encoder = flate2::write::GzEncoder::new(
                    Vec::with_capacity(body.len() / 4 + 64),
                    flate2::Compression::default(),
                );
                encoder.write_all(&body)?;
                encoder.finish()
            }
            Compression::Zstd => zstd::encode_all(body.as_slice(), 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;
    use stratus_testkit::otlp::{IntoAnyValue, kvlist, log, logs, sample};

    #[test]
    fn marshalers_table() {
        let spans = sample(Signal::Traces, 2).payload.into_payload();
        let json_body = Marshaler::OtlpJson.marshal(&spans).unwrap();
        assert_eq!(
            json::decode_request(Signal::Traces, &json_body).unwrap(),
            spans
        );
        assert!(json_body.starts_with(br#"{"resourceSpans":["#));
        let proto = Marshaler::OtlpProto.marshal(&spans).unwrap();
        assert_eq!(proto, spans.encode_request());

        let records = logs()
            .record("line one")
            .record(log(42))
            .record(log(kvlist([("a", "<b>".into_any_value())])))
            .record(log(1).with(|r| r.body = None))
            .payload();
        let text = Marshaler::Body.marshal(&records).unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "line one\n42\n{\"a\":\"<b>\"}\n\n"
        );
        assert!(
            Marshaler::Body
                .marshal(&Payload::Logs(Vec::new()))
                .unwrap()
                .is_empty()
        );

        for signal in [Signal::Traces, Signal::Metrics] {
            let err = Marshaler::Body
                .marshal(&sample(signal, 1).payload)
                .unwrap_err();
            assert_eq!(
                err,
                MarshalError::Unsupported {
                    marshaler: "body",
                    signal
                }
            );
            assert!(!Marshaler::Body.supports(signal));
            assert!(Marshaler::OtlpJson.supports(signal));
        }
        assert!(Marshaler::Body.supports(Signal::Logs));
        assert!(!Marshaler::SumoIc.supports(Signal::Logs));
    }

    #[test]
    fn names_extensions_content_types() {
        let cases = [
            (Marshaler::OtlpJson, "otlp_json", "json", "application/json"),
            (
                Marshaler::OtlpProto,
                "otlp_proto",
                "binpb",
                "application/x-protobuf",
            ),
            (Marshaler::Body, "body", "txt", "text/plain; charset=utf-8"),
        ];
        for (m, name, ext, ct) in cases {
            assert_eq!((m.name(), m.extension(), m.content_type()), (name, ext, ct));
        }
        let cases = [
            (Compression::None, "", None),
            (Compression::Gzip, ".gz", Some("gzip")),
            (Compression::Zstd, ".zst", Some("zstd")),
        ];
        for (c, ext, enc) in cases {
            assert_eq!((c.extension(), c.content_encoding()), (ext, enc));
        }
    }

    #[test]
    fn compression_round_trips() {
        let body = Marshaler::OtlpJson
            .marshal(&sample(Signal::Logs, 50).payload)
            .unwrap();
        assert_eq!(Compression::None.compress(body.clone()).unwrap(), body);

        let gz = Compression::Gzip.compress(body.clone()).unwrap();
        assert_eq!(&gz[..2], &[0x1f, 0x8b], "gzip magic");
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(gz.as_slice())
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, body);

        let zst = Compression::Zstd.compress(body.clone()).unwrap();
        assert_eq!(&zst[..4], &[0x28, 0xb5, 0x2f, 0xfd], "zstd magic");
        assert_eq!(zstd::decode_all(zst.as_slice()).unwrap(), body);
        assert!(zst.len() < body.len() && gz.len() < body.len());
    }
}
