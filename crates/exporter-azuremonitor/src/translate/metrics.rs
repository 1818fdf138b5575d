//! Metric data points → one Metric envelope each.

use super::attrs::{self, truncate};
use super::common;
use super::{Output, TranslatorConfig};
use crate::envelope::{BaseData, DOMAIN_VERSION, MetricDataPoint, MetricsData, Number, StrMap};
use stratus_core::pdata::common::KeyValue;
use stratus_core::pdata::metrics::{Metric, metric::Data, number_data_point};

/// One data point reduced to what a MetricDataPoint carries.
struct Point<'a> {
    attributes: &'a [KeyValue],
    time: u64,
    flags: u32,
    value: Number,
    count: u64,
    min: Option<f64>,
    max: Option<f64>,
}

/// Flag bit of a data point that carries no recorded value.
const NO_RECORDED_VALUE: u32 = 1;

fn float(v: f64) -> Number {
    Number::Float(v)
}

/// Translates every data point of `metric` into `out`; `index` is the item index of its
/// first data point, `failures` collects the points that cannot be sent.
pub fn translate_metric(
    config: &TranslatorConfig,
    resource_tags: &StrMap,
    metric: &Metric,
    index: &mut usize,
    out: &mut Output,
) {
    let points: Vec<Point<'_>> = match &metric.data {
        None => Vec::new(),
        Some(Data::Gauge(g)) => g.data_points.iter().map(number_point).collect(),
        Some(Data::Sum(s)) => s.data_points.iter().map(number_point).collect(),
        Some(Data::Histogram(h)) => h
            .data_points
            .iter()
            .map(|p| Point {
                attributes: &p.attributes,
                time: p.time_unix_nano,
                flags: p.flags,
                value: float(p.sum.unwrap_or(0.0)),
                count: p.count,
                min: p.min,
                max: p.max,
            })
            .collect(),
        Some(Data::ExponentialHistogram(h)) => h
            .data_points
            .iter()
            .map(|p| Point {
                attributes: &p.attributes,
                time: p.time_unix_nano,
                flags: p.flags,
                value: float(p.sum.unwrap_or(0.0)),
                count: p.count,
                min: p.min,
                max: p.max,
            })
            .collect(),
        Some(Data::Summary(s)) => s
            .data_points
            .iter()
            .map(|p| {
                let q = |want: f64| {
                    p.quantile_values
                        .iter()
                        .find(|q| q.quantile == want)
                        .map(|q| q.value)
                };
                Point {
                    attributes: &p.attributes,
                    time: p.time_unix_nano,
                    flags: p.flags,
                    value: float(p.sum),
                    count: p.count,
                    min: q(0.0),
                    max: q(1.0),
                }
            })
            .collect(),
    };
    let name = truncate(metric.name.clone(), 1024);
    for p in points {
        let i = *index;
        *index += 1;
        if p.flags & NO_RECORDED_VALUE != 0 {
            out.fail(
                i,
                format!("metric {name:?}: data point has no recorded value"),
            );
            continue;
        }
        let finite = |v: Option<f64>| v.is_none_or(f64::is_finite);
        let value_ok = match p.value {
            Number::Float(v) => v.is_finite(),
            Number::Int(_) => true,
        };
        if !value_ok || !finite(p.min) || !finite(p.max) {
            out.fail(i, format!("metric {name:?}: value is not a finite number"));
            continue;
        }
        let mut tags = resource_tags.clone();
        if common::is_synthetic(p.attributes) {
            tags.insert(common::tag::SYNTHETIC, "True");
        }
        let mut properties = StrMap::new();
        attrs::properties_into(&mut properties, p.attributes, |_| true);
        let data = BaseData::Metric(MetricsData {
            ver: DOMAIN_VERSION,
            properties,
            metrics: vec![MetricDataPoint {
                name: name.clone(),
                value: p.value,
                count: p.count,
                min: p.min,
                max: p.max,
            }],
        });
        out.set_item(i);
        out.push(config, tags, p.time, None, data);
    }
}

fn number_point(p: &stratus_core::pdata::metrics::NumberDataPoint) -> Point<'_> {
    let value = match p.value {
        Some(number_data_point::Value::AsInt(i)) => Number::Int(i),
        Some(number_data_point::Value::AsDouble(d)) => Number::Float(d),
        None => Number::Int(0),
    };
    Point {
        attributes: &p.attributes,
        time: p.time_unix_nano,
        flags: p.flags,
        value,
        count: 1,
        min: None,
        max: None,
    }
}
