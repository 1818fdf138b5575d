//! The running `filter` processor: drops what the conditions match, in place.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::pdata::logs::ResourceLogs;
use stratus_core::pdata::metrics::{Metric, ResourceMetrics, metric::Data};
use stratus_core::pdata::points_in;
use stratus_core::pdata::trace::ResourceSpans;
use stratus_core::telemetry::{Counter, Registry};
use stratus_core::{
    Admission, BoxConsumer, Component, ConsumeError, Consumer, Destination, Payload, Prepared,
    Telemetry,
};
use stratus_ottl::{Conditions, EvalError, Item, Point};

use crate::config::{FilterConfig, lists};

/// Conditions per context; `None` where the config lists none.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    span: Option<Conditions>,
    spanevent: Option<Conditions>,
    metric: Option<Conditions>,
    datapoint: Option<Conditions>,
    log: Option<Conditions>,
}

/// What one pass over a batch dropped: spans, metric data points, log records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Spans dropped (span events are not counted).
    pub spans: u64,
    /// Metric data points dropped, counting the points of dropped metrics.
    pub data_points: u64,
    /// Log records dropped.
    pub log_records: u64,
}

impl Rules {
    /// The conditions of a config, parsed; an error names the condition's key path and
    /// column (`traces::span[1]: column 5: ...`).
    pub fn from_config(config: &FilterConfig) -> Result<Rules, String> {
        let mut rules = Rules::default();
        for (path, ctx, texts) in lists(config) {
            if texts.is_empty() {
                continue;
            }
            let parsed = Conditions::parse(texts, ctx, config.error_mode)
                .map_err(|(i, e)| format!("{path}[{i}]: {e}"))?;
            let slot = match path {
                "traces::span" => &mut rules.span,
                "traces::spanevent" => &mut rules.spanevent,
                "metrics::metric" => &mut rules.metric,
                "metrics::datapoint" => &mut rules.datapoint,
                _ => &mut rules.log,
            };
            *slot = Some(parsed);
        }
        Ok(rules)
    }

    /// Whether no condition is configured for the payload's signal.
    fn passes_all(&self, payload: &Payload) -> bool {
        match payload {
            Payload::Traces(_) => self.span.is_none() && self.spanevent.is_none(),
            Payload::Metrics(_) => self.metric.is_none() && self.datapoint.is_none(),
            Payload::Logs(_) => self.log.is_none(),
        }
    }

    /// Drops, in place, every item a condition matches, and the scopes and resources
    /// left empty. On an evaluation error under `error_mode: propagate`, stops and
    /// returns it (the payload is then partly filtered).
    pub fn apply(&self, payload: &mut Payload) -> Result<Dropped, EvalError> {
        let mut dropped = Dropped::default();
        match payload {
            Payload::Traces(r) => dropped.spans = self.traces(r)?,
            Payload::Metrics(r) => dropped.data_points = self.metrics(r)?,
            Payload::Logs(r) => dropped.log_records = self.logs(r)?,
        }
        Ok(dropped)
    }

    fn traces(&self, resources: &mut Vec<ResourceSpans>) -> Result<u64, EvalError> {
        let mut failure = None;
        let mut dropped = 0u64;
        resources.retain_mut(|rs| {
            let resource = rs.resource.as_ref();
            rs.scope_spans.retain_mut(|ss| {
                let scope = ss.scope.as_ref();
                ss.spans.retain_mut(|span| {
                    if failure.is_some() {
                        return true;
                    }
                    if let Some(c) = &self.span {
                        let item = Item::Span {
                            resource,
                            scope,
                            span,
                        };
                        match c.any(&item) {
                            Ok(true) => {
                                dropped += 1;
                                return false;
                            }
                            Ok(false) => {}
                            Err(e) => {
                                failure = Some(e);
                                return true;
                            }
                        }
                    }
                    if let Some(c) = &self.spanevent
                        && !span.events.is_empty()
                    {
                        // Span event conditions read the span (`span.name`), never its
                        // events, so the events can be filtered while the span is read.
                        let mut events = std::mem::take(&mut span.events);
                        events.retain(|event| {
                            if failure.is_some() {
                                return true;
                            }
                            let item = Item::SpanEvent {
                                resource,
                                scope,
                                span,
                                event,
                            };
                            match c.any(&item) {
                                Ok(matched) => !matched,
                                Err(e) => {
                                    failure = Some(e);
                                    true
                                }
                            }
                        });
                        span.events = events;
                    }
                    true
                });
                !ss.spans.is_empty()
            });
            !rs.scope_spans.is_empty()
        });
        failure.map_or(Ok(dropped), Err)
    }

    fn logs(&self, resources: &mut Vec<ResourceLogs>) -> Result<u64, EvalError> {
        let Some(c) = &self.log else {
            return Ok(0);
        };
        let mut failure = None;
        let mut dropped = 0u64;
        resources.retain_mut(|rl| {
            let resource = rl.resource.as_ref();
            rl.scope_logs.retain_mut(|sl| {
                let scope = sl.scope.as_ref();
                sl.log_records.retain(|record| {
                    if failure.is_some() {
                        return true;
                    }
                    match c.any(&Item::Log {
                        resource,
                        scope,
                        record,
                    }) {
                        Ok(true) => {
                            dropped += 1;
                            false
                        }
                        Ok(false) => true,
                        Err(e) => {
                            failure = Some(e);
                            true
                        }
                    }
                });
                !sl.log_records.is_empty()
            });
            !rl.scope_logs.is_empty()
        });
        failure.map_or(Ok(dropped), Err)
    }

    fn metrics(&self, resources: &mut Vec<ResourceMetrics>) -> Result<u64, EvalError> {
        let mut failure: Option<EvalError> = None;
        let mut dropped = 0u64;
        // Which points of the current metric to drop; reused across metrics.
        let mut drop_point: Vec<bool> = Vec::new();
        resources.retain_mut(|rm| {
            let resource = rm.resource.as_ref();
            rm.scope_metrics.retain_mut(|sm| {
                let scope = sm.scope.as_ref();
                sm.metrics.retain_mut(|metric| {
                    if failure.is_some() {
                        return true;
                    }
                    if let Some(c) = &self.metric {
                        match c.any(&Item::Metric {
                            resource,
                            scope,
                            metric,
                        }) {
                            Ok(true) => {
                                dropped += points_in(metric) as u64;
                                return false;
                            }
                            Ok(false) => {}
                            Err(e) => {
                                failure = Some(e);
                                return true;
                            }
                        }
                    }
                    let Some(c) = &self.datapoint else {
                        return true;
                    };
                    // Decide with the metric borrowed whole (points read `metric.*`),
                    // then remove.
                    drop_point.clear();
                    let decided = decide_points(
                        metric,
                        |point| {
                            c.any(&Item::DataPoint {
                                resource,
                                scope,
                                metric,
                                point,
                            })
                        },
                        &mut drop_point,
                    );
                    if let Err(e) = decided {
                        failure = Some(e);
                        return true;
                    }
                    dropped += remove_points(metric, &drop_point);
                    // A metric left without points goes; one without data stays, as
                    // upstream keeps metrics of no type.
                    metric.data.is_none() || points_in(metric) > 0
                });
                !sm.metrics.is_empty()
            });
            !rm.scope_metrics.is_empty()
        });
        failure.map_or(Ok(dropped), Err)
    }
}

/// Pushes, for each point of `metric` in order, whether `matches` says to drop it.
fn decide_points<'a>(
    metric: &'a Metric,
    mut matches: impl FnMut(Point<'a>) -> Result<bool, EvalError>,
    out: &mut Vec<bool>,
) -> Result<(), EvalError> {
    let mut each = |p: Point<'a>| -> Result<(), EvalError> {
        out.push(matches(p)?);
        Ok(())
    };
    match &metric.data {
        Some(Data::Gauge(g)) => g
            .data_points
            .iter()
            .try_for_each(|p| each(Point::Number(p))),
        Some(Data::Sum(s)) => s
            .data_points
            .iter()
            .try_for_each(|p| each(Point::Number(p))),
        Some(Data::Histogram(h)) => h
            .data_points
            .iter()
            .try_for_each(|p| each(Point::Histogram(p))),
        Some(Data::ExponentialHistogram(h)) => h
            .data_points
            .iter()
            .try_for_each(|p| each(Point::ExponentialHistogram(p))),
        Some(Data::Summary(s)) => s
            .data_points
            .iter()
            .try_for_each(|p| each(Point::Summary(p))),
        None => Ok(()),
    }
}

/// Removes the points marked in `drop`; returns how many.
fn remove_points(metric: &mut Metric, drop: &[bool]) -> u64 {
    fn retain<P>(points: &mut Vec<P>, drop: &[bool]) -> u64 {
        let before = points.len();
        let mut i = 0;
        points.retain(|_| {
            let keep = !drop.get(i).copied().unwrap_or(false);
            i += 1;
            keep
        });
        (before - points.len()) as u64
    }
    match &mut metric.data {
        Some(Data::Gauge(g)) => retain(&mut g.data_points, drop),
        Some(Data::Sum(s)) => retain(&mut s.data_points, drop),
        Some(Data::Histogram(h)) => retain(&mut h.data_points, drop),
        Some(Data::ExponentialHistogram(h)) => retain(&mut h.data_points, drop),
        Some(Data::Summary(s)) => retain(&mut s.data_points, drop),
        None => 0,
    }
}

/// The counters of dropped items, upstream's `otelcol_processor_filter_*.filtered`.
#[derive(Debug, Clone)]
struct Counters {
    spans: Counter,
    data_points: Counter,
    log_records: Counter,
}

/// The Prometheus names of the dropped-item counters: upstream's
/// `otelcol_processor_filter_spans.filtered` (and `_datapoints`, `_logs`) with the dot
/// written `_`, as a Prometheus text-format scrape of the collector shows them.
pub const SPANS_FILTERED: &str = "otelcol_processor_filter_spans_filtered";
/// See [`SPANS_FILTERED`].
pub const DATAPOINTS_FILTERED: &str = "otelcol_processor_filter_datapoints_filtered";
/// See [`SPANS_FILTERED`].
pub const LOGS_FILTERED: &str = "otelcol_processor_filter_logs_filtered";

impl Counters {
    fn new(registry: &Registry, id: &str) -> Self {
        let labels = [("filter", id)];
        Counters {
            spans: registry.counter(
                SPANS_FILTERED,
                "Number of spans dropped by the filter processor",
                &labels,
            ),
            data_points: registry.counter(
                DATAPOINTS_FILTERED,
                "Number of metric data points dropped by the filter processor",
                &labels,
            ),
            log_records: registry.counter(
                LOGS_FILTERED,
                "Number of logs dropped by the filter processor",
                &labels,
            ),
        }
    }

    fn add(&self, d: Dropped) {
        self.spans.add(d.spans);
        self.data_points.add(d.data_points);
        self.log_records.add(d.log_records);
    }
}

/// A running `filter` processor.
pub struct Filter {
    rules: Rules,
    counters: Counters,
    next: BoxConsumer,
}

/// What filtering made of a batch.
enum Outcome {
    /// Something is left: pass it on.
    Pass(Telemetry),
    /// Everything was dropped: nothing to pass on.
    Empty,
    /// A condition failed under `propagate`.
    Failed(ConsumeError, Telemetry),
}

impl Filter {
    /// A filter with `rules` in front of `next`, counting into `registry` under the
    /// processor id `id`.
    pub fn new(rules: Rules, registry: &Registry, id: &str, next: BoxConsumer) -> Self {
        Filter {
            rules,
            counters: Counters::new(registry, id),
            next,
        }
    }

    fn filter(&self, mut data: Telemetry) -> Outcome {
        if self.rules.passes_all(&data.payload) {
            return Outcome::Pass(data);
        }
        match self.rules.apply(&mut data.payload) {
            Ok(dropped) => {
                self.counters.add(dropped);
                if data.payload.is_empty() {
                    Outcome::Empty
                } else {
                    Outcome::Pass(data)
                }
            }
            Err(e) => Outcome::Failed(
                ConsumeError::permanent(format!("filter processor: {e}")),
                data,
            ),
        }
    }
}

/// The admission of a batch the filter dropped whole: nothing to hand over.
struct NothingLeft;

#[async_trait]
impl Admission for NothingLeft {
    async fn commit(self: Box<Self>) -> Result<(), ConsumeError> {
        Ok(())
    }
}

#[async_trait]
impl Consumer for Filter {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        match self.filter(data) {
            Outcome::Pass(data) => self.next.consume(data).await,
            Outcome::Empty => Ok(()),
            Outcome::Failed(e, _) => Err(e),
        }
    }

    /// The filter holds nothing: it filters, then passes two-phase admission on, so a
    /// fan-out into pipelines that start with `filter` stays all or nothing.
    fn can_prepare(&self) -> bool {
        self.next.can_prepare()
    }

    async fn prepare(&self, data: Telemetry) -> Prepared {
        match self.filter(data) {
            Outcome::Pass(data) => self.next.prepare(data).await,
            Outcome::Empty => Prepared::Ready(Box::new(NothingLeft)),
            Outcome::Failed(e, data) => Prepared::Refused(e, data),
        }
    }

    fn destinations(&self) -> Vec<Arc<Destination>> {
        self.next.destinations()
    }
}

impl Component for Filter {}
