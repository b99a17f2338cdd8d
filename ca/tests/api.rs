//! The identity API in process: 200 concurrent issuances, and the Kubernetes TokenReview path
//! (a `kube` client) against the fake API server of `apiserver-fake/`, written to the published
//! `authentication.k8s.io/v1` TokenReview API (real HTTPS with its own CA, real JSON). There is
//! no real API server here.

mod support {
    pub(crate) mod ca;
}

use std::sync::Arc;
use std::time::Duration;

use phimesh_ca::auth::{Authenticator, KubeConfig};
use phimesh_ca::https::{self, HttpsUrl, Limits};
use phimesh_ca::identity::{Identity, IdentityConfig, SpiffeId};
use phimesh_ca::pki::{self, KeyAlgorithm};
use phimesh_ca::server::RunningCa;
use phimesh_ca::testing::client_config_for as client_for;
use phimesh_fake_apiserver::FakeApiServer;

async fn start_ca(dir: &std::path::Path, auth: Authenticator) -> RunningCa {
    support::ca::start_ca_with(dir, auth, 30).await
}

async fn post_csr(ca: &RunningCa, token: &str, id: &SpiffeId) -> (u16, serde_json::Value) {
    let key = pki::generate_key(KeyAlgorithm::EcdsaP256).unwrap();
    let csr = pki::make_csr(&key, id, &[]).unwrap();
    let url = HttpsUrl::parse(&format!("https://127.0.0.1:{}", ca.addr.port())).unwrap();
    let auth = format!("Bearer {token}");
    let resp = https::request(
        &url,
        client_for(&ca.ca.bundle_pem()),
        http::Method::POST,
        "/v1/certificates",
        &[("authorization", &auth)],
        Some(serde_json::json!({ "csr": csr }).to_string().into_bytes()),
        Limits {
            timeout: Duration::from_secs(30),
            max_body: 1 << 20,
        },
    )
    .await
    .unwrap();
    (resp.status, serde_json::from_slice(&resp.body).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_issuances_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let tokens: String = (0..200)
        .map(|i| format!("tok-{i} spiffe://cluster.local/ns/load/sa/sa-{i}\n"))
        .collect();
    std::fs::write(dir.path().join("tokens"), tokens).unwrap();
    let auth = Authenticator::new("cluster.local", Some(dir.path().join("tokens")), None).unwrap();
    let ca = Arc::new(start_ca(dir.path(), auth).await);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let ca = ca.clone();
        tasks.push(tokio::spawn(async move {
            let id: SpiffeId = format!("spiffe://cluster.local/ns/load/sa/sa-{i}")
                .parse()
                .unwrap();
            let (status, body) = post_csr(&ca, &format!("tok-{i}"), &id).await;
            assert_eq!(status, 200, "{body}");
            let chain = pki::parse_certs_pem(body["certificate_chain"].as_str().unwrap()).unwrap();
            assert_eq!(pki::spiffe_id_of(&chain[0]).unwrap(), id);
            pki::cert_info(&chain[0]).unwrap().serial_hex
        }));
    }
    let mut serials = std::collections::HashSet::new();
    for t in tasks {
        serials.insert(t.await.unwrap());
    }
    assert_eq!(serials.len(), 200, "serials are unique");
    assert!(ca
        .ca
        .render_metrics()
        .contains("phimesh_ca_certificates_issued_total{result=\"issued\"} 200"));
}

fn reviews(api: &FakeApiServer) -> usize {
    api.requests()
        .iter()
        .filter(|r| r.path == "/apis/authentication.k8s.io/v1/tokenreviews" && r.status == 201)
        .count()
}

/// The fake API server (`apiserver-fake/`) with the CA's own token (trailing newline in its
/// file, as an operator might write it) and the sidecar tokens of the test.
async fn fake_api() -> FakeApiServer {
    let api = FakeApiServer::start().await.unwrap();
    api.add_token(
        "ca-sa-token",
        "system:serviceaccount:phimesh-system:phimesh-ca",
        &[],
    );
    api.add_token(
        "k8s-good",
        "system:serviceaccount:billing:api",
        &["phimesh-ca"],
    );
    api.add_token(
        "k8s-wrong-aud",
        "system:serviceaccount:billing:api",
        &["other"],
    );
    api.add_token("k8s-node", "system:node:n1", &["phimesh-ca"]);
    api.add_token(
        "k8s-new",
        "system:serviceaccount:billing:api",
        &["phimesh-ca"],
    );
    api
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_review_maps_service_accounts_and_refuses_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let api = fake_api().await;
    std::fs::write(dir.path().join("kube-ca.pem"), api.ca_pem()).unwrap();
    std::fs::write(dir.path().join("ca-sa-token"), "ca-sa-token\n").unwrap();
    let auth = Authenticator::new(
        "cluster.local",
        None,
        Some(KubeConfig {
            api: api.url(),
            ca_file: dir.path().join("kube-ca.pem"),
            token_file: dir.path().join("ca-sa-token"),
            audience: "phimesh-ca".into(),
        }),
    )
    .unwrap();
    let ca = start_ca(dir.path(), auth).await;
    let billing: SpiffeId = "spiffe://cluster.local/ns/billing/sa/api".parse().unwrap();

    // a sidecar with a projected token gets its certificate through TokenReview
    std::fs::write(dir.path().join("pod-token"), "k8s-good").unwrap();
    let identity = Identity::start(IdentityConfig::new(
        billing.clone(),
        format!("https://127.0.0.1:{}", ca.addr.port()),
        dir.path().join("state/trust-bundle.pem"),
        dir.path().join("pod-token"),
    ))
    .unwrap();
    tokio::time::timeout(Duration::from_secs(10), identity.ready())
        .await
        .unwrap();
    assert!(identity.is_ready());
    assert_eq!(reviews(&api), 1);

    // a second request with the same token is served from the cache
    let (status, _) = post_csr(&ca, "k8s-good", &billing).await;
    assert_eq!(status, 200);
    assert_eq!(reviews(&api), 1);

    // the token grants billing/api only
    let other: SpiffeId = "spiffe://cluster.local/ns/billing/sa/admin"
        .parse()
        .unwrap();
    assert_eq!(post_csr(&ca, "k8s-good", &other).await.0, 403);
    for bad in ["k8s-wrong-aud", "k8s-node", "k8s-unknown"] {
        let (status, body) = post_csr(&ca, bad, &billing).await;
        assert_eq!(status, 401, "{bad}: {body}");
        assert_eq!(body["error"], "unknown or invalid token");
    }

    // the API server going away is a 503, not a 401
    drop(api);
    let (status, body) = post_csr(&ca, "k8s-new", &billing).await;
    assert_eq!(status, 503, "{body}");
    ca.shutdown().await;
}
