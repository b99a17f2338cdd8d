//! The containers and volumes the injector adds, as Kubernetes JSON (`k8s-openapi` field names).
//!
//! * `phimesh-init`: `phimesh init --proxy-uid 1337 [--exclude-...=LIST]` (each exclusion one
//!   `--flag=value` argument, so the ValidatingAdmissionPolicy in `deploy/` can check every
//!   argument on its own), root with `NET_ADMIN` and `NET_RAW`
//!   only, every other capability dropped, read-only root filesystem (an `emptyDir` on `/run`
//!   holds the xtables lock), `RuntimeDefault` seccomp. It is the one container of a meshed pod
//!   that cannot meet Pod Security `restricted`; `deploy/README.md` says so.
//! * `phimesh-proxy`: `phimesh proxy --transparent` as UID/GID 1337, non-root, no privilege
//!   escalation, read-only root filesystem, no capabilities, `RuntimeDefault` seccomp. Its
//!   identity comes from the downward API; the CA token is a projected service-account token with
//!   audience `phimesh-ca`; the CA roots come from the `phimesh-trust-bundle` ConfigMap. A startup
//!   probe on `/ready` holds the app's containers back until the proxy has its certificate
//!   (native mode), readiness and liveness probes watch it afterwards.
//!
//! [`is_genuine`] tells a pod this injector made from one that only looks like it (a container
//! named `phimesh-proxy` running anything else): only the first counts as already injected.

use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{json, Value};

use crate::annotations::{self, PodOptions};
use crate::config::{
    InboundMtls, InjectorConfig, Mode, SidecarMode, ADMIN_PORT, PROXY_UID, TOKEN_AUDIENCE,
    TRUST_BUNDLE_CONFIGMAP,
};

/// Name of the init step container.
pub const INIT_NAME: &str = "phimesh-init";
/// Name of the proxy container.
pub const PROXY_NAME: &str = "phimesh-proxy";
/// Volume: projected service-account token for the CA.
pub const TOKEN_VOLUME: &str = "phimesh-token";
/// Volume: the trust bundle.
pub const TRUST_VOLUME: &str = "phimesh-trust";
/// Volume: the init step's `/run` (xtables lock).
pub const XTABLES_VOLUME: &str = "phimesh-xtables";
/// Volume: the proxy's `/tmp`.
pub const TMP_VOLUME: &str = "phimesh-tmp";
/// Every volume name the injector adds.
pub const VOLUMES: [&str; 4] = [TOKEN_VOLUME, TRUST_VOLUME, XTABLES_VOLUME, TMP_VOLUME];
/// Where the token volume is mounted.
pub const TOKEN_DIR: &str = "/var/run/phimesh/token";
/// Where the trust volume is mounted.
pub const TRUST_DIR: &str = "/var/run/phimesh/trust";
/// `PHIMESH_TOKEN_FILE`.
pub const TOKEN_FILE: &str = "/var/run/phimesh/token/token";
/// `PHIMESH_CA_ROOTS`.
pub const TRUST_FILE: &str = "/var/run/phimesh/trust/trust-bundle.pem";
/// Lifetime asked of the projected token (the kubelet refreshes it at 80 %).
pub const TOKEN_EXPIRATION_SECONDS: i64 = 3600;
/// Name of the admin port on the proxy container (what the PodMonitor scrapes).
pub const ADMIN_PORT_NAME: &str = "phimesh-admin";

/// The init step container.
pub fn init_container(cfg: &InjectorConfig, opts: &PodOptions) -> Value {
    let mut args = vec![
        "init".to_owned(),
        "--proxy-uid".to_owned(),
        PROXY_UID.to_string(),
    ];
    // `phimesh init` itself never redirects the admin port (15020): kubelet probes and Prometheus
    // reach it in plaintext.
    if !opts.exclude_inbound_ports.is_empty() {
        args.push(format!(
            "--exclude-inbound-ports={}",
            join(&opts.exclude_inbound_ports)
        ));
    }
    if !opts.exclude_outbound_ports.is_empty() {
        args.push(format!(
            "--exclude-outbound-ports={}",
            join(&opts.exclude_outbound_ports)
        ));
    }
    if !opts.exclude_outbound_cidrs.is_empty() {
        args.push(format!(
            "--exclude-outbound-cidrs={}",
            opts.exclude_outbound_cidrs.join(",")
        ));
    }
    json!({
        "name": INIT_NAME,
        "image": cfg.image,
        "imagePullPolicy": cfg.image_pull_policy,
        "args": args,
        "resources": {
            "requests": {"cpu": "10m", "memory": "16Mi"},
            "limits": {"cpu": "100m", "memory": "64Mi"}
        },
        "securityContext": {
            "runAsUser": 0,
            "runAsGroup": 0,
            "runAsNonRoot": false,
            "privileged": false,
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}
        },
        "volumeMounts": [{"name": XTABLES_VOLUME, "mountPath": "/run"}],
        "terminationMessagePolicy": "FallbackToLogsOnError"
    })
}

/// The proxy container; `restartPolicy: Always` in native mode makes it a native sidecar.
pub fn proxy_container(cfg: &InjectorConfig, opts: &PodOptions) -> Value {
    let field = |name: &str, path: &str| json!({"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}});
    let val = |name: &str, value: String| json!({"name": name, "value": value});
    // Order matters: `$(POD_NAMESPACE)` only expands when declared earlier in the list.
    let mut env = vec![
        field("POD_NAME", "metadata.name"),
        field("POD_NAMESPACE", "metadata.namespace"),
        field("POD_SERVICE_ACCOUNT", "spec.serviceAccountName"),
        field("POD_IP", "status.podIP"),
        val(
            "PHIMESH_IDENTITY",
            format!(
                "spiffe://{}/ns/$(POD_NAMESPACE)/sa/$(POD_SERVICE_ACCOUNT)",
                cfg.trust_domain
            ),
        ),
        val("PHIMESH_CA_ADDR", cfg.ca_addr.clone()),
        val("PHIMESH_CA_ROOTS", TRUST_FILE.into()),
        val("PHIMESH_TOKEN_FILE", TOKEN_FILE.into()),
        val("PHIMESH_MESH_NETWORKS", cfg.mesh_networks.join(",")),
        val("PHIMESH_MODE", opts.mode.as_str().into()),
        val("PHIMESH_INBOUND_MTLS", opts.inbound_mtls.as_str().into()),
        val("PHIMESH_ADMIN_LISTEN", format!("0.0.0.0:{ADMIN_PORT}")),
    ];
    if !opts.allow_identities.is_empty() {
        env.push(val(
            "PHIMESH_ALLOW_IDENTITIES",
            opts.allow_identities.join(","),
        ));
    }
    let probe = |path: &str, period: u32, failures: u32| {
        json!({
            "httpGet": {"path": path, "port": ADMIN_PORT, "scheme": "HTTP"},
            "periodSeconds": period,
            "timeoutSeconds": 1,
            "failureThreshold": failures
        })
    };
    let mut c = json!({
        "name": PROXY_NAME,
        "image": cfg.image,
        "imagePullPolicy": cfg.image_pull_policy,
        "args": ["proxy", "--transparent"],
        "env": env,
        "ports": [{"name": ADMIN_PORT_NAME, "containerPort": ADMIN_PORT, "protocol": "TCP"}],
        // Holds later containers back until the proxy has its certificate (up to 10 minutes).
        "startupProbe": probe("/ready", 1, 600),
        "readinessProbe": probe("/ready", 2, 3),
        "livenessProbe": probe("/live", 10, 3),
        "resources": resources(opts),
        "securityContext": {
            "runAsUser": PROXY_UID,
            "runAsGroup": PROXY_UID,
            "runAsNonRoot": true,
            "privileged": false,
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}
        },
        "volumeMounts": [
            {"name": TOKEN_VOLUME, "mountPath": TOKEN_DIR, "readOnly": true},
            {"name": TRUST_VOLUME, "mountPath": TRUST_DIR, "readOnly": true},
            {"name": TMP_VOLUME, "mountPath": "/tmp"}
        ],
        "terminationMessagePolicy": "FallbackToLogsOnError"
    });
    if opts.sidecar_mode == SidecarMode::Native {
        c["restartPolicy"] = json!("Always");
    }
    c
}

fn resources(opts: &PodOptions) -> Value {
    let r = &opts.resources;
    let pick = |pairs: [(&str, &Option<String>); 2]| {
        pairs
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_owned(), json!(v))))
            .collect::<serde_json::Map<String, Value>>()
    };
    let requests = pick([("cpu", &r.cpu_request), ("memory", &r.memory_request)]);
    let limits = pick([("cpu", &r.cpu_limit), ("memory", &r.memory_limit)]);
    let mut out = serde_json::Map::new();
    if !requests.is_empty() {
        out.insert("requests".into(), Value::Object(requests));
    }
    if !limits.is_empty() {
        out.insert("limits".into(), Value::Object(limits));
    }
    Value::Object(out)
}

/// The volumes, in [`VOLUMES`] order.
pub fn volumes() -> Vec<Value> {
    vec![
        json!({
            "name": TOKEN_VOLUME,
            "projected": {
                "defaultMode": 0o444,
                "sources": [{"serviceAccountToken": {
                    "audience": TOKEN_AUDIENCE,
                    "expirationSeconds": TOKEN_EXPIRATION_SECONDS,
                    "path": "token"
                }}]
            }
        }),
        json!({
            "name": TRUST_VOLUME,
            "configMap": {
                "name": TRUST_BUNDLE_CONFIGMAP,
                "items": [{"key": "trust-bundle.pem", "path": "trust-bundle.pem"}],
                "defaultMode": 0o444
            }
        }),
        json!({"name": XTABLES_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}),
        json!({"name": TMP_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}),
    ]
}

/// Whether a container name is phimesh's or a look-alike of it: starts with `phimesh`, in any
/// case (`phimesh-proxy`, `PHIMESH-INIT`, `phimesh-proxy-2`, `phimeshproxy`).
pub fn is_reserved_name(name: &str) -> bool {
    name.get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("phimesh"))
}

/// Whether the pod carries the sidecar exactly as this injector makes it for `opts` (the pod's own
/// annotations): `phimesh-init` first among the init containers and `phimesh-proxy` where its
/// mode puts it, each with this injector's image, command, arguments, environment (the proxy's
/// mode and inbound mTLS may be either valid value: they follow the injector's defaults or the PHI
/// path), restart policy, security context and mounts; no third container with a reserved name; and the status
/// annotation and sidecar label. Fields the API server defaults (`terminationMessagePath`, probe
/// thresholds, ...) are not compared, so a pod read back from the API server still counts.
pub fn is_genuine(
    meta: &ObjectMeta,
    spec: &PodSpec,
    cfg: &InjectorConfig,
    opts: &PodOptions,
) -> bool {
    let marked = meta
        .labels
        .as_ref()
        .and_then(|l| l.get(annotations::SIDECAR_LABEL))
        .is_some_and(|v| v == annotations::SIDECAR_LABEL_VALUE)
        && meta
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(annotations::STATUS));
    if !marked {
        return false;
    }
    let inits = spec.init_containers.as_deref().unwrap_or_default();
    let reserved = inits
        .iter()
        .chain(&spec.containers)
        .filter(|c| is_reserved_name(&c.name))
        .count()
        + spec
            .ephemeral_containers
            .iter()
            .flatten()
            .filter(|c| is_reserved_name(&c.name))
            .count();
    if reserved != 2 {
        return false;
    }
    let proxy = match opts.sidecar_mode {
        SidecarMode::Native => inits.get(1),
        SidecarMode::Classic => spec.containers.first(),
    };
    let (Some(init), Some(proxy)) = (inits.first(), proxy) else {
        return false;
    };
    if !same(init, &init_container(cfg, opts)) {
        return false;
    }
    // Mode and inbound mTLS may come from the injector's defaults at the time, or from the PHI
    // path's fixed values: any valid pair is this injector's sidecar.
    [Mode::Enforce, Mode::Audit].into_iter().any(|mode| {
        [InboundMtls::Strict, InboundMtls::Permissive]
            .into_iter()
            .any(|inbound_mtls| {
                let o = PodOptions {
                    mode,
                    inbound_mtls,
                    ..opts.clone()
                };
                same(proxy, &proxy_container(cfg, &o))
            })
    })
}

/// Compares the fields that decide what a container runs and with which rights.
fn same(have: &Container, want: &Value) -> bool {
    let Ok(want) = serde_json::from_value::<Container>(want.clone()) else {
        return false;
    };
    have.name == want.name
        && have.image == want.image
        && have.command == want.command
        && have.args == want.args
        && have.env == want.env
        && have.env_from == want.env_from
        && have.restart_policy == want.restart_policy
        && have.security_context == want.security_context
        && have.volume_mounts == want.volume_mounts
        && have.volume_devices == want.volume_devices
}

fn join(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, Volume};
    use std::collections::BTreeMap;

    fn opts(pairs: &[(&str, &str)]) -> PodOptions {
        let ann: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        PodOptions::from_annotations(&ann, &InjectorConfig::for_tests()).unwrap()
    }

    #[test]
    fn containers_and_volumes_are_valid_k8s_types() {
        let cfg = InjectorConfig::for_tests();
        let o = opts(&[]);
        let init: Container = serde_json::from_value(init_container(&cfg, &o)).unwrap();
        let proxy: Container = serde_json::from_value(proxy_container(&cfg, &o)).unwrap();
        for v in volumes() {
            let _: Volume = serde_json::from_value(v).unwrap();
        }
        assert_eq!(init.args.unwrap(), ["init", "--proxy-uid", "1337"]);
        assert_eq!(proxy.restart_policy.as_deref(), Some("Always"));
    }

    #[test]
    fn exclusions_become_init_flags() {
        let cfg = InjectorConfig::for_tests();
        let init = init_container(
            &cfg,
            &opts(&[
                ("phimesh.io/exclude-inbound-ports", "9090,8080"),
                ("phimesh.io/exclude-outbound-ports", "5432"),
                (
                    "phimesh.io/exclude-outbound-cidrs",
                    "169.254.169.254/32, fd00::/8",
                ),
            ]),
        );
        assert_eq!(
            init["args"],
            json!([
                "init",
                "--proxy-uid",
                "1337",
                "--exclude-inbound-ports=8080,9090",
                "--exclude-outbound-ports=5432",
                "--exclude-outbound-cidrs=169.254.169.254/32,fd00::/8"
            ])
        );
    }

    #[test]
    fn reserved_names() {
        for n in [
            "phimesh-proxy",
            "phimesh-init",
            "PHIMESH-PROXY",
            "Phimesh-x",
            "phimeshd",
        ] {
            assert!(is_reserved_name(n), "{n}");
        }
        for n in ["", "phi", "proxy", "my-phimesh-proxy", "phimes"] {
            assert!(!is_reserved_name(n), "{n}");
        }
    }

    #[test]
    fn classic_has_no_restart_policy_and_limits_can_be_unset() {
        let mut cfg = InjectorConfig::for_tests();
        cfg.resources.cpu_limit = None;
        let ann = BTreeMap::from([("phimesh.io/sidecar-mode".to_owned(), "classic".to_owned())]);
        let o = PodOptions::from_annotations(&ann, &cfg).unwrap();
        let p = proxy_container(&cfg, &o);
        assert!(p.get("restartPolicy").is_none());
        assert_eq!(p["resources"]["limits"], json!({"memory": "1Gi"}));
    }
}
