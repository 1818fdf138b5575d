//! Storage extensions: durable local storage offered to other components.
//!
//! A storage extension (`file_storage`) owns a directory and its durability settings;
//! a component that needs persistence (an exporter's persistent sending queue) asks it
//! for a directory of its own and keeps its files there.

use std::fmt;
use std::path::PathBuf;

use crate::error::ComponentError;
use crate::id::{ComponentId, Kind};

/// What a storage extension offers.
pub trait StorageProvider: Send + Sync {
    /// A directory reserved for one use by one component (created if missing): for
    /// example the sending queue of exporter `otlp/gateway` asks for
    /// `(Kind::Exporter, otlp/gateway, "sending_queue")`. The same arguments always
    /// give the same directory, across restarts.
    fn directory(
        &self,
        kind: Kind,
        owner: &ComponentId,
        name: &str,
    ) -> Result<PathBuf, ComponentError>;

    /// Whether writes must reach the disk (`fsync`) before they are acknowledged.
    fn fsync(&self) -> bool;
}

impl fmt::Debug for dyn StorageProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageProvider")
            .field("fsync", &self.fsync())
            .finish_non_exhaustive()
    }
}
