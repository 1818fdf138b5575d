//! The processor against local servers that answer like the cloud metadata services,
//! with response bodies from AWS's and Azure's documentation (`testdata/`, sources in
//! `testdata/README.md`).
//!
//! Every environment variable a detector reads comes from a [`FixedEnvironment`]
//! handed to the factory: tests run in parallel and never touch the process's own.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use stratus_core::factory::{BuildContext, FactoryInfo, Processor, ProcessorFactory};
use stratus_core::pdata::common::any_value;
use stratus_core::telemetry::Registry;
use stratus_core::{ComponentId, Host, Payload, Prepared, Signal, Telemetry};
use stratus_testkit::http::{RecordingHttpServer, Response};
use stratus_testkit::otlp::{gauge, logs, metrics, span, traces};
use stratus_testkit::{RecordingConsumer, metric_value};
use tokio::task::JoinHandle;

use crate::{FixedEnvironment, ResourceDetectionProcessorFactory};

// Documented answers; sources in testdata/README.md.
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-identity-documents.html
const EC2_DOCUMENT: &str = include_str!("../testdata/ec2_instance_identity_document.json");
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4-examples.html
const ECS_TASK: &str = include_str!("../testdata/ecs_task_metadata_v4.json");
const ECS_CONTAINER: &str = include_str!("../testdata/ecs_container_metadata_v4.json");
// https://learn.microsoft.com/en-us/azure/virtual-machines/instance-metadata-service
const AZURE_COMPUTE: &str = include_str!("../testdata/azure_compute_linux.json");
const AZURE_TAGS: &str = include_str!("../testdata/azure_tagslist_linux.json");

const EC2_HOSTNAME: &str = "ip-10-158-112-84.us-west-2.compute.internal";
const TOKEN: &str = "AQAEAFakeImdsV2TokenForStratusTests==";
/// An upper bound for anything the tests wait on: reached only when something hangs.
const BOUND: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------
// A strict IMDSv2: a GET without the session token gets 401, as on an instance with
// `HttpTokens=required`. The tests put the test kit's recording proxy in front of it
// to see every request.

struct StrictImds {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for StrictImds {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StrictImds {
    /// Serves the documented identity document, the instance id and the host name,
    /// plus `extra` GET paths.
    async fn start(extra: &[(&str, &str)]) -> Self {
        let mut routes: BTreeMap<String, String> = BTreeMap::new();
        routes.insert(
            "/latest/meta-data/instance-id".into(),
            "i-1234567890abcdef0".into(),
        );
        routes.insert(
            "/latest/dynamic/instance-identity/document".into(),
            EC2_DOCUMENT.into(),
        );
        routes.insert("/latest/meta-data/hostname".into(), EC2_HOSTNAME.into());
        for (p, b) in extra {
            routes.insert(p.to_string(), b.to_string());
        }
        let routes = Arc::new(routes);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let routes = routes.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let routes = routes.clone();
                        async move { Ok::<_, Infallible>(imds_answer(req, &routes)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        StrictImds { addr, task }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn imds_answer(
    req: http::Request<Incoming>,
    routes: &BTreeMap<String, String>,
) -> http::Response<Full<Bytes>> {
    let reply = |status: u16, body: &str| {
        let mut r = http::Response::new(Full::new(Bytes::from(body.to_string())));
        *r.status_mut() = http::StatusCode::from_u16(status).unwrap();
        r
    };
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    match *req.method() {
        http::Method::PUT if req.uri().path() == "/latest/api/token" => {
            match header("x-aws-ec2-metadata-token-ttl-seconds").and_then(|v| v.parse::<u32>().ok())
            {
                Some(1..=21600) => reply(200, TOKEN),
                _ => reply(400, "missing or invalid token TTL"),
            }
        }
        http::Method::GET => {
            if header("x-aws-ec2-metadata-token") != Some(TOKEN) {
                return reply(401, "");
            }
            match routes.get(req.uri().path()) {
                Some(body) => reply(200, body),
                None => reply(404, ""),
            }
        }
        _ => reply(405, ""),
    }
}

/// The strict IMDS behind a recording proxy: (proxy, imds).
async fn recorded_imds(extra: &[(&str, &str)]) -> (RecordingHttpServer, StrictImds) {
    let imds = StrictImds::start(extra).await;
    let proxy = RecordingHttpServer::proxy(&imds.url()).await;
    (proxy, imds)
}

// ---------------------------------------------------------------------------------
// Building, starting and feeding processors.

fn ctx(id: &str, registry: &Registry) -> BuildContext {
    BuildContext::new(
        id.parse::<ComponentId>().unwrap(),
        vec![Signal::Traces],
        registry.clone(),
    )
}

struct Running {
    processor: Arc<dyn Processor>,
    sink: Arc<RecordingConsumer>,
    registry: Registry,
}

async fn build(env: FixedEnvironment, config: Value) -> Running {
    let factory = ResourceDetectionProcessorFactory::with_environment(Arc::new(env));
    let registry = Registry::new();
    let sink = RecordingConsumer::new();
    let processor = factory
        .build(ctx("resource_detection", &registry), &config, sink.boxed())
        .await
        .unwrap();
    Running {
        processor,
        sink,
        registry,
    }
}

/// Builds and starts; start must succeed.
async fn started(env: FixedEnvironment, config: Value) -> Running {
    let r = build(env, config).await;
    start(&r).await.unwrap();
    r
}

async fn start(r: &Running) -> Result<(), String> {
    tokio::time::timeout(BOUND, r.processor.start(&Host::ready()))
        .await
        .expect("start returns within the bound")
        .map_err(|e| e.to_string())
}

/// What the processor makes of one span whose resource has `existing`.
async fn resource_of(r: &Running, existing: &[(&str, &str)]) -> BTreeMap<String, String> {
    r.processor
        .consume(
            traces()
                .resource(existing.iter().copied())
                .span(span("op"))
                .build(),
        )
        .await
        .unwrap();
    let batch = r
        .sink
        .take()
        .pop()
        .expect("a batch reached the next consumer");
    attributes(&batch)
}

fn value_text(v: &any_value::Value) -> String {
    match v {
        any_value::Value::StringValue(s) => s.clone(),
        any_value::Value::ArrayValue(a) => format!(
            "[{}]",
            a.values
                .iter()
                .filter_map(|v| v.value.as_ref().map(value_text))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{other:?}"),
    }
}

/// The first resource's attributes, values as text (arrays as `[a, b]`).
fn attributes(batch: &Telemetry) -> BTreeMap<String, String> {
    let attrs = match &*batch.payload {
        Payload::Traces(r) => r[0].resource.as_ref().map(|r| r.attributes.clone()),
        Payload::Metrics(r) => r[0].resource.as_ref().map(|r| r.attributes.clone()),
        Payload::Logs(r) => r[0].resource.as_ref().map(|r| r.attributes.clone()),
    };
    attrs
        .unwrap_or_default()
        .into_iter()
        .map(|kv| {
            let v = kv
                .value
                .and_then(|v| v.value)
                .map(|v| value_text(&v))
                .unwrap_or_default();
            (kv.key, v)
        })
        .collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn schema_url(batch: &Telemetry) -> String {
    match &*batch.payload {
        Payload::Traces(r) => r[0].schema_url.clone(),
        Payload::Metrics(r) => r[0].schema_url.clone(),
        Payload::Logs(r) => r[0].schema_url.clone(),
    }
}

/// A port nothing listens on, and that no other test is given (the test kit's
/// marker files; ports below the ephemeral range, so no `:0` bind takes it).
fn closed_port() -> u16 {
    stratus_testkit::net::free_port()
}

fn ec2_expected() -> BTreeMap<String, String> {
    map(&[
        ("cloud.provider", "aws"),
        ("cloud.platform", "aws_ec2"),
        ("cloud.region", "us-west-2"),
        ("cloud.account.id", "123456789012"),
        ("cloud.availability_zone", "us-west-2b"),
        ("host.id", "i-1234567890abcdef0"),
        ("host.image.id", "ami-5fb8c835"),
        ("host.type", "t2.micro"),
        ("host.name", EC2_HOSTNAME),
    ])
}

// ---------------------------------------------------------------------------------
// EC2

#[tokio::test]
async fn ec2_imdsv2_token_first_then_metadata_with_it() {
    let (proxy, _imds) = recorded_imds(&[]).await;
    let env = FixedEnvironment::new().with_var("AWS_EC2_METADATA_SERVICE_ENDPOINT", proxy.url());
    let r = started(env, json!({"detectors": ["ec2"]})).await;

    assert_eq!(resource_of(&r, &[]).await, ec2_expected());

    let requests = proxy.requests();
    let seen: Vec<String> = requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        seen,
        [
            "PUT /latest/api/token",
            "GET /latest/meta-data/instance-id",
            "GET /latest/dynamic/instance-identity/document",
            "GET /latest/meta-data/hostname",
        ]
    );
    assert_eq!(
        requests[0].header("x-aws-ec2-metadata-token-ttl-seconds"),
        Some("21600")
    );
    for get in &requests[1..] {
        assert_eq!(
            get.header("x-aws-ec2-metadata-token"),
            Some(TOKEN),
            "{}",
            get.path
        );
    }

    // The fake is strict: the same GET without the token is refused, so the answers
    // above prove the token was fetched first and sent.
    let client = crate::http::MetadataClient::new();
    let deadline = tokio::time::Instant::now() + BOUND;
    let bare = client
        .send(
            http::Method::GET,
            &format!("{}/latest/dynamic/instance-identity/document", proxy.url()),
            &[],
            deadline,
            None,
        )
        .await
        .unwrap();
    assert_eq!(bare.status, http::StatusCode::UNAUTHORIZED);

    assert_eq!(
        metric_value(
            &r.registry,
            "otelcol_resourcedetection_detector_results",
            &[("detector", "ec2"), ("outcome", "success")]
        ),
        1.0
    );
    assert_eq!(
        metric_value(
            &r.registry,
            "otelcol_resourcedetection_attributes_detected",
            &[]
        ),
        9.0
    );
}

#[tokio::test]
async fn ec2_toggles_and_tags_from_imds() {
    let (proxy, _imds) = recorded_imds(&[
        ("/latest/meta-data/tags/instance", "Name\nteam\nSecret"),
        ("/latest/meta-data/tags/instance/Name", "web-1"),
        ("/latest/meta-data/tags/instance/team", "payments"),
        ("/latest/meta-data/tags/instance/Secret", "do-not-read"),
    ])
    .await;
    let env = FixedEnvironment::new().with_var("AWS_EC2_METADATA_SERVICE_ENDPOINT", proxy.url());
    let r = started(
        env,
        json!({
            "detectors": ["ec2"],
            "ec2": {
                "tags": ["^Name$", "^te"],
                "tags_from_imds": true,
                "resource_attributes": {"host.name": {"enabled": false}, "host.image.id": {"enabled": false}},
            },
        }),
    )
    .await;
    let mut want = ec2_expected();
    want.remove("host.name");
    want.remove("host.image.id");
    want.insert("ec2.tag.Name".into(), "web-1".into());
    want.insert("ec2.tag.team".into(), "payments".into());
    assert_eq!(resource_of(&r, &[]).await, want);
    assert!(
        !proxy.requests().iter().any(|r| r.path.ends_with("/Secret")),
        "tags whose key matches no pattern are not read"
    );
}

#[tokio::test]
async fn ec2_falls_back_to_imdsv1_when_tokens_are_refused() {
    // An IMDS that refuses the token request (403) answers plain GETs.
    let imds = RecordingHttpServer::start().await;
    imds.route("PUT", "/latest/api/token", Response::status(403));
    imds.route(
        "GET",
        "/latest/meta-data/instance-id",
        Response::ok().body("i-1234567890abcdef0"),
    );
    imds.route(
        "GET",
        "/latest/dynamic/instance-identity/document",
        Response::ok().body(EC2_DOCUMENT),
    );
    imds.route(
        "GET",
        "/latest/meta-data/hostname",
        Response::ok().body(EC2_HOSTNAME),
    );
    let env = FixedEnvironment::new().with_var("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url());
    let r = started(env, json!({"detectors": ["ec2"]})).await;
    assert_eq!(resource_of(&r, &[]).await, ec2_expected());
    assert!(
        imds.requests()
            .iter()
            .all(|r| r.header("x-aws-ec2-metadata-token").is_none())
    );
}

#[tokio::test]
async fn not_on_ec2_adds_nothing_unless_metadata_is_required() {
    let port = closed_port();
    let env = || {
        FixedEnvironment::new().with_var(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
        )
    };
    let r = started(env(), json!({"detectors": ["ec2"]})).await;
    assert_eq!(
        resource_of(&r, &[("service.name", "api")]).await,
        map(&[("service.name", "api")])
    );

    let strict = build(
        env(),
        json!({"detectors": ["ec2"], "fail_on_missing_metadata": true, "timeout": "500ms"}),
    )
    .await;
    let err = start(&strict).await.unwrap_err();
    assert!(err.contains("ec2: EC2 metadata unavailable"), "{err}");
    // The deprecated per-detector switch does the same.
    let strict = build(env(), json!({"detectors": ["ec2"], "ec2": {"fail_on_missing_metadata": true}, "timeout": "500ms"})).await;
    assert!(start(&strict).await.is_err());
    // IMDS turned off the SDK way: not even tried.
    let off = started(
        env().with_var("AWS_EC2_METADATA_DISABLED", "true"),
        json!({"detectors": ["ec2"]}),
    )
    .await;
    assert!(resource_of(&off, &[]).await.is_empty());
}

#[tokio::test]
async fn a_wrong_endpoint_override_is_an_error_not_a_missing_cloud() {
    let env = FixedEnvironment::new()
        .with_var(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            "https://169.254.169.254",
        )
        .with_var("STRATUS_AZURE_IMDS_ENDPOINT", "169.254.169.254:80");
    let r = build(env, json!({"detectors": ["ec2", "azure"], "timeout": "1m"})).await;
    let err = start(&r).await.unwrap_err();
    assert!(
        err.contains("ec2: AWS_EC2_METADATA_SERVICE_ENDPOINT `https://169.254.169.254` is not a plain http:// URL"),
        "{err}"
    );
    assert!(err.contains("azure: STRATUS_AZURE_IMDS_ENDPOINT"), "{err}");
}

#[tokio::test]
async fn ec2_document_failure_after_the_probe_fails_start() {
    let imds = RecordingHttpServer::start().await;
    imds.route("PUT", "/latest/api/token", Response::ok().body(TOKEN));
    imds.route(
        "GET",
        "/latest/meta-data/instance-id",
        Response::ok().body("i-1"),
    );
    imds.route(
        "GET",
        "/latest/dynamic/instance-identity/document",
        Response::status(500),
    );
    let env = FixedEnvironment::new().with_var("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url());
    let r = build(
        env,
        json!({"detectors": ["ec2"], "timeout": "1500ms", "ec2": {"max_attempts": 2}}),
    )
    .await;
    let err = start(&r).await.unwrap_err();
    assert!(err.contains("failed getting identity document"), "{err}");
    let documents = imds
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/document"))
        .count();
    assert!(documents >= 2, "a 500 is retried ({documents} requests)");
    assert_eq!(
        metric_value(
            &r.registry,
            "otelcol_resourcedetection_detector_results",
            &[
                ("detector", "ec2"),
                ("outcome", "failure"),
                ("error_type", "http_status")
            ]
        ),
        1.0
    );
}

// ---------------------------------------------------------------------------------
// ECS

async fn ecs_server() -> RecordingHttpServer {
    let tmde = RecordingHttpServer::start().await;
    tmde.route("GET", "/v4/abc/task", Response::ok().body(ECS_TASK));
    tmde.route("GET", "/v4/abc", Response::ok().body(ECS_CONTAINER));
    tmde
}

#[tokio::test]
async fn ecs_task_metadata_v4() {
    let tmde = ecs_server().await;
    let env = FixedEnvironment::new().with_var(
        "ECS_CONTAINER_METADATA_URI_V4",
        format!("{}/v4/abc", tmde.url()),
    );
    let r = started(env, json!({"detectors": ["ecs"]})).await;
    let task = "arn:aws:ecs:us-west-2:111122223333:task/default/158d1c8083dd49d6b527399fd6414f5c";
    assert_eq!(
        resource_of(&r, &[]).await,
        map(&[
            ("cloud.provider", "aws"),
            ("cloud.platform", "aws_ecs"),
            ("cloud.account.id", "111122223333"),
            ("cloud.region", "us-west-2"),
            ("cloud.availability_zone", "us-west-2d"),
            ("aws.ecs.task.arn", task),
            ("aws.ecs.task.family", "curltest"),
            ("aws.ecs.task.revision", "26"),
            ("aws.ecs.task.id", "158d1c8083dd49d6b527399fd6414f5c"),
            (
                "aws.ecs.cluster.arn",
                "arn:aws:ecs:us-west-2:111122223333:cluster/default"
            ),
            ("aws.ecs.launchtype", "ec2"),
            // The running awslogs container that is not the collector's own (the
            // pause container is not NORMAL).
            ("aws.log.group.names", "[/ecs/metadata]"),
            (
                "aws.log.group.arns",
                "[arn:aws:logs:us-west-2:111122223333:log-group:/ecs/metadata]"
            ),
            (
                "aws.log.stream.names",
                "[ecs/curl/158d1c8083dd49d6b527399fd6414f5c]"
            ),
            (
                "aws.log.stream.arns",
                "[arn:aws:logs:us-west-2:111122223333:log-group:/ecs/metadata:log-stream:ecs/curl/158d1c8083dd49d6b527399fd6414f5c]"
            ),
        ])
    );
    let paths: Vec<String> = tmde.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/v4/abc/task", "/v4/abc"]);
}

#[tokio::test]
async fn ecs_sidecar_own_container_is_left_out_of_log_lists() {
    // The collector is the task's `curl` container itself: no other awslogs container.
    let tmde = RecordingHttpServer::start().await;
    let task: Value = serde_json::from_str(ECS_TASK).unwrap();
    let own = task["Containers"][1].clone();
    tmde.route("GET", "/v4/abc/task", Response::ok().json(&task));
    tmde.route("GET", "/v4/abc", Response::ok().json(&own));
    let env = FixedEnvironment::new().with_var(
        "ECS_CONTAINER_METADATA_URI_V4",
        format!("{}/v4/abc", tmde.url()),
    );
    let r = started(env, json!({"detectors": ["ecs"]})).await;
    let got = resource_of(&r, &[]).await;
    assert!(!got.keys().any(|k| k.starts_with("aws.log.")), "{got:?}");
    assert_eq!(got["aws.ecs.task.family"], "curltest");
}

#[tokio::test]
async fn ecs_failures() {
    // Task metadata failing fails start.
    let tmde = RecordingHttpServer::start().await;
    tmde.route("GET", "/v4/abc/task", Response::status(500));
    let env = FixedEnvironment::new().with_var(
        "ECS_CONTAINER_METADATA_URI_V4",
        format!("{}/v4/abc", tmde.url()),
    );
    let r = build(env, json!({"detectors": ["ecs"], "timeout": "300ms"})).await;
    let err = start(&r).await.unwrap_err();
    assert!(err.contains("ecs: unable to fetch task metadata"), "{err}");

    // Container metadata failing keeps the task attributes, or fails when required.
    let tmde = RecordingHttpServer::start().await;
    tmde.route("GET", "/v4/abc/task", Response::ok().body(ECS_TASK));
    tmde.route("GET", "/v4/abc", Response::status(404));
    let env = FixedEnvironment::new().with_var(
        "ECS_CONTAINER_METADATA_URI_V4",
        format!("{}/v4/abc", tmde.url()),
    );
    let r = started(env.clone(), json!({"detectors": ["ecs"]})).await;
    let got = resource_of(&r, &[]).await;
    assert_eq!(got["cloud.platform"], "aws_ecs");
    assert!(!got.contains_key("aws.log.group.names"));
    let r = build(
        env,
        json!({"detectors": ["ecs"], "timeout": "300ms", "fail_on_missing_metadata": true}),
    )
    .await;
    assert!(
        start(&r)
            .await
            .unwrap_err()
            .contains("unable to fetch container metadata")
    );

    // No endpoint variable: not on ECS.
    let r = started(FixedEnvironment::new(), json!({"detectors": ["ecs"]})).await;
    assert!(resource_of(&r, &[]).await.is_empty());
    let r = build(
        FixedEnvironment::new(),
        json!({"detectors": ["ecs"], "timeout": "300ms", "fail_on_missing_metadata": true}),
    )
    .await;
    assert!(
        start(&r)
            .await
            .unwrap_err()
            .contains("ECS task metadata endpoint not detected")
    );
}

// ---------------------------------------------------------------------------------
// Azure and AKS

/// The documented compute answer with the documented tags list in its `tagsList`.
fn azure_compute(resource_group: Option<&str>) -> Value {
    let mut compute: Value = serde_json::from_str(AZURE_COMPUTE).unwrap();
    compute["tagsList"] = serde_json::from_str(AZURE_TAGS).unwrap();
    if let Some(rg) = resource_group {
        compute["resourceGroupName"] = json!(rg);
    }
    compute
}

async fn azure_imds(compute: &Value) -> RecordingHttpServer {
    let imds = RecordingHttpServer::start().await;
    imds.route(
        "GET",
        "/metadata/instance/compute",
        Response::ok().json(compute),
    );
    imds
}

fn azure_expected() -> BTreeMap<String, String> {
    map(&[
        ("cloud.provider", "azure"),
        ("cloud.platform", "azure_vm"),
        ("cloud.region", "westus"),
        ("cloud.account.id", "xxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxx"),
        ("host.id", "02aab8a4-74ef-476e-8182-f6d2ba4166a6"),
        ("host.name", "examplevmname"),
        ("azure.vm.name", "examplevmname"),
        ("azure.vm.size", "Standard_A3"),
        ("azure.vm.scaleset.name", "crpteste9vflji9"),
        ("azure.resourcegroup.name", "macikgo-test-may-23"),
    ])
}

#[tokio::test]
async fn azure_imds_compute_metadata() {
    let imds = azure_imds(&azure_compute(None)).await;
    let env = FixedEnvironment::new().with_var("STRATUS_AZURE_IMDS_ENDPOINT", imds.url());
    let r = started(
        env,
        json!({
            "detectors": ["azure"],
            "azure": {"tags": ["^Dep", "Status$"], "resource_attributes": {"cloud.availability_zone": {"enabled": true}}},
        }),
    )
    .await;
    let mut want = azure_expected();
    want.insert("cloud.availability_zone".into(), "3".into());
    want.insert("azure.tags.Department".into(), "IT".into());
    want.insert("azure.tags.TestStatus".into(), "Pending".into());
    assert_eq!(resource_of(&r, &[]).await, want);

    let requests = imds.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, http::Method::GET);
    assert_eq!(requests[0].header("metadata"), Some("true"));
    assert_eq!(requests[0].query_param("api-version"), Some("2020-09-01"));
    assert_eq!(requests[0].query_param("format"), Some("json"));
}

#[tokio::test]
async fn not_on_azure_adds_nothing_unless_required() {
    let port = closed_port();
    let env = FixedEnvironment::new().with_var(
        "STRATUS_AZURE_IMDS_ENDPOINT",
        format!("http://127.0.0.1:{port}"),
    );
    let r = started(env.clone(), json!({"detectors": ["azure", "aks"]})).await;
    assert!(resource_of(&r, &[]).await.is_empty());
    let r = build(
        env,
        json!({"detectors": ["azure"], "fail_on_missing_metadata": true, "timeout": "300ms"}),
    )
    .await;
    assert!(
        start(&r)
            .await
            .unwrap_err()
            .contains("Azure metadata unavailable")
    );
}

#[tokio::test]
async fn aks_cluster_name_from_the_node_resource_group_and_detector_order() {
    let imds = azure_imds(&azure_compute(Some(
        "MC_my-resource-group_my-cluster_eastus",
    )))
    .await;
    let env = FixedEnvironment::new()
        .with_var("STRATUS_AZURE_IMDS_ENDPOINT", imds.url())
        .with_var("KUBERNETES_SERVICE_HOST", "10.0.0.1");
    let config = |detectors: Value| {
        json!({
            "detectors": detectors,
            "aks": {"resource_attributes": {"k8s.cluster.name": {"enabled": true}}},
        })
    };

    // aks first: its cloud.platform wins.
    let r = started(env.clone(), config(json!(["aks", "azure"]))).await;
    let got = resource_of(&r, &[]).await;
    assert_eq!(got["cloud.platform"], "azure_aks");
    assert_eq!(got["k8s.cluster.name"], "my-cluster");
    assert_eq!(
        got["host.name"], "examplevmname",
        "azure's other attributes still come in"
    );

    // azure first: the VM platform wins; the cluster name still comes from aks.
    let r = started(env.clone(), config(json!(["azure", "aks"]))).await;
    let got = resource_of(&r, &[]).await;
    assert_eq!(got["cloud.platform"], "azure_vm");
    assert_eq!(got["k8s.cluster.name"], "my-cluster");

    // Outside Kubernetes aks adds nothing (and does not ask IMDS).
    let before = imds.request_count();
    let outside = FixedEnvironment::new().with_var("STRATUS_AZURE_IMDS_ENDPOINT", imds.url());
    let r = started(outside, config(json!(["aks"]))).await;
    assert!(resource_of(&r, &[]).await.is_empty());
    assert_eq!(imds.request_count(), before);
}

#[tokio::test]
async fn aks_keeps_a_custom_resource_group_name() {
    // The documented answer's group is not MC_..._..._...: it is the cluster's id.
    let imds = azure_imds(&azure_compute(None)).await;
    let env = FixedEnvironment::new()
        .with_var("STRATUS_AZURE_IMDS_ENDPOINT", imds.url())
        .with_var("KUBERNETES_SERVICE_HOST", "10.0.0.1");
    let r = started(
        env,
        json!({"detectors": ["aks"], "aks": {"resource_attributes": {"k8s.cluster.name": {"enabled": true}}}}),
    )
    .await;
    assert_eq!(
        resource_of(&r, &[]).await,
        map(&[
            ("cloud.provider", "azure"),
            ("cloud.platform", "azure_aks"),
            ("k8s.cluster.name", "macikgo-test-may-23"),
        ])
    );
}

// ---------------------------------------------------------------------------------
// EKS

fn eks_env(issuer: &str) -> FixedEnvironment {
    use base64::Engine as _;
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({"iss": issuer, "sub": "system:serviceaccount:obs:stratus"}).to_string());
    FixedEnvironment::new()
        .with_var("KUBERNETES_SERVICE_HOST", "172.20.0.1")
        .with_file(
            crate::detectors::eks::TOKEN_FILE,
            format!("eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.{claims}.c2lnbmF0dXJl"),
        )
}

const EKS_ISSUER: &str =
    "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

#[tokio::test]
async fn eks_by_default_adds_provider_and_platform_and_wins_over_ec2() {
    let (proxy, _imds) = recorded_imds(&[]).await;
    let env = eks_env(EKS_ISSUER).with_var("AWS_EC2_METADATA_SERVICE_ENDPOINT", proxy.url());
    let r = started(env, json!({"detectors": ["eks", "ec2"]})).await;
    let mut want = ec2_expected();
    want.insert("cloud.platform".into(), "aws_eks".into());
    assert_eq!(
        resource_of(&r, &[]).await,
        want,
        "upstream's ordering example: eks before ec2"
    );
}

#[tokio::test]
async fn eks_node_attributes_and_cluster_name_from_imds() {
    let (proxy, _imds) = recorded_imds(&[(
        "/latest/meta-data/tags/instance/eks:cluster-name",
        "prod-west",
    )])
    .await;
    let env = eks_env(EKS_ISSUER).with_var("AWS_EC2_METADATA_SERVICE_ENDPOINT", proxy.url());
    let all_on: serde_json::Map<String, Value> = [
        "cloud.region",
        "cloud.account.id",
        "cloud.availability_zone",
        "host.id",
        "host.image.id",
        "host.name",
        "host.type",
        "k8s.cluster.name",
    ]
    .iter()
    .map(|a| (a.to_string(), json!({"enabled": true})))
    .collect();
    let r = started(
        env,
        json!({"detectors": ["eks"], "eks": {"resource_attributes": all_on}}),
    )
    .await;
    let mut want = ec2_expected();
    want.insert("cloud.platform".into(), "aws_eks".into());
    want.insert("k8s.cluster.name".into(), "prod-west".into());
    assert_eq!(resource_of(&r, &[]).await, want);
}

#[tokio::test]
async fn eks_without_imds_or_not_eks() {
    let port = closed_port();
    let no_imds = eks_env(EKS_ISSUER).with_var(
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        format!("http://127.0.0.1:{port}"),
    );
    // The region comes from the token issuer when IMDS is not reachable.
    let r = started(
        no_imds.clone(),
        json!({"detectors": ["eks"], "eks": {"resource_attributes": {"cloud.region": {"enabled": true}}}}),
    )
    .await;
    assert_eq!(
        resource_of(&r, &[]).await,
        map(&[
            ("cloud.provider", "aws"),
            ("cloud.platform", "aws_eks"),
            ("cloud.region", "us-west-2")
        ])
    );
    // The cluster name cannot be found: start fails, as upstream when its lookup fails.
    let r = build(
        no_imds,
        json!({"detectors": ["eks"], "timeout": "2s", "eks": {"resource_attributes": {"k8s.cluster.name": {"enabled": true}}}}),
    )
    .await;
    let err = start(&r).await.unwrap_err();
    assert!(
        err.contains("k8s.cluster.name") && err.contains("instance metadata"),
        "{err}"
    );

    // A Kubernetes cluster that is not EKS (issuer of another cluster), or no
    // Kubernetes at all: nothing.
    let r = started(
        eks_env("https://kubernetes.default.svc.cluster.local"),
        json!({"detectors": ["eks"]}),
    )
    .await;
    assert!(resource_of(&r, &[]).await.is_empty());
    let r = started(FixedEnvironment::new(), json!({"detectors": ["eks"]})).await;
    assert!(resource_of(&r, &[]).await.is_empty());
    let r = build(
        FixedEnvironment::new(),
        json!({"detectors": ["eks"], "timeout": "300ms", "fail_on_missing_metadata": true}),
    )
    .await;
    assert!(start(&r).await.unwrap_err().contains("EKS not detected"));
}

// ---------------------------------------------------------------------------------
// env, override, order, timeout, sharing

fn env_vars(v: &str) -> FixedEnvironment {
    FixedEnvironment::new().with_var("OTEL_RESOURCE_ATTRIBUTES", v)
}

#[tokio::test]
async fn env_detector_with_override_true_and_false() {
    let env = || env_vars("service.name=from-env, deployment.environment=prod%2Deu,team=a+b");
    let existing = [("service.name", "sent"), ("k8s.pod.name", "p-1")];

    let r = started(env(), Value::Null).await; // default: [env], override true
    assert_eq!(
        resource_of(&r, &existing).await,
        map(&[
            ("service.name", "from-env"),
            ("k8s.pod.name", "p-1"),
            ("deployment.environment", "prod-eu"),
            ("team", "a b"),
        ])
    );

    let r = started(env(), json!({"override": false})).await;
    assert_eq!(
        resource_of(&r, &existing).await,
        map(&[
            ("service.name", "sent"),
            ("k8s.pod.name", "p-1"),
            ("deployment.environment", "prod-eu"),
            ("team", "a b"),
        ])
    );
}

#[tokio::test]
async fn invalid_env_fails_start_without_waiting_for_the_timeout() {
    let r = build(env_vars("key=value,key"), json!({"timeout": "1m"})).await;
    let err = start(&r).await.unwrap_err();
    assert!(
        err.contains(r#"env: invalid resource format, invalid text: "key""#),
        "{err}"
    );
}

#[tokio::test]
async fn earlier_detectors_win_for_the_same_key() {
    let imds = azure_imds(&azure_compute(None)).await;
    let env = env_vars("host.name=from-env,cloud.region=mars-1")
        .with_var("STRATUS_AZURE_IMDS_ENDPOINT", imds.url())
        .with_file("/proc/sys/kernel/hostname", "kernel-name\n");
    let r = started(
        env.clone(),
        json!({"detectors": ["env", "azure", "system"]}),
    )
    .await;
    let got = resource_of(&r, &[]).await;
    assert_eq!(got["host.name"], "from-env");
    assert_eq!(got["cloud.region"], "mars-1");
    assert_eq!(got["azure.vm.size"], "Standard_A3");
    assert_eq!(got["os.type"], crate::detectors::system::os_type());

    let r = started(
        env.clone(),
        json!({"detectors": ["system", "azure", "env"]}),
    )
    .await;
    let got = resource_of(&r, &[]).await;
    assert_eq!(got["host.name"], "kernel-name");
    assert_eq!(got["cloud.region"], "westus");

    let r = started(env, json!({"detectors": ["azure", "system"]})).await;
    assert_eq!(resource_of(&r, &[]).await["host.name"], "examplevmname");
}

#[tokio::test]
async fn start_is_bounded_by_timeout_against_servers_that_never_answer() {
    let silent = RecordingHttpServer::start().await;
    silent.set_default(Response::ok().delay(Duration::from_secs(3600)));

    // ECS: the endpoint variable says "this is ECS", so no answer fails start.
    let env = FixedEnvironment::new().with_var(
        "ECS_CONTAINER_METADATA_URI_V4",
        format!("{}/v4/x", silent.url()),
    );
    let r = build(env, json!({"detectors": ["ecs"], "timeout": "300ms"})).await;
    let err = start(&r).await.unwrap_err();
    assert!(
        err.contains("ecs: unable to fetch task metadata: no answer within"),
        "{err}"
    );
    assert_eq!(
        metric_value(
            &r.registry,
            "otelcol_resourcedetection_detector_results",
            &[("detector", "ecs"), ("error_type", "timeout")]
        ),
        1.0
    );

    // EC2 and Azure: no answer means "not on this cloud", as upstream: start succeeds
    // with nothing detected, within the timeout.
    let env = FixedEnvironment::new()
        .with_var("AWS_EC2_METADATA_SERVICE_ENDPOINT", silent.url())
        .with_var("STRATUS_AZURE_IMDS_ENDPOINT", silent.url());
    let r = started(
        env,
        json!({"detectors": ["ec2", "azure"], "timeout": "300ms"}),
    )
    .await;
    assert!(resource_of(&r, &[]).await.is_empty());
    let asked: Vec<String> = silent
        .wait_for_requests(3, BOUND)
        .await
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        asked.contains(&"PUT /latest/api/token".to_string()),
        "{asked:?}"
    );
    assert!(
        asked.contains(&"GET /metadata/instance/compute".to_string()),
        "{asked:?}"
    );
}

#[tokio::test]
async fn one_detection_per_processor_id_shared_by_its_pipelines() {
    let tmde = ecs_server().await;
    let env = FixedEnvironment::new().with_var(
        "ECS_CONTAINER_METADATA_URI_V4",
        format!("{}/v4/abc", tmde.url()),
    );
    let factory = ResourceDetectionProcessorFactory::with_environment(Arc::new(env));
    let registry = Registry::new();
    let config = json!({"detectors": ["ecs"]});
    let mut sinks = Vec::new();
    let mut processors = Vec::new();
    for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
        let sink = RecordingConsumer::new();
        let ctx = BuildContext::new(
            ComponentId::with_name("resource_detection", "aws"),
            vec![signal],
            registry.clone(),
        );
        let p = factory.build(ctx, &config, sink.boxed()).await.unwrap();
        processors.push(p);
        sinks.push(sink);
    }
    let host = Host::ready();
    let starts = processors.iter().map(|p| p.start(&host));
    for result in futures::future::join_all(starts).await {
        result.unwrap();
    }
    assert_eq!(
        tmde.request_count(),
        2,
        "one /task and one container request in all"
    );

    processors[1]
        .consume(metrics().metric(gauge("g").point(1)).build())
        .await
        .unwrap();
    processors[2]
        .consume(logs().record("l").build())
        .await
        .unwrap();
    assert_eq!(attributes(&sinks[1].take()[0])["cloud.platform"], "aws_ecs");
    assert_eq!(attributes(&sinks[2].take()[0])["cloud.platform"], "aws_ecs");

    // Another id asks on its own.
    let ctx = BuildContext::new(
        ComponentId::with_name("resource_detection", "other"),
        vec![Signal::Traces],
        registry.clone(),
    );
    let other = factory
        .build(ctx, &config, RecordingConsumer::new().boxed())
        .await
        .unwrap();
    other.start(&Host::ready()).await.unwrap();
    assert_eq!(tmde.request_count(), 4);
}

#[tokio::test]
async fn schema_url_is_set_where_the_data_has_none() {
    let r = started(
        FixedEnvironment::new().with_file("/proc/sys/kernel/hostname", "h"),
        json!({"detectors": ["system"]}),
    )
    .await;
    r.processor
        .consume(traces().span("a").build())
        .await
        .unwrap();
    let batch = r.sink.take().pop().unwrap();
    assert_eq!(schema_url(&batch), "https://opentelemetry.io/schemas/1.6.1");
    assert_eq!(attributes(&batch)["host.name"], "h");
}

#[tokio::test]
async fn two_phase_admission_passes_through_with_the_merge_applied() {
    let factory = ResourceDetectionProcessorFactory::with_environment(Arc::new(env_vars(
        "cloud.region=eu-west-1",
    )));
    let sink = RecordingConsumer::reserving();
    let registry = Registry::new();
    let p = factory
        .build(
            ctx("resource_detection", &registry),
            &Value::Null,
            sink.boxed(),
        )
        .await
        .unwrap();
    p.start(&Host::ready()).await.unwrap();
    assert!(p.can_prepare());
    let Prepared::Ready(admission) = p.prepare(traces().span("a").build()).await else {
        panic!("a reserving consumer holds room");
    };
    admission.commit().await.unwrap();
    let batch = sink.take().pop().unwrap();
    assert_eq!(attributes(&batch)["cloud.region"], "eu-west-1");
}

#[tokio::test]
async fn before_start_data_passes_unchanged() {
    let r = build(env_vars("a=b"), Value::Null).await;
    assert!(resource_of(&r, &[("x", "y")]).await == map(&[("x", "y")]));
}

#[test]
fn registered_under_both_type_names() {
    let f = ResourceDetectionProcessorFactory::new();
    assert_eq!(f.type_name(), "resource_detection");
    assert_eq!(f.deprecated_types(), ["resourcedetection"]);
    assert_eq!(f.signals().len(), 3);
    let factories = stratus_core::factory::Factories::new().processor(f);
    assert!(factories.processors.contains_key("resourcedetection"));
}

#[tokio::test]
async fn conformance() {
    let factory =
        ResourceDetectionProcessorFactory::with_environment(Arc::new(FixedEnvironment::new()));
    stratus_testkit::conformance::processor(&factory)
        .run()
        .await;
}
