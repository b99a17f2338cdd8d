//! Sidecar injection for phimesh: the mutating admission webhook (`phimesh webhook`) and its offline
//! twin (`phimesh inject`).
//!
//! Both share one decision and one patch ([`pod::plan`]): given a pod's metadata and spec and the
//! injector's [`config::InjectorConfig`], it either skips the pod with a typed
//! [`pod::SkipReason`], refuses it with a message (an annotation that does not parse, a pod that
//! would bypass the mesh), or returns RFC 6902 `add` operations that give the pod
//!
//! * `phimesh-init` — `phimesh init`, root with `NET_ADMIN`/`NET_RAW` only;
//! * `phimesh-proxy` — `phimesh proxy --transparent` as UID 1337, a native sidecar
//!   (`restartPolicy: Always` init container) or a classic container by annotation;
//! * the projected service-account token (audience `phimesh-ca`), the trust-bundle ConfigMap and
//!   scratch volumes, the injection status annotation and Prometheus scrape annotations.
//!
//! The decision follows a [`policy::Policy`]: in opt-in namespaces (`POST /mutate`) the pod's
//! `phimesh.io/...` overrides apply, with a warning for each one that weakens protection; in PHI
//! namespaces (`POST /mutate/phi`, label `phimesh.io/phi=true`) a pod cannot opt out, pick audit
//! mode, exclude traffic beyond the operator's allow-list, carry look-alike phimesh containers or
//! labels, or hold the sidecar's mesh identity: it is denied, each reason named. A pod counts as
//! already injected only when it carries this injector's genuine sidecar
//! ([`sidecar::is_genuine`]). A ValidatingAdmissionPolicy in `deploy/` re-checks PHI pods after
//! every mutating webhook, so a bypassed or misordered injector cannot admit an unmeshed pod.
//!
//! The webhook ([`webhook`]) sends those operations to the API server as the base64 `patch` of an
//! `admission.k8s.io/v1` AdmissionReview ([`admission`]); `phimesh inject` ([`manifest`]) applies
//! them to the pod templates of multi-document YAML. Pods are read through `k8s-openapi`'s typed
//! `ObjectMeta`/`PodSpec` for decisions but are never re-serialised from those types, so fields
//! newer than the compiled API version survive untouched.
//!
//! A helper runs from the same binary: [`certs`] (`phimesh webhook gen-certs`) makes the
//! webhook's serving certificate and `caBundle` for clusters without cert-manager. The trust
//! bundle the sidecars mount (ConfigMap `phimesh-trust-bundle`) is kept in each namespace with
//! injected pods by the CA itself (`phimesh ca --state-backend kubernetes`).
//!
//! Annotations are documented in [`annotations`]; the whole picture for operators is in
//! `deploy/README.md`. Logs and errors name pods and namespaces, never environment values or
//! request bodies.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod admission;
pub mod annotations;
pub mod certs;
pub mod cli;
pub mod config;
pub mod manifest;
pub mod metrics;
pub mod pod;
pub mod policy;
pub mod sidecar;
pub mod tls;
pub mod values;
pub mod webhook;
pub mod yaml_out;
pub mod yaml_patch;

/// Pods for the crate's tests.
#[cfg(test)]
pub(crate) mod test_pods {
    use serde_json::{json, Value};

    /// `spec` (a PodSpec as JSON) with the settings a PHI namespace asks of app containers
    /// (a non-root `runAsUser` for the pod, `allowPrivilegeEscalation: false` for each container), where
    /// the spec does not set them itself.
    pub(crate) fn harden(mut spec: Value) -> Value {
        if spec.get("securityContext").is_none() {
            spec["securityContext"] = json!({"runAsUser": 1000, "runAsNonRoot": true});
        }
        for list in ["initContainers", "containers"] {
            if let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) {
                for c in cs {
                    if c.get("securityContext").is_none() {
                        c["securityContext"] = json!({});
                    }
                    let sc = &mut c["securityContext"];
                    if sc.get("allowPrivilegeEscalation").is_none() {
                        sc["allowPrivilegeEscalation"] = json!(false);
                    }
                }
            }
        }
        spec
    }
}
