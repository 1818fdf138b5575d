//! Opening a queue: the cursor and the segments a previous run left.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::fs::{CURSOR, CURSOR_TMP, Fs};
use super::record::{FRAME, MAX_RECORD, decode_cursor, decode_header};
use super::{Loc, PersistentOptions, QueueCounters, Rec, Segment, State, crc32};

/// Attempts at reading a segment on open before it is left for the next start.
const OPEN_ATTEMPTS: u32 = 3;

/// Reads what the directory holds into the queue's state.
pub(super) fn replay(
    dir: &Path,
    opts: &PersistentOptions,
    counters: &QueueCounters,
    fs: &dyn Fs,
) -> Result<State, std::io::Error> {
    std::fs::create_dir_all(dir)?;
    let _ = fs.remove(&dir.join(CURSOR_TMP));
    let (floor, done_above) = match read_cursor(fs, dir, &opts.owner) {
        Some((floor, done)) => (Some(floor), done),
        None => (None, Default::default()),
    };
    let mut names: Vec<(u64, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(first) = name
            .strip_prefix("seg-")
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse::<u64>().ok())
        {
            names.push((first, entry.path()));
        }
    }
    names.sort();
    // Without a readable cursor, start from the oldest segment.
    let floor = floor.unwrap_or_else(|| names.first().map_or(0, |(f, _)| *f));
    let mut state = State {
        segments: VecDeque::new(),
        pending: VecDeque::new(),
        outstanding: BTreeMap::new(),
        size: 0,
        next_seq: floor,
        floor,
        done_above,
        cursor_dirty: false,
        cursor_queued: false,
        closed: false,
        stopped: false,
        waiters: HashMap::new(),
    };
    let last = names.len().saturating_sub(1);
    for (i, (first, path)) in names.into_iter().enumerate() {
        let segment = replay_segment(opts, counters, fs, &mut state, first, path, i == last);
        // An unreadable segment is left alone for the next start (logged and counted).
        let Some(segment) = segment else {
            // Keep new record numbers clear of whatever the segment may hold.
            state.next_seq = state.next_seq.max(first.saturating_add(1 << 32));
            continue;
        };
        state.next_seq = state.next_seq.max(segment.end);
        if segment.end <= floor || segment.end == segment.first {
            // Fully done (a crash came between the cursor update and the delete),
            // or holding no readable record.
            let _ = fs.remove(&segment.path);
        } else {
            state.segments.push_back(segment);
        }
    }
    if !state.pending.is_empty() {
        tracing::info!(
            exporter = %opts.owner,
            records = state.pending.len(),
            directory = %dir.display(),
            "persistent queue holds records from a previous run; sending them",
        );
    }
    Ok(state)
}

/// Reads a segment, retrying errors that may be transient.
fn read_segment(
    opts: &PersistentOptions,
    counters: &QueueCounters,
    fs: &dyn Fs,
    path: &Path,
) -> Option<Vec<u8>> {
    let mut wait = Duration::from_millis(10);
    for attempt in 1..=OPEN_ATTEMPTS {
        match fs.read_all(path) {
            Ok(d) => return Some(d),
            Err(e) => {
                counters.read_errors.add(1);
                if attempt == OPEN_ATTEMPTS || e.kind() == std::io::ErrorKind::NotFound {
                    tracing::warn!(
                        exporter = %opts.owner,
                        file = %path.display(),
                        error = %e,
                        "cannot read queue segment; leaving it for the next start",
                    );
                    return None;
                }
            }
        }
        // Opening the queue (at start) is the one place that waits on the disk.
        std::thread::sleep(wait);
        wait *= 5;
    }
    None
}

/// Reads one segment on open, queueing its records at or after the cursor.
fn replay_segment(
    opts: &PersistentOptions,
    counters: &QueueCounters,
    fs: &dyn Fs,
    state: &mut State,
    first: u64,
    path: PathBuf,
    newest: bool,
) -> Option<Segment> {
    let data = read_segment(opts, counters, fs, &path)?;
    let floor = state.floor;
    let mut offset = 0usize;
    let mut seq = first;
    let skip = |offset: usize, reason: &str, seq: u64| {
        tracing::warn!(
            exporter = %opts.owner,
            file = %path.display(),
            offset,
            reason,
            "skipping damaged data in the persistent queue",
        );
        if seq >= floor {
            counters.corrupted.add(1);
        }
    };
    let mut cut: Option<&str> = None;
    while offset < data.len() {
        if data.len() - offset < FRAME {
            cut = Some("truncated record header");
            break;
        }
        let word =
            |at: usize| u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        let (len, crc) = (word(offset), word(offset + 4));
        if len == 0 || len > MAX_RECORD {
            cut = Some("bad record length");
            break;
        }
        let end = offset + FRAME + len as usize;
        if end > data.len() {
            cut = Some("truncated record");
            break;
        }
        let payload = &data[offset + FRAME..end];
        let checked = if crc32(payload) != crc {
            Err("checksum mismatch".to_string())
        } else {
            decode_header(payload).map(|d| d.header)
        };
        match checked {
            Ok(_) if state.done_above.contains(&seq) => {}
            Ok(header) if seq >= floor => {
                let size = header.size(opts.sizer);
                let loc = Loc {
                    seq,
                    segment: first,
                    offset: offset as u64,
                    len,
                };
                state.outstanding.insert(
                    seq,
                    Rec {
                        size,
                        loc,
                        taken: false,
                    },
                );
                state.size += size;
                state.pending.push_back(loc);
            }
            Ok(_) => {}
            Err(reason) if seq >= floor => skip(offset, &reason, seq),
            Err(_) => {}
        }
        seq += 1;
        offset = end;
    }
    if let Some(reason) = cut {
        skip(offset, reason, seq.max(floor));
        if newest {
            // Cut the damaged tail off so the file reads clean from now on.
            if let Err(e) = fs.cut(&path, offset as u64) {
                tracing::warn!(
                    exporter = %opts.owner,
                    file = %path.display(),
                    error = %e,
                    "cannot cut the damaged tail of a queue segment",
                );
            }
        }
    }
    Some(Segment {
        first,
        end: seq,
        len: offset as u64,
        path,
        file: None,
    })
}

/// The cursor: the floor, and the records above it that are done.
pub(super) fn read_cursor(fs: &dyn Fs, dir: &Path, owner: &str) -> Option<(u64, BTreeSet<u64>)> {
    let path = dir.join(CURSOR);
    let data = match fs.read_all(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(exporter = %owner, file = %path.display(), error = %e,
                "cannot read queue cursor; re-sending from the oldest segment");
            return None;
        }
    };
    if let Some(cursor) = decode_cursor(&data) {
        return Some(cursor);
    }
    tracing::warn!(exporter = %owner, file = %path.display(),
        "queue cursor is damaged; re-sending from the oldest segment");
    None
}
