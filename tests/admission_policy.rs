//! The PHI-namespace defences, end to end: the ValidatingAdmissionPolicy in
//! `deploy/admissionpolicy.yaml`, read from the file, parsed strictly into `k8s-openapi`'s types
//! and every CEL expression compiled and evaluated with the `cel` crate (core CEL plus cel-go's
//! strings extension, the library Kubernetes enables), the way the API server evaluates a policy:
//! variables in order under `variables.*`, then each validation, where `false` or an evaluation
//! error rejects (`failurePolicy: Fail`). Its parameters are the real `phimesh-injector`
//! ConfigMap from `deploy/webhook.yaml`.
//!
//! The pods are made by the real injector (`phimesh_inject::admission::review`, the webhook's code
//! path, its JSON patch applied with `json-patch`): what `POST /mutate/phi` injects must pass;
//! what it denies, and the same pods as `POST /mutate` injects them (with their weakening
//! overrides applied), must be rejected by the policy too, each with the validation's message,
//! as must tampered copies of a genuine pod and UPDATEs that would unmesh one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use cel::{Context, Env, Program};
use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};
use phimesh_inject::admission;
use phimesh_inject::config::{InjectorConfig, InjectorFlags};
use phimesh_inject::policy::Policy;
use serde_json::{json, Value};

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

fn docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| <Value as serde::Deserialize>::deserialize(d).unwrap())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

/// Deserialises into `T` and back; the result must equal the document (no unknown fields).
fn strict<T: serde::de::DeserializeOwned + serde::Serialize>(doc: &Value) -> T {
    let typed: T = serde_json::from_value(doc.clone()).unwrap();
    assert_eq!(&serde_json::to_value(&typed).unwrap(), doc, "fields lost");
    typed
}

/// One validation's verdict that rejects the pod.
#[derive(Debug, Clone, PartialEq)]
enum Reject {
    /// The expression was false: the message.
    False(String),
    /// The expression could not be evaluated (also a rejection, with failurePolicy Fail).
    Error(String, String),
}

struct Vap {
    env: Arc<Env>,
    variables: Vec<(String, Program)>,
    validations: Vec<(Program, String)>,
}

fn compile(env: &Env, expr: &str) -> Program {
    env.compile(expr)
        .unwrap_or_else(|e| panic!("does not compile: {e}\n{expr}"))
}

impl Vap {
    fn load() -> (
        Vap,
        ValidatingAdmissionPolicy,
        ValidatingAdmissionPolicyBinding,
    ) {
        let d = docs(&deploy().join("admissionpolicy.yaml"));
        assert_eq!(d.len(), 2);
        let policy: ValidatingAdmissionPolicy = strict(&d[0]);
        let binding: ValidatingAdmissionPolicyBinding = strict(&d[1]);
        let mut env = Env::stdlib();
        env.add_extension(cel::extensions::strings).unwrap();
        let spec = policy.spec.clone().unwrap();
        let variables = spec
            .variables
            .clone()
            .unwrap()
            .into_iter()
            .map(|v| (v.name, compile(&env, &v.expression)))
            .collect();
        let validations = spec
            .validations
            .clone()
            .unwrap()
            .into_iter()
            .map(|v| {
                let message = v.message.expect("every validation has a message");
                (compile(&env, &v.expression), message)
            })
            .collect();
        let vap = Vap {
            env: Arc::new(env),
            variables,
            validations,
        };
        (vap, policy, binding)
    }

    /// Every rejection of `object` (with `old` on UPDATE) under `params`.
    fn check(&self, params: &Value, object: &Value, old: Option<&Value>) -> Vec<Reject> {
        let operation = if old.is_some() { "UPDATE" } else { "CREATE" };
        let base = [
            ("object", object.clone()),
            ("oldObject", old.cloned().unwrap_or(Value::Null)),
            ("params", params.clone()),
            (
                "request",
                json!({"operation": operation, "namespace": "patients",
                       "kind": {"group": "", "version": "v1", "kind": "Pod"}}),
            ),
        ];
        let context = |vars: &HashMap<String, cel::Value>| {
            let mut ctx = Context::with_env(self.env.clone());
            for (k, v) in &base {
                ctx.add_variable_from_value(*k, cel::to_value(v).unwrap());
            }
            ctx.add_variable_from_value("variables", vars.clone());
            ctx
        };
        // Kubernetes evaluates variables lazily; one that fails to evaluate fails every
        // expression that reads it, which an unbound variable does here.
        let mut vars: HashMap<String, cel::Value> = HashMap::new();
        for (name, program) in &self.variables {
            if let Ok(v) = program.execute(&context(&vars)) {
                vars.insert(name.clone(), v);
            }
        }
        let ctx = context(&vars);
        let mut out = Vec::new();
        for (program, message) in &self.validations {
            match program.execute(&ctx) {
                Ok(cel::Value::Bool(true)) => {}
                Ok(cel::Value::Bool(false)) => out.push(Reject::False(message.clone())),
                Ok(other) => out.push(Reject::Error(message.clone(), format!("{other:?}"))),
                Err(e) => out.push(Reject::Error(message.clone(), e.to_string())),
            }
        }
        out
    }
}

/// The `phimesh-injector` ConfigMap from `deploy/webhook.yaml`, with `data` entries changed.
fn params(set: &[(&str, &str)]) -> Value {
    let mut cm = docs(&deploy().join("webhook.yaml"))
        .into_iter()
        .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == "phimesh-injector")
        .expect("ConfigMap phimesh-injector");
    for (k, v) in set {
        assert!(cm["data"].get(*k).is_some(), "{k} is not in the ConfigMap");
        cm["data"][*k] = json!(v);
    }
    cm
}

const ALLOW: [(&str, &str); 3] = [
    (
        "PHIMESH_PHI_ALLOWED_EXCLUDE_OUTBOUND_CIDRS",
        "169.254.169.254/32, fd00:ec2::254/128",
    ),
    ("PHIMESH_PHI_ALLOWED_EXCLUDE_OUTBOUND_PORTS", "5432"),
    ("PHIMESH_PHI_ALLOWED_EXCLUDE_INBOUND_PORTS", "9090"),
];

/// The injector configured from the same ConfigMap, as the webhook's environment would be.
fn injector(params: &Value) -> InjectorConfig {
    let d = &params["data"];
    let s = |k: &str| d[k].as_str().unwrap().to_owned();
    let mut f = InjectorFlags::defaults_with_mesh(&s("PHIMESH_MESH_NETWORKS"));
    f.image = s("PHIMESH_IMAGE");
    f.phi_allowed_exclude_outbound_cidrs = s("PHIMESH_PHI_ALLOWED_EXCLUDE_OUTBOUND_CIDRS");
    f.phi_allowed_exclude_outbound_ports = s("PHIMESH_PHI_ALLOWED_EXCLUDE_OUTBOUND_PORTS");
    f.phi_allowed_exclude_inbound_ports = s("PHIMESH_PHI_ALLOWED_EXCLUDE_INBOUND_PORTS");
    f.into_config().unwrap()
}

fn app_pod(annotations: Value, labels: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": "records-6d8f7b9c4-", "namespace": "patients",
                     "labels": labels, "annotations": annotations},
        "spec": {
            "serviceAccountName": "records",
            // What a PHI namespace asks of app containers: non-root, no privilege escalation.
            "securityContext": {"runAsUser": 1000, "runAsNonRoot": true},
            "initContainers": [{"name": "migrate", "image": "registry.example/migrate:1",
                                "securityContext": {"allowPrivilegeEscalation": false}}],
            "containers": [{"name": "records", "image": "registry.example/records:1",
                            "securityContext": {"allowPrivilegeEscalation": false},
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}]}],
            "volumes": [{"name": "kube-api-access", "projected": {"sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]}}]
        }
    })
}

fn review(pod: &Value) -> Value {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
           "request": {"uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                       "resource": {"group": "", "version": "v1", "resource": "pods"},
                       "namespace": "patients", "operation": "CREATE", "userInfo": {},
                       "object": pod}})
}

/// What the webhook answers on `policy`'s path: the response, and the pod with its patch applied.
fn webhook(pod: &Value, cfg: &InjectorConfig, policy: Policy) -> (Value, Value) {
    let v = admission::review(review(pod).to_string().as_bytes(), cfg, policy);
    let r: Value = serde_json::from_slice(&v.body).unwrap();
    let response = r["response"].clone();
    let mut out = pod.clone();
    if let Some(p) = response["patch"].as_str() {
        let raw = base64::engine::general_purpose::STANDARD.decode(p).unwrap();
        let patch: json_patch::Patch = serde_json::from_slice(&raw).unwrap();
        json_patch::patch(&mut out, &patch).unwrap();
    }
    (response, out)
}

/// The pod as `POST /mutate/phi` injects it (it must be allowed).
fn phi_injected(pod: &Value, cfg: &InjectorConfig) -> Value {
    let (r, out) = webhook(pod, cfg, Policy::Phi);
    assert_eq!(r["allowed"], true, "{r}");
    assert!(r["patch"].is_string());
    out
}

fn assert_rejected(
    vap: &Vap,
    params: &Value,
    what: &str,
    pod: &Value,
    old: Option<&Value>,
    want: &str,
) {
    let rejects = vap.check(params, pod, old);
    assert!(
        rejects
            .iter()
            .any(|r| matches!(r, Reject::False(m) if m.contains(want))),
        "{what}: expected a rejection containing {want:?}, got {rejects:#?}"
    );
}

const INIT_STEP: &str = "lacks phimesh's init step";
const INIT_GENUINE: &str = "phimesh-init is not the genuine init step";
const SIDECAR: &str = "lacks phimesh's sidecar";
const PROXY_GENUINE: &str = "phimesh-proxy is not the genuine sidecar";
const NAMES: &str = "names starting with \"phimesh\" are reserved";
const UID: &str = "runs as UID 1337";
const PRIVILEGED: &str = "is privileged or adds NET_ADMIN";
const IDENTITY: &str = "only phimesh-proxy may mount the mesh identity";
const EPHEMERAL: &str = "an ephemeral (debug) container";
const HOST: &str = "hostNetwork";
const TRUST: &str = "phimesh-proxy's trust is not the operator's";
const NON_ROOT: &str = "app containers run as an explicit non-root runAsUser";
const HOST_NS: &str = "hostPID, hostIPC, shareProcessNamespace and hostPath";
const OPT_OUT: &str = "phimesh.io/inject: pods cannot opt out";
const MODE: &str = "phimesh.io/mode: only enforce";
const MTLS: &str = "phimesh.io/inbound-mtls: only strict";
const CIDRS: &str = "phimesh.io/exclude-outbound-cidrs: an entry is not in";
const OUT_PORTS: &str = "phimesh.io/exclude-outbound-ports: a port is not in";
const IN_PORTS: &str = "phimesh.io/exclude-inbound-ports: a port is not in";
const RESERVED: &str = "a phimesh.io/ label or annotation that phimesh does not read";

#[test]
fn the_policy_selects_phi_namespaces_and_reads_the_injectors_configmap() {
    let (vap, policy, binding) = Vap::load();
    let spec = policy.spec.unwrap();
    assert_eq!(spec.failure_policy.as_deref(), Some("Fail"));
    let pk = spec.param_kind.unwrap();
    assert_eq!(
        (pk.api_version.as_deref(), pk.kind.as_deref()),
        (Some("v1"), Some("ConfigMap"))
    );
    let mc = spec.match_constraints.unwrap();
    let ns = mc.namespace_selector.unwrap().match_expressions.unwrap();
    assert_eq!(ns[0].key, "phimesh.io/phi");
    assert_eq!(ns[0].operator, "In");
    assert_eq!(ns[0].values.as_deref(), Some(&["true".to_owned()][..]));
    let rules = mc.resource_rules.unwrap();
    assert_eq!(
        rules[0].resources.as_deref(),
        Some(&["pods".to_owned(), "pods/ephemeralcontainers".to_owned()][..])
    );
    assert_eq!(
        rules[0].operations.as_deref(),
        Some(&["CREATE".to_owned(), "UPDATE".to_owned()][..])
    );
    let b = binding.spec.unwrap();
    assert_eq!(b.policy_name, policy.metadata.name);
    assert_eq!(b.validation_actions.unwrap(), ["Deny"]);
    let p = b.param_ref.unwrap();
    assert_eq!(
        (
            p.name.as_deref(),
            p.namespace.as_deref(),
            p.parameter_not_found_action.as_deref()
        ),
        (
            Some("phimesh-injector"),
            Some("phimesh-system"),
            Some("Deny")
        )
    );
    // The ConfigMap it names is the webhook's, and holds every key the policy reads.
    let cm = params(&[]);
    for key in [
        "PHIMESH_IMAGE",
        "PHIMESH_PHI_ALLOWED_EXCLUDE_OUTBOUND_CIDRS",
        "PHIMESH_PHI_ALLOWED_EXCLUDE_OUTBOUND_PORTS",
        "PHIMESH_PHI_ALLOWED_EXCLUDE_INBOUND_PORTS",
    ] {
        assert!(cm["data"][key].is_string(), "{key}");
    }
    assert!(vap.validations.len() >= 15);
}

#[test]
fn pods_injected_on_the_phi_path_pass() {
    let (vap, ..) = Vap::load();
    let params = params(&ALLOW);
    let cfg = injector(&params);
    let plain = app_pod(json!({}), json!({"app": "records"}));
    let mut cases = vec![("plain", plain.clone())];
    cases.push((
        "allowed exclusions and overrides",
        app_pod(
            json!({"phimesh.io/exclude-outbound-cidrs": "169.254.169.254/32,fd00:ec2::254/128",
                   "phimesh.io/exclude-outbound-ports": "5432",
                   "phimesh.io/exclude-inbound-ports": "9090",
                   "phimesh.io/mode": "Enforce", "phimesh.io/inbound-mtls": "strict",
                   "phimesh.io/inject": "enabled",
                   "phimesh.io/allow-identities": "spiffe://cluster.local/ns/web/sa/web",
                   "phimesh.io/proxy-memory-limit": "2Gi"}),
            json!({"app": "records", "phimesh.io/inject": "enabled"}),
        ),
    ));
    cases.push((
        "classic",
        app_pod(json!({"phimesh.io/sidecar-mode": "classic"}), json!({})),
    ));
    let mut uid = plain.clone();
    uid["spec"]["securityContext"] = json!({"runAsUser": 1000, "runAsNonRoot": true});
    cases.push(("pod-level UID", uid));
    for (what, pod) in cases {
        let out = phi_injected(&pod, &cfg);
        let rejects = vap.check(&params, &out, None);
        assert!(rejects.is_empty(), "{what}: {rejects:#?}");
        // Read back from the API server with defaults filled in: still fine.
        let mut stored = out.clone();
        stored["spec"]["containers"][0]["terminationMessagePath"] = json!("/dev/termination-log");
        stored["spec"]["initContainers"][0]["imagePullPolicy"] = json!("IfNotPresent");
        assert!(vap.check(&params, &stored, None).is_empty(), "{what}");
    }

    // UPDATEs that leave phimesh alone pass, also for a pod admitted before the namespace became
    // PHI (documented: such pods are re-checked only when recreated).
    let meshed = phi_injected(&plain, &cfg);
    let mut relabelled = meshed.clone();
    relabelled["metadata"]["labels"]["team"] = json!("records");
    assert!(vap.check(&params, &relabelled, Some(&meshed)).is_empty());
    let mut legacy = plain.clone();
    legacy["metadata"]["labels"]["team"] = json!("records");
    assert!(vap.check(&params, &legacy, Some(&plain)).is_empty());
    // A harmless debug container on a meshed pod: non-root, no privilege escalation.
    let mut debug = meshed.clone();
    debug["spec"]["ephemeralContainers"] = json!([{"name": "debugger-x7", "image": "busybox",
        "targetContainerName": "records",
        "securityContext": {"runAsUser": 1000, "allowPrivilegeEscalation": false}}]);
    assert!(vap.check(&params, &debug, Some(&meshed)).is_empty());
}

/// The bypasses that were probed from outside, each through both webhook paths and the policy.
#[test]
fn each_bypass_is_denied_on_phi_warned_on_opt_in_and_rejected_by_the_policy() {
    let (vap, ..) = Vap::load();
    let params = params(&ALLOW);
    let cfg = injector(&params);
    let busybox = |list: &str, name: &str| {
        let mut p = app_pod(json!({}), json!({}));
        p["spec"][list]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": name, "image": "busybox", "command": ["sleep", "1d"]}));
        p
    };
    // (pod, PHI denial names, opt-in: injected with this warning / refused, policy rejection)
    let cases: Vec<(&str, Value, &str, Option<&str>, &str)> =
        vec![
        (
            "exclude everything",
            app_pod(json!({"phimesh.io/exclude-outbound-cidrs": "0.0.0.0/0,::/0"}), json!({})),
            "phimesh.io/exclude-outbound-cidrs: 0.0.0.0/0,::/0 not in the operator's allow-list",
            Some("phimesh: phimesh.io/exclude-outbound-cidrs: traffic to 0.0.0.0/0,::/0 bypasses"),
            INIT_GENUINE,
        ),
        (
            "exclude a port",
            app_pod(json!({"phimesh.io/exclude-outbound-ports": "443"}), json!({})),
            "phimesh.io/exclude-outbound-ports: 443 not in",
            Some("phimesh: phimesh.io/exclude-outbound-ports: traffic to ports 443 bypasses"),
            INIT_GENUINE,
        ),
        (
            "exclude an inbound port",
            app_pod(json!({"phimesh.io/exclude-inbound-ports": "8080"}), json!({})),
            "phimesh.io/exclude-inbound-ports: 8080 not in",
            Some("phimesh: phimesh.io/exclude-inbound-ports: ports 8080 are reachable"),
            INIT_GENUINE,
        ),
        (
            "audit mode",
            app_pod(json!({"phimesh.io/mode": "audit"}), json!({})),
            "phimesh.io/mode: audit is not allowed",
            Some("phimesh: phimesh.io/mode=audit"),
            PROXY_GENUINE,
        ),
        (
            "permissive inbound",
            app_pod(json!({"phimesh.io/inbound-mtls": "permissive"}), json!({})),
            "phimesh.io/inbound-mtls: permissive is not allowed",
            Some("phimesh: phimesh.io/inbound-mtls=permissive"),
            PROXY_GENUINE,
        ),
        (
            "opt out by annotation",
            app_pod(json!({"phimesh.io/inject": "disabled"}), json!({})),
            "phimesh.io/inject (annotation): pods in a PHI namespace cannot opt out",
            Some("phimesh: phimesh.io/inject=disabled: this pod runs without the phimesh sidecar"),
            INIT_STEP,
        ),
        (
            "a busybox phimesh-proxy",
            busybox("containers", "phimesh-proxy"),
            "container \"phimesh-proxy\": names starting with \"phimesh\" are reserved",
            None,
            INIT_STEP,
        ),
        (
            "a busybox phimesh-init",
            busybox("initContainers", "phimesh-init"),
            "container \"phimesh-init\": names starting with \"phimesh\" are reserved",
            None,
            INIT_GENUINE,
        ),
    ];
    for (what, pod, denial, opt_in, rejection) in cases {
        // POST /mutate/phi: denied, with the reason.
        let (r, _) = webhook(&pod, &cfg, Policy::Phi);
        assert_eq!(r["allowed"], false, "{what}: {r}");
        assert_eq!(r["status"]["code"], 403, "{what}");
        let msg = r["status"]["message"].as_str().unwrap();
        assert!(msg.contains(denial), "{what}: {msg}");

        // POST /mutate: the override applies, with a warning; a look-alike is refused.
        let (r, out) = webhook(&pod, &cfg, Policy::OptIn);
        match opt_in {
            Some(warning) => {
                assert_eq!(r["allowed"], true, "{what}: {r}");
                let warnings: Vec<&str> = r["warnings"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{what}: no warnings: {r}"))
                    .iter()
                    .map(|w| w.as_str().unwrap())
                    .collect();
                assert!(
                    warnings.iter().any(|w| w.starts_with(warning)),
                    "{what}: {warnings:?}"
                );
            }
            None => {
                assert_eq!(r["allowed"], false, "{what}: {r}");
                assert!(
                    r["status"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("looks injected but is not"),
                    "{what}: {r}"
                );
            }
        }

        // The policy: the pod as /mutate would have admitted it is rejected in a PHI namespace
        // (as is the unmutated pod, if no webhook ran at all).
        assert_rejected(&vap, &params, what, &out, None, rejection);
        assert_rejected(&vap, &params, what, &pod, None, INIT_STEP);
    }
}

#[test]
fn tampered_copies_of_a_genuine_pod_are_rejected() {
    let (vap, ..) = Vap::load();
    let params = params(&ALLOW);
    let cfg = injector(&params);
    let genuine = phi_injected(&app_pod(json!({}), json!({"app": "records"})), &cfg);
    let classic = phi_injected(
        &app_pod(json!({"phimesh.io/sidecar-mode": "classic"}), json!({})),
        &cfg,
    );
    assert!(vap.check(&params, &genuine, None).is_empty());
    // initContainers: [phimesh-init, phimesh-proxy, migrate]; containers: [records].
    type Tamper = Box<dyn Fn(&mut Value)>;
    // Sets (or adds) the member at `ptr`.
    let set = |ptr: &'static str, v: Value| -> Tamper {
        Box::new(move |p: &mut Value| {
            let (parent, last) = ptr.rsplit_once('/').unwrap();
            let parent = p.pointer_mut(parent).unwrap();
            match parent {
                Value::Array(a) => a[last.parse::<usize>().unwrap()] = v.clone(),
                Value::Object(o) => {
                    o.insert(last.replace("~1", "/").replace("~0", "~"), v.clone());
                }
                other => panic!("{ptr}: {other}"),
            }
        })
    };
    let push = |ptr: &'static str, v: Value| -> Tamper {
        Box::new(move |p: &mut Value| {
            p.pointer_mut(ptr)
                .unwrap()
                .as_array_mut()
                .unwrap()
                .push(v.clone())
        })
    };
    let cases: Vec<(&str, Tamper, &str)> = vec![
        (
            "init image",
            set("/spec/initContainers/0/image", json!("busybox")),
            INIT_GENUINE,
        ),
        (
            "init command",
            set("/spec/initContainers/0/command", json!(["true"])),
            INIT_GENUINE,
        ),
        (
            "init env",
            set(
                "/spec/initContainers/0/env",
                json!([{"name": "PHIMESH_DRY_RUN", "value": "true"}]),
            ),
            INIT_GENUINE,
        ),
        (
            "init envFrom",
            set(
                "/spec/initContainers/0/envFrom",
                json!([{"configMapRef": {"name": "x"}}]),
            ),
            INIT_GENUINE,
        ),
        (
            "init dry run",
            push("/spec/initContainers/0/args", json!("--dry-run")),
            INIT_GENUINE,
        ),
        (
            "init other uid",
            set("/spec/initContainers/0/args/2", json!("1000")),
            INIT_GENUINE,
        ),
        (
            "init excludes everything",
            push(
                "/spec/initContainers/0/args",
                json!("--exclude-outbound-cidrs=0.0.0.0/0"),
            ),
            INIT_GENUINE,
        ),
        (
            "init excludes past the list",
            push(
                "/spec/initContainers/0/args",
                json!("--exclude-outbound-cidrs=169.254.169.254/32,10.0.0.0/8"),
            ),
            INIT_GENUINE,
        ),
        (
            "init excludes a port",
            push(
                "/spec/initContainers/0/args",
                json!("--exclude-outbound-ports=443"),
            ),
            INIT_GENUINE,
        ),
        (
            "init excludes inbound",
            push(
                "/spec/initContainers/0/args",
                json!("--exclude-inbound-ports=5432"),
            ),
            INIT_GENUINE,
        ),
        (
            "init as a sidecar",
            set("/spec/initContainers/0/restartPolicy", json!("Always")),
            INIT_GENUINE,
        ),
        (
            "proxy image",
            set("/spec/initContainers/1/image", json!("busybox")),
            PROXY_GENUINE,
        ),
        (
            "proxy command",
            set("/spec/initContainers/1/command", json!(["sleep", "1d"])),
            PROXY_GENUINE,
        ),
        (
            "proxy args",
            set("/spec/initContainers/1/args", json!(["proxy"])),
            PROXY_GENUINE,
        ),
        (
            "proxy uid",
            set(
                "/spec/initContainers/1/securityContext/runAsUser",
                json!(1000),
            ),
            PROXY_GENUINE,
        ),
        (
            "proxy audit",
            set("/spec/initContainers/1/env/9/value", json!("audit")),
            PROXY_GENUINE,
        ),
        // Red-team findings: a hand-built sidecar that trusts another CA or reads its trust from
        // where the app can write.
        (
            "proxy CA address",
            set(
                "/spec/initContainers/1/env/5/value",
                json!("https://ca.attacker.example:15012"),
            ),
            TRUST,
        ),
        (
            "proxy CA roots",
            set(
                "/spec/initContainers/1/env/6/value",
                json!("/tmp/roots.pem"),
            ),
            TRUST,
        ),
        (
            "proxy mesh networks",
            set("/spec/initContainers/1/env/8/value", json!("0.0.0.0/0")),
            TRUST,
        ),
        (
            "proxy variable twice",
            push(
                "/spec/initContainers/1/env",
                json!({"name": "PHIMESH_CA_ADDR", "value": "https://ca.attacker.example:15012"}),
            ),
            TRUST,
        ),
        (
            "proxy privileged",
            set(
                "/spec/initContainers/1/securityContext/privileged",
                json!(true),
            ),
            TRUST,
        ),
        (
            "proxy extra mount",
            push(
                "/spec/initContainers/1/volumeMounts",
                json!({"name": "kube-api-access", "mountPath": "/var/run/phimesh/trust/x"}),
            ),
            TRUST,
        ),
        (
            "trust volume the app writes",
            Box::new(|p: &mut Value| {
                for v in p["spec"]["volumes"].as_array_mut().unwrap() {
                    if v["name"] == "phimesh-trust" {
                        *v = json!({"name": "phimesh-trust", "emptyDir": {}});
                    }
                }
            }),
            TRUST,
        ),
        (
            "proxy audit twice",
            push(
                "/spec/initContainers/1/env",
                json!({"name": "PHIMESH_MODE", "value": "audit"}),
            ),
            PROXY_GENUINE,
        ),
        (
            "proxy mode from elsewhere",
            set(
                "/spec/initContainers/1/env/9",
                json!({"name": "PHIMESH_MODE", "valueFrom": {"configMapKeyRef": {"name": "x", "key": "mode"}}}),
            ),
            PROXY_GENUINE,
        ),
        (
            "proxy permissive",
            set("/spec/initContainers/1/env/10/value", json!("permissive")),
            PROXY_GENUINE,
        ),
        (
            "proxy extra env",
            push(
                "/spec/initContainers/1/env",
                json!({"name": "PHIMESH_ROUTE", "value": "x"}),
            ),
            PROXY_GENUINE,
        ),
        (
            "proxy envFrom",
            set(
                "/spec/initContainers/1/envFrom",
                json!([{"configMapRef": {"name": "x"}}]),
            ),
            PROXY_GENUINE,
        ),
        (
            "proxy not native",
            Box::new(|p: &mut Value| {
                p["spec"]["initContainers"][1]
                    .as_object_mut()
                    .unwrap()
                    .remove("restartPolicy");
            }),
            SIDECAR,
        ),
        (
            "no proxy",
            Box::new(|p: &mut Value| {
                p["spec"]["initContainers"]
                    .as_array_mut()
                    .unwrap()
                    .remove(1);
            }),
            SIDECAR,
        ),
        (
            "no init step",
            Box::new(|p: &mut Value| {
                p["spec"]["initContainers"]
                    .as_array_mut()
                    .unwrap()
                    .remove(0);
            }),
            INIT_STEP,
        ),
        (
            "app init first",
            Box::new(|p: &mut Value| {
                let m = p["spec"]["initContainers"]
                    .as_array_mut()
                    .unwrap()
                    .remove(2);
                p["spec"]["initContainers"]
                    .as_array_mut()
                    .unwrap()
                    .insert(0, m);
            }),
            INIT_STEP,
        ),
        (
            "a look-alike too",
            push(
                "/spec/containers",
                json!({"name": "phimesh-proxy-2", "image": "busybox"}),
            ),
            NAMES,
        ),
        (
            "app as 1337",
            set(
                "/spec/containers/0/securityContext",
                json!({"runAsUser": 1337}),
            ),
            UID,
        ),
        (
            "pod as 1337",
            set("/spec/securityContext", json!({"runAsUser": 1337})),
            UID,
        ),
        (
            "app init as 1337",
            set(
                "/spec/initContainers/2/securityContext",
                json!({"runAsUser": 1337}),
            ),
            UID,
        ),
        (
            "app NET_ADMIN",
            set(
                "/spec/containers/0/securityContext",
                json!({"capabilities": {"add": ["NET_ADMIN"]}}),
            ),
            PRIVILEGED,
        ),
        (
            "app cap_sys_admin",
            set(
                "/spec/containers/0/securityContext",
                json!({"capabilities": {"add": ["cap_sys_admin"]}}),
            ),
            PRIVILEGED,
        ),
        (
            "app privileged",
            set(
                "/spec/containers/0/securityContext",
                json!({"privileged": true}),
            ),
            PRIVILEGED,
        ),
        (
            "app mounts the token",
            push(
                "/spec/containers/0/volumeMounts",
                json!({"name": "phimesh-token", "mountPath": "/t"}),
            ),
            IDENTITY,
        ),
        (
            "app's own phimesh-ca token",
            Box::new(|p: &mut Value| {
                p["spec"]["volumes"].as_array_mut().unwrap().push(json!({"name": "mine", "projected": {"sources": [{"serviceAccountToken": {"audience": "phimesh-ca", "path": "t"}}]}}));
                p["spec"]["containers"][0]["volumeMounts"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": "mine", "mountPath": "/t"}));
            }),
            IDENTITY,
        ),
        (
            "init mounts the token",
            push(
                "/spec/initContainers/0/volumeMounts",
                json!({"name": "phimesh-token", "mountPath": "/t"}),
            ),
            IDENTITY,
        ),
        ("host network", set("/spec/hostNetwork", json!(true)), HOST),
        // Red-team findings: an app that can become the proxy's user, or reach its token.
        (
            "app as root",
            set(
                "/spec/containers/0/securityContext",
                json!({"runAsUser": 0, "allowPrivilegeEscalation": false}),
            ),
            NON_ROOT,
        ),
        (
            "pod may run as root",
            set("/spec/securityContext", json!({})),
            NON_ROOT,
        ),
        (
            "the image's own user",
            set("/spec/securityContext", json!({"runAsNonRoot": true})),
            NON_ROOT,
        ),
        (
            "app may escalate",
            set("/spec/containers/0/securityContext", json!({})),
            NON_ROOT,
        ),
        (
            "app adds NET_RAW",
            set(
                "/spec/containers/0/securityContext",
                json!({"allowPrivilegeEscalation": false, "capabilities": {"add": ["NET_RAW"]}}),
            ),
            NON_ROOT,
        ),
        (
            "root debug container",
            set(
                "/spec/ephemeralContainers",
                json!([{"name": "dbg", "image": "busybox", "targetContainerName": "phimesh-proxy"}]),
            ),
            NON_ROOT,
        ),
        ("host pid", set("/spec/hostPID", json!(true)), HOST_NS),
        (
            "shared process namespace",
            set("/spec/shareProcessNamespace", json!(true)),
            HOST_NS,
        ),
        (
            "host path",
            push(
                "/spec/volumes",
                json!({"name": "pods", "hostPath": {"path": "/var/lib/kubelet/pods"}}),
            ),
            HOST_NS,
        ),
        (
            "opt-out label",
            set("/metadata/labels/phimesh.io~1inject", json!("disabled")),
            OPT_OUT,
        ),
        (
            "opt-out annotation",
            set("/metadata/annotations/phimesh.io~1inject", json!("false")),
            OPT_OUT,
        ),
        (
            "audit annotation",
            set("/metadata/annotations/phimesh.io~1mode", json!("audit")),
            MODE,
        ),
        (
            "permissive annotation",
            set(
                "/metadata/annotations/phimesh.io~1inbound-mtls",
                json!("permissive"),
            ),
            MTLS,
        ),
        (
            "cidr annotation",
            set(
                "/metadata/annotations/phimesh.io~1exclude-outbound-cidrs",
                json!("169.254.169.254/32, 0.0.0.0/0"),
            ),
            CIDRS,
        ),
        (
            "port annotation",
            set(
                "/metadata/annotations/phimesh.io~1exclude-outbound-ports",
                json!("443"),
            ),
            OUT_PORTS,
        ),
        (
            "inbound annotation",
            set(
                "/metadata/annotations/phimesh.io~1exclude-inbound-ports",
                json!("8080"),
            ),
            IN_PORTS,
        ),
        (
            "unknown annotation",
            set("/metadata/annotations/phimesh.io~1skip", json!("true")),
            RESERVED,
        ),
        (
            "unknown label",
            set("/metadata/labels/phimesh.io~1skip", json!("true")),
            RESERVED,
        ),
    ];
    for (what, tamper, want) in &cases {
        let mut p = genuine.clone();
        tamper(&mut p);
        assert_rejected(&vap, &params, what, &p, None, want);
    }
    // Classic mode: the proxy is the first container.
    let mut p = classic.clone();
    p["spec"]["containers"][0]["image"] = json!("busybox");
    assert_rejected(
        &vap,
        &params,
        "classic proxy image",
        &p,
        None,
        PROXY_GENUINE,
    );
    let mut p = classic.clone();
    let proxy = p["spec"]["containers"].as_array_mut().unwrap().remove(0);
    p["spec"]["containers"].as_array_mut().unwrap().push(proxy);
    assert_rejected(&vap, &params, "classic proxy moved", &p, None, SIDECAR);

    // Without the operator's allow-list, the allowed exclusion is rejected too; without the
    // ConfigMap's image, every pod is.
    let excl = phi_injected(
        &app_pod(
            json!({"phimesh.io/exclude-outbound-ports": "5432"}),
            json!({}),
        ),
        &cfg,
    );
    assert!(vap.check(&params, &excl, None).is_empty());
    let strict = self::params(&[("PHIMESH_PHI_ALLOWED_EXCLUDE_OUTBOUND_PORTS", "")]);
    assert_rejected(
        &vap,
        &strict,
        "allow-list emptied",
        &excl,
        None,
        INIT_GENUINE,
    );
    assert_rejected(&vap, &strict, "allow-list emptied", &excl, None, OUT_PORTS);
    let mut no_data = params.clone();
    no_data.as_object_mut().unwrap().remove("data");
    assert_rejected(
        &vap,
        &no_data,
        "no ConfigMap data",
        &genuine,
        None,
        PROXY_GENUINE,
    );
}

#[test]
fn updates_that_would_unmesh_a_pod_are_rejected() {
    let (vap, ..) = Vap::load();
    let params = params(&ALLOW);
    let cfg = injector(&params);
    let plain = app_pod(json!({}), json!({"app": "records"}));
    let meshed = phi_injected(&plain, &cfg);

    // `kubectl set image` on the sidecar.
    let mut p = meshed.clone();
    p["spec"]["initContainers"][1]["image"] = json!("busybox");
    assert_rejected(
        &vap,
        &params,
        "proxy image update",
        &p,
        Some(&meshed),
        PROXY_GENUINE,
    );
    // The app's own image may change (not phimesh's business).
    let mut p = meshed.clone();
    p["spec"]["containers"][0]["image"] = json!("registry.example/records:2");
    assert!(vap.check(&params, &p, Some(&meshed)).is_empty());
    // A meshed pod keeps its sidecar image when the operator's image moves on.
    let newer = self::params(&[("PHIMESH_IMAGE", "ghcr.io/phimesh/phimesh:9.9.9")]);
    let mut p = meshed.clone();
    p["metadata"]["annotations"]["phimesh.io/proxy-cpu"] = json!("1");
    assert!(vap.check(&newer, &p, Some(&meshed)).is_empty());
    // ... but a new pod with the old image is not admitted.
    assert_rejected(
        &vap,
        &newer,
        "old image on create",
        &meshed,
        None,
        PROXY_GENUINE,
    );

    // Labelling an unmeshed pod as meshed, so the NetworkPolicies would trust it.
    let mut p = plain.clone();
    p["metadata"]["labels"]["phimesh.io/sidecar"] = json!("injected");
    assert_rejected(
        &vap,
        &params,
        "label an unmeshed pod",
        &p,
        Some(&plain),
        INIT_STEP,
    );
    // Annotating a meshed pod into audit mode.
    let mut p = meshed.clone();
    p["metadata"]["annotations"]["phimesh.io/mode"] = json!("audit");
    assert_rejected(&vap, &params, "annotate audit", &p, Some(&meshed), MODE);

    // `kubectl debug` containers that could leave the mesh or take its identity.
    for (what, c) in [
        (
            "as 1337",
            json!({"name": "debugger", "image": "busybox", "securityContext": {"runAsUser": 1337}}),
        ),
        (
            "with NET_ADMIN",
            json!({"name": "debugger", "image": "busybox", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}),
        ),
        (
            "privileged",
            json!({"name": "debugger", "image": "busybox", "securityContext": {"privileged": true}}),
        ),
        (
            "mounting the token",
            json!({"name": "debugger", "image": "busybox", "volumeMounts": [{"name": "phimesh-token", "mountPath": "/t"}]}),
        ),
        (
            "named like phimesh",
            json!({"name": "phimesh-proxy-debug", "image": "busybox"}),
        ),
    ] {
        let mut p = meshed.clone();
        p["spec"]["ephemeralContainers"] = json!([c]);
        assert_rejected(&vap, &params, what, &p, Some(&meshed), EPHEMERAL);
    }
}
