//! The AWS credential chain in a real stratus process: each test starts stratus with a
//! controlled environment (nothing of the test's own `AWS_*`, no shared files, IMDS
//! off, then only the variables the case is about) and an `awss3` exporter pointed at
//! `moto_server`; what arrived is listed with boto3.

use std::path::Path;

use stratus_testkit::moto::Moto;

use crate::common::configs::Ports;
use crate::common::*;

/// A moto that checks signatures after three setup calls, with an IAM user allowed
/// everything: `(moto, access key id, secret)`.
fn moto_with_user() -> (Moto, String, String) {
    let moto = Moto::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    let user = boto(
        &moto.endpoint(),
        ANY_KEYS,
        "iam = client('iam')\n\
         iam.create_user(UserName='stratus')\n\
         iam.put_user_policy(UserName='stratus', PolicyName='all', PolicyDocument=json.dumps(\
         {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}))\n\
         k = iam.create_access_key(UserName='stratus')['AccessKey']\n\
         print(k['AccessKeyId'], k['SecretAccessKey'])",
        &[],
    );
    let mut it = user.split_whitespace().map(str::to_owned);
    (moto, it.next().unwrap(), it.next().unwrap())
}

fn object_count(endpoint: &str, keys: (&str, &str), bucket: &str) -> usize {
    boto(
        endpoint,
        keys,
        "print(client('s3').list_objects_v2(Bucket=sys.argv[2]).get('KeyCount', 0))",
        &[bucket],
    )
    .trim()
    .parse()
    .unwrap()
}

/// OTLP in, `awss3` out to `bucket` at `endpoint`, with a queue and quick retries.
fn config(ports: Ports, endpoint: &str, bucket: &str) -> String {
    config_with(ports, endpoint, bucket, "")
}

/// [`config`] with `extra` lines in `s3uploader` (indented by the caller).
fn config_with(ports: Ports, endpoint: &str, bucket: &str, extra: &str) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
exporters:
  awss3:
    s3uploader:
      region: us-east-1
      s3_bucket: {bucket}
      s3_prefix: traces
      endpoint: {endpoint}
      s3_force_path_style: true
{extra}
    sending_queue:
      enabled: true
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 300ms
      max_elapsed_time: 0s
service:
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [awss3]
"#,
        grpc = ports.grpc,
        metrics = ports.metrics,
    )
}

fn send_spans(port: u16, first: u64, count: u64) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut client = trace_client(port).await;
        client.export(make_spans(first, count)).await.unwrap();
    });
}

/// Starts stratus with `env`, sends 3 spans, and waits until they are an object in
/// the bucket; boto3 signs with `keys`.
fn exports_with(dir: &Path, moto: &Moto, keys: (&str, &str), env: &[(&str, &str)]) {
    let bucket = "creds";
    create_bucket(&moto.endpoint(), keys, bucket);
    let ports = Ports::new();
    let mut stratus =
        Stratus::start_with_aws_env(dir, "agent", &config(ports, &moto.endpoint(), bucket), env);
    stratus.wait_running();
    send_spans(ports.grpc, 1, 3);
    wait_for("the object in S3", || {
        (object_count(&moto.endpoint(), keys, bucket) == 1).then_some(())
    });
    assert_eq!(
        metric(
            ports.metrics,
            r#"otelcol_exporter_sent_spans{exporter="awss3"}"#
        ),
        3.0,
        "{}",
        stratus.logs()
    );
}

#[test]
fn static_environment_keys() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    exports_with(
        dir.path(),
        &moto,
        ANY_KEYS,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
            (
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
        ],
    );
}

/// The EKS DaemonSet of the brief mounts `/root/.aws`: here `$HOME/.aws/credentials`
/// with a named profile chosen by `AWS_PROFILE`. moto checks signatures, so only the
/// profile's keys work (the default profile's are wrong).
#[test]
fn a_named_profile_in_the_mounted_aws_directory() {
    let (moto, id, secret) = moto_with_user();
    let dir = tempfile::tempdir().unwrap();
    let aws = dir.path().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        format!(
            "[default]\naws_access_key_id = {id}\naws_secret_access_key = wrong\n\n\
             [collector]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"
        ),
    )
    .unwrap();
    exports_with(
        dir.path(),
        &moto,
        (&id, &secret),
        &[
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                aws.join("credentials").to_str().unwrap(),
            ),
            ("AWS_PROFILE", "collector"),
        ],
    );
}

/// EKS IRSA: only `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE` (the chain's STS
/// call goes to moto through `AWS_ENDPOINT_URL_STS`).
#[test]
fn web_identity_alone() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdHJhdHVzIn0.c2ln").unwrap();
    exports_with(
        dir.path(),
        &moto,
        ANY_KEYS,
        &[
            (
                "AWS_ROLE_ARN",
                "arn:aws:iam::123456789012:role/irsa-collector",
            ),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token.to_str().unwrap()),
            ("AWS_ENDPOINT_URL_STS", &moto.endpoint()),
        ],
    );
}

/// `role_arn` (with `external_id`) is assumed on top of the chain's keys: the STS
/// call goes through a recording proxy in front of moto, which sees the AssumeRole.
#[test]
fn role_arn_is_assumed_on_top_of_the_chain() {
    let moto = Moto::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sts = rt.block_on(stratus_testkit::http::RecordingHttpServer::proxy(
        &moto.endpoint(),
    ));
    create_bucket(&moto.endpoint(), ANY_KEYS, "creds");
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::new();
    let extra = "      role_arn: arn:aws:iam::123456789012:role/cross-account";
    let mut stratus = Stratus::start_with_aws_env(
        dir.path(),
        "agent",
        &config_with(ports, &moto.endpoint(), "creds", extra),
        &[
            ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
            (
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
            ("AWS_ENDPOINT_URL_STS", &sts.url()),
        ],
    );
    stratus.wait_running();
    send_spans(ports.grpc, 1, 3);
    wait_for("the object in S3", || {
        (object_count(&moto.endpoint(), ANY_KEYS, "creds") == 1).then_some(())
    });
    let calls: Vec<String> = sts.requests().iter().map(|r| r.text()).collect();
    assert!(
        calls
            .iter()
            .any(|body| body.contains("Action=AssumeRole") && body.contains("cross-account")),
        "{calls:?}\n{}",
        stratus.logs()
    );
}

/// No credentials anywhere: said once, clearly; the data waits in the queue and is
/// retried (credentials can appear: a token mounted late, IMDS back), never counted
/// as failed.
#[test]
fn no_credentials_is_said_once_and_the_data_waits() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    create_bucket(&moto.endpoint(), ANY_KEYS, "creds");
    let ports = Ports::new();
    let mut stratus = Stratus::start_with_aws_env(
        dir.path(),
        "agent",
        &config(ports, &moto.endpoint(), "creds"),
        &[],
    );
    stratus.wait_running();
    send_spans(ports.grpc, 1, 3);
    send_spans(ports.grpc, 4, 2);
    let retried = r#"stratus_exporter_retries{exporter="awss3",signal="traces",reason="failed"}"#;
    wait_for("several retries", || {
        (metric(ports.metrics, retried) >= 4.0).then_some(())
    });
    let logs = stratus.logs();
    assert_eq!(
        logs.matches("found no AWS credentials").count(),
        1,
        "reported once:\n{logs}"
    );
    assert!(logs.contains("AWS_WEB_IDENTITY_TOKEN_FILE"), "{logs}");
    assert_eq!(
        metric(
            ports.metrics,
            r#"otelcol_exporter_send_failed_spans{exporter="awss3"}"#
        ),
        0.0
    );
    assert_eq!(
        metric(
            ports.metrics,
            r#"otelcol_exporter_sent_spans{exporter="awss3"}"#
        ),
        0.0
    );
    assert_eq!(object_count(&moto.endpoint(), ANY_KEYS, "creds"), 0);
}

/// With moto checking signatures, a wrong secret is one clear permanent error: not
/// retried, reported once with the key id prefix and never the secret.
#[test]
fn a_wrong_secret_is_one_clear_permanent_error() {
    let (moto, id, secret) = moto_with_user();
    let id = id.as_str();
    create_bucket(&moto.endpoint(), (id, &secret), "creds");
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::new();
    let mut stratus = Stratus::start_with_aws_env(
        dir.path(),
        "agent",
        &config(ports, &moto.endpoint(), "creds"),
        &[
            ("AWS_ACCESS_KEY_ID", id),
            ("AWS_SECRET_ACCESS_KEY", "definitely-wrong-secret"),
        ],
    );
    stratus.wait_running();
    send_spans(ports.grpc, 1, 3);
    send_spans(ports.grpc, 4, 2);
    let failed = r#"otelcol_exporter_send_failed_spans{exporter="awss3"}"#;
    wait_for("both batches failed", || {
        (metric(ports.metrics, failed) == 5.0).then_some(())
    });
    let logs = stratus.logs();
    assert_eq!(
        logs.matches("refused the exporter's credentials").count(),
        1,
        "reported once:\n{logs}"
    );
    assert!(
        logs.contains(&format!("access key {}…", &id[..8])),
        "{logs}"
    );
    assert!(
        !logs.contains(id),
        "the whole key id is not logged:\n{logs}"
    );
    assert!(
        !logs.contains("definitely-wrong-secret"),
        "no secret:\n{logs}"
    );
    for reason in ["failed", "throttled", "timeout"] {
        let series = format!(
            r#"stratus_exporter_retries{{exporter="awss3",signal="traces",reason="{reason}"}}"#
        );
        assert_eq!(metric(ports.metrics, &series), 0.0, "not retried: {series}");
    }
}

/// Credentials as the EC2 metadata service and the ECS agent serve them.
fn credentials_json(key_id: &str, token: &str) -> String {
    serde_json::json!({
        "Code": "Success",
        "Type": "AWS-HMAC",
        "AccessKeyId": key_id,
        "SecretAccessKey": "metadata-secret",
        "Token": token,
        "Expiration": "2099-01-01T00:00:00Z",
        "LastUpdated": "2026-01-01T00:00:00Z",
        "RoleArn": "arn:aws:iam::123456789012:role/node",
    })
    .to_string()
}

/// The first request through `proxy` to moto's X-Ray or S3: its SigV4 credential
/// scope and session token, once it arrived.
fn signed_with(proxy: &stratus_testkit::http::RecordingHttpServer) -> (String, String) {
    wait_for("a signed request to moto", || {
        let r = proxy.requests().into_iter().next()?;
        let auth = r.header("authorization")?.to_owned();
        let token = r.header("x-amz-security-token").unwrap_or("").to_owned();
        Some((auth, token))
    })
}

/// An EC2 node: IMDSv2 (a recording server standing in for 169.254.169.254) gives
/// both the credentials of the instance role and the region, since neither the
/// config nor the environment names one.
#[test]
fn imdsv2_gives_credentials_and_region() {
    let moto = Moto::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (imds, proxy) = rt.block_on(async {
        use stratus_testkit::http::{RecordingHttpServer, Response};
        let imds = RecordingHttpServer::start().await;
        imds.set_default(Response::status(404));
        imds.route(
            "PUT",
            "/latest/api/token",
            Response::ok()
                .header("x-aws-ec2-metadata-token-ttl-seconds", "21600")
                .body("imds-session"),
        );
        imds.route(
            "GET",
            "/latest/meta-data/placement/region",
            Response::ok().body("eu-west-1"),
        );
        for base in [
            "/latest/meta-data/iam/security-credentials",
            "/latest/meta-data/iam/security-credentials-extended",
        ] {
            imds.route("GET", &format!("{base}/"), Response::ok().body("node-role"));
            imds.route(
                "GET",
                &format!("{base}/node-role"),
                Response::ok().body(credentials_json("ASIAIMDSNODE0000", "imds-token")),
            );
        }
        (imds, RecordingHttpServer::proxy(&moto.endpoint()).await)
    });
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::new();
    let config = format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
exporters:
  awsxray:
    endpoint: {endpoint}
service:
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [awsxray]
"#,
        grpc = ports.grpc,
        metrics = ports.metrics,
        endpoint = proxy.url(),
    );
    let mut stratus = Stratus::start_with_aws_env(
        dir.path(),
        "node",
        &config,
        &[
            ("AWS_EC2_METADATA_DISABLED", "false"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds.url()),
        ],
    );
    stratus.wait_running();
    send_spans(ports.grpc, 1, 3);
    let (auth, token) = signed_with(&proxy);
    assert!(
        auth.contains("Credential=ASIAIMDSNODE0000/") && auth.contains("/eu-west-1/xray/"),
        "{auth}\n{}",
        stratus.logs()
    );
    assert_eq!(token, "imds-token");
    // IMDSv2: every metadata read carries the session token.
    let reads: Vec<_> = imds
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    assert!(!reads.is_empty());
    for r in &reads {
        assert_eq!(
            r.header("x-aws-ec2-metadata-token"),
            Some("imds-session"),
            "{}",
            r.path
        );
    }
    wait_for("the spans counted as sent", || {
        (metric(
            ports.metrics,
            r#"otelcol_exporter_sent_spans{exporter="awsxray"}"#,
        ) == 3.0)
            .then_some(())
    });
}

/// An ECS/Fargate task: the task role's credentials from the container credentials
/// endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI` with its authorization token, a
/// recording server standing in for the ECS agent); the object lands in moto.
#[test]
fn ecs_container_credentials() {
    let moto = Moto::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (ecs, proxy) = rt.block_on(async {
        use stratus_testkit::http::{RecordingHttpServer, Response};
        let ecs = RecordingHttpServer::start().await;
        ecs.route(
            "GET",
            "/v2/credentials/task",
            Response::ok().body(credentials_json("ASIAECSTASK00000", "ecs-token")),
        );
        (ecs, RecordingHttpServer::proxy(&moto.endpoint()).await)
    });
    create_bucket(&moto.endpoint(), ANY_KEYS, "creds");
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::new();
    let full_uri = format!("{}/v2/credentials/task", ecs.url());
    let mut stratus = Stratus::start_with_aws_env(
        dir.path(),
        "task",
        &config(ports, &proxy.url(), "creds"),
        &[
            ("AWS_REGION", "us-east-1"),
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &full_uri),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ecs-agent-auth"),
        ],
    );
    stratus.wait_running();
    send_spans(ports.grpc, 1, 3);
    wait_for("the object in S3", || {
        (object_count(&moto.endpoint(), ANY_KEYS, "creds") == 1).then_some(())
    });
    let (auth, token) = signed_with(&proxy);
    assert!(auth.contains("Credential=ASIAECSTASK00000/"), "{auth}");
    assert_eq!(token, "ecs-token");
    let asked = ecs.requests();
    assert!(!asked.is_empty());
    assert_eq!(asked[0].header("authorization"), Some("ecs-agent-auth"));
}
