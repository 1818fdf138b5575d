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
//! first and together. Symbols it no longer finds are skipped.
//!
//! **Read data first.** Constants are mapped the same way: a collector at idle reads
//! about 15 KiB of `.rodata` and `.data.rel.ro` (string literals, jump tables,
//! vtables), but spread over 1.7 MiB, which the kernel's fault-around kept resident.
//! `data-order.ld`, written by the same profiling run, is a linker script that only
//! *adds* to lld's default layout: it moves the input sections that were read (those
//! read at start and idle first, then those traffic reads) to the front
//! (`.rodata.hot` before `.rodata`, and the start of `.data.rel.ro`, still inside the
//! read-only-after-relocation segment).
//! Sections it no longer finds are skipped, as with the symbols.
//!
//! Set `STRATUS_SYMBOL_ORDER=off` when linking with a linker other than lld: it turns
//! off both files. `STRATUS_LINK_MAP=<path>` writes the linker's map there, which
//! `benches/symbol-order` reads to name what a profile touched.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=symbol-order.txt");
    println!("cargo:rerun-if-changed=data-order.ld");
    println!("cargo:rerun-if-env-changed=STRATUS_SYMBOL_ORDER");
    println!("cargo:rerun-if-env-changed=STRATUS_LINK_MAP");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    let dir = std::path::PathBuf::from(var("CARGO_MANIFEST_DIR"));
    let (order, data) = (dir.join("symbol-order.txt"), dir.join("data-order.ld"));
    let laid_out = var("TARGET") == "x86_64-unknown-linux-gnu"
        && var("PROFILE") == "release"
        && var("STRATUS_SYMBOL_ORDER") != "off";
    if laid_out && order.is_file() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
    if laid_out && data.is_file() {
        println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", data.display());
    }
    let map = var("STRATUS_LINK_MAP");
    if !map.is_empty() {
        println!("cargo:rustc-link-arg-bins=-Wl,-Map={map}");
    }
}
