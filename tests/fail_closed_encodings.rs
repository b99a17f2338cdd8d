//! Encoded PHI on plaintext egress, end to end: every encoding a careless app or library uses
//! (base64 in a body, a JSON value, a query, a JWT, a MIME part; UTF-16; HTML character
//! references; double percent-encoding; Unicode look-alikes; gzip without a header, gzip in
//! gzip, a gzip file part; quoted-printable; an SSN joined to its label by a dash) is refused by
//! the real `phimesh proxy` with 403, audited, and the recording sink receives none of it. Raw
//! TCP that starts with gzip magic is reset. `phimesh scan` finds the same encodings in files.
//!
//! Real clients: curl over HTTP/1.1 and raw sockets; loopback only.

#[path = "support/proxy.rs"]
mod support_proxy;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use phimesh_testkit::codec::{b64, b64url, gzip, utf16};
use support_proxy::{contains, curl, ProxyProc, Sink, SSN};

const RECORD: &str = r#"{"patient":{"name":"Jane Roe","ssn":"123-45-6789"}}"#;

/// A request to send: body, content type, extra curl arguments, the path and query.
struct Case {
    name: &'static str,
    path: String,
    content_type: &'static str,
    body: Vec<u8>,
    headers: Vec<String>,
}

fn case(name: &'static str, content_type: &'static str, body: Vec<u8>) -> Case {
    Case {
        name,
        path: "/records".into(),
        content_type,
        body,
        headers: Vec::new(),
    }
}

fn cases() -> Vec<Case> {
    let mime = |part_headers: &str, part: &[u8]| {
        let mut v = format!("--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"r\"\r\n{part_headers}\r\n\r\n").into_bytes();
        v.extend_from_slice(part);
        v.extend_from_slice(b"\r\n--XyZ--\r\n");
        v
    };
    let b64_lines =
        b64(format!("Discharge note. Patient SSN {SSN}. Follow-up in two weeks.").as_bytes())
            .as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect::<Vec<_>>()
            .join("\r\n");
    let mut v = vec![
        case(
            "base64 body",
            "text/plain",
            b64(RECORD.as_bytes()).into_bytes(),
        ),
        case(
            "base64 json value",
            "application/json",
            format!(r#"{{"doc":"{}"}}"#, b64(RECORD.as_bytes())).into_bytes(),
        ),
        case(
            "base64 under an ssn key",
            "application/json",
            format!(r#"{{"ssn":"{}"}}"#, b64(SSN.as_bytes())).into_bytes(),
        ),
        case(
            "multipart base64 part",
            "multipart/form-data; boundary=XyZ",
            mime("Content-Transfer-Encoding: base64", b64_lines.as_bytes()),
        ),
        case(
            "multipart base64 part before a browser boundary",
            "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
            format!(
                "------WebKitFormBoundary7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name=\"f\"; filename=\"n.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n------WebKitFormBoundary7MA4YWxkTrZu0gW--\r\n",
                b64(format!("ssn {SSN}").as_bytes())
            )
            .into_bytes(),
        ),
        case("multipart gzip part before a long boundary", "multipart/form-data; boundary=XyZb0undary", {
            let mut v = b"--XyZb0undary\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.gz\"\r\nContent-Type: application/gzip\r\n\r\n".to_vec();
            v.extend_from_slice(&gzip(format!("ssn {SSN}").as_bytes()));
            v.extend_from_slice(b"\r\n--XyZb0undary--\r\n");
            v
        }),
        case(
            "multipart quoted-printable part",
            "multipart/form-data; boundary=XyZ",
            mime(
                "Content-Transfer-Encoding: quoted-printable",
                b"Patient SSN=3A 123=2D45=\r\n-6789",
            ),
        ),
        case("utf-16le with a bom", "text/csv", utf16(RECORD, true, true)),
        case(
            "utf-16be without a bom",
            "text/csv",
            utf16(RECORD, false, false),
        ),
        case(
            "html decimal references",
            "text/html",
            b"<td>SSN &#49;&#50;&#51;-&#52;&#53;-&#54;&#55;&#56;&#57;</td>".to_vec(),
        ),
        case(
            "html hex references",
            "text/html",
            b"<td>SSN &#x31;&#x32;&#x33;&#x2D;45&#x2d;6789</td>".to_vec(),
        ),
        case(
            "double percent-encoding",
            "application/x-www-form-urlencoded",
            b"ssn=123%252D45%252D6789&x=1".to_vec(),
        ),
        case(
            "full-width digits",
            "text/plain; charset=utf-8",
            "SSN １２３-４５-６７８９".as_bytes().to_vec(),
        ),
        case(
            "a U+2010 hyphen",
            "text/plain; charset=utf-8",
            "SSN 123\u{2010}45\u{2010}6789".as_bytes().to_vec(),
        ),
        case(
            "gzip without a content-encoding",
            "application/octet-stream",
            gzip(RECORD.as_bytes()),
        ),
        case(
            "a gzip file part",
            "multipart/form-data; boundary=XyZ",
            mime("Content-Type: application/gzip", &gzip(RECORD.as_bytes())),
        ),
    ];
    let mut gz_in_gz = case(
        "gzip inside gzip",
        "application/json",
        gzip(&gzip(RECORD.as_bytes())),
    );
    gz_in_gz.headers.push("Content-Encoding: gzip".into());
    v.push(gz_in_gz);
    let mut q = case("base64url in the query", "text/plain", b"x".to_vec());
    q.path = format!("/search?state={}&page=2", b64url(RECORD.as_bytes()));
    v.push(q);
    let mut q2 = case(
        "double percent-encoding in the query",
        "text/plain",
        b"x".to_vec(),
    );
    q2.path = "/search?ssn=123%252D45%252D6789".into();
    v.push(q2);
    let mut jwt = case("a JWT", "text/plain", b"x".to_vec());
    jwt.headers.push(format!(
        "Authorization: Bearer {}.{}.{}",
        b64url(br#"{"alg":"HS256"}"#),
        b64url(br#"{"sub":"42","ssn":"123-45-6789"}"#),
        b64url(&[7u8; 32])
    ));
    v.push(jwt);
    let mut label = case("a header name holding the SSN", "text/plain", b"x".to_vec());
    label.headers.push("X-SSN-123-45-6789: 1".into());
    v.push(label);
    let mut host = case("a host name holding the SSN", "text/plain", b"x".to_vec());
    host.headers.push("Host: ssn-123-45-6789.example".into());
    v.push(host);
    v
}

/// What must never reach the sink for `c`: the SSN and, for an encoded body, its first bytes.
fn must_not_arrive(c: &Case) -> Vec<Vec<u8>> {
    let mut v = vec![SSN.as_bytes().to_vec(), b"45-6789".to_vec()];
    if c.body.len() > 16 {
        v.push(c.body[..16].to_vec());
    }
    v
}

#[test]
fn every_encoding_of_phi_is_refused_on_plaintext_egress() {
    let sink = Sink::start();
    let route = format!("127.0.0.1:0={}", sink.addr);
    let p = ProxyProc::start(&["--route", &route]);
    let dir = tempfile::tempdir().unwrap();
    let mut refused = 0;
    for c in cases() {
        let file = dir.path().join("body");
        std::fs::write(&file, &c.body).unwrap();
        let url = format!("http://{}{}", p.routes[0], c.path);
        let data = format!("@{}", file.display());
        let ct = format!("Content-Type: {}", c.content_type);
        let mut args = vec![
            "--http1.1",
            "-H",
            "Expect:",
            "-H",
            &ct,
            "--data-binary",
            &data,
        ];
        for h in &c.headers {
            args.push("-H");
            args.push(h);
        }
        args.push(&url);
        let (code, body) = curl(&args);
        assert_eq!(code, 403, "{}: {body}", c.name);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        assert!(
            v["error"] == "phi_refused" || v["error"] == "uninspectable",
            "{}: {body}",
            c.name
        );
        refused += 1;
        let got = sink.bytes();
        for needle in must_not_arrive(&c) {
            assert!(!contains(&got, &needle), "{}: the sink received it", c.name);
        }
    }
    // Each refusal was counted and audited, and no audit line, log or metric holds the value.
    let audits = p.wait_audit(refused);
    assert!(
        audits.iter().all(|a| a["action"] == "refused"),
        "{audits:?}"
    );
    let logs = p.stderr.lock().unwrap().join("\n");
    for needle in [SSN, "１２３", "Jane"] {
        assert!(!p.audit_text().contains(needle));
        assert!(!logs.contains(needle));
        assert!(!p.metrics().contains(needle));
    }
}

/// A raw TCP sink that records every byte it receives.
fn raw_sink() -> (SocketAddr, Arc<Mutex<Vec<u8>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    std::thread::spawn(move || {
        for s in l.incoming().take(4) {
            let Ok(mut s) = s else { continue };
            let g = g.clone();
            std::thread::spawn(move || {
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    g.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
        }
    });
    (addr, got)
}

#[test]
fn raw_tcp_starting_with_gzip_magic_is_reset_before_the_phi() {
    let (addr, got) = raw_sink();
    let route = format!("127.0.0.1:0={addr}");
    let p = ProxyProc::start(&["--route", &route]);
    let payload = gzip(format!("{RECORD}\n").repeat(4).as_bytes());
    let mut s = TcpStream::connect(p.routes[0]).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(&payload);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut buf = [0u8; 64];
    let r = s.read(&mut buf);
    assert!(
        matches!(r, Err(_) | Ok(0)),
        "the connection is cut, not answered: {r:?}"
    );
    std::thread::sleep(Duration::from_millis(300));
    let got = got.lock().unwrap().clone();
    assert!(
        !contains(&got, &payload[..16]),
        "the sink received the gzip stream"
    );
    assert!(!contains(&got, SSN.as_bytes()));
    let a = p.wait_audit(1);
    assert_eq!(a[0]["protocol"], "tcp", "{a:?}");
    assert!(a[0]["kinds"].to_string().contains("ssn"), "{a:?}");
}

#[test]
fn phimesh_scan_finds_every_encoding_in_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, c) in cases().into_iter().enumerate() {
        // What a client sends: the request line and the header fields, a blank line, the body.
        let mut v = format!("POST {} HTTP/1.1\r\n", c.path).into_bytes();
        for h in &c.headers {
            v.extend_from_slice(h.as_bytes());
            v.extend_from_slice(b"\r\n");
        }
        v.extend_from_slice(b"\r\n");
        v.extend_from_slice(&c.body);
        let file = dir.path().join(format!("case-{i}"));
        std::fs::write(&file, v).unwrap();
        files.push((c.name, file));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_phimesh"))
        .arg("scan")
        .args(files.iter().map(|(_, f)| f))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "PHI found: exit 1");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains(SSN), "scan prints no value");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), files.len());
    for ((name, _), l) in files.iter().zip(&lines) {
        assert_eq!(l["phi"], true, "{name}: {l}");
    }
}
