//! A small deterministic mutator for the smoke pass: the test command has no fuzz
//! engine, so it replays the corpus and a bounded number of mutations of it, the
//! same ones on every run (a fixed seed).

/// xorshift64*: small, fast and good enough to pick mutations.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced: xorshift must not start at 0).
    pub fn new(seed: u64) -> Self {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// Bytes that tend to matter: protobuf tags and lengths, JSON and YAML syntax.
const INTERESTING: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x1a, b'{', b'}', b'[', b']', b'"', b':', b'$', b'\\',
    b'\n', b'-', b'&', b'*',
];

/// Applies one to four random edits to `data` (bit flips, interesting bytes,
/// inserted and deleted runs, copied chunks, a splice with `other`), keeping it under
/// `max_len` bytes.
pub fn mutate(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8], max_len: usize) {
    for _ in 0..=rng.below(4) {
        let len = data.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(8);
                let byte = (rng.next_u64() & 0xff) as u8;
                data.splice(i..i, std::iter::repeat_n(byte, n));
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(16));
                data.drain(i..i + n);
            }
            4 if len > 1 => {
                // Copy a chunk elsewhere (duplicates protobuf fields, YAML keys).
                let from = rng.below(len);
                let n = 1 + rng.below((len - from).min(32));
                let chunk = data[from..from + n].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, chunk);
            }
            5 if !other.is_empty() => {
                // Splice: our head, the other input's tail.
                let cut = rng.below(len + 1);
                let from = rng.below(other.len());
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            6 if len > 0 => {
                let i = rng.below(len);
                data.truncate(i);
            }
            _ if len >= 4 => {
                // An arithmetic change to a little-endian word (lengths, counts).
                let i = rng.below(len - 3);
                let mut w = [0u8; 4];
                w.copy_from_slice(&data[i..i + 4]);
                let v = u32::from_le_bytes(w)
                    .wrapping_add(rng.below(33) as u32)
                    .wrapping_sub(16);
                data[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            _ => data.push((rng.next_u64() & 0xff) as u8),
        }
    }
    data.truncate(max_len);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_mutations() {
        let run = || {
            let mut rng = Rng::new(7);
            let mut data = b"hello world".to_vec();
            for _ in 0..100 {
                mutate(&mut rng, &mut data, b"other", 64);
            }
            data
        };
        assert_eq!(run(), run());
        assert_ne!(run(), b"hello world".to_vec());
    }

    #[test]
    fn stays_under_the_limit() {
        let mut rng = Rng::new(1);
        let mut data = Vec::new();
        for _ in 0..1000 {
            mutate(&mut rng, &mut data, &[7; 100], 50);
            assert!(data.len() <= 50);
        }
    }
}
