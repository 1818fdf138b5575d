//! The previous value of every cumulative series, to turn cumulative sums (and
//! Prometheus summaries) into deltas (upstream `internal/aws/metrics`
//! `MetricCalculator` + `MapWithExpiry`, used by `datapoint.go`).
//!
//! Unlike upstream's map, this one is bounded: at [`DeltaLimits::max_series`] it
//! first drops expired series, then the least recently seen tenth. Expiry compares
//! the `now` of the call that last updated a series (upstream compares the data
//! point's own timestamp, which a client with a wrong clock or a zero timestamp
//! would expire at once) with the `now` passed in; nothing here reads a clock.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::labels::LabelSet;

/// How long a series may go unseen before its state is dropped (upstream
/// `cleanInterval`, 5 minutes).
pub const DEFAULT_SERIES_TTL: Duration = Duration::from_secs(5 * 60);
/// Default bound on tracked series: about 30 MiB of state at a few hundred bytes
/// each.
pub const DEFAULT_MAX_SERIES: usize = 100_000;

/// Bounds of the delta state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeltaLimits {
    /// At most this many series are tracked. Default [`DEFAULT_MAX_SERIES`].
    pub max_series: usize,
    /// A series unseen this long is forgotten: its next point is a new baseline.
    /// Default [`DEFAULT_SERIES_TTL`].
    pub ttl: Duration,
}

impl Default for DeltaLimits {
    fn default() -> Self {
        DeltaLimits {
            max_series: DEFAULT_MAX_SERIES,
            ttl: DEFAULT_SERIES_TTL,
        }
    }
}

/// Which calculator a series belongs to: upstream keeps sums and summaries in two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Calc {
    Number,
    Summary,
}

/// Where a series lives: its resource's namespace, log group and stream, as
/// upstream's `deltaMetricMetadata` (before any label placeholder is filled).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SeriesScope {
    pub(crate) namespace: String,
    pub(crate) log_group: String,
    pub(crate) log_stream: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SeriesKey {
    pub(crate) calc: Calc,
    pub(crate) metric: Arc<str>,
    pub(crate) scope: Arc<SeriesScope>,
    pub(crate) labels: LabelSet,
}

#[derive(Debug, Clone, Copy)]
enum Prev {
    Number(f64),
    Summary { sum: f64, count: u64 },
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    prev: Prev,
    seen_ms: i64,
}

/// The delta state.
#[derive(Debug)]
pub(crate) struct DeltaState {
    /// Keyed with foldhash, seeded per process, as the label sets are.
    series: HashMap<SeriesKey, Entry, foldhash::fast::RandomState>,
    limits: DeltaLimits,
    last_sweep_ms: i64,
    evicted: u64,
}

impl DeltaState {
    pub(crate) fn new(limits: DeltaLimits) -> Self {
        DeltaState {
            series: HashMap::default(),
            limits: DeltaLimits {
                max_series: limits.max_series.max(1),
                ttl: limits.ttl,
            },
            last_sweep_ms: i64::MIN,
            evicted: 0,
        }
    }

    fn ttl_ms(&self) -> i64 {
        i64::try_from(self.limits.ttl.as_millis()).unwrap_or(i64::MAX)
    }

    /// Drops expired series, at most once per TTL.
    pub(crate) fn maybe_sweep(&mut self, now_ms: i64) {
        if self.last_sweep_ms != i64::MIN
            && now_ms.saturating_sub(self.last_sweep_ms) < self.ttl_ms()
        {
            return;
        }
        self.sweep(now_ms);
    }

    fn sweep(&mut self, now_ms: i64) {
        let ttl = self.ttl_ms();
        self.series
            .retain(|_, e| now_ms.saturating_sub(e.seen_ms) < ttl);
        self.last_sweep_ms = now_ms;
    }

    /// Makes room for one more series.
    fn make_room(&mut self, now_ms: i64) {
        if self.series.len() < self.limits.max_series {
            return;
        }
        self.sweep(now_ms);
        if self.series.len() < self.limits.max_series {
            return;
        }
        // Still full: forget the least recently seen tenth (at least one).
        let n = (self.limits.max_series / 10).max(1).min(self.series.len());
        let mut seen: Vec<i64> = self.series.values().map(|e| e.seen_ms).collect();
        let (_, cutoff, _) = seen.select_nth_unstable(n - 1);
        let cutoff = *cutoff;
        let mut dropped = 0usize;
        self.series.retain(|_, e| {
            if dropped < n && e.seen_ms <= cutoff {
                dropped += 1;
                false
            } else {
                true
            }
        });
        self.evicted += dropped as u64;
        tracing::debug!(
            dropped,
            max_series = self.limits.max_series,
            "awsemf delta state full: forgot the least recently seen series"
        );
    }

    /// The delta of a cumulative number (upstream `calculateDelta`): `None` for the
    /// first value of a series (the baseline).
    pub(crate) fn number(&mut self, key: SeriesKey, value: f64, now_ms: i64) -> Option<f64> {
        let prev = self.update(key, Prev::Number(value), now_ms)?;
        match prev {
            Prev::Number(p) => Some(value - p),
            Prev::Summary { .. } => None,
        }
    }

    /// The delta of a cumulative summary's sum and count (upstream
    /// `calculateSummaryDelta`): `None` for the baseline. A count that went down is
    /// a reset: the current values are the delta (upstream subtracts unsigned counts
    /// and would wrap around).
    pub(crate) fn summary(
        &mut self,
        key: SeriesKey,
        sum: f64,
        count: u64,
        now_ms: i64,
    ) -> Option<(f64, u64)> {
        let prev = self.update(key, Prev::Summary { sum, count }, now_ms)?;
        match prev {
            Prev::Summary { sum: ps, count: pc } if count >= pc => Some((sum - ps, count - pc)),
            Prev::Summary { .. } => Some((sum, count)),
            Prev::Number(_) => None,
        }
    }

    /// Stores `value` as the series' latest; returns the previous one.
    fn update(&mut self, key: SeriesKey, value: Prev, now_ms: i64) -> Option<Prev> {
        if let Some(e) = self.series.get_mut(&key) {
            let prev = e.prev;
            *e = Entry {
                prev: value,
                seen_ms: now_ms,
            };
            return Some(prev);
        }
        self.make_room(now_ms);
        self.series.insert(
            key,
            Entry {
                prev: value,
                seen_ms: now_ms,
            },
        );
        None
    }

    /// Series tracked now.
    pub(crate) fn len(&self) -> usize {
        self.series.len()
    }

    /// Series forgotten because the state was full, since creation.
    pub(crate) fn evicted(&self) -> u64 {
        self.evicted
    }
}

#[cfg(test)]
mod tests {
    //! Ported from upstream `metric_calculator_test.go` and the delta cases of
    //! `datapoint_test.go`, plus the bound.
    use super::*;

    fn key(metric: &str, label: &str) -> SeriesKey {
        SeriesKey {
            calc: Calc::Number,
            metric: metric.into(),
            scope: Arc::new(SeriesScope {
                namespace: "namespace".into(),
                log_group: "log-group".into(),
                log_stream: "log-stream".into(),
            }),
            labels: LabelSet::from_pairs([("label1".to_string(), label.to_string())]),
        }
    }

    #[test]
    fn first_value_is_the_baseline_then_deltas() {
        let mut s = DeltaState::new(DeltaLimits::default());
        assert_eq!(s.number(key("double", "v"), 0.4, 0), None);
        let d = s.number(key("double", "v"), 0.8, 1).unwrap();
        assert!((d - 0.4).abs() < 1e-9);
        assert_eq!(s.number(key("int", "v"), -17.0, 2), None);
        assert_eq!(s.number(key("int", "v"), 1.0, 3), Some(18.0));
        // Another label is another series.
        assert_eq!(s.number(key("int", "w"), 5.0, 4), None);
        // A drop is reported as a negative delta; the caller treats it as a reset.
        assert_eq!(s.number(key("int", "v"), 0.0, 5), Some(-1.0));
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn summaries_are_their_own_calculator_and_survive_resets() {
        let mut s = DeltaState::new(DeltaLimits::default());
        let mut k = key("sum", "v");
        k.calc = Calc::Summary;
        assert_eq!(s.summary(k.clone(), 15.0, 5, 0), None);
        assert_eq!(
            s.number(key("sum", "v"), 1.0, 0),
            None,
            "numbers are a separate series"
        );
        assert_eq!(s.summary(k.clone(), 40.0, 12, 1), Some((25.0, 7)));
        assert_eq!(
            s.summary(k, 3.0, 2, 2),
            Some((3.0, 2)),
            "count went down: reset"
        );
    }

    #[test]
    fn stale_series_expire() {
        let ttl = DEFAULT_SERIES_TTL.as_millis() as i64;
        let mut s = DeltaState::new(DeltaLimits::default());
        s.maybe_sweep(0);
        assert_eq!(s.number(key("m", "old"), 1.0, 0), None);
        assert_eq!(s.number(key("m", "fresh"), 1.0, ttl - 10), None);
        s.maybe_sweep(ttl - 1); // too early for a sweep
        assert_eq!(s.len(), 2);
        s.maybe_sweep(ttl);
        assert_eq!(s.len(), 1, "the series unseen for a TTL is gone");
        assert_eq!(s.number(key("m", "old"), 5.0, ttl), None, "it starts over");
        assert_eq!(s.number(key("m", "fresh"), 3.0, ttl), Some(2.0));
    }

    #[test]
    fn bounded() {
        let mut s = DeltaState::new(DeltaLimits {
            max_series: 20,
            ttl: Duration::from_secs(3600),
        });
        for i in 0..20 {
            s.number(key("m", &i.to_string()), 1.0, i);
        }
        assert_eq!(s.len(), 20);
        s.number(key("m", "new"), 1.0, 100);
        assert_eq!(s.len(), 19, "the two least recently seen went");
        assert_eq!(s.evicted(), 2);
        assert_eq!(
            s.number(key("m", "0"), 2.0, 101),
            None,
            "oldest was forgotten"
        );
        assert_eq!(s.number(key("m", "19"), 2.0, 102), Some(1.0), "newest kept");
        for i in 0..1000 {
            s.number(key("m", &format!("x{i}")), 1.0, 200 + i);
            assert!(s.len() <= 20);
        }
    }
}
