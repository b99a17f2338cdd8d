//! In-process apps and upstreams: HTTP/1.1 and h2 on one listener, optionally recording every
//! byte read off their connections.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use hyper::body::{Body, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;

use crate::client::{H2_CONN_WINDOW, H2_STREAM_WINDOW};

/// Sees every byte read off a connection, before HTTP parsing.
pub type WireTap = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// Most concurrent h2 streams per connection.
pub const MAX_STREAMS: u32 = 512;

/// Serves `handler` on every connection `listener` accepts, HTTP/1.1 or h2 (prior knowledge),
/// with the clients' h2 windows and up to [`MAX_STREAMS`] streams per connection; `tap` (if
/// any) is shown every byte read. Runs until the task is aborted or its runtime ends.
pub fn serve<F, Fut, B, E>(
    listener: TcpListener,
    tap: Option<WireTap>,
    handler: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Response<B>, E>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                continue;
            };
            let _ = s.set_nodelay(true);
            let handler = handler.clone();
            let tap = tap.clone();
            tokio::spawn(async move {
                let mut b = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                b.http2()
                    .initial_stream_window_size(H2_STREAM_WINDOW)
                    .initial_connection_window_size(H2_CONN_WINDOW)
                    .max_concurrent_streams(MAX_STREAMS);
                let io = TokioIo::new(Recording { inner: s, tap });
                let _ = b
                    .serve_connection(io, hyper::service::service_fn(handler))
                    .await;
            });
        }
    })
}

/// A stream that shows its tap every byte read from it.
struct Recording<IO> {
    inner: IO,
    tap: Option<WireTap>,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Recording<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(tap)) = (&r, &self.tap) {
            tap(&buf.filled()[before..]);
        }
        r
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Recording<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        b: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, b)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A tap that appends to `log`.
pub fn tap_into(log: Arc<Mutex<Vec<u8>>>) -> WireTap {
    Arc::new(move |b: &[u8]| {
        if let Ok(mut v) = log.lock() {
            v.extend_from_slice(b);
        }
    })
}

#[cfg(feature = "tests")]
pub use blocking::{RecordingServer, Sink, CLEAN_JSON, PHI_JSON, SSN};

#[cfg(feature = "tests")]
mod blocking {
    use std::net::SocketAddr;

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};

    use super::*;

    /// A value that must never reach an external sink.
    pub const SSN: &str = "123-45-6789";
    /// A JSON body with a patient's SSN.
    pub const PHI_JSON: &str = r#"{"patient":{"name":"Jane Roe","ssn":"123-45-6789"}}"#;
    /// A clean JSON body.
    pub const CLEAN_JSON: &str = r#"{"order":{"item":"gauze","qty":3}}"#;

    /// An upstream with the test's own handler, on a runtime of its own (so a blocking test can
    /// use it); every byte it receives is recorded.
    pub struct RecordingServer {
        /// Where it listens.
        pub addr: SocketAddr,
        /// Every byte received, all connections.
        pub received: Arc<Mutex<Vec<u8>>>,
        _rt: tokio::runtime::Runtime,
    }

    impl RecordingServer {
        /// Starts it on 127.0.0.1 with `handler`.
        pub fn start<F, Fut>(handler: F) -> RecordingServer
        where
            F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
            Fut: std::future::Future<Output = Result<Response<Full<Bytes>>, hyper::Error>>
                + Send
                + 'static,
        {
            Self::start_on("127.0.0.1:0", handler)
        }

        /// Starts it on `addr` with `handler`.
        pub fn start_on<F, Fut>(addr: &str, handler: F) -> RecordingServer
        where
            F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
            Fut: std::future::Future<Output = Result<Response<Full<Bytes>>, hyper::Error>>
                + Send
                + 'static,
        {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            let listener = rt
                .block_on(TcpListener::bind(addr))
                .unwrap_or_else(|e| panic!("bind {addr}: {e}"));
            let addr = listener.local_addr().expect("a bound address");
            let received = Arc::new(Mutex::new(Vec::new()));
            let tap = tap_into(received.clone());
            rt.spawn(async move {
                let _ = serve(listener, Some(tap), handler).await;
            });
            RecordingServer {
                addr,
                received,
                _rt: rt,
            }
        }

        /// A copy of everything received so far.
        pub fn bytes(&self) -> Vec<u8> {
            self.received.lock().map(|v| v.clone()).unwrap_or_default()
        }
    }

    /// A [`RecordingServer`] that answers `/phi` with [`PHI_JSON`], echoes the request body on
    /// `/echo` and answers anything else `ok`.
    pub struct Sink(RecordingServer);

    impl std::ops::Deref for Sink {
        type Target = RecordingServer;
        fn deref(&self) -> &RecordingServer {
            &self.0
        }
    }

    async fn sink_handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
        let path = req.uri().path().to_owned();
        let body = req.into_body().collect().await?.to_bytes();
        let out = match path.as_str() {
            "/phi" => Bytes::from_static(PHI_JSON.as_bytes()),
            "/echo" => body,
            _ => Bytes::from_static(b"ok\n"),
        };
        Ok(Response::new(Full::new(out)))
    }

    impl Sink {
        /// Starts a sink on 127.0.0.1.
        pub fn start() -> Sink {
            Self::start_on("127.0.0.1:0")
        }

        /// Starts a sink on `addr`.
        pub fn start_on(addr: &str) -> Sink {
            Sink(RecordingServer::start_on(addr, sink_handle))
        }
    }
}
