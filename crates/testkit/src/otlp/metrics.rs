//! Metrics of every type, their data points, and the metrics builder.

use stratus_core::pdata::ExportMetricsServiceRequest;
use stratus_core::pdata::metrics::{
    AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
    summary_data_point::ValueAtQuantile,
};

use super::{IntoAnyValue, kv};

super::batch_builder!(MetricsBuilder(Metric) = metrics(), "metrics", metrics(metric: Metric),
    Metrics(resource_metrics: ResourceMetrics.scope_metrics: ScopeMetrics.metrics),
    ExportMetricsServiceRequest);

impl MetricsBuilder {
    /// Adds a metric: any metric builder ([`gauge`], [`sum`], ...) or a [`Metric`].
    pub fn metric(mut self, metric: impl Into<Metric>) -> Self {
        self.groups.push(metric.into());
        self
    }
}

/// The fields every metric has.
#[derive(Debug, Clone, Default, PartialEq)]
struct Common {
    name: String,
    description: String,
    unit: String,
    metadata: Vec<stratus_core::pdata::common::KeyValue>,
}

impl Common {
    fn named(name: impl Into<String>) -> Self {
        Common {
            name: name.into(),
            ..Default::default()
        }
    }

    fn metric(self, data: Data) -> Metric {
        Metric {
            name: self.name,
            description: self.description,
            unit: self.unit,
            metadata: self.metadata,
            data: Some(data),
        }
    }
}

/// What every metric builder shares: unit, description, metadata, `point` (with
/// `$point_doc`; `$many` adds several) and the conversion into a [`Metric`].
macro_rules! metric_builder {
    ($builder:ident, $(#[$point_doc:meta])* point($point:ty) $(, $many:ident)?) => {
        impl $builder {
            /// Sets the unit (`ms`, `By`, `1`).
            pub fn unit(mut self, unit: impl Into<String>) -> Self {
                self.common.unit = unit.into();
                self
            }

            /// Sets the description.
            pub fn description(mut self, text: impl Into<String>) -> Self {
                self.common.description = text.into();
                self
            }

            /// Adds a metadata key-value.
            pub fn metadata(mut self, key: impl Into<String>, v: impl IntoAnyValue) -> Self {
                self.common.metadata.push(kv(key, v));
                self
            }

            $(#[$point_doc])*
            pub fn point(mut self, p: impl Into<$point>) -> Self {
                self.points.push(p.into().0);
                self
            }

            $(
                /// Adds several points.
                pub fn $many<P: Into<$point>>(self, points: impl IntoIterator<Item = P>) -> Self {
                    points.into_iter().fold(self, $builder::point)
                }
            )?
        }

        impl From<$builder> for Metric {
            fn from(b: $builder) -> Self {
                b.build()
            }
        }
    };
}

/// What every data point builder shares: attributes, times, flags, the statistics
/// listed (`sum: "sum"` sets `sum` to `Some`), `build`, and the conversion from the
/// prost point.
macro_rules! point_builder {
    ($point:ident($data:ty) $(, $stat:ident: $stat_doc:literal)*) => {
        impl $point {
            $crate::otlp::attr_methods!(0);

            /// Sets the time, Unix nanoseconds.
            pub fn time(mut self, unix_nanos: u64) -> Self {
                self.0.time_unix_nano = unix_nanos;
                self
            }

            /// Sets the start time, Unix nanoseconds.
            pub fn start(mut self, unix_nanos: u64) -> Self {
                self.0.start_time_unix_nano = unix_nanos;
                self
            }

            /// Sets the flags.
            pub fn flags(mut self, flags: u32) -> Self {
                self.0.flags = flags;
                self
            }

            $(
                #[doc = concat!("Sets the ", $stat_doc, ".")]
                pub fn $stat(mut self, $stat: f64) -> Self {
                    self.0.$stat = Some($stat);
                    self
                }
            )*

            /// The data point.
            pub fn build(self) -> $data {
                self.0
            }
        }

        impl From<$data> for $point {
            fn from(p: $data) -> Self {
                $point(p)
            }
        }
    };
}

/// A value of a gauge or sum point: the integer types become `as_int`, `f64` and
/// `f32` `as_double`.
pub trait NumberValue {
    /// The point's value.
    fn number(self) -> number_data_point::Value;
}

/// Number types whose values become `$variant`, by way of `$wide`.
macro_rules! numbers {
    ($variant:ident($wide:ty): $($t:ty),*) => {$(
        impl NumberValue for $t {
            fn number(self) -> number_data_point::Value {
                number_data_point::Value::$variant(<$wide>::from(self))
            }
        }
        impl From<$t> for NumberPoint {
            fn from(v: $t) -> Self {
                number_point(v)
            }
        }
    )*};
}
numbers!(AsInt(i64): i8, i16, i32, i64, u8, u16, u32);
numbers!(AsDouble(f64): f64, f32);

/// A gauge or sum data point under construction: see [`number_point`]. A number
/// converts to a point of that value.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberPoint(NumberDataPoint);

/// A gauge or sum point with value `v` (integers are `as_int`, floats `as_double`).
pub fn number_point(v: impl NumberValue) -> NumberPoint {
    NumberPoint(NumberDataPoint {
        value: Some(v.number()),
        ..Default::default()
    })
}

point_builder!(NumberPoint(NumberDataPoint));

/// A gauge under construction: see [`gauge`].
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeBuilder {
    common: Common,
    points: Vec<NumberDataPoint>,
}

/// A gauge named `name`: `gauge("queue.depth").point(3).point(4.5)`.
pub fn gauge(name: impl Into<String>) -> GaugeBuilder {
    GaugeBuilder {
        common: Common::named(name),
        points: Vec::new(),
    }
}

metric_builder!(
    GaugeBuilder,
    /// Adds a point: a number or a [`number_point`].
    point(NumberPoint),
    points
);

impl GaugeBuilder {
    /// The metric.
    pub fn build(self) -> Metric {
        self.common.metric(Data::Gauge(Gauge {
            data_points: self.points,
        }))
    }
}

/// A sum under construction: see [`sum`].
#[derive(Debug, Clone, PartialEq)]
pub struct SumBuilder {
    common: Common,
    points: Vec<NumberDataPoint>,
    temporality: AggregationTemporality,
    monotonic: bool,
}

/// A cumulative, monotonic sum named `name`: `sum("requests").point(7)`.
pub fn sum(name: impl Into<String>) -> SumBuilder {
    SumBuilder {
        common: Common::named(name),
        points: Vec::new(),
        temporality: AggregationTemporality::Cumulative,
        monotonic: true,
    }
}

metric_builder!(
    SumBuilder,
    /// Adds a point: a number or a [`number_point`].
    point(NumberPoint),
    points
);

impl SumBuilder {
    /// Delta temporality.
    pub fn delta(mut self) -> Self {
        self.temporality = AggregationTemporality::Delta;
        self
    }

    /// Cumulative temporality (the default).
    pub fn cumulative(mut self) -> Self {
        self.temporality = AggregationTemporality::Cumulative;
        self
    }

    /// Sets whether the sum only grows (default `true`).
    pub fn monotonic(mut self, monotonic: bool) -> Self {
        self.monotonic = monotonic;
        self
    }

    /// The metric.
    pub fn build(self) -> Metric {
        self.common.metric(Data::Sum(Sum {
            data_points: self.points,
            aggregation_temporality: self.temporality as i32,
            is_monotonic: self.monotonic,
        }))
    }
}

/// A histogram data point under construction: see [`histogram_point`]. An array of
/// bucket counts converts to a point with those counts.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramPoint(HistogramDataPoint);

/// A histogram point with these bucket counts; its count is their total.
pub fn histogram_point(bucket_counts: impl IntoIterator<Item = u64>) -> HistogramPoint {
    let bucket_counts: Vec<u64> = bucket_counts.into_iter().collect();
    HistogramPoint(HistogramDataPoint {
        count: bucket_counts.iter().sum(),
        bucket_counts,
        ..Default::default()
    })
}

point_builder!(HistogramPoint(HistogramDataPoint), sum: "sum", min: "minimum", max: "maximum");

impl HistogramPoint {
    /// Sets the bucket bounds of this point (else the histogram's).
    pub fn bounds(mut self, bounds: impl IntoIterator<Item = f64>) -> Self {
        self.0.explicit_bounds = bounds.into_iter().collect();
        self
    }

    /// Overrides the count (by default the total of the bucket counts).
    pub fn count(mut self, count: u64) -> Self {
        self.0.count = count;
        self
    }
}

impl<const N: usize> From<[u64; N]> for HistogramPoint {
    fn from(counts: [u64; N]) -> Self {
        histogram_point(counts)
    }
}

/// A histogram under construction: see [`histogram`].
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramBuilder {
    common: Common,
    bounds: Vec<f64>,
    points: Vec<HistogramDataPoint>,
    temporality: AggregationTemporality,
}

/// A cumulative histogram named `name`:
/// `histogram("latency").bounds([1.0, 5.0]).point([1, 2, 0])`.
pub fn histogram(name: impl Into<String>) -> HistogramBuilder {
    HistogramBuilder {
        common: Common::named(name),
        bounds: Vec::new(),
        points: Vec::new(),
        temporality: AggregationTemporality::Cumulative,
    }
}

metric_builder!(
    HistogramBuilder,
    /// Adds a point: bucket counts (`[1, 2, 0]`) or a [`histogram_point`].
    point(HistogramPoint)
);

impl HistogramBuilder {
    /// The bucket bounds of every point that has none of its own.
    pub fn bounds(mut self, bounds: impl IntoIterator<Item = f64>) -> Self {
        self.bounds = bounds.into_iter().collect();
        self
    }

    /// Delta temporality.
    pub fn delta(mut self) -> Self {
        self.temporality = AggregationTemporality::Delta;
        self
    }

    /// The metric.
    pub fn build(self) -> Metric {
        let bounds = self.bounds;
        let points = self
            .points
            .into_iter()
            .map(|mut p| {
                if p.explicit_bounds.is_empty() {
                    p.explicit_bounds = bounds.clone();
                }
                p
            })
            .collect();
        self.common.metric(Data::Histogram(Histogram {
            data_points: points,
            aggregation_temporality: self.temporality as i32,
        }))
    }
}

/// An exponential histogram data point under construction: see
/// [`exp_histogram_point`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExpHistogramPoint(ExponentialHistogramDataPoint);

/// An exponential histogram point at `scale`, empty until buckets are added; its
/// count is the zero count plus every bucket count.
pub fn exp_histogram_point(scale: i32) -> ExpHistogramPoint {
    ExpHistogramPoint(ExponentialHistogramDataPoint {
        scale,
        ..Default::default()
    })
}

point_builder!(
    ExpHistogramPoint(ExponentialHistogramDataPoint),
    sum: "sum",
    min: "minimum",
    max: "maximum"
);

impl ExpHistogramPoint {
    fn recount(mut self) -> Self {
        let buckets = |b: &Option<Buckets>| {
            b.as_ref()
                .map_or(0, |b| b.bucket_counts.iter().sum::<u64>())
        };
        self.0.count = self.0.zero_count + buckets(&self.0.positive) + buckets(&self.0.negative);
        self
    }

    /// Sets the count of values in the zero bucket.
    pub fn zero_count(mut self, n: u64) -> Self {
        self.0.zero_count = n;
        self.recount()
    }

    /// Sets the zero bucket's threshold.
    pub fn zero_threshold(mut self, threshold: f64) -> Self {
        self.0.zero_threshold = threshold;
        self
    }

    /// Sets the positive buckets, starting at bucket index `offset`.
    pub fn positive(mut self, offset: i32, counts: impl IntoIterator<Item = u64>) -> Self {
        self.0.positive = Some(Buckets {
            offset,
            bucket_counts: counts.into_iter().collect(),
        });
        self.recount()
    }

    /// Sets the negative buckets, starting at bucket index `offset`.
    pub fn negative(mut self, offset: i32, counts: impl IntoIterator<Item = u64>) -> Self {
        self.0.negative = Some(Buckets {
            offset,
            bucket_counts: counts.into_iter().collect(),
        });
        self.recount()
    }
}

/// An exponential histogram under construction: see [`exp_histogram`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExpHistogramBuilder {
    common: Common,
    points: Vec<ExponentialHistogramDataPoint>,
    temporality: AggregationTemporality,
}

/// A cumulative exponential histogram named `name`:
/// `exp_histogram("latency").point(exp_histogram_point(2).positive(0, [1, 3]))`.
pub fn exp_histogram(name: impl Into<String>) -> ExpHistogramBuilder {
    ExpHistogramBuilder {
        common: Common::named(name),
        points: Vec::new(),
        temporality: AggregationTemporality::Cumulative,
    }
}

metric_builder!(
    ExpHistogramBuilder,
    /// Adds a point.
    point(ExpHistogramPoint)
);

impl ExpHistogramBuilder {
    /// Delta temporality.
    pub fn delta(mut self) -> Self {
        self.temporality = AggregationTemporality::Delta;
        self
    }

    /// The metric.
    pub fn build(self) -> Metric {
        self.common
            .metric(Data::ExponentialHistogram(ExponentialHistogram {
                data_points: self.points,
                aggregation_temporality: self.temporality as i32,
            }))
    }
}

/// A summary data point under construction: see [`summary_point`].
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryPoint(SummaryDataPoint);

/// A summary point of `count` values adding up to `sum`.
pub fn summary_point(count: u64, sum: f64) -> SummaryPoint {
    SummaryPoint(SummaryDataPoint {
        count,
        sum,
        ..Default::default()
    })
}

point_builder!(SummaryPoint(SummaryDataPoint));

impl SummaryPoint {
    /// Adds the value at quantile `q` (0.0 to 1.0).
    pub fn quantile(mut self, q: f64, value: f64) -> Self {
        self.0
            .quantile_values
            .push(ValueAtQuantile { quantile: q, value });
        self
    }
}

/// A summary under construction: see [`summary`].
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryBuilder {
    common: Common,
    points: Vec<SummaryDataPoint>,
}

/// A summary named `name`:
/// `summary("rpc.duration").point(summary_point(3, 12.0).quantile(0.5, 4.0))`.
pub fn summary(name: impl Into<String>) -> SummaryBuilder {
    SummaryBuilder {
        common: Common::named(name),
        points: Vec::new(),
    }
}

metric_builder!(
    SummaryBuilder,
    /// Adds a point.
    point(SummaryPoint)
);

impl SummaryBuilder {
    /// The metric.
    pub fn build(self) -> Metric {
        self.common.metric(Data::Summary(Summary {
            data_points: self.points,
        }))
    }
}
