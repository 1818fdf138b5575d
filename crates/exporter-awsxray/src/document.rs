//! Segment → JSON document, shrunk to X-Ray's size limit when needed, and documents
//! → `PutTraceSegments` batches.
//!
//! Upstream does not shrink: a document over the limit is sent and refused. Here a
//! document over [`MAX_SEGMENT_DOCUMENT_BYTES`] loses, in this order and only as much
//! as it must, the largest metadata values, then stack frames (the count left out is
//! written in each exception's `truncated`), then the largest annotations, then link
//! attributes, then links, then it has long strings (exception messages, the SQL
//! query, the URL, the user agent) cut to [`TRUNCATED_STRING_BYTES`]. What was
//! removed is reported in [`ShrinkReport`] so the exporter can count it. A document
//! still too large is an error ([`TranslateError::DocumentTooLarge`]).

use std::borrow::Cow;

use serde::Serialize;

use crate::TranslateError;
use crate::model::Segment;

/// The most segment documents one `PutTraceSegments` call takes. Source: upstream
/// `exporter/awsxrayexporter/awsxray.go` `maxSegmentsPerPut = 50` ("limit imposed by
/// PutTraceSegments API").
pub const MAX_SEGMENTS_PER_PUT: usize = 50;

/// The largest segment document X-Ray accepts, in bytes. Source: AWS X-Ray Developer
/// Guide, "AWS X-Ray segment documents": "A segment document can be up to 64 kB".
pub const MAX_SEGMENT_DOCUMENT_BYTES: usize = 64 * 1024;

/// Length, in bytes, long strings are cut to when a document must shrink that far.
pub const TRUNCATED_STRING_BYTES: usize = 1024;

/// One JSON segment document, ready for `PutTraceSegments`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentDocument {
    /// The segment id (16 hex digits; empty when the span had none), which
    /// `UnprocessedTraceSegments` in X-Ray's answer refers to.
    pub id: String,
    /// Index of the span the document came from, counting every span of the
    /// translated batch in order (resource, scope, span). A split local-root span
    /// gives two documents with the same index.
    pub span: usize,
    /// The document.
    pub json: String,
    /// Set when the document had to shrink to fit [`MAX_SEGMENT_DOCUMENT_BYTES`].
    pub shrunk: Option<ShrinkReport>,
}

/// What shrinking removed from one document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShrinkReport {
    /// Size before, in bytes.
    pub original_bytes: usize,
    /// Size after, in bytes.
    pub final_bytes: usize,
    /// Metadata entries removed.
    pub metadata_entries: usize,
    /// Stack frames removed.
    pub stack_frames: usize,
    /// Annotations removed.
    pub annotations: usize,
    /// Link attributes removed.
    pub link_attributes: usize,
    /// Links removed.
    pub links: usize,
    /// Strings cut to [`TRUNCATED_STRING_BYTES`].
    pub truncated_strings: usize,
}

/// The `PutTraceSegments` batches of `documents`: at most [`MAX_SEGMENTS_PER_PUT`]
/// each, in order.
pub fn batches(documents: &[SegmentDocument]) -> std::slice::Chunks<'_, SegmentDocument> {
    documents.chunks(MAX_SEGMENTS_PER_PUT)
}

/// Serialises `segment` (from span number `span` of its batch), shrinking it when it
/// is over [`MAX_SEGMENT_DOCUMENT_BYTES`].
pub fn encode_segment(
    segment: Segment<'_>,
    span: usize,
) -> Result<SegmentDocument, TranslateError> {
    encode_with_limit(segment, span, MAX_SEGMENT_DOCUMENT_BYTES)
}

/// [`encode_segment`] with another limit (tests use small ones).
pub(crate) fn encode_with_limit(
    mut segment: Segment<'_>,
    span: usize,
    limit: usize,
) -> Result<SegmentDocument, TranslateError> {
    let id = segment.id.clone().unwrap_or_default();
    let json = to_json(&segment)?;
    if json.len() <= limit {
        return Ok(SegmentDocument {
            id,
            span,
            json,
            shrunk: None,
        });
    }
    let mut report = ShrinkReport {
        original_bytes: json.len(),
        ..ShrinkReport::default()
    };
    let json = shrink(&mut segment, json.len(), limit, &mut report)?;
    report.final_bytes = json.len();
    Ok(SegmentDocument {
        id,
        span,
        json,
        shrunk: Some(report),
    })
}

/// Typical size of a document, to allocate its buffer once.
const TYPICAL_DOCUMENT_BYTES: usize = 2048;

fn to_json(segment: &Segment<'_>) -> Result<String, TranslateError> {
    let mut json = String::with_capacity(TYPICAL_DOCUMENT_BYTES);
    segment.write_json(&mut json);
    // Every document a test of this crate makes is checked against the derived
    // `Serialize` the writer mirrors.
    #[cfg(test)]
    assert_eq!(
        json,
        serde_json::to_string(segment).map_err(|e| TranslateError::Encode(e.to_string()))?
    );
    Ok(json)
}

/// Bytes an entry `"key":value,` takes in the document.
fn entry_len<K: Serialize, V: Serialize>(key: &K, value: &V) -> usize {
    let key_len = serde_json::to_string(key).map_or(0, |k| k.len());
    let value_len = serde_json::to_string(value).map_or(0, |v| v.len());
    key_len + value_len + 2
}

/// Removes the largest entries (`path`, size) until `size` (kept up to date by
/// estimate) is within `limit`; returns how many were removed.
fn drop_largest<P>(
    mut entries: Vec<(P, usize)>,
    size: &mut usize,
    limit: usize,
    mut remove: impl FnMut(&P),
) -> usize {
    entries.sort_by_key(|e| std::cmp::Reverse(e.1));
    let mut removed = 0;
    for (path, len) in entries {
        if *size <= limit {
            break;
        }
        remove(&path);
        *size = size.saturating_sub(len);
        removed += 1;
    }
    removed
}

/// Shrinks step by step until the document fits; returns its JSON.
fn shrink(
    segment: &mut Segment<'_>,
    size: usize,
    limit: usize,
    report: &mut ShrinkReport,
) -> Result<String, TranslateError> {
    let mut size = size;

    // 1. Metadata, largest values first.
    let entries = segment
        .metadata
        .iter()
        .flat_map(|(ns, kv)| {
            kv.iter()
                .map(move |(k, v)| ((ns.clone(), k.clone()), entry_len(k, v)))
        })
        .collect::<Vec<_>>();
    report.metadata_entries = drop_largest(entries, &mut size, limit, |p| {
        if let Some(ns) = segment.metadata.get_mut(&p.0) {
            ns.remove(&p.1);
        }
    });
    segment.metadata.retain(|_, kv| !kv.is_empty());
    if let Some(json) = fits(segment, limit, &mut size)? {
        return Ok(json);
    }

    // 2. Stack frames: keep the first `keep` of each exception, halving `keep`.
    let mut keep = segment
        .cause
        .iter()
        .flat_map(|c| c.exceptions.iter())
        .map(|e| e.stack.len())
        .max()
        .unwrap_or(0);
    while keep > 0 {
        keep /= 2;
        for e in segment
            .cause
            .iter_mut()
            .flat_map(|c| c.exceptions.iter_mut())
        {
            if e.stack.len() > keep {
                let cut = e.stack.len() - keep;
                e.stack.truncate(keep);
                e.truncated = Some(e.truncated.unwrap_or(0) + to_i64(cut));
                report.stack_frames += cut;
            }
        }
        if let Some(json) = fits(segment, limit, &mut size)? {
            return Ok(json);
        }
    }

    // 3. Annotations, largest first.
    let entries = segment
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), entry_len(k, v)))
        .collect::<Vec<_>>();
    report.annotations = drop_largest(entries, &mut size, limit, |p| {
        segment.annotations.remove(p);
    });
    if let Some(json) = fits(segment, limit, &mut size)? {
        return Ok(json);
    }

    // 4. Link attributes, then links.
    for link in &mut segment.links {
        report.link_attributes += link.attributes.len();
        link.attributes.clear();
    }
    if let Some(json) = fits(segment, limit, &mut size)? {
        return Ok(json);
    }
    report.links = segment.links.len();
    segment.links.clear();
    if let Some(json) = fits(segment, limit, &mut size)? {
        return Ok(json);
    }

    // 5. Long strings.
    let mut cut = 0;
    if let Some(cause) = &mut segment.cause {
        for e in &mut cause.exceptions {
            cut += usize::from(truncate(&mut e.message));
        }
    }
    if let Some(sql) = &mut segment.sql {
        cut += usize::from(truncate(&mut sql.sanitized_query));
    }
    if let Some(http) = &mut segment.http {
        cut += usize::from(truncate(&mut http.request.url));
        cut += usize::from(truncate(&mut http.request.user_agent));
    }
    report.truncated_strings = cut;
    match fits(segment, limit, &mut size)? {
        Some(json) => Ok(json),
        None => Err(TranslateError::DocumentTooLarge { bytes: size }),
    }
}

/// The JSON when the segment now fits; `size` becomes its true size.
fn fits(
    segment: &Segment<'_>,
    limit: usize,
    size: &mut usize,
) -> Result<Option<String>, TranslateError> {
    let json = to_json(segment)?;
    *size = json.len();
    Ok((json.len() <= limit).then_some(json))
}

/// Cuts a string longer than [`TRUNCATED_STRING_BYTES`] at a character boundary.
fn truncate(s: &mut Option<Cow<'_, str>>) -> bool {
    let Some(v) = s else {
        return false;
    };
    if v.len() <= TRUNCATED_STRING_BYTES {
        return false;
    }
    let mut end = TRUNCATED_STRING_BYTES;
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    v.to_mut().truncate(end);
    true
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
