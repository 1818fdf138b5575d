//! Benchmark helpers (feature `bench`): criterion measurements for a machine shared
//! with other builds.

use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// Criterion's measurement as the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`): on a
/// machine shared with other builds, time the benchmark thread spent preempted is not
/// counted. Only work on the benchmark thread is measured, so run the code under test
/// there (a current-thread runtime). Values are nanoseconds, formatted as wall time.
///
/// ```text
/// criterion_group! {
///     name = benches;
///     config = Criterion::default().with_measurement(ThreadCpuTime);
///     targets = bench
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadCpuTime;

/// The calling thread's CPU time so far.
fn thread_cpu_now() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;
    fn start(&self) -> Duration {
        thread_cpu_now()
    }
    fn end(&self, start: Duration) -> Duration {
        thread_cpu_now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        // Nanoseconds, formatted as wall time is.
        static WALL: WallTime = WallTime;
        WALL.formatter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_cpu_spent_on_this_thread() {
        let m = ThreadCpuTime;
        let start = m.start();
        // Busy work the optimiser cannot drop, until the clock has moved.
        let mut x = 0u64;
        let mut spent = Duration::ZERO;
        for i in 0..1_000_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            if i % 100_000 == 0 {
                spent = m.end(start);
                if spent > Duration::ZERO {
                    break;
                }
            }
        }
        assert!(spent > Duration::ZERO, "{x}");
        assert_eq!(m.add(&spent, &m.zero()), spent);
        assert_eq!(m.to_f64(&Duration::from_micros(3)), 3000.0);
    }
}
