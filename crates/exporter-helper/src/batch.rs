//! Batching between the sending queue and the senders (`sending_queue::batch`).
//!
//! The [`Batcher`] is plain, synchronous state: queued entries go in, batches ready
//! to send come out. Entries are merged per partition (signal plus the values of
//! `partition::metadata_keys`) until the batch holds `min_size` (in the batch sizer's
//! unit) or `flush_timeout` passed since its first item; with `max_size`, larger
//! batches are split at item boundaries.
//!
//! Every entry is followed by a [`Track`]: one reference for the partition holding
//! some of its items and one for every batch holding some of them. The entry is
//! done (a persistent queue deletes it) and its waiting caller answered only when
//! the last reference is finished, so a request leaves the queue only once every
//! batch carrying its items was delivered or failed for good.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use prost::Message;
use stratus_core::pdata::metrics::{Metric, metric::Data};
use stratus_core::{ConsumeError, Contents, Metadata, Payload, Signal, Telemetry};
use tokio::time::Instant;

use crate::config::{QueueConfig, Sizer};
use crate::queue::{Entry, Queue, Waiter};

/// The batching settings in effect, resolved from a [`QueueConfig`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    /// `items` or `bytes`.
    pub sizer: Sizer,
    pub min_size: usize,
    /// `0`: no maximum.
    pub max_size: usize,
    pub flush_timeout: Duration,
    /// Lower-cased partition keys.
    pub keys: Vec<String>,
}

impl Settings {
    /// The batching of a queue config, `None` when batching is off.
    pub fn from_queue(queue: &QueueConfig) -> Option<Settings> {
        let batch = queue.active_batch()?;
        // `requests` cannot size a batch (validation says so); counted as items if a
        // config was built in code without validation.
        let sizer = match queue.batch_sizer() {
            Sizer::Requests => Sizer::Items,
            s => s,
        };
        Some(Settings {
            sizer,
            min_size: batch.min_size,
            max_size: batch.max_size,
            flush_timeout: batch.flush_timeout,
            keys: batch
                .partition
                .metadata_keys
                .iter()
                .map(|k| k.to_ascii_lowercase())
                .collect(),
        })
    }
}

/// Follows one queued entry through the batches that carry its items.
pub(crate) struct Track {
    token: u64,
    refs: AtomicUsize,
    /// A batch carrying some of the entry's items ran out of retries.
    exhausted: std::sync::atomic::AtomicBool,
    error: Mutex<Option<ConsumeError>>,
    waiter: Mutex<Option<Waiter>>,
}

impl Track {
    fn new(token: u64, waiter: Option<Waiter>) -> Arc<Track> {
        Arc::new(Track {
            token,
            refs: AtomicUsize::new(1),
            exhausted: std::sync::atomic::AtomicBool::new(false),
            error: Mutex::new(None),
            waiter: Mutex::new(waiter),
        })
    }

    /// One more batch carries some of the entry's items.
    fn share(self: &Arc<Self>) -> Arc<Track> {
        self.refs.fetch_add(1, Ordering::AcqRel);
        self.clone()
    }

    /// One batch carrying some of the entry's items is finished with `result`
    /// (`exhausted`: its retries ran out on a retryable error). The last one marks the
    /// entry done and answers its waiting caller (with the first error any of its
    /// batches had), or, when a batch ran out of retries and the queue keeps such
    /// data, puts the entry back into the queue.
    pub async fn finish(
        &self,
        result: &Result<(), ConsumeError>,
        exhausted: bool,
        queue: &dyn Queue,
    ) {
        if exhausted {
            self.exhausted.store(true, Ordering::Relaxed);
        }
        if let Err(e) = result {
            let mut error = lock(&self.error);
            if error.is_none() {
                *error = Some(e.clone());
            }
        }
        if self.refs.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        if self.exhausted.load(Ordering::Relaxed) && queue.requeue(self.token).await {
            return;
        }
        queue.done(self.token).await;
        let waiter = lock(&self.waiter).take();
        if let Some(w) = waiter {
            let error = lock(&self.error).take();
            w.finish(error.map_or(Ok(()), Err));
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// A batch ready to send, with the entries whose items it carries.
pub(crate) struct Batch {
    pub data: Telemetry,
    pub tracks: Vec<Arc<Track>>,
}

/// Signal and the values of the partition keys (absent: no values; empty: `[""]`).
type Key = (Signal, Vec<Vec<String>>);

/// One partition's batch being filled.
struct Part {
    payload: Contents,
    metadata: Metadata,
    items: usize,
    /// In the batch sizer's unit.
    size: usize,
    /// The entries with items here, oldest first, each with the item offset (from the
    /// start of `payload`) where its items end.
    entries: VecDeque<(Arc<Track>, usize)>,
    deadline: Instant,
}

/// Merges queued entries into batches; see the module docs.
pub(crate) struct Batcher {
    settings: Settings,
    parts: BTreeMap<Key, Part>,
}

impl Batcher {
    /// An empty batcher.
    pub fn new(settings: Settings) -> Self {
        Batcher {
            settings,
            parts: BTreeMap::new(),
        }
    }

    /// The earliest time a partition's batch is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.parts.values().map(|p| p.deadline).min()
    }

    fn key(&self, data: &Telemetry) -> Key {
        let values = self
            .settings
            .keys
            .iter()
            .map(|k| data.metadata.get(k).to_vec())
            .collect();
        (data.signal(), values)
    }

    /// Only the partition keys of a batch's metadata: what requests with different
    /// metadata merged into one batch still share.
    fn partition_metadata(&self, key: &Key) -> Metadata {
        let pairs = self
            .settings
            .keys
            .iter()
            .zip(&key.1)
            .flat_map(|(k, values)| values.iter().map(|v| (k.clone(), v.clone())));
        Metadata::new(None, pairs)
    }

    fn measure(&self, payload: &Contents) -> usize {
        match self.settings.sizer {
            Sizer::Bytes => payload.encoded_len(),
            _ => payload.item_count(),
        }
    }

    /// Adds a queued entry; returns the batches that are ready now.
    pub fn add(&mut self, entry: Entry, now: Instant) -> Vec<Batch> {
        let key = self.key(&entry.data);
        let track = Track::new(entry.token, entry.waiter);
        let Telemetry { payload, metadata } = entry.data;
        let items = payload.item_count();
        let size = self.measure(&payload);
        let deadline = now + self.settings.flush_timeout;
        let shared = match self.parts.get(&key) {
            Some(part) if part.metadata == metadata => None,
            Some(_) => Some(self.partition_metadata(&key)),
            None => None,
        };
        let part = self.parts.entry(key.clone()).or_insert_with(|| Part {
            payload: Contents::empty(payload.signal()),
            metadata: metadata.clone(),
            items: 0,
            size: 0,
            entries: VecDeque::new(),
            deadline,
        });
        if let Some(shared) = shared {
            part.metadata = shared;
        }
        if let Err(payload) = part.payload.append(payload) {
            // Cannot happen (the key holds the signal); sent alone rather than lost.
            return vec![Batch {
                data: Telemetry::with_metadata(payload, metadata),
                tracks: vec![track],
            }];
        }
        part.items += items;
        part.size += size;
        part.entries.push_back((track, part.items));

        let mut ready = Vec::new();
        let (min, max, sizer) = (
            self.settings.min_size,
            self.settings.max_size,
            self.settings.sizer,
        );
        let mut split = false;
        while max > 0 && part.size > max && part.items > 0 {
            let n = match sizer {
                Sizer::Bytes => items_within_bytes(&part.payload, max).max(1),
                _ => max,
            };
            ready.push(part.split(n, sizer));
            split = true;
        }
        if part.entries.is_empty() || part.size >= min {
            if let Some(part) = self.parts.remove(&key)
                && !part.entries.is_empty()
            {
                ready.push(part.into_batch());
            }
        } else if split {
            // What is left came with the entry just added.
            part.deadline = deadline;
        }
        ready
    }

    /// Takes the batches whose `flush_timeout` has passed.
    pub fn expired(&mut self, now: Instant) -> Vec<Batch> {
        let due: Vec<Key> = self
            .parts
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(k, _)| k.clone())
            .collect();
        due.into_iter()
            .filter_map(|k| self.parts.remove(&k))
            .map(Part::into_batch)
            .collect()
    }

    /// Takes every batch being filled (shutdown).
    pub fn drain(&mut self) -> Vec<Batch> {
        std::mem::take(&mut self.parts)
            .into_values()
            .map(Part::into_batch)
            .collect()
    }
}

impl Part {
    /// Splits off the first `n` items (all, if there are no more) as a batch.
    fn split(&mut self, n: usize, sizer: Sizer) -> Batch {
        if n >= self.items {
            let signal = self.payload.signal();
            let payload = std::mem::replace(&mut self.payload, Contents::empty(signal));
            let tracks = self.entries.drain(..).map(|(t, _)| t).collect();
            self.items = 0;
            self.size = 0;
            return Batch {
                data: Telemetry::with_metadata(payload, self.metadata.clone()),
                tracks,
            };
        }
        let front = self.payload.split_front(n);
        let mut tracks = Vec::new();
        let mut start = 0;
        while let Some((_, end)) = self.entries.front() {
            if *end > n {
                break;
            }
            start = *end;
            if let Some((t, _)) = self.entries.pop_front() {
                tracks.push(t);
            }
        }
        if start < n
            && let Some((t, _)) = self.entries.front()
        {
            // This entry's items are on both sides of the split.
            tracks.push(t.share());
        }
        for (_, end) in self.entries.iter_mut() {
            *end -= n;
        }
        self.items -= n;
        self.size = match sizer {
            Sizer::Bytes => self.payload.encoded_len(),
            _ => self.items,
        };
        Batch {
            data: Telemetry::with_metadata(front, self.metadata.clone()),
            tracks,
        }
    }

    fn into_batch(self) -> Batch {
        Batch {
            data: Telemetry::with_metadata(self.payload, self.metadata),
            tracks: self.entries.into_iter().map(|(t, _)| t).collect(),
        }
    }
}

// ---- splitting by encoded size ----

/// Bytes a length-delimited field of `len` bytes takes (one-byte tag: every field
/// involved has a number below 16).
fn ld(len: usize) -> usize {
    1 + prost::encoding::encoded_len_varint(len as u64) + len
}

/// The most leading items of `payload` whose [`Payload::split_front`] encodes to at
/// most `max` bytes (possibly 0).
pub(crate) fn items_within_bytes(payload: &Payload, max: usize) -> usize {
    let (mut lo, mut hi) = (0, payload.item_count());
    // Largest n with front_len(n) <= max; front_len grows with n.
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if front_len(payload, mid) <= max {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// What `payload.split_front(n).encoded_len()` would be, without splitting. Mirrors
/// the split's rule at every level: whole leading elements while they fit, then part
/// of the first that does not.
pub(crate) fn front_len(payload: &Payload, n: usize) -> usize {
    match payload {
        Payload::Traces(rs) => front(
            rs,
            n,
            |r| r.scope_spans.iter().map(|s| s.spans.len()).sum(),
            |r| ld(r.encoded_len()),
            |r, b| {
                let inner: usize = r.scope_spans.iter().map(|s| ld(s.encoded_len())).sum();
                ld(r.encoded_len() - inner
                    + front(
                        &r.scope_spans,
                        b,
                        |s| s.spans.len(),
                        |s| ld(s.encoded_len()),
                        |s, b| {
                            let all: usize = s.spans.iter().map(|x| ld(x.encoded_len())).sum();
                            let taken: usize =
                                s.spans[..b].iter().map(|x| ld(x.encoded_len())).sum();
                            ld(s.encoded_len() - all + taken)
                        },
                    ))
            },
        ),
        Payload::Logs(rs) => front(
            rs,
            n,
            |r| r.scope_logs.iter().map(|s| s.log_records.len()).sum(),
            |r| ld(r.encoded_len()),
            |r, b| {
                let inner: usize = r.scope_logs.iter().map(|s| ld(s.encoded_len())).sum();
                ld(r.encoded_len() - inner
                    + front(
                        &r.scope_logs,
                        b,
                        |s| s.log_records.len(),
                        |s| ld(s.encoded_len()),
                        |s, b| {
                            let all: usize =
                                s.log_records.iter().map(|x| ld(x.encoded_len())).sum();
                            let taken: usize =
                                s.log_records[..b].iter().map(|x| ld(x.encoded_len())).sum();
                            ld(s.encoded_len() - all + taken)
                        },
                    ))
            },
        ),
        Payload::Metrics(rs) => front(
            rs,
            n,
            |r| {
                r.scope_metrics
                    .iter()
                    .flat_map(|s| s.metrics.iter().map(stratus_core::pdata::points_in))
                    .sum()
            },
            |r| ld(r.encoded_len()),
            |r, b| {
                let inner: usize = r.scope_metrics.iter().map(|s| ld(s.encoded_len())).sum();
                ld(r.encoded_len() - inner
                    + front(
                        &r.scope_metrics,
                        b,
                        |s| s.metrics.iter().map(stratus_core::pdata::points_in).sum(),
                        |s| ld(s.encoded_len()),
                        |s, b| {
                            let all: usize = s.metrics.iter().map(|m| ld(m.encoded_len())).sum();
                            ld(s.encoded_len() - all
                                + front(
                                    &s.metrics,
                                    b,
                                    stratus_core::pdata::points_in,
                                    |m| ld(m.encoded_len()),
                                    |m, b| ld(metric_front_len(m, b)),
                                ))
                        },
                    ))
            },
        ),
    }
}

/// The encoded size of a metric cut to its first `b` data points.
fn metric_front_len(m: &Metric, b: usize) -> usize {
    fn points<P: Message>(inner: usize, points: &[P], b: usize) -> (usize, usize) {
        let all: usize = points.iter().map(|p| ld(p.encoded_len())).sum();
        let taken: usize = points[..b.min(points.len())]
            .iter()
            .map(|p| ld(p.encoded_len()))
            .sum();
        (ld(inner), ld(inner - all + taken))
    }
    let (whole, cut) = match &m.data {
        Some(Data::Gauge(g)) => points(g.encoded_len(), &g.data_points, b),
        Some(Data::Sum(s)) => points(s.encoded_len(), &s.data_points, b),
        Some(Data::Histogram(h)) => points(h.encoded_len(), &h.data_points, b),
        Some(Data::ExponentialHistogram(h)) => points(h.encoded_len(), &h.data_points, b),
        Some(Data::Summary(s)) => points(s.encoded_len(), &s.data_points, b),
        None => (0, 0),
    };
    m.encoded_len() - whole + cut
}

/// The size of what `take_front` (core's split) takes from `items` with `budget`
/// items: whole leading elements (`whole` bytes each) while they fit, then `part` of
/// the first that does not.
fn front<T>(
    items: &[T],
    mut budget: usize,
    count: impl Fn(&T) -> usize,
    whole: impl Fn(&T) -> usize,
    part: impl Fn(&T, usize) -> usize,
) -> usize {
    let mut total = 0;
    let mut taken = 0;
    for item in items {
        let c = count(item);
        if c > budget {
            break;
        }
        budget -= c;
        total += whole(item);
        taken += 1;
    }
    if budget > 0
        && let Some(first) = items.get(taken)
    {
        total += part(first, budget);
    }
    total
}
