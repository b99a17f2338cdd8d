//! Prometheus metrics of the data plane: names prefixed `phimesh_`, base units, bounded labels
//! only (direction, protocol, tls, kind, action, reason, result) — never an address, path or value.

use std::sync::{Arc, RwLock};

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Every metric of the proxy, registered on one registry. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    /// The registry `/metrics` renders.
    pub registry: Registry,
    /// `phimesh_requests_total{direction,protocol,tls,action}`: HTTP requests, gRPC calls and
    /// opaque connections, by outcome.
    pub requests: IntCounterVec,
    /// `phimesh_phi_detections_total{direction,kind,action}`.
    pub phi_detections: IntCounterVec,
    /// `phimesh_refusals_total{direction,reason}`.
    pub refusals: IntCounterVec,
    /// `phimesh_request_duration_seconds{direction,protocol}`: request start to response head.
    pub request_duration: HistogramVec,
    /// `phimesh_inspection_duration_seconds`: scanner time per inspected body or head.
    pub inspection_duration: Histogram,
    /// `phimesh_inspected_bytes_total{direction}`.
    pub inspected_bytes: IntCounterVec,
    /// `phimesh_connections_open{direction}`.
    pub connections_open: IntGaugeVec,
    /// `phimesh_tls_handshakes_total{direction,result}`.
    pub tls_handshakes: IntCounterVec,
    /// `phimesh_connections_rejected_total{direction,reason}`: closed before being served.
    pub connections_rejected: IntCounterVec,
    /// `phimesh_tls_handshakes_refused_total{direction,reason}`: mesh mTLS this sidecar refused
    /// to originate or terminate (reasons: `identity_expired`, before any handshake;
    /// `peer_identity_mismatch`, a peer that is not the identity mesh discovery lists).
    pub tls_refused: IntCounterVec,
    /// `phimesh_tls_resumptions_total{direction}`: mesh handshakes that resumed a TLS session
    /// (also counted in `phimesh_tls_handshakes_total` as `ok`).
    pub tls_resumptions: IntCounterVec,
    /// The series every request touches, by label values.
    hot: Arc<Hot>,
}

/// The series of the per-request metrics found by the addresses of their (static) label values,
/// not by hashing the strings as a metric vector's lookup does (a few hundred nanoseconds a
/// request on the sidecar's hottest path).
#[derive(Default)]
struct Hot {
    requests: Children<IntCounter, 4>,
    request_duration: Children<Histogram, 2>,
    inspected_bytes: Children<IntCounter, 1>,
}

/// Label values by the address and length of each string.
type Key<const N: usize> = [(usize, usize); N];

/// Series of one metric vector by label values: a short list, searched by string address.
struct Children<T, const N: usize> {
    seen: RwLock<Vec<(Key<N>, T)>>,
}

impl<T, const N: usize> Default for Children<T, N> {
    fn default() -> Self {
        Children {
            seen: RwLock::new(Vec::new()),
        }
    }
}

/// Most series a [`Children`] list keeps: the labels of these metrics are small fixed sets,
/// this only bounds a mistake.
const MAX_CHILDREN: usize = 256;

impl<T: Clone, const N: usize> Children<T, N> {
    fn get(&self, labels: [&'static str; N], make: impl FnOnce(&[&str]) -> T) -> T {
        let key = labels.map(|l| (l.as_ptr() as usize, l.len()));
        if let Ok(seen) = self.seen.read() {
            if let Some((_, t)) = seen.iter().find(|(k, _)| *k == key) {
                return t.clone();
            }
        }
        let t = make(&labels);
        if let Ok(mut seen) = self.seen.write() {
            if seen.len() < MAX_CHILDREN {
                seen.push((key, t.clone()));
            }
        }
        t
    }
}

/// Every `reason` of `phimesh_tls_handshakes_refused_total`.
pub const TLS_REFUSAL_REASONS: &[&str] = &["identity_expired", "peer_identity_mismatch"];

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Builds and registers every metric (and `phimesh_build_info`).
    pub fn new() -> Metrics {
        let registry = Registry::new();
        // The standard process_* metrics (RSS, CPU seconds, open file descriptors), as every
        // Prometheus exporter has them.
        let _ = registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ));
        let cv = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(c.clone()))
                .expect("unique metric");
            c
        };
        let requests = cv(
            "phimesh_requests_total",
            "Requests (HTTP requests, gRPC calls, opaque connections) by outcome",
            &["direction", "protocol", "tls", "action"],
        );
        let phi_detections = cv(
            "phimesh_phi_detections_total",
            "PHI findings by kind and what was done",
            &["direction", "kind", "action"],
        );
        let refusals = cv(
            "phimesh_refusals_total",
            "Refused requests, responses and connections by reason",
            &["direction", "reason"],
        );
        let inspected_bytes = cv(
            "phimesh_inspected_bytes_total",
            "Bytes fed to the PHI scanner",
            &["direction"],
        );
        let tls_handshakes = cv(
            "phimesh_tls_handshakes_total",
            "Mesh TLS handshakes by result",
            &["direction", "result"],
        );
        let connections_rejected = cv(
            "phimesh_connections_rejected_total",
            "Connections closed before being served",
            &["direction", "reason"],
        );
        let tls_refused = cv(
            "phimesh_tls_handshakes_refused_total",
            "Mesh mTLS refused before any handshake, by reason",
            &["direction", "reason"],
        );
        let tls_resumptions = cv(
            "phimesh_tls_resumptions_total",
            "Mesh TLS handshakes that resumed a session",
            &["direction"],
        );
        // Every series exists from the start, at 0, so an alert needs no special case.
        for d in ["inbound", "outbound"] {
            for r in TLS_REFUSAL_REASONS {
                tls_refused.with_label_values(&[d, r]);
            }
            tls_resumptions.with_label_values(&[d]);
        }
        let buckets = vec![
            0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
            2.5, 5.0, 10.0,
        ];
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "phimesh_request_duration_seconds",
                "Time from request start to response head",
            )
            .buckets(buckets.clone()),
            &["direction", "protocol"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(request_duration.clone()))
            .expect("unique metric");
        let inspection_duration = Histogram::with_opts(
            HistogramOpts::new(
                "phimesh_inspection_duration_seconds",
                "Scanner time per inspected head or body",
            )
            .buckets(buckets),
        )
        .expect("valid metric");
        registry
            .register(Box::new(inspection_duration.clone()))
            .expect("unique metric");
        let connections_open = IntGaugeVec::new(
            Opts::new("phimesh_connections_open", "Open downstream connections"),
            &["direction"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(connections_open.clone()))
            .expect("unique metric");
        let build = IntGaugeVec::new(
            Opts::new("phimesh_build_info", "Build of this proxy"),
            &["version"],
        )
        .expect("valid metric");
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        registry.register(Box::new(build)).expect("unique metric");
        Metrics {
            registry,
            requests,
            phi_detections,
            refusals,
            request_duration,
            inspection_duration,
            inspected_bytes,
            connections_open,
            tls_handshakes,
            connections_rejected,
            tls_refused,
            tls_resumptions,
            hot: Arc::default(),
        }
    }

    /// `phimesh_requests_total{direction,protocol,tls,action}` of these labels.
    pub fn request(&self, labels: [&'static str; 4]) -> IntCounter {
        self.hot
            .requests
            .get(labels, |l| self.requests.with_label_values(l))
    }

    /// `phimesh_request_duration_seconds{direction,protocol}` of these labels.
    pub fn request_duration(&self, labels: [&'static str; 2]) -> Histogram {
        self.hot
            .request_duration
            .get(labels, |l| self.request_duration.with_label_values(l))
    }

    /// `phimesh_inspected_bytes_total{direction}` of this direction.
    pub fn inspected_bytes(&self, direction: &'static str) -> IntCounter {
        self.hot
            .inspected_bytes
            .get([direction], |l| self.inspected_bytes.with_label_values(l))
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_names_and_labels() {
        let m = Metrics::new();
        m.requests
            .with_label_values(&["outbound", "http1", "none", "refused"])
            .inc();
        let text = m.render();
        assert!(text.contains(
            "phimesh_requests_total{action=\"refused\",direction=\"outbound\",protocol=\"http1\",tls=\"none\"} 1"
        ));
        assert!(text.contains("phimesh_build_info{version="));
    }

    #[test]
    fn hot_series_are_the_vectors_series() {
        let m = Metrics::new();
        m.request(["inbound", "h2", "mtls", "forwarded"]).inc();
        m.request(["inbound", "h2", "mtls", "forwarded"]).inc_by(2);
        // The same values at other addresses name the same series.
        let action = String::from("forwarded");
        m.requests
            .with_label_values(&["inbound", "h2", "mtls", action.as_str()])
            .inc();
        m.request(["inbound", "h2", "mtls", "refused"]).inc();
        m.request_duration(["inbound", "h2"]).observe(0.5);
        m.inspected_bytes("outbound").inc_by(7);
        let text = m.render();
        assert!(text.contains(
            "phimesh_requests_total{action=\"forwarded\",direction=\"inbound\",protocol=\"h2\",tls=\"mtls\"} 4"
        ));
        assert!(text.contains(
            "phimesh_requests_total{action=\"refused\",direction=\"inbound\",protocol=\"h2\",tls=\"mtls\"} 1"
        ));
        assert!(text.contains(
            "phimesh_request_duration_seconds_count{direction=\"inbound\",protocol=\"h2\"} 1"
        ));
        assert!(text.contains("phimesh_inspected_bytes_total{direction=\"outbound\"} 7"));
    }
}
