//! The `tail_sampling` processor's config: upstream's keys, defaults and policy blocks.
//!
//! Each policy is `{name, type, <type>: {...}}`, as in the contrib processor's
//! `config.go`. Three levels of policy exist, with the same shared blocks:
//!
//! - top-level `policies` entries ([`PolicyConfig`]) may be of every type, including
//!   `and`, `composite` and `drop`;
//! - `composite_sub_policy` entries ([`CompositeSubPolicyConfig`]) may be of every
//!   shared type and `and`;
//! - `and_sub_policy` and `drop_sub_policy` entries ([`SubPolicyConfig`]) may be of
//!   the shared types only.

use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;
use stratus_core::factory::{ConfigProblem, Validate};
use stratus_ottl::ErrorMode;

/// Config of the `tail_sampling` processor.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TailSamplingConfig {
    /// Time from the first span of a trace until its sampling decision (a duration
    /// such as `10s`). The decision is made at the first tick of the processor's timer
    /// (every second, or every `decision_wait` when that is shorter) after it.
    /// Default `30s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub decision_wait: Duration,
    /// Most traces held in memory, pending or decided (count). When a new trace
    /// arrives and this many are held, the oldest is removed; if it was still
    /// pending, its spans are dropped and counted in
    /// `otelcol_processor_tail_sampling_sampling_trace_dropped_too_early`. Must be at
    /// least 1. Default `50000`.
    pub num_traces: u64,
    /// New traces expected per second (count): sizes the trace table up front. `0`
    /// lets it grow. Default `0`.
    pub expected_new_traces_per_sec: u64,
    /// Caches of decisions already made, which outlive the traces' spans in memory.
    pub decision_cache: DecisionCacheConfig,
    /// The policies whose decisions make the trace's decision. Required: at least one.
    pub policies: Vec<PolicyConfig>,
    /// Stop evaluating a trace's policies at the first that samples it (upstream's
    /// `sample_on_first_match`). A `drop` policy is evaluated before all others either
    /// way. Default `false`.
    pub sample_on_first_match: bool,
}

impl Default for TailSamplingConfig {
    fn default() -> Self {
        TailSamplingConfig {
            decision_wait: Duration::from_secs(30),
            num_traces: 50_000,
            expected_new_traces_per_sec: 0,
            decision_cache: DecisionCacheConfig::default(),
            policies: Vec::new(),
            sample_on_first_match: false,
        }
    }
}

/// `decision_cache`: trace ids whose decision is remembered after their spans left
/// memory, so later spans of the trace follow it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecisionCacheConfig {
    /// Trace ids remembered as sampled (count, least recently used evicted). `0`
    /// disables the cache. Default `0`.
    pub sampled_cache_size: usize,
    /// Trace ids remembered as not sampled or dropped (count, least recently used
    /// evicted). `0` disables the cache. Default `0`.
    pub non_sampled_cache_size: usize,
}

/// `latency`: the trace's duration, from its earliest span start to its latest span end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LatencyConfig {
    /// Lower bound, milliseconds. Without `upper_threshold_ms`, traces lasting at least
    /// this long are sampled; with it, traces lasting more than this. Default `0`.
    pub threshold_ms: i64,
    /// Upper bound, milliseconds, inclusive; `0` means none. Default `0`.
    pub upper_threshold_ms: i64,
}

/// `numeric_attribute`: an integer resource or span attribute within a range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NumericAttributeConfig {
    /// The attribute key. Required.
    pub key: String,
    /// Smallest matching value, inclusive; `0` means no lower bound (upstream's
    /// rule). Default `0`.
    pub min_value: i64,
    /// Largest matching value, inclusive; `0` means no upper bound (upstream's rule).
    /// Default `0`.
    pub max_value: i64,
    /// Sample traces where no resource or span has a matching value. Default `false`.
    pub invert_match: bool,
}

/// `probabilistic`: a share of trace ids, by hash.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProbabilisticConfig {
    /// Salt hashed before the trace id; empty means upstream's `default-hash-seed`.
    /// Collectors with the same salt keep the same traces. Default empty.
    pub hash_salt: String,
    /// Percentage of traces sampled, `0` to `100` (more samples all). Default `0`.
    pub sampling_percentage: f64,
}

/// `status_code`: any span with one of the status codes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusCodeConfig {
    /// `OK`, `ERROR` or `UNSET`. Required: at least one.
    pub status_codes: Vec<String>,
}

/// `string_attribute`: a string resource or span attribute equal to (or matching) a value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StringAttributeConfig {
    /// The attribute key. Required.
    pub key: String,
    /// Values compared for equality, or regular expressions (unanchored, as upstream)
    /// with `enabled_regex_matching`. Required: at least one.
    pub values: Vec<String>,
    /// Treat `values` as regular expressions. Default `false`.
    pub enabled_regex_matching: bool,
    /// Attribute values whose regex result is remembered (count, least recently used
    /// evicted); `0` or less means 128. Unused without `enabled_regex_matching`.
    /// Default `0`.
    pub cache_max_size: i64,
    /// Sample traces where no resource or span matches. Default `false`.
    pub invert_match: bool,
}

/// `rate_limiting`: traces while the spans sampled this second stay under a rate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitingConfig {
    /// Spans per second (count). Required, more than 0.
    pub spans_per_second: i64,
}

/// `span_count`: traces with a number of spans in a range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpanCountConfig {
    /// Fewest spans, inclusive (count). Default `0`.
    pub min_spans: i32,
    /// Most spans, inclusive (count); `0` means no upper bound. Default `0`.
    pub max_spans: i32,
}

/// `trace_state`: a span whose W3C trace state has a key with one of the values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TraceStateConfig {
    /// The trace state key. Required.
    pub key: String,
    /// Values compared for equality. Required: at least one.
    pub values: Vec<String>,
}

/// `boolean_attribute`: a boolean resource or span attribute with a value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BooleanAttributeConfig {
    /// The attribute key. Required.
    pub key: String,
    /// The value that matches. Default `false`.
    pub value: bool,
    /// Sample traces where no resource or span matches. Default `false`.
    pub invert_match: bool,
}

/// `ottl_condition`: any span or span event matching a condition (the OTTL subset of
/// `stratus-ottl`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OttlConditionConfig {
    /// What a condition that fails to evaluate does: `propagate` (the policy reports
    /// an error for the trace, counted in `sampling_policy_evaluation_error`),
    /// `ignore` (false, logged) or `silent` (false). Default `propagate`, upstream's.
    pub error_mode: ErrorMode,
    /// Conditions in the span context, any of which samples the trace. Default empty.
    pub span: Vec<String>,
    /// Conditions in the span event context, any of which samples the trace. Default
    /// empty.
    pub spanevent: Vec<String>,
}

/// `and`: samples when every sub-policy samples.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AndConfig {
    /// The sub-policies, of the shared types. Required: at least one.
    pub and_sub_policy: Vec<SubPolicyConfig>,
}

/// `drop`: drops the trace when every sub-policy samples it, whatever other policies say.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DropConfig {
    /// The sub-policies, of the shared types. Required: at least one.
    pub drop_sub_policy: Vec<SubPolicyConfig>,
}

/// `composite`: the first sub-policy that samples a trace decides, within a share of
/// a spans-per-second budget.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompositeConfig {
    /// The whole budget, spans per second (count). Required, more than 0.
    pub max_total_spans_per_second: i64,
    /// Names of the sub-policies. Upstream does not use it (sub-policies are evaluated
    /// in `composite_sub_policy` order) and neither does stratus; names listed must be
    /// sub-policies. Default empty.
    pub policy_order: Vec<String>,
    /// The sub-policies, of the shared types and `and`, evaluated in this order.
    /// Required: at least one.
    pub composite_sub_policy: Vec<CompositeSubPolicyConfig>,
    /// Each sub-policy's share of the budget. A sub-policy without an entry gets no
    /// share and never samples (upstream's rule); an entry with `percent` 0 gets an
    /// equal share (budget / number of sub-policies). Default empty.
    pub rate_allocation: Vec<RateAllocationConfig>,
}

/// One `rate_allocation` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateAllocationConfig {
    /// The sub-policy's name. Required.
    pub policy: String,
    /// Its share of `max_total_spans_per_second`, percent (0 to 100). Default `0`.
    pub percent: i64,
}

/// Declares a policy struct: `name`, `type`, every shared policy block, and `$extra`.
macro_rules! policy_struct {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            /// The policy's name, used in metrics (`policy` label). Required at the
            /// top level and in `composite_sub_policy`, unique among its siblings.
            pub name: String,
            /// The policy type; its block (the key of the same name) configures it.
            #[serde(rename = "type")]
            pub policy_type: String,
            /// The `latency` block.
            pub latency: LatencyConfig,
            /// The `numeric_attribute` block.
            pub numeric_attribute: NumericAttributeConfig,
            /// The `probabilistic` block.
            pub probabilistic: ProbabilisticConfig,
            /// The `status_code` block.
            pub status_code: StatusCodeConfig,
            /// The `string_attribute` block.
            pub string_attribute: StringAttributeConfig,
            /// The `rate_limiting` block.
            pub rate_limiting: RateLimitingConfig,
            /// The `span_count` block.
            pub span_count: SpanCountConfig,
            /// The `trace_state` block.
            pub trace_state: TraceStateConfig,
            /// The `boolean_attribute` block.
            pub boolean_attribute: BooleanAttributeConfig,
            /// The `ottl_condition` block.
            pub ottl_condition: OttlConditionConfig,
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl $name {
            /// The name, type and shared blocks, for validation and building.
            pub(crate) fn shared(&self) -> Shared<'_> {
                Shared {
                    name: &self.name,
                    policy_type: &self.policy_type,
                    latency: &self.latency,
                    numeric_attribute: &self.numeric_attribute,
                    probabilistic: &self.probabilistic,
                    status_code: &self.status_code,
                    string_attribute: &self.string_attribute,
                    rate_limiting: &self.rate_limiting,
                    span_count: &self.span_count,
                    trace_state: &self.trace_state,
                    boolean_attribute: &self.boolean_attribute,
                    ottl_condition: &self.ottl_condition,
                }
            }
        }
    };
}

policy_struct! {
    /// One entry of `policies`: any policy type.
    PolicyConfig {
        /// The `and` block.
        and: AndConfig,
        /// The `composite` block.
        composite: CompositeConfig,
        /// The `drop` block.
        drop: DropConfig,
    }
}

policy_struct! {
    /// One entry of `composite_sub_policy`: a shared policy type or `and`.
    CompositeSubPolicyConfig {
        /// The `and` block.
        and: AndConfig,
    }
}

policy_struct! {
    /// One entry of `and_sub_policy` or `drop_sub_policy`: a shared policy type.
    SubPolicyConfig {}
}

/// The fields every policy level has, borrowed.
pub(crate) struct Shared<'a> {
    pub name: &'a str,
    pub policy_type: &'a str,
    pub latency: &'a LatencyConfig,
    pub numeric_attribute: &'a NumericAttributeConfig,
    pub probabilistic: &'a ProbabilisticConfig,
    pub status_code: &'a StatusCodeConfig,
    pub string_attribute: &'a StringAttributeConfig,
    pub rate_limiting: &'a RateLimitingConfig,
    pub span_count: &'a SpanCountConfig,
    pub trace_state: &'a TraceStateConfig,
    pub boolean_attribute: &'a BooleanAttributeConfig,
    pub ottl_condition: &'a OttlConditionConfig,
}

/// Every policy type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyType {
    /// `always_sample`
    AlwaysSample,
    /// `latency`
    Latency,
    /// `numeric_attribute`
    NumericAttribute,
    /// `probabilistic`
    Probabilistic,
    /// `status_code`
    StatusCode,
    /// `string_attribute`
    StringAttribute,
    /// `rate_limiting`
    RateLimiting,
    /// `span_count`
    SpanCount,
    /// `trace_state`
    TraceState,
    /// `boolean_attribute`
    BooleanAttribute,
    /// `ottl_condition`
    OttlCondition,
    /// `and`
    And,
    /// `composite`
    Composite,
    /// `drop`
    Drop,
}

impl PolicyType {
    /// Every type, in upstream's README order.
    pub const ALL: [PolicyType; 14] = [
        PolicyType::AlwaysSample,
        PolicyType::Latency,
        PolicyType::NumericAttribute,
        PolicyType::Probabilistic,
        PolicyType::StatusCode,
        PolicyType::StringAttribute,
        PolicyType::RateLimiting,
        PolicyType::SpanCount,
        PolicyType::TraceState,
        PolicyType::BooleanAttribute,
        PolicyType::OttlCondition,
        PolicyType::And,
        PolicyType::Composite,
        PolicyType::Drop,
    ];

    /// The type's name in config, which is also the key of its block.
    pub fn key(self) -> &'static str {
        match self {
            PolicyType::AlwaysSample => "always_sample",
            PolicyType::Latency => "latency",
            PolicyType::NumericAttribute => "numeric_attribute",
            PolicyType::Probabilistic => "probabilistic",
            PolicyType::StatusCode => "status_code",
            PolicyType::StringAttribute => "string_attribute",
            PolicyType::RateLimiting => "rate_limiting",
            PolicyType::SpanCount => "span_count",
            PolicyType::TraceState => "trace_state",
            PolicyType::BooleanAttribute => "boolean_attribute",
            PolicyType::OttlCondition => "ottl_condition",
            PolicyType::And => "and",
            PolicyType::Composite => "composite",
            PolicyType::Drop => "drop",
        }
    }

    /// The type named `name`.
    pub fn parse(name: &str) -> Option<PolicyType> {
        PolicyType::ALL.into_iter().find(|t| t.key() == name)
    }

    fn compound(self) -> bool {
        matches!(
            self,
            PolicyType::And | PolicyType::Composite | PolicyType::Drop
        )
    }
}

/// Where a policy sits, which decides the types it may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    /// An entry of `policies`.
    Top,
    /// An entry of `composite_sub_policy`.
    CompositeSub,
    /// An entry of `and_sub_policy` or `drop_sub_policy`.
    AndSub,
}

impl Level {
    fn allows(self, t: PolicyType) -> bool {
        match self {
            Level::Top => true,
            Level::CompositeSub => !t.compound() || t == PolicyType::And,
            Level::AndSub => !t.compound(),
        }
    }

    fn allowed(self) -> String {
        let names: Vec<&str> = PolicyType::ALL
            .into_iter()
            .filter(|t| self.allows(*t))
            .map(PolicyType::key)
            .collect();
        names.join(", ")
    }

    fn what(self) -> &'static str {
        match self {
            Level::Top => "a policy",
            Level::CompositeSub => "a composite sub-policy",
            Level::AndSub => "an and/drop sub-policy",
        }
    }
}

/// The status codes `status_code` accepts, as OTLP's numeric codes.
pub(crate) fn status_code(name: &str) -> Option<i32> {
    match name {
        "UNSET" => Some(0),
        "OK" => Some(1),
        "ERROR" => Some(2),
        _ => None,
    }
}

impl Validate for TailSamplingConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.num_traces == 0 {
            problems.push(ConfigProblem::new(
                "num_traces",
                "must be at least 1 (the most traces held in memory)",
            ));
        }
        if self.policies.is_empty() {
            problems.push(ConfigProblem::new(
                "policies",
                "must list at least one policy (`{name, type, <type>: {...}}`); \
                 without one no trace is ever sampled",
            ));
        }
        let mut names = HashSet::new();
        for (i, p) in self.policies.iter().enumerate() {
            let path = format!("policies::{i}");
            if !p.name.is_empty() && !names.insert(p.name.as_str()) {
                problems.push(ConfigProblem::new(
                    format!("{path}::name"),
                    format!("duplicate policy name `{}`: names must be unique", p.name),
                ));
            }
            validate_top(p, &path, &mut problems);
        }
        problems
    }
}

fn validate_top(p: &PolicyConfig, path: &str, problems: &mut Vec<ConfigProblem>) {
    let Some(t) = validate_shared(&p.shared(), Level::Top, path, problems) else {
        return;
    };
    let blocks = [
        (PolicyType::And, p.and != AndConfig::default()),
        (
            PolicyType::Composite,
            p.composite != CompositeConfig::default(),
        ),
        (PolicyType::Drop, p.drop != DropConfig::default()),
    ];
    reject_other_blocks(t, &blocks, path, problems);
    match t {
        PolicyType::And => validate_subs(
            &p.and.and_sub_policy,
            &format!("{path}::and::and_sub_policy"),
            problems,
        ),
        PolicyType::Drop => validate_subs(
            &p.drop.drop_sub_policy,
            &format!("{path}::drop::drop_sub_policy"),
            problems,
        ),
        PolicyType::Composite => {
            validate_composite(&p.composite, &format!("{path}::composite"), problems)
        }
        _ => {}
    }
}

fn validate_subs(subs: &[SubPolicyConfig], path: &str, problems: &mut Vec<ConfigProblem>) {
    if subs.is_empty() {
        problems.push(ConfigProblem::new(path, "must list at least one policy"));
    }
    for (i, sub) in subs.iter().enumerate() {
        let path = format!("{path}::{i}");
        if let Some(t) = validate_shared(&sub.shared(), Level::AndSub, &path, problems) {
            reject_other_blocks(t, &[], &path, problems);
        }
    }
}

fn validate_composite(c: &CompositeConfig, path: &str, problems: &mut Vec<ConfigProblem>) {
    if c.max_total_spans_per_second <= 0 {
        problems.push(ConfigProblem::new(
            format!("{path}::max_total_spans_per_second"),
            format!(
                "must be more than 0 (the spans per second the composite policy may \
                 sample), got {}",
                c.max_total_spans_per_second
            ),
        ));
    }
    let subs_path = format!("{path}::composite_sub_policy");
    if c.composite_sub_policy.is_empty() {
        problems.push(ConfigProblem::new(
            &subs_path,
            "must list at least one policy",
        ));
    }
    let mut names = HashSet::new();
    for (i, sub) in c.composite_sub_policy.iter().enumerate() {
        let path = format!("{subs_path}::{i}");
        if sub.name.is_empty() {
            problems.push(ConfigProblem::new(
                format!("{path}::name"),
                "must not be empty: rate_allocation refers to sub-policies by name",
            ));
        } else if !names.insert(sub.name.as_str()) {
            problems.push(ConfigProblem::new(
                format!("{path}::name"),
                format!(
                    "duplicate sub-policy name `{}`: names must be unique in a composite",
                    sub.name
                ),
            ));
        }
        let Some(t) = validate_shared(&sub.shared(), Level::CompositeSub, &path, problems) else {
            continue;
        };
        reject_other_blocks(
            t,
            &[(PolicyType::And, sub.and != AndConfig::default())],
            &path,
            problems,
        );
        if t == PolicyType::And {
            validate_subs(
                &sub.and.and_sub_policy,
                &format!("{path}::and::and_sub_policy"),
                problems,
            );
        }
    }
    for (i, name) in c.policy_order.iter().enumerate() {
        if !names.contains(name.as_str()) {
            problems.push(ConfigProblem::new(
                format!("{path}::policy_order::{i}"),
                format!("`{name}` is not the name of a composite_sub_policy entry"),
            ));
        }
    }
    let mut allocated = HashSet::new();
    let mut total = 0i64;
    for (i, r) in c.rate_allocation.iter().enumerate() {
        let rpath = format!("{path}::rate_allocation::{i}");
        if !names.contains(r.policy.as_str()) {
            problems.push(ConfigProblem::new(
                format!("{rpath}::policy"),
                format!(
                    "`{}` is not the name of a composite_sub_policy entry",
                    r.policy
                ),
            ));
        } else if !allocated.insert(r.policy.as_str()) {
            problems.push(ConfigProblem::new(
                format!("{rpath}::policy"),
                format!("`{}` has a rate allocation already", r.policy),
            ));
        }
        if !(0..=100).contains(&r.percent) {
            problems.push(ConfigProblem::new(
                format!("{rpath}::percent"),
                format!("must be from 0 to 100, got {}", r.percent),
            ));
        } else {
            total += r.percent;
        }
    }
    if total > 100 {
        problems.push(ConfigProblem::new(
            format!("{path}::rate_allocation"),
            format!("percentages add up to {total}: they must add up to 100 or less"),
        ));
    }
}

/// Checks the name, type and the type's block; the type when it is valid here.
fn validate_shared(
    p: &Shared<'_>,
    level: Level,
    path: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<PolicyType> {
    if level == Level::Top && p.name.is_empty() {
        problems.push(ConfigProblem::new(
            format!("{path}::name"),
            "must not be empty: every policy needs a name (it labels the policy's metrics)",
        ));
    }
    let tpath = format!("{path}::type");
    let t = match PolicyType::parse(p.policy_type) {
        None if p.policy_type.is_empty() => {
            problems.push(ConfigProblem::new(
                tpath,
                format!("missing: give one of {}", level.allowed()),
            ));
            return None;
        }
        None => {
            problems.push(ConfigProblem::new(
                tpath,
                format!(
                    "unknown policy type `{}`; expected one of {}",
                    p.policy_type,
                    level.allowed()
                ),
            ));
            return None;
        }
        Some(t) if !level.allows(t) => {
            problems.push(ConfigProblem::new(
                tpath,
                format!(
                    "`{}` cannot be {}; expected one of {}",
                    t.key(),
                    level.what(),
                    level.allowed()
                ),
            ));
            return None;
        }
        Some(t) => t,
    };
    let shared_blocks = [
        (PolicyType::Latency, *p.latency != LatencyConfig::default()),
        (
            PolicyType::NumericAttribute,
            *p.numeric_attribute != NumericAttributeConfig::default(),
        ),
        (
            PolicyType::Probabilistic,
            *p.probabilistic != ProbabilisticConfig::default(),
        ),
        (
            PolicyType::StatusCode,
            *p.status_code != StatusCodeConfig::default(),
        ),
        (
            PolicyType::StringAttribute,
            *p.string_attribute != StringAttributeConfig::default(),
        ),
        (
            PolicyType::RateLimiting,
            *p.rate_limiting != RateLimitingConfig::default(),
        ),
        (
            PolicyType::SpanCount,
            *p.span_count != SpanCountConfig::default(),
        ),
        (
            PolicyType::TraceState,
            *p.trace_state != TraceStateConfig::default(),
        ),
        (
            PolicyType::BooleanAttribute,
            *p.boolean_attribute != BooleanAttributeConfig::default(),
        ),
        (
            PolicyType::OttlCondition,
            *p.ottl_condition != OttlConditionConfig::default(),
        ),
    ];
    reject_other_blocks(t, &shared_blocks, path, problems);
    let bpath = format!("{path}::{}", t.key());
    match t {
        PolicyType::Latency => validate_latency(p.latency, &bpath, problems),
        PolicyType::NumericAttribute => validate_numeric(p.numeric_attribute, &bpath, problems),
        PolicyType::Probabilistic => {
            let pct = p.probabilistic.sampling_percentage;
            if pct.is_nan() || pct < 0.0 {
                problems.push(ConfigProblem::new(
                    format!("{bpath}::sampling_percentage"),
                    format!("must be a percentage from 0 to 100, got {pct}"),
                ));
            }
        }
        PolicyType::StatusCode => {
            let codes = &p.status_code.status_codes;
            if codes.is_empty() {
                problems.push(ConfigProblem::new(
                    format!("{bpath}::status_codes"),
                    "must list at least one of OK, ERROR, UNSET",
                ));
            }
            for (i, c) in codes.iter().enumerate() {
                if status_code(c).is_none() {
                    problems.push(ConfigProblem::new(
                        format!("{bpath}::status_codes::{i}"),
                        format!("unknown status code `{c}`; expected OK, ERROR or UNSET"),
                    ));
                }
            }
        }
        PolicyType::StringAttribute => validate_string(p.string_attribute, &bpath, problems),
        PolicyType::RateLimiting => {
            let sps = p.rate_limiting.spans_per_second;
            if sps <= 0 {
                problems.push(ConfigProblem::new(
                    format!("{bpath}::spans_per_second"),
                    format!("must be more than 0, got {sps}"),
                ));
            }
        }
        PolicyType::SpanCount => {
            let c = p.span_count;
            if c.min_spans < 0 {
                problems.push(ConfigProblem::new(
                    format!("{bpath}::min_spans"),
                    format!("must be 0 or more, got {}", c.min_spans),
                ));
            }
            if c.max_spans < 0 || (c.max_spans != 0 && c.max_spans < c.min_spans) {
                problems.push(ConfigProblem::new(
                    format!("{bpath}::max_spans"),
                    format!(
                        "must be 0 (no upper bound) or at least min_spans ({}), got {}",
                        c.min_spans, c.max_spans
                    ),
                ));
            }
        }
        PolicyType::TraceState => {
            let c = p.trace_state;
            require_key(&c.key, &bpath, problems);
            if c.values.is_empty() {
                problems.push(ConfigProblem::new(
                    format!("{bpath}::values"),
                    "must list at least one value",
                ));
            }
        }
        PolicyType::BooleanAttribute => require_key(&p.boolean_attribute.key, &bpath, problems),
        PolicyType::OttlCondition => {
            let c = p.ottl_condition;
            if c.span.is_empty() && c.spanevent.is_empty() {
                problems.push(ConfigProblem::new(
                    &bpath,
                    "must have at least one condition in `span` or `spanevent`",
                ));
            }
            crate::policy::ottl::validate(c, &bpath, problems);
        }
        PolicyType::AlwaysSample | PolicyType::And | PolicyType::Composite | PolicyType::Drop => {}
    }
    Some(t)
}

/// A block set for another type than the policy's is a mistake upstream ignores
/// silently; stratus reports it.
fn reject_other_blocks(
    t: PolicyType,
    blocks: &[(PolicyType, bool)],
    path: &str,
    problems: &mut Vec<ConfigProblem>,
) {
    for (block, set) in blocks {
        if *set && *block != t {
            problems.push(ConfigProblem::new(
                format!("{path}::{}", block.key()),
                format!(
                    "is set but the policy's type is `{}`: remove it or set `type: {}`",
                    t.key(),
                    block.key()
                ),
            ));
        }
    }
}

fn require_key(key: &str, path: &str, problems: &mut Vec<ConfigProblem>) {
    if key.is_empty() {
        problems.push(ConfigProblem::new(
            format!("{path}::key"),
            "must not be empty: the attribute key to look up",
        ));
    }
}

fn validate_latency(c: &LatencyConfig, path: &str, problems: &mut Vec<ConfigProblem>) {
    if c.threshold_ms < 0 {
        problems.push(ConfigProblem::new(
            format!("{path}::threshold_ms"),
            format!("must be 0 or more, got {}", c.threshold_ms),
        ));
    }
    if c.upper_threshold_ms != 0 && c.upper_threshold_ms <= c.threshold_ms {
        problems.push(ConfigProblem::new(
            format!("{path}::upper_threshold_ms"),
            format!(
                "must be 0 (no upper bound) or more than threshold_ms ({}), got {}",
                c.threshold_ms, c.upper_threshold_ms
            ),
        ));
    }
}

fn validate_numeric(c: &NumericAttributeConfig, path: &str, problems: &mut Vec<ConfigProblem>) {
    require_key(&c.key, path, problems);
    if c.min_value == 0 && c.max_value == 0 {
        problems.push(ConfigProblem::new(
            path,
            "set min_value, max_value or both (0 means no bound on that side)",
        ));
    } else if c.min_value != 0 && c.max_value != 0 && c.max_value < c.min_value {
        problems.push(ConfigProblem::new(
            format!("{path}::max_value"),
            format!(
                "must be at least min_value ({}), got {}",
                c.min_value, c.max_value
            ),
        ));
    }
}

fn validate_string(c: &StringAttributeConfig, path: &str, problems: &mut Vec<ConfigProblem>) {
    require_key(&c.key, path, problems);
    if c.values.is_empty() {
        problems.push(ConfigProblem::new(
            format!("{path}::values"),
            "must list at least one value",
        ));
    }
    if c.enabled_regex_matching {
        for (i, v) in c.values.iter().enumerate() {
            if let Err(e) = regex::Regex::new(v) {
                problems.push(ConfigProblem::new(
                    format!("{path}::values::{i}"),
                    format!("invalid regular expression: {e}"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use stratus_core::factory::decode_config;

    #[test]
    fn defaults_match_upstream() {
        let c = TailSamplingConfig::default();
        assert_eq!(c.decision_wait, Duration::from_secs(30));
        assert_eq!(c.num_traces, 50_000);
        assert_eq!(c.expected_new_traces_per_sec, 0);
        assert_eq!(c.decision_cache, DecisionCacheConfig::default());
        assert_eq!(c.decision_cache.sampled_cache_size, 0);
        assert!(!c.sample_on_first_match);
        let err = decode_config::<TailSamplingConfig>(&Value::Null).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].path, "policies");
    }

    /// Upstream's README example.
    #[test]
    fn upstreams_readme_example_decodes() {
        let c: TailSamplingConfig = decode_config(&json!({
            "decision_wait": "10s",
            "num_traces": 100,
            "expected_new_traces_per_sec": 10,
            "decision_cache": {"sampled_cache_size": 100_000, "non_sampled_cache_size": 100_000},
            "policies": [
                {"name": "test-policy-1", "type": "always_sample"},
                {"name": "test-policy-2", "type": "latency", "latency": {"threshold_ms": 5000, "upper_threshold_ms": 10000}},
                {"name": "test-policy-3", "type": "numeric_attribute", "numeric_attribute": {"key": "key1", "min_value": 50, "max_value": 100}},
                {"name": "test-policy-4", "type": "probabilistic", "probabilistic": {"sampling_percentage": 10}},
                {"name": "test-policy-5", "type": "status_code", "status_code": {"status_codes": ["ERROR", "UNSET"]}},
                {"name": "test-policy-6", "type": "string_attribute", "string_attribute": {"key": "key2", "values": ["value1", "value2"]}},
                {"name": "test-policy-7", "type": "string_attribute", "string_attribute": {"key": "key2", "values": ["value1", "val*"], "enabled_regex_matching": true, "cache_max_size": 10}},
                {"name": "test-policy-8", "type": "rate_limiting", "rate_limiting": {"spans_per_second": 35}},
                {"name": "test-policy-9", "type": "span_count", "span_count": {"min_spans": 2, "max_spans": 20}},
                {"name": "test-policy-10", "type": "trace_state", "trace_state": {"key": "key3", "values": ["value1", "value2"]}},
                {"name": "test-policy-11", "type": "boolean_attribute", "boolean_attribute": {"key": "key4", "value": true}},
                {"name": "test-policy-12", "type": "ottl_condition", "ottl_condition": {
                    "error_mode": "ignore",
                    "span": [
                        "attributes[\"test_attr_key_1\"] == \"test_attr_val_1\"",
                        "attributes[\"test_attr_key_2\"] != \"test_attr_val_1\"",
                    ],
                    "spanevent": [
                        "name != \"test_span_event_name\"",
                        "attributes[\"test_event_attr_key_2\"] != \"test_event_attr_val_1\"",
                    ],
                }},
                {"name": "and-policy-1", "type": "and", "and": {"and_sub_policy": [
                    {"name": "test-and-policy-1", "type": "numeric_attribute", "numeric_attribute": {"key": "key1", "min_value": 50, "max_value": 100}},
                    {"name": "test-and-policy-2", "type": "string_attribute", "string_attribute": {"key": "key2", "values": ["value1", "value2"]}},
                ]}},
                {"name": "drop-policy-1", "type": "drop", "drop": {"drop_sub_policy": [
                    {"name": "test-drop-policy-1", "type": "string_attribute", "string_attribute": {"key": "url.path", "values": ["\\/health", "\\/metrics"], "enabled_regex_matching": true}},
                ]}},
                {"name": "composite-policy-1", "type": "composite", "composite": {
                    "max_total_spans_per_second": 1000,
                    "policy_order": ["test-composite-policy-1", "test-composite-policy-2", "test-composite-policy-3"],
                    "composite_sub_policy": [
                        {"name": "test-composite-policy-1", "type": "numeric_attribute", "numeric_attribute": {"key": "key1", "min_value": 50}},
                        {"name": "test-composite-policy-2", "type": "string_attribute", "string_attribute": {"key": "key2", "values": ["value1", "value2"]}},
                        {"name": "test-composite-policy-3", "type": "always_sample"},
                    ],
                    "rate_allocation": [
                        {"policy": "test-composite-policy-1", "percent": 50},
                        {"policy": "test-composite-policy-2", "percent": 25},
                    ],
                }},
            ],
        }))
        .unwrap();
        assert_eq!(c.decision_wait, Duration::from_secs(10));
        assert_eq!(c.policies.len(), 15);
        assert_eq!(c.policies[14].composite.rate_allocation[1].percent, 25);
        assert_eq!(c.policies[11].ottl_condition.error_mode, ErrorMode::Ignore);
        assert_eq!(c.decision_cache.non_sampled_cache_size, 100_000);
    }

    /// Each invalid config, with every problem's path (and a word of its message).
    #[test]
    fn invalid_configs_report_key_paths() {
        let p = |policy: Value| json!({"policies": [policy]});
        /// What, config, the expected (path, part of the message) of every problem.
        type Case = (&'static str, Value, Vec<(&'static str, &'static str)>);
        let cases: Vec<Case> = vec![
            (
                "no policies",
                json!({"policies": []}),
                vec![("policies", "at least one")],
            ),
            (
                "num_traces 0",
                json!({"num_traces": 0, "policies": [{"name": "a", "type": "always_sample"}]}),
                vec![("num_traces", "at least 1")],
            ),
            (
                "unknown key",
                p(json!({"name": "a", "type": "always_sample", "bogus": 1})),
                vec![("policies[0]::bogus", "unknown field `bogus`")],
            ),
            (
                "decision_wait not a duration",
                json!({"decision_wait": "soon", "policies": []}),
                vec![("decision_wait", "")],
            ),
            (
                "missing name",
                p(json!({"type": "always_sample"})),
                vec![("policies::0::name", "must not be empty")],
            ),
            (
                "duplicate names",
                json!({"policies": [{"name": "a", "type": "always_sample"}, {"name": "a", "type": "always_sample"}]}),
                vec![("policies::1::name", "duplicate")],
            ),
            (
                "missing type",
                p(json!({"name": "a"})),
                vec![("policies::0::type", "missing")],
            ),
            (
                "unknown type",
                p(json!({"name": "a", "type": "latncy"})),
                vec![("policies::0::type", "unknown policy type `latncy`")],
            ),
            (
                "block of another type",
                p(
                    json!({"name": "a", "type": "latency", "latency": {"threshold_ms": 5}, "string_attribute": {"key": "k"}}),
                ),
                vec![("policies::0::string_attribute", "type is `latency`")],
            ),
            (
                "latency bounds",
                p(
                    json!({"name": "a", "type": "latency", "latency": {"threshold_ms": -1, "upper_threshold_ms": -5}}),
                ),
                vec![
                    ("policies::0::latency::threshold_ms", "0 or more"),
                    (
                        "policies::0::latency::upper_threshold_ms",
                        "more than threshold_ms",
                    ),
                ],
            ),
            (
                "numeric without bounds or key",
                p(
                    json!({"name": "a", "type": "numeric_attribute", "numeric_attribute": {"invert_match": true}}),
                ),
                vec![
                    ("policies::0::numeric_attribute::key", "must not be empty"),
                    ("policies::0::numeric_attribute", "min_value, max_value"),
                ],
            ),
            (
                "numeric max below min",
                p(
                    json!({"name": "a", "type": "numeric_attribute", "numeric_attribute": {"key": "k", "min_value": 10, "max_value": 5}}),
                ),
                vec![(
                    "policies::0::numeric_attribute::max_value",
                    "at least min_value",
                )],
            ),
            (
                "negative percentage",
                p(
                    json!({"name": "a", "type": "probabilistic", "probabilistic": {"sampling_percentage": -3}}),
                ),
                vec![(
                    "policies::0::probabilistic::sampling_percentage",
                    "0 to 100",
                )],
            ),
            (
                "status codes",
                p(
                    json!({"name": "a", "type": "status_code", "status_code": {"status_codes": ["ERROR", "Error"]}}),
                ),
                vec![(
                    "policies::0::status_code::status_codes::1",
                    "unknown status code `Error`",
                )],
            ),
            (
                "no status codes",
                p(json!({"name": "a", "type": "status_code"})),
                vec![("policies::0::status_code::status_codes", "at least one")],
            ),
            (
                "bad regex",
                p(
                    json!({"name": "a", "type": "string_attribute", "string_attribute": {"key": "k", "values": ["ok", "(unclosed"], "enabled_regex_matching": true}}),
                ),
                vec![(
                    "policies::0::string_attribute::values::1",
                    "invalid regular expression",
                )],
            ),
            (
                "string without values",
                p(
                    json!({"name": "a", "type": "string_attribute", "string_attribute": {"key": "k"}}),
                ),
                vec![("policies::0::string_attribute::values", "at least one")],
            ),
            (
                "rate 0",
                p(json!({"name": "a", "type": "rate_limiting"})),
                vec![(
                    "policies::0::rate_limiting::spans_per_second",
                    "more than 0",
                )],
            ),
            (
                "span count range",
                p(
                    json!({"name": "a", "type": "span_count", "span_count": {"min_spans": 5, "max_spans": 2}}),
                ),
                vec![("policies::0::span_count::max_spans", "at least min_spans")],
            ),
            (
                "trace state",
                p(json!({"name": "a", "type": "trace_state", "trace_state": {"values": []}})),
                vec![
                    ("policies::0::trace_state::key", "must not be empty"),
                    ("policies::0::trace_state::values", "at least one"),
                ],
            ),
            (
                "boolean key",
                p(json!({"name": "a", "type": "boolean_attribute"})),
                vec![("policies::0::boolean_attribute::key", "must not be empty")],
            ),
            (
                "ottl without conditions, bad error_mode",
                p(
                    json!({"name": "a", "type": "ottl_condition", "ottl_condition": {"error_mode": "loud"}}),
                ),
                vec![(
                    "policies[0]::ottl_condition::error_mode",
                    "unknown variant `loud`",
                )],
            ),
            (
                "ottl without conditions",
                p(json!({"name": "a", "type": "ottl_condition"})),
                vec![("policies::0::ottl_condition", "at least one condition")],
            ),
            (
                "ottl conditions that do not parse",
                p(
                    json!({"name": "a", "type": "ottl_condition", "ottl_condition": {
                        "span": ["name == \"x\"", "nmae == \"x\""],
                        "spanevent": ["name == "],
                    }}),
                ),
                vec![
                    (
                        "policies::0::ottl_condition::span::1",
                        "invalid span condition: column 1",
                    ),
                    (
                        "policies::0::ottl_condition::spanevent::0",
                        "invalid spanevent condition: column 9",
                    ),
                ],
            ),
            (
                "and without sub-policies",
                p(json!({"name": "a", "type": "and"})),
                vec![("policies::0::and::and_sub_policy", "at least one")],
            ),
            (
                "and of and",
                p(
                    json!({"name": "a", "type": "and", "and": {"and_sub_policy": [{"name": "b", "type": "and"}]}}),
                ),
                vec![(
                    "policies::0::and::and_sub_policy::0::type",
                    "`and` cannot be an and/drop sub-policy",
                )],
            ),
            (
                "drop sub-policy checked",
                p(
                    json!({"name": "a", "type": "drop", "drop": {"drop_sub_policy": [{"name": "b", "type": "rate_limiting"}]}}),
                ),
                vec![(
                    "policies::0::drop::drop_sub_policy::0::rate_limiting::spans_per_second",
                    "more than 0",
                )],
            ),
            (
                "composite",
                p(json!({"name": "a", "type": "composite", "composite": {
                    "max_total_spans_per_second": 0,
                    "policy_order": ["x", "nope"],
                    "composite_sub_policy": [
                        {"name": "x", "type": "always_sample"},
                        {"name": "x", "type": "always_sample"},
                        {"type": "composite"},
                    ],
                    "rate_allocation": [
                        {"policy": "x", "percent": 80},
                        {"policy": "x", "percent": 30},
                        {"policy": "ghost", "percent": 101},
                    ],
                }})),
                vec![
                    (
                        "policies::0::composite::max_total_spans_per_second",
                        "more than 0",
                    ),
                    (
                        "policies::0::composite::composite_sub_policy::1::name",
                        "duplicate",
                    ),
                    (
                        "policies::0::composite::composite_sub_policy::2::name",
                        "must not be empty",
                    ),
                    (
                        "policies::0::composite::composite_sub_policy::2::type",
                        "cannot be a composite sub-policy",
                    ),
                    ("policies::0::composite::policy_order::1", "`nope` is not"),
                    (
                        "policies::0::composite::rate_allocation::1::policy",
                        "already",
                    ),
                    (
                        "policies::0::composite::rate_allocation::2::policy",
                        "`ghost` is not",
                    ),
                    (
                        "policies::0::composite::rate_allocation::2::percent",
                        "0 to 100",
                    ),
                    ("policies::0::composite::rate_allocation", "add up to 110"),
                ],
            ),
            (
                "composite with and sub-policy checked",
                p(json!({"name": "a", "type": "composite", "composite": {
                    "max_total_spans_per_second": 10,
                    "composite_sub_policy": [{"name": "x", "type": "and", "and": {"and_sub_policy": []}}],
                }})),
                vec![(
                    "policies::0::composite::composite_sub_policy::0::and::and_sub_policy",
                    "at least one",
                )],
            ),
        ];
        for (what, cfg, want) in cases {
            let got = decode_config::<TailSamplingConfig>(&cfg).unwrap_err();
            let got: Vec<(&str, &str)> = got
                .iter()
                .map(|p| (p.path.as_str(), p.message.as_str()))
                .collect();
            assert_eq!(got.len(), want.len(), "{what}: {got:#?}");
            for ((gp, gm), (wp, wm)) in got.iter().zip(&want) {
                assert_eq!(gp, wp, "{what}: {got:#?}");
                assert!(gm.contains(wm), "{what}: `{gm}` should say `{wm}`");
            }
        }
    }
}
