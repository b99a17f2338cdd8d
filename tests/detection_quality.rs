//! Detection quality of the real `phimesh` binary on a freshly generated synthetic corpus.
//!
//! Generates a labelled corpus (both template families, every format, a few bodies of several
//! hundred KB) with `corpus/gen.py` into a temporary directory, then runs `corpus/quality.py`
//! against the binary Cargo just built. The table of recall, precision and false-positive rate per
//! family and format is printed (`cargo test --test detection_quality -- --nocapture`); the test
//! fails when overall recall is below 0.97 or the false-positive rate above 0.01. (Seeds 20240601,
//! 1, 2 and 3 at this size gave recall 0.989-0.994 with no false positive when the floors were
//! raised.) The tuned `fresh` and `blind4` families have floors of their own below.
//!
//! The corpus is synthetic (no real PHI) and deterministic for a given seed.

use std::path::Path;
use std::process::Command;

const SEED: &str = "20240601";
const PER_FORMAT: &str = "40";
const MIN_RECALL: &str = "0.97";
const MAX_FPR: &str = "0.01";

#[test]
fn detection_quality_on_synthetic_corpus() {
    quality("both", MIN_RECALL, MAX_FPR);
}

/// `fresh`, `blind4`, `blind5`, `blind6` and `blind7` were each measured blind first (README)
/// and the detectors were then tuned on their miss classes (blind6: its one false-positive
/// template, Prometheus samples next to a `kind="ssn"` label). These floors keep what that
/// tuning gained (seeds 20240601, 1, 2 and 3 at this size: fresh 0.977-1.000, blind4
/// 0.942-0.958, blind5 0.885-0.900, blind6 0.996-1.000, blind7 0.996-1.000, no false
/// positive); they are gates against regressions, not estimates.
#[test]
fn tuned_families_keep_their_recall() {
    quality("fresh", "0.96", MAX_FPR);
    quality("blind4", "0.92", MAX_FPR);
    quality("blind5", "0.85", MAX_FPR);
    quality("blind6", "0.98", MAX_FPR);
    quality("blind7", "0.98", MAX_FPR);
}

/// `evasion` (PHI base64-, UTF-16-, HTML-, percent-, quoted-printable-encoded, compressed, in
/// Unicode look-alikes, nested) was written blind and measured before the engine decoded any of
/// it: recall 0.169 (seed 1). With the decoders: 0.953 (seed 1), 0.944 (seed 2), 0.956 at this
/// size; its false positives are the recipient address of a patient letter with masked values
/// (read as a patient's e-mail). This floor keeps the decoders from regressing.
#[test]
fn encoded_phi_is_found() {
    quality("evasion", "0.93", "0.03");
}

fn quality(family: &str, min_recall: &str, max_fpr: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = env!("CARGO_BIN_EXE_phimesh");
    let dir = tempfile::tempdir().expect("temporary directory");
    let corpus = dir.path().to_str().expect("utf-8 temporary path");

    let gen = Command::new("python3")
        .arg(root.join("corpus/gen.py"))
        .args(["--out", corpus, "--seed", SEED, "--per-format", PER_FORMAT])
        .args(["--family", family, "--large-every", "40"])
        .output()
        .expect("python3 must be installed (scripts/setup)");
    assert!(
        gen.status.success(),
        "corpus/gen.py failed: {}",
        String::from_utf8_lossy(&gen.stderr)
    );

    let quality = Command::new("python3")
        .arg(root.join("corpus/quality.py"))
        .args(["--corpus", corpus, "--bin", bin])
        .args(["--min-recall", min_recall, "--max-fpr", max_fpr])
        .output()
        .expect("run corpus/quality.py");
    // The table names files and formats only, never a matched value.
    println!("{}", String::from_utf8_lossy(&quality.stdout));
    eprintln!("{}", String::from_utf8_lossy(&quality.stderr));
    assert!(
        quality.status.success(),
        "detection quality of {family} below target (recall >= {min_recall}, false-positive rate \
         <= {max_fpr}); see the table above"
    );
}
