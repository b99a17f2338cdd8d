//! The values the injector reads from flags and annotations alike, and their parsers: sidecar
//! mode, proxy mode, inbound mTLS, container resources, ports, CIDRs, SPIFFE IDs, quantities.
//! A leaf module: `config` (flags) and `annotations` (pods) both read values through it.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// Native (init container with `restartPolicy: Always`) or classic (a regular container) sidecar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SidecarMode {
    /// Kubernetes ≥ 1.29 (beta, on by default; GA in 1.33): starts before and stops after the app.
    Native,
    /// Any Kubernetes: a regular container listed first. Jobs do not complete while it runs.
    Classic,
}

/// `PHIMESH_MODE` of the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Refuse PHI on plaintext paths.
    Enforce,
    /// Forward and audit (dry run).
    Audit,
}

/// `PHIMESH_INBOUND_MTLS` of the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundMtls {
    /// Only mTLS inbound.
    Strict,
    /// Plaintext inbound accepted; PHI never answered in plaintext.
    Permissive,
}

macro_rules! word_enum {
    ($t:ty, $what:literal, $($v:ident = $s:literal),+) => {
        impl $t {
            /// The word used in flags, annotations and environment variables.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),+ }
            }
        }
        impl FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $(if s.eq_ignore_ascii_case($s) { return Ok(Self::$v); })+
                Err(format!(concat!("{:?} is not a ", $what, " (", $($s, " "),+, ")"),
                    s.chars().take(32).collect::<String>()))
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
word_enum!(
    SidecarMode,
    "sidecar mode",
    Native = "native",
    Classic = "classic"
);
word_enum!(Mode, "mode", Enforce = "enforce", Audit = "audit");
word_enum!(
    InboundMtls,
    "inbound mTLS setting",
    Strict = "strict",
    Permissive = "permissive"
);

/// Requests and limits of the proxy container (`None`: not set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    /// CPU request.
    pub cpu_request: Option<String>,
    /// Memory request.
    pub memory_request: Option<String>,
    /// CPU limit.
    pub cpu_limit: Option<String>,
    /// Memory limit.
    pub memory_limit: Option<String>,
}

fn items(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// Parses `P,P,...` into sorted, deduplicated ports 1–65535.
pub fn parse_ports(v: &str) -> Result<Vec<u16>, String> {
    let mut out = Vec::new();
    for p in items(v) {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => out.push(n),
            _ => return Err(format!("{:?} is not a port (1-65535)", short(p))),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Parses `CIDR,CIDR,...` (IPv4 or IPv6, prefix required) and returns them as written.
pub fn parse_cidrs(v: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for c in items(v) {
        check_cidr(c)?;
        if !out.iter().any(|o| o == c) {
            out.push(c.to_owned());
        }
    }
    Ok(out)
}

/// Checks one `ADDR/PREFIX`.
pub fn check_cidr(c: &str) -> Result<(), String> {
    let bad = || format!("{:?} is not a CIDR (ADDR/PREFIX)", short(c));
    let (addr, len) = c.split_once('/').ok_or_else(bad)?;
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    let len: u8 = len.parse().map_err(|_| bad())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if len > max {
        return Err(bad());
    }
    Ok(())
}

/// Parses `spiffe://...,...`.
pub fn parse_identities(v: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for id in items(v) {
        let ok = id.strip_prefix("spiffe://").is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~/:%".contains(&b))
        });
        if !ok {
            return Err(format!("{:?} is not a SPIFFE ID", short(id)));
        }
        out.push(id.to_owned());
    }
    if out.is_empty() {
        return Err("no identity given".into());
    }
    Ok(out)
}

/// Checks a Kubernetes resource quantity in the forms people write for containers:
/// `100m`, `0.5`, `2`, `128Mi`, `1G`, `1e3`.
pub fn check_quantity(v: &str) -> Result<(), String> {
    let bad = || {
        format!(
            "{:?} is not a resource quantity (e.g. 100m, 128Mi)",
            short(v)
        )
    };
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (num, suffix) = v.split_at(split);
    let num_ok = !num.is_empty()
        && num != "."
        && num.matches('.').count() <= 1
        && !num.starts_with('.')
        && !num.ends_with('.');
    let suffix_ok = matches!(
        suffix,
        "" | "m" | "k" | "M" | "G" | "T" | "P" | "E" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"
    ) || suffix
        .strip_prefix(['e', 'E'])
        .is_some_and(|e| !e.is_empty() && e.len() <= 3 && e.bytes().all(|b| b.is_ascii_digit()));
    if num_ok && suffix_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// At most 64 characters of workload input in a message.
pub(crate) fn short(s: &str) -> String {
    s.chars().take(64).collect()
}
