//! The translator: OTLP spans → X-Ray segment documents.
//!
//! Upstream `exporter/awsxrayexporter/awsxray.go` `extractResourceSpans` walks every
//! span of a batch, calls `translator.MakeSegmentDocuments` and skips (with a debug
//! log) a span that fails; here the failures are returned so the exporter can count
//! them as dropped.

use std::collections::HashSet;

use stratus_core::pdata::resource::Resource;
use stratus_core::pdata::trace::{ResourceSpans, Span};

use crate::TranslateError;
use crate::config::TranslatorConfig;
use crate::document::{SegmentDocument, encode_segment};
use crate::model::Segment;
use crate::segment::make_segments;

/// Up to this many indexed attributes are found by scanning the list.
const LINEAR_LOOKUP_MAX: usize = 16;

/// The translator's options, resolved for lookups.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub indexed_attributes: Vec<String>,
    /// For long lists; a short one is scanned (faster than hashing).
    indexed_set: Option<HashSet<String>>,
    pub index_all_attributes: bool,
    pub aws_log_groups: Vec<String>,
    pub allow_dot: bool,
}

impl Options {
    /// Whether `indexed_attributes` names `key`.
    pub fn is_indexed(&self, key: &str) -> bool {
        match &self.indexed_set {
            Some(set) => set.contains(key),
            None => self.indexed_attributes.iter().any(|n| n == key),
        }
    }
}

/// Turns spans into X-Ray segment documents. Pure: no I/O, no clock; the same input
/// always gives the same documents (ids upstream draws at random are derived from
/// the span, see [`crate::trace_id`]). Cheap to share (`&self` everywhere).
#[derive(Debug, Clone)]
pub struct Translator {
    options: Options,
}

/// A span that could not be translated; upstream logs and skips such a span.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanFailure {
    /// Index of the span in the batch, counted as [`SegmentDocument::span`] is.
    pub span: usize,
    /// Why.
    pub error: TranslateError,
}

/// The documents of one batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Translation {
    /// The documents, in span order; send them with [`crate::batches`].
    pub documents: Vec<SegmentDocument>,
    /// Spans that gave no document.
    pub failures: Vec<SpanFailure>,
    /// How many spans the batch had.
    pub spans: usize,
}

impl Translation {
    /// How many documents had to shrink to fit the size limit.
    pub fn shrunk(&self) -> usize {
        self.documents.iter().filter(|d| d.shrunk.is_some()).count()
    }
}

impl Translator {
    /// A translator with these options.
    pub fn new(config: &TranslatorConfig) -> Self {
        Translator {
            options: Options {
                indexed_attributes: config.indexed_attributes.clone(),
                indexed_set: (config.indexed_attributes.len() > LINEAR_LOOKUP_MAX)
                    .then(|| config.indexed_attributes.iter().cloned().collect()),
                index_all_attributes: config.index_all_attributes,
                aws_log_groups: config.aws_log_groups.clone(),
                allow_dot: config.allow_dot_in_annotation_keys,
            },
        }
    }

    /// The segments of one span: one, or two (the dependency subsegment, then the
    /// service segment) for a local-root span that calls out
    /// (`MakeSegmentsFromSpan`). `resource` is the span's resource, if any.
    pub fn segments<'a>(
        &'a self,
        span: &'a Span,
        resource: Option<&'a Resource>,
    ) -> Result<Vec<Segment<'a>>, TranslateError> {
        make_segments(span, resource, &self.options)
    }

    /// The documents of one span, `span_index` being its index in its batch.
    pub fn span_documents(
        &self,
        span: &Span,
        resource: Option<&Resource>,
        span_index: usize,
    ) -> Result<Vec<SegmentDocument>, TranslateError> {
        self.segments(span, resource)?
            .into_iter()
            .map(|segment| encode_segment(segment, span_index))
            .collect()
    }

    /// The documents of every span of a batch, in order, and the spans that failed.
    pub fn translate(&self, resource_spans: &[ResourceSpans]) -> Translation {
        let mut out = Translation::default();
        for rs in resource_spans {
            let resource = rs.resource.as_ref();
            for span in rs.scope_spans.iter().flat_map(|ss| ss.spans.iter()) {
                let index = out.spans;
                out.spans += 1;
                match self.span_documents(span, resource, index) {
                    Ok(docs) => out.documents.extend(docs),
                    Err(error) => out.failures.push(SpanFailure { span: index, error }),
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
