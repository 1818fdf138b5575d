//! `include` / `exclude` matching (upstream's `filterconfig.MatchProperties` with
//! `filterspan`, `filterlog`, `filtermetric` and `filterset`), compiled once per signal.
//!
//! An item is processed when it matches `include` (if given) and does not match
//! `exclude` (if given). Within one block every property given must match: the
//! resource's `service.name` one of `services`, the span name one of `span_names`, and
//! so on; each list matches when any of its entries does. `attributes` and `resources`
//! list attributes that must all be present (with the given value, if any).

use std::collections::HashSet;

use regex::{Regex, RegexSet};
use serde::Deserialize;
use stratus_core::Signal;
use stratus_core::factory::ConfigProblem;
use stratus_core::pdata::common::{
    AnyValue, InstrumentationScope, KeyValue, any_value::Value as V,
};
use stratus_core::pdata::logs::{LogRecord, SeverityNumber};
use stratus_core::pdata::metrics::Metric;
use stratus_core::pdata::resource::Resource;
use stratus_core::pdata::trace::{Span, span::SpanKind};

use crate::value::{as_string, from_config, get, kind_name, values_equal};

/// One `include` or `exclude` block.
///
/// ```yaml
/// include:
///   match_type: regexp
///   services: ["checkout-.*"]
///   attributes:
///     - {key: http.route, value: "^/api/"}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchProperties {
    /// How the strings of this block are compared: `strict` (equal) or `regexp` (the
    /// RE2-syntax expression matches somewhere in the string; anchor it with `^...$`
    /// for a whole-string match). Required.
    pub match_type: String,
    /// Options of `match_type: regexp`, accepted for compatibility; they change
    /// nothing here (expressions are compiled once and need no result cache).
    pub regexp: Option<RegexpOptions>,
    /// Spans: the resource's `service.name` (as a string; `<nil-service-name>` when it
    /// has none) must match one of these. Default: any.
    pub services: Vec<String>,
    /// Spans: the span name must match one of these. Default: any.
    pub span_names: Vec<String>,
    /// Spans: the span kind (`SPAN_KIND_SERVER`, `SPAN_KIND_CLIENT`,
    /// `SPAN_KIND_INTERNAL`, `SPAN_KIND_PRODUCER`, `SPAN_KIND_CONSUMER`) must match
    /// one of these. Default: any.
    pub span_kinds: Vec<String>,
    /// Logs: the body, as a string, must match one of these. Default: any.
    pub log_bodies: Vec<String>,
    /// Logs: the severity text must match one of these. Default: any.
    pub log_severity_texts: Vec<String>,
    /// Logs: the severity number must be at least `min`. Default: unset (any).
    pub log_severity_number: Option<SeverityNumberMatch>,
    /// Metrics: the metric name must match one of these. Default: any.
    pub metric_names: Vec<String>,
    /// Spans and logs: attributes of the item that must all be present, each with the
    /// given value if one is given. Default: none.
    pub attributes: Vec<AttributeMatch>,
    /// Resource attributes that must all be present, each with the given value if one
    /// is given. Default: none.
    pub resources: Vec<AttributeMatch>,
    /// Spans and logs: the instrumentation scope must match one of these. Default: any.
    pub libraries: Vec<LibraryMatch>,
}

/// The `regexp` options of upstream's filter sets, accepted for compatibility.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegexpOptions {
    /// Upstream: cache match results. No effect here. Default `false`.
    pub cacheenabled: bool,
    /// Upstream: most cached results. No effect here. Default `0`.
    pub cachemaxnumentries: i64,
}

/// One attribute to match.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttributeMatch {
    /// The attribute key. Required.
    pub key: String,
    /// With `strict`, the value the attribute must have (same type: `200` does not
    /// match `"200"`); with `regexp`, an expression the value (strings, booleans and
    /// numbers, as text) must match. Unset: the key being present is enough.
    pub value: Option<serde_json::Value>,
}

/// One instrumentation scope to match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LibraryMatch {
    /// The scope name. Default: empty.
    pub name: String,
    /// The scope version; unset matches any version, `""` only an empty one.
    pub version: Option<String>,
}

/// A minimum log severity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeverityNumberMatch {
    /// The lowest severity that matches: a number (`9`) or a name (`INFO`, `warn2`,
    /// `SEVERITY_NUMBER_ERROR`). Default `0`.
    pub min: SeverityLevel,
    /// Whether records with no severity number (`0`, unspecified) match. Default
    /// `false`.
    pub match_undefined: bool,
}

/// A severity, as a number (1–24) or an OTLP severity name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SeverityLevel {
    /// A severity number.
    Number(i64),
    /// A severity name, `INFO` or `SEVERITY_NUMBER_INFO`, in any case.
    Name(String),
}

impl Default for SeverityLevel {
    fn default() -> Self {
        SeverityLevel::Number(0)
    }
}

impl SeverityLevel {
    /// The severity number, if valid.
    fn number(&self) -> Option<i32> {
        match self {
            SeverityLevel::Number(n) => i32::try_from(*n).ok().filter(|n| (0..=24).contains(n)),
            SeverityLevel::Name(name) => {
                let upper = name.to_ascii_uppercase();
                let full = if upper.starts_with("SEVERITY_NUMBER_") {
                    upper
                } else {
                    format!("SEVERITY_NUMBER_{upper}")
                };
                SeverityNumber::from_str_name(&full).map(|s| s as i32)
            }
        }
    }
}

/// The span kinds `span_kinds` may name with `match_type: strict`.
const SPAN_KINDS: [&str; 5] = [
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_CONSUMER",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_SERVER",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MatchType {
    Strict,
    Regexp,
}

/// Strings to match against, compiled.
#[derive(Debug, Clone)]
enum StringSet {
    Few(Vec<String>),
    Many(HashSet<String>),
    Regexp(RegexSet),
}

impl StringSet {
    fn matches(&self, s: &str) -> bool {
        match self {
            StringSet::Few(v) => v.iter().any(|x| x == s),
            StringSet::Many(set) => set.contains(s),
            StringSet::Regexp(set) => set.is_match(s),
        }
    }
}

/// One attribute to look for.
#[derive(Debug, Clone)]
struct AttrMatcher {
    key: String,
    test: AttrTest,
}

#[derive(Debug, Clone)]
enum AttrTest {
    Present,
    Equal(AnyValue),
    Regex(Regex),
}

impl AttrMatcher {
    fn matches(&self, attrs: &[KeyValue]) -> bool {
        let Some(value) = get(attrs, &self.key) else {
            return false;
        };
        match &self.test {
            AttrTest::Present => true,
            AttrTest::Equal(want) => values_equal(Some(want), value),
            AttrTest::Regex(re) => match value.and_then(|v| v.value.as_ref()) {
                Some(V::StringValue(s)) => re.is_match(s),
                Some(V::BoolValue(_) | V::IntValue(_) | V::DoubleValue(_)) => {
                    re.is_match(&scalar_string(value))
                }
                _ => false,
            },
        }
    }
}

/// A boolean or number as upstream's attribute matcher writes it for `regexp`.
fn scalar_string(v: Option<&AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        // Go's strconv.FormatFloat(d, 'f', -1, 64): shortest decimal, no exponent.
        Some(V::DoubleValue(d)) => d.to_string(),
        _ => as_string(v).into_owned(),
    }
}

/// Every attribute listed must match; an empty list matches anything.
fn all_match(matchers: &[AttrMatcher], attrs: &[KeyValue]) -> bool {
    matchers.iter().all(|m| m.matches(attrs))
}

#[derive(Debug, Clone)]
struct LibraryMatcher {
    name: StringSet,
    version: Option<StringSet>,
}

/// One block, compiled for one signal.
#[derive(Debug, Clone, Default)]
struct Props {
    services: Option<StringSet>,
    resources: Vec<AttrMatcher>,
    libraries: Vec<LibraryMatcher>,
    span_names: Option<StringSet>,
    span_kinds: Option<StringSet>,
    bodies: Option<StringSet>,
    severity_texts: Option<StringSet>,
    /// (min, match_undefined)
    severity: Option<(i32, bool)>,
    metric_names: Option<StringSet>,
    attributes: Vec<AttrMatcher>,
}

impl Props {
    fn resource_matches(&self, resource: Option<&Resource>) -> bool {
        let attrs = resource.map_or(&[][..], |r| &r.attributes[..]);
        if let Some(services) = &self.services {
            let name = match get(attrs, "service.name") {
                Some(v) => as_string(v),
                None => "<nil-service-name>".into(),
            };
            if !services.matches(&name) {
                return false;
            }
        }
        all_match(&self.resources, attrs)
    }

    fn scope_matches(&self, scope: Option<&InstrumentationScope>) -> bool {
        if self.libraries.is_empty() {
            return true;
        }
        let (name, version) = scope.map_or(("", ""), |s| (&s.name[..], &s.version[..]));
        self.libraries
            .iter()
            .any(|l| l.name.matches(name) && l.version.as_ref().is_none_or(|v| v.matches(version)))
    }

    fn span_matches(&self, span: &Span) -> bool {
        if let Some(names) = &self.span_names
            && !names.matches(&span.name)
        {
            return false;
        }
        if let Some(kinds) = &self.span_kinds {
            let kind = SpanKind::try_from(span.kind).map_or("", |k| k.as_str_name());
            if !kinds.matches(kind) {
                return false;
            }
        }
        all_match(&self.attributes, &span.attributes)
    }

    fn log_matches(&self, record: &LogRecord) -> bool {
        if let Some(bodies) = &self.bodies
            && !bodies.matches(&as_string(record.body.as_ref()))
        {
            return false;
        }
        if let Some(texts) = &self.severity_texts
            && !texts.matches(&record.severity_text)
        {
            return false;
        }
        if let Some((min, undefined)) = self.severity {
            let ok = if record.severity_number == SeverityNumber::Unspecified as i32 {
                undefined
            } else {
                record.severity_number >= min
            };
            if !ok {
                return false;
            }
        }
        all_match(&self.attributes, &record.attributes)
    }

    fn metric_matches(&self, metric: &Metric) -> bool {
        self.metric_names
            .as_ref()
            .is_none_or(|names| names.matches(&metric.name))
    }
}

/// Compiles the parts of blocks, collecting problems with their paths.
struct Compiler<'a> {
    path: &'a str,
    match_type: MatchType,
    problems: Vec<ConfigProblem>,
}

impl Compiler<'_> {
    fn problem(&mut self, field: &str, message: impl Into<String>) {
        let path = if field.is_empty() {
            self.path.to_string()
        } else {
            format!("{}::{field}", self.path)
        };
        self.problems.push(ConfigProblem::new(path, message));
    }

    fn strings(&mut self, field: &str, items: &[String]) -> Option<StringSet> {
        if items.is_empty() {
            return None;
        }
        match self.match_type {
            MatchType::Strict if items.len() <= 8 => Some(StringSet::Few(items.to_vec())),
            MatchType::Strict => Some(StringSet::Many(items.iter().cloned().collect())),
            MatchType::Regexp => {
                let mut unique: Vec<&str> = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    if let Err(e) = Regex::new(item) {
                        self.problem(
                            &format!("{field}[{i}]"),
                            format!("invalid regular expression `{item}`: {e}"),
                        );
                    } else if !unique.contains(&item.as_str()) {
                        unique.push(item);
                    }
                }
                RegexSet::new(unique).ok().map(StringSet::Regexp)
            }
        }
    }

    fn attributes(&mut self, field: &str, items: &[AttributeMatch]) -> Vec<AttrMatcher> {
        let mut out = Vec::with_capacity(items.len());
        for (i, a) in items.iter().enumerate() {
            let at = format!("{field}[{i}]");
            if a.key.is_empty() {
                self.problem(
                    &format!("{at}::key"),
                    "required: the attribute key to match",
                );
                continue;
            }
            let test = match (&a.value, self.match_type) {
                (None | Some(serde_json::Value::Null), _) => AttrTest::Present,
                (Some(v), MatchType::Strict) => AttrTest::Equal(from_config(v)),
                (Some(serde_json::Value::String(re)), MatchType::Regexp) => match Regex::new(re) {
                    Ok(re) => AttrTest::Regex(re),
                    Err(e) => {
                        self.problem(
                            &format!("{at}::value"),
                            format!("invalid regular expression `{re}`: {e}"),
                        );
                        continue;
                    }
                },
                (Some(v), MatchType::Regexp) => {
                    self.problem(
                        &format!("{at}::value"),
                        format!(
                            "match_type=regexp for `{}` only supports Str, but found {}: \
                             quote the expression",
                            a.key,
                            kind_name(Some(&from_config(v)))
                        ),
                    );
                    continue;
                }
            };
            out.push(AttrMatcher {
                key: a.key.clone(),
                test,
            });
        }
        out
    }

    fn libraries(&mut self, items: &[LibraryMatch]) -> Vec<LibraryMatcher> {
        let mut out = Vec::new();
        for (i, l) in items.iter().enumerate() {
            let name = self.strings(
                &format!("libraries[{i}]::name"),
                std::slice::from_ref(&l.name),
            );
            let version = match &l.version {
                Some(v) => {
                    self.strings(&format!("libraries[{i}]::version"), std::slice::from_ref(v))
                }
                None => None,
            };
            if let Some(name) = name {
                out.push(LibraryMatcher { name, version });
            }
        }
        out
    }
}

impl MatchProperties {
    /// The block's own problems, whatever the signal: `match_type` missing or unknown,
    /// regular expressions that do not compile, attributes without a key, `regexp`
    /// values that are not strings, an unknown severity or span kind. `path` is the
    /// block's key path (`include`).
    pub fn validate(&self, path: &str) -> Vec<ConfigProblem> {
        match self.compile(path, None) {
            Ok(_) => Vec::new(),
            Err(problems) => problems,
        }
    }

    /// Compiles the block for `signal` (all of it when `None`, to check it), after the
    /// signal's own rules (upstream's `ValidateForSpans` / `ValidateForLogs`).
    fn compile(
        &self,
        path: &str,
        signal: Option<Signal>,
    ) -> Result<Option<Props>, Vec<ConfigProblem>> {
        let match_type = match self.match_type.as_str() {
            "strict" => Some(MatchType::Strict),
            "regexp" => Some(MatchType::Regexp),
            _ => None,
        };
        let mut c = Compiler {
            path,
            match_type: match_type.unwrap_or(MatchType::Strict),
            problems: Vec::new(),
        };
        match (self.match_type.as_str(), match_type) {
            ("", _) => c.problem("match_type", "required: `strict` or `regexp`"),
            (other, None) => c.problem(
                "match_type",
                format!("unrecognized match_type `{other}`: expected `strict` or `regexp`"),
            ),
            _ => {}
        }
        if match_type == Some(MatchType::Strict) {
            for (i, kind) in self.span_kinds.iter().enumerate() {
                if !SPAN_KINDS.contains(&kind.as_str()) {
                    c.problem(
                        &format!("span_kinds[{i}]"),
                        format!(
                            "`{kind}` is not a span kind: with match_type=strict, use one of \
                             {}",
                            SPAN_KINDS.join(", ")
                        ),
                    );
                }
            }
        }
        let severity = match &self.log_severity_number {
            None => None,
            Some(s) => match s.min.number() {
                Some(min) => Some((min, s.match_undefined)),
                None => {
                    let given = match &s.min {
                        SeverityLevel::Number(n) => n.to_string(),
                        SeverityLevel::Name(name) => format!("`{name}`"),
                    };
                    c.problem(
                        "log_severity_number::min",
                        format!(
                            "{given} is not a severity: use 0-24 or a name such as INFO, WARN, \
                             ERROR2"
                        ),
                    );
                    None
                }
            },
        };
        if let Some(signal) = signal {
            self.signal_rules(signal, &mut c);
        }
        let wants = |s: Signal| signal.is_none_or(|x| x == s);
        let spans_or_logs = wants(Signal::Traces) || wants(Signal::Logs);
        let props = Props {
            services: if wants(Signal::Traces) {
                c.strings("services", &self.services)
            } else {
                None
            },
            resources: c.attributes("resources", &self.resources),
            libraries: if spans_or_logs {
                c.libraries(&self.libraries)
            } else {
                Vec::new()
            },
            span_names: if wants(Signal::Traces) {
                c.strings("span_names", &self.span_names)
            } else {
                None
            },
            span_kinds: if wants(Signal::Traces) {
                c.strings("span_kinds", &self.span_kinds)
            } else {
                None
            },
            bodies: if wants(Signal::Logs) {
                c.strings("log_bodies", &self.log_bodies)
            } else {
                None
            },
            severity_texts: if wants(Signal::Logs) {
                c.strings("log_severity_texts", &self.log_severity_texts)
            } else {
                None
            },
            severity: if wants(Signal::Logs) { severity } else { None },
            metric_names: if wants(Signal::Metrics) {
                c.strings("metric_names", &self.metric_names)
            } else {
                None
            },
            attributes: if spans_or_logs {
                c.attributes("attributes", &self.attributes)
            } else {
                Vec::new()
            },
        };
        if !c.problems.is_empty() {
            return Err(c.problems);
        }
        // Metrics match on names and resources only; a block with neither does not
        // filter metrics (upstream ignores the other keys for metrics).
        if signal == Some(Signal::Metrics)
            && props.metric_names.is_none()
            && props.resources.is_empty()
        {
            return Ok(None);
        }
        Ok(Some(props))
    }

    /// Upstream's per-signal checks: keys of another signal, and at least one key of
    /// this one.
    fn signal_rules(&self, signal: Signal, c: &mut Compiler<'_>) {
        match signal {
            Signal::Traces => {
                for (field, set) in [
                    ("log_bodies", !self.log_bodies.is_empty()),
                    ("log_severity_texts", !self.log_severity_texts.is_empty()),
                    ("log_severity_number", self.log_severity_number.is_some()),
                ] {
                    if set {
                        c.problem(
                            field,
                            format!("{field} should not be specified for trace spans"),
                        );
                    }
                }
                if self.services.is_empty()
                    && self.span_names.is_empty()
                    && self.attributes.is_empty()
                    && self.libraries.is_empty()
                    && self.resources.is_empty()
                    && self.span_kinds.is_empty()
                {
                    c.problem(
                        "",
                        "for spans, at least one of `services`, `span_names`, `span_kinds`, \
                         `attributes`, `resources` or `libraries` must be specified",
                    );
                }
            }
            Signal::Logs => {
                for (field, set) in [
                    ("services", !self.services.is_empty()),
                    ("span_names", !self.span_names.is_empty()),
                    ("span_kinds", !self.span_kinds.is_empty()),
                ] {
                    if set {
                        c.problem(
                            field,
                            "services, span_names, and span_kinds are not valid for log records",
                        );
                    }
                }
                if self.attributes.is_empty()
                    && self.libraries.is_empty()
                    && self.resources.is_empty()
                    && self.log_bodies.is_empty()
                    && self.log_severity_texts.is_empty()
                    && self.log_severity_number.is_none()
                {
                    c.problem(
                        "",
                        "for log records, at least one of `attributes`, `libraries`, \
                         `resources`, `log_bodies`, `log_severity_texts` or \
                         `log_severity_number` must be specified",
                    );
                }
            }
            Signal::Metrics => {}
        }
    }
}

/// The `include` and `exclude` blocks of a processor, compiled for one signal.
///
/// Checking an item goes resource first, then scope, then item, so the resource- and
/// scope-level properties are evaluated once per group, not once per item:
///
/// ```
/// # use stratus_attraction::{Filter, MatchProperties};
/// # use stratus_core::Signal;
/// # use stratus_core::pdata::trace::ResourceSpans;
/// # fn run(filter: &Filter, batch: &mut Vec<ResourceSpans>) {
/// for rs in batch {
///     let at_resource = filter.resource(rs.resource.as_ref());
///     for ss in &mut rs.scope_spans {
///         let at_scope = at_resource.scope(ss.scope.as_ref());
///         for span in &mut ss.spans {
///             if at_scope.skip_span(span) {
///                 continue;
///             }
///             // ... act on span
///         }
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Filter {
    include: Option<Props>,
    exclude: Option<Props>,
}

impl Filter {
    /// Compiles `include` and `exclude` (at key paths `include` and `exclude`) for
    /// `signal`, after the signal's rules: for spans, no log keys and at least one span
    /// key; for logs, no span keys and at least one log key; for metrics, only
    /// `metric_names` and `resources` count (a block with neither does not filter
    /// metrics, as upstream ignores the rest).
    pub fn new(
        signal: Signal,
        include: Option<&MatchProperties>,
        exclude: Option<&MatchProperties>,
    ) -> Result<Filter, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let mut compile = |path: &str, block: Option<&MatchProperties>| match block {
            None => None,
            Some(b) => match b.compile(path, Some(signal)) {
                Ok(p) => p,
                Err(mut e) => {
                    problems.append(&mut e);
                    None
                }
            },
        };
        let include = compile("include", include);
        let exclude = compile("exclude", exclude);
        if problems.is_empty() {
            Ok(Filter { include, exclude })
        } else {
            Err(problems)
        }
    }

    /// Whether the filter lets everything through (no `include`, no `exclude`).
    pub fn is_empty(&self) -> bool {
        self.include.is_none() && self.exclude.is_none()
    }

    /// The filter with a resource's properties (`services`, `resources`) evaluated.
    pub fn resource(&self, resource: Option<&Resource>) -> AtResource<'_> {
        AtResource {
            filter: self,
            include: self
                .include
                .as_ref()
                .is_none_or(|p| p.resource_matches(resource)),
            exclude: self
                .exclude
                .as_ref()
                .is_some_and(|p| p.resource_matches(resource)),
        }
    }
}

/// A [`Filter`] at one resource.
#[derive(Debug, Clone, Copy)]
pub struct AtResource<'f> {
    filter: &'f Filter,
    /// `include`'s resource properties match (or there is no `include`).
    include: bool,
    /// `exclude`'s resource properties match (false when there is no `exclude`).
    exclude: bool,
}

impl<'f> AtResource<'f> {
    /// The filter with a scope's properties (`libraries`) evaluated too.
    pub fn scope(&self, scope: Option<&InstrumentationScope>) -> AtScope<'f> {
        let f = self.filter;
        AtScope {
            filter: f,
            include: self.include && f.include.as_ref().is_none_or(|p| p.scope_matches(scope)),
            exclude: self.exclude && f.exclude.as_ref().is_some_and(|p| p.scope_matches(scope)),
        }
    }

    /// Whether a metric of this resource is to be left alone. (Metrics match on
    /// names and resources, not scopes.)
    pub fn skip_metric(&self, metric: &Metric) -> bool {
        self.skip(|p| p.metric_matches(metric))
    }

    fn skip(&self, item: impl Fn(&Props) -> bool) -> bool {
        let f = self.filter;
        if let Some(include) = &f.include
            && !(self.include && item(include))
        {
            return true;
        }
        f.exclude
            .as_ref()
            .is_some_and(|exclude| self.exclude && item(exclude))
    }
}

/// A [`Filter`] at one scope of one resource.
#[derive(Debug, Clone, Copy)]
pub struct AtScope<'f> {
    filter: &'f Filter,
    include: bool,
    exclude: bool,
}

impl AtScope<'_> {
    fn at(&self) -> AtResource<'_> {
        AtResource {
            filter: self.filter,
            include: self.include,
            exclude: self.exclude,
        }
    }

    /// Whether a span is to be left alone: it does not match `include`, or matches
    /// `exclude`.
    pub fn skip_span(&self, span: &Span) -> bool {
        self.at().skip(|p| p.span_matches(span))
    }

    /// Whether a log record is to be left alone.
    pub fn skip_log(&self, record: &LogRecord) -> bool {
        self.at().skip(|p| p.log_matches(record))
    }

    /// Whether a metric is to be left alone.
    pub fn skip_metric(&self, metric: &Metric) -> bool {
        self.at().skip_metric(metric)
    }
}

#[cfg(test)]
mod tests;
