//! Protocol detection on a connection's first bytes: TLS ClientHello, HTTP/2 preface, HTTP/1.x
//! request line, otherwise opaque TCP with the reason it is opaque ([`Opaque`], as linkerd's
//! `NoServerTls` says why a connection is not TLS). The bytes read are replayed by [`Prefixed`],
//! so the next stage sees the stream from its first byte.
//!
//! The decision never falls back to opaque TCP for a stream that could still be HTTP or TLS:
//! - Nothing at all within `sniff_timeout` is [`Opaque::Silent`] (a server-speaks-first
//!   protocol, or a slow client: [`crate::listener`] then waits for whichever side speaks first
//!   and sniffs the client's bytes if it is the client).
//! - Bytes that could begin an HTTP request (empty lines, then a method token, a space, a
//!   request line), an HTTP/2 preface or a TLS record keep the sniff waiting until
//!   `header_timeout` and up to [`sniff_limit`] bytes. A request line is HTTP/1 if it ends in
//!   ` HTTP/1.1`/` HTTP/1.0`, and also if it only *looks* like HTTP (it mentions `HTTP/`, or its
//!   method is a standard one) — malformed or over-long, it goes to hyper's parser, which
//!   answers 400/414/431. A stream that stalls or closes mid-way is [`Opaque::Stalled`] /
//!   [`Opaque::Truncated`], refused as `malformed` where PHI is refused.
//! - A first byte of `0x16` must be followed by a well-formed ClientHello in handshake records
//!   (record header version 0x0301–0x0304): anything else is [`Opaque::NotTls`], refused as
//!   `not_tls` where PHI is refused.
//! - What remains is [`Opaque::NotHttp`]: a first byte that begins none of those (MLLP's
//!   `0x0b`, a database's binary startup), or a first line that is a text protocol's command,
//!   not an HTTP request line (`*1`, `get key`). It is relayed with inspection.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

use crate::config::Bounds;
use crate::policy::Unreadable;

/// The HTTP/2 connection preface.
pub const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Largest plaintext TLS record (a ClientHello's records are plaintext).
const MAX_PLAINTEXT_RECORD: usize = 1 << 14;
/// The sniff reads at least this much, whatever the header bound, so that any ClientHello fits.
const MIN_SNIFF_LIMIT: usize = 32 * 1024;

/// Most bytes read while sniffing: the largest request head (`max_header_bytes`), at least
/// 32 KiB. A request line still incomplete at this size goes to hyper, which answers 414/431.
pub fn sniff_limit(bounds: &Bounds) -> usize {
    bounds.max_header_bytes.max(MIN_SNIFF_LIMIT)
}

/// A well-formed TLS ClientHello at the start of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// Server name indication (lowercased), if any.
    pub sni: Option<String>,
    /// The application protocols it offers (ALPN), as the client wrote them (lossy UTF-8).
    pub alpn: Vec<String>,
    /// Bytes of the handshake records that carry it, from the first byte of the stream.
    pub len: usize,
}

/// Why a stream is relayed (or refused) as opaque bytes rather than parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opaque {
    /// The client sent nothing before the sniff timeout (or closed without a byte).
    Silent,
    /// The first bytes begin neither a TLS record, an HTTP/2 preface nor an HTTP request line.
    NotHttp,
    /// Began like a TLS record but is not a well-formed ClientHello.
    NotTls,
    /// Began like an HTTP request, then the client closed before the request line was complete.
    Truncated,
    /// Began like an HTTP request (or preface), then stalled past the header timeout.
    Stalled,
}

impl Opaque {
    /// Bounded label.
    pub fn as_str(self) -> &'static str {
        match self {
            Opaque::Silent => "silent",
            Opaque::NotHttp => "not_http",
            Opaque::NotTls => "not_tls",
            Opaque::Truncated => "truncated",
            Opaque::Stalled => "stalled",
        }
    }

    /// Where PHI is refused, what such a stream is refused as; `None`: it is relayed with
    /// inspection.
    pub fn refusal(self) -> Option<Unreadable> {
        match self {
            Opaque::Silent | Opaque::NotHttp => None,
            Opaque::NotTls => Some(Unreadable::NotTls),
            Opaque::Truncated | Opaque::Stalled => Some(Unreadable::Malformed),
        }
    }
}

/// The HTTP version of a connection: what sniffing found, what a mesh connection's ALPN says
/// it carries ([`crate::tls::Carried::Http`]), and how [`crate::http::serve`] serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// HTTP/1.x.
    Http1,
    /// HTTP/2.
    H2,
}

/// What a connection speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protocol {
    /// A well-formed TLS ClientHello.
    Tls(ClientHello),
    /// HTTP: an HTTP/1.x request line (or a malformed one that hyper will answer), or the
    /// HTTP/2 prior-knowledge preface.
    Http(Version),
    /// Opaque bytes, and why.
    Opaque(Opaque),
}

impl Protocol {
    /// Bounded metric label.
    pub fn label(&self) -> &'static str {
        match self {
            Protocol::Tls(_) => "tls",
            Protocol::Http(Version::Http1) => "http1",
            Protocol::Http(Version::H2) => "http2",
            Protocol::Opaque(_) => "tcp",
        }
    }
}

/// What the bytes so far could still become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Candidate {
    Nothing,
    Tls,
    Http,
}

impl Candidate {
    fn timed_out(self) -> Opaque {
        match self {
            Candidate::Nothing => Opaque::Silent,
            Candidate::Tls => Opaque::NotTls,
            Candidate::Http => Opaque::Stalled,
        }
    }
    fn closed(self) -> Opaque {
        match self {
            Candidate::Nothing => Opaque::Silent,
            Candidate::Tls => Opaque::NotTls,
            Candidate::Http => Opaque::Truncated,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Guess {
    Is(Protocol),
    NeedMore(Candidate),
}

fn classify(buf: &[u8], limit: usize) -> Guess {
    if buf.is_empty() {
        return Guess::NeedMore(Candidate::Nothing);
    }
    if buf[0] == 0x16 {
        return classify_tls(buf, limit);
    }
    let n = buf.len().min(H2_PREFACE.len());
    if buf[..n] == H2_PREFACE[..n] {
        return if n == H2_PREFACE.len() {
            Guess::Is(Protocol::Http(Version::H2))
        } else {
            Guess::NeedMore(Candidate::Http)
        };
    }
    classify_http1(buf, limit)
}

/// RFC 9110 `tchar`: the bytes of a method token.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A byte that cannot appear in a request line before its end.
fn is_ctl(b: u8) -> bool {
    (b < 0x20 && b != b'\t' && b != b'\r') || b == 0x7f
}

const STANDARD_METHODS: &[&[u8]] = &[
    b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"CONNECT", b"OPTIONS", b"TRACE", b"PATCH",
];

/// A request line that is not well-formed but that an HTTP server would still read as an
/// attempt at one: it goes to hyper, which answers it, instead of being relayed.
fn looks_like_http(line: &[u8], method: &[u8]) -> bool {
    STANDARD_METHODS.contains(&method) || line.windows(5).any(|w| w.eq_ignore_ascii_case(b"HTTP/"))
}

fn classify_http1(buf: &[u8], limit: usize) -> Guess {
    // RFC 9112 §2.2: servers ignore empty lines before the request line (hyper does).
    let start = buf
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    let rest = &buf[start..];
    let method_len = rest.iter().take_while(|b| is_tchar(**b)).count();
    let at_limit = buf.len() >= limit;
    if method_len == rest.len() {
        return if at_limit {
            Guess::Is(Protocol::Http(Version::Http1))
        } else {
            Guess::NeedMore(Candidate::Http)
        };
    }
    if method_len == 0 || rest[method_len] != b' ' {
        return Guess::Is(Protocol::Opaque(Opaque::NotHttp));
    }
    let method = &rest[..method_len];
    let after = &rest[method_len + 1..];
    match after.iter().position(|&b| b == b'\n') {
        Some(end) => {
            let line = &rest[..method_len + 1 + end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.ends_with(b" HTTP/1.1")
                || line.ends_with(b" HTTP/1.0")
                || looks_like_http(line, method)
            {
                Guess::Is(Protocol::Http(Version::Http1))
            } else {
                Guess::Is(Protocol::Opaque(Opaque::NotHttp))
            }
        }
        // A byte no request line holds: decide on what is there (a binary protocol whose
        // first bytes happen to be letters and a space does not wait for a newline).
        None if after.iter().any(|&b| is_ctl(b)) => {
            if looks_like_http(rest, method) {
                Guess::Is(Protocol::Http(Version::Http1))
            } else {
                Guess::Is(Protocol::Opaque(Opaque::NotHttp))
            }
        }
        None if at_limit => Guess::Is(Protocol::Http(Version::Http1)),
        None => Guess::NeedMore(Candidate::Http),
    }
}

/// A TLS record header (or its first bytes) that can begin a ClientHello's record:
/// handshake, version 0x0301–0x0304, a length a plaintext record may have.
fn hello_record_header_ok(h: &[u8]) -> bool {
    let checks = [
        h.first().is_none_or(|&b| b == 0x16),
        h.get(1).is_none_or(|&b| b == 0x03),
        h.get(2).is_none_or(|&b| (0x01..=0x04).contains(&b)),
        h.len() < 5 || {
            let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
            (1..=MAX_PLAINTEXT_RECORD).contains(&len)
        },
    ];
    checks.iter().all(|c| *c)
}

/// A ClientHello in one or more handshake records at the start of `buf`. Needs the whole
/// handshake message; nothing else may share its last record.
fn classify_tls(buf: &[u8], limit: usize) -> Guess {
    let not_tls = Guess::Is(Protocol::Opaque(Opaque::NotTls));
    let mut msg: Vec<u8> = Vec::new();
    let mut pos = 0;
    loop {
        let header = &buf[pos..buf.len().min(pos + 5)];
        if !hello_record_header_ok(header) {
            return not_tls;
        }
        if header.len() < 5 {
            return Guess::NeedMore(Candidate::Tls);
        }
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let body_start = pos + 5;
        let end = body_start + len;
        if end > limit {
            return not_tls;
        }
        let available = &buf[body_start..buf.len().min(end)];
        // The handshake type, as soon as it is there.
        if msg.is_empty() && available.first().is_some_and(|&t| t != 1) {
            return not_tls;
        }
        if buf.len() < end {
            return Guess::NeedMore(Candidate::Tls);
        }
        msg.extend_from_slice(available);
        pos = end;
        if msg.len() < 4 {
            continue;
        }
        let hello_len =
            4 + ((usize::from(msg[1]) << 16) | (usize::from(msg[2]) << 8) | usize::from(msg[3]));
        if hello_len > limit || msg.len() > hello_len {
            return not_tls;
        }
        if msg.len() == hello_len {
            return match client_hello_names(&msg[4..]) {
                Some((sni, alpn)) => Guess::Is(Protocol::Tls(ClientHello {
                    sni,
                    alpn,
                    len: pos,
                })),
                None => not_tls,
            };
        }
    }
}

/// Parses a ClientHello body strictly (every length consistent, nothing left over) and returns
/// its SNI host name, lowercased, and its ALPN protocol names. `None`: not a well-formed
/// ClientHello.
fn client_hello_names(body: &[u8]) -> Option<(Option<String>, Vec<String>)> {
    let mut r = Reader(body);
    let version = r.take(2)?;
    if version[0] != 3 {
        return None;
    }
    r.take(32)?; // random
    let sid = usize::from(r.u8()?);
    if sid > 32 {
        return None;
    }
    r.take(sid)?;
    let cs = usize::from(r.u16()?);
    if cs < 2 || cs % 2 != 0 {
        return None;
    }
    r.take(cs)?;
    let comp = usize::from(r.u8()?);
    if comp < 1 {
        return None;
    }
    r.take(comp)?;
    if r.0.is_empty() {
        return Some((None, Vec::new()));
    }
    let ext_len = usize::from(r.u16()?);
    if ext_len != r.0.len() {
        return None;
    }
    let mut sni = None;
    let mut alpn = Vec::new();
    while !r.0.is_empty() {
        let ty = r.u16()?;
        let len = usize::from(r.u16()?);
        let ext = r.take(len)?;
        if ty == 16 {
            // application_layer_protocol_negotiation: a u16 list of u8-length names.
            let mut b = Reader(ext);
            let list = usize::from(b.u16()?);
            if list != b.0.len() {
                return None;
            }
            while !b.0.is_empty() {
                let n = usize::from(b.u8()?);
                alpn.push(String::from_utf8_lossy(b.take(n)?).into_owned());
            }
            continue;
        }
        if ty != 0 {
            continue;
        }
        let mut b = Reader(ext);
        let list = usize::from(b.u16()?);
        if list != b.0.len() {
            return None;
        }
        while !b.0.is_empty() {
            let kind = b.u8()?;
            let n = usize::from(b.u16()?);
            let name = b.take(n)?;
            if kind == 0 && sni.is_none() {
                if name.is_empty() || !name.iter().all(|c| c.is_ascii_graphic()) {
                    return None;
                }
                sni = Some(String::from_utf8_lossy(name).to_ascii_lowercase());
            }
        }
    }
    Some((sni, alpn))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
}

/// Reads the first bytes of `io` until the protocol is known (see the module doc for the
/// bounds). Returns the protocol and the bytes read (to replay).
pub async fn sniff<IO: AsyncRead + Unpin>(
    io: &mut IO,
    bounds: &Bounds,
) -> io::Result<(Protocol, Bytes)> {
    sniff_from(io, BytesMut::new(), bounds).await
}

/// [`sniff`] of a stream whose first bytes `buf` were already read (a client that spoke after
/// the sniff timeout): the header timeout counts from now.
pub async fn sniff_from<IO: AsyncRead + Unpin>(
    io: &mut IO,
    mut buf: BytesMut,
    bounds: &Bounds,
) -> io::Result<(Protocol, Bytes)> {
    let start = tokio::time::Instant::now();
    let quiet_deadline = start + bounds.sniff_timeout;
    let head_deadline = start + bounds.header_timeout.max(bounds.sniff_timeout);
    let limit = sniff_limit(bounds);
    loop {
        let candidate = match classify(&buf, limit) {
            Guess::Is(p) => return Ok((p, buf.freeze())),
            Guess::NeedMore(c) => c,
        };
        let deadline = if buf.is_empty() {
            quiet_deadline
        } else {
            head_deadline
        };
        buf.reserve(4096);
        match tokio::time::timeout_at(deadline, io.read_buf(&mut buf)).await {
            Err(_) => return Ok((Protocol::Opaque(candidate.timed_out()), buf.freeze())),
            Ok(Ok(0)) => return Ok((Protocol::Opaque(candidate.closed()), buf.freeze())),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e),
        }
    }
}

pin_project_lite::pin_project! {
    /// An I/O stream whose first reads return `prefix` (the sniffed bytes).
    #[derive(Debug)]
    pub struct Prefixed<IO> {
        prefix: Bytes,
        #[pin]
        io: IO,
    }
}

impl<IO> Prefixed<IO> {
    /// Replays `prefix` before reading from `io`.
    pub fn new(prefix: Bytes, io: IO) -> Self {
        Prefixed { prefix, io }
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &IO {
        &self.io
    }
}

impl<IO: AsyncRead> AsyncRead for Prefixed<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        this.io.poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite> AsyncWrite for Prefixed<IO> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        self.project().io.poll_write(cx, b)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;

    fn bounds() -> Bounds {
        Bounds {
            sniff_timeout: Duration::from_millis(50),
            header_timeout: Duration::from_millis(400),
            ..Bounds::default()
        }
    }

    /// Writes `chunks` with `pause` between them; `close` ends the stream after the last.
    async fn sniff_paced(chunks: &[&[u8]], pause: Duration, close: bool) -> (Protocol, Bytes) {
        let (mut a, mut b) = tokio::io::duplex(256 * 1024);
        let chunks: Vec<Vec<u8>> = chunks.iter().map(|c| c.to_vec()).collect();
        let writer = tokio::spawn(async move {
            for (i, c) in chunks.iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(pause).await;
                }
                a.write_all(c).await.unwrap();
            }
            if close {
                drop(a);
                None
            } else {
                Some(a)
            }
        });
        let r = sniff(&mut b, &bounds()).await.unwrap();
        drop(writer.await.unwrap());
        r
    }

    async fn sniff_bytes(chunks: &[&[u8]], close: bool) -> (Protocol, Bytes) {
        sniff_paced(chunks, Duration::ZERO, close).await
    }

    fn limit() -> usize {
        sniff_limit(&Bounds::default())
    }

    #[tokio::test]
    async fn detects_each_protocol() {
        let (p, _) = sniff_bytes(&[b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"], false).await;
        assert_eq!(p, Protocol::Http(Version::Http1));
        let (p, _) = sniff_bytes(&[b"POS", b"T /a?b HTTP/1.0\r\n"], false).await;
        assert_eq!(p, Protocol::Http(Version::Http1));
        let (p, b) = sniff_bytes(&[&H2_PREFACE[..10], &H2_PREFACE[10..]], false).await;
        assert_eq!(p, Protocol::Http(Version::H2));
        assert_eq!(&b[..], H2_PREFACE);
        let (p, _) = sniff_bytes(&[b"\x0bMSH|^~\\&|"], false).await;
        assert_eq!(p, Protocol::Opaque(Opaque::NotHttp));
        // Server speaks first: nothing arrives, the sniff timeout says so.
        let (p, b) = sniff_bytes(&[], false).await;
        assert_eq!((p, b.len()), (Protocol::Opaque(Opaque::Silent), 0));
        let (p, _) = sniff_bytes(&[], true).await;
        assert_eq!(p, Protocol::Opaque(Opaque::Silent));
    }

    #[tokio::test]
    async fn a_request_that_pauses_past_the_sniff_timeout_is_still_http() {
        // `P`, a pause longer than the sniff timeout (50 ms here), then the rest.
        let t = std::time::Instant::now();
        let (p, b) = sniff_paced(
            &[b"P", b"OST /x HTTP/1.1\r\ncontent-encoding: gzip\r\n\r\n"],
            Duration::from_millis(150),
            false,
        )
        .await;
        assert_eq!(p, Protocol::Http(Version::Http1));
        assert!(b.starts_with(b"POST /x"));
        assert!(t.elapsed() >= Duration::from_millis(150));
        // Empty lines first (RFC 9112 §2.2), then a pause inside the request line.
        let (p, _) = sniff_paced(
            &[b"\r\n\r\nPOST /x?a=", b"1 HTTP/1.1\r\n"],
            Duration::from_millis(150),
            false,
        )
        .await;
        assert_eq!(p, Protocol::Http(Version::Http1));
        // A client that stalls past the header timeout (400 ms) or closes mid-line.
        let (p, _) = sniff_paced(&[b"POST /x"], Duration::ZERO, false).await;
        assert_eq!(p, Protocol::Opaque(Opaque::Stalled));
        assert_eq!(Opaque::Stalled.refusal(), Some(Unreadable::Malformed));
        let (p, _) = sniff_bytes(&[b"GET"], true).await;
        assert_eq!(p, Protocol::Opaque(Opaque::Truncated));
        let (p, _) = sniff_bytes(&[&H2_PREFACE[..5]], true).await;
        assert_eq!(p, Protocol::Opaque(Opaque::Truncated));
    }

    #[test]
    fn malformed_or_long_request_lines_go_to_hyper_not_tcp() {
        let l = limit();
        for line in [
            &b"POST /x HTTP/1.1 \r\n"[..],       // trailing space
            b"POST /x HTTP/1.2\r\n",             // bad version
            b"POST /x HTTP/2.0\r\n",             // not on HTTP/1
            b"post /x http/1.1\r\n",             // lowercase
            b"GET /x\r\n",                       // HTTP/0.9 style
            b"GET  /x HTTP/1.1\r\n",             // two spaces
            b"XPOST /x HTTP/1.1\r\n",            // extension method
            b"PRI * HTTP/2.0\r\n\r\nSX\r\n\r\n", // a preface gone wrong
            b"GET /\x00 HTTP/1.1",               // a control byte in the target
        ] {
            assert_eq!(
                classify(line, l),
                Guess::Is(Protocol::Http(Version::Http1)),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
        // A 17 KB request line, complete or not yet.
        let long = format!("POST /x?q={} HTTP/1.1\r\n", "a".repeat(17 * 1024));
        assert_eq!(
            classify(long.as_bytes(), l),
            Guess::Is(Protocol::Http(Version::Http1))
        );
        assert_eq!(
            classify(&long.as_bytes()[..16 * 1024 + 7], l),
            Guess::NeedMore(Candidate::Http)
        );
        // Longer than the limit without an end: hyper answers 414/431.
        let huge = format!("POST /x?q={}", "a".repeat(l));
        assert_eq!(
            classify(huge.as_bytes(), l),
            Guess::Is(Protocol::Http(Version::Http1))
        );
        let token = "A".repeat(l);
        assert_eq!(
            classify(token.as_bytes(), l),
            Guess::Is(Protocol::Http(Version::Http1))
        );
        assert_eq!(
            classify(&token.as_bytes()[..100], l),
            Guess::NeedMore(Candidate::Http)
        );
    }

    #[test]
    fn other_text_and_binary_protocols_are_opaque_at_once() {
        let l = limit();
        for first in [
            &b"*1\r\n$4\r\nPING\r\n"[..], // redis
            b"get key\r\n",               // memcached
            b"PING\r\n",                  // a token, then no space
            b"{\"jsonrpc\":\"2.0\"}",
            b"\x00\x00\x00\x08\x04\xd2\x16\x2f", // postgres SSLRequest
            b" GET / HTTP/1.1\r\n",              // no server reads a leading space as HTTP
            b"A \x00\x01\x02",                   // binary after letters and a space
        ] {
            assert_eq!(
                classify(first, l),
                Guess::Is(Protocol::Opaque(Opaque::NotHttp)),
                "{:?}",
                String::from_utf8_lossy(first)
            );
        }
    }

    /// A real ClientHello from rustls, captured in memory.
    async fn client_hello_async(sni: &str) -> Vec<u8> {
        let (a, mut b) = tokio::io::duplex(64 * 1024);
        let cfg = rustls::ClientConfig::builder_with_provider(phimesh_identity::tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        let conn = tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg));
        let name = rustls::pki_types::ServerName::try_from(sni.to_owned()).unwrap();
        let t = tokio::spawn(async move { conn.connect(name, a).await });
        let mut buf = vec![0u8; 5];
        b.read_exact(&mut buf).await.unwrap();
        let len = usize::from(u16::from_be_bytes([buf[3], buf[4]]));
        buf.resize(5 + len, 0);
        b.read_exact(&mut buf[5..]).await.unwrap();
        drop(b);
        let _ = t.await;
        buf
    }

    fn client_hello(sni: &str) -> Vec<u8> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(client_hello_async(sni))
    }

    #[test]
    fn reads_sni_of_a_real_client_hello_at_every_split() {
        let hello = client_hello("API.Example.com");
        let want = Protocol::Tls(ClientHello {
            sni: Some("api.example.com".into()),
            alpn: Vec::new(),
            len: hello.len(),
        });
        assert_eq!(classify(&hello, limit()), Guess::Is(want.clone()));
        for cut in 0..hello.len() {
            assert_eq!(
                classify(&hello[..cut], limit()),
                Guess::NeedMore(if cut == 0 {
                    Candidate::Nothing
                } else {
                    Candidate::Tls
                }),
                "cut {cut}"
            );
        }
        // Then plaintext: the hello is still a hello (the relay checks what follows).
        let mut more = hello.clone();
        more.extend_from_slice(b"POST / HTTP/1.1\r\n\r\n");
        assert_eq!(classify(&more, limit()), Guess::Is(want));
        // The same hello split over two handshake records.
        let body = &hello[5..];
        let (x, y) = body.split_at(100);
        let mut two = Vec::new();
        for part in [x, y] {
            two.extend_from_slice(&[0x16, 3, 1]);
            two.extend_from_slice(&(part.len() as u16).to_be_bytes());
            two.extend_from_slice(part);
        }
        assert_eq!(
            classify(&two, limit()),
            Guess::Is(Protocol::Tls(ClientHello {
                sni: Some("api.example.com".into()),
                alpn: Vec::new(),
                len: two.len()
            }))
        );
    }

    #[test]
    fn tls_lookalikes_are_not_tls() {
        let l = limit();
        let hello = client_hello("api.example.com");
        let not_tls = Guess::Is(Protocol::Opaque(Opaque::NotTls));
        // `160301` and garbage; a record length over 2^14; version 0x0300 or 0x0305; another
        // handshake type; a record that is cut short of its hello; a byte flipped in a length.
        let mut garbage = vec![0x16, 3, 1, 0, 64];
        garbage.extend((0..64u8).map(|i| i.wrapping_mul(37)));
        assert_eq!(classify(&garbage, l), not_tls);
        assert_eq!(classify(b"\x16\x03\x01PO", l), not_tls);
        assert_eq!(classify(b"\x16\x03\x00", l), not_tls);
        assert_eq!(classify(b"\x16\x03\x05", l), not_tls);
        assert_eq!(classify(b"\x16\x04", l), not_tls);
        assert_eq!(classify(b"\x16\x03\x03\x00\x10\x02", l), not_tls);
        assert_eq!(classify(b"\x16\x03\x03\x00\x00", l), not_tls);
        for i in [3usize, 4, 6, 7, 8, 9, 43, 76] {
            let mut bad = hello.clone();
            bad[i] ^= 0x40;
            assert_ne!(
                classify(&bad, l),
                Guess::Is(Protocol::Tls(ClientHello {
                    sni: Some("api.example.com".into()),
                    alpn: Vec::new(),
                    len: hello.len()
                })),
                "flip at {i}"
            );
        }
        // Trailing bytes inside the hello's record.
        let mut trailing = hello.clone();
        let len = u16::from_be_bytes([trailing[3], trailing[4]]) + 3;
        trailing[3..5].copy_from_slice(&len.to_be_bytes());
        trailing.extend_from_slice(b"abc");
        assert_eq!(classify(&trailing, l), not_tls);
    }

    #[tokio::test]
    async fn a_stalled_or_cut_hello_is_not_tls() {
        let hello = client_hello_async("api.example.com").await;
        let (p, _) = sniff_bytes(&[&hello[..50]], false).await;
        assert_eq!(p, Protocol::Opaque(Opaque::NotTls));
        let (p, _) = sniff_bytes(&[&hello[..50]], true).await;
        assert_eq!(p, Protocol::Opaque(Opaque::NotTls));
        let (p, b) = sniff_paced(
            &[&hello[..50], &hello[50..]],
            Duration::from_millis(100),
            false,
        )
        .await;
        assert!(matches!(p, Protocol::Tls(_)), "{p:?}");
        assert_eq!(b.len(), hello.len());
    }

    #[tokio::test]
    async fn prefixed_replays_then_reads() {
        let (mut a, b) = tokio::io::duplex(1024);
        a.write_all(b"world").await.unwrap();
        drop(a);
        let mut p = Prefixed::new(Bytes::from_static(b"hello "), b);
        let mut s = String::new();
        p.read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "hello world");
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x: u32 = 12345;
        for len in 0..300 {
            let v: Vec<u8> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 16) as u8
                })
                .collect();
            let _ = classify(&v, 256);
            let mut w = v.clone();
            if !w.is_empty() {
                w[0] = 0x16;
            }
            if w.len() > 2 {
                w[1] = 3;
                w[2] = 1;
            }
            let _ = classify(&w, 256);
            let _ = client_hello_names(&v);
        }
    }
}
