//! The world the scenarios play in: the CA and the two sidecars (this executable's `ca` and
//! `proxy` subcommands as child processes, through the test kit's harness) and the in-process
//! patient service and external sink; started, described, measured and stopped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use phimesh_testkit::mesh::{metric_sum, Ca, Phimesh, ProxyProc};

use super::apps::{self, PatientService, Sink};
use super::clients::{get, http1};
use super::{
    patient_json, ADMIN_PORT, APP_PORT, CA_HOST, CA_LISTEN, EGRESS_PORT, EXTERNAL, ID_A, ID_B,
    INBOUND_PORT, MESH, NAMESPACE, POD_A, POD_B, SA_A, SA_B, TRUST_DOMAIN,
};

/// How long the CA and each sidecar get to stop after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(5);

pub(super) struct World {
    _dir: tempfile::TempDir,
    ca: Ca,
    pub(super) a: ProxyProc,
    pub(super) b: ProxyProc,
    pub(super) patients: Arc<PatientService>,
    pub(super) sink: Arc<Sink>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl World {
    pub(super) async fn start() -> Result<World, String> {
        let dir = tempfile::Builder::new()
            .prefix("phimesh-demo-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
        let mut phimesh = Phimesh::new(exe);
        if std::env::var_os("PHIMESH_LOG").is_none() {
            phimesh = phimesh.env("PHIMESH_LOG", "warn");
        }

        // The in-process apps first, so the sidecars find them.
        let patients = Arc::new(PatientService::default());
        let sink = Arc::new(Sink::default());
        let p_addr: SocketAddr = format!("{POD_B}:{APP_PORT}").parse().unwrap();
        let s_addr: SocketAddr = format!("{EXTERNAL}:{APP_PORT}").parse().unwrap();
        let tasks = vec![
            apps::serve_app(p_addr, "patient service", patients.clone())
                .await?
                .1,
            apps::serve_app(s_addr, "external sink", sink.clone())
                .await?
                .1,
        ];

        // The CA with a token per sidecar, then the sidecars; the waits for "listening" and
        // "ready" block, beside the apps' tasks.
        let d = dir.path().to_owned();
        let (ca, a, b) = tokio::task::block_in_place(move || {
            let ca = Ca::start(
                &phimesh,
                &d,
                CA_LISTEN,
                &[(NAMESPACE, SA_A), (NAMESPACE, SA_B)],
                // The sidecars dial the CA by this address and verify it in its certificate.
                &["--trust-domain", TRUST_DOMAIN, "--server-name", CA_HOST],
            )?;
            if !ca.roots.exists() {
                return Err(format!("the CA wrote no {}", ca.roots.display()));
            }
            let args = |sa: &str, more: Vec<String>| {
                let mut v = ca.identity_args(NAMESPACE, sa);
                v.extend(["--mesh-networks".to_owned(), MESH.to_owned()]);
                v.extend(more);
                v
            };
            let b = ca.sidecar(
                "sidecar-b",
                &args(
                    SA_B,
                    vec![
                        "--inbound-forward".into(),
                        format!("{POD_B}:{APP_PORT}"),
                        "--inbound-listen".into(),
                        format!("{POD_B}:{INBOUND_PORT}"),
                        "--allow-identities".into(),
                        ID_A.into(),
                        "--admin-listen".into(),
                        format!("{POD_B}:{ADMIN_PORT}"),
                    ],
                ),
            )?;
            let a = ca.sidecar(
                "sidecar-a",
                &args(
                    SA_A,
                    vec![
                        "--route".into(),
                        format!("{POD_A}:{APP_PORT}={POD_B}:{APP_PORT}"),
                        "--route".into(),
                        format!("{POD_A}:{EGRESS_PORT}={EXTERNAL}:{APP_PORT}"),
                        "--admin-listen".into(),
                        format!("{POD_A}:{ADMIN_PORT}"),
                    ],
                ),
            )?;
            Ok::<_, String>((ca, a, b))
        })?;
        Ok(World {
            _dir: dir,
            ca,
            a,
            b,
            patients,
            sink,
            tasks,
        })
    }

    pub(super) fn describe(&self) -> String {
        format!(
            "phimesh demo\n  CA                https://{}\n  sidecar A         {ID_A}\n                    routes {POD_A}:{APP_PORT} -> patient service (mesh), {POD_A}:{EGRESS_PORT} -> external host\n  sidecar B         {ID_B}\n                    inbound mTLS {POD_B}:{INBOUND_PORT} -> patient service {POD_B}:{APP_PORT}\n  external sink     {EXTERNAL}:{APP_PORT} (plaintext, records every byte)",
            self.ca.addr()
        )
    }

    /// Sidecar B's `phimesh_requests_total{direction="inbound",tls="mtls"}`, summed over the
    /// other labels.
    pub(super) async fn inbound_mtls_requests(&self) -> f64 {
        let Ok(r) = http1(self.b.admin, get("/metrics")).await else {
            return 0.0;
        };
        metric_sum(
            &String::from_utf8_lossy(&r.body),
            "phimesh_requests_total",
            &[r#"direction="inbound""#, r#"tls="mtls""#],
        )
    }

    /// A few lines of each sidecar's metrics: requests and refusals as exported, PHI detections
    /// summed by action.
    pub(super) async fn metrics_excerpt(&self) -> Vec<String> {
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

    pub(super) fn print_try_commands(&self) {
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
        self.a.process().echo_stdout("[sidecar-a audit] ");
        self.b.process().echo_stdout("[sidecar-b audit] ");
    }

    pub(super) fn child_logs(&self) -> String {
        let mut s = String::new();
        for (name, p) in [
            ("ca", self.ca.process()),
            ("sidecar-a", self.a.process()),
            ("sidecar-b", self.b.process()),
        ] {
            let tail = p.stderr_tail(20);
            if !tail.is_empty() {
                s.push_str(&format!("--- {name} (last lines of stderr) ---\n{tail}\n"));
            }
        }
        s
    }

    pub(super) async fn stop(mut self) {
        for t in &self.tasks {
            t.abort();
        }
        tokio::task::block_in_place(|| {
            self.a.terminate(STOP_GRACE);
            self.b.terminate(STOP_GRACE);
            self.ca.terminate();
        });
    }
}
