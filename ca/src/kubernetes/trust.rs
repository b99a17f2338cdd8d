//! Trust distribution: the leader keeps ConfigMap `phimesh-trust-bundle` current in its own
//! namespace and in every namespace with an injected pod.
//!
//! A pod can only mount ConfigMaps of its own namespace, so the bundle (public certificates
//! only) has to be in each one, as Istio's `istio-ca-root-cert` is. Namespaces are found by
//! listing, then watching, the metadata of pods labelled `phimesh.io/sidecar=injected` across
//! the cluster (a `410 Gone` or a broken watch lists again). A ConfigMap is written when the
//! bundle changes, when its namespace first shows up, and every [`RESYNC`] (to repair a hand
//! edit); it is created if missing and otherwise replaced with the `resourceVersion` it was read
//! at, keeping any other key. A write that conflicts, or an API server that does not answer, is
//! retried a second later; a namespace that refuses the write (terminating, forbidden) is dropped
//! until a pod shows up there again. Followers do none of this.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, ListParams, ObjectMeta, PostParams, WatchEvent, WatchParams};
use tokio::sync::{mpsc, watch};

use super::{call, ApiFailure, INJECTED_LABEL, INJECTED_VALUE, TRUST_CONFIGMAP, TRUST_KEY};

/// How often every ConfigMap is read back and repaired if it was edited or deleted by hand (one
/// GET per namespace, a write only when it drifted).
pub const RESYNC: Duration = Duration::from_secs(5);
const RETRY: Duration = Duration::from_secs(1);
/// Server-side timeout of one pod watch.
const WATCH_TIMEOUT_SECS: u32 = 290;

/// What writing one ConfigMap did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It did not exist and was created.
    Created,
    /// Its bundle differed and was replaced.
    Updated,
    /// It already held the bundle.
    Unchanged,
}

/// Makes `namespace`'s trust ConfigMap hold `bundle`.
pub async fn ensure(
    client: &kube::Client,
    namespace: &str,
    bundle: &str,
) -> Result<Outcome, ApiFailure> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    match call(api.get_opt(TRUST_CONFIGMAP)).await? {
        None => {
            let cm = ConfigMap {
                metadata: ObjectMeta {
                    name: Some(TRUST_CONFIGMAP.into()),
                    namespace: Some(namespace.into()),
                    labels: Some(BTreeMap::from([
                        ("app.kubernetes.io/part-of".to_owned(), "phimesh".to_owned()),
                        (
                            "app.kubernetes.io/managed-by".to_owned(),
                            "phimesh-ca".to_owned(),
                        ),
                    ])),
                    ..Default::default()
                },
                data: Some(BTreeMap::from([(TRUST_KEY.to_owned(), bundle.to_owned())])),
                ..Default::default()
            };
            call(api.create(&PostParams::default(), &cm)).await?;
            Ok(Outcome::Created)
        }
        Some(mut cm) => {
            let data = cm.data.get_or_insert_with(BTreeMap::new);
            if data.get(TRUST_KEY).map(String::as_str) == Some(bundle) {
                return Ok(Outcome::Unchanged);
            }
            data.insert(TRUST_KEY.to_owned(), bundle.to_owned());
            call(api.replace(TRUST_CONFIGMAP, &PostParams::default(), &cm)).await?;
            Ok(Outcome::Updated)
        }
    }
}

/// Lists, then watches, injected pods and sends each one's namespace (repeats included).
async fn watch_injected_namespaces(client: kube::Client, out: mpsc::Sender<String>) {
    let pods: Api<Pod> = Api::all(client);
    let selector = format!("{INJECTED_LABEL}={INJECTED_VALUE}");
    loop {
        let list = match call(pods.list_metadata(&ListParams::default().labels(&selector))).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list injected pods; retrying");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        for p in list.items {
            if let Some(ns) = p.metadata.namespace {
                if out.send(ns).await.is_err() {
                    return;
                }
            }
        }
        let mut version = list.metadata.resource_version.unwrap_or_default();
        // Watch from the list's version until the history is gone (410) or the watch fails.
        'watch: loop {
            let params = WatchParams::default()
                .labels(&selector)
                .timeout(WATCH_TIMEOUT_SECS);
            let stream = match pods.watch_metadata(&params, &version).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot watch injected pods; listing again");
                    tokio::time::sleep(RETRY).await;
                    break 'watch;
                }
            };
            let mut stream = std::pin::pin!(stream);
            while let Some(ev) = stream.next().await {
                match ev {
                    Ok(WatchEvent::Added(p)) | Ok(WatchEvent::Modified(p)) => {
                        if let Some(v) = p.metadata.resource_version.clone() {
                            version = v;
                        }
                        if let Some(ns) = p.metadata.namespace {
                            if out.send(ns).await.is_err() {
                                return;
                            }
                        }
                    }
                    Ok(WatchEvent::Deleted(p)) => {
                        if let Some(v) = p.metadata.resource_version {
                            version = v;
                        }
                    }
                    Ok(WatchEvent::Bookmark(b)) => version = b.metadata.resource_version,
                    Ok(WatchEvent::Error(s)) => {
                        if s.code != 410 {
                            tracing::warn!(code = s.code, "pod watch error; listing again");
                        }
                        break 'watch;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "pod watch broke; listing again");
                        tokio::time::sleep(RETRY).await;
                        break 'watch;
                    }
                }
            }
            // The server ended the watch (timeout): resume from the last version seen.
        }
    }
}

/// Runs trust distribution: while `leader` is true and `leadership` valid, keeps every known namespace's ConfigMap
/// equal to `bundle`. `own_namespace` always has one. Ends when `stop` turns true.
pub async fn run(
    client: kube::Client,
    own_namespace: String,
    mut bundle: watch::Receiver<String>,
    mut leader: watch::Receiver<bool>,
    leadership: super::leader::Leadership,
    mut stop: watch::Receiver<bool>,
) {
    let mut namespaces: BTreeSet<String> = BTreeSet::from([own_namespace.clone()]);
    let mut written: BTreeMap<String, String> = BTreeMap::new();
    let (ns_tx, mut ns_rx) = mpsc::channel::<String>(1024);
    let mut watcher: Option<tokio::task::JoinHandle<()>> = None;
    let mut resync = tokio::time::interval(RESYNC);
    resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pending = false;
    loop {
        let leading = *leader.borrow_and_update() && leadership.valid();
        if leading && watcher.is_none() {
            watcher = Some(tokio::spawn(watch_injected_namespaces(
                client.clone(),
                ns_tx.clone(),
            )));
        } else if !leading {
            if let Some(w) = watcher.take() {
                w.abort();
            }
            written.clear();
            namespaces = BTreeSet::from([own_namespace.clone()]);
            while ns_rx.try_recv().is_ok() {}
        }
        if leading {
            let current = bundle.borrow_and_update().clone();
            pending = false;
            if current.contains("-----BEGIN CERTIFICATE-----") {
                let todo: Vec<String> = namespaces
                    .iter()
                    .filter(|ns| written.get(*ns) != Some(&current))
                    .cloned()
                    .collect();
                for ns in todo {
                    match ensure(&client, &ns, &current).await {
                        Ok(outcome) => {
                            if outcome != Outcome::Unchanged {
                                tracing::info!(namespace = %ns, ?outcome, "trust bundle ConfigMap written");
                            }
                            written.insert(ns, current.clone());
                        }
                        Err(e) if e.is_conflict() || matches!(e, ApiFailure::Transport(_)) => {
                            tracing::warn!(namespace = %ns, error = %e, "trust bundle ConfigMap not written; retrying");
                            pending = true;
                        }
                        Err(ApiFailure::Status(code, _)) if code >= 500 => {
                            tracing::warn!(namespace = %ns, code, "trust bundle ConfigMap not written; retrying");
                            pending = true;
                        }
                        Err(e) => {
                            tracing::warn!(namespace = %ns, error = %e, "trust bundle ConfigMap refused; leaving the namespace until a pod appears there again");
                            if ns != own_namespace {
                                namespaces.remove(&ns);
                            } else {
                                pending = true;
                            }
                        }
                    }
                }
            }
        }
        tokio::select! {
            r = leader.changed() => if r.is_err() { break },
            r = bundle.changed() => if r.is_err() { break },
            ns = ns_rx.recv() => {
                if let Some(ns) = ns {
                    namespaces.insert(ns);
                    // Take whatever else is queued before writing.
                    while let Ok(ns) = ns_rx.try_recv() {
                        namespaces.insert(ns);
                    }
                }
            }
            _ = resync.tick() => written.clear(),
            _ = tokio::time::sleep(RETRY), if pending => {}
            _ = stop.changed() => break,
        }
    }
    if let Some(w) = watcher.take() {
        w.abort();
    }
}
