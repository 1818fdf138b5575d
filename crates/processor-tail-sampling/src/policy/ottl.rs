//! The `ottl_condition` policy: a trace is sampled when any span matches any `span`
//! condition or any span event matches any `spanevent` condition, in the OTTL subset
//! of `stratus-ottl` (parsed when the config is checked).
//!
//! As upstream: spans are walked batch by batch, each span's conditions before its
//! events' conditions, stopping at the first match. A condition that fails to
//! evaluate is, with `error_mode: propagate` (the default), an error of the policy for
//! this trace (counted in `sampling_policy_evaluation_error`, the other policies still
//! decide); with `ignore` it counts as false and is logged (at most once a second),
//! with `silent` it counts as false.

use stratus_core::factory::ConfigProblem;
use stratus_ottl::{Conditions, Context, Item};

use super::{Decision, Evaluator, PolicyError, TraceData};
use crate::config::OttlConditionConfig;

/// `ottl_condition`.
pub(crate) struct OttlCondition {
    span: Conditions,
    spanevent: Conditions,
}

impl Evaluator for OttlCondition {
    fn evaluate(&mut self, trace: &TraceData) -> Result<Decision, PolicyError> {
        let err = |e: stratus_ottl::EvalError| PolicyError(format!("ottl_condition: {e}"));
        for rs in &trace.batches {
            let resource = rs.resource.as_ref();
            for ss in &rs.scope_spans {
                let scope = ss.scope.as_ref();
                for span in &ss.spans {
                    if !self.span.is_empty() {
                        let item = Item::Span {
                            resource,
                            scope,
                            span,
                        };
                        if self.span.any(&item).map_err(err)? {
                            return Ok(Decision::Sampled);
                        }
                    }
                    if self.spanevent.is_empty() {
                        continue;
                    }
                    for event in &span.events {
                        let item = Item::SpanEvent {
                            resource,
                            scope,
                            span,
                            event,
                        };
                        if self.spanevent.any(&item).map_err(err)? {
                            return Ok(Decision::Sampled);
                        }
                    }
                }
            }
        }
        Ok(Decision::NotSampled)
    }
}

/// The block's two lists, parsed.
fn parse(c: &OttlConditionConfig) -> Result<(Conditions, Conditions), (String, String)> {
    let span = Conditions::parse(&c.span, Context::Span, c.error_mode)
        .map_err(|(i, e)| (format!("span::{i}"), e.to_string()))?;
    let spanevent = Conditions::parse(&c.spanevent, Context::SpanEvent, c.error_mode)
        .map_err(|(i, e)| (format!("spanevent::{i}"), e.to_string()))?;
    Ok((span, spanevent))
}

/// Checks every condition of an `ottl_condition` block, each at its own path
/// (`<path>::span::<i>`), with the parse error's column.
pub(crate) fn validate(c: &OttlConditionConfig, path: &str, problems: &mut Vec<ConfigProblem>) {
    let lists = [
        ("span", &c.span, Context::Span),
        ("spanevent", &c.spanevent, Context::SpanEvent),
    ];
    for (key, list, context) in lists {
        for (i, text) in list.iter().enumerate() {
            if let Err(e) = stratus_ottl::Condition::parse(text, context) {
                problems.push(ConfigProblem::new(
                    format!("{path}::{key}::{i}"),
                    format!("invalid {context} condition: {e}"),
                ));
            }
        }
    }
}

/// The evaluator of an `ottl_condition` block.
pub(crate) fn build(c: &OttlConditionConfig) -> Result<Box<dyn Evaluator>, String> {
    let (span, spanevent) = parse(c).map_err(|(at, e)| format!("{at}: {e}"))?;
    if span.is_empty() && spanevent.is_empty() {
        return Err("expected at least one OTTL condition to filter on".into());
    }
    Ok(Box::new(OttlCondition { span, spanevent }))
}
