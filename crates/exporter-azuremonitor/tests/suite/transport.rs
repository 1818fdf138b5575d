//! The `azuremonitor` exporter end to end against the recording HTTP server playing
//! Application Insights' Track API: the conformance check, the brief's block, 206
//! partial success (exactly the retryable envelopes resent, every item arriving
//! once, counts item by item), Retry-After, 400, 401/403, and secrets kept out of
//! errors and logs.
//!
//! No process environment is touched: `APPLICATIONINSIGHTS_CONNECTION_STRING` is
//! tested through the injectable lookup (`connection_with`, `validate_with`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use stratus_core::factory::{BuildContext, Exporter, ExporterFactory, FactoryInfo, Validate};
use stratus_core::telemetry::Registry;
use stratus_core::{ComponentId, Host, Signal};
use stratus_exporter_azuremonitor::config::AzureMonitorConfig;
use stratus_exporter_azuremonitor::factory::AzureMonitorExporterFactory;
use stratus_testkit::http::{RecordedRequest, RecordingHttpServer, Response};
use stratus_testkit::metric_value;
use stratus_testkit::otlp::{sample_logs, sample_spans};

const ID: &str = "azuremonitor/test";
const KEY: &str = "6a1d4f6e-2c3b-4d5e-8f90-a1b2c3d4e5f6";

#[tokio::test]
async fn conformance() {
    stratus_testkit::conformance::exporter(&AzureMonitorExporterFactory)
        .http_destination(|url| {
            json!({
                "connection_string": format!("InstrumentationKey={KEY};IngestionEndpoint={url}/"),
                "maxbatchinterval": "50ms",
            })
        })
        .default_config_rejected(&["connection_string"])
        .await;
}

/// Quick retries, no queue: `consume` returns the export's result.
fn config(server: &RecordingHttpServer, extra: Value) -> Value {
    let mut config = json!({
        "connection_string": format!("InstrumentationKey={KEY};IngestionEndpoint={}/", server.url()),
        "retry_on_failure": {"initial_interval": "10ms", "max_interval": "10ms",
                             "randomization_factor": 0, "max_elapsed_time": "20s"},
        "sending_queue": {"enabled": false},
    });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    config
}

async fn exporter(config: &Value, signals: Vec<Signal>) -> (Arc<dyn Exporter>, Registry) {
    let registry = Registry::new();
    let ctx = BuildContext::new(
        ComponentId::with_name("azuremonitor", "test"),
        signals,
        registry.clone(),
    );
    let exporter = AzureMonitorExporterFactory
        .build(ctx, config)
        .await
        .unwrap();
    exporter.start(&Host::ready()).await.unwrap();
    (exporter, registry)
}

fn metric(registry: &Registry, name: &str) -> f64 {
    metric_value(registry, name, &[("exporter", ID)])
}

/// The envelopes of one POST, after checking the request is a Track API POST.
fn envelopes(request: &RecordedRequest) -> Vec<Value> {
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v2.1/track");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("content-encoding"), Some("gzip"));
    assert_eq!(request.body_error, None);
    request.json().as_array().unwrap().clone()
}

/// The log messages of one POST's envelopes, in order (`line {i}` of sample_logs).
fn messages(request: &RecordedRequest) -> Vec<String> {
    envelopes(request)
        .iter()
        .map(|e| {
            assert_eq!(e["iKey"], KEY);
            e["data"]["baseData"]["message"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn lines(ids: &[usize]) -> Vec<String> {
    ids.iter().map(|i| format!("line {i}")).collect()
}

/// A 206 naming `errors` as `(index, status)`.
fn partial(received: usize, errors: &[(usize, u16)]) -> Response {
    let errors: Vec<Value> = errors
        .iter()
        .map(|(i, s)| json!({"index": i, "statusCode": s, "message": format!("status {s}")}))
        .collect();
    Response::status(206).json(&json!({
        "itemsReceived": received,
        "itemsAccepted": received - errors.len(),
        "errors": errors,
    }))
}

fn accepted(n: usize) -> Response {
    Response::ok().json(&json!({"itemsReceived": n, "itemsAccepted": n, "errors": []}))
}

#[tokio::test]
async fn partial_success_resends_exactly_the_retryable_envelopes() {
    let server = RecordingHttpServer::start().await;
    // First POST: 1 is throttled (429), 3 and 4 failed inside (500); the rest taken.
    server.respond(partial(6, &[(1, 429), (3, 500), (4, 500)]));
    // The resend (lines 1, 3, 4): its index 2 (line 4) is unavailable once more.
    server.respond(partial(3, &[(2, 503)]));
    server.set_default(accepted(1));
    let (exporter, registry) = exporter(&config(&server, json!({})), vec![Signal::Logs]).await;
    exporter.consume(sample_logs(6)).await.unwrap();

    let requests = server.requests();
    let posted: Vec<Vec<String>> = requests.iter().map(messages).collect();
    assert_eq!(
        posted,
        [lines(&[0, 1, 2, 3, 4, 5]), lines(&[1, 3, 4]), lines(&[4])],
        "each attempt resends only what Azure did not take, each envelope once"
    );
    // Every item arrived (was accepted) exactly once.
    let mut taken: BTreeMap<String, usize> = BTreeMap::new();
    let accepted_in = [vec![0, 2, 5], vec![0, 1], vec![0]];
    for (request, accepted) in posted.iter().zip(accepted_in) {
        for i in accepted {
            *taken.entry(request[i].clone()).or_default() += 1;
        }
    }
    assert_eq!(taken.len(), 6);
    assert!(taken.values().all(|&n| n == 1), "{taken:?}");
    assert_eq!(metric(&registry, "otelcol_exporter_sent_log_records"), 6.0);
    assert_eq!(
        metric(&registry, "otelcol_exporter_send_failed_log_records"),
        0.0
    );
    assert_eq!(
        metric(&registry, "stratus_exporter_azuremonitor_resent_envelopes"),
        4.0
    );
    exporter.shutdown().await.unwrap();
}

#[tokio::test]
async fn envelopes_rejected_for_good_are_not_resent_and_count_as_failed() {
    let server = RecordingHttpServer::start().await;
    // 0: 400 (invalid, for good), 2: 429 (resent), 3: 402-style other 4xx (for good).
    server.respond(partial(5, &[(0, 400), (2, 429), (3, 404)]));
    server.set_default(accepted(1));
    let (exporter, registry) = exporter(&config(&server, json!({})), vec![Signal::Logs]).await;
    let err = exporter.consume(sample_logs(5)).await.unwrap_err();
    assert!(err.is_permanent(), "{err}");
    assert!(err.message().contains("rejected 2 of 5 envelopes"), "{err}");
    assert!(err.message().contains("status 400"), "{err}");
    let posted: Vec<Vec<String>> = server.requests().iter().map(messages).collect();
    assert_eq!(posted, [lines(&[0, 1, 2, 3, 4]), lines(&[2])]);
    assert_eq!(metric(&registry, "otelcol_exporter_sent_log_records"), 3.0);
    assert_eq!(
        metric(&registry, "otelcol_exporter_send_failed_log_records"),
        2.0
    );
}

#[tokio::test]
async fn a_span_counts_as_sent_only_when_all_its_envelopes_were_accepted() {
    // Spans with an exception event become a dependency/request plus an Exception
    // envelope; reject the Exception of one span for good.
    use stratus_testkit::otlp::{SpanKind, event, span, traces};
    let batch = traces()
        .resource([("service.name", "api")])
        .scope("s")
        .span(span("a").kind(SpanKind::Server).start(1_000).end(2_000))
        .span(
            span("b")
                .kind(SpanKind::Client)
                .start(1_000)
                .end(2_000)
                .event(
                    event("exception")
                        .attr("exception.type", "E")
                        .attr("exception.message", "m"),
                ),
        )
        .build();
    let server = RecordingHttpServer::start().await;
    server.respond(partial(3, &[(2, 400)]));
    let (exporter, registry) = exporter(&config(&server, json!({})), vec![Signal::Traces]).await;
    let err = exporter.consume(batch).await.unwrap_err();
    assert!(err.is_permanent());
    let sent = envelopes(&server.requests()[0]);
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(sent[2]["data"]["baseType"], "ExceptionData");
    assert_eq!(metric(&registry, "otelcol_exporter_sent_spans"), 1.0);
    assert_eq!(metric(&registry, "otelcol_exporter_send_failed_spans"), 1.0);
}

#[tokio::test]
async fn retry_after_is_the_throttle_delay() {
    // The back-off would wait an hour; Retry-After says 1 second. The export finishing
    // at all shows the throttle delay replaced the back-off (no clock is read here).
    let server = RecordingHttpServer::start().await;
    server.respond(Response::status(429).header("Retry-After", "1"));
    server.respond(partial(2, &[(1, 439)]).header("Retry-After", "1"));
    server.respond(Response::status(503).header("Retry-After", "1"));
    server.set_default(accepted(1));
    let slow = json!({"retry_on_failure": {"initial_interval": "1h", "max_interval": "1h",
                                           "max_elapsed_time": "0"}});
    let (exporter, registry) = exporter(&config(&server, slow), vec![Signal::Logs]).await;
    tokio::time::timeout(Duration::from_secs(60), exporter.consume(sample_logs(2)))
        .await
        .expect("the throttle delay (1s) was used, not the 1h back-off")
        .unwrap();
    let posted: Vec<Vec<String>> = server.requests().iter().map(messages).collect();
    assert_eq!(
        posted,
        [lines(&[0, 1]), lines(&[0, 1]), lines(&[1]), lines(&[1])]
    );
    let throttled = metric_value(
        &registry,
        "stratus_exporter_retries",
        &[
            ("exporter", ID),
            ("signal", "logs"),
            ("reason", "throttled"),
        ],
    );
    assert_eq!(throttled, 3.0);
    assert_eq!(metric(&registry, "otelcol_exporter_sent_log_records"), 2.0);
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let server = RecordingHttpServer::start().await;
    server.set_default(Response::status(400).json(&json!({
        "itemsReceived": 3, "itemsAccepted": 0,
        "errors": [{"index": 0, "statusCode": 400, "message": "107: Field 'time' on type 'Envelope' is required"}],
    })));
    let (exporter, registry) = exporter(&config(&server, json!({})), vec![Signal::Logs]).await;
    let err = exporter.consume(sample_logs(3)).await.unwrap_err();
    assert!(err.is_permanent(), "{err}");
    assert!(err.message().contains("HTTP 400"), "{err}");
    assert!(err.message().contains("Field 'time'"), "{err}");
    assert_eq!(server.request_count(), 1, "not retried");
    assert_eq!(
        metric(&registry, "otelcol_exporter_send_failed_log_records"),
        3.0
    );
    assert_eq!(metric(&registry, "otelcol_exporter_sent_log_records"), 0.0);
}

/// Log lines written while it is the thread's default subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_401_is_one_clear_error_without_the_key() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = RecordingHttpServer::start().await;
    // The service quotes the key in its message: it must not reach errors or logs.
    server.set_default(Response::status(401).json(&json!({
        "itemsReceived": 1, "itemsAccepted": 0,
        "errors": [{"index": 0, "statusCode": 401, "message": format!("Invalid instrumentation key {KEY}")}],
    })));
    let (exporter, registry) = exporter(&config(&server, json!({})), vec![Signal::Logs]).await;
    for _ in 0..3 {
        let err = exporter.consume(sample_logs(1)).await.unwrap_err();
        assert!(err.is_permanent(), "{err}");
        let m = err.message();
        assert!(m.contains("HTTP 401"), "{m}");
        assert!(m.contains("check the instrumentation key"), "{m}");
        assert!(m.contains("connection_string"), "{m}");
        assert!(m.contains("Entra ID"), "{m}");
        assert!(!m.contains(KEY), "{m}");
    }
    assert_eq!(
        server.request_count(),
        3,
        "one POST per batch, never retried"
    );
    assert_eq!(
        metric(&registry, "otelcol_exporter_send_failed_log_records"),
        3.0
    );
    let text = logs.text();
    let reported = text
        .lines()
        .filter(|l| l.contains("ERROR") && l.contains("refused the credentials"))
        .count();
    assert_eq!(reported, 1, "the hint is logged once:\n{text}");
    assert!(!text.contains(KEY), "the key reached the logs:\n{text}");
    assert!(text.contains("[REDACTED]"), "{text}");
}

#[tokio::test]
async fn a_403_names_the_entra_id_role() {
    let server = RecordingHttpServer::start().await;
    server.set_default(Response::status(403));
    let (exporter, _) = exporter(&config(&server, json!({})), vec![Signal::Logs]).await;
    let err = exporter.consume(sample_logs(1)).await.unwrap_err();
    assert!(err.is_permanent());
    assert!(
        err.message().contains("Monitoring Metrics Publisher"),
        "{err}"
    );
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn the_briefs_block_runs_against_the_recording_server() {
    // The brief's block as YAML, with `${APPLICATIONINSIGHTS_INSTRUMENTATION_KEY}`
    // already expanded and the endpoint pointed at the recording server's /v2/track.
    let server = RecordingHttpServer::start().await;
    let yaml = format!(
        "instrumentation_key: {KEY}\n\
         endpoint: {}/v2/track\n\
         maxbatchsize: 100\n\
         maxbatchinterval: 10s\n",
        server.url()
    );
    let raw: Value = serde_yaml_ng::from_str(&yaml).unwrap();
    let checked = AzureMonitorExporterFactory.check_config(&raw);
    assert!(checked.is_ok(), "{checked:?}");
    let (exporter, registry) = exporter(&raw, vec![Signal::Traces]).await;
    // 100 spans fill one batch (maxbatchsize), so it goes out without waiting 10s.
    exporter.consume(sample_spans(100)).await.unwrap();
    let requests = server.wait_for_requests(1, Duration::from_secs(20)).await;
    assert_eq!(
        requests[0].path, "/v2/track",
        "the endpoint is used as given"
    );
    assert_eq!(requests[0].header("content-encoding"), Some("gzip"));
    let sent = requests[0].json();
    assert_eq!(sent.as_array().unwrap().len(), 100);
    assert!(sent.as_array().unwrap().iter().all(|e| e["iKey"] == KEY));
    stratus_testkit::wait_until("the batch counted", Duration::from_secs(20), || {
        metric(&registry, "otelcol_exporter_sent_spans") == 100.0
    })
    .await;
    exporter.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_request_larger_than_maxbatchsize_goes_out_in_several_posts() {
    let server = RecordingHttpServer::start().await;
    let (exporter, registry) = exporter(
        &config(&server, json!({"maxbatchsize": 4})),
        vec![Signal::Logs],
    )
    .await;
    exporter.consume(sample_logs(10)).await.unwrap();
    let sizes: Vec<usize> = server
        .requests()
        .iter()
        .map(|r| messages(r).len())
        .collect();
    assert_eq!(sizes, [4, 4, 2]);
    assert_eq!(metric(&registry, "otelcol_exporter_sent_log_records"), 10.0);
}

#[test]
fn secrets_stay_out_of_debug_and_validate_output() {
    let no_env = |_: &str| None;
    let config: AzureMonitorConfig = serde_json::from_value(json!({
        "connection_string": format!("InstrumentationKey={KEY};{KEY}"),
        "instrumentation_key": KEY,
    }))
    .unwrap();
    let problems = config.validate_with(no_env);
    assert_eq!(problems.len(), 1);
    assert!(!format!("{problems:?} {config:?}").contains(KEY));
    // Through the factory (what `stratus validate` prints).
    let raw = json!({"connection_string": format!("InstrumentationKey={KEY};{KEY}")});
    let problems = AzureMonitorExporterFactory.check_config(&raw).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(!format!("{problems:?}").contains(KEY));
    // The environment's connection string wins, and is not shown either.
    let env = |_: &str| {
        Some(format!(
            "InstrumentationKey={KEY};IngestionEndpoint=http://127.0.0.1:9/"
        ))
    };
    let c = config.connection_with(env).unwrap();
    assert_eq!(c.track_url.to_string(), "http://127.0.0.1:9/v2.1/track");
    assert!(!format!("{c:?}").contains(KEY));
    assert!(config.validate().len() <= 1);
}

/// A fixed Entra ID token, counting the calls.
struct FixedToken(std::sync::atomic::AtomicUsize);

#[async_trait::async_trait]
impl stratus_exporter_azuremonitor::client::TokenProvider for FixedToken {
    async fn token(&self) -> Result<stratus_core::confval::Secret, stratus_core::ConsumeError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(stratus_core::confval::Secret::new("entra-token-1"))
    }
}

#[tokio::test]
async fn a_token_provider_adds_the_bearer_token() {
    use stratus_exporter_azuremonitor::client::AzureMonitorSender;
    let server = RecordingHttpServer::start().await;
    let raw = config(
        &server,
        json!({"connection_string": format!(
            "InstrumentationKey={KEY};IngestionEndpoint={}/",
            server.url()
        )}),
    );
    let config: AzureMonitorConfig = serde_json::from_value(raw).unwrap();
    let connection = config.connection_with(|_| None).unwrap();
    assert_eq!(
        connection.entra_scope(),
        "https://monitor.azure.com//.default",
        "Application Insights' scope, as Microsoft's exporters ask for it"
    );
    let registry = Registry::new();
    let ctx = BuildContext::new(
        ComponentId::with_name("azuremonitor", "test"),
        vec![Signal::Logs],
        registry.clone(),
    );
    let provider = Arc::new(FixedToken(Default::default()));
    let sender = AzureMonitorSender::new(&ctx, &config, connection)
        .unwrap()
        .with_token_provider(provider.clone());
    assert!(!format!("{sender:?}").contains(KEY));
    let exporter = stratus_exporter_helper::build_exporter(&ctx, config.settings(), sender);
    exporter.start(&Host::ready()).await.unwrap();
    exporter.consume(sample_logs(2)).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer entra-token-1")
    );
    assert_eq!(provider.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(metric(&registry, "otelcol_exporter_sent_log_records"), 2.0);
}

/// `authentication` (client secret) through the factory: the token comes from a
/// recording server playing Entra ID's token endpoint, for Application Insights' scope
/// `https://monitor.azure.com//.default`, and every Track POST carries it as a Bearer token; the
/// client secret is never in the exporter's config output.
#[tokio::test]
async fn entra_id_client_secret_tokens_reach_the_track_api() {
    let server = RecordingHttpServer::start().await;
    server.set_default(accepted(3));
    let entra = RecordingHttpServer::start().await;
    entra.route(
        "POST",
        "/tenant-1/oauth2/v2.0/token",
        Response::ok().json(
            &json!({"token_type": "Bearer", "expires_in": 3600, "access_token": "entra-token-1"}),
        ),
    );
    let config = json!({
        "connection_string": format!(
            "InstrumentationKey={KEY};IngestionEndpoint={}/",
            server.url()
        ),
        "sending_queue": {"enabled": false},
        "authentication": {
            "type": "client_secret", "tenant_id": "tenant-1", "client_id": "app-1",
            "client_secret": "very-secret-value", "authority_host": entra.url(),
        },
    });
    let decoded: AzureMonitorConfig = stratus_core::factory::decode_config(&config).unwrap();
    assert!(!format!("{decoded:?}").contains("very-secret-value"));
    let (exporter, registry) = exporter(&config, vec![Signal::Traces]).await;
    exporter.consume(sample_spans(3)).await.unwrap();
    let posts = server.requests();
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0].header("authorization"),
        Some("Bearer entra-token-1")
    );
    assert_eq!(envelopes(&posts[0]).len(), 3);
    let asked = entra.requests();
    assert_eq!(asked.len(), 1, "one token, cached");
    let form = asked[0].text();
    assert!(form.contains("grant_type=client_credentials"), "{form}");
    assert!(
        form.contains("scope=https%3A%2F%2Fmonitor.azure.com%2F%2F.default"),
        "Application Insights' scope: {form}"
    );
    assert_eq!(metric(&registry, "otelcol_exporter_sent_spans"), 3.0);
    exporter.shutdown().await.unwrap();
}

/// A bad `authentication` block is reported at its path.
#[test]
fn authentication_problems_are_reported_at_their_path() {
    let bad: Result<AzureMonitorConfig, _> = stratus_core::factory::decode_config(&json!({
        "instrumentation_key": KEY,
        "authentication": {"type": "client_secret", "tenant_id": "t"},
    }));
    let problems = bad.unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.path.starts_with("authentication::")),
        "{problems:?}"
    );
}
