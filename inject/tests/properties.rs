//! Property tests: untrusted input never panics the review or `phimesh inject`, and for any pod
//! shape the patch applies, yields a valid `k8s-openapi` Pod with the sidecar, and is not applied
//! twice (re-planning the result skips it).

use phimesh_inject::admission;
use phimesh_inject::config::InjectorConfig;
use phimesh_inject::manifest;
use phimesh_inject::pod::{self, Outcome, SkipReason};
use phimesh_inject::policy::Policy;
use proptest::prelude::*;
use serde_json::{json, Value};

fn cfg() -> InjectorConfig {
    InjectorConfig::for_tests()
}

fn review_of(object: Value) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "u-1",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "ns",
            "operation": "CREATE",
            "userInfo": {"username": "u"},
            "object": object
        }
    })
}

/// A pod with or without each optional part the patch has to handle.
fn arb_pod() -> impl Strategy<Value = Value> {
    (
        proptest::option::of(proptest::collection::btree_map("[a-z]{1,8}(/[a-z]{1,5})?", "[a-z0-9~/ ]{0,10}", 0..4)),
        proptest::option::of(proptest::collection::btree_map("[a-z]{1,8}", "[a-z0-9]{0,6}", 0..3)),
        proptest::option::of(0usize..3),
        proptest::option::of(0usize..3),
        1usize..4,
        prop_oneof![Just(None), Just(Some("native")), Just(Some("classic"))],
        any::<bool>(),
    )
        .prop_map(|(ann, labels, inits, vols, containers, mode, has_meta)| {
            let mut meta = serde_json::Map::new();
            meta.insert("name".into(), json!("p"));
            let mut ann = ann.map(|a| serde_json::to_value(a).unwrap());
            if let Some(m) = mode {
                ann.get_or_insert_with(|| json!({}))["phimesh.io/sidecar-mode"] = json!(m);
            }
            if let Some(a) = ann {
                meta.insert("annotations".into(), a);
            }
            if let Some(l) = labels {
                meta.insert("labels".into(), serde_json::to_value(l).unwrap());
            }
            let mut spec = json!({
                "containers": (0..containers).map(|i| json!({"name": format!("c{i}"), "image": "img"})).collect::<Vec<_>>()
            });
            if let Some(n) = inits {
                spec["initContainers"] = json!((0..n).map(|i| json!({"name": format!("i{i}"), "image": "img"})).collect::<Vec<_>>());
            }
            if let Some(n) = vols {
                spec["volumes"] = json!((0..n).map(|i| json!({"name": format!("v{i}"), "emptyDir": {}})).collect::<Vec<_>>());
            }
            let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "spec": spec});
            if has_meta {
                pod["metadata"] = Value::Object(meta);
            }
            pod
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_get_an_answer(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let v = admission::review(&body, &cfg(), Policy::OptIn);
        prop_assert!(v.http_status == 400 || v.http_status == 200);
        let _: Value = serde_json::from_slice(&v.body).unwrap();
    }

    #[test]
    fn arbitrary_objects_in_a_review_get_an_answer(obj in arb_json()) {
        let body = review_of(obj).to_string();
        let v = admission::review(body.as_bytes(), &cfg(), Policy::Phi);
        prop_assert_eq!(v.http_status, 200);
    }

    #[test]
    fn arbitrary_text_never_panics_inject(text in "(---\n|[a-z:{}\\[\\], \n-]|kind: Pod\n|apiVersion: v1\n|spec: \n){0,40}") {
        let _ = manifest::inject(&text, &cfg(), Policy::OptIn);
    }

    #[test]
    fn any_pod_shape_gets_a_valid_once_only_sidecar(p in arb_pod()) {
        let Outcome::Inject { patch, .. } = pod::plan(&p, Some("ns"), &cfg(), Policy::OptIn).unwrap() else {
            panic!("not injected: {p}");
        };
        let ops: json_patch::Patch = serde_json::from_value(serde_json::to_value(&patch).unwrap()).unwrap();
        let mut out = p.clone();
        json_patch::patch(&mut out, &ops).unwrap();
        let typed: k8s_openapi::api::core::v1::Pod = serde_json::from_value(out.clone()).unwrap();
        let spec = typed.spec.unwrap();
        let inits: Vec<_> = spec.init_containers.unwrap().into_iter().map(|c| c.name).collect();
        prop_assert_eq!(&inits[0], "phimesh-init");
        let all: Vec<_> = inits.iter().cloned().chain(spec.containers.iter().map(|c| c.name.clone())).collect();
        prop_assert_eq!(all.iter().filter(|n| *n == "phimesh-proxy").count(), 1);
        // Everything the pod had is still there.
        for c in p["spec"]["containers"].as_array().unwrap() {
            prop_assert!(all.contains(&c["name"].as_str().unwrap().to_owned()));
        }
        for (k, v) in p["metadata"]["annotations"].as_object().into_iter().flatten() {
            prop_assert_eq!(&out["metadata"]["annotations"][k], v);
        }
        prop_assert_eq!(pod::plan(&out, Some("ns"), &cfg(), Policy::OptIn).unwrap(), Outcome::Skip(SkipReason::AlreadyInjected));
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z0-9/.]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("metadata".to_owned()),
                    Just("spec".to_owned()),
                    Just("containers".to_owned()),
                    Just("initContainers".to_owned()),
                    Just("name".to_owned()),
                    Just("annotations".to_owned()),
                    Just("hostNetwork".to_owned()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
