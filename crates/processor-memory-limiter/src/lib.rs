//! The `memory_limiter` processor: refuses data while the stratus process uses too
//! much memory, so a flood of data or a stuck destination cannot push it out of
//! memory, the way the collector's `memory_limiter` processor does.
//!
//! ```yaml
//! processors:
//!   memory_limiter:
//!     check_interval: 1s     # required, > 0
//!     limit_mib: 400         # hard limit; or limit_percentage (of the cgroup limit)
//!     spike_limit_mib: 80    # default 20% of the limit; soft limit = 400 - 80
//! ```
//!
//! How it works:
//! - Memory use is the live heap, read from the counting allocator the stratus binary
//!   installs (`stratus_core::memory`), at every `consume`: an atomic load, so a burst
//!   of requests cannot outrun the limit between two checks. Without heap accounting
//!   (a library user) it is the resident memory (`/proc/self/statm`), sampled every
//!   `check_interval`.
//! - At or above the soft limit (hard limit minus spike limit), `consume` refuses data
//!   with a retryable error, `data refused due to high memory usage`, and a retry
//!   delay of `check_interval` (at least 1s); receivers answer gRPC `UNAVAILABLE` /
//!   HTTP 503 and clients retry later. Below it, data passes through untouched.
//! - A task measures every `check_interval` for the transition logs (and, without
//!   heap accounting, for the decision itself).
//! - While running, each limiter registers its soft limit with the process-wide
//!   admission gate (`stratus_core::memory`, lowest limit wins), so the OTLP receiver
//!   refuses a request that would cross it before reading and decoding it.
//! - `limit_percentage` and `spike_limit_percentage` are taken of the memory
//!   available to the process: the cgroup v2 `memory.max` or cgroup v1
//!   `memory.limit_in_bytes`, else physical memory (`/proc/meminfo`).
//! - The collector's `*_gc_interval_*` keys are accepted so existing configs load,
//!   and ignored: stratus has no garbage collector to force.
//! - It logs at warn when it starts refusing and at info when it recovers, and counts
//!   refused items in `otelcol_processor_refused_{spans,metric_points,log_records}`
//!   (label `processor`).
//!
//! [`MemoryLimiter`] takes any [`MemoryUsage`] source, so the decision logic can be
//! driven with chosen numbers.

pub mod config;
pub mod factory;
pub mod memory;
pub mod processor;

pub use config::MemoryLimiterConfig;
pub use factory::MemoryLimiterProcessorFactory;
pub use memory::{HeapInUse, Limits, MemoryUsage, ProcessRss, SystemMemory};
pub use processor::MemoryLimiter;
