//! The policies made of policies: `and`, `drop`, `composite`.

use std::collections::HashMap;

use tokio::time::Instant;

use super::basic::second_of;
use super::{Decision, Evaluator, PolicyError, TraceData, build_composite_sub, build_shared};
use crate::config::{AndConfig, CompositeConfig, DropConfig, SubPolicyConfig};

fn subs(list: &[SubPolicyConfig], epoch: Instant) -> Result<Vec<Box<dyn Evaluator>>, String> {
    list.iter()
        .map(|s| build_shared(&s.shared(), epoch))
        .collect()
}

/// Whether every sub-policy samples: `false` as soon as one does not (or, inverted,
/// matched); errors stop the walk.
fn all_sample(subs: &mut [Box<dyn Evaluator>], trace: &TraceData) -> Result<bool, PolicyError> {
    for sub in subs {
        if matches!(
            sub.evaluate(trace)?,
            Decision::NotSampled | Decision::InvertNotSampled
        ) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `and`: `Sampled` when no sub-policy returns `NotSampled` or `InvertNotSampled`.
pub(crate) struct And(Vec<Box<dyn Evaluator>>);

pub(crate) fn and(c: &AndConfig, epoch: Instant) -> Result<Box<dyn Evaluator>, String> {
    Ok(Box::new(And(subs(&c.and_sub_policy, epoch)?)))
}

impl Evaluator for And {
    fn evaluate(&mut self, trace: &TraceData) -> Result<Decision, PolicyError> {
        Ok(if all_sample(&mut self.0, trace)? {
            Decision::Sampled
        } else {
            Decision::NotSampled
        })
    }
}

/// `drop`: `Dropped` when no sub-policy returns `NotSampled` or `InvertNotSampled`.
pub(crate) struct Drop(Vec<Box<dyn Evaluator>>);

pub(crate) fn drop(c: &DropConfig, epoch: Instant) -> Result<Box<dyn Evaluator>, String> {
    Ok(Box::new(Drop(subs(&c.drop_sub_policy, epoch)?)))
}

impl Evaluator for Drop {
    fn evaluate(&mut self, trace: &TraceData) -> Result<Decision, PolicyError> {
        Ok(if all_sample(&mut self.0, trace)? {
            Decision::Dropped
        } else {
            Decision::NotSampled
        })
    }
}

struct Sub {
    evaluator: Box<dyn Evaluator>,
    /// Spans per second this sub-policy may sample.
    allocated: i64,
    /// Spans it sampled in the current second.
    sampled: i64,
}

/// `composite`: the first sub-policy (in `composite_sub_policy` order) that samples
/// the trace decides. The trace is sampled if the spans that sub-policy sampled this
/// second, this trace's included, stay within its allocation and within
/// `max_total_spans_per_second`; otherwise it is not sampled (and the counter is left
/// as it was, so a smaller trace may still fit).
pub(crate) struct Composite {
    subs: Vec<Sub>,
    max_total: i64,
    epoch: Instant,
    current_second: u64,
}

/// Spans per second of each sub-policy, by name: `percent` of the budget, or an equal
/// share for `percent` 0. Sub-policies not listed get none (upstream's rule).
pub(crate) fn allocations(c: &CompositeConfig) -> HashMap<&str, i64> {
    let total = c.max_total_spans_per_second as f64;
    let equal = total / c.composite_sub_policy.len().max(1) as f64;
    c.rate_allocation
        .iter()
        .map(|r| {
            let sps = if r.percent > 0 {
                (r.percent as f64 / 100.0) * total
            } else {
                equal
            };
            // Go's int64(float64): truncated.
            (r.policy.as_str(), sps as i64)
        })
        .collect()
}

pub(crate) fn composite(c: &CompositeConfig, epoch: Instant) -> Result<Box<dyn Evaluator>, String> {
    let shares = allocations(c);
    let subs = c
        .composite_sub_policy
        .iter()
        .map(|s| {
            Ok(Sub {
                evaluator: build_composite_sub(s, epoch)?,
                allocated: shares.get(s.name.as_str()).copied().unwrap_or(0),
                sampled: 0,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Box::new(Composite {
        subs,
        max_total: c.max_total_spans_per_second,
        epoch,
        current_second: 0,
    }))
}

impl Evaluator for Composite {
    fn evaluate(&mut self, trace: &TraceData) -> Result<Decision, PolicyError> {
        let second = second_of(trace.decision_time, self.epoch);
        if second != self.current_second {
            self.current_second = second;
            for sub in &mut self.subs {
                sub.sampled = 0;
            }
        }
        let spans = i64::try_from(trace.span_count).unwrap_or(i64::MAX);
        for sub in &mut self.subs {
            let d = sub.evaluator.evaluate(trace)?;
            if matches!(d, Decision::Sampled | Decision::InvertSampled) {
                let if_sampled = sub.sampled.saturating_add(spans);
                if if_sampled <= sub.allocated && if_sampled <= self.max_total {
                    sub.sampled = if_sampled;
                    return Ok(Decision::Sampled);
                }
                return Ok(Decision::NotSampled);
            }
        }
        Ok(Decision::NotSampled)
    }
}
