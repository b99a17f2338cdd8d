//! Per-request cost of the engine on the proxy's small-message path: a request head, a 1 KiB
//! JSON body, a response head and a 3-byte body, each its own scanner, as a sidecar pair
//! inspects them. Prints nanoseconds per request.
//!
//!   cargo run --release -p phimesh-detect --example per_request [ROUNDS]
use phimesh_detect::{Engine, ReportMode, StreamOptions};
use std::time::Instant;

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let engine = Engine::new().expect("engine");
    let body = {
        let items: Vec<String> = (0..60)
            .map(|i| format!("{{\"sku\":\"SKU-{i}\",\"qty\":{}}}", i % 5))
            .collect();
        let b = format!(
            "{{\"order\":{{\"id\":\"{}\",\"items\":[{}]}}}}",
            "x".repeat(16),
            items.join(",")
        );
        let mut b = (b + &" ".repeat(1024)).into_bytes();
        b.truncate(1024);
        b
    };
    let req_head = b"/\nhost: 127.0.0.1:21010\nuser-agent: h2load nghttp2/1.52.0\naccept: */*\ncontent-length: 1024\n".to_vec();
    let resp_head = b"server: nginx/1.22.1\ndate: Sun, 06 Dec 2026 22:50:01 GMT\ncontent-type: text/plain\ncontent-length: 3\n".to_vec();
    let head_opts = StreamOptions {
        plus_as_space: true,
        report: ReportMode::Kinds,
        ..StreamOptions::default()
    };
    let body_opts = StreamOptions {
        report: ReportMode::Kinds,
        ..StreamOptions::default()
    };
    let one = |opts: StreamOptions, data: &[u8]| {
        let mut s = engine.scanner(opts).expect("scanner");
        // Each message arrives whole, as the proxy hands it over.
        s.feed_last(data).expect("feed");
        s.finish().expect("finish").verdict
    };
    let run = |n: usize| {
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(one(head_opts, &req_head));
            std::hint::black_box(one(body_opts, &body));
            std::hint::black_box(one(head_opts, &resp_head));
            std::hint::black_box(one(body_opts, b"ok\n"));
        }
        t.elapsed()
    };
    run(rounds / 10);
    let e = run(rounds);
    println!(
        "{:.0} ns per request (2 heads, 1 KiB body, 3-byte body)",
        e.as_nanos() as f64 / rounds as f64
    );
    for (name, opts, data) in [
        ("request head", head_opts, &req_head[..]),
        ("1 KiB body", body_opts, &body[..]),
        ("response head", head_opts, &resp_head[..]),
        ("3-byte body", body_opts, &b"ok\n"[..]),
    ] {
        let t = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(one(opts, data));
        }
        println!(
            "  {name}: {:.0} ns",
            t.elapsed().as_nanos() as f64 / rounds as f64
        );
    }
}
