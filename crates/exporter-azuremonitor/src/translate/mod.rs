//! Pure translation of OTLP telemetry into Application Insights envelopes.

use stratus_core::Payload;

/// What the translator needs to know.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TranslatorConfig {
    /// Instrumentation key written as `iKey` on every envelope.
    pub instrumentation_key: String,
    /// Span events (other than exceptions) become Message envelopes.
    pub span_events_enabled: bool,
    /// Log records with `microsoft.custom_event.name` become Event envelopes.
    pub custom_events_enabled: bool,
    /// Span `exception` events become Exception envelopes.
    pub exception_events_enabled: bool,
}

/// Translates payloads; cheap to share.
#[derive(Debug, Clone)]
pub struct Translator {
    config: TranslatorConfig,
}

/// The result of translating one payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Translation {
    /// Serialised envelopes (each a complete JSON object), in order.
    pub envelopes: Vec<String>,
    /// For each envelope, the index of the OTLP item (span / log record / data point, in
    /// payload order) it came from: a span with events yields several envelopes with one index.
    pub item_of: Vec<usize>,
    /// OTLP items in the payload.
    pub items: usize,
    /// Items that could not be translated (with the reason), dropped.
    pub failures: Vec<(usize, String)>,
}

impl Translator {
    /// A translator with this configuration.
    pub fn new(config: TranslatorConfig) -> Self {
        Self { config }
    }

    /// The configuration.
    pub fn config(&self) -> &TranslatorConfig {
        &self.config
    }

    /// Translates one payload into envelopes.
    pub fn translate(&self, payload: &Payload) -> Translation {
        Translation {
            items: payload.item_count(),
            ..Translation::default()
        }
    }
}
