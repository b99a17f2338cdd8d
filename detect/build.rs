//! Compiles the built-in detectors into Hyperscan databases at build time and embeds them
//! (`$OUT_DIR/engine.bin`), so that `phimesh scan` and the proxy start without running Hyperscan's
//! compiler. The engine uses them only when they match its rule set and run on the CPU at hand;
//! otherwise it compiles at start, as it would without them. Cross builds embed nothing: the
//! databases are compiled for the machine that builds.

use std::path::PathBuf;

use phimesh_rules::{plan, rules};

fn main() {
    // The rules are a build dependency: Cargo reruns this script when they change.
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PHIMESH_NO_PRECOMPILE");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let native = std::env::var("HOST").ok() == std::env::var("TARGET").ok();
    let bytes = if native && std::env::var_os("PHIMESH_NO_PRECOMPILE").is_none() {
        let rules = rules::builtin();
        match plan::compile(&rules).and_then(|c| plan::encode(&c, plan::fingerprint(&rules))) {
            Ok(b) => b,
            Err(e) => {
                println!("cargo:warning=detectors not precompiled, they compile at start: {e}");
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    std::fs::write(out.join("engine.bin"), bytes).expect("write engine.bin");
}
