//! HTTP/1.1, HTTP/2 and gRPC through hyper: serve the downstream connection, inspect each
//! request's head and body, forward through the pooled upstream client, inspect the response.
//!
//! Per request: head scan → (refusing paths) prefetch up to `inspect_buffer` of the body so early
//! PHI gets a clean 403 / gRPC 7 → stream the rest through [`InspectBody`] (hold-back; late PHI
//! resets) → the same for the response. Bodies are never buffered beyond the hold-back window
//! and the prefetch. Every decision on a head, body or trailers is the request's or the
//! response's [`Gate`]'s; this module carries out what it returns.
//!
//! An upstream that takes the request and never answers does not hold it: once the request is
//! sent, its response head must arrive within `--response-head-timeout`, or the request is
//! answered `504 {"error":"upstream_timeout"}` (gRPC: `grpc-status: 4`) and cancelled upstream.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::capture_connection;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use phimesh_detect::StreamOptions;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::context::{ConnCtx, Shared};
use crate::gate::{Enforce, Exchange, Gate, Stage};
use crate::inspect::{stream_options, InspectBody, InspectError, Inspector};
use crate::io::Activity;
use crate::policy::{Flow, Unreadable, Verdict};
use crate::retry::{Replay, MAX_RETRIES};
pub use crate::sniff::Version;

/// Body of responses sent downstream.
pub type RespBody = UnsyncBoxBody<Bytes, InspectError>;

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
        // Boxed: the request's future is several KiB, and hyper moves the future it is given
        // (into the task of each HTTP/2 stream): a pointer moves instead of the state.
        Box::pin(handle(req, ctx, version, sh))
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
                Exchange::stream(&shared, (*conn_ctx).clone(), "http1")
                    .gate(Flow::Request)
                    .rejected(Unreadable::Malformed);
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

/// Hop-by-hop fields, as header names: removing by name then hashes without parsing a string
/// (twice per request on each side).
static HOP_BY_HOP: [header::HeaderName; 7] = [
    header::CONNECTION,
    header::HeaderName::from_static("keep-alive"),
    header::HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
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
    for n in &HOP_BY_HOP {
        h.remove(n);
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

/// Reads up to `limit` bytes of `body` into the inspector before anything is forwarded.
/// Returns whether the body ended (and its trailers).
///
/// A verdict that is already a refusal (content the proxy cannot read, known from the head)
/// still reads on to the limit: the client then finishes sending a small body before the
/// answer, instead of racing an HTTP/2 `RST_STREAM` (or an HTTP/1.1 close) with its upload.
async fn prefetch<B>(
    body: &mut B,
    insp: &mut Inspector,
    ready: &mut VecDeque<Bytes>,
    limit: usize,
) -> Result<(bool, Option<HeaderMap>), hyper::Error>
where
    B: hyper::body::Body<Data = Bytes, Error = hyper::Error> + Unpin,
{
    let fixed = insp.verdict() != Verdict::Clean;
    while insp.fed() < limit as u64 && (fixed || insp.verdict() == Verdict::Clean) {
        match body.frame().await {
            None => {
                insp.finish(ready);
                return Ok((true, None));
            }
            Some(Err(e)) => return Err(e),
            Some(Ok(f)) => match f.into_data() {
                Ok(d) if body.is_end_stream() => {
                    insp.push_last(d, ready);
                }
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
/// ahead up to the inspect buffer, and the gate decides on what it found there (in the body,
/// or in trailers that came with the whole message) before anything is forwarded: `Err` is
/// what to do instead of forwarding (the refusal to answer with).
async fn start_body<B>(
    gate: &Gate,
    opts: Result<StreamOptions, Verdict>,
    body: &mut B,
    limit: usize,
) -> Result<Result<BodyStart, Enforce>, hyper::Error>
where
    B: hyper::body::Body<Data = Bytes, Error = hyper::Error> + Unpin,
{
    let mut b = BodyStart {
        insp: gate.inspector(opts, true),
        ready: VecDeque::new(),
        done: false,
        trailers: None,
    };
    if b.insp.holds_back() {
        (b.done, b.trailers) = prefetch(body, &mut b.insp, &mut b.ready, limit).await?;
        match gate.check(Stage::Before, "body", &b.insp) {
            Enforce::Forward => {}
            e => return Ok(Err(e)),
        }
        if let Some(ti) = b
            .trailers
            .as_ref()
            .and_then(|t| gate.scan_fields(None, None, t))
        {
            match gate.check(Stage::Before, "trailers", &ti) {
                Enforce::Forward => {}
                e => return Ok(Err(e)),
            }
        }
    }
    Ok(Ok(b))
}

/// Reads and drops, beside a refusal, the rest of a refused HTTP/1.1 request body
/// ([`phimesh_plumbing::discard`]: bounded in time and bytes, nothing of it goes anywhere), so a
/// client still sending gets the refusal, not the kernel's reset. HTTP/2 needs none of this (the
/// stream is reset, the connection stays), and a client that sent `Expect: 100-continue` has
/// sent no body: reading would invite it.
fn discard(body: Incoming, version: Version, headers: &HeaderMap) {
    if version == Version::Http1 && !phimesh_plumbing::expects_continue(headers) {
        drain_rest(body);
    }
}

/// Reads and drops the rest of `body` in a task of its own ([`phimesh_plumbing::discard`]'s
/// bounds), when there is a rest and a runtime to read it on.
fn drain_rest(body: Incoming) {
    if hyper::body::Body::is_end_stream(&body) || tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    phimesh_plumbing::discard(body);
}

/// A forwarded HTTP/2 request body that is read to its end even when the upstream stops
/// reading it. An upstream may answer before it has read the request body (nginx's `return`
/// does; so does any server that rejects an upload early) and reset its stream with
/// `NO_ERROR`; hyper then drops the body it was sending. Dropping a downstream HTTP/2 body
/// before its `END_STREAM` resets the downstream stream once its response is sent, and the
/// client's DATA frames already on the wire then arrive for a stream the connection has
/// forgotten: h2 answers each with a `RST_STREAM(STREAM_CLOSED)` of its own, and counts it
/// against the connection's lifetime limit of such resets (1,024), past which it closes the
/// connection with `ENHANCE_YOUR_CALM` and every request in flight on it fails. So the rest is
/// read and dropped beside the response ([`drain_rest`]'s bounds): the stream ends cleanly and
/// the connection lives on. Nothing read after the upstream stopped goes anywhere.
///
/// Not armed (dropped as is) for HTTP/1.1, where hyper reads or closes on its own, for a
/// request that expects `100-continue`, and once the body failed.
struct ReadToEnd {
    inner: Option<Incoming>,
    armed: bool,
}

impl ReadToEnd {
    fn new(inner: Incoming) -> Self {
        ReadToEnd {
            inner: Some(inner),
            armed: false,
        }
    }

    /// The body, no longer read on when dropped.
    fn into_inner(mut self) -> Incoming {
        self.inner.take().expect("present until dropped")
    }
}

impl Drop for ReadToEnd {
    fn drop(&mut self) {
        if let Some(body) = self.inner.take().filter(|_| self.armed) {
            drain_rest(body);
        }
    }
}

impl hyper::body::Body for ReadToEnd {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, hyper::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let r = Pin::new(inner).poll_frame(cx);
        if let Poll::Ready(Some(Err(_))) = r {
            self.armed = false;
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(hyper::body::Body::is_end_stream)
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner
            .as_ref()
            .map_or_else(hyper::body::SizeHint::default, hyper::body::Body::size_hint)
    }
}

/// Carries out a gate's refusal of a part that had not gone out: its answer, or a reset.
fn refused(ex: &Exchange, e: Enforce) -> Result<Response<RespBody>, HandleError> {
    match e {
        Enforce::Answer(r) => {
            ex.finish("refused");
            Ok(r.map(full))
        }
        _ => {
            ex.finish("reset");
            Err(HandleError::Reset)
        }
    }
}

/// A request body that says when it has been sent in full: the sender of `done` is dropped at
/// its end (or when hyper drops the body, sent or not), which starts the response-head clock.
struct SignalEnd {
    inner: crate::forward::ReqBody,
    done: Option<tokio::sync::oneshot::Sender<()>>,
}

impl hyper::body::Body for SignalEnd {
    type Data = Bytes;
    type Error = InspectError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, InspectError>>> {
        let r = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = r {
            self.done.take();
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// `sent` (the upstream request), or `None` if its response head has not arrived `limit` after
/// the request body was sent in full. Dropping `sent` cancels the upstream request: hyper closes
/// an HTTP/1.1 connection whose response is no longer awaited and resets an HTTP/2 stream.
async fn within_head_timeout<F: Future>(
    sent: F,
    body_sent: tokio::sync::oneshot::Receiver<()>,
    limit: Duration,
) -> Option<F::Output> {
    tokio::pin!(sent);
    let deadline = async {
        let _ = body_sent.await;
        tokio::time::sleep(limit).await;
    };
    tokio::select! {
        r = &mut sent => Some(r),
        _ = deadline => None,
    }
}

/// The answer to a request whose upstream did not send a response head in time: `504` with
/// `{"error":"upstream_timeout","timeout_seconds":N,"request_id":"..."}`, or for gRPC a
/// trailers-only response with `grpc-status: 4` (DEADLINE_EXCEEDED).
fn upstream_timeout(limit: Duration, request_id: &str, grpc: bool) -> Response<RespBody> {
    let secs = limit.as_secs_f64();
    if grpc {
        let mut r = Response::new(full(Bytes::new()));
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        h.insert("grpc-status", HeaderValue::from_static("4"));
        if let Ok(v) =
            HeaderValue::from_str(&format!("upstream_timeout: no response within {secs}s"))
        {
            h.insert("grpc-message", v);
        }
        if let Ok(v) = HeaderValue::from_str(request_id) {
            h.insert("x-phimesh-request-id", v);
        }
        return r;
    }
    let body = serde_json::json!({
        "error": "upstream_timeout",
        "timeout_seconds": secs,
        "request_id": request_id,
    });
    let mut r = Response::new(full(Bytes::from(body.to_string())));
    *r.status_mut() = StatusCode::GATEWAY_TIMEOUT;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
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
    let grpc = is_grpc(req.headers());
    let ex = Exchange::http(&shared, (*ctx).clone(), protocol_label(version, grpc), grpc);
    let req_gate = ex.gate(Flow::Request);
    let (mut parts, body) = req.into_parts();
    let mut body = ReadToEnd::new(body);
    let limit = shared.cfg.bounds.inspect_buffer;

    // Request head. A refusal answers now; any other decision (PHI forwarded on a mesh path,
    // audit mode) is recorded once the request is on its upstream connection, so that the
    // audit line names the peer it went to.
    let mut head_pending = None;
    if let Some(insp) = req_gate.scan_fields(Some(&parts.method), Some(&parts.uri), &parts.headers)
    {
        match req_gate.decide("head", &insp) {
            Some(d) if d.refuses() => {
                discard(body.into_inner(), version, &parts.headers);
                return refused(&ex, req_gate.enforce(d, Stage::Before));
            }
            d => head_pending = d,
        }
    }

    // HTTP/2 keeps the app's `:authority`: its client dials the connection's destination. One
    // authority per downstream connection (see `ConnCtx::h2_client`).
    let authority = match (version, parts.uri.authority(), &ex.ctx().authority) {
        (Version::H2, Some(a), _) => a.clone(),
        (_, _, Some(a)) => a.clone(),
        _ => Authority::try_from(ex.ctx().destination.to_string())
            .map_err(|e| HandleError::Uri(e.into()))?,
    };
    let mesh_h1;
    let client = match (ex.ctx().path.direction(), version) {
        (crate::policy::Direction::Outbound, Version::Http1) => match ex.ctx().upstream() {
            crate::forward::Upstream::Mesh => {
                mesh_h1 = shared.clients.mesh_h1();
                &mesh_h1
            }
            crate::forward::Upstream::Plain => &shared.clients.egress_h1,
        },
        (crate::policy::Direction::Inbound, Version::Http1) => &shared.clients.in_h1,
        (_, Version::H2) => match ctx.h2_client(&shared, authority.as_str()) {
            Some(c) => c,
            None => {
                ex.finish("error");
                return Ok(misdirected());
            }
        },
    };

    // Request body.
    let opts = stream_options(&parts.headers, grpc, &shared.cfg.bounds);
    let BodyStart {
        insp,
        ready,
        done,
        trailers,
    } = match start_body(&req_gate, opts, &mut body, limit).await? {
        Ok(b) => b,
        Err(e) => {
            discard(body.into_inner(), version, &parts.headers);
            return refused(&ex, e);
        }
    };
    body.armed = version == Version::H2 && !phimesh_plumbing::expects_continue(&parts.headers);
    let (body_sent_tx, body_sent) = tokio::sync::oneshot::channel();
    let req_body = SignalEnd {
        inner: InspectBody::new(body, insp, ready, done, trailers, req_gate.clone()).boxed_unsync(),
        done: Some(body_sent_tx),
    }
    .boxed_unsync();

    // Forward.
    strip_hop_by_hop(&mut parts.headers);
    // The request's own path and query, moved, not parsed again.
    let mut up = std::mem::take(&mut parts.uri).into_parts();
    up.scheme = Some(Scheme::HTTP);
    up.authority = Some(authority);
    if up.path_and_query.is_none() {
        up.path_and_query = Some(PathAndQuery::from_static("/"));
    }
    parts.uri = Uri::from_parts(up).map_err(|e| HandleError::Uri(e.into()))?;
    if version == Version::Http1 {
        parts.version = http::Version::HTTP_11;
    } else {
        parts.version = http::Version::HTTP_2;
    }
    // An HTTP/2 upstream may refuse a stream unprocessed (graceful GOAWAY, REFUSED_STREAM):
    // such a request is sent again ([`crate::retry`]); HTTP/1.1 pooled connections that close
    // are hyper-util's to retry.
    let (req_body, rewind) = match version {
        Version::H2 => {
            let (body, rewind) = Replay::new(req_body);
            (body.boxed_unsync(), Some(rewind))
        }
        Version::Http1 => (req_body, None),
    };
    let again = rewind.as_ref().map(|_| {
        (
            parts.method.clone(),
            parts.uri.clone(),
            parts.headers.clone(),
        )
    });
    let mut upstream_req = Request::from_parts(parts, req_body);
    let mut conn = capture_connection(&mut upstream_req);
    ex.capture(conn.clone());
    let head_limit = shared.cfg.bounds.response_head_timeout;
    let send = async move {
        let mut r = client.request(upstream_req).await;
        if let (Some(rewind), Some((method, uri, headers))) = (&rewind, again) {
            for _ in 0..MAX_RETRIES {
                let Err(e) = &r else { break };
                if !crate::retry::unprocessed(e) {
                    break;
                }
                let Some(body) = rewind.rewind() else { break };
                tracing::debug!("upstream refused the stream unprocessed: sending it again");
                let mut req = Request::new(body.boxed_unsync());
                *req.method_mut() = method.clone();
                *req.uri_mut() = uri.clone();
                *req.version_mut() = http::Version::HTTP_2;
                *req.headers_mut() = headers.clone();
                r = client.request(req).await;
            }
            rewind.forget();
        }
        r
    };
    let sent = within_head_timeout(send, body_sent, head_limit);
    let sent = match head_pending.take() {
        None => sent.await,
        Some(d) => {
            // Record as soon as the upstream connection is chosen (or the request ends).
            tokio::pin!(sent);
            let r = tokio::select! {
                r = &mut sent => Some(r),
                _ = conn.wait_for_connection_metadata() => None,
            };
            // Forwarded or audited: nothing to carry out.
            let _ = req_gate.enforce(d, Stage::Before);
            match r {
                Some(r) => r,
                None => sent.await,
            }
        }
    };
    let resp = match sent {
        Some(Ok(r)) => r,
        None => {
            tracing::debug!(
                timeout_secs = head_limit.as_secs_f64(),
                "upstream sent no response head in time"
            );
            ex.finish("timeout");
            return Ok(upstream_timeout(head_limit, ex.request_id(), grpc));
        }
        Some(Err(e)) => {
            if req_gate.was_reset() {
                ex.finish("reset");
                return Err(HandleError::Reset);
            }
            tracing::debug!(error = %e, "upstream request failed");
            ex.finish("error");
            return Ok(bad_gateway());
        }
    };

    // Response head and body.
    let resp_gate = ex.gate(Flow::Response);
    let (mut rparts, mut rbody) = resp.into_parts();
    // How the body is to be read, from the fields as they arrived (`transfer-encoding` is
    // hop-by-hop and about to go).
    let ropts = stream_options(&rparts.headers, grpc, &shared.cfg.bounds);
    strip_hop_by_hop(&mut rparts.headers);
    // hyper keeps an HTTP/1.1 upstream's non-standard reason phrase and a downstream HTTP/1.1
    // server writes it back out: free text from the upstream that no scan covers (the status
    // line `HTTP/1.1 200 <anything>`). The downstream gets the canonical phrase.
    rparts.extensions.remove::<hyper::ext::ReasonPhrase>();
    rparts.version = match version {
        Version::Http1 => http::Version::HTTP_11,
        Version::H2 => http::Version::HTTP_2,
    };
    if let Some(insp) = resp_gate.scan_fields(None, None, &rparts.headers) {
        match resp_gate.check(Stage::Before, "head", &insp) {
            Enforce::Forward => {}
            e => return refused(&ex, e),
        }
    }
    let BodyStart {
        insp,
        ready,
        done,
        trailers,
    } = match start_body(&resp_gate, ropts, &mut rbody, limit).await? {
        Ok(b) => b,
        Err(e) => return refused(&ex, e),
    };
    let body = InspectBody::new(rbody, insp, ready, done, trailers, resp_gate).boxed_unsync();
    ex.finish("forwarded");
    Ok(Response::from_parts(rparts, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_response_head_clock_starts_once_the_request_is_sent() {
        let limit = Duration::from_millis(200);
        let (body_sent_tx, body_sent) = tokio::sync::oneshot::channel::<()>();
        let t = tokio::spawn(within_head_timeout(
            std::future::pending::<()>(),
            body_sent,
            limit,
        ));
        // A request still being sent (a slow upload) is not timed out...
        tokio::time::sleep(limit * 4).await;
        assert!(!t.is_finished());
        // ...its end starts the clock.
        drop(body_sent_tx);
        let r = tokio::time::timeout(limit * 10, t).await.unwrap().unwrap();
        assert_eq!(r, None);
        // An answer in time is passed on.
        let (_tx, body_sent) = tokio::sync::oneshot::channel::<()>();
        assert_eq!(
            within_head_timeout(async { 7 }, body_sent, limit).await,
            Some(7)
        );
    }

    #[test]
    fn upstream_timeout_answers() {
        let r = upstream_timeout(Duration::from_secs(60), "req-1", false);
        assert_eq!(r.status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
        let g = upstream_timeout(Duration::from_millis(1500), "req-2", true);
        assert_eq!(g.status(), StatusCode::OK);
        assert_eq!(g.headers()["grpc-status"], "4");
        assert_eq!(g.headers()["x-phimesh-request-id"], "req-2");
        assert!(hyper::body::Body::is_end_stream(g.body()), "trailers-only");
    }

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
