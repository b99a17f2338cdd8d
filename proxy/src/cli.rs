//! `phimesh proxy` and `phimesh init`: command-line entry points of the data plane.
//!
//! Every `phimesh proxy` flag also reads `PHIMESH_<FLAG>`. The flags become a
//! [`ProxyConfig`](crate::config::ProxyConfig), validated before any port is bound; a bad flag or
//! file prints one line and exits 2. Once serving, each bound listener is logged on stderr as
//! `phimesh proxy: listening role=<route|outbound|inbound|admin> addr=<ADDR>[ upstream=<ADDR>]`
//! (the admin line as soon as it is bound, before the wait for the identity), audit lines go to
//! stdout, log lines (`tracing`, filtered by `PHIMESH_LOG`, default `info`) to stderr, and
//! SIGTERM/SIGINT drain (up to `--drain-timeout`) and exit 0.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use phimesh_identity::duration::parse_duration;
use phimesh_identity::identity::{IdentityConfig, SpiffeId};

use crate::discovery::DiscoveryConfig;

use crate::config::{
    parse_pair, Bounds, Cidr, ConfigError, IdentitySource, InboundMtls, Listen, MeshInspection,
    Mode, ProxyConfig, Route, DEFAULT_INBOUND_PORT, DEFAULT_OUTBOUND_PORT,
};

pub use crate::init::{run_init, InitArgs};

fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

/// Arguments of `phimesh proxy`.
#[derive(Debug, clap::Args)]
pub struct ProxyArgs {
    /// This workload's SPIFFE ID (spiffe://TRUST_DOMAIN/ns/NS/sa/SA).
    #[arg(long, env = "PHIMESH_IDENTITY")]
    identity: Option<String>,
    /// The CA's identity API, https://HOST:PORT.
    #[arg(long, env = "PHIMESH_CA_ADDR")]
    ca_addr: Option<String>,
    /// PEM bundle that verifies the CA.
    #[arg(long, env = "PHIMESH_CA_ROOTS")]
    ca_roots: Option<PathBuf>,
    /// File holding the bearer token for the CA.
    #[arg(long, env = "PHIMESH_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// Networks whose addresses are mesh peers (comma-separated CIDRs). With discovery, only
    /// those the CA lists as meshed are; the others are egress.
    #[arg(long, env = "PHIMESH_MESH_NETWORKS", value_delimiter = ',')]
    mesh_networks: Vec<String>,
    /// on: poll the CA's mesh list (GET /v1/mesh) so that a --mesh-networks address without a
    /// sidecar is egress and a meshed one must present its listed identity; off:
    /// --mesh-networks alone decides. On only with --identity and --mesh-networks.
    #[arg(long, env = "PHIMESH_DISCOVERY", default_value = "on")]
    discovery: String,
    /// Time between polls of the CA's mesh list.
    #[arg(long, env = "PHIMESH_DISCOVERY_INTERVAL", default_value = "10s", value_parser = duration_arg)]
    discovery_interval: Duration,
    /// How long the mesh list is current after the CA last confirmed it; past it the list is
    /// reported stale (phimesh_discovery_stale) and keeps deciding. Only before the first list
    /// does --mesh-networks alone decide. At least twice the interval.
    #[arg(long, env = "PHIMESH_DISCOVERY_MAX_AGE", default_value = "60s", value_parser = duration_arg)]
    discovery_max_age: Duration,
    /// enforce (refuse plaintext PHI egress) or audit (forward and audit).
    #[arg(long, env = "PHIMESH_MODE", default_value = "enforce")]
    mode: String,
    /// sender (the sidecar sending over a mesh hop scans it) or both (the receiving sidecar
    /// scans it again).
    #[arg(long, env = "PHIMESH_MESH_INSPECTION", default_value = "sender")]
    mesh_inspection: String,
    /// strict (mTLS clients only) or permissive (plaintext too; PHI responses to them refused).
    #[arg(long, env = "PHIMESH_INBOUND_MTLS", default_value = "strict")]
    inbound_mtls: String,
    /// Inbound callers allowed (comma-separated SPIFFE IDs); default any of the trust domain.
    #[arg(long, env = "PHIMESH_ALLOW_IDENTITIES", value_delimiter = ',')]
    allow_identities: Vec<String>,
    /// Outbound listener of transparent mode; default port 15001 on IPv4 and IPv6 (one `[::]`
    /// socket, IPv4 only where the host has no IPv6). An address given here is bound as is.
    #[arg(long, env = "PHIMESH_OUTBOUND_LISTEN")]
    outbound_listen: Option<SocketAddr>,
    /// Inbound listener; default port 15006 on IPv4 and IPv6 (as --outbound-listen).
    #[arg(long, env = "PHIMESH_INBOUND_LISTEN")]
    inbound_listen: Option<SocketAddr>,
    /// Admin listener (/metrics, /ready, /live); default 127.0.0.1:15020 explicit, 0.0.0.0:15020 transparent.
    #[arg(long, env = "PHIMESH_ADMIN_LISTEN")]
    admin_listen: Option<SocketAddr>,
    /// Transparent mode: original destination from SO_ORIGINAL_DST (needs `phimesh init`).
    #[arg(long, env = "PHIMESH_TRANSPARENT")]
    transparent: bool,
    /// Explicit mode outbound route LISTEN_ADDR=UPSTREAM_ADDR (repeatable).
    #[arg(long, env = "PHIMESH_ROUTE", value_delimiter = ',')]
    route: Vec<String>,
    /// Explicit mode: where the app listens.
    #[arg(long, env = "PHIMESH_INBOUND_FORWARD")]
    inbound_forward: Option<SocketAddr>,
    /// Where a mesh upstream's inbound listener is: UPSTREAM_ADDR=INBOUND_ADDR (repeatable).
    #[arg(long, env = "PHIMESH_PEER", value_delimiter = ',')]
    peer: Vec<String>,
    /// SNI names app TLS to external hosts may use (comma-separated; `*.example.com`); default any.
    #[arg(long, env = "PHIMESH_SNI_ALLOW", value_delimiter = ',')]
    sni_allow: Vec<String>,
    /// Inspect traffic (on|off; off only for benchmarks and emergencies).
    #[arg(long, env = "PHIMESH_INSPECTION", default_value = "on")]
    inspection: String,
    /// Largest request/response head in bytes.
    #[arg(long, env = "PHIMESH_MAX_HEADER_BYTES", default_value_t = Bounds::default().max_header_bytes)]
    max_header_bytes: usize,
    /// Body bytes inspected before the first byte is forwarded on refusing paths.
    #[arg(long, env = "PHIMESH_INSPECT_BUFFER", default_value_t = Bounds::default().inspect_buffer)]
    inspect_buffer: usize,
    /// Most decoded bytes inspected per body; more is uninspectable (refused where PHI is).
    #[arg(long, env = "PHIMESH_MAX_INSPECT_BYTES", default_value_t = Bounds::default().max_inspect_bytes)]
    max_inspect_bytes: u64,
    /// Most decompressed bytes per compressed byte.
    #[arg(long, env = "PHIMESH_MAX_DECODE_RATIO", default_value_t = Bounds::default().max_decode_ratio)]
    max_decode_ratio: u64,
    /// Close connections idle this long.
    #[arg(long, env = "PHIMESH_IDLE_TIMEOUT", default_value = "5m", value_parser = duration_arg)]
    idle_timeout: Duration,
    /// Deadline of TLS handshakes and upstream connects.
    #[arg(long, env = "PHIMESH_HANDSHAKE_TIMEOUT", default_value = "10s", value_parser = duration_arg)]
    handshake_timeout: Duration,
    /// Deadline to receive an HTTP/1 request head (slowloris).
    #[arg(long, env = "PHIMESH_HEADER_TIMEOUT", default_value = "10s", value_parser = duration_arg)]
    header_timeout: Duration,
    /// Deadline for an upstream's response head once the request is sent; past it the request
    /// is answered 504 {"error":"upstream_timeout"} (gRPC: grpc-status 4 DEADLINE_EXCEEDED) and
    /// the upstream request cancelled. Raise it for long polls and slow-to-answer streams.
    #[arg(long, env = "PHIMESH_RESPONSE_HEAD_TIMEOUT", default_value = "60s", value_parser = duration_arg)]
    response_head_timeout: Duration,
    /// Wait for a client's first bytes this long before treating the stream as opaque.
    #[arg(long, env = "PHIMESH_SNIFF_TIMEOUT", default_value = "500ms", value_parser = duration_arg)]
    sniff_timeout: Duration,
    /// Open connections per listener.
    #[arg(long, env = "PHIMESH_MAX_CONNECTIONS", default_value_t = Bounds::default().max_connections)]
    max_connections: usize,
    /// Grace period of the SIGTERM drain.
    #[arg(long, env = "PHIMESH_DRAIN_TIMEOUT", default_value = "30s", value_parser = duration_arg)]
    drain_timeout: Duration,
    /// Threads that run the proxy. 1 (the default) runs it on one thread: a sidecar shares its
    /// node's cores with the app and the other sidecars, and on one thread a request costs
    /// the fewest cycles (no wake-ups of a second thread, no work stealing). More let one
    /// sidecar use more cores.
    #[arg(long, env = "PHIMESH_WORKER_THREADS", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    worker_threads: u16,
}

/// The value of a flag that takes one of a few words: `invalid --mode "x": expected enforce or
/// audit` otherwise.
fn choice<T: Copy>(flag: &str, value: &str, options: &[(&str, T)]) -> Result<T, ConfigError> {
    options
        .iter()
        .find(|(word, _)| *word == value)
        .map(|&(_, t)| t)
        .ok_or_else(|| {
            let words: Vec<&str> = options.iter().map(|(w, _)| *w).collect();
            ConfigError(format!(
                "invalid {flag} {value:?}: expected {}",
                words.join(" or ")
            ))
        })
}

fn check_file(flag: &str, p: &std::path::Path) -> Result<(), ConfigError> {
    std::fs::metadata(p)
        .map(|_| ())
        .map_err(|e| ConfigError(format!("{flag} {}: {e}", p.display())))
}

impl ProxyArgs {
    /// Turns the flags into a validated configuration.
    pub fn into_config(self) -> Result<ProxyConfig, ConfigError> {
        let mode = choice(
            "--mode",
            &self.mode,
            &[("enforce", Mode::Enforce), ("audit", Mode::Audit)],
        )?;
        let mesh_inspection = choice(
            "--mesh-inspection",
            &self.mesh_inspection,
            &[
                ("sender", MeshInspection::Sender),
                ("both", MeshInspection::Both),
            ],
        )?;
        let inbound_mtls = choice(
            "--inbound-mtls",
            &self.inbound_mtls,
            &[
                ("strict", InboundMtls::Strict),
                ("permissive", InboundMtls::Permissive),
            ],
        )?;
        let discovery_on = choice(
            "--discovery",
            &self.discovery,
            &[("on", true), ("off", false)],
        )?;
        let inspect = choice(
            "--inspection",
            &self.inspection,
            &[("on", true), ("off", false)],
        )?;
        let mesh_networks = self
            .mesh_networks
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.parse::<Cidr>())
            .collect::<Result<Vec<_>, _>>()?;
        let allow = self
            .allow_identities
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                SpiffeId::parse(s.trim())
                    .map_err(|e| ConfigError(format!("invalid --allow-identities {s:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let identity = match self.identity {
            None => {
                if self.ca_addr.is_some() || !allow.is_empty() {
                    return Err(ConfigError(
                        "--ca-addr and --allow-identities need --identity".into(),
                    ));
                }
                None
            }
            Some(id) => {
                let id = SpiffeId::parse(&id)
                    .map_err(|e| ConfigError(format!("invalid --identity {id:?}: {e}")))?;
                let ca = self
                    .ca_addr
                    .ok_or_else(|| ConfigError("--identity needs --ca-addr".into()))?;
                let roots = self
                    .ca_roots
                    .ok_or_else(|| ConfigError("--identity needs --ca-roots".into()))?;
                let token = self
                    .token_file
                    .ok_or_else(|| ConfigError("--identity needs --token-file".into()))?;
                check_file("--ca-roots", &roots)?;
                check_file("--token-file", &token)?;
                if let Some(other) = allow.iter().find(|a| a.trust_domain() != id.trust_domain()) {
                    return Err(ConfigError(format!(
                        "--allow-identities {other} is not in trust domain {}",
                        id.trust_domain()
                    )));
                }
                let mut c = IdentityConfig::new(id, ca, roots, token);
                c.allow_identities = (!allow.is_empty()).then_some(allow);
                Some(IdentitySource::Ca(Box::new(c)))
            }
        };
        let routes = self
            .route
            .iter()
            .map(|r| parse_pair("--route", r).map(|(listen, upstream)| Route { listen, upstream }))
            .collect::<Result<Vec<_>, _>>()?;
        let peers = self
            .peer
            .iter()
            .map(|p| parse_pair("--peer", p))
            .collect::<Result<_, _>>()?;
        let transparent: Option<Arc<dyn crate::orig_dst::OriginalDst>> = if self.transparent {
            Some(Arc::new(crate::orig_dst::SoOriginalDst))
        } else {
            None
        };
        let admin_default: SocketAddr = if self.transparent {
            "0.0.0.0:15020"
        } else {
            "127.0.0.1:15020"
        }
        .parse()
        .expect("constant address");
        let discovery = (discovery_on
            && matches!(identity, Some(IdentitySource::Ca(_)))
            && !mesh_networks.is_empty())
        .then_some(DiscoveryConfig {
            interval: self.discovery_interval,
            max_age: self.discovery_max_age,
        });
        let cfg = ProxyConfig {
            identity,
            discovery,
            mesh_networks,
            mode,
            mesh_inspection,
            inbound_mtls,
            outbound_listen: self
                .outbound_listen
                .map_or(Listen::DualStack(DEFAULT_OUTBOUND_PORT), Listen::Addr),
            inbound_listen: self
                .inbound_listen
                .map_or(Listen::DualStack(DEFAULT_INBOUND_PORT), Listen::Addr),
            admin_listen: Some(self.admin_listen.unwrap_or(admin_default)),
            transparent,
            routes,
            inbound_forward: self.inbound_forward,
            peers,
            sni_allow: (!self.sni_allow.is_empty()).then(|| {
                self.sni_allow
                    .iter()
                    .map(|s| s.trim().to_ascii_lowercase())
                    .collect()
            }),
            inspect,
            bounds: Bounds {
                max_header_bytes: self.max_header_bytes,
                inspect_buffer: self.inspect_buffer,
                max_inspect_bytes: self.max_inspect_bytes,
                max_decode_ratio: self.max_decode_ratio,
                idle_timeout: self.idle_timeout,
                handshake_timeout: self.handshake_timeout,
                header_timeout: self.header_timeout,
                response_head_timeout: self.response_head_timeout,
                sniff_timeout: self.sniff_timeout,
                max_connections: self.max_connections,
                ..Bounds::default()
            },
            drain_timeout: self.drain_timeout,
            audit: crate::audit::AuditSink::Stdout,
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

/// Runs `phimesh proxy` until `shutdown` fires (SIGTERM, SIGINT), then drains; returns the
/// process exit code.
pub fn run_proxy(args: ProxyArgs, shutdown: phimesh_plumbing::Shutdown) -> ExitCode {
    let threads = usize::from(args.worker_threads);
    let cfg = match args.into_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("phimesh proxy: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("phimesh proxy: cannot start runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(async move {
        if shutdown.listen().is_err() {
            eprintln!("phimesh proxy: cannot install signal handlers");
            return ExitCode::from(1);
        }
        let grace = cfg.drain_timeout;
        if cfg.identity.is_some() {
            eprintln!("phimesh proxy: waiting for identity");
        }
        let start = crate::Proxy::start_with(cfg, |a| {
            eprintln!("phimesh proxy: listening role=admin addr={a}");
        });
        let running = tokio::select! {
            r = start => match r {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("phimesh proxy: {e}");
                    return ExitCode::from(2);
                }
            },
            _ = shutdown.wait() => return ExitCode::SUCCESS,
        };
        for (l, u) in &running.routes {
            eprintln!("phimesh proxy: listening role=route addr={l} upstream={u}");
        }
        if let Some(a) = running.outbound {
            eprintln!("phimesh proxy: listening role=outbound addr={a}");
        }
        if let Some(a) = running.inbound {
            eprintln!("phimesh proxy: listening role=inbound addr={a}");
        }
        eprintln!("phimesh proxy: ready");
        shutdown.wait().await;
        eprintln!("phimesh proxy: draining (up to {}s)", grace.as_secs());
        let clean = running.shutdown(grace).await;
        eprintln!(
            "phimesh proxy: stopped{}",
            if clean {
                ""
            } else {
                " (drain timeout, connections cut)"
            }
        );
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_of_a_few_words() {
        let opts = [
            ("sender", MeshInspection::Sender),
            ("both", MeshInspection::Both),
        ];
        assert_eq!(
            choice("--mesh-inspection", "both", &opts),
            Ok(MeshInspection::Both)
        );
        assert_eq!(
            choice("--mesh-inspection", "receiver", &opts),
            Err(ConfigError(
                "invalid --mesh-inspection \"receiver\": expected sender or both".into()
            ))
        );
    }
}
