//! `phimesh ca --state-backend kubernetes` as real processes against the fake Kubernetes API
//! server (`apiserver-fake/`, real HTTPS and JSON, reached through a kubeconfig): the state
//! Secret is created on first start and survives restarts and root rotations, two replicas elect
//! one leader on a Lease and a SIGKILLed leader hands over without one failed issuance, forced
//! write conflicts are retried without overwriting anything, a corrupt Secret stops the CA with
//! exit 2 and is left alone, and the trust ConfigMaps follow a rotation.

#[path = "support/ca_kube.rs"]
mod support_ca_kube;

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use phimesh_fake_apiserver::{ObjectRef, Verb};
use serde_json::{json, Value};
use support_ca_kube::{
    certs_in, cm_ref, eventually, lease_ref, replica_user, secret_ref, tls_for, Env, BUSY, NS,
};

impl Env {
    /// `rotate-root` with a propagation delay of one hour; it must start a rotation.
    fn rotate_root(&self) {
        let out = self.rotate_root_cmd("1h").output().unwrap();
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

    /// The Secret was created once, and every later successful write of it was made against
    /// the version the previous one produced and bumped the generation by one: no write was
    /// based on a stale read.
    fn assert_no_lost_write(&self) {
        assert_eq!(self.successful_writes()[0].verb, Verb::Create);
        self.assert_writes_chained();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_creates_the_secret_and_a_root_rotation_survives_a_restart() {
    let env = Env::new("warn").await;
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
    assert_eq!(ca.issue(tls.clone()).await.0, 200);

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
    // A second rotation while one is pending is refused, and writes nothing.
    let writes = env.api.writes_of(&secret_ref()).len();
    let out = env
        .phimesh()
        .args(["ca", "rotate-root", "--state-backend", "kubernetes"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("already in progress"), "{err}");
    assert_eq!(env.api.writes_of(&secret_ref()).len(), writes);

    // Restart: the same roots, the rotation still pending, no new Secret.
    drop(ca);
    let ca = env.start_ca("ca-0", &[]).await;
    let after = ca.bundle(tls.clone()).await;
    assert_eq!(certs_in(&after), 2);
    assert_eq!(after, env.stored_bundle());
    let state = env.stored_state();
    assert_eq!(state["roots"], rotated["roots"]);
    assert_eq!(state["pending"], rotated["pending"]);
    assert_eq!(ca.issue(tls).await.0, 200);
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
    let env = Env::new("warn").await;
    // Issuers rotate every 2 s, so both leaders write the Secret while the test runs.
    let a = env.start_ca("ca-a", &BUSY).await;
    let b = env.start_ca("ca-b", &BUSY).await;
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
                match s.issue(tls.clone()).await.0 {
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
    let writes_at_kill = env.api.writes_of(&secret_ref()).len();
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
    // Only the leader of the moment wrote the state: the first leader until it died, then the
    // survivor; the survivor never wrote while it followed.
    let updates: Vec<(usize, String)> = env
        .api
        .writes_of(&secret_ref())
        .into_iter()
        .enumerate()
        .filter(|(_, w)| w.verb == Verb::Update)
        .map(|(i, w)| (i, w.user))
        .collect();
    assert!(!updates.is_empty());
    for (i, user) in updates {
        let want = if i < writes_at_kill {
            replica_user(&leader.name)
        } else {
            replica_user(&survivor.name)
        };
        assert_eq!(
            user, want,
            "state write #{i} by a replica that did not lead"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_leader_releases_the_lease_for_its_successor() {
    let env = Env::new("warn").await;
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
    assert_eq!(b.issue(tls).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflicting_write_is_retried_and_overwrites_nothing() {
    let env = Env::new("warn").await;
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
async fn a_deleted_secret_is_written_again_from_memory_with_the_same_root() {
    let env = Env::new("warn").await;
    let a = env.start_ca("ca-a", &[]).await;
    eventually(10, "ca-a leads", || {
        env.lease_holder().as_deref() == Some("ca-a")
    })
    .await;
    let b = env.start_ca("ca-b", &[]).await;
    let before = env.stored_state();
    assert!(env.api.delete(&secret_ref()));
    eventually(10, "the Secret written again", || {
        env.api.get(&secret_ref()).is_some()
    })
    .await;
    let after = env.stored_state();
    assert_eq!(
        after["roots"], before["roots"],
        "the same root, not a new CA"
    );
    assert_eq!(after["issuers"], before["issuers"]);
    assert!(after["generation"].as_u64() > before["generation"].as_u64());
    // Both replicas still issue, and a later rotation builds on the rewritten Secret.
    let tls = tls_for(&env.stored_bundle());
    assert_eq!(a.issue(tls.clone()).await.0, 200);
    assert_eq!(b.issue(tls.clone()).await.0, 200);
    env.rotate_root();
    let mut followed = false;
    for _ in 0..200 {
        if certs_in(&b.bundle(tls.clone()).await) == 2 {
            followed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(followed, "the follower did not adopt the rotation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_secret_stops_the_ca_with_exit_2_and_is_left_alone() {
    let env = Env::new("warn").await;
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
    let env = Env::new("warn").await;
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
