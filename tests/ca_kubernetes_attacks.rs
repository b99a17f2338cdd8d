//! Attacks on `phimesh ca --state-backend kubernetes`, as real processes against the fake
//! Kubernetes API server (`apiserver-fake/`): a leader paused past its Lease (SIGSTOP, SIGCONT), a
//! leader cut off from the API server, the API server gone for longer than the Lease, a Lease
//! taken or deleted by someone else, the state Secret rolled back to an older valid state after
//! signing moved to a new root, a Secret corrupted while the CA runs, inconsistent states at
//! start, watch streams ended and compacted, `rotate-root` run concurrently, trust ConfigMaps
//! edited by hand, an API server that answers garbage. Each test asserts the behaviour the CA
//! promises (the operations guide), so it fails if the attack gets through. Every issued chain is
//! checked with `openssl verify` against the trust bundle.

#[path = "support/ca_kube.rs"]
mod support_ca_kube;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use phimesh_fake_apiserver::{ObjectRef, WriteRecord};
use serde_json::{json, Value};
use support_ca_kube::{
    b64, certs_in, cm_ref, eventually, lease_ref, replica_user, secret_ref, signal, tls_for, unb64,
    Env, Replica, BUSY, LEASE, NS,
};

fn now_micro() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S.%6fZ")
        .to_string()
}

impl Env {
    /// A CA run to its exit (it must refuse to start): exit code and stderr.
    fn run_ca_to_exit(&self) -> (Option<i32>, String) {
        let mut child = self
            .phimesh()
            .args(["ca", "--state-backend", "kubernetes", "--tokens"])
            .arg(self.dir.path().join("tokens"))
            .args(["--listen", "127.0.0.1:0", "--pod-name", "ca-x"])
            .args(LEASE)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = String::new();
        let mut stderr = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            let _ = stderr.read_to_string(&mut err);
            err
        });
        for _ in 0..300 {
            if let Some(s) = child.try_wait().unwrap() {
                return (s.code(), reader.join().unwrap());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        (None, reader.join().unwrap())
    }

    fn put_pod(&self, ns: &str, name: &str) {
        self.api.put(
            &ObjectRef::core("pods", Some(ns), name),
            json!({"metadata": {"labels": {"app": name, "phimesh.io/sidecar": "injected"}},
                   "spec": {"containers": [{"name": "app", "image": "app"}]}}),
        );
    }

    fn rotate_root(&self, delay: &str) {
        let out = self.rotate_root_cmd(delay).output().unwrap();
        assert!(
            out.status.success(),
            "rotate-root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Every successful write of the Secret was made against the version the previous one
    /// produced and bumped the generation by one: no write was based on a stale read.
    fn assert_no_lost_write(&self) {
        self.assert_writes_chained();
    }

    /// No CA process logged key material or a token.
    fn assert_no_secrets_logged(&self, state: &Value) {
        let logs = self.logs.lock().unwrap().join("\n");
        assert!(!logs.contains("PRIVATE KEY"), "a private key in the logs");
        assert!(!logs.contains("tok-web"), "a workload token in the logs");
        assert!(!logs.contains("token-ca-"), "an API token in the logs");
        for part in ["roots", "issuers"] {
            for k in state[part].as_array().unwrap() {
                let key = k["key_pem"].as_str().unwrap();
                let body: String = key.lines().nth(1).unwrap().chars().take(40).collect();
                assert!(
                    !logs.contains(&body),
                    "key bytes of a {part} key in the logs"
                );
            }
        }
        let raw = self.api.get(&secret_ref()).unwrap()["data"]["ca-state.json"]
            .as_str()
            .unwrap()
            .chars()
            .take(60)
            .collect::<String>();
        assert!(!logs.contains(&raw), "the state Secret's data in the logs");
        assert!(!logs.contains("panicked"), "a panic: {logs}");
    }
}

/// `openssl verify` of a leaf chain against a bundle: whether it verifies.
fn openssl_verifies(dir: &Path, bundle: &str, chain: &str) -> Result<(), String> {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let b = dir.join(format!("bundle-{n}.pem"));
    let c = dir.join(format!("chain-{n}.pem"));
    std::fs::write(&b, bundle).unwrap();
    std::fs::write(&c, chain).unwrap();
    let out = Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(&b)
        .arg("-untrusted")
        .arg(&c)
        .arg(&c)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() && text.contains(": OK") {
        Ok(())
    } else {
        Err(text)
    }
}

/// The issuer name of the first certificate of `chain`, through openssl.
fn issuer_of_leaf(dir: &Path, chain: &str) -> String {
    let c = dir.join("leaf-issuer.pem");
    std::fs::write(&c, chain).unwrap();
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-issuer", "-in"])
        .arg(&c)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Waits up to 20 s for the deleted Secret to be written again: whether it was, and after how
/// many seconds. When it was not, prints what the CAs logged above debug level.
async fn secret_back(env: &Env) -> (bool, f64) {
    let t0 = std::time::Instant::now();
    let mut back = false;
    for _ in 0..(20 * 20) {
        if env.api.get(&secret_ref()).is_some() {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = t0.elapsed().as_secs_f64();
    eprintln!("the deleted Secret was back after {took:.1} s: {back}");
    if !back {
        for l in env
            .logs
            .lock()
            .unwrap()
            .iter()
            .filter(|l| !l.contains("DEBUG"))
        {
            eprintln!("  log: {l}");
        }
    }
    (back, took)
}

/// Waits for one holder of the Lease and for the replica that holds it; returns (leader,
/// follower).
async fn split_leader(env: &Env, a: Replica, b: Replica) -> (Replica, Replica) {
    eventually(10, "a leader", || env.lease_holder().is_some()).await;
    if env.lease_holder().unwrap() == a.name {
        (a, b)
    } else {
        (b, a)
    }
}

/// Issues continuously at `replicas` until stopped; counts answers.
struct Load {
    stop: Arc<AtomicBool>,
    issued: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    chains: Arc<Mutex<Vec<String>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(replicas: &[Arc<Replica>], tls: Arc<rustls::ClientConfig>) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let issued = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let chains = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for r in replicas {
            let (r, stop, issued, failed, chains, tls) = (
                r.clone(),
                stop.clone(),
                issued.clone(),
                failed.clone(),
                chains.clone(),
                tls.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut n = 0usize;
                while !stop.load(Ordering::SeqCst) {
                    match r.issue(tls.clone()).await {
                        (200, Some(chain)) => {
                            issued.fetch_add(1, Ordering::SeqCst);
                            // keep a sample of the chains for openssl
                            if n.is_multiple_of(10) {
                                chains.lock().unwrap().push(chain);
                            }
                            n += 1;
                        }
                        _ => {
                            failed.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            }));
        }
        Load {
            stop,
            issued,
            failed,
            chains,
            tasks,
        }
    }

    async fn finish(self) -> (usize, usize, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            t.await.unwrap();
        }
        let chains = self.chains.lock().unwrap().clone();
        (
            self.issued.load(Ordering::SeqCst),
            self.failed.load(Ordering::SeqCst),
            chains,
        )
    }
}

/// The successful Secret writes by `user` from write number `from` on.
fn writes_by_after(env: &Env, user: &str, from: usize) -> Vec<WriteRecord> {
    env.api
        .writes_of(&secret_ref())
        .into_iter()
        .skip(from)
        .filter(|w| w.user == user && w.status < 300)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_paused_past_its_lease_neither_writes_nor_takes_the_lease_back_when_resumed() {
    let env = Env::new("debug").await;
    let a = env.start_ca("ca-a", &BUSY).await;
    let b = env.start_ca("ca-b", &BUSY).await;
    let tls = tls_for(&env.stored_bundle());
    let (leader, survivor) = split_leader(&env, a, b).await;
    let gen0 = env.generation();
    eventually(15, "a write by the first leader", || {
        env.generation() > gen0
    })
    .await;

    let survivor = Arc::new(survivor);
    let load = Load::start(std::slice::from_ref(&survivor), tls.clone());
    assert!(signal(&leader.child, "STOP"));
    eventually(20, "the survivor takes the Lease", || {
        env.lease_holder().as_deref() == Some(survivor.name.as_str())
    })
    .await;
    let takeover = env.api.writes_of(&secret_ref()).len();
    let gen1 = env.generation();
    eventually(15, "a write by the new leader", || env.generation() > gen1).await;

    // The old leader wakes up believing, for all its own clock knows, that it still leads.
    assert!(signal(&leader.child, "CONT"));
    let leader = Arc::new(leader);
    let mut gone = false;
    for _ in 0..200 {
        if leader.metric(tls.clone(), "phimesh_ca_leader").await == Some(0.0) {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        gone,
        "the resumed replica still reports phimesh_ca_leader 1"
    );
    // Give it several issuer-rotation periods in which a stale leader would write.
    let gen2 = env.generation();
    eventually(15, "two more writes by the new leader", || {
        env.generation() > gen2 + 1
    })
    .await;
    let (issued, failed, chains) = load.finish().await;
    assert_eq!(
        failed, 0,
        "failed issuances at the survivor ({issued} issued)"
    );
    let (code, chain) = leader.issue(tls.clone()).await;
    assert_eq!(code, 200, "the resumed replica does not issue");

    let stale = writes_by_after(&env, &replica_user(&leader.name), takeover);
    assert!(
        stale.is_empty(),
        "the paused leader wrote the Secret after losing the Lease: {stale:?}"
    );
    let stale_lease: Vec<_> = env
        .api
        .writes_of(&lease_ref())
        .into_iter()
        .filter(|w| w.user == replica_user(&leader.name) && w.status < 300)
        .filter(|w| {
            w.stored.as_ref().unwrap()["spec"]["holderIdentity"] == leader.name.as_str()
                && w.precondition.is_some()
        })
        .filter(|w| {
            // after the take-over: the Lease's transitions already counted the survivor
            w.stored.as_ref().unwrap()["spec"]["leaseTransitions"]
                .as_i64()
                .unwrap_or(0)
                > 0
        })
        .collect();
    assert!(
        stale_lease.is_empty(),
        "the resumed replica took the Lease back: {stale_lease:?}"
    );
    assert_eq!(env.lease_holder().as_deref(), Some(survivor.name.as_str()));
    env.assert_no_lost_write();
    let bundle = env.stored_bundle();
    for c in chains.iter().chain(chain.iter()) {
        openssl_verifies(env.dir.path(), &bundle, c).expect("an issued chain does not verify");
    }
    env.assert_no_secrets_logged(&env.stored_state());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_cut_off_from_the_api_server_stops_leading_keeps_issuing_and_writes_nothing_stale()
{
    let env = Env::new("debug").await;
    let a = env.start_ca("ca-a", &BUSY).await;
    let b = env.start_ca("ca-b", &BUSY).await;
    let tls = tls_for(&env.stored_bundle());
    let (leader, survivor) = split_leader(&env, a, b).await;
    let gen0 = env.generation();
    eventually(15, "a write by the first leader", || {
        env.generation() > gen0
    })
    .await;
    let leader = Arc::new(leader);
    let survivor = Arc::new(survivor);
    let load = Load::start(&[leader.clone(), survivor.clone()], tls.clone());

    // The leader's credentials stop working: it alone cannot reach the API.
    env.api.remove_token(&Env::token_of(&leader.name));
    let mut stepped_down = false;
    for _ in 0..200 {
        if leader.metric(tls.clone(), "phimesh_ca_leader").await == Some(0.0) {
            stepped_down = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(stepped_down, "a leader that cannot renew still reports 1");
    eventually(20, "the survivor takes the Lease", || {
        env.lease_holder().as_deref() == Some(survivor.name.as_str())
    })
    .await;
    let takeover = env.api.writes_of(&secret_ref()).len();
    let gen1 = env.generation();
    eventually(15, "a write by the new leader", || env.generation() > gen1).await;
    // Its credentials work again.
    env.api.add_token(
        &Env::token_of(&leader.name),
        &replica_user(&leader.name),
        &[],
    );
    let gen2 = env.generation();
    eventually(15, "two more writes by the new leader", || {
        env.generation() > gen2 + 1
    })
    .await;
    // The returning replica follows the newer state.
    let latest = env.stored_bundle();
    let mut followed = false;
    for _ in 0..200 {
        if leader.bundle(tls.clone()).await == latest {
            followed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (issued, failed, chains) = load.finish().await;
    assert!(followed, "the returning replica does not follow the Secret");
    assert_eq!(failed, 0, "failed issuances ({issued} issued)");
    let stale = writes_by_after(&env, &replica_user(&leader.name), takeover);
    assert!(stale.is_empty(), "the old leader wrote: {stale:?}");
    assert_eq!(env.lease_holder().as_deref(), Some(survivor.name.as_str()));
    env.assert_no_lost_write();
    let bundle = env.stored_bundle();
    for c in &chains {
        openssl_verifies(env.dir.path(), &bundle, c).expect("an issued chain does not verify");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_server_gone_longer_than_the_lease_stops_no_issuance_and_forks_no_state() {
    let env = Env::new("debug").await;
    let a = Arc::new(env.start_ca("ca-a", &BUSY).await);
    let b = Arc::new(env.start_ca("ca-b", &BUSY).await);
    let tls = tls_for(&env.stored_bundle());
    eventually(10, "a leader", || env.lease_holder().is_some()).await;
    let load = Load::start(&[a.clone(), b.clone()], tls.clone());
    eventually(10, "issuance under way", || {
        load.issued.load(Ordering::SeqCst) > 5
    })
    .await;
    env.api.set_unavailable(true);
    let at_outage = load.issued.load(Ordering::SeqCst);
    // Twice the lease duration without an API server.
    eventually(30, "issuance during the outage", || {
        load.issued.load(Ordering::SeqCst) > at_outage + 20
    })
    .await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let mut leaders = 0;
    for r in [&a, &b] {
        if r.metric(tls.clone(), "phimesh_ca_leader").await == Some(1.0) {
            leaders += 1;
        }
    }
    eprintln!("replicas reporting phimesh_ca_leader 1 after 6 s of outage: {leaders}");
    let writes_at_return = env.api.writes().len();
    env.api.set_unavailable(false);
    let gen = env.generation();
    eventually(20, "writes again after the outage", || {
        env.generation() > gen + 1
    })
    .await;
    let mut one = false;
    for _ in 0..100 {
        let la = a.metric(tls.clone(), "phimesh_ca_leader").await;
        let lb = b.metric(tls.clone(), "phimesh_ca_leader").await;
        if matches!((la, lb), (Some(1.0), Some(0.0)) | (Some(0.0), Some(1.0))) {
            one = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (issued, failed, chains) = load.finish().await;
    // After the outage, a replica writes the state only once it renewed or took the Lease again.
    let mut renewed = std::collections::HashSet::new();
    for w in &env.api.writes()[writes_at_return..] {
        if w.status >= 300 {
            continue;
        }
        if w.object == lease_ref() {
            renewed.insert(w.user.clone());
        } else if w.object == secret_ref() {
            assert!(
                renewed.contains(&w.user),
                "{} wrote the state after the outage before renewing the Lease",
                w.user
            );
        }
    }
    assert!(one, "not exactly one leader after the outage");
    assert_eq!(
        leaders, 0,
        "a replica still reported phimesh_ca_leader 1 after 6 s without renewing (renew deadline 2 s)"
    );
    assert_eq!(failed, 0, "failed issuances ({issued} issued)");
    env.assert_no_lost_write();
    let bundle = env.stored_bundle();
    for c in &chains {
        openssl_verifies(env.dir.path(), &bundle, c).expect("an issued chain does not verify");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_taken_by_someone_else_is_respected_and_a_deleted_or_holderless_lease_is_taken_again(
) {
    let env = Env::new("debug").await;
    let mut a = env.start_ca("ca-a", &BUSY).await;
    let mut b = env.start_ca("ca-b", &BUSY).await;
    let tls = tls_for(&env.stored_bundle());
    eventually(10, "a leader", || env.lease_holder().is_some()).await;

    // Someone else holds the Lease now, renewed, for an hour.
    let mut lease = env.api.get(&lease_ref()).unwrap();
    lease["spec"]["holderIdentity"] = json!("intruder");
    lease["spec"]["leaseDurationSeconds"] = json!(3600);
    lease["spec"]["renewTime"] = json!(now_micro());
    lease["spec"]["acquireTime"] = json!(now_micro());
    env.api.put(&lease_ref(), lease);
    let mut none = false;
    for _ in 0..200 {
        let la = a.metric(tls.clone(), "phimesh_ca_leader").await;
        let lb = b.metric(tls.clone(), "phimesh_ca_leader").await;
        if (la, lb) == (Some(0.0), Some(0.0)) {
            none = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        none,
        "a replica still leads under a Lease someone else holds"
    );
    let writes = env.api.writes_of(&secret_ref()).len();
    // Three issuer-rotation periods: a replica that still led would write.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let after: Vec<_> = env.api.writes_of(&secret_ref())[writes..]
        .iter()
        .filter(|w| w.status < 300)
        .cloned()
        .collect();
    assert!(
        after.is_empty(),
        "state written without the Lease: {after:?}"
    );
    assert_eq!(env.lease_holder().as_deref(), Some("intruder"));
    assert_eq!(a.issue(tls.clone()).await.0, 200);
    assert_eq!(b.issue(tls.clone()).await.0, 200);

    // The Lease deleted: one replica creates it and leads.
    assert!(env.api.delete(&lease_ref()));
    eventually(10, "the Lease created again", || {
        matches!(env.lease_holder().as_deref(), Some("ca-a" | "ca-b"))
    })
    .await;
    let gen = env.generation();
    eventually(10, "the new leader writes", || env.generation() > gen).await;

    // A Lease with a holder but no renewTime and no duration (valid for the API server).
    let mut lease = env.api.get(&lease_ref()).unwrap();
    lease["spec"] = json!({"holderIdentity": "ghost"});
    env.api.put(&lease_ref(), lease);
    eventually(
        20,
        "a replica takes over a Lease that was never renewed",
        || matches!(env.lease_holder().as_deref(), Some("ca-a" | "ca-b")),
    )
    .await;
    assert!(a.alive() && b.alive(), "a replica died on an odd Lease");
    assert_eq!(a.issue(tls.clone()).await.0, 200);
    env.assert_no_lost_write();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_rolled_back_after_signing_moved_keeps_the_root_that_signs_live_leaves_trusted() {
    let env = Env::new("debug").await;
    env.put_pod("billing", "api");
    let a = env.start_ca("ca-a", &["--leaf-ttl", "1h"]).await;
    let b = env.start_ca("ca-b", &["--leaf-ttl", "1h"]).await;
    let tls = tls_for(&env.stored_bundle());
    let (_leader, follower) = split_leader(&env, a, b).await;
    // The backup an operator took before the rotation.
    let backup = env.api.get(&secret_ref()).unwrap();
    let old_root = env.stored_state()["roots"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.rotate_root("1s");
    let new_root = env.stored_state()["pending"]["new_root_id"]
        .as_str()
        .unwrap()
        .to_owned();
    eventually(20, "signing moved to the new root", || {
        env.stored_state()["signing_root"] == new_root.as_str()
    })
    .await;
    let two_roots = env.stored_bundle();
    assert_eq!(certs_in(&two_roots), 2);
    let tls2 = tls_for(&two_roots);
    // A workload gets a leaf under the new root.
    let mut live = None;
    for _ in 0..100 {
        let (code, chain) = follower.issue(tls2.clone()).await;
        assert_eq!(code, 200);
        let chain = chain.unwrap();
        let only_new = certs_in(&two_roots) == 2
            && openssl_verifies(
                env.dir.path(),
                &bundle_without(&env.stored_state(), &old_root),
                &chain,
            )
            .is_ok();
        if only_new {
            live = Some(chain);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let live = live.expect("no leaf under the new root");
    eprintln!("leaf issuer: {}", issuer_of_leaf(env.dir.path(), &live));

    // The operator restores the old backup (valid, older generation, one root: the old one).
    env.api.put(
        &secret_ref(),
        json!({"type": "Opaque", "data": backup["data"].clone()}),
    );
    // Let the replicas see it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Whatever the CA makes of it, the leaf it issued an hour's lifetime ago must still verify
    // against what it serves and distributes.
    let served = follower.bundle(tls2.clone()).await;
    assert!(
        openssl_verifies(env.dir.path(), &served, &live).is_ok(),
        "after the rollback the CA serves a bundle that no longer trusts the root of a live leaf \
         ({} roots served)",
        certs_in(&served)
    );
    eventually(10, "the ConfigMaps settle", || {
        env.configmap_bundle("billing").is_some()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    for ns in [NS, "billing"] {
        let cm = env.configmap_bundle(ns).unwrap();
        assert!(
            openssl_verifies(env.dir.path(), &cm, &live).is_ok(),
            "ConfigMap in {ns} no longer trusts the root of a live leaf"
        );
    }
    // New leaves too verify against what is distributed.
    let (code, chain) = follower.issue(tls.clone()).await;
    if code == 200 {
        let cm = env.configmap_bundle("billing").unwrap();
        openssl_verifies(env.dir.path(), &cm, &chain.unwrap())
            .expect("a new leaf does not verify against the distributed bundle");
    }
}

/// The trust bundle of `state` without root `drop_id`.
fn bundle_without(state: &Value, drop_id: &str) -> String {
    state["roots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["id"] != drop_id)
        .map(|r| r["cert_pem"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_corrupted_while_the_ca_runs_is_never_written_over() {
    let env = Env::new("debug").await;
    let mut a = env.start_ca("ca-a", &BUSY).await;
    let mut b = env.start_ca("ca-b", &BUSY).await;
    let tls = tls_for(&env.stored_bundle());
    eventually(10, "a leader", || env.lease_holder().is_some()).await;
    let gen = env.generation();
    eventually(10, "a write by the leader", || env.generation() > gen).await;
    env.api.put(
        &secret_ref(),
        json!({"type": "Opaque", "data": {"ca-state.json": b64("{\"version\": 1, \"roo")}}),
    );
    let seeded = env.api.get(&secret_ref()).unwrap();
    let writes = env.api.writes_of(&secret_ref()).len();
    // Three issuer-rotation periods in which the leader would write.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let over: Vec<_> = env.api.writes_of(&secret_ref())[writes..]
        .iter()
        .filter(|w| w.status < 300)
        .cloned()
        .collect();
    assert!(
        over.is_empty(),
        "the corrupt Secret was written over: {over:?}"
    );
    assert_eq!(env.api.get(&secret_ref()).unwrap(), seeded);
    // A replica either stops with exit 2 or keeps issuing from its last good state.
    for r in [&mut a, &mut b] {
        match r.child.try_wait().unwrap() {
            Some(s) => assert_eq!(s.code(), Some(2), "{} exited {s:?}", r.name),
            None => {
                let (code, chain) = r.issue(tls.clone()).await;
                assert_eq!(code, 200, "{} neither stopped nor issues", r.name);
                let bundle = r.bundle(tls.clone()).await;
                openssl_verifies(env.dir.path(), &bundle, &chain.unwrap()).unwrap();
            }
        }
    }
    let logs = env.logs.lock().unwrap().join("\n");
    assert!(!logs.contains("panicked"), "{logs}");
    assert!(!logs.contains("PRIVATE KEY"));
}

/// A state taken from a running CA, changed by `f`, then offered to a starting CA.
async fn inconsistent_start(what: &str, f: impl FnOnce(&mut Value)) {
    let env = Env::new("debug").await;
    let ca = env.start_ca("ca-0", &[]).await;
    drop(ca);
    let mut state = env.stored_state();
    f(&mut state);
    let bundle = env.stored_bundle();
    env.api.put(
        &secret_ref(),
        json!({"type": "Opaque", "data": {
            "ca-state.json": b64(&state.to_string()),
            "trust-bundle.pem": b64(&bundle),
        }}),
    );
    let seeded = env.api.get(&secret_ref()).unwrap();
    let writes = env.api.writes_of(&secret_ref()).len();
    // Either the CA refuses the state (exit 2, Secret untouched), or everything it issues from
    // it verifies against the bundle it serves.
    let mut child = env
        .phimesh()
        .env("KUBECONFIG", env.dir.path().join("kubeconfig"))
        .args(["ca", "--state-backend", "kubernetes", "--tokens"])
        .arg(env.dir.path().join("tokens"))
        .args(["--listen", "127.0.0.1:0", "--pod-name", "ca-1"])
        .args(LEASE)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Option<String>>();
    let log = Arc::new(Mutex::new(String::new()));
    let log2 = log.clone();
    std::thread::spawn(move || {
        let mut sent = false;
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            log2.lock().unwrap().push_str(&(l.clone() + "\n"));
            if let Some(addr) = l.strip_prefix("phimesh ca: listening on https://") {
                let _ = tx.send(Some(addr.to_owned()));
                sent = true;
            }
        }
        if !sent {
            let _ = tx.send(None);
        }
    });
    let addr = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(30)))
        .await
        .unwrap()
        .expect("the CA neither listened nor exited");
    match addr {
        None => {
            let status = child.wait().unwrap();
            let err = log.lock().unwrap().clone();
            assert_eq!(status.code(), Some(2), "{what}: {err}");
            assert!(!err.contains("panicked"), "{what}: {err}");
            assert!(!err.contains("PRIVATE KEY"), "{what}: {err}");
            assert_eq!(env.api.get(&secret_ref()).unwrap(), seeded, "{what}");
            assert_eq!(env.api.writes_of(&secret_ref()).len(), writes, "{what}");
            eprintln!("{what}: refused with exit 2");
        }
        Some(addr) => {
            let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
            let r = Replica {
                child,
                port,
                name: "ca-1".into(),
            };
            // A CA may repair what it started on: give it a few lease periods.
            let (mut code, mut body) = (0, String::new());
            for _ in 0..100 {
                (code, body) = r
                    .get(tls_for(&env.ca_roots_any()), "/v1/trust-bundle")
                    .await;
                if code == 200 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert_eq!(
                code, 200,
                "{what}: the CA started but cannot be reached: {body}"
            );
            let served: Value = serde_json::from_str(&body).unwrap();
            let served = served["trust_bundle"].as_str().unwrap().to_owned();
            let (code, chain) = r.issue(tls_for(&served)).await;
            let err = log.lock().unwrap().clone();
            assert!(!err.contains("panicked"), "{what}: {err}");
            eprintln!("{what}: started, issuance answered {code}");
            if code == 200 {
                openssl_verifies(env.dir.path(), &served, &chain.unwrap()).unwrap_or_else(|e| {
                    panic!("{what}: the CA started and issued a chain that does not verify: {e}")
                });
            }
        }
    }
}

impl Env {
    /// Every root of the stored state and the fake's (for reaching a CA whose bundle is
    /// unknown).
    fn ca_roots_any(&self) -> String {
        let s = self.api.get(&secret_ref()).unwrap();
        let st: Value = serde_json::from_str(&unb64(s["data"]["ca-state.json"].as_str().unwrap()))
            .unwrap_or(Value::Null);
        let mut out = String::new();
        if let Some(rs) = st["roots"].as_array() {
            for r in rs {
                if let Some(p) = r["cert_pem"].as_str() {
                    out.push_str(p);
                }
            }
        }
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_issuer_in_the_secret_signs_nothing_that_does_not_verify() {
    inconsistent_start("expired issuer", |s| {
        s["issuers"][0]["not_after"] = json!(1_000_000_000);
        s["issuers"][0]["not_before"] = json!(900_000_000);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_key_that_does_not_match_its_certificate_is_refused() {
    inconsistent_start("issuer key of the root", |s| {
        s["issuers"][0]["key_pem"] = s["roots"][0]["key_pem"].clone();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_certificate_from_another_root_is_refused() {
    inconsistent_start("issuer cert is the root cert", |s| {
        s["issuers"][0]["cert_pem"] = s["roots"][0]["cert_pem"].clone();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_root_that_expired_is_not_signed_under() {
    inconsistent_start("expired root", |s| {
        s["roots"][0]["not_after"] = json!(1_000_000_000);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_or_missing_field_state_is_refused_cleanly() {
    for (what, state) in [
        (
            "ten thousand garbage roots",
            json!({"version": 1, "generation": 1, "trust_domain": "cluster.local",
                   "roots": vec![json!({"id": "x", "cert_pem": "y", "key_pem": "z", "not_after": 1}); 10_000],
                   "issuers": [], "signing_root": "x", "pending": null, "max_leaf_ttl_secs": 60}),
        ),
        (
            "a 2 MiB trust domain",
            json!({"version": 1, "generation": 1, "trust_domain": "a".repeat(2 << 20),
                   "roots": [], "issuers": [], "signing_root": "x", "max_leaf_ttl_secs": 60}),
        ),
        ("a future version", json!({"version": 99, "generation": 1})),
        ("an array", json!([1, 2, 3])),
    ] {
        let env = Env::new("debug").await;
        env.api.put(
            &secret_ref(),
            json!({"type": "Opaque", "data": {"ca-state.json": b64(&state.to_string())}}),
        );
        let seeded = env.api.get(&secret_ref()).unwrap();
        let (code, err) = env.run_ca_to_exit();
        assert_eq!(code, Some(2), "{what}: {}", &err[..err.len().min(2000)]);
        assert!(
            err.len() < 64 << 10,
            "{what}: {} bytes of stderr",
            err.len()
        );
        assert!(!err.contains("panicked"), "{what}");
        assert!(err.contains("corrupt CA state"), "{what}: {err}");
        assert_eq!(env.api.get(&secret_ref()).unwrap(), seeded, "{what}");
        assert!(env.api.writes_of(&secret_ref()).is_empty(), "{what}");
    }
}

/// Something else changes in the cluster, the watch history is compacted past the replicas'
/// last seen version and their watches end: a resumed watch gets 410 Gone.
fn compact_and_end_watches(env: &Env, tag: &str) {
    env.api.put(
        &ObjectRef::core("configmaps", Some("default"), &format!("other-{tag}")),
        json!({"data": {"x": "y"}}),
    );
    env.api.compact();
    env.api.close_watches();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_ended_and_compacted_away_still_deliver_a_rotation_to_every_replica() {
    let env = Env::new("debug").await;
    let a = env.start_ca("ca-a", &[]).await;
    let b = env.start_ca("ca-b", &[]).await;
    let tls = tls_for(&env.stored_bundle());
    eventually(10, "a leader", || env.lease_holder().is_some()).await;
    compact_and_end_watches(&env, "0");
    env.rotate_root("1h");
    let stored = env.stored_bundle();
    assert_eq!(certs_in(&stored), 2);
    for r in [&a, &b] {
        let mut ok = false;
        for _ in 0..200 {
            if r.bundle(tls.clone()).await == stored {
                ok = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            ok,
            "{} did not follow after its watch was compacted away",
            r.name
        );
    }
    env.assert_no_lost_write();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_deleted_while_the_watch_was_compacted_away_is_written_again() {
    let env = Env::new("debug").await;
    let a = env.start_ca("ca-a", &[]).await;
    let b = env.start_ca("ca-b", &[]).await;
    eventually(10, "a leader", || env.lease_holder().is_some()).await;
    let before = env.stored_state();
    // The replicas cannot reach the API server (their watches end) while the Secret is deleted
    // and the history compacted: when they are back, resuming the watch answers 410 Gone and
    // only a fresh list shows the Secret is gone.
    env.api.set_unavailable(true);
    assert!(env.api.delete(&secret_ref()));
    compact_and_end_watches(&env, "1");
    // longer than the renew deadline and the lease: leadership is lost and taken again
    tokio::time::sleep(Duration::from_secs(4)).await;
    env.api.set_unavailable(false);
    let (back, took) = secret_back(&env).await;
    // As fast as without the compaction (within 10 s, as a_deleted_secret_is_written_again...).
    assert!(
        back && took < 10.0,
        "the Secret deleted while the watch was compacted away came back after {took:.1} s (written: {back})"
    );
    assert_eq!(env.stored_state()["roots"], before["roots"]);
    let tls = tls_for(&env.stored_bundle());
    assert_eq!(a.issue(tls.clone()).await.0, 200);
    assert_eq!(b.issue(tls).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_rotate_roots_start_exactly_one_rotation() {
    let env = Env::new("debug").await;
    let _ca = env.start_ca("ca-0", &[]).await;
    let before = env.stored_state();
    let children: Vec<_> = (0..4)
        .map(|_| {
            env.rotate_root_cmd("1h")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let ok = outs.iter().filter(|o| o.status.success()).count();
    for o in &outs {
        if !o.status.success() {
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{err}");
            assert!(err.contains("already in progress"), "{err}");
        }
    }
    assert_eq!(ok, 1, "rotations started: {ok}");
    let state = env.stored_state();
    assert_eq!(state["roots"].as_array().unwrap().len(), 2);
    assert_eq!(
        state["roots"][0]["id"], before["roots"][0]["id"],
        "the old root is still there"
    );
    assert_eq!(certs_in(&env.stored_bundle()), 2);
    env.assert_no_lost_write();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_configmaps_edited_or_deleted_by_hand_are_restored() {
    let env = Env::new("debug").await;
    env.put_pod("billing", "api");
    let _ca = env.start_ca("ca-0", &[]).await;
    let bundle = env.stored_bundle();
    eventually(10, "ConfigMaps distributed", || {
        env.configmap_bundle(NS).as_deref() == Some(bundle.as_str())
            && env.configmap_bundle("billing").as_deref() == Some(bundle.as_str())
    })
    .await;
    // A foreign root (the API server's own CA) put in by hand.
    let foreign = env.api.ca_pem().to_owned();
    for ns in [NS, "billing"] {
        let mut cm = env.api.get(&cm_ref(ns)).unwrap();
        cm["data"]["trust-bundle.pem"] = json!(foreign);
        env.api.put(&cm_ref(ns), cm);
    }
    eventually(30, "the tampered ConfigMaps restored", || {
        env.configmap_bundle(NS).as_deref() == Some(bundle.as_str())
            && env.configmap_bundle("billing").as_deref() == Some(bundle.as_str())
    })
    .await;
    // Extra root appended: still not what the CA distributes.
    let mut cm = env.api.get(&cm_ref("billing")).unwrap();
    cm["data"]["trust-bundle.pem"] = json!(format!("{bundle}{foreign}"));
    env.api.put(&cm_ref("billing"), cm);
    eventually(30, "an appended root removed", || {
        env.configmap_bundle("billing").as_deref() == Some(bundle.as_str())
    })
    .await;
    // Deleted.
    assert!(env.api.delete(&cm_ref("billing")));
    eventually(30, "a deleted ConfigMap created again", || {
        env.configmap_bundle("billing").as_deref() == Some(bundle.as_str())
    })
    .await;
}

/// The RBAC rules of `deploy/ca.yaml` (namespaced Role in phimesh-system and the cluster
/// roles), as (group, resource, verb, resource name or any) allowed.
fn rbac_allows(
    group: &str,
    resource: &str,
    verb: &str,
    ns: Option<&str>,
    name: Option<&str>,
) -> bool {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/ca.yaml")).unwrap();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let v: Value = match serde::Deserialize::deserialize(doc) {
            Ok(v) => v,
            Err(_) => continue,
        };
        let kind = v["kind"].as_str().unwrap_or("");
        if kind != "Role" && kind != "ClusterRole" {
            continue;
        }
        if (kind == "Role") != ns.is_some()
            || (kind == "Role" && ns != v["metadata"]["namespace"].as_str())
        {
            continue;
        }
        for rule in v["rules"].as_array().into_iter().flatten() {
            let has = |k: &str, x: &str| {
                rule[k]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|e| e == x || e == "*"))
            };
            let names_ok = match rule["resourceNames"].as_array() {
                None => true,
                Some(a) => name.is_some_and(|n| a.iter().any(|e| e == n)),
            };
            if has("apiGroups", group)
                && has("resources", resource)
                && has("verbs", verb)
                && names_ok
            {
                return true;
            }
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_of_the_ca_is_allowed_by_its_rbac() {
    let env = Env::new("debug").await;
    env.put_pod("billing", "api");
    let a = env.start_ca("ca-a", &BUSY).await;
    let _b = env.start_ca("ca-b", &BUSY).await;
    eventually(10, "ConfigMaps distributed", || {
        env.configmap_bundle("billing").is_some()
    })
    .await;
    env.rotate_root("1h");
    let gen = env.generation();
    eventually(10, "writes", || env.generation() > gen + 1).await;
    drop(a);
    eventually(10, "hand-over", || {
        env.lease_holder().as_deref() == Some("ca-b")
    })
    .await;
    let mut denied = Vec::new();
    let mut checked = 0;
    for r in env.api.requests() {
        if !r
            .user
            .starts_with("system:serviceaccount:phimesh-system:ca-")
        {
            continue;
        }
        checked += 1;
        let parts: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
        // /api/v1/... or /apis/GROUP/VERSION/...
        let (group, rest) = match parts.first() {
            Some(&"api") => ("", &parts[2..]),
            Some(&"apis") => (parts[1], &parts[3..]),
            _ => continue,
        };
        let (ns, rest) = if rest.first() == Some(&"namespaces") && rest.len() >= 3 {
            (Some(rest[1]), &rest[2..])
        } else {
            (None, rest)
        };
        let resource = rest[0];
        let mut name = rest.get(1).map(|s| s.to_string());
        let query = &r.query;
        let verb = match (r.method.as_str(), &name) {
            ("GET", Some(_)) => "get",
            ("GET", None) if query.contains("watch=true") || query.contains("watch=1") => "watch",
            ("GET", None) => "list",
            ("POST", _) => "create",
            ("PUT", _) => "update",
            ("PATCH", _) => "patch",
            ("DELETE", _) => "delete",
            _ => "unknown",
        };
        if name.is_none() {
            // fieldSelector metadata.name=X narrows list/watch to a name for RBAC
            if let Some(f) = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("fieldSelector="))
            {
                let f = f.replace("%3D", "=").replace("%3d", "=");
                name = f.strip_prefix("metadata.name=").map(str::to_owned);
            }
        }
        if verb == "create" {
            name = None;
        }
        // a Role of the namespace or a cluster role
        let ok = rbac_allows(group, resource, verb, ns, name.as_deref())
            || rbac_allows(group, resource, verb, None, name.as_deref());
        if !ok {
            denied.push(format!("{} {}?{} ({verb})", r.method, r.path, r.query));
        }
    }
    assert!(checked > 20, "only {checked} requests by the CA");
    denied.dedup();
    assert!(
        denied.is_empty(),
        "requests the RBAC of deploy/ca.yaml denies: {denied:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_server_answering_garbage_stops_the_ca_cleanly() {
    let env = Env::new("debug").await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming().take(50) {
            let Ok(mut s) = s else { continue };
            let _ = s.write_all(&[0x16, 0x03, 0x03, 0xff, 0xff, 0x42, 0x42, 0x00, 0x13]);
            let _ = s.write_all(&vec![0xAA; 1 << 16]);
        }
    });
    let kc = env.dir.path().join("kubeconfig");
    let text = std::fs::read_to_string(&kc).unwrap();
    let url = env.api.url();
    std::fs::write(
        &kc,
        text.replace(&url, &format!("https://127.0.0.1:{port}")),
    )
    .unwrap();
    let (code, err) = env.run_ca_to_exit();
    assert!(code.is_some(), "the CA neither started nor stopped: {err}");
    assert_ne!(code, Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("phimesh ca: listening"), "{err}");
    assert!(err.len() < 64 << 10, "{} bytes of stderr", err.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_root_meeting_conflicts_retries_on_top_and_prints_no_key() {
    let env = Env::new("debug").await;
    let _ca = env.start_ca("ca-0", &BUSY).await;
    eventually(10, "a leader", || env.lease_holder().is_some()).await;
    let before = env.stored_state();
    env.api.force_conflicts(&secret_ref(), 3);
    let out = env.rotate_root_cmd("1h").output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!text.contains("PRIVATE KEY"), "rotate-root printed a key");
    assert!(!text.contains("panicked"), "{text}");
    let state = env.stored_state();
    if out.status.success() {
        assert_eq!(state["roots"].as_array().unwrap().len(), 2, "{text}");
    } else {
        // refused: then nothing of it was written
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert_eq!(state["roots"], before["roots"], "{text}");
    }
    assert_eq!(state["roots"][0]["id"], before["roots"][0]["id"]);
    let gen = env.generation();
    eventually(10, "the leader writes on top", || env.generation() > gen).await;
    env.assert_no_lost_write();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_injected_during_a_hand_over_gets_its_trust_configmap() {
    let env = Env::new("debug").await;
    let a = env.start_ca("ca-a", &[]).await;
    let b = env.start_ca("ca-b", &[]).await;
    let (mut leader, survivor) = split_leader(&env, a, b).await;
    let bundle = env.stored_bundle();
    eventually(10, "phimesh-system's ConfigMap", || {
        env.configmap_bundle(NS).as_deref() == Some(bundle.as_str())
    })
    .await;
    leader.child.kill().unwrap();
    leader.child.wait().unwrap();
    // The pod appears while nobody leads.
    env.put_pod("during", "job");
    eventually(20, "the survivor leads", || {
        env.lease_holder().as_deref() == Some(survivor.name.as_str())
    })
    .await;
    eventually(
        15,
        "a ConfigMap in the namespace injected during the hand-over",
        || env.configmap_bundle("during").as_deref() == Some(bundle.as_str()),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_root_put_into_the_secrets_trust_bundle_is_not_served_or_distributed() {
    let env = Env::new("debug").await;
    env.put_pod("billing", "api");
    let ca = env.start_ca("ca-0", &[]).await;
    let bundle = env.stored_bundle();
    let tls = tls_for(&bundle);
    eventually(10, "ConfigMaps distributed", || {
        env.configmap_bundle("billing").as_deref() == Some(bundle.as_str())
    })
    .await;
    let foreign = env.api.ca_pem().to_owned();
    let mut s = env.api.get(&secret_ref()).unwrap();
    s["data"]["trust-bundle.pem"] = json!(b64(&format!("{bundle}{foreign}")));
    env.api.put(&secret_ref(), s);
    // Let the CA see it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let served = ca.bundle(tls.clone()).await;
    assert_eq!(
        served, bundle,
        "the CA serves a root that is not in its state"
    );
    for ns in [NS, "billing"] {
        assert_eq!(
            env.configmap_bundle(ns).as_deref(),
            Some(bundle.as_str()),
            "the ConfigMap in {ns} carries a root that is not in the CA's state"
        );
    }
    assert_eq!(ca.issue(tls).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_handed_by_hand_to_the_follower_leaves_exactly_one_writer() {
    let env = Env::new("debug").await;
    let a = env.start_ca("ca-a", &BUSY).await;
    let b = env.start_ca("ca-b", &BUSY).await;
    let tls = tls_for(&env.stored_bundle());
    let (leader, follower) = split_leader(&env, a, b).await;
    // Someone edits the Lease: the follower's name as holder, freshly renewed.
    let mut lease = env.api.get(&lease_ref()).unwrap();
    lease["spec"]["holderIdentity"] = json!(follower.name);
    lease["spec"]["renewTime"] = json!(now_micro());
    env.api.put(&lease_ref(), lease);
    let mut settled = false;
    for _ in 0..200 {
        let l = leader.metric(tls.clone(), "phimesh_ca_leader").await;
        let f = follower.metric(tls.clone(), "phimesh_ca_leader").await;
        let holder = env.lease_holder();
        let ok = match holder.as_deref() {
            Some(h) if h == leader.name => (l, f) == (Some(1.0), Some(0.0)),
            Some(h) if h == follower.name => (l, f) == (Some(0.0), Some(1.0)),
            _ => false,
        };
        if ok {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(settled, "not exactly one leader, the holder of the Lease");
    let settled_at = env.api.writes().len();
    let gen = env.generation();
    eventually(15, "two writes after the edit", || {
        env.generation() > gen + 1
    })
    .await;
    // Once settled, one replica writes the state.
    let writers: std::collections::HashSet<String> = env.api.writes()[settled_at..]
        .iter()
        .filter(|w| w.object == secret_ref() && w.status < 300)
        .map(|w| w.user.clone())
        .collect();
    assert_eq!(
        writers.len(),
        1,
        "two replicas wrote the state: {writers:?}"
    );
    env.assert_no_lost_write();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_older_backup_is_followed_by_every_replica() {
    let env = Env::new("debug").await;
    let a = env.start_ca("ca-a", &BUSY).await;
    let b = env.start_ca("ca-b", &BUSY).await;
    let tls = tls_for(&env.stored_bundle());
    eventually(10, "a leader", || env.lease_holder().is_some()).await;
    let backup = env.api.get(&secret_ref()).unwrap();
    env.rotate_root("1h");
    let gen = env.generation();
    eventually(10, "writes after the backup", || env.generation() > gen + 1).await;
    env.api.put(
        &secret_ref(),
        json!({"type": "Opaque", "data": backup["data"].clone()}),
    );
    let restored_at = env.api.writes_of(&secret_ref()).len();
    eventually(
        15,
        "the leader writes on top of the restored backup",
        || {
            env.api.writes_of(&secret_ref())[restored_at..]
                .iter()
                .any(|w| w.status < 300)
        },
    )
    .await;
    // Every replica serves what the Secret says: no replica stays on a newer, forked state.
    for r in [&a, &b] {
        let mut same = false;
        for _ in 0..200 {
            if r.bundle(tls.clone()).await == env.stored_bundle() {
                same = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(same, "{} does not serve the stored bundle", r.name);
        let (code, chain) = r.issue(tls.clone()).await;
        assert_eq!(code, 200);
        openssl_verifies(env.dir.path(), &env.stored_bundle(), &chain.unwrap())
            .expect("a chain that does not verify against the stored bundle");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_started_while_the_secret_is_gone_does_not_fork_a_new_ca() {
    let env = Env::new("debug").await;
    let a = env.start_ca("ca-a", &[]).await;
    let b = env.start_ca("ca-b", &[]).await;
    let tls = tls_for(&env.stored_bundle());
    let (mut leader, follower) = split_leader(&env, a, b).await;
    let root_ids = |st: &Value| -> Vec<String> {
        st["roots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let roots = root_ids(&env.stored_state());
    // The leader's pod dies, the Secret is deleted by mistake, and the Deployment starts a
    // replacement pod while the dead leader's Lease has not expired yet.
    leader.child.kill().unwrap();
    leader.child.wait().unwrap();
    assert!(env.api.delete(&secret_ref()));
    let c = env.start_ca("ca-c", &[]).await;
    eventually(20, "a new leader", || {
        env.lease_holder().is_some_and(|h| h != leader.name)
    })
    .await;
    eventually(20, "the Secret written again", || {
        env.api.get(&secret_ref()).is_some()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        root_ids(&env.stored_state()),
        roots,
        "a new CA (a new root no sidecar trusts) replaced the running one's state"
    );
    // The sidecars' bundle (the old root) verifies what every replica issues.
    let old_bundle = follower.bundle(tls.clone()).await;
    for r in [&follower, &c] {
        let (code, chain) = r.issue(tls_for(&old_bundle)).await;
        assert_eq!(code, 200, "{}", r.name);
        openssl_verifies(env.dir.path(), &old_bundle, &chain.unwrap()).unwrap_or_else(|e| {
            panic!(
                "{} issues under a root the mesh does not trust: {e}",
                r.name
            )
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_most_verbose_logs_carry_no_key_or_token() {
    let env = Env::new("debug").await;
    env.put_pod("billing", "api");
    // PHIMESH_LOG=trace: everything the CA and its libraries log.
    let kubeconfig = env.replica_kubeconfig("ca-a");
    let a = env
        .start_ca_with("ca-a", &kubeconfig, &[("PHIMESH_LOG", "trace")], &BUSY)
        .await;
    let tls = tls_for(&env.stored_bundle());
    eventually(10, "ca-a leads", || {
        env.lease_holder().as_deref() == Some("ca-a")
    })
    .await;
    env.rotate_root("1h");
    let gen = env.generation();
    eventually(10, "writes", || env.generation() > gen + 1).await;
    assert_eq!(a.issue(tls.clone()).await.0, 200);
    eventually(10, "ConfigMaps", || {
        env.configmap_bundle("billing").is_some()
    })
    .await;
    drop(a);
    let n = env.logs.lock().unwrap().len();
    assert!(n > 10, "only {n} log lines at trace");
    let logs = env.logs.lock().unwrap().join("\n");
    assert!(
        !logs.contains("token-ca-a"),
        "the CA's API token in the logs"
    );
    env.assert_no_secrets_logged(&env.stored_state());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trust_configmap_planted_before_the_first_injected_pod_is_replaced() {
    let env = Env::new("debug").await;
    let foreign = env.api.ca_pem().to_owned();
    env.api.put(
        &cm_ref("billing"),
        json!({"data": {"trust-bundle.pem": foreign}}),
    );
    let _ca = env.start_ca("ca-0", &[]).await;
    let bundle = env.stored_bundle();
    eventually(10, "ca-0 leads", || {
        env.lease_holder().as_deref() == Some("ca-0")
    })
    .await;
    env.put_pod("billing", "api");
    eventually(
        15,
        "the planted ConfigMap replaced by the CA's bundle",
        || env.configmap_bundle("billing").as_deref() == Some(bundle.as_str()),
    )
    .await;
}

/// A TCP relay in front of the API server for one replica: while partitioned it cuts every
/// connection and drops new ones (a network partition of that replica alone).
struct Partition {
    port: u16,
    cut: tokio::sync::watch::Sender<bool>,
}

impl Partition {
    async fn start(upstream: std::net::SocketAddr) -> Partition {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (cut, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            loop {
                let Ok((mut down, _)) = listener.accept().await else {
                    return;
                };
                if *rx.borrow() {
                    drop(down);
                    continue;
                }
                let mut rx = rx.clone();
                tokio::spawn(async move {
                    let Ok(mut up) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut down, &mut up) => {}
                        _ = rx.wait_for(|c| *c) => {}
                    }
                });
            }
        });
        Partition { port, cut }
    }

    fn set(&self, cut: bool) {
        self.cut.send_replace(cut);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_partitioned_from_the_api_server_steps_down_and_does_not_write_when_it_heals() {
    let env = Env::new("debug").await;
    let partition = Partition::start(env.api.addr()).await;
    // ca-a reaches the API server through the relay; it starts first and leads.
    let kc = env.replica_kubeconfig("ca-a");
    let text = std::fs::read_to_string(&kc).unwrap();
    let relayed = env.dir.path().join("kubeconfig-ca-a-relayed");
    std::fs::write(
        &relayed,
        text.replace(
            &env.api.url(),
            &format!("https://127.0.0.1:{}", partition.port),
        ),
    )
    .unwrap();
    let a = Arc::new(env.start_ca_with("ca-a", &relayed, &[], &BUSY).await);
    eventually(10, "ca-a leads", || {
        env.lease_holder().as_deref() == Some("ca-a")
    })
    .await;
    let b = Arc::new(env.start_ca("ca-b", &BUSY).await);
    let tls = tls_for(&env.stored_bundle());
    let gen = env.generation();
    eventually(10, "a write by ca-a", || env.generation() > gen).await;
    let load = Load::start(&[a.clone(), b.clone()], tls.clone());

    partition.set(true);
    eventually(20, "ca-b takes the Lease", || {
        env.lease_holder().as_deref() == Some("ca-b")
    })
    .await;
    let takeover = env.api.writes_of(&secret_ref()).len();
    let gen = env.generation();
    eventually(15, "writes by ca-b", || env.generation() > gen + 1).await;
    let a_leads = a.metric(tls.clone(), "phimesh_ca_leader").await;
    partition.set(false);
    let gen = env.generation();
    eventually(15, "more writes after the partition healed", || {
        env.generation() > gen + 2
    })
    .await;
    let (issued, failed, chains) = load.finish().await;
    let stale = writes_by_after(&env, &replica_user("ca-a"), takeover);
    eprintln!(
        "ca-a reported phimesh_ca_leader {a_leads:?} while partitioned; {} state writes by it \
         after ca-b took over; {issued} issued, {failed} failed",
        stale.len()
    );
    assert!(
        stale.is_empty(),
        "the partitioned leader wrote the state after ca-b took over ({} writes)",
        stale.len()
    );
    assert_eq!(
        a_leads,
        Some(0.0),
        "a leader cut off past its renew deadline still reports phimesh_ca_leader 1"
    );
    assert_eq!(failed, 0, "failed issuances");
    assert_eq!(env.lease_holder().as_deref(), Some("ca-b"));
    env.assert_no_lost_write();
    let bundle = env.stored_bundle();
    for c in &chains {
        openssl_verifies(env.dir.path(), &bundle, c).expect("an issued chain does not verify");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_deleted_as_the_watches_restart_is_written_again() {
    let env = Env::new("debug").await;
    let a = env.start_ca("ca-a", &[]).await;
    let b = env.start_ca("ca-b", &[]).await;
    eventually(10, "a leader", || env.lease_holder().is_some()).await;
    let before = env.stored_state();
    // The watches end (history compacted) and the Secret is deleted while they restart.
    compact_and_end_watches(&env, "2");
    assert!(env.api.delete(&secret_ref()));
    let (back, took) = secret_back(&env).await;
    assert!(
        back && took < 10.0,
        "the Secret deleted as the watches restarted came back after {took:.1} s (written: {back})"
    );
    assert_eq!(env.stored_state()["roots"], before["roots"]);
    let tls = tls_for(&env.stored_bundle());
    assert_eq!(a.issue(tls.clone()).await.0, 200);
    assert_eq!(b.issue(tls).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_deleted_while_nobody_leads_is_written_again_by_the_next_leader() {
    let env = Env::new("debug").await;
    let a = env.start_ca("ca-a", &[]).await;
    let b = env.start_ca("ca-b", &[]).await;
    let tls = tls_for(&env.stored_bundle());
    eventually(10, "a leader", || env.lease_holder().is_some()).await;
    let before = env.stored_state();
    // Someone else holds the Lease: both replicas step down.
    let mut lease = env.api.get(&lease_ref()).unwrap();
    lease["spec"]["holderIdentity"] = json!("intruder");
    lease["spec"]["leaseDurationSeconds"] = json!(3600);
    lease["spec"]["renewTime"] = json!(now_micro());
    env.api.put(&lease_ref(), lease);
    let mut none = false;
    for _ in 0..200 {
        let la = a.metric(tls.clone(), "phimesh_ca_leader").await;
        let lb = b.metric(tls.clone(), "phimesh_ca_leader").await;
        if (la, lb) == (Some(0.0), Some(0.0)) {
            none = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(none, "a replica still leads");
    // The Secret is deleted while nobody leads; then the Lease is free again.
    assert!(env.api.delete(&secret_ref()));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        env.api.get(&secret_ref()).is_none(),
        "a follower wrote the Secret"
    );
    assert!(env.api.delete(&lease_ref()));
    eventually(10, "a new leader", || {
        matches!(env.lease_holder().as_deref(), Some("ca-a" | "ca-b"))
    })
    .await;
    eventually(
        10,
        "the next leader writes the missing Secret again",
        || env.api.get(&secret_ref()).is_some(),
    )
    .await;
    assert_eq!(env.stored_state()["roots"], before["roots"]);
}
