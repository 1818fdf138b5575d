//! The per-item decision, mode by mode, as contrib's `sampler_mode.go`,
//! `tracesprocessor.go` and `logsprocessor.go` make it.
//!
//! For every span or log record:
//!
//! 1. Find its randomness and read its sampling information (the tracestate's `ot`
//!    member for spans; the `sampling.threshold` / `sampling.randomness` attributes
//!    for log records). What goes wrong here (no trace id, an unreadable or
//!    inconsistent tracestate, sampling information the `hash_seed` mode cannot
//!    honour) makes the threshold "never" with `fail_closed`, "always" without.
//! 2. Otherwise the mode gives the threshold: fixed (`hash_seed`, `equalizing`,
//!    which keeps an arriving stricter threshold) or the arriving probability times
//!    the configured one (`proportional`).
//! 3. The sampling priority overrides the threshold: for spans `sampling.priority`
//!    `0` is never and above 0 always; for log records the `sampling_priority`
//!    attribute is a percentage.
//! 4. The item is kept when `threshold <= randomness`; a kept item gets the threshold
//!    (and in `hash_seed` mode its randomness) written into it.

use std::borrow::Cow;
use std::fmt::Write as _;

use stratus_attraction::value::{go_json_float, write_json_string};
use stratus_core::Signal;
use stratus_core::pdata::common::{AnyValue, KeyValue, any_value};
use stratus_core::pdata::logs::{LogRecord, ResourceLogs};
use stratus_core::pdata::trace::{ResourceSpans, Span};

use crate::config::{AttributeSource, ProbabilisticSamplerConfig, SamplerMode};
use crate::hash::{hash_threshold, randomness_from_bytes, scaled_sampling_rate};
use crate::sampling::{MIN_SAMPLING_PROBABILITY, Randomness, SamplingError, Threshold, TraceState};

/// The span attribute whose value forces a decision (OpenTracing's convention).
pub const SAMPLING_PRIORITY_ATTRIBUTE: &str = "sampling.priority";
/// The log record attribute that carries a record's threshold.
pub const LOG_THRESHOLD_ATTRIBUTE: &str = "sampling.threshold";
/// The log record attribute that carries a record's explicit randomness.
pub const LOG_RANDOMNESS_ATTRIBUTE: &str = "sampling.randomness";

/// Where an item's randomness came from, or what decided it: the `policy` label of
/// the sampler's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// The `hash_seed` hash of the trace id (`trace_id_hash`).
    TraceIdHash,
    /// The trace id's last 56 bits (`trace_id_w3c`).
    TraceIdW3c,
    /// An explicit `rv` / `sampling.randomness` value (`sampling_randomness`).
    SamplingRandomness,
    /// The sampling priority, or a 0 % sampler (`sampling_priority`).
    SamplingPriority,
    /// No randomness found (`missing_randomness`).
    MissingRandomness,
    /// The `hash_seed` hash of the `from_attribute` attribute (labelled with the
    /// attribute's name).
    Attribute,
}

impl Policy {
    /// Every policy, in [`Policy::index`] order.
    pub const ALL: [Policy; 6] = [
        Policy::TraceIdHash,
        Policy::TraceIdW3c,
        Policy::SamplingRandomness,
        Policy::SamplingPriority,
        Policy::MissingRandomness,
        Policy::Attribute,
    ];

    /// The position in [`Policy::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The label value; `None` for [`Policy::Attribute`], labelled with the
    /// configured attribute's name.
    pub fn label(self) -> Option<&'static str> {
        Some(match self {
            Policy::TraceIdHash => "trace_id_hash",
            Policy::TraceIdW3c => "trace_id_w3c",
            Policy::SamplingRandomness => "sampling_randomness",
            Policy::SamplingPriority => "sampling_priority",
            Policy::MissingRandomness => "missing_randomness",
            Policy::Attribute => return None,
        })
    }
}

/// Decisions counted by policy: what [`Sampler::sample_traces`] and
/// [`Sampler::sample_logs`] return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// `[policy][sampled as usize]`.
    counts: [[u64; 2]; 6],
}

impl Tally {
    fn add(&mut self, policy: Policy, sampled: bool) {
        self.counts[policy.index()][usize::from(sampled)] += 1;
    }

    /// Items of `policy` kept (`sampled`) or dropped.
    pub fn get(&self, policy: Policy, sampled: bool) -> u64 {
        self.counts[policy.index()][usize::from(sampled)]
    }

    /// Items kept.
    pub fn kept(&self) -> u64 {
        self.counts.iter().map(|c| c[1]).sum()
    }

    /// Items dropped.
    pub fn dropped(&self) -> u64 {
        self.counts.iter().map(|c| c[0]).sum()
    }
}

/// Why an item's own sampling information could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ItemError {
    #[error("inconsistent arriving threshold: item should not have been sampled")]
    InconsistentArrivingThreshold,
    #[error("missing randomness")]
    MissingRandomness,
    #[error("item has sampling randomness, equalizing or proportional mode recommended")]
    RandomnessInUse,
    #[error("item has sampling threshold, equalizing or proportional mode recommended")]
    ThresholdInUse,
    #[error(transparent)]
    Sampling(#[from] SamplingError),
}

impl ItemError {
    /// Upstream's ordinary conditions (logged at debug); parse errors are logged at
    /// info.
    fn is_ordinary(&self) -> bool {
        !matches!(self, ItemError::Sampling(_))
    }
}

/// An item's randomness and where it came from.
#[derive(Debug, Clone, Copy)]
struct Rnd {
    value: Randomness,
    policy: Policy,
}

impl Rnd {
    fn missing() -> Rnd {
        Rnd {
            value: Randomness::ALL_PROBABILITIES,
            policy: Policy::MissingRandomness,
        }
    }

    fn of(value: Randomness, policy: Policy) -> Rnd {
        Rnd { value, policy }
    }

    fn is_missing(&self) -> bool {
        self.policy == Policy::MissingRandomness
    }
}

/// How thresholds are chosen.
#[derive(Debug, Clone)]
enum Kind {
    /// 0 %: every item gets the "never" threshold.
    Never,
    /// `hash_seed`.
    Hashing { seed: u32, threshold: Threshold },
    /// `equalizing`.
    Equalizing { threshold: Threshold },
    /// `proportional`: `ratio` in `[2^-56, 1]`.
    Proportional { ratio: f64, precision: u32 },
}

/// The sampling information an item carries, and how to change it.
trait Carrier {
    fn threshold(&self) -> Option<Threshold>;
    fn clear_threshold(&mut self);
    fn update_threshold(&mut self, threshold: Threshold) -> Result<(), SamplingError>;
}

impl Carrier for TraceState {
    fn threshold(&self) -> Option<Threshold> {
        TraceState::threshold(self)
    }

    fn clear_threshold(&mut self) {
        TraceState::clear_threshold(self);
    }

    fn update_threshold(&mut self, threshold: Threshold) -> Result<(), SamplingError> {
        TraceState::update_threshold(self, threshold)
    }
}

/// A log record's `sampling.threshold` and `sampling.randomness` attributes.
struct LogCarrier<'a> {
    attributes: &'a mut Vec<KeyValue>,
    threshold: Option<Threshold>,
    randomness: Option<Randomness>,
}

impl<'a> LogCarrier<'a> {
    /// Reads the two attributes (string values only, as upstream).
    fn parse(attributes: &'a mut Vec<KeyValue>) -> (LogCarrier<'a>, Option<SamplingError>) {
        let mut error = None;
        let threshold = match string_attribute(attributes, LOG_THRESHOLD_ATTRIBUTE) {
            Some(text) if !text.is_empty() => match Threshold::parse_tvalue(text) {
                Ok(t) => Some(t),
                Err(e) => {
                    error = Some(e);
                    None
                }
            },
            _ => None,
        };
        let randomness = match string_attribute(attributes, LOG_RANDOMNESS_ATTRIBUTE) {
            Some(text) if !text.is_empty() => match Randomness::parse_rvalue(text) {
                Ok(r) => Some(r),
                Err(e) => {
                    error.get_or_insert(e);
                    None
                }
            },
            _ => None,
        };
        (
            LogCarrier {
                attributes,
                threshold,
                randomness,
            },
            error,
        )
    }

    fn set_randomness(&mut self, rnd: Randomness) {
        self.randomness = Some(rnd);
        put_str(self.attributes, LOG_RANDOMNESS_ATTRIBUTE, rnd.rvalue());
    }
}

impl Carrier for LogCarrier<'_> {
    fn threshold(&self) -> Option<Threshold> {
        self.threshold
    }

    fn clear_threshold(&mut self) {
        self.threshold = None;
        // pcommon's Map.Remove: the first match, swapped with the last entry.
        if let Some(i) = self
            .attributes
            .iter()
            .position(|kv| kv.key == LOG_THRESHOLD_ATTRIBUTE)
        {
            self.attributes.swap_remove(i);
        }
    }

    fn update_threshold(&mut self, threshold: Threshold) -> Result<(), SamplingError> {
        if let Some(existing) = self.threshold
            && threshold < existing
        {
            return Err(SamplingError::InconsistentSampling);
        }
        put_str(self.attributes, LOG_THRESHOLD_ATTRIBUTE, threshold.tvalue());
        Ok(())
    }
}

/// The first attribute named `key`, as pcommon's `Map.Get` finds it.
fn attribute<'v>(attributes: &'v [KeyValue], key: &str) -> Option<&'v KeyValue> {
    attributes.iter().find(|kv| kv.key == key)
}

fn value_of(kv: &KeyValue) -> Option<&any_value::Value> {
    kv.value.as_ref().and_then(|v| v.value.as_ref())
}

fn string_attribute<'v>(attributes: &'v [KeyValue], key: &str) -> Option<&'v str> {
    match attribute(attributes, key).and_then(value_of) {
        Some(any_value::Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

/// pcommon's `Map.PutStr`: replaces the first `key`'s value, or appends.
fn put_str(attributes: &mut Vec<KeyValue>, key: &str, value: String) {
    let value = Some(AnyValue {
        value: Some(any_value::Value::StringValue(value)),
    });
    match attributes.iter_mut().find(|kv| kv.key == key) {
        Some(kv) => kv.value = value,
        None => attributes.push(KeyValue {
            key: key.to_string(),
            value,
            ..Default::default()
        }),
    }
}

/// A 16-byte, not all-zero trace id; `None` for an invalid one.
fn trace_id(bytes: &[u8]) -> Option<[u8; 16]> {
    let id: [u8; 16] = bytes.try_into().ok()?;
    (id != [0; 16]).then_some(id)
}

/// What `sampling.priority` says about a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpanPriority {
    Defer,
    MustSample,
    DoNotSample,
}

/// Reads `sampling.priority` as upstream's `parseSpanSamplingPriority`: an int, a
/// double or a string parsed as a float; 0 → do not sample, above 0 → sample,
/// anything else (negative, NaN, unparsable, another type) → no say.
fn span_priority(attributes: &[KeyValue]) -> SpanPriority {
    let value = match attribute(attributes, SAMPLING_PRIORITY_ATTRIBUTE).and_then(value_of) {
        Some(any_value::Value::IntValue(i)) => *i as f64,
        Some(any_value::Value::DoubleValue(d)) => *d,
        Some(any_value::Value::StringValue(s)) => match parse_go_float(s) {
            Some(f) => f,
            None => return SpanPriority::Defer,
        },
        _ => return SpanPriority::Defer,
    };
    if value == 0.0 {
        SpanPriority::DoNotSample
    } else if value > 0.0 {
        SpanPriority::MustSample
    } else {
        SpanPriority::Defer
    }
}

/// Go's `strconv.ParseFloat(s, 64)`, where it matters for a sign test: decimal and
/// hexadecimal (`0x1p-2`) forms, `inf`/`infinity`/`nan` in any case; `None` for a
/// syntax error and for a finite number too large for an `f64` (Go's `ErrRange`).
fn parse_go_float(s: &str) -> Option<f64> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let signed = |v: f64| if negative { -v } else { v };
    if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        return Some(signed(f64::INFINITY));
    }
    if body.eq_ignore_ascii_case("nan") {
        // Go takes no sign before NaN.
        return (body.len() == s.len()).then_some(f64::NAN);
    }
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        return parse_hex_float(hex).map(signed);
    }
    let first = body.as_bytes().first()?;
    if !(first.is_ascii_digit() || *first == b'.') {
        return None;
    }
    let v: f64 = body.parse().ok()?;
    v.is_finite().then_some(signed(v))
}

/// The part of a Go hex float after `0x`: hex digits with at most one `.`, then a
/// mandatory `p` exponent.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mantissa, exponent) = s.split_once(['p', 'P'])?;
    let exponent: i64 = {
        let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        exponent.parse().unwrap_or(if exponent.starts_with('-') {
            i64::MIN / 2
        } else {
            i64::MAX / 2
        })
    };
    let mut value = 0f64;
    let mut scale = 0i64;
    let mut seen_dot = false;
    let mut digits = 0;
    for b in mantissa.bytes() {
        if b == b'.' {
            if seen_dot {
                return None;
            }
            seen_dot = true;
            continue;
        }
        let d = (b as char).to_digit(16)?;
        digits += 1;
        value = value * 16.0 + f64::from(d);
        if seen_dot {
            scale -= 4;
        }
    }
    if digits == 0 {
        return None;
    }
    let e = exponent.saturating_add(scale).clamp(-2200, 2200) as i32;
    let v = value * 2f64.powi(e);
    v.is_finite().then_some(v)
}

/// The bytes `hash_seed` mode hashes for an attribute value: a bytes value's bytes,
/// otherwise pcommon's `Value.AsString()`.
fn value_bytes(value: Option<&any_value::Value>) -> Cow<'_, [u8]> {
    match value {
        Some(any_value::Value::BytesValue(b)) => Cow::Borrowed(b),
        Some(any_value::Value::StringValue(s)) => Cow::Borrowed(s.as_bytes()),
        other => {
            let mut out = String::new();
            write_as_string(&mut out, other);
            Cow::Owned(out.into_bytes())
        }
    }
}

/// pcommon's `Value.AsString()` for non-string values.
fn write_as_string(out: &mut String, value: Option<&any_value::Value>) {
    match value {
        // A profiles string-table index means nothing outside a profile.
        None | Some(any_value::Value::StringValueStrindex(_)) => {}
        Some(any_value::Value::StringValue(s)) => out.push_str(s),
        Some(any_value::Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(any_value::Value::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(any_value::Value::DoubleValue(d)) => out.push_str(&go_json_float(*d)),
        Some(any_value::Value::BytesValue(b)) => write_base64(out, b),
        Some(v @ (any_value::Value::ArrayValue(_) | any_value::Value::KvlistValue(_))) => {
            write_json(out, Some(v))
        }
    }
}

fn write_base64(out: &mut String, bytes: &[u8]) {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
}

/// Go's `json.Marshal` of a pcommon value's `AsRaw()` (maps with sorted keys, HTML
/// characters escaped), as `AsString()` writes arrays and maps.
fn write_json(out: &mut String, value: Option<&any_value::Value>) {
    match value {
        None | Some(any_value::Value::StringValueStrindex(_)) => out.push_str("null"),
        Some(any_value::Value::StringValue(s)) => write_json_string(out, s),
        Some(any_value::Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(any_value::Value::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(any_value::Value::DoubleValue(d)) => out.push_str(&go_json_float(*d)),
        Some(any_value::Value::BytesValue(b)) => {
            out.push('"');
            write_base64(out, b);
            out.push('"');
        }
        Some(any_value::Value::ArrayValue(a)) => {
            out.push('[');
            for (i, v) in a.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, v.value.as_ref());
            }
            out.push(']');
        }
        Some(any_value::Value::KvlistValue(kvs)) => {
            // AsRaw builds a Go map: a repeated key keeps its last value.
            let mut sorted: std::collections::BTreeMap<&str, Option<&any_value::Value>> =
                std::collections::BTreeMap::new();
            for kv in &kvs.values {
                sorted.insert(kv.key.as_str(), value_of(kv));
            }
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, k);
                out.push(':');
                write_json(out, v);
            }
            out.push('}');
        }
    }
}

/// The sampler of one signal, built from the config: what the processor applies to
/// every span or log record.
#[derive(Debug, Clone)]
pub struct Sampler {
    kind: Kind,
    fail_closed: bool,
    /// Logs, `hash_seed`: hash the trace id (`attribute_source: traceID`).
    logs_trace_id: bool,
    /// Logs, `hash_seed`: the attribute hashed without a trace id (`from_attribute`).
    from_attribute: Option<String>,
    /// Logs: the attribute holding a record's own percentage (`sampling_priority`).
    priority_attribute: Option<String>,
    /// Hex digits of written thresholds.
    precision: u32,
    /// The processor's id, for log lines.
    name: String,
    /// `traces sampler` or `logs sampler`.
    what: &'static str,
}

impl Sampler {
    /// The sampler `config` gives for `signal` (the mode can differ between traces
    /// and logs when it is unset: see
    /// [`ProbabilisticSamplerConfig::effective_mode`]). A percentage above 100 is
    /// 100; one below the smallest expressible (2^-56 as a ratio) is raised to it.
    pub fn new(config: &ProbabilisticSamplerConfig, signal: Signal) -> Sampler {
        let logs = signal == Signal::Logs;
        let precision = u32::try_from(config.sampling_precision)
            .unwrap_or(0)
            .min(crate::sampling::NUM_HEX_DIGITS);
        let pct = config.sampling_percentage;
        let pct = if pct > 100.0 { 100.0 } else { pct };
        // NaN and negative percentages fail the config check; here they keep nothing.
        let kind = if pct.is_nan() || pct <= 0.0 {
            Kind::Never
        } else {
            let ratio = (f64::from(pct) / 100.0).max(MIN_SAMPLING_PROBABILITY);
            match config.effective_mode(logs) {
                SamplerMode::Equalizing => Kind::Equalizing {
                    threshold: Threshold::from_probability(ratio, precision)
                        .unwrap_or(Threshold::ALWAYS_SAMPLE),
                },
                SamplerMode::Proportional => Kind::Proportional { ratio, precision },
                SamplerMode::HashSeed => match scaled_sampling_rate(pct) {
                    0 => Kind::Never,
                    scaled => Kind::Hashing {
                        seed: config.hash_seed,
                        threshold: hash_threshold(scaled),
                    },
                },
            }
        };
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Sampler {
            kind,
            fail_closed: config.fail_closed,
            logs_trace_id: config.attribute_source == AttributeSource::TraceId,
            from_attribute: non_empty(&config.from_attribute),
            priority_attribute: non_empty(&config.sampling_priority),
            precision,
            name: String::new(),
            what: if logs {
                "logs sampler"
            } else {
                "traces sampler"
            },
        }
    }

    /// The same sampler, naming `id` in its log lines.
    pub fn named(mut self, id: impl Into<String>) -> Sampler {
        self.name = id.into();
        self
    }

    /// The `policy` label of [`Policy::Attribute`]: the `from_attribute` name.
    pub fn attribute_label(&self) -> &str {
        self.from_attribute.as_deref().unwrap_or("")
    }

    /// Samples every span in place: dropped spans are removed, then scopes and
    /// resources left without spans; kept spans get their tracestate updated.
    pub fn sample_traces(&self, resource_spans: &mut Vec<ResourceSpans>) -> Tally {
        let mut tally = Tally::default();
        resource_spans.retain_mut(|rs| {
            rs.scope_spans.retain_mut(|ss| {
                ss.spans.retain_mut(|span| {
                    let (kept, policy) = self.sample_span(span);
                    tally.add(policy, kept);
                    kept
                });
                !ss.spans.is_empty()
            });
            !rs.scope_spans.is_empty()
        });
        tally
    }

    /// Samples every log record in place, as [`Sampler::sample_traces`] does spans;
    /// kept records get `sampling.threshold` (and in `hash_seed` mode
    /// `sampling.randomness`) attributes.
    pub fn sample_logs(&self, resource_logs: &mut Vec<ResourceLogs>) -> Tally {
        let mut tally = Tally::default();
        resource_logs.retain_mut(|rl| {
            rl.scope_logs.retain_mut(|sl| {
                sl.log_records.retain_mut(|record| {
                    let (kept, policy) = self.sample_log(record);
                    tally.add(policy, kept);
                    kept
                });
                !sl.log_records.is_empty()
            });
            !rl.scope_logs.is_empty()
        });
        tally
    }

    /// One span's decision, with the policy it is counted under.
    fn sample_span(&self, span: &mut Span) -> (bool, Policy) {
        let priority = span_priority(&span.attributes);
        let tid = trace_id(&span.trace_id);
        let raw = std::mem::take(&mut span.trace_state);
        let (mut state, parse_error) = TraceState::parse(raw);
        // Each arm: the randomness, whether the tracestate is kept as the carrier of
        // sampling information, and the item's error.
        let (rnd, carrier, error) = match &self.kind {
            // The randomness is a stand-in; it is never compared with a real threshold.
            Kind::Never => (
                Rnd::of(Randomness::ALL_PROBABILITIES, Policy::SamplingPriority),
                true,
                parse_error.map(ItemError::from),
            ),
            Kind::Hashing { seed, .. } => {
                let rnd = tid.map_or_else(Rnd::missing, |id| {
                    Rnd::of(randomness_from_bytes(&id, *seed), Policy::TraceIdHash)
                });
                if let Some(e) = parse_error {
                    (rnd, false, Some(e.into()))
                } else if state.randomness().is_some() {
                    // Sampling information of the OTel kind: this mode leaves it alone.
                    (rnd, false, Some(ItemError::RandomnessInUse))
                } else if state.threshold().is_some() {
                    (rnd, false, Some(ItemError::ThresholdInUse))
                } else {
                    state.set_randomness(rnd.value);
                    (rnd, true, None)
                }
            }
            Kind::Equalizing { .. } | Kind::Proportional { .. } => {
                if let Some(e) = parse_error {
                    (Rnd::missing(), false, Some(e.into()))
                } else if let Some(rv) = state.randomness() {
                    (Rnd::of(rv, Policy::SamplingRandomness), true, None)
                } else if let Some(id) = tid {
                    (
                        Rnd::of(Randomness::from_trace_id(&id), Policy::TraceIdW3c),
                        true,
                        None,
                    )
                } else {
                    (Rnd::missing(), true, None)
                }
            }
        };
        let mut carrier = if carrier {
            Some(state)
        } else {
            span.trace_state = state.into_raw();
            None
        };
        let (kept, policy) =
            self.finish(
                rnd,
                carrier.as_mut(),
                error,
                |rnd, threshold| match priority {
                    SpanPriority::Defer => (rnd, threshold),
                    SpanPriority::MustSample => (
                        Rnd::of(rnd.value, Policy::SamplingPriority),
                        Threshold::ALWAYS_SAMPLE,
                    ),
                    SpanPriority::DoNotSample => (
                        Rnd::of(rnd.value, Policy::SamplingPriority),
                        Threshold::NEVER_SAMPLE,
                    ),
                },
            );
        if let Some(state) = carrier {
            span.trace_state = if kept {
                state.serialize()
            } else {
                state.into_raw()
            };
        }
        (kept, policy)
    }

    /// One log record's decision, with the policy it is counted under.
    fn sample_log(&self, record: &mut LogRecord) -> (bool, Policy) {
        let priority = self.log_priority(&record.attributes);
        let tid = trace_id(&record.trace_id);
        // hash_seed: the trace id, else the from_attribute attribute (read before the
        // carrier takes the attributes).
        let hashed = match (&self.kind, &self.from_attribute) {
            (Kind::Hashing { seed, .. }, from) => {
                let by_id = tid
                    .filter(|_| self.logs_trace_id)
                    .map(|id| Rnd::of(randomness_from_bytes(&id, *seed), Policy::TraceIdHash));
                by_id.or_else(|| {
                    let kv = attribute(&record.attributes, from.as_deref()?)?;
                    let bytes = value_bytes(value_of(kv));
                    (!bytes.is_empty())
                        .then(|| Rnd::of(randomness_from_bytes(&bytes, *seed), Policy::Attribute))
                })
            }
            _ => None,
        };
        let (mut carrier, parse_error) = LogCarrier::parse(&mut record.attributes);
        let (rnd, keep_carrier, error) = match &self.kind {
            Kind::Never => (
                Rnd::of(Randomness::ALL_PROBABILITIES, Policy::SamplingPriority),
                true,
                parse_error.map(ItemError::from),
            ),
            Kind::Hashing { .. } => {
                let rnd = hashed.unwrap_or_else(Rnd::missing);
                if let Some(e) = parse_error {
                    (rnd, false, Some(e.into()))
                } else if carrier.randomness.is_some() {
                    (rnd, false, Some(ItemError::RandomnessInUse))
                } else if carrier.threshold.is_some() {
                    (rnd, false, Some(ItemError::ThresholdInUse))
                } else {
                    if !rnd.is_missing() {
                        carrier.set_randomness(rnd.value);
                    }
                    (rnd, true, None)
                }
            }
            Kind::Equalizing { .. } | Kind::Proportional { .. } => {
                if let Some(e) = parse_error {
                    (Rnd::missing(), false, Some(e.into()))
                } else if let Some(rv) = carrier.randomness {
                    (Rnd::of(rv, Policy::SamplingRandomness), true, None)
                } else if let Some(id) = tid {
                    (
                        Rnd::of(Randomness::from_trace_id(&id), Policy::TraceIdW3c),
                        true,
                        None,
                    )
                } else {
                    (Rnd::missing(), true, None)
                }
            }
        };
        let carrier = keep_carrier.then_some(&mut carrier);
        self.finish(rnd, carrier, error, |rnd, threshold| match priority {
            Some(th) => (Rnd::of(rnd.value, Policy::SamplingPriority), th),
            None => (rnd, threshold),
        })
    }

    /// Upstream's `logRecordToPriorityThreshold`: the `sampling_priority` attribute
    /// (int or double) as a percentage, when it is not 0 and gives a valid
    /// probability (above 0, at most 100 %).
    fn log_priority(&self, attributes: &[KeyValue]) -> Option<Threshold> {
        let name = self.priority_attribute.as_deref()?;
        let probability = match attribute(attributes, name).and_then(value_of)? {
            any_value::Value::DoubleValue(d) => d / 100.0,
            any_value::Value::IntValue(i) => *i as f64 / 100.0,
            _ => 0.0,
        };
        if probability == 0.0 {
            return None;
        }
        Threshold::from_probability(probability, self.precision).ok()
    }

    /// Steps 1 (consistency), 2 (threshold), 3 (priority) and 4 (decision and update)
    /// of the module doc, shared by spans and log records.
    fn finish<C: Carrier>(
        &self,
        rnd: Rnd,
        mut carrier: Option<&mut C>,
        error: Option<ItemError>,
        priority: impl FnOnce(Rnd, Threshold) -> (Rnd, Threshold),
    ) -> (bool, Policy) {
        let error = error.or_else(|| consistency_check(&rnd, carrier.as_deref_mut()));
        let threshold = match &error {
            Some(e) => {
                self.log(e);
                if self.fail_closed {
                    Threshold::NEVER_SAMPLE
                } else {
                    Threshold::ALWAYS_SAMPLE
                }
            }
            None => self.decide(carrier.as_deref()),
        };
        let (rnd, threshold) = priority(rnd, threshold);
        let kept = threshold.should_sample(rnd.value);
        if kept
            && let Some(c) = carrier
            && let Err(e) = c.update_threshold(threshold)
        {
            // Working as intended: an item's probability is never raised.
            tracing::debug!(processor = %self.name, error = %e, "{}", self.what);
        }
        (kept, rnd.policy)
    }

    /// Step 2: the threshold the mode gives an item without errors.
    fn decide<C: Carrier>(&self, carrier: Option<&C>) -> Threshold {
        let arriving = carrier.and_then(|c| c.threshold());
        match &self.kind {
            Kind::Never => Threshold::NEVER_SAMPLE,
            Kind::Hashing { threshold, .. } => *threshold,
            // Never lowers an arriving threshold: a stricter one passes as it is.
            Kind::Equalizing { threshold } => match arriving {
                Some(t) if *threshold < t => t,
                _ => *threshold,
            },
            Kind::Proportional { ratio, precision } => {
                let incoming = arriving.map_or(1.0, Threshold::probability);
                // Below 2^-56 the item simply is not sampled.
                Threshold::from_probability(incoming * ratio, *precision)
                    .unwrap_or(Threshold::NEVER_SAMPLE)
            }
        }
    }

    fn log(&self, error: &ItemError) {
        if error.is_ordinary() {
            tracing::debug!(processor = %self.name, error = %error, "{}", self.what);
        } else {
            tracing::info!(processor = %self.name, error = %error, "{}", self.what);
        }
    }
}

/// Upstream's `consistencyCheck`: an item without randomness is an error; an
/// arriving threshold its randomness does not pass is removed, and an error.
fn consistency_check<C: Carrier>(rnd: &Rnd, carrier: Option<&mut C>) -> Option<ItemError> {
    if rnd.is_missing() {
        return Some(ItemError::MissingRandomness);
    }
    let carrier = carrier?;
    match carrier.threshold() {
        Some(t) if !t.should_sample(rnd.value) => {
            carrier.clear_threshold();
            Some(ItemError::InconsistentArrivingThreshold)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
