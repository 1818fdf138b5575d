//! Data point values (upstream `exporter/awsemfexporter/datapoint.go`): numbers,
//! histograms as statistic sets, exponential histograms as values and counts split
//! at 100 buckets, summaries; and which points are stale, NaN or infinite.

use std::borrow::Cow;

use stratus_core::pdata::common::KeyValue;
use stratus_core::pdata::metrics::{
    ExponentialHistogramDataPoint, HistogramDataPoint, NumberDataPoint, SummaryDataPoint,
    exponential_histogram_data_point::Buckets, number_data_point,
};

use crate::emf::{StatisticSet, ValuesAndCounts};
use crate::labels::LabelSet;
use crate::util::OTEL_LIB_DIMENSION_KEY;
use stratus_aws_common::gojson;

/// At most this many buckets go in one `Values`/`Counts` pair: "CloudWatch EMF
/// logs allows in maximum of 100 target members" (upstream
/// `exponentialHistogramDataPointSlice.CalculateDeltaDatapoints`, `splitThreshold`).
pub const MAX_VALUES_PER_DATAPOINT: usize = 100;

/// The OTLP `DataPointFlags.FLAG_NO_RECORDED_VALUE` bit.
const NO_RECORDED_VALUE: u32 = 1;

/// The labels of a data point (upstream `createLabels` after
/// `resource_to_telemetry_conversion`): its attributes as strings, then the
/// resource's (which win), then `OTelLib` when the scope has a name.
pub(crate) fn create_labels(
    attributes: &[KeyValue],
    resource_labels: &[(String, String)],
    scope_name: &str,
) -> LabelSet {
    let pairs = attributes
        .iter()
        .map(|kv| (kv.key.as_str(), gojson::as_string(kv.value.as_ref())))
        .chain(
            resource_labels
                .iter()
                .map(|(k, v)| (k.as_str(), Cow::Borrowed(v.as_str()))),
        )
        .chain(
            (!scope_name.is_empty()).then_some((OTEL_LIB_DIMENSION_KEY, Cow::Borrowed(scope_name))),
        );
    LabelSet::from_pairs(pairs)
}

/// A gauge or sum point's value as a float (an empty value is 0, as in pdata).
pub(crate) fn number_value(dp: &NumberDataPoint) -> f64 {
    match dp.value {
        Some(number_data_point::Value::AsDouble(v)) => v,
        Some(number_data_point::Value::AsInt(v)) => v as f64,
        None => 0.0,
    }
}

fn not_finite(v: f64) -> bool {
    !v.is_finite()
}

/// Upstream `numberDataPointSlice.IsStaleNaNInf`.
pub(crate) fn number_is_stale_nan_inf(dp: &NumberDataPoint) -> bool {
    dp.flags & NO_RECORDED_VALUE != 0
        || matches!(dp.value, Some(number_data_point::Value::AsDouble(v)) if not_finite(v))
}

/// Upstream `histogramDataPointSlice.IsStaleNaNInf` (an unset min, max or sum is 0).
pub(crate) fn histogram_is_stale_nan_inf(dp: &HistogramDataPoint) -> bool {
    dp.flags & NO_RECORDED_VALUE != 0
        || [dp.max, dp.sum, dp.min]
            .iter()
            .any(|v| v.is_some_and(not_finite))
}

/// Upstream `exponentialHistogramDataPointSlice.IsStaleNaNInf`.
pub(crate) fn exp_histogram_is_stale_nan_inf(dp: &ExponentialHistogramDataPoint) -> bool {
    dp.flags & NO_RECORDED_VALUE != 0
        || [dp.max, dp.min, dp.sum]
            .iter()
            .any(|v| v.is_some_and(not_finite))
}

/// Upstream `summaryDataPointSlice.IsStaleNaNInf`.
pub(crate) fn summary_is_stale_nan_inf(dp: &SummaryDataPoint) -> bool {
    dp.flags & NO_RECORDED_VALUE != 0
        || not_finite(dp.sum)
        || dp
            .quantile_values
            .iter()
            .any(|q| not_finite(q.value) || not_finite(q.quantile))
}

/// A histogram point as a statistic set; unset min, max and sum are 0 (pdata).
/// Histograms are sent as they come, cumulative ones too: upstream has no delta for
/// them yet (contrib issue 18245).
pub(crate) fn histogram_stats(dp: &HistogramDataPoint) -> StatisticSet {
    StatisticSet {
        max: dp.max.unwrap_or(0.0),
        min: dp.min.unwrap_or(0.0),
        count: dp.count,
        sum: dp.sum.unwrap_or(0.0),
    }
}

/// A summary as a statistic set of `count` and `sum` (deltas for Prometheus
/// summaries), with the first quantile's value as `Min` and the last's as `Max`.
pub(crate) fn summary_stats(dp: &SummaryDataPoint, sum: f64, count: u64) -> StatisticSet {
    let (min, max) = match (dp.quantile_values.first(), dp.quantile_values.last()) {
        (Some(first), Some(last)) => (first.value, last.value),
        _ => (0.0, 0.0),
    };
    StatisticSet {
        max,
        min,
        count,
        sum,
    }
}

/// One `Values`/`Counts` pair under construction.
struct Split {
    out: ValuesAndCounts,
    length: usize,
    capacity: usize,
}

impl Split {
    fn is_full(&self) -> bool {
        self.length >= self.capacity
    }

    fn append(&mut self, value: f64, count: u64) {
        self.out.values.push(value);
        self.out.counts.push(count as f64);
        self.length += 1;
        // Bucket counts come from the client: their sum may not fit (Go wraps; a
        // count at the limit is as wrong but does not panic).
        self.out.count = self.out.count.saturating_add(count);
    }
}

fn buckets(b: &Option<Buckets>) -> (i32, &[u64]) {
    b.as_ref()
        .map_or((0, &[][..]), |b| (b.offset, b.bucket_counts.as_slice()))
}

/// An exponential histogram point as values and counts (bucket midpoints, from the
/// highest positive bucket down through zero to the lowest negative one, empty
/// buckets left out), split into several when more than
/// [`MAX_VALUES_PER_DATAPOINT`] buckets (upstream, with its rules): only the first
/// split carries `Sum`; each split counts its own buckets; `Max` of the first and
/// `Min` of the last are the point's own, the others the bounds of their buckets.
pub(crate) fn exp_histogram_values(dp: &ExponentialHistogramDataPoint) -> Vec<ValuesAndCounts> {
    let (pos_offset, pos) = buckets(&dp.positive);
    let (neg_offset, neg) = buckets(&dp.negative);
    let base = 2f64.powf(2f64.powf(-f64::from(dp.scale)));
    let (dp_min, dp_max, dp_sum) = (
        dp.min.unwrap_or(0.0),
        dp.max.unwrap_or(0.0),
        dp.sum.unwrap_or(0.0),
    );
    let total = pos.len() + neg.len() + usize::from(dp.zero_count > 0);

    let mut out: Vec<ValuesAndCounts> = Vec::new();
    let mut bucket_index = 0usize;
    // Positive buckets are walked from the highest index down.
    let mut pos_left = pos.len();
    let mut zero_done = false;
    let mut neg_index = 0usize;
    while bucket_index < total {
        let mut split = Split {
            out: ValuesAndCounts {
                values: Vec::new(),
                counts: Vec::new(),
                max: dp_max,
                min: dp_min,
                count: 0,
                sum: if bucket_index == 0 { dp_sum } else { 0.0 },
            },
            length: 0,
            capacity: MAX_VALUES_PER_DATAPOINT.min(total - bucket_index),
        };
        while !split.is_full() && pos_left > 0 {
            let i = pos_left - 1;
            let index = f64::from(pos_offset) + i as f64;
            let begin = base.powf(index);
            let end = base.powf(index + 1.0);
            if pos[i] > 0 {
                split.append((begin + end) / 2.0, pos[i]);
                if split.length == 1 {
                    split.out.max = end;
                }
                if split.is_full() {
                    split.out.min = begin;
                }
            }
            bucket_index += 1;
            pos_left -= 1;
        }
        if dp.zero_count > 0 && !split.is_full() && !zero_done {
            split.append(0.0, dp.zero_count);
            if split.length == 1 {
                split.out.max = 0.0;
            }
            if split.is_full() {
                split.out.min = 0.0;
            }
            zero_done = true;
            bucket_index += 1;
        }
        while !split.is_full() && neg_index < neg.len() {
            let index = f64::from(neg_offset) + neg_index as f64;
            let end = -base.powf(index);
            let begin = -base.powf(index + 1.0);
            if neg[neg_index] > 0 {
                split.append((begin + end) / 2.0, neg[neg_index]);
                if split.length == 1 {
                    split.out.max = end;
                }
                if split.is_full() {
                    split.out.min = begin;
                }
            }
            bucket_index += 1;
            neg_index += 1;
        }
        if split.length > 0 {
            out.push(split.out);
        }
    }
    if out.is_empty() {
        return vec![ValuesAndCounts {
            values: Vec::new(),
            counts: Vec::new(),
            max: dp_max,
            min: dp_min,
            count: dp.count,
            sum: dp_sum,
        }];
    }
    if let Some(first) = out.first_mut() {
        first.max = dp_max;
    }
    if let Some(last) = out.last_mut() {
        last.min = dp_min;
    }
    out
}

#[cfg(test)]
mod tests {
    //! Ported from upstream `datapoint_test.go`.
    use super::*;
    use stratus_testkit::otlp::{exp_histogram_point, histogram_point, number_point};

    #[test]
    fn stale_nan_inf_numbers() {
        assert!(number_is_stale_nan_inf(&number_point(f64::NAN).build()));
        assert!(number_is_stale_nan_inf(
            &number_point(f64::INFINITY).build()
        ));
        assert!(!number_is_stale_nan_inf(&number_point(0.4).build()));
        assert!(!number_is_stale_nan_inf(&number_point(7).build()));
        assert!(number_is_stale_nan_inf(&number_point(0.4).flags(1).build()));
    }

    #[test]
    fn stale_nan_inf_histograms() {
        let hp =
            |sum: f64, min: f64, max: f64| histogram_point([]).count(17).sum(sum).min(min).max(max);
        for (p, want) in [
            (hp(f64::NAN, f64::NAN, f64::NAN), true),
            (hp(f64::NAN, 1234.0, 1234.0), true),
            (hp(123.0, f64::NAN, 123.0), true),
            (hp(123.0, 123.0, f64::NAN), true),
            (hp(17.13, 10.0, 30.0), false),
            (hp(17.13, 10.0, 30.0).flags(1), true),
            (hp(f64::INFINITY, f64::INFINITY, f64::INFINITY), true),
            (hp(f64::INFINITY, 1234.0, 1234.0), true),
            (hp(123.0, f64::INFINITY, 123.0), true),
            (hp(123.0, 123.0, f64::INFINITY), true),
        ] {
            assert_eq!(histogram_is_stale_nan_inf(&p.build()), want);
        }
        let ep = |sum: f64, min: f64, max: f64| exp_histogram_point(0).sum(sum).min(min).max(max);
        for (p, want) in [
            (ep(17.13, 10.0, 30.0), false),
            (ep(f64::NAN, f64::NAN, f64::NAN), true),
            (ep(f64::NAN, 1245.0, 1234556.0), true),
            (ep(1255.0, f64::NAN, 12545.0), true),
            (ep(512444.0, 123.0, f64::NAN), true),
            (ep(17.13, 10.0, 30.0).flags(1), true),
            (ep(f64::INFINITY, 1.0, 2.0), true),
        ] {
            assert_eq!(exp_histogram_is_stale_nan_inf(&p.build()), want);
        }
    }

    #[test]
    fn exp_histogram_bucket_counts_over_u64_saturate() {
        // Found by the `emf` fuzz target: two buckets whose counts add past u64::MAX.
        // Built by hand: the test kit's builder sums the counts itself.
        let p = ExponentialHistogramDataPoint {
            positive: Some(Buckets {
                offset: 0,
                bucket_counts: vec![u64::MAX, 2],
            }),
            zero_count: u64::MAX,
            ..Default::default()
        };
        let splits = exp_histogram_values(&p);
        assert_eq!(splits.len(), 1);
        assert_eq!(splits[0].count, u64::MAX);
        assert_eq!(
            splits[0].counts,
            vec![2.0, u64::MAX as f64, u64::MAX as f64]
        );
    }

    #[test]
    fn histogram_as_statistic_set() {
        let p = histogram_point([])
            .count(17)
            .sum(17.13)
            .min(10.0)
            .max(30.0)
            .build();
        assert_eq!(
            histogram_stats(&p),
            StatisticSet {
                max: 30.0,
                min: 10.0,
                count: 17,
                sum: 17.13
            }
        );
        let p = histogram_point([1, 2, 3])
            .bounds([1.0, 2.0, 3.0])
            .count(17)
            .sum(17.13)
            .build();
        assert_eq!(
            histogram_stats(&p),
            StatisticSet {
                max: 0.0,
                min: 0.0,
                count: 17,
                sum: 17.13
            }
        );
    }

    fn one(dp: ExponentialHistogramDataPoint) -> ValuesAndCounts {
        let v = exp_histogram_values(&dp);
        assert_eq!(v.len(), 1);
        v.into_iter().next().unwrap()
    }

    #[test]
    fn exponential_histograms() {
        let mut p = exp_histogram_point(0)
            .sum(17.13)
            .min(10.0)
            .max(30.0)
            .build();
        p.count = 17;
        assert_eq!(
            one(p),
            ValuesAndCounts {
                values: vec![],
                counts: vec![],
                max: 30.0,
                min: 10.0,
                count: 17,
                sum: 17.13
            }
        );
        let mut p = exp_histogram_point(0).sum(17.13).build();
        p.count = 17;
        assert_eq!(
            one(p),
            ValuesAndCounts {
                values: vec![],
                counts: vec![],
                max: 0.0,
                min: 0.0,
                count: 17,
                sum: 17.13
            }
        );
        let p = exp_histogram_point(0)
            .positive(0, [1, 2, 3])
            .zero_count(4)
            .negative(0, [1, 2, 3])
            .build();
        assert_eq!(
            one(p),
            ValuesAndCounts {
                values: vec![6.0, 3.0, 1.5, 0.0, -1.5, -3.0, -6.0],
                counts: vec![3.0, 2.0, 1.0, 4.0, 1.0, 2.0, 3.0],
                max: 0.0,
                min: 0.0,
                count: 16,
                sum: 0.0,
            }
        );
        let p = exp_histogram_point(-1)
            .positive(-1, [1, 2, 3])
            .zero_count(4)
            .negative(-1, [1, 2, 3])
            .build();
        assert_eq!(one(p).values, [10.0, 2.5, 0.625, 0.0, -0.625, -2.5, -10.0]);
    }

    fn counts_1_to(n: u64) -> Vec<u64> {
        (1..=n).collect()
    }

    #[test]
    fn exponential_histogram_split_at_100_buckets() {
        // 60 positive, zero, 60 negative buckets at scale 0.
        let mut p = exp_histogram_point(0)
            .positive(0, counts_1_to(60))
            .zero_count(2)
            .negative(0, counts_1_to(60))
            .sum(1000.0)
            .min(-9e17)
            .max(9e17)
            .build();
        p.count = 3662;
        let v = exp_histogram_values(&p);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].values.len(), 100);
        assert_eq!(v[0].values[0], 8.646911284551352e17);
        assert_eq!(v[0].values[59], 1.5);
        assert_eq!(v[0].values[60], 0.0);
        assert_eq!(v[0].values[99], -4.12316860416e11);
        assert_eq!(v[0].counts[..3], [60.0, 59.0, 58.0]);
        assert_eq!(v[0].counts[58..62], [2.0, 1.0, 2.0, 1.0]);
        assert_eq!(v[0].counts[99], 39.0);
        assert_eq!(
            (v[0].sum, v[0].count, v[0].min, v[0].max),
            (1000.0, 2612, -5.49755813888e11, 9e17)
        );
        assert_eq!(v[1].values.len(), 21);
        assert_eq!(v[1].values[0], -8.24633720832e11);
        assert_eq!(v[1].values[20], -8.646911284551352e17);
        assert_eq!(v[1].counts[0], 40.0);
        assert_eq!(v[1].counts[20], 60.0);
        assert_eq!(
            (v[1].sum, v[1].count, v[1].min, v[1].max),
            (0.0, 1050, -9e17, -5.49755813888e11)
        );

        // 120 positive and zero.
        let mut p = exp_histogram_point(0)
            .positive(0, counts_1_to(120))
            .zero_count(2)
            .sum(10000.0)
            .min(0.0)
            .max(9e36)
            .build();
        p.count = 7262;
        let v = exp_histogram_values(&p);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].values[0], 9.969209968386869e35);
        assert_eq!(v[0].values[99], 1.572864e6);
        assert_eq!(
            (v[0].sum, v[0].count, v[0].min, v[0].max),
            (10000.0, 7050, 1.048576e6, 9e36)
        );
        assert_eq!(v[1].values.len(), 21);
        assert_eq!(v[1].values[20], 0.0);
        assert_eq!(v[1].counts[20], 2.0);
        assert_eq!(
            (v[1].sum, v[1].count, v[1].min, v[1].max),
            (0.0, 212, 0.0, 1.048576e6)
        );

        // 120 negative and zero.
        let mut p = exp_histogram_point(0)
            .negative(0, counts_1_to(120))
            .zero_count(2)
            .sum(10000.0)
            .min(-9e36)
            .max(0.0)
            .build();
        p.count = 7262;
        let v = exp_histogram_values(&p);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].values[..2], [0.0, -1.5]);
        assert_eq!(v[0].values[99], -4.75368975085586e29);
        assert_eq!(
            (v[0].sum, v[0].count, v[0].min, v[0].max),
            (10000.0, 4952, -6.338253001141147e29, 0.0)
        );
        assert_eq!(v[1].values[0], -9.50737950171172e29);
        assert_eq!(
            (v[1].sum, v[1].count, v[1].min, v[1].max),
            (0.0, 2310, -9e36, -6.338253001141147e29)
        );

        // 120 positive, zero, 120 negative: three splits.
        let mut p = exp_histogram_point(0)
            .positive(0, counts_1_to(120))
            .zero_count(2)
            .negative(0, counts_1_to(120))
            .sum(100000.0)
            .min(-9e36)
            .max(9e36)
            .build();
        p.count = 3662;
        let v = exp_histogram_values(&p);
        assert_eq!(
            v.iter().map(|s| s.values.len()).collect::<Vec<_>>(),
            [100, 100, 41]
        );
        assert_eq!(
            (v[0].sum, v[0].count, v[0].min, v[0].max),
            (100000.0, 7050, 1048576.0, 9e36)
        );
        assert_eq!(
            (v[1].sum, v[1].count, v[1].min, v[1].max),
            (0.0, 3372, -6.044629098073146e23, 1048576.0)
        );
        assert_eq!(
            (v[2].sum, v[2].count, v[2].min, v[2].max),
            (0.0, 4100, -9e36, -6.044629098073146e23)
        );

        // Empty buckets do not count towards the 100: one split.
        let mut p = exp_histogram_point(0)
            .positive(0, (0..60).map(|i| i % 5))
            .zero_count(2)
            .negative(0, (0..60).map(|i| i % 5))
            .sum(1000.0)
            .min(-9e17)
            .max(9e17)
            .build();
        p.count = 3662;
        let v = exp_histogram_values(&p);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].values.len(), 97);
        assert_eq!(
            (v[0].sum, v[0].count, v[0].min, v[0].max),
            (1000.0, 242, -9e17, 9e17)
        );
    }

    #[test]
    fn labels_from_attributes_resource_and_scope() {
        use stratus_testkit::otlp::attributes;
        let attrs = attributes([
            ("label1", "value1"),
            ("OTelLib", "spoofed"),
            ("shared", "point"),
        ]);
        let res = vec![("shared".to_string(), "resource".to_string())];
        let l = create_labels(&attrs, &res, "cloudwatch-otel");
        assert_eq!(
            l.iter().collect::<Vec<_>>(),
            [
                ("OTelLib", "cloudwatch-otel"),
                ("label1", "value1"),
                ("shared", "resource")
            ]
        );
        let l = create_labels(&attributes([("n", 3)]), &[], "");
        assert_eq!(l.iter().collect::<Vec<_>>(), [("n", "3")]);
        // Structured values as pdata's AsString: Go JSON without HTML escaping
        // (collector#15108), an empty bytes value inside a list as null.
        use stratus_testkit::otlp::{array, bytes, kv, kvlist};
        let attrs = vec![
            kv("m", kvlist([("k", "<a>&")])),
            kv("l", array([bytes(Vec::new())])),
        ];
        let l = create_labels(&attrs, &[], "");
        assert_eq!(
            l.iter().collect::<Vec<_>>(),
            [("l", "[null]"), ("m", r#"{"k":"<a>&"}"#)]
        );
    }
}
