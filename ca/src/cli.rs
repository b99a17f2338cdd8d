//! `phimesh ca` and `phimesh ca rotate-root`: flags, start-up checks, signals, exit codes.
//!
//! Every flag also reads `PHIMESH_<NAME>`; durations read as `90s`, `15m`, `24h`, `7d`. A bad
//! flag, token file or state directory stops the program with one line on stderr and exit 2.
//! Once serving, the CA prints `phimesh ca: listening on https://ADDR` on stderr, reloads the
//! token file on SIGHUP and stops on SIGTERM/SIGINT.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{Authenticator, KubeConfig, AUDIENCE};
use crate::authority::{rfc3339, Settings};
use crate::duration::parse_duration;
use crate::server::{self, CaConfig};
use crate::state::{StateDir, StateError};

fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

/// Arguments of `phimesh ca`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CaArgs {
    #[command(subcommand)]
    command: Option<CaCommand>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, clap::Subcommand)]
enum CaCommand {
    /// Start a root rotation: the new root joins the trust bundle now, signing moves to it after
    /// --propagation-delay, the old root leaves once no leaf it signed can still be valid.
    RotateRoot(RotateArgs),
}

#[derive(Debug, clap::Args)]
struct RotateArgs {
    /// The CA's state directory.
    #[arg(long, env = "PHIMESH_STATE_DIR")]
    state_dir: PathBuf,
    /// How long the new root is distributed before signing moves to it.
    #[arg(long, env = "PHIMESH_PROPAGATION_DELAY", default_value = "1h", value_parser = duration_arg)]
    propagation_delay: Duration,
    /// Lifetime of the new root.
    #[arg(long, env = "PHIMESH_ROOT_TTL", default_value = "365d", value_parser = duration_arg)]
    root_ttl: Duration,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Directory of the CA's state (roots, issuers; created on first start).
    #[arg(long, env = "PHIMESH_STATE_DIR")]
    state_dir: Option<PathBuf>,
    /// Static token file: `TOKEN SPIFFE_ID [DNS_NAME...]` a line. Optional only with TokenReview.
    #[arg(long, env = "PHIMESH_TOKENS")]
    tokens: Option<PathBuf>,
    /// Address of the HTTPS identity API.
    #[arg(long, env = "PHIMESH_LISTEN", default_value = "0.0.0.0:15012")]
    listen: SocketAddr,
    /// Trust domain of every identity.
    #[arg(long, env = "PHIMESH_TRUST_DOMAIN", default_value = "cluster.local")]
    trust_domain: String,
    /// Lifetime of workload certificates.
    #[arg(long, env = "PHIMESH_LEAF_TTL", default_value = "24h", value_parser = duration_arg)]
    leaf_ttl: Duration,
    /// Lifetime of a new root.
    #[arg(long, env = "PHIMESH_ROOT_TTL", default_value = "365d", value_parser = duration_arg)]
    root_ttl: Duration,
    /// How often the intermediate issuer is replaced.
    #[arg(long, env = "PHIMESH_ISSUER_ROTATION", default_value = "7d", value_parser = duration_arg)]
    issuer_rotation: Duration,
    /// Delay between a new root joining the bundle and signing moving to it (automatic rotation).
    #[arg(long, env = "PHIMESH_PROPAGATION_DELAY", default_value = "1h", value_parser = duration_arg)]
    propagation_delay: Duration,
    /// DNS names and IPs of the CA's serving certificate (repeatable or comma-separated).
    #[arg(long, env = "PHIMESH_SERVER_NAME", value_delimiter = ',')]
    server_name: Vec<String>,
    /// Certificates per identity per minute (also the burst).
    #[arg(long, env = "PHIMESH_RATE_LIMIT", default_value_t = 30)]
    rate_limit: u32,
    /// Failed authentications (401) per client address per minute (also the burst); beyond it the
    /// address is answered 429 with Retry-After before its token is looked at.
    #[arg(long, env = "PHIMESH_AUTH_FAILURE_LIMIT", default_value_t = 30)]
    auth_failure_limit: u32,
    /// Kubernetes API for TokenReview (default: in-cluster, when KUBERNETES_SERVICE_HOST is set).
    #[arg(long, env = "PHIMESH_KUBE_API")]
    kube_api: Option<String>,
    /// PEM roots of the Kubernetes API.
    #[arg(
        long,
        env = "PHIMESH_KUBE_CA_FILE",
        default_value = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
    )]
    kube_ca_file: PathBuf,
    /// The CA's own service-account token, for TokenReview calls.
    #[arg(
        long,
        env = "PHIMESH_KUBE_TOKEN_FILE",
        default_value = "/var/run/secrets/kubernetes.io/serviceaccount/token"
    )]
    kube_token_file: PathBuf,
    /// Audience sidecar tokens must carry.
    #[arg(long, env = "PHIMESH_TOKEN_AUDIENCE", default_value = AUDIENCE)]
    token_audience: String,
    /// Source of the mesh discovery list served at GET /v1/mesh: `kubernetes` (list+watch pods
    /// marked by the injector; kubeconfig from KUBECONFIG or in-cluster), `file:PATH` (`IP
    /// SPIFFE_ID` a line, re-read when it changes) or `off`. Default: `kubernetes` in a cluster
    /// (KUBERNETES_SERVICE_HOST set), else `off`.
    #[arg(long, env = "PHIMESH_MESH_SOURCE")]
    mesh_source: Option<String>,
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("phimesh ca: {msg}");
    ExitCode::from(2)
}

/// Runs `phimesh ca` and returns the process exit code.
pub fn run(args: CaArgs) -> ExitCode {
    match args.command {
        Some(CaCommand::RotateRoot(r)) => rotate_root(r),
        None => serve(args.run),
    }
}

fn rotate_root(args: RotateArgs) -> ExitCode {
    if !args.state_dir.join(crate::state::STATE_FILE).exists() {
        return fail(StateError::Missing(args.state_dir));
    }
    let dir = match StateDir::open(&args.state_dir) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let result = crate::authority::rotate_root(
        &dir,
        args.root_ttl,
        args.propagation_delay,
        crate::pki::unix_now(),
    );
    match result {
        Ok((new_root, switch_at)) => {
            println!(
                "{}",
                serde_json::json!({
                    "event": "root_rotation_started",
                    "new_root": new_root,
                    "signing_moves_at": rfc3339(switch_at),
                    "trust_bundle": dir.bundle_path(),
                })
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn serve(args: RunArgs) -> ExitCode {
    let Some(state_dir) = args.state_dir else {
        return fail("--state-dir is required");
    };
    if SpiffeIdCheck::trust_domain(&args.trust_domain).is_err() {
        return fail(format!("invalid --trust-domain {:?}", args.trust_domain));
    }
    for (name, d) in [
        ("--leaf-ttl", args.leaf_ttl),
        ("--root-ttl", args.root_ttl),
        ("--issuer-rotation", args.issuer_rotation),
    ] {
        if d < Duration::from_secs(1) {
            return fail(format!("{name} must be at least 1s"));
        }
    }
    if args.root_ttl < args.leaf_ttl * 3 {
        return fail("--root-ttl must be at least three times --leaf-ttl");
    }
    let kube = match args.kube_api {
        Some(api) => Some(KubeConfig {
            api,
            ca_file: args.kube_ca_file,
            token_file: args.kube_token_file,
            audience: args.token_audience,
        }),
        None => KubeConfig::in_cluster().map(|mut k| {
            k.ca_file = args.kube_ca_file;
            k.token_file = args.kube_token_file;
            k.audience = args.token_audience;
            k
        }),
    };
    if args.tokens.is_none() && kube.is_none() {
        return fail("--tokens is required (or --kube-api / in-cluster TokenReview)");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start runtime: {e}")),
    };
    let _guard = runtime.enter();
    let auth = match Authenticator::new(&args.trust_domain, args.tokens, kube) {
        Ok(a) => Arc::new(a),
        Err(e) => return fail(e),
    };
    let mut settings = Settings::new(args.trust_domain);
    settings.leaf_ttl = args.leaf_ttl;
    settings.root_ttl = args.root_ttl;
    settings.issuer_rotation = args.issuer_rotation;
    settings.propagation_delay = args.propagation_delay;
    let cfg = CaConfig {
        settings,
        state_dir,
        listen: args.listen,
        server_names: if args.server_name.is_empty() {
            server::default_server_names()
        } else {
            args.server_name
        },
        rate_limit_per_minute: args.rate_limit,
        auth_failures_per_minute: args.auth_failure_limit,
        tick: Duration::from_secs(1),
    };
    let trust_domain = cfg.settings.trust_domain.clone();
    runtime.block_on(async move {
        let mesh_source = match crate::discovery::source_from_flag(
            args.mesh_source.as_deref(),
            &trust_domain,
        )
        .await
        {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        let running = match server::start(cfg, auth.clone()).await {
            Ok(r) => r,
            Err(e) => return fail(e),
        };
        let mesh_task = mesh_source.map(|s| running.ca.start_mesh_source(s));
        tracing::info!(addr = %running.addr, provider = crate::tls::PROVIDER_NAME, "CA serving");
        eprintln!("phimesh ca: listening on https://{}", running.addr);
        let signals = async {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut hup), Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::hangup()),
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                return;
            };
            loop {
                tokio::select! {
                    _ = hup.recv() => match auth.reload() {
                        Ok(n) => tracing::info!(tokens = n, "token file reloaded"),
                        Err(e) => tracing::error!(error = %e, "token file reload failed; keeping the previous tokens"),
                    },
                    _ = term.recv() => return,
                    _ = int.recv() => return,
                }
            }
        };
        signals.await;
        tracing::info!("shutting down");
        if let Some(t) = mesh_task {
            t.abort();
        }
        running.shutdown().await;
        ExitCode::SUCCESS
    })
}

struct SpiffeIdCheck;

impl SpiffeIdCheck {
    fn trust_domain(td: &str) -> Result<(), ()> {
        crate::identity::SpiffeId::new(td, "a", "b")
            .map(|_| ())
            .map_err(|_| ())
    }
}
