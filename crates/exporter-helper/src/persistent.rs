//! The persistent sending queue: a segment log on disk that survives crashes and
//! restarts (`sending_queue.storage: file_storage/NAME`).
//!
//! # Layout
//!
//! The queue's directory holds
//! - segment files `seg-<first record number, 20 digits>.log`: append-only records
//!   `[len u32 LE][crc32 u32 LE][payload]`, numbered consecutively from the number in
//!   the file name;
//! - `cursor`: `[record number u64 LE][count u32 LE][count × record number u64 LE]
//!   [crc32 u32 LE]`: every record below the first number is done, and so are the
//!   listed ones above it (finished out of order while an older one was still in
//!   flight). It is replaced atomically (`cursor.tmp`, fsync, rename). The 12-byte
//!   cursor of earlier versions (`[record number][crc32]`) is still read.
//!
//! A record's payload is a header (format version, signal, item count, encoded size,
//! request metadata) followed by the batch as the signal's OTLP export request.
//!
//! # Guarantees
//!
//! - FIFO: records are handed out in the order they were offered.
//! - At-least-once: a crash re-delivers every record [`Queue::done`] was not called
//!   for (so a record whose delivery was cut short may be delivered twice). A record
//!   done out of order is written to the cursor and not delivered again.
//! - The cursor's floor advances over the contiguous prefix of done records. A segment
//!   is deleted once every record in it is below the floor, after the cursor saying
//!   so is on disk.
//! - Capacity counts every record on disk that is not done, in flight included.
//! - On open, a record with a bad length, a bad checksum or a truncated tail is
//!   skipped, logged and counted in `stratus_exporter_queue_corrupted_records`; a
//!   damaged tail of the newest segment is cut off. An unreadable cursor restarts from
//!   the oldest segment. Corrupt data never stops the queue from opening.
//! - Appends go to a fresh segment after every open, so a torn write of a previous run
//!   never sits in the middle of new records.

use std::collections::{BTreeMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use prost::Message;
use stratus_core::pdata::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};
use stratus_core::telemetry::Counter;
use stratus_core::{Metadata, Payload, Signal, Telemetry};
use tokio::sync::Notify;

use crate::config::Sizer;
use crate::queue::{Entry, Part, Queue, QueueError, Reserved, Waiter};

/// Segment files roll over once they reach this size.
pub const DEFAULT_SEGMENT_BYTES: u64 = 8 * 1024 * 1024;
/// The largest record accepted on replay; a larger length means corruption.
const MAX_RECORD: u32 = 512 * 1024 * 1024;
const FRAME: u64 = 8;
const FORMAT: u8 = 1;
const CURSOR: &str = "cursor";
const CURSOR_TMP: &str = "cursor.tmp";

/// Options of a [`PersistentQueue`].
#[derive(Debug, Clone)]
pub struct PersistentOptions {
    /// What the queue counts.
    pub sizer: Sizer,
    /// Capacity in units of `sizer`.
    pub capacity: usize,
    /// fsync each append before `offer` returns.
    pub fsync: bool,
    /// Segment roll-over size in bytes.
    pub segment_bytes: u64,
    /// The exporter id, for logs.
    pub owner: String,
}

/// A bounded FIFO queue kept in a segment log; see the module docs.
pub struct PersistentQueue {
    shared: std::sync::Arc<Core>,
}

/// The queue's state, shared with the room it reserved.
struct Core {
    opts: PersistentOptions,
    dir: PathBuf,
    corrupted: Counter,
    state: Mutex<State>,
    not_empty: Notify,
    not_full: Notify,
}

struct Segment {
    first: u64,
    /// One past the last record number in the segment.
    end: u64,
    len: u64,
    path: PathBuf,
}

#[derive(Clone, Copy)]
struct Pending {
    seq: u64,
    segment: u64,
    offset: u64,
    len: u32,
}

/// A fully delivered active segment at least this large is deleted rather than kept
/// for further appends, bounding the disk a drained queue holds.
const DRAINED_SEGMENT_BYTES: u64 = 1024 * 1024;

struct State {
    segments: VecDeque<Segment>,
    /// The segment appends go to (the last of `segments`), opened lazily.
    active: Option<File>,
    /// Records not yet handed out, oldest first.
    pending: VecDeque<Pending>,
    /// Records not done (pending or in flight): number → size in the sizer's unit.
    outstanding: BTreeMap<u64, usize>,
    size: usize,
    next_seq: u64,
    /// Every record below is done; what the cursor file says.
    floor: u64,
    /// Records at or above `floor` that are done (finished out of order); in the
    /// cursor file too.
    done_above: std::collections::BTreeSet<u64>,
    closed: bool,
    /// The last append failed (disk full, I/O error): a drained active segment is then
    /// deleted at once to give the space back.
    append_failed: bool,
    /// Callers waiting for the result of a record offered in this process.
    waiters: std::collections::HashMap<u64, Waiter>,
}

/// What a record says about itself.
struct Header {
    items: u64,
    bytes: u64,
}

impl Header {
    fn size(&self, sizer: Sizer) -> usize {
        match sizer {
            Sizer::Requests => 1,
            Sizer::Items => self.items as usize,
            Sizer::Bytes => self.bytes as usize,
        }
    }
}

impl PersistentQueue {
    /// Opens (or creates) the queue in `dir`, replaying what a previous run left.
    /// `corrupted` counts records skipped because they were damaged.
    pub fn open(
        dir: &Path,
        opts: PersistentOptions,
        corrupted: Counter,
    ) -> Result<Self, std::io::Error> {
        Ok(PersistentQueue {
            shared: std::sync::Arc::new(Core::open(dir, opts, corrupted)?),
        })
    }

    /// Records on disk that are not done (queued or in flight).
    pub fn records(&self) -> usize {
        self.shared.records()
    }
}

/// Room held in a [`PersistentQueue`]: records written but not yet takeable.
struct PersistentReserved {
    queue: std::sync::Arc<Core>,
    written: Vec<Pending>,
    committed: bool,
}

impl Reserved for PersistentReserved {
    fn commit(mut self: Box<Self>) {
        self.committed = true;
        let written = std::mem::take(&mut self.written);
        let mut state = self.queue.lock();
        state.pending.extend(written);
        drop(state);
        self.queue.not_empty.notify_one();
    }
}

impl Drop for PersistentReserved {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let mut state = self.queue.lock();
        for p in self.written.drain(..) {
            state.waiters.remove(&p.seq);
            self.queue.finish(&mut state, p.seq);
        }
        drop(state);
        self.queue.not_full.notify_waiters();
    }
}

impl Core {
    /// Opens (or creates) the queue in `dir`, replaying what a previous run left.
    /// `corrupted` counts records skipped because they were damaged.
    pub fn open(
        dir: &Path,
        opts: PersistentOptions,
        corrupted: Counter,
    ) -> Result<Self, std::io::Error> {
        fs::create_dir_all(dir)?;
        let _ = fs::remove_file(dir.join(CURSOR_TMP));
        let cursor = read_cursor(dir, &opts.owner);
        let (floor, done_above) = match cursor {
            Some((floor, done)) => (Some(floor), done),
            None => (None, Default::default()),
        };
        let mut names: Vec<(u64, PathBuf)> = Vec::new();
        for entry in fs::read_dir(dir)? {
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
            active: None,
            pending: VecDeque::new(),
            outstanding: BTreeMap::new(),
            size: 0,
            next_seq: floor,
            floor,
            done_above,
            closed: false,
            append_failed: false,
            waiters: std::collections::HashMap::new(),
        };
        let last = names.len().saturating_sub(1);
        for (i, (first, path)) in names.into_iter().enumerate() {
            let segment = replay_segment(&opts, &corrupted, &mut state, first, path, i == last)?;
            // An unreadable segment is left alone (logged and counted above).
            let Some(segment) = segment else {
                // Keep new record numbers clear of whatever the segment may hold.
                state.next_seq = state.next_seq.max(first.saturating_add(1 << 32));
                continue;
            };
            state.next_seq = state.next_seq.max(segment.end);
            if segment.end <= floor || segment.end == segment.first {
                // Fully done (a crash came between the cursor update and the delete),
                // or holding no readable record.
                let _ = fs::remove_file(&segment.path);
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
        Ok(Core {
            dir: dir.to_path_buf(),
            opts,
            corrupted,
            state: Mutex::new(state),
            not_empty: Notify::new(),
            not_full: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn records(&self) -> usize {
        self.lock().outstanding.len()
    }

    /// Writes one record; it is not takeable until pushed to `pending`.
    fn append(&self, state: &mut State, record: &[u8]) -> Result<Pending, std::io::Error> {
        let roll = match state.segments.back() {
            None => true,
            Some(_) if state.active.is_none() => true,
            Some(s) => s.len >= self.opts.segment_bytes,
        };
        if roll {
            let first = state.next_seq;
            let path = self.dir.join(format!("seg-{first:020}.log"));
            let file = OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .open(&path)?;
            if self.opts.fsync {
                sync_dir(&self.dir)?;
            }
            state.segments.push_back(Segment {
                first,
                end: first,
                len: 0,
                path,
            });
            state.active = Some(file);
        }
        let (Some(file), Some(segment)) = (state.active.as_mut(), state.segments.back_mut()) else {
            return Err(std::io::Error::other("no active segment"));
        };
        let start = segment.len;
        let mut frame = Vec::with_capacity(record.len() + FRAME as usize);
        frame.extend_from_slice(&(record.len() as u32).to_le_bytes());
        frame.extend_from_slice(&crc32(record).to_le_bytes());
        frame.extend_from_slice(record);
        let written = file.write_all(&frame).and_then(|()| {
            if self.opts.fsync {
                file.sync_data()
            } else {
                Ok(())
            }
        });
        state.append_failed = written.is_err();
        if let Err(e) = written {
            // Take the partial record back; failing that, leave the segment so later
            // appends start clean in a new one (replay skips the torn record).
            if file.set_len(start).is_err() || file.seek(SeekFrom::Start(start)).is_err() {
                state.active = None;
            }
            // A drained segment only holds delivered records: give its space back now,
            // so the next append (in a new segment) can succeed.
            let done_below = state
                .outstanding
                .keys()
                .next()
                .copied()
                .unwrap_or(state.next_seq);
            if state.segments.len() == 1
                && state.segments.back().is_some_and(|s| s.end <= done_below)
                && let Some(s) = state.segments.pop_back()
            {
                state.active = None;
                let _ = fs::remove_file(&s.path);
            }
            return Err(e);
        }
        segment.len += frame.len() as u64;
        let seq = state.next_seq;
        segment.end = seq + 1;
        state.next_seq += 1;
        Ok(Pending {
            seq,
            segment: segment.first,
            offset: start,
            len: record.len() as u32,
        })
    }

    /// Reads one pending record back; `None` (logged and counted) if it is damaged.
    fn read(&self, state: &State, p: Pending) -> Option<Telemetry> {
        let segment = state.segments.iter().find(|s| s.first == p.segment)?;
        let result = (|| -> Result<Telemetry, String> {
            let mut file = File::open(&segment.path).map_err(|e| e.to_string())?;
            file.seek(SeekFrom::Start(p.offset))
                .map_err(|e| e.to_string())?;
            let mut buf = vec![0u8; FRAME as usize + p.len as usize];
            file.read_exact(&mut buf).map_err(|e| e.to_string())?;
            let crc = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
            let payload = &buf[FRAME as usize..];
            if crc32(payload) != crc {
                return Err("checksum mismatch".into());
            }
            decode_record(payload).map(|(_, t)| t)
        })();
        match result {
            Ok(t) => Some(t),
            Err(reason) => {
                tracing::warn!(
                    exporter = %self.opts.owner,
                    file = %segment.path.display(),
                    offset = p.offset,
                    reason = %reason,
                    "skipping damaged record in the persistent queue",
                );
                self.corrupted.add(1);
                None
            }
        }
    }

    /// Marks `seq` done; advances the cursor over the done prefix and deletes
    /// segments that are done.
    fn finish(&self, state: &mut State, seq: u64) {
        let Some(size) = state.outstanding.remove(&seq) else {
            return;
        };
        state.size -= size;
        let floor = state
            .outstanding
            .keys()
            .next()
            .copied()
            .unwrap_or(state.next_seq);
        let floor = floor.max(state.floor);
        state.done_above.insert(seq);
        state.done_above = state.done_above.split_off(&floor);
        match write_cursor(&self.dir, floor, &state.done_above) {
            Ok(()) => state.floor = floor,
            // The old cursor stays (the write is tried again at the next `done`): after a
            // restart the records since are delivered again, never lost. Delivered
            // segments are still deleted below — replay then starts at the oldest
            // remaining one — so a full disk gets its space back.
            Err(e) => {
                tracing::warn!(exporter = %self.opts.owner, error = %e, "cannot update queue cursor")
            }
        }
        loop {
            let deletable = match state.segments.front() {
                Some(s) if s.end <= floor => {
                    // The newest segment is kept while it is being appended to, unless
                    // it has grown past DRAINED_SEGMENT_BYTES or appends are failing
                    // (a full disk): then it is deleted and the next append starts a
                    // new one, so a drained queue gives its disk space back.
                    state.segments.len() > 1
                        || state.active.is_none()
                        || s.len >= self.opts.segment_bytes.min(DRAINED_SEGMENT_BYTES)
                        || state.append_failed
                }
                _ => false,
            };
            if !deletable {
                break;
            }
            if let Some(s) = state.segments.pop_front() {
                if state.segments.is_empty() {
                    state.active = None;
                }
                if let Err(e) = fs::remove_file(&s.path) {
                    tracing::warn!(
                        exporter = %self.opts.owner,
                        file = %s.path.display(),
                        error = %e,
                        "cannot delete delivered queue segment",
                    );
                }
            }
        }
    }
}

/// Reads one segment on open, queueing its records at or after the cursor.
fn replay_segment(
    opts: &PersistentOptions,
    corrupted: &Counter,
    state: &mut State,
    first: u64,
    path: PathBuf,
    newest: bool,
) -> Result<Option<Segment>, std::io::Error> {
    let data = match fs::read(&path) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(
                exporter = %opts.owner,
                file = %path.display(),
                error = %e,
                "cannot read queue segment; skipping it",
            );
            corrupted.add(1);
            return Ok(None);
        }
    };
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
            corrupted.add(1);
        }
    };
    let mut cut: Option<&str> = None;
    while offset < data.len() {
        if data.len() - offset < FRAME as usize {
            cut = Some("truncated record header");
            break;
        }
        let len = u32::from_le_bytes([
            data[offset],
            data[offset + 1],
            data[offset + 2],
            data[offset + 3],
        ]);
        let crc = u32::from_le_bytes([
            data[offset + 4],
            data[offset + 5],
            data[offset + 6],
            data[offset + 7],
        ]);
        if len == 0 || len > MAX_RECORD {
            cut = Some("bad record length");
            break;
        }
        let end = offset + FRAME as usize + len as usize;
        if end > data.len() {
            cut = Some("truncated record");
            break;
        }
        let payload = &data[offset + FRAME as usize..end];
        let checked = if crc32(payload) != crc {
            Err("checksum mismatch".to_string())
        } else {
            decode_header(payload).map(|(h, _)| h)
        };
        match checked {
            Ok(_) if state.done_above.contains(&seq) => {}
            Ok(header) if seq >= floor => {
                let size = header.size(opts.sizer);
                state.outstanding.insert(seq, size);
                state.size += size;
                state.pending.push_back(Pending {
                    seq,
                    segment: first,
                    offset: offset as u64,
                    len,
                });
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
            let cut = OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_len(offset as u64).and_then(|()| f.sync_all()));
            if let Err(e) = cut {
                tracing::warn!(
                    exporter = %opts.owner,
                    file = %path.display(),
                    error = %e,
                    "cannot cut the damaged tail of a queue segment",
                );
            }
        }
    }
    Ok(Some(Segment {
        first,
        end: seq,
        len: offset as u64,
        path,
    }))
}

/// The cursor: the floor, and the records above it that are done.
fn read_cursor(dir: &Path, owner: &str) -> Option<(u64, std::collections::BTreeSet<u64>)> {
    let path = dir.join(CURSOR);
    let data = match fs::read(&path) {
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

fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

/// Decodes a cursor file (either layout, see the module docs); `None` when damaged.
fn decode_cursor(data: &[u8]) -> Option<(u64, std::collections::BTreeSet<u64>)> {
    let (body, crc) = data.split_at_checked(data.len().checked_sub(4)?)?;
    if crc32(body) != u32::from_le_bytes(crc.try_into().ok()?) {
        return None;
    }
    let floor = u64_at(body, 0)?;
    if body.len() == 8 {
        return Some((floor, Default::default()));
    }
    let count = u32::from_le_bytes(body.get(8..12)?.try_into().ok()?) as usize;
    if body.len() != 12 + count.checked_mul(8)? {
        return None;
    }
    let done = (0..count)
        .map(|i| u64_at(body, 12 + i * 8))
        .collect::<Option<_>>()?;
    Some((floor, done))
}

fn encode_cursor(floor: u64, done_above: &std::collections::BTreeSet<u64>) -> Vec<u8> {
    let mut data = Vec::with_capacity(16 + done_above.len() * 8);
    data.extend_from_slice(&floor.to_le_bytes());
    data.extend_from_slice(&(done_above.len() as u32).to_le_bytes());
    for seq in done_above {
        data.extend_from_slice(&seq.to_le_bytes());
    }
    data.extend_from_slice(&crc32(&data).to_le_bytes());
    data
}

fn write_cursor(
    dir: &Path,
    floor: u64,
    done_above: &std::collections::BTreeSet<u64>,
) -> Result<(), std::io::Error> {
    let data = encode_cursor(floor, done_above);
    let tmp = dir.join(CURSOR_TMP);
    {
        let mut f = File::create(&tmp)?;
        f.write_all(&data)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, dir.join(CURSOR))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), std::io::Error> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[async_trait]
impl Queue for PersistentQueue {
    async fn reserve(
        &self,
        parts: Vec<Part>,
        block: bool,
    ) -> Result<Box<dyn Reserved>, (QueueError, Vec<Telemetry>)> {
        let mut records = Vec::with_capacity(parts.len());
        let mut total = 0;
        for (data, _) in &parts {
            let header = Header {
                items: data.item_count() as u64,
                bytes: data.payload.encoded_len() as u64,
            };
            let size = header.size(self.shared.opts.sizer);
            if size > self.shared.opts.capacity {
                let e = QueueError::TooLarge {
                    size,
                    capacity: self.shared.opts.capacity,
                };
                return Err((e, parts.into_iter().map(|(d, _)| d).collect()));
            }
            total += size;
            records.push((encode_record(&header, data), size));
        }
        let (data, waiters): (Vec<Telemetry>, Vec<Option<Waiter>>) = parts.into_iter().unzip();
        loop {
            let wait = self.shared.not_full.notified();
            {
                let mut state = self.shared.lock();
                if state.closed {
                    return Err((QueueError::Closed, data));
                }
                if crate::queue::fits(state.size, total, self.shared.opts.capacity) {
                    let mut written = Vec::with_capacity(records.len());
                    for ((record, size), waiter) in records.iter().zip(waiters) {
                        match self.shared.append(&mut state, record) {
                            Ok(p) => {
                                state.outstanding.insert(p.seq, *size);
                                state.size += size;
                                if let Some(w) = waiter {
                                    state.waiters.insert(p.seq, w);
                                }
                                written.push(p);
                            }
                            Err(e) => {
                                tracing::error!(
                                    exporter = %self.shared.opts.owner,
                                    directory = %self.shared.dir.display(),
                                    error = %e,
                                    "cannot write to the persistent queue",
                                );
                                for p in written {
                                    state.waiters.remove(&p.seq);
                                    self.shared.finish(&mut state, p.seq);
                                }
                                let e = QueueError::Storage(format!(
                                    "cannot write to the persistent queue in {}: {e}",
                                    self.shared.dir.display()
                                ));
                                return Err((e, data));
                            }
                        }
                    }
                    return Ok(Box::new(PersistentReserved {
                        queue: self.shared.clone(),
                        written,
                        committed: false,
                    }));
                }
                if !block {
                    return Err((QueueError::Full, data));
                }
            }
            wait.await;
        }
    }

    async fn take(&self) -> Option<Entry> {
        loop {
            let wait = self.shared.not_empty.notified();
            {
                let mut state = self.shared.lock();
                while let Some(p) = state.pending.pop_front() {
                    let more = !state.pending.is_empty();
                    let waiter = state.waiters.remove(&p.seq);
                    match self.shared.read(&state, p) {
                        Some(data) => {
                            drop(state);
                            if more {
                                self.shared.not_empty.notify_one();
                            }
                            return Some(Entry {
                                data,
                                token: p.seq,
                                waiter,
                            });
                        }
                        None => {
                            if let Some(w) = waiter {
                                w.finish(Err(stratus_core::ConsumeError::permanent(
                                    "the record was damaged in the persistent queue",
                                )));
                            }
                            self.shared.finish(&mut state, p.seq);
                            self.shared.not_full.notify_waiters();
                        }
                    }
                }
                if state.closed {
                    return None;
                }
            }
            wait.await;
        }
    }

    async fn done(&self, token: u64) {
        let mut state = self.shared.lock();
        self.shared.finish(&mut state, token);
        drop(state);
        self.shared.not_full.notify_waiters();
    }

    fn size(&self) -> usize {
        self.shared.lock().size
    }

    fn capacity(&self) -> usize {
        self.shared.opts.capacity
    }

    fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.not_empty.notify_waiters();
        self.shared.not_full.notify_waiters();
    }

    fn persistent_records(&self) -> Option<usize> {
        Some(self.shared.records())
    }
}

// ---- record encoding ----

fn signal_byte(s: Signal) -> u8 {
    match s {
        Signal::Traces => 1,
        Signal::Metrics => 2,
        Signal::Logs => 3,
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn encode_record(header: &Header, data: &Telemetry) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + header.bytes as usize);
    out.push(FORMAT);
    out.push(signal_byte(data.signal()));
    out.extend_from_slice(&header.items.to_le_bytes());
    out.extend_from_slice(&header.bytes.to_le_bytes());
    let addr = data
        .metadata
        .client_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    put_str(&mut out, &addr);
    let headers: Vec<_> = data.metadata.headers().collect();
    out.extend_from_slice(&(headers.len() as u32).to_le_bytes());
    for (k, values) in headers {
        put_str(&mut out, k);
        out.extend_from_slice(&(values.len() as u32).to_le_bytes());
        for v in values {
            put_str(&mut out, v);
        }
    }
    out.extend_from_slice(&data.payload.encode_request());
    out
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("record header is truncated".into());
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.bytes(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn string(&mut self) -> Result<String, String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.bytes(n)?.to_vec()).map_err(|_| "bad text in record".into())
    }
}

/// Parses the header; returns it with the signal, the metadata and the request bytes.
#[allow(clippy::type_complexity)]
fn decode_header(payload: &[u8]) -> Result<(Header, (Signal, Metadata, &[u8])), String> {
    let mut r = Reader(payload);
    if r.u8()? != FORMAT {
        return Err("unknown record format".into());
    }
    let signal = match r.u8()? {
        1 => Signal::Traces,
        2 => Signal::Metrics,
        3 => Signal::Logs,
        _ => return Err("unknown signal in record".into()),
    };
    let items = r.u64()?;
    let bytes = r.u64()?;
    let addr = r.string()?;
    let client: Option<SocketAddr> = if addr.is_empty() {
        None
    } else {
        Some(addr.parse().map_err(|_| "bad client address in record")?)
    };
    let n = r.u32()?;
    let mut headers = Vec::new();
    for _ in 0..n {
        let k = r.string()?;
        let m = r.u32()?;
        for _ in 0..m {
            headers.push((k.clone(), r.string()?));
        }
    }
    Ok((
        Header { items, bytes },
        (signal, Metadata::new(client, headers), r.0),
    ))
}

fn decode_record(payload: &[u8]) -> Result<(Header, Telemetry), String> {
    let (header, (signal, metadata, body)) = decode_header(payload)?;
    let bad = |e: prost::DecodeError| format!("bad OTLP data in record: {e}");
    let payload = match signal {
        Signal::Traces => Payload::Traces(
            ExportTraceServiceRequest::decode(body)
                .map_err(bad)?
                .resource_spans,
        ),
        Signal::Metrics => Payload::Metrics(
            ExportMetricsServiceRequest::decode(body)
                .map_err(bad)?
                .resource_metrics,
        ),
        Signal::Logs => Payload::Logs(
            ExportLogsServiceRequest::decode(body)
                .map_err(bad)?
                .resource_logs,
        ),
    };
    Ok((header, Telemetry::with_metadata(payload, metadata)))
}

/// CRC-32 (IEEE 802.3, the one zlib and gzip use).
pub fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    let mut crc = !0u32;
    for &b in data {
        crc = TABLE[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
mod tests;
