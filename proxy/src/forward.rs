//! The upstream side: plain TCP to an egress destination or the local app, mTLS to a mesh peer's
//! inbound listener, and the pooled hyper clients (HTTP/1.1 and HTTP/2) built on them.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use http_body_util::combinators::UnsyncBoxBody;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use phimesh_identity::spiffe::SpiffeId;

use crate::config::ProxyConfig;
use crate::discovery::{Lookup, MeshMap};
use crate::io::Resettable;
use crate::metrics::Metrics;
use crate::sniff::Version;
use crate::tls::{Carried, ClientStream, Tls, TlsError};

/// Body type sent upstream.
pub type ReqBody = UnsyncBoxBody<Bytes, crate::inspect::InspectError>;

/// An upstream connection.
#[derive(Debug)]
pub enum UpstreamIo {
    /// Plain TCP.
    Plain(TcpStream),
    /// Mesh mTLS.
    Tls(Box<ClientStream>),
}

impl Resettable for UpstreamIo {
    fn set_reset_on_close(&self) {
        match self {
            UpstreamIo::Plain(s) => s.set_reset_on_close(),
            UpstreamIo::Tls(s) => s.set_reset_on_close(),
        }
    }
}

impl AsyncRead for UpstreamIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpstreamIo::Plain(s) => Pin::new(s).poll_read(cx, buf),
            UpstreamIo::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for UpstreamIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            UpstreamIo::Plain(s) => Pin::new(s).poll_write(cx, b),
            UpstreamIo::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, b),
        }
    }
    // Vectored: an HTTP/2 DATA frame goes out with its frame head in one write (h2 otherwise
    // writes the head and the payload separately, a TLS record and a syscall each), and an
    // HTTP/1.1 head with its body.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            UpstreamIo::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            UpstreamIo::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }
    fn is_write_vectored(&self) -> bool {
        match self {
            UpstreamIo::Plain(s) => s.is_write_vectored(),
            UpstreamIo::Tls(s) => s.is_write_vectored(),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpstreamIo::Plain(s) => Pin::new(s).poll_flush(cx),
            UpstreamIo::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpstreamIo::Plain(s) => Pin::new(s).poll_shutdown(cx),
            UpstreamIo::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl Connection for UpstreamIo {
    fn connected(&self) -> Connected {
        match self {
            UpstreamIo::Tls(s) if s.get_ref().1.alpn_protocol() == Some(crate::tls::ALPN_H2) => {
                Connected::new().negotiated_h2()
            }
            _ => Connected::new(),
        }
    }
}

/// The verified SPIFFE ID of the mesh peer at the other end of a pooled upstream connection.
/// The connector attaches it to the connection's [`Connected`] info, so that every request sent
/// over that connection (new or reused from the pool) can name its peer in the audit line: read
/// it with [`hyper_util::client::legacy::connect::capture_connection`] and
/// [`Connected::get_extras`] (see [`peer_identity_of`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity(pub String);

/// The peer identity of a captured pooled connection, if it was mesh mTLS.
pub fn peer_identity_of(c: &Connected) -> Option<String> {
    let mut ext = http::Extensions::new();
    c.get_extras(&mut ext);
    ext.remove::<PeerIdentity>().map(|p| p.0)
}

/// A pooled upstream connection: the stream plus the peer identity it was verified with.
#[derive(Debug)]
pub struct PooledIo {
    io: UpstreamIo,
    peer: Option<String>,
}

impl AsyncRead for PooledIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for PooledIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, b)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

impl Connection for PooledIo {
    fn connected(&self) -> Connected {
        let c = self.io.connected();
        match &self.peer {
            Some(id) => c.extra(PeerIdentity(id.clone())),
            None => c,
        }
    }
}

/// Errors connecting upstream. No payload bytes.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// Plain TCP connect failed or timed out.
    #[error("connect to upstream failed: {0}")]
    Connect(#[source] io::Error),
    /// Mesh mTLS failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A mesh destination but no identity (validated away at start).
    #[error("mesh destination without an identity")]
    NoIdentity,
    /// The request URI has no usable authority.
    #[error("upstream address missing")]
    NoAddress,
}

/// How an upstream connection is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    /// mTLS to a mesh peer's inbound listener; the peer must present the identity mesh
    /// discovery lists for the address, when it lists one.
    Mesh,
    /// Plain TCP (egress, or the local app inbound).
    Plain,
}

/// Where an outbound destination goes ([`Dialer::route`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A mesh peer; `Some` when discovery lists the identity it must present.
    Mesh(Option<SpiffeId>),
    /// Egress: not a mesh peer.
    Egress,
}

/// Dials upstreams: mTLS to mesh peers, plain TCP otherwise. Cheap to clone (one reference
/// count): the pooled HTTP clients clone their connector, and with it the dialer, for every
/// request.
#[derive(Clone)]
pub struct Dialer(Arc<DialerState>);

/// What a [`Dialer`] shares between its clones.
pub struct DialerState {
    cfg: Arc<ProxyConfig>,
    tls: Option<Tls>,
    metrics: Metrics,
    mesh: MeshMap,
}

impl std::ops::Deref for Dialer {
    type Target = DialerState;
    fn deref(&self) -> &DialerState {
        &self.0
    }
}

impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dialer")
    }
}

impl Dialer {
    /// A dialer for this proxy; `mesh` is the discovery map (never filled without discovery:
    /// then `--mesh-networks` alone decides).
    pub fn new(cfg: Arc<ProxyConfig>, tls: Option<Tls>, metrics: Metrics, mesh: MeshMap) -> Self {
        Dialer(Arc::new(DialerState {
            cfg,
            tls,
            metrics,
            mesh,
        }))
    }

    /// The discovery map.
    pub fn mesh(&self) -> &MeshMap {
        &self.mesh
    }

    /// Where outbound destination `dst` goes: outside `--mesh-networks`, egress; inside, what
    /// discovery says (a listed address is a peer that must present its listed identity, an
    /// unlisted one is egress, also while the list is stale), or, before discovery's first
    /// list, a peer of any identity.
    pub fn route(&self, dst: SocketAddr) -> Route {
        if !self.cfg.is_mesh(dst) {
            return Route::Egress;
        }
        match self.mesh.lookup(dst.ip()) {
            Lookup::Meshed(id) => Route::Mesh(Some(id)),
            Lookup::NotMeshed => Route::Egress,
            Lookup::Unknown => Route::Mesh(None),
        }
    }

    /// Where mTLS to mesh destination `dst` goes: `--peer`, else in transparent mode `dst`
    /// itself (the peer's iptables redirect it to its inbound listener, keeping the original
    /// port), else `dst`'s IP on port 15006.
    pub fn peer_inbound(&self, dst: SocketAddr) -> SocketAddr {
        if let Some(p) = self.cfg.peers.get(&dst) {
            return *p;
        }
        if self.cfg.transparent.is_some() {
            return dst;
        }
        self.cfg.peer_inbound(dst)
    }

    /// Connects to `dst`: mTLS carrying `carried` for [`Upstream::Mesh`] (the peer held to the
    /// identity discovery lists for `dst` now, if any), plain TCP otherwise. Returns the stream
    /// and the peer's SPIFFE ID.
    pub async fn dial(
        &self,
        dst: SocketAddr,
        carried: Carried,
        upstream: Upstream,
    ) -> Result<(UpstreamIo, Option<String>), ForwardError> {
        let timeout = self.cfg.bounds.handshake_timeout;
        if upstream == Upstream::Mesh {
            let tls = self.tls.as_ref().ok_or(ForwardError::NoIdentity)?;
            let expected = match self.mesh.lookup(dst.ip()) {
                Lookup::Meshed(id) => Some(id),
                _ => None,
            };
            let r = tls
                .connect(self.peer_inbound(dst), carried, timeout, expected.as_ref())
                .await;
            if let Err(TlsError::PeerIdentityMismatch {
                expected,
                presented,
            }) = &r
            {
                self.cfg.audit.emit_value(&MismatchEvent {
                    time: crate::audit::now_rfc3339(),
                    event: "peer_identity_mismatch",
                    direction: "outbound",
                    destination: dst,
                    expected_identity: expected,
                    peer_identity: presented,
                    action: "reset",
                });
                tracing::warn!(destination = %dst, expected = %expected, presented = %presented, "mesh peer refused: not the identity discovery lists for its address");
            }
            if let Some(reason) = r.as_ref().err().and_then(TlsError::refusal_reason) {
                self.metrics
                    .tls_refused
                    .with_label_values(&["outbound", reason])
                    .inc();
            }
            let result = if r.is_ok() { "ok" } else { "error" };
            self.metrics
                .tls_handshakes
                .with_label_values(&["outbound", result])
                .inc();
            if r.as_ref()
                .is_ok_and(|(s, _)| crate::tls::resumed(s.get_ref().1))
            {
                self.metrics
                    .tls_resumptions
                    .with_label_values(&["outbound"])
                    .inc();
            }
            let (s, id) = r?;
            return Ok((UpstreamIo::Tls(Box::new(s)), id));
        }
        let s = tokio::time::timeout(timeout, TcpStream::connect(dst))
            .await
            .map_err(|_| ForwardError::Connect(io::ErrorKind::TimedOut.into()))?
            .map_err(ForwardError::Connect)?;
        let _ = s.set_nodelay(true);
        Ok((UpstreamIo::Plain(s), None))
    }
}

/// The audit line of a mesh peer refused for its identity.
#[derive(serde::Serialize)]
struct MismatchEvent<'a> {
    time: String,
    event: &'static str,
    direction: &'static str,
    destination: SocketAddr,
    expected_identity: &'a str,
    peer_identity: &'a str,
    action: &'static str,
}

/// hyper-util connector: the request URI's authority is the destination address, unless the
/// connector is bound to one destination ([`h2_client_to`]).
#[derive(Clone, Debug)]
pub struct Connector {
    dialer: Dialer,
    carried: Carried,
    upstream: Upstream,
    fixed: Option<SocketAddr>,
}

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<PooledIo>;
    type Error = ForwardError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, ForwardError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ForwardError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let me = self.clone();
        Box::pin(async move {
            let addr: SocketAddr = match me.fixed {
                Some(a) => a,
                None => uri
                    .authority()
                    .and_then(|a| a.as_str().parse().ok())
                    .ok_or(ForwardError::NoAddress)?,
            };
            let (io, peer) = me.dialer.dial(addr, me.carried, me.upstream).await?;
            Ok(TokioIo::new(PooledIo { io, peer }))
        })
    }
}

/// A pooled upstream HTTP client.
pub type HttpClient = Client<Connector, ReqBody>;

/// The pooled clients: outbound HTTP/1.1 to mesh peers ([`Clients::mesh_h1`]) and egress, and
/// inbound to the app (HTTP/1.1). HTTP/2, both ways, has a client per downstream connection
/// ([`h2_client_to`]).
#[derive(Clone, Debug)]
pub struct Clients {
    mesh_h1: Arc<std::sync::RwLock<(u64, HttpClient)>>,
    dialer: Dialer,
    max_header_bytes: usize,
    /// Outbound HTTP/1.1 egress (plain).
    pub egress_h1: HttpClient,
    /// Inbound HTTP/1.1 (to the app, plain).
    pub in_h1: HttpClient,
}

/// How long a pooled upstream connection may sit idle: well under `header_timeout`, the time a
/// phimesh server side (the peer's inbound listener) waits for the next request on a
/// keep-alive connection before closing it, so that a request is not sent down a connection the
/// peer is closing at that moment. Also under the 5 s keep-alive of common app servers.
fn pool_idle(header_timeout: Duration) -> Duration {
    (header_timeout * 2 / 5).clamp(Duration::from_secs(1), Duration::from_secs(90))
}

fn client(
    dialer: &Dialer,
    max_header_bytes: usize,
    carried: Carried,
    upstream: Upstream,
    fixed: Option<SocketAddr>,
) -> HttpClient {
    let mut b = Client::builder(TokioExecutor::new());
    b.pool_idle_timeout(pool_idle(dialer.cfg.bounds.header_timeout))
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new());
    if carried == Carried::Http(Version::H2) {
        b.http2_only(true)
            .http2_max_header_list_size(max_header_bytes as u32)
            .http2_initial_stream_window_size(1 << 20)
            // As the h2 server side (`http.rs`): large frames, fewer scanner calls.
            .http2_max_frame_size(1 << 18)
            .http2_initial_connection_window_size(4 << 20);
    } else {
        b.http1_max_buf_size(max_header_bytes.max(8192) * 2);
    }
    b.build(Connector {
        dialer: dialer.clone(),
        carried,
        upstream,
        fixed,
    })
}

/// An HTTP/2 client whose connections all go to `dst`, whatever a request's authority says, so
/// that the app's `:authority` is forwarded unchanged (one per downstream connection:
/// [`crate::context::ConnCtx::h2_client`]).
pub fn h2_client_to(dialer: &Dialer, dst: SocketAddr, upstream: Upstream) -> HttpClient {
    let max_header_bytes = dialer.cfg.bounds.max_header_bytes;
    client(
        dialer,
        max_header_bytes,
        Carried::Http(Version::H2),
        upstream,
        Some(dst),
    )
}

impl Clients {
    /// Builds the clients.
    pub fn new(dialer: Dialer, max_header_bytes: usize) -> Clients {
        let build = |carried, upstream| client(&dialer, max_header_bytes, carried, upstream, None);
        Clients {
            mesh_h1: Arc::new(std::sync::RwLock::new((
                dialer.mesh.generation(),
                build(Carried::Http(Version::Http1), Upstream::Mesh),
            ))),
            egress_h1: build(Carried::Http(Version::Http1), Upstream::Plain),
            in_h1: build(Carried::Http(Version::Http1), Upstream::Plain),
            dialer: dialer.clone(),
            max_header_bytes,
        }
    }

    /// The pooled outbound HTTP/1.1 client to mesh peers (mTLS). Its pooled connections were
    /// verified against the identities discovery listed when they were made, so the pool is
    /// replaced (idle connections closed, requests in flight unaffected) whenever a listed
    /// identity changed or went, or the first list came after the fallback
    /// ([`MeshMap::generation`]): a new request never rides a connection to an identity the
    /// list no longer names for its address.
    pub fn mesh_h1(&self) -> HttpClient {
        let generation = self.dialer.mesh.generation();
        if let Ok(c) = self.mesh_h1.read() {
            if c.0 == generation {
                return c.1.clone();
            }
        }
        let fresh = client(
            &self.dialer,
            self.max_header_bytes,
            Carried::Http(Version::Http1),
            Upstream::Mesh,
            None,
        );
        if let Ok(mut c) = self.mesh_h1.write() {
            *c = (generation, fresh.clone());
        }
        fresh
    }
}
