//! TLS 1.3 session stores that forget: a resumed session skips certificate verification, so a
//! session may live no longer than what authenticated it.
//!
//! Every stored session (a server-side ticket entry, a client-side ticket) carries an expiry: the
//! earliest of
//!
//! * [`MAX_SESSION_LIFE`] after it was stored,
//! * the `notAfter` of this side's current certificate,
//! * the earliest `notAfter` of the peer's chain that authenticated the session (server side: the
//!   client chain rustls keeps in the session; client side: the server chain the verifier
//!   accepted for that server name).
//!
//! and both stores belong to one *generation* of the identity: installing a certificate or a
//! changed trust bundle starts a new generation, and everything stored under an older one is
//! dropped at the next access. A root that leaves the bundle, a renewal, an expiry: no session
//! made before survives it. Stores hold no more than a fixed number of entries.
//!
//! rustls (0.23) announces a 24 h lifetime for stateful TLS 1.3 tickets and never re-checks it
//! on the server, nor does it re-verify the client certificate of a resumed session: the only
//! thing that stops a resumption is the server's storage not returning the session. That is what
//! [`ServerSessions`] does once the session's expiry has passed or its generation is over, and
//! what it does for any session whose client chain it cannot read (no ticket at all: fail
//! closed). [`ClientSessions`] does the same for the tickets a client offers.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use rustls::client::ClientSessionStore;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::server::StoresServerSessions;
use rustls::NamedGroup;

use super::IdentityState;
use crate::pki;

/// Longest a stored session may be resumed after it was stored, whatever the certificates say.
pub const MAX_SESSION_LIFE: Duration = Duration::from_secs(3600);
/// Most sessions a server keeps (rustls sends two tickets per handshake).
pub const SERVER_SESSIONS: usize = 1024;
/// Most servers a client keeps tickets for.
pub const CLIENT_SERVERS: usize = 256;
/// Most tickets a client keeps per server.
pub const CLIENT_TICKETS_PER_SERVER: usize = 8;

/// The generation and this side's `notAfter`, or `None` when there is no usable certificate
/// (no session may be stored or resumed then).
fn current(shared: &Weak<IdentityState>, now: i64) -> Option<(u64, i64)> {
    let shared = shared.upgrade()?;
    let not_after = shared.not_after.load(std::sync::atomic::Ordering::Acquire);
    (not_after > now).then(|| (shared.generation(), not_after))
}

/// The earliest `notAfter` of `chain`, `None` if one cannot be read.
pub(crate) fn chain_not_after(chain: &[CertificateDer<'_>]) -> Option<i64> {
    let mut earliest: Option<i64> = None;
    for c in chain {
        let t = pki::cert_info(c).ok()?.not_after;
        earliest = Some(earliest.map_or(t, |e| e.min(t)));
    }
    earliest
}

fn expiry(now: i64, own: i64, peer: Option<i64>) -> i64 {
    let cap = now + MAX_SESSION_LIFE.as_secs() as i64;
    peer.map_or(cap.min(own), |p| cap.min(own).min(p))
}

/// Reads the client certificate chain out of rustls's encoding of a server-side session
/// (`ServerSessionValue`, rustls 0.23): `Ok(None)` when the client sent no certificate, `Err`
/// when the bytes are not laid out as expected (then the session is not stored: fail closed).
/// The layout is checked to the last byte, so a change in rustls shows up as `Err`, never as a
/// wrong chain; `sessions_tests` runs a real handshake to pin it.
pub(crate) fn session_client_chain(
    value: &[u8],
) -> Result<Option<Vec<CertificateDer<'static>>>, ()> {
    struct R<'a>(&'a [u8]);
    impl<'a> R<'a> {
        fn take(&mut self, n: usize) -> Result<&'a [u8], ()> {
            if self.0.len() < n {
                return Err(());
            }
            let (a, b) = self.0.split_at(n);
            self.0 = b;
            Ok(a)
        }
        fn u8(&mut self) -> Result<u8, ()> {
            Ok(self.take(1)?[0])
        }
        fn flag(&mut self) -> Result<bool, ()> {
            match self.u8()? {
                0 => Ok(false),
                1 => Ok(true),
                _ => Err(()),
            }
        }
        fn u16(&mut self) -> Result<usize, ()> {
            let b = self.take(2)?;
            Ok(usize::from(b[0]) << 8 | usize::from(b[1]))
        }
        fn u24(&mut self) -> Result<usize, ()> {
            let b = self.take(3)?;
            Ok(usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
        }
        fn vec_u8(&mut self) -> Result<&'a [u8], ()> {
            let n = usize::from(self.u8()?);
            self.take(n)
        }
    }
    let mut r = R(value);
    if r.flag()? {
        r.vec_u8()?; // SNI
    }
    r.take(2)?; // protocol version
    r.take(2)?; // cipher suite
    r.vec_u8()?; // master secret
    r.flag()?; // extended master secret
    let chain = if r.flag()? {
        let len = r.u24()?;
        let mut list = R(r.take(len)?);
        let mut certs = Vec::new();
        while !list.0.is_empty() {
            let n = list.u24()?;
            certs.push(CertificateDer::from(list.take(n)?.to_vec()));
        }
        if certs.is_empty() {
            return Err(());
        }
        Some(certs)
    } else {
        None
    };
    if r.flag()? {
        r.vec_u8()?; // ALPN
    }
    let n = r.u16()?;
    r.take(n)?; // application data
    r.take(8)?; // creation time
    r.take(4)?; // age obfuscation offset
    if !r.0.is_empty() {
        return Err(());
    }
    Ok(chain)
}

struct ServerState {
    generation: u64,
    /// ticket id → (expiry, rustls's session bytes)
    entries: HashMap<Vec<u8>, (i64, Vec<u8>)>,
    /// insertion order, for eviction (may name entries already taken)
    order: VecDeque<Vec<u8>>,
}

/// Server-side session storage (rustls `session_storage`), see the module docs.
pub(crate) struct ServerSessions {
    shared: Weak<IdentityState>,
    state: Mutex<ServerState>,
}

impl std::fmt::Debug for ServerSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSessions") // never the sessions: they hold secrets
    }
}

impl ServerSessions {
    pub(crate) fn new(shared: Weak<IdentityState>) -> Arc<Self> {
        Arc::new(ServerSessions {
            shared,
            state: Mutex::new(ServerState {
                generation: 0,
                entries: HashMap::new(),
                order: VecDeque::new(),
            }),
        })
    }

    /// The state, emptied if its generation is over.
    fn state(&self, generation: u64) -> Option<std::sync::MutexGuard<'_, ServerState>> {
        let mut s = self.state.lock().ok()?;
        if s.generation != generation {
            s.generation = generation;
            s.entries.clear();
            s.order.clear();
        }
        Some(s)
    }

    fn lookup(&self, key: &[u8], remove: bool) -> Option<Vec<u8>> {
        let now = pki::unix_now();
        let (generation, _) = current(&self.shared, now)?;
        let mut s = self.state(generation)?;
        let expires = s.entries.get(key)?.0;
        if expires <= now {
            s.entries.remove(key);
            return None;
        }
        if remove {
            s.entries.remove(key).map(|(_, v)| v)
        } else {
            s.entries.get(key).map(|(_, v)| v.clone())
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.state.lock().map(|s| s.entries.len()).unwrap_or(0)
    }
}

impl StoresServerSessions for ServerSessions {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let now = pki::unix_now();
        let Some((generation, own)) = current(&self.shared, now) else {
            return false;
        };
        let peer = match session_client_chain(&value) {
            Ok(None) => None,
            Ok(Some(chain)) => match chain_not_after(&chain) {
                Some(t) => Some(t),
                None => return false,
            },
            Err(()) => {
                tracing::debug!("TLS session layout not recognised; no resumption ticket issued");
                return false;
            }
        };
        let expires = expiry(now, own, peer);
        if expires <= now {
            return false;
        }
        let Some(mut s) = self.state(generation) else {
            return false;
        };
        if s.entries.len() >= SERVER_SESSIONS {
            s.entries.retain(|_, (e, _)| *e > now);
        }
        while s.entries.len() >= SERVER_SESSIONS {
            let Some(old) = s.order.pop_front() else {
                break;
            };
            s.entries.remove(&old);
        }
        if s.order.len() > 2 * SERVER_SESSIONS {
            let ServerState { entries, order, .. } = &mut *s;
            order.retain(|k| entries.contains_key(k));
        }
        s.order.push_back(key.clone());
        s.entries.insert(key, (expires, value));
        true
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.lookup(key, false)
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.lookup(key, true)
    }

    fn can_cache(&self) -> bool {
        true
    }
}

struct PeerTickets {
    /// Earliest `notAfter` of the server chains verified for this name (kept while unexpired).
    cert_not_after: Option<i64>,
    tickets: VecDeque<(i64, rustls::client::Tls13ClientSessionValue)>,
}

struct ClientState {
    generation: u64,
    servers: HashMap<ServerName<'static>, PeerTickets>,
    order: VecDeque<ServerName<'static>>,
    kx: HashMap<ServerName<'static>, NamedGroup>,
}

/// Client-side ticket store (rustls `Resumption::store`), see the module docs. The server
/// verifier tells it which chain it accepted for a server name ([`ClientSessions::verified`]);
/// tickets that arrive without such a record are not kept.
pub(crate) struct ClientSessions {
    shared: Weak<IdentityState>,
    state: Mutex<ClientState>,
}

impl std::fmt::Debug for ClientSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSessions") // never the tickets: they hold secrets
    }
}

impl ClientSessions {
    pub(crate) fn new(shared: Weak<IdentityState>) -> Arc<Self> {
        Arc::new(ClientSessions {
            shared,
            state: Mutex::new(ClientState {
                generation: 0,
                servers: HashMap::new(),
                order: VecDeque::new(),
                kx: HashMap::new(),
            }),
        })
    }

    fn state(&self, generation: u64) -> Option<std::sync::MutexGuard<'_, ClientState>> {
        let mut s = self.state.lock().ok()?;
        if s.generation != generation {
            s.generation = generation;
            s.servers.clear();
            s.order.clear();
        }
        Some(s)
    }

    /// The verifier accepted `chain` for `name`: tickets for `name` expire with it at the latest.
    pub(crate) fn verified(&self, name: &ServerName<'_>, chain_not_after: i64) {
        let now = pki::unix_now();
        let Some((generation, _)) = current(&self.shared, now) else {
            return;
        };
        let Some(mut s) = self.state(generation) else {
            return;
        };
        let name = name.to_owned();
        if !s.servers.contains_key(&name) {
            if s.servers.len() >= CLIENT_SERVERS {
                while let Some(old) = s.order.pop_front() {
                    if s.servers.remove(&old).is_some() {
                        break;
                    }
                }
            }
            s.order.push_back(name.clone());
        }
        let e = s.servers.entry(name).or_insert(PeerTickets {
            cert_not_after: None,
            tickets: VecDeque::new(),
        });
        // Two handshakes with one name may have seen two certificates (a renewal in between):
        // the earlier expiry bounds both, until it has passed.
        e.cert_not_after = Some(match e.cert_not_after {
            Some(t) if t > now => t.min(chain_not_after),
            _ => chain_not_after,
        });
    }

    #[cfg(test)]
    pub(crate) fn tickets(&self) -> usize {
        self.state
            .lock()
            .map(|s| s.servers.values().map(|p| p.tickets.len()).sum())
            .unwrap_or(0)
    }
}

impl ClientSessionStore for ClientSessions {
    fn set_kx_hint(&self, name: ServerName<'static>, group: NamedGroup) {
        if let Ok(mut s) = self.state.lock() {
            if s.kx.len() >= CLIENT_SERVERS && !s.kx.contains_key(&name) {
                s.kx.clear();
            }
            s.kx.insert(name, group);
        }
    }

    fn kx_hint(&self, name: &ServerName<'_>) -> Option<NamedGroup> {
        self.state.lock().ok()?.kx.get(&name.to_owned()).copied()
    }

    // Mesh TLS is TLS 1.3 only.
    fn set_tls12_session(
        &self,
        _: ServerName<'static>,
        _: rustls::client::Tls12ClientSessionValue,
    ) {
    }

    fn tls12_session(&self, _: &ServerName<'_>) -> Option<rustls::client::Tls12ClientSessionValue> {
        None
    }

    fn remove_tls12_session(&self, _: &ServerName<'static>) {}

    fn insert_tls13_ticket(
        &self,
        name: ServerName<'static>,
        value: rustls::client::Tls13ClientSessionValue,
    ) {
        let now = pki::unix_now();
        let Some((generation, own)) = current(&self.shared, now) else {
            return;
        };
        let Some(mut s) = self.state(generation) else {
            return;
        };
        let Some(peer) = s.servers.get_mut(&name) else {
            return;
        };
        let Some(cert) = peer.cert_not_after.filter(|t| *t > now) else {
            return;
        };
        let expires = expiry(now, own, Some(cert));
        if peer.tickets.len() >= CLIENT_TICKETS_PER_SERVER {
            peer.tickets.pop_front();
        }
        peer.tickets.push_back((expires, value));
    }

    fn take_tls13_ticket(
        &self,
        name: &ServerName<'static>,
    ) -> Option<rustls::client::Tls13ClientSessionValue> {
        let now = pki::unix_now();
        let (generation, _) = current(&self.shared, now)?;
        let mut s = self.state(generation)?;
        let peer = s.servers.get_mut(name)?;
        while let Some((expires, v)) = peer.tickets.pop_back() {
            if expires > now {
                return Some(v);
            }
        }
        None
    }
}

#[cfg(test)]
mod sessions_tests {
    use super::*;
    use crate::testing::TestPki;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Records what rustls stores, and stores nothing.
    #[derive(Debug, Default)]
    struct Recorder(Mutex<Vec<Vec<u8>>>);

    impl StoresServerSessions for Recorder {
        fn put(&self, _: Vec<u8>, value: Vec<u8>) -> bool {
            self.0.lock().unwrap().push(value);
            false
        }
        fn get(&self, _: &[u8]) -> Option<Vec<u8>> {
            None
        }
        fn take(&self, _: &[u8]) -> Option<Vec<u8>> {
            None
        }
        fn can_cache(&self) -> bool {
            true
        }
    }

    /// A session value laid out as rustls 0.23 does, without a client certificate.
    fn synthetic(n: u8) -> Vec<u8> {
        let mut v = vec![0, 0x03, 0x04, 0x13, 0x01, 32];
        v.extend([n; 32]);
        v.extend([0, 0, 0, 0, 0]); // ems, no chain, no ALPN, empty app data
        v.extend([0; 12]); // creation time, age offset
        v
    }

    #[tokio::test]
    async fn the_client_chain_is_read_from_a_real_rustls_session() {
        let pki = TestPki::new("cluster.local");
        let web = pki.identity("spiffe://cluster.local/ns/a/sa/web");
        let db = pki.identity("spiffe://cluster.local/ns/b/sa/db");
        let recorder = Arc::new(Recorder::default());
        let mut server = (*db.server_config(vec![b"h2".to_vec()], true)).clone();
        server.session_storage = recorder.clone();
        let (a, b) = tokio::io::duplex(64 * 1024);
        let srv = tokio::spawn(async move {
            let mut s = tokio_rustls::TlsAcceptor::from(Arc::new(server))
                .accept(a)
                .await
                .unwrap();
            let mut buf = [0u8; 1];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&buf).await.unwrap();
            s.flush().await.unwrap();
        });
        let mut c = tokio_rustls::TlsConnector::from(web.client_config(vec![b"h2".to_vec()]))
            .connect(ServerName::try_from("db.mesh").unwrap(), b)
            .await
            .unwrap();
        c.write_all(b"x").await.unwrap();
        let mut buf = [0u8; 1];
        c.read_exact(&mut buf).await.unwrap();
        srv.await.unwrap();
        let ours = web
            .shared
            .cert
            .read()
            .unwrap()
            .clone()
            .unwrap()
            .cert
            .clone();
        let values = recorder.0.lock().unwrap().clone();
        assert_eq!(values.len(), 2, "rustls stores two tickets per handshake");
        for v in &values {
            assert_eq!(session_client_chain(v), Ok(Some(ours.clone())));
            // Any truncation or extension is refused, never misread.
            for cut in [1, 7, v.len() / 2, v.len() - 1] {
                assert_eq!(session_client_chain(&v[..cut]), Err(()), "cut at {cut}");
            }
            let mut longer = v.clone();
            longer.push(0);
            assert_eq!(session_client_chain(&longer), Err(()));
        }
        assert_eq!(session_client_chain(&synthetic(1)), Ok(None));
        assert_eq!(session_client_chain(b"garbage"), Err(()));
    }

    #[test]
    fn the_server_store_is_bounded_and_refuses_what_it_cannot_read() {
        let pki = TestPki::new("cluster.local");
        let db = pki.identity("spiffe://cluster.local/ns/b/sa/db");
        let store = ServerSessions::new(Arc::downgrade(&db.shared));
        assert!(!store.put(b"k".to_vec(), b"not a session".to_vec()));
        assert_eq!(store.len(), 0);
        for i in 0..SERVER_SESSIONS + 50 {
            assert!(store.put(i.to_be_bytes().to_vec(), synthetic(i as u8)));
        }
        assert_eq!(store.len(), SERVER_SESSIONS);
        // The oldest went first; the newest are there, once.
        assert!(store.get(&0usize.to_be_bytes()).is_none());
        let last = (SERVER_SESSIONS + 49).to_be_bytes();
        assert!(store.get(&last).is_some());
        assert!(store.take(&last).is_some());
        assert!(store.take(&last).is_none());
        // A new generation empties it.
        let leaf = pki.leaf(db.spiffe_id(), None);
        db.install_pem(&leaf.chain_pem, &leaf.key_pem, &pki.bundle_pem())
            .unwrap();
        let key = (SERVER_SESSIONS + 48).to_be_bytes();
        assert!(store.get(&key).is_none());
        assert!(store.put(key.to_vec(), synthetic(0)));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn the_client_store_keeps_nothing_it_cannot_bound() {
        let pki = TestPki::new("cluster.local");
        let web = pki.identity("spiffe://cluster.local/ns/a/sa/web");
        let store = ClientSessions::new(Arc::downgrade(&web.shared));
        let name = ServerName::try_from("10.0.0.2").unwrap();
        // Too many servers: the oldest record goes.
        for i in 0..CLIENT_SERVERS + 10 {
            let n = ServerName::try_from(format!("10.1.{}.{}", i / 256, i % 256)).unwrap();
            store.verified(&n, pki::unix_now() + 100);
        }
        store.verified(&name, pki::unix_now() + 100);
        let s = store.state.lock().unwrap();
        assert_eq!(s.servers.len(), CLIENT_SERVERS);
        assert!(s.servers.contains_key(&name));
        drop(s);
        assert_eq!(store.tickets(), 0);
        assert!(store.take_tls13_ticket(&name).is_none());
    }
}
