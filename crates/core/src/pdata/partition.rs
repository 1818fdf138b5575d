//! Splitting a batch into parts, one per target, by where each of its items goes.
//!
//! [`partition`] walks a payload twice. The first pass only borrows it: it asks an
//! [`Assign`] where each resource, scope, metric and item goes and writes the answers
//! down, one small step each. The second pass moves the data by those steps:
//!
//! - items (spans, log records, data points) are moved, never cloned;
//! - a resource, scope or metric whose items all go to one target moves whole; only
//!   the headers (resource, scope, metric identity) of those that are split are
//!   cloned, once per part that gets some of their items;
//! - a batch whose every decision is the same target is handed on whole, unchanged;
//! - order is kept: each part holds its resources, scopes, metrics and items in the
//!   order of the input.
//!
//! The caller decides at the level it likes: it can answer for a whole resource
//! ([`Assign::resource`]), a whole scope ([`Assign::scope`]), a whole metric
//! ([`Assign::metric`]), or say [`Route::Split`] and answer for each item below.

use super::Payload;
use super::common::{InstrumentationScope, KeyValue};
use super::logs::{LogRecord, ResourceLogs, ScopeLogs};
use super::metrics::{self, Metric, ResourceMetrics, ScopeMetrics, metric::Data};
use super::points_in;
use super::resource::Resource;
use super::trace::{ResourceSpans, ScopeSpans, Span};

/// Where a resource, scope or metric goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Whole, to the part of this target index.
    To(usize),
    /// Nowhere: its items are counted as dropped.
    Drop,
    /// Look at what is inside: each of its scopes, metrics or items is asked for.
    Split,
}

impl From<Option<usize>> for Route {
    fn from(t: Option<usize>) -> Self {
        t.map_or(Route::Drop, Route::To)
    }
}

/// Decides where the parts of a payload go, for [`partition`].
///
/// Methods are called in the payload's order, in one pass, before anything moves:
/// `resource` for every resource; for a resource that is split, `scope` for each of
/// its scopes; for a scope that is split, `span` / `log` for each item, or `metric`
/// for each metric and, for a metric that is split, `point` for each data point.
/// A target index is `Some(index)`, or `None` for dropped. The default methods split
/// everything and drop every item.
pub trait Assign {
    /// Where a whole resource goes; [`Route::Split`] to decide per scope.
    fn resource(&mut self, resource: Option<&Resource>) -> Route {
        let _ = resource;
        Route::Split
    }

    /// Where a whole scope of a split resource goes; [`Route::Split`] to decide per item.
    fn scope(
        &mut self,
        resource: Option<&Resource>,
        scope: Option<&InstrumentationScope>,
    ) -> Route {
        let _ = (resource, scope);
        Route::Split
    }

    /// Where one span goes.
    fn span(
        &mut self,
        resource: Option<&Resource>,
        scope: Option<&InstrumentationScope>,
        span: &Span,
    ) -> Option<usize> {
        let _ = (resource, scope, span);
        None
    }

    /// Where one log record goes.
    fn log(
        &mut self,
        resource: Option<&Resource>,
        scope: Option<&InstrumentationScope>,
        record: &LogRecord,
    ) -> Option<usize> {
        let _ = (resource, scope, record);
        None
    }

    /// Where a whole metric goes; [`Route::Split`] to decide per data point.
    fn metric(
        &mut self,
        resource: Option<&Resource>,
        scope: Option<&InstrumentationScope>,
        metric: &Metric,
    ) -> Route {
        let _ = (resource, scope, metric);
        Route::Split
    }

    /// Where one data point of a split metric goes, given the point's attributes.
    fn point(
        &mut self,
        resource: Option<&Resource>,
        scope: Option<&InstrumentationScope>,
        metric: &Metric,
        attributes: &[KeyValue],
    ) -> Option<usize> {
        let _ = (resource, scope, metric, attributes);
        None
    }

    /// Where a metric without data points goes when [`Assign::metric`] said split
    /// it. This answer does not count towards handing the batch on whole: when every
    /// other decision names one target, the metric travels with the batch. Default:
    /// nowhere.
    fn metric_without_points(
        &mut self,
        resource: Option<&Resource>,
        scope: Option<&InstrumentationScope>,
        metric: &Metric,
    ) -> Option<usize> {
        let _ = (resource, scope, metric);
        None
    }
}

/// A payload split by [`partition`].
#[derive(Debug, Clone, PartialEq)]
pub struct Partitioned {
    /// One payload per target index (at least as many as asked for, more if the
    /// [`Assign`] named a higher index); an empty payload for a target that got nothing.
    pub parts: Vec<Payload>,
    /// Items (spans, log records, data points) that went nowhere.
    pub dropped: u64,
}

/// Splits `payload` into one part per target, `targets` of them at least, by what
/// `assign` says of each resource, scope, metric and item (see the module doc).
pub fn partition(payload: Payload, targets: usize, assign: &mut impl Assign) -> Partitioned {
    let mut plan = Plan::default();
    match &payload {
        Payload::Traces(r) => plan_traces(r, assign, &mut plan),
        Payload::Logs(r) => plan_logs(r, assign, &mut plan),
        Payload::Metrics(r) => plan_metrics(r, assign, &mut plan),
    }
    let signal = payload.signal();
    let mut out = Out {
        parts: (0..targets).map(|_| Payload::empty(signal)).collect(),
        dropped: 0,
    };
    match plan.uniform {
        Uniform::One(Some(t)) => {
            out.slot(t, signal);
            out.parts[t] = payload;
            return out.done();
        }
        Uniform::One(None) => {
            out.dropped = payload.item_count() as u64;
            return out.done();
        }
        Uniform::Nothing | Uniform::Mixed => {}
    }
    let mut steps = plan.steps.iter();
    match payload {
        Payload::Traces(r) => place_all(r, &mut steps, &mut out, signal, |p| match p {
            Payload::Traces(v) => Some(v),
            _ => None,
        }),
        Payload::Logs(r) => place_all(r, &mut steps, &mut out, signal, |p| match p {
            Payload::Logs(v) => Some(v),
            _ => None,
        }),
        Payload::Metrics(r) => place_all(r, &mut steps, &mut out, signal, |p| match p {
            Payload::Metrics(v) => Some(v),
            _ => None,
        }),
    }
    out.done()
}

/// The attributes of each data point of `m`, in order.
pub fn point_attributes(m: &Metric) -> impl Iterator<Item = &[KeyValue]> {
    let (mut n, mut sum, mut h, mut e, mut s) = (&[][..], &[][..], &[][..], &[][..], &[][..]);
    match &m.data {
        Some(Data::Gauge(g)) => n = &g.data_points,
        Some(Data::Sum(x)) => sum = &x.data_points,
        Some(Data::Histogram(x)) => h = &x.data_points,
        Some(Data::ExponentialHistogram(x)) => e = &x.data_points,
        Some(Data::Summary(x)) => s = &x.data_points,
        None => {}
    }
    n.iter()
        .chain(sum)
        .map(|p| p.attributes.as_slice())
        .chain(h.iter().map(|p| p.attributes.as_slice()))
        .chain(e.iter().map(|p| p.attributes.as_slice()))
        .chain(s.iter().map(|p| p.attributes.as_slice()))
}

/// One recorded decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The node goes whole to a target, or (`None`) is dropped.
    Whole(Option<usize>),
    /// The node is split: the steps of its children follow.
    Split,
    /// A metric without points, placed by [`Assign::metric_without_points`].
    Aside(Option<usize>),
}

/// Whether every decision of the batch is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Uniform {
    #[default]
    Nothing,
    One(Option<usize>),
    Mixed,
}

#[derive(Debug, Default)]
struct Plan {
    steps: Vec<Step>,
    uniform: Uniform,
}

impl Plan {
    /// Records a decision for a node; returns whether it is split.
    fn decide(&mut self, r: Route) -> bool {
        let t = match r {
            Route::To(t) => Some(t),
            Route::Drop => None,
            Route::Split => {
                self.steps.push(Step::Split);
                return true;
            }
        };
        self.steps.push(Step::Whole(t));
        self.uniform = match self.uniform {
            Uniform::Nothing => Uniform::One(t),
            Uniform::One(u) if u == t => Uniform::One(t),
            _ => Uniform::Mixed,
        };
        false
    }

    /// After the children of the split node at `at` are recorded: when they all go
    /// to one place, the node goes there whole instead.
    fn fold(&mut self, at: usize) {
        let children = &self.steps[at + 1..];
        if let Some(&Step::Whole(t)) = children.first()
            && children.iter().all(|s| *s == Step::Whole(t))
        {
            self.steps.truncate(at);
            self.steps.push(Step::Whole(t));
        }
    }
}

fn plan_traces(resources: &[ResourceSpans], a: &mut impl Assign, plan: &mut Plan) {
    for rs in resources {
        let resource = rs.resource.as_ref();
        let at = plan.steps.len();
        if !plan.decide(a.resource(resource)) {
            continue;
        }
        for ss in &rs.scope_spans {
            let scope = ss.scope.as_ref();
            let s_at = plan.steps.len();
            if !plan.decide(a.scope(resource, scope)) {
                continue;
            }
            for span in &ss.spans {
                plan.decide(a.span(resource, scope, span).into());
            }
            plan.fold(s_at);
        }
        plan.fold(at);
    }
}

fn plan_logs(resources: &[ResourceLogs], a: &mut impl Assign, plan: &mut Plan) {
    for rl in resources {
        let resource = rl.resource.as_ref();
        let at = plan.steps.len();
        if !plan.decide(a.resource(resource)) {
            continue;
        }
        for sl in &rl.scope_logs {
            let scope = sl.scope.as_ref();
            let s_at = plan.steps.len();
            if !plan.decide(a.scope(resource, scope)) {
                continue;
            }
            for record in &sl.log_records {
                plan.decide(a.log(resource, scope, record).into());
            }
            plan.fold(s_at);
        }
        plan.fold(at);
    }
}

fn plan_metrics(resources: &[ResourceMetrics], a: &mut impl Assign, plan: &mut Plan) {
    for rm in resources {
        let resource = rm.resource.as_ref();
        let at = plan.steps.len();
        if !plan.decide(a.resource(resource)) {
            continue;
        }
        for sm in &rm.scope_metrics {
            let scope = sm.scope.as_ref();
            let s_at = plan.steps.len();
            if !plan.decide(a.scope(resource, scope)) {
                continue;
            }
            for metric in &sm.metrics {
                let m_at = plan.steps.len();
                if !plan.decide(a.metric(resource, scope, metric)) {
                    continue;
                }
                if points_in(metric) == 0 {
                    let t = a.metric_without_points(resource, scope, metric);
                    plan.steps[m_at] = Step::Aside(t);
                    continue;
                }
                for attributes in point_attributes(metric) {
                    plan.decide(a.point(resource, scope, metric, attributes).into());
                }
                plan.fold(m_at);
            }
            plan.fold(s_at);
        }
        plan.fold(at);
    }
}

/// The parts being filled.
struct Out {
    parts: Vec<Payload>,
    dropped: u64,
}

impl Out {
    /// Makes sure part `t` exists.
    fn slot(&mut self, t: usize, signal: crate::Signal) {
        if self.parts.len() <= t {
            self.parts.resize_with(t + 1, || Payload::empty(signal));
        }
    }

    fn done(self) -> Partitioned {
        Partitioned {
            parts: self.parts,
            dropped: self.dropped,
        }
    }
}

/// Pieces of one split node, keyed by target, in order of first use.
struct Pieces<T>(Vec<(usize, T)>);

impl<T> Pieces<T> {
    fn get(&mut self, t: usize, make: impl FnOnce() -> T) -> &mut T {
        let at = match self.0.iter().position(|(k, _)| *k == t) {
            Some(at) => at,
            None => {
                self.0.push((t, make()));
                self.0.len() - 1
            }
        };
        &mut self.0[at].1
    }
}

type Steps<'a> = std::slice::Iter<'a, Step>;

/// Something a batch is made of that can go whole or be split into pieces.
trait Node: Sized {
    /// Spans, log records or data points in it.
    fn items(&self) -> u64;
    /// Splits it by the steps of its children, handing each piece to `emit`.
    fn split(self, steps: &mut Steps<'_>, dropped: &mut u64, emit: &mut dyn FnMut(usize, Self));
}

/// Places `node` by its step.
fn place<N: Node>(
    node: N,
    steps: &mut Steps<'_>,
    dropped: &mut u64,
    emit: &mut dyn FnMut(usize, N),
) {
    match steps.next().copied() {
        Some(Step::Whole(Some(t)) | Step::Aside(Some(t))) => emit(t, node),
        Some(Step::Whole(None) | Step::Aside(None)) => *dropped += node.items(),
        Some(Step::Split) => node.split(steps, dropped, emit),
        // A plan made for this payload never runs short.
        None => *dropped += node.items(),
    }
}

/// Places every resource of a payload into its parts.
fn place_all<R: Node>(
    resources: Vec<R>,
    steps: &mut Steps<'_>,
    out: &mut Out,
    signal: crate::Signal,
    list: fn(&mut Payload) -> Option<&mut Vec<R>>,
) {
    let Out { parts, dropped } = out;
    for r in resources {
        place(r, steps, dropped, &mut |t, piece| {
            if parts.len() <= t {
                parts.resize_with(t + 1, || Payload::empty(signal));
            }
            if let Some(v) = parts.get_mut(t).and_then(list) {
                v.push(piece);
            }
        });
    }
}

/// A container node: a header (cloned into each piece) and a list of children.
macro_rules! container {
    ($ty:ty, $children:ident, $count:expr, $sized:expr) => {
        impl Node for $ty {
            fn items(&self) -> u64 {
                let count: fn(&Self) -> u64 = $count;
                count(self)
            }

            fn split(
                mut self,
                steps: &mut Steps<'_>,
                dropped: &mut u64,
                emit: &mut dyn FnMut(usize, Self),
            ) {
                let children = std::mem::take(&mut self.$children);
                // Leaf lists are sized once from the plan: items are large, growing copies them.
                let sized: bool = $sized;
                let ahead = steps.as_slice();
                let mut pieces: Pieces<Self> = Pieces(Vec::new());
                let n = children.len();
                for child in children {
                    place(child, steps, dropped, &mut |t, c| {
                        pieces
                            .get(t, || {
                                let mut shell = self.clone();
                                if sized {
                                    let k = ahead[..n.min(ahead.len())]
                                        .iter()
                                        .filter(|s| **s == Step::Whole(Some(t)))
                                        .count();
                                    shell.$children.reserve_exact(k);
                                }
                                shell
                            })
                            .$children
                            .push(c)
                    });
                }
                for (t, piece) in pieces.0 {
                    emit(t, piece);
                }
            }
        }
    };
}

container!(
    ResourceSpans,
    scope_spans,
    |r| r.scope_spans.iter().map(|s| s.spans.len() as u64).sum(),
    false
);
container!(ScopeSpans, spans, |s| s.spans.len() as u64, true);
container!(
    ResourceLogs,
    scope_logs,
    |r| r
        .scope_logs
        .iter()
        .map(|s| s.log_records.len() as u64)
        .sum(),
    false
);
container!(ScopeLogs, log_records, |s| s.log_records.len() as u64, true);
container!(
    ResourceMetrics,
    scope_metrics,
    |r| r
        .scope_metrics
        .iter()
        .flat_map(|s| &s.metrics)
        .map(|m| points_in(m) as u64)
        .sum(),
    false
);
container!(
    ScopeMetrics,
    metrics,
    |s| s.metrics.iter().map(|m| points_in(m) as u64).sum(),
    false
);

/// A leaf: it goes whole or not at all.
macro_rules! leaf {
    ($ty:ty) => {
        impl Node for $ty {
            fn items(&self) -> u64 {
                1
            }

            fn split(self, _: &mut Steps<'_>, dropped: &mut u64, _: &mut dyn FnMut(usize, Self)) {
                // A leaf is never split; a plan that says so drops it.
                *dropped += 1;
            }
        }
    };
}

leaf!(Span);
leaf!(LogRecord);

impl Node for Metric {
    fn items(&self) -> u64 {
        points_in(self) as u64
    }

    fn split(
        mut self,
        steps: &mut Steps<'_>,
        dropped: &mut u64,
        emit: &mut dyn FnMut(usize, Self),
    ) {
        let Some(data) = self.data.take() else {
            return;
        };
        let mut pieces: Pieces<Metric> = Pieces(Vec::new());
        macro_rules! points {
            ($variant:ident, $d:ident, $shell:expr) => {{
                let points = std::mem::take(&mut $d.data_points);
                let shell: Data = $shell;
                for p in points {
                    match steps.next().copied() {
                        Some(Step::Whole(Some(t))) => {
                            let m = pieces.get(t, || Metric {
                                data: Some(shell.clone()),
                                ..self.clone()
                            });
                            if let Some(Data::$variant(x)) = &mut m.data {
                                x.data_points.push(p);
                            }
                        }
                        _ => *dropped += 1,
                    }
                }
            }};
        }
        match data {
            Data::Gauge(mut d) => points!(Gauge, d, Data::Gauge(metrics::Gauge::default())),
            Data::Sum(mut d) => points!(
                Sum,
                d,
                Data::Sum(metrics::Sum {
                    data_points: Vec::new(),
                    ..d.clone()
                })
            ),
            Data::Histogram(mut d) => points!(
                Histogram,
                d,
                Data::Histogram(metrics::Histogram {
                    data_points: Vec::new(),
                    ..d.clone()
                })
            ),
            Data::ExponentialHistogram(mut d) => points!(
                ExponentialHistogram,
                d,
                Data::ExponentialHistogram(metrics::ExponentialHistogram {
                    data_points: Vec::new(),
                    ..d.clone()
                })
            ),
            Data::Summary(mut d) => points!(Summary, d, Data::Summary(metrics::Summary::default())),
        }
        for (t, piece) in pieces.0 {
            emit(t, piece);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdata::common::{AnyValue, any_value};
    use crate::pdata::metrics::NumberDataPoint;

    fn span(id: u8) -> Span {
        Span {
            span_id: vec![id; 8],
            ..Default::default()
        }
    }

    fn resource(name: &str) -> Option<Resource> {
        Some(Resource {
            attributes: vec![KeyValue {
                key: "service.name".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(name.into())),
                }),
                ..Default::default()
            }],
            ..Default::default()
        })
    }

    /// Resources named r0, r1, ... holding scopes of consecutive span ids from 1.
    fn traces(resources: &[&[u8]]) -> Vec<ResourceSpans> {
        let mut id = 0u8;
        resources
            .iter()
            .enumerate()
            .map(|(i, scopes)| ResourceSpans {
                resource: resource(&format!("r{i}")),
                scope_spans: scopes
                    .iter()
                    .map(|&n| ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: format!("s{n}"),
                            ..Default::default()
                        }),
                        spans: (0..n)
                            .map(|_| {
                                id += 1;
                                span(id)
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect()
    }

    fn ids(p: &Payload) -> Vec<u8> {
        let Payload::Traces(r) = p else {
            panic!("not traces")
        };
        r.iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .map(|s| s.span_id[0])
            .collect()
    }

    /// Spans by a function of their id.
    struct ById(fn(u8) -> Option<usize>);

    impl Assign for ById {
        fn span(
            &mut self,
            _: Option<&Resource>,
            _: Option<&InstrumentationScope>,
            span: &Span,
        ) -> Option<usize> {
            (self.0)(span.span_id[0])
        }
    }

    #[test]
    fn items_keep_their_order_resource_and_scope_and_dropped_are_counted() {
        let input = traces(&[&[2, 3], &[4], &[1]]);
        let mut by = ById(|id| match id % 3 {
            0 => None,
            1 => Some(0),
            _ => Some(2),
        });
        let p = partition(Payload::Traces(input.clone()), 3, &mut by);
        assert_eq!(p.parts.len(), 3);
        assert_eq!(ids(&p.parts[0]), vec![1, 4, 7, 10]);
        assert!(p.parts[1].is_empty());
        assert_eq!(ids(&p.parts[2]), vec![2, 5, 8]);
        assert_eq!(p.dropped, 3);
        // Every piece keeps the resource and scope its items came from.
        for part in &p.parts {
            let Payload::Traces(rs) = part else { panic!() };
            for r in rs {
                let src = input.iter().find(|i| i.resource == r.resource).unwrap();
                for s in &r.scope_spans {
                    let from = src.scope_spans.iter().find(|x| x.scope == s.scope).unwrap();
                    assert!(s.spans.iter().all(|sp| from.spans.contains(sp)));
                }
            }
        }
    }

    #[test]
    fn a_resource_whose_items_all_go_one_way_moves_whole() {
        let input = traces(&[&[2, 1], &[3]]);
        // r0's spans (1..=3) to 0, r1's (4..=6) split between 0 and 1.
        let mut by = ById(|id| Some(usize::from(id >= 4 && id % 2 == 1)));
        let heap = input[0].scope_spans.as_ptr();
        let spans_heap = input[0].scope_spans[0].spans.as_ptr();
        let p = partition(Payload::Traces(input), 2, &mut by);
        let Payload::Traces(zero) = &p.parts[0] else {
            panic!()
        };
        // The same allocations: moved, not rebuilt.
        assert_eq!(zero[0].scope_spans.as_ptr(), heap);
        assert_eq!(zero[0].scope_spans[0].spans.as_ptr(), spans_heap);
        assert_eq!(zero.len(), 2);
        assert_eq!(ids(&p.parts[0]), vec![1, 2, 3, 4, 6]);
        assert_eq!(ids(&p.parts[1]), vec![5]);
        assert_eq!(p.dropped, 0);
    }

    #[test]
    fn a_batch_all_going_one_way_is_handed_on_unchanged() {
        // The empty scope and the empty resource travel with it.
        let input = traces(&[&[2, 0], &[]]);
        let mut by = ById(|_| Some(1));
        let p = partition(Payload::Traces(input.clone()), 2, &mut by);
        assert_eq!(p.parts[1], Payload::Traces(input));
        assert!(p.parts[0].is_empty());
        let mut none = ById(|_| None);
        let p = partition(Payload::Traces(traces(&[&[2, 3]])), 2, &mut none);
        assert_eq!(p.dropped, 5);
        assert!(p.parts.iter().all(Payload::is_empty));
    }

    /// Whole resources by name; r2 is dropped.
    struct ByResource;

    impl Assign for ByResource {
        fn resource(&mut self, r: Option<&Resource>) -> Route {
            let r = r.map(|r| format!("{:?}", r.attributes[0].value));
            match r.as_deref().map(|s| s.contains("r2")) {
                Some(true) => Route::Drop,
                _ if r.as_deref().is_some_and(|s| s.contains("r1")) => Route::To(1),
                _ => Route::To(0),
            }
        }
    }

    #[test]
    fn whole_resources_route_and_indexes_past_targets_grow_the_parts() {
        let p = partition(
            Payload::Traces(traces(&[&[1], &[2], &[3]])),
            1,
            &mut ByResource,
        );
        assert_eq!(p.parts.len(), 2);
        assert_eq!(ids(&p.parts[0]), vec![1]);
        assert_eq!(ids(&p.parts[1]), vec![2, 3]);
        assert_eq!(p.dropped, 3);
    }

    fn gauge(name: &str, points: &[i64]) -> Metric {
        Metric {
            name: name.into(),
            unit: "By".into(),
            description: "d".into(),
            data: Some(Data::Sum(metrics::Sum {
                data_points: points
                    .iter()
                    .map(|&v| NumberDataPoint {
                        attributes: vec![KeyValue {
                            key: "v".into(),
                            value: Some(AnyValue {
                                value: Some(any_value::Value::IntValue(v)),
                            }),
                            ..Default::default()
                        }],
                        ..Default::default()
                    })
                    .collect(),
                aggregation_temporality: 2,
                is_monotonic: true,
            })),
            ..Default::default()
        }
    }

    /// Points by their `v` attribute: even to 0, odd to 1, negative dropped; metrics
    /// without points to 2.
    struct ByPoint;

    impl Assign for ByPoint {
        fn point(
            &mut self,
            _: Option<&Resource>,
            _: Option<&InstrumentationScope>,
            _: &Metric,
            attributes: &[KeyValue],
        ) -> Option<usize> {
            match attributes[0].value.as_ref()?.value {
                Some(any_value::Value::IntValue(v)) if v >= 0 => Some((v % 2) as usize),
                _ => None,
            }
        }

        fn metric_without_points(
            &mut self,
            _: Option<&Resource>,
            _: Option<&InstrumentationScope>,
            _: &Metric,
        ) -> Option<usize> {
            Some(2)
        }
    }

    fn metrics_of(p: &Payload) -> Vec<&Metric> {
        let Payload::Metrics(r) = p else { panic!() };
        r.iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .collect()
    }

    fn values(m: &Metric) -> Vec<i64> {
        point_attributes(m)
            .map(
                |a| match a[0].value.as_ref().and_then(|v| v.value.clone()) {
                    Some(any_value::Value::IntValue(v)) => v,
                    _ => 0,
                },
            )
            .collect()
    }

    #[test]
    fn metrics_split_by_point_keep_the_metric_identity() {
        let whole = gauge("all-even", &[2, 4]);
        let input = vec![ResourceMetrics {
            resource: resource("r"),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![
                    gauge("mixed", &[1, 2, -1, 3]),
                    whole.clone(),
                    gauge("empty", &[]),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }];
        let p = partition(Payload::Metrics(input), 3, &mut ByPoint);
        assert_eq!(p.dropped, 1);
        let even = metrics_of(&p.parts[0]);
        let odd = metrics_of(&p.parts[1]);
        assert_eq!(even.len(), 2);
        assert_eq!(values(even[0]), vec![2]);
        assert_eq!(*even[1], whole);
        assert_eq!(odd.len(), 1);
        assert_eq!(values(odd[0]), vec![1, 3]);
        for m in [even[0], odd[0]] {
            assert_eq!(
                (m.name.as_str(), m.unit.as_str(), m.description.as_str()),
                ("mixed", "By", "d")
            );
            let Some(Data::Sum(s)) = &m.data else {
                panic!("not a sum")
            };
            assert_eq!((s.aggregation_temporality, s.is_monotonic), (2, true));
        }
        let aside = metrics_of(&p.parts[2]);
        assert_eq!(aside.len(), 1);
        assert_eq!(aside[0].name, "empty");
    }

    #[test]
    fn a_metric_without_points_does_not_stop_a_batch_going_whole() {
        let input = vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![gauge("a", &[2]), gauge("empty", &[])],
                ..Default::default()
            }],
            ..Default::default()
        }];
        let p = partition(Payload::Metrics(input.clone()), 3, &mut ByPoint);
        assert_eq!(p.parts[0], Payload::Metrics(input));
    }

    #[test]
    fn point_attributes_walks_every_kind() {
        let m = gauge("m", &[5, 6, 7]);
        assert_eq!(values(&m), vec![5, 6, 7]);
        let h = Metric {
            data: Some(Data::Histogram(metrics::Histogram {
                data_points: vec![Default::default(); 2],
                aggregation_temporality: 1,
            })),
            ..Default::default()
        };
        assert_eq!(point_attributes(&h).count(), 2);
        assert_eq!(point_attributes(&Metric::default()).count(), 0);
    }
}
