//! Reading fuzz bytes as choices, for targets that build structured input from them.
//!
//! Every read succeeds: once the bytes run out, reads return zero, the first of a
//! list, the empty string. So any input builds *some* value, and a longer input
//! builds a richer one.

/// Fuzz bytes consumed front to back.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// Reads `data` from its start.
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    /// Whether every byte was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte, or 0.
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    /// The next `n` bytes (fewer at the end).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    /// A little-endian u32 from the next four bytes (missing bytes are zero).
    pub fn u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        let got = self.bytes(4);
        b[..got.len()].copy_from_slice(got);
        u32::from_le_bytes(b)
    }

    /// A little-endian u64 from the next eight bytes (missing bytes are zero).
    pub fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        let got = self.bytes(8);
        b[..got.len()].copy_from_slice(got);
        u64::from_le_bytes(b)
    }

    /// A number in `0..=max`.
    pub fn below(&mut self, max: usize) -> usize {
        if max == 0 {
            return 0;
        }
        let v = if max < 256 {
            usize::from(self.u8())
        } else {
            self.u32() as usize
        };
        v % (max + 1)
    }

    /// One of `items` (the first when out of bytes). `items` must not be empty.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        let i = self.below(items.len().saturating_sub(1));
        items[i]
    }

    /// A boolean.
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// What is left, consumed whole.
    pub fn rest(&mut self) -> &'a [u8] {
        let rest = self.data;
        self.data = &[];
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_run_dry_to_zero() {
        let mut input = Input::new(&[1, 2, 3]);
        assert_eq!(input.u8(), 1);
        assert_eq!(input.u32(), 0x0302);
        assert!(input.is_empty());
        assert_eq!(input.u64(), 0);
        assert_eq!(input.pick(&["a", "b"]), "a");
        assert_eq!(input.below(0), 0);
    }

    #[test]
    fn below_stays_in_range() {
        let data: Vec<u8> = (0..=255).collect();
        let mut input = Input::new(&data);
        for _ in 0..256 {
            assert!(input.below(6) <= 6);
        }
    }
}
