//! `admission.k8s.io/v1` AdmissionReview: the wire types and the review of one request body.
//!
//! `k8s-openapi` generates types from the API server's OpenAPI document, which does not describe
//! `admission.k8s.io` (the API server sends these objects, it does not serve them), so the
//! structs here are written from the published Go types (`k8s.io/api/admission/v1/types.go`) with
//! serde; the embedded types (`UserInfo`, `Status`) are `k8s-openapi`'s.
//!
//! `kube-core`'s `admission` types (kube 5) were tried in their place and do not fit: its
//! `AdmissionResponse` keeps `patchType` private (settable only through a json-patch 4 `Patch`,
//! beside the workspace's json-patch 5), writes `patch` as an array of numbers rather than the
//! base64 string the API server's `[]byte` expects from JSON, always writes an empty `status`,
//! and its request type refuses to parse reviews this module answers on purpose (no `userInfo`,
//! an operation it does not know, an `object` that is not an object).
//!
//! [`review`] never panics and never fails: every input becomes an HTTP status and a body.
//!
//! | input | answer |
//! | --- | --- |
//! | not JSON, not an `admission.k8s.io/v1` `AdmissionReview`, no `request` or `uid` | HTTP 400, `{"error": ...}` (the API server applies the webhook's `failurePolicy`) |
//! | a request for anything but a v1 Pod | denied (400): the webhook configuration is wrong, say so loudly |
//! | a subresource, an operation other than `CREATE` | allowed unchanged |
//! | a pod that is skipped ([`crate::pod::SkipReason`]) | allowed unchanged, reason in `auditAnnotations`; a warning when it is left without the mesh (opted out, `hostNetwork`, Windows) |
//! | a pod that is refused ([`crate::pod::Refusal`]), including every PHI-namespace violation ([`crate::policy`]) | denied with the reason (400 for input that does not parse, 403 otherwise) |
//! | a pod that is injected | allowed with a base64 `JSONPatch` and any warnings (one per override that weakens protection) |
//!
//! Every answer's `auditAnnotations` also say which [`Policy`] reviewed it (`policy: opt-in` or
//! `phi`).

use std::collections::BTreeMap;

use base64::Engine as _;
use k8s_openapi::api::authentication::v1::UserInfo;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::InjectorConfig;
use crate::pod::{self, Outcome, Refusal};
use crate::policy::Policy;

/// `apiVersion` of the reviews this webhook speaks.
pub const API_VERSION: &str = "admission.k8s.io/v1";
/// `kind` of a review.
pub const KIND: &str = "AdmissionReview";

/// `AdmissionReview` (request or response).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionReview {
    /// `admission.k8s.io/v1`.
    #[serde(default)]
    pub api_version: String,
    /// `AdmissionReview`.
    #[serde(default)]
    pub kind: String,
    /// Sent by the API server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<AdmissionRequest>,
    /// Sent back by the webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<AdmissionResponse>,
}

/// `metav1.GroupVersionKind`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupVersionKind {
    /// API group, empty for the core group.
    #[serde(default)]
    pub group: String,
    /// Version.
    #[serde(default)]
    pub version: String,
    /// Kind.
    #[serde(default)]
    pub kind: String,
}

/// `metav1.GroupVersionResource`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupVersionResource {
    /// API group, empty for the core group.
    #[serde(default)]
    pub group: String,
    /// Version.
    #[serde(default)]
    pub version: String,
    /// Resource (plural).
    #[serde(default)]
    pub resource: String,
}

/// `AdmissionRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest {
    /// Echoed in the response.
    pub uid: String,
    /// Kind of the object, in the version the webhook asked for.
    pub kind: GroupVersionKind,
    /// Resource being requested.
    pub resource: GroupVersionResource,
    /// Subresource, if any (`status`, `ephemeralcontainers`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_resource: Option<String>,
    /// Kind as the client sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_kind: Option<GroupVersionKind>,
    /// Resource as the client sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_resource: Option<GroupVersionResource>,
    /// Subresource as the client sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_sub_resource: Option<String>,
    /// Object name (often empty on CREATE with `generateName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT`.
    pub operation: String,
    /// Who asked.
    #[serde(default)]
    pub user_info: UserInfo,
    /// The object as it would be stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<Value>,
    /// The existing object (UPDATE, DELETE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_object: Option<Value>,
    /// A dry run: no side effects (this webhook has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// Operation options (`CreateOptions`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Value>,
}

/// `AdmissionResponse`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    /// The request's uid.
    pub uid: String,
    /// Whether the request is admitted.
    pub allowed: bool,
    /// Why not (or details).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Base64 of the JSON patch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// `JSONPatch` when `patch` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<String>,
    /// Added to the audit event (the API server prefixes keys with the webhook name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_annotations: Option<BTreeMap<String, String>>,
    /// Shown to the client (`kubectl` prints them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
}

/// What the webhook answered, for the HTTP layer, logs and metrics.
#[derive(Debug)]
pub struct Verdict {
    /// HTTP status of the answer.
    pub http_status: u16,
    /// JSON body.
    pub body: Vec<u8>,
    /// `injected`, `skipped`, `denied` or `error` (metrics label).
    pub action: &'static str,
    /// Bounded reason (metrics label).
    pub reason: &'static str,
    /// `namespace/name` (or `generateName`) for logs, when known.
    pub pod: String,
}

fn error(reason: &'static str, message: &str) -> Verdict {
    Verdict {
        http_status: 400,
        body: serde_json::to_vec(&serde_json::json!({ "error": message }))
            .unwrap_or_else(|_| b"{}".to_vec()),
        action: "error",
        reason,
        pod: String::new(),
    }
}

/// Reviews one request body under `policy` (the path it came in on).
pub fn review(body: &[u8], cfg: &InjectorConfig, policy: Policy) -> Verdict {
    let review: AdmissionReview = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) if e.is_syntax() || e.is_eof() => {
            return error(
                "bad_json",
                &format!("body is not JSON (line {} column {})", e.line(), e.column()),
            )
        }
        Err(_) => {
            return error(
                "not_admission_review",
                "body is not an admission.k8s.io/v1 AdmissionReview",
            )
        }
    };
    if review.api_version != API_VERSION || review.kind != KIND {
        return error(
            "not_admission_review",
            "expected apiVersion admission.k8s.io/v1, kind AdmissionReview (set admissionReviewVersions: [v1])",
        );
    }
    let Some(req) = review.request else {
        return error("not_admission_review", "AdmissionReview has no request");
    };
    if req.uid.is_empty() {
        return error("not_admission_review", "AdmissionReview request has no uid");
    }
    let pod = describe(&req);
    let respond = |response: AdmissionResponse, action, reason| Verdict {
        http_status: 200,
        body: serde_json::to_vec(&AdmissionReview {
            api_version: API_VERSION.into(),
            kind: KIND.into(),
            request: None,
            response: Some(response),
        })
        .unwrap_or_else(|_| b"{}".to_vec()),
        action,
        reason,
        pod: pod.clone(),
    };
    let uid = req.uid.clone();
    let allow = |note: String| AdmissionResponse {
        uid: uid.clone(),
        allowed: true,
        audit_annotations: Some(BTreeMap::from([
            ("injection".to_owned(), note),
            ("policy".to_owned(), policy.as_str().to_owned()),
        ])),
        ..Default::default()
    };
    let deny = |code: i32, reason: &str, message: String| AdmissionResponse {
        uid: uid.clone(),
        allowed: false,
        audit_annotations: Some(BTreeMap::from([(
            "policy".to_owned(),
            policy.as_str().to_owned(),
        )])),
        status: Some(Status {
            code: Some(code),
            message: Some(format!("phimesh: {message}")),
            reason: Some(reason.to_owned()),
            status: Some("Failure".into()),
            ..Default::default()
        }),
        ..Default::default()
    };

    let is_pod = req.kind.group.is_empty() && req.kind.version == "v1" && req.kind.kind == "Pod";
    if !is_pod {
        let what = format!(
            "{}{}{}/{}",
            req.kind.group,
            if req.kind.group.is_empty() { "" } else { "/" },
            req.kind.version,
            req.kind.kind
        );
        let what: String = what.chars().take(100).collect();
        return respond(
            deny(
                400,
                "BadRequest",
                format!("this webhook mutates v1 Pods only, got {what}: check the MutatingWebhookConfiguration rules"),
            ),
            "denied",
            "wrong_kind",
        );
    }
    if req.sub_resource.as_deref().is_some_and(|s| !s.is_empty()) {
        return respond(
            allow("skipped: subresource".into()),
            "skipped",
            "subresource",
        );
    }
    if req.operation != "CREATE" {
        return respond(
            allow("skipped: not a CREATE".into()),
            "skipped",
            "not_create",
        );
    }
    let Some(object) = &req.object else {
        return respond(
            deny(400, "BadRequest", "the request has no object".into()),
            "denied",
            "invalid_pod",
        );
    };
    match pod::plan(object, req.namespace.as_deref(), cfg, policy) {
        Ok(Outcome::Skip(reason)) => {
            let mut r = allow(format!("skipped: {}", reason.as_str()));
            r.warnings = reason.warning().map(|w| vec![w]);
            respond(r, "skipped", reason.as_str())
        }
        Ok(Outcome::Inject {
            patch, warnings, ..
        }) => {
            let json = serde_json::to_vec(&patch).unwrap_or_else(|_| b"[]".to_vec());
            let mut r = allow("injected".into());
            r.patch = Some(base64::engine::general_purpose::STANDARD.encode(json));
            r.patch_type = Some("JSONPatch".into());
            if !warnings.is_empty() {
                r.warnings = Some(warnings);
            }
            respond(r, "injected", "injected")
        }
        Err(refusal) => {
            let (code, reason) = match refusal {
                Refusal::Annotation(_) | Refusal::Invalid(_) => (400, "BadRequest"),
                _ => (403, "Forbidden"),
            };
            let label = refusal.as_str();
            respond(deny(code, reason, refusal.to_string()), "denied", label)
        }
    }
}

/// `namespace/name` of the request, `namespace/generateName*` when the name is not chosen yet.
fn describe(req: &AdmissionRequest) -> String {
    let ns = req.namespace.as_deref().unwrap_or("");
    let name = req.name.clone().filter(|n| !n.is_empty()).or_else(|| {
        let meta = req.object.as_ref()?.get("metadata")?;
        meta.get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .or_else(|| {
                meta.get("generateName")
                    .and_then(Value::as_str)
                    .map(|g| format!("{g}*"))
            })
    });
    let s = format!("{ns}/{}", name.unwrap_or_default());
    s.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(object: Value) -> Value {
        json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "namespace": "patients",
                "operation": "CREATE",
                "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
                "object": object,
                "dryRun": false
            }
        })
    }

    fn pod() -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"generateName": "web-7d4b9-", "namespace": "patients"},
               "spec": {"containers": [{"name": "web", "image": "web:1"}]}})
    }

    fn response(v: &Verdict) -> AdmissionResponse {
        let r: AdmissionReview = serde_json::from_slice(&v.body).unwrap();
        assert_eq!(r.api_version, API_VERSION);
        assert_eq!(r.kind, KIND);
        r.response.unwrap()
    }

    #[test]
    fn injects() {
        let v = review(
            req(pod()).to_string().as_bytes(),
            &InjectorConfig::for_tests(),
            Policy::OptIn,
        );
        assert_eq!((v.http_status, v.action), (200, "injected"));
        assert_eq!(v.pod, "patients/web-7d4b9-*");
        let r = response(&v);
        assert!(r.allowed);
        assert_eq!(r.uid, "705ab4f5-6393-11e8-b7cc-42010a800002");
        assert_eq!(r.patch_type.as_deref(), Some("JSONPatch"));
        let patch = base64::engine::general_purpose::STANDARD
            .decode(r.patch.unwrap())
            .unwrap();
        let _: json_patch::Patch = serde_json::from_slice(&patch).unwrap();
    }

    #[test]
    fn garbage_is_a_clean_400() {
        let cfg = InjectorConfig::for_tests();
        for body in [
            &b""[..],
            b"{",
            b"\xff\xfe",
            b"[]",
            b"null",
            br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}}"#,
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#,
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"","kind":{},"resource":{},"operation":"CREATE"}}"#,
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":5}}"#,
        ] {
            let v = review(body, &cfg, Policy::Phi);
            assert_eq!(v.http_status, 400, "{:?}", String::from_utf8_lossy(body));
            let e: Value = serde_json::from_slice(&v.body).unwrap();
            assert!(e["error"].is_string());
        }
    }

    #[test]
    fn wrong_kind_is_denied_update_is_allowed() {
        let cfg = InjectorConfig::for_tests();
        let mut r = req(json!({"apiVersion": "apps/v1", "kind": "Deployment"}));
        r["request"]["kind"] = json!({"group": "apps", "version": "v1", "kind": "Deployment"});
        let v = review(r.to_string().as_bytes(), &cfg, Policy::OptIn);
        let resp = response(&v);
        assert!(!resp.allowed);
        assert!(resp
            .status
            .unwrap()
            .message
            .unwrap()
            .contains("apps/v1/Deployment"));
        let mut u = req(pod());
        u["request"]["operation"] = json!("UPDATE");
        let resp = response(&review(u.to_string().as_bytes(), &cfg, Policy::Phi));
        assert!(resp.allowed && resp.patch.is_none());
    }

    fn with_annotations(ann: Value) -> Value {
        let mut p = pod();
        p["metadata"]["annotations"] = ann;
        p
    }

    #[test]
    fn phi_denies_with_the_reason_where_opt_in_warns() {
        let cfg = InjectorConfig::for_tests();
        let ann = json!({"phimesh.io/exclude-outbound-cidrs": "0.0.0.0/0,::/0", "phimesh.io/mode": "audit"});
        let body = req(with_annotations(ann)).to_string();

        let v = review(body.as_bytes(), &cfg, Policy::Phi);
        assert_eq!(
            (v.http_status, v.action, v.reason),
            (200, "denied", "phi_policy")
        );
        let r = response(&v);
        assert!(!r.allowed && r.patch.is_none());
        let status = r.status.unwrap();
        assert_eq!(
            (status.code, status.reason.as_deref()),
            (Some(403), Some("Forbidden"))
        );
        let msg = status.message.unwrap();
        assert!(
            msg.starts_with("phimesh: denied in a PHI namespace (phimesh.io/phi=true): "),
            "{msg}"
        );
        assert!(msg.contains("phimesh.io/exclude-outbound-cidrs: 0.0.0.0/0,::/0 not in the operator's allow-list"), "{msg}");
        assert!(
            msg.contains("phimesh.io/mode: audit is not allowed"),
            "{msg}"
        );
        assert_eq!(r.audit_annotations.unwrap()["policy"], "phi");

        let v = review(body.as_bytes(), &cfg, Policy::OptIn);
        assert_eq!(v.action, "injected");
        let r = response(&v);
        assert!(r.allowed && r.patch.is_some());
        let w = r.warnings.unwrap();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("phimesh: phimesh.io/mode=audit"), "{w:?}");
        assert!(
            w[1].starts_with(
                "phimesh: phimesh.io/exclude-outbound-cidrs: traffic to 0.0.0.0/0,::/0"
            ),
            "{w:?}"
        );
        assert_eq!(r.audit_annotations.unwrap()["policy"], "opt-in");
    }

    #[test]
    fn opting_out_is_warned_on_opt_in_and_denied_on_phi() {
        let cfg = InjectorConfig::for_tests();
        let body = req(with_annotations(json!({"phimesh.io/inject": "disabled"}))).to_string();
        let r = response(&review(body.as_bytes(), &cfg, Policy::OptIn));
        assert!(r.allowed && r.patch.is_none());
        assert!(r.warnings.unwrap()[0].contains("runs without the phimesh sidecar"));
        let v = review(body.as_bytes(), &cfg, Policy::Phi);
        let r = response(&v);
        assert!(!r.allowed);
        assert!(r
            .status
            .unwrap()
            .message
            .unwrap()
            .contains("phimesh.io/inject (annotation): pods in a PHI namespace cannot opt out"));
    }
}
