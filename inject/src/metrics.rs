//! The webhook's Prometheus metrics (`GET /metrics`), names prefixed `phimesh_webhook_`, labels
//! bounded (`action`, `reason`: fixed words from [`crate::admission`] and [`crate::pod`]).

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry};

/// The webhook's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Admission reviews answered, by `action` (injected, skipped, denied, error) and `reason`.
    pub reviews: IntCounterVec,
    /// Time from the request's arrival to its answer, by `action`.
    pub duration: HistogramVec,
    /// HTTP requests refused before review, by `reason` (not_found, method, too_large, timeout, ...).
    pub rejected: IntCounterVec,
    /// Serving certificates loaded after the first.
    pub cert_reloads: IntCounter,
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let registry = Registry::new();
        // The standard process_* metrics (RSS, CPU seconds, open file descriptors), as every
        // Prometheus exporter has them.
        let _ = registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ));
        let reviews = IntCounterVec::new(
            Opts::new(
                "phimesh_webhook_reviews_total",
                "AdmissionReviews answered, by action and reason.",
            ),
            &["action", "reason"],
        )
        .expect("static metric");
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "phimesh_webhook_review_duration_seconds",
                "Time to read, review and answer one AdmissionReview.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
            &["action"],
        )
        .expect("static metric");
        let rejected = IntCounterVec::new(
            Opts::new(
                "phimesh_webhook_rejected_requests_total",
                "HTTP requests refused before any review, by reason.",
            ),
            &["reason"],
        )
        .expect("static metric");
        let cert_reloads = IntCounter::new(
            "phimesh_webhook_certificate_reloads_total",
            "Serving certificates loaded from disk after the first.",
        )
        .expect("static metric");
        for c in [
            Box::new(reviews.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(duration.clone()),
            Box::new(rejected.clone()),
            Box::new(cert_reloads.clone()),
        ] {
            registry.register(c).expect("unique metric names");
        }
        Metrics {
            registry,
            reviews,
            duration,
            rejected,
            cert_reloads,
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        // Encoding our own registry into a Vec cannot fail.
        let _ = prometheus::TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters() {
        let m = Metrics::new();
        m.reviews.with_label_values(&["injected", "injected"]).inc();
        m.rejected.with_label_values(&["too_large"]).inc();
        let text = m.render();
        assert!(
            text.contains(
                r#"phimesh_webhook_reviews_total{action="injected",reason="injected"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"phimesh_webhook_rejected_requests_total{reason="too_large"} 1"#));
        assert!(text.contains("phimesh_webhook_certificate_reloads_total 0"));
    }
}
