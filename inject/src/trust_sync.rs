//! `phimesh webhook sync-trust-bundle`: copies the mesh's trust bundle into the ConfigMap
//! `phimesh-trust-bundle` of every namespace, where injected sidecars mount it.
//!
//! A pod can only mount ConfigMaps of its own namespace, so the bundle (public certificates only)
//! has to be in each one, as Istio's `istio-ca-root-cert` is. The source is a file — in
//! `deploy/`, the ConfigMap `phimesh-trust-bundle` of `phimesh-system` mounted into this
//! process — re-read on every pass, so a root rotation reaches every namespace within one
//! interval. Each pass lists namespaces, and for each one not in
//! [`crate::pod::SYSTEM_NAMESPACES`] and not terminating creates the ConfigMap, replaces its data
//! when it differs (with the `resourceVersion` it read, so a concurrent writer is not
//! overwritten blindly), or leaves it alone. A file that holds no PEM certificate is never
//! distributed. Failures in one namespace are counted and logged; the rest still sync.
//!
//! The Kubernetes API is reached with the in-cluster service-account token and CA (or flags),
//! over one HTTP/1.1 connection per pass, each call with a deadline and a response-size cap.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Method, Request};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::List;
use rustls_pki_types::ServerName;

use crate::config::TRUST_BUNDLE_CONFIGMAP;
use crate::pod::SYSTEM_NAMESPACES;

/// Key of the bundle in the ConfigMap (the injected volume mounts this item).
pub const BUNDLE_KEY: &str = "trust-bundle.pem";
/// Deadline of one API call.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest API response read (a namespace list of a large cluster fits).
const MAX_RESPONSE: usize = 32 * 1024 * 1024;
/// Largest bundle file read.
const MAX_BUNDLE: u64 = 1024 * 1024;

/// Where the API server is and how to authenticate to it.
#[derive(Debug, Clone)]
pub struct KubeApi {
    /// Host name or IP of the API server.
    pub host: String,
    /// Port.
    pub port: u16,
    /// PEM roots that verify the API server.
    pub ca_file: PathBuf,
    /// Bearer token file (re-read per pass: projected tokens rotate).
    pub token_file: PathBuf,
}

/// Errors of a pass or a call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// A local file could not be used.
    #[error("{0}")]
    File(String),
    /// Connecting or talking to the API server failed.
    #[error("kubernetes API: {0}")]
    Api(String),
    /// The API server answered with an unexpected status.
    #[error("kubernetes API {method} {path}: HTTP {status}")]
    Status {
        /// Method.
        method: &'static str,
        /// Path.
        path: String,
        /// Status code.
        status: u16,
    },
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SyncReport {
    /// ConfigMaps created.
    pub created: usize,
    /// ConfigMaps whose bundle was replaced.
    pub updated: usize,
    /// ConfigMaps already current.
    pub unchanged: usize,
    /// Namespaces that failed (logged).
    pub failed: usize,
}

/// Reads the bundle file and checks that it holds at least one PEM certificate.
pub fn read_bundle(path: &std::path::Path) -> Result<String, SyncError> {
    use std::io::Read;
    let mut s = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_BUNDLE).read_to_string(&mut s))
        .map_err(|e| SyncError::File(format!("{}: {e}", path.display())))?;
    let certs = rustls_pemfile::certs(&mut s.as_bytes())
        .filter(|c| c.is_ok())
        .count();
    if certs == 0 {
        return Err(SyncError::File(format!(
            "{}: no PEM certificate; not distributing it",
            path.display()
        )));
    }
    Ok(s)
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

struct Conn {
    sender: Sender,
    host: String,
    token: String,
}

impl KubeApi {
    async fn connect(&self) -> Result<Conn, SyncError> {
        let roots_pem = std::fs::read(&self.ca_file)
            .map_err(|e| SyncError::File(format!("{}: {e}", self.ca_file.display())))?;
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls_pemfile::certs(&mut &roots_pem[..]).flatten() {
            let _ = roots.add(c);
        }
        if roots.is_empty() {
            return Err(SyncError::File(format!(
                "{}: no CA certificate",
                self.ca_file.display()
            )));
        }
        let token = std::fs::read_to_string(&self.token_file)
            .map_err(|e| SyncError::File(format!("{}: {e}", self.token_file.display())))?
            .trim()
            .to_owned();
        let cfg = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| SyncError::Api(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = ServerName::try_from(self.host.clone())
            .map_err(|_| SyncError::Api(format!("bad host {:?}", self.host)))?;
        let fut = async {
            let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| SyncError::Api(format!("connect {}:{}: {e}", self.host, self.port)))?;
            let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
                .connect(name, tcp)
                .await
                .map_err(|e| SyncError::Api(format!("TLS: {e}")))?;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
                .await
                .map_err(|e| SyncError::Api(e.to_string()))?;
            tokio::spawn(conn);
            Ok::<_, SyncError>(sender)
        };
        let sender = tokio::time::timeout(CALL_TIMEOUT, fut)
            .await
            .map_err(|_| SyncError::Api("connect timed out".into()))??;
        let host = if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        };
        Ok(Conn {
            sender,
            host,
            token,
        })
    }
}

impl Conn {
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Bytes), SyncError> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.host)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::ACCEPT, "application/json");
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| SyncError::Api(e.to_string()))?;
        let fut = async {
            self.sender
                .ready()
                .await
                .map_err(|e| SyncError::Api(e.to_string()))?;
            let resp = self
                .sender
                .send_request(req)
                .await
                .map_err(|e| SyncError::Api(e.to_string()))?;
            let status = resp.status().as_u16();
            let body = Limited::new(resp.into_body(), MAX_RESPONSE)
                .collect()
                .await
                .map_err(|_| SyncError::Api("response body too large or cut".into()))?
                .to_bytes();
            Ok::<_, SyncError>((status, body))
        };
        tokio::time::timeout(CALL_TIMEOUT, fut)
            .await
            .map_err(|_| SyncError::Api("call timed out".into()))?
    }
}

fn status(method: &'static str, path: &str, status: u16) -> SyncError {
    SyncError::Status {
        method,
        path: path.to_owned(),
        status,
    }
}

fn configmap(ns: &str, bundle: &str, resource_version: Option<String>) -> Vec<u8> {
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(TRUST_BUNDLE_CONFIGMAP.into()),
            namespace: Some(ns.into()),
            labels: Some(
                [
                    ("app.kubernetes.io/part-of".to_owned(), "phimesh".to_owned()),
                    (
                        "app.kubernetes.io/managed-by".to_owned(),
                        "phimesh-trust-sync".to_owned(),
                    ),
                ]
                .into(),
            ),
            resource_version,
            ..Default::default()
        },
        data: Some([(BUNDLE_KEY.to_owned(), bundle.to_owned())].into()),
        ..Default::default()
    };
    serde_json::to_vec(&cm).unwrap_or_default()
}

/// One pass over every namespace.
pub async fn sync_once(api: &KubeApi, bundle: &str) -> Result<SyncReport, SyncError> {
    let mut conn = api.connect().await?;
    let path = "/api/v1/namespaces";
    let (code, body) = conn.call(Method::GET, path, None).await?;
    if code != 200 {
        return Err(status("GET", path, code));
    }
    let list: List<Namespace> = serde_json::from_slice(&body)
        .map_err(|e| SyncError::Api(format!("namespace list: {e}")))?;
    let mut report = SyncReport::default();
    for ns in list.items {
        let Some(name) = ns.metadata.name else {
            continue;
        };
        let terminating = ns.metadata.deletion_timestamp.is_some()
            || ns.status.and_then(|s| s.phase).as_deref() == Some("Terminating");
        if terminating || SYSTEM_NAMESPACES.contains(&name.as_str()) {
            continue;
        }
        match sync_namespace(&mut conn, &name, bundle).await {
            Ok(Outcome::Created) => report.created += 1,
            Ok(Outcome::Updated) => report.updated += 1,
            Ok(Outcome::Unchanged) => report.unchanged += 1,
            Err(e) => {
                tracing::warn!(namespace = %name, error = %e, "trust bundle not synced");
                report.failed += 1;
                if matches!(e, SyncError::Api(_)) {
                    // The connection may be broken: start a new one for the next namespace.
                    conn = api.connect().await?;
                }
            }
        }
    }
    Ok(report)
}

enum Outcome {
    Created,
    Updated,
    Unchanged,
}

async fn sync_namespace(conn: &mut Conn, ns: &str, bundle: &str) -> Result<Outcome, SyncError> {
    let item = format!("/api/v1/namespaces/{ns}/configmaps/{TRUST_BUNDLE_CONFIGMAP}");
    let (code, body) = conn.call(Method::GET, &item, None).await?;
    match code {
        404 => {
            let list = format!("/api/v1/namespaces/{ns}/configmaps");
            let (code, _) = conn
                .call(Method::POST, &list, Some(configmap(ns, bundle, None)))
                .await?;
            match code {
                200 | 201 => Ok(Outcome::Created),
                _ => Err(status("POST", &list, code)),
            }
        }
        200 => {
            let cm: ConfigMap = serde_json::from_slice(&body)
                .map_err(|e| SyncError::Api(format!("configmap: {e}")))?;
            let current = cm.data.as_ref().and_then(|d| d.get(BUNDLE_KEY));
            if current.map(String::as_str) == Some(bundle) {
                return Ok(Outcome::Unchanged);
            }
            let (code, _) = conn
                .call(
                    Method::PUT,
                    &item,
                    Some(configmap(ns, bundle, cm.metadata.resource_version)),
                )
                .await?;
            match code {
                200 => Ok(Outcome::Updated),
                _ => Err(status("PUT", &item, code)),
            }
        }
        _ => Err(status("GET", &item, code)),
    }
}

/// Runs passes every `interval` until the process is stopped.
pub async fn run(api: KubeApi, bundle_file: PathBuf, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let bundle = match read_bundle(&bundle_file) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "trust bundle unreadable; nothing synced this pass");
                continue;
            }
        };
        match sync_once(&api, &bundle).await {
            Ok(r) => tracing::info!(
                created = r.created,
                updated = r.updated,
                unchanged = r.unchanged,
                failed = r.failed,
                "trust bundle synced"
            ),
            Err(e) => tracing::warn!(error = %e, "trust bundle sync pass failed"),
        }
    }
}
