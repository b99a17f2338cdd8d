//! **Where PHI is refused.** Every message part passes one gate, which owns the three steps of
//! a decision: HTTP/1.1 and HTTP/2 requests and responses (head, body, trailers), gRPC calls,
//! opaque TCP streams, app TLS passed through, and connections the proxy cannot vouch for
//! (a malformed request, a stream that is not the TLS it began as, an SNI not allowed).
//!
//! 1. **Decide** — the policy table ([`crate::policy::Policy::decide`]) on the part's
//!    [`Verdict`]: PHI (or content the proxy cannot read) where it would leave the pod in
//!    plaintext is refused, or audited in audit mode; PHI elsewhere is forwarded and audited.
//! 2. **Enforce** — what the protocol stage must do ([`Enforce`]), from how far the part has
//!    gone ([`Stage`]): nothing forwarded yet → answer with the refusal (HTTP 403 JSON, gRPC
//!    trailers-only status 7) or, for a connection, reset it; part of it forwarded → reset the
//!    stream or connection; a body forwarded whole → a gRPC response's trailers are replaced
//!    by the refusal status, other trailers reset the stream.
//! 3. **Record** — `phimesh_phi_detections_total`, `phimesh_refusals_total{direction,reason}`,
//!    the inspected bytes and scan time, `phimesh_requests_total` of the exchange, and one
//!    audit line per decision: kinds, offsets and fixed labels, never a value.
//!
//! The inspector ([`crate::inspect`]) only scans and holds back; the stages ([`crate::http`],
//! [`crate::tcp`], [`crate::passthrough`], [`crate::listener`]) only carry out what the gate
//! returns. An [`Exchange`] is one HTTP request/response, gRPC call or connection; its
//! [`Gate`]s are one per flow (request, response).

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, Response, Uri};
use hyper_util::client::legacy::connect::CaptureConnection;
use phimesh_detect::{Engine, Finding, ReportMode, StreamOptions};

use crate::audit::{new_request_id, now_rfc3339, AuditEvent, AuditFinding};
use crate::context::{ConnCtx, Shared};
use crate::forward::peer_identity_of;
use crate::inspect::{BodyEnd, BodyGate, Inspector};
use crate::policy::{
    grpc_refusal_status, reason, refusal_response, Action, Flow, PathKind, Unreadable, Verdict,
};

/// How far a part has gone when its verdict is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Nothing of it has been forwarded (a head, a body read ahead, a connection before its
    /// first byte went upstream).
    Before,
    /// Part of it has been forwarded (a streaming body, a relayed connection).
    Streaming,
    /// It is the trailers of a body that was forwarded whole.
    Trailers,
}

/// What the protocol stage must do with the part.
#[derive(Debug)]
#[must_use]
pub enum Enforce {
    /// Forward it (clean, allowed, or audit mode).
    Forward,
    /// Answer with this refusal instead of forwarding anything (HTTP only).
    Answer(Response<Bytes>),
    /// Reset: the HTTP/2 stream (`RST_STREAM`), the HTTP/1.1 connection, or both sides of a
    /// relayed connection.
    Reset,
    /// Forward these trailers instead of the part's own (a gRPC response's refused trailers).
    Replace(HeaderMap),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An HTTP request/response or gRPC call: a refusal before anything went out is an answer.
    Http { grpc: bool },
    /// A connection (TCP, TLS): a refusal is a reset.
    Stream,
}

/// One exchange: an HTTP request and its response, a gRPC call, or a relayed connection.
pub struct Exchange {
    shared: Arc<Shared>,
    ctx: ConnCtx,
    protocol: &'static str,
    tls: &'static str,
    kind: Kind,
    /// Made when first asked for (a refusal, an audit line, a timeout): most requests never
    /// need one.
    request_id: OnceLock<String>,
    start: Instant,
    /// The pooled upstream connection an HTTP request went out on (set once it is sent).
    conn: OnceLock<CaptureConnection>,
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("protocol", &self.protocol)
            .field("path", &self.ctx.path)
            .field("request_id", &self.request_id)
            .finish_non_exhaustive()
    }
}

impl Exchange {
    fn new(
        shared: &Arc<Shared>,
        ctx: ConnCtx,
        protocol: &'static str,
        tls: &'static str,
        kind: Kind,
    ) -> Arc<Exchange> {
        Arc::new(Exchange {
            shared: shared.clone(),
            ctx,
            protocol,
            tls,
            kind,
            request_id: OnceLock::new(),
            start: Instant::now(),
            conn: OnceLock::new(),
        })
    }

    /// An HTTP request/response (`protocol`: `http1`, `http2`, `grpc`).
    pub fn http(
        shared: &Arc<Shared>,
        ctx: ConnCtx,
        protocol: &'static str,
        grpc: bool,
    ) -> Arc<Exchange> {
        let tls = ctx.path.tls_label();
        Exchange::new(shared, ctx, protocol, tls, Kind::Http { grpc })
    }

    /// A relayed or refused connection (`protocol`: `tcp`, what it looked like: `http1`,
    /// `tls`).
    pub fn stream(shared: &Arc<Shared>, ctx: ConnCtx, protocol: &'static str) -> Arc<Exchange> {
        let tls = ctx.path.tls_label();
        Exchange::new(shared, ctx, protocol, tls, Kind::Stream)
    }

    /// App TLS the proxy passes through without terminating it (`protocol="tls",tls="app"`).
    pub fn app_tls(shared: &Arc<Shared>, ctx: ConnCtx) -> Arc<Exchange> {
        Exchange::new(shared, ctx, "tls", "app", Kind::Stream)
    }

    /// The connection context.
    pub fn ctx(&self) -> &ConnCtx {
        &self.ctx
    }

    /// The id in refusal bodies and audit lines.
    pub fn request_id(&self) -> &str {
        self.request_id.get_or_init(new_request_id)
    }

    /// Whether this is a gRPC call.
    pub fn grpc(&self) -> bool {
        self.kind == Kind::Http { grpc: true }
    }

    /// The pooled upstream connection the request went out on, for the peer identity of the
    /// audit lines recorded after that.
    pub fn capture(&self, conn: CaptureConnection) {
        let _ = self.conn.set(conn);
    }

    /// The gate of one flow.
    pub fn gate(self: &Arc<Self>, flow: Flow) -> Gate {
        Gate {
            ex: self.clone(),
            flow,
            reset: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Records how the exchange ended (`forwarded`, `refused`, `reset`, `error`):
    /// `phimesh_requests_total`, and for HTTP the time from its start to the response head.
    pub fn finish(&self, action: &'static str) {
        let dir = self.ctx.path.direction().as_str();
        let m = &self.shared.metrics;
        m.request([dir, self.protocol, self.tls, action]).inc();
        if let Kind::Http { .. } = self.kind {
            m.request_duration([dir, self.protocol])
                .observe(self.start.elapsed().as_secs_f64());
        }
    }

    /// The connection context of an audit line: on an outbound mesh path the peer identity is
    /// that of the pooled mTLS connection the request actually went out on.
    fn audit_ctx(&self) -> Cow<'_, ConnCtx> {
        if self.ctx.path != PathKind::MeshOutbound || self.ctx.peer_identity.is_some() {
            return Cow::Borrowed(&self.ctx);
        }
        let id = self
            .conn
            .get()
            .and_then(|c| c.connection_metadata().as_ref().and_then(peer_identity_of));
        match id {
            Some(id) => {
                let mut c = self.ctx.clone();
                c.peer_identity = Some(id.into());
                Cow::Owned(c)
            }
            None => Cow::Borrowed(&self.ctx),
        }
    }
}

/// A decision taken, not yet enforced and recorded (a request head's, recorded once the
/// upstream connection, hence the peer, is known).
#[derive(Debug)]
#[must_use]
pub struct Decision {
    action: Action,
    verdict: Verdict,
    findings: Vec<Finding>,
    part: &'static str,
}

impl Decision {
    /// Whether the part is refused (not forwarded as it is).
    pub fn refuses(&self) -> bool {
        self.action == Action::Refused
    }
}

/// The gate of one flow of an [`Exchange`]. Clones share the exchange and the reset flag.
#[derive(Debug, Clone)]
pub struct Gate {
    ex: Arc<Exchange>,
    flow: Flow,
    reset: Arc<AtomicBool>,
}

impl Gate {
    fn shared(&self) -> &Shared {
        &self.ex.shared
    }

    /// The exchange.
    pub fn exchange(&self) -> &Arc<Exchange> {
        &self.ex
    }

    /// The engine that scans this flow: `None` where inspection is off or left to the mesh
    /// peer that sent it.
    pub fn engine(&self) -> Option<&Engine> {
        self.shared().engine_for(self.ex.ctx.path, self.flow)
    }

    /// The inspector of this flow's body or stream, holding bytes back where the policy can
    /// refuse them. `inspect == false`: bytes pass untouched (app TLS inside a mesh tunnel).
    ///
    /// The scan does what the decision needs and no more: where PHI is refused, the first
    /// finding decides (the refusal and its audit line name the kinds found until then, and
    /// nothing more is released or scanned); elsewhere the audit line names the kinds found,
    /// with the first finding of each.
    pub fn inspector(&self, opts: Result<StreamOptions, Verdict>, inspect: bool) -> Inspector {
        let sh = self.shared();
        let hold = sh.policy.holds_back(self.ex.ctx.path, self.flow);
        let engine = self.engine().filter(|_| inspect);
        let report = if hold {
            ReportMode::First
        } else {
            ReportMode::Kinds
        };
        let opts = opts.map(|o| StreamOptions { report, ..o });
        Inspector::new(engine, opts, hold, sh.max_held())
    }

    /// Scans header fields (a head with its method and target, or trailers); `None` where this
    /// flow is not scanned.
    pub fn scan_fields(
        &self,
        method: Option<&http::Method>,
        target: Option<&Uri>,
        fields: &HeaderMap,
    ) -> Option<Inspector> {
        let insp = crate::inspect::scan_fields(self.engine()?, method, target, fields);
        self.shared()
            .metrics
            .inspection_duration
            .observe(insp.scan_time().as_secs_f64());
        Some(insp)
    }

    /// Whether this gate reset its part (the stage then reports a reset, not an error).
    pub fn was_reset(&self) -> bool {
        self.reset.load(Ordering::Acquire)
    }

    /// Step 1: the policy's decision on a part's verdict. `None`: nothing to decide or record.
    pub fn decide(&self, part: &'static str, insp: &Inspector) -> Option<Decision> {
        let verdict = insp.verdict();
        let action = self
            .shared()
            .policy
            .decide(self.ex.ctx.path, self.flow, verdict)?;
        Some(Decision {
            action,
            verdict,
            findings: insp.findings(),
            part,
        })
    }

    /// Steps 2 and 3: what the stage must do with a decided part at `stage`, recorded.
    pub fn enforce(&self, d: Decision, stage: Stage) -> Enforce {
        let grpc_response = self.ex.grpc() && self.flow == Flow::Response;
        let (action, enforce) = match (d.action, stage) {
            (Action::Refused, Stage::Before) => match self.ex.kind {
                Kind::Http { grpc } => {
                    let kinds = distinct_kinds(&d.findings);
                    let r = refusal_response(d.verdict, &kinds, self.ex.request_id(), grpc);
                    (Action::Refused, Enforce::Answer(r))
                }
                Kind::Stream => (Action::Refused, Enforce::Reset),
            },
            (Action::Refused, Stage::Trailers) if grpc_response => (
                Action::Refused,
                Enforce::Replace(grpc_refusal_status(d.verdict, self.ex.request_id())),
            ),
            (Action::Refused, _) => (Action::Reset, Enforce::Reset),
            (a, _) => (a, Enforce::Forward),
        };
        if matches!(enforce, Enforce::Reset) {
            self.reset.store(true, Ordering::Release);
        }
        self.record(d.verdict, &d.findings, d.part, action);
        enforce
    }

    /// [`decide`](Self::decide), then [`enforce`](Self::enforce).
    pub fn check(&self, stage: Stage, part: &'static str, insp: &Inspector) -> Enforce {
        match self.decide(part, insp) {
            Some(d) => self.enforce(d, stage),
            None => Enforce::Forward,
        }
    }

    /// A decision on a whole connection the proxy cannot vouch for (`verdict`: malformed, not
    /// TLS, SNI not allowed): judged by the flow of the path that refuses PHI, if either does
    /// ([`Policy::decide_connection`](crate::policy::Policy::decide_connection)), recorded
    /// under this gate's flow. `Reset` means cut both sides.
    pub fn connection(&self, stage: Stage, verdict: Verdict) -> Enforce {
        let Some(action) = self
            .shared()
            .policy
            .decide_connection(self.ex.ctx.path, verdict)
        else {
            return Enforce::Forward;
        };
        let d = Decision {
            action,
            verdict,
            findings: Vec::new(),
            part: "connection",
        };
        let e = self.enforce(d, stage);
        if stage == Stage::Before && matches!(e, Enforce::Reset) {
            self.ex.finish("refused");
        }
        e
    }

    /// A message its protocol parser rejected (hyper answered 400/414/431 or closed): nothing
    /// of it was forwarded whatever the mode, so where the path refuses PHI it is recorded as
    /// refused with `reason`.
    pub fn rejected(&self, reason: Unreadable) {
        let path = self.ex.ctx.path;
        if path.refuses(Flow::Request) || path.refuses(Flow::Response) {
            self.record(reason.into(), &[], "connection", Action::Refused);
            self.ex.finish("refused");
        }
    }

    /// Records the inspected bytes and scan time of a finished body or stream.
    pub fn scanned(&self, insp: &Inspector) {
        if insp.is_active() {
            let m = &self.shared().metrics;
            m.inspected_bytes(self.ex.ctx.path.direction().as_str())
                .inc_by(insp.fed());
            m.inspection_duration
                .observe(insp.scan_time().as_secs_f64());
        }
    }

    /// Metrics and one audit line for a decision. `part` says where the findings are (`head`,
    /// `body`, `trailers`, `stream`, `connection`).
    fn record(&self, verdict: Verdict, findings: &[Finding], part: &'static str, action: Action) {
        let sh = self.shared();
        let ctx = self.ex.audit_ctx();
        let direction = ctx.path.direction().as_str();
        let kinds = distinct_kinds(findings);
        for k in &kinds {
            sh.metrics
                .phi_detections
                .with_label_values(&[direction, k, action.as_str()])
                .inc();
        }
        if matches!(action, Action::Refused | Action::Reset) {
            sh.metrics
                .refusals
                .with_label_values(&[direction, reason(verdict)])
                .inc();
        }
        sh.audit.emit(&AuditEvent {
            time: now_rfc3339(),
            event: "phi_decision",
            direction,
            flow: self.flow.as_str(),
            source: ctx.source,
            destination: ctx.destination,
            peer_identity: ctx.peer_identity.as_deref(),
            protocol: self.ex.protocol,
            tls: self.ex.tls,
            kinds,
            findings: findings
                .iter()
                .map(|f| AuditFinding::new(part, f))
                .collect(),
            action: action.as_str(),
            reason: reason(verdict),
            request_id: self.ex.request_id(),
        });
    }
}

fn distinct_kinds(findings: &[Finding]) -> Vec<&'static str> {
    let mut kinds: Vec<&'static str> = findings.iter().map(|f| f.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds
}

/// The gate of an HTTP body: what [`crate::inspect::InspectBody`] asks when its verdict turns
/// or it ends, and before its trailers go out.
impl BodyGate for Gate {
    fn body(&self, insp: &Inspector, end: BodyEnd) -> Enforce {
        self.scanned(insp);
        match end {
            // The body failed on its own: nothing to decide.
            BodyEnd::Failed => Enforce::Forward,
            // Bytes already went out (or the body went away): a refusal is a reset.
            BodyEnd::Stopped | BodyEnd::Complete | BodyEnd::Dropped => {
                self.check(Stage::Streaming, "body", insp)
            }
        }
    }

    fn trailers(&self, trailers: &HeaderMap) -> Enforce {
        match self.scan_fields(None, None, trailers) {
            Some(insp) => self.check(Stage::Trailers, "trailers", &insp),
            None => Enforce::Forward,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use crate::audit::AuditSink;
    use crate::config::{Mode, ProxyConfig};
    use crate::drain::Drain;
    use crate::forward::{Clients, Dialer};
    use crate::metrics::Metrics;
    use crate::policy::Policy;

    const PHI: &[u8] = b"{\"patient\":{\"name\":\"Jane Roe\",\"ssn\":\"123-45-6789\"}}";

    fn shared(mode: Mode) -> (Arc<Shared>, Arc<Mutex<Vec<String>>>) {
        let (audit, lines) = AuditSink::memory();
        let cfg = Arc::new(ProxyConfig {
            mode,
            audit: audit.clone(),
            ..ProxyConfig::default()
        });
        let metrics = Metrics::new();
        let mesh = crate::discovery::MeshMap::new(std::time::Duration::ZERO);
        let dialer = Dialer::new(cfg.clone(), None, metrics.clone(), mesh);
        let clients = Clients::new(dialer.clone(), cfg.bounds.max_header_bytes);
        let shared = Shared {
            policy: Policy {
                mode,
                mesh_inspection: cfg.mesh_inspection,
            },
            engine: Some(Engine::new().unwrap()),
            metrics,
            audit,
            tls: None,
            dialer,
            clients,
            drain: Drain::default(),
            bound: AtomicBool::new(false),
            cfg,
        };
        (Arc::new(shared), lines)
    }

    fn ctx(path: PathKind) -> ConnCtx {
        ConnCtx::new(
            path,
            "127.0.0.1:1000".parse().unwrap(),
            "127.0.0.1:2000".parse().unwrap(),
        )
    }

    /// An inspector of `gate`'s flow that has read `bytes` whole.
    fn scanned(gate: &Gate, bytes: &'static [u8]) -> Inspector {
        let mut i = Inspector::new(gate.engine(), Ok(StreamOptions::default()), false, 1 << 20);
        let mut out = VecDeque::new();
        i.push(Bytes::from_static(bytes), &mut out);
        i.finish(&mut out);
        i
    }

    fn last_audit(lines: &Mutex<Vec<String>>) -> serde_json::Value {
        serde_json::from_str(lines.lock().unwrap().last().expect("an audit line")).unwrap()
    }

    /// Chunks of a body: clean, then PHI, then clean again, and a card number at the end.
    fn phi_body() -> Vec<Bytes> {
        let clean = Bytes::from("{\"ts\":1700000000,\"order\":42}\n".repeat(200));
        let mut v = vec![clean.clone(), Bytes::from_static(PHI)];
        v.extend(std::iter::repeat_n(clean, 50));
        v.push(Bytes::from_static(b"card 4539 5787 6362 1486 exp 12/29\n"));
        v
    }

    #[tokio::test]
    async fn where_phi_is_refused_the_first_finding_decides_and_nothing_of_it_leaves() {
        let (sh, lines) = shared(Mode::Enforce);
        let ex = Exchange::http(&sh, ctx(PathKind::Egress), "http1", false);
        let req = ex.gate(Flow::Request);
        let mut insp = req.inspector(Ok(StreamOptions::default()), true);
        assert!(insp.holds_back());
        let body = phi_body();
        let phi_at = body[0].len() as u64;
        let mut out = VecDeque::new();
        let mut verdicts = Vec::new();
        for b in body {
            verdicts.push(insp.push(b, &mut out));
        }
        assert_eq!(verdicts[0], Verdict::Clean);
        assert!(verdicts[1..].iter().all(|v| *v == Verdict::Phi));
        let released: u64 = out.iter().map(|b| b.len() as u64).sum();
        assert!(
            released <= phi_at,
            "released {released} of a value at {phi_at}"
        );
        assert_eq!(insp.finish(&mut out), Verdict::Phi);
        let kinds: Vec<_> = insp.findings().iter().map(|f| f.kind.as_str()).collect();
        assert!(kinds.contains(&"ssn"), "{kinds:?}");
        assert!(
            !kinds.contains(&"credit_card"),
            "it stopped reading: {kinds:?}"
        );
        match req.check(Stage::Before, "body", &insp) {
            Enforce::Answer(r) => assert_eq!(r.status(), 403),
            e => panic!("{e:?}"),
        }
        assert_eq!(last_audit(&lines)["action"], "refused");

        // Where PHI goes on, audited: every kind, the first finding of each.
        let resp = ex.gate(Flow::Response);
        let mut insp = resp.inspector(Ok(StreamOptions::default()), true);
        assert!(!insp.holds_back());
        for b in phi_body() {
            insp.push(b, &mut out);
        }
        insp.finish(&mut out);
        assert!(matches!(
            resp.check(Stage::Streaming, "body", &insp),
            Enforce::Forward
        ));
        let a = last_audit(&lines);
        assert_eq!(a["action"], "forwarded");
        let kinds = a["kinds"].as_array().unwrap();
        assert!(kinds.iter().any(|k| k == "credit_card"), "{a}");
        assert!(kinds.iter().any(|k| k == "ssn"), "{a}");
        assert_eq!(a["findings"].as_array().unwrap().len(), kinds.len(), "{a}");
    }

    #[tokio::test]
    async fn refused_where_phi_would_leave_in_plaintext_by_how_far_it_went() {
        let (sh, lines) = shared(Mode::Enforce);
        let ex = Exchange::http(&sh, ctx(PathKind::Egress), "http1", false);
        let req = ex.gate(Flow::Request);
        let insp = scanned(&req, PHI);
        // Nothing forwarded: the 403 answer.
        match req.check(Stage::Before, "body", &insp) {
            Enforce::Answer(r) => assert_eq!(r.status(), 403),
            e => panic!("{e:?}"),
        }
        assert_eq!(last_audit(&lines)["action"], "refused");
        assert!(!req.was_reset());
        // Part forwarded: a reset.
        assert!(matches!(
            req.check(Stage::Streaming, "body", &insp),
            Enforce::Reset
        ));
        assert!(req.was_reset());
        assert_eq!(last_audit(&lines)["action"], "reset");
        // Request trailers: a reset.
        assert!(matches!(
            req.check(Stage::Trailers, "trailers", &insp),
            Enforce::Reset
        ));
        // The response of plaintext egress goes through, audited.
        let resp = ex.gate(Flow::Response);
        let insp = scanned(&resp, PHI);
        assert!(matches!(
            resp.check(Stage::Before, "body", &insp),
            Enforce::Forward
        ));
        assert_eq!(last_audit(&lines)["action"], "forwarded");
        assert_eq!(last_audit(&lines)["flow"], "response");
        let m = sh.metrics.render();
        assert!(
            m.contains(r#"phimesh_refusals_total{direction="outbound",reason="phi"} 3"#),
            "{m}"
        );
        let text = lines.lock().unwrap().join("\n");
        assert!(!text.contains("123-45-6789") && !text.contains("Jane"));
    }

    #[tokio::test]
    async fn grpc_answers_with_status_7_and_replaces_response_trailers() {
        let (sh, lines) = shared(Mode::Enforce);
        let ex = Exchange::http(&sh, ctx(PathKind::PlainInbound), "grpc", true);
        let resp = ex.gate(Flow::Response);
        let insp = scanned(&resp, PHI);
        match resp.check(Stage::Before, "head", &insp) {
            Enforce::Answer(r) => {
                assert_eq!(r.status(), 200);
                assert_eq!(r.headers()["grpc-status"], "7");
            }
            e => panic!("{e:?}"),
        }
        match resp.check(Stage::Trailers, "trailers", &insp) {
            Enforce::Replace(t) => {
                assert_eq!(t["grpc-status"], "7");
                assert_eq!(t["x-phimesh-request-id"], ex.request_id());
            }
            e => panic!("{e:?}"),
        }
        assert_eq!(last_audit(&lines)["action"], "refused");
        // An HTTP (not gRPC) response's trailers are reset instead.
        let ex = Exchange::http(&sh, ctx(PathKind::PlainInbound), "http2", false);
        let resp = ex.gate(Flow::Response);
        let insp = scanned(&resp, PHI);
        assert!(matches!(
            resp.check(Stage::Trailers, "trailers", &insp),
            Enforce::Reset
        ));
        assert_eq!(last_audit(&lines)["action"], "reset");
    }

    #[tokio::test]
    async fn mesh_paths_and_audit_mode_forward_and_record() {
        let (sh, lines) = shared(Mode::Enforce);
        let ex = Exchange::http(&sh, ctx(PathKind::MeshOutbound), "http1", false);
        let req = ex.gate(Flow::Request);
        let insp = scanned(&req, PHI);
        assert!(matches!(
            req.check(Stage::Before, "body", &insp),
            Enforce::Forward
        ));
        assert_eq!(last_audit(&lines)["action"], "forwarded");
        assert_eq!(last_audit(&lines)["tls"], "mtls");
        // A connection the proxy cannot vouch for is not refused on a mesh path.
        let ex = Exchange::stream(&sh, ctx(PathKind::MeshOutbound), "tls");
        let n = lines.lock().unwrap().len();
        let e = ex
            .gate(Flow::Request)
            .connection(Stage::Before, Unreadable::NotTls.into());
        assert!(matches!(e, Enforce::Forward));
        assert_eq!(lines.lock().unwrap().len(), n, "nothing recorded");

        let (sh, lines) = shared(Mode::Audit);
        let ex = Exchange::http(&sh, ctx(PathKind::Egress), "http1", false);
        let req = ex.gate(Flow::Request);
        let insp = scanned(&req, PHI);
        assert!(matches!(
            req.check(Stage::Before, "body", &insp),
            Enforce::Forward
        ));
        assert_eq!(last_audit(&lines)["action"], "audited");
        let ex = Exchange::stream(&sh, ctx(PathKind::Egress), "tls");
        let e = ex
            .gate(Flow::Request)
            .connection(Stage::Streaming, Unreadable::NotTls.into());
        assert!(matches!(e, Enforce::Forward));
        assert_eq!(last_audit(&lines)["action"], "audited");
        assert_eq!(last_audit(&lines)["reason"], "not_tls");
        assert!(!sh.metrics.render().contains("phimesh_refusals_total{"));
        // The SNI allowlist and a parser's rejection hold in audit mode too.
        let ex = Exchange::app_tls(&sh, ctx(PathKind::Egress));
        let e = ex
            .gate(Flow::Request)
            .connection(Stage::Before, Verdict::SniNotAllowed);
        assert!(matches!(e, Enforce::Reset));
        let a = last_audit(&lines);
        assert_eq!(
            (a["action"].as_str(), a["tls"].as_str()),
            (Some("refused"), Some("app"))
        );
        Exchange::stream(&sh, ctx(PathKind::Egress), "http1")
            .gate(Flow::Request)
            .rejected(Unreadable::Malformed);
        assert_eq!(last_audit(&lines)["reason"], "malformed");
        assert_eq!(last_audit(&lines)["action"], "refused");
        let m = sh.metrics.render();
        assert!(
            m.contains(r#"phimesh_requests_total{action="refused",direction="outbound",protocol="http1",tls="none"} 1"#),
            "{m}"
        );
    }

    #[tokio::test]
    async fn connections_that_are_not_what_they_began_as_are_reset_where_phi_is_refused() {
        let (sh, lines) = shared(Mode::Enforce);
        for (path, flow) in [
            (PathKind::Egress, Flow::Request),
            (PathKind::Egress, Flow::Response),
            (PathKind::PlainInbound, Flow::Request),
        ] {
            let ex = Exchange::app_tls(&sh, ctx(path));
            let e = ex
                .gate(flow)
                .connection(Stage::Streaming, Unreadable::NotTls.into());
            assert!(matches!(e, Enforce::Reset), "{path:?} {flow:?}");
            let a = last_audit(&lines);
            assert_eq!(a["action"], "reset");
            assert_eq!(a["flow"], flow.as_str());
        }
        let ex = Exchange::stream(&sh, ctx(PathKind::Egress), "http1");
        let e = ex
            .gate(Flow::Request)
            .connection(Stage::Before, Unreadable::Malformed.into());
        assert!(matches!(e, Enforce::Reset));
        assert_eq!(last_audit(&lines)["action"], "refused");
        let m = sh.metrics.render();
        assert!(
            m.contains(r#"phimesh_refusals_total{direction="outbound",reason="not_tls"} 2"#),
            "{m}"
        );
        assert!(
            m.contains(r#"phimesh_refusals_total{direction="inbound",reason="not_tls"} 1"#),
            "{m}"
        );
    }
}
