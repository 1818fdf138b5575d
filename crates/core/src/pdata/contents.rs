//! A batch's data, decoded or still in the OTLP encoding it arrived in.
//!
//! A receiver that checked a protobuf request's bytes (every field's wire type, every
//! string's UTF-8, the items it holds) hands the bytes down as they came. A stage that
//! only moves data (batch, queue, the `otlp` exporter, `nop`) moves those bytes and
//! never decodes them: batching concatenates requests, which protobuf defines as
//! appending their repeated resource lists, and the `otlp` exporter sends the
//! concatenation as its request. A stage that looks inside (a processor, a translating
//! exporter) decodes on first access through `Deref`, and a stage that changes the data
//! (`DerefMut`) decodes it and drops the bytes, which no longer match.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use bytes::Bytes;
use prost::Message;

use super::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest, Payload,
};
use crate::signal::Signal;

/// One batch of one signal: decoded, or the encoded export requests it arrived as.
///
/// Dereferences to the decoded [`Payload`], decoding on first access; the methods
/// defined here (counts, sizes, append, split, encode) work on the encoded form
/// without decoding it.
#[derive(Clone)]
pub struct Contents {
    signal: Signal,
    // Exactly one of `decoded` and `encoded` is set.
    /// The data, once changed (or built decoded).
    decoded: Option<Payload>,
    /// The requests as received, until the data is changed.
    encoded: Option<Encoded>,
    /// `encoded` decoded for shared access (`Deref`).
    cache: OnceLock<Payload>,
}

/// Export requests of one signal, each checked by its receiver, in order.
#[derive(Clone, Default)]
struct Encoded {
    parts: Vec<Bytes>,
    len: usize,
    items: usize,
}

impl Contents {
    /// A batch still in its encoding: `bytes` is one export request of `signal` holding
    /// `items` items, which prost decodes.
    ///
    /// The caller vouches for both: the OTLP receiver's scan checks every field of
    /// the request the way prost's decoder would before it calls this. A request that
    /// decodes to an error anyway is dropped with an error log when it is decoded.
    pub fn encoded(signal: Signal, bytes: Bytes, items: usize) -> Self {
        Contents {
            signal,
            decoded: None,
            encoded: Some(Encoded {
                len: bytes.len(),
                parts: vec![bytes],
                items,
            }),
            cache: OnceLock::new(),
        }
    }

    /// An empty batch of a signal.
    pub fn empty(signal: Signal) -> Self {
        Payload::empty(signal).into()
    }

    /// The batch's signal.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// Whether the data is still only in its received encoding (never decoded,
    /// never changed).
    pub fn is_encoded(&self) -> bool {
        self.decoded.is_none() && self.cache.get().is_none()
    }

    /// Spans, metric data points or log records in the batch.
    pub fn item_count(&self) -> usize {
        match &self.encoded {
            Some(e) => e.items,
            None => self.payload().item_count(),
        }
    }

    /// Whether the batch holds no resources at all.
    pub fn is_empty(&self) -> bool {
        match &self.encoded {
            Some(e) => e.len == 0,
            None => self.payload().is_empty(),
        }
    }

    /// The size of the batch encoded as one OTLP export request, in bytes.
    pub fn encoded_len(&self) -> usize {
        match &self.encoded {
            Some(e) => e.len,
            None => self.payload().encoded_len(),
        }
    }

    /// The batch as its signal's OTLP export request. Encoded data is the received
    /// bytes themselves (one request) or their concatenation (several), which
    /// protobuf decodes as one request holding every resource in order.
    pub fn encode_request(&self) -> Bytes {
        match &self.encoded {
            Some(e) => e.joined(),
            None => Bytes::from(self.payload().encode_request()),
        }
    }

    /// Appends the batch's export request (see [`Contents::encode_request`]) to `out`.
    pub fn write_request(&self, out: &mut Vec<u8>) {
        match &self.encoded {
            Some(e) => e.parts.iter().for_each(|p| out.extend_from_slice(p)),
            None => self.payload().write_request(out),
        }
    }

    /// Like [`Contents::encode_request`], consuming the data: decoded data is encoded
    /// by moving it into the request message.
    pub fn into_request(self) -> Bytes {
        match (self.encoded, self.decoded) {
            (Some(e), _) => e.joined(),
            (None, Some(p)) => encode_owned(p),
            (None, None) => Bytes::new(),
        }
    }

    /// The decoded payload, decoding it if it was not.
    pub fn into_payload(self) -> Payload {
        let signal = self.signal;
        match (self.decoded, self.cache.into_inner(), self.encoded) {
            (Some(p), _, _) | (None, Some(p), _) => p,
            (None, None, Some(e)) => e.decode(signal),
            (None, None, None) => Payload::empty(signal),
        }
    }

    /// Appends `other` (which must be of the same signal). Two encoded batches stay
    /// encoded (their parts are kept in order, nothing is copied); otherwise both are
    /// decoded. Returns `other` back if the signals differ.
    pub fn append(&mut self, other: Contents) -> Result<(), Contents> {
        if other.signal != self.signal {
            return Err(other);
        }
        if self.is_empty() {
            *self = other;
            return Ok(());
        }
        if let (Some(mine), Some(theirs)) = (&mut self.encoded, &other.encoded) {
            mine.len += theirs.len;
            mine.items += theirs.items;
            mine.parts.extend_from_slice(&theirs.parts);
            // What a read decoded before no longer holds all of it.
            self.cache = OnceLock::new();
            return Ok(());
        }
        let other = other.into_payload();
        // The signals are equal, so this cannot fail.
        let _ = self.deref_mut().append(other);
        Ok(())
    }

    /// Removes the first `n` items (spans, points, records) and returns them (see
    /// [`Payload::split_front`]). Taking every item keeps encoded data encoded;
    /// splitting inside it decodes it.
    pub fn split_front(&mut self, n: usize) -> Contents {
        if self.encoded.is_some() && n >= self.item_count() {
            return std::mem::replace(self, Contents::empty(self.signal));
        }
        self.deref_mut().split_front(n).into()
    }

    fn payload(&self) -> &Payload {
        match (&self.decoded, &self.encoded) {
            (Some(p), _) => p,
            (None, e) => self.cache.get_or_init(|| match e {
                Some(e) => e.decode(self.signal),
                None => Payload::empty(self.signal),
            }),
        }
    }
}

impl Encoded {
    fn joined(&self) -> Bytes {
        match self.parts.as_slice() {
            [] => Bytes::new(),
            [one] => one.clone(),
            parts => {
                let mut out = Vec::with_capacity(self.len);
                for part in parts {
                    out.extend_from_slice(part);
                }
                Bytes::from(out)
            }
        }
    }

    /// Decodes each part and appends them in order. A part that fails to decode (the
    /// receiver checked it, so this is a fault in stratus) is dropped with an error
    /// log naming its size; the others are kept.
    fn decode(&self, signal: Signal) -> Payload {
        let mut out = Payload::empty(signal);
        for part in &self.parts {
            let decoded = match signal {
                Signal::Traces => ExportTraceServiceRequest::decode(part.as_ref())
                    .map(|r| Payload::Traces(r.resource_spans)),
                Signal::Metrics => ExportMetricsServiceRequest::decode(part.as_ref())
                    .map(|r| Payload::Metrics(r.resource_metrics)),
                Signal::Logs => ExportLogsServiceRequest::decode(part.as_ref())
                    .map(|r| Payload::Logs(r.resource_logs)),
            };
            match decoded {
                Ok(p) if out.is_empty() => out = p,
                Ok(p) => {
                    let _ = out.append(p);
                }
                Err(error) => tracing::error!(
                    %error,
                    bytes = part.len(),
                    %signal,
                    "a received request that was checked does not decode; it is dropped"
                ),
            }
        }
        out
    }
}

fn encode_owned(payload: Payload) -> Bytes {
    Bytes::from(match payload {
        Payload::Traces(resource_spans) => {
            ExportTraceServiceRequest { resource_spans }.encode_to_vec()
        }
        Payload::Metrics(resource_metrics) => {
            ExportMetricsServiceRequest { resource_metrics }.encode_to_vec()
        }
        Payload::Logs(resource_logs) => ExportLogsServiceRequest { resource_logs }.encode_to_vec(),
    })
}

impl From<Payload> for Contents {
    fn from(payload: Payload) -> Self {
        Contents {
            signal: payload.signal(),
            decoded: Some(payload),
            encoded: None,
            cache: OnceLock::new(),
        }
    }
}

impl Deref for Contents {
    type Target = Payload;

    fn deref(&self) -> &Payload {
        self.payload()
    }
}

impl DerefMut for Contents {
    /// Decodes the data if it was not, and forgets the encoded bytes: what the caller
    /// changes would not be in them.
    fn deref_mut(&mut self) -> &mut Payload {
        if self.decoded.is_none() {
            let payload = match (self.cache.take(), &self.encoded) {
                (Some(p), _) => p,
                (None, Some(e)) => e.decode(self.signal),
                (None, None) => Payload::empty(self.signal),
            };
            self.decoded = Some(payload);
        }
        self.encoded = None;
        let signal = self.signal;
        self.decoded.get_or_insert_with(|| Payload::empty(signal))
    }
}

impl PartialEq for Contents {
    fn eq(&self, other: &Self) -> bool {
        self.payload() == other.payload()
    }
}

impl PartialEq<Payload> for Contents {
    fn eq(&self, other: &Payload) -> bool {
        self.payload() == other
    }
}

impl fmt::Debug for Contents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.encoded {
            Some(e) => f
                .debug_struct("Encoded")
                .field("signal", &self.signal)
                .field("bytes", &e.len)
                .field("items", &e.items)
                .finish(),
            None => self.payload().fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdata::trace::{ResourceSpans, ScopeSpans, Span};

    fn spans(first: u8, n: u8) -> Payload {
        Payload::Traces(vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: (first..first + n)
                    .map(|id| Span {
                        span_id: vec![id; 8],
                        name: format!("s{id}"),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }])
    }

    fn encoded(p: &Payload) -> Contents {
        Contents::encoded(p.signal(), Bytes::from(p.encode_request()), p.item_count())
    }

    #[test]
    fn encoded_data_reads_as_its_decoding_without_losing_its_bytes() {
        let p = spans(1, 3);
        let d = encoded(&p);
        assert!(d.is_encoded());
        assert_eq!(d.item_count(), 3);
        assert_eq!(d.encoded_len(), p.encoded_len());
        assert_eq!(*d, p);
        // Read access decodes but keeps the bytes: they are still what is sent.
        assert_eq!(d.encode_request().as_ref(), p.encode_request().as_slice());
        assert_eq!(d.into_payload(), p);
    }

    #[test]
    fn appended_encoded_batches_are_their_concatenation_and_decode_in_order() {
        let (a, b, c) = (spans(1, 2), spans(3, 1), spans(4, 4));
        let mut d = encoded(&a);
        d.append(encoded(&b)).unwrap();
        d.append(encoded(&c)).unwrap();
        assert!(d.is_encoded());
        assert_eq!(d.item_count(), 7);
        let mut want = a.clone();
        want.append(b.clone()).unwrap();
        want.append(c.clone()).unwrap();
        assert_eq!(
            d.encode_request().as_ref(),
            want.encode_request().as_slice()
        );
        assert_eq!(d.encoded_len(), want.encoded_len());
        assert_eq!(d.into_payload(), want);
    }

    #[test]
    fn mixing_forms_decodes_and_keeps_order() {
        let (a, b) = (spans(1, 2), spans(3, 2));
        let mut d = Contents::from(a.clone());
        d.append(encoded(&b)).unwrap();
        let mut want = a.clone();
        want.append(b.clone()).unwrap();
        assert_eq!(d, want);
        let mut e = encoded(&a);
        e.append(Contents::from(b.clone())).unwrap();
        assert!(!e.is_encoded());
        assert_eq!(e, want);
        // An empty batch takes the other's form.
        let mut empty = Contents::empty(Signal::Traces);
        empty.append(encoded(&b)).unwrap();
        assert_eq!(empty, b);
        assert!(
            Contents::empty(Signal::Logs)
                .append(encoded(&b))
                .is_err_and(|back| back.is_encoded())
        );
    }

    #[test]
    fn changing_encoded_data_forgets_the_bytes() {
        let p = spans(1, 2);
        let mut d = encoded(&p);
        let _ = d.encode_request();
        if let Payload::Traces(r) = &mut *d {
            r[0].scope_spans[0].spans[0].name = "renamed".into();
        }
        assert!(!d.is_encoded());
        let sent = Payload::Traces(
            ExportTraceServiceRequest::decode(d.encode_request())
                .unwrap()
                .resource_spans,
        );
        let Payload::Traces(r) = &sent else {
            unreachable!()
        };
        assert_eq!(r[0].scope_spans[0].spans[0].name, "renamed");
    }

    #[test]
    fn splitting_all_keeps_the_encoding_and_splitting_inside_decodes() {
        let mut d = encoded(&spans(1, 4));
        let all = d.split_front(4);
        assert!(all.is_encoded());
        assert_eq!(all.item_count(), 4);
        assert!(d.is_empty() && d.item_count() == 0);

        let mut d = encoded(&spans(1, 4));
        let front = d.split_front(1);
        assert_eq!(front, spans(1, 1));
        assert_eq!(d, spans(2, 3));
    }

    #[test]
    fn a_part_that_does_not_decode_is_dropped_and_the_rest_kept() {
        let good = spans(1, 2);
        let mut d = Contents::encoded(Signal::Traces, Bytes::from_static(&[0x0a, 0x05, 1]), 1);
        d.append(encoded(&good)).unwrap();
        assert_eq!(d.into_payload(), good);
    }
}
