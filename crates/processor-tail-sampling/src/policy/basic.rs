//! The policies that look at the trace as a whole or at each span: `always_sample`,
//! `latency`, `status_code`, `span_count`, `probabilistic`, `rate_limiting`,
//! `trace_state`.

use std::collections::HashSet;

use tokio::time::Instant;

use super::{Decision, Evaluator, PolicyError, TraceData, tracestate};
use crate::config::{
    LatencyConfig, ProbabilisticConfig, RateLimitingConfig, SpanCountConfig, StatusCodeConfig,
    TraceStateConfig, status_code,
};

/// `always_sample`.
pub(crate) struct AlwaysSample;

impl Evaluator for AlwaysSample {
    fn evaluate(&mut self, _trace: &TraceData) -> Result<Decision, PolicyError> {
        Ok(Decision::Sampled)
    }
}

/// `latency`.
pub(crate) struct Latency {
    threshold_ms: i64,
    upper_threshold_ms: i64,
}

impl Latency {
    pub(crate) fn new(c: &LatencyConfig) -> Self {
        Latency {
            threshold_ms: c.threshold_ms,
            upper_threshold_ms: c.upper_threshold_ms,
        }
    }
}

impl Evaluator for Latency {
    /// Upstream's walk: the earliest start and latest end seen so far are updated span
    /// by span (a zero time counts as unset), and the trace is sampled as soon as the
    /// duration between them qualifies.
    fn evaluate(&mut self, trace: &TraceData) -> Result<Decision, PolicyError> {
        let (mut min, mut max) = (0u64, 0u64);
        for span in trace.spans() {
            if min == 0 || span.start_time_unix_nano < min {
                min = span.start_time_unix_nano;
            }
            if max == 0 || span.end_time_unix_nano > max {
                max = span.end_time_unix_nano;
            }
            // Go's Duration.Milliseconds: truncated toward zero.
            let ms = (i128::from(max) - i128::from(min)) / 1_000_000;
            let ms = i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX });
            let hit = if self.upper_threshold_ms == 0 {
                ms >= self.threshold_ms
            } else {
                self.threshold_ms < ms && ms <= self.upper_threshold_ms
            };
            if hit {
                return Ok(Decision::Sampled);
            }
        }
        Ok(Decision::NotSampled)
    }
}

/// `status_code`.
pub(crate) struct StatusCodes {
    codes: Vec<i32>,
}

impl StatusCodes {
    pub(crate) fn new(c: &StatusCodeConfig) -> Result<Self, String> {
        if c.status_codes.is_empty() {
            return Err("expected at least one status code to filter on".into());
        }
        let codes = c
            .status_codes
            .iter()
            .map(|s| {
                status_code(s).ok_or_else(|| {
                    format!("unknown status code `{s}`, supported: OK, ERROR, UNSET")
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(StatusCodes { codes })
    }
}

impl Evaluator for StatusCodes {
    fn evaluate(&mut self, trace: &TraceData) -> Result<Decision, PolicyError> {
        let hit = trace.spans().any(|span| {
            let code = span.status.as_ref().map_or(0, |s| s.code);
            self.codes.contains(&code)
        });
        Ok(if hit {
            Decision::Sampled
        } else {
            Decision::NotSampled
        })
    }
}

/// `span_count`.
pub(crate) struct SpanCount {
    min: i64,
    max: i64,
}

impl SpanCount {
    pub(crate) fn new(c: &SpanCountConfig) -> Self {
        SpanCount {
            min: i64::from(c.min_spans),
            max: i64::from(c.max_spans),
        }
    }
}

impl Evaluator for SpanCount {
    fn evaluate(&mut self, trace: &TraceData) -> Result<Decision, PolicyError> {
        let n = i64::try_from(trace.span_count).unwrap_or(i64::MAX);
        let hit = n >= self.min && (self.max == 0 || n <= self.max);
        Ok(if hit {
            Decision::Sampled
        } else {
            Decision::NotSampled
        })
    }
}

/// The salt upstream hashes when `hash_salt` is empty.
pub const DEFAULT_HASH_SALT: &str = "default-hash-seed";

/// `probabilistic`: FNV-1a 64 over the salt then the 16 trace id bytes, sampled when
/// the hash is at most the threshold (upstream's algorithm, bit for bit).
pub(crate) struct Probabilistic {
    threshold: u64,
    salt: Vec<u8>,
}

impl Probabilistic {
    pub(crate) fn new(c: &ProbabilisticConfig) -> Self {
        let salt = if c.hash_salt.is_empty() {
            DEFAULT_HASH_SALT
        } else {
            &c.hash_salt
        };
        Probabilistic {
            threshold: probabilistic_threshold(c.sampling_percentage / 100.0),
            salt: salt.as_bytes().to_vec(),
        }
    }
}

impl Evaluator for Probabilistic {
    fn evaluate(&mut self, trace: &TraceData) -> Result<Decision, PolicyError> {
        let h = fnv1a64(&[&self.salt, &trace.trace_id]);
        Ok(if h <= self.threshold {
            Decision::Sampled
        } else {
            Decision::NotSampled
        })
    }
}

/// FNV-1a, 64 bits, over the parts in order.
pub(crate) fn fnv1a64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Upstream's `calculateThreshold`: `ratio × (2^64 − 1)` computed the way Go's
/// `big.Float` does it there (the product rounded to 64 significant bits, nearest
/// even, then truncated to an integer; at most `u64::MAX`, at least 0).
pub fn probabilistic_threshold(ratio: f64) -> u64 {
    if ratio.is_nan() || ratio <= 0.0 {
        return 0;
    }
    if ratio.is_infinite() {
        return u64::MAX;
    }
    // ratio = mantissa × 2^exp, with an integer mantissa.
    let bits = ratio.to_bits();
    let raw_exp = i64::try_from((bits >> 52) & 0x7ff).unwrap_or(0);
    let frac = bits & ((1u64 << 52) - 1);
    let (mantissa, exp) = if raw_exp == 0 {
        (frac, -1074i64)
    } else {
        (frac | (1u64 << 52), raw_exp - 1075)
    };
    // The exact product fits in 117 bits.
    let product = u128::from(u64::MAX) * u128::from(mantissa);
    let len = 128 - i64::from(product.leading_zeros());
    let rounded = if len > 64 {
        let shift = u32::try_from(len - 64).unwrap_or(0);
        let mut q = product >> shift;
        let rem = product & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        if rem > half || (rem == half && q & 1 == 1) {
            q += 1;
        }
        q << shift
    } else {
        product
    };
    let value = if exp >= 0 {
        let e = u32::try_from(exp).unwrap_or(u32::MAX);
        if e >= 128 || rounded.leading_zeros() < e {
            return u64::MAX;
        }
        rounded << e
    } else {
        let e = u32::try_from(-exp).unwrap_or(u32::MAX);
        if e >= 128 { 0 } else { rounded >> e }
    };
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// `rate_limiting`: samples while the spans sampled in the current second, this
/// trace included, stay below `spans_per_second` (strictly, as upstream).
pub(crate) struct RateLimiting {
    spans_per_second: i64,
    epoch: Instant,
    current_second: u64,
    spans_in_second: i64,
}

impl RateLimiting {
    pub(crate) fn new(c: &RateLimitingConfig, epoch: Instant) -> Self {
        RateLimiting {
            spans_per_second: c.spans_per_second,
            epoch,
            current_second: 0,
            spans_in_second: 0,
        }
    }
}

/// The one-second window `t` falls in, counted from `epoch`.
pub(crate) fn second_of(t: Instant, epoch: Instant) -> u64 {
    t.saturating_duration_since(epoch).as_secs()
}

impl Evaluator for RateLimiting {
    fn evaluate(&mut self, trace: &TraceData) -> Result<Decision, PolicyError> {
        let second = second_of(trace.decision_time, self.epoch);
        if second != self.current_second {
            self.current_second = second;
            self.spans_in_second = 0;
        }
        let spans = i64::try_from(trace.span_count).unwrap_or(i64::MAX);
        let if_sampled = self.spans_in_second.saturating_add(spans);
        if if_sampled < self.spans_per_second {
            self.spans_in_second = if_sampled;
            Ok(Decision::Sampled)
        } else {
            Ok(Decision::NotSampled)
        }
    }
}

/// `trace_state`.
pub(crate) struct TraceStateFilter {
    key: String,
    values: HashSet<String>,
}

impl TraceStateFilter {
    pub(crate) fn new(c: &TraceStateConfig) -> Self {
        // A key=value member cannot exceed 256 characters: longer values never match.
        let values = c
            .values
            .iter()
            .filter(|v| !v.is_empty() && c.key.len() + v.len() < 256)
            .cloned()
            .collect();
        TraceStateFilter {
            key: c.key.clone(),
            values,
        }
    }
}

impl Evaluator for TraceStateFilter {
    fn evaluate(&mut self, trace: &TraceData) -> Result<Decision, PolicyError> {
        let hit = trace.spans().any(|span| {
            tracestate::get(&span.trace_state, &self.key)
                .is_some_and(|value| self.values.contains(value))
        });
        Ok(if hit {
            Decision::Sampled
        } else {
            Decision::NotSampled
        })
    }
}
