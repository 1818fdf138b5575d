//! The `file_storage` config, with the upstream collector's keys and defaults.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use stratus_core::factory::{ConfigProblem, Validate};

/// The upstream default storage directory.
pub const DEFAULT_DIRECTORY: &str = "/var/lib/otelcol/file_storage";

/// `file_storage`: where durable data lives and how it is written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileStorageConfig {
    /// Directory holding every component's storage. Default `/var/lib/otelcol/file_storage`.
    pub directory: PathBuf,
    /// Create `directory` (mode 0750) when missing instead of failing. Default `false`.
    pub create_directory: bool,
    /// Time allowed to open the storage. Default `1s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub timeout: Duration,
    /// `fsync` every write before it is acknowledged. Default `false`.
    pub fsync: bool,
    /// Compaction settings (accepted for compatibility; see the crate README).
    pub compaction: CompactionConfig,
}

impl Default for FileStorageConfig {
    fn default() -> Self {
        FileStorageConfig {
            directory: PathBuf::from(DEFAULT_DIRECTORY),
            create_directory: false,
            timeout: Duration::from_secs(1),
            fsync: false,
            compaction: CompactionConfig::default(),
        }
    }
}

/// `compaction`: accepted so upstream configs load. stratus stores queues as segment
/// logs that compact themselves by deleting fully acknowledged segments.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompactionConfig {
    /// Compact when the extension starts. Default `false`.
    pub on_start: bool,
    /// Compact online when the storage shrinks. Default `false`.
    pub on_rebound: bool,
    /// Scratch directory for compaction. Default: `directory`.
    pub directory: Option<PathBuf>,
    /// Items moved per compaction transaction. Default `65536`.
    pub max_transaction_size: u64,
    /// Size in MiB above which online compaction becomes needed. Default `100`.
    pub rebound_needed_threshold_mib: u64,
    /// Size in MiB below which a needed online compaction runs. Default `10`.
    pub rebound_trigger_threshold_mib: u64,
    /// How often the rebound conditions are checked. Default `5s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub check_interval: Duration,
    /// Remove leftover compaction files on start. Default `false`.
    pub cleanup_on_start: bool,
}

impl Default for CompactionConfig {
    fn default() -> Self {
        CompactionConfig {
            on_start: false,
            on_rebound: false,
            directory: None,
            max_transaction_size: 65536,
            rebound_needed_threshold_mib: 100,
            rebound_trigger_threshold_mib: 10,
            check_interval: Duration::from_secs(5),
            cleanup_on_start: false,
        }
    }
}

impl Validate for FileStorageConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.directory.as_os_str().is_empty() {
            problems.push(ConfigProblem::new("directory", "must not be empty"));
        }
        if let Some(d) = &self.compaction.directory
            && d.as_os_str().is_empty()
        {
            problems.push(ConfigProblem::new(
                "compaction::directory",
                "must not be empty when set",
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_core::factory::decode_config;

    #[test]
    fn defaults_match_upstream() {
        let c: FileStorageConfig = decode_config(&serde_json::Value::Null).unwrap();
        assert_eq!(c.directory, PathBuf::from("/var/lib/otelcol/file_storage"));
        assert!(!c.create_directory && !c.fsync);
        assert_eq!(c.timeout, Duration::from_secs(1));
        assert_eq!(c.compaction.max_transaction_size, 65536);
        assert_eq!(c.compaction.rebound_needed_threshold_mib, 100);
        assert_eq!(c.compaction.rebound_trigger_threshold_mib, 10);
        assert_eq!(c.compaction.check_interval, Duration::from_secs(5));
    }

    #[test]
    fn accepts_upstream_keys_and_rejects_bad_ones() {
        let c: FileStorageConfig = decode_config(&serde_json::json!({
            "directory": "/tmp/x", "create_directory": true, "timeout": "2s", "fsync": true,
            "compaction": {"on_start": true, "on_rebound": true, "directory": "/tmp/y",
                "max_transaction_size": 10, "check_interval": "1s", "cleanup_on_start": true}
        }))
        .unwrap();
        assert!(c.fsync && c.create_directory && c.compaction.on_start);
        let e =
            decode_config::<FileStorageConfig>(&serde_json::json!({"directory": ""})).unwrap_err();
        assert_eq!(e[0].path, "directory");
        let e = decode_config::<FileStorageConfig>(&serde_json::json!({"dir": "/x"})).unwrap_err();
        assert!(e[0].message.contains("dir"));
        let e = decode_config::<FileStorageConfig>(&serde_json::json!({"timeout": "soon"}))
            .unwrap_err();
        assert_eq!(e[0].path, "timeout");
    }
}
