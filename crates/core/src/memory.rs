//! Heap accounting and the process-wide memory admission gate.
//!
//! The stratus binary installs a counting global allocator and registers how to read
//! it here; the memory limiter, the receivers and the process metrics read the live
//! heap through [`heap_allocated`] (an atomic load), the way the Go collector reads
//! its heap. Resident memory (RSS) is a poor signal for admission: the allocator keeps
//! freed pages, so RSS stays high after a backlog drains and a limiter watching it
//! would refuse data forever.
//!
//! # The admission gate
//!
//! A receiver should refuse a request that would push memory over the limit before it
//! spends memory on it (reading, decompressing, decoding), not after. Receivers do not
//! know the memory limiter (a component never depends on another), so the limiter
//! publishes its soft limit here and receivers ask the gate:
//!
//! - Every running `memory_limiter` registers its soft limit in bytes
//!   ([`register_soft_limit`]) and the retry delay it gives clients; dropping the
//!   returned [`SoftLimit`] deregisters it.
//! - **The lowest registered soft limit wins.** The heap is one for the whole process,
//!   so once it is above the lowest soft limit, that limiter refuses whatever reaches
//!   it; receivers refuse early for every pipeline alike (a receiver cannot tell which
//!   limiter its data will meet, and a receiver shared by pipelines feeds them all).
//!   Configs normally give every pipeline's limiter the same limits.
//! - [`would_exceed`]`(extra)` is true when the live heap plus `extra` bytes (what the
//!   next step is about to allocate) plus what requests in flight reserved reaches
//!   that soft limit. It is false when no limiter is registered or no heap accounting
//!   is installed (then the limiter falls back to sampling RSS and receivers do not
//!   gate).
//! - A receiver handling a request [`reserve`](AdmissionGate::reserve)s what it is
//!   about to allocate (body, decompressed body, decoded message) and holds the
//!   [`Reservation`] until the data is decoded. Without it, requests arriving together
//!   would each see the same heap, all pass, and together overshoot the limit; with
//!   it each sees the others' share. The gate errs on the side of refusing early: a
//!   reservation still counts after its bytes are allocated (and so are in the heap
//!   too), by at most what is in flight.
//!
//! [`AdmissionGate`] is the same thing as a value, so tests can drive a gate with a
//! chosen heap reading; the free functions use the process-wide [`AdmissionGate::global`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

static HEAP_READER: OnceLock<fn() -> usize> = OnceLock::new();

/// Registers the function that reports live heap bytes. Only the first call counts.
pub fn install_heap_reader(read: fn() -> usize) {
    let _ = HEAP_READER.set(read);
}

/// Live heap bytes, when the binary installed heap accounting.
pub fn heap_allocated() -> Option<usize> {
    HEAP_READER.get().map(|read| read())
}

/// The retry delay the gate asks for when a limiter registered none.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// "No soft limit registered".
const NO_LIMIT: u64 = u64::MAX;

/// Where a gate reads the live heap from.
type HeapSource = Arc<dyn Fn() -> Option<u64> + Send + Sync>;

/// One registered soft limit.
#[derive(Debug, Clone, Copy)]
struct Registered {
    id: u64,
    soft_bytes: u64,
    retry_after: Duration,
}

/// A memory admission gate: soft limits registered by memory limiters, and a heap
/// reading to compare them with. See the [module docs](self) for the rules.
pub struct AdmissionGate {
    heap: HeapSource,
    registered: Mutex<Vec<Registered>>,
    /// The lowest registered soft limit, [`NO_LIMIT`] when none: read on every request
    /// without taking the lock.
    lowest: AtomicU64,
    /// The retry delay registered with the lowest soft limit, in milliseconds.
    retry_after_ms: AtomicU64,
    next_id: AtomicU64,
    /// Bytes reserved by requests in flight.
    reserved: AtomicU64,
}

impl std::fmt::Debug for AdmissionGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdmissionGate")
            .field("soft_limit_bytes", &self.soft_limit())
            .field("heap_bytes", &(self.heap)())
            .field("reserved_bytes", &self.reserved_bytes())
            .finish()
    }
}

/// Why the gate refuses: the numbers it compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverLimit {
    /// Live heap bytes when asked, plus what requests in flight reserved.
    pub heap_bytes: u64,
    /// The bytes the caller was about to allocate.
    pub extra_bytes: u64,
    /// The lowest registered soft limit, in bytes.
    pub soft_limit_bytes: u64,
    /// How long clients should wait before retrying: the delay registered with that
    /// soft limit.
    pub retry_after: Duration,
}

impl AdmissionGate {
    /// The process-wide gate, reading the heap through [`heap_allocated`].
    pub fn global() -> &'static Arc<AdmissionGate> {
        static GLOBAL: OnceLock<Arc<AdmissionGate>> = OnceLock::new();
        GLOBAL.get_or_init(|| AdmissionGate::with_heap_reader(|| heap_allocated().map(to_u64)))
    }

    /// A gate of its own that reads the live heap with `heap` (`None`: no heap
    /// accounting, so it never refuses). For tests and embedders.
    pub fn with_heap_reader(heap: impl Fn() -> Option<u64> + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(AdmissionGate {
            heap: Arc::new(heap),
            registered: Mutex::new(Vec::new()),
            lowest: AtomicU64::new(NO_LIMIT),
            retry_after_ms: AtomicU64::new(millis(DEFAULT_RETRY_AFTER)),
            next_id: AtomicU64::new(0),
            reserved: AtomicU64::new(0),
        })
    }

    /// Registers a soft limit of `soft_bytes`, with the delay clients refused because
    /// of it should wait. It applies until the returned guard is dropped; while
    /// several are registered the lowest applies.
    pub fn register(self: &Arc<Self>, soft_bytes: u64, retry_after: Duration) -> SoftLimit {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut registered = self
            .registered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        registered.push(Registered {
            id,
            soft_bytes,
            retry_after,
        });
        self.publish(&registered);
        SoftLimit {
            gate: self.clone(),
            id,
        }
    }

    fn deregister(&self, id: u64) {
        let mut registered = self
            .registered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        registered.retain(|r| r.id != id);
        self.publish(&registered);
    }

    /// Stores the lowest soft limit (and its retry delay) where requests read it.
    fn publish(&self, registered: &[Registered]) {
        let lowest = registered.iter().min_by_key(|r| r.soft_bytes);
        let retry = lowest.map_or(DEFAULT_RETRY_AFTER, |r| r.retry_after);
        self.retry_after_ms.store(millis(retry), Ordering::Relaxed);
        self.lowest
            .store(lowest.map_or(NO_LIMIT, |r| r.soft_bytes), Ordering::Relaxed);
    }

    /// The soft limit in force (the lowest registered), if any.
    pub fn soft_limit(&self) -> Option<u64> {
        let lowest = self.lowest.load(Ordering::Relaxed);
        (lowest != NO_LIMIT).then_some(lowest)
    }

    /// The live heap in bytes, when this gate can read it.
    pub fn heap_bytes(&self) -> Option<u64> {
        (self.heap)()
    }

    /// Bytes reserved by requests in flight.
    pub fn reserved_bytes(&self) -> u64 {
        self.reserved.load(Ordering::Relaxed)
    }

    /// `Err` when the live heap plus what is reserved plus `extra_bytes` reaches the
    /// soft limit in force; `Ok` when it does not, when no soft limit is registered,
    /// or when the heap cannot be read.
    pub fn check(&self, extra_bytes: u64) -> Result<(), OverLimit> {
        let Some(soft_limit_bytes) = self.soft_limit() else {
            return Ok(());
        };
        let Some(heap) = self.heap_bytes() else {
            return Ok(());
        };
        let heap_bytes = heap.saturating_add(self.reserved_bytes());
        if heap_bytes.saturating_add(extra_bytes) < soft_limit_bytes {
            return Ok(());
        }
        Err(OverLimit {
            heap_bytes,
            extra_bytes,
            soft_limit_bytes,
            retry_after: Duration::from_millis(self.retry_after_ms.load(Ordering::Relaxed)),
        })
    }

    /// Whether allocating `extra_bytes` more would take the live heap to the soft
    /// limit in force. False when no limit is registered or the heap cannot be read.
    pub fn would_exceed(&self, extra_bytes: u64) -> bool {
        self.check(extra_bytes).is_err()
    }

    /// Checks `bytes` like [`check`](Self::check) and, when admitted, reserves them
    /// until the returned guard is dropped (other requests then see them as used).
    pub fn reserve(self: &Arc<Self>, bytes: u64) -> Result<Reservation, OverLimit> {
        let mut reservation = Reservation {
            gate: self.clone(),
            bytes: 0,
        };
        reservation.grow(bytes)?;
        Ok(reservation)
    }
}

/// Bytes a request in flight reserved with a gate ([`AdmissionGate::reserve`]);
/// released when dropped.
#[derive(Debug)]
pub struct Reservation {
    gate: Arc<AdmissionGate>,
    bytes: u64,
}

impl Reservation {
    /// Checks `extra` more bytes against the gate and adds them to this reservation
    /// when admitted. With no soft limit registered nothing is reserved.
    pub fn grow(&mut self, extra: u64) -> Result<(), OverLimit> {
        self.gate.check(extra)?;
        if self.gate.soft_limit().is_some() {
            self.gate.reserved.fetch_add(extra, Ordering::Relaxed);
            self.bytes = self.bytes.saturating_add(extra);
        }
        Ok(())
    }

    /// The bytes this reservation holds.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.gate.reserved.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// A soft limit registered with a gate; dropping it deregisters the limit.
#[derive(Debug)]
pub struct SoftLimit {
    gate: Arc<AdmissionGate>,
    id: u64,
}

impl Drop for SoftLimit {
    fn drop(&mut self) {
        self.gate.deregister(self.id);
    }
}

/// Registers a soft limit with the process-wide gate ([`AdmissionGate::register`]).
pub fn register_soft_limit(soft_bytes: u64, retry_after: Duration) -> SoftLimit {
    AdmissionGate::global().register(soft_bytes, retry_after)
}

/// Asks the process-wide gate ([`AdmissionGate::check`]).
pub fn check_admission(extra_bytes: u64) -> Result<(), OverLimit> {
    AdmissionGate::global().check(extra_bytes)
}

/// Whether allocating `extra_bytes` more would take the live heap to the lowest
/// registered soft limit ([`AdmissionGate::would_exceed`] of the process-wide gate).
pub fn would_exceed(extra_bytes: u64) -> bool {
    AdmissionGate::global().would_exceed(extra_bytes)
}

fn to_u64(bytes: usize) -> u64 {
    u64::try_from(bytes).unwrap_or(u64::MAX)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate_at(heap: Arc<AtomicU64>) -> Arc<AdmissionGate> {
        AdmissionGate::with_heap_reader(move || Some(heap.load(Ordering::SeqCst)))
    }

    #[test]
    fn no_limit_registered_never_refuses() {
        let heap = Arc::new(AtomicU64::new(u64::MAX / 2));
        let gate = gate_at(heap);
        assert_eq!(gate.soft_limit(), None);
        assert!(gate.check(u64::MAX).is_ok());
    }

    #[test]
    fn no_heap_accounting_never_refuses() {
        let gate = AdmissionGate::with_heap_reader(|| None);
        let _limit = gate.register(10, Duration::from_secs(1));
        assert_eq!(gate.soft_limit(), Some(10));
        assert!(!gate.would_exceed(1_000));
    }

    #[test]
    fn refuses_when_heap_plus_extra_reaches_the_soft_limit() {
        let heap = Arc::new(AtomicU64::new(700));
        let gate = gate_at(heap.clone());
        let _limit = gate.register(1_000, Duration::from_millis(2500));
        assert!(gate.check(299).is_ok());
        let over = gate.check(300).unwrap_err();
        assert_eq!(
            over,
            OverLimit {
                heap_bytes: 700,
                extra_bytes: 300,
                soft_limit_bytes: 1_000,
                retry_after: Duration::from_millis(2500),
            }
        );
        heap.store(1_000, Ordering::SeqCst);
        assert!(gate.would_exceed(0), "at the soft limit is over it");
        heap.store(999, Ordering::SeqCst);
        assert!(!gate.would_exceed(0));
        assert!(gate.would_exceed(u64::MAX), "no overflow");
    }

    #[test]
    fn the_lowest_registration_wins_and_dropping_deregisters() {
        let heap = Arc::new(AtomicU64::new(500));
        let gate = gate_at(heap);
        let high = gate.register(2_000, Duration::from_secs(5));
        let low = gate.register(600, Duration::from_secs(2));
        assert_eq!(gate.soft_limit(), Some(600));
        let over = gate.check(100).unwrap_err();
        assert_eq!(over.soft_limit_bytes, 600);
        assert_eq!(over.retry_after, Duration::from_secs(2));
        drop(low);
        assert_eq!(gate.soft_limit(), Some(2_000));
        assert!(gate.check(100).is_ok());
        assert_eq!(
            gate.check(1_500).unwrap_err().retry_after,
            Duration::from_secs(5)
        );
        drop(high);
        assert_eq!(gate.soft_limit(), None);
        assert!(gate.check(u64::MAX).is_ok());
    }

    #[test]
    fn reservations_count_until_dropped() {
        let heap = Arc::new(AtomicU64::new(100));
        let gate = gate_at(heap);
        // No limit: nothing is reserved.
        let free = gate.reserve(5_000).unwrap();
        assert_eq!((free.bytes(), gate.reserved_bytes()), (0, 0));
        drop(free);

        let _limit = gate.register(1_000, Duration::from_secs(1));
        let mut first = gate.reserve(400).unwrap();
        assert_eq!(gate.reserved_bytes(), 400);
        // A second request sees the first one's share: 100 + 400 + 500 reaches 1000.
        let over = gate.reserve(500).unwrap_err();
        assert_eq!(over.heap_bytes, 500);
        assert_eq!(gate.reserved_bytes(), 400, "a refusal reserves nothing");
        let second = gate.reserve(499).unwrap();
        assert!(first.grow(1).is_err());
        drop(second);
        first.grow(1).unwrap();
        assert_eq!((first.bytes(), gate.reserved_bytes()), (401, 401));
        drop(first);
        assert_eq!(gate.reserved_bytes(), 0);
        assert!(gate.check(899).is_ok());
    }
}
