//! The `file` exporter factory and its sender.

use std::io;
use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::factory::{
    ALL_SIGNALS_ALPHA, BuildContext, BuildExporter, Exporter, Factory, Stability,
};
use stratus_core::{ComponentError, ConsumeError, Host, Signal, Telemetry};
use stratus_exporter_helper::{ExporterSettings, Sender, build_exporter};

use crate::config::{FileCompression, FileConfig, Format};
use crate::writer::{FileWriter, Rotation, frame};

/// The `file` exporter: writes every batch to a file.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileExporterFactory;

impl Factory for FileExporterFactory {
    type Config = FileConfig;
    const TYPE: &'static str = "file";
    const SIGNALS: &'static [(Signal, Stability)] = ALL_SIGNALS_ALPHA;
}

#[async_trait]
impl BuildExporter for FileExporterFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: FileConfig,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        let id = ctx.id.to_string();
        if config.rotation.as_ref().is_some_and(|r| r.localtime) {
            tracing::warn!(
                exporter = %id,
                "rotation::localtime is not supported: rotated file names use UTC"
            );
        }
        Ok(build_exporter(
            &ctx,
            ExporterSettings::direct(),
            FileSender::new(id, &config),
        ))
    }
}

/// Whether a write error may go away by itself: a full disk or quota, an interrupted
/// or busy file, a file not open yet. Anything else (no permission, a read-only file
/// system, a file too large, a path that is a directory) needs an operator: permanent.
pub fn classify_io_error(e: &io::Error, path: &str) -> ConsumeError {
    use io::ErrorKind::*;
    let message = format!("writing {path} failed: {e}");
    match e.kind() {
        StorageFull | QuotaExceeded | Interrupted | WouldBlock | TimedOut | ResourceBusy
        | OutOfMemory | NotConnected => ConsumeError::retryable(message),
        _ => ConsumeError::permanent(message),
    }
}

/// The `file` exporter's [`Sender`]: frames a batch, appends it to the file.
pub struct FileSender {
    id: String,
    format: Format,
    compression: FileCompression,
    writer: Arc<FileWriter>,
}

impl FileSender {
    /// A sender for `config`; the file is opened at start.
    pub fn new(id: String, config: &FileConfig) -> Self {
        let rotation = config.rotation.as_ref().map(Rotation::from);
        FileSender {
            id,
            format: config.format,
            compression: config.compression,
            writer: Arc::new(FileWriter::new(&config.path, config.append, rotation)),
        }
    }

    fn path(&self) -> String {
        self.writer.path().display().to_string()
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&FileWriter) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || f(&writer))
            .await
            .map_err(|e| io::Error::other(format!("file task failed: {e}")))?
    }
}

#[async_trait]
impl Sender for FileSender {
    type Request = Arc<[u8]>;

    fn encode(&self, data: Telemetry) -> Result<Arc<[u8]>, ConsumeError> {
        frame(&data.payload, self.format, self.compression)
            .map(Arc::from)
            .map_err(|e| ConsumeError::permanent(format!("encoding a batch failed: {e}")))
    }

    async fn send(&self, record: &Arc<[u8]>) -> Result<(), ConsumeError> {
        let record = record.clone();
        self.blocking(move |w| w.write(&record))
            .await
            .map_err(|e| classify_io_error(&e, &self.path()))
    }

    async fn start(&self, _host: &Host) -> Result<(), ComponentError> {
        self.blocking(FileWriter::open).await.map_err(|e| {
            ComponentError::new(format!(
                "exporter {}: cannot open {}: {e}",
                self.id,
                self.path()
            ))
        })
    }

    async fn shutdown(&self) -> Result<(), ComponentError> {
        self.blocking(FileWriter::close).await.map_err(|e| {
            ComponentError::new(format!(
                "exporter {}: closing {} failed: {e}",
                self.id,
                self.path()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_classes() {
        let kinds = [
            (io::ErrorKind::StorageFull, false),
            (io::ErrorKind::QuotaExceeded, false),
            (io::ErrorKind::Interrupted, false),
            (io::ErrorKind::NotConnected, false),
            (io::ErrorKind::PermissionDenied, true),
            (io::ErrorKind::ReadOnlyFilesystem, true),
            (io::ErrorKind::FileTooLarge, true),
            (io::ErrorKind::IsADirectory, true),
        ];
        for (kind, permanent) in kinds {
            let e = classify_io_error(&io::Error::from(kind), "/x");
            assert_eq!(e.is_permanent(), permanent, "{kind:?}");
            assert!(e.message().starts_with("writing /x failed"));
        }
    }
}
