//! `links`.
//!
//! Upstream `internal/translator/span_links.go` `makeSpanLinks`: each link's trace id
//! in X-Ray form, its span id in hex, and its attributes raw (`AsRaw`, so an empty
//! value is `null`).

use std::collections::BTreeMap;

use stratus_core::pdata::trace::span::Link;

use crate::TranslateError;
use crate::attrs::value_of;
use crate::model::{MetaValue, SpanLink};
use crate::trace_id::{hex_string, xray_trace_id};

/// Builds `links`; a link whose trace id is not 16 bytes fails the span, as a bad
/// trace id does upstream.
pub(crate) fn make_span_links(links: &[Link]) -> Result<Vec<SpanLink<'_>>, TranslateError> {
    links
        .iter()
        .map(|link| {
            Ok(SpanLink {
                trace_id: xray_trace_id(&link.trace_id)?,
                id: hex_string(&link.span_id),
                attributes: link
                    .attributes
                    .iter()
                    .map(|kv| (kv.key.as_str(), MetaValue::Attr(value_of(kv))))
                    .collect::<BTreeMap<_, _>>(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
