//! The in-process apps: the patient-record service behind sidecar B and the plaintext external
//! sink that records every byte it receives and counts the PHI in it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use phimesh_testkit::codec::{count, grpc_unframe, gunzip_all};
use phimesh_testkit::server::{serve, WireTap};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::{patient_json, PHI_NEEDLES};

/// An in-process app: answers requests, and may see every byte read off its connections.
pub(super) trait App: Send + Sync + 'static {
    /// The answer to `req`.
    fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> impl std::future::Future<Output = Response<Full<Bytes>>> + Send;
    /// What sees every byte read off a connection, before HTTP parsing.
    fn tap(self: &Arc<Self>) -> Option<WireTap> {
        None
    }
}

/// Serves `app` (the `what`) on `addr`; returns where, and the task.
pub(super) async fn serve_app<A: App>(
    addr: SocketAddr,
    what: &str,
    app: Arc<A>,
) -> Result<(SocketAddr, JoinHandle<()>), String> {
    let l = TcpListener::bind(addr).await.map_err(|e| {
        format!("cannot bind the {what} on {addr}: {e} (is another phimesh demo running?)")
    })?;
    let bound = l.local_addr().map_err(|e| e.to_string())?;
    let task = serve(l, app.tap(), move |req| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(app.handle(req).await) }
    });
    Ok((bound, task))
}

/// The patient-record service: `GET /patients/4711` returns the record, `POST /patients` stores one.
#[derive(Default)]
pub(super) struct PatientService {
    received: AtomicUsize,
}

impl PatientService {
    pub(super) fn received(&self) -> usize {
        self.received.load(Ordering::SeqCst)
    }
}

impl App for PatientService {
    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let (status, text) = match (parts.method.as_str(), parts.uri.path()) {
            ("GET", "/patients/4711") => (StatusCode::OK, patient_json()),
            ("POST", "/patients") if !body.is_empty() => {
                self.received.fetch_add(1, Ordering::SeqCst);
                (
                    StatusCode::CREATED,
                    r#"{"stored":true,"id":"4711"}"#.to_string(),
                )
            }
            _ => (
                StatusCode::NOT_FOUND,
                r#"{"error":"not_found"}"#.to_string(),
            ),
        };
        json_response(status, text)
    }
}

fn json_response(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(text)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

/// The plaintext external host: answers everything, records every byte.
#[derive(Default)]
pub(super) struct Sink {
    /// Raw bytes off the wire, all connections.
    wire: Mutex<Vec<u8>>,
    /// Request bodies as decoded by HTTP (de-chunked, HTTP/2 DATA), frame by frame.
    bodies: Mutex<Vec<u8>>,
    /// Separate decoded bodies, for gunzip and gRPC unframing.
    body_list: Mutex<Vec<Vec<u8>>>,
}

impl Sink {
    pub(super) fn mark(&self) -> (usize, usize, usize) {
        (
            self.wire.lock().map(|v| v.len()).unwrap_or(0),
            self.bodies.lock().map(|v| v.len()).unwrap_or(0),
            self.body_list.lock().map(|v| v.len()).unwrap_or(0),
        )
    }

    /// Body bytes and PHI bytes received since `mark`.
    pub(super) fn since(&self, mark: (usize, usize, usize)) -> (usize, usize) {
        let wire = self
            .wire
            .lock()
            .map(|v| v[mark.0.min(v.len())..].to_vec())
            .unwrap_or_default();
        let bodies = self
            .bodies
            .lock()
            .map(|v| v[mark.1.min(v.len())..].to_vec())
            .unwrap_or_default();
        let list = self
            .body_list
            .lock()
            .map(|v| v[mark.2.min(v.len())..].to_vec())
            .unwrap_or_default();
        let mut phi = phi_bytes(&wire).max(phi_bytes(&bodies));
        for b in &list {
            phi = phi.max(phi_bytes(&gunzip_all(b)));
            phi = phi.max(phi_bytes(&grpc_unframe(b)));
        }
        (bodies.len(), phi)
    }
}

impl App for Sink {
    fn tap(self: &Arc<Self>) -> Option<WireTap> {
        let sink = self.clone();
        Some(Arc::new(move |b: &[u8]| {
            if let Ok(mut v) = sink.wire.lock() {
                v.extend_from_slice(b);
            }
        }))
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let grpc = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/grpc"));
        let mut body = req.into_body();
        let mut mine = Vec::new();
        // Frame by frame, so a body cut short still counts what arrived.
        while let Some(f) = body.frame().await {
            let Ok(f) = f else { break };
            if let Ok(d) = f.into_data() {
                mine.extend_from_slice(&d);
                if let Ok(mut v) = self.bodies.lock() {
                    v.extend_from_slice(&d);
                }
            }
        }
        if let Ok(mut v) = self.body_list.lock() {
            v.push(mine);
        }
        if grpc {
            let mut r = Response::new(Full::new(Bytes::from_static(&[0, 0, 0, 0, 0])));
            r.headers_mut().insert(
                "content-type",
                hyper::header::HeaderValue::from_static("application/grpc"),
            );
            r.headers_mut()
                .insert("grpc-status", hyper::header::HeaderValue::from_static("0"));
            r
        } else {
            json_response(StatusCode::OK, r#"{"received":true}"#.into())
        }
    }
}

/// Bytes of the synthetic patient's identifiers in `hay`.
pub(super) fn phi_bytes(hay: &[u8]) -> usize {
    PHI_NEEDLES
        .iter()
        .map(|n| count(hay, n.as_bytes()) * n.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use phimesh_testkit::codec::{grpc_frame, gzip};

    use super::super::clients::{get, grpc, http1, http1_chunked, post, split_in_ssn};
    use super::super::{MRN, SSN};
    use super::*;

    #[test]
    fn phi_counting_sees_through_encodings() {
        let phi = patient_json();
        assert!(phi_bytes(phi.as_bytes()) >= SSN.len() + MRN.len());
        assert_eq!(phi_bytes(br#"{"plan":"team"}"#), 0);
        let gz = gzip(phi.as_bytes());
        assert_eq!(
            phi_bytes(&gz),
            0,
            "compressed bytes hide the PHI from a raw search"
        );
        assert_eq!(phi_bytes(&gunzip_all(&gz)), phi_bytes(phi.as_bytes()));
        let framed = grpc_frame(false, phi.as_bytes());
        assert_eq!(phi_bytes(&grpc_unframe(&framed)), phi_bytes(phi.as_bytes()));
    }

    /// Without a sidecar in between, the sink does see the PHI: the zeros in the demo's table
    /// come from the refusals, not from a blind counter.
    #[tokio::test]
    async fn the_sink_counts_phi_that_reaches_it_in_every_form() {
        let sink = Arc::new(Sink::default());
        let (addr, task) = serve_app("127.0.0.1:0".parse().unwrap(), "sink", sink.clone())
            .await
            .unwrap();
        let phi = patient_json();
        let full = phi_bytes(phi.as_bytes());

        let m = sink.mark();
        let r = http1(addr, post("/c", Bytes::from(phi.clone()), &[]))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(sink.since(m), (phi.len(), full));

        let m = sink.mark();
        let gz = gzip(phi.as_bytes());
        http1(
            addr,
            post(
                "/c",
                Bytes::from(gz.clone()),
                &[("content-encoding", "gzip")],
            ),
        )
        .await
        .unwrap();
        assert_eq!(sink.since(m), (gz.len(), full));

        let m = sink.mark();
        http1_chunked(addr, "/c", split_in_ssn(&phi)).await.unwrap();
        // On the wire the SSN is split by the chunk framing; the decoded body has it whole.
        let (body, phi_seen) = sink.since(m);
        assert_eq!((body, phi_seen), (phi.len(), full));

        let m = sink.mark();
        let r = grpc(addr, &phi).await.unwrap();
        assert_eq!(r.grpc_status, Some(0));
        assert_eq!(sink.since(m).1, full);

        let m = sink.mark();
        http1(
            addr,
            post("/c", Bytes::from_static(b"{\"plan\":\"team\"}"), &[]),
        )
        .await
        .unwrap();
        assert_eq!(sink.since(m).1, 0);
        task.abort();
    }

    #[tokio::test]
    async fn patient_service_serves_and_stores_records() {
        let svc = Arc::new(PatientService::default());
        let (addr, task) = serve_app("127.0.0.1:0".parse().unwrap(), "patients", svc.clone())
            .await
            .unwrap();
        let r = http1(addr, get("/patients/4711")).await.unwrap();
        assert!(r.status.is_success() && r.body_has(SSN));
        let r = http1(addr, post("/patients", Bytes::from(patient_json()), &[]))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(svc.received(), 1);
        task.abort();
    }
}
