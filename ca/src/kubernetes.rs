//! The CA on Kubernetes (`--state-backend kubernetes`): state in a Secret, one leader chosen by a
//! Lease, trust bundles distributed to ConfigMaps. Every call goes through `kube` (kube-rs).
//!
//! * [`secret`]: the state lives in Secret `phimesh-ca-state` of the CA's namespace (key
//!   `ca-state.json`, plus the public `trust-bundle.pem`). The first replica to start creates it
//!   (a create that loses the race reads the winner's); a replica that finds it missing while the
//!   Lease or the trust ConfigMap shows a CA ran waits for it instead of creating a new CA. Every write is a `replace` carrying the
//!   `resourceVersion` it read: a `409 Conflict` re-reads the Secret, adopts it (the newer
//!   write wins) and applies the change again on top of it, so no write is ever lost or
//!   overwritten blindly. A Secret that does not parse or hold together stops the CA at start
//!   (exit 2) and is never written to. A Secret deleted while the CA runs is written again by the
//!   leader from the state in memory, so an accidental delete does not replace the root (the
//!   leader reads the Secret's version on every tick, so a delete or write its watch missed is
//!   seen too). A state adopted from the Secret keeps, as retiring roots, the roots of the state it
//!   replaces that may still have live leaves; the leader writes that merged state back.
//! * [`leader`]: the `coordination.k8s.io/v1` Lease `phimesh-ca`, acquired and renewed with the
//!   same compare-and-swap; `holderIdentity` is the pod name. Only the leader, and only while its
//!   last renewal is within the renew deadline (checked right before each write), advances the
//!   rotation state machine and writes the Secret; every replica signs leaves from the state it
//!   last read and follows the Secret with a watch.
//! * [`trust`]: the leader keeps ConfigMap `phimesh-trust-bundle` (key `trust-bundle.pem`) equal
//!   to the current bundle in its own namespace and in every namespace that has a pod labelled
//!   `phimesh.io/sidecar=injected` (found by listing and watching such pods), on every bundle
//!   change and as soon as such a namespace appears.

pub mod leader;
pub mod secret;
pub mod trust;

use std::time::Duration;

/// Label the injector puts on every pod it injects.
pub const INJECTED_LABEL: &str = "phimesh.io/sidecar";
/// Value of [`INJECTED_LABEL`].
pub const INJECTED_VALUE: &str = "injected";
/// Name of the ConfigMap the sidecars mount the trust bundle from.
pub const TRUST_CONFIGMAP: &str = "phimesh-trust-bundle";
/// Key of the bundle in that ConfigMap (and in the state Secret).
pub const TRUST_KEY: &str = "trust-bundle.pem";
/// Default name of the state Secret.
pub const STATE_SECRET: &str = "phimesh-ca-state";
/// Default name of the Lease.
pub const LEASE: &str = "phimesh-ca";
/// Deadline of one API call (watches excepted).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// How the CA uses the Kubernetes API.
#[derive(Clone)]
pub struct KubeSettings {
    /// The client (kubeconfig or in-cluster configuration).
    pub client: kube::Client,
    /// The CA's namespace (state Secret, Lease, and a trust ConfigMap live there).
    pub namespace: String,
    /// Name of the state Secret (`--state-secret`).
    pub secret: String,
    /// Name of the Lease (`--lease-name`).
    pub lease: String,
    /// This replica's identity in the Lease (`--pod-name`, the pod name).
    pub identity: String,
    /// How long a Lease holds without renewal (`--lease-duration`).
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it steps down (`--renew-deadline`).
    pub renew_deadline: Duration,
    /// How often the Lease is tried (`--lease-retry-period`).
    pub retry_period: Duration,
}

impl std::fmt::Debug for KubeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeSettings")
            .field("namespace", &self.namespace)
            .field("secret", &self.secret)
            .field("lease", &self.lease)
            .field("identity", &self.identity)
            .field("lease_duration", &self.lease_duration)
            .field("renew_deadline", &self.renew_deadline)
            .field("retry_period", &self.retry_period)
            .finish()
    }
}

/// Runs one API call with [`CALL_TIMEOUT`].
pub(crate) async fn call<T>(
    fut: impl std::future::Future<Output = Result<T, kube::Error>>,
) -> Result<T, ApiFailure> {
    match tokio::time::timeout(CALL_TIMEOUT, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(kube::Error::Api(s))) => Err(ApiFailure::Status(s.code, s.reason.clone())),
        Ok(Err(e)) => Err(ApiFailure::Transport(e.to_string())),
        Err(_) => Err(ApiFailure::Transport("call timed out".into())),
    }
}

/// A failed API call.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ApiFailure {
    /// The API server answered with a `Status` (HTTP code, reason).
    #[error("kubernetes API answered {0} {1}")]
    Status(u16, String),
    /// The API server could not be reached or its answer read.
    #[error("kubernetes API: {0}")]
    Transport(String),
}

impl ApiFailure {
    /// Whether this is `409 Conflict` or `409 AlreadyExists`.
    pub fn is_conflict(&self) -> bool {
        matches!(self, ApiFailure::Status(409, _))
    }

    /// Whether this is `404`.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiFailure::Status(404, _))
    }
}

/// Builds a client from `KUBECONFIG` / `~/.kube/config` or the in-cluster service account, and
/// the namespace it defaults to.
pub async fn infer_client() -> Result<(kube::Client, String), String> {
    let cfg = kube::Config::infer()
        .await
        .map_err(|e| format!("no Kubernetes client configuration: {e}"))?;
    let ns = cfg.default_namespace.clone();
    let client = kube::Client::try_from(cfg).map_err(|e| format!("Kubernetes client: {e}"))?;
    Ok((client, ns))
}

/// This host's name (the pod name in Kubernetes), for `--pod-name`'s default.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "phimesh-ca".to_owned())
}
