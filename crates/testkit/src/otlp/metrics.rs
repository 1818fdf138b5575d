//! Metrics of every type, their data points, and the metrics builder.

use prost::Message;
use stratus_core::pdata::ExportMetricsServiceRequest;
use stratus_core::pdata::metrics::{
    AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
    summary_data_point::ValueAtQuantile,
};
use stratus_core::{Metadata, Payload, Telemetry};

use super::{Groups, IntoAnyValue, ScopeBuilder, kv, resource_of};

/// A metrics batch under construction: see [`metrics`].
#[derive(Debug, Clone, Default)]
pub struct MetricsBuilder {
    groups: Groups<Metric>,
}

/// Starts a metrics batch. Metrics added before any [`MetricsBuilder::resource`] or
/// [`MetricsBuilder::scope`] go into a resource and scope of their own with none set.
pub fn metrics() -> MetricsBuilder {
    MetricsBuilder::default()
}

impl MetricsBuilder {
    /// Starts a new resource with these attributes; later metrics go under it.
    pub fn resource<K: Into<String>, V: IntoAnyValue>(
        mut self,
        attrs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.groups.resource(resource_of(attrs));
        self
    }

    /// Starts a new scope in the current resource; later metrics go under it.
    pub fn scope(mut self, scope: impl Into<ScopeBuilder>) -> Self {
        self.groups.scope(scope.into().build());
        self
    }

    /// Adds a metric: any metric builder ([`gauge`], [`sum`], ...) or a [`Metric`].
    pub fn metric(mut self, metric: impl Into<Metric>) -> Self {
        self.groups.push(metric.into());
        self
    }

    /// Adds several metrics.
    pub fn metrics<M: Into<Metric>>(self, metrics: impl IntoIterator<Item = M>) -> Self {
        metrics.into_iter().fold(self, MetricsBuilder::metric)
    }

    /// The OTLP resource metrics.
    pub fn resource_metrics(self) -> Vec<ResourceMetrics> {
        self.groups
            .resources
            .into_iter()
            .map(|g| ResourceMetrics {
                resource: g.resource,
                scope_metrics: g
                    .scopes
                    .into_iter()
                    .map(|(scope, metrics)| ScopeMetrics {
                        scope,
                        metrics,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect()
    }

    /// The payload.
    pub fn payload(self) -> Payload {
        Payload::Metrics(self.resource_metrics())
    }

    /// The batch, with no metadata.
    pub fn build(self) -> Telemetry {
        Telemetry::new(self.payload())
    }

    /// The batch with request metadata.
    pub fn build_with(self, metadata: Metadata) -> Telemetry {
        Telemetry::with_metadata(self.payload(), metadata)
    }

    /// The OTLP export request.
    pub fn request(self) -> ExportMetricsServiceRequest {
        ExportMetricsServiceRequest {
            resource_metrics: self.resource_metrics(),
        }
    }

    /// The export request in protobuf, as an OTLP/HTTP body.
    pub fn encode(self) -> Vec<u8> {
        self.request().encode_to_vec()
    }
}

impl From<MetricsBuilder> for Telemetry {
    fn from(b: MetricsBuilder) -> Self {
        b.build()
    }
}

impl From<MetricsBuilder> for Payload {
    fn from(b: MetricsBuilder) -> Self {
        b.payload()
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

/// The methods every metric builder shares.
macro_rules! common_methods {
    () => {
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
    };
}

/// The times and attributes every data point has.
macro_rules! point_methods {
    () => {
        /// Adds an attribute.
        pub fn attr(mut self, key: impl Into<String>, v: impl IntoAnyValue) -> Self {
            self.0.attributes.push(kv(key, v));
            self
        }

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
    };
}

/// A value of a gauge or sum point: the integer types become `as_int`, `f64` and
/// `f32` `as_double`.
pub trait NumberValue {
    /// The point's value.
    fn number(self) -> number_data_point::Value;
}

macro_rules! int_numbers {
    ($($t:ty),*) => {$(
        impl NumberValue for $t {
            fn number(self) -> number_data_point::Value {
                number_data_point::Value::AsInt(i64::from(self))
            }
        }
        impl From<$t> for NumberPoint {
            fn from(v: $t) -> Self {
                number_point(v)
            }
        }
    )*};
}
int_numbers!(i8, i16, i32, i64, u8, u16, u32);

impl NumberValue for f64 {
    fn number(self) -> number_data_point::Value {
        number_data_point::Value::AsDouble(self)
    }
}

impl NumberValue for f32 {
    fn number(self) -> number_data_point::Value {
        number_data_point::Value::AsDouble(f64::from(self))
    }
}

impl From<f64> for NumberPoint {
    fn from(v: f64) -> Self {
        number_point(v)
    }
}

impl From<f32> for NumberPoint {
    fn from(v: f32) -> Self {
        number_point(v)
    }
}

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

impl NumberPoint {
    point_methods!();

    /// The data point.
    pub fn build(self) -> NumberDataPoint {
        self.0
    }
}

impl From<NumberDataPoint> for NumberPoint {
    fn from(p: NumberDataPoint) -> Self {
        NumberPoint(p)
    }
}

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

impl GaugeBuilder {
    common_methods!();

    /// Adds a point: a number or a [`number_point`].
    pub fn point(mut self, p: impl Into<NumberPoint>) -> Self {
        self.points.push(p.into().0);
        self
    }

    /// Adds several points.
    pub fn points<P: Into<NumberPoint>>(self, points: impl IntoIterator<Item = P>) -> Self {
        points.into_iter().fold(self, GaugeBuilder::point)
    }

    /// The metric.
    pub fn build(self) -> Metric {
        self.common.metric(Data::Gauge(Gauge {
            data_points: self.points,
        }))
    }
}

impl From<GaugeBuilder> for Metric {
    fn from(b: GaugeBuilder) -> Self {
        b.build()
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

impl SumBuilder {
    common_methods!();

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

    /// Adds a point: a number or a [`number_point`].
    pub fn point(mut self, p: impl Into<NumberPoint>) -> Self {
        self.points.push(p.into().0);
        self
    }

    /// Adds several points.
    pub fn points<P: Into<NumberPoint>>(self, points: impl IntoIterator<Item = P>) -> Self {
        points.into_iter().fold(self, SumBuilder::point)
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

impl From<SumBuilder> for Metric {
    fn from(b: SumBuilder) -> Self {
        b.build()
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

impl HistogramPoint {
    point_methods!();

    /// Sets the bucket bounds of this point (else the histogram's).
    pub fn bounds(mut self, bounds: impl IntoIterator<Item = f64>) -> Self {
        self.0.explicit_bounds = bounds.into_iter().collect();
        self
    }

    /// Sets the sum.
    pub fn sum(mut self, sum: f64) -> Self {
        self.0.sum = Some(sum);
        self
    }

    /// Sets the minimum.
    pub fn min(mut self, min: f64) -> Self {
        self.0.min = Some(min);
        self
    }

    /// Sets the maximum.
    pub fn max(mut self, max: f64) -> Self {
        self.0.max = Some(max);
        self
    }

    /// Overrides the count (by default the total of the bucket counts).
    pub fn count(mut self, count: u64) -> Self {
        self.0.count = count;
        self
    }

    /// The data point.
    pub fn build(self) -> HistogramDataPoint {
        self.0
    }
}

impl<const N: usize> From<[u64; N]> for HistogramPoint {
    fn from(counts: [u64; N]) -> Self {
        histogram_point(counts)
    }
}

impl From<HistogramDataPoint> for HistogramPoint {
    fn from(p: HistogramDataPoint) -> Self {
        HistogramPoint(p)
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

impl HistogramBuilder {
    common_methods!();

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

    /// Adds a point: bucket counts (`[1, 2, 0]`) or a [`histogram_point`].
    pub fn point(mut self, p: impl Into<HistogramPoint>) -> Self {
        self.points.push(p.into().0);
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

impl From<HistogramBuilder> for Metric {
    fn from(b: HistogramBuilder) -> Self {
        b.build()
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

impl ExpHistogramPoint {
    point_methods!();

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

    /// Sets the sum.
    pub fn sum(mut self, sum: f64) -> Self {
        self.0.sum = Some(sum);
        self
    }

    /// Sets the minimum.
    pub fn min(mut self, min: f64) -> Self {
        self.0.min = Some(min);
        self
    }

    /// Sets the maximum.
    pub fn max(mut self, max: f64) -> Self {
        self.0.max = Some(max);
        self
    }

    /// The data point.
    pub fn build(self) -> ExponentialHistogramDataPoint {
        self.0
    }
}

impl From<ExponentialHistogramDataPoint> for ExpHistogramPoint {
    fn from(p: ExponentialHistogramDataPoint) -> Self {
        ExpHistogramPoint(p)
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

impl ExpHistogramBuilder {
    common_methods!();

    /// Delta temporality.
    pub fn delta(mut self) -> Self {
        self.temporality = AggregationTemporality::Delta;
        self
    }

    /// Adds a point.
    pub fn point(mut self, p: impl Into<ExpHistogramPoint>) -> Self {
        self.points.push(p.into().0);
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

impl From<ExpHistogramBuilder> for Metric {
    fn from(b: ExpHistogramBuilder) -> Self {
        b.build()
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

impl SummaryPoint {
    point_methods!();

    /// Adds the value at quantile `q` (0.0 to 1.0).
    pub fn quantile(mut self, q: f64, value: f64) -> Self {
        self.0
            .quantile_values
            .push(ValueAtQuantile { quantile: q, value });
        self
    }

    /// The data point.
    pub fn build(self) -> SummaryDataPoint {
        self.0
    }
}

impl From<SummaryDataPoint> for SummaryPoint {
    fn from(p: SummaryDataPoint) -> Self {
        SummaryPoint(p)
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

impl SummaryBuilder {
    common_methods!();

    /// Adds a point.
    pub fn point(mut self, p: impl Into<SummaryPoint>) -> Self {
        self.points.push(p.into().0);
        self
    }

    /// The metric.
    pub fn build(self) -> Metric {
        self.common.metric(Data::Summary(Summary {
            data_points: self.points,
        }))
    }
}

impl From<SummaryBuilder> for Metric {
    fn from(b: SummaryBuilder) -> Self {
        b.build()
    }
}
