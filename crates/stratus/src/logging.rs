//! stratus's own logs, set up from `service::telemetry::logs`: the level (or
//! `STRATUS_LOG`), zap's sampling, `console` or `json` lines written to every
//! `output_paths` entry, `initial_fields` and the configured resource on every line,
//! the caller unless `disable_caller`, and, for each `processors` entry, a bounded
//! queue of log records that an OTLP exporter drains (see [`crate::telemetry`]).
//!
//! Nothing here blocks the code that logs: a full queue drops the record and counts
//! it in `stratus_internal_log_records_dropped`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use serde_json::Value;
use stratus_config::{LogOutput, LogSampling, LogsTelemetry};
use stratus_core::telemetry::{Counter, Registry};
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer};

/// The name part of the component ids of the exporters that carry stratus's own
/// telemetry (`otlp/_self_telemetry_logs_0`). Their log events are not exported
/// again, so a failing log export cannot feed itself.
pub const SELF_EXPORTER_MARK: &str = "_self_telemetry_";

/// The receiving ends of the log processors' queues, in `processors` order, for the
/// export tasks to drain once the runtime runs.
pub struct LogQueues(pub Vec<mpsc::Receiver<LogRecord>>);

/// Installs the global subscriber. Returns the queues of the OTLP log processors.
pub fn init(
    logs: &LogsTelemetry,
    resource_fields: &[(String, Value)],
    registry: &Registry,
) -> anyhow::Result<LogQueues> {
    let filter = EnvFilter::try_from_env("STRATUS_LOG").unwrap_or_else(|_| {
        EnvFilter::new(format!("{},h2=warn,hyper=warn,tower=warn", logs.level))
    });
    let outputs = Outputs::open(&logs.output_paths, &logs.error_output_paths)?;
    let ansi = outputs.is_terminal();

    let mut extras: Vec<(String, Value)> = logs
        .initial_fields
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !logs.disable_zap_resource && !resource_fields.is_empty() {
        let resource: serde_json::Map<String, Value> = resource_fields.iter().cloned().collect();
        extras.push(("resource".to_string(), Value::Object(resource)));
    }
    let caller = !logs.disable_caller;
    let base = tracing_subscriber::fmt::format()
        .with_file(caller)
        .with_line_number(caller);
    let lines: Box<dyn Layer<_> + Send + Sync> = if logs.encoding == "json" {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(outputs)
            .event_format(WithFields::new(base.json(), extras, true))
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(outputs)
            .with_ansi(ansi)
            .event_format(WithFields::new(base, extras, false))
            .boxed()
    };

    let mut queues = Vec::new();
    let mut senders = Vec::new();
    for processor in &logs.processors {
        let capacity = processor.batch.as_ref().map_or(2048, |b| b.max_queue_size);
        let (tx, rx) = mpsc::channel(capacity.max(1));
        senders.push(tx);
        queues.push(rx);
    }
    let otlp = (!senders.is_empty()).then(|| OtlpLogLayer {
        senders,
        dropped: registry.counter(
            "stratus_internal_log_records_dropped",
            "Number of stratus's own log records dropped because an OTLP log processor's queue was full.",
            &[],
        ),
        initial_fields: logs
            .initial_fields
            .iter()
            .map(|(k, v)| key_value(k, v))
            .collect(),
    });
    let sampler = logs.sampling.clone().map(Sampler::new);
    let recent = RecentLayer {
        registry: registry.clone(),
    };

    tracing_subscriber::registry()
        .with(filter)
        .with(sampler)
        .with(lines)
        .with(otlp)
        .with(recent)
        .try_init()
        .context("installing the log subscriber")?;
    Ok(LogQueues(queues))
}

// --- outputs --------------------------------------------------------------------

enum Sink {
    Stdout,
    Stderr,
    File(String, Mutex<File>),
}

impl Sink {
    fn open(output: &LogOutput) -> anyhow::Result<Sink> {
        Ok(match output {
            LogOutput::Stdout => Sink::Stdout,
            LogOutput::Stderr => Sink::Stderr,
            LogOutput::File(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening the log output `{path}`"))?;
                Sink::File(path.clone(), Mutex::new(file))
            }
        })
    }

    fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout => io::stdout().lock().write_all(buf),
            Sink::Stderr => io::stderr().lock().write_all(buf),
            Sink::File(_, file) => match file.lock() {
                Ok(mut f) => f.write_all(buf),
                Err(poisoned) => poisoned.into_inner().write_all(buf),
            },
        }
    }

    fn name(&self) -> &str {
        match self {
            Sink::Stdout => "stdout",
            Sink::Stderr => "stderr",
            Sink::File(path, _) => path,
        }
    }
}

/// Every `output_paths` entry; failures to write go to `error_output_paths`.
#[derive(Clone)]
struct Outputs(Arc<(Vec<Sink>, Vec<Sink>)>);

impl Outputs {
    fn open(outputs: &[LogOutput], errors: &[LogOutput]) -> anyhow::Result<Outputs> {
        let sinks = outputs
            .iter()
            .map(Sink::open)
            .collect::<anyhow::Result<_>>()?;
        let errors = errors
            .iter()
            .map(Sink::open)
            .collect::<anyhow::Result<_>>()?;
        Ok(Outputs(Arc::new((sinks, errors))))
    }

    /// Colour only when every output is a terminal.
    fn is_terminal(&self) -> bool {
        use std::io::IsTerminal as _;
        !self.0.0.is_empty()
            && self.0.0.iter().all(|s| match s {
                Sink::Stdout => io::stdout().is_terminal(),
                Sink::Stderr => io::stderr().is_terminal(),
                Sink::File(..) => false,
            })
    }
}

/// Writes one formatted line to every output.
struct OutputsWriter<'a>(&'a (Vec<Sink>, Vec<Sink>));

impl Write for OutputsWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let (sinks, errors) = self.0;
        for sink in sinks {
            if let Err(e) = sink.write_all(buf) {
                let report = format!("stratus: cannot write a log line to {}: {e}\n", sink.name());
                for err in errors {
                    let _ = err.write_all(report.as_bytes());
                }
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Outputs {
    type Writer = OutputsWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        OutputsWriter(&self.0)
    }
}

// --- initial fields and resource on every line ----------------------------------

/// Appends fixed fields to every line: ` key=value` in console lines, top-level keys
/// in JSON lines.
struct WithFields<F> {
    inner: F,
    console: String,
    json: String,
    is_json: bool,
}

impl<F> WithFields<F> {
    fn new(inner: F, extras: Vec<(String, Value)>, is_json: bool) -> Self {
        let mut console = String::new();
        let mut json = String::new();
        for (k, v) in &extras {
            match v {
                Value::String(s) => {
                    let _ = write!(console, " {k}={s}");
                }
                Value::Object(map) => {
                    let inner: Vec<String> = map
                        .iter()
                        .map(|(k, v)| match v {
                            Value::String(s) => format!("{k}={s}"),
                            other => format!("{k}={other}"),
                        })
                        .collect();
                    let _ = write!(console, " {k}={{{}}}", inner.join(", "));
                }
                other => {
                    let _ = write!(console, " {k}={other}");
                }
            }
            let _ = write!(json, ",{}:{v}", Value::String(k.clone()));
        }
        WithFields {
            inner,
            console,
            json,
            is_json,
        }
    }
}

impl<S, N, F> FormatEvent<S, N> for WithFields<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        if self.console.is_empty() {
            return self.inner.format_event(ctx, writer, event);
        }
        let mut line = String::with_capacity(256);
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        let body = line.strip_suffix('\n').unwrap_or(&line);
        if self.is_json {
            match body.strip_suffix('}') {
                Some(open) => {
                    writer.write_str(open)?;
                    writer.write_str(&self.json)?;
                    writer.write_str("}\n")
                }
                None => writeln!(writer, "{body}"),
            }
        } else {
            writer.write_str(body)?;
            writer.write_str(&self.console)?;
            writer.write_char('\n')
        }
    }
}

// --- sampling -------------------------------------------------------------------

/// zap's sampler: per call site and level, in each `tick`, the first `initial` events
/// pass, then every `thereafter`-th.
struct Sampler {
    config: LogSampling,
    start: Instant,
    counts: Mutex<HashMap<(tracing::callsite::Identifier, Level), (u128, u64)>>,
}

impl Sampler {
    fn new(config: LogSampling) -> Self {
        Sampler {
            config,
            start: Instant::now(),
            counts: Mutex::new(HashMap::new()),
        }
    }

    fn admit(&self, key: (tracing::callsite::Identifier, Level)) -> bool {
        let tick = self.start.elapsed().as_nanos() / self.config.tick.as_nanos().max(1);
        let mut counts = match self.counts.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        let entry = counts.entry(key).or_insert((tick, 0));
        if entry.0 != tick {
            *entry = (tick, 0);
        }
        entry.1 += 1;
        let n = entry.1;
        let LogSampling {
            initial,
            thereafter,
            ..
        } = self.config;
        n <= initial || (thereafter > 0 && (n - initial) % thereafter == 0)
    }
}

impl<S: Subscriber> Layer<S> for Sampler {
    fn event_enabled(&self, event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        let meta = event.metadata();
        self.admit((meta.callsite(), *meta.level()))
    }
}

// --- OTLP log records -----------------------------------------------------------

/// Turns each event into an OTLP log record and offers it to every log processor's
/// queue without waiting.
struct OtlpLogLayer {
    senders: Vec<mpsc::Sender<LogRecord>>,
    dropped: Counter,
    initial_fields: Vec<KeyValue>,
}

fn key_value(key: &str, value: &Value) -> KeyValue {
    let v = match value {
        Value::Bool(b) => any_value::Value::BoolValue(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => any_value::Value::IntValue(i),
            None => any_value::Value::DoubleValue(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => any_value::Value::StringValue(s.clone()),
        other => any_value::Value::StringValue(other.to_string()),
    };
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

#[derive(Default)]
struct Fields {
    message: Option<String>,
    attributes: Vec<KeyValue>,
    from_self_exporter: bool,
}

impl Fields {
    fn push(&mut self, field: &Field, value: any_value::Value) {
        self.attributes.push(KeyValue {
            key: field.name().to_string(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        });
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_string());
            return;
        }
        if value.contains(SELF_EXPORTER_MARK) {
            self.from_self_exporter = true;
        }
        self.push(field, any_value::Value::StringValue(value.to_string()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, any_value::Value::IntValue(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(
            field,
            match i64::try_from(value) {
                Ok(v) => any_value::Value::IntValue(v),
                Err(_) => any_value::Value::StringValue(value.to_string()),
            },
        );
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, any_value::Value::DoubleValue(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, any_value::Value::BoolValue(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(text);
            return;
        }
        if text.contains(SELF_EXPORTER_MARK) {
            self.from_self_exporter = true;
        }
        self.push(field, any_value::Value::StringValue(text));
    }
}

/// OTLP severity numbers of `tracing` levels.
fn severity(level: Level) -> (i32, &'static str) {
    match level {
        Level::TRACE => (1, "TRACE"),
        Level::DEBUG => (5, "DEBUG"),
        Level::INFO => (9, "INFO"),
        Level::WARN => (13, "WARN"),
        Level::ERROR => (17, "ERROR"),
    }
}

impl<S: Subscriber> Layer<S> for OtlpLogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        if fields.from_self_exporter {
            return;
        }
        let meta = event.metadata();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let (number, text) = severity(*meta.level());
        let mut attributes = fields.attributes;
        attributes.push(key_value(
            "code.namespace",
            &Value::String(meta.target().into()),
        ));
        if let Some(file) = meta.file() {
            attributes.push(key_value("code.filepath", &Value::String(file.into())));
        }
        if let Some(line) = meta.line() {
            attributes.push(key_value("code.lineno", &Value::from(line)));
        }
        attributes.extend(self.initial_fields.iter().cloned());
        let record = LogRecord {
            time_unix_nano: now,
            observed_time_unix_nano: now,
            severity_number: number,
            severity_text: text.to_string(),
            body: fields.message.map(|m| AnyValue {
                value: Some(any_value::Value::StringValue(m)),
            }),
            attributes,
            ..Default::default()
        };
        for tx in &self.senders {
            if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(record.clone()) {
                self.dropped.add(1);
            }
        }
    }
}

/// Keeps the last warnings and errors in the registry, for the admin endpoint.
struct RecentLayer {
    registry: Registry,
}

/// A log event's message and fields on one line: `message key=value ...`.
#[derive(Default)]
struct OneLine(String);

impl OneLine {
    fn push(&mut self, field: &Field, value: &dyn std::fmt::Display) {
        if field.name() == "message" {
            let fields = std::mem::take(&mut self.0);
            let _ = write!(self.0, "{value}{fields}");
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl Visit for OneLine {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, &value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.push(field, &format_args!("{value:?}"));
    }
}

impl<S: Subscriber> Layer<S> for RecentLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() > Level::WARN {
            return;
        }
        let mut line = OneLine::default();
        event.record(&mut line);
        self.registry
            .record_event(stratus_core::telemetry::LoggedEvent {
                unix_nanos: SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
                    .unwrap_or(0),
                level: severity(*meta.level()).1,
                target: meta.target().to_string(),
                message: line.0,
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_events_keep_warnings_and_errors_on_one_line() {
        let registry = Registry::new();
        let subscriber = tracing_subscriber::registry().with(RecentLayer {
            registry: registry.clone(),
        });
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("not kept");
            tracing::warn!(exporter = "otlp", attempt = 3, "send failed");
            tracing::error!(error = %"connection refused", "gave up");
        });
        let events = registry.recent_events();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].level, "WARN");
        assert_eq!(events[0].message, "send failed exporter=otlp attempt=3");
        assert_eq!(events[1].level, "ERROR");
        assert_eq!(events[1].message, "gave up error=connection refused");
        assert!(events[1].target.starts_with("stratus"));
    }

    #[test]
    fn sampling_follows_zap() {
        let s = Sampler::new(LogSampling {
            tick: std::time::Duration::from_secs(3600),
            initial: 2,
            thereafter: 3,
        });
        struct Cs;
        impl tracing::callsite::Callsite for Cs {
            fn set_interest(&self, _: tracing::subscriber::Interest) {}
            fn metadata(&self) -> &tracing::Metadata<'_> {
                unreachable!()
            }
        }
        static CS: Cs = Cs;
        let key = || (tracing::callsite::Identifier(&CS), Level::INFO);
        let admitted: Vec<bool> = (0..9).map(|_| s.admit(key())).collect();
        // 1, 2 pass; then every 3rd after the first two: 5, 8.
        assert_eq!(
            admitted,
            [true, true, false, false, true, false, false, true, false]
        );
        // Another level is counted on its own.
        assert!(s.admit((tracing::callsite::Identifier(&CS), Level::WARN)));
    }

    #[test]
    fn fixed_fields_for_console_and_json() {
        let f = WithFields::new(
            (),
            vec![
                ("region".into(), Value::from("eu")),
                ("shard".into(), Value::from(3)),
                ("resource".into(), serde_json::json!({"service.name": "gw"})),
            ],
            false,
        );
        assert_eq!(f.console, " region=eu shard=3 resource={service.name=gw}");
        assert_eq!(
            f.json,
            ",\"region\":\"eu\",\"shard\":3,\"resource\":{\"service.name\":\"gw\"}"
        );
    }
}
