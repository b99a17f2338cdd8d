//! Mesh discovery: which pod IPs have a sidecar, and with which SPIFFE identity.
//!
//! A sidecar cannot tell from an address alone whether the pod behind it has a sidecar: the pod
//! network (`--mesh-networks`) also holds unmeshed namespaces and node-local agents. The CA
//! therefore serves the list of meshed addresses (`GET /v1/mesh`, see [`crate::server`]), and
//! each sidecar polls it: a known meshed address gets mTLS and must present the identity listed
//! for it; a pod-network address that is not listed is egress (inspected, PHI refused).
//!
//! The list comes from a [`MeshSource`] that publishes into a [`MeshView`]:
//!
//! * [`StaticFile`]: `IP SPIFFE_ID` a line (the demo, local runs, tests), re-read when the file
//!   changes;
//! * [`pods::KubePods`]: a list+watch of the pods that carry the injector's marker label
//!   (`phimesh.io/sidecar=injected`), running, with a pod IP, not on the host network; the
//!   identity is `spiffe://<td>/ns/<namespace>/sa/<spec.serviceAccountName>`.
//!
//! A pod's labels are set by whoever creates it, so the marker proves nothing by itself; it only
//! decides how peers *reach* the pod. A pod that claims a sidecar it lacks gets mTLS it cannot
//! answer (its callers fail, nothing leaks); a meshed pod whose marker is removed is treated as
//! egress (plaintext, inspected, PHI refused; its strict inbound refuses the plaintext). Either
//! way no PHI leaves in plaintext, and the identity check holds a meshed address to the identity
//! its pod's service account gives it.
//!
//! Two pods listed with one address and different identities (an address reused while the old
//! pod is still being deleted) leave the address out: its callers fall back to the
//! `--mesh-networks` rule for it.

pub mod pods;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use phimesh_identity::api::{MeshResponse, MeshWorkload, MAX_MESH_BODY, MAX_MESH_WORKLOADS};
use phimesh_identity::pki::hex;
use phimesh_identity::spiffe::SpiffeId;
use tokio::sync::watch;
use tracing::{info, warn};

/// Why `GET /v1/mesh` has no list to serve (answered 503, so sidecars fall back to
/// `--mesh-networks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// The source has not published yet.
    NotSynced,
    /// The source lost its upstream (the Kubernetes API) for longer than it may serve a list
    /// it cannot keep current.
    Lost,
    /// More than [`MAX_MESH_WORKLOADS`] workloads, or a body over [`MAX_MESH_BODY`].
    TooLarge,
}

impl Unavailable {
    /// The JSON `error` text of the 503.
    pub fn text(self) -> &'static str {
        match self {
            Unavailable::NotSynced => "mesh discovery not synced yet",
            Unavailable::Lost => "mesh discovery lost its source",
            Unavailable::TooLarge => "mesh discovery list too large",
        }
    }
}

/// One published state of the mesh list: the JSON body of `GET /v1/mesh` and its `ETag`.
#[derive(Debug, Clone)]
pub struct MeshSnapshot {
    /// The body, or why there is none.
    pub body: Result<Bytes, Unavailable>,
    /// Strong `ETag` of the body (quoted): the first 128 bits of its SHA-256, so replicas that
    /// serve the same list give the same tag.
    pub etag: String,
    /// Workloads listed.
    pub workloads: usize,
    /// Addresses left out because two identities claimed them.
    pub conflicts: usize,
}

impl MeshSnapshot {
    fn unavailable(why: Unavailable) -> Self {
        MeshSnapshot {
            body: Err(why),
            etag: String::new(),
            workloads: 0,
            conflicts: 0,
        }
    }

    /// Builds the snapshot of `entries` (address, identity; in any order, repeats allowed).
    pub fn build(entries: impl IntoIterator<Item = (IpAddr, SpiffeId)>) -> Self {
        // None marks an address claimed by two identities.
        let mut by_ip: BTreeMap<IpAddr, Option<SpiffeId>> = BTreeMap::new();
        for (ip, id) in entries {
            let ip = canonical(ip);
            by_ip
                .entry(ip)
                .and_modify(|cur| {
                    if cur.as_ref() != Some(&id) {
                        *cur = None;
                    }
                })
                .or_insert(Some(id));
        }
        let conflicts = by_ip.values().filter(|v| v.is_none()).count();
        let workloads: Vec<MeshWorkload> = by_ip
            .into_iter()
            .filter_map(|(ip, id)| {
                id.map(|id| MeshWorkload {
                    ip,
                    identity: id.to_string(),
                })
            })
            .collect();
        if workloads.len() > MAX_MESH_WORKLOADS {
            return Self::unavailable(Unavailable::TooLarge);
        }
        let n = workloads.len();
        let body = match serde_json::to_vec(&MeshResponse { workloads }) {
            Ok(b) if b.len() <= MAX_MESH_BODY => b,
            _ => return Self::unavailable(Unavailable::TooLarge),
        };
        let digest = ring::digest::digest(&ring::digest::SHA256, &body);
        MeshSnapshot {
            etag: format!("\"{}\"", hex(&digest.as_ref()[..16])),
            body: Ok(Bytes::from(body)),
            workloads: n,
            conflicts,
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is (what a sidecar's original destination
/// reads for an IPv4 peer on a dual-stack socket).
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Where a [`MeshSource`] publishes and `GET /v1/mesh` reads: the current [`MeshSnapshot`].
/// Cloning shares it.
#[derive(Debug, Clone)]
pub struct MeshView {
    tx: Arc<watch::Sender<Arc<MeshSnapshot>>>,
}

impl Default for MeshView {
    fn default() -> Self {
        let (tx, _) = watch::channel(Arc::new(MeshSnapshot::unavailable(Unavailable::NotSynced)));
        MeshView { tx: Arc::new(tx) }
    }
}

impl MeshView {
    /// A view with nothing published yet (`GET /v1/mesh` answers 503 until the first list).
    pub fn new() -> Self {
        Self::default()
    }

    /// The current snapshot.
    pub fn current(&self) -> Arc<MeshSnapshot> {
        self.tx.borrow().clone()
    }

    /// A receiver that sees every later snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Arc<MeshSnapshot>> {
        self.tx.subscribe()
    }

    /// Publishes the full list of meshed workloads. Logs when the number of workloads or
    /// conflicting addresses changes; never the addresses themselves.
    pub fn publish(&self, entries: impl IntoIterator<Item = (IpAddr, SpiffeId)>) {
        self.install(MeshSnapshot::build(entries));
    }

    /// Says the source can no longer keep the list current: `GET /v1/mesh` answers 503 until
    /// the next [`publish`](Self::publish).
    pub fn withdraw(&self, why: Unavailable) {
        self.install(MeshSnapshot::unavailable(why));
    }

    fn install(&self, snap: MeshSnapshot) {
        let old = self.current();
        if old.etag == snap.etag && old.body.is_ok() == snap.body.is_ok() {
            return;
        }
        match &snap.body {
            Ok(_) if old.workloads != snap.workloads || old.conflicts != snap.conflicts => {
                info!(
                    workloads = snap.workloads,
                    conflicts = snap.conflicts,
                    "mesh list updated"
                )
            }
            Ok(_) => {}
            Err(why) => warn!(reason = why.text(), "mesh list withdrawn"),
        }
        self.tx.send_replace(Arc::new(snap));
    }
}

/// Something that knows which pods are meshed and keeps a [`MeshView`] current.
pub trait MeshSource: Send + 'static {
    /// Publishes into `view` and keeps it current, forever (the caller aborts the task). It
    /// does not return on errors: it logs them, retries with backoff, and withdraws the list
    /// ([`MeshView::withdraw`]) when it can no longer vouch for it.
    fn run(
        self: Box<Self>,
        view: MeshView,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
}

/// The source `phimesh ca --mesh-source` names: `kubernetes`, `file:PATH` or `off`; `None`
/// means `kubernetes` in a cluster (`KUBERNETES_SERVICE_HOST` set) and `off` elsewhere. A
/// static file is read once here so that a bad one stops the CA at start; the Kubernetes client
/// configuration is inferred (`KUBECONFIG`, `~/.kube/config`, in-cluster).
pub async fn source_from_flag(
    flag: Option<&str>,
    trust_domain: &str,
) -> Result<Option<Box<dyn MeshSource>>, String> {
    let flag = match flag {
        Some(f) => f.trim(),
        None if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() => "kubernetes",
        None => "off",
    };
    match flag {
        "off" => Ok(None),
        "kubernetes" => {
            let cfg = ::kube::Config::infer()
                .await
                .map_err(|e| format!("--mesh-source kubernetes: {e}"))?;
            let src = pods::KubePods::new(cfg, trust_domain)
                .map_err(|e| format!("--mesh-source kubernetes: {e}"))?;
            Ok(Some(Box::new(src)))
        }
        f => match f.strip_prefix("file:") {
            Some(path) if !path.is_empty() => {
                let src = StaticFile::new(path, trust_domain);
                src.load().map_err(|e| format!("--mesh-source: {e}"))?;
                Ok(Some(Box::new(src)))
            }
            _ => Err(format!(
                "invalid --mesh-source {f:?} (kubernetes, file:PATH or off)"
            )),
        },
    }
}

/// Largest static mesh file read.
const MAX_FILE: u64 = 16 * 1024 * 1024;

/// A static list of meshed workloads: one `IP SPIFFE_ID` a line, `#` comments and blank lines
/// ignored. Re-read when its modification time or length changes (checked every `poll`); a
/// version that does not parse is logged and the previous list kept.
#[derive(Debug, Clone)]
pub struct StaticFile {
    path: PathBuf,
    trust_domain: String,
    poll: Duration,
}

/// A line of a static mesh file that does not parse. The message names the line number and
/// what is wrong, not the line.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct StaticFileError {
    path: PathBuf,
    message: String,
}

impl StaticFile {
    /// A source reading `path`; every identity must be of `trust_domain`.
    pub fn new(path: impl Into<PathBuf>, trust_domain: &str) -> Self {
        StaticFile {
            path: path.into(),
            trust_domain: trust_domain.to_owned(),
            poll: Duration::from_secs(1),
        }
    }

    /// How often the file's modification time is checked (1 s by default).
    pub fn with_poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// Reads and parses the file now.
    pub fn load(&self) -> Result<Vec<(IpAddr, SpiffeId)>, StaticFileError> {
        let err = |message: String| StaticFileError {
            path: self.path.clone(),
            message,
        };
        let text = read_bounded(&self.path).map_err(err)?;
        parse_static(&text, &self.trust_domain).map_err(err)
    }

    fn stamp(&self) -> Option<(SystemTime, u64)> {
        let m = std::fs::metadata(&self.path).ok()?;
        Some((m.modified().ok()?, m.len()))
    }
}

fn read_bounded(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut s = String::new();
    f.take(MAX_FILE + 1)
        .read_to_string(&mut s)
        .map_err(|e| e.to_string())?;
    if s.len() as u64 > MAX_FILE {
        return Err(format!("larger than {MAX_FILE} bytes"));
    }
    Ok(s)
}

/// Parses `IP SPIFFE_ID` lines.
pub fn parse_static(text: &str, trust_domain: &str) -> Result<Vec<(IpAddr, SpiffeId)>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(ip), Some(id), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("line {}: expected `IP SPIFFE_ID`", n + 1));
        };
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| format!("line {}: not an IP address", n + 1))?;
        let id = SpiffeId::parse(id).map_err(|e| format!("line {}: {e}", n + 1))?;
        if id.trust_domain() != trust_domain {
            return Err(format!(
                "line {}: identity outside trust domain {trust_domain}",
                n + 1
            ));
        }
        out.push((ip, id));
        if out.len() > MAX_MESH_WORKLOADS {
            return Err(format!("more than {MAX_MESH_WORKLOADS} workloads"));
        }
    }
    Ok(out)
}

impl MeshSource for StaticFile {
    fn run(
        self: Box<Self>,
        view: MeshView,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(async move {
            // Each version of the file (modification time, length) is read once.
            let mut seen = None;
            loop {
                let stamp = self.stamp();
                if seen != Some(stamp) {
                    seen = Some(stamp);
                    match self.load() {
                        Ok(entries) => view.publish(entries),
                        Err(e) => warn!(error = %e, "mesh file not loaded; keeping the last list"),
                    }
                }
                tokio::time::sleep(self.poll).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(sa: &str) -> SpiffeId {
        SpiffeId::new("cluster.local", "default", sa).unwrap()
    }

    #[test]
    fn snapshot_is_sorted_canonical_and_tagged_by_content() {
        let a: IpAddr = "10.0.0.2".parse().unwrap();
        let b: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let s1 = MeshSnapshot::build([(a, id("web")), (b, id("db"))]);
        let s2 = MeshSnapshot::build([(b, id("db")), (a, id("web"))]);
        assert_eq!(s1.etag, s2.etag);
        assert_eq!(s1.workloads, 2);
        let body: MeshResponse = serde_json::from_slice(s1.body.as_ref().unwrap()).unwrap();
        assert_eq!(body.workloads[0].ip, "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(body.workloads[1].identity, id("web").to_string());
        let s3 = MeshSnapshot::build([(a, id("web"))]);
        assert_ne!(s1.etag, s3.etag);
        assert!(s1.etag.starts_with('"') && s1.etag.ends_with('"') && s1.etag.len() == 34);
    }

    #[test]
    fn an_address_claimed_by_two_identities_is_left_out() {
        let a: IpAddr = "10.0.0.2".parse().unwrap();
        let b: IpAddr = "10.0.0.3".parse().unwrap();
        let s = MeshSnapshot::build([(a, id("web")), (a, id("db")), (b, id("x")), (b, id("x"))]);
        assert_eq!((s.workloads, s.conflicts), (1, 1));
        let body: MeshResponse = serde_json::from_slice(s.body.as_ref().unwrap()).unwrap();
        assert_eq!(body.workloads.len(), 1);
        assert_eq!(body.workloads[0].ip, b);
    }

    #[test]
    fn too_many_workloads_serve_nothing() {
        let many = (0..=MAX_MESH_WORKLOADS as u32).map(|i| {
            (
                IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i)),
                id("w"),
            )
        });
        let s = MeshSnapshot::build(many);
        assert_eq!(s.body.unwrap_err(), Unavailable::TooLarge);
    }

    #[test]
    fn static_file_lines() {
        let ok = "# meshed pods\n10.1.0.5 spiffe://cluster.local/ns/a/sa/b\n\n fd00::5  spiffe://cluster.local/ns/c/sa/d # v6\n";
        let v = parse_static(ok, "cluster.local").unwrap();
        assert_eq!(v.len(), 2);
        for (bad, why) in [
            ("10.1.0.5", "expected"),
            (
                "10.1.0.5 spiffe://cluster.local/ns/a/sa/b extra",
                "expected",
            ),
            ("10.1.0 spiffe://cluster.local/ns/a/sa/b", "not an IP"),
            ("10.1.0.5 spiffe://other/ns/a/sa/b", "trust domain"),
            ("10.1.0.5 https://x", "SPIFFE"),
        ] {
            let e = parse_static(bad, "cluster.local").unwrap_err();
            assert!(e.contains(why) && e.starts_with("line 1"), "{bad}: {e}");
        }
    }

    #[tokio::test]
    async fn static_file_source_follows_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mesh");
        std::fs::write(&path, "10.1.0.5 spiffe://cluster.local/ns/a/sa/b\n").unwrap();
        let view = MeshView::new();
        assert!(view.current().body.is_err());
        let mut rx = view.subscribe();
        let src = StaticFile::new(&path, "cluster.local").with_poll(Duration::from_millis(20));
        let task = tokio::spawn(Box::new(src).run(view.clone()));
        tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|s| s.workloads == 1))
            .await
            .unwrap()
            .unwrap();
        let first = view.current().etag.clone();
        std::fs::write(
            &path,
            "10.1.0.5 spiffe://cluster.local/ns/a/sa/b\n10.1.0.6 spiffe://cluster.local/ns/a/sa/c\n",
        )
        .unwrap();
        tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|s| s.workloads == 2))
            .await
            .unwrap()
            .unwrap();
        assert_ne!(view.current().etag, first);
        task.abort();
    }
}
