//! The `proxy_*` end-to-end tests' view of the test kit (`phimesh-testkit`): the real
//! `phimesh proxy` / `phimesh ca` binaries as child processes, recording upstreams, curl.
#![allow(dead_code, unused_imports)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

pub(crate) use phimesh_testkit::codec::contains;
use phimesh_testkit::mesh;
pub(crate) use phimesh_testkit::server::{RecordingServer, Sink, CLEAN_JSON, PHI_JSON, SSN};

/// `phimesh`, whose `phimesh proxy` hands over to `phimesh-proxy` as in the image.
fn phimesh() -> mesh::Phimesh {
    mesh::Phimesh::new(env!("CARGO_BIN_EXE_phimesh"))
        .env("PHIMESH_PROXY_BINARY", env!("CARGO_BIN_EXE_phimesh-proxy"))
}

/// `phimesh proxy --route 127.0.0.1:0=SINK EXTRA...`: an egress sidecar in front of `sink`.
pub(crate) fn egress(sink: &Sink, extra: &[&str]) -> ProxyProc {
    let route = format!("127.0.0.1:0={}", sink.addr);
    let mut args = vec!["--route", &route];
    args.extend_from_slice(extra);
    ProxyProc::start(&args)
}

/// A `phimesh proxy` child process (admin listener on 127.0.0.1, an ephemeral port).
pub(crate) struct ProxyProc(mesh::ProxyProc);

impl std::ops::Deref for ProxyProc {
    type Target = mesh::ProxyProc;
    fn deref(&self) -> &mesh::ProxyProc {
        &self.0
    }
}

impl ProxyProc {
    /// Starts `phimesh proxy --admin-listen 127.0.0.1:0 ARGS` and waits until it is ready.
    pub(crate) fn start(args: &[&str]) -> ProxyProc {
        let args: Vec<String> = ["--admin-listen", "127.0.0.1:0"]
            .iter()
            .chain(args)
            .map(|s| s.to_string())
            .collect();
        ProxyProc(mesh::ProxyProc::start(&phimesh(), "phimesh proxy", &args).unwrap())
    }

    /// The value of the sample `series` (`name{labels}` exactly as rendered) in `/metrics`, 0
    /// when absent.
    pub(crate) fn metric(&self, series: &str) -> f64 {
        mesh::metric(&self.metrics(), series)
    }

    /// `/metrics` text.
    pub(crate) fn metrics(&self) -> String {
        curl(&[&format!("http://{}/metrics", self.admin)]).1
    }

    /// Audit lines so far, parsed.
    pub(crate) fn audit(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
            .collect()
    }

    /// Waits (bounded) until `n` audit lines arrived.
    pub(crate) fn wait_audit(&self, n: usize) -> Vec<serde_json::Value> {
        self.0.wait_audit_lines(n);
        self.audit()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub(crate) fn terminate(mut self) -> std::process::ExitStatus {
        self.0
            .terminate(Duration::from_secs(60))
            .expect("phimesh proxy exits on SIGTERM")
    }
}

/// Runs curl with `-s -o - -w \n%{http_code}` and returns (status, body). Status 0: no response.
pub(crate) fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "20", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

/// A running `phimesh ca` and the files a sidecar needs to get an identity from it.
pub(crate) struct Ca(mesh::Ca);

impl std::ops::Deref for Ca {
    type Target = mesh::Ca;
    fn deref(&self) -> &mesh::Ca {
        &self.0
    }
}

impl Ca {
    /// Sidecar B (`ns/b/sa/db`) in explicit mode: an mTLS inbound listener on loopback that
    /// forwards to `app`, with `mesh` as its mesh networks, plus `extra` flags.
    pub(crate) fn inbound_sidecar(&self, app: SocketAddr, mesh: &str, extra: &[&str]) -> ProxyProc {
        let mut args = self.identity_args("b", "db");
        let fwd = app.to_string();
        args.extend(
            [
                "--inbound-listen",
                "127.0.0.1:0",
                "--inbound-forward",
                &fwd,
                "--mesh-networks",
                mesh,
            ]
            .map(String::from),
        );
        args.extend(extra.iter().map(|s| s.to_string()));
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        ProxyProc::start(&a)
    }

    /// Sidecar A (`ns/a/sa/web`) in explicit mode: an outbound route on loopback to the mesh
    /// address `upstream`, whose sidecar's inbound listener is `peer_inbound`; `extra` flags
    /// after those.
    pub(crate) fn outbound_sidecar(
        &self,
        upstream: &str,
        peer_inbound: SocketAddr,
        mesh: &str,
        extra: &[&str],
    ) -> ProxyProc {
        let mut args = self.identity_args("a", "web");
        let route = format!("127.0.0.1:0={upstream}");
        let peer = format!("{upstream}={peer_inbound}");
        args.extend(
            ["--route", &route, "--peer", &peer, "--mesh-networks", mesh].map(String::from),
        );
        args.extend(extra.iter().map(|s| s.to_string()));
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        ProxyProc::start(&a)
    }

    /// Starts a CA in `dir` issuing `spiffe://cluster.local/ns/NS/sa/SA` for token `tok-NS-SA`
    /// for each `(ns, sa)`.
    pub(crate) fn start(dir: &Path, ids: &[(&str, &str)]) -> Ca {
        Self::start_with(dir, ids, &[])
    }

    /// [`start`](Self::start) with more `phimesh ca` flags (`--leaf-ttl 4s`...).
    pub(crate) fn start_with(dir: &Path, ids: &[(&str, &str)], extra: &[&str]) -> Ca {
        Ca(mesh::Ca::start(&phimesh(), dir, "127.0.0.1:0", ids, extra).unwrap())
    }

    /// Kills the CA (its port stays known for [`restart`](Self::restart)).
    pub(crate) fn stop(&mut self) {
        self.0.stop();
    }

    /// Starts the CA again on the same address, state and flags; returns once it listens.
    pub(crate) fn restart(&mut self) {
        self.0.restart().unwrap();
    }
}

/// A loopback upstream that reads each connection's first bytes until `until` says they are
/// enough (a request head, say), then hands the connection and those bytes to `answer`, each
/// connection on a thread of its own. A connection that closes first gets no answer.
pub(crate) fn serve_each(
    until: fn(&[u8]) -> bool,
    answer: impl Fn(std::net::TcpStream, Vec<u8>) + Send + Sync + 'static,
) -> SocketAddr {
    use std::io::Read;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let answer = std::sync::Arc::new(answer);
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let answer = answer.clone();
            std::thread::spawn(move || {
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                while !until(&got) {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                answer(s, got);
            });
        }
    });
    addr
}

/// Whether `got` holds a whole HTTP/1.1 head.
pub(crate) fn has_head(got: &[u8]) -> bool {
    contains(got, b"\r\n\r\n")
}
