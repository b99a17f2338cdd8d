//! The databases embedded in the binary are read once at start and given back: a sidecar keeps
//! Hyperscan's copy, not a second one in its executable's pages. One test in its own process,
//! so that nothing else touches those pages meanwhile.

#![cfg(target_os = "linux")]

use phimesh_detect::Engine;

/// Resident kilobytes of the mappings of this test's executable.
fn exe_rss_kib() -> u64 {
    let exe = std::fs::read_link("/proc/self/exe").expect("/proc/self/exe");
    let exe = exe.to_string_lossy().into_owned();
    let exe = exe.trim_end_matches(" (deleted)").to_owned();
    let smaps = std::fs::read_to_string("/proc/self/smaps").expect("/proc/self/smaps");
    let mut total = 0;
    let mut ours = false;
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some(first) if first.contains('-') && first.len() > 8 => {
                ours = line.trim_end_matches(" (deleted)").ends_with(&exe);
            }
            Some("Rss:") if ours => {
                total += f.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            }
            _ => {}
        }
    }
    total
}

#[test]
fn the_embedded_databases_do_not_stay_resident() {
    let before = exe_rss_kib();
    assert!(before > 0, "no mapping of the test executable found");
    let engine = Engine::new().expect("engine");
    assert!(engine.precompiled(), "the embedded databases were read");
    let after = exe_rss_kib();
    // Reading them brought 2.8 MB of the executable in; what stays is the code that ran.
    assert!(
        after.saturating_sub(before) < 1024,
        "the executable's resident pages grew by {} KiB",
        after.saturating_sub(before)
    );
}
