//! `phimesh ca --state-backend kubernetes` as real processes against the fake Kubernetes API
//! server (`apiserver-fake/`, real HTTPS and JSON, reached through a kubeconfig): the state
//! Secret is created on first start and survives restarts and root rotations, two replicas elect
//! one leader on a Lease and a SIGKILLed leader hands over without one failed issuance, forced
//! write conflicts are retried without overwriting anything, a corrupt Secret stops the CA with
//! exit 2 and is left alone, and the trust ConfigMaps follow a rotation.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use phimesh_ca::https::{self, HttpsUrl, Limits};
use phimesh_ca::pki::{self, KeyAlgorithm};
use phimesh_ca::SpiffeId;
use phimesh_fake_apiserver::{FakeApiServer, ObjectRef, Verb};
use serde_json::{json, Value};

const NS: &str = "phimesh-system";
const WEB: &str = "spiffe://cluster.local/ns/default/sa/web";
/// Lease timings of every test CA: short, so hand-over is quick.
const LEASE: [&str; 6] = [
    "--lease-duration",
    "3s",
    "--renew-deadline",
    "2s",
    "--lease-retry-period",
    "250ms",
];

fn secret_ref() -> ObjectRef {
    ObjectRef::core("secrets", Some(NS), "phimesh-ca-state")
}

fn lease_ref() -> ObjectRef {
    ObjectRef::new("coordination.k8s.io", "leases", Some(NS), "phimesh-ca")
}

fn cm_ref(ns: &str) -> ObjectRef {
    ObjectRef::core("configmaps", Some(ns), "phimesh-trust-bundle")
}

struct Env {
    api: FakeApiServer,
    dir: tempfile::TempDir,
}

impl Env {
    async fn new() -> Env {
        let api = FakeApiServer::start().await.unwrap();
        api.add_token(
            "ca-sa-token",
            "system:serviceaccount:phimesh-system:phimesh-ca",
            &[],
        );
        let dir = tempfile::tempdir().unwrap();
        api.write_kubeconfig(&dir.path().join("kubeconfig"), "ca-sa-token", NS)
            .unwrap();
        std::fs::write(dir.path().join("tokens"), format!("tok-web {WEB}\n")).unwrap();
        Env { api, dir }
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    fn phimesh(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_phimesh"));
        c.env("KUBECONFIG", self.kubeconfig())
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env("PHIMESH_LOG", "warn");
        c
    }

    /// Starts a CA replica named `name`; returns once it listens.
    async fn start_ca(&self, name: &str, extra: &[&str]) -> Replica {
        let mut child = self
            .phimesh()
            .args(["ca", "--state-backend", "kubernetes", "--tokens"])
            .arg(self.dir.path().join("tokens"))
            .args(["--listen", "127.0.0.1:0", "--pod-name", name])
            .args(LEASE)
            .args(["--rate-limit", "1000000"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let port = tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stderr).lines();
            let port = loop {
                let line = lines.next().expect("CA exited before listening").unwrap();
                if let Some(addr) = line.strip_prefix("phimesh ca: listening on https://") {
                    break addr.rsplit(':').next().unwrap().parse::<u16>().unwrap();
                }
            };
            std::thread::spawn(move || for _ in lines {});
            port
        });
        let port = tokio::time::timeout(Duration::from_secs(30), port)
            .await
            .expect("CA did not start in 30 s")
            .unwrap();
        Replica {
            child,
            port,
            name: name.to_owned(),
        }
    }

    /// The state stored in the Secret.
    fn stored_state(&self) -> Value {
        let s = self.api.get(&secret_ref()).expect("state Secret exists");
        let b = s["data"]["ca-state.json"].as_str().unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(b).unwrap())
            .unwrap()
    }

    fn stored_bundle(&self) -> String {
        let s = self.api.get(&secret_ref()).expect("state Secret exists");
        let b = s["data"]["trust-bundle.pem"].as_str().unwrap();
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b).unwrap()).unwrap()
    }

    fn lease_holder(&self) -> Option<String> {
        self.api
            .get(&lease_ref())
            .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_owned))
    }

    fn configmap_bundle(&self, ns: &str) -> Option<String> {
        self.api
            .get(&cm_ref(ns))
            .and_then(|c| c["data"]["trust-bundle.pem"].as_str().map(str::to_owned))
    }

    fn rotate_root(&self) {
        let out = self
            .phimesh()
            .args(["ca", "rotate-root", "--state-backend", "kubernetes"])
            .args(["--propagation-delay", "1h"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "rotate-root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["event"], "root_rotation_started");
    }

    fn put_pod(&self, ns: &str, name: &str, injected: bool) {
        let labels = if injected {
            json!({"app": name, "phimesh.io/sidecar": "injected"})
        } else {
            json!({"app": name})
        };
        self.api.put(
            &ObjectRef::core("pods", Some(ns), name),
            json!({"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": "app"}]}}),
        );
    }

    /// Every successful write of the Secret was made against the version the previous one
    /// produced, and bumped the generation by one: no write was based on a stale read.
    fn assert_no_lost_write(&self) {
        let writes: Vec<_> = self
            .api
            .writes_of(&secret_ref())
            .into_iter()
            .filter(|w| w.status < 300)
            .collect();
        assert_eq!(writes[0].verb, Verb::Create);
        for pair in writes.windows(2) {
            assert_eq!(pair[1].verb, Verb::Update, "{:?}", pair[1]);
            assert_eq!(
                pair[1].precondition.as_deref(),
                Some(pair[0].resource_version.unwrap().to_string().as_str()),
                "a write not based on the previous one"
            );
            let generation = |w: &phimesh_fake_apiserver::WriteRecord| {
                let b = w.stored.as_ref().unwrap()["data"]["ca-state.json"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let v: Value = serde_json::from_slice(
                    &base64::engine::general_purpose::STANDARD.decode(b).unwrap(),
                )
                .unwrap();
                v["generation"].as_u64().unwrap()
            };
            assert_eq!(generation(&pair[1]), generation(&pair[0]) + 1);
        }
    }
}

struct Replica {
    child: Child,
    port: u16,
    name: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tls_for(bundle_pem: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in pki::parse_certs_pem(bundle_pem).unwrap() {
        roots.add(c).unwrap();
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(phimesh_ca::tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

impl Replica {
    async fn get(&self, tls: Arc<rustls::ClientConfig>, path: &str) -> (u16, String) {
        let url = HttpsUrl::parse(&format!("https://127.0.0.1:{}", self.port)).unwrap();
        match https::request(
            &url,
            tls,
            http::Method::GET,
            path,
            &[],
            None,
            Limits {
                timeout: Duration::from_secs(10),
                max_body: 1 << 20,
            },
        )
        .await
        {
            Ok(r) => (r.status, String::from_utf8_lossy(&r.body).into_owned()),
            Err(e) => (0, e.to_string()),
        }
    }

    async fn metric(&self, tls: Arc<rustls::ClientConfig>, name: &str) -> Option<f64> {
        let (_, text) = self.get(tls, "/metrics").await;
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
    }

    async fn bundle(&self, tls: Arc<rustls::ClientConfig>) -> String {
        let (code, body) = self.get(tls, "/v1/trust-bundle").await;
        assert_eq!(code, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        v["trust_bundle"].as_str().unwrap().to_owned()
    }

    /// One certificate request; the HTTP status (0 when no answer).
    async fn issue(&self, tls: Arc<rustls::ClientConfig>) -> u16 {
        let key = pki::generate_key(KeyAlgorithm::EcdsaP256).unwrap();
        let id: SpiffeId = WEB.parse().unwrap();
        let csr = pki::make_csr(&key, &id, &[]).unwrap();
        let url = HttpsUrl::parse(&format!("https://127.0.0.1:{}", self.port)).unwrap();
        match https::request(
            &url,
            tls,
            http::Method::POST,
            "/v1/certificates",
            &[("authorization", "Bearer tok-web")],
            Some(json!({ "csr": csr }).to_string().into_bytes()),
            Limits {
                timeout: Duration::from_secs(10),
                max_body: 1 << 20,
            },
        )
        .await
        {
            Ok(r) => r.status,
            Err(_) => 0,
        }
    }
}

fn certs_in(pem: &str) -> usize {
    pem.matches("-----BEGIN CERTIFICATE-----").count()
}

/// Polls `check` every 50 ms for up to `secs` seconds.
async fn eventually<F: FnMut() -> bool>(secs: u64, what: &str, mut check: F) {
    for _ in 0..secs * 20 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not within {secs} s: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_creates_the_secret_and_a_root_rotation_survives_a_restart() {
    let env = Env::new().await;
    assert!(env.api.get(&secret_ref()).is_none());
    let ca = env.start_ca("ca-0", &[]).await;
    let created = env.api.writes_of(&secret_ref());
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!((created[0].verb, created[0].status), (Verb::Create, 201));
    let state = env.stored_state();
    assert_eq!(state["roots"].as_array().unwrap().len(), 1);
    assert_eq!(state["trust_domain"], "cluster.local");
    let bundle = env.stored_bundle();
    assert_eq!(certs_in(&bundle), 1);
    let tls = tls_for(&bundle);
    assert_eq!(ca.bundle(tls.clone()).await, bundle);
    assert_eq!(ca.issue(tls.clone()).await, 200);

    // The running CA follows a rotation written by `rotate-root` (it watches the Secret).
    env.rotate_root();
    assert_eq!(certs_in(&env.stored_bundle()), 2);
    let mut followed = false;
    for _ in 0..200 {
        if certs_in(&ca.bundle(tls.clone()).await) == 2 {
            followed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(followed, "the CA did not adopt the rotation");
    let rotated = env.stored_state();

    // Restart: the same roots, the rotation still pending, no new Secret.
    drop(ca);
    let ca = env.start_ca("ca-0", &[]).await;
    let after = ca.bundle(tls.clone()).await;
    assert_eq!(certs_in(&after), 2);
    assert_eq!(after, env.stored_bundle());
    let state = env.stored_state();
    assert_eq!(state["roots"], rotated["roots"]);
    assert_eq!(state["pending"], rotated["pending"]);
    assert_eq!(ca.issue(tls).await, 200);
    let creates = env
        .api
        .writes_of(&secret_ref())
        .iter()
        .filter(|w| w.verb == Verb::Create)
        .count();
    assert_eq!(creates, 1);
    env.assert_no_lost_write();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_hands_over_without_a_failed_issuance_or_a_lost_write() {
    let env = Env::new().await;
    // Issuers rotate every 2 s, so both leaders write the Secret while the test runs.
    let timing = [
        "--issuer-rotation",
        "2s",
        "--leaf-ttl",
        "1h",
        "--root-ttl",
        "30d",
    ];
    let a = env.start_ca("ca-a", &timing).await;
    let b = env.start_ca("ca-b", &timing).await;
    let tls = tls_for(&env.stored_bundle());
    eventually(10, "a leader", || env.lease_holder().is_some()).await;
    let leader_name = env.lease_holder().unwrap();
    let (leader, survivor) = if leader_name == a.name {
        (a, b)
    } else {
        (b, a)
    };
    let mut one_leader = false;
    for _ in 0..100 {
        let l = leader.metric(tls.clone(), "phimesh_ca_leader").await;
        let s = survivor.metric(tls.clone(), "phimesh_ca_leader").await;
        if (l, s) == (Some(1.0), Some(0.0)) {
            one_leader = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        one_leader,
        "exactly one replica reports phimesh_ca_leader 1"
    );
    // The leader writes issuer rotations; wait for one.
    let gen0 = env.stored_state()["generation"].as_u64().unwrap();
    eventually(15, "an issuer rotation by the first leader", || {
        env.stored_state()["generation"].as_u64().unwrap() > gen0
    })
    .await;

    // Issue continuously at the survivor while the leader is SIGKILLed.
    let survivor = Arc::new(survivor);
    let stop = Arc::new(AtomicBool::new(false));
    let issued = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for _ in 0..2 {
        let (s, stop, issued, failed, tls) = (
            survivor.clone(),
            stop.clone(),
            issued.clone(),
            failed.clone(),
            tls.clone(),
        );
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                match s.issue(tls.clone()).await {
                    200 => issued.fetch_add(1, Ordering::SeqCst),
                    _ => failed.fetch_add(1, Ordering::SeqCst),
                };
            }
        }));
    }
    eventually(10, "issuance under way", || {
        issued.load(Ordering::SeqCst) > 5
    })
    .await;
    let old_lease = env.api.get(&lease_ref()).unwrap();
    let mut leader = leader;
    leader.child.kill().unwrap(); // SIGKILL: no release of the Lease
    leader.child.wait().unwrap();
    let at_kill = issued.load(Ordering::SeqCst);
    eventually(20, "the survivor takes the Lease", || {
        env.lease_holder().as_deref() == Some(survivor.name.as_str())
    })
    .await;
    // Taken over within the lease duration of the last renewal (by the Lease's own times).
    let new_lease = env.api.get(&lease_ref()).unwrap();
    let ts = |v: &Value| -> f64 {
        let t: k8s_openapi::jiff::Timestamp = v.as_str().unwrap().parse().unwrap();
        t.as_millisecond() as f64 / 1000.0
    };
    let gap = ts(&new_lease["spec"]["acquireTime"]) - ts(&old_lease["spec"]["renewTime"]);
    assert!(
        gap <= 3.0 + 2.0,
        "take-over {gap:.2} s after the last renewal, lease duration 3 s"
    );
    assert_eq!(
        new_lease["spec"]["leaseTransitions"].as_i64(),
        Some(old_lease["spec"]["leaseTransitions"].as_i64().unwrap_or(0) + 1)
    );
    // The new leader writes too (an issuer rotation after the hand-over).
    let gen1 = env.stored_state()["generation"].as_u64().unwrap();
    eventually(15, "an issuer rotation by the new leader", || {
        env.stored_state()["generation"].as_u64().unwrap() > gen1
    })
    .await;
    eventually(10, "issuance after the hand-over", || {
        issued.load(Ordering::SeqCst) > at_kill + 5
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    for l in load {
        l.await.unwrap();
    }
    eprintln!(
        "hand-over {gap:.2} s after the last renewal; {} issuances at the survivor, {} failed",
        issued.load(Ordering::SeqCst),
        failed.load(Ordering::SeqCst)
    );
    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "failed issuances at the survivor"
    );
    assert_eq!(
        survivor.metric(tls.clone(), "phimesh_ca_leader").await,
        Some(1.0)
    );
    env.assert_no_lost_write();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_leader_releases_the_lease_for_its_successor() {
    let env = Env::new().await;
    let a = env.start_ca("ca-a", &[]).await;
    eventually(10, "ca-a leads", || {
        env.lease_holder().as_deref() == Some("ca-a")
    })
    .await;
    let b = env.start_ca("ca-b", &[]).await;
    let mut a = a;
    let status = Command::new("kill")
        .args(["-TERM", &a.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || {
        let s = a.child.wait().unwrap();
        (a, s)
    });
    let (_a, exit) = tokio::time::timeout(Duration::from_secs(20), exit)
        .await
        .expect("ca-a stops on SIGTERM")
        .unwrap();
    assert_eq!(exit.code(), Some(0));
    // Its last Lease write gave the Lease up (no holder, 1 s duration)...
    let released = env
        .api
        .writes_of(&lease_ref())
        .into_iter()
        .filter(|w| w.status == 200)
        .filter_map(|w| w.stored)
        .any(|l| l["spec"]["holderIdentity"].is_null() && l["spec"]["leaseDurationSeconds"] == 1);
    assert!(released, "the stopping leader did not release the Lease");
    // ...and the other replica takes it.
    eventually(10, "ca-b leads", || {
        env.lease_holder().as_deref() == Some("ca-b")
    })
    .await;
    let tls = tls_for(&env.stored_bundle());
    assert_eq!(b.issue(tls).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflicting_write_is_retried_and_overwrites_nothing() {
    let env = Env::new().await;
    let ca = env
        .start_ca(
            "ca-0",
            &[
                "--issuer-rotation",
                "2s",
                "--leaf-ttl",
                "1h",
                "--root-ttl",
                "30d",
            ],
        )
        .await;
    let tls = tls_for(&env.stored_bundle());
    eventually(10, "leadership", || {
        env.lease_holder().as_deref() == Some("ca-0")
    })
    .await;
    // Another writer starts a root rotation; then the next two writes of the Secret conflict.
    env.rotate_root();
    let rotated = env.stored_state();
    let new_root = rotated["pending"]["new_root_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = env.api.writes_of(&secret_ref()).len();
    env.api.force_conflicts(&secret_ref(), 2);
    eventually(20, "two forced conflicts, then a write", || {
        let w = env.api.writes_of(&secret_ref());
        let tail: Vec<_> = w[before..].iter().map(|w| (w.status, w.forced)).collect();
        tail.len() >= 3 && tail[..2] == [(409, true), (409, true)] && tail[2].0 == 200
    })
    .await;
    // The CA's issuer rotation went in on top of the other writer's rotation.
    let state = env.stored_state();
    assert!(state["generation"].as_u64() > rotated["generation"].as_u64());
    assert_eq!(state["pending"]["new_root_id"], new_root.as_str());
    assert!(state["roots"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == new_root.as_str()));
    assert!(
        state["issuers"].as_array().unwrap().len() > rotated["issuers"].as_array().unwrap().len()
    );
    let conflicts = ca
        .metric(tls.clone(), "phimesh_ca_state_write_conflicts_total")
        .await
        .unwrap();
    assert!(conflicts >= 2.0, "conflicts counted: {conflicts}");
    env.assert_no_lost_write();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_secret_stops_the_ca_with_exit_2_and_is_left_alone() {
    let env = Env::new().await;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    for (what, data) in [
        (
            "not JSON",
            json!({"ca-state.json": b64("{\"version\": 1, \"roo")}),
        ),
        ("no key", json!({"other": b64("x")})),
        (
            "inconsistent",
            json!({"ca-state.json": b64(&json!({"version": 1, "generation": 3, "trust_domain": "cluster.local", "roots": [], "issuers": [], "signing_root": "x", "max_leaf_ttl_secs": 60}).to_string())}),
        ),
    ] {
        env.api
            .put(&secret_ref(), json!({"type": "Opaque", "data": data}));
        let seeded = env.api.get(&secret_ref()).unwrap();
        let out = env
            .phimesh()
            .args(["ca", "--state-backend", "kubernetes", "--tokens"])
            .arg(env.dir.path().join("tokens"))
            .args(["--listen", "127.0.0.1:0", "--pod-name", "ca-0"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(
            err.contains("corrupt CA state in Secret phimesh-system/phimesh-ca-state"),
            "{what}: {err}"
        );
        assert!(!err.contains("PRIVATE KEY"), "{err}");
        assert_eq!(env.api.get(&secret_ref()).unwrap(), seeded, "{what}");
    }
    assert!(env.api.writes_of(&secret_ref()).is_empty());
    assert!(
        env.api.get(&lease_ref()).is_none(),
        "a CA that refused to start took the Lease"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_configmaps_follow_a_rotation_where_pods_are_injected() {
    let env = Env::new().await;
    env.put_pod("billing", "api", true);
    env.put_pod("plain", "web", false);
    let _ca = env.start_ca("ca-0", &[]).await;
    let bundle = env.stored_bundle();
    eventually(10, "ConfigMaps in phimesh-system and billing", || {
        env.configmap_bundle(NS).as_deref() == Some(bundle.as_str())
            && env.configmap_bundle("billing").as_deref() == Some(bundle.as_str())
    })
    .await;
    assert!(
        env.configmap_bundle("plain").is_none(),
        "no injected pod in plain"
    );
    let cm = env.api.get(&cm_ref("billing")).unwrap();
    assert_eq!(
        cm["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "phimesh-ca"
    );

    env.rotate_root();
    let rotated = env.stored_bundle();
    assert_eq!(certs_in(&rotated), 2);
    eventually(10, "both ConfigMaps hold the two roots", || {
        env.configmap_bundle(NS).as_deref() == Some(rotated.as_str())
            && env.configmap_bundle("billing").as_deref() == Some(rotated.as_str())
    })
    .await;
    // A namespace whose first injected pod appears now gets the bundle too.
    env.put_pod("late", "job", true);
    eventually(10, "a ConfigMap in a new injected namespace", || {
        env.configmap_bundle("late").as_deref() == Some(rotated.as_str())
    })
    .await;
    assert!(env.configmap_bundle("plain").is_none());
}

#[test]
fn kubernetes_flags_are_checked() {
    for (args, expect) in [
        (
            vec!["--lease-duration", "5s", "--renew-deadline", "5s"],
            "--renew-deadline must be shorter",
        ),
        (
            vec!["--renew-deadline", "2s", "--lease-retry-period", "2s"],
            "--lease-retry-period must be shorter",
        ),
        (
            vec!["--state-dir", "/tmp/x"],
            "--state-dir is for --state-backend directory",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_phimesh"))
            .args([
                "ca",
                "--state-backend",
                "kubernetes",
                "--tokens",
                "/dev/null",
            ])
            .args(&args)
            .env("KUBECONFIG", "/nonexistent")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
    }
}
