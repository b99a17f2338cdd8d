//! Two `phimesh proxy` sidecars and a real `phimesh ca` on loopback: mesh mTLS with SPIFFE IDs,
//! audit by the sending side, strict and permissive inbound, the allow list, `openssl s_client`.

#[path = "support/proxy.rs"]
mod support_proxy;

use std::process::{Command, Stdio};

use support_proxy::{contains, curl, Ca, ProxyProc, Sink, PHI_JSON, SSN};

const MESH: &str = "127.0.0.2/32";
const UPSTREAM: &str = "127.0.0.2:8080";

fn server_side(ca: &Ca, sink: &Sink, extra: &[&str]) -> ProxyProc {
    ca.inbound_sidecar(sink.addr, MESH, extra)
}

fn client_side(ca: &Ca, peer_inbound: std::net::SocketAddr) -> ProxyProc {
    ca.outbound_sidecar(UPSTREAM, peer_inbound, MESH, &[])
}

#[test]
fn phi_between_sidecars_over_mtls_is_delivered_and_audited_by_the_sending_side() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::start(dir.path(), &[("a", "web"), ("b", "db")]);
    let sink = Sink::start();
    let b = server_side(&ca, &sink, &[]);
    let a = client_side(&ca, b.inbound.unwrap());
    let url = format!("http://{}/echo", a.routes[0]);

    let (code, body) = curl(&[
        "-H",
        "content-type: application/json",
        "--data-binary",
        PHI_JSON,
        &url,
    ]);
    assert_eq!((code, body.as_str()), (200, PHI_JSON));
    let (code, body) = curl(&["--http2-prior-knowledge", "--data-binary", PHI_JSON, &url]);
    assert_eq!((code, body.as_str()), (200, PHI_JSON));
    assert!(
        contains(&sink.bytes(), SSN.as_bytes()),
        "the app behind B got the record"
    );

    // Each message is audited by the sidecar that sent it over the mesh hop: A the two
    // requests, B the two echoed responses (`--mesh-inspection sender`, the default).
    a.wait_audit(2);
    b.wait_audit(2);
    // Time for a receiving side that scans when it should not to write lines it should not.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (aa, ba) = (a.audit(), b.audit());
    assert_eq!(aa.len(), 2, "{aa:?}");
    assert_eq!(ba.len(), 2, "{ba:?}");
    assert!(aa.iter().all(|e| e["flow"] == "request"), "{aa:?}");
    assert!(ba.iter().all(|e| e["flow"] == "response"), "{ba:?}");
    assert!(
        aa.iter().all(|e| e["action"] == "forwarded"
            && e["tls"] == "mtls"
            && e["direction"] == "outbound"),
        "{aa:?}"
    );
    assert!(
        ba.iter()
            .all(|e| e["action"] == "forwarded" && e["direction"] == "inbound"),
        "{ba:?}"
    );
    assert!(
        ba.iter()
            .all(|e| e["peer_identity"] == "spiffe://cluster.local/ns/a/sa/web"),
        "{ba:?}"
    );
    assert!(
        aa.iter().any(|e| e["protocol"] == "http2") && aa.iter().any(|e| e["protocol"] == "http1")
    );
    for text in [a.audit_text(), b.audit_text()] {
        assert!(!text.contains(SSN) && !text.contains("Jane") && !text.contains("/echo"));
    }
    let m = b.metrics();
    assert!(
        m.contains(r#"phimesh_tls_handshakes_total{direction="inbound",result="ok"}"#),
        "{m}"
    );
    assert!(m.contains(r#"phimesh_requests_total{action="forwarded",direction="inbound",protocol="http1",tls="mtls"} 1"#), "{m}");
    assert!(m.contains("phimesh_identity_cert_expiry_timestamp_seconds"));
    let (code, _) = curl(&[&format!("http://{}/ready", b.admin)]);
    assert_eq!(code, 200);

    // Strict inbound: plaintext and certificate-less TLS clients are refused.
    let (code, _) = curl(&[&format!("http://{}/", b.inbound.unwrap())]);
    assert_eq!(code, 0);
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &b.inbound.unwrap().to_string(),
            "-alpn",
            "http/1.1",
            "-ign_eof",
            "-quiet",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n");
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains("HTTP/1.1"),
        "served without a client certificate: {stdout}"
    );
    assert!(
        stderr.contains("alert") || !out.status.success(),
        "{stderr}"
    );
    let m = b.metrics();
    assert!(m.contains(r#"phimesh_connections_rejected_total{direction="inbound",reason="plaintext_in_strict_mode"} 1"#), "{m}");
    assert!(
        m.contains(r#"phimesh_tls_handshakes_total{direction="inbound",result="error"} 1"#),
        "{m}"
    );
}

#[test]
fn allow_list_refuses_other_identities_and_permissive_refuses_phi_responses_in_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::start(dir.path(), &[("a", "web"), ("b", "db")]);
    let sink = Sink::start();
    let b = server_side(
        &ca,
        &sink,
        &["--allow-identities", "spiffe://cluster.local/ns/x/sa/other"],
    );
    let a = client_side(&ca, b.inbound.unwrap());
    let (code, _) = curl(&[&format!("http://{}/", a.routes[0])]);
    assert_eq!(code, 502, "a caller not on the allow list is refused");
    assert!(sink.bytes().is_empty());

    let p = server_side(&ca, &sink, &["--inbound-mtls", "permissive"]);
    let inbound = p.inbound.unwrap();
    let (code, body) = curl(&[&format!("http://{inbound}/")]);
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    let (code, body) = curl(&[&format!("http://{inbound}/phi")]);
    assert_eq!(code, 403, "{body}");
    assert!(!body.contains(SSN));
    let audit = p.wait_audit(1);
    assert_eq!(audit[0]["flow"], "response");
    assert_eq!(audit[0]["action"], "refused");
}

/// A pooled mesh connection is given up while it idles, well before the peer's server side would
/// close it (it closes a keep-alive connection that waited `--header-timeout` for a request), so
/// that A never sends a request down a connection B is closing at that moment. With A's
/// `--header-timeout 2s` its pool keeps an idle connection for 1 s; B keeps it open for 10 s.
#[test]
fn an_idle_pooled_mesh_connection_is_dropped_before_the_peer_would_close_it() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::start(dir.path(), &[("a", "web"), ("b", "db")]);
    let sink = Sink::start();
    let b = server_side(&ca, &sink, &[]);
    let a = ca.outbound_sidecar(
        UPSTREAM,
        b.inbound.unwrap(),
        MESH,
        &["--header-timeout", "2s"],
    );
    let url = format!("http://{}/echo", a.routes[0]);
    let handshakes = || {
        let m = a.metrics();
        m.lines()
            .find_map(|l| {
                l.strip_prefix(r#"phimesh_tls_handshakes_total{direction="outbound",result="ok"} "#)
            })
            .map_or(0, |v| v.trim().parse::<u64>().unwrap())
    };
    let get = || {
        let (code, body) = curl(&["--data-binary", "hello", &url]);
        assert_eq!((code, body.as_str()), (200, "hello"));
    };
    // Back to back: the second request reuses the pooled connection.
    get();
    get();
    assert_eq!(handshakes(), 1);
    // Idle longer than A's pool keeps a connection, far less than B's 10 s: a new one.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    get();
    assert_eq!(handshakes(), 2);
}
