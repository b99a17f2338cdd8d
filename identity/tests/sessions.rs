//! TLS 1.3 resumption between two `Identity` handles over in-memory streams: sessions are resumed
//! while what authenticated them holds, and never after a renewal, a trust bundle change, or the
//! expiry of either certificate — also when the client keeps its tickets regardless (a client
//! that is not a phimesh sidecar, `openssl s_client -sess_in`), which only the server's session
//! storage forgetting can stop.

use std::sync::Arc;
use std::time::Duration;

use phimesh_identity::identity::{Identity, SpiffeId};
use phimesh_identity::testing::TestPki;
use rustls::pki_types::ServerName;
use rustls::HandshakeKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WEB: &str = "spiffe://cluster.local/ns/default/sa/web";
const DB: &str = "spiffe://cluster.local/ns/default/sa/db";

/// One handshake and a 4-byte echo (so the client reads the server's tickets). Returns how the
/// handshake went on (server, client), or the first error as text.
async fn exchange(
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
) -> Result<(HandshakeKind, HandshakeKind), String> {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let acceptor = tokio_rustls::TlsAcceptor::from(server);
    let connector = tokio_rustls::TlsConnector::from(client);
    let srv = tokio::spawn(async move {
        let mut tls = acceptor.accept(a).await.map_err(|e| e.to_string())?;
        let kind = tls.get_ref().1.handshake_kind();
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        tls.write_all(&buf).await.map_err(|e| e.to_string())?;
        tls.flush().await.map_err(|e| e.to_string())?;
        Ok::<_, String>(kind.unwrap())
    });
    let client_side = async {
        let mut tls = connector
            .connect(ServerName::try_from("10.0.0.2").unwrap(), b)
            .await
            .map_err(|e| e.to_string())?;
        let kind = tls.get_ref().1.handshake_kind();
        tls.write_all(b"ping").await.map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(kind.unwrap())
    };
    let c = client_side.await;
    let s = srv.await.map_err(|e| e.to_string())?;
    match (s, c) {
        (Ok(s), Ok(c)) => {
            assert_eq!(s, c, "both ends agree on the kind of handshake");
            Ok((s, c))
        }
        (s, c) => Err(format!("server: {:?} / client: {:?}", s.err(), c.err())),
    }
}

fn resumed(r: &Result<(HandshakeKind, HandshakeKind), String>) -> bool {
    matches!(r, Ok((HandshakeKind::Resumed, _)))
}

fn full(r: &Result<(HandshakeKind, HandshakeKind), String>) -> bool {
    matches!(r, Ok((HandshakeKind::Full, _)))
}

/// A client config of `id` whose ticket store never forgets (rustls's default in-memory cache):
/// what a client that is not a phimesh sidecar does.
fn forgetful_never(id: &Identity) -> Arc<rustls::ClientConfig> {
    let mut c = (*id.client_config(vec![])).clone();
    c.resumption = rustls::client::Resumption::in_memory_sessions(64);
    Arc::new(c)
}

fn static_identity(pki: &TestPki, id: &str, ttl: Option<Duration>) -> Identity {
    let leaf = pki.leaf(&id.parse::<SpiffeId>().unwrap(), ttl);
    Identity::from_static(
        &leaf.chain_pem,
        &leaf.key_pem,
        &pki.bundle_pem(),
        pki.trust_domain(),
        None,
    )
    .unwrap()
}

#[tokio::test]
async fn sessions_resume_until_either_side_renews() {
    let pki = TestPki::new("cluster.local");
    let web = pki.identity(WEB);
    let db = pki.identity(DB);
    let server = db.server_config(vec![], true);
    let client = web.client_config(vec![]);
    assert!(full(&exchange(server.clone(), client.clone()).await));
    // The mechanism is on: the next handshakes are resumptions, and each one hands out new tickets.
    for _ in 0..3 {
        assert!(resumed(&exchange(server.clone(), client.clone()).await));
    }

    // The server renews: the same configs, no resumption across it, even for a client that
    // keeps every ticket.
    let keeper = forgetful_never(&web);
    assert!(full(&exchange(server.clone(), keeper.clone()).await));
    assert!(resumed(&exchange(server.clone(), keeper.clone()).await));
    let g = db.generation();
    let leaf = pki.leaf(&DB.parse().unwrap(), None);
    db.install_pem(&leaf.chain_pem, &leaf.key_pem, &pki.bundle_pem())
        .unwrap();
    assert!(db.generation() > g);
    assert!(full(&exchange(server.clone(), keeper.clone()).await));
    assert!(full(&exchange(server.clone(), client.clone()).await));
    assert!(resumed(&exchange(server.clone(), client.clone()).await));

    // The client renews: it offers no ticket from before (its own store forgets).
    let leaf = pki.leaf(&WEB.parse().unwrap(), None);
    web.install_pem(&leaf.chain_pem, &leaf.key_pem, &pki.bundle_pem())
        .unwrap();
    assert!(full(&exchange(server.clone(), client.clone()).await));
    assert!(resumed(&exchange(server, client).await));
}

#[tokio::test]
async fn no_session_is_resumed_across_a_trust_bundle_change() {
    let old = TestPki::new("cluster.local");
    let new = TestPki::new("cluster.local");
    let web = old.identity(WEB);
    let db = old.identity(DB);
    let server = db.server_config(vec![], true);
    let client = web.client_config(vec![]);
    let keeper = forgetful_never(&web);
    assert!(full(&exchange(server.clone(), client.clone()).await));
    assert!(full(&exchange(server.clone(), keeper.clone()).await));

    // The new root joins both bundles (the first step of a rotation): sessions made under the
    // old bundle are dropped on both sides.
    let both = format!("{}{}", old.bundle_pem(), new.bundle_pem());
    for (id, who) in [(&db, DB), (&web, WEB)] {
        let leaf = old.leaf(&who.parse().unwrap(), None);
        id.install_pem(&leaf.chain_pem, &leaf.key_pem, &both)
            .unwrap();
    }
    assert!(full(&exchange(server.clone(), keeper.clone()).await));
    assert!(full(&exchange(server.clone(), client.clone()).await));
    assert!(resumed(&exchange(server.clone(), client.clone()).await));

    // The old root leaves db's bundle while web still holds an old-root certificate and a
    // ticket from before: db resumes nothing and refuses web's certificate.
    let leaf = new.leaf(&DB.parse().unwrap(), None);
    db.install_pem(&leaf.chain_pem, &leaf.key_pem, &new.bundle_pem())
        .unwrap();
    let r = exchange(server.clone(), keeper.clone()).await;
    assert!(r.is_err(), "an old-root client after the root left: {r:?}");
    let r = exchange(server, client).await;
    assert!(r.is_err(), "{r:?}");
}

#[tokio::test]
async fn a_session_dies_with_the_client_certificate_that_authenticated_it() {
    let pki = TestPki::new("cluster.local");
    let db = pki.identity(DB);
    let server = db.server_config(vec![], true);
    // web's certificate lives 2 s; its client keeps every ticket.
    let web = static_identity(&pki, WEB, Some(Duration::from_secs(2)));
    let keeper = forgetful_never(&web);
    assert!(full(&exchange(server.clone(), keeper.clone()).await));
    assert!(resumed(&exchange(server.clone(), keeper.clone()).await));
    let _ = exchange(server.clone(), keeper.clone()).await;
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert!(!web.is_ready() && web.check_expired());
    // The client offers its ticket; the server must not resume it, and a full handshake fails
    // (web presents no expired certificate, and db would refuse one).
    let r = exchange(server.clone(), keeper).await;
    assert!(
        r.is_err(),
        "resumed or served after the client certificate expired: {r:?}"
    );
    // And web's own client config offers nothing and cannot authenticate.
    let r = exchange(server, web.client_config(vec![])).await;
    assert!(r.is_err(), "{r:?}");
}

#[tokio::test]
async fn a_server_with_an_expired_certificate_serves_nothing_not_even_a_resumption() {
    let pki = TestPki::new("cluster.local");
    let web = pki.identity(WEB);
    let db = static_identity(&pki, DB, Some(Duration::from_secs(2)));
    let server = db.server_config(vec![], true);
    let keeper = forgetful_never(&web);
    assert!(full(&exchange(server.clone(), keeper.clone()).await));
    assert!(resumed(&exchange(server.clone(), keeper.clone()).await));
    let _ = exchange(server.clone(), keeper.clone()).await;
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let text = {
        let r = prometheus::Registry::new();
        db.register_metrics(&r).unwrap();
        assert!(db.check_expired());
        use prometheus::Encoder;
        let mut out = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&r.gather(), &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    };
    assert!(text.contains("phimesh_identity_expired 1"), "{text}");
    let r = exchange(server.clone(), keeper).await;
    assert!(r.is_err(), "{r:?}");
    let r = exchange(server, web.client_config(vec![])).await;
    assert!(r.is_err(), "{r:?}");

    // A new certificate: served again, the gauge back at 0.
    let leaf = pki.leaf(&DB.parse().unwrap(), None);
    db.install_pem(&leaf.chain_pem, &leaf.key_pem, &pki.bundle_pem())
        .unwrap();
    assert!(!db.check_expired());
    assert_eq!(db.expired_gauge().get(), 0);
    assert!(full(
        &exchange(db.server_config(vec![], true), web.client_config(vec![])).await
    ));
}
