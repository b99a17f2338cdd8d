//! App TLS to a host outside the mesh (allowed by the SNI allowlist), passed through only while
//! it is verifiably TLS.
//!
//! The proxy cannot read app TLS, so it must at least know that what it passes is TLS: a
//! ClientHello followed by plaintext would otherwise leave the pod uninspected. The sniff
//! ([`crate::sniff`]) has parsed the ClientHello; [`relay`] then checks the record framing of
//! both directions as the bytes pass ([`Framing`]):
//! - every record header has a content type of 20–23 (change_cipher_spec, alert, handshake,
//!   application_data), a version of 0x0301–0x0304 and a length of at most 2^14 + 256
//!   ([`MAX_RECORD`]); a record's header is released only once all of it has been checked, its
//!   body as it arrives;
//! - the server's first record is a handshake record whose first message is a ServerHello
//!   (type 2) — or a two-byte alert refusing the handshake;
//! - until that ServerHello has been seen, the client sends nothing but its ClientHello's
//!   records, a one-byte change_cipher_spec and two-byte alerts: no application data (so no
//!   0-RTT early data either).
//!
//! A violation in either direction is a [`Violation`] (value-free); the caller's
//! `on_violation` decides (the gate: reset both connections, reason `not_tls`, counted and
//! audited; audit mode records it and the relay goes on unchecked).
//!
//! This is framing, not cryptography: a server that colludes with the app can frame anything.
//! It stops plaintext (an HTTP request, garbage) from riding behind a ClientHello to a server
//! that does not answer it as TLS.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::io::{Activity, Resettable};
use crate::policy::Flow;

/// Largest TLS record accepted: 2^14 bytes of plaintext plus the 256 bytes of expansion TLS 1.3
/// allows (RFC 8446 §5.2; TLS 1.2 stacks with minimal CBC padding stay under it too).
pub const MAX_RECORD: usize = (1 << 14) + 256;

const CHANGE_CIPHER_SPEC: u8 = 20;
const ALERT: u8 = 21;
const HANDSHAKE: u8 = 22;
const APPLICATION_DATA: u8 = 23;
const SERVER_HELLO: u8 = 2;

/// Cipher suites that authenticate but do not encrypt (IANA TLS registry: every
/// `*_WITH_NULL_*` suite, and RFC 9150's `TLS_SHA256_SHA256`, `TLS_SHA384_SHA384`).
const NULL_SUITES: &[u16] = &[
    0x0000, 0x0001, 0x0002, 0x002C, 0x002D, 0x002E, 0x003B, 0x00B0, 0x00B1, 0x00B4, 0x00B5, 0x00B8,
    0x00B9, 0xC001, 0xC006, 0xC00B, 0xC010, 0xC015, 0xC039, 0xC03A, 0xC03B, 0xC0B4, 0xC0B5,
];

/// What broke the TLS framing. Never carries the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// A record whose content type is not 20–23 (plaintext, garbage).
    ContentType,
    /// A record whose version is not 0x0301–0x0304.
    Version,
    /// A record longer than [`MAX_RECORD`], or an empty one that may not be empty.
    Length,
    /// The server's first record is not a ServerHello (or an alert).
    NoServerHello,
    /// The server chose a cipher suite that does not encrypt (`*_WITH_NULL_*`, the
    /// integrity-only TLS 1.3 suites of RFC 9150): the records would carry plaintext.
    NullCipher,
    /// The client sent a record it may not send before the ServerHello (application data,
    /// more handshake after its hello).
    BeforeServerHello,
}

impl Violation {
    /// Bounded label (debug logs).
    pub fn as_str(self) -> &'static str {
        match self {
            Violation::ContentType => "content_type",
            Violation::Version => "version",
            Violation::Length => "length",
            Violation::NoServerHello => "no_server_hello",
            Violation::NullCipher => "null_cipher",
            Violation::BeforeServerHello => "before_server_hello",
        }
    }
}

/// Which end sends the bytes a [`Framing`] checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The app's TLS client (request flow).
    Client,
    /// The TLS server (response flow).
    Server,
}

impl Side {
    /// The flow of the bytes this side sends.
    pub fn flow(self) -> Flow {
        match self {
            Side::Client => Flow::Request,
            Side::Server => Flow::Response,
        }
    }
}

/// The record framing check of one direction, fed the bytes not yet forwarded.
#[derive(Debug)]
pub struct Framing {
    side: Side,
    /// Bytes checked (and released) so far.
    offset: u64,
    /// Bytes of the current record's body still to come.
    body_left: usize,
    /// Client: length of the ClientHello's records at the start of the stream.
    hello_len: u64,
    /// Server: its ServerHello was seen.
    hello_seen: bool,
}

impl Framing {
    /// The client side; its first `hello_len` bytes are the ClientHello's records.
    pub fn client(hello_len: usize) -> Framing {
        Framing {
            side: Side::Client,
            offset: 0,
            body_left: 0,
            hello_len: hello_len as u64,
            hello_seen: false,
        }
    }

    /// The server side.
    pub fn server() -> Framing {
        Framing {
            side: Side::Server,
            offset: 0,
            body_left: 0,
            hello_len: 0,
            hello_seen: false,
        }
    }

    /// How many bytes at the start of `pending` — the bytes not yet forwarded, which begin
    /// where the previous call's count ended — are well framed and may be forwarded now. A
    /// record's header is counted only once all of it has been checked (and, for the server's
    /// first record, the handshake type after it); its body as it comes. `server_hello` is set
    /// (by the server side) before the ServerHello is counted, and read by the client side.
    pub fn check(&mut self, pending: &[u8], server_hello: &AtomicBool) -> Result<usize, Violation> {
        let mut i = 0;
        loop {
            if self.body_left > 0 {
                let n = self.body_left.min(pending.len() - i);
                i += n;
                self.body_left -= n;
                self.offset += n as u64;
                if self.body_left > 0 || i == pending.len() {
                    return Ok(i);
                }
            }
            let h = &pending[i..];
            if h.is_empty() {
                return Ok(i);
            }
            // What there is of the header is checked at once: plaintext fails on its first byte.
            if !(CHANGE_CIPHER_SPEC..=APPLICATION_DATA).contains(&h[0]) {
                return Err(Violation::ContentType);
            }
            if h.get(1).is_some_and(|&b| b != 3) || h.get(2).is_some_and(|&b| !(1..=4).contains(&b))
            {
                return Err(Violation::Version);
            }
            if h.len() < 5 {
                return Ok(i);
            }
            let ty = h[0];
            let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
            if len > MAX_RECORD || (len == 0 && ty != APPLICATION_DATA) {
                return Err(Violation::Length);
            }
            match self.side {
                Side::Client if self.offset < self.hello_len => {
                    if ty != HANDSHAKE {
                        return Err(Violation::BeforeServerHello);
                    }
                }
                Side::Client if !server_hello.load(Ordering::Acquire) => {
                    let allowed =
                        (ty == CHANGE_CIPHER_SPEC && len == 1) || (ty == ALERT && len == 2);
                    if !allowed {
                        return Err(Violation::BeforeServerHello);
                    }
                }
                Side::Client => {}
                Side::Server if !self.hello_seen => match ty {
                    ALERT if len == 2 => {}
                    HANDSHAKE => {
                        let Some(&msg) = h.get(5) else {
                            return Ok(i);
                        };
                        if msg != SERVER_HELLO {
                            return Err(Violation::NoServerHello);
                        }
                        // The chosen suite: after the message header (4), the version (2), the
                        // random (32) and the session id (1 + its length).
                        let Some(&sid) = h.get(5 + 4 + 2 + 32) else {
                            return Ok(i);
                        };
                        let at = 5 + 4 + 2 + 32 + 1 + usize::from(sid);
                        if at + 2 > 5 + len {
                            return Err(Violation::NoServerHello);
                        }
                        let Some(suite) = h.get(at..at + 2) else {
                            return Ok(i);
                        };
                        if NULL_SUITES.contains(&u16::from_be_bytes([suite[0], suite[1]])) {
                            return Err(Violation::NullCipher);
                        }
                        self.hello_seen = true;
                        server_hello.store(true, Ordering::Release);
                    }
                    _ => return Err(Violation::NoServerHello),
                },
                Side::Server => {}
            }
            i += 5;
            self.offset += 5;
            self.body_left = len;
        }
    }
}

/// How a pass-through ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Both directions finished.
    Closed,
    /// The framing broke and `on_violation` said reset: both sides were reset.
    Reset,
    /// Idle timeout or an I/O error.
    Aborted,
}

enum PumpEnd {
    Done,
    Reset,
}

async fn pump<R, W>(
    r: &mut R,
    w: &mut W,
    mut framing: Framing,
    server_hello: &AtomicBool,
    on_violation: &(dyn Fn(Side, Violation) -> bool + Sync),
) -> io::Result<PumpEnd>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let side = framing.side;
    let mut checking = true;
    let mut pending = BytesMut::with_capacity(16 * 1024);
    loop {
        pending.reserve(16 * 1024);
        if r.read_buf(&mut pending).await? == 0 {
            // Bytes left here are the start of a record header that never completed: not
            // forwarded.
            let _ = w.shutdown().await;
            return Ok(PumpEnd::Done);
        }
        let n = if checking {
            match framing.check(&pending, server_hello) {
                Ok(n) => n,
                Err(v) => {
                    if on_violation(side, v) {
                        return Ok(PumpEnd::Reset);
                    }
                    // Audit mode: recorded, the rest goes through unchecked.
                    checking = false;
                    pending.len()
                }
            }
        } else {
            pending.len()
        };
        let out = pending.split_to(n);
        if !out.is_empty() {
            w.write_all(&out).await?;
        }
    }
}

/// Relays `down` (the app, whose ClientHello takes the first `hello_len` bytes it replays)
/// ⇄ `up` (the TLS server) while both directions are well-framed TLS. On a violation,
/// `on_violation(side, violation)` decides: `true` resets both connections. Idle for
/// `idle` aborts.
pub async fn relay<D, U>(
    down: D,
    up: U,
    hello_len: usize,
    activity: Activity,
    idle: std::time::Duration,
    on_violation: &(dyn Fn(Side, Violation) -> bool + Sync),
) -> End
where
    D: AsyncRead + AsyncWrite + Resettable + Unpin,
    U: AsyncRead + AsyncWrite + Resettable + Unpin,
{
    let server_hello = AtomicBool::new(false);
    let (mut dr, mut dw) = tokio::io::split(down);
    let (mut ur, mut uw) = tokio::io::split(up);
    let end = {
        let a = pump(
            &mut dr,
            &mut uw,
            Framing::client(hello_len),
            &server_hello,
            on_violation,
        );
        let b = pump(
            &mut ur,
            &mut dw,
            Framing::server(),
            &server_hello,
            on_violation,
        );
        tokio::pin!(a, b);
        let idle = activity.idle(idle);
        tokio::pin!(idle);
        let (mut a_done, mut b_done) = (false, false);
        let mut end = End::Closed;
        while !(a_done && b_done) {
            let r = tokio::select! {
                r = &mut a, if !a_done => { a_done = true; r }
                r = &mut b, if !b_done => { b_done = true; r }
                _ = &mut idle => { end = End::Aborted; break; }
            };
            match r {
                Ok(PumpEnd::Done) => {}
                Ok(PumpEnd::Reset) => {
                    end = End::Reset;
                    break;
                }
                Err(_) => {
                    end = End::Aborted;
                    break;
                }
            }
        }
        end
    };
    if end != End::Closed {
        dr.unsplit(dw).set_reset_on_close();
        ur.unsplit(uw).set_reset_on_close();
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Arc;

    /// A real TLS 1.3 exchange between two rustls endpoints, in memory: the bytes the client
    /// sent, the bytes the server sent (handshake, then one application message each way).
    fn transcript() -> (Vec<u8>, Vec<u8>) {
        let pki = phimesh_identity::testing::TestPki::new("cluster.local");
        let server_id = pki.identity("spiffe://cluster.local/ns/b/sa/db");
        let client_id = pki.identity("spiffe://cluster.local/ns/a/sa/web");
        let scfg = server_id.server_config(vec![b"h2".to_vec()], false);
        let ccfg = client_id.client_config(vec![b"h2".to_vec()]);
        let name =
            rustls::pki_types::ServerName::IpAddress(std::net::IpAddr::from([127, 0, 0, 1]).into());
        let mut c = rustls::ClientConnection::new(ccfg, name).unwrap();
        let mut s = rustls::ServerConnection::new(scfg).unwrap();
        let (mut c2s, mut s2c) = (Vec::new(), Vec::new());
        let mut move_bytes = |c: &mut rustls::ClientConnection,
                              s: &mut rustls::ServerConnection| {
            let mut buf = Vec::new();
            while c.wants_write() {
                c.write_tls(&mut buf).unwrap();
            }
            c2s.extend_from_slice(&buf);
            s.read_tls(&mut &buf[..]).unwrap();
            s.process_new_packets().unwrap();
            let mut buf = Vec::new();
            while s.wants_write() {
                s.write_tls(&mut buf).unwrap();
            }
            s2c.extend_from_slice(&buf);
            c.read_tls(&mut &buf[..]).unwrap();
            c.process_new_packets().unwrap();
        };
        for _ in 0..10 {
            move_bytes(&mut c, &mut s);
            if !c.is_handshaking() && !s.is_handshaking() {
                break;
            }
        }
        assert!(!c.is_handshaking());
        c.writer().write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        s.writer().write_all(&[b'x'; 40_000]).unwrap();
        move_bytes(&mut c, &mut s);
        (c2s, s2c)
    }

    #[test]
    fn a_server_hello_choosing_a_null_cipher_is_refused_at_every_split() {
        let (_, s2c) = transcript();
        // The ServerHello's suite: record header 5, message header 4, version 2, random 32,
        // session id 1 + its length.
        let sid = usize::from(s2c[5 + 4 + 2 + 32]);
        let at = 5 + 4 + 2 + 32 + 1 + sid;
        for suite in [0x003Bu16, 0x0002, 0xC0B4] {
            let mut bad = s2c.clone();
            bad[at..at + 2].copy_from_slice(&suite.to_be_bytes());
            for cut in 0..=at + 2 {
                let mut f = Framing::server();
                let flag = AtomicBool::new(false);
                let first = f.check(&bad[..cut], &flag);
                let got = match first {
                    Err(v) => Err(v),
                    Ok(n) => f.check(&bad[n..], &flag).map(|m| n + m),
                };
                assert_eq!(
                    got,
                    Err(Violation::NullCipher),
                    "suite {suite:#06x} cut {cut}"
                );
                assert!(!flag.load(Ordering::Acquire), "no ServerHello counted");
            }
        }
        // The real suite passes.
        let mut f = Framing::server();
        assert!(f.check(&s2c, &AtomicBool::new(false)).is_ok());
    }

    fn hello_len(c2s: &[u8]) -> usize {
        5 + usize::from(u16::from_be_bytes([c2s[3], c2s[4]]))
    }

    /// Feeds `bytes` in two pieces cut at `cut`, as a pump would (forwarded bytes drained).
    /// Returns the bytes released and the first violation.
    fn feed(
        f: &mut Framing,
        bytes: &[u8],
        cut: usize,
        sh: &AtomicBool,
    ) -> (usize, Option<Violation>) {
        let mut pending = Vec::new();
        let mut released = 0;
        for piece in [&bytes[..cut], &bytes[cut..]] {
            pending.extend_from_slice(piece);
            match f.check(&pending, sh) {
                Ok(n) => {
                    released += n;
                    pending.drain(..n);
                }
                Err(v) => return (released, Some(v)),
            }
        }
        (released, None)
    }

    #[test]
    fn real_tls_passes_at_every_split_in_both_directions() {
        let (c2s, s2c) = transcript();
        let hl = hello_len(&c2s);
        // The server's bytes: all released, and the ServerHello flag set.
        for cut in 0..=s2c.len() {
            let sh = AtomicBool::new(false);
            let (n, v) = feed(&mut Framing::server(), &s2c, cut, &sh);
            assert_eq!((n, v), (s2c.len(), None), "cut {cut}");
            assert!(sh.load(Ordering::Acquire));
        }
        // The client's bytes once the server said hello: all released.
        for cut in 0..=c2s.len() {
            let sh = AtomicBool::new(true);
            let (n, v) = feed(&mut Framing::client(hl), &c2s, cut, &sh);
            assert_eq!((n, v), (c2s.len(), None), "cut {cut}");
        }
        // Before it: the hello (and a compat change_cipher_spec) pass, nothing past them.
        let sh = AtomicBool::new(false);
        let mut f = Framing::client(hl);
        let mut pending = Vec::new();
        let mut released = 0;
        let mut violation = None;
        for &b in &c2s {
            pending.push(b);
            match f.check(&pending, &sh) {
                Ok(n) => {
                    released += n;
                    pending.drain(..n);
                }
                Err(v) => {
                    violation = Some(v);
                    break;
                }
            }
        }
        assert_eq!(violation, Some(Violation::BeforeServerHello));
        assert!(released >= hl && released < c2s.len(), "{released}");
    }

    #[test]
    fn plaintext_after_a_client_hello_never_gets_past_the_hello() {
        let (c2s, _) = transcript();
        let hl = hello_len(&c2s);
        for flag in [false, true] {
            let mut bytes = c2s[..hl].to_vec();
            bytes.extend_from_slice(b"POST /x HTTP/1.1\r\ncontent-length: 11\r\n\r\n123-45-6789");
            for cut in 0..=bytes.len() {
                let sh = AtomicBool::new(flag);
                let (n, v) = feed(&mut Framing::client(hl), &bytes, cut, &sh);
                assert_eq!(v, Some(Violation::ContentType), "cut {cut}");
                assert!(n <= hl, "cut {cut}: released {n} > hello {hl}");
            }
        }
    }

    #[test]
    fn garbage_records_and_early_data_are_violations() {
        let sh = AtomicBool::new(false);
        let cases: &[(&[u8], Violation)] = &[
            (b"\x16\x03\x01\x00\x40garbage", Violation::BeforeServerHello),
            (b"\x17\x03\x03\x00\x05hello", Violation::BeforeServerHello),
            (b"\x18\x03\x03\x00\x05hello", Violation::ContentType),
            (b"\x13\x03\x03\x00\x05hello", Violation::ContentType),
            (b"\x17\x02\x03", Violation::Version),
            (b"\x17\x03\x05", Violation::Version),
            (b"\x17\x03\x00", Violation::Version),
            (b"\x17\x03\x03\x41\x01", Violation::Length),
            (b"\x15\x03\x03\x00\x00", Violation::Length),
            (
                b"\x14\x03\x03\x00\x02\x01\x01",
                Violation::BeforeServerHello,
            ),
            (b"P", Violation::ContentType),
        ];
        for (bytes, want) in cases {
            // hello_len 0: these come right after the (already forwarded) hello.
            let r = Framing::client(0).check(bytes, &sh);
            assert_eq!(r, Err(*want), "{bytes:?}");
        }
        // A compat change_cipher_spec and a two-byte alert may precede the ServerHello.
        let ok = b"\x14\x03\x03\x00\x01\x01\x15\x03\x03\x00\x02\x02\x28";
        assert_eq!(Framing::client(0).check(ok, &sh), Ok(ok.len()));
        // A record of exactly MAX_RECORD is fine once the hello is done.
        let sh_done = AtomicBool::new(true);
        let mut big = vec![0x17, 3, 3];
        big.extend_from_slice(&(MAX_RECORD as u16).to_be_bytes());
        big.resize(5 + MAX_RECORD, 0xaa);
        assert_eq!(Framing::client(0).check(&big, &sh_done), Ok(big.len()));
    }

    #[test]
    fn the_server_must_start_with_a_server_hello() {
        let cases: &[(&[u8], Result<usize, Violation>)] = &[
            (b"HTTP/1.1 400 Bad Request\r\n", Err(Violation::ContentType)),
            (b"\x17\x03\x03\x00\x02ab", Err(Violation::NoServerHello)),
            (
                b"\x16\x03\x03\x00\x04\x0b\x00\x00\x00",
                Err(Violation::NoServerHello),
            ),
            (b"\x14\x03\x03\x00\x01\x01", Err(Violation::NoServerHello)),
            // An alert refusing the handshake is passed on.
            (b"\x15\x03\x03\x00\x02\x02\x28", Ok(7)),
            // A header without its handshake type yet: held.
            (b"\x16\x03\x03\x00\x30", Ok(0)),
        ];
        for (bytes, want) in cases {
            let sh = AtomicBool::new(false);
            assert_eq!(Framing::server().check(bytes, &sh), *want, "{bytes:?}");
            assert!(!sh.load(Ordering::Acquire));
        }
    }

    #[tokio::test]
    async fn real_tls_through_the_relay_and_plaintext_after_a_hello_is_cut() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let pki = phimesh_identity::testing::TestPki::new("cluster.local");
        let server = crate::tls::Tls::new(pki.identity("spiffe://cluster.local/ns/b/sa/db"), false);
        let client =
            crate::tls::Tls::new(pki.identity("spiffe://cluster.local/ns/a/sa/web"), false);
        let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let up_addr = upstream.local_addr().unwrap();
        let received = Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let rec = received.clone();
        tokio::spawn(async move {
            loop {
                let Ok((s, _)) = upstream.accept().await else {
                    return;
                };
                let server = server.clone();
                let rec = rec.clone();
                tokio::spawn(async move {
                    let r = server.accept(s, std::time::Duration::from_secs(5)).await;
                    if let Ok((mut t, _, _)) = r {
                        let mut buf = vec![0u8; 4];
                        if t.read_exact(&mut buf).await.is_ok() {
                            rec.lock().unwrap().extend_from_slice(&buf);
                            let _ = t.write_all(b"pong").await;
                            let _ = t.shutdown().await;
                        }
                    }
                });
            }
        });
        let front = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let front_addr = front.local_addr().unwrap();
        let violations = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = violations.clone();
        tokio::spawn(async move {
            loop {
                let Ok((s, _)) = front.accept().await else {
                    return;
                };
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut s = s;
                    let b = Bounds::default();
                    let (p, prefix) = crate::sniff::sniff(&mut s, &b).await.unwrap();
                    let crate::sniff::Protocol::Tls(hello) = p else {
                        panic!("not a hello: {p:?}")
                    };
                    let up = tokio::net::TcpStream::connect(up_addr).await.unwrap();
                    let down = crate::sniff::Prefixed::new(prefix, s);
                    let on = |side: Side, v: Violation| {
                        seen.lock().unwrap().push((side, v));
                        true
                    };
                    relay(
                        down,
                        up,
                        hello.len,
                        Activity::default(),
                        std::time::Duration::from_secs(5),
                        &on,
                    )
                    .await
                });
            }
        });
        // Real TLS: the server gets "ping", the client "pong".
        let (mut c, _) = client
            .connect(
                front_addr,
                crate::tls::Carried::Tcp,
                std::time::Duration::from_secs(5),
                None,
            )
            .await
            .unwrap();
        c.write_all(b"ping").await.unwrap();
        let mut got = String::new();
        c.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "pong");
        assert_eq!(&received.lock().unwrap()[..], b"ping");
        assert!(violations.lock().unwrap().is_empty());

        // A real hello, then plaintext: reset, and the server never sees the plaintext.
        let (c2s, _) = transcript();
        let hl = hello_len(&c2s);
        let mut s = tokio::net::TcpStream::connect(front_addr).await.unwrap();
        s.write_all(&c2s[..hl]).await.unwrap();
        s.write_all(b"POST /x HTTP/1.1\r\ncontent-length: 11\r\n\r\n123-45-6789")
            .await
            .unwrap();
        let mut sink = Vec::new();
        let r = tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut sink))
            .await
            .unwrap();
        assert!(r.is_err() || sink.is_empty(), "{r:?} {sink:?}");
        assert_eq!(
            violations.lock().unwrap()[..],
            [(Side::Client, Violation::ContentType)]
        );
        assert_eq!(&received.lock().unwrap()[..], b"ping");
    }

    use crate::config::Bounds;
}
