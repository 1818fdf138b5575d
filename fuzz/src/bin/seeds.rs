//! Writes the seed corpus (`stratus_fuzz::seeds::all`) under a corpus directory,
//! `fuzz/corpus` by default: `cargo run -p stratus-fuzz --bin stratus-fuzz-seeds [DIR]`.

fn main() {
    let root = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus"));
    for (target, name, data) in stratus_fuzz::seeds::all() {
        let dir = root.join(target);
        let path = dir.join(&name);
        if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &data)) {
            eprintln!("cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
    }
}
