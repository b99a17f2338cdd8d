//! Network-namespace harness for the transparent-mode tests (`tests/netns_*.rs`).
//!
//! A test builds a [`Net`]: a "switch" namespace holding a bridge, and one namespace per pod (or
//! external host) joined to the bridge by a veth pair, all named after the test
//! (`phm-<test>-sw`, `phm-<test>-<pod>`). Pods get addresses in a test-private range
//! (`10.254.0.0/24`, `fd54::/64`) that exist only inside these namespaces; the host's own
//! interfaces, routes and iptables are never touched (even the bridge lives in a namespace).
//!
//! Inside a pod a test runs real processes (`ip netns exec`, optionally as another UID through
//! `setpriv`) or in-process servers on their own OS thread with a current-thread tokio runtime
//! ([`Pod::serve`]), the thread having joined the pod's namespace with `setns`.
//!
//! Everything is undone in `Drop`, also when the test panics: processes started through
//! [`Net::spawn`] are killed, then the namespaces deleted (which destroys their veths). Leftovers
//! of a test killed without unwinding (a timeout's SIGKILL) are removed when the same test starts
//! again.
//!
//! These tests need root (`CAP_NET_ADMIN`, `CAP_SYS_ADMIN`). Where they cannot run they **fail**
//! with the reason, because a skipped namespace test looks like a pass. Set `PHIMESH_SKIP_NETNS=1`
//! to skip them on purpose (a laptop without root); CI runs as root and never sets it.

#![allow(dead_code)]

use std::fs::File;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Environment variable that skips namespace tests on purpose.
pub(crate) const SKIP_ENV: &str = "PHIMESH_SKIP_NETNS";

/// The UID (and GID) the sidecar runs as.
pub(crate) const PROXY_UID: u32 = 1337;
/// A UID for application processes (not the proxy's).
pub(crate) const APP_UID: u32 = 1000;

/// The phimesh binary under test.
pub(crate) fn phimesh_bin() -> &'static str {
    env!("CARGO_BIN_EXE_phimesh")
}

/// Returns `None` (and says so on stderr) when `PHIMESH_SKIP_NETNS=1`; otherwise checks that
/// namespace tests can run here and panics with the reason when they cannot.
pub(crate) fn require_netns(test: &str) -> Option<()> {
    if std::env::var(SKIP_ENV).as_deref() == Ok("1") {
        eprintln!("{test}: SKIPPED because {SKIP_ENV}=1 (namespace tests need root)");
        return None;
    }
    let euid = euid();
    assert_eq!(
        euid,
        Some(0),
        "{test}: network-namespace tests need root (euid is {euid:?}); run them as root \
         (CI does), or set {SKIP_ENV}=1 to skip them explicitly"
    );
    for tool in ["ip", "iptables", "iptables-restore", "setpriv", "curl"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            found,
            "{test}: `{tool}` is not installed; run ./scripts/setup (or set {SKIP_ENV}=1 to skip)"
        );
    }
    Some(())
}

fn euid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Runs `cmd`, panicking with its output when it fails.
pub(crate) fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ip(args: &[&str]) -> Output {
    run(Command::new("ip").args(args))
}

fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

fn delete_netns(name: &str) {
    if netns_exists(name) {
        let out = Command::new("ip").args(["netns", "del", name]).output();
        if !matches!(&out, Ok(o) if o.status.success()) {
            eprintln!("warning: could not delete netns {name}: {out:?}");
        }
    }
}

/// A test's network: the switch namespace, its pods and the processes started in them.
pub(crate) struct Net {
    prefix: String,
    switch: String,
    pods: Vec<String>,
    procs: Vec<Proc>,
    logs: tempfile::TempDir,
}

/// One pod or host: a network namespace with one veth on the bridge.
#[derive(Debug, Clone)]
pub(crate) struct Pod {
    /// Short name given by the test (`a`, `b`, `ext`).
    pub name: String,
    /// The namespace's name (`phm-<test>-<name>`).
    pub ns: String,
    /// IPv4 address on `eth0` (`10.254.0.N/24`).
    pub ip: Ipv4Addr,
    /// IPv6 address on `eth0` (`fd54::N/64`).
    pub ip6: Ipv6Addr,
}

impl Net {
    /// Creates the switch namespace and its bridge. `test` names every namespace (keep it short:
    /// it is part of the names; interfaces inside use fixed short names).
    pub(crate) fn new(test: &str) -> Net {
        let prefix = format!("phm-{test}");
        // Leftovers of an earlier run of this test that was killed without unwinding.
        if let Ok(dir) = std::fs::read_dir("/run/netns") {
            for e in dir.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n == prefix || n.starts_with(&format!("{prefix}-")) {
                    delete_netns(&n);
                }
            }
        }
        let switch = format!("{prefix}-sw");
        let net = Net {
            prefix,
            switch: switch.clone(),
            pods: Vec::new(),
            procs: Vec::new(),
            logs: tempfile::Builder::new()
                .prefix("phimesh-netns-")
                .tempdir()
                .expect("temp dir"),
        };
        let out = Command::new("ip").args(["netns", "add", &switch]).output();
        match out {
            Ok(o) if o.status.success() => {}
            other => panic!(
                "`ip netns add {switch}` failed: {other:?}; namespace tests need root and \
                 iproute2 (set {SKIP_ENV}=1 to skip them explicitly)"
            ),
        }
        ip(&["-n", &switch, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &switch, "link", "set", "br0", "up"]);
        ip(&["-n", &switch, "link", "set", "lo", "up"]);
        net
    }

    /// Adds a pod: namespace, veth pair to the bridge, `lo` up, addresses `10.254.0.N` and `fd54::N`.
    pub(crate) fn pod(&mut self, name: &str) -> Pod {
        let n = self.pods.len() + 2;
        assert!(n < 250, "too many pods");
        let ns = format!("{}-{name}", self.prefix);
        let out = Command::new("ip").args(["netns", "add", &ns]).output();
        assert!(
            matches!(&out, Ok(o) if o.status.success()),
            "`ip netns add {ns}` failed: {out:?}"
        );
        self.pods.push(ns.clone());
        let host_side = format!("v{n}");
        let ip4 = Ipv4Addr::new(10, 254, 0, n as u8);
        let ip6: Ipv6Addr = format!("fd54::{n:x}").parse().unwrap();
        let sw = self.switch.as_str();
        ip(&[
            "-n", sw, "link", "add", &host_side, "type", "veth", "peer", "name", "eth0", "netns",
            &ns,
        ]);
        ip(&["-n", sw, "link", "set", &host_side, "master", "br0"]);
        ip(&["-n", sw, "link", "set", &host_side, "up"]);
        ip(&["-n", &ns, "link", "set", "lo", "up"]);
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{ip4}/24"),
            "dev",
            "eth0",
        ]);
        // nodad: usable at once, no duplicate-address-detection wait.
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{ip6}/64"),
            "dev",
            "eth0",
            "nodad",
        ]);
        ip(&["-n", &ns, "link", "set", "eth0", "up"]);
        Pod {
            name: name.to_string(),
            ns,
            ip: ip4,
            ip6,
        }
    }

    /// Directory for this test's logs and files (removed with the `Net`).
    pub(crate) fn dir(&self) -> &Path {
        self.logs.path()
    }

    /// Starts a long-running process; its stdout and stderr go to files named after `label`.
    /// It is killed when the `Net` is dropped (or earlier with [`Net::stop`]).
    pub(crate) fn spawn(&mut self, label: &str, mut cmd: Command) -> usize {
        let stdout = self.logs.path().join(format!("{label}.stdout"));
        let stderr = self.logs.path().join(format!("{label}.stderr"));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).unwrap())
            .stderr(File::create(&stderr).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {label} ({cmd:?}): {e}"));
        self.procs.push(Proc {
            label: label.to_string(),
            child,
            stdout,
            stderr,
        });
        self.procs.len() - 1
    }

    /// Starts `phimesh ca` in `host` as process `ca`, listening on port 15012 of the host's
    /// address, with its state in `dir/ca`, the workload tokens of `dir/tokens` and `extra`
    /// arguments; waits until it listens, then makes the state directory and the trust bundle
    /// readable by the sidecars (they run as another UID). Returns the trust bundle's path.
    pub(crate) fn start_ca(&mut self, host: &Pod, dir: &Path, extra: &[String]) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let mut ca = host.cmd(phimesh_bin());
        ca.arg("ca")
            .arg("--state-dir")
            .arg(dir.join("ca"))
            .arg("--tokens")
            .arg(dir.join("tokens"))
            .args(extra)
            .args(["--listen", &host.addr(15012).to_string()])
            .args(["--server-name", &host.ip.to_string()])
            .env("PHIMESH_LOG", "warn");
        self.spawn("ca", ca);
        wait_for("the CA to listen", Duration::from_secs(30), || {
            self.proc("ca")
                .stderr()
                .contains("phimesh ca: listening on")
                .then_some(())
        });
        let bundle = dir.join("ca").join("trust-bundle.pem");
        std::fs::set_permissions(dir.join("ca"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&bundle, std::fs::Permissions::from_mode(0o644)).unwrap();
        bundle
    }

    /// The process started as `label`.
    pub(crate) fn proc(&mut self, label: &str) -> &mut Proc {
        self.procs
            .iter_mut()
            .find(|p| p.label == label)
            .unwrap_or_else(|| panic!("no process {label}"))
    }

    /// Everything every process wrote so far, for failure messages.
    pub(crate) fn logs(&self) -> String {
        let mut s = String::new();
        for p in &self.procs {
            s.push_str(&format!(
                "--- {} stdout ---\n{}\n--- {} stderr ---\n{}\n",
                p.label,
                p.stdout(),
                p.label,
                p.stderr()
            ));
        }
        s
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for p in &mut self.procs {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
        for ns in self.pods.iter().rev() {
            delete_netns(ns);
        }
        delete_netns(&self.switch);
    }
}

/// A process started by [`Net::spawn`].
pub(crate) struct Proc {
    /// Its label.
    pub label: String,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Proc {
    /// What it wrote to stdout so far.
    pub(crate) fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// What it wrote to stderr so far.
    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Whether it is still running; its exit status if not.
    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Sends SIGTERM (through `kill`, the only signal tool the harness needs) and waits up to
    /// `within` for the exit; SIGKILL after that. Returns the exit status.
    pub(crate) fn terminate(&mut self, within: Duration) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(st) = self.exited() {
                return st;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        self.child.wait().unwrap()
    }
}

impl Pod {
    /// `ip netns exec <ns> <program>`: a command run inside the pod (as root).
    pub(crate) fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns, program]);
        c
    }

    /// A command run inside the pod as `uid` (and the same GID, no supplementary groups).
    pub(crate) fn cmd_as(&self, uid: u32, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns, "setpriv"])
            .arg(format!("--reuid={uid}"))
            .arg(format!("--regid={uid}"))
            .args(["--clear-groups", "--", program]);
        c
    }

    /// The pod's IPv4 address with `port`.
    pub(crate) fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.ip), port)
    }

    /// The pod's IPv6 address with `port`.
    pub(crate) fn addr6(&self, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V6(self.ip6), port)
    }

    /// Runs `phimesh init` with `flags` inside the pod, asserting success.
    pub(crate) fn init(&self, flags: &[&str]) -> Output {
        run(self.cmd(phimesh_bin()).arg("init").args(flags))
    }

    /// `iptables-save -t nat` (or `ip6tables-save`) of the pod, without comment lines.
    pub(crate) fn nat_rules(&self, v6: bool) -> String {
        let save = if v6 {
            "ip6tables-save"
        } else {
            "iptables-save"
        };
        let out = run(self.cmd(save).args(["-t", "nat"]));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    /// `curl` inside the pod as `uid`: returns (exit status ok, body). Bounded by `--max-time`.
    pub(crate) fn curl(&self, uid: u32, args: &[&str]) -> (bool, String) {
        let out = self
            .cmd_as(uid, "curl")
            .args(["-sS", "--max-time", "10"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run curl");
        let mut body = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            body.push_str(&String::from_utf8_lossy(&out.stderr));
        }
        (out.status.success(), body)
    }

    /// Serves `addr` inside the pod: a thread joins the pod's namespace, binds (a bind error
    /// panics here, in the test), and runs `handler` for every accepted connection on a
    /// current-thread runtime until the returned [`Server`] is dropped.
    pub(crate) fn serve<H, Fut>(&self, addr: SocketAddr, handler: H) -> Server
    where
        H: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let ns = self.ns.clone();
        let (bound_tx, bound_rx) = mpsc::sync_channel::<Result<SocketAddr, String>>(1);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("{ns}:{addr}"))
            .spawn(move || {
                let setup = || -> Result<std::net::TcpListener, String> {
                    enter_netns(&ns)?;
                    let l = std::net::TcpListener::bind(addr)
                        .map_err(|e| format!("bind {addr} in {ns}: {e}"))?;
                    l.set_nonblocking(true).map_err(|e| e.to_string())?;
                    Ok(l)
                };
                let listener = match setup() {
                    Ok(l) => {
                        let _ = bound_tx.send(Ok(l.local_addr().unwrap()));
                        l
                    }
                    Err(e) => {
                        let _ = bound_tx.send(Err(e));
                        return;
                    }
                };
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    let mut stop_rx = stop_rx;
                    loop {
                        tokio::select! {
                            _ = &mut stop_rx => break,
                            r = listener.accept() => match r {
                                Ok((s, _)) => { tokio::spawn(handler(s)); }
                                Err(e) => { eprintln!("accept: {e}"); }
                            },
                        }
                    }
                });
            })
            .unwrap();
        let addr = bound_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("server thread started")
            .unwrap_or_else(|e| panic!("{e}"));
        Server {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

/// Moves the calling thread into network namespace `ns` (`setns(2)`, network namespaces are
/// per thread).
pub(crate) fn enter_netns(ns: &str) -> Result<(), String> {
    let f = File::open(Path::new("/run/netns").join(ns))
        .map_err(|e| format!("open netns {ns}: {e}"))?;
    rustix::thread::move_into_link_name_space(
        std::os::fd::AsFd::as_fd(&f),
        Some(rustix::thread::LinkNameSpaceType::Network),
    )
    .map_err(|e| format!("setns {ns}: {e}"))
}

/// An in-process server inside a pod; stops when dropped.
pub(crate) struct Server {
    /// The bound address.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Polls `f` every 50 ms until it returns `Some`, for at most `within`; panics with `what`.
pub(crate) fn wait_for<T>(what: &str, within: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A tiny HTTP/1.1 responder: reads the request head, answers `200` with `body`, closes.
pub(crate) async fn http_reply(mut s: tokio::net::TcpStream, body: String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65536 {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let resp = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = s.write_all(resp.as_bytes()).await;
    let _ = s.shutdown().await;
}
