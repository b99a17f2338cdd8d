//! The `phimesh.io/...` labels and annotations a workload uses to steer injection, and their parsing.
//!
//! | key | on | values | effect |
//! | --- | --- | --- | --- |
//! | `phimesh.io/inject` | namespace label, pod label; pod annotation for `disabled` only | `enabled`, `disabled` | opt in / out; the webhook configuration selects on the labels, the webhook re-checks the pod's label and annotation |
//! | `phimesh.io/sidecar-mode` | pod annotation | `native` (default), `classic` | native sidecar (init container with `restartPolicy: Always`, Kubernetes ≥ 1.29) or a classic container |
//! | `phimesh.io/mode` | pod annotation | `enforce`, `audit` | `PHIMESH_MODE` of the proxy |
//! | `phimesh.io/inbound-mtls` | pod annotation | `strict`, `permissive` | `PHIMESH_INBOUND_MTLS` of the proxy |
//! | `phimesh.io/allow-identities` | pod annotation | `spiffe://...,...` | `PHIMESH_ALLOW_IDENTITIES`: inbound callers allowed |
//! | `phimesh.io/exclude-inbound-ports` | pod annotation | `8080,9090` | ports `phimesh init` leaves unredirected inbound |
//! | `phimesh.io/exclude-outbound-ports` | pod annotation | `5432,...` | destination ports `phimesh init` leaves unredirected outbound |
//! | `phimesh.io/exclude-outbound-cidrs` | pod annotation | `10.0.0.1/32,...` | destinations `phimesh init` leaves unredirected outbound |
//! | `phimesh.io/proxy-cpu`, `phimesh.io/proxy-memory` | pod annotation | quantities (`200m`, `256Mi`) | the proxy's requests |
//! | `phimesh.io/proxy-cpu-limit`, `phimesh.io/proxy-memory-limit` | pod annotation | quantities | the proxy's limits |
//! | `phimesh.io/status` | pod annotation, written by the injector | JSON | marks an injected pod; what was added |
//! | `phimesh.io/sidecar` | pod label, written by the injector | `injected` | selects meshed pods (PodMonitor, NetworkPolicy) |
//!
//! The image is deliberately *not* an annotation: the init container holds `NET_ADMIN`, so which
//! image runs there is the platform team's choice (the webhook's `--image`), not a workload's.
//!
//! A value that does not parse refuses the pod (webhook) or stops `phimesh inject` with the key
//! and the reason: a typo in `phimesh.io/mode` must not silently fall back to a default.
//!
//! Which of these weaken protection, and what happens to each in opt-in and in PHI namespaces,
//! is in [`crate::policy`].

use crate::config::InjectorConfig;
pub(crate) use crate::values::short;
pub use crate::values::{check_cidr, check_quantity, parse_cidrs, parse_identities, parse_ports};
use crate::values::{InboundMtls, Mode, Resources, SidecarMode};
use std::collections::BTreeMap;

/// Label (and annotation) that opts a namespace or pod in (`enabled`) or out (`disabled`).
pub const INJECT: &str = "phimesh.io/inject";
/// Pod annotation: `native` or `classic`.
pub const SIDECAR_MODE: &str = "phimesh.io/sidecar-mode";
/// Pod annotation: `enforce` or `audit`.
pub const MODE: &str = "phimesh.io/mode";
/// Pod annotation: `strict` or `permissive`.
pub const INBOUND_MTLS: &str = "phimesh.io/inbound-mtls";
/// Pod annotation: comma-separated SPIFFE IDs allowed to call this pod.
pub const ALLOW_IDENTITIES: &str = "phimesh.io/allow-identities";
/// Pod annotation: comma-separated inbound ports not redirected to the proxy.
pub const EXCLUDE_INBOUND_PORTS: &str = "phimesh.io/exclude-inbound-ports";
/// Pod annotation: comma-separated outbound destination ports not redirected to the proxy.
pub const EXCLUDE_OUTBOUND_PORTS: &str = "phimesh.io/exclude-outbound-ports";
/// Pod annotation: comma-separated outbound CIDRs not redirected to the proxy.
pub const EXCLUDE_OUTBOUND_CIDRS: &str = "phimesh.io/exclude-outbound-cidrs";
/// Pod annotation: the proxy's CPU request.
pub const PROXY_CPU: &str = "phimesh.io/proxy-cpu";
/// Pod annotation: the proxy's memory request.
pub const PROXY_MEMORY: &str = "phimesh.io/proxy-memory";
/// Pod annotation: the proxy's CPU limit.
pub const PROXY_CPU_LIMIT: &str = "phimesh.io/proxy-cpu-limit";
/// Pod annotation: the proxy's memory limit.
pub const PROXY_MEMORY_LIMIT: &str = "phimesh.io/proxy-memory-limit";
/// Pod annotation written by the injector: JSON saying what was added.
pub const STATUS: &str = "phimesh.io/status";
/// Pod label written by the injector.
pub const SIDECAR_LABEL: &str = "phimesh.io/sidecar";
/// Value of [`SIDECAR_LABEL`].
pub const SIDECAR_LABEL_VALUE: &str = "injected";

/// Prefix of every phimesh label and annotation.
pub const PREFIX: &str = "phimesh.io/";

/// Every pod annotation the injector reads (besides [`INJECT`], also a label, and [`STATUS`],
/// which it writes). In a PHI namespace any other `phimesh.io/` annotation is refused: it is a
/// typo or a setting this injector does not honour, and either way not what the pod expects.
pub const POD_ANNOTATIONS: [&str; 12] = [
    INJECT,
    SIDECAR_MODE,
    MODE,
    INBOUND_MTLS,
    ALLOW_IDENTITIES,
    EXCLUDE_INBOUND_PORTS,
    EXCLUDE_OUTBOUND_PORTS,
    EXCLUDE_OUTBOUND_CIDRS,
    PROXY_CPU,
    PROXY_MEMORY,
    PROXY_CPU_LIMIT,
    PROXY_MEMORY_LIMIT,
];

/// Value of [`INJECT`] that opts in.
pub const ENABLED: &str = "enabled";
/// Value of [`INJECT`] that opts out.
pub const DISABLED: &str = "disabled";

/// An annotation whose value does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("annotation {key}: {reason}")]
pub struct AnnotationError {
    /// The annotation key.
    pub key: &'static str,
    /// Why the value is refused (never the whole value: it is workload input).
    pub reason: String,
}

/// The per-pod settings, after annotations have been applied over the injector's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodOptions {
    /// Native or classic sidecar.
    pub sidecar_mode: SidecarMode,
    /// `enforce` or `audit`.
    pub mode: Mode,
    /// `strict` or `permissive`.
    pub inbound_mtls: InboundMtls,
    /// Allowed inbound callers (empty: the proxy's default, any identity of the trust domain).
    pub allow_identities: Vec<String>,
    /// Inbound ports left alone by `phimesh init` (sorted, deduplicated).
    pub exclude_inbound_ports: Vec<u16>,
    /// Outbound destination ports left alone by `phimesh init` (sorted, deduplicated).
    pub exclude_outbound_ports: Vec<u16>,
    /// Outbound CIDRs left alone by `phimesh init` (as written, validated).
    pub exclude_outbound_cidrs: Vec<String>,
    /// The proxy's requests and limits.
    pub resources: Resources,
}

/// Whether the pod's own label or annotation opts it out.
pub fn opted_out(
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> bool {
    let off = |m: &BTreeMap<String, String>| {
        m.get(INJECT)
            .is_some_and(|v| v.eq_ignore_ascii_case(DISABLED) || v == "false")
    };
    off(labels) || off(annotations)
}

impl PodOptions {
    /// Reads the annotations over the injector's defaults.
    pub fn from_annotations(
        annotations: &BTreeMap<String, String>,
        cfg: &InjectorConfig,
    ) -> Result<Self, AnnotationError> {
        let get = |k: &str| annotations.get(k).map(|v| v.trim());
        let sidecar_mode = match get(SIDECAR_MODE) {
            None => cfg.sidecar_mode,
            Some(v) => v.parse().map_err(|reason| AnnotationError {
                key: SIDECAR_MODE,
                reason,
            })?,
        };
        let mode = match get(MODE) {
            None => cfg.mode,
            Some(v) => v
                .parse()
                .map_err(|reason| AnnotationError { key: MODE, reason })?,
        };
        let inbound_mtls = match get(INBOUND_MTLS) {
            None => cfg.inbound_mtls,
            Some(v) => v.parse().map_err(|reason| AnnotationError {
                key: INBOUND_MTLS,
                reason,
            })?,
        };
        let allow_identities = match get(ALLOW_IDENTITIES) {
            None => Vec::new(),
            Some(v) => parse_identities(v).map_err(|reason| AnnotationError {
                key: ALLOW_IDENTITIES,
                reason,
            })?,
        };
        let exclude_inbound_ports = match get(EXCLUDE_INBOUND_PORTS) {
            None => Vec::new(),
            Some(v) => parse_ports(v).map_err(|reason| AnnotationError {
                key: EXCLUDE_INBOUND_PORTS,
                reason,
            })?,
        };
        let exclude_outbound_ports = match get(EXCLUDE_OUTBOUND_PORTS) {
            None => Vec::new(),
            Some(v) => parse_ports(v).map_err(|reason| AnnotationError {
                key: EXCLUDE_OUTBOUND_PORTS,
                reason,
            })?,
        };
        let exclude_outbound_cidrs = match get(EXCLUDE_OUTBOUND_CIDRS) {
            None => Vec::new(),
            Some(v) => parse_cidrs(v).map_err(|reason| AnnotationError {
                key: EXCLUDE_OUTBOUND_CIDRS,
                reason,
            })?,
        };
        let mut resources = cfg.resources.clone();
        for (key, slot) in [
            (PROXY_CPU, &mut resources.cpu_request),
            (PROXY_MEMORY, &mut resources.memory_request),
            (PROXY_CPU_LIMIT, &mut resources.cpu_limit),
            (PROXY_MEMORY_LIMIT, &mut resources.memory_limit),
        ] {
            if let Some(v) = get(key) {
                check_quantity(v).map_err(|reason| AnnotationError { key, reason })?;
                *slot = Some(v.to_owned());
            }
        }
        Ok(PodOptions {
            sidecar_mode,
            mode,
            inbound_mtls,
            allow_identities,
            exclude_inbound_ports,
            exclude_outbound_ports,
            exclude_outbound_cidrs,
            resources,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> InjectorConfig {
        InjectorConfig::for_tests()
    }

    fn ann(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_come_from_the_injector() {
        let o = PodOptions::from_annotations(&BTreeMap::new(), &cfg()).unwrap();
        assert_eq!(o.sidecar_mode, SidecarMode::Native);
        assert_eq!(o.mode, Mode::Enforce);
        assert_eq!(o.inbound_mtls, InboundMtls::Strict);
        assert!(o.exclude_inbound_ports.is_empty());
        assert_eq!(o.resources, cfg().resources);
    }

    #[test]
    fn annotations_override() {
        let o = PodOptions::from_annotations(
            &ann(&[
                (SIDECAR_MODE, "classic"),
                (MODE, "audit"),
                (INBOUND_MTLS, " permissive "),
                (EXCLUDE_INBOUND_PORTS, "9090, 8080,9090"),
                (EXCLUDE_OUTBOUND_PORTS, "5432"),
                (EXCLUDE_OUTBOUND_CIDRS, "169.254.169.254/32,fd00::/8"),
                (ALLOW_IDENTITIES, "spiffe://cluster.local/ns/a/sa/b"),
                (PROXY_MEMORY_LIMIT, "2Gi"),
            ]),
            &cfg(),
        )
        .unwrap();
        assert_eq!(o.sidecar_mode, SidecarMode::Classic);
        assert_eq!(o.mode, Mode::Audit);
        assert_eq!(o.inbound_mtls, InboundMtls::Permissive);
        assert_eq!(o.exclude_inbound_ports, vec![8080, 9090]);
        assert_eq!(o.exclude_outbound_ports, vec![5432]);
        assert_eq!(
            o.exclude_outbound_cidrs,
            vec!["169.254.169.254/32", "fd00::/8"]
        );
        assert_eq!(o.allow_identities.len(), 1);
        assert_eq!(o.resources.memory_limit.as_deref(), Some("2Gi"));
    }

    #[test]
    fn bad_values_name_the_key() {
        for (k, v) in [
            (MODE, "enforcing"),
            (INBOUND_MTLS, "off"),
            (SIDECAR_MODE, "sidecar"),
            (EXCLUDE_INBOUND_PORTS, "0"),
            (EXCLUDE_INBOUND_PORTS, "70000"),
            (EXCLUDE_INBOUND_PORTS, "http"),
            (EXCLUDE_OUTBOUND_PORTS, "0"),
            (EXCLUDE_OUTBOUND_CIDRS, "10.0.0.1"),
            (EXCLUDE_OUTBOUND_CIDRS, "10.0.0.0/33"),
            (EXCLUDE_OUTBOUND_CIDRS, "fd00::/129"),
            (ALLOW_IDENTITIES, "https://x"),
            (ALLOW_IDENTITIES, ","),
            (PROXY_CPU, "lots"),
            (PROXY_MEMORY, "1.2.3Mi"),
        ] {
            let e = PodOptions::from_annotations(&ann(&[(k, v)]), &cfg()).unwrap_err();
            assert_eq!(e.key, k, "{v}");
            assert!(e.to_string().starts_with(&format!("annotation {k}: ")));
        }
    }

    #[test]
    fn quantities() {
        for ok in ["100m", "0.5", "2", "128Mi", "1G", "1e3", "1.5Gi"] {
            check_quantity(ok).unwrap();
        }
        for bad in ["", "m", ".5", "5.", "1..2", "10 Mi", "1e", "1MiB", "-1"] {
            assert!(check_quantity(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn opt_out_by_label_or_annotation() {
        let none = BTreeMap::new();
        assert!(!opted_out(&none, &none));
        assert!(opted_out(&ann(&[(INJECT, "disabled")]), &none));
        assert!(opted_out(&none, &ann(&[(INJECT, "false")])));
        assert!(!opted_out(&ann(&[(INJECT, "enabled")]), &none));
    }

    #[test]
    fn long_input_is_cut_in_messages() {
        let long = "x".repeat(10_000);
        let e = parse_ports(&long).unwrap_err();
        assert!(e.len() < 200);
    }
}
