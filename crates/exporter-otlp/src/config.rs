//! The config of the `otlp_http` (`otlphttp`) exporter, with the collector's keys and
//! defaults. The gRPC exporter's config is [`stratus_otlp_client::config`], re-exported
//! here.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use stratus_core::confval::Secret;
use stratus_core::factory::{ConfigProblem, Validate};
use stratus_exporter_helper::config::validate_shared;
use stratus_exporter_helper::{ExporterSettings, QueueConfig, RetryConfig};

pub use stratus_otlp_client::config::{
    Compression, GrpcTarget, KeepaliveConfig, OtlpConfig, TlsClientConfig, validate_headers,
};

/// The default per-request timeout of `otlphttp`: 30s (the collector's HTTP client default).
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// `compression_params`: how hard to compress (the collector's `configcompression`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompressionParams {
    /// Compression level. gzip: `1` (fastest) to `9` (smallest), `-1` or `0` for the
    /// library default (6); zstd: any level, mapped to the nearest one zstd has
    /// (`0` for its default, 3). Default `0`.
    pub level: i32,
}

impl CompressionParams {
    /// Problems of these params with `compression`, at `compression_params::level`.
    fn validate(&self, compression: Compression) -> Vec<ConfigProblem> {
        let level = self.level;
        let message = match compression {
            Compression::Gzip if level == -2 => Some(
                "gzip level -2 (Huffman-only) is not supported by stratus; use 1 to 9".to_string(),
            ),
            Compression::Gzip if !(-1..=9).contains(&level) => Some(format!(
                "gzip level {level} is out of range: use 1 (fastest) to 9 (smallest), or -1 \
                 for the default"
            )),
            Compression::None if level != 0 => Some(format!(
                "level {level} needs a compression: set `compression` to gzip or zstd"
            )),
            _ => None,
        };
        message
            .map(|m| ConfigProblem::new("compression_params::level", m))
            .into_iter()
            .collect()
    }
}

/// How `otlphttp` encodes request bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Binary protobuf, `application/x-protobuf`.
    Proto,
    /// OTLP/JSON, `application/json`.
    Json,
}

/// The config of the `otlphttp` exporter: OTLP over HTTP.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpHttpConfig {
    /// Base URL; each signal goes to it plus `/v1/traces`, `/v1/metrics` or `/v1/logs`.
    /// Default: empty (then every signal used needs its own `*_endpoint`).
    pub endpoint: String,
    /// Full URL for traces, instead of `endpoint` + `/v1/traces`. Default: empty.
    pub traces_endpoint: String,
    /// Full URL for metrics, instead of `endpoint` + `/v1/metrics`. Default: empty.
    pub metrics_endpoint: String,
    /// Full URL for logs, instead of `endpoint` + `/v1/logs`. Default: empty.
    pub logs_endpoint: String,
    /// Body encoding: `proto` or `json`. Default `proto`.
    pub encoding: Encoding,
    /// Body compression: `gzip`, `zstd` or `none`. Default `gzip`.
    pub compression: Compression,
    /// Compression level (`level`). Default: the algorithm's own default.
    pub compression_params: CompressionParams,
    /// Extra request headers. Values are secrets: never logged. Default: none.
    pub headers: BTreeMap<String, Secret>,
    /// TLS settings for `https://` URLs: the collector's `configtls` client keys (see
    /// `stratus-tls`); `insecure` is not used, the scheme decides.
    /// Default: the system's trusted roots.
    pub tls: TlsClientConfig,
    /// Per-request timeout. Default `30s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub timeout: Duration,
    /// Retries of failed requests. Default: enabled, 5s initial, 30s max, 300s total.
    pub retry_on_failure: RetryConfig,
    /// The sending queue. Default: enabled, 10 consumers, 1000 requests.
    pub sending_queue: QueueConfig,
}

impl Default for OtlpHttpConfig {
    fn default() -> Self {
        OtlpHttpConfig {
            endpoint: String::new(),
            traces_endpoint: String::new(),
            metrics_endpoint: String::new(),
            logs_endpoint: String::new(),
            encoding: Encoding::Proto,
            compression: Compression::Gzip,
            compression_params: CompressionParams::default(),
            headers: BTreeMap::new(),
            tls: TlsClientConfig::default(),
            timeout: DEFAULT_HTTP_TIMEOUT,
            retry_on_failure: RetryConfig::default(),
            sending_queue: QueueConfig::default(),
        }
    }
}

fn check_url(text: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = text
        .parse()
        .map_err(|e| format!("`{text}` is not a valid URL: {e}"))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => {
            return Err(format!("`{text}` must start with `http://` or `https://`"));
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("`{text}` has no host"));
    }
    Ok(uri)
}

impl OtlpHttpConfig {
    /// The URL a signal is sent to, or `None` when neither `endpoint` nor the signal's
    /// own endpoint is set.
    pub fn signal_url(&self, signal: stratus_core::Signal) -> Option<Result<http::Uri, String>> {
        use stratus_core::Signal;
        let own = match signal {
            Signal::Traces => &self.traces_endpoint,
            Signal::Metrics => &self.metrics_endpoint,
            Signal::Logs => &self.logs_endpoint,
        };
        if !own.is_empty() {
            return Some(check_url(own));
        }
        if self.endpoint.is_empty() {
            return None;
        }
        let base = self.endpoint.trim_end_matches('/');
        Some(check_url(&format!("{base}/v1/{}", signal.as_str())))
    }

    /// The helper settings from `timeout`, `retry_on_failure` and `sending_queue`.
    pub fn settings(&self) -> ExporterSettings {
        ExporterSettings {
            timeout: self.timeout,
            retry: self.retry_on_failure.clone(),
            queue: self.sending_queue.clone(),
        }
    }
}

impl Validate for OtlpHttpConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let all = [
            ("endpoint", &self.endpoint),
            ("traces_endpoint", &self.traces_endpoint),
            ("metrics_endpoint", &self.metrics_endpoint),
            ("logs_endpoint", &self.logs_endpoint),
        ];
        if all.iter().all(|(_, v)| v.is_empty()) {
            problems.push(ConfigProblem::new(
                "endpoint",
                "is required (or traces_endpoint, metrics_endpoint and logs_endpoint): \
                 e.g. `https://collector:4318`",
            ));
        }
        for (key, value) in all {
            if !value.is_empty()
                && let Err(e) = check_url(value)
            {
                problems.push(ConfigProblem::new(key, e));
            }
        }
        problems.extend(self.compression_params.validate(self.compression));
        problems.extend(stratus_tls::prefixed("tls", self.tls.validate()));
        problems.extend(validate_headers(&self.headers, false));
        problems.extend(validate_shared(&self.retry_on_failure, &self.sending_queue));
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stratus_core::Signal;
    use stratus_core::factory::decode_config;

    #[test]
    fn otlphttp_defaults_and_urls() {
        let c: OtlpHttpConfig =
            decode_config(&json!({"endpoint": "https://collector:4318/"})).unwrap();
        assert_eq!(c.encoding, Encoding::Proto);
        assert_eq!(c.compression, Compression::Gzip);
        assert_eq!(c.timeout, Duration::from_secs(30));
        let url = |c: &OtlpHttpConfig, s| c.signal_url(s).unwrap().unwrap().to_string();
        assert_eq!(url(&c, Signal::Traces), "https://collector:4318/v1/traces");
        assert_eq!(url(&c, Signal::Logs), "https://collector:4318/v1/logs");
        let c: OtlpHttpConfig = decode_config(&json!({
            "endpoint": "http://base:4318/prefix",
            "metrics_endpoint": "http://other:9000/custom/metrics",
        }))
        .unwrap();
        assert_eq!(url(&c, Signal::Traces), "http://base:4318/prefix/v1/traces");
        assert_eq!(url(&c, Signal::Metrics), "http://other:9000/custom/metrics");
        let c: OtlpHttpConfig =
            decode_config(&json!({"logs_endpoint": "http://l:1/logs"})).unwrap();
        assert!(c.signal_url(Signal::Traces).is_none());
    }

    #[test]
    fn otlphttp_problems() {
        let e = decode_config::<OtlpHttpConfig>(&json!({})).unwrap_err();
        assert_eq!(e[0].path, "endpoint");
        let e = decode_config::<OtlpHttpConfig>(&json!({
            "endpoint": "collector:4318",
            "traces_endpoint": "ftp://x/y",
            "encoding": "xml",
        }))
        .unwrap_err();
        assert_eq!(e[0].path, "encoding");
        let e = decode_config::<OtlpHttpConfig>(&json!({
            "endpoint": "collector:4318",
            "traces_endpoint": "ftp://x/y",
        }))
        .unwrap_err();
        let paths: Vec<_> = e.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["endpoint", "traces_endpoint"]);
        let e = decode_config::<OtlpHttpConfig>(&json!({
            "endpoint": "http://c:4318", "timeout": "soon"
        }))
        .unwrap_err();
        assert_eq!(e[0].path, "timeout");
    }

    #[test]
    fn compression_params_follow_configcompression() {
        let decode = |v: serde_json::Value| {
            let mut base = json!({"endpoint": "http://c:4318"});
            base.as_object_mut()
                .unwrap()
                .extend(v.as_object().unwrap().clone());
            decode_config::<OtlpHttpConfig>(&base)
        };
        for (compression, level) in [("gzip", 1), ("gzip", 9), ("gzip", -1), ("zstd", 3)] {
            let c =
                decode(json!({"compression": compression, "compression_params": {"level": level}}))
                    .unwrap_or_else(|e| panic!("{compression} {level}: {e:?}"));
            assert_eq!(c.compression_params.level, level);
        }
        assert_eq!(decode(json!({})).unwrap().compression_params.level, 0);
        let cases = [
            (
                json!({"compression": "gzip", "compression_params": {"level": 10}}),
                "gzip level 10 is out of range: use 1 (fastest) to 9 (smallest), or -1 for the default",
            ),
            (
                json!({"compression": "gzip", "compression_params": {"level": -2}}),
                "gzip level -2 (Huffman-only) is not supported by stratus; use 1 to 9",
            ),
            (
                json!({"compression": "none", "compression_params": {"level": 3}}),
                "level 3 needs a compression: set `compression` to gzip or zstd",
            ),
        ];
        for (config, message) in cases {
            let e = decode(config.clone()).unwrap_err();
            assert_eq!(
                e,
                vec![ConfigProblem::new("compression_params::level", message)],
                "{config}"
            );
        }
        let e = decode(json!({"compression_params": {"levle": 3}})).unwrap_err();
        assert_eq!(e[0].path, "compression_params::levle");
    }
}
