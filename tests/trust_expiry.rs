//! What authenticated a mesh connection bounds it: the real `phimesh ca` and `phimesh proxy`
//! binaries on loopback with certificates that live seconds.
//!
//! * Both sidecars' certificates expire while the CA is down: new mesh connections are refused in
//!   both directions (counted, logged, `phimesh_identity_expired` 1) although TLS sessions were
//!   being resumed just before; the CA comes back and both are ready within 5 s.
//! * `openssl s_client -sess_out/-sess_in` against a sidecar's inbound listener, with a client
//!   certificate from the CA: a session is resumed while both certificates hold ("Reused"), and
//!   not once the client certificate has expired — with the CA down, so the sidecar's own
//!   certificate has not changed and only the session's own expiry can stop it; nor after a
//!   root rotation, once the old root has left the bundle.
//! * The CA throttles failed authentication per client address: 429 with `Retry-After` and a
//!   JSON error after the burst, while another address is served.

#[path = "support/proxy.rs"]
mod support_proxy;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support_proxy::{curl, Ca, ProxyProc, Sink};

const MESH: &str = "127.0.0.2/32";
const UPSTREAM: &str = "127.0.0.2:8080";

fn ready(p: &ProxyProc) -> bool {
    curl(&[&format!("http://{}/ready", p.admin)]).0 == 200
}

/// Polls `f` every 100 ms for at most `limit`; returns whether it became true.
fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn stderr_has(p: &ProxyProc, text: &str) -> bool {
    p.stderr.lock().unwrap().iter().any(|l| l.contains(text))
}

fn openssl(args: &[&str]) -> std::process::Output {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A P-256 key and a certificate chain for `spiffe://cluster.local/ns/a/sa/web` from the CA
/// (token `tok-a-web`), as files for `openssl s_client -cert/-key`.
fn client_cert(ca: &Ca, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    let (ks, cs) = (key.display().to_string(), csr.display().to_string());
    openssl(&[
        "req",
        "-new",
        "-nodes",
        "-subj",
        "/O=test",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-keyout",
        &ks,
        "-out",
        &cs,
        "-addext",
        "subjectAltName=URI:spiffe://cluster.local/ns/a/sa/web",
    ]);
    let body = dir.join(format!("{name}.json"));
    let csr_pem = std::fs::read_to_string(&csr).unwrap();
    std::fs::write(&body, serde_json::json!({ "csr": csr_pem }).to_string()).unwrap();
    let (code, answer) = curl(&[
        "--cacert",
        &ca.roots.display().to_string(),
        "-H",
        "authorization: Bearer tok-a-web",
        "-H",
        "content-type: application/json",
        "--data-binary",
        &format!("@{}", body.display()),
        &format!("{}/v1/certificates", ca.url),
    ]);
    assert_eq!(code, 200, "{answer}");
    let v: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let chain = dir.join(format!("{name}.pem"));
    std::fs::write(&chain, v["certificate_chain"].as_str().unwrap()).unwrap();
    (chain, key)
}

fn expired(cert: &Path) -> bool {
    !Command::new("openssl")
        .args(["x509", "-noout", "-checkend", "0", "-in"])
        .arg(cert)
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// What one `openssl s_client` connection to a sidecar's inbound listener did.
#[derive(Debug)]
struct Session {
    reused: bool,
    new: bool,
    served: bool,
    out: String,
}

/// One HTTP/1.1 request over `openssl s_client` with the client certificate `cert`, offering the
/// session in `sess_in` and saving the one it gets to `sess_out`.
fn s_client(
    inbound: SocketAddr,
    cert: &Path,
    key: &Path,
    sess_in: Option<&Path>,
    sess_out: Option<&Path>,
) -> Session {
    let mut cmd = Command::new("timeout");
    cmd.args(["20", "openssl", "s_client", "-connect"])
        .arg(inbound.to_string())
        .args(["-noservername", "-alpn", "http/1.1", "-ign_eof", "-cert"])
        .arg(cert)
        .arg("-cert_chain")
        .arg(cert)
        .arg("-key")
        .arg(key);
    if let Some(p) = sess_in {
        cmd.arg("-sess_in").arg(p);
    }
    if let Some(p) = sess_out {
        cmd.arg("-sess_out").arg(p);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(b"GET / HTTP/1.1\r\nhost: b\r\nconnection: close\r\n\r\n");
    }
    let out = child.wait_with_output().unwrap();
    let out = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Session {
        reused: out.contains("Reused, TLSv1.3"),
        new: out.contains("New, TLSv1.3"),
        served: out.contains("HTTP/1.1 200"),
        out,
    }
}

/// Saves a session with `cert` and shows that it is resumed while everything holds. Retried (at
/// most 5 times) because each renewal of the sidecar's certificate rightly ends its sessions.
fn save_resumable_session(b: &ProxyProc, cert: &Path, key: &Path, sess: &Path) {
    let inbound = b.inbound.unwrap();
    for _ in 0..5 {
        let first = s_client(inbound, cert, key, None, Some(sess));
        assert!(first.new && first.served, "{}", first.out);
        let again = s_client(inbound, cert, key, Some(sess), Some(sess));
        assert!(again.served, "{}", again.out);
        if again.reused {
            return;
        }
    }
    panic!("no session was ever resumed: the test would prove nothing");
}

fn expiry_of(p: &ProxyProc) -> f64 {
    p.metric("phimesh_identity_cert_expiry_timestamp_seconds")
}

/// Waits (bounded) until `p` installs a new certificate.
fn wait_renewal(p: &ProxyProc, limit: Duration) {
    let before = expiry_of(p);
    assert!(
        wait_until(limit, || expiry_of(p) != before),
        "no renewal within {limit:?}"
    );
}

#[test]
fn expired_sidecars_refuse_new_mesh_connections_both_ways_and_are_ready_within_seconds_of_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let mut ca = Ca::start_with(
        dir.path(),
        &[("a", "web"), ("b", "db")],
        &["--leaf-ttl", "8s"],
    );
    let sink = Sink::start();
    let b = ca.inbound_sidecar(sink.addr, MESH, &[]);
    // `--header-timeout 2s`: A keeps an idle pooled connection 1 s, so each request below that
    // waits longer needs a new mesh connection.
    let a = ca.outbound_sidecar(
        UPSTREAM,
        b.inbound.unwrap(),
        MESH,
        &["--header-timeout", "2s"],
    );
    let url = format!("http://{}/echo", a.routes[0]);
    let get = || curl(&["--data-binary", "hello", &url]);
    let resumptions = r#"phimesh_tls_resumptions_total{direction="inbound"}"#;

    // While the certificates hold, new connections resume TLS sessions (the shortcut that
    // checks no certificate).
    let resumed = (0..12).any(|_| {
        assert_eq!(get(), (200, "hello".to_owned()));
        std::thread::sleep(Duration::from_millis(1300));
        b.metric(resumptions) > 0.0
    });
    assert!(
        resumed,
        "no resumption at all: the test would prove nothing"
    );

    // The CA goes away; both certificates expire within one leaf life.
    ca.stop();
    assert!(
        wait_until(Duration::from_secs(12), || !ready(&a) && !ready(&b)),
        "both sidecars not ready once their certificates expired"
    );
    for p in [&a, &b] {
        assert!(
            wait_until(Duration::from_secs(3), || p
                .metric("phimesh_identity_expired")
                == 1.0),
            "{}",
            p.metrics()
        );
        assert!(
            expiry_of(p) <= unix_now(),
            "the expiry gauge says it expired"
        );
        assert!(stderr_has(p, "workload certificate expired"));
    }

    // Outbound: A makes no mesh connection with an expired certificate (no resumption either).
    std::thread::sleep(Duration::from_millis(1200)); // nothing left in A's pool
    let b_ok = r#"phimesh_tls_handshakes_total{direction="inbound",result="ok"}"#;
    let (b_ok_before, b_resumed_before) = (b.metric(b_ok), b.metric(resumptions));
    let received = sink.bytes().len();
    for _ in 0..3 {
        let (code, body) = get();
        assert_eq!(code, 502, "{body}");
    }
    let refused_out =
        r#"phimesh_tls_handshakes_refused_total{direction="outbound",reason="identity_expired"}"#;
    assert!(a.metric(refused_out) >= 3.0, "{}", a.metrics());
    assert_eq!(b.metric(b_ok), b_ok_before, "nothing reached B");
    assert_eq!(b.metric(resumptions), b_resumed_before);
    assert_eq!(sink.bytes().len(), received);

    // Inbound: B serves no mesh connection with an expired certificate, whoever asks.
    let out = Command::new("timeout")
        .args(["10", "openssl", "s_client", "-connect"])
        .arg(b.inbound.unwrap().to_string())
        .args(["-noservername", "-alpn", "http/1.1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("TLSv1.3, Cipher"), "{text}");
    let refused_in =
        r#"phimesh_tls_handshakes_refused_total{direction="inbound",reason="identity_expired"}"#;
    assert!(b.metric(refused_in) >= 1.0, "{}", b.metrics());

    // The CA comes back: both sidecars are ready within seconds, not after a long backoff.
    ca.restart();
    let back = Instant::now();
    assert!(wait_until(Duration::from_secs(15), || ready(&a) && ready(&b)));
    let took = back.elapsed();
    eprintln!("both sidecars ready {took:?} after the CA came back");
    assert!(
        took <= Duration::from_secs(5),
        "ready {took:?} after the CA came back"
    );
    assert_eq!(get(), (200, "hello".to_owned()));
    for p in [&a, &b] {
        assert_eq!(p.metric("phimesh_identity_expired"), 0.0);
        assert!(stderr_has(p, "workload certificate valid again"));
    }
}

#[test]
fn a_session_is_not_resumed_once_the_client_certificate_that_made_it_has_expired() {
    let dir = tempfile::tempdir().unwrap();
    let mut ca = Ca::start_with(
        dir.path(),
        &[("a", "web"), ("b", "db")],
        &["--leaf-ttl", "12s"],
    );
    let sink = Sink::start();
    let b = ca.inbound_sidecar(sink.addr, MESH, &[]);

    // The client certificate right after a renewal of B's; then one more renewal of B: B's
    // certificate now outlives the client's by about 7 s (renewals at 60-67 % of 12 s).
    wait_renewal(&b, Duration::from_secs(15));
    let (cert, key) = client_cert(&ca, dir.path(), "web");
    wait_renewal(&b, Duration::from_secs(15));
    // With the CA down, B's certificate and trust bundle stay as they are: nothing but the
    // session's own expiry can end it.
    ca.stop();
    let sess = dir.path().join("session.pem");
    save_resumable_session(&b, &cert, &key, &sess);

    assert!(
        wait_until(Duration::from_secs(15), || expired(&cert)),
        "the client certificate expires"
    );
    // openssl calls it expired at `notAfter`, webpki a second later: past both.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(ready(&b), "B's own certificate is still valid");
    let after = s_client(b.inbound.unwrap(), &cert, &key, Some(&sess), None);
    assert!(
        !after.reused,
        "resumed a session whose client certificate has expired: {}",
        after.out
    );
    assert!(!after.served, "{}", after.out);
    assert!(ready(&b), "B's own certificate was still valid throughout");
}

#[test]
fn a_session_from_before_a_root_rotation_is_not_resumed_after_the_old_root_left() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::start_with(
        dir.path(),
        &[("a", "web"), ("b", "db")],
        &["--leaf-ttl", "4s"],
    );
    let sink = Sink::start();
    let b = ca.inbound_sidecar(sink.addr, MESH, &[]);
    let old_bundle = std::fs::read_to_string(&ca.roots).unwrap();

    let (cert, key) = client_cert(&ca, dir.path(), "old");
    let sess = dir.path().join("session.pem");
    save_resumable_session(&b, &cert, &key, &sess);

    let out = Command::new(env!("CARGO_BIN_EXE_phimesh"))
        .args(["ca", "rotate-root", "--state-dir"])
        .arg(ca.state_dir())
        .args(["--propagation-delay", "1s"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // Signing moves after 1 s; the old root leaves ~8 s later (longest leaf + skew).
    let certs = |pem: &str| pem.matches("BEGIN CERTIFICATE").count();
    assert!(wait_until(Duration::from_secs(25), || {
        let now = std::fs::read_to_string(&ca.roots).unwrap();
        certs(&now) == 1 && now != old_bundle
    }));
    // B picks the bundle up with its next certificate.
    wait_renewal(&b, Duration::from_secs(10));
    wait_renewal(&b, Duration::from_secs(10));

    // A certificate under the new root, and the session saved under the old one.
    let (cert, key) = client_cert(&ca, dir.path(), "new");
    let after = s_client(b.inbound.unwrap(), &cert, &key, Some(&sess), None);
    assert!(
        !after.reused,
        "resumed a session from under a root that left the bundle: {}",
        after.out
    );
    assert!(after.new && after.served, "{}", after.out);
}

#[test]
fn the_ca_throttles_failed_authentication_per_address_and_serves_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::start_with(dir.path(), &[("a", "web")], &["--auth-failure-limit", "5"]);
    let (_, _) = client_cert(&ca, dir.path(), "warmup"); // a right token: nothing charged
    let body = dir.path().join("warmup.json");
    let post = |token: &str, from: &str| {
        let out = Command::new("curl")
            .args(["-s", "--max-time", "20", "-D", "-", "--interface", from])
            .arg("--cacert")
            .arg(&ca.roots)
            .args(["-H", &format!("authorization: Bearer {token}")])
            .args(["-H", "content-type: application/json", "--data-binary"])
            .arg(format!("@{}", body.display()))
            .arg(format!("{}/v1/certificates", ca.url))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let status: u16 = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, text)
    };
    let mut statuses = Vec::new();
    let mut last = String::new();
    for i in 0..12 {
        let (s, text) = post(&format!("wrong-{i}"), "127.0.0.1");
        statuses.push(s);
        last = text;
    }
    assert_eq!(statuses[..5], [401; 5], "{statuses:?}");
    assert_eq!(statuses[5..], [429; 7], "{statuses:?}");
    let lower = last.to_ascii_lowercase();
    let retry_after: u64 = lower
        .lines()
        .find_map(|l| l.strip_prefix("retry-after:"))
        .expect("Retry-After")
        .trim()
        .parse()
        .unwrap();
    assert!((1..=12).contains(&retry_after), "{last}");
    let json = last.rsplit("\r\n\r\n").next().unwrap();
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(
        v["error"], "too many failed authentications from this address",
        "{last}"
    );
    assert!(!last.contains("wrong-"), "the token is never echoed");
    // The throttled address is refused before its token is looked at, even a right one.
    assert_eq!(post("tok-a-web", "127.0.0.1").0, 429);
    // Another address: its right token is served, its wrong one counted on its own.
    let (s, text) = post("tok-a-web", "127.0.0.2");
    assert_eq!(s, 200, "{text}");
    assert_eq!(post("wrong", "127.0.0.2").0, 401);
    let (_, metrics) = curl(&[
        "--cacert",
        &ca.roots.display().to_string(),
        &format!("{}/metrics", ca.url),
    ]);
    assert!(
        metrics.contains("phimesh_ca_auth_throttled_total 8"),
        "{metrics}"
    );
    assert!(metrics.contains(r#"phimesh_ca_certificates_issued_total{result="unauthenticated"} 6"#));
}
