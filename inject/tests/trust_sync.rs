//! `sync-trust-bundle` against a small fake Kubernetes API server written to the published core/v1
//! API (real HTTPS with rustls, real JSON, bearer-token check, `resourceVersion` conflicts).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use phimesh_inject::trust_sync::{self, KubeApi, SyncReport};
use serde_json::{json, Value};

const TOKEN: &str = "sync-token";

#[derive(Default)]
struct Api {
    /// namespace → stored ConfigMap (with resourceVersion).
    configmaps: BTreeMap<String, Value>,
    writes: Vec<String>,
    next_rv: u64,
}

fn resp(status: u16, body: Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    r
}

fn not_found() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "NotFound", "code": 404})
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    api: Arc<Mutex<Api>>,
) -> Response<Full<Bytes>> {
    if req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {TOKEN}"))
    {
        return resp(401, json!({"kind": "Status", "code": 401}));
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let mut api = api.lock().unwrap();
    if path == "/api/v1/namespaces" {
        let ns = |name: &str, phase: &str| json!({"metadata": {"name": name}, "status": {"phase": phase}});
        return resp(
            200,
            json!({
                "apiVersion": "v1", "kind": "NamespaceList", "metadata": {"resourceVersion": "1"},
                "items": [ns("patients", "Active"), ns("web", "Active"), ns("kube-system", "Active"),
                          ns("phimesh-system", "Active"), ns("leaving", "Terminating"), ns("locked", "Active")]
            }),
        );
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // api v1 namespaces NS configmaps [NAME]
    let ns = parts[3].to_owned();
    if ns == "locked" {
        return resp(403, json!({"kind": "Status", "code": 403}));
    }
    match (method.as_str(), parts.len()) {
        ("GET", 6) => match api.configmaps.get(&ns) {
            Some(cm) => resp(200, cm.clone()),
            None => resp(404, not_found()),
        },
        ("POST", 5) => {
            let mut cm: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(cm["metadata"]["name"], "phimesh-trust-bundle");
            api.next_rv += 1;
            cm["metadata"]["resourceVersion"] = json!(api.next_rv.to_string());
            api.configmaps.insert(ns.clone(), cm.clone());
            api.writes.push(format!("create {ns}"));
            resp(201, cm)
        }
        ("PUT", 6) => {
            let mut cm: Value = serde_json::from_slice(&body).unwrap();
            let stored = api.configmaps[&ns]["metadata"]["resourceVersion"].clone();
            if cm["metadata"]["resourceVersion"] != stored {
                return resp(
                    409,
                    json!({"kind": "Status", "code": 409, "reason": "Conflict"}),
                );
            }
            api.next_rv += 1;
            cm["metadata"]["resourceVersion"] = json!(api.next_rv.to_string());
            api.configmaps.insert(ns.clone(), cm.clone());
            api.writes.push(format!("update {ns}"));
            resp(200, cm)
        }
        _ => resp(405, json!({})),
    }
}

async fn fake_api(dir: &std::path::Path) -> (KubeApi, Arc<Mutex<Api>>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(dir.join("ca.crt"), ck.cert.pem()).unwrap();
    std::fs::write(dir.join("token"), format!("{TOKEN}\n")).unwrap();
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![ck.cert.der().clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = Arc::new(Mutex::new(Api::default()));
    let st = state.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            let st = st.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = hyper::service::service_fn(move |req| {
                    let st = st.clone();
                    async move { Ok::<_, Infallible>(handle(req, st).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    let api = KubeApi {
        host: "localhost".into(),
        port,
        ca_file: dir.join("ca.crt"),
        token_file: dir.join("token"),
    };
    (api, state)
}

fn bundle(n: u8) -> String {
    let ck = rcgen::generate_simple_self_signed(vec![format!("root-{n}")]).unwrap();
    ck.cert.pem()
}

#[tokio::test]
async fn creates_then_leaves_alone_then_updates_every_namespace_but_system_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (api, state) = fake_api(dir.path()).await;
    let first = bundle(1);

    let r = trust_sync::sync_once(&api, &first).await.unwrap();
    assert_eq!(
        r,
        SyncReport {
            created: 2,
            updated: 0,
            unchanged: 0,
            failed: 1
        }
    );
    {
        let s = state.lock().unwrap();
        assert_eq!(s.writes, ["create patients", "create web"]);
        assert_eq!(
            s.configmaps["patients"]["data"]["trust-bundle.pem"],
            first.as_str()
        );
        assert_eq!(
            s.configmaps["web"]["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "phimesh-trust-sync"
        );
    }

    let r = trust_sync::sync_once(&api, &first).await.unwrap();
    assert_eq!(
        r,
        SyncReport {
            created: 0,
            updated: 0,
            unchanged: 2,
            failed: 1
        }
    );

    // A rotation: the new bundle replaces the old one, with the resourceVersion read.
    let both = format!("{first}{}", bundle(2));
    let r = trust_sync::sync_once(&api, &both).await.unwrap();
    assert_eq!(
        r,
        SyncReport {
            created: 0,
            updated: 2,
            unchanged: 0,
            failed: 1
        }
    );
    let s = state.lock().unwrap();
    assert_eq!(
        s.configmaps["web"]["data"]["trust-bundle.pem"],
        both.as_str()
    );
    assert!(
        !s.writes
            .iter()
            .any(|w| w.contains("system") || w.contains("leaving")),
        "{:?}",
        s.writes
    );
}

#[tokio::test]
async fn a_wrong_token_or_file_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (mut api, state) = fake_api(dir.path()).await;
    std::fs::write(dir.path().join("token"), "wrong").unwrap();
    let e = trust_sync::sync_once(&api, &bundle(1)).await.unwrap_err();
    assert!(e.to_string().contains("HTTP 401"), "{e}");
    assert!(
        !e.to_string().contains("wrong"),
        "the token is never in an error: {e}"
    );
    assert!(state.lock().unwrap().writes.is_empty());
    api.ca_file = dir.path().join("missing.crt");
    assert!(trust_sync::sync_once(&api, &bundle(1)).await.is_err());

    let not_pem = dir.path().join("bundle.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let e = trust_sync::read_bundle(&not_pem).unwrap_err();
    assert!(e.to_string().contains("no PEM certificate"), "{e}");
}
