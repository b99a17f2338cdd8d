//! Mesh discovery under attack, on loopback: a hostile or careless party at each place the
//! discovery claims rest on (docs/architecture.md, "Mesh discovery").
//!
//! * The CA's `GET /v1/mesh` (a real `phimesh ca --mesh-source file:PATH`): callers without a
//!   token or with a wrong one, the address throttle, `ETag`/`304`, a file with conflicting,
//!   IPv4-mapped and foreign-trust-domain entries, a list over the 65 536-workload bound.
//! * Servers at pod-network addresses (`--mesh-networks` 127.0.0.0/8): a server at a listed
//!   address with a valid mesh certificate of another identity (forged here with the CA's own
//!   issuer, read from its state directory), one that speaks plaintext, one with a certificate
//!   outside the mesh; an unlisted server that gets PHI in every encoding the proxy inspects.
//! * The list changing under a sidecar that already holds a TLS session with the old holder.
//! * A hostile CA answering the sidecar's polls ([`FakeCa`]: a TLS front that forwards
//!   certificate requests to the real CA and answers `/v1/mesh` itself): a giant body, invalid
//!   JSON, `304` without a prior list, a slow drip, identities of another trust domain, an
//!   address listed twice, a redirect, a gzip bomb, a list over the workload bound.
//! * The fallback: before the sidecar's first list any identity of the trust domain is accepted
//!   (as documented); once it has had a list, a stale list keeps deciding. A caller that shares
//!   the sidecar's address can make it stale by guessing tokens (the CA's address throttle then
//!   answers the sidecar 429 too), on loopback and, with the `netns` feature, from the app
//!   container of a transparent pod: that must unpin nothing.
//!
//! Each test asserts what must hold: no PHI byte reaches a server that is not the listed
//! identity, no panic, bounded memory.

#[path = "support/proxy.rs"]
mod support_proxy;

#[path = "support/discovery.rs"]
mod support_discovery;

#[cfg(feature = "netns")]
#[path = "support/netns.rs"]
mod netns;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use support_discovery::{discovery_args, wait_metric};
use support_proxy::{contains, curl, Ca, ProxyProc, Sink, CLEAN_JSON, PHI_JSON, SSN};

const MESH: &str = "127.0.0.0/8";
const TD: &str = "cluster.local";

// ---------------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------------

/// Waits (at most `secs`) until `cond` holds; panics with `what` otherwise.
fn wait_until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn pem_blocks(pem: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in pem.lines() {
        let line = line.trim();
        if line.starts_with("-----BEGIN") {
            cur = Some(String::new());
        } else if line.starts_with("-----END") {
            if let Some(b) = cur.take() {
                out.push(base64::engine::general_purpose::STANDARD.decode(b).unwrap());
            }
        } else if let Some(b) = cur.as_mut() {
            b.push_str(line);
        }
    }
    out
}

/// The CA's current issuer (certificate DER, rcgen issuer), read from its directory state: what
/// an attacker holding a valid mesh certificate would have, for any identity we choose.
struct Forge {
    issuer_der: Vec<u8>,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Forge {
    fn from_state(state_dir: &Path) -> Forge {
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(state_dir.join("ca-state.json")).unwrap())
                .unwrap();
        let iss = &state["issuers"][0];
        let cert_pem = iss["cert_pem"].as_str().unwrap();
        let key = rcgen::KeyPair::from_pem(iss["key_pem"].as_str().unwrap()).unwrap();
        Forge {
            issuer_der: pem_blocks(cert_pem).remove(0),
            issuer: rcgen::Issuer::from_ca_cert_pem(cert_pem, key).unwrap(),
        }
    }

    /// A leaf with `sans` signed by the CA's issuer: (chain DER, key DER).
    fn leaf(&self, sans: Vec<rcgen::SanType>) -> (Vec<Vec<u8>>, Vec<u8>) {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::default();
        params.subject_alt_names = sans;
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (
            vec![cert.der().to_vec(), self.issuer_der.clone()],
            key.serialize_der(),
        )
    }

    fn mesh_leaf(&self, spiffe: &str) -> (Vec<Vec<u8>>, Vec<u8>) {
        self.leaf(vec![rcgen::SanType::URI(spiffe.try_into().unwrap())])
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn server_config(chain: Vec<Vec<u8>>, key: Vec<u8>) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let chain = chain.into_iter().map(CertificateDer::from).collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key));
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap(),
    )
}

/// Reads one HTTP/1.1 request (head and `content-length` body) off `s`; `None` at EOF.
fn read_request(s: &mut impl Read, log: &Mutex<Vec<u8>>) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let want = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + want {
                let n = s.read(&mut chunk).ok()?;
                if n == 0 {
                    return None;
                }
                log.lock().unwrap().extend_from_slice(&chunk[..n]);
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some((head, buf[end + 4..].to_vec()));
        }
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        log.lock().unwrap().extend_from_slice(&chunk[..n]);
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A TLS server (or a plaintext one with `tls` `None`) that records every byte it reads after
/// decryption and answers each request `200 ok`.
struct RecordingTls {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl RecordingTls {
    fn start(bind: &str, tls: Option<Arc<rustls::ServerConfig>>) -> RecordingTls {
        let l = TcpListener::bind(bind).unwrap();
        let addr = l.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(s) = s else { continue };
                let (tls, log) = (tls.clone(), log.clone());
                std::thread::spawn(move || {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
                    let answer =
                        b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n";
                    match tls {
                        Some(cfg) => {
                            let conn = rustls::ServerConnection::new(cfg).unwrap();
                            let mut st = rustls::StreamOwned::new(conn, s);
                            if read_request(&mut st, &log).is_some() {
                                let _ = st.write_all(answer);
                                let _ = st.flush();
                            }
                        }
                        None => {
                            let mut s = s;
                            if read_request(&mut s, &log).is_some() {
                                let _ = s.write_all(answer);
                            }
                        }
                    }
                });
            }
        });
        RecordingTls { addr, seen }
    }

    fn bytes(&self) -> Vec<u8> {
        self.seen.lock().unwrap().clone()
    }
}

/// A `phimesh ca` in `dir` for `workloads`, with `extra` arguments, whose static mesh list
/// holds one entry: 127.0.0.2 is `spiffe("b", "db")`.
fn ca_listing_db(dir: &Path, workloads: &[(&str, &str)], extra: &[&str]) -> Ca {
    let mesh = dir.join("mesh");
    std::fs::write(&mesh, format!("127.0.0.2 {}\n", spiffe("b", "db"))).unwrap();
    let source = format!("file:{}", mesh.display());
    let mut args = vec!["--mesh-source", source.as_str()];
    args.extend_from_slice(extra);
    Ca::start_with(dir, workloads, &args)
}

/// At db's listed address (127.0.0.2), a TLS server with a valid mesh certificate of another
/// identity (`spiffe("c", "billing")`, forged with `ca`'s issuer) that records what it gets.
fn impostor_of_db(ca: &Ca) -> RecordingTls {
    let forge = Forge::from_state(&ca.state_dir());
    let (c, k) = forge.mesh_leaf(&spiffe("c", "billing"));
    RecordingTls::start("127.0.0.2:0", Some(server_config(c, k)))
}

/// A sidecar A (`ns/a/sa/web`) with one explicit route per `(upstream, peer)`, discovery polling
/// `ca_url` every 300 ms and trusting its list for `max_age`.
fn sidecar_a(
    ca: &Ca,
    ca_url: &str,
    ca_roots: &Path,
    routes: &[(&str, Option<String>)],
    max_age: &str,
) -> ProxyProc {
    sidecar_a_with(ca, ca_url, ca_roots, routes, max_age, &[])
}

/// [`sidecar_a`] with more flags.
fn sidecar_a_with(
    ca: &Ca,
    ca_url: &str,
    ca_roots: &Path,
    routes: &[(&str, Option<String>)],
    max_age: &str,
    extra: &[&str],
) -> ProxyProc {
    let mut args = ca.identity_args("a", "web");
    for i in 0..args.len() {
        if args[i] == "--ca-addr" {
            args[i + 1] = ca_url.to_owned();
        }
        if args[i] == "--ca-roots" {
            args[i + 1] = ca_roots.display().to_string();
        }
    }
    let routes: Vec<(&str, Option<&str>)> =
        routes.iter().map(|(u, p)| (*u, p.as_deref())).collect();
    args.extend(discovery_args(&routes, MESH, "300ms", max_age));
    args.extend(extra.iter().map(|s| s.to_string()));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    ProxyProc::start(&a)
}

fn spiffe(ns: &str, sa: &str) -> String {
    format!("spiffe://{TD}/ns/{ns}/sa/{sa}")
}

// ---------------------------------------------------------------------------------------------
// The CA's endpoint
// ---------------------------------------------------------------------------------------------

fn ca_get(ca: &Ca, extra: &[&str]) -> (u16, String) {
    let roots = ca.roots.display().to_string();
    let url = format!("{}/v1/mesh", ca.url);
    let mut args = vec!["--cacert", roots.as_str(), "-D", "-"];
    args.extend_from_slice(extra);
    args.push(&url);
    curl(&args)
}

fn etag_of(head_and_body: &str) -> Option<String> {
    head_and_body.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("etag").then(|| v.trim().to_owned())
    })
}

#[test]
fn ca_mesh_endpoint_requires_a_token_throttles_guessers_and_answers_304() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca_listing_db(dir.path(), &[("a", "web")], &["--auth-failure-limit", "3"]);
    let good = "Authorization: Bearer tok-a-web";

    let (code, text) = ca_get(&ca, &["-H", good]);
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("127.0.0.2"), "{text}");
    let etag = etag_of(&text).expect("an ETag");
    let (code, text) = ca_get(&ca, &["-H", good, "-H", &format!("If-None-Match: {etag}")]);
    assert_eq!(code, 304, "{text}");
    assert!(!text.contains("127.0.0.2"), "no body with a 304: {text}");
    // A stale or made-up ETag gets the list again.
    let (code, _) = ca_get(&ca, &["-H", good, "-H", "If-None-Match: \"0000\""]);
    assert_eq!(code, 200);

    // No token, a wrong one, a token for the certificate route in the wrong scheme: 401 and no
    // list; the refusal names no token.
    for hdr in [
        None,
        Some("Authorization: Bearer tok-guess"),
        Some("Authorization: Basic dG9rLWEtd2ViOg=="),
    ] {
        let extra: Vec<&str> = hdr.map(|h| vec!["-H", h]).unwrap_or_default();
        let (code, text) = ca_get(&ca, &extra);
        assert!(code == 401 || code == 429, "{hdr:?}: {code} {text}");
        assert!(!text.contains("127.0.0.2"), "{text}");
        assert!(!text.contains("tok-"), "a refusal names no token: {text}");
    }
    // Past --auth-failure-limit the address is answered 429 before its token is looked at.
    let mut throttled = false;
    for _ in 0..5 {
        let (code, text) = ca_get(&ca, &["-H", "Authorization: Bearer tok-guess"]);
        assert!(!text.contains("127.0.0.2"));
        throttled |= code == 429;
    }
    assert!(throttled, "guessing tokens is throttled");
    let (code, _) = ca_get(&ca, &["-H", good]);
    assert_eq!(
        code, 429,
        "a throttled address gets no list, even with a good token"
    );
}

#[test]
fn ca_mesh_file_leaves_out_conflicting_addresses_in_every_spelling() {
    let dir = tempfile::tempdir().unwrap();
    let mesh = dir.path().join("mesh");
    std::fs::write(
        &mesh,
        format!(
            "127.0.0.2 {}\n\
             127.0.0.5 {}\n\
             ::ffff:127.0.0.5 {}\n\
             127.0.0.7 {}\n\
             127.0.0.7 {}\n",
            spiffe("b", "db"),
            spiffe("x", "one"),
            spiffe("x", "two"),
            spiffe("y", "a"),
            spiffe("y", "b"),
        ),
    )
    .unwrap();
    let source = format!("file:{}", mesh.display());
    let ca = Ca::start_with(dir.path(), &[("a", "web")], &["--mesh-source", &source]);
    let (code, text) = ca_get(&ca, &["-H", "Authorization: Bearer tok-a-web"]);
    assert_eq!(code, 200, "{text}");
    let body = text.rsplit("\r\n\r\n").next().unwrap();
    let list: serde_json::Value = serde_json::from_str(body).unwrap();
    let ws = list["workloads"].as_array().unwrap();
    assert_eq!(ws.len(), 1, "only the unclaimed address is listed: {body}");
    assert_eq!(ws[0]["ip"], "127.0.0.2");

    // A foreign trust domain written into the file later is not taken: the last list stays.
    std::fs::write(
        &mesh,
        format!(
            "127.0.0.2 {}\n127.0.0.9 spiffe://evil.example/ns/q/sa/q\n",
            spiffe("b", "db")
        ),
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let (code, text) = ca_get(&ca, &["-H", "Authorization: Bearer tok-a-web"]);
    assert_eq!(code, 200, "{text}");
    assert!(!text.contains("evil.example"), "{text}");
    assert!(!text.contains("127.0.0.9"), "{text}");
}

#[test]
fn ca_mesh_file_with_a_foreign_trust_domain_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let mesh = dir.path().join("mesh");
    std::fs::write(&mesh, "127.0.0.2 spiffe://evil.example/ns/b/sa/db\n").unwrap();
    std::fs::write(
        dir.path().join("tokens"),
        "tok-a-web spiffe://cluster.local/ns/a/sa/web\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_phimesh"))
        .args(["ca", "--listen", "127.0.0.1:0", "--state-dir"])
        .arg(dir.path().join("state"))
        .arg("--tokens")
        .arg(dir.path().join("tokens"))
        .arg("--mesh-source")
        .arg(format!("file:{}", mesh.display()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("trust domain"), "{err}");
}

#[test]
fn ca_mesh_list_over_the_workload_bound_is_withheld_not_cut() {
    let dir = tempfile::tempdir().unwrap();
    let mesh = dir.path().join("mesh");
    let lines = |n: u32, ns: &str| -> String {
        (0..n)
            .map(|i| {
                format!(
                    "10.{}.{}.{} {}\n",
                    i >> 16,
                    (i >> 8) & 255,
                    i & 255,
                    spiffe(ns, &format!("s{i}"))
                )
            })
            .collect()
    };
    // Over the bound at start: the CA does not start on a list it could not serve whole.
    std::fs::write(&mesh, lines(65_537, "n")).unwrap();
    std::fs::write(
        dir.path().join("tokens"),
        "tok-a-web spiffe://cluster.local/ns/a/sa/web\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_phimesh"))
        .args(["ca", "--listen", "127.0.0.1:0", "--state-dir"])
        .arg(dir.path().join("state0"))
        .arg("--tokens")
        .arg(dir.path().join("tokens"))
        .arg("--mesh-source")
        .arg(format!("file:{}", mesh.display()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("65536"), "{err}");

    // At the bound: served whole.
    std::fs::write(&mesh, lines(65_536, "n")).unwrap();
    let source = format!("file:{}", mesh.display());
    let ca = Ca::start_with(dir.path(), &[("a", "web")], &["--mesh-source", &source]);
    let roots = ca.roots.display().to_string();
    let url = format!("{}/v1/mesh", ca.url);
    let fetch = || {
        let out = std::process::Command::new("curl")
            .args(["-s", "--max-time", "30", "--cacert", &roots])
            .args([
                "-H",
                "Authorization: Bearer tok-a-web",
                "-w",
                "\n%{http_code}",
            ])
            .arg(&url)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap();
        (code.trim().parse::<u16>().unwrap(), body.to_owned())
    };
    // The file is read after the CA listens: 503 until then.
    wait_until("the CA to serve the list at the bound", 30, || {
        fetch().0 == 200
    });
    let (_, body) = fetch();
    let count = |b: &str| {
        serde_json::from_str::<serde_json::Value>(b).unwrap()["workloads"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count(&body), 65_536);

    // The file grows over the bound (every identity new): never served cut. The CA keeps the
    // last whole list (or withholds it); no entry of the new file shows.
    std::fs::write(&mesh, lines(65_537, "m")).unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let (code, body) = fetch();
    assert!(code == 200 || code == 503, "{code}");
    assert!(
        !body.contains("/ns/m/"),
        "a cut of the over-bound list was served"
    );
    if code == 200 {
        assert_eq!(count(&body), 65_536);
    }
}

// ---------------------------------------------------------------------------------------------
// Servers at pod-network addresses
// ---------------------------------------------------------------------------------------------

#[test]
fn listed_address_refuses_impostor_plaintext_and_foreign_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let mesh = dir.path().join("mesh");
    // Each address listed with db's identity; none of the servers there holds it.
    std::fs::write(
        &mesh,
        (2..=5)
            .chain([6])
            .map(|i| format!("127.0.0.{i} {}\n", spiffe("b", "db")))
            .collect::<String>(),
    )
    .unwrap();
    let source = format!("file:{}", mesh.display());
    let ca = Ca::start_with(dir.path(), &[("a", "web")], &["--mesh-source", &source]);
    let forge = Forge::from_state(&ca.state_dir());

    // 127.0.0.2: a valid mesh certificate of another identity.
    let (c, k) = forge.mesh_leaf(&spiffe("c", "billing"));
    let impostor = RecordingTls::start("127.0.0.2:0", Some(server_config(c, k)));
    // 127.0.0.3: plaintext.
    let plain = RecordingTls::start("127.0.0.3:0", None);
    // 127.0.0.4: a certificate outside the mesh (self-signed, with the identity as URI SAN).
    let self_signed = {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut p = rcgen::CertificateParams::default();
        p.subject_alt_names = vec![rcgen::SanType::URI(
            spiffe("b", "db").as_str().try_into().unwrap(),
        )];
        let cert = p.self_signed(&key).unwrap();
        RecordingTls::start(
            "127.0.0.4:0",
            Some(server_config(
                vec![cert.der().to_vec()],
                key.serialize_der(),
            )),
        )
    };
    // 127.0.0.5: the listed identity's name in the trust domain's spelling, but issued for a
    // foreign trust domain by the mesh issuer.
    let (c, k) = forge.mesh_leaf("spiffe://evil.example/ns/b/sa/db");
    let foreign = RecordingTls::start("127.0.0.5:0", Some(server_config(c, k)));

    // 127.0.0.6: the control, a certificate of the listed identity from the same forge.
    let (c, k) = forge.mesh_leaf(&spiffe("b", "db"));
    let genuine = RecordingTls::start("127.0.0.6:0", Some(server_config(c, k)));

    let servers = [&impostor, &plain, &self_signed, &foreign, &genuine];
    let upstreams: Vec<String> = (2..=6).map(|i| format!("127.0.0.{i}:8080")).collect();
    let routes: Vec<(&str, Option<String>)> = upstreams
        .iter()
        .zip(servers)
        .map(|(u, s)| (u.as_str(), Some(s.addr.to_string())))
        .collect();
    let a = sidecar_a(&ca, &ca.url, &ca.roots, &routes, "30s");
    wait_metric(&a, "phimesh_discovery_workloads", 5.0);

    // The control: the listed identity is reached, so each refusal below is about the server.
    let (code, body) = curl(&[
        "--data-binary",
        PHI_JSON,
        &format!("http://{}/patients", a.routes[4]),
    ]);
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    assert!(contains(&genuine.bytes(), SSN.as_bytes()));

    for (i, s) in servers[..4].iter().enumerate() {
        let (code, body) = curl(&[
            "--data-binary",
            PHI_JSON,
            &format!("http://{}/patients", a.routes[i]),
        ]);
        assert_eq!(code, 502, "{}: {body}", upstreams[i]);
        let seen = s.bytes();
        assert!(
            !contains(&seen, SSN.as_bytes()),
            "{}: a PHI byte reached a server that is not the listed identity",
            upstreams[i]
        );
        assert!(!contains(&seen, b"POST /patients"), "{}", upstreams[i]);
        if i == 0 {
            assert_eq!(
                a.metric(
                    "phimesh_tls_handshakes_refused_total{direction=\"outbound\",reason=\"peer_identity_mismatch\"}"
                ),
                1.0,
                "the impostor is refused for its identity"
            );
        }
    }
    assert!(!a.audit_text().contains(SSN), "no PHI in the audit");
}

#[test]
fn impostor_gets_nothing_over_h2_grpc_or_opaque_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca_listing_db(dir.path(), &[("a", "web")], &[]);
    let impostor = impostor_of_db(&ca);
    let a = sidecar_a(
        &ca,
        &ca.url,
        &ca.roots,
        &[("127.0.0.2:8080", Some(impostor.addr.to_string()))],
        "30s",
    );
    wait_metric(&a, "phimesh_discovery_workloads", 1.0);
    let route = a.routes[0];

    // h2 with prior knowledge, and a gRPC call on it.
    let (code, _) = curl(&[
        "--http2-prior-knowledge",
        "--data-binary",
        PHI_JSON,
        &format!("http://{route}/patients"),
    ]);
    assert_ne!(code, 200);
    let grpc = phimesh_testkit::codec::grpc_frame(false, SSN.as_bytes());
    let grpc_file = dir.path().join("grpc.bin");
    std::fs::write(&grpc_file, &grpc).unwrap();
    let (code, _) = curl(&[
        "--http2-prior-knowledge",
        "-H",
        "content-type: application/grpc",
        "-H",
        "te: trailers",
        "--data-binary",
        &format!("@{}", grpc_file.display()),
        &format!("http://{route}/phi.Records/Put"),
    ]);
    assert_ne!(code, 200);
    // Opaque TCP: bytes that are no protocol the proxy parses.
    let mut s = TcpStream::connect(route).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(format!("\x01\x02RAW ssn={SSN}\n").as_bytes());
    let mut buf = [0u8; 256];
    let _ = s.read(&mut buf);
    drop(s);

    let seen = impostor.bytes();
    assert!(!contains(&seen, SSN.as_bytes()), "the impostor got PHI");
    assert!(seen.is_empty(), "the impostor got {} bytes", seen.len());
}

#[test]
fn unlisted_destination_in_the_pod_network_gets_no_phi_in_any_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca_listing_db(dir.path(), &[("a", "web")], &[]);
    let plain = Sink::start_on("127.0.0.3:0");
    let plain_addr = plain.addr.to_string();
    let a = sidecar_a(
        &ca,
        &ca.url,
        &ca.roots,
        &[(plain_addr.as_str(), None)],
        "30s",
    );
    wait_metric(&a, "phimesh_discovery_workloads", 1.0);
    let route = a.routes[0];
    let url = format!("http://{route}/echo");

    // Clean traffic passes in plaintext: the destination really is egress.
    let (code, body) = curl(&["--data-binary", CLEAN_JSON, &url]);
    assert_eq!((code, body.as_str()), (200, CLEAN_JSON));

    let b64 = phimesh_testkit::codec::b64(PHI_JSON.as_bytes());
    let gz = phimesh_testkit::codec::gzip(PHI_JSON.as_bytes());
    let gz_file = dir.path().join("phi.gz");
    std::fs::write(&gz_file, &gz).unwrap();
    let gz_arg = format!("@{}", gz_file.display());
    let pct_url = format!("http://{route}/echo?ssn=123%2D45%2D6789");
    let hdr = format!("x-patient-ssn: {SSN}");
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("url", vec![pct_url.as_str()]),
        ("header", vec!["-H", hdr.as_str(), url.as_str()]),
        ("base64", vec!["--data-binary", b64.as_str(), url.as_str()]),
        (
            "gzip",
            vec![
                "-H",
                "content-encoding: gzip",
                "--data-binary",
                gz_arg.as_str(),
                url.as_str(),
            ],
        ),
        (
            "h2",
            vec![
                "--http2-prior-knowledge",
                "--data-binary",
                PHI_JSON,
                url.as_str(),
            ],
        ),
    ];
    for (what, args) in &cases {
        let (code, body) = curl(args);
        assert_ne!(code, 200, "{what}: {body}");
    }
    // Opaque TCP, and a request whose body comes after a pause.
    for (what, first, second) in [
        ("opaque", format!("\x01\x02RAW ssn={SSN}\n"), String::new()),
        (
            "paused body",
            format!(
                "POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                PHI_JSON.len()
            ),
            PHI_JSON.to_owned(),
        ),
    ] {
        let mut s = TcpStream::connect(route).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.write_all(first.as_bytes());
        if !second.is_empty() {
            std::thread::sleep(Duration::from_secs(2));
            let _ = s.write_all(second.as_bytes());
        }
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        assert!(
            !String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200"),
            "{what}"
        );
    }
    let seen = plain.bytes();
    for needle in [
        SSN.as_bytes(),
        b"123%2D45%2D6789".as_slice(),
        b64.as_bytes(),
        gz.as_slice(),
    ] {
        assert!(
            !contains(&seen, needle),
            "PHI reached the unlisted destination"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The list changing under an open TLS session
// ---------------------------------------------------------------------------------------------

/// A CA listing 127.0.0.2 as db, sidecar B (db) behind it, sidecar A routing to it; returns
/// (A, B, B's app, the mesh file, the route URL) and the guards that keep them running.
fn moving_address_setup() -> (
    tempfile::TempDir,
    Ca,
    ProxyProc,
    ProxyProc,
    Sink,
    PathBuf,
    String,
) {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca_listing_db(dir.path(), &[("a", "web"), ("b", "db")], &[]);
    let app_b = Sink::start();
    let b = ca.inbound_sidecar(app_b.addr, MESH, &[]);
    let b_inbound = b.inbound.unwrap().to_string();
    // `--header-timeout 2s`: A keeps an idle pooled connection 1 s.
    let a = sidecar_a_with(
        &ca,
        &ca.url,
        &ca.roots,
        &[("127.0.0.2:8080", Some(b_inbound))],
        "30s",
        &["--header-timeout", "2s"],
    );
    wait_metric(&a, "phimesh_discovery_workloads", 1.0);
    let url = format!("http://{}/echo", a.routes[0]);
    let mesh = dir.path().join("mesh");
    (dir, ca, a, b, app_b, mesh, url)
}

/// The address moves to billing (and one more address is listed, to see the new list arrive).
fn move_to_billing(mesh: &Path) {
    std::fs::write(
        mesh,
        format!(
            "127.0.0.2 {}\n127.0.0.200 {}\n",
            spiffe("c", "billing"),
            spiffe("b", "db")
        ),
    )
    .unwrap();
}

#[test]
fn a_resumed_session_does_not_skip_the_new_listed_identity() {
    let (_dir, _ca, a, b, app_b, mesh, url) = moving_address_setup();
    // Connections spaced past A's pool idle time (1 s) while the address is db's, until B has
    // resumed a session: later connections could take the same shortcut, which checks no
    // certificate.
    let resumptions = r#"phimesh_tls_resumptions_total{direction="inbound"}"#;
    let resumed = (0..12).any(|_| {
        let (code, body) = curl(&["--data-binary", CLEAN_JSON, &url]);
        assert_eq!((code, body.as_str()), (200, CLEAN_JSON));
        std::thread::sleep(Duration::from_millis(1300));
        b.metric(resumptions) > 0.0
    });
    assert!(
        resumed,
        "no resumption at all: the test would prove nothing"
    );

    move_to_billing(&mesh);
    wait_metric(&a, "phimesh_discovery_workloads", 2.0);
    std::thread::sleep(Duration::from_millis(1300));
    let before = app_b.bytes().len();
    for _ in 0..3 {
        let (code, _) = curl(&["--data-binary", PHI_JSON, &url]);
        assert_eq!(
            code, 502,
            "a new connection is checked against the new list"
        );
        std::thread::sleep(Duration::from_millis(1300));
    }
    assert_eq!(
        app_b.bytes().len(),
        before,
        "nothing reached db once the address is listed as billing"
    );
}

#[test]
fn a_pooled_connection_is_not_reused_once_its_address_is_listed_as_another_identity() {
    let (_dir, _ca, a, _b, app_b, mesh, url) = moving_address_setup();
    let (code, _) = curl(&["--data-binary", CLEAN_JSON, &url]);
    assert_eq!(code, 200);
    // Keep A's pooled mesh connection to db busy while the list changes under it.
    move_to_billing(&mesh);
    // Requests every 100 ms or so until the sidecar has the new list; one of them may already
    // meet it (a 502), which is the behaviour asserted below.
    wait_until("the new list while the pool is warm", 30, || {
        if a.metric("phimesh_discovery_workloads") == 2.0 {
            return true;
        }
        let (code, _) = curl(&["--data-binary", CLEAN_JSON, &url]);
        code == 502
    });
    let before = app_b.bytes().len();
    let (code, _) = curl(&["--data-binary", PHI_JSON, &url]);
    assert_eq!(
        code, 502,
        "a request after the address moved to billing went over the pooled connection to db"
    );
    assert_eq!(app_b.bytes().len(), before, "db's app got the request");
}

// ---------------------------------------------------------------------------------------------
// A hostile CA answering the sidecar's polls
// ---------------------------------------------------------------------------------------------

/// What the fake CA answers to `GET /v1/mesh`.
#[derive(Clone)]
enum MeshAnswer {
    /// 503 without a list.
    Unavailable,
    /// 200 with this body and ETag.
    List(String, String),
    /// 304, whatever was asked.
    NotModified,
    /// 200 with a body of this many bytes (a valid start, then padding), written until the
    /// client hangs up.
    Giant(usize),
    /// These bytes as they are (a whole response).
    Raw(Vec<u8>),
    /// The head one byte at a time, 300 ms apart, for at most two minutes.
    Drip,
}

/// A TLS front on loopback with a certificate the real CA's roots verify: certificate and
/// trust-bundle requests go to the real CA, `/v1/mesh` gets [`MeshAnswer`].
struct FakeCa {
    url: String,
    answer: Arc<Mutex<MeshAnswer>>,
    polls: Arc<AtomicUsize>,
    auth: Arc<Mutex<Vec<String>>>,
}

fn forward(real: SocketAddr, roots: &[Vec<u8>], head: &str, body: &[u8]) -> Vec<u8> {
    let mut store = rustls::RootCertStore::empty();
    for r in roots {
        store.add(r.clone().into()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(store)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::IpAddress(real.ip().into());
    let conn = rustls::ClientConnection::new(Arc::new(cfg), name).unwrap();
    let tcp = TcpStream::connect(real).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut st = rustls::StreamOwned::new(conn, tcp);
    let mut req: String = head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    req.push_str("connection: close\r\n\r\n");
    st.write_all(req.as_bytes()).unwrap();
    st.write_all(body).unwrap();
    st.flush().unwrap();
    let mut out = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        match st.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
    }
    out
}

impl FakeCa {
    fn start(real: &Ca, forge: &Forge) -> FakeCa {
        let (chain, key) = forge.leaf(vec![rcgen::SanType::IpAddress(
            "127.0.0.1".parse().unwrap(),
        )]);
        let cfg = server_config(chain, key);
        let roots = pem_blocks(&std::fs::read_to_string(&real.roots).unwrap());
        let real_addr = real.addr();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}", l.local_addr().unwrap());
        let answer = Arc::new(Mutex::new(MeshAnswer::Unavailable));
        let polls = Arc::new(AtomicUsize::new(0));
        let auth = Arc::new(Mutex::new(Vec::new()));
        let (ans, pl, au) = (answer.clone(), polls.clone(), auth.clone());
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(s) = s else { continue };
                let (cfg, roots, ans, pl, au) = (
                    cfg.clone(),
                    roots.clone(),
                    ans.clone(),
                    pl.clone(),
                    au.clone(),
                );
                std::thread::spawn(move || {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
                    let conn = rustls::ServerConnection::new(cfg).unwrap();
                    let mut st = rustls::StreamOwned::new(conn, s);
                    let sink = Mutex::new(Vec::new());
                    let Some((head, body)) = read_request(&mut st, &sink) else {
                        return;
                    };
                    if !head.starts_with("GET /v1/mesh") {
                        let out = forward(real_addr, &roots, &head, &body);
                        let _ = st.write_all(&out);
                        let _ = st.flush();
                        st.conn.send_close_notify();
                        let _ = st.flush();
                        return;
                    }
                    pl.fetch_add(1, Ordering::SeqCst);
                    if let Some(a) = head.lines().find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("authorization")
                            .then(|| v.trim().to_owned())
                    }) {
                        au.lock().unwrap().push(a);
                    }
                    let answer = ans.lock().unwrap().clone();
                    let simple = |status: &str, extra: &str, body: &str| {
                        format!(
                            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra}\
                             content-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        )
                    };
                    match answer {
                        MeshAnswer::Unavailable => {
                            let _ = st.write_all(
                                simple("503 Service Unavailable", "", "{\"error\":\"no list\"}")
                                    .as_bytes(),
                            );
                        }
                        MeshAnswer::List(body, etag) => {
                            let _ = st.write_all(
                                simple("200 OK", &format!("etag: {etag}\r\n"), &body).as_bytes(),
                            );
                        }
                        MeshAnswer::NotModified => {
                            let _ = st.write_all(
                                b"HTTP/1.1 304 Not Modified\r\netag: \"x\"\r\nconnection: close\r\n\r\n",
                            );
                        }
                        MeshAnswer::Raw(bytes) => {
                            let _ = st.write_all(&bytes);
                        }
                        MeshAnswer::Giant(n) => {
                            let start = b"{\"workloads\":[],\"pad\":\"";
                            let head = format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\netag: \"g\"\r\n\
                                 content-length: {n}\r\nconnection: close\r\n\r\n"
                            );
                            if st.write_all(head.as_bytes()).is_err()
                                || st.write_all(start).is_err()
                            {
                                return;
                            }
                            let pad = vec![b'a'; 64 * 1024];
                            let mut sent = start.len();
                            while sent + pad.len() < n {
                                if st.write_all(&pad).is_err() {
                                    return;
                                }
                                sent += pad.len();
                            }
                        }
                        MeshAnswer::Drip => {
                            let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n";
                            let deadline = Instant::now() + Duration::from_secs(120);
                            let mut i = 0;
                            while Instant::now() < deadline {
                                let b = [head[i % head.len()]];
                                if st.write_all(&b).is_err() || st.flush().is_err() {
                                    return;
                                }
                                i += 1;
                                std::thread::sleep(Duration::from_millis(300));
                            }
                        }
                    }
                    let _ = st.flush();
                    st.conn.send_close_notify();
                    let _ = st.flush();
                });
            }
        });
        FakeCa {
            url,
            answer,
            polls,
            auth,
        }
    }

    fn set(&self, a: MeshAnswer) {
        *self.answer.lock().unwrap() = a;
    }

    /// Waits until the sidecar has polled `n` more times.
    fn wait_polls(&self, n: usize) {
        let start = self.polls.load(Ordering::SeqCst);
        wait_until(&format!("{n} more polls"), 60, || {
            self.polls.load(Ordering::SeqCst) >= start + n
        });
    }
}

fn list_json(entries: &[(&str, &str)]) -> String {
    let ws: Vec<serde_json::Value> = entries
        .iter()
        .map(|(ip, id)| serde_json::json!({"ip": ip, "identity": id}))
        .collect();
    serde_json::json!({ "workloads": ws }).to_string()
}

/// Whether process `pid` is running (not gone, not a zombie).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| !r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Peak resident memory of `pid` in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The fake CA's roots file for the sidecar: the real CA's roots verify the fake's certificate.
fn fake_setup(ids: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf, Ca, FakeCa) {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::start_with(dir.path(), ids, &[]);
    let forge = Forge::from_state(&ca.state_dir());
    let fake = FakeCa::start(&ca, &forge);
    let roots = ca.roots.clone();
    (dir, roots, ca, fake)
}

/// A PHI request to the unlisted plain server must not reach it, whatever the sidecar made of
/// the last answer.
fn assert_no_phi_to(a: &ProxyProc, route: SocketAddr, plain: &Sink, what: &str) {
    let (code, body) = curl(&["--data-binary", PHI_JSON, &format!("http://{route}/echo")]);
    assert_ne!(code, 200, "{what}: {body}");
    assert!(
        !contains(&plain.bytes(), SSN.as_bytes()),
        "{what}: PHI reached a server without a sidecar"
    );
    assert!(alive(a.pid()), "{what}: the sidecar exited");
}

#[test]
fn hostile_mesh_answers_neither_crash_nor_bloat_the_sidecar() {
    let (_dir, roots, ca, fake) = fake_setup(&[("a", "web")]);
    let plain = Sink::start_on("127.0.0.3:0");
    let plain_addr = plain.addr.to_string();
    let a = sidecar_a(&ca, &fake.url, &roots, &[(plain_addr.as_str(), None)], "3s");
    let route = a.routes[0];
    fake.wait_polls(1);
    assert!(
        fake.auth
            .lock()
            .unwrap()
            .iter()
            .all(|h| h == "Bearer tok-a-web"),
        "the sidecar sends its token"
    );
    // No list yet: --mesh-networks alone, mTLS, nothing in plaintext.
    assert_eq!(a.metric("phimesh_discovery_stale"), 1.0);
    assert_no_phi_to(&a, route, &plain, "before any list");

    // 304 without a prior list is no list.
    fake.set(MeshAnswer::NotModified);
    fake.wait_polls(3);
    assert_eq!(
        a.metric("phimesh_discovery_stale"),
        1.0,
        "304 without a list"
    );
    assert_no_phi_to(&a, route, &plain, "304 without a list");

    // Not JSON, JSON of the wrong shape, invalid addresses.
    for (what, body) in [
        ("not json", "{\"workloads\":[{\"ip\":".to_owned()),
        (
            "wrong shape",
            "{\"workloads\":{\"ip\":\"127.0.0.3\"}}".to_owned(),
        ),
        (
            "invalid ip",
            list_json(&[("127.0.0.300", &spiffe("u", "u"))]),
        ),
    ] {
        fake.set(MeshAnswer::List(
            body,
            format!("\"{what}\"").replace(' ', "-"),
        ));
        fake.wait_polls(2);
        assert_no_phi_to(&a, route, &plain, what);
    }

    // A body far over the CA's 32 MiB bound: not read whole.
    let before = peak_rss_kib(a.pid());
    fake.set(MeshAnswer::Giant(256 << 20));
    fake.wait_polls(2);
    fake.set(MeshAnswer::Unavailable);
    fake.wait_polls(1);
    let after = peak_rss_kib(a.pid());
    eprintln!("peak RSS before the giant answer {before} KiB, after {after} KiB");
    assert!(
        after < before + 96 * 1024,
        "a 256 MiB mesh answer took the sidecar from {before} KiB to {after} KiB peak"
    );
    assert_no_phi_to(&a, route, &plain, "giant answer");

    // An answer that drips: the poll gives up and a good answer is taken afterwards.
    fake.set(MeshAnswer::Drip);
    fake.wait_polls(1);
    std::thread::sleep(Duration::from_secs(1));
    fake.set(MeshAnswer::List(
        list_json(&[("127.0.0.2", &spiffe("b", "db"))]),
        "\"good\"".into(),
    ));
    wait_until(
        "the sidecar to take a list after a dripping answer",
        90,
        || {
            a.metric("phimesh_discovery_workloads") == 1.0
                && a.metric("phimesh_discovery_stale") == 0.0
        },
    );
    // Listed elsewhere, this address is egress now: clean passes, PHI does not.
    let (code, body) = curl(&["--data-binary", CLEAN_JSON, &format!("http://{route}/echo")]);
    assert_eq!((code, body.as_str()), (200, CLEAN_JSON));
    assert_no_phi_to(&a, route, &plain, "egress with a list");
    assert!(alive(a.pid()));

    // The CA stops having a list: past --discovery-max-age the list is reported stale and keeps
    // deciding; the unlisted address stays egress (clean passes, PHI refused).
    fake.set(MeshAnswer::Unavailable);
    wait_metric(&a, "phimesh_discovery_stale", 1.0);
    let (code, body) = curl(&["--data-binary", CLEAN_JSON, &format!("http://{route}/echo")]);
    assert_eq!((code, body.as_str()), (200, CLEAN_JSON), "still egress");
    assert_no_phi_to(&a, route, &plain, "stale list");
    let errs = a.stderr.lock().unwrap().join("\n");
    assert!(!errs.contains("panicked"), "{errs}");
    assert!(!errs.contains("tok-a-web"), "the token is never logged");
}

#[test]
fn a_foreign_trust_domain_identity_in_a_mesh_answer_is_never_accepted() {
    let (_dir, roots, ca, fake) = fake_setup(&[("a", "web")]);
    let forge = Forge::from_state(&ca.state_dir());
    // A server with a certificate from the mesh issuer for a foreign trust domain, and an
    // answer that lists exactly that identity at its address.
    let foreign_id = "spiffe://evil.example/ns/b/sa/db";
    let (c, k) = forge.mesh_leaf(foreign_id);
    let foreign = RecordingTls::start("127.0.0.2:0", Some(server_config(c, k)));
    let a = sidecar_a(
        &ca,
        &fake.url,
        &roots,
        &[("127.0.0.2:8080", Some(foreign.addr.to_string()))],
        "30s",
    );
    fake.set(MeshAnswer::List(
        list_json(&[("127.0.0.2", foreign_id), ("127.0.0.9", &spiffe("z", "z"))]),
        "\"foreign\"".into(),
    ));
    fake.wait_polls(3);
    let (code, body) = curl(&[
        "--data-binary",
        PHI_JSON,
        &format!("http://{}/patients", a.routes[0]),
    ]);
    assert_ne!(code, 200, "{body}");
    assert!(
        !contains(&foreign.bytes(), SSN.as_bytes()),
        "PHI delivered to a foreign trust domain"
    );
    assert!(alive(a.pid()));
}

/// Sidecar A with a route to 127.0.0.4, answered by a server with db's valid mesh certificate,
/// while the CA's answer lists `entries`; returns whether PHI reached that server.
fn phi_reaches_db_under(entries: &[(&str, String)]) -> bool {
    let (_dir, roots, ca, fake) = fake_setup(&[("a", "web")]);
    let forge = Forge::from_state(&ca.state_dir());
    let (c, k) = forge.mesh_leaf(&spiffe("b", "db"));
    let db = RecordingTls::start("127.0.0.4:0", Some(server_config(c, k)));
    let a = sidecar_a(
        &ca,
        &fake.url,
        &roots,
        &[("127.0.0.4:8080", Some(db.addr.to_string()))],
        "30s",
    );
    let entries: Vec<(&str, &str)> = entries.iter().map(|(i, s)| (*i, s.as_str())).collect();
    fake.set(MeshAnswer::List(list_json(&entries), "\"dup\"".into()));
    fake.wait_polls(3);
    let _ = curl(&[
        "--data-binary",
        PHI_JSON,
        &format!("http://{}/patients", a.routes[0]),
    ]);
    assert!(alive(a.pid()));
    contains(&db.bytes(), SSN.as_bytes())
}

// An address that two identities claim is left out by the CA ("an address two identities claim
// is left out"); an answer that claims it twice must not authenticate either claimant.

#[test]
fn an_address_listed_twice_authenticates_neither_identity() {
    assert!(!phi_reaches_db_under(&[
        ("127.0.0.4", spiffe("c", "billing")),
        ("127.0.0.4", spiffe("b", "db")),
    ]));
}

#[test]
fn an_address_listed_twice_in_two_spellings_authenticates_neither_identity() {
    assert!(!phi_reaches_db_under(&[
        ("127.0.0.4", spiffe("c", "billing")),
        ("::ffff:127.0.0.4", spiffe("b", "db")),
    ]));
}

#[test]
fn an_ipv4_mapped_entry_names_the_same_pod_as_its_ipv4_form() {
    // Control: listed once, in the IPv4-mapped spelling, with the identity the server holds.
    assert!(phi_reaches_db_under(&[(
        "::ffff:127.0.0.4",
        spiffe("b", "db")
    )]));
}

#[test]
fn a_mesh_answer_can_neither_redirect_the_token_nor_bomb_the_sidecar() {
    let (_dir, roots, ca, fake) = fake_setup(&[("a", "web")]);
    let plain = Sink::start_on("127.0.0.3:0");
    let plain_addr = plain.addr.to_string();
    let a = sidecar_a(&ca, &fake.url, &roots, &[(plain_addr.as_str(), None)], "3s");
    let route = a.routes[0];
    fake.wait_polls(1);

    // A redirect to a plaintext listener: the token must not follow it.
    let thief = RecordingTls::start("127.0.0.1:0", None);
    for status in ["301 Moved Permanently", "307 Temporary Redirect"] {
        fake.set(MeshAnswer::Raw(
            format!(
                "HTTP/1.1 {status}\r\nlocation: http://{}/v1/mesh\r\ncontent-length: 0\r\n\
                 connection: close\r\n\r\n",
                thief.addr
            )
            .into_bytes(),
        ));
        fake.wait_polls(2);
    }
    assert!(
        !contains(&thief.bytes(), b"tok-a-web"),
        "the sidecar's token followed a redirect in plaintext"
    );
    assert_no_phi_to(&a, route, &plain, "redirect");

    // A gzip bomb (1 GiB of zeros in about 1 MiB), whether or not the sidecar asked for gzip.
    let before = peak_rss_kib(a.pid());
    let bomb = {
        use flate2::write::GzEncoder;
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![b' '; 1 << 20];
        e.write_all(b"{\"workloads\":[").unwrap();
        for _ in 0..1024 {
            e.write_all(&zeros).unwrap();
        }
        e.write_all(b"]}").unwrap();
        e.finish().unwrap()
    };
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\n\
         etag: \"bomb\"\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        bomb.len()
    )
    .into_bytes();
    resp.extend_from_slice(&bomb);
    fake.set(MeshAnswer::Raw(resp));
    fake.wait_polls(2);
    fake.set(MeshAnswer::Unavailable);
    fake.wait_polls(1);
    let after = peak_rss_kib(a.pid());
    eprintln!("peak RSS before the gzip bomb {before} KiB, after {after} KiB");
    assert!(
        after < before + 64 * 1024,
        "a gzip bomb took the sidecar from {before} KiB to {after} KiB"
    );
    assert_no_phi_to(&a, route, &plain, "gzip bomb");
}

#[test]
fn a_mesh_answer_over_the_workload_bound_is_not_taken() {
    let (_dir, roots, ca, fake) = fake_setup(&[("a", "web")]);
    let plain = Sink::start_on("127.0.0.3:0");
    let plain_addr = plain.addr.to_string();
    let a = sidecar_a(&ca, &fake.url, &roots, &[(plain_addr.as_str(), None)], "3s");
    let route = a.routes[0];
    fake.wait_polls(1);
    let before = peak_rss_kib(a.pid());

    // Many entries, each a valid address, the body (21 MiB) under the CA's 32 MiB bound.
    let entries: Vec<(String, String)> = (0..300_000u32)
        .map(|i| {
            (
                format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
                spiffe("n", &format!("s{i}")),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = entries
        .iter()
        .map(|(i, s)| (i.as_str(), s.as_str()))
        .collect();
    fake.set(MeshAnswer::List(list_json(&refs), "\"many\"".into()));
    fake.wait_polls(2);
    fake.set(MeshAnswer::Unavailable);
    fake.wait_polls(1);
    let after = peak_rss_kib(a.pid());
    eprintln!("peak RSS before the 300 000-entry list {before} KiB, after {after} KiB");
    assert!(
        after < before + 256 * 1024,
        "a 300 000-entry list took the sidecar from {before} KiB to {after} KiB"
    );
    // Over the CA's own bound of 65 536 workloads: not taken as a list (the CA never serves
    // one; an answer that has one is not the CA's).
    assert!(
        a.metric("phimesh_discovery_workloads") <= 65_536.0,
        "{}",
        a.metric("phimesh_discovery_workloads")
    );
    assert_no_phi_to(&a, route, &plain, "long list");
}

/// A plaintext server that speaks first (a greeting, as SMTP or MySQL do), then records every
/// byte it reads.
fn greeting_server(bind: &str) -> (SocketAddr, Arc<Mutex<Vec<u8>>>) {
    let l = TcpListener::bind(bind).unwrap();
    let addr = l.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let log = log.clone();
            std::thread::spawn(move || {
                let _ = s.set_read_timeout(Some(Duration::from_secs(15)));
                let _ = s.write_all(b"220 records ready\r\n");
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    log.lock().unwrap().extend_from_slice(&buf[..n]);
                    let _ = s.write_all(b"250 ok\r\n");
                }
            });
        }
    });
    (addr, seen)
}

#[test]
fn unlisted_server_first_protocol_gets_no_phi_even_split_across_writes() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca_listing_db(dir.path(), &[("a", "web")], &[]);
    let (addr, seen) = greeting_server("127.0.0.3:0");
    let upstream = addr.to_string();
    let a = sidecar_a(&ca, &ca.url, &ca.roots, &[(upstream.as_str(), None)], "30s");
    wait_metric(&a, "phimesh_discovery_workloads", 1.0);

    let mut s = TcpStream::connect(a.routes[0]).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 256];
    // The greeting arrives.
    let _ = s.read(&mut buf);
    // Opaque TCP (HL7 over MLLP): a clean message, then a record split across writes with a
    // pause between.
    let _ = s.write_all(b"\x0bMSH|^~\\&|CLINIC|ORDERS\r\x1c\r");
    let _ = s.read(&mut buf);
    let _ = s.write_all(b"\x0bPID|1||ssn=123-45-");
    std::thread::sleep(Duration::from_millis(800));
    let _ = s.write_all(b"6789|Roe^Jane\r\x1c\r");
    let _ = s.read(&mut buf);
    drop(s);
    std::thread::sleep(Duration::from_millis(500));
    let seen = seen.lock().unwrap().clone();
    assert!(
        contains(&seen, b"MSH|^~\\&|CLINIC"),
        "the clean message passes: the path is egress in plaintext"
    );
    assert!(
        !contains(&seen, b"6789"),
        "the second half of the record reached the unlisted server: {:?}",
        String::from_utf8_lossy(&seen)
    );
    assert!(!contains(&seen, SSN.as_bytes()));
}

#[test]
fn an_unlisted_server_with_a_mesh_certificate_gets_phi_only_before_the_first_list() {
    let (_dir, roots, ca, fake) = fake_setup(&[("a", "web")]);
    let forge = Forge::from_state(&ca.state_dir());
    // Not listed, no sidecar, but a valid mesh certificate (any identity of the trust domain).
    let (c, k) = forge.mesh_leaf(&spiffe("u", "rogue"));
    let rogue = RecordingTls::start("127.0.0.3:0", Some(server_config(c, k)));
    let upstream = rogue.addr.to_string();
    let a = sidecar_a(
        &ca,
        &fake.url,
        &roots,
        &[(upstream.as_str(), Some(upstream.clone()))],
        "3s",
    );
    let url = format!("http://{}/patients", a.routes[0]);

    // Before any list --mesh-networks alone decides, and any identity of the trust domain is
    // accepted (docs/architecture.md, "Which way it fails": open only in authentication
    // strength, and only until the first list). This pins that documented weakening.
    fake.wait_polls(1);
    assert_eq!(a.metric("phimesh_discovery_stale"), 1.0);
    let (code, body) = curl(&["--data-binary", PHI_JSON, &url]);
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    assert!(contains(&rogue.bytes(), SSN.as_bytes()));
    let audit = a.audit();
    assert!(
        audit
            .iter()
            .any(|e| e["peer_identity"] == spiffe("u", "rogue").as_str()),
        "the audit names the identity that got the record: {audit:?}"
    );
    let seen = rogue.bytes().len();

    // With a current list it is egress: the record is refused before it leaves, and what does
    // leave is plaintext the TLS server cannot take for a handshake.
    fake.set(MeshAnswer::List(
        list_json(&[("127.0.0.2", &spiffe("b", "db"))]),
        "\"current\"".into(),
    ));
    wait_metric(&a, "phimesh_discovery_stale", 0.0);
    let (code, _) = curl(&["--data-binary", PHI_JSON, &url]);
    assert_ne!(code, 200);
    assert!(!contains(&rogue.bytes()[seen..], SSN.as_bytes()));

    // The CA withdraws its list: past --discovery-max-age the list is stale and keeps
    // deciding. The unlisted server is still egress: no PHI.
    fake.set(MeshAnswer::Unavailable);
    wait_metric(&a, "phimesh_discovery_stale", 1.0);
    let (code, _) = curl(&["--data-binary", PHI_JSON, &url]);
    assert_ne!(code, 200);
    assert!(
        !contains(&rogue.bytes()[seen..], SSN.as_bytes()),
        "a stale list unpinned the unlisted server"
    );
}

#[test]
fn guessing_tokens_from_a_shared_address_does_not_unpin_a_listed_identity() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca_listing_db(dir.path(), &[("a", "web")], &[]);
    // At db's listed address, a server with a valid mesh certificate of another identity.
    let impostor = impostor_of_db(&ca);
    let a = sidecar_a(
        &ca,
        &ca.url,
        &ca.roots,
        &[("127.0.0.2:8080", Some(impostor.addr.to_string()))],
        "3s",
    );
    wait_metric(&a, "phimesh_discovery_stale", 0.0);
    let url = format!("http://{}/patients", a.routes[0]);
    let (code, _) = curl(&["--data-binary", PHI_JSON, &url]);
    assert_eq!(
        code, 502,
        "the impostor is refused while the list is current"
    );

    // Someone at the sidecar's address (a pod's other container shares it; so do pods behind
    // a node's SNAT) guesses tokens at /v1/mesh for longer than --discovery-max-age.
    let roots = ca.roots.display().to_string();
    let mesh_url = format!("{}/v1/mesh", ca.url);
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut throttled = 0;
    while Instant::now() < deadline {
        let out = std::process::Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--cacert",
                &roots,
            ])
            .args(["-H", "Authorization: Bearer tok-guess", &mesh_url])
            .output()
            .unwrap();
        throttled += usize::from(out.stdout == b"429");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(throttled > 0, "the guesser was throttled");
    let stale = a.metric("phimesh_discovery_stale");
    let (code, _) = curl(&["--data-binary", PHI_JSON, &url]);
    assert!(
        !contains(&impostor.bytes(), SSN.as_bytes()),
        "a token guesser on the sidecar's address made its list stale ({stale}) and the \
         impostor at db's address got the record ({code})"
    );
}

/// In network namespaces, transparent mode: the app in pod A (no token, UID 1000) guesses tokens
/// at the CA. Its connections leave from A's address, as its sidecar's polls do, so the CA's
/// address throttle answers the sidecar 429 too; past --discovery-max-age the sidecar falls
/// back to "any identity of the trust domain", and pod U (not listed, no sidecar, but a valid
/// mesh certificate on 15006) must still get no record from A's app.
#[cfg(feature = "netns")]
#[test]
fn an_app_cannot_unpin_its_own_sidecar_by_guessing_tokens() {
    use netns::{wait_for, Net, APP_UID, PROXY_UID};
    use std::os::unix::fs::PermissionsExt;
    if netns::require_netns("discovery_attacks").is_none() {
        return;
    }
    let id_a = spiffe("demo", "frontend");
    let mut net = Net::new("datk");
    let a = net.pod("a");
    let u = net.pod("u");
    let ca_host = net.pod("ca");
    let dir = net.dir().to_path_buf();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        p
    };
    write("tokens", &format!("tok-a {id_a}\n"));
    let token = write("token-a", "tok-a\n");
    let mesh = write("mesh", &format!("{} {id_a}\n", a.ip));
    let mesh_source = ["--mesh-source".into(), format!("file:{}", mesh.display())];
    let bundle = net.start_ca(&ca_host, &dir, &mesh_source);

    // U: on 80 a TLS server with a valid mesh certificate (a sidecar's inbound redirect would
    // bring mesh connections to 15006; U has none, its server takes them itself).
    let forge = Forge::from_state(&dir.join("ca"));
    let (c, k) = forge.mesh_leaf(&spiffe("u", "rogue"));
    let cfg = server_config(c, k);
    // Threads inherit the namespace of the thread that starts them: the servers' threads
    // start in U's.
    let (tx, rx) = std::sync::mpsc::channel();
    let u_ns = u.ns.clone();
    std::thread::spawn(move || {
        netns::enter_netns(&u_ns).unwrap();
        tx.send(RecordingTls::start("0.0.0.0:80", Some(cfg)))
            .unwrap();
    });
    let rogue = rx.recv_timeout(Duration::from_secs(10)).unwrap();

    a.init(&[]);
    let mut cmd = a.cmd_as(PROXY_UID, netns::phimesh_bin());
    cmd.arg("proxy")
        .arg("--transparent")
        .args(["--identity", &id_a])
        .args(["--ca-addr", &format!("https://{}", ca_host.addr(15012))])
        .arg("--ca-roots")
        .arg(&bundle)
        .arg("--token-file")
        .arg(&token)
        .args(["--mesh-networks", "10.254.0.0/24"])
        .args(["--discovery-interval", "500ms", "--discovery-max-age", "3s"])
        .args(["--admin-listen", "0.0.0.0:15020"])
        .env("PHIMESH_LOG", "info");
    net.spawn("proxy-a", cmd);
    let metric = |series: &str| -> Option<f64> {
        let (ok, body) = a.curl(0, &["http://127.0.0.1:15020/metrics"]);
        ok.then_some(())?;
        body.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
    };
    wait_for("A's mesh list", Duration::from_secs(30), || {
        (metric("phimesh_discovery_stale") == Some(0.0)).then_some(())
    });

    let phi_to_u = || {
        a.curl(
            APP_UID,
            &[
                "-w",
                "%{http_code}",
                "--data-binary",
                PHI_JSON,
                &format!("http://{}/patients", u.addr(80)),
            ],
        )
    };
    let (_, body) = phi_to_u();
    assert!(
        body.ends_with("403"),
        "U is egress, the record refused: {body}"
    );

    // The app guesses tokens until its sidecar's list goes stale (bounded).
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && metric("phimesh_discovery_stale") != Some(1.0) {
        let _ = a.curl(
            APP_UID,
            &[
                "-k",
                "-o",
                "/dev/null",
                "-H",
                "Authorization: Bearer tok-guess",
                &format!("https://{}/v1/mesh", ca_host.addr(15012)),
            ],
        );
    }
    let stale = metric("phimesh_discovery_stale");
    let (_, body) = phi_to_u();
    let got = rogue.bytes();
    assert!(
        !contains(&got, SSN.as_bytes()),
        "A's app made its own sidecar's list stale ({stale:?}) and U got the record: {body}"
    );
}
