//! The fake API server through a real client (kube-rs over rustls): CRUD, optimistic
//! concurrency, watches, selectors, TokenReview and the fault hooks.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::Client;
use phimesh_fake_apiserver::{FakeApiServer, ObjectRef, Verb};

async fn client(api: &FakeApiServer, token: &str) -> Client {
    let kc = Kubeconfig::from_yaml(&api.kubeconfig(token, "team")).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    Client::try_from(cfg).unwrap()
}

fn cm(name: &str, value: &str) -> ConfigMap {
    ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            labels: Some(BTreeMap::from([("app".into(), "x".into())])),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("k".into(), value.into())])),
        ..Default::default()
    }
}

fn status_code(e: &kube::Error) -> u16 {
    match e {
        kube::Error::Api(s) => s.code,
        other => panic!("not an API error: {other}"),
    }
}

#[tokio::test]
async fn crud_with_optimistic_concurrency() {
    let api = FakeApiServer::start().await.unwrap();
    api.add_token("t", "admin", &[]);
    let c = client(&api, "t").await;
    let cms: Api<ConfigMap> = Api::default_namespaced(c.clone());

    let created = cms
        .create(&PostParams::default(), &cm("a", "1"))
        .await
        .unwrap();
    let rv1: u64 = created
        .metadata
        .resource_version
        .clone()
        .unwrap()
        .parse()
        .unwrap();
    assert!(created.metadata.uid.is_some());
    let e = cms
        .create(&PostParams::default(), &cm("a", "1"))
        .await
        .unwrap_err();
    assert_eq!(status_code(&e), 409);

    // Replace with the current version succeeds and bumps it; the stale one then conflicts.
    let mut next = created.clone();
    next.data = Some(BTreeMap::from([("k".into(), "2".into())]));
    let replaced = cms
        .replace("a", &PostParams::default(), &next)
        .await
        .unwrap();
    let rv2: u64 = replaced
        .metadata
        .resource_version
        .clone()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv2 > rv1);
    let e = cms
        .replace("a", &PostParams::default(), &next)
        .await
        .unwrap_err();
    assert_eq!(status_code(&e), 409);
    if let kube::Error::Api(s) = &e {
        assert_eq!(s.reason, "Conflict");
    }
    assert_eq!(cms.get("a").await.unwrap().data.unwrap()["k"], "2");

    // Merge patch, then delete; a get is 404.
    let patched = cms
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"data": {"j": "3"}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.data.as_ref().unwrap()["j"], "3");
    assert_eq!(patched.data.as_ref().unwrap()["k"], "2");
    cms.delete("a", &Default::default()).await.unwrap();
    assert_eq!(status_code(&cms.get("a").await.unwrap_err()), 404);

    let writes = api.writes_of(&ObjectRef::core("configmaps", Some("team"), "a"));
    let verbs: Vec<(Verb, u16)> = writes.iter().map(|w| (w.verb, w.status)).collect();
    assert_eq!(
        verbs,
        [
            (Verb::Create, 201),
            (Verb::Create, 409),
            (Verb::Update, 200),
            (Verb::Update, 409),
            (Verb::Patch, 200),
            (Verb::Delete, 200)
        ]
    );
}

#[tokio::test]
async fn forced_conflicts_and_secrets() {
    let api = FakeApiServer::start().await.unwrap();
    api.add_token("t", "admin", &[]);
    let c = client(&api, "t").await;
    let secrets: Api<Secret> = Api::namespaced(c.clone(), "sys");
    let s = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some("s".into()),
            ..Default::default()
        },
        string_data: Some(BTreeMap::from([("state".into(), "hello".into())])),
        ..Default::default()
    };
    let s = secrets.create(&PostParams::default(), &s).await.unwrap();
    assert_eq!(s.data.as_ref().unwrap()["state"].0, b"hello");
    assert!(s.string_data.is_none());
    let key = ObjectRef::core("secrets", Some("sys"), "s");
    api.force_conflicts(&key, 2);
    for _ in 0..2 {
        let e = secrets
            .replace("s", &PostParams::default(), &s)
            .await
            .unwrap_err();
        assert_eq!(status_code(&e), 409);
    }
    secrets
        .replace("s", &PostParams::default(), &s)
        .await
        .unwrap();
    let forced: Vec<bool> = api
        .writes_of(&key)
        .iter()
        .skip(1)
        .map(|w| w.forced)
        .collect();
    assert_eq!(forced, [true, true, false]);
    // Bad base64 is refused.
    let e = secrets
        .patch(
            "s",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"data": {"x": "!!"}})),
        )
        .await
        .unwrap_err();
    assert_eq!(status_code(&e), 400);
}

#[tokio::test]
async fn watch_replays_streams_and_expires() {
    let api = FakeApiServer::start().await.unwrap();
    api.add_token("t", "admin", &[]);
    let c = client(&api, "t").await;
    let leases: Api<Lease> = Api::namespaced(c.clone(), "sys");
    let mut l = Lease::default();
    l.metadata.name = Some("lock".into());
    leases.create(&PostParams::default(), &l).await.unwrap();
    let list = leases.list(&ListParams::default()).await.unwrap();
    let from = list.metadata.resource_version.clone().unwrap();

    let mut stream = leases
        .watch(&WatchParams::default().timeout(30), &from)
        .await
        .unwrap()
        .boxed();
    let mut m = leases.get("lock").await.unwrap();
    m.spec = Some(Default::default());
    leases
        .replace("lock", &PostParams::default(), &m)
        .await
        .unwrap();
    leases.delete("lock", &Default::default()).await.unwrap();
    let mut kinds = Vec::new();
    while kinds.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(10), stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            WatchEvent::Modified(_) => kinds.push("MODIFIED"),
            WatchEvent::Deleted(_) => kinds.push("DELETED"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(kinds, ["MODIFIED", "DELETED"]);

    // Resuming from the old version replays the same two events.
    let replay: Vec<_> = leases
        .watch(&WatchParams::default().timeout(1), &from)
        .await
        .unwrap()
        .take(2)
        .try_collect()
        .await
        .unwrap();
    assert!(matches!(replay[0], WatchEvent::Modified(_)));
    assert!(matches!(replay[1], WatchEvent::Deleted(_)));

    // After compaction the old version is gone: 410 in an ERROR event.
    api.compact();
    let first = leases
        .watch(&WatchParams::default().timeout(5), &from)
        .await
        .unwrap()
        .boxed()
        .try_next()
        .await
        .unwrap()
        .unwrap();
    match first {
        WatchEvent::Error(e) => assert_eq!(e.code, 410),
        other => panic!("expected 410, got {other:?}"),
    }

    // close_watches ends an open stream.
    let mut open = leases
        .watch(&WatchParams::default().timeout(60), "0")
        .await
        .unwrap()
        .boxed();
    api.close_watches();
    let end = tokio::time::timeout(Duration::from_secs(10), open.try_next())
        .await
        .unwrap();
    assert!(matches!(end, Ok(None)));
}

#[tokio::test]
async fn selectors_across_namespaces() {
    let api = FakeApiServer::start().await.unwrap();
    api.add_token("t", "admin", &[]);
    let c = client(&api, "t").await;
    for (ns, name, injected) in [("a", "p1", true), ("b", "p2", false), ("c", "p3", true)] {
        let mut labels = serde_json::Map::new();
        if injected {
            labels.insert("phimesh.io/injected".into(), "true".into());
        }
        api.put(
            &ObjectRef::core("pods", Some(ns), name),
            serde_json::json!({"metadata": {"labels": labels}, "spec": {"containers": []}}),
        );
    }
    let pods: Api<Pod> = Api::all(c.clone());
    let got = pods
        .list(&ListParams::default().labels("phimesh.io/injected=true"))
        .await
        .unwrap();
    let names: Vec<_> = got
        .items
        .iter()
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["p1", "p3"]);
    let got = pods
        .list(&ListParams::default().fields("metadata.name=p2"))
        .await
        .unwrap();
    assert_eq!(got.items.len(), 1);
    assert_eq!(got.items[0].metadata.namespace.as_deref(), Some("b"));
    let e = pods
        .list(&ListParams::default().labels("a in b"))
        .await
        .unwrap_err();
    assert_eq!(status_code(&e), 400);
}

#[tokio::test]
async fn token_review_and_authentication() {
    let api = FakeApiServer::start().await.unwrap();
    api.add_token("caller", "system:serviceaccount:sys:ca", &[]);
    api.add_token(
        "workload",
        "system:serviceaccount:billing:api",
        &["phimesh-ca"],
    );
    let c = client(&api, "caller").await;
    let reviews: Api<TokenReview> = Api::all(c.clone());
    let review = |token: &str, aud: &str| TokenReview {
        spec: TokenReviewSpec {
            token: Some(token.into()),
            audiences: Some(vec![aud.into()]),
        },
        ..Default::default()
    };
    let ok = reviews
        .create(&PostParams::default(), &review("workload", "phimesh-ca"))
        .await
        .unwrap();
    let st = ok.status.unwrap();
    assert_eq!(st.authenticated, Some(true));
    assert_eq!(
        st.user.unwrap().username.as_deref(),
        Some("system:serviceaccount:billing:api")
    );
    for (token, aud) in [("workload", "other"), ("nope", "phimesh-ca")] {
        let r = reviews
            .create(&PostParams::default(), &review(token, aud))
            .await
            .unwrap();
        assert_eq!(
            r.status.unwrap().authenticated,
            Some(false),
            "{token} {aud}"
        );
    }
    // An unknown caller token is 401.
    let stranger = client(&api, "stranger").await;
    let e = Api::<ConfigMap>::default_namespaced(stranger)
        .get("x")
        .await
        .unwrap_err();
    assert_eq!(status_code(&e), 401);
}
