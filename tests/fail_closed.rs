//! Fail-closed end to end: on a path that refuses PHI (plaintext egress requests here) the real
//! `phimesh proxy` never falls back to a less-inspected mode. Every way found of slipping PHI
//! past it — a protocol downgrade, fake TLS, header fields read one way by the proxy and another
//! by the recipient — is refused with its own reason, counted and audited, and the recording
//! sink behind the proxy receives zero bytes of the PHI. Clean traffic on each path still
//! arrives byte-exact. A deterministic mutation fuzzer closes the file.
//!
//! Real clients (curl over HTTP/1.1, HTTP/2 and TLS, raw sockets, an OpenSSL `s_server`),
//! loopback only.

#[path = "support/proxy.rs"]
mod support_proxy;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use phimesh_testkit::codec::{grpc_frame, gzip};
use support_proxy::{contains, curl, ProxyProc, CLEAN_JSON, PHI_JSON, SSN};

fn egress(to: SocketAddr, extra: &[&str]) -> ProxyProc {
    let route = format!("127.0.0.1:0={to}");
    let mut args = vec!["--route", &route];
    args.extend_from_slice(extra);
    ProxyProc::start(&args)
}

/// curl with `args`; returns (status, response head, body bytes exactly as received).
fn curl_bytes(args: &[&str]) -> (u16, String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body");
    let body_s = body.display().to_string();
    let mut a = vec!["-D", "-", "-o", &body_s];
    a.extend_from_slice(args);
    let (code, head) = curl(&a);
    (code, head, std::fs::read(&body).unwrap_or_default())
}

/// `phimesh_refusals_total{direction="outbound",reason=REASON}` (0 when absent).
fn refusals(p: &ProxyProc, reason: &str) -> u64 {
    counter(
        &p.metrics(),
        &format!(r#"phimesh_refusals_total{{direction="outbound",reason="{reason}"}}"#),
    )
}

fn counter(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series))
        .map_or(0, |v| v.trim().parse().unwrap())
}

/// Waits (bounded) for an audit line with this reason and returns it.
fn audit_line(p: &ProxyProc, reason: &str) -> serde_json::Value {
    for _ in 0..200 {
        if let Some(a) = p.audit().into_iter().find(|a| a["reason"] == reason) {
            return a;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("no audit line with reason {reason}: {:?}", p.audit());
}

/// No PHI value in anything the proxy wrote: audit lines, logs, metrics.
fn assert_no_value_in_output(p: &ProxyProc) {
    let logs = p.stderr.lock().unwrap().join("\n");
    for needle in [SSN, "123%2D45", "Jane"] {
        assert!(!p.audit_text().contains(needle), "audit holds {needle}");
        assert!(!logs.contains(needle), "logs hold {needle}");
        assert!(!p.metrics().contains(needle), "metrics hold {needle}");
    }
}

/// What a raw exchange came to.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// A response: status and body.
    Status(u16, Vec<u8>),
    /// The connection closed (FIN) without a response.
    Closed,
    /// The connection was reset.
    Reset,
    /// Nothing within the deadline.
    Timeout,
}

impl Outcome {
    fn status(&self) -> Option<u16> {
        match self {
            Outcome::Status(s, _) => Some(*s),
            _ => None,
        }
    }
    fn json(&self) -> serde_json::Value {
        match self {
            Outcome::Status(_, b) => serde_json::from_slice(b).unwrap_or_default(),
            _ => serde_json::Value::Null,
        }
    }
}

/// Parses one HTTP/1.1 response out of `buf` if it is complete (content-length delimited).
/// A gRPC PERMISSION_DENIED is reported as 403.
fn parse_response(buf: &[u8]) -> Option<(u16, Vec<u8>)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    // A gRPC refusal (trailers-only, `grpc-status: 7`) is the HTTP 403 of gRPC: counted as one.
    let denied = head
        .lines()
        .any(|l| l.to_ascii_lowercase().replace(' ', "") == "grpc-status:7");
    let status = if denied { 403 } else { status };
    let body = &buf[end + 4..];
    (body.len() >= len).then(|| (status, body[..len].to_vec()))
}

/// Sends `parts` over a fresh connection with `pause` between them (`shutdown`: then closes
/// the write side) and reads one response until `deadline`.
fn exchange(
    addr: SocketAddr,
    parts: &[&[u8]],
    pause: Duration,
    shutdown: bool,
    deadline: Duration,
) -> Outcome {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(pause);
        }
        if s.write_all(p).is_err() {
            break;
        }
    }
    if shutdown {
        let _ = s.shutdown(std::net::Shutdown::Write);
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let left = deadline.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Outcome::Timeout;
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => {
                return parse_response(&got)
                    .map_or(Outcome::Closed, |(st, b)| Outcome::Status(st, b))
            }
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if let Some((st, b)) = parse_response(&got) {
                    return Outcome::Status(st, b);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return parse_response(&got)
                    .map_or(Outcome::Reset, |(st, b)| Outcome::Status(st, b))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Outcome::Timeout
            }
            Err(_) => return Outcome::Reset,
        }
    }
}

const DEADLINE: Duration = Duration::from_secs(15);

fn gzip_post(path: &str, body: &[u8], extra_head: &str) -> Vec<u8> {
    let gz = gzip(body);
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nhost: sink\r\ncontent-type: application/json\r\n\
         content-encoding: gzip\r\ncontent-length: {}\r\nconnection: close\r\n{extra_head}\r\n",
        gz.len()
    )
    .into_bytes();
    r.extend_from_slice(&gz);
    r
}

/// Chunked framing of `chunks`.
fn chunked_body(chunks: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in chunks {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

fn assert_sink_clean(sink: &WireSink) {
    let got = sink.bytes();
    assert!(!contains(&got, SSN.as_bytes()), "the sink received the SSN");
    assert!(
        !contains(&got, &gzip(PHI_JSON.as_bytes())[10..]),
        "the sink received the gzip body"
    );
    assert!(
        !contains(&got, b"45-6789"),
        "the sink received part of the SSN"
    );
}

// --- Protocol downgrade ---------------------------------------------------------------------

/// The data of a chunked HTTP/1.1 message as far as it got (head skipped, framing removed).
fn dechunk(wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let Some(head_end) = wire.windows(4).position(|w| w == b"\r\n\r\n") else {
        return out;
    };
    let mut rest = &wire[head_end + 4..];
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let Some(len) = std::str::from_utf8(&rest[..eol])
            .ok()
            .and_then(|l| usize::from_str_radix(l.trim(), 16).ok())
        else {
            break;
        };
        rest = &rest[eol + 2..];
        out.extend_from_slice(&rest[..len.min(rest.len())]);
        if len == 0 || rest.len() < len + 2 {
            break;
        }
        rest = &rest[len + 2..];
    }
    out
}

/// A gzip body whose first chunk, past the inspect buffer, ends right after a sync-flushed SSN,
/// and then nothing more: the compressed bytes of the SSN are decodable from that chunk alone,
/// so they may not be forwarded on the strength of a verdict that has not read them.
#[test]
fn a_compressed_value_flushed_before_a_pause_is_not_forwarded() {
    let sink = WireSink::start();
    let p = egress(sink.addr, &["--inspect-buffer", "64"]);
    // Clean text that does not compress away (so the chunk is well past the 64-byte buffer),
    // the value, a sync flush.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let noise: String = (0..300)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b"abcdefghijklmnopqrstuvwxyz "[(x % 27) as usize])
        })
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(format!(r#"{{"note":"{noise}","#).as_bytes())
        .unwrap();
    gz.write_all(format!(r#""ssn":"{SSN}""#).as_bytes())
        .unwrap();
    gz.flush().unwrap();
    let first = gz.get_ref().clone();
    assert!(first.len() > 200);
    assert!(
        contains(&gunzip_prefix(&first), SSN.as_bytes()),
        "the flushed prefix holds the value"
    );
    let mut req = b"POST /echo HTTP/1.1\r\nhost: sink\r\ncontent-type: application/json\r\n\
        content-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n"
        .to_vec();
    req.extend_from_slice(format!("{:x}\r\n", first.len()).as_bytes());
    req.extend_from_slice(&first);
    req.extend_from_slice(b"\r\n");
    let r = exchange(
        p.routes[0],
        &[&req],
        Duration::ZERO,
        false,
        Duration::from_secs(3),
    );
    assert_eq!(r.status(), Some(403), "{r:?}");
    // Whatever reached the sink does not inflate to the value.
    std::thread::sleep(Duration::from_millis(200));
    let got = gunzip_prefix(&dechunk(&sink.bytes()));
    assert!(
        !contains(&got, SSN.as_bytes()),
        "the sink can inflate the SSN"
    );
    assert!(
        !contains(&got, b"123-45"),
        "the sink can inflate part of the SSN"
    );
    assert_no_value_in_output(&p);
}

/// What a reader inflates from the first bytes of a gzip stream (it may stop anywhere).
fn gunzip_prefix(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut d = flate2::read::GzDecoder::new(b);
    let mut buf = [0u8; 64];
    while let Ok(n) = d.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

#[test]
fn a_pause_after_the_first_byte_does_not_turn_http_into_tcp() {
    let sink = WireSink::start();
    let p = egress(sink.addr, &[]);
    let addr = p.routes[0];
    let pause = Duration::from_millis(800); // longer than the 500 ms sniff timeout

    // `P`, a pause, then the rest of a gzip POST with an SSN.
    let req = gzip_post("/echo", PHI_JSON.as_bytes(), "");
    let r = exchange(addr, &[&req[..1], &req[1..]], pause, false, DEADLINE);
    assert_eq!(r.status(), Some(403), "{r:?}");
    assert_eq!(r.json()["error"], "phi_refused");

    // The same with a chunked body whose chunks split the SSN.
    let doc = format!("patient record: SSN {SSN} on file");
    let cut = doc.find("45-").unwrap();
    let mut req = b"POST /echo HTTP/1.1\r\nhost: sink\r\ntransfer-encoding: chunked\r\n\
                    content-type: text/plain\r\nconnection: close\r\n\r\n"
        .to_vec();
    req.extend(chunked_body(&[
        &doc.as_bytes()[..cut],
        &doc.as_bytes()[cut..],
    ]));
    let r = exchange(addr, &[&req[..1], &req[1..]], pause, false, DEADLINE);
    assert_eq!(r.status(), Some(403), "{r:?}");

    // The same gzip POST from a client that says nothing for 800 ms, then everything: the
    // destination was dialled (a server may speak first), but the client spoke first.
    let req = gzip_post("/echo", PHI_JSON.as_bytes(), "");
    let r = exchange(addr, &[b"", &req], pause, false, DEADLINE);
    assert_eq!(r.status(), Some(403), "{r:?}");

    // Clean requests paced the same way are served, byte-exact at the sink.
    let clean = format!(
        "POST /echo HTTP/1.1\r\nhost: sink\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{CLEAN_JSON}",
        CLEAN_JSON.len()
    );
    let r = exchange(
        addr,
        &[&clean.as_bytes()[..1], &clean.as_bytes()[1..]],
        pause,
        false,
        DEADLINE,
    );
    assert_eq!(r, Outcome::Status(200, CLEAN_JSON.as_bytes().to_vec()));
    let r = exchange(addr, &[b"", clean.as_bytes()], pause, false, DEADLINE);
    assert_eq!(r, Outcome::Status(200, CLEAN_JSON.as_bytes().to_vec()));
    let clean_gz = gzip_post("/echo", CLEAN_JSON.as_bytes(), "");
    let r = exchange(
        addr,
        &[&clean_gz[..1], &clean_gz[1..]],
        pause,
        false,
        DEADLINE,
    );
    assert_eq!(r, Outcome::Status(200, gzip(CLEAN_JSON.as_bytes())));

    assert_sink_clean(&sink);
    assert!(contains(&sink.bytes(), &gzip(CLEAN_JSON.as_bytes())));
    assert_eq!(refusals(&p, "phi"), 3);
    let a = audit_line(&p, "phi");
    assert_eq!(
        (a["action"].as_str(), a["protocol"].as_str()),
        (Some("refused"), Some("http1"))
    );
    assert_no_value_in_output(&p);
}

#[test]
fn a_17_kb_request_line_is_still_http() {
    let sink = WireSink::start();
    let p = egress(sink.addr, &[]);
    let pad = "a".repeat(17 * 1024);
    let req = gzip_post(&format!("/echo?pad={pad}"), PHI_JSON.as_bytes(), "");
    let r = exchange(p.routes[0], &[&req], Duration::ZERO, false, DEADLINE);
    assert_eq!(r.status(), Some(403), "{r:?}");
    assert_eq!(r.json()["error"], "phi_refused");
    // And clean, it is served.
    let clean = gzip_post(&format!("/echo?pad={pad}"), CLEAN_JSON.as_bytes(), "");
    let r = exchange(p.routes[0], &[&clean], Duration::ZERO, false, DEADLINE);
    assert_eq!(r, Outcome::Status(200, gzip(CLEAN_JSON.as_bytes())));
    // A request line longer than any head the proxy accepts: answered (414/431), never relayed.
    let huge = format!(
        "GET /?q={}&ssn={SSN} HTTP/1.1\r\nhost: sink\r\n\r\n",
        "b".repeat(80 * 1024)
    );
    let r = exchange(
        p.routes[0],
        &[huge.as_bytes()],
        Duration::ZERO,
        false,
        DEADLINE,
    );
    assert!(
        matches!(r.status(), Some(414 | 431)) || matches!(r, Outcome::Reset | Outcome::Closed),
        "{r:?}"
    );
    assert!(!contains(&sink.bytes(), b"bbbbbbbbbbbbbbbb"));
    assert_sink_clean(&sink);
    assert_no_value_in_output(&p);
}

#[test]
fn a_malformed_request_line_is_answered_400_and_refused_as_malformed() {
    let sink = WireSink::start();
    let p = egress(sink.addr, &[]);
    let mut req = gzip_post("/echo", PHI_JSON.as_bytes(), "");
    // `POST /echo HTTP/1.1 ` with a trailing space.
    let line_end = req.windows(2).position(|w| w == b"\r\n").unwrap();
    req.insert(line_end, b' ');
    let r = exchange(p.routes[0], &[&req], Duration::ZERO, false, DEADLINE);
    assert_eq!(r.status(), Some(400), "{r:?}");
    // A bad version.
    let bad = b"POST /echo HTTP/1.2\r\nhost: sink\r\ncontent-length: 11\r\n\r\n123-45-6789";
    let r = exchange(p.routes[0], &[bad], Duration::ZERO, false, DEADLINE);
    assert_eq!(r.status(), Some(400), "{r:?}");
    assert_sink_clean(&sink);
    assert_eq!(sink.bytes(), b"", "nothing reached the sink");
    assert_eq!(refusals(&p, "malformed"), 2);
    let a = audit_line(&p, "malformed");
    assert_eq!(a["action"], "refused");
    assert_eq!(a["direction"], "outbound");
    assert_no_value_in_output(&p);
}

#[test]
fn a_request_line_that_stalls_or_is_cut_is_refused_not_relayed() {
    let sink = WireSink::start();
    let p = egress(sink.addr, &["--header-timeout", "1s"]);
    // Stalls past the header timeout: reset, refused as malformed.
    let r = exchange(
        p.routes[0],
        &[b"POST /echo?ssn=123-45-6"],
        Duration::ZERO,
        false,
        DEADLINE,
    );
    assert!(matches!(r, Outcome::Reset | Outcome::Closed), "{r:?}");
    // Cut: the client closes mid-line.
    let r = exchange(
        p.routes[0],
        &[b"POST /echo?ssn=123-45-6789"],
        Duration::ZERO,
        true,
        DEADLINE,
    );
    assert!(matches!(r, Outcome::Reset | Outcome::Closed), "{r:?}");
    assert_eq!(sink.bytes(), b"", "nothing reached the sink");
    assert_eq!(refusals(&p, "malformed"), 2);
    assert_no_value_in_output(&p);
}

// --- Fake TLS and real TLS ------------------------------------------------------------------

/// An OpenSSL `s_server -www` on loopback with a certificate for api.example.com and
/// other.example.com; killed on drop.
struct TlsServer {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TlsServer {
    fn start() -> TlsServer {
        Self::start_with(&[])
    }

    /// An `openssl s_server` with extra arguments (a cipher list, a protocol version).
    fn start_with(extra: &[&str]) -> TlsServer {
        let dir = tempfile::tempdir().unwrap();
        let st = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=api.example.com",
                "-addext",
                "subjectAltName=DNS:api.example.com,DNS:other.example.com",
                "-keyout",
            ])
            .arg(dir.path().join("key.pem"))
            .arg("-out")
            .arg(dir.path().join("cert.pem"))
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        let mut child = Command::new("openssl")
            .args(["s_server", "-accept", "127.0.0.1:0", "-www"])
            .args(extra)
            .arg("-cert")
            .arg(dir.path().join("cert.pem"))
            .arg("-key")
            .arg(dir.path().join("key.pem"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let addr = loop {
            let mut line = String::new();
            let n = std::io::BufRead::read_line(&mut out, &mut line).unwrap();
            assert!(n > 0, "s_server exited");
            if let Some(a) = line.trim().strip_prefix("ACCEPT ") {
                break a.parse().unwrap();
            }
        };
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = out.read_to_end(&mut sink);
        });
        TlsServer { child, addr, dir }
    }

    fn cert(&self) -> String {
        self.dir.path().join("cert.pem").display().to_string()
    }
}

/// curl over TLS to `name` at `addr` (verified against the test certificate); (status, body).
fn curl_tls(name: &str, addr: SocketAddr, cert: &str) -> (u16, String) {
    let resolve = format!("{name}:{}:127.0.0.1", addr.port());
    curl(&[
        "--cacert",
        cert,
        "--resolve",
        &resolve,
        &format!("https://{name}:{}/", addr.port()),
    ])
}

/// The first TLS record a real client (curl, OpenSSL) sends to `name`: its ClientHello.
fn real_client_hello(name: &str) -> Vec<u8> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let resolve = format!("{name}:{port}:127.0.0.1");
    let mut child = Command::new("curl")
        .args(["-s", "-k", "--max-time", "10", "--resolve", &resolve])
        .arg(format!("https://{name}:{port}/"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (mut s, _) = l.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut rec = vec![0u8; 5];
    s.read_exact(&mut rec).unwrap();
    assert_eq!(&rec[..2], &[0x16, 0x03]);
    let len = usize::from(u16::from_be_bytes([rec[3], rec[4]]));
    rec.resize(5 + len, 0);
    s.read_exact(&mut rec[5..]).unwrap();
    drop(s);
    let _ = child.kill();
    let _ = child.wait();
    rec
}

/// `openssl s_client` to `addr` through the proxy with `args`, sending `stdin`; its output.
fn s_client(addr: SocketAddr, args: &[&str], stdin: &[u8]) -> String {
    let mut child = Command::new("timeout")
        .args(["10", "openssl", "s_client", "-connect"])
        .arg(addr.to_string())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let _ = input.write_all(stdin);
    std::thread::sleep(Duration::from_millis(500));
    drop(input);
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn app_tls_with_a_null_cipher_is_reset_as_not_tls() {
    // A TLS 1.2 session whose suite authenticates but does not encrypt: the records would
    // carry the request in plaintext.
    let server = TlsServer::start_with(&["-tls1_2", "-cipher", "ECDHE-ECDSA-NULL-SHA:@SECLEVEL=0"]);
    let p = egress(server.addr, &[]);
    let request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{PHI_JSON}",
        PHI_JSON.len()
    );
    let out = s_client(
        p.routes[0],
        &[
            "-tls1_2",
            "-cipher",
            "ECDHE-ECDSA-NULL-SHA:@SECLEVEL=0",
            "-servername",
            "api.example.com",
            "-ign_eof",
        ],
        request.as_bytes(),
    );
    assert!(
        !out.contains("HTTP/1.0 200"),
        "the request went through: {out}"
    );
    assert!(refusals(&p, "not_tls") >= 1, "{out}\n{}", p.metrics());
    assert_eq!(audit_line(&p, "not_tls")["action"], "reset");
    // The same client with an encrypting suite still gets through.
    let server = TlsServer::start_with(&["-tls1_2"]);
    let p = egress(server.addr, &[]);
    let out = s_client(
        p.routes[0],
        &["-tls1_2", "-servername", "api.example.com", "-ign_eof"],
        b"GET / HTTP/1.0\r\n\r\n",
    );
    assert!(out.contains("HTTP/1.0 200"), "{out}");
}

#[test]
fn phi_in_the_server_name_or_alpn_of_app_tls_is_refused() {
    let server = TlsServer::start();
    let p = egress(server.addr, &[]);
    for args in [
        &["-servername", "ssn-123-45-6789.example.com"][..],
        &["-servername", "api.example.com", "-alpn", "ssn-123-45-6789"][..],
    ] {
        let mut a = args.to_vec();
        a.push("-ign_eof");
        let out = s_client(p.routes[0], &a, b"GET / HTTP/1.0\r\n\r\n");
        assert!(!out.contains("HTTP/1.0 200"), "{args:?}: {out}");
    }
    let audits = p.wait_audit(2);
    assert!(
        audits
            .iter()
            .all(|a| a["action"] == "refused" && a["findings"][0]["part"] == "head"),
        "{audits:?}"
    );
    assert_no_value_in_output(&p);
}

#[test]
fn real_tls_passes_through_and_the_sni_allowlist_still_works() {
    let server = TlsServer::start();
    let cert = server.cert();
    // No allowlist: any SNI.
    let p = egress(server.addr, &[]);
    let (code, body) = curl_tls("api.example.com", p.routes[0], &cert);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("s_server"), "{body}");
    let m = p.metrics();
    assert_eq!(
        counter(
            &m,
            r#"phimesh_requests_total{action="forwarded",direction="outbound",protocol="tls",tls="app"}"#
        ),
        1,
        "{m}"
    );
    assert!(p.audit().is_empty(), "{:?}", p.audit());

    // An allowlist: the listed name passes, another is reset (and audited).
    let p = egress(server.addr, &["--sni-allow", "api.example.com"]);
    let (code, _) = curl_tls("api.example.com", p.routes[0], &cert);
    assert_eq!(code, 200);
    let (code, _) = curl_tls("other.example.com", p.routes[0], &cert);
    assert_eq!(code, 0, "a disallowed SNI got an answer");
    assert_eq!(refusals(&p, "sni_not_allowed"), 1);
    let a = audit_line(&p, "sni_not_allowed");
    assert_eq!(
        (a["action"].as_str(), a["protocol"].as_str()),
        (Some("refused"), Some("tls"))
    );
}

#[test]
fn a_client_hello_then_plaintext_is_reset_and_never_reaches_the_sink() {
    let sink = WireSink::start();
    let p = egress(sink.addr, &[]);
    let hello = real_client_hello("api.example.com");
    let post = format!(
        "POST /echo HTTP/1.1\r\nhost: sink\r\ncontent-length: {}\r\n\r\n{PHI_JSON}",
        PHI_JSON.len()
    );
    // Together, and with the plaintext a moment later (the hello already forwarded).
    let mut both = hello.clone();
    both.extend_from_slice(post.as_bytes());
    let r = exchange(p.routes[0], &[&both], Duration::ZERO, false, DEADLINE);
    assert!(matches!(r, Outcome::Reset | Outcome::Closed), "{r:?}");
    let r = exchange(
        p.routes[0],
        &[&hello, post.as_bytes()],
        Duration::from_millis(300),
        false,
        DEADLINE,
    );
    assert!(matches!(r, Outcome::Reset | Outcome::Closed), "{r:?}");
    // `160301`, then garbage, then the plaintext: not even a hello.
    let mut garbage = vec![0x16, 0x03, 0x01, 0x00, 0x40];
    garbage.extend((0..64u8).map(|i| i.wrapping_mul(97)));
    garbage.extend_from_slice(post.as_bytes());
    let r = exchange(p.routes[0], &[&garbage], Duration::ZERO, false, DEADLINE);
    assert!(matches!(r, Outcome::Reset | Outcome::Closed), "{r:?}");
    let r = exchange(
        p.routes[0],
        &[b"\x16\x03\x01", post.as_bytes()],
        Duration::from_millis(100),
        false,
        DEADLINE,
    );
    assert!(matches!(r, Outcome::Reset | Outcome::Closed), "{r:?}");

    assert_sink_clean(&sink);
    assert!(
        !contains(&sink.bytes(), b"POST /echo"),
        "plaintext reached the sink"
    );
    assert_eq!(refusals(&p, "not_tls"), 4);
    let a = audit_line(&p, "not_tls");
    assert_eq!(a["protocol"], "tls");
    assert!(
        matches!(a["action"].as_str(), Some("refused" | "reset")),
        "{a}"
    );
    let m = p.metrics();
    assert_eq!(
        counter(
            &m,
            r#"phimesh_requests_total{action="forwarded",direction="outbound",protocol="tls",tls="app"}"#
        ),
        0,
        "{m}"
    );
    assert_no_value_in_output(&p);
}

#[test]
fn audit_mode_records_fake_tls_and_forwards_it() {
    let sink = WireSink::start();
    let p = egress(sink.addr, &["--mode", "audit"]);
    let hello = real_client_hello("api.example.com");
    let mut both = hello.clone();
    both.extend_from_slice(b"POST /echo HTTP/1.1\r\nhost: sink\r\ncontent-length: 2\r\n\r\nhi");
    let _ = exchange(
        p.routes[0],
        &[&both],
        Duration::ZERO,
        false,
        Duration::from_secs(3),
    );
    let a = audit_line(&p, "not_tls");
    assert_eq!(a["action"], "audited");
    assert_eq!(refusals(&p, "not_tls"), 0);
}

// --- Header semantics -----------------------------------------------------------------------

#[test]
fn two_content_encoding_lines_mean_both_on_http1_and_h2() {
    let sink = WireSink::start();
    let p = egress(sink.addr, &[]);
    let dir = tempfile::tempdir().unwrap();
    let phi = dir.path().join("phi.gz");
    std::fs::write(&phi, gzip(PHI_JSON.as_bytes())).unwrap();
    let clean = dir.path().join("clean.gz");
    std::fs::write(&clean, gzip(CLEAN_JSON.as_bytes())).unwrap();
    let url = format!("http://{}/echo", p.routes[0]);
    for h2 in [false, true] {
        let mut args = vec![
            "-H",
            "content-encoding: identity",
            "-H",
            "content-encoding: gzip",
        ];
        if h2 {
            args.push("--http2-prior-knowledge");
        }
        let phi_arg = format!("@{}", phi.display());
        let mut a = args.clone();
        a.extend(["--data-binary", &phi_arg, &url]);
        let (code, body) = curl(&a);
        assert_eq!(code, 403, "h2 {h2}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"], "phi_refused");
        let clean_arg = format!("@{}", clean.display());
        let mut a = args.clone();
        a.extend(["--data-binary", &clean_arg, &url]);
        let (code, _, echo) = curl_bytes(&a);
        assert_eq!(code, 200, "h2 {h2}");
        assert_eq!(
            echo,
            gzip(CLEAN_JSON.as_bytes()),
            "h2 {h2}: byte-exact at the sink"
        );
        // Two layers on two lines that disagree: ambiguous.
        let (code, body) = curl(&[
            "-H",
            "content-encoding: gzip",
            "-H",
            "content-encoding: deflate",
            if h2 {
                "--http2-prior-knowledge"
            } else {
                "--http1.1"
            },
            "--data-binary",
            &clean_arg,
            &url,
        ]);
        assert_eq!(code, 403, "{body}");
        assert!(body.contains("\"reason\":\"ambiguous\""), "{body}");
    }
    assert_sink_clean(&sink);
    assert_eq!(refusals(&p, "phi"), 2);
    assert_eq!(refusals(&p, "ambiguous"), 2);
    assert_no_value_in_output(&p);
}

#[test]
fn media_types_compare_case_insensitively_and_a_second_content_type_is_ambiguous() {
    let sink = WireSink::start();
    let p = egress(sink.addr, &[]);
    let dir = tempfile::tempdir().unwrap();
    let phi = dir.path().join("phi.bin");
    std::fs::write(&phi, grpc_frame(true, &gzip(PHI_JSON.as_bytes()))).unwrap();
    let clean_frame = grpc_frame(true, &gzip(CLEAN_JSON.as_bytes()));
    let clean = dir.path().join("clean.bin");
    std::fs::write(&clean, &clean_frame).unwrap();
    let url = format!("http://{}/echo", p.routes[0]);
    let phi_arg = format!("@{}", phi.display());
    let clean_arg = format!("@{}", clean.display());
    let grpc = |ct: &[&str], data: &str| {
        let mut a = vec![
            "--http2-prior-knowledge",
            "-H",
            "grpc-encoding: gzip",
            "-H",
            "te: trailers",
        ];
        for c in ct {
            a.extend(["-H", c]);
        }
        a.extend(["--data-binary", data, &url]);
        let (code, head, body) = curl_bytes(&a);
        (
            code,
            format!("{head}{}", String::from_utf8_lossy(&body)),
            body,
        )
    };
    // `Application/GRPC` is gRPC: the message is unframed and gunzipped, PERMISSION_DENIED.
    let (code, out, _) = grpc(&["content-type: Application/GRPC"], &phi_arg);
    assert_eq!(code, 200, "{out}");
    assert!(out.to_ascii_lowercase().contains("grpc-status: 7"), "{out}");
    let (code, out, echo) = grpc(&["content-type: Application/GRPC+proto"], &clean_arg);
    assert_eq!(code, 200, "{out}");
    assert!(!out.contains("grpc-status: 7"), "{out}");
    assert_eq!(
        echo, clean_frame,
        "the clean message reached the sink byte-exact"
    );
    // Two content-type lines, either order: refused as ambiguous.
    let (code, out, _) = grpc(
        &[
            "content-type: application/json",
            "content-type: application/grpc",
        ],
        &phi_arg,
    );
    assert_eq!(code, 403, "{out}");
    assert!(out.contains("\"reason\":\"ambiguous\""), "{out}");
    let (code, out, _) = grpc(
        &[
            "content-type: application/grpc",
            "content-type: application/json",
        ],
        &phi_arg,
    );
    assert_eq!(code, 200, "{out}");
    assert!(out.to_ascii_lowercase().contains("grpc-status: 7"), "{out}");
    // Repeated grpc-encoding: ambiguous.
    let (code, out, _) = grpc(
        &["content-type: application/grpc", "grpc-encoding: identity"],
        &clean_arg,
    );
    assert_eq!(code, 200, "{out}");
    assert!(out.to_ascii_lowercase().contains("grpc-status: 7"), "{out}");
    // Over HTTP/1.1 too (two raw content-type lines).
    let frame = std::fs::read(&phi).unwrap();
    let mut req = format!(
        "POST /echo HTTP/1.1\r\nhost: sink\r\ncontent-type: text/plain\r\ncontent-type: application/grpc\r\n\
         grpc-encoding: gzip\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        frame.len()
    )
    .into_bytes();
    req.extend_from_slice(&frame);
    let r = exchange(p.routes[0], &[&req], Duration::ZERO, false, DEADLINE);
    assert_eq!(r.status(), Some(403), "{r:?}");
    assert_eq!(r.json()["reason"], "ambiguous");

    assert_sink_clean(&sink);
    assert_eq!(refusals(&p, "phi"), 1);
    assert_eq!(refusals(&p, "ambiguous"), 4);
    assert_no_value_in_output(&p);
}

#[test]
fn a_transfer_coding_other_than_chunked_is_refused() {
    let sink = WireSink::start();
    let p = egress(sink.addr, &[]);
    let body = chunked_body(&[&gzip(PHI_JSON.as_bytes())]);
    for te in ["gzip, chunked", "chunked, chunked"] {
        let mut req = format!(
            "POST /echo HTTP/1.1\r\nhost: sink\r\ntransfer-encoding: {te}\r\nconnection: close\r\n\r\n"
        )
        .into_bytes();
        req.extend_from_slice(&body);
        let r = exchange(p.routes[0], &[&req], Duration::ZERO, false, DEADLINE);
        assert_eq!(r.status(), Some(403), "{te}: {r:?}");
        assert_eq!(r.json()["error"], "uninspectable", "{te}");
    }
    // Clean and chunked only: served byte-exact.
    let mut req = b"POST /echo HTTP/1.1\r\nhost: sink\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".to_vec();
    req.extend(chunked_body(&[
        &CLEAN_JSON.as_bytes()[..7],
        &CLEAN_JSON.as_bytes()[7..],
    ]));
    let r = exchange(p.routes[0], &[&req], Duration::ZERO, false, DEADLINE);
    assert_eq!(r, Outcome::Status(200, CLEAN_JSON.as_bytes().to_vec()));
    assert_sink_clean(&sink);
    assert_eq!(refusals(&p, "uninspectable"), 1);
    assert_eq!(refusals(&p, "malformed"), 1);
    assert_eq!(audit_line(&p, "uninspectable")["action"], "refused");
    assert_no_value_in_output(&p);
}

#[test]
fn clean_traffic_on_every_path_still_arrives_byte_exact() {
    let sink = WireSink::start();
    let p = egress(sink.addr, &[]);
    let url = format!("http://{}/echo", p.routes[0]);
    for extra in [&[][..], &["--http2-prior-knowledge"][..]] {
        let mut a = vec![
            "-H",
            "content-type: application/json",
            "--data-binary",
            CLEAN_JSON,
        ];
        a.extend_from_slice(extra);
        a.push(&url);
        let (code, _, echo) = curl_bytes(&a);
        assert_eq!((code, echo.as_slice()), (200, CLEAN_JSON.as_bytes()));
    }
    assert!(p.audit().is_empty(), "{:?}", p.audit());

    // Opaque TCP that is not HTTP (MLLP) to a raw sink: relayed byte-exact.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let raw = l.local_addr().unwrap();
    let got = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        got
    });
    let p = egress(raw, &[]);
    let mllp = b"\x0bMSH|^~\\&|LAB|HOSP|||20240101||ORU^R01|1|P|2.5\r\x1c\r";
    let r = exchange(
        p.routes[0],
        &[mllp],
        Duration::ZERO,
        true,
        Duration::from_secs(10),
    );
    assert_eq!(r, Outcome::Closed);
    assert_eq!(got.join().unwrap(), mllp);
    assert!(p.audit().is_empty(), "{:?}", p.audit());
}

// --- Mutation fuzzer ------------------------------------------------------------------------

/// The bytes one connection brought.
type ConnLog = Arc<Mutex<Vec<u8>>>;

/// The upstream behind the proxy: answers HTTP/1.1 and h2 (`/echo` echoes the request body,
/// anything else `ok`), and records **every byte that reaches its socket**, per connection —
/// also after its HTTP parser gave up on them (a ClientHello, garbage), which a recorder inside
/// the parser would miss.
struct WireSink {
    addr: SocketAddr,
    conns: Arc<Mutex<Vec<ConnLog>>>,
    _rt: tokio::runtime::Runtime,
}

impl WireSink {
    fn start() -> WireSink {
        use http_body_util::BodyExt;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let l = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = l.local_addr().unwrap();
        let conns: Arc<Mutex<Vec<ConnLog>>> = Arc::default();
        let all = conns.clone();
        rt.spawn(async move {
            loop {
                let Ok((s, _)) = l.accept().await else {
                    continue;
                };
                let log = Arc::new(Mutex::new(Vec::new()));
                all.lock().unwrap().push(log.clone());
                // socket → log → (while it listens) the HTTP server; its answers → socket.
                let (http_side, tee_side) = tokio::io::duplex(1 << 16);
                let (mut sr, mut sw) = s.into_split();
                let (mut tr, mut tw) = tokio::io::split(tee_side);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    let mut feeding = true;
                    while let Ok(n) = sr.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        log.lock().unwrap().extend_from_slice(&buf[..n]);
                        if feeding && tw.write_all(&buf[..n]).await.is_err() {
                            feeding = false;
                        }
                    }
                    let _ = tw.shutdown().await;
                });
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut tr, &mut sw).await;
                    let _ = sw.shutdown().await;
                });
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(
                        |req: hyper::Request<hyper::body::Incoming>| async move {
                            let echo = req.uri().path() == "/echo";
                            let body = req.into_body().collect().await?.to_bytes();
                            let out = if echo {
                                body
                            } else {
                                bytes::Bytes::from_static(b"ok\n")
                            };
                            Ok::<_, hyper::Error>(hyper::Response::new(http_body_util::Full::new(
                                out,
                            )))
                        },
                    );
                    let b = hyper_util::server::conn::auto::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    );
                    let _ = b
                        .serve_connection(hyper_util::rt::TokioIo::new(http_side), svc)
                        .await;
                });
            }
        });
        WireSink {
            addr,
            conns,
            _rt: rt,
        }
    }

    /// Every connection's bytes, in accept order.
    fn connections(&self) -> Vec<Vec<u8>> {
        self.conns
            .lock()
            .unwrap()
            .iter()
            .map(|c| c.lock().unwrap().clone())
            .collect()
    }

    /// All bytes received, connection after connection.
    fn bytes(&self) -> Vec<u8> {
        self.connections().concat()
    }
}

/// The reference decoder: reads what reached the sink the way an HTTP/1.1 server would (its
/// own parser, not the proxy's: empty lines skipped, `METHOD SP target SP HTTP/1.x`, header
/// fields, a chunked or content-length body, every content-encoding line in order) and
/// undoes the codings (de-chunk, gunzip/inflate) and percent-encoding. Bytes that do not parse
/// as a request are searched as they are and percent-decoded, as any reader could. With
/// `magic`, gzip streams are also gunzipped wherever they begin, whatever the headers say.
mod reference {
    use std::io::Read;

    /// The SSN as the engine counts one: not glued to a letter, digit or dash.
    pub(crate) fn has_ssn(b: &[u8]) -> bool {
        let pat = super::SSN.as_bytes();
        let edge = |c: Option<&u8>| c.is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == b'-'));
        (0..b.len().saturating_sub(pat.len() - 1)).any(|i| {
            &b[i..i + pat.len()] == pat
                && edge(i.checked_sub(1).and_then(|j| b.get(j)))
                && edge(b.get(i + pat.len()))
        })
    }

    pub(crate) fn percent_decode(b: &[u8]) -> Vec<u8> {
        let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match (
                b[i],
                b.get(i + 1).and_then(|&c| hex(c)),
                b.get(i + 2).and_then(|&c| hex(c)),
            ) {
                (b'%', Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                }
                (b'+', _, _) => {
                    out.push(b' ');
                    i += 1;
                }
                (c, _, _) => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        out
    }

    /// Inflates as much as decodes (a cut stream still yields its start).
    fn inflate(mut r: impl Read) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while out.len() < 64 << 20 {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        out
    }

    fn decode(coding: &str, b: &[u8]) -> Option<Vec<u8>> {
        match coding.to_ascii_lowercase().as_str() {
            "gzip" | "x-gzip" => Some(inflate(flate2::read::MultiGzDecoder::new(b))),
            "deflate" => {
                let z = inflate(flate2::read::ZlibDecoder::new(b));
                Some(if z.is_empty() {
                    inflate(flate2::read::DeflateDecoder::new(b))
                } else {
                    z
                })
            }
            "identity" | "" => Some(b.to_vec()),
            _ => None,
        }
    }

    fn dechunk(b: &[u8]) -> (Vec<u8>, usize) {
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            let Some(eol) = b[i..].windows(2).position(|w| w == b"\r\n") else {
                return (out, b.len());
            };
            let size = std::str::from_utf8(&b[i..i + eol])
                .ok()
                .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok());
            let Some(size) = size else {
                return (out, b.len());
            };
            i += eol + 2;
            if size == 0 {
                // Trailers up to the empty line.
                let end = b[i..]
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .map_or(b.len(), |e| i + e + 2);
                let end = if end == i + 2 {
                    end
                } else {
                    b[i..]
                        .windows(4)
                        .position(|w| w == b"\r\n\r\n")
                        .map_or(b.len(), |e| i + e + 4)
                };
                return (out, end);
            }
            let take = size.min(b.len() - i);
            out.extend_from_slice(&b[i..i + take]);
            i += take;
            if i + 2 > b.len() {
                return (out, b.len());
            }
            i += 2;
        }
    }

    fn gunzip_anywhere(b: &[u8]) -> Vec<Vec<u8>> {
        (0..b.len().saturating_sub(2))
            .filter(|&i| b[i] == 0x1f && b[i + 1] == 0x8b && b[i + 2] == 8)
            .map(|i| inflate(flate2::read::GzDecoder::new(&b[i..])))
            .collect()
    }

    fn is_tchar(c: u8) -> bool {
        c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
    }

    /// Every form of `bytes` a reader could get at, per the rules above.
    fn raw_forms(b: &[u8], magic: bool) -> Vec<Vec<u8>> {
        let mut v = vec![b.to_vec(), percent_decode(b)];
        if magic {
            for g in gunzip_anywhere(b) {
                v.push(percent_decode(&g));
                v.push(g);
            }
        }
        v
    }

    /// Each decodable form of one connection's bytes.
    pub(crate) fn forms(conn: &[u8], magic: bool) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut rest = conn;
        while !rest.is_empty() {
            let skip = rest
                .iter()
                .take_while(|c| matches!(c, b'\r' | b'\n'))
                .count();
            rest = &rest[skip..];
            if rest.is_empty() {
                break;
            }
            let Some(head_end) = rest.windows(4).position(|w| w == b"\r\n\r\n") else {
                out.extend(raw_forms(rest, magic));
                break;
            };
            let head = &rest[..head_end];
            let mut lines = head
                .split(|&c| c == b'\n')
                .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
            let line = lines.next().unwrap_or_default();
            let parts: Vec<&[u8]> = line.split(|&c| c == b' ').collect();
            let well_formed = parts.len() == 3
                && !parts[0].is_empty()
                && parts[0].iter().all(|&c| is_tchar(c))
                && (parts[2] == b"HTTP/1.1" || parts[2] == b"HTTP/1.0");
            let mut fields = Vec::new();
            let mut fields_ok = true;
            for l in lines {
                match l.iter().position(|&c| c == b':') {
                    Some(i) if i > 0 && l[..i].iter().all(|&c| is_tchar(c)) => fields.push((
                        String::from_utf8_lossy(&l[..i]).to_ascii_lowercase(),
                        String::from_utf8_lossy(&l[i + 1..]).trim().to_owned(),
                    )),
                    _ => fields_ok = false,
                }
            }
            if !well_formed || !fields_ok {
                // Not a request any server reads: what is there, as it is.
                out.extend(raw_forms(rest, magic));
                break;
            }
            out.extend(raw_forms(head, magic));
            let values = |name: &str| -> Vec<String> {
                fields
                    .iter()
                    .filter(|(k, _)| k == name)
                    .flat_map(|(_, v)| {
                        v.split(',')
                            .map(|s| s.trim().to_owned())
                            .collect::<Vec<_>>()
                    })
                    .filter(|s| !s.is_empty())
                    .collect()
            };
            let body_start = head_end + 4;
            let te = values("transfer-encoding");
            let (mut body, used) = if te.last().is_some_and(|c| c.eq_ignore_ascii_case("chunked")) {
                dechunk(&rest[body_start..])
            } else if !te.is_empty() {
                (rest[body_start..].to_vec(), rest.len() - body_start)
            } else {
                let len = values("content-length")
                    .first()
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                let len = len.min(rest.len() - body_start);
                (rest[body_start..body_start + len].to_vec(), len)
            };
            out.extend(raw_forms(&body, magic));
            let codings: Vec<String> = te
                .iter()
                .filter(|c| !c.eq_ignore_ascii_case("chunked"))
                .rev()
                .chain(values("content-encoding").iter().rev())
                .cloned()
                .collect();
            for c in codings {
                match decode(&c, &body) {
                    Some(d) => body = d,
                    None => break,
                }
                out.extend(raw_forms(&body, magic));
            }
            rest = &rest[body_start + used..];
        }
        out
    }
}

/// A tiny deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const FORM: &[u8] = b"name=x&ssn=123%2D45%2D6789";

/// Requests carrying the SSN: in the body, the query, a header, a gzip body, a chunked body
/// (split inside the SSN), gzip and chunked, a compressed gRPC message, a form body.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let json = PHI_JSON.as_bytes();
    let head = |first: &str, fields: &str| {
        format!("{first}\r\nhost: sink\r\n{fields}connection: close\r\n\r\n").into_bytes()
    };
    let with = |mut h: Vec<u8>, b: &[u8]| {
        h.extend_from_slice(b);
        h
    };
    let gz = gzip(json);
    let cut = PHI_JSON.find("45-").unwrap();
    let grpc = grpc_frame(true, &gz);
    vec![
        (
            "body",
            with(
                head(
                    "POST /echo HTTP/1.1",
                    &format!(
                        "content-type: application/json\r\ncontent-length: {}\r\n",
                        json.len()
                    ),
                ),
                json,
            ),
        ),
        (
            "query",
            head(&format!("GET /lookup?ssn={SSN}&x=1 HTTP/1.1"), ""),
        ),
        (
            "header",
            head(
                "GET /echo HTTP/1.1",
                &format!("x-note: patient SSN {SSN}\r\n"),
            ),
        ),
        (
            "gzip",
            with(
                head(
                    "POST /echo HTTP/1.1",
                    &format!("content-encoding: gzip\r\ncontent-length: {}\r\n", gz.len()),
                ),
                &gz,
            ),
        ),
        (
            "chunked",
            with(
                head("POST /echo HTTP/1.1", "transfer-encoding: chunked\r\n"),
                &chunked_body(&[&json[..cut], &json[cut..]]),
            ),
        ),
        (
            "gzip-chunked",
            with(
                head(
                    "POST /echo HTTP/1.1",
                    "content-encoding: gzip\r\ntransfer-encoding: chunked\r\n",
                ),
                &chunked_body(&[&gz[..gz.len() / 2], &gz[gz.len() / 2..]]),
            ),
        ),
        (
            "grpc",
            with(
                head(
                    "POST /echo HTTP/1.1",
                    &format!(
                        "content-type: application/grpc\r\ngrpc-encoding: gzip\r\ncontent-length: {}\r\n",
                        grpc.len()
                    ),
                ),
                &grpc,
            ),
        ),
        (
            "form",
            with(
                head(
                    "POST /echo HTTP/1.1",
                    &format!(
                        "content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n",
                        FORM.len()
                    ),
                ),
                FORM,
            ),
        ),
    ]
}

/// One mutated case: the bytes, split into parts, the pause between them, whether to close
/// the write side after them.
struct Case {
    label: String,
    parts: Vec<Vec<u8>>,
    pause: Duration,
    shutdown: bool,
}

/// Applies one to three random mutations to `seed`: byte flips, inserted spaces and CRLFs,
/// duplicated lines, case changes, truncations, deletions, extra coding/type fields, splits
/// with short pauses — and the shapes of the downgrades found from outside: a 600 ms pause
/// after the first bytes, a ClientHello (`hello`) or `160301` garbage in front, a 17 KB request
/// line, a trailing space on the request line. One mutation defuses a readable SSN.
fn mutate(rng: &mut Rng, seed: &(&'static str, Vec<u8>), hello: &[u8]) -> Case {
    let mut b = seed.1.clone();
    let mut label = seed.0.to_owned();
    let mut shutdown = false;
    let mut pause = Duration::ZERO;
    let mut cuts: Vec<usize> = Vec::new();
    let head_end = |b: &[u8]| {
        b.windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(b.len())
    };
    let line_end = |b: &[u8]| b.windows(2).position(|w| w == b"\r\n").unwrap_or(b.len());
    let mut early_pause = false;
    for _ in 0..1 + rng.below(3) {
        let n = b.len().max(1);
        match rng.below(15) {
            14 => {
                // Defuse the SSN where it is readable: the request should then go through,
                // so the forward path (and the oracle on it) is exercised.
                let ssn = SSN.as_bytes();
                if let Some(i) = b.windows(ssn.len()).position(|w| w == ssn) {
                    b[i + 9] = b'B';
                }
                label += " defuse";
            }
            9 => {
                early_pause = true;
                cuts.push(1 + rng.below(3));
                label += " early-pause";
            }
            10 => {
                let prefix = if rng.below(2) == 0 {
                    hello.to_vec()
                } else {
                    let mut g = vec![0x16, 0x03, 0x01, 0x00, 0x40];
                    g.extend((0..64).map(|_| rng.below(256) as u8));
                    g
                };
                b.splice(0..0, prefix);
                label += " tls-prefix";
            }
            11 => {
                let at = b.iter().position(|&c| c == b' ').map_or(0, |i| i + 1);
                let pad: Vec<u8> = std::iter::once(b'/')
                    .chain(std::iter::repeat_n(b'a', 17 * 1024))
                    .collect();
                b.splice(at..at, pad);
                label += " long-line";
            }
            12 => {
                let at = line_end(&b);
                b.insert(at, b' ');
                label += " trailing-space";
            }
            13 => {
                let field: &[u8] = match rng.below(4) {
                    0 => b"transfer-encoding: gzip, chunked\r\n",
                    1 => b"content-encoding: gzip, gzip\r\n",
                    2 => b"content-type: Application/GRPC\r\n",
                    _ => b"grpc-encoding: gzip\r\n",
                };
                let he = head_end(&b);
                let at = b[..he]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(he, |i| i + 1);
                b.splice(at..at, field.iter().copied());
                label += " field";
            }
            0 => {
                let i = rng.below(n).min(b.len() - 1);
                b[i] ^= 1 + rng.below(255) as u8;
                label += " flip";
            }
            1 => {
                let i = rng.below(n + 1).min(b.len());
                b.insert(i, b' ');
                label += " space";
            }
            2 => {
                let i = rng.below(head_end(&b) + 1);
                b.splice(i..i, *b"\r\n");
                label += " crlf";
            }
            3 => {
                // Duplicate a header line (or the request line).
                let he = head_end(&b);
                let starts: Vec<usize> = std::iter::once(0)
                    .chain((0..he).filter(|&i| b[i] == b'\n').map(|i| i + 1))
                    .collect();
                let s = starts[rng.below(starts.len())];
                let e = b[s..]
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .map_or(b.len(), |e| s + e + 2);
                let line = b[s..e].to_vec();
                b.splice(e..e, line);
                label += " dup";
            }
            4 => {
                let i = rng.below(n);
                let j = (i + 1 + rng.below(16)).min(b.len());
                for c in &mut b[i..j] {
                    if c.is_ascii_alphabetic() {
                        *c ^= 0x20;
                    }
                }
                label += " case";
            }
            5 => {
                let i = rng.below(n);
                b.truncate(i.max(1));
                shutdown = true;
                label += " truncate";
            }
            6 => {
                let field: &[u8] = match rng.below(5) {
                    0 => b"content-encoding: identity\r\n",
                    1 => b"content-encoding: gzip\r\n",
                    2 => b"transfer-encoding: chunked\r\n",
                    3 => b"content-type: application/grpc\r\n",
                    _ => b"content-type: Application/X-WWW-Form-Urlencoded\r\n",
                };
                let he = head_end(&b);
                let at = b[..he]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(he, |i| i + 1);
                b.splice(at..at, field.iter().copied());
                label += " field";
            }
            7 => {
                let i = rng.below(n);
                if b.len() > 1 {
                    b.remove(i.min(b.len() - 1));
                }
                label += " delete";
            }
            _ => {
                cuts.push(rng.below(n));
                if cuts.len() == 1 {
                    pause = if rng.below(8) == 0 {
                        Duration::from_millis(600)
                    } else {
                        Duration::from_millis(10 + rng.below(40) as u64)
                    };
                }
                label += " split";
            }
        }
    }
    if early_pause {
        pause = Duration::from_millis(600);
    }
    cuts.retain(|&c| c > 0 && c < b.len());
    cuts.sort_unstable();
    cuts.dedup();
    let mut parts = Vec::new();
    let mut from = 0;
    for c in cuts {
        parts.push(b[from..c].to_vec());
        from = c;
    }
    parts.push(b[from..].to_vec());
    Case {
        label,
        parts,
        pause,
        shutdown,
    }
}

#[test]
fn mutation_fuzzer_never_lets_a_decodable_ssn_reach_the_sink() {
    const CASES: usize = 320;
    let sink = WireSink::start();
    let p = egress(sink.addr, &["--header-timeout", "2s"]);
    let addr = p.routes[0];
    let started = Instant::now();

    // Does the engine decode gzip whatever the headers say? Then the oracle does too.
    let probe = {
        let gz = gzip(PHI_JSON.as_bytes());
        let mut r = format!(
            "POST /echo HTTP/1.1\r\nhost: sink\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            gz.len()
        )
        .into_bytes();
        r.extend_from_slice(&gz);
        exchange(addr, &[&r], Duration::ZERO, false, DEADLINE)
    };
    let magic = probe.status() == Some(403);
    eprintln!(
        "fuzz: gzip without a content-encoding gets {:?}; magic-byte oracle: {magic}",
        probe.status()
    );

    let seeds = seeds();
    let hello = real_client_hello("api.example.com");
    let mut rng = Rng(0x5eed_f00d_cafe_babe);
    let cases: Vec<Case> = (0..CASES)
        .map(|i| mutate(&mut rng, &seeds[i % seeds.len()], &hello))
        .collect();
    // Unmutated seeds first: each is refused.
    for (name, bytes) in &seeds {
        let r = exchange(addr, &[bytes], Duration::ZERO, false, DEADLINE);
        assert_eq!(r.status(), Some(403), "seed {name}: {r:?}");
    }

    let cases = Arc::new(cases);
    let outcomes: Arc<Mutex<Vec<(usize, Outcome)>>> = Arc::default();
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let cases = cases.clone();
            let outcomes = outcomes.clone();
            std::thread::spawn(move || {
                for i in (w..cases.len()).step_by(4) {
                    let c = &cases[i];
                    let parts: Vec<&[u8]> = c.parts.iter().map(|p| p.as_slice()).collect();
                    let r = exchange(
                        addr,
                        &parts,
                        c.pause,
                        c.shutdown,
                        Duration::from_millis(1500),
                    );
                    outcomes.lock().unwrap().push((i, r));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let outcomes = outcomes.lock().unwrap();
    let mut tally = std::collections::BTreeMap::<String, usize>::new();
    for (_, o) in outcomes.iter() {
        let k = match o {
            Outcome::Status(s, _) => s.to_string(),
            o => format!("{o:?}"),
        };
        *tally.entry(k).or_default() += 1;
    }
    eprintln!(
        "fuzz: {} cases in {:?}: {tally:?}",
        outcomes.len(),
        started.elapsed()
    );
    assert_eq!(outcomes.len(), CASES);

    // The oracle: nothing the sink received decodes to the SSN.
    std::thread::sleep(Duration::from_millis(300));
    for (n, conn) in sink.connections().iter().enumerate() {
        for form in reference::forms(conn, magic) {
            assert!(
                !reference::has_ssn(&form),
                "connection {n} to the sink carried the SSN: {:?}\nforwarded cases: {:?}",
                String::from_utf8_lossy(conn),
                outcomes
                    .iter()
                    .filter(|(_, o)| o.status().is_some_and(|s| s < 300))
                    .map(|(i, _)| cases[*i].label.as_str())
                    .collect::<Vec<_>>()
            );
        }
    }
    // Not vacuous: some mutants were refused, some (whose SSN the mutation broke) forwarded,
    // and the oracle itself finds the SSN in what a seed would have sent.
    assert!(
        tally.get("403").copied().unwrap_or(0) > CASES / 4,
        "{tally:?}"
    );
    assert!(tally.get("200").copied().unwrap_or(0) > 5, "{tally:?}");
    for (name, bytes) in &seeds {
        assert!(
            reference::forms(bytes, false)
                .iter()
                .any(|f| reference::has_ssn(f)),
            "the oracle misses the SSN of seed {name}"
        );
    }
    assert_no_value_in_output(&p);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

// --- The other refusing path: responses to plaintext inbound clients ------------------------

/// An app that answers each connection from its first bytes: a request for `/ce2`, `/ct2`,
/// `/te` or `/clean` gets the response of that name; a TLS ClientHello gets a plaintext HTTP
/// response carrying PHI (an app "speaking TLS" that answers in the clear).
fn tricky_app() -> SocketAddr {
    let until = |got: &[u8]| support_proxy::has_head(got) || got.first() == Some(&0x16);
    support_proxy::serve_each(until, |mut s, got| {
        let gz = gzip(PHI_JSON.as_bytes());
        let mut resp = Vec::new();
        let path = |p: &str| got.starts_with(format!("GET {p} ").as_bytes());
        if got[0] == 0x16 || path("/ce2") {
            // Two content-encoding lines: `identity, gzip`.
            resp.extend_from_slice(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-encoding: identity\r\ncontent-encoding: gzip\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n",
                    gz.len()
                )
                .as_bytes(),
            );
            resp.extend_from_slice(&gz);
        } else if path("/ct2") {
            let frame = grpc_frame(true, &gz);
            resp.extend_from_slice(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-type: application/grpc\r\n\
                     grpc-encoding: gzip\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    frame.len()
                )
                .as_bytes(),
            );
            resp.extend_from_slice(&frame);
        } else if path("/te") {
            resp.extend_from_slice(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\nconnection: close\r\n\r\n",
            );
            resp.extend(chunked_body(&[&gz]));
        } else {
            resp.extend_from_slice(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{CLEAN_JSON}",
                    CLEAN_JSON.len()
                )
                .as_bytes(),
            );
        }
        let _ = s.write_all(&resp);
    })
}

#[test]
fn responses_to_plaintext_inbound_clients_get_the_same_rules() {
    let app = tricky_app();
    let fwd = app.to_string();
    let p = ProxyProc::start(&[
        "--inbound-forward",
        &fwd,
        "--inbound-listen",
        "127.0.0.1:0",
        "--inbound-mtls",
        "permissive",
    ]);
    let inbound = p.inbound.unwrap();
    let get = |path: &str| {
        let req = format!("GET {path} HTTP/1.1\r\nhost: app\r\nconnection: close\r\n\r\n");
        exchange(inbound, &[req.as_bytes()], Duration::ZERO, false, DEADLINE)
    };
    let r = get("/clean");
    assert_eq!(r, Outcome::Status(200, CLEAN_JSON.as_bytes().to_vec()));
    let r = get("/ce2");
    assert_eq!(r.status(), Some(403), "{r:?}");
    assert_eq!(r.json()["error"], "phi_refused");
    let r = get("/ct2");
    assert_eq!(r.status(), Some(403), "{r:?}");
    assert_eq!(r.json()["reason"], "ambiguous");
    let r = get("/te");
    assert_eq!(r.status(), Some(403), "{r:?}");
    assert_eq!(r.json()["reason"], "uninspectable");
    // A ClientHello passed through to the app, which answers in plaintext: reset, and not a
    // byte of its answer reaches the client.
    let hello = real_client_hello("app.example.com");
    let mut s = TcpStream::connect(inbound).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&hello).unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
    let count = |reason: &str| {
        counter(
            &p.metrics(),
            &format!(r#"phimesh_refusals_total{{direction="inbound",reason="{reason}"}}"#),
        )
    };
    assert_eq!(count("phi"), 1);
    assert_eq!(count("ambiguous"), 1);
    assert_eq!(count("uninspectable"), 1);
    assert_eq!(count("not_tls"), 1);
    let a = audit_line(&p, "not_tls");
    assert_eq!(
        (a["flow"].as_str(), a["action"].as_str(), a["tls"].as_str()),
        (Some("response"), Some("reset"), Some("app"))
    );
    assert_no_value_in_output(&p);
}
