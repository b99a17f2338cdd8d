//! SPIFFE IDs of Kubernetes workloads: `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`.

use std::fmt;
use std::str::FromStr;

/// The longest SPIFFE ID accepted (the SPIFFE spec's limit on the whole URI).
pub const MAX_SPIFFE_ID_LEN: usize = 2048;

/// A workload identity in phimesh's Kubernetes form:
/// `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`.
///
/// Parsing is strict (SPIFFE ID spec): lower-case trust domain of `[a-z0-9.-_]`, path segments of
/// `[A-Za-z0-9.-_]` that are neither empty, `.` nor `..`, no port, user info, query, fragment or
/// percent-encoding. Two IDs are equal exactly when their strings are.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpiffeId {
    uri: String,
    // byte ranges into `uri`
    td_end: usize,
    ns: (usize, usize),
    sa: (usize, usize),
}

/// Why a string is not a phimesh SPIFFE ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpiffeIdError {
    /// The string does not start with `spiffe://`.
    #[error("SPIFFE ID must start with spiffe://")]
    Scheme,
    /// Longer than [`MAX_SPIFFE_ID_LEN`].
    #[error("SPIFFE ID is longer than {MAX_SPIFFE_ID_LEN} bytes")]
    TooLong,
    /// The trust domain is empty or has a character outside `[a-z0-9.-_]` (e.g. upper case or a port).
    #[error("SPIFFE ID has an invalid trust domain (allowed: a-z 0-9 . - _)")]
    TrustDomain,
    /// The path is not `/ns/<namespace>/sa/<service-account>`.
    #[error("SPIFFE ID path must be /ns/<namespace>/sa/<service-account>")]
    Path,
    /// A path segment is empty, `.`/`..` or has a character outside `[A-Za-z0-9.-_]`.
    #[error("SPIFFE ID has an invalid path segment (allowed: A-Z a-z 0-9 . - _)")]
    Segment,
}

fn valid_trust_domain(td: &str) -> bool {
    !td.is_empty()
        && td.len() <= 255
        && td.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
        })
}

fn valid_segment(seg: &str) -> bool {
    !seg.is_empty()
        && seg != "."
        && seg != ".."
        && seg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

impl SpiffeId {
    /// Parses and validates a SPIFFE ID string.
    pub fn parse(s: &str) -> Result<Self, SpiffeIdError> {
        if s.len() > MAX_SPIFFE_ID_LEN {
            return Err(SpiffeIdError::TooLong);
        }
        let rest = s.strip_prefix("spiffe://").ok_or(SpiffeIdError::Scheme)?;
        let slash = rest.find('/').ok_or(SpiffeIdError::Path)?;
        let td = &rest[..slash];
        if !valid_trust_domain(td) {
            return Err(SpiffeIdError::TrustDomain);
        }
        let path = &rest[slash..];
        let mut parts = path.split('/');
        // path starts with '/', so the first part is empty
        let (Some(""), Some("ns"), Some(ns), Some("sa"), Some(sa), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(SpiffeIdError::Path);
        };
        if !valid_segment(ns) || !valid_segment(sa) {
            return Err(SpiffeIdError::Segment);
        }
        let td_end = "spiffe://".len() + td.len();
        let ns_start = td_end + "/ns/".len();
        let ns_end = ns_start + ns.len();
        let sa_start = ns_end + "/sa/".len();
        Ok(SpiffeId {
            uri: s.to_owned(),
            td_end,
            ns: (ns_start, ns_end),
            sa: (sa_start, sa_start + sa.len()),
        })
    }

    /// Builds `spiffe://{trust_domain}/ns/{namespace}/sa/{service_account}`, validating each part.
    pub fn new(
        trust_domain: &str,
        namespace: &str,
        service_account: &str,
    ) -> Result<Self, SpiffeIdError> {
        Self::parse(&format!(
            "spiffe://{trust_domain}/ns/{namespace}/sa/{service_account}"
        ))
    }

    /// The trust domain, e.g. `cluster.local`.
    pub fn trust_domain(&self) -> &str {
        &self.uri["spiffe://".len()..self.td_end]
    }

    /// The Kubernetes namespace.
    pub fn namespace(&self) -> &str {
        &self.uri[self.ns.0..self.ns.1]
    }

    /// The Kubernetes service account.
    pub fn service_account(&self) -> &str {
        &self.uri[self.sa.0..self.sa.1]
    }

    /// The whole URI.
    pub fn as_str(&self) -> &str {
        &self.uri
    }
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri)
    }
}

impl fmt::Debug for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpiffeId({})", self.uri)
    }
}

impl FromStr for SpiffeId {
    type Err = SpiffeIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for SpiffeId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.uri)
    }
}

impl<'de> serde::Deserialize<'de> for SpiffeId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SpiffeId::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_exposes_parts() {
        let id: SpiffeId = "spiffe://cluster.local/ns/billing/sa/api-v2"
            .parse()
            .unwrap();
        assert_eq!(id.trust_domain(), "cluster.local");
        assert_eq!(id.namespace(), "billing");
        assert_eq!(id.service_account(), "api-v2");
        assert_eq!(
            id.to_string(),
            "spiffe://cluster.local/ns/billing/sa/api-v2"
        );
        assert_eq!(
            SpiffeId::new("cluster.local", "billing", "api-v2").unwrap(),
            id
        );
    }

    #[test]
    fn refuses_malformed_ids() {
        let cases = [
            ("http://cluster.local/ns/a/sa/b", SpiffeIdError::Scheme),
            (
                "spiffe://Cluster.local/ns/a/sa/b",
                SpiffeIdError::TrustDomain,
            ),
            (
                "spiffe://cluster.local:443/ns/a/sa/b",
                SpiffeIdError::TrustDomain,
            ),
            ("spiffe://user@td/ns/a/sa/b", SpiffeIdError::TrustDomain),
            ("spiffe:///ns/a/sa/b", SpiffeIdError::TrustDomain),
            ("spiffe://td", SpiffeIdError::Path),
            ("spiffe://td/ns/a", SpiffeIdError::Path),
            ("spiffe://td/ns/a/sa/b/extra", SpiffeIdError::Path),
            ("spiffe://td/ns/a/sa/b/", SpiffeIdError::Path),
            ("spiffe://td/sa/a/ns/b", SpiffeIdError::Path),
            ("spiffe://td/ns//sa/b", SpiffeIdError::Segment),
            ("spiffe://td/ns/../sa/b", SpiffeIdError::Segment),
            ("spiffe://td/ns/a%2f/sa/b", SpiffeIdError::Segment),
            ("spiffe://td/ns/a/sa/b?x=1", SpiffeIdError::Segment),
            ("spiffe://td/ns/a/sa/b#f", SpiffeIdError::Segment),
        ];
        for (input, want) in cases {
            assert_eq!(SpiffeId::parse(input), Err(want), "{input}");
        }
        let long = format!("spiffe://td/ns/{}/sa/b", "a".repeat(MAX_SPIFFE_ID_LEN));
        assert_eq!(SpiffeId::parse(&long), Err(SpiffeIdError::TooLong));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let alphabet = b"spife:/.nsa-_%AZ09 \xc3\xa9";
        for _ in 0..20_000 {
            let len = rng.gen_range(0..40);
            let bytes: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect();
            let s = String::from_utf8_lossy(&bytes);
            let prefixed = format!("spiffe://{s}");
            for candidate in [s.as_ref(), prefixed.as_str()] {
                if let Ok(id) = SpiffeId::parse(candidate) {
                    // whatever parses must round-trip exactly
                    assert_eq!(SpiffeId::parse(&id.to_string()).unwrap(), id);
                }
            }
        }
    }
}
