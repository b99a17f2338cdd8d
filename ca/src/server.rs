//! The HTTPS identity API of the CA, and the loop that keeps its state current.
//!
//! | route | answer |
//! | --- | --- |
//! | `POST /v1/certificates` | `Authorization: Bearer TOKEN`, `{"csr": PEM}` → `{"certificate_chain", "trust_bundle", "not_after"}` |
//! | `GET /v1/trust-bundle` | `{"trust_bundle": PEM}`; raw PEM with `Accept: application/x-pem-file` |
//! | `GET /v1/mesh` | `Authorization: Bearer TOKEN` → `{"workloads": [{"ip", "identity"}]}` with an `ETag` (mesh discovery, [`mesh`]) |
//! | `GET /metrics` | Prometheus text |
//! | `GET /ready`, `GET /live` | 200 once a signer and serving certificate are loaded |
//!
//! Refusals, always with a JSON body `{"error": "..."}` whose text names no token or key:
//! 401 missing/unknown token, 403 a CSR for an identity (or names) the token does not grant,
//! 400 malformed JSON/PEM/CSR or a bad CSR signature or key type, 413 a body over
//! [`MAX_BODY`], 429 over the per-identity rate limit, 429 with `Retry-After` for an address
//! that failed authentication too often ([`crate::throttle`], `--auth-failure-limit`: its
//! token is not even looked at; counted in `phimesh_ca_auth_throttled_total`), 503 TokenReview
//! unreachable, 404/405.
//! Each connection has a TLS handshake deadline and a header read deadline; the number of open
//! connections is capped; bodies are read through a length limit, so no client can make the CA
//! hold unbounded memory or starve other clients.
//!
//! Every issuance writes one audit line on stdout:
//! `{"time","event":"certificate_issued","identity","serial","not_after","issuer"}`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus::{Encoder, Gauge, Histogram, HistogramOpts, IntCounterVec, Opts, Registry};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;
use serde::Serialize;
use tokio::sync::watch;
use tracing::{error, info, warn};

pub use crate::api::api_error_texts;
use crate::api::{
    ApiError, CertificateRequest, CertificateResponse, TrustBundleResponse, MAX_BODY, ROUTE_ERRORS,
};
use crate::auth::{AuthError, Authenticator, Grant};
use crate::authority::{rfc3339, Settings, Signer};
use crate::kubernetes::secret::{SecretStore, Versioned, WriteError};
use crate::kubernetes::KubeSettings;
use crate::pki::{self, ValidatedCsr};
use crate::spiffe::SpiffeId;
use crate::state::{CaState, StateDir, StateError};
use crate::throttle::AuthThrottle;
use crate::tls::provider;

mod mesh;
pub use mesh::MESH_RESULTS;

/// Most connections served at once; more wait in the kernel's accept queue.
pub const MAX_CONNECTIONS: usize = 2048;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Deadline for a whole request body, once its head is in.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Shortest wait after which a client that asked for `100 Continue` may send its body anyway.
const EXPECT_WAIT: Duration = Duration::from_millis(900);
/// Results of `phimesh_ca_certificates_issued_total`.
pub const RESULTS: [&str; 8] = [
    "issued",
    "unauthenticated",
    "forbidden",
    "bad_request",
    "too_large",
    "rate_limited",
    "unavailable",
    "error",
];

/// Everything `phimesh ca` needs to run.
#[derive(Debug, Clone)]
pub struct CaConfig {
    /// Lifetimes and trust domain.
    pub settings: Settings,
    /// Where the state lives (`--state-backend`).
    pub state: StateConfig,
    /// `--listen`.
    pub listen: SocketAddr,
    /// `--server-name`: DNS names and IPs of the serving certificate.
    pub server_names: Vec<String>,
    /// `--rate-limit`: certificates per identity per minute (also the burst).
    pub rate_limit_per_minute: u32,
    /// `--auth-failure-limit`: failed authentications per client address per minute (also the
    /// burst); beyond it the address is answered 429 until a token is back.
    pub auth_failures_per_minute: u32,
    /// How often state transitions are checked (1 s).
    pub tick: Duration,
}

/// Where the CA keeps its state.
// One value per process: the size difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum StateConfig {
    /// `--state-backend directory`: one directory (`--state-dir`), one CA process.
    Directory(PathBuf),
    /// `--state-backend kubernetes`: a Secret, any number of replicas, one leader.
    Kubernetes(KubeSettings),
}

/// Conflicting writes in a row after which a state write gives up until the next tick.
const WRITE_ATTEMPTS: u32 = 5;

/// The default `--server-name` list.
pub fn default_server_names() -> Vec<String> {
    [
        "localhost",
        "127.0.0.1",
        "::1",
        "phimesh-ca",
        "phimesh-ca.phimesh-system",
        "phimesh-ca.phimesh-system.svc",
        "phimesh-ca.phimesh-system.svc.cluster.local",
    ]
    .map(String::from)
    .to_vec()
}

/// Why the CA could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The state directory is unusable.
    #[error(transparent)]
    State(#[from] StateError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// the address
        addr: SocketAddr,
        /// cause
        source: std::io::Error,
    },
    /// A certificate could not be made.
    #[error("{0}")]
    Pki(#[from] pki::PkiError),
    /// A `--server-name` is neither an IP nor a DNS name.
    #[error("invalid --server-name {0:?}")]
    ServerName(String),
}

struct Metrics {
    registry: Registry,
    issued: IntCounterVec,
    throttled: prometheus::IntCounter,
    duration: Histogram,
    root_expiry: Gauge,
    issuer_expiry: Gauge,
    bundle_roots: Gauge,
    leader: prometheus::IntGauge,
    write_conflicts: prometheus::IntCounter,
}

impl Metrics {
    fn new() -> Self {
        let registry = Registry::new();
        // The standard process_* metrics (RSS, CPU seconds, open file descriptors), as every
        // Prometheus exporter has them.
        let _ = registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ));
        let issued = IntCounterVec::new(
            Opts::new(
                "phimesh_ca_certificates_issued_total",
                "Certificate requests answered, by result",
            ),
            &["result"],
        )
        .expect("valid metric");
        let duration = Histogram::with_opts(
            HistogramOpts::new(
                "phimesh_ca_issue_duration_seconds",
                "Time to answer POST /v1/certificates",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
            ]),
        )
        .expect("valid metric");
        let root_expiry = Gauge::new(
            "phimesh_ca_root_expiry_timestamp_seconds",
            "notAfter of the root that signs now, Unix seconds",
        )
        .expect("valid metric");
        let issuer_expiry = Gauge::new(
            "phimesh_ca_issuer_expiry_timestamp_seconds",
            "notAfter of the issuer that signs now, Unix seconds",
        )
        .expect("valid metric");
        let bundle_roots = Gauge::new("phimesh_ca_trust_bundle_roots", "Roots in the trust bundle")
            .expect("valid metric");
        let throttled = prometheus::IntCounter::new(
            "phimesh_ca_auth_throttled_total",
            "Certificate requests answered 429 because their address failed authentication too often",
        )
        .expect("valid metric");
        let leader = prometheus::IntGauge::new(
            "phimesh_ca_leader",
            "1 while this replica leads (rotates and writes the CA state), else 0",
        )
        .expect("valid metric");
        let write_conflicts = prometheus::IntCounter::new(
            "phimesh_ca_state_write_conflicts_total",
            "CA state writes that met a newer write (409 Conflict) and were re-applied on top of it",
        )
        .expect("valid metric");
        for m in [
            Box::new(issued.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(leader.clone()),
            Box::new(write_conflicts.clone()),
            Box::new(duration.clone()),
            Box::new(root_expiry.clone()),
            Box::new(issuer_expiry.clone()),
            Box::new(bundle_roots.clone()),
            Box::new(throttled.clone()),
        ] {
            registry.register(m).expect("unique metric");
        }
        for r in RESULTS {
            issued.with_label_values(&[r]);
        }
        Metrics {
            registry,
            issued,
            throttled,
            duration,
            root_expiry,
            issuer_expiry,
            bundle_roots,
            leader,
            write_conflicts,
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The state backend of a running CA.
// One value per process: the size difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Backend {
    Dir(StateDir),
    Kube(KubeBackend),
}

struct KubeBackend {
    settings: KubeSettings,
    store: SecretStore,
    /// The Secret's resourceVersion the in-memory state was read or written at.
    resource_version: Mutex<String>,
    leader: watch::Receiver<bool>,
    leader_tx: Mutex<Option<watch::Sender<bool>>>,
    /// Set when the watch saw the Secret deleted (or a write found it gone): the leader writes
    /// it again from memory.
    missing: std::sync::atomic::AtomicBool,
    /// When the Lease was last renewed: no write without a renewal within the renew deadline.
    leadership: crate::kubernetes::leader::Leadership,
    /// Set when a state adopted from the Secret lacked roots that may still have live leaves
    /// and they were kept: the leader writes the merged state back.
    needs_write: std::sync::atomic::AtomicBool,
}

impl KubeBackend {
    /// Whether this replica leads and renewed the Lease within the renew deadline: checked
    /// immediately before every write.
    fn leading(&self) -> bool {
        *self.leader.borrow() && self.leadership.valid()
    }
}

/// Whether `candidate` is a later resourceVersion than `current`. Kubernetes' versions are
/// etcd revisions (integers) in every release; should one not parse, any difference counts as
/// newer. Only used to keep a watch event that is older than a write this replica made itself
/// from rolling the state back.
fn newer_version(candidate: &str, current: &str) -> bool {
    match (candidate.parse::<u64>(), current.parse::<u64>()) {
        (Ok(a), Ok(b)) => a > b,
        _ => candidate != current,
    }
}

/// The running CA, shared by every connection.
pub struct Ca {
    settings: Settings,
    backend: Backend,
    bundle_tx: watch::Sender<String>,
    state: Mutex<CaState>,
    signer: RwLock<Arc<Signer>>,
    serving: RwLock<Option<(Arc<CertifiedKey>, i64, u64)>>,
    auth: Arc<Authenticator>,
    limiter: Mutex<HashMap<SpiffeId, Bucket>>,
    rate_per_minute: f64,
    auth_throttle: Mutex<AuthThrottle>,
    metrics: Metrics,
    dns_names: Vec<String>,
    ips: Vec<IpAddr>,
    self_id: SpiffeId,
    mesh: crate::discovery::MeshView,
    mesh_metrics: std::sync::OnceLock<mesh::MeshMetrics>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match &self.backend {
            Backend::Dir(d) => format!("{:?}", d.path()),
            Backend::Kube(k) => k.store.describe(),
        };
        f.debug_struct("Ca").field("state", &backend).finish()
    }
}

/// A CA serving on a socket; dropping it does not stop it, [`RunningCa::shutdown`] does.
pub struct RunningCa {
    /// The bound address.
    pub addr: SocketAddr,
    /// The CA.
    pub ca: Arc<Ca>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningCa {
    /// Stops accepting, stops the state loop and waits for both.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

impl Ca {
    /// The trust bundle now, PEM.
    pub fn bundle_pem(&self) -> String {
        self.current_signer().bundle_pem.clone()
    }

    /// The authenticator (SIGHUP reloads its token file).
    pub fn auth(&self) -> &Arc<Authenticator> {
        &self.auth
    }

    fn current_signer(&self) -> Arc<Signer> {
        self.signer
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Renders the metrics registry.
    pub fn render_metrics(&self) -> String {
        // Leadership lapses on the clock (no renewal within the renew deadline), not only when
        // the state loop notices.
        self.metrics.leader.set(i64::from(self.is_leader()));
        let mut buf = Vec::new();
        let _ = prometheus::TextEncoder::new().encode(&self.metrics.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }

    fn update_metrics(&self, signer: &Signer) {
        self.metrics.root_expiry.set(signer.root_not_after as f64);
        self.metrics
            .issuer_expiry
            .set(signer.issuer_not_after as f64);
        self.metrics
            .bundle_roots
            .set(signer.bundle_ders.len() as f64);
    }

    fn install_signer(&self, signer: Signer) {
        self.update_metrics(&signer);
        self.bundle_tx.send_if_modified(|b| {
            if *b != signer.bundle_pem {
                b.clone_from(&signer.bundle_pem);
                true
            } else {
                false
            }
        });
        if let Ok(mut s) = self.signer.write() {
            *s = Arc::new(signer);
        }
    }

    /// Makes a new serving certificate when the signer changed or half its life has passed.
    fn refresh_serving(&self, now: i64) -> Result<(), pki::PkiError> {
        let signer = self.current_signer();
        let current = self.serving.read().ok().and_then(|s| s.clone());
        if let Some((_, renew_at, generation)) = &current {
            if *generation == signer.generation && now < *renew_at {
                return Ok(());
            }
        }
        let (leaf, key) = signer.serving_cert(&self.self_id, &self.dns_names, &self.ips, now)?;
        let chain = vec![leaf.der.clone(), signer.issuer_der.clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let ck = CertifiedKey::from_der(chain, key, &provider())
            .map_err(|e| pki::PkiError::Certificate(e.to_string()))?;
        let renew_at = now + (leaf.not_after - now) / 2;
        if let Ok(mut s) = self.serving.write() {
            *s = Some((Arc::new(ck), renew_at, signer.generation));
        }
        Ok(())
    }

    /// One pass of the state loop: adopt another process's write, apply due transitions, store.
    fn tick_blocking(&self, dir: &StateDir, now: i64) -> Result<bool, StateError> {
        let lock = dir.lock()?;
        let mut state = self
            .state
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        let mut changed = false;
        if let Some(on_disk) = dir.load(&lock)? {
            if on_disk.generation != state.generation {
                info!(
                    generation = on_disk.generation,
                    "CA state changed on disk; adopting it"
                );
                state = on_disk;
                changed = true;
            }
        }
        if state.advance(&self.settings, now)? {
            dir.store(&lock, &mut state, now)?;
            changed = true;
        }
        drop(lock);
        if changed {
            let signer = state.signer(&self.settings, now)?;
            self.install_signer(signer);
            if let Ok(mut s) = self.state.lock() {
                *s = state;
            }
        }
        Ok(changed)
    }
}

impl Ca {
    /// Whether this replica leads (always true with the directory backend).
    pub fn is_leader(&self) -> bool {
        match &self.backend {
            Backend::Dir(_) => true,
            Backend::Kube(k) => k.leading(),
        }
    }

    /// The generation of the state in memory.
    pub fn state_generation(&self) -> u64 {
        self.state
            .lock()
            .map(|s| s.generation)
            .unwrap_or_else(|p| p.into_inner().generation)
    }

    /// Installs a state read from (or written to) the Secret at `v.resource_version`, unless
    /// the one in memory is newer. Whether it was installed.
    fn adopt(&self, kb: &KubeBackend, mut v: Versioned, now: i64) -> bool {
        let Ok(mut rv) = kb.resource_version.lock() else {
            return false;
        };
        if !newer_version(&v.resource_version, &rv) {
            return false;
        }
        // Whatever the Secret now says, a root that may still have live leaves this CA issued
        // stays in the bundle (a backup restored over a root rotation, for one).
        let previous = self
            .state
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        if v.state.keep_live_roots(&previous, &self.settings, now) {
            kb.needs_write
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        let signer = match v.state.signer(&self.settings, now) {
            Ok(s) => s,
            Err(e) => {
                error!(error = %e, "cannot sign with the CA state read from the Secret; keeping the previous one");
                return false;
            }
        };
        if let Ok(mut s) = self.state.lock() {
            if s.generation != v.state.generation {
                info!(
                    generation = v.state.generation,
                    "CA state changed in the Secret; adopting it"
                );
            }
            *s = v.state;
        }
        *rv = v.resource_version;
        drop(rv);
        self.install_signer(signer);
        true
    }

    /// One pass of the state loop on Kubernetes: the leader applies due transitions and writes
    /// them; a conflict re-reads the Secret and applies them again on top of the newer state.
    async fn kube_tick(&self, kb: &KubeBackend, now: i64) {
        use std::sync::atomic::Ordering;
        let leading = kb.leading();
        self.metrics.leader.set(i64::from(leading));
        if !leading {
            return;
        }
        // The watch may have missed a delete or a write (ended, compacted away): read the
        // Secret's version on every tick and act on what it shows.
        if !kb.missing.load(Ordering::SeqCst) {
            match crate::kubernetes::call(kb.store.api().get_opt(kb.store.name())).await {
                Ok(None) => {
                    error!(secret = %kb.store.describe(), "the CA state Secret is gone; the leader writes it again from memory");
                    kb.missing.store(true, Ordering::SeqCst);
                }
                Ok(Some(secret)) => {
                    let known = kb
                        .resource_version
                        .lock()
                        .map(|r| r.clone())
                        .unwrap_or_default();
                    let seen = secret.metadata.resource_version.clone().unwrap_or_default();
                    if newer_version(&seen, &known) {
                        match kb.store.parse(&secret) {
                            Ok(v) => {
                                self.adopt(kb, v, now);
                            }
                            Err(e) => {
                                error!(error = %e, "the CA state Secret changed to something unusable; keeping the state in memory and not writing over it");
                                return;
                            }
                        }
                    }
                }
                Err(e) => {
                    warn!(error = %e, "cannot read the CA state Secret; not writing this tick");
                    return;
                }
            }
        }
        if kb.missing.load(Ordering::SeqCst) {
            // The newest state this replica knows is the one in memory: the CA's root must not
            // change because an object was deleted by accident.
            let mut state = self
                .state
                .lock()
                .map(|s| s.clone())
                .unwrap_or_else(|p| p.into_inner().clone());
            if !kb.leading() {
                return;
            }
            match kb.store.create(&mut state, now).await {
                Ok(resource_version) => {
                    warn!(secret = %kb.store.describe(), "the CA state Secret was deleted; wrote it again from memory");
                    kb.missing.store(false, Ordering::SeqCst);
                    self.adopt(
                        kb,
                        Versioned {
                            state,
                            resource_version,
                        },
                        now,
                    );
                }
                // Someone else created it: the watch brings it in, the next write builds on it.
                Err(WriteError::Conflict) => kb.missing.store(false, Ordering::SeqCst),
                Err(e) => error!(error = %e, "cannot write the deleted CA state Secret again"),
            }
            return;
        }
        let current = Versioned {
            state: self
                .state
                .lock()
                .map(|s| s.clone())
                .unwrap_or_else(|p| p.into_inner().clone()),
            resource_version: kb
                .resource_version
                .lock()
                .map(|r| r.clone())
                .unwrap_or_default(),
        };
        let settings = self.settings.clone();
        let memory = current.state.clone();
        let merged = kb.needs_write.swap(false, Ordering::SeqCst);
        let result = kb
            .store
            .update(current, now, WRITE_ATTEMPTS, |s| {
                // A state read again after a conflict keeps the roots this one kept.
                let kept = s.keep_live_roots(&memory, &settings, now);
                let advanced = s.advance(&settings, now)?;
                if !kb.leading() {
                    return Err(StateError::Api(
                        "the Lease was not renewed within the renew deadline: not writing".into(),
                    ));
                }
                Ok(merged || kept || advanced)
            })
            .await;
        if result.is_err() && merged {
            kb.needs_write.store(true, Ordering::SeqCst);
        }
        match result {
            Ok((v, changed, conflicts)) => {
                self.metrics.write_conflicts.inc_by(u64::from(conflicts));
                if changed || conflicts > 0 {
                    if changed {
                        info!(
                            generation = v.state.generation,
                            "CA state written to the Secret"
                        );
                    }
                    self.adopt(kb, v, now);
                }
            }
            Err((e, conflicts)) => {
                self.metrics.write_conflicts.inc_by(u64::from(conflicts));
                if matches!(e, StateError::MissingSecret(_)) {
                    kb.missing.store(true, Ordering::SeqCst);
                }
                error!(error = %e, "CA state update failed; still serving with the state in memory");
            }
        }
    }
}

/// Whether a CA evidently ran in this namespace already: its Lease exists, or its trust
/// ConfigMap holds roots. `Err` when the API server cannot tell.
async fn ca_existed(ks: &KubeSettings) -> Result<bool, StateError> {
    use k8s_openapi::api::coordination::v1::Lease;
    use k8s_openapi::api::core::v1::ConfigMap;
    let api_err = |e: crate::kubernetes::ApiFailure| StateError::Api(e.to_string());
    let leases: kube::Api<Lease> = kube::Api::namespaced(ks.client.clone(), &ks.namespace);
    if crate::kubernetes::call(leases.get_opt(&ks.lease))
        .await
        .map_err(api_err)?
        .is_some()
    {
        return Ok(true);
    }
    let cms: kube::Api<ConfigMap> = kube::Api::namespaced(ks.client.clone(), &ks.namespace);
    let cm = crate::kubernetes::call(cms.get_opt(crate::kubernetes::TRUST_CONFIGMAP))
        .await
        .map_err(api_err)?;
    Ok(cm
        .and_then(|c| c.data)
        .and_then(|d| d.get(crate::kubernetes::TRUST_KEY).cloned())
        .is_some_and(|b| b.contains("-----BEGIN CERTIFICATE-----")))
}

/// Reads the state Secret, or creates it with a new CA on a truly first start; a create that
/// loses the race to another replica reads the winner's. When the Secret is missing but a CA
/// evidently ran (its Lease or trust ConfigMap exists), a new CA would be a new root no sidecar
/// trusts: this waits (not listening, so not ready) until the Secret is back, written again by
/// the leader from memory or restored by an operator.
async fn kube_load_or_create(
    store: &SecretStore,
    ks: &KubeSettings,
    settings: &Settings,
) -> Result<Versioned, StateError> {
    let mut waited = 0u64;
    loop {
        if let Some(v) = store.load().await? {
            return kube_check_loaded(store, settings, v);
        }
        if !ca_existed(ks).await? {
            break;
        }
        if waited.is_multiple_of(30) {
            warn!(
                secret = %store.describe(),
                lease = %ks.lease,
                "the CA state Secret is missing but the CA's Lease or trust ConfigMap exists: \
                 waiting for the Secret instead of creating a new CA (to start over, delete the \
                 Secret, the Lease and the trust ConfigMap)"
            );
        }
        waited += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    create_kube_state(store, settings, pki::unix_now()).await
}

fn kube_check_loaded(
    store: &SecretStore,
    settings: &Settings,
    v: Versioned,
) -> Result<Versioned, StateError> {
    if v.state.trust_domain != settings.trust_domain {
        return Err(StateError::CorruptSecret {
            secret: store.describe(),
            reason: format!(
                "state is for trust domain {} but --trust-domain is {}",
                v.state.trust_domain, settings.trust_domain
            ),
        });
    }
    info!(
        secret = %store.describe(),
        roots = v.state.roots.len(),
        issuers = v.state.issuers.len(),
        "CA state loaded"
    );
    Ok(v)
}

async fn create_kube_state(
    store: &SecretStore,
    settings: &Settings,
    now: i64,
) -> Result<Versioned, StateError> {
    let check = |v: Versioned| kube_check_loaded(store, settings, v);
    let mut state = CaState::create(settings, now)?;
    match store.create(&mut state, now).await {
        Ok(resource_version) => {
            info!(secret = %store.describe(), "no CA state found: created a new root and issuer");
            Ok(Versioned {
                state,
                resource_version,
            })
        }
        Err(WriteError::Conflict) => match store.load().await? {
            Some(v) => check(v),
            None => Err(StateError::MissingSecret(store.describe())),
        },
        Err(WriteError::Missing) => Err(StateError::MissingSecret(store.describe())),
        Err(WriteError::State(e)) => Err(e),
    }
}

/// Follows the state Secret with a list and a watch (by name); every newer state is adopted.
async fn follow_secret(ca: Arc<Ca>, mut stop: watch::Receiver<bool>) {
    use futures_util::StreamExt;
    use kube::api::{ListParams, WatchEvent, WatchParams};
    let Backend::Kube(kb) = &ca.backend else {
        return;
    };
    let by_name = format!("metadata.name={}", kb.store.name());
    let handle = |secret: &k8s_openapi::api::core::v1::Secret| match kb.store.parse(secret) {
        Ok(v) => {
            kb.missing.store(false, std::sync::atomic::Ordering::SeqCst);
            ca.adopt(kb, v, pki::unix_now());
        }
        Err(e) => {
            error!(error = %e, "the CA state Secret changed to something unusable; keeping the state in memory and not writing over it")
        }
    };
    let by_name_params = ListParams::default().fields(&by_name);
    loop {
        let list = tokio::select! {
            l = crate::kubernetes::call(kb.store.api().list(&by_name_params)) => l,
            _ = stop.changed() => return,
        };
        let list = match list {
            Ok(l) => l,
            Err(e) => {
                warn!(error = %e, "cannot read the CA state Secret; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = stop.changed() => return,
                }
            }
        };
        for s in &list.items {
            handle(s);
        }
        let mut version = list.metadata.resource_version.unwrap_or_default();
        'watch: loop {
            let params = WatchParams::default().fields(&by_name).timeout(290);
            let stream = match kb.store.api().watch(&params, &version).await {
                Ok(s) => s,
                Err(e) => {
                    warn!(error = %e, "cannot watch the CA state Secret; reading it again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break 'watch;
                }
            };
            let mut stream = std::pin::pin!(stream);
            loop {
                let ev = tokio::select! {
                    ev = stream.next() => ev,
                    _ = stop.changed() => return,
                };
                match ev {
                    None => continue 'watch,
                    Some(Ok(WatchEvent::Added(s))) | Some(Ok(WatchEvent::Modified(s))) => {
                        if let Some(v) = &s.metadata.resource_version {
                            version = v.clone();
                        }
                        handle(&s);
                    }
                    Some(Ok(WatchEvent::Deleted(s))) => {
                        if let Some(v) = &s.metadata.resource_version {
                            version = v.clone();
                        }
                        kb.missing.store(true, std::sync::atomic::Ordering::SeqCst);
                        error!(secret = %kb.store.describe(), "the CA state Secret was deleted; the leader writes it again from memory");
                    }
                    Some(Ok(WatchEvent::Bookmark(b))) => version = b.metadata.resource_version,
                    Some(Ok(WatchEvent::Error(e))) => {
                        if e.code != 410 {
                            warn!(
                                code = e.code,
                                "CA state Secret watch error; reading it again"
                            );
                        }
                        break 'watch;
                    }
                    Some(Err(e)) => {
                        warn!(error = %e, "CA state Secret watch broke; reading it again");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        break 'watch;
                    }
                }
            }
        }
    }
}

fn load_or_create(dir: &StateDir, settings: &Settings, now: i64) -> Result<CaState, StateError> {
    let lock = dir.lock()?;
    let mut state = match dir.load(&lock)? {
        Some(s) => {
            if s.trust_domain != settings.trust_domain {
                return Err(StateError::Corrupt {
                    path: dir.state_path(),
                    reason: format!(
                        "state is for trust domain {} but --trust-domain is {}",
                        s.trust_domain, settings.trust_domain
                    ),
                });
            }
            info!(
                roots = s.roots.len(),
                issuers = s.issuers.len(),
                "CA state loaded"
            );
            s
        }
        None => {
            let s = CaState::create(settings, now)?;
            info!("no CA state found: created a new root and issuer");
            s
        }
    };
    state.advance(settings, now)?;
    dir.store(&lock, &mut state, now)?;
    Ok(state)
}

/// Loads (or creates) the state, binds `cfg.listen` and serves until [`RunningCa::shutdown`].
pub async fn start(cfg: CaConfig, auth: Arc<Authenticator>) -> Result<RunningCa, ServeError> {
    let now = pki::unix_now();
    let settings = cfg.settings.clone();
    let (backend, state) = match &cfg.state {
        StateConfig::Directory(path) => {
            let dir = StateDir::open(path)?;
            let state = {
                let dir = dir.clone();
                let settings = settings.clone();
                tokio::task::spawn_blocking(move || load_or_create(&dir, &settings, now))
                    .await
                    .map_err(|e| StateError::Io {
                        path: path.clone(),
                        source: std::io::Error::other(e),
                    })??
            };
            (Backend::Dir(dir), state)
        }
        StateConfig::Kubernetes(ks) => {
            let store = SecretStore::new(ks.client.clone(), &ks.namespace, &ks.secret);
            let v = kube_load_or_create(&store, ks, &settings).await?;
            let (leader_tx, leader) = watch::channel(false);
            (
                Backend::Kube(KubeBackend {
                    settings: ks.clone(),
                    store,
                    resource_version: Mutex::new(v.resource_version),
                    leader,
                    leader_tx: Mutex::new(Some(leader_tx)),
                    missing: std::sync::atomic::AtomicBool::new(false),
                    leadership: crate::kubernetes::leader::Leadership::new(ks.renew_deadline),
                    needs_write: std::sync::atomic::AtomicBool::new(false),
                }),
                v.state,
            )
        }
    };
    // Loading may have waited for a missing Secret.
    let now = pki::unix_now();
    let signer = state.signer(&settings, now)?;
    let mut dns_names = Vec::new();
    let mut ips = Vec::new();
    for n in &cfg.server_names {
        if let Ok(ip) = n.parse::<IpAddr>() {
            ips.push(ip);
        } else if rustls::pki_types::DnsName::try_from(n.as_str()).is_ok() {
            dns_names.push(n.clone());
        } else {
            return Err(ServeError::ServerName(n.clone()));
        }
    }
    let self_id = SpiffeId::new(&settings.trust_domain, "phimesh-system", "phimesh-ca")
        .map_err(|_| ServeError::ServerName(settings.trust_domain.clone()))?;
    let (bundle_tx, _) = watch::channel(signer.bundle_pem.clone());
    let ca = Arc::new(Ca {
        settings,
        backend,
        bundle_tx,
        state: Mutex::new(state),
        signer: RwLock::new(Arc::new(signer)),
        serving: RwLock::new(None),
        auth,
        limiter: Mutex::new(HashMap::new()),
        rate_per_minute: f64::from(cfg.rate_limit_per_minute.max(1)),
        auth_throttle: Mutex::new(AuthThrottle::new(cfg.auth_failures_per_minute)),
        metrics: Metrics::new(),
        dns_names,
        ips,
        self_id,
        mesh: Default::default(),
        mesh_metrics: Default::default(),
    });
    ca.update_metrics(&ca.current_signer());
    ca.metrics.leader.set(i64::from(ca.is_leader()));
    ca.refresh_serving(now)?;

    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: cfg.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: cfg.listen,
        source,
    })?;
    let (stop, stop_rx) = watch::channel(false);

    let tls = tls_config(ca.clone());
    let accept = tokio::spawn(accept_loop(listener, tls, ca.clone(), stop_rx.clone()));
    let ticker = tokio::spawn(tick_loop(ca.clone(), cfg.tick, stop_rx.clone()));
    let mut tasks = vec![accept, ticker];
    if let Backend::Kube(kb) = &ca.backend {
        let leader_tx = kb.leader_tx.lock().ok().and_then(|mut t| t.take());
        if let Some(leader_tx) = leader_tx {
            let elector = crate::kubernetes::leader::Elector::new(&kb.settings)
                .with_leadership(kb.leadership.clone());
            tasks.push(tokio::spawn(elector.run(leader_tx, stop_rx.clone())));
        }
        tasks.push(tokio::spawn(follow_secret(ca.clone(), stop_rx.clone())));
        tasks.push(tokio::spawn(crate::kubernetes::trust::run(
            kb.settings.client.clone(),
            kb.settings.namespace.clone(),
            ca.bundle_tx.subscribe(),
            kb.leader.clone(),
            kb.leadership.clone(),
            stop_rx,
        )));
    }
    Ok(RunningCa {
        addr,
        ca,
        stop,
        tasks,
    })
}

#[derive(Debug)]
struct ServingResolver(Arc<Ca>);

impl rustls::server::ResolvesServerCert for ServingResolver {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0
            .serving
            .read()
            .ok()
            .and_then(|s| s.as_ref().map(|(ck, _, _)| ck.clone()))
    }
}

fn tls_config(ca: Arc<Ca>) -> Arc<rustls::ServerConfig> {
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring provider supports TLS 1.2 and 1.3")
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(ServingResolver(ca)));
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(cfg)
}

async fn tick_loop(ca: Arc<Ca>, tick: Duration, mut stop: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.changed() => return,
        }
        let now = pki::unix_now();
        match &ca.backend {
            Backend::Dir(dir) => {
                let ca2 = ca.clone();
                let dir = dir.clone();
                match tokio::task::spawn_blocking(move || ca2.tick_blocking(&dir, now)).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        error!(error = %e, "CA state update failed; still serving with the state in memory")
                    }
                    Err(e) => error!(error = %e, "CA state task failed"),
                }
            }
            Backend::Kube(kb) => ca.kube_tick(kb, now).await,
        }
        if let Err(e) = ca.refresh_serving(now) {
            error!(error = %e, "serving certificate refresh failed");
        }
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    ca: Arc<Ca>,
    mut stop: watch::Receiver<bool>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            _ = stop.changed() => return,
        };
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let ca = ca.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(t)) => t,
                _ => return,
            };
            let client = peer.ip();
            let service = hyper::service::service_fn(move |req| {
                let ca = ca.clone();
                async move { Ok::<_, Infallible>(handle(&ca, req, client).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(64 * 1024)
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

type Resp = Response<Full<Bytes>>;

fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Resp {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::CACHE_CONTROL, "no-store")
        .body(Full::new(Bytes::from(bytes)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn error_response(status: StatusCode, msg: &str) -> Resp {
    json_response(status, &serde_json::json!({ "error": msg }))
}

fn text_response(status: StatusCode, content_type: &str, body: String) -> Resp {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

async fn handle(ca: &Arc<Ca>, req: Request<Incoming>, client: IpAddr) -> Resp {
    let path = req.uri().path().to_owned();
    match (req.method(), path.as_str()) {
        (&Method::POST, "/v1/certificates") => {
            let started = Instant::now();
            let result = issue(ca, req, client).await;
            ca.metrics.duration.observe(started.elapsed().as_secs_f64());
            match result {
                Ok(resp) => {
                    ca.metrics.issued.with_label_values(&["issued"]).inc();
                    resp
                }
                Err(ApiError::Throttled(wait)) => {
                    let e = ApiError::Throttled(wait);
                    ca.metrics.issued.with_label_values(&[e.label()]).inc();
                    ca.metrics.throttled.inc();
                    let mut r = error_response(e.status(), &e.to_string());
                    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
                    if let Ok(v) = http::HeaderValue::from_str(&secs.to_string()) {
                        r.headers_mut().insert(http::header::RETRY_AFTER, v);
                    }
                    r
                }
                Err(e) => {
                    ca.metrics.issued.with_label_values(&[e.label()]).inc();
                    error_response(e.status(), &e.to_string())
                }
            }
        }
        (&Method::GET, "/v1/trust-bundle") => {
            let bundle = ca.bundle_pem();
            let wants_pem = req
                .headers()
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("application/x-pem-file"));
            if wants_pem {
                text_response(StatusCode::OK, "application/x-pem-file", bundle)
            } else {
                json_response(
                    StatusCode::OK,
                    &TrustBundleResponse {
                        trust_bundle: bundle,
                    },
                )
            }
        }
        (&Method::GET, "/v1/mesh") => mesh::serve(ca, req, client).await,
        (&Method::GET, "/metrics") => text_response(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            ca.render_metrics(),
        ),
        (&Method::GET, "/ready") | (&Method::GET, "/live") => {
            let signer = ca.current_signer();
            let ok = signer.issuer_not_after > pki::unix_now()
                && ca.serving.read().map(|s| s.is_some()).unwrap_or(false);
            if ok {
                json_response(StatusCode::OK, &serde_json::json!({"status": "ready"}))
            } else {
                error_response(StatusCode::SERVICE_UNAVAILABLE, ROUTE_ERRORS[0])
            }
        }
        (
            _,
            "/v1/certificates" | "/v1/trust-bundle" | "/v1/mesh" | "/metrics" | "/ready" | "/live",
        ) => error_response(StatusCode::METHOD_NOT_ALLOWED, ROUTE_ERRORS[1]),
        _ => error_response(StatusCode::NOT_FOUND, ROUTE_ERRORS[2]),
    }
}

fn bearer(headers: &http::HeaderMap) -> Option<String> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then(|| token.to_owned())
}

impl Ca {
    fn allow(&self, id: &SpiffeId) -> bool {
        let Ok(mut map) = self.limiter.lock() else {
            return true;
        };
        let now = Instant::now();
        let cap = self.rate_per_minute;
        if map.len() > 100_000 {
            map.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * cap / 60.0 < cap);
        }
        let b = map.entry(id.clone()).or_insert(Bucket {
            tokens: cap,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * cap / 60.0).min(cap);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Serialize)]
struct AuditLine<'a> {
    time: String,
    event: &'static str,
    identity: &'a str,
    serial: &'a str,
    not_after: String,
    issuer: &'a str,
}

/// Reads a request body of at most [`MAX_BODY`] bytes within [`BODY_TIMEOUT`]. A longer one is
/// refused, and the rest of it read and dropped beside the refusal (see
/// [`phimesh_plumbing::discard`]).
async fn read_body(mut body: Incoming) -> Result<Bytes, ApiError> {
    let read = async {
        let mut buf = Vec::new();
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame.map_err(|_| ApiError::Body)?.into_data() else {
                continue; // trailers
            };
            if buf.len() + data.len() > MAX_BODY {
                return Err(ApiError::TooLarge);
            }
            buf.extend_from_slice(&data);
        }
        Ok(Bytes::from(buf))
    };
    let r = tokio::time::timeout(BODY_TIMEOUT, read)
        .await
        .unwrap_or(Err(ApiError::Body));
    if matches!(r, Err(ApiError::TooLarge)) {
        phimesh_plumbing::discard(body);
    }
    r
}

/// Whether a body refused `waited` after its head arrived may be on its way. A client that sent
/// `Expect: 100-continue` sends no body until told to (hyper tells it once the body is read), or
/// until it tires of waiting: curl after 1 s. Reading such a body early would invite it.
fn body_may_be_coming(headers: &http::HeaderMap, waited: Duration) -> bool {
    !phimesh_plumbing::expects_continue(headers) || waited >= EXPECT_WAIT
}

/// The grant of a request's token, or why the request is refused before its body is read: no
/// or an unknown token, a declared body over [`MAX_BODY`], TokenReview unreachable.
async fn admit(ca: &Ca, headers: &http::HeaderMap) -> Result<Grant, ApiError> {
    let token = bearer(headers).ok_or(ApiError::NoToken)?;
    if let Some(len) = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > MAX_BODY as u64 {
            return Err(ApiError::TooLarge);
        }
    }
    match ca.auth.authenticate(&token).await {
        Ok(g) => Ok(g),
        Err(AuthError::Unavailable(why)) => {
            warn!(reason = %why, "token review unavailable");
            Err(ApiError::Unavailable)
        }
        Err(_) => Err(ApiError::BadToken),
    }
}

impl Ca {
    /// `Err` when `client` failed authentication too often: refused before its token is read.
    fn not_throttled(&self, client: IpAddr) -> Result<(), ApiError> {
        match self.auth_throttle.lock() {
            Ok(t) => t.check(client, Instant::now()).map_err(ApiError::Throttled),
            Err(_) => Ok(()),
        }
    }

    fn auth_failed(&self, client: IpAddr) {
        let now_throttled = match self.auth_throttle.lock() {
            Ok(mut t) => t.failed(client, Instant::now()),
            Err(_) => false,
        };
        if now_throttled {
            warn!(client = %crate::throttle::address_key(client), "client address throttled after repeated failed authentication");
        }
    }
}

async fn issue(ca: &Arc<Ca>, req: Request<Incoming>, client: IpAddr) -> Result<Resp, ApiError> {
    let (head, body) = req.into_parts();
    let arrived = Instant::now();
    let admitted = match ca.not_throttled(client) {
        Ok(()) => admit(ca, &head.headers).await,
        Err(e) => Err(e),
    };
    if matches!(admitted, Err(ApiError::NoToken | ApiError::BadToken)) {
        ca.auth_failed(client);
    }
    let grant = match admitted {
        Ok(g) => g,
        Err(e) => {
            if body_may_be_coming(&head.headers, arrived.elapsed()) {
                phimesh_plumbing::discard(body);
            }
            return Err(e);
        }
    };
    let body = read_body(body).await?;
    if !ca.allow(&grant.identity) {
        return Err(ApiError::RateLimited);
    }
    let request: CertificateRequest = serde_json::from_slice(&body).map_err(|_| ApiError::Json)?;
    let csr = ValidatedCsr::from_pem(&request.csr).map_err(ApiError::Csr)?;
    csr.check_names(&grant.identity, &grant.dns_names)
        .map_err(ApiError::Csr)?;
    let signer = ca.current_signer();
    let now = pki::unix_now();
    let dns: Vec<String> = csr.dns_names.clone();
    let leaf = signer.sign(&csr, &grant.identity, &dns, now).map_err(|e| {
        error!(error = %e, "signing failed");
        ApiError::Internal
    })?;
    let not_after = rfc3339(leaf.not_after);
    let line = AuditLine {
        time: rfc3339(now),
        event: "certificate_issued",
        identity: grant.identity.as_str(),
        serial: &leaf.serial_hex,
        not_after: not_after.clone(),
        issuer: &signer.issuer_id,
    };
    if let Ok(s) = serde_json::to_string(&line) {
        println!("{s}");
    }
    Ok(json_response(
        StatusCode::OK,
        &CertificateResponse {
            certificate_chain: format!("{}{}", leaf.pem, signer.issuer_pem),
            trust_bundle: signer.bundle_pem.clone(),
            not_after,
        },
    ))
}
