//! Attribute access with pcommon's semantics, and the pool of attributes not yet
//! claimed by a block.
//!
//! Upstream hands a `map[string]pcommon.Value` from one block builder to the next
//! (`makeHTTP` → `makeCause` → `makeAws` → `makeSQL`), each returning the map without
//! the keys it consumed; what is left becomes annotations and metadata. [`Pool`] does
//! the same with one flag per attribute, in the span's attribute order.

use std::borrow::Cow;

use stratus_core::pdata::common::{AnyValue, KeyValue, any_value::Value};
use stratus_core::pdata::resource::Resource;
use stratus_core::pdata::trace::Span;
use stratus_core::pdata::trace::span::SpanKind;

/// `pcommon.Value.Str()`: the string, or `""` for any other type.
pub(crate) fn str_of(v: &AnyValue) -> &str {
    match &v.value {
        Some(Value::StringValue(s)) => s,
        _ => "",
    }
}

/// `pcommon.Value.Int()`: the integer, or 0 for any other type.
pub(crate) fn int_of(v: &AnyValue) -> i64 {
    match &v.value {
        Some(Value::IntValue(i)) => *i,
        _ => 0,
    }
}

/// `pcommon.Value.AsString()`: strings as they are, numbers and booleans in decimal,
/// bytes in base64, lists and maps as JSON.
pub(crate) fn as_string(v: &AnyValue) -> Cow<'_, str> {
    match &v.value {
        Some(Value::StringValue(s)) => Cow::Borrowed(s),
        Some(Value::IntValue(i)) => Cow::Owned(i.to_string()),
        Some(Value::DoubleValue(d)) => Cow::Owned(d.to_string()),
        Some(Value::BoolValue(b)) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Some(Value::BytesValue(b)) => {
            use base64::Engine as _;
            Cow::Owned(base64::engine::general_purpose::STANDARD.encode(b))
        }
        None | Some(Value::StringValueStrindex(_)) => Cow::Borrowed(""),
        // Lists and maps: their JSON.
        Some(_) => {
            Cow::Owned(serde_json::to_string(&crate::model::MetaValue::Attr(v)).unwrap_or_default())
        }
    }
}

/// A port as upstream stores it in its URL parts: the string, else the integer in
/// decimal (`strconv.FormatInt(value.Int(), 10)`, so `"0"` for other types).
pub(crate) fn port_of(v: &AnyValue) -> Cow<'_, str> {
    match &v.value {
        Some(Value::StringValue(s)) if !s.is_empty() => Cow::Borrowed(s),
        _ => Cow::Owned(int_of(v).to_string()),
    }
}

/// `Some(s)` unless empty: upstream's `awsxray.String`, which turns `""` into nil.
pub(crate) fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// The first attribute named `key` (`pcommon.Map.Get`).
pub(crate) fn get<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| kv.value.as_ref().unwrap_or(&EMPTY))
}

/// The resource's attributes (none when the resource is absent).
pub(crate) fn resource_attrs(resource: Option<&Resource>) -> &[KeyValue] {
    resource.map_or(&[], |r| r.attributes.as_slice())
}

/// An attribute with no value (`pcommon.NewValueEmpty()`).
pub(crate) static EMPTY: AnyValue = AnyValue { value: None };

/// The value of an attribute (empty when the proto has none).
pub(crate) fn value_of(kv: &KeyValue) -> &AnyValue {
    kv.value.as_ref().unwrap_or(&EMPTY)
}

/// A span as one call of upstream's `MakeSegment` sees it: the span itself, or the
/// copy that `MakeServiceSegmentForLocalRootDependencySpan` /
/// `MakeDependencySubsegmentForLocalRootDependencySpan` make with another span id,
/// another parent, and some attributes removed. Nothing is copied.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpanView<'a> {
    /// The span.
    pub span: &'a Span,
    /// The span id to use instead of the span's own.
    pub span_id: Option<[u8; 8]>,
    /// The parent span id to use instead of the span's own.
    pub parent_id: Option<[u8; 8]>,
    /// Attribute keys this view does not have.
    pub hidden: &'static [&'static str],
}

impl<'a> SpanView<'a> {
    /// The span as it is.
    pub fn new(span: &'a Span) -> Self {
        SpanView {
            span,
            span_id: None,
            parent_id: None,
            hidden: &[],
        }
    }

    /// The span kind (unknown values count as unspecified).
    pub fn kind(&self) -> SpanKind {
        SpanKind::try_from(self.span.kind).unwrap_or(SpanKind::Unspecified)
    }

    /// The span id bytes.
    pub fn span_id(&self) -> &[u8] {
        match &self.span_id {
            Some(id) => id,
            None => &self.span.span_id,
        }
    }

    /// The parent span id bytes (empty for a root).
    pub fn parent_id(&self) -> &[u8] {
        match &self.parent_id {
            Some(id) => id,
            None => &self.span.parent_span_id,
        }
    }

    /// Whether this view has the attribute at `kv`.
    fn visible(&self, kv: &KeyValue) -> bool {
        !self.hidden.contains(&kv.key.as_str())
    }

    /// The view's attributes in order, with their index in the span's attributes.
    pub fn attrs(&self) -> impl Iterator<Item = (usize, &'a KeyValue)> + '_ {
        self.span
            .attributes
            .iter()
            .enumerate()
            .filter(|(_, kv)| self.visible(kv))
    }

    /// The first attribute named `key` (`span.Attributes().Get`).
    pub fn get(&self, key: &str) -> Option<&'a AnyValue> {
        if self.hidden.contains(&key) {
            return None;
        }
        get(&self.span.attributes, key)
    }

    /// `isAwsSdkSpan`: `rpc.system` is `aws-api`.
    pub fn is_aws_sdk(&self) -> bool {
        self.get("rpc.system")
            .is_some_and(|v| str_of(v) == "aws-api")
    }
}

/// The attributes not yet claimed by a block, one flag per span attribute.
#[derive(Debug, Clone)]
pub(crate) struct Pool {
    free: Vec<bool>,
}

impl Pool {
    /// Every attribute of the view, none claimed.
    pub fn new(view: &SpanView<'_>) -> Self {
        let mut free = vec![true; view.span.attributes.len()];
        if !view.hidden.is_empty() {
            for (i, kv) in view.span.attributes.iter().enumerate() {
                if view.hidden.contains(&kv.key.as_str()) {
                    free[i] = false;
                }
            }
        }
        Pool { free }
    }

    /// Claims attribute `i`.
    pub fn take(&mut self, i: usize) {
        if let Some(f) = self.free.get_mut(i) {
            *f = false;
        }
    }

    /// Puts attribute `i` back.
    pub fn put_back(&mut self, i: usize) {
        if let Some(f) = self.free.get_mut(i) {
            *f = true;
        }
    }

    /// Whether attribute `i` is unclaimed.
    pub fn is_free(&self, i: usize) -> bool {
        self.free.get(i).copied().unwrap_or(false)
    }

    /// The unclaimed attributes of `span`, in order, with their index.
    pub fn iter<'s>(&self, span: &'s Span) -> impl Iterator<Item = (usize, &'s KeyValue)> {
        span.attributes
            .iter()
            .enumerate()
            .filter(|(i, _)| self.is_free(*i))
    }

    /// The index of an unclaimed attribute named `key` (upstream looks the key up in
    /// its filtered map; with duplicate keys the last one is what the map holds).
    pub fn find(&self, span: &Span, key: &str) -> Option<usize> {
        span.attributes
            .iter()
            .enumerate()
            .rev()
            .find(|(i, kv)| self.is_free(*i) && kv.key == key)
            .map(|(i, _)| i)
    }

    /// Whether any unclaimed attribute is named `key`.
    pub fn contains(&self, span: &Span, key: &str) -> bool {
        self.find(span, key).is_some()
    }

    /// Whether nothing is left.
    pub fn is_empty(&self) -> bool {
        !self.free.iter().any(|f| *f)
    }
}
