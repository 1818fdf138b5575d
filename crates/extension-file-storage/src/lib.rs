//! The `file_storage` extension: a local directory where components keep data that
//! must survive restarts, such as an exporter's persistent sending queue.
//!
//! ```yaml
//! extensions:
//!   file_storage/queue:
//!     directory: /var/lib/stratus/queue
//!     create_directory: true
//!     fsync: true
//! exporters:
//!   otlp:
//!     sending_queue:
//!       storage: file_storage/queue
//! service:
//!   extensions: [file_storage/queue]
//! ```
//!
//! Each user gets its own subdirectory,
//! `<directory>/<kind>_<type>_<name>_<use>` (`exporter_otlp_gateway_sending_queue`),
//! created on demand.

pub mod config;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::factory::{BuildContext, BuildExtension, Extension, Factory, Stability};
use stratus_core::storage::StorageProvider;
use stratus_core::{Component, ComponentError, ComponentId, Kind, Signal};

pub use config::{CompactionConfig, FileStorageConfig};

/// Builds `file_storage` extensions.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileStorageExtensionFactory;

impl Factory for FileStorageExtensionFactory {
    type Config = FileStorageConfig;
    const TYPE: &'static str = "file_storage";
    const SIGNALS: &'static [(Signal, Stability)] = &[];
}

#[async_trait]
impl BuildExtension for FileStorageExtensionFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: FileStorageConfig,
    ) -> Result<Arc<dyn Extension>, ComponentError> {
        Ok(Arc::new(FileStorageExtension::open(&ctx.id, config)?))
    }
}

/// A running `file_storage` extension.
#[derive(Debug)]
pub struct FileStorageExtension {
    provider: Arc<FileStorage>,
}

impl FileStorageExtension {
    /// Checks (or creates, with `create_directory`) the directory and opens the storage.
    pub fn open(id: &ComponentId, config: FileStorageConfig) -> Result<Self, ComponentError> {
        prepare_directory(id, &config.directory, config.create_directory)?;
        if let Some(dir) = &config.compaction.directory {
            prepare_directory(id, dir, config.create_directory)?;
        }
        Ok(FileStorageExtension {
            provider: Arc::new(FileStorage {
                directory: config.directory,
                fsync: config.fsync,
            }),
        })
    }
}

fn prepare_directory(id: &ComponentId, dir: &Path, create: bool) -> Result<(), ComponentError> {
    let shown = dir.display();
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(ComponentError::new(format!(
                "{id}: directory `{shown}` is not a directory"
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            create_dir_0750(dir).map_err(|e| {
                ComponentError::new(format!("{id}: cannot create directory `{shown}`: {e}"))
            })?;
            tracing::info!(extension = %id, directory = %shown, "created storage directory");
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ComponentError::new(format!(
                "{id}: directory `{shown}` does not exist; create it or set \
                 `create_directory: true`"
            )));
        }
        Err(e) => {
            return Err(ComponentError::new(format!(
                "{id}: cannot access directory `{shown}`: {e}"
            )));
        }
    }
    // Writable? Create and remove a probe file.
    let probe = dir.join(format!(".stratus-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| ComponentError::new(format!("{id}: directory `{shown}` is not writable: {e}")))
}

#[cfg(unix)]
fn create_dir_0750(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(dir)
}

#[cfg(not(unix))]
fn create_dir_0750(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[async_trait]
impl Component for FileStorageExtension {}

impl Extension for FileStorageExtension {
    fn storage(&self) -> Option<Arc<dyn StorageProvider>> {
        Some(self.provider.clone())
    }
}

/// The storage a `file_storage` extension provides.
#[derive(Debug)]
pub struct FileStorage {
    directory: PathBuf,
    fsync: bool,
}

impl FileStorage {
    /// The subdirectory name for one use by one component:
    /// `<kind>_<type>_<name>_<use>`, characters other than `[A-Za-z0-9._-]` as `_`.
    pub fn subdirectory(kind: Kind, owner: &ComponentId, name: &str) -> String {
        let raw = format!(
            "{}_{}_{}_{}",
            kind.as_str(),
            owner.ty(),
            owner.name().unwrap_or(""),
            name
        );
        raw.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

impl StorageProvider for FileStorage {
    fn directory(
        &self,
        kind: Kind,
        owner: &ComponentId,
        name: &str,
    ) -> Result<PathBuf, ComponentError> {
        let dir = self
            .directory
            .join(FileStorage::subdirectory(kind, owner, name));
        create_dir_0750(&dir).map_err(|e| {
            ComponentError::new(format!(
                "cannot create storage directory `{}`: {e}",
                dir.display()
            ))
        })?;
        Ok(dir)
    }

    fn fsync(&self) -> bool {
        self.fsync
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_core::factory::ExtensionFactory;
    use stratus_core::telemetry::Registry;

    fn ctx() -> BuildContext {
        BuildContext::new(
            ComponentId::with_name("file_storage", "q"),
            vec![],
            Registry::new(),
        )
    }

    #[tokio::test]
    async fn builds_and_hands_out_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let raw = serde_json::json!({"directory": tmp.path(), "fsync": true});
        let ext = FileStorageExtensionFactory
            .build(ctx(), &raw)
            .await
            .unwrap();
        let storage = ext.storage().unwrap();
        assert!(storage.fsync());
        let owner = ComponentId::with_name("otlp", "gate way/1");
        let dir = storage
            .directory(Kind::Exporter, &owner, "sending_queue")
            .unwrap();
        assert_eq!(
            dir,
            tmp.path().join("exporter_otlp_gate_way_1_sending_queue")
        );
        assert!(dir.is_dir());
        let again = storage
            .directory(Kind::Exporter, &owner, "sending_queue")
            .unwrap();
        assert_eq!(dir, again);
        let plain = storage
            .directory(Kind::Exporter, &ComponentId::new("otlp"), "sending_queue")
            .unwrap();
        assert_eq!(plain, tmp.path().join("exporter_otlp__sending_queue"));
    }

    #[tokio::test]
    async fn missing_directory_is_an_error_unless_created() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("a/b");
        let raw = serde_json::json!({"directory": missing});
        let err = FileStorageExtensionFactory
            .build(ctx(), &raw)
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("does not exist"), "{err}");
        let raw = serde_json::json!({"directory": missing, "create_directory": true});
        FileStorageExtensionFactory
            .build(ctx(), &raw)
            .await
            .unwrap();
        assert!(missing.is_dir());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&missing).unwrap().permissions().mode();
            assert_eq!(mode & 0o777 & !0o022, 0o750 & !0o022);
        }
    }

    #[tokio::test]
    async fn a_file_is_not_a_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        let raw = serde_json::json!({"directory": file, "create_directory": true});
        let err = FileStorageExtensionFactory
            .build(ctx(), &raw)
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("not a directory"), "{err}");
    }

    #[tokio::test]
    async fn conformance() {
        let dir = tempfile::tempdir().unwrap();
        stratus_testkit::conformance::extension(&FileStorageExtensionFactory)
            .config(serde_json::json!({"directory": dir.path()}))
            .await;
    }
}
