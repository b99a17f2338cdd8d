//! The admin listener (plaintext, pod-local): `/metrics` (Prometheus text), `/ready` (identity in
//! hand and listeners bound), `/live`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::context::Shared;
use crate::io::{Activity, Tracked};

fn respond(
    status: StatusCode,
    ctype: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(ctype),
    );
    r
}

/// Whether the proxy is ready: listeners bound and (if configured) an identity in hand.
pub fn is_ready(shared: &Shared) -> bool {
    shared.bound.load(Ordering::Acquire)
        && !shared.drain.is_draining()
        && shared.tls.as_ref().is_none_or(|t| t.identity().is_ready())
}

fn route(req: &Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    match req.uri().path() {
        "/metrics" => respond(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            shared.metrics.render(),
        ),
        "/ready" if is_ready(shared) => respond(StatusCode::OK, "text/plain", "ready\n"),
        "/ready" => respond(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "not ready\n"),
        "/live" => respond(StatusCode::OK, "text/plain", "live\n"),
        _ => respond(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
    }
}

/// Open admin connections at most: Prometheus, the kubelet's probes and a person with curl need
/// a handful; a flood of connections to the admin port must not take memory or file
/// descriptors from the data listeners. Further connections are closed at once.
pub const MAX_ADMIN_CONNECTIONS: usize = 64;

/// Serves the admin listener until the task is aborted.
pub async fn run(listener: TcpListener, shared: Arc<Shared>) {
    let limit = Arc::new(tokio::sync::Semaphore::new(MAX_ADMIN_CONNECTIONS));
    loop {
        let Some((stream, _)) =
            crate::listener::accepted_or_pause(listener.accept().await, "admin").await
        else {
            continue;
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            shared
                .metrics
                .connections_rejected
                .with_label_values(&["admin", "max_connections"])
                .inc();
            drop(stream);
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let _permit = permit;
            // Idle connections (a scraper's keep-alive, a client that went away) close after
            // `--idle-timeout`, as on the data listeners.
            let activity = Activity::default();
            let idle_for = shared.cfg.bounds.idle_timeout;
            let io = Tracked::new(stream, activity.clone());
            let svc = hyper::service::service_fn(move |req| {
                let r = route(&req, &shared);
                async move { Ok::<_, std::convert::Infallible>(r) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(10))
                .serve_connection(TokioIo::new(io), svc);
            tokio::select! {
                _ = conn => {}
                _ = activity.idle(idle_for) => {}
            }
        });
    }
}
