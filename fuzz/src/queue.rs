//! The persistent queue's reader on damaged files.

use std::path::Path;

use stratus_core::telemetry::Counter;
use stratus_exporter_helper::config::Sizer;
use stratus_exporter_helper::persistent::crc32;
use stratus_exporter_helper::{PersistentOptions, PersistentQueue, Queue};

use crate::input::Input;

/// The name of the segment whose first record is number `seq`.
pub fn segment_name(seq: u64) -> String {
    format!("seg-{seq:020}.log")
}

/// One record as the queue frames it: `[len u32 LE][crc32 u32 LE][payload]`.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// A cursor file: every record below `floor` is done, and so are those in `done`.
pub fn cursor(floor: u64, done: &[u64]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&floor.to_le_bytes());
    out.extend_from_slice(&(done.len() as u32).to_le_bytes());
    for seq in done {
        out.extend_from_slice(&seq.to_le_bytes());
    }
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Framed records from the input: a u16 length, then that many payload bytes; a
/// length byte pattern of `0xffff` leaves the rest unframed (a torn tail).
fn framed_records(input: &mut Input<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let len = u16::from_le_bytes([input.u8(), input.u8()]);
        if len == u16::MAX {
            out.extend_from_slice(input.rest());
            break;
        }
        out.extend_from_slice(&frame(input.bytes(usize::from(len))));
    }
    out
}

/// Lays out a queue directory from fuzz bytes. Byte 0 chooses the layout:
/// - `0`: the rest is one raw segment file;
/// - `1`: the rest is records (see `framed_records`), framed with valid checksums,
///   so that their headers and bodies are what the fuzzer varies;
/// - `2`: as `1`, after a valid cursor built from the next bytes;
/// - `3`: a raw cursor (length from the next byte), then as `1`;
/// - `4`: two segments of framed records, the second numbered from a byte.
pub fn lay_out(dir: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut input = Input::new(data);
    let mode = input.u8() % 5;
    match mode {
        0 => std::fs::write(dir.join(segment_name(0)), input.rest())?,
        1 => std::fs::write(dir.join(segment_name(0)), framed_records(&mut input))?,
        2 => {
            let floor = u64::from(input.u8() % 8);
            let done: Vec<u64> = (0..input.below(3))
                .map(|_| u64::from(input.u8() % 8))
                .collect();
            std::fs::write(dir.join("cursor"), cursor(floor, &done))?;
            std::fs::write(dir.join(segment_name(0)), framed_records(&mut input))?;
        }
        3 => {
            let n = input.below(40);
            std::fs::write(dir.join("cursor"), input.bytes(n))?;
            std::fs::write(dir.join(segment_name(0)), framed_records(&mut input))?;
        }
        _ => {
            let second = u64::from(input.u8() % 8);
            let n = input.below(400);
            let mut first = Input::new(input.bytes(n));
            std::fs::write(dir.join(segment_name(0)), framed_records(&mut first))?;
            std::fs::write(dir.join(segment_name(second)), framed_records(&mut input))?;
        }
    }
    Ok(())
}

fn options() -> PersistentOptions {
    PersistentOptions {
        sizer: Sizer::Requests,
        capacity: 1000,
        fsync: false,
        segment_bytes: 1 << 20,
        owner: "fuzz".into(),
    }
}

/// Records taken from one open: how many came out, and how many were skipped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    /// Records handed out (decoded).
    pub taken: usize,
    /// Records counted as damaged.
    pub corrupted: u64,
}

/// Opens the queue in `dir` (which must open, whatever the files hold), closes it
/// and takes everything it hands out, marking each done. `stored` takes records
/// undecoded and decodes them afterwards, as the OTLP exporter does.
pub fn drain(dir: &Path, stored: bool) -> Drained {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("no runtime: {e}"),
    };
    let corrupted = Counter::default();
    let queue = match PersistentQueue::open(dir, options(), corrupted.clone()) {
        Ok(q) => q,
        Err(e) => panic!("the queue did not open over damaged files: {e}"),
    };
    let mut drained = Drained::default();
    rt.block_on(async {
        queue.close();
        // Bounded: a queue that hands out more than was written is a bug too.
        for _ in 0..100_000 {
            let token = if stored {
                let Some(entry) = queue.take_stored().await else {
                    break;
                };
                let _ = entry.stored.decode();
                entry.token
            } else {
                let Some(entry) = queue.take().await else {
                    break;
                };
                entry.token
            };
            drained.taken += 1;
            queue.done(token).await;
        }
    });
    drop(queue);
    drained.corrupted = corrupted.get();
    drained
}

/// `persistent_queue`: the bytes laid out as a queue directory ([`lay_out`]), which
/// must open and hand out only what it holds; once everything was taken and done, a
/// reopened queue must hand out nothing.
pub fn persistent_queue(data: &[u8]) {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("no temp dir: {e}"),
    };
    if let Err(e) = lay_out(dir.path(), data) {
        panic!("cannot write the queue files: {e}");
    }
    let stored = data.get(1).is_some_and(|b| b & 0x80 != 0);
    let first = drain(dir.path(), stored);
    // Each record takes at least its 8-byte frame.
    assert!(
        first.taken <= data.len() / 8 + 1,
        "{} records out of {} bytes",
        first.taken,
        data.len()
    );
    let again = drain(dir.path(), stored);
    assert_eq!(again.taken, 0, "records done before the restart came back");
}
