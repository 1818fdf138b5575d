//! Free ports on 127.0.0.1 for components that bind their own listeners.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A port on 127.0.0.1 that no other test (in this or another test process) was
/// given, and that was free when checked.
///
/// Binding `127.0.0.1:0` is better where the component can report the port it got;
/// this is for configs that need the number up front. Each port is claimed by
/// creating a marker file with `create_new` in `$TMPDIR/stratus-test-ports` (the
/// directory stratus's end-to-end tests use too, so the two never collide); markers
/// older than 15 minutes are reclaimed. Ports come from 20000-31999, below the
/// kernel's ephemeral range, so outgoing connections never hold them.
pub fn free_port() -> u16 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join("stratus-test-ports");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!(
            "cannot create the port marker directory {}: {e}",
            dir.display()
        );
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    let mut x = nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        | 1;
    for _ in 0..20_000 {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let port = 20_000 + (x % 12_000) as u16;
        let marker = dir.join(port.to_string());
        if let Ok(meta) = std::fs::metadata(&marker) {
            let stale = meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(15 * 60));
            if stale {
                let _ = std::fs::remove_file(&marker);
            }
        }
        let claimed = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&marker);
        if claimed.is_ok() && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port found in 20000-31999");
}

/// `127.0.0.1:<port>` with a port from [`free_port`]: an `endpoint` value for a
/// receiver or extension config.
pub fn free_endpoint() -> String {
    format!("127.0.0.1:{}", free_port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_out_distinct_bindable_ports() {
        let ports: Vec<u16> = (0..20).map(|_| free_port()).collect();
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ports.len(), "{ports:?}");
        for p in &ports {
            assert!((20_000..32_000).contains(p));
            TcpListener::bind(("127.0.0.1", *p)).unwrap();
        }
        assert!(free_endpoint().starts_with("127.0.0.1:"));
    }
}
