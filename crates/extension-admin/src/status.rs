//! The status document: the running collector's shape joined with its internal
//! metrics, and rates between the last two readings.
//!
//! Nothing runs in the background: a reading is taken when someone asks and the last
//! one is more than [`MIN_INTERVAL`] old, so an admin endpoint nobody reads costs
//! nothing. `stratus top` and the status page ask every second, and get rates over
//! about one second.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use stratus_core::telemetry::{FamilySnapshot, LoggedEvent, Registry, SeriesValue};
use stratus_core::{Health, Kind, Topology};

/// The version of the document's shape, in its `schema` field. A field is only ever
/// added within one version.
pub const SCHEMA: &str = "stratus.admin/v1";

/// Readings closer together than this reuse the last one.
pub const MIN_INTERVAL: Duration = Duration::from_millis(900);

/// What one component has counted since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Items that reached it: accepted by a receiver, passed to a processor, sent,
    /// failed or refused by an exporter.
    pub incoming: u64,
    /// Items it handed on: accepted by a receiver, emitted by a processor, sent by an
    /// exporter.
    pub outgoing: u64,
    /// Items it refused (a receiver's refused items, the memory limiter's refusals,
    /// an exporter's full queue).
    pub refused: u64,
    /// Items an exporter gave up on after its retries.
    pub failed: u64,
}

/// [`Counts`] per second between two readings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Rates {
    /// Items per second in.
    pub incoming: f64,
    /// Items per second out.
    pub outgoing: f64,
    /// Items per second refused.
    pub refused: f64,
    /// Items per second failed.
    pub failed: f64,
}

/// A sending queue's fill, in batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct QueueFill {
    /// Batches waiting.
    pub size: u64,
    /// Batches it holds at most.
    pub capacity: u64,
}

/// One component of the document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentStatus {
    /// `receiver`, `processor`, `exporter`, `connector` or `extension`.
    pub kind: &'static str,
    /// Its id (`otlp`, `batch/eu`).
    pub id: String,
    /// The pipelines it is in.
    pub pipelines: Vec<String>,
    /// What it counted since it started (absent for extensions).
    pub totals: Option<Counts>,
    /// Per second over the last interval; absent on the first reading.
    pub rates: Option<Rates>,
    /// The sending queue of an exporter that has one.
    pub queue: Option<QueueFill>,
    /// Items an exporter holds, queued or being sent (its backlog).
    pub pending_items: Option<u64>,
    /// The priority level a failover connector sends to (0 is the first).
    pub failover_level: Option<u64>,
    /// Taps on the data leaving it (`stratus tap`), once it has been tapped.
    pub tap: Option<TapStatus>,
}

/// The taps of one component.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TapStatus {
    /// Taps reading now.
    pub taps: usize,
    /// Items their readers did not keep up with, dropped from the taps (never from
    /// the pipeline).
    pub dropped_items: u64,
}

/// One pipeline, as the config wires it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineStatus {
    /// Its id.
    pub id: String,
    /// `traces`, `metrics` or `logs`.
    pub signal: &'static str,
    /// Receivers and connectors feeding it.
    pub receivers: Vec<String>,
    /// Processors in order.
    pub processors: Vec<String>,
    /// Exporters and connectors it ends in.
    pub exporters: Vec<String>,
}

/// The process as a whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessStatus {
    /// Resident memory.
    pub rss_bytes: u64,
    /// The live heap, where the binary counts it.
    pub heap_bytes: Option<u64>,
    /// The lowest memory limiter's soft limit, when one runs.
    pub memory_limit_bytes: Option<u64>,
    /// Whether the memory limiter refuses data now.
    pub memory_limiter_refusing: bool,
    /// User and system CPU time since start.
    pub cpu_seconds: f64,
    /// Percent of one core over the last interval; absent on the first reading.
    pub cpu_percent: Option<f64>,
}

/// A recent warning or error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecentError {
    /// When, as nanoseconds since the Unix epoch.
    pub unix_nanos: u64,
    /// `WARN` or `ERROR`.
    pub level: &'static str,
    /// The module that logged it.
    pub target: String,
    /// The message and its fields.
    pub message: String,
}

/// The whole document served at `/api/v1/status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// The stratus version.
    pub version: &'static str,
    /// `starting`, `ready` or `stopping`.
    pub health: &'static str,
    /// Seconds since the process started.
    pub uptime_seconds: f64,
    /// The seconds the rates span; absent on the first reading.
    pub interval_seconds: Option<f64>,
    /// Memory and CPU.
    pub process: ProcessStatus,
    /// Every pipeline.
    pub pipelines: Vec<PipelineStatus>,
    /// Every component: receivers, processors, connectors, exporters, extensions.
    pub components: Vec<ComponentStatus>,
    /// The last warnings and errors logged, newest last.
    pub recent_errors: Vec<RecentError>,
}

/// Totals read from the registry at one moment.
#[derive(Debug, Clone, Default)]
struct Reading {
    counts: BTreeMap<(Kind, String), Counts>,
    queues: BTreeMap<String, QueueFill>,
    pending: BTreeMap<String, u64>,
    failover: BTreeMap<String, u64>,
    cpu_seconds: f64,
    rss_bytes: f64,
    uptime: f64,
}

const IN_OUT: &[Field] = &[Field::Incoming, Field::Outgoing];
const IN_REFUSED: &[Field] = &[Field::Incoming, Field::Refused];
const IN_FAILED: &[Field] = &[Field::Incoming, Field::Failed];

/// The per-signal families (`<prefix>spans`, `..metric_points`, `..log_records`):
/// the kind of component they count, labelled by that kind, and what they add to.
const ITEM_FAMILIES: &[(&str, Kind, &[Field])] = &[
    ("otelcol_receiver_accepted_", Kind::Receiver, IN_OUT),
    ("otelcol_receiver_refused_", Kind::Receiver, IN_REFUSED),
    ("otelcol_exporter_sent_", Kind::Exporter, IN_OUT),
    ("otelcol_exporter_send_failed_", Kind::Exporter, IN_FAILED),
    (
        "otelcol_exporter_enqueue_failed_",
        Kind::Exporter,
        IN_REFUSED,
    ),
    (
        "otelcol_processor_refused_",
        Kind::Processor,
        &[Field::Refused],
    ),
];

/// Which count of which kind of component a metric family adds to; the series carry
/// the component id in the label named after the kind (`receiver="otlp"`).
fn role(family: &str) -> Option<(Kind, &'static [Field])> {
    match family {
        "otelcol_processor_incoming_items" => return Some((Kind::Processor, &[Field::Incoming])),
        "otelcol_processor_outgoing_items" => return Some((Kind::Processor, &[Field::Outgoing])),
        _ => {}
    }
    ITEM_FAMILIES.iter().find_map(|(prefix, kind, fields)| {
        let rest = family.strip_prefix(prefix)?;
        matches!(rest, "spans" | "metric_points" | "log_records").then_some((*kind, *fields))
    })
}

#[derive(Debug, Clone, Copy)]
enum Field {
    Incoming,
    Outgoing,
    Refused,
    Failed,
}

fn label<'a>(labels: &'a [(String, String)], key: &str) -> Option<&'a str> {
    labels
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn gauge(value: &SeriesValue) -> f64 {
    match value {
        SeriesValue::Counter(c) => *c as f64,
        SeriesValue::Gauge(g) => *g,
        SeriesValue::Histogram { .. } => 0.0,
    }
}

impl Reading {
    fn from(families: &[FamilySnapshot]) -> Reading {
        let mut r = Reading::default();
        for family in families {
            let name = family.name.as_str();
            if let Some((kind, fields)) = role(name) {
                for series in &family.series {
                    let (Some(id), SeriesValue::Counter(n)) =
                        (label(&series.labels, kind.as_str()), &series.value)
                    else {
                        continue;
                    };
                    let counts = r.counts.entry((kind, id.to_string())).or_default();
                    for field in fields {
                        match field {
                            Field::Incoming => counts.incoming += n,
                            Field::Outgoing => counts.outgoing += n,
                            Field::Refused => counts.refused += n,
                            Field::Failed => counts.failed += n,
                        }
                    }
                }
                continue;
            }
            for series in &family.series {
                let value = gauge(&series.value);
                match name {
                    "otelcol_exporter_queue_size" | "otelcol_exporter_queue_capacity" => {
                        let Some(id) = label(&series.labels, "exporter") else {
                            continue;
                        };
                        let q = r.queues.entry(id.to_string()).or_default();
                        if name.ends_with("size") {
                            q.size = value as u64;
                        } else {
                            q.capacity = value as u64;
                        }
                    }
                    "stratus_exporter_pending_items" => {
                        if let Some(id) = label(&series.labels, "exporter") {
                            r.pending.insert(id.to_string(), value as u64);
                        }
                    }
                    "stratus_connector_failover_level" => {
                        if let Some(id) = label(&series.labels, "connector") {
                            let level = r.failover.entry(id.to_string()).or_default();
                            *level = (*level).max(value as u64);
                        }
                    }
                    "otelcol_process_cpu_seconds" => r.cpu_seconds = value,
                    "otelcol_process_memory_rss" => r.rss_bytes = value,
                    "otelcol_process_uptime" => r.uptime = value,
                    _ => {}
                }
            }
        }
        r
    }
}

/// Answers status requests from one registry, keeping the last two readings.
pub struct Reporter {
    registry: Registry,
    started: Instant,
    readings: Mutex<Readings>,
}

#[derive(Default)]
struct Readings {
    last: Option<(Instant, Reading)>,
    before: Option<(Instant, Reading)>,
}

fn per_second(now: u64, before: u64, seconds: f64) -> f64 {
    now.saturating_sub(before) as f64 / seconds
}

impl Reporter {
    /// A reporter over `registry`.
    pub fn new(registry: Registry) -> Self {
        Reporter {
            registry,
            started: Instant::now(),
            readings: Mutex::new(Readings::default()),
        }
    }

    /// The registry read.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The document now, for a collector of shape `topology` in state `health`.
    pub fn status(&self, topology: &Topology, health: Health) -> Status {
        let now = Instant::now();
        let (last, before) = {
            let mut readings = self.readings.lock().unwrap_or_else(PoisonError::into_inner);
            let fresh = readings
                .last
                .as_ref()
                .is_none_or(|(at, _)| now.duration_since(*at) >= MIN_INTERVAL);
            if fresh {
                let reading = Reading::from(&self.registry.snapshot());
                readings.before = readings.last.replace((now, reading));
            }
            (readings.last.clone(), readings.before.clone())
        };
        let (last_at, last) = last.unwrap_or_else(|| (now, Reading::default()));
        let interval = before
            .as_ref()
            .map(|(at, _)| last_at.duration_since(*at).as_secs_f64())
            .filter(|s| *s > 0.0);
        let before = before.map(|(_, r)| r);

        let mut components = Vec::new();
        let pipelines_of = |pick: &dyn Fn(&stratus_core::PipelineShape) -> &Vec<String>,
                            id: &str| {
            topology
                .pipelines
                .iter()
                .filter(|p| pick(p).iter().any(|c| c == id))
                .map(|p| p.id.clone())
                .collect::<Vec<_>>()
        };
        let is_connector = |id: &str| topology.connectors.iter().any(|c| c == id);
        let mut seen = std::collections::BTreeSet::new();
        let mut push = |kind: Kind, id: &str, pipelines: Vec<String>| {
            if !seen.insert((kind, id.to_string())) {
                return;
            }
            let key = (kind, id.to_string());
            let totals = (kind != Kind::Extension)
                .then(|| last.counts.get(&key).copied().unwrap_or_default());
            let rates = match (&before, interval, totals) {
                (Some(b), Some(s), Some(t)) => {
                    let p = b.counts.get(&key).copied().unwrap_or_default();
                    Some(Rates {
                        incoming: per_second(t.incoming, p.incoming, s),
                        outgoing: per_second(t.outgoing, p.outgoing, s),
                        refused: per_second(t.refused, p.refused, s),
                        failed: per_second(t.failed, p.failed, s),
                    })
                }
                _ => None,
            };
            let tap = self
                .registry
                .tap_points(id)
                .into_iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, point)| TapStatus {
                    taps: point.taps(),
                    dropped_items: point.dropped_items(),
                })
                .filter(|t| t.taps > 0 || t.dropped_items > 0);
            components.push(ComponentStatus {
                tap,
                kind: kind.as_str(),
                id: id.to_string(),
                pipelines,
                totals,
                rates,
                queue: (kind == Kind::Exporter)
                    .then(|| last.queues.get(id).copied())
                    .flatten(),
                pending_items: (kind == Kind::Exporter)
                    .then(|| last.pending.get(id).copied())
                    .flatten(),
                failover_level: (kind == Kind::Connector)
                    .then(|| last.failover.get(id).copied())
                    .flatten(),
            });
        };
        for p in &topology.pipelines {
            for id in p.receivers.iter().filter(|id| !is_connector(id)) {
                push(Kind::Receiver, id, pipelines_of(&|p| &p.receivers, id));
            }
        }
        for p in &topology.pipelines {
            for id in &p.processors {
                push(Kind::Processor, id, pipelines_of(&|p| &p.processors, id));
            }
        }
        for id in &topology.connectors {
            let mut pipelines = pipelines_of(&|p| &p.exporters, id);
            pipelines.extend(pipelines_of(&|p| &p.receivers, id));
            if !pipelines.is_empty() {
                push(Kind::Connector, id, pipelines);
            }
        }
        for p in &topology.pipelines {
            for id in p.exporters.iter().filter(|id| !is_connector(id)) {
                push(Kind::Exporter, id, pipelines_of(&|p| &p.exporters, id));
            }
        }
        for id in &topology.extensions {
            push(Kind::Extension, id, Vec::new());
        }

        let gate = stratus_core::memory::AdmissionGate::global();
        let cpu_percent = match (&before, interval) {
            (Some(b), Some(s)) => Some(((last.cpu_seconds - b.cpu_seconds) / s * 100.0).max(0.0)),
            _ => None,
        };
        Status {
            schema: SCHEMA,
            version: env!("CARGO_PKG_VERSION"),
            health: match health {
                Health::Starting => "starting",
                Health::Ready => "ready",
                Health::Stopping => "stopping",
            },
            uptime_seconds: if last.uptime > 0.0 {
                last.uptime
            } else {
                self.started.elapsed().as_secs_f64()
            },
            interval_seconds: interval,
            process: ProcessStatus {
                rss_bytes: last.rss_bytes as u64,
                heap_bytes: stratus_core::memory::heap_allocated().map(|b| b as u64),
                memory_limit_bytes: gate.soft_limit(),
                memory_limiter_refusing: gate.soft_limit().is_some() && gate.check(0).is_err(),
                cpu_seconds: last.cpu_seconds,
                cpu_percent,
            },
            pipelines: topology
                .pipelines
                .iter()
                .map(|p| PipelineStatus {
                    id: p.id.clone(),
                    signal: p.signal.as_str(),
                    receivers: p.receivers.clone(),
                    processors: p.processors.clone(),
                    exporters: p.exporters.clone(),
                })
                .collect(),
            components,
            recent_errors: self
                .registry
                .recent_events()
                .into_iter()
                .map(recent)
                .collect(),
        }
    }
}

fn recent(e: LoggedEvent) -> RecentError {
    RecentError {
        unix_nanos: e.unix_nanos,
        level: e.level,
        target: e.target,
        message: e.message,
    }
}

/// Seconds since the Unix epoch now; for the pages' "generated at".
pub fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_core::{PipelineShape, Signal};

    fn topology() -> Topology {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Topology {
            pipelines: vec![
                PipelineShape {
                    id: "traces".into(),
                    signal: Signal::Traces,
                    receivers: ids(&["otlp"]),
                    processors: ids(&["memory_limiter", "batch"]),
                    exporters: ids(&["failover"]),
                },
                PipelineShape {
                    id: "traces/aws".into(),
                    signal: Signal::Traces,
                    receivers: ids(&["failover"]),
                    processors: ids(&["batch"]),
                    exporters: ids(&["otlp/aws"]),
                },
            ],
            extensions: ids(&["health_check", "admin"]),
            connectors: ids(&["failover"]),
        }
    }

    #[test]
    fn joins_the_shape_with_the_metrics() {
        let registry = Registry::new();
        let rx = [("receiver", "otlp"), ("transport", "grpc")];
        registry
            .counter("otelcol_receiver_accepted_spans", "", &rx)
            .add(100);
        registry
            .counter("otelcol_receiver_refused_spans", "", &rx)
            .add(7);
        registry
            .counter(
                "otelcol_exporter_sent_spans",
                "",
                &[("exporter", "otlp/aws")],
            )
            .add(90);
        registry
            .counter(
                "otelcol_exporter_send_failed_spans",
                "",
                &[("exporter", "otlp/aws")],
            )
            .add(3);
        registry
            .gauge(
                "otelcol_exporter_queue_size",
                "",
                &[("exporter", "otlp/aws")],
            )
            .set(4.0);
        registry
            .gauge(
                "otelcol_exporter_queue_capacity",
                "",
                &[("exporter", "otlp/aws")],
            )
            .set(1000.0);
        registry.gauge_fn(
            "stratus_exporter_pending_items",
            "",
            &[("exporter", "otlp/aws")],
            Box::new(|| 321.0),
        );
        registry
            .gauge(
                "stratus_connector_failover_level",
                "",
                &[("connector", "failover"), ("otel_signal", "traces")],
            )
            .set(1.0);
        let batch = [("processor", "batch"), ("otel_signal", "traces")];
        registry
            .counter("otelcol_processor_incoming_items", "", &batch)
            .add(100);
        registry
            .counter("otelcol_processor_outgoing_items", "", &batch)
            .add(95);

        let reporter = Reporter::new(registry.clone());
        let status = reporter.status(&topology(), Health::Ready);
        assert_eq!(status.schema, "stratus.admin/v1");
        assert_eq!(status.health, "ready");
        assert_eq!(status.interval_seconds, None);
        let ids: Vec<(&str, &str)> = status
            .components
            .iter()
            .map(|c| (c.kind, c.id.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                ("receiver", "otlp"),
                ("processor", "memory_limiter"),
                ("processor", "batch"),
                ("connector", "failover"),
                ("exporter", "otlp/aws"),
                ("extension", "health_check"),
                ("extension", "admin"),
            ]
        );
        let c = |id: &str| status.components.iter().find(|c| c.id == id).unwrap();
        let otlp = c("otlp").totals.unwrap();
        assert_eq!((otlp.incoming, otlp.outgoing, otlp.refused), (107, 100, 7));
        let batch = c("batch");
        assert_eq!(batch.pipelines, ["traces", "traces/aws"]);
        assert_eq!(
            (
                batch.totals.unwrap().incoming,
                batch.totals.unwrap().outgoing
            ),
            (100, 95)
        );
        let aws = c("otlp/aws");
        let t = aws.totals.unwrap();
        assert_eq!((t.incoming, t.outgoing, t.failed), (93, 90, 3));
        assert_eq!(
            aws.queue,
            Some(QueueFill {
                size: 4,
                capacity: 1000
            })
        );
        assert_eq!(aws.pending_items, Some(321));
        assert_eq!(c("failover").failover_level, Some(1));
        assert_eq!(c("failover").pipelines, ["traces", "traces/aws"]);
        assert!(c("admin").totals.is_none());
        assert!(c("otlp").rates.is_none());
        assert_eq!(status.pipelines[1].receivers, ["failover"]);
    }

    #[test]
    fn rates_come_from_the_last_two_readings() {
        let registry = Registry::new();
        let accepted = registry.counter(
            "otelcol_receiver_accepted_spans",
            "",
            &[("receiver", "otlp"), ("transport", "grpc")],
        );
        let reporter = Reporter::new(registry);
        {
            let mut r = reporter.readings.lock().unwrap();
            let earlier = Instant::now() - Duration::from_secs(2);
            r.last = Some((earlier, Reading::from(&reporter.registry.snapshot())));
        }
        accepted.add(500);
        let status = reporter.status(&topology(), Health::Ready);
        let seconds = status.interval_seconds.unwrap();
        assert!(seconds >= 2.0, "{seconds}");
        let rates = status.components[0].rates.unwrap();
        assert!((rates.incoming - 500.0 / seconds).abs() < 1e-9);
        // A second ask within MIN_INTERVAL reuses the reading: the same rates.
        let again = reporter.status(&topology(), Health::Ready);
        assert_eq!(again.components[0].rates, Some(rates));
    }

    #[test]
    fn recent_errors_are_served() {
        let registry = Registry::new();
        registry.record_event(LoggedEvent {
            unix_nanos: 1,
            level: "ERROR",
            target: "stratus_exporter_otlp".into(),
            message: "export failed".into(),
        });
        let status = Reporter::new(registry).status(&Topology::default(), Health::Starting);
        assert_eq!(status.health, "starting");
        assert_eq!(status.recent_errors.len(), 1);
        assert_eq!(status.recent_errors[0].message, "export failed");
    }
}
