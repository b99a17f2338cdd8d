//! Mesh discovery in transparent mode, in network namespaces: pods A and B with `phimesh init`
//! and `phimesh proxy --transparent` (UID 1337), pod U in the same /24 with no sidecar at all (an
//! unmeshed namespace, a node agent), and the CA on its own host serving its mesh list from a
//! file (`--mesh-source file:PATH`). The whole /24 is `--mesh-networks`. An app in A (`curl` as
//! UID 1000) that knows nothing of the mesh:
//!
//! * A → B (listed): mTLS, the record delivered, the audit line names B's identity;
//! * A → U (not listed): egress, plaintext, inspected: a clean request arrives, a record is
//!   refused with 403 and U's capture of every byte holds none of it;
//! * the list then names another identity for B's address: A → B is refused inside the
//!   handshake (`peer_identity_mismatch`, counted and audited) and B's app gets nothing.
//!
//! Needs root; fails loudly without it unless `PHIMESH_SKIP_NETNS=1` (tests/support/netns.rs).

mod support {
    pub(crate) mod netns;
}

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::netns::{self, wait_for, Net, Pod, APP_UID, PROXY_UID};

const ID_A: &str = "spiffe://cluster.local/ns/demo/sa/frontend";
const ID_B: &str = "spiffe://cluster.local/ns/demo/sa/patients";
const ID_OTHER: &str = "spiffe://cluster.local/ns/billing/sa/ledger";
const SSN: &str = "512-38-4471";
const PHI: &str = r#"{"patient":{"name":"Tamsin Calloway","ssn":"512-38-4471"}}"#;
const CLEAN: &str = r#"{"order":{"item":"gauze","qty":3}}"#;

fn write_file(path: &std::path::Path, text: &str) {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
}

/// Records every byte of each connection and answers one HTTP/1.1 request with `200 ok`.
fn recording_app(
    capture: Arc<Mutex<Vec<u8>>>,
) -> impl Fn(tokio::net::TcpStream) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
       + Send
       + 'static {
    move |mut s| {
        let capture = capture.clone();
        Box::pin(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut seen = Vec::new();
            let mut buf = [0u8; 8192];
            loop {
                let n = match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                    Ok(Ok(n)) => n,
                };
                capture.lock().unwrap().extend_from_slice(&buf[..n]);
                seen.extend_from_slice(&buf[..n]);
                if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
                    let want = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if seen.len() - end - 4 >= want {
                        let _ = s
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n")
                            .await;
                        break;
                    }
                }
            }
            let _ = s.shutdown().await;
        })
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The value of `series` (exact `name{labels}` as rendered) in the pod's sidecar metrics.
fn metric(pod: &Pod, series: &str) -> Option<f64> {
    let (ok, body) = pod.curl(0, &["http://127.0.0.1:15020/metrics"]);
    assert!(ok, "metrics of {}: {body}", pod.name);
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

fn start_proxy(net: &mut Net, pod: &Pod, label: &str, args: Vec<String>) {
    let mut cmd = pod.cmd_as(PROXY_UID, netns::phimesh_bin());
    cmd.arg("proxy")
        .arg("--transparent")
        .args(args)
        .args(["--admin-listen", "0.0.0.0:15020"])
        .env("PHIMESH_LOG", "info");
    net.spawn(label, cmd);
    wait_for(&format!("{label} ready"), Duration::from_secs(30), || {
        if let Some(st) = net.proc(label).exited() {
            panic!("{label} exited ({st}) before ready:\n{}", net.logs());
        }
        let (ok, code) = pod.curl(
            0,
            &[
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "http://127.0.0.1:15020/ready",
            ],
        );
        (ok && code == "200").then_some(())
    });
}

#[test]
fn discovery_sorts_meshed_from_unmeshed_and_pins_identities() {
    if netns::require_netns("discovery").is_none() {
        return;
    }
    let mut net = Net::new("disc");
    let a = net.pod("a");
    let b = net.pod("b");
    let u = net.pod("u");
    let ca_host = net.pod("ca");

    let dir = net.dir().to_path_buf();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    write_file(
        &dir.join("tokens"),
        &format!("tok-a {ID_A}\ntok-b {ID_B}\n"),
    );
    write_file(&dir.join("token-a"), "tok-a\n");
    write_file(&dir.join("token-b"), "tok-b\n");
    let mesh_file = dir.join("mesh");
    write_file(&mesh_file, &format!("{} {ID_A}\n{} {ID_B}\n", a.ip, b.ip));

    let mesh_source = [
        "--mesh-source".into(),
        format!("file:{}", mesh_file.display()),
    ];
    let bundle = net.start_ca(&ca_host, &dir, &mesh_source);

    let b_capture = Arc::new(Mutex::new(Vec::new()));
    let u_capture = Arc::new(Mutex::new(Vec::new()));
    let _b_app = b.serve(
        "[::]:8080".parse().unwrap(),
        recording_app(b_capture.clone()),
    );
    let _u_app = u.serve("[::]:80".parse().unwrap(), recording_app(u_capture.clone()));

    a.init(&[]);
    b.init(&[]);
    let common = |id: &str, token: &str| -> Vec<String> {
        vec![
            "--identity".into(),
            id.into(),
            "--ca-addr".into(),
            format!("https://{}", ca_host.addr(15012)),
            "--ca-roots".into(),
            bundle.display().to_string(),
            "--token-file".into(),
            dir.join(token).display().to_string(),
            // The whole pod network: A, B and U alike.
            "--mesh-networks".into(),
            "10.254.0.0/24".into(),
            "--discovery-interval".into(),
            "500ms".into(),
            "--discovery-max-age".into(),
            "10s".into(),
        ]
    };
    start_proxy(&mut net, &b, "proxy-b", common(ID_B, "token-b"));
    start_proxy(&mut net, &a, "proxy-a", common(ID_A, "token-a"));
    wait_for("A's mesh list", Duration::from_secs(30), || {
        (metric(&a, "phimesh_discovery_workloads") == Some(2.0)
            && metric(&a, "phimesh_discovery_stale") == Some(0.0))
        .then_some(())
    });

    // A → B, listed: mTLS, delivered.
    let (ok, body) = a.curl(
        APP_UID,
        &[
            "--data-binary",
            PHI,
            &format!("http://{}/patients", b.addr(8080)),
        ],
    );
    assert!(ok && body == "ok\n", "A → B: {body}\n{}", net.logs());
    assert!(
        contains(&b_capture.lock().unwrap(), SSN),
        "B's app got the record"
    );
    let audit = net.proc("proxy-a").stdout();
    assert!(
        audit.lines().any(|l| l.contains("\"tls\":\"mtls\"")
            && l.contains(&format!("\"peer_identity\":\"{ID_B}\""))),
        "{audit}"
    );

    // A → U, same network, not listed: egress in plaintext, inspected.
    let (ok, body) = a.curl(
        APP_UID,
        &[
            "--data-binary",
            CLEAN,
            &format!("http://{}/orders", u.addr(80)),
        ],
    );
    assert!(ok && body == "ok\n", "A → U clean: {body}\n{}", net.logs());
    assert!(
        contains(&u_capture.lock().unwrap(), CLEAN),
        "U got it in plaintext"
    );
    let (ok, body) = a.curl(
        APP_UID,
        &[
            "-w",
            "%{http_code}",
            "--data-binary",
            PHI,
            &format!("http://{}/orders", u.addr(80)),
        ],
    );
    assert!(ok && body.ends_with("403"), "A → U with PHI: {body}");
    assert!(
        !contains(&u_capture.lock().unwrap(), SSN),
        "no byte of the record reached U"
    );

    // B's address now listed with another identity (and one more address, so that A's
    // workload count says when it has the new list).
    write_file(
        &mesh_file,
        &format!(
            "{} {ID_A}\n{} {ID_OTHER}\n10.254.0.200 {ID_A}\n",
            a.ip, b.ip
        ),
    );
    wait_for("A's new mesh list", Duration::from_secs(30), || {
        (metric(&a, "phimesh_discovery_workloads") == Some(3.0)).then_some(())
    });
    let before = b_capture.lock().unwrap().len();
    let (_, body) = a.curl(
        APP_UID,
        &[
            "-w",
            "%{http_code}",
            "--data-binary",
            CLEAN,
            &format!("http://{}/patients", b.addr(8080)),
        ],
    );
    assert!(
        body.ends_with("502"),
        "A → B under another identity: {body}"
    );
    assert_eq!(
        b_capture.lock().unwrap().len(),
        before,
        "B's app got nothing"
    );
    let refused = metric(
        &a,
        "phimesh_tls_handshakes_refused_total{direction=\"outbound\",reason=\"peer_identity_mismatch\"}",
    );
    assert!(refused >= Some(1.0), "{refused:?}");
    let audit = net.proc("proxy-a").stdout();
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"event\":\"peer_identity_mismatch\"")
                && l.contains(&format!("\"expected_identity\":\"{ID_OTHER}\""))
                && l.contains(&format!("\"peer_identity\":\"{ID_B}\""))),
        "{audit}"
    );
}
