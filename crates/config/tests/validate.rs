//! Table-driven validation tests: whole configs in, every expected error out, with
//! its path, line and message.

mod support;

use serde_json::json;
use stratus_config::{
    ConfigError, LogBatch, LogOutput, LogSampling, MetricReader, PipelineId, PrometheusReader,
    TelemetryConfig,
};
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
    events: {receivers: [otlp], exporters: [debug]}
    traces: {receivers: [otlp], exporters: [debug]}
",
        errors: &[(
            "service::pipelines::events",
            Some(5),
            "unknown pipeline type `events`; valid types: traces, metrics, logs",
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
    tracez: {}
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
                "unknown key `format`; valid keys: level, development, encoding, disable_caller, disable_stacktrace, sampling, output_paths, error_output_paths, initial_fields, processors, disable_zap_resource",
            ),
            (
                "service::telemetry::logs::level",
                Some(8),
                "invalid log level `verbose`; valid values: debug, info, warn, error",
            ),
            (
                "service::telemetry::metrics::address",
                Some(12),
                "invalid address: `localhost` has no port: expected `host:port` (e.g. `localhost:8080`), or `:port` for every interface; or \"\" to turn the metrics endpoint off",
            ),
            (
                "service::telemetry::metrics::level",
                Some(13),
                "invalid metrics level `detaild`; did you mean `detailed`?",
            ),
            (
                "service::telemetry::tracez",
                Some(14),
                "unknown key `tracez`; did you mean `traces`?",
            ),
        ],
    },
    Case {
        name: "telemetry logs keys",
        yaml: "\
receivers: {otlp: }
exporters: {debug: }
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
  telemetry:
    logs:
      development: yes
      sampling: {enabled: true, tick: 0s, initial: -1, thereafter: x}
      output_paths: [stdout, \"\", \"s3://bucket/x\", \"file://relative\"]
      error_output_paths: stderr
      initial_fields: {a: 1, b: [1]}
",
        errors: &[
            (
                "service::telemetry::logs::development",
                Some(8),
                "expected true or false, found a string",
            ),
            (
                "service::telemetry::logs::sampling::tick",
                Some(9),
                "must be greater than 0",
            ),
            (
                "service::telemetry::logs::sampling::initial",
                Some(9),
                "expected a whole number of 0 or more, found a number `-1`",
            ),
            (
                "service::telemetry::logs::sampling::thereafter",
                Some(9),
                "expected a whole number of 0 or more, found a string `x`",
            ),
            (
                "service::telemetry::logs::output_paths::1",
                Some(10),
                "must not be empty: `stdout`, `stderr` or a file path",
            ),
            (
                "service::telemetry::logs::output_paths::2",
                Some(10),
                "`s3://` outputs are not supported: use `stdout`, `stderr`, a file path or a `file://` URL",
            ),
            (
                "service::telemetry::logs::output_paths::3",
                Some(10),
                "`file://relative`: a `file://` URL needs an absolute path (`file:///var/log/stratus.log`)",
            ),
            (
                "service::telemetry::logs::error_output_paths",
                Some(11),
                "expected a list, found a string",
            ),
            (
                "service::telemetry::logs::initial_fields::b",
                Some(12),
                "expected a string, number or bool, found a list",
            ),
        ],
    },
    Case {
        name: "telemetry log processors",
        yaml: "\
receivers: {otlp: }
exporters: {debug: }
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
  telemetry:
    logs:
      processors:
        - batch:
            max_queue_size: 10
            max_export_batch_size: 20
            exporter:
              otlp: {endpoint: \"http://127.0.0.1:4317\"}
        - simple:
            exporter:
              console: {}
        - simple: {exporter: {otlp: {protocol: grpc/json, endpoint: x}}}
        - batch: {}
          simple: {}
        - simple: {exporter: {otlp_http: {endpoint: \"http://:4318\", encoding: xml, tls: {insecure: true}}}}
        - simple: {}
",
        errors: &[
            (
                "service::telemetry::logs::processors::0::batch::max_export_batch_size",
                Some(11),
                "must not exceed `max_queue_size` (10): a batch is taken from the queue",
            ),
            (
                "service::telemetry::logs::processors::0::batch::exporter::otlp",
                Some(13),
                "missing required key `protocol`: `grpc`, `http/protobuf` or `http/json`",
            ),
            (
                "service::telemetry::logs::processors::1::simple::exporter::console",
                Some(16),
                "the console exporter is not supported by stratus: use `otlp`, or the logs' own `output_paths`",
            ),
            (
                "service::telemetry::logs::processors::2::simple::exporter::otlp::protocol",
                Some(17),
                "invalid protocol `grpc/json`; did you mean `grpc`?",
            ),
            (
                "service::telemetry::logs::processors::3",
                Some(18),
                "a processor is either `batch` or `simple`, not both: list them as two processors",
            ),
            (
                "service::telemetry::logs::processors::4::simple::exporter::otlp_http::encoding",
                Some(20),
                "invalid encoding `xml`; valid values: protobuf, json",
            ),
            (
                "service::telemetry::logs::processors::4::simple::exporter::otlp_http::tls::insecure",
                Some(20),
                "unknown key `insecure`; valid keys: ca_file, cert_file, key_file",
            ),
            (
                "service::telemetry::logs::processors::4::simple::exporter::otlp_http::endpoint",
                Some(20),
                "`http://:4318/v1/logs` has no host",
            ),
            (
                "service::telemetry::logs::processors::5::simple",
                Some(21),
                "missing required key `exporter` (e.g. `exporter: {otlp: {protocol: grpc, endpoint: http://localhost:4317}}`)",
            ),
        ],
    },
    Case {
        name: "telemetry metric readers",
        yaml: "\
receivers: {otlp: }
exporters: {debug: }
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
  telemetry:
    metrics:
      views: [{selector: {}}]
      exemplar_filter: always_on
      readers:
        - pull:
            exporter:
              prometheus: {host: \"a b\", port: 70000, without_units: false, translation_strategy: UnderscoreEscapingWithSuffixes}
        - pull: {exporter: {prometheus: {host: \"[::1\", without_type_suffix: 1}}}
        - periodic:
            interval: 0
            timeout: soon
            exporter:
              otlp: {protocol: http/protobuf, endpoint: \"https://\", temporality_preference: delta, headers: [{name: \"bad name\", value: v}]}
        - pull: {}
          periodic: {}
        - push: {}
        - periodic: {exporter: {otlp_grpc: {}, otlp_http: {}}}
        - pull: {exporter: {}, producers: [{opencensus: {}}]}
",
        errors: &[
            (
                "service::telemetry::metrics::views",
                Some(8),
                "metric views are not supported by stratus: its internal metrics have fixed names and labels; remove `views`",
            ),
            (
                "service::telemetry::metrics::exemplar_filter",
                Some(9),
                "stratus's internal metrics record no exemplars; use `always_off` or `trace_based` (stratus has no internal traces, so it records none either)",
            ),
            (
                "service::telemetry::metrics::readers::0::pull::exporter::prometheus::port",
                Some(13),
                "expected a port number from 0 to 65535, found a number `70000`",
            ),
            (
                "service::telemetry::metrics::readers::0::pull::exporter::prometheus::host",
                Some(13),
                "`a b` is not a valid host: ` ` is not allowed in a host name (letters, digits, `-`, `_` and `.`)",
            ),
            (
                "service::telemetry::metrics::readers::0::pull::exporter::prometheus::without_units",
                Some(13),
                "stratus's internal metrics carry no units, so it cannot add unit suffixes: remove `without_units` or set it to `true`",
            ),
            (
                "service::telemetry::metrics::readers::0::pull::exporter::prometheus::translation_strategy",
                Some(13),
                "`UnderscoreEscapingWithSuffixes` adds unit suffixes, and stratus's internal metrics carry no units: use `UnderscoreEscapingWithoutSuffixes`",
            ),
            (
                "service::telemetry::metrics::readers::1::pull::exporter::prometheus::host",
                Some(14),
                "`[::1` is not a valid host: `[` is not allowed in a host name (letters, digits, `-`, `_` and `.`)",
            ),
            (
                "service::telemetry::metrics::readers::1::pull::exporter::prometheus::without_type_suffix",
                Some(14),
                "expected true or false, found a number",
            ),
            (
                "service::telemetry::metrics::readers::2::periodic::interval",
                Some(16),
                "must be greater than 0",
            ),
            (
                "service::telemetry::metrics::readers::2::periodic::timeout",
                Some(17),
                "invalid duration `soon`: expected e.g. `200ms`, `5s`, `1m30s`",
            ),
            (
                "service::telemetry::metrics::readers::2::periodic::exporter::otlp::temporality_preference",
                Some(19),
                "stratus pushes its internal metrics as cumulative totals only; `delta` is not supported: use `cumulative`",
            ),
            (
                "service::telemetry::metrics::readers::2::periodic::exporter::otlp::endpoint",
                Some(19),
                "`https:///v1/metrics` has no host",
            ),
            (
                "service::telemetry::metrics::readers::2::periodic::exporter::otlp::headers",
                Some(19),
                "header `bad name` is not a valid header name",
            ),
            (
                "service::telemetry::metrics::readers::3",
                Some(20),
                "a reader is either `pull` or `periodic`, not both: list them as two readers",
            ),
            (
                "service::telemetry::metrics::readers::4::push",
                Some(22),
                "unknown key `push`; valid keys: pull, periodic",
            ),
            (
                "service::telemetry::metrics::readers::5::periodic::exporter",
                Some(23),
                "give exactly one exporter (`otlp`, `otlp_grpc` or `otlp_http`): list several readers or processors to send to several places",
            ),
            (
                "service::telemetry::metrics::readers::6::pull::exporter",
                Some(24),
                "expected `prometheus: {host: ..., port: ...}`: the only pull exporter",
            ),
            (
                "service::telemetry::metrics::readers::6::pull::producers",
                Some(24),
                "metric producers (OpenCensus) are not supported by stratus; remove `producers`",
            ),
        ],
    },
    Case {
        name: "telemetry with no metric reader",
        yaml: "\
receivers: {otlp: }
exporters: {debug: }
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
  telemetry:
    metrics:
      readers: []
",
        errors: &[
            (
                "service::telemetry::metrics::readers",
                Some(8),
                "no metric reader while `level` is `normal`: add a reader, or set `level: none` to turn internal metrics off",
            ),
        ],
    },
    Case {
        name: "telemetry resource and traces",
        yaml: "\
receivers: {otlp: }
exporters: {debug: }
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
  telemetry:
    resource:
      service.name: my-gw
      attributes: [{name: a, value: 1, type: bool}, {value: x}]
      attributes_list: \"a=b\"
      detection/development: {detectors: [{host: }]}
      deployment.environment: 3
    traces:
      level: verbose
      exporters: []
",
        errors: &[
            (
                "service::telemetry::resource::attributes",
                Some(9),
                "`attributes` cannot be used together with attributes written directly under `resource` (the legacy map form): choose one form",
            ),
            (
                "service::telemetry::resource::attributes::0::value",
                Some(9),
                "expected a value of type `bool`, found a number `1`",
            ),
            (
                "service::telemetry::resource::attributes::1",
                Some(9),
                "missing required key `name`",
            ),
            (
                "service::telemetry::resource::attributes_list",
                Some(10),
                "`attributes_list` is not supported (nor by the collector): use `attributes`",
            ),
            (
                "service::telemetry::resource::detection/development",
                Some(11),
                "resource detection is not supported for stratus's own telemetry: set the attributes you need (environment references like `${env:HOSTNAME}` work)",
            ),
            (
                "service::telemetry::resource::deployment.environment",
                Some(12),
                "a resource attribute in the map form is a string (or null to remove a default one), found a number; use `attributes: [{name, value, type}]` for other types",
            ),
            (
                "service::telemetry::traces::level",
                Some(14),
                "invalid traces level `verbose`; valid values: none, basic, normal, detailed",
            ),
            (
                "service::telemetry::traces::exporters",
                Some(15),
                "unknown key `exporters`; valid keys: level, propagators, processors, sampler, limits",
            ),
        ],
    },
    Case {
        name: "telemetry value checks",
        yaml: "\
receivers: {otlp: }
exporters: {debug: }
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
  telemetry:
    logs:
      processors:
        - batch:
            max_queue_size: 0
            export_timeout: [1]
            exporter:
              otlp: {protocol: grpc, encoding: json, compression: lz4, headers_list: \"novalue\", insecure: \"yes\", temporality_preference: delta}
    metrics:
      exemplar_filter: sometimes
      readers:
        - pull: {exporter: {prometheus: {without_target_info: 1, with_resource_constant_labels: {included: service.name}}}}
        - periodic:
            interval: 5 minutes
            exporter:
              otlp_grpc: {endpoint: \"http://x:4317\", tls: {cert_file: /c.pem}, default_histogram_aggregation: base2_exponential_bucket_histogram}
    resource:
      schema_url: 1
",
        errors: &[
            (
                "service::telemetry::logs::processors::0::batch::max_queue_size",
                Some(10),
                "must be greater than 0",
            ),
            (
                "service::telemetry::logs::processors::0::batch::export_timeout",
                Some(11),
                "expected milliseconds (e.g. `60000`) or a duration (e.g. `60s`), found a list",
            ),
            (
                "service::telemetry::logs::processors::0::batch::exporter::otlp::encoding",
                Some(13),
                "unknown key `encoding`; valid keys: endpoint, headers, headers_list, timeout, compression, protocol, insecure, certificate, client_certificate, client_key",
            ),
            (
                "service::telemetry::logs::processors::0::batch::exporter::otlp::temporality_preference",
                Some(13),
                "unknown key `temporality_preference`; valid keys: endpoint, headers, headers_list, timeout, compression, protocol, insecure, certificate, client_certificate, client_key",
            ),
            (
                "service::telemetry::logs::processors::0::batch::exporter::otlp::compression",
                Some(13),
                "invalid compression `lz4`; valid values: none, gzip, zstd",
            ),
            (
                "service::telemetry::logs::processors::0::batch::exporter::otlp::headers_list",
                Some(13),
                "expected comma-separated `name=value` pairs",
            ),
            (
                "service::telemetry::logs::processors::0::batch::exporter::otlp::insecure",
                Some(13),
                "expected true or false, found a string",
            ),
            (
                "service::telemetry::metrics::exemplar_filter",
                Some(15),
                "invalid exemplar filter `sometimes`; valid values: always_off, always_on, trace_based",
            ),
            (
                "service::telemetry::metrics::readers::0::pull::exporter::prometheus::without_target_info",
                Some(17),
                "expected true or false, found a number",
            ),
            (
                "service::telemetry::metrics::readers::0::pull::exporter::prometheus::with_resource_constant_labels::included",
                Some(17),
                "expected a list, found a string",
            ),
            (
                "service::telemetry::metrics::readers::1::periodic::interval",
                Some(19),
                "invalid duration `5 minutes`: unknown unit ` minutes` (use ns, us, ms, s, m, h)",
            ),
            (
                "service::telemetry::metrics::readers::1::periodic::exporter::otlp_grpc::default_histogram_aggregation",
                Some(21),
                "stratus's internal histograms have explicit buckets only: use `explicit_bucket_histogram`",
            ),
            (
                "service::telemetry::metrics::readers::1::periodic::exporter::otlp_grpc::tls",
                Some(21),
                "tls::key_file: must be set when cert_file is set (the client certificate needs its key)",
            ),
            (
                "service::telemetry::resource::schema_url",
                Some(23),
                "expected a string, found a number",
            ),
        ],
    },
    Case {
        name: "metrics endpoints sharing a port",
        yaml: "\
receivers: {otlp: }
exporters: {debug: }
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
  telemetry:
    metrics:
      address: localhost:9999
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: 9999}}}
        - pull: {exporter: {prometheus: {host: \"\", port: 9999}}}
        - pull: {exporter: {prometheus: {host: 127.0.0.2, port: 9999}}}
",
        errors: &[
            (
                "service::telemetry::metrics::readers::1",
                Some(11),
                "`:9999` shares its port with reader 0 (`127.0.0.1:9999`): two metrics endpoints cannot listen on one port",
            ),
            (
                "service::telemetry::metrics::readers::2",
                Some(12),
                "`127.0.0.2:9999` shares its port with reader 1 (`:9999`): two metrics endpoints cannot listen on one port",
            ),
            (
                "service::telemetry::metrics::address",
                Some(8),
                "`localhost:9999` shares its port with reader 1 (`:9999`): two metrics endpoints cannot listen on one port",
            ),
        ],
    },
    Case {
        name: "profiles pipelines",
        yaml: "\
receivers: {otlp: }
exporters: {debug: }
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
    profiles: {receivers: [otlp], exporters: [debug]}
    profiles/x: {receivers: [otlp], exporters: [debug]}
",
        errors: &[
            (
                "service::pipelines::profiles",
                Some(6),
                "the OTLP profiles signal is not supported by stratus yet: remove this pipeline (stratus carries traces, metrics and logs)",
            ),
            (
                "service::pipelines::profiles/x",
                Some(7),
                "the OTLP profiles signal is not supported by stratus yet: remove this pipeline (stratus carries traces, metrics and logs)",
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
    assert_eq!(
        summary(&v.warnings),
        vec![(
            "service::telemetry::metrics::address".to_string(),
            Some(29),
            "`address` is deprecated (the collector removed it): use `readers: [{pull: {exporter: {prometheus: {host: ..., port: ...}}}}]`".to_string()
        )]
    );
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
    assert_eq!(
        t.metrics.readers,
        vec![MetricReader::Pull(PrometheusReader {
            endpoint: "[::1]:9999".parse().unwrap(),
            ..PrometheusReader::default()
        })]
    );
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
    assert_eq!(
        t.metrics.readers,
        vec![MetricReader::Pull(PrometheusReader::default())]
    );
    let MetricReader::Pull(default) = &t.metrics.readers[0] else {
        unreachable!()
    };
    assert_eq!(default.endpoint.to_string(), "localhost:8888");
    assert!(default.without_scope_info && default.without_type_suffix);
    assert!(!default.without_target_info);
    assert_eq!(t.logs.sampling, Some(LogSampling::default()));
    assert_eq!(t.logs.output_paths, vec![LogOutput::Stderr]);
    assert!(!t.traces.requested);
    assert_eq!(t.metrics.level, "normal");
    assert!(t.metrics.enabled());
    assert!(v.config.service.extensions.is_empty());
}

#[test]
fn metrics_endpoint_can_be_turned_off() {
    let base = "receivers: {otlp: }\nexporters: {debug: }\nservice:\n  pipelines:\n    logs: {receivers: [otlp], exporters: [debug]}\n  telemetry:\n";
    let off = check(&format!("{base}    metrics: {{address: \"\"}}\n")).unwrap();
    assert!(off.config.service.telemetry.metrics.readers.is_empty());
    assert!(!off.config.service.telemetry.metrics.enabled());
    let none = check(&format!("{base}    metrics: {{level: none}}\n")).unwrap();
    assert!(!none.config.service.telemetry.metrics.enabled());
    let none_empty = check(&format!(
        "{base}    metrics: {{level: none, readers: []}}\n"
    ))
    .unwrap();
    assert!(!none_empty.config.service.telemetry.metrics.enabled());
    let any_host = check(&format!("{base}    metrics: {{address: \":8888\"}}\n")).unwrap();
    let MetricReader::Pull(p) = &any_host.config.service.telemetry.metrics.readers[0] else {
        panic!("not a pull reader")
    };
    assert_eq!(p.endpoint.host(), &stratus_core::endpoint::Host::Any);
}

#[test]
fn authenticators_must_be_defined_and_enabled_extensions() {
    let base = "receivers:\n  authed: {auth: {authenticator: bearertokenauth/in}}\n\
                exporters: {debug: }\n";
    let pipelines = "  pipelines:\n    traces: {receivers: [authed], exporters: [debug]}\n";
    let ok = format!(
        "{base}extensions: {{bearertokenauth/in: }}\nservice:\n  extensions: [bearertokenauth/in]\n{pipelines}"
    );
    support::check_with_auth(&ok).unwrap();

    let undefined = format!(
        "{base}extensions: {{bearertokenauth/inn: }}\nservice:\n  extensions: [bearertokenauth/inn]\n{pipelines}"
    );
    let errors = support::check_with_auth(&undefined).unwrap_err().0;
    let got = summary(&errors);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "receivers::authed::auth::authenticator");
    assert!(
        got[0]
            .2
            .contains("extension `bearertokenauth/in` is not defined in `extensions`")
            && got[0].2.contains("did you mean `bearertokenauth/inn`"),
        "{got:?}"
    );

    let not_enabled = format!("{base}extensions: {{bearertokenauth/in: }}\nservice:\n{pipelines}");
    let errors = support::check_with_auth(&not_enabled).unwrap_err().0;
    let got = summary(&errors);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0]
            .2
            .contains("not enabled: add it to `service::extensions`"),
        "{got:?}"
    );
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

const TELEMETRY_BASE: &str = "receivers: {otlp: }\nexporters: {debug: }\nservice:\n  pipelines:\n    logs: {receivers: [otlp], exporters: [debug]}\n  telemetry:\n";

#[test]
fn metric_readers_of_every_form() {
    let v = check(&format!(
        "{TELEMETRY_BASE}{}",
        r#"    metrics:
      level: basic
      address: ":8888"
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: 9464
                without_scope_info: false
                without_type_suffix: false
                without_units: true
                with_resource_constant_labels: {included: ["service.*"], excluded: [service.instance.id]}
        - pull: {exporter: {prometheus/development: {host: "::1", translation_strategy: NoTranslation, without_target_info: true}}}
        - periodic:
            interval: 10000
            timeout: 5s
            exporter:
              otlp:
                protocol: grpc
                endpoint: collector:4317
                insecure: true
                headers: [{name: x-tenant, value: eu}, {name: dropped, value: null}]
                headers_list: "a=1,x-tenant=ignored"
                timeout: 2500
                temporality_preference: cumulative
        - periodic:
            exporter:
              otlp_http:
                endpoint: https://gw.example/custom/path
                encoding: json
                compression: gzip
                tls: {ca_file: /etc/ca.pem}
"#
    ))
    .unwrap();
    let m = &v.config.service.telemetry.metrics;
    assert_eq!(m.level, "basic");
    assert!(m.enabled());
    assert_eq!(m.readers.len(), 5, "{:?}", m.readers);
    let MetricReader::Pull(p) = &m.readers[0] else {
        panic!("{:?}", m.readers[0])
    };
    assert_eq!(p.endpoint.to_string(), "127.0.0.1:9464");
    assert!(!p.without_scope_info && !p.without_type_suffix && !p.without_target_info);
    let labels = p.resource_constant_labels.as_ref().unwrap();
    assert!(labels.matches("service.name") && !labels.matches("service.instance.id"));
    let MetricReader::Pull(p) = &m.readers[1] else {
        panic!()
    };
    assert_eq!(p.endpoint.to_string(), "[::1]:8888");
    assert!(p.without_target_info);
    let MetricReader::Periodic(grpc) = &m.readers[2] else {
        panic!()
    };
    assert_eq!(grpc.interval, std::time::Duration::from_secs(10));
    assert_eq!(grpc.timeout, std::time::Duration::from_secs(5));
    assert_eq!(grpc.exporter.exporter_type, "otlp");
    assert_eq!(grpc.exporter.endpoint, "http://collector:4317");
    assert_eq!(
        grpc.exporter.config,
        json!({
            "endpoint": "http://collector:4317",
            "tls": {"insecure": true},
            "headers": {"x-tenant": "eu", "a": "1"},
            "compression": "none",
            "timeout": "2500ms",
            "retry_on_failure": {"enabled": false},
            "sending_queue": {"enabled": false},
        })
    );
    // Header values are secrets: not in Debug output.
    assert!(!format!("{grpc:?}").contains("eu"));
    let MetricReader::Periodic(http) = &m.readers[3] else {
        panic!()
    };
    assert_eq!(http.interval, stratus_config::DEFAULT_PERIODIC_INTERVAL);
    assert_eq!(http.timeout, stratus_config::DEFAULT_PERIODIC_TIMEOUT);
    assert_eq!(
        http.exporter.config,
        json!({
            "metrics_endpoint": "https://gw.example/custom/path",
            "encoding": "json",
            "tls": {"ca_file": "/etc/ca.pem"},
            "compression": "gzip",
            "timeout": "10000ms",
            "retry_on_failure": {"enabled": false},
            "sending_queue": {"enabled": false},
        })
    );
    // The deprecated address is one more reader, after `readers`, with a hint.
    let MetricReader::Pull(addr) = &m.readers[4] else {
        panic!()
    };
    assert_eq!(addr.endpoint.to_string(), ":8888");
    assert_eq!(
        summary(&v.warnings),
        vec![(
            "service::telemetry::metrics::address".to_string(),
            Some(9),
            "`address` is deprecated (the collector removed it): use `readers: [{pull: {exporter: {prometheus: {host: ..., port: ...}}}}]`".to_string()
        )]
    );
}

#[test]
fn logs_keys_resource_and_traces() {
    let v = check(&format!(
        "{TELEMETRY_BASE}{}",
        r#"    logs:
      level: DEBUG
      encoding: json
      development: true
      disable_caller: true
      disable_stacktrace: true
      disable_zap_resource: true
      sampling: {enabled: false}
      output_paths: [stdout, /tmp/stratus.log, "file:///var/log/stratus.log"]
      error_output_paths: [stderr]
      initial_fields: {region: eu, shard: 3}
      processors:
        - batch:
            schedule_delay: 200
            max_export_batch_size: 64
            exporter:
              otlp: {protocol: http/protobuf, endpoint: "localhost:4318", insecure: true}
        - simple:
            exporter:
              otlp_grpc: {endpoint: "https://logs.example:4317", tls: {cert_file: /c.pem, key_file: /k.pem}}
    resource:
      service.name: edge-gw
      service.instance.id: null
    traces:
      processors:
        - batch: {exporter: {otlp: {protocol: grpc, endpoint: "http://x:4317"}}}
"#
    ))
    .unwrap();
    assert!(v.warnings.is_empty(), "{:?}", v.warnings);
    let t = &v.config.service.telemetry;
    let logs = &t.logs;
    assert_eq!(
        (logs.level.as_str(), logs.encoding.as_str()),
        ("debug", "json")
    );
    assert!(logs.development && logs.disable_caller && logs.disable_stacktrace);
    assert!(logs.disable_zap_resource);
    assert_eq!(logs.sampling, None);
    assert_eq!(
        logs.output_paths,
        vec![
            LogOutput::Stdout,
            LogOutput::File("/tmp/stratus.log".into()),
            LogOutput::File("/var/log/stratus.log".into())
        ]
    );
    assert_eq!(logs.initial_fields["region"], json!("eu"));
    assert_eq!(logs.initial_fields["shard"], json!(3));
    assert_eq!(logs.processors.len(), 2);
    let batch = &logs.processors[0];
    assert_eq!(
        batch.batch,
        Some(LogBatch {
            schedule_delay: std::time::Duration::from_millis(200),
            max_export_batch_size: 64,
            ..LogBatch::default()
        })
    );
    assert_eq!(batch.exporter.exporter_type, "otlphttp");
    assert_eq!(
        batch.exporter.config["logs_endpoint"],
        json!("http://localhost:4318/v1/logs")
    );
    let simple = &logs.processors[1];
    assert_eq!(simple.batch, None);
    assert_eq!(simple.exporter.exporter_type, "otlp");
    assert_eq!(
        simple.exporter.config["tls"],
        json!({"cert_file": "/c.pem", "key_file": "/k.pem"})
    );
    assert_eq!(
        t.resource.attributes,
        [
            ("service.instance.id".to_string(), None),
            ("service.name".to_string(), Some(json!("edge-gw"))),
        ]
        .into_iter()
        .collect()
    );
    assert!(t.traces.requested);

    let typed = check(&format!(
        "{TELEMETRY_BASE}    resource:\n      schema_url: https://opentelemetry.io/schemas/1.26.0\n      attributes:\n        - {{name: a, value: 1, type: int}}\n        - {{name: b, value: [x, y], type: string_array}}\n        - {{name: c, value: 2.5}}\n"
    ))
    .unwrap();
    let r = &typed.config.service.telemetry.resource;
    assert_eq!(r.attributes["a"], Some(json!(1)));
    assert_eq!(r.attributes["b"], Some(json!(["x", "y"])));
    assert_eq!(r.attributes["c"], Some(json!("2.5")));
    assert_eq!(
        r.schema_url.as_deref(),
        Some("https://opentelemetry.io/schemas/1.26.0")
    );
}

#[test]
fn otlp_telemetry_needs_the_exporter_in_the_build() {
    use stratus_core::factory::Factories;
    let mut factories: Factories = support::factories();
    factories.exporters.remove("otlp");
    let doc = support::load_one(
        &format!(
            "{TELEMETRY_BASE}    metrics:\n      readers:\n        - periodic: {{exporter: {{otlp_grpc: {{endpoint: \"http://x:4317\"}}}}}}\n"
        ),
        &support::no_env,
    )
    .unwrap();
    let err = stratus_config::validate(&doc, &factories).unwrap_err();
    assert_eq!(
        summary(&err.0),
        vec![(
            "service::telemetry::metrics::readers::0::periodic::exporter::otlp_grpc".to_string(),
            Some(9),
            "this build of stratus has no `otlp` exporter, which sends internal metrics over OTLP/gRPC".to_string()
        )]
    );
}

/// A receiver listening beyond loopback with neither TLS nor auth is a warning (the
/// config still runs), at the endpoint's key path and line.
#[test]
fn open_listeners_are_warnings() {
    let config = |body: &str| {
        format!(
            "receivers:\n  listener:\n{body}extensions: {{bearertokenauth: }}\n\
             exporters: {{debug: }}\nservice:\n  extensions: [bearertokenauth]\n  \
             pipelines:\n    traces: {{receivers: [listener], exporters: [debug]}}\n"
        )
    };
    let open = |endpoint: &str| config(&format!("    endpoint: \"{endpoint}\"\n"));
    for endpoint in ["0.0.0.0:4317", "[::]:4317", ":4317", "203.0.113.7:4317"] {
        let v = support::check_with_listener(&open(endpoint)).unwrap();
        let got = summary(&v.warnings);
        assert_eq!(got.len(), 1, "{endpoint}: {got:?}");
        assert_eq!(got[0].0, "receivers::listener::endpoint", "{got:?}");
        assert_eq!(got[0].1, Some(3), "{got:?}");
        assert!(
            got[0].2.starts_with(&format!("`{endpoint}` listens on "))
                && got[0].2.contains("neither TLS nor authentication"),
            "{got:?}"
        );
    }
    let quiet = [
        config(""),
        open("localhost:4317"),
        open("127.0.0.1:4317"),
        open("[::1]:4317"),
        config("    endpoint: 0.0.0.0:4317\n    tls: {cert_file: c.pem, key_file: k.pem}\n"),
        config("    endpoint: 0.0.0.0:4317\n    auth: {authenticator: bearertokenauth}\n"),
    ];
    for yaml in &quiet {
        let v = support::check_with_listener(yaml).unwrap();
        assert!(v.warnings.is_empty(), "{yaml}\n{:?}", summary(&v.warnings));
    }
}
