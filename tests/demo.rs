//! `phimesh demo` as a user runs it: the real binary, no root, loopback only. It must exit 0 and
//! its table must show every scenario with its expected outcome and no PHI byte at the sink.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Scenario id, expected word, and what the OBSERVED column must show.
const ROWS: &[(&str, &str, &str)] = &[
    ("mesh-phi-request", "delivered", "delivered (20"),
    ("mesh-phi-response", "delivered", "delivered (200), mTLS"),
    ("egress-clean", "delivered", "200"),
    ("egress-phi-json", "refused", "403 phi_refused"),
    ("egress-phi-gzip", "refused", "403 phi_refused"),
    ("egress-phi-chunked", "refused", ""),
    ("egress-phi-grpc", "refused", "grpc-status 7"),
];

#[test]
fn demo_plays_every_scenario_with_the_expected_outcome() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_phimesh"))
        .arg("demo")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start phimesh demo");
    // Bounded: the demo finishes on its own; a hang is a failure, not a wait.
    let deadline = Instant::now() + Duration::from_secs(180);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("phimesh demo did not finish within 180 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ctx = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "demo failed\n{ctx}");

    for (id, expected, observed) in ROWS {
        let row = stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(id))
            .unwrap_or_else(|| panic!("no table row for {id}\n{ctx}"));
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols.last(), Some(&"ok"), "{id}: {row}\n{ctx}");
        assert!(cols.contains(expected), "{id}: {row}");
        assert!(row.contains(observed), "{id}: want {observed:?}: {row}");
        if id.starts_with("egress") {
            assert!(
                row.contains(" 0 B "),
                "{id}: the sink's PHI count must be 0: {row}"
            );
        }
    }
    assert!(
        stdout.contains("all 7 scenarios had the expected outcome"),
        "{ctx}"
    );
    // The metrics excerpt shows counted requests and refusals.
    assert!(stdout.contains("phimesh_requests_total"), "{ctx}");
    assert!(stdout.contains("phimesh_refusals_total"), "{ctx}");
    // No PHI value in the demo's own output (audit lines and errors never carry values).
    for v in ["512-38-4471", "E4471902"] {
        assert!(!stdout.contains(v) && !stderr.contains(v), "{v} printed");
    }
}

#[test]
fn demo_rejects_bad_flags_with_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_phimesh"))
        .args(["demo", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
