//! Kubernetes schema validation for the `deploy_manifests` and `inject_cli` tests: the real
//! `kubernetes-validate` (PyPI, installed by `scripts/setup`) in strict mode.

use std::process::{Command, Output};

/// Runs `python3 -m kubernetes_validate --strict` for Kubernetes `version` on `text`.
pub(crate) fn kubernetes_validate(text: &str, version: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("manifests.yaml");
    std::fs::write(&f, text).unwrap();
    Command::new("python3")
        .args([
            "-m",
            "kubernetes_validate",
            "--strict",
            "--quiet",
            "-k",
            version,
        ])
        .arg(&f)
        .output()
        .expect("python3 runs (scripts/setup installs kubernetes-validate)")
}
