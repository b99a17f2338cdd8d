//! Accept loops and the per-connection dispatch — the start of the spine:
//! `accept → sniff → tls → http | tcp | passthrough`, each connection on its own task, bounded
//! by `max_connections`, counted in `phimesh_connections_open`, and watched by the drain.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::config::{InboundMtls, Listen};
use crate::context::{ConnCtx, Shared};
use crate::forward::{Route, UpstreamIo};
use crate::gate::{Enforce, Exchange, Stage};
use crate::http;
use crate::io::{Activity, Resettable, Tracked};
use crate::passthrough;
use crate::policy::{sni_allowed, Direction, Flow, PathKind, Unreadable, Verdict};
use crate::sniff::{sniff, sniff_from, ClientHello, Opaque, Prefixed, Protocol};
use crate::tcp;
use crate::tls::Carried;

/// Where an accepted connection is going.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// Outbound to a fixed upstream (explicit `--route`).
    Fixed(SocketAddr),
    /// Outbound, or inbound in transparent mode: the original destination.
    Original,
    /// Inbound to the app at this address (explicit `--inbound-forward`).
    App(SocketAddr),
}

/// Binds a data listener. [`Listen::DualStack`] is one `[::]` socket with `IPV6_V6ONLY` off
/// (IPv4 clients appear as `::ffff:a.b.c.d`, unmapped by the accept loop and by
/// [`crate::orig_dst`]); where the host has no IPv6 it binds `0.0.0.0` and logs a warning.
/// [`Listen::Addr`] binds exactly the address given.
pub async fn bind(listen: Listen) -> io::Result<TcpListener> {
    match listen {
        Listen::Addr(a) => TcpListener::bind(a).await,
        Listen::DualStack(port) => bind_dual_stack(port, dual_stack_socket).await,
    }
}

fn dual_stack_socket(port: u16) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV6, Type::STREAM, Some(socket2::Protocol::TCP))?;
    s.set_only_v6(false)?;
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)).into())?;
    s.listen(1024)?;
    Ok(s.into())
}

/// Errors that mean "this host has no IPv6", as opposed to a port in use or a permission.
fn ipv6_unavailable(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT | libc::EADDRNOTAVAIL)
    )
}

async fn bind_dual_stack(
    port: u16,
    v6: impl FnOnce(u16) -> io::Result<std::net::TcpListener>,
) -> io::Result<TcpListener> {
    match v6(port) {
        Ok(l) => TcpListener::from_std(l),
        Err(e) if ipv6_unavailable(&e) => {
            tracing::warn!(
                port,
                error = %e,
                "IPv6 is not available on this host; listening on 0.0.0.0 (IPv4 only)"
            );
            TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).await
        }
        Err(e) => Err(e),
    }
}

/// Runs one listener until the drain signal.
pub async fn run(listener: TcpListener, direction: Direction, target: Target, shared: Arc<Shared>) {
    let limit = Arc::new(Semaphore::new(shared.cfg.bounds.max_connections));
    let dir = direction.as_str();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shared.drain.signaled() => return,
        };
        let Some((stream, peer)) = accepted_or_pause(accepted, dir).await else {
            continue;
        };
        let peer = crate::orig_dst::unmap(peer);
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            shared
                .metrics
                .connections_rejected
                .with_label_values(&[dir, "max_connections"])
                .inc();
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let guard = shared.drain.guard();
            let gauge = shared.metrics.connections_open.with_label_values(&[dir]);
            gauge.inc();
            match direction {
                Direction::Outbound => outbound(stream, peer, target, shared.clone()).await,
                Direction::Inbound => inbound(stream, peer, target, shared.clone()).await,
            }
            gauge.dec();
            drop(guard);
            drop(permit);
        });
    }
}

/// An accepted connection, or after a failed accept (out of file descriptors, for example) a
/// short pause instead of a busy loop. Shared by the data and admin listeners.
pub(crate) async fn accepted_or_pause(
    accepted: io::Result<(TcpStream, SocketAddr)>,
    listener: &str,
) -> Option<(TcpStream, SocketAddr)> {
    match accepted {
        Ok(a) => Some(a),
        Err(e) => {
            tracing::debug!(error = %e, listener, "accept failed");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            None
        }
    }
}

fn reject(shared: &Shared, dir: Direction, reason: &'static str) {
    shared
        .metrics
        .connections_rejected
        .with_label_values(&[dir.as_str(), reason])
        .inc();
}

fn destination(stream: &TcpStream, target: Target, shared: &Shared) -> Option<SocketAddr> {
    match target {
        Target::Fixed(a) | Target::App(a) => Some(a),
        Target::Original => shared.cfg.transparent.as_ref()?.original_dst(stream).ok(),
    }
}

async fn outbound(stream: TcpStream, peer: SocketAddr, target: Target, shared: Arc<Shared>) {
    let Some(dst) = destination(&stream, target, &shared) else {
        return reject(&shared, Direction::Outbound, "no_original_destination");
    };
    let activity = Activity::default();
    let mut io = Tracked::new(stream, activity.clone());
    let Ok((proto, prefix)) = sniff(&mut io, &shared.cfg.bounds).await else {
        return;
    };
    let io = Prefixed::new(prefix, io);
    let path = match shared.dialer.route(dst) {
        Route::Mesh(_) => PathKind::MeshOutbound,
        Route::Egress => PathKind::Egress,
    };
    let ctx = ConnCtx::new(path, peer, dst);
    dispatch(io, proto, activity, ctx, shared).await;
}

/// Hands a sniffed (plaintext) stream to the stage of its protocol. A client that said nothing
/// before the sniff timeout gets [`silent`].
async fn dispatch<D>(io: D, proto: Protocol, activity: Activity, ctx: ConnCtx, shared: Arc<Shared>)
where
    D: AsyncRead + AsyncWrite + Resettable + Unpin + Send + 'static,
{
    match proto {
        Protocol::Opaque(Opaque::Silent) => silent(io, activity, ctx, shared).await,
        p => dispatch_known(io, p, None, activity, ctx, shared).await,
    }
}

/// [`dispatch`] of a protocol already known, with the upstream connection when one was dialled
/// while waiting for the first speaker. On a path that refuses PHI nothing falls back to a
/// less-inspected mode: an opaque stream that began like HTTP or TLS is refused
/// ([`Opaque::refusal`]), app TLS is relayed only while verifiably TLS ([`passthrough`]).
async fn dispatch_known<D>(
    io: D,
    proto: Protocol,
    up: Option<UpstreamIo>,
    activity: Activity,
    ctx: ConnCtx,
    shared: Arc<Shared>,
) where
    D: AsyncRead + AsyncWrite + Resettable + Unpin + Send + 'static,
{
    match proto {
        // The HTTP clients dial their own (pooled) connections: a connection dialled while
        // waiting for the first speaker closes now.
        Protocol::Http(version) => {
            drop(up);
            http::serve(io, activity, ctx, version, shared).await
        }
        Protocol::Tls(hello) => app_tls(io, hello, up, activity, ctx, shared).await,
        Protocol::Opaque(why) => {
            if let Some(r) = why.refusal() {
                let label = if why == Opaque::NotTls {
                    "tls"
                } else {
                    "http1"
                };
                let ex = Exchange::stream(&shared, ctx.clone(), label);
                let e = ex.gate(Flow::Request).connection(Stage::Before, r.into());
                if let Enforce::Reset = e {
                    io.set_reset_on_close();
                    if let Some(up) = &up {
                        up.set_reset_on_close();
                    }
                    return;
                }
            }
            opaque(io, up, activity, ctx, true, shared).await
        }
    }
}

/// A client that said nothing within the sniff timeout: a server-speaks-first protocol, or a
/// client that is slow to start. Dials the destination and waits for whichever side speaks
/// first: the server (relayed as opaque TCP, inspected), or the client, whose bytes are sniffed
/// like any first bytes (an HTTP request after a pause is still HTTP).
async fn silent<D>(mut down: D, activity: Activity, mut ctx: ConnCtx, shared: Arc<Shared>)
where
    D: AsyncRead + AsyncWrite + Resettable + Unpin + Send + 'static,
{
    let Some(mut up) = dial(&mut ctx, &shared, &down).await else {
        return;
    };
    let (mut from_client, mut from_server) = (BytesMut::new(), BytesMut::new());
    let idle = activity.idle(shared.cfg.bounds.idle_timeout);
    // Both reads are cancel-safe: the one that loses read nothing.
    let client_first = tokio::select! {
        r = down.read_buf(&mut from_client) => r.map(|n| n > 0),
        r = up.read_buf(&mut from_server) => r.map(|_| false),
        _ = idle => return,
    };
    match client_first {
        Err(_) => {
            down.set_reset_on_close();
            up.set_reset_on_close();
        }
        Ok(true) => {
            let Ok((proto, prefix)) = sniff_from(&mut down, from_client, &shared.cfg.bounds).await
            else {
                return;
            };
            let proto = match proto {
                Protocol::Opaque(Opaque::Silent) => Protocol::Opaque(Opaque::NotHttp),
                p => p,
            };
            let down = Prefixed::new(prefix, down);
            dispatch_known(down, proto, Some(up), activity, ctx, shared).await
        }
        Ok(false) => {
            let up = Prefixed::new(from_server.freeze(), up);
            relay_opaque(down, up, activity, ctx, true, shared).await
        }
    }
}

/// Dials the destination for a relayed connection (mTLS to a mesh peer outbound). On failure
/// the downstream is reset.
async fn dial<D: Resettable>(ctx: &mut ConnCtx, shared: &Shared, down: &D) -> Option<UpstreamIo> {
    match shared
        .dialer
        .dial(ctx.destination, Carried::Tcp, ctx.upstream())
        .await
    {
        Ok((up, id)) => {
            if ctx.path == PathKind::MeshOutbound {
                ctx.peer_identity = id.map(Arc::from);
            }
            Some(up)
        }
        Err(e) => {
            tracing::debug!(error = %e, "upstream connect failed");
            down.set_reset_on_close();
            None
        }
    }
}

/// App TLS (a ClientHello the proxy does not terminate). To a mesh peer it rides the mTLS
/// tunnel as opaque bytes. Elsewhere — a path that refuses PHI in one direction — it must be
/// allowed by the SNI allowlist (outbound) and is relayed only while it is verifiably TLS
/// ([`passthrough`]); the gate decides on a name not allowed and on broken framing.
async fn app_tls<D>(
    down: D,
    hello: ClientHello,
    up: Option<UpstreamIo>,
    activity: Activity,
    mut ctx: ConnCtx,
    shared: Arc<Shared>,
) where
    D: AsyncRead + AsyncWrite + Resettable + Unpin + Send + 'static,
{
    if matches!(ctx.path, PathKind::MeshOutbound | PathKind::MeshInbound) {
        return opaque(down, up, activity, ctx, false, shared).await;
    }
    let ex = Exchange::app_tls(&shared, ctx.clone());
    if ctx.path.direction() == Direction::Outbound
        && !sni_allowed(shared.cfg.sni_allow.as_deref(), hello.sni.as_deref())
    {
        let e = ex
            .gate(Flow::Request)
            .connection(Stage::Before, Verdict::SniNotAllowed);
        if let Enforce::Reset = e {
            down.set_reset_on_close();
            if let Some(up) = &up {
                up.set_reset_on_close();
            }
            return;
        }
    }
    // The names in the ClientHello travel in plaintext: the SNI and the ALPN protocols are
    // read like a request head (`X-SSN-...` in a host name is PHI in the clear).
    let gate = ex.gate(Flow::Request);
    if let Some(engine) = gate.engine() {
        let mut names = format!("sni: {}\n", hello.sni.as_deref().unwrap_or(""));
        for p in &hello.alpn {
            names.push_str("alpn: ");
            names.push_str(p);
            names.push('\n');
        }
        let insp = crate::inspect::scan_text(engine, names.into_bytes());
        gate.scanned(&insp);
        if let Enforce::Reset = gate.check(Stage::Before, "head", &insp) {
            down.set_reset_on_close();
            if let Some(up) = &up {
                up.set_reset_on_close();
            }
            return;
        }
    }
    let up = match up {
        Some(up) => up,
        None => match dial(&mut ctx, &shared, &down).await {
            Some(up) => up,
            None => return ex.finish("error"),
        },
    };
    let on_violation = |side: passthrough::Side, v: passthrough::Violation| {
        tracing::debug!(violation = v.as_str(), "app TLS framing broken");
        let e = ex
            .gate(side.flow())
            .connection(Stage::Streaming, Unreadable::NotTls.into());
        matches!(e, Enforce::Reset)
    };
    let end = passthrough::relay(
        down,
        up,
        hello.len,
        activity,
        shared.cfg.bounds.idle_timeout,
        &on_violation,
    )
    .await;
    ex.finish(match end {
        passthrough::End::Closed => "forwarded",
        passthrough::End::Reset => "reset",
        passthrough::End::Aborted => "error",
    });
}

/// Opaque TCP: dials (unless `up` is given) and relays.
async fn opaque<D>(
    down: D,
    up: Option<UpstreamIo>,
    activity: Activity,
    mut ctx: ConnCtx,
    inspect: bool,
    shared: Arc<Shared>,
) where
    D: AsyncRead + AsyncWrite + Resettable + Unpin + Send + 'static,
{
    let up = match up {
        Some(up) => up,
        None => match dial(&mut ctx, &shared, &down).await {
            Some(up) => up,
            None => return,
        },
    };
    relay_opaque(down, up, activity, ctx, inspect, shared).await
}

async fn relay_opaque<D, U>(
    down: D,
    up: U,
    activity: Activity,
    ctx: ConnCtx,
    inspect: bool,
    shared: Arc<Shared>,
) where
    D: AsyncRead + AsyncWrite + Resettable + Unpin + Send + 'static,
    U: AsyncRead + AsyncWrite + Resettable + Unpin + Send + 'static,
{
    let ex = Exchange::stream(&shared, ctx, "tcp");
    let idle = shared.cfg.bounds.idle_timeout;
    let end = tcp::relay(down, up, activity, &ex, inspect, idle).await;
    ex.finish(match end {
        tcp::RelayEnd::Closed => "forwarded",
        tcp::RelayEnd::Reset => "reset",
        tcp::RelayEnd::Aborted => "error",
    });
}

async fn inbound(stream: TcpStream, peer: SocketAddr, target: Target, shared: Arc<Shared>) {
    let Some(app) = destination(&stream, target, &shared) else {
        return reject(&shared, Direction::Inbound, "no_original_destination");
    };
    let activity = Activity::default();
    let mut io = Tracked::new(stream, activity.clone());
    let Ok((proto, prefix)) = sniff(&mut io, &shared.cfg.bounds).await else {
        return;
    };
    let io = Prefixed::new(prefix, io);
    let permissive = shared.cfg.inbound_mtls == InboundMtls::Permissive;
    let mut ctx = ConnCtx::new(PathKind::PlainInbound, peer, app);
    match (proto, &shared.tls) {
        (Protocol::Tls(_), Some(tls)) => {
            let r = tls.accept(io, shared.cfg.bounds.handshake_timeout).await;
            if let Some(reason) = r
                .as_ref()
                .err()
                .and_then(crate::tls::TlsError::refusal_reason)
            {
                shared
                    .metrics
                    .tls_refused
                    .with_label_values(&["inbound", reason])
                    .inc();
            }
            let result = if r.is_ok() { "ok" } else { "error" };
            shared
                .metrics
                .tls_handshakes
                .with_label_values(&["inbound", result])
                .inc();
            let Ok((s, id, carried)) = r else { return };
            if crate::tls::resumed(s.get_ref().1) {
                shared
                    .metrics
                    .tls_resumptions
                    .with_label_values(&["inbound"])
                    .inc();
            }
            if id.is_some() {
                ctx.path = PathKind::MeshInbound;
                ctx.peer_identity = id.map(Arc::from);
            } else if !permissive {
                return reject(&shared, Direction::Inbound, "no_client_certificate");
            }
            match carried {
                Some(Carried::Http(version)) => {
                    http::serve(s, activity, ctx, version, shared.clone()).await
                }
                Some(Carried::Tcp) => opaque(s, None, activity, ctx, true, shared.clone()).await,
                None => {
                    // TLS without a mesh ALPN (permissive clients): sniff inside.
                    let mut s = s;
                    let Ok((proto, prefix)) = sniff(&mut s, &shared.cfg.bounds).await else {
                        return;
                    };
                    let s = Prefixed::new(prefix, s);
                    dispatch(s, proto, activity, ctx, shared).await
                }
            }
        }
        _ if !permissive => reject(&shared, Direction::Inbound, "plaintext_in_strict_mode"),
        (proto, _) => dispatch(io, proto, activity, ctx, shared).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    async fn connect_and_accept(l: &TcpListener, to: SocketAddr) -> io::Result<SocketAddr> {
        let c = tokio::time::timeout(std::time::Duration::from_secs(5), TcpStream::connect(to))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        let (_s, peer) = l.accept().await?;
        assert_eq!(peer.port(), c.local_addr()?.port());
        Ok(crate::orig_dst::unmap(peer))
    }

    #[tokio::test]
    async fn dual_stack_default_accepts_ipv4_and_ipv6_on_one_socket() {
        let l = bind(Listen::DualStack(0)).await.unwrap();
        let a = l.local_addr().unwrap();
        assert!(a.is_ipv6() && a.ip().is_unspecified(), "{a}");
        let v4 = connect_and_accept(&l, SocketAddr::from(([127, 0, 0, 1], a.port())))
            .await
            .unwrap();
        assert_eq!(v4.ip(), std::net::IpAddr::from([127, 0, 0, 1]), "unmapped");
        let v6 = connect_and_accept(&l, SocketAddr::from((Ipv6Addr::LOCALHOST, a.port())))
            .await
            .unwrap();
        assert_eq!(v6.ip(), std::net::IpAddr::from(Ipv6Addr::LOCALHOST));
    }

    #[tokio::test]
    async fn an_explicit_ipv4_address_keeps_its_meaning() {
        let l = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(TcpStream::connect((Ipv6Addr::LOCALHOST, port))
            .await
            .is_err());
        connect_and_accept(&l, SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .unwrap();
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl io::Write for Captured {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn without_ipv6_it_falls_back_to_ipv4_and_says_so() {
        let logs = Captured::default();
        let w = logs.clone();
        let sub = tracing_subscriber::fmt()
            .with_writer(move || w.clone())
            .with_ansi(false)
            .finish();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let no_v6 = |_| Err(io::Error::from_raw_os_error(libc::EAFNOSUPPORT));
        let l = tracing::subscriber::with_default(sub, || {
            rt.block_on(async { bind_dual_stack(0, no_v6).await.unwrap() })
        });
        let a = l.local_addr().unwrap();
        assert_eq!(a.ip(), std::net::IpAddr::from(Ipv4Addr::UNSPECIFIED), "{a}");
        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert!(
            text.contains("WARN") && text.contains("IPv6 is not available"),
            "{text}"
        );
        // Any other error (a port in use, a permission) is an error, not a silent IPv4 listener.
        let in_use = |_| Err(io::Error::from_raw_os_error(libc::EADDRINUSE));
        let r = rt.block_on(bind_dual_stack(0, in_use));
        assert_eq!(r.unwrap_err().raw_os_error(), Some(libc::EADDRINUSE));
    }
}
