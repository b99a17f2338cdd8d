//! Helpers of the `proxy_*` end-to-end tests: a recording upstream sink (HTTP/1.1 + h2), the real
//! `phimesh proxy` / `phimesh ca` binaries as child processes, curl.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A value that must never reach an external sink.
pub const SSN: &str = "123-45-6789";
/// A JSON body with a patient's SSN.
pub const PHI_JSON: &str = r#"{"patient":{"name":"Jane Roe","ssn":"123-45-6789"}}"#;
/// A clean JSON body.
pub const CLEAN_JSON: &str = r#"{"order":{"item":"gauze","qty":3}}"#;

/// Whether `hay` contains `needle`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

struct Recorded<IO> {
    io: IO,
    log: Arc<Mutex<Vec<u8>>>,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Recorded<IO> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = std::pin::Pin::new(&mut self.io).poll_read(cx, buf);
        let new = buf.filled()[before..].to_vec();
        self.log.lock().unwrap().extend_from_slice(&new);
        r
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Recorded<IO> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        b: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.io).poll_write(cx, b)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// An upstream that records every byte it receives and answers HTTP/1.1 and h2:
/// `/phi` answers with [`PHI_JSON`], `/echo` echoes the request body, anything else `ok`.
pub struct Sink {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Every byte received, all connections.
    pub received: Arc<Mutex<Vec<u8>>>,
    _rt: tokio::runtime::Runtime,
}

async fn sink_handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = req.uri().path().to_owned();
    let body = req.into_body().collect().await?.to_bytes();
    let out = match path.as_str() {
        "/phi" => Bytes::from_static(PHI_JSON.as_bytes()),
        "/echo" => body,
        _ => Bytes::from_static(b"ok\n"),
    };
    Ok(Response::new(Full::new(out)))
}

impl Sink {
    /// Starts a sink on 127.0.0.1.
    pub fn start() -> Sink {
        Self::start_on("127.0.0.1:0")
    }

    /// Starts a sink on `addr`.
    pub fn start_on(addr: &str) -> Sink {
        let r = RecordingServer::start_on(addr, sink_handle);
        Sink {
            addr: r.addr,
            received: r.received,
            _rt: r._rt,
        }
    }

    /// A copy of everything received so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.received.lock().unwrap().clone()
    }
}

/// A `phimesh proxy` child process.
pub struct ProxyProc {
    child: Child,
    /// Route listeners, in flag order.
    pub routes: Vec<SocketAddr>,
    /// Inbound listener.
    pub inbound: Option<SocketAddr>,
    /// Admin listener.
    pub admin: SocketAddr,
    /// Audit lines (stdout).
    pub stdout: Arc<Mutex<Vec<String>>>,
    /// stderr lines.
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl Drop for ProxyProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn addr_of(line: &str) -> SocketAddr {
    let a = line.split("addr=").nth(1).unwrap();
    a.split_whitespace().next().unwrap().parse().unwrap()
}

impl ProxyProc {
    /// Starts `phimesh proxy ARGS --admin-listen 127.0.0.1:0` and waits until it is ready.
    pub fn start(args: &[&str]) -> ProxyProc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_phimesh"))
            .arg("proxy")
            .args(["--admin-listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let out = stdout.clone();
        let so = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(so).lines().map_while(Result::ok) {
                out.lock().unwrap().push(l);
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let (mut routes, mut inbound, mut admin) = (Vec::new(), None, None);
        loop {
            let Some(Ok(line)) = lines.next() else {
                panic!(
                    "phimesh proxy exited before ready: {:?}",
                    stderr.lock().unwrap()
                );
            };
            stderr.lock().unwrap().push(line.clone());
            if line.contains("role=route") {
                routes.push(addr_of(&line));
            } else if line.contains("role=inbound") {
                inbound = Some(addr_of(&line));
            } else if line.contains("role=admin") {
                admin = Some(addr_of(&line));
            } else if line == "phimesh proxy: ready" {
                break;
            }
        }
        let err = stderr.clone();
        std::thread::spawn(move || {
            for l in lines.map_while(Result::ok) {
                err.lock().unwrap().push(l);
            }
        });
        ProxyProc {
            child,
            routes,
            inbound,
            admin: admin.unwrap(),
            stdout,
            stderr,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The value of the sample `series` (`name{labels}` exactly as rendered) in `/metrics`, 0
    /// when absent.
    pub fn metric(&self, series: &str) -> f64 {
        let m = self.metrics();
        m.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .map_or(0.0, |v| v.trim().parse().unwrap())
    }

    /// `/metrics` text.
    pub fn metrics(&self) -> String {
        let (_, body) = curl(&[&format!("http://{}/metrics", self.admin)]);
        body
    }

    /// Audit lines so far, parsed.
    pub fn audit(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
            .collect()
    }

    /// Waits (bounded) until `n` audit lines arrived.
    pub fn wait_audit(&self, n: usize) -> Vec<serde_json::Value> {
        for _ in 0..200 {
            if self.stdout.lock().unwrap().len() >= n {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        self.audit()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap()
    }

    /// The raw audit text (to search for values that must not be there).
    pub fn audit_text(&self) -> String {
        self.stdout.lock().unwrap().join("\n")
    }
}

/// Runs curl with `-s -o - -w \n%{http_code}` and returns (status, body). Status 0: no response.
pub fn curl(args: &[&str]) -> (u16, String) {
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
pub struct Ca {
    child: Child,
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// The CA's trust bundle file.
    pub roots: PathBuf,
    dir: PathBuf,
    extra: Vec<String>,
}

impl Drop for Ca {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Ca {
    /// Sidecar B (`ns/b/sa/db`) in explicit mode: an mTLS inbound listener on loopback that
    /// forwards to `app`, with `mesh` as its mesh networks, plus `extra` flags.
    pub fn inbound_sidecar(&self, app: SocketAddr, mesh: &str, extra: &[&str]) -> ProxyProc {
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
    pub fn outbound_sidecar(
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
    pub fn start(dir: &Path, ids: &[(&str, &str)]) -> Ca {
        Self::start_with(dir, ids, &[])
    }

    /// [`start`](Self::start) with more `phimesh ca` flags (`--leaf-ttl 4s`...).
    pub fn start_with(dir: &Path, ids: &[(&str, &str)], extra: &[&str]) -> Ca {
        let tokens: String = ids
            .iter()
            .map(|(ns, sa)| format!("tok-{ns}-{sa} spiffe://cluster.local/ns/{ns}/sa/{sa}\n"))
            .collect();
        std::fs::write(dir.join("tokens"), tokens).unwrap();
        for (ns, sa) in ids {
            std::fs::write(
                dir.join(format!("token-{ns}-{sa}")),
                format!("tok-{ns}-{sa}"),
            )
            .unwrap();
        }
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let (child, url) = Self::spawn(dir, "127.0.0.1:0", &extra);
        Ca {
            child,
            url,
            roots: dir.join("state").join("trust-bundle.pem"),
            dir: dir.to_owned(),
            extra,
        }
    }

    fn spawn(dir: &Path, listen: &str, extra: &[String]) -> (Child, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_phimesh"))
            .args(["ca", "--listen", listen, "--state-dir"])
            .arg(dir.join("state"))
            .arg("--tokens")
            .arg(dir.join("tokens"))
            .args(extra)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("CA exited before listening").unwrap();
            if let Some(a) = line.strip_prefix("phimesh ca: listening on ") {
                break a.trim().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        (child, url)
    }

    /// The CA's address.
    pub fn addr(&self) -> SocketAddr {
        self.url.trim_start_matches("https://").parse().unwrap()
    }

    /// The CA's state directory.
    pub fn state_dir(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// The token file of `(ns, sa)`.
    pub fn token_file(&self, ns: &str, sa: &str) -> PathBuf {
        self.dir.join(format!("token-{ns}-{sa}"))
    }

    /// Kills the CA (its port stays known for [`restart`](Self::restart)).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the CA again on the same address, state and flags; returns once it listens.
    pub fn restart(&mut self) {
        self.stop();
        let (child, url) = Self::spawn(&self.dir, &self.addr().to_string(), &self.extra);
        assert_eq!(url, self.url);
        self.child = child;
    }

    /// The `--identity ... --ca-addr ... --ca-roots ... --token-file ...` flags for `(ns, sa)`.
    pub fn identity_args(&self, ns: &str, sa: &str) -> Vec<String> {
        vec![
            "--identity".into(),
            format!("spiffe://cluster.local/ns/{ns}/sa/{sa}"),
            "--ca-addr".into(),
            self.url.clone(),
            "--ca-roots".into(),
            self.roots.display().to_string(),
            "--token-file".into(),
            self.dir
                .join(format!("token-{ns}-{sa}"))
                .display()
                .to_string(),
        ]
    }
}

/// An upstream like [`Sink`] with the test's own handler (HTTP/1.1 and h2, up to 512 concurrent
/// h2 streams per connection); every byte it receives is recorded.
pub struct RecordingServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Every byte received, all connections.
    pub received: Arc<Mutex<Vec<u8>>>,
    _rt: tokio::runtime::Runtime,
}

impl RecordingServer {
    /// Starts it on 127.0.0.1 with `handler`.
    pub fn start<F, Fut>(handler: F) -> RecordingServer
    where
        F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Response<Full<Bytes>>, hyper::Error>>
            + Send
            + 'static,
    {
        Self::start_on("127.0.0.1:0", handler)
    }

    /// Starts it on `addr` with `handler`.
    pub fn start_on<F, Fut>(addr: &str, handler: F) -> RecordingServer
    where
        F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Response<Full<Bytes>>, hyper::Error>>
            + Send
            + 'static,
    {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt.block_on(tokio::net::TcpListener::bind(addr)).unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        rt.spawn(async move {
            loop {
                let Ok((s, _)) = listener.accept().await else {
                    continue;
                };
                let io = Recorded {
                    io: s,
                    log: log.clone(),
                };
                let handler = handler.clone();
                tokio::spawn(async move {
                    let mut b = hyper_util::server::conn::auto::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    );
                    b.http2().max_concurrent_streams(512);
                    let _ = b
                        .serve_connection(
                            hyper_util::rt::TokioIo::new(io),
                            hyper::service::service_fn(handler),
                        )
                        .await;
                });
            }
        });
        RecordingServer {
            addr,
            received,
            _rt: rt,
        }
    }

    /// A copy of everything received so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.received.lock().unwrap().clone()
    }
}
