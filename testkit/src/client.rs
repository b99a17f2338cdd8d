//! HTTP/1.1, h2 (prior knowledge) and unary gRPC clients on hyper.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

/// A request body.
pub type ReqBody = BoxBody<Bytes, Infallible>;

/// The h2 stream window of the clients and of [`crate::server`]: as large as the sidecar's, so
/// a direct path is not held back by a smaller one.
pub const H2_STREAM_WINDOW: u32 = 1 << 20;
/// The h2 connection window of the clients and of [`crate::server`].
pub const H2_CONN_WINDOW: u32 = 4 << 20;

/// The protocol of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// HTTP/1.1.
    H1,
    /// HTTP/2 with prior knowledge (no upgrade, no TLS).
    H2,
}

impl Proto {
    /// `HTTP/1.1` or `h2`.
    pub fn name(self) -> &'static str {
        match self {
            Proto::H1 => "HTTP/1.1",
            Proto::H2 => "h2",
        }
    }
}

/// An answer, its body read to the end.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The response status.
    pub status: StatusCode,
    /// `grpc-status`, from the head or the trailers.
    pub grpc_status: Option<u32>,
    /// The body.
    pub body: Bytes,
}

impl Reply {
    /// Whether the body contains `s`.
    pub fn body_has(&self, s: &str) -> bool {
        crate::codec::contains(&self.body, s.as_bytes())
    }
}

/// A client connection: HTTP/1.1 (one request at a time) or h2 (clones share it).
pub enum Conn {
    /// An HTTP/1.1 connection.
    H1(hyper::client::conn::http1::SendRequest<ReqBody>),
    /// An h2 connection.
    H2(hyper::client::conn::http2::SendRequest<ReqBody>),
}

impl Conn {
    /// Connects to `addr` (TCP_NODELAY) and does the `proto` handshake; h2 with
    /// [`H2_STREAM_WINDOW`] and [`H2_CONN_WINDOW`].
    pub async fn connect(addr: SocketAddr, proto: Proto) -> Result<Conn, String> {
        let s = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        let _ = s.set_nodelay(true);
        let io = TokioIo::new(s);
        Ok(match proto {
            Proto::H1 => {
                let (tx, conn) = hyper::client::conn::http1::handshake(io)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(conn);
                Conn::H1(tx)
            }
            Proto::H2 => {
                let (tx, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
                    .initial_stream_window_size(H2_STREAM_WINDOW)
                    .initial_connection_window_size(H2_CONN_WINDOW)
                    .handshake(io)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(conn);
                Conn::H2(tx)
            }
        })
    }

    /// Another handle on the same h2 connection (`None` for HTTP/1.1).
    pub fn h2_clone(&self) -> Option<Conn> {
        match self {
            Conn::H2(tx) => Some(Conn::H2(tx.clone())),
            Conn::H1(_) => None,
        }
    }

    /// Sends `req` once the connection is ready and reads the whole answer, trailers included.
    /// On h2 a `host` header is dropped (the URI carries the authority). An error is a short
    /// reason.
    pub async fn send(&mut self, mut req: Request<ReqBody>) -> Result<Reply, String> {
        let resp = match self {
            Conn::H1(tx) => {
                tx.ready().await.map_err(|e| e.to_string())?;
                tx.send_request(req).await
            }
            Conn::H2(tx) => {
                req.headers_mut().remove(hyper::header::HOST);
                tx.ready().await.map_err(|e| e.to_string())?;
                tx.send_request(req).await
            }
        }
        .map_err(|e| e.to_string())?;
        let status = resp.status();
        let head_status = grpc_status(resp.headers());
        let collected = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?;
        let trailer_status = collected.trailers().and_then(grpc_status);
        Ok(Reply {
            status,
            grpc_status: head_status.or(trailer_status),
            body: collected.to_bytes(),
        })
    }
}

/// One request on a fresh connection, the whole exchange within `within`.
pub async fn exchange(
    addr: SocketAddr,
    proto: Proto,
    req: Request<ReqBody>,
    within: Duration,
) -> Result<Reply, String> {
    tokio::time::timeout(within, async {
        Conn::connect(addr, proto).await?.send(req).await
    })
    .await
    .map_err(|_| format!("no response within {within:?}"))?
}

/// A whole body.
pub fn full(body: impl Into<Bytes>) -> ReqBody {
    Full::new(body.into()).boxed()
}

/// A body sent as `chunks`, one frame each, `pause` between them.
pub fn chunked(chunks: Vec<Bytes>, pause: Duration) -> ReqBody {
    let frames = futures_util::stream::unfold((chunks, 0usize), move |(chunks, i)| async move {
        if i >= chunks.len() {
            return None;
        }
        if i > 0 && !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        let f: Result<Frame<Bytes>, Infallible> = Ok(Frame::data(chunks[i].clone()));
        Some((f, (chunks, i + 1)))
    });
    BodyExt::boxed(StreamBody::new(frames))
}

/// A `method` request for `uri` with `headers` and `body`.
pub fn request(
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: ReqBody,
) -> Request<ReqBody> {
    let mut b = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body).expect("a valid request")
}

/// A unary gRPC call to `addr`'s `path` (`/package.Service/Method`) carrying `message`
/// (protobuf bytes) in one uncompressed frame; send it over [`Proto::H2`].
pub fn grpc_unary(addr: SocketAddr, path: &str, message: &[u8]) -> Request<ReqBody> {
    request(
        "POST",
        &format!("http://{addr}{path}"),
        &[("content-type", "application/grpc"), ("te", "trailers")],
        full(crate::codec::grpc_frame(false, message)),
    )
}

fn grpc_status(h: &HeaderMap) -> Option<u32> {
    h.get("grpc-status")?.to_str().ok()?.parse().ok()
}
