//! `annotations`, `metadata` and `user`.
//!
//! Upstream `internal/translator/segment.go` `addSpecialAttributes`,
//! `makeXRayAttributes` and `fixAnnotationKey`:
//! - Attributes named in `indexed_attributes`, or in the span's own
//!   `aws.xray.annotations` list, become annotations when their value is a string,
//!   number or boolean; other values of such attributes are dropped. An attribute
//!   listed in `indexed_attributes` is indexed even when a block (http, aws, sql)
//!   already consumed it, so `http.method` can be an annotation.
//! - `index_all_attributes: true` makes every remaining span attribute an annotation
//!   (non-scalar values dropped) and every resource attribute too.
//! - Everything else goes under `metadata.default` as its raw value; an
//!   `aws.xray.metadata.<namespace>` attribute holding a JSON object becomes
//!   metadata namespace `<namespace>` (merged into `default` for `default`).
//! - Segments (not subsegments) carry the resource's attributes as
//!   `otel.resource.<key>`, in metadata unless indexed.
//! - `enduser.id` becomes `user`.
//! - Annotation keys keep `[0-9A-Za-z]`; with `allow_dot_in_annotation_keys` (on by
//!   default, like upstream's beta feature gate `exporter.xray.allowDot` since
//!   v0.97.0) they keep `.` too; every other character becomes `_`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use stratus_core::pdata::common::{AnyValue, any_value::Value};
use stratus_core::pdata::resource::Resource;

use crate::attrs::{Pool, SpanView, non_empty, resource_attrs, str_of, value_of};
use crate::model::{Annotation, MetaKey, MetaValue};
use crate::translate::Options;

/// Attribute whose string list names more attributes to index.
pub const AWS_XRAY_ANNOTATIONS_ATTRIBUTE: &str = "aws.xray.annotations";
/// Prefix of attributes holding a JSON object of metadata for a namespace.
pub const AWS_XRAY_METADATA_ATTRIBUTE_PREFIX: &str = "aws.xray.metadata.";
/// The metadata namespace of everything not namespaced.
pub const DEFAULT_METADATA_NAMESPACE: &str = "default";
/// Prefix of resource attributes stored on a segment.
pub const RESOURCE_ATTRIBUTE_PREFIX: &str = crate::model::RESOURCE_KEY_PREFIX;

/// Annotations keyed by sanitised key.
pub type Annotations<'a> = BTreeMap<Cow<'a, str>, Annotation<'a>>;
/// Metadata: namespace → key → value.
pub type Metadata<'a> = BTreeMap<Cow<'a, str>, BTreeMap<MetaKey<'a>, MetaValue<'a>>>;

/// What `makeXRayAttributes` returns.
#[derive(Debug, Default)]
pub(crate) struct XRayAttributes<'a> {
    pub user: Option<&'a str>,
    pub annotations: Annotations<'a>,
    pub metadata: Metadata<'a>,
}

/// `addSpecialAttributes`: puts explicitly indexed attributes back in the pool.
pub(crate) fn add_special_attributes(view: &SpanView<'_>, pool: &mut Pool, options: &Options) {
    for name in &options.indexed_attributes {
        if pool.contains(view.span, name) {
            continue;
        }
        if let Some((i, _)) = view.attrs().find(|(_, kv)| kv.key == *name) {
            pool.put_back(i);
        }
    }
}

/// Builds `user`, `annotations` and `metadata` from what is left in the pool.
pub(crate) fn make_xray_attributes<'a>(
    view: &SpanView<'a>,
    pool: &mut Pool,
    resource: Option<&'a Resource>,
    store_resource: bool,
    options: &Options,
) -> XRayAttributes<'a> {
    let span = view.span;
    let mut out = XRayAttributes::default();
    if let Some(i) = pool.find(span, "enduser.id") {
        out.user = non_empty(str_of(value_of(&span.attributes[i])));
        pool.take(i);
    }
    let resource_attrs = resource_attrs(resource);
    if pool.is_empty() && (!store_resource || resource_attrs.is_empty()) {
        return out;
    }

    // Extra keys to index, from the span itself.
    let mut span_indexed: Vec<&'a str> = Vec::new();
    if let Some(i) = pool.find(span, AWS_XRAY_ANNOTATIONS_ATTRIBUTE)
        && let Some(Value::ArrayValue(list)) = &value_of(&span.attributes[i]).value
    {
        span_indexed.extend(list.values.iter().filter_map(|v| match &v.value {
            Some(Value::StringValue(s)) => Some(s.as_str()),
            _ => None,
        }));
        pool.take(i);
    }
    let index_all = options.index_all_attributes;
    let indexed =
        |key: &str| !index_all && (options.is_indexed(key) || span_indexed.contains(&key));
    // The same for `otel.resource.<key>`, without building that string.
    let indexed_resource = |key: &str| {
        let named = |name: &str| name.strip_prefix(RESOURCE_ATTRIBUTE_PREFIX) == Some(key);
        !index_all
            && (options.indexed_attributes.iter().any(|n| named(n))
                || span_indexed.iter().any(|n| named(n)))
    };

    let mut default_metadata: BTreeMap<MetaKey<'a>, MetaValue<'a>> = BTreeMap::new();

    if store_resource {
        for kv in resource_attrs {
            let value = value_of(kv);
            match annotation_value(value) {
                Some(a) if index_all || indexed_resource(&kv.key) => {
                    let key = format!("{RESOURCE_ATTRIBUTE_PREFIX}{}", kv.key);
                    let fixed = fix_annotation_key(&key, options.allow_dot).into_owned();
                    out.annotations.insert(Cow::Owned(fixed), a);
                }
                _ => {
                    if value.value.is_some() {
                        default_metadata.insert(MetaKey::Resource(&kv.key), MetaValue::Attr(value));
                    }
                }
            }
        }
    }

    for (_, kv) in pool.iter(span) {
        let key = kv.key.as_str();
        let value = value_of(kv);
        if index_all || indexed(key) {
            // A value X-Ray cannot index is dropped, not kept as metadata.
            if let Some(a) = annotation_value(value) {
                out.annotations
                    .insert(fix_annotation_key(key, options.allow_dot), a);
            }
        } else if let (Some(namespace), Some(Value::StringValue(json))) = (
            key.strip_prefix(AWS_XRAY_METADATA_ATTRIBUTE_PREFIX),
            &value.value,
        ) {
            match serde_json::from_str::<Option<serde_json::Map<String, serde_json::Value>>>(json) {
                // Not a JSON object: keep the attribute as it is.
                Err(_) => {
                    default_metadata.insert(MetaKey::Attr(key), MetaValue::Attr(value));
                }
                Ok(parsed) if namespace.eq_ignore_ascii_case(DEFAULT_METADATA_NAMESPACE) => {
                    for (k, v) in parsed.unwrap_or_default() {
                        default_metadata.insert(MetaKey::Owned(k), MetaValue::Json(v));
                    }
                }
                Ok(parsed) => {
                    // Upstream stores the whole parsed object under the namespace;
                    // JSON `null` gives an empty namespace.
                    let ns = out.metadata.entry(Cow::Borrowed(namespace)).or_default();
                    ns.clear();
                    for (k, v) in parsed.unwrap_or_default() {
                        ns.insert(MetaKey::Owned(k), MetaValue::Json(v));
                    }
                }
            }
        } else if value.value.is_some() {
            default_metadata.insert(MetaKey::Attr(key), MetaValue::Attr(value));
        }
    }

    if !default_metadata.is_empty() {
        out.metadata
            .insert(Cow::Borrowed(DEFAULT_METADATA_NAMESPACE), default_metadata);
    }
    out
}

/// `annotationValue`: strings, integers, doubles and booleans; `None` for anything
/// else, and (unlike upstream, whose encoder then fails the span) for non-finite
/// doubles.
pub(crate) fn annotation_value(v: &AnyValue) -> Option<Annotation<'_>> {
    match &v.value {
        Some(Value::StringValue(s)) => Some(Annotation::Str(s)),
        Some(Value::IntValue(i)) => Some(Annotation::Int(*i)),
        Some(Value::DoubleValue(d)) if d.is_finite() => Some(Annotation::Double(*d)),
        Some(Value::BoolValue(b)) => Some(Annotation::Bool(*b)),
        _ => None,
    }
}

/// `fixAnnotationKey`: `[0-9A-Za-z]` kept, `.` kept when `allow_dot`, every other
/// character (not byte) replaced by `_`.
pub fn fix_annotation_key(key: &str, allow_dot: bool) -> Cow<'_, str> {
    let keep = |c: char| c.is_ascii_alphanumeric() || (allow_dot && c == '.');
    if key.chars().all(keep) {
        return Cow::Borrowed(key);
    }
    Cow::Owned(key.chars().map(|c| if keep(c) { c } else { '_' }).collect())
}

#[cfg(test)]
mod tests;
