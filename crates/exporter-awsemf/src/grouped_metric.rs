//! Grouping data points into EMF events (upstream `grouped_metric.go` and
//! `metric_translator.go` `translateOTelToGroupedMetric`).
//!
//! Points go into one group when they share namespace, timestamp, log group,
//! stream, labels, metric type and *batch index* (the point's position among its
//! metric's converted points): so a Sum, a Gauge and a Histogram with the same
//! labels are three events, and the parts of a split exponential histogram are
//! separate events. Each group becomes one event whose fields are its labels and
//! one field per metric.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::Serialize;
use stratus_core::pdata::metrics::{AggregationTemporality, Metric, metric::Data};

use crate::datapoint::{
    create_labels, exp_histogram_is_stale_nan_inf, exp_histogram_values,
    histogram_is_stale_nan_inf, histogram_stats, number_is_stale_nan_inf, number_value,
    summary_is_stale_nan_inf, summary_stats,
};
use crate::delta::{Calc, DeltaState, SeriesKey, SeriesScope};
use crate::emf::MetricValue;
use crate::labels::LabelSet;
use crate::translator::{Compiled, TranslationStats};
use crate::util::{UNDEFINED, replace_placeholders};
use stratus_aws_common::gojson::{self, format_float_g};

/// The resource attribute naming the receiver; `prometheus` adds
/// `prom_metric_type` and turns summaries into deltas (upstream `attributeReceiver`).
pub(crate) const ATTRIBUTE_RECEIVER: &str = "receiver";
/// The receiver value of Prometheus data (upstream `prometheusReceiver`).
pub(crate) const PROMETHEUS_RECEIVER: &str = "prometheus";

/// The OTLP metric types, which keep otherwise equal points apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum MetricKind {
    Gauge,
    Sum,
    Histogram,
    ExponentialHistogram,
    Summary,
}

impl MetricKind {
    /// `prom_metric_type` (upstream `fieldPrometheusTypes`, which has no entry for
    /// exponential histograms, hence `""`).
    pub(crate) fn prometheus_type(self) -> &'static str {
        match self {
            MetricKind::Gauge => "gauge",
            MetricKind::Sum => "counter",
            MetricKind::Histogram => "histogram",
            MetricKind::Summary => "summary",
            MetricKind::ExponentialHistogram => "",
        }
    }
}

/// What every point of one resource shares.
#[derive(Debug)]
pub(crate) struct ResourceContext {
    pub(crate) namespace: Arc<str>,
    pub(crate) log_group: Arc<str>,
    pub(crate) log_stream: Arc<str>,
    /// Every placeholder found a resource attribute; when not, labels are tried.
    pub(crate) placeholders_ok: bool,
    pub(crate) receiver: Arc<str>,
    /// Resource attributes copied onto every point (`resource_to_telemetry_conversion`).
    pub(crate) resource_labels: Vec<(String, String)>,
    pub(crate) series_scope: Arc<SeriesScope>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct GroupKey {
    namespace: Arc<str>,
    timestamp_ms: i64,
    log_group: Arc<str>,
    log_stream: Arc<str>,
    kind: MetricKind,
    batch_index: usize,
    labels: LabelSet,
}

/// Hashes the label set's keyed hash (computed once, when the set was made) and the
/// small fields; not the namespace, log group and stream, which nearly every point of
/// a batch shares. Equal keys still hash equal, and `Eq` compares every field.
impl Hash for GroupKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.labels.hash(state);
        state.write_i64(self.timestamp_ms);
        self.kind.hash(state);
        state.write_usize(self.batch_index);
    }
}

/// One metric of a group.
#[derive(Debug, Clone)]
pub(crate) struct MetricInfo {
    pub(crate) value: MetricValue,
    pub(crate) unit: Arc<str>,
}

/// Points that become one EMF event.
#[derive(Debug)]
pub(crate) struct GroupedMetric {
    pub(crate) labels: LabelSet,
    /// In the order they were added.
    pub(crate) metrics: Vec<(Arc<str>, MetricInfo)>,
    pub(crate) namespace: Arc<str>,
    pub(crate) timestamp_ms: i64,
    pub(crate) log_group: Arc<str>,
    pub(crate) log_stream: Arc<str>,
    pub(crate) kind: MetricKind,
    /// Of the first point (upstream keeps it in the group's metadata, not its key).
    pub(crate) receiver: Arc<str>,
}

/// The groups of one translation, in the order they were started.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    /// Keyed with foldhash: a key hashes its label set's hash and a few integers.
    index: HashMap<GroupKey, usize, foldhash::fast::RandomState>,
    pub(crate) groups: Vec<GroupedMetric>,
}

/// A converted data point before grouping.
struct DataPoint {
    name: Arc<str>,
    value: MetricValue,
    labels: LabelSet,
    timestamp_ms: i64,
}

/// The CloudWatch unit of a metric (upstream `translateUnit`): a
/// `metric_descriptors` unit when the metric has none or `overwrite` is set, else
/// the OTel unit mapped (`1` and `ns` to none; `ms`, `s`, `us`, `By`, `bit`).
pub(crate) fn translate_unit(metric: &Metric, c: &Compiled) -> String {
    if let Some(d) = c.descriptors.get(metric.name.as_str())
        && (metric.unit.is_empty() || d.overwrite)
    {
        return d.unit.clone();
    }
    match metric.unit.as_str() {
        // CloudWatch has no Nanoseconds.
        "1" | "ns" => String::new(),
        "ms" => "Milliseconds".to_string(),
        "s" => "Seconds".to_string(),
        "us" => "Microseconds".to_string(),
        "By" => "Bytes".to_string(),
        "bit" => "Bits".to_string(),
        other => other.to_string(),
    }
}

impl Groups {
    /// Converts one metric's points and adds them to their groups (upstream
    /// `addToGroupedMetric`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add_metric(
        &mut self,
        metric: &Metric,
        res: &ResourceContext,
        scope_name: &str,
        c: &Compiled,
        state: &mut DeltaState,
        stats: &mut TranslationStats,
        now_ms: i64,
    ) {
        let Some(data) = &metric.data else {
            tracing::debug!(name = %metric.name, "Unhandled metric data type: empty metric");
            return;
        };
        let name: Arc<str> = metric.name.as_str().into();
        let retain = c.config.retain_initial_value_of_delta_metric;
        let key = |calc: Calc, labels: &LabelSet| SeriesKey {
            calc,
            metric: name.clone(),
            scope: res.series_scope.clone(),
            labels: labels.clone(),
        };
        let labels_of = |attrs| create_labels(attrs, &res.resource_labels, scope_name);
        let mut points: Vec<DataPoint> = Vec::new();
        let kind = match data {
            Data::Gauge(g) => {
                stats.data_points += g.data_points.len();
                for dp in &g.data_points {
                    if number_is_stale_nan_inf(dp) {
                        stats.dropped_invalid += 1;
                        continue;
                    }
                    points.push(DataPoint {
                        name: name.clone(),
                        value: MetricValue::Number(number_value(dp)),
                        labels: labels_of(&dp.attributes),
                        timestamp_ms: crate::util::unix_nanos_to_millis(dp.time_unix_nano),
                    });
                }
                MetricKind::Gauge
            }
            Data::Sum(s) => {
                stats.data_points += s.data_points.len();
                let cumulative =
                    s.aggregation_temporality == AggregationTemporality::Cumulative as i32;
                for dp in &s.data_points {
                    if number_is_stale_nan_inf(dp) {
                        stats.dropped_invalid += 1;
                        continue;
                    }
                    let labels = labels_of(&dp.attributes);
                    let mut value = number_value(dp);
                    if cumulative {
                        match state.number(key(Calc::Number, &labels), value, now_ms) {
                            // A drop means the counter was reset: send the raw value.
                            Some(delta) if delta >= 0.0 => value = delta,
                            Some(_) => {}
                            None if retain => {}
                            None => {
                                stats.held_as_baseline += 1;
                                continue;
                            }
                        }
                    }
                    points.push(DataPoint {
                        name: name.clone(),
                        value: MetricValue::Number(value),
                        labels,
                        timestamp_ms: crate::util::unix_nanos_to_millis(dp.time_unix_nano),
                    });
                }
                MetricKind::Sum
            }
            Data::Histogram(h) => {
                stats.data_points += h.data_points.len();
                for dp in &h.data_points {
                    if histogram_is_stale_nan_inf(dp) {
                        stats.dropped_invalid += 1;
                        continue;
                    }
                    points.push(DataPoint {
                        name: name.clone(),
                        value: MetricValue::Stats(histogram_stats(dp)),
                        labels: labels_of(&dp.attributes),
                        timestamp_ms: crate::util::unix_nanos_to_millis(dp.time_unix_nano),
                    });
                }
                MetricKind::Histogram
            }
            Data::ExponentialHistogram(h) => {
                stats.data_points += h.data_points.len();
                for dp in &h.data_points {
                    if exp_histogram_is_stale_nan_inf(dp) {
                        stats.dropped_invalid += 1;
                        continue;
                    }
                    let labels = labels_of(&dp.attributes);
                    let ts = crate::util::unix_nanos_to_millis(dp.time_unix_nano);
                    for split in exp_histogram_values(dp) {
                        points.push(DataPoint {
                            name: name.clone(),
                            value: MetricValue::Histogram(split),
                            labels: labels.clone(),
                            timestamp_ms: ts,
                        });
                    }
                }
                MetricKind::ExponentialHistogram
            }
            Data::Summary(s) => {
                stats.data_points += s.data_points.len();
                // Prometheus summaries are cumulative; SDK ones are reset at each
                // export (upstream getDataPoints).
                let adjust = &*res.receiver == PROMETHEUS_RECEIVER;
                for dp in &s.data_points {
                    if summary_is_stale_nan_inf(dp) {
                        stats.dropped_invalid += 1;
                        continue;
                    }
                    let labels = labels_of(&dp.attributes);
                    let (mut sum, mut count) = (dp.sum, dp.count);
                    if adjust {
                        match state.summary(key(Calc::Summary, &labels), sum, count, now_ms) {
                            Some(d) => (sum, count) = d,
                            None if retain => {}
                            None => {
                                stats.held_as_baseline += 1;
                                continue;
                            }
                        }
                    }
                    let ts = crate::util::unix_nanos_to_millis(dp.time_unix_nano);
                    if c.config.detailed_metrics {
                        points.push(DataPoint {
                            name: format!("{name}_sum").into(),
                            value: MetricValue::Number(sum),
                            labels: labels.clone(),
                            timestamp_ms: ts,
                        });
                        points.push(DataPoint {
                            name: format!("{name}_count").into(),
                            value: MetricValue::Count(count),
                            labels: labels.clone(),
                            timestamp_ms: ts,
                        });
                        for q in &dp.quantile_values {
                            points.push(DataPoint {
                                name: name.clone(),
                                value: MetricValue::Number(q.value),
                                labels: labels.with("quantile", format_float_g(q.quantile)),
                                timestamp_ms: ts,
                            });
                        }
                    } else {
                        points.push(DataPoint {
                            name: name.clone(),
                            value: MetricValue::Stats(summary_stats(dp, sum, count)),
                            labels,
                            timestamp_ms: ts,
                        });
                    }
                }
                MetricKind::Summary
            }
        };
        if points.is_empty() {
            return;
        }
        let unit: Arc<str> = translate_unit(metric, c).into();
        for (i, dp) in points.into_iter().enumerate() {
            let labels = if c.config.eks_fargate_container_insights_enabled {
                add_kubernetes_wrapper(dp.labels)
            } else {
                dp.labels
            };
            let (log_group, log_stream) = placeholders_from_labels(res, &labels, c);
            // Upstream carries the last non-zero timestamp and the filled log group
            // from point to point of a metric; each point uses its own here.
            let timestamp_ms = if dp.timestamp_ms > 0 {
                dp.timestamp_ms
            } else {
                now_ms
            };
            // Detailed summaries keep one batch so that `_sum`, `_count` and the
            // quantiles of a point share events where their labels allow.
            let batch_index = if kind == MetricKind::Summary && c.config.detailed_metrics {
                0
            } else {
                i
            };
            self.upsert(
                GroupKey {
                    namespace: res.namespace.clone(),
                    timestamp_ms,
                    log_group,
                    log_stream,
                    kind,
                    batch_index,
                    labels,
                },
                dp.name,
                MetricInfo {
                    value: dp.value,
                    unit: unit.clone(),
                },
                &res.receiver,
            );
        }
    }

    fn upsert(&mut self, key: GroupKey, name: Arc<str>, info: MetricInfo, receiver: &Arc<str>) {
        if let Some(&i) = self.index.get(&key) {
            let g = &mut self.groups[i];
            if g.metrics.iter().any(|(n, _)| *n == name) {
                tracing::warn!(name = %name, labels = ?g.labels, "Duplicate metric found");
            } else {
                g.metrics.push((name, info));
            }
            return;
        }
        self.groups.push(GroupedMetric {
            labels: key.labels.clone(),
            metrics: vec![(name, info)],
            namespace: key.namespace.clone(),
            timestamp_ms: key.timestamp_ms,
            log_group: key.log_group.clone(),
            log_stream: key.log_stream.clone(),
            kind: key.kind,
            receiver: receiver.clone(),
        });
        self.index.insert(key, self.groups.len() - 1);
    }
}

/// When a placeholder found no resource attribute, the point's labels are tried
/// (upstream `replacePatternsIfNeeded`).
fn placeholders_from_labels(
    res: &ResourceContext,
    labels: &LabelSet,
    c: &Compiled,
) -> (Arc<str>, Arc<str>) {
    if res.placeholders_ok {
        return (res.log_group.clone(), res.log_stream.clone());
    }
    let fill = |current: &Arc<str>, template: &str| -> Arc<str> {
        if !template.is_empty() && current.contains(UNDEFINED) {
            replace_placeholders(template, labels).0.into()
        } else {
            current.clone()
        }
    };
    (
        fill(&res.log_group, &c.config.log_group_name),
        fill(&res.log_stream, &c.config.log_stream_name),
    )
}

/// The Container Insights `kubernetes` object of EKS Fargate pod and container
/// metrics (upstream `kubernetesObj`; omitempty fields in this order).
#[derive(Serialize)]
struct KubernetesObject<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    container_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    docker: Option<KubernetesDocker<'a>>,
    #[serde(skip_serializing_if = "str::is_empty")]
    host: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<KubernetesLabels<'a>>,
    #[serde(skip_serializing_if = "str::is_empty")]
    namespace_name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pod_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pod_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pod_owners: Option<KubernetesOwners<'a>>,
    #[serde(skip_serializing_if = "str::is_empty")]
    service_name: &'a str,
}

#[derive(Serialize)]
struct KubernetesDocker<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    container_id: &'a str,
}

#[derive(Serialize)]
struct KubernetesLabels<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    app: &'a str,
    #[serde(rename = "pod-template-hash", skip_serializing_if = "str::is_empty")]
    pod_template_hash: &'a str,
}

#[derive(Serialize)]
struct KubernetesOwners<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    owner_kind: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    owner_name: &'a str,
}

/// Adds the `kubernetes` label to points whose `Type` is `Pod` or `Container`
/// (upstream `enrichLabels` / `addKubernetesWrapper`).
fn add_kubernetes_wrapper(labels: LabelSet) -> LabelSet {
    if !matches!(labels.get("Type"), Some("Pod" | "Container")) {
        return labels;
    }
    let g = |k: &str| labels.get(k).unwrap_or("");
    let obj = KubernetesObject {
        container_name: g("container"),
        docker: (!g("container_id").is_empty()).then(|| KubernetesDocker {
            container_id: g("container_id"),
        }),
        host: g("NodeName"),
        labels: (!g("app").is_empty() || !g("pod-template-hash").is_empty()).then(|| {
            KubernetesLabels {
                app: g("app"),
                pod_template_hash: g("pod-template-hash"),
            }
        }),
        namespace_name: g("Namespace"),
        pod_id: g("PodId"),
        pod_name: g("PodName"),
        pod_owners: (!g("owner_kind").is_empty() || !g("owner_name").is_empty()).then(|| {
            KubernetesOwners {
                owner_kind: g("owner_kind"),
                owner_name: g("owner_name"),
            }
        }),
        service_name: g("Service"),
    };
    match gojson::to_string(&obj, true) {
        Ok(json) => labels.with("kubernetes", json),
        Err(_) => labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_wrapper_as_upstream() {
        let l = LabelSet::from_pairs(
            [
                ("Type", "Pod"),
                ("container", "cloudwatch-agent"),
                ("container_id", "fc1b"),
                ("NodeName", "ip-192-168-58-245.ec2.internal"),
                ("Namespace", "amazon-cloudwatch"),
                ("PodId", "e23f"),
                ("PodName", "cloudwatch-agent-26bl6"),
                ("owner_kind", "DaemonSet"),
                ("owner_name", "cloudwatch-agent"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let out = add_kubernetes_wrapper(l);
        assert_eq!(
            out.get("kubernetes"),
            Some(
                r#"{"container_name":"cloudwatch-agent","docker":{"container_id":"fc1b"},"host":"ip-192-168-58-245.ec2.internal","namespace_name":"amazon-cloudwatch","pod_id":"e23f","pod_name":"cloudwatch-agent-26bl6","pod_owners":{"owner_kind":"DaemonSet","owner_name":"cloudwatch-agent"}}"#
            )
        );
        let node = LabelSet::from_pairs([("Type".to_string(), "Node".to_string())]);
        assert_eq!(add_kubernetes_wrapper(node.clone()), node);
    }
}
