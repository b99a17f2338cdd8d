//! The injection decision for one pod (or pod template) and the RFC 6902 patch that carries it out.
//!
//! [`plan`] reads the object's `metadata` and `spec` through `k8s-openapi`'s typed `ObjectMeta` and
//! `PodSpec`, and answers, under a [`Policy`] (opt-in or PHI namespace), one of three ways:
//!
//! * [`Outcome::Skip`] with a [`SkipReason`] — left alone, admitted unchanged;
//! * [`Refusal`] — the pod asked for the mesh but cannot have it safely (an annotation that does
//!   not parse, an app container running as the proxy's UID, a name, port or volume the sidecar
//!   needs, containers that look like phimesh's without being them), or, in a PHI namespace, it
//!   tries to weaken or skip the mesh ([`crate::policy`]): the webhook denies it with the
//!   message, `phimesh inject` stops;
//! * [`Outcome::Inject`] — `add` operations relative to the object's root, plus warnings for the
//!   API server to show (`kubectl` prints them).
//!
//! Only `add` is used, and only at paths that exist (or whose parent exists), so the same patch
//! applies to the object as the API server holds it and to a pod template in a manifest.
//!
//! A pod counts as already injected only when [`sidecar::is_genuine`] says so: a container named
//! like phimesh's that is not exactly what this injector makes is refused, never skipped, and so
//! is a pod that carries the `phimesh.io/sidecar` label or status annotation but would not be
//! injected (opted out, `hostNetwork`, Windows): only the injector sets them, because the PHI
//! namespaces' NetworkPolicies trust the label.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec, Probe};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::{json, Value};

use crate::annotations::{self, AnnotationError, PodOptions};
use crate::config::{
    InboundMtls, InjectorConfig, SidecarMode, ADMIN_PORT, INBOUND_PORT, OUTBOUND_PORT, PROXY_UID,
};
use crate::policy::{self, Policy};
use crate::sidecar;

/// Namespaces never injected, whatever their labels say.
pub const SYSTEM_NAMESPACES: [&str; 4] = [
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "phimesh-system",
];

/// One RFC 6902 operation (`add` is the only one the injector emits).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatchOp {
    /// Always `"add"`.
    pub op: &'static str,
    /// JSON pointer (RFC 6901), relative to the pod or template.
    pub path: String,
    /// The value added.
    pub value: Value,
}

impl PatchOp {
    fn add(path: String, value: Value) -> Self {
        PatchOp {
            op: "add",
            path,
            value,
        }
    }
}

/// Escapes one JSON-pointer token (`~` → `~0`, `/` → `~1`).
pub fn pointer_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Why a pod is admitted unchanged. `as_str` is a bounded metrics label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// `phimesh.io/inject: disabled` on the pod.
    OptedOut,
    /// The pod already has this injector's genuine sidecar ([`sidecar::is_genuine`]).
    AlreadyInjected,
    /// `hostNetwork: true`: redirect rules would rewrite the node's own traffic.
    HostNetwork,
    /// A Kubernetes or phimesh system namespace.
    SystemNamespace,
    /// `spec.os.name: windows`: no iptables.
    Windows,
}

impl SkipReason {
    /// Metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::OptedOut => "opted_out",
            SkipReason::AlreadyInjected => "already_injected",
            SkipReason::HostNetwork => "host_network",
            SkipReason::SystemNamespace => "system_namespace",
            SkipReason::Windows => "windows",
        }
    }

    /// A sentence for logs, audit annotations and `phimesh inject`'s stderr.
    pub fn message(self) -> &'static str {
        match self {
            SkipReason::OptedOut => "phimesh.io/inject is disabled on the pod",
            SkipReason::AlreadyInjected => "the pod already has the phimesh sidecar",
            SkipReason::HostNetwork => {
                "hostNetwork pods share the node's network namespace: the redirect rules would capture the node's traffic, so no sidecar is injected"
            }
            SkipReason::SystemNamespace => "system namespaces are never injected",
            SkipReason::Windows => "Windows pods have no iptables: no sidecar is injected",
        }
    }

    /// A warning for the workload owner when the skip leaves the pod without the mesh it was
    /// selected for (shown by `kubectl`).
    pub fn warning(self) -> Option<String> {
        let what = match self {
            SkipReason::OptedOut => "phimesh.io/inject=disabled",
            SkipReason::HostNetwork => "hostNetwork",
            SkipReason::Windows => "Windows",
            SkipReason::AlreadyInjected | SkipReason::SystemNamespace => return None,
        };
        Some(format!(
            "phimesh: {what}: this pod runs without the phimesh sidecar; its traffic is not inspected"
        ))
    }
}

/// Why a pod that asked for the mesh is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// An annotation value does not parse.
    #[error(transparent)]
    Annotation(#[from] AnnotationError),
    /// The object is not a pod (or template) with a spec and containers.
    #[error("not a valid pod: {0}")]
    Invalid(String),
    /// The pod uses a name or port the sidecar needs.
    #[error("conflicts with the phimesh sidecar: {0}")]
    Conflict(String),
    /// An app container runs as the proxy's UID: its traffic would skip the redirect.
    #[error("{0} runs as UID 1337, the proxy's UID: its traffic would bypass the mesh unchecked; run it as another user")]
    ProxyUid(String),
    /// The pod carries phimesh's containers, label or status annotation without being this
    /// injector's genuine sidecar.
    #[error("looks injected but is not: {0}")]
    LookAlike(String),
    /// In a PHI namespace: overrides or parts that would weaken or skip the mesh, one sentence each.
    #[error("denied in a PHI namespace (phimesh.io/phi=true): {}", .0.join("; "))]
    Phi(Vec<String>),
}

impl Refusal {
    /// Metrics label.
    pub fn as_str(&self) -> &'static str {
        match self {
            Refusal::Annotation(_) => "bad_annotation",
            Refusal::Invalid(_) => "invalid_pod",
            Refusal::Conflict(_) => "conflict",
            Refusal::ProxyUid(_) => "proxy_uid",
            Refusal::LookAlike(_) => "look_alike",
            Refusal::Phi(_) => "phi_policy",
        }
    }
}

/// What to do with a pod.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Admit unchanged.
    Skip(SkipReason),
    /// Add the sidecar.
    Inject {
        /// The operations, relative to the object.
        patch: Vec<PatchOp>,
        /// Things the workload owner should know (shown by `kubectl`).
        warnings: Vec<String>,
    },
}

/// Decides about `obj` (a Pod, or a PodTemplateSpec: anything with `metadata` and `spec`) in
/// `namespace` (the admission request's namespace; `None` offline), under `policy`.
pub fn plan(
    obj: &Value,
    namespace: Option<&str>,
    cfg: &InjectorConfig,
    policy: Policy,
) -> Result<Outcome, Refusal> {
    if !obj.is_object() {
        return Err(Refusal::Invalid("not a JSON object".into()));
    }
    let meta: ObjectMeta = match obj.get("metadata") {
        None | Some(Value::Null) => ObjectMeta::default(),
        Some(m) => serde_json::from_value(m.clone())
            .map_err(|e| Refusal::Invalid(format!("metadata: {}", redact(&e))))?,
    };
    let spec: PodSpec = match obj.get("spec") {
        None | Some(Value::Null) => return Err(Refusal::Invalid("no spec".into())),
        Some(s) => serde_json::from_value(s.clone())
            .map_err(|e| Refusal::Invalid(format!("spec: {}", redact(&e))))?,
    };
    let labels = meta.labels.clone().unwrap_or_default();
    let annotations = meta.annotations.clone().unwrap_or_default();
    let namespace = namespace.or(meta.namespace.as_deref());

    if namespace.is_some_and(|ns| SYSTEM_NAMESPACES.contains(&ns)) {
        return Ok(Outcome::Skip(SkipReason::SystemNamespace));
    }
    let options = match policy {
        Policy::OptIn => match opt_in_gate(&meta, &spec, &labels, &annotations, cfg)? {
            Gate::Skip(reason) => return Ok(Outcome::Skip(reason)),
            Gate::Inject(options) => options,
        },
        Policy::Phi => {
            // A value that does not parse is its own, more precise refusal.
            let options = PodOptions::from_annotations(&annotations, cfg)?;
            let problems = policy::phi_violations(&labels, &annotations, &spec, &options, &cfg.phi);
            if !problems.is_empty() {
                return Err(Refusal::Phi(problems));
            }
            if spec.containers.is_empty() {
                return Err(Refusal::Invalid("no containers".into()));
            }
            policy::phi_options(options)
        }
    };
    check_conflicts(&spec)?;
    check_proxy_uid(&spec)?;
    let mut warnings = warnings(&spec, &options);
    if policy == Policy::OptIn {
        warnings.extend(policy::weakening_warnings(&annotations, &spec, &options));
    }

    let mut patch = Vec::new();
    metadata_ops(obj, &meta, &spec, &options, &mut patch);

    let volumes = sidecar::volumes();
    match &spec.volumes {
        None => patch.push(PatchOp::add("/spec/volumes".into(), Value::Array(volumes))),
        Some(_) => patch.extend(
            volumes
                .into_iter()
                .map(|v| PatchOp::add("/spec/volumes/-".into(), v)),
        ),
    }

    let init = sidecar::init_container(cfg, &options);
    let proxy = sidecar::proxy_container(cfg, &options);
    let mut front = vec![init];
    if options.sidecar_mode == SidecarMode::Native {
        // Before the app's own init containers, so their traffic already goes through the proxy.
        front.push(proxy.clone());
    }
    match &spec.init_containers {
        None => patch.push(PatchOp::add(
            "/spec/initContainers".into(),
            Value::Array(front),
        )),
        Some(_) => {
            for (i, c) in front.into_iter().enumerate() {
                patch.push(PatchOp::add(format!("/spec/initContainers/{i}"), c));
            }
        }
    }
    if options.sidecar_mode == SidecarMode::Classic {
        // First, so the kubelet starts it before the app (it does not wait for it, see warnings).
        patch.push(PatchOp::add("/spec/containers/0".into(), proxy));
    }
    Ok(Outcome::Inject { patch, warnings })
}

enum Gate {
    Skip(SkipReason),
    Inject(PodOptions),
}

/// The opt-in path's decision before the patch: skip (opted out, already genuinely injected,
/// `hostNetwork`, Windows), refuse (a look-alike), or inject with these options.
fn opt_in_gate(
    meta: &ObjectMeta,
    spec: &PodSpec,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
    cfg: &InjectorConfig,
) -> Result<Gate, Refusal> {
    let init_containers = spec.init_containers.as_deref().unwrap_or_default();
    let reserved = spec
        .containers
        .iter()
        .chain(init_containers)
        .map(|c| c.name.as_str())
        .chain(
            spec.ephemeral_containers
                .iter()
                .flatten()
                .map(|c| c.name.as_str()),
        )
        .find(|n| sidecar::is_reserved_name(n));
    if let Some(name) = reserved {
        let genuine = PodOptions::from_annotations(annotations, cfg)
            .is_ok_and(|o| sidecar::is_genuine(meta, spec, cfg, &o));
        if genuine {
            return Ok(Gate::Skip(SkipReason::AlreadyInjected));
        }
        return Err(Refusal::LookAlike(format!(
            "container {:?} has a name reserved for phimesh but is not this injector's sidecar; rename it (the webhook adds the sidecar)",
            annotations::short(name)
        )));
    }
    let skip = if annotations::opted_out(labels, annotations) {
        Some(SkipReason::OptedOut)
    } else if spec.host_network == Some(true) {
        Some(SkipReason::HostNetwork)
    } else if spec.os.as_ref().is_some_and(|os| os.name == "windows") {
        Some(SkipReason::Windows)
    } else {
        None
    };
    if let Some(reason) = skip {
        // Admitted without the sidecar, the pod must not keep the marks of one.
        for (mark, present) in [
            (
                annotations::SIDECAR_LABEL,
                labels.contains_key(annotations::SIDECAR_LABEL),
            ),
            (
                annotations::STATUS,
                annotations.contains_key(annotations::STATUS),
            ),
        ] {
            if present {
                return Err(Refusal::LookAlike(format!(
                    "{mark} is set only by the injector, and this pod gets no sidecar ({}); remove it",
                    reason.as_str()
                )));
            }
        }
        return Ok(Gate::Skip(reason));
    }
    if spec.containers.is_empty() {
        return Err(Refusal::Invalid("no containers".into()));
    }
    Ok(Gate::Inject(PodOptions::from_annotations(
        annotations,
        cfg,
    )?))
}

fn metadata_ops(
    obj: &Value,
    meta: &ObjectMeta,
    spec: &PodSpec,
    options: &PodOptions,
    patch: &mut Vec<PatchOp>,
) {
    let mut add_annotations = BTreeMap::new();
    add_annotations.insert(annotations::STATUS.to_owned(), status(options));
    let existing = meta.annotations.clone().unwrap_or_default();
    if !existing.contains_key("prometheus.io/scrape") {
        // The app's own scrape annotations win; the PodMonitor in deploy/ scrapes the proxy anyway.
        add_annotations.insert("prometheus.io/scrape".into(), "true".into());
        add_annotations.insert("prometheus.io/port".into(), ADMIN_PORT.to_string());
        add_annotations.insert("prometheus.io/path".into(), "/metrics".into());
    }
    if !existing.contains_key("kubectl.kubernetes.io/default-container") {
        add_annotations.insert(
            "kubectl.kubernetes.io/default-container".into(),
            spec.containers[0].name.clone(),
        );
    }
    let mut add_labels = BTreeMap::new();
    add_labels.insert(
        annotations::SIDECAR_LABEL.to_owned(),
        annotations::SIDECAR_LABEL_VALUE.to_owned(),
    );

    let has_metadata = matches!(obj.get("metadata"), Some(Value::Object(_)));
    if !has_metadata {
        patch.push(PatchOp::add(
            "/metadata".into(),
            json!({"annotations": add_annotations, "labels": add_labels}),
        ));
        return;
    }
    for (field, current, adds) in [
        ("annotations", &meta.annotations, add_annotations),
        ("labels", &meta.labels, add_labels),
    ] {
        match current {
            None => patch.push(PatchOp::add(format!("/metadata/{field}"), json!(adds))),
            Some(_) => patch.extend(adds.into_iter().map(|(k, v)| {
                PatchOp::add(
                    format!("/metadata/{field}/{}", pointer_token(&k)),
                    Value::String(v),
                )
            })),
        }
    }
}

/// The `phimesh.io/status` value: what was added, deterministic (no time stamps) so that
/// `phimesh inject` output is stable.
fn status(options: &PodOptions) -> String {
    let (init, containers): (Vec<&str>, Vec<&str>) = match options.sidecar_mode {
        SidecarMode::Native => (vec![sidecar::INIT_NAME, sidecar::PROXY_NAME], vec![]),
        SidecarMode::Classic => (vec![sidecar::INIT_NAME], vec![sidecar::PROXY_NAME]),
    };
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "sidecarMode": options.sidecar_mode.as_str(),
        "initContainers": init,
        "containers": containers,
        "volumes": sidecar::VOLUMES,
    })
    .to_string()
}

fn app_containers(spec: &PodSpec) -> impl Iterator<Item = &Container> {
    spec.init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
}

fn check_conflicts(spec: &PodSpec) -> Result<(), Refusal> {
    for v in spec.volumes.iter().flatten() {
        if sidecar::VOLUMES.contains(&v.name.as_str()) {
            return Err(Refusal::Conflict(format!(
                "volume name {:?} is reserved",
                v.name
            )));
        }
    }
    for c in app_containers(spec) {
        // The injected volume would satisfy the mount: the app would hold the sidecar's token.
        for m in c.volume_mounts.iter().flatten() {
            if sidecar::VOLUMES.contains(&m.name.as_str()) {
                return Err(Refusal::Conflict(format!(
                    "container {:?} mounts volume {:?}, which is the sidecar's",
                    c.name, m.name
                )));
            }
        }
    }
    for c in app_containers(spec) {
        for p in c.ports.iter().flatten() {
            let port = p.container_port;
            if [OUTBOUND_PORT, INBOUND_PORT, ADMIN_PORT]
                .iter()
                .any(|&r| i32::from(r) == port)
            {
                return Err(Refusal::Conflict(format!(
                    "container {:?} listens on port {port}, which the proxy uses",
                    c.name
                )));
            }
        }
    }
    Ok(())
}

fn check_proxy_uid(spec: &PodSpec) -> Result<(), Refusal> {
    let pod_uid = spec.security_context.as_ref().and_then(|s| s.run_as_user);
    for c in app_containers(spec) {
        let uid = c
            .security_context
            .as_ref()
            .and_then(|s| s.run_as_user)
            .or(pod_uid);
        if uid == Some(PROXY_UID) {
            return Err(Refusal::ProxyUid(format!("container {:?}", c.name)));
        }
    }
    Ok(())
}

/// Warnings for `kubectl` to show. The API asks for at most 120 characters where possible and
/// truncates past 256; each of these stays under 256 with a 63-character container name.
fn warnings(spec: &PodSpec, options: &PodOptions) -> Vec<String> {
    let mut out = Vec::new();
    let finite = matches!(
        spec.restart_policy.as_deref(),
        Some("Never") | Some("OnFailure")
    );
    if options.sidecar_mode == SidecarMode::Classic {
        out.push(
            "phimesh: classic sidecar: the app may start before the proxy is ready; prefer native (Kubernetes >= 1.29)".into(),
        );
        if finite {
            out.push("phimesh: classic sidecar with restartPolicy Never/OnFailure: the pod (Job) never completes; use native".into());
        }
    }
    if options.inbound_mtls == InboundMtls::Strict {
        for c in &spec.containers {
            for (kind, probe) in [
                ("readinessProbe", &c.readiness_probe),
                ("livenessProbe", &c.liveness_probe),
                ("startupProbe", &c.startup_probe),
            ] {
                let Some(port) = probe.as_ref().and_then(|p| probe_port(p, c)) else {
                    continue;
                };
                if !options.exclude_inbound_ports.contains(&port) {
                    let name: String = c.name.chars().take(63).collect();
                    out.push(format!(
                        "phimesh: {name}: plaintext {kind} on port {port} is refused under strict inbound mTLS; use exec, permissive or exclude-inbound-ports"
                    ));
                }
            }
        }
    }
    out
}

/// The TCP port a network probe targets (named ports resolved against the container).
fn probe_port(p: &Probe, c: &Container) -> Option<u16> {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let port = if let Some(h) = &p.http_get {
        &h.port
    } else if let Some(t) = &p.tcp_socket {
        &t.port
    } else if let Some(g) = &p.grpc {
        return u16::try_from(g.port).ok();
    } else {
        return None;
    };
    match port {
        IntOrString::Int(n) => u16::try_from(*n).ok(),
        IntOrString::String(name) => c
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name))
            .and_then(|p| u16::try_from(p.container_port).ok()),
    }
}

/// A serde error without the quoted workload values it may echo (env values can be secrets).
fn redact(e: &serde_json::Error) -> String {
    let s = e.to_string();
    let mut out = String::with_capacity(s.len().min(200));
    let mut in_quote = false;
    for ch in s.chars() {
        match ch {
            '"' | '`' => {
                if !in_quote {
                    out.push_str("\"…");
                }
                in_quote = !in_quote;
                if !in_quote {
                    out.push('"');
                }
            }
            _ if in_quote => {}
            _ => out.push(ch),
        }
        if out.len() > 200 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> InjectorConfig {
        InjectorConfig::for_tests()
    }

    fn pod(spec: Value) -> Value {
        let spec = crate::test_pods::harden(spec);
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}, "spec": spec})
    }

    fn app() -> Value {
        json!({"containers": [{"name": "app", "image": "app:1"}]})
    }

    fn apply(obj: &Value, patch: &[PatchOp]) -> Value {
        let p: json_patch::Patch =
            serde_json::from_value(serde_json::to_value(patch).unwrap()).unwrap();
        let mut out = obj.clone();
        json_patch::patch(&mut out, &p).unwrap();
        out
    }

    fn injected(obj: &Value) -> Value {
        match plan(obj, None, &cfg(), Policy::OptIn).unwrap() {
            Outcome::Inject { patch, .. } => apply(obj, &patch),
            other => panic!("not injected: {other:?}"),
        }
    }

    #[test]
    fn native_order_is_init_proxy_then_app_init() {
        let mut spec = app();
        spec["initContainers"] = json!([{"name": "migrate", "image": "m"}]);
        let out = injected(&pod(spec));
        let names: Vec<_> = out["spec"]["initContainers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["phimesh-init", "phimesh-proxy", "migrate"]);
        assert_eq!(out["spec"]["containers"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn classic_puts_the_proxy_first_among_containers() {
        let mut p = pod(app());
        p["metadata"]["annotations"] = json!({"phimesh.io/sidecar-mode": "classic", "a/b~c": "x"});
        let out = injected(&p);
        assert_eq!(out["spec"]["containers"][0]["name"], "phimesh-proxy");
        assert_eq!(out["spec"]["containers"][1]["name"], "app");
        assert_eq!(out["spec"]["initContainers"].as_array().unwrap().len(), 1);
        assert_eq!(out["metadata"]["annotations"]["a/b~c"], "x");
        assert_eq!(
            out["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"],
            "app"
        );
    }

    #[test]
    fn template_without_metadata_gets_it() {
        let t = json!({"spec": app()});
        let out = injected(&t);
        assert_eq!(out["metadata"]["labels"]["phimesh.io/sidecar"], "injected");
        assert!(out["metadata"]["annotations"]["phimesh.io/status"].is_string());
    }

    #[test]
    fn existing_scrape_annotations_are_kept() {
        let mut p = pod(app());
        p["metadata"]["annotations"] =
            json!({"prometheus.io/scrape": "true", "prometheus.io/port": "8080"});
        let out = injected(&p);
        assert_eq!(out["metadata"]["annotations"]["prometheus.io/port"], "8080");
    }

    #[test]
    fn skips() {
        let c = cfg();
        let mut hn = app();
        hn["hostNetwork"] = json!(true);
        assert_eq!(
            plan(&pod(hn), None, &c, Policy::OptIn).unwrap(),
            Outcome::Skip(SkipReason::HostNetwork)
        );
        let mut win = app();
        win["os"] = json!({"name": "windows"});
        assert_eq!(
            plan(&pod(win), None, &c, Policy::OptIn).unwrap(),
            Outcome::Skip(SkipReason::Windows)
        );
        assert_eq!(
            plan(&pod(app()), Some("kube-system"), &c, Policy::OptIn).unwrap(),
            Outcome::Skip(SkipReason::SystemNamespace)
        );
        let mut out = pod(app());
        out["metadata"]["labels"] = json!({"phimesh.io/inject": "disabled"});
        assert_eq!(
            plan(&out, None, &c, Policy::OptIn).unwrap(),
            Outcome::Skip(SkipReason::OptedOut)
        );
        let again = injected(&pod(app()));
        assert_eq!(
            plan(&again, None, &c, Policy::OptIn).unwrap(),
            Outcome::Skip(SkipReason::AlreadyInjected)
        );
    }

    #[test]
    fn refusals() {
        let c = cfg();
        let mut uid = app();
        uid["securityContext"] = json!({"runAsUser": 1337});
        assert!(matches!(
            plan(&pod(uid), None, &c, Policy::OptIn),
            Err(Refusal::ProxyUid(_))
        ));
        let mut vol = app();
        vol["volumes"] = json!([{"name": "phimesh-token", "emptyDir": {}}]);
        assert!(matches!(
            plan(&pod(vol), None, &c, Policy::OptIn),
            Err(Refusal::Conflict(_))
        ));
        let port = json!({"containers": [{"name": "a", "ports": [{"containerPort": 15006}]}]});
        assert!(matches!(
            plan(&pod(port), None, &c, Policy::OptIn),
            Err(Refusal::Conflict(_))
        ));
        let mut bad = pod(app());
        bad["metadata"]["annotations"] = json!({"phimesh.io/mode": "loud"});
        assert!(matches!(
            plan(&bad, None, &c, Policy::OptIn),
            Err(Refusal::Annotation(_))
        ));
        assert!(matches!(
            plan(&json!({"metadata": {}}), None, &c, Policy::OptIn),
            Err(Refusal::Invalid(_))
        ));
        assert!(matches!(
            plan(&json!([1]), None, &c, Policy::OptIn),
            Err(Refusal::Invalid(_))
        ));
        assert!(matches!(
            plan(&pod(json!({"containers": []})), None, &c, Policy::OptIn),
            Err(Refusal::Invalid(_))
        ));
    }

    #[test]
    fn invalid_spec_error_does_not_echo_values() {
        let p = pod(
            json!({"containers": [{"name": "a", "env": [{"name": "K", "value": 5}]}], "hostNetwork": "s3cr3t-value"}),
        );
        let e = plan(&p, None, &cfg(), Policy::OptIn)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("s3cr3t"), "{e}");
    }

    #[test]
    fn probe_warnings_in_strict_mode_only() {
        let spec = json!({"containers": [{"name": "a", "image": "a",
            "ports": [{"name": "http", "containerPort": 8080}],
            "readinessProbe": {"httpGet": {"path": "/", "port": "http"}},
            "livenessProbe": {"exec": {"command": ["true"]}}}]});
        let Outcome::Inject { warnings, .. } =
            plan(&pod(spec.clone()), None, &cfg(), Policy::OptIn).unwrap()
        else {
            panic!()
        };
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("readinessProbe on port 8080"),
            "{warnings:?}"
        );
        let mut p = pod(spec);
        p["metadata"]["annotations"] = json!({"phimesh.io/exclude-inbound-ports": "8080"});
        let Outcome::Inject { warnings, .. } = plan(&p, None, &cfg(), Policy::OptIn).unwrap()
        else {
            panic!()
        };
        // No probe warning; the exclusion itself is warned about.
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].starts_with("phimesh: phimesh.io/exclude-inbound-ports: ports 8080 "));
    }

    #[test]
    fn classic_job_is_warned_twice() {
        let mut p =
            pod(json!({"restartPolicy": "Never", "containers": [{"name": "a", "image": "a"}]}));
        p["metadata"]["annotations"] = json!({"phimesh.io/sidecar-mode": "classic"});
        let Outcome::Inject { warnings, .. } = plan(&p, None, &cfg(), Policy::OptIn).unwrap()
        else {
            panic!()
        };
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[1].contains("never completes"));
    }

    fn containers_named(v: &Value, list: &str) -> Vec<String> {
        v["spec"][list]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn look_alikes_are_refused_not_skipped() {
        let c = cfg();
        let look_alike = |spec: Value| {
            let r = plan(&pod(spec.clone()), None, &c, Policy::OptIn);
            assert!(matches!(r, Err(Refusal::LookAlike(_))), "{spec}: {r:?}");
            r.unwrap_err().to_string()
        };
        let e = look_alike(
            json!({"containers": [{"name": "app"}, {"name": "phimesh-proxy", "image": "busybox"}]}),
        );
        assert!(e.contains("\"phimesh-proxy\""), "{e}");
        look_alike(
            json!({"initContainers": [{"name": "phimesh-init", "image": "busybox"}], "containers": [{"name": "app"}]}),
        );
        look_alike(json!({"containers": [{"name": "app"}, {"name": "Phimesh-Proxy"}]}));

        // The genuine sidecar with one field changed is a look-alike too.
        let genuine = injected(&pod(app()));
        type Tamper = fn(&mut Value);
        let tampers: [(&str, Tamper); 7] = [
            ("image", |p| {
                p["spec"]["initContainers"][1]["image"] = json!("busybox")
            }),
            ("command", |p| {
                p["spec"]["initContainers"][1]["command"] = json!(["sh"])
            }),
            ("CA env", |p| {
                p["spec"]["initContainers"][1]["env"][5]["value"] = json!("https://ca.evil:15012")
            }),
            ("init args", |p| {
                p["spec"]["initContainers"][0]["args"] =
                    json!(["init", "--proxy-uid", "1337", "--dry-run"])
            }),
            ("no label", |p| p["metadata"]["labels"] = json!({})),
            ("no status", |p| {
                p["metadata"]["annotations"]
                    .as_object_mut()
                    .unwrap()
                    .remove("phimesh.io/status")
                    .map(drop)
                    .unwrap()
            }),
            ("third container", |p| {
                p["spec"]["containers"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": "phimesh-extra"}))
            }),
        ];
        assert_eq!(
            genuine["spec"]["initContainers"][1]["env"][9]["name"],
            "PHIMESH_MODE"
        );
        for (what, tamper) in tampers {
            let mut p = genuine.clone();
            tamper(&mut p);
            let r = plan(&p, None, &c, Policy::OptIn);
            assert!(matches!(r, Err(Refusal::LookAlike(_))), "{what}: {r:?}");
        }
        // An annotation changed after injection no longer matches the sidecar it made.
        let mut p = genuine.clone();
        p["metadata"]["annotations"]["phimesh.io/exclude-outbound-ports"] = json!("443");
        assert!(matches!(
            plan(&p, None, &c, Policy::OptIn),
            Err(Refusal::LookAlike(_))
        ));
        // Mode and inbound mTLS may be either value (defaults change; the PHI path fixes them).
        let mut p = genuine.clone();
        p["spec"]["initContainers"][1]["env"][9]["value"] = json!("audit");
        p["spec"]["initContainers"][1]["env"][10]["value"] = json!("permissive");
        assert_eq!(
            plan(&p, None, &c, Policy::OptIn).unwrap(),
            Outcome::Skip(SkipReason::AlreadyInjected)
        );
        p["spec"]["initContainers"][1]["env"][9]["value"] = json!("off");
        assert!(matches!(
            plan(&p, None, &c, Policy::OptIn),
            Err(Refusal::LookAlike(_))
        ));

        // Marks of the sidecar on a pod that will not get one.
        for (labels, ann) in [
            (
                json!({"phimesh.io/inject": "disabled", "phimesh.io/sidecar": "injected"}),
                json!({}),
            ),
            (
                json!({}),
                json!({"phimesh.io/inject": "disabled", "phimesh.io/status": "{}"}),
            ),
        ] {
            let mut p = pod(app());
            p["metadata"]["labels"] = labels;
            p["metadata"]["annotations"] = ann;
            let r = plan(&p, None, &c, Policy::OptIn);
            assert!(matches!(r, Err(Refusal::LookAlike(_))), "{r:?}");
        }
        // ... but a pod that gets the sidecar may carry them: the injector sets them anyway.
        let mut p = pod(app());
        p["metadata"]["labels"] = json!({"phimesh.io/sidecar": "injected"});
        assert!(matches!(
            plan(&p, None, &c, Policy::OptIn),
            Ok(Outcome::Inject { .. })
        ));
    }

    #[test]
    fn genuine_classic_and_annotated_pods_stay_idempotent() {
        let c = cfg();
        let mut p = pod(app());
        p["metadata"]["annotations"] = json!({"phimesh.io/sidecar-mode": "classic",
            "phimesh.io/mode": "audit", "phimesh.io/exclude-outbound-cidrs": "10.1.0.0/16",
            "phimesh.io/exclude-outbound-ports": "5432", "phimesh.io/proxy-cpu": "1"});
        let once = injected(&p);
        assert_eq!(
            plan(&once, None, &c, Policy::OptIn).unwrap(),
            Outcome::Skip(SkipReason::AlreadyInjected)
        );
        // The API server's defaults on the stored pod do not matter.
        let mut stored = once.clone();
        stored["spec"]["containers"][0]["terminationMessagePath"] = json!("/dev/termination-log");
        stored["spec"]["containers"][0]["readinessProbe"]["successThreshold"] = json!(1);
        assert_eq!(
            plan(&stored, None, &c, Policy::OptIn).unwrap(),
            Outcome::Skip(SkipReason::AlreadyInjected)
        );
    }

    #[test]
    fn app_mounting_the_sidecars_volume_is_refused() {
        let spec = json!({"containers": [{"name": "a", "volumeMounts": [{"name": "phimesh-token", "mountPath": "/t"}]}]});
        for policy in [Policy::OptIn, Policy::Phi] {
            let r = plan(&pod(spec.clone()), None, &cfg(), policy);
            assert!(
                matches!(&r, Err(Refusal::Conflict(m)) if m.contains("phimesh-token")),
                "{r:?}"
            );
        }
    }

    #[test]
    fn opt_in_overrides_apply_with_warnings() {
        let mut p = pod(app());
        p["metadata"]["annotations"] = json!({"phimesh.io/mode": "audit",
            "phimesh.io/exclude-outbound-cidrs": "0.0.0.0/0,::/0"});
        let Outcome::Inject { patch, warnings } = plan(&p, None, &cfg(), Policy::OptIn).unwrap()
        else {
            panic!()
        };
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        let out = apply(&p, &patch);
        assert_eq!(
            out["spec"]["initContainers"][0]["args"][3],
            "--exclude-outbound-cidrs=0.0.0.0/0,::/0"
        );
        assert_eq!(
            out["spec"]["initContainers"][1]["env"][9],
            json!({"name": "PHIMESH_MODE", "value": "audit"})
        );
    }

    #[test]
    fn phi_injects_strictly_or_denies_with_every_reason() {
        let mut c = cfg();
        // The injector's own defaults do not loosen PHI pods either.
        c.mode = crate::config::Mode::Audit;
        c.inbound_mtls = InboundMtls::Permissive;
        c.phi.exclude_outbound_cidrs = vec!["169.254.169.254/32".into()];
        let mut p = pod(app());
        p["metadata"]["annotations"] = json!({"phimesh.io/exclude-outbound-cidrs": "169.254.169.254/32",
            "phimesh.io/allow-identities": "spiffe://cluster.local/ns/a/sa/b"});
        let Outcome::Inject { patch, warnings } = plan(&p, None, &c, Policy::Phi).unwrap() else {
            panic!()
        };
        assert!(warnings.is_empty(), "{warnings:?}");
        let out = apply(&p, &patch);
        assert_eq!(
            containers_named(&out, "initContainers"),
            ["phimesh-init", "phimesh-proxy"]
        );
        let env = &out["spec"]["initContainers"][1]["env"];
        assert!(env
            .as_array()
            .unwrap()
            .contains(&json!({"name": "PHIMESH_MODE", "value": "enforce"})));
        assert!(env
            .as_array()
            .unwrap()
            .contains(&json!({"name": "PHIMESH_INBOUND_MTLS", "value": "strict"})));
        assert_eq!(out["metadata"]["labels"]["phimesh.io/sidecar"], "injected");

        // Every problem at once, each named.
        let mut bad = pod(
            json!({"hostNetwork": true, "containers": [{"name": "app"}, {"name": "phimesh-proxy"}]}),
        );
        bad["metadata"]["labels"] = json!({"phimesh.io/sidecar": "injected"});
        bad["metadata"]["annotations"] = json!({"phimesh.io/inject": "disabled", "phimesh.io/mode": "audit",
            "phimesh.io/exclude-outbound-cidrs": "0.0.0.0/0"});
        let Err(Refusal::Phi(problems)) = plan(&bad, None, &c, Policy::Phi) else {
            panic!()
        };
        let all = problems.join("\n");
        for key in [
            "phimesh.io/inject (annotation)",
            "phimesh.io/sidecar (label)",
            "phimesh.io/mode:",
            "phimesh.io/exclude-outbound-cidrs: 0.0.0.0/0 not in",
            "container \"phimesh-proxy\"",
            "hostNetwork",
        ] {
            assert!(all.contains(key), "{key}: {all}");
        }
        assert_eq!(problems.len(), 6, "{all}");
        // The genuinely injected pod sent again is denied too on the PHI path (reinvocation is off).
        assert!(matches!(
            plan(&out, None, &c, Policy::Phi),
            Err(Refusal::Phi(_))
        ));
        // A value that does not parse keeps its own refusal; system namespaces are still skipped.
        let mut typo = pod(app());
        typo["metadata"]["annotations"] = json!({"phimesh.io/mode": "loud"});
        assert!(matches!(
            plan(&typo, None, &c, Policy::Phi),
            Err(Refusal::Annotation(_))
        ));
        assert_eq!(
            plan(&bad, Some("kube-system"), &c, Policy::Phi).unwrap(),
            Outcome::Skip(SkipReason::SystemNamespace)
        );
    }

    #[test]
    fn pointer_tokens() {
        assert_eq!(pointer_token("phimesh.io/status"), "phimesh.io~1status");
        assert_eq!(pointer_token("a~b"), "a~0b");
    }
}
