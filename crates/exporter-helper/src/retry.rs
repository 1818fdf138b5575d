//! Exponential back-off with jitter, as the collector's `retry_on_failure` defines it.

use std::time::{Duration, Instant};

use crate::config::RetryConfig;

/// The waits between attempts of one request.
#[derive(Debug)]
pub struct Backoff {
    current: Duration,
    config: RetryConfig,
    started: Instant,
}

impl Backoff {
    /// Starts a new back-off sequence.
    pub fn new(config: &RetryConfig) -> Self {
        Backoff {
            current: config.initial_interval,
            config: config.clone(),
            started: Instant::now(),
        }
    }

    /// Time since the first attempt.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The wait before the next attempt, or `None` when `max_elapsed_time` would be
    /// exceeded. A throttle delay from the destination replaces the computed wait.
    pub fn next_delay(&mut self, throttle: Option<Duration>) -> Option<Duration> {
        let jittered = {
            let f = self.config.randomization_factor;
            let base = self.current.as_secs_f64();
            let low = base * (1.0 - f);
            let high = base * (1.0 + f);
            secs(low + rand::random::<f64>() * (high - low))
        };
        let next = self.current.as_secs_f64() * self.config.multiplier;
        self.current = secs(next.min(self.config.max_interval.as_secs_f64()));
        let delay = throttle.unwrap_or(jittered);
        let max = self.config.max_elapsed_time;
        if !max.is_zero() && self.started.elapsed() + delay > max {
            return None;
        }
        Some(delay)
    }
}

/// Seconds as a duration, saturating instead of panicking on huge values.
fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_caps() {
        let cfg = RetryConfig {
            randomization_factor: 0.0,
            max_elapsed_time: Duration::ZERO,
            ..RetryConfig::default()
        };
        let mut b = Backoff::new(&cfg);
        let waits: Vec<_> = (0..7)
            .map(|_| b.next_delay(None).unwrap().as_secs_f64())
            .collect();
        assert_eq!(waits[..3], [5.0, 7.5, 11.25]);
        assert_eq!(waits[6], 30.0);
    }

    #[test]
    fn jitter_stays_in_range_and_throttle_wins() {
        let mut b = Backoff::new(&RetryConfig::default());
        let d = b.next_delay(None).unwrap().as_secs_f64();
        assert!((2.5..=7.5).contains(&d), "{d}");
        assert_eq!(
            b.next_delay(Some(Duration::from_secs(42))),
            Some(Duration::from_secs(42))
        );
    }

    #[test]
    fn gives_up_after_max_elapsed() {
        let cfg = RetryConfig {
            max_elapsed_time: Duration::from_secs(6),
            ..Default::default()
        };
        let mut b = Backoff::new(&cfg);
        assert_eq!(b.next_delay(Some(Duration::from_secs(7))), None);
    }
}
