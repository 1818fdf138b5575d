//! The `batch` processor: groups spans, metric data points and log records into
//! larger batches before they go on down the pipeline, the way the collector's
//! `batch` processor does.
//!
//! ```yaml
//! processors:
//!   batch:
//!     send_batch_size: 8192       # items that send a batch at once (a trigger, not a cap)
//!     send_batch_max_size: 0      # most items per sent batch; 0 = no limit
//!     timeout: 200ms              # longest wait after a batch's first item
//!     metadata_keys: [x-tenant]   # batch separately per value of these request headers
//!     metadata_cardinality_limit: 1000
//! ```
//!
//! How it works:
//! - `consume` adds the data to the batcher for its signal and its values of
//!   `metadata_keys`, and returns once the data is held there.
//! - A task per batcher sends the batch when it holds `send_batch_size` items or
//!   when `timeout` has passed since its first item, in pieces of at most
//!   `send_batch_max_size` items (split with [`stratus_core::Payload::split_front`]).
//! - A batch downstream refuses with a retryable error is kept and offered again
//!   (after the delay downstream asked for, else 100ms doubling up to 5s), so
//!   accepted data is never lost silently. While a batcher holds more than
//!   `max(2 * send_batch_size, send_batch_max_size)` items, `consume` refuses new
//!   data with a retryable error, so back-pressure reaches the client. A batch
//!   downstream rejects permanently is logged and dropped.
//! - `shutdown` sends everything pending at once and keeps offering refused batches
//!   until they are delivered or the caller's deadline drops the shutdown future.
//!
//! Metrics (label `processor`): `otelcol_processor_batch_batch_send_size`,
//! `otelcol_processor_batch_batch_size_trigger_send`,
//! `otelcol_processor_batch_timeout_trigger_send`,
//! `otelcol_processor_batch_metadata_cardinality`.

pub mod config;
pub mod factory;
pub mod processor;

pub use config::BatchConfig;
pub use factory::BatchProcessorFactory;
pub use processor::BatchProcessor;
