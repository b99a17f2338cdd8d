//! Opaque TCP through `phimesh proxy` (explicit mode): server-speaks-first protocols do not hang,
//! PHI in a plaintext egress byte stream (HL7 over MLLP) resets the connection and the
//! destination receives none of it.

#[path = "support/proxy.rs"]
mod support_proxy;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support_proxy::{contains, ProxyProc, SSN};

/// A raw TCP sink: optionally greets first, records everything, echoes `ack` per read.
fn raw_sink(greeting: &'static [u8]) -> (std::net::SocketAddr, Arc<Mutex<Vec<u8>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let rec = Arc::new(Mutex::new(Vec::new()));
    let r = rec.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let r = r.clone();
            std::thread::spawn(move || {
                let _ = s.write_all(greeting);
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    r.lock().unwrap().extend_from_slice(&buf[..n]);
                    let _ = s.write_all(b"ack\n");
                }
            });
        }
    });
    (addr, rec)
}

#[test]
fn server_speaks_first_and_clean_mllp_flow_through() {
    let (addr, rec) = raw_sink(b"220 ready\r\n");
    let route = format!("127.0.0.1:0={addr}");
    let p = ProxyProc::start(&["--route", &route, "--sniff-timeout", "200ms"]);
    let mut c = TcpStream::connect(p.routes[0]).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = [0u8; 11];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"220 ready\r\n");
    c.write_all(b"\x0bMSH|^~\\&|LAB|HOSP|||20240101||ORU^R01|1|P|2.5\r\x1c\r")
        .unwrap();
    let mut ack = [0u8; 4];
    c.read_exact(&mut ack).unwrap();
    assert_eq!(&ack, b"ack\n");
    assert!(contains(&rec.lock().unwrap(), b"ORU^R01"));
}

#[test]
fn phi_in_plaintext_tcp_egress_resets_and_the_destination_gets_none_of_it() {
    let (addr, rec) = raw_sink(b"");
    let route = format!("127.0.0.1:0={addr}");
    let p = ProxyProc::start(&["--route", &route]);
    let mut c = TcpStream::connect(p.routes[0]).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let msg = format!(
        "\x0bMSH|^~\\&|ADT|HOSP|||20240101||ADT^A01|7|P|2.5\rNTE|1||patient SSN {SSN}\r\x1c\r"
    );
    let (a, b) = msg.as_bytes().split_at(msg.len() / 2 + 3);
    c.write_all(a).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let _ = c.write_all(b);
    let mut buf = Vec::new();
    let r = c.read_to_end(&mut buf);
    assert!(
        r.is_err() || !contains(&buf, b"ack"),
        "connection should be reset"
    );
    assert!(!contains(&rec.lock().unwrap(), SSN.as_bytes()));
    assert!(!contains(&rec.lock().unwrap(), b"SSN 123"));
    let audit = p.wait_audit(1);
    assert_eq!(audit[0]["protocol"], "tcp");
    assert_eq!(audit[0]["action"], "reset");
    let m = p.metrics();
    assert!(m.contains(r#"phimesh_requests_total{action="reset",direction="outbound",protocol="tcp",tls="none"} 1"#), "{m}");
}
