//! Original destination of a redirected connection (transparent mode).
//!
//! After `phimesh init`'s iptables `REDIRECT`, the address an application dialled is read from the
//! accepted socket with `SO_ORIGINAL_DST`. The listeners only see the [`OriginalDst`] trait, so
//! tests run transparent mode without root by passing a [`FixedOriginalDst`] map; the real lookup
//! is [`SoOriginalDst`].

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;

/// Looks up where an accepted, redirected connection was originally going.
pub trait OriginalDst: Send + Sync {
    /// The destination the client dialled before the redirect.
    fn original_dst(&self, s: &tokio::net::TcpStream) -> io::Result<SocketAddr>;
}

/// A test double: maps the client's source address (`peer_addr`) to a destination, with an
/// optional fallback for any other client.
#[derive(Debug, Clone, Default)]
pub struct FixedOriginalDst {
    by_peer: HashMap<SocketAddr, SocketAddr>,
    fallback: Option<SocketAddr>,
}

impl FixedOriginalDst {
    /// Every connection "was going to" `dst`.
    pub fn always(dst: SocketAddr) -> Self {
        FixedOriginalDst {
            by_peer: HashMap::new(),
            fallback: Some(dst),
        }
    }

    /// Connections from `peer` were going to `dst`.
    pub fn with(mut self, peer: SocketAddr, dst: SocketAddr) -> Self {
        self.by_peer.insert(peer, dst);
        self
    }
}

impl OriginalDst for FixedOriginalDst {
    fn original_dst(&self, s: &tokio::net::TcpStream) -> io::Result<SocketAddr> {
        let peer = unmap(s.peer_addr()?);
        self.by_peer
            .get(&peer)
            .copied()
            .or(self.fallback)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no original destination"))
    }
}

/// The real lookup: the `SO_ORIGINAL_DST` socket option (Linux).
///
/// After `phimesh init`'s `REDIRECT` rules, an accepted connection has the listener as its local
/// address; conntrack still knows the address the client asked for and the socket option hands it
/// back: IPv4 `SOL_IP`/`SO_ORIGINAL_DST` (80), IPv6 `SOL_IPV6`/`IP6T_SO_ORIGINAL_DST` (80). The
/// family is taken from the socket's local address (an IPv4 connection on a dual-stack IPv6
/// socket, `::ffff:a.b.c.d`, asks `SOL_IP`); IPv4-mapped answers are returned as IPv4.
///
/// The `getsockopt` call and the `sockaddr_storage` conversion are socket2's (the same call,
/// inside socket2's audited `unsafe`), so this crate keeps `unsafe_code` denied everywhere.
///
/// Errors: `NotFound` (`ENOENT`) when conntrack has no entry for the connection (nothing in this
/// network namespace loaded nat rules), `ENOPROTOOPT` where the kernel lacks the option. Tested
/// against real iptables redirects in `tests/netns_redirect.rs`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SoOriginalDst;

impl OriginalDst for SoOriginalDst {
    fn original_dst(&self, s: &tokio::net::TcpStream) -> io::Result<SocketAddr> {
        so_original_dst(s)
    }
}

/// `SO_ORIGINAL_DST` of any socket (see [`SoOriginalDst`]); usable on std sockets too.
pub fn so_original_dst<S: AsFd>(s: &S) -> io::Result<SocketAddr> {
    let sock = socket2::SockRef::from(s);
    let local = sock
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IP socket"))?;
    let addr = match local {
        SocketAddr::V6(v6) if v6.ip().to_ipv4_mapped().is_none() => sock.original_dst_v6()?,
        _ => sock.original_dst_v4()?,
    };
    addr.as_socket().map(unmap).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "SO_ORIGINAL_DST returned a non-IP address",
        )
    })
}

/// `[::ffff:a.b.c.d]:p` becomes `a.b.c.d:p`, so callers compare and route on one form (dual-stack
/// listeners see IPv4 clients in the mapped form).
pub fn unmap(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(v4.into(), v6.port()),
            None => SocketAddr::V6(v6),
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fixed_map_answers_by_peer_then_fallback() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let c = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (s, peer) = l.accept().await.unwrap();
        drop(c);
        let a: SocketAddr = "10.0.0.1:80".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:80".parse().unwrap();
        let m = FixedOriginalDst::always(a).with(peer, b);
        assert_eq!(m.original_dst(&s).unwrap(), b);
        assert_eq!(FixedOriginalDst::always(a).original_dst(&s).unwrap(), a);
        assert!(FixedOriginalDst::default().original_dst(&s).is_err());
    }

    #[tokio::test]
    async fn so_original_dst_without_redirect_is_not_invented() {
        // Nothing redirected this loopback connection. Without conntrack the lookup is ENOENT;
        // with conntrack loaded it may report the unchanged destination, never anything else.
        // (Redirected connections: tests/netns_redirect.rs, with real iptables rules.)
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let c = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        for sock in [&c, &s] {
            match SoOriginalDst.original_dst(sock) {
                Ok(a) => assert_eq!(a, addr),
                Err(e) => assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}"),
            }
        }
    }

    #[test]
    fn mapped_addresses_are_unmapped() {
        let a: SocketAddr = "[::ffff:10.1.2.3]:80".parse().unwrap();
        assert_eq!(unmap(a), "10.1.2.3:80".parse::<SocketAddr>().unwrap());
        let b: SocketAddr = "[2001:db8::1]:443".parse().unwrap();
        assert_eq!(unmap(b), b);
    }
}
