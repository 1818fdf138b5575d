//! The `debug` exporter: prints what arrives, for trying a pipeline out.
//!
//! - `verbosity: basic` (default): one line per batch with its counts, as the collector
//!   prints them (`resource spans: 1, spans: 3`).
//! - `verbosity: normal`: also one line per span, data point or log record.
//! - `verbosity: detailed`: also every field of every item, as a readable tree.
//!
//! Output goes through stratus's logger (`tracing`, at info level) or, with
//! `use_internal_logger: false`, straight to standard output. `sampling_initial` and
//! `sampling_thereafter` thin the output of busy pipelines: each second the first
//! `sampling_initial` batches are printed, then every `sampling_thereafter`-th.
//! Batches left unprinted are still counted as sent.
//!
//! ```yaml
//! exporters:
//!   debug:
//!     verbosity: detailed
//! ```

pub mod config;
pub mod text;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use stratus_core::factory::{
    BuildContext, BuildExporter, Exporter, Factory, Stability, all_signals,
};
use stratus_core::{ComponentError, ConsumeError, Signal, Telemetry};
use stratus_exporter_helper::{ExporterSettings, Sender, build_exporter};

pub use config::{DebugConfig, Verbosity};
use text::Counts;

/// The `debug` exporter factory.
#[derive(Debug, Clone, Copy, Default)]
pub struct DebugExporterFactory;

impl Factory for DebugExporterFactory {
    type Config = DebugConfig;
    const TYPE: &'static str = "debug";
    const SIGNALS: &'static [(Signal, Stability)] = &all_signals(Stability::Development);
}

#[async_trait]
impl BuildExporter for DebugExporterFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: DebugConfig,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        let id = ctx.id.to_string();
        let output = if config.use_internal_logger {
            Output::Logger
        } else {
            Output::Writer(Mutex::new(Box::new(std::io::stdout())))
        };
        Ok(build_exporter(
            &ctx,
            ExporterSettings::direct(),
            DebugSender::new(id, &config, output),
        ))
    }
}

/// Where the exporter prints.
pub enum Output {
    /// stratus's logger, at info level.
    Logger,
    /// A writer (standard output, or a buffer in tests), one text block per batch.
    Writer(Mutex<Box<dyn Write + Send>>),
}

/// Per-second sampling of printed batches.
struct Sampler {
    initial: u64,
    thereafter: u64,
    window: Mutex<(Instant, u64)>,
}

impl Sampler {
    fn allow(&self) -> bool {
        self.allow_at(Instant::now())
    }

    fn allow_at(&self, now: Instant) -> bool {
        let mut w = match self.window.lock() {
            Ok(w) => w,
            Err(p) => p.into_inner(),
        };
        if now.duration_since(w.0) >= Duration::from_secs(1) {
            *w = (now, 0);
        }
        w.1 += 1;
        let n = w.1;
        n <= self.initial || (n - self.initial).is_multiple_of(self.thereafter.max(1))
    }
}

/// The `debug` exporter's [`Sender`]: renders a batch and prints it.
pub struct DebugSender {
    id: String,
    verbosity: Verbosity,
    sampler: Sampler,
    output: Output,
}

impl DebugSender {
    /// A sender printing to `output`.
    pub fn new(id: String, config: &DebugConfig, output: Output) -> Self {
        DebugSender {
            id,
            verbosity: config.verbosity,
            sampler: Sampler {
                initial: config.sampling_initial,
                thereafter: config.sampling_thereafter,
                window: Mutex::new((Instant::now(), 0)),
            },
            output,
        }
    }

    /// The basic line, as the collector logs it: the signal, then the counts as fields
    /// with the collector's names (`resource spans`, `spans`).
    fn log_counts(&self, counts: &Counts) {
        let id = self.id.as_str();
        match *counts {
            Counts::Traces { resources, spans } => {
                tracing::info!(exporter = id, "resource spans" = resources, spans, "Traces")
            }
            Counts::Metrics {
                resources,
                metrics,
                points,
            } => tracing::info!(
                exporter = id,
                "resource metrics" = resources,
                metrics,
                "data points" = points,
                "Metrics"
            ),
            Counts::Logs { resources, records } => tracing::info!(
                exporter = id,
                "resource logs" = resources,
                "log records" = records,
                "Logs"
            ),
        }
    }
}

#[async_trait]
impl Sender for DebugSender {
    type Request = Telemetry;

    fn encode(&self, data: Telemetry) -> Result<Telemetry, ConsumeError> {
        Ok(data)
    }

    async fn send(&self, data: &Telemetry) -> Result<(), ConsumeError> {
        if !self.sampler.allow() {
            return Ok(());
        }
        let counts = text::counts(&data.payload);
        let body = match self.verbosity {
            Verbosity::Basic => None,
            Verbosity::Normal => Some(text::normal(&data.payload)),
            Verbosity::Detailed => Some(text::detailed(&data.payload)),
        };
        match &self.output {
            Output::Logger => {
                self.log_counts(&counts);
                if let Some(body) = body {
                    tracing::info!(exporter = %self.id, "{}", body.trim_end());
                }
            }
            Output::Writer(writer) => {
                let mut w = match writer.lock() {
                    Ok(w) => w,
                    Err(p) => p.into_inner(),
                };
                // Printing is best effort: a closed stdout must not fail the pipeline.
                let _ = writeln!(w, "{counts}");
                if let Some(body) = body {
                    let _ = w.write_all(body.as_bytes());
                }
                let _ = w.flush();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_prints_initial_then_every_nth_per_second() {
        let start = Instant::now();
        let s = Sampler {
            initial: 2,
            thereafter: 3,
            window: Mutex::new((start, 0)),
        };
        let printed: Vec<bool> = (0..8).map(|_| s.allow_at(start)).collect();
        assert_eq!(
            printed,
            [true, true, false, false, true, false, false, true]
        );
        // A new second starts a new window.
        assert!(s.allow_at(start + Duration::from_secs(1)));
        assert!(s.allow_at(start + Duration::from_secs(1)));
        assert!(!s.allow_at(start + Duration::from_secs(1)));
    }
}
