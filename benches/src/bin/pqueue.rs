//! The persistent sending queue under concurrent load: `--producers` tasks each offer
//! `--records` batches of `--spans` spans (8 string attributes each) into one queue
//! kept on disk (fsync on unless `--no-fsync`), while `--consumers` tasks take and
//! mark done what arrives, on a tokio runtime of `--workers` threads.
//!
//! ```text
//! pqueue --producers 16 --consumers 2 --records 200 --spans 100
//! ```
//!
//! Prints one JSON line: records and spans per second, the process's CPU per record
//! and per span (user + system, from `/proc/self/stat`), and how late a 1 ms ticker
//! on the same runtime woke at worst and at the 99th percentile: a disk flush that
//! blocks a worker thread shows up there.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use stratus_core::pdata::common::{AnyValue, KeyValue, any_value};
use stratus_core::pdata::trace::{ResourceSpans, ScopeSpans, Span};
use stratus_core::telemetry::Counter;
use stratus_core::{Payload, Telemetry};
use stratus_exporter_helper::queue::Queue;
use stratus_exporter_helper::{PersistentOptions, PersistentQueue, Sizer};

#[derive(Parser, Debug)]
struct Args {
    /// Tasks offering batches at once.
    #[arg(long, default_value_t = 16)]
    producers: usize,
    /// Tasks taking batches (and marking them done) at once.
    #[arg(long, default_value_t = 2)]
    consumers: usize,
    /// Batches each producer offers.
    #[arg(long, default_value_t = 200)]
    records: usize,
    /// Spans per batch.
    #[arg(long, default_value_t = 100)]
    spans: usize,
    /// Do not fsync appends.
    #[arg(long)]
    no_fsync: bool,
    /// Runtime worker threads.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Directory for the queue (a fresh temporary one under it is used).
    #[arg(long, default_value = "/tmp")]
    dir: std::path::PathBuf,
}

fn kv(key: &str, value: String) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value)),
        }),
        ..Default::default()
    }
}

fn batch(first: usize, n: usize) -> Telemetry {
    let spans = (first..first + n)
        .map(|i| Span {
            trace_id: [(i as u64).to_be_bytes(), 1u64.to_be_bytes()].concat(),
            span_id: (i as u64).to_be_bytes().to_vec(),
            name: "GET /api/orders".into(),
            kind: 2,
            start_time_unix_nano: 1_700_000_000_000_000_000 + i as u64,
            end_time_unix_nano: 1_700_000_000_001_000_000 + i as u64,
            attributes: (0..8)
                .map(|a| kv(&format!("attr.{a}"), format!("value-{a}-{}", i % 97)))
                .collect(),
            ..Default::default()
        })
        .collect();
    Telemetry::new(Payload::Traces(vec![ResourceSpans {
        scope_spans: vec![ScopeSpans {
            spans,
            ..Default::default()
        }],
        ..Default::default()
    }]))
}

/// User + system CPU seconds of this process so far (`/proc/self/stat`, in clock
/// ticks of 1/100 s, the Linux `USER_HZ`).
fn cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The command name (field 2) may hold spaces; the fields after it start at ") ".
    let rest = stat.rsplit_once(") ").context("bad /proc/self/stat")?.1;
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after `) `.
    let utime: f64 = fields.get(11).context("no utime")?.parse()?;
    let stime: f64 = fields.get(12).context("no stime")?.parse()?;
    Ok((utime + stime) / 100.0)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .enable_all()
        .build()?;
    rt.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir_in(&args.dir)?;
    let opts = PersistentOptions {
        sizer: Sizer::Requests,
        capacity: args.producers * args.records + 1,
        fsync: !args.no_fsync,
        segment_bytes: stratus_exporter_helper::persistent::DEFAULT_SEGMENT_BYTES,
        owner: "bench".into(),
    };
    let q = Arc::new(PersistentQueue::open(tmp.path(), opts, Counter::default())?);
    // Batches are built before the clock starts: only queueing is measured.
    let batches: Vec<Vec<Telemetry>> = (0..args.producers)
        .map(|p| {
            (0..args.records)
                .map(|r| batch((p * args.records + r) * args.spans, args.spans))
                .collect()
        })
        .collect();
    let total = args.producers * args.records;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ticker = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut late = Vec::new();
            let mut interval = tokio::time::interval(Duration::from_millis(1));
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last = Instant::now();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                interval.tick().await;
                let now = Instant::now();
                late.push(
                    now.duration_since(last)
                        .saturating_sub(Duration::from_millis(1)),
                );
                last = now;
            }
            late
        })
    };

    let cpu0 = cpu_seconds()?;
    let start = Instant::now();
    let mut consumers = Vec::new();
    for _ in 0..args.consumers {
        let q = q.clone();
        consumers.push(tokio::spawn(async move {
            let mut n = 0usize;
            while let Some(e) = q.take().await {
                n += 1;
                q.done(e.token).await;
            }
            n
        }));
    }
    let mut producers = Vec::new();
    for mine in batches {
        let q = q.clone();
        producers.push(tokio::spawn(async move {
            for b in mine {
                q.offer(b, true).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            anyhow::Ok(())
        }));
    }
    for p in producers {
        p.await??;
    }
    let offered = start.elapsed();
    q.close();
    let mut taken = 0;
    for c in consumers {
        taken += c.await?;
    }
    let elapsed = start.elapsed();
    let cpu = cpu_seconds()? - cpu0;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut late = ticker.await?;
    late.sort();
    let p99 = late
        .get(late.len().saturating_sub(1) * 99 / 100)
        .copied()
        .unwrap_or_default();
    let max = late.last().copied().unwrap_or_default();
    anyhow::ensure!(taken == total, "took {taken} of {total} records");
    let spans = (total * args.spans) as f64;
    println!(
        "{{\"records\":{total},\"spans_per_record\":{},\"fsync\":{},\"producers\":{},\
         \"consumers\":{},\"offer_seconds\":{:.3},\"seconds\":{:.3},\"records_per_second\":{:.0},\
         \"spans_per_second\":{:.0},\"cpu_seconds\":{cpu:.2},\"cpu_us_per_record\":{:.1},\
         \"cpu_us_per_span\":{:.3},\"ticker_late_p99_ms\":{:.2},\"ticker_late_max_ms\":{:.2}}}",
        args.spans,
        !args.no_fsync,
        args.producers,
        args.consumers,
        offered.as_secs_f64(),
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        spans / elapsed.as_secs_f64(),
        1e6 * cpu / total as f64,
        1e6 * cpu / spans,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
    );
    Ok(())
}
