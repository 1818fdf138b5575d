use std::sync::Arc;
use std::time::Duration;

use stratus_core::pdata::trace;
use stratus_core::telemetry::Registry;

use super::*;

const NAME: &str = "stratus_exporter_queue_corrupted_records";

struct Opened {
    q: Arc<PersistentQueue>,
    corrupted: Counter,
}

fn open_with(dir: &Path, sizer: Sizer, capacity: usize, segment_bytes: u64) -> Opened {
    let corrupted = Registry::new().counter(NAME, "help", &[("exporter", "otlp")]);
    let opts = PersistentOptions {
        sizer,
        capacity,
        fsync: true,
        segment_bytes,
        owner: "otlp".into(),
    };
    let q = PersistentQueue::open(dir, opts, corrupted.clone()).unwrap();
    Opened {
        q: Arc::new(q),
        corrupted,
    }
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
    match &t.payload {
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
    let cursor = read_cursor(tmp.path(), "t").unwrap();
    assert_eq!(cursor.0, 0, "a is not done yet: the floor stays");
    assert_eq!(cursor.1.into_iter().collect::<Vec<_>>(), [1, 2]);
    // A crash now re-delivers a, d and e: b and c were done.
    drop(o);
    let o = open(tmp.path());
    let a2 = o.q.take().await.unwrap();
    assert_eq!(tag(&a2.data), "a");
    o.q.done(a2.token).await;
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
}
