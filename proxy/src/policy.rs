//! The policy table (docs/architecture.md), in one place: which path refuses PHI, what the
//! refusal looks like (HTTP 403 JSON, gRPC status 7, TCP reset), and the SNI allowlist of app
//! TLS egress.
//! This module *decides*; [`crate::gate`] is where each message part's decision is taken,
//! enforced and recorded.
//!
//! | path | PHI in request | PHI in response |
//! | --- | --- | --- |
//! | outbound to a mesh peer (mTLS) | forwarded, audited | forwarded, audited |
//! | outbound egress (plaintext, non-mesh) | **refused** | forwarded, audited |
//! | inbound over mTLS | forwarded, audited | forwarded, audited |
//! | inbound plaintext (permissive) | forwarded, audited | **refused** |
//! | app TLS to an external host | not inspectable: passed through while verifiably TLS (SNI allowlist) | same |
//!
//! "PHI in request/response" covers the target, header values, the body and the trailers (gRPC
//! status and trailing metadata). Trailers arrive after the body was forwarded: refused trailers
//! of a gRPC response are replaced by `grpc-status: 7` ([`grpc_refusal_status`]); other refused
//! trailers reset the stream ([`crate::gate::Stage::Trailers`]).
//!
//! Content that cannot be inspected where PHI would be refused is refused with its own reason:
//! the engine's ([`phimesh_detect::Uninspectable`]) or the proxy's ([`Unreadable`]:
//! `uninspectable`, `malformed`, `not_tls`, `ambiguous`). A connection the proxy cannot vouch
//! for (not the TLS it began as, a malformed request) is judged by the flow of its path that
//! refuses PHI ([`Policy::decide_connection`]). With `--mode audit` nothing is refused: the
//! decision is audited as `audited` (the SNI allowlist, configuration, holds in both modes).

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use phimesh_detect::Uninspectable;

use crate::config::{MeshInspection, Mode};

/// Which listener a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the app to somewhere else.
    Outbound,
    /// From somewhere else to the app.
    Inbound,
}

impl Direction {
    /// Metric / audit label.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Outbound => "outbound",
            Direction::Inbound => "inbound",
        }
    }
}

/// Which message of an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Client to server.
    Request,
    /// Server to client.
    Response,
}

impl Flow {
    /// Audit label.
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Request => "request",
            Flow::Response => "response",
        }
    }
}

/// The kind of path a connection takes, which decides the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// Outbound to a mesh peer over mTLS.
    MeshOutbound,
    /// Outbound plaintext to a non-mesh destination.
    Egress,
    /// Inbound over mTLS from a verified mesh peer.
    MeshInbound,
    /// Inbound plaintext (or TLS without a client certificate) in permissive mode.
    PlainInbound,
}

impl PathKind {
    /// Listener direction of this path.
    pub fn direction(self) -> Direction {
        match self {
            PathKind::MeshOutbound | PathKind::Egress => Direction::Outbound,
            PathKind::MeshInbound | PathKind::PlainInbound => Direction::Inbound,
        }
    }

    /// `tls` label: what protects the bytes on the network side.
    pub fn tls_label(self) -> &'static str {
        match self {
            PathKind::MeshOutbound | PathKind::MeshInbound => "mtls",
            PathKind::Egress | PathKind::PlainInbound => "none",
        }
    }

    /// Whether PHI in `flow` would leave the pod in plaintext on this path (the table above).
    pub fn refuses(self, flow: Flow) -> bool {
        matches!(
            (self, flow),
            (PathKind::Egress, Flow::Request) | (PathKind::PlainInbound, Flow::Response)
        )
    }
}

/// What was done about a message part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Forwarded (clean, or PHI on a path that allows it).
    Forwarded,
    /// Refused before any of it reached the destination.
    Refused,
    /// Refused after part of it had been forwarded: the stream or connection was reset.
    Reset,
    /// Audit mode: would have been refused, forwarded instead.
    Audited,
}

impl Action {
    /// Metric / audit label.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Forwarded => "forwarded",
            Action::Refused => "refused",
            Action::Reset => "reset",
            Action::Audited => "audited",
        }
    }
}

/// Why the proxy itself cannot vouch for a message part: it could not parse, frame or decode
/// it within bounds. Where PHI would be refused, such a part is refused with this reason (never
/// forwarded in a less-inspected mode); elsewhere it is forwarded as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unreadable {
    /// Content in a coding the scanner cannot undo: a chain of content codings, a transfer
    /// coding other than `chunked`.
    Uninspectable,
    /// Began like an HTTP request but is not one: a malformed or over-long request line or
    /// head, or one that stalled or was cut before it was complete.
    Malformed,
    /// Began like TLS (or was passed through as app TLS) but its records or handshake are not
    /// TLS.
    NotTls,
    /// Header fields that recipients may read differently: repeated or conflicting
    /// `content-type`, repeated `content-encoding` lines that disagree, repeated
    /// `grpc-encoding`.
    Ambiguous,
}

impl Unreadable {
    /// Metric / audit label.
    pub fn as_str(self) -> &'static str {
        match self {
            Unreadable::Uninspectable => "uninspectable",
            Unreadable::Malformed => "malformed",
            Unreadable::NotTls => "not_tls",
            Unreadable::Ambiguous => "ambiguous",
        }
    }
}

/// What is known about a message part: the engine's verdict on its content, or the proxy's
/// own reason to refuse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No PHI found (so far).
    Clean,
    /// PHI.
    Phi,
    /// The engine could not inspect the content within bounds.
    Uninspectable(Uninspectable),
    /// The proxy could not parse, frame or decode the part.
    Unreadable(Unreadable),
    /// App TLS to a host the SNI allowlist does not name.
    SniNotAllowed,
}

impl From<phimesh_detect::Verdict> for Verdict {
    fn from(v: phimesh_detect::Verdict) -> Self {
        match v {
            phimesh_detect::Verdict::Clean => Verdict::Clean,
            phimesh_detect::Verdict::Phi => Verdict::Phi,
            phimesh_detect::Verdict::Uninspectable(u) => Verdict::Uninspectable(u),
        }
    }
}

impl From<Unreadable> for Verdict {
    fn from(u: Unreadable) -> Self {
        Verdict::Unreadable(u)
    }
}

/// The policy of one running proxy.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Enforce or audit.
    pub mode: Mode,
    /// Which end of a mesh hop scans.
    pub mesh_inspection: MeshInspection,
}

impl Policy {
    /// Whether `flow` on `path` is scanned here. Everything is, except, with
    /// `--mesh-inspection sender`, what arrives from a mesh peer over mTLS (the request on the
    /// inbound side, the response on the outbound side): the sending sidecar scanned and audited
    /// it before encrypting it.
    pub fn inspects(&self, path: PathKind, flow: Flow) -> bool {
        self.mesh_inspection == MeshInspection::Both
            || !matches!(
                (path, flow),
                (PathKind::MeshInbound, Flow::Request) | (PathKind::MeshOutbound, Flow::Response)
            )
    }

    /// Whether the inspector of `flow` on `path` must hold bytes back (refusal possible).
    pub fn holds_back(&self, path: PathKind, flow: Flow) -> bool {
        self.mode == Mode::Enforce && path.refuses(flow)
    }

    /// The decision for a verdict reached *before* anything of the part was forwarded.
    /// `None` when there is nothing to decide (clean, or uninspectable where nothing is refused).
    pub fn decide(&self, path: PathKind, flow: Flow, verdict: Verdict) -> Option<Action> {
        let refusing = path.refuses(flow);
        match verdict {
            Verdict::Clean => None,
            // The allowlist is configuration, enforced in both modes.
            Verdict::SniNotAllowed => Some(Action::Refused),
            Verdict::Uninspectable(_) | Verdict::Unreadable(_) if !refusing => None,
            Verdict::Phi if !refusing => Some(Action::Forwarded),
            _ if self.mode == Mode::Audit => Some(Action::Audited),
            _ => Some(Action::Refused),
        }
    }
}

impl Policy {
    /// The decision on a whole connection the proxy cannot vouch for (not TLS, malformed):
    /// judged as the flow of the path that refuses PHI, if either does (plaintext egress: the
    /// request; plaintext inbound: the response). `None` on mesh paths.
    pub fn decide_connection(&self, path: PathKind, verdict: Verdict) -> Option<Action> {
        let flow = if path.refuses(Flow::Request) {
            Flow::Request
        } else {
            Flow::Response
        };
        self.decide(path, flow, verdict)
    }
}

/// Bounded reason label of a verdict: `phi`, the engine's uninspectable reason, the proxy's
/// own ([`Unreadable`]) or `sni_not_allowed`.
pub fn reason(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Phi => "phi",
        Verdict::Uninspectable(u) => u.as_str(),
        Verdict::Unreadable(u) => u.as_str(),
        Verdict::SniNotAllowed => "sni_not_allowed",
        Verdict::Clean => "clean",
    }
}

/// The response that refuses a request (or replaces a response): HTTP 403 with
/// `{"error":"phi_refused","kinds":[...],"request_id":"..."}` (or
/// `{"error":"uninspectable","reason":...}`), or for gRPC a trailers-only response with
/// `grpc-status: 7` (PERMISSION_DENIED).
pub fn refusal_response(
    verdict: Verdict,
    kinds: &[&'static str],
    request_id: &str,
    grpc: bool,
) -> Response<Bytes> {
    let (error, _) = refusal_text(verdict);
    if grpc {
        let mut r = Response::new(Bytes::new());
        *r.status_mut() = StatusCode::OK;
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        h.extend(grpc_refusal_status(verdict, request_id));
        return r;
    }
    let body = match verdict {
        Verdict::Phi | Verdict::Clean => {
            serde_json::json!({ "error": error, "kinds": kinds, "request_id": request_id })
        }
        _ => serde_json::json!({
            "error": error, "reason": reason(verdict), "request_id": request_id,
        }),
    };
    let mut r = Response::new(Bytes::from(body.to_string()));
    *r.status_mut() = StatusCode::FORBIDDEN;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The gRPC status fields of a refusal: `grpc-status: 7` (PERMISSION_DENIED), a fixed
/// `grpc-message` and `x-phimesh-request-id`. Sent as the headers of a trailers-only response,
/// or as the replacement trailers of a response whose own trailers carried PHI.
pub fn grpc_refusal_status(verdict: Verdict, request_id: &str) -> HeaderMap {
    let (error, message) = refusal_text(verdict);
    let mut h = HeaderMap::new();
    h.insert("grpc-status", HeaderValue::from_static("7"));
    if let Ok(v) = HeaderValue::from_str(&format!("{error}: {message}")) {
        h.insert("grpc-message", v);
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-phimesh-request-id", v);
    }
    h
}

fn refusal_text(verdict: Verdict) -> (&'static str, &'static str) {
    match verdict {
        Verdict::Phi | Verdict::Clean => ("phi_refused", "PHI may not leave the pod in plaintext"),
        Verdict::SniNotAllowed => ("sni_not_allowed", "TLS to this host is not allowed"),
        _ => ("uninspectable", "content cannot be inspected for PHI"),
    }
}

/// Whether app TLS to an external host with this SNI may pass (`None` list: any).
pub fn sni_allowed(allow: Option<&[String]>, sni: Option<&str>) -> bool {
    match allow {
        None => true,
        Some(list) => sni.is_some_and(|s| {
            list.iter().any(|a| {
                let a = a.to_ascii_lowercase();
                match a.strip_prefix("*.") {
                    Some(suffix) => {
                        s.len() > suffix.len() + 1 && s.ends_with(&format!(".{suffix}"))
                    }
                    None => s == a,
                }
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let enforce = Policy {
            mode: Mode::Enforce,
            mesh_inspection: MeshInspection::Sender,
        };
        let audit = Policy {
            mode: Mode::Audit,
            ..enforce
        };
        use Flow::*;
        use PathKind::*;
        assert_eq!(
            enforce.decide(Egress, Request, Verdict::Phi),
            Some(Action::Refused)
        );
        assert_eq!(
            enforce.decide(Egress, Response, Verdict::Phi),
            Some(Action::Forwarded)
        );
        assert_eq!(
            enforce.decide(MeshOutbound, Request, Verdict::Phi),
            Some(Action::Forwarded)
        );
        assert_eq!(
            enforce.decide(MeshInbound, Response, Verdict::Phi),
            Some(Action::Forwarded)
        );
        assert_eq!(
            enforce.decide(PlainInbound, Response, Verdict::Phi),
            Some(Action::Refused)
        );
        assert_eq!(
            enforce.decide(PlainInbound, Request, Verdict::Phi),
            Some(Action::Forwarded)
        );
        let u = Verdict::Uninspectable(Uninspectable::CompressionRatio);
        assert_eq!(enforce.decide(Egress, Request, u), Some(Action::Refused));
        assert_eq!(enforce.decide(MeshOutbound, Request, u), None);
        assert_eq!(
            audit.decide(Egress, Request, Verdict::Phi),
            Some(Action::Audited)
        );
        assert_eq!(enforce.decide(Egress, Request, Verdict::Clean), None);
        assert!(enforce.holds_back(Egress, Request));
        assert!(!audit.holds_back(Egress, Request));
        assert!(!enforce.holds_back(MeshOutbound, Request));
    }

    #[test]
    fn which_end_scans() {
        use Flow::*;
        use PathKind::*;
        let sender = Policy {
            mode: Mode::Enforce,
            mesh_inspection: MeshInspection::Sender,
        };
        let both = Policy {
            mesh_inspection: MeshInspection::Both,
            ..sender
        };
        // What a mesh peer sent was scanned there.
        assert!(!sender.inspects(MeshInbound, Request));
        assert!(!sender.inspects(MeshOutbound, Response));
        // What this sidecar sends, and everything that is not mesh mTLS, is scanned here.
        for (path, flow) in [
            (MeshOutbound, Request),
            (MeshInbound, Response),
            (Egress, Request),
            (Egress, Response),
            (PlainInbound, Request),
            (PlainInbound, Response),
        ] {
            assert!(sender.inspects(path, flow), "{path:?} {flow:?}");
        }
        for path in [MeshOutbound, MeshInbound, Egress, PlainInbound] {
            for flow in [Request, Response] {
                assert!(both.inspects(path, flow), "{path:?} {flow:?}");
            }
        }
    }

    #[test]
    fn refusal_bodies() {
        let r = refusal_response(Verdict::Phi, &["ssn"], "abc", false);
        assert_eq!(r.status(), 403);
        let v: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"error":"phi_refused","kinds":["ssn"],"request_id":"abc"})
        );
        let r = refusal_response(Verdict::Phi, &["ssn"], "abc", true);
        assert_eq!(r.headers()["grpc-status"], "7");
        let r = refusal_response(
            Verdict::Uninspectable(Uninspectable::CompressionRatio),
            &[],
            "abc",
            false,
        );
        let v: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(v["reason"], "compression_ratio");
    }

    #[test]
    fn sni_list() {
        let list = vec!["api.example.com".to_string(), "*.stripe.com".to_string()];
        assert!(sni_allowed(None, None));
        assert!(sni_allowed(Some(&list), Some("api.example.com")));
        assert!(sni_allowed(Some(&list), Some("x.stripe.com")));
        assert!(!sni_allowed(Some(&list), Some("stripe.com")));
        assert!(!sni_allowed(Some(&list), None));
        assert!(!sni_allowed(Some(&list), Some("evil.com")));
    }
}
