//! `phimesh proxy` end to end in explicit mode on loopback: the real binary, real curl, a
//! recording upstream sink. Egress refusal, streaming hold-back, bounds.

#[path = "support/proxy.rs"]
mod support_proxy;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support_proxy::{contains, curl, egress, ProxyProc, Sink, CLEAN_JSON, PHI_JSON, SSN};

fn post(url: &str, body: &str, extra: &[&str]) -> (u16, String) {
    let mut a = vec![
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "--data-binary",
        body,
    ];
    a.extend_from_slice(extra);
    a.push(url);
    curl(&a)
}

#[test]
fn clean_egress_is_delivered_and_phi_egress_is_refused_with_403_json() {
    let sink = Sink::start();
    let p = egress(&sink, &[]);
    let url = format!("http://{}/echo", p.routes[0]);

    let (code, body) = post(&url, CLEAN_JSON, &[]);
    assert_eq!((code, body.as_str()), (200, CLEAN_JSON));

    let (code, body) = post(&url, PHI_JSON, &[]);
    assert_eq!(code, 403, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"], "phi_refused");
    assert!(
        v["kinds"].as_array().unwrap().iter().any(|k| k == "ssn"),
        "{v}"
    );
    let rid = v["request_id"].as_str().unwrap().to_owned();

    // PHI in the request target, percent-encoded, and in a header value.
    let (code, _) = curl(&[&format!(
        "http://{}/lookup?ssn%3D123%2D45%2D6789",
        p.routes[0]
    )]);
    assert_eq!(code, 403);
    let (code, _) = curl(&["-H", "x-note: patient SSN 123-45-6789", &url]);
    assert_eq!(code, 403);

    // HTTP/2 prior knowledge from curl, same policy.
    let (code, body) = post(&url, CLEAN_JSON, &["--http2-prior-knowledge"]);
    assert_eq!((code, body.as_str()), (200, CLEAN_JSON));
    let (code, _) = post(&url, PHI_JSON, &["--http2-prior-knowledge"]);
    assert_eq!(code, 403);

    let got = sink.bytes();
    assert!(contains(&got, CLEAN_JSON.as_bytes()));
    assert!(!contains(&got, SSN.as_bytes()), "the sink received the SSN");
    assert!(!contains(&got, b"123%2D45%2D6789"));

    // Audit: one line per refusal, kinds and offsets, never the value.
    let audit = p.wait_audit(4);
    assert_eq!(audit.len(), 4, "{audit:?}");
    assert!(audit
        .iter()
        .all(|a| a["action"] == "refused" && a["direction"] == "outbound"));
    assert!(audit.iter().any(|a| a["request_id"] == rid.as_str()));
    let text = p.audit_text();
    assert!(!text.contains(SSN) && !text.contains("Jane") && !text.contains("lookup"));

    let m = p.metrics();
    assert!(m.contains(r#"phimesh_requests_total{action="refused",direction="outbound",protocol="http1",tls="none"} 3"#), "{m}");
    // The standard process metrics an operator's dashboards expect.
    for m in [
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
    ] {
        assert!(m.contains(m), "{m} missing");
    }
    assert!(m.contains(r#"phimesh_requests_total{action="forwarded",direction="outbound",protocol="http2",tls="none"} 1"#), "{m}");
    assert!(m.contains(
        r#"phimesh_phi_detections_total{action="refused",direction="outbound",kind="ssn"}"#
    ));
    assert!(
        m.contains(r#"phimesh_refusals_total{direction="outbound",reason="phi"} 4"#),
        "{m}"
    );
    assert!(m.contains("phimesh_build_info{"));
    assert!(!m.contains(SSN));
}

#[test]
fn gzip_phi_is_refused_and_a_compression_bomb_is_uninspectable() {
    use flate2::write::GzEncoder;
    let sink = Sink::start();
    let p = egress(&sink, &[]);
    let url = format!("http://{}/echo", p.routes[0]);
    let dir = tempfile::tempdir().unwrap();

    let gz = |data: &[u8]| {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    let phi = dir.path().join("phi.gz");
    std::fs::write(&phi, gz(PHI_JSON.as_bytes())).unwrap();
    let bomb = dir.path().join("bomb.gz");
    std::fs::write(&bomb, gz(&vec![b'a'; 64 << 20])).unwrap();
    let at = |p: &std::path::Path| format!("@{}", p.display());

    let (code, _) = curl(&[
        "-H",
        "content-encoding: gzip",
        "--data-binary",
        &at(&phi),
        &url,
    ]);
    assert_eq!(code, 403);
    let (code, body) = curl(&[
        "-H",
        "content-encoding: gzip",
        "--data-binary",
        &at(&bomb),
        &url,
    ]);
    assert_eq!(code, 403, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"], "uninspectable");
    assert_eq!(v["reason"], "compression_ratio");
    // An encoding the scanner cannot read is refused too.
    let (code, body) = curl(&["-H", "content-encoding: br", "--data-binary", "xyz", &url]);
    assert_eq!(code, 403);
    assert!(body.contains("unsupported_encoding"), "{body}");
    assert!(!contains(&sink.bytes(), &gz(PHI_JSON.as_bytes())));
    let m = p.metrics();
    assert!(
        m.contains(r#"phimesh_refusals_total{direction="outbound",reason="compression_ratio"} 1"#),
        "{m}"
    );
}

/// Sends a chunked POST with the given chunks over a raw socket (flushing between chunks) and
/// returns what came back (possibly nothing, on a reset).
fn chunked(addr: std::net::SocketAddr, chunks: &[&[u8]]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ncontent-type: text/plain\r\n\r\n").unwrap();
    for c in chunks {
        if s.write_all(format!("{:x}\r\n", c.len()).as_bytes())
            .is_err()
            || s.write_all(c).is_err()
            || s.write_all(b"\r\n").is_err()
            || s.flush().is_err()
        {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if out.windows(4).any(|w| w == b"\r\n\r\n")
                    && out.len() > 12
                    && out.starts_with(b"HTTP/1.1 403")
                {
                    break;
                }
            }
        }
    }
    out
}

#[test]
fn phi_split_at_every_offset_across_two_chunks_never_reaches_the_sink() {
    let sink = Sink::start();
    let p = egress(&sink, &[]);
    let doc = format!("patient record: SSN {SSN} on file");
    let start = doc.find(SSN).unwrap();
    for cut in start.saturating_sub(4)..=start + SSN.len() + 1 {
        let (a, b) = doc.as_bytes().split_at(cut);
        let resp = chunked(p.routes[0], &[a, b]);
        assert!(
            resp.starts_with(b"HTTP/1.1 403"),
            "cut {cut}: {}",
            String::from_utf8_lossy(&resp)
        );
        assert!(!contains(&sink.bytes(), SSN.as_bytes()), "cut {cut}");
    }
    // Nothing of the value reached the sink: not even its first digits after the label.
    assert!(!contains(&sink.bytes(), b"SSN 123"));
}

#[test]
fn late_phi_after_a_megabyte_of_clean_streaming_body_resets_and_leaks_nothing() {
    let sink = Sink::start();
    let p = egress(&sink, &[]);
    let clean = vec![b'x'; 64 * 1024];
    let mut chunks: Vec<&[u8]> = vec![&clean; 16];
    let tail = format!(" patient SSN {SSN} end");
    chunks.push(tail.as_bytes());
    let resp = chunked(p.routes[0], &chunks);
    assert!(
        !resp.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&resp)
    );
    // The client's answer can arrive before the sink has read all that was forwarded to it:
    // wait (bounded) for its count to pass the mark.
    let mut got = sink.bytes();
    for _ in 0..100 {
        if got.len() > 512 * 1024 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        got = sink.bytes();
    }
    assert!(
        got.len() > 512 * 1024,
        "the clean prefix streamed: {} bytes",
        got.len()
    );
    assert!(!contains(&got, SSN.as_bytes()));
    assert!(!contains(&got, b"SSN 123"));
    let audit = p.wait_audit(1);
    assert_eq!(audit[0]["action"], "reset", "{audit:?}");
    let m = p.metrics();
    assert!(
        m.contains(
            r#"phimesh_phi_detections_total{action="reset",direction="outbound",kind="ssn"} 1"#
        ),
        "{m}"
    );
    // The proxy still serves.
    let (code, _) = curl(&[&format!("http://{}/", p.routes[0])]);
    assert_eq!(code, 200);
}

#[test]
fn audit_mode_forwards_and_audits() {
    let sink = Sink::start();
    let p = egress(&sink, &["--mode", "audit"]);
    let (code, body) = post(&format!("http://{}/echo", p.routes[0]), PHI_JSON, &[]);
    assert_eq!((code, body.as_str()), (200, PHI_JSON));
    let audit = p.wait_audit(1);
    assert_eq!(audit[0]["action"], "audited");
    assert!(!p.audit_text().contains(SSN));
}

#[test]
fn oversized_headers_slowloris_and_malformed_h2_get_clean_outcomes() {
    let sink = Sink::start();
    let p = egress(
        &sink,
        &["--header-timeout", "1s", "--max-header-bytes", "16384"],
    );
    let addr = p.routes[0];
    // Oversized head: 431 (or a closed connection), never forwarded.
    let big = format!("x-big: {}", "a".repeat(40_000));
    let (code, _) = curl(&["-H", &big, &format!("http://{addr}/")]);
    assert!(code == 431 || code == 400 || code == 0, "{code}");
    assert!(!contains(
        &sink.bytes(),
        b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    ));

    // Slowloris: a head that never completes is closed; others are served meanwhile.
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n").unwrap();
    let (code, _) = curl(&[&format!("http://{addr}/")]);
    assert_eq!(code, 200);
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = [0u8; 512];
    let mut closed = false;
    for _ in 0..50 {
        match slow.read(&mut buf) {
            Ok(0) | Err(_) => {
                closed = true;
                break;
            }
            Ok(_) => {}
        }
    }
    assert!(closed, "the slow client was not cut off");

    // Malformed h2: the preface then garbage frames. The connection ends; others unaffected.
    let mut bad = TcpStream::connect(addr).unwrap();
    bad.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap();
    bad.write_all(&[0, 0, 4, 0xff, 0xff, 0, 0, 0, 1, 1, 2, 3, 4])
        .unwrap();
    bad.write_all(&[0xff; 64]).unwrap();
    bad.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut got = Vec::new();
    let _ = bad.read_to_end(&mut got);
    let (code, _) = curl(&["--http2-prior-knowledge", &format!("http://{addr}/")]);
    assert_eq!(code, 200);
}

#[test]
fn bad_flags_exit_2_with_one_line() {
    for args in [
        vec!["--route", "nonsense"],
        vec!["--mode", "maybe", "--route", "127.0.0.1:0=127.0.0.1:9"],
        vec![
            "--mesh-networks",
            "10.0.0.0/99",
            "--route",
            "127.0.0.1:0=127.0.0.1:9",
        ],
        vec![],
        vec!["--inbound-forward", "127.0.0.1:9"],
        vec![
            "--identity",
            "spiffe://cluster.local/ns/a/sa/b",
            "--route",
            "127.0.0.1:0=127.0.0.1:9",
        ],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_phimesh"))
            .arg("proxy")
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn sigterm_drains_and_exits_0() {
    let sink = Sink::start();
    let p = egress(&sink, &["--drain-timeout", "5s"]);
    let (code, _) = curl(&[&format!("http://{}/", p.routes[0])]);
    assert_eq!(code, 200);
    let st = p.terminate();
    assert_eq!(st.code(), Some(0));
}

/// A one-shot HTTP/1.1 upstream that answers every connection with `response`, raw.
fn raw_upstream(response: &'static [u8]) -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 4096];
            let mut head = Vec::new();
            while !contains(&head, b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = s.write_all(response);
        }
    });
    addr
}

#[test]
fn an_upstream_reason_phrase_never_reaches_a_plaintext_caller() {
    // The status line's reason phrase is free text no scan covers: the app's own words must not
    // leave the pod in plaintext through it (permissive inbound), so the caller gets the
    // canonical phrase.
    let app = raw_upstream(
        b"HTTP/1.1 200 Patient SSN 123-45-6789\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
    );
    let fwd = app.to_string();
    let p = ProxyProc::start(&[
        "--inbound-forward",
        &fwd,
        "--inbound-listen",
        "127.0.0.1:0",
        "--inbound-mtls",
        "permissive",
    ]);
    let mut s = TcpStream::connect(p.inbound.unwrap()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with("ok"), "{text}");
    assert!(!contains(&got, SSN.as_bytes()), "{text}");
}

#[test]
fn phi_in_an_extension_method_is_refused_on_egress() {
    // HTTP/2: the method is a token the app chose, forwarded as is. (An HTTP/1.1 request line
    // whose method is not all letters is not sniffed as HTTP: opaque TCP, scanned as a stream.)
    let methods = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = methods.clone();
    let server = support_proxy::RecordingServer::start(move |req: hyper::Request<_>| {
        log.lock().unwrap().push(req.method().to_string());
        async {
            Ok::<_, hyper::Error>(hyper::Response::new(http_body_util::Full::new(
                bytes::Bytes::from_static(b"ok"),
            )))
        }
    });
    let route = format!("127.0.0.1:0={}", server.addr);
    let p = ProxyProc::start(&["--route", &route]);
    let url = format!("http://{}/", p.routes[0]);
    let h2 = "--http2-prior-knowledge";
    let (code, _) = curl(&[h2, "-X", "REPORT", &url]);
    assert_eq!(code, 200, "a clean extension method passes");
    let (code, body) = curl(&[h2, "-X", "SSN.123-45-6789", &url]);
    assert_eq!(code, 403, "{body}");
    let (code, _) = curl(&["-X", "SSN.123-45-6789", &url]);
    assert_ne!(code, 200, "HTTP/1.1");
    assert_eq!(*methods.lock().unwrap(), vec!["REPORT"]);
    assert!(!contains(&server.bytes(), SSN.as_bytes()));
    let audit = p.wait_audit(2);
    assert_eq!(audit[0]["findings"][0]["part"], "head", "{audit:?}");
    assert!(!p.audit_text().contains(SSN));
}

/// A refusal reaches a client that is still sending its body. A server that closes with unread
/// bytes makes the kernel send a reset, which can reach the client before the answer (the CA lost
/// its 413s that way under load; see `ca_e2e`). HTTP/1.1, refused by its body and by its head;
/// each 8 times, without `Expect: 100-continue` (with it, the client sends no body before an
/// answer). Nothing of the refused bodies reaches the upstream.
#[test]
fn a_refused_request_still_sending_its_body_gets_the_403_not_a_reset() {
    let sink = Sink::start();
    let p = egress(&sink, &[]);
    let url = format!("http://{}/echo", p.routes[0]);
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    let padding = "0".repeat(512 << 10);
    std::fs::write(
        &big,
        format!(r#"{{"patient":{{"ssn":"{SSN}"}},"padding":"{padding}"}}"#),
    )
    .unwrap();
    let clean = dir.path().join("clean.json");
    std::fs::write(&clean, format!(r#"{{"padding":"{padding}"}}"#)).unwrap();
    let big = format!("@{}", big.display());
    let clean = format!("@{}", clean.display());
    for attempt in 0..8 {
        let (code, body) = post(&url, &big, &["-H", "expect:"]);
        assert_eq!(code, 403, "body, try {attempt}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"], "phi_refused", "{v}");
        let note = ["-H", "expect:", "-H", "x-note: patient SSN 123-45-6789"];
        let (code, body) = post(&url, &clean, &note);
        assert_eq!(code, 403, "head, try {attempt}: {body}");
    }
    assert!(
        !contains(&sink.bytes(), SSN.as_bytes()),
        "the sink received the SSN"
    );
    assert!(
        !contains(&sink.bytes(), b"padding"),
        "a refused body reached the sink"
    );
}
