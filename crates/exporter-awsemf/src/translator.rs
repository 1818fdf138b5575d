//! The translator: OTLP resource metrics in, EMF log events out (upstream
//! `emf_exporter.go` `pushMetricsData` up to the pusher, with
//! `metricTranslator`). Pure: no I/O, no clock; the delta state is its only memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use stratus_core::factory::{ConfigProblem, Validate};
use stratus_core::pdata::metrics::ResourceMetrics;

use crate::config::{EmfConfig, MetricDescriptorConfig};
use crate::delta::{DeltaLimits, DeltaState, SeriesScope};
use crate::grouped_metric::{ATTRIBUTE_RECEIVER, Groups, ResourceContext};
use crate::labels::LabelSet;
use crate::metric_declaration::{self, MetricDeclaration};
use crate::metric_translator::group_to_event;
use crate::util::{log_info, namespace_for};
use stratus_aws_common::gojson;

/// One EMF log event, ready for the CloudWatch Logs pusher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmfEvent {
    /// Log group, placeholders filled (`/metrics/<namespace>` by default).
    pub log_group_name: String,
    /// Log stream, placeholders filled (the translator's default stream when
    /// `log_stream_name` is unset).
    pub log_stream_name: String,
    /// Event time, Unix milliseconds: the data points' time, or `now` for points
    /// without one.
    pub timestamp_ms: i64,
    /// The EMF JSON document, as upstream writes it.
    pub message: String,
}

/// What one [`EmfTranslator::translate`] call did, for the exporter's counters and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TranslationStats {
    /// Data points in the input.
    pub data_points: usize,
    /// Points dropped as upstream drops them: no recorded value, NaN or ±Inf.
    pub dropped_invalid: usize,
    /// First points of cumulative series, kept only as the baseline of the next
    /// delta (unless `retain_initial_value_of_delta_metric`).
    pub held_as_baseline: usize,
    /// Events that could not be written as JSON (a non-finite value) and were dropped.
    pub unencodable_events: usize,
    /// Series the bounded delta state forgot because it was full, since the
    /// translator was built.
    pub evicted_series_total: u64,
    /// Series in the delta state after the call.
    pub tracked_series: usize,
}

/// The result of one translation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Translation {
    /// The events, in the order their first data point came.
    pub events: Vec<EmfEvent>,
    /// Counts.
    pub stats: TranslationStats,
}

/// The config, compiled.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) config: EmfConfig,
    pub(crate) declarations: Vec<MetricDeclaration>,
    pub(crate) descriptors: HashMap<String, MetricDescriptorConfig>,
}

/// The default log stream of an exporter instance, as upstream names it:
/// `otel-stream-<collector id>` (upstream uses a random UUID per exporter).
pub fn default_log_stream_name(collector_id: &str) -> String {
    format!("otel-stream-{collector_id}")
}

/// Translates OTLP metrics to EMF log events. Build one per exporter and keep it:
/// it holds the previous value of every cumulative series. `translate` takes
/// `&self` (the state sits behind a lock), so it can be shared by the exporter's
/// queue consumers; batches of the same series should still arrive in order.
#[derive(Debug)]
pub struct EmfTranslator {
    compiled: Compiled,
    default_log_stream: String,
    state: Mutex<DeltaState>,
}

impl EmfTranslator {
    /// A translator for `config`, writing events without a configured stream to
    /// `default_log_stream` (see [`default_log_stream_name`]). Fails with every
    /// problem of [`EmfConfig::validate`].
    pub fn new(
        config: &EmfConfig,
        default_log_stream: impl Into<String>,
    ) -> Result<Self, Vec<ConfigProblem>> {
        let problems = config.validate();
        if !problems.is_empty() {
            return Err(problems);
        }
        let declarations = metric_declaration::compile_all(&config.metric_declarations)?;
        let descriptors = config
            .metric_descriptors
            .iter()
            .map(|d| (d.metric_name.clone(), d.clone()))
            .collect();
        Ok(EmfTranslator {
            compiled: Compiled {
                config: config.clone(),
                declarations,
                descriptors,
            },
            default_log_stream: default_log_stream.into(),
            state: Mutex::new(DeltaState::new(DeltaLimits::default())),
        })
    }

    /// Replaces the bounds of the delta state (and forgets its series).
    pub fn with_delta_limits(self, limits: DeltaLimits) -> Self {
        EmfTranslator {
            state: Mutex::new(DeltaState::new(limits)),
            ..self
        }
    }

    /// The config it was built from.
    pub fn config(&self) -> &EmfConfig {
        &self.compiled.config
    }

    /// Series in the delta state.
    pub fn tracked_series(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DeltaState> {
        // A panic elsewhere while holding the lock leaves a consistent map.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Translates one batch. `now` is the time of the call: it stamps points
    /// without a timestamp and ages the delta state.
    pub fn translate(&self, resource_metrics: &[ResourceMetrics], now: SystemTime) -> Translation {
        let now_ms = now
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let c = &self.compiled;
        let mut stats = TranslationStats::default();
        let mut groups = Groups::default();
        {
            let mut state = self.lock();
            state.maybe_sweep(now_ms);
            for rm in resource_metrics {
                let ctx = self.resource_context(rm);
                for sm in &rm.scope_metrics {
                    // Upstream carries a named scope's name over to a following
                    // unnamed scope of the same resource; an unnamed scope has no
                    // OTelLib here.
                    let scope_name = sm.scope.as_ref().map_or("", |s| s.name.as_str());
                    for metric in &sm.metrics {
                        groups.add_metric(
                            metric, &ctx, scope_name, c, &mut state, &mut stats, now_ms,
                        );
                    }
                }
            }
            stats.evicted_series_total = state.evicted();
            stats.tracked_series = state.len();
        }
        let mut events = Vec::with_capacity(groups.groups.len());
        let mut capacity = 256;
        for g in &groups.groups {
            match group_to_event(g, c, &self.default_log_stream, capacity) {
                Ok(e) => {
                    capacity = e.message.len() + e.message.len() / 4 + 16;
                    events.push(e);
                }
                Err(e) => {
                    stats.unencodable_events += 1;
                    tracing::debug!(error = %e, "Dropped an EMF event that cannot be written as JSON");
                }
            }
        }
        Translation { events, stats }
    }

    fn resource_context(&self, rm: &ResourceMetrics) -> ResourceContext {
        let cfg = &self.compiled.config;
        let attrs = rm
            .resource
            .as_ref()
            .map_or(&[][..], |r| r.attributes.as_slice());
        let as_strings: Vec<(String, String)> = attrs
            .iter()
            .map(|kv| {
                (
                    kv.key.clone(),
                    gojson::as_string(kv.value.as_ref()).into_owned(),
                )
            })
            .collect();
        let namespace = namespace_for(attrs, &cfg.namespace);
        let resource_set = LabelSet::from_pairs(as_strings.iter().cloned());
        let (log_group, log_stream, placeholders_ok) = log_info(&resource_set, &namespace, cfg);
        // pdata `Str()`: the value of a string attribute, else "".
        let receiver = attrs
            .iter()
            .find(|kv| kv.key == ATTRIBUTE_RECEIVER)
            .and_then(
                |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(stratus_core::pdata::common::any_value::Value::StringValue(s)) => {
                        Some(s.as_str())
                    }
                    _ => None,
                },
            )
            .unwrap_or("");
        let r2t = cfg.resource_to_telemetry_conversion;
        let resource_labels = if r2t.enabled {
            as_strings
                .into_iter()
                .filter(|(k, _)| {
                    !(r2t.exclude_service_attributes
                        && matches!(
                            k.as_str(),
                            "service.name" | "service.instance.id" | "service.namespace"
                        ))
                })
                .collect()
        } else {
            Vec::new()
        };
        let series_scope = Arc::new(SeriesScope {
            namespace: namespace.clone(),
            log_group: log_group.clone(),
            log_stream: log_stream.clone(),
        });
        ResourceContext {
            namespace: namespace.into(),
            log_group: log_group.into(),
            log_stream: log_stream.into(),
            placeholders_ok,
            receiver: receiver.into(),
            resource_labels,
            series_scope,
        }
    }
}
