//! Record framing and the file itself: open (truncate or append), write one record at
//! a time, rotate and prune backups.
//!
//! Writes are blocking and run on tokio's blocking pool, one at a time under a mutex.
//! Each record is written with one `write_all` straight to the file (no user-space
//! buffer), so a reader sees every batch as soon as it is exported. A failed write is
//! cut back off the file, so a reader never meets half a record.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use stratus_core::Payload;
use stratus_core::pdata::json;

use crate::config::{FileCompression, Format, RotationConfig};

/// Frames one batch as the bytes appended to the file.
///
/// `json` without compression: the OTLP/JSON request and a newline. Otherwise the
/// request (OTLP/JSON or protobuf, zstd-compressed when asked) after its length as a
/// 4-byte big-endian integer.
pub fn frame(
    payload: &Payload,
    format: Format,
    compression: FileCompression,
) -> io::Result<Vec<u8>> {
    let body = match format {
        Format::Json => json::encode_request(payload),
        Format::Proto => payload.encode_request(),
    };
    let body = match compression {
        FileCompression::None if format == Format::Json => {
            let mut line = body;
            line.push(b'\n');
            return Ok(line);
        }
        FileCompression::None => body,
        FileCompression::Zstd => zstd::bulk::compress(&body, 0)?,
    };
    let len = u32::try_from(body.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a batch of {} bytes is too large for one record",
                body.len()
            ),
        )
    })?;
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Rotation limits in bytes and counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// Rotate when a write would take the file past this size.
    pub max_bytes: u64,
    /// Delete backups older than this; zero keeps them regardless of age.
    pub max_age: Duration,
    /// Keep at most this many backups; zero keeps all.
    pub max_backups: usize,
}

impl From<&RotationConfig> for Rotation {
    fn from(c: &RotationConfig) -> Self {
        Rotation {
            max_bytes: c.max_megabytes.saturating_mul(1024 * 1024),
            max_age: Duration::from_secs(c.max_days.saturating_mul(24 * 3600)),
            max_backups: usize::try_from(c.max_backups).unwrap_or(usize::MAX),
        }
    }
}

struct State {
    file: Option<File>,
    size: u64,
}

/// The exporter's file.
pub struct FileWriter {
    path: PathBuf,
    append: bool,
    rotation: Option<Rotation>,
    state: Mutex<State>,
}

/// The file is not open: the exporter was not started, or was shut down.
fn not_open() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "the file is not open (exporter not started or shut down)",
    )
}

impl FileWriter {
    /// A writer for `path`; nothing is opened until [`FileWriter::open`].
    pub fn new(path: impl Into<PathBuf>, append: bool, rotation: Option<Rotation>) -> Self {
        FileWriter {
            path: path.into(),
            append,
            rotation,
            state: Mutex::new(State {
                file: None,
                size: 0,
            }),
        }
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn open_file(&self, append: bool) -> io::Result<(File, u64)> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut options = OpenOptions::new();
        options.create(true);
        if append {
            options.append(true);
        } else {
            options.write(true).truncate(true);
        }
        let file = options.open(&self.path)?;
        let size = file.metadata()?.len();
        Ok((file, size))
    }

    /// Opens the file (creating missing directories): truncated, or appended to with
    /// `append`. Opening an open writer does nothing.
    pub fn open(&self) -> io::Result<()> {
        let mut state = self.lock();
        if state.file.is_some() {
            return Ok(());
        }
        let (file, size) = self.open_file(self.append)?;
        *state = State {
            file: Some(file),
            size,
        };
        Ok(())
    }

    /// Closes the file; later writes fail until it is opened again.
    pub fn close(&self) -> io::Result<()> {
        let mut state = self.lock();
        if let Some(file) = state.file.take() {
            file.sync_data()?;
        }
        Ok(())
    }

    /// Appends one framed record, rotating first when it would not fit.
    pub fn write(&self, record: &[u8]) -> io::Result<()> {
        let mut state = self.lock();
        if state.file.is_none() {
            return Err(not_open());
        }
        let len = record.len() as u64;
        if let Some(rotation) = &self.rotation
            && state.size > 0
            && state.size.saturating_add(len) > rotation.max_bytes
        {
            self.rotate(&mut state, rotation)?;
        }
        let before = state.size;
        let file = state.file.as_mut().ok_or_else(not_open)?;
        match file.write_all(record) {
            Ok(()) => {
                state.size = before + len;
                Ok(())
            }
            Err(e) => {
                // Cut the partial record back off so the file stays readable.
                let _ = file.set_len(before);
                Err(e)
            }
        }
    }

    fn rotate(&self, state: &mut State, rotation: &Rotation) -> io::Result<()> {
        let now = SystemTime::now();
        let backup = free_backup_name(&self.path, now);
        std::fs::rename(&self.path, &backup)?;
        // A fresh file after a rotation, whatever `append` says.
        let (file, size) = self.open_file(false)?;
        state.file = Some(file);
        state.size = size;
        tracing::debug!(file = %self.path.display(), backup = %backup.display(), "rotated");
        if let Err(e) = prune_backups(&self.path, rotation, now) {
            tracing::warn!(file = %self.path.display(), error = %e, "cannot remove old rotated files");
        }
        Ok(())
    }
}

/// `name.ext` → (`name`, `.ext`), as rotated names are built around the extension.
fn split_name(path: &Path) -> (String, String) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.rfind('.') {
        Some(i) if i > 0 => (name[..i].to_string(), name[i..].to_string()),
        _ => (name, String::new()),
    }
}

/// The length of a backup timestamp: `2006-01-02T15-04-05.000`.
const STAMP_LEN: usize = 23;

/// The name a file is rotated to at `t`: `name-2024-05-01T10-00-00.123.ext` (UTC).
pub fn backup_name(path: &Path, t: SystemTime) -> PathBuf {
    let (stem, ext) = split_name(path);
    path.with_file_name(format!("{stem}-{}{ext}", format_stamp(t)))
}

/// A backup name at `t`, or just after the newest existing backup, so that names sort
/// in rotation order even when several rotations happen within one millisecond.
fn free_backup_name(path: &Path, t: SystemTime) -> PathBuf {
    let newest = backups(path)
        .ok()
        .and_then(|all| all.last().map(|(_, t)| *t));
    let mut t = match newest {
        Some(newest) if newest >= t => newest + Duration::from_millis(1),
        _ => t,
    };
    loop {
        let candidate = backup_name(path, t);
        if !candidate.exists() {
            return candidate;
        }
        t += Duration::from_millis(1);
    }
}

/// The rotated files of `path`, oldest first, with the time in their names.
pub fn backups(path: &Path) -> io::Result<Vec<(PathBuf, SystemTime)>> {
    let (stem, ext) = split_name(path);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let prefix = format!("{stem}-");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stamp) = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(ext.as_str()))
        else {
            continue;
        };
        if let Some(t) = parse_stamp(stamp) {
            found.push((entry.path(), t));
        }
    }
    found.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    Ok(found)
}

fn prune_backups(path: &Path, rotation: &Rotation, now: SystemTime) -> io::Result<()> {
    let mut all = backups(path)?;
    if !rotation.max_age.is_zero() {
        let mut kept = Vec::with_capacity(all.len());
        for (p, t) in all {
            if now.duration_since(t).unwrap_or(Duration::ZERO) > rotation.max_age {
                std::fs::remove_file(&p)?;
            } else {
                kept.push((p, t));
            }
        }
        all = kept;
    }
    if rotation.max_backups > 0 && all.len() > rotation.max_backups {
        let excess = all.len() - rotation.max_backups;
        for (p, _) in all.iter().take(excess) {
            std::fs::remove_file(p)?;
        }
    }
    Ok(())
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn format_stamp(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}-{:02}-{:02}.{:03}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        since.subsec_millis()
    )
}

fn parse_stamp(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != STAMP_LEN
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b'-'
        || b[16] != b'-'
        || b[19] != b'.'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec, ms) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + sec);
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(u64::from(ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip() {
        // 2024-05-01T10:00:00.123Z
        let t = UNIX_EPOCH + Duration::from_millis(1_714_557_600_123);
        assert_eq!(format_stamp(t), "2024-05-01T10-00-00.123");
        assert_eq!(parse_stamp("2024-05-01T10-00-00.123"), Some(t));
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(format_stamp(leap), "2000-02-29T00-00-00.000");
        assert_eq!(parse_stamp(&format_stamp(leap)), Some(leap));
        assert_eq!(parse_stamp("2024-13-01T10-00-00.123"), None);
        assert_eq!(parse_stamp("not-a-stamp"), None);
        assert_eq!(
            backup_name(Path::new("/var/x/traces.json"), t),
            PathBuf::from("/var/x/traces-2024-05-01T10-00-00.123.json")
        );
        assert_eq!(
            backup_name(Path::new("out"), t),
            PathBuf::from("out-2024-05-01T10-00-00.123")
        );
    }

    #[test]
    fn frames() {
        let p = Payload::Traces(vec![Default::default()]);
        let line = frame(&p, Format::Json, FileCompression::None).unwrap();
        assert_eq!(line, b"{\"resourceSpans\":[{}]}\n");
        let proto = frame(&p, Format::Proto, FileCompression::None).unwrap();
        let body = p.encode_request();
        assert_eq!(&proto[..4], &(body.len() as u32).to_be_bytes());
        assert_eq!(&proto[4..], body.as_slice());
        let z = frame(&p, Format::Json, FileCompression::Zstd).unwrap();
        let len = u32::from_be_bytes(z[..4].try_into().unwrap()) as usize;
        assert_eq!(len, z.len() - 4);
        assert_eq!(
            zstd::decode_all(&z[4..]).unwrap(),
            b"{\"resourceSpans\":[{}]}".to_vec()
        );
    }

    #[test]
    fn rotation_keeps_max_backups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.bin");
        let w = FileWriter::new(
            &path,
            false,
            Some(Rotation {
                max_bytes: 10,
                max_age: Duration::ZERO,
                max_backups: 2,
            }),
        );
        assert_eq!(
            w.write(b"x").unwrap_err().kind(),
            io::ErrorKind::NotConnected
        );
        w.open().unwrap();
        for i in 0..6u8 {
            w.write(&[b'0' + i; 6]).unwrap();
        }
        // Each 6-byte record after the first rotates: 5 rotations, 2 backups kept.
        let kept = backups(&path).unwrap();
        assert_eq!(kept.len(), 2, "{kept:?}");
        assert_eq!(std::fs::read(&kept[0].0).unwrap(), b"333333");
        assert_eq!(std::fs::read(&kept[1].0).unwrap(), b"444444");
        assert_eq!(std::fs::read(&path).unwrap(), b"555555");
        w.close().unwrap();
        assert!(w.write(b"y").is_err());
    }

    #[test]
    fn old_backups_are_pruned_by_age() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        let old = backup_name(&path, SystemTime::now() - Duration::from_secs(3 * 86_400));
        let unrelated = dir.path().join("t-notastamp.json");
        std::fs::write(&old, "old").unwrap();
        std::fs::write(&unrelated, "keep").unwrap();
        let rotation = Rotation {
            max_bytes: 4,
            max_age: Duration::from_secs(86_400),
            max_backups: 0,
        };
        let w = FileWriter::new(&path, false, Some(rotation));
        w.open().unwrap();
        w.write(b"abcd").unwrap();
        w.write(b"efgh").unwrap();
        assert!(!old.exists(), "a backup older than max_days is removed");
        assert!(unrelated.exists());
        assert_eq!(backups(&path).unwrap().len(), 1);
    }

    #[test]
    fn append_and_truncate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        std::fs::write(&path, "old\n").unwrap();
        let w = FileWriter::new(&path, true, None);
        w.open().unwrap();
        w.write(b"new\n").unwrap();
        w.close().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\nnew\n");
        let w = FileWriter::new(&path, false, None);
        w.open().unwrap();
        w.write(b"only\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "only\n");
    }
}
