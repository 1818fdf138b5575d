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
use stratus_core::pdata::common::{InstrumentationScope, KeyValue};
use stratus_core::pdata::logs::LogRecord;
use stratus_core::pdata::metrics::{Metric, metric::Data};
use stratus_core::pdata::resource::Resource;
use stratus_core::pdata::trace::Span;
use stratus_core::pdata::{Assign, Partitioned, Route, partition, points_in};
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

/// Replays a [`Plan`] to [`partition`]: resources and items get their targets in the
/// order the plan was made in.
struct Replay<'p> {
    resources: std::slice::Iter<'p, ResourcePlan>,
    items: std::slice::Iter<'p, Target>,
    by_point: bool,
    default: Target,
}

impl Replay<'_> {
    fn next_item(&mut self) -> Option<usize> {
        self.items.next().copied().flatten().map(usize::from)
    }
}

impl Assign for Replay<'_> {
    fn resource(&mut self, _: Option<&Resource>) -> Route {
        match self.resources.next() {
            Some(ResourcePlan::Whole(t)) => t.map(usize::from).into(),
            Some(ResourcePlan::Items) => Route::Split,
            // A plan made for this payload never runs short.
            None => Route::Drop,
        }
    }

    fn span(
        &mut self,
        _: Option<&Resource>,
        _: Option<&InstrumentationScope>,
        _: &Span,
    ) -> Option<usize> {
        self.next_item()
    }

    fn log(
        &mut self,
        _: Option<&Resource>,
        _: Option<&InstrumentationScope>,
        _: &LogRecord,
    ) -> Option<usize> {
        self.next_item()
    }

    fn metric(
        &mut self,
        _: Option<&Resource>,
        _: Option<&InstrumentationScope>,
        metric: &Metric,
    ) -> Route {
        if !self.by_point {
            return self.next_item().into();
        }
        if points_in(metric) == 0 {
            // No point to route it by: it goes where unmatched items go.
            return self.default.map(usize::from).into();
        }
        Route::Split
    }

    fn point(
        &mut self,
        _: Option<&Resource>,
        _: Option<&InstrumentationScope>,
        _: &Metric,
        _: &[KeyValue],
    ) -> Option<usize> {
        self.next_item()
    }
}

/// Splits `payload` by `plan` into one payload per target (of `targets`), moving the
/// items and copying only the resource and scope headers of resources that are split.
pub(crate) fn split(payload: Payload, plan: &Plan, targets: usize) -> Split {
    let mut replay = Replay {
        resources: plan.resources.iter(),
        items: plan.items.iter(),
        by_point: plan.by_point,
        default: plan.default,
    };
    let Partitioned { parts, dropped } = partition(payload, targets, &mut replay);
    Split { parts, dropped }
}
