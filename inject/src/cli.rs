//! `phimesh inject` and `phimesh webhook`: command-line entry points of injection.
//!
//! Bad flags or files stop the program at start with one line on stderr and exit code 2, before
//! any port is bound (docs/architecture.md). Every flag also reads `PHIMESH_<FLAG>`.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::config::InjectorFlags;
use crate::manifest;
use crate::metrics::Metrics;
use crate::policy::{self, Policy};
use crate::tls::ReloadingCert;
use crate::webhook::{self, Limits, State};

/// Arguments of `phimesh inject`.
#[derive(Debug, clap::Args)]
pub struct InjectArgs {
    /// Manifest file (multi-document YAML), `-` for stdin. The result goes to stdout.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub file: String,
    /// Inject as the webhook does for a PHI namespace (`POST /mutate/phi`): what it would deny
    /// there stops the run, with every reason.
    #[arg(long, env = "PHIMESH_PHI")]
    pub phi: bool,
    /// The injector's settings (the same as the webhook's).
    #[command(flatten)]
    pub injector: InjectorFlags,
}

/// Arguments of `phimesh webhook`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct WebhookArgs {
    /// Address to serve HTTPS on.
    #[arg(long, env = "PHIMESH_LISTEN", default_value = "0.0.0.0:15017")]
    pub listen: SocketAddr,
    /// Serving certificate chain (PEM); reloaded when it changes.
    #[arg(long, env = "PHIMESH_CERT", value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// Serving key (PEM); reloaded when it changes.
    #[arg(long, env = "PHIMESH_KEY", value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Largest AdmissionReview body accepted, in bytes.
    #[arg(long, env = "PHIMESH_MAX_BODY", default_value_t = webhook::DEFAULT_MAX_BODY)]
    pub max_body: usize,
    /// Connections served at once.
    #[arg(long, env = "PHIMESH_MAX_CONNECTIONS", default_value_t = webhook::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Reviews read and answered at once (bounds memory: this many bodies of --max-body).
    #[arg(long, env = "PHIMESH_MAX_IN_FLIGHT", default_value_t = webhook::DEFAULT_MAX_IN_FLIGHT)]
    pub max_in_flight: usize,
    /// Seconds between checks of the certificate files for a change.
    #[arg(long, env = "PHIMESH_CERT_RELOAD_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub cert_reload_seconds: u64,
    /// The injector's settings.
    #[command(flatten)]
    pub injector: InjectorFlags,
    /// Helper commands.
    #[command(subcommand)]
    pub command: Option<WebhookCommand>,
}

/// `phimesh webhook` helper commands.
#[derive(Debug, clap::Subcommand)]
pub enum WebhookCommand {
    /// Write a private CA and the webhook's serving certificate (for clusters without cert-manager).
    GenCerts(GenCertsArgs),
}

/// Arguments of `phimesh webhook gen-certs`.
#[derive(Debug, clap::Args)]
pub struct GenCertsArgs {
    /// Directory to write ca.crt, tls.crt, tls.key and cabundle-patch.yaml into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The webhook's Service name.
    #[arg(long, default_value = "phimesh-webhook")]
    pub service: String,
    /// The webhook's namespace.
    #[arg(long, default_value = "phimesh-system")]
    pub namespace: String,
    /// Also write a kustomization.yaml into DIR: an overlay of this base (a path relative to
    /// DIR, e.g. `../phimesh/deploy`) that adds the Secret phimesh-webhook-tls and the caBundle,
    /// ready for `kubectl apply -k DIR`.
    #[arg(long, value_name = "PATH")]
    pub kustomize_base: Option<String>,
    /// Validity of the serving certificate, in days.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(i64).range(1..=3650))]
    pub days: i64,
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("{msg}");
    ExitCode::from(2)
}

/// Runs `phimesh inject` and returns the process exit code.
pub fn run_inject(args: InjectArgs) -> ExitCode {
    let cfg = match args.injector.into_config() {
        Ok(c) => c,
        Err(e) => return fail(format!("phimesh inject: {e}")),
    };
    let mut input = String::new();
    let read = if args.file == "-" {
        std::io::stdin()
            .take(manifest::MAX_INPUT + 1)
            .read_to_string(&mut input)
    } else {
        std::fs::File::open(&args.file)
            .and_then(|f| f.take(manifest::MAX_INPUT + 1).read_to_string(&mut input))
    };
    if let Err(e) = read {
        return fail(format!("phimesh inject: {}: {e}", args.file));
    }
    if input.len() as u64 > manifest::MAX_INPUT {
        return fail(format!(
            "phimesh inject: {}: larger than {} bytes",
            args.file,
            manifest::MAX_INPUT
        ));
    }
    let policy = if args.phi { Policy::Phi } else { Policy::OptIn };
    match manifest::inject(&input, &cfg, policy) {
        Ok((out, report)) => {
            for (object, reason) in &report.skipped {
                eprintln!("phimesh inject: {object}: skipped: {}", reason.message());
            }
            for w in &report.warnings {
                eprintln!("phimesh inject: warning: {w}");
            }
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            if stdout
                .write_all(out.as_bytes())
                .and_then(|_| stdout.flush())
                .is_err()
            {
                return fail("phimesh inject: cannot write to stdout");
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("phimesh inject: {}: {e}", args.file)),
    }
}

/// Runs `phimesh webhook` and returns the process exit code.
pub fn run_webhook(args: WebhookArgs) -> ExitCode {
    match args.command {
        Some(WebhookCommand::GenCerts(g)) => return gen_certs(g),
        None => {}
    }
    let (Some(cert), Some(key)) = (args.cert, args.key) else {
        return fail("phimesh webhook: --cert FILE and --key FILE are required");
    };
    let config = match args.injector.into_config() {
        Ok(c) => c,
        Err(e) => return fail(format!("phimesh webhook: {e}")),
    };
    if args.max_body < 1024 || args.max_connections == 0 {
        return fail(
            "phimesh webhook: --max-body must be at least 1024 and --max-connections at least 1",
        );
    }
    let cert = match ReloadingCert::load(&cert, &key) {
        Ok(c) => Arc::new(c),
        Err(e) => return fail(format!("phimesh webhook: {e}")),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(format!("phimesh webhook: cannot start the runtime: {e}")),
    };
    let state = Arc::new(State::new(
        config,
        Metrics::new(),
        Limits {
            max_body: args.max_body,
            max_connections: args.max_connections,
            max_in_flight: args.max_in_flight,
            cert_poll: std::time::Duration::from_secs(args.cert_reload_seconds),
            ..Limits::default()
        },
    ));
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(args.listen).await {
            Ok(l) => l,
            Err(e) => {
                return fail(format!(
                    "phimesh webhook: cannot listen on {}: {e}",
                    args.listen
                ))
            }
        };
        let local = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let phi = &state.config.phi;
        tracing::info!(
            listen = %local,
            image = %state.config.image,
            mesh_networks = %state.config.mesh_networks.join(","),
            phi_allowed_exclude_outbound_cidrs = %phi.exclude_outbound_cidrs.join(","),
            phi_allowed_exclude_outbound_ports = ?phi.exclude_outbound_ports,
            phi_allowed_exclude_inbound_ports = ?phi.exclude_inbound_ports,
            "phimesh webhook serving POST /mutate and POST /mutate/phi"
        );
        if policy::phi_overrides_defaults(&state.config) {
            tracing::info!(
                mode = %state.config.mode,
                inbound_mtls = %state.config.inbound_mtls,
                "pods in PHI namespaces get mode enforce and strict inbound mTLS regardless of these defaults"
            );
        }
        webhook::serve(listener, cert, state, shutdown_signal()).await;
        ExitCode::SUCCESS
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    match term {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {},
                _ = tokio::signal::ctrl_c() => {},
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn gen_certs(args: GenCertsArgs) -> ExitCode {
    let g = match crate::certs::generate(&args.service, &args.namespace, args.days) {
        Ok(g) => g,
        Err(e) => return fail(format!("phimesh webhook gen-certs: {e}")),
    };
    let written = crate::certs::write(&args.out, &g).and_then(|()| match &args.kustomize_base {
        Some(base) => std::fs::write(
            args.out.join("kustomization.yaml"),
            crate::certs::overlay(base, &args.namespace),
        ),
        None => Ok(()),
    });
    if let Err(e) = written {
        return fail(format!(
            "phimesh webhook gen-certs: {}: {e}",
            args.out.display()
        ));
    }
    eprintln!(
        "phimesh webhook gen-certs: wrote ca.crt, tls.crt, tls.key and cabundle-patch.yaml to {} (serving names: {})",
        args.out.display(),
        crate::certs::dns_names(&args.service, &args.namespace).join(", ")
    );
    ExitCode::SUCCESS
}
