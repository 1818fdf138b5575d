//! The `filter` processor: drops spans, span events, metrics, data points and log
//! records that match OTTL conditions (the [`stratus_ottl`] subset), like upstream's
//! `filterprocessor`.
//!
//! ```yaml
//! processors:
//!   filter:
//!     error_mode: ignore
//!     traces:
//!       span:
//!         - 'attributes["http.route"] == "/healthz"'
//!         - 'resource.attributes["k8s.namespace.name"] == "kube-system"'
//!       spanevent:
//!         - 'IsMatch(name, ".*grpc.*")'
//!     metrics:
//!       metric:
//!         - 'name == "internal.debug.timing"'
//!       datapoint:
//!         - 'metric.type == METRIC_DATA_TYPE_SUMMARY'
//!     logs:
//!       log_record:
//!         - 'severity_number < SEVERITY_NUMBER_WARN'
//! ```
//!
//! - An item is dropped when **any** of its context's conditions holds.
//! - A dropped span's events and a dropped metric's points are not evaluated. A span
//!   whose events are all dropped stays; a metric whose points are all dropped goes.
//!   Scopes and resources left empty go; a batch left empty is not passed on (and the
//!   call succeeds).
//! - Conditions are parsed when the config is checked: a problem names the list, the
//!   index and the column (`traces::span[1]: column 5: ...`).
//! - `error_mode` (default `propagate`): a condition that fails to evaluate refuses
//!   the batch with a permanent error under `propagate`; under `ignore` (logged) and
//!   `silent` it is taken as not matching, so the item stays.
//! - Dropped items are counted in `otelcol_processor_filter_spans_filtered`,
//!   `_datapoints_filtered` and `_logs_filtered` (label `filter`, the processor id).
//! - It holds nothing: `prepare` filters and passes two-phase admission on, so a
//!   fan-out into pipelines that start with `filter` stays all or nothing.
//!
//! Upstream's older `include`/`exclude` keys (`spans`, `metrics.include`, ...) and the
//! newer context-inferred `trace_conditions`/`metric_conditions`/`log_conditions` are
//! rejected with a message showing the per-context OTTL form.

mod config;
mod factory;
mod processor;

#[cfg(test)]
mod tests;

pub use config::{FilterConfig, LogsConditions, MetricsConditions, TracesConditions};
pub use factory::FilterProcessorFactory;
pub use processor::{DATAPOINTS_FILTERED, Dropped, Filter, LOGS_FILTERED, Rules, SPANS_FILTERED};
