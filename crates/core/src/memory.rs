//! Heap accounting. The stratus binary installs a counting global allocator and
//! registers how to read it here; the memory limiter and the process metrics read the
//! live heap through [`heap_allocated`], the way the Go collector reads its heap.
//! Resident memory (RSS) is a poor signal for that: the system allocator keeps freed
//! pages, so RSS stays high after a backlog drains and a limiter watching it would
//! refuse data forever.

use std::sync::OnceLock;

static HEAP_READER: OnceLock<fn() -> usize> = OnceLock::new();

/// Registers the function that reports live heap bytes. Only the first call counts.
pub fn install_heap_reader(read: fn() -> usize) {
    let _ = HEAP_READER.set(read);
}

/// Live heap bytes, when the binary installed heap accounting.
pub fn heap_allocated() -> Option<usize> {
    HEAP_READER.get().map(|read| read())
}
