//! A group of points to its `CloudWatchMetrics` directives and EMF event (upstream
//! `metric_translator.go`: `translateGroupedMetricToCWMetric`,
//! `groupedMetricToCWMeasurement(sWithFilters)`, `translateCWMetricToEMF`).

use crate::config::{DimensionRollupOption, EmfVersion};
use crate::emf::{AwsMetadata, Dimensions, EmfDocument, Field, Measurement, MetricDirective};
use crate::grouped_metric::{GroupedMetric, PROMETHEUS_RECEIVER};
use crate::labels::LabelSet;
use crate::translator::{Compiled, EmfEvent};
use crate::util::{OTEL_LIB_DIMENSION_KEY, dedup_dimensions, dimension_rollup};

/// A data point attribute setting the metric's storage resolution in seconds
/// (`1` = high resolution); not a label (upstream `emfStorageResolutionAttribute`).
pub const STORAGE_RESOLUTION_ATTRIBUTE: &str = "aws.emf.storage_resolution";
/// CloudWatch's standard resolution, seconds: every directive's `StorageResolution`
/// unless the attribute above says otherwise (upstream, since PR 36057).
pub const STANDARD_STORAGE_RESOLUTION: i64 = 60;
/// The field naming a Prometheus metric's type (upstream `fieldPrometheusMetricType`).
pub const FIELD_PROMETHEUS_METRIC_TYPE: &str = "prom_metric_type";

fn directive<'a>(g: &GroupedMetric, name: &'a str, unit: &'a str) -> MetricDirective<'a> {
    // strconv.Atoi of the raw label: ignored unless an integer.
    let storage_resolution = g
        .labels
        .get(STORAGE_RESOLUTION_ATTRIBUTE)
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(STANDARD_STORAGE_RESOLUTION);
    MetricDirective {
        name,
        unit,
        storage_resolution,
    }
}

/// Without declarations: one directive with every label as one dimension set, plus
/// the rollups (upstream `groupedMetricToCWMeasurement`).
fn measurement_without_declarations<'a>(
    g: &'a GroupedMetric,
    labels: &'a LabelSet,
    c: &Compiled,
) -> Measurement<'a> {
    let option = c.config.dimension_rollup_option;
    let count = labels.len();
    let has_otel = labels.get(OTEL_LIB_DIMENSION_KEY).is_some();
    // The rollup is empty without a label other than OTelLib, or without rollup.
    let rollup_empty =
        option == DimensionRollupOption::NoDimensionRollup || count == usize::from(has_otel);
    // A lone label (or a label and OTelLib) is already its own single-dimension
    // rollup: then only the rollups are written.
    let single_label = count <= 1 || (count == 2 && has_otel);
    let single_rollup = option != DimensionRollupOption::NoDimensionRollup;
    Measurement {
        namespace: &g.namespace,
        dimensions: Dimensions::Rollup {
            labels,
            all: rollup_empty || !(single_label && single_rollup),
            option,
        },
        metrics: g
            .metrics
            .iter()
            .map(|(name, info)| directive(g, name, &info.unit))
            .collect(),
    }
}

/// With declarations (upstream `groupedMetricToCWMeasurementsWithFilters`): the
/// declarations whose label matchers match; each metric goes with the dimension
/// sets of the declarations whose selectors match its name (plus rollups), metrics
/// matching the same declarations share a directive; a metric matching none, or
/// whose declarations give no dimension set, is not extracted.
fn measurements_with_declarations<'a>(
    g: &'a GroupedMetric,
    labels: &'a LabelSet,
    c: &'a Compiled,
) -> Vec<Measurement<'a>> {
    let decls: Vec<usize> = c
        .declarations
        .iter()
        .enumerate()
        .filter(|(_, d)| d.matches_labels(labels))
        .map(|(i, _)| i)
        .collect();
    if decls.is_empty() {
        tracing::debug!(
            labels = ?labels,
            metrics = ?g.metrics.iter().map(|(n, _)| n.as_ref()).collect::<Vec<_>>(),
            "Dropped batch of metrics: no metric declaration matched labels"
        );
        return Vec::new();
    }
    // (matched declarations, directives), in the order first seen.
    let mut by_decls: Vec<(Vec<usize>, Vec<MetricDirective<'a>>)> = Vec::new();
    for (name, info) in &g.metrics {
        let matched: Vec<usize> = decls
            .iter()
            .copied()
            .filter(|&i| c.declarations[i].matches_name(name))
            .collect();
        if matched.is_empty() {
            tracing::debug!(metric = %name, "Dropped metric: no metric declaration matched metric name");
            continue;
        }
        let d = directive(g, name, &info.unit);
        match by_decls.iter_mut().find(|(m, _)| *m == matched) {
            Some((_, ds)) => ds.push(d),
            None => by_decls.push((matched, vec![d])),
        }
    }
    if by_decls.is_empty() {
        return Vec::new();
    }
    let names: Vec<&str> = labels.iter().map(|(k, _)| k).collect();
    let rollup = dimension_rollup(c.config.dimension_rollup_option, &names);
    let mut out = Vec::with_capacity(by_decls.len());
    for (matched, metrics) in by_decls {
        let mut dims: Vec<Vec<&str>> = Vec::new();
        for i in matched {
            dims.extend(
                c.declarations[i]
                    .extract_dimensions(labels)
                    .map(|set| set.iter().map(String::as_str).collect()),
            );
        }
        dims.extend(rollup.iter().cloned());
        let dims = dedup_dimensions(dims);
        if !dims.is_empty() {
            out.push(Measurement {
                namespace: &g.namespace,
                dimensions: Dimensions::Sets(dims),
                metrics,
            });
        }
    }
    out
}

/// The group's event, its message allocated with `capacity` bytes (the previous
/// event's length serves: the events of a batch are alike); `Err` when a value
/// cannot be written as JSON (NaN or ±Inf that got past the filters, e.g. an
/// overflowing delta).
pub(crate) fn group_to_event(
    g: &GroupedMetric,
    c: &Compiled,
    default_log_stream: &str,
    capacity: usize,
) -> Result<EmfEvent, serde_json::Error> {
    let labels = g.labels.without(STORAGE_RESOLUTION_ATTRIBUTE);
    let measurements: Vec<Measurement<'_>> = if c.config.disable_metric_extraction {
        Vec::new()
    } else if c.declarations.is_empty() {
        vec![measurement_without_declarations(g, &labels, c)]
    } else {
        measurements_with_declarations(g, &labels, c)
    };

    let is_prometheus = &*g.receiver == PROMETHEUS_RECEIVER;
    let mut doc = EmfDocument::with_capacity(labels.len() + g.metrics.len() + 4);
    for (k, v) in labels.iter() {
        doc.set(k, Field::Str(v));
    }
    for (name, info) in &g.metrics {
        doc.set(name, Field::Metric(&info.value));
    }
    if is_prometheus {
        doc.set(
            FIELD_PROMETHEUS_METRIC_TYPE,
            Field::Str(g.kind.prometheus_type()),
        );
    }
    for key in &c.config.parse_json_encoded_attr_values {
        if let Some(text) = doc.get_str(key) {
            match serde_json::from_str::<serde_json::Value>(text) {
                Ok(v) => doc.set(key, Field::Json(v)),
                Err(e) => {
                    tracing::debug!(key = %key, error = %e, "Failed to parse json-encoded string")
                }
            }
        }
    }
    match c.config.version {
        EmfVersion::V1 => {
            if !measurements.is_empty() {
                doc.set("Version", Field::Str("1"));
                doc.set(
                    "_aws",
                    Field::Aws(AwsMetadata {
                        cloudwatch_metrics: &measurements,
                        timestamp: g.timestamp_ms,
                    }),
                );
            }
        }
        EmfVersion::V0 => {
            doc.set("Timestamp", Field::String(g.timestamp_ms.to_string()));
            if !measurements.is_empty() {
                doc.set("Version", Field::Str("0"));
                doc.set("CloudWatchMetrics", Field::Measurements(&measurements));
            }
        }
    }
    let mut message = String::with_capacity(capacity);
    doc.finish().write(&mut message)?;
    let log_stream_name = if g.log_stream.is_empty() {
        default_log_stream.to_string()
    } else {
        g.log_stream.to_string()
    };
    Ok(EmfEvent {
        log_group_name: g.log_group.to_string(),
        log_stream_name,
        timestamp_ms: g.timestamp_ms,
        message,
    })
}
