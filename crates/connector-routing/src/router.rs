//! Deciding where each item goes (the plan), then splitting the batch by that plan.
//!
//! Each route's condition is evaluated at its own level: request routes once per batch,
//! resource routes once per resource, metric routes once per metric, item routes per
//! item. The level the batch is split at is the finest level any route of the signal
//! uses: whole resources when every route is a resource or request route (nothing is
//! split), spans / log records / metrics / data points otherwise. An item goes to the
//! first route, in table order, whose condition holds for it (or for its resource,
//! metric or request); items no route takes go to the default target, or are dropped.

use stratus_core::Metadata;
use stratus_core::pdata::common::InstrumentationScope;
use stratus_core::pdata::logs::{ResourceLogs, ScopeLogs};
use stratus_core::pdata::metrics::{self, Metric, ResourceMetrics, ScopeMetrics, metric::Data};
use stratus_core::pdata::points_in;
use stratus_core::pdata::resource::Resource;
use stratus_core::pdata::trace::{ResourceSpans, ScopeSpans};
use stratus_core::{Payload, Signal};
use stratus_ottl::{Condition, Context, ErrorMode, EvalError, Item, Point};

/// Where an item goes: a target index, or nowhere (dropped).
pub(crate) type Target = Option<u16>;

/// One route, compiled.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRoute {
    pub context: Context,
    /// `None` for `route()`, which always matches.
    pub condition: Option<Condition>,
    pub target: u16,
}

/// The level a signal's batches are split at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    /// Whole resources.
    Resource,
    /// Spans, log records or metrics.
    Item,
    /// Metric data points.
    Point,
}

/// What a signal's router decides with.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub routes: Vec<CompiledRoute>,
    pub default: Target,
    pub mode: ErrorMode,
    pub level: Level,
}

/// How each resource of a batch is routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResourcePlan {
    /// The whole resource goes to one target.
    Whole(Target),
    /// Its items are routed one by one: their targets are next in `Plan::items`.
    Items,
}

/// Where every part of a batch goes.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    resources: Vec<ResourcePlan>,
    items: Vec<Target>,
    /// The one target of the whole batch, when everything goes to the same place
    /// (`Some(None)`: everything is dropped); `None` when the batch must be split.
    uniform: Option<Target>,
    /// Whether the items of metric batches are data points (rather than metrics).
    by_point: bool,
    /// Where a metric with no points goes when points are routed one by one.
    default: Target,
}

impl Plan {
    fn note(&mut self, t: Target, first: &mut bool) {
        if *first {
            self.uniform = Some(t);
            *first = false;
        } else if self.uniform != Some(t) {
            self.uniform = None;
        }
    }

    /// The target of the whole batch when it need not be split.
    pub(crate) fn uniform(&self) -> Option<Target> {
        self.uniform
    }
}

/// A route's answer for one resource or metric, remembered for the items under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cached {
    Unknown,
    No,
    Yes,
    /// Failed to evaluate (under `ignore`/`silent`): the item goes to the default.
    Failed,
}

/// What evaluating one route on one item says.
enum Verdict {
    Match,
    NoMatch,
    /// Failed under `ignore`/`silent`: go to the default target, stop looking.
    Default,
}

impl Table {
    /// Evaluates `c` on `item` under the error mode.
    fn eval(&self, c: &Condition, item: &Item<'_>) -> Result<Verdict, EvalError> {
        match c.eval(item) {
            Ok(true) => Ok(Verdict::Match),
            Ok(false) => Ok(Verdict::NoMatch),
            Err(e) if self.mode == ErrorMode::Propagate => Err(EvalError::new(format!(
                "route condition `{}`: {e}",
                c.text()
            ))),
            Err(e) => {
                self.mode.log(c, &e);
                Ok(Verdict::Default)
            }
        }
    }

    /// Evaluates a coarse-level route through a cache.
    fn cached(
        &self,
        cache: &mut [Cached],
        i: usize,
        eval: impl FnOnce() -> Result<Verdict, EvalError>,
    ) -> Result<Verdict, EvalError> {
        if cache[i] == Cached::Unknown {
            cache[i] = match eval()? {
                Verdict::Match => Cached::Yes,
                Verdict::NoMatch => Cached::No,
                Verdict::Default => Cached::Failed,
            };
        }
        Ok(match cache[i] {
            Cached::Yes => Verdict::Match,
            Cached::Failed => Verdict::Default,
            _ => Verdict::NoMatch,
        })
    }

    /// The request routes' answers for a batch (`false` for the other routes).
    fn request_matches(&self, metadata: &Metadata) -> Result<Vec<bool>, EvalError> {
        let item = Item::Request { metadata };
        self.routes
            .iter()
            .map(|r| match (&r.condition, r.context) {
                (Some(c), Context::Request) => Ok(matches!(self.eval(c, &item)?, Verdict::Match)),
                _ => Ok(false),
            })
            .collect()
    }

    /// The first route from `from` that `verdict` matches; the default otherwise.
    fn first(
        &self,
        from: usize,
        mut verdict: impl FnMut(usize, &CompiledRoute) -> Result<Verdict, EvalError>,
    ) -> Result<Target, EvalError> {
        for (i, r) in self.routes.iter().enumerate().skip(from) {
            match verdict(i, r)? {
                Verdict::Match => return Ok(Some(r.target)),
                Verdict::NoMatch => {}
                Verdict::Default => return Ok(self.default),
            }
        }
        Ok(self.default)
    }

    /// The resource-level pass: the target of the whole resource, or the index of the
    /// first route that needs its items.
    fn resource_pass(
        &self,
        requests: &[bool],
        resource: Option<&Resource>,
        cache: &mut [Cached],
    ) -> Result<Result<Target, usize>, EvalError> {
        let item = Item::Resource { resource };
        for (i, r) in self.routes.iter().enumerate() {
            let verdict = match (r.context, &r.condition) {
                (Context::Request, _) if requests[i] => Verdict::Match,
                (Context::Request, _) => Verdict::NoMatch,
                (Context::Resource, None) => Verdict::Match,
                (Context::Resource, Some(c)) => self.cached(cache, i, || self.eval(c, &item))?,
                _ => return Ok(Err(i)),
            };
            match verdict {
                Verdict::Match => return Ok(Ok(Some(r.target))),
                Verdict::NoMatch => {}
                Verdict::Default => return Ok(Ok(self.default)),
            }
        }
        Ok(Ok(self.default))
    }

    /// A route's verdict for an item below its resource, the coarser levels answered
    /// from the batch's request answers and the caches.
    #[allow(clippy::too_many_arguments)]
    fn item_verdict(
        &self,
        i: usize,
        r: &CompiledRoute,
        requests: &[bool],
        resource: Option<&Resource>,
        res_cache: &mut [Cached],
        metric_level: Option<(&mut [Cached], &Item<'_>)>,
        item: &Item<'_>,
    ) -> Result<Verdict, EvalError> {
        let Some(c) = &r.condition else {
            return Ok(if r.context == Context::Request && !requests[i] {
                Verdict::NoMatch
            } else {
                Verdict::Match
            });
        };
        match r.context {
            Context::Request => Ok(if requests[i] {
                Verdict::Match
            } else {
                Verdict::NoMatch
            }),
            Context::Resource => {
                self.cached(res_cache, i, || self.eval(c, &Item::Resource { resource }))
            }
            Context::Metric if item.context() == Context::DataPoint => match metric_level {
                Some((cache, metric_item)) => self.cached(cache, i, || self.eval(c, metric_item)),
                None => Ok(Verdict::NoMatch),
            },
            ctx if ctx == item.context() => self.eval(c, item),
            // A route of a context this signal does not have is removed at build.
            _ => Ok(Verdict::NoMatch),
        }
    }

    /// Plans a batch of `signal`.
    pub(crate) fn plan(&self, payload: &Payload, metadata: &Metadata) -> Result<Plan, EvalError> {
        let requests = self.request_matches(metadata)?;
        let n = self.routes.len();
        let mut plan = Plan {
            by_point: self.level == Level::Point,
            default: self.default,
            ..Plan::default()
        };
        let mut first = true;
        let mut res_cache = vec![Cached::Unknown; n];
        let mut metric_cache = vec![Cached::Unknown; n];
        macro_rules! per_resource {
            ($resources:expr, |$rs:ident, $from:ident| $items:block) => {
                for $rs in $resources {
                    res_cache.fill(Cached::Unknown);
                    let resource = $rs.resource.as_ref();
                    match self.resource_pass(&requests, resource, &mut res_cache)? {
                        Ok(t) => {
                            plan.resources.push(ResourcePlan::Whole(t));
                            plan.note(t, &mut first);
                        }
                        Err($from) => {
                            plan.resources.push(ResourcePlan::Items);
                            $items
                        }
                    }
                }
            };
        }
        match payload {
            Payload::Traces(resources) => per_resource!(resources, |rs, from| {
                let resource = rs.resource.as_ref();
                for ss in &rs.scope_spans {
                    let scope = ss.scope.as_ref();
                    for span in &ss.spans {
                        let item = Item::Span {
                            resource,
                            scope,
                            span,
                        };
                        let t = self.first(from, |i, r| {
                            self.item_verdict(
                                i,
                                r,
                                &requests,
                                resource,
                                &mut res_cache,
                                None,
                                &item,
                            )
                        })?;
                        plan.items.push(t);
                        plan.note(t, &mut first);
                    }
                }
            }),
            Payload::Logs(resources) => per_resource!(resources, |rl, from| {
                let resource = rl.resource.as_ref();
                for sl in &rl.scope_logs {
                    let scope = sl.scope.as_ref();
                    for record in &sl.log_records {
                        let item = Item::Log {
                            resource,
                            scope,
                            record,
                        };
                        let t = self.first(from, |i, r| {
                            self.item_verdict(
                                i,
                                r,
                                &requests,
                                resource,
                                &mut res_cache,
                                None,
                                &item,
                            )
                        })?;
                        plan.items.push(t);
                        plan.note(t, &mut first);
                    }
                }
            }),
            Payload::Metrics(resources) => per_resource!(resources, |rm, from| {
                let resource = rm.resource.as_ref();
                for sm in &rm.scope_metrics {
                    let scope = sm.scope.as_ref();
                    for metric in &sm.metrics {
                        let metric_item = Item::Metric {
                            resource,
                            scope,
                            metric,
                        };
                        if self.level != Level::Point {
                            let t = self.first(from, |i, r| {
                                self.item_verdict(
                                    i,
                                    r,
                                    &requests,
                                    resource,
                                    &mut res_cache,
                                    None,
                                    &metric_item,
                                )
                            })?;
                            plan.items.push(t);
                            plan.note(t, &mut first);
                            continue;
                        }
                        if points_in(metric) == 0 {
                            // No point to route it by: it goes where unmatched items go.
                            plan.note(self.default, &mut first);
                            continue;
                        }
                        metric_cache.fill(Cached::Unknown);
                        let mut each = |point: Point<'_>| -> Result<(), EvalError> {
                            let item = Item::DataPoint {
                                resource,
                                scope,
                                metric,
                                point,
                            };
                            let t = self.first(from, |i, r| {
                                self.item_verdict(
                                    i,
                                    r,
                                    &requests,
                                    resource,
                                    &mut res_cache,
                                    Some((&mut metric_cache, &metric_item)),
                                    &item,
                                )
                            })?;
                            plan.items.push(t);
                            plan.note(t, &mut first);
                            Ok(())
                        };
                        for_each_point(metric, &mut each)?;
                    }
                }
            }),
        }
        if first {
            // No resources at all: nothing to send.
            plan.uniform = Some(None);
        }
        Ok(plan)
    }
}

/// Calls `f` on every point of `metric`, in order.
fn for_each_point<'a>(
    metric: &'a Metric,
    f: &mut impl FnMut(Point<'a>) -> Result<(), EvalError>,
) -> Result<(), EvalError> {
    match &metric.data {
        Some(Data::Gauge(g)) => g.data_points.iter().try_for_each(|p| f(Point::Number(p))),
        Some(Data::Sum(s)) => s.data_points.iter().try_for_each(|p| f(Point::Number(p))),
        Some(Data::Histogram(h)) => h
            .data_points
            .iter()
            .try_for_each(|p| f(Point::Histogram(p))),
        Some(Data::ExponentialHistogram(h)) => h
            .data_points
            .iter()
            .try_for_each(|p| f(Point::ExponentialHistogram(p))),
        Some(Data::Summary(s)) => s.data_points.iter().try_for_each(|p| f(Point::Summary(p))),
        None => Ok(()),
    }
}

/// The level a signal's batches are split at, for the routes that apply to it.
pub(crate) fn level(signal: Signal, routes: &[CompiledRoute]) -> Level {
    let has = |c: Context| routes.iter().any(|r| r.context == c);
    match signal {
        Signal::Metrics if has(Context::DataPoint) => Level::Point,
        Signal::Metrics if has(Context::Metric) => Level::Item,
        Signal::Traces if has(Context::Span) => Level::Item,
        Signal::Logs if has(Context::Log) => Level::Item,
        _ => Level::Resource,
    }
}

/// Whether a route of `context` can match items of `signal`.
pub(crate) fn applies(context: Context, signal: Signal) -> bool {
    match context {
        Context::Resource | Context::Request => true,
        Context::Span => signal == Signal::Traces,
        Context::Log => signal == Signal::Logs,
        Context::Metric | Context::DataPoint => signal == Signal::Metrics,
        Context::SpanEvent => false,
    }
}

/// Per target, the resources (or pieces of them) it gets.
pub(crate) struct Split {
    /// Parts, by target index; empty payloads for targets that get nothing.
    pub parts: Vec<Payload>,
    /// Items no route took and no default pipeline took.
    pub dropped: u64,
}

/// A piece of one resource or scope, keyed by target.
struct Pieces<T>(Vec<(u16, T)>);

impl<T> Pieces<T> {
    fn new() -> Self {
        Pieces(Vec::new())
    }

    fn get(&mut self, t: u16, make: impl FnOnce() -> T) -> &mut T {
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

fn spans_in(rs: &ResourceSpans) -> u64 {
    rs.scope_spans.iter().map(|s| s.spans.len() as u64).sum()
}

fn records_in(rl: &ResourceLogs) -> u64 {
    rl.scope_logs
        .iter()
        .map(|s| s.log_records.len() as u64)
        .sum()
}

fn points_in_resource(rm: &ResourceMetrics) -> u64 {
    rm.scope_metrics
        .iter()
        .flat_map(|s| &s.metrics)
        .map(|m| points_in(m) as u64)
        .sum()
}

fn scope_of(scope: &Option<InstrumentationScope>) -> Option<InstrumentationScope> {
    scope.clone()
}

/// The next `n` targets of the plan (fewer if the plan is short, which a plan made for
/// the same payload never is).
fn next_targets<'p>(items: &mut &'p [Target], n: usize) -> &'p [Target] {
    let (now, rest) = items.split_at(n.min(items.len()));
    *items = rest;
    now
}

/// How many of `ts` go to target `t`: the capacity of its piece.
fn count(ts: &[Target], t: u16) -> usize {
    ts.iter().filter(|x| **x == Some(t)).count()
}

/// Splits `payload` by `plan` into one payload per target (of `targets`), moving the
/// items and copying only the resource and scope headers of resources that are split.
pub(crate) fn split(payload: Payload, plan: &Plan, targets: usize) -> Split {
    let mut items: &[Target] = &plan.items;
    let mut dropped = 0u64;
    let parts = match payload {
        Payload::Traces(resources) => {
            let mut out: Vec<Vec<ResourceSpans>> = (0..targets).map(|_| Vec::new()).collect();
            for (rs, rp) in resources.into_iter().zip(&plan.resources) {
                match *rp {
                    ResourcePlan::Whole(Some(t)) => out[usize::from(t)].push(rs),
                    ResourcePlan::Whole(None) => dropped += spans_in(&rs),
                    ResourcePlan::Items => {
                        let ResourceSpans {
                            resource,
                            scope_spans,
                            schema_url,
                            ..
                        } = rs;
                        let mut pieces = Pieces::new();
                        for ss in scope_spans {
                            let ScopeSpans {
                                scope,
                                spans,
                                schema_url: scope_url,
                                ..
                            } = ss;
                            let mut scoped = Pieces::new();
                            let ts = next_targets(&mut items, spans.len());
                            for (span, t) in spans.into_iter().zip(ts) {
                                match *t {
                                    Some(t) => scoped
                                        .get(t, || ScopeSpans {
                                            scope: scope_of(&scope),
                                            schema_url: scope_url.clone(),
                                            spans: Vec::with_capacity(count(ts, t)),
                                        })
                                        .spans
                                        .push(span),
                                    None => dropped += 1,
                                }
                            }
                            for (t, piece) in scoped.0 {
                                pieces
                                    .get(t, || ResourceSpans {
                                        resource: resource.clone(),
                                        schema_url: schema_url.clone(),
                                        ..Default::default()
                                    })
                                    .scope_spans
                                    .push(piece);
                            }
                        }
                        for (t, piece) in pieces.0 {
                            out[usize::from(t)].push(piece);
                        }
                    }
                }
            }
            out.into_iter().map(Payload::Traces).collect()
        }
        Payload::Logs(resources) => {
            let mut out: Vec<Vec<ResourceLogs>> = (0..targets).map(|_| Vec::new()).collect();
            for (rl, rp) in resources.into_iter().zip(&plan.resources) {
                match *rp {
                    ResourcePlan::Whole(Some(t)) => out[usize::from(t)].push(rl),
                    ResourcePlan::Whole(None) => dropped += records_in(&rl),
                    ResourcePlan::Items => {
                        let ResourceLogs {
                            resource,
                            scope_logs,
                            schema_url,
                            ..
                        } = rl;
                        let mut pieces = Pieces::new();
                        for sl in scope_logs {
                            let ScopeLogs {
                                scope,
                                log_records,
                                schema_url: scope_url,
                                ..
                            } = sl;
                            let mut scoped = Pieces::new();
                            let ts = next_targets(&mut items, log_records.len());
                            for (record, t) in log_records.into_iter().zip(ts) {
                                match *t {
                                    Some(t) => scoped
                                        .get(t, || ScopeLogs {
                                            scope: scope_of(&scope),
                                            schema_url: scope_url.clone(),
                                            log_records: Vec::with_capacity(count(ts, t)),
                                        })
                                        .log_records
                                        .push(record),
                                    None => dropped += 1,
                                }
                            }
                            for (t, piece) in scoped.0 {
                                pieces
                                    .get(t, || ResourceLogs {
                                        resource: resource.clone(),
                                        schema_url: schema_url.clone(),
                                        ..Default::default()
                                    })
                                    .scope_logs
                                    .push(piece);
                            }
                        }
                        for (t, piece) in pieces.0 {
                            out[usize::from(t)].push(piece);
                        }
                    }
                }
            }
            out.into_iter().map(Payload::Logs).collect()
        }
        Payload::Metrics(resources) => {
            let by_point = plan.by_point;
            let mut out: Vec<Vec<ResourceMetrics>> = (0..targets).map(|_| Vec::new()).collect();
            for (rm, rp) in resources.into_iter().zip(&plan.resources) {
                match *rp {
                    ResourcePlan::Whole(Some(t)) => out[usize::from(t)].push(rm),
                    ResourcePlan::Whole(None) => dropped += points_in_resource(&rm),
                    ResourcePlan::Items => {
                        let ResourceMetrics {
                            resource,
                            scope_metrics,
                            schema_url,
                            ..
                        } = rm;
                        let mut pieces = Pieces::new();
                        for sm in scope_metrics {
                            let ScopeMetrics {
                                scope,
                                metrics,
                                schema_url: scope_url,
                                ..
                            } = sm;
                            let mut scoped = Pieces::new();
                            for metric in metrics {
                                let new_scope = || ScopeMetrics {
                                    scope: scope_of(&scope),
                                    schema_url: scope_url.clone(),
                                    ..Default::default()
                                };
                                if !by_point {
                                    match next_targets(&mut items, 1).first().copied().flatten() {
                                        Some(t) => scoped.get(t, new_scope).metrics.push(metric),
                                        None => dropped += points_in(&metric) as u64,
                                    }
                                    continue;
                                }
                                if points_in(&metric) == 0 {
                                    if let Some(t) = plan.default {
                                        scoped.get(t, new_scope).metrics.push(metric);
                                    }
                                    continue;
                                }
                                let n = points_in(&metric);
                                let ts = next_targets(&mut items, n);
                                for (t, piece) in split_metric(metric, ts, &mut dropped) {
                                    scoped.get(t, new_scope).metrics.push(piece);
                                }
                            }
                            for (t, piece) in scoped.0 {
                                pieces
                                    .get(t, || ResourceMetrics {
                                        resource: resource.clone(),
                                        schema_url: schema_url.clone(),
                                        ..Default::default()
                                    })
                                    .scope_metrics
                                    .push(piece);
                            }
                        }
                        for (t, piece) in pieces.0 {
                            out[usize::from(t)].push(piece);
                        }
                    }
                }
            }
            out.into_iter().map(Payload::Metrics).collect()
        }
    };
    Split { parts, dropped }
}

/// Splits a metric's points by their targets (next in `items`) into one copy of the
/// metric (name, description, unit, metadata, aggregation) per target.
fn split_metric(metric: Metric, targets: &[Target], dropped: &mut u64) -> Vec<(u16, Metric)> {
    if let Some(&t) = targets.first()
        && targets.iter().all(|x| *x == t)
    {
        // All its points go to one place: the metric moves whole.
        return match t {
            Some(t) => vec![(t, metric)],
            None => {
                *dropped += targets.len() as u64;
                Vec::new()
            }
        };
    }
    let mut items = targets.iter().copied();
    let items = &mut items;
    let Metric {
        name,
        description,
        unit,
        metadata,
        data,
        ..
    } = metric;
    let shell = |data: Data| Metric {
        name: name.clone(),
        description: description.clone(),
        unit: unit.clone(),
        metadata: metadata.clone(),
        data: Some(data),
    };
    fn route<P>(
        points: Vec<P>,
        items: &mut impl Iterator<Item = Target>,
        dropped: &mut u64,
        empty: impl Fn() -> Data,
        push: impl Fn(&mut Data, P),
        shell: &impl Fn(Data) -> Metric,
    ) -> Vec<(u16, Metric)> {
        let mut pieces: Pieces<Data> = Pieces::new();
        for p in points {
            match items.next().flatten() {
                Some(t) => push(pieces.get(t, &empty), p),
                None => *dropped += 1,
            }
        }
        pieces.0.into_iter().map(|(t, d)| (t, shell(d))).collect()
    }
    match data {
        Some(Data::Gauge(g)) => route(
            g.data_points,
            items,
            dropped,
            || Data::Gauge(metrics::Gauge::default()),
            |d, p| {
                if let Data::Gauge(g) = d {
                    g.data_points.push(p)
                }
            },
            &shell,
        ),
        Some(Data::Sum(s)) => {
            let (temporality, monotonic) = (s.aggregation_temporality, s.is_monotonic);
            route(
                s.data_points,
                items,
                dropped,
                || {
                    Data::Sum(metrics::Sum {
                        data_points: Vec::new(),
                        aggregation_temporality: temporality,
                        is_monotonic: monotonic,
                    })
                },
                |d, p| {
                    if let Data::Sum(s) = d {
                        s.data_points.push(p)
                    }
                },
                &shell,
            )
        }
        Some(Data::Histogram(h)) => {
            let temporality = h.aggregation_temporality;
            route(
                h.data_points,
                items,
                dropped,
                || {
                    Data::Histogram(metrics::Histogram {
                        data_points: Vec::new(),
                        aggregation_temporality: temporality,
                    })
                },
                |d, p| {
                    if let Data::Histogram(h) = d {
                        h.data_points.push(p)
                    }
                },
                &shell,
            )
        }
        Some(Data::ExponentialHistogram(h)) => {
            let temporality = h.aggregation_temporality;
            route(
                h.data_points,
                items,
                dropped,
                || {
                    Data::ExponentialHistogram(metrics::ExponentialHistogram {
                        data_points: Vec::new(),
                        aggregation_temporality: temporality,
                    })
                },
                |d, p| {
                    if let Data::ExponentialHistogram(h) = d {
                        h.data_points.push(p)
                    }
                },
                &shell,
            )
        }
        Some(Data::Summary(s)) => route(
            s.data_points,
            items,
            dropped,
            || Data::Summary(metrics::Summary::default()),
            |d, p| {
                if let Data::Summary(s) = d {
                    s.data_points.push(p)
                }
            },
            &shell,
        ),
        None => Vec::new(),
    }
}
