//! Link settings for the `stratus` binary on Linux, both there to keep the resident
//! memory of every running collector down (a DaemonSet multiplies it by the nodes).
//!
//! **Position-dependent.** A position-independent executable is relocated by the
//! dynamic loader at every start: it reads the 1.5 MiB of relocation records and
//! writes every pointer in `.data.rel.ro` (vtables, string tables), which turns about
//! 1.1 MiB of the binary into private memory. Linked at a fixed address, the pointers
//! are final in the file, so those pages are shared with the page cache or never
//! touched: idle RSS drops by about 2.6 MiB. Shared libraries, heap, stacks and
//! thread arenas are still placed at random addresses; only the binary's own image
//! is not. The code itself is still compiled position-independent (rustc's default),
//! so this only changes the final link, and only of this crate's binaries.
//!
//! **Executed code first.** The kernel maps a binary's code in large pieces around
//! each page a process touches, so the scattered 2.3 MiB of functions a running
//! collector executes kept 8 MiB of its 24 MiB of code resident. `symbol-order.txt`
//! (written by `benches/symbol-order`, which profiles a running stratus) lists those
//! functions, and release builds on x86_64 Linux, where rustc links with its own
//! `lld`, hand it to the linker (`--symbol-ordering-file`), which lays them out
//! first and together. Symbols it no longer finds are skipped. Set
//! `STRATUS_SYMBOL_ORDER=off` when linking with a linker other than lld.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=symbol-order.txt");
    println!("cargo:rerun-if-env-changed=STRATUS_SYMBOL_ORDER");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    let order = std::path::Path::new(&var("CARGO_MANIFEST_DIR")).join("symbol-order.txt");
    if var("TARGET") == "x86_64-unknown-linux-gnu"
        && var("PROFILE") == "release"
        && var("STRATUS_SYMBOL_ORDER") != "off"
        && order.is_file()
    {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
