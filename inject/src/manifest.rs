//! `phimesh inject`: the webhook's injection applied offline to multi-document YAML.
//!
//! Each document is read on its own. Pods, and the pod templates of Deployments, StatefulSets,
//! DaemonSets, ReplicaSets, ReplicationControllers, Jobs and CronJobs (and of `v1` `List` items)
//! get the same patch the webhook would send; the namespace is the manifest's
//! `metadata.namespace` when it has one. Every other document, and every workload that is
//! skipped (already injected, opted out, `hostNetwork`, ...), is written back **byte for byte**,
//! comments included, so running `phimesh inject` on its own output changes nothing. An injected
//! document is re-serialised in its original key order by [`crate::yaml_out`], which quotes every
//! string YAML 1.1 (kubectl) would read as something else; comments in it are lost, as with
//! `istioctl kube-inject`. A workload that would be refused stops the whole run: no partial
//! output reaches `kubectl apply`.

use serde_json::Value as Json;
use serde_yaml::Value as Yaml;

use crate::config::InjectorConfig;
use crate::pod::{self, Outcome, Refusal, SkipReason};
use crate::policy::Policy;
use crate::yaml_patch;

/// Largest input read (a cluster dump of a few thousand objects fits).
pub const MAX_INPUT: u64 = 64 * 1024 * 1024;

/// Why a manifest could not be injected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// A document is not YAML.
    #[error("document {doc}: not valid YAML: {message}")]
    Yaml {
        /// 1-based document number.
        doc: usize,
        /// Parser message (location, no content).
        message: String,
    },
    /// A workload that asked for the mesh cannot have it.
    #[error("document {doc} ({object}): {refusal}")]
    Refused {
        /// 1-based document number.
        doc: usize,
        /// `Kind name`.
        object: String,
        /// Why.
        refusal: Refusal,
    },
    /// A patch did not apply (a bug: the patch is made from the same document).
    #[error("document {doc} ({object}): {source}")]
    Patch {
        /// 1-based document number.
        doc: usize,
        /// `Kind name`.
        object: String,
        /// Cause.
        source: yaml_patch::PatchError,
    },
}

/// What happened to each workload.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Report {
    /// `Kind name` of each injected workload.
    pub injected: Vec<String>,
    /// `Kind name` and reason of each skipped workload.
    pub skipped: Vec<(String, SkipReason)>,
    /// Warnings, prefixed with the workload.
    pub warnings: Vec<String>,
}

/// Splits YAML text into documents at `---` lines, dropping `...` end markers and documents that
/// are only whitespace. Comment-only documents are kept.
pub fn split_documents(input: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    for line in input.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        let is_start = bare == "---" || bare.starts_with("--- ") || bare.starts_with("---\t");
        let is_end = bare == "..." || bare.starts_with("... ");
        if is_start || is_end {
            docs.push(&input[start..pos]);
            // A `--- value` line starts a document whose content begins on that line.
            start = if is_start && bare.len() > 3 && !bare[3..].trim_start().starts_with('#') {
                pos + 4
            } else {
                pos + line.len()
            };
        }
        pos += line.len();
    }
    docs.push(&input[start..]);
    docs.into_iter().filter(|d| !d.trim().is_empty()).collect()
}

/// Where a kind keeps its pod templates.
fn templates(api_version: &str, kind: &str) -> Option<&'static str> {
    match (api_version, kind) {
        ("v1", "Pod") => Some(""),
        ("apps/v1", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("v1", "ReplicationController")
        | ("batch/v1", "Job") => Some("/spec/template"),
        ("batch/v1", "CronJob") => Some("/spec/jobTemplate/spec/template"),
        _ => None,
    }
}

fn describe(obj: &Json) -> String {
    let kind = obj.get("kind").and_then(Json::as_str).unwrap_or("?");
    let name = obj
        .pointer("/metadata/name")
        .and_then(Json::as_str)
        .unwrap_or("?");
    format!("{kind} {name}")
}

/// Injects every workload of `input` under `policy` ([`Policy::Phi`] for manifests bound for a
/// PHI namespace: what the webhook would deny there stops the run); returns the new text and
/// what happened.
pub fn inject(
    input: &str,
    cfg: &InjectorConfig,
    policy: Policy,
) -> Result<(String, Report), ManifestError> {
    let mut report = Report::default();
    let mut out: Vec<String> = Vec::new();
    for (i, text) in split_documents(input).into_iter().enumerate() {
        let doc = i + 1;
        let yaml_err = |e: &dyn std::fmt::Display| ManifestError::Yaml {
            doc,
            message: e.to_string().chars().take(200).collect(),
        };
        let mut yaml: Yaml = serde_yaml::from_str(text).map_err(|e| yaml_err(&e))?;
        if yaml.is_null() {
            out.push(text.to_owned());
            continue;
        }
        let json: Json = serde_json::to_value(&yaml).map_err(|e| yaml_err(&e))?;
        let mut changed = false;
        let mut visit =
            |obj_ptr: String, obj: &Json, yaml: &mut Yaml| -> Result<(), ManifestError> {
                let api = obj.get("apiVersion").and_then(Json::as_str).unwrap_or("");
                let kind = obj.get("kind").and_then(Json::as_str).unwrap_or("");
                let Some(tpl) = templates(api, kind) else {
                    return Ok(());
                };
                let object = describe(obj);
                let Some(template) = obj.pointer(tpl) else {
                    return Ok(());
                };
                let ns = obj.pointer("/metadata/namespace").and_then(Json::as_str);
                match pod::plan(template, ns, cfg, policy) {
                    Ok(Outcome::Skip(r)) => report.skipped.push((object, r)),
                    Ok(Outcome::Inject {
                        patch, warnings, ..
                    }) => {
                        yaml_patch::apply(yaml, &format!("{obj_ptr}{tpl}"), &patch).map_err(
                            |source| ManifestError::Patch {
                                doc,
                                object: object.clone(),
                                source,
                            },
                        )?;
                        report
                            .warnings
                            .extend(warnings.into_iter().map(|w| format!("{object}: {w}")));
                        report.injected.push(object);
                        changed = true;
                    }
                    Err(refusal) => {
                        return Err(ManifestError::Refused {
                            doc,
                            object,
                            refusal,
                        })
                    }
                }
                Ok(())
            };
        let is_list = json.get("apiVersion").and_then(Json::as_str) == Some("v1")
            && json.get("kind").and_then(Json::as_str) == Some("List");
        if is_list {
            for (j, item) in json
                .get("items")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                visit(format!("/items/{j}"), item, &mut yaml)?;
            }
        } else {
            visit(String::new(), &json, &mut yaml)?;
        }
        if changed {
            out.push(crate::yaml_out::to_string(&yaml).map_err(|e| yaml_err(&e))?);
        } else {
            out.push(text.to_owned());
        }
    }
    let mut text = String::new();
    for (i, d) in out.iter().enumerate() {
        if i > 0 {
            text.push_str("---\n");
        }
        text.push_str(d);
        if !d.ends_with('\n') {
            text.push('\n');
        }
    }
    Ok((text, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_documents() {
        let d = split_documents(
            "---\na: 1\n---\n\n--- # c\nb: 2\n...\n---\n# only a comment\n--- c: 3\n",
        );
        assert_eq!(d, vec!["a: 1\n", "b: 2\n", "# only a comment\n", "c: 3\n"]);
        assert_eq!(
            split_documents("x: |\n  ---not a marker\n"),
            vec!["x: |\n  ---not a marker\n"]
        );
    }

    #[test]
    fn injects_templates_and_keeps_the_rest_verbatim() {
        let input = "# leading comment\napiVersion: v1\nkind: Service\nmetadata: {name: s}   # odd style kept\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: web:1\n";
        let (out, report) = inject(input, &InjectorConfig::for_tests(), Policy::OptIn).unwrap();
        assert!(out.starts_with("# leading comment\napiVersion: v1\nkind: Service\nmetadata: {name: s}   # odd style kept\n---\napiVersion: apps/v1\n"), "{out}");
        assert_eq!(report.injected, vec!["Deployment web"]);
        let (again, report2) = inject(&out, &InjectorConfig::for_tests(), Policy::OptIn).unwrap();
        assert_eq!(again, out);
        assert_eq!(
            report2.skipped,
            vec![("Deployment web".to_owned(), SkipReason::AlreadyInjected)]
        );
    }

    #[test]
    fn phi_policy_stops_a_weakening_manifest() {
        let input = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    metadata:\n      annotations: {phimesh.io/mode: audit}\n    spec: {containers: [{name: web, image: web}]}\n";
        let cfg = InjectorConfig::for_tests();
        let (_, report) = inject(input, &cfg, Policy::OptIn).unwrap();
        assert_eq!(report.warnings.len(), 1, "{report:?}");
        let e = inject(input, &cfg, Policy::Phi).unwrap_err().to_string();
        assert!(
            e.starts_with("document 1 (Deployment web): denied in a PHI namespace"),
            "{e}"
        );
        assert!(e.contains("phimesh.io/mode: audit"), "{e}");
    }

    #[test]
    fn lists_are_walked() {
        let input = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n  spec: {containers: [{name: a, image: a}]}\n";
        let (out, report) = inject(input, &InjectorConfig::for_tests(), Policy::OptIn).unwrap();
        assert_eq!(report.injected, vec!["Pod a"]);
        let v: Json = serde_yaml::from_str(&out).unwrap();
        assert_eq!(
            v["items"][0]["spec"]["initContainers"][1]["name"],
            "phimesh-proxy"
        );
    }

    #[test]
    fn errors_name_the_document() {
        let e = inject(
            "a: 1\n---\nb: [\n",
            &InjectorConfig::for_tests(),
            Policy::OptIn,
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("document 2: not valid YAML"),
            "{e}"
        );
        let bad = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {phimesh.io/mode: loud}}\nspec: {containers: [{name: a}]}\n";
        let e = inject(bad, &InjectorConfig::for_tests(), Policy::OptIn).unwrap_err();
        assert!(
            e.to_string()
                .contains("document 1 (Pod p): annotation phimesh.io/mode"),
            "{e}"
        );
    }
}
