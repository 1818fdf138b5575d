//! The `filter` processor's config, with upstream's keys.

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use stratus_core::factory::{ConfigProblem, Validate};
use stratus_ottl::{Condition, Context, ErrorMode};

/// The `filter` processor's config.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilterConfig {
    /// What a condition that fails to evaluate does: `propagate` (the batch is refused
    /// with a permanent error), `ignore` (logged, taken as not matching) or `silent`
    /// (not matching, not logged). Default `ignore`, upstream's current default.
    pub error_mode: ErrorMode,
    /// Span and span event conditions. Default: none.
    pub traces: TracesConditions,
    /// Metric and data point conditions. Default: none.
    pub metrics: MetricsConditions,
    /// Log record conditions. Default: none.
    pub logs: LogsConditions,
    /// Upstream's older `spans: {include, exclude}` form. Not supported: rejected with
    /// a message showing the OTTL form. Default: absent.
    pub spans: Option<Value>,
    /// Upstream's newer context-inferred `trace_conditions`. Not supported: rejected
    /// with a message showing `traces.span`. Default: absent.
    pub trace_conditions: Option<Value>,
    /// Upstream's newer context-inferred `metric_conditions`. Not supported. Default:
    /// absent.
    pub metric_conditions: Option<Value>,
    /// Upstream's newer context-inferred `log_conditions`. Not supported. Default:
    /// absent.
    pub log_conditions: Option<Value>,
}

impl Default for FilterConfig {
    fn default() -> Self {
        FilterConfig {
            error_mode: ErrorMode::Ignore,
            traces: TracesConditions::default(),
            metrics: MetricsConditions::default(),
            logs: LogsConditions::default(),
            spans: None,
            trace_conditions: None,
            metric_conditions: None,
            log_conditions: None,
        }
    }
}

/// `traces:` conditions. A span is dropped when any `span` condition holds; the events
/// of a span that is kept are dropped when any `spanevent` condition holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TracesConditions {
    /// Conditions in the span context. Default: none.
    #[serde(deserialize_with = "list")]
    pub span: Vec<String>,
    /// Conditions in the span event context. Default: none.
    #[serde(deserialize_with = "list")]
    pub spanevent: Vec<String>,
}

/// `metrics:` conditions. A metric is dropped when any `metric` condition holds; the
/// points of a metric that is kept are dropped when any `datapoint` condition holds,
/// and a metric left without points is dropped.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConditions {
    /// Conditions in the metric context. Default: none.
    #[serde(deserialize_with = "list")]
    pub metric: Vec<String>,
    /// Conditions in the data point context. Default: none.
    #[serde(deserialize_with = "list")]
    pub datapoint: Vec<String>,
    /// Upstream's older include form. Not supported: rejected. Default: absent.
    pub include: Option<Value>,
    /// Upstream's older exclude form. Not supported: rejected. Default: absent.
    pub exclude: Option<Value>,
    /// Upstream's regexp cache settings of the older form. Not supported. Default: absent.
    pub regexp: Option<Value>,
}

/// `logs:` conditions. A log record is dropped when any `log_record` condition holds.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogsConditions {
    /// Conditions in the log context. Default: none.
    #[serde(deserialize_with = "list")]
    pub log_record: Vec<String>,
    /// Upstream's older include form. Not supported: rejected. Default: absent.
    pub include: Option<Value>,
    /// Upstream's older exclude form. Not supported: rejected. Default: absent.
    pub exclude: Option<Value>,
}

/// A list of conditions; `null` (a key with no value) is an empty list.
fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// Each condition list with its key path and context.
pub(crate) fn lists(config: &FilterConfig) -> [(&'static str, Context, &[String]); 5] {
    [
        ("traces::span", Context::Span, &config.traces.span),
        (
            "traces::spanevent",
            Context::SpanEvent,
            &config.traces.spanevent,
        ),
        ("metrics::metric", Context::Metric, &config.metrics.metric),
        (
            "metrics::datapoint",
            Context::DataPoint,
            &config.metrics.datapoint,
        ),
        ("logs::log_record", Context::Log, &config.logs.log_record),
    ]
}

const OLD_FORM: &str = "the older include/exclude form of the filter processor is not supported; \
    write OTTL conditions instead, each dropping what it matches";

impl Validate for FilterConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        for (path, ctx, texts) in lists(self) {
            for (i, text) in texts.iter().enumerate() {
                if let Err(e) = Condition::parse(text, ctx) {
                    problems.push(ConfigProblem::new(format!("{path}[{i}]"), e.to_string()));
                }
            }
        }
        let old = [
            (
                "spans",
                self.spans.is_some(),
                "traces: {span: ['resource.attributes[\"service.name\"] == \"app_1\"', \
                 'IsMatch(name, \"^health\")']}",
            ),
            (
                "metrics::include",
                self.metrics.include.is_some(),
                "metrics: {metric: ['not IsMatch(name, \"^prefix/\")']} (include keeps what \
                 matches, so its conditions are negated)",
            ),
            (
                "metrics::exclude",
                self.metrics.exclude.is_some(),
                "metrics: {metric: ['name == \"hello_world\"', \
                 'resource.attributes[\"container.name\"] == \"app_container_1\"']}",
            ),
            (
                "metrics::regexp",
                self.metrics.regexp.is_some(),
                "metrics: {metric: ['IsMatch(name, \"^prefix_.*\")']}",
            ),
            (
                "logs::include",
                self.logs.include.is_some(),
                "logs: {log_record: ['not (resource.attributes[\"host.name\"] == \
                 \"just_this_one\")']} (include keeps what matches, so its conditions are \
                 negated)",
            ),
            (
                "logs::exclude",
                self.logs.exclude.is_some(),
                "logs: {log_record: ['severity_number < SEVERITY_NUMBER_WARN', \
                 'IsMatch(body, \"^DEBUG\")']}",
            ),
        ];
        for (path, present, example) in old {
            if present {
                problems.push(ConfigProblem::new(
                    path,
                    format!("{OLD_FORM}, e.g. {example}"),
                ));
            }
        }
        for (path, present, form) in [
            (
                "trace_conditions",
                self.trace_conditions.is_some(),
                "traces: {span: [...], spanevent: [...]}",
            ),
            (
                "metric_conditions",
                self.metric_conditions.is_some(),
                "metrics: {metric: [...], datapoint: [...]}",
            ),
            (
                "log_conditions",
                self.log_conditions.is_some(),
                "logs: {log_record: [...]}",
            ),
        ] {
            if present {
                problems.push(ConfigProblem::new(
                    path,
                    format!(
                        "context-inferred conditions are not supported yet; list the conditions \
                         per context instead: {form}"
                    ),
                ));
            }
        }
        problems
    }
}
