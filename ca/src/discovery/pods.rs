//! The Kubernetes source of mesh discovery: a list+watch of every pod, keeping those the
//! injector marked (label `phimesh.io/sidecar=injected`) that run, have a pod IP and are not on
//! the host network.
//!
//! Every pod is watched, not only labelled ones, so that a label removed from a running pod
//! (a `MODIFIED` event that no longer matches a selector) is seen at once. Only meshed pods are
//! kept in memory, as their addresses and identity.
//!
//! The watch resumes from the last `resourceVersion` it saw (bookmarks included); a `410 Gone`
//! or any error relists after a capped backoff. While the API cannot be listed the last list is
//! still served, for at most [`KubePods::with_max_unsynced`] (2 minutes by default) after the
//! first failure; after that the list is withdrawn (`GET /v1/mesh` answers 503) so sidecars fall
//! back to `--mesh-networks` instead of trusting a list nobody keeps current.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures_util::{FutureExt, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::Client;
use phimesh_identity::spiffe::SpiffeId;
use tracing::{debug, warn};

use super::{MeshSource, MeshView, Unavailable};

/// The label the injector sets on every pod it adds a sidecar to.
pub const MARKER_LABEL: &str = "phimesh.io/sidecar";
/// Its value.
pub const MARKER_VALUE: &str = "injected";

const PAGE: u32 = 500;
const WATCH_TIMEOUT_SECS: u32 = 290;
const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// A [`MeshSource`] reading pods from the Kubernetes API.
pub struct KubePods {
    client: Client,
    trust_domain: String,
    max_unsynced: Duration,
}

impl std::fmt::Debug for KubePods {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubePods")
            .field("trust_domain", &self.trust_domain)
            .finish_non_exhaustive()
    }
}

impl KubePods {
    /// A source using a client made from `config`; identities are of `trust_domain`. The
    /// client's own retries are turned off: this source retries with its own capped backoff,
    /// and the client's (15 attempts, growing to minutes) would hide a recovered API server.
    pub fn new(mut config: kube::Config, trust_domain: &str) -> Result<Self, kube::Error> {
        config.default_retry = false;
        Ok(KubePods {
            client: Client::try_from(config)?,
            trust_domain: trust_domain.to_owned(),
            max_unsynced: Duration::from_secs(120),
        })
    }

    /// How long the last list is served while the API cannot be listed.
    pub fn with_max_unsynced(mut self, d: Duration) -> Self {
        self.max_unsynced = d;
        self
    }
}

/// The addresses and identity a pod contributes to the mesh list: none unless it carries the
/// marker, is not finished (`Succeeded`/`Failed`), is not on the host network (its address is
/// the node's, shared with everything else there) and has a pod IP.
pub fn pod_entries(pod: &Pod, trust_domain: &str) -> Vec<(IpAddr, SpiffeId)> {
    let meta = &pod.metadata;
    let marked = meta
        .labels
        .as_ref()
        .and_then(|l| l.get(MARKER_LABEL))
        .is_some_and(|v| v == MARKER_VALUE);
    if !marked {
        return Vec::new();
    }
    let (Some(spec), Some(status)) = (&pod.spec, &pod.status) else {
        return Vec::new();
    };
    if spec.host_network == Some(true)
        || matches!(status.phase.as_deref(), Some("Succeeded" | "Failed"))
    {
        return Vec::new();
    }
    let Some(ns) = meta.namespace.as_deref() else {
        return Vec::new();
    };
    let sa = spec.service_account_name.as_deref().unwrap_or("default");
    let Ok(id) = SpiffeId::new(trust_domain, ns, sa) else {
        return Vec::new();
    };
    let mut ips: Vec<IpAddr> = status
        .pod_ips
        .iter()
        .flatten()
        .filter_map(|p| p.ip.parse().ok())
        .collect();
    if let Some(ip) = status.pod_ip.as_deref().and_then(|s| s.parse().ok()) {
        ips.push(ip);
    }
    ips.sort();
    ips.dedup();
    ips.into_iter().map(|ip| (ip, id.clone())).collect()
}

fn key(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or(""),
        pod.metadata.name.as_deref().unwrap_or("")
    )
}

type Meshed = HashMap<String, Vec<(IpAddr, SpiffeId)>>;

enum WatchEnd {
    /// The stream ended (server timeout): watch again from the last version.
    Rewatch,
    /// The version is gone or the stream failed: list again.
    Relist,
}

impl KubePods {
    async fn list(&self, api: &Api<Pod>) -> Result<(Meshed, String), kube::Error> {
        let mut meshed = Meshed::new();
        let mut token: Option<String> = None;
        loop {
            let mut lp = ListParams::default().limit(PAGE);
            if let Some(t) = &token {
                lp = lp.continue_token(t);
            }
            let page = api.list(&lp).await?;
            for pod in &page.items {
                let e = pod_entries(pod, &self.trust_domain);
                if !e.is_empty() {
                    meshed.insert(key(pod), e);
                }
            }
            token = page.metadata.continue_.filter(|t| !t.is_empty());
            if token.is_none() {
                let rv = page.metadata.resource_version.unwrap_or_default();
                return Ok((meshed, rv));
            }
        }
    }

    /// Applies one event; true when the list changed.
    fn apply(&self, meshed: &mut Meshed, ev: WatchEvent<Pod>, rv: &mut String) -> Result<bool, ()> {
        let (pod, deleted) = match ev {
            WatchEvent::Added(p) | WatchEvent::Modified(p) => (p, false),
            WatchEvent::Deleted(p) => (p, true),
            WatchEvent::Bookmark(b) => {
                *rv = b.metadata.resource_version;
                return Ok(false);
            }
            WatchEvent::Error(s) => {
                debug!(code = s.code, reason = %s.reason, "pod watch error event");
                return Err(());
            }
        };
        if let Some(v) = &pod.metadata.resource_version {
            rv.clone_from(v);
        }
        let k = key(&pod);
        let new = if deleted {
            Vec::new()
        } else {
            pod_entries(&pod, &self.trust_domain)
        };
        let changed = if new.is_empty() {
            meshed.remove(&k).is_some()
        } else if meshed.get(&k) != Some(&new) {
            meshed.insert(k, new);
            true
        } else {
            false
        };
        Ok(changed)
    }

    async fn watch(
        &self,
        api: &Api<Pod>,
        meshed: &mut Meshed,
        rv: &mut String,
        view: &MeshView,
    ) -> WatchEnd {
        let wp = WatchParams::default().timeout(WATCH_TIMEOUT_SECS);
        let started =
            or_withdraw(api.watch(&wp, rv), Instant::now(), self.max_unsynced, view).await;
        let stream = match started {
            Ok(s) => {
                if view.current().body.is_err() {
                    // Withdrawn while the watch was being started: current again.
                    view.publish(meshed.values().flatten().cloned());
                }
                s
            }
            Err(e) => {
                warn!(error = %e, "pod watch failed; listing again");
                return WatchEnd::Relist;
            }
        };
        let mut stream = std::pin::pin!(stream);
        loop {
            let ev = match stream.try_next().await {
                Ok(Some(ev)) => ev,
                Ok(None) => return WatchEnd::Rewatch,
                Err(e) => {
                    warn!(error = %e, "pod watch broke; listing again");
                    return WatchEnd::Relist;
                }
            };
            let mut changed = match self.apply(meshed, ev, rv) {
                Ok(c) => c,
                Err(()) => return WatchEnd::Relist,
            };
            // Apply what has already arrived before publishing once.
            while let Some(Some(more)) = stream.next().now_or_never() {
                match more
                    .map_err(|_| ())
                    .and_then(|ev| self.apply(meshed, ev, rv))
                {
                    Ok(c) => changed |= c,
                    Err(()) => {
                        publish(view, meshed, changed);
                        return WatchEnd::Relist;
                    }
                }
            }
            publish(view, meshed, changed);
        }
    }
}

fn publish(view: &MeshView, meshed: &Meshed, changed: bool) {
    if changed {
        view.publish(meshed.values().flatten().cloned());
    }
}

/// Awaits `fut`; if it has not finished by `lost_at + max`, withdraws the list first (the
/// Kubernetes client retries a 503 for minutes inside one call).
async fn or_withdraw<F: std::future::Future>(
    fut: F,
    lost_at: Instant,
    max: Duration,
    view: &MeshView,
) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    tokio::select! {
        r = &mut fut => return r,
        _ = tokio::time::sleep_until((lost_at + max).into()) => view.withdraw(Unavailable::Lost),
    }
    fut.await
}

impl MeshSource for KubePods {
    fn run(
        self: Box<Self>,
        view: MeshView,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(async move {
            let api: Api<Pod> = Api::all(self.client.clone());
            let mut backoff = BACKOFF_MIN;
            // Since when no list or watch has been current.
            let mut lost_at = Instant::now();
            loop {
                let listed = or_withdraw(self.list(&api), lost_at, self.max_unsynced, &view).await;
                let (mut meshed, mut rv) = match listed {
                    Ok(x) => x,
                    Err(e) => {
                        warn!(error = %e, "listing pods failed; retrying");
                        if lost_at.elapsed() >= self.max_unsynced {
                            view.withdraw(Unavailable::Lost);
                        }
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                        continue;
                    }
                };
                backoff = BACKOFF_MIN;
                view.publish(meshed.values().flatten().cloned());
                while let WatchEnd::Rewatch = self.watch(&api, &mut meshed, &mut rv, &view).await {}
                lost_at = Instant::now();
                tokio::time::sleep(backoff).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn which_pods_are_meshed() {
        let base = serde_json::json!({
            "metadata": {"name": "web-1", "namespace": "shop", "labels": {"phimesh.io/sidecar": "injected"}},
            "spec": {"containers": [], "serviceAccountName": "web"},
            "status": {"phase": "Running", "podIP": "10.1.0.5", "podIPs": [{"ip": "10.1.0.5"}, {"ip": "fd00::5"}]}
        });
        let e = pod_entries(&pod(base.clone()), "cluster.local");
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].1.as_str(), "spiffe://cluster.local/ns/shop/sa/web");

        let mut unlabelled = base.clone();
        unlabelled["metadata"]["labels"] = serde_json::json!({"app": "web"});
        let mut other_value = base.clone();
        other_value["metadata"]["labels"]["phimesh.io/sidecar"] = "yes".into();
        let mut finished = base.clone();
        finished["status"]["phase"] = "Succeeded".into();
        let mut failed = base.clone();
        failed["status"]["phase"] = "Failed".into();
        let mut host = base.clone();
        host["spec"]["hostNetwork"] = true.into();
        let mut no_ip = base.clone();
        no_ip["status"] = serde_json::json!({"phase": "Pending"});
        for (name, p) in [
            ("unlabelled", unlabelled),
            ("other value", other_value),
            ("succeeded", finished),
            ("failed", failed),
            ("host network", host),
            ("no IP yet", no_ip),
        ] {
            assert!(pod_entries(&pod(p), "cluster.local").is_empty(), "{name}");
        }

        let mut default_sa = base;
        default_sa["spec"] = serde_json::json!({"containers": []});
        let e = pod_entries(&pod(default_sa), "cluster.local");
        assert_eq!(e[0].1.as_str(), "spiffe://cluster.local/ns/shop/sa/default");
    }
}
