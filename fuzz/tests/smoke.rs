//! The smoke pass of every fuzz target, run by the test command: the checked-in
//! corpus (`fuzz/corpus/<target>/`, crash inputs included), the seeds built fresh from
//! the test kit, and a fixed number of deterministic mutations of them. A panic is a
//! failed test; the failing input is written under `fuzz/artifacts/smoke/`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use stratus_fuzz::mutate::{Rng, mutate};

/// Mutations per target: a few thousand, a second or two per target in a debug
/// build on an idle machine.
const MUTATIONS: usize = 2000;
/// A time bound too, so that a slow target keeps the test command fast on a loaded
/// machine (the mutations are the same on every run; a bound cut short runs fewer).
const BUDGET: Duration = Duration::from_secs(10);
/// Longest mutated input.
const MAX_LEN: usize = 16 * 1024;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

/// The checked-in corpus of `target`, sorted by name.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no corpus at {}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// Runs `target` on `data`, saving the input when it panics.
fn run_one(target: &str, what: &str, data: &[u8]) {
    let f = stratus_fuzz::target(target).unwrap();
    let result = std::panic::catch_unwind(|| f(data));
    if let Err(panic) = result {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("artifacts")
            .join("smoke")
            .join(target);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(what.replace('/', "_"));
        std::fs::write(&path, data).unwrap();
        std::panic::resume_unwind(panic_with(panic, &path));
    }
}

fn panic_with(panic: Box<dyn std::any::Any + Send>, path: &Path) -> Box<dyn std::any::Any + Send> {
    let msg = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    Box::new(format!("{msg} (input saved to {})", path.display()))
}

/// Replays the corpus and fresh seeds, then mutates them with a fixed seed.
fn smoke(target: &str) {
    let mut inputs = corpus(target);
    // The corpus holds the seeds, a few more, and every crash found so far.
    assert!(
        inputs.len() >= 4,
        "{target}: corpus too small ({} files)",
        inputs.len()
    );
    let fresh: Vec<_> = stratus_fuzz::seeds::all()
        .into_iter()
        .filter(|(t, _, _)| *t == target)
        .map(|(_, name, data)| (format!("fresh-{name}"), data))
        .collect();
    assert!(!fresh.is_empty(), "{target}: no seeds");
    inputs.extend(fresh);
    for (name, data) in &inputs {
        run_one(target, name, data);
    }
    let mut rng = Rng::new(0x5eed_0000 ^ target.len() as u64);
    let started = Instant::now();
    let mut done = 0;
    // The queue target writes files and starts a queue thread per input: fewer.
    let mutations = if target == "persistent_queue" {
        MUTATIONS / 4
    } else {
        MUTATIONS
    };
    while done < mutations && started.elapsed() < BUDGET {
        let (_, base) = &inputs[rng.below(inputs.len())];
        let (_, other) = &inputs[rng.below(inputs.len())];
        let mut data = base.clone();
        mutate(&mut rng, &mut data, other, MAX_LEN);
        run_one(target, &format!("mutation-{done}"), &data);
        done += 1;
    }
    assert!(done > 0);
    eprintln!(
        "{target}: {} inputs replayed, {done} mutations in {:.1?}",
        inputs.len(),
        started.elapsed()
    );
}

macro_rules! smoke_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                smoke(stringify!($name));
            }
        )*

        #[test]
        fn every_target_has_a_smoke_test() {
            let tested = [$(stringify!($name)),*];
            for (name, _) in stratus_fuzz::TARGETS {
                assert!(tested.contains(name), "no smoke test for {name}");
            }
        }
    };
}

smoke_tests!(
    otlp_proto,
    otlp_json,
    config,
    xray,
    emf,
    cloudwatch_logs,
    s3,
    application_insights,
    log_analytics,
    persistent_queue,
);
