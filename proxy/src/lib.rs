//! Data plane of phimesh: interception, mTLS, HTTP/gRPC inspection, policy, metrics and audit.
//!
//! # The spine
//! Each connection flows `accept` ([`listener`]) → [`sniff`] → [`tls`] → [`http`] | [`tcp`] |
//! [`passthrough`] → [`inspect`] → [`gate`] → [`forward`].
//!
//! **Where is PHI refused? In [`gate`]**, and only there. Every message part — HTTP/1.1 and
//! HTTP/2 heads, bodies and trailers, gRPC calls, opaque TCP streams, app TLS passed through,
//! connections the sniff cannot vouch for — passes its exchange's gate, which decides (the
//! table of [`policy`]), says how to enforce it (answer, reset, replace trailers) and records it:
//! the metrics ([`metrics`]) and the one audit line ([`audit`]). [`inspect`] only scans and
//! holds back (no byte of a match leaves before the verdict); the stages only carry out what
//! the gate returns.
//!
//! On a path that refuses PHI nothing falls back to a less-inspected mode: what the proxy
//! cannot parse and fully decode within bounds is refused with its own reason
//! ([`policy::Unreadable`]: `uninspectable`, `malformed`, `not_tls`, `ambiguous`) — a request
//! line that stalls or is malformed ([`sniff`], hyper's parser), a ClientHello followed by
//! anything but TLS ([`passthrough`]), header fields recipients may read differently or
//! codings the scanner cannot undo ([`inspect::stream_options`]).
//!
//! # Starting a sidecar in-process (tests, `phimesh demo`)
//! ```no_run
//! # async fn demo() -> Result<(), phimesh_proxy::StartError> {
//! use phimesh_proxy::config::{IdentitySource, ProxyConfig, Route};
//! use phimesh_proxy::Proxy;
//! let pki = phimesh_identity::testing::TestPki::new("cluster.local");
//! let mut cfg = ProxyConfig::default();
//! cfg.identity = Some(IdentitySource::Static(pki.identity("spiffe://cluster.local/ns/a/sa/web")));
//! cfg.mesh_networks = vec!["127.0.0.2/32".parse().unwrap()];
//! cfg.routes.push(Route { listen: "127.0.0.1:0".parse().unwrap(), upstream: "127.0.0.1:8080".parse().unwrap() });
//! cfg.admin_listen = Some("127.0.0.1:0".parse().unwrap());
//! let running = Proxy::start(cfg).await?;
//! println!("outbound route bound on {}", running.routes[0].0);
//! running.shutdown(std::time::Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```
//! [`config::ProxyConfig::audit`] selects stdout (the default) or an in-memory sink.
//!
//! # Never a value
//! No error, log line, panic message or metric label of this crate contains payload bytes: errors
//! carry fixed reasons, audit lines carry kinds and offsets, labels are bounded enums.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod admin;
pub mod audit;
pub mod cli;
pub mod config;
pub mod context;
pub mod discovery;
pub mod drain;
pub mod forward;
pub mod gate;
pub mod http;
pub mod init;
pub mod inspect;
pub mod io;
pub mod listener;
pub mod metrics;
pub mod orig_dst;
pub mod passthrough;
pub mod policy;
pub mod retry;
pub mod sniff;
pub mod tcp;
pub mod tls;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::{ConfigError, IdentitySource, InboundMtls, Listen, ProxyConfig};
use crate::context::Shared;
use crate::drain::Drain;
use crate::forward::{Clients, Dialer};
use crate::listener::Target;
use crate::metrics::Metrics;
use crate::policy::{Direction, Policy};
use crate::tls::Tls;

/// Why the proxy could not start. One line each, no payload bytes.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The PHI engine failed to build.
    #[error("PHI engine: {0}")]
    Engine(String),
    /// The identity client failed to start.
    #[error("identity: {0}")]
    Identity(String),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Entry point of the data plane.
#[derive(Debug)]
pub struct Proxy;

/// A started proxy: bound addresses, metrics, and the way to stop it.
#[derive(Debug)]
pub struct RunningProxy {
    /// `(bound address, upstream)` of each explicit route, in configuration order.
    pub routes: Vec<(SocketAddr, SocketAddr)>,
    /// The transparent outbound listener.
    pub outbound: Option<SocketAddr>,
    /// The inbound listener.
    pub inbound: Option<SocketAddr>,
    /// The admin listener.
    pub admin: Option<SocketAddr>,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Proxy {
    /// Validates `cfg`, builds the engine, binds the admin listener, waits for the identity,
    /// binds the data listeners and starts serving.
    pub async fn start(cfg: ProxyConfig) -> Result<RunningProxy, StartError> {
        Self::start_with(cfg, |_| {}).await
    }

    /// [`start`](Self::start), calling `on_admin` with the admin listener's address as soon as
    /// it is bound: before the wait for the identity, so `/ready` (503 until then) and
    /// `/metrics` (identity fetch errors) can be reached while the CA does not answer.
    pub async fn start_with(
        cfg: ProxyConfig,
        on_admin: impl FnOnce(SocketAddr) + Send,
    ) -> Result<RunningProxy, StartError> {
        cfg.validate()?;
        let engine = if cfg.inspect {
            Some(phimesh_detect::Engine::new().map_err(|e| StartError::Engine(e.to_string()))?)
        } else {
            None
        };
        let metrics = Metrics::new();
        let identity = match &cfg.identity {
            None => None,
            Some(IdentitySource::Static(i)) => Some(i.clone()),
            Some(IdentitySource::Ca(c)) => Some(
                phimesh_identity::identity::Identity::start((**c).clone())
                    .map_err(|e| StartError::Identity(e.to_string()))?,
            ),
        };
        if let Some(i) = &identity {
            let _ = i.register_metrics(&metrics.registry);
        }
        let tls = identity
            .clone()
            .map(|i| Tls::new(i, cfg.inbound_mtls == InboundMtls::Strict));
        let audit = cfg.audit.clone();
        let cfg = Arc::new(cfg);
        let mesh = discovery::MeshMap::new(
            cfg.discovery
                .map_or(std::time::Duration::ZERO, |d| d.max_age),
        );
        let mut tasks = Vec::new();
        if let (Some(d), Some(IdentitySource::Ca(c)), Some(i)) =
            (cfg.discovery, &cfg.identity, &identity)
        {
            let m = discovery::DiscoveryMetrics::register(&metrics.registry);
            tasks.push(tokio::spawn(discovery::run(
                i.clone(),
                (**c).clone(),
                d,
                mesh.clone(),
                m,
            )));
        }
        let dialer = Dialer::new(cfg.clone(), tls.clone(), metrics.clone(), mesh);
        let clients = Clients::new(dialer.clone(), cfg.bounds.max_header_bytes);
        let shared = Arc::new(Shared {
            policy: Policy {
                mode: cfg.mode,
                mesh_inspection: cfg.mesh_inspection,
            },
            engine,
            metrics,
            audit,
            tls,
            dialer,
            clients,
            drain: Drain::default(),
            bound: AtomicBool::new(false),
            cfg: cfg.clone(),
        });
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| StartError::Bind { addr, source })
        };
        let mut admin = None;
        if let Some(a) = cfg.admin_listen {
            let l = bind(a).await?;
            admin = l.local_addr().ok();
            tasks.push(tokio::spawn(admin::run(l, shared.clone())));
            if let Some(a) = admin {
                on_admin(a);
            }
        }
        // Identity before any data listener (linkerd's order): /ready stays false until then.
        if let Some(i) = &identity {
            i.ready().await;
        }
        let mut routes = Vec::new();
        let mut listeners = Vec::new();
        for r in &cfg.routes {
            let l = bind(r.listen).await?;
            routes.push((l.local_addr().unwrap_or(r.listen), r.upstream));
            listeners.push((l, Direction::Outbound, Target::Fixed(r.upstream)));
        }
        let mut outbound = None;
        let mut inbound = None;
        let bind_data = |listen: Listen| async move {
            listener::bind(listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: listen.addr(),
                    source,
                })
        };
        if cfg.transparent.is_some() {
            let l = bind_data(cfg.outbound_listen).await?;
            outbound = l.local_addr().ok();
            listeners.push((l, Direction::Outbound, Target::Original));
        }
        if cfg.inbound_enabled() {
            let l = bind_data(cfg.inbound_listen).await?;
            inbound = l.local_addr().ok();
            let t = match cfg.inbound_forward {
                Some(a) => Target::App(a),
                None => Target::Original,
            };
            listeners.push((l, Direction::Inbound, t));
        }
        for (l, d, t) in listeners {
            tasks.push(tokio::spawn(listener::run(l, d, t, shared.clone())));
        }
        shared.bound.store(true, Ordering::Release);
        Ok(RunningProxy {
            routes,
            outbound,
            inbound,
            admin,
            shared,
            tasks,
        })
    }
}

impl RunningProxy {
    /// The proxy's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Whether `/ready` would answer 200.
    pub fn is_ready(&self) -> bool {
        admin::is_ready(&self.shared)
    }

    /// Stops accepting, lets in-flight requests finish for up to `grace`, then stops everything.
    /// Returns true if every connection finished within `grace`.
    pub async fn shutdown(self, grace: Duration) -> bool {
        self.shared.drain.signal();
        let clean = self.shared.drain.wait_idle(grace).await;
        for t in &self.tasks {
            t.abort();
        }
        clean
    }
}

impl Drop for RunningProxy {
    fn drop(&mut self) {
        self.shared.drain.signal();
        for t in &self.tasks {
            t.abort();
        }
    }
}
