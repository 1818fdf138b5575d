//! The `ottl_condition` policy: a trace is sampled when any span matches any `span`
//! condition or any span event matches any `spanevent` condition.
//!
//! The evaluation loop and `error_mode` handling are here and tested against a
//! stand-in condition. Parsing the conditions needs the condition language crate
//! (`stratus-ottl`), written in parallel: until it is wired in, [`validate`] reports
//! [`OTTL_UNAVAILABLE`] and [`build`] refuses.
//!
//! Wiring it (for the lead): implement [`SpanCondition`] for `stratus_ottl::Condition`
//! (map [`Target`] to `stratus_ottl::Item::Span` / `Item::SpanEvent`, errors to their
//! text), then in [`validate`] parse every condition (`Context::Span` for `span`,
//! `Context::SpanEvent` for `spanevent`, problems at `<path>::span::<i>` with the
//! parse error's column) instead of reporting [`OTTL_UNAVAILABLE`], and in [`build`]
//! return `Box::new(OttlCondition::new(spans, events, c.error_mode))`.

use stratus_core::factory::ConfigProblem;
use stratus_core::pdata::common::InstrumentationScope;
use stratus_core::pdata::resource::Resource;
use stratus_core::pdata::trace::{Span, span::Event};

use super::{Decision, Evaluator, PolicyError, TraceData};
use crate::config::{OTTL_UNAVAILABLE, OttlConditionConfig, OttlErrorMode};

/// What a condition is evaluated on: the `Item` views of `stratus-ottl`.
#[derive(Debug, Clone, Copy)]
#[allow(dead_code)] // Read by stratus-ottl's conditions once wired; by the tests now.
pub(crate) enum Target<'a> {
    /// A span, with its resource and scope.
    Span {
        resource: Option<&'a Resource>,
        scope: Option<&'a InstrumentationScope>,
        span: &'a Span,
    },
    /// One event of a span.
    SpanEvent {
        resource: Option<&'a Resource>,
        scope: Option<&'a InstrumentationScope>,
        span: &'a Span,
        event: &'a Event,
    },
}

/// A parsed condition: `stratus_ottl::Condition` once wired.
pub(crate) trait SpanCondition: Send {
    /// Whether `target` matches; `Err` with the reason when it cannot be evaluated.
    fn eval(&self, target: Target<'_>) -> Result<bool, String>;
}

/// `ottl_condition`, over any condition type.
pub(crate) struct OttlCondition<C> {
    span: Vec<C>,
    spanevent: Vec<C>,
    error_mode: OttlErrorMode,
}

#[allow(dead_code)] // Used by the tests until stratus-ottl is wired in.
impl<C: SpanCondition> OttlCondition<C> {
    pub(crate) fn new(span: Vec<C>, spanevent: Vec<C>, error_mode: OttlErrorMode) -> Self {
        OttlCondition {
            span,
            spanevent,
            error_mode,
        }
    }

    /// Any condition of `list` matching `target`, conditions ORed. A failing
    /// condition is an error with `propagate`, false otherwise (logged with `ignore`).
    fn any(&self, list: &[C], target: Target<'_>) -> Result<bool, PolicyError> {
        for c in list {
            match c.eval(target) {
                Ok(true) => return Ok(true),
                Ok(false) => {}
                Err(e) => match self.error_mode {
                    OttlErrorMode::Propagate => {
                        return Err(PolicyError(format!("ottl_condition: {e}")));
                    }
                    OttlErrorMode::Ignore => {
                        tracing::warn!(error = %e, "ottl_condition: condition failed, counted as false");
                    }
                    OttlErrorMode::Silent => {}
                },
            }
        }
        Ok(false)
    }
}

impl<C: SpanCondition> Evaluator for OttlCondition<C> {
    fn evaluate(&mut self, trace: &TraceData) -> Result<Decision, PolicyError> {
        if self.span.is_empty() && self.spanevent.is_empty() {
            return Ok(Decision::NotSampled);
        }
        for rs in &trace.batches {
            let resource = rs.resource.as_ref();
            for ss in &rs.scope_spans {
                let scope = ss.scope.as_ref();
                for span in &ss.spans {
                    let at = Target::Span {
                        resource,
                        scope,
                        span,
                    };
                    if self.any(&self.span, at)? {
                        return Ok(Decision::Sampled);
                    }
                    if self.spanevent.is_empty() {
                        continue;
                    }
                    for event in &span.events {
                        let at = Target::SpanEvent {
                            resource,
                            scope,
                            span,
                            event,
                        };
                        if self.any(&self.spanevent, at)? {
                            return Ok(Decision::Sampled);
                        }
                    }
                }
            }
        }
        Ok(Decision::NotSampled)
    }
}

/// Checks an `ottl_condition` block's conditions.
///
/// LEAD: replace the [`OTTL_UNAVAILABLE`] problem with parsing each condition through
/// `stratus_ottl::Condition::parse` (see the module docs).
pub(crate) fn validate(c: &OttlConditionConfig, path: &str, problems: &mut Vec<ConfigProblem>) {
    let _ = c;
    problems.push(ConfigProblem::new(path, OTTL_UNAVAILABLE));
}

/// The evaluator of an `ottl_condition` block.
///
/// LEAD: parse the conditions with `stratus_ottl` and return an [`OttlCondition`].
pub(crate) fn build(c: &OttlConditionConfig) -> Result<Box<dyn Evaluator>, String> {
    let _ = c;
    Err(OTTL_UNAVAILABLE.to_string())
}
