//! OpenTelemetry consistent probability sampling (OTEP 235): thresholds, randomness,
//! and the `ot` section of the W3C `tracestate`, with the behaviour of contrib's
//! `pkg/sampling` (which the collector's `probabilistic_sampler` is built on).
//!
//! - A [`Threshold`] is the number of randomness values, out of 2^56, that are
//!   rejected: `0` keeps everything, 2^56 ([`Threshold::NEVER_SAMPLE`]) nothing. It
//!   travels as the `th` value, 1 to 14 hex digits with trailing zeros dropped
//!   (`th:8` is 50 %, `th:c` 25 %, `th:0` 100 %).
//! - A [`Randomness`] is 56 random bits: the last 7 bytes of the trace id (W3C Trace
//!   Context level 2), or an explicit `rv` value of exactly 14 hex digits.
//! - An item is kept when `threshold <= randomness`
//!   ([`Threshold::should_sample`]).
//!
//! ```
//! use stratus_processor_probabilistic_sampler::sampling::{Randomness, Threshold, TraceState};
//!
//! let quarter = Threshold::from_probability(0.25, 4).unwrap();
//! assert_eq!(quarter.tvalue(), "c");
//! let (mut state, error) = TraceState::parse("ot=rv:d0000000000000,vendor=x");
//! assert!(error.is_none());
//! let rv = state.randomness().unwrap();
//! assert!(quarter.should_sample(rv));
//! state.update_threshold(quarter).unwrap();
//! assert_eq!(state.serialize(), "ot=rv:d0000000000000;th:c,vendor=x");
//! assert_eq!(Randomness::from_trace_id(&[0xff; 16]).rvalue(), "ffffffffffffff");
//! ```

use std::fmt::Write as _;
use std::ops::Range;

/// 2^56: the number of randomness values, one more than the largest.
pub const MAX_ADJUSTED_COUNT: u64 = 1 << 56;

/// Hex digits in a full-precision threshold or randomness value (56 bits).
pub const NUM_HEX_DIGITS: u32 = 14;

/// The smallest sampling probability a threshold can express, 2^-56.
pub const MIN_SAMPLING_PROBABILITY: f64 = 1.0 / MAX_ADJUSTED_COUNT as f64;

/// Why a threshold, randomness value or tracestate could not be read, in
/// `pkg/sampling`'s words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamplingError {
    /// A `th` value longer than 14 hex digits.
    #[error("t-value exceeds 14 hex digits")]
    TValueSize,
    /// An empty `th` value.
    #[error("t-value is empty")]
    TValueEmpty,
    /// An `rv` value that is not exactly 14 hex digits long.
    #[error("r-value must have 14 hex digits")]
    RValueSize,
    /// A `th` or `rv` value with a character that is not a hex digit.
    #[error("parsing {0:?}: invalid syntax")]
    HexSyntax(String),
    /// A tracestate that breaks the W3C or OpenTelemetry syntax.
    #[error("invalid tracestate syntax")]
    TraceStateSyntax,
    /// A tracestate (or its `ot` value, or one of its keys) over its size limit, or
    /// with too many members.
    #[error("invalid tracestate size")]
    TraceStateSize,
    /// A probability outside `[2^-56, 1]`.
    #[error("sampling probability out of the range [1/MaxAdjustedCount, 1]")]
    ProbabilityRange,
    /// A threshold update that would raise the sampling probability an item already
    /// carries (lower its adjusted count).
    #[error("cannot raise existing sampling probability")]
    InconsistentSampling,
}

/// A sampling threshold: how many of the 2^56 randomness values are rejected.
/// Greater thresholds are stricter (lower probability).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Threshold(u64);

impl Threshold {
    /// Keeps every item (`th:0`).
    pub const ALWAYS_SAMPLE: Threshold = Threshold(0);
    /// Keeps no item; has no `th` encoding.
    pub const NEVER_SAMPLE: Threshold = Threshold(MAX_ADJUSTED_COUNT);

    /// The threshold rejecting `rejected` values out of 2^56; `None` from 2^56 on.
    pub fn from_unsigned(rejected: u64) -> Option<Threshold> {
        (rejected < MAX_ADJUSTED_COUNT).then_some(Threshold(rejected))
    }

    /// How many randomness values (out of 2^56) are rejected.
    pub fn unsigned(self) -> u64 {
        self.0
    }

    /// Reads a `th` value: 1 to 14 hex digits, the omitted trailing digits zero.
    pub fn parse_tvalue(text: &str) -> Result<Threshold, SamplingError> {
        if text.len() > NUM_HEX_DIGITS as usize {
            return Err(SamplingError::TValueSize);
        }
        if text.is_empty() {
            return Err(SamplingError::TValueEmpty);
        }
        let value = parse_hex(text)?;
        let missing = NUM_HEX_DIGITS as usize - text.len();
        Ok(Threshold(value << (4 * missing)))
    }

    /// The `th` encoding: `"0"` for [`Threshold::ALWAYS_SAMPLE`], `""` for
    /// [`Threshold::NEVER_SAMPLE`], otherwise 14 lowercase hex digits with the
    /// trailing zeros dropped.
    pub fn tvalue(self) -> String {
        let mut out = String::with_capacity(NUM_HEX_DIGITS as usize);
        self.write_tvalue(&mut out);
        out
    }

    /// Appends [`Threshold::tvalue`] to `out`.
    pub fn write_tvalue(self, out: &mut String) {
        if self == Threshold::ALWAYS_SAMPLE {
            out.push('0');
            return;
        }
        if self.0 >= MAX_ADJUSTED_COUNT {
            return;
        }
        let start = out.len();
        let _ = write!(out, "{:014x}", self.0);
        let trimmed = out[start..].trim_end_matches('0').len();
        out.truncate(start + trimmed);
    }

    /// Whether an item with randomness `rnd` is kept: `threshold <= randomness`.
    pub fn should_sample(self, rnd: Randomness) -> bool {
        self.0 <= rnd.0
    }

    /// The sampling probability, `(2^56 - threshold) / 2^56`.
    pub fn probability(self) -> f64 {
        (MAX_ADJUSTED_COUNT - self.0.min(MAX_ADJUSTED_COUNT)) as f64 / MAX_ADJUSTED_COUNT as f64
    }

    /// How many items a kept item stands for, `1 / probability`; 0 for
    /// [`Threshold::NEVER_SAMPLE`].
    pub fn adjusted_count(self) -> f64 {
        if self == Threshold::NEVER_SAMPLE {
            0.0
        } else {
            1.0 / self.probability()
        }
    }

    /// The threshold of `probability` rounded to `precision` significant hex digits
    /// (0 means all 14), as `ProbabilityToThresholdWithPrecision` does: precision
    /// grows by one digit for each leading hex `0` or `f` the threshold would have,
    /// so probabilities near 0 and near 1 keep their relative accuracy.
    pub fn from_probability(probability: f64, precision: u32) -> Result<Threshold, SamplingError> {
        let mut precision = if precision == 0 {
            NUM_HEX_DIGITS
        } else {
            precision
        } as i32;
        if !(MIN_SAMPLING_PROBABILITY..=1.0).contains(&probability) {
            return Err(SamplingError::ProbabilityRange);
        }
        if probability == 1.0 {
            return Ok(Threshold::ALWAYS_SAMPLE);
        }
        // frexp exponents are <= 0 here; Go's integer division truncates like Rust's.
        let exp_f = frexp_exponent(probability);
        let exp_r = frexp_exponent(1.0 - probability);
        precision =
            (NUM_HEX_DIGITS as i32).min((precision + exp_f / -4).max(precision + exp_r / -4));
        let scaled = (probability * MAX_ADJUSTED_COUNT as f64).round() as u64;
        let mut threshold = MAX_ADJUSTED_COUNT - scaled;
        let shift = 4 * (NUM_HEX_DIGITS as i32 - precision);
        if shift > 0 {
            let shift = shift as u32;
            let half = 1u64 << (shift - 1);
            threshold += half;
            threshold >>= shift;
            threshold <<= shift;
        }
        Ok(Threshold(threshold))
    }
}

/// The exponent of `math.Frexp(x)`: `x = frac * 2^exp` with `frac` in `[0.5, 1)`.
fn frexp_exponent(x: f64) -> i32 {
    if x == 0.0 || !x.is_finite() {
        return 0;
    }
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: normalise first.
        return frexp_exponent(x * (1u64 << 54) as f64) - 54;
    }
    biased - 1022
}

/// 56 bits of sampling randomness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Randomness(u64);

impl Randomness {
    /// The largest randomness, kept at every probability (what an item without
    /// randomness is given).
    pub const ALL_PROBABILITIES: Randomness = Randomness(MAX_ADJUSTED_COUNT - 1);

    /// The randomness of a trace id: its last 7 bytes, big-endian (W3C Trace Context
    /// level 2).
    pub fn from_trace_id(trace_id: &[u8; 16]) -> Randomness {
        let mut low = [0u8; 8];
        low.copy_from_slice(&trace_id[8..]);
        Randomness(u64::from_be_bytes(low) & (MAX_ADJUSTED_COUNT - 1))
    }

    /// Randomness from its 56-bit value; `None` from 2^56 on.
    pub fn from_unsigned(value: u64) -> Option<Randomness> {
        (value < MAX_ADJUSTED_COUNT).then_some(Randomness(value))
    }

    /// The 56-bit value.
    pub fn unsigned(self) -> u64 {
        self.0
    }

    /// Reads an `rv` value: exactly 14 hex digits.
    pub fn parse_rvalue(text: &str) -> Result<Randomness, SamplingError> {
        if text.len() != NUM_HEX_DIGITS as usize {
            return Err(SamplingError::RValueSize);
        }
        parse_hex(text).map(Randomness)
    }

    /// The `rv` encoding: 14 lowercase hex digits.
    pub fn rvalue(self) -> String {
        format!("{:014x}", self.0)
    }
}

/// A hex number of at most 16 digits, as Go's `strconv.ParseUint(s, 16, 64)` reads
/// one (digits only: no sign, no prefix, no underscores).
fn parse_hex(text: &str) -> Result<u64, SamplingError> {
    let mut value = 0u64;
    for b in text.bytes() {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return Err(SamplingError::HexSyntax(text.to_string())),
        };
        value = (value << 4) | u64::from(digit);
    }
    Ok(value)
}

/// Most members a W3C tracestate may have.
const MAX_W3C_MEMBERS: usize = 32;
/// Longest W3C tracestate.
const MAX_W3C_LENGTH: usize = 1024;
/// Longest W3C key.
const MAX_KEY_LENGTH: usize = 256;
/// Longest tenant id of a multi-tenant key.
const MAX_TENANT_LENGTH: usize = 241;
/// Longest system id of a multi-tenant key.
const MAX_SYSTEM_LENGTH: usize = 14;
/// Longest `ot` value.
const MAX_OTEL_LENGTH: usize = 256;

/// A value read from the tracestate text, or one set since.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Field<T> {
    /// As it was written (its text is this range of the original tracestate).
    Read(Range<usize>, T),
    /// Set by a sampler; written in canonical form.
    Set(T),
}

impl<T: Copy> Field<T> {
    fn value(&self) -> T {
        match self {
            Field::Read(_, v) | Field::Set(v) => *v,
        }
    }
}

/// The `ot` member of a tracestate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct OtelState {
    rv: Option<Field<Randomness>>,
    th: Option<Field<Threshold>>,
    /// Other `key:value` members, as ranges of the original text.
    extras: Vec<Range<usize>>,
}

impl OtelState {
    fn has_any(&self) -> bool {
        self.rv.is_some() || self.th.is_some() || !self.extras.is_empty()
    }
}

/// A parsed W3C `tracestate` with its OpenTelemetry (`ot`) member read out, as
/// `pkg/sampling`'s `W3CTraceState` reads it. Other vendors' members pass through
/// unchanged; [`TraceState::serialize`] writes `ot` first, then the others in their
/// order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceState {
    raw: String,
    ot: OtelState,
    /// Other vendors' `key=value` members, as ranges of `raw`.
    extras: Vec<Range<usize>>,
}

impl TraceState {
    /// Parses a tracestate. Like `pkg/sampling`, a problem does not stop the parse:
    /// the state holds what could be read and the first problem is returned beside
    /// it (a size or syntax problem of the whole leaves the state empty).
    pub fn parse(raw: impl Into<String>) -> (TraceState, Option<SamplingError>) {
        let mut state = TraceState {
            raw: raw.into(),
            ot: OtelState::default(),
            extras: Vec::new(),
        };
        let error = state.scan();
        (state, error)
    }

    fn scan(&mut self) -> Option<SamplingError> {
        let input = self.raw.as_str();
        if input.is_empty() {
            return None;
        }
        if input.len() > MAX_W3C_LENGTH {
            return Some(SamplingError::TraceStateSize);
        }
        if !valid_w3c(input) {
            return Some(SamplingError::TraceStateSyntax);
        }
        let mut error = None;
        let mut items = 0;
        let mut start = 0;
        let len = input.len();
        while start < len {
            items += 1;
            // As pkg/sampling counts: the 32nd member is already one too many.
            if items >= MAX_W3C_MEMBERS {
                return Some(SamplingError::TraceStateSize);
            }
            let end = find_byte(&input.as_bytes()[start..], b',').map_or(len, |i| start + i);
            let member = trim_ows_range(input, start..end);
            start = end + 1;
            if member.is_empty() {
                continue;
            }
            let text = &input[member.clone()];
            let Some(eq) = find_byte(text.as_bytes(), b'=') else {
                continue;
            };
            let key = &text[..eq];
            if let Some(e) = key_size_problem(key) {
                error.get_or_insert(e);
                continue;
            }
            if key == "ot" {
                let value = member.start + eq + 1..member.end;
                let (ot, e) = parse_otel(input, value);
                self.ot = ot;
                if let Some(e) = e {
                    error.get_or_insert(e);
                }
            } else {
                self.extras.push(member);
            }
        }
        error
    }

    /// The explicit randomness (`rv`), if any.
    pub fn randomness(&self) -> Option<Randomness> {
        self.ot.rv.as_ref().map(Field::value)
    }

    /// The threshold (`th`), if any.
    pub fn threshold(&self) -> Option<Threshold> {
        self.ot.th.as_ref().map(Field::value)
    }

    /// Sets explicit randomness (`rv`).
    pub fn set_randomness(&mut self, rnd: Randomness) {
        self.ot.rv = Some(Field::Set(rnd));
    }

    /// Removes the threshold (`th`), as done when it is inconsistent with the
    /// item's randomness.
    pub fn clear_threshold(&mut self) {
        self.ot.th = None;
    }

    /// Records that the item was sampled with `threshold`. A threshold below the one
    /// the item carries (a higher probability) is refused with
    /// [`SamplingError::InconsistentSampling`] and the state is left as it was.
    pub fn update_threshold(&mut self, threshold: Threshold) -> Result<(), SamplingError> {
        if let Some(existing) = self.threshold()
            && existing > threshold
        {
            return Err(SamplingError::InconsistentSampling);
        }
        self.ot.th = (threshold != Threshold::NEVER_SAMPLE).then_some(Field::Set(threshold));
        Ok(())
    }

    /// The tracestate as text: `ot=rv:...;th:...;<other ot members>` first (when it
    /// has any), then the other vendors' members, joined by `,`.
    pub fn serialize(&self) -> String {
        let mut out = String::with_capacity(self.raw.len() + 24);
        if self.ot.has_any() {
            out.push_str("ot=");
            let mut first = true;
            let mut sep = |out: &mut String| {
                if !std::mem::take(&mut first) {
                    out.push(';');
                }
            };
            match &self.ot.rv {
                Some(Field::Read(r, _)) => {
                    sep(&mut out);
                    out.push_str("rv:");
                    out.push_str(&self.raw[r.clone()]);
                }
                Some(Field::Set(rnd)) => {
                    sep(&mut out);
                    let _ = write!(out, "rv:{:014x}", rnd.0);
                }
                None => {}
            }
            match &self.ot.th {
                Some(Field::Read(r, _)) => {
                    sep(&mut out);
                    out.push_str("th:");
                    out.push_str(&self.raw[r.clone()]);
                }
                Some(Field::Set(th)) => {
                    sep(&mut out);
                    out.push_str("th:");
                    th.write_tvalue(&mut out);
                }
                None => {}
            }
            for r in &self.ot.extras {
                sep(&mut out);
                out.push_str(&self.raw[r.clone()]);
            }
        }
        for r in &self.extras {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(&self.raw[r.clone()]);
        }
        out
    }

    /// The text the state was parsed from, unchanged.
    pub fn into_raw(self) -> String {
        self.raw
    }
}

/// The problem with a key's size, if it has one.
fn key_size_problem(key: &str) -> Option<SamplingError> {
    if key.len() > MAX_KEY_LENGTH {
        return Some(SamplingError::TraceStateSize);
    }
    if let Some(at) = find_byte(key.as_bytes(), b'@')
        && (at > MAX_TENANT_LENGTH || key.len() - at - 1 > MAX_SYSTEM_LENGTH)
    {
        return Some(SamplingError::TraceStateSize);
    }
    None
}

/// Parses the `ot` value at `range` of `input`.
fn parse_otel(input: &str, range: Range<usize>) -> (OtelState, Option<SamplingError>) {
    let mut ot = OtelState::default();
    let text = &input[range.clone()];
    if text.len() > MAX_OTEL_LENGTH {
        return (ot, Some(SamplingError::TraceStateSize));
    }
    if !valid_otel(text) {
        return (ot, Some(SamplingError::TraceStateSyntax));
    }
    let mut error = None;
    let mut start = range.start;
    while start < range.end {
        let end =
            find_byte(&input.as_bytes()[start..range.end], b';').map_or(range.end, |i| start + i);
        let member = start..end;
        start = end + 1;
        let text = &input[member.clone()];
        let Some(colon) = find_byte(text.as_bytes(), b':') else {
            continue;
        };
        let value = member.start + colon + 1..member.end;
        match &text[..colon] {
            "rv" => match Randomness::parse_rvalue(&input[value.clone()]) {
                Ok(rnd) => ot.rv = Some(Field::Read(value, rnd)),
                Err(e) => {
                    ot.rv = None;
                    error.get_or_insert(e);
                }
            },
            "th" => match Threshold::parse_tvalue(&input[value.clone()]) {
                Ok(th) => ot.th = Some(Field::Read(value, th)),
                Err(e) => {
                    ot.th = None;
                    error.get_or_insert(e);
                }
            },
            _ => ot.extras.push(member),
        }
    }
    (ot, error)
}

/// The first `needle` in `haystack`: tracestate members are short, so a plain loop
/// beats setting up a vectorised search.
fn find_byte(haystack: &[u8], needle: u8) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `bytes` without optional white space (spaces, tabs) at either end.
fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = bytes
        && is_ows(*first)
    {
        bytes = rest;
    }
    while let [rest @ .., last] = bytes
        && is_ows(*last)
    {
        bytes = rest;
    }
    bytes
}

/// `range` of `input` without optional white space at either end.
fn trim_ows_range(input: &str, range: Range<usize>) -> Range<usize> {
    let bytes = input.as_bytes();
    let (mut start, mut end) = (range.start, range.end);
    while start < end && is_ows(bytes[start]) {
        start += 1;
    }
    while end > start && is_ows(bytes[end - 1]) {
        end -= 1;
    }
    start..end
}

/// The W3C tracestate syntax, member by member (sizes are checked while scanning).
fn valid_w3c(input: &str) -> bool {
    input.as_bytes().split(|&b| b == b',').all(|member| {
        let member = trim_ows(member);
        if member.is_empty() {
            return true;
        }
        match find_byte(member, b'=') {
            Some(eq) if eq >= 1 => {
                valid_w3c_key(&member[..eq]) && valid_w3c_value(&member[eq + 1..])
            }
            _ => false,
        }
    })
}

fn is_lc_alpha(b: u8) -> bool {
    b.is_ascii_lowercase()
}

fn is_lc_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn valid_key_chars(s: &[u8]) -> bool {
    s.iter()
        .all(|&b| is_lc_alnum(b) || matches!(b, b'_' | b'-' | b'*' | b'/'))
}

/// `simple-key` or `tenant-id@system-id`.
fn valid_w3c_key(key: &[u8]) -> bool {
    if key.is_empty() {
        return false;
    }
    if let Some(at) = key.iter().position(|&b| b == b'@') {
        let (tenant, system) = (&key[..at], &key[at + 1..]);
        if tenant.is_empty() || system.is_empty() {
            return false;
        }
        return is_lc_alnum(tenant[0])
            && is_lc_alpha(system[0])
            && valid_key_chars(&tenant[1..])
            && valid_key_chars(&system[1..]);
    }
    is_lc_alpha(key[0]) && valid_key_chars(&key[1..])
}

/// Printable ASCII except `,` and `=`.
fn is_non_blank_value_char(b: u8) -> bool {
    matches!(b, 0x21..=0x2b | 0x2d..=0x3c | 0x3e..=0x7e)
}

/// `0*255(chr) nblk-chr`.
fn valid_w3c_value(v: &[u8]) -> bool {
    let Some((&last, rest)) = v.split_last() else {
        return false;
    };
    v.len() <= 256
        && is_non_blank_value_char(last)
        && rest
            .iter()
            .all(|&b| b == b' ' || is_non_blank_value_char(b))
}

/// `key:value` members joined by `;`, keys `[a-z][a-z0-9]*`, values `[a-zA-Z0-9._-]*`.
fn valid_otel(input: &str) -> bool {
    if input.is_empty() || input.ends_with(';') {
        return false;
    }
    input.as_bytes().split(|&b| b == b';').all(|member| {
        let Some(colon) = find_byte(member, b':') else {
            return false;
        };
        let (key, value) = (&member[..colon], &member[colon + 1..]);
        !key.is_empty()
            && is_lc_alpha(key[0])
            && key[1..].iter().all(|&b| is_lc_alnum(b))
            && value
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn th(s: &str) -> Threshold {
        Threshold::parse_tvalue(s).unwrap()
    }

    #[test]
    fn tvalues_round_trip_with_trailing_zeros_dropped() {
        assert_eq!(th("8").unsigned(), 0x80_0000_0000_0000);
        assert_eq!(th("80000000000000"), th("8"));
        assert_eq!(th("8").tvalue(), "8");
        assert_eq!(th("0").tvalue(), "0");
        assert_eq!(Threshold::ALWAYS_SAMPLE.tvalue(), "0");
        assert_eq!(Threshold::NEVER_SAMPLE.tvalue(), "");
        assert_eq!(th("fd70a3d70a3d71").tvalue(), "fd70a3d70a3d71");
        assert_eq!(th("00000cccccccd").tvalue(), "00000cccccccd");
        assert_eq!(th("8").probability(), 0.5);
        assert_eq!(th("c").adjusted_count(), 4.0);
        assert_eq!(Threshold::NEVER_SAMPLE.adjusted_count(), 0.0);
        assert_eq!(
            Threshold::parse_tvalue("abababababababab"),
            Err(SamplingError::TValueSize)
        );
        assert_eq!(Threshold::parse_tvalue(""), Err(SamplingError::TValueEmpty));
        assert!(matches!(
            Threshold::parse_tvalue("-1"),
            Err(SamplingError::HexSyntax(_))
        ));
        assert!(
            Threshold::parse_tvalue("+1").is_err(),
            "no sign, as ParseUint"
        );
        assert_eq!(Threshold::from_unsigned(1 << 56), None);
    }

    #[test]
    fn rvalues_are_exactly_fourteen_hex_digits() {
        let r = Randomness::parse_rvalue("FD70A3D70A3D71").unwrap();
        assert_eq!(r.unsigned(), 0xfd70a3d70a3d71);
        assert_eq!(r.rvalue(), "fd70a3d70a3d71");
        assert_eq!(
            Randomness::parse_rvalue("abababababababab"),
            Err(SamplingError::RValueSize)
        );
        assert_eq!(
            Randomness::parse_rvalue("1"),
            Err(SamplingError::RValueSize)
        );
        assert!(Randomness::parse_rvalue("0000000000000g").is_err());
        let id = [
            0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0x80, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(
            Randomness::from_trace_id(&id).unsigned(),
            0x80_0000_0000_0000
        );
        assert_eq!(Randomness::ALL_PROBABILITIES.rvalue(), "ffffffffffffff");
    }

    /// Expected values from contrib's `pkg/sampling` and the processor's tests.
    #[test]
    fn probability_to_threshold_with_precision() {
        let t = |p: f64, prec| Threshold::from_probability(p, prec).unwrap().tvalue();
        assert_eq!(t(0.5, 4), "8");
        assert_eq!(t(0.25, 4), "c");
        assert_eq!(t(1.0, 4), "0");
        assert_eq!(t(0.01, 4), "fd70a");
        assert_eq!(t(0.01, 3), "fd71");
        assert_eq!(t(0.01, 0), "fd70a3d70a3d71");
        assert_eq!(t(0.01, 14), "fd70a3d70a3d71");
        assert_eq!(t(f64::from(40f32) / 100.0, 3), "99a");
        assert_eq!(t(f64::from(40f32) / 100.0, 6), "99999a");
        assert_eq!(t(0.5 * (f64::from(40f32) / 100.0), 6), "cccccd");
        // 2^-14 (proportional after th:fffc) keeps its precision: 7 digits.
        assert_eq!(t(2f64.powi(-28), 4), "fffffff");
        let almost = f64::from(99.99992f32) / 100.0;
        assert_eq!(t(almost, 10), "00000cccccccd");
        assert_eq!(t(MIN_SAMPLING_PROBABILITY, 4), "ffffffffffffff");
        assert_eq!(
            Threshold::from_probability(0.0, 4),
            Err(SamplingError::ProbabilityRange)
        );
        assert_eq!(
            Threshold::from_probability(1.5, 4),
            Err(SamplingError::ProbabilityRange)
        );
        assert_eq!(
            Threshold::from_probability(f64::NAN, 4),
            Err(SamplingError::ProbabilityRange)
        );
    }

    #[test]
    fn frexp_matches_go() {
        assert_eq!(frexp_exponent(1.0), 1);
        assert_eq!(frexp_exponent(0.5), 0);
        assert_eq!(frexp_exponent(0.01), -6);
        assert_eq!(frexp_exponent(0.99), 0);
        assert_eq!(frexp_exponent(f64::MIN_POSITIVE / 4.0), -1023);
    }

    #[test]
    fn parses_and_writes_back_the_ot_member() {
        let (mut s, e) = TraceState::parse("ot=th:8;rv:90000000000000;x:y , other=1,,k@sys=v");
        assert_eq!(e, None);
        assert_eq!(s.threshold(), Some(th("8")));
        assert_eq!(s.randomness().unwrap().unsigned(), 0x90000000000000);
        assert_eq!(
            s.serialize(),
            "ot=rv:90000000000000;th:8;x:y,other=1,k@sys=v"
        );
        s.update_threshold(th("c")).unwrap();
        assert_eq!(
            s.serialize(),
            "ot=rv:90000000000000;th:c;x:y,other=1,k@sys=v"
        );
        assert_eq!(
            s.update_threshold(th("8")),
            Err(SamplingError::InconsistentSampling)
        );
        assert_eq!(s.threshold(), Some(th("c")));
        s.clear_threshold();
        s.set_randomness(Randomness::from_unsigned(0xab).unwrap());
        assert_eq!(s.serialize(), "ot=rv:000000000000ab;x:y,other=1,k@sys=v");
        let (s, e) = TraceState::parse(" \tvendor=a\t, ot=th:c ,");
        assert_eq!(e, None);
        assert_eq!(s.serialize(), "ot=th:c,vendor=a");
        assert_eq!(
            TraceState::parse("a=b,\nc=d").1,
            Some(SamplingError::TraceStateSyntax),
            "a newline is not optional white space"
        );
        let (s, _) = TraceState::parse("vendor=a");
        assert_eq!(s.serialize(), "vendor=a");
        assert_eq!(s.into_raw(), "vendor=a");
        let (mut s, _) = TraceState::parse("");
        s.update_threshold(Threshold::ALWAYS_SAMPLE).unwrap();
        assert_eq!(s.serialize(), "ot=th:0");
    }

    #[test]
    fn invalid_tracestates_are_reported() {
        let bad = |s: &str| TraceState::parse(s).1;
        assert_eq!(
            bad("ot=rv:abababababababab"),
            Some(SamplingError::RValueSize)
        );
        assert_eq!(
            bad("ot=th:abababababababab"),
            Some(SamplingError::TValueSize)
        );
        assert_eq!(bad("ot=th:-1"), Some(SamplingError::HexSyntax("-1".into())));
        assert_eq!(bad("ot=th:"), Some(SamplingError::TValueEmpty));
        assert_eq!(bad("Ot=x"), Some(SamplingError::TraceStateSyntax));
        assert_eq!(bad("ot="), Some(SamplingError::TraceStateSyntax));
        assert_eq!(bad("ot=th:8;"), Some(SamplingError::TraceStateSyntax));
        assert_eq!(bad("ot=TH:8"), Some(SamplingError::TraceStateSyntax));
        assert_eq!(bad("a=b=c"), Some(SamplingError::TraceStateSyntax));
        assert_eq!(bad("a= "), Some(SamplingError::TraceStateSyntax));
        assert_eq!(
            bad(&format!("a={}", "x".repeat(1100))),
            Some(SamplingError::TraceStateSize)
        );
        let k = format!("{}=v", "k".repeat(257));
        assert_eq!(bad(&k), Some(SamplingError::TraceStateSize));
        let members: Vec<String> = (0..32).map(|i| format!("k{i}=v")).collect();
        assert_eq!(bad(&members.join(",")), Some(SamplingError::TraceStateSize));
        assert_eq!(bad(&members[..31].join(",")), None);
        // A bad value keeps what could be read.
        let (s, e) = TraceState::parse("ot=th:8;rv:1,a=b");
        assert_eq!(e, Some(SamplingError::RValueSize));
        assert_eq!(s.threshold(), Some(th("8")));
        assert_eq!(s.serialize(), "ot=th:8,a=b");
    }
}
