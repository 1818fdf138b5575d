//! Upper bounds of what a request takes in memory once decoded, computed from its
//! encoded bytes before anything is decoded.
//!
//! A request can decode to far more than it is sent as: an empty repeated message is
//! 2 bytes on the wire and a whole Rust struct (an empty `Span` is 264 bytes) once
//! decoded. The receiver reserves the bound in the admission gate, and refuses a
//! request whose bound passes a hard cap, before decoding it.
//!
//! Protobuf: a schema-aware walk of the wire format, allocating nothing, O(n) in the
//! body, bounded in depth by [`PROTOBUF_DEPTH_LIMIT`] (the limit prost applies). prost
//! pushes each element of a repeated message field into a `Vec`, which the standard
//! library grows to 4 and then doubles, so in a message decoded into a fresh struct
//! (a `Vec` element, or the request) a field of n elements takes exactly
//! `max(4, n.next_power_of_two())` elements: counted at the end of the message. A
//! singular message (held inline) sent twice is merged by prost, its `Vec`s appended
//! to, so below one each `Vec` counts 2n + 2 elements (the capacity after n pushes is
//! at most that), which adds up over the merged parts. Strings and bytes count
//! `max(8, len)` (prost reserves the length; 8 is a `Vec<u8>`'s smallest capacity).
//! Repeated scalars (packed or not) count 16 bytes per element, an 8-byte element
//! doubled, a packed varint of n bytes being up to n elements, plus two elements. A
//! singular field sent twice is counted twice though prost keeps one: the bound only
//! over-estimates. Allocator rounding is not counted (the memory limiter's heap
//! reading counts requested sizes too).
//!
//! JSON: see [`json_bound`].

use std::mem::size_of;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

use crate::intake::{JSON_DEPTH_LIMIT, PROTOBUF_DEPTH_LIMIT};
use crate::status::Refusal;

/// The OTLP message types a request can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    TraceRequest,
    MetricsRequest,
    LogsRequest,
    Resource,
    Scope,
    EntityRef,
    KeyValue,
    AnyValue,
    ArrayValue,
    KeyValueList,
    ResourceSpans,
    ScopeSpans,
    Span,
    Event,
    Link,
    Status,
    ResourceMetrics,
    ScopeMetrics,
    Metric,
    Gauge,
    Sum,
    Histogram,
    ExponentialHistogram,
    Summary,
    NumberDataPoint,
    HistogramDataPoint,
    ExponentialHistogramDataPoint,
    Buckets,
    SummaryDataPoint,
    ValueAtQuantile,
    Exemplar,
    ResourceLogs,
    ScopeLogs,
    LogRecord,
}

/// What a field holds, as far as memory goes, and the wire type prost requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    /// A repeated message: an element of a `Vec` in its parent.
    Msg(Ty),
    /// A singular message or one in a oneof: held inline in its parent.
    One(Ty),
    /// A `string` field: length-delimited UTF-8.
    Str,
    /// A `bytes` field: length-delimited, any bytes.
    Bytes,
    /// A `repeated string` field: a `String` per element, plus its bytes.
    RepeatedStr,
    /// A repeated `fixed64` or `double`, packed or not.
    RepeatedFixed,
    /// A repeated `uint64` (varints), packed or not.
    RepeatedScalar,
    /// A varint scalar (integers, enums, bools), held inline.
    Varint,
    /// A 64-bit scalar (`fixed64`, `sfixed64`, `double`), held inline.
    Fixed64,
    /// A 32-bit scalar (`fixed32`), held inline.
    Fixed32,
    /// A field the decoder does not know: skipped, whatever its wire type.
    Unknown,
}

/// The largest element a repeated field of one of these types has, for the
/// `Vec`s whose element type is not known (JSON).
const SCALAR_ELEMENT: usize = 8;

impl Ty {
    /// The size of the struct.
    fn size(self) -> usize {
        match self {
            Ty::TraceRequest => size_of::<ExportTraceServiceRequest>(),
            Ty::MetricsRequest => size_of::<ExportMetricsServiceRequest>(),
            Ty::LogsRequest => size_of::<ExportLogsServiceRequest>(),
            Ty::Resource => size_of::<Resource>(),
            Ty::Scope => size_of::<InstrumentationScope>(),
            Ty::EntityRef => size_of::<EntityRef>(),
            Ty::KeyValue => size_of::<KeyValue>(),
            Ty::AnyValue => size_of::<AnyValue>(),
            Ty::ArrayValue => size_of::<ArrayValue>(),
            Ty::KeyValueList => size_of::<KeyValueList>(),
            Ty::ResourceSpans => size_of::<ResourceSpans>(),
            Ty::ScopeSpans => size_of::<ScopeSpans>(),
            Ty::Span => size_of::<Span>(),
            Ty::Event => size_of::<Event>(),
            Ty::Link => size_of::<Link>(),
            Ty::Status => size_of::<Status>(),
            Ty::ResourceMetrics => size_of::<ResourceMetrics>(),
            Ty::ScopeMetrics => size_of::<ScopeMetrics>(),
            Ty::Metric => size_of::<Metric>(),
            Ty::Gauge => size_of::<Gauge>(),
            Ty::Sum => size_of::<Sum>(),
            Ty::Histogram => size_of::<Histogram>(),
            Ty::ExponentialHistogram => size_of::<ExponentialHistogram>(),
            Ty::Summary => size_of::<Summary>(),
            Ty::NumberDataPoint => size_of::<NumberDataPoint>(),
            Ty::HistogramDataPoint => size_of::<HistogramDataPoint>(),
            Ty::ExponentialHistogramDataPoint => size_of::<ExponentialHistogramDataPoint>(),
            Ty::Buckets => size_of::<Buckets>(),
            Ty::SummaryDataPoint => size_of::<SummaryDataPoint>(),
            Ty::ValueAtQuantile => size_of::<ValueAtQuantile>(),
            Ty::Exemplar => size_of::<Exemplar>(),
            Ty::ResourceLogs => size_of::<ResourceLogs>(),
            Ty::ScopeLogs => size_of::<ScopeLogs>(),
            Ty::LogRecord => size_of::<LogRecord>(),
        }
    }

    /// The field `number` of this message type (a table lookup; see
    /// [`Ty::declared_field`]).
    #[inline]
    fn field(self, number: u64) -> Field {
        match FIELDS[self as usize].get(number as usize) {
            Some(&field) => field,
            None => Field::Unknown,
        }
    }

    /// The field `number` of this message type, as opentelemetry-proto's generated
    /// code declares it. Fields the decoder does not know (and skips) are `Unknown`.
    const fn declared_field(self, number: u64) -> Field {
        use Field::{
            Bytes, Fixed32, Fixed64, Msg, One, RepeatedFixed, RepeatedScalar, RepeatedStr, Str,
            Unknown, Varint,
        };
        match (self, number) {
            (Ty::TraceRequest, 1) => Msg(Ty::ResourceSpans),
            (Ty::MetricsRequest, 1) => Msg(Ty::ResourceMetrics),
            (Ty::LogsRequest, 1) => Msg(Ty::ResourceLogs),
            (Ty::Resource, 1) => Msg(Ty::KeyValue),
            (Ty::Resource, 2) => Varint,
            (Ty::Resource, 3) => Msg(Ty::EntityRef),
            (Ty::Scope, 1 | 2) => Str,
            (Ty::Scope, 3) => Msg(Ty::KeyValue),
            (Ty::Scope, 4) => Varint,
            (Ty::EntityRef, 1 | 2) => Str,
            (Ty::EntityRef, 3 | 4) => RepeatedStr,
            (Ty::KeyValue, 1) => Str,
            (Ty::KeyValue, 2) => One(Ty::AnyValue),
            (Ty::KeyValue, 3) => Varint,
            (Ty::AnyValue, 1) => Str,
            (Ty::AnyValue, 2 | 3 | 8) => Varint,
            (Ty::AnyValue, 4) => Fixed64,
            (Ty::AnyValue, 7) => Bytes,
            (Ty::AnyValue, 5) => One(Ty::ArrayValue),
            (Ty::AnyValue, 6) => One(Ty::KeyValueList),
            (Ty::ArrayValue, 1) => Msg(Ty::AnyValue),
            (Ty::KeyValueList, 1) => Msg(Ty::KeyValue),
            (Ty::ResourceSpans, 1) => One(Ty::Resource),
            (Ty::ResourceSpans, 2) => Msg(Ty::ScopeSpans),
            (Ty::ResourceSpans | Ty::ScopeSpans, 3) => Str,
            (Ty::ScopeSpans, 1) => One(Ty::Scope),
            (Ty::ScopeSpans, 2) => Msg(Ty::Span),
            (Ty::Span, 1 | 2 | 4) => Bytes,
            (Ty::Span, 3 | 5) => Str,
            (Ty::Span, 6 | 10 | 12 | 14) => Varint,
            (Ty::Span, 7 | 8) => Fixed64,
            (Ty::Span, 9) => Msg(Ty::KeyValue),
            (Ty::Span, 11) => Msg(Ty::Event),
            (Ty::Span, 13) => Msg(Ty::Link),
            (Ty::Span, 15) => One(Ty::Status),
            (Ty::Span, 16) => Fixed32,
            (Ty::Event, 1) => Fixed64,
            (Ty::Event, 2) => Str,
            (Ty::Event, 3) => Msg(Ty::KeyValue),
            (Ty::Event, 4) => Varint,
            (Ty::Link, 1 | 2) => Bytes,
            (Ty::Link, 3) => Str,
            (Ty::Link, 4) => Msg(Ty::KeyValue),
            (Ty::Link, 5) => Varint,
            (Ty::Link, 6) => Fixed32,
            (Ty::Status, 2) => Str,
            (Ty::Status, 3) => Varint,
            (Ty::ResourceMetrics, 1) => One(Ty::Resource),
            (Ty::ResourceMetrics, 2) => Msg(Ty::ScopeMetrics),
            (Ty::ResourceMetrics | Ty::ScopeMetrics, 3) => Str,
            (Ty::ScopeMetrics, 1) => One(Ty::Scope),
            (Ty::ScopeMetrics, 2) => Msg(Ty::Metric),
            (Ty::Metric, 1..=3) => Str,
            (Ty::Metric, 5) => One(Ty::Gauge),
            (Ty::Metric, 7) => One(Ty::Sum),
            (Ty::Metric, 9) => One(Ty::Histogram),
            (Ty::Metric, 10) => One(Ty::ExponentialHistogram),
            (Ty::Metric, 11) => One(Ty::Summary),
            (Ty::Metric, 12) => Msg(Ty::KeyValue),
            (Ty::Gauge | Ty::Sum, 1) => Msg(Ty::NumberDataPoint),
            (Ty::Sum, 2 | 3) => Varint,
            (Ty::Histogram, 1) => Msg(Ty::HistogramDataPoint),
            (Ty::Histogram | Ty::ExponentialHistogram, 2) => Varint,
            (Ty::ExponentialHistogram, 1) => Msg(Ty::ExponentialHistogramDataPoint),
            (Ty::Summary, 1) => Msg(Ty::SummaryDataPoint),
            (Ty::NumberDataPoint, 7) => Msg(Ty::KeyValue),
            (Ty::NumberDataPoint, 2 | 3 | 4 | 6) => Fixed64,
            (Ty::NumberDataPoint, 5) => Msg(Ty::Exemplar),
            (Ty::NumberDataPoint, 8) => Varint,
            (Ty::HistogramDataPoint, 9) => Msg(Ty::KeyValue),
            (Ty::HistogramDataPoint, 2 | 3 | 4 | 5 | 11 | 12) => Fixed64,
            (Ty::HistogramDataPoint, 6 | 7) => RepeatedFixed,
            (Ty::HistogramDataPoint, 8) => Msg(Ty::Exemplar),
            (Ty::HistogramDataPoint, 10) => Varint,
            (Ty::ExponentialHistogramDataPoint, 1) => Msg(Ty::KeyValue),
            (Ty::ExponentialHistogramDataPoint, 2 | 3 | 4 | 5 | 7 | 12 | 13 | 14) => Fixed64,
            (Ty::ExponentialHistogramDataPoint, 6 | 10) => Varint,
            (Ty::ExponentialHistogramDataPoint, 8 | 9) => One(Ty::Buckets),
            (Ty::ExponentialHistogramDataPoint, 11) => Msg(Ty::Exemplar),
            (Ty::Buckets, 1) => Varint,
            (Ty::Buckets, 2) => RepeatedScalar,
            (Ty::SummaryDataPoint, 7) => Msg(Ty::KeyValue),
            (Ty::SummaryDataPoint, 2..=5) => Fixed64,
            (Ty::SummaryDataPoint, 6) => Msg(Ty::ValueAtQuantile),
            (Ty::SummaryDataPoint, 8) => Varint,
            (Ty::ValueAtQuantile, 1 | 2) => Fixed64,
            (Ty::Exemplar, 7) => Msg(Ty::KeyValue),
            (Ty::Exemplar, 2 | 3 | 6) => Fixed64,
            (Ty::Exemplar, 4 | 5) => Bytes,
            (Ty::ResourceLogs, 1) => One(Ty::Resource),
            (Ty::ResourceLogs, 2) => Msg(Ty::ScopeLogs),
            (Ty::ResourceLogs | Ty::ScopeLogs, 3) => Str,
            (Ty::ScopeLogs, 1) => One(Ty::Scope),
            (Ty::ScopeLogs, 2) => Msg(Ty::LogRecord),
            (Ty::LogRecord, 1 | 11) => Fixed64,
            (Ty::LogRecord, 2 | 7) => Varint,
            (Ty::LogRecord, 3 | 12) => Str,
            (Ty::LogRecord, 9 | 10) => Bytes,
            (Ty::LogRecord, 5) => One(Ty::AnyValue),
            (Ty::LogRecord, 6) => Msg(Ty::KeyValue),
            (Ty::LogRecord, 8) => Fixed32,
            _ => Unknown,
        }
    }

    /// Whether each element of the repeated message field `number` is one item
    /// (a span, a data point, a log record).
    fn counts_items(self, number: u64) -> bool {
        matches!(
            (self, number),
            (Ty::ScopeSpans | Ty::ScopeLogs, 2)
                | (
                    Ty::Gauge | Ty::Sum | Ty::Histogram | Ty::ExponentialHistogram | Ty::Summary,
                    1
                )
        )
    }

    /// Twice the element size of each repeated field: what the first push into
    /// each of the struct's `Vec`s may allocate beyond twice the length (used by
    /// the JSON bound).
    fn slack(self) -> usize {
        let kv = size_of::<KeyValue>();
        let s = SCALAR_ELEMENT;
        2 * match self {
            Ty::TraceRequest => size_of::<ResourceSpans>(),
            Ty::MetricsRequest => size_of::<ResourceMetrics>(),
            Ty::LogsRequest => size_of::<ResourceLogs>(),
            Ty::Resource => kv + size_of::<EntityRef>(),
            Ty::Scope | Ty::Event | Ty::Link | Ty::KeyValueList => kv,
            Ty::EntityRef => 2 * size_of::<String>(),
            Ty::ArrayValue => size_of::<AnyValue>(),
            Ty::ResourceSpans => size_of::<ScopeSpans>(),
            Ty::ScopeSpans => size_of::<Span>(),
            Ty::Span => kv + size_of::<Event>() + size_of::<Link>(),
            Ty::ResourceMetrics => size_of::<ScopeMetrics>(),
            Ty::ScopeMetrics => size_of::<Metric>(),
            Ty::Metric => kv,
            Ty::Gauge | Ty::Sum => size_of::<NumberDataPoint>(),
            Ty::Histogram => size_of::<HistogramDataPoint>(),
            Ty::ExponentialHistogram => size_of::<ExponentialHistogramDataPoint>(),
            Ty::Summary => size_of::<SummaryDataPoint>(),
            Ty::NumberDataPoint | Ty::ExponentialHistogramDataPoint | Ty::Exemplar => {
                kv + size_of::<Exemplar>()
            }
            Ty::HistogramDataPoint => kv + size_of::<Exemplar>() + 2 * s,
            Ty::Buckets => s,
            Ty::SummaryDataPoint => kv + size_of::<ValueAtQuantile>(),
            Ty::ResourceLogs => size_of::<ScopeLogs>(),
            Ty::ScopeLogs => size_of::<LogRecord>(),
            Ty::LogRecord => kv,
            Ty::KeyValue | Ty::AnyValue | Ty::Status | Ty::ValueAtQuantile => 0,
        }
    }

    /// What one JSON object of this type counts: twice the struct (a `Vec`
    /// element) plus its slack.
    fn cost(self) -> u64 {
        (2 * self.size() + self.slack()) as u64
    }
}

/// Why a protobuf body could not be walked. prost would refuse it for the same
/// reason (the scan stops at the first fault, where prost stops too).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ScanError {
    /// Messages nested deeper than prost allows.
    #[error("messages nested more than {PROTOBUF_DEPTH_LIMIT} deep (the depth limit)")]
    TooDeep,
    /// The body ends inside a field.
    #[error("buffer underflow")]
    Truncated,
    /// A varint longer than 10 bytes.
    #[error("invalid varint")]
    BadVarint,
    /// A key with field number 0, or an unknown wire type.
    #[error("invalid key or wire type")]
    BadKey,
    /// A known field sent with another wire type than its type's.
    #[error("invalid wire type for field {field}")]
    WrongWireType {
        /// The field number.
        field: u64,
    },
    /// A `string` field whose bytes are not UTF-8.
    #[error("invalid string value in field {field}: data is not UTF-8 encoded")]
    NotUtf8 {
        /// The field number.
        field: u64,
    },
    /// A packed repeated field whose bytes are not whole elements.
    #[error("packed field {field} does not hold whole elements")]
    BadPacked {
        /// The field number.
        field: u64,
    },
}

/// What the protobuf walk of a request found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Scanned {
    /// The upper bound of its decoded size (see [`protobuf_bound`]).
    pub bound: u64,
    /// Spans, data points or log records in it, as prost would decode them.
    pub items: usize,
}

/// The upper bound, in bytes, of the memory a protobuf request of type `ty` takes
/// once decoded (the encoded body not included).
#[cfg(test)]
pub(crate) fn protobuf_bound(body: &[u8], ty: Ty) -> Result<u64, ScanError> {
    protobuf_scan(body, ty).map(|s| s.bound)
}

/// Walks a protobuf request of type `ty` once: its decoded-size bound and its items.
///
/// The walk refuses exactly what prost's decoder refuses (a malformed key, varint or
/// length, a known field with another wire type, a `string` that is not UTF-8, a
/// packed field of partial elements, nesting past the depth limit), so a body it
/// accepts decodes. That is what lets the receiver hand the bytes on undecoded.
pub(crate) fn protobuf_scan(body: &[u8], ty: Ty) -> Result<Scanned, ScanError> {
    let mut total = ty.size() as u64;
    let items = scan(body, ty, 0, true, &mut total)?;
    Ok(Scanned {
        bound: total,
        items: usize::try_from(items).unwrap_or(usize::MAX),
    })
}

/// The capacity of a `Vec` of small elements after `n` pushes into an empty one:
/// 0, then 4, doubling (the standard library's growth).
fn pushed_capacity(n: u64) -> u64 {
    if n == 0 {
        0
    } else {
        n.next_power_of_two().max(4)
    }
}

#[inline]
fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, ScanError> {
    // Most varints in OTLP (keys, lengths of small fields) are one byte.
    if let Some(&b) = buf.get(*pos)
        && b < 0x80
    {
        *pos += 1;
        return Ok(u64::from(b));
    }
    varint_long(buf, pos)
}

fn varint_long(buf: &[u8], pos: &mut usize) -> Result<u64, ScanError> {
    let mut value = 0u64;
    for shift in 0..10 {
        let Some(&b) = buf.get(*pos) else {
            return Err(ScanError::Truncated);
        };
        *pos += 1;
        value |= u64::from(b & 0x7f) << (7 * shift);
        if b < 0x80 {
            // A tenth byte above 1 overflows 64 bits: prost refuses it.
            return if shift == 9 && b > 1 {
                Err(ScanError::BadVarint)
            } else {
                Ok(value)
            };
        }
    }
    Err(ScanError::BadVarint)
}

/// The bytes of a length-delimited field at `pos`, moving past them.
fn delimited<'a>(buf: &'a [u8], pos: &mut usize) -> Result<&'a [u8], ScanError> {
    let len = varint(buf, pos)?;
    let len = usize::try_from(len).map_err(|_| ScanError::Truncated)?;
    let end = pos.checked_add(len).ok_or(ScanError::Truncated)?;
    let bytes = buf.get(*pos..end).ok_or(ScanError::Truncated)?;
    *pos = end;
    Ok(bytes)
}

/// Moves past a field of wire type `wire` whose key was just read; groups are
/// walked to their end, each level counting towards the depth limit, as prost does.
fn skip(buf: &[u8], pos: &mut usize, wire: u64, number: u64, depth: u32) -> Result<(), ScanError> {
    let fixed = |pos: &mut usize, n: usize| {
        let end = pos.checked_add(n).filter(|&e| e <= buf.len());
        *pos = end.ok_or(ScanError::Truncated)?;
        Ok(())
    };
    match wire {
        0 => varint(buf, pos).map(drop),
        1 => fixed(pos, 8),
        2 => delimited(buf, pos).map(drop),
        5 => fixed(pos, 4),
        3 => {
            if depth >= PROTOBUF_DEPTH_LIMIT {
                return Err(ScanError::TooDeep);
            }
            loop {
                let key = varint(buf, pos)?;
                let (inner_wire, inner_number) = (key & 7, key >> 3);
                if inner_number == 0 {
                    return Err(ScanError::BadKey);
                }
                if inner_wire == 4 {
                    return if inner_number == number {
                        Ok(())
                    } else {
                        Err(ScanError::BadKey)
                    };
                }
                skip(buf, pos, inner_wire, inner_number, depth + 1)?;
            }
        }
        _ => Err(ScanError::BadKey),
    }
}

/// Walks one message of type `ty`, adding what it holds on the heap to `total`.
///
/// `fresh`: the message is a new struct (a `Vec` element or the request), so each
/// of its `Vec`s is built by pushes into an empty one and its capacity is known
/// from its length. A singular message sent twice is merged by prost, its `Vec`s
/// appended to: there (`fresh` false) a `Vec` of n elements counts 2n + 2 (the
/// capacity after pushes is at most that), which adds up over the merged parts.
///
/// Returns the items the message holds as prost decodes it: each element of an item
/// field, and in a `Metric` the points of its last `data` variant only (prost keeps
/// the last variant of a oneof, and merges a variant sent again into itself).
fn scan(buf: &[u8], ty: Ty, depth: u32, fresh: bool, total: &mut u64) -> Result<u64, ScanError> {
    // Elements pushed into each repeated message or string field, by number (the
    // OTLP ones are all below 16).
    let mut pushed = [0u64; 16];
    // Which of them were pushed into: most messages (values, key-value pairs) have
    // none, and skip the tally at the end.
    let mut any_pushed = false;
    let add = |total: &mut u64, n: u64| *total = total.saturating_add(n);
    let mut items = 0u64;
    // A metric's `data` oneof: the variant last seen and its points.
    let mut variant = 0u64;
    let mut variant_items = 0u64;
    let mut pos = 0;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let (wire, number) = (key & 7, key >> 3);
        if number == 0 || number > u64::from(u32::MAX >> 3) {
            return Err(ScanError::BadKey);
        }
        let field = ty.field(number);
        match (field, wire) {
            (Field::Msg(inner) | Field::One(inner), 2) => {
                if depth >= PROTOBUF_DEPTH_LIMIT {
                    return Err(ScanError::TooDeep);
                }
                let bytes = delimited(buf, &mut pos)?;
                let repeated = matches!(field, Field::Msg(_));
                if repeated {
                    any_pushed = true;
                    count(&mut pushed, number, inner.size(), fresh, total);
                }
                let inner_items = scan(bytes, inner, depth + 1, repeated, total)?;
                if ty.counts_items(number) {
                    items += 1;
                } else if ty == Ty::Metric && !repeated {
                    if number != variant {
                        variant = number;
                        variant_items = 0;
                    }
                    variant_items += inner_items;
                } else {
                    items += inner_items;
                }
            }
            (Field::Str | Field::Bytes | Field::RepeatedStr, 2) => {
                let bytes = delimited(buf, &mut pos)?;
                // ASCII (most keys and values) is checked inline.
                if field != Field::Bytes && !bytes.is_ascii() && std::str::from_utf8(bytes).is_err()
                {
                    return Err(ScanError::NotUtf8 { field: number });
                }
                let len = bytes.len() as u64;
                // `reserve(len)` on an empty `Vec<u8>`: at least 8 bytes.
                add(total, if len == 0 { 0 } else { len.max(8) });
                if field == Field::RepeatedStr {
                    any_pushed = true;
                    count(&mut pushed, number, size_of::<String>(), fresh, total);
                }
            }
            (Field::RepeatedFixed, 2) => {
                // Packed: one 8-byte element per 8 bytes, doubled, plus 2 elements
                // for the first push.
                let len = delimited(buf, &mut pos)?.len() as u64;
                if !len.is_multiple_of(8) {
                    return Err(ScanError::BadPacked { field: number });
                }
                add(total, 2 * (len + 2 * SCALAR_ELEMENT as u64));
            }
            (Field::RepeatedScalar, 2) => {
                // Packed: at most one element per byte (varints), each 8 bytes and
                // doubled, plus 2 elements for the first push.
                let packed = delimited(buf, &mut pos)?;
                let mut at = 0;
                while at < packed.len() {
                    varint(packed, &mut at).map_err(|_| ScanError::BadPacked { field: number })?;
                }
                add(total, 2 * SCALAR_ELEMENT as u64 * (packed.len() as u64 + 2));
            }
            (Field::RepeatedFixed, 1) | (Field::RepeatedScalar, 0) => {
                skip(buf, &mut pos, wire, number, depth)?;
                add(total, 2 * SCALAR_ELEMENT as u64 * 3);
            }
            (Field::Varint, 0) => {
                varint(buf, &mut pos)?;
            }
            (Field::Fixed64, 1) | (Field::Fixed32, 5) => {
                let width = if wire == 1 { 8 } else { 4 };
                pos = pos
                    .checked_add(width)
                    .filter(|&end| end <= buf.len())
                    .ok_or(ScanError::Truncated)?;
            }
            (Field::Unknown, _) => skip(buf, &mut pos, wire, number, depth)?,
            _ => {
                // prost refuses an invalid wire type (6, 7) before it looks at the
                // field; `skip` says so.
                if wire > 5 {
                    return Err(ScanError::BadKey);
                }
                return Err(ScanError::WrongWireType { field: number });
            }
        }
    }
    if ty == Ty::Metric {
        items += variant_items;
    }
    if fresh && any_pushed {
        for (number, &n) in pushed.iter().enumerate() {
            if n > 0 {
                let element = match ty.field(number as u64) {
                    Field::Msg(t) => t.size(),
                    _ => size_of::<String>(),
                };
                add(total, pushed_capacity(n).saturating_mul(element as u64));
            }
        }
    }
    Ok(items)
}

/// Counts one element of `element` bytes pushed into the repeated field
/// `number`: in a fresh message, tallied for the capacity at the end; otherwise 2
/// elements, and 2 more for the first in this part (for a field number past the
/// tally, 4 each).
fn count(pushed: &mut [u64; 16], number: u64, element: usize, fresh: bool, total: &mut u64) {
    let element = element as u64;
    match pushed.get_mut(number as usize) {
        Some(n) => {
            if !fresh {
                let extra = if *n == 0 { 2 * element } else { 0 };
                *total = total.saturating_add(2 * element + extra);
            }
            *n += 1;
        }
        None => *total = total.saturating_add(4 * element),
    }
}

/// The largest struct among the OTLP message types.
fn largest_struct() -> usize {
    ALL.iter().map(|t| t.size()).max().unwrap_or(0)
}

/// The largest cost of one message among the OTLP message types.
fn largest_cost() -> u64 {
    ALL.iter().map(|t| t.cost()).max().unwrap_or(0)
}

/// The costliest of `types`.
fn costliest(types: &[Ty]) -> Option<Ty> {
    types.iter().copied().max_by_key(|t| t.cost())
}

/// The highest field number any OTLP message type declares.
const MAX_FIELD: usize = 16;

/// [`Ty::declared_field`] of every type and number, indexed by `Ty as usize`: the scan
/// looks fields up instead of matching on every key.
static FIELDS: [[Field; MAX_FIELD + 1]; ALL.len()] = {
    let mut table = [[Field::Unknown; MAX_FIELD + 1]; ALL.len()];
    let mut t = 0;
    while t < ALL.len() {
        let mut n = 0;
        while n <= MAX_FIELD {
            table[ALL[t] as usize][n] = ALL[t].declared_field(n as u64);
            n += 1;
        }
        t += 1;
    }
    table
};

const ALL: [Ty; 34] = [
    Ty::TraceRequest,
    Ty::MetricsRequest,
    Ty::LogsRequest,
    Ty::Resource,
    Ty::Scope,
    Ty::EntityRef,
    Ty::KeyValue,
    Ty::AnyValue,
    Ty::ArrayValue,
    Ty::KeyValueList,
    Ty::ResourceSpans,
    Ty::ScopeSpans,
    Ty::Span,
    Ty::Event,
    Ty::Link,
    Ty::Status,
    Ty::ResourceMetrics,
    Ty::ScopeMetrics,
    Ty::Metric,
    Ty::Gauge,
    Ty::Sum,
    Ty::Histogram,
    Ty::ExponentialHistogram,
    Ty::Summary,
    Ty::NumberDataPoint,
    Ty::HistogramDataPoint,
    Ty::ExponentialHistogramDataPoint,
    Ty::Buckets,
    Ty::SummaryDataPoint,
    Ty::ValueAtQuantile,
    Ty::Exemplar,
    Ty::ResourceLogs,
    Ty::ScopeLogs,
    Ty::LogRecord,
];

/// The struct an OTLP/JSON object under `key` decodes to, where the key says
/// (`None`: the largest of all, as for an unknown key).
fn json_type(key: &[u8], parent: Option<Ty>) -> Option<Ty> {
    Some(match (key, parent) {
        (b"dataPoints", Some(Ty::Gauge | Ty::Sum)) => Ty::NumberDataPoint,
        (b"dataPoints", Some(Ty::Histogram)) => Ty::HistogramDataPoint,
        (b"dataPoints", Some(Ty::ExponentialHistogram)) => Ty::ExponentialHistogramDataPoint,
        (b"dataPoints", Some(Ty::Summary)) => Ty::SummaryDataPoint,
        (b"values", Some(Ty::ArrayValue)) => Ty::AnyValue,
        (b"values", Some(Ty::KeyValueList)) => Ty::KeyValue,
        (key, _) => return json_key_type(key),
    })
}

/// The struct an object under `key` decodes to, whatever its parent.
fn json_key_type(key: &[u8]) -> Option<Ty> {
    Some(match key {
        b"resourceSpans" => Ty::ResourceSpans,
        b"resourceMetrics" => Ty::ResourceMetrics,
        b"resourceLogs" => Ty::ResourceLogs,
        b"resource" => Ty::Resource,
        b"scope" => Ty::Scope,
        b"scopeSpans" => Ty::ScopeSpans,
        b"scopeMetrics" => Ty::ScopeMetrics,
        b"scopeLogs" => Ty::ScopeLogs,
        b"spans" => Ty::Span,
        b"events" => Ty::Event,
        b"links" => Ty::Link,
        b"status" => Ty::Status,
        b"metrics" => Ty::Metric,
        b"logRecords" => Ty::LogRecord,
        b"entityRefs" => Ty::EntityRef,
        b"attributes" | b"filteredAttributes" | b"metadata" => Ty::KeyValue,
        b"value" | b"body" => Ty::AnyValue,
        b"arrayValue" => Ty::ArrayValue,
        b"kvlistValue" => Ty::KeyValueList,
        // An `arrayValue`'s are AnyValues, a `kvlistValue`'s KeyValues.
        b"values" => return costliest(&[Ty::AnyValue, Ty::KeyValue]),
        b"gauge" => Ty::Gauge,
        b"sum" => Ty::Sum,
        b"histogram" => Ty::Histogram,
        b"exponentialHistogram" => Ty::ExponentialHistogram,
        b"summary" => Ty::Summary,
        b"dataPoints" => {
            return costliest(&[
                Ty::NumberDataPoint,
                Ty::HistogramDataPoint,
                Ty::ExponentialHistogramDataPoint,
                Ty::SummaryDataPoint,
            ]);
        }
        b"exemplars" => Ty::Exemplar,
        b"positive" | b"negative" => Ty::Buckets,
        b"quantileValues" => Ty::ValueAtQuantile,
        _ => return None,
    })
}

/// The upper bound, in bytes, of the memory an OTLP/JSON request of type `ty`
/// takes once decoded (the body not included), from one pass over its bytes that
/// tracks strings and the key each object or array stands under.
///
/// Why it bounds: serde builds one struct per JSON object, at most the size of the
/// type its key names (the largest of all for an unknown key or beyond the depth
/// tracked), counted twice (it may be a `Vec` element) plus its slack as for
/// protobuf; each array is a `Vec` counted four element sizes for its first push,
/// and each further element is preceded by a comma, counted 16 bytes (an 8-byte
/// number, doubled; object elements are counted by their `{`). Strings, hex ids and
/// base64 bytes decode to at most their length in the body plus 8, counted per
/// string. Numbers and literals live inside their struct. Everything serde builds
/// for a field it then drops (an unknown key's value, a repeated key) is counted
/// too, so the bound only over-estimates.
pub(crate) fn json_bound(body: &[u8], ty: Ty) -> u64 {
    // The object or array each open bracket stands for: the type its elements (an
    // array) or it (an object) decode to; `None` when unknown.
    let mut stack: Vec<Option<Ty>> = Vec::with_capacity(JSON_DEPTH_LIMIT as usize + 1);
    let (largest, largest_cost) = (largest_struct(), largest_cost());
    let mut total = 0u64;
    let add = |total: &mut u64, n: u64| *total = total.saturating_add(n);
    let mut last_string: &[u8] = &[];
    let mut after_colon = false;
    let mut key: &[u8] = &[];
    let mut i = 0usize;
    let mut first = true;
    while i < body.len() {
        let b = body[i];
        match b {
            b'"' => {
                // Walk to the closing quote, stepping over escapes.
                let start = i + 1;
                let mut j = start;
                while j < body.len() && body[j] != b'"' {
                    j += if body[j] == b'\\' { 2 } else { 1 };
                }
                let end = j.min(body.len());
                last_string = &body[start..end];
                add(&mut total, (end - start) as u64 + 8);
                i = j + 1;
                after_colon = false;
                continue;
            }
            b':' => {
                key = last_string;
                after_colon = true;
            }
            b'{' | b'[' => {
                let own = if first {
                    Some(ty)
                } else if after_colon {
                    json_type(key, stack.last().copied().flatten())
                } else {
                    // An array element: the array's element type.
                    stack.last().copied().flatten()
                };
                first = false;
                if b == b'{' {
                    add(&mut total, own.map_or(largest_cost, Ty::cost));
                } else {
                    let element = own.map_or(largest, Ty::size).max(SCALAR_ELEMENT);
                    add(&mut total, 4 * element as u64);
                }
                if stack.len() <= JSON_DEPTH_LIMIT as usize {
                    stack.push(own);
                }
                after_colon = false;
            }
            b'}' | b']' => {
                stack.pop();
                after_colon = false;
            }
            b',' => {
                add(&mut total, 2 * SCALAR_ELEMENT as u64);
                after_colon = false;
            }
            b' ' | b'\t' | b'\n' | b'\r' => {}
            _ => after_colon = false,
        }
        i += 1;
    }
    total
}

/// The smallest hard cap on a request's decoded bound, in bytes.
pub(crate) const MIN_DECODED_CAP: u64 = 64 * 1024 * 1024;

/// How many times a transport's size limit its decoded cap is, at least.
pub(crate) const DECODED_CAP_FACTOR: u64 = 16;

/// The hard cap on the decoded bound of a request on a transport whose largest
/// (decompressed) request is `max_encoded` bytes: 16 × that, and at least 64 MiB.
/// Real OTLP is bounded by under 8× its protobuf size and under 12× its JSON size
/// (measured in the tests; see the README's Limits), so only requests built to
/// amplify meet the cap.
pub(crate) fn decoded_cap(max_encoded: usize) -> u64 {
    (max_encoded as u64)
        .saturating_mul(DECODED_CAP_FACTOR)
        .max(MIN_DECODED_CAP)
}

/// Refuses a request whose decoded bound passes `cap`.
pub(crate) fn check_cap(bound: u64, cap: u64, encoded: usize) -> Result<(), Refusal> {
    if bound <= cap {
        return Ok(());
    }
    const MIB: u64 = 1024 * 1024;
    Err(Refusal::decodes_too_large(format!(
        "request decodes to more than {} MiB: its {encoded} bytes would take up to {} MiB once decoded",
        cap / MIB,
        bound.div_ceil(MIB)
    )))
}

/// The walk of a protobuf request (see [`protobuf_scan`]), refused when its decoded
/// bound passes `cap` or when the body is malformed.
pub(crate) fn protobuf_within(body: &[u8], ty: Ty, cap: u64) -> Result<Scanned, Refusal> {
    let scanned = protobuf_scan(body, ty)
        .map_err(|e| Refusal::bad_request(format!("cannot decode protobuf request: {e}")))?;
    check_cap(scanned.bound, cap, body.len())?;
    Ok(scanned)
}

/// The decoded bound of an OTLP/JSON request, refused when it passes `cap`.
pub(crate) fn json_within(body: &[u8], ty: Ty, cap: u64) -> Result<u64, Refusal> {
    let bound = json_bound(body, ty);
    check_cap(bound, cap, body.len())?;
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use stratus_testkit::otlp::{
        array, event, exp_histogram, exp_histogram_point, gauge, histogram, histogram_point,
        kvlist, link, log, logs, metrics, number_point, scope, span, sum, summary, summary_point,
        traces,
    };

    use opentelemetry_proto::tonic::common::v1::any_value;
    use opentelemetry_proto::tonic::metrics::v1::metric;

    /// What a decoded value holds on the heap, from its capacities: exactly what
    /// decoding allocated (a global allocator's count would also see the other
    /// test threads).
    trait Heap {
        fn heap(&self) -> u64;
    }

    impl Heap for String {
        fn heap(&self) -> u64 {
            self.capacity() as u64
        }
    }

    impl Heap for u64 {
        fn heap(&self) -> u64 {
            0
        }
    }

    impl Heap for f64 {
        fn heap(&self) -> u64 {
            0
        }
    }

    impl<T: Heap> Heap for Vec<T> {
        fn heap(&self) -> u64 {
            (self.capacity() * size_of::<T>()) as u64 + self.iter().map(Heap::heap).sum::<u64>()
        }
    }

    impl<T: Heap> Heap for Option<T> {
        fn heap(&self) -> u64 {
            self.as_ref().map_or(0, Heap::heap)
        }
    }

    /// `Vec<u8>` is not `Vec<T: Heap>` (no `Heap for u8`, to keep bytes apart).
    fn bytes(b: &Vec<u8>) -> u64 {
        b.capacity() as u64
    }

    macro_rules! heap {
        ($($t:ty => |$s:ident| $e:expr;)*) => {$(
            impl Heap for $t {
                fn heap(&self) -> u64 {
                    let $s = self;
                    $e
                }
            }
        )*};
    }

    heap! {
        ExportTraceServiceRequest => |v| v.resource_spans.heap();
        ExportMetricsServiceRequest => |v| v.resource_metrics.heap();
        ExportLogsServiceRequest => |v| v.resource_logs.heap();
        Resource => |v| v.attributes.heap() + v.entity_refs.heap();
        EntityRef => |v| v.schema_url.heap() + v.r#type.heap() + v.id_keys.heap() + v.description_keys.heap();
        InstrumentationScope => |v| v.name.heap() + v.version.heap() + v.attributes.heap();
        KeyValue => |v| v.key.heap() + v.value.heap();
        AnyValue => |v| match &v.value {
            Some(any_value::Value::StringValue(s)) => s.heap(),
            Some(any_value::Value::BytesValue(b)) => bytes(b),
            Some(any_value::Value::ArrayValue(a)) => a.values.heap(),
            Some(any_value::Value::KvlistValue(l)) => l.values.heap(),
            _ => 0,
        };
        ResourceSpans => |v| v.resource.heap() + v.scope_spans.heap() + v.schema_url.heap();
        ScopeSpans => |v| v.scope.heap() + v.spans.heap() + v.schema_url.heap();
        Span => |v| bytes(&v.trace_id) + bytes(&v.span_id) + v.trace_state.heap()
            + bytes(&v.parent_span_id) + v.name.heap() + v.attributes.heap()
            + v.events.heap() + v.links.heap() + v.status.heap();
        Event => |v| v.name.heap() + v.attributes.heap();
        Link => |v| bytes(&v.trace_id) + bytes(&v.span_id) + v.trace_state.heap() + v.attributes.heap();
        Status => |v| v.message.heap();
        ResourceMetrics => |v| v.resource.heap() + v.scope_metrics.heap() + v.schema_url.heap();
        ScopeMetrics => |v| v.scope.heap() + v.metrics.heap() + v.schema_url.heap();
        Metric => |v| v.name.heap() + v.description.heap() + v.unit.heap() + v.metadata.heap()
            + match &v.data {
                Some(metric::Data::Gauge(g)) => g.data_points.heap(),
                Some(metric::Data::Sum(s)) => s.data_points.heap(),
                Some(metric::Data::Histogram(h)) => h.data_points.heap(),
                Some(metric::Data::ExponentialHistogram(h)) => h.data_points.heap(),
                Some(metric::Data::Summary(s)) => s.data_points.heap(),
                None => 0,
            };
        NumberDataPoint => |v| v.attributes.heap() + v.exemplars.heap();
        HistogramDataPoint => |v| v.attributes.heap() + v.bucket_counts.heap()
            + v.explicit_bounds.heap() + v.exemplars.heap();
        ExponentialHistogramDataPoint => |v| v.attributes.heap() + v.positive.heap()
            + v.negative.heap() + v.exemplars.heap();
        Buckets => |v| v.bucket_counts.heap();
        SummaryDataPoint => |v| v.attributes.heap() + v.quantile_values.heap();
        ValueAtQuantile => |_v| 0;
        Exemplar => |v| v.filtered_attributes.heap() + bytes(&v.span_id) + bytes(&v.trace_id);
        ResourceLogs => |v| v.resource.heap() + v.scope_logs.heap() + v.schema_url.heap();
        ScopeLogs => |v| v.scope.heap() + v.log_records.heap() + v.schema_url.heap();
        LogRecord => |v| v.severity_text.heap() + v.body.heap() + v.attributes.heap()
            + bytes(&v.trace_id) + bytes(&v.span_id) + v.event_name.heap();
    }

    /// What a decoded request takes: its struct and its heap.
    fn measured<R: Heap>(decode: impl Fn() -> R) -> u64 {
        let decoded = decode();
        size_of::<R>() as u64 + decoded.heap()
    }

    /// Checks the bound of `request` in both encodings is at least what it decodes
    /// to; returns the ratios bound / encoded length (protobuf, JSON).
    fn check<R: Message + Default + Serialize + DeserializeOwned + Heap>(
        request: &R,
        ty: Ty,
        what: &str,
    ) -> (f64, f64) {
        let proto = request.encode_to_vec();
        let bound = protobuf_bound(&proto, ty).unwrap();
        let actual = measured(|| R::decode(proto.as_slice()).unwrap());
        assert!(
            bound >= actual,
            "{what} protobuf: bound {bound} < decoded {actual}"
        );
        let json = serde_json::to_vec(request).unwrap();
        let json_bound = json_bound(&json, ty);
        let json_actual = measured(|| serde_json::from_slice::<R>(&json).unwrap());
        assert!(
            json_bound >= json_actual,
            "{what} JSON: bound {json_bound} < decoded {json_actual}"
        );
        let ratio = |b: u64, n: usize| b as f64 / n.max(1) as f64;
        println!(
            "{what}: protobuf {} B, decoded {actual} B, bound {bound} B ({:.2}x); JSON {} B, decoded {json_actual} B, bound {json_bound} B ({:.2}x)",
            proto.len(),
            ratio(bound, proto.len()),
            json.len(),
            ratio(json_bound, json.len()),
        );
        (ratio(bound, proto.len()), ratio(json_bound, json.len()))
    }

    fn realistic_traces(n: usize) -> ExportTraceServiceRequest {
        traces()
            .resource([("service.name", "checkout"), ("host.name", "web-17")])
            .scope(scope("io.opentelemetry.http").version("1.2.3"))
            .spans((0..n).map(|i| {
                let mut s = span(format!("GET /api/orders/{i}"))
                    .start(1_700_000_000_000_000_000 + i as u64)
                    .end(1_700_000_000_000_500_000 + i as u64)
                    .attr("http.method", "GET")
                    .attr("http.status_code", 200)
                    .attr(
                        "http.url",
                        format!("https://shop.example.com/api/orders/{i}"),
                    )
                    .attr("net.peer.port", 44_312)
                    .attr("retry", false);
                if i % 3 == 0 {
                    s = s
                        .event(event("exception").attr("exception.type", "Timeout"))
                        .link(link([7u8; 16], [9u8; 8]).attr("k", "v"));
                }
                if i % 10 == 0 {
                    s = s.error("deadline exceeded");
                } else {
                    s = s.ok();
                }
                s
            }))
            .request()
    }

    fn realistic_metrics(n: usize) -> ExportMetricsServiceRequest {
        let points = |i: usize| {
            number_point(i as f64 * 1.5)
                .attr("host", format!("web-{i}"))
                .attr("region", "eu-west-1")
                .time(1_700_000_000_000_000_000)
        };
        metrics()
            .resource([("service.name", "checkout")])
            .scope(scope("meter").version("1"))
            .metric(
                gauge("cpu.utilization")
                    .unit("1")
                    .points((0..n).map(points)),
            )
            .metric(sum("requests").unit("1").points((0..n).map(points)))
            .metric(
                (0..n)
                    .map(|i| {
                        histogram_point((0..16).map(|b| (b * i) as u64 % 97))
                            .bounds((0..15).map(|b| f64::from(b) * 10.0))
                            .attr("route", "/api/orders")
                    })
                    .fold(histogram("latency").unit("ms"), |m, p| m.point(p)),
            )
            .metric(
                (0..n)
                    .map(|i| {
                        exp_histogram_point(3)
                            .positive(-2, (0..20).map(|b| (b + i) as u64))
                            .negative(0, [1, 2, 3])
                            .attr("route", "/api/orders")
                    })
                    .fold(exp_histogram("latency.exp"), |m, p| m.point(p)),
            )
            .metric(
                (0..n)
                    .map(|i| {
                        summary_point(10, i as f64)
                            .quantile(0.5, 1.0)
                            .quantile(0.99, 9.0)
                            .attr("gen", "young")
                    })
                    .fold(summary("gc"), |m, p| m.point(p)),
            )
            .request()
    }

    fn realistic_logs(n: usize) -> ExportLogsServiceRequest {
        logs()
            .resource([("service.name", "checkout")])
            .scope(scope("logger"))
            .records((0..n).map(|i| {
                log(format!("order {i} placed by customer {} in 35 ms", i * 7))
                    .time(1_700_000_000_000_000_000)
                    .severity_text("INFO")
                    .trace([1u8; 16], [2u8; 8])
                    .attr("order.id", i)
                    .attr("customer.tier", "gold")
                    .attr("items", array([1, 2, 3]))
                    .attr("ctx", kvlist([("a", "b")]))
            }))
            .request()
    }

    /// The ratios behind the cap (printed; the README's Limits cite them): real
    /// data is bounded by at most 8× its protobuf and 12× its JSON size, under the
    /// 16× cap.
    #[test]
    fn bound_covers_realistic_requests_with_room_under_the_cap() {
        for n in [1, 10, 1000] {
            let ratios = [
                check(
                    &realistic_traces(n),
                    Ty::TraceRequest,
                    &format!("{n} spans"),
                ),
                check(
                    &realistic_metrics(n),
                    Ty::MetricsRequest,
                    &format!("{n}×5 points"),
                ),
                check(&realistic_logs(n), Ty::LogsRequest, &format!("{n} logs")),
            ];
            if n == 1000 {
                for (proto, json) in ratios {
                    assert!(proto < 8.0 && json < 12.0, "{proto} {json}");
                }
            }
        }
    }

    #[test]
    fn bound_covers_empty_and_hostile_shapes() {
        // An empty request is exactly its struct.
        let empty = ExportTraceServiceRequest::default();
        assert_eq!(
            protobuf_bound(&[], Ty::TraceRequest).unwrap(),
            size_of::<ExportTraceServiceRequest>() as u64
        );
        check(&empty, Ty::TraceRequest, "empty");
        // Empty spans, data points, log records and attributes: the amplifying
        // shapes; the bound is at least what they decode to, and close to it.
        let spans = traces().spans((0..5000).map(|_| span(""))).request();
        let mut spans = spans;
        for s in &mut spans.resource_spans[0].scope_spans[0].spans {
            *s = Span::default();
        }
        let proto = spans.encode_to_vec();
        let bound = protobuf_bound(&proto, Ty::TraceRequest).unwrap();
        let actual = measured(|| ExportTraceServiceRequest::decode(proto.as_slice()).unwrap());
        assert!(
            bound >= actual && bound <= actual + actual / 4,
            "{bound} {actual}"
        );
        check(&spans, Ty::TraceRequest, "5000 empty spans");
        let points = metrics()
            .metric(gauge("g").points((0..5000).map(|_| number_point(0i64))))
            .request();
        check(&points, Ty::MetricsRequest, "5000 zero points");
        let mut records = logs().records((0..5000).map(|_| log(""))).request();
        for r in &mut records.resource_logs[0].scope_logs[0].log_records {
            *r = LogRecord::default();
        }
        check(&records, Ty::LogsRequest, "5000 empty log records");
        let attrs = traces()
            .span((0..5000).fold(span("s"), |s, i| s.attr(format!("{i}"), "")))
            .request();
        check(&attrs, Ty::TraceRequest, "5000 attributes");
    }

    /// `n` empty spans in one scope, as raw protobuf (2 bytes each).
    fn empty_spans(n: usize) -> Vec<u8> {
        fn field(out: &mut Vec<u8>, tag: u8, len: usize) {
            out.push(tag);
            let mut n = len;
            while n >= 0x80 {
                out.push((n as u8) | 0x80);
                n >>= 7;
            }
            out.push(n as u8);
        }
        let spans = [0x12u8, 0x00].repeat(n); // ScopeSpans.spans = 2, empty
        let mut resource = Vec::new();
        field(&mut resource, 0x12, spans.len()); // ResourceSpans.scope_spans = 2
        let mut req = Vec::new();
        field(&mut req, 0x0a, resource.len() + spans.len());
        req.extend_from_slice(&resource);
        req.extend_from_slice(&spans);
        req
    }

    #[test]
    fn amplifying_bodies_are_refused_by_the_cap() {
        let body = empty_spans(10 << 20); // 20 MiB
        let cap = decoded_cap(20 << 20);
        let bound = protobuf_bound(&body, Ty::TraceRequest).unwrap();
        assert!(bound > 10 * size_of::<Span>() as u64 * (10 << 20) / 10);
        let refusal = protobuf_within(&body, Ty::TraceRequest, cap).unwrap_err();
        assert_eq!(refusal.code, tonic::Code::ResourceExhausted);
        assert_eq!(refusal.http, http::StatusCode::PAYLOAD_TOO_LARGE);
        assert!(
            refusal
                .message
                .starts_with("request decodes to more than 320 MiB"),
            "{}",
            refusal.message
        );
        // The same as JSON: `{}` per span.
        let json = format!(
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{}{{}}]}}]}}]}}"#,
            "{},".repeat(7 << 20)
        );
        let refusal = json_within(json.as_bytes(), Ty::TraceRequest, cap).unwrap_err();
        assert_eq!(refusal.http, http::StatusCode::PAYLOAD_TOO_LARGE);
        // Empty attributes and empty histogram data points.
        let kvs = span_with_empty_attributes(2 << 20);
        assert!(protobuf_within(&kvs, Ty::TraceRequest, decoded_cap(4 << 20)).is_err());
    }

    fn span_with_empty_attributes(n: usize) -> Vec<u8> {
        let attrs = [0x4au8, 0x00].repeat(n); // Span.attributes = 9, empty
        // Built back to front: span, scope spans, resource spans, request.
        let mut body = attrs;
        for tag in [0x12u8, 0x12, 0x0a] {
            let mut framed = vec![tag];
            let mut len = body.len();
            while len >= 0x80 {
                framed.push((len as u8) | 0x80);
                len >>= 7;
            }
            framed.push(len as u8);
            framed.extend_from_slice(&body);
            body = framed;
        }
        body
    }

    #[test]
    fn depth_is_bounded_as_prost_bounds_it() {
        // A value nested 45 levels decodes; 60 is past prost's limit of 100 messages.
        let ok = crate::hostile::span_request(b"s", &crate::hostile::nested_any_value(45));
        assert!(protobuf_bound(&ok, Ty::TraceRequest).is_ok());
        assert!(ExportTraceServiceRequest::decode(ok.as_slice()).is_ok());
        let deep = crate::hostile::span_request(b"s", &crate::hostile::nested_any_value(60));
        assert_eq!(
            protobuf_bound(&deep, Ty::TraceRequest),
            Err(ScanError::TooDeep)
        );
        assert!(ExportTraceServiceRequest::decode(deep.as_slice()).is_err());
        // A million levels: refused at the limit, without overflowing the stack.
        let abyss =
            crate::hostile::span_request(b"s", &crate::hostile::nested_any_value(1_000_000));
        assert_eq!(
            protobuf_bound(&abyss, Ty::TraceRequest),
            Err(ScanError::TooDeep)
        );
        // JSON nesting only raises the bound; serde_json refuses it.
        let json = crate::hostile::nested_json(100_000);
        assert!(json_bound(json.as_bytes(), Ty::TraceRequest) > json.len() as u64);
    }

    #[test]
    fn malformed_bodies_are_refused_where_prost_refuses_them() {
        let good = realistic_traces(3).encode_to_vec();
        for cut in [1, good.len() / 2, good.len() - 1] {
            let truncated = &good[..cut];
            assert!(
                protobuf_bound(truncated, Ty::TraceRequest).is_err(),
                "{cut}"
            );
            assert!(
                ExportTraceServiceRequest::decode(truncated).is_err(),
                "{cut}"
            );
        }
        // ResourceSpans as a varint.
        assert_eq!(
            protobuf_bound(&[0x08, 0x01], Ty::TraceRequest),
            Err(ScanError::WrongWireType { field: 1 })
        );
        assert!(ExportTraceServiceRequest::decode(&[0x08u8, 0x01][..]).is_err());
        // Field 0, wire type 7, an 11-byte varint.
        assert_eq!(
            protobuf_bound(&[0x00], Ty::LogsRequest),
            Err(ScanError::BadKey)
        );
        assert_eq!(
            protobuf_bound(&[0x17], Ty::LogsRequest),
            Err(ScanError::BadKey)
        );
        assert_eq!(
            protobuf_bound(
                &[
                    0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
                ],
                Ty::LogsRequest
            ),
            Err(ScanError::BadVarint)
        );
        // Unknown fields, groups included, are skipped as prost skips them.
        let mut unknown = vec![0xa3u8, 0x01, 0x08, 0x05, 0xa4, 0x01]; // group 20 { 1: 5 }
        unknown.extend_from_slice(&good);
        assert!(ExportTraceServiceRequest::decode(unknown.as_slice()).is_ok());
        assert!(protobuf_bound(&unknown, Ty::TraceRequest).is_ok());
    }

    /// A small xorshift generator: the mutations are the same on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    /// One random change to a body: a byte replaced (by an edge value or any), a
    /// byte inserted or removed, the body cut short, or a slice of it repeated.
    fn mutate(rng: &mut Rng, body: &[u8]) -> Vec<u8> {
        let mut out = body.to_vec();
        if out.is_empty() {
            out.push(rng.next() as u8);
            return out;
        }
        let at = rng.below(out.len());
        const EDGES: [u8; 8] = [0x00, 0x01, 0x02, 0x7f, 0x80, 0xff, 0xc3, 0xe2];
        match rng.below(6) {
            0 => out[at] = EDGES[rng.below(EDGES.len())],
            1 => out[at] = rng.next() as u8,
            2 => out.insert(at, rng.next() as u8),
            3 => {
                out.remove(at);
            }
            4 => out.truncate(at),
            _ => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                let slice = out[at..end].to_vec();
                out.splice(at..at, slice);
            }
        }
        out
    }

    /// Whatever the bytes, the scan accepts a body exactly when prost decodes it, and
    /// counts the items prost's decoding holds: the receiver hands on undecoded only
    /// what every later stage can decode.
    fn scan_agrees_with_prost<R: Message + Default + ExportRequestItems>(
        ty: Ty,
        valid: &R,
        rounds: usize,
        seed: u64,
    ) {
        let body = valid.encode_to_vec();
        let mut rng = Rng(seed);
        let (mut accepted, mut refused) = (0, 0);
        for round in 0..rounds {
            let mut bytes = mutate(&mut rng, &body);
            // Some rounds stack a second and third change.
            for _ in 0..rng.below(3) {
                bytes = mutate(&mut rng, &bytes);
            }
            let scanned = protobuf_scan(&bytes, ty);
            match R::decode(bytes.as_slice()) {
                Ok(decoded) => {
                    let scanned = scanned.unwrap_or_else(|e| {
                        panic!("round {round}: prost decodes it, the scan refused it: {e}")
                    });
                    assert_eq!(scanned.items, decoded.items(), "round {round}");
                    accepted += 1;
                }
                Err(e) => {
                    assert!(
                        scanned.is_err(),
                        "round {round}: prost refuses it ({e}), the scan accepted it"
                    );
                    refused += 1;
                }
            }
        }
        // Both outcomes were exercised.
        assert!(
            accepted > rounds / 20 && refused > rounds / 20,
            "{accepted} {refused}"
        );
    }

    trait ExportRequestItems {
        fn items(&self) -> usize;
    }

    impl ExportRequestItems for ExportTraceServiceRequest {
        fn items(&self) -> usize {
            stratus_core::Payload::Traces(self.resource_spans.clone()).item_count()
        }
    }

    impl ExportRequestItems for ExportMetricsServiceRequest {
        fn items(&self) -> usize {
            stratus_core::Payload::Metrics(self.resource_metrics.clone()).item_count()
        }
    }

    impl ExportRequestItems for ExportLogsServiceRequest {
        fn items(&self) -> usize {
            stratus_core::Payload::Logs(self.resource_logs.clone()).item_count()
        }
    }

    #[test]
    fn the_scan_refuses_what_prost_refuses_and_counts_what_it_decodes() {
        scan_agrees_with_prost(Ty::TraceRequest, &realistic_traces(4), 20000, 0x9e37_79b9);
        scan_agrees_with_prost(
            Ty::MetricsRequest,
            &realistic_metrics(2),
            20000,
            0x85eb_ca6b,
        );
        scan_agrees_with_prost(Ty::LogsRequest, &realistic_logs(4), 20000, 0xc2b2_ae35);
    }

    #[test]
    fn the_field_table_is_the_declared_fields() {
        for (i, ty) in ALL.iter().enumerate() {
            assert_eq!(*ty as usize, i, "{ty:?}");
            for n in 0..40 {
                assert_eq!(ty.field(n), ty.declared_field(n), "{ty:?} field {n}");
            }
        }
    }

    #[test]
    fn strings_must_be_utf8_and_bytes_need_not_be() {
        let mut req = realistic_traces(1);
        let span = &mut req.resource_spans[0].scope_spans[0].spans[0];
        span.span_id = vec![0xff, 0xfe, 0, 1, 2, 3, 4, 5];
        let ok = req.encode_to_vec();
        assert_eq!(protobuf_scan(&ok, Ty::TraceRequest).map(|s| s.items), Ok(1));
        // The span's name, made invalid UTF-8 in place (same length).
        let name = b"GET /api/orders/0";
        let at = ok.windows(name.len()).position(|w| w == name).unwrap();
        let mut bad = ok.clone();
        bad[at] = 0xff;
        assert!(ExportTraceServiceRequest::decode(bad.as_slice()).is_err());
        assert_eq!(
            protobuf_scan(&bad, Ty::TraceRequest),
            Err(ScanError::NotUtf8 { field: 5 })
        );
    }

    #[test]
    fn a_metric_counts_the_points_of_its_last_data_variant_as_prost_keeps_it() {
        // Metric { gauge: 2 points, sum: 1 point }: prost keeps the sum only.
        let point = |v: f64| NumberDataPoint {
            value: Some(
                opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsDouble(v),
            ),
            ..Default::default()
        };
        let gauge = metric::Data::Gauge(Gauge {
            data_points: vec![point(1.0), point(2.0)],
        });
        let sum = metric::Data::Sum(Sum {
            data_points: vec![point(3.0)],
            ..Default::default()
        });
        let one = |data| {
            Metric {
                name: "m".into(),
                data: Some(data),
                ..Default::default()
            }
            .encode_to_vec()
        };
        let (g, s) = (one(gauge.clone()), one(sum));
        // The two encodings of one metric, concatenated: prost merges them.
        let metric_bytes = |parts: &[&Vec<u8>]| {
            parts
                .iter()
                .flat_map(|p| p.iter().copied())
                .collect::<Vec<u8>>()
        };
        for (parts, want) in [
            (vec![&g, &s], 1),
            (vec![&s, &g], 2),
            (vec![&g, &g], 4),
            (vec![&g, &s, &g], 2),
        ] {
            let m = metric_bytes(&parts);
            let request = ExportMetricsServiceRequest {
                resource_metrics: vec![ResourceMetrics {
                    scope_metrics: vec![ScopeMetrics {
                        metrics: vec![Metric::decode(m.as_slice()).unwrap()],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            };
            assert_eq!(request.items(), want);
            // The raw concatenation inside a ScopeMetrics, as a client could send it.
            let mut scope = Vec::new();
            prost::encoding::encode_key(2, prost::encoding::WireType::LengthDelimited, &mut scope);
            prost::encoding::encode_varint(m.len() as u64, &mut scope);
            scope.extend_from_slice(&m);
            let mut resource = Vec::new();
            prost::encoding::bytes::encode(2, &scope, &mut resource);
            let mut body = Vec::new();
            prost::encoding::bytes::encode(1, &resource, &mut body);
            let decoded = ExportMetricsServiceRequest::decode(body.as_slice()).unwrap();
            assert_eq!(decoded.items(), want);
            assert_eq!(
                protobuf_scan(&body, Ty::MetricsRequest).map(|s| s.items),
                Ok(want)
            );
        }
    }
}
