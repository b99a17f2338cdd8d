//! `cargo bench --bench proxy`: what a sidecar pair costs. Each path is measured in the same run:
//!
//! * **direct**: load generator → app;
//! * **pair**: load generator → sidecar A (explicit `--route`, outbound) → mesh mTLS (`--peer`
//!   mapping to B's inbound listener) → sidecar B (`--inbound-forward`) → app; three times:
//!   * **inspection on**: the default, each byte scanned once, by the sidecar that sends it over
//!     the mesh hop (A the request, B the answer; `--mesh-inspection sender`);
//!   * **inspection on, both ends**: scanned again where it arrives (`--mesh-inspection both`);
//!   * **inspection off**.
//!
//! Three kinds of load, each over keep-alive HTTP/1.1 and over h2 (prior knowledge):
//!
//! * **closed loop**: 8 clients (HTTP/1.1: 8 connections; h2: 8 concurrent streams on one
//!   connection) each POST 1 KiB of JSON and read a 1 KiB JSON answer back to back: requests per
//!   second, p50, p99. This is saturation, so its latency is mostly queueing;
//! * **fixed rate** ("moderate load"): 1,000 requests/s spread over the same clients; when a client
//!   falls behind its schedule the latency counts from the scheduled time (no coordinated
//!   omission). The p99 the pair adds here is the ≤ 1 ms target;
//! * **streaming**: one POST of a 64 MiB body in 64 KiB chunks (digit-heavy NDJSON log lines,
//!   checked clean by the engine, not zeros) into a sink that drains it: MB/s (10^6 bytes/s).
//!
//! Everything runs in this process, but as in a deployment each role has its own
//! multi-threaded tokio runtime with a worker per core, like its own process: the load
//! generator, the app, sidecar A and sidecar B (`Proxy::start`, identities from `TestPki`) share
//! the machine's cores the way a pod's containers share a node's. (`--one-runtime` puts them all
//! on one runtime instead.) The whole set is repeated `--runs` times (3 by default); the tables
//! give the median and, in brackets, the min–max over the runs. Beside each number is the
//! process's CPU time (every thread, from `/proc/self/task/*/schedstat`) per request or per GB:
//! on a shared machine it is much steadier than latency or throughput, and it says how far the
//! cores could carry the load.
//!
//! A custom main (`harness = false`) rather than criterion: these are load runs with latency
//! percentiles, not per-iteration timings, and the paths must be compared within one run. It
//! prints Markdown tables.
//!
//! * `cargo bench --bench proxy` — full: 1 s warm-up + 5 s per load run, 3 streams per path,
//!   3 runs (about 7 minutes);
//! * `cargo bench --bench proxy -- --quick` (or `PHIMESH_BENCH_QUICK=1`) — 0.3 s + 1.5 s, one
//!   stream, one run; `--runs N` overrides the number of runs; `--only LIST` runs part of it (a
//!   comma list of `closed`, `rate`, `stream`, `direct`, `on`, `both`, `off`, `h1`, `h2`) and
//!   `--clients N` changes the 8 clients (both for profiling);
//! * without `--bench` (`cargo test --all-targets` runs it that way) — a smoke test: a few
//!   requests on every path and a 1 MiB stream, failing on any error.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use phimesh_detect::{Engine, StreamOptions, Verdict};
use phimesh_identity::testing::TestPki;
use phimesh_proxy::audit::AuditSink;
use phimesh_proxy::config::{IdentitySource, MeshInspection, ProxyConfig, Route};
use phimesh_proxy::{Proxy, RunningProxy};
use phimesh_testkit::client::{chunked, full, request, Conn, Proto, ReqBody};
use tokio::net::TcpListener;
use tokio::runtime::Handle;

/// Request and answer size of the latency runs.
const SMALL: usize = 1024;
/// Chunk size of the streamed body.
const CHUNK: usize = 64 << 10;

#[derive(Debug, Clone)]
struct Settings {
    warmup: Duration,
    measure: Duration,
    clients: usize,
    rate: u64,
    stream_bytes: usize,
    streams: usize,
    runs: usize,
    smoke: bool,
    /// `--only LIST`: part of the bench (for profiling); see [`wanted`].
    only: Option<String>,
    /// `--one-runtime`: every role on the load generator's runtime.
    one_runtime: bool,
}

impl Settings {
    fn from_args() -> Settings {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let bench = args.iter().any(|a| a == "--bench");
        let quick = args.iter().any(|a| a == "--quick")
            || std::env::var("PHIMESH_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let runs = args
            .iter()
            .position(|a| a == "--runs")
            .and_then(|i| args.get(i + 1))
            .and_then(|n| n.parse::<usize>().ok())
            .map(|n| n.clamp(1, 20));
        let mut s = if !bench {
            Settings {
                warmup: Duration::from_millis(50),
                measure: Duration::from_millis(200),
                clients: 2,
                rate: 100,
                stream_bytes: 1 << 20,
                streams: 1,
                runs: 1,
                smoke: true,
                only: None,
                one_runtime: false,
            }
        } else if quick {
            Settings {
                warmup: Duration::from_millis(300),
                measure: Duration::from_millis(1500),
                clients: 8,
                rate: 1000,
                stream_bytes: 64 << 20,
                streams: 1,
                runs: 1,
                smoke: false,
                only: None,
                one_runtime: false,
            }
        } else {
            Settings {
                warmup: Duration::from_secs(1),
                measure: Duration::from_secs(5),
                clients: 8,
                rate: 1000,
                stream_bytes: 64 << 20,
                streams: 3,
                runs: 3,
                smoke: false,
                only: None,
                one_runtime: false,
            }
        };
        if let Some(n) = runs {
            s.runs = n;
        }
        if let Some(n) = args
            .iter()
            .position(|a| a == "--clients")
            .and_then(|i| args.get(i + 1))
            .and_then(|n| n.parse::<usize>().ok())
        {
            s.clients = n.clamp(1, 256);
        }
        s.one_runtime = args.iter().any(|a| a == "--one-runtime");
        s.only = args
            .iter()
            .position(|a| a == "--only")
            .and_then(|i| args.get(i + 1))
            .cloned();
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Content: clean, digit-heavy NDJSON (the same shape as `benches/scan.rs`'s API log).

/// Exactly `len` bytes of JSON log lines, the last one padded.
fn ndjson(len: usize, seed: u64) -> Bytes {
    let mut out = Vec::with_capacity(len);
    for line in phimesh_detect::bench_data::ApiLogLines::new(seed) {
        // Room for `{"pad":""}\n` (11 bytes) after the last full line.
        if out.len() + line.len() + 11 > len {
            break;
        }
        out.extend_from_slice(line.as_bytes());
    }
    let pad = len - out.len() - 11;
    out.extend_from_slice(b"{\"pad\":\"");
    out.extend(std::iter::repeat_n(b'x', pad));
    out.extend_from_slice(b"\"}\n");
    assert_eq!(out.len(), len);
    Bytes::from(out)
}

fn assert_clean(engine: &Engine, name: &str, data: &[u8]) {
    let mut s = engine.scanner(StreamOptions::default()).expect("scanner");
    s.feed(data).expect("feed");
    let report = s.finish().expect("finish");
    assert_eq!(
        report.verdict,
        Verdict::Clean,
        "{name} must be clean: {:?}",
        report.findings.iter().map(|f| f.kind).collect::<Vec<_>>()
    );
}

/// The engine alone on the streamed body, fed in `chunk`-byte pieces, on one core: MB/s. Each
/// sidecar of the pair scans every byte once, in the pieces its connection delivers (h2 DATA
/// frames are 16 KiB).
fn scan_speed(engine: &Engine, data: &Bytes, chunk: usize) -> f64 {
    let mut s = engine.scanner(StreamOptions::default()).expect("scanner");
    let t = Instant::now();
    for c in data.chunks(chunk) {
        s.feed(c).expect("feed");
    }
    let report = s.finish().expect("finish");
    std::hint::black_box(report);
    data.len() as f64 / t.elapsed().as_secs_f64() / 1e6
}

/// One scanner per 1 KiB message, opened, fed and finished, on one core: microseconds each.
/// Each sidecar opens four per exchange (request head and body, response head and body).
fn small_scan(engine: &Engine, msg: &Bytes, n: u32) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        let mut s = engine.scanner(StreamOptions::default()).expect("scanner");
        s.feed(msg).expect("feed");
        std::hint::black_box(s.finish().expect("finish"));
    }
    t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

// ---------------------------------------------------------------------------------------------
// The app: answers `/api` with 1 KiB of JSON after reading the request, drains `/sink`.

async fn app(req: Request<Incoming>, answer: Bytes) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let sink = req.uri().path() == "/sink";
    let mut body = req.into_body();
    let mut n = 0u64;
    while let Some(f) = body.frame().await {
        if let Ok(d) = f?.into_data() {
            n += d.len() as u64;
        }
    }
    let out = if sink {
        Bytes::from(format!("{{\"received\":{n}}}"))
    } else {
        answer
    };
    Ok(Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(out))
        .expect("response"))
}

/// The app (HTTP/1.1 and h2, the sidecars' h2 windows) on 127.0.0.1.
async fn start_app(answer: Bytes) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind app");
    let addr = l.local_addr().expect("app addr");
    phimesh_testkit::server::serve(l, None, move |req| app(req, answer.clone()));
    addr
}

// ---------------------------------------------------------------------------------------------
// The sidecar pair.

struct Pair {
    a: RunningProxy,
    b: RunningProxy,
    entry: SocketAddr,
    audit: Arc<Mutex<Vec<String>>>,
}

/// Where each role's tasks run.
struct Roles {
    app: Handle,
    a: Handle,
    b: Handle,
}

/// What a pair inspects: nothing, each hop at its sending end (the default), or at both ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inspection {
    Off,
    Sender,
    Both,
}

async fn start_pair(pki: &TestPki, app: SocketAddr, inspection: Inspection, roles: &Roles) -> Pair {
    let (audit, lines) = AuditSink::memory();
    let inspect = inspection != Inspection::Off;
    let mesh_inspection = if inspection == Inspection::Both {
        MeshInspection::Both
    } else {
        MeshInspection::Sender
    };
    let b = roles.b.spawn(Proxy::start(ProxyConfig {
        identity: Some(IdentitySource::Static(
            pki.identity("spiffe://cluster.local/ns/bench/sa/app"),
        )),
        inbound_listen: "127.0.0.1:0".parse().expect("addr"),
        inbound_forward: Some(app),
        inspect,
        mesh_inspection,
        audit: audit.clone(),
        ..ProxyConfig::default()
    }));
    let b = b.await.expect("start task").expect("sidecar B starts");
    let b_inbound = b.inbound.expect("B inbound listener");
    let a = roles.a.spawn(Proxy::start(ProxyConfig {
        identity: Some(IdentitySource::Static(
            pki.identity("spiffe://cluster.local/ns/bench/sa/client"),
        )),
        mesh_networks: vec![format!("{}/32", app.ip()).parse().expect("cidr")],
        routes: vec![Route {
            listen: "127.0.0.1:0".parse().expect("addr"),
            upstream: app,
        }],
        peers: [(app, b_inbound)].into_iter().collect(),
        inspect,
        mesh_inspection,
        audit,
        ..ProxyConfig::default()
    }));
    let a = a.await.expect("start task").expect("sidecar A starts");
    let entry = a.routes[0].0;
    Pair {
        a,
        b,
        entry,
        audit: lines,
    }
}

// ---------------------------------------------------------------------------------------------
// The load generator.

/// A protocol's name for `--only`.
fn key(proto: Proto) -> &'static str {
    match proto {
        Proto::H1 => "h1",
        Proto::H2 => "h2",
    }
}

async fn connect(addr: SocketAddr, proto: Proto) -> Conn {
    Conn::connect(addr, proto).await.expect("connect")
}

/// One exchange; returns the answer's body. An error is a short reason.
async fn post(tx: &mut Conn, addr: SocketAddr, path: &str, body: ReqBody) -> Result<Bytes, String> {
    let uri = match tx {
        Conn::H1(_) => path.to_owned(),
        Conn::H2(_) => format!("http://{addr}{path}"),
    };
    let host = addr.to_string();
    let headers = [
        ("host", host.as_str()),
        ("content-type", "application/x-ndjson"),
    ];
    let r = tx.send(request("POST", &uri, &headers, body)).await?;
    if r.status != StatusCode::OK {
        return Err(format!("status {}", r.status));
    }
    Ok(r.body)
}

async fn post_small(tx: &mut Conn, addr: SocketAddr, payload: &Bytes) -> Result<(), String> {
    let b = post(tx, addr, "/api", full(payload.clone())).await?;
    if b.len() != SMALL {
        return Err(format!("answer of {} bytes", b.len()));
    }
    Ok(())
}

/// The clients of one load run: 8 HTTP/1.1 connections or 8 handles on one h2 connection.
async fn clients(addr: SocketAddr, proto: Proto, n: usize) -> Vec<Conn> {
    match proto {
        Proto::H1 => {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(connect(addr, proto).await);
            }
            v
        }
        Proto::H2 => {
            let first = connect(addr, proto).await;
            let mut v: Vec<Conn> = (1..n).filter_map(|_| first.h2_clone()).collect();
            v.push(first);
            v
        }
    }
}

#[derive(Debug, Default)]
struct Load {
    /// Latencies in microseconds of requests completed within the measured window.
    lat_us: Vec<u32>,
    errors: usize,
    first_error: Option<String>,
    window: Duration,
    /// CPU time of this whole process (every thread) during the measured window.
    cpu: Duration,
}

impl Load {
    fn merge(&mut self, o: Load) {
        self.lat_us.extend(o.lat_us);
        self.errors += o.errors;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }
    fn rps(&self) -> f64 {
        self.lat_us.len() as f64 / self.window.as_secs_f64()
    }
    /// Process CPU microseconds per completed request (load generator, app and sidecars).
    fn cpu_us_per_req(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.lat_us.len().max(1) as f64
    }
    fn pct_ms(&mut self, p: f64) -> f64 {
        if self.lat_us.is_empty() {
            return f64::NAN;
        }
        self.lat_us.sort_unstable();
        let i = ((self.lat_us.len() as f64 * p).ceil() as usize).clamp(1, self.lat_us.len()) - 1;
        f64::from(self.lat_us[i]) / 1000.0
    }
}

/// CPU time used so far by this process, all threads: the sum of `/proc/self/task/*/schedstat`
/// run times (nanoseconds; threads that exited are not counted, tokio's workers live on).
fn cpu_time() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let ns: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}

/// CPU time of the process between `from` and `to` (a task that wakes at both).
fn cpu_probe(from: Instant, to: Instant) -> tokio::task::JoinHandle<Duration> {
    tokio::spawn(async move {
        tokio::time::sleep_until(from.into()).await;
        let a = cpu_time();
        tokio::time::sleep_until(to.into()).await;
        cpu_time().saturating_sub(a)
    })
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u128::from(u32::MAX)) as u32
}

/// Closed loop: every client sends its next request as soon as the last one is answered.
async fn closed_loop(addr: SocketAddr, proto: Proto, s: &Settings, payload: &Bytes) -> Load {
    let senders = clients(addr, proto, s.clients).await;
    let t0 = Instant::now();
    let (from, to) = (t0 + s.warmup, t0 + s.warmup + s.measure);
    let probe = cpu_probe(from, to);
    let mut tasks = tokio::task::JoinSet::new();
    for mut tx in senders {
        let payload = payload.clone();
        tasks.spawn(async move {
            let mut l = Load::default();
            while Instant::now() < to {
                let start = Instant::now();
                let r = post_small(&mut tx, addr, &payload).await;
                let end = Instant::now();
                if end < from || end >= to {
                    continue;
                }
                match r {
                    Ok(()) => l.lat_us.push(micros(end - start)),
                    Err(e) => {
                        l.errors += 1;
                        l.first_error.get_or_insert(e);
                    }
                }
            }
            l
        });
    }
    let mut total = Load {
        window: s.measure,
        ..Load::default()
    };
    while let Some(l) = tasks.join_next().await {
        total.merge(l.expect("client task"));
    }
    total.cpu = probe.await.expect("cpu probe");
    total
}

/// Fixed rate: request `i` is due at `t0 + i / rate`. HTTP/1.1 request `i` goes on connection
/// `i % clients`; a request that cannot start on time because its connection is still busy
/// counts its latency from when it was due. h2 requests are each started on time on their own
/// stream.
async fn fixed_rate(addr: SocketAddr, proto: Proto, s: &Settings, payload: &Bytes) -> Load {
    let senders = clients(addr, proto, s.clients).await;
    let t0 = Instant::now() + Duration::from_millis(10);
    let (from, to) = (t0 + s.warmup, t0 + s.warmup + s.measure);
    let probe = cpu_probe(from, to);
    let rate = s.rate;
    let due = move |i: u64| t0 + Duration::from_nanos(i * 1_000_000_000 / rate);
    fn record(l: &mut Load, from: Instant, due: Instant, start: Instant, r: Result<(), String>) {
        if due < from {
            return;
        }
        match r {
            Ok(()) => l.lat_us.push(micros(start.elapsed())),
            Err(e) => {
                l.errors += 1;
                l.first_error.get_or_insert(e);
            }
        }
    }
    let mut total = Load {
        window: s.measure,
        ..Load::default()
    };
    let mut tasks = tokio::task::JoinSet::new();
    match proto {
        Proto::H1 => {
            let n = senders.len() as u64;
            for (k, mut tx) in senders.into_iter().enumerate() {
                let payload = payload.clone();
                tasks.spawn(async move {
                    let mut l = Load::default();
                    for j in 0.. {
                        let at = due(j * n + k as u64);
                        if at >= to {
                            break;
                        }
                        let start = if Instant::now() < at {
                            tokio::time::sleep_until(at.into()).await;
                            Instant::now()
                        } else {
                            at // behind schedule: the wait counts
                        };
                        let r = post_small(&mut tx, addr, &payload).await;
                        record(&mut l, from, at, start, r);
                    }
                    l
                });
            }
        }
        Proto::H2 => {
            let first = senders.into_iter().next().expect("a sender");
            for i in 0.. {
                let at = due(i);
                if at >= to {
                    break;
                }
                if Instant::now() < at {
                    tokio::time::sleep_until(at.into()).await;
                }
                let start = Instant::now();
                let mut tx = first.h2_clone().expect("h2");
                let payload = payload.clone();
                tasks.spawn(async move {
                    let mut l = Load::default();
                    let r = post_small(&mut tx, addr, &payload).await;
                    record(&mut l, from, at, start, r);
                    l
                });
            }
        }
    }
    while let Some(l) = tasks.join_next().await {
        total.merge(l.expect("client task"));
    }
    total.cpu = probe.await.expect("cpu probe");
    total
}

/// One streamed upload on a fresh connection; returns MB/s (10^6 bytes/s) and the process's
/// CPU seconds per GB (10^9 bytes).
async fn stream_once(addr: SocketAddr, proto: Proto, data: &Bytes) -> Result<(f64, f64), String> {
    let mut tx = connect(addr, proto).await;
    let n = data.len().div_ceil(CHUNK);
    let chunks = (0..n)
        .map(|i| data.slice(i * CHUNK..((i + 1) * CHUNK).min(data.len())))
        .collect();
    let start = Instant::now();
    let cpu0 = cpu_time();
    let answer = post(&mut tx, addr, "/sink", chunked(chunks, Duration::ZERO)).await?;
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_time().saturating_sub(cpu0).as_secs_f64();
    let want = format!("{{\"received\":{}}}", data.len());
    if answer != want.as_bytes() {
        return Err("sink did not receive the whole body".into());
    }
    let gb = data.len() as f64 / 1e9;
    Ok((gb * 1e3 / secs, cpu / gb))
}

// ---------------------------------------------------------------------------------------------
// Results.

const PATHS: [&str; 4] = [
    "direct",
    "pair, inspection on",
    "pair, inspection on, both ends",
    "pair, inspection off",
];
/// Their names for `--only`.
const PATH_KEYS: [&str; 4] = ["direct", "on", "both", "off"];

/// `--only a,b,...`: a token of a dimension (kinds, paths, protocols) is wanted when the list
/// names it or names nothing of that dimension.
fn wanted(only: &Option<String>, token: &str, dimension: &[&str]) -> bool {
    let Some(o) = only else { return true };
    let list: Vec<&str> = o.split(',').map(str::trim).collect();
    list.contains(&token) || !list.iter().any(|t| dimension.contains(t))
}

/// One run's numbers for one protocol and path.
#[derive(Debug, Default, Clone)]
struct Cell {
    closed_rps: f64,
    closed_p50: f64,
    closed_p99: f64,
    closed_cpu: f64,
    rate_rps: f64,
    rate_p50: f64,
    rate_p99: f64,
    rate_cpu: f64,
    stream_mbs: f64,
    stream_cpu: f64,
    errors: usize,
}

fn median_spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    v.sort_by(f64::total_cmp);
    let m = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    (m, v[0], v[v.len() - 1])
}

/// `median (min–max)` with `prec` decimals; the bracket only with more than one run.
fn fmt(v: Vec<f64>, prec: usize) -> String {
    let runs = v.len();
    let (m, lo, hi) = median_spread(v);
    if runs > 1 {
        format!("{m:.prec$} ({lo:.prec$}–{hi:.prec$})")
    } else {
        format!("{m:.prec$}")
    }
}

fn fmt_signed(v: Vec<f64>, prec: usize) -> String {
    let runs = v.len();
    let (m, lo, hi) = median_spread(v);
    if runs > 1 {
        format!("{m:+.prec$} ({lo:+.prec$}–{hi:+.prec$})")
    } else {
        format!("{m:+.prec$}")
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn main() {
    let s = Settings::from_args();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = |name: &str| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name(name)
            .enable_all()
            .build()
            .expect("runtime")
    };
    let load = runtime("load");
    // Built (and dropped, after `block_on`) outside any async context.
    let others =
        (!s.one_runtime).then(|| [runtime("app"), runtime("sidecar-a"), runtime("sidecar-b")]);
    let handle = |i: usize| {
        others
            .as_ref()
            .map_or_else(|| load.handle().clone(), |o| o[i].handle().clone())
    };
    let roles = Roles {
        app: handle(0),
        a: handle(1),
        b: handle(2),
    };
    load.block_on(bench(s, workers, roles));
    drop(others);
}

async fn bench(s: Settings, workers: usize, roles: Roles) {
    let engine = Engine::new().expect("engine");
    let payload = ndjson(SMALL, 0x9e37_79b9_7f4a_7c15);
    let answer = ndjson(SMALL, 0x2545_f491_4f6c_dd1d);
    let big = ndjson(s.stream_bytes, 0x243f_6a88_85a3_08d3);
    assert_clean(&engine, "request", &payload);
    assert_clean(&engine, "answer", &answer);
    assert_clean(&engine, "streamed body", &big);
    let scan_mbs = scan_speed(&engine, &big, CHUNK);
    let scan16_mbs = scan_speed(&engine, &big, 16 << 10);
    let small_scan_us = small_scan(&engine, &payload, if s.smoke { 10 } else { 20_000 });
    drop(engine);

    let app = roles
        .app
        .spawn(start_app(answer))
        .await
        .expect("app starts");
    let pki = TestPki::new("cluster.local");
    let on = start_pair(&pki, app, Inspection::Sender, &roles).await;
    let both = start_pair(&pki, app, Inspection::Both, &roles).await;
    let off = start_pair(&pki, app, Inspection::Off, &roles).await;
    let entries = [app, on.entry, both.entry, off.entry];
    let protos = [Proto::H1, Proto::H2];
    let load_start = load_average();
    println!(
        "proxy bench: {} run(s), {} clients, {:?} warm-up + {:?} per load run, fixed rate {} req/s, \
         {} MiB stream x{}; {} with {workers} workers each, {} cores, rustls/{}; load average {load_start}",
        s.runs,
        s.clients,
        s.warmup,
        s.measure,
        s.rate,
        s.stream_bytes >> 20,
        s.streams,
        if s.one_runtime {
            "one runtime"
        } else {
            "a runtime per role (load generator, app, sidecar A, sidecar B)"
        },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        phimesh_identity::tls::PROVIDER_NAME,
    );

    // results[run][proto][path]
    let mut results: Vec<[[Cell; 4]; 2]> = Vec::new();
    let mut failures = Vec::new();
    for run in 0..s.runs {
        let mut r: [[Cell; 4]; 2] = Default::default();
        let wants = |kind: &str, k: usize| {
            wanted(&s.only, kind, &["closed", "rate", "stream"])
                && wanted(&s.only, PATH_KEYS[k], &PATH_KEYS)
        };
        for (pi, &proto) in protos.iter().enumerate() {
            if !wanted(&s.only, key(proto), &["h1", "h2"]) {
                continue;
            }
            for (k, &addr) in entries.iter().enumerate() {
                if !wants("closed", k) {
                    continue;
                }
                let mut l = closed_loop(addr, proto, &s, &payload).await;
                let c = &mut r[pi][k];
                c.closed_rps = l.rps();
                c.closed_p50 = l.pct_ms(0.50);
                c.closed_p99 = l.pct_ms(0.99);
                c.closed_cpu = l.cpu_us_per_req();
                c.errors += l.errors;
                if let Some(e) = l.first_error {
                    failures.push(format!("{} {} closed loop: {e}", proto.name(), PATHS[k]));
                }
            }
            for (k, &addr) in entries.iter().enumerate() {
                if !wants("rate", k) {
                    continue;
                }
                let mut l = fixed_rate(addr, proto, &s, &payload).await;
                let c = &mut r[pi][k];
                c.rate_rps = l.rps();
                c.rate_p50 = l.pct_ms(0.50);
                c.rate_p99 = l.pct_ms(0.99);
                c.rate_cpu = l.cpu_us_per_req();
                c.errors += l.errors;
                if let Some(e) = l.first_error {
                    failures.push(format!("{} {} fixed rate: {e}", proto.name(), PATHS[k]));
                }
            }
            for (k, &addr) in entries.iter().enumerate() {
                if !wants("stream", k) {
                    continue;
                }
                let (mut v, mut cpu) = (Vec::new(), Vec::new());
                for _ in 0..s.streams {
                    match stream_once(addr, proto, &big).await {
                        Ok((mbs, c)) => {
                            v.push(mbs);
                            cpu.push(c);
                        }
                        Err(e) => {
                            r[pi][k].errors += 1;
                            failures.push(format!("{} {} stream: {e}", proto.name(), PATHS[k]));
                        }
                    }
                }
                r[pi][k].stream_mbs = median_spread(v).0;
                r[pi][k].stream_cpu = median_spread(cpu).0;
            }
            for (k, c) in r[pi].iter().enumerate() {
                println!(
                    "run {} {:8} {:21} closed {:6.0} req/s p50 {:.3} p99 {:.3} ms {:.0} µs CPU | {} req/s p50 {:.3} p99 {:.3} ms {:.0} µs CPU | stream {:.0} MB/s {:.2} s/GB CPU | errors {}",
                    run + 1,
                    proto.name(),
                    PATHS[k],
                    c.closed_rps,
                    c.closed_p50,
                    c.closed_p99,
                    c.closed_cpu,
                    s.rate,
                    c.rate_p50,
                    c.rate_p99,
                    c.rate_cpu,
                    c.stream_mbs,
                    c.stream_cpu,
                    c.errors
                );
            }
        }
        results.push(r);
    }
    let load_end = load_average();

    // Inspection really ran on the "on" pair (and not on the "off" one), and found nothing.
    let inspected = |p: &Pair| {
        let a = &p.a.metrics().inspected_bytes;
        let b = &p.b.metrics().inspected_bytes;
        a.with_label_values(&["outbound"]).get()
            + a.with_label_values(&["inbound"]).get()
            + b.with_label_values(&["outbound"]).get()
            + b.with_label_values(&["inbound"]).get()
    };
    let (on_bytes, both_bytes, off_bytes) = (inspected(&on), inspected(&both), inspected(&off));
    let audit_lines = [&on, &both, &off]
        .iter()
        .map(|p| p.audit.lock().map_or(0, |v| v.len()))
        .sum::<usize>();
    let handshakes = |p: &Pair| {
        p.a.metrics()
            .tls_handshakes
            .with_label_values(&["outbound", "ok"])
            .get()
    };

    let col = |pi: usize, k: usize, f: &dyn Fn(&Cell) -> f64| -> Vec<f64> {
        results.iter().map(|r| f(&r[pi][k])).collect()
    };
    let added = |pi: usize, k: usize, f: &dyn Fn(&Cell) -> f64| -> Vec<f64> {
        results
            .iter()
            .map(|r| f(&r[pi][k]) - f(&r[pi][0]))
            .collect()
    };

    println!();
    println!(
        "Closed loop, {} clients, 1 KiB POST → 1 KiB answer (latency in ms; median (min–max) over {} run(s)):",
        s.clients, s.runs
    );
    println!();
    println!("| protocol | path | req/s | p50 | p99 | p99 added | CPU µs/req |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (pi, proto) in protos.iter().enumerate() {
        for (k, path) in PATHS.iter().enumerate() {
            let add = if k == 0 {
                "—".to_owned()
            } else {
                fmt_signed(added(pi, k, &|c| c.closed_p99), 3)
            };
            println!(
                "| {} | {path} | {} | {} | {} | {add} | {} |",
                proto.name(),
                fmt(col(pi, k, &|c| c.closed_rps), 0),
                fmt(col(pi, k, &|c| c.closed_p50), 3),
                fmt(col(pi, k, &|c| c.closed_p99), 3),
                fmt(col(pi, k, &|c| c.closed_cpu), 0),
            );
        }
    }
    println!();
    println!(
        "Fixed rate {} req/s (moderate load), same requests (latency in ms):",
        s.rate
    );
    println!();
    println!(
        "| protocol | path | achieved req/s | p50 | p99 | p50 added | p99 added | CPU µs/req |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (pi, proto) in protos.iter().enumerate() {
        for (k, path) in PATHS.iter().enumerate() {
            let (a50, a99) = if k == 0 {
                ("—".to_owned(), "—".to_owned())
            } else {
                (
                    fmt_signed(added(pi, k, &|c| c.rate_p50), 3),
                    fmt_signed(added(pi, k, &|c| c.rate_p99), 3),
                )
            };
            println!(
                "| {} | {path} | {} | {} | {} | {a50} | {a99} | {} |",
                proto.name(),
                fmt(col(pi, k, &|c| c.rate_rps), 0),
                fmt(col(pi, k, &|c| c.rate_p50), 3),
                fmt(col(pi, k, &|c| c.rate_p99), 3),
                fmt(col(pi, k, &|c| c.rate_cpu), 0),
            );
        }
    }
    println!();
    println!(
        "Streaming, one {} MiB POST in 64 KiB chunks (MB/s = 10^6 bytes/s; each run's value is the median of {} stream(s)):",
        s.stream_bytes >> 20,
        s.streams
    );
    println!();
    println!("| protocol | path | MB/s | CPU s/GB |");
    println!("| --- | --- | --- | --- |");
    for (pi, proto) in protos.iter().enumerate() {
        for (k, path) in PATHS.iter().enumerate() {
            println!(
                "| {} | {path} | {} | {} |",
                proto.name(),
                fmt(col(pi, k, &|c| c.stream_mbs), 0),
                fmt(col(pi, k, &|c| c.stream_cpu), 2),
            );
        }
    }
    println!();
    println!(
        "CPU: this process's CPU time (load generator, app and sidecars, every thread) per request \
         or per GB; {workers} cores give at most {workers} s of CPU per second."
    );
    println!(
        "Engine alone on the streamed body, one core: {scan_mbs:.0} MB/s in 64 KiB chunks, \
         {scan16_mbs:.0} MB/s in 16 KiB chunks. The pair scans every byte once, at the end that \
         sends it over the mesh hop (A the request, B the answer: `--mesh-inspection sender`, the \
         default); \"both ends\" scans it again where it arrives (`--mesh-inspection both`). One \
         scanner opened, fed 1 KiB and finished: {small_scan_us:.1} µs."
    );
    println!(
        "Load average before {load_start}, after {load_end}. Bytes inspected: pair on {on_bytes}, \
         both ends {both_bytes}, off {off_bytes}; audit lines {audit_lines}; mTLS connections \
         A→B: on {}, both ends {}, off {}.",
        handshakes(&on),
        handshakes(&both),
        handshakes(&off)
    );
    on.a.shutdown(Duration::from_millis(100)).await;
    on.b.shutdown(Duration::from_millis(100)).await;
    both.a.shutdown(Duration::from_millis(100)).await;
    both.b.shutdown(Duration::from_millis(100)).await;
    off.a.shutdown(Duration::from_millis(100)).await;
    off.b.shutdown(Duration::from_millis(100)).await;

    let mut problems = failures;
    // A pair left out with `--only` inspected nothing and is no problem.
    let ran = |path: &str| wanted(&s.only, path, &PATH_KEYS);
    if (ran("on") && on_bytes == 0) || (ran("both") && both_bytes == 0) {
        problems.push("an inspecting pair inspected nothing".into());
    }
    if off_bytes != 0 {
        problems.push("the pair with inspection off inspected bytes".into());
    }
    if audit_lines != 0 {
        problems.push(format!("{audit_lines} audit lines on clean traffic"));
    }
    if !problems.is_empty() {
        for p in problems.iter().take(20) {
            eprintln!("error: {p}");
        }
        if s.smoke {
            std::process::exit(1);
        }
    }
}
