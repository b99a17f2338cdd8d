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
use crate::kubernetes::{self, KubeSettings};
use crate::server::{self, CaConfig, StateConfig};
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

/// Where the CA keeps its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Backend {
    /// One directory (`--state-dir`) and one CA process: local use, the demo, tests.
    Directory,
    /// The Secret `--state-secret` in `--namespace`; any number of replicas, one leader.
    Kubernetes,
}

/// Where the state Secret is (`--state-backend kubernetes`).
#[derive(Debug, clap::Args)]
struct SecretArgs {
    /// Namespace of the state Secret, the Lease and the CA's own trust ConfigMap (default: the
    /// client configuration's, in a pod its own).
    #[arg(long, env = "PHIMESH_NAMESPACE")]
    namespace: Option<String>,
    /// Name of the state Secret.
    #[arg(long, env = "PHIMESH_STATE_SECRET", default_value = kubernetes::STATE_SECRET)]
    state_secret: String,
}

#[derive(Debug, clap::Args)]
struct RotateArgs {
    /// Where the state is: `directory` (--state-dir) or `kubernetes` (a Secret; the client
    /// configuration comes from KUBECONFIG or the pod's service account).
    #[arg(
        long,
        env = "PHIMESH_STATE_BACKEND",
        value_enum,
        default_value = "directory"
    )]
    state_backend: Backend,
    /// The CA's state directory.
    #[arg(long, env = "PHIMESH_STATE_DIR")]
    state_dir: Option<PathBuf>,
    #[command(flatten)]
    secret: SecretArgs,
    /// How long the new root is distributed before signing moves to it.
    #[arg(long, env = "PHIMESH_PROPAGATION_DELAY", default_value = "1h", value_parser = duration_arg)]
    propagation_delay: Duration,
    /// Lifetime of the new root.
    #[arg(long, env = "PHIMESH_ROOT_TTL", default_value = "365d", value_parser = duration_arg)]
    root_ttl: Duration,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Where the state is: `directory` (--state-dir, one process) or `kubernetes` (a Secret,
    /// replicas with one leader elected on a Lease, trust ConfigMaps distributed; the client
    /// configuration comes from KUBECONFIG or the pod's service account).
    #[arg(
        long,
        env = "PHIMESH_STATE_BACKEND",
        value_enum,
        default_value = "directory"
    )]
    state_backend: Backend,
    /// Directory of the CA's state (roots, issuers; created on first start).
    #[arg(long, env = "PHIMESH_STATE_DIR")]
    state_dir: Option<PathBuf>,
    #[command(flatten)]
    secret: SecretArgs,
    /// Name of the leader Lease (kubernetes backend).
    #[arg(long, env = "PHIMESH_LEASE_NAME", default_value = kubernetes::LEASE)]
    lease_name: String,
    /// This replica's identity in the Lease (default: the host name, which is the pod name).
    #[arg(long, env = "PHIMESH_POD_NAME")]
    pod_name: Option<String>,
    /// How long a leader's Lease holds without renewal: the longest a dead leader's rotations
    /// wait for a successor.
    #[arg(long, env = "PHIMESH_LEASE_DURATION", default_value = "15s", value_parser = duration_arg)]
    lease_duration: Duration,
    /// How long a leader keeps failing to renew before it stops leading (less than
    /// --lease-duration).
    #[arg(long, env = "PHIMESH_RENEW_DEADLINE", default_value = "10s", value_parser = duration_arg)]
    renew_deadline: Duration,
    /// How often the Lease is tried (less than --renew-deadline).
    #[arg(long, env = "PHIMESH_LEASE_RETRY_PERIOD", default_value = "2s", value_parser = duration_arg)]
    lease_retry_period: Duration,
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

/// Runs `phimesh ca` (serving until `shutdown` fires: SIGTERM, SIGINT) and returns the process
/// exit code.
pub fn run(args: CaArgs, shutdown: phimesh_plumbing::Shutdown) -> ExitCode {
    match args.command {
        Some(CaCommand::RotateRoot(r)) => rotate_root(r),
        None => serve(args.run, shutdown),
    }
}

fn rotate_root(args: RotateArgs) -> ExitCode {
    if args.state_backend == Backend::Kubernetes {
        return rotate_root_kube(args);
    }
    let Some(state_dir) = args.state_dir else {
        return fail("--state-dir is required");
    };
    if !state_dir.join(crate::state::STATE_FILE).exists() {
        return fail(StateError::Missing(state_dir));
    }
    let dir = match StateDir::open(&state_dir) {
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

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| fail(format!("cannot start runtime: {e}")))
}

/// A client from KUBECONFIG or the pod's service account, and the namespace to use.
async fn kube_client(args: &SecretArgs) -> Result<(kube::Client, String), ExitCode> {
    let (client, default_ns) = kubernetes::infer_client().await.map_err(fail)?;
    Ok((client, args.namespace.clone().unwrap_or(default_ns)))
}

fn rotate_root_kube(args: RotateArgs) -> ExitCode {
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        let (client, namespace) = match kube_client(&args.secret).await {
            Ok(c) => c,
            Err(code) => return code,
        };
        let store =
            kubernetes::secret::SecretStore::new(client, &namespace, &args.secret.state_secret);
        let now = crate::pki::unix_now();
        let current = match store.load().await {
            Ok(Some(v)) => v,
            Ok(None) => return fail(StateError::MissingSecret(store.describe())),
            Err(e) => return fail(e),
        };
        let mut settings = Settings::new(current.state.trust_domain.clone());
        settings.root_ttl = args.root_ttl;
        let delay = args.propagation_delay;
        let mut new_root = String::new();
        let result = store
            .update(current, now, 10, |s| {
                new_root = s.start_root_rotation(&settings, now, delay)?.id.clone();
                Ok(true)
            })
            .await;
        match result {
            Ok(_) => {
                println!(
                    "{}",
                    serde_json::json!({
                        "event": "root_rotation_started",
                        "new_root": new_root,
                        "signing_moves_at": rfc3339(now + delay.as_secs() as i64),
                        "state_secret": store.describe(),
                    })
                );
                ExitCode::SUCCESS
            }
            Err((e, _)) => fail(e),
        }
    })
}

fn serve(args: RunArgs, shutdown: phimesh_plumbing::Shutdown) -> ExitCode {
    let state_dir = match (args.state_backend, args.state_dir) {
        (Backend::Directory, Some(d)) => Some(d),
        (Backend::Directory, None) => return fail("--state-dir is required"),
        (Backend::Kubernetes, Some(_)) => {
            return fail("--state-dir is for --state-backend directory only")
        }
        (Backend::Kubernetes, None) => None,
    };
    if args.state_backend == Backend::Kubernetes {
        if args.lease_duration < Duration::from_secs(1) {
            return fail("--lease-duration must be at least 1s");
        }
        if args.renew_deadline >= args.lease_duration {
            return fail("--renew-deadline must be shorter than --lease-duration");
        }
        if args.lease_retry_period.is_zero() || args.lease_retry_period >= args.renew_deadline {
            return fail("--lease-retry-period must be shorter than --renew-deadline");
        }
    }
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
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
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
    let state = match state_dir {
        Some(d) => StateConfig::Directory(d),
        None => {
            let (client, namespace) = match runtime.block_on(kube_client(&args.secret)) {
                Ok(c) => c,
                Err(code) => return code,
            };
            StateConfig::Kubernetes(KubeSettings {
                client,
                namespace,
                secret: args.secret.state_secret,
                lease: args.lease_name,
                identity: args.pod_name.unwrap_or_else(kubernetes::hostname),
                lease_duration: args.lease_duration,
                renew_deadline: args.renew_deadline,
                retry_period: args.lease_retry_period,
            })
        }
    };
    let cfg = CaConfig {
        settings,
        state,
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
            let (Ok(mut hup), Ok(())) = (phimesh_plumbing::hangups(), shutdown.listen()) else {
                return;
            };
            loop {
                tokio::select! {
                    _ = hup.recv() => match auth.reload() {
                        Ok(n) => tracing::info!(tokens = n, "token file reloaded"),
                        Err(e) => tracing::error!(error = %e, "token file reload failed; keeping the previous tokens"),
                    },
                    _ = shutdown.wait() => return,
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
