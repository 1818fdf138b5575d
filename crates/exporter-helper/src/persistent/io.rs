//! The queue's I/O thread: group commit of appends, the cursor, segment deletion.

use std::sync::Arc;
use std::sync::mpsc::Receiver;

use tokio::sync::oneshot;

use super::fs::{Crashed, SegFile, Step};
use super::record::{FRAME, encode_cursor};
use super::{DRAINED_SEGMENT_BYTES, Loc, Rec, Segment, Shared};

/// Work for the I/O thread.
pub(super) enum Job {
    /// Write records (one `reserve`).
    Append(Append),
    /// Write the cursor (records were finished).
    Cursor,
    /// Answer once the cursor is written.
    Flush(oneshot::Sender<()>),
}

/// The records of one `reserve`, framed, with the room held for them.
pub(super) struct Append {
    pub frames: Vec<Vec<u8>>,
    pub sizes: Vec<usize>,
    pub room: Room,
    pub reply: oneshot::Sender<Result<Vec<Loc>, String>>,
}

/// Room held in the queue for records being written; given back when dropped, unless
/// the records were written (then it is theirs).
pub(super) struct Room {
    shared: Arc<Shared>,
    size: usize,
}

impl Room {
    pub(super) fn new(shared: Arc<Shared>, size: usize) -> Self {
        Room { shared, size }
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        if self.size == 0 {
            return;
        }
        self.shared.lock().size -= self.size;
        self.shared.not_full.notify_waiters();
    }
}

/// The segment appends go to.
struct Active {
    first: u64,
    file: Arc<SegFile>,
    len: u64,
}

/// The part of a group that goes to one segment: one write, one fsync.
struct Chunk {
    file: Arc<SegFile>,
    segment: u64,
    start: u64,
    end: u64,
    /// One past the last record number in it.
    end_seq: u64,
    /// (append, frame) indices, in order.
    frames: Vec<(usize, usize)>,
}

/// `e`, naming the file.
fn at(file: &SegFile, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", file.path.display()))
}

/// The I/O thread's own state.
pub(super) struct Writer {
    shared: Arc<Shared>,
    /// Opened at the first append after open, so a previous run's torn tail never
    /// sits before new records.
    active: Option<Active>,
    next_seq: u64,
    /// The last group failed (disk full, I/O error): a drained segment is then deleted
    /// at once to give the space back.
    append_failed: bool,
}

/// Marks the queue stopped when the I/O thread ends, however it ends.
struct Stopped(Arc<Shared>);

impl Drop for Stopped {
    fn drop(&mut self) {
        self.0.lock().stopped = true;
        self.0.not_full.notify_waiters();
    }
}

impl Writer {
    pub(super) fn new(shared: Arc<Shared>, next_seq: u64) -> Self {
        Writer {
            shared,
            active: None,
            next_seq,
            append_failed: false,
        }
    }

    /// Serves jobs until the queue is dropped, then writes the cursor a last time.
    pub(super) fn run(mut self, jobs: Receiver<Job>) {
        let _stopped = Stopped(self.shared.clone());
        while let Ok(first) = jobs.recv() {
            if self.round(first, &jobs).is_err() {
                return;
            }
        }
        let _ = self.write_cursor();
    }

    /// One round: every job waiting, the appends among them as one group, then the
    /// cursor if records were finished.
    fn round(&mut self, first: Job, jobs: &Receiver<Job>) -> Result<(), Crashed> {
        if matches!(first, Job::Append(_)) {
            self.shared.fs.step(Step::Gather)?;
        }
        let mut appends = Vec::new();
        let mut flushes = Vec::new();
        for job in std::iter::once(first).chain(jobs.try_iter()) {
            match job {
                Job::Append(a) => appends.push(a),
                Job::Cursor => {}
                Job::Flush(tx) => flushes.push(tx),
            }
        }
        if !appends.is_empty() {
            self.append_group(appends)?;
        }
        self.write_cursor()?;
        for tx in flushes {
            let _ = tx.send(());
        }
        Ok(())
    }

    /// Starts a new segment at the next record number.
    fn roll(&mut self) -> std::io::Result<()> {
        let shared = &self.shared;
        let first = self.next_seq;
        let path = shared.dir.join(format!("seg-{first:020}.log"));
        let file = Arc::new(shared.fs.create(&path)?);
        if shared.opts.fsync {
            shared.fs.sync_dir(&shared.dir)?;
        }
        shared.lock().segments.push_back(Segment {
            first,
            end: first,
            len: 0,
            path,
            file: Some(file.clone()),
        });
        self.active = Some(Active {
            first,
            file,
            len: 0,
        });
        Ok(())
    }

    /// Places every record of the group, rolling segments over as needed.
    fn plan(
        &mut self,
        appends: &[Append],
        chunks: &mut Vec<Chunk>,
        locs: &mut [Vec<Loc>],
    ) -> std::io::Result<()> {
        for (i, a) in appends.iter().enumerate() {
            for (j, frame) in a.frames.iter().enumerate() {
                let roll = self
                    .active
                    .as_ref()
                    .is_none_or(|s| s.len >= self.shared.opts.segment_bytes);
                if roll {
                    self.roll()?;
                }
                let Some(active) = self.active.as_mut() else {
                    return Err(std::io::Error::other("no active segment"));
                };
                if chunks.last().is_none_or(|c| c.segment != active.first) {
                    chunks.push(Chunk {
                        file: active.file.clone(),
                        segment: active.first,
                        start: active.len,
                        end: active.len,
                        end_seq: self.next_seq,
                        frames: Vec::new(),
                    });
                }
                let Some(chunk) = chunks.last_mut() else {
                    return Err(std::io::Error::other("no chunk"));
                };
                locs[i].push(Loc {
                    seq: self.next_seq,
                    segment: active.first,
                    offset: active.len,
                    len: (frame.len() - FRAME) as u32,
                });
                active.len += frame.len() as u64;
                self.next_seq += 1;
                chunk.frames.push((i, j));
                chunk.end = active.len;
                chunk.end_seq = self.next_seq;
            }
        }
        Ok(())
    }

    /// Writes and (with `fsync`) syncs every chunk.
    fn write(&self, appends: &[Append], chunks: &[Chunk]) -> Result<std::io::Result<()>, Crashed> {
        let fs = self.shared.fs.as_ref();
        for c in chunks {
            let written = match c.frames.as_slice() {
                [(i, j)] => fs.write_at(&c.file, &appends[*i].frames[*j], c.start),
                frames => {
                    let mut buf = Vec::with_capacity((c.end - c.start) as usize);
                    for (i, j) in frames {
                        buf.extend_from_slice(&appends[*i].frames[*j]);
                    }
                    fs.write_at(&c.file, &buf, c.start)
                }
            };
            if let Err(e) = written {
                return Ok(Err(at(&c.file, e)));
            }
        }
        fs.step(Step::AfterWrite)?;
        if self.shared.opts.fsync {
            for c in chunks {
                if let Err(e) = fs.sync(&c.file) {
                    return Ok(Err(at(&c.file, e)));
                }
            }
        }
        fs.step(Step::AfterSync)?;
        Ok(Ok(()))
    }

    /// Writes the appends of one group with one write per segment and one fsync, then
    /// tells their callers.
    fn append_group(&mut self, mut appends: Vec<Append>) -> Result<(), Crashed> {
        let shared = self.shared.clone();
        shared.fs.step(Step::BeforeWrite)?;
        let mut chunks = Vec::new();
        let mut locs: Vec<Vec<Loc>> = appends
            .iter()
            .map(|a| Vec::with_capacity(a.frames.len()))
            .collect();
        let mut result = self.plan(&appends, &mut chunks, &mut locs);
        if result.is_ok() {
            result = self.write(&appends, &chunks)?;
        }
        if let Err(e) = result {
            self.failed(&chunks, e, appends);
            return Ok(());
        }
        self.append_failed = false;
        let mut state = shared.lock();
        for (a, locs) in appends.iter_mut().zip(&locs) {
            for (loc, size) in locs.iter().zip(&a.sizes) {
                let rec = Rec {
                    size: *size,
                    loc: *loc,
                    taken: false,
                };
                state.outstanding.insert(loc.seq, rec);
            }
            // The room now belongs to the records.
            a.room.size = 0;
        }
        for c in &chunks {
            if let Some(s) = state.segment(c.segment) {
                s.len = c.end;
                s.end = c.end_seq;
            }
        }
        state.next_seq = self.next_seq;
        drop(state);
        for (a, locs) in appends.into_iter().zip(locs) {
            if let Err(Ok(locs)) = a.reply.send(Ok(locs)) {
                // The caller gave up waiting: forget the records.
                let mut state = shared.lock();
                for loc in locs {
                    state.finish(loc.seq);
                }
                drop(state);
                shared.not_full.notify_waiters();
            }
        }
        Ok(())
    }

    /// A group could not be written: takes it back and fails its callers.
    fn failed(&mut self, chunks: &[Chunk], e: std::io::Error, appends: Vec<Append>) {
        let shared = self.shared.clone();
        tracing::error!(
            exporter = %shared.opts.owner,
            directory = %shared.dir.display(),
            error = %e,
            "cannot write to the persistent queue",
        );
        // Cut the partial records off (replay would skip them anyway), and start the
        // next group in a new segment; the numbers the group took stay unused.
        for c in chunks {
            let _ = shared.fs.set_len(&c.file, c.start);
        }
        self.active = None;
        self.append_failed = true;
        {
            let mut state = shared.lock();
            state.next_seq = self.next_seq;
        }
        let floor = shared.lock().floor;
        self.delete_done(floor);
        let message = format!(
            "cannot write to the persistent queue in {}: {e}",
            shared.dir.display()
        );
        for a in appends {
            let Append { room, reply, .. } = a;
            // Give the room back before the caller hears of it.
            drop(room);
            let _ = reply.send(Err(message.clone()));
        }
    }

    /// Writes the cursor if records were finished since the last write, then deletes
    /// the segments it left behind.
    fn write_cursor(&mut self) -> Result<(), Crashed> {
        let shared = self.shared.clone();
        let (floor, data) = {
            let mut state = shared.lock();
            state.cursor_queued = false;
            if !state.cursor_dirty {
                return Ok(());
            }
            state.cursor_dirty = false;
            (state.floor, encode_cursor(state.floor, &state.done_above))
        };
        if let Err(e) = shared
            .fs
            .write_cursor(&shared.dir, &data, shared.opts.fsync)
        {
            // The old cursor stays (the write is tried again in the next round): after a
            // restart the records since are delivered again, never lost. Delivered
            // segments are still deleted below — replay then starts at the oldest
            // remaining one — so a full disk gets its space back.
            tracing::warn!(exporter = %shared.opts.owner, error = %e, "cannot update queue cursor");
            shared.lock().cursor_dirty = true;
        }
        self.delete_done(floor);
        Ok(())
    }

    /// Deletes the oldest segments whose records are all below `floor`.
    fn delete_done(&mut self, floor: u64) {
        let shared = self.shared.clone();
        let limit = shared.opts.segment_bytes.min(DRAINED_SEGMENT_BYTES);
        let mut deleted = Vec::new();
        {
            let mut state = shared.lock();
            loop {
                let deletable = match state.segments.front() {
                    // The newest segment is kept while it is being appended to, unless
                    // it has grown past DRAINED_SEGMENT_BYTES or appends are failing (a
                    // full disk): then it is deleted and the next append starts a new
                    // one, so a drained queue gives its disk space back.
                    Some(s) if s.end <= floor => {
                        state.segments.len() > 1
                            || self.active.as_ref().is_none_or(|a| a.first != s.first)
                            || s.len >= limit
                            || self.append_failed
                    }
                    _ => false,
                };
                if !deletable {
                    break;
                }
                if let Some(s) = state.segments.pop_front() {
                    if self.active.as_ref().is_some_and(|a| a.first == s.first) {
                        self.active = None;
                    }
                    deleted.push(s.path);
                }
            }
        }
        for path in deleted {
            if let Err(e) = shared.fs.remove(&path) {
                tracing::warn!(
                    exporter = %shared.opts.owner,
                    file = %path.display(),
                    error = %e,
                    "cannot delete delivered queue segment",
                );
            }
        }
    }
}
