//! What an operator runs into, on loopback without root: the dual-stack default listeners, the
//! identity client's complaints when the CA is dead or refuses, and the listeners' idle timeout
//! (a client that says nothing, or half a request, is closed; one that keeps talking is not).

#[path = "support/proxy.rs"]
mod support_proxy;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use phimesh_proxy::audit::AuditSink;
use phimesh_proxy::config::{Listen, ProxyConfig};
use phimesh_proxy::orig_dst::FixedOriginalDst;
use phimesh_proxy::Proxy;
use support_proxy::{curl, Ca, ProxyProc, Sink, CLEAN_JSON, PHI_JSON, SSN};

// ---------------------------------------------------------------------------------------------
// Dual-stack default listeners

/// The transparent outbound listener in its default form (dual stack; port 0 instead of 15001 so
/// the test can run beside anything): a client over 127.0.0.1 and one over ::1 reach the same
/// listener, the same policy applies to both, and the IPv4 client is audited as IPv4.
#[test]
fn default_listener_serves_ipv4_and_ipv6_loopback_clients() {
    let defaults = ProxyConfig::default();
    assert_eq!(defaults.outbound_listen, Listen::DualStack(15001));
    assert_eq!(defaults.inbound_listen, Listen::DualStack(15006));

    let sink = Sink::start();
    let (audit, lines) = AuditSink::memory();
    let cfg = ProxyConfig {
        transparent: Some(Arc::new(FixedOriginalDst::always(sink.addr))),
        outbound_listen: Listen::DualStack(0),
        inbound_mtls: phimesh_proxy::config::InboundMtls::Permissive,
        inbound_listen: Listen::DualStack(0),
        audit,
        ..ProxyConfig::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let running = rt.block_on(Proxy::start(cfg)).unwrap();
    let out = running.outbound.unwrap();
    assert!(out.is_ipv6() && out.ip().is_unspecified(), "{out}");
    let inb = running.inbound.unwrap();
    assert!(inb.is_ipv6() && inb.ip().is_unspecified(), "{inb}");

    for host in ["127.0.0.1", "[::1]"] {
        let url = format!("http://{host}:{}/echo", out.port());
        let (code, body) = curl(&["-g", "--data-binary", CLEAN_JSON, &url]);
        assert_eq!((code, body.as_str()), (200, CLEAN_JSON), "over {host}");
        let (code, body) = curl(&["-g", "--data-binary", PHI_JSON, &url]);
        assert_eq!(code, 403, "PHI over {host}: {body}");
    }
    assert!(!support_proxy::contains(&sink.bytes(), SSN.as_bytes()));
    let audit = lines.lock().unwrap().clone();
    assert_eq!(audit.len(), 2, "{audit:?}");
    let sources: Vec<String> = audit
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["source"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(sources[0].starts_with("127.0.0.1:"), "{sources:?}");
    assert!(sources[1].starts_with("[::1]:"), "{sources:?}");
    rt.block_on(running.shutdown(Duration::from_secs(2)));
}

// ---------------------------------------------------------------------------------------------
// Identity fetch failures

/// A `phimesh proxy` that is not (yet) ready: stderr collected, the admin address known.
struct Waiting {
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
    admin: SocketAddr,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Waiting {
    fn start(args: &[String]) -> Waiting {
        let mut child = Command::new(env!("CARGO_BIN_EXE_phimesh"))
            .arg("proxy")
            .args(["--admin-listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("PHIMESH_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let err = stderr.clone();
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        std::thread::spawn(move || {
            for l in lines.map_while(Result::ok) {
                err.lock().unwrap().push(l);
            }
        });
        let mut me = Waiting {
            child,
            stderr,
            admin: "127.0.0.1:0".parse().unwrap(),
        };
        let line = me.wait_line("the admin listener", |l| l.contains("role=admin"), 1);
        me.admin = line.split("addr=").nth(1).unwrap().trim().parse().unwrap();
        me
    }

    /// Waits (bounded, 20 s) until `n` stderr lines match; returns the last of them.
    fn wait_line(&mut self, what: &str, f: impl Fn(&str) -> bool, n: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let matching: Vec<String> = self
                .stderr
                .lock()
                .unwrap()
                .iter()
                .filter(|l| f(l))
                .cloned()
                .collect();
            if matching.len() >= n {
                return matching[n - 1].clone();
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("proxy exited ({st}) waiting for {what}: {:?}", self.text());
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn text(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }
}

/// `phimesh_identity_fetch_errors_total{reason="<reason>"}` from `/metrics`.
fn fetch_errors(admin: SocketAddr, reason: &str) -> f64 {
    let (code, text) = curl(&[&format!("http://{admin}/metrics")]);
    assert_eq!(code, 200);
    let prefix = format!("phimesh_identity_fetch_errors_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {prefix} in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

fn ready_status(admin: SocketAddr) -> u16 {
    curl(&[&format!("http://{admin}/ready")]).0
}

const TOKEN: &str = "tok-secret-7f3a9c1d";

fn identity_flags(dir: &std::path::Path, ca: &str, roots: &std::path::Path) -> Vec<String> {
    std::fs::write(dir.join("token"), TOKEN).unwrap();
    [
        "--identity",
        "spiffe://cluster.local/ns/ops/sa/web",
        "--ca-addr",
        ca,
        "--ca-roots",
        &roots.display().to_string(),
        "--token-file",
        &dir.join("token").display().to_string(),
        "--route",
        "127.0.0.1:0=127.0.0.1:9",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A CA address nothing listens on: every attempt is logged with reason `connect`, the CA
/// address and the next delay (never the token), counted, and `/ready` stays 503.
#[test]
fn dead_ca_is_logged_counted_and_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let roots = dir.path().join("roots.pem");
    std::fs::write(
        &roots,
        phimesh_ca::testing::TestPki::new("cluster.local").bundle_pem(),
    )
    .unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ca = format!("https://{}", dead.local_addr().unwrap());
    drop(dead);
    let mut p = Waiting::start(&identity_flags(dir.path(), &ca, &roots));
    assert_eq!(ready_status(p.admin), 503, "not ready without an identity");

    let is_failure = |l: &str| l.contains("WARN") && l.contains("identity fetch failed");
    p.wait_line("two logged attempts", is_failure, 2);
    let text = p.text();
    let first = text.lines().find(|l| is_failure(l)).unwrap();
    for want in [
        "reason=\"connect\"",
        &format!("ca={ca}"),
        "retry_in_ms=",
        "call=\"certificate\"",
    ] {
        assert!(
            first.contains(want),
            "{want} missing from the log line: {first}"
        );
    }
    assert!(!text.contains(TOKEN), "the token was logged:\n{text}");
    assert!(fetch_errors(p.admin, "connect") >= 2.0);
    assert_eq!(fetch_errors(p.admin, "unauthenticated"), 0.0);
    assert_eq!(ready_status(p.admin), 503);
    // Backoff: the first retries come after about 1 s, then 2 s, ... not in a tight loop.
    let lines = text.lines().filter(|l| is_failure(l)).count();
    assert!(lines <= 4, "{lines} attempts logged already:\n{text}");
}

/// A CA that answers but refuses the token: logged with reason `unauthenticated`, the HTTP
/// status and the CA's JSON error text, counted; `/ready` 503.
#[test]
fn refusing_ca_is_logged_with_status_and_error() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    std::fs::create_dir(&ca_dir).unwrap();
    let ca = Ca::start(&ca_dir, &[("ops", "other")]);
    let mut p = Waiting::start(&identity_flags(dir.path(), &ca.url, &ca.roots));
    let line = p.wait_line(
        "a logged refusal",
        |l| l.contains("identity fetch failed"),
        1,
    );
    for want in [
        "reason=\"unauthenticated\"",
        "status=401",
        "ca_error=unknown or invalid token",
        &format!("ca={}", ca.url),
    ] {
        assert!(line.contains(want), "{want} missing from: {line}");
    }
    assert!(!p.text().contains(TOKEN), "the token was logged");
    assert!(fetch_errors(p.admin, "unauthenticated") >= 1.0);
    assert_eq!(fetch_errors(p.admin, "connect"), 0.0);
    assert_eq!(ready_status(p.admin), 503);
}

// ---------------------------------------------------------------------------------------------
// Idle timeout on the listeners

const IDLE: Duration = Duration::from_secs(2);

/// Writes `first`, then waits for the proxy to close the connection (EOF or reset); returns
/// how long that took, or `None` if it is still open after `IDLE * 4`. Whatever the proxy sends
/// before closing (an HTTP/2 SETTINGS frame, a response) is read and ignored.
fn closed_after(addr: SocketAddr, first: &[u8]) -> Option<Duration> {
    let mut s = TcpStream::connect(addr).unwrap();
    let start = Instant::now();
    s.write_all(first).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 4096];
    while start.elapsed() < IDLE * 4 {
        match s.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Some(start.elapsed()),
        }
    }
    None
}

fn assert_idled_out(what: &str, addr: SocketAddr, first: &[u8]) {
    let took = closed_after(addr, first);
    let took = took.unwrap_or_else(|| panic!("{what}: still open after {:?}", IDLE * 4));
    assert!(
        took >= IDLE.mul_f64(0.8) && took <= IDLE * 3,
        "{what}: closed after {took:?}, idle timeout is {IDLE:?}"
    );
}

const H2_PREFACE_AND_SETTINGS: &[u8] =
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

fn idle_proxy(sink: &Sink) -> ProxyProc {
    let route = format!("127.0.0.1:0={}", sink.addr);
    let fwd = sink.addr.to_string();
    ProxyProc::start(&[
        "--route",
        &route,
        "--inbound-forward",
        &fwd,
        "--inbound-listen",
        "127.0.0.1:0",
        "--inbound-mtls",
        "permissive",
        "--idle-timeout",
        "2s",
    ])
}

/// Silent clients, half requests, idle keep-alive and idle HTTP/2 connections are closed after
/// `--idle-timeout`, on the outbound and the inbound listener (and idle admin connections).
#[test]
fn idle_connections_are_closed_on_both_listeners() {
    let sink = Sink::start();
    let p = idle_proxy(&sink);
    let cases: [(&str, &[u8]); 5] = [
        ("silent (opaque TCP)", b""),
        ("half a request head", b"GET /ok HTTP/1.1\r\nhost: a\r\n"),
        (
            "half a request body",
            b"POST /echo HTTP/1.1\r\nhost: a\r\ncontent-length: 100\r\n\r\n{\"a\":",
        ),
        (
            "idle keep-alive after a response",
            b"GET /ok HTTP/1.1\r\nhost: a\r\n\r\n",
        ),
        ("idle HTTP/2", H2_PREFACE_AND_SETTINGS),
    ];
    for (listener, addr) in [("outbound", p.routes[0]), ("inbound", p.inbound.unwrap())] {
        let runs: Vec<_> = cases
            .iter()
            .map(|(what, first)| {
                let what = format!("{listener}: {what}");
                let first = first.to_vec();
                std::thread::spawn(move || assert_idled_out(&what, addr, &first))
            })
            .collect();
        for r in runs {
            r.join().unwrap();
        }
    }
    // The admin listener too: a silent client, an idle keep-alive after `/live`.
    let admin = p.admin;
    let runs: Vec<_> = [&b""[..], b"GET /live HTTP/1.1\r\nhost: a\r\n\r\n"]
        .into_iter()
        .map(|first| {
            let first = first.to_vec();
            std::thread::spawn(move || assert_idled_out("admin", admin, &first))
        })
        .collect();
    for r in runs {
        r.join().unwrap();
    }
}

/// A connection that keeps moving bytes is not cut, however long it lasts: a request body sent
/// one byte every 400 ms for about 3 idle periods is answered in full.
#[test]
fn a_connection_with_regular_traffic_is_not_closed() {
    let sink = Sink::start();
    let p = idle_proxy(&sink);
    let body = b"{\"n\":\"0123456789\"}";
    for addr in [p.routes[0], p.inbound.unwrap()] {
        let mut s = TcpStream::connect(addr).unwrap();
        let start = Instant::now();
        write!(
            s,
            "POST /echo HTTP/1.1\r\nhost: a\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        for b in body {
            std::thread::sleep(Duration::from_millis(400));
            s.write_all(&[*b]).expect("still open");
        }
        assert!(start.elapsed() > IDLE * 3, "{:?}", start.elapsed());
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut resp = Vec::new();
        let _ = s.read_to_end(&mut resp);
        let text = String::from_utf8_lossy(&resp);
        assert!(
            text.starts_with("HTTP/1.1 200") && text.ends_with(std::str::from_utf8(body).unwrap()),
            "{addr}: {text}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The app's authority reaches the upstream unchanged

/// What an upstream saw of one request: HTTP version, the URI's authority (HTTP/2 `:authority`)
/// and the `Host` header.
type Seen = (String, Option<String>, Option<String>);

/// An HTTP/1.1 + h2 server that records [`Seen`] for every request and answers `ok`.
struct AuthoritySink {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    _rt: tokio::runtime::Runtime,
}

impl AuthoritySink {
    fn start() -> AuthoritySink {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let l = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = l.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        rt.spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: hyper::Request<_>| {
                        let host = req
                            .headers()
                            .get(hyper::header::HOST)
                            .map(|h| h.to_str().unwrap_or("?").to_owned());
                        log.lock().unwrap().push((
                            format!("{:?}", req.version()),
                            req.uri().authority().map(|a| a.to_string()),
                            host,
                        ));
                        async {
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(
                                http_body_util::Full::new(bytes::Bytes::from_static(b"ok")),
                            ))
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(hyper_util::rt::TokioIo::new(s), svc)
                    .await;
                });
            }
        });
        AuthoritySink {
            addr,
            seen,
            _rt: rt,
        }
    }

    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

const APP_AUTHORITY: &str = "patients.demo.svc:8080";

/// Sends one HTTP/1.1 and one h2 request for `APP_AUTHORITY` through `route` and checks what
/// the upstream saw: the same authority (h2 `:authority`, HTTP/1.1 `Host`), not the address the
/// proxy dialled.
fn assert_authority_kept(what: &str, route: SocketAddr, sink: &AuthoritySink) {
    let url = format!("http://{route}/records");
    let host = format!("host: {APP_AUTHORITY}");
    for h2 in [false, true] {
        let mut args = vec!["-H", host.as_str()];
        if h2 {
            args.push("--http2-prior-knowledge");
        }
        args.push(&url);
        let (code, body) = curl(&args);
        assert_eq!((code, body.as_str()), (200, "ok"), "{what} h2={h2}");
        let seen = sink.take();
        assert_eq!(seen.len(), 1, "{what}: {seen:?}");
        let (version, authority, host) = &seen[0];
        if h2 {
            assert_eq!(version, "HTTP/2.0", "{what}");
            assert_eq!(
                authority.as_deref(),
                Some(APP_AUTHORITY),
                "{what}: h2 :authority rewritten"
            );
            // No Host of another name beside it (an h2 request may carry none).
            assert!(
                host.as_deref().is_none_or(|h| h == APP_AUTHORITY),
                "{what}: {host:?}"
            );
        } else {
            assert_eq!(version, "HTTP/1.1", "{what}");
            assert_eq!(
                host.as_deref(),
                Some(APP_AUTHORITY),
                "{what}: Host rewritten"
            );
        }
    }
}

/// Egress (explicit route) and the mesh path (A's outbound, mTLS, B's inbound to the app) both
/// deliver the app's `:authority` / `Host` unchanged.
#[test]
fn the_apps_authority_reaches_the_upstream_unchanged() {
    let app = AuthoritySink::start();
    let route = format!("127.0.0.1:0={}", app.addr);
    let egress = ProxyProc::start(&["--route", &route]);
    assert_authority_kept("egress", egress.routes[0], &app);

    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::start(dir.path(), &[("a", "web"), ("b", "db")]);
    let fwd = app.addr.to_string();
    let mut b_args = ca.identity_args("b", "db");
    b_args.extend(
        [
            "--inbound-listen",
            "127.0.0.1:0",
            "--inbound-forward",
            &fwd,
            "--mesh-networks",
            "127.0.0.2/32",
        ]
        .map(String::from),
    );
    let b = ProxyProc::start(&b_args.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    let mut a_args = ca.identity_args("a", "web");
    let peer = format!("127.0.0.2:8080={}", b.inbound.unwrap());
    a_args.extend(
        [
            "--route",
            "127.0.0.1:0=127.0.0.2:8080",
            "--peer",
            &peer,
            "--mesh-networks",
            "127.0.0.2/32",
        ]
        .map(String::from),
    );
    let a = ProxyProc::start(&a_args.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    assert_authority_kept("mesh", a.routes[0], &app);
}

/// The admin listener serves a bounded number of connections: with 64 held open, the next is
/// closed at once and counted, and once some close, `/metrics` answers again.
#[test]
fn admin_listener_caps_its_connections() {
    let sink = Sink::start();
    let p = idle_proxy(&sink);
    let held: Vec<TcpStream> = (0..phimesh_proxy::admin::MAX_ADMIN_CONNECTIONS)
        .map(|_| TcpStream::connect(p.admin).unwrap())
        .collect();
    // The held connections are served: a request on the first one is answered.
    let mut first = &held[0];
    first
        .write_all(b"GET /live HTTP/1.1\r\nhost: a\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(first.read(&mut buf).unwrap() > 0);
    // Give the listener time to accept all of them before the one over the cap.
    std::thread::sleep(Duration::from_millis(300));
    let mut over = TcpStream::connect(p.admin).unwrap();
    over.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = over.write_all(b"GET /live HTTP/1.1\r\nhost: a\r\n\r\n");
    let n = over.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "the connection over the cap was served");
    drop(held);
    let text = (0..50)
        .find_map(|_| {
            let (code, text) = curl(&[&format!("http://{}/metrics", p.admin)]);
            if code == 200 {
                return Some(text);
            }
            std::thread::sleep(Duration::from_millis(50));
            None
        })
        .expect("/metrics answers once connections are freed");
    assert!(
        text.contains(
            r#"phimesh_connections_rejected_total{direction="admin",reason="max_connections"} "#
        ),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// The sidecar-only binary

/// The executable a process runs now.
fn exe_of(pid: u32) -> String {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .unwrap()
        .display()
        .to_string()
}

/// `phimesh proxy` with `PHIMESH_PROXY_BINARY` set (as the image does) becomes `phimesh-proxy` in
/// the same process, with every flag: it listens where it was told and refuses PHI egress as the
/// in-process sidecar does. Without the variable it stays `phimesh`; with one that names nothing
/// runnable it says so and runs the sidecar itself.
#[test]
fn phimesh_proxy_hands_over_to_the_sidecar_only_binary() {
    let sink = Sink::start();
    let route = format!("127.0.0.1:0={}", sink.addr);
    // tests/support/proxy.rs sets the variable to this build's phimesh-proxy.
    let p = ProxyProc::start(&["--route", &route]);
    let exe = exe_of(p.process().pid());
    assert!(exe.ends_with("/phimesh-proxy"), "runs {exe}");
    let url = format!("http://{}/upload", p.routes[0]);
    let (code, _) = curl(&["-X", "POST", "--data-binary", CLEAN_JSON, &url]);
    assert_eq!(code, 200, "clean request through the handed-over sidecar");
    let (code, _) = curl(&["-X", "POST", "--data-binary", PHI_JSON, &url]);
    assert_eq!(code, 403, "PHI egress refused by the handed-over sidecar");
    assert!(
        !support_proxy::contains(&sink.bytes(), SSN.as_bytes()),
        "PHI reached the sink"
    );

    for (value, what) in [("", "empty"), ("/nonexistent/phimesh-proxy", "missing")] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_phimesh"));
        cmd.args(["proxy", "--admin-listen", "127.0.0.1:0", "--route", &route])
            .env("PHIMESH_PROXY_BINARY", value)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline && !seen.contains("phimesh proxy: ready") {
            let mut line = String::new();
            if err.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            seen.push_str(&line);
        }
        let exe = exe_of(child.id());
        let _ = child.kill();
        let _ = child.wait();
        assert!(seen.contains("phimesh proxy: ready"), "{what}: {seen}");
        assert!(exe.ends_with("/phimesh"), "{what}: runs {exe}");
        assert_eq!(
            seen.contains("could not start the sidecar-only binary"),
            !value.is_empty(),
            "{what}: {seen}"
        );
    }
}
