//! The contexts a condition runs in and the borrowed views of the data it reads.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use stratus_core::Metadata;
use stratus_core::pdata::common::{InstrumentationScope, KeyValue};
use stratus_core::pdata::logs::LogRecord;
use stratus_core::pdata::metrics::{
    ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint, SummaryDataPoint,
};
use stratus_core::pdata::resource::Resource;
use stratus_core::pdata::trace::{Span, span};

/// What a condition is about: the upstream OTTL context it is parsed in, which decides
/// the paths it may use (see the crate README for the list per context).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Context {
    /// A resource (`ottlresource`): `attributes` are the resource's.
    Resource,
    /// A span (`ottlspan`).
    Span,
    /// A span event (`ottlspanevent`); `span.*` paths read the span it belongs to.
    #[serde(rename = "spanevent")]
    SpanEvent,
    /// A metric (`ottlmetric`).
    Metric,
    /// A metric data point (`ottldatapoint`); `metric.*` paths read its metric.
    #[serde(rename = "datapoint")]
    DataPoint,
    /// A log record (`ottllog`).
    Log,
    /// The request that brought a batch (the routing connector's `request` context):
    /// only `request["key"]`, a client metadata header.
    Request,
}

impl Context {
    /// Every context.
    pub const ALL: [Context; 7] = [
        Context::Resource,
        Context::Span,
        Context::SpanEvent,
        Context::Metric,
        Context::DataPoint,
        Context::Log,
        Context::Request,
    ];

    /// The context's name as configs write it (`resource`, `spanevent`, `datapoint`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Context::Resource => "resource",
            Context::Span => "span",
            Context::SpanEvent => "spanevent",
            Context::Metric => "metric",
            Context::DataPoint => "datapoint",
            Context::Log => "log",
            Context::Request => "request",
        }
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of [`Context::from_str`]: the text names no context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown context \"{0}\": expected one of resource, span, spanevent, metric, datapoint, \
     log, request"
)]
pub struct UnknownContext(pub String);

impl FromStr for Context {
    type Err = UnknownContext;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Context::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownContext(s.to_string()))
    }
}

/// One data point of a metric, of whichever kind.
#[derive(Debug, Clone, Copy)]
pub enum Point<'a> {
    /// A gauge or sum point.
    Number(&'a NumberDataPoint),
    /// A histogram point.
    Histogram(&'a HistogramDataPoint),
    /// An exponential histogram point.
    ExponentialHistogram(&'a ExponentialHistogramDataPoint),
    /// A summary point.
    Summary(&'a SummaryDataPoint),
}

impl<'a> Point<'a> {
    /// The point's attributes.
    pub fn attributes(&self) -> &'a [KeyValue] {
        match self {
            Point::Number(p) => &p.attributes,
            Point::Histogram(p) => &p.attributes,
            Point::ExponentialHistogram(p) => &p.attributes,
            Point::Summary(p) => &p.attributes,
        }
    }

    pub(crate) fn start_time(&self) -> u64 {
        match self {
            Point::Number(p) => p.start_time_unix_nano,
            Point::Histogram(p) => p.start_time_unix_nano,
            Point::ExponentialHistogram(p) => p.start_time_unix_nano,
            Point::Summary(p) => p.start_time_unix_nano,
        }
    }

    pub(crate) fn time(&self) -> u64 {
        match self {
            Point::Number(p) => p.time_unix_nano,
            Point::Histogram(p) => p.time_unix_nano,
            Point::ExponentialHistogram(p) => p.time_unix_nano,
            Point::Summary(p) => p.time_unix_nano,
        }
    }
}

/// A borrowed view of the item a condition is evaluated on. Resource and scope may be
/// absent in OTLP; paths into an absent one read nil (absent) values.
#[derive(Debug, Clone, Copy)]
pub enum Item<'a> {
    /// A resource, for [`Context::Resource`].
    Resource {
        /// The resource.
        resource: Option<&'a Resource>,
    },
    /// A span, for [`Context::Span`].
    Span {
        /// The span's resource.
        resource: Option<&'a Resource>,
        /// The span's instrumentation scope.
        scope: Option<&'a InstrumentationScope>,
        /// The span.
        span: &'a Span,
    },
    /// A span event, for [`Context::SpanEvent`].
    SpanEvent {
        /// The span's resource.
        resource: Option<&'a Resource>,
        /// The span's instrumentation scope.
        scope: Option<&'a InstrumentationScope>,
        /// The span the event belongs to.
        span: &'a Span,
        /// The event.
        event: &'a span::Event,
    },
    /// A log record, for [`Context::Log`].
    Log {
        /// The record's resource.
        resource: Option<&'a Resource>,
        /// The record's instrumentation scope.
        scope: Option<&'a InstrumentationScope>,
        /// The record.
        record: &'a LogRecord,
    },
    /// A metric, for [`Context::Metric`].
    Metric {
        /// The metric's resource.
        resource: Option<&'a Resource>,
        /// The metric's instrumentation scope.
        scope: Option<&'a InstrumentationScope>,
        /// The metric.
        metric: &'a Metric,
    },
    /// A metric data point, for [`Context::DataPoint`].
    DataPoint {
        /// The metric's resource.
        resource: Option<&'a Resource>,
        /// The metric's instrumentation scope.
        scope: Option<&'a InstrumentationScope>,
        /// The metric the point belongs to.
        metric: &'a Metric,
        /// The point.
        point: Point<'a>,
    },
    /// The request metadata of a batch, for [`Context::Request`].
    Request {
        /// The batch's metadata (headers kept by a receiver's `include_metadata`).
        metadata: &'a Metadata,
    },
}

impl<'a> Item<'a> {
    /// The context this item is for.
    pub fn context(&self) -> Context {
        match self {
            Item::Resource { .. } => Context::Resource,
            Item::Span { .. } => Context::Span,
            Item::SpanEvent { .. } => Context::SpanEvent,
            Item::Log { .. } => Context::Log,
            Item::Metric { .. } => Context::Metric,
            Item::DataPoint { .. } => Context::DataPoint,
            Item::Request { .. } => Context::Request,
        }
    }

    pub(crate) fn resource(&self) -> Option<&'a Resource> {
        match *self {
            Item::Resource { resource }
            | Item::Span { resource, .. }
            | Item::SpanEvent { resource, .. }
            | Item::Log { resource, .. }
            | Item::Metric { resource, .. }
            | Item::DataPoint { resource, .. } => resource,
            Item::Request { .. } => None,
        }
    }

    pub(crate) fn scope(&self) -> Option<&'a InstrumentationScope> {
        match *self {
            Item::Span { scope, .. }
            | Item::SpanEvent { scope, .. }
            | Item::Log { scope, .. }
            | Item::Metric { scope, .. }
            | Item::DataPoint { scope, .. } => scope,
            Item::Resource { .. } | Item::Request { .. } => None,
        }
    }

    pub(crate) fn span(&self) -> Option<&'a Span> {
        match *self {
            Item::Span { span, .. } | Item::SpanEvent { span, .. } => Some(span),
            _ => None,
        }
    }

    pub(crate) fn metric(&self) -> Option<&'a Metric> {
        match *self {
            Item::Metric { metric, .. } | Item::DataPoint { metric, .. } => Some(metric),
            _ => None,
        }
    }
}
