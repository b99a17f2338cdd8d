//! The scenarios: what the app in pod A sends, what each should come to, how the outcome is
//! judged from what the client, the sink, the patient service, the audit lines and the metrics
//! saw, and the table that shows it.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use phimesh_testkit::codec::gzip;

use super::clients::{get, grpc, http1, http1_chunked, post, split_in_ssn, summary};
use super::world::World;
use super::{patient_json, APP_PORT, EGRESS_PORT, POD_A, SSN};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expect {
    /// Reaches its destination; PHI on the mesh is audited.
    Delivered,
    /// Refused by sidecar A; the sink receives no PHI byte.
    Refused,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    MeshPost,
    MeshGet,
    EgressClean,
    EgressJson,
    EgressGzip,
    EgressChunked,
    EgressGrpc,
}

pub(super) struct Scenario {
    pub(super) id: &'static str,
    what: &'static str,
    kind: Kind,
    expect: Expect,
    why: &'static str,
}

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            id: "mesh-phi-request",
            what: "POST patient record A -> B (mesh)",
            kind: Kind::MeshPost,
            expect: Expect::Delivered,
            why: "mesh peer: sidecar A originates mTLS, B verifies A's SPIFFE ID; PHI may travel, audited by A (the sender)",
        },
        Scenario {
            id: "mesh-phi-response",
            what: "GET patient record B -> A (mesh)",
            kind: Kind::MeshGet,
            expect: Expect::Delivered,
            why: "the response carries PHI back inside the same mTLS connection; audited by B (the sender)",
        },
        Scenario {
            id: "egress-clean",
            what: "POST clean JSON to external host",
            kind: Kind::EgressClean,
            expect: Expect::Delivered,
            why: "plaintext egress is inspected; no PHI found, forwarded untouched",
        },
        Scenario {
            id: "egress-phi-json",
            what: "POST PHI JSON to external host",
            kind: Kind::EgressJson,
            expect: Expect::Refused,
            why: "PHI in plaintext egress: 403 phi_refused, held back before any PHI byte left",
        },
        Scenario {
            id: "egress-phi-gzip",
            what: "POST PHI JSON, Content-Encoding gzip",
            kind: Kind::EgressGzip,
            expect: Expect::Refused,
            why: "the body is gunzipped (bounded) before scanning; PHI found, refused",
        },
        Scenario {
            id: "egress-phi-chunked",
            what: "POST PHI split across two chunks",
            kind: Kind::EgressChunked,
            expect: Expect::Refused,
            why: "streaming scan with hold-back finds a match split across chunks",
        },
        Scenario {
            id: "egress-phi-grpc",
            what: "gRPC call with PHI to external host",
            kind: Kind::EgressGrpc,
            expect: Expect::Refused,
            why: "gRPC messages are unframed and scanned: status 7 PERMISSION_DENIED",
        },
    ]
}

#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// What the client saw: `201`, `403 phi_refused`, `grpc-status 7`, `reset`...
    observed: String,
    delivered: bool,
    /// Bytes of PHI the sink received during the scenario (egress scenarios).
    sink_phi: Option<usize>,
    /// Request-body bytes the sink received during the scenario (egress scenarios).
    sink_body: Option<usize>,
    /// New audit lines during the scenario, with their action.
    audit: Vec<String>,
    pub(super) ok: bool,
    note: String,
}

pub(super) fn print_table(results: &[(Scenario, Outcome)]) {
    println!();
    println!(
        "{:<2} {:<19} {:<37} {:<9} {:<34} {:>9} {:<6} RESULT",
        "#", "SCENARIO", "WHAT", "EXPECTED", "OBSERVED", "SINK PHI", "AUDIT"
    );
    for (i, (s, r)) in results.iter().enumerate() {
        let expected = match s.expect {
            Expect::Delivered => "delivered",
            Expect::Refused => "refused",
        };
        let phi = r
            .sink_phi
            .map(|n| format!("{n} B"))
            .unwrap_or_else(|| "-".into());
        let audit = if r.audit.is_empty() {
            "-".to_string()
        } else {
            format!("{}", r.audit.len())
        };
        println!(
            "{:<2} {:<19} {:<37} {:<9} {:<34} {:>9} {:<6} {}",
            i + 1,
            s.id,
            s.what,
            expected,
            truncate(&r.observed, 34),
            phi,
            audit,
            if r.ok { "ok" } else { "MISMATCH" }
        );
    }
    println!("\nwhy:");
    for (i, (s, r)) in results.iter().enumerate() {
        println!("{:>2}. {}", i + 1, s.why);
        if !r.note.is_empty() {
            println!("    -> {}", r.note);
        }
    }
}

pub(super) fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let t: String = s.chars().take(n - 1).collect();
        format!("{t}~")
    }
}

pub(super) async fn play(world: &World, s: &Scenario) -> Outcome {
    let audit_before = (world.a.audit_len(), world.b.audit_len());
    let sink_before = world.sink.mark();
    let patients_before = world.patients.received();
    let mtls_before = world.inbound_mtls_requests().await;
    let mesh: SocketAddr = format!("{POD_A}:{APP_PORT}").parse().unwrap();
    let egress: SocketAddr = format!("{POD_A}:{EGRESS_PORT}").parse().unwrap();
    let phi = patient_json();

    let sent = match s.kind {
        Kind::MeshPost => http1(mesh, post("/patients", Bytes::from(phi.clone()), &[])).await,
        Kind::MeshGet => http1(mesh, get("/patients/4711")).await,
        Kind::EgressClean => {
            let clean =
                r#"{"event":"page_view","path":"/pricing","duration_ms":412,"plan":"team"}"#;
            http1(
                egress,
                post("/collect", Bytes::from_static(clean.as_bytes()), &[]),
            )
            .await
        }
        Kind::EgressJson => http1(egress, post("/collect", Bytes::from(phi.clone()), &[])).await,
        Kind::EgressGzip => {
            let gz = gzip(phi.as_bytes());
            http1(
                egress,
                post("/collect", Bytes::from(gz), &[("content-encoding", "gzip")]),
            )
            .await
        }
        Kind::EgressChunked => http1_chunked(egress, "/collect", split_in_ssn(&phi)).await,
        Kind::EgressGrpc => grpc(egress, &phi).await,
    };
    // Let late bytes (a leak after a reset, audit lines) arrive before counting.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut out = Outcome::default();
    let audit: Vec<String> = world
        .a
        .audit_since(audit_before.0)
        .into_iter()
        .chain(world.b.audit_since(audit_before.1))
        .collect();
    out.audit = audit.clone();
    let is_egress = !matches!(s.kind, Kind::MeshPost | Kind::MeshGet);
    if is_egress {
        let (body, phi_bytes) = world.sink.since(sink_before);
        out.sink_body = Some(body);
        out.sink_phi = Some(phi_bytes);
    }
    match sent {
        Err(e) => {
            out.observed = "reset".into();
            out.note = format!("client saw: {e}");
        }
        Ok(r) => {
            out.observed = summary(&r);
            out.delivered = match s.kind {
                Kind::MeshPost => {
                    r.status.is_success() && world.patients.received() > patients_before
                }
                Kind::MeshGet => r.status.is_success() && r.body_has(SSN),
                Kind::EgressClean => r.status.is_success() && out.sink_body.unwrap_or(0) > 0,
                _ => r.status.is_success() && r.grpc_status.unwrap_or(0) == 0,
            };
            if !out.delivered && matches!(s.expect, Expect::Delivered) {
                out.note = format!(
                    "response: {}",
                    truncate(&String::from_utf8_lossy(&r.body), 160)
                );
            }
        }
    }
    let mtls_audited = audit
        .iter()
        .any(|l| l.contains("\"mtls\"") && l.contains("\"forwarded\""));
    let refused_audited = audit
        .iter()
        .any(|l| l.contains("\"refused\"") || l.contains("\"reset\""));
    out.ok = match s.expect {
        Expect::Delivered if is_egress => out.delivered && out.sink_phi == Some(0),
        Expect::Delivered => {
            if out.delivered && !mtls_audited {
                out.note = "delivered, but no audit line with tls mtls and action forwarded".into();
            }
            out.delivered && mtls_audited
        }
        Expect::Refused => {
            if !refused_audited && out.note.is_empty() {
                out.note = "no audit line with action refused".into();
            }
            !out.delivered && out.sink_phi == Some(0) && refused_audited
        }
    };
    if !is_egress && out.delivered {
        // Evidence that it crossed as mTLS: sidecar B counted an inbound mTLS request.
        let mtls = world.inbound_mtls_requests().await > mtls_before;
        out.observed = format!(
            "delivered ({}), {}",
            out.observed,
            if mtls { "mTLS" } else { "NOT mTLS" }
        );
        if !mtls {
            out.ok = false;
            out.note = "sidecar B counted no inbound mTLS request".into();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_ids_are_unique() {
        let s = scenarios();
        let mut ids: Vec<_> = s.iter().map(|s| s.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), s.len());
    }
}
