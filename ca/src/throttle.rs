//! Throttling of failed authentication per client address: a token bucket per source address
//! (IPv6 by /64, since one host holds a whole /64), charged one token per request refused as
//! unauthenticated (401). An address whose bucket is empty is answered 429 before its token is
//! looked at (no TokenReview call, nothing learned), with `Retry-After` saying when one token is
//! back. Requests that authenticate cost nothing, and other addresses are never affected.
//!
//! Memory is bounded: at most [`MAX_ADDRESSES`] buckets. When the table is full, buckets that
//! have refilled (they are the same as no bucket) are dropped; if none has, the fullest bucket
//! (the address least throttled) gives its place.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Most addresses tracked at once.
pub const MAX_ADDRESSES: usize = 10_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Failed-authentication buckets per address.
pub struct AuthThrottle {
    /// Tokens per bucket (the burst), also the failures per minute refilled.
    capacity: f64,
    per_sec: f64,
    max: usize,
    buckets: HashMap<IpAddr, Bucket>,
}

impl std::fmt::Debug for AuthThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthThrottle")
            .field("per_minute", &self.capacity)
            .field("tracked", &self.buckets.len())
            .finish()
    }
}

/// The key of an address: IPv4 as is (also when mapped into IPv6), IPv6 by its /64.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut s = v6.segments();
                s[4..].fill(0);
                IpAddr::V6(s.into())
            }
        },
    }
}

impl AuthThrottle {
    /// `per_minute` failed authentications per address per minute, and as many at once.
    pub fn new(per_minute: u32) -> Self {
        Self::with_max(per_minute, MAX_ADDRESSES)
    }

    fn with_max(per_minute: u32, max: usize) -> Self {
        let capacity = f64::from(per_minute.max(1));
        AuthThrottle {
            capacity,
            per_sec: capacity / 60.0,
            max: max.max(1),
            buckets: HashMap::new(),
        }
    }

    fn level(&self, b: &Bucket, now: Instant) -> f64 {
        (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * self.per_sec)
            .min(self.capacity)
    }

    /// `Err(retry_after)` when `ip` has no failed attempt left now.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let Some(b) = self.buckets.get(&address_key(ip)) else {
            return Ok(());
        };
        let level = self.level(b, now);
        if level >= 1.0 {
            return Ok(());
        }
        Err(Duration::from_secs_f64((1.0 - level) / self.per_sec))
    }

    /// Charges one failed authentication to `ip`. Returns true when this emptied its bucket
    /// (the address is throttled from now on, until a token is back).
    pub fn failed(&mut self, ip: IpAddr, now: Instant) -> bool {
        let key = address_key(ip);
        if !self.buckets.contains_key(&key) && self.buckets.len() >= self.max {
            self.make_room(now);
        }
        let capacity = self.capacity;
        let level = match self.buckets.get(&key) {
            Some(b) => self.level(b, now),
            None => capacity,
        };
        let tokens = (level - 1.0).max(0.0);
        self.buckets.insert(key, Bucket { tokens, at: now });
        level >= 1.0 && tokens < 1.0
    }

    fn make_room(&mut self, now: Instant) {
        let (capacity, per_sec) = (self.capacity, self.per_sec);
        let level =
            |b: &Bucket| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_sec;
        self.buckets.retain(|_, b| level(b) < capacity);
        if self.buckets.len() >= self.max {
            let fullest = self
                .buckets
                .iter()
                .max_by(|a, b| level(a.1).total_cmp(&level(b.1)))
                .map(|(k, _)| *k);
            if let Some(k) = fullest {
                self.buckets.remove(&k);
            }
        }
    }

    /// Addresses tracked now.
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_burst_then_one_per_refill_interval() {
        let t0 = Instant::now();
        let mut th = AuthThrottle::new(6); // burst 6, one back every 10 s
        let a = ip("10.0.0.1");
        for i in 0..6 {
            assert!(th.check(a, t0).is_ok(), "attempt {i}");
            assert_eq!(th.failed(a, t0), i == 5);
        }
        let wait = th.check(a, t0).unwrap_err();
        assert!((9.9..=10.0).contains(&wait.as_secs_f64()), "{wait:?}");
        // other addresses are not affected
        assert!(th.check(ip("10.0.0.2"), t0).is_ok());
        // one token is back after 10 s
        let t1 = t0 + Duration::from_secs(10);
        assert!(th.check(a, t1).is_ok());
        assert!(th.failed(a, t1));
        assert!(th.check(a, t1).is_err());
        // a full minute refills the burst, no more
        let t2 = t1 + Duration::from_secs(600);
        for _ in 0..6 {
            assert!(th.check(a, t2).is_ok());
            th.failed(a, t2);
        }
        assert!(th.check(a, t2).is_err());
    }

    #[test]
    fn ipv6_counts_by_64_and_mapped_ipv4_as_ipv4() {
        let t0 = Instant::now();
        let mut th = AuthThrottle::new(2);
        th.failed(ip("2001:db8:1:2::1"), t0);
        th.failed(ip("2001:db8:1:2:ffff::9"), t0);
        assert!(th.check(ip("2001:db8:1:2::77"), t0).is_err());
        assert!(th.check(ip("2001:db8:1:3::1"), t0).is_ok());
        th.failed(ip("::ffff:192.0.2.1"), t0);
        th.failed(ip("192.0.2.1"), t0);
        assert!(th.check(ip("192.0.2.1"), t0).is_err());
        assert!(th.check(ip("::ffff:192.0.2.1"), t0).is_err());
    }

    #[test]
    fn the_table_is_bounded_and_throttled_addresses_keep_their_place() {
        let t0 = Instant::now();
        let mut th = AuthThrottle::with_max(3, 100);
        // one throttled address
        let bad = ip("10.9.9.9");
        for _ in 0..3 {
            th.failed(bad, t0);
        }
        // a flood of addresses failing once each
        for i in 0..1000u32 {
            let a = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            th.failed(a, t0);
            assert!(th.tracked() <= 100);
        }
        assert!(
            th.check(bad, t0).is_err(),
            "the flood did not free the throttled address"
        );
        // refilled buckets go first
        let later = t0 + Duration::from_secs(3600);
        th.failed(ip("10.8.8.8"), later);
        assert_eq!(th.tracked(), 1);
    }
}
