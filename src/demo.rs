//! `phimesh demo`: the whole product on one machine, without root or a cluster.
//!
//! It starts, on loopback addresses `127.0.0.x`:
//!
//! | what | where |
//! | --- | --- |
//! | the CA (`phimesh ca`) | `127.0.0.5`, an ephemeral port |
//! | sidecar A, the "frontend" pod's (`phimesh proxy`) | routes on `127.0.0.10:8080` (to the patient service) and `127.0.0.10:8081` (to the external host), admin `127.0.0.10:15020` |
//! | sidecar B, the "patients" pod's | inbound mTLS on `127.0.0.20:15006`, admin `127.0.0.20:15020` |
//! | the patient-record service (in this process) | `127.0.0.20:8080`, behind sidecar B |
//! | the plaintext "external" sink (in this process) | `127.0.0.99:8080`, records every byte it receives |
//!
//! The CA and the sidecars are this executable's own `ca` and `proxy` subcommands, run as child
//! processes with the flags docs/architecture.md documents: the demo exercises exactly what a pod runs, and
//! a sidecar that crashes cannot take the demo's bookkeeping with it. The sidecars get their
//! certificates from the CA over its HTTPS identity API with bearer tokens, like in a cluster.
//! The mesh is `127.0.0.16/28` (pod B); the sink is outside it, so traffic to it is egress.
//!
//! Then it plays the scenarios as the app in pod A would, through sidecar A, and prints a table:
//! PHI between the sidecars over mTLS is delivered and audited; clean plaintext egress is
//! delivered; PHI egress as JSON, gzip, a chunk-split body and gRPC is refused, and the sink's
//! count of PHI bytes is 0. Then a few lines of the sidecars' metrics.
//!
//! **PHI bytes at the sink** counts the bytes of the synthetic patient's identifiers (SSN with
//! and without dashes, MRN, name) found in what the sink received: in the raw bytes off the wire,
//! in the request bodies as the sink decoded them (de-chunked, HTTP/2 DATA), and in those bodies
//! gunzipped and gRPC-unframed.
//!
//! Exit status: 0 when every scenario had its expected outcome, 1 otherwise (or when something
//! could not start; the line says what), 2 for bad flags. `--serve` keeps everything running
//! after the table and prints curl commands to try, until Ctrl-C.

use std::convert::Infallible;
use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::process::{ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};

/// Trust domain of the demo's identities.
const TRUST_DOMAIN: &str = "cluster.local";
/// Sidecar A's identity (the frontend pod).
const ID_A: &str = "spiffe://cluster.local/ns/demo/sa/frontend";
/// Sidecar B's identity (the patient-record pod).
const ID_B: &str = "spiffe://cluster.local/ns/demo/sa/patients";

const CA_HOST: &str = "127.0.0.5";
const CA_LISTEN: &str = "127.0.0.5:0";
const POD_A: &str = "127.0.0.10";
const POD_B: &str = "127.0.0.20";
const EXTERNAL: &str = "127.0.0.99";
/// The mesh: pod B's address, not the external host's.
const MESH: &str = "127.0.0.16/28";
const APP_PORT: u16 = 8080;
/// Sidecar A's route to the external host.
const EGRESS_PORT: u16 = 8081;
const ADMIN_PORT: u16 = 15020;
const INBOUND_PORT: u16 = 15006;

/// How long a component may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one scenario's request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The synthetic patient (not a real person; `examples/patient-fhir.json`).
const SSN: &str = "512-38-4471";
const MRN: &str = "E4471902";
/// Identifiers whose bytes are counted at the sink.
const PHI_NEEDLES: &[&str] = &[SSN, "512384471", MRN, "Calloway"];

fn patient_json() -> String {
    format!(
        r#"{{"resourceType":"Patient","id":"4711","identifier":[{{"type":"MR","value":"{MRN}"}},{{"system":"http://hl7.org/fhir/sid/us-ssn","value":"{SSN}"}}],"name":[{{"family":"Calloway","given":["Tamsin"]}}],"birthDate":"1958-11-23"}}"#
    )
}

/// Arguments of `phimesh demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Keep the CA, sidecars, patient service and sink running after the scenarios, and print
    /// curl commands to try (Ctrl-C stops).
    #[arg(long, env = "PHIMESH_SERVE")]
    pub serve: bool,
}

/// Runs `phimesh demo`.
pub fn run(args: DemoArgs, shutdown: phimesh_plumbing::Shutdown) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("phimesh demo: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(demo(args, shutdown))
}

async fn demo(args: DemoArgs, shutdown: phimesh_plumbing::Shutdown) -> ExitCode {
    let world = match World::start().await {
        Ok(w) => w,
        Err(e) => {
            eprintln!("phimesh demo: could not start: {e}");
            return ExitCode::from(1);
        }
    };
    println!("{}", world.describe());
    let mut results = Vec::new();
    for s in scenarios() {
        let r = world.play(&s).await;
        results.push((s, r));
    }
    print_table(&results);
    println!("\nmetrics (excerpt):");
    for line in world.metrics_excerpt().await {
        println!("  {line}");
    }
    let failed: Vec<&str> = results
        .iter()
        .filter(|(_, r)| !r.ok)
        .map(|(s, _)| s.id)
        .collect();
    let code = if failed.is_empty() {
        println!(
            "\nphimesh demo: all {} scenarios had the expected outcome",
            results.len()
        );
        ExitCode::SUCCESS
    } else {
        println!("\nphimesh demo: FAILED: {}", failed.join(", "));
        eprintln!("{}", world.child_logs());
        ExitCode::from(1)
    };
    if args.serve {
        world.print_try_commands();
        shutdown.wait().await;
    }
    world.stop().await;
    code
}

// ---------------------------------------------------------------------------------------------
// Scenarios

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Reaches its destination; PHI on the mesh is audited.
    Delivered,
    /// Refused by sidecar A; the sink receives no PHI byte.
    Refused,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    MeshPost,
    MeshGet,
    EgressClean,
    EgressJson,
    EgressGzip,
    EgressChunked,
    EgressGrpc,
}

struct Scenario {
    id: &'static str,
    what: &'static str,
    kind: Kind,
    expect: Expect,
    why: &'static str,
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            id: "mesh-phi-request",
            what: "POST patient record A -> B (mesh)",
            kind: Kind::MeshPost,
            expect: Expect::Delivered,
            why: "mesh peer: sidecar A originates mTLS, B verifies A's SPIFFE ID; PHI may travel, audited by A (the sender)",
        },
        Scenario {
            id: "mesh-phi-response",
            what: "GET patient record B -> A (mesh)",
            kind: Kind::MeshGet,
            expect: Expect::Delivered,
            why: "the response carries PHI back inside the same mTLS connection; audited by B (the sender)",
        },
        Scenario {
            id: "egress-clean",
            what: "POST clean JSON to external host",
            kind: Kind::EgressClean,
            expect: Expect::Delivered,
            why: "plaintext egress is inspected; no PHI found, forwarded untouched",
        },
        Scenario {
            id: "egress-phi-json",
            what: "POST PHI JSON to external host",
            kind: Kind::EgressJson,
            expect: Expect::Refused,
            why: "PHI in plaintext egress: 403 phi_refused, held back before any PHI byte left",
        },
        Scenario {
            id: "egress-phi-gzip",
            what: "POST PHI JSON, Content-Encoding gzip",
            kind: Kind::EgressGzip,
            expect: Expect::Refused,
            why: "the body is gunzipped (bounded) before scanning; PHI found, refused",
        },
        Scenario {
            id: "egress-phi-chunked",
            what: "POST PHI split across two chunks",
            kind: Kind::EgressChunked,
            expect: Expect::Refused,
            why: "streaming scan with hold-back finds a match split across chunks",
        },
        Scenario {
            id: "egress-phi-grpc",
            what: "gRPC call with PHI to external host",
            kind: Kind::EgressGrpc,
            expect: Expect::Refused,
            why: "gRPC messages are unframed and scanned: status 7 PERMISSION_DENIED",
        },
    ]
}

#[derive(Debug, Default)]
struct Outcome {
    /// What the client saw: `201`, `403 phi_refused`, `grpc-status 7`, `reset`...
    observed: String,
    delivered: bool,
    /// Bytes of PHI the sink received during the scenario (egress scenarios).
    sink_phi: Option<usize>,
    /// Request-body bytes the sink received during the scenario (egress scenarios).
    sink_body: Option<usize>,
    /// New audit lines during the scenario, with their action.
    audit: Vec<String>,
    ok: bool,
    note: String,
}

fn print_table(results: &[(Scenario, Outcome)]) {
    println!();
    println!(
        "{:<2} {:<19} {:<37} {:<9} {:<34} {:>9} {:<6} RESULT",
        "#", "SCENARIO", "WHAT", "EXPECTED", "OBSERVED", "SINK PHI", "AUDIT"
    );
    for (i, (s, r)) in results.iter().enumerate() {
        let expected = match s.expect {
            Expect::Delivered => "delivered",
            Expect::Refused => "refused",
        };
        let phi = r
            .sink_phi
            .map(|n| format!("{n} B"))
            .unwrap_or_else(|| "-".into());
        let audit = if r.audit.is_empty() {
            "-".to_string()
        } else {
            format!("{}", r.audit.len())
        };
        println!(
            "{:<2} {:<19} {:<37} {:<9} {:<34} {:>9} {:<6} {}",
            i + 1,
            s.id,
            s.what,
            expected,
            truncate(&r.observed, 34),
            phi,
            audit,
            if r.ok { "ok" } else { "MISMATCH" }
        );
    }
    println!("\nwhy:");
    for (i, (s, r)) in results.iter().enumerate() {
        println!("{:>2}. {}", i + 1, s.why);
        if !r.note.is_empty() {
            println!("    -> {}", r.note);
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let t: String = s.chars().take(n - 1).collect();
        format!("{t}~")
    }
}

// ---------------------------------------------------------------------------------------------
// The world: CA, sidecars, patient service, sink

struct World {
    _dir: tempfile::TempDir,
    ca_addr: SocketAddr,
    a: Sidecar,
    b: Sidecar,
    ca: ChildProc,
    patients: Arc<PatientService>,
    sink: Arc<Sink>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl World {
    async fn start() -> Result<World, String> {
        let dir = tempfile::Builder::new()
            .prefix("phimesh-demo-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;

        // The in-process apps first, so the sidecars find them.
        let patients = Arc::new(PatientService::default());
        let sink = Arc::new(Sink::default());
        let mut tasks = Vec::new();
        let p_addr: SocketAddr = format!("{POD_B}:{APP_PORT}").parse().unwrap();
        let s_addr: SocketAddr = format!("{EXTERNAL}:{APP_PORT}").parse().unwrap();
        tasks.push(serve(p_addr, "patient service", patients.clone()).await?.1);
        tasks.push(serve(s_addr, "external sink", sink.clone()).await?.1);

        // The CA, with one token per sidecar.
        let d = dir.path();
        std::fs::write(
            d.join("tokens"),
            format!("# token identity\ntoken-frontend {ID_A}\ntoken-patients {ID_B}\n"),
        )
        .map_err(|e| e.to_string())?;
        std::fs::write(d.join("token-a"), "token-frontend\n").map_err(|e| e.to_string())?;
        std::fs::write(d.join("token-b"), "token-patients\n").map_err(|e| e.to_string())?;
        let mut cmd = Command::new(&exe);
        cmd.arg("ca")
            .arg("--state-dir")
            .arg(d.join("ca"))
            .arg("--tokens")
            .arg(d.join("tokens"))
            .args(["--listen", CA_LISTEN, "--trust-domain", TRUST_DOMAIN])
            // The sidecars dial the CA by this address and verify it in its certificate.
            .args(["--server-name", CA_HOST]);
        let mut ca = ChildProc::spawn("ca", cmd)?;
        let ca_addr = ca
            .wait_stderr_line("phimesh ca: listening on https://", START_TIMEOUT)
            .await?;
        let ca_addr: SocketAddr = ca_addr
            .trim()
            .parse()
            .map_err(|_| format!("CA printed an unexpected address {ca_addr:?}"))?;
        let bundle = d.join("ca").join("trust-bundle.pem");
        if !bundle.exists() {
            return Err(format!("the CA wrote no {}", bundle.display()));
        }

        let common = |token: &Path, id: &str| -> Vec<String> {
            vec![
                "proxy".into(),
                "--identity".into(),
                id.into(),
                "--ca-addr".into(),
                format!("https://{ca_addr}"),
                "--ca-roots".into(),
                bundle.display().to_string(),
                "--token-file".into(),
                token.display().to_string(),
                "--mesh-networks".into(),
                MESH.into(),
            ]
        };
        let mut a_args = common(&d.join("token-a"), ID_A);
        a_args.extend([
            "--route".into(),
            format!("{POD_A}:{APP_PORT}={POD_B}:{APP_PORT}"),
            "--route".into(),
            format!("{POD_A}:{EGRESS_PORT}={EXTERNAL}:{APP_PORT}"),
            "--admin-listen".into(),
            format!("{POD_A}:{ADMIN_PORT}"),
        ]);
        let mut b_args = common(&d.join("token-b"), ID_B);
        b_args.extend([
            "--inbound-forward".into(),
            format!("{POD_B}:{APP_PORT}"),
            "--inbound-listen".into(),
            format!("{POD_B}:{INBOUND_PORT}"),
            "--allow-identities".into(),
            ID_A.into(),
            "--admin-listen".into(),
            format!("{POD_B}:{ADMIN_PORT}"),
        ]);
        let b =
            Sidecar::start("sidecar-b", &exe, &b_args, &format!("{POD_B}:{ADMIN_PORT}")).await?;
        let a =
            Sidecar::start("sidecar-a", &exe, &a_args, &format!("{POD_A}:{ADMIN_PORT}")).await?;
        Ok(World {
            _dir: dir,
            ca_addr,
            a,
            b,
            ca,
            patients,
            sink,
            tasks,
        })
    }

    fn describe(&self) -> String {
        format!(
            "phimesh demo\n  CA                https://{}\n  sidecar A         {ID_A}\n                    routes {POD_A}:{APP_PORT} -> patient service (mesh), {POD_A}:{EGRESS_PORT} -> external host\n  sidecar B         {ID_B}\n                    inbound mTLS {POD_B}:{INBOUND_PORT} -> patient service {POD_B}:{APP_PORT}\n  external sink     {EXTERNAL}:{APP_PORT} (plaintext, records every byte)",
            self.ca_addr
        )
    }

    async fn play(&self, s: &Scenario) -> Outcome {
        let audit_before = (self.a.audit_len(), self.b.audit_len());
        let sink_before = self.sink.mark();
        let patients_before = self.patients.received();
        let mtls_before = self.b.inbound_mtls_requests().await;
        let mesh: SocketAddr = format!("{POD_A}:{APP_PORT}").parse().unwrap();
        let egress: SocketAddr = format!("{POD_A}:{EGRESS_PORT}").parse().unwrap();
        let phi = patient_json();

        let sent = match s.kind {
            Kind::MeshPost => http1(mesh, post("/patients", Bytes::from(phi.clone()), &[])).await,
            Kind::MeshGet => http1(mesh, get("/patients/4711")).await,
            Kind::EgressClean => {
                let clean =
                    r#"{"event":"page_view","path":"/pricing","duration_ms":412,"plan":"team"}"#;
                http1(
                    egress,
                    post("/collect", Bytes::from_static(clean.as_bytes()), &[]),
                )
                .await
            }
            Kind::EgressJson => {
                http1(egress, post("/collect", Bytes::from(phi.clone()), &[])).await
            }
            Kind::EgressGzip => {
                let gz = gzip(phi.as_bytes());
                http1(
                    egress,
                    post("/collect", Bytes::from(gz), &[("content-encoding", "gzip")]),
                )
                .await
            }
            Kind::EgressChunked => {
                let cut = phi.find(SSN).unwrap() + 5;
                http1_chunked(
                    egress,
                    "/collect",
                    vec![
                        Bytes::from(phi[..cut].to_string()),
                        Bytes::from(phi[cut..].to_string()),
                    ],
                )
                .await
            }
            Kind::EgressGrpc => grpc(egress, &phi).await,
        };
        // Let late bytes (a leak after a reset, audit lines) arrive before counting.
        tokio::time::sleep(Duration::from_millis(200)).await;

        let mut out = Outcome::default();
        let audit: Vec<String> = self
            .a
            .audit_since(audit_before.0)
            .into_iter()
            .chain(self.b.audit_since(audit_before.1))
            .collect();
        out.audit = audit.clone();
        let is_egress = !matches!(s.kind, Kind::MeshPost | Kind::MeshGet);
        if is_egress {
            let (body, phi_bytes) = self.sink.since(sink_before);
            out.sink_body = Some(body);
            out.sink_phi = Some(phi_bytes);
        }
        match sent {
            Err(e) => {
                out.observed = "reset".into();
                out.note = format!("client saw: {e}");
            }
            Ok(r) => {
                out.observed = r.summary();
                out.delivered = match s.kind {
                    Kind::MeshPost => {
                        r.status.is_success() && self.patients.received() > patients_before
                    }
                    Kind::MeshGet => r.status.is_success() && r.body_has(SSN),
                    Kind::EgressClean => r.status.is_success() && out.sink_body.unwrap_or(0) > 0,
                    _ => r.status.is_success() && r.grpc_status.unwrap_or(0) == 0,
                };
                if !out.delivered && matches!(s.expect, Expect::Delivered) {
                    out.note = format!(
                        "response: {}",
                        truncate(&String::from_utf8_lossy(&r.body), 160)
                    );
                }
            }
        }
        let mtls_audited = audit
            .iter()
            .any(|l| l.contains("\"mtls\"") && l.contains("\"forwarded\""));
        let refused_audited = audit
            .iter()
            .any(|l| l.contains("\"refused\"") || l.contains("\"reset\""));
        out.ok = match s.expect {
            Expect::Delivered if is_egress => out.delivered && out.sink_phi == Some(0),
            Expect::Delivered => {
                if out.delivered && !mtls_audited {
                    out.note =
                        "delivered, but no audit line with tls mtls and action forwarded".into();
                }
                out.delivered && mtls_audited
            }
            Expect::Refused => {
                if !refused_audited && out.note.is_empty() {
                    out.note = "no audit line with action refused".into();
                }
                !out.delivered && out.sink_phi == Some(0) && refused_audited
            }
        };
        if !is_egress && out.delivered {
            // Evidence that it crossed as mTLS: sidecar B counted an inbound mTLS request.
            let mtls = self.b.inbound_mtls_requests().await > mtls_before;
            out.observed = format!(
                "delivered ({}), {}",
                out.observed,
                if mtls { "mTLS" } else { "NOT mTLS" }
            );
            if !mtls {
                out.ok = false;
                out.note = "sidecar B counted no inbound mTLS request".into();
            }
        }
        out
    }

    /// A few lines of each sidecar's metrics: requests and refusals as exported, PHI detections
    /// summed by action.
    async fn metrics_excerpt(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for (name, sc) in [("A", &self.a), ("B", &self.b)] {
            let text = match http1(sc.admin, get("/metrics")).await {
                Ok(r) => String::from_utf8_lossy(&r.body).into_owned(),
                Err(e) => {
                    lines.push(format!("sidecar {name}: /metrics unavailable: {e}"));
                    continue;
                }
            };
            let mut detections: Vec<(String, f64)> = Vec::new();
            for l in text.lines().filter(|l| !l.starts_with('#')) {
                if l.starts_with("phimesh_requests_total{")
                    || l.starts_with("phimesh_refusals_total{")
                {
                    lines.push(format!("sidecar {name}: {l}"));
                } else if l.starts_with("phimesh_phi_detections_total{") {
                    let action = l
                        .split("action=\"")
                        .nth(1)
                        .and_then(|r| r.split('"').next())
                        .unwrap_or("?")
                        .to_string();
                    let v: f64 = l
                        .rsplit(' ')
                        .next()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0.0);
                    match detections.iter_mut().find(|(a, _)| *a == action) {
                        Some((_, n)) => *n += v,
                        None => detections.push((action, v)),
                    }
                }
            }
            if !detections.is_empty() {
                let d: Vec<String> = detections.iter().map(|(a, n)| format!("{a} {n}")).collect();
                lines.push(format!(
                    "sidecar {name}: phimesh_phi_detections_total (all kinds): {}",
                    d.join(", ")
                ));
            }
        }
        lines
    }

    fn print_try_commands(&self) {
        let phi = patient_json().replace('\'', "'\\''");
        println!(
            "\nphimesh demo --serve: everything keeps running; try (Ctrl-C stops):\n\
             \n  # through sidecar A to the patient service, over mesh mTLS (delivered)\
             \n  curl -s http://{POD_A}:{APP_PORT}/patients/4711\
             \n  # clean plaintext egress to the external sink (delivered)\
             \n  curl -s -d '{{\"plan\":\"team\"}}' http://{POD_A}:{EGRESS_PORT}/collect\
             \n  # PHI in plaintext egress (refused: 403 phi_refused)\
             \n  curl -s -d '{phi}' http://{POD_A}:{EGRESS_PORT}/collect\
             \n  # the sidecars' metrics\
             \n  curl -s http://{POD_A}:{ADMIN_PORT}/metrics | grep ^phimesh_\
             \n  curl -s http://{POD_B}:{ADMIN_PORT}/metrics | grep ^phimesh_\
             \n\nAudit lines print below as they happen."
        );
        self.a.echo_audit();
        self.b.echo_audit();
    }

    fn child_logs(&self) -> String {
        let mut s = String::new();
        for (name, p) in [
            ("ca", &self.ca),
            ("sidecar-a", &self.a.proc),
            ("sidecar-b", &self.b.proc),
        ] {
            let tail = p.stderr_tail(20);
            if !tail.is_empty() {
                s.push_str(&format!("--- {name} (last lines of stderr) ---\n{tail}\n"));
            }
        }
        s
    }

    async fn stop(self) {
        for t in &self.tasks {
            t.abort();
        }
        for mut p in [self.a.proc, self.b.proc, self.ca] {
            p.terminate().await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Child processes

struct ChildProc {
    name: &'static str,
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
    stdout: Arc<Mutex<Vec<String>>>,
    echo_stdout: Arc<std::sync::atomic::AtomicBool>,
}

impl ChildProc {
    fn spawn(name: &'static str, mut cmd: Command) -> Result<ChildProc, String> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if std::env::var_os("PHIMESH_LOG").is_none() {
            cmd.env("PHIMESH_LOG", "warn");
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let echo_stdout = Arc::new(std::sync::atomic::AtomicBool::new(false));
        if let Some(e) = child.stderr.take() {
            let sink = stderr.clone();
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(e).lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    if let Ok(mut v) = sink.lock() {
                        v.push(l);
                    }
                }
            });
        }
        if let Some(o) = child.stdout.take() {
            let sink = stdout.clone();
            let echo = echo_stdout.clone();
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(o).lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    if echo.load(std::sync::atomic::Ordering::Relaxed) {
                        println!("[{name} audit] {l}");
                    }
                    if let Ok(mut v) = sink.lock() {
                        v.push(l);
                    }
                }
            });
        }
        Ok(ChildProc {
            name,
            child,
            stderr,
            stdout,
            echo_stdout,
        })
    }

    /// Waits for a stderr line starting with `prefix`; returns the rest of it.
    async fn wait_stderr_line(&mut self, prefix: &str, within: Duration) -> Result<String, String> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(rest) = self.stderr.lock().ok().and_then(|v| {
                v.iter()
                    .find_map(|l| l.strip_prefix(prefix).map(String::from))
            }) {
                return Ok(rest);
            }
            self.check_running()?;
            if Instant::now() > deadline {
                return Err(format!(
                    "{} did not start within {within:?}: {}",
                    self.name,
                    self.stderr_tail(5)
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn check_running(&mut self) -> Result<(), String> {
        if let Ok(Some(st)) = self.child.try_wait() {
            // Give the reader a moment to collect the last words.
            std::thread::sleep(Duration::from_millis(100));
            return Err(format!(
                "{} exited ({st}): {}",
                self.name,
                self.stderr_tail(5)
            ));
        }
        Ok(())
    }

    fn stderr_tail(&self, n: usize) -> String {
        let v = self.stderr.lock().map(|v| v.clone()).unwrap_or_default();
        let start = v.len().saturating_sub(n);
        v[start..].join("\n")
    }

    async fn terminate(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
            if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
                .await
                .is_ok()
            {
                return;
            }
        }
        let _ = self.child.kill().await;
    }
}

struct Sidecar {
    proc: ChildProc,
    admin: SocketAddr,
}

impl Sidecar {
    async fn start(
        name: &'static str,
        exe: &Path,
        args: &[String],
        admin: &str,
    ) -> Result<Sidecar, String> {
        let mut cmd = Command::new(exe);
        cmd.args(args);
        let mut proc = ChildProc::spawn(name, cmd)?;
        let admin: SocketAddr = admin.parse().map_err(|e| format!("{e}"))?;
        // Ready = certificate from the CA and listeners bound.
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            proc.check_running()?;
            if let Ok(r) = http1(admin, get("/ready")).await {
                if r.status == StatusCode::OK {
                    break;
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{name} not ready within {START_TIMEOUT:?} (GET http://{admin}/ready): {}",
                    proc.stderr_tail(5)
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Sidecar { proc, admin })
    }

    /// `phimesh_requests_total{direction="inbound",tls="mtls"}`, summed over the other labels.
    async fn inbound_mtls_requests(&self) -> f64 {
        let Ok(r) = http1(self.admin, get("/metrics")).await else {
            return 0.0;
        };
        String::from_utf8_lossy(&r.body)
            .lines()
            .filter(|l| l.starts_with("phimesh_requests_total{"))
            .filter(|l| l.contains(r#"direction="inbound""#) && l.contains(r#"tls="mtls""#))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    fn audit_len(&self) -> usize {
        self.proc.stdout.lock().map(|v| v.len()).unwrap_or(0)
    }

    fn audit_since(&self, n: usize) -> Vec<String> {
        self.proc
            .stdout
            .lock()
            .map(|v| v.get(n..).unwrap_or_default().to_vec())
            .unwrap_or_default()
    }

    fn echo_audit(&self) {
        self.proc
            .echo_stdout
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------------------------
// In-process apps: the patient service and the external sink

trait App: Send + Sync + 'static {
    fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Pin<Box<dyn std::future::Future<Output = Response<Full<Bytes>>> + Send>>;
    /// Called with every byte read off a connection, before HTTP parsing.
    fn wire(&self, _bytes: &[u8]) {}
}

async fn serve<A: App>(
    addr: SocketAddr,
    what: &str,
    app: Arc<A>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), String> {
    let l = TcpListener::bind(addr).await.map_err(|e| {
        format!("cannot bind the {what} on {addr}: {e} (is another phimesh demo running?)")
    })?;
    let bound = l.local_addr().map_err(|e| e.to_string())?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((s, _)) = l.accept().await else {
                continue;
            };
            let app = app.clone();
            tokio::spawn(async move {
                let io = TokioIo::new(Recording {
                    inner: s,
                    app: app.clone(),
                });
                let svc = hyper::service::service_fn(move |req| {
                    let app = app.clone();
                    async move { Ok::<_, Infallible>(app.handle(req).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(io, svc)
                    .await;
            });
        }
    });
    Ok((bound, task))
}

/// A TCP stream that shows the app every byte read from it.
struct Recording<A> {
    inner: TcpStream,
    app: Arc<A>,
}

impl<A: App> AsyncRead for Recording<A> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            self.app.wire(&buf.filled()[before..]);
        }
        r
    }
}

impl<A: App> AsyncWrite for Recording<A> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        b: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, b)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The patient-record service: `GET /patients/4711` returns the record, `POST /patients` stores one.
#[derive(Default)]
struct PatientService {
    received: std::sync::atomic::AtomicUsize,
}

impl PatientService {
    fn received(&self) -> usize {
        self.received.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl App for PatientService {
    fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Pin<Box<dyn std::future::Future<Output = Response<Full<Bytes>>> + Send>> {
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let (status, text) = match (parts.method.as_str(), parts.uri.path()) {
                ("GET", "/patients/4711") => (StatusCode::OK, patient_json()),
                ("POST", "/patients") if !body.is_empty() => {
                    self.received
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    (
                        StatusCode::CREATED,
                        r#"{"stored":true,"id":"4711"}"#.to_string(),
                    )
                }
                _ => (
                    StatusCode::NOT_FOUND,
                    r#"{"error":"not_found"}"#.to_string(),
                ),
            };
            json_response(status, text)
        })
    }
}

fn json_response(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(text)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

/// The plaintext external host: answers everything, records every byte.
#[derive(Default)]
struct Sink {
    /// Raw bytes off the wire, all connections.
    wire: Mutex<Vec<u8>>,
    /// Request bodies as decoded by HTTP (de-chunked, HTTP/2 DATA), frame by frame.
    bodies: Mutex<Vec<u8>>,
    /// Separate decoded bodies, for gunzip and gRPC unframing.
    body_list: Mutex<Vec<Vec<u8>>>,
}

impl Sink {
    fn mark(&self) -> (usize, usize, usize) {
        (
            self.wire.lock().map(|v| v.len()).unwrap_or(0),
            self.bodies.lock().map(|v| v.len()).unwrap_or(0),
            self.body_list.lock().map(|v| v.len()).unwrap_or(0),
        )
    }

    /// Body bytes and PHI bytes received since `mark`.
    fn since(&self, mark: (usize, usize, usize)) -> (usize, usize) {
        let wire = self
            .wire
            .lock()
            .map(|v| v[mark.0.min(v.len())..].to_vec())
            .unwrap_or_default();
        let bodies = self
            .bodies
            .lock()
            .map(|v| v[mark.1.min(v.len())..].to_vec())
            .unwrap_or_default();
        let list = self
            .body_list
            .lock()
            .map(|v| v[mark.2.min(v.len())..].to_vec())
            .unwrap_or_default();
        let mut phi = phi_bytes(&wire).max(phi_bytes(&bodies));
        for b in &list {
            phi = phi.max(phi_bytes(&gunzip_all(b)));
            phi = phi.max(phi_bytes(&grpc_unframe(b)));
        }
        (bodies.len(), phi)
    }
}

impl App for Sink {
    fn wire(&self, bytes: &[u8]) {
        if let Ok(mut v) = self.wire.lock() {
            v.extend_from_slice(bytes);
        }
    }

    fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Pin<Box<dyn std::future::Future<Output = Response<Full<Bytes>>> + Send>> {
        Box::pin(async move {
            let grpc = req
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/grpc"));
            let mut body = req.into_body();
            let mut mine = Vec::new();
            // Frame by frame, so a body cut short still counts what arrived.
            while let Some(f) = body.frame().await {
                let Ok(f) = f else { break };
                if let Ok(d) = f.into_data() {
                    mine.extend_from_slice(&d);
                    if let Ok(mut v) = self.bodies.lock() {
                        v.extend_from_slice(&d);
                    }
                }
            }
            if let Ok(mut v) = self.body_list.lock() {
                v.push(mine);
            }
            if grpc {
                let mut r = Response::new(Full::new(Bytes::from_static(&[0, 0, 0, 0, 0])));
                r.headers_mut().insert(
                    "content-type",
                    hyper::header::HeaderValue::from_static("application/grpc"),
                );
                r.headers_mut()
                    .insert("grpc-status", hyper::header::HeaderValue::from_static("0"));
                r
            } else {
                json_response(StatusCode::OK, r#"{"received":true}"#.into())
            }
        })
    }
}

fn phi_bytes(hay: &[u8]) -> usize {
    PHI_NEEDLES
        .iter()
        .map(|n| count(hay, n.as_bytes()) * n.len())
        .sum()
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() || hay.len() < needle.len() {
        return 0;
    }
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// Every gzip member found in `b`, decompressed (bounded), concatenated.
fn gunzip_all(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..b.len().saturating_sub(2) {
        if b[i..].starts_with(&[0x1f, 0x8b, 0x08]) {
            let mut d = flate2::read::GzDecoder::new(&b[i..]).take(4 << 20);
            let mut buf = Vec::new();
            let _ = d.read_to_end(&mut buf);
            out.extend_from_slice(&buf);
        }
    }
    out
}

/// gRPC length-prefixed messages in `b` (uncompressed ones as they are, compressed gunzipped).
fn grpc_unframe(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 5 <= b.len() {
        let len = u32::from_be_bytes([b[i + 1], b[i + 2], b[i + 3], b[i + 4]]) as usize;
        let end = (i + 5 + len).min(b.len());
        let msg = &b[i + 5..end];
        if b[i] == 1 {
            out.extend_from_slice(&gunzip_all(msg));
        } else {
            out.extend_from_slice(msg);
        }
        i = end;
    }
    out
}

fn gzip(b: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = e.write_all(b);
    e.finish().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// The app in pod A: HTTP/1.1 and gRPC clients

type ReqBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

struct Reply {
    status: StatusCode,
    grpc_status: Option<u32>,
    body: Bytes,
}

impl Reply {
    fn summary(&self) -> String {
        if let Some(g) = self.grpc_status {
            return format!(
                "grpc-status {g}{}",
                if g == 7 { " PERMISSION_DENIED" } else { "" }
            );
        }
        let body = String::from_utf8_lossy(&self.body);
        if self.status == StatusCode::FORBIDDEN {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) {
                if let Some(e) = v.get("error").and_then(|e| e.as_str()) {
                    let kinds = v
                        .get("kinds")
                        .and_then(|k| k.as_array())
                        .map(|k| {
                            k.iter()
                                .filter_map(|x| x.as_str())
                                .collect::<Vec<_>>()
                                .join(",")
                        })
                        .unwrap_or_default();
                    return format!("403 {e} [{kinds}]");
                }
            }
        }
        self.status.as_u16().to_string()
    }

    fn body_has(&self, s: &str) -> bool {
        count(&self.body, s.as_bytes()) > 0
    }
}

fn post(path: &str, body: Bytes, headers: &[(&str, &str)]) -> Request<ReqBody> {
    let mut b = Request::post(path)
        .header("host", "demo")
        .header("content-type", "application/json");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Full::new(body).boxed()).expect("valid request")
}

fn get(path: &str) -> Request<ReqBody> {
    Request::get(path)
        .header("host", "demo")
        .body(Full::new(Bytes::new()).boxed())
        .expect("valid request")
}

async fn http1(addr: SocketAddr, req: Request<ReqBody>) -> Result<Reply, String> {
    tokio::time::timeout(REQUEST_TIMEOUT, async {
        let s = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(s))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let resp = send.send_request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Reply {
            status,
            grpc_status: None,
            body,
        })
    })
    .await
    .map_err(|_| format!("no response within {REQUEST_TIMEOUT:?}"))?
}

/// A POST whose body goes out as separate chunks, a pause between them.
async fn http1_chunked(addr: SocketAddr, path: &str, chunks: Vec<Bytes>) -> Result<Reply, String> {
    let stream = futures_util::stream::unfold((chunks, 0usize), |(chunks, i)| async move {
        if i >= chunks.len() {
            return None;
        }
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let f: Result<Frame<Bytes>, Infallible> = Ok(Frame::data(chunks[i].clone()));
        Some((f, (chunks, i + 1)))
    });
    let req = Request::post(path)
        .header("host", "demo")
        .header("content-type", "application/json")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .expect("valid request");
    http1(addr, req).await
}

/// One unary gRPC call over HTTP/2 (prior knowledge); the message is a protobuf with the record
/// in field 1.
async fn grpc(addr: SocketAddr, record: &str) -> Result<Reply, String> {
    tokio::time::timeout(REQUEST_TIMEOUT, async {
        let mut msg = vec![0x0a];
        let mut n = record.len();
        while n >= 0x80 {
            msg.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        msg.push(n as u8);
        msg.extend_from_slice(record.as_bytes());
        let mut framed = vec![0u8];
        framed.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        framed.extend_from_slice(&msg);

        let s = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        let (mut send, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(s))
                .await
                .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let req = Request::post(format!("http://{addr}/demo.Records/Upload"))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(Full::new(Bytes::from(framed)).boxed())
            .expect("valid request");
        let resp = send.send_request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let header_status = grpc_status(resp.headers());
        let collected = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?;
        let trailer_status = collected.trailers().and_then(grpc_status);
        Ok(Reply {
            status,
            grpc_status: header_status.or(trailer_status),
            body: collected.to_bytes(),
        })
    })
    .await
    .map_err(|_| format!("no response within {REQUEST_TIMEOUT:?}"))?
}

fn grpc_status(h: &hyper::HeaderMap) -> Option<u32> {
    h.get("grpc-status")?.to_str().ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phi_counting_sees_through_encodings() {
        let phi = patient_json();
        assert!(phi_bytes(phi.as_bytes()) >= SSN.len() + MRN.len());
        assert_eq!(phi_bytes(br#"{"plan":"team"}"#), 0);
        let gz = gzip(phi.as_bytes());
        assert_eq!(
            phi_bytes(&gz),
            0,
            "compressed bytes hide the PHI from a raw search"
        );
        assert_eq!(phi_bytes(&gunzip_all(&gz)), phi_bytes(phi.as_bytes()));
        let mut framed = vec![0u8];
        framed.extend_from_slice(&(phi.len() as u32).to_be_bytes());
        framed.extend_from_slice(phi.as_bytes());
        assert_eq!(phi_bytes(&grpc_unframe(&framed)), phi_bytes(phi.as_bytes()));
    }

    #[test]
    fn scenario_ids_are_unique() {
        let s = scenarios();
        let mut ids: Vec<_> = s.iter().map(|s| s.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), s.len());
    }

    /// Without a sidecar in between, the sink does see the PHI: the zeros in the demo's table
    /// come from the refusals, not from a blind counter.
    #[tokio::test]
    async fn the_sink_counts_phi_that_reaches_it_in_every_form() {
        let sink = Arc::new(Sink::default());
        let (addr, task) = serve("127.0.0.1:0".parse().unwrap(), "sink", sink.clone())
            .await
            .unwrap();
        let phi = patient_json();
        let full = phi_bytes(phi.as_bytes());

        let m = sink.mark();
        let r = http1(addr, post("/c", Bytes::from(phi.clone()), &[]))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(sink.since(m), (phi.len(), full));

        let m = sink.mark();
        let gz = gzip(phi.as_bytes());
        http1(
            addr,
            post(
                "/c",
                Bytes::from(gz.clone()),
                &[("content-encoding", "gzip")],
            ),
        )
        .await
        .unwrap();
        assert_eq!(sink.since(m), (gz.len(), full));

        let m = sink.mark();
        let cut = phi.find(SSN).unwrap() + 5;
        http1_chunked(
            addr,
            "/c",
            vec![
                Bytes::from(phi[..cut].to_string()),
                Bytes::from(phi[cut..].to_string()),
            ],
        )
        .await
        .unwrap();
        // On the wire the SSN is split by the chunk framing; the decoded body has it whole.
        let (body, phi_seen) = sink.since(m);
        assert_eq!((body, phi_seen), (phi.len(), full));

        let m = sink.mark();
        let r = grpc(addr, &phi).await.unwrap();
        assert_eq!(r.grpc_status, Some(0));
        assert_eq!(sink.since(m).1, full);

        let m = sink.mark();
        http1(
            addr,
            post("/c", Bytes::from_static(b"{\"plan\":\"team\"}"), &[]),
        )
        .await
        .unwrap();
        assert_eq!(sink.since(m).1, 0);
        task.abort();
    }

    #[tokio::test]
    async fn patient_service_serves_and_stores_records() {
        let svc = Arc::new(PatientService::default());
        let (addr, task) = serve("127.0.0.1:0".parse().unwrap(), "patients", svc.clone())
            .await
            .unwrap();
        let r = http1(addr, get("/patients/4711")).await.unwrap();
        assert!(r.status.is_success() && r.body_has(SSN));
        let r = http1(addr, post("/patients", Bytes::from(patient_json()), &[]))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(svc.received(), 1);
        task.abort();
    }

    #[test]
    fn refusal_summaries() {
        let r = Reply {
            status: StatusCode::FORBIDDEN,
            grpc_status: None,
            body: Bytes::from_static(
                br#"{"error":"phi_refused","kinds":["ssn","mrn"],"request_id":"1"}"#,
            ),
        };
        assert_eq!(r.summary(), "403 phi_refused [ssn,mrn]");
        let g = Reply {
            status: StatusCode::OK,
            grpc_status: Some(7),
            body: Bytes::new(),
        };
        assert_eq!(g.summary(), "grpc-status 7 PERMISSION_DENIED");
    }
}
