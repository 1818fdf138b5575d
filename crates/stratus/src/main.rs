//! The stratus binary: CLI, logging, and the run loop.
//!
//! ```text
//! stratus [--config FILE]... [--set key::path=value]...   run (embedded default without --config)
//! stratus validate --config FILE...                       check a config, print every problem
//! stratus components                                      list every component of this build
//! stratus healthcheck [--endpoint URL]                     exit 0 when the health check answers 200
//! stratus --version
//! ```
//!
//! Started with `AWS_LAMBDA_RUNTIME_API` set (from a Lambda layer), the run command
//! runs as a Lambda extension: see [`lambda`].

mod components;
mod healthcheck;
mod lambda;
mod logging;
mod tap;
mod telemetry;
mod top;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use stratus_config::{ConfigErrors, Source, Validated};
use stratus_core::Kind;
use stratus_core::telemetry::Registry;
use stratus_pipeline::Service;
use stratus_pipeline::self_telemetry::register_process_metrics;

/// Counts live heap bytes for the memory limiter and `otelcol_process_runtime_heap_alloc_bytes`.
///
/// Underneath is jemalloc with background threads (the `background_threads` feature
/// turns them on at build time) and a 1 s dirty-page decay (`JEMALLOC_SYS_WITH_MALLOC_CONF`
/// in `.cargo/config.toml`, also applied at build time, so no `unsafe` here): freed
/// pages go back to the system within about a second, so resident memory follows the
/// live heap. Under the overload of `benches/overload.sh` it kept the high-water RSS
/// 25-30 MiB lower than the system allocator, for +0.9 MiB idle (figures in
/// `benches/README.md`).
#[global_allocator]
static ALLOCATOR: cap::Cap<tikv_jemallocator::Jemalloc> =
    cap::Cap::new(tikv_jemallocator::Jemalloc, usize::MAX);

fn heap_allocated() -> usize {
    ALLOCATOR.allocated()
}

/// The config stratus runs when started without `--config`.
const DEFAULT_CONFIG: &str = include_str!("default.yaml");
const DEFAULT_CONFIG_NAME: &str = "<embedded default config>";

#[derive(Parser, Debug)]
#[command(
    name = "stratus",
    version,
    about = "A Rust-native OpenTelemetry Collector for multi-cloud and hybrid-cloud observability",
    long_about = None,
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Config file; repeat to merge several in order (later files win). `file:PATH` works too,
    /// and `yaml:TEXT` is YAML itself (`yaml:processors::batch::timeout: 2s`). Without it,
    /// stratus runs an embedded default config.
    #[arg(long = "config", value_name = "FILE", global = true)]
    config: Vec<String>,

    /// Overrides one config key after the files are merged, e.g.
    /// `--set exporters::otlp::endpoint=gateway:4317`. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", global = true)]
    set: Vec<String>,

    /// How long shutdown may take to flush batches and drain queues (Go duration).
    #[arg(long, value_name = "DURATION", default_value = "25s", global = true)]
    shutdown_timeout: String,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Checks the config and prints every problem; exits 0 when valid, 78 when not.
    Validate,
    /// Lists every component in this build with its signals and stability.
    Components,
    /// Asks a running stratus's health_check extension whether it is ready: exits 0
    /// when it answers 200, 1 otherwise. For container health checks in images
    /// without a shell or wget.
    Healthcheck {
        /// The health check URL.
        #[arg(long, value_name = "URL", default_value = healthcheck::DEFAULT_ENDPOINT)]
        endpoint: String,
    },
    /// A live terminal view of a running stratus, read from its `admin` (or `zpages`)
    /// extension: items per second per component, queue fill, failover level, heap
    /// and CPU. Keys: s sort, r reverse, / filter, q quit.
    Top {
        /// The admin endpoint.
        #[arg(long, value_name = "URL", default_value = top::DEFAULT_ENDPOINT)]
        endpoint: String,
    },
    /// Prints a sample of the data leaving one component of a running stratus, as
    /// OTLP/JSON lines, from its `admin` (or `zpages`) extension. Redacted as the
    /// pipeline redacts it; a tap that falls behind drops samples and says so on
    /// stderr, and never slows the pipeline.
    Tap {
        /// The component id (`otlp`, `batch/eu`, `otlp_grpc/gateway`).
        component: String,
        /// Only this signal.
        #[arg(long, value_parser = ["traces", "metrics", "logs"])]
        signal: Option<String>,
        /// When a receiver and an exporter share the id: which one.
        #[arg(long, value_parser = ["receiver", "processor", "exporter", "connector"])]
        kind: Option<String>,
        /// Stop after this many items (spans, data points, log records).
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        /// Items a second at most; 0 for no cap.
        #[arg(long, value_name = "R", default_value_t = 100.0)]
        rate: f64,
        /// The admin endpoint.
        #[arg(long, value_name = "URL", default_value = top::DEFAULT_ENDPOINT)]
        endpoint: String,
    },
}

fn main() -> ExitCode {
    stratus_core::memory::install_heap_reader(heap_allocated);
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Components) => {
            print_components();
            ExitCode::SUCCESS
        }
        Some(Command::Healthcheck { endpoint }) => match healthcheck::probe(endpoint) {
            Ok(healthcheck::Outcome::Healthy) => ExitCode::SUCCESS,
            Ok(healthcheck::Outcome::Unhealthy(status)) => {
                eprintln!("unhealthy: {endpoint} answered HTTP {status}");
                ExitCode::FAILURE
            }
            Ok(healthcheck::Outcome::Unreachable(why)) => {
                eprintln!("unhealthy: nothing answers at {endpoint} ({why})");
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("Error: {e}");
                ExitCode::from(2)
            }
        },
        Some(Command::Top { endpoint }) => match top::run(endpoint) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("Error: stratus top: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Tap {
            component,
            signal,
            kind,
            limit,
            rate,
            endpoint,
        }) => {
            let args = tap::Args {
                endpoint,
                component,
                kind: kind.as_deref(),
                signal: signal.as_deref(),
                limit: *limit,
                rate: *rate,
            };
            match tap::run(&args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("Error: stratus tap: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Validate) => match load(&cli) {
            Ok(validated) => {
                for w in &validated.warnings {
                    eprintln!("warning: {w}");
                }
                println!("configuration is valid");
                ExitCode::SUCCESS
            }
            Err(errors) => config_failure(&errors),
        },
        None => {
            let lambda = lambda::runtime_api();
            let validated = match load_for(&cli, lambda.is_some()) {
                Ok(v) => v,
                Err(errors) => return config_failure(&errors),
            };
            match run(&cli, validated, lambda) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("Error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn config_failure(errors: &ConfigErrors) -> ExitCode {
    let n = errors.0.len();
    eprintln!(
        "Error: invalid configuration ({n} problem{}):",
        if n == 1 { "" } else { "s" }
    );
    for e in &errors.0 {
        eprintln!("  {e}");
    }
    ExitCode::from(stratus_config::EXIT_CODE as u8)
}

fn sources(cli: &Cli, lambda: bool) -> Vec<Source> {
    if cli.config.is_empty()
        && lambda
        && let Some(config) = lambda::default_config()
    {
        return vec![Source::from_arg(&config, 1)];
    }
    if cli.config.is_empty() {
        return vec![Source::Inline {
            name: DEFAULT_CONFIG_NAME.to_string(),
            text: DEFAULT_CONFIG.to_string(),
        }];
    }
    cli.config
        .iter()
        .enumerate()
        .map(|(i, c)| Source::from_arg(c, i + 1))
        .collect()
}

fn load(cli: &Cli) -> Result<Validated, ConfigErrors> {
    load_for(cli, false)
}

/// Loads the config to run; a Lambda extension without `--config` reads
/// `STRATUS_CONFIG` or the layer's config.
fn load_for(cli: &Cli, lambda: bool) -> Result<Validated, ConfigErrors> {
    let env = |name: &str| std::env::var(name).ok();
    let doc = stratus_config::load(&sources(cli, lambda), &cli.set, &env)?;
    stratus_config::validate(&doc, &components::factories())
}

fn print_components() {
    let factories = components::factories();
    println!("stratus {}", env!("CARGO_PKG_VERSION"));
    for kind in [
        Kind::Receiver,
        Kind::Processor,
        Kind::Exporter,
        Kind::Connector,
        Kind::Extension,
    ] {
        println!("{}:", kind.section());
        let width = factories
            .types(kind)
            .iter()
            .map(|ty| ty.len())
            .max()
            .unwrap_or(0)
            .max(16);
        for ty in factories.types(kind) {
            if let Some(connector) = factories.connectors.get(ty)
                && kind == Kind::Connector
            {
                let routes: Vec<String> = connector
                    .routes()
                    .iter()
                    .map(|(from, to, st)| format!("{from}->{to} ({st})"))
                    .collect();
                println!("  {ty:<width$} {}", routes.join(", "));
                continue;
            }
            let Some(info) = factories.info(kind, ty) else {
                continue;
            };
            let signals: Vec<String> = info
                .signals()
                .iter()
                .map(|(s, st)| format!("{s} ({st})"))
                .collect();
            let mut row = format!("  {ty:<width$} {}", signals.join(", "));
            if info.type_name() != ty {
                row.push_str(&format!(" [deprecated name of {}]", info.type_name()));
            }
            println!("{}", row.trim_end());
        }
    }
}

/// Tells a user who started stratus with no config where it listens, from the config
/// it really runs (so `--set` overrides show), and how to point an SDK at it.
fn print_default_banner(config: &stratus_config::ServiceConfig) {
    let endpoint = |protocol: &str, default: &str| {
        config
            .receivers
            .get(&stratus_core::ComponentId::new("otlp"))
            .and_then(|otlp| otlp.pointer(&format!("/protocols/{protocol}/endpoint")))
            .and_then(|e| e.as_str())
            .unwrap_or(default)
            .to_string()
    };
    let grpc = endpoint("grpc", "localhost:4317");
    let http = endpoint("http", "localhost:4318");
    eprintln!(
        "stratus is running its embedded default config (no --config given):\n  \
         OTLP/gRPC on {grpc}, OTLP/HTTP on {http} -> memory_limiter -> batch -> debug\n\
         Point an OpenTelemetry SDK at it with:\n  \
         export OTEL_EXPORTER_OTLP_ENDPOINT=http://{grpc}   # gRPC\n  \
         export OTEL_EXPORTER_OTLP_PROTOCOL=grpc\n\
         or, over HTTP:\n  \
         export OTEL_EXPORTER_OTLP_ENDPOINT=http://{http}\n  \
         export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf\n\
         Run `stratus --config FILE` for your own pipelines; Ctrl-C stops."
    );
}

fn run(cli: &Cli, validated: Validated, lambda: Option<String>) -> anyhow::Result<()> {
    let telemetry = &validated.config.service.telemetry;
    let registry = Registry::new();
    let resource = telemetry::SelfResource::new(telemetry);
    let queues = logging::init(
        &telemetry.logs,
        &telemetry::SelfResource::configured(telemetry),
        &registry,
    )?;
    for w in &validated.warnings {
        tracing::warn!("{w}");
    }
    let shutdown_timeout = stratus_core::confval::parse_duration(&cli.shutdown_timeout)
        .map_err(anyhow::Error::msg)
        .context("--shutdown-timeout")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("stratus")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(
        cli,
        &validated,
        shutdown_timeout,
        registry,
        resource,
        queues,
        lambda,
    ))
}

async fn serve(
    cli: &Cli,
    validated: &Validated,
    shutdown_timeout: Duration,
    registry: Registry,
    resource: telemetry::SelfResource,
    queues: logging::LogQueues,
    lambda: Option<String>,
) -> anyhow::Result<()> {
    let config = &validated.config;
    register_process_metrics(&registry);
    let factories = components::factories();
    let self_telemetry = telemetry::start(
        &config.service.telemetry,
        &registry,
        &resource,
        &factories,
        queues,
    )
    .await?;

    let service = Service::build(config, &factories, &registry).await?;
    service.start().await?;
    tracing::info!(
        pipelines = config.service.pipelines.len(),
        version = env!("CARGO_PKG_VERSION"),
        "stratus is running",
    );
    let shutdown_timeout = match lambda {
        Some(api) => match lambda::Extension::register(&api).await {
            Ok(extension) => extension.run(&service, shutdown_timeout).await,
            Err(e) => {
                service
                    .shutdown(shutdown_timeout.min(Duration::from_secs(2)))
                    .await;
                return Err(e);
            }
        },
        None => {
            if cli.config.is_empty() {
                print_default_banner(config);
            }
            wait_for_signal().await;
            shutdown_timeout
        }
    };
    tracing::info!(deadline = %stratus_core::confval::format_duration(shutdown_timeout), "shutting down");
    let started = tokio::time::Instant::now();
    let in_time = service.shutdown(shutdown_timeout).await;
    if in_time {
        tracing::info!("shutdown complete");
    }
    // Last: the final metrics push and the log lines of the shutdown itself.
    let left = shutdown_timeout
        .saturating_sub(started.elapsed())
        .max(Duration::from_secs(1));
    self_telemetry.shutdown(left).await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("received SIGTERM"),
                    _ = tokio::signal::ctrl_c() => tracing::info!("received SIGINT"),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM; only SIGINT stops stratus");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
