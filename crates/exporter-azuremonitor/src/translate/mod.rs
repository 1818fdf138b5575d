//! Pure translation of OTLP telemetry into Application Insights envelopes.
//!
//! - SERVER / CONSUMER spans become `Request`, CLIENT / PRODUCER / INTERNAL (and
//!   UNSPECIFIED) spans `RemoteDependency` (HTTP, database, messaging, RPC, Azure SDK, GenAI,
//!   `InProc`); span `exception` events become `Exception`, other events `Message` when
//!   [`TranslatorConfig::span_events_enabled`]; links go to the `_MS.links` property.
//! - Log records become `Message` (integer `severityLevel`), `Exception` when they carry
//!   `exception.type`/`exception.message` and [`TranslatorConfig::exception_events_enabled`],
//!   `Event` when they carry `microsoft.custom_event.name` and
//!   [`TranslatorConfig::custom_events_enabled`].
//! - Every metric data point becomes one `Metric` envelope (sums and gauges: value, count 1;
//!   histograms, exponential histograms and summaries: value = sum, count, min, max).
//!
//! The rules follow Microsoft's `azure-monitor-opentelemetry-exporter` 1.0.0b58; the crate
//! README lists where we deliberately differ.

mod attrs;
mod common;
mod logs;
mod metrics;
mod spans;

use crate::envelope::{BaseData, Envelope, MonitorBase, StrMap};
use stratus_core::Payload;

/// What the translator needs to know. Its `Debug` redacts the instrumentation key.
#[derive(Clone, Default, PartialEq, Eq)]
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

impl std::fmt::Debug for TranslatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TranslatorConfig")
            .field("instrumentation_key", &"[REDACTED]")
            .field("span_events_enabled", &self.span_events_enabled)
            .field("custom_events_enabled", &self.custom_events_enabled)
            .field("exception_events_enabled", &self.exception_events_enabled)
            .finish()
    }
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

    /// Translates one payload into envelopes. Never fails as a whole: an item that cannot
    /// be translated is listed in [`Translation::failures`] and produces no envelope.
    pub fn translate(&self, payload: &Payload) -> Translation {
        let mut out = Output::default();
        let config = &self.config;
        let mut index = 0usize;
        match payload {
            Payload::Traces(rs) => {
                for r in rs {
                    let tags = resource_tags(r.resource.as_ref());
                    for ss in &r.scope_spans {
                        for span in &ss.spans {
                            out.set_item(index);
                            if let Err(e) = spans::translate_span(config, &tags, span, &mut out) {
                                out.fail(index, e);
                            }
                            index += 1;
                        }
                    }
                }
            }
            Payload::Logs(rl) => {
                for r in rl {
                    let tags = resource_tags(r.resource.as_ref());
                    for sl in &r.scope_logs {
                        for record in &sl.log_records {
                            out.set_item(index);
                            if let Err(e) = logs::translate_log(
                                config,
                                &tags,
                                sl.scope.as_ref(),
                                record,
                                &mut out,
                            ) {
                                out.fail(index, e);
                            }
                            index += 1;
                        }
                    }
                }
            }
            Payload::Metrics(rm) => {
                for r in rm {
                    let tags = resource_tags(r.resource.as_ref());
                    for sm in &r.scope_metrics {
                        for metric in &sm.metrics {
                            metrics::translate_metric(config, &tags, metric, &mut index, &mut out);
                        }
                    }
                }
            }
        }
        out.translation.items = index;
        out.translation
    }
}

fn resource_tags(resource: Option<&stratus_core::pdata::resource::Resource>) -> StrMap {
    common::resource_tags(resource.map(|r| r.attributes.as_slice()).unwrap_or(&[]))
}

/// The translation being built, and the OTLP item the next envelopes belong to.
#[derive(Debug, Default)]
struct Output {
    translation: Translation,
    item: usize,
    /// The length of the last envelope written.
    last_len: usize,
}

impl Output {
    fn set_item(&mut self, item: usize) {
        self.item = item;
    }

    fn fail(&mut self, item: usize, reason: String) {
        self.translation.failures.push((item, reason));
    }

    fn push(
        &mut self,
        config: &TranslatorConfig,
        tags: StrMap,
        time_unix_nano: u64,
        sample_rate: Option<f64>,
        data: BaseData,
    ) {
        let (base_type, name) = data.kind();
        let envelope = Envelope {
            name,
            ikey: &config.instrumentation_key,
            tags,
            time: common::format_time(time_unix_nano),
            sample_rate,
            data: MonitorBase {
                base_data: data,
                base_type,
            },
        };
        // Envelopes of one batch are alike in size: start each buffer at the last
        // one's length and a margin, so it is seldom regrown.
        let mut json = String::with_capacity(self.last_len + self.last_len / 4 + 64);
        envelope.write_json(&mut json);
        self.last_len = json.len();
        self.translation.envelopes.push(json);
        self.translation.item_of.push(self.item);
    }
}
