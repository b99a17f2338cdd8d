//! Typed configuration of `phimesh proxy`, built in code ([`ProxyConfig`]) or from flags and
//! `PHIMESH_*` environment variables ([`crate::cli::ProxyArgs`]), validated before any port is bound.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use phimesh_identity::identity::{Identity, IdentityConfig, SpiffeId};

use crate::orig_dst::OriginalDst;

/// Port of a peer's inbound listener when `--peer` does not say otherwise.
pub const DEFAULT_INBOUND_PORT: u16 = 15006;
/// Port of the transparent outbound listener.
pub const DEFAULT_OUTBOUND_PORT: u16 = 15001;

/// A configuration error: one line, no payload bytes. `phimesh proxy` prints it and exits 2.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

/// `--mode`: refuse PHI where the policy table says so, or only audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Refuse plaintext PHI egress (the default).
    #[default]
    Enforce,
    /// Forward everything; audit what enforce would have refused.
    Audit,
}

/// `--mesh-inspection`: which end of a mesh mTLS hop scans what crosses it.
///
/// Every byte that crosses a mesh hop leaves one sidecar and enters another. With `Sender` (the
/// default) the sidecar that sends it scans it before encrypting it and writes the audit line,
/// naming the peer's verified SPIFFE ID; the receiver does not scan it a second time. A mesh
/// certificate is only issued against a `phimesh-ca` token, which injection projects into the
/// sidecar container alone, so a mesh peer is a sidecar that scanned its side. `Both` scans on
/// the receiving end too: each pod then has its own record of PHI it received, for clusters
/// where mesh identities are held by workloads other than phimesh sidecars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MeshInspection {
    /// Scan what this sidecar sends to a mesh peer (the default).
    #[default]
    Sender,
    /// Also scan what this sidecar receives from a mesh peer.
    Both,
}

/// `--inbound-mtls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InboundMtls {
    /// Only mesh mTLS clients with a certificate (the default).
    #[default]
    Strict,
    /// Plaintext clients too; a response carrying PHI to them is refused.
    Permissive,
}

/// An IPv4 or IPv6 network, `10.0.0.0/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` is inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for Cidr {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        let bad = || ConfigError(format!("invalid CIDR {s:?}: expected e.g. 10.0.0.0/8"));
        let (a, p) = s.trim().split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = a.parse().map_err(|_| bad())?;
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// An explicit-mode outbound route: connections to `listen` go to `upstream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// Where the proxy listens for the app.
    pub listen: SocketAddr,
    /// Where the app's traffic is going (a mesh address or an external host).
    pub upstream: SocketAddr,
}

/// Where a transparent-mode data listener (15001, 15006) binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// Both IPv4 and IPv6 on this port (the default, because `phimesh init` redirects both): one
    /// `[::]` socket with `IPV6_V6ONLY` off, so IPv4 clients arrive as `::ffff:a.b.c.d`. Where
    /// the host has no IPv6 (`ipv6.disable=1`, no IPv6 socket family) it falls back to
    /// `0.0.0.0:port` and logs a warning.
    DualStack(u16),
    /// Exactly this address, as given by `--outbound-listen` / `--inbound-listen`: `0.0.0.0` is
    /// IPv4 only, `[::]` follows the host's `net.ipv6.bindv6only`; no fallback.
    Addr(SocketAddr),
}

impl Listen {
    /// The address bound when everything works (`[::]:port` for dual stack).
    pub fn addr(&self) -> SocketAddr {
        match self {
            Listen::DualStack(p) => SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, *p)),
            Listen::Addr(a) => *a,
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        match self {
            Listen::DualStack(p) => *p,
            Listen::Addr(a) => a.port(),
        }
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::DualStack(p) => write!(f, "[::]:{p} (dual-stack)"),
            Listen::Addr(a) => write!(f, "{a}"),
        }
    }
}

/// `IP:PORT`, an explicit address ([`Listen::Addr`]).
impl std::str::FromStr for Listen {
    type Err = std::net::AddrParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Listen::Addr)
    }
}

impl From<SocketAddr> for Listen {
    fn from(a: SocketAddr) -> Self {
        Listen::Addr(a)
    }
}

/// Where the sidecar's certificate comes from.
#[derive(Clone)]
pub enum IdentitySource {
    /// The CA's identity API (`--identity`, `--ca-addr`, `--ca-roots`, `--token-file`).
    Ca(Box<IdentityConfig>),
    /// An identity built in code (tests, `phimesh demo`): [`Identity::from_static`] or
    /// `phimesh_identity::testing::TestPki`.
    Static(Identity),
}

impl fmt::Debug for IdentitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentitySource::Ca(c) => write!(f, "Ca({})", c.identity),
            IdentitySource::Static(i) => write!(f, "Static({})", i.spiffe_id()),
        }
    }
}

/// Every bound of the data plane. Exceeding one is a clean, counted outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Largest request/response head (HTTP/1 buffer, HTTP/2 header list).
    pub max_header_bytes: usize,
    /// Bytes of a body read before the first byte goes upstream, so PHI early in a body gets a
    /// clean 403 rather than a reset. Also the most held back at once.
    pub inspect_buffer: usize,
    /// Most decoded bytes inspected per HTTP body; beyond it the body is uninspectable.
    pub max_inspect_bytes: u64,
    /// Most decompressed bytes per compressed byte (compression bombs).
    pub max_decode_ratio: u64,
    /// A connection with no byte read or written for this long is closed.
    pub idle_timeout: Duration,
    /// Deadline of a TLS handshake and of the upstream TCP connect.
    pub handshake_timeout: Duration,
    /// Deadline to receive a full HTTP/1 request head (slowloris).
    pub header_timeout: Duration,
    /// Deadline for an upstream's response head, counted from the moment the request (head and
    /// body) has been sent (`--response-head-timeout`, 60 s). An upstream that accepts a request
    /// and never answers would otherwise hold the request, its downstream connection and the
    /// upstream connection until `idle_timeout`. Past it the request is answered `504` with
    /// `{"error":"upstream_timeout",...}` (gRPC: trailers-only, `grpc-status: 4`
    /// DEADLINE_EXCEEDED), the upstream request is cancelled (HTTP/1.1: its connection is
    /// closed; HTTP/2: its stream is reset) and it counts in `phimesh_requests_total` with
    /// `action="timeout"`. Raise it for long polls and for gRPC server streams whose server sends
    /// its headers only with the first message.
    pub response_head_timeout: Duration,
    /// How long to wait for the client's first bytes before treating the stream as opaque TCP
    /// (server-speaks-first protocols).
    pub sniff_timeout: Duration,
    /// Open connections per listener; further connections are closed at once.
    pub max_connections: usize,
    /// Concurrent HTTP/2 streams per connection.
    pub max_h2_streams: u32,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            max_header_bytes: 64 * 1024,
            inspect_buffer: 64 * 1024,
            max_inspect_bytes: 256 << 20,
            max_decode_ratio: 100,
            idle_timeout: Duration::from_secs(300),
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            response_head_timeout: Duration::from_secs(60),
            sniff_timeout: Duration::from_millis(500),
            max_connections: 10_000,
            max_h2_streams: 256,
        }
    }
}

/// Everything `phimesh proxy` needs, constructible in code:
///
/// ```
/// use phimesh_proxy::config::{ProxyConfig, Route};
/// let mut cfg = ProxyConfig::default();
/// cfg.routes.push(Route { listen: "127.0.0.1:0".parse().unwrap(), upstream: "127.0.0.1:9".parse().unwrap() });
/// cfg.validate().unwrap();
/// ```
#[derive(Clone)]
pub struct ProxyConfig {
    /// The sidecar's identity; `None` runs without mesh mTLS (egress inspection only, inbound
    /// permissive plaintext only).
    pub identity: Option<IdentitySource>,
    /// Mesh discovery (`--discovery`): poll the CA's mesh list; needs an identity from the CA.
    /// `None`: `mesh_networks` alone decides.
    pub discovery: Option<crate::discovery::DiscoveryConfig>,
    /// Networks whose addresses are mesh peers.
    pub mesh_networks: Vec<Cidr>,
    /// Enforce or audit.
    pub mode: Mode,
    /// Which end of a mesh hop scans.
    pub mesh_inspection: MeshInspection,
    /// Inbound mTLS mode.
    pub inbound_mtls: InboundMtls,
    /// Outbound listener of transparent mode (default: dual-stack port 15001).
    pub outbound_listen: Listen,
    /// Inbound listener (both modes; explicit mode binds it only with `inbound_forward`;
    /// default: dual-stack port 15006).
    pub inbound_listen: Listen,
    /// Admin listener; `None` binds none.
    pub admin_listen: Option<SocketAddr>,
    /// Transparent mode: the original destination of each connection from this lookup.
    pub transparent: Option<Arc<dyn OriginalDst>>,
    /// Explicit-mode outbound routes.
    pub routes: Vec<Route>,
    /// Explicit mode: where the app listens.
    pub inbound_forward: Option<SocketAddr>,
    /// Where a mesh upstream's inbound listener is when it is not `IP:15006`.
    pub peers: HashMap<SocketAddr, SocketAddr>,
    /// Allowed SNI names of app TLS to external hosts; `None` allows any (counted).
    pub sni_allow: Option<Vec<String>>,
    /// Inspect traffic at all (off only for benchmarks and emergencies).
    pub inspect: bool,
    /// Bounds.
    pub bounds: Bounds,
    /// How long SIGTERM waits for in-flight work.
    pub drain_timeout: Duration,
    /// Where audit lines go (stdout by default).
    pub audit: crate::audit::AuditSink,
}

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("identity", &self.identity)
            .field("discovery", &self.discovery)
            .field("mesh_networks", &self.mesh_networks)
            .field("mode", &self.mode)
            .field("mesh_inspection", &self.mesh_inspection)
            .field("inbound_mtls", &self.inbound_mtls)
            .field("transparent", &self.transparent.is_some())
            .field("routes", &self.routes)
            .field("inbound_forward", &self.inbound_forward)
            .field("inspect", &self.inspect)
            .field("bounds", &self.bounds)
            .finish_non_exhaustive()
    }
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            identity: None,
            discovery: None,
            mesh_networks: Vec::new(),
            mode: Mode::Enforce,
            mesh_inspection: MeshInspection::Sender,
            inbound_mtls: InboundMtls::Strict,
            outbound_listen: Listen::DualStack(DEFAULT_OUTBOUND_PORT),
            inbound_listen: Listen::DualStack(DEFAULT_INBOUND_PORT),
            admin_listen: None,
            transparent: None,
            routes: Vec::new(),
            inbound_forward: None,
            peers: HashMap::new(),
            sni_allow: None,
            inspect: true,
            bounds: Bounds::default(),
            drain_timeout: Duration::from_secs(30),
            audit: crate::audit::AuditSink::Stdout,
        }
    }
}

impl ProxyConfig {
    /// Whether `addr` is a mesh peer.
    pub fn is_mesh(&self, addr: SocketAddr) -> bool {
        self.mesh_networks.iter().any(|c| c.contains(addr.ip()))
    }

    /// The inbound listener of the mesh peer serving `upstream`.
    pub fn peer_inbound(&self, upstream: SocketAddr) -> SocketAddr {
        self.peers
            .get(&upstream)
            .copied()
            .unwrap_or_else(|| SocketAddr::new(upstream.ip(), DEFAULT_INBOUND_PORT))
    }

    /// The SPIFFE ID of the configured identity.
    pub fn spiffe_id(&self) -> Option<SpiffeId> {
        match &self.identity {
            Some(IdentitySource::Ca(c)) => Some(c.identity.clone()),
            Some(IdentitySource::Static(i)) => Some(i.spiffe_id().clone()),
            None => None,
        }
    }

    /// Whether the inbound listener is bound.
    pub fn inbound_enabled(&self) -> bool {
        self.transparent.is_some() || self.inbound_forward.is_some()
    }

    /// Checks the combination of settings; the message is the one line `phimesh proxy` prints.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.transparent.is_some() {
            if !self.routes.is_empty() || self.inbound_forward.is_some() {
                return err(
                    "--route and --inbound-forward are explicit mode; drop --transparent or them",
                );
            }
        } else if self.routes.is_empty() && self.inbound_forward.is_none() {
            return err("explicit mode needs at least one --route LISTEN=UPSTREAM or --inbound-forward ADDR (or use --transparent)");
        }
        let has_identity = self.identity.is_some();
        for r in &self.routes {
            if self.is_mesh(r.upstream) && !has_identity {
                return err(format!(
                    "--route upstream {} is in --mesh-networks: mTLS to it needs --identity",
                    r.upstream
                ));
            }
        }
        if self.transparent.is_some() && !self.mesh_networks.is_empty() && !has_identity {
            return err("--transparent with --mesh-networks needs --identity");
        }
        if self.inbound_enabled() && self.inbound_mtls == InboundMtls::Strict && !has_identity {
            return err(
                "--inbound-mtls strict needs --identity (or use --inbound-mtls permissive)",
            );
        }
        if let Some(d) = &self.discovery {
            if !matches!(self.identity, Some(IdentitySource::Ca(_))) {
                return err("--discovery on needs an identity from the CA (--identity, --ca-addr)");
            }
            if d.interval.is_zero() || d.max_age < d.interval * 2 {
                return err(
                    "--discovery-interval must be > 0 and --discovery-max-age at least twice it",
                );
            }
        }
        let mut listens: Vec<SocketAddr> = self.routes.iter().map(|r| r.listen).collect();
        listens.sort();
        if listens.windows(2).any(|w| w[0] == w[1] && w[0].port() != 0) {
            return err("two --route entries listen on the same address");
        }
        let b = &self.bounds;
        if b.max_header_bytes < 8192 {
            return err("--max-header-bytes must be at least 8192");
        }
        if b.inspect_buffer == 0 || b.max_connections == 0 || b.max_h2_streams < 100 {
            return err(
                "--inspect-buffer and --max-connections must be > 0, --max-h2-streams >= 100",
            );
        }
        if b.max_decode_ratio < 2 {
            return err("--max-decode-ratio must be at least 2");
        }
        for d in [
            b.idle_timeout,
            b.handshake_timeout,
            b.header_timeout,
            b.response_head_timeout,
            b.sniff_timeout,
        ] {
            if d.is_zero() {
                return err("timeouts must be greater than 0");
            }
        }
        Ok(())
    }
}

/// Parses `LISTEN=UPSTREAM` (`--route`, `--peer`).
pub fn parse_pair(flag: &str, s: &str) -> Result<(SocketAddr, SocketAddr), ConfigError> {
    let bad = || ConfigError(format!("invalid {flag} {s:?}: expected IP:PORT=IP:PORT"));
    let (a, b) = s.split_once('=').ok_or_else(bad)?;
    Ok((
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_contains() {
        let c: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(c.contains("10.1.2.3".parse().unwrap()));
        assert!(!c.contains("10.2.0.1".parse().unwrap()));
        assert!("0.0.0.0/0"
            .parse::<Cidr>()
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!("127.0.0.2/32"
            .parse::<Cidr>()
            .unwrap()
            .contains("127.0.0.2".parse().unwrap()));
        assert!("fd00::/8"
            .parse::<Cidr>()
            .unwrap()
            .contains("fd12::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("10.0.0.0".parse::<Cidr>().is_err());
    }

    #[test]
    fn validation_lines() {
        let cfg = ProxyConfig::default();
        assert!(cfg
            .validate()
            .unwrap_err()
            .0
            .contains("explicit mode needs"));
        let mut cfg = ProxyConfig::default();
        cfg.mesh_networks.push("127.0.0.0/8".parse().unwrap());
        cfg.routes.push(Route {
            listen: "127.0.0.1:0".parse().unwrap(),
            upstream: "127.0.0.1:80".parse().unwrap(),
        });
        assert!(cfg.validate().unwrap_err().0.contains("needs --identity"));
        let mut cfg = ProxyConfig {
            inbound_forward: Some("127.0.0.1:80".parse().unwrap()),
            ..Default::default()
        };
        assert!(cfg.validate().unwrap_err().0.contains("strict needs"));
        cfg.inbound_mtls = InboundMtls::Permissive;
        cfg.validate().unwrap();
        assert_eq!(
            parse_pair("--route", "127.0.0.1:1=10.0.0.1:80").unwrap().1,
            "10.0.0.1:80".parse().unwrap()
        );
        assert!(parse_pair("--route", "x").is_err());
    }
}
