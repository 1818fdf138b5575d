//! The `file` exporter: writes every batch to a file, as the collector's file exporter
//! does, and [`read_file`] to read such a file back.
//!
//! - `format: json` (default): one OTLP/JSON export request per line
//!   (`{"resourceSpans":[...]}`), in the compact form the collector writes.
//! - `format: proto`: each export request as binary protobuf after its length (4 bytes,
//!   big-endian).
//! - `compression: zstd`: each request compressed on its own, after its length.
//! - `rotation`: when a write would take the file past `max_megabytes`, the file is
//!   renamed to `name-<UTC time>.ext` and a new one started; at most `max_backups`
//!   rotated files (and none older than `max_days`) are kept.
//!
//! Every batch reaches the file (the operating system) before `consume` returns, so a
//! reader sees it at once. There is no queue and no retry: a failed write is returned
//! to the pipeline, retryable when the disk is full, permanent when the file cannot
//! be written at all ([`factory::classify_io_error`]).
//!
//! ```yaml
//! exporters:
//!   file:
//!     path: /var/lib/stratus/traces.json
//!     rotation: { max_megabytes: 50, max_backups: 5 }
//! ```

pub mod config;
pub mod factory;
pub mod reader;
pub mod writer;

pub use config::{FileCompression, FileConfig, Format, RotationConfig};
pub use factory::{FileExporterFactory, FileSender};
pub use reader::{ReadError, read_bytes, read_file};
