//! An upstream that accepts requests and never answers does not pin the sidecar: with
//! `--response-head-timeout 1s` every request is answered 504 `{"error":"upstream_timeout"}`
//! (gRPC: `grpc-status: 4`) within seconds, the upstream connections are closed, and the
//! sidecar's file descriptors come back.

#[path = "support/proxy.rs"]
mod support_proxy;

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support_proxy::{curl, ProxyProc};

/// Accepts connections, reads whatever comes, never writes. Counts connections accepted and
/// connections the other side closed.
struct Hung {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
}

fn hung_upstream() -> Hung {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicUsize::new(0));
    let (a, c) = (accepted.clone(), closed.clone());
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            a.fetch_add(1, Ordering::SeqCst);
            let c = c.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                }
                c.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    Hung {
        addr,
        accepted,
        closed,
    }
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_hung_upstream_gets_504_within_the_response_head_timeout_and_gives_its_descriptors_back() {
    let hung = hung_upstream();
    let route = format!("127.0.0.1:0={}", hung.addr);
    let p = ProxyProc::start(&["--route", &route, "--response-head-timeout", "1s"]);
    let url = format!("http://{}/records", p.routes[0]);
    let fds_before = open_fds(p.pid());

    // 30 concurrent HTTP/1.1 requests, with and without a body.
    const N: usize = 30;
    let started = Instant::now();
    let answers: Vec<(u16, String, Duration)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..N)
            .map(|i| {
                let url = url.clone();
                s.spawn(move || {
                    let t = Instant::now();
                    let (code, body) = if i % 2 == 0 {
                        curl(&[&url])
                    } else {
                        curl(&["--data-binary", "order=gauze", &url])
                    };
                    (code, body, t.elapsed())
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (code, body, took) in &answers {
        assert_eq!(*code, 504, "{body}");
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"], "upstream_timeout", "{body}");
        assert_eq!(v["timeout_seconds"], 1.0, "{body}");
        assert!(
            *took >= Duration::from_millis(900) && *took < Duration::from_secs(6),
            "answered after {took:?}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(hung.accepted.load(Ordering::SeqCst), N);

    // Every upstream connection is closed by the sidecar, and its descriptors come back.
    assert!(
        wait_until(Duration::from_secs(5), || hung
            .closed
            .load(Ordering::SeqCst)
            == N),
        "upstream connections still open: {} of {N} closed",
        hung.closed.load(Ordering::SeqCst)
    );
    assert!(
        wait_until(Duration::from_secs(5), || open_fds(p.pid())
            <= fds_before + 2),
        "descriptors: {} before, {} after",
        fds_before,
        open_fds(p.pid())
    );
    let m = p.metrics();
    assert!(
        m.contains(&format!(
            r#"phimesh_requests_total{{action="timeout",direction="outbound",protocol="http1",tls="none"}} {N}"#
        )),
        "{m}"
    );

    // gRPC over HTTP/2: a trailers-only answer with DEADLINE_EXCEEDED.
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "20",
            "-D",
            "-",
            "-o",
            "/dev/null",
            "--http2-prior-knowledge",
            "-H",
            "content-type: application/grpc",
            "-H",
            "te: trailers",
            "--data-binary",
            "",
        ])
        .arg(format!("http://{}/pkg.Svc/Get", p.routes[0]))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(head.starts_with("http/2 200"), "{head}");
    assert!(head.contains("grpc-status: 4"), "{head}");
    assert!(head.contains("content-type: application/grpc"), "{head}");
    assert!(
        wait_until(Duration::from_secs(5), || open_fds(p.pid())
            <= fds_before + 2),
        "descriptors after the h2 call: {} before, {} after",
        fds_before,
        open_fds(p.pid())
    );
}

#[test]
fn a_bad_response_head_timeout_stops_the_proxy_with_one_line() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_phimesh"))
        .args([
            "proxy",
            "--route",
            "127.0.0.1:0=127.0.0.1:9",
            "--response-head-timeout",
            "0s",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("timeouts must be greater than 0"), "{err}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_phimesh"))
        .args(["proxy", "--route", "127.0.0.1:0=127.0.0.1:9"])
        .env("PHIMESH_RESPONSE_HEAD_TIMEOUT", "soon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
