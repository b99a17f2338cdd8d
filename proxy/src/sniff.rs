//! Protocol detection on a connection's first bytes, under a timeout: TLS ClientHello, HTTP/2
//! preface, HTTP/1.x request line, otherwise opaque TCP. The bytes read are replayed by
//! [`Prefixed`], so the next stage sees the stream from its first byte.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// The HTTP/2 connection preface.
pub const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Most bytes read while sniffing (a request line or ClientHello beyond this is opaque).
pub const MAX_SNIFF_BYTES: usize = 16 * 1024;

/// What a connection speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protocol {
    /// A TLS ClientHello; `sni` when the hello carried one.
    Tls {
        /// Server name indication, if any.
        sni: Option<String>,
    },
    /// HTTP/1.x request line.
    Http1,
    /// HTTP/2 prior knowledge (the preface).
    Http2,
    /// Anything else, including a client that said nothing before the timeout.
    Opaque,
}

impl Protocol {
    /// Bounded metric label.
    pub fn label(&self) -> &'static str {
        match self {
            Protocol::Tls { .. } => "tls",
            Protocol::Http1 => "http1",
            Protocol::Http2 => "http2",
            Protocol::Opaque => "tcp",
        }
    }
}

enum Guess {
    Is(Protocol),
    NeedMore,
}

fn classify(buf: &[u8]) -> Guess {
    if buf.is_empty() {
        return Guess::NeedMore;
    }
    if buf[0] == 0x16 {
        if buf.len() < 5 {
            return Guess::NeedMore;
        }
        if buf[1] != 0x03 {
            return Guess::Is(Protocol::Opaque);
        }
        return match client_hello_sni(buf) {
            Hello::Sni(sni) => Guess::Is(Protocol::Tls { sni }),
            Hello::Partial => Guess::NeedMore,
            Hello::Other => Guess::Is(Protocol::Opaque),
        };
    }
    let n = buf.len().min(H2_PREFACE.len());
    if buf[..n] == H2_PREFACE[..n] {
        return if n == H2_PREFACE.len() {
            Guess::Is(Protocol::Http2)
        } else {
            Guess::NeedMore
        };
    }
    // HTTP/1: METHOD SP TARGET SP HTTP/1.x CRLF
    let method_len = buf.iter().take_while(|b| b.is_ascii_uppercase()).count();
    if method_len == buf.len() {
        return if method_len <= 16 {
            Guess::NeedMore
        } else {
            Guess::Is(Protocol::Opaque)
        };
    }
    if method_len == 0 || buf[method_len] != b' ' {
        return Guess::Is(Protocol::Opaque);
    }
    match memchr_newline(buf) {
        Some(end) => {
            let line = &buf[..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.ends_with(b" HTTP/1.1") || line.ends_with(b" HTTP/1.0") {
                Guess::Is(Protocol::Http1)
            } else {
                Guess::Is(Protocol::Opaque)
            }
        }
        None if buf.len() >= MAX_SNIFF_BYTES => Guess::Is(Protocol::Opaque),
        None => Guess::NeedMore,
    }
}

fn memchr_newline(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n')
}

enum Hello {
    Sni(Option<String>),
    Partial,
    Other,
}

/// Reads the SNI of a TLS ClientHello at the start of `buf` (first record only).
fn client_hello_sni(buf: &[u8]) -> Hello {
    let rec_len = usize::from(u16::from_be_bytes([buf[3], buf[4]]));
    if buf.len() < 5 + rec_len.min(MAX_SNIFF_BYTES - 5) {
        return Hello::Partial;
    }
    let rec = &buf[5..(5 + rec_len).min(buf.len())];
    let mut r = Reader(rec);
    let parse = |r: &mut Reader<'_>| -> Option<Option<String>> {
        if r.u8()? != 1 {
            return None;
        }
        let _len = r.take(3)?;
        r.take(2 + 32)?; // version, random
        let sid = usize::from(r.u8()?);
        r.take(sid)?;
        let cs = usize::from(r.u16()?);
        r.take(cs)?;
        let comp = usize::from(r.u8()?);
        r.take(comp)?;
        if r.0.is_empty() {
            return Some(None);
        }
        let ext_len = usize::from(r.u16()?);
        let mut exts = Reader(r.take(ext_len.min(r.0.len()))?);
        while exts.0.len() >= 4 {
            let ty = exts.u16()?;
            let len = usize::from(exts.u16()?);
            let body = exts.take(len)?;
            if ty == 0 {
                let mut b = Reader(body);
                let _list = b.u16()?;
                if b.u8()? == 0 {
                    let n = usize::from(b.u16()?);
                    let name = b.take(n)?;
                    return Some(
                        std::str::from_utf8(name)
                            .ok()
                            .map(|s| s.to_ascii_lowercase()),
                    );
                }
            }
        }
        Some(None)
    };
    match parse(&mut r) {
        Some(sni) => Hello::Sni(sni),
        None if rec.len() < rec_len => Hello::Sni(None),
        None => Hello::Other,
    }
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

/// Reads the first bytes of `io` until the protocol is known, EOF, [`MAX_SNIFF_BYTES`] or
/// `timeout`. Returns the protocol and the bytes read (to replay).
pub async fn sniff<IO: AsyncRead + Unpin>(
    io: &mut IO,
    timeout: Duration,
) -> io::Result<(Protocol, Bytes)> {
    let mut buf = BytesMut::with_capacity(1024);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Guess::Is(p) = classify(&buf) {
            return Ok((p, buf.freeze()));
        }
        if buf.len() >= MAX_SNIFF_BYTES {
            return Ok((Protocol::Opaque, buf.freeze()));
        }
        buf.reserve(1024);
        match tokio::time::timeout_at(deadline, io.read_buf(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => return Ok((Protocol::Opaque, buf.freeze())),
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
    use tokio::io::AsyncWriteExt;

    async fn sniff_bytes(chunks: &[&[u8]], close: bool) -> (Protocol, Bytes) {
        let (mut a, mut b) = tokio::io::duplex(64 * 1024);
        for c in chunks {
            a.write_all(c).await.unwrap();
        }
        if close {
            drop(a);
            sniff(&mut b, Duration::from_secs(5)).await.unwrap()
        } else {
            let r = sniff(&mut b, Duration::from_millis(50)).await.unwrap();
            drop(a);
            r
        }
    }

    #[tokio::test]
    async fn detects_each_protocol() {
        let (p, _) = sniff_bytes(&[b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"], false).await;
        assert_eq!(p, Protocol::Http1);
        let (p, _) = sniff_bytes(&[b"POS", b"T /a?b HTTP/1.0\r\n"], false).await;
        assert_eq!(p, Protocol::Http1);
        let (p, b) = sniff_bytes(&[&H2_PREFACE[..10], &H2_PREFACE[10..]], false).await;
        assert_eq!(p, Protocol::Http2);
        assert_eq!(&b[..], H2_PREFACE);
        let (p, _) = sniff_bytes(&[b"\x0bMSH|^~\\&|"], false).await;
        assert_eq!(p, Protocol::Opaque);
        // Server speaks first: nothing arrives, the timeout makes it opaque.
        let (p, b) = sniff_bytes(&[], false).await;
        assert_eq!((p, b.len()), (Protocol::Opaque, 0));
        let (p, _) = sniff_bytes(&[b"GET"], true).await;
        assert_eq!(p, Protocol::Opaque);
    }

    #[tokio::test]
    async fn reads_sni_of_a_real_client_hello() {
        let (a, mut b) = tokio::io::duplex(64 * 1024);
        let cfg = rustls::ClientConfig::builder_with_provider(phimesh_ca::tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        let conn = tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg));
        let name = rustls::pki_types::ServerName::try_from("API.Example.com").unwrap();
        let t = tokio::spawn(async move { conn.connect(name, a).await });
        let (p, _) = sniff(&mut b, Duration::from_secs(5)).await.unwrap();
        assert_eq!(
            p,
            Protocol::Tls {
                sni: Some("api.example.com".into())
            }
        );
        drop(b);
        let _ = t.await;
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
            let _ = classify(&v);
            let mut w = v.clone();
            if !w.is_empty() {
                w[0] = 0x16;
            }
            if w.len() > 1 {
                w[1] = 3;
            }
            let _ = classify(&w);
        }
    }
}
