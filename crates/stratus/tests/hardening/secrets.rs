//! Secret hygiene, end to end: the real binary at `debug` log level, every
//! secret-bearing field set to a marker value, every destination failing (a port
//! nothing listens on, or a local server answering 401 / 403 with the request's
//! headers and body echoed back in its error message, the worst a destination can do).
//! No marker may appear in the logs, in `stratus validate` or `stratus components`
//! output, on `/metrics`, on the health endpoint, or in any answer of the receivers.
//!
//! The secrets are a table ([`secret_rows`]): one row per secret-bearing field, with
//! the exporter or extension block that carries it, the client authenticators'
//! (`bearertokenauth` token, `basicauth` password, `oauth2client` client_secret)
//! included.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use super::common::{DEADLINE, free_port, http, wait_for};

/// One secret-bearing field.
struct Row {
    /// What the row covers, for failure messages.
    what: &'static str,
    /// The marker value, unique to the row.
    marker: String,
    /// Component blocks (YAML, indented two spaces under their section) added to
    /// `exporters:` and `extensions:`.
    exporters: String,
    extensions: String,
    /// `service::extensions` entries.
    enabled_extensions: Vec<&'static str>,
    /// Pipelines (YAML lines under `pipelines:`).
    pipelines: String,
    /// Environment variables of the stratus process.
    env: Vec<(&'static str, String)>,
}

/// The ports and URLs a row may point at.
struct Destinations {
    /// A server that answers everything with 401 / 403 and echoes the request.
    echo: String,
    /// A loopback port where nothing listens.
    dead: u16,
}

/// Markers are distinct, unlikely anywhere else, and valid for their field.
fn secret_rows(d: &Destinations) -> Vec<Row> {
    let echo = &d.echo;
    let dead = d.dead;
    // One attempt each, from the sending queue: every exporter fails on its own.
    let no_queue = "retry_on_failure: {enabled: false}";
    // No queue: the exporter's error is the receiver's answer (`otlp/direct`).
    let direct = "sending_queue: {enabled: false}, retry_on_failure: {enabled: false}";
    let mut rows = vec![
        Row {
            what: "azuremonitor connection_string (instrumentation key)",
            marker: "5ec7e7a1-c0de-4bad-9ec4-00000000aa01".into(),
            exporters: format!(
                "  azuremonitor/cs:\n    connection_string: \
                 \"InstrumentationKey=5ec7e7a1-c0de-4bad-9ec4-00000000aa01;\
                 IngestionEndpoint={echo}/\"\n    maxbatchinterval: 200ms\n    {}\n",
                no_queue.replace(", ", "\n    ")
            ),
            extensions: String::new(),
            enabled_extensions: vec![],
            pipelines:
                "    traces/azmon_cs: {receivers: [otlp], exporters: [azuremonitor/cs]}\n    \
                        logs/azmon_cs: {receivers: [otlp], exporters: [azuremonitor/cs]}\n"
                    .into(),
            env: vec![],
        },
        Row {
            what: "azuremonitor instrumentation_key",
            marker: "5ec7e7a1-c0de-4bad-9ec4-00000000aa02".into(),
            exporters: format!(
                "  azuremonitor/ikey:\n    instrumentation_key: \
                 5ec7e7a1-c0de-4bad-9ec4-00000000aa02\n    endpoint: {echo}/v2.1/track\n    \
                 maxbatchinterval: 200ms\n    {}\n",
                no_queue.replace(", ", "\n    ")
            ),
            extensions: String::new(),
            enabled_extensions: vec![],
            pipelines:
                "    traces/azmon_ikey: {receivers: [otlp], exporters: [azuremonitor/ikey]}\n"
                    .into(),
            env: vec![],
        },
        Row {
            what: "azureloganalytics workspace_key (Data Collector API)",
            // Base64, as a workspace key is.
            marker: "U2VjcmV0TWFya2VyV29ya3NwYWNlS2V5QUEwMw==".into(),
            exporters: format!(
                "  azureloganalytics/shared:\n    workspace_id: ws-1\n    \
                 workspace_key: U2VjcmV0TWFya2VyV29ya3NwYWNlS2V5QUEwMw==\n    \
                 log_type: OTelLogs\n    endpoint: {echo}\n    {}\n",
                no_queue.replace(", ", "\n    ")
            ),
            extensions: String::new(),
            enabled_extensions: vec![],
            pipelines:
                "    logs/la_shared: {receivers: [otlp], exporters: [azureloganalytics/shared]}\n"
                    .into(),
            env: vec![],
        },
        Row {
            what: "azureloganalytics authentication client_secret (Entra ID)",
            marker: "Entra-Client-Secret-Marker-aa04".into(),
            exporters: format!(
                "  azureloganalytics/entra:\n    endpoint: {echo}\n    \
                 dcr_immutable_id: dcr-0001\n    stream_name: Custom-OTelLogs_CL\n    \
                 authentication: {{type: client_secret, tenant_id: tenant-1, client_id: app-1, \
                 client_secret: Entra-Client-Secret-Marker-aa04, authority_host: \"{echo}\"}}\n    \
                 {}\n",
                no_queue.replace(", ", "\n    ")
            ),
            extensions: String::new(),
            enabled_extensions: vec![],
            pipelines:
                "    logs/la_entra: {receivers: [otlp], exporters: [azureloganalytics/entra]}\n"
                    .into(),
            env: vec![],
        },
        Row {
            what: "otlp (gRPC) headers Authorization, destination down",
            marker: "Otlp-Grpc-Bearer-Marker-aa05".into(),
            exporters: format!(
                "  otlp/dead:\n    endpoint: 127.0.0.1:{dead}\n    tls: {{insecure: true}}\n    \
                 headers: {{Authorization: \"Bearer Otlp-Grpc-Bearer-Marker-aa05\"}}\n    {}\n",
                no_queue.replace(", ", "\n    ")
            ),
            extensions: String::new(),
            enabled_extensions: vec![],
            pipelines: "    traces/otlp_dead: {receivers: [otlp], exporters: [otlp/dead]}\n".into(),
            env: vec![],
        },
        Row {
            what: "otlphttp headers Authorization, destination answering 401 with an echo",
            marker: "Otlp-Http-Bearer-Marker-aa06".into(),
            exporters: format!(
                "  otlphttp/echo:\n    endpoint: {echo}\n    \
                 headers: {{Authorization: \"Bearer Otlp-Http-Bearer-Marker-aa06\", \
                 x-api-key: Otlp-Http-Bearer-Marker-aa06}}\n    {}\n",
                direct.replace(", ", "\n    ")
            ),
            extensions: String::new(),
            enabled_extensions: vec![],
            pipelines: "    traces/otlphttp: {receivers: [otlp/direct], exporters: [otlphttp/echo]}\n    \
                        metrics/otlphttp: {receivers: [otlp/direct], exporters: [otlphttp/echo]}\n    \
                        logs/otlphttp: {receivers: [otlp/direct], exporters: [otlphttp/echo]}\n"
                .into(),
            env: vec![],
        },
        Row {
            what: "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, AWS answering 403 with an echo",
            // The session token travels in `X-Amz-Security-Token`, so the echo carries
            // it; the secret key only signs.
            marker: "AwsSessionTokenMarkerAA07".into(),
            exporters: format!(
                "  awsxray:\n    region: us-east-1\n    endpoint: {echo}\n    {nq}\n  \
                 awss3:\n    s3uploader: {{region: us-east-1, s3_bucket: bucket, \
                 endpoint: \"{echo}\", s3_force_path_style: true}}\n    {nq}\n  \
                 awscloudwatchlogs:\n    region: us-east-1\n    endpoint: {echo}\n    \
                 log_group_name: g\n    log_stream_name: s\n    {nq}\n  \
                 awsemf:\n    region: us-east-1\n    endpoint: {echo}\n    \
                 log_group_name: g\n    log_stream_name: s\n    {nq}\n",
                nq = no_queue.replace(", ", "\n    ")
            ),
            extensions: String::new(),
            enabled_extensions: vec![],
            pipelines: "    traces/aws: {receivers: [otlp], exporters: [awsxray, awss3]}\n    \
                        logs/aws: {receivers: [otlp], exporters: [awscloudwatchlogs]}\n    \
                        metrics/aws: {receivers: [otlp], exporters: [awsemf]}\n"
                .into(),
            env: vec![
                ("AWS_ACCESS_KEY_ID", "AKIDSECRETHYGIENE01".into()),
                ("AWS_SECRET_ACCESS_KEY", "AwsSecretKeyMarkerAA08".into()),
                ("AWS_SESSION_TOKEN", "AwsSessionTokenMarkerAA07".into()),
            ],
        },
    ];
    // The secret access key has its own marker in the row above: make it checked too.
    rows.push(Row {
        what: "AWS_SECRET_ACCESS_KEY (checked; set by the row above)",
        marker: "AwsSecretKeyMarkerAA08".into(),
        exporters: String::new(),
        extensions: String::new(),
        enabled_extensions: vec![],
        pipelines: String::new(),
        env: vec![],
    });
    // The client authenticators, each on an `otlphttp` exporter to the echo server
    // with no queue: the echo's 401 body holds what they added (the bearer token,
    // the basic-auth header, the token request's form with the client secret), and
    // the exporter's error is the receiver's answer. `oidc` holds no secret (it
    // verifies with public keys), so it has no row.
    for (what, marker, id, block) in [
        (
            "bearertokenauth token (client side), destination answering 401 with an echo",
            "BearerTokenMarkerAA09",
            "bearertokenauth/echo",
            "    token: BearerTokenMarkerAA09\n".to_string(),
        ),
        (
            "basicauth client_auth.password, destination answering 401 with an echo",
            "BasicPassMarkerAA10",
            "basicauth/echo",
            "    client_auth:\n      username: agent\n      password: BasicPassMarkerAA10\n"
                .to_string(),
        ),
        (
            "oauth2client client_secret, token endpoint answering 401 with an echo",
            "OAuthSecretMarkerAA11",
            "oauth2client/echo",
            format!(
                "    client_id: stratus-agent\n    client_secret: OAuthSecretMarkerAA11\n    \
                 token_url: {echo}/token\n"
            ),
        ),
    ] {
        let exporter = id.replace("/echo", "_echo");
        rows.push(Row {
            what,
            marker: marker.into(),
            exporters: format!(
                "  otlphttp/{exporter}:\n    endpoint: {echo}\n    auth: {{authenticator: {id}}}\n    {}\n",
                direct.replace(", ", "\n    ")
            ),
            extensions: format!("  {id}:\n{block}"),
            enabled_extensions: vec![id],
            pipelines: format!(
                "    traces/{exporter}: {{receivers: [otlp/direct], exporters: [otlphttp/{exporter}]}}\n"
            ),
            env: vec![],
        });
    }
    rows
}

/// Every request the echo server saw: the request line and headers.
type Seen = Arc<Mutex<Vec<String>>>;

/// A loopback HTTP/1.1 server that answers every request with an error whose body
/// echoes the request's headers and body: 403 in AWS's JSON or XML error shape for
/// AWS-signed requests, 401 in Entra ID's / a generic JSON shape otherwise.
fn echo_server() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let record = record.clone();
            std::thread::spawn(move || {
                let _ = answer(stream, &record);
            });
        }
    });
    (url, seen)
}

fn answer(mut stream: TcpStream, seen: &Seen) -> std::io::Result<()> {
    stream.set_read_timeout(Some(DEADLINE))?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    if header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let mut body = raw[head_end + 4..].to_vec();
    if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        while body.len() < len {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&buf[..n]);
        }
    } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        while !body.ends_with(b"0\r\n\r\n") {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&buf[..n]);
        }
    }
    seen.lock().unwrap().push(head.clone());
    let echoed = format!(
        "you sent: {} body: {}",
        head.replace("\r\n", " | "),
        String::from_utf8_lossy(&body[..body.len().min(4096)])
    );
    let quoted = serde_json::to_string(&echoed).unwrap();
    let aws = header("x-amz-date").is_some()
        || header("authorization").is_some_and(|a| a.starts_with("AWS4"));
    let json_protocol = header("x-amz-target").is_some() || head.contains(" /TraceSegments");
    let (status, content_type, text) = if aws && !json_protocol {
        let escaped = echoed
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        (
            "403 Forbidden",
            "application/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code>\
                 <Message>{escaped}</Message><RequestId>r1</RequestId></Error>"
            ),
        )
    } else if aws {
        (
            "403 Forbidden",
            "application/x-amz-json-1.1",
            format!(
                "{{\"__type\":\"AccessDeniedException\",\"message\":{quoted},\"Message\":{quoted}}}"
            ),
        )
    } else {
        (
            "401 Unauthorized",
            "application/json",
            format!(
                "{{\"error\":\"invalid_client\",\"error_description\":{quoted},\"message\":{quoted},\
                 \"itemsReceived\":1,\"itemsAccepted\":0,\"errors\":[{{\"index\":0,\"statusCode\":401,\"message\":{quoted}}}]}}"
            ),
        )
    };
    // Header values get printable ASCII only: the echoed body is gzip, and a DEL or
    // control byte in a header makes the client reject the whole answer ("invalid
    // HTTP header parsed") before the exporter ever sees the echo.
    let header_safe = |v: &str| {
        v.replace(['\r', '\n'], " ")
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .collect::<String>()
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         WWW-Authenticate: Bearer error=\"invalid_token\", error_description={}\r\n\
         x-echo: {}\r\nConnection: close\r\n\r\n{text}",
        text.len(),
        header_safe(&quoted),
        header_safe(&echoed),
    );
    stream.write_all(response.as_bytes())?;
    stream.flush()
}

/// The whole config: an OTLP receiver (gRPC and HTTP), `health_check`, internal
/// metrics, and every row's blocks.
fn config(rows: &[Row], ports: [u16; 5]) -> String {
    let [grpc, http_port, direct, health, metrics] = ports;
    let exporters: String = rows.iter().map(|r| r.exporters.as_str()).collect();
    let extensions: String = rows.iter().map(|r| r.extensions.as_str()).collect();
    let pipelines: String = rows.iter().map(|r| r.pipelines.as_str()).collect();
    let mut enabled: Vec<&str> = vec!["health_check"];
    enabled.extend(
        rows.iter()
            .flat_map(|r| r.enabled_extensions.iter().copied()),
    );
    format!(
        "receivers:\n  otlp:\n    protocols:\n      grpc: {{endpoint: \"127.0.0.1:{grpc}\"}}\n      \
         http: {{endpoint: \"127.0.0.1:{http_port}\"}}\n  \
         otlp/direct: {{protocols: {{http: {{endpoint: \"127.0.0.1:{direct}\"}}}}}}\n\
         exporters:\n{exporters}\
         extensions:\n  health_check: {{endpoint: \"127.0.0.1:{health}\"}}\n{extensions}\
         service:\n  extensions: [{}]\n  telemetry:\n    logs: {{level: debug}}\n    \
         metrics: {{level: detailed, address: \"127.0.0.1:{metrics}\"}}\n  pipelines:\n{pipelines}",
        enabled.join(", ")
    )
}

fn stratus(dir: &Path, rows: &[Row]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stratus"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.starts_with("AZURE_") || k == "STRATUS_LOG" {
            cmd.env_remove(k);
        }
    }
    let missing = dir.join("missing");
    cmd.env("HOME", dir)
        .env("AWS_CONFIG_FILE", missing.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", missing.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for row in rows {
        for (k, v) in &row.env {
            cmd.env(k, v);
        }
    }
    cmd
}

fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Fails naming every row whose marker appears in `text`.
fn assert_no_marker(rows: &[Row], surface: &str, text: &str) {
    let leaked: Vec<&str> = rows
        .iter()
        .filter(|r| text.contains(&r.marker))
        .map(|r| r.what)
        .collect();
    assert!(
        leaked.is_empty(),
        "{surface} shows the secret of: {leaked:?}\n--- {surface} ---\n{text}"
    );
}

/// An OTLP/HTTP request with one item of `signal`, as JSON, stamped now (CloudWatch
/// Logs takes only recent events; a gauge needs no earlier point for EMF).
fn otlp_json(signal: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let resource = r#"{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]}"#;
    match signal {
        "traces" => format!(
            r#"{{"resourceSpans":[{{"resource":{resource},"scopeSpans":[{{"spans":[{{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"op","kind":2,"startTimeUnixNano":"{now}","endTimeUnixNano":"{now}"}}]}}]}}]}}"#
        ),
        "logs" => format!(
            r#"{{"resourceLogs":[{{"resource":{resource},"scopeLogs":[{{"logRecords":[{{"timeUnixNano":"{now}","body":{{"stringValue":"hello"}}}}]}}]}}]}}"#
        ),
        _ => format!(
            r#"{{"resourceMetrics":[{{"resource":{resource},"scopeMetrics":[{{"metrics":[{{"name":"requests","gauge":{{"dataPoints":[{{"timeUnixNano":"{now}","asInt":"3"}}]}}}}]}}]}}]}}"#
        ),
    }
}

#[test]
fn no_secret_appears_anywhere() {
    let (echo, seen) = echo_server();
    let dests = Destinations {
        echo,
        dead: free_port(),
    };
    let rows = secret_rows(&dests);
    let dir = tempfile::tempdir().unwrap();
    let (grpc, http_port, direct) = (free_port(), free_port(), free_port());
    let (health, metrics) = (free_port(), free_port());
    let text = config(&rows, [grpc, http_port, direct, health, metrics]);
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, &text).unwrap();

    // `stratus validate` and `stratus components`.
    let out = stratus(dir.path(), &rows)
        .arg("validate")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    assert_no_marker(&rows, "stratus validate", &output_text(&out));
    let out = stratus(dir.path(), &rows)
        .arg("components")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    assert_no_marker(&rows, "stratus components", &output_text(&out));

    // Run it, send data, let every exporter fail.
    let log = dir.path().join("stratus.log");
    let mut child = stratus(dir.path(), &rows)
        .arg("--config")
        .arg(&path)
        .stdout(Stdio::from(
            std::fs::File::create(dir.path().join("stratus.out")).unwrap(),
        ))
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    let logs = || {
        format!(
            "{}{}",
            std::fs::read_to_string(&log).unwrap_or_default(),
            std::fs::read_to_string(dir.path().join("stratus.out")).unwrap_or_default()
        )
    };
    wait_for("stratus to start", || {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("stratus exited early with {status}:\n{}", logs());
        }
        logs().contains("stratus is running").then_some(())
    });
    let mut answers = Vec::new();
    for (signal, port) in ["traces", "metrics", "logs"]
        .into_iter()
        .flat_map(|s| [(s, http_port), (s, direct)])
    {
        let r = http(
            "POST",
            port,
            &format!("/v1/{signal}"),
            &[("Content-Type", "application/json")],
            otlp_json(signal).as_bytes(),
        );
        answers.push(format!(
            "POST /v1/{signal}: {} {:?} {}",
            r.status,
            r.headers,
            r.text()
        ));
    }
    // Hostile and unauthenticated requests get answers too.
    let r = http(
        "POST",
        http_port,
        "/v1/traces",
        &[("Content-Type", "application/x-protobuf")],
        b"\xff\xff\xff",
    );
    answers.push(format!(
        "bad protobuf: {} {:?} {}",
        r.status,
        r.headers,
        r.text()
    ));
    let grpc_answer = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut client = super::common::trace_client(grpc).await;
        match client.export(super::common::make_spans(1, 2)).await {
            Ok(r) => format!("{:?}", r),
            Err(status) => format!("{status:?}"),
        }
    });
    answers.push(format!("gRPC export: {grpc_answer}"));
    // Every kind of destination was tried.
    let want = [
        "/v2.1/track",                  // azuremonitor
        "/api/logs",                    // azureloganalytics, Data Collector
        "/oauth2/v2.0/token",           // azureloganalytics, Entra ID token
        "POST /v1/traces",              // otlphttp
        "/TraceSegments",               // awsxray
        "Logs_20140328",                // awscloudwatchlogs / awsemf
        "PUT /bucket/",                 // awss3
        "Bearer BearerTokenMarkerAA09", // bearertokenauth signed a request
        "authorization: Basic ",        // basicauth signed a request
        "POST /token",                  // oauth2client asked for a token
    ];
    // Polled with a bounded deadline. Every few seconds every pipeline gets its data
    // again, so that one refused request (the OTLP receiver's answers are kept in
    // `answers`) does not leave a destination untried.
    let started = std::time::Instant::now();
    let mut resent = started;
    loop {
        let seen = seen.lock().unwrap().join("\n");
        let missing: Vec<&str> = want.iter().copied().filter(|w| !seen.contains(w)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "no request for {missing:?}; seen:\n{seen}\nreceiver answers:\n{}\nlogs:\n{}",
            answers.join("\n"),
            logs()
        );
        if resent.elapsed() > std::time::Duration::from_secs(5) {
            resent = std::time::Instant::now();
            // A retryable refusal from one exporter of the `otlp/direct` fan-out keeps
            // the batch from the ones after it (the sender retries): so retry.
            for (signal, port) in ["traces", "metrics", "logs"]
                .into_iter()
                .flat_map(|s| [(s, http_port), (s, direct)])
            {
                let r = http(
                    "POST",
                    port,
                    &format!("/v1/{signal}"),
                    &[("Content-Type", "application/json")],
                    otlp_json(signal).as_bytes(),
                );
                answers.push(format!(
                    "again POST /v1/{signal}: {} {}",
                    r.status,
                    r.text()
                ));
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let health_answer = http("GET", health, "/", &[], b"");
    answers.push(format!(
        "health: {} {}",
        health_answer.status,
        health_answer.text()
    ));
    let metrics_text = http("GET", metrics, "/metrics", &[], b"").text();
    assert!(
        metrics_text.contains("otelcol_exporter_send_failed_spans"),
        "{metrics_text}"
    );
    assert_no_marker(&rows, "/metrics", &metrics_text);
    assert_no_marker(&rows, "receiver and health answers", &answers.join("\n"));

    // Stop, so that every line is written, then read the logs.
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = wait_for("stratus to exit", || child.try_wait().unwrap());
    let all = logs();
    assert!(status.success(), "{all}");
    // The failures were logged (so the check below looked at real error lines).
    for id in [
        "azuremonitor/cs",
        "azureloganalytics/entra",
        "otlp/dead",
        "otlphttp/echo",
        "awsxray",
    ] {
        assert!(all.contains(id), "nothing logged for {id}:\n{all}");
    }
    assert!(all.contains("DEBUG"), "not at debug level:\n{all}");
    assert_no_marker(&rows, "the logs", &all);
}

/// `stratus validate` with errors beside the secrets: wrong types, unknown keys,
/// malformed values. The messages name the keys, never the values.
#[test]
fn validate_errors_never_show_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let m = |n: u32| format!("Validate-Secret-Marker-{n:02}");
    let config = format!(
        r#"
receivers:
  otlp: {{protocols: {{http: {{endpoint: "127.0.0.1:0"}}}}}}
exporters:
  azuremonitor/a:
    connection_string: "InstrumentationKey={m1};IngestionEndpoint=not a url {m1}"
    instrumentation_key: {m2}
    bogus: {m3}
  azuremonitor/b:
    connection_string: [{m4}]
  azureloganalytics/a:
    workspace_id: ws
    workspace_key: "not base64 {m5}"
    log_type: "bad type {m6}"
  azureloganalytics/b:
    endpoint: https://dce.example
    dcr_immutable_id: dcr-1
    stream_name: Custom-X
    authentication: {{type: client_secret, tenant_id: t, client_id: c, client_secret: {{k: {m7}}}}}
  otlphttp:
    endpoint: http://127.0.0.1:1
    headers: {{Authorization: [{m8}], "bad header": "{m9}"}}
  otlp:
    endpoint: 127.0.0.1:1
    headers: {{Authorization: {{x: {m10}}}}}
service:
  pipelines:
    traces: {{receivers: [otlp], exporters: [azuremonitor/a, azuremonitor/b, otlphttp, otlp]}}
    logs: {{receivers: [otlp], exporters: [azureloganalytics/a, azureloganalytics/b]}}
"#,
        m1 = m(1),
        m2 = m(2),
        m3 = m(3),
        m4 = m(4),
        m5 = m(5),
        m6 = m(6),
        m7 = m(7),
        m8 = m(8),
        m9 = m(9),
        m10 = m(10),
    );
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, &config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stratus"))
        .arg("validate")
        .arg("--config")
        .arg(&path)
        .env_remove("STRATUS_LOG")
        .output()
        .unwrap();
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(78), "{text}");
    // The errors are there, each at its key.
    for key in [
        "exporters::azuremonitor/a::bogus",
        "exporters::azuremonitor/b::connection_string",
        "exporters::azureloganalytics/b::authentication::client_secret",
        "exporters::otlphttp::headers",
        "exporters::otlp::headers",
    ] {
        assert!(text.contains(key), "no error at {key}:\n{text}");
    }
    // Values that are not secrets (`bogus`, `log_type`) may be quoted; the secrets not.
    for n in [1, 2, 4, 5, 7, 8, 9, 10] {
        assert!(!text.contains(&m(n)), "marker {n} shown:\n{text}");
    }
}

/// `--config yaml:...` on the real binary: it merges over the file, and a bad one is
/// an error naming the flag, never its text.
#[test]
fn yaml_config_flags_merge_and_never_echo() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("base.yaml");
    std::fs::write(
        &path,
        "receivers: {otlp: {protocols: {http: {endpoint: \"127.0.0.1:0\"}}}}\n\
         exporters: {debug: }\n\
         service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}\n",
    )
    .unwrap();
    let run = |extra: &str| {
        Command::new(env!("CARGO_BIN_EXE_stratus"))
            .arg("validate")
            .arg("--config")
            .arg(&path)
            .arg("--config")
            .arg(extra)
            .env_remove("STRATUS_LOG")
            .output()
            .unwrap()
    };
    let ok = run("yaml:exporters::debug::verbosity: detailed");
    assert!(ok.status.success(), "{}", output_text(&ok));
    let bad = run("yaml:exporters::debug::verbosity: loud");
    let text = output_text(&bad);
    assert_eq!(bad.status.code(), Some(78), "{text}");
    assert!(text.contains("exporters::debug::verbosity"), "{text}");
    let marker = "Yaml-Flag-Secret-Marker";
    let broken = run(&format!(
        "yaml:exporters::otlphttp::headers::authorization: \"Bearer {marker}"
    ));
    let text = output_text(&broken);
    assert_eq!(broken.status.code(), Some(78), "{text}");
    assert!(text.contains("--config 2 (yaml:)"), "{text}");
    assert!(!text.contains(marker), "{text}");
}
