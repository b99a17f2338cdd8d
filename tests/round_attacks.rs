//! Attacks on the sidecar's cheaper request path, end to end on loopback with the real binaries:
//! PHI at the very end of a body and in labelled CSV exports; scanner streams reused between
//! messages after aborted uploads (HTTP/1.1 disconnects, h2 `RST_STREAM`) and after more
//! concurrent messages than a pool holds; the hand-over to `phimesh-proxy` honouring the
//! environment, bad flags and its descriptors; idle detection under a byte every 0.9 idle
//! periods in either direction; per-label metric series after thousands of mixed requests.

#[path = "support/proxy.rs"]
mod support_proxy;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bytes::Bytes;
use phimesh_testkit::client::{self, Conn, Proto};
use support_proxy::{contains, egress, ProxyProc, Sink, CLEAN_JSON, SSN};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// One POST of `body` on a fresh connection; the status (0: no answer).
async fn post(addr: SocketAddr, proto: Proto, body: Vec<u8>, chunks: usize) -> u16 {
    let body = if chunks <= 1 {
        client::full(body)
    } else {
        let step = body.len().div_ceil(chunks).max(1);
        let parts = body.chunks(step).map(Bytes::copy_from_slice).collect();
        client::chunked(parts, Duration::from_millis(5))
    };
    let req = client::request(
        "POST",
        &format!("http://{addr}/echo"),
        &[("content-type", "text/plain")],
        body,
    );
    match client::exchange(addr, proto, req, Duration::from_secs(20)).await {
        Ok(r) => r.status.as_u16(),
        Err(_) => 0,
    }
}

/// Polls (10 s at most) until `f` holds.
fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// PHI values whose last byte is the body's last byte (and the same with a trailing newline).
/// Each is PHI to `phimesh scan` too (checked below, so the test asserts what the engine claims).
const TAIL_PHI: &[&str] = &[
    "patient record, SSN 123-45-6789",
    "patient_ssn=123456789",
    "ssn: 123456789",
    "card on file 4539 1488 0343 6467",
    "charged 4539148803436467",
    "member MBI 1EG4-TE5-MK73",
    "medicare 1EG4TE5MK73",
    "patient Jane Roe, patient_phone: 415-555-0132",
    "patient dob: 1980-02-29",
];

/// Labelled CSV exports: the header names the column, the value is far from it. Some end right
/// after the value, some have a first line that starts like JSON, XML or a section title.
const CSV_PHI: &[&str] = &[
    "patient_ssn,dob\n123456789,1980-01-02",
    "patient_ssn,dob\n123456789,1980-01-02\n",
    "id,name,ssn\n1,Jane Roe,123456789\n2,John Roe,234567890",
    "[export]\npatient_ssn,dob\n123456789,1980-01-02\n",
    "{\"report\":\"weekly\"}\npatient_ssn,dob\n123456789,1980-01-02\n",
    "<report/>\npatient_ssn,dob\n123456789,1980-01-02\n",
    "mrn,visit\nMRN0012345,2024-01-01\n",
];

fn scan_says_phi(doc: &[u8]) -> bool {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_phimesh"))
        .args(["scan", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(doc).unwrap();
    let out = child.wait_with_output().unwrap();
    out.status.code() == Some(1)
}

/// Every PHI document of [`TAIL_PHI`] and [`CSV_PHI`] is refused on egress, whole or chunked,
/// over HTTP/1.1 and h2, with and without a trailing newline; none of its value reaches the sink.
#[test]
fn phi_in_the_last_bytes_and_in_labelled_csv_exports_is_refused() {
    let sink = Sink::start();
    let p = egress(&sink, &[]);
    let mut docs: Vec<String> = Vec::new();
    for d in TAIL_PHI {
        docs.push(d.to_string());
        docs.push(format!("{d}\n"));
        docs.push(format!("{d}\r\n"));
    }
    docs.extend(CSV_PHI.iter().map(|s| s.to_string()));
    for d in &docs {
        assert!(scan_says_phi(d.as_bytes()), "phimesh scan: not PHI: {d:?}");
    }
    let rt = rt();
    let mut leaks = Vec::new();
    for d in &docs {
        for proto in [Proto::H1, Proto::H2] {
            for chunks in [1, 3] {
                let code = rt.block_on(post(p.routes[0], proto, d.clone().into_bytes(), chunks));
                if code != 403 {
                    leaks.push(format!("{d:?} {} chunks={chunks}: {code}", proto.name()));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "not refused:\n{}", leaks.join("\n"));
    let got = sink.bytes();
    for v in [&b"123456789"[..], b"4539", b"1EG4", b"555-0132", b"1980-0"] {
        assert!(
            !contains(&got, v),
            "{} reached the sink",
            String::from_utf8_lossy(v)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Scanner streams reused between messages

/// `phimesh_connections_open{direction="outbound"}`.
fn open_outbound(p: &ProxyProc) -> f64 {
    p.metric(r#"phimesh_connections_open{direction="outbound"}"#)
}

/// An HTTP/1.1 upload that stops mid-body: a clean prefix large enough to stream, then `tail`,
/// then the client goes away without finishing the body. Returns once the sidecar has forwarded
/// the prefix's marker (it read the bytes) and closed the connection (it abandoned the scanner).
fn abandon_h1(p: &ProxyProc, sink: &Sink, round: usize, tail: &[u8]) {
    let marker = format!("abandoned-h1-{round}-");
    let mut prefix = format!("{marker} ").into_bytes();
    prefix.resize(640 << 10, b'x');
    let mut s = TcpStream::connect(p.routes[0]).unwrap();
    write!(
        s,
        "POST /echo HTTP/1.1\r\nhost: a\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n",
        4 << 20
    )
    .unwrap();
    s.write_all(&prefix).unwrap();
    s.write_all(tail).unwrap();
    s.flush().unwrap();
    wait_until("the aborted upload's prefix at the sink", || {
        contains(&sink.bytes(), marker.as_bytes())
    });
    drop(s);
    wait_until("the aborted connection closed", || open_outbound(p) == 0.0);
}

/// `n` h2 streams on one connection each send a clean prefix and `tail`, then are reset
/// (`RST_STREAM CANCEL`); a PING round trip after the resets, then the connection is closed.
async fn abandon_h2(addr: SocketAddr, n: usize, tail: &[u8]) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut client, mut conn) = h2::client::Builder::new()
        .initial_window_size(1 << 20)
        .handshake::<_, Bytes>(tcp)
        .await
        .unwrap();
    let mut ping = conn.ping_pong().unwrap();
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut prefix = b"abandoned-h2 ".to_vec();
    prefix.resize(4 << 10, b'y');
    let mut streams = Vec::new();
    for _ in 0..n {
        client = client.ready().await.unwrap();
        let req = http::Request::builder()
            .method("POST")
            .uri(format!("http://{addr}/echo"))
            .header("content-type", "text/plain")
            .body(())
            .unwrap();
        let (resp, mut body) = client.send_request(req, false).unwrap();
        body.send_data(Bytes::from(prefix.clone()), false).unwrap();
        body.send_data(Bytes::copy_from_slice(tail), false).unwrap();
        streams.push((resp, body));
    }
    ping.ping(h2::Ping::opaque()).await.unwrap();
    for (_, body) in streams.iter_mut() {
        body.send_reset(h2::Reason::CANCEL);
    }
    ping.ping(h2::Ping::opaque()).await.unwrap();
    drop(streams);
    drop(client);
    driver.abort();
}

/// What an aborted message leaves at its end, what the next message (on other connections) is,
/// and whether that next message is PHI on its own.
const CARRY: &[(&str, &str, bool)] = &[
    // A digit run cut at the abort, a card at the very start of the next message.
    ("order ref 0012345", "4539148803436467 charged today", true),
    // A run of capitals and digits, an MBI at the start.
    ("batch AB12", "1EG4TE5MK73 medicare", true),
    // An SSN label at the end, a keyed value at the start of the next: PHI on its own? No.
    ("patient ssn: ", "123456789 widgets shipped", false),
    // Half an SSN, the other half.
    ("patient SSN 123-45-", "6789 units in stock", false),
    // A CSV header at the end, rows without one.
    ("patient_ssn,dob\n", "123456789,1980-01-02\n", false),
    // Patient context at the end, a contextual value (a clinic's phone) after.
    (
        "{\"patient\": {\"name\": \"Jane Roe\", ",
        "call the front desk at 415-555-0132",
        false,
    ),
    // A first line starting with '[' then a CSV header, cut; the next message is the rows.
    ("[report]\nmrn,visit\n", "MRN0012345,2024-01-01\n", false),
];

/// Messages aborted mid-body (HTTP/1.1 disconnects, h2 resets, 100 concurrent h2 resets) leave
/// nothing behind in the scanners the next messages get: a message that is PHI on its own is
/// refused, one that is clean on its own is forwarded, whatever the aborted one ended with.
#[test]
fn aborted_messages_leave_nothing_in_the_next_messages_scanners() {
    let sink = Sink::start();
    let p = egress(&sink, &[]);
    let addr = p.routes[0];
    let rt = rt();
    for (_, next, phi) in CARRY {
        assert_eq!(
            scan_says_phi(next.as_bytes()),
            *phi,
            "phimesh scan on {next:?}"
        );
    }
    let mut wrong = Vec::new();
    for round in 0..2 {
        for (i, (tail, next, phi)) in CARRY.iter().enumerate() {
            let want = if *phi { 403 } else { 200 };
            let abort = match (round + i) % 3 {
                0 => {
                    abandon_h1(&p, &sink, round * 100 + i, tail.as_bytes());
                    "HTTP/1.1 disconnect"
                }
                1 => {
                    rt.block_on(abandon_h2(addr, 1, tail.as_bytes()));
                    "h2 reset"
                }
                _ => {
                    rt.block_on(abandon_h2(addr, 100, tail.as_bytes()));
                    "100 h2 resets"
                }
            };
            wait_until("the aborted connections closed", || {
                open_outbound(&p) == 0.0
            });
            // Sequential, then 100 at once (more than a pool holds).
            for proto in [Proto::H1, Proto::H2] {
                let code = rt.block_on(post(addr, proto, next.as_bytes().to_vec(), 1));
                if code != want {
                    wrong.push(format!(
                        "after {abort} ending {tail:?}: {next:?} {}: {code}",
                        proto.name()
                    ));
                }
            }
            let codes = rt.block_on(async {
                let all = (0..100).map(|k| {
                    let proto = if k % 2 == 0 { Proto::H1 } else { Proto::H2 };
                    tokio::spawn(post(addr, proto, next.as_bytes().to_vec(), 1))
                });
                let mut codes = Vec::new();
                for h in all.collect::<Vec<_>>() {
                    codes.push(h.await.unwrap());
                }
                codes
            });
            let bad = codes.iter().filter(|c| **c != want).count();
            if bad > 0 {
                wrong.push(format!(
                    "after {abort} ending {tail:?}: {next:?} x100 concurrent: {bad} not {want} ({:?})",
                    codes.iter().filter(|c| **c != want).take(5).collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let got = sink.bytes();
    assert!(!contains(&got, b"4539148803436467"));
    assert!(!contains(&got, b"1EG4TE5MK73"));
}

/// A refused PHI message and a clean one alternate, on one connection (HTTP/1.1 keep-alive and
/// h2) and across 200 concurrent ones: every PHI message is refused, every clean one forwarded.
/// The clean ones contain what is PHI only with a label or context (a bare 9-digit number, a
/// phone number, a date) right at their start and end.
#[test]
fn clean_messages_after_phi_messages_are_forwarded_and_phi_ones_refused() {
    let sink = Sink::start();
    let p = egress(&sink, &[]);
    let addr = p.routes[0];
    let phi = |k: usize| -> Vec<u8> {
        match k % 4 {
            0 => format!("patient_ssn,dob\n{},1980-01-02", "123456789").into_bytes(),
            1 => format!("patient record SSN {SSN}").into_bytes(),
            2 => b"4539148803436467".to_vec(),
            _ => b"{\"patient\": {\"name\": \"Jane Roe\", \"phone\": \"415-555-0132\"".to_vec(),
        }
    };
    let clean = |k: usize| -> Vec<u8> {
        match k % 4 {
            0 => b"123456789,1980-01-02".to_vec(),
            1 => b"6789 units in stock, lot 123456789".to_vec(),
            2 => b"415-555-0132 is the front desk".to_vec(),
            _ => CLEAN_JSON.as_bytes().to_vec(),
        }
    };
    for k in 0..4 {
        assert!(scan_says_phi(&phi(k)), "{k}");
        assert!(!scan_says_phi(&clean(k)), "{k}");
    }
    let rt = rt();
    let wrong = rt.block_on(async move {
        let mut wrong = Vec::new();
        // One connection each.
        for proto in [Proto::H1, Proto::H2] {
            let mut c = Conn::connect(addr, proto).await.unwrap();
            for k in 0..16 {
                for (body, want) in [(phi(k), 403), (clean(k), 200)] {
                    let req = client::request(
                        "POST",
                        &format!("http://{addr}/echo"),
                        &[("content-type", "text/plain")],
                        client::full(body.clone()),
                    );
                    let code = match c.send(req).await {
                        Ok(r) => r.status.as_u16(),
                        Err(_) => {
                            // A refusal may close an HTTP/1.1 connection: go on with a new one.
                            c = Conn::connect(addr, proto).await.unwrap();
                            0
                        }
                    };
                    if code != want && code != 0 {
                        wrong.push(format!(
                            "{} same connection {:?}: {code}",
                            proto.name(),
                            String::from_utf8_lossy(&body)
                        ));
                    }
                }
            }
        }
        // 200 at once, interleaved.
        let all: Vec<_> = (0..200)
            .map(|k| {
                let (body, want) = if k % 2 == 0 {
                    (phi(k / 2), 403)
                } else {
                    (clean(k / 2), 200)
                };
                let proto = if k % 3 == 0 { Proto::H2 } else { Proto::H1 };
                tokio::spawn(async move {
                    (post(addr, proto, body.clone(), 1 + k % 3).await, want, body)
                })
            })
            .collect();
        for h in all {
            let (code, want, body) = h.await.unwrap();
            if code != want {
                wrong.push(format!(
                    "concurrent {:?}: {code}",
                    String::from_utf8_lossy(&body)
                ));
            }
        }
        wrong
    });
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(!contains(&sink.bytes(), b"4539148803436467"));
    assert!(!contains(&sink.bytes(), b"Jane Roe"));
}

// ---------------------------------------------------------------------------------------------
// The hand-over to phimesh-proxy

/// `phimesh proxy ARGS` with `env` on top of the hand-over variable (this build's
/// `phimesh-proxy`, unless `env` sets it otherwise).
fn sidecar_with_env(args: &[&str], env: &[(&str, &str)]) -> phimesh_testkit::mesh::ProxyProc {
    let mut ph = phimesh_testkit::mesh::Phimesh::new(env!("CARGO_BIN_EXE_phimesh"))
        .env("PHIMESH_PROXY_BINARY", env!("CARGO_BIN_EXE_phimesh-proxy"));
    for (k, v) in env {
        ph = ph.env(k, v);
    }
    let args: Vec<String> = ["--admin-listen", "127.0.0.1:0"]
        .iter()
        .chain(args)
        .map(|s| s.to_string())
        .collect();
    phimesh_testkit::mesh::ProxyProc::start(&ph, "phimesh proxy", &args).unwrap()
}

fn exe_of(pid: u32) -> String {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .unwrap()
        .display()
        .to_string()
}

/// The descriptors of `pid` that are neither sockets nor the event loop's, nor stdio, by kind
/// (`pipe:`, a path).
fn stray_fds(pid: u32) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(0)
                > 2
        })
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|t| t.display().to_string())
        .filter(|t| !t.starts_with("socket:") && !t.starts_with("anon_inode:"))
        .map(|t| t.split('[').next().unwrap_or_default().to_owned())
        .collect();
    v.sort();
    v
}

/// The `phimesh_*` series of a `/metrics` text, without their values.
fn series(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter(|l| l.starts_with("phimesh_") && !l.starts_with("phimesh_build_info"))
        .filter_map(|l| l.rsplit_once(' ').map(|(s, _)| s.to_owned()))
        .collect()
}

/// The handed-over sidecar honours `PHIMESH_*` environment configuration (`PHIMESH_MODE=audit`
/// forwards PHI and audits it, on stdout), keeps no descriptor of the `phimesh` it replaced, and
/// exposes the same metric series as the in-process sidecar after the same traffic; with the
/// hand-over variable set, bad flags still exit 2 with one line.
#[test]
fn the_handed_over_sidecar_honours_env_config_and_matches_the_in_process_one() {
    let sink = Sink::start();
    let route = format!("127.0.0.1:0={}", sink.addr);
    let audit = sidecar_with_env(&["--route", &route], &[("PHIMESH_MODE", "audit")]);
    assert!(
        exe_of(audit.pid()).ends_with("/phimesh-proxy"),
        "{}",
        exe_of(audit.pid())
    );
    let url = format!("http://{}/echo", audit.routes[0]);
    let phi_doc = format!("patient record SSN {SSN}");
    let (code, _) = support_proxy::curl(&["--data-binary", &phi_doc, &url]);
    assert_eq!(code, 200, "PHIMESH_MODE=audit forwards PHI");
    // The request, and the sink's echo of it (the response flow).
    assert_eq!(audit.wait_audit_lines(2), 2);
    for l in audit.audit_since(0) {
        let line: serde_json::Value = serde_json::from_str(&l).unwrap();
        if line["flow"] == "request" {
            assert_eq!(line["action"], "audited", "{line}");
        }
    }
    assert!(audit.audit_text().contains(r#""flow":"request""#));
    assert!(!audit.audit_text().contains(SSN));

    // The same traffic through a handed-over and an in-process sidecar: the same series.
    let mut texts = Vec::new();
    let mut fds = Vec::new();
    for var in [env!("CARGO_BIN_EXE_phimesh-proxy"), ""] {
        let p = sidecar_with_env(&["--route", &route], &[("PHIMESH_PROXY_BINARY", var)]);
        let url = format!("http://{}/echo", p.routes[0]);
        for (body, want) in [(CLEAN_JSON, 200), (phi_doc.as_str(), 403)] {
            for h2 in [false, true] {
                let mut a = vec!["--data-binary", body, url.as_str()];
                if h2 {
                    a.insert(0, "--http2-prior-knowledge");
                }
                assert_eq!(support_proxy::curl(&a).0, want, "{var:?} {body}");
            }
        }
        let _ = support_proxy::curl(&[&format!("http://{}/ready", p.admin)]);
        texts.push(support_proxy::curl(&[&format!("http://{}/metrics", p.admin)]).1);
        fds.push(stray_fds(p.pid()));
    }
    assert_eq!(series(&texts[0]), series(&texts[1]));
    // Nothing of the `phimesh` it replaced stays open in the handed-over process.
    assert_eq!(
        fds[0], fds[1],
        "descriptors other than sockets and the event loop's"
    );

    for args in [
        vec!["--route", "nonsense"],
        vec!["--mode", "maybe", "--route", "127.0.0.1:0=127.0.0.1:9"],
        vec![],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_phimesh"))
            .arg("proxy")
            .args(&args)
            .env("PHIMESH_PROXY_BINARY", env!("CARGO_BIN_EXE_phimesh-proxy"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_phimesh"))
        .args(["proxy", "--route", "127.0.0.1:0=127.0.0.1:9"])
        .env("PHIMESH_PROXY_BINARY", env!("CARGO_BIN_EXE_phimesh-proxy"))
        .env("PHIMESH_MODE", "maybe")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a bad PHIMESH_MODE");
}

// ---------------------------------------------------------------------------------------------
// Idle detection

const IDLE: Duration = Duration::from_secs(2);

/// An upstream that answers each request with a chunked body: one byte every `gap`, `n` times.
fn dribbling_upstream(gap: Duration, n: usize) -> SocketAddr {
    support_proxy::serve_each(support_proxy::has_head, move |mut s, _| {
        let _ = s.write_all(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        );
        for _ in 0..n {
            std::thread::sleep(gap);
            if s.write_all(b"1\r\nz\r\n").is_err() {
                return;
            }
        }
        let _ = s.write_all(b"0\r\n\r\n");
    })
}

/// A byte every 0.9 idle periods keeps a connection open in either direction: a download the
/// upstream dribbles (the client sends nothing after its request) and an upload the client
/// dribbles (the upstream sends nothing until the end). A silent connection is closed no sooner
/// than the idle timeout.
#[test]
fn a_byte_every_nine_tenths_of_the_idle_timeout_keeps_either_direction_open() {
    let gap = IDLE.mul_f64(0.9);
    let slow = dribbling_upstream(gap, 4);
    let route = format!("127.0.0.1:0={slow}");
    let sink = Sink::start();
    let route2 = format!("127.0.0.1:0={}", sink.addr);
    let p = ProxyProc::start(&[
        "--route",
        &route,
        "--route",
        &route2,
        "--idle-timeout",
        "2s",
    ]);
    let (down, up) = (p.routes[0], p.routes[1]);
    let download = std::thread::spawn(move || {
        let mut s = TcpStream::connect(down).unwrap();
        s.write_all(b"GET /slow HTTP/1.1\r\nhost: a\r\n\r\n")
            .unwrap();
        s.set_read_timeout(Some(IDLE * 10)).unwrap();
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        String::from_utf8_lossy(&got).into_owned()
    });
    let upload = std::thread::spawn(move || {
        let mut s = TcpStream::connect(up).unwrap();
        s.write_all(
            b"POST /echo HTTP/1.1\r\nhost: a\r\ncontent-type: text/plain\r\ncontent-length: 4\r\nconnection: close\r\n\r\n",
        )
        .unwrap();
        for b in b"abcd" {
            std::thread::sleep(gap);
            if s.write_all(&[*b]).is_err() {
                return "closed while uploading".to_owned();
            }
        }
        s.set_read_timeout(Some(IDLE * 10)).unwrap();
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        String::from_utf8_lossy(&got).into_owned()
    });
    let silent = std::thread::spawn(move || {
        let mut s = TcpStream::connect(up).unwrap();
        let start = Instant::now();
        s.set_read_timeout(Some(IDLE * 10)).unwrap();
        let mut buf = [0u8; 64];
        let _ = s.read(&mut buf);
        start.elapsed()
    });
    let text = download.join().unwrap();
    assert!(
        text.starts_with("HTTP/1.1 200")
            && text.contains("1\r\nz\r\n1\r\nz\r\n1\r\nz\r\n1\r\nz\r\n0\r\n\r\n"),
        "download: {text:?}"
    );
    let text = upload.join().unwrap();
    assert!(
        text.starts_with("HTTP/1.1 200") && text.ends_with("abcd"),
        "upload: {text:?}"
    );
    let took = silent.join().unwrap();
    assert!(
        took >= IDLE.mul_f64(0.98) && took < IDLE * 4,
        "silent closed after {took:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Metrics per label after thousands of requests

/// Thousands of requests of five kinds (HTTP/1.1 and h2, clean and PHI, gRPC), many at once:
/// `phimesh_requests_total` counts each label set exactly, the duration histogram's counts add
/// up per protocol, and `phimesh_inspected_bytes_total` grows by exactly what one request of each
/// kind adds, times their numbers.
#[test]
fn per_label_series_count_exactly_after_thousands_of_mixed_requests() {
    let sink = Sink::start();
    let p = egress(&sink, &[]);
    let addr = p.routes[0];
    let phi_doc = format!("patient record SSN {SSN}");
    let phi = phi_doc.clone();
    let one = move |kind: usize| -> (Proto, hyper::Request<client::ReqBody>) {
        let url = format!("http://{addr}/echo");
        let h = [("content-type", "text/plain")];
        match kind {
            0 => (
                Proto::H1,
                client::request("POST", &url, &h, client::full(CLEAN_JSON)),
            ),
            1 => (
                Proto::H1,
                client::request("POST", &url, &h, client::full(phi.clone())),
            ),
            2 => (
                Proto::H2,
                client::request("POST", &url, &h, client::full(CLEAN_JSON)),
            ),
            3 => (
                Proto::H2,
                client::request("POST", &url, &h, client::full(phi.clone())),
            ),
            _ => (
                Proto::H2,
                client::grpc_unary(addr, "/pkg.Svc/Get", b"\x0a\x05gauze"),
            ),
        }
    };
    let rt = rt();
    let inspected = || p.metric(r#"phimesh_inspected_bytes_total{direction="outbound"}"#);
    // Every phimesh_requests_total sample, added up.
    let requests = || -> f64 {
        p.metrics()
            .lines()
            .filter(|l| l.starts_with("phimesh_requests_total{"))
            .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum()
    };
    // One of each, to learn what each adds to the inspected bytes.
    let mut per_kind = [0.0; 5];
    for (kind, slot) in per_kind.iter_mut().enumerate() {
        let before = inspected();
        let (proto, req) = one(kind);
        rt.block_on(client::exchange(addr, proto, req, Duration::from_secs(20)))
            .unwrap();
        let done = (kind + 1) as f64;
        wait_until(&format!("request {kind} counted"), || requests() == done);
        *slot = inspected() - before;
    }
    const N: usize = 400;
    let one2 = one.clone();
    let statuses = rt.block_on(async move {
        let mut conns: Vec<Conn> = Vec::new();
        for _ in 0..8 {
            conns.push(Conn::connect(addr, Proto::H2).await.unwrap());
        }
        let tasks: Vec<_> = (0..N * 5)
            .map(|i| {
                let kind = i % 5;
                let (proto, req) = one2(kind);
                let h2 = conns[i % 8].h2_clone();
                tokio::spawn(async move {
                    let r = match (proto, h2) {
                        (Proto::H2, Some(mut c)) => c.send(req).await,
                        _ => client::exchange(addr, proto, req, Duration::from_secs(30)).await,
                    };
                    (kind, r.map(|r| r.status.as_u16()))
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    for (kind, r) in &statuses {
        let want = if *kind == 1 || *kind == 3 { 403 } else { 200 };
        assert_eq!(r.as_ref().ok(), Some(&want), "kind {kind}: {r:?}");
    }
    let total = (N + 1) as f64;
    let m = p.metrics();
    let get = |s: &str| phimesh_testkit::mesh::metric(&m, s);
    let req = |action: &str, protocol: &str| {
        get(&format!(
            r#"phimesh_requests_total{{action="{action}",direction="outbound",protocol="{protocol}",tls="none"}}"#
        ))
    };
    assert_eq!(req("forwarded", "http1"), total, "{m}");
    assert_eq!(req("refused", "http1"), total, "{m}");
    assert_eq!(req("forwarded", "http2"), total, "{m}");
    assert_eq!(req("refused", "http2"), total, "{m}");
    assert_eq!(req("forwarded", "grpc"), total, "{m}");
    for (protocol, n) in [
        ("http1", 2.0 * total),
        ("http2", 2.0 * total),
        ("grpc", total),
    ] {
        let c = get(&format!(
            r#"phimesh_request_duration_seconds_count{{direction="outbound",protocol="{protocol}"}}"#
        ));
        assert_eq!(c, n, "{protocol}: {m}");
    }
    let want: f64 = per_kind.iter().sum::<f64>() * total;
    assert_eq!(
        get(r#"phimesh_inspected_bytes_total{direction="outbound"}"#),
        want,
        "{per_kind:?}"
    );
    assert_eq!(
        get(r#"phimesh_refusals_total{direction="outbound",reason="phi"}"#),
        2.0 * total
    );
}

// ---------------------------------------------------------------------------------------------
// CSV exports whose first line looks like JSON, XML or a section title

/// A CSV export with a `patient_ssn` column, its first line `first`, and 300 rows before the one
/// that holds a valid SSN: only the header names that value's kind (it is far from any label).
fn far_csv(first: &str) -> String {
    let rows: String = (0..300).map(|i| format!("000000000,{i}\n")).collect();
    format!("{first}\npatient_ssn,qty\n{rows}123456789,3\n")
}

/// The header of a labelled CSV export names its columns below any first line: a report title
/// in brackets, a JSON or XML line, as it does below `# title` or `Report: weekly`.
#[test]
fn a_csv_header_below_a_first_line_starting_with_a_bracket_names_its_columns() {
    let sink = Sink::start();
    let p = egress(&sink, &[]);
    let rt = rt();
    let mut missed = Vec::new();
    for first in [
        "# weekly export",
        "Report: weekly",
        "[export]",
        "{\"report\":\"weekly\"}",
        "<report/>",
        "[1,2,3]",
    ] {
        let doc = far_csv(first);
        let scan = scan_says_phi(doc.as_bytes());
        let code = rt.block_on(post(p.routes[0], Proto::H1, doc.into_bytes(), 1));
        if !scan || code != 403 {
            missed.push(format!(
                "first line {first:?}: phimesh scan PHI={scan}, egress {code}"
            ));
        }
    }
    assert!(missed.is_empty(), "{}", missed.join("\n"));
    assert!(
        !contains(&sink.bytes(), b"123456789,3"),
        "the SSN row reached the sink"
    );
}
