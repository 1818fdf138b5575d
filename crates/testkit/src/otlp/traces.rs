//! Spans, their events and links, and the traces builder.

use stratus_core::pdata::ExportTraceServiceRequest;
use stratus_core::pdata::trace::{ResourceSpans, ScopeSpans, Span, Status, span as pspan};

use super::{DEFAULT_TRACE_ID, SpanId, SpanKind, StatusCode, TraceId};

super::batch_builder!(TracesBuilder(Span) = traces(), "spans", spans(span: SpanBuilder),
    Traces(resource_spans: ResourceSpans.scope_spans: ScopeSpans.spans), ExportTraceServiceRequest);

impl TracesBuilder {
    /// Adds a span. One without a span id gets its 1-based position in this builder.
    pub fn span(mut self, span: impl Into<SpanBuilder>) -> Self {
        let position = self.groups.count() + 1;
        let mut span = span.into();
        if !span.has_span_id {
            span = span.span_id(u64::try_from(position).unwrap_or(u64::MAX));
        }
        self.groups.push(span.build());
        self
    }
}

/// A span under construction: see [`span`].
#[derive(Debug, Clone, PartialEq)]
pub struct SpanBuilder {
    span: Span,
    has_span_id: bool,
}

/// A span named `name`, with trace id [`DEFAULT_TRACE_ID`] and otherwise prost
/// defaults. A `&str` or `String` converts to `span(it)`, a [`Span`] to a builder that
/// keeps it.
pub fn span(name: impl Into<String>) -> SpanBuilder {
    SpanBuilder {
        span: Span {
            name: name.into(),
            trace_id: DEFAULT_TRACE_ID.to_be_bytes().to_vec(),
            ..Default::default()
        },
        has_span_id: false,
    }
}

impl SpanBuilder {
    super::attr_methods!(span, attrs);

    /// Sets the trace id: `trace_id(7)` or `trace_id([0xab; 16])`.
    pub fn trace_id(mut self, id: impl Into<TraceId>) -> Self {
        self.span.trace_id = id.into().0.to_vec();
        self
    }

    /// Sets the span id: `span_id(7)` or `span_id([1; 8])`.
    pub fn span_id(mut self, id: impl Into<SpanId>) -> Self {
        self.span.span_id = id.into().0.to_vec();
        self.has_span_id = true;
        self
    }

    /// Sets the parent span id.
    pub fn parent(mut self, id: impl Into<SpanId>) -> Self {
        self.span.parent_span_id = id.into().0.to_vec();
        self
    }

    /// Sets the W3C trace state.
    pub fn trace_state(mut self, state: impl Into<String>) -> Self {
        self.span.trace_state = state.into();
        self
    }

    /// Sets the flags.
    pub fn flags(mut self, flags: u32) -> Self {
        self.span.flags = flags;
        self
    }

    /// Sets the kind.
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.span.kind = kind as i32;
        self
    }

    /// Sets the start time, Unix nanoseconds.
    pub fn start(mut self, unix_nanos: u64) -> Self {
        self.span.start_time_unix_nano = unix_nanos;
        self
    }

    /// Sets the end time, Unix nanoseconds.
    pub fn end(mut self, unix_nanos: u64) -> Self {
        self.span.end_time_unix_nano = unix_nanos;
        self
    }

    /// Sets the status.
    pub fn status(mut self, code: StatusCode, message: impl Into<String>) -> Self {
        self.span.status = Some(Status {
            code: code as i32,
            message: message.into(),
        });
        self
    }

    /// Status ok.
    pub fn ok(self) -> Self {
        self.status(StatusCode::Ok, "")
    }

    /// Status error with a message.
    pub fn error(self, message: impl Into<String>) -> Self {
        self.status(StatusCode::Error, message)
    }

    /// Adds an event: `.event("cache.miss")` or `.event(event("retry").attr("n", 2))`.
    pub fn event(mut self, event: impl Into<EventBuilder>) -> Self {
        self.span.events.push(event.into().0);
        self
    }

    /// Adds a link: `.link((trace, span))` or `.link(link(trace, span).attr("k", "v"))`.
    pub fn link(mut self, link: impl Into<LinkBuilder>) -> Self {
        self.span.links.push(link.into().0);
        self
    }

    /// Changes anything else on the span.
    pub fn with(mut self, f: impl FnOnce(&mut Span)) -> Self {
        f(&mut self.span);
        self.has_span_id |= !self.span.span_id.is_empty();
        self
    }

    /// The span.
    pub fn build(self) -> Span {
        self.span
    }
}

super::from_text!(SpanBuilder => span);

impl From<Span> for SpanBuilder {
    fn from(span: Span) -> Self {
        let has_span_id = !span.span_id.is_empty();
        SpanBuilder { span, has_span_id }
    }
}

impl From<SpanBuilder> for Span {
    fn from(b: SpanBuilder) -> Self {
        b.build()
    }
}

/// A span event under construction: see [`event`].
#[derive(Debug, Clone, PartialEq)]
pub struct EventBuilder(pspan::Event);

/// An event named `name`.
pub fn event(name: impl Into<String>) -> EventBuilder {
    EventBuilder(pspan::Event {
        name: name.into(),
        ..Default::default()
    })
}

impl EventBuilder {
    super::attr_methods!(0);

    /// Sets the time, Unix nanoseconds.
    pub fn time(mut self, unix_nanos: u64) -> Self {
        self.0.time_unix_nano = unix_nanos;
        self
    }
}

super::from_text!(EventBuilder => event);

/// A span link under construction: see [`link`].
#[derive(Debug, Clone, PartialEq)]
pub struct LinkBuilder(pspan::Link);

/// A link to span `span_id` of trace `trace_id`.
pub fn link(trace_id: impl Into<TraceId>, span_id: impl Into<SpanId>) -> LinkBuilder {
    LinkBuilder(pspan::Link {
        trace_id: trace_id.into().0.to_vec(),
        span_id: span_id.into().0.to_vec(),
        ..Default::default()
    })
}

impl LinkBuilder {
    super::attr_methods!(0);

    /// Sets the W3C trace state.
    pub fn trace_state(mut self, state: impl Into<String>) -> Self {
        self.0.trace_state = state.into();
        self
    }
}

impl<T: Into<TraceId>, S: Into<SpanId>> From<(T, S)> for LinkBuilder {
    fn from((t, s): (T, S)) -> Self {
        link(t, s)
    }
}
