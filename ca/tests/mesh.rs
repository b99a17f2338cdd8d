//! Mesh discovery over the identity API (`GET /v1/mesh`), with each source: a static file, and
//! pods listed and watched from a fake Kubernetes API server (`phimesh-fake-apiserver`: real
//! HTTPS, real JSON, the published list/watch API; there is no real cluster here).

mod support {
    pub(crate) mod ca;
}

use std::time::{Duration, Instant};

use kube::config::{KubeConfigOptions, Kubeconfig};
use phimesh_ca::api::MeshResponse;
use phimesh_ca::auth::Authenticator;
use phimesh_ca::discovery::pods::KubePods;
use phimesh_ca::discovery::StaticFile;
use phimesh_ca::https::{self, HttpsUrl, Limits};
use phimesh_ca::server::RunningCa;
use phimesh_ca::testing::client_config_for;
use phimesh_fake_apiserver::{FakeApiServer, ObjectRef};

const TOKEN: &str = "tok-web spiffe://cluster.local/ns/shop/sa/web\n";

async fn start_ca(dir: &std::path::Path) -> RunningCa {
    std::fs::write(dir.join("tokens"), TOKEN).unwrap();
    let auth = Authenticator::new("cluster.local", Some(dir.join("tokens")), None).unwrap();
    support::ca::start_ca_with(dir, auth, 1000).await
}

struct Answer {
    status: u16,
    etag: Option<String>,
    body: Option<MeshResponse>,
    error: Option<String>,
}

async fn get_mesh(ca: &RunningCa, token: Option<&str>, if_none_match: Option<&str>) -> Answer {
    let tls = client_config_for(&ca.ca.bundle_pem());
    let url = HttpsUrl::parse(&format!("https://127.0.0.1:{}", ca.addr.port())).unwrap();
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = Vec::new();
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    if let Some(t) = if_none_match {
        headers.push(("if-none-match", t));
    }
    let resp = https::request(
        &url,
        tls,
        http::Method::GET,
        "/v1/mesh",
        &headers,
        None,
        Limits {
            timeout: Duration::from_secs(20),
            max_body: 1 << 20,
        },
    )
    .await
    .unwrap();
    let etag = resp
        .headers
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    let (body, error) = match resp.status {
        200 => (Some(serde_json::from_slice(&resp.body).unwrap()), None),
        304 => {
            assert!(resp.body.is_empty(), "304 has no body");
            (None, None)
        }
        _ => {
            let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
            (None, v["error"].as_str().map(String::from))
        }
    };
    Answer {
        status: resp.status,
        etag,
        body,
        error,
    }
}

fn listed(a: &Answer) -> Vec<(String, String)> {
    a.body
        .as_ref()
        .map(|b| {
            b.workloads
                .iter()
                .map(|w| (w.ip.to_string(), w.identity.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Polls `GET /v1/mesh` until `want` holds (at most 20 s).
async fn until(ca: &RunningCa, what: &str, want: impl Fn(&Answer) -> bool) -> Answer {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let a = get_mesh(ca, Some("tok-web"), None).await;
        if want(&a) {
            return a;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn pair(ip: &str, id: &str) -> (String, String) {
    (ip.to_owned(), format!("spiffe://cluster.local/{id}"))
}

#[tokio::test]
async fn static_source_needs_a_token_and_answers_304_until_the_list_changes() {
    let dir = tempfile::tempdir().unwrap();
    let ca = start_ca(dir.path()).await;
    // No source yet: 503, so sidecars fall back.
    let a = get_mesh(&ca, Some("tok-web"), None).await;
    assert_eq!(a.status, 503);

    let file = dir.path().join("mesh");
    std::fs::write(&file, "10.1.0.5 spiffe://cluster.local/ns/shop/sa/web\n").unwrap();
    let src = StaticFile::new(&file, "cluster.local").with_poll(Duration::from_millis(50));
    let task = ca.ca.start_mesh_source(Box::new(src));

    let a = until(&ca, "the first list", |a| a.status == 200).await;
    assert_eq!(listed(&a), vec![pair("10.1.0.5", "ns/shop/sa/web")]);
    let etag = a.etag.clone().expect("ETag");

    // Only callers with a token the CA accepts.
    for token in [None, Some("nope")] {
        let a = get_mesh(&ca, token, None).await;
        assert_eq!(a.status, 401, "{token:?}");
        assert!(a.body.is_none());
    }

    let a = get_mesh(&ca, Some("tok-web"), Some(&etag)).await;
    assert_eq!(a.status, 304);
    assert_eq!(a.etag.as_deref(), Some(etag.as_str()));

    std::fs::write(
        &file,
        "10.1.0.5 spiffe://cluster.local/ns/shop/sa/web\n10.1.0.9 spiffe://cluster.local/ns/shop/sa/db\n",
    )
    .unwrap();
    let a = until(&ca, "the changed list", |a| listed(a).len() == 2).await;
    assert_ne!(a.etag.as_deref(), Some(etag.as_str()));
    let a2 = get_mesh(&ca, Some("tok-web"), Some(&etag)).await;
    assert_eq!(a2.status, 200, "an old ETag gets the new list");
    assert_eq!(a2.etag, a.etag);

    let m = ca.ca.render_metrics();
    assert!(m.contains("phimesh_ca_mesh_workloads 2"), "{m}");
    assert!(m.contains("phimesh_ca_mesh_requests_total{result=\"not_modified\"} 1"));
    assert!(m.contains("phimesh_ca_mesh_requests_total{result=\"unauthenticated\"} 2"));
    task.abort();
    ca.shutdown().await;
}

fn pod(ns: &str, name: &str, sa: &str, ip: &str, meshed: bool) -> serde_json::Value {
    let mut labels = serde_json::json!({"app": name});
    if meshed {
        labels["phimesh.io/sidecar"] = "injected".into();
    }
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"serviceAccountName": sa, "containers": [{"name": "app", "image": "app"}]},
        "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_watcher_follows_pods_added_relabelled_and_deleted() {
    let api = FakeApiServer::start().await.unwrap();
    api.add_token(
        "ca-token",
        "system:serviceaccount:phimesh-system:phimesh-ca",
        &[],
    );
    let web = ObjectRef::core("pods", Some("shop"), "web-1");
    let agent = ObjectRef::core("pods", Some("monitoring"), "agent-1");
    api.put(&web, pod("shop", "web-1", "web", "10.1.0.5", true));
    api.put(
        &agent,
        pod("monitoring", "agent-1", "agent", "10.1.0.7", false),
    );

    let dir = tempfile::tempdir().unwrap();
    let ca = start_ca(dir.path()).await;
    let kc = Kubeconfig::from_yaml(&api.kubeconfig("ca-token", "phimesh-system")).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    let src = KubePods::new(cfg, "cluster.local").unwrap();
    let task = ca.ca.start_mesh_source(Box::new(src));

    // Listed: the meshed pod only, not the unmeshed agent in the same network.
    let a = until(&ca, "the first list", |a| a.status == 200).await;
    assert_eq!(listed(&a), vec![pair("10.1.0.5", "ns/shop/sa/web")]);
    let e1 = a.etag.clone().unwrap();

    // A pod added (watched, not relisted).
    let db = ObjectRef::core("pods", Some("shop"), "db-1");
    api.put(&db, pod("shop", "db-1", "db", "10.1.0.6", true));
    let a = until(&ca, "the added pod", |a| listed(a).len() == 2).await;
    assert_eq!(
        listed(&a),
        vec![
            pair("10.1.0.5", "ns/shop/sa/web"),
            pair("10.1.0.6", "ns/shop/sa/db")
        ]
    );
    let e2 = a.etag.clone().unwrap();
    assert_ne!(e1, e2);
    assert_eq!(get_mesh(&ca, Some("tok-web"), Some(&e2)).await.status, 304);

    // The marker removed from a running pod: it leaves the list.
    api.put(&db, pod("shop", "db-1", "db", "10.1.0.6", false));
    let a = until(&ca, "the relabelled pod to leave", |a| listed(a).len() == 1).await;
    assert_eq!(a.etag.as_deref(), Some(e1.as_str()), "same list, same tag");

    // A finished pod leaves it too, and a deleted one.
    let mut done = pod("shop", "web-1", "web", "10.1.0.5", true);
    done["status"]["phase"] = "Succeeded".into();
    api.put(&web, done);
    until(&ca, "the finished pod to leave", |a| {
        listed(a).is_empty() && a.status == 200
    })
    .await;
    api.put(&db, pod("shop", "db-1", "db", "10.1.0.6", true));
    until(&ca, "the pod back", |a| listed(a).len() == 1).await;
    api.delete(&db);
    until(&ca, "the deleted pod to leave", |a| {
        listed(a).is_empty() && a.status == 200
    })
    .await;

    // The watch history is compacted and the stream closed: the watcher relists (410) and
    // still sees what changed meanwhile.
    api.compact();
    api.close_watches();
    api.put(&db, pod("shop", "db-1", "db", "10.1.0.6", true));
    until(&ca, "the pod after a relist", |a| listed(a).len() == 1).await;
    task.abort();
    ca.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_watcher_withdraws_the_list_when_the_api_is_gone_too_long() {
    let api = FakeApiServer::start().await.unwrap();
    api.add_token(
        "ca-token",
        "system:serviceaccount:phimesh-system:phimesh-ca",
        &[],
    );
    api.put(
        &ObjectRef::core("pods", Some("shop"), "web-1"),
        pod("shop", "web-1", "web", "10.1.0.5", true),
    );
    let dir = tempfile::tempdir().unwrap();
    let ca = start_ca(dir.path()).await;
    let kc = Kubeconfig::from_yaml(&api.kubeconfig("ca-token", "phimesh-system")).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    let src = KubePods::new(cfg, "cluster.local")
        .unwrap()
        .with_max_unsynced(Duration::from_secs(1));
    let task = ca.ca.start_mesh_source(Box::new(src));
    until(&ca, "the first list", |a| a.status == 200).await;
    api.set_unavailable(true);
    api.close_watches();
    let a = until(&ca, "the list withdrawn", |a| a.status == 503).await;
    assert_eq!(a.error.as_deref(), Some("mesh discovery lost its source"));
    api.set_unavailable(false);
    until(&ca, "the list back", |a| {
        a.status == 200 && listed(a).len() == 1
    })
    .await;
    task.abort();
    ca.shutdown().await;
}
