//! Tests of `deploy/`: every manifest parses into its `k8s-openapi` type *strictly* (serialising
//! the typed value gives back exactly the document, so a misspelt or misplaced field fails), the
//! kustomizations build with the real kustomize (`kubectl kustomize`), the result passes the
//! `kubernetes-validate` schema check, and the pieces agree with each other and with the binary
//! (webhook port and path, selectors, RBAC scope, Pod Security, NetworkPolicy ports, the
//! caBundle overlay made by `phimesh webhook gen-certs`).
//!
//! Needs `kubectl` (kustomize built in) and `python3 -m kubernetes_validate` (scripts/setup);
//! without them the tests fail and say so, rather than skip.

#[path = "support/k8s.rs"]
mod support_k8s;
use support_k8s::kubernetes_validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, PodSpec, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_phimesh");

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml") {
            out.push(p);
        }
    }
    out.sort();
}

fn docs(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| <Value as serde::Deserialize>::deserialize(d).unwrap())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

/// Deserialises into `T` and back; the result must equal the document.
fn strict<T: serde::de::DeserializeOwned + serde::Serialize>(doc: &Value, what: &str) -> T {
    let typed: T = serde_json::from_value(doc.clone())
        .unwrap_or_else(|e| panic!("{what}: does not deserialise: {e}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(
        &back, doc,
        "{what}: fields lost in the round trip (unknown or misplaced)"
    );
    typed
}

fn kustomize(dir: &Path) -> String {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl (with kustomize) must be installed to test deploy/");
    assert!(
        out.status.success(),
        "kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn validate(text: &str, version: &str) {
    let out = kubernetes_validate(text, version);
    assert!(
        out.status.success(),
        "kubernetes-validate {version} (installed by scripts/setup): {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The rendered base, by `Kind/name`.
fn base() -> BTreeMap<String, Value> {
    docs(&kustomize(&deploy()))
        .into_iter()
        .map(|d| {
            let key = format!(
                "{}/{}",
                d["kind"].as_str().unwrap(),
                d["metadata"]["name"].as_str().unwrap()
            );
            (key, d)
        })
        .collect()
}

#[test]
fn every_manifest_parses_strictly_into_its_type() {
    let mut files = Vec::new();
    yaml_files(&deploy(), &mut files);
    let mut kinds = BTreeMap::<String, usize>::new();
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        if name == "workloads.yaml" {
            continue; // input of `phimesh inject`, tested in tests/inject_cli.rs
        }
        let text = std::fs::read_to_string(f).unwrap();
        if name == "kustomization.yaml" {
            let k: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
            assert_eq!(k["kind"].as_str(), Some("Kustomization"), "{}", f.display());
            for r in k["resources"].as_sequence().unwrap() {
                let p = f.parent().unwrap().join(r.as_str().unwrap());
                assert!(
                    p.exists(),
                    "{}: resource {} missing",
                    f.display(),
                    p.display()
                );
            }
            continue;
        }
        for d in docs(&text) {
            let kind = d["kind"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: no kind", f.display()))
                .to_owned();
            let what = format!("{} {kind} {}", f.display(), d["metadata"]["name"]);
            match kind.as_str() {
                "Namespace" => drop(strict::<Namespace>(&d, &what)),
                "ServiceAccount" => drop(strict::<ServiceAccount>(&d, &what)),
                "ClusterRole" => drop(strict::<ClusterRole>(&d, &what)),
                "ClusterRoleBinding" => drop(strict::<ClusterRoleBinding>(&d, &what)),
                "Role" => drop(strict::<Role>(&d, &what)),
                "RoleBinding" => drop(strict::<RoleBinding>(&d, &what)),
                "Secret" => drop(strict::<Secret>(&d, &what)),
                "ConfigMap" => drop(strict::<ConfigMap>(&d, &what)),
                "Service" => drop(strict::<Service>(&d, &what)),
                "Deployment" => drop(strict::<Deployment>(&d, &what)),
                "PodDisruptionBudget" => drop(strict::<PodDisruptionBudget>(&d, &what)),
                "NetworkPolicy" => drop(strict::<NetworkPolicy>(&d, &what)),
                "MutatingWebhookConfiguration" => {
                    drop(strict::<MutatingWebhookConfiguration>(&d, &what))
                }
                "ValidatingAdmissionPolicy" => drop(strict::<ValidatingAdmissionPolicy>(&d, &what)),
                "ValidatingAdmissionPolicyBinding" => {
                    drop(strict::<ValidatingAdmissionPolicyBinding>(&d, &what))
                }
                "PodMonitor" => check_pod_monitor(&d, &what),
                other => panic!("{what}: no type checked for kind {other}"),
            }
            *kinds.entry(kind).or_default() += 1;
        }
    }
    for k in [
        "Namespace",
        "Deployment",
        "Service",
        "MutatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "NetworkPolicy",
        "Role",
        "ClusterRole",
        "PodMonitor",
    ] {
        assert!(kinds.contains_key(k), "no {k} under deploy/: {kinds:?}");
    }
}

/// PodMonitor is a Prometheus Operator CRD, not in k8s-openapi: check the fields it requires.
fn check_pod_monitor(d: &Value, what: &str) {
    assert_eq!(d["apiVersion"], "monitoring.coreos.com/v1", "{what}");
    assert!(d["metadata"]["name"].is_string(), "{what}");
    let spec = &d["spec"];
    let _: LabelSelector = serde_json::from_value(spec["selector"].clone()).unwrap();
    let eps = spec["podMetricsEndpoints"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no podMetricsEndpoints"));
    assert!(!eps.is_empty());
    for ep in eps {
        assert!(
            ep["port"].is_string(),
            "{what}: endpoint without a port name"
        );
        assert_eq!(ep["path"], "/metrics");
        let allowed = [
            "port",
            "path",
            "scheme",
            "interval",
            "tlsConfig",
            "relabelings",
        ];
        for k in ep.as_object().unwrap().keys() {
            assert!(
                allowed.contains(&k.as_str()),
                "{what}: unexpected endpoint field {k}"
            );
        }
    }
}

#[test]
fn kustomizations_build_and_pass_the_schema_validator() {
    let base = kustomize(&deploy());
    validate(&base, "1.33.0");
    let patients = kustomize(&deploy().join("examples/patients"));
    validate(&patients, "1.33.0");
    // The PHI-namespace policies land in the overlay's namespace.
    for d in docs(&patients) {
        if d["kind"] == "NetworkPolicy" {
            assert_eq!(d["metadata"]["namespace"], "patients");
        }
    }
    // Monitoring builds (CRDs are not in the validator's schemas; checked field by field above):
    // the two PodMonitors, and alerting/'s PrometheusRule and dashboard ConfigMap with them.
    let mut kinds: Vec<String> = docs(&kustomize(&deploy().join("monitoring")))
        .iter()
        .map(|d| d["kind"].as_str().unwrap_or_default().to_owned())
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        ["ConfigMap", "PodMonitor", "PodMonitor", "PrometheusRule"],
        "deploy/monitoring builds the scraping and the alerting"
    );

    // The validator is real: it rejects a misspelt field.
    let out = kubernetes_validate(
        "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {portz: []}\n",
        "1.33.0",
    );
    assert!(!out.status.success());
}

fn selector_matches(sel: &LabelSelector, labels: &BTreeMap<&str, &str>) -> bool {
    for (k, v) in sel.match_labels.iter().flatten() {
        if labels.get(k.as_str()) != Some(&v.as_str()) {
            return false;
        }
    }
    for e in sel.match_expressions.iter().flatten() {
        let have = labels.get(e.key.as_str());
        let values = e.values.clone().unwrap_or_default();
        let ok = match e.operator.as_str() {
            "In" => have.is_some_and(|h| values.iter().any(|v| v == h)),
            "NotIn" => !have.is_some_and(|h| values.iter().any(|v| v == h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            other => panic!("operator {other}"),
        };
        if !ok {
            return false;
        }
    }
    true
}

#[test]
fn the_webhook_configuration_selects_opted_in_pods_and_fails_closed() {
    let base = base();
    let mwc: MutatingWebhookConfiguration = strict(
        &base["MutatingWebhookConfiguration/phimesh-sidecar-injector"],
        "mwc",
    );
    let hooks = mwc.webhooks.unwrap();
    assert_eq!(
        hooks.len(),
        phimesh_inject::certs::WEBHOOKS,
        "gen-certs patches each"
    );
    for h in &hooks {
        assert_eq!(h.failure_policy.as_deref(), Some("Fail"), "{}", h.name);
        assert_eq!(h.side_effects, "None");
        assert_eq!(h.admission_review_versions, ["v1"]);
        assert_eq!(
            h.reinvocation_policy.as_deref(),
            Some("Never"),
            "{}",
            h.name
        );
        assert!(h.timeout_seconds.unwrap() <= 30);
        let svc = h.client_config.service.clone().unwrap();
        let path = if h.name.starts_with("phi.") {
            "/mutate/phi"
        } else {
            "/mutate"
        };
        assert_eq!(
            (
                svc.name.as_str(),
                svc.namespace.as_str(),
                svc.path.as_deref(),
                svc.port
            ),
            ("phimesh-webhook", "phimesh-system", Some(path), Some(443)),
            "{}",
            h.name
        );
        let rule = &h.rules.clone().unwrap()[0];
        assert_eq!(rule.operations.clone().unwrap(), ["CREATE"]);
        assert_eq!(rule.resources.clone().unwrap(), ["pods"]);
    }

    // Which (namespace labels, pod labels) reach the webhook: exactly one hook or none.
    let reached = |ns: &[(&str, &str)], pod: &[(&str, &str)]| -> Vec<String> {
        let ns: BTreeMap<_, _> = ns.iter().copied().collect();
        let pod: BTreeMap<_, _> = pod.iter().copied().collect();
        hooks
            .iter()
            .filter(|h| {
                selector_matches(h.namespace_selector.as_ref().unwrap(), &ns)
                    && h.object_selector
                        .as_ref()
                        .is_none_or(|s| selector_matches(s, &pod))
            })
            .map(|h| h.client_config.service.clone().unwrap().path.unwrap())
            .collect()
    };
    let calls = |ns: &[(&str, &str)], pod: &[(&str, &str)]| reached(ns, pod).len();
    let name = "kubernetes.io/metadata.name";
    let inj = "phimesh.io/inject";
    assert_eq!(
        calls(&[(name, "patients"), (inj, "enabled")], &[("app", "x")]),
        1,
        "opted-in namespace"
    );
    assert_eq!(
        calls(
            &[(name, "patients"), (inj, "enabled")],
            &[(inj, "disabled")]
        ),
        0,
        "pod opt-out"
    );
    assert_eq!(
        calls(&[(name, "web")], &[(inj, "enabled")]),
        1,
        "pod opt-in"
    );
    assert_eq!(calls(&[(name, "web")], &[("app", "x")]), 0, "neither");
    assert_eq!(
        calls(&[(name, "web"), (inj, "disabled")], &[(inj, "enabled")]),
        0,
        "namespace opt-out wins"
    );
    assert_eq!(
        calls(&[(name, "kube-system"), (inj, "enabled")], &[]),
        0,
        "kube-system"
    );
    assert_eq!(
        calls(&[(name, "phimesh-system")], &[(inj, "enabled")]),
        0,
        "phimesh-system"
    );

    // PHI namespaces: every pod goes to /mutate/phi, once, whatever its labels say; the
    // namespace's own opt-in label does not send it to /mutate as well.
    let phi = "phimesh.io/phi";
    for ns in [
        &[(name, "patients"), (phi, "true")][..],
        &[(name, "patients"), (phi, "true"), (inj, "enabled")],
        &[(name, "patients"), (phi, "true"), (inj, "disabled")],
    ] {
        for pod in [
            &[][..],
            &[("app", "x")],
            &[(inj, "disabled")],
            &[(inj, "enabled")],
            &[("phimesh.io/sidecar", "injected")],
        ] {
            assert_eq!(reached(ns, pod), ["/mutate/phi"], "{ns:?} {pod:?}");
        }
    }
    assert_eq!(
        calls(&[(name, "kube-system"), (phi, "true")], &[]),
        0,
        "a system namespace is never sent, even labelled PHI"
    );
    assert_eq!(
        reached(&[(name, "web"), (phi, "false"), (inj, "enabled")], &[]),
        ["/mutate"],
        "only phi=true is PHI"
    );

    // The ValidatingAdmissionPolicy covers exactly the namespaces of the PHI webhook.
    let vap: ValidatingAdmissionPolicy =
        strict(&base["ValidatingAdmissionPolicy/phimesh-phi-pods"], "vap");
    let phi_hook = hooks.iter().find(|h| h.name.starts_with("phi.")).unwrap();
    assert_eq!(
        vap.spec
            .unwrap()
            .match_constraints
            .unwrap()
            .namespace_selector,
        phi_hook.namespace_selector
    );
    assert!(
        phi_hook.object_selector.is_none(),
        "a PHI pod cannot opt out by label"
    );

    // Service 443 → container port https-webhook → 15017, where the webhook listens.
    let svc: Service = strict(&base["Service/phimesh-webhook"], "svc");
    let port = &svc.spec.unwrap().ports.unwrap()[0];
    assert_eq!(port.port, 443);
    assert_eq!(
        port.target_port,
        Some(IntOrString::String("https-webhook".into()))
    );
    let dep: Deployment = strict(&base["Deployment/phimesh-webhook"], "dep");
    let c = &dep.spec.unwrap().template.spec.unwrap().containers[0];
    assert_eq!(c.ports.clone().unwrap()[0].container_port, 15017);
    assert_eq!(
        c.ports.clone().unwrap()[0].name.as_deref(),
        Some("https-webhook")
    );
    assert!(c
        .args
        .clone()
        .unwrap()
        .contains(&"--listen=0.0.0.0:15017".to_owned()));
}

#[test]
fn gen_certs_overlay_fills_the_ca_bundle_and_the_secret() {
    let work = tempfile::tempdir().unwrap();
    let overlay = work.path().join("overlay");
    // A path relative to the overlay, as kustomize requires.
    let depth = overlay.components().count() - 1;
    let base = format!(
        "{}{}",
        "../".repeat(depth),
        deploy().strip_prefix("/").unwrap().display()
    );
    let out = Command::new(BIN)
        .args(["webhook", "gen-certs", "--out"])
        .arg(&overlay)
        .arg(format!("--kustomize-base={base}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rendered = docs(&kustomize(&overlay));
    let ca = std::fs::read(overlay.join("ca.crt")).unwrap();
    let mwc = rendered
        .iter()
        .find(|d| d["kind"] == "MutatingWebhookConfiguration")
        .unwrap();
    let mwc: MutatingWebhookConfiguration = strict(mwc, "mwc");
    for h in mwc.webhooks.unwrap() {
        assert_eq!(h.client_config.ca_bundle.unwrap().0, ca, "{}", h.name);
    }
    let secret = rendered
        .iter()
        .find(|d| d["kind"] == "Secret" && d["metadata"]["name"] == "phimesh-webhook-tls")
        .expect("the serving Secret");
    assert_eq!(secret["metadata"]["namespace"], "phimesh-system");
    assert_eq!(secret["type"], "kubernetes.io/tls");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(overlay.join("tls.key"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}

fn pod_spec(d: &Value) -> PodSpec {
    let dep: Deployment = strict(d, "deployment");
    dep.spec.unwrap().template.spec.unwrap()
}

#[test]
fn control_plane_is_least_privilege_and_pod_security_restricted() {
    let base = base();
    let ns: Namespace = strict(&base["Namespace/phimesh-system"], "ns");
    let labels = ns.metadata.labels.unwrap();
    assert_eq!(labels["pod-security.kubernetes.io/enforce"], "restricted");
    assert_eq!(labels["phimesh.io/inject"], "disabled");

    for name in ["Deployment/phimesh-ca", "Deployment/phimesh-webhook"] {
        let spec = pod_spec(&base[name]);
        let psc = spec.security_context.clone().unwrap();
        assert_eq!(psc.run_as_non_root, Some(true), "{name}");
        assert_eq!(
            psc.seccomp_profile.unwrap().type_,
            "RuntimeDefault",
            "{name}"
        );
        assert_ne!(spec.host_network, Some(true));
        for v in spec.volumes.iter().flatten() {
            assert!(v.host_path.is_none(), "{name}: hostPath");
            if let Some(s) = &v.secret {
                assert!(
                    s.default_mode.unwrap() <= 0o777,
                    "{name}: defaultMode read as decimal?"
                );
            }
        }
        for c in spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
        {
            let sc = c.security_context.clone().unwrap();
            assert_eq!(
                sc.allow_privilege_escalation,
                Some(false),
                "{name} {}",
                c.name
            );
            assert_eq!(
                sc.read_only_root_filesystem,
                Some(true),
                "{name} {}",
                c.name
            );
            let caps = sc.capabilities.unwrap();
            assert_eq!(caps.drop.unwrap(), ["ALL"]);
            assert!(caps.add.is_none());
            assert!(
                c.resources.as_ref().unwrap().limits.is_some(),
                "{name} {}: limits",
                c.name
            );
        }
    }
    // The webhook reads nothing from the API.
    assert_eq!(
        pod_spec(&base["Deployment/phimesh-webhook"]).automount_service_account_token,
        Some(false)
    );

    let ca = pod_spec(&base["Deployment/phimesh-ca"]);
    assert_eq!(ca.service_account_name.as_deref(), Some("phimesh-ca"));
}

/// One RBAC rule, flattened for comparison: (apiGroup, resource, resourceNames, verbs).
type Rule = (String, String, Vec<String>, Vec<String>);

fn rules_of(rules: Vec<k8s_openapi::api::rbac::v1::PolicyRule>) -> Vec<Rule> {
    let mut out = Vec::new();
    for r in rules {
        assert!(r.non_resource_urls.is_none());
        for g in r.api_groups.clone().unwrap() {
            for res in r.resources.clone().unwrap() {
                out.push((
                    g.clone(),
                    res,
                    r.resource_names.clone().unwrap_or_default(),
                    r.verbs.clone(),
                ));
            }
        }
    }
    out.sort();
    out
}

fn rule(group: &str, res: &str, names: &[&str], verbs: &[&str]) -> Rule {
    (
        group.into(),
        res.into(),
        names.iter().map(|s| s.to_string()).collect(),
        verbs.iter().map(|s| s.to_string()).collect(),
    )
}

#[test]
fn ca_rbac_is_exactly_what_the_kubernetes_backend_needs() {
    let base = base();
    // Every grant to the CA's service account, by binding.
    let mut cluster = Vec::new();
    let mut namespaced = Vec::new();
    for (key, doc) in &base {
        if key.starts_with("ClusterRoleBinding/") {
            let b: ClusterRoleBinding = strict(doc, key);
            if b.subjects.iter().flatten().any(|s| s.name == "phimesh-ca") {
                let cr: ClusterRole =
                    strict(&base[&format!("ClusterRole/{}", b.role_ref.name)], key);
                cluster.extend(rules_of(cr.rules.unwrap()));
            }
        }
        if key.starts_with("RoleBinding/") {
            let b: RoleBinding = strict(doc, key);
            if b.subjects.iter().flatten().any(|s| s.name == "phimesh-ca") {
                assert_eq!(
                    b.role_ref.kind, "Role",
                    "{key}: no ClusterRole in a RoleBinding"
                );
                let role: Role = strict(&base[&format!("Role/{}", b.role_ref.name)], key);
                assert_eq!(role.metadata.namespace.as_deref(), Some("phimesh-system"));
                namespaced.extend(rules_of(role.rules.unwrap()));
            }
        }
    }
    cluster.sort();
    namespaced.sort();
    let mut want_cluster = vec![
        rule("authentication.k8s.io", "tokenreviews", &[], &["create"]),
        rule("", "pods", &[], &["list", "watch"]),
        rule("", "configmaps", &[], &["create"]),
        rule(
            "",
            "configmaps",
            &["phimesh-trust-bundle"],
            &["get", "update"],
        ),
    ];
    want_cluster.sort();
    assert_eq!(cluster, want_cluster, "cluster-wide grants of phimesh-ca");
    let mut want_ns = vec![
        rule("", "secrets", &[], &["create"]),
        rule(
            "",
            "secrets",
            &["phimesh-ca-state"],
            &["get", "update", "list", "watch"],
        ),
        rule("coordination.k8s.io", "leases", &[], &["create"]),
        rule(
            "coordination.k8s.io",
            "leases",
            &["phimesh-ca"],
            &["get", "update"],
        ),
    ];
    want_ns.sort();
    assert_eq!(namespaced, want_ns, "phimesh-system grants of phimesh-ca");
    // The old trust-sync loop is gone.
    assert!(
        base.keys().all(|k| !k.contains("trust-sync")),
        "{:?}",
        base.keys()
    );
}

#[test]
fn ca_runs_replicated_on_the_kubernetes_backend_with_no_hand_made_state() {
    let base = base();
    let dep: Deployment = strict(&base["Deployment/phimesh-ca"], "ca");
    let spec = dep.spec.clone().unwrap();
    assert_eq!(spec.replicas, Some(2), "replicas elect a leader");
    let pod = spec.template.spec.unwrap();
    let c = &pod.containers[0];
    let args = c.args.clone().unwrap();
    assert!(
        args.contains(&"--state-backend=kubernetes".to_owned()),
        "{args:?}"
    );
    assert!(
        args.iter().all(|a| !a.starts_with("--state-dir")),
        "{args:?}"
    );
    // Lease holder = pod name, namespace = its own, both from the downward API.
    let env: BTreeMap<_, _> = c
        .env
        .clone()
        .unwrap()
        .into_iter()
        .map(|e| (e.name.clone(), e))
        .collect();
    let field = |n: &str| {
        env[n]
            .value_from
            .as_ref()
            .and_then(|v| v.field_ref.as_ref())
            .map(|f| f.field_path.clone())
    };
    assert_eq!(field("PHIMESH_POD_NAME").as_deref(), Some("metadata.name"));
    assert_eq!(
        field("PHIMESH_NAMESPACE").as_deref(),
        Some("metadata.namespace")
    );
    // No state volume: nothing to seed or copy by hand.
    for v in pod.volumes.iter().flatten() {
        assert!(
            v.empty_dir.is_none(),
            "{}: state belongs in the Secret",
            v.name
        );
        if let Some(s) = &v.secret {
            assert_ne!(s.secret_name.as_deref(), Some("phimesh-ca-state"));
        }
    }
    assert!(pod.init_containers.is_none());
    assert_ne!(
        pod.automount_service_account_token,
        Some(false),
        "the CA talks to the API"
    );
    let pdb: PodDisruptionBudget = strict(&base["PodDisruptionBudget/phimesh-ca"], "pdb");
    let pdb = pdb.spec.unwrap();
    assert_eq!(pdb.min_available, Some(IntOrString::Int(1)));
    assert_eq!(
        pdb.selector.unwrap().match_labels.unwrap()["app.kubernetes.io/name"],
        "phimesh-ca"
    );
}

fn policy_ports(p: &NetworkPolicy, ingress: bool) -> Vec<i32> {
    let spec = p.spec.clone().unwrap();
    let ports: Vec<_> = if ingress {
        spec.ingress
            .into_iter()
            .flatten()
            .flat_map(|r| r.ports.into_iter().flatten())
            .collect()
    } else {
        spec.egress
            .into_iter()
            .flatten()
            .flat_map(|r| r.ports.into_iter().flatten())
            .collect()
    };
    let mut out: Vec<i32> = ports
        .into_iter()
        .map(|p| match p.port {
            Some(IntOrString::Int(n)) => n,
            other => panic!("port {other:?}"),
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn network_policies_deny_by_default_and_allow_only_the_mesh() {
    let base = base();
    let deny: NetworkPolicy = strict(&base["NetworkPolicy/default-deny"], "deny");
    let spec = deny.spec.unwrap();
    assert_eq!(spec.pod_selector, Some(LabelSelector::default()));
    assert_eq!(spec.policy_types.unwrap(), ["Ingress", "Egress"]);
    assert!(spec.ingress.is_none() && spec.egress.is_none());

    let phi: BTreeMap<String, NetworkPolicy> =
        docs(&kustomize(&deploy().join("examples/patients")))
            .into_iter()
            .filter(|d| d["kind"] == "NetworkPolicy")
            .map(|d| {
                (
                    d["metadata"]["name"].as_str().unwrap().to_owned(),
                    strict(&d, "np"),
                )
            })
            .collect();
    let deny = phi["phimesh-default-deny"].spec.clone().unwrap();
    assert_eq!(deny.policy_types.unwrap(), ["Ingress", "Egress"]);
    assert!(deny.ingress.is_none() && deny.egress.is_none());
    // Ingress: the sidecar's inbound mTLS listener and admin port only; never an app port.
    assert_eq!(
        policy_ports(&phi["phimesh-allow-mesh-ingress"], true),
        [15006, 15020]
    );
    // Egress: peers' inbound listeners, the CA, DNS.
    assert_eq!(
        policy_ports(&phi["phimesh-allow-mesh-egress"], false),
        [53, 15006, 15012]
    );
}

#[test]
fn injector_configmap_values_are_valid_flags_and_monitoring_matches_the_sidecar() {
    let base = base();
    let cm: ConfigMap = strict(&base["ConfigMap/phimesh-injector"], "cm");
    let data = cm.data.unwrap();
    // `phimesh inject` reads the same PHIMESH_* variables as the webhook: with the ConfigMap as
    // its environment it must accept them all and inject the sample Pod.
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: a}]}\n";
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("pod.yaml");
    std::fs::write(&f, pod).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["inject", "-f"]).arg(&f);
    for (k, v) in &data {
        assert!(k.starts_with("PHIMESH_"), "{k}");
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!("value: \"{}\"", data["PHIMESH_MESH_NETWORKS"])),
        "{text}"
    );

    // The sidecar PodMonitor scrapes the port name and label the injector sets.
    let mon = docs(&kustomize(&deploy().join("monitoring")));
    let sidecars = mon
        .iter()
        .find(|d| d["metadata"]["name"] == "phimesh-sidecars")
        .unwrap();
    assert_eq!(
        sidecars["spec"]["podMetricsEndpoints"][0]["port"],
        "phimesh-admin"
    );
    assert_eq!(
        sidecars["spec"]["selector"]["matchLabels"]["phimesh.io/sidecar"],
        "injected"
    );
    assert!(
        text.contains("name: phimesh-admin") && text.contains("phimesh.io/sidecar: injected"),
        "{text}"
    );
}

#[test]
fn dockerfile_builds_a_small_non_root_image_of_the_binaries() {
    let d = std::fs::read_to_string(deploy().join("Dockerfile")).unwrap();
    // The shipped build: the `dist` profile (fat LTO, for the sidecar's memory).
    assert!(d.contains("cargo build --profile dist --locked --bin phimesh --bin phimesh-proxy"));
    assert!(d.contains("target/dist/phimesh "));
    // The sidecar-only binary, which `phimesh proxy` (the sidecar's args) hands over to.
    assert!(d.contains("target/dist/phimesh-proxy"));
    assert!(d.contains("COPY --from=build /phimesh-proxy /usr/local/bin/phimesh-proxy"));
    assert!(d.contains("ENV PHIMESH_PROXY_BINARY=/usr/local/bin/phimesh-proxy"));
    let manifest = std::fs::read_to_string(deploy().join("../Cargo.toml")).unwrap();
    let dist = manifest
        .split("[profile.dist]")
        .nth(1)
        .expect("Cargo.toml has [profile.dist]");
    assert!(dist.contains("inherits = \"release\"") && dist.contains("lto = \"fat\""));
    assert!(d.contains("FROM debian:bookworm-slim"));
    for pkg in ["libhyperscan5", "iptables"] {
        assert!(d.contains(pkg), "runtime package {pkg}");
    }
    let user = d
        .lines()
        .rev()
        .find(|l| l.starts_with("USER "))
        .expect("a USER line");
    assert!(!user.contains(" 0") && !user.contains("root"), "{user}");
    assert!(d.contains("ENTRYPOINT [\"/usr/local/bin/phimesh\"]"));
}

#[test]
fn container_args_are_flags_the_binary_accepts() {
    let base = base();
    for name in ["Deployment/phimesh-ca", "Deployment/phimesh-webhook"] {
        let spec = pod_spec(&base[name]);
        let args = spec.containers[0].args.clone().unwrap();
        let split = args.iter().position(|a| a.starts_with("--")).unwrap();
        let (sub, flags) = args.split_at(split);
        let help = Command::new(BIN).args(sub).arg("--help").output().unwrap();
        assert!(help.status.success(), "{name}: phimesh {sub:?} --help");
        let help = String::from_utf8_lossy(&help.stdout);
        for a in flags {
            let flag = a.split('=').next().unwrap();
            assert!(
                help.contains(&format!("{flag} ")) || help.contains(&format!("{flag} <")),
                "{name}: `phimesh {sub:?}` has no flag {flag}:\n{help}"
            );
        }
    }
}
