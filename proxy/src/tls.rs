//! Mesh mTLS: origination towards a peer's inbound listener and termination of a peer's
//! connection, with ALPN saying what is carried (`h2`, `http/1.1`, or [`ALPN_TCP`] for opaque TCP)
//! and the peer's SPIFFE ID read after the handshake. Certificates and roots come from
//! `phimesh_identity::Identity`, which swaps them without touching open connections.
//!
//! Fail closed on expiry: once this sidecar's certificate has expired it neither originates nor
//! terminates mesh mTLS ([`TlsError::IdentityExpired`], counted by the caller in
//! `phimesh_tls_handshakes_refused_total{direction,reason="identity_expired"}`), and a peer
//! presenting an expired certificate fails verification. TLS 1.3 resumption, which checks no
//! certificate, is bounded by the identity's session stores: a session never outlives either
//! certificate that authenticated it (nor an hour), nor a renewal or a trust bundle change.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use phimesh_identity::identity::{peer_identity, Identity, PeerIdentityError, SpiffeId};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::sniff::Version;

/// ALPN of HTTP/2 inside mesh mTLS.
pub const ALPN_H2: &[u8] = b"h2";
/// ALPN of HTTP/1.1 inside mesh mTLS.
pub const ALPN_HTTP1: &[u8] = b"http/1.1";
/// ALPN of opaque TCP (including app TLS) inside mesh mTLS.
pub const ALPN_TCP: &[u8] = b"phimesh-tcp/1";

/// What a mesh connection carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Carried {
    /// HTTP/1.1 or HTTP/2.
    Http(Version),
    /// Opaque TCP.
    Tcp,
}

impl Carried {
    fn alpn(self) -> &'static [u8] {
        match self {
            Carried::Http(Version::H2) => ALPN_H2,
            Carried::Http(Version::Http1) => ALPN_HTTP1,
            Carried::Tcp => ALPN_TCP,
        }
    }

    fn from_alpn(a: Option<&[u8]>) -> Option<Carried> {
        match a? {
            x if x == ALPN_H2 => Some(Carried::Http(Version::H2)),
            x if x == ALPN_HTTP1 => Some(Carried::Http(Version::Http1)),
            x if x == ALPN_TCP => Some(Carried::Tcp),
            _ => None,
        }
    }
}

/// Why a mesh handshake failed. No payload bytes.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The handshake did not finish in time.
    #[error("TLS handshake timed out")]
    Timeout,
    /// The handshake failed (bad certificate, identity not allowed, protocol error).
    #[error("TLS handshake failed: {0}")]
    Handshake(#[source] io::Error),
    /// The TCP connection to the peer failed.
    #[error("connect to peer failed: {0}")]
    Connect(#[source] io::Error),
    /// This sidecar's certificate has expired: no mesh connection is made or served until a
    /// new one is installed.
    #[error("workload certificate expired: mesh mTLS refused")]
    IdentityExpired,
    /// The peer presented a valid certificate of the trust domain, but not for the identity
    /// mesh discovery lists for its address (refused inside the handshake).
    #[error("peer identity {presented} is not the expected {expected}")]
    PeerIdentityMismatch {
        /// The identity discovery lists.
        expected: String,
        /// The identity the peer's certificate carries.
        presented: String,
    },
}

impl TlsError {
    /// The `reason` label of `phimesh_tls_handshakes_refused_total` when this error is a
    /// refusal made before any handshake.
    pub fn refusal_reason(&self) -> Option<&'static str> {
        match self {
            TlsError::IdentityExpired => Some("identity_expired"),
            TlsError::PeerIdentityMismatch { .. } => Some("peer_identity_mismatch"),
            _ => None,
        }
    }
}

/// Most client configs kept for expected peer identities (one per identity and carried
/// protocol); past it the cache starts again.
const MAX_EXPECTING: usize = 4096;

type Expecting = HashMap<(SpiffeId, Carried), Arc<rustls::ClientConfig>>;

/// The sidecar's TLS side: one client config per carried protocol, one server config, and a
/// client config per expected peer identity (mesh discovery), each with its own session store.
#[derive(Clone)]
pub struct Tls {
    identity: Identity,
    clients: [Arc<rustls::ClientConfig>; 3],
    server: Arc<rustls::ServerConfig>,
    expecting: Arc<Mutex<Expecting>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tls({})", self.identity.spiffe_id())
    }
}

/// The identity a server presented when our verifier refused it for not being the expected
/// one (`PeerIdentityError::NotAllowed` inside the rustls error).
fn presented_instead(e: &io::Error) -> Option<String> {
    let rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) =
        e.get_ref()?.downcast_ref::<rustls::Error>()?
    else {
        return None;
    };
    match other.0.downcast_ref::<PeerIdentityError>()? {
        PeerIdentityError::NotAllowed(id) => Some(id.clone()),
        _ => None,
    }
}

/// Whether the handshake of `conn` resumed a TLS session.
pub fn resumed(conn: &rustls::CommonState) -> bool {
    conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
}

/// A terminated inbound mTLS connection.
pub type ServerStream<IO> = tokio_rustls::server::TlsStream<IO>;
/// An originated outbound mTLS connection.
pub type ClientStream = tokio_rustls::client::TlsStream<TcpStream>;

impl Tls {
    /// Configs from `identity`. `require_client_cert`: strict inbound mTLS.
    pub fn new(identity: Identity, require_client_cert: bool) -> Tls {
        let client = |c: Carried| identity.client_config(vec![c.alpn().to_vec()]);
        let clients = [
            client(Carried::Http(Version::H2)),
            client(Carried::Http(Version::Http1)),
            client(Carried::Tcp),
        ];
        let server = identity.server_config(
            vec![ALPN_H2.to_vec(), ALPN_HTTP1.to_vec(), ALPN_TCP.to_vec()],
            require_client_cert,
        );
        Tls {
            identity,
            clients,
            server,
            expecting: Arc::default(),
        }
    }

    /// The identity behind these configs.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    fn client_expecting(&self, expected: &SpiffeId, carried: Carried) -> Arc<rustls::ClientConfig> {
        let key = (expected.clone(), carried);
        let mut cache = self
            .expecting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = cache.get(&key) {
            return c.clone();
        }
        if cache.len() >= MAX_EXPECTING {
            cache.clear();
        }
        let c = self
            .identity
            .client_config_expecting(vec![carried.alpn().to_vec()], Some(vec![expected.clone()]));
        cache.insert(key, c.clone());
        c
    }

    /// Connects to a peer's inbound listener and originates mTLS carrying `carried`. With
    /// `expected`, the peer must present exactly that SPIFFE ID (else
    /// [`TlsError::PeerIdentityMismatch`]); without, any identity of the trust domain.
    /// Returns the stream and the peer's verified SPIFFE ID.
    pub async fn connect(
        &self,
        peer: SocketAddr,
        carried: Carried,
        timeout: Duration,
        expected: Option<&SpiffeId>,
    ) -> Result<(ClientStream, Option<String>), TlsError> {
        if self.identity.check_expired() {
            return Err(TlsError::IdentityExpired);
        }
        let cfg = match (expected, carried) {
            (Some(e), c) => self.client_expecting(e, c),
            (None, Carried::Http(Version::H2)) => self.clients[0].clone(),
            (None, Carried::Http(Version::Http1)) => self.clients[1].clone(),
            (None, Carried::Tcp) => self.clients[2].clone(),
        };
        let connector = tokio_rustls::TlsConnector::from(cfg);
        let name = ServerName::IpAddress(peer.ip().into());
        let fut = async {
            let tcp = TcpStream::connect(peer).await.map_err(TlsError::Connect)?;
            let _ = tcp.set_nodelay(true);
            connector.connect(name, tcp).await.map_err(|e| {
                match (expected, presented_instead(&e)) {
                    (Some(expected), Some(presented)) => TlsError::PeerIdentityMismatch {
                        expected: expected.to_string(),
                        presented,
                    },
                    _ => TlsError::Handshake(e),
                }
            })
        };
        let s = tokio::time::timeout(timeout, fut)
            .await
            .map_err(|_| TlsError::Timeout)??;
        let id = peer_identity(s.get_ref().1).map(|i| i.to_string());
        Ok((s, id))
    }

    /// Terminates an inbound TLS connection. Returns the stream, the client's verified SPIFFE
    /// ID (`None`: no certificate, permissive mode) and what ALPN says it carries.
    pub async fn accept<IO>(
        &self,
        io: IO,
        timeout: Duration,
    ) -> Result<(ServerStream<IO>, Option<String>, Option<Carried>), TlsError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        if self.identity.check_expired() {
            return Err(TlsError::IdentityExpired);
        }
        let acceptor = tokio_rustls::TlsAcceptor::from(self.server.clone());
        let s = tokio::time::timeout(timeout, acceptor.accept(io))
            .await
            .map_err(|_| TlsError::Timeout)?
            .map_err(TlsError::Handshake)?;
        let conn = s.get_ref().1;
        let id = peer_identity(conn).map(|i| i.to_string());
        let carried = Carried::from_alpn(conn.alpn_protocol());
        Ok((s, id, carried))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phimesh_identity::testing::TestPki;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn mtls_pair_sees_each_others_identity_and_alpn() {
        let pki = TestPki::new("cluster.local");
        let a = Tls::new(pki.identity("spiffe://cluster.local/ns/a/sa/web"), true);
        let b = Tls::new(pki.identity("spiffe://cluster.local/ns/b/sa/db"), true);
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let srv = tokio::spawn(async move {
            let (s, _) = l.accept().await.unwrap();
            let (mut s, id, carried) = b.accept(s, Duration::from_secs(5)).await.unwrap();
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(b"pong").await.unwrap();
            s.shutdown().await.unwrap();
            (id, carried)
        });
        let (mut c, id) = a
            .connect(addr, Carried::Tcp, Duration::from_secs(5), None)
            .await
            .unwrap();
        assert_eq!(id.as_deref(), Some("spiffe://cluster.local/ns/b/sa/db"));
        c.write_all(b"ping").await.unwrap();
        let mut s = String::new();
        c.read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "pong");
        let (id, carried) = srv.await.unwrap();
        assert_eq!(id.as_deref(), Some("spiffe://cluster.local/ns/a/sa/web"));
        assert_eq!(carried, Some(Carried::Tcp));
    }

    #[tokio::test]
    async fn other_trust_domain_is_refused() {
        let pki = TestPki::new("cluster.local");
        let other = TestPki::new("evil.local");
        let b = Tls::new(pki.identity("spiffe://cluster.local/ns/b/sa/db"), true);
        let a = Tls::new(other.identity("spiffe://evil.local/ns/a/sa/x"), true);
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let srv = tokio::spawn(async move {
            let (s, _) = l.accept().await.unwrap();
            b.accept(s, Duration::from_secs(5)).await.is_err()
        });
        let r = a
            .connect(
                addr,
                Carried::Http(Version::Http1),
                Duration::from_secs(5),
                None,
            )
            .await;
        assert!(r.is_err());
        assert!(srv.await.unwrap());
    }
}
