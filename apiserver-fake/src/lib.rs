//! A small Kubernetes API server for tests, written to the published API: real HTTPS (a
//! certificate made at start by rcgen), real JSON, and a generic in-memory object store.
//!
//! ```no_run
//! # async fn demo() {
//! use phimesh_fake_apiserver::{FakeApiServer, ObjectRef};
//! let api = FakeApiServer::start().await.unwrap();
//! api.add_token("ca-token", "system:serviceaccount:phimesh-system:phimesh-ca", &[]);
//! let dir = tempfile::tempdir().unwrap();
//! let kubeconfig = dir.path().join("kubeconfig");
//! api.write_kubeconfig(&kubeconfig, "ca-token", "phimesh-system").unwrap();
//! // ... point a client at it with KUBECONFIG=<kubeconfig> ...
//! let secret = api.get(&ObjectRef::core("secrets", Some("phimesh-system"), "phimesh-ca-state"));
//! # }
//! ```
//!
//! # What it serves
//!
//! * **Resources** under `/api/v1/...` and `/apis/{group}/{version}/...`: the built-in table has
//!   `pods`, `secrets`, `configmaps`, `services`, `serviceaccounts`, `events` (namespaced),
//!   `namespaces`, `nodes` (cluster-scoped), `coordination.k8s.io/v1` `leases` and `apps/v1`
//!   `deployments`; [`FakeApiServer::register_resource`] adds more. An unknown resource is 404.
//!   * `GET` an object, or a list (`labelSelector`, `fieldSelector` on any dotted path such as
//!     `metadata.name`; a namespaced resource can be listed across namespaces at
//!     `/api/v1/pods`); the list's `metadata.resourceVersion` is the store's current version.
//!   * `POST` creates (`generateName` works; an existing name is `409 AlreadyExists`), `PUT`
//!     replaces (a `metadata.resourceVersion` that is not the current one is `409 Conflict`;
//!     none means unconditional, as the real server does), `PATCH` applies a merge patch
//!     (`application/merge-patch+json`; `strategic-merge-patch+json` is read as a merge patch,
//!     which is what it is for maps) or a JSON patch (`application/json-patch+json`), with the
//!     same resourceVersion precondition when the patch carries one; `DELETE` removes.
//!   * Secrets: `stringData` is folded into `data` (base64) on write, as the real server does,
//!     and `data` values must be valid base64 (400 otherwise).
//!   * **Watch**: `?watch=true[&resourceVersion=N]` streams newline-delimited `WatchEvent`s
//!     (`ADDED`, `MODIFIED`, `DELETED`) over a chunked response. Without `resourceVersion` (or
//!     with `0`) it first sends an `ADDED` for every matching object, then live events; with `N`
//!     it replays every event after `N`. A version older than the retained history (see
//!     [`FakeApiServer::compact`]) gets the real server's answer: HTTP 200 and one `ERROR` event
//!     whose object is a `Status` with code 410 (`Expired`). `timeoutSeconds` ends the stream.
//!     Selectors filter events by the object's new state.
//!   * Every client write, successful or not, is recorded in [`FakeApiServer::writes`]; every
//!     successful write takes the next value of one global, monotonically increasing
//!     `resourceVersion`.
//! * **TokenReview**: `POST /apis/authentication.k8s.io/v1/tokenreviews` answers from the token
//!   table ([`FakeApiServer::add_token`]): authenticated when the token is known and, if the
//!   review names audiences, one of them is among the token's (a token registered with no
//!   audiences accepts any).
//! * **Authentication**: every request needs `Authorization: Bearer T` with `T` in the token
//!   table; otherwise `401` with a `Status`.
//! * `GET /version`.
//!
//! Errors are `Status` objects (`{"kind":"Status","status":"Failure","reason","code",...}`) as
//! the real server sends them. Namespaces need not exist for objects to be created in them.
//!
//! # Fault injection
//!
//! * [`FakeApiServer::force_conflicts`]: the next N writes of one object answer 409 Conflict
//!   whatever their resourceVersion (recorded with `forced: true`).
//! * [`FakeApiServer::compact`]: forget the watch history, so resuming an older version is 410.
//! * [`FakeApiServer::close_watches`]: end every open watch stream (clients must re-watch).
//! * [`FakeApiServer::set_unavailable`]: answer every request 503 until cleared.
//!
//! No authorization (RBAC) is evaluated: every authenticated caller may do everything.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod select;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::{broadcast, watch};

pub use select::{FieldSelector, LabelSelector};

/// Largest request body accepted (the real server's limit is 3 MiB).
const MAX_BODY: usize = 3 * 1024 * 1024;
/// Watch events kept for resuming watches.
const HISTORY: usize = 10_000;
/// Longest a watch stays open without `timeoutSeconds`.
const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(1800);

/// Names one object: API group (`""` for the core group), plural resource name, namespace
/// (`None` for cluster-scoped resources) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// API group, `""` for core (`v1`).
    pub group: String,
    /// Plural resource name (`secrets`, `leases`, ...).
    pub plural: String,
    /// Namespace, `None` when cluster-scoped.
    pub namespace: Option<String>,
    /// Object name.
    pub name: String,
}

impl ObjectRef {
    /// An object of the core group (`/api/v1`).
    pub fn core(plural: &str, namespace: Option<&str>, name: &str) -> Self {
        Self::new("", plural, namespace, name)
    }

    /// An object of any group.
    pub fn new(group: &str, plural: &str, namespace: Option<&str>, name: &str) -> Self {
        ObjectRef {
            group: group.to_owned(),
            plural: plural.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
        }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = if self.group.is_empty() {
            String::new()
        } else {
            format!(".{}", self.group)
        };
        match &self.namespace {
            Some(ns) => write!(f, "{}{g} {ns}/{}", self.plural, self.name),
            None => write!(f, "{}{g} {}", self.plural, self.name),
        }
    }
}

/// The kind of write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `POST` to a collection.
    Create,
    /// `PUT` an object.
    Update,
    /// `PATCH` an object.
    Patch,
    /// `DELETE` an object.
    Delete,
}

/// One write as the server saw it.
#[derive(Debug, Clone)]
pub struct WriteRecord {
    /// What was written.
    pub verb: Verb,
    /// The object.
    pub object: ObjectRef,
    /// HTTP status answered.
    pub status: u16,
    /// The `metadata.resourceVersion` the request carried (its precondition), if any.
    pub precondition: Option<String>,
    /// The object's resourceVersion after a successful write (for a delete: the deletion's).
    pub resource_version: Option<u64>,
    /// Whether the answer was a conflict forced by [`FakeApiServer::force_conflicts`].
    pub forced: bool,
    /// The object as stored after a successful create/update/patch.
    pub stored: Option<Value>,
}

/// One request as the server saw it (for asserting what a client asked).
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Query string (without `?`).
    pub query: String,
    /// HTTP status answered (200 for watches, whatever they stream).
    pub status: u16,
}

/// What a token in the token table is.
#[derive(Debug, Clone)]
struct TokenEntry {
    username: String,
    uid: String,
    groups: Vec<String>,
    audiences: Vec<String>,
}

#[derive(Debug, Clone)]
struct ResourceType {
    version: String,
    kind: String,
    namespaced: bool,
}

#[derive(Debug, Clone)]
struct Event {
    rv: u64,
    kind: &'static str,
    key: ObjectRef,
    object: Value,
}

struct Store {
    rv: u64,
    uid: u64,
    objects: BTreeMap<ObjectRef, Value>,
    history: VecDeque<Arc<Event>>,
    /// Watches may resume from this version or later.
    oldest_rv: u64,
    writes: Vec<WriteRecord>,
    requests: Vec<RequestRecord>,
    forced: HashMap<ObjectRef, u32>,
    tokens: HashMap<String, TokenEntry>,
    types: HashMap<(String, String), ResourceType>,
    events: broadcast::Sender<Arc<Event>>,
}

struct Shared {
    store: Mutex<Store>,
    close_watches: watch::Sender<u64>,
    /// Turns true when the server is dropped: every connection closes.
    stopped: watch::Sender<bool>,
    unavailable: AtomicBool,
}

/// The running fake API server. Dropping it stops it: the listener closes and so does every
/// open connection (a client then sees the server gone, not a kept-alive connection).
pub struct FakeApiServer {
    addr: SocketAddr,
    ca_pem: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FakeApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeApiServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.task.abort();
        let _ = self.shared.close_watches.send(u64::MAX);
        let _ = self.shared.stopped.send(true);
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn builtin_types() -> HashMap<(String, String), ResourceType> {
    let mut m = HashMap::new();
    let mut add = |group: &str, version: &str, plural: &str, kind: &str, namespaced: bool| {
        m.insert(
            (group.to_owned(), plural.to_owned()),
            ResourceType {
                version: version.to_owned(),
                kind: kind.to_owned(),
                namespaced,
            },
        );
    };
    add("", "v1", "pods", "Pod", true);
    add("", "v1", "secrets", "Secret", true);
    add("", "v1", "configmaps", "ConfigMap", true);
    add("", "v1", "services", "Service", true);
    add("", "v1", "serviceaccounts", "ServiceAccount", true);
    add("", "v1", "events", "Event", true);
    add("", "v1", "namespaces", "Namespace", false);
    add("", "v1", "nodes", "Node", false);
    add("coordination.k8s.io", "v1", "leases", "Lease", true);
    add("apps", "v1", "deployments", "Deployment", true);
    m
}

fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}

/// A failure answered as a `Status` object.
#[derive(Debug)]
struct Failure {
    code: u16,
    reason: &'static str,
    message: String,
    details: Option<(String, String)>,
}

impl Failure {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Failure {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn on(mut self, key: &ObjectRef) -> Self {
        self.details = Some((key.name.clone(), key.plural.clone()));
        self
    }

    fn not_found(key: &ObjectRef) -> Self {
        Failure::new(
            404,
            "NotFound",
            format!("{} \"{}\" not found", key.plural, key.name),
        )
        .on(key)
    }

    fn conflict(key: &ObjectRef) -> Self {
        Failure::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{}\": the object has been modified; please apply your changes to the latest version and try again",
                key.plural, key.name
            ),
        )
        .on(key)
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Failure::new(400, "BadRequest", message)
    }

    fn to_json(&self) -> Value {
        let mut v = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some((name, kind)) = &self.details {
            v["details"] = json!({"name": name, "kind": kind});
        }
        v
    }
}

type Body = BoxBody<Bytes, Infallible>;

fn json_response(code: u16, v: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(v.to_string())).boxed())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}

fn failure_response(f: &Failure) -> Response<Body> {
    json_response(f.code, &f.to_json())
}

/// The parsed target of a request.
#[derive(Debug)]
struct Target {
    group: String,
    version: String,
    plural: String,
    /// `Some` for a namespaced path (`.../namespaces/NS/plural...`).
    namespace: Option<String>,
    name: Option<String>,
}

fn parse_target(path: &str) -> Option<Target> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => (String::new(), (*v).to_owned(), rest),
        ["apis", g, v, rest @ ..] => ((*g).to_owned(), (*v).to_owned(), rest),
        _ => return None,
    };
    let s = |x: &&str| (*x).to_owned();
    let (plural, namespace, name) = match rest {
        [plural] => (s(plural), None, None),
        ["namespaces", ns, plural] => (s(plural), Some(s(ns)), None),
        ["namespaces", ns, plural, name] => (s(plural), Some(s(ns)), Some(s(name))),
        [plural, name] => (s(plural), None, Some(s(name))),
        _ => return None,
    };
    if [&plural, namespace.as_ref().unwrap_or(&plural)]
        .iter()
        .chain(name.as_ref().iter())
        .any(|p| p.is_empty())
    {
        return None;
    }
    Some(Target {
        group,
        version,
        plural,
        namespace,
        name,
    })
}

fn query_map(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Store {
    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn emit(&mut self, kind: &'static str, key: &ObjectRef, object: &Value, rv: u64) {
        let ev = Arc::new(Event {
            rv,
            kind,
            key: key.clone(),
            object: object.clone(),
        });
        self.history.push_back(ev.clone());
        while self.history.len() > HISTORY {
            if let Some(old) = self.history.pop_front() {
                self.oldest_rv = old.rv;
            }
        }
        let _ = self.events.send(ev);
    }

    fn resource_type(&self, group: &str, plural: &str) -> Option<ResourceType> {
        self.types
            .get(&(group.to_owned(), plural.to_owned()))
            .cloned()
    }

    /// Fills server-set fields and checks the object before it is stored.
    fn prepare(
        &mut self,
        key: &ObjectRef,
        ty: &ResourceType,
        mut obj: Value,
        previous: Option<&Value>,
    ) -> Result<Value, Failure> {
        if !obj.is_object() {
            return Err(Failure::bad_request("object is not a JSON object"));
        }
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        obj["apiVersion"] = Value::String(api_version(&key.group, &ty.version));
        obj["kind"] = Value::String(ty.kind.clone());
        let meta = &mut obj["metadata"];
        meta["name"] = Value::String(key.name.clone());
        match &key.namespace {
            Some(ns) => meta["namespace"] = Value::String(ns.clone()),
            None => {
                if let Some(m) = meta.as_object_mut() {
                    m.remove("namespace");
                }
            }
        }
        match previous {
            Some(p) => {
                for f in ["uid", "creationTimestamp"] {
                    meta[f] = p["metadata"][f].clone();
                }
            }
            None => {
                self.uid += 1;
                meta["uid"] = Value::String(format!("00000000-0000-4000-8000-{:012}", self.uid));
                meta["creationTimestamp"] = Value::String(now_rfc3339());
            }
        }
        if ty.kind == "Secret" {
            fold_string_data(&mut obj)?;
        }
        Ok(obj)
    }
}

fn fold_string_data(obj: &mut Value) -> Result<(), Failure> {
    let b64 = base64::engine::general_purpose::STANDARD;
    if let Some(Value::Object(sd)) = obj.as_object_mut().and_then(|o| o.remove("stringData")) {
        if !obj.get("data").is_some_and(Value::is_object) {
            obj["data"] = json!({});
        }
        for (k, v) in sd {
            let s = v
                .as_str()
                .ok_or_else(|| Failure::bad_request(format!("stringData.{k} is not a string")))?;
            obj["data"][k] = Value::String(b64.encode(s));
        }
    }
    if let Some(Value::Object(data)) = obj.get("data") {
        for (k, v) in data {
            let ok = v.as_str().is_some_and(|s| b64.decode(s).is_ok());
            if !ok {
                return Err(Failure::bad_request(format!(
                    "data[{k}]: illegal base64 data"
                )));
            }
        }
    }
    Ok(())
}

fn precondition_of(obj: &Value) -> Option<String> {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn set_rv(obj: &mut Value, rv: u64) {
    obj["metadata"]["resourceVersion"] = Value::String(rv.to_string());
}

impl FakeApiServer {
    /// Starts the server on `127.0.0.1:0` with a fresh CA and serving certificate (for
    /// `127.0.0.1` and `localhost`).
    pub async fn start() -> std::io::Result<FakeApiServer> {
        let (ca_pem, cert_der, key_der) = make_certs().map_err(std::io::Error::other)?;
        let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![cert_der], key_der)
        .map_err(std::io::Error::other)?;
        let mut cfg = cfg;
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (events, _) = broadcast::channel(4096);
        let shared = Arc::new(Shared {
            store: Mutex::new(Store {
                rv: 1000,
                uid: 0,
                objects: BTreeMap::new(),
                history: VecDeque::new(),
                oldest_rv: 1000,
                writes: Vec::new(),
                requests: Vec::new(),
                forced: HashMap::new(),
                tokens: HashMap::new(),
                types: builtin_types(),
                events,
            }),
            close_watches: watch::channel(0).0,
            stopped: watch::channel(false).0,
            unavailable: AtomicBool::new(false),
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let acceptor = acceptor.clone();
                let s = s.clone();
                let mut stopped = s.stopped.subscribe();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let serve_state = s.clone();
                    let service = hyper::service::service_fn(move |req| {
                        let s = serve_state.clone();
                        async move { Ok::<_, Infallible>(handle(&s, req).await) }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service);
                    tokio::select! {
                        _ = conn => {}
                        _ = stopped.wait_for(|s| *s) => {}
                    }
                });
            }
        });
        Ok(FakeApiServer {
            addr,
            ca_pem,
            shared,
            task,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The CA certificate (PEM) that verifies the server.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A kubeconfig (YAML) for this server: the CA inline, bearer `token`, default `namespace`.
    pub fn kubeconfig(&self, token: &str, namespace: &str) -> String {
        let ca = base64::engine::general_purpose::STANDARD.encode(&self.ca_pem);
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\nusers:\n- name: fake\n  user:\n    token: {token}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: {namespace}\ncurrent-context: fake\n",
            self.url()
        )
    }

    /// Writes [`FakeApiServer::kubeconfig`] to `path` (mode 0600).
    pub fn write_kubeconfig(
        &self,
        path: &Path,
        token: &str,
        namespace: &str,
    ) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(self.kubeconfig(token, namespace).as_bytes())
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.shared.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a token: it authenticates requests to this server and TokenReviews answer it as
    /// `username` (uid and groups filled in), valid for `audiences` (any audience when empty).
    pub fn add_token(&self, token: &str, username: &str, audiences: &[&str]) {
        let mut st = self.store();
        let uid = format!("uid-{}", st.tokens.len() + 1);
        let mut groups = vec!["system:authenticated".to_owned()];
        if username.starts_with("system:serviceaccount:") {
            groups.push("system:serviceaccounts".to_owned());
        }
        st.tokens.insert(
            token.to_owned(),
            TokenEntry {
                username: username.to_owned(),
                uid,
                groups,
                audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
            },
        );
    }

    /// Removes a token.
    pub fn remove_token(&self, token: &str) {
        self.store().tokens.remove(token);
    }

    /// Adds a resource type: `group` (`""` for core), `version`, `plural`, `kind`, and whether
    /// it is namespaced.
    pub fn register_resource(
        &self,
        group: &str,
        version: &str,
        plural: &str,
        kind: &str,
        namespaced: bool,
    ) {
        self.store().types.insert(
            (group.to_owned(), plural.to_owned()),
            ResourceType {
                version: version.to_owned(),
                kind: kind.to_owned(),
                namespaced,
            },
        );
    }

    /// The stored object, with its server-set metadata.
    pub fn get(&self, key: &ObjectRef) -> Option<Value> {
        self.store().objects.get(key).cloned()
    }

    /// Every stored object of `group`/`plural` (in `namespace`, or all), ordered by key.
    pub fn list(&self, group: &str, plural: &str, namespace: Option<&str>) -> Vec<Value> {
        self.store()
            .objects
            .iter()
            .filter(|(k, _)| {
                k.group == group
                    && k.plural == plural
                    && (namespace.is_none() || k.namespace.as_deref() == namespace)
            })
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Creates or replaces an object directly (no precondition, not recorded as a client
    /// write), as another client of the cluster would; watchers see it. Returns its new
    /// resourceVersion. Panics on an unknown resource type or an invalid object (test setup).
    pub fn put(&self, key: &ObjectRef, object: Value) -> u64 {
        let mut st = self.store();
        let ty = st
            .resource_type(&key.group, &key.plural)
            .unwrap_or_else(|| panic!("unknown resource {}/{}", key.group, key.plural));
        let previous = st.objects.get(key).cloned();
        let mut obj = st
            .prepare(key, &ty, object, previous.as_ref())
            .unwrap_or_else(|f| panic!("invalid object: {}", f.message));
        let rv = st.next_rv();
        set_rv(&mut obj, rv);
        st.objects.insert(key.clone(), obj.clone());
        let kind = if previous.is_some() {
            "MODIFIED"
        } else {
            "ADDED"
        };
        st.emit(kind, key, &obj, rv);
        rv
    }

    /// Deletes an object directly (watchers see it). Whether it existed.
    pub fn delete(&self, key: &ObjectRef) -> bool {
        let mut st = self.store();
        let Some(mut obj) = st.objects.remove(key) else {
            return false;
        };
        let rv = st.next_rv();
        set_rv(&mut obj, rv);
        st.emit("DELETED", key, &obj, rv);
        true
    }

    /// The next `n` writes (update, patch, delete) of `key` answer 409 Conflict whatever
    /// resourceVersion they carry.
    pub fn force_conflicts(&self, key: &ObjectRef, n: u32) {
        self.store().forced.insert(key.clone(), n);
    }

    /// Every client write so far, oldest first.
    pub fn writes(&self) -> Vec<WriteRecord> {
        self.store().writes.clone()
    }

    /// Client writes of one object, oldest first.
    pub fn writes_of(&self, key: &ObjectRef) -> Vec<WriteRecord> {
        self.store()
            .writes
            .iter()
            .filter(|w| &w.object == key)
            .cloned()
            .collect()
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.store().requests.clone()
    }

    /// The store's current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.store().rv
    }

    /// Forgets the watch history: a watch from any version before now gets 410 Gone.
    pub fn compact(&self) {
        let mut st = self.store();
        st.history.clear();
        st.oldest_rv = st.rv;
    }

    /// Ends every open watch stream.
    pub fn close_watches(&self) {
        self.shared.close_watches.send_modify(|g| *g += 1);
    }

    /// While set, every request is answered 503 (and open watches end).
    pub fn set_unavailable(&self, unavailable: bool) {
        self.shared.unavailable.store(unavailable, Ordering::SeqCst);
        if unavailable {
            self.close_watches();
        }
    }
}

fn make_certs() -> Result<
    (
        String,
        rustls::pki_types::CertificateDer<'static>,
        rustls::pki_types::PrivateKeyDer<'static>,
    ),
    rcgen::Error,
> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::default();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "fake-kube-apiserver-ca");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
    params
        .subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().expect("ip")));
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    let cert = params.signed_by(&key, &issuer)?;
    Ok((
        ca_cert.pem(),
        cert.der().clone(),
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    ))
}

async fn handle(shared: &Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let resp = handle_inner(shared, req).await;
    if let Ok(mut st) = shared.store.lock() {
        st.requests.push(RequestRecord {
            method: method.to_string(),
            path,
            query,
            status: resp.status().as_u16(),
        });
    }
    resp
}

async fn handle_inner(shared: &Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    if shared.unavailable.load(Ordering::SeqCst) {
        return failure_response(&Failure::new(
            503,
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        ));
    }
    let token = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let authed = token.is_some_and(|t| {
        shared
            .store
            .lock()
            .map(|st| st.tokens.contains_key(&t))
            .unwrap_or(false)
    });
    if !authed {
        return failure_response(&Failure::new(401, "Unauthorized", "Unauthorized"));
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = query_map(req.uri().query().unwrap_or(""));
    let content_type = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_owned();
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return failure_response(&Failure::new(
                413,
                "RequestEntityTooLarge",
                "request body too large",
            ))
        }
    };
    if path == "/version" && method == Method::GET {
        return json_response(
            200,
            &json!({"major": "1", "minor": "35", "gitVersion": "v1.35.0-fake", "platform": "linux/amd64"}),
        );
    }
    if path == "/apis/authentication.k8s.io/v1/tokenreviews" {
        if method != Method::POST {
            return failure_response(&Failure::new(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            ));
        }
        return token_review(shared, &body);
    }
    let Some(t) = parse_target(&path) else {
        return failure_response(&Failure::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ));
    };
    let ty = {
        let st = shared.store.lock().unwrap_or_else(|p| p.into_inner());
        st.resource_type(&t.group, &t.plural)
    };
    let Some(ty) = ty.filter(|ty| ty.version == t.version) else {
        return failure_response(&Failure::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ));
    };
    if !ty.namespaced && t.namespace.is_some() {
        return failure_response(&Failure::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ));
    }
    let result = match (&method, &t.name) {
        (&Method::GET, None) => {
            let watching = matches!(
                query.get("watch").map(String::as_str),
                Some("true") | Some("1")
            );
            if watching {
                return watch_response(shared, &t, &ty, &query);
            }
            list(shared, &t, &ty, &query)
        }
        (&Method::GET, Some(name)) => {
            let key = ObjectRef {
                group: t.group.clone(),
                plural: t.plural.clone(),
                namespace: t.namespace.clone(),
                name: name.clone(),
            };
            let st = shared.store.lock().unwrap_or_else(|p| p.into_inner());
            st.objects
                .get(&key)
                .map(|o| (200, o.clone()))
                .ok_or_else(|| Failure::not_found(&key))
        }
        (&Method::POST, None) => {
            if ty.namespaced && t.namespace.is_none() {
                Err(Failure::new(
                    405,
                    "MethodNotAllowed",
                    "create needs a namespace",
                ))
            } else {
                create(shared, &t, &ty, &body)
            }
        }
        (&Method::PUT, Some(name)) => update(shared, &t, &ty, name, &body),
        (&Method::PATCH, Some(name)) => patch(shared, &t, &ty, name, &body, &content_type),
        (&Method::DELETE, Some(name)) => delete(shared, &t, name),
        _ => Err(Failure::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )),
    };
    match result {
        Ok((code, v)) => json_response(code, &v),
        Err(f) => failure_response(&f),
    }
}

fn token_review(shared: &Arc<Shared>, body: &[u8]) -> Response<Body> {
    let Ok(review) = serde_json::from_slice::<Value>(body) else {
        return failure_response(&Failure::bad_request("body is not JSON"));
    };
    if review["kind"] != "TokenReview" || review["apiVersion"] != "authentication.k8s.io/v1" {
        return failure_response(&Failure::bad_request(
            "expected an authentication.k8s.io/v1 TokenReview",
        ));
    }
    let Some(token) = review.pointer("/spec/token").and_then(Value::as_str) else {
        return failure_response(&Failure::bad_request("spec.token: Required value"));
    };
    let wanted: Vec<String> = review
        .pointer("/spec/audiences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let entry = shared
        .store
        .lock()
        .ok()
        .and_then(|st| st.tokens.get(token).cloned());
    let status = match entry {
        Some(e) => {
            let audiences: Vec<String> = if wanted.is_empty() {
                e.audiences.clone()
            } else if e.audiences.is_empty() {
                wanted.clone()
            } else {
                wanted
                    .iter()
                    .filter(|w| e.audiences.contains(w))
                    .cloned()
                    .collect()
            };
            if !wanted.is_empty() && audiences.is_empty() {
                json!({"authenticated": false, "error": "token audiences are invalid"})
            } else {
                json!({
                    "authenticated": true,
                    "user": {"username": e.username, "uid": e.uid, "groups": e.groups},
                    "audiences": audiences,
                })
            }
        }
        None => json!({"authenticated": false, "error": "invalid bearer token"}),
    };
    let mut out = review.clone();
    out["metadata"] = json!({"creationTimestamp": null});
    out["status"] = status;
    json_response(201, &out)
}

fn selectors(
    query: &HashMap<String, String>,
) -> Result<(Option<LabelSelector>, Option<FieldSelector>), Failure> {
    let labels = match query.get("labelSelector").filter(|s| !s.is_empty()) {
        Some(s) => Some(LabelSelector::parse(s).map_err(Failure::bad_request)?),
        None => None,
    };
    let fields = match query.get("fieldSelector").filter(|s| !s.is_empty()) {
        Some(s) => Some(FieldSelector::parse(s).map_err(Failure::bad_request)?),
        None => None,
    };
    Ok((labels, fields))
}

fn in_scope(t: &Target, key: &ObjectRef) -> bool {
    key.group == t.group
        && key.plural == t.plural
        && (t.namespace.is_none() || key.namespace == t.namespace)
}

fn selected(l: &Option<LabelSelector>, f: &Option<FieldSelector>, obj: &Value) -> bool {
    l.as_ref().is_none_or(|l| l.matches(obj)) && f.as_ref().is_none_or(|f| f.matches(obj))
}

fn list(
    shared: &Arc<Shared>,
    t: &Target,
    ty: &ResourceType,
    query: &HashMap<String, String>,
) -> Result<(u16, Value), Failure> {
    let (l, f) = selectors(query)?;
    let st = shared.store.lock().unwrap_or_else(|p| p.into_inner());
    let items: Vec<Value> = st
        .objects
        .iter()
        .filter(|(k, o)| in_scope(t, k) && selected(&l, &f, o))
        .map(|(_, o)| o.clone())
        .collect();
    Ok((
        200,
        json!({
            "kind": format!("{}List", ty.kind),
            "apiVersion": api_version(&t.group, &ty.version),
            "metadata": {"resourceVersion": st.rv.to_string()},
            "items": items,
        }),
    ))
}

fn watch_line(kind: &str, object: &Value) -> Bytes {
    let mut line = json!({"type": kind, "object": object}).to_string();
    line.push('\n');
    Bytes::from(line)
}

fn watch_response(
    shared: &Arc<Shared>,
    t: &Target,
    ty: &ResourceType,
    query: &HashMap<String, String>,
) -> Response<Body> {
    let (l, f) = match selectors(query) {
        Ok(x) => x,
        Err(fail) => return failure_response(&fail),
    };
    let from = match query.get("resourceVersion").map(String::as_str) {
        None | Some("") | Some("0") => None,
        Some(v) => match v.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                return failure_response(&Failure::bad_request(format!(
                    "invalid resourceVersion {v:?}"
                )))
            }
        },
    };
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_WATCH_TIMEOUT);
    let mut backlog: Vec<Bytes> = Vec::new();
    let mut expired = false;
    let rx = {
        let st = shared.store.lock().unwrap_or_else(|p| p.into_inner());
        match from {
            None => {
                for (k, o) in &st.objects {
                    if in_scope(t, k) && selected(&l, &f, o) {
                        backlog.push(watch_line("ADDED", o));
                    }
                }
            }
            Some(n) if n < st.oldest_rv => {
                expired = true;
                let status = Failure::new(
                    410,
                    "Expired",
                    format!("too old resource version: {n} ({})", st.oldest_rv),
                );
                backlog.push(watch_line("ERROR", &status.to_json()));
            }
            Some(n) => {
                for ev in st.history.iter().filter(|e| e.rv > n) {
                    if in_scope(t, &ev.key) && selected(&l, &f, &ev.object) {
                        backlog.push(watch_line(ev.kind, &ev.object));
                    }
                }
            }
        }
        st.events.subscribe()
    };
    let _ = ty;
    let scope = Target {
        group: t.group.clone(),
        version: t.version.clone(),
        plural: t.plural.clone(),
        namespace: t.namespace.clone(),
        name: None,
    };
    let mut closed = shared.close_watches.subscribe();
    closed.mark_unchanged();
    let deadline = tokio::time::Instant::now() + timeout;
    struct WatchState {
        backlog: std::vec::IntoIter<Bytes>,
        rx: broadcast::Receiver<Arc<Event>>,
        closed: watch::Receiver<u64>,
        done: bool,
        scope: Target,
        labels: Option<LabelSelector>,
        fields: Option<FieldSelector>,
        deadline: tokio::time::Instant,
    }
    let state = WatchState {
        backlog: backlog.into_iter(),
        rx,
        closed,
        done: expired,
        scope,
        labels: l,
        fields: f,
        deadline,
    };
    let stream = futures_util::stream::unfold(state, |mut s| async move {
        if let Some(b) = s.backlog.next() {
            return Some((Ok::<_, Infallible>(Frame::data(b)), s));
        }
        if s.done {
            return None;
        }
        loop {
            tokio::select! {
                ev = s.rx.recv() => match ev {
                    Ok(ev) if in_scope(&s.scope, &ev.key) && selected(&s.labels, &s.fields, &ev.object) => {
                        let line = watch_line(ev.kind, &ev.object);
                        return Some((Ok(Frame::data(line)), s));
                    }
                    Ok(_) => continue,
                    Err(_) => return None,
                },
                _ = s.closed.changed() => return None,
                _ = tokio::time::sleep_until(s.deadline) => return None,
            }
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::TRANSFER_ENCODING, "chunked")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}

fn parse_body(body: &[u8]) -> Result<Value, Failure> {
    serde_json::from_slice(body)
        .map_err(|e| Failure::bad_request(format!("request body is not JSON: {e}")))
}

fn record(
    st: &mut Store,
    verb: Verb,
    key: &ObjectRef,
    precondition: Option<String>,
    result: &Result<(u16, Value), Failure>,
    forced: bool,
) {
    let (status, rv, stored) = match result {
        Ok((code, v)) => (
            *code,
            v.pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok()),
            (verb != Verb::Delete).then(|| v.clone()),
        ),
        Err(f) => (f.code, None, None),
    };
    st.writes.push(WriteRecord {
        verb,
        object: key.clone(),
        status,
        precondition,
        resource_version: rv,
        forced,
        stored,
    });
}

fn create(
    shared: &Arc<Shared>,
    t: &Target,
    ty: &ResourceType,
    body: &[u8],
) -> Result<(u16, Value), Failure> {
    let obj = parse_body(body)?;
    let meta_ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let (Some(a), Some(b)) = (&meta_ns, &t.namespace) {
        if a != b {
            return Err(Failure::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    let mut st = shared.store.lock().unwrap_or_else(|p| p.into_inner());
    let name = match obj.pointer("/metadata/name").and_then(Value::as_str) {
        Some(n) if !n.is_empty() => n.to_owned(),
        _ => match obj
            .pointer("/metadata/generateName")
            .and_then(Value::as_str)
        {
            Some(prefix) => {
                st.uid += 1;
                format!("{prefix}{:05x}", st.uid)
            }
            None => {
                return Err(Failure::new(
                    422,
                    "Invalid",
                    "metadata.name: Required value: name or generateName is required",
                ))
            }
        },
    };
    let key = ObjectRef {
        group: t.group.clone(),
        plural: t.plural.clone(),
        namespace: t.namespace.clone(),
        name,
    };
    if obj
        .pointer("/metadata/resourceVersion")
        .is_some_and(|v| !v.is_null() && v != "")
    {
        let r = Err(Failure::bad_request(
            "resourceVersion should not be set on objects to be created",
        ));
        record(&mut st, Verb::Create, &key, None, &r, false);
        return r;
    }
    let result = if st.objects.contains_key(&key) {
        Err(Failure::new(
            409,
            "AlreadyExists",
            format!("{} \"{}\" already exists", key.plural, key.name),
        )
        .on(&key))
    } else {
        st.prepare(&key, ty, obj, None).map(|mut o| {
            let rv = st.next_rv();
            set_rv(&mut o, rv);
            st.objects.insert(key.clone(), o.clone());
            st.emit("ADDED", &key, &o, rv);
            (201, o)
        })
    };
    record(&mut st, Verb::Create, &key, None, &result, false);
    result
}

/// Shared tail of update and patch: precondition, forced conflicts, store.
fn write_existing(
    st: &mut Store,
    verb: Verb,
    key: &ObjectRef,
    ty: &ResourceType,
    precondition: Option<String>,
    make: impl FnOnce(&Value) -> Result<Value, Failure>,
) -> Result<(u16, Value), Failure> {
    let Some(current) = st.objects.get(key).cloned() else {
        let r = Err(Failure::not_found(key));
        record(st, verb, key, precondition, &r, false);
        return r;
    };
    if let Some(n) = st.forced.get_mut(key).filter(|n| **n > 0) {
        *n -= 1;
        let r = Err(Failure::conflict(key));
        record(st, verb, key, precondition, &r, true);
        return r;
    }
    let current_rv = precondition_of(&current);
    if precondition.is_some() && precondition != current_rv {
        let r = Err(Failure::conflict(key));
        record(st, verb, key, precondition, &r, false);
        return r;
    }
    let result = make(&current)
        .and_then(|new| st.prepare(key, ty, new, Some(&current)))
        .and_then(|mut o| {
            if o.pointer("/metadata/name").and_then(Value::as_str) != Some(key.name.as_str()) {
                return Err(Failure::bad_request(
                    "the name of the object does not match",
                ));
            }
            let rv = st.next_rv();
            set_rv(&mut o, rv);
            st.objects.insert(key.clone(), o.clone());
            st.emit("MODIFIED", key, &o, rv);
            Ok((200, o))
        });
    record(st, verb, key, precondition, &result, false);
    result
}

fn update(
    shared: &Arc<Shared>,
    t: &Target,
    ty: &ResourceType,
    name: &str,
    body: &[u8],
) -> Result<(u16, Value), Failure> {
    let obj = parse_body(body)?;
    let key = ObjectRef {
        group: t.group.clone(),
        plural: t.plural.clone(),
        namespace: t.namespace.clone(),
        name: name.to_owned(),
    };
    if let Some(n) = obj.pointer("/metadata/name").and_then(Value::as_str) {
        if n != name {
            return Err(Failure::bad_request(
                "the name of the object does not match the name on the URL",
            ));
        }
    }
    let mut st = shared.store.lock().unwrap_or_else(|p| p.into_inner());
    let pre = precondition_of(&obj);
    write_existing(&mut st, Verb::Update, &key, ty, pre, |_| Ok(obj))
}

fn patch(
    shared: &Arc<Shared>,
    t: &Target,
    ty: &ResourceType,
    name: &str,
    body: &[u8],
    content_type: &str,
) -> Result<(u16, Value), Failure> {
    let key = ObjectRef {
        group: t.group.clone(),
        plural: t.plural.clone(),
        namespace: t.namespace.clone(),
        name: name.to_owned(),
    };
    let ct = content_type.split(';').next().unwrap_or("").trim();
    let patch_doc = parse_body(body)?;
    enum Kind {
        Merge,
        Json(json_patch::Patch),
    }
    let kind = match ct {
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => Kind::Merge,
        "application/json-patch+json" => Kind::Json(
            serde_json::from_value(patch_doc.clone())
                .map_err(|e| Failure::bad_request(format!("invalid JSON patch: {e}")))?,
        ),
        other => {
            return Err(Failure::new(
                415,
                "UnsupportedMediaType",
                format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {other:?})"),
            ))
        }
    };
    let pre = match &kind {
        Kind::Merge => precondition_of(&patch_doc),
        Kind::Json(_) => None,
    };
    let mut st = shared.store.lock().unwrap_or_else(|p| p.into_inner());
    write_existing(&mut st, Verb::Patch, &key, ty, pre, move |current| {
        let mut doc = current.clone();
        match kind {
            Kind::Merge => json_patch::merge(&mut doc, &patch_doc),
            Kind::Json(p) => json_patch::patch(&mut doc, &p)
                .map_err(|e| Failure::new(422, "Invalid", format!("JSON patch failed: {e}")))?,
        }
        Ok(doc)
    })
}

fn delete(shared: &Arc<Shared>, t: &Target, name: &str) -> Result<(u16, Value), Failure> {
    let key = ObjectRef {
        group: t.group.clone(),
        plural: t.plural.clone(),
        namespace: t.namespace.clone(),
        name: name.to_owned(),
    };
    let mut st = shared.store.lock().unwrap_or_else(|p| p.into_inner());
    let result = if let Some(n) = st.forced.get_mut(&key).filter(|n| **n > 0) {
        *n -= 1;
        let r = Err(Failure::conflict(&key));
        record(&mut st, Verb::Delete, &key, None, &r, true);
        return r;
    } else {
        match st.objects.remove(&key) {
            Some(mut o) => {
                let rv = st.next_rv();
                set_rv(&mut o, rv);
                st.emit("DELETED", &key, &o, rv);
                Ok((200, o))
            }
            None => Err(Failure::not_found(&key)),
        }
    };
    record(&mut st, Verb::Delete, &key, None, &result, false);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths() {
        let t = parse_target("/api/v1/namespaces/a/secrets/s").unwrap();
        assert_eq!(
            (
                t.group.as_str(),
                t.plural.as_str(),
                t.namespace.as_deref(),
                t.name.as_deref()
            ),
            ("", "secrets", Some("a"), Some("s"))
        );
        let t = parse_target("/api/v1/namespaces/a").unwrap();
        assert_eq!(
            (t.plural.as_str(), t.name.as_deref()),
            ("namespaces", Some("a"))
        );
        let t = parse_target("/apis/coordination.k8s.io/v1/namespaces/x/leases").unwrap();
        assert_eq!(
            (t.group.as_str(), t.plural.as_str(), t.name.as_deref()),
            ("coordination.k8s.io", "leases", None)
        );
        let t = parse_target("/api/v1/pods").unwrap();
        assert_eq!((t.plural.as_str(), t.namespace.as_deref()), ("pods", None));
        assert!(parse_target("/api/v1/namespaces/a/secrets/s/status/x").is_none());
        assert!(parse_target("/healthz").is_none());
    }

    #[test]
    fn decodes_queries() {
        let q = query_map("labelSelector=a%3Db%2Cc&watch=true&x");
        assert_eq!(q["labelSelector"], "a=b,c");
        assert_eq!(q["watch"], "true");
        assert_eq!(q["x"], "");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
