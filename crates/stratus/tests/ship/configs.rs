//! Every config stratus ships — the files of `config/` and every config embedded in
//! `deploy/` (Kubernetes ConfigMaps, the ECS task definition's environment, the ARM
//! template) — passes `stratus validate`, and an embedded copy is the `config/` file
//! byte for byte.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize as _;
use serde_json::Value;

use crate::repo;

/// Values for the environment the configs reference, as the deployments set them.
const ENV: &[(&str, &str)] = &[
    ("MY_POD_IP", "127.0.0.1"),
    ("K8S_NODE_NAME", "node-1"),
    ("CLUSTER_NAME", "otel-cluster"),
    ("AWS_REGION", "us-east-1"),
    ("CLOUD_REGION", "eu-west-1"),
    ("OTLP_GATEWAY_ENDPOINT", "gateway.example.com:4317"),
    ("CLOUD_GATEWAY_ENDPOINT", "gateway.example.com:4317"),
    ("CLOUD_GATEWAY_TOKEN", "test-token"),
    ("STRATUS_BEARER_TOKEN", "test-token"),
    (
        "APPLICATIONINSIGHTS_INSTRUMENTATION_KEY",
        "00000000-0000-0000-0000-000000000000",
    ),
    (
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://eastus-8.in.applicationinsights.azure.com/",
    ),
    ("WORKSPACE_ID", "11111111-1111-1111-1111-111111111111"),
    ("WORKSPACE_KEY", "dGVzdC13b3Jrc3BhY2Uta2V5"),
    (
        "LOGS_INGESTION_ENDPOINT",
        "https://otel-dce.eastus-1.ingest.monitor.azure.com",
    ),
    (
        "LOGS_INGESTION_DCR_ID",
        "dcr-00000000000000000000000000000000",
    ),
];

/// Runs `stratus validate` on a config text; returns (success, stderr).
fn validate_text(name: &str, text: &str, dir: &Path) -> (bool, String) {
    let path = dir.join(format!("{}.yaml", name.replace(['/', ' ', ':'], "_")));
    std::fs::write(&path, text).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stratus"));
    cmd.arg("validate").arg("--config").arg(&path);
    for (k, v) in ENV {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every string in `v` that is a whole stratus config: a YAML mapping with `service`
/// pipelines. `at` names where it was found.
fn configs_in(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) => {
            let is_config = s.contains("pipelines:")
                && serde_yaml_ng::from_str::<Value>(s)
                    .ok()
                    .is_some_and(|c| c.pointer("/service/pipelines").is_some());
            if is_config {
                out.push((at.to_string(), s.clone()));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                configs_in(item, &format!("{at}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                configs_in(item, &format!("{at}.{k}"), out);
            }
        }
        _ => {}
    }
}

/// The documents of a YAML or JSON file under `deploy/`.
fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    if path.extension().is_some_and(|e| e == "json") {
        return vec![serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!("{}: not JSON: {e}", path.display());
        })];
    }
    serde_yaml_ng::Deserializer::from_str(&text)
        // CloudFormation short-form tags (`!Ref`) are not plain YAML values.
        .filter_map(|doc| Value::deserialize(doc).ok())
        .collect()
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        {
            out.push(path);
        }
    }
}

/// Every config embedded in the files under `dir`, named `file: path.in.document`.
fn embedded(dir: &Path) -> Vec<(String, String)> {
    let mut paths = Vec::new();
    files(dir, &mut paths);
    paths.sort();
    let mut found = Vec::new();
    for path in paths {
        let name = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        for (i, doc) in documents(&path).iter().enumerate() {
            configs_in(doc, &format!("{name}#{i}"), &mut found);
        }
    }
    found
}

#[test]
fn every_config_in_config_validates() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = Vec::new();
    for sub in ["config", "config/examples"] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(repo().join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let (ok, stderr) = validate_text(&name, &text, dir.path());
            assert!(ok, "{}: {stderr}", path.display());
            checked.push(name);
        }
    }
    for shape in [
        "local.yaml",
        "eks-agent.yaml",
        "ecs-sidecar.yaml",
        "aks-gateway.yaml",
        "dr-failover.yaml",
        "hybrid-forwarder.yaml",
        "regional-agent.yaml",
        "global-gateway.yaml",
        "lambda.yaml",
        "aci-gateway.yaml",
    ] {
        assert!(
            checked.iter().any(|c| c == shape),
            "config/{shape} is missing"
        );
    }
}

#[test]
fn every_config_embedded_in_deploy_validates() {
    let dir = tempfile::tempdir().unwrap();
    let found = embedded(&repo().join("deploy"));
    assert!(
        found.len() >= 4,
        "expected the EKS and AKS ConfigMaps, the ECS task definition and the ARM template: {:?}",
        found.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    for (name, text) in &found {
        let (ok, stderr) = validate_text(name, text, dir.path());
        assert!(ok, "{name}: {stderr}");
    }
}

#[test]
fn embedded_copies_are_the_config_files_byte_for_byte() {
    let found = embedded(&repo().join("deploy"));
    for (file, config) in [
        ("eks/configmap.yaml", "eks-agent.yaml"),
        ("aks/configmap.yaml", "aks-gateway.yaml"),
        ("ecs/task-definition.json", "ecs-sidecar.yaml"),
        ("aci/azuredeploy.json", "aci-gateway.yaml"),
    ] {
        let want = std::fs::read_to_string(repo().join("config").join(config)).unwrap();
        let copies: Vec<&String> = found
            .iter()
            .filter(|(n, _)| n.starts_with(&format!("{file}#")))
            .map(|(_, t)| t)
            .collect();
        assert!(!copies.is_empty(), "deploy/{file} embeds no config");
        for copy in copies {
            assert!(
                *copy == want,
                "deploy/{file} does not carry config/{config} byte for byte: run scripts/sync-configmaps"
            );
        }
    }
}

/// The same extraction catches a broken embedded config: a ConfigMap whose config has
/// an unknown key fails validation with the key named.
#[test]
fn a_broken_embedded_config_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let deploy = dir.path().join("deploy");
    std::fs::create_dir_all(&deploy).unwrap();
    std::fs::write(
        deploy.join("configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: broken}\ndata:\n  config.yaml: |\n    receivers:\n      otlp:\n        protocols: {grpc: {endpont: localhost:4317}}\n    exporters:\n      nop: {}\n    service:\n      pipelines:\n        traces: {receivers: [otlp], exporters: [nop]}\n",
    )
    .unwrap();
    let found = embedded(&deploy);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "configmap.yaml#0.data.config.yaml");
    let (ok, stderr) = validate_text("broken", &found[0].1, dir.path());
    assert!(!ok);
    assert!(stderr.contains("endpont"), "{stderr}");
}
