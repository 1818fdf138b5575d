//! The telemetry that flows down a pipeline.
//!
//! Data is the OTLP protobuf model itself (`ResourceSpans`, `ResourceMetrics`,
//! `ResourceLogs`), so receiving and forwarding OTLP costs no translation, and a batch
//! received as protobuf stays in its received bytes until a stage looks inside
//! ([`Contents`]): forwarding it costs no decoding either. A [`Telemetry`] wraps one
//! batch with the [`Metadata`] of the request that brought it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

pub use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
pub use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
pub use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
pub use opentelemetry_proto::tonic::common::v1 as common;
pub use opentelemetry_proto::tonic::logs::v1 as logs;
pub use opentelemetry_proto::tonic::metrics::v1 as metrics;
pub use opentelemetry_proto::tonic::resource::v1 as resource;
pub use opentelemetry_proto::tonic::trace::v1 as trace;

mod contents;
pub mod json;
pub mod partition;

pub use contents::Contents;

pub use partition::{Assign, Partitioned, Route, partition, point_attributes};

use logs::{ResourceLogs, ScopeLogs};
use metrics::{Metric, ResourceMetrics, ScopeMetrics, metric::Data};
use prost::Message;
use trace::{ResourceSpans, ScopeSpans};

use crate::signal::Signal;

/// Request metadata carried with a batch: the client address and, when a receiver
/// has `include_metadata: true`, the request headers (keys lower-cased).
///
/// Empty metadata costs one pointer; non-empty metadata is shared, not copied, when a
/// batch is cloned or split.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata(Option<Arc<MetadataInner>>);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct MetadataInner {
    client_addr: Option<SocketAddr>,
    headers: BTreeMap<String, Vec<String>>,
}

impl Metadata {
    /// Metadata from a client address and headers (keys are lower-cased here).
    pub fn new(
        client_addr: Option<SocketAddr>,
        headers: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in headers {
            map.entry(k.to_ascii_lowercase()).or_default().push(v);
        }
        if client_addr.is_none() && map.is_empty() {
            return Metadata(None);
        }
        Metadata(Some(Arc::new(MetadataInner {
            client_addr,
            headers: map,
        })))
    }

    /// The address of the client that sent the data, if known.
    pub fn client_addr(&self) -> Option<SocketAddr> {
        self.0.as_ref().and_then(|m| m.client_addr)
    }

    /// The values of a header (case-insensitive), empty if absent.
    pub fn get(&self, key: &str) -> &[String] {
        let key = key.to_ascii_lowercase();
        self.0
            .as_ref()
            .and_then(|m| m.headers.get(&key))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Every header kept, keys lower-cased.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0
            .iter()
            .flat_map(|m| m.headers.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
    }
}

/// One batch of one signal.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// Spans.
    Traces(Vec<ResourceSpans>),
    /// Metrics.
    Metrics(Vec<ResourceMetrics>),
    /// Log records.
    Logs(Vec<ResourceLogs>),
}

/// A batch moving down a pipeline: the data and the metadata of the request that brought it.
#[derive(Debug, Clone, PartialEq)]
pub struct Telemetry {
    /// The data, decoded or still as received (see [`Contents`]).
    pub payload: Contents,
    /// Where it came from.
    pub metadata: Metadata,
}

impl Telemetry {
    /// A batch with no metadata.
    pub fn new(payload: impl Into<Contents>) -> Self {
        Telemetry {
            payload: payload.into(),
            metadata: Metadata::default(),
        }
    }

    /// A batch with metadata.
    pub fn with_metadata(payload: impl Into<Contents>, metadata: Metadata) -> Self {
        Telemetry {
            payload: payload.into(),
            metadata,
        }
    }

    /// The batch's signal.
    pub fn signal(&self) -> Signal {
        self.payload.signal()
    }

    /// Spans, metric data points or log records in the batch.
    pub fn item_count(&self) -> usize {
        self.payload.item_count()
    }

    /// An empty batch of a signal.
    pub fn empty(signal: Signal) -> Self {
        Telemetry::new(Payload::empty(signal))
    }
}

impl Payload {
    /// An empty payload of a signal.
    pub fn empty(signal: Signal) -> Self {
        match signal {
            Signal::Traces => Payload::Traces(Vec::new()),
            Signal::Metrics => Payload::Metrics(Vec::new()),
            Signal::Logs => Payload::Logs(Vec::new()),
        }
    }

    /// The payload's signal.
    pub fn signal(&self) -> Signal {
        match self {
            Payload::Traces(_) => Signal::Traces,
            Payload::Metrics(_) => Signal::Metrics,
            Payload::Logs(_) => Signal::Logs,
        }
    }

    /// Spans, metric data points or log records: the unit the collector counts in.
    pub fn item_count(&self) -> usize {
        match self {
            Payload::Traces(r) => r.iter().map(spans_in).sum(),
            Payload::Metrics(r) => r.iter().map(points_in_resource).sum(),
            Payload::Logs(r) => r.iter().map(records_in).sum(),
        }
    }

    /// Whether the payload holds no resources at all.
    pub fn is_empty(&self) -> bool {
        match self {
            Payload::Traces(r) => r.is_empty(),
            Payload::Metrics(r) => r.is_empty(),
            Payload::Logs(r) => r.is_empty(),
        }
    }

    /// The size of the payload encoded as an OTLP export request, in bytes.
    pub fn encoded_len(&self) -> usize {
        match self {
            Payload::Traces(r) => r.iter().map(|x| len_delimited(x.encoded_len())).sum(),
            Payload::Metrics(r) => r.iter().map(|x| len_delimited(x.encoded_len())).sum(),
            Payload::Logs(r) => r.iter().map(|x| len_delimited(x.encoded_len())).sum(),
        }
    }

    /// Appends `other` (which must be of the same signal) to this payload.
    /// Returns `other` back if the signals differ.
    pub fn append(&mut self, other: Payload) -> Result<(), Payload> {
        match (self, other) {
            (Payload::Traces(a), Payload::Traces(b)) => a.extend(b),
            (Payload::Metrics(a), Payload::Metrics(b)) => a.extend(b),
            (Payload::Logs(a), Payload::Logs(b)) => a.extend(b),
            (_, other) => return Err(other),
        }
        Ok(())
    }

    /// Removes the first `n` items (spans, points, records) and returns them, keeping the
    /// resource and scope of each. Resources and scopes holding no items travel with the
    /// items around them.
    pub fn split_front(&mut self, n: usize) -> Payload {
        match self {
            Payload::Traces(r) => Payload::Traces(split_resource_spans(r, n)),
            Payload::Metrics(r) => Payload::Metrics(split_resource_metrics(r, n)),
            Payload::Logs(r) => Payload::Logs(split_resource_logs(r, n)),
        }
    }

    /// Encodes the payload as the signal's OTLP export request. The request's only
    /// field is the repeated resource list (field 1), so each item is written as that
    /// field: the same bytes as encoding the request message, without copying the
    /// payload into one.
    pub fn encode_request(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(self.encoded_len());
        self.write_request(&mut buf);
        buf
    }

    /// Appends the payload's export request (see [`Payload::encode_request`]) to `out`.
    pub fn write_request(&self, out: &mut Vec<u8>) {
        fn encode<M: Message>(items: &[M], out: &mut Vec<u8>) {
            for item in items {
                prost::encoding::message::encode(1, item, out);
            }
        }
        match self {
            Payload::Traces(r) => encode(r, out),
            Payload::Metrics(r) => encode(r, out),
            Payload::Logs(r) => encode(r, out),
        }
    }
}

fn len_delimited(len: usize) -> usize {
    1 + prost::encoding::encoded_len_varint(len as u64) + len
}

fn spans_in(r: &ResourceSpans) -> usize {
    r.scope_spans.iter().map(|s| s.spans.len()).sum()
}

fn records_in(r: &ResourceLogs) -> usize {
    r.scope_logs.iter().map(|s| s.log_records.len()).sum()
}

fn points_in_resource(r: &ResourceMetrics) -> usize {
    r.scope_metrics
        .iter()
        .map(|s| s.metrics.iter().map(points_in).sum::<usize>())
        .sum()
}

/// Data points in one metric.
pub fn points_in(m: &Metric) -> usize {
    match &m.data {
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
        None => 0,
    }
}

/// Moves whole leading elements of `items` while they fit in `budget` items, then splits
/// the first one that does not fit with `split_one`. Returns what was taken.
fn take_front<T>(
    items: &mut Vec<T>,
    budget: &mut usize,
    count: impl Fn(&T) -> usize,
    split_one: impl FnOnce(&mut T, usize) -> T,
) -> Vec<T> {
    let mut whole = 0;
    for item in items.iter() {
        let c = count(item);
        if c > *budget {
            break;
        }
        *budget -= c;
        whole += 1;
    }
    let mut taken: Vec<T> = items.drain(..whole).collect();
    if *budget > 0
        && let Some(first) = items.first_mut()
    {
        taken.push(split_one(first, *budget));
        *budget = 0;
    }
    taken
}

fn split_resource_spans(r: &mut Vec<ResourceSpans>, n: usize) -> Vec<ResourceSpans> {
    let mut budget = n;
    take_front(r, &mut budget, spans_in, |rs, n| ResourceSpans {
        resource: rs.resource.clone(),
        schema_url: rs.schema_url.clone(),
        scope_spans: take_front(
            &mut rs.scope_spans,
            &mut n.clone(),
            |s| s.spans.len(),
            |ss, n| ScopeSpans {
                scope: ss.scope.clone(),
                schema_url: ss.schema_url.clone(),
                spans: ss.spans.drain(..n).collect(),
            },
        ),
    })
}

fn split_resource_logs(r: &mut Vec<ResourceLogs>, n: usize) -> Vec<ResourceLogs> {
    let mut budget = n;
    take_front(r, &mut budget, records_in, |rl, n| ResourceLogs {
        resource: rl.resource.clone(),
        schema_url: rl.schema_url.clone(),
        scope_logs: take_front(
            &mut rl.scope_logs,
            &mut n.clone(),
            |s| s.log_records.len(),
            |sl, n| ScopeLogs {
                scope: sl.scope.clone(),
                schema_url: sl.schema_url.clone(),
                log_records: sl.log_records.drain(..n).collect(),
            },
        ),
    })
}

fn split_resource_metrics(r: &mut Vec<ResourceMetrics>, n: usize) -> Vec<ResourceMetrics> {
    let mut budget = n;
    take_front(r, &mut budget, points_in_resource, |rm, n| {
        ResourceMetrics {
            resource: rm.resource.clone(),
            schema_url: rm.schema_url.clone(),
            scope_metrics: take_front(
                &mut rm.scope_metrics,
                &mut n.clone(),
                |s| s.metrics.iter().map(points_in).sum(),
                |sm, n| ScopeMetrics {
                    scope: sm.scope.clone(),
                    schema_url: sm.schema_url.clone(),
                    metrics: take_front(&mut sm.metrics, &mut n.clone(), points_in, split_metric),
                },
            ),
        }
    })
}

/// Splits the first `n` data points off a metric into a copy with the same name,
/// description, unit and aggregation.
fn split_metric(m: &mut Metric, n: usize) -> Metric {
    let data = match &mut m.data {
        Some(Data::Gauge(g)) => Some(Data::Gauge(metrics::Gauge {
            data_points: g.data_points.drain(..n).collect(),
        })),
        Some(Data::Sum(s)) => Some(Data::Sum(metrics::Sum {
            data_points: s.data_points.drain(..n).collect(),
            aggregation_temporality: s.aggregation_temporality,
            is_monotonic: s.is_monotonic,
        })),
        Some(Data::Histogram(h)) => Some(Data::Histogram(metrics::Histogram {
            data_points: h.data_points.drain(..n).collect(),
            aggregation_temporality: h.aggregation_temporality,
        })),
        Some(Data::ExponentialHistogram(h)) => {
            Some(Data::ExponentialHistogram(metrics::ExponentialHistogram {
                data_points: h.data_points.drain(..n).collect(),
                aggregation_temporality: h.aggregation_temporality,
            }))
        }
        Some(Data::Summary(s)) => Some(Data::Summary(metrics::Summary {
            data_points: s.data_points.drain(..n).collect(),
        })),
        None => None,
    };
    Metric {
        name: m.name.clone(),
        description: m.description.clone(),
        unit: m.unit.clone(),
        metadata: m.metadata.clone(),
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trace::Span;

    fn spans(resources: &[&[usize]]) -> Payload {
        let mut id = 0u8;
        Payload::Traces(
            resources
                .iter()
                .map(|scopes| ResourceSpans {
                    scope_spans: scopes
                        .iter()
                        .map(|&n| ScopeSpans {
                            spans: (0..n)
                                .map(|_| {
                                    id += 1;
                                    Span {
                                        span_id: vec![id; 8],
                                        ..Default::default()
                                    }
                                })
                                .collect(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
        )
    }

    fn ids(p: &Payload) -> Vec<u8> {
        let Payload::Traces(r) = p else { panic!() };
        r.iter()
            .flat_map(|r| {
                r.scope_spans
                    .iter()
                    .flat_map(|s| s.spans.iter().map(|s| s.span_id[0]))
            })
            .collect()
    }

    #[test]
    fn split_keeps_order_and_counts() {
        for n in 0..=10 {
            let mut p = spans(&[&[2, 3], &[0], &[4, 0, 1]]);
            assert_eq!(p.item_count(), 10);
            let front = p.split_front(n);
            assert_eq!(front.item_count(), n, "n={n}");
            assert_eq!(p.item_count(), 10 - n);
            let mut all = ids(&front);
            all.extend(ids(&p));
            assert_eq!(all, (1..=10).collect::<Vec<_>>(), "n={n}");
        }
    }

    #[test]
    fn split_metric_points_keeps_metric_identity() {
        let gauge = |n: usize| Metric {
            name: "m".into(),
            unit: "1".into(),
            data: Some(Data::Gauge(metrics::Gauge {
                data_points: (0..n).map(|_| Default::default()).collect(),
            })),
            ..Default::default()
        };
        let mut p = Payload::Metrics(vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![gauge(3), gauge(2)],
                ..Default::default()
            }],
            ..Default::default()
        }]);
        let front = p.split_front(4);
        assert_eq!(front.item_count(), 4);
        assert_eq!(p.item_count(), 1);
        let Payload::Metrics(rest) = &p else { panic!() };
        assert_eq!(rest[0].scope_metrics[0].metrics[0].name, "m");
        assert_eq!(rest[0].scope_metrics[0].metrics[0].unit, "1");
    }

    #[test]
    fn encoded_len_matches_request_encoding() {
        let p = spans(&[&[2, 3], &[1]]);
        assert_eq!(p.encoded_len(), p.encode_request().len());
    }

    #[test]
    fn encode_request_writes_the_request_message_bytes() {
        let p = spans(&[&[2, 3], &[1]]);
        let Payload::Traces(r) = &p else {
            unreachable!()
        };
        let want = ExportTraceServiceRequest {
            resource_spans: r.clone(),
        }
        .encode_to_vec();
        assert_eq!(p.encode_request(), want);
        assert!(Payload::Logs(Vec::new()).encode_request().is_empty());
    }
}
