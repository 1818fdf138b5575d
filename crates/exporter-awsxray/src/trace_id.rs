//! Trace and segment ids in X-Ray's forms.
//!
//! Upstream `segment.go` `convertToAmazonTraceID`: `1-` + the first 4 bytes in hex +
//! `-` + the other 12 bytes in hex. Its check that the first 4 bytes are a Unix time
//! within the last 28 days runs only when `skipTimestampValidation` is false, and
//! `factory.go` sets that from the feature gate `exporter.awsxray.skiptimestampvalidation`,
//! beta and on by default since v0.84.0: X-Ray accepts W3C (random) trace ids, so
//! current upstream sends every trace id unchanged. So does this crate, and it has
//! no use for a clock.
//!
//! Upstream draws exception ids and the service segment id of a split local-root span
//! from `crypto/rand`. Here they are derived from the trace and span ids
//! (`IdGen`): unique within the trace as X-Ray requires, and the same on every
//! retry of the same span, which keeps the translator pure and its output testable.

use crate::TranslateError;

/// Length of `1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx` (upstream `traceIDLength`).
pub const XRAY_TRACE_ID_LEN: usize = 35;

/// An OTLP trace id in X-Ray form. An empty id (which pdata reads as all zeros) gives
/// zeros; any length other than 0 or 16 bytes is an error.
pub fn xray_trace_id(trace_id: &[u8]) -> Result<String, TranslateError> {
    let bytes: [u8; 16] = match trace_id.len() {
        0 => [0; 16],
        16 => {
            let mut b = [0; 16];
            b.copy_from_slice(trace_id);
            b
        }
        len => return Err(TranslateError::InvalidTraceId { len }),
    };
    let mut out = String::with_capacity(XRAY_TRACE_ID_LEN);
    out.push_str("1-");
    push_hex(&mut out, &bytes[..4]);
    out.push('-');
    push_hex(&mut out, &bytes[4..]);
    Ok(out)
}

/// A span id in 16 hex digits, `None` for an empty id (upstream
/// `SpanIDToHexOrEmptyString` then `awsxray.String`). Any length other than 0 or 8
/// bytes is an error.
pub fn segment_id(span_id: &[u8]) -> Result<Option<String>, TranslateError> {
    match span_id.len() {
        0 => Ok(None),
        8 => Ok(Some(hex_string(span_id))),
        len => Err(TranslateError::InvalidSpanId { len }),
    }
}

pub(crate) use stratus_core::jsonw::{hex as hex_string, push_hex};

/// Derives 8-byte ids from a trace id, a span id and a purpose, so that ids made for
/// different spans, segments or exceptions do not collide.
#[derive(Debug, Clone)]
pub(crate) struct IdGen {
    state: u64,
}

/// Purposes, mixed into the seed.
pub(crate) const PURPOSE_SERVICE_SEGMENT: u64 = 0x5345_5256_4943_4553; // "SERVICES"
pub(crate) const PURPOSE_EXCEPTIONS: u64 = 0x4558_4345_5054_494f; // "EXCEPTIO"

impl IdGen {
    /// A generator for `purpose` ids of span `span_id` in trace `trace_id`.
    pub fn new(trace_id: &[u8], span_id: &[u8], purpose: u64) -> Self {
        let mut state = splitmix(purpose);
        for chunk in trace_id.chunks(8).chain(span_id.chunks(8)) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            state = splitmix(state ^ u64::from_be_bytes(word));
        }
        IdGen { state }
    }

    /// The next id; never all zeros.
    pub fn next_id(&mut self) -> [u8; 8] {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let v = splitmix(self.state);
        (if v == 0 { 1 } else { v }).to_be_bytes()
    }

    /// The next id in 16 hex digits.
    pub fn next_hex(&mut self) -> String {
        hex_string(&self.next_id())
    }
}

/// SplitMix64's finaliser: a fast, well-mixed bijection on `u64`.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests;
