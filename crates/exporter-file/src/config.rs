//! The `file` exporter's config, with the collector's keys and defaults.

use std::time::Duration;

use serde::Deserialize;
use stratus_core::factory::{ConfigProblem, Validate};

/// How each export request is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// OTLP/JSON, one export request per line (`{"resourceSpans":[...]}`).
    Json,
    /// Binary OTLP protobuf, each export request after its 4-byte big-endian length.
    Proto,
}

/// Compression of each written export request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileCompression {
    /// None (also written `""`).
    #[serde(alias = "")]
    None,
    /// Zstandard: each request is compressed on its own and written after its 4-byte
    /// big-endian length, in both formats.
    Zstd,
}

/// `rotation`: start a new file when the current one would grow too large.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RotationConfig {
    /// Size at which the file is rotated, in megabytes (MiB). Default `100`.
    pub max_megabytes: u64,
    /// Delete rotated files older than this many days; `0` keeps them regardless of
    /// age. Default `0`.
    pub max_days: u64,
    /// Keep at most this many rotated files; `0` keeps all. Default `100`.
    pub max_backups: u64,
    /// Accepted for compatibility: rotated file names always use UTC time. Default `false`.
    pub localtime: bool,
}

impl Default for RotationConfig {
    fn default() -> Self {
        RotationConfig {
            max_megabytes: 100,
            max_days: 0,
            max_backups: 100,
            localtime: false,
        }
    }
}

/// The config of the `file` exporter.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    /// The file to write. Required; no default. Missing directories are created.
    pub path: String,
    /// `json` (OTLP/JSON lines) or `proto` (length-prefixed protobuf). Default `json`.
    pub format: Format,
    /// `zstd` or none. Default: none.
    pub compression: FileCompression,
    /// Append to an existing file instead of truncating it at start. Default `false`.
    pub append: bool,
    /// Rotation; when absent the file grows without limit. Default: absent.
    pub rotation: Option<RotationConfig>,
    /// Accepted for compatibility: stratus hands every batch to the operating system as
    /// soon as it is written, so readers see it at once. Default `1s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub flush_interval: Duration,
}

impl Default for FileConfig {
    fn default() -> Self {
        FileConfig {
            path: String::new(),
            format: Format::Json,
            compression: FileCompression::None,
            append: false,
            rotation: None,
            flush_interval: Duration::from_secs(1),
        }
    }
}

impl Validate for FileConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.path.trim().is_empty() {
            problems.push(ConfigProblem::new(
                "path",
                "is required: the file to write, e.g. `/var/lib/stratus/traces.json`",
            ));
        } else if self.path.ends_with('/') {
            problems.push(ConfigProblem::new(
                "path",
                "must name a file, not a directory",
            ));
        }
        if self.append && self.compression == FileCompression::Zstd {
            problems.push(ConfigProblem::new(
                "append",
                "cannot be combined with compression: a compressed file is not appended to",
            ));
        }
        if self.flush_interval.is_zero() {
            problems.push(ConfigProblem::new(
                "flush_interval",
                "must be greater than 0",
            ));
        }
        if let Some(r) = &self.rotation
            && r.max_megabytes == 0
        {
            problems.push(ConfigProblem::new(
                "rotation::max_megabytes",
                "must be greater than 0",
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stratus_core::factory::decode_config;

    #[test]
    fn defaults_match_upstream() {
        let c: FileConfig = decode_config(&json!({"path": "/tmp/x.json"})).unwrap();
        assert_eq!(c.format, Format::Json);
        assert_eq!(c.compression, FileCompression::None);
        assert!(!c.append);
        assert_eq!(c.rotation, None);
        assert_eq!(c.flush_interval, Duration::from_secs(1));
        let c: FileConfig =
            decode_config(&json!({"path": "/tmp/x.json", "rotation": {}, "compression": ""}))
                .unwrap();
        let r = c.rotation.unwrap();
        assert_eq!(
            (r.max_megabytes, r.max_days, r.max_backups, r.localtime),
            (100, 0, 100, false)
        );
    }

    #[test]
    fn problems_and_unknown_keys() {
        let e = decode_config::<FileConfig>(&json!({})).unwrap_err();
        assert_eq!(e[0].path, "path");
        let e = decode_config::<FileConfig>(&json!({
            "path": "/tmp/x", "append": true, "compression": "zstd",
            "flush_interval": "0s", "rotation": {"max_megabytes": 0}
        }))
        .unwrap_err();
        let paths: Vec<_> = e.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            ["append", "flush_interval", "rotation::max_megabytes"]
        );
        let e =
            decode_config::<FileConfig>(&json!({"path": "/tmp/x", "formt": "json"})).unwrap_err();
        assert_eq!(e[0].path, "formt");
        let e =
            decode_config::<FileConfig>(&json!({"path": "/tmp/x", "format": "yaml"})).unwrap_err();
        assert_eq!(e[0].path, "format");
        let e = decode_config::<FileConfig>(&json!({"path": "/tmp/x", "compression": "gzip"}))
            .unwrap_err();
        assert_eq!(e[0].path, "compression");
        let e =
            decode_config::<FileConfig>(&json!({"path": "/tmp/x", "rotation": {"max_size": 1}}))
                .unwrap_err();
        assert_eq!(e[0].path, "rotation::max_size");
    }
}
