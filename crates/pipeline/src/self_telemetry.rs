//! stratus's own metrics, read out: `/metrics` in Prometheus text format for a
//! `pull` reader (or the deprecated `service::telemetry::metrics::address`), OTLP
//! `ResourceMetrics` for a `periodic` reader, and the process metrics the collector
//! exposes (`otelcol_process_uptime`, `otelcol_process_memory_rss`,
//! `otelcol_process_cpu_seconds`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use stratus_core::endpoint::Endpoint;
use stratus_core::telemetry::{FamilySnapshot, MetricKind, Registry, SeriesValue, write_sample};
use tokio::sync::watch;

/// Linux reports CPU time in clock ticks of 1/100 s on every architecture stratus ships for.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;
/// Page size used by `/proc/self/statm` on x86_64 and aarch64 Linux with default kernels.
const PAGE_SIZE: u64 = 4096;

/// Resident set size of this process in bytes, from `/proc/self/statm`.
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * PAGE_SIZE)
}

/// User plus system CPU seconds used by this process, from `/proc/self/stat`.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may contain spaces; fields after its closing paren are fixed.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / CLOCK_TICKS_PER_SECOND)
}

/// Registers the process metrics on `registry`.
pub fn register_process_metrics(registry: &Registry) {
    let started = Instant::now();
    registry.gauge_fn(
        "otelcol_process_uptime",
        "Uptime of the process in seconds.",
        &[],
        Box::new(move || started.elapsed().as_secs_f64()),
    );
    registry.gauge_fn(
        "otelcol_process_memory_rss",
        "Total physical memory (resident set size) in bytes.",
        &[],
        Box::new(|| rss_bytes().unwrap_or(0) as f64),
    );
    if stratus_core::memory::heap_allocated().is_some() {
        registry.gauge_fn(
            "otelcol_process_runtime_heap_alloc_bytes",
            "Bytes of allocated heap objects.",
            &[],
            Box::new(|| stratus_core::memory::heap_allocated().unwrap_or(0) as f64),
        );
    }
    registry.gauge_fn(
        "otelcol_process_cpu_seconds",
        "Total CPU user and system time in seconds.",
        &[],
        Box::new(|| cpu_seconds().unwrap_or(0.0)),
    );
}

/// How a Prometheus reader renders: the collector's `prometheus` exporter options.
/// The default renders exactly [`Registry::render`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PrometheusOptions {
    /// Append `_total` to counter names (`without_type_suffix: false`).
    pub counter_suffix: bool,
    /// `otel_scope_name` and `otel_scope_version` labels on every series
    /// (`without_scope_info: false`).
    pub scope: Option<(String, String)>,
    /// A `target_info` series with these resource attributes as labels (unless
    /// `without_target_info`).
    pub target_info: Option<Vec<(String, String)>>,
    /// Labels added to every series (`with_resource_constant_labels`).
    pub constant_labels: Vec<(String, String)>,
}

/// A Prometheus label name for an attribute key: characters outside `[A-Za-z0-9_]`
/// become `_` (`service.name` is `service_name`), and a leading digit gets a `_`.
pub fn label_name(key: &str) -> String {
    let mut out: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Renders a snapshot in Prometheus text exposition format 0.0.4 with `options`.
pub fn render_prometheus(families: &[FamilySnapshot], options: &PrometheusOptions) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(4096);
    if let Some(attrs) = &options.target_info {
        out.push_str("# HELP target_info Target metadata\n# TYPE target_info gauge\n");
        let labels: Vec<(String, &str)> = attrs
            .iter()
            .map(|(k, v)| (label_name(k), v.as_str()))
            .collect();
        let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        write_sample(&mut out, "target_info", &labels, 1.0);
    }
    let mut extra: Vec<(&str, &str)> = Vec::new();
    if let Some((name, version)) = &options.scope {
        extra.push(("otel_scope_name", name));
        extra.push(("otel_scope_version", version));
    }
    let constant: Vec<(String, &str)> = options
        .constant_labels
        .iter()
        .map(|(k, v)| (label_name(k), v.as_str()))
        .collect();
    extra.extend(constant.iter().map(|(k, v)| (k.as_str(), *v)));
    for family in families {
        let name = if family.kind == MetricKind::Counter && options.counter_suffix {
            format!("{}_total", family.name)
        } else {
            family.name.clone()
        };
        let kind = match family.kind {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        };
        let _ = writeln!(out, "# HELP {name} {}", family.help);
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for series in &family.series {
            let mut labels: Vec<(&str, &str)> = series
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            labels.extend(extra.iter().copied());
            match &series.value {
                SeriesValue::Counter(n) => write_sample(&mut out, &name, &labels, *n as f64),
                SeriesValue::Gauge(v) => write_sample(&mut out, &name, &labels, *v),
                SeriesValue::Histogram {
                    bounds,
                    counts,
                    count,
                    sum,
                } => {
                    let bucket = format!("{name}_bucket");
                    let mut cumulative = 0u64;
                    for (bound, n) in bounds.iter().zip(counts) {
                        cumulative += n;
                        let le = bound.to_string();
                        let mut l = labels.clone();
                        l.push(("le", &le));
                        write_sample(&mut out, &bucket, &l, cumulative as f64);
                    }
                    let mut l = labels.clone();
                    l.push(("le", "+Inf"));
                    write_sample(&mut out, &bucket, &l, *count as f64);
                    write_sample(&mut out, &format!("{name}_sum"), &labels, *sum);
                    write_sample(&mut out, &format!("{name}_count"), &labels, *count as f64);
                }
            }
        }
    }
    out
}

fn string_attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_string())),
        }),
        ..Default::default()
    }
}

/// A snapshot as one OTLP `ResourceMetrics`: counters as monotonic cumulative sums,
/// gauges as gauges, histograms as cumulative explicit-bucket histograms, each
/// series' labels as attributes, all in one scope `scope_name`/`scope_version`.
/// `start_unix_nano` is when counting began (process start), `now_unix_nano` the
/// time of the reading.
pub fn to_resource_metrics(
    families: &[FamilySnapshot],
    resource: Resource,
    schema_url: &str,
    scope: (&str, &str),
    start_unix_nano: u64,
    now_unix_nano: u64,
) -> ResourceMetrics {
    let cumulative = AggregationTemporality::Cumulative as i32;
    let metrics = families
        .iter()
        .map(|family| {
            let attrs = |labels: &[(String, String)]| -> Vec<KeyValue> {
                labels.iter().map(|(k, v)| string_attr(k, v)).collect()
            };
            let number = |labels: &[(String, String)], value| NumberDataPoint {
                attributes: attrs(labels),
                start_time_unix_nano: start_unix_nano,
                time_unix_nano: now_unix_nano,
                value: Some(value),
                ..Default::default()
            };
            let data = match family.kind {
                MetricKind::Counter => metric::Data::Sum(Sum {
                    data_points: family
                        .series
                        .iter()
                        .map(|s| {
                            let v = match &s.value {
                                SeriesValue::Counter(n) => number_data_point::Value::AsInt(
                                    i64::try_from(*n).unwrap_or(i64::MAX),
                                ),
                                SeriesValue::Gauge(g) => number_data_point::Value::AsDouble(*g),
                                SeriesValue::Histogram { sum, .. } => {
                                    number_data_point::Value::AsDouble(*sum)
                                }
                            };
                            number(&s.labels, v)
                        })
                        .collect(),
                    aggregation_temporality: cumulative,
                    is_monotonic: true,
                }),
                MetricKind::Gauge => metric::Data::Gauge(Gauge {
                    data_points: family
                        .series
                        .iter()
                        .map(|s| {
                            let v = match &s.value {
                                SeriesValue::Counter(n) => *n as f64,
                                SeriesValue::Gauge(g) => *g,
                                SeriesValue::Histogram { sum, .. } => *sum,
                            };
                            number(&s.labels, number_data_point::Value::AsDouble(v))
                        })
                        .collect(),
                }),
                MetricKind::Histogram => metric::Data::Histogram(Histogram {
                    data_points: family
                        .series
                        .iter()
                        .filter_map(|s| match &s.value {
                            SeriesValue::Histogram {
                                bounds,
                                counts,
                                count,
                                sum,
                            } => Some(HistogramDataPoint {
                                attributes: attrs(&s.labels),
                                start_time_unix_nano: start_unix_nano,
                                time_unix_nano: now_unix_nano,
                                count: *count,
                                sum: Some(*sum),
                                bucket_counts: counts.clone(),
                                explicit_bounds: bounds.clone(),
                                ..Default::default()
                            }),
                            _ => None,
                        })
                        .collect(),
                    aggregation_temporality: cumulative,
                }),
            };
            Metric {
                name: family.name.clone(),
                description: family.help.clone(),
                data: Some(data),
                ..Default::default()
            }
        })
        .collect();
    ResourceMetrics {
        resource: Some(resource),
        scope_metrics: vec![ScopeMetrics {
            scope: Some(InstrumentationScope {
                name: scope.0.to_string(),
                version: scope.1.to_string(),
                ..Default::default()
            }),
            metrics,
            ..Default::default()
        }],
        schema_url: schema_url.to_string(),
    }
}

/// The running `/metrics` endpoint.
pub struct MetricsServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl MetricsServer {
    /// Binds `endpoint` and serves `registry` on `/metrics`, rendered with `options`,
    /// until [`MetricsServer::stop`].
    pub async fn start(
        endpoint: &Endpoint,
        registry: Registry,
        options: PrometheusOptions,
    ) -> std::io::Result<MetricsServer> {
        let listener = endpoint
            .bind()
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("internal metrics: {e}")))?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        let options = std::sync::Arc::new(options);
        tokio::spawn(async move {
            loop {
                let conn = tokio::select! {
                    c = listener.accept() => c,
                    _ = stopped.changed() => break,
                };
                let Ok((stream, _)) = conn else { continue };
                let registry = registry.clone();
                let options = options.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<_>| {
                        let registry = registry.clone();
                        let options = options.clone();
                        async move { Ok::<_, Infallible>(respond(&req, &registry, &options)) }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(MetricsServer { addr, stop })
    }

    /// The address the endpoint listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

fn respond<B>(
    req: &Request<B>,
    registry: &Registry,
    options: &PrometheusOptions,
) -> Response<Full<Bytes>> {
    let (status, content_type, body) = if req.uri().path() == "/metrics" {
        let body = if *options == PrometheusOptions::default() {
            registry.render()
        } else {
            render_prometheus(&registry.snapshot(), options)
        };
        (
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            body,
        )
    } else {
        (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "404 page not found\n".to_string(),
        )
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_process_figures() {
        assert!(rss_bytes().unwrap() > 0);
        assert!(cpu_seconds().unwrap() >= 0.0);
    }

    fn sample_registry() -> Registry {
        let r = Registry::new();
        r.counter("otelcol_c", "C.", &[("exporter", "otlp")]).add(7);
        r.gauge_fn("otelcol_g", "G.", &[], Box::new(|| 2.5));
        let h = r.histogram("otelcol_h", "H.", &[], &[1.0, 10.0]);
        h.record(0.5);
        h.record(20.0);
        r
    }

    #[test]
    fn default_options_render_like_the_registry() {
        let r = sample_registry();
        assert_eq!(
            render_prometheus(&r.snapshot(), &PrometheusOptions::default()),
            r.render()
        );
    }

    #[test]
    fn prometheus_options_change_names_and_labels() {
        let r = sample_registry();
        let text = render_prometheus(
            &r.snapshot(),
            &PrometheusOptions {
                counter_suffix: true,
                scope: Some(("stratus".into(), "1.2.3".into())),
                target_info: Some(vec![("service.name".into(), "stratus".into())]),
                constant_labels: vec![("deployment.environment".into(), "prod".into())],
            },
        );
        assert!(text.starts_with("# HELP target_info Target metadata\n# TYPE target_info gauge\ntarget_info{service_name=\"stratus\"} 1\n"), "{text}");
        assert!(text.contains("# TYPE otelcol_c_total counter\n"), "{text}");
        assert!(text.contains("otelcol_c_total{exporter=\"otlp\",otel_scope_name=\"stratus\",otel_scope_version=\"1.2.3\",deployment_environment=\"prod\"} 7\n"), "{text}");
        // Gauges and histograms keep their names.
        assert!(text.contains("otelcol_g{otel_scope_name=\"stratus\",otel_scope_version=\"1.2.3\",deployment_environment=\"prod\"} 2.5\n"), "{text}");
        assert!(text.contains("otelcol_h_bucket{otel_scope_name=\"stratus\",otel_scope_version=\"1.2.3\",deployment_environment=\"prod\",le=\"+Inf\"} 2\n"), "{text}");
        assert_eq!(label_name("1a.b-c"), "_1a_b_c");
    }

    #[test]
    fn snapshot_to_otlp() {
        let r = sample_registry();
        let rm = to_resource_metrics(
            &r.snapshot(),
            Resource {
                attributes: vec![string_attr("service.name", "stratus")],
                ..Default::default()
            },
            "",
            ("stratus", "0.1.0"),
            10,
            20,
        );
        assert_eq!(rm.resource.unwrap().attributes[0].key, "service.name");
        let sm = &rm.scope_metrics[0];
        assert_eq!(sm.scope.as_ref().unwrap().name, "stratus");
        let by_name = |n: &str| sm.metrics.iter().find(|m| m.name == n).unwrap();
        let Some(metric::Data::Sum(sum)) = &by_name("otelcol_c").data else {
            panic!("counter is not a sum")
        };
        assert!(sum.is_monotonic);
        assert_eq!(
            sum.aggregation_temporality,
            AggregationTemporality::Cumulative as i32
        );
        let p = &sum.data_points[0];
        assert_eq!(p.value, Some(number_data_point::Value::AsInt(7)));
        assert_eq!((p.start_time_unix_nano, p.time_unix_nano), (10, 20));
        assert_eq!(p.attributes, vec![string_attr("exporter", "otlp")]);
        let Some(metric::Data::Gauge(g)) = &by_name("otelcol_g").data else {
            panic!("not a gauge")
        };
        assert_eq!(
            g.data_points[0].value,
            Some(number_data_point::Value::AsDouble(2.5))
        );
        let Some(metric::Data::Histogram(h)) = &by_name("otelcol_h").data else {
            panic!("not a histogram")
        };
        let p = &h.data_points[0];
        assert_eq!((p.count, p.sum), (2, Some(20.5)));
        assert_eq!(p.bucket_counts, vec![1, 0, 1]);
        assert_eq!(p.explicit_bounds, vec![1.0, 10.0]);
    }
}
