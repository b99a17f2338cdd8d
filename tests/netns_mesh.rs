//! The product in transparent mode, in network namespaces: two pods and an external host on a
//! bridge, a CA host, `phimesh init` in each pod, the real `phimesh proxy --transparent` in each
//! pod as UID 1337, and an app (`curl` as UID 1000) in pod A that knows nothing of the mesh:
//!
//! * pod A → pod B's IP with a patient record: delivered over mTLS (audit line with `tls: mtls`,
//!   metrics with `tls="mtls"`), the app in B got the record;
//! * pod A → external host, clean: delivered;
//! * pod A → external host with PHI (JSON, gzip, chunked): refused with 403 `phi_refused`, and the
//!   external host's capture of every byte it received holds none of the PHI;
//! * external host → pod B in plaintext: refused (inbound strict mTLS);
//! * metrics counted (`curl /metrics` inside the pod), audit lines written.
//!
//! Needs root; fails loudly without it unless `PHIMESH_SKIP_NETNS=1` (tests/support/netns.rs).

mod support {
    pub(crate) mod netns;
}

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::netns::{self, Net, Pod, APP_UID, PROXY_UID};

const ID_A: &str = "spiffe://cluster.local/ns/demo/sa/frontend";
const ID_B: &str = "spiffe://cluster.local/ns/demo/sa/patients";
const SSN: &str = "512-38-4471";
const MRN: &str = "E4471902";

fn patient_json() -> String {
    format!(
        r#"{{"resourceType":"Patient","id":"4711","identifier":[{{"type":"MR","value":"{MRN}"}},{{"system":"http://hl7.org/fhir/sid/us-ssn","value":"{SSN}"}}],"name":[{{"family":"Calloway","given":["Tamsin"]}}],"birthDate":"1958-11-23"}}"#
    )
}

/// A server that records every byte it reads and answers each connection's request with `200`.
fn recording_app(
    body: &'static str,
    capture: Arc<Mutex<Vec<u8>>>,
) -> impl Fn(tokio::net::TcpStream) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
       + Send
       + 'static {
    move |mut s| {
        let capture = capture.clone();
        Box::pin(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut head_done = false;
            let mut buf = [0u8; 8192];
            let mut seen = Vec::new();
            // Read until the request looks complete (content-length or final chunk) or the
            // peer stops; bounded by an idle timeout.
            loop {
                let n = match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                    Ok(Ok(n)) => n,
                };
                capture.lock().unwrap().extend_from_slice(&buf[..n]);
                seen.extend_from_slice(&buf[..n]);
                if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                    head_done = true;
                    let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
                    let body_len = seen.len() - end - 4;
                    let want = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok());
                    let chunked = head.contains("transfer-encoding: chunked");
                    if want.is_some_and(|w| body_len >= w)
                        || (want.is_none() && !chunked)
                        || (chunked && seen.ends_with(b"0\r\n\r\n"))
                    {
                        break;
                    }
                }
            }
            if head_done {
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            }
            let _ = s.shutdown().await;
        })
    }
}

fn count(hay: &[u8], needle: &str) -> usize {
    hay.windows(needle.len())
        .filter(|w| *w == needle.as_bytes())
        .count()
}

fn write_file(path: &std::path::Path, text: &str) {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
}

/// Starts `phimesh proxy --transparent` in `pod` as UID 1337 and waits for `/ready`.
fn start_proxy(net: &mut Net, pod: &Pod, label: &str, extra: &[String]) {
    let mut cmd = pod.cmd_as(PROXY_UID, netns::phimesh_bin());
    cmd.arg("proxy")
        .arg("--transparent")
        .args(extra)
        .args(["--admin-listen", "0.0.0.0:15020"])
        .env("PHIMESH_LOG", "info");
    net.spawn(label, cmd);
    let ready = || {
        let (ok, body) = pod.curl(
            0,
            &[
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "http://127.0.0.1:15020/ready",
            ],
        );
        (ok && body == "200").then_some(())
    };
    let mut tries = 0;
    loop {
        if ready().is_some() {
            return;
        }
        if let Some(st) = net.proc(label).exited() {
            panic!("{label} exited ({st}) before ready:\n{}", net.logs());
        }
        tries += 1;
        assert!(
            tries < 300,
            "{label} not ready within 30 s:\n{}",
            net.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn metrics(pod: &Pod) -> String {
    let (ok, body) = pod.curl(0, &["http://127.0.0.1:15020/metrics"]);
    assert!(ok, "metrics of {}: {body}", pod.name);
    body
}

/// The value of the first sample of `name` whose labels contain every `labels` pair.
fn metric_sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Two meshed pods, an external host and a CA host, everything running: the result of the
/// steps a cluster takes before the app starts.
struct Mesh {
    // Servers first: they stop before the namespaces go.
    _b_app: netns::Server,
    _sink: netns::Server,
    b_capture: Arc<Mutex<Vec<u8>>>,
    sink_capture: Arc<Mutex<Vec<u8>>>,
    dir: std::path::PathBuf,
    a: Pod,
    b: Pod,
    ext: Pod,
    net: Net,
}

/// Builds the namespaces, starts the CA, the apps, `phimesh init` and both sidecars (UID 1337)
/// with their default listeners (dual stack: IPv4 and IPv6 on 15001 and 15006, no listen flags).
/// `mesh_v6` adds the pods' IPv6 addresses to the mesh.
fn mesh(name: &str, mesh_v6: bool) -> Mesh {
    let mut net = Net::new(name);
    let a = net.pod("a");
    let b = net.pod("b");
    let ext = net.pod("ext");
    let ca_host = net.pod("ca");

    // Files the proxies (UID 1337) read.
    let dir = net.dir().to_path_buf();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    write_file(
        &dir.join("tokens"),
        &format!("tok-a {ID_A}\ntok-b {ID_B}\n"),
    );
    write_file(&dir.join("token-a"), "tok-a\n");
    write_file(&dir.join("token-b"), "tok-b\n");
    write_file(&dir.join("phi.json"), &patient_json());

    // The CA on its own host.
    let bundle = net.start_ca(&ca_host, &dir, &[]);

    // Apps: the patient service in B, the external sink (records every byte); dual stack.
    let b_capture = Arc::new(Mutex::new(Vec::new()));
    let sink_capture = Arc::new(Mutex::new(Vec::new()));
    let b_app = b.serve(
        "[::]:8080".parse().unwrap(),
        recording_app(r#"{"stored":true}"#, b_capture.clone()),
    );
    let sink = ext.serve(
        "[::]:80".parse().unwrap(),
        recording_app(r#"{"received":true}"#, sink_capture.clone()),
    );

    // The same init the pods run, then the sidecars as UID 1337.
    a.init(&[]);
    b.init(&[]);
    // Pods A and B are the mesh; the external host is not.
    let mut mesh = format!("{}/31", a.ip);
    if mesh_v6 {
        mesh.push_str(&format!(",{}/127", a.ip6));
    }
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
            "--mesh-networks".into(),
            mesh.clone(),
        ]
    };
    start_proxy(&mut net, &b, "proxy-b", &{
        let mut v = common(ID_B, "token-b");
        v.extend(["--allow-identities".into(), ID_A.into()]);
        v
    });
    start_proxy(&mut net, &a, "proxy-a", &common(ID_A, "token-a"));
    Mesh {
        _b_app: b_app,
        _sink: sink,
        b_capture,
        sink_capture,
        dir,
        a,
        b,
        ext,
        net,
    }
}

#[test]
fn transparent_mesh_delivers_over_mtls_and_refuses_phi_egress() {
    if netns::require_netns("transparent_mesh").is_none() {
        return;
    }
    // Bound in this order so that they drop in reverse: servers first, namespaces last.
    let Mesh {
        mut net,
        a,
        b,
        ext,
        dir,
        b_capture,
        sink_capture,
        _b_app,
        _sink,
    } = mesh("mesh", false);

    let phi_file = format!("@{}", dir.join("phi.json").display());

    // 1. A's app → B's IP with PHI: delivered over mTLS.
    let (ok, body) = a.curl(
        APP_UID,
        &[
            "-H",
            "content-type: application/json",
            "--data-binary",
            &phi_file,
            &format!("http://{}/patients", b.addr(8080)),
        ],
    );
    assert!(
        ok && body.contains("stored"),
        "mesh request: {body}\n{}",
        net.logs()
    );
    let at_b = b_capture.lock().unwrap().clone();
    assert_eq!(count(&at_b, SSN), 1, "the app in B got the record");
    let audit: String = net.proc("proxy-a").stdout() + &net.proc("proxy-b").stdout();
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"mtls\"") && l.contains("\"forwarded\"")),
        "no mTLS audit line:\n{audit}"
    );
    let ma = metrics(&a);
    assert!(
        metric_sum(
            &ma,
            "phimesh_requests_total",
            &[("direction", "outbound"), ("tls", "mtls")]
        ) >= 1.0,
        "{ma}"
    );
    let mb = metrics(&b);
    assert!(
        metric_sum(
            &mb,
            "phimesh_requests_total",
            &[("direction", "inbound"), ("tls", "mtls")]
        ) >= 1.0,
        "{mb}"
    );
    assert!(
        metric_sum(
            &mb,
            "phimesh_tls_handshakes_total",
            &[("direction", "inbound")]
        ) >= 1.0,
        "{mb}"
    );

    // 2. Clean egress to the external host: delivered.
    let (ok, body) = a.curl(
        APP_UID,
        &[
            "--data-binary",
            r#"{"plan":"team"}"#,
            &format!("http://{}/collect", ext.addr(80)),
        ],
    );
    assert!(
        ok && body.contains("received"),
        "clean egress: {body}\n{}",
        net.logs()
    );

    // 3. PHI egress, three encodings: refused, and the external host gets none of it.
    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(patient_json().as_bytes()).unwrap();
        e.finish().unwrap()
    };
    std::fs::write(dir.join("phi.json.gz"), &gz).unwrap();
    std::fs::set_permissions(
        dir.join("phi.json.gz"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let gz_file = format!("@{}", dir.join("phi.json.gz").display());
    let url = format!("http://{}/collect", ext.addr(80));
    let cases: [(&str, Vec<&str>); 3] = [
        (
            "json",
            vec![
                "-H",
                "content-type: application/json",
                "--data-binary",
                &phi_file,
            ],
        ),
        (
            "gzip",
            vec!["-H", "content-encoding: gzip", "--data-binary", &gz_file],
        ),
        (
            "chunked",
            vec![
                "-H",
                "transfer-encoding: chunked",
                "--data-binary",
                &phi_file,
            ],
        ),
    ];
    for (what, args) in cases {
        let mut args = args.clone();
        args.extend(["-w", "\n%{http_code}", &url]);
        let (_, body) = a.curl(APP_UID, &args);
        let refused = body.ends_with("403") && body.contains("phi_refused");
        let reset = body.contains("Connection reset")
            || body.contains("Empty reply")
            || body.ends_with("000");
        assert!(
            refused || reset,
            "PHI egress ({what}) not refused: {body}\n{}",
            net.logs()
        );
    }
    // Late bytes have a moment to arrive before the capture is judged.
    std::thread::sleep(Duration::from_millis(300));
    let captured = sink_capture.lock().unwrap().clone();
    for needle in [SSN, "512384471", MRN, "Calloway"] {
        assert_eq!(
            count(&captured, needle),
            0,
            "the external host received {needle}"
        );
    }
    assert_eq!(
        count(&captured, "\x1f\u{8b}"),
        0,
        "the external host received the gzip body"
    );
    let audit = net.proc("proxy-a").stdout();
    assert!(
        audit
            .lines()
            .filter(|l| l.contains("\"refused\"") || l.contains("\"reset\""))
            .count()
            >= 3,
        "refusals not audited:\n{audit}"
    );
    // B's SPIFFE ID ends in `/sa/patients`: it is audited, the request path is not.
    let without_ids = audit.replace(ID_B, "<id-b>");
    for v in [SSN, MRN, "Calloway", "/patients", "/collect"] {
        assert!(!without_ids.contains(v), "audit carries {v}");
    }
    // IPv4 clients of the dual-stack listeners are audited as IPv4, not `::ffff:a.b.c.d`.
    assert!(
        audit.contains(&format!("\"{}:", a.ip)) && !audit.contains("::ffff:"),
        "audit sources: {audit}"
    );
    let ma = metrics(&a);
    assert!(
        metric_sum(&ma, "phimesh_refusals_total", &[("direction", "outbound")]) >= 3.0,
        "{ma}"
    );
    assert!(
        metric_sum(&ma, "phimesh_phi_detections_total", &[]) >= 3.0,
        "{ma}"
    );

    // 4. Plaintext from outside the mesh to B's app: refused by strict inbound mTLS.
    let (ok, body) = ext.curl(
        APP_UID,
        &[&format!("http://{}/patients/4711", b.addr(8080))],
    );
    assert!(
        !ok || !body.contains(SSN),
        "plaintext reached B's app: {body}"
    );
}

/// The same over IPv6 (ip6tables rules from the same generator, `IP6T_SO_ORIGINAL_DST`): pod A's
/// app reaches pod B's IPv6 address over mTLS, and PHI to the external host's IPv6 address is
/// refused with nothing received there.
#[test]
fn transparent_mesh_over_ipv6() {
    if netns::require_netns("transparent_mesh_ipv6").is_none() {
        return;
    }
    let mut m = mesh("mesh6", true);
    // No listen flags: the defaults are dual-stack.
    for p in ["proxy-a", "proxy-b"] {
        let err = m.net.proc(p).stderr();
        for role in ["outbound addr=[::]:15001", "inbound addr=[::]:15006"] {
            assert!(err.contains(&format!("role={role}")), "{p}: {err}");
        }
    }
    let init = m.a.init(&[]);
    assert!(
        String::from_utf8_lossy(&init.stderr).contains("IPv6 redirect in place"),
        "ip6tables nat is needed here: {init:?}"
    );
    let phi_file = format!("@{}", m.dir.join("phi.json").display());
    let (ok, body) = m.a.curl(
        APP_UID,
        &[
            "-g",
            "-H",
            "content-type: application/json",
            "--data-binary",
            &phi_file,
            &format!("http://{}/patients", m.b.addr6(8080)),
        ],
    );
    assert!(
        ok && body.contains("stored"),
        "IPv6 mesh request: {body}\n{}",
        m.net.logs()
    );
    assert_eq!(count(&m.b_capture.lock().unwrap(), SSN), 1);
    let mb = metrics(&m.b);
    assert!(
        metric_sum(
            &mb,
            "phimesh_requests_total",
            &[("direction", "inbound"), ("tls", "mtls")]
        ) >= 1.0,
        "{mb}"
    );

    let (_, body) = m.a.curl(
        APP_UID,
        &[
            "-g",
            "--data-binary",
            &phi_file,
            "-w",
            "\n%{http_code}",
            &format!("http://{}/collect", m.ext.addr6(80)),
        ],
    );
    assert!(
        body.ends_with("403") && body.contains("phi_refused"),
        "IPv6 PHI egress not refused: {body}\n{}",
        m.net.logs()
    );
    std::thread::sleep(Duration::from_millis(300));
    let captured = m.sink_capture.lock().unwrap().clone();
    for needle in [SSN, MRN, "Calloway"] {
        assert_eq!(
            count(&captured, needle),
            0,
            "the external host received {needle}"
        );
    }
}
