//! A fixed-capacity least-recently-used map: the decision caches and the regex result
//! cache of `string_attribute`.
//!
//! Entries live in a slab with a doubly linked recency list through it, so `get` and
//! `put` are O(1) and allocate nothing once the cache is full.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

const NONE: usize = usize::MAX;

struct Node<K, V> {
    key: K,
    value: V,
    prev: usize,
    next: usize,
}

/// A map holding at most `capacity` entries; putting one more evicts the least
/// recently used (read or written) entry.
pub(crate) struct Lru<K, V> {
    capacity: usize,
    index: HashMap<K, usize>,
    nodes: Vec<Node<K, V>>,
    /// Most recently used.
    head: usize,
    /// Least recently used.
    tail: usize,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    /// An empty cache for up to `capacity` entries (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Lru {
            capacity: capacity.max(1),
            index: HashMap::new(),
            nodes: Vec::new(),
            head: NONE,
            tail: NONE,
        }
    }

    /// Entries held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// The value of `key`, which becomes the most recently used entry.
    pub(crate) fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = *self.index.get(key)?;
        self.touch(i);
        Some(&self.nodes[i].value)
    }

    /// Sets `key` to `value` as the most recently used entry, evicting the least
    /// recently used one when the cache is full.
    pub(crate) fn put(&mut self, key: K, value: V) {
        if let Some(&i) = self.index.get(&key) {
            self.nodes[i].value = value;
            self.touch(i);
            return;
        }
        let i = if self.nodes.len() < self.capacity {
            self.nodes.push(Node {
                key: key.clone(),
                value,
                prev: NONE,
                next: NONE,
            });
            self.nodes.len() - 1
        } else {
            // Reuse the least recently used slot.
            let i = self.tail;
            self.unlink(i);
            let node = &mut self.nodes[i];
            self.index.remove(&node.key);
            node.key = key.clone();
            node.value = value;
            i
        };
        self.index.insert(key, i);
        self.push_front(i);
    }

    fn touch(&mut self, i: usize) {
        if self.head != i {
            self.unlink(i);
            self.push_front(i);
        }
    }

    fn unlink(&mut self, i: usize) {
        let (prev, next) = (self.nodes[i].prev, self.nodes[i].next);
        if prev == NONE {
            self.head = next;
        } else {
            self.nodes[prev].next = next;
        }
        if next == NONE {
            self.tail = prev;
        } else {
            self.nodes[next].prev = prev;
        }
        self.nodes[i].prev = NONE;
        self.nodes[i].next = NONE;
    }

    fn push_front(&mut self, i: usize) {
        self.nodes[i].prev = NONE;
        self.nodes[i].next = self.head;
        if self.head != NONE {
            self.nodes[self.head].prev = i;
        }
        self.head = i;
        if self.tail == NONE {
            self.tail = i;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_least_recently_used() {
        let mut c = Lru::new(2);
        c.put("a".to_string(), 1);
        c.put("b".to_string(), 2);
        assert_eq!(c.get("a"), Some(&1), "reading a makes b the oldest");
        c.put("c".to_string(), 3);
        assert_eq!(c.get("b"), None);
        assert_eq!(c.get("a"), Some(&1));
        assert_eq!(c.get("c"), Some(&3));
        assert_eq!(c.len(), 2);
        c.put("a".to_string(), 10);
        c.put("d".to_string(), 4);
        assert_eq!(c.get("c"), None, "writing a made c the oldest");
        assert_eq!(c.get("a"), Some(&10));
    }

    #[test]
    fn capacity_one_keeps_the_last() {
        let mut c = Lru::new(1);
        for i in 0..5u8 {
            c.put([i; 16], i);
        }
        assert_eq!(c.len(), 1);
        assert_eq!(c.get(&[4u8; 16]), Some(&4));
        assert_eq!(c.get(&[3u8; 16]), None);
    }
}
