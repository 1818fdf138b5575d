//! The fuzz targets. Each is a plain `fn(&[u8])`: it must not panic, hang or run
//! out of memory on any input, and it checks what should hold on every input it
//! accepts (a decoded request encodes back, every document is valid JSON, ...).
//! A broken check panics, which the engine reports as a crash.

use std::sync::OnceLock;
#[cfg(feature = "translators")]
use std::time::{Duration, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use stratus_core::Payload;
#[cfg(feature = "translators")]
use stratus_core::Signal;
use stratus_core::pdata::json;

#[cfg(feature = "translators")]
use crate::input::Input;
#[cfg(feature = "translators")]
use crate::synth;

/// Decodes `bytes` as an export request with prost and checks that it encodes back
/// to bytes that decode to the same request.
fn proto_roundtrip<M: Message + Default>(bytes: &[u8]) -> Option<M> {
    let message = M::decode(bytes).ok()?;
    let encoded = message.encode_to_vec();
    let again = match M::decode(encoded.as_slice()) {
        Ok(m) => m,
        Err(e) => panic!("re-encoded request does not decode: {e}"),
    };
    assert_eq!(
        again.encode_to_vec(),
        encoded,
        "re-encoding changed the request"
    );
    Some(message)
}

/// `otlp_proto`: the bytes as an OTLP/protobuf export request of each signal, as
/// the receiver's gRPC and HTTP paths decode it (prost).
pub fn otlp_proto(data: &[u8]) {
    if let Some(r) = proto_roundtrip::<ExportTraceServiceRequest>(data) {
        let _ = Payload::Traces(r.resource_spans).item_count();
    }
    if let Some(r) = proto_roundtrip::<ExportMetricsServiceRequest>(data) {
        let _ = Payload::Metrics(r.resource_metrics).item_count();
    }
    if let Some(r) = proto_roundtrip::<ExportLogsServiceRequest>(data) {
        let _ = Payload::Logs(r.resource_logs).item_count();
    }
}

/// Checks that stratus' own OTLP/JSON codec reads back what it writes, exactly.
fn json_roundtrip(payload: &Payload) {
    let encoded = json::encode_request(payload);
    let decoded = match json::decode_request(payload.signal(), &encoded) {
        Ok(p) => p,
        Err(e) => panic!("stratus cannot read its own OTLP/JSON: {e}"),
    };
    assert_eq!(
        json::encode_request(&decoded),
        encoded,
        "OTLP/JSON round trip changed the data"
    );
}

/// `otlp_json`: the bytes as OTLP/JSON, through the receiver's decoder (serde, as
/// `opentelemetry-proto` derives it) and through stratus' own codec
/// (`stratus_core::pdata::json`, used by the S3 and file exporters), whose output
/// must decode back to the same data.
pub fn otlp_json(data: &[u8]) {
    if let Ok(r) = serde_json::from_slice::<ExportTraceServiceRequest>(data) {
        json_roundtrip(&Payload::Traces(r.resource_spans));
    }
    if let Ok(r) = serde_json::from_slice::<ExportMetricsServiceRequest>(data) {
        json_roundtrip(&Payload::Metrics(r.resource_metrics));
    }
    if let Ok(r) = serde_json::from_slice::<ExportLogsServiceRequest>(data) {
        json_roundtrip(&Payload::Logs(r.resource_logs));
    }
    if let Ok(payload) = json::decode_any(data) {
        json_roundtrip(&payload);
    }
}

/// Files a fuzzed `${file:...}` reference may read: every path is put under this
/// directory, which holds `a` (a scalar) and `b` (a mapping).
fn file_provider_dir() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("stratus-fuzz-files-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join("a"), "4317\n");
        let _ = std::fs::write(dir.join("b"), "endpoint: localhost:4317\nx: [1, 2]\n");
        dir
    })
}

fn config_env(name: &str) -> Option<String> {
    match name {
        "HOST" => Some("localhost".into()),
        "PORT" => Some("4317".into()),
        "EMPTY" => Some(String::new()),
        "NESTED" => Some("${HOST}".into()),
        "DOLLAR" => Some("$$".into()),
        "YAML" => Some("{a: 1, b: [x]}".into()),
        "LONG" => Some("x".repeat(10_000)),
        _ => None,
    }
}

fn config_factories() -> &'static stratus_core::factory::Factories {
    static FACTORIES: OnceLock<stratus_core::factory::Factories> = OnceLock::new();
    FACTORIES.get_or_init(|| {
        let f = stratus_core::factory::Factories::new();
        #[cfg(feature = "components")]
        let f = f
            .receiver(stratus_receiver_otlp::OtlpReceiverFactory)
            .processor(stratus_processor_batch::BatchProcessorFactory)
            .exporter(stratus_exporter_debug::DebugExporterFactory)
            .exporter(stratus_exporter_nop::NopExporterFactory)
            .connector(stratus_connector_forward::ForwardConnectorFactory);
        #[cfg(feature = "translators")]
        let f = f
            .exporter(stratus_exporter_awsxray::AwsXrayExporterFactory)
            .exporter(stratus_exporter_awss3::AwsS3ExporterFactory)
            .exporter(stratus_exporter_awsemf::AwsEmfExporterFactory)
            .exporter(stratus_exporter_awscloudwatchlogs::AwsCloudWatchLogsExporterFactory)
            .exporter(stratus_exporter_azuremonitor::factory::AzureMonitorExporterFactory)
            .exporter(stratus_exporter_azureloganalytics::AzureLogAnalyticsExporterFactory);
        f
    })
}

/// `config`: the bytes as a YAML config (lossy UTF-8; after a `\x01` byte come
/// `--set` flags, one per further `\x01`), loaded with env expansion and validated
/// with the factories of the receivers, processors, exporters and connectors whose
/// validation is pure. Every error message must render.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\x01');
    let yaml = parts.next().unwrap_or_default();
    let sets: Vec<String> = parts.map(str::to_string).collect();
    // `${file:PATH}` reads files: keep every path inside the fuzz directory.
    let dir = file_provider_dir().display().to_string();
    let yaml = yaml
        .replace("..", ".")
        .replace("file:", &format!("file:{dir}/"));
    let source = stratus_config::Source::Inline {
        name: "fuzz.yaml".into(),
        text: yaml,
    };
    let doc = match stratus_config::load(&[source], &sets, &config_env) {
        Ok(doc) => doc,
        Err(errors) => {
            assert!(!errors.0.is_empty(), "load failed without an error");
            let _ = errors.to_string();
            return;
        }
    };
    assert!(doc.value().is_object(), "the loaded root is not a mapping");
    match stratus_config::validate(&doc, config_factories()) {
        Ok(validated) => {
            for w in &validated.warnings {
                let _ = w.to_string();
            }
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "validation failed without an error");
            let _ = errors.to_string();
        }
    }
}

#[cfg(feature = "translators")]
/// The batch a translator target works on: byte 0's low bit chooses how the rest is
/// read (clear: an OTLP/protobuf export request of `signal`, decoded with prost;
/// set: built by [`synth`] from the bytes), its other bits are the target's options.
fn batch(signal: Signal, data: &[u8]) -> Option<(u8, Payload)> {
    let (&first, rest) = data.split_first()?;
    let payload = if first & 1 == 0 {
        match signal {
            Signal::Traces => {
                Payload::Traces(ExportTraceServiceRequest::decode(rest).ok()?.resource_spans)
            }
            Signal::Metrics => Payload::Metrics(
                ExportMetricsServiceRequest::decode(rest)
                    .ok()?
                    .resource_metrics,
            ),
            Signal::Logs => {
                Payload::Logs(ExportLogsServiceRequest::decode(rest).ok()?.resource_logs)
            }
        }
    } else {
        let mut input = Input::new(rest);
        match signal {
            Signal::Traces => Payload::Traces(synth::resource_spans(&mut input)),
            Signal::Metrics => Payload::Metrics(synth::resource_metrics(&mut input)),
            Signal::Logs => Payload::Logs(synth::resource_logs(&mut input)),
        }
    };
    Some((first >> 1, payload))
}

#[cfg(feature = "translators")]
/// The signal chosen by two option bits, for targets that take every signal.
fn signal_of(options: u8) -> Signal {
    match options % 3 {
        0 => Signal::Traces,
        1 => Signal::Metrics,
        _ => Signal::Logs,
    }
}

#[cfg(feature = "translators")]
fn assert_json(what: &str, text: &str) {
    if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
        panic!("{what} is not valid JSON ({e}): {text}");
    }
}

#[cfg(feature = "translators")]
/// `xray`: spans through the X-Ray translator (segments, subsegments, `http`, `aws`,
/// `sql`, `cause`, annotations), with option bits choosing indexing; every document
/// must be JSON within X-Ray's size limit, and batches within `PutTraceSegments`'.
pub fn xray(data: &[u8]) {
    use stratus_exporter_awsxray::{
        MAX_SEGMENT_DOCUMENT_BYTES, MAX_SEGMENTS_PER_PUT, Translator, TranslatorConfig, batches,
    };
    let Some((options, Payload::Traces(spans))) = batch(Signal::Traces, data) else {
        return;
    };
    let config = TranslatorConfig {
        indexed_attributes: if options & 1 == 1 {
            synth::KEYS.iter().map(|k| k.to_string()).collect()
        } else {
            vec!["http.method".into(), "otel.resource.service.name".into()]
        },
        index_all_attributes: options & 2 == 2,
        aws_log_groups: if options & 4 == 4 {
            vec!["group-a".into()]
        } else {
            Vec::new()
        },
        allow_dot_in_annotation_keys: options & 8 == 0,
    };
    let translation = Translator::new(&config).translate(&spans);
    for doc in &translation.documents {
        assert!(
            doc.json.len() <= MAX_SEGMENT_DOCUMENT_BYTES,
            "segment document of {} bytes",
            doc.json.len()
        );
        assert_json("an X-Ray segment document", &doc.json);
    }
    for chunk in batches(&translation.documents) {
        assert!(chunk.len() <= MAX_SEGMENTS_PER_PUT);
    }
}

#[cfg(feature = "translators")]
/// A fixed "now" for translators that take one: the fuzz run must be repeatable.
const NOW_MS: u64 = 1_700_000_000_000;

#[cfg(feature = "translators")]
/// `emf`: metrics through the EMF translator, twice (the second call sees the first
/// as the baseline of its deltas), with option bits choosing the config (metric
/// declarations, detailed summaries, EMF v0, rollup, resource attributes as labels).
pub fn emf(data: &[u8]) {
    use stratus_exporter_awsemf::{
        DimensionRollupOption, EmfConfig, EmfTranslator, EmfVersion, MetricDeclarationConfig,
    };
    let Some((options, Payload::Metrics(metrics))) = batch(Signal::Metrics, data) else {
        return;
    };
    let mut config = EmfConfig {
        namespace: if options & 1 == 1 {
            String::new()
        } else {
            "ns".into()
        },
        log_group_name: "/metrics/{ClusterName}/{TaskId}".into(),
        log_stream_name: if options & 2 == 2 {
            "{PodName}-{NodeName}".into()
        } else {
            String::new()
        },
        detailed_metrics: options & 4 == 4,
        version: if options & 8 == 8 {
            EmfVersion::V0
        } else {
            EmfVersion::V1
        },
        dimension_rollup_option: match (options >> 4) % 3 {
            0 => DimensionRollupOption::ZeroAndSingleDimensionRollup,
            1 => DimensionRollupOption::SingleDimensionRollupOnly,
            _ => DimensionRollupOption::NoDimensionRollup,
        },
        parse_json_encoded_attr_values: vec!["kubernetes".into(), "Type".into()],
        eks_fargate_container_insights_enabled: options & 64 == 64,
        retain_initial_value_of_delta_metric: options & 64 == 0,
        ..EmfConfig::default()
    };
    config.resource_to_telemetry_conversion.enabled = options & 32 == 32;
    if options & 16 == 16 {
        let decl: MetricDeclarationConfig = match serde_json::from_value(serde_json::json!({
            "dimensions": [["service.name"], ["Type", "http.method"], []],
            "metric_name_selectors": ["^.*$", "a+"],
            "label_matchers": [{"label_names": ["Type"], "regex": "Pod|Container"}],
        })) {
            Ok(d) => d,
            Err(e) => panic!("fixed metric declaration does not parse: {e}"),
        };
        config.metric_declarations = vec![decl];
    }
    let translator = match EmfTranslator::new(&config, "stream") {
        Ok(t) => t,
        Err(problems) => panic!("fixed EMF config is invalid: {problems:?}"),
    };
    let now = UNIX_EPOCH + Duration::from_millis(NOW_MS);
    for now in [now, now + Duration::from_secs(60)] {
        let translation = translator.translate(&metrics, now);
        for event in &translation.events {
            assert_json("an EMF event", &event.message);
        }
    }
}

#[cfg(feature = "translators")]
/// `cloudwatch_logs`: log records through the CloudWatch Logs translator (structured
/// bodies, or `raw_log` with EMF routing by option bit), then split into
/// `PutLogEvents` requests within AWS's limits.
pub fn cloudwatch_logs(data: &[u8]) {
    use stratus_aws_common::cwlogs::{
        MAX_REQUEST_EVENT_COUNT, MAX_REQUEST_PAYLOAD_BYTES, StreamKey,
    };
    use stratus_exporter_awscloudwatchlogs::Translator;
    let Some((options, Payload::Logs(logs))) = batch(Signal::Logs, data) else {
        return;
    };
    let raw_log = options & 1 == 1;
    let translator = Translator::new(StreamKey::new("group", "stream"), raw_log);
    let translated = translator.translate(&logs);
    let split = translated.batches.split(NOW_MS as i64);
    for request in &split.requests {
        assert!(request.events.len() <= MAX_REQUEST_EVENT_COUNT);
        assert!(request.payload_bytes() <= MAX_REQUEST_PAYLOAD_BYTES);
        if !raw_log {
            for event in &request.events {
                // Truncated messages are cut, not JSON any more; whole ones are.
                if event.message.len() < 1024 {
                    assert_json("a CloudWatch Logs event", &event.message);
                }
            }
        }
    }
}

#[cfg(feature = "translators")]
/// `s3`: a batch of any signal through every S3 marshaler and compression: OTLP/JSON
/// output must be read back by stratus' codec, OTLP/protobuf by prost.
pub fn s3(data: &[u8]) {
    use stratus_exporter_awss3::{Compression, Marshaler};
    let Some(&first) = data.first() else {
        return;
    };
    let signal = signal_of(first >> 1);
    let Some((options, payload)) = batch(signal, data) else {
        return;
    };
    for marshaler in [Marshaler::OtlpJson, Marshaler::OtlpProto, Marshaler::Body] {
        let Ok(body) = marshaler.marshal(&payload) else {
            assert!(!marshaler.supports(signal));
            continue;
        };
        match marshaler {
            Marshaler::OtlpJson => {
                if let Err(e) = json::decode_request(signal, &body) {
                    panic!("S3 otlp_json object does not decode: {e}");
                }
            }
            Marshaler::OtlpProto => {
                assert_eq!(
                    body,
                    payload.encode_request(),
                    "otlp_proto is not the request"
                );
            }
            _ => {}
        }
        if options & 8 == 8 {
            let compression = if options & 16 == 16 {
                Compression::Gzip
            } else {
                Compression::None
            };
            if let Err(e) = compression.compress(body) {
                panic!("compressing in memory failed: {e}");
            }
        }
    }
}

#[cfg(feature = "translators")]
/// `application_insights`: a batch of any signal through the Application Insights
/// translator, with option bits turning span events, custom events and exception
/// events on; every envelope must be JSON, and every item accounted for.
pub fn application_insights(data: &[u8]) {
    use stratus_exporter_azuremonitor::translate::{Translator, TranslatorConfig};
    let Some(&first) = data.first() else {
        return;
    };
    let Some((options, payload)) = batch(signal_of(first >> 1), data) else {
        return;
    };
    let translator = Translator::new(TranslatorConfig {
        instrumentation_key: "00000000-0000-0000-0000-000000000000".into(),
        span_events_enabled: options & 4 == 4,
        custom_events_enabled: options & 8 == 8,
        exception_events_enabled: options & 16 == 16,
    });
    let translation = translator.translate(&payload);
    assert_eq!(translation.envelopes.len(), translation.item_of.len());
    for (envelope, &item) in translation.envelopes.iter().zip(&translation.item_of) {
        assert!(item < translation.items.max(1), "envelope of item {item}");
        assert_json("an Application Insights envelope", envelope);
    }
}

#[cfg(feature = "translators")]
/// `log_analytics`: a batch of any signal as Log Analytics rows; one JSON object per
/// item.
pub fn log_analytics(data: &[u8]) {
    let Some(&first) = data.first() else {
        return;
    };
    let Some((_, payload)) = batch(signal_of(first >> 1), data) else {
        return;
    };
    let rows = stratus_exporter_azureloganalytics::rows::rows(&payload);
    assert_eq!(rows.len(), payload.item_count(), "not one row per item");
    for row in &rows {
        assert_json("a Log Analytics row", row);
    }
}

pub use crate::queue::persistent_queue;
