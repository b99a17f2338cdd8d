//! Connection plumbing shared by the stages: activity tracking for idle timeouts and abortive
//! close (TCP reset) of a stream whatever it is wrapped in.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Last time a connection moved a byte, shared between the stream and its watchdog.
#[derive(Debug, Clone)]
pub struct Activity {
    origin: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            origin: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Activity {
    /// Records activity now.
    pub fn touch(&self) {
        let ms = self.origin.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Resolves once nothing moved for `idle`.
    pub async fn idle(&self, idle: Duration) {
        loop {
            let last = self.origin + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let deadline = last + idle;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

pin_project_lite::pin_project! {
    /// A stream that records every read and write in an [`Activity`].
    #[derive(Debug)]
    pub struct Tracked<IO> {
        #[pin]
        io: IO,
        activity: Activity,
    }
}

impl<IO> Tracked<IO> {
    /// Wraps `io`.
    pub fn new(io: IO, activity: Activity) -> Self {
        activity.touch();
        Tracked { io, activity }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &IO {
        &self.io
    }
}

impl<IO: AsyncRead> AsyncRead for Tracked<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let r = this.io.poll_read(cx, buf);
        if buf.filled().len() != before {
            this.activity.touch();
        }
        r
    }
}

impl<IO: AsyncWrite> AsyncWrite for Tracked<IO> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.project();
        let r = this.io.poll_write(cx, b);
        if let Poll::Ready(Ok(n)) = &r {
            if *n > 0 {
                this.activity.touch();
            }
        }
        r
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let r = this.io.poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &r {
            if *n > 0 {
                this.activity.touch();
            }
        }
        r
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
}

/// A stream that can be closed with a TCP reset (SO_LINGER 0) instead of a FIN.
pub trait Resettable {
    /// Makes the next close of the underlying socket send RST.
    fn set_reset_on_close(&self);
}

impl Resettable for TcpStream {
    fn set_reset_on_close(&self) {
        let _ = socket2::SockRef::from(self).set_linger(Some(Duration::ZERO));
    }
}

impl<IO: Resettable> Resettable for Tracked<IO> {
    fn set_reset_on_close(&self) {
        self.io.set_reset_on_close()
    }
}

impl<IO: Resettable> Resettable for crate::sniff::Prefixed<IO> {
    fn set_reset_on_close(&self) {
        self.get_ref().set_reset_on_close()
    }
}

impl<IO: Resettable> Resettable for tokio_rustls::server::TlsStream<IO> {
    fn set_reset_on_close(&self) {
        self.get_ref().0.set_reset_on_close()
    }
}

impl<IO: Resettable> Resettable for tokio_rustls::client::TlsStream<IO> {
    fn set_reset_on_close(&self) {
        self.get_ref().0.set_reset_on_close()
    }
}
