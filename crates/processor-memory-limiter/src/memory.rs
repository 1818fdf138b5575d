//! Where the memory numbers come from: the process's resident memory, the memory
//! available to it, and the limits derived from the config.

use std::io;
use std::path::{Path, PathBuf};

use crate::config::MemoryLimiterConfig;

const MIB: u64 = 1024 * 1024;

/// Page size assumed when the kernel's auxiliary vector cannot be read.
const DEFAULT_PAGE_SIZE: u64 = 4096;

/// cgroup v1 reports "no limit" as a number near `i64::MAX` (rounded down to a page);
/// anything this large is taken as unlimited.
const CGROUP_V1_UNLIMITED: u64 = 1 << 62;

/// A source of the process's current memory use; tests supply their own.
///
/// The limiter reads it every `check_interval`, and also on every `consume` when
/// [`is_live`](MemoryUsage::is_live) says a reading is cheap.
pub trait MemoryUsage: Send + Sync {
    /// Bytes of memory the process uses now.
    fn used_bytes(&self) -> io::Result<u64>;

    /// Whether a reading costs no more than an atomic load, so the limiter can decide
    /// on every request from a fresh one instead of from the last periodic sample.
    /// Default: `false`.
    fn is_live(&self) -> bool {
        false
    }
}

/// Live heap bytes from the allocator accounting the stratus binary installs
/// (`stratus_core::memory`): what the limiter measures when it is available, like the
/// collector measures its Go heap.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeapInUse;

impl MemoryUsage for HeapInUse {
    fn used_bytes(&self) -> io::Result<u64> {
        stratus_core::memory::heap_allocated()
            .map(|b| b as u64)
            .ok_or_else(|| io::Error::other("heap accounting is not installed"))
    }

    /// Reading the counting allocator is an atomic load.
    fn is_live(&self) -> bool {
        true
    }
}

/// The process's resident set size, read from `/proc/self/statm` (resident pages
/// times the page size). Reading it is a file read, so the limiter samples it every
/// `check_interval` rather than at every request.
#[derive(Debug, Clone)]
pub struct ProcessRss {
    statm: PathBuf,
    page_size: u64,
}

impl ProcessRss {
    /// Reads `/proc/self/statm`, with the page size from `/proc/self/auxv`.
    pub fn new() -> Self {
        ProcessRss::with_paths("/proc/self/statm", Path::new("/proc/self/auxv"))
    }

    /// Reads `statm`, with the page size from the auxiliary vector file `auxv`
    /// (4096 when it cannot be read).
    pub fn with_paths(statm: impl Into<PathBuf>, auxv: &Path) -> Self {
        let page_size = std::fs::read(auxv)
            .ok()
            .and_then(|bytes| page_size_from_auxv(&bytes))
            .unwrap_or(DEFAULT_PAGE_SIZE);
        ProcessRss {
            statm: statm.into(),
            page_size,
        }
    }

    /// The page size used to turn pages into bytes.
    pub fn page_size(&self) -> u64 {
        self.page_size
    }
}

impl Default for ProcessRss {
    fn default() -> Self {
        ProcessRss::new()
    }
}

impl MemoryUsage for ProcessRss {
    fn used_bytes(&self) -> io::Result<u64> {
        let text = std::fs::read_to_string(&self.statm)?;
        let pages = resident_pages(&text).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unexpected contents in {}", self.statm.display()),
            )
        })?;
        Ok(pages.saturating_mul(self.page_size))
    }
}

/// The second field of `statm`: resident pages.
fn resident_pages(statm: &str) -> Option<u64> {
    statm.split_whitespace().nth(1)?.parse().ok()
}

/// `AT_PAGESZ` from the auxiliary vector: pairs of native-endian words, ended by
/// `AT_NULL`.
fn page_size_from_auxv(bytes: &[u8]) -> Option<u64> {
    const AT_NULL: u64 = 0;
    const AT_PAGESZ: u64 = 6;
    let word = std::mem::size_of::<usize>();
    let read = |chunk: &[u8]| -> Option<u64> {
        let mut buf = [0u8; 8];
        match word {
            8 => buf.copy_from_slice(chunk),
            4 => {
                let v = u32::from_ne_bytes(chunk.try_into().ok()?);
                return Some(u64::from(v));
            }
            _ => return None,
        }
        Some(u64::from_ne_bytes(buf))
    };
    for pair in bytes.chunks_exact(2 * word) {
        let key = read(&pair[..word])?;
        let value = read(&pair[word..])?;
        match key {
            AT_NULL => return None,
            AT_PAGESZ if value > 0 => return Some(value),
            _ => {}
        }
    }
    None
}

/// The memory available to the process: its cgroup's memory limit when one is set,
/// else the machine's physical memory (the smaller of the two when both are known).
#[derive(Debug, Clone)]
pub struct SystemMemory {
    cgroup_v2_max: PathBuf,
    cgroup_v1_limit: PathBuf,
    meminfo: PathBuf,
}

impl Default for SystemMemory {
    fn default() -> Self {
        SystemMemory::under_root(Path::new("/"))
    }
}

impl SystemMemory {
    /// Reads the usual files below `root` instead of `/`:
    /// `sys/fs/cgroup/memory.max` (cgroup v2),
    /// `sys/fs/cgroup/memory/memory.limit_in_bytes` (cgroup v1) and `proc/meminfo`.
    pub fn under_root(root: &Path) -> Self {
        SystemMemory {
            cgroup_v2_max: root.join("sys/fs/cgroup/memory.max"),
            cgroup_v1_limit: root.join("sys/fs/cgroup/memory/memory.limit_in_bytes"),
            meminfo: root.join("proc/meminfo"),
        }
    }

    /// The cgroup memory limit in bytes, if the process has one.
    pub fn cgroup_limit_bytes(&self) -> Option<u64> {
        if let Ok(text) = std::fs::read_to_string(&self.cgroup_v2_max) {
            // `max` means no limit.
            return text.trim().parse().ok();
        }
        let text = std::fs::read_to_string(&self.cgroup_v1_limit).ok()?;
        text.trim()
            .parse()
            .ok()
            .filter(|&v: &u64| v < CGROUP_V1_UNLIMITED)
    }

    /// Physical memory in bytes (`MemTotal` of `meminfo`).
    pub fn physical_bytes(&self) -> io::Result<u64> {
        let text = std::fs::read_to_string(&self.meminfo)?;
        mem_total(&text).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("no MemTotal line in {}", self.meminfo.display()),
            )
        })
    }

    /// The memory available to the process, in bytes.
    pub fn total_bytes(&self) -> io::Result<u64> {
        match (self.cgroup_limit_bytes(), self.physical_bytes()) {
            (Some(cgroup), Ok(physical)) => Ok(cgroup.min(physical)),
            (Some(cgroup), Err(_)) => Ok(cgroup),
            (None, physical) => physical,
        }
    }
}

/// `MemTotal:   16318412 kB` in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut fields = line["MemTotal:".len()..].split_whitespace();
    let value: u64 = fields.next()?.parse().ok()?;
    let scale = match fields.next() {
        Some("kB") => 1024,
        None => 1,
        Some(_) => return None,
    };
    value.checked_mul(scale)
}

/// The two thresholds the limiter works with, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The hard limit (`limit_mib`, or `limit_percentage` of the total).
    pub hard_bytes: u64,
    /// The soft limit: the hard limit minus the spike limit. Data is refused while
    /// memory use is at or above it.
    pub soft_bytes: u64,
}

impl Limits {
    /// Limits from a hard limit and a spike limit in bytes; a spike limit of zero
    /// means 20% of the hard limit.
    pub fn new(hard_bytes: u64, spike_bytes: u64) -> Self {
        let spike = if spike_bytes == 0 {
            hard_bytes / 5
        } else {
            spike_bytes
        };
        Limits {
            hard_bytes,
            soft_bytes: hard_bytes.saturating_sub(spike),
        }
    }

    /// The limits a (validated) config describes. Percentages are taken of
    /// `system`'s total, which is only read when `limit_mib` is not set.
    pub fn from_config(config: &MemoryLimiterConfig, system: &SystemMemory) -> io::Result<Self> {
        if config.limit_mib > 0 {
            return Ok(Limits::new(
                u64::from(config.limit_mib) * MIB,
                u64::from(config.spike_limit_mib) * MIB,
            ));
        }
        let total = system.total_bytes()?;
        let percent = |p: u32| u64::try_from(u128::from(total) * u128::from(p) / 100);
        let hard = percent(config.limit_percentage).map_err(io::Error::other)?;
        let spike = percent(config.spike_limit_percentage).map_err(io::Error::other)?;
        Ok(Limits::new(hard, spike))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn config(limit_pct: u32, spike_pct: u32) -> MemoryLimiterConfig {
        MemoryLimiterConfig {
            check_interval: std::time::Duration::from_secs(1),
            limit_percentage: limit_pct,
            spike_limit_percentage: spike_pct,
            ..Default::default()
        }
    }

    const MEMINFO: &str = "MemTotal:        8000000 kB\nMemFree:   100 kB\n";

    #[test]
    fn percentage_of_a_cgroup_v2_limit() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "sys/fs/cgroup/memory.max", "1073741824\n");
        write(dir.path(), "proc/meminfo", MEMINFO);
        let system = SystemMemory::under_root(dir.path());
        assert_eq!(system.total_bytes().unwrap(), 1 << 30);
        let limits = Limits::from_config(&config(50, 10), &system).unwrap();
        assert_eq!(limits.hard_bytes, 512 * MIB);
        assert_eq!(limits.soft_bytes, 512 * MIB - (1 << 30) / 10);
        // No spike percentage: 20% of the hard limit.
        let limits = Limits::from_config(&config(50, 0), &system).unwrap();
        assert_eq!(limits.soft_bytes, 512 * MIB - 512 * MIB / 5);
    }

    #[test]
    fn percentage_of_a_cgroup_v1_limit() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "sys/fs/cgroup/memory/memory.limit_in_bytes",
            "2147483648\n",
        );
        write(dir.path(), "proc/meminfo", MEMINFO);
        let limits =
            Limits::from_config(&config(25, 5), &SystemMemory::under_root(dir.path())).unwrap();
        assert_eq!(limits.hard_bytes, 512 * MIB);
        assert_eq!(limits.soft_bytes, 512 * MIB - 2147483648 / 20);
    }

    #[test]
    fn unlimited_cgroups_fall_back_to_physical_memory() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "sys/fs/cgroup/memory.max", "max\n");
        write(dir.path(), "proc/meminfo", MEMINFO);
        let system = SystemMemory::under_root(dir.path());
        assert_eq!(system.cgroup_limit_bytes(), None);
        assert_eq!(system.total_bytes().unwrap(), 8_000_000 * 1024);

        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "sys/fs/cgroup/memory/memory.limit_in_bytes",
            "9223372036854771712\n",
        );
        write(dir.path(), "proc/meminfo", MEMINFO);
        let system = SystemMemory::under_root(dir.path());
        assert_eq!(system.cgroup_limit_bytes(), None);
        let limits = Limits::from_config(&config(50, 0), &system).unwrap();
        assert_eq!(limits.hard_bytes, 4_000_000 * 1024);
    }

    #[test]
    fn a_cgroup_limit_above_physical_memory_is_capped() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "sys/fs/cgroup/memory.max", "999999999999\n");
        write(dir.path(), "proc/meminfo", MEMINFO);
        let system = SystemMemory::under_root(dir.path());
        assert_eq!(system.total_bytes().unwrap(), 8_000_000 * 1024);
    }

    #[test]
    fn missing_or_garbled_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let system = SystemMemory::under_root(dir.path());
        assert!(system.total_bytes().is_err());
        assert!(Limits::from_config(&config(50, 0), &system).is_err());
        write(dir.path(), "proc/meminfo", "MemFree: 12 kB\n");
        let err = system.total_bytes().unwrap_err();
        assert!(err.to_string().contains("MemTotal"), "{err}");
        // A fixed limit never reads the system.
        let fixed = MemoryLimiterConfig {
            limit_mib: 100,
            spike_limit_mib: 30,
            ..config(0, 0)
        };
        let limits = Limits::from_config(&fixed, &system).unwrap();
        assert_eq!(limits.hard_bytes, 100 * MIB);
        assert_eq!(limits.soft_bytes, 70 * MIB);
    }

    #[test]
    fn fixed_limits_default_the_spike_to_a_fifth() {
        assert_eq!(
            Limits::new(100, 0),
            Limits {
                hard_bytes: 100,
                soft_bytes: 80
            }
        );
        assert_eq!(Limits::new(100, 30).soft_bytes, 70);
    }

    #[test]
    fn rss_is_resident_pages_times_page_size() {
        let dir = tempfile::tempdir().unwrap();
        let statm = dir.path().join("statm");
        fs::write(&statm, "5000 1200 300 10 0 900 0\n").unwrap();
        let rss = ProcessRss::with_paths(&statm, &dir.path().join("no-auxv"));
        assert_eq!(rss.page_size(), 4096);
        assert_eq!(rss.used_bytes().unwrap(), 1200 * 4096);
        fs::write(&statm, "garbage").unwrap();
        assert_eq!(
            rss.used_bytes().unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        fs::remove_file(&statm).unwrap();
        assert!(rss.used_bytes().is_err());
    }

    #[test]
    fn page_size_comes_from_the_auxiliary_vector() {
        let word = std::mem::size_of::<usize>();
        let mut auxv = Vec::new();
        for (k, v) in [(33usize, 7usize), (6, 16384), (0, 0)] {
            auxv.extend_from_slice(&k.to_ne_bytes());
            auxv.extend_from_slice(&v.to_ne_bytes());
        }
        assert_eq!(auxv.len(), 6 * word);
        assert_eq!(page_size_from_auxv(&auxv), Some(16384));
        assert_eq!(page_size_from_auxv(&auxv[..2 * word]), None);
        assert_eq!(page_size_from_auxv(&[]), None);
    }

    #[test]
    fn reads_this_process() {
        // The real files exist on Linux, which stratus runs on.
        let rss = ProcessRss::new();
        assert!(rss.page_size() >= 4096);
        assert!(rss.used_bytes().unwrap() > 0);
        assert!(SystemMemory::default().total_bytes().unwrap() > 0);
    }
}
