//! mTLS between two `Identity` handles over in-memory streams: SPIFFE checks, allow lists, and
//! certificate/trust swaps under configs built once.

use std::sync::Arc;

use phimesh_identity::identity::{peer_identity, Identity, SpiffeId};
use phimesh_identity::testing::TestPki;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WEB: &str = "spiffe://cluster.local/ns/default/sa/web";
const DB: &str = "spiffe://cluster.local/ns/default/sa/db";

/// Runs one handshake + echo of a few bytes. Returns (server-seen client id, client-seen server id)
/// or the first error (as text).
async fn exchange(
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
) -> Result<(Option<SpiffeId>, Option<SpiffeId>), String> {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let acceptor = tokio_rustls::TlsAcceptor::from(server);
    let connector = tokio_rustls::TlsConnector::from(client);
    let srv = tokio::spawn(async move {
        let mut tls = acceptor.accept(a).await.map_err(|e| e.to_string())?;
        let id = peer_identity(tls.get_ref().1);
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        tls.write_all(&buf).await.map_err(|e| e.to_string())?;
        tls.flush().await.map_err(|e| e.to_string())?;
        Ok::<_, String>(id)
    });
    let client_side = async {
        let mut tls = connector
            .connect(ServerName::try_from("peer.mesh").unwrap(), b)
            .await
            .map_err(|e| e.to_string())?;
        let id = peer_identity(tls.get_ref().1);
        tls.write_all(b"ping").await.map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        assert_eq!(&buf, b"ping");
        Ok::<_, String>(id)
    };
    let client_res = client_side.await;
    let server_res = srv.await.map_err(|e| e.to_string())?;
    match (server_res, client_res) {
        (Ok(s), Ok(c)) => Ok((s, c)),
        (s, c) => Err(format!("server: {:?} / client: {:?}", s.err(), c.err())),
    }
}

#[tokio::test]
async fn mutual_tls_carries_spiffe_ids_both_ways() {
    let pki = TestPki::new("cluster.local");
    let web = pki.identity(WEB);
    let db = pki.identity(DB);
    let (seen_by_db, seen_by_web) =
        exchange(db.server_config(vec![], true), web.client_config(vec![]))
            .await
            .unwrap();
    assert_eq!(seen_by_db.unwrap().as_str(), WEB);
    assert_eq!(seen_by_web.unwrap().as_str(), DB);
}

#[tokio::test]
async fn allow_list_refuses_other_callers() {
    let pki = TestPki::new("cluster.local");
    let db = pki.identity_allowing(DB, Some(vec![WEB.parse().unwrap()]));
    let web = pki.identity(WEB);
    let other = pki.identity("spiffe://cluster.local/ns/default/sa/intruder");
    let server = db.server_config(vec![], true);
    assert!(exchange(server.clone(), web.client_config(vec![]))
        .await
        .is_ok());
    let err = exchange(server, other.client_config(vec![]))
        .await
        .unwrap_err();
    assert!(
        err.contains("server: Some(\"invalid peer certificate: Other(OtherError(NotAllowed"),
        "{err}"
    );
}

#[tokio::test]
async fn secure_naming_refuses_unexpected_server() {
    let pki = TestPki::new("cluster.local");
    let db = pki.identity(DB);
    let web = pki.identity(WEB);
    let expecting_other = web.client_config_expecting(
        vec![],
        Some(vec!["spiffe://cluster.local/ns/default/sa/cache"
            .parse()
            .unwrap()]),
    );
    let err = exchange(db.server_config(vec![], true), expecting_other)
        .await
        .unwrap_err();
    assert!(
        err.contains("client: Some(\"invalid peer certificate: Other(OtherError(NotAllowed"),
        "{err}"
    );
    let expecting_db = web.client_config_expecting(vec![], Some(vec![DB.parse().unwrap()]));
    assert!(exchange(db.server_config(vec![], true), expecting_db)
        .await
        .is_ok());
}

#[tokio::test]
async fn another_pki_or_trust_domain_is_refused() {
    let ours = TestPki::new("cluster.local");
    let theirs = TestPki::new("cluster.local");
    let foreign = TestPki::new("evil.example");
    let db = ours.identity(DB);
    let err = exchange(
        db.server_config(vec![], true),
        theirs.identity(WEB).client_config(vec![]),
    )
    .await
    .unwrap_err();
    assert!(
        err.contains("client: Some(\"invalid peer certificate: UnknownIssuer"),
        "{err}"
    );
    // a foreign trust domain signed by a root we trust is refused too: trust its root to prove
    // that it is the SPIFFE check, not the chain, that refuses.
    let evil_leaf = foreign.leaf(
        &"spiffe://evil.example/ns/default/sa/web".parse().unwrap(),
        None,
    );
    let both = format!("{}{}", ours.bundle_pem(), foreign.bundle_pem());
    let db_trusting_both = ours.identity(DB);
    let db_leaf = ours.leaf(&DB.parse().unwrap(), None);
    db_trusting_both
        .install_pem(&db_leaf.chain_pem, &db_leaf.key_pem, &both)
        .unwrap();
    let evil = Identity::from_static(
        &evil_leaf.chain_pem,
        &evil_leaf.key_pem,
        &both,
        "evil.example",
        None,
    )
    .unwrap();
    let err = exchange(
        db_trusting_both.server_config(vec![], true),
        evil.client_config(vec![]),
    )
    .await
    .unwrap_err();
    assert!(err.contains("ForeignTrustDomain"), "{err}");
}

#[tokio::test]
async fn client_without_certificate_refused_when_required_admitted_when_permissive() {
    let pki = TestPki::new("cluster.local");
    let db = pki.identity(DB);
    let mut roots = rustls::RootCertStore::empty();
    for c in phimesh_identity::pki::parse_certs_pem(&pki.bundle_pem()).unwrap() {
        roots.add(c).unwrap();
    }
    // plain client: verifies the server with webpki but presents no certificate; the server has
    // no DNS name so use the SPIFFE-aware verifier of a throwaway identity instead.
    let anon = pki.identity(WEB);
    let mut anon_cfg = (*anon.client_config(vec![])).clone();
    anon_cfg.client_auth_cert_resolver = Arc::new(NoCert);
    let anon_cfg = Arc::new(anon_cfg);
    assert!(exchange(db.server_config(vec![], true), anon_cfg.clone())
        .await
        .is_err());
    let (seen, _) = exchange(db.server_config(vec![], false), anon_cfg)
        .await
        .unwrap();
    assert_eq!(seen, None);
}

#[derive(Debug)]
struct NoCert;
impl rustls::client::ResolvesClientCert for NoCert {
    fn resolve(
        &self,
        _: &[&[u8]],
        _: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        None
    }
    fn has_certs(&self) -> bool {
        false
    }
}

#[tokio::test]
async fn rotation_swaps_cert_and_roots_without_new_configs_or_dropping_connections() {
    let old = TestPki::new("cluster.local");
    let new = TestPki::new("cluster.local");
    let web = old.identity(WEB);
    let db = old.identity(DB);
    let server = db.server_config(vec![], true);
    let client = web.client_config(vec![]);

    // an open connection made under the old PKI
    let (a, b) = tokio::io::duplex(64 * 1024);
    let acceptor = tokio_rustls::TlsAcceptor::from(server.clone());
    let srv = tokio::spawn(async move {
        let mut tls = acceptor.accept(a).await.unwrap();
        let mut buf = [0u8; 1];
        loop {
            if tls.read_exact(&mut buf).await.is_err() {
                return;
            }
            tls.write_all(&buf).await.unwrap();
            tls.flush().await.unwrap();
        }
    });
    let mut open = tokio_rustls::TlsConnector::from(client.clone())
        .connect(ServerName::try_from("db").unwrap(), b)
        .await
        .unwrap();

    // both sides move to the new PKI; during the overlap the bundle holds both roots
    let both = format!("{}{}", old.bundle_pem(), new.bundle_pem());
    let db_leaf = new.leaf(&DB.parse().unwrap(), None);
    db.install_pem(&db_leaf.chain_pem, &db_leaf.key_pem, &both)
        .unwrap();
    // web still has an old-root certificate but trusts both
    let web_leaf = old.leaf(&WEB.parse().unwrap(), None);
    web.install_pem(&web_leaf.chain_pem, &web_leaf.key_pem, &both)
        .unwrap();
    assert!(exchange(server.clone(), client.clone()).await.is_ok());

    // the old connection still works
    open.write_all(b"x").await.unwrap();
    let mut buf = [0u8; 1];
    open.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"x");

    // old root leaves the bundle: web must be on the new root too
    let web_leaf = new.leaf(&WEB.parse().unwrap(), None);
    web.install_pem(&web_leaf.chain_pem, &web_leaf.key_pem, &new.bundle_pem())
        .unwrap();
    db.install_pem(&db_leaf.chain_pem, &db_leaf.key_pem, &new.bundle_pem())
        .unwrap();
    assert!(exchange(server.clone(), client.clone()).await.is_ok());
    open.write_all(b"y").await.unwrap();
    open.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"y");

    // and an old-root client is now refused by the same server config
    let stale = old.identity("spiffe://cluster.local/ns/default/sa/stale");
    assert!(exchange(server, stale.client_config(vec![])).await.is_err());
    drop(open);
    srv.await.unwrap();
}

#[test]
fn install_refuses_a_certificate_for_another_identity() {
    let pki = TestPki::new("cluster.local");
    let web = pki.identity(WEB);
    let db_leaf = pki.leaf(&DB.parse().unwrap(), None);
    assert!(web
        .install_pem(&db_leaf.chain_pem, &db_leaf.key_pem, &pki.bundle_pem())
        .is_err());
    let other = TestPki::new("cluster.local");
    let web_leaf = other.leaf(&WEB.parse().unwrap(), None);
    // chain that does not verify against the bundle given
    assert!(web
        .install_pem(&web_leaf.chain_pem, &web_leaf.key_pem, &pki.bundle_pem())
        .is_err());
    // mismatched key
    let good = pki.leaf(&WEB.parse().unwrap(), None);
    assert!(web
        .install_pem(&good.chain_pem, &web_leaf.key_pem, &pki.bundle_pem())
        .is_err());
}

#[test]
fn expiry_metric_renders() {
    let pki = TestPki::new("cluster.local");
    let web = pki.identity(WEB);
    let reg = prometheus::Registry::new();
    web.register_metrics(&reg).unwrap();
    let mut out = String::new();
    prometheus::TextEncoder::new()
        .encode_utf8(&reg.gather(), &mut out)
        .unwrap();
    let exp = web.cert_expiry_unix().unwrap();
    assert!(
        out.contains(&format!(
            "phimesh_identity_cert_expiry_timestamp_seconds {exp}"
        )),
        "{out}"
    );
}
