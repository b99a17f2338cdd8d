//! Harness of the `ca_kubernetes*` tests: `phimesh ca --state-backend kubernetes` replicas run as
//! real processes against the fake Kubernetes API server (`apiserver-fake/`, real HTTPS and JSON,
//! reached through a kubeconfig), and real HTTPS clients of their API (issuance, trust bundle,
//! metrics).
//!
//! [`Env`] holds the API server and a directory with the kubeconfigs and the workload token file;
//! [`Env::start_ca`] starts a replica with an API token of its own (so the API server's write
//! history says which replica wrote) and keeps every line it logs in [`Env::logs`]. A [`Replica`]
//! is killed when dropped (resumed first, if a test stopped it).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use phimesh_ca::https::{self, HttpsUrl, Limits};
use phimesh_ca::pki::{self, KeyAlgorithm};
use phimesh_ca::SpiffeId;
use phimesh_fake_apiserver::{FakeApiServer, ObjectRef, Verb, WriteRecord};
use serde_json::{json, Value};

/// The CA's namespace.
pub(crate) const NS: &str = "phimesh-system";
/// The workload identity the token `tok-web` stands for.
pub(crate) const WEB: &str = "spiffe://cluster.local/ns/default/sa/web";
/// Lease timings of every test CA: short, so hand-over is quick.
pub(crate) const LEASE: [&str; 6] = [
    "--lease-duration",
    "3s",
    "--renew-deadline",
    "2s",
    "--lease-retry-period",
    "250ms",
];
/// Issuers rotate every 2 s: the leader writes the Secret all the time.
pub(crate) const BUSY: [&str; 6] = [
    "--issuer-rotation",
    "2s",
    "--leaf-ttl",
    "1h",
    "--root-ttl",
    "30d",
];

/// The CA state Secret.
pub(crate) fn secret_ref() -> ObjectRef {
    ObjectRef::core("secrets", Some(NS), "phimesh-ca-state")
}

/// The leader-election Lease.
pub(crate) fn lease_ref() -> ObjectRef {
    ObjectRef::new("coordination.k8s.io", "leases", Some(NS), "phimesh-ca")
}

/// The trust-bundle ConfigMap of namespace `ns`.
pub(crate) fn cm_ref(ns: &str) -> ObjectRef {
    ObjectRef::core("configmaps", Some(ns), "phimesh-trust-bundle")
}

/// Standard base64 of `s`.
pub(crate) fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The UTF-8 text standard base64 `s` stands for.
pub(crate) fn unb64(s: &str) -> String {
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(s).unwrap()).unwrap()
}

/// The API user of replica `name` in these tests.
pub(crate) fn replica_user(name: &str) -> String {
    format!("system:serviceaccount:phimesh-system:{name}")
}

/// The fake API server, the files the CA reads, and what the CAs logged.
pub(crate) struct Env {
    pub(crate) api: FakeApiServer,
    pub(crate) dir: tempfile::TempDir,
    /// Every line any CA process of this test wrote on stderr.
    pub(crate) logs: Arc<Mutex<Vec<String>>>,
    /// `PHIMESH_LOG` of the CA processes.
    log_level: &'static str,
}

impl Env {
    /// A fresh API server with the CA's service-account token, a kubeconfig for it and a token
    /// file naming `tok-web` as [`WEB`]; CA processes log at `log_level`.
    pub(crate) async fn new(log_level: &'static str) -> Env {
        let api = FakeApiServer::start().await.unwrap();
        api.add_token(
            "ca-sa-token",
            "system:serviceaccount:phimesh-system:phimesh-ca",
            &[],
        );
        let dir = tempfile::tempdir().unwrap();
        api.write_kubeconfig(&dir.path().join("kubeconfig"), "ca-sa-token", NS)
            .unwrap();
        std::fs::write(dir.path().join("tokens"), format!("tok-web {WEB}\n")).unwrap();
        Env {
            api,
            dir,
            logs: Arc::default(),
            log_level,
        }
    }

    /// The kubeconfig of the CA's service account.
    pub(crate) fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// `phimesh` with the service account's kubeconfig, outside any cluster.
    pub(crate) fn phimesh(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_phimesh"));
        c.env("KUBECONFIG", self.kubeconfig())
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env("PHIMESH_LOG", self.log_level);
        c
    }

    /// The API token of replica `name`.
    pub(crate) fn token_of(name: &str) -> String {
        format!("token-{name}")
    }

    /// Registers replica `name`'s own token and writes a kubeconfig with it; its path.
    pub(crate) fn replica_kubeconfig(&self, name: &str) -> PathBuf {
        let token = Env::token_of(name);
        self.api.add_token(&token, &replica_user(name), &[]);
        let kubeconfig = self.dir.path().join(format!("kubeconfig-{name}"));
        self.api.write_kubeconfig(&kubeconfig, &token, NS).unwrap();
        kubeconfig
    }

    /// Starts a CA replica named `name` with a token of its own; returns once it listens.
    pub(crate) async fn start_ca(&self, name: &str, extra: &[&str]) -> Replica {
        let kubeconfig = self.replica_kubeconfig(name);
        self.start_ca_with(name, &kubeconfig, &[], extra).await
    }

    /// Starts a CA replica named `name` that reaches the API server through `kubeconfig`, with
    /// the environment variables `vars` and the arguments `extra`; returns once it listens.
    pub(crate) async fn start_ca_with(
        &self,
        name: &str,
        kubeconfig: &Path,
        vars: &[(&str, &str)],
        extra: &[&str],
    ) -> Replica {
        let mut child = self
            .phimesh()
            .env("KUBECONFIG", kubeconfig)
            .envs(vars.iter().copied())
            .args(["ca", "--state-backend", "kubernetes", "--tokens"])
            .arg(self.dir.path().join("tokens"))
            .args(["--listen", "127.0.0.1:0", "--pod-name", name])
            .args(LEASE)
            .args(["--rate-limit", "1000000"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let logs = self.logs.clone();
        let port = tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stderr).lines();
            let port = loop {
                let line = lines.next().expect("CA exited before listening").unwrap();
                logs.lock().unwrap().push(line.clone());
                if let Some(addr) = line.strip_prefix("phimesh ca: listening on https://") {
                    break addr.rsplit(':').next().unwrap().parse::<u16>().unwrap();
                }
            };
            std::thread::spawn(move || {
                for l in lines.map_while(Result::ok) {
                    logs.lock().unwrap().push(l);
                }
            });
            port
        });
        let port = tokio::time::timeout(Duration::from_secs(30), port)
            .await
            .expect("CA did not start in 30 s")
            .unwrap();
        Replica {
            child,
            port,
            name: name.to_owned(),
        }
    }

    /// The state stored in the Secret.
    pub(crate) fn stored_state(&self) -> Value {
        let s = self.api.get(&secret_ref()).expect("state Secret exists");
        serde_json::from_str(&unb64(s["data"]["ca-state.json"].as_str().unwrap())).unwrap()
    }

    /// The trust bundle stored in the Secret.
    pub(crate) fn stored_bundle(&self) -> String {
        let s = self.api.get(&secret_ref()).expect("state Secret exists");
        unb64(s["data"]["trust-bundle.pem"].as_str().unwrap())
    }

    /// The generation of the stored state.
    pub(crate) fn generation(&self) -> u64 {
        self.stored_state()["generation"].as_u64().unwrap()
    }

    /// Who holds the Lease.
    pub(crate) fn lease_holder(&self) -> Option<String> {
        self.api
            .get(&lease_ref())
            .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_owned))
    }

    /// The bundle in namespace `ns`'s trust ConfigMap.
    pub(crate) fn configmap_bundle(&self, ns: &str) -> Option<String> {
        self.api
            .get(&cm_ref(ns))
            .and_then(|c| c["data"]["trust-bundle.pem"].as_str().map(str::to_owned))
    }

    /// `phimesh ca rotate-root` with propagation delay `delay`.
    pub(crate) fn rotate_root_cmd(&self, delay: &str) -> Command {
        let mut c = self.phimesh();
        c.args(["ca", "rotate-root", "--state-backend", "kubernetes"])
            .args(["--propagation-delay", delay]);
        c
    }

    /// The Secret writes the API server accepted.
    pub(crate) fn successful_writes(&self) -> Vec<WriteRecord> {
        self.api
            .writes_of(&secret_ref())
            .into_iter()
            .filter(|w| w.status < 300)
            .collect()
    }

    /// Every successful write of the Secret after the first was made against the version the
    /// previous one produced and bumped the generation by one: no write was based on a stale
    /// read.
    pub(crate) fn assert_writes_chained(&self) {
        let writes = self.successful_writes();
        for pair in writes.windows(2) {
            assert_eq!(pair[1].verb, Verb::Update, "{:?}", pair[1]);
            assert_eq!(
                pair[1].precondition.as_deref(),
                Some(pair[0].resource_version.unwrap().to_string().as_str()),
                "a write not based on the previous one"
            );
            assert_eq!(
                generation_of(&pair[1]),
                generation_of(&pair[0]) + 1,
                "the generation did not advance by one"
            );
        }
    }
}

/// The generation of the state a Secret write stored.
pub(crate) fn generation_of(w: &WriteRecord) -> u64 {
    let b = w.stored.as_ref().unwrap()["data"]["ca-state.json"]
        .as_str()
        .unwrap();
    let v: Value = serde_json::from_str(&unb64(b)).unwrap();
    v["generation"].as_u64().unwrap()
}

/// A running CA replica.
pub(crate) struct Replica {
    pub(crate) child: Child,
    pub(crate) port: u16,
    pub(crate) name: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = signal(&self.child, "CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends signal `sig` (a name: `STOP`, `CONT`) to `child`; whether it was sent.
pub(crate) fn signal(child: &Child, sig: &str) -> bool {
    Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A client configuration trusting the roots of a PEM bundle.
pub(crate) use phimesh_ca::testing::client_config_for as tls_for;

impl Replica {
    /// GET `path`: the status and body (0 and the error when no answer).
    pub(crate) async fn get(&self, tls: Arc<rustls::ClientConfig>, path: &str) -> (u16, String) {
        let url = HttpsUrl::parse(&format!("https://127.0.0.1:{}", self.port)).unwrap();
        match https::request(
            &url,
            tls,
            http::Method::GET,
            path,
            &[],
            None,
            Limits {
                timeout: Duration::from_secs(10),
                max_body: 1 << 20,
            },
        )
        .await
        {
            Ok(r) => (r.status, String::from_utf8_lossy(&r.body).into_owned()),
            Err(e) => (0, e.to_string()),
        }
    }

    /// The value of metric `name` (without labels).
    pub(crate) async fn metric(&self, tls: Arc<rustls::ClientConfig>, name: &str) -> Option<f64> {
        let (_, text) = self.get(tls, "/metrics").await;
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
    }

    /// The trust bundle the replica serves.
    pub(crate) async fn bundle(&self, tls: Arc<rustls::ClientConfig>) -> String {
        let (code, body) = self.get(tls, "/v1/trust-bundle").await;
        assert_eq!(code, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        v["trust_bundle"].as_str().unwrap().to_owned()
    }

    /// One certificate request: the HTTP status (0 when no answer) and, on 200, the chain.
    pub(crate) async fn issue(&self, tls: Arc<rustls::ClientConfig>) -> (u16, Option<String>) {
        let key = pki::generate_key(KeyAlgorithm::EcdsaP256).unwrap();
        let id: SpiffeId = WEB.parse().unwrap();
        let csr = pki::make_csr(&key, &id, &[]).unwrap();
        let url = HttpsUrl::parse(&format!("https://127.0.0.1:{}", self.port)).unwrap();
        match https::request(
            &url,
            tls,
            http::Method::POST,
            "/v1/certificates",
            &[("authorization", "Bearer tok-web")],
            Some(json!({ "csr": csr }).to_string().into_bytes()),
            Limits {
                timeout: Duration::from_secs(10),
                max_body: 1 << 20,
            },
        )
        .await
        {
            Ok(r) if r.status == 200 => {
                let v: Value = serde_json::from_slice(&r.body).unwrap();
                (200, v["certificate_chain"].as_str().map(str::to_owned))
            }
            Ok(r) => (r.status, None),
            Err(_) => (0, None),
        }
    }

    /// Whether the process still runs.
    pub(crate) fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

/// How many certificates `pem` holds.
pub(crate) fn certs_in(pem: &str) -> usize {
    pem.matches("-----BEGIN CERTIFICATE-----").count()
}

/// Polls `check` every 50 ms for up to `secs` seconds.
pub(crate) async fn eventually<F: FnMut() -> bool>(secs: u64, what: &str, mut check: F) {
    for _ in 0..secs * 20 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not within {secs} s: {what}");
}
