//! The running `attributes` processor: edits attributes in place and passes the data
//! on, through `consume` or through two-phase admission.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_attraction::{Actions, Change, Filter, Journal};
use stratus_core::factory::ConfigProblem;
use stratus_core::pdata::common::KeyValue;
use stratus_core::pdata::logs::ResourceLogs;
use stratus_core::pdata::metrics::{Metric, ResourceMetrics, metric::Data};
use stratus_core::pdata::trace::ResourceSpans;
use stratus_core::{
    BoxConsumer, Component, ConsumeError, Consumer, Destination, Metadata, Payload, Prepared,
    Signal, Telemetry,
};

use crate::config::AttributesConfig;

/// A running `attributes` processor.
///
/// Spans and log records have their own attributes edited; metrics have the
/// attributes of every data point of each matching metric edited (metrics match on
/// `metric_names` and `resources`).
pub struct AttributesProcessor {
    actions: Actions,
    spans: Filter,
    logs: Filter,
    metrics: Filter,
    next: BoxConsumer,
}

/// Where an edited attribute list is in a payload: resource, scope, item and (for
/// metrics) data point index.
type Path = [usize; 4];

/// The changes made to a payload, in order, to give refused data back as it came.
type Undo = Journal<(Path, Change)>;

impl AttributesProcessor {
    /// The processor for `config`, compiled for the pipelines' `signals` (each
    /// signal's include/exclude rules are checked), handing data to `next`.
    pub fn new(
        config: &AttributesConfig,
        signals: &[Signal],
        next: BoxConsumer,
    ) -> Result<AttributesProcessor, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let actions = Actions::compile("actions", &config.actions);
        let mut filter = |signal: Signal| {
            if !signals.contains(&signal) {
                return Filter::default();
            }
            match Filter::new(signal, config.include.as_ref(), config.exclude.as_ref()) {
                Ok(f) => f,
                Err(mut p) => {
                    problems.append(&mut p);
                    Filter::default()
                }
            }
        };
        let (spans, logs, metrics) = (
            filter(Signal::Traces),
            filter(Signal::Logs),
            filter(Signal::Metrics),
        );
        let actions = match actions {
            Ok(a) if problems.is_empty() => a,
            Ok(_) => return Err(problems),
            Err(mut p) => {
                p.append(&mut problems);
                return Err(p);
            }
        };
        if signals.contains(&Signal::Metrics)
            && (config.include.is_some() || config.exclude.is_some())
            && metrics.is_empty()
        {
            tracing::warn!(
                "attributes processor: include/exclude name neither metric_names nor \
                 resources, so they do not filter metrics; every data point is processed"
            );
        }
        Ok(AttributesProcessor {
            actions,
            spans,
            logs,
            metrics,
            next,
        })
    }

    /// Applies the actions to every matching item of `payload`. With `undo`, every
    /// change is recorded.
    fn process(&self, payload: &mut Payload, metadata: &Metadata, mut undo: Option<&mut Undo>) {
        let mut apply = |attrs: &mut Vec<KeyValue>, at: Path| match undo.as_deref_mut() {
            None => self.actions.apply(attrs, metadata),
            Some(u) => self
                .actions
                .apply_recording(attrs, metadata, &mut |c| u.record((at, c))),
        };
        match payload {
            Payload::Traces(r) => self.traces(r, &mut apply),
            Payload::Logs(r) => self.logs(r, &mut apply),
            Payload::Metrics(r) => self.metrics(r, &mut apply),
        }
    }

    fn traces(&self, rss: &mut [ResourceSpans], apply: &mut impl FnMut(&mut Vec<KeyValue>, Path)) {
        for (ri, rs) in rss.iter_mut().enumerate() {
            let at_resource = self.spans.resource(rs.resource.as_ref());
            for (si, ss) in rs.scope_spans.iter_mut().enumerate() {
                let at_scope = at_resource.scope(ss.scope.as_ref());
                for (ki, span) in ss.spans.iter_mut().enumerate() {
                    if !at_scope.skip_span(span) {
                        apply(&mut span.attributes, [ri, si, ki, 0]);
                    }
                }
            }
        }
    }

    fn logs(&self, rls: &mut [ResourceLogs], apply: &mut impl FnMut(&mut Vec<KeyValue>, Path)) {
        for (ri, rl) in rls.iter_mut().enumerate() {
            let at_resource = self.logs.resource(rl.resource.as_ref());
            for (si, sl) in rl.scope_logs.iter_mut().enumerate() {
                let at_scope = at_resource.scope(sl.scope.as_ref());
                for (ki, record) in sl.log_records.iter_mut().enumerate() {
                    if !at_scope.skip_log(record) {
                        apply(&mut record.attributes, [ri, si, ki, 0]);
                    }
                }
            }
        }
    }

    fn metrics(
        &self,
        rms: &mut [ResourceMetrics],
        apply: &mut impl FnMut(&mut Vec<KeyValue>, Path),
    ) {
        for (ri, rm) in rms.iter_mut().enumerate() {
            let at_resource = self.metrics.resource(rm.resource.as_ref());
            for (si, sm) in rm.scope_metrics.iter_mut().enumerate() {
                for (mi, metric) in sm.metrics.iter_mut().enumerate() {
                    if at_resource.skip_metric(metric) {
                        continue;
                    }
                    for_each_point(metric, |pi, attrs| apply(attrs, [ri, si, mi, pi]));
                }
            }
        }
    }
}

/// Calls `f` with the index and attributes of every data point of a metric.
fn for_each_point(metric: &mut Metric, mut f: impl FnMut(usize, &mut Vec<KeyValue>)) {
    macro_rules! each {
        ($points:expr) => {
            for (i, p) in $points.iter_mut().enumerate() {
                f(i, &mut p.attributes)
            }
        };
    }
    match &mut metric.data {
        Some(Data::Gauge(g)) => each!(g.data_points),
        Some(Data::Sum(s)) => each!(s.data_points),
        Some(Data::Histogram(h)) => each!(h.data_points),
        Some(Data::ExponentialHistogram(h)) => each!(h.data_points),
        Some(Data::Summary(s)) => each!(s.data_points),
        None => {}
    }
}

/// The attributes of data point `i` of a metric.
fn point_attrs(metric: &mut Metric, i: usize) -> Option<&mut Vec<KeyValue>> {
    Some(match &mut metric.data {
        Some(Data::Gauge(g)) => &mut g.data_points.get_mut(i)?.attributes,
        Some(Data::Sum(s)) => &mut s.data_points.get_mut(i)?.attributes,
        Some(Data::Histogram(h)) => &mut h.data_points.get_mut(i)?.attributes,
        Some(Data::ExponentialHistogram(h)) => &mut h.data_points.get_mut(i)?.attributes,
        Some(Data::Summary(s)) => &mut s.data_points.get_mut(i)?.attributes,
        None => return None,
    })
}

/// Reverts one recorded change in `payload` (the data this processor edited, handed
/// back unchanged by the consumer that refused it).
fn revert(([r, s, k, p], change): (Path, Change), payload: &mut Payload) {
    let attrs = match payload {
        Payload::Traces(rss) => rss
            .get_mut(r)
            .and_then(|rs| rs.scope_spans.get_mut(s))
            .and_then(|ss| ss.spans.get_mut(k))
            .map(|span| &mut span.attributes),
        Payload::Logs(rls) => rls
            .get_mut(r)
            .and_then(|rl| rl.scope_logs.get_mut(s))
            .and_then(|sl| sl.log_records.get_mut(k))
            .map(|record| &mut record.attributes),
        Payload::Metrics(rms) => rms
            .get_mut(r)
            .and_then(|rm| rm.scope_metrics.get_mut(s))
            .and_then(|sm| sm.metrics.get_mut(k))
            .and_then(|m| point_attrs(m, p)),
    };
    if let Some(attrs) = attrs {
        change.revert(attrs);
    }
}

#[async_trait]
impl Consumer for AttributesProcessor {
    async fn consume(&self, mut data: Telemetry) -> Result<(), ConsumeError> {
        self.process(&mut data.payload, &data.metadata, None);
        self.next.consume(data).await
    }

    /// Two-phase admission passes through when the next consumer reserves, so a
    /// fan-out through this processor stays all or nothing.
    fn can_prepare(&self) -> bool {
        self.next.can_prepare()
    }

    /// Edits the data and asks the next consumer for room. Data handed back (refused,
    /// or to be offered through `consume` instead) gets its attributes back as they
    /// came, so a retry, or another failover level, sees the data it sent and the
    /// actions (`hash`!) never apply twice.
    async fn prepare(&self, data: Telemetry) -> Prepared {
        Journal::prepare(
            &*self.next,
            data,
            |data, undo| self.process(&mut data.payload, &data.metadata, Some(undo)),
            revert,
        )
        .await
    }

    fn destinations(&self) -> Vec<Arc<Destination>> {
        self.next.destinations()
    }
}

impl Component for AttributesProcessor {}
