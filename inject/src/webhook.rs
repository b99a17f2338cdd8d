//! `phimesh webhook`'s HTTPS server: `POST /mutate` and `POST /mutate/phi` (AdmissionReview v1),
//! `GET /ready`, `/live`, `/metrics`, over rustls (ring) with hyper 1 (HTTP/1.1 and h2).
//!
//! The two review paths differ only in the [`Policy`] they review under:
//!
//! * `POST /mutate` — opt-in namespaces and pods ([`Policy::OptIn`]): the pod's `phimesh.io/...`
//!   overrides apply; each one that weakens protection (audit mode, permissive inbound mTLS,
//!   excluded ports or CIDRs, opting out) comes back as an AdmissionResponse `warning`.
//! * `POST /mutate/phi` — namespaces labelled `phimesh.io/phi=true` ([`Policy::Phi`]), selected
//!   by their own entry of the MutatingWebhookConfiguration (no namespace look-ups here): a pod
//!   cannot opt out, pick audit mode or permissive inbound mTLS, exclude outbound CIDRs or ports
//!   or inbound ports beyond the operator's allow-list (`--phi-allowed-exclude-outbound-cidrs`,
//!   `--phi-allowed-exclude-outbound-ports`, `--phi-allowed-exclude-inbound-ports`), carry
//!   containers named like phimesh's or phimesh's label or status annotation, run on the host
//!   network, hold a `phimesh-ca` service-account token or add `NET_ADMIN`: it is **denied**
//!   (403) with every reason, each naming the annotation, label, container or volume. The
//!   sidecar it gets runs in `enforce` mode with strict inbound mTLS. See [`crate::policy`] for
//!   every annotation and the decision for each.
//!
//! On both paths a pod counts as already injected only if it carries this injector's genuine
//! sidecar; a look-alike (a `phimesh-proxy` container running something else) is denied.
//!
//! Bounds, each a named constant or option: connections at once, TLS handshake time, HTTP/1
//! header time, whole-request time, body size (checked against `Content-Length` first, then while
//! reading). Whatever a client sends, the answer is a status and a small JSON body; the process
//! stays up. On SIGTERM/ctrl-c it stops accepting, lets open connections finish (HTTP graceful
//! shutdown) for at most [`DRAIN_GRACE`], and returns.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;

use crate::admission;
use crate::config::InjectorConfig;
use crate::metrics::Metrics;
use crate::policy::Policy;
use crate::tls::{self, ReloadingCert};

/// Largest AdmissionReview accepted by default. The API server caps a request at 3 MiB and a
/// review carries the object once on CREATE; 4 MiB leaves room and bounds memory per request.
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;
/// Time a client has to finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a client has to send an HTTP/1 request head.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a client has to send a whole request body (the API server's own webhook timeout is at
/// most 30 s, 10 s in `deploy/`).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Connections served at once; more wait in the kernel's accept queue.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Reviews read and answered at once; more wait (within the request deadline). With
/// [`DEFAULT_MAX_BODY`] this caps request bodies held in memory at 64 MiB, whatever the
/// connection and h2 stream counts.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 16;
/// How long open connections may take to finish after a shutdown signal.
pub const DRAIN_GRACE: Duration = Duration::from_secs(10);
/// How often the serving certificate files are checked for a change, by default.
pub const DEFAULT_CERT_POLL: Duration = Duration::from_secs(10);

/// Tunables of the server.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body.
    pub max_body: usize,
    /// Deadline to receive a whole request body.
    pub request_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// How often the certificate files are checked for a change.
    pub cert_poll: Duration,
    /// Reviews at once.
    pub max_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: DEFAULT_MAX_BODY,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            cert_poll: DEFAULT_CERT_POLL,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

/// Everything a request handler needs.
pub struct State {
    /// The injector's configuration.
    pub config: InjectorConfig,
    /// Metrics.
    pub metrics: Metrics,
    /// Server limits.
    pub limits: Limits,
    /// Permits for reviews in flight (`limits.max_in_flight` of them).
    pub in_flight: Semaphore,
}

impl State {
    /// A state with `limits.max_in_flight` permits.
    pub fn new(config: InjectorConfig, metrics: Metrics, limits: Limits) -> Self {
        let in_flight = Semaphore::new(limits.max_in_flight.max(1));
        State {
            config,
            metrics,
            limits,
            in_flight,
        }
    }
}

/// Serves on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    cert: Arc<ReloadingCert>,
    state: Arc<State>,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(Arc::new(tls::server_config(cert.clone())));
    let permits = Arc::new(Semaphore::new(state.limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let reloader = tokio::spawn(watch_cert(
        cert,
        state.metrics.clone(),
        state.limits.cert_poll,
    ));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let state = state.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _ = tcp.set_nodelay(true);
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let svc = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle(req, &state, peer).await) }
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            builder
                .http2()
                .timer(TokioTimer::new())
                .max_concurrent_streams(64);
            let conn = builder.serve_connection(TokioIo::new(tls), svc);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
                _ = async { let _ = stop.wait_for(|s| *s).await; } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    reloader.abort();
    drop(listener);
    tracing::info!("shutting down: draining open connections");
    let _ = stop_tx.send(true);
    let all = u32::try_from(state.limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN_GRACE, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain grace period");
    }
}

async fn watch_cert(cert: Arc<ReloadingCert>, metrics: Metrics, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let c = cert.clone();
        match tokio::task::spawn_blocking(move || c.reload_if_changed()).await {
            Ok(Ok(true)) => {
                metrics.cert_reloads.inc();
                tracing::info!("serving certificate reloaded");
            }
            Ok(Ok(false)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "new serving certificate refused; the previous one keeps serving")
            }
            Err(_) => {}
        }
    }
}

fn json(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}

fn reject(
    state: &State,
    status: StatusCode,
    reason: &'static str,
    message: &str,
) -> Response<Full<Bytes>> {
    state.metrics.rejected.with_label_values(&[reason]).inc();
    json(
        status,
        serde_json::to_vec(&serde_json::json!({ "error": message })).unwrap_or_default(),
    )
}

async fn handle(req: Request<Incoming>, state: &State, peer: SocketAddr) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    match (req.method(), path) {
        (&Method::GET, "/ready") | (&Method::GET, "/live") => {
            json(StatusCode::OK, br#"{"status":"ok"}"#.to_vec())
        }
        (&Method::GET, "/metrics") => {
            let mut r = Response::new(Full::new(Bytes::from(state.metrics.render())));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            r
        }
        (&Method::POST, "/mutate") => mutate(req, state, peer, Policy::OptIn).await,
        (&Method::POST, "/mutate/phi") => mutate(req, state, peer, Policy::Phi).await,
        (_, "/mutate") | (_, "/mutate/phi") | (_, "/ready") | (_, "/live") | (_, "/metrics") => {
            let mut r = reject(
                state,
                StatusCode::METHOD_NOT_ALLOWED,
                "method",
                "method not allowed",
            );
            let allow = if path.starts_with("/mutate") {
                "POST"
            } else {
                "GET"
            };
            r.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static(allow));
            r
        }
        _ => reject(
            state,
            StatusCode::NOT_FOUND,
            "not_found",
            "not found; the webhook serves POST /mutate and POST /mutate/phi",
        ),
    }
}

enum ReadError {
    TooLarge,
    Body,
}

/// Reads a body of at most `max` bytes.
async fn read_bounded(body: &mut Incoming, max: usize) -> Result<Bytes, ReadError> {
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|_| ReadError::Body)?.into_data() else {
            continue; // trailers
        };
        if buf.len() + data.len() > max {
            return Err(ReadError::TooLarge);
        }
        buf.extend_from_slice(&data);
    }
    Ok(Bytes::from(buf))
}

async fn mutate(
    req: Request<Incoming>,
    state: &State,
    peer: SocketAddr,
    policy: Policy,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let max = state.limits.max_body;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        phimesh_plumbing::discard(req.into_body());
        return reject(
            state,
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            &format!("body over {max} bytes"),
        );
    }
    let deadline = tokio::time::Instant::now() + state.limits.request_timeout;
    let Ok(Ok(_permit)) = tokio::time::timeout_at(deadline, state.in_flight.acquire()).await else {
        return reject(
            state,
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "too many reviews in flight",
        );
    };
    let mut body = req.into_body();
    let read = read_bounded(&mut body, max);
    let body = match tokio::time::timeout_at(deadline, read).await.map(|r| {
        if matches!(r, Err(ReadError::TooLarge)) {
            phimesh_plumbing::discard(body);
        }
        r
    }) {
        Err(_) => {
            return reject(
                state,
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                "request body not received in time",
            )
        }
        Ok(Err(ReadError::TooLarge)) => {
            return reject(
                state,
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                &format!("body over {max} bytes"),
            )
        }
        Ok(Err(_)) => {
            return reject(
                state,
                StatusCode::BAD_REQUEST,
                "read_error",
                "request body could not be read",
            )
        }
        Ok(Ok(b)) => b,
    };
    let v = admission::review(&body, &state.config, policy);
    state
        .metrics
        .reviews
        .with_label_values(&[v.action, v.reason])
        .inc();
    state
        .metrics
        .duration
        .with_label_values(&[v.action])
        .observe(started.elapsed().as_secs_f64());
    match v.action {
        "error" => tracing::warn!(%peer, reason = v.reason, "malformed admission request"),
        _ => {
            tracing::info!(pod = %v.pod.escape_debug(), policy = policy.as_str(), action = v.action, reason = v.reason, "admission review")
        }
    }
    json(
        StatusCode::from_u16(v.http_status).unwrap_or(StatusCode::BAD_REQUEST),
        v.body,
    )
}
