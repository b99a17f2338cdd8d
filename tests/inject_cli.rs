//! End-to-end tests of `phimesh inject -f FILE`: the real binary on the sample multi-document
//! manifest `deploy/examples/workloads.yaml` (Deployment, StatefulSet, DaemonSet, Job, CronJob,
//! Pod, plus a Service and a ConfigMap that must come back byte for byte). The output is parsed
//! into `k8s-openapi` types, checked field by field, injected again (identical), read from stdin
//! (identical), and passed through the `kubernetes-validate` schema check for Kubernetes 1.33.

#[path = "support/k8s.rs"]
mod support_k8s;
use support_k8s::kubernetes_validate;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, PodSpec, Service};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_phimesh");

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/examples/workloads.yaml")
}

fn inject(file: &str, stdin: Option<&[u8]>, extra: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["inject", "-f", file, "--mesh-networks=10.244.0.0/16"])
        .args(extra)
        .env_remove("PHIMESH_MESH_NETWORKS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(b) = stdin {
        input.write_all(b).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn docs(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| <Value as serde::Deserialize>::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

fn names(cs: &Option<Vec<Container>>) -> Vec<String> {
    cs.iter().flatten().map(|c| c.name.clone()).collect()
}

fn env(c: &Container, name: &str) -> String {
    c.env
        .iter()
        .flatten()
        .find(|e| e.name == name)
        .and_then(|e| e.value.clone())
        .unwrap_or_else(|| panic!("{name}"))
}

fn proxy(spec: &PodSpec) -> Container {
    spec.init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
        .find(|c| c.name == "phimesh-proxy")
        .cloned()
        .expect("phimesh-proxy")
}

fn init_args(spec: &PodSpec) -> Vec<String> {
    spec.init_containers.clone().unwrap()[0]
        .args
        .clone()
        .unwrap()
}

#[test]
fn injects_every_workload_kind_and_leaves_the_rest_byte_for_byte() {
    let input = std::fs::read_to_string(sample()).unwrap();
    let out = inject(sample().to_str().unwrap(), None, &[]);
    let text = ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);

    // Untouched documents: the Service and ConfigMap, comments and flow style kept.
    let service_chunk = input.split("---\n").next().unwrap();
    assert!(text.starts_with(service_chunk), "{text}");
    assert!(text.contains("  selector: {app: records}   # flow style and this comment survive\n"));
    let cm_chunk = input.split("---\n").nth(1).unwrap();
    assert!(text.contains(cm_chunk));

    let d = docs(&text);
    let kinds: Vec<_> = d.iter().map(|v| v["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "Service",
            "ConfigMap",
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "Job",
            "CronJob",
            "Pod",
            "Deployment"
        ]
    );
    let _: Service = serde_json::from_value(d[0].clone()).unwrap();
    let _: ConfigMap = serde_json::from_value(d[1].clone()).unwrap();

    // Deployment: native sidecar before the app's init container; exclusion from its annotation.
    let dep: Deployment = serde_json::from_value(d[2].clone()).unwrap();
    let tpl = dep.spec.unwrap().template;
    let spec = tpl.spec.unwrap();
    assert_eq!(
        names(&spec.init_containers),
        ["phimesh-init", "phimesh-proxy", "migrate"]
    );
    assert_eq!(names(&Some(spec.containers.clone())), ["records"]);
    assert_eq!(
        init_args(&spec),
        [
            "init",
            "--proxy-uid",
            "1337",
            "--exclude-outbound-cidrs=169.254.169.254/32"
        ]
    );
    let p = proxy(&spec);
    assert_eq!(p.restart_policy.as_deref(), Some("Always"));
    assert_eq!(env(&p, "PHIMESH_MESH_NETWORKS"), "10.244.0.0/16");
    assert_eq!(
        env(&p, "PHIMESH_IDENTITY"),
        "spiffe://cluster.local/ns/$(POD_NAMESPACE)/sa/$(POD_SERVICE_ACCOUNT)"
    );
    let meta = tpl.metadata.unwrap();
    assert_eq!(meta.labels.unwrap()["phimesh.io/sidecar"], "injected");
    assert!(meta.annotations.unwrap().contains_key("phimesh.io/status"));
    let vols: Vec<_> = spec.volumes.unwrap().into_iter().map(|v| v.name).collect();
    assert_eq!(
        vols,
        [
            "phimesh-token",
            "phimesh-trust",
            "phimesh-xtables",
            "phimesh-tmp"
        ]
    );

    // StatefulSet: classic sidecar, permissive inbound mTLS.
    let sts: StatefulSet = serde_json::from_value(d[3].clone()).unwrap();
    let spec = sts.spec.unwrap().template.spec.unwrap();
    assert_eq!(
        names(&Some(spec.containers.clone())),
        ["phimesh-proxy", "ledger"]
    );
    assert_eq!(names(&spec.init_containers), ["phimesh-init"]);
    assert_eq!(env(&proxy(&spec), "PHIMESH_INBOUND_MTLS"), "permissive");
    assert!(
        stderr.contains("StatefulSet ledger: phimesh: classic sidecar"),
        "{stderr}"
    );

    // DaemonSet on the host network: skipped with the reason, document unchanged.
    let ds: DaemonSet = serde_json::from_value(d[4].clone()).unwrap();
    let spec = ds.spec.unwrap().template.spec.unwrap();
    assert!(spec.init_containers.is_none());
    assert!(
        stderr.contains("DaemonSet node-agent: skipped: hostNetwork"),
        "{stderr}"
    );
    let ds_chunk = input.split("---\n").nth(4).unwrap();
    assert!(text.contains(ds_chunk));

    // Job: a native sidecar does not keep the Job from completing.
    let job: Job = serde_json::from_value(d[5].clone()).unwrap();
    let spec = job.spec.unwrap().template.spec.unwrap();
    assert_eq!(proxy(&spec).restart_policy.as_deref(), Some("Always"));
    assert_eq!(spec.restart_policy.as_deref(), Some("Never"));

    // CronJob: the job template's pod, audit mode from its annotation.
    let cj: CronJob = serde_json::from_value(d[6].clone()).unwrap();
    let spec = cj
        .spec
        .unwrap()
        .job_template
        .spec
        .unwrap()
        .template
        .spec
        .unwrap();
    assert_eq!(env(&proxy(&spec), "PHIMESH_MODE"), "audit");

    // Pod: excluded inbound port and memory limit from annotations.
    let pod: Pod = serde_json::from_value(d[7].clone()).unwrap();
    let spec = pod.spec.unwrap();
    assert_eq!(init_args(&spec)[3..], ["--exclude-inbound-ports=9090"]);
    let limits = proxy(&spec).resources.unwrap().limits.unwrap();
    assert_eq!(limits["memory"].0, "512Mi");

    // Opted out by label: unchanged.
    let legacy: Deployment = serde_json::from_value(d[8].clone()).unwrap();
    assert!(legacy
        .spec
        .unwrap()
        .template
        .spec
        .unwrap()
        .init_containers
        .is_none());
    assert!(
        stderr.contains("Deployment legacy: skipped: phimesh.io/inject is disabled"),
        "{stderr}"
    );
}

#[test]
fn twice_is_once_and_stdin_is_the_same_as_a_file() {
    let first = ok(&inject(sample().to_str().unwrap(), None, &[]));
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("once.yaml");
    std::fs::write(&f, &first).unwrap();
    let second = ok(&inject(f.to_str().unwrap(), None, &[]));
    assert_eq!(first, second, "phimesh inject is not idempotent");
    let input = std::fs::read(sample()).unwrap();
    let piped = ok(&inject("-", Some(&input), &[]));
    assert_eq!(first, piped);
}

#[test]
fn output_passes_the_kubernetes_schema_validator() {
    let text = ok(&inject(sample().to_str().unwrap(), None, &[]));
    // 1.33: native sidecars (restartPolicy on init containers) are GA there.
    let out = kubernetes_validate(&text, "1.33.0");
    assert!(
        out.status.success(),
        "kubernetes-validate (installed by scripts/setup): {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn flags_change_what_is_injected() {
    let pod = b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: a}]}\n";
    let text = ok(&inject(
        "-",
        Some(pod),
        &[
            "--image=registry.example/phimesh:9",
            "--trust-domain=example.org",
            "--sidecar-mode=classic",
            "--mode=audit",
            "--proxy-cpu-limit=",
        ],
    ));
    let p: Pod = serde_json::from_value(docs(&text)[0].clone()).unwrap();
    let spec = p.spec.unwrap();
    assert_eq!(spec.containers[0].name, "phimesh-proxy");
    assert_eq!(
        spec.containers[0].image.as_deref(),
        Some("registry.example/phimesh:9")
    );
    assert_eq!(
        env(&spec.containers[0], "PHIMESH_IDENTITY"),
        "spiffe://example.org/ns/$(POD_NAMESPACE)/sa/$(POD_SERVICE_ACCOUNT)"
    );
    assert_eq!(env(&spec.containers[0], "PHIMESH_MODE"), "audit");
    let limits: BTreeMap<_, _> = spec.containers[0]
        .resources
        .clone()
        .unwrap()
        .limits
        .unwrap();
    assert!(!limits.contains_key("cpu"));
}

#[test]
fn bad_input_exits_2_with_one_line_and_no_output() {
    let refused = b"apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    metadata: {annotations: {phimesh.io/inbound-mtls: off}}\n    spec: {containers: [{name: a, image: a}]}\n";
    let cases: Vec<(&[u8], &str)> = vec![
        (b"a: 1\n---\nb: [1, 2\n", "document 2: not valid YAML"),
        (refused, "document 2 (Deployment web): annotation phimesh.io/inbound-mtls"),
        (b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, securityContext: {runAsUser: 1337}}]}\n", "UID 1337"),
    ];
    for (input, expect) in cases {
        let out = inject("-", Some(input), &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            out.stdout.is_empty(),
            "partial output must not reach kubectl apply"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(expect), "{expect}: {err}");
    }
    let out = inject("/nonexistent/x.yaml", None, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.yaml"));
    let out = Command::new(BIN)
        .args(["inject", "-f", "-"])
        .env_remove("PHIMESH_MESH_NETWORKS")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--mesh-networks"));
}

#[test]
fn strings_yaml_1_1_would_misread_stay_strings_for_kubectl() {
    // kubectl reads YAML 1.1: plain `on` is a boolean there, `2024-01-01` a timestamp.
    let pod = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {a: \"on\", b: \"No\", c: \"2024-01-01\", d: \"1_000\"}\nspec: {containers: [{name: a, image: a}]}\n";
    let text = ok(&inject("-", Some(pod), &[]));
    for line in [
        "a: \"on\"",
        "b: \"No\"",
        "c: \"2024-01-01\"",
        "d: \"1_000\"",
        "prometheus.io/scrape: \"true\"",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
}

#[test]
fn phi_flag_stops_a_manifest_the_phi_webhook_would_deny_and_opt_in_warns() {
    let pod = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: records\n  annotations:\n    phimesh.io/mode: audit\n    phimesh.io/exclude-outbound-cidrs: 0.0.0.0/0\nspec:\n  containers: [{name: records, image: records}]\n";
    // Opt-in: injected as asked, each weakening override warned about on stderr.
    let out = inject("-", Some(pod), &[]);
    let text = ok(&out);
    assert!(
        text.contains("--exclude-outbound-cidrs=0.0.0.0/0"),
        "{text}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("phimesh inject: warning: Pod records: phimesh: phimesh.io/mode=audit"),
        "{err}"
    );
    assert!(
        err.contains("phimesh: phimesh.io/exclude-outbound-cidrs: traffic to 0.0.0.0/0"),
        "{err}"
    );
    // --phi (or PHIMESH_PHI): the run stops with every reason and writes nothing.
    for extra in [&["--phi"][..], &[]] {
        let mut cmd = Command::new(BIN);
        cmd.args(["inject", "-f", "-", "--mesh-networks=10.244.0.0/16"])
            .args(extra)
            .env_remove("PHIMESH_MESH_NETWORKS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if extra.is_empty() {
            cmd.env("PHIMESH_PHI", "true");
        }
        let mut child = cmd.spawn().unwrap();
        child.stdin.take().unwrap().write_all(pod).unwrap();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(out.stdout.is_empty());
        assert!(
            err.contains("document 1 (Pod records): denied in a PHI namespace"),
            "{err}"
        );
        assert!(
            err.contains("phimesh.io/mode: audit is not allowed"),
            "{err}"
        );
        assert!(
            err.contains("phimesh.io/exclude-outbound-cidrs: 0.0.0.0/0 not in"),
            "{err}"
        );
    }
    // The allowed exclusion passes with --phi.
    let allowed = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: records\n  annotations: {phimesh.io/exclude-outbound-cidrs: 169.254.169.254/32}\nspec:\n  securityContext: {runAsUser: 1000, runAsNonRoot: true}\n  containers: [{name: records, image: records, securityContext: {allowPrivilegeEscalation: false}}]\n";
    let out = inject(
        "-",
        Some(allowed),
        &[
            "--phi",
            "--phi-allowed-exclude-outbound-cidrs=169.254.169.254/32",
        ],
    );
    assert!(ok(&out).contains("PHIMESH_MODE"));
}
