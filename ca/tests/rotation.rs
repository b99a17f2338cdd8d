//! Leaf renewal, issuer rotation and a full root rotation with second-scale lifetimes, while a
//! rustls mTLS echo pair (two `Identity::start` sidecars against a real CA over HTTPS) keeps one
//! connection open and makes fresh full handshakes: no failed handshake, no dropped connection.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use phimesh_ca::auth::Authenticator;
use phimesh_ca::authority::Settings;
use phimesh_ca::identity::{peer_identity, Identity, IdentityConfig};
use phimesh_ca::server::{self, CaConfig};
use phimesh_ca::state::StateDir;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WEB: &str = "spiffe://cluster.local/ns/default/sa/web";
const DB: &str = "spiffe://cluster.local/ns/default/sa/db";

fn roots_of(pem: &str) -> Vec<Vec<u8>> {
    phimesh_ca::pki::parse_certs_pem(pem)
        .unwrap()
        .into_iter()
        .map(|c| c.as_ref().to_vec())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sidecars_keep_talking_through_renewal_issuer_and_root_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, format!("tok-web {WEB}\ntok-db {DB}\n")).unwrap();
    std::fs::write(dir.path().join("web.token"), "tok-web\n").unwrap();
    std::fs::write(dir.path().join("db.token"), "tok-db").unwrap();

    let mut settings = Settings::new("cluster.local");
    settings.leaf_ttl = Duration::from_secs(3);
    settings.issuer_rotation = Duration::from_secs(2);
    settings.root_ttl = Duration::from_secs(3600);
    let auth = Arc::new(Authenticator::new("cluster.local", Some(tokens), None).unwrap());
    let ca = server::start(
        CaConfig {
            settings,
            state: server::StateConfig::Directory(state_dir.clone()),
            listen: "127.0.0.1:0".parse().unwrap(),
            server_names: server::default_server_names(),
            rate_limit_per_minute: 600,
            auth_failures_per_minute: 30,
            tick: Duration::from_millis(250),
        },
        auth,
    )
    .await
    .unwrap();
    let first_roots = roots_of(&ca.ca.bundle_pem());
    assert_eq!(first_roots.len(), 1);

    let sidecar = |id: &str, token: &str| {
        let mut cfg = IdentityConfig::new(
            id.parse().unwrap(),
            format!("https://127.0.0.1:{}", ca.addr.port()),
            state_dir.join("trust-bundle.pem"),
            dir.path().join(token),
        );
        cfg.bundle_refresh = Duration::from_millis(500);
        cfg.retry_initial = Duration::from_millis(200);
        cfg.retry_max = Duration::from_secs(1);
        Identity::start(cfg).unwrap()
    };
    let web = sidecar(WEB, "web.token");
    let db = sidecar(DB, "db.token");
    tokio::time::timeout(Duration::from_secs(10), async {
        web.ready().await;
        db.ready().await;
    })
    .await
    .expect("both sidecars get a first certificate");
    let first_expiry = web.cert_expiry_unix().unwrap();

    // db: echo server
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let db_addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(db.server_config(vec![], true));
    let server_failures = Arc::new(AtomicUsize::new(0));
    let sf = server_failures.clone();
    let echo = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let sf = sf.clone();
            tokio::spawn(async move {
                let mut tls = match acceptor.accept(tcp).await {
                    Ok(t) => t,
                    Err(e) => {
                        eprintln!("server handshake failed: {e}");
                        sf.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                };
                assert_eq!(peer_identity(tls.get_ref().1).unwrap().as_str(), WEB);
                let mut buf = [0u8; 8];
                while tls.read_exact(&mut buf).await.is_ok() {
                    if tls.write_all(&buf).await.is_err() || tls.flush().await.is_err() {
                        return;
                    }
                }
            });
        }
    });

    // web: full handshakes only (no resumption), so every connection re-verifies both chains
    let mut client_cfg = (*web.client_config(vec![])).clone();
    client_cfg.resumption = rustls::client::Resumption::disabled();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_cfg));
    let connect = || {
        let connector = connector.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(db_addr)
                .await
                .map_err(|e| e.to_string())?;
            let tls = connector
                .connect(ServerName::try_from("db").unwrap(), tcp)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(tls)
        }
    };
    let mut long_lived = connect().await.unwrap();

    let started = tokio::time::Instant::now();
    let mut rotated = false;
    let mut handshakes = 0u32;
    let mut exchanges = 0u32;
    // 13 s: renewals every ~2 s, issuer rotations every 2 s, root rotation started at 2 s with a
    // 2 s propagation delay, old root retired ~6 s after the switch.
    while started.elapsed() < Duration::from_secs(13) {
        if !rotated && started.elapsed() > Duration::from_secs(2) {
            let sd = StateDir::open(&state_dir).unwrap();
            phimesh_ca::authority::rotate_root(
                &sd,
                Duration::from_secs(3600),
                Duration::from_secs(2),
                phimesh_ca::pki::unix_now(),
            )
            .unwrap();
            rotated = true;
        }
        // the connection opened at the start still carries data
        long_lived
            .write_all(b"longlive")
            .await
            .expect("long-lived write");
        let mut buf = [0u8; 8];
        long_lived
            .read_exact(&mut buf)
            .await
            .expect("long-lived read");
        assert_eq!(&buf, b"longlive");
        exchanges += 1;
        // and a brand-new full handshake succeeds
        let mut fresh = connect()
            .await
            .unwrap_or_else(|e| panic!("handshake failed at {:?}: {e}", started.elapsed()));
        fresh.write_all(b"freshcon").await.unwrap();
        fresh.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"freshcon");
        handshakes += 1;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert_eq!(
        server_failures.load(Ordering::SeqCst),
        0,
        "server-side handshake failures"
    );
    assert!(
        handshakes > 20 && exchanges > 20,
        "{handshakes} handshakes, {exchanges} exchanges"
    );

    // the leaf was renewed several times
    assert!(
        web.cert_expiry_unix().unwrap() >= first_expiry + 8,
        "web renewed"
    );
    // the rotation completed: one root, not the first, everywhere
    let final_roots = roots_of(&ca.ca.bundle_pem());
    assert_eq!(final_roots.len(), 1, "old root retired");
    assert_ne!(final_roots, first_roots, "new root in force");
    let on_disk = std::fs::read_to_string(state_dir.join("trust-bundle.pem")).unwrap();
    assert_eq!(roots_of(&on_disk), final_roots);
    // sidecars picked up the bundle (refresh every 0.5 s)
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(roots_of(&web.trust_bundle_pem()), final_roots);
    assert_eq!(roots_of(&db.trust_bundle_pem()), final_roots);
    let metrics = ca.ca.render_metrics();
    assert!(
        metrics.contains("phimesh_ca_trust_bundle_roots 1"),
        "{metrics}"
    );
    assert!(!metrics.contains("phimesh_ca_certificates_issued_total{result=\"issued\"} 0"));

    drop(long_lived);
    echo.abort();
    ca.shutdown().await;
}
