//! Audit events: one JSON object per line for every PHI decision. An event names kinds and
//! offsets, never a value, a path or a header value.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use phimesh_detect::Finding;
use serde::Serialize;

/// Where audit lines go.
#[derive(Clone, Debug, Default)]
pub enum AuditSink {
    /// stdout, one line per event (the sidecar).
    #[default]
    Stdout,
    /// Kept in memory (tests, `phimesh demo`).
    Memory(Arc<Mutex<Vec<String>>>),
}

impl AuditSink {
    /// A fresh in-memory sink and the lines it will collect.
    pub fn memory() -> (AuditSink, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        (AuditSink::Memory(lines.clone()), lines)
    }

    /// Writes one event.
    pub fn emit(&self, event: &AuditEvent<'_>) {
        self.emit_value(event)
    }

    /// Writes one event of another kind (a JSON object with `time` and `event`).
    pub fn emit_value<T: Serialize>(&self, event: &T) {
        let Ok(line) = serde_json::to_string(event) else {
            return;
        };
        match self {
            AuditSink::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
            AuditSink::Memory(v) => {
                if let Ok(mut v) = v.lock() {
                    v.push(line);
                }
            }
        }
    }
}

/// A finding as audited: kind and offsets, and which part of the message held it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditFinding {
    /// Detector kind (`ssn`, `mrn`...).
    pub kind: &'static str,
    /// `target`, `headers`, `body` or `stream`.
    pub part: &'static str,
    /// First byte (content offset within the part).
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl AuditFinding {
    /// From a scanner finding.
    pub fn new(part: &'static str, f: &Finding) -> Self {
        AuditFinding {
            kind: f.kind.as_str(),
            part,
            start: f.start,
            end: f.end,
        }
    }
}

/// One PHI decision.
#[derive(Debug, Serialize)]
pub struct AuditEvent<'a> {
    /// RFC 3339 UTC.
    pub time: String,
    /// Always `"phi_decision"`.
    pub event: &'static str,
    /// `outbound` or `inbound` (the listener).
    pub direction: &'static str,
    /// `request` or `response` (which message held the PHI).
    pub flow: &'static str,
    /// The downstream client.
    pub source: SocketAddr,
    /// The destination (upstream) address.
    pub destination: SocketAddr,
    /// The verified SPIFFE ID of the mesh peer, if any.
    pub peer_identity: Option<&'a str>,
    /// `http1`, `http2`, `grpc`, `tcp`.
    pub protocol: &'static str,
    /// `mtls` or `none`.
    pub tls: &'static str,
    /// Distinct kinds found.
    pub kinds: Vec<&'static str>,
    /// Each finding's kind and offsets.
    pub findings: Vec<AuditFinding>,
    /// `forwarded`, `refused`, `reset` or `audited`.
    pub action: &'static str,
    /// `phi` or an uninspectable reason.
    pub reason: &'static str,
    /// Request id (the one in a refusal body).
    pub request_id: &'a str,
}

/// Current time, RFC 3339.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A random request id, 16 hex digits.
pub fn new_request_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}
