//! Sampling policies: each looks at a whole trace and returns a [`Decision`].
//!
//! A policy is an [`Evaluator`]; [`build`] makes one from a validated
//! [`PolicyConfig`]. The processor combines the decisions of its policies with
//! upstream's rule ([`combine`]).

mod attributes;
mod basic;
mod compound;
pub(crate) mod ottl;
mod tracestate;

use std::fmt;

use stratus_core::pdata::common::{KeyValue, any_value};
use stratus_core::pdata::trace::{ResourceSpans, Span};
use tokio::time::Instant;

use crate::config::{CompositeSubPolicyConfig, PolicyConfig, PolicyType, Shared};

pub use basic::probabilistic_threshold;

/// What a policy (or the processor, for the trace) decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Keep the trace.
    Sampled,
    /// Do not keep the trace (unless another policy samples it).
    NotSampled,
    /// Drop the trace whatever the other policies say (`drop` policies).
    Dropped,
    /// An inverted match (`invert_match: true`) found no match: keep the trace unless
    /// another policy does not sample it.
    InvertSampled,
    /// An inverted match found a match: do not keep the trace, even if another policy
    /// samples it.
    InvertNotSampled,
}

impl Decision {
    /// The labels upstream counts the decision under: `sampled` and `decision`.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            Decision::Sampled | Decision::InvertSampled => ("true", "sampled"),
            Decision::NotSampled | Decision::InvertNotSampled => ("false", "not_sampled"),
            Decision::Dropped => ("false", "dropped"),
        }
    }
}

/// A policy that could not decide for a trace (an `ottl_condition` that failed with
/// `error_mode: propagate`). The processor counts it and goes on with the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(pub String);

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PolicyError {}

/// Everything the processor holds about a trace when it decides.
#[derive(Debug, Clone)]
pub struct TraceData {
    /// The trace id (16 bytes; shorter ids from the wire are zero-padded).
    pub trace_id: [u8; 16],
    /// Spans received for the trace so far.
    pub span_count: u64,
    /// The spans, one [`ResourceSpans`] per batch that brought some.
    pub batches: Vec<ResourceSpans>,
    /// When the decision is being made (tokio time, so tests can drive it).
    pub decision_time: Instant,
}

impl TraceData {
    /// Every span with its resource's attributes, batch by batch.
    pub(crate) fn spans(&self) -> impl Iterator<Item = &Span> {
        self.batches
            .iter()
            .flat_map(|rs| rs.scope_spans.iter().flat_map(|ss| ss.spans.iter()))
    }
}

/// A sampling policy.
///
/// Evaluators take `&mut self`: rate limits and caches keep state between traces.
/// The processor calls them from one task at a time.
pub trait Evaluator: Send {
    /// The policy's decision for `trace`.
    fn evaluate(&mut self, trace: &TraceData) -> Result<Decision, PolicyError>;
}

/// Upstream's rule for a trace's decision, from its policies' decisions (errors left
/// out): any `Dropped` drops it; else any `InvertNotSampled` does not sample it; else
/// any `Sampled` samples it; else an `InvertSampled` with no `NotSampled` samples it;
/// otherwise it is not sampled.
pub fn combine(decisions: impl IntoIterator<Item = Decision>) -> Decision {
    let (mut sampled, mut not_sampled, mut inv_sampled, mut inv_not) = (false, false, false, false);
    for d in decisions {
        match d {
            Decision::Dropped => return Decision::Dropped,
            Decision::Sampled => sampled = true,
            Decision::NotSampled => not_sampled = true,
            Decision::InvertSampled => inv_sampled = true,
            Decision::InvertNotSampled => inv_not = true,
        }
    }
    if inv_not {
        Decision::NotSampled
    } else if sampled || (inv_sampled && !not_sampled) {
        Decision::Sampled
    } else {
        Decision::NotSampled
    }
}

/// The evaluator for a top-level policy (validated: see
/// [`TailSamplingConfig`](crate::TailSamplingConfig)). `epoch` is the start of the
/// rate limiters' one-second windows; decisions are made after it.
pub fn build(cfg: &PolicyConfig, epoch: Instant) -> Result<Box<dyn Evaluator>, String> {
    match PolicyType::parse(&cfg.policy_type) {
        Some(PolicyType::And) => compound::and(&cfg.and, epoch),
        Some(PolicyType::Drop) => compound::drop(&cfg.drop, epoch),
        Some(PolicyType::Composite) => compound::composite(&cfg.composite, epoch),
        _ => build_shared(&cfg.shared(), epoch),
    }
}

pub(crate) fn build_composite_sub(
    cfg: &CompositeSubPolicyConfig,
    epoch: Instant,
) -> Result<Box<dyn Evaluator>, String> {
    match PolicyType::parse(&cfg.policy_type) {
        Some(PolicyType::And) => compound::and(&cfg.and, epoch),
        _ => build_shared(&cfg.shared(), epoch),
    }
}

pub(crate) fn build_shared(p: &Shared<'_>, epoch: Instant) -> Result<Box<dyn Evaluator>, String> {
    let t = PolicyType::parse(p.policy_type)
        .ok_or_else(|| format!("unknown sampling policy type `{}`", p.policy_type))?;
    Ok(match t {
        PolicyType::AlwaysSample => Box::new(basic::AlwaysSample),
        PolicyType::Latency => Box::new(basic::Latency::new(p.latency)),
        PolicyType::NumericAttribute => {
            Box::new(attributes::NumericAttribute::new(p.numeric_attribute))
        }
        PolicyType::Probabilistic => Box::new(basic::Probabilistic::new(p.probabilistic)),
        PolicyType::StatusCode => Box::new(basic::StatusCodes::new(p.status_code)?),
        PolicyType::StringAttribute => {
            Box::new(attributes::StringAttribute::new(p.string_attribute)?)
        }
        PolicyType::RateLimiting => Box::new(basic::RateLimiting::new(p.rate_limiting, epoch)),
        PolicyType::SpanCount => Box::new(basic::SpanCount::new(p.span_count)),
        PolicyType::TraceState => Box::new(basic::TraceStateFilter::new(p.trace_state)),
        PolicyType::BooleanAttribute => {
            Box::new(attributes::BooleanAttribute::new(p.boolean_attribute))
        }
        PolicyType::OttlCondition => ottl::build(p.ottl_condition)?,
        PolicyType::And | PolicyType::Composite | PolicyType::Drop => {
            return Err(format!("`{}` cannot be a sub-policy here", t.key()));
        }
    })
}

/// The first attribute with `key`: `Some(None)` when it is there with no value.
pub(crate) fn attribute<'a>(
    attrs: &'a [KeyValue],
    key: &str,
) -> Option<Option<&'a any_value::Value>> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| kv.value.as_ref().and_then(|v| v.value.as_ref()))
}

/// The resource attributes of a batch (none when it has no resource).
pub(crate) fn resource_attributes(rs: &ResourceSpans) -> &[KeyValue] {
    rs.resource
        .as_ref()
        .map_or(&[], |r| r.attributes.as_slice())
}

/// Upstream's `hasResourceOrSpanWithCondition`: `Sampled` as soon as a resource or a
/// span matches, batch by batch; `NotSampled` otherwise. (Its inverted twin gives
/// `InvertNotSampled` as soon as one matches and `InvertSampled` otherwise: the same
/// walk with other names, see `attributes::decide`.)
pub(crate) fn any_resource_or_span(
    trace: &TraceData,
    mut resource: impl FnMut(&[KeyValue]) -> bool,
    mut span: impl FnMut(&Span) -> bool,
) -> Decision {
    for rs in &trace.batches {
        if resource(resource_attributes(rs)) {
            return Decision::Sampled;
        }
        if rs
            .scope_spans
            .iter()
            .flat_map(|ss| ss.spans.iter())
            .any(&mut span)
        {
            return Decision::Sampled;
        }
    }
    Decision::NotSampled
}

#[cfg(test)]
pub(crate) mod tests;
