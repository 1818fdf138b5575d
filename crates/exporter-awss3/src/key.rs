//! Object keys, as upstream builds them (contrib
//! `exporter/awss3exporter/internal/upload/partition.go`, `PartitionKeyBuilder`):
//!
//! ```text
//! [s3_base_prefix/][s3_prefix/]<strftime(s3_partition_format)>/<file_prefix><traces|metrics|logs>_<unique>.<json|binpb|txt>[.gz|.zst]
//! ```
//!
//! joined as Go's `path.Join` joins them: empty parts are skipped and the result is
//! cleaned, so an `s3_prefix` of `traces/` makes no double slash (`traces/year=...`),
//! while a leading `/` is kept.
//!
//! The unique part makes keys collision-free. Its input is passed in (the time and
//! random bits), so building a key reads no clock and no random source:
//! - [`UniqueKeyFunc::UuidV7`] (stratus's default, upstream's
//!   `unique_key_func_name: uuidv7`): a UUID version 7 from the time in milliseconds
//!   and 74 random bits, collision-free across any fleet in practice;
//! - [`UniqueKeyFunc::Random`] (`unique_key_func_name: random`): upstream's default, a
//!   random integer in `[100000000, 999999999)`. Its 30 bits collide in earnest
//!   once many collectors write to one partition (at 1,000 objects per partition
//!   about one in 2,000 partitions loses an object), which is why stratus does not
//!   default to it.

use std::time::SystemTime;

use stratus_core::Signal;

use crate::marshal::Compression;
use crate::partition::{PartitionFormat, TimeZone};

/// How the unique part of a key is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UniqueKeyFunc {
    /// A UUID version 7 (time-ordered, 74 random bits). The default.
    #[default]
    UuidV7,
    /// Upstream's default: a random 9-digit integer. May collide across a fleet.
    Random,
}

impl UniqueKeyFunc {
    /// The unique part of a key for an object written at `unix_ms` (Unix milliseconds)
    /// with `random` bits from a random source.
    pub fn unique(&self, unix_ms: u64, random: u128) -> String {
        match self {
            UniqueKeyFunc::UuidV7 => uuid_v7(unix_ms, random),
            UniqueKeyFunc::Random => {
                // Upstream: minOffset + rand.IntN(uniqueValues - minOffset).
                const MIN: u128 = 100_000_000;
                const SPAN: u128 = 999_999_999 - 100_000_000;
                (MIN + random % SPAN).to_string()
            }
        }
    }
}

/// A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, the version, 12 random
/// bits, the variant, 62 random bits; written lowercase with hyphens.
pub fn uuid_v7(unix_ms: u64, random: u128) -> String {
    let ms = u128::from(unix_ms & 0xFFFF_FFFF_FFFF);
    let rand_a = (random >> 62) & 0xFFF;
    let rand_b = random & ((1u128 << 62) - 1);
    let value = (ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b;
    let hex = format!("{value:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The telemetry name in a key (upstream `Metadata`): `traces`, `metrics` or `logs`.
pub fn signal_name(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "traces",
        Signal::Metrics => "metrics",
        Signal::Logs => "logs",
    }
}

/// Builds the keys of one exporter's objects for one signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBuilder {
    /// `s3_base_prefix` and `s3_prefix`, in that order (either may be empty).
    pub prefixes: [String; 2],
    /// `s3_partition_format`.
    pub partition: PartitionFormat,
    /// `s3_partition_timezone`.
    pub timezone: TimeZone,
    /// `file_prefix`.
    pub file_prefix: String,
    /// `traces`, `metrics` or `logs`.
    pub signal: Signal,
    /// The file extension without the dot (`json`, `binpb`, `txt`).
    pub extension: &'static str,
    /// The compression, whose extension follows (`.gz`, `.zst`).
    pub compression: Compression,
    /// How the unique part is made.
    pub unique: UniqueKeyFunc,
}

impl KeyBuilder {
    /// The partition part of keys written at `time` (`[base/][prefix/]<partition>`).
    pub fn partition_prefix(&self, time: SystemTime) -> String {
        let partition = self.partition.format(time, &self.timezone);
        path_join(&[&self.prefixes[0], &self.prefixes[1], &partition])
    }

    /// The file name for an object with unique part `unique`.
    pub fn file_name(&self, unique: &str) -> String {
        let mut name = String::with_capacity(self.file_prefix.len() + unique.len() + 24);
        name.push_str(&self.file_prefix);
        name.push_str(signal_name(self.signal));
        name.push('_');
        name.push_str(unique);
        if !self.extension.is_empty() {
            name.push('.');
            name.push_str(self.extension);
        }
        name.push_str(self.compression.extension());
        name
    }

    /// The key of an object written at `time`, its unique part made from `time` and
    /// `random` (bits from a random source).
    pub fn build(&self, time: SystemTime, random: u128) -> String {
        let unix_ms = time
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let unique = self.unique.unique(unix_ms, random);
        self.build_with_unique(time, &unique)
    }

    /// The key of an object written at `time` with a given unique part.
    pub fn build_with_unique(&self, time: SystemTime, unique: &str) -> String {
        path_join(&[&self.partition_prefix(time), &self.file_name(unique)])
    }
}

/// Go's `path.Join`: the non-empty elements joined with `/`, then cleaned (repeated
/// slashes collapsed, `.` dropped, `..` resolved, no trailing slash; a leading `/`
/// kept). All empty gives `""`.
pub fn path_join(parts: &[&str]) -> String {
    let mut joined = String::new();
    for part in parts.iter().filter(|p| !p.is_empty()) {
        if !joined.is_empty() {
            joined.push('/');
        }
        joined.push_str(part);
    }
    if joined.is_empty() {
        return joined;
    }
    clean(&joined)
}

/// Go's `path.Clean`.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => match segments.last() {
                Some(&last) if last != ".." => {
                    segments.pop();
                }
                _ if rooted => {}
                _ => segments.push(".."),
            },
            s => segments.push(s),
        }
    }
    let body = segments.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_string(),
        (false, false) => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marshal::Marshaler;
    use crate::partition::DEFAULT_PARTITION_FORMAT;
    use std::time::Duration;

    /// 2024-01-24T06:40:20Z, upstream's test time.
    fn t() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_706_078_420)
    }

    fn builder(
        prefix: &str,
        format: &str,
        file_prefix: &str,
        signal: Signal,
        marshaler: Marshaler,
        compression: Compression,
    ) -> KeyBuilder {
        KeyBuilder {
            prefixes: [String::new(), prefix.to_string()],
            partition: PartitionFormat::parse(format).unwrap(),
            timezone: TimeZone::utc(),
            file_prefix: file_prefix.to_string(),
            signal,
            extension: marshaler.extension(),
            compression,
            unique: UniqueKeyFunc::Random,
        }
    }

    // Upstream TestPartitionKeyInputsNewPartitionKey and the brief's example.
    #[test]
    fn keys_table() {
        use Compression::*;
        use Marshaler::*;
        let cases = [
            (
                "empty values",
                builder("", "", "", Signal::Logs, Body, None),
                "logs_fixed.txt",
            ),
            (
                "no compression set",
                builder(
                    "/telemetry",
                    DEFAULT_PARTITION_FORMAT,
                    "signal-output-",
                    Signal::Metrics,
                    OtlpJson,
                    None,
                ),
                "/telemetry/year=2024/month=01/day=24/hour=06/minute=40/signal-output-metrics_fixed.json",
            ),
            (
                "gzip compression set",
                builder(
                    "/telemetry",
                    DEFAULT_PARTITION_FORMAT,
                    "signal-output-",
                    Signal::Metrics,
                    OtlpJson,
                    Gzip,
                ),
                "/telemetry/year=2024/month=01/day=24/hour=06/minute=40/signal-output-metrics_fixed.json.gz",
            ),
            (
                "zstd, proto",
                builder(
                    "foo-prefix1",
                    DEFAULT_PARTITION_FORMAT,
                    "",
                    Signal::Traces,
                    OtlpProto,
                    Zstd,
                ),
                "foo-prefix1/year=2024/month=01/day=24/hour=06/minute=40/traces_fixed.binpb.zst",
            ),
            (
                "the brief: s3_prefix traces/, hour partition, gzip",
                builder(
                    "traces/",
                    "year=%Y/month=%m/day=%d/hour=%H",
                    "",
                    Signal::Traces,
                    OtlpJson,
                    Gzip,
                ),
                "traces/year=2024/month=01/day=24/hour=06/traces_fixed.json.gz",
            ),
            (
                "prefix with slashes on both ends",
                builder("/a//b/", "%Y", "", Signal::Logs, OtlpJson, None),
                "/a/b/2024/logs_fixed.json",
            ),
            (
                "partition format with a trailing slash",
                builder("p", "%Y/%m/", "", Signal::Logs, OtlpJson, None),
                "p/2024/01/logs_fixed.json",
            ),
            (
                "file prefix is kept verbatim",
                builder("p", "%Y", "collector-1-", Signal::Logs, OtlpJson, None),
                "p/2024/collector-1-logs_fixed.json",
            ),
        ];
        for (name, b, want) in cases {
            assert_eq!(b.build_with_unique(t(), "fixed"), want, "{name}");
        }
    }

    // Upstream TestPartitionKeyInputsBucketPrefix.
    #[test]
    fn partition_prefix_table() {
        let mk = |base: &str, prefix: &str, format: &str| {
            let mut b = builder(
                prefix,
                format,
                "",
                Signal::Logs,
                Marshaler::OtlpJson,
                Compression::None,
            );
            b.prefixes[0] = base.to_string();
            b.partition_prefix(t())
        };
        let cases = [
            (("", "", ""), ""),
            (
                ("", "", DEFAULT_PARTITION_FORMAT),
                "year=2024/month=01/day=24/hour=06/minute=40",
            ),
            (("", "", "%Y/%m/%d/%H/%M"), "2024/01/24/06/40"),
            (("", "foo1", ""), "foo1"),
            (
                ("", "bar2", DEFAULT_PARTITION_FORMAT),
                "bar2/year=2024/month=01/day=24/hour=06/minute=40",
            ),
            (("", "foo3", "%Y/%m/%d/%H/%M"), "foo3/2024/01/24/06/40"),
            // s3_base_prefix goes before s3_prefix.
            (("base", "foo3", "%Y"), "base/foo3/2024"),
            (("base/", "", "%Y"), "base/2024"),
        ];
        for ((base, prefix, format), want) in cases {
            assert_eq!(
                mk(base, prefix, format),
                want,
                "{base:?} {prefix:?} {format:?}"
            );
        }
    }

    // Upstream TestPartitionKeyInputsFilename.
    #[test]
    fn file_name_table() {
        let b = builder(
            "",
            "",
            "collector-capture-",
            Signal::Metrics,
            Marshaler::OtlpJson,
            Compression::None,
        );
        assert_eq!(b.file_name("buzz"), "collector-capture-metrics_buzz.json");
        let b = builder(
            "",
            "",
            "collector-capture-",
            Signal::Metrics,
            Marshaler::OtlpJson,
            Compression::Gzip,
        );
        assert_eq!(
            b.file_name("buzz"),
            "collector-capture-metrics_buzz.json.gz"
        );
        let b = builder("", "", "", Signal::Logs, Marshaler::Body, Compression::Zstd);
        assert_eq!(b.file_name("buzz"), "logs_buzz.txt.zst");
    }

    #[test]
    fn uuid_v7_layout() {
        let id = uuid_v7(0x0190_1234_5678, u128::MAX);
        assert_eq!(id, "01901234-5678-7fff-bfff-ffffffffffff");
        let id = uuid_v7(0x0190_1234_5678, 0);
        assert_eq!(id, "01901234-5678-7000-8000-000000000000");
        // Version and variant nibbles, whatever the random bits.
        for r in [1u128, 0xdead_beef, 1 << 100, u128::MAX / 3] {
            let id = uuid_v7(1_706_078_420_000, r);
            assert_eq!(id.len(), 36);
            assert_eq!(&id[14..15], "7");
            assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        }
        // Ordered by time.
        assert!(uuid_v7(1, u128::MAX) < uuid_v7(2, 0));
    }

    // Upstream TestPartitionKeyInputsUniqueKey: distinct inputs give distinct keys.
    #[test]
    fn unique_parts_do_not_repeat() {
        let b = builder(
            "p",
            DEFAULT_PARTITION_FORMAT,
            "",
            Signal::Traces,
            Marshaler::OtlpJson,
            Compression::Gzip,
        );
        let mut b7 = b.clone();
        b7.unique = UniqueKeyFunc::UuidV7;
        let mut seen = std::collections::HashSet::new();
        // A simple generator standing in for the random source.
        let mut state: u128 = 0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834;
        for _ in 0..500 {
            state = state
                .wrapping_mul(0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645)
                .wrapping_add(1);
            assert!(seen.insert(b.build(t(), state)));
            assert!(seen.insert(b7.build(t(), state)));
        }
        let r = UniqueKeyFunc::Random;
        for random in [0u128, 1, 899_999_998, 899_999_999, u128::MAX] {
            let v: u64 = r.unique(0, random).parse().unwrap();
            assert!((100_000_000..999_999_999).contains(&v), "{v}");
        }
        let key = b7.build(t(), 42);
        assert!(
            key.starts_with("p/year=2024/month=01/day=24/hour=06/minute=40/traces_018d3a"),
            "{key}"
        );
        assert!(key.ends_with(".json.gz"), "{key}");
    }

    #[test]
    fn path_join_is_go_path_join() {
        // Expected values from Go's path.Join.
        let cases: &[(&[&str], &str)] = &[
            (&["a", "b"], "a/b"),
            (&["a/", "b"], "a/b"),
            (&["a/", "/b"], "a/b"),
            (&["", "b"], "b"),
            (&["", ""], ""),
            (&["/", "b"], "/b"),
            (&["a", "../b"], "b"),
            (&["a", "./b/."], "a/b"),
            (&["../a", "b"], "../a/b"),
            (&["/..", "b"], "/b"),
            (&["a", ".."], "."),
        ];
        for (parts, want) in cases {
            assert_eq!(path_join(parts), *want, "{parts:?}");
        }
    }
}
