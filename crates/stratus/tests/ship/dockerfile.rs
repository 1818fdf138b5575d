//! The container image, checked without a Docker engine: the Dockerfile is parsed and
//! its runtime stage's assumptions (user, paths, ports, entrypoint, health check)
//! checked against what the binary and the manifests expect; the Lambda layer script
//! is run and its zip's layout checked.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::repo;

/// One instruction: its keyword (upper case) and the rest of the line, with
/// continuation lines joined.
#[derive(Debug, Clone)]
struct Instruction {
    keyword: String,
    args: String,
}

#[derive(Debug, Default)]
struct Stage {
    from: String,
    name: Option<String>,
    instructions: Vec<Instruction>,
}

impl Stage {
    fn all(&self, keyword: &str) -> Vec<&str> {
        self.instructions
            .iter()
            .filter(|i| i.keyword == keyword)
            .map(|i| i.args.as_str())
            .collect()
    }

    fn last(&self, keyword: &str) -> Option<&str> {
        self.all(keyword).last().copied()
    }
}

fn parse(text: &str) -> Vec<Stage> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        if trimmed.starts_with('#') {
            continue;
        }
        current.push_str(trimmed);
        lines.push(std::mem::take(&mut current));
    }
    let mut stages: Vec<Stage> = Vec::new();
    for line in lines {
        let (keyword, args) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let keyword = keyword.to_ascii_uppercase();
        let args = args.trim().to_string();
        if keyword == "FROM" {
            let words: Vec<&str> = args.split_whitespace().collect();
            let image = words
                .iter()
                .find(|w| !w.starts_with("--"))
                .unwrap_or(&"")
                .to_string();
            let name = words
                .iter()
                .position(|w| w.eq_ignore_ascii_case("as"))
                .and_then(|i| words.get(i + 1))
                .map(|s| s.to_string());
            stages.push(Stage {
                from: image,
                name,
                instructions: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push(Instruction { keyword, args });
        }
    }
    stages
}

/// The JSON (exec) form of ENTRYPOINT, CMD or HEALTHCHECK CMD.
fn exec_form(args: &str) -> Vec<String> {
    let json = args.trim_start_matches("CMD").trim();
    let json = &json[json.find('[').unwrap_or(0)..];
    serde_json::from_str(json).unwrap_or_else(|e| panic!("`{args}` is not the JSON form: {e}"))
}

#[test]
fn the_runtime_stage_is_what_the_binary_and_manifests_expect() {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let stages = parse(&text);
    assert!(stages.len() >= 2, "a multi-stage build: {stages:?}");
    let builder = &stages[0];
    let runtime = stages.last().unwrap();

    // The builder runs the release build the test command runs too, word for word,
    // so a broken image build shows up here first.
    let runs = builder.all("RUN").join("\n");
    let script = std::fs::read_to_string(repo().join("scripts/test")).unwrap();
    let command = script
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("cargo build --release"))
        .expect("scripts/test runs a release build");
    assert!(
        command.contains("--locked"),
        "a reproducible build: {command}"
    );
    assert!(
        runs.contains(command),
        "the Dockerfile builds with `{command}`, as scripts/test does: {runs}"
    );
    assert!(builder.from.starts_with("rust:"), "{}", builder.from);

    // Runtime: minimal, pinned, non-root.
    let image = &runtime.from;
    assert!(
        image.contains("distroless") || image.contains("-slim"),
        "{image}"
    );
    let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
    assert!(
        !tag.is_empty() && tag != "latest" && !tag.contains('/'),
        "pin the runtime image: {image}"
    );
    let user = runtime.last("USER").expect("a USER in the runtime stage");
    let uid: u32 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("a numeric user id");
    assert_ne!(uid, 0, "runs as root");
    assert_eq!(uid, 65532, "the uid the manifests' securityContext names");

    // The binary, from the builder, at the path every manifest execs.
    let copies = runtime.all("COPY");
    let builder_name = builder.name.clone().expect("a named builder stage");
    assert!(
        copies
            .iter()
            .any(|c| c.contains(&format!("--from={builder_name}"))
                && c.contains("release/stratus")
                && c.trim_end().ends_with("/usr/local/bin/stratus")),
        "{copies:?}"
    );
    let entrypoint = exec_form(runtime.last("ENTRYPOINT").expect("an ENTRYPOINT"));
    assert_eq!(entrypoint, ["/usr/local/bin/stratus"]);
    let cmd = exec_form(runtime.last("CMD").expect("a CMD"));
    assert_eq!(cmd, ["--config", "/etc/stratus/config.yaml"]);
    // The config the CMD names is in the image, and it is a shipped config.
    let config_copy = copies
        .iter()
        .find(|c| c.trim_end().ends_with("/etc/stratus/config.yaml"))
        .expect("a COPY of the default config to /etc/stratus/config.yaml");
    let source = config_copy
        .split_whitespace()
        .rev()
        .nth(1)
        .expect("a COPY source");
    assert!(repo().join(source).is_file(), "{source}");
    // With the image's environment, that config listens where published ports reach:
    // every interface of the container, on the exposed ports.
    let image_env: Vec<(String, String)> = runtime
        .all("ENV")
        .iter()
        .filter_map(|e| e.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect();
    let doc = stratus_config::load(
        &[stratus_config::Source::File(repo().join(source))],
        &[],
        &|name: &str| {
            image_env
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        },
    )
    .unwrap();
    let config = doc.value();
    let listens: Vec<&str> = [
        "/receivers/otlp/protocols/grpc/endpoint",
        "/receivers/otlp/protocols/http/endpoint",
        "/extensions/health_check/endpoint",
    ]
    .iter()
    .map(|p| config.pointer(p).and_then(|v| v.as_str()).unwrap_or(""))
    .collect();
    assert_eq!(
        listens,
        ["0.0.0.0:4317", "0.0.0.0:4318", "0.0.0.0:13133"],
        "the image's default config must listen on the container's interfaces"
    );
    // Writable state lives in a directory the user owns (the root fs is read-only).
    assert!(
        copies
            .iter()
            .any(|c| c.contains("--chown=65532") && c.contains("/var/lib/stratus")),
        "{copies:?}"
    );

    let mut ports: Vec<u16> = runtime
        .all("EXPOSE")
        .iter()
        .flat_map(|e| e.split_whitespace())
        .map(|p| p.trim_end_matches("/tcp").parse().unwrap())
        .collect();
    ports.sort();
    assert_eq!(ports, [4317, 4318, 8888, 13133]);

    let health = runtime.last("HEALTHCHECK").expect("a HEALTHCHECK");
    assert_eq!(
        exec_form(health),
        ["/usr/local/bin/stratus", "healthcheck"],
        "{health}"
    );
}

#[test]
fn dockerignore_keeps_build_output_and_secrets_out_of_the_context() {
    let text = std::fs::read_to_string(repo().join(".dockerignore")).unwrap();
    let entries: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for want in ["target", ".git", ".tools", ".venv"] {
        assert!(
            entries
                .iter()
                .any(|e| e.trim_start_matches('/').trim_end_matches(['/', '*']) == want),
            "{want} is not ignored: {entries:?}"
        );
    }
}

#[test]
fn the_lambda_layer_zip_has_the_extension_and_its_config() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("layer.zip");
    let binary = env!("CARGO_BIN_EXE_stratus");
    let out = Command::new("bash")
        .arg(repo().join("scripts/lambda-layer"))
        .arg("--binary")
        .arg(binary)
        .arg("--out")
        .arg(&zip)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = Command::new(crate::common::python())
        .arg("-c")
        .arg(
            "import json, sys, zipfile, hashlib\n\
             z = zipfile.ZipFile(sys.argv[1])\n\
             print(json.dumps({i.filename: {'mode': i.external_attr >> 16,\n\
               'sha256': hashlib.sha256(z.read(i)).hexdigest()} for i in z.infolist()\n\
               if not i.is_dir()}))",
        )
        .arg(&zip)
        .output()
        .unwrap();
    assert!(listing.status.success(), "{listing:?}");
    let files: Value = serde_json::from_slice(&listing.stdout).unwrap();
    let names: Vec<&String> = files.as_object().unwrap().keys().collect();
    assert_eq!(names, ["extensions/stratus", "stratus/config.yaml"]);
    let ext = &files["extensions/stratus"];
    assert_eq!(
        ext["mode"].as_u64().unwrap() & 0o777,
        0o755,
        "Lambda runs extensions/stratus: it must be executable"
    );
    let sha = |path: &Path| {
        let out = Command::new("sha256sum").arg(path).output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(ext["sha256"], sha(Path::new(binary)));
    assert_eq!(
        files["stratus/config.yaml"]["sha256"],
        sha(&repo().join("config/lambda.yaml"))
    );
}
