//! Bounded waiting: polling a condition until a deadline, never sleeping as a way to
//! synchronise.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// How long the kit's own waits (server start, lifecycle calls in the conformance
/// check) may take before the test fails. Generous: CI machines are slow and shared.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Polls `cond` every few milliseconds until it holds; panics naming `what` when it
/// still does not after `timeout`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// let start = std::time::Instant::now();
/// stratus_testkit::wait_until("a moment to pass", Duration::from_secs(5), || {
///     start.elapsed() > Duration::from_millis(10)
/// })
/// .await;
/// # }
/// ```
pub async fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until `check` returns `Some`, re-checking each time `changes` is bumped;
/// panics with `what` and `describe()` (the state reached) after `timeout`.
pub(crate) async fn on_change<T>(
    what: &str,
    timeout: Duration,
    changes: &watch::Sender<u64>,
    mut check: impl FnMut() -> Option<T>,
    describe: impl Fn() -> String,
) -> T {
    let mut rx = changes.subscribe();
    let deadline = Instant::now() + timeout;
    loop {
        rx.borrow_and_update();
        if let Some(v) = check() {
            return v;
        }
        match tokio::time::timeout_at(deadline, rx.changed()).await {
            Ok(Ok(())) => continue,
            // The sender lives as long as `changes` is borrowed: cannot happen.
            Ok(Err(_)) => panic!("{what}: the recorder went away"),
            Err(_) => {
                if let Some(v) = check() {
                    return v;
                }
                panic!(
                    "timed out after {timeout:?} waiting for {what}; {}",
                    describe()
                );
            }
        }
    }
}

/// Runs `fut`, panicking with `what` when it takes longer than `timeout`.
pub(crate) async fn within<F: Future>(what: &str, timeout: Duration, fut: F) -> F::Output {
    match tokio::time::timeout(timeout, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within {timeout:?}"),
    }
}
