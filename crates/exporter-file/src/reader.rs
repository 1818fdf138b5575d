//! Reads back what the `file` exporter wrote, one [`Payload`] per exported batch.
//!
//! ```no_run
//! use stratus_core::Signal;
//! use stratus_exporter_file::{FileCompression, Format, read_file};
//!
//! let batches = read_file("/tmp/traces.json".as_ref(), Format::Json, FileCompression::None, Signal::Traces)?;
//! # Ok::<(), stratus_exporter_file::ReadError>(())
//! ```

use std::path::Path;

use prost::Message;
use stratus_core::pdata::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest, json,
};
use stratus_core::{Payload, Signal};

use crate::config::{FileCompression, Format};

/// A file could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file ends inside a record (it may still be being written).
    #[error("record {record} is cut short at byte {offset}")]
    Truncated {
        /// The record's index, from 0.
        record: usize,
        /// Where the record starts.
        offset: usize,
    },
    /// A record is not a valid export request.
    #[error("record {record} is not a valid export request: {message}")]
    Invalid {
        /// The record's index, from 0.
        record: usize,
        /// What is wrong.
        message: String,
    },
}

/// Reads a file written by the `file` exporter with `format` and `compression`.
///
/// Protobuf records carry no signal, so every one is decoded as `signal`. OTLP/JSON
/// records name their signal: records of other signals (a file shared by several
/// pipelines) are skipped.
pub fn read_file(
    path: &Path,
    format: Format,
    compression: FileCompression,
    signal: Signal,
) -> Result<Vec<Payload>, ReadError> {
    let bytes = std::fs::read(path).map_err(|source| ReadError::Io {
        path: path.display().to_string(),
        source,
    })?;
    read_bytes(&bytes, format, compression, signal)
}

/// Like [`read_file`], on the file's bytes.
pub fn read_bytes(
    bytes: &[u8],
    format: Format,
    compression: FileCompression,
    signal: Signal,
) -> Result<Vec<Payload>, ReadError> {
    let records = if format == Format::Json && compression == FileCompression::None {
        bytes
            .split(|b| *b == b'\n')
            .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
            .map(<[u8]>::to_vec)
            .collect()
    } else {
        let mut records = Vec::new();
        let mut offset = 0;
        while offset < bytes.len() {
            let record = records.len();
            let len_bytes: [u8; 4] = bytes
                .get(offset..offset + 4)
                .and_then(|b| b.try_into().ok())
                .ok_or(ReadError::Truncated { record, offset })?;
            let len = u32::from_be_bytes(len_bytes) as usize;
            let body = bytes
                .get(offset + 4..offset + 4 + len)
                .ok_or(ReadError::Truncated { record, offset })?;
            let body = match compression {
                FileCompression::Zstd => {
                    zstd::decode_all(body).map_err(|e| ReadError::Invalid {
                        record,
                        message: format!("zstd: {e}"),
                    })?
                }
                FileCompression::None => body.to_vec(),
            };
            records.push(body);
            offset += 4 + len;
        }
        records
    };
    let mut out = Vec::with_capacity(records.len());
    for (record, body) in records.iter().enumerate() {
        let invalid = |message: String| ReadError::Invalid { record, message };
        match format {
            Format::Json => {
                let payload = json::decode_any(body).map_err(invalid)?;
                if payload.signal() == signal {
                    out.push(payload);
                }
            }
            Format::Proto => out.push(decode_proto(signal, body).map_err(invalid)?),
        }
    }
    Ok(out)
}

fn decode_proto(signal: Signal, body: &[u8]) -> Result<Payload, String> {
    let e = |e: prost::DecodeError| e.to_string();
    Ok(match signal {
        Signal::Traces => Payload::Traces(
            ExportTraceServiceRequest::decode(body)
                .map_err(e)?
                .resource_spans,
        ),
        Signal::Metrics => Payload::Metrics(
            ExportMetricsServiceRequest::decode(body)
                .map_err(e)?
                .resource_metrics,
        ),
        Signal::Logs => Payload::Logs(
            ExportLogsServiceRequest::decode(body)
                .map_err(e)?
                .resource_logs,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::frame;

    #[test]
    fn bad_files_are_reported_not_panicked_on() {
        let p = Payload::Logs(vec![Default::default()]);
        let mut bytes = frame(&p, Format::Proto, FileCompression::None).unwrap();
        bytes.extend_from_slice(&[0, 0, 0, 9, 1, 2]);
        let err =
            read_bytes(&bytes, Format::Proto, FileCompression::None, Signal::Logs).unwrap_err();
        assert!(
            matches!(err, ReadError::Truncated { record: 1, .. }),
            "{err}"
        );
        let err = read_bytes(
            b"{\"resourceLogs\":[]}\nnot json\n",
            Format::Json,
            FileCompression::None,
            Signal::Logs,
        )
        .unwrap_err();
        assert!(matches!(err, ReadError::Invalid { record: 1, .. }), "{err}");
        let err = read_bytes(
            &[0, 0, 0, 2, 1, 2],
            Format::Proto,
            FileCompression::Zstd,
            Signal::Logs,
        )
        .unwrap_err();
        assert!(err.to_string().contains("zstd"), "{err}");
        let err = read_file(
            Path::new("/nonexistent/x.json"),
            Format::Json,
            FileCompression::None,
            Signal::Logs,
        )
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/x.json"), "{err}");
    }

    #[test]
    fn json_records_of_other_signals_are_skipped() {
        let mut bytes = frame(&Payload::Logs(vec![]), Format::Json, FileCompression::None).unwrap();
        bytes.extend(
            frame(
                &Payload::Traces(vec![]),
                Format::Json,
                FileCompression::None,
            )
            .unwrap(),
        );
        let logs = read_bytes(&bytes, Format::Json, FileCompression::None, Signal::Logs).unwrap();
        assert_eq!(logs, vec![Payload::Logs(vec![])]);
    }
}
