//! gRPC through the real `phimesh proxy` binaries with real grpcio clients and servers
//! (`tests/grpc/peer.py`: generic handlers, raw-bytes messages, no protoc). The server records
//! every request message it receives; a byte-recording TCP relay in front of it shows what went
//! over the wire. Mesh calls with PHI are delivered and audited with peer identities; egress
//! calls with PHI end in PERMISSION_DENIED (or a reset stream, when PHI comes after clean
//! messages were already delivered) and the server never receives the PHI.

#[path = "support/proxy.rs"]
mod support_proxy;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::{json, Value};
use support_proxy::{contains, Ca, ProxyProc, CLEAN_JSON, PHI_JSON, SSN};

const PEER_PY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/grpc/peer.py");
const MESH: &str = "127.0.0.2/32";
/// gRPC status PERMISSION_DENIED.
const PERMISSION_DENIED: i64 = 7;

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn unb64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap())
        .unwrap()
}

/// A grpcio server (`peer.py serve`) on 127.0.0.1 recording every request message.
struct GrpcServer {
    child: Child,
    addr: SocketAddr,
    record: PathBuf,
}

impl Drop for GrpcServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl GrpcServer {
    fn start(dir: &Path) -> GrpcServer {
        let record = dir.join("received.jsonl");
        let mut child = Command::new("python3")
            .arg(PEER_PY)
            .arg("serve")
            .arg(&record)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line
            .strip_prefix("PORT ")
            .unwrap_or_else(|| panic!("grpc server did not start (is grpcio installed?): {line:?}"))
            .trim()
            .parse()
            .unwrap();
        GrpcServer {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            record,
        }
    }

    /// `(method, message)` of every request message the server received, in order.
    fn received(&self) -> Vec<(String, Vec<u8>)> {
        let text = std::fs::read_to_string(&self.record).unwrap_or_default();
        text.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                (v["method"].as_str().unwrap().to_owned(), unb64(&v["msg"]))
            })
            .collect()
    }

    fn received_any(&self, needle: &[u8]) -> bool {
        self.received().iter().any(|(_, m)| contains(m, needle))
    }
}

/// One grpcio call (`peer.py call`) through `addr`; returns its JSON result
/// (`code`, `details`, `responses` (base64), `trailing`).
fn call(addr: SocketAddr, spec: Value) -> Value {
    let mut child = Command::new("python3")
        .arg(PEER_PY)
        .arg("call")
        .arg(addr.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // The spec (messages can be large) goes on stdin; dropping it closes the pipe.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "grpc client failed: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A call result without its response messages (for assertion messages).
fn brief(r: &Value) -> Value {
    json!({"code": r["code"], "details": r["details"], "trailing": r["trailing"],
           "responses": r["responses"].as_array().map_or(0, |a| a.len())})
}

fn responses(r: &Value) -> Vec<Vec<u8>> {
    r["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(unb64)
        .collect()
}

/// A TCP relay that records every byte sent from clients to its upstream.
struct Relay {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<u8>>>,
}

impl Relay {
    fn start(upstream: SocketAddr) -> Relay {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        std::thread::spawn(move || {
            for down in l.incoming() {
                let Ok(down) = down else { continue };
                let Ok(up) = TcpStream::connect(upstream) else {
                    continue;
                };
                let (mut d1, mut u1) = (down.try_clone().unwrap(), up.try_clone().unwrap());
                let (mut d2, mut u2) = (down, up);
                let log = log.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16384];
                    loop {
                        match d1.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                log.lock().unwrap().extend_from_slice(&buf[..n]);
                                if u1.write_all(&buf[..n]).is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    let _ = u1.shutdown(std::net::Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut u2, &mut d2);
                    let _ = d2.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        Relay { addr, received }
    }

    fn bytes(&self) -> Vec<u8> {
        self.received.lock().unwrap().clone()
    }
}

fn server_side(ca: &Ca, app: SocketAddr, extra: &[&str]) -> ProxyProc {
    ca.inbound_sidecar(app, MESH, extra)
}

/// Sidecar A: an outbound route to the mesh address `upstream`, whose inbound listener is
/// `peer_inbound`.
fn client_side(ca: &Ca, upstream: &str, peer_inbound: SocketAddr) -> ProxyProc {
    client_side_with(ca, upstream, peer_inbound, &[])
}

fn client_side_with(
    ca: &Ca,
    upstream: &str,
    peer_inbound: SocketAddr,
    extra: &[&str],
) -> ProxyProc {
    ca.outbound_sidecar(upstream, peer_inbound, MESH, extra)
}

fn has_kind(e: &Value, kind: &str) -> bool {
    e["kinds"]
        .as_array()
        .is_some_and(|k| k.iter().any(|k| k == kind))
}

/// PHI in gRPC calls between two sidecars is delivered and audited. By default each message is
/// scanned and audited by the sidecar that sends it over the mesh hop: A the requests (outbound),
/// B the responses (inbound). With `--mesh-inspection both` on both sidecars, each also audits
/// what it receives.
#[test]
fn grpc_unary_and_server_streaming_phi_between_sidecars_is_delivered_and_audited() {
    mesh_grpc_phi(&[]);
}

#[test]
fn grpc_phi_between_sidecars_is_audited_at_both_ends_with_mesh_inspection_both() {
    mesh_grpc_phi(&["--mesh-inspection", "both"]);
}

fn mesh_grpc_phi(extra: &[&str]) {
    let both = !extra.is_empty();
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::start(dir.path(), &[("a", "web"), ("b", "db")]);
    let server = GrpcServer::start(dir.path());
    let b = server_side(&ca, server.addr, extra);
    let a = client_side_with(&ca, "127.0.0.2:50051", b.inbound.unwrap(), extra);
    let route = a.routes[0];

    // Two calls on one channel: the second goes out on the reused upstream connection.
    let r = call(
        route,
        json!({"method": "Echo", "repeat": 2, "messages": [b64(PHI_JSON.as_bytes())]}),
    );
    assert_eq!(r["code"], 0, "{}", brief(&r));
    assert_eq!(responses(&r), vec![PHI_JSON.as_bytes().to_vec()]);

    // A second client process: a second downstream connection.
    let r = call(
        route,
        json!({"method": "Stream", "messages": [b64(PHI_JSON.as_bytes())]}),
    );
    assert_eq!(r["code"], 0, "{}", brief(&r));
    let parts = responses(&r);
    assert_eq!(parts.len(), 3, "{}", brief(&r));
    for (i, p) in parts.iter().enumerate() {
        assert_eq!(p, format!("part-{i} {PHI_JSON}").as_bytes());
    }
    assert_eq!(server.received().len(), 3);
    assert!(
        server.received_any(SSN.as_bytes()),
        "the app got the record"
    );

    // Three calls, each with PHI in its request and its response. The sender of each message
    // audits it: A's three requests, B's three responses; with `both`, each side all six.
    let per_side = if both { 6 } else { 3 };
    a.wait_audit(per_side);
    b.wait_audit(per_side);
    // Time for a receiver that scans when it should not to write lines it should not.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (aa, ba) = (a.audit(), b.audit());
    assert_eq!((aa.len(), ba.len()), (per_side, per_side), "{aa:?} {ba:?}");
    for e in &aa {
        assert_eq!(e["direction"], "outbound", "{e}");
        assert_eq!(e["action"], "forwarded", "{e}");
        assert_eq!(e["protocol"], "grpc", "{e}");
        assert_eq!(e["tls"], "mtls", "{e}");
        assert_eq!(
            e["peer_identity"], "spiffe://cluster.local/ns/b/sa/db",
            "outbound audit names the peer of the pooled connection: {e}"
        );
        assert!(has_kind(e, "ssn"), "{e}");
    }
    for e in &ba {
        assert_eq!(e["direction"], "inbound", "{e}");
        assert_eq!(e["action"], "forwarded", "{e}");
        assert_eq!(e["protocol"], "grpc", "{e}");
        assert_eq!(
            e["peer_identity"], "spiffe://cluster.local/ns/a/sa/web",
            "{e}"
        );
        assert!(has_kind(e, "ssn"), "{e}");
    }
    let flows = |audit: &[Value], flow: &str| audit.iter().filter(|e| e["flow"] == flow).count();
    let (want_a_resp, want_b_req) = if both { (3, 3) } else { (0, 0) };
    assert_eq!(flows(&aa, "request"), 3, "A sent three requests: {aa:?}");
    assert_eq!(flows(&aa, "response"), want_a_resp, "{aa:?}");
    assert_eq!(flows(&ba, "response"), 3, "B sent three responses: {ba:?}");
    assert_eq!(flows(&ba, "request"), want_b_req, "{ba:?}");
    for text in [a.audit_text(), b.audit_text()] {
        assert!(!text.contains(SSN) && !text.contains("Jane"), "{text}");
    }

    let m = a.metrics();
    assert!(
        m.contains(r#"phimesh_requests_total{action="forwarded",direction="outbound",protocol="grpc",tls="mtls"} 3"#),
        "{m}"
    );
    let detections = |n: usize, dir: &str| {
        format!(
            r#"phimesh_phi_detections_total{{action="forwarded",direction="{dir}",kind="ssn"}} {n}"#
        )
    };
    assert!(m.contains(&detections(per_side, "outbound")), "{m}");
    let m = b.metrics();
    assert!(
        m.contains(r#"phimesh_requests_total{action="forwarded",direction="inbound",protocol="grpc",tls="mtls"} 3"#),
        "{m}"
    );
    assert!(m.contains(&detections(per_side, "inbound")), "{m}");
    assert!(!m.contains(SSN));
}

#[test]
fn grpc_egress_refuses_phi_with_permission_denied_and_the_server_never_receives_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = GrpcServer::start(dir.path());
    let relay = Relay::start(server.addr);
    let route = format!("127.0.0.1:0={}", relay.addr);
    let p = ProxyProc::start(&["--route", &route]);
    let addr = p.routes[0];

    // A clean unary call goes through.
    let r = call(
        addr,
        json!({"method": "Echo", "messages": [b64(CLEAN_JSON.as_bytes())]}),
    );
    assert_eq!(r["code"], 0, "{}", brief(&r));
    assert_eq!(responses(&r), vec![CLEAN_JSON.as_bytes().to_vec()]);

    // PHI in a unary request: PERMISSION_DENIED, nothing reaches the server.
    let r = call(
        addr,
        json!({"method": "Echo", "messages": [b64(PHI_JSON.as_bytes())]}),
    );
    assert_eq!(r["code"], PERMISSION_DENIED, "{}", brief(&r));
    assert!(
        r["details"].as_str().unwrap().contains("phi_refused"),
        "{}",
        brief(&r)
    );
    assert_eq!(server.received().len(), 1, "only the clean call arrived");

    // Client streaming: three clean 40 KiB messages (more than the proxy's 64 KiB prefetch, so
    // the call is under way upstream), the client waits until the server has received the
    // first two, then sends PHI. The stream is reset; the PHI never arrives.
    let clean: Vec<String> = (0..3)
        .map(|i| {
            b64(format!("{{\"chunk\":{i},\"data\":\"{}\"}}", "x".repeat(40 * 1024)).as_bytes())
        })
        .collect();
    let mut msgs = clean.clone();
    msgs.push(b64(format!("{{\"note\":\"patient SSN {SSN}\"}}").as_bytes()));
    let r = call(
        addr,
        json!({"method": "Collect", "messages": msgs,
               "wait": {"record": server.record, "count": 3}}),
    );
    assert_ne!(r["code"], 0, "a stream with PHI completed: {r}");
    let collected = server
        .received()
        .iter()
        .filter(|(m, _)| m == "Collect")
        .count();
    assert!(
        collected >= 2,
        "clean messages were delivered first: {collected}"
    );
    assert!(
        !server.received_any(SSN.as_bytes()),
        "the server received the SSN"
    );

    // grpc per-message gzip: clean goes through (compressed on the wire), PHI is refused.
    let padding = "a".repeat(4000);
    let clean_gz = format!("{{\"order\":\"gauze\",\"pad\":\"{padding}\"}}");
    let r = call(
        addr,
        json!({"method": "Echo", "gzip": true, "messages": [b64(clean_gz.as_bytes())]}),
    );
    assert_eq!(r["code"], 0, "{}", brief(&r));
    assert_eq!(responses(&r), vec![clean_gz.as_bytes().to_vec()]);
    assert!(
        server
            .received()
            .iter()
            .any(|(_, m)| m == clean_gz.as_bytes()),
        "the server got the clean compressed message"
    );
    assert!(
        !contains(&relay.bytes(), &padding.as_bytes()[..200]),
        "the message was compressed on the wire"
    );
    let phi_gz = format!("{{\"ssn\":\"{SSN}\",\"pad\":\"{padding}\"}}");
    let r = call(
        addr,
        json!({"method": "Echo", "gzip": true, "messages": [b64(phi_gz.as_bytes())]}),
    );
    assert_eq!(r["code"], PERMISSION_DENIED, "{}", brief(&r));

    let wire = relay.bytes();
    assert!(!contains(&wire, SSN.as_bytes()), "the SSN crossed the wire");
    assert!(!contains(&wire, b"SSN 123"));
    assert!(!server.received_any(SSN.as_bytes()));
    assert!(!server.received_any(b"SSN 123"));

    // Audit: two refusals and one reset, kinds and offsets only.
    let audit = p.wait_audit(3);
    assert_eq!(audit.len(), 3, "{audit:?}");
    let actions: Vec<&str> = audit
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "refused").count(),
        2,
        "{audit:?}"
    );
    assert_eq!(
        actions.iter().filter(|a| **a == "reset").count(),
        1,
        "{audit:?}"
    );
    for e in &audit {
        assert_eq!(e["protocol"], "grpc", "{e}");
        assert_eq!(e["direction"], "outbound", "{e}");
        assert_eq!(e["tls"], "none", "{e}");
        assert!(has_kind(e, "ssn"), "{e}");
    }
    assert!(!p.audit_text().contains(SSN));
    let m = p.metrics();
    assert!(
        m.contains(r#"phimesh_refusals_total{direction="outbound",reason="phi"} 3"#),
        "{m}"
    );
    assert!(
        m.contains(r#"phimesh_requests_total{action="refused",direction="outbound",protocol="grpc",tls="none"} 2"#),
        "{m}"
    );
}

fn trailer_spec(note: &str, pad: usize) -> Value {
    json!({"method": "Trailer",
           "messages": [b64(json!({"note": note, "pad": pad}).to_string().as_bytes())]})
}

fn trailing_has(r: &Value, needle: &str) -> bool {
    r["trailing"].as_array().unwrap().iter().any(|kv| {
        kv[0].as_str().unwrap().contains(needle) || kv[1].as_str().unwrap().contains(needle)
    })
}

fn parts_of(e: &Value) -> Vec<&str> {
    e["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["part"].as_str().unwrap())
        .collect()
}

#[test]
fn grpc_trailers_are_scanned_refused_on_plaintext_inbound_and_audited_over_mtls() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::start(dir.path(), &[("a", "web"), ("b", "db")]);
    let server = GrpcServer::start(dir.path());
    let b = server_side(&ca, server.addr, &["--inbound-mtls", "permissive"]);
    let plain = b.inbound.unwrap();
    let note = format!("patient SSN {SSN}");

    // Clean trailing metadata passes a plaintext inbound response untouched.
    let r = call(plain, trailer_spec("all good", 0));
    assert_eq!(r["code"], 0, "{}", brief(&r));
    assert!(
        r["trailing"]
            .as_array()
            .unwrap()
            .contains(&json!(["x-note", "all good"])),
        "{}",
        brief(&r)
    );

    // PHI in trailing metadata of a small response (prefetched whole): refused, trailers-only.
    let r = call(plain, trailer_spec(&note, 0));
    assert_eq!(r["code"], PERMISSION_DENIED, "{}", brief(&r));
    assert!(
        r["details"].as_str().unwrap().contains("phi_refused"),
        "{}",
        brief(&r)
    );
    assert!(!trailing_has(&r, SSN), "{}", brief(&r));

    // A response larger than the prefetch: its clean message streams out, then its trailers
    // are replaced by the refusal status.
    let r = call(plain, trailer_spec(&note, 200_000));
    assert_eq!(r["code"], PERMISSION_DENIED, "{}", brief(&r));
    assert!(
        r["details"].as_str().unwrap().contains("phi_refused"),
        "{}",
        brief(&r)
    );
    assert!(trailing_has(&r, "x-phimesh-request-id"), "{}", brief(&r));
    assert!(
        !trailing_has(&r, SSN) && !trailing_has(&r, "x-note"),
        "{}",
        brief(&r)
    );

    // PHI in grpc-message of a trailers-only error response (the response head).
    let r = call(
        plain,
        json!({"method": "Abort", "messages": [b64(note.as_bytes())]}),
    );
    assert_eq!(r["code"], PERMISSION_DENIED, "{}", brief(&r));
    assert!(
        !r["details"].as_str().unwrap().contains(SSN),
        "{}",
        brief(&r)
    );

    // PHI in a response message to a plaintext caller.
    let r = call(
        plain,
        json!({"method": "Echo", "messages": [b64(PHI_JSON.as_bytes())]}),
    );
    assert_eq!(r["code"], PERMISSION_DENIED, "{}", brief(&r));
    assert!(responses(&r).is_empty(), "{}", brief(&r));

    // Over mTLS the same trailers are delivered and audited as trailers.
    let a = client_side(&ca, "127.0.0.2:50052", plain);
    let r = call(a.routes[0], trailer_spec(&note, 0));
    assert_eq!(r["code"], 0, "{}", brief(&r));
    assert!(
        r["trailing"]
            .as_array()
            .unwrap()
            .contains(&json!(["x-note", note])),
        "{}",
        brief(&r)
    );
    // A audits the request it sent (the note is in the request message too); the response's
    // trailers are B's to audit, as the sender of the response (below).
    let aa = a.wait_audit(1);
    assert_eq!(aa.len(), 1, "{aa:?}");
    assert_eq!(aa[0]["flow"], "request", "{aa:?}");
    assert_eq!(aa[0]["action"], "forwarded");
    assert_eq!(aa[0]["peer_identity"], "spiffe://cluster.local/ns/b/sa/db");
    assert!(has_kind(&aa[0], "ssn"));

    // B: four refused plaintext responses (trailers twice, head, body) and the mesh trailers
    // forwarded; PHI in plaintext requests to the app was forwarded (inbound requests are not
    // refused); the mesh request was A's to audit.
    let ba = b.wait_audit(9);
    let resp: Vec<&Value> = ba.iter().filter(|e| e["flow"] == "response").collect();
    let refused: Vec<(&str, Vec<&str>)> = resp
        .iter()
        .filter(|e| e["tls"] == "none")
        .map(|e| (e["action"].as_str().unwrap(), parts_of(e)))
        .collect();
    assert_eq!(
        refused,
        vec![
            ("refused", vec!["trailers"]),
            ("refused", vec!["trailers"]),
            ("refused", vec!["head"]),
            ("refused", vec!["body", "body"]),
        ],
        "{ba:?}"
    );
    assert!(
        resp.iter().any(|e| e["tls"] == "mtls"
            && e["action"] == "forwarded"
            && parts_of(e) == ["trailers"]
            && e["peer_identity"] == "spiffe://cluster.local/ns/a/sa/web"),
        "{ba:?}"
    );
    assert!(
        !ba.iter()
            .any(|e| e["tls"] == "mtls" && e["flow"] == "request"),
        "{ba:?}"
    );
    let text = b.audit_text() + &a.audit_text();
    assert!(!text.contains(SSN) && !text.contains("patient SSN"));
    let m = b.metrics();
    assert!(
        m.contains(r#"phimesh_refusals_total{direction="inbound",reason="phi"} 4"#),
        "{m}"
    );
    // Three answered with a refusal instead of the response; the large one was forwarded with
    // its trailers replaced.
    assert!(
        m.contains(r#"phimesh_requests_total{action="refused",direction="inbound",protocol="grpc",tls="none"} 3"#),
        "{m}"
    );
}
