//! Pieces of the mesh-discovery tests on loopback (`tests/discovery*.rs`): a sidecar's explicit
//! routes and discovery flags, and waiting for its discovery metrics.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use crate::support_proxy::ProxyProc;

/// Sidecar flags: `--route 127.0.0.1:0=UPSTREAM` per route, with `--peer UPSTREAM=PEER` where
/// the route names the peer's inbound listener, then the pod network `mesh`, the discovery poll
/// `interval` and how long a list is trusted (`max_age`).
pub(crate) fn discovery_args(
    routes: &[(&str, Option<&str>)],
    mesh: &str,
    interval: &str,
    max_age: &str,
) -> Vec<String> {
    let mut args = Vec::new();
    for (upstream, peer) in routes {
        args.push("--route".into());
        args.push(format!("127.0.0.1:0={upstream}"));
        if let Some(p) = peer {
            args.push("--peer".into());
            args.push(format!("{upstream}={p}"));
        }
    }
    args.extend(
        [
            "--mesh-networks",
            mesh,
            "--discovery-interval",
            interval,
            "--discovery-max-age",
            max_age,
        ]
        .map(String::from),
    );
    args
}

/// Waits (at most 30 s) until `series` reads `want` on `p`'s `/metrics`; panics with the metrics
/// otherwise.
pub(crate) fn wait_metric(p: &ProxyProc, series: &str, want: f64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if p.metric(series) == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{series} never read {want}: {}",
            p.metrics()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
