//! The running processor: samples each batch in place and passes on what is kept.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use stratus_core::telemetry::{Counter, Registry};
use stratus_core::{
    Admission, BoxConsumer, Component, ConsumeError, Consumer, Destination, Payload, Prepared,
    Signal, Telemetry,
};

use crate::config::ProbabilisticSamplerConfig;
use crate::sampler::{Policy, Sampler, Tally};

/// Spans sampled or not, by `policy` and `sampled` (upstream's current name).
pub const SPANS_METRIC: &str =
    "otelcol_processor_probabilistic_sampler_count_spans_processed_total";
/// The same count under the name upstream deprecated in 0.161.0, kept for dashboards.
pub const SPANS_METRIC_DEPRECATED: &str =
    "otelcol_processor_probabilistic_sampler_count_traces_sampled";
/// Log records sampled or not, by `policy` and `sampled`.
pub const LOGS_METRIC: &str = "otelcol_processor_probabilistic_sampler_count_logs_sampled";

/// Counters of one metric name, registered on first use per (`policy`, `sampled`)
/// so that, as upstream's, only series that counted something appear.
struct Family {
    name: &'static str,
    help: &'static str,
    series: [[OnceLock<Counter>; 2]; 6],
}

impl Family {
    fn new(name: &'static str, help: &'static str) -> Self {
        Family {
            name,
            help,
            series: std::array::from_fn(|_| [OnceLock::new(), OnceLock::new()]),
        }
    }
}

/// The processor's metrics.
struct Metrics {
    registry: Registry,
    processor: String,
    attribute: String,
    spans: [Family; 2],
    logs: Family,
}

impl Metrics {
    fn new(registry: Registry, processor: String, attribute: String) -> Self {
        Metrics {
            registry,
            processor,
            attribute,
            spans: [
                Family::new(SPANS_METRIC, "Count of spans that were sampled or not"),
                Family::new(
                    SPANS_METRIC_DEPRECATED,
                    "[DEPRECATED] Count of spans that were sampled or not",
                ),
            ],
            logs: Family::new(LOGS_METRIC, "Count of logs that were sampled or not"),
        }
    }

    fn record(&self, signal: Signal, tally: &Tally) {
        let families: &[Family] = match signal {
            Signal::Traces => &self.spans,
            Signal::Logs => std::slice::from_ref(&self.logs),
            Signal::Metrics => return,
        };
        for policy in Policy::ALL {
            for sampled in [false, true] {
                let n = tally.get(policy, sampled);
                if n == 0 {
                    continue;
                }
                for family in families {
                    family.series[policy.index()][usize::from(sampled)]
                        .get_or_init(|| {
                            let label = policy.label().unwrap_or(&self.attribute);
                            self.registry.counter(
                                family.name,
                                family.help,
                                &[
                                    ("processor", &self.processor),
                                    ("policy", label),
                                    ("sampled", if sampled { "true" } else { "false" }),
                                ],
                            )
                        })
                        .add(n);
                }
            }
        }
    }
}

/// A running `probabilistic_sampler`: keeps or drops each span and log record on
/// its own (not per batch), then hands the rest on. A batch left empty is not passed
/// on.
pub struct ProbabilisticSampler {
    traces: Sampler,
    logs: Sampler,
    next: BoxConsumer,
    metrics: Metrics,
}

impl ProbabilisticSampler {
    /// A sampler processor for `config` (already validated) handing kept items to
    /// `next`, counting into `registry` with label `processor = id`.
    pub fn new(
        id: &str,
        config: &ProbabilisticSamplerConfig,
        registry: Registry,
        next: BoxConsumer,
    ) -> Self {
        ProbabilisticSampler {
            traces: Sampler::new(config, Signal::Traces).named(id),
            logs: Sampler::new(config, Signal::Logs).named(id),
            next,
            metrics: Metrics::new(registry, id.to_string(), config.from_attribute.clone()),
        }
    }

    /// Samples `data` in place, counting the decisions.
    fn sample(&self, data: &mut Telemetry) {
        let signal = data.signal();
        let tally = match &mut *data.payload {
            Payload::Traces(rs) => self.traces.sample_traces(rs),
            Payload::Logs(rl) => self.logs.sample_logs(rl),
            // Not a signal of this processor; the pipeline never sends it.
            Payload::Metrics(_) => return,
        };
        self.metrics.record(signal, &tally);
    }
}

/// What `prepare` answers when nothing was kept: there is nothing to hand on.
struct NothingToHandOver;

#[async_trait]
impl Admission for NothingToHandOver {
    async fn commit(self: Box<Self>) -> Result<(), ConsumeError> {
        Ok(())
    }
}

#[async_trait]
impl Consumer for ProbabilisticSampler {
    async fn consume(&self, mut data: Telemetry) -> Result<(), ConsumeError> {
        self.sample(&mut data);
        if data.payload.is_empty() {
            return Ok(());
        }
        self.next.consume(data).await
    }

    /// Two-phase admission goes through to what follows, so a fan-out over
    /// pipelines that start with this processor stays all or nothing.
    fn can_prepare(&self) -> bool {
        self.next.can_prepare()
    }

    /// Samples, then holds room downstream for what is kept. A refusal hands back
    /// the batch as it arrived, not the sampled one, so whoever offers it again
    /// (the sender, a failover level) offers the original: sampling it a second time
    /// would drop what the first pass kept (its tracestate now carries `rv`/`th`).
    /// That costs one copy of each batch on this path.
    async fn prepare(&self, data: Telemetry) -> Prepared {
        if !self.next.can_prepare() {
            return Prepared::Unsupported(data);
        }
        let mut sampled = data.clone();
        self.sample(&mut sampled);
        if sampled.payload.is_empty() {
            return Prepared::Ready(Box::new(NothingToHandOver));
        }
        match self.next.prepare(sampled).await {
            Prepared::Ready(admission) => Prepared::Ready(admission),
            Prepared::Refused(e, _) => Prepared::Refused(e, data),
            Prepared::Unsupported(_) => Prepared::Unsupported(data),
        }
    }

    fn destinations(&self) -> Vec<Arc<Destination>> {
        self.next.destinations()
    }
}

impl Component for ProbabilisticSampler {}
