//! stratus as an AWS Lambda extension.
//!
//! Started from a layer (`/opt/extensions/stratus`), stratus finds
//! `AWS_LAMBDA_RUNTIME_API` in its environment and runs next to the function: the
//! function exports OTLP to `localhost:4317`/`4318`, and stratus
//!
//! 1. registers with the Extensions API for `INVOKE` and `SHUTDOWN`;
//! 2. subscribes to the Telemetry API's platform events on a local listener, to learn
//!    when the function has finished each invocation (`platform.runtimeDone`);
//! 3. for each `INVOKE`, waits for that invocation's `runtimeDone`, then flushes every
//!    pipeline (batches, queues) before it asks for the next event: once every
//!    extension has asked, Lambda freezes the environment, and data held then would
//!    wait, frozen, for the next invocation or be lost;
//! 4. on `SHUTDOWN`, drains and stops within the deadline Lambda gives (2 s).
//!
//! When the Telemetry API cannot be used, stratus still flushes after each `INVOKE`
//! event; data the function sends late in an invocation then goes out at the next
//! one, or at `SHUTDOWN`.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use stratus_pipeline::Service;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// Set by Lambda in every execution environment: `host:port` of the Runtime API.
pub const RUNTIME_API_ENV: &str = "AWS_LAMBDA_RUNTIME_API";

/// Where the layer puts the config (`stratus/config.yaml` in the layer zip).
pub const LAYER_CONFIG: &str = "/opt/stratus/config.yaml";

/// Names the config to run instead of [`LAYER_CONFIG`]: a path, `env:VAR` or `yaml:...`.
pub const CONFIG_ENV: &str = "STRATUS_CONFIG";

/// The host the Telemetry API delivers to inside the sandbox. Tests and local
/// emulators set `STRATUS_LAMBDA_TELEMETRY_HOST` (for example to 127.0.0.1).
const TELEMETRY_HOST: &str = "sandbox.localdomain";
const TELEMETRY_HOST_ENV: &str = "STRATUS_LAMBDA_TELEMETRY_HOST";

/// Time kept back from Lambda's shutdown deadline for the last log lines and exit.
const SHUTDOWN_MARGIN: Duration = Duration::from_millis(200);

/// How long a flush may take when an event carries no deadline.
const DEFAULT_FLUSH: Duration = Duration::from_secs(2);

/// The Runtime API address when stratus runs inside Lambda.
pub fn runtime_api() -> Option<String> {
    std::env::var(RUNTIME_API_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// The config a Lambda extension runs when no `--config` is given: `STRATUS_CONFIG`,
/// else the layer's config file when it exists.
pub fn default_config() -> Option<String> {
    if let Ok(c) = std::env::var(CONFIG_ENV)
        && !c.trim().is_empty()
    {
        return Some(c);
    }
    std::path::Path::new(LAYER_CONFIG)
        .is_file()
        .then(|| LAYER_CONFIG.to_string())
}

/// One event from `/extension/event/next`.
#[derive(Debug)]
enum Event {
    Invoke {
        request_id: String,
        deadline: Option<SystemTime>,
    },
    Shutdown {
        reason: String,
        deadline: Option<SystemTime>,
    },
}

impl Event {
    fn parse(body: &[u8]) -> anyhow::Result<Event> {
        let v: Value = serde_json::from_slice(body).context("the next event is not JSON")?;
        let deadline = v
            .get("deadlineMs")
            .and_then(Value::as_u64)
            .map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
        let text = |key: &str| {
            v.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        match v.get("eventType").and_then(Value::as_str) {
            Some("INVOKE") => Ok(Event::Invoke {
                request_id: text("requestId"),
                deadline,
            }),
            Some("SHUTDOWN") => Ok(Event::Shutdown {
                reason: text("shutdownReason"),
                deadline,
            }),
            other => bail!("unknown event type {other:?}"),
        }
    }
}

/// Time left until `deadline`, less `margin`; `fallback` without a deadline.
fn left(deadline: Option<SystemTime>, margin: Duration, fallback: Duration) -> Duration {
    match deadline {
        Some(d) => d
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .saturating_sub(margin),
        None => fallback,
    }
}

/// Request ids whose `platform.runtimeDone` arrived, and a wake-up for waiters.
#[derive(Default)]
struct RuntimeDone {
    ids: Mutex<HashSet<String>>,
    notify: Notify,
}

impl RuntimeDone {
    fn mark(&self, id: String) {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id);
        self.notify.notify_waiters();
    }

    fn take(&self, id: &str) -> bool {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
    }

    /// Waits until the function finished invocation `id`, or `limit` passes.
    async fn wait(&self, id: &str, limit: Duration) -> bool {
        let until = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.take(id) {
                return true;
            }
            if tokio::time::timeout_at(until, notified).await.is_err() {
                return self.take(id);
            }
        }
    }
}

/// The registered extension: its client, id and the Runtime API address.
pub struct Extension {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    id: String,
    done: Option<Arc<RuntimeDone>>,
}

impl Extension {
    /// Registers for `INVOKE` and `SHUTDOWN` and subscribes to platform telemetry.
    pub async fn register(api: &str) -> anyhow::Result<Extension> {
        let client = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
        let base = format!("http://{api}");
        // Lambda wants the name of the file it started in /opt/extensions.
        let name = std::env::args()
            .next()
            .as_deref()
            .and_then(|a| {
                std::path::Path::new(a)
                    .file_name()?
                    .to_str()
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "stratus".to_string());
        let body = json!({"events": ["INVOKE", "SHUTDOWN"]}).to_string();
        let req = Request::post(format!("{base}/2020-01-01/extension/register"))
            .header("Lambda-Extension-Name", &name)
            .header("Content-Type", "application/json")
            .body(Full::new(Bytes::from(body)))?;
        let resp = client
            .request(req)
            .await
            .with_context(|| format!("registering with the Lambda Extensions API at {api}"))?;
        let status = resp.status();
        let id = resp
            .headers()
            .get("Lambda-Extension-Identifier")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = resp.into_body().collect().await?.to_bytes();
        let id = match (status, id) {
            (StatusCode::OK, Some(id)) => id,
            _ => bail!(
                "the Lambda Extensions API refused registration: HTTP {status}: {}",
                String::from_utf8_lossy(&text)
            ),
        };
        tracing::info!(extension = %name, "registered as a Lambda extension");
        let mut ext = Extension {
            client,
            base,
            id,
            done: None,
        };
        match ext.subscribe().await {
            Ok(done) => ext.done = Some(done),
            Err(e) => tracing::warn!(
                error = %format!("{e:#}"),
                "cannot subscribe to the Lambda Telemetry API; flushing at each INVOKE event instead of when the function finishes",
            ),
        }
        Ok(ext)
    }

    /// Starts the local listener the Telemetry API posts platform events to, and
    /// subscribes it.
    async fn subscribe(&self) -> anyhow::Result<Arc<RuntimeDone>> {
        let host = std::env::var(TELEMETRY_HOST_ENV).unwrap_or_else(|_| TELEMETRY_HOST.into());
        let listener = TcpListener::bind((host.as_str(), 0))
            .await
            .with_context(|| format!("listening on {host} for the Telemetry API"))?;
        let port = listener.local_addr()?.port();
        let done = Arc::new(RuntimeDone::default());
        tokio::spawn(listen(listener, done.clone()));
        let body = json!({
            "schemaVersion": "2022-12-13",
            "types": ["platform"],
            "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
            "destination": {"protocol": "HTTP", "URI": format!("http://{host}:{port}/")},
        });
        let req = Request::put(format!("{}/2022-07-01/telemetry", self.base))
            .header("Lambda-Extension-Identifier", &self.id)
            .header("Content-Type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))?;
        let resp = self.client.request(req).await?;
        let status = resp.status();
        if !status.is_success() {
            let text = resp.into_body().collect().await?.to_bytes();
            bail!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&text)
                    .chars()
                    .take(300)
                    .collect::<String>()
            );
        }
        tracing::debug!(port, "subscribed to the Lambda Telemetry API");
        Ok(done)
    }

    async fn next(&self) -> anyhow::Result<Event> {
        let req = Request::builder()
            .method(Method::GET)
            .uri(format!("{}/2020-01-01/extension/event/next", self.base))
            .header("Lambda-Extension-Identifier", &self.id)
            .body(Full::new(Bytes::new()))?;
        let resp = self
            .client
            .request(req)
            .await
            .context("asking the Lambda Extensions API for the next event")?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        if status != StatusCode::OK {
            bail!(
                "the Lambda Extensions API answered HTTP {status} for the next event: {}",
                String::from_utf8_lossy(&body)
            );
        }
        Event::parse(&body)
    }

    /// Reports an error that ends the extension to the Extensions API.
    async fn exit_error(&self, error: &anyhow::Error) {
        let body = json!({"errorMessage": format!("{error:#}"), "errorType": "Extension.Fatal"});
        if let Ok(req) = Request::post(format!("{}/2020-01-01/extension/exit/error", self.base))
            .header("Lambda-Extension-Identifier", &self.id)
            .header("Lambda-Extension-Function-Error-Type", "Extension.Fatal")
            .body(Full::new(Bytes::from(body.to_string())))
        {
            let _ = self.client.request(req).await;
        }
    }

    /// Serves events until `SHUTDOWN`: after each invocation, flushes `service`
    /// before asking for the next event. Returns the time left for the shutdown.
    pub async fn run(&self, service: &Service, shutdown_timeout: Duration) -> Duration {
        loop {
            let event = match self.next().await {
                Ok(event) => event,
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "leaving the Lambda event loop");
                    self.exit_error(&e).await;
                    return shutdown_timeout.min(DEFAULT_FLUSH);
                }
            };
            match event {
                Event::Invoke {
                    request_id,
                    deadline,
                } => {
                    let budget = left(deadline, Duration::ZERO, DEFAULT_FLUSH);
                    if let Some(done) = &self.done
                        && !done.wait(&request_id, budget).await
                    {
                        tracing::warn!(
                            request_id,
                            "no runtimeDone before the invocation deadline; flushing anyway"
                        );
                    }
                    let budget = left(deadline, Duration::ZERO, DEFAULT_FLUSH).max(DEFAULT_FLUSH);
                    if !service.flush(budget).await {
                        tracing::warn!(
                            request_id,
                            "the flush after this invocation did not finish in time; the rest goes out later"
                        );
                    }
                }
                Event::Shutdown { reason, deadline } => {
                    tracing::info!(reason, "Lambda is shutting the extension down");
                    return left(deadline, SHUTDOWN_MARGIN, shutdown_timeout).min(shutdown_timeout);
                }
            }
        }
    }
}

/// Serves the Telemetry API's deliveries: JSON arrays of events, of which stratus
/// reads `platform.runtimeDone`.
async fn listen(listener: TcpListener, done: Arc<RuntimeDone>) {
    loop {
        let (stream, _peer): (_, SocketAddr) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "Telemetry API listener failed to accept");
                continue;
            }
        };
        let done = done.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let done = done.clone();
                async move {
                    let body = req.into_body().collect().await?.to_bytes();
                    for id in runtime_done_ids(&body) {
                        done.mark(id);
                    }
                    Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::new())))
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The request ids of the `platform.runtimeDone` events in a Telemetry API batch.
fn runtime_done_ids(body: &[u8]) -> Vec<String> {
    let Ok(Value::Array(events)) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    events
        .iter()
        .filter(|e| e.get("type").and_then(Value::as_str) == Some("platform.runtimeDone"))
        .filter_map(|e| e.pointer("/record/requestId")?.as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse_as_the_extensions_api_sends_them() {
        let invoke = br#"{"eventType":"INVOKE","deadlineMs":1700000003000,"requestId":"r-1",
            "invokedFunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:f",
            "tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-5759e988-bd862e3fe1be46a994272793"}}"#;
        match Event::parse(invoke).unwrap() {
            Event::Invoke {
                request_id,
                deadline,
            } => {
                assert_eq!(request_id, "r-1");
                assert_eq!(
                    deadline,
                    Some(UNIX_EPOCH + Duration::from_millis(1_700_000_003_000))
                );
            }
            other => panic!("{other:?}"),
        }
        let shutdown = br#"{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":1}"#;
        assert!(matches!(
            Event::parse(shutdown).unwrap(),
            Event::Shutdown { reason, .. } if reason == "spindown"
        ));
        assert!(Event::parse(br#"{"eventType":"RESTORE"}"#).is_err());
        assert!(Event::parse(b"not json").is_err());
    }

    #[test]
    fn runtime_done_events_are_picked_from_a_telemetry_batch() {
        let batch = br#"[
            {"time":"2022-10-12T00:00:00.000Z","type":"platform.start","record":{"requestId":"a"}},
            {"time":"2022-10-12T00:00:00.100Z","type":"platform.runtimeDone","record":{"requestId":"a","status":"success"}},
            {"time":"2022-10-12T00:00:00.200Z","type":"platform.runtimeDone","record":{"status":"error"}}
        ]"#;
        assert_eq!(runtime_done_ids(batch), ["a"]);
        assert!(runtime_done_ids(b"{}").is_empty());
        assert!(runtime_done_ids(b"\xff").is_empty());
    }

    #[test]
    fn time_left_keeps_the_margin_and_never_goes_negative() {
        let soon = SystemTime::now() + Duration::from_secs(2);
        let l = left(Some(soon), SHUTDOWN_MARGIN, Duration::from_secs(9));
        assert!(l <= Duration::from_millis(1800) && l > Duration::from_millis(1000));
        assert_eq!(
            left(Some(UNIX_EPOCH), SHUTDOWN_MARGIN, Duration::from_secs(9)),
            Duration::ZERO
        );
        assert_eq!(left(None, SHUTDOWN_MARGIN, DEFAULT_FLUSH), DEFAULT_FLUSH);
    }

    #[tokio::test]
    async fn a_waiter_sees_runtime_done_that_came_before_or_after_it() {
        let done = Arc::new(RuntimeDone::default());
        done.mark("early".into());
        assert!(done.wait("early", Duration::from_secs(5)).await);
        let waiter = tokio::spawn({
            let done = done.clone();
            async move { done.wait("late", Duration::from_secs(30)).await }
        });
        tokio::task::yield_now().await;
        done.mark("late".into());
        assert!(waiter.await.unwrap());
        assert!(!done.wait("never", Duration::from_millis(1)).await);
    }
}
