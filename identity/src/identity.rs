//! The workload identity a sidecar embeds: its certificate, its trust bundle, and the rustls
//! configurations that use them.
//!
//! # How the proxy uses it
//!
//! ```no_run
//! # async fn demo() -> Result<(), phimesh_identity::identity::IdentityError> {
//! use phimesh_identity::identity::{Identity, IdentityConfig, SpiffeId};
//! let id: SpiffeId = "spiffe://cluster.local/ns/default/sa/web".parse().unwrap();
//! let cfg = IdentityConfig::new(id, "https://127.0.0.1:15012", "/etc/phimesh/ca.pem", "/var/run/secrets/phimesh/token");
//! let identity = Identity::start(cfg)?;       // spawns the one refresh task
//! identity.ready().await;                       // first certificate in hand
//! let server = identity.server_config(vec![b"h2".to_vec()], true);  // inbound mTLS
//! let client = identity.client_config(vec![b"h2".to_vec()]);        // outbound mTLS
//! # Ok(()) }
//! ```
//!
//! * [`Identity::start`] spawns one task that makes a P-256 key **in memory** (it never leaves the
//!   process), builds a CSR for the configured SPIFFE ID, reads the token file (re-read on every
//!   attempt: projected tokens rotate), posts `POST /v1/certificates`, and installs the answer.
//!   It renews at [`IdentityConfig::renew_fraction`] (about 2/3) of the certificate's remaining life
//!   with up to 10 % jitter (earlier, never later), retries with capped exponential backoff and
//!   jitter while the current certificate still serves, and refreshes the trust bundle from
//!   `GET /v1/trust-bundle` every [`IdentityConfig::bundle_refresh`]. Each renewal uses a new key.
//!   Without a certificate, once it has expired and in the last tenth of its life, retries wait
//!   at most [`IdentityConfig::retry_urgent_max`] (2 s, with jitter; [`retry_delay`]), so a
//!   sidecar is ready again within seconds of the CA's return.
//! * [`Identity::server_config`] / [`Identity::client_config`] are built **once**: a certificate
//!   resolver hands rustls the current certificate and a verifier reads the current roots at each
//!   handshake, so a renewal or a root rotation never needs new configs and never touches open
//!   connections. Mesh mTLS is TLS 1.3 only (the client certificate is then encrypted).
//! * **A TLS session never outlives what authenticated it**: a resumed TLS 1.3 handshake checks
//!   no certificate, so each config has its own session store (server: the session storage
//!   behind rustls's stateful tickets; client: the ticket store) that keeps a session no longer
//!   than the earliest of [`MAX_SESSION_LIFE`] (1 h), this side's `notAfter` and the peer chain's
//!   `notAfter`, and drops everything when the certificate or the trust bundle changes
//!   ([`Identity::generation`]). Both are bounded in size. See `identity/sessions.rs`.
//! * **An expired certificate is never used**: the resolver hands rustls nothing once the
//!   certificate has expired, so this side can neither serve (not even a resumption) nor
//!   authenticate as a client; the refresh task wakes at `notAfter` to log the expiry once and
//!   set `phimesh_identity_expired` to 1 ([`Identity::check_expired`]).
//! * Peer verification: the chain must verify against the current trust bundle (webpki, with the
//!   right EKU), and the peer's only URI SAN must be a SPIFFE ID of our trust domain; on the server
//!   side it must also be in `allow_identities` when that is set. Host names are not checked: the
//!   SPIFFE ID is the name. [`peer_identity`] reads the verified ID after the handshake.
//! * [`Identity::is_ready`] is true only while a certificate that has not expired is installed.
//! * [`Identity::register_metrics`] adds `phimesh_identity_cert_expiry_timestamp_seconds` (the
//!   current certificate's `notAfter`: in the past once it has expired), `phimesh_identity_expired`
//!   (1 while it has expired) and `phimesh_identity_fetch_errors_total{reason}` (reasons:
//!   [`FETCH_ERROR_REASONS`]).
//! * Every failed call to the CA is logged (`tracing` warn, target `phimesh_identity::identity`) with
//!   its reason, the CA address, the HTTP status and the CA's JSON `error` text when it is one
//!   of the identity API's own refusal texts (anything else that answered may echo the
//!   request), and the delay before the next attempt — never the token nor answer text. The capped exponential
//!   backoff is what bounds the rate of these lines (at most one per attempt, at least
//!   `retry_max / 2` apart once the backoff is at its cap, `retry_urgent_max / 2` while
//!   retries are urgent).
//! * [`Identity::from_static`] skips the CA entirely (tests, the demo).
//!
//! The CA itself is found with the roots in [`IdentityConfig::ca_roots`] (re-read on every call)
//! plus the latest trust bundle, so the sidecar keeps reaching the CA across a root rotation.

mod sessions;
mod verify;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use rand::Rng;
use rcgen::PublicKeyData;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use serde::Deserialize;
use tokio::sync::watch;
use tracing::{debug, info, warn};

pub use crate::api::{CertificateRequest, CertificateResponse, TrustBundleResponse};
pub use crate::spiffe::{SpiffeId, SpiffeIdError, MAX_SPIFFE_ID_LEN};
pub use sessions::{CLIENT_SERVERS, CLIENT_TICKETS_PER_SERVER, MAX_SESSION_LIFE, SERVER_SESSIONS};
pub use verify::{peer_identity, peer_identity_from_der, PeerIdentityError};

use crate::https::{self, HttpsError, HttpsUrl};
use crate::pki::{self, KeyAlgorithm};
use crate::tls::provider;

/// Name of the identity client's metric.
pub const CERT_EXPIRY_METRIC: &str = "phimesh_identity_cert_expiry_timestamp_seconds";
/// Name of the gauge that is 1 while the current certificate has expired (mesh connections are
/// refused then), 0 otherwise.
pub const EXPIRED_METRIC: &str = "phimesh_identity_expired";
/// Name of the counter of failed calls to the CA, labelled `reason`.
pub const FETCH_ERRORS_METRIC: &str = "phimesh_identity_fetch_errors_total";
/// Every value of the `reason` label of [`FETCH_ERRORS_METRIC`] (see [`IdentityError::reason`]).
pub const FETCH_ERROR_REASONS: &[&str] = &[
    "connect",
    "timeout",
    "protocol",
    "unauthenticated",
    "forbidden",
    "bad_request",
    "rate_limited",
    "unavailable",
    "http_status",
    "bad_answer",
    "token_file",
    "local",
];

/// Largest token file read (projected service-account tokens are about 1 KiB).
const MAX_TOKEN_BYTES: u64 = 64 * 1024;
/// Largest CA response accepted.
const MAX_CA_RESPONSE: usize = 1024 * 1024;

/// Settings of the identity client. [`IdentityConfig::new`] fills in the defaults.
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// The SPIFFE ID to obtain (`--identity`).
    pub identity: SpiffeId,
    /// The CA, `https://HOST:PORT` (`--ca-addr`).
    pub ca_addr: String,
    /// PEM roots that verify the CA's serving certificate (`--ca-roots`), re-read at each call.
    pub ca_roots: PathBuf,
    /// File holding the bearer token (`--token-file`), re-read at each call.
    pub token_file: PathBuf,
    /// Inbound callers allowed (`--allow-identities`); `None` = any identity of the trust domain.
    pub allow_identities: Option<Vec<SpiffeId>>,
    /// Fraction of the remaining lifetime after which to renew (default 2/3).
    pub renew_fraction: f64,
    /// How often to fetch `GET /v1/trust-bundle` between renewals (default 5 min).
    pub bundle_refresh: Duration,
    /// Deadline of one call to the CA (default 10 s).
    pub request_timeout: Duration,
    /// First retry delay after a failed call (default 1 s), doubled up to `retry_max`.
    pub retry_initial: Duration,
    /// Longest retry delay (default 60 s) while the certificate has more than a tenth of its
    /// life left.
    pub retry_max: Duration,
    /// Longest retry delay (default 2 s, with jitter) once there is no certificate, it has
    /// expired, or it is in the last tenth of its life: the sidecar is not ready, or about to
    /// stop being ready, so it is ready again within seconds of the CA answering.
    pub retry_urgent_max: Duration,
}

impl IdentityConfig {
    /// A configuration with the default timings.
    pub fn new(
        identity: SpiffeId,
        ca_addr: impl Into<String>,
        ca_roots: impl Into<PathBuf>,
        token_file: impl Into<PathBuf>,
    ) -> Self {
        IdentityConfig {
            identity,
            ca_addr: ca_addr.into(),
            ca_roots: ca_roots.into(),
            token_file: token_file.into(),
            allow_identities: None,
            renew_fraction: 2.0 / 3.0,
            bundle_refresh: Duration::from_secs(300),
            request_timeout: Duration::from_secs(10),
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            retry_urgent_max: Duration::from_secs(2),
        }
    }
}

/// Errors of the identity client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// A setting is unusable (bad CA address, renew fraction out of range, allow list of another
    /// trust domain...).
    #[error("identity config: {0}")]
    Config(String),
    /// A file (CA roots, token) could not be read.
    #[error("cannot read {path}: {message}")]
    File {
        /// the file
        path: PathBuf,
        /// why
        message: String,
    },
    /// PEM certificates or key could not be used.
    #[error("invalid certificate or key: {0}")]
    Pem(String),
    /// The CA could not be reached.
    #[error("CA unreachable: {0}")]
    Https(#[from] HttpsError),
    /// The CA answered with an error status.
    #[error("CA refused the request with HTTP {status}: {message}")]
    Refused {
        /// HTTP status
        status: u16,
        /// the CA's `error` field
        message: String,
    },
    /// The CA's answer is not what was asked for (wrong identity, wrong key, unverifiable chain).
    #[error("CA answer rejected: {0}")]
    BadAnswer(String),
}

impl IdentityError {
    /// A bounded label for this error (one of [`FETCH_ERROR_REASONS`]): the connection failed,
    /// timed out or spoke no HTTP; the CA answered with a status (by class of refusal); the
    /// answer was unusable; the token file could not be read; a local PEM/config problem.
    pub fn reason(&self) -> &'static str {
        match self {
            IdentityError::Https(HttpsError::Connect { .. }) => "connect",
            IdentityError::Https(HttpsError::Timeout(_)) => "timeout",
            IdentityError::Https(_) => "protocol",
            IdentityError::Refused { status, .. } => match status {
                401 => "unauthenticated",
                403 => "forbidden",
                400 | 413 => "bad_request",
                429 => "rate_limited",
                503 => "unavailable",
                _ => "http_status",
            },
            IdentityError::BadAnswer(_) => "bad_answer",
            IdentityError::File { .. } => "token_file",
            IdentityError::Config(_) | IdentityError::Pem(_) => "local",
        }
    }

    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            IdentityError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The roots in force, and what is derived from them once per change.
pub(crate) struct Trust {
    pub(crate) roots: Arc<RootCertStore>,
    pub(crate) ders: Vec<CertificateDer<'static>>,
    /// `None` while there are no roots: every peer is refused.
    pub(crate) client_verifier: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>,
}

impl Trust {
    fn empty() -> Self {
        Trust {
            roots: Arc::new(RootCertStore::empty()),
            ders: Vec::new(),
            client_verifier: None,
        }
    }

    fn from_ders(ders: Vec<CertificateDer<'static>>) -> Result<Self, IdentityError> {
        let mut roots = RootCertStore::empty();
        for d in &ders {
            roots
                .add(d.clone())
                .map_err(|e| IdentityError::Pem(format!("trust bundle: {e}")))?;
        }
        let roots = Arc::new(roots);
        let client_verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(roots.clone(), provider())
                .build()
                .map_err(|e| IdentityError::Pem(format!("trust bundle: {e}")))?;
        Ok(Trust {
            roots,
            ders,
            client_verifier: Some(client_verifier),
        })
    }
}

/// What an [`Identity`] handle, its refresh loop, its verifiers and its session stores share:
/// the current certificate and trust, and the generation that retires TLS sessions.
pub(crate) struct IdentityState {
    pub(crate) identity: SpiffeId,
    pub(crate) trust_domain: String,
    pub(crate) allow: Option<Vec<SpiffeId>>,
    pub(crate) cert: RwLock<Option<Arc<CertifiedKey>>>,
    pub(crate) trust: RwLock<Arc<Trust>>,
    pub(crate) not_after: std::sync::atomic::AtomicI64,
    /// When the current certificate was installed, Unix seconds.
    installed_at: std::sync::atomic::AtomicI64,
    /// Bumped whenever the certificate or the trust bundle changes: TLS sessions stored under an
    /// older generation are never resumed ([`sessions`]).
    generation: std::sync::atomic::AtomicU64,
    /// Whether the expiry of the current certificate has been reported.
    expired: std::sync::atomic::AtomicBool,
    ready_tx: watch::Sender<bool>,
    expiry_gauge: prometheus::Gauge,
    expired_gauge: prometheus::IntGauge,
    fetch_errors: prometheus::IntCounterVec,
    task: Mutex<Option<tokio::task::AbortHandle>>,
}

impl IdentityState {
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    fn next_generation(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// The current certificate, while it has not expired.
    pub(crate) fn valid_cert(&self) -> Option<Arc<CertifiedKey>> {
        let not_after = self.not_after.load(std::sync::atomic::Ordering::Acquire);
        if not_after <= pki::unix_now() {
            return None;
        }
        self.cert.read().ok().and_then(|c| c.clone())
    }
}

impl Drop for IdentityState {
    fn drop(&mut self) {
        if let Ok(mut t) = self.task.lock() {
            if let Some(t) = t.take() {
                t.abort();
            }
        }
    }
}

/// A workload identity: the current certificate and trust bundle, kept fresh by one task.
/// Cloning is cheap; the refresh task stops when the last clone (and every config made from it)
/// is dropped.
#[derive(Clone)]
pub struct Identity {
    shared: Arc<IdentityState>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("identity", &self.shared.identity)
            .field("ready", &self.is_ready())
            .field("not_after", &self.cert_expiry_unix())
            .finish()
    }
}

fn new_gauge() -> prometheus::Gauge {
    prometheus::Gauge::new(
        CERT_EXPIRY_METRIC,
        "notAfter of the sidecar's current workload certificate, Unix seconds",
    )
    .unwrap_or_else(|_| unreachable_gauge())
}

fn new_expired_gauge() -> prometheus::IntGauge {
    prometheus::IntGauge::new(
        EXPIRED_METRIC,
        "1 while the sidecar's workload certificate has expired and mesh connections are refused",
    )
    .expect("constant metric name is valid")
}

fn new_fetch_errors() -> prometheus::IntCounterVec {
    let c = prometheus::IntCounterVec::new(
        prometheus::Opts::new(
            FETCH_ERRORS_METRIC,
            "Failed calls to the CA (certificate requests and trust bundle refreshes) by reason",
        ),
        &["reason"],
    )
    .expect("constant metric name and label are valid");
    // Every series exists from the start (at 0), so rates and alerts need no special case.
    for r in FETCH_ERROR_REASONS {
        c.with_label_values(&[r]);
    }
    c
}

// `Gauge::new` only fails on an invalid metric name, and ours is a valid constant.
fn unreachable_gauge() -> prometheus::Gauge {
    prometheus::Gauge::with_opts(prometheus::Opts::new("phimesh_unnamed", "unused"))
        .expect("constant metric name is valid")
}

impl Identity {
    fn new_shared(identity: SpiffeId, allow: Option<Vec<SpiffeId>>) -> Arc<IdentityState> {
        let (ready_tx, _) = watch::channel(false);
        Arc::new(IdentityState {
            trust_domain: identity.trust_domain().to_owned(),
            identity,
            allow,
            cert: RwLock::new(None),
            trust: RwLock::new(Arc::new(Trust::empty())),
            not_after: std::sync::atomic::AtomicI64::new(0),
            installed_at: std::sync::atomic::AtomicI64::new(0),
            generation: std::sync::atomic::AtomicU64::new(1),
            expired: std::sync::atomic::AtomicBool::new(false),
            ready_tx,
            expiry_gauge: new_gauge(),
            expired_gauge: new_expired_gauge(),
            fetch_errors: new_fetch_errors(),
            task: Mutex::new(None),
        })
    }

    /// Validates `cfg`, reads the CA roots once (so a missing file is an error at start) and
    /// spawns the refresh task on the current tokio runtime. Returns at once; await
    /// [`ready`](Self::ready) for the first certificate.
    pub fn start(cfg: IdentityConfig) -> Result<Identity, IdentityError> {
        let ca = HttpsUrl::parse(&cfg.ca_addr).map_err(|e| IdentityError::Config(e.to_string()))?;
        if !(cfg.renew_fraction > 0.05 && cfg.renew_fraction < 1.0) {
            return Err(IdentityError::Config(format!(
                "renew fraction {} must be between 0.05 and 1",
                cfg.renew_fraction
            )));
        }
        check_allow(&cfg.identity, cfg.allow_identities.as_deref())?;
        read_roots_file(&cfg.ca_roots)?;
        let shared = Self::new_shared(cfg.identity.clone(), cfg.allow_identities.clone());
        let weak = Arc::downgrade(&shared);
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| IdentityError::Config("Identity::start needs a tokio runtime".into()))?;
        let task = handle.spawn(refresh_loop(weak, cfg, ca));
        if let Ok(mut t) = shared.task.lock() {
            *t = Some(task.abort_handle());
        }
        Ok(Identity { shared })
    }

    /// An identity from fixed PEM: `chain_pem` (leaf first), its PKCS#8 `key_pem`, the roots in
    /// `bundle_pem`. The SPIFFE ID is read from the leaf and must be in `trust_domain`. No task,
    /// no renewal (use [`install_pem`](Self::install_pem) to swap later).
    pub fn from_static(
        chain_pem: &str,
        key_pem: &str,
        bundle_pem: &str,
        trust_domain: &str,
        allow_identities: Option<Vec<SpiffeId>>,
    ) -> Result<Identity, IdentityError> {
        let chain =
            pki::parse_certs_pem(chain_pem).map_err(|e| IdentityError::Pem(e.to_string()))?;
        let identity = pki::spiffe_id_of(&chain[0])
            .ok_or_else(|| IdentityError::Pem("leaf has no SPIFFE ID URI SAN".into()))?;
        if identity.trust_domain() != trust_domain {
            return Err(IdentityError::Config(format!(
                "certificate identity {identity} is not in trust domain {trust_domain}"
            )));
        }
        check_allow(&identity, allow_identities.as_deref())?;
        let me = Identity {
            shared: Self::new_shared(identity, allow_identities),
        };
        me.install_pem(chain_pem, key_pem, bundle_pem)?;
        Ok(me)
    }

    /// Replaces the certificate, key and trust bundle, as a renewal does. Open connections are
    /// untouched; new handshakes use the new material. The leaf must carry this identity.
    pub fn install_pem(
        &self,
        chain_pem: &str,
        key_pem: &str,
        bundle_pem: &str,
    ) -> Result<(), IdentityError> {
        let chain =
            pki::parse_certs_pem(chain_pem).map_err(|e| IdentityError::Pem(e.to_string()))?;
        let key = {
            use rustls::pki_types::pem::PemObject;
            PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
                .map_err(|_| IdentityError::Pem("no usable private key in PEM".into()))?
        };
        let bundle =
            pki::parse_certs_pem(bundle_pem).map_err(|e| IdentityError::Pem(e.to_string()))?;
        self.install(chain, key, bundle)
    }

    fn install(
        &self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        bundle: Vec<CertificateDer<'static>>,
    ) -> Result<(), IdentityError> {
        let leaf_id = chain.first().and_then(|c| pki::spiffe_id_of(c));
        if leaf_id.as_ref() != Some(&self.shared.identity) {
            return Err(IdentityError::BadAnswer(format!(
                "certificate is not for {}",
                self.shared.identity
            )));
        }
        let info = pki::cert_info(&chain[0]).map_err(|e| IdentityError::Pem(e.to_string()))?;
        let certified = CertifiedKey::from_der(chain.clone(), key, &provider())
            .map_err(|e| IdentityError::Pem(format!("certificate and key: {e}")))?;
        let trust = Trust::from_ders(bundle)?;
        verify::verify_chain(&trust.roots, &chain).map_err(|e| {
            IdentityError::BadAnswer(format!(
                "chain does not verify against the trust bundle: {e}"
            ))
        })?;
        // Trust first, so peers already on a new root are accepted before we present ours.
        self.set_trust(trust);
        if let Ok(mut c) = self.shared.cert.write() {
            *c = Some(Arc::new(certified));
        }
        use std::sync::atomic::Ordering;
        self.shared
            .installed_at
            .store(pki::unix_now(), Ordering::Release);
        self.shared
            .not_after
            .store(info.not_after, Ordering::Release);
        // A new certificate: sessions made under the previous one are not resumed.
        self.shared.next_generation();
        self.shared.expiry_gauge.set(info.not_after as f64);
        if info.not_after > pki::unix_now() && self.shared.expired.swap(false, Ordering::AcqRel) {
            info!(identity = %self.shared.identity, "workload certificate valid again: mesh connections resume");
        }
        self.shared
            .expired_gauge
            .set(i64::from(self.shared.expired.load(Ordering::Acquire)));
        self.shared.ready_tx.send_replace(true);
        Ok(())
    }

    fn set_trust(&self, trust: Trust) {
        if let Ok(mut t) = self.shared.trust.write() {
            *t = Arc::new(trust);
        }
        // A new trust bundle: sessions authenticated under the previous one are not resumed.
        self.shared.next_generation();
    }

    /// The generation of this identity's TLS material: it changes whenever the certificate or
    /// the trust bundle does, and TLS sessions stored under an older one are never resumed.
    pub fn generation(&self) -> u64 {
        self.shared.generation()
    }

    /// Whether a certificate is installed and has expired. The first call that finds it so (the
    /// refresh task wakes at `notAfter` for this; each refused handshake calls it too) logs it
    /// and sets `phimesh_identity_expired` to 1; installing a valid certificate sets it back.
    pub fn check_expired(&self) -> bool {
        use std::sync::atomic::Ordering;
        let Some(not_after) = self.cert_expiry_unix() else {
            return false;
        };
        if not_after > pki::unix_now() {
            return false;
        }
        if !self.shared.expired.swap(true, Ordering::AcqRel) {
            self.shared.expired_gauge.set(1);
            warn!(
                identity = %self.shared.identity,
                not_after,
                "workload certificate expired: refusing mesh connections in both directions until a new one is installed"
            );
        }
        true
    }

    /// The SPIFFE ID this identity holds.
    pub fn spiffe_id(&self) -> &SpiffeId {
        &self.shared.identity
    }

    /// Waits until a first certificate is installed.
    pub async fn ready(&self) {
        let mut rx = self.shared.ready_tx.subscribe();
        let _ = rx.wait_for(|r| *r).await;
    }

    /// True while a certificate is installed and has not expired.
    pub fn is_ready(&self) -> bool {
        match self.cert_expiry_unix() {
            Some(t) => t > pki::unix_now(),
            None => false,
        }
    }

    /// `notAfter` of the current certificate, Unix seconds.
    pub fn cert_expiry_unix(&self) -> Option<i64> {
        match self
            .shared
            .not_after
            .load(std::sync::atomic::Ordering::Acquire)
        {
            0 => None,
            t => Some(t),
        }
    }

    /// The current trust bundle, PEM.
    pub fn trust_bundle_pem(&self) -> String {
        let trust = self.current_trust();
        pki::certs_to_pem(&trust.ders)
    }

    pub(crate) fn current_trust(&self) -> Arc<Trust> {
        self.shared
            .trust
            .read()
            .map(|t| t.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The gauge `phimesh_identity_cert_expiry_timestamp_seconds`, for callers that register
    /// metrics themselves.
    pub fn expiry_gauge(&self) -> prometheus::Gauge {
        self.shared.expiry_gauge.clone()
    }

    /// The counter `phimesh_identity_fetch_errors_total{reason}`.
    pub fn fetch_errors(&self) -> prometheus::IntCounterVec {
        self.shared.fetch_errors.clone()
    }

    /// The gauge `phimesh_identity_expired`.
    pub fn expired_gauge(&self) -> prometheus::IntGauge {
        self.shared.expired_gauge.clone()
    }

    /// Registers `phimesh_identity_cert_expiry_timestamp_seconds`, `phimesh_identity_expired`
    /// and `phimesh_identity_fetch_errors_total` on `registry`.
    pub fn register_metrics(
        &self,
        registry: &prometheus::Registry,
    ) -> Result<(), prometheus::Error> {
        let gauge = registry.register(Box::new(self.shared.expiry_gauge.clone()));
        let expired = registry.register(Box::new(self.shared.expired_gauge.clone()));
        let errors = registry.register(Box::new(self.shared.fetch_errors.clone()));
        gauge.and(expired).and(errors)
    }

    /// rustls server config for inbound mTLS: presents the current certificate, verifies client
    /// certificates against the current roots and checks their SPIFFE ID (trust domain and
    /// allow list). With `require_client_cert == false` a client without a certificate is
    /// admitted (permissive mode); one that presents a certificate is still verified.
    pub fn server_config(
        &self,
        alpn: Vec<Vec<u8>>,
        require_client_cert: bool,
    ) -> Arc<ServerConfig> {
        let verifier = Arc::new(verify::SpiffeClientVerifier::new(
            Arc::downgrade(&self.shared),
            require_client_cert,
        ));
        let mut cfg = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("ring provider supports TLS 1.3")
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(Arc::new(verify::CurrentCert(self.shared.clone())));
        cfg.alpn_protocols = alpn;
        cfg.session_storage = sessions::ServerSessions::new(Arc::downgrade(&self.shared));
        Arc::new(cfg)
    }

    /// rustls client config for outbound mTLS: presents the current certificate and accepts any
    /// server whose chain verifies against the current roots and whose SPIFFE ID is in the trust
    /// domain. The `ServerName` passed to `connect` is only used for SNI.
    pub fn client_config(&self, alpn: Vec<Vec<u8>>) -> Arc<ClientConfig> {
        self.client_config_expecting(alpn, None)
    }

    /// Like [`client_config`](Self::client_config) but the server must have one of `expected`
    /// identities (secure naming), checked inside the handshake.
    pub fn client_config_expecting(
        &self,
        alpn: Vec<Vec<u8>>,
        expected: Option<Vec<SpiffeId>>,
    ) -> Arc<ClientConfig> {
        let sessions = sessions::ClientSessions::new(Arc::downgrade(&self.shared));
        let verifier = Arc::new(verify::SpiffeServerVerifier::new(
            Arc::downgrade(&self.shared),
            expected,
            Some(sessions.clone()),
        ));
        let mut cfg = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("ring provider supports TLS 1.3")
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_cert_resolver(Arc::new(verify::CurrentCert(self.shared.clone())));
        cfg.alpn_protocols = alpn;
        cfg.resumption = rustls::client::Resumption::store(sessions);
        Arc::new(cfg)
    }
}

impl Identity {
    /// An authenticated `GET` of the CA's API at `path` (such as `/v1/mesh`), the way the
    /// certificate calls are made: the token of `cfg.token_file` (re-read now) as bearer token,
    /// the CA verified with `cfg.ca_roots` plus the current trust bundle, `cfg.request_timeout`
    /// for the whole call, and at most `max_body` bytes of answer. Any status is returned; the
    /// caller reads it. Errors never contain the token.
    pub async fn ca_get(
        &self,
        cfg: &IdentityConfig,
        path: &str,
        headers: &[(&str, &str)],
        max_body: usize,
    ) -> Result<https::Response, IdentityError> {
        let ca = HttpsUrl::parse(&cfg.ca_addr).map_err(|e| IdentityError::Config(e.to_string()))?;
        let token = read_token(cfg)?;
        let tls = ca_client_config(cfg, &self.current_trust(), &mut Vec::new())?;
        let auth = format!("Bearer {token}");
        let mut all = vec![("authorization", auth.as_str())];
        all.extend_from_slice(headers);
        Ok(https::request(
            &ca,
            tls,
            http::Method::GET,
            path,
            &all,
            None,
            https::Limits {
                timeout: cfg.request_timeout,
                max_body,
            },
        )
        .await?)
    }
}

fn read_token(cfg: &IdentityConfig) -> Result<String, IdentityError> {
    let token =
        read_bounded(&cfg.token_file, MAX_TOKEN_BYTES).map_err(|message| IdentityError::File {
            path: cfg.token_file.clone(),
            message,
        })?;
    let token = token.trim();
    if token.is_empty() {
        return Err(IdentityError::File {
            path: cfg.token_file.clone(),
            message: "token file is empty".into(),
        });
    }
    Ok(token.to_owned())
}

fn check_allow(identity: &SpiffeId, allow: Option<&[SpiffeId]>) -> Result<(), IdentityError> {
    if let Some(list) = allow {
        if let Some(other) = list
            .iter()
            .find(|a| a.trust_domain() != identity.trust_domain())
        {
            return Err(IdentityError::Config(format!(
                "allowed identity {other} is not in trust domain {}",
                identity.trust_domain()
            )));
        }
    }
    Ok(())
}

fn read_roots_file(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, IdentityError> {
    let file_err = |message: String| IdentityError::File {
        path: path.to_owned(),
        message,
    };
    let pem = read_bounded(path, 4 * 1024 * 1024).map_err(file_err)?;
    pki::parse_certs_pem(&pem).map_err(|e| file_err(e.to_string()))
}

fn read_bounded(path: &std::path::Path, max: u64) -> Result<String, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut s = String::new();
    f.take(max + 1)
        .read_to_string(&mut s)
        .map_err(|e| e.to_string())?;
    if s.len() as u64 > max {
        return Err(format!("larger than {max} bytes"));
    }
    Ok(s)
}

/// The client config used to talk to the CA: webpki with host-name checks, roots = the
/// `--ca-roots` file (when readable) plus the current trust bundle.
fn ca_client_config(
    cfg: &IdentityConfig,
    trust: &Trust,
    last_file_roots: &mut Vec<CertificateDer<'static>>,
) -> Result<Arc<ClientConfig>, IdentityError> {
    match read_roots_file(&cfg.ca_roots) {
        Ok(r) => *last_file_roots = r,
        Err(e) => warn!(error = %e, "keeping the last CA roots read"),
    }
    let mut roots = RootCertStore::empty();
    for d in last_file_roots.iter().chain(trust.ders.iter()) {
        let _ = roots.add(d.clone());
    }
    let cfg = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| IdentityError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// The CA's JSON `error` text when it is one of the identity API's own refusal texts
/// ([`crate::api::api_error_texts`]; it goes into log lines). Any other text, and a body
/// that is not the CA's JSON, is not repeated, only measured: whatever answered (a gateway, a
/// proxy, a wrong address) may echo the request, and the request carries the token.
fn error_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct E {
        error: String,
    }
    static KNOWN: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let known = KNOWN.get_or_init(crate::api::api_error_texts);
    match serde_json::from_slice::<E>(body) {
        Ok(e) if known.contains(&e.error) => e.error,
        Ok(e) => format!(
            "(an error text that is not the CA's, {} bytes, not repeated)",
            e.error.len()
        ),
        Err(_) => format!("(no JSON error in a {}-byte body)", body.len()),
    }
}

/// Parses the CA's JSON answer. The error names only the answer and the position: serde's own
/// text quotes the offending value (`invalid type: string "..."`), and whatever answered may
/// echo the request with its token.
fn parse_answer<T: serde::de::DeserializeOwned>(
    body: &[u8],
    what: &'static str,
) -> Result<T, IdentityError> {
    serde_json::from_slice(body).map_err(|e| {
        IdentityError::BadAnswer(format!(
            "not the {what} JSON ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

/// PEM certificates of a field of the CA's answer; the error names the field only (a PEM
/// parser's text may quote the line it could not read).
fn answer_certs(
    pem: &str,
    field: &'static str,
) -> Result<Vec<CertificateDer<'static>>, IdentityError> {
    pki::parse_certs_pem(pem)
        .map_err(|_| IdentityError::BadAnswer(format!("{field} is not PEM certificates")))
}

/// Counts and logs one failed call to the CA. `what` names the call, `retry_in` the wait before
/// the next attempt. Fields: reason, CA address, status and the CA's error text for refusals,
/// the error itself (no error of this module carries the token).
fn report_failure(
    me: &Identity,
    cfg: &IdentityConfig,
    what: &'static str,
    e: &IdentityError,
    retry_in: Duration,
    failures: u32,
) {
    let reason = e.reason();
    me.shared.fetch_errors.with_label_values(&[reason]).inc();
    let retry_in_ms = retry_in.as_millis() as u64;
    let still_valid = me.is_ready();
    match e {
        IdentityError::Refused { status, message } => warn!(
            call = what,
            reason,
            ca = %cfg.ca_addr,
            status = *status,
            ca_error = %message,
            retry_in_ms,
            failures,
            still_valid,
            "identity fetch failed: the CA refused the request"
        ),
        _ => warn!(
            call = what,
            reason,
            ca = %cfg.ca_addr,
            error = %e,
            retry_in_ms,
            failures,
            still_valid,
            "identity fetch failed"
        ),
    }
}

async fn fetch_certificate(
    me: &Identity,
    cfg: &IdentityConfig,
    ca: &HttpsUrl,
    file_roots: &mut Vec<CertificateDer<'static>>,
) -> Result<i64, IdentityError> {
    let token = read_token(cfg)?;
    let key = pki::generate_key(KeyAlgorithm::EcdsaP256)
        .map_err(|e| IdentityError::Pem(e.to_string()))?;
    let csr =
        pki::make_csr(&key, &cfg.identity, &[]).map_err(|e| IdentityError::Pem(e.to_string()))?;
    let body = serde_json::to_vec(&CertificateRequest { csr })
        .map_err(|e| IdentityError::Pem(e.to_string()))?;
    let tls = ca_client_config(cfg, &me.current_trust(), file_roots)?;
    let auth = format!("Bearer {token}");
    let resp = https::request(
        ca,
        tls,
        http::Method::POST,
        "/v1/certificates",
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        Some(body),
        https::Limits {
            timeout: cfg.request_timeout,
            max_body: MAX_CA_RESPONSE,
        },
    )
    .await?;
    if resp.status != 200 {
        return Err(IdentityError::Refused {
            status: resp.status,
            message: error_message(&resp.body),
        });
    }
    let answer: CertificateResponse = parse_answer(&resp.body, "certificate")?;
    let chain = answer_certs(&answer.certificate_chain, "certificate_chain")?;
    let bundle = answer_certs(&answer.trust_bundle, "trust_bundle")?;
    let leaf = chain
        .first()
        .ok_or_else(|| IdentityError::BadAnswer("certificate_chain is empty".into()))?;
    let info = pki::cert_info(leaf)
        .map_err(|_| IdentityError::BadAnswer("the leaf certificate cannot be parsed".into()))?;
    if info.spki_der != key.subject_public_key_info() {
        return Err(IdentityError::BadAnswer(
            "certificate is not for our key".into(),
        ));
    }
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    me.install(chain, key_der, bundle)?;
    info!(identity = %cfg.identity, serial = %info.serial_hex, not_after = info.not_after, "workload certificate installed");
    Ok(info.not_after)
}

async fn fetch_bundle(
    me: &Identity,
    cfg: &IdentityConfig,
    ca: &HttpsUrl,
    file_roots: &mut Vec<CertificateDer<'static>>,
) -> Result<(), IdentityError> {
    let trust = me.current_trust();
    let tls = ca_client_config(cfg, &trust, file_roots)?;
    let resp = https::request(
        ca,
        tls,
        http::Method::GET,
        "/v1/trust-bundle",
        &[],
        None,
        https::Limits {
            timeout: cfg.request_timeout,
            max_body: MAX_CA_RESPONSE,
        },
    )
    .await?;
    if resp.status != 200 {
        return Err(IdentityError::Refused {
            status: resp.status,
            message: error_message(&resp.body),
        });
    }
    let answer: TrustBundleResponse = parse_answer(&resp.body, "trust bundle")?;
    let ders = answer_certs(&answer.trust_bundle, "trust_bundle")?;
    if ders == trust.ders {
        return Ok(());
    }
    // Never install a bundle that would stop verifying our own certificate.
    let new_trust = Trust::from_ders(ders)?;
    if let Some(cert) = me.shared.cert.read().ok().and_then(|c| c.clone()) {
        verify::verify_chain(&new_trust.roots, &cert.cert).map_err(|e| {
            IdentityError::BadAnswer(format!(
                "new trust bundle does not verify our certificate: {e}"
            ))
        })?;
    }
    info!(roots = new_trust.ders.len(), "trust bundle updated");
    me.set_trust(new_trust);
    Ok(())
}

/// Delay before renewing a certificate that expires at `not_after`: `fraction` of the time left,
/// minus up to 10 % jitter (so a fleet restarted together spreads its renewals).
pub fn renew_delay(now: i64, not_after: i64, fraction: f64) -> Duration {
    let left = (not_after - now).max(0) as f64;
    let jitter = rand::thread_rng().gen_range(0.9..=1.0);
    Duration::from_secs_f64(left * fraction * jitter)
}

fn backoff_with_jitter(d: Duration) -> Duration {
    d.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
}

/// Fraction of a certificate's life (from its installation to `notAfter`) at the end of which
/// retries are urgent.
pub const URGENT_FRACTION: f64 = 0.1;

/// The wait before the next certificate request after a failed one. `backoff` is the capped
/// exponential backoff; `cert` is `(seconds left, seconds of life)` of the current certificate,
/// `None` without one. Without a certificate, once it has expired or in the last
/// [`URGENT_FRACTION`] of its life the wait is at most `urgent_max` (with jitter): the sidecar
/// is, or is about to be, not ready. Before that, the wait never runs past the start of that
/// last tenth. Jitter takes up to half off every wait.
pub fn retry_delay(backoff: Duration, urgent_max: Duration, cert: Option<(f64, f64)>) -> Duration {
    let urgent = backoff_with_jitter(backoff.min(urgent_max));
    let Some((left, life)) = cert else {
        return urgent;
    };
    let until_urgent = left - life.max(0.0) * URGENT_FRACTION;
    if until_urgent <= 0.0 {
        return urgent;
    }
    backoff_with_jitter(backoff).min(Duration::from_secs_f64(until_urgent))
}

/// Seconds since the Unix epoch, with fractions.
fn unix_now_f64() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Identity {
    /// `(seconds left, seconds of life)` of the current certificate.
    fn cert_life(&self) -> Option<(f64, f64)> {
        let not_after = self.cert_expiry_unix()? as f64;
        let installed = self
            .shared
            .installed_at
            .load(std::sync::atomic::Ordering::Acquire) as f64;
        Some((not_after - unix_now_f64(), not_after - installed))
    }

    /// When the refresh task must wake to report the expiry: `None` once reported.
    fn expiry_wake(&self) -> Option<tokio::time::Instant> {
        if self
            .shared
            .expired
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return None;
        }
        let (left, _) = self.cert_life()?;
        // `notAfter` is a whole second and expiry is checked against whole seconds.
        Some(tokio::time::Instant::now() + Duration::from_secs_f64(left.max(0.0) + 0.001))
    }
}

async fn refresh_loop(weak: Weak<IdentityState>, cfg: IdentityConfig, ca: HttpsUrl) {
    use tokio::time::Instant;
    let mut file_roots = Vec::new();
    let mut backoff = cfg.retry_initial;
    let mut failures: u32 = 0;
    let mut renew_at = Instant::now();
    let mut bundle_at = Instant::now() + cfg.bundle_refresh;
    loop {
        let Some(shared) = weak.upgrade() else { return };
        let me = Identity { shared };
        let now = Instant::now();
        if now >= renew_at {
            match fetch_certificate(&me, &cfg, &ca, &mut file_roots).await {
                Ok(not_after) => {
                    backoff = cfg.retry_initial;
                    failures = 0;
                    let delay = renew_delay(pki::unix_now(), not_after, cfg.renew_fraction);
                    renew_at = Instant::now() + delay;
                    bundle_at = Instant::now() + cfg.bundle_refresh;
                    debug!(in_secs = delay.as_secs_f64(), "next renewal scheduled");
                }
                Err(e) => {
                    let wait = retry_delay(backoff, cfg.retry_urgent_max, me.cert_life());
                    failures = failures.saturating_add(1);
                    report_failure(&me, &cfg, "certificate", &e, wait, failures);
                    renew_at = Instant::now() + wait;
                    backoff = (backoff * 2).min(cfg.retry_max);
                }
            }
        } else if now >= bundle_at {
            match fetch_bundle(&me, &cfg, &ca, &mut file_roots).await {
                Ok(()) => bundle_at = Instant::now() + cfg.bundle_refresh,
                Err(e) => {
                    let wait = backoff_with_jitter(cfg.retry_initial.max(cfg.bundle_refresh / 10));
                    report_failure(&me, &cfg, "trust_bundle", &e, wait, 1);
                    bundle_at = Instant::now() + wait;
                }
            }
        }
        me.check_expired();
        let mut wake = renew_at.min(bundle_at);
        if let Some(at) = me.expiry_wake() {
            wake = wake.min(at);
        }
        drop(me);
        tokio::time::sleep_until(wake).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renew_delay_is_about_two_thirds_never_later() {
        for _ in 0..200 {
            let d = renew_delay(1000, 1000 + 86_400, 2.0 / 3.0).as_secs_f64();
            assert!(
                (57_600.0 * 0.9 - 1e-6..=57_600.0 + 1e-6).contains(&d),
                "{d}"
            );
        }
        assert_eq!(renew_delay(1000, 900, 0.66), Duration::ZERO);
    }

    #[test]
    fn retries_are_urgent_without_a_certificate_when_expired_and_in_the_last_tenth() {
        let urgent = Duration::from_secs(2);
        let long = Duration::from_secs(60);
        for _ in 0..200 {
            // no certificate, expired, last tenth: at most 2 s (1 to 2 s with jitter)
            for cert in [
                None,
                Some((-30.0, 100.0)),
                Some((9.0, 100.0)),
                Some((0.0, 4.0)),
            ] {
                let d = retry_delay(long, urgent, cert).as_secs_f64();
                assert!((1.0..=2.0).contains(&d), "{cert:?}: {d}");
            }
            // a short backoff stays short
            let d = retry_delay(Duration::from_millis(400), urgent, None).as_secs_f64();
            assert!((0.2..=0.4).contains(&d), "{d}");
            // plenty of life left: the usual backoff...
            let d = retry_delay(long, urgent, Some((86_000.0, 86_400.0))).as_secs_f64();
            assert!((30.0..=60.0).contains(&d), "{d}");
            // ...but never past the start of the last tenth
            let d = retry_delay(long, urgent, Some((15.0, 100.0))).as_secs_f64();
            assert!(d <= 5.0 + 1e-9, "{d}");
        }
    }

    #[test]
    fn refusal_text_is_the_cas_json_error_only() {
        assert_eq!(
            error_message(br#"{"error":"unknown or invalid token"}"#),
            "unknown or invalid token"
        );
        // Every refusal text of the identity API is repeated.
        for t in crate::api::api_error_texts() {
            let body = serde_json::to_vec(&serde_json::json!({ "error": t })).unwrap();
            assert_eq!(error_message(&body), t);
        }
        // Whatever answered without the CA's JSON may echo the request: not repeated.
        let echo = b"POST /v1/certificates\r\nauthorization: Bearer tok-123\r\n";
        let m = error_message(echo);
        assert!(!m.contains("tok-123") && m.contains("no JSON error"), "{m}");
        // Nor is a JSON error text that is not one of the CA's (a gateway echoing the request),
        // and a line break in it cannot start a forged log line.
        let m = error_message(br#"{"error":"bad header authorization: Bearer tok-123\nx"}"#);
        assert!(!m.contains("tok-123") && !m.contains('\n'), "{m}");
        assert!(m.contains("not the CA's"), "{m}");
    }

    #[test]
    fn unusable_answers_are_not_quoted() {
        // serde quotes the offending value; a PEM parser may quote the line it choked on.
        let e = parse_answer::<CertificateResponse>(br#""Bearer tok-123""#, "certificate")
            .unwrap_err()
            .to_string();
        assert!(
            !e.contains("tok-123") && e.contains("not the certificate JSON"),
            "{e}"
        );
        let e = parse_answer::<CertificateResponse>(
            br#"{"certificate_chain":"x","trust_bundle":"y","not_after":["tok-123"]}"#,
            "certificate",
        )
        .unwrap_err()
        .to_string();
        assert!(!e.contains("tok-123"), "{e}");
        let pem = "-----BEGIN CERTIFICATE-----\nBearer tok-123 !!\n-----END CERTIFICATE-----\n";
        let e = answer_certs(pem, "certificate_chain")
            .unwrap_err()
            .to_string();
        assert!(
            !e.contains("tok-123") && e.contains("certificate_chain"),
            "{e}"
        );
    }

    #[test]
    fn failure_reasons_are_bounded() {
        let refused = |status| IdentityError::Refused {
            status,
            message: String::new(),
        };
        let cases = [
            (refused(401), "unauthenticated"),
            (refused(403), "forbidden"),
            (refused(400), "bad_request"),
            (refused(429), "rate_limited"),
            (refused(503), "unavailable"),
            (refused(502), "http_status"),
            (
                IdentityError::Https(HttpsError::Timeout(Duration::from_secs(1))),
                "timeout",
            ),
            (
                IdentityError::Https(HttpsError::Http("x".into())),
                "protocol",
            ),
            (IdentityError::BadAnswer("x".into()), "bad_answer"),
        ];
        for (e, want) in cases {
            assert_eq!(e.reason(), want, "{e}");
            assert!(FETCH_ERROR_REASONS.contains(&want));
        }
        // Every reason is a series from the start, at 0.
        let c = new_fetch_errors();
        let families = prometheus::Registry::new();
        families.register(Box::new(c)).unwrap();
        let text = {
            use prometheus::Encoder;
            let mut out = Vec::new();
            prometheus::TextEncoder::new()
                .encode(&families.gather(), &mut out)
                .unwrap();
            String::from_utf8(out).unwrap()
        };
        for r in FETCH_ERROR_REASONS {
            assert!(
                text.contains(&format!("{FETCH_ERRORS_METRIC}{{reason=\"{r}\"}} 0")),
                "{text}"
            );
        }
    }

    #[test]
    fn start_refuses_bad_config() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _g = rt.enter();
        let id: SpiffeId = "spiffe://cluster.local/ns/a/sa/b".parse().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let cfg = IdentityConfig::new(id.clone(), "http://x:1", &missing, &missing);
        assert!(matches!(
            Identity::start(cfg),
            Err(IdentityError::Config(_))
        ));
        let cfg = IdentityConfig::new(id.clone(), "https://127.0.0.1:1", &missing, &missing);
        assert!(matches!(
            Identity::start(cfg),
            Err(IdentityError::File { .. })
        ));
        let mut cfg = IdentityConfig::new(id, "https://127.0.0.1:1", &missing, &missing);
        cfg.allow_identities = Some(vec!["spiffe://other.td/ns/a/sa/b".parse().unwrap()]);
        assert!(matches!(
            Identity::start(cfg),
            Err(IdentityError::Config(_))
        ));
    }
}
