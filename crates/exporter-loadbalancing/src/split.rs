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
use stratus_core::pdata::logs::LogRecord;
use stratus_core::pdata::metrics::{Metric, metric::Data};
use stratus_core::pdata::resource::Resource;
use stratus_core::pdata::trace::Span;
use stratus_core::pdata::{Assign, Route, partition, points_in};

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
    let by = match (&payload, key) {
        (_, RoutingKey::Service) => By::Service,
        (Payload::Traces(_) | Payload::Logs(_), _) => By::TraceId,
        (Payload::Metrics(_), RoutingKey::Resource) => By::Resource,
        (Payload::Metrics(_), RoutingKey::Metric) => By::Metric,
        (Payload::Metrics(_), RoutingKey::StreamId) => By::Stream,
        (Payload::Metrics(_), _) => By::Service,
    };
    if let Payload::Metrics(rms) = &payload
        && !rms.is_empty()
    {
        let metrics = || {
            rms.iter()
                .flat_map(|r| &r.scope_metrics)
                .flat_map(|s| &s.metrics)
        };
        let nothing_to_route_by = match by {
            By::Metric => metrics().next().is_none(),
            By::Stream => metrics().all(|m| points_in(m) == 0),
            _ => false,
        };
        if nothing_to_route_by {
            // Metrics without points still go somewhere: the owner of the empty key.
            return vec![(route(position(b"")), payload)];
        }
    }
    let mut keyed = Keyed {
        by,
        backends,
        route,
        random,
        last: None,
        no_trace: None,
        prefix: Vec::new(),
        scoped: Vec::new(),
        base: Vec::new(),
    };
    partition(payload, backends, &mut keyed)
        .parts
        .into_iter()
        .enumerate()
        .filter(|(_, p)| !p.is_empty())
        .collect()
}

/// What a batch is split by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    /// Whole resources by `service.name`.
    Service,
    /// Whole resources by their attributes.
    Resource,
    /// Spans or log records by trace id.
    TraceId,
    /// Whole metrics by name.
    Metric,
    /// Data points by stream.
    Stream,
}

/// Where each part goes, by routing key, for [`partition`].
struct Keyed<'r> {
    by: By,
    backends: usize,
    route: &'r mut dyn FnMut(u32) -> usize,
    random: &'r mut dyn FnMut() -> u32,
    /// The last trace id routed and its backend: consecutive items of one trace are
    /// routed once.
    last: Option<(Vec<u8>, usize)>,
    /// The backend of log records without a trace id, once drawn.
    no_trace: Option<usize>,
    /// Stream identity so far: of the resource, then the scope, then the metric.
    prefix: Vec<u8>,
    scoped: Vec<u8>,
    base: Vec<u8>,
}

impl Keyed<'_> {
    fn by_trace(&mut self, id: &[u8]) -> usize {
        match &mut self.last {
            Some((prev, t)) if prev.as_slice() == id => *t,
            last => {
                let t = (self.route)(position(id));
                match last {
                    Some((prev, bt)) => {
                        prev.clear();
                        prev.extend_from_slice(id);
                        *bt = t;
                    }
                    None => *last = Some((id.to_vec(), t)),
                }
                t
            }
        }
    }
}

impl Assign for Keyed<'_> {
    fn resource(&mut self, resource: Option<&Resource>) -> Route {
        match self.by {
            By::Service => Route::To((self.route)(position(&service_key(resource)))),
            By::Resource => Route::To((self.route)(position(&resource_key(resource)))),
            By::Stream => {
                self.prefix = resource_key(resource);
                Route::Split
            }
            By::TraceId | By::Metric => Route::Split,
        }
    }

    fn scope(&mut self, _: Option<&Resource>, scope: Option<&InstrumentationScope>) -> Route {
        if self.by == By::Stream {
            self.scoped.clear();
            self.scoped.extend_from_slice(&self.prefix);
            scope_identity(&mut self.scoped, scope);
        }
        Route::Split
    }

    fn span(
        &mut self,
        _: Option<&Resource>,
        _: Option<&InstrumentationScope>,
        span: &Span,
    ) -> Option<usize> {
        Some(self.by_trace(&span.trace_id))
    }

    fn log(
        &mut self,
        _: Option<&Resource>,
        _: Option<&InstrumentationScope>,
        record: &LogRecord,
    ) -> Option<usize> {
        let id = record.trace_id.as_slice();
        if id.iter().all(|b| *b == 0) {
            let t = match self.no_trace {
                Some(t) => t,
                None => {
                    let t = (self.route)((self.random)() % crate::ring::MAX_POSITIONS);
                    *self.no_trace.insert(t)
                }
            };
            return Some(t);
        }
        Some(self.by_trace(id))
    }

    fn metric(
        &mut self,
        _: Option<&Resource>,
        _: Option<&InstrumentationScope>,
        m: &Metric,
    ) -> Route {
        if self.by == By::Metric {
            return Route::To((self.route)(position(m.name.as_bytes())));
        }
        self.base.clear();
        self.base.extend_from_slice(&self.scoped);
        metric_identity(&mut self.base, m);
        Route::Split
    }

    fn point(
        &mut self,
        _: Option<&Resource>,
        _: Option<&InstrumentationScope>,
        _: &Metric,
        attributes: &[KeyValue],
    ) -> Option<usize> {
        let mut key = self.base.clone();
        push_attributes(&mut key, b'p', attributes);
        Some((self.route)(position(&key)))
    }

    /// A metric without points: wherever its name goes.
    fn metric_without_points(
        &mut self,
        _: Option<&Resource>,
        _: Option<&InstrumentationScope>,
        m: &Metric,
    ) -> Option<usize> {
        let t = (self.route)(position(m.name.as_bytes()));
        Some(t.min(self.backends.saturating_sub(1)))
    }
}

/// The string value of `service.name`, empty when absent.
pub fn service_name(resource: &Option<Resource>) -> &str {
    service_of(resource.as_ref())
}

fn service_of(resource: Option<&Resource>) -> &str {
    resource
        .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| match &v.value {
            Some(any_value::Value::StringValue(s)) => Some(s.as_str()),
            _ => None,
        })
        .unwrap_or("")
}

fn service_key(resource: Option<&Resource>) -> Vec<u8> {
    service_of(resource).as_bytes().to_vec()
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

fn resource_key(resource: Option<&Resource>) -> Vec<u8> {
    let mut key = Vec::new();
    if let Some(r) = resource {
        push_attributes(&mut key, b'r', &r.attributes);
    }
    key
}

fn scope_identity(out: &mut Vec<u8>, scope: Option<&InstrumentationScope>) {
    if let Some(s) = scope {
        out.push(b's');
        out.extend_from_slice(s.name.as_bytes());
        out.push(0);
        out.extend_from_slice(s.version.as_bytes());
        push_attributes(out, b'a', &s.attributes);
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
