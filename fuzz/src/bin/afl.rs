//! The AFL++ harness: `STRATUS_FUZZ_TARGET=<name> cargo afl fuzz ... stratus-fuzz-afl`
//! runs one target of `stratus_fuzz::TARGETS` in AFL++'s persistent mode. Built only
//! with the `afl` feature, by `scripts/fuzz`.

fn main() {
    let name = std::env::var("STRATUS_FUZZ_TARGET").unwrap_or_default();
    let Some(target) = stratus_fuzz::target(&name) else {
        let names: Vec<&str> = stratus_fuzz::TARGETS.iter().map(|(n, _)| *n).collect();
        eprintln!("set STRATUS_FUZZ_TARGET to one of: {}", names.join(", "));
        std::process::exit(2);
    };
    afl::fuzz!(|data: &[u8]| {
        target(data);
    });
}
