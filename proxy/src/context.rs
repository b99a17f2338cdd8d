//! What every connection task shares ([`Shared`]) and what one connection knows about itself
//! ([`ConnCtx`]). Decisions about PHI, and their metrics and audit lines, are the gate's
//! ([`crate::gate`]).

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use http::uri::Authority;
use phimesh_detect::Engine;

use crate::audit::AuditSink;
use crate::config::ProxyConfig;
use crate::drain::Drain;
use crate::forward::{h2_client_to, Clients, Dialer, HttpClient, Upstream};
use crate::metrics::Metrics;
use crate::policy::{Flow, PathKind, Policy};
use crate::tls::Tls;

/// Shared by every task of one running proxy.
pub struct Shared {
    /// The configuration.
    pub cfg: Arc<ProxyConfig>,
    /// The policy table.
    pub policy: Policy,
    /// The PHI engine; `None` when inspection is off.
    pub engine: Option<Engine>,
    /// Metrics.
    pub metrics: Metrics,
    /// Audit lines.
    pub audit: AuditSink,
    /// Mesh TLS, when there is an identity.
    pub tls: Option<Tls>,
    /// Upstream dialer.
    pub dialer: Dialer,
    /// Pooled HTTP clients.
    pub clients: Clients,
    /// Shutdown signal and open-connection count.
    pub drain: Drain,
    /// Listeners bound (part of `/ready`).
    pub bound: AtomicBool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

/// One downstream connection.
#[derive(Debug, Clone)]
pub struct ConnCtx {
    /// The upstream HTTP/2 client of this connection (see [`ConnCtx::h2_client`]); shared by
    /// the clones of one connection's context, made at its first HTTP/2 request.
    pub upstream_h2: Arc<std::sync::OnceLock<UpstreamH2>>,
    /// Policy path.
    pub path: PathKind,
    /// Downstream client address.
    pub source: SocketAddr,
    /// Upstream destination.
    pub destination: SocketAddr,
    /// `destination` as a URI authority, made once per connection (the authority of its
    /// HTTP/1.1 requests upstream); `None` only if it would not parse.
    pub authority: Option<Authority>,
    /// Verified SPIFFE ID of the mesh peer (the caller inbound; filled per request outbound).
    /// Shared: every request of the connection carries a copy of this context.
    pub peer_identity: Option<Arc<str>>,
}

/// The upstream HTTP/2 client of one downstream connection and the authority it was made for.
#[derive(Debug)]
pub struct UpstreamH2 {
    authority: String,
    client: HttpClient,
}

impl ConnCtx {
    /// The context of a connection from `source` whose upstream is `destination`.
    pub fn new(path: PathKind, source: SocketAddr, destination: SocketAddr) -> ConnCtx {
        ConnCtx {
            upstream_h2: Default::default(),
            path,
            source,
            destination,
            authority: Authority::try_from(destination.to_string()).ok(),
            peer_identity: None,
        }
    }

    /// How this connection's upstream is dialled: mTLS on the mesh outbound path, plain
    /// elsewhere (egress, and the app inbound). Decided once, with the path, when the
    /// connection arrived ([`crate::forward::Dialer::route`]).
    pub fn upstream(&self) -> Upstream {
        if self.path == PathKind::MeshOutbound {
            Upstream::Mesh
        } else {
            Upstream::Plain
        }
    }

    /// The upstream HTTP/2 client of this downstream connection: its connections all go to
    /// `destination` (mTLS to a mesh peer outbound, plain to the app inbound), so a request's
    /// `:authority` is forwarded as the app wrote it, not replaced by the dialled address, and
    /// requests of different downstream connections never share an upstream connection under
    /// an authority they chose. Made at the first HTTP/2 request; dropped with the connection.
    ///
    /// The client's pool is keyed by authority, so each distinct `:authority` would open (and
    /// keep idle for the pool's idle time) another upstream connection: one downstream
    /// connection could make any number of them. The first request's authority is therefore
    /// the connection's; a request naming another gets `None` (answered `421 Misdirected
    /// Request`, after which a client opens a new connection), which keeps one upstream
    /// connection per downstream connection.
    pub fn h2_client(&self, shared: &Shared, authority: &str) -> Option<&HttpClient> {
        let u = self.upstream_h2.get_or_init(|| UpstreamH2 {
            authority: authority.to_owned(),
            client: h2_client_to(&shared.dialer, self.destination, self.upstream()),
        });
        u.authority
            .eq_ignore_ascii_case(authority)
            .then_some(&u.client)
    }
}

impl Shared {
    /// The engine that scans `flow` on `path`: `None` where inspection is off or the policy
    /// leaves it to the mesh peer that sent it ([`crate::policy::Policy::inspects`]).
    pub fn engine_for(&self, path: PathKind, flow: Flow) -> Option<&Engine> {
        self.engine
            .as_ref()
            .filter(|_| self.policy.inspects(path, flow))
    }

    /// Max bytes an inspector may hold back.
    pub fn max_held(&self) -> usize {
        self.cfg.bounds.inspect_buffer.max(1 << 20) * 4
    }
}
