//! Original destination of a redirected connection (transparent mode).
//!
//! After `phimesh init`'s iptables `REDIRECT`, the address an application dialled is read from the
//! accepted socket with `SO_ORIGINAL_DST`. The listeners only see the [`OriginalDst`] trait, so
//! tests run transparent mode without root by passing a [`FixedOriginalDst`] map.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;

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
        let peer = s.peer_addr()?;
        self.by_peer
            .get(&peer)
            .copied()
            .or(self.fallback)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no original destination"))
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
}
