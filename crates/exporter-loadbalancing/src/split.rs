//! Splitting a batch into one part per backend, by routing key.
//!
//! Every part keeps the resource and scope of the items it carries (cloned into each
//! part that needs them); the items themselves are moved, never copied. A batch whose
//! items all go to one backend is passed on whole, without being rebuilt.
//!
//! | signal | key | what is hashed | unit that moves |
//! | --- | --- | --- | --- |
//! | traces | `traceID` | the span's 16 trace-id bytes | span |
//! | logs | `traceID` | the record's trace id; records without one: one random position per batch, as upstream | log record |
//! | all | `service` | the resource's `service.name` (UTF-8); a resource without one: the empty name | resource |
//! | metrics | `resource` | the resource's attributes, sorted by key, protobuf-encoded | resource |
//! | metrics | `metric` | the metric name | metric |
//! | metrics | `streamID` | resource and scope identity, metric name, unit, type, temporality and monotonicity, the point's sorted attributes | data point |
//!
//! `traceID` and `service` hash what upstream hashes, so stratus and the Go collector
//! agree on the backend of a trace or a service. The metric identities of `resource`
//! and `streamID` are stratus's own encoding: stable across stratus processes, not
//! equal to upstream's.

use prost::Message;
use stratus_core::Payload;
use stratus_core::pdata::common::{InstrumentationScope, KeyValue, any_value};
use stratus_core::pdata::logs::{ResourceLogs, ScopeLogs};
use stratus_core::pdata::metrics::{Metric, ResourceMetrics, ScopeMetrics, metric::Data};
use stratus_core::pdata::resource::Resource;
use stratus_core::pdata::trace::{ResourceSpans, ScopeSpans};

use crate::config::RoutingKey;
use crate::ring::position;

/// Backend index and the part of the batch for it; indexes are distinct.
pub type Parts = Vec<(usize, Payload)>;

/// Splits `payload` into one part per backend: `route` maps a routing key's ring
/// position to a backend index below `backends`. `random` gives the position of log
/// records without a trace id (called at most once per batch).
pub fn split(
    payload: Payload,
    key: RoutingKey,
    backends: usize,
    route: &mut dyn FnMut(u32) -> usize,
    random: &mut dyn FnMut() -> u32,
) -> Parts {
    match payload {
        Payload::Traces(rss) => match key {
            RoutingKey::Service => {
                by_resource(rss, |r| service_key(&r.resource), route).map(Payload::Traces)
            }
            _ => split_spans(rss, backends, route),
        },
        Payload::Logs(rls) => match key {
            RoutingKey::Service => {
                by_resource(rls, |r| service_key(&r.resource), route).map(Payload::Logs)
            }
            _ => split_logs(rls, backends, route, random),
        },
        Payload::Metrics(rms) => match key {
            RoutingKey::Resource => {
                by_resource(rms, |r| resource_key(&r.resource), route).map(Payload::Metrics)
            }
            RoutingKey::Metric => split_metrics(rms, backends, route, false),
            RoutingKey::StreamId => split_metrics(rms, backends, route, true),
            _ => by_resource(rms, |r| service_key(&r.resource), route).map(Payload::Metrics),
        },
    }
}

/// Per-backend lists being filled, or the whole batch when it went to one backend.
enum Grouped<T> {
    Whole(usize, Vec<T>),
    Per(Vec<Vec<T>>),
    Empty,
}

impl<T> Grouped<T> {
    fn map(self, wrap: fn(Vec<T>) -> Payload) -> Parts {
        match self {
            Grouped::Whole(b, all) => vec![(b, wrap(all))],
            Grouped::Empty => Vec::new(),
            Grouped::Per(per) => per
                .into_iter()
                .enumerate()
                .filter(|(_, v)| !v.is_empty())
                .map(|(b, v)| (b, wrap(v)))
                .collect(),
        }
    }
}

fn per<T>(backends: usize) -> Vec<Vec<T>> {
    (0..backends).map(|_| Vec::new()).collect()
}

/// Targets with all-the-same detection.
fn uniform(targets: &[usize]) -> Option<usize> {
    let first = *targets.first()?;
    targets.iter().all(|t| *t == first).then_some(first)
}

/// Whole resources to the backend of their key.
fn by_resource<T>(
    resources: Vec<T>,
    key: impl Fn(&T) -> Vec<u8>,
    route: &mut dyn FnMut(u32) -> usize,
) -> Grouped<T> {
    let targets: Vec<usize> = resources.iter().map(|r| route(position(&key(r)))).collect();
    let Some(backends) = targets.iter().max().map(|m| m + 1) else {
        return Grouped::Empty;
    };
    if let Some(b) = uniform(&targets) {
        return Grouped::Whole(b, resources);
    }
    let mut out = per(backends);
    for (r, t) in resources.into_iter().zip(targets) {
        out[t].push(r);
    }
    Grouped::Per(out)
}

/// The string value of `service.name`, empty when absent.
pub fn service_name(resource: &Option<Resource>) -> &str {
    resource
        .as_ref()
        .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| match &v.value {
            Some(any_value::Value::StringValue(s)) => Some(s.as_str()),
            _ => None,
        })
        .unwrap_or("")
}

fn service_key(resource: &Option<Resource>) -> Vec<u8> {
    service_name(resource).as_bytes().to_vec()
}

/// Attributes sorted by key, each protobuf-encoded after a tag byte.
fn push_attributes(out: &mut Vec<u8>, tag: u8, attributes: &[KeyValue]) {
    let mut sorted: Vec<&KeyValue> = attributes.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    for kv in sorted {
        out.push(tag);
        let _ = kv.encode_length_delimited(out);
    }
}

fn resource_key(resource: &Option<Resource>) -> Vec<u8> {
    let mut key = Vec::new();
    if let Some(r) = resource {
        push_attributes(&mut key, b'r', &r.attributes);
    }
    key
}

fn scope_identity(out: &mut Vec<u8>, scope: &Option<InstrumentationScope>) {
    if let Some(s) = scope {
        out.push(b's');
        out.extend_from_slice(s.name.as_bytes());
        out.push(0);
        out.extend_from_slice(s.version.as_bytes());
        push_attributes(out, b'a', &s.attributes);
    }
}

/// Splits items (spans, log records) by a per-item key, keeping resource and scope.
/// `$targets` is the target of each item, in order.
macro_rules! split_leaves {
    ($resources:expr, $backends:expr, $targets:expr, $R:ident, $S:ident, $scopes:ident, $items:ident, $wrap:path) => {{
        let targets: Vec<usize> = $targets;
        if targets.is_empty() {
            return Vec::new();
        }
        if let Some(b) = uniform(&targets) {
            return vec![(b, $wrap($resources))];
        }
        let backends = $backends.max(targets.iter().max().map_or(0, |m| m + 1));
        let mut out = per::<$R>(backends);
        let mut at = 0usize;
        let mut counts = vec![0usize; backends];
        for r in $resources {
            let $R {
                resource,
                $scopes,
                schema_url,
                ..
            } = r;
            let mut by_backend: Vec<Option<$R>> = (0..backends).map(|_| None).collect();
            for s in $scopes {
                let $S {
                    scope,
                    $items,
                    schema_url: scope_url,
                    ..
                } = s;
                let mine = &targets[at..(at + $items.len()).min(targets.len())];
                at += mine.len();
                // Each part's list sized once: items are large, growing copies them.
                counts.iter_mut().for_each(|c| *c = 0);
                mine.iter().for_each(|t| counts[*t] += 1);
                let mut scoped: Vec<Option<$S>> = (0..backends).map(|_| None).collect();
                for (item, t) in $items.into_iter().zip(mine) {
                    scoped[*t]
                        .get_or_insert_with(|| $S {
                            scope: scope.clone(),
                            $items: Vec::with_capacity(counts[*t]),
                            schema_url: scope_url.clone(),
                            ..Default::default()
                        })
                        .$items
                        .push(item);
                }
                for (t, s) in scoped.into_iter().enumerate() {
                    if let Some(s) = s {
                        by_backend[t]
                            .get_or_insert_with(|| $R {
                                resource: resource.clone(),
                                schema_url: schema_url.clone(),
                                ..Default::default()
                            })
                            .$scopes
                            .push(s);
                    }
                }
            }
            for (t, r) in by_backend.into_iter().enumerate() {
                if let Some(r) = r {
                    out[t].push(r);
                }
            }
        }
        out.into_iter()
            .enumerate()
            .filter(|(_, v)| !v.is_empty())
            .map(|(b, v)| (b, $wrap(v)))
            .collect()
    }};
}

/// By trace id; consecutive spans of one trace are routed once.
#[allow(clippy::needless_update)] // kept for fields newer protos add
fn split_spans(
    rss: Vec<ResourceSpans>,
    backends: usize,
    route: &mut dyn FnMut(u32) -> usize,
) -> Parts {
    let mut targets = Vec::new();
    let mut last: Option<(&[u8], usize)> = None;
    for s in rss
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
    {
        let t = match last {
            Some((id, t)) if id == s.trace_id.as_slice() => t,
            _ => {
                let t = route(position(&s.trace_id));
                last = Some((&s.trace_id, t));
                t
            }
        };
        targets.push(t);
    }
    split_leaves!(
        rss,
        backends,
        targets,
        ResourceSpans,
        ScopeSpans,
        scope_spans,
        spans,
        Payload::Traces
    )
}

/// By trace id; records without one share one random position per batch.
#[allow(clippy::needless_update)] // kept for fields newer protos add
fn split_logs(
    rls: Vec<ResourceLogs>,
    backends: usize,
    route: &mut dyn FnMut(u32) -> usize,
    random: &mut dyn FnMut() -> u32,
) -> Parts {
    let mut targets = Vec::new();
    let mut last: Option<(&[u8], usize)> = None;
    let mut no_trace: Option<usize> = None;
    for l in rls
        .iter()
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
    {
        let id = l.trace_id.as_slice();
        let t = if id.iter().all(|b| *b == 0) {
            *no_trace.get_or_insert_with(|| route(random() % crate::ring::MAX_POSITIONS))
        } else {
            match last {
                Some((prev, t)) if prev == id => t,
                _ => {
                    let t = route(position(id));
                    last = Some((id, t));
                    t
                }
            }
        };
        targets.push(t);
    }
    split_leaves!(
        rls,
        backends,
        targets,
        ResourceLogs,
        ScopeLogs,
        scope_logs,
        log_records,
        Payload::Logs
    )
}

/// A metric with the same name, description, unit, metadata and type parameters as
/// `m`, and no data points.
fn empty_like(m: &Metric) -> Metric {
    use stratus_core::pdata::metrics::{ExponentialHistogram, Gauge, Histogram, Sum, Summary};
    let data = m.data.as_ref().map(|d| match d {
        Data::Gauge(_) => Data::Gauge(Gauge::default()),
        Data::Sum(s) => Data::Sum(Sum {
            aggregation_temporality: s.aggregation_temporality,
            is_monotonic: s.is_monotonic,
            ..Default::default()
        }),
        Data::Histogram(h) => Data::Histogram(Histogram {
            aggregation_temporality: h.aggregation_temporality,
            ..Default::default()
        }),
        Data::ExponentialHistogram(h) => Data::ExponentialHistogram(ExponentialHistogram {
            aggregation_temporality: h.aggregation_temporality,
            ..Default::default()
        }),
        Data::Summary(_) => Data::Summary(Summary::default()),
    });
    Metric {
        name: m.name.clone(),
        description: m.description.clone(),
        unit: m.unit.clone(),
        metadata: m.metadata.clone(),
        data,
    }
}

/// The identity of a metric's stream, without the point's attributes.
fn metric_identity(out: &mut Vec<u8>, m: &Metric) {
    out.push(b'm');
    out.extend_from_slice(m.name.as_bytes());
    out.push(0);
    out.extend_from_slice(m.unit.as_bytes());
    out.push(0);
    let (kind, temporality, monotonic) = match &m.data {
        None => (0u8, 0, false),
        Some(Data::Gauge(_)) => (1, 0, false),
        Some(Data::Sum(s)) => (2, s.aggregation_temporality, s.is_monotonic),
        Some(Data::Histogram(h)) => (3, h.aggregation_temporality, false),
        Some(Data::ExponentialHistogram(h)) => (4, h.aggregation_temporality, false),
        Some(Data::Summary(_)) => (5, 0, false),
    };
    out.push(kind);
    out.extend_from_slice(&temporality.to_le_bytes());
    out.push(u8::from(monotonic));
}

/// The attributes of each data point of `m`.
fn point_attributes(m: &Metric) -> Vec<&[KeyValue]> {
    match &m.data {
        None => Vec::new(),
        Some(Data::Gauge(g)) => g
            .data_points
            .iter()
            .map(|p| p.attributes.as_slice())
            .collect(),
        Some(Data::Sum(s)) => s
            .data_points
            .iter()
            .map(|p| p.attributes.as_slice())
            .collect(),
        Some(Data::Histogram(h)) => h
            .data_points
            .iter()
            .map(|p| p.attributes.as_slice())
            .collect(),
        Some(Data::ExponentialHistogram(h)) => h
            .data_points
            .iter()
            .map(|p| p.attributes.as_slice())
            .collect(),
        Some(Data::Summary(s)) => s
            .data_points
            .iter()
            .map(|p| p.attributes.as_slice())
            .collect(),
    }
}

/// Moves the points of `m` into copies of it (from [`empty_like`]) by `targets`.
fn split_points(m: Metric, targets: &[usize], into: &mut [Option<Metric>]) {
    let shell = empty_like(&m);
    macro_rules! points {
        ($variant:ident, $data:expr) => {{
            for (p, t) in $data.data_points.into_iter().zip(targets) {
                let copy = into[*t].get_or_insert_with(|| shell.clone());
                if let Some(Data::$variant(d)) = &mut copy.data {
                    d.data_points.push(p);
                }
            }
        }};
    }
    match m.data {
        None => {}
        Some(Data::Gauge(g)) => points!(Gauge, g),
        Some(Data::Sum(s)) => points!(Sum, s),
        Some(Data::Histogram(h)) => points!(Histogram, h),
        Some(Data::ExponentialHistogram(h)) => points!(ExponentialHistogram, h),
        Some(Data::Summary(s)) => points!(Summary, s),
    }
}

/// By metric name (`streams: false`) or by each data point's stream (`true`).
fn split_metrics(
    rms: Vec<ResourceMetrics>,
    backends: usize,
    route: &mut dyn FnMut(u32) -> usize,
    streams: bool,
) -> Parts {
    // Targets per metric (by name) or per point (by stream), in order.
    let mut metric_targets: Vec<Vec<usize>> = Vec::new();
    for rm in &rms {
        let mut prefix = Vec::new();
        if streams {
            prefix = resource_key(&rm.resource);
        }
        for sm in &rm.scope_metrics {
            let mut scoped = prefix.clone();
            if streams {
                scope_identity(&mut scoped, &sm.scope);
            }
            for m in &sm.metrics {
                if !streams {
                    metric_targets.push(vec![route(position(m.name.as_bytes()))]);
                    continue;
                }
                let mut base = scoped.clone();
                metric_identity(&mut base, m);
                let targets = point_attributes(m)
                    .into_iter()
                    .map(|attrs| {
                        let mut key = base.clone();
                        push_attributes(&mut key, b'p', attrs);
                        route(position(&key))
                    })
                    .collect();
                metric_targets.push(targets);
            }
        }
    }
    let all: Vec<usize> = metric_targets.iter().flatten().copied().collect();
    if all.is_empty() {
        // Metrics without points still go somewhere: the owner of the empty key.
        return match rms.is_empty() {
            true => Vec::new(),
            false => vec![(route(position(b"")), Payload::Metrics(rms))],
        };
    }
    if let Some(b) = uniform(&all) {
        return vec![(b, Payload::Metrics(rms))];
    }
    let backends = backends.max(all.iter().max().map_or(0, |m| m + 1));
    let mut out = per::<ResourceMetrics>(backends);
    let mut next = metric_targets.into_iter();
    for rm in rms {
        let ResourceMetrics {
            resource,
            scope_metrics,
            schema_url,
            ..
        } = rm;
        let mut by_backend: Vec<Option<ResourceMetrics>> = (0..backends).map(|_| None).collect();
        for sm in scope_metrics {
            let ScopeMetrics {
                scope,
                metrics,
                schema_url: scope_url,
                ..
            } = sm;
            let mut scoped: Vec<Option<ScopeMetrics>> = (0..backends).map(|_| None).collect();
            for m in metrics {
                let targets = next.next().unwrap_or_default();
                let mut copies: Vec<Option<Metric>> = (0..backends).map(|_| None).collect();
                match uniform(&targets) {
                    Some(t) => copies[t] = Some(m),
                    // A metric without points: wherever its name goes.
                    None if targets.is_empty() => {
                        let t = route(position(m.name.as_bytes())).min(backends - 1);
                        copies[t] = Some(m);
                    }
                    None => split_points(m, &targets, &mut copies),
                }
                for (t, c) in copies.into_iter().enumerate() {
                    if let Some(c) = c {
                        scoped[t]
                            .get_or_insert_with(|| ScopeMetrics {
                                scope: scope.clone(),
                                schema_url: scope_url.clone(),
                                ..Default::default()
                            })
                            .metrics
                            .push(c);
                    }
                }
            }
            for (t, s) in scoped.into_iter().enumerate() {
                if let Some(s) = s {
                    by_backend[t]
                        .get_or_insert_with(|| ResourceMetrics {
                            resource: resource.clone(),
                            schema_url: schema_url.clone(),
                            ..Default::default()
                        })
                        .scope_metrics
                        .push(s);
                }
            }
        }
        for (t, r) in by_backend.into_iter().enumerate() {
            if let Some(r) = r {
                out[t].push(r);
            }
        }
    }
    out.into_iter()
        .enumerate()
        .filter(|(_, v)| !v.is_empty())
        .map(|(b, v)| (b, Payload::Metrics(v)))
        .collect()
}
