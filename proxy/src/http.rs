//! HTTP/1.1, HTTP/2 and gRPC through hyper: serve the downstream connection, inspect each
//! request's head and body, forward through the pooled upstream client, inspect the response.
//!
//! Per request: head scan → (refusing paths) prefetch up to `inspect_buffer` of the body so early
//! PHI gets a clean 403 / gRPC 7 → stream the rest through [`InspectBody`] (hold-back; late PHI
//! resets) → the same for the response. Bodies are never buffered beyond the hold-back window
//! and the prefetch.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::{capture_connection, CaptureConnection};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use phimesh_detect::StreamOptions;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::context::{ConnCtx, Shared};
use crate::forward::peer_identity_of;
use crate::inspect::{stream_options, BodyEnd, InspectBody, InspectError, Inspector, TrailerCheck};
use crate::io::Activity;
use crate::policy::{
    grpc_refusal_status, refusal_response, Action, Flow, PathKind, Unreadable, Verdict,
};

/// Body of responses sent downstream.
pub type RespBody = UnsyncBoxBody<Bytes, InspectError>;

/// HTTP version of a downstream connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.x.
    Http1,
    /// HTTP/2.
    H2,
}

/// Serves one downstream HTTP connection until it ends, idles out or the drain completes it.
pub async fn serve<IO>(
    io: IO,
    activity: Activity,
    ctx: ConnCtx,
    version: Version,
    shared: Arc<Shared>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let ctx = Arc::new(ctx);
    let conn_ctx = ctx.clone();
    let sh = shared.clone();
    let svc = hyper::service::service_fn(move |req| {
        let ctx = ctx.clone();
        let sh = sh.clone();
        async move { handle(req, ctx, version, sh).await }
    });
    let b = &shared.cfg.bounds;
    let idle = activity.idle(b.idle_timeout);
    tokio::pin!(idle);
    let drain = shared.drain.clone();
    // Serves until the connection ends or idles out; on drain, finishes in-flight requests
    // (the hyper connection types differ, their graceful shutdown is the same call).
    // A request hyper could not parse (it answered 400/414/431 or closed) was not forwarded:
    // where PHI is refused, that is a refusal of a malformed request.
    let malformed = |r: Result<(), hyper::Error>| {
        if let Err(e) = r {
            if e.is_parse() {
                shared.refuse_connection(
                    &conn_ctx,
                    Flow::Request,
                    "http1",
                    Unreadable::Malformed.into(),
                    false,
                );
            }
        }
    };
    macro_rules! serve_until_idle_or_drained {
        ($conn:expr) => {{
            let conn = $conn;
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => return malformed(r),
                _ = &mut idle => return,
                _ = drain.signaled() => conn.as_mut().graceful_shutdown(),
            }
            tokio::select! {
                r = conn.as_mut() => malformed(r),
                _ = &mut idle => {}
            }
        }};
    }
    match version {
        Version::Http1 => {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(b.header_timeout)
                .max_buf_size(b.max_header_bytes.max(8192))
                .keep_alive(true);
            serve_until_idle_or_drained!(builder.serve_connection(TokioIo::new(io), svc));
        }
        Version::H2 => {
            let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
            builder
                .timer(TokioTimer::new())
                .max_concurrent_streams(b.max_h2_streams)
                .max_header_list_size(b.max_header_bytes as u32)
                .initial_stream_window_size(1 << 20)
                // 256 KiB DATA frames: a fifth less CPU per streamed GB than 16 KiB ones
                // (each frame is a scanner call); the windows still bound what is buffered.
                .max_frame_size(1 << 18)
                .initial_connection_window_size(4 << 20);
            serve_until_idle_or_drained!(builder.serve_connection(TokioIo::new(io), svc));
        }
    }
}

/// Whether a message is gRPC: its (first) content type is `application/grpc`,
/// `application/grpc+proto`... compared case-insensitively as media types are. A message with
/// more than one content type is refused as ambiguous where PHI is refused
/// ([`crate::inspect::content_type`]).
fn is_grpc(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| crate::inspect::media_type(v).starts_with("application/grpc"))
}

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "transfer-encoding",
    "upgrade",
];

fn strip_hop_by_hop(h: &mut HeaderMap) {
    if let Some(c) = h.get(header::CONNECTION).and_then(|v| v.to_str().ok()) {
        let named: Vec<String> = c
            .split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .collect();
        for n in named {
            if !n.is_empty() {
                h.remove(n.as_str());
            }
        }
    }
    for n in HOP_BY_HOP {
        h.remove(*n);
    }
    if h.get(header::TE)
        .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"trailers"))
    {
        h.remove(header::TE);
    }
}

fn full(b: Bytes) -> RespBody {
    Full::new(b).map_err(|e| match e {}).boxed_unsync()
}

fn protocol_label(version: Version, grpc: bool) -> &'static str {
    match (grpc, version) {
        (true, _) => "grpc",
        (false, Version::Http1) => "http1",
        (false, Version::H2) => "http2",
    }
}

/// Scans a message head: the (percent-decoded by the scanner) target, an extension method,
/// the target's authority (HTTP/2 `:authority`, forwarded upstream as the app wrote it) and
/// every header field as
/// `name: value`, one a line, so that PHI in a custom header (or gRPC metadata) name counts as
/// much as PHI in a value. Returns the inspector after the end of the head.
fn scan_head(
    shared: &Shared,
    path: PathKind,
    flow: Flow,
    method: Option<&http::Method>,
    target: Option<&Uri>,
    headers: &HeaderMap,
) -> Option<Inspector> {
    let engine = shared.engine_for(path, flow)?;
    let opts = StreamOptions {
        plus_as_space: true,
        ..StreamOptions::default()
    };
    let mut insp = Inspector::new(Some(engine), Ok(opts), false, usize::MAX);
    let mut sink = VecDeque::new();
    // One push for the whole head: each push costs a Hyperscan call per database, and pushing
    // piece by piece made the head scan cost more than a 1 KiB body (`cargo bench --bench proxy`).
    let mut head = Vec::with_capacity(512);
    if let Some(t) = target.and_then(|u| u.path_and_query()) {
        head.extend_from_slice(t.as_str().as_bytes());
        head.push(b'\n');
    }
    // An extension method is any token the app chose, forwarded as is.
    if let Some(m) = method.filter(|m| !is_standard_method(m)) {
        head.extend_from_slice(b":method: ");
        head.extend_from_slice(m.as_str().as_bytes());
        head.push(b'\n');
    }
    if let Some(a) = target.and_then(|u| u.authority()) {
        head.extend_from_slice(b":authority: ");
        head.extend_from_slice(a.as_str().as_bytes());
        head.push(b'\n');
    }
    for (name, v) in headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(v.as_bytes());
        head.push(b'\n');
    }
    insp.push(Bytes::from(head), &mut sink);
    insp.finish(&mut sink);
    shared
        .metrics
        .inspection_duration
        .observe(insp.scan_time().as_secs_f64());
    Some(insp)
}

fn is_standard_method(m: &http::Method) -> bool {
    use http::Method as M;
    [
        M::GET,
        M::POST,
        M::PUT,
        M::DELETE,
        M::HEAD,
        M::OPTIONS,
        M::PATCH,
        M::CONNECT,
        M::TRACE,
    ]
    .contains(m)
}

/// Scans trailers (gRPC `grpc-status`/`grpc-message` and custom trailing metadata, HTTP/2 and
/// chunked HTTP/1.1 trailers) exactly like a head without a target.
fn scan_trailers(
    shared: &Shared,
    path: PathKind,
    flow: Flow,
    trailers: &HeaderMap,
) -> Option<Inspector> {
    scan_head(shared, path, flow, None, None, trailers)
}

/// The check an [`InspectBody`] runs on its trailers before forwarding them.
///
/// Where the policy lets PHI through (mesh mTLS, audit mode) the trailers go on unchanged and
/// PHI in them is audited (part `trailers`). Where it refuses PHI (the request on plaintext
/// egress, the response on plaintext inbound), the trailers must not be forwarded. By then the
/// whole body has been forwarded (it was inspected on its own, with hold-back), so what is left
/// to decide is how the message ends:
/// - a gRPC *response*: its trailers are replaced by the refusal status (`grpc-status: 7`,
///   fixed `grpc-message`, request id), dropping every original trailer, since any of them
///   may be the one holding PHI. The client gets a well-formed PERMISSION_DENIED instead of a
///   reset it might retry, and no byte of the trailers leaves. Audited as `refused`.
/// - anything else (a request's trailers, HTTP trailers, which have no status field to refuse
///   with): the stream is reset (HTTP/2 `RST_STREAM`, HTTP/1.1 connection close) before the
///   trailers are written, so the peer sees an aborted message, never the trailers. Audited as
///   `reset`.
fn trailer_check(
    shared: &Arc<Shared>,
    ex: &Arc<Exchange>,
    flow: Flow,
    reset: Arc<AtomicBool>,
) -> TrailerCheck {
    let shared = shared.clone();
    let ex = ex.clone();
    Box::new(move |trailers: HeaderMap| {
        let Some(insp) = scan_trailers(&shared, ex.ctx.path, flow, &trailers) else {
            return Ok(trailers);
        };
        let v = insp.verdict();
        let Some(action) = shared.policy.decide(ex.ctx.path, flow, v) else {
            return Ok(trailers);
        };
        let replace = ex.grpc && flow == Flow::Response;
        let action = match action {
            Action::Refused if !replace => Action::Reset,
            a => a,
        };
        shared.record(
            &ex.ctx(),
            flow,
            ex.protocol,
            &ex.request_id,
            v,
            &insp.findings(),
            "trailers",
            action,
        );
        match action {
            Action::Refused => Ok(grpc_refusal_status(v, &ex.request_id)),
            Action::Reset => {
                reset.store(true, Ordering::Release);
                Err(InspectError::Refused(crate::policy::reason(v)))
            }
            _ => Ok(trailers),
        }
    })
}

/// Reads up to `limit` bytes of `body` into the inspector before anything is forwarded.
/// Returns whether the body ended (and its trailers).
///
/// A verdict that is already a refusal (content the proxy cannot read, known from the head)
/// still reads on to the limit: the client then finishes sending a small body before the
/// answer, instead of racing an HTTP/2 `RST_STREAM` (or an HTTP/1.1 close) with its upload.
async fn prefetch(
    body: &mut Incoming,
    insp: &mut Inspector,
    ready: &mut VecDeque<Bytes>,
    limit: usize,
) -> Result<(bool, Option<HeaderMap>), hyper::Error> {
    let fixed = insp.verdict() != Verdict::Clean;
    while insp.fed() < limit as u64 && (fixed || insp.verdict() == Verdict::Clean) {
        match body.frame().await {
            None => {
                insp.finish(ready);
                return Ok((true, None));
            }
            Some(Err(e)) => return Err(e),
            Some(Ok(f)) => match f.into_data() {
                Ok(d) => {
                    insp.push(d, ready);
                }
                Err(f) => {
                    insp.finish(ready);
                    return Ok((true, f.into_trailers().ok()));
                }
            },
        }
    }
    Ok((false, None))
}

struct Exchange {
    ctx: ConnCtx,
    protocol: &'static str,
    request_id: String,
    grpc: bool,
    /// The pooled upstream connection this request went out on (set once it is sent).
    conn: OnceLock<CaptureConnection>,
}

impl Exchange {
    /// The connection context for an audit line: on an outbound mesh path the peer identity is
    /// that of the pooled mTLS connection the request actually went out on.
    fn ctx(&self) -> Cow<'_, ConnCtx> {
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
                c.peer_identity = Some(id);
                Cow::Owned(c)
            }
            None => Cow::Borrowed(&self.ctx),
        }
    }

    /// The callback an [`InspectBody`] runs at its end: audit and metrics for its verdict.
    fn on_end(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
        flow: Flow,
        reset: Arc<AtomicBool>,
    ) -> crate::inspect::OnEnd {
        let ex = self.clone();
        let shared = shared.clone();
        Box::new(move |insp: &Inspector, end: BodyEnd| {
            let dir = ex.ctx.path.direction().as_str();
            if insp.is_active() {
                shared
                    .metrics
                    .inspected_bytes
                    .with_label_values(&[dir])
                    .inc_by(insp.fed());
                shared
                    .metrics
                    .inspection_duration
                    .observe(insp.scan_time().as_secs_f64());
            }
            let (verdict, action) = match end {
                BodyEnd::Reset(Verdict::Clean) => return,
                BodyEnd::Reset(v) => {
                    reset.store(true, Ordering::Release);
                    (v, Some(Action::Reset))
                }
                BodyEnd::Complete(v) => (v, shared.policy.decide(ex.ctx.path, flow, v)),
            };
            if let Some(action) = action {
                shared.record(
                    &ex.ctx(),
                    flow,
                    ex.protocol,
                    &ex.request_id,
                    verdict,
                    &insp.findings(),
                    "body",
                    action,
                );
            }
        })
    }
}

/// A body's inspector and, on a path that holds bytes back, what was read ahead of forwarding.
struct BodyStart {
    insp: Inspector,
    ready: VecDeque<Bytes>,
    /// The whole body was read ahead.
    done: bool,
    /// Its trailers, when the whole message was read ahead.
    trailers: Option<HeaderMap>,
}

/// Opens the inspector of a request or response body. Where the path holds bytes back it reads
/// ahead up to the inspect buffer; PHI found there, in the body or in trailers that came with
/// the whole message, is answered with the clean refusal (`Err`) before anything is forwarded.
async fn start_body(
    shared: &Shared,
    ex: &Exchange,
    flow: Flow,
    opts: Result<StreamOptions, Verdict>,
    body: &mut Incoming,
) -> Result<Result<BodyStart, Response<RespBody>>, hyper::Error> {
    let hold = shared.policy.holds_back(ex.ctx.path, flow);
    let mut b = BodyStart {
        insp: Inspector::new(
            shared.engine_for(ex.ctx.path, flow),
            opts,
            hold,
            shared.max_held(),
        ),
        ready: VecDeque::new(),
        done: false,
        trailers: None,
    };
    if b.insp.holds_back() {
        (b.done, b.trailers) = prefetch(
            body,
            &mut b.insp,
            &mut b.ready,
            shared.cfg.bounds.inspect_buffer,
        )
        .await?;
        if let Some(resp) = decide_early(shared, ex, flow, &b.insp, "body") {
            return Ok(Err(resp));
        }
        if let Some(ti) = b
            .trailers
            .as_ref()
            .and_then(|t| scan_trailers(shared, ex.ctx.path, flow, t))
        {
            if let Some(resp) = decide_early(shared, ex, flow, &ti, "trailers") {
                return Ok(Err(resp));
            }
        }
    }
    Ok(Ok(b))
}

/// Decides on a verdict reached before the part was forwarded. Returns the refusal response
/// when the policy refuses it.
fn decide_early(
    shared: &Shared,
    ex: &Exchange,
    flow: Flow,
    insp: &Inspector,
    part: &'static str,
) -> Option<Response<RespBody>> {
    let v = insp.verdict();
    let action = shared.policy.decide(ex.ctx.path, flow, v)?;
    let findings = insp.findings();
    shared.record(
        &ex.ctx(),
        flow,
        ex.protocol,
        &ex.request_id,
        v,
        &findings,
        part,
        action,
    );
    if action != Action::Refused {
        return None;
    }
    let mut kinds: Vec<&'static str> = findings.iter().map(|f| f.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let r = refusal_response(v, &kinds, &ex.request_id, ex.grpc);
    Some(r.map(full))
}

fn count(shared: &Shared, ex: &Exchange, action: &'static str, start: Instant) {
    let dir = ex.ctx.path.direction().as_str();
    shared
        .metrics
        .requests
        .with_label_values(&[dir, ex.protocol, ex.ctx.path.tls_label(), action])
        .inc();
    shared
        .metrics
        .request_duration
        .with_label_values(&[dir, ex.protocol])
        .observe(start.elapsed().as_secs_f64());
}

fn bad_gateway() -> Response<RespBody> {
    let mut r = Response::new(full(Bytes::from_static(
        b"{\"error\":\"upstream_unavailable\"}",
    )));
    *r.status_mut() = StatusCode::BAD_GATEWAY;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// An HTTP/2 request for another authority than the connection's first (see
/// `ConnCtx::h2_client`): RFC 9110 §15.5.20, the client may retry it on a new connection.
fn misdirected() -> Response<RespBody> {
    let mut r = Response::new(full(Bytes::from_static(
        b"{\"error\":\"misdirected_request\"}",
    )));
    *r.status_mut() = StatusCode::MISDIRECTED_REQUEST;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Why a request ends without a response (hyper resets the stream or closes the connection).
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// Late PHI on a refusing path: the request was cut upstream; cut it downstream too.
    #[error("stream reset: PHI after part of the message was forwarded")]
    Reset,
    /// The downstream body failed while it was prefetched.
    #[error("request body: {0}")]
    Body(#[from] hyper::Error),
    /// The upstream URI could not be built.
    #[error("upstream uri: {0}")]
    Uri(#[source] http::Error),
}

async fn handle(
    req: Request<Incoming>,
    ctx: Arc<ConnCtx>,
    version: Version,
    shared: Arc<Shared>,
) -> Result<Response<RespBody>, HandleError> {
    let start = Instant::now();
    let grpc = is_grpc(req.headers());
    let ex = Arc::new(Exchange {
        ctx: (*ctx).clone(),
        protocol: protocol_label(version, grpc),
        request_id: crate::audit::new_request_id(),
        grpc,
        conn: OnceLock::new(),
    });
    let (mut parts, mut body) = req.into_parts();

    // Request head. A refusal answers now; any other decision (PHI forwarded on a mesh path,
    // audit mode) is recorded once the request is on its upstream connection, so that the
    // audit line names the peer it went to.
    let mut head_pending = None;
    if let Some(insp) = scan_head(
        &shared,
        ex.ctx.path,
        Flow::Request,
        Some(&parts.method),
        Some(&parts.uri),
        &parts.headers,
    ) {
        let action = shared
            .policy
            .decide(ex.ctx.path, Flow::Request, insp.verdict());
        if action == Some(Action::Refused) {
            if let Some(resp) = decide_early(&shared, &ex, Flow::Request, &insp, "head") {
                count(&shared, &ex, "refused", start);
                return Ok(resp);
            }
        } else if action.is_some() {
            head_pending = Some(insp);
        }
    }

    // HTTP/2 keeps the app's `:authority`: its client dials the connection's destination. One
    // authority per downstream connection (see `ConnCtx::h2_client`).
    let authority = match (version, parts.uri.authority()) {
        (Version::H2, Some(a)) => a.to_string(),
        _ => ex.ctx.destination.to_string(),
    };
    let client = match (ex.ctx.path.direction(), version) {
        (crate::policy::Direction::Outbound, Version::Http1) => &shared.clients.out_h1,
        (crate::policy::Direction::Inbound, Version::Http1) => &shared.clients.in_h1,
        (_, Version::H2) => match ex.ctx.h2_client(&shared, &authority) {
            Some(c) => c,
            None => {
                count(&shared, &ex, "error", start);
                return Ok(misdirected());
            }
        },
    };

    // Request body.
    let BodyStart {
        insp,
        ready,
        done,
        trailers,
    } = match start_body(
        &shared,
        &ex,
        Flow::Request,
        stream_options(&parts.headers, ex.grpc, &shared.cfg.bounds),
        &mut body,
    )
    .await?
    {
        Ok(b) => b,
        Err(resp) => {
            count(&shared, &ex, "refused", start);
            return Ok(resp);
        }
    };
    let req_reset = Arc::new(AtomicBool::new(false));
    let on_end = ex.on_end(&shared, Flow::Request, req_reset.clone());
    let req_body = InspectBody::new(body, insp, ready, done, trailers, on_end)
        .with_trailer_check(trailer_check(
            &shared,
            &ex,
            Flow::Request,
            req_reset.clone(),
        ))
        .boxed_unsync();

    // Forward.
    strip_hop_by_hop(&mut parts.headers);
    let pq = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    parts.uri = Uri::builder()
        .scheme("http")
        .authority(authority)
        .path_and_query(pq)
        .build()
        .map_err(HandleError::Uri)?;
    if version == Version::Http1 {
        parts.version = http::Version::HTTP_11;
    } else {
        parts.version = http::Version::HTTP_2;
    }
    let mut upstream_req = Request::from_parts(parts, req_body);
    let mut conn = capture_connection(&mut upstream_req);
    let _ = ex.conn.set(conn.clone());
    let sent = client.request(upstream_req);
    let sent = match head_pending.take() {
        None => sent.await,
        Some(insp) => {
            // Record as soon as the upstream connection is chosen (or the request ends).
            tokio::pin!(sent);
            let r = tokio::select! {
                r = &mut sent => Some(r),
                _ = conn.wait_for_connection_metadata() => None,
            };
            let _ = decide_early(&shared, &ex, Flow::Request, &insp, "head");
            match r {
                Some(r) => r,
                None => sent.await,
            }
        }
    };
    let resp = match sent {
        Ok(r) => r,
        Err(e) => {
            if req_reset.load(Ordering::Acquire) {
                count(&shared, &ex, "reset", start);
                return Err(HandleError::Reset);
            }
            tracing::debug!(error = %e, "upstream request failed");
            count(&shared, &ex, "error", start);
            return Ok(bad_gateway());
        }
    };

    // Response head and body.
    let (mut rparts, mut rbody) = resp.into_parts();
    // How the body is to be read, from the fields as they arrived (`transfer-encoding` is
    // hop-by-hop and about to go).
    let ropts = stream_options(&rparts.headers, ex.grpc, &shared.cfg.bounds);
    strip_hop_by_hop(&mut rparts.headers);
    // hyper keeps an HTTP/1.1 upstream's non-standard reason phrase and a downstream HTTP/1.1
    // server writes it back out: free text from the upstream that no scan covers (the status
    // line `HTTP/1.1 200 <anything>`). The downstream gets the canonical phrase.
    rparts.extensions.remove::<hyper::ext::ReasonPhrase>();
    rparts.version = match version {
        Version::Http1 => http::Version::HTTP_11,
        Version::H2 => http::Version::HTTP_2,
    };
    {
        if let Some(insp) = scan_head(
            &shared,
            ex.ctx.path,
            Flow::Response,
            None,
            None,
            &rparts.headers,
        ) {
            if let Some(resp) = decide_early(&shared, &ex, Flow::Response, &insp, "head") {
                count(&shared, &ex, "refused", start);
                return Ok(resp);
            }
        }
    }
    let BodyStart {
        insp,
        ready,
        done,
        trailers,
    } = match start_body(&shared, &ex, Flow::Response, ropts, &mut rbody).await? {
        Ok(b) => b,
        Err(resp) => {
            count(&shared, &ex, "refused", start);
            return Ok(resp);
        }
    };
    let on_end = ex.on_end(&shared, Flow::Response, Arc::new(AtomicBool::new(false)));
    let body = InspectBody::new(rbody, insp, ready, done, trailers, on_end)
        .with_trailer_check(trailer_check(
            &shared,
            &ex,
            Flow::Response,
            Arc::new(AtomicBool::new(false)),
        ))
        .boxed_unsync();
    count(&shared, &ex, "forwarded", start);
    Ok(Response::from_parts(rparts, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_go() {
        let mut h = HeaderMap::new();
        h.insert("connection", "close, x-foo".parse().unwrap());
        h.insert("x-foo", "1".parse().unwrap());
        h.insert("te", "trailers".parse().unwrap());
        h.insert("transfer-encoding", "chunked".parse().unwrap());
        h.insert("x-keep", "1".parse().unwrap());
        strip_hop_by_hop(&mut h);
        assert!(h.get("x-foo").is_none() && h.get("connection").is_none());
        assert!(h.get("transfer-encoding").is_none());
        assert_eq!(h["te"], "trailers");
        assert_eq!(h["x-keep"], "1");
    }
}
