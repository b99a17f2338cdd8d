//! HTTP/2 concurrency through the real `phimesh proxy` binaries: `h2load` with 100 concurrent
//! streams on one connection through a sidecar pair (mTLS) and through egress; a hyper h2
//! client holding 100 streams open at once on one connection, a few of them with PHI on egress;
//! request trailers with PHI on egress; the peer identity in outbound HTTP/1.1 audit lines.

#[path = "support/proxy.rs"]
mod support_proxy;

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use support_proxy::{contains, curl, Ca, ProxyProc, RecordingServer, CLEAN_JSON, PHI_JSON, SSN};

const MESH: &str = "127.0.0.2/32";

/// An upstream that counts requests and answers `ok` (or echoes `/echo` bodies).
fn counting_server() -> (RecordingServer, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let server = RecordingServer::start(move |req: Request<Incoming>| {
        let c = c.clone();
        async move {
            c.fetch_add(1, Ordering::SeqCst);
            let echo = req.uri().path() == "/echo";
            let body = req.into_body().collect().await?.to_bytes();
            let out = if echo {
                body
            } else {
                Bytes::from_static(b"ok\n")
            };
            Ok::<_, hyper::Error>(Response::new(Full::new(out)))
        }
    });
    (server, count)
}

/// Runs `h2load -n N -c 1 -m 100 URL` (bounded by `timeout`) and returns how many requests
/// succeeded, after checking the other counters.
fn h2load(url: &str, n: usize) -> usize {
    h2load_with(url, n, &["-m", "100"])
}

/// [`h2load`] with other flags than `-m 100` (streams, request bodies).
fn h2load_with(url: &str, n: usize, flags: &[&str]) -> usize {
    let out = Command::new("timeout")
        .args(["120", "h2load", "-n", &n.to_string(), "-c", "1"])
        .args(flags)
        .arg(url)
        .output()
        .expect("h2load (nghttp2-client) is installed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "h2load failed: {text}");
    // requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout
    let line = text
        .lines()
        .find(|l| l.starts_with("requests:"))
        .unwrap_or_else(|| panic!("no requests line: {text}"));
    let field = |name: &str| -> usize {
        line.split(',')
            .find(|p| p.trim().ends_with(name))
            .and_then(|p| p.split_whitespace().rev().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line}"))
    };
    assert_eq!(field("failed"), 0, "{text}");
    assert_eq!(field("errored"), 0, "{text}");
    assert!(
        text.contains(&format!("status codes: {n} 2xx")),
        "not all 2xx: {text}"
    );
    field("succeeded")
}

/// An HTTP/2 upstream (h2c) that answers every request at once, without reading its body (as
/// nginx's `return` does: h2 then resets a stream whose body is still coming with `NO_ERROR`).
fn early_answering_upstream() -> std::net::SocketAddr {
    h2_upstream(false, usize::MAX, 0).0
}

/// An HTTP/2 upstream (h2c) that answers each request, at once (`read_body == false`) or once
/// it has read its body, and counts those it processed. After every `per_batch` of them it
/// refuses the next `refused` streams unprocessed (`REFUSED_STREAM`, as a server at its limit
/// or closing does), then goes on.
fn h2_upstream(
    read_body: bool,
    per_batch: usize,
    refused: usize,
) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let c = count.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((s, _)) = listener.accept().await {
                let c = c.clone();
                tokio::spawn(async move {
                    let Ok(mut conn) = h2::server::handshake(s).await else {
                        return;
                    };
                    let (mut served, mut to_refuse) = (0, 0);
                    while let Some(Ok((req, mut respond))) = conn.accept().await {
                        if to_refuse > 0 {
                            to_refuse -= 1;
                            respond.send_reset(h2::Reason::REFUSED_STREAM);
                            continue;
                        }
                        c.fetch_add(1, Ordering::SeqCst);
                        served += 1;
                        if served % per_batch == 0 {
                            to_refuse = refused;
                        }
                        // Its own task: the body arrives while `accept` drives the connection.
                        tokio::spawn(async move {
                            if read_body {
                                let mut body = req.into_body();
                                while let Some(Ok(d)) = body.data().await {
                                    let _ = body.flow_control().release_capacity(d.len());
                                }
                            } else {
                                drop(req);
                            }
                            if let Ok(mut body) = respond.send_response(Response::new(()), false) {
                                let _ = body.send_data(Bytes::from_static(b"ok\n"), true);
                            }
                        });
                    }
                });
            }
        });
    });
    (addr, count)
}

#[test]
fn h2_uploads_to_an_upstream_that_refuses_streams_unprocessed_all_succeed() {
    // Requests with bodies on one downstream connection (so one mesh connection), to an app
    // that now and then refuses streams unprocessed (REFUSED_STREAM; a graceful GOAWAY refuses
    // the streams past its last one the same way): the sidecar sends those again instead of
    // answering 502. The app processes each request once.
    const N: usize = 3000;
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body");
    std::fs::write(&body, vec![b'x'; 1024]).unwrap();
    let body = body.to_str().unwrap();
    let ca = Ca::start(dir.path(), &[("a", "web"), ("b", "db")]);
    let (app, count) = h2_upstream(true, 300, 1);
    let b = ca.inbound_sidecar(app, MESH, &[]);
    let a = ca.outbound_sidecar("127.0.0.2:8080", b.inbound.unwrap(), MESH, &[]);

    let ok = h2load_with(
        &format!("http://{}/", a.routes[0]),
        N,
        &["-m", "8", "-d", body],
    );
    assert_eq!(ok, N);
    assert_eq!(
        count.load(Ordering::SeqCst),
        N,
        "the app processed each once"
    );
}

#[test]
fn an_h2_upload_answered_before_its_end_is_read_on_not_reset() {
    // The app answers before the request body ended. Both sidecars read the rest of the body
    // (bounded) rather than drop it: a dropped body resets the client's stream right after its
    // response, and the client's DATA frames already in flight then reach a stream the
    // connection has forgotten; h2 resets each of those again and counts it against the
    // connection's lifetime limit of 1,024, past which it closes the connection with every
    // request in flight on it (a sidecar pair under load lost requests that way).
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::start(dir.path(), &[("a", "web"), ("b", "db")]);
    let app = early_answering_upstream();
    let b = ca.inbound_sidecar(app, MESH, &[]);
    let a = ca.outbound_sidecar("127.0.0.2:8080", b.inbound.unwrap(), MESH, &[]);
    let route = a.routes[0];

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(route).await.unwrap();
        let (mut client, conn) = h2::client::handshake(tcp).await.unwrap();
        tokio::spawn(conn);
        for i in 0..2 {
            let req = Request::post(format!("http://{route}/upload"))
                .body(())
                .unwrap();
            let (resp, mut send) = client.send_request(req, false).unwrap();
            send.send_data(Bytes::from(vec![b'x'; 1024]), false)
                .unwrap();
            let resp = tokio::time::timeout(Duration::from_secs(20), resp)
                .await
                .expect("a response")
                .unwrap();
            assert_eq!(resp.status(), 200);
            // The stream stays open for the rest of the body: no reset comes after the
            // response (the sidecars read on for 2 s at the least).
            let reset = tokio::time::timeout(
                Duration::from_secs(1),
                std::future::poll_fn(|cx| send.poll_reset(cx)),
            )
            .await;
            assert!(
                reset.is_err(),
                "request {i}: stream reset after its response: {reset:?}"
            );
            send.send_data(Bytes::from(vec![b'y'; 1024]), true).unwrap();
        }
    });
}

#[test]
fn h2load_100_concurrent_streams_through_a_sidecar_pair_and_through_egress() {
    const N: usize = 2000;
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::start(dir.path(), &[("a", "web"), ("b", "db")]);
    let (server, count) = counting_server();

    // Sidecar pair: A's route to a mesh address, mTLS to B's inbound, B to the server.
    let b = ca.inbound_sidecar(server.addr, MESH, &[]);
    let upstream = "127.0.0.2:8080";
    let a = ca.outbound_sidecar(upstream, b.inbound.unwrap(), MESH, &[]);

    let ok = h2load(&format!("http://{}/", a.routes[0]), N);
    assert_eq!(ok, N);
    assert_eq!(
        count.load(Ordering::SeqCst),
        N,
        "the upstream saw every request"
    );
    let m = a.metrics();
    assert!(
        m.contains(&format!(r#"phimesh_requests_total{{action="forwarded",direction="outbound",protocol="http2",tls="mtls"}} {N}"#)),
        "{m}"
    );
    let m = b.metrics();
    assert!(
        m.contains(&format!(r#"phimesh_requests_total{{action="forwarded",direction="inbound",protocol="http2",tls="mtls"}} {N}"#)),
        "{m}"
    );

    // The audit line of outbound mesh HTTP/1.1 sent over a pooled (reused) upstream connection
    // names the peer: two PHI requests, each audited by A, which sent it (the echoed responses
    // are B's to audit).
    for _ in 0..2 {
        let (code, body) = curl(&[
            "-H",
            "content-type: application/json",
            "--data-binary",
            PHI_JSON,
            &format!("http://{}/echo", a.routes[0]),
        ]);
        assert_eq!((code, body.as_str()), (200, PHI_JSON));
    }
    a.wait_audit(2);
    b.wait_audit(2);
    let (aa, ba) = (a.audit(), b.audit());
    assert_eq!(aa.len(), 2, "{aa:?}");
    assert_eq!(ba.len(), 2, "{ba:?}");
    for e in &ba {
        assert_eq!(e["flow"], "response", "{e}");
    }
    for e in &aa {
        assert_eq!(e["flow"], "request", "{e}");
        assert_eq!(e["protocol"], "http1", "{e}");
        assert_eq!(e["action"], "forwarded", "{e}");
        assert_eq!(
            e["peer_identity"], "spiffe://cluster.local/ns/b/sa/db",
            "{e}"
        );
    }
    // 2002 requests went over pooled connections: one h2 connection for h2load's streams and
    // (usually) one HTTP/1.1 connection reused by the second curl.
    let m = a.metrics();
    let handshakes: u64 = m
        .lines()
        .find_map(|l| {
            l.strip_prefix(r#"phimesh_tls_handshakes_total{direction="outbound",result="ok"} "#)
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{m}"));
    assert!(
        (2..=3).contains(&handshakes),
        "{handshakes} handshakes: {m}"
    );

    // Egress: plain h2 to the server.
    let before = count.load(Ordering::SeqCst);
    let route = format!("127.0.0.1:0={}", server.addr);
    let e = ProxyProc::start(&["--route", &route]);
    let ok = h2load(&format!("http://{}/", e.routes[0]), N);
    assert_eq!(ok, N);
    assert_eq!(count.load(Ordering::SeqCst) - before, N);
    let m = e.metrics();
    assert!(
        m.contains(&format!(r#"phimesh_requests_total{{action="forwarded",direction="outbound",protocol="http2",tls="none"}} {N}"#)),
        "{m}"
    );
}

/// An upstream whose `/hold` requests all wait until `parties` of them are in flight at once
/// (bounded: 504 after 30 s), then echo their bodies.
fn holding_server(parties: usize) -> RecordingServer {
    let barrier = Arc::new(tokio::sync::Barrier::new(parties));
    RecordingServer::start(move |req: Request<Incoming>| {
        let barrier = barrier.clone();
        async move {
            let hold = req.uri().path() == "/hold";
            let body = req.into_body().collect().await?.to_bytes();
            if hold
                && tokio::time::timeout(Duration::from_secs(30), barrier.wait())
                    .await
                    .is_err()
            {
                let mut r = Response::new(Full::new(Bytes::from_static(b"not concurrent")));
                *r.status_mut() = hyper::StatusCode::GATEWAY_TIMEOUT;
                return Ok(r);
            }
            Ok::<_, hyper::Error>(Response::new(Full::new(body)))
        }
    })
}

/// An h2 (prior knowledge) connection to `addr`, the test kit's client.
async fn h2_connect(
    addr: std::net::SocketAddr,
) -> hyper::client::conn::http2::SendRequest<phimesh_testkit::client::ReqBody> {
    use phimesh_testkit::client::{Conn, Proto};
    match Conn::connect(addr, Proto::H2).await.unwrap() {
        Conn::H2(send) => send,
        Conn::H1(_) => unreachable!("asked for h2"),
    }
}

#[test]
fn hundred_concurrent_h2_streams_on_one_connection_only_the_phi_ones_are_refused() {
    const STREAMS: usize = 100;
    let phi = |i: usize| i % 17 == 5; // 6 of 100
    let n_phi = (0..STREAMS).filter(|i| phi(*i)).count();
    // Every clean stream is held upstream until all of them are in flight at once.
    let server = holding_server(STREAMS - n_phi);
    let route = format!("127.0.0.1:0={}", server.addr);
    let p = ProxyProc::start(&["--route", &route]);
    let addr = p.routes[0];

    let rt = tokio::runtime::Runtime::new().unwrap();
    let results = rt.block_on(async move {
        let send = h2_connect(addr).await;
        let mut tasks = Vec::new();
        for i in 0..STREAMS {
            let mut send = send.clone();
            tasks.push(tokio::spawn(async move {
                let (path, body) = if phi(i) {
                    ("/echo", PHI_JSON.to_owned())
                } else {
                    (
                        "/hold",
                        format!("{{\"stream\":{i},\"order\":{CLEAN_JSON}}}"),
                    )
                };
                let req = Request::post(format!("http://{addr}{path}"))
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(body.clone())).boxed())
                    .unwrap();
                send.ready().await.unwrap();
                let resp = send.send_request(req).await.unwrap();
                let status = resp.status().as_u16();
                let got = resp.into_body().collect().await.unwrap().to_bytes();
                (i, status, body, got)
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(
                tokio::time::timeout(Duration::from_secs(60), t)
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        out
    });

    let mut refused = Vec::new();
    for (i, status, sent, got) in &results {
        if phi(*i) {
            assert_eq!(*status, 403, "stream {i}");
            let v: serde_json::Value = serde_json::from_slice(got).unwrap();
            assert_eq!(v["error"], "phi_refused", "stream {i}: {v}");
            assert!(v["kinds"].as_array().unwrap().iter().any(|k| k == "ssn"));
            refused.push(*i);
        } else {
            assert_eq!(
                (*status, got.as_ref()),
                (200, sent.as_bytes()),
                "stream {i}: {}",
                String::from_utf8_lossy(got)
            );
        }
    }
    assert_eq!(refused.len(), n_phi);
    let wire = server.bytes();
    assert!(
        !contains(&wire, SSN.as_bytes()),
        "the SSN reached the server"
    );
    assert!(!contains(&wire, b"Jane Roe"));
    assert!(contains(&wire, b"\"stream\":99"));

    let audit = p.wait_audit(n_phi);
    assert_eq!(audit.len(), n_phi, "{audit:?}");
    assert!(audit
        .iter()
        .all(|e| e["action"] == "refused" && e["protocol"] == "http2"));
    let m = p.metrics();
    assert!(
        m.contains(&format!(r#"phimesh_requests_total{{action="forwarded",direction="outbound",protocol="http2",tls="none"}} {}"#, STREAMS - n_phi)),
        "{m}"
    );
    assert!(
        m.contains(&format!(r#"phimesh_requests_total{{action="refused",direction="outbound",protocol="http2",tls="none"}} {n_phi}"#)),
        "{m}"
    );
}

#[test]
fn request_trailers_with_phi_on_egress_are_refused_or_reset_and_never_forwarded() {
    let trailers_seen: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let seen = trailers_seen.clone();
    let server = RecordingServer::start(move |req: Request<Incoming>| {
        let seen = seen.clone();
        async move {
            let body = req.into_body().collect().await?;
            if let Some(t) = body.trailers() {
                for (k, v) in t {
                    seen.lock()
                        .unwrap()
                        .push(format!("{k}: {}", String::from_utf8_lossy(v.as_bytes())));
                }
            }
            Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from_static(b"ok\n"))))
        }
    });
    let route = format!("127.0.0.1:0={}", server.addr);
    let p = ProxyProc::start(&["--route", &route]);
    let addr = p.routes[0];

    let rt = tokio::runtime::Runtime::new().unwrap();
    let send_with_trailers = |body_len: usize, note: &'static str| {
        rt.block_on(async move {
            let mut send = h2_connect(addr).await;
            let mut t = hyper::http::HeaderMap::new();
            t.insert("x-note", hyper::http::HeaderValue::from_static(note));
            let frames = vec![
                Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from(vec![b'x'; body_len]))),
                Ok(Frame::trailers(t)),
            ];
            let req = Request::post(format!("http://{addr}/"))
                .body(StreamBody::new(futures_util::stream::iter(frames)).boxed())
                .unwrap();
            send.ready().await.unwrap();
            match send.send_request(req).await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let body = r.into_body().collect().await.map(|b| b.to_bytes());
                    Some((status, body.ok()))
                }
                Err(_) => None,
            }
        })
    };

    // Clean trailers pass.
    let r = send_with_trailers(10, "all good");
    assert_eq!(r.as_ref().map(|r| r.0), Some(200));
    assert_eq!(*trailers_seen.lock().unwrap(), vec!["x-note: all good"]);

    // A small body read whole before forwarding: a clean 403.
    let r = send_with_trailers(10, "patient SSN 123-45-6789");
    let (status, body) = r.expect("a response");
    assert_eq!(status, 403);
    let v: serde_json::Value = serde_json::from_slice(&body.unwrap()).unwrap();
    assert_eq!(v["error"], "phi_refused");

    // A body larger than the prefetch already streams upstream: the stream is reset.
    let r = send_with_trailers(200_000, "patient SSN 123-45-6789");
    assert!(
        r.as_ref().is_none_or(|(s, b)| *s != 200 || b.is_none()),
        "completed: {:?}",
        r.map(|r| r.0)
    );
    assert_eq!(
        *trailers_seen.lock().unwrap(),
        vec!["x-note: all good"],
        "PHI trailers reached the server"
    );
    assert!(!contains(&server.bytes(), SSN.as_bytes()));

    let audit = p.wait_audit(2);
    let got: Vec<(&str, &str)> = audit
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["findings"][0]["part"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![("refused", "trailers"), ("reset", "trailers")],
        "{audit:?}"
    );
    assert!(!p.audit_text().contains(SSN));
}

#[test]
fn header_names_count_as_context_for_phi_in_heads() {
    // `00123456` alone is not PHI, but under a header named `x-mrn` it is a medical record
    // number; an SSN can hide in a header name itself.
    // Header fields as the upstream decoded them (raw h2 bytes are HPACK, often Huffman-coded,
    // so a search of the wire would find nothing whether or not they were forwarded).
    let fields: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let log = fields.clone();
    let server = RecordingServer::start(move |req: Request<Incoming>| {
        let log = log.clone();
        async move {
            for (k, v) in req.headers() {
                log.lock()
                    .unwrap()
                    .push(format!("{k}: {}", String::from_utf8_lossy(v.as_bytes())));
            }
            Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from_static(b"ok\n"))))
        }
    });
    let route = format!("127.0.0.1:0={}", server.addr);
    let p = ProxyProc::start(&["--route", &route]);
    let url = format!("http://{}/", p.routes[0]);
    for (header, want) in [
        ("x-order: 00123456", 200),
        ("x-mrn: 00123456", 403),
        ("x-ssn-123456789: 1", 403),
    ] {
        for h2 in [false, true] {
            let mut args = vec!["-H", header, url.as_str()];
            if h2 {
                args.insert(0, "--http2-prior-knowledge");
            }
            let (code, body) = curl(&args);
            assert_eq!(code, want, "{header} (h2: {h2}): {body}");
        }
    }
    let got = fields.lock().unwrap().clone();
    assert_eq!(
        got.iter().filter(|f| *f == "x-order: 00123456").count(),
        2,
        "{got:?}"
    );
    assert!(
        !got.iter()
            .any(|f| f.contains("x-mrn") || f.contains("123456789")),
        "{got:?}"
    );
    let wire = server.bytes();
    assert!(!contains(&wire, b"x-mrn") && !contains(&wire, b"123456789"));
    let audit = p.wait_audit(4);
    assert_eq!(audit.len(), 4, "{audit:?}");
    assert!(audit
        .iter()
        .all(|e| e["action"] == "refused" && e["findings"][0]["part"] == "head"));
    assert!(!p.audit_text().contains("00123456") && !p.audit_text().contains("x-mrn"));
}

#[test]
fn phi_in_the_h2_authority_is_refused_on_egress_and_never_reaches_the_upstream() {
    // The h2 `:authority` goes upstream as the app wrote it, so it is scanned like the path.
    let seen: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let server = RecordingServer::start(move |req: Request<Incoming>| {
        let log = log.clone();
        async move {
            let a = req.uri().authority().map(|a| a.to_string());
            log.lock().unwrap().push(a.unwrap_or_default());
            Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from_static(b"ok\n"))))
        }
    });
    let route = format!("127.0.0.1:0={}", server.addr);
    let p = ProxyProc::start(&["--route", &route]);
    let addr = p.routes[0];

    let rt = tokio::runtime::Runtime::new().unwrap();
    let get = |authority: &'static str| {
        rt.block_on(async move {
            let mut send = h2_connect(addr).await;
            let req = Request::get(format!("http://{authority}/records"))
                .body(Full::new(Bytes::new()).boxed())
                .unwrap();
            send.ready().await.unwrap();
            let r = send.send_request(req).await.unwrap();
            let status = r.status().as_u16();
            let body = r.into_body().collect().await.unwrap().to_bytes();
            (status, body)
        })
    };
    let (status, _) = get("orders.example");
    assert_eq!(status, 200);
    assert_eq!(*seen.lock().unwrap(), vec!["orders.example"]);

    let (status, body) = get("ssn.123-45-6789.example");
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"], "phi_refused");
    assert_eq!(
        *seen.lock().unwrap(),
        vec!["orders.example"],
        "the PHI authority reached the upstream"
    );
    let audit = p.wait_audit(1);
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["action"], "refused");
    assert_eq!(audit[0]["findings"][0]["part"], "head");
    assert!(!p.audit_text().contains(SSN));
}

/// An h2/HTTP/1.1 upstream that counts the connections open on it and records each request's
/// authority.
struct ConnCountingServer {
    addr: std::net::SocketAddr,
    open: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
    authorities: Arc<Mutex<Vec<String>>>,
    _rt: tokio::runtime::Runtime,
}

impl ConnCountingServer {
    fn start() -> ConnCountingServer {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let l = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = l.local_addr().unwrap();
        let open = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(AtomicUsize::new(0));
        let authorities = Arc::new(Mutex::new(Vec::new()));
        let (o, a, log) = (open.clone(), accepted.clone(), authorities.clone());
        rt.spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                a.fetch_add(1, Ordering::SeqCst);
                o.fetch_add(1, Ordering::SeqCst);
                let (o, log) = (o.clone(), log.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let a = req.uri().authority().map(|a| a.to_string());
                        log.lock().unwrap().push(a.unwrap_or_default());
                        async {
                            Ok::<_, std::convert::Infallible>(Response::new(Full::new(
                                Bytes::from_static(b"ok"),
                            )))
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(hyper_util::rt::TokioIo::new(s), svc)
                    .await;
                    o.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        ConnCountingServer {
            addr,
            open,
            accepted,
            authorities,
            _rt: rt,
        }
    }
}

#[test]
fn one_upstream_h2_connection_per_downstream_connection_closed_with_it() {
    let server = ConnCountingServer::start();
    let route = format!("127.0.0.1:0={}", server.addr);
    let p = ProxyProc::start(&["--route", &route]);
    let addr = p.routes[0];

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let get = |send: &mut hyper::client::conn::http2::SendRequest<_>, authority: String| {
            let req = Request::get(format!("http://{authority}/"))
                .body(Full::new(Bytes::new()).boxed())
                .unwrap();
            let f = send.send_request(req);
            async move {
                let r = f.await.unwrap();
                let status = r.status().as_u16();
                let _ = r.into_body().collect().await;
                status
            }
        };
        let mut send = h2_connect(addr).await;
        send.ready().await.unwrap();
        assert_eq!(get(&mut send, "a.example".into()).await, 200);
        assert_eq!(
            get(&mut send, "A.EXAMPLE".into()).await,
            200,
            "same authority"
        );
        // Each other authority would have been another pooled upstream connection, kept idle
        // for the pool's idle time: refused with 421 (retry on a new connection) instead.
        for i in 0..20 {
            assert_eq!(get(&mut send, format!("h{i}.example")).await, 421, "h{i}");
        }
        assert_eq!(server.open.load(Ordering::SeqCst), 1);
        assert_eq!(server.accepted.load(Ordering::SeqCst), 1);
        assert_eq!(
            *server.authorities.lock().unwrap(),
            vec!["a.example", "A.EXAMPLE"]
        );
        // A new connection for the other authority is served.
        let mut other = h2_connect(addr).await;
        other.ready().await.unwrap();
        assert_eq!(get(&mut other, "h0.example".into()).await, 200);
        assert_eq!(server.accepted.load(Ordering::SeqCst), 2);

        // Closing the downstream connections closes their upstream connections (well before
        // the pool's 90 s idle time).
        drop(send);
        drop(other);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while server.open.load(Ordering::SeqCst) != 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "{} upstream connections still open after the downstream ones closed",
                server.open.load(Ordering::SeqCst)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let m = p.metrics();
    assert!(
        m.contains(r#"phimesh_requests_total{action="error",direction="outbound",protocol="http2",tls="none"} 20"#),
        "{m}"
    );
}
