//! stratus's own metrics, exposed in Prometheus text format with the Go collector's
//! names (`otelcol_receiver_accepted_spans`, ...) so existing dashboards keep working.
//!
//! Counters and gauges are lock-free atomics handed out once at build time; the
//! registry's lock is only taken to register a series and to render `/metrics`.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::id::Kind;
use crate::signal::Signal;
use crate::tap::TapPoint;

/// Label pairs of one series, in the order given.
type Labels = Vec<(String, String)>;

/// A monotonically increasing count.
#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Debug, Clone, Default)]
pub struct Gauge(Arc<AtomicU64>);

impl Gauge {
    /// Sets the value.
    pub fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// A distribution over fixed bucket bounds.
#[derive(Debug, Clone)]
pub struct Histogram(Arc<HistogramInner>);

#[derive(Debug)]
struct HistogramInner {
    bounds: Vec<f64>,
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    sum_bits: Mutex<f64>,
}

impl Histogram {
    fn new(bounds: &[f64]) -> Self {
        Histogram(Arc::new(HistogramInner {
            bounds: bounds.to_vec(),
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_bits: Mutex::new(0.0),
        }))
    }

    /// Records one observation.
    pub fn record(&self, v: f64) {
        let inner = &self.0;
        if let Some(i) = inner.bounds.iter().position(|b| v <= *b) {
            inner.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        inner.count.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut sum) = inner.sum_bits.lock() {
            *sum += v;
        }
    }

    /// Observations recorded so far.
    pub fn count(&self) -> u64 {
        self.0.count.load(Ordering::Relaxed)
    }
}

/// A gauge read when `/metrics` is rendered.
pub type GaugeFn = Box<dyn Fn() -> f64 + Send + Sync>;

enum Series {
    Counter(Counter),
    Gauge(Gauge),
    GaugeFn(GaugeFn),
    Histogram(Histogram),
}

struct Family {
    help: String,
    kind: &'static str,
    series: BTreeMap<Labels, Series>,
}

/// The registry of every internal metric of one stratus process, and of the last
/// warnings and errors it logged.
#[derive(Clone, Default)]
pub struct Registry {
    families: Arc<Mutex<BTreeMap<String, Family>>>,
    recent: Arc<Mutex<VecDeque<LoggedEvent>>>,
    taps: Arc<Mutex<TapPoints>>,
}

/// Every component's tap point, by kind and id.
type TapPoints = BTreeMap<(Kind, String), Arc<TapPoint>>;

/// How many logged warnings and errors [`Registry::recent_events`] keeps.
pub const RECENT_EVENTS: usize = 64;

/// A warning or error stratus logged, kept for the admin endpoint's "recent errors".
/// stratus never logs a secret, so neither does this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    /// When it was logged, in nanoseconds since the Unix epoch.
    pub unix_nanos: u64,
    /// `WARN` or `ERROR`.
    pub level: &'static str,
    /// The module that logged it (`stratus_exporter_otlp::exporter`).
    pub target: String,
    /// The message with its fields, as the log line shows them.
    pub message: String,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

fn owned(labels: &[(&str, &str)]) -> Labels {
    labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    fn with_series<T>(
        &self,
        name: &str,
        help: &str,
        kind: &'static str,
        labels: &[(&str, &str)],
        get: impl FnOnce(&mut Series) -> Option<T>,
        make: impl FnOnce() -> (Series, T),
    ) -> T {
        let mut families = match self.families.lock() {
            Ok(f) => f,
            Err(poisoned) => poisoned.into_inner(),
        };
        let family = families.entry(name.to_string()).or_insert_with(|| Family {
            help: help.to_string(),
            kind,
            series: BTreeMap::new(),
        });
        let key = owned(labels);
        if let Some(existing) = family.series.get_mut(&key)
            && let Some(v) = get(existing)
        {
            return v;
        }
        let (series, handle) = make();
        family.series.insert(key, series);
        handle
    }

    /// The counter `name{labels}`, created on first use. The same name and labels
    /// always give the same counter.
    pub fn counter(&self, name: &str, help: &str, labels: &[(&str, &str)]) -> Counter {
        self.with_series(
            name,
            help,
            "counter",
            labels,
            |s| match s {
                Series::Counter(c) => Some(c.clone()),
                _ => None,
            },
            || {
                let c = Counter::default();
                (Series::Counter(c.clone()), c)
            },
        )
    }

    /// The gauge `name{labels}`, created on first use.
    pub fn gauge(&self, name: &str, help: &str, labels: &[(&str, &str)]) -> Gauge {
        self.with_series(
            name,
            help,
            "gauge",
            labels,
            |s| match s {
                Series::Gauge(g) => Some(g.clone()),
                _ => None,
            },
            || {
                let g = Gauge::default();
                (Series::Gauge(g.clone()), g)
            },
        )
    }

    /// A gauge whose value `read` computes at each scrape; replaces an earlier one.
    pub fn gauge_fn(&self, name: &str, help: &str, labels: &[(&str, &str)], read: GaugeFn) {
        self.with_series(
            name,
            help,
            "gauge",
            labels,
            |_| None,
            || (Series::GaugeFn(read), ()),
        )
    }

    /// The histogram `name{labels}` with bucket upper bounds `bounds`, created on first use.
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
        bounds: &[f64],
    ) -> Histogram {
        self.with_series(
            name,
            help,
            "histogram",
            labels,
            |s| match s {
                Series::Histogram(h) => Some(h.clone()),
                _ => None,
            },
            || {
                let h = Histogram::new(bounds);
                (Series::Histogram(h.clone()), h)
            },
        )
    }

    /// The tap point of the data leaving component `id` of `kind`, created on first
    /// use: the pipeline offers data to it, `stratus tap` subscribes.
    pub fn tap_point(&self, kind: Kind, id: &str) -> Arc<TapPoint> {
        let mut taps = self.taps.lock().unwrap_or_else(|p| p.into_inner());
        taps.entry((kind, id.to_string())).or_default().clone()
    }

    /// The tap points of the components named `id`, by kind.
    pub fn tap_points(&self, id: &str) -> Vec<(Kind, Arc<TapPoint>)> {
        let taps = self.taps.lock().unwrap_or_else(|p| p.into_inner());
        taps.iter()
            .filter(|((_, i), _)| i == id)
            .map(|((k, _), p)| (*k, p.clone()))
            .collect()
    }

    /// Keeps `event` among the last [`RECENT_EVENTS`] warnings and errors.
    pub fn record_event(&self, event: LoggedEvent) {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() == RECENT_EVENTS {
            recent.pop_front();
        }
        recent.push_back(event);
    }

    /// The last warnings and errors logged, oldest first.
    pub fn recent_events(&self) -> Vec<LoggedEvent> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.iter().cloned().collect()
    }

    /// Every metric as read now, by name; what the OTLP push and the Prometheus
    /// readers with non-default options render from.
    pub fn snapshot(&self) -> Vec<FamilySnapshot> {
        let families = match self.families.lock() {
            Ok(f) => f,
            Err(poisoned) => poisoned.into_inner(),
        };
        families
            .iter()
            .map(|(name, family)| FamilySnapshot {
                name: name.clone(),
                help: family.help.clone(),
                kind: match family.kind {
                    "counter" => MetricKind::Counter,
                    "histogram" => MetricKind::Histogram,
                    _ => MetricKind::Gauge,
                },
                series: family
                    .series
                    .iter()
                    .map(|(labels, series)| SeriesSnapshot {
                        labels: labels.clone(),
                        value: match series {
                            Series::Counter(c) => SeriesValue::Counter(c.get()),
                            Series::Gauge(g) => SeriesValue::Gauge(g.get()),
                            Series::GaugeFn(f) => SeriesValue::Gauge(f()),
                            Series::Histogram(h) => {
                                let inner = &h.0;
                                let mut counts: Vec<u64> = inner
                                    .buckets
                                    .iter()
                                    .map(|b| b.load(Ordering::Relaxed))
                                    .collect();
                                let count = inner.count.load(Ordering::Relaxed);
                                let in_bounds: u64 = counts.iter().sum();
                                counts.push(count.saturating_sub(in_bounds));
                                SeriesValue::Histogram {
                                    bounds: inner.bounds.clone(),
                                    counts,
                                    count,
                                    sum: inner.sum_bits.lock().map(|s| *s).unwrap_or(0.0),
                                }
                            }
                        },
                    })
                    .collect(),
            })
            .collect()
    }

    /// Renders every metric in Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let families = match self.families.lock() {
            Ok(f) => f,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut out = String::with_capacity(4096);
        for (name, family) in families.iter() {
            let _ = writeln!(out, "# HELP {name} {}", family.help);
            let _ = writeln!(out, "# TYPE {name} {}", family.kind);
            for (labels, series) in &family.series {
                match series {
                    Series::Counter(c) => sample(&mut out, name, labels, None, c.get() as f64),
                    Series::Gauge(g) => sample(&mut out, name, labels, None, g.get()),
                    Series::GaugeFn(f) => sample(&mut out, name, labels, None, f()),
                    Series::Histogram(h) => {
                        let inner = &h.0;
                        let mut cumulative = 0u64;
                        let bucket = format!("{name}_bucket");
                        for (bound, count) in inner.bounds.iter().zip(&inner.buckets) {
                            cumulative += count.load(Ordering::Relaxed);
                            let le = bound.to_string();
                            sample(&mut out, &bucket, labels, Some(&le), cumulative as f64);
                        }
                        let total = inner.count.load(Ordering::Relaxed);
                        sample(&mut out, &bucket, labels, Some("+Inf"), total as f64);
                        let sum = inner.sum_bits.lock().map(|s| *s).unwrap_or(0.0);
                        sample(&mut out, &format!("{name}_sum"), labels, None, sum);
                        sample(
                            &mut out,
                            &format!("{name}_count"),
                            labels,
                            None,
                            total as f64,
                        );
                    }
                }
            }
        }
        out
    }
}

/// What kind of metric a family is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Only goes up.
    Counter,
    /// Goes up and down.
    Gauge,
    /// A distribution over fixed buckets.
    Histogram,
}

/// One metric family at one moment: [`Registry::snapshot`].
#[derive(Debug, Clone, PartialEq)]
pub struct FamilySnapshot {
    /// The metric name (`otelcol_exporter_sent_spans`).
    pub name: String,
    /// Its description.
    pub help: String,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// Every series, ordered by labels.
    pub series: Vec<SeriesSnapshot>,
}

/// One series of a family: its labels and value.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSnapshot {
    /// Label pairs in the order registered.
    pub labels: Vec<(String, String)>,
    /// The value now.
    pub value: SeriesValue,
}

/// The value of one series.
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesValue {
    /// A counter's total.
    Counter(u64),
    /// A gauge's value.
    Gauge(f64),
    /// A histogram: `counts[i]` observations fell at or below `bounds[i]` (and above
    /// the bound before); the last count is above every bound.
    Histogram {
        /// Bucket upper bounds.
        bounds: Vec<f64>,
        /// Per-bucket counts, one more than `bounds`.
        counts: Vec<u64>,
        /// Observations in total.
        count: u64,
        /// Sum of every observation.
        sum: f64,
    },
}

fn sample(out: &mut String, name: &str, labels: &Labels, le: Option<&str>, value: f64) {
    let pairs: Vec<(&str, &str)> = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(le.map(|le| ("le", le)))
        .collect();
    write_sample(out, name, &pairs, value);
}

/// Writes one sample line in the Prometheus text format, `name{k="v",...} value`, with
/// label values escaped (`\\`, `\"`, `\n`).
pub fn write_sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"");
            for ch in v.chars() {
                match ch {
                    '\\' => out.push_str("\\\\"),
                    '"' => out.push_str("\\\""),
                    '\n' => out.push_str("\\n"),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// The standard metrics of one receiver on one transport:
/// `otelcol_receiver_{accepted,refused}_{spans,metric_points,log_records}`.
#[derive(Clone, Debug)]
pub struct ReceiverMetrics {
    accepted: [Counter; 3],
    refused: [Counter; 3],
}

fn signal_index(signal: Signal) -> usize {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        Signal::Logs => 2,
    }
}

impl ReceiverMetrics {
    /// Registers the counters for `receiver` on `transport` (`grpc`, `http`).
    pub fn new(registry: &Registry, receiver: &str, transport: &str) -> Self {
        let labels = [("receiver", receiver), ("transport", transport)];
        let make = |what: &str, help: &str| {
            Signal::ALL.map(|s| {
                registry.counter(
                    &format!("otelcol_receiver_{what}_{}", s.item_name()),
                    &format!("Number of {} {help}", s.item_name().replace('_', " ")),
                    &labels,
                )
            })
        };
        ReceiverMetrics {
            accepted: make("accepted", "successfully pushed into the pipeline."),
            refused: make("refused", "that could not be pushed into the pipeline."),
        }
    }

    /// Counts items accepted into the pipeline.
    pub fn accepted(&self, signal: Signal, items: usize) {
        self.accepted[signal_index(signal)].add(items as u64);
    }

    /// Counts items the pipeline refused.
    pub fn refused(&self, signal: Signal, items: usize) {
        self.refused[signal_index(signal)].add(items as u64);
    }
}

/// Counters indexed by signal, for components that count per signal.
#[derive(Clone, Debug)]
pub struct PerSignal(pub [Counter; 3]);

impl PerSignal {
    /// Registers `prefix_{spans,metric_points,log_records}{labels}`.
    pub fn new(registry: &Registry, prefix: &str, help: &str, labels: &[(&str, &str)]) -> Self {
        PerSignal(
            Signal::ALL
                .map(|s| registry.counter(&format!("{prefix}_{}", s.item_name()), help, labels)),
        )
    }

    /// The counter for `signal`.
    pub fn get(&self, signal: Signal) -> &Counter {
        &self.0[signal_index(signal)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let r = Registry::new();
        let c = r.counter("otelcol_x", "Help.", &[("exporter", "otlp/\"a\"")]);
        c.add(3);
        r.counter("otelcol_x", "Help.", &[("exporter", "otlp/\"a\"")])
            .add(2);
        r.gauge_fn("otelcol_g", "G.", &[], Box::new(|| 1.5));
        let h = r.histogram("otelcol_h", "H.", &[("p", "batch")], &[10.0, 100.0]);
        h.record(5.0);
        h.record(50.0);
        h.record(500.0);
        let text = r.render();
        assert!(
            text.contains("# TYPE otelcol_x counter\notelcol_x{exporter=\"otlp/\\\"a\\\"\"} 5\n")
        );
        assert!(text.contains("otelcol_g 1.5\n"));
        assert!(text.contains("otelcol_h_bucket{p=\"batch\",le=\"10\"} 1\n"));
        assert!(text.contains("otelcol_h_bucket{p=\"batch\",le=\"100\"} 2\n"));
        assert!(text.contains("otelcol_h_bucket{p=\"batch\",le=\"+Inf\"} 3\n"));
        assert!(text.contains("otelcol_h_count{p=\"batch\"} 3\n"));
        assert!(text.contains("otelcol_h_sum{p=\"batch\"} 555\n"));
        let snap = r.snapshot();
        let h = snap.iter().find(|f| f.name == "otelcol_h").unwrap();
        assert_eq!(h.kind, MetricKind::Histogram);
        assert_eq!(
            h.series[0].value,
            SeriesValue::Histogram {
                bounds: vec![10.0, 100.0],
                counts: vec![1, 1, 1],
                count: 3,
                sum: 555.0
            }
        );
        let x = snap.iter().find(|f| f.name == "otelcol_x").unwrap();
        assert_eq!(x.series[0].value, SeriesValue::Counter(5));
        let g = snap.iter().find(|f| f.name == "otelcol_g").unwrap();
        assert_eq!(
            (g.kind, &g.series[0].value),
            (MetricKind::Gauge, &SeriesValue::Gauge(1.5))
        );
    }
}
