use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use stratus_core::Payload;
use stratus_core::pdata::trace;
use stratus_core::telemetry::Registry;

use super::fs::{CURSOR, CURSOR_TMP, Crashed, Disk, Step};
use super::*;

const NAME: &str = "stratus_exporter_queue_corrupted_records";

struct Opened {
    q: Arc<PersistentQueue>,
    corrupted: Counter,
    read_errors: Counter,
}

fn options(sizer: Sizer, capacity: usize, segment_bytes: u64) -> PersistentOptions {
    PersistentOptions {
        sizer,
        capacity,
        fsync: true,
        segment_bytes,
        owner: "otlp".into(),
    }
}

fn open_on(dir: &Path, opts: PersistentOptions, fs: Arc<dyn Fs>) -> Opened {
    let registry = Registry::new();
    let counters = QueueCounters {
        corrupted: registry.counter(NAME, "help", &[("exporter", "otlp")]),
        read_errors: registry.counter(
            "stratus_exporter_queue_read_errors",
            "help",
            &[("exporter", "otlp")],
        ),
    };
    let q = PersistentQueue::open_on(dir, opts, counters.clone(), fs).unwrap();
    Opened {
        q: Arc::new(q),
        corrupted: counters.corrupted,
        read_errors: counters.read_errors,
    }
}

fn open_with(dir: &Path, sizer: Sizer, capacity: usize, segment_bytes: u64) -> Opened {
    open_on(dir, options(sizer, capacity, segment_bytes), Arc::new(Disk))
}

/// Opens the queue on a simulated disk.
fn open_sim(dir: &Path, sim: &Arc<Sim>) -> Opened {
    let opts = options(Sizer::Requests, 1000, DEFAULT_SEGMENT_BYTES);
    open_on(dir, opts, sim.clone())
}

fn read_cursor(dir: &Path, owner: &str) -> Option<(u64, std::collections::BTreeSet<u64>)> {
    open::read_cursor(&Disk, dir, owner)
}

/// Waits until the I/O thread wrote the cursor for everything done so far (and
/// deleted the segments it freed).
async fn flush(q: &PersistentQueue) {
    q.core.flush().await;
}

fn open(dir: &Path) -> Opened {
    open_with(dir, Sizer::Requests, 1000, DEFAULT_SEGMENT_BYTES)
}

/// A batch of `n` spans named `tag`.
fn batch(tag: &str, n: usize) -> Telemetry {
    let span = trace::Span {
        name: tag.to_string(),
        ..Default::default()
    };
    Telemetry::new(Payload::Traces(vec![trace::ResourceSpans {
        scope_spans: vec![trace::ScopeSpans {
            spans: vec![span; n],
            ..Default::default()
        }],
        ..Default::default()
    }]))
}

fn tag(t: &Telemetry) -> String {
    match &*t.payload {
        Payload::Traces(r) => r[0].scope_spans[0].spans[0].name.clone(),
        _ => panic!("not traces"),
    }
}

async fn offer_all(q: &PersistentQueue, tags: &[&str]) {
    for t in tags {
        q.offer(batch(t, 1), false).await.unwrap();
    }
}

/// Takes everything queued (closing the queue first) and marks it done.
async fn drain(q: &PersistentQueue) -> Vec<String> {
    q.close();
    let mut out = Vec::new();
    while let Some(e) = q.take().await {
        out.push(tag(&e.data));
        q.done(e.token).await;
    }
    out
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("seg-"))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn fifo_across_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let o = open(tmp.path());
    offer_all(&o.q, &["a", "b", "c", "d", "e"]).await;
    for want in ["a", "b"] {
        let e = o.q.take().await.unwrap();
        assert_eq!(tag(&e.data), want);
        o.q.done(e.token).await;
    }
    drop(o);
    let o = open(tmp.path());
    assert_eq!(o.q.records(), 3);
    offer_all(&o.q, &["f"]).await;
    assert_eq!(drain(&o.q).await, ["c", "d", "e", "f"]);
    drop(o);
    let o = open(tmp.path());
    assert_eq!(o.q.records(), 0);
    assert_eq!(drain(&o.q).await, Vec::<String>::new());
}

#[tokio::test]
async fn taken_but_not_done_is_delivered_again() {
    let tmp = tempfile::tempdir().unwrap();
    let o = open(tmp.path());
    offer_all(&o.q, &["a", "b", "c"]).await;
    let _a = o.q.take().await.unwrap();
    let _b = o.q.take().await.unwrap();
    assert_eq!(o.q.size(), 3, "in-flight records still count");
    drop(o);
    let o = open(tmp.path());
    assert_eq!(drain(&o.q).await, ["a", "b", "c"]);
}

#[tokio::test]
async fn records_done_out_of_order_are_not_delivered_again() {
    let tmp = tempfile::tempdir().unwrap();
    let o = open(tmp.path());
    offer_all(&o.q, &["a", "b", "c", "d", "e"]).await;
    // Three consumers take one record each and finish in reverse order.
    let a = o.q.take().await.unwrap();
    let b = o.q.take().await.unwrap();
    let c = o.q.take().await.unwrap();
    o.q.done(c.token).await;
    o.q.done(b.token).await;
    flush(&o.q).await;
    let cursor = read_cursor(tmp.path(), "t").unwrap();
    assert_eq!(cursor.0, 0, "a is not done yet: the floor stays");
    assert_eq!(cursor.1.into_iter().collect::<Vec<_>>(), [1, 2]);
    // A crash now re-delivers a, d and e: b and c were done.
    drop(o);
    let o = open(tmp.path());
    let a2 = o.q.take().await.unwrap();
    assert_eq!(tag(&a2.data), "a");
    o.q.done(a2.token).await;
    flush(&o.q).await;
    let cursor = read_cursor(tmp.path(), "t").unwrap();
    assert_eq!((cursor.0, cursor.1.len()), (3, 0), "the floor moved past c");
    drop(o);
    let o = open(tmp.path());
    assert_eq!(drain(&o.q).await, ["d", "e"]);
    let _ = a;
}

#[tokio::test]
async fn a_cursor_of_the_earlier_layout_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let o = open(tmp.path());
    offer_all(&o.q, &["a", "b", "c"]).await;
    drop(o);
    // [record number][crc32]: every record below 1 is done.
    let mut old = 1u64.to_le_bytes().to_vec();
    old.extend_from_slice(&crc32(&old).to_le_bytes());
    fs::write(tmp.path().join(CURSOR), old).unwrap();
    let o = open(tmp.path());
    assert_eq!(drain(&o.q).await, ["b", "c"]);
}

#[tokio::test]
async fn crash_after_append_before_cursor_update() {
    let tmp = tempfile::tempdir().unwrap();
    let o = open(tmp.path());
    offer_all(&o.q, &["a", "b"]).await;
    let e = o.q.take().await.unwrap();
    o.q.done(e.token).await;
    flush(&o.q).await;
    let old_cursor = fs::read(tmp.path().join(CURSOR)).unwrap();
    offer_all(&o.q, &["c"]).await;
    let e = o.q.take().await.unwrap();
    o.q.done(e.token).await;
    drop(o);
    // The cursor write for b never reached the disk.
    fs::write(tmp.path().join(CURSOR), old_cursor).unwrap();
    let o = open(tmp.path());
    assert_eq!(drain(&o.q).await, ["b", "c"]);
}

#[tokio::test]
async fn crash_between_cursor_temp_and_rename() {
    let tmp = tempfile::tempdir().unwrap();
    let o = open(tmp.path());
    offer_all(&o.q, &["a", "b", "c"]).await;
    let e = o.q.take().await.unwrap();
    o.q.done(e.token).await;
    drop(o);
    // A newer cursor was written to the temp file, the rename never happened.
    let mut data = 3u64.to_le_bytes().to_vec();
    data.extend_from_slice(&crc32(&data).to_le_bytes());
    fs::write(tmp.path().join(CURSOR_TMP), &data).unwrap();
    let o = open(tmp.path());
    assert!(!tmp.path().join(CURSOR_TMP).exists());
    assert_eq!(drain(&o.q).await, ["b", "c"]);
}

#[tokio::test]
async fn crash_after_segment_delete_before_cursor_update() {
    let tmp = tempfile::tempdir().unwrap();
    // One record per segment.
    let o = open_with(tmp.path(), Sizer::Requests, 100, 1);
    offer_all(&o.q, &["a", "b", "c", "d"]).await;
    assert_eq!(segments(tmp.path()).len(), 4);
    let old_cursor = fs::read(tmp.path().join(CURSOR)).ok();
    for _ in 0..2 {
        let e = o.q.take().await.unwrap();
        o.q.done(e.token).await;
    }
    flush(&o.q).await;
    assert_eq!(segments(tmp.path()).len(), 2, "done segments are deleted");
    drop(o);
    match old_cursor {
        Some(c) => fs::write(tmp.path().join(CURSOR), c).unwrap(),
        None => fs::remove_file(tmp.path().join(CURSOR)).unwrap(),
    }
    let o = open_with(tmp.path(), Sizer::Requests, 100, 1);
    assert_eq!(drain(&o.q).await, ["c", "d"]);
    assert!(segments(tmp.path()).is_empty());
}

#[tokio::test]
async fn partially_written_record_is_cut_off() {
    let tmp = tempfile::tempdir().unwrap();
    let o = open(tmp.path());
    offer_all(&o.q, &["a", "b"]).await;
    drop(o);
    let seg = segments(tmp.path()).pop().unwrap();
    let good_len = fs::metadata(&seg).unwrap().len();
    // Half of a third record: the process died in the middle of the write.
    let bytes = fs::read(&seg).unwrap();
    let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&bytes[..bytes.len() / 4]).unwrap();
    drop(f);
    let o = open(tmp.path());
    assert_eq!(o.corrupted.get(), 1);
    assert_eq!(
        fs::metadata(&seg).unwrap().len(),
        good_len,
        "torn tail cut off"
    );
    offer_all(&o.q, &["c"]).await;
    drop(o);
    let o = open(tmp.path());
    assert_eq!(o.corrupted.get(), 0, "clean after the cut");
    assert_eq!(drain(&o.q).await, ["a", "b", "c"]);
}

#[tokio::test]
async fn flipped_byte_skips_one_record() {
    let tmp = tempfile::tempdir().unwrap();
    let o = open(tmp.path());
    offer_all(&o.q, &["a", "b", "c"]).await;
    drop(o);
    let seg = segments(tmp.path()).pop().unwrap();
    let mut bytes = fs::read(&seg).unwrap();
    let record = bytes.len() / 3;
    // Inside the second record's payload.
    bytes[record + record / 2] ^= 0x5a;
    fs::write(&seg, &bytes).unwrap();
    let o = open(tmp.path());
    assert_eq!(o.corrupted.get(), 1);
    assert_eq!(drain(&o.q).await, ["a", "c"]);
}

#[tokio::test]
async fn bad_length_and_truncation() {
    let tmp = tempfile::tempdir().unwrap();
    let o = open(tmp.path());
    offer_all(&o.q, &["a", "b", "c"]).await;
    drop(o);
    let seg = segments(tmp.path()).pop().unwrap();
    let bytes = fs::read(&seg).unwrap();
    let record = bytes.len() / 3;
    // Truncate in the middle of the third record.
    fs::write(&seg, &bytes[..2 * record + record / 2]).unwrap();
    let o = open(tmp.path());
    assert_eq!(o.corrupted.get(), 1);
    offer_all(&o.q, &["d"]).await;
    drop(o);
    let o = open(tmp.path());
    assert_eq!(drain(&o.q).await, ["a", "b", "d"]);

    // An absurd length in the middle of the last segment: the rest cannot be framed.
    let tmp = tempfile::tempdir().unwrap();
    let o = open(tmp.path());
    offer_all(&o.q, &["a", "b", "c"]).await;
    drop(o);
    let seg = segments(tmp.path()).pop().unwrap();
    let mut bytes = fs::read(&seg).unwrap();
    let record = bytes.len() / 3;
    bytes[record..record + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    fs::write(&seg, &bytes).unwrap();
    let o = open(tmp.path());
    assert_eq!(o.corrupted.get(), 1);
    assert_eq!(drain(&o.q).await, ["a"]);
}

#[tokio::test]
async fn unreadable_cursor_restarts_from_the_oldest_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let o = open(tmp.path());
    offer_all(&o.q, &["a", "b", "c"]).await;
    let e = o.q.take().await.unwrap();
    o.q.done(e.token).await;
    drop(o);
    fs::write(tmp.path().join(CURSOR), b"garbage!").unwrap();
    let o = open(tmp.path());
    assert_eq!(drain(&o.q).await, ["a", "b", "c"]);
}

#[tokio::test]
async fn capacity_counts_in_flight_records_in_each_unit() {
    let tmp = tempfile::tempdir().unwrap();
    let o = open_with(tmp.path(), Sizer::Requests, 2, DEFAULT_SEGMENT_BYTES);
    offer_all(&o.q, &["a", "b"]).await;
    assert_eq!(o.q.offer(batch("c", 1), false).await, Err(QueueError::Full));
    let e = o.q.take().await.unwrap();
    assert_eq!(o.q.offer(batch("c", 1), false).await, Err(QueueError::Full));
    o.q.done(e.token).await;
    o.q.offer(batch("c", 1), false).await.unwrap();
    drop(o);
    // The size is rebuilt from disk on open.
    let o = open_with(tmp.path(), Sizer::Requests, 2, DEFAULT_SEGMENT_BYTES);
    assert_eq!(o.q.size(), 2);
    assert_eq!(o.q.offer(batch("d", 1), false).await, Err(QueueError::Full));

    let tmp = tempfile::tempdir().unwrap();
    let o = open_with(tmp.path(), Sizer::Items, 10, DEFAULT_SEGMENT_BYTES);
    o.q.offer(batch("a", 6), false).await.unwrap();
    assert_eq!(o.q.offer(batch("b", 5), false).await, Err(QueueError::Full));
    o.q.offer(batch("b", 4), false).await.unwrap();
    assert_eq!(
        o.q.offer(batch("c", 11), false).await,
        Err(QueueError::TooLarge {
            size: 11,
            capacity: 10
        })
    );

    let tmp = tempfile::tempdir().unwrap();
    let one = batch("a", 1).payload.encoded_len();
    let o = open_with(tmp.path(), Sizer::Bytes, 2 * one, DEFAULT_SEGMENT_BYTES);
    offer_all(&o.q, &["a", "b"]).await;
    assert_eq!(o.q.size(), 2 * one);
    assert_eq!(o.q.offer(batch("c", 1), false).await, Err(QueueError::Full));
}

#[tokio::test(start_paused = true)]
async fn blocking_offer_waits_until_a_record_is_done() {
    let tmp = tempfile::tempdir().unwrap();
    let o = open_with(tmp.path(), Sizer::Requests, 1, DEFAULT_SEGMENT_BYTES);
    offer_all(&o.q, &["a"]).await;
    let mut blocked = std::pin::pin!(o.q.offer(batch("b", 1), true));
    let e = o.q.take().await.unwrap();
    // Taken but not done still holds the room: the offer stays pending however long
    // it waits (paused time: the hour passes at once) and admits nothing.
    let waited = tokio::time::timeout(Duration::from_secs(3600), &mut blocked).await;
    assert!(waited.is_err(), "offer completed without room: {waited:?}");
    assert_eq!(
        o.q.size(),
        1,
        "the blocked batch was admitted over capacity"
    );
    o.q.done(e.token).await;
    blocked.await.unwrap();
    assert_eq!(drain(&o.q).await, ["b"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_consumers_get_distinct_records() {
    let tmp = tempfile::tempdir().unwrap();
    let o = open_with(tmp.path(), Sizer::Requests, 1000, 512);
    let tags: Vec<String> = (0..60).map(|i| format!("r{i}")).collect();
    for t in &tags {
        o.q.offer(batch(t, 1), false).await.unwrap();
    }
    o.q.close();
    let mut workers = Vec::new();
    for _ in 0..3 {
        let q = o.q.clone();
        workers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(e) = q.take().await {
                got.push(tag(&e.data));
                q.done(e.token).await;
            }
            got
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    all.sort();
    let mut want = tags.clone();
    want.sort();
    assert_eq!(all, want, "every record exactly once");
    assert_eq!(o.q.records(), 0);
    drop(o);
    let o = open(tmp.path());
    assert_eq!(o.q.records(), 0);
    assert!(segments(tmp.path()).len() <= 1, "done segments deleted");
}

#[tokio::test]
async fn metadata_and_signals_survive_the_disk() {
    use stratus_core::pdata::logs;
    let tmp = tempfile::tempdir().unwrap();
    let o = open(tmp.path());
    let md = Metadata::new(
        Some("127.0.0.1:4317".parse().unwrap()),
        [("X-Tenant".to_string(), "acme".to_string())],
    );
    let t = Telemetry::with_metadata(batch("a", 2).payload, md.clone());
    o.q.offer(t.clone(), false).await.unwrap();
    let l = Telemetry::new(Payload::Logs(vec![logs::ResourceLogs {
        scope_logs: vec![logs::ScopeLogs {
            log_records: vec![logs::LogRecord::default(); 3],
            ..Default::default()
        }],
        ..Default::default()
    }]));
    o.q.offer(l.clone(), false).await.unwrap();
    drop(o);
    let o = open(tmp.path());
    let got = o.q.take().await.unwrap().data;
    assert_eq!(got, t);
    assert_eq!(got.metadata.get("x-tenant"), ["acme"]);
    assert_eq!(o.q.take().await.unwrap().data, l);
}

#[tokio::test]
async fn write_failure_is_a_storage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("q");
    let o = open(&dir);
    fs::remove_dir_all(&dir).unwrap();
    match o.q.offer(batch("a", 1), false).await {
        Err(QueueError::Storage(msg)) => assert!(msg.contains("persistent queue"), "{msg}"),
        other => panic!("expected a storage error, got {other:?}"),
    }
    assert_eq!(o.q.size(), 0);
}

#[test]
fn crc32_matches_the_standard() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32(b""), 0);
    assert_eq!(
        crc32(b"The quick brown fox jumps over the lazy dog"),
        0x414F_A339
    );
    // Eight bytes at a time and byte by byte agree at every length and offset.
    let bytewise = |data: &[u8]| {
        let mut crc = !0u32;
        for &b in data {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    0xEDB8_8320 ^ (crc >> 1)
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    };
    let data: Vec<u8> = (0..200u32).map(|i| (i * 7 + 3) as u8).collect();
    for start in 0..9 {
        for end in start..data.len() {
            assert_eq!(crc32(&data[start..end]), bytewise(&data[start..end]));
        }
    }
}

// ---- a simulated disk: injected errors, counted fsyncs, crashes at each step ----

/// Where the I/O thread is told to stop, and whether it waits at [`Step::Gather`].
#[derive(Default)]
struct Gate {
    hold: bool,
    waiting: bool,
    crash_at: Option<Step>,
    crashed: bool,
}

/// The real disk, with errors injected into opens and reads, fsyncs and cursor writes
/// counted, and a power loss at a chosen step: every segment is cut back to what was
/// last fsynced, and the I/O thread stops there.
#[derive(Default)]
struct Sim {
    open_errors: Mutex<VecDeque<i32>>,
    read_errors: Mutex<VecDeque<i32>>,
    syncs: AtomicUsize,
    writes: AtomicUsize,
    cursors: AtomicUsize,
    synced: Mutex<HashMap<PathBuf, u64>>,
    gate: Mutex<Gate>,
    cv: Condvar,
}

const EMFILE: i32 = 24;
const ENFILE: i32 = 23;
const EINTR: i32 = 4;
const EIO: i32 = 5;

impl Sim {
    fn new() -> Arc<Sim> {
        Arc::new(Sim::default())
    }

    fn fail_opens(&self, errnos: &[i32]) {
        self.open_errors.lock().unwrap().extend(errnos);
    }

    fn fail_reads(&self, errnos: &[i32]) {
        self.read_errors.lock().unwrap().extend(errnos);
    }

    fn injected(queue: &Mutex<VecDeque<i32>>) -> std::io::Result<()> {
        match queue.lock().unwrap().pop_front() {
            Some(errno) => Err(std::io::Error::from_raw_os_error(errno)),
            None => Ok(()),
        }
    }

    fn gate(&self) -> std::sync::MutexGuard<'_, Gate> {
        self.gate.lock().unwrap()
    }

    /// Blocks until the I/O thread waits at [`Step::Gather`] (bounded).
    fn wait_at_gather(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut gate = self.gate();
        while !gate.waiting {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            assert!(
                !left.is_zero(),
                "the I/O thread never reached the gather step"
            );
            gate = self.cv.wait_timeout(gate, left).unwrap().0;
        }
    }

    fn release(&self, crash_at: Option<Step>) {
        let mut gate = self.gate();
        gate.hold = false;
        gate.crash_at = crash_at;
        self.cv.notify_all();
    }

    /// Power loss: every segment loses what was not fsynced.
    fn lose_unsynced(&self) {
        for (path, len) in self.synced.lock().unwrap().iter() {
            if let Ok(f) = OpenOptions::new().write(true).open(path) {
                f.set_len(*len).unwrap();
            }
        }
    }
}

impl Fs for Sim {
    fn create(&self, path: &Path) -> std::io::Result<SegFile> {
        self.synced.lock().unwrap().insert(path.to_path_buf(), 0);
        Disk.create(path)
    }

    fn open_read(&self, path: &Path) -> std::io::Result<SegFile> {
        Sim::injected(&self.open_errors)?;
        Disk.open_read(path)
    }

    fn read_at(&self, f: &SegFile, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        Sim::injected(&self.read_errors)?;
        Disk.read_at(f, buf, offset)
    }

    fn write_at(&self, f: &SegFile, data: &[u8], offset: u64) -> std::io::Result<()> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        Disk.write_at(f, data, offset)
    }

    fn sync(&self, f: &SegFile) -> std::io::Result<()> {
        self.syncs.fetch_add(1, Ordering::SeqCst);
        Disk.sync(f)?;
        let len = f.file.metadata()?.len();
        self.synced.lock().unwrap().insert(f.path.clone(), len);
        Ok(())
    }

    fn write_cursor(&self, dir: &Path, data: &[u8], sync: bool) -> std::io::Result<()> {
        self.cursors.fetch_add(1, Ordering::SeqCst);
        Disk.write_cursor(dir, data, sync)
    }

    fn step(&self, step: Step) -> Result<(), Crashed> {
        let mut gate = self.gate();
        if step == Step::Gather {
            gate.waiting = true;
            self.cv.notify_all();
            while gate.hold {
                gate = self.cv.wait(gate).unwrap();
            }
            gate.waiting = false;
        }
        if gate.crash_at == Some(step) {
            gate.crashed = true;
            drop(gate);
            self.lose_unsynced();
            return Err(Crashed);
        }
        Ok(())
    }
}

fn poll_once<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

/// Offers one record per tag so that the I/O thread takes them as one group, and
/// stops ("crashes") it at `crash_at` in that group; returns what each offer returned.
async fn in_one_group(
    q: &PersistentQueue,
    sim: &Sim,
    tags: &[&str],
    crash_at: Option<Step>,
) -> Vec<Result<(), QueueError>> {
    sim.gate().hold = true;
    let mut offers: Vec<_> = tags.iter().map(|t| q.offer(batch(t, 1), false)).collect();
    assert!(poll_once(offers[0].as_mut()).is_pending());
    // The I/O thread holds the first append; the others queue up behind it.
    sim.wait_at_gather();
    for offer in &mut offers[1..] {
        assert!(poll_once(offer.as_mut()).is_pending());
    }
    sim.release(crash_at);
    let mut results = Vec::new();
    for offer in offers {
        results.push(offer.await);
    }
    results
}

#[tokio::test]
async fn concurrent_reserves_share_one_write_and_one_fsync() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Sim::new();
    let o = open_sim(tmp.path(), &sim);
    let tags = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let results = in_one_group(&o.q, &sim, &tags, None).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let (writes, syncs) = (
        sim.writes.load(Ordering::SeqCst),
        sim.syncs.load(Ordering::SeqCst),
    );
    assert!(
        syncs < tags.len(),
        "{syncs} fsyncs for {} records",
        tags.len()
    );
    assert_eq!(
        (writes, syncs),
        (1, 1),
        "one write and one fsync for the group"
    );
    assert_eq!(drain(&o.q).await, tags);
}

#[tokio::test]
async fn every_acknowledged_record_survives_a_crash_at_each_step_of_a_group() {
    for step in [Step::BeforeWrite, Step::AfterWrite, Step::AfterSync] {
        let tmp = tempfile::tempdir().unwrap();
        let sim = Sim::new();
        let o = open_sim(tmp.path(), &sim);
        let acked = in_one_group(&o.q, &sim, &["a", "b"], None).await;
        assert!(acked.iter().all(Result::is_ok), "{step:?}: {acked:?}");
        let cut = in_one_group(&o.q, &sim, &["c", "d", "e"], Some(step)).await;
        assert!(sim.gate().crashed, "{step:?}: no crash");
        for r in &cut {
            assert!(
                matches!(r, Err(QueueError::Storage(_))),
                "{step:?}: a reserve returned before its group was durable: {r:?}"
            );
        }
        // The process is gone: nothing is shut down, the queue is just dropped.
        drop(o);
        let o = open(tmp.path());
        let mut want = vec!["a", "b"];
        if step == Step::AfterSync {
            // Durable, though nobody was told: delivered (at least once).
            want.extend(["c", "d", "e"]);
        }
        assert_eq!(drain(&o.q).await, want, "{step:?}");
    }
}

#[tokio::test]
async fn dones_are_written_to_the_cursor_together() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Sim::new();
    let o = open_sim(tmp.path(), &sim);
    offer_all(&o.q, &["a", "b", "c", "d", "e"]).await;
    let mut taken = Vec::new();
    for _ in 0..5 {
        taken.push(o.q.take().await.unwrap());
    }
    flush(&o.q).await;
    let before = sim.cursors.load(Ordering::SeqCst);
    // While the I/O thread is busy, five records are finished.
    sim.gate().hold = true;
    let mut offer = o.q.offer(batch("f", 1), false);
    assert!(poll_once(offer.as_mut()).is_pending());
    sim.wait_at_gather();
    for e in &taken {
        o.q.done(e.token).await;
    }
    sim.release(None);
    offer.await.unwrap();
    flush(&o.q).await;
    assert_eq!(
        sim.cursors.load(Ordering::SeqCst) - before,
        1,
        "one cursor write for five records done"
    );
    assert_eq!(read_cursor(tmp.path(), "t").unwrap().0, 5);
    drop(o);
    let o = open(tmp.path());
    assert_eq!(drain(&o.q).await, ["f"]);
}

#[tokio::test(start_paused = true)]
async fn transient_open_errors_are_retried_and_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let o = open(tmp.path());
    offer_all(&o.q, &["a", "b"]).await;
    drop(o);
    // After a restart the segment is opened for reading on the first take.
    let sim = Sim::new();
    sim.fail_opens(&[EMFILE, ENFILE, EINTR]);
    let o = open_sim(tmp.path(), &sim);
    let a = o.q.take().await.unwrap();
    assert_eq!(tag(&a.data), "a");
    assert_eq!(o.read_errors.get(), 3);
    assert_eq!(o.corrupted.get(), 0, "a read error is not corruption");
    // The file stays open: the next record needs no open (it would fail).
    sim.fail_opens(&[EMFILE]);
    let b = o.q.take().await.unwrap();
    assert_eq!(tag(&b.data), "b");
    assert_eq!(o.read_errors.get(), 3);
    o.q.done(a.token).await;
    o.q.done(b.token).await;
    assert_eq!(o.q.records(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_record_that_stays_unreadable_goes_to_the_back_and_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Sim::new();
    let o = open_sim(tmp.path(), &sim);
    offer_all(&o.q, &["a", "b"]).await;
    // Every attempt at `a` fails; then `b` reads fine, and `a` does later.
    sim.fail_reads(&[EIO; READ_ATTEMPTS as usize]);
    let first = o.q.take().await.unwrap();
    assert_eq!(tag(&first.data), "b");
    assert_eq!(o.read_errors.get(), u64::from(READ_ATTEMPTS));
    let second = o.q.take().await.unwrap();
    assert_eq!(tag(&second.data), "a");
    assert_eq!(o.corrupted.get(), 0);
    assert_eq!(o.q.size(), 2);
    // Still on disk until done.
    drop((first, second));
    drop(o);
    let o = open(tmp.path());
    assert_eq!(drain(&o.q).await, ["a", "b"]);
}

#[tokio::test]
async fn a_record_damaged_after_it_was_written_is_skipped_when_read() {
    let tmp = tempfile::tempdir().unwrap();
    let o = open(tmp.path());
    offer_all(&o.q, &["a", "b"]).await;
    let seg = segments(tmp.path()).pop().unwrap();
    let mut bytes = fs::read(&seg).unwrap();
    let record = bytes.len() / 2;
    bytes[record / 2] ^= 0x5a;
    fs::write(&seg, &bytes).unwrap();
    assert_eq!(tag(&o.q.take().await.unwrap().data), "b");
    assert_eq!((o.corrupted.get(), o.read_errors.get()), (1, 0));
    assert_eq!(o.q.size(), 1, "the damaged record is done");
}

#[tokio::test(start_paused = true)]
async fn a_take_cancelled_while_reading_puts_the_record_back_in_front() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Sim::new();
    let o = open_sim(tmp.path(), &sim);
    offer_all(&o.q, &["a", "b"]).await;
    // The read fails and the take waits to try again; it is dropped meanwhile (as the
    // batching loop drops it when its flush timer fires).
    sim.fail_reads(&[EIO]);
    let cut = tokio::time::timeout(Duration::from_millis(1), o.q.take()).await;
    assert!(cut.is_err(), "the take finished: {cut:?}");
    assert_eq!(o.read_errors.get(), 1);
    assert_eq!(drain(&o.q).await, ["a", "b"]);
}

#[tokio::test]
async fn requeue_puts_a_taken_record_at_the_back_and_it_survives_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let o = open_with(tmp.path(), Sizer::Requests, 2, DEFAULT_SEGMENT_BYTES);
    offer_all(&o.q, &["a", "b"]).await;
    let a = o.q.take().await.unwrap();
    assert_eq!(tag(&a.data), "a");
    assert!(o.q.requeue(a.token).await);
    assert_eq!(o.q.size(), 2, "a requeued record keeps its room");
    assert_eq!(
        o.q.offer(batch("c", 1), false).await,
        Err(QueueError::Full),
        "a full queue still refuses"
    );
    assert_eq!(tag(&o.q.take().await.unwrap().data), "b");
    let again = o.q.take().await.unwrap();
    assert_eq!((tag(&again.data), again.token), ("a".to_string(), a.token));
    // Requeued again (retries ran out once more), then the process stops.
    assert!(o.q.requeue(again.token).await);
    drop(o);
    let o = open(tmp.path());
    assert_eq!(drain(&o.q).await, ["a", "b"]);
    assert!(!o.q.requeue(a.token).await, "a done record is not requeued");
}

#[tokio::test]
async fn stored_records_come_back_as_the_otlp_request() {
    let tmp = tempfile::tempdir().unwrap();
    let o = open(tmp.path());
    let md = Metadata::new(None, [("x-tenant".to_string(), "acme".to_string())]);
    let t = Telemetry::with_metadata(batch("a", 3).payload, md);
    o.q.offer(t.clone(), false).await.unwrap();
    offer_all(&o.q, &["b"]).await;
    let e = o.q.take_stored().await.unwrap();
    assert_eq!(e.stored.signal(), Signal::Traces);
    assert_eq!(e.stored.items(), 3);
    assert_eq!(e.stored.metadata(), &t.metadata);
    assert_eq!(
        e.stored.otlp().as_ref(),
        t.payload.encode_request().as_ref()
    );
    assert_eq!(e.stored.decode().unwrap(), t);
    o.q.done(e.token).await;
    assert_eq!(drain(&o.q).await, ["b"]);
}

#[tokio::test]
async fn a_cancelled_reserve_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Sim::new();
    let o = open_sim(tmp.path(), &sim);
    sim.gate().hold = true;
    let mut offer = o.q.offer(batch("a", 1), false);
    assert!(poll_once(offer.as_mut()).is_pending());
    sim.wait_at_gather();
    assert_eq!(
        o.q.size(),
        1,
        "the room is held while the append is written"
    );
    drop(offer);
    sim.release(None);
    offer_all(&o.q, &["b"]).await;
    flush(&o.q).await;
    assert_eq!(o.q.size(), 1);
    drop(o);
    let o = open(tmp.path());
    assert_eq!(drain(&o.q).await, ["b"]);
}

/// While the disk is busy with an append (held at the gather step here, like a long
/// fsync), the runtime's single thread goes on serving other work of the queue: the
/// I/O is not done on it.
#[tokio::test(flavor = "current_thread")]
async fn a_slow_disk_does_not_hold_up_the_runtime() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Sim::new();
    let o = open_sim(tmp.path(), &sim);
    offer_all(&o.q, &["a"]).await;
    sim.gate().hold = true;
    let mut stuck = o.q.offer(batch("b", 1), false);
    assert!(poll_once(stuck.as_mut()).is_pending());
    sim.wait_at_gather();
    let a = o.q.take().await.unwrap();
    assert_eq!(tag(&a.data), "a");
    o.q.done(a.token).await;
    assert_eq!(o.q.size(), 1, "only b's room is held");
    assert!(
        poll_once(stuck.as_mut()).is_pending(),
        "b is not written yet"
    );
    sim.release(None);
    stuck.await.unwrap();
    assert_eq!(drain(&o.q).await, ["b"]);
}
