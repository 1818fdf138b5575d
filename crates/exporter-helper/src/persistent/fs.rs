//! The file operations of the queue, behind a small trait: the real file system
//! ([`Disk`]), or in tests a double that injects errors, counts fsyncs and simulates a
//! crash at each step of a group commit. One dynamic call per system call; nothing is
//! checked on the way when the real file system is used.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// An open segment file, shared by the writer and the readers (positional reads and
/// writes need no seek position).
#[derive(Debug)]
pub(crate) struct SegFile {
    pub file: File,
    pub path: PathBuf,
}

/// A step of the I/O thread where a test may stop it ("crash").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// An append was received; the rest of its group has not been collected yet.
    Gather,
    /// The group is collected, nothing written.
    BeforeWrite,
    /// The group is written, not yet fsynced.
    AfterWrite,
    /// The group is fsynced; no caller has been told.
    AfterSync,
}

/// The process died at a [`Step`]: the I/O thread stops without another action.
#[derive(Debug)]
pub(crate) struct Crashed;

pub(crate) const CURSOR: &str = "cursor";
pub(crate) const CURSOR_TMP: &str = "cursor.tmp";

/// The file operations the queue uses. Every method has the real implementation as
/// its default.
pub(crate) trait Fs: Send + Sync + 'static {
    /// Reads a whole file (replay, cursor).
    fn read_all(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }

    /// Creates (truncating) a segment to append to and read from.
    fn create(&self, path: &Path) -> io::Result<SegFile> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(path)?;
        Ok(SegFile {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Opens a segment for reading.
    fn open_read(&self, path: &Path) -> io::Result<SegFile> {
        Ok(SegFile {
            file: File::open(path)?,
            path: path.to_path_buf(),
        })
    }

    /// Reads exactly `buf.len()` bytes at `offset`.
    fn read_at(&self, f: &SegFile, buf: &mut [u8], offset: u64) -> io::Result<()> {
        f.file.read_exact_at(buf, offset)
    }

    /// Writes all of `data` at `offset`.
    fn write_at(&self, f: &SegFile, data: &[u8], offset: u64) -> io::Result<()> {
        f.file.write_all_at(data, offset)
    }

    /// Makes what was written to `f` durable.
    fn sync(&self, f: &SegFile) -> io::Result<()> {
        f.file.sync_data()
    }

    /// Cuts `f` to `len` bytes.
    fn set_len(&self, f: &SegFile, len: u64) -> io::Result<()> {
        f.file.set_len(len)
    }

    /// Cuts the file at `path` to `len` bytes, durably (a damaged tail on replay).
    fn cut(&self, path: &Path, len: u64) -> io::Result<()> {
        let f = OpenOptions::new().write(true).open(path)?;
        f.set_len(len)?;
        f.sync_all()
    }

    /// Deletes a file.
    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    /// Replaces the cursor: `cursor.tmp`, rename; with `sync`, atomically and durably
    /// (fsync before the rename, fsync the directory after it).
    fn write_cursor(&self, dir: &Path, data: &[u8], sync: bool) -> io::Result<()> {
        let tmp = dir.join(CURSOR_TMP);
        {
            let mut f = File::create(&tmp)?;
            f.write_all(data)?;
            if sync {
                f.sync_all()?;
            }
        }
        fs::rename(&tmp, dir.join(CURSOR))?;
        if sync {
            self.sync_dir(dir)?;
        }
        Ok(())
    }

    /// Makes the directory's entries (new, renamed, deleted files) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    /// The I/O thread reached `step`; `Err` stops it there (tests only).
    fn step(&self, _step: Step) -> Result<(), Crashed> {
        Ok(())
    }
}

/// The real file system.
#[derive(Debug, Default)]
pub(crate) struct Disk;

impl Fs for Disk {}
