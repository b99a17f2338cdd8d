//! `GET /v1/mesh`: the mesh discovery list ([`crate::discovery`]) over the identity API.
//!
//! Only a caller with a token the CA accepts (the same bearer token a sidecar gets its
//! certificate with) reads it; failed authentications count towards the address throttle as
//! they do on `POST /v1/certificates`. The answer carries a strong `ETag` (a digest of the
//! body, equal on every replica serving the same list); `If-None-Match` with it is answered
//! `304 Not Modified` and no body. Until a source has published, after it lost its upstream for
//! too long, or when the list is over its bounds, the answer is `503` with a JSON `error`:
//! sidecars then fall back to `--mesh-networks`.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use prometheus::{IntCounterVec, IntGauge, Opts};

use super::{bearer, error_response, Ca, Resp};
use crate::api::ApiError;
use crate::auth::AuthError;
use crate::discovery::{MeshSource, MeshView};

/// Results of `phimesh_ca_mesh_requests_total`.
pub const MESH_RESULTS: [&str; 5] = [
    "ok",
    "not_modified",
    "unauthenticated",
    "rate_limited",
    "unavailable",
];

/// Metrics of the discovery endpoint, registered when a source is installed.
#[derive(Debug, Clone)]
pub(crate) struct MeshMetrics {
    requests: IntCounterVec,
    workloads: IntGauge,
}

impl Ca {
    /// The mesh list this CA serves at `GET /v1/mesh`.
    pub fn mesh(&self) -> &MeshView {
        &self.mesh
    }

    /// Starts `source` publishing into this CA's mesh list and registers the discovery metrics
    /// (`phimesh_ca_mesh_requests_total{result}`, `phimesh_ca_mesh_workloads`). Abort the
    /// returned task to stop it.
    pub fn start_mesh_source(
        self: &Arc<Self>,
        source: Box<dyn MeshSource>,
    ) -> tokio::task::JoinHandle<()> {
        let m = self.mesh_metrics.get_or_init(|| {
            let requests = IntCounterVec::new(
                Opts::new(
                    "phimesh_ca_mesh_requests_total",
                    "GET /v1/mesh requests answered, by result",
                ),
                &["result"],
            )
            .expect("valid metric");
            let workloads = IntGauge::new(
                "phimesh_ca_mesh_workloads",
                "Meshed pod addresses in the served mesh list",
            )
            .expect("valid metric");
            for r in MESH_RESULTS {
                requests.with_label_values(&[r]);
            }
            let _ = self.metrics.registry.register(Box::new(requests.clone()));
            let _ = self.metrics.registry.register(Box::new(workloads.clone()));
            MeshMetrics {
                requests,
                workloads,
            }
        });
        let gauge = m.workloads.clone();
        let mut rx = self.mesh.subscribe();
        let view = self.mesh.clone();
        tokio::spawn(async move {
            let publish = source.run(view);
            let follow = async move {
                loop {
                    gauge.set(rx.borrow_and_update().workloads as i64);
                    if rx.changed().await.is_err() {
                        return;
                    }
                }
            };
            tokio::join!(publish, follow);
        })
    }

    fn mesh_count(&self, result: &str) {
        if let Some(m) = self.mesh_metrics.get() {
            m.requests.with_label_values(&[result]).inc();
        }
    }
}

/// Whether an `If-None-Match` field value names `etag` (or is `*`).
fn matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match.split(',').any(|t| {
        let t = t.trim();
        let t = t.strip_prefix("W/").unwrap_or(t);
        t == "*" || t == etag
    })
}

pub(super) async fn serve(ca: &Ca, req: Request<Incoming>, client: IpAddr) -> Resp {
    if let Err(e) = ca.not_throttled(client) {
        ca.mesh_count("rate_limited");
        return error_response(e.status(), &e.to_string());
    }
    let refused = match bearer(req.headers()) {
        None => Some(ApiError::NoToken),
        Some(token) => match ca.auth.authenticate(&token).await {
            Ok(_) => None,
            Err(AuthError::Unavailable(_)) => Some(ApiError::Unavailable),
            Err(_) => Some(ApiError::BadToken),
        },
    };
    if let Some(e) = refused {
        if matches!(e, ApiError::NoToken | ApiError::BadToken) {
            ca.auth_failed(client);
            ca.mesh_count("unauthenticated");
        } else {
            ca.mesh_count("unavailable");
        }
        return error_response(e.status(), &e.to_string());
    }
    let snap = ca.mesh.current();
    let body = match &snap.body {
        Ok(b) => b.clone(),
        Err(why) => {
            ca.mesh_count("unavailable");
            return error_response(StatusCode::SERVICE_UNAVAILABLE, why.text());
        }
    };
    let not_modified = req
        .headers()
        .get(http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches(v, &snap.etag));
    let (status, body) = if not_modified {
        ca.mesh_count("not_modified");
        (StatusCode::NOT_MODIFIED, Bytes::new())
    } else {
        ca.mesh_count("ok");
        (StatusCode::OK, body)
    };
    let mut b = Response::builder()
        .status(status)
        .header(http::header::ETAG, snap.etag.as_str())
        .header(http::header::CACHE_CONTROL, "no-cache");
    if status == StatusCode::OK {
        b = b.header(http::header::CONTENT_TYPE, "application/json");
    }
    b.body(Full::new(body))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn if_none_match_lists() {
        let tag = "\"abc\"";
        assert!(matches("\"abc\"", tag));
        assert!(matches("\"x\", \"abc\"", tag));
        assert!(matches("W/\"abc\"", tag));
        assert!(matches("*", tag));
        assert!(!matches("\"abd\"", tag));
        assert!(!matches("abc", tag));
    }
}
