//! Table-driven validation tests: whole configs in, every expected error out, with
//! its path, line and message.

mod support;

use serde_json::json;
use stratus_config::{ConfigError, PipelineId, TelemetryConfig};
use stratus_core::{ComponentId, Signal};
use support::check;

/// One expected error: its path, its line in `config.yaml` (None when it has no
/// location), and its full message.
type Expected = (&'static str, Option<usize>, &'static str);

struct Case {
    name: &'static str,
    yaml: &'static str,
    errors: &'static [Expected],
}

const CASES: &[Case] = &[
    Case {
        name: "unknown top-level key, and what it hides",
        yaml: "\
recievers:
  otlp:
exporters:
  debug:
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
",
        errors: &[
            (
                "recievers",
                Some(1),
                "unknown top-level key `recievers`; did you mean `receivers`?",
            ),
            (
                "service::pipelines::traces::receivers::0",
                Some(7),
                "receiver `otlp` is not defined in `receivers`",
            ),
        ],
    },
    Case {
        name: "unknown top-level key with nothing close lists the valid ones",
        yaml: "\
receivers: {otlp: }
exporters: {debug: }
pipelines: {}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
",
        errors: &[(
            "pipelines",
            Some(3),
            "unknown top-level key `pipelines`; valid keys: receivers, processors, exporters, connectors, extensions, service",
        )],
    },
    Case {
        name: "unknown component types",
        yaml: "\
receivers:
  otlpp:
  kafka/x:
exporters:
  debug:
  logonly/a:
  logonli:
extensions:
  helth_check:
service:
  pipelines:
    traces: {receivers: [otlpp, kafka/x], exporters: [debug]}
",
        errors: &[
            (
                "exporters::logonli",
                Some(7),
                "unknown exporter type `logonli`; did you mean `logonly`?",
            ),
            (
                "extensions::helth_check",
                Some(9),
                "unknown extension type `helth_check`; did you mean `health_check`?",
            ),
            (
                "receivers::kafka/x",
                Some(3),
                "unknown receiver type `kafka`; known receiver types: otlp",
            ),
            (
                "receivers::otlpp",
                Some(2),
                "unknown receiver type `otlpp`; did you mean `otlp`?",
            ),
        ],
    },
    Case {
        name: "invalid component ids",
        yaml: "\
receivers:
  otlp:
exporters:
  \"debug/\": {}
  debug:
  \"/x\":
service:
  pipelines:
    logs: {receivers: [\"otlp/\"], exporters: [debug]}
",
        errors: &[
            (
                "exporters::/x",
                Some(6),
                "invalid component id `/x`: expected `type` or `type/name` with no spaces",
            ),
            (
                "exporters::debug/",
                Some(4),
                "invalid component id `debug/`: expected `type` or `type/name` with no spaces",
            ),
            (
                "service::pipelines::logs::receivers::0",
                Some(9),
                "invalid component id `otlp/`: expected `type` or `type/name` with no spaces",
            ),
        ],
    },
    Case {
        name: "component config problems carry the full path",
        yaml: "\
receivers:
  otlp:
    protocols:
      grpc:
        endpiont: 0.0.0.0:4317
  otlp/2:
    protocols:
      grpc:
        max_recv_msg_size_mib: abc
  otlp/3:
    protocols:
      http:
        endpoint: \"\"
processors:
  batch:
    send_batch_size: 0
exporters:
  debug:
    verbosity: detaild
  debug/2:
    color: true
service:
  pipelines:
    traces:
      receivers: [otlp, otlp/2, otlp/3]
      processors: [batch]
      exporters: [debug, debug/2]
",
        errors: &[
            (
                "exporters::debug/2::color",
                Some(21),
                "unknown key `color`; valid keys: verbosity",
            ),
            (
                "exporters::debug::verbosity",
                Some(19),
                "unknown value `detaild`; did you mean `detailed`?",
            ),
            (
                "processors::batch::send_batch_size",
                Some(16),
                "must be greater than 0",
            ),
            (
                "receivers::otlp/2::protocols::grpc::max_recv_msg_size_mib",
                Some(9),
                "invalid type: string \"abc\", expected u64",
            ),
            (
                "receivers::otlp/3::protocols::http::endpoint",
                Some(13),
                "must not be empty",
            ),
            (
                "receivers::otlp::protocols::grpc::endpiont",
                Some(5),
                "unknown key `endpiont`; did you mean `endpoint`?",
            ),
        ],
    },
    Case {
        name: "a bad duration keeps the core's message",
        yaml: "\
receivers: {otlp: }
processors:
  batch:
    timeout: 5 parsecs
exporters: {debug: }
service:
  pipelines:
    traces: {receivers: [otlp], processors: [batch], exporters: [debug]}
",
        errors: &[(
            "processors::batch::timeout",
            Some(4),
            "invalid duration `5 parsecs`: unknown unit ` parsecs` (use ns, us, ms, s, m, h)",
        )],
    },
    Case {
        name: "unknown connector type with a suggestion",
        yaml: "\
connectors:
  forwrd:
receivers:
  otlp:
exporters:
  debug:
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [forwrd, debug]}
    traces/2: {receivers: [forwrd], exporters: [debug]}
",
        errors: &[(
            "connectors::forwrd",
            Some(2),
            "unknown connector type `forwrd`; did you mean `forward`?",
        )],
    },
    Case {
        name: "connector config problems are under connectors",
        yaml: "\
connectors:
  forward:
    verbose: true
receivers: {otlp: }
exporters: {debug: }
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [forward]}
    traces/2: {receivers: [forward], exporters: [debug]}
",
        errors: &[(
            "connectors::forward::verbose",
            Some(3),
            "unknown key `verbose`; no keys are allowed here",
        )],
    },
    Case {
        name: "connector used on one side only",
        yaml: "\
connectors:
  forward:
  forward/back:
receivers: {otlp: }
exporters: {debug: }
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug, forward]}
    logs: {receivers: [forward/back], exporters: [debug]}
",
        errors: &[
            (
                "service::pipelines::logs::receivers::0",
                Some(9),
                "connector `forward/back` is used as a receiver but no pipeline lists it as an exporter; a connector must be both",
            ),
            (
                "service::pipelines::traces::exporters::1",
                Some(8),
                "connector `forward` is used as an exporter but no pipeline lists it as a receiver; a connector must be both",
            ),
        ],
    },
    Case {
        name: "connector route not supported",
        yaml: "\
connectors:
  count:
receivers: {otlp: }
exporters: {debug: }
service:
  pipelines:
    logs: {receivers: [otlp], exporters: [count]}
    traces: {receivers: [count], exporters: [debug]}
",
        errors: &[
            (
                "service::pipelines::logs::exporters::0",
                Some(7),
                "connector `count` cannot take logs here: no pipeline receiving from it has a signal it connects logs to (it connects traces to metrics)",
            ),
            (
                "service::pipelines::traces::receivers::0",
                Some(8),
                "connector `count` cannot feed traces here: no pipeline exporting to it has a signal it connects to traces (it connects traces to metrics)",
            ),
        ],
    },
    Case {
        name: "cycle through connectors",
        yaml: "\
connectors:
  forward:
  forward/back:
receivers: {otlp: }
exporters: {debug: }
service:
  pipelines:
    traces/a: {receivers: [otlp, forward/back], exporters: [forward]}
    traces/b: {receivers: [forward], exporters: [debug, forward/back]}
",
        errors: &[(
            "service::pipelines::traces/a",
            Some(8),
            "pipelines form a cycle through connectors: traces/a -> traces/b -> traces/a; data would loop forever",
        )],
    },
    Case {
        name: "connector id also defined as an exporter",
        yaml: "\
connectors:
  debug:
receivers: {otlp: }
exporters: {debug: }
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
",
        errors: &[
            (
                "connectors::debug",
                Some(2),
                "unknown connector type `debug`; known connector types: count, forward",
            ),
            (
                "connectors::debug",
                Some(2),
                "`debug` is defined in both `connectors` and `exporters`; a pipeline could not tell which one it lists: rename one of them",
            ),
        ],
    },
    Case {
        name: "missing service",
        yaml: "\
receivers:
  otlp:
",
        errors: &[(
            "service",
            None,
            "missing `service` section: define at least one pipeline under `service::pipelines`",
        )],
    },
    Case {
        name: "empty service",
        yaml: "\
receivers:
  otlp:
service:
",
        errors: &[(
            "service",
            Some(3),
            "missing `service` section: define at least one pipeline under `service::pipelines`",
        )],
    },
    Case {
        name: "service keys, extensions and no pipelines",
        yaml: "\
receivers: {otlp: }
service:
  pipeline:
    traces: {}
  extensions: [health_check/x, health_check, health_check]
extensions:
  health_check:
",
        errors: &[
            (
                "service::extensions::0",
                Some(5),
                "extension `health_check/x` is not defined in `extensions`; did you mean `health_check`?",
            ),
            (
                "service::extensions::2",
                Some(5),
                "`health_check` is listed more than once",
            ),
            (
                "service::pipeline",
                Some(3),
                "unknown key `pipeline`; did you mean `pipelines`?",
            ),
            (
                "service::pipelines",
                Some(2),
                "no pipelines defined: add at least one under `service::pipelines` (e.g. `traces: {receivers: [otlp], exporters: [debug]}`)",
            ),
        ],
    },
    Case {
        name: "empty pipelines mapping",
        yaml: "\
service:
  pipelines: {}
",
        errors: &[(
            "service::pipelines",
            Some(2),
            "no pipelines defined: add at least one under `service::pipelines` (e.g. `traces: {receivers: [otlp], exporters: [debug]}`)",
        )],
    },
    Case {
        name: "pipeline problems",
        yaml: "\
receivers:
  otlp:
processors:
  batch:
exporters:
  debug:
  logonly:
service:
  pipelines:
    trace:
      receivers: [otlp]
      exporters: [debug]
    metrics:
      receivers: []
      processor: [batch]
      exporters: [debug]
    logs/x:
      receivers: [otlp]
    traces/a:
      receivers: [otlp, otlp]
      processors: [bach, batch]
      exporters: [logonly, debg]
    logs/a b: {receivers: [otlp], exporters: [logonly]}
",
        errors: &[
            (
                "service::pipelines::logs/a b",
                Some(23),
                "invalid pipeline id `logs/a b`: expected `type` or `type/name` with no spaces",
            ),
            (
                "service::pipelines::logs/x",
                Some(17),
                "pipeline `logs/x` has no exporters; it needs at least one exporter",
            ),
            (
                "service::pipelines::metrics::processor",
                Some(15),
                "unknown key `processor`; did you mean `processors`?",
            ),
            (
                "service::pipelines::metrics::receivers",
                Some(14),
                "pipeline `metrics` has no receivers; it needs at least one receiver",
            ),
            (
                "service::pipelines::trace",
                Some(10),
                "unknown pipeline type `trace`; did you mean `traces`?",
            ),
            (
                "service::pipelines::traces/a::exporters::0",
                Some(22),
                "exporter `logonly` does not support traces (it supports logs)",
            ),
            (
                "service::pipelines::traces/a::exporters::1",
                Some(22),
                "exporter `debg` is not defined in `exporters`; did you mean `debug`?",
            ),
            (
                "service::pipelines::traces/a::processors::0",
                Some(21),
                "processor `bach` is not defined in `processors`; did you mean `batch`?",
            ),
            (
                "service::pipelines::traces/a::receivers::1",
                Some(20),
                "`otlp` is listed more than once",
            ),
        ],
    },
    Case {
        name: "unknown pipeline type with nothing close",
        yaml: "\
receivers: {otlp: }
exporters: {debug: }
service:
  pipelines:
    profiles: {receivers: [otlp], exporters: [debug]}
    traces: {receivers: [otlp], exporters: [debug]}
",
        errors: &[(
            "service::pipelines::profiles",
            Some(5),
            "unknown pipeline type `profiles`; valid types: traces, metrics, logs",
        )],
    },
    Case {
        name: "a pipeline with an empty body",
        yaml: "\
service:
  pipelines:
    logs:
",
        errors: &[
            (
                "service::pipelines::logs",
                Some(3),
                "pipeline `logs` has no exporters; it needs at least one exporter",
            ),
            (
                "service::pipelines::logs",
                Some(3),
                "pipeline `logs` has no receivers; it needs at least one receiver",
            ),
        ],
    },
    Case {
        name: "undefined ids with nothing close get no suggestion",
        yaml: "\
receivers: {otlp: }
exporters: {debug: }
service:
  pipelines:
    traces: {receivers: [zipkin], exporters: [awsxray]}
",
        errors: &[
            (
                "service::pipelines::traces::exporters::0",
                Some(5),
                "exporter `awsxray` is not defined in `exporters`",
            ),
            (
                "service::pipelines::traces::receivers::0",
                Some(5),
                "receiver `zipkin` is not defined in `receivers`",
            ),
        ],
    },
    Case {
        name: "telemetry",
        yaml: "\
receivers: {otlp: }
exporters: {debug: }
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
  telemetry:
    logs:
      level: verbose
      encoding: jsn
      format: x
    metrics:
      address: localhost
      level: detaild
    traces: {}
",
        errors: &[
            (
                "service::telemetry::logs::encoding",
                Some(9),
                "invalid log encoding `jsn`; did you mean `json`?",
            ),
            (
                "service::telemetry::logs::format",
                Some(10),
                "unknown key `format`; valid keys: level, encoding",
            ),
            (
                "service::telemetry::logs::level",
                Some(8),
                "invalid log level `verbose`; valid values: debug, info, warn, error",
            ),
            (
                "service::telemetry::metrics::address",
                Some(12),
                "invalid address `localhost`: expected `host:port` (e.g. `localhost:8888`), or \"\" to turn the metrics endpoint off",
            ),
            (
                "service::telemetry::metrics::level",
                Some(13),
                "invalid metrics level `detaild`; did you mean `detailed`?",
            ),
            (
                "service::telemetry::traces",
                Some(14),
                "unknown key `traces`; valid keys: logs, metrics",
            ),
        ],
    },
    Case {
        name: "telemetry value types",
        yaml: "\
receivers: {otlp: }
exporters: {debug: }
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
  telemetry:
    logs: [debug]
    metrics:
      address: 8888
      level: 3
",
        errors: &[
            (
                "service::telemetry::logs",
                Some(7),
                "expected a mapping, found a list",
            ),
            (
                "service::telemetry::metrics::address",
                Some(9),
                "expected an address `host:port` as a string, found a number",
            ),
            (
                "service::telemetry::metrics::level",
                Some(10),
                "expected one of none, basic, normal, detailed as a string, found a number",
            ),
        ],
    },
    Case {
        name: "wrong shapes",
        yaml: "\
receivers: [otlp]
exporters:
  debug:
service:
  pipelines:
    traces:
      receivers: otlp
      exporters: [debug, 5]
",
        errors: &[
            (
                "receivers",
                Some(1),
                "expected a mapping of component ids to their configs, found a list",
            ),
            (
                "service::pipelines::traces::exporters::1",
                Some(8),
                "expected a component id, found a number",
            ),
            (
                "service::pipelines::traces::receivers",
                Some(7),
                "expected a list of component ids (e.g. `[otlp, otlp/2]`), found a string",
            ),
        ],
    },
    Case {
        name: "service and pipeline bodies of the wrong type",
        yaml: "\
receivers: {otlp: }
exporters: {debug: }
service:
  pipelines:
    traces: [otlp, debug]
    logs: {receivers: [otlp], exporters: [debug]}
",
        errors: &[
            (
                "service::pipelines::traces",
                Some(5),
                "expected a mapping, found a list",
            ),
            (
                "service::pipelines::traces",
                Some(5),
                "pipeline `traces` has no exporters; it needs at least one exporter",
            ),
            (
                "service::pipelines::traces",
                Some(5),
                "pipeline `traces` has no receivers; it needs at least one receiver",
            ),
        ],
    },
];

fn summary(errors: &[ConfigError]) -> Vec<(String, Option<usize>, String)> {
    errors
        .iter()
        .map(|e| {
            (
                e.path.clone(),
                e.location.as_ref().map(|l| l.line),
                e.message.clone(),
            )
        })
        .collect()
}

#[test]
fn invalid_configs_report_every_problem() {
    let mut failures = Vec::new();
    for case in CASES {
        let got = match check(case.yaml) {
            Ok(v) => {
                failures.push(format!(
                    "{}: validated, warnings {:?}",
                    case.name, v.warnings
                ));
                continue;
            }
            Err(e) => e.0,
        };
        // Errors with the same path keep their discovery order; compare as sorted
        // lists so the table can be written in path order.
        let mut got = summary(&got);
        got.sort();
        let mut want: Vec<(String, Option<usize>, String)> = case
            .errors
            .iter()
            .map(|(p, l, m)| (p.to_string(), *l, m.to_string()))
            .collect();
        want.sort();
        if got != want {
            failures.push(format!(
                "{}:\n  got:  {got:#?}\n  want: {want:#?}",
                case.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn errors_are_sorted_by_path_and_display_with_location() {
    let err = check(CASES[2].yaml).unwrap_err();
    let paths: Vec<&str> = err.0.iter().map(|e| e.path.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    let text = err.to_string();
    assert_eq!(text.lines().count(), 4);
    assert_eq!(
        text.lines().last().unwrap(),
        "config.yaml:2:3: receivers::otlpp: unknown receiver type `otlpp`; did you mean `otlp`?"
    );
    let missing = check("receivers: {otlp: }\n").unwrap_err();
    assert_eq!(
        missing.to_string(),
        "service: missing `service` section: define at least one pipeline under `service::pipelines`"
    );
}

const FULL: &str = "\
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
      http:
processors:
  batch:
    timeout: 1s
exporters:
  debug:
    verbosity: detailed
  logonly:
extensions:
  health_check:
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
    logs/audit:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug, logonly]
  telemetry:
    logs: {level: DEBUG, encoding: json}
    metrics: {address: \"[::1]:9999\", level: detailed}
";

#[test]
fn a_full_valid_config() {
    let v = check(FULL).unwrap();
    assert!(v.warnings.is_empty(), "{:?}", v.warnings);
    let c = &v.config;
    assert_eq!(
        c.receivers[&ComponentId::new("otlp")],
        json!({"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": null}})
    );
    assert_eq!(
        c.processors[&ComponentId::new("batch")],
        json!({"timeout": "1s"})
    );
    assert_eq!(
        c.exporters[&ComponentId::new("logonly")],
        serde_json::Value::Null
    );
    assert_eq!(c.extensions.len(), 1);
    assert!(c.connectors.is_empty());
    assert_eq!(c.service.extensions, vec![ComponentId::new("health_check")]);
    let ids: Vec<String> = c
        .service
        .pipelines
        .keys()
        .map(ToString::to_string)
        .collect();
    assert_eq!(ids, vec!["traces", "logs/audit"]);
    let audit = &c.service.pipelines[&PipelineId::with_name(Signal::Logs, "audit")];
    assert_eq!(audit.receivers, vec![ComponentId::new("otlp")]);
    assert_eq!(audit.processors, vec![ComponentId::new("batch")]);
    assert_eq!(
        audit.exporters,
        vec![ComponentId::new("debug"), ComponentId::new("logonly")]
    );
    let t = &c.service.telemetry;
    assert_eq!(t.logs.level, "debug");
    assert_eq!(t.logs.encoding, "json");
    assert_eq!(t.metrics.address, "[::1]:9999");
    assert_eq!(t.metrics.level, "detailed");
    assert!(t.metrics.enabled());
}

#[test]
fn minimal_config_gets_telemetry_defaults() {
    let v = check(
        "receivers: {otlp: }\nexporters: {debug: }\nservice:\n  pipelines:\n    metrics: {receivers: [otlp], exporters: [debug]}\n",
    )
    .unwrap();
    assert!(v.warnings.is_empty());
    let t = &v.config.service.telemetry;
    assert_eq!(t, &TelemetryConfig::default());
    assert_eq!(t.logs.level, "info");
    assert_eq!(t.logs.encoding, "console");
    assert_eq!(t.metrics.address, "localhost:8888");
    assert_eq!(t.metrics.level, "normal");
    assert!(t.metrics.enabled());
    assert!(v.config.service.extensions.is_empty());
}

#[test]
fn metrics_endpoint_can_be_turned_off() {
    let base = "receivers: {otlp: }\nexporters: {debug: }\nservice:\n  pipelines:\n    logs: {receivers: [otlp], exporters: [debug]}\n  telemetry:\n";
    let off = check(&format!("{base}    metrics: {{address: \"\"}}\n")).unwrap();
    assert_eq!(off.config.service.telemetry.metrics.address, "");
    assert!(!off.config.service.telemetry.metrics.enabled());
    let none = check(&format!("{base}    metrics: {{level: none}}\n")).unwrap();
    assert!(!none.config.service.telemetry.metrics.enabled());
    let any_host = check(&format!("{base}    metrics: {{address: \":8888\"}}\n")).unwrap();
    assert_eq!(any_host.config.service.telemetry.metrics.address, ":8888");
}

#[test]
fn unused_components_are_warnings_not_errors() {
    let v = check(
        "\
receivers:
  otlp:
  otlp/unused:
processors:
  batch:
exporters:
  debug:
  debug/spare:
extensions:
  health_check:
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
",
    )
    .unwrap();
    let got = summary(&v.warnings);
    assert_eq!(
        got,
        vec![
            (
                "exporters::debug/spare".to_string(),
                Some(8),
                "exporter `debug/spare` is defined but not used in any pipeline".to_string()
            ),
            (
                "extensions::health_check".to_string(),
                Some(10),
                "extension `health_check` is defined but not enabled in `service::extensions`"
                    .to_string()
            ),
            (
                "processors::batch".to_string(),
                Some(5),
                "processor `batch` is defined but not used in any pipeline".to_string()
            ),
            (
                "receivers::otlp/unused".to_string(),
                Some(3),
                "receiver `otlp/unused` is defined but not used in any pipeline".to_string()
            ),
        ]
    );
    // Unused components still reach the config (the pipeline builder skips them).
    assert_eq!(v.config.receivers.len(), 2);
}

#[test]
fn the_same_processor_may_serve_several_pipelines() {
    let v = check(
        "\
receivers: {otlp: }
processors: {batch: }
exporters: {debug: }
service:
  pipelines:
    traces: {receivers: [otlp], processors: [batch], exporters: [debug]}
    metrics: {receivers: [otlp], processors: [batch], exporters: [debug]}
    logs: {receivers: [otlp], processors: [batch], exporters: [debug]}
",
    )
    .unwrap();
    assert_eq!(v.config.service.pipelines.len(), 3);
    assert!(v.warnings.is_empty());
}

#[test]
fn every_problem_at_once_across_sections() {
    // One config with a problem in every part: all are reported together.
    let err = check(
        "\
receivers:
  otlp:
    protocols: {grpc: {endpoint: \"\"}}
processors:
  nope:
exporters:
  debug:
    verbosity: loud
extensions:
  health_check:
    port: 1
service:
  extensions: [health]
  pipelines:
    traces: {receivers: [otlp], processors: [nope], exporters: [debug]}
  telemetry: {logs: {level: loud}}
",
    )
    .unwrap_err();
    let paths: Vec<&str> = err.0.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "exporters::debug::verbosity",
            "extensions::health_check::port",
            "processors::nope",
            "receivers::otlp::protocols::grpc::endpoint",
            "service::extensions::0",
            "service::telemetry::logs::level",
        ]
    );
    assert_eq!(
        err.0[1].message,
        "unknown key `port`; valid keys: endpoint, path, token"
    );
    assert_eq!(
        err.0[4].message,
        "extension `health` is not defined in `extensions`; did you mean `health_check`?"
    );
}

#[test]
fn secret_values_stay_out_of_messages() {
    let err = check(
        "\
receivers: {otlp: }
exporters: {debug: }
extensions:
  health_check:
    token: 918273645
service:
  extensions: [health_check]
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "config.yaml:5:5: extensions::health_check::token: invalid type: integer, expected a string"
    );
}

#[test]
fn connectors_join_pipelines_of_supported_signals() {
    let v = check(
        "\
connectors:
  forward:
  count:
receivers: {otlp: }
exporters: {debug: }
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [forward, count]}
    logs: {receivers: [otlp], exporters: [forward]}
    traces/out: {receivers: [forward], exporters: [debug]}
    logs/out: {receivers: [forward], exporters: [debug]}
    metrics: {receivers: [count], exporters: [debug]}
",
    )
    .unwrap();
    assert!(v.warnings.is_empty(), "{:?}", v.warnings);
    let c = v.config;
    assert_eq!(c.connectors.len(), 2);
    let metrics = &c.service.pipelines[&PipelineId::new(Signal::Metrics)];
    assert_eq!(metrics.receivers, vec![ComponentId::new("count")]);
}
