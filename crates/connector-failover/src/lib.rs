//! The `failover` connector: sends each batch to the first healthy level of a list of
//! pipeline levels, falls back to the next level when one fails, and goes back to a
//! higher level once it takes data again.
//!
//! ```yaml
//! connectors:
//!   failover:
//!     priority_levels: [[traces/aws], [traces/azure]]
//!     retry_interval: 10m
//!     retry_gap: 30s
//!     max_retries: 10
//! ```
//!
//! Guarantees:
//!
//! - **Health first.** The exporters behind each level report their destination's
//!   health (`stratus_core::Destination`). When a destination of the current level
//!   fails two attempts in a row, new data goes to the next level at once, even
//!   though the failing exporter's sending queue still has room: failover works with
//!   the exporters' default queue and retry settings.
//! - **Nothing stranded.** The connector registers the levels below each level as
//!   that level's exporters' *handover*: what a failing exporter already holds
//!   (queued, or being retried) goes to the next level that takes it, instead of
//!   waiting for its destination until its retries run out. A persistent queue
//!   deletes a record only once the next level took it.
//! - A batch refused by a level (any pipeline of the level returns an error) is handed
//!   to the next level in the same call, so the sender sees success when any level
//!   took it. When every level refuses, the call fails with the last error, retryable
//!   when any level's error was, so the sender keeps the data and tries again.
//! - **Going back.** While not on the top level, every `retry_interval` one batch of
//!   live traffic is first offered to a higher level (the highest not given up on
//!   first, then the next one `retry_gap` later). The connector switches back once
//!   that level's destinations took data again (or, for a level that reports no
//!   health, once it accepted the batch). A batch it refuses goes on to the current
//!   level; a batch it accepts but cannot deliver is handed over.
//!
//! See the README for the whole story.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use stratus_core::factory::{
    ALL_SIGNALS_ALPHA, BuildConnector, BuildContext, ConfigProblem, Exporter, Factory, Stability,
    Validate, same_signal_routes,
};
use stratus_core::telemetry::{Counter, Gauge};
use stratus_core::{
    BoxConsumer, Component, ComponentError, ConsumeError, Consumer, Destination, Fanout, Prepared,
    Signal, Telemetry,
};
use tokio::time::Instant;

/// The `failover` connector's config.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FailoverConfig {
    /// Levels of pipeline ids (`[[traces/aws], [traces/azure]]`), highest priority
    /// first. Required: at least one level, each with at least one pipeline. Every
    /// pipeline of a level gets the data; a level fails when any of them fails.
    pub priority_levels: Vec<Vec<String>>,
    /// How often a higher level is tried again while a lower one is in use (Go-style
    /// duration). Default `10m`.
    #[serde(with = "stratus_core::confval::duration")]
    pub retry_interval: Duration,
    /// Time between trying two different higher levels within one retry round
    /// (Go-style duration). Default `30s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub retry_gap: Duration,
    /// How many failed attempts to go back to a level are made before it is given up
    /// on (until the connector falls back to the top level because every level failed).
    /// `0` means no limit. Default `10`.
    pub max_retries: u32,
}

impl Default for FailoverConfig {
    fn default() -> Self {
        FailoverConfig {
            priority_levels: Vec::new(),
            retry_interval: Duration::from_secs(600),
            retry_gap: Duration::from_secs(30),
            max_retries: 10,
        }
    }
}

impl Validate for FailoverConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.priority_levels.is_empty() {
            problems.push(ConfigProblem::new(
                "priority_levels",
                "required: list at least one level of pipeline ids, e.g. \
                 `[[traces/primary], [traces/secondary]]`",
            ));
        }
        let mut seen: Vec<&str> = Vec::new();
        for (i, level) in self.priority_levels.iter().enumerate() {
            if level.is_empty() {
                problems.push(ConfigProblem::new(
                    format!("priority_levels::{i}"),
                    "a level must list at least one pipeline id",
                ));
            }
            for (j, id) in level.iter().enumerate() {
                let path = format!("priority_levels::{i}::{j}");
                if !is_pipeline_id(id) {
                    problems.push(ConfigProblem::new(
                        path,
                        format!(
                            "`{id}` is not a pipeline id: expected `traces`, `metrics` or \
                             `logs`, optionally followed by `/name`"
                        ),
                    ));
                } else if seen.contains(&id.as_str()) {
                    problems.push(ConfigProblem::new(
                        path,
                        format!("pipeline `{id}` is listed more than once"),
                    ));
                } else {
                    seen.push(id);
                }
            }
        }
        if self.retry_interval.is_zero() {
            problems.push(ConfigProblem::new(
                "retry_interval",
                "must be greater than 0 (e.g. `30s`)",
            ));
        }
        problems
    }
}

fn is_pipeline_id(id: &str) -> bool {
    let (ty, name) = match id.split_once('/') {
        Some((ty, name)) => (ty, Some(name)),
        None => (id, None),
    };
    ty.parse::<Signal>().is_ok()
        && name.is_none_or(|n| {
            !n.is_empty() && !n.contains('/') && !n.chars().any(char::is_whitespace)
        })
}

/// The `failover` connector factory.
#[derive(Debug, Clone, Copy, Default)]
pub struct FailoverConnectorFactory;

impl Factory for FailoverConnectorFactory {
    type Config = FailoverConfig;
    const TYPE: &'static str = "failover";
    const SIGNALS: &'static [(Signal, Stability)] = ALL_SIGNALS_ALPHA;

    /// Every pipeline of `priority_levels`, so `stratus validate` checks them.
    fn pipeline_references(&self, config: &FailoverConfig) -> Vec<(String, String)> {
        config
            .priority_levels
            .iter()
            .enumerate()
            .flat_map(|(i, level)| {
                level
                    .iter()
                    .enumerate()
                    .map(move |(j, pid)| (format!("priority_levels::{i}::{j}"), pid.clone()))
            })
            .collect()
    }
}

#[async_trait]
impl BuildConnector for FailoverConnectorFactory {
    const ROUTES: &'static [(Signal, Signal, Stability)] = &same_signal_routes(Stability::Alpha);

    async fn create(
        &self,
        ctx: BuildContext,
        config: FailoverConfig,
        from: Signal,
        to: Signal,
        pipelines: Vec<(String, BoxConsumer)>,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        if from != to {
            return Err(ComponentError::new(format!(
                "failover cannot connect {from} to {to}: both sides must carry the same signal"
            )));
        }
        let label = ctx.id.to_string();
        let failover = Failover::new(&config, pipelines, to)?;
        let level = ctx.telemetry.gauge(
            "stratus_connector_failover_level",
            "Index of the priority level the failover connector sends to (0 is the highest).",
            &[("connector", &label), ("otel_signal", to.as_str())],
        );
        let switches = ctx.telemetry.counter(
            "stratus_connector_failover_switches",
            "Number of times the failover connector changed priority level.",
            &[("connector", &label), ("otel_signal", to.as_str())],
        );
        level.set(0.0);
        Ok(Arc::new(failover.with_metrics(label, level, switches)))
    }
}

/// One priority level: its pipelines' ids, their fan-out, and the destinations of
/// their exporters.
struct Level {
    ids: Vec<String>,
    consumer: BoxConsumer,
    destinations: Vec<Arc<Destination>>,
}

impl Level {
    /// The first destination of this level that is failing.
    fn failing(&self) -> Option<&Destination> {
        self.destinations
            .iter()
            .find(|d| d.is_failing())
            .map(|d| d.as_ref())
    }

    /// Requests this level's destinations took so far.
    fn successes(&self) -> u64 {
        self.destinations.iter().map(|d| d.successes()).sum()
    }
}

/// Where data a failing exporter of level `from - 1` holds goes: the levels from
/// `from` on, the first that takes it (levels whose destinations fail are tried last).
struct Handover {
    levels: Arc<Vec<Level>>,
    from: usize,
}

impl Handover {
    /// The levels to try, healthy ones first.
    fn order(&self) -> Vec<usize> {
        let (healthy, failing): (Vec<usize>, Vec<usize>) =
            (self.from..self.levels.len()).partition(|l| self.levels[*l].failing().is_none());
        healthy.into_iter().chain(failing).collect()
    }
}

#[async_trait]
impl Consumer for Handover {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        let order = self.order();
        let mut last = ConsumeError::retryable("no failover level left to hand the data to");
        let n = order.len();
        let mut data = Some(data);
        for (i, l) in order.into_iter().enumerate() {
            let Some(batch) = (if i + 1 < n { data.clone() } else { data.take() }) else {
                break;
            };
            match self.levels[l].consumer.consume(batch).await {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn can_prepare(&self) -> bool {
        (self.from..self.levels.len()).all(|l| self.levels[l].consumer.can_prepare())
    }

    async fn prepare(&self, data: Telemetry) -> Prepared {
        let mut data = data;
        let mut last = ConsumeError::retryable("no failover level left to hand the data to");
        for l in self.order() {
            match self.levels[l].consumer.prepare(data).await {
                Prepared::Refused(e, back) => {
                    last = e;
                    data = back;
                }
                other => return other,
            }
        }
        Prepared::Refused(last, data)
    }
}

/// Where the connector stands.
#[derive(Debug)]
struct State {
    /// The level data goes to first.
    current: usize,
    /// Failed attempts to go back to each level since it was last left.
    retries: Vec<u32>,
    /// When live traffic is next offered to a higher level; `None` when there is
    /// nothing to go back to.
    probe_at: Option<Instant>,
    /// The level the next attempt goes to.
    probe_level: usize,
    /// Whether an attempt is in flight (one at a time).
    probing: bool,
    /// Per level: requests its destinations had taken when the connector left it
    /// (a level is back once they took more).
    left_at: Vec<u64>,
}

/// A running `failover` connector.
pub struct Failover {
    levels: Arc<Vec<Level>>,
    retry_interval: Duration,
    retry_gap: Duration,
    max_retries: u32,
    state: Mutex<State>,
    label: String,
    level_gauge: Gauge,
    switches: Counter,
}

impl Failover {
    /// A connector over `pipelines` (pipeline id and head), ordered by the config's
    /// `priority_levels`. Every listed pipeline must be given and every given pipeline
    /// listed.
    fn new(
        config: &FailoverConfig,
        pipelines: Vec<(String, BoxConsumer)>,
        signal: Signal,
    ) -> Result<Failover, ComponentError> {
        let mut pipelines = pipelines;
        let mut levels = Vec::new();
        for ids in &config.priority_levels {
            let mut consumers = Vec::new();
            for id in ids {
                let Some(i) = pipelines.iter().position(|(p, _)| p == id) else {
                    return Err(ComponentError::new(format!(
                        "priority_levels lists pipeline `{id}`, but no {signal} pipeline \
                         with that id lists this connector as a receiver"
                    )));
                };
                consumers.push(pipelines.swap_remove(i).1);
            }
            let consumer = Fanout::wrap(consumers);
            levels.push(Level {
                ids: ids.clone(),
                destinations: consumer.destinations(),
                consumer,
            });
        }
        if let Some((id, _)) = pipelines.first() {
            return Err(ComponentError::new(format!(
                "pipeline `{id}` lists this connector as a receiver but is in none of its \
                 priority_levels; add it to a level or remove the connector from it"
            )));
        }
        if levels.is_empty() {
            return Err(ComponentError::new("priority_levels is empty"));
        }
        let n = levels.len();
        let levels = Arc::new(levels);
        // What a failing exporter of a level holds goes to the levels below it.
        for from in 1..n {
            let handover: BoxConsumer = Arc::new(Handover {
                levels: levels.clone(),
                from,
            });
            for d in &levels[from - 1].destinations {
                d.set_handover(Some(handover.clone()));
            }
        }
        Ok(Failover {
            levels,
            retry_interval: config.retry_interval,
            retry_gap: config.retry_gap,
            max_retries: config.max_retries,
            state: Mutex::new(State {
                current: 0,
                retries: vec![0; n],
                probe_at: None,
                probe_level: 0,
                probing: false,
                left_at: vec![0; n],
            }),
            label: String::new(),
            level_gauge: Gauge::default(),
            switches: Counter::default(),
        })
    }

    fn with_metrics(mut self, label: String, level: Gauge, switches: Counter) -> Self {
        self.label = label;
        self.level_gauge = level;
        self.switches = switches;
        self
    }

    /// The level data currently goes to first (0 is the highest priority).
    pub fn current_level(&self) -> usize {
        self.lock().current
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn describe(&self, level: usize) -> String {
        self.levels
            .get(level)
            .map(|l| l.ids.join(", "))
            .unwrap_or_default()
    }

    /// Whether level `l` may still be tried again.
    fn eligible(&self, state: &State, l: usize) -> bool {
        self.max_retries == 0 || state.retries.get(l).is_some_and(|r| *r < self.max_retries)
    }

    /// The first level from `from` up to (not including) the current one that may
    /// still be tried.
    fn next_eligible(&self, state: &State, from: usize) -> Option<usize> {
        (from..state.current).find(|l| self.eligible(state, *l))
    }

    /// Schedules the next attempt at a higher level, starting a new round at the top.
    fn schedule_round(&self, state: &mut State, now: Instant) {
        match self.next_eligible(state, 0) {
            Some(l) => {
                state.probe_level = l;
                state.probe_at = Some(now + self.retry_interval);
            }
            None => {
                if state.current > 0 && state.probe_at.is_some() {
                    tracing::warn!(
                        connector = %self.label,
                        level = state.current,
                        max_retries = self.max_retries,
                        "failover: every higher level failed max_retries attempts; \
                         staying on this level",
                    );
                }
                state.probe_at = None;
            }
        }
    }

    fn set_current(&self, state: &mut State, level: usize) {
        state.current = level;
        self.switches.add(1);
        self.level_gauge.set(level as f64);
    }

    /// Claims the attempt at a higher level, when one is due.
    fn claim_probe(&self) -> Option<usize> {
        let mut state = self.lock();
        let due = state.probe_at.is_some_and(|t| Instant::now() >= t);
        if state.current == 0 || state.probing || !due {
            return None;
        }
        let level = if state.probe_level < state.current && self.eligible(&state, state.probe_level)
        {
            Some(state.probe_level)
        } else {
            self.next_eligible(&state, 0)
        };
        match level {
            Some(l) => {
                state.probing = true;
                Some(l)
            }
            None => {
                state.probe_at = None;
                None
            }
        }
    }

    fn probe_succeeded(&self, level: usize) {
        let mut state = self.lock();
        state.probing = false;
        if level >= state.current {
            return;
        }
        tracing::info!(
            connector = %self.label,
            from = state.current,
            to = level,
            pipelines = %self.describe(level),
            "failover: returning to a higher priority level",
        );
        self.set_current(&mut state, level);
        state.retries[level] = 0;
        state.probe_at = None;
        if level > 0 {
            self.schedule_round(&mut state, Instant::now());
        }
    }

    fn probe_failed(&self, level: usize, error: &ConsumeError) {
        let mut state = self.lock();
        state.probing = false;
        if let Some(r) = state.retries.get_mut(level) {
            *r = r.saturating_add(1);
        }
        tracing::debug!(
            connector = %self.label,
            level,
            attempts = state.retries.get(level).copied().unwrap_or_default(),
            error = %error,
            "failover: higher level still failing",
        );
        let now = Instant::now();
        match self.next_eligible(&state, level + 1) {
            Some(next) => {
                state.probe_level = next;
                state.probe_at = Some(now + self.retry_gap);
            }
            None => self.schedule_round(&mut state, now),
        }
    }

    /// Level `level` refused a batch: move on to the next one if it was current.
    fn level_failed(&self, level: usize, error: &ConsumeError) {
        let mut state = self.lock();
        if state.current != level || level + 1 >= self.levels.len() {
            return;
        }
        tracing::warn!(
            connector = %self.label,
            from = level,
            to = level + 1,
            from_pipelines = %self.describe(level),
            to_pipelines = %self.describe(level + 1),
            reason = %error,
            "failover: level failed, switching to the next priority level",
        );
        state.retries[level] = 0;
        state.left_at[level] = self.levels[level].successes();
        self.set_current(&mut state, level + 1);
        if state.probe_at.is_none() && !state.probing {
            self.schedule_round(&mut state, Instant::now());
        }
    }

    /// Every level refused a batch: start again from the top on the next one.
    fn all_failed(&self, error: &ConsumeError) {
        let mut state = self.lock();
        tracing::warn!(
            connector = %self.label,
            reason = %error,
            "failover: every priority level refused the data; the sender is told to retry",
        );
        if state.current != 0 {
            self.set_current(&mut state, 0);
        }
        state.retries.iter_mut().for_each(|r| *r = 0);
        state.probe_at = None;
    }
}

impl Failover {
    /// Follows the destinations' health: leaves the current level when one of its
    /// destinations fails, and goes back to the highest level whose destinations took
    /// data again since the connector left it.
    fn follow_health(&self) {
        let current = self.lock().current;
        let back = (0..current).find(|l| {
            let level = &self.levels[*l];
            !level.destinations.is_empty()
                && level.failing().is_none()
                && level.successes() > self.lock().left_at[*l]
        });
        if let Some(level) = back {
            self.probe_succeeded(level);
            return;
        }
        if let Some(d) = self.levels[current].failing() {
            let error = ConsumeError::retryable(format!(
                "the destination of exporter {} failed {} attempts in a row",
                d.exporter(),
                d.consecutive_failures()
            ));
            self.level_failed(current, &error);
        }
    }
}

#[async_trait]
impl Consumer for Failover {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        self.follow_health();
        if let Some(level) = self.claim_probe() {
            match self.levels[level].consumer.consume(data.clone()).await {
                Ok(()) => {
                    let l = &self.levels[level];
                    // A level that reports health is back once its destinations took
                    // data (`follow_health`); the batch it accepted reaches them, or
                    // is handed back down if they still fail.
                    if l.destinations.is_empty() || l.failing().is_none() {
                        self.probe_succeeded(level);
                    } else {
                        self.probe_failed(
                            level,
                            &ConsumeError::retryable("destination still failing"),
                        );
                    }
                    return Ok(());
                }
                Err(e) => self.probe_failed(level, &e),
            }
        }
        let start = self.lock().current;
        let n = self.levels.len();
        let mut data = Some(data);
        let mut last: Option<ConsumeError> = None;
        let mut any_retryable = false;
        for level in start..n {
            let batch = if level + 1 < n {
                data.clone()
            } else {
                data.take()
            };
            let Some(batch) = batch else { break };
            match self.levels[level].consumer.consume(batch).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    any_retryable |= !e.is_permanent();
                    self.level_failed(level, &e);
                    last = Some(e);
                }
            }
        }
        let last = last.unwrap_or_else(|| ConsumeError::retryable("no level took the data"));
        self.all_failed(&last);
        let message = format!("every failover level refused the data: {}", last.message());
        Err(if any_retryable {
            match last.throttle() {
                Some(delay) => ConsumeError::throttled(message, delay),
                None => ConsumeError::retryable(message),
            }
        } else {
            ConsumeError::permanent(message)
        })
    }

    fn destinations(&self) -> Vec<Arc<Destination>> {
        let current = self.lock().current;
        self.levels[current].destinations.clone()
    }
}

impl Component for Failover {}

#[cfg(test)]
mod tests;
