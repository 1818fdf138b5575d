//! Loading: env expansion in every form, merging files, `--set`, and where errors
//! point.

mod support;

use std::path::{Path, PathBuf};

use serde_json::json;
use stratus_config::{ConfigError, EXIT_CODE, Location, Source, load, validate};
use support::{env_of, factories, inline, load_one, no_env};

fn write_file(dir: &Path, name: &str, text: &str) -> std::io::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, text)?;
    Ok(path)
}

fn at(source: &str, line: usize, column: usize) -> Option<Location> {
    Some(Location {
        source: source.into(),
        line,
        column,
    })
}

#[test]
fn exit_code_is_ex_config() {
    assert_eq!(EXIT_CODE, 78);
}

#[test]
fn env_references_in_every_form() {
    let env = env_of(&[
        ("HOST", "gw.internal"),
        ("PORT", "4317"),
        ("INSECURE", "true"),
        ("RATIO", "0.25"),
        ("EMPTY", ""),
        ("TOKEN", "abc: #def"),
        ("LIST", "[a, b]"),
    ]);
    let yaml = r#"
plain: ${HOST}
scheme: ${env:HOST}
joined: ${env:HOST}:${env:PORT}
port: ${env:PORT}
quoted_port: "${env:PORT}"
single_quoted: '${PORT}'
flag: ${INSECURE}
ratio: ${RATIO}
default_unset: ${env:MISSING:-fallback}
default_typed: ${env:MISSING:-8}
default_empty: ${env:MISSING:-}
default_not_used_when_empty: ${env:EMPTY:-fallback}
default_not_used_when_set: ${env:HOST:-fallback}
short_default: ${MISSING:-x}
escaped: $${env:HOST}
dollars: price $$5
bare: $HOST
lone_dollar: a $ b
token: ${TOKEN}
list: ${LIST}
in_list:
  - ${PORT}
  - x${PORT}
in_flow_list: ["${PORT}", "x${PORT}"]
nested:
  deep: {er: "${env:HOST}"}
number: 5
"#;
    let doc = load_one(yaml, &env).unwrap();
    assert!(doc.warnings().is_empty(), "{:?}", doc.warnings());
    assert_eq!(
        doc.value(),
        &json!({
            "plain": "gw.internal",
            "scheme": "gw.internal",
            "joined": "gw.internal:4317",
            "port": 4317,
            "quoted_port": "4317",
            "single_quoted": "4317",
            "flag": true,
            "ratio": 0.25,
            "default_unset": "fallback",
            "default_typed": 8,
            "default_empty": "",
            "default_not_used_when_empty": "",
            "default_not_used_when_set": "gw.internal",
            "short_default": "x",
            "escaped": "${env:HOST}",
            "dollars": "price $5",
            "bare": "$HOST",
            "lone_dollar": "a $ b",
            "token": "abc: #def",
            "list": ["a", "b"],
            "in_list": [4317, "x4317"],
            // Flow collections need quotes around `${...}`, and quoted stays a string.
            "in_flow_list": ["4317", "x4317"],
            "nested": {"deep": {"er": "gw.internal"}},
            "number": 5,
        })
    );
}

#[test]
fn keys_are_not_expanded() {
    let env = env_of(&[("K", "v")]);
    let doc = load_one("${K}: 1\n", &env).unwrap();
    assert_eq!(doc.value(), &json!({"${K}": 1}));
}

#[test]
fn unset_variable_is_empty_with_a_located_warning() {
    let yaml = "receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: ${env:OTLP_ENDPOINT}\nexporters: {debug: }\nservice:\n  pipelines:\n    traces: {receivers: [otlp], exporters: [debug]}\n";
    let doc = load_one(yaml, &no_env).unwrap();
    let expected = vec![ConfigError {
        path: "receivers::otlp::protocols::grpc::endpoint".into(),
        location: at("config.yaml", 5, 9),
        message: "environment variable `OTLP_ENDPOINT` is not set; using an empty string".into(),
    }];
    assert_eq!(doc.warnings(), expected.as_slice());
    assert_eq!(
        doc.value()["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"],
        json!("")
    );
    // The empty endpoint is then caught by the component's own check, and warnings
    // reach Validated when the config is otherwise fine.
    let err = validate(&doc, &factories()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "config.yaml:5:9: receivers::otlp::protocols::grpc::endpoint: must not be empty"
    );
    let ok = load_one(
        "receivers: {otlp: }\nexporters:\n  debug:\n    verbosity: ${VERBOSITY:-basic}${UNSET}\nservice:\n  pipelines:\n    traces: {receivers: [otlp], exporters: [debug]}\n",
        &no_env,
    )
    .unwrap();
    let v = validate(&ok, &factories()).unwrap();
    assert_eq!(v.warnings.len(), 1);
    assert_eq!(v.warnings[0].path, "exporters::debug::verbosity");
    assert!(v.warnings[0].message.contains("`UNSET` is not set"));
}

#[test]
fn env_typing_reaches_component_checks() {
    let yaml = |v: &str| {
        format!(
            "receivers:\n  otlp:\n    protocols:\n      grpc:\n        max_recv_msg_size_mib: {v}\nexporters: {{debug: }}\nservice:\n  pipelines:\n    traces: {{receivers: [otlp], exporters: [debug]}}\n"
        )
    };
    let env = env_of(&[("MIB", "16")]);
    // A lone reference is typed: the u64 field accepts it.
    let doc = load_one(&yaml("${env:MIB}"), &env).unwrap();
    assert!(validate(&doc, &factories()).is_ok());
    // Quoted, it stays a string, which a u64 field rejects.
    let doc = load_one(&yaml("\"${env:MIB}\""), &env).unwrap();
    let err = validate(&doc, &factories()).unwrap_err();
    assert_eq!(err.0.len(), 1);
    assert_eq!(
        err.0[0].path,
        "receivers::otlp::protocols::grpc::max_recv_msg_size_mib"
    );
    assert_eq!(
        err.0[0].message,
        "invalid type: string \"16\", expected u64"
    );
    // Embedded in a longer string, it stays a string.
    let doc = load_one(&yaml("${env:MIB}0x"), &env).unwrap();
    assert!(validate(&doc, &factories()).is_err());
}

#[test]
fn bad_env_references_are_errors_with_paths() {
    let yaml = "\
exporters:
  otlp:
    endpoint: ${file:/run/secrets/endpoint}
    headers:
      - ${http://example/x}
    token: ${env:1TOKEN}
    other: ${env:BAD-NAME:-x}
";
    let err = load_one(yaml, &no_env).unwrap_err();
    let got: Vec<(String, Option<Location>, String)> = err
        .0
        .into_iter()
        .map(|e| (e.path, e.location, e.message))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "exporters::otlp::endpoint".to_string(),
                at("config.yaml", 3, 5),
                "`${file:/run/secrets/endpoint}`: cannot read `/run/secrets/endpoint`: No such file or directory (os error 2)".to_string()
            ),
            (
                "exporters::otlp::headers::0".to_string(),
                at("config.yaml", 5, 9),
                "`${http://example/x}`: the `http` scheme is not supported; stratus expands environment variables (`${env:NAME}` or `${NAME}`), files (`${file:PATH}`) and inline YAML (`${yaml:TEXT}`)".to_string()
            ),
            (
                "exporters::otlp::other".to_string(),
                at("config.yaml", 7, 5),
                "`${env:BAD-NAME:-x}`: invalid environment variable name `BAD-NAME` (expected letters, digits and `_`, not starting with a digit)".to_string()
            ),
            (
                "exporters::otlp::token".to_string(),
                at("config.yaml", 6, 5),
                "`${env:1TOKEN}`: invalid environment variable name `1TOKEN` (expected letters, digits and `_`, not starting with a digit)".to_string()
            ),
        ]
    );
}

#[test]
fn env_values_are_never_echoed_in_messages() {
    // A secret that fails to type stays a string; nothing about it is reported.
    let env = env_of(&[("SECRET", "s3cr3t: [unclosed")]);
    let doc = load_one("key: ${SECRET}\n", &env).unwrap();
    assert_eq!(doc.value()["key"], json!("s3cr3t: [unclosed"));
    assert!(doc.warnings().is_empty());
}

const BASE: &str = "\
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
exporters:
  debug:
    verbosity: basic
processors:
  batch:
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
";

const OVERRIDE: &str = "\
exporters:
  debug:
    verbosity: detailed
  debug/extra:
service:
  pipelines:
    traces:
      exporters: [debug, debug/extra]
  telemetry:
    logs: {level: warn}
";

#[test]
fn two_files_merge_later_wins() {
    let dir = tempfile::tempdir().unwrap();
    let base = write_file(dir.path(), "base.yaml", BASE).unwrap();
    let over = write_file(dir.path(), "override.yaml", OVERRIDE).unwrap();
    let doc = load(
        &[Source::File(base.clone()), Source::File(over.clone())],
        &[],
        &no_env,
    )
    .unwrap();
    let v = doc.value();
    // Mappings merged key by key.
    assert_eq!(
        v["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"],
        json!("0.0.0.0:4317")
    );
    assert_eq!(v["exporters"]["debug"]["verbosity"], json!("detailed"));
    assert_eq!(v["exporters"]["debug/extra"], json!(null));
    // Lists replaced whole.
    assert_eq!(
        v["service"]["pipelines"]["traces"],
        json!({"receivers": ["otlp"], "processors": ["batch"], "exporters": ["debug", "debug/extra"]})
    );
    // Locations follow where each key was last written.
    let base_name = base.display().to_string();
    let over_name = over.display().to_string();
    assert_eq!(
        doc.location(&["exporters", "debug", "verbosity"]),
        at(&over_name, 3, 5)
    );
    assert_eq!(
        doc.location(&["receivers", "otlp", "protocols", "grpc", "endpoint"]),
        at(&base_name, 5, 9)
    );
    assert_eq!(
        doc.location(&["service", "pipelines", "traces", "exporters", "1"]),
        at(&over_name, 8, 26)
    );
    assert_eq!(
        doc.location(&["service", "pipelines", "traces", "receivers", "0"]),
        at(&base_name, 14, 19)
    );
    let validated = validate(&doc, &factories()).unwrap();
    assert_eq!(validated.config.service.telemetry.logs.level, "warn");
    assert_eq!(validated.config.exporters.len(), 2);
}

#[test]
fn merged_sources_report_errors_against_the_right_file() {
    let base = inline("base.yaml", BASE);
    let bad = inline(
        "bad.yaml",
        "exporters:\n  debug:\n    verbosity: loud\n    colour: red\n",
    );
    let doc = load(&[base, bad], &[], &no_env).unwrap();
    let err = validate(&doc, &factories()).unwrap_err();
    // Serde stops at the first problem inside one component's config.
    assert_eq!(err.0.len(), 1);
    assert_eq!(
        err.to_string(),
        "bad.yaml:4:5: exporters::debug::colour: unknown key `colour`; valid keys: verbosity"
    );
}

#[test]
fn unreadable_and_broken_files_are_all_reported() {
    let dir = tempfile::tempdir().unwrap();
    let broken = write_file(dir.path(), "broken.yaml", "receivers:\n  otlp: [\n").unwrap();
    let dup = write_file(dir.path(), "dup.yaml", "exporters:\n  debug:\n  debug:\n").unwrap();
    let missing = dir.path().join("missing.yaml");
    let err = load(
        &[
            Source::File(missing.clone()),
            Source::File(broken.clone()),
            Source::File(dup.clone()),
        ],
        &[],
        &no_env,
    )
    .unwrap_err();
    assert_eq!(err.0.len(), 3, "{err}");
    assert!(
        err.0[0].message.starts_with(&format!(
            "cannot read config file `{}`: ",
            missing.display()
        )),
        "{err}"
    );
    assert_eq!(err.0[0].location, None);
    let syntax = &err.0[1];
    let loc = syntax.location.as_ref().unwrap();
    assert_eq!(loc.source, broken.display().to_string());
    assert_eq!(loc.line, 3, "{err}");
    assert!(syntax.message.starts_with("invalid YAML: "), "{err}");
    assert_eq!(
        err.0[2].to_string(),
        format!(
            "{}:3:3: exporters::debug: duplicate key `debug` (first written on line 2)",
            dup.display()
        )
    );
}

#[test]
fn syntax_error_positions() {
    let cases: &[(&str, usize, usize)] = &[
        // A tab used as indentation: just after the tab.
        ("receivers:\n\totlp:\n", 2, 2),
        // A mapping value where none is allowed.
        ("a: b: c\n", 1, 5),
        // An unclosed quote: where the quote opens.
        ("a: 1\nb: \"open\n", 2, 4),
        // An unclosed flow sequence: where the next line breaks out of it.
        ("a:\n  - [1, 2\nb: 3\n", 3, 2),
    ];
    for (yaml, line, column) in cases {
        let err = load_one(yaml, &no_env).unwrap_err();
        assert_eq!(err.0.len(), 1, "{yaml:?}: {err}");
        let e = &err.0[0];
        assert!(e.message.starts_with("invalid YAML: "), "{yaml:?}: {e}");
        assert_eq!(
            e.location,
            at("config.yaml", *line, *column),
            "{yaml:?}: {e}"
        );
    }
}

#[test]
fn locations_of_keys_and_items() {
    let yaml = "\
# comment
receivers:
  otlp:          # trailing comment
    protocols:
      grpc: {endpoint: \"0.0.0.0:4317\"}
service:
  extensions:
    - health_check
    - pprof
";
    let doc = load_one(yaml, &no_env).unwrap();
    assert_eq!(doc.location(&["receivers"]), at("config.yaml", 2, 1));
    assert_eq!(
        doc.location(&["receivers", "otlp"]),
        at("config.yaml", 3, 3)
    );
    assert_eq!(
        doc.location(&["receivers", "otlp", "protocols", "grpc", "endpoint"]),
        at("config.yaml", 5, 14)
    );
    assert_eq!(
        doc.location(&["service", "extensions", "1"]),
        at("config.yaml", 9, 7)
    );
    assert_eq!(doc.location(&["service", "nope"]), None);
    assert_eq!(
        doc.nearest_location(&["service", "nope"]),
        at("config.yaml", 6, 1)
    );
    assert_eq!(doc.nearest_location(&["elsewhere"]), None);
}

#[test]
fn empty_component_bodies_are_null() {
    let doc = load_one("exporters:\n  debug:\n  nop: ~\n  other: {}\n", &no_env).unwrap();
    assert_eq!(
        doc.value()["exporters"],
        json!({"debug": null, "nop": null, "other": {}})
    );
}

#[test]
fn no_sources_is_an_empty_document() {
    let doc = load(&[], &[], &no_env).unwrap();
    assert_eq!(doc.value(), &json!({}));
    let err = validate(&doc, &factories()).unwrap_err();
    assert_eq!(err.0[0].path, "service");
}

#[test]
fn set_overrides_and_creates_keys() {
    let sets: Vec<String> = [
        "exporters::debug::verbosity=detailed",
        "exporters::otlp/gw::endpoint=host:4317",
        "exporters::otlp/gw::compression=",
        "processors::batch::send_batch_size=512",
        "service::pipelines::traces::exporters=[debug]",
        "service::telemetry::metrics::address=${env:METRICS_ADDR}",
        "extensions::health_check::endpoint=\"8080\"",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let env = env_of(&[("METRICS_ADDR", "0.0.0.0:9000")]);
    let doc = load(&[inline("base.yaml", BASE)], &sets, &env).unwrap();
    let v = doc.value();
    assert_eq!(v["exporters"]["debug"]["verbosity"], json!("detailed"));
    assert_eq!(
        v["exporters"]["otlp/gw"],
        json!({"endpoint": "host:4317", "compression": null})
    );
    assert_eq!(v["processors"]["batch"], json!({"send_batch_size": 512}));
    assert_eq!(
        v["service"]["pipelines"]["traces"]["exporters"],
        json!(["debug"])
    );
    assert_eq!(
        v["service"]["telemetry"]["metrics"]["address"],
        json!("0.0.0.0:9000")
    );
    assert_eq!(v["extensions"]["health_check"]["endpoint"], json!("8080"));
    // Keys written by --set point at the flag that wrote them.
    assert_eq!(
        doc.location(&["exporters", "otlp/gw", "endpoint"]),
        at("--set", 2, 1)
    );
    assert_eq!(doc.location(&["exporters", "otlp/gw"]), at("--set", 2, 1));
    assert_eq!(
        doc.location(&["exporters", "debug", "verbosity"]),
        at("--set", 1, 1)
    );
    // Keys --set did not touch keep their file location.
    assert_eq!(doc.location(&["exporters", "debug"]), at("base.yaml", 7, 3));
}

#[test]
fn set_errors_are_located_at_the_flag() {
    let doc = load(
        &[inline("base.yaml", BASE)],
        &["processors::batch::send_batch_size=lots".to_string()],
        &no_env,
    )
    .unwrap();
    let err = validate(&doc, &factories()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--set:1:1: processors::batch::send_batch_size: invalid type: string \"lots\", expected u32"
    );
}

#[test]
fn malformed_sets_are_errors() {
    let sets: Vec<String> = [
        "exporters::debug::verbosity",
        "=x",
        "exporters::::x=1",
        "exporters::debug::verbosity=[unclosed",
        "receivers::otlp::protocols::grpc::endpoint::0=x",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let base = inline(
        "base.yaml",
        "receivers: {otlp: {protocols: {grpc: {endpoint: [a]}}}}\n",
    );
    let err = load(&[base], &sets, &no_env).unwrap_err();
    let got: Vec<(String, Option<usize>, String)> = err
        .0
        .iter()
        .map(|e| {
            (
                e.path.clone(),
                e.location.as_ref().map(|l| l.line),
                e.message.clone(),
            )
        })
        .collect();
    assert_eq!(got.len(), 5, "{err}");
    assert_eq!(
        got[0],
        (
            String::new(),
            Some(1),
            "invalid --set `exporters::debug::verbosity`: expected `key::sub::key=value`".into()
        )
    );
    assert_eq!(
        got[1],
        (
            String::new(),
            Some(2),
            "invalid --set key ``: expected `key::sub::key=value` with no empty keys".into()
        )
    );
    assert_eq!(
        got[2],
        (
            String::new(),
            Some(3),
            "invalid --set key `exporters::::x`: expected `key::sub::key=value` with no empty keys"
                .into()
        )
    );
    assert_eq!(got[3].0, "exporters::debug::verbosity");
    assert_eq!(got[3].1, Some(4));
    assert!(got[3].2.starts_with("invalid --set value: "), "{err}");
    assert_eq!(
        got[4],
        (
            "receivers::otlp::protocols::grpc::endpoint::0".into(),
            Some(5),
            "`receivers::otlp::protocols::grpc::endpoint` is a list; --set can only set keys of mappings"
                .into()
        )
    );
}

#[test]
fn set_replaces_a_scalar_with_a_mapping() {
    let doc = load(
        &[inline("a", "exporters:\n  debug: 5\n")],
        &["exporters::debug::verbosity=basic".to_string()],
        &no_env,
    )
    .unwrap();
    assert_eq!(
        doc.value()["exporters"]["debug"],
        json!({"verbosity": "basic"})
    );
}

#[test]
fn later_inline_source_can_null_a_component() {
    let a = inline("a", "exporters:\n  debug:\n    verbosity: detailed\n");
    let b = inline("b", "exporters:\n  debug:\n");
    let doc = load(&[a, b], &[], &no_env).unwrap();
    assert_eq!(doc.value()["exporters"]["debug"], json!(null));
    assert_eq!(doc.location(&["exporters", "debug", "verbosity"]), None);
    assert_eq!(doc.location(&["exporters", "debug"]), at("b", 2, 3));
}

/// The collector's `yaml` provider on the command line:
/// `--config "yaml:processors::batch::timeout: 2s"` merges over the files before it,
/// `::` keys nest at every depth, and later sources win.
#[test]
fn yaml_sources_from_the_command_line() {
    let base = inline(
        "base.yaml",
        "processors:\n  batch:\n    send_batch_size: 100\nservice:\n  extensions: []\n",
    );
    let args = [
        "yaml:processors::batch::timeout: 2s",
        "yaml:processors: {batch/foo::timeout: 3s, batch::send_batch_size: 7}",
        "yaml:service::extensions: [health_check, health_check/2]",
        "yaml:exporters::otlp::endpoint: a:1\nexporters::otlp::tls::insecure: true",
        "yaml:exporters.debug.verbosity: basic",
    ];
    let mut sources = vec![base];
    sources.extend(
        args.iter()
            .enumerate()
            .map(|(i, a)| Source::from_arg(a, i + 1)),
    );
    let doc = load(&sources, &[], &no_env).unwrap();
    assert_eq!(
        doc.value(),
        &json!({
            "processors": {
                "batch": {"send_batch_size": 7, "timeout": "2s"},
                "batch/foo": {"timeout": "3s"},
            },
            "service": {"extensions": ["health_check", "health_check/2"]},
            "exporters": {"otlp": {"endpoint": "a:1", "tls": {"insecure": true}}},
            // As upstream: only `::` separates keys.
            "exporters.debug.verbosity": "basic",
        })
    );
    // Keys written in a `yaml:` source point at it, nested parents included.
    assert_eq!(
        doc.location(&["processors", "batch", "timeout"]),
        at("--config 1 (yaml:)", 1, 1)
    );
    assert_eq!(
        doc.location(&["exporters", "otlp", "tls", "insecure"]),
        at("--config 4 (yaml:)", 2, 1)
    );
    assert_eq!(
        doc.location(&["processors", "batch", "send_batch_size"])
            .unwrap()
            .source,
        "--config 2 (yaml:)"
    );
    // A `yaml:` source validates like a file: unknown components are errors there.
    let errors = validate(
        &load(
            &[Source::from_arg("yaml:recievers::otlp: {}", 1)],
            &[],
            &no_env,
        )
        .unwrap(),
        &factories(),
    )
    .unwrap_err();
    assert_eq!(
        errors.0[0].to_string(),
        "--config 1 (yaml:):1:1: recievers: unknown top-level key `recievers`; did you mean `receivers`?"
    );
}

/// Bad `yaml:` sources and `${yaml:...}` references are errors that say where, and
/// never repeat the text: it may be a secret.
#[test]
fn bad_yaml_never_echoes_the_text() {
    const MARKER: &str = "S3CRET-MARKER-4b1d";
    let bad_sources = [
        format!("yaml:exporters::otlp::headers::authorization: \"Bearer {MARKER}"),
        format!("yaml:[{MARKER},"),
        format!("yaml:- {MARKER}"),
        format!("yaml:{MARKER}"),
        format!("yaml:a: {MARKER}\n  b: {MARKER}"),
        format!("yaml:a::b: {MARKER}\na: {MARKER}"),
    ];
    for arg in &bad_sources {
        let err = load(&[Source::from_arg(arg, 3)], &[], &no_env).unwrap_err();
        let text = err.to_string();
        assert!(!text.contains(MARKER), "{arg:?} echoed: {text}");
        assert!(text.contains("--config 3 (yaml:)"), "{arg:?}: {text}");
    }
    let env = env_of(&[("TOKEN", MARKER)]);
    let bad_refs = [
        format!("token: ${{yaml:\"Bearer {MARKER}}}\n"),
        format!("token: ${{yaml:[{MARKER},}}\n"),
        format!("token: x ${{yaml:[{MARKER}]}}\n"),
        format!("token: \"${{yaml:{MARKER}: 1, b: 2}}\"\n"),
        format!("token: \"${{yaml:a::b: {MARKER}, a: 1}}\"\n"),
    ];
    for yaml in &bad_refs {
        let err = load_one(yaml, &env).unwrap_err();
        let text = err.to_string();
        assert!(!text.contains(MARKER), "{yaml:?} echoed: {text}");
        assert!(
            text.contains("config.yaml:1:1: token: `${yaml:...}`: "),
            "{yaml:?}: {text}"
        );
    }
    let err = load_one("token: ${yaml:[a,}\n", &no_env).unwrap_err();
    assert_eq!(
        err.0[0].message,
        "`${yaml:...}`: not valid YAML (line 2, column 1)"
    );
}

/// `${yaml:...}` inside a config, as the collector's `yaml` provider expands it.
#[test]
fn yaml_references_inside_a_config() {
    let yaml = r#"
list: ${yaml:[zpages, zpages/foo]}
number: ${yaml:4317}
quoted_number: "${yaml:4317}"
text: ${yaml:'quoted text'}
nested: "${yaml:grpc::endpoint: localhost:4317}"
joined: port ${yaml:4317}
empty: ${yaml:}
"#;
    let doc = load_one(yaml, &no_env).unwrap();
    assert_eq!(
        doc.value(),
        &json!({
            "list": ["zpages", "zpages/foo"],
            "number": 4317,
            "quoted_number": "4317",
            "text": "quoted text",
            "nested": {"grpc": {"endpoint": "localhost:4317"}},
            "joined": "port 4317",
            "empty": null,
        })
    );
}
