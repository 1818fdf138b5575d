//! The consistent-hash ring, position for position the one of upstream's
//! `consistent_hashing.go`, so a Go collector and stratus with the same backend list
//! send a trace id to the same backend.
//!
//! - The ring has [`MAX_POSITIONS`] positions (360 degrees with two decimals).
//! - Each backend takes [`POSITIONS_PER_BACKEND`] of them: position `i` of backend `e`
//!   is `crc32(e ++ [i]) % 36000` (CRC-32/IEEE over the backend's name followed by the
//!   one byte `i`). Backends are placed in the order given (the resolver's sorted
//!   list); a position already taken is skipped.
//! - A key's position is `crc32(key) % 36000` (the 16 trace-id bytes, the service
//!   name's UTF-8 bytes); its owner is the backend at the first ring position at or
//!   after it, wrapping around to the lowest.
//!
//! Adding or removing a backend adds or removes only its own positions, so only the
//! keys that fall into its arcs change owner: about `1/N` of them.

/// Positions on the ring: 360 degrees with two decimal places, as upstream.
pub const MAX_POSITIONS: u32 = 36_000;

/// Ring positions per backend (upstream's `defaultWeight`).
pub const POSITIONS_PER_BACKEND: usize = 100;

/// The ring position of a routing key.
pub fn position(key: &[u8]) -> u32 {
    crc32fast::hash(key) % MAX_POSITIONS
}

/// An immutable consistent-hash ring over a list of backends, which it refers to by
/// their index in that list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashRing {
    /// (position, backend index), sorted by position, positions unique.
    items: Vec<(u32, u32)>,
    backends: usize,
}

impl HashRing {
    /// A ring over `backends`, in the order given (sort them first, as the resolvers
    /// do: with a position taken twice, the earlier backend keeps it).
    pub fn new<S: AsRef<str>>(backends: &[S]) -> HashRing {
        let mut taken = vec![false; MAX_POSITIONS as usize];
        let mut items = Vec::with_capacity(backends.len() * POSITIONS_PER_BACKEND);
        for (index, name) in backends.iter().enumerate() {
            let name = name.as_ref().as_bytes();
            for i in 0..POSITIONS_PER_BACKEND {
                let mut h = crc32fast::Hasher::new();
                h.update(name);
                h.update(&[i as u8]);
                let pos = h.finalize() % MAX_POSITIONS;
                if !std::mem::replace(&mut taken[pos as usize], true) {
                    items.push((pos, index as u32));
                }
            }
        }
        items.sort_unstable();
        HashRing {
            items,
            backends: backends.len(),
        }
    }

    /// How many backends the ring was built over.
    pub fn backends(&self) -> usize {
        self.backends
    }

    /// Positions on the ring (at most `backends × 100`; fewer where two collided).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the ring has no backend.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Index into `items` of the first ring position at or after `pos`, wrapping.
    fn first_at(&self, pos: u32) -> usize {
        let i = self.items.partition_point(|(p, _)| *p < pos);
        if i == self.items.len() { 0 } else { i }
    }

    /// The backend that owns position `pos`; `None` on an empty ring.
    pub fn owner(&self, pos: u32) -> Option<usize> {
        self.items.get(self.first_at(pos)).map(|(_, b)| *b as usize)
    }

    /// The backend that owns `key`.
    pub fn owner_of(&self, key: &[u8]) -> Option<usize> {
        self.owner(position(key))
    }

    /// The first backend at or after `pos` (going round the ring) that `usable` accepts:
    /// the owner while it is usable, otherwise the next backend on the ring, so a
    /// backend's share spreads over the others the way it would if it were removed.
    /// `None` when no backend is usable.
    pub fn owner_where(&self, pos: u32, usable: impl Fn(usize) -> bool) -> Option<usize> {
        let n = self.items.len();
        let start = self.first_at(pos);
        (0..n)
            .map(|k| self.items[(start + k) % n].1 as usize)
            .find(|b| usable(*b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        let mut v: Vec<String> = (0..n).map(|i| format!("10.0.0.{i}:4317")).collect();
        v.sort();
        v
    }

    /// Owners computed by an independent implementation of upstream's algorithm
    /// (Python, `zlib.crc32`, `bisect`):
    ///
    /// ```text
    /// def ring(eps):
    ///     used=set(); items=[]
    ///     for e in eps:
    ///         for i in range(100):
    ///             p = zlib.crc32(e.encode()+bytes([i])) % 36000
    ///             if p in used: continue
    ///             used.add(p); items.append((p,e))
    ///     return sorted(items)
    /// def owner(items, key):
    ///     i = bisect.bisect_left([p for p,_ in items], zlib.crc32(key) % 36000)
    ///     return items[0 if i == len(items) else i][1]
    /// ```
    #[test]
    fn matches_upstream_positions_and_owners() {
        let eps = ["backend-1:4317", "backend-2:4317", "backend-3:4317"];
        let ring = HashRing::new(&eps);
        assert_eq!(ring.len(), 297, "three positions collide");
        assert_eq!(&ring.items[..3], &[(44, 1), (107, 1), (304, 2)]);
        let want = [
            (0u8, 33493, 2),
            (1, 11895, 2),
            (2, 9808, 1),
            (3, 16434, 0),
            (4, 5886, 1),
            (5, 2908, 1),
            (6, 9019, 1),
            (7, 18905, 0),
        ];
        for (b, pos, owner) in want {
            let tid = [b; 16];
            assert_eq!(position(&tid), pos);
            assert_eq!(ring.owner_of(&tid), Some(owner), "trace id of {b:02x}");
        }
        assert_eq!(ring.owner_of(b"checkout"), Some(1));
        assert_eq!(ring.owner_of(b"frontend"), Some(0));
        assert_eq!(ring.owner_of(b""), Some(1));
        assert_eq!(HashRing::new::<&str>(&[]).owner(5), None);
    }

    fn trace_ids(n: u32) -> impl Iterator<Item = [u8; 16]> {
        // A cheap deterministic spread of ids (splitmix64).
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..n).map(move |_| {
            let mut id = [0u8; 16];
            for half in id.chunks_mut(8) {
                x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                half.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
            }
            id
        })
    }

    /// Upstream promises a standard deviation under 5 %; with 100 positions per
    /// backend each backend's share stays within a third of the fair share.
    #[test]
    fn shares_are_roughly_uniform() {
        for n in [2usize, 3, 5, 8] {
            let ring = HashRing::new(&names(n));
            let mut counts = vec![0u32; n];
            let total = 60_000;
            for id in trace_ids(total) {
                counts[ring.owner_of(&id).unwrap()] += 1;
            }
            let fair = f64::from(total) / n as f64;
            for (b, c) in counts.iter().enumerate() {
                let ratio = f64::from(*c) / fair;
                assert!(
                    (0.67..1.33).contains(&ratio),
                    "{n} backends: backend {b} has {c} of {total} ({ratio:.2} of its share)"
                );
            }
        }
    }

    /// Removing a backend moves exactly the keys it owned; adding one moves only keys
    /// to it.
    #[test]
    fn removing_or_adding_a_backend_moves_only_its_share() {
        let four = names(4);
        let three: Vec<String> = four
            .iter()
            .filter(|n| !n.ends_with(".2:4317"))
            .cloned()
            .collect();
        let (big, small) = (HashRing::new(&four), HashRing::new(&three));
        let (mut moved, mut owned_by_removed) = (0, 0);
        for id in trace_ids(20_000) {
            let before = &four[big.owner_of(&id).unwrap()];
            let after = &three[small.owner_of(&id).unwrap()];
            if before.ends_with(".2:4317") {
                owned_by_removed += 1;
            } else {
                assert_eq!(before, after, "a key of a remaining backend moved");
            }
            if before != after {
                moved += 1;
            }
        }
        assert_eq!(
            moved, owned_by_removed,
            "exactly the removed backend's keys moved"
        );
        assert!(
            owned_by_removed > 3_000,
            "the removed backend owned a fair share"
        );
    }

    #[test]
    fn a_failing_owner_hands_its_keys_to_the_next_backend_on_the_ring() {
        let eps = names(3);
        let ring = HashRing::new(&eps);
        let without_1 = HashRing::new(&[eps[0].clone(), eps[2].clone()]);
        for id in trace_ids(5_000) {
            let pos = position(&id);
            let owner = ring.owner(pos).unwrap();
            let fallback = ring.owner_where(pos, |b| b != 1).unwrap();
            if owner != 1 {
                assert_eq!(fallback, owner);
            }
            assert_ne!(fallback, 1);
            // Skipping a backend is the same as the ring without it (no collisions
            // between these names' positions would change that).
            let expected = [0, 2][without_1.owner(pos).unwrap()];
            assert_eq!(fallback, expected);
        }
        assert_eq!(ring.owner_where(7, |_| false), None);
    }
}
