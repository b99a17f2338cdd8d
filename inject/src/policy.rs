//! Which `phimesh.io/...` overrides weaken protection, and what the webhook does about each in the
//! two kinds of namespaces it serves.
//!
//! * **Opt-in namespaces** (`POST /mutate`, [`Policy::OptIn`]): the workload owner's choice
//!   stands. Every override that weakens protection is still applied, and the AdmissionResponse
//!   carries a `warnings` entry for it (`kubectl` prints them), so nobody weakens the mesh
//!   without being told.
//! * **PHI namespaces** (`POST /mutate/phi`, [`Policy::Phi`]; namespaces labelled
//!   `phimesh.io/phi=true`, selected by the MutatingWebhookConfiguration, so the webhook needs no
//!   namespace look-up): a pod cannot switch phimesh off or weaken it. Each override below that
//!   would, and anything that looks like phimesh without being it, denies the pod, with one
//!   message per problem naming the annotation, label, container or volume (never a value that
//!   could carry data; exclusion entries are network configuration and are named, so the owner
//!   sees which one is not allowed). The proxy's mode is always `enforce` and inbound mTLS always
//!   `strict` there, whatever the injector's defaults say.
//!
//! | key (pod annotation unless said) | weakens? | opt-in | PHI |
//! | --- | --- | --- | --- |
//! | `phimesh.io/inject` label or annotation `disabled`/`false` | no mesh at all | skipped, warning | denied (any value but `enabled`) |
//! | `phimesh.io/mode: audit` | PHI forwarded, only logged | warning | denied |
//! | `phimesh.io/inbound-mtls: permissive` | plaintext callers from outside the mesh | warning | denied |
//! | `phimesh.io/exclude-outbound-cidrs` | traffic there skips the proxy | warning | denied unless every entry is in `--phi-allowed-exclude-outbound-cidrs` |
//! | `phimesh.io/exclude-outbound-ports` | traffic to those ports skips the proxy | warning | denied unless every port is in `--phi-allowed-exclude-outbound-ports` |
//! | `phimesh.io/exclude-inbound-ports` | those ports are reached in plaintext | warning | denied unless every port is in `--phi-allowed-exclude-inbound-ports` |
//! | `phimesh.io/allow-identities` | no: narrows the callers | — | allowed |
//! | `phimesh.io/sidecar-mode: classic` | no: the app may start first, but its traffic is redirected to a proxy not yet listening (fails closed) | warning (as before) | allowed, warning |
//! | `phimesh.io/proxy-cpu`, `-memory`, `-cpu-limit`, `-memory-limit` | no: a starved proxy fails closed | — | allowed |
//! | `phimesh.io/status`, label `phimesh.io/sidecar` | written only by the injector | kept on a genuinely injected pod; a pod that carries them and would not be injected is denied | denied |
//! | any other `phimesh.io/` annotation or label | not read by this injector | ignored | denied (reserved prefix) |
//!
//! Besides annotations, a PHI pod is denied when it has a container or init container whose name
//! starts with `phimesh` in any case ([`crate::sidecar::is_reserved_name`]), `hostNetwork` or a
//! Windows OS (it cannot be meshed), a volume holding a projected service-account token for
//! audience `phimesh-ca` (the mesh identity is the sidecar's alone), or an app container that is
//! privileged or adds `NET_ADMIN`/`SYS_ADMIN`/`ALL` (it could rewrite the redirect rules).
//! Everywhere, an app container that mounts one of the sidecar's volumes by name is refused
//! ([`crate::pod::Refusal::Conflict`]), and so is one running as UID 1337.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSecurityContext, PodSpec, SecurityContext};

use crate::annotations::{self, short, PodOptions};
use crate::config::{InboundMtls, InjectorConfig, Mode, PhiAllowList, TOKEN_AUDIENCE};
use crate::sidecar;

/// Which rules a review follows: the webhook path it came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// `POST /mutate`: namespaces and pods that opted in; overrides apply, with warnings.
    OptIn,
    /// `POST /mutate/phi`: namespaces labelled `phimesh.io/phi=true`; overrides that weaken
    /// protection deny the pod.
    Phi,
}

impl Policy {
    /// Audit-annotation and log word.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::OptIn => "opt-in",
            Policy::Phi => "phi",
        }
    }
}

/// Label of namespaces whose pods go to `POST /mutate/phi`.
pub const PHI_NAMESPACE_LABEL: &str = "phimesh.io/phi";

/// Capabilities that let a container rewrite the pod's iptables rules (or do anything).
const DANGEROUS_CAPS: [&str; 3] = ["NET_ADMIN", "SYS_ADMIN", "ALL"];

/// Most problems listed in one denial (each is one short sentence).
const MAX_PROBLEMS: usize = 12;

fn quoted(s: &str) -> String {
    format!("{:?}", short(s))
}

/// At most this many entries of a list, then `(+N more)`.
fn list<T: ToString>(items: &[T]) -> String {
    const SHOW: usize = 4;
    let mut s = items
        .iter()
        .take(SHOW)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    if items.len() > SHOW {
        s.push_str(&format!(" (+{} more)", items.len() - SHOW));
    }
    s
}

/// The app's init containers and containers.
fn app_containers(spec: &PodSpec) -> impl Iterator<Item = &Container> {
    spec.init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
}

fn all_container_names(spec: &PodSpec) -> Vec<&str> {
    app_containers(spec)
        .map(|c| c.name.as_str())
        .chain(
            spec.ephemeral_containers
                .iter()
                .flatten()
                .map(|c| c.name.as_str()),
        )
        .collect()
}

/// Why a container could rewrite the pod's redirect rules, if it could.
fn privileged(c: &Container) -> Option<String> {
    let sc = c.security_context.as_ref()?;
    if sc.privileged == Some(true) {
        return Some("is privileged".into());
    }
    let added = sc.capabilities.as_ref()?.add.as_ref()?;
    let cap = added.iter().find(|a| {
        let a = a.trim();
        let a = a
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("CAP_"))
            .map_or(a, |_| &a[4..]);
        DANGEROUS_CAPS.iter().any(|d| d.eq_ignore_ascii_case(a))
    })?;
    Some(format!("adds capability {}", quoted(cap)))
}

/// Capabilities an app container in a PHI namespace may add (binding a low port needs nothing
/// more).
const PHI_ALLOWED_CAPS: [&str; 1] = ["NET_BIND_SERVICE"];

/// Why an app container could leave the redirect or reach the sidecar's identity, if it could.
/// The redirect exempts the proxy's user (UID 1337): a process that runs as root, or can become
/// root through a setuid binary, can switch to that user; a packet socket (`NET_RAW` and the
/// like) skips iptables; the host's process, IPC or file namespaces reach other pods' tokens and
/// keys. So in a PHI namespace an app container runs as an explicit non-zero `runAsUser` (pod
/// or container level: the image's own user is not visible here), with
/// `allowPrivilegeEscalation: false`, adds
/// no capability but `NET_BIND_SERVICE`, keeps the default seccomp and `/proc` masking.
fn container_escape(
    c: Option<&SecurityContext>,
    pod: Option<&PodSecurityContext>,
) -> Vec<&'static str> {
    let mut out = Vec::new();
    // An explicit user: without one the image's own USER decides, and it may be root or the
    // proxy's 1337 (refused on its own when explicit), which admission cannot see.
    let user = c
        .and_then(|s| s.run_as_user)
        .or(pod.and_then(|p| p.run_as_user));
    match user {
        Some(0) => out.push("runs as root (set a non-zero runAsUser)"),
        None => out.push("sets no runAsUser: the image's own user may be root or the proxy's"),
        Some(_) => {}
    }
    if c.and_then(|s| s.allow_privilege_escalation) != Some(false) {
        out.push(
            "may gain privileges through setuid binaries (set allowPrivilegeEscalation: false)",
        );
    }
    let adds = c
        .and_then(|s| s.capabilities.as_ref())
        .and_then(|k| k.add.as_ref())
        .is_some_and(|add| {
            add.iter().any(|a| {
                let a = a.trim();
                let a = a
                    .get(..4)
                    .filter(|p| p.eq_ignore_ascii_case("CAP_"))
                    .map_or(a, |_| &a[4..]);
                // The ones that could rewrite the rules are reported as such (`privileged`).
                !PHI_ALLOWED_CAPS
                    .iter()
                    .chain(DANGEROUS_CAPS.iter())
                    .any(|k| k.eq_ignore_ascii_case(a))
            })
        });
    if adds {
        out.push("adds a capability other than NET_BIND_SERVICE");
    }
    let unconfined = |t: Option<&str>| t.is_some_and(|t| t.eq_ignore_ascii_case("Unconfined"));
    if unconfined(
        c.and_then(|s| s.seccomp_profile.as_ref())
            .map(|p| p.type_.as_str()),
    ) || unconfined(
        pod.and_then(|p| p.seccomp_profile.as_ref())
            .map(|p| p.type_.as_str()),
    ) {
        out.push("runs without seccomp (Unconfined)");
    }
    if c.and_then(|s| s.proc_mount.as_deref())
        .is_some_and(|m| m.eq_ignore_ascii_case("Unmasked"))
    {
        out.push("unmasks /proc");
    }
    out
}

/// What lets an app leave the mesh in a PHI namespace beyond its annotations: the host's
/// namespaces, a shared process namespace, hostPath volumes, and containers that could become the
/// proxy's user ([`container_escape`]).
fn escapes(spec: &PodSpec) -> Vec<String> {
    let mut out = Vec::new();
    let why = "the app could reach the sidecar's token and key, or other pods'";
    if spec.host_pid == Some(true) {
        out.push(format!("hostPID: {why}"));
    }
    if spec.host_ipc == Some(true) {
        out.push(format!("hostIPC: {why}"));
    }
    if spec.share_process_namespace == Some(true) {
        out.push(format!("shareProcessNamespace: {why} through /proc"));
    }
    for v in spec
        .volumes
        .iter()
        .flatten()
        .filter(|v| v.host_path.is_some())
    {
        out.push(format!(
            "volume {} is a hostPath: {why} on the node",
            quoted(&v.name)
        ));
    }
    let pod = spec.security_context.as_ref();
    let named = app_containers(spec)
        .map(|c| (c.name.as_str(), c.security_context.as_ref()))
        .chain(
            spec.ephemeral_containers
                .iter()
                .flatten()
                .map(|c| (c.name.as_str(), c.security_context.as_ref())),
        );
    for (name, sc) in named {
        for problem in container_escape(sc, pod) {
            out.push(format!(
                "container {} {problem}: it could leave the redirect as the proxy's user",
                quoted(name)
            ));
        }
    }
    out
}

/// Names of the pod's volumes that hold a projected service-account token for the CA's audience.
fn identity_volumes(spec: &PodSpec) -> Vec<&str> {
    spec.volumes
        .iter()
        .flatten()
        .filter(|v| {
            v.projected
                .as_ref()
                .and_then(|p| p.sources.as_ref())
                .is_some_and(|s| {
                    s.iter().any(|s| {
                        s.service_account_token
                            .as_ref()
                            .is_some_and(|t| t.audience.as_deref() == Some(TOKEN_AUDIENCE))
                    })
                })
        })
        .map(|v| v.name.as_str())
        .collect()
}

/// Everything that denies this pod in a PHI namespace; empty when it may be injected.
/// `options` are the pod's annotations already parsed (a value that does not parse is refused
/// before this, with its own message).
pub fn phi_violations(
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
    spec: &PodSpec,
    options: &PodOptions,
    allow: &PhiAllowList,
) -> Vec<String> {
    let mut out = Vec::new();
    for (what, map) in [("label", labels), ("annotation", annotations)] {
        if let Some(v) = map.get(annotations::INJECT) {
            if !v.trim().eq_ignore_ascii_case(annotations::ENABLED) {
                out.push(format!(
                    "{} ({what}): pods in a PHI namespace cannot opt out of the mesh; remove it",
                    annotations::INJECT
                ));
            }
        }
    }
    for key in labels.keys().filter(|k| k.starts_with(annotations::PREFIX)) {
        if key == annotations::SIDECAR_LABEL {
            out.push(format!(
                "{key} (label): only the injector sets it (network policies trust it); remove it"
            ));
        } else if key != annotations::INJECT {
            out.push(format!(
                "{} (label): phimesh.io/ labels are reserved for phimesh; remove it",
                quoted(key)
            ));
        }
    }
    for key in annotations
        .keys()
        .filter(|k| k.starts_with(annotations::PREFIX))
    {
        if key == annotations::STATUS {
            out.push(format!(
                "{key}: only the injector sets it; remove it (and any copied sidecar)"
            ));
        } else if !annotations::POD_ANNOTATIONS.contains(&key.as_str()) {
            out.push(format!(
                "{}: not an annotation phimesh reads (a typo?); phimesh.io/ keys are reserved",
                quoted(key)
            ));
        }
    }
    if annotations.contains_key(annotations::MODE) && options.mode == Mode::Audit {
        out.push(format!(
            "{}: audit is not allowed in a PHI namespace (PHI would be forwarded, not refused)",
            annotations::MODE
        ));
    }
    if annotations.contains_key(annotations::INBOUND_MTLS)
        && options.inbound_mtls == InboundMtls::Permissive
    {
        out.push(format!(
            "{}: permissive is not allowed in a PHI namespace (plaintext callers from outside the mesh)",
            annotations::INBOUND_MTLS
        ));
    }
    let not_allowed = |key: &str, flag: &str, entries: Vec<String>, out: &mut Vec<String>| {
        if !entries.is_empty() {
            out.push(format!(
                "{key}: {} not in the operator's allow-list ({flag}); in a PHI namespace traffic may not bypass the proxy",
                list(&entries)
            ));
        }
    };
    not_allowed(
        annotations::EXCLUDE_OUTBOUND_CIDRS,
        "--phi-allowed-exclude-outbound-cidrs",
        options
            .exclude_outbound_cidrs
            .iter()
            .filter(|c| !allow.exclude_outbound_cidrs.contains(c))
            .cloned()
            .collect(),
        &mut out,
    );
    not_allowed(
        annotations::EXCLUDE_OUTBOUND_PORTS,
        "--phi-allowed-exclude-outbound-ports",
        options
            .exclude_outbound_ports
            .iter()
            .filter(|p| !allow.exclude_outbound_ports.contains(p))
            .map(u16::to_string)
            .collect(),
        &mut out,
    );
    not_allowed(
        annotations::EXCLUDE_INBOUND_PORTS,
        "--phi-allowed-exclude-inbound-ports",
        options
            .exclude_inbound_ports
            .iter()
            .filter(|p| !allow.exclude_inbound_ports.contains(p))
            .map(u16::to_string)
            .collect(),
        &mut out,
    );
    for name in all_container_names(spec)
        .into_iter()
        .filter(|n| sidecar::is_reserved_name(n))
    {
        out.push(format!(
            "container {}: names starting with \"phimesh\" are reserved for the injected sidecar",
            quoted(name)
        ));
    }
    if spec.host_network == Some(true) {
        out.push("hostNetwork: a pod on the node's network cannot be meshed".into());
    }
    if spec.os.as_ref().is_some_and(|os| os.name == "windows") {
        out.push("os windows: Windows pods cannot be meshed (no iptables)".into());
    }
    for v in identity_volumes(spec) {
        out.push(format!(
            "volume {}: a service-account token for audience {TOKEN_AUDIENCE} is the sidecar's mesh identity; the app may not hold one",
            quoted(v)
        ));
    }
    for c in app_containers(spec) {
        if let Some(why) = privileged(c) {
            out.push(format!(
                "container {} {why}: it could rewrite the pod's redirect rules",
                quoted(&c.name)
            ));
        }
    }
    out.extend(escapes(spec));
    if out.len() > MAX_PROBLEMS {
        let more = out.len() - MAX_PROBLEMS;
        out.truncate(MAX_PROBLEMS);
        out.push(format!("and {more} more"));
    }
    out
}

/// One warning for each override that weakens protection in an opt-in namespace (the pod is still
/// injected as asked). Each stays under Kubernetes' 256-character truncation.
pub fn weakening_warnings(
    annotations: &BTreeMap<String, String>,
    spec: &PodSpec,
    options: &PodOptions,
) -> Vec<String> {
    let mut out = Vec::new();
    if annotations.contains_key(annotations::MODE) && options.mode == Mode::Audit {
        out.push(format!(
            "phimesh: {}=audit: PHI sent in plaintext is forwarded and only logged, not refused",
            annotations::MODE
        ));
    }
    if annotations.contains_key(annotations::INBOUND_MTLS)
        && options.inbound_mtls == InboundMtls::Permissive
    {
        out.push(format!(
            "phimesh: {}=permissive: plaintext callers from outside the mesh are accepted",
            annotations::INBOUND_MTLS
        ));
    }
    if !options.exclude_outbound_cidrs.is_empty() {
        out.push(format!(
            "phimesh: {}: traffic to {} bypasses the proxy uninspected",
            annotations::EXCLUDE_OUTBOUND_CIDRS,
            list(&options.exclude_outbound_cidrs)
        ));
    }
    if !options.exclude_outbound_ports.is_empty() {
        out.push(format!(
            "phimesh: {}: traffic to ports {} bypasses the proxy uninspected",
            annotations::EXCLUDE_OUTBOUND_PORTS,
            list(&options.exclude_outbound_ports)
        ));
    }
    if !options.exclude_inbound_ports.is_empty() {
        out.push(format!(
            "phimesh: {}: ports {} are reachable in plaintext, bypassing the proxy",
            annotations::EXCLUDE_INBOUND_PORTS,
            list(&options.exclude_inbound_ports)
        ));
    }
    for v in identity_volumes(spec) {
        out.push(format!(
            "phimesh: volume {} holds a {TOKEN_AUDIENCE} token: the app can take a mesh identity",
            quoted(v)
        ));
    }
    for c in app_containers(spec) {
        if let Some(why) = privileged(c) {
            out.push(format!(
                "phimesh: container {} {why}: it can rewrite the redirect rules",
                quoted(&c.name)
            ));
        }
    }
    out
}

/// The options a PHI pod gets: its own, with mode and inbound mTLS at their strict values
/// (a PHI pod may not pick others, and the injector's defaults do not apply there either).
pub fn phi_options(mut options: PodOptions) -> PodOptions {
    options.mode = Mode::Enforce;
    options.inbound_mtls = InboundMtls::Strict;
    options
}

/// Whether `cfg`'s defaults would be overridden for PHI pods (logged at start).
pub fn phi_overrides_defaults(cfg: &InjectorConfig) -> bool {
    cfg.mode != Mode::Enforce || cfg.inbound_mtls != InboundMtls::Strict
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn spec(v: serde_json::Value) -> PodSpec {
        serde_json::from_value(crate::test_pods::harden(v)).unwrap()
    }

    fn violations(labels: &[(&str, &str)], ann: &[(&str, &str)], s: PodSpec) -> Vec<String> {
        let a = map(ann);
        let cfg = InjectorConfig::for_tests();
        let o = PodOptions::from_annotations(&a, &cfg).unwrap();
        let allow = PhiAllowList {
            exclude_outbound_cidrs: vec!["169.254.169.254/32".into()],
            exclude_outbound_ports: vec![5432],
            exclude_inbound_ports: vec![9090],
        };
        phi_violations(&map(labels), &a, &s, &o, &allow)
    }

    fn app() -> PodSpec {
        spec(json!({"containers": [{"name": "app", "image": "app"}]}))
    }

    #[test]
    fn each_weakening_override_is_one_violation_naming_its_key() {
        for (labels, ann, key) in [
            (
                &[("phimesh.io/inject", "disabled")][..],
                &[][..],
                "phimesh.io/inject (label)",
            ),
            (
                &[],
                &[("phimesh.io/inject", "false")][..],
                "phimesh.io/inject (annotation)",
            ),
            (
                &[("phimesh.io/inject", "off")],
                &[],
                "phimesh.io/inject (label)",
            ),
            (
                &[("phimesh.io/sidecar", "injected")],
                &[],
                "phimesh.io/sidecar (label)",
            ),
            (
                &[("phimesh.io/other", "x")],
                &[],
                "\"phimesh.io/other\" (label)",
            ),
            (&[], &[("phimesh.io/status", "{}")], "phimesh.io/status"),
            (
                &[],
                &[("phimesh.io/exclude-outbound-port", "1")],
                "\"phimesh.io/exclude-outbound-port\"",
            ),
            (&[], &[("phimesh.io/mode", "audit")], "phimesh.io/mode"),
            (&[], &[("phimesh.io/mode", " AUDIT ")], "phimesh.io/mode"),
            (
                &[],
                &[("phimesh.io/inbound-mtls", "permissive")],
                "phimesh.io/inbound-mtls",
            ),
            (
                &[],
                &[("phimesh.io/exclude-outbound-cidrs", "0.0.0.0/0,::/0")],
                "phimesh.io/exclude-outbound-cidrs: 0.0.0.0/0,::/0 not in",
            ),
            (
                &[],
                &[(
                    "phimesh.io/exclude-outbound-cidrs",
                    "169.254.169.254/32,169.254.0.0/16",
                )],
                "phimesh.io/exclude-outbound-cidrs: 169.254.0.0/16 not in",
            ),
            (
                &[],
                &[("phimesh.io/exclude-outbound-ports", "5432,443")],
                "phimesh.io/exclude-outbound-ports: 443 not in",
            ),
            (
                &[],
                &[("phimesh.io/exclude-inbound-ports", "8080")],
                "phimesh.io/exclude-inbound-ports: 8080 not in",
            ),
        ] {
            let v = violations(labels, ann, app());
            assert_eq!(v.len(), 1, "{labels:?} {ann:?}: {v:?}");
            assert!(v[0].starts_with(key), "{key}: {v:?}");
        }
    }

    #[test]
    fn allowed_overrides_pass() {
        let v = violations(
            &[("phimesh.io/inject", "enabled"), ("app", "x")],
            &[
                ("phimesh.io/inject", "Enabled"),
                ("phimesh.io/mode", "enforce"),
                ("phimesh.io/inbound-mtls", "strict"),
                ("phimesh.io/sidecar-mode", "classic"),
                (
                    "phimesh.io/allow-identities",
                    "spiffe://cluster.local/ns/a/sa/b",
                ),
                ("phimesh.io/exclude-outbound-cidrs", "169.254.169.254/32"),
                ("phimesh.io/exclude-outbound-ports", "5432"),
                ("phimesh.io/exclude-inbound-ports", "9090"),
                ("phimesh.io/proxy-cpu", "1"),
                ("phimesh.io/proxy-memory", "1Gi"),
                ("phimesh.io/proxy-cpu-limit", "2"),
                ("phimesh.io/proxy-memory-limit", "2Gi"),
                ("prometheus.io/scrape", "true"),
            ],
            app(),
        );
        assert!(v.is_empty(), "{v:?}");
    }

    #[test]
    fn look_alikes_identity_and_privileges() {
        for (s, want) in [
            (
                json!({"containers": [{"name": "phimesh-proxy", "image": "busybox"}]}),
                "container \"phimesh-proxy\": names",
            ),
            (
                json!({"initContainers": [{"name": "phimesh-init", "image": "busybox"}], "containers": [{"name": "a"}]}),
                "container \"phimesh-init\"",
            ),
            (
                json!({"containers": [{"name": "PHIMESH-PROXY"}]}),
                "container \"PHIMESH-PROXY\"",
            ),
            (
                json!({"containers": [{"name": "a"}], "hostNetwork": true}),
                "hostNetwork",
            ),
            (
                json!({"containers": [{"name": "a"}], "os": {"name": "windows"}}),
                "os windows",
            ),
            (
                json!({"containers": [{"name": "a"}], "volumes": [{"name": "t", "projected": {"sources": [{"serviceAccountToken": {"audience": "phimesh-ca", "path": "t"}}]}}]}),
                "volume \"t\": a service-account token",
            ),
            (
                json!({"containers": [{"name": "a", "securityContext": {"privileged": true}}]}),
                "container \"a\" is privileged",
            ),
            (
                json!({"containers": [{"name": "a", "securityContext": {"capabilities": {"add": ["cap_net_admin"]}}}]}),
                "container \"a\" adds capability \"cap_net_admin\"",
            ),
            (
                json!({"initContainers": [{"name": "i", "securityContext": {"capabilities": {"add": ["ALL"]}}}], "containers": [{"name": "a"}]}),
                "container \"i\" adds",
            ),
        ] {
            let v = violations(&[], &[], spec(s.clone()));
            assert_eq!(v.len(), 1, "{s}: {v:?}");
            assert!(v[0].starts_with(want), "{want}: {v:?}");
        }
        // The default service-account token (no audience) and NET_BIND_SERVICE are fine
        // (NET_RAW is not: a packet socket skips iptables).
        let ok = spec(
            json!({"containers": [{"name": "a", "securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"]}}}],
            "volumes": [{"name": "kube-api-access", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}]}),
        );
        assert!(violations(&[], &[], ok).is_empty());
    }

    #[test]
    fn containers_that_could_become_the_proxys_user_are_denied() {
        let raw = |v: serde_json::Value| -> PodSpec { serde_json::from_value(v).unwrap() };
        let has = |s: PodSpec, needle: &str| {
            let v = violations(&[], &[], s);
            assert!(v.iter().any(|m| m.contains(needle)), "{needle}: {v:?}");
        };
        // Root, or no user at all (the image's own, even under runAsNonRoot).
        has(
            raw(
                json!({"containers": [{"name": "a", "securityContext": {"allowPrivilegeEscalation": false}}]}),
            ),
            "sets no runAsUser",
        );
        has(
            raw(
                json!({"securityContext": {"runAsNonRoot": true}, "containers": [{"name": "a", "securityContext": {"allowPrivilegeEscalation": false}}]}),
            ),
            "sets no runAsUser",
        );
        has(
            raw(
                json!({"securityContext": {"runAsUser": 1000}, "containers": [{"name": "a", "securityContext": {"runAsUser": 0, "allowPrivilegeEscalation": false}}]}),
            ),
            "runs as root",
        );
        has(
            raw(
                json!({"securityContext": {"runAsUser": 1000}, "initContainers": [{"name": "i"}], "containers": [{"name": "a", "securityContext": {"allowPrivilegeEscalation": false}}]}),
            ),
            "container \"i\" may gain privileges",
        );
        // Setuid binaries, capabilities, seccomp, /proc.
        has(
            raw(json!({"securityContext": {"runAsUser": 1000}, "containers": [{"name": "a"}]})),
            "may gain privileges",
        );
        for cap in ["NET_RAW", "SYS_MODULE", "BPF", "SYS_PTRACE", "SETUID"] {
            has(
                spec(
                    json!({"containers": [{"name": "a", "securityContext": {"capabilities": {"add": [cap]}}}]}),
                ),
                "adds a capability other than NET_BIND_SERVICE",
            );
        }
        has(
            spec(
                json!({"securityContext": {"runAsUser": 1000, "seccompProfile": {"type": "Unconfined"}}, "containers": [{"name": "a"}]}),
            ),
            "seccomp",
        );
        has(
            spec(
                json!({"containers": [{"name": "a", "securityContext": {"procMount": "Unmasked"}}]}),
            ),
            "unmasks /proc",
        );
        // The host's namespaces, a shared process namespace, hostPath, a debug container.
        for (field, needle) in [
            ("hostPID", "hostPID"),
            ("hostIPC", "hostIPC"),
            ("shareProcessNamespace", "shareProcessNamespace"),
        ] {
            let mut s = json!({"containers": [{"name": "a"}]});
            s[field] = json!(true);
            has(spec(s), needle);
        }
        has(
            spec(
                json!({"containers": [{"name": "a"}], "volumes": [{"name": "pods", "hostPath": {"path": "/var/lib/kubelet/pods"}}]}),
            ),
            "hostPath",
        );
        has(
            spec(
                json!({"containers": [{"name": "a"}], "ephemeralContainers": [{"name": "dbg", "image": "busybox"}]}),
            ),
            "container \"dbg\" may",
        );
        // A non-root, non-escalating container with NET_BIND_SERVICE passes.
        let ok = raw(
            json!({"securityContext": {"runAsUser": 1000}, "containers": [{"name": "a", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}}}]}),
        );
        assert!(violations(&[], &[], ok).is_empty());
    }

    #[test]
    fn many_problems_are_capped() {
        let names: Vec<_> = (0..40)
            .map(|i| json!({"name": format!("phimesh-{i}")}))
            .collect();
        let v = violations(&[], &[], spec(json!({"containers": names})));
        assert_eq!(v.len(), MAX_PROBLEMS + 1);
        assert_eq!(v.last().unwrap(), "and 28 more");
    }

    #[test]
    fn warnings_for_each_weakening_override() {
        let a = map(&[
            ("phimesh.io/mode", "audit"),
            ("phimesh.io/inbound-mtls", "permissive"),
            ("phimesh.io/exclude-outbound-cidrs", "0.0.0.0/0,::/0"),
            ("phimesh.io/exclude-outbound-ports", "443"),
            ("phimesh.io/exclude-inbound-ports", "1,2,3,4,5,6"),
        ]);
        let o = PodOptions::from_annotations(&a, &InjectorConfig::for_tests()).unwrap();
        let w = weakening_warnings(&a, &app(), &o);
        let keys = [
            "phimesh: phimesh.io/mode=audit",
            "phimesh: phimesh.io/inbound-mtls=permissive",
            "phimesh: phimesh.io/exclude-outbound-cidrs: traffic to 0.0.0.0/0,::/0 ",
            "phimesh: phimesh.io/exclude-outbound-ports: traffic to ports 443 ",
            "phimesh: phimesh.io/exclude-inbound-ports: ports 1,2,3,4 (+2 more) ",
        ];
        assert_eq!(w.len(), keys.len(), "{w:?}");
        for (w, k) in w.iter().zip(keys) {
            assert!(w.starts_with(k), "{k}: {w}");
            assert!(w.len() < 256);
        }
        let none = BTreeMap::new();
        let o = PodOptions::from_annotations(&none, &InjectorConfig::for_tests()).unwrap();
        assert!(weakening_warnings(&none, &app(), &o).is_empty());
    }
}
