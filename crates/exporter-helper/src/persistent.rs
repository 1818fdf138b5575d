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
//!   flight). It is replaced through `cursor.tmp` and a rename; with `fsync`,
//!   atomically and durably (fsync, rename, fsync the directory). The 12-byte cursor
//!   of earlier versions (`[record number][crc32]`) is still read.
//!
//! A record's payload is a header (format version, signal, item count, encoded size,
//! request metadata) followed by the batch as the signal's OTLP export request.
//!
//! # Where the I/O runs
//!
//! No file is touched on the async runtime's worker threads (opening the queue aside).
//! One I/O thread per queue writes, fsyncs, updates the cursor and deletes segments;
//! reads run on tokio's blocking pool. The state shared with them (what is queued,
//! in flight, done) sits behind a mutex that is never held across I/O.
//!
//! - **Group commit.** The I/O thread takes every append waiting for it and writes
//!   them as one group: one write per segment touched and, with `fsync`, one fsync for
//!   the group, however many [`Queue::reserve`] calls it holds. `reserve` returns once
//!   the group is written (and fsynced).
//! - **Coalesced cursor.** [`Queue::done`] only updates memory; the I/O thread writes
//!   the cursor once per round for every record finished since the last write. After
//!   [`Queue::close`] (shutdown), `done` waits until the cursor saying so is on disk,
//!   and so does the last `take` (the one that finds the queue closed and empty): a
//!   graceful stop re-delivers nothing that was delivered.
//! - **Reads** use positional reads on files kept open (the segment being appended to
//!   shares the writer's file; older ones are opened once and a few are kept).
//!
//! # Guarantees
//!
//! - FIFO: records are handed out in the order they were committed (a requeued
//!   record, or one that could not be read for a while, goes to the back).
//! - At-least-once: a crash re-delivers every record [`Queue::done`] was not called
//!   for (so a record whose delivery was cut short may be delivered twice), and may
//!   re-deliver records done just before it (the cursor write that would have said so
//!   had not happened yet). A record whose `reserve` returned `Ok` is on disk (with
//!   `fsync`, durably) and is never lost.
//! - [`Queue::requeue`] puts a taken record back at the end of the queue, unchanged on
//!   disk and still counted in the size: retries running out do not drop data.
//! - The cursor's floor advances over the contiguous prefix of done records. A segment
//!   is deleted once every record in it is below the floor, after the cursor saying
//!   so is on disk.
//! - Capacity counts every record on disk that is not done, in flight and requeued
//!   included, and the room held by appends being written.
//! - On open, a record with a bad length, a bad checksum or a truncated tail is
//!   skipped, logged and counted in `stratus_exporter_queue_corrupted_records`; a
//!   damaged tail of the newest segment is cut off. An unreadable cursor restarts from
//!   the oldest segment. Corrupt data never stops the queue from opening.
//! - A record that fails its checksum or cannot be decoded when it is read back is
//!   skipped and counted the same way; so is one whose file is gone or too short. Any
//!   other read error (`EMFILE`, `ENFILE`, `EINTR`, `EIO`, ...) may be transient: the
//!   read is retried with a bounded back-off, then the record goes to the back of the
//!   queue to be tried again later, each failed attempt counted in
//!   `stratus_exporter_queue_read_errors`. Such a record is never dropped.
//! - Appends go to a fresh segment after every open, so a torn write of a previous run
//!   never sits in the middle of new records.

mod fs;
mod io;
mod open;
mod record;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use stratus_core::telemetry::Counter;
use stratus_core::{ConsumeError, Metadata, Signal, Telemetry};
use tokio::sync::{Notify, oneshot};

use crate::config::Sizer;
use crate::queue::{Entry, Part, Queue, QueueError, Reserved, Waiter};
use fs::{Fs, SegFile};
use io::{Append, Job, Room};
use record::{FRAME, Header};

pub use record::crc32;

/// Segment files roll over once they reach this size.
pub const DEFAULT_SEGMENT_BYTES: u64 = 8 * 1024 * 1024;

/// A fully delivered active segment at least this large is deleted rather than kept
/// for further appends, bounding the disk a drained queue holds.
const DRAINED_SEGMENT_BYTES: u64 = 1024 * 1024;

/// Attempts at reading a record, in a row, before it goes to the back of the queue.
const READ_ATTEMPTS: u32 = 6;
/// The wait after the first failed read; it doubles after each attempt.
const READ_BACKOFF: Duration = Duration::from_millis(10);
/// The longest wait between two reads of a record.
const MAX_READ_BACKOFF: Duration = Duration::from_secs(1);
/// Older segments kept open for reading, besides the one being appended to.
const MAX_READERS: usize = 8;

/// Options of a [`PersistentQueue`].
#[derive(Debug, Clone)]
pub struct PersistentOptions {
    /// What the queue counts.
    pub sizer: Sizer,
    /// Capacity in units of `sizer`.
    pub capacity: usize,
    /// fsync each group of appends before `reserve` returns.
    pub fsync: bool,
    /// Segment roll-over size in bytes.
    pub segment_bytes: u64,
    /// The exporter id, for logs.
    pub owner: String,
}

/// What a [`PersistentQueue`] counts.
#[derive(Debug, Clone, Default)]
pub struct QueueCounters {
    /// Records skipped because they were damaged
    /// (`stratus_exporter_queue_corrupted_records`).
    pub corrupted: Counter,
    /// Reads that failed and will be tried again; the record is kept
    /// (`stratus_exporter_queue_read_errors`).
    pub read_errors: Counter,
}

/// A bounded FIFO queue kept in a segment log; see the module docs.
pub struct PersistentQueue {
    core: Arc<Core>,
}

/// Owns the I/O thread: dropping the last handle stops it, after it wrote the cursor.
struct Core {
    shared: Arc<Shared>,
    io: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What the async side, the I/O thread and the readers share.
struct Shared {
    opts: PersistentOptions,
    dir: PathBuf,
    fs: Arc<dyn Fs>,
    counters: QueueCounters,
    state: Mutex<State>,
    not_empty: Notify,
    not_full: Notify,
    /// Rate limit of the read-error warning.
    read_warn: crate::LogLimiter,
}

struct Segment {
    first: u64,
    /// One past the last record number in the segment.
    end: u64,
    len: u64,
    path: PathBuf,
    /// Open for reading (the writer's file for the segment being appended to).
    file: Option<Arc<SegFile>>,
}

/// Where a record is.
#[derive(Clone, Copy, Debug)]
struct Loc {
    seq: u64,
    segment: u64,
    offset: u64,
    len: u32,
}

/// A record that is not done.
struct Rec {
    /// Its size in the sizer's unit.
    size: usize,
    loc: Loc,
    /// Handed out by `take` (and not requeued since).
    taken: bool,
}

struct State {
    segments: VecDeque<Segment>,
    /// Records not yet handed out, in order.
    pending: VecDeque<Loc>,
    /// Records on disk not done (pending, in flight or reserved uncommitted).
    outstanding: BTreeMap<u64, Rec>,
    /// Room held: the outstanding records and the appends being written.
    size: usize,
    /// One past the newest record written.
    next_seq: u64,
    /// Every record below is done.
    floor: u64,
    /// Records at or above `floor` that are done (finished out of order).
    done_above: BTreeSet<u64>,
    /// `floor` or `done_above` changed since the cursor was last written.
    cursor_dirty: bool,
    /// The I/O thread was asked to write the cursor and has not yet.
    cursor_queued: bool,
    closed: bool,
    /// The I/O thread is gone: nothing can be written any more.
    stopped: bool,
    /// Callers waiting for the result of a record offered in this process.
    waiters: HashMap<u64, Waiter>,
}

impl State {
    /// Marks `seq` done in memory; the I/O thread writes the cursor. Returns whether
    /// the I/O thread must be woken for it.
    fn finish(&mut self, seq: u64) -> bool {
        let Some(rec) = self.outstanding.remove(&seq) else {
            return false;
        };
        self.size -= rec.size;
        let floor = self
            .outstanding
            .keys()
            .next()
            .copied()
            .unwrap_or(self.next_seq)
            .max(self.floor);
        self.done_above.insert(seq);
        self.done_above = self.done_above.split_off(&floor);
        self.floor = floor;
        self.cursor_dirty = true;
        !std::mem::replace(&mut self.cursor_queued, true)
    }

    fn segment(&mut self, first: u64) -> Option<&mut Segment> {
        let i = self.segments.partition_point(|s| s.first < first);
        self.segments.get_mut(i).filter(|s| s.first == first)
    }

    /// Keeps a segment open for reading, closing the oldest other one kept when there
    /// are too many.
    fn keep_reader(&mut self, first: u64, file: Arc<SegFile>) {
        let Some(seg) = self.segment(first) else {
            return;
        };
        if seg.file.is_some() {
            return;
        }
        seg.file = Some(file);
        let last = self.segments.len().saturating_sub(1);
        let open: Vec<usize> = (0..last)
            .filter(|&i| self.segments[i].file.is_some() && self.segments[i].first != first)
            .collect();
        if open.len() >= MAX_READERS {
            self.segments[open[0]].file = None;
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

impl Core {
    /// Hands a job to the I/O thread; `false` when it is gone.
    fn send(&self, job: Job) -> bool {
        self.io.as_ref().is_some_and(|io| io.send(job).is_ok())
    }

    fn wake_cursor(&self) {
        self.send(Job::Cursor);
    }

    /// Waits until the cursor is written for every record finished so far.
    async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.send(Job::Flush(tx)) {
            let _ = rx.await;
        }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        // The I/O thread writes the cursor and stops once its channel is closed. Joining
        // keeps a queue reopened in the same process clear of the old one's writes.
        drop(self.io.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl PersistentQueue {
    /// Opens (or creates) the queue in `dir`, replaying what a previous run left.
    /// `corrupted` counts records skipped because they were damaged; read errors are
    /// not counted anywhere visible (see [`PersistentQueue::open_with`]).
    pub fn open(
        dir: &Path,
        opts: PersistentOptions,
        corrupted: Counter,
    ) -> Result<Self, std::io::Error> {
        let counters = QueueCounters {
            corrupted,
            read_errors: Counter::default(),
        };
        Self::open_with(dir, opts, counters)
    }

    /// Opens (or creates) the queue in `dir`, replaying what a previous run left,
    /// counting in `counters`.
    pub fn open_with(
        dir: &Path,
        opts: PersistentOptions,
        counters: QueueCounters,
    ) -> Result<Self, std::io::Error> {
        Self::open_on(dir, opts, counters, Arc::new(fs::Disk))
    }

    fn open_on(
        dir: &Path,
        opts: PersistentOptions,
        counters: QueueCounters,
        fs: Arc<dyn Fs>,
    ) -> Result<Self, std::io::Error> {
        let state = open::replay(dir, &opts, &counters, fs.as_ref())?;
        let next_seq = state.next_seq;
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            opts,
            fs,
            counters,
            state: Mutex::new(state),
            not_empty: Notify::new(),
            not_full: Notify::new(),
            read_warn: crate::LogLimiter::new(Duration::from_secs(10)),
        });
        let (tx, rx) = mpsc::channel();
        let writer = io::Writer::new(shared.clone(), next_seq);
        let thread = std::thread::Builder::new()
            .name("stratus-queue".into())
            .spawn(move || writer.run(rx))?;
        Ok(PersistentQueue {
            core: Arc::new(Core {
                shared,
                io: Some(tx),
                thread: Some(thread),
            }),
        })
    }

    /// Records on disk that are not done (queued or in flight).
    pub fn records(&self) -> usize {
        self.core.shared.lock().outstanding.len()
    }

    /// Like [`Queue::take`], but hands the record out as it was stored: its batch as
    /// the signal's OTLP export request, not decoded ([`Stored`]). A sender that can
    /// send those bytes as they are saves decoding and encoding the batch again.
    pub async fn take_stored(&self) -> Option<StoredEntry> {
        loop {
            let popped = self.pop().await?;
            match self.read(&popped, true).await {
                Ok(Read::Stored(stored)) => {
                    let (loc, waiter) = popped.keep();
                    return Some(StoredEntry {
                        stored,
                        token: loc.seq,
                        waiter,
                    });
                }
                Ok(Read::Data(_)) => popped.later(),
                Err(fail) => self.failed(popped, fail).await,
            }
        }
    }
}

/// A record as the persistent queue stored it, from [`PersistentQueue::take_stored`].
pub struct Stored {
    signal: Signal,
    items: usize,
    metadata: Metadata,
    otlp: Bytes,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stored")
            .field("signal", &self.signal)
            .field("items", &self.items)
            .field("bytes", &self.otlp.len())
            .finish()
    }
}

impl Stored {
    /// The batch's signal.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// Items (spans, data points, log records) in the batch, from the record's header.
    pub fn items(&self) -> usize {
        self.items
    }

    /// The request metadata stored with the batch.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The batch as the signal's OTLP export request (`Export*ServiceRequest`), as
    /// stored; cloning it is cheap.
    pub fn otlp(&self) -> &Bytes {
        &self.otlp
    }

    /// Decodes the batch. A record that cannot be decoded is damaged: it is logged and
    /// counted in `stratus_exporter_queue_corrupted_records`, and the error is
    /// permanent (mark the entry done).
    pub fn decode(self) -> Result<Telemetry, ConsumeError> {
        match record::decode_body(self.signal, &self.otlp) {
            Ok(payload) => Ok(Telemetry::with_metadata(payload, self.metadata)),
            Err(reason) => {
                tracing::warn!(
                    exporter = %self.shared.opts.owner,
                    reason = %reason,
                    "skipping damaged record in the persistent queue",
                );
                self.shared.counters.corrupted.add(1);
                Err(ConsumeError::permanent(
                    "the record was damaged in the persistent queue",
                ))
            }
        }
    }
}

/// A record taken with [`PersistentQueue::take_stored`]: [`Entry`] with the batch as
/// stored.
#[derive(Debug)]
pub struct StoredEntry {
    /// The batch, as stored.
    pub stored: Stored,
    /// Identifies the entry to [`Queue::done`] and [`Queue::requeue`].
    pub token: u64,
    /// The caller waiting for this batch's result, if it waits (`wait_for_result`).
    pub waiter: Option<Waiter>,
}

/// Room held in a [`PersistentQueue`]: records written but not yet takeable.
struct PersistentReserved {
    core: Arc<Core>,
    written: Vec<(Loc, Option<Waiter>)>,
    committed: bool,
}

impl Reserved for PersistentReserved {
    fn commit(mut self: Box<Self>) {
        self.committed = true;
        let written = std::mem::take(&mut self.written);
        let shared = &self.core.shared;
        let mut state = shared.lock();
        for (loc, waiter) in written {
            if let Some(w) = waiter {
                state.waiters.insert(loc.seq, w);
            }
            state.pending.push_back(loc);
        }
        drop(state);
        shared.not_empty.notify_one();
    }
}

impl Drop for PersistentReserved {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let shared = &self.core.shared;
        let mut state = shared.lock();
        let mut wake = false;
        for (loc, _) in self.written.drain(..) {
            wake |= state.finish(loc.seq);
        }
        drop(state);
        shared.not_full.notify_waiters();
        if wake {
            self.core.wake_cursor();
        }
    }
}

/// A record popped from `pending` while it is being read. Dropped unkept (the `take`
/// future was cancelled), it goes back to the front.
struct Popped<'a> {
    shared: &'a Shared,
    loc: Loc,
    waiter: Option<Waiter>,
    armed: bool,
}

impl Popped<'_> {
    /// The record is handed out.
    fn keep(mut self) -> (Loc, Option<Waiter>) {
        self.armed = false;
        (self.loc, self.waiter.take())
    }

    /// The record goes to the back of the queue.
    fn later(mut self) {
        self.armed = false;
        self.put_back(false);
    }

    fn put_back(&mut self, front: bool) {
        let mut state = self.shared.lock();
        if let Some(rec) = state.outstanding.get_mut(&self.loc.seq) {
            rec.taken = false;
        }
        if let Some(w) = self.waiter.take() {
            state.waiters.insert(self.loc.seq, w);
        }
        match front {
            true => state.pending.push_front(self.loc),
            false => state.pending.push_back(self.loc),
        }
        drop(state);
        self.shared.not_empty.notify_one();
    }
}

impl Drop for Popped<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.put_back(true);
        }
    }
}

/// A record read back.
enum Read {
    Data(Telemetry),
    Stored(Stored),
}

/// Why a record could not be read.
enum ReadFail {
    /// Damaged or gone: it is skipped.
    Corrupt(String),
    /// Read errors in every attempt: it is kept, and tried again later.
    Later(std::io::Error),
}

/// What a read on the blocking pool returns: the file it opened (to keep), and the
/// record.
type Blocking = (Option<Arc<SegFile>>, Result<Read, ReadError>);

enum ReadError {
    Corrupt(String),
    Io(std::io::Error),
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        use std::io::ErrorKind::{NotFound, UnexpectedEof};
        match e.kind() {
            NotFound => ReadError::Corrupt(format!("the segment file is gone: {e}")),
            UnexpectedEof => ReadError::Corrupt("truncated record".into()),
            _ => ReadError::Io(e),
        }
    }
}

/// Reads and checks one record (on the blocking pool).
fn read_blocking(
    shared: &Arc<Shared>,
    file: Option<Arc<SegFile>>,
    path: &Path,
    loc: Loc,
    stored: bool,
) -> Blocking {
    let fs = shared.fs.as_ref();
    let (file, opened) = match file {
        Some(f) => (f, None),
        None => match fs.open_read(path) {
            Ok(f) => {
                let f = Arc::new(f);
                (f.clone(), Some(f))
            }
            Err(e) => return (None, Err(e.into())),
        },
    };
    let mut buf = vec![0u8; FRAME + loc.len as usize];
    if let Err(e) = fs.read_at(&file, &mut buf, loc.offset) {
        return (opened, Err(e.into()));
    }
    let read = record::check_frame(Bytes::from(buf)).and_then(|payload| {
        if !stored {
            return record::decode_record(&payload).map(Read::Data);
        }
        let d = record::decode_header(&payload)?;
        Ok(Read::Stored(Stored {
            signal: d.signal,
            items: d.header.items as usize,
            metadata: d.metadata,
            otlp: payload.slice(d.body..),
            shared: shared.clone(),
        }))
    });
    (opened, read.map_err(ReadError::Corrupt))
}

impl PersistentQueue {
    /// Waits for the next pending record; `None` once closed and empty.
    async fn pop(&self) -> Option<Popped<'_>> {
        let shared = &self.core.shared;
        loop {
            let wait = shared.not_empty.notified();
            let closed = {
                let mut state = shared.lock();
                if let Some(loc) = state.pending.pop_front() {
                    let waiter = state.waiters.remove(&loc.seq);
                    if let Some(rec) = state.outstanding.get_mut(&loc.seq) {
                        rec.taken = true;
                    }
                    let more = !state.pending.is_empty();
                    drop(state);
                    if more {
                        shared.not_empty.notify_one();
                    }
                    return Some(Popped {
                        shared,
                        loc,
                        waiter,
                        armed: true,
                    });
                }
                state.closed
            };
            if closed {
                // The last take of a stopping sender: what it finished is on disk
                // before it stops.
                self.core.flush().await;
                return None;
            }
            wait.await;
        }
    }

    /// Reads a popped record off the runtime, retrying errors that may be transient.
    async fn read(&self, popped: &Popped<'_>, stored: bool) -> Result<Read, ReadFail> {
        let shared = &self.core.shared;
        let loc = popped.loc;
        let mut backoff = READ_BACKOFF;
        let mut attempt = 0;
        loop {
            let (file, path) = {
                let mut state = shared.lock();
                match state.segment(loc.segment) {
                    Some(s) => (s.file.clone(), s.path.clone()),
                    None => return Err(ReadFail::Corrupt("its segment is gone".into())),
                }
            };
            let s = shared.clone();
            let read =
                tokio::task::spawn_blocking(move || read_blocking(&s, file, &path, loc, stored))
                    .await;
            let error = match read {
                Ok((opened, result)) => {
                    if let Some(f) = opened {
                        shared.lock().keep_reader(loc.segment, f);
                    }
                    match result {
                        Ok(read) => return Ok(read),
                        Err(ReadError::Corrupt(reason)) => return Err(ReadFail::Corrupt(reason)),
                        Err(ReadError::Io(e)) => e,
                    }
                }
                Err(e) => std::io::Error::other(format!("the read did not finish: {e}")),
            };
            shared.counters.read_errors.add(1);
            attempt += 1;
            if attempt >= READ_ATTEMPTS {
                return Err(ReadFail::Later(error));
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_READ_BACKOFF);
        }
    }

    /// Skips a damaged record, or puts one that cannot be read now at the back.
    async fn failed(&self, popped: Popped<'_>, fail: ReadFail) {
        let shared = &self.core.shared;
        let segment = popped.loc.segment;
        let offset = popped.loc.offset;
        match fail {
            ReadFail::Corrupt(reason) => {
                tracing::warn!(
                    exporter = %shared.opts.owner,
                    segment,
                    offset,
                    reason = %reason,
                    "skipping damaged record in the persistent queue",
                );
                shared.counters.corrupted.add(1);
                let (loc, waiter) = popped.keep();
                if let Some(w) = waiter {
                    w.finish(Err(ConsumeError::permanent(
                        "the record was damaged in the persistent queue",
                    )));
                }
                let wake = shared.lock().finish(loc.seq);
                shared.not_full.notify_waiters();
                if wake {
                    self.core.wake_cursor();
                }
            }
            ReadFail::Later(e) => {
                if let Some(suppressed) = shared.read_warn.allow() {
                    tracing::warn!(
                        exporter = %shared.opts.owner,
                        directory = %shared.dir.display(),
                        segment,
                        offset,
                        error = %e,
                        attempts = READ_ATTEMPTS,
                        suppressed,
                        "cannot read a record of the persistent queue; it is kept and tried \
                         again later (similar messages are logged at most every 10s)",
                    );
                }
                popped.later();
            }
        }
    }
}

#[async_trait]
impl Queue for PersistentQueue {
    async fn reserve(
        &self,
        parts: Vec<Part>,
        block: bool,
    ) -> Result<Box<dyn Reserved>, (QueueError, Vec<Telemetry>)> {
        let shared = &self.core.shared;
        let (capacity, sizer) = (shared.opts.capacity, shared.opts.sizer);
        let mut frames = Vec::with_capacity(parts.len());
        let mut sizes = Vec::with_capacity(parts.len());
        let mut total = 0;
        for (data, _) in &parts {
            let header = Header::of(data);
            let size = header.size(sizer);
            if size > capacity {
                let e = QueueError::TooLarge { size, capacity };
                return Err((e, parts.into_iter().map(|(d, _)| d).collect()));
            }
            total += size;
            sizes.push(size);
            frames.push(record::encode_frame(&header, data));
        }
        let (data, waiters): (Vec<Telemetry>, Vec<Option<Waiter>>) = parts.into_iter().unzip();
        let stopped = || {
            QueueError::Storage(format!(
                "cannot write to the persistent queue in {}: its I/O thread stopped",
                shared.dir.display()
            ))
        };
        loop {
            let wait = shared.not_full.notified();
            {
                let mut state = shared.lock();
                if state.closed {
                    return Err((QueueError::Closed, data));
                }
                if state.stopped {
                    return Err((stopped(), data));
                }
                if crate::queue::fits(state.size, total, capacity) {
                    state.size += total;
                    break;
                }
                if !block {
                    return Err((QueueError::Full, data));
                }
            }
            wait.await;
        }
        let room = Room::new(shared.clone(), total);
        let (reply, written) = oneshot::channel();
        let job = Job::Append(Append {
            frames,
            sizes,
            room,
            reply,
        });
        if !self.core.send(job) {
            return Err((stopped(), data));
        }
        match written.await {
            Ok(Ok(locs)) => Ok(Box::new(PersistentReserved {
                core: self.core.clone(),
                written: locs.into_iter().zip(waiters).collect(),
                committed: false,
            })),
            Ok(Err(message)) => Err((QueueError::Storage(message), data)),
            Err(_) => Err((stopped(), data)),
        }
    }

    async fn take_stored(&self) -> Option<crate::queue::Taken> {
        PersistentQueue::take_stored(self)
            .await
            .map(crate::queue::Taken::Stored)
    }

    async fn take(&self) -> Option<Entry> {
        loop {
            let popped = self.pop().await?;
            match self.read(&popped, false).await {
                Ok(Read::Data(data)) => {
                    let (loc, waiter) = popped.keep();
                    return Some(Entry {
                        data,
                        token: loc.seq,
                        waiter,
                    });
                }
                Ok(Read::Stored(_)) => popped.later(),
                Err(fail) => self.failed(popped, fail).await,
            }
        }
    }

    async fn done(&self, token: u64) {
        let shared = &self.core.shared;
        let (wake, closed) = {
            let mut state = shared.lock();
            (state.finish(token), state.closed)
        };
        shared.not_full.notify_waiters();
        if closed {
            // Shutting down: the cursor is on disk before the caller moves on, so a
            // graceful stop does not re-deliver what was delivered.
            self.core.flush().await;
        } else if wake {
            self.core.wake_cursor();
        }
    }

    /// Puts a taken record back at the end of the queue; it stays on disk as it is and
    /// keeps its room. `false` only for a token that is not in the queue (done).
    async fn requeue(&self, token: u64) -> bool {
        let shared = &self.core.shared;
        let mut state = shared.lock();
        let Some(rec) = state.outstanding.get_mut(&token) else {
            return false;
        };
        if rec.taken {
            rec.taken = false;
            let loc = rec.loc;
            state.pending.push_back(loc);
            drop(state);
            shared.not_empty.notify_one();
        }
        true
    }

    fn size(&self) -> usize {
        self.core.shared.lock().size
    }

    fn capacity(&self) -> usize {
        self.core.shared.opts.capacity
    }

    fn close(&self) {
        let shared = &self.core.shared;
        shared.lock().closed = true;
        shared.not_empty.notify_waiters();
        shared.not_full.notify_waiters();
    }

    fn persistent_records(&self) -> Option<usize> {
        Some(self.records())
    }
}

#[cfg(test)]
mod tests;
