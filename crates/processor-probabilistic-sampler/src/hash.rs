//! The `hash_seed` mode's hash: FNV-1a (32 bit) over the seed's four little-endian
//! bytes followed by the hashed bytes (the 16 trace-id bytes, or a log record
//! attribute), of which the low 14 bits pick one of 16384 buckets. This must stay
//! bit for bit what the collector computes, so that every collector with the same
//! seed keeps the same traces.

use crate::sampling::Randomness;

/// Buckets of the hash: 2^14.
pub const NUM_HASH_BUCKETS: u32 = 1 << 14;

/// `percentage × PERCENTAGE_SCALE_FACTOR` is the number of buckets kept. The
/// collector multiplies in `float32` by `float32(16384 / 100)`, the `f32` nearest to
/// 163.84.
pub const PERCENTAGE_SCALE_FACTOR: f32 = 163.84;

const FNV_OFFSET_BASIS: u32 = 2_166_136_261;
const FNV_PRIME: u32 = 16_777_619;

/// FNV-1a (32 bit) of `seed` (four bytes, least significant first) followed by `bytes`.
pub fn fnv1a32(seed: u32, bytes: &[u8]) -> u32 {
    seed.to_le_bytes()
        .iter()
        .chain(bytes)
        .fold(FNV_OFFSET_BASIS, |h, &b| {
            (h ^ u32::from(b)).wrapping_mul(FNV_PRIME)
        })
}

/// How many of the 16384 buckets `percentage` keeps: `uint32(pct * 163.84)`, the
/// product taken in `f32` and truncated, after clamping the percentage to 100
/// (`0` for 0, negative or NaN percentages, which the config check refuses anyway;
/// 16384 from 100 on).
pub fn scaled_sampling_rate(percentage: f32) -> u32 {
    let pct = if percentage > 100.0 {
        100.0
    } else {
        percentage
    };
    (pct * PERCENTAGE_SCALE_FACTOR) as u32
}

/// Whether the `hash_seed` mode keeps an item whose hashed bytes are `bytes`:
/// `fnv1a32(seed, bytes) & 0x3fff < scaled_sampling_rate(percentage)`. The sampler
/// itself decides through the equivalent thresholds ([`hash_threshold`],
/// [`randomness_from_bytes`]) so that it can write them into the tracestate.
pub fn hash_seed_keeps(seed: u32, percentage: f32, bytes: &[u8]) -> bool {
    fnv1a32(seed, bytes) & (NUM_HASH_BUCKETS - 1) < scaled_sampling_rate(percentage)
}

/// The OTEP 235 rejection threshold equivalent to keeping `scaled` buckets:
/// `(16384 - scaled) << 42`, the 14 bits at the top of the 56.
pub fn hash_threshold(scaled: u32) -> crate::sampling::Threshold {
    let reject = u64::from(NUM_HASH_BUCKETS.saturating_sub(scaled.min(NUM_HASH_BUCKETS)));
    crate::sampling::Threshold::from_unsigned(reject << 42)
        .unwrap_or(crate::sampling::Threshold::NEVER_SAMPLE)
}

/// The 56-bit randomness the `hash_seed` mode gives an item, laid out so that
/// `threshold <= randomness` decides exactly as `bucket < scaled` does:
///
/// - top 14 bits: `16383 - bucket` (where `bucket = hash & 0x3fff`),
/// - next 28 bits: the 18 unused hash bits `u` mixed as `u ^ (u << 10)`,
/// - low 14 bits: `bucket`.
///
/// It is what the sampler writes as `rv` (traces) or `sampling.randomness` (logs).
pub fn randomness_from_bytes(bytes: &[u8], seed: u32) -> Randomness {
    let hashed32 = fnv1a32(seed, bytes);
    let bucket = u64::from(hashed32 & (NUM_HASH_BUCKETS - 1));
    let rprime14 = u64::from(NUM_HASH_BUCKETS) - 1 - bucket;
    let unused18 = u64::from(hashed32 >> 14);
    let mixed28 = unused18 ^ (unused18 << 10);
    let rnd56 = (rprime14 << 42) | (mixed28 << 14) | bucket;
    Randomness::from_unsigned(rnd56).unwrap_or(Randomness::ALL_PROBABILITIES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tid(hex: &str) -> [u8; 16] {
        let mut out = [0u8; 16];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    #[test]
    fn scale_factor_is_the_collectors_float32() {
        assert_eq!(PERCENTAGE_SCALE_FACTOR, 16384f32 / 100f32);
        assert_eq!(PERCENTAGE_SCALE_FACTOR.to_bits(), 0x4323_d70a);
        assert_eq!(scaled_sampling_rate(100.0), 16384);
        assert_eq!(scaled_sampling_rate(250.0), 16384);
        assert_eq!(scaled_sampling_rate(50.0), 8192);
        assert_eq!(scaled_sampling_rate(10.0), 1638);
        assert_eq!(scaled_sampling_rate(33.3), 5455);
        assert_eq!(scaled_sampling_rate(0.01), 1);
        assert_eq!(scaled_sampling_rate(0.006), 0);
        assert_eq!(scaled_sampling_rate(0.0), 0);
        assert_eq!(scaled_sampling_rate(-1.0), 0);
        assert_eq!(scaled_sampling_rate(f32::NAN), 0);
    }

    /// Buckets of an empty input and of 16 zero bytes with seed 0, as contrib's
    /// `TestEmptyHashFunction` has them.
    #[test]
    fn fnv_matches_the_collector() {
        assert_eq!(fnv1a32(0, &[]) & 0x3fff, 0x3515);
        assert_eq!(fnv1a32(0, &[0; 16]) & 0x3fff, 0x2455);
        // Plain FNV-1a test vectors (no seed): the seed bytes come first.
        assert_eq!(
            b"a".iter()
                .fold(FNV_OFFSET_BASIS, |h, &b| (h ^ u32::from(b))
                    .wrapping_mul(FNV_PRIME)),
            0xe40c_292c
        );
    }

    /// Some of the (seed, trace id, kept at 50 %) examples of contrib's
    /// `TestHashingFunction`.
    #[test]
    fn fifty_percent_examples_of_the_collector() {
        let cases = [
            (653, "474a03c76d75951a4b4c537ced8f1122", true),
            (904, "4e40762d3ee97a1c0932e4fa584f89a8", false),
            (22, "66a66c516ac22054673e5da5e6492545", false),
            (546, "e3a345cc8dbb6f014bfa1edad3981820", true),
            (147, "a8a5c3bb9205883fae17ead6675b2450", false),
            (666, "3ee60b013303bcfda06be89071b90bd1", true),
            (6, "d6a68b47c66d1f94eed46b8ddc72faf4", false),
            (965, "022315846d42a38322d6fd26250444b3", true),
            (16, "2533c732bed8c1ba4721c25a1205f06c", false),
            (460, "60c3b9a2dde734d71ba5cca7eb164bce", true),
        ];
        for (seed, id, kept) in cases {
            let id = tid(id);
            assert_eq!(hash_seed_keeps(seed, 50.0, &id), kept, "seed {seed}");
            let th = hash_threshold(scaled_sampling_rate(50.0));
            assert_eq!(th.should_sample(randomness_from_bytes(&id, seed)), kept);
        }
    }

    /// The threshold form decides exactly as `bucket < scaled`, for every bucket.
    #[test]
    fn thresholds_decide_as_buckets_do() {
        for scaled in [0, 1, 1638, 5455, 8192, 16383, 16384] {
            let th = hash_threshold(scaled);
            for bucket in 0..NUM_HASH_BUCKETS {
                let rprime = u64::from(NUM_HASH_BUCKETS - 1 - bucket) << 42;
                // Any low 42 bits: the decision depends on the top 14 only.
                for low in [0, (1 << 42) - 1] {
                    let rnd = Randomness::from_unsigned(rprime | low).unwrap();
                    assert_eq!(th.should_sample(rnd), bucket < scaled, "{scaled} {bucket}");
                }
            }
        }
        assert_eq!(hash_threshold(16384).tvalue(), "0");
        assert_eq!(hash_threshold(8192).tvalue(), "8");
        assert_eq!(hash_threshold(scaled_sampling_rate(75.0)).tvalue(), "4");
        assert_eq!(hash_threshold(scaled_sampling_rate(25.0)).tvalue(), "c");
        assert_eq!(hash_threshold(scaled_sampling_rate(10.0)).tvalue(), "e668");
        assert_eq!(
            hash_threshold(scaled_sampling_rate(100.0 / 3.0)).tvalue(),
            "aaac"
        );
    }
}
