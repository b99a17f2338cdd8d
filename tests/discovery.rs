//! Mesh discovery end to end, on loopback: a real `phimesh ca` serving its mesh list from a
//! static file (`--mesh-source file:PATH`), and `phimesh proxy` sidecars polling it. Three
//! destinations share one `--mesh-networks` (127.0.0.0/8):
//!
//! * 127.0.0.2, listed with the identity of sidecar B, reached over B's inbound listener: mTLS,
//!   PHI delivered;
//! * 127.0.0.3, not listed (a plain HTTP server with no sidecar): egress, inspected, clean
//!   requests pass in plaintext and PHI is refused before it leaves;
//! * 127.0.0.4, listed with another identity but answered by B: refused
//!   (`peer_identity_mismatch`, audited and counted), B's app never sees the request.
//!
//! Then the CA goes away: once the list is older than `--discovery-max-age` it is reported
//! stale and keeps deciding: the listed destination is still held to its listed identity (the
//! impostor address still refused), the unlisted one is still egress (PHI refused).

#[path = "support/proxy.rs"]
mod support_proxy;

#[path = "support/discovery.rs"]
mod support_discovery;

use support_discovery::{discovery_args, wait_metric};
use support_proxy::{contains, curl, Ca, ProxyProc, Sink, CLEAN_JSON, PHI_JSON, SSN};

const MESH: &str = "127.0.0.0/8";
const MESHED: &str = "127.0.0.2:8080";
const IMPOSTOR: &str = "127.0.0.4:8080";

#[test]
fn meshed_unmeshed_and_impostor_destinations_in_one_network() {
    let dir = tempfile::tempdir().unwrap();
    let mesh_file = dir.path().join("mesh");
    std::fs::write(
        &mesh_file,
        "# the CA's static mesh list\n\
         127.0.0.2 spiffe://cluster.local/ns/b/sa/db\n\
         127.0.0.4 spiffe://cluster.local/ns/c/sa/billing\n",
    )
    .unwrap();
    let source = format!("file:{}", mesh_file.display());
    let mut ca = Ca::start_with(
        dir.path(),
        &[("a", "web"), ("b", "db")],
        &["--mesh-source", &source],
    );

    // B: the meshed destination's sidecar, in front of its app.
    let app_b = Sink::start();
    let b = ca.inbound_sidecar(app_b.addr, MESH, &[]);
    let b_inbound = b.inbound.unwrap().to_string();
    // No sidecar here: a plain server in the same network.
    let plain = Sink::start_on("127.0.0.3:0");

    // A: three routes, one per destination; the meshed and the impostor address both lead to
    // B's inbound listener (explicit mode's stand-in for each pod's own redirect).
    let mut args = ca.identity_args("a", "web");
    let plain_addr = plain.addr.to_string();
    args.extend(discovery_args(
        &[
            (MESHED, Some(b_inbound.as_str())),
            (&plain_addr, None),
            (IMPOSTOR, Some(b_inbound.as_str())),
        ],
        MESH,
        "500ms",
        "3s",
    ));
    let a_args: Vec<&str> = args.iter().map(String::as_str).collect();
    let a = ProxyProc::start(&a_args);
    wait_metric(&a, "phimesh_discovery_workloads", 2.0);
    wait_metric(&a, "phimesh_discovery_stale", 0.0);
    let (to_meshed, to_plain, to_impostor) = (a.routes[0], a.routes[1], a.routes[2]);

    // Listed: mTLS to B, PHI delivered to B's app.
    let (code, body) = curl(&[
        "--data-binary",
        PHI_JSON,
        &format!("http://{to_meshed}/echo"),
    ]);
    assert_eq!((code, body.as_str()), (200, PHI_JSON));
    assert!(contains(&app_b.bytes(), SSN.as_bytes()));
    let audit = a.wait_audit(1);
    assert_eq!(audit[0]["tls"], "mtls", "{audit:?}");
    assert_eq!(
        audit[0]["peer_identity"],
        "spiffe://cluster.local/ns/b/sa/db"
    );

    // Not listed: egress. Clean traffic passes in plaintext, PHI is refused before it leaves.
    let (code, body) = curl(&[
        "--data-binary",
        CLEAN_JSON,
        &format!("http://{to_plain}/echo"),
    ]);
    assert_eq!((code, body.as_str()), (200, CLEAN_JSON));
    assert!(
        contains(&plain.bytes(), CLEAN_JSON.as_bytes()),
        "plaintext, no sidecar"
    );
    let (code, body) = curl(&[
        "--data-binary",
        PHI_JSON,
        &format!("http://{to_plain}/echo"),
    ]);
    assert_eq!(code, 403, "{body}");
    assert!(
        !contains(&plain.bytes(), SSN.as_bytes()),
        "no PHI byte reached it"
    );
    let audit = a.wait_audit(2);
    assert_eq!(audit[1]["action"], "refused", "{audit:?}");
    assert_eq!(audit[1]["tls"], "none");

    // Listed with another identity, answered by B: refused inside the handshake.
    let before = app_b.bytes().len();
    let (code, _) = curl(&[
        "--data-binary",
        CLEAN_JSON,
        &format!("http://{to_impostor}/echo"),
    ]);
    assert_eq!(code, 502);
    assert_eq!(app_b.bytes().len(), before, "B's app saw nothing");
    assert!(
        a.metric(
            "phimesh_tls_handshakes_refused_total{direction=\"outbound\",reason=\"peer_identity_mismatch\"}"
        ) >= 1.0
    );
    let audit = a.wait_audit(3);
    let refused = audit
        .iter()
        .find(|e| e["event"] == "peer_identity_mismatch")
        .unwrap_or_else(|| panic!("{audit:?}"));
    assert_eq!(
        refused["expected_identity"],
        "spiffe://cluster.local/ns/c/sa/billing"
    );
    assert_eq!(
        refused["peer_identity"],
        "spiffe://cluster.local/ns/b/sa/db"
    );
    assert_eq!(refused["destination"], IMPOSTOR);

    // The CA answers 304 while the list is unchanged: the sidecar keeps it fresh without a body.
    assert_eq!(
        a.metric("phimesh_discovery_fetch_errors_total{reason=\"connect\"}"),
        0.0
    );

    // The CA goes away: after --discovery-max-age the list is reported stale and keeps
    // deciding. The listed identity stays pinned, the unlisted destination stays egress.
    ca.stop();
    wait_metric(&a, "phimesh_discovery_stale", 1.0);
    assert!(a.metric("phimesh_discovery_fetch_errors_total{reason=\"connect\"}") >= 1.0);
    assert_eq!(a.metric("phimesh_discovery_workloads"), 2.0);
    let (code, body) = curl(&[
        "--data-binary",
        PHI_JSON,
        &format!("http://{to_meshed}/echo"),
    ]);
    assert_eq!(
        (code, body.as_str()),
        (200, PHI_JSON),
        "still the listed peer"
    );
    let before = app_b.bytes().len();
    let (code, _) = curl(&[
        "--data-binary",
        CLEAN_JSON,
        &format!("http://{to_impostor}/echo"),
    ]);
    assert_eq!(code, 502, "still held to its last listed identity");
    assert_eq!(app_b.bytes().len(), before, "B's app saw nothing");
    let seen_phi = contains(&plain.bytes(), SSN.as_bytes());
    let (code, body) = curl(&[
        "--data-binary",
        PHI_JSON,
        &format!("http://{to_plain}/echo"),
    ]);
    assert_eq!(code, 403, "still egress, PHI refused: {body}");
    assert!(!seen_phi && !contains(&plain.bytes(), SSN.as_bytes()));
    let (code, body) = curl(&[
        "--data-binary",
        CLEAN_JSON,
        &format!("http://{to_plain}/echo"),
    ]);
    assert_eq!((code, body.as_str()), (200, CLEAN_JSON), "still egress");
}
