//! The IAM policies we ship allow every AWS call stratus makes and nothing else.
//!
//! Each shipped AWS config (EKS agent, ECS sidecar, Lambda extension) runs against
//! `moto_server` behind the test kit's recording proxy, with only its endpoints, ports
//! and directories changed. The Python SDK sends traces, metrics and logs through it.
//! Every call the proxy saw becomes an IAM action and resource ARN, and the policy
//! shipped beside the config must allow each one, grant no action that was not called,
//! and name no resource no call used.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;
use stratus_testkit::http::{RecordedRequest, RecordingHttpServer};
use stratus_testkit::moto::Moto;

use crate::common::{ANY_KEYS, Stratus, create_bucket, free_port, run_python_client, wait_for};
use crate::repo;

/// moto's account, which the shipped policies name as the example account.
const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// One AWS call as IAM authorises it: the action, and every ARN form the service may
/// evaluate it against (the policy must allow all of them).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Call {
    action: String,
    resources: Vec<String>,
}

fn logs_arn(rest: &str) -> String {
    format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{rest}")
}

/// The IAM view of one request stratus sent. An unknown request maps to an action
/// no policy grants, so a new kind of call fails the test until it is mapped here.
fn call_of(r: &RecordedRequest) -> Call {
    if let Some(target) = r.header("x-amz-target")
        && let Some(op) = target.strip_prefix("Logs_20140328.")
    {
        let body = r.json();
        let group = body["logGroupName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let stream = body["logStreamName"].as_str().unwrap_or_default();
        let resources = match op {
            // Group-level calls: AWS documents the bare group ARN and evaluates some
            // with the `:*` suffix; a policy must cover both.
            "CreateLogGroup" | "PutRetentionPolicy" | "TagResource" | "TagLogGroup" => {
                vec![logs_arn(&group), logs_arn(&format!("{group}:*"))]
            }
            "CreateLogStream" | "PutLogEvents" | "DescribeLogStreams" => {
                vec![logs_arn(&format!("{group}:log-stream:{stream}"))]
            }
            _ => vec![logs_arn(&format!("{group}:*"))],
        };
        return Call {
            action: format!("logs:{op}"),
            resources,
        };
    }
    if r.method == http::Method::POST && r.path == "/TraceSegments" {
        // X-Ray has no resource-level permissions for PutTraceSegments.
        return Call {
            action: "xray:PutTraceSegments".into(),
            resources: vec!["*".into()],
        };
    }
    let query = r.query.as_deref().unwrap_or("");
    if r.method == http::Method::PUT
        && (query.is_empty() || query == "x-id=PutObject")
        && r.path.matches('/').count() >= 2
    {
        // Path-style S3 (the test sets s3_force_path_style): /bucket/key; the AWS SDK
        // adds `x-id=PutObject`.
        return Call {
            action: "s3:PutObject".into(),
            resources: vec![format!("arn:aws:s3:::{}", &r.path[1..])],
        };
    }
    Call {
        action: format!(
            "unmapped:{} {}?{} target={:?}",
            r.method,
            r.path,
            r.query.as_deref().unwrap_or(""),
            r.header("x-amz-target")
        ),
        resources: vec!["*".into()],
    }
}

/// IAM's wildcard match: `*` any run of characters, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((b'*', rest)) => (0..=t.len()).any(|i| go(rest, &t[i..])),
            Some((b'?', rest)) => !t.is_empty() && go(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// The Allow statements of a policy document: (actions, resources).
#[derive(Debug)]
struct Policy(Vec<(Vec<String>, Vec<String>)>);

fn strings(v: &Json) -> Vec<String> {
    match v {
        Json::String(s) => vec![s.clone()],
        Json::Array(items) => items.iter().flat_map(strings).collect(),
        other => panic!("not a string or list: {other}"),
    }
}

impl Policy {
    fn parse(doc: &Json) -> Policy {
        let statements = doc["Statement"].as_array().expect("a Statement list");
        Policy(
            statements
                .iter()
                .map(|s| {
                    assert_eq!(s["Effect"], "Allow", "only Allow statements: {s}");
                    assert!(s.get("NotAction").is_none() && s.get("NotResource").is_none());
                    (strings(&s["Action"]), strings(&s["Resource"]))
                })
                .collect(),
        )
    }

    fn allows(&self, action: &str, resource: &str) -> bool {
        self.0.iter().any(|(actions, resources)| {
            actions
                .iter()
                .any(|a| glob(&a.to_lowercase(), &action.to_lowercase()))
                && resources.iter().any(|r| glob(r, resource))
        })
    }
}

/// What is wrong with `policy` for these calls: a call it does not allow, an action
/// it grants that nothing called, a resource no call used, a wildcard action.
fn problems(policy: &Policy, calls: &BTreeSet<Call>) -> Vec<String> {
    let mut out = Vec::new();
    for call in calls {
        for resource in &call.resources {
            if !policy.allows(&call.action, resource) {
                out.push(format!("does not allow {} on {resource}", call.action));
            }
        }
    }
    let called: BTreeSet<&str> = calls.iter().map(|c| c.action.as_str()).collect();
    for (actions, resources) in &policy.0 {
        for action in actions {
            if action.contains('*') || action.contains('?') {
                out.push(format!("grants the wildcard action {action}"));
            } else if !called.contains(action.as_str()) {
                out.push(format!("grants {action}, which stratus never called"));
            }
        }
        for resource in resources {
            let used = calls.iter().any(|c| {
                actions.contains(&c.action) && c.resources.iter().any(|r| glob(resource, r))
            });
            if !used {
                out.push(format!("grants {resource}, which no call used"));
            }
        }
    }
    out
}

/// `config` with only what a test must change: loopback listeners on free ports,
/// every AWS exporter's endpoint the proxy, state in `dir`.
fn adapt(config: &str, proxy: &str, dir: &Path) -> (String, u16) {
    let mut doc: Yaml = serde_yaml_ng::from_str(config).unwrap();
    let grpc = free_port();
    let protocols = &mut doc["receivers"]["otlp"]["protocols"];
    protocols["grpc"]["endpoint"] = format!("127.0.0.1:{grpc}").into();
    protocols["http"]["endpoint"] = format!("127.0.0.1:{}", free_port()).into();
    if let Some(exts) = doc["extensions"].as_mapping_mut() {
        for (id, ext) in exts.iter_mut() {
            let id = id.as_str().unwrap();
            if id.starts_with("health_check") {
                ext["endpoint"] = format!("127.0.0.1:{}", free_port()).into();
            } else if id.starts_with("file_storage") {
                ext["directory"] = dir.join(id.replace('/', "_")).display().to_string().into();
                ext["create_directory"] = true.into();
            }
        }
    }
    let exporters = doc["exporters"].as_mapping_mut().unwrap();
    for (id, exp) in exporters.iter_mut() {
        let id = id.as_str().unwrap();
        assert!(id.starts_with("aws"), "an AWS config: {id}");
        exp["endpoint"] = proxy.into();
        if id.starts_with("awss3") {
            exp["s3_force_path_style"] = true.into();
        }
    }
    doc["service"]["telemetry"]["metrics"] = serde_yaml_ng::from_str("{level: none}").unwrap();
    (serde_yaml_ng::to_string(&doc).unwrap(), grpc)
}

/// Runs the shipped `config` against moto behind the recording proxy until every
/// exporter delivered, and returns the calls stratus made.
async fn calls_made(config: &str) -> BTreeSet<Call> {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start();
    let doc: Yaml = serde_yaml_ng::from_str(config).unwrap();
    if let Some(bucket) = doc["exporters"]["awss3"]["s3_bucket"].as_str() {
        // The bucket exists before stratus runs, as in an account (it is not created by
        // stratus, and this call does not go through the proxy).
        create_bucket(&moto.endpoint(), ANY_KEYS, bucket);
    }
    let proxy = RecordingHttpServer::proxy(&moto.endpoint()).await;
    let (adapted, grpc) = adapt(config, &proxy.url(), dir.path());
    let mut stratus = Stratus::start_with_aws_env(
        dir.path(),
        "stratus",
        &adapted,
        &[
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", REGION),
            ("MY_POD_IP", "127.0.0.1"),
            ("K8S_NODE_NAME", "node-1"),
            ("CLUSTER_NAME", "otel-cluster"),
        ],
    );
    stratus.wait_running();

    let dump = dir.path().join("sent");
    run_python_client(&[
        "--protocol",
        "grpc",
        "--endpoint",
        &format!("127.0.0.1:{grpc}"),
        "--spans",
        "5",
        "--logs",
        "5",
        "--metrics",
        "--dump",
        dump.to_str().unwrap(),
    ]);

    // Every exporter has delivered: X-Ray segments, the S3 archive object (when the
    // config has one), log events into each log group the config writes.
    let mut want: Vec<(&str, String)> = Vec::new();
    for (id, exp) in doc["exporters"].as_mapping().unwrap() {
        let id = id.as_str().unwrap();
        let group = exp["log_group_name"].as_str().map(str::to_string);
        match id.split('/').next().unwrap() {
            "awsxray" => want.push(("xray:PutTraceSegments", String::new())),
            "awss3" => want.push(("s3:PutObject", String::new())),
            "awscloudwatchlogs" => want.push(("logs:PutLogEvents", group.unwrap())),
            "awsemf" | "awscloudwatch" => want.push((
                "logs:PutLogEvents",
                format!("/metrics/{}", exp["namespace"].as_str().unwrap()),
            )),
            other => panic!("unexpected exporter {other}"),
        }
    }
    let deadline = std::time::Instant::now() + crate::common::DEADLINE;
    wait_for("every exporter to deliver", || {
        assert!(stratus.running(), "stratus exited:\n{}", stratus.logs());
        if std::time::Instant::now() + std::time::Duration::from_secs(1) > deadline {
            let seen: Vec<Call> = proxy.requests().iter().map(call_of).collect();
            panic!(
                "not every exporter delivered; calls so far: {seen:#?}\nstratus:\n{}",
                stratus.logs()
            );
        }
        let calls: Vec<Call> = proxy.requests().iter().map(call_of).collect();
        let delivered = |(action, group): &(&str, String)| {
            calls.iter().any(|c| {
                c.action == *action
                    && (group.is_empty()
                        || c.resources
                            .iter()
                            .any(|r| r.contains(&format!("log-group:{group}:"))))
            })
        };
        want.iter().all(delivered).then_some(())
    });
    // Shutdown flushes too: its calls count.
    stratus.terminate();
    let status = stratus.wait_exit();
    assert!(status.success(), "{status}:\n{}", stratus.logs());
    proxy.requests().iter().map(call_of).collect()
}

fn json_file(path: &str) -> Json {
    serde_json::from_str(&std::fs::read_to_string(repo().join(path)).unwrap()).unwrap()
}

fn config_file(name: &str) -> String {
    std::fs::read_to_string(repo().join("config").join(name)).unwrap()
}

fn assert_policy_fits(policy_name: &str, policy: &Json, calls: &BTreeSet<Call>) {
    let found = problems(&Policy::parse(policy), calls);
    assert!(
        found.is_empty(),
        "{policy_name} against the calls stratus made:\n  {}\ncalls: {calls:#?}",
        found.join("\n  ")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_eks_agent_policy_allows_exactly_what_the_agent_calls() {
    let calls = calls_made(&config_file("eks-agent.yaml")).await;
    let actions: BTreeSet<&str> = calls.iter().map(|c| c.action.as_str()).collect();
    // The calls the issue names: log groups created with their retention, streams,
    // events, segments, archive objects.
    for a in [
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutRetentionPolicy",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "s3:PutObject",
    ] {
        assert!(actions.contains(a), "{a} not called: {actions:?}");
    }
    assert_policy_fits(
        "deploy/eks/iam-policy.json",
        &json_file("deploy/eks/iam-policy.json"),
        &calls,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ecs_task_role_allows_exactly_what_the_sidecar_calls() {
    // The config exactly as the task definition delivers it.
    let task = json_file("deploy/ecs/task-definition.json");
    let env = task["containerDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "stratus")
        .unwrap()["environment"]
        .as_array()
        .unwrap()
        .clone();
    let config = env
        .iter()
        .find(|e| e["name"] == "STRATUS_CONFIG_YAML")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_string();
    let calls = calls_made(&config).await;
    assert!(
        !calls.iter().any(|c| c.action == "logs:PutRetentionPolicy"),
        "no log_retention, no retention call"
    );
    assert_policy_fits(
        "deploy/ecs/task-role-policy.json",
        &json_file("deploy/ecs/task-role-policy.json"),
        &calls,
    );
}

/// The SAM template's inline policy, with `Fn::Sub` for moto's region and account.
fn lambda_policy() -> Json {
    let text = std::fs::read_to_string(repo().join("deploy/lambda/template.yaml")).unwrap();
    let template: Json = serde_yaml_ng::from_str(&text).unwrap();
    let mut policy = template["Resources"]["Function"]["Properties"]["Policies"][0].clone();
    fn substitute(v: &mut Json) {
        match v {
            Json::Object(map) if map.len() == 1 && map.contains_key("Fn::Sub") => {
                let s = map["Fn::Sub"]
                    .as_str()
                    .unwrap()
                    .replace("${AWS::Region}", REGION)
                    .replace("${AWS::AccountId}", ACCOUNT);
                *v = Json::String(s);
            }
            Json::Object(map) => map.values_mut().for_each(substitute),
            Json::Array(items) => items.iter_mut().for_each(substitute),
            _ => {}
        }
    }
    substitute(&mut policy);
    policy
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lambda_function_policy_allows_exactly_what_the_extension_calls() {
    let calls = calls_made(&config_file("lambda.yaml")).await;
    assert_policy_fits("deploy/lambda/template.yaml", &lambda_policy(), &calls);
}

// The checker itself, on known inputs: it bites on a missing, a broader and an unused
// grant, and IAM's wildcards match as IAM matches them.

fn call(action: &str, resources: &[&str]) -> Call {
    Call {
        action: action.into(),
        resources: resources.iter().map(|r| r.to_string()).collect(),
    }
}

#[test]
fn iam_wildcards_match_like_iam() {
    assert!(glob(
        "arn:aws:s3:::b/traces/*",
        "arn:aws:s3:::b/traces/year=2026/x.json.gz"
    ));
    assert!(!glob("arn:aws:s3:::b/traces/*", "arn:aws:s3:::b/other/x"));
    assert!(glob("log-group:g:*", "log-group:g:log-stream:s"));
    assert!(glob("log-group:g:*", "log-group:g:*"));
    assert!(!glob("log-group:g:*", "log-group:g"));
    assert!(glob("a?c", "abc") && !glob("a?c", "ac"));
    assert!(glob("*", ""));
}

#[test]
fn the_checker_reports_a_missing_a_wildcard_and_an_unused_grant() {
    let calls: BTreeSet<Call> = [
        call("logs:PutLogEvents", &["arn:g:log-stream:s"]),
        call("xray:PutTraceSegments", &["*"]),
    ]
    .into();
    let exact = Policy::parse(&serde_json::json!({"Statement": [
        {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "arn:g:log-stream:*"},
        {"Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": "*"},
    ]}));
    assert_eq!(problems(&exact, &calls), Vec::<String>::new());

    let broad = Policy::parse(&serde_json::json!({"Statement": [
        {"Effect": "Allow", "Action": "logs:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"},
    ]}));
    let found = problems(&broad, &calls);
    for want in [
        "grants the wildcard action logs:*",
        "does not allow xray:PutTraceSegments on *",
        "grants s3:PutObject, which stratus never called",
        "grants arn:aws:s3:::b/*, which no call used",
    ] {
        assert!(found.iter().any(|f| f == want), "{want}: {found:?}");
    }
}
