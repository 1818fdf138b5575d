//! The running `tail_sampling` processor.
//!
//! ## Memory
//!
//! Traces live in one table keyed by trace id, and their ids in one queue in arrival
//! order (`order`), at most `num_traces` long. Decisions are made in arrival order too
//! (every trace waits the same `decision_wait`), so the queue is a run of decided
//! traces followed by a run of pending ones; `decided` is the length of the first
//! run. A new trace arriving with the queue full removes the oldest trace, as
//! upstream's drop-old-traces limiter does: pending, it is counted in
//! `sampling_trace_dropped_too_early` and its spans are dropped; decided, only its
//! decision is forgotten.
//!
//! ## Late spans
//!
//! After its decision a trace stays in the table (without its spans) until the queue
//! pushes it out, and spans arriving meanwhile follow the decision (upstream's
//! scenario 1). With a decision cache for that decision, the trace leaves the table
//! at once and the cache answers instead, for as long as it remembers the id
//! (scenario 3). Once neither knows the trace, its spans start a new trace that waits
//! `decision_wait` again (scenario 2).

use std::collections::hash_map::Entry as MapEntry;
use std::collections::{HashMap, VecDeque};
use std::mem;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use stratus_core::factory::BuildContext;
use stratus_core::pdata::trace::{ResourceSpans, ScopeSpans};
use stratus_core::telemetry::{Counter, Gauge, Histogram, Registry};
use stratus_core::{
    BoxConsumer, Component, ComponentError, ConsumeError, Consumer, Destination, Host, Payload,
    Telemetry,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::config::{PolicyType, TailSamplingConfig};
use crate::lru::Lru;
use crate::policy::{self, Decision, Evaluator, TraceData};

/// A trace id: 16 bytes.
pub type TraceId = [u8; 16];

/// The message of the retryable error `consume` returns once shutdown has begun.
pub const SHUTTING_DOWN: &str = "tail_sampling processor is shutting down";

/// Spans of sampled traces handed downstream in one call, at most (whole traces are
/// never split, so a single larger trace goes alone).
pub const MAX_SEND_SPANS: usize = 8192;

/// Longest interval between two runs of the decision timer.
pub const MAX_TICK: Duration = Duration::from_secs(1);

/// Shortest interval between two runs of the decision timer.
pub const MIN_TICK: Duration = Duration::from_millis(10);

/// Bucket bounds of `sampling_decision_latency` (microseconds), upstream's.
pub const DECISION_LATENCY_BOUNDS: [f64; 23] = [
    1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 150.0, 200.0, 300.0, 400.0, 500.0, 750.0, 1000.0,
    2000.0, 3000.0, 4000.0, 5000.0, 10000.0, 20000.0, 30000.0, 50000.0,
];

/// Bucket bounds of the other histograms: the OpenTelemetry SDK's defaults, which
/// upstream's get.
pub const DEFAULT_BOUNDS: [f64; 15] = [
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The trace id of a span, zero-padded (or cut) to 16 bytes.
pub fn trace_id(bytes: &[u8]) -> TraceId {
    let mut id = [0u8; 16];
    let n = bytes.len().min(16);
    id[..n].copy_from_slice(&bytes[..n]);
    id
}

/// The spans of one trace from one incoming resource.
struct Group {
    id: TraceId,
    batch: ResourceSpans,
    spans: u64,
}

/// Splits incoming resources by trace id, moving the spans. A resource whose spans all
/// belong to one trace moves whole; otherwise its resource and scopes are copied for
/// each trace. Resources without spans are left out, as upstream does.
fn group_by_trace(resources: Vec<ResourceSpans>, out: &mut Vec<Group>) {
    for rs in resources {
        let mut ids = rs
            .scope_spans
            .iter()
            .flat_map(|ss| ss.spans.iter())
            .map(|s| trace_id(&s.trace_id));
        let Some(first) = ids.next() else { continue };
        if ids.all(|id| id == first) {
            let spans = rs.scope_spans.iter().map(|ss| ss.spans.len() as u64).sum();
            out.push(Group {
                id: first,
                batch: rs,
                spans,
            });
            continue;
        }
        let ResourceSpans {
            resource,
            scope_spans,
            schema_url,
        } = rs;
        let start = out.len();
        // For each group made from this resource: the scope index its last
        // ScopeSpans came from.
        let mut last_scope: Vec<usize> = Vec::new();
        let mut index: HashMap<TraceId, usize> = HashMap::new();
        for (j, ss) in scope_spans.into_iter().enumerate() {
            let ScopeSpans {
                scope,
                spans,
                schema_url: scope_schema,
            } = ss;
            for span in spans {
                let id = trace_id(&span.trace_id);
                let g = *index.entry(id).or_insert_with(|| {
                    out.push(Group {
                        id,
                        batch: ResourceSpans {
                            resource: resource.clone(),
                            scope_spans: Vec::new(),
                            schema_url: schema_url.clone(),
                        },
                        spans: 0,
                    });
                    last_scope.push(usize::MAX);
                    out.len() - 1 - start
                });
                let group = &mut out[start + g];
                if last_scope[g] != j {
                    last_scope[g] = j;
                    group.batch.scope_spans.push(ScopeSpans {
                        scope: scope.clone(),
                        spans: Vec::new(),
                        schema_url: scope_schema.clone(),
                    });
                }
                if let Some(last) = group.batch.scope_spans.last_mut() {
                    last.spans.push(span);
                }
                group.spans += 1;
            }
        }
    }
}

/// A trace's place in the arrival queue.
#[derive(Debug, Clone, Copy)]
struct Slot {
    id: TraceId,
    seq: u64,
    arrival_ns: u64,
}

/// A trace held in memory.
struct TraceEntry {
    /// Tells this trace apart from an earlier one with the same id (whose queue slot
    /// may still be there).
    seq: u64,
    arrival_ns: u64,
    span_count: u64,
    state: TraceState,
}

enum TraceState {
    /// Waiting for its decision.
    Pending(Vec<ResourceSpans>),
    /// Being decided: the spans were taken for the policies; these arrived meanwhile.
    Deciding(Vec<ResourceSpans>),
    /// Decided; spans left memory.
    Decided { decision: Decision, at_ns: u64 },
}

/// What to do with spans of a trace that arrive now.
enum Route {
    /// Send them on: the trace was sampled (by the table or the sampled cache).
    Forward { decided_ns: Option<u64> },
    /// Drop them: the trace was not sampled.
    Discard { decided_ns: Option<u64> },
    /// Hold them until the trace is decided.
    Buffer,
}

struct State {
    traces: HashMap<TraceId, TraceEntry>,
    order: VecDeque<Slot>,
    /// Slots at the front of `order` whose trace is decided (or gone).
    decided: usize,
    next_seq: u64,
    sampled_cache: Option<Lru<TraceId, ()>>,
    non_sampled_cache: Option<Lru<TraceId, ()>>,
    /// Spans held in pending traces.
    held_spans: u64,
    stopping: bool,
}

/// The labels' index of a decision in per-decision counters.
fn decision_index(d: Decision) -> usize {
    match d.labels().1 {
        "sampled" => 0,
        "not_sampled" => 1,
        _ => 2,
    }
}

const DECISIONS: [Decision; 3] = [Decision::Sampled, Decision::NotSampled, Decision::Dropped];

fn decision_counters(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[(&str, &str)],
) -> [Counter; 3] {
    DECISIONS.map(|d| {
        let (sampled, decision) = d.labels();
        let mut l = labels.to_vec();
        l.push(("sampled", sampled));
        l.push(("decision", decision));
        registry.counter(name, help, &l)
    })
}

struct Metrics {
    global: [Counter; 3],
    traces_on_memory: Gauge,
    dropped_too_early: Counter,
    new_trace_id: Counter,
    evaluation_error: Counter,
    early_release: [Counter; 2],
    late_span_age: Histogram,
    removal_age: Histogram,
    timer_latency: Histogram,
    send_failed: Counter,
}

const PREFIX: &str = "otelcol_processor_tail_sampling_";

impl Metrics {
    fn new(registry: &Registry, processor: &str) -> Self {
        let labels = [("processor", processor)];
        let name = |n: &str| format!("{PREFIX}{n}");
        Metrics {
            global: decision_counters(
                registry,
                &name("global_count_traces_sampled"),
                "Global count of traces that were sampled or not by at least one policy",
                &labels,
            ),
            traces_on_memory: registry.gauge(
                &name("sampling_traces_on_memory"),
                "Tracks the number of traces current on memory",
                &labels,
            ),
            dropped_too_early: registry.counter(
                &name("sampling_trace_dropped_too_early"),
                "Count of traces that needed to be dropped before the configured wait time",
                &labels,
            ),
            new_trace_id: registry.counter(
                &name("new_trace_id_received"),
                "Counts the arrival of new traces",
                &labels,
            ),
            evaluation_error: registry.counter(
                &name("sampling_policy_evaluation_error"),
                "Count of sampling policy evaluation errors",
                &labels,
            ),
            early_release: ["true", "false"].map(|sampled| {
                registry.counter(
                    &name("early_releases_from_cache_decision"),
                    "Number of spans that were able to be immediately released due to a decision cache hit.",
                    &[("processor", processor), ("sampled", sampled)],
                )
            }),
            late_span_age: registry.histogram(
                &name("sampling_late_span_age"),
                "Time (in seconds) from the sampling decision was taken and the arrival of a late span",
                &labels,
                &DEFAULT_BOUNDS,
            ),
            removal_age: registry.histogram(
                &name("sampling_trace_removal_age"),
                "Time (in seconds) from arrival of a new trace until its removal from memory",
                &labels,
                &DEFAULT_BOUNDS,
            ),
            timer_latency: registry.histogram(
                &name("sampling_decision_timer_latency"),
                "Latency (in milliseconds) of each run of the sampling decision timer",
                &labels,
                &DEFAULT_BOUNDS,
            ),
            send_failed: registry.counter(
                "stratus_processor_tail_sampling_send_failed_spans",
                "Spans of sampled traces the next consumer refused after the decision (dropped)",
                &labels,
            ),
        }
    }
}

/// One configured policy with its metrics.
struct Policy {
    name: String,
    evaluator: Box<dyn Evaluator>,
    /// `count_traces_sampled` by decision.
    counts: [Counter; 3],
    /// `sampling_decision_latency`.
    latency: Histogram,
}

struct Shared {
    processor: String,
    next: BoxConsumer,
    wait_ns: u64,
    tick: Duration,
    epoch: Instant,
    num_traces: usize,
    sample_on_first_match: bool,
    state: Mutex<State>,
    /// Drop policies first: a drop decision ends the evaluation.
    policies: Mutex<Vec<Policy>>,
    metrics: Metrics,
    ticks: watch::Sender<u64>,
}

struct Ticker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The `tail_sampling` processor.
///
/// `consume` groups spans by trace id and holds them; a single timer task decides
/// every trace `decision_wait` after its first span (at the first tick after that)
/// and sends the sampled ones downstream. See the module docs for memory and late
/// spans, and the crate docs for the policies.
pub struct TailSampling {
    shared: Arc<Shared>,
    ticker: Mutex<Option<Ticker>>,
}

impl TailSampling {
    /// A processor sending sampled traces to `next`, with its metrics in
    /// `ctx.telemetry` (label `processor = ctx.id`). Fails only on a policy that
    /// cannot be built (which validation reports first).
    pub fn new(
        ctx: &BuildContext,
        config: &TailSamplingConfig,
        next: BoxConsumer,
    ) -> Result<Self, ComponentError> {
        let processor = ctx.id.to_string();
        let epoch = Instant::now();
        let registry = &ctx.telemetry;
        let mut drops = Vec::new();
        let mut others = Vec::new();
        for p in &config.policies {
            let evaluator = policy::build(p, epoch).map_err(|e| {
                ComponentError::new(format!(
                    "failed to create policy evaluator for `{}`: {e}",
                    p.name
                ))
            })?;
            // Upstream's policy label: `<processor name>.<policy>` for a named processor.
            let label = match ctx.id.name() {
                Some(n) if !n.is_empty() => format!("{n}.{}", p.name),
                _ => p.name.clone(),
            };
            let labels = [
                ("processor", processor.as_str()),
                ("policy", label.as_str()),
            ];
            let entry = Policy {
                name: p.name.clone(),
                evaluator,
                counts: decision_counters(
                    registry,
                    &format!("{PREFIX}count_traces_sampled"),
                    "Count of traces that were sampled or not per sampling policy",
                    &labels,
                ),
                latency: registry.histogram(
                    &format!("{PREFIX}sampling_decision_latency"),
                    "Latency (in microseconds) of a given sampling policy",
                    &labels,
                    &DECISION_LATENCY_BOUNDS,
                ),
            };
            if PolicyType::parse(&p.policy_type) == Some(PolicyType::Drop) {
                drops.push(entry);
            } else {
                others.push(entry);
            }
        }
        drops.extend(others);
        let num_traces = usize::try_from(config.num_traces.max(1)).unwrap_or(usize::MAX);
        let wait_secs = config.decision_wait.as_secs().max(1);
        let presize = usize::try_from(config.expected_new_traces_per_sec.saturating_mul(wait_secs))
            .unwrap_or(usize::MAX)
            .min(num_traces);
        let cache = |n: usize| (n > 0).then(|| Lru::new(n));
        let metrics = Metrics::new(registry, &processor);
        let (ticks, _) = watch::channel(0);
        Ok(TailSampling {
            shared: Arc::new(Shared {
                processor,
                next,
                wait_ns: u64::try_from(config.decision_wait.as_nanos()).unwrap_or(u64::MAX),
                tick: config.decision_wait.clamp(MIN_TICK, MAX_TICK),
                epoch,
                num_traces,
                sample_on_first_match: config.sample_on_first_match,
                state: Mutex::new(State {
                    traces: HashMap::with_capacity(presize),
                    order: VecDeque::with_capacity(presize),
                    decided: 0,
                    next_seq: 0,
                    sampled_cache: cache(config.decision_cache.sampled_cache_size),
                    non_sampled_cache: cache(config.decision_cache.non_sampled_cache_size),
                    held_spans: 0,
                    stopping: false,
                }),
                policies: Mutex::new(drops),
                metrics,
                ticks,
            }),
            ticker: Mutex::new(None),
        })
    }

    /// Traces held in memory, pending or decided.
    pub fn traces_in_memory(&self) -> usize {
        lock(&self.shared.state).traces.len()
    }

    /// Spans held in pending traces.
    pub fn held_spans(&self) -> u64 {
        lock(&self.shared.state).held_spans
    }

    /// Completed runs of the decision timer (and shutdown's final run): tests wait on
    /// it after moving tokio's paused clock.
    pub fn ticks(&self) -> watch::Receiver<u64> {
        self.shared.ticks.subscribe()
    }

    /// Decides the traces whose `decision_wait` has passed, now, and sends the sampled
    /// ones: what each tick of the timer does.
    pub async fn decide_due(&self) {
        self.shared.decide(false).await;
    }
}

impl Shared {
    fn now_ns(&self) -> u64 {
        u64::try_from(
            Instant::now()
                .saturating_duration_since(self.epoch)
                .as_nanos(),
        )
        .unwrap_or(u64::MAX)
    }

    /// Spans of one request, grouped by trace: those of sampled traces to send now,
    /// and those to buffer after the send succeeded (when `defer` and something is
    /// sent, so a refusal returned to the client does not leave a copy buffered).
    fn route(
        &self,
        st: &mut State,
        groups: Vec<Group>,
        now_ns: u64,
        defer: bool,
    ) -> (Vec<ResourceSpans>, Vec<Group>) {
        let m = &self.metrics;
        let routes: Vec<Route> = groups.iter().map(|g| st.route_of(&g.id)).collect();
        let sending = routes.iter().any(|r| matches!(r, Route::Forward { .. }));
        let mut forward = Vec::new();
        let mut deferred = Vec::new();
        for (g, route) in groups.into_iter().zip(routes) {
            match route {
                Route::Forward { decided_ns } | Route::Discard { decided_ns } => {
                    let sampled = matches!(route, Route::Forward { .. });
                    match decided_ns {
                        // Late spans of a trace still in the table.
                        Some(at) => {
                            m.late_span_age
                                .record(Duration::from_nanos(now_ns.saturating_sub(at)).as_secs()
                                    as f64)
                        }
                        None => m.early_release[usize::from(!sampled)].add(g.spans),
                    }
                    if sampled {
                        forward.push(g.batch);
                    }
                }
                Route::Buffer if defer && sending => deferred.push(g),
                Route::Buffer => self.buffer(st, g, now_ns),
            }
        }
        m.traces_on_memory.set(st.traces.len() as f64);
        (forward, deferred)
    }

    /// Holds a group's spans in its trace, creating the trace (and making room for
    /// it) when it is new.
    fn buffer(&self, st: &mut State, g: Group, now_ns: u64) {
        if let Some(entry) = st.traces.get_mut(&g.id) {
            match &mut entry.state {
                TraceState::Pending(batches) => {
                    batches.push(g.batch);
                    st.held_spans += g.spans;
                }
                TraceState::Deciding(batches) => batches.push(g.batch),
                // `route_of` said Buffer: not decided.
                TraceState::Decided { .. } => return,
            }
            entry.span_count += g.spans;
            return;
        }
        while st.order.len() >= self.num_traces {
            self.evict_oldest(st, now_ns);
        }
        let seq = st.next_seq;
        st.next_seq += 1;
        st.order.push_back(Slot {
            id: g.id,
            seq,
            arrival_ns: now_ns,
        });
        st.held_spans += g.spans;
        st.traces.insert(
            g.id,
            TraceEntry {
                seq,
                arrival_ns: now_ns,
                span_count: g.spans,
                state: TraceState::Pending(vec![g.batch]),
            },
        );
        self.metrics.new_trace_id.add(1);
    }

    /// Removes the oldest trace of the queue; a pending one is counted as dropped too
    /// early.
    fn evict_oldest(&self, st: &mut State, now_ns: u64) {
        let Some(slot) = st.order.pop_front() else {
            return;
        };
        st.decided = st.decided.saturating_sub(1);
        let MapEntry::Occupied(e) = st.traces.entry(slot.id) else {
            return;
        };
        if e.get().seq != slot.seq {
            return;
        }
        let entry = e.remove();
        self.metrics
            .removal_age
            .record(Duration::from_nanos(now_ns.saturating_sub(entry.arrival_ns)).as_secs() as f64);
        match entry.state {
            TraceState::Pending(_) => {
                st.held_spans = st.held_spans.saturating_sub(entry.span_count);
                self.metrics.dropped_too_early.add(1);
                tracing::debug!(
                    processor = %self.processor,
                    spans = entry.span_count,
                    "trace removed before its decision: num_traces reached (sampling_trace_dropped_too_early)"
                );
            }
            // Spans that arrived while the trace's decision was being taken: they
            // leave with the trace, so they are counted like an early drop.
            TraceState::Deciding(batches) if !batches.is_empty() => {
                self.metrics.dropped_too_early.add(1);
                tracing::debug!(
                    processor = %self.processor,
                    batches = batches.len(),
                    "spans that arrived during their trace's decision removed: num_traces reached (sampling_trace_dropped_too_early)"
                );
            }
            _ => {}
        }
    }

    /// Decides the traces whose wait is over (every pending trace with `all`) and
    /// sends the sampled ones.
    async fn decide(&self, all: bool) {
        let started = std::time::Instant::now();
        let decision_time = Instant::now();
        let now_ns = self.now_ns();
        let mut due = Vec::new();
        {
            let mut st = lock(&self.state);
            while st.decided < st.order.len() {
                let slot = st.order[st.decided];
                if !all && slot.arrival_ns.saturating_add(self.wait_ns) > now_ns {
                    break;
                }
                st.decided += 1;
                let Some(entry) = st.traces.get_mut(&slot.id) else {
                    continue;
                };
                if entry.seq != slot.seq {
                    continue;
                }
                let span_count = entry.span_count;
                if let TraceState::Pending(batches) =
                    mem::replace(&mut entry.state, TraceState::Deciding(Vec::new()))
                {
                    st.held_spans = st.held_spans.saturating_sub(span_count);
                    due.push((
                        slot.seq,
                        TraceData {
                            trace_id: slot.id,
                            span_count,
                            batches,
                            decision_time,
                        },
                    ));
                }
            }
        }
        if !due.is_empty() {
            let decisions: Vec<Decision> = {
                let mut policies = lock(&self.policies);
                let mut scratch = Vec::with_capacity(policies.len());
                due.iter()
                    .map(|(_, trace)| self.decide_one(&mut policies, trace, &mut scratch))
                    .collect()
            };
            let sampled = self.apply(due, decisions, now_ns);
            self.send(sampled).await;
            self.metrics
                .timer_latency
                .record(started.elapsed().as_millis() as f64);
        }
        self.ticks.send_modify(|t| *t += 1);
    }

    /// One trace's decision by every policy, combined with upstream's rule.
    fn decide_one(
        &self,
        policies: &mut [Policy],
        trace: &TraceData,
        decisions: &mut Vec<Decision>,
    ) -> Decision {
        decisions.clear();
        for p in policies.iter_mut() {
            let t0 = std::time::Instant::now();
            let result = p.evaluator.evaluate(trace);
            p.latency.record(t0.elapsed().as_micros() as f64);
            match result {
                Err(e) => {
                    self.metrics.evaluation_error.add(1);
                    tracing::debug!(processor = %self.processor, policy = %p.name, error = %e, "sampling policy error");
                }
                Ok(d) => {
                    p.counts[decision_index(d)].add(1);
                    decisions.push(d);
                    if d == Decision::Dropped
                        || (self.sample_on_first_match && d == Decision::Sampled)
                    {
                        break;
                    }
                }
            }
        }
        let decision = policy::combine(decisions.iter().copied());
        self.metrics.global[decision_index(decision)].add(1);
        decision
    }

    /// Records the decisions; the sampled traces' spans, trace by trace.
    fn apply(
        &self,
        due: Vec<(u64, TraceData)>,
        decisions: Vec<Decision>,
        now_ns: u64,
    ) -> Vec<(Vec<ResourceSpans>, u64)> {
        let mut sampled = Vec::new();
        let mut st = lock(&self.state);
        for ((seq, trace), decision) in due.into_iter().zip(decisions) {
            let id = trace.trace_id;
            let mut late = Vec::new();
            let mut span_count = trace.span_count;
            if let Some(entry) = st.traces.get_mut(&id)
                && entry.seq == seq
            {
                if let TraceState::Deciding(batches) = mem::replace(
                    &mut entry.state,
                    TraceState::Decided {
                        decision,
                        at_ns: now_ns,
                    },
                ) {
                    late = batches;
                }
                span_count = entry.span_count;
                let cache = if decision == Decision::Sampled {
                    st.sampled_cache.as_mut()
                } else {
                    st.non_sampled_cache.as_mut()
                };
                // With a cache for this decision, the trace leaves memory now.
                if let Some(cache) = cache {
                    cache.put(id, ());
                    if let Some(entry) = st.traces.remove(&id) {
                        self.metrics.removal_age.record(
                            Duration::from_nanos(now_ns.saturating_sub(entry.arrival_ns)).as_secs()
                                as f64,
                        );
                    }
                }
            }
            if decision == Decision::Sampled {
                let mut batches = trace.batches;
                batches.extend(late);
                sampled.push((batches, span_count));
            }
        }
        self.metrics.traces_on_memory.set(st.traces.len() as f64);
        sampled
    }

    /// Sends sampled traces downstream, whole traces together up to
    /// [`MAX_SEND_SPANS`] spans a call. A refusal is logged and its spans counted:
    /// the decision is made and the client was answered long ago.
    async fn send(&self, traces: Vec<(Vec<ResourceSpans>, u64)>) {
        let mut chunk = Vec::new();
        let mut spans = 0u64;
        let mut traces = traces.into_iter().peekable();
        while let Some((batches, n)) = traces.next() {
            chunk.extend(batches);
            spans += n;
            let full = traces
                .peek()
                .is_none_or(|(_, next)| spans + next > MAX_SEND_SPANS as u64);
            if full {
                let data = Telemetry::new(Payload::Traces(mem::take(&mut chunk)));
                if let Err(e) = self.next.consume(data).await {
                    self.metrics.send_failed.add(spans);
                    tracing::warn!(
                        processor = %self.processor,
                        spans,
                        error = %e,
                        "sampled spans refused by the next consumer: dropped"
                    );
                }
                spans = 0;
            }
        }
    }
}

impl State {
    fn route_of(&mut self, id: &TraceId) -> Route {
        if let Some(cache) = self.sampled_cache.as_mut()
            && cache.get(id).is_some()
        {
            return Route::Forward { decided_ns: None };
        }
        if let Some(cache) = self.non_sampled_cache.as_mut()
            && cache.get(id).is_some()
        {
            return Route::Discard { decided_ns: None };
        }
        match self.traces.get(id).map(|e| &e.state) {
            Some(TraceState::Decided {
                decision: Decision::Sampled,
                at_ns,
            }) => Route::Forward {
                decided_ns: Some(*at_ns),
            },
            Some(TraceState::Decided { at_ns, .. }) => Route::Discard {
                decided_ns: Some(*at_ns),
            },
            _ => Route::Buffer,
        }
    }
}

#[async_trait]
impl Consumer for TailSampling {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        let Telemetry { payload, metadata } = data;
        let payload = payload.into_payload();
        let resources = match payload {
            Payload::Traces(r) => r,
            other => {
                return self
                    .shared
                    .next
                    .consume(Telemetry::with_metadata(other, metadata))
                    .await;
            }
        };
        let mut groups = Vec::new();
        group_by_trace(resources, &mut groups);
        if groups.is_empty() {
            return Ok(());
        }
        let shared = &self.shared;
        let now_ns = shared.now_ns();
        let (forward, deferred) = {
            let mut st = lock(&shared.state);
            if st.stopping {
                return Err(ConsumeError::retryable(SHUTTING_DOWN));
            }
            shared.route(&mut st, groups, now_ns, true)
        };
        if forward.is_empty() {
            return Ok(());
        }
        shared
            .next
            .consume(Telemetry::new(Payload::Traces(forward)))
            .await?;
        if deferred.is_empty() {
            return Ok(());
        }
        let (forward, _) = {
            let mut st = lock(&shared.state);
            shared.route(&mut st, deferred, now_ns, false)
        };
        if forward.is_empty() {
            return Ok(());
        }
        shared
            .next
            .consume(Telemetry::new(Payload::Traces(forward)))
            .await
    }

    fn destinations(&self) -> Vec<Arc<Destination>> {
        self.shared.next.destinations()
    }
}

#[async_trait]
impl Component for TailSampling {
    async fn start(&self, _host: &Host) -> Result<(), ComponentError> {
        let mut ticker = lock(&self.ticker);
        if ticker.is_some() || lock(&self.shared.state).stopping {
            return Ok(());
        }
        let shared = self.shared.clone();
        let (stop, mut stopped) = watch::channel(false);
        // The first tick is one period after start, not after the task first runs.
        let period = shared.tick;
        let first = Instant::now() + period;
        let task = tokio::spawn(async move {
            let mut interval = tokio::time::interval_at(first, period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = interval.tick() => shared.decide(false).await,
                    _ = stopped.changed() => break,
                }
            }
        });
        *ticker = Some(Ticker { stop, task });
        Ok(())
    }

    /// Stops the timer, then decides every pending trace at once and sends the
    /// sampled ones: nothing held is dropped without a decision. Data arriving after
    /// this began is refused with a retryable error.
    async fn shutdown(&self) -> Result<(), ComponentError> {
        let ticker = lock(&self.ticker).take();
        if let Some(Ticker { stop, task }) = ticker {
            let _ = stop.send(true);
            // The task ends after the tick it may be running.
            let _ = task.await;
        }
        lock(&self.shared.state).stopping = true;
        self.shared.decide(true).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
