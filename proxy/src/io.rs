//! Connection plumbing shared by the stages: activity tracking for idle timeouts and abortive
//! close (TCP reset) of a stream whatever it is wrapped in.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Whether a connection moved a byte, shared between the stream and its watchdog. A read or a
/// write only sets a flag (no clock read on the data path); the watchdog looks at the flag a
/// few times per idle period.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    moved: Arc<AtomicBool>,
}

impl Activity {
    /// Records activity now.
    pub fn touch(&self) {
        if !self.moved.load(Ordering::Relaxed) {
            self.moved.store(true, Ordering::Relaxed);
        }
    }

    /// Resolves once nothing moved for `idle`: never sooner, and at most a quarter of `idle`
    /// later (the watchdog's tick).
    pub async fn idle(&self, idle: Duration) {
        let tick = (idle / 4).max(Duration::from_millis(1));
        let mut quiet_since = Instant::now();
        loop {
            let deadline = quiet_since + idle;
            let now = Instant::now();
            if now < deadline {
                tokio::time::sleep_until(deadline.min(now + tick)).await;
            }
            if self.moved.swap(false, Ordering::Relaxed) {
                // Something moved since the last look: quiet from now on at the earliest.
                quiet_since = Instant::now();
            } else if Instant::now() >= deadline {
                return;
            }
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
