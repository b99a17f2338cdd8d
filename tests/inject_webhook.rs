//! End-to-end tests of `phimesh webhook`: the real binary on 127.0.0.1 with a serving certificate
//! made by `phimesh webhook gen-certs`, real HTTPS (curl, verifying the certificate against the
//! generated CA under the in-cluster service name), and AdmissionReview v1 requests written from
//! the published API. Every injected patch is applied to the request's object with the
//! `json-patch` crate and the result deserialised into `k8s_openapi::api::core::v1::Pod`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use base64::Engine as _;
use k8s_openapi::api::core::v1::{Container, EnvVar, Pod};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_phimesh");
const HOST: &str = "phimesh-webhook.phimesh-system.svc";

struct Webhook {
    child: Child,
    port: u16,
    dir: Arc<tempfile::TempDir>,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn gen_certs(dir: &Path) {
    let out = Command::new(BIN)
        .args(["webhook", "gen-certs", "--out"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Webhook {
    fn start(extra: &[&str]) -> Webhook {
        Webhook::start_env(extra, &[])
    }

    fn start_env(extra: &[&str], envs: &[(&str, &str)]) -> Webhook {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        gen_certs(dir.path());
        // A port taken between free_port() and the webhook's bind is retried with another.
        for _ in 0..5 {
            let port = free_port();
            let child = Command::new(BIN)
                .arg("webhook")
                .arg(format!("--listen=127.0.0.1:{port}"))
                .arg(format!("--cert={}", dir.path().join("tls.crt").display()))
                .arg(format!("--key={}", dir.path().join("tls.key").display()))
                .arg("--mesh-networks=10.244.0.0/16,fd00:10:244::/56")
                .args(extra)
                .envs(envs.iter().copied())
                .env_remove("PHIMESH_LOG")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut w = Webhook {
                child,
                port,
                dir: dir.clone(),
            };
            // Bounded wait for readiness (a count, not a timing assertion).
            for _ in 0..400 {
                if let Some(status) = w.child.try_wait().unwrap() {
                    let mut err = String::new();
                    w.child
                        .stderr
                        .take()
                        .unwrap()
                        .read_to_string(&mut err)
                        .unwrap();
                    assert!(
                        err.contains("cannot listen"),
                        "webhook exited {status}: {err}"
                    );
                    break;
                }
                if w.curl_get("/ready").0 == 200 {
                    return w;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        panic!("webhook did not become ready");
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    fn curl(&self, args: &[&str], path: &str, body: Option<&[u8]>) -> (u16, Vec<u8>) {
        let url = format!("https://{HOST}:{}{path}", self.port);
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "20", "--cacert"])
            .arg(self.ca())
            .arg("--resolve")
            .arg(format!("{HOST}:{}:127.0.0.1", self.port))
            .args(["-o", "-", "-w", "\n%{http_code}"])
            .args(args)
            .arg(&url)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if body.is_some() {
            cmd.args([
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                "@-",
            ])
            .stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().expect("curl is installed by scripts/setup");
        if let Some(b) = body {
            let mut stdin = child.stdin.take().unwrap();
            let b = b.to_vec();
            std::thread::spawn(move || {
                let _ = stdin.write_all(&b);
            });
        }
        let out = child.wait_with_output().unwrap();
        let text = out.stdout;
        let split = text.iter().rposition(|&b| b == b'\n').unwrap_or(0);
        let code = String::from_utf8_lossy(&text[split..])
            .trim()
            .parse()
            .unwrap_or(0);
        (code, text[..split].to_vec())
    }

    fn curl_get(&self, path: &str) -> (u16, Vec<u8>) {
        self.curl(&[], path, None)
    }

    fn post(&self, body: &[u8]) -> (u16, Value) {
        self.post_to("/mutate", body)
    }

    fn post_to(&self, path: &str, body: &[u8]) -> (u16, Value) {
        let (code, body) = self.curl(&[], &format!("{path}?timeout=10s"), Some(body));
        let v = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&body)));
        (code, v)
    }

    /// Posts a review and returns its `response`, checking the envelope.
    fn review(&self, review: &Value) -> Value {
        self.review_at("/mutate", review)
    }

    /// Posts a review to `path` and returns its `response`, checking the envelope.
    fn review_at(&self, path: &str, review: &Value) -> Value {
        let (code, v) = self.post_to(path, review.to_string().as_bytes());
        assert_eq!(code, 200, "{v}");
        assert_eq!(v["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(v["kind"], "AdmissionReview");
        let r = v["response"].clone();
        assert_eq!(r["uid"], review["request"]["uid"]);
        r
    }
}

/// An AdmissionReview as the API server sends it for a ReplicaSet-created pod
/// (fields as in `k8s.io/api/admission/v1`).
fn review(namespace: &str, pod: Value) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "3a1b0a6e-6c1e-4f38-9a2b-7f1f0c9d2e11",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
            "requestResource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": namespace,
            "operation": "CREATE",
            "userInfo": {
                "username": "system:serviceaccount:kube-system:replicaset-controller",
                "uid": "b2b9d4a1-0d0e-4a57-8f43-1c8a0f0a7e55",
                "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]
            },
            "object": pod,
            "oldObject": null,
            "dryRun": false,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
        }
    })
}

fn records_pod(annotations: Value, labels: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": "records-6d8f7b9c4-",
            "namespace": "patients",
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "records-6d8f7b9c4",
                                 "uid": "0b7c2f1e-3d4a-4b5c-8d9e-0f1a2b3c4d5e", "controller": true, "blockOwnerDeletion": true}]
        },
        "spec": {
            "serviceAccountName": "records",
            // What a PHI namespace asks of app containers: non-root, no privilege escalation.
            "securityContext": {"runAsUser": 1000, "runAsNonRoot": true},
            "initContainers": [{"name": "migrate", "image": "registry.example/records-migrate:1.4.2",
                                "securityContext": {"allowPrivilegeEscalation": false}}],
            "containers": [{
                "name": "records",
                "image": "registry.example/records:1.4.2",
                "securityContext": {"allowPrivilegeEscalation": false},
                "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                "resources": {},
                "terminationMessagePath": "/dev/termination-log",
                "imagePullPolicy": "IfNotPresent",
                "volumeMounts": [{"name": "kube-api-access-x7k2p", "readOnly": true,
                                  "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]
            }],
            "restartPolicy": "Always",
            "dnsPolicy": "ClusterFirst",
            "schedulerName": "default-scheduler",
            "volumes": [{"name": "kube-api-access-x7k2p", "projected": {"sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}], "defaultMode": 420}}],
            "enableServiceLinks": true,
            "preemptionPolicy": "PreemptLowerPriority"
        },
        "status": {}
    })
}

fn patch_of(response: &Value) -> Option<Value> {
    let b64 = response.get("patch")?.as_str()?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    Some(serde_json::from_slice(&raw).unwrap())
}

fn apply(object: &Value, patch: &Value) -> Value {
    let p: json_patch::Patch = serde_json::from_value(patch.clone()).unwrap();
    let mut out = object.clone();
    json_patch::patch(&mut out, &p).unwrap();
    out
}

fn env(c: &Container) -> BTreeMap<String, EnvVar> {
    c.env
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.name.clone(), e))
        .collect()
}

fn value(env: &BTreeMap<String, EnvVar>, name: &str) -> String {
    env.get(name)
        .and_then(|e| e.value.clone())
        .unwrap_or_else(|| panic!("env {name} missing"))
}

fn field_ref(env: &BTreeMap<String, EnvVar>, name: &str) -> String {
    env[name]
        .value_from
        .as_ref()
        .and_then(|v| v.field_ref.as_ref())
        .map(|f| f.field_path.clone())
        .unwrap_or_else(|| panic!("env {name} is not a fieldRef"))
}

#[test]
fn injects_a_native_sidecar_with_every_field() {
    let w = Webhook::start(&["--image=registry.example/phimesh:test"]);
    let pod = records_pod(
        json!({
            "phimesh.io/mode": "audit",
            "phimesh.io/inbound-mtls": "permissive",
            "phimesh.io/exclude-inbound-ports": "9090,8081",
            "phimesh.io/exclude-outbound-ports": "5432",
            "phimesh.io/exclude-outbound-cidrs": "169.254.169.254/32",
            "phimesh.io/proxy-cpu": "250m"
        }),
        json!({"app": "records", "pod-template-hash": "6d8f7b9c4"}),
    );
    let req = review("patients", pod.clone());
    let r = w.review(&req);
    assert_eq!(r["allowed"], true);
    assert_eq!(r["patchType"], "JSONPatch");
    assert_eq!(r["auditAnnotations"]["injection"], "injected");
    let patched = apply(&pod, &patch_of(&r).expect("a patch"));
    let p: Pod = serde_json::from_value(patched.clone()).expect("a valid v1 Pod");
    let spec = p.spec.unwrap();
    let meta = p.metadata;

    // Init containers: the init step, the native sidecar, then the app's own.
    let inits = spec.init_containers.unwrap();
    let names: Vec<_> = inits.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["phimesh-init", "phimesh-proxy", "migrate"]);
    assert_eq!(spec.containers.len(), 1);
    assert_eq!(
        spec.containers[0],
        serde_json::from_value(pod["spec"]["containers"][0].clone()).unwrap(),
        "app container untouched"
    );

    // The init step: phimesh init, root, NET_ADMIN/NET_RAW only.
    let init = &inits[0];
    assert_eq!(init.image.as_deref(), Some("registry.example/phimesh:test"));
    assert_eq!(
        init.args.clone().unwrap(),
        [
            "init",
            "--proxy-uid",
            "1337",
            "--exclude-inbound-ports=8081,9090",
            "--exclude-outbound-ports=5432",
            "--exclude-outbound-cidrs=169.254.169.254/32"
        ]
    );
    // The contract with `phimesh init`: the real binary accepts exactly these arguments and turns
    // them into the rules the annotations asked for.
    let out = Command::new(BIN)
        .args(init.args.clone().unwrap())
        .arg("--dry-run")
        .env_remove("PHIMESH_EXCLUDE_INBOUND_PORTS")
        .env_remove("PHIMESH_EXCLUDE_OUTBOUND_CIDRS")
        .env_remove("PHIMESH_EXCLUDE_OUTBOUND_PORTS")
        .output()
        .unwrap();
    let script = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "phimesh init rejected the injected args: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for rule in [
        "-A PHIMESH_OUTPUT -m owner --uid-owner 1337 -j RETURN",
        "-A PHIMESH_INBOUND -p tcp --dport 8081 -j RETURN",
        "-A PHIMESH_INBOUND -p tcp --dport 9090 -j RETURN",
        "-A PHIMESH_INBOUND -p tcp --dport 15020 -j RETURN",
        "-A PHIMESH_OUTPUT -d 169.254.169.254/32 -j RETURN",
        "-A PHIMESH_OUTPUT -p tcp --dport 5432 -j RETURN",
    ] {
        assert!(script.contains(rule), "{rule} missing from:\n{script}");
    }

    let sc = init.security_context.clone().unwrap();
    assert_eq!(sc.run_as_user, Some(0));
    assert_eq!(sc.run_as_non_root, Some(false));
    assert_eq!(sc.privileged, Some(false));
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    let caps = sc.capabilities.unwrap();
    assert_eq!(caps.add.unwrap(), ["NET_ADMIN", "NET_RAW"]);
    assert_eq!(caps.drop.unwrap(), ["ALL"]);
    assert_eq!(sc.seccomp_profile.unwrap().type_, "RuntimeDefault");

    // The proxy: a native sidecar, UID 1337, locked down.
    let proxy = &inits[1];
    assert_eq!(proxy.restart_policy.as_deref(), Some("Always"));
    assert_eq!(
        proxy.image.as_deref(),
        Some("registry.example/phimesh:test")
    );
    assert_eq!(proxy.args.clone().unwrap(), ["proxy", "--transparent"]);
    let sc = proxy.security_context.clone().unwrap();
    assert_eq!(sc.run_as_user, Some(1337));
    assert_eq!(sc.run_as_group, Some(1337));
    assert_eq!(sc.run_as_non_root, Some(true));
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(sc.privileged, Some(false));
    let caps = sc.capabilities.unwrap();
    assert_eq!(caps.add, None);
    assert_eq!(caps.drop.unwrap(), ["ALL"]);
    assert_eq!(sc.seccomp_profile.unwrap().type_, "RuntimeDefault");

    // Identity from the downward API, CA, roots, token, networks, mode, inbound mTLS.
    let e = env(proxy);
    assert_eq!(field_ref(&e, "POD_NAMESPACE"), "metadata.namespace");
    assert_eq!(
        field_ref(&e, "POD_SERVICE_ACCOUNT"),
        "spec.serviceAccountName"
    );
    let names: Vec<_> = proxy
        .env
        .clone()
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    let pos = |n: &str| names.iter().position(|x| x == n).unwrap();
    assert!(
        pos("POD_NAMESPACE") < pos("PHIMESH_IDENTITY")
            && pos("POD_SERVICE_ACCOUNT") < pos("PHIMESH_IDENTITY"),
        "$(VAR) needs earlier declaration"
    );
    assert_eq!(
        value(&e, "PHIMESH_IDENTITY"),
        "spiffe://cluster.local/ns/$(POD_NAMESPACE)/sa/$(POD_SERVICE_ACCOUNT)"
    );
    assert_eq!(
        value(&e, "PHIMESH_CA_ADDR"),
        "https://phimesh-ca.phimesh-system.svc:15012"
    );
    assert_eq!(
        value(&e, "PHIMESH_CA_ROOTS"),
        "/var/run/phimesh/trust/trust-bundle.pem"
    );
    assert_eq!(
        value(&e, "PHIMESH_TOKEN_FILE"),
        "/var/run/phimesh/token/token"
    );
    assert_eq!(
        value(&e, "PHIMESH_MESH_NETWORKS"),
        "10.244.0.0/16,fd00:10:244::/56"
    );
    assert_eq!(value(&e, "PHIMESH_MODE"), "audit");
    assert_eq!(value(&e, "PHIMESH_INBOUND_MTLS"), "permissive");
    assert_eq!(value(&e, "PHIMESH_ADMIN_LISTEN"), "0.0.0.0:15020");

    // The contract with `phimesh proxy`: every PHIMESH_* variable set and every argument given
    // is one the real binary reads.
    let help = Command::new(BIN)
        .args(["proxy", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for v in proxy
        .env
        .iter()
        .flatten()
        .filter(|v| v.name.starts_with("PHIMESH_"))
    {
        assert!(
            help.contains(&format!("[env: {}=", v.name)),
            "phimesh proxy does not read {}",
            v.name
        );
    }
    for a in &proxy.args.clone().unwrap()[1..] {
        assert!(
            help.lines().any(|l| l.split([' ', ',']).any(|w| w == a)),
            "phimesh proxy has no {a}"
        );
    }

    // Probes on the admin port.
    for (probe, path) in [
        (&proxy.startup_probe, "/ready"),
        (&proxy.readiness_probe, "/ready"),
        (&proxy.liveness_probe, "/live"),
    ] {
        let h = probe.clone().unwrap().http_get.unwrap();
        assert_eq!(h.path.as_deref(), Some(path));
        assert_eq!(
            h.port,
            k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(15020)
        );
    }
    let ports = proxy.ports.clone().unwrap();
    assert_eq!(
        (ports[0].container_port, ports[0].name.as_deref()),
        (15020, Some("phimesh-admin"))
    );

    // Resources: the annotation's CPU request, the defaults elsewhere.
    let res = proxy.resources.clone().unwrap();
    let q =
        |m: &Option<BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
         k: &str| m.as_ref().unwrap()[k].0.clone();
    assert_eq!(q(&res.requests, "cpu"), "250m");
    assert_eq!(q(&res.requests, "memory"), "128Mi");
    assert_eq!(q(&res.limits, "cpu"), "2");
    assert_eq!(q(&res.limits, "memory"), "1Gi");

    // Volumes: projected token with audience phimesh-ca, the trust-bundle ConfigMap; mounts.
    let vols: BTreeMap<_, _> = spec
        .volumes
        .unwrap()
        .into_iter()
        .map(|v| (v.name.clone(), v))
        .collect();
    assert!(
        vols.contains_key("kube-api-access-x7k2p"),
        "existing volume kept"
    );
    let token = vols["phimesh-token"]
        .projected
        .clone()
        .unwrap()
        .sources
        .unwrap()[0]
        .service_account_token
        .clone()
        .unwrap();
    assert_eq!(token.audience.as_deref(), Some("phimesh-ca"));
    assert_eq!(token.path, "token");
    assert!(token.expiration_seconds.unwrap() >= 600);
    let cm = vols["phimesh-trust"].config_map.clone().unwrap();
    assert_eq!(cm.name, "phimesh-trust-bundle");
    assert_eq!(cm.items.unwrap()[0].path, "trust-bundle.pem");
    let mounts: BTreeMap<_, _> = proxy
        .volume_mounts
        .clone()
        .unwrap()
        .into_iter()
        .map(|m| (m.name.clone(), m))
        .collect();
    assert_eq!(mounts["phimesh-token"].mount_path, "/var/run/phimesh/token");
    assert_eq!(mounts["phimesh-trust"].mount_path, "/var/run/phimesh/trust");
    assert_eq!(mounts["phimesh-token"].read_only, Some(true));

    // Scrape annotations, status, label; the pod's own metadata kept.
    let ann = meta.annotations.unwrap();
    assert_eq!(ann["prometheus.io/scrape"], "true");
    assert_eq!(ann["prometheus.io/port"], "15020");
    assert_eq!(ann["prometheus.io/path"], "/metrics");
    assert_eq!(ann["phimesh.io/mode"], "audit");
    let status: Value = serde_json::from_str(&ann["phimesh.io/status"]).unwrap();
    assert_eq!(status["sidecarMode"], "native");
    assert_eq!(meta.labels.unwrap()["phimesh.io/sidecar"], "injected");
    assert_eq!(meta.owner_references.unwrap().len(), 1);

    // The injected pod, sent again (a re-invocation, or `kubectl get -o json | kubectl create`),
    // is left alone.
    let again = w.review(&review("patients", patched));
    assert_eq!(again["allowed"], true);
    assert!(again.get("patch").is_none(), "{again}");
    assert_eq!(
        again["auditAnnotations"]["injection"],
        "skipped: already_injected"
    );

    // The metrics saw both.
    let (code, metrics) = w.curl_get("/metrics");
    assert_eq!(code, 200);
    let metrics = String::from_utf8(metrics).unwrap();
    // The standard process metrics an operator's dashboards expect.
    for m in [
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
    ] {
        assert!(metrics.contains(m), "{m} missing");
    }
    assert!(
        metrics.contains(r#"phimesh_webhook_reviews_total{action="injected",reason="injected"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"phimesh_webhook_reviews_total{action="skipped",reason="already_injected"} 1"#
        ),
        "{metrics}"
    );
}

#[test]
fn classic_mode_by_annotation_and_over_http2() {
    let w = Webhook::start(&[]);
    let pod = records_pod(
        json!({"phimesh.io/sidecar-mode": "classic"}),
        json!({"app": "records"}),
    );
    let (code, body) = w.curl(
        &["--http2"],
        "/mutate",
        Some(review("patients", pod.clone()).to_string().as_bytes()),
    );
    assert_eq!(code, 200);
    let r: Value = serde_json::from_slice(&body).unwrap();
    let patched = apply(&pod, &patch_of(&r["response"]).unwrap());
    let p: Pod = serde_json::from_value(patched).unwrap();
    let spec = p.spec.unwrap();
    assert_eq!(spec.containers[0].name, "phimesh-proxy");
    assert_eq!(spec.containers[0].restart_policy, None);
    assert_eq!(spec.containers[1].name, "records");
    let inits: Vec<_> = spec
        .init_containers
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(inits, ["phimesh-init", "migrate"]);
    assert!(r["response"]["warnings"][0]
        .as_str()
        .unwrap()
        .contains("classic"));
}

#[test]
fn skipped_pods_are_admitted_unchanged_with_a_reason() {
    let w = Webhook::start(&[]);
    let cases = [
        // Opted out by the pod's label (in an enabled namespace).
        (
            "patients",
            records_pod(json!({}), json!({"phimesh.io/inject": "disabled"})),
            "skipped: opted_out",
        ),
        // Opted out by annotation.
        (
            "patients",
            records_pod(json!({"phimesh.io/inject": "disabled"}), json!({})),
            "skipped: opted_out",
        ),
        // A system namespace, whatever the selector let through.
        (
            "kube-system",
            records_pod(json!({}), json!({})),
            "skipped: system_namespace",
        ),
        (
            "phimesh-system",
            records_pod(json!({}), json!({})),
            "skipped: system_namespace",
        ),
    ];
    for (ns, pod, why) in cases {
        let r = w.review(&review(ns, pod));
        assert_eq!(r["allowed"], true, "{r}");
        assert!(r.get("patch").is_none(), "{r}");
        assert_eq!(r["auditAnnotations"]["injection"], why);
    }
    let mut host = records_pod(json!({}), json!({}));
    host["spec"]["hostNetwork"] = json!(true);
    let r = w.review(&review("patients", host));
    assert_eq!(r["allowed"], true);
    assert!(r.get("patch").is_none());
    assert_eq!(r["auditAnnotations"]["injection"], "skipped: host_network");

    // Not a CREATE: unchanged.
    let mut upd = review("patients", records_pod(json!({}), json!({})));
    upd["request"]["operation"] = json!("UPDATE");
    upd["request"]["oldObject"] = upd["request"]["object"].clone();
    let r = w.review(&upd);
    assert_eq!(r["allowed"], true);
    assert!(r.get("patch").is_none());
}

#[test]
fn refusals_and_bad_input_get_clean_answers_and_the_webhook_stays_up() {
    let w = Webhook::start(&["--max-body=65536"]);

    // An annotation that does not parse: denied, the key named.
    let r = w.review(&review(
        "patients",
        records_pod(json!({"phimesh.io/mode": "enforcing"}), json!({})),
    ));
    assert_eq!(r["allowed"], false);
    assert_eq!(r["status"]["code"], 400);
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap()
            .contains("phimesh.io/mode"),
        "{r}"
    );

    // An app container running as the proxy's UID would bypass the mesh: denied.
    let mut uid = records_pod(json!({}), json!({}));
    uid["spec"]["containers"][0]["securityContext"] = json!({"runAsUser": 1337});
    let r = w.review(&review("patients", uid));
    assert_eq!(r["allowed"], false);
    assert_eq!(r["status"]["code"], 403);

    // Wrong kind: a Deployment sent to the pod webhook.
    let mut dep = review(
        "patients",
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {}}),
    );
    dep["request"]["kind"] = json!({"group": "apps", "version": "v1", "kind": "Deployment"});
    dep["request"]["resource"] =
        json!({"group": "apps", "version": "v1", "resource": "deployments"});
    let r = w.review(&dep);
    assert_eq!(r["allowed"], false);
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap()
            .contains("apps/v1/Deployment"),
        "{r}"
    );

    // A Pod whose spec does not deserialise: denied, not a crash.
    let mut broken = records_pod(json!({}), json!({}));
    broken["spec"]["containers"] = json!("not a list");
    let r = w.review(&review("patients", broken));
    assert_eq!(r["allowed"], false);

    // Not JSON, JSON that is not a review, the old API version: 400 with a JSON error.
    let v1beta1 = json!({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {"uid": "x"}}).to_string();
    for body in [
        &b"{\"apiVersion\": "[..],
        b"\x00\xff garbage",
        b"[1,2,3]",
        b"{}",
        v1beta1.as_bytes(),
    ] {
        let (code, v) = w.post(body);
        assert_eq!(code, 400, "{v}");
        assert!(v["error"].is_string(), "{v}");
    }

    // Over the body limit: by Content-Length, and chunked without one (HTTP/1.1), and over h2
    // (nghttp: curl 7.x reports the server's early answer and RST_STREAM(NO_ERROR) as an error
    // while it is still uploading, although the answer was sent).
    let huge = vec![b' '; 200_000];
    let (code, body) = w.curl(&["--http1.1"], "/mutate", Some(&huge));
    assert_eq!(code, 413, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("body over 65536 bytes"));
    let (code, body) = w.curl(
        &["--http1.1", "-H", "Transfer-Encoding: chunked"],
        "/mutate",
        Some(&huge),
    );
    assert_eq!(code, 413, "{}", String::from_utf8_lossy(&body));
    let file = w.dir.path().join("huge.json");
    std::fs::write(&file, &huge).unwrap();
    let out = Command::new("nghttp")
        .arg("-d")
        .arg(&file)
        .arg(format!("https://127.0.0.1:{}/mutate", w.port))
        .output()
        .expect("nghttp (nghttp2-client) is installed by scripts/setup");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("body over 65536 bytes"),
        "h2: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Wrong method and path.
    assert_eq!(w.curl_get("/mutate").0, 405);
    assert_eq!(w.curl_get("/nope").0, 404);

    // Idle connections that never start TLS hold a slot each, not the server.
    let idle: Vec<_> = (0..8)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", w.port)).unwrap())
        .collect();

    // A plaintext HTTP request to the TLS port does not hurt either.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", w.port)).unwrap();
    let _ = s.write_all(b"GET /ready HTTP/1.1\r\nHost: x\r\n\r\n");
    drop(s);

    // Still up and still injecting.
    assert_eq!(w.curl_get("/live").0, 200);
    drop(idle);
    let r = w.review(&review("patients", records_pod(json!({}), json!({}))));
    assert_eq!(r["allowed"], true);
    assert!(patch_of(&r).is_some());
    let metrics = String::from_utf8(w.curl_get("/metrics").1).unwrap();
    assert!(
        metrics.contains(r#"phimesh_webhook_rejected_requests_total{reason="too_large"} 3"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"phimesh_webhook_reviews_total{action="error",reason="bad_json"} 2"#),
        "{metrics}"
    );
}

#[test]
fn bad_flags_stop_at_start_with_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    gen_certs(dir.path());
    let cert = format!("--cert={}", dir.path().join("tls.crt").display());
    let key = format!("--key={}", dir.path().join("tls.key").display());
    let ca_as_key = format!("--key={}", dir.path().join("ca.crt").display());
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--mesh-networks=10.0.0.0/8"],
            "--cert FILE and --key FILE are required",
        ),
        (vec![&cert, &key], "--mesh-networks"),
        (
            vec![&cert, &key, "--mesh-networks=10.0.0.0"],
            "--mesh-networks",
        ),
        (
            vec![&cert, &key, "--mesh-networks=10.0.0.0/8", "--mode=loud"],
            "--mode",
        ),
        (
            vec![&cert, &ca_as_key, "--mesh-networks=10.0.0.0/8"],
            "ca.crt",
        ),
    ];
    for (args, expect) in cases {
        let out = Command::new(BIN)
            .arg("webhook")
            .arg("--listen=127.0.0.1:0")
            .args(&args)
            .env_remove("PHIMESH_MESH_NETWORKS")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(expect), "{args:?}: {err}");
    }
}

#[test]
fn a_rotated_serving_certificate_is_served_without_a_restart() {
    let w = Webhook::start(&["--cert-reload-seconds=1"]);
    let fresh = tempfile::tempdir().unwrap();
    gen_certs(fresh.path());
    let new_ca = fresh.path().join("ca.crt");
    let new_ca = new_ca.to_str().unwrap();
    assert_ne!(
        w.curl(&["--cacert", new_ca], "/ready", None).0,
        200,
        "new CA trusted too early"
    );
    // As a Secret update would: both files replaced (the key first: the mismatched pair in between
    // is refused and the old certificate keeps serving).
    for f in ["tls.key", "tls.crt"] {
        std::fs::copy(fresh.path().join(f), w.dir.path().join(f)).unwrap();
    }
    // Bounded wait for the next poll (a count of tries, not a timing assertion).
    let served = (0..200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        w.curl(&["--cacert", new_ca], "/ready", None).0 == 200
    });
    assert!(served, "the new certificate was never served");
    assert_ne!(
        w.curl_get("/ready").0,
        200,
        "the old certificate is still served"
    );
    let metrics = String::from_utf8(w.curl(&["--cacert", new_ca], "/metrics", None).1).unwrap();
    assert!(
        metrics.contains("phimesh_webhook_certificate_reloads_total 1"),
        "{metrics}"
    );
}

#[test]
fn sigterm_stops_the_webhook_cleanly() {
    let mut w = Webhook::start(&[]);
    let status = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", w.child.id())])
        .status()
        .unwrap();
    assert!(status.success());
    let mut exit = None;
    for _ in 0..400 {
        if let Some(s) = w.child.try_wait().unwrap() {
            exit = Some(s);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let exit = exit.expect("webhook still running after SIGTERM");
    assert_eq!(exit.code(), Some(0));
    let mut err = String::new();
    w.child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("shutting down"), "{err}");
}

fn warnings(r: &Value) -> Vec<String> {
    r["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| w.as_str().unwrap().to_owned())
        .collect()
}

fn denial(r: &Value) -> String {
    assert_eq!(r["allowed"], false, "{r}");
    assert!(r.get("patch").is_none(), "{r}");
    r["status"]["message"].as_str().unwrap().to_owned()
}

/// The bypasses probed from outside, on both paths of the real webhook: denied with the reason on
/// `/mutate/phi`; on `/mutate` the overrides still work and come back with warnings, and a
/// look-alike sidecar is refused instead of being taken for an injected pod.
#[test]
fn phi_path_denies_each_bypass_and_mutate_applies_it_with_warnings() {
    // The allow-list by flag and by environment variable; the webhook's default mode is audit,
    // which PHI pods do not get.
    let w = Webhook::start_env(
        &[
            "--mode=audit",
            "--phi-allowed-exclude-outbound-cidrs=169.254.169.254/32",
        ],
        &[("PHIMESH_PHI_ALLOWED_EXCLUDE_INBOUND_PORTS", "9090")],
    );
    let phi = |pod: &Value| w.review_at("/mutate/phi", &review("patients", pod.clone()));
    let opt_in = |pod: &Value| w.review_at("/mutate", &review("web", pod.clone()));
    let app = |ann: Value, labels: Value| records_pod(ann, labels);

    // 1. Excluding all egress.
    let pod = app(
        json!({"phimesh.io/exclude-outbound-cidrs": "0.0.0.0/0,::/0"}),
        json!({}),
    );
    let r = phi(&pod);
    let msg = denial(&r);
    assert_eq!(r["status"]["code"], 403);
    assert_eq!(r["status"]["reason"], "Forbidden");
    assert_eq!(r["auditAnnotations"]["policy"], "phi");
    assert!(
        msg.starts_with("phimesh: denied in a PHI namespace (phimesh.io/phi=true): "),
        "{msg}"
    );
    assert!(
        msg.contains("phimesh.io/exclude-outbound-cidrs: 0.0.0.0/0,::/0 not in the operator's allow-list (--phi-allowed-exclude-outbound-cidrs)"),
        "{msg}"
    );
    let r = opt_in(&pod);
    assert_eq!(r["allowed"], true, "{r}");
    assert_eq!(r["auditAnnotations"]["policy"], "opt-in");
    let out = apply(&pod, &patch_of(&r).unwrap());
    assert_eq!(
        out["spec"]["initContainers"][0]["args"][3],
        "--exclude-outbound-cidrs=0.0.0.0/0,::/0"
    );
    assert_eq!(out["metadata"]["labels"]["phimesh.io/sidecar"], "injected");
    assert!(
        warnings(&r).contains(&"phimesh: phimesh.io/exclude-outbound-cidrs: traffic to 0.0.0.0/0,::/0 bypasses the proxy uninspected".to_owned()),
        "{r}"
    );

    // 2. Audit mode.
    let pod = app(json!({"phimesh.io/mode": "audit"}), json!({}));
    assert!(denial(&phi(&pod)).contains("phimesh.io/mode: audit is not allowed in a PHI namespace"));
    let r = opt_in(&pod);
    assert_eq!(r["allowed"], true);
    assert!(
        warnings(&r)[0].starts_with("phimesh: phimesh.io/mode=audit"),
        "{r}"
    );

    // 3. A busybox named phimesh-proxy, and 4. an init container named phimesh-init: not taken
    // for an injected pod anywhere.
    for (list, name) in [
        ("containers", "phimesh-proxy"),
        ("initContainers", "phimesh-init"),
    ] {
        let mut pod = app(json!({}), json!({}));
        pod["spec"][list]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": name, "image": "busybox", "command": ["sleep", "1d"]}));
        let msg = denial(&phi(&pod));
        assert!(
            msg.contains(&format!(
                "container \"{name}\": names starting with \"phimesh\" are reserved"
            )),
            "{msg}"
        );
        let r = opt_in(&pod);
        let msg = denial(&r);
        assert_eq!(r["status"]["code"], 403);
        assert!(msg.contains("looks injected but is not"), "{msg}");
        assert!(msg.contains(name), "{msg}");
    }

    // 5. Opting out by annotation, and by label.
    let pod = app(json!({"phimesh.io/inject": "disabled"}), json!({}));
    assert!(denial(&phi(&pod)).contains(
        "phimesh.io/inject (annotation): pods in a PHI namespace cannot opt out of the mesh"
    ));
    let r = opt_in(&pod);
    assert_eq!(r["allowed"], true);
    assert!(r.get("patch").is_none());
    assert_eq!(r["auditAnnotations"]["injection"], "skipped: opted_out");
    assert!(
        warnings(&r)[0].contains("runs without the phimesh sidecar"),
        "{r}"
    );
    let pod = app(json!({}), json!({"phimesh.io/inject": "disabled"}));
    assert!(denial(&phi(&pod)).contains("phimesh.io/inject (label)"));

    // 6. phimesh's own label on a pod that did not get the sidecar.
    let pod = app(
        json!({"phimesh.io/inject": "disabled"}),
        json!({"phimesh.io/sidecar": "injected"}),
    );
    assert!(denial(&phi(&pod)).contains("phimesh.io/sidecar (label): only the injector sets it"));
    assert!(denial(&opt_in(&pod)).contains("phimesh.io/sidecar is set only by the injector"));

    // 7. The app holding a mesh identity: its own phimesh-ca token (denied on PHI, warned
    // elsewhere), or the sidecar's volume by name (refused everywhere).
    let mut pod = app(json!({}), json!({}));
    pod["spec"]["volumes"].as_array_mut().unwrap().push(json!({"name": "mesh-id",
        "projected": {"sources": [{"serviceAccountToken": {"audience": "phimesh-ca", "path": "token"}}]}}));
    assert!(denial(&phi(&pod))
        .contains("volume \"mesh-id\": a service-account token for audience phimesh-ca"));
    let r = opt_in(&pod);
    assert_eq!(r["allowed"], true);
    assert!(
        warnings(&r)
            .iter()
            .any(|w| w.contains("\"mesh-id\" holds a phimesh-ca token")),
        "{r}"
    );
    let mut pod = app(json!({}), json!({}));
    pod["spec"]["containers"][0]["volumeMounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "phimesh-token", "mountPath": "/t"}));
    for r in [phi(&pod), opt_in(&pod)] {
        assert!(
            denial(&r).contains("mounts volume \"phimesh-token\", which is the sidecar's"),
            "{r}"
        );
    }

    // Everything at once: every reason listed, none of the values of other fields.
    let mut pod = app(
        json!({"phimesh.io/mode": "audit", "phimesh.io/inbound-mtls": "permissive",
               "phimesh.io/exclude-outbound-ports": "443", "phimesh.io/exclude-inbound-ports": "8080"}),
        json!({}),
    );
    pod["spec"]["containers"][0]["env"] =
        json!([{"name": "DB_PASSWORD", "value": "s3cr3t-123-45-6789"}]);
    let msg = denial(&phi(&pod));
    for part in [
        "phimesh.io/mode:",
        "phimesh.io/inbound-mtls: permissive",
        "phimesh.io/exclude-outbound-ports: 443 not in",
        "phimesh.io/exclude-inbound-ports: 8080 not in",
    ] {
        assert!(msg.contains(part), "{part}: {msg}");
    }
    assert!(!msg.contains("s3cr3t"), "{msg}");

    // Allowed: what the operator allowed (flag and environment), injected in enforce/strict
    // whatever the webhook's own defaults.
    let pod = app(
        json!({"phimesh.io/exclude-outbound-cidrs": "169.254.169.254/32",
               "phimesh.io/exclude-inbound-ports": "9090"}),
        json!({"app": "records"}),
    );
    let r = phi(&pod);
    assert_eq!(r["allowed"], true, "{r}");
    assert_eq!(r["auditAnnotations"]["injection"], "injected");
    let patched = apply(&pod, &patch_of(&r).unwrap());
    let p: Pod = serde_json::from_value(patched.clone()).expect("a valid v1 Pod");
    let inits = p.spec.unwrap().init_containers.unwrap();
    assert_eq!(
        inits[0].args.clone().unwrap(),
        [
            "init",
            "--proxy-uid",
            "1337",
            "--exclude-inbound-ports=9090",
            "--exclude-outbound-cidrs=169.254.169.254/32"
        ]
    );
    let e = env(&inits[1]);
    assert_eq!(value(&e, "PHIMESH_MODE"), "enforce");
    assert_eq!(value(&e, "PHIMESH_INBOUND_MTLS"), "strict");
    // ... while /mutate follows the webhook's default.
    let r = opt_in(&app(json!({}), json!({})));
    let out = apply(&app(json!({}), json!({})), &patch_of(&r).unwrap());
    let p: Pod = serde_json::from_value(out).unwrap();
    assert_eq!(
        value(
            &env(&p.spec.unwrap().init_containers.unwrap()[1]),
            "PHIMESH_MODE"
        ),
        "audit"
    );

    // The genuinely injected pod sent again: left alone on /mutate, denied on /mutate/phi (which
    // sees each pod once: reinvocationPolicy Never).
    let again = opt_in(&patched);
    assert_eq!(again["allowed"], true, "{again}");
    assert_eq!(
        again["auditAnnotations"]["injection"],
        "skipped: already_injected"
    );
    assert!(denial(&phi(&patched)).contains("phimesh.io/status: only the injector sets it"));

    // Wrong method on the new path; the metrics count the reasons.
    assert_eq!(w.curl_get("/mutate/phi").0, 405);
    let metrics = String::from_utf8(w.curl_get("/metrics").1).unwrap();
    for line in [
        r#"phimesh_webhook_reviews_total{action="denied",reason="phi_policy"} 10"#,
        r#"phimesh_webhook_reviews_total{action="denied",reason="look_alike"} 3"#,
        r#"phimesh_webhook_reviews_total{action="denied",reason="conflict"} 2"#,
        r#"phimesh_webhook_reviews_total{action="injected",reason="injected"} 5"#,
    ] {
        assert!(metrics.contains(line), "{line}:\n{metrics}");
    }
}

#[test]
fn bad_phi_allow_lists_stop_at_start() {
    let dir = tempfile::tempdir().unwrap();
    gen_certs(dir.path());
    let cert = format!("--cert={}", dir.path().join("tls.crt").display());
    let key = format!("--key={}", dir.path().join("tls.key").display());
    for (flag, env, bad) in [
        (
            "--phi-allowed-exclude-outbound-cidrs",
            "PHIMESH_PHI_ALLOWED_EXCLUDE_OUTBOUND_CIDRS",
            "0.0.0.0",
        ),
        (
            "--phi-allowed-exclude-outbound-ports",
            "PHIMESH_PHI_ALLOWED_EXCLUDE_OUTBOUND_PORTS",
            "https",
        ),
        (
            "--phi-allowed-exclude-inbound-ports",
            "PHIMESH_PHI_ALLOWED_EXCLUDE_INBOUND_PORTS",
            "0",
        ),
    ] {
        for by_env in [false, true] {
            let mut cmd = Command::new(BIN);
            cmd.args([
                "webhook",
                "--listen=127.0.0.1:0",
                "--mesh-networks=10.0.0.0/8",
            ])
            .args([&cert, &key]);
            if by_env {
                cmd.env(env, bad);
            } else {
                cmd.arg(format!("{flag}={bad}"));
            }
            let out = cmd.output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{flag}: {err}");
            assert_eq!(err.trim().lines().count(), 1, "{err}");
            assert!(err.contains(flag), "{flag}: {err}");
        }
    }
}
