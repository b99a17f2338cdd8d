//! Applies the injector's RFC 6902 `add` operations to a `serde_yaml::Value`, so `phimesh inject`
//! keeps the key order of the manifest it was given (a `serde_json::Value` would sort keys).
//! Tests check it against the `json-patch` crate on the same operations.

use serde_yaml::Value;

use crate::pod::PatchOp;

/// Why an operation could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("patch {path}: {reason}")]
pub struct PatchError {
    /// The operation's path.
    pub path: String,
    /// What went wrong.
    pub reason: &'static str,
}

fn tokens(path: &str) -> Option<Vec<String>> {
    if path.is_empty() {
        return Some(Vec::new());
    }
    let rest = path.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// Applies `ops`, each with `prefix` (a JSON pointer) put before its path.
pub fn apply(root: &mut Value, prefix: &str, ops: &[PatchOp]) -> Result<(), PatchError> {
    for op in ops {
        let path = format!("{prefix}{}", op.path);
        let err = |reason| PatchError {
            path: path.clone(),
            reason,
        };
        if op.op != "add" {
            return Err(err("only add is supported"));
        }
        let toks = tokens(&path).ok_or_else(|| err("not a JSON pointer"))?;
        let (last, parents) = toks
            .split_last()
            .ok_or_else(|| err("cannot replace the root"))?;
        let mut node = &mut *root;
        for t in parents {
            node = match node {
                Value::Mapping(m) => m.get_mut(t.as_str()).ok_or_else(|| err("missing parent"))?,
                Value::Sequence(s) => {
                    let i: usize = t.parse().map_err(|_| err("bad index"))?;
                    s.get_mut(i).ok_or_else(|| err("index out of range"))?
                }
                _ => return Err(err("parent is not a container")),
            };
        }
        let value = serde_yaml::to_value(&op.value).map_err(|_| err("value not representable"))?;
        match node {
            Value::Mapping(m) => {
                m.insert(Value::String(last.clone()), value);
            }
            Value::Sequence(s) => {
                if last == "-" {
                    s.push(value);
                } else {
                    let i: usize = last.parse().map_err(|_| err("bad index"))?;
                    if i > s.len() {
                        return Err(err("index out of range"));
                    }
                    s.insert(i, value);
                }
            }
            _ => return Err(err("parent is not a container")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(path: &str, value: serde_json::Value) -> PatchOp {
        PatchOp {
            op: "add",
            path: path.into(),
            value,
        }
    }

    #[test]
    fn matches_json_patch_and_keeps_order() {
        let doc = "zeta: 1\nalpha:\n  list: [1, 2]\n  m: {b: 1}\n";
        let ops = vec![
            op("/alpha/list/0", json!(0)),
            op("/alpha/list/-", json!(3)),
            op("/alpha/m/a~1b", json!("x")),
            op("/new", json!({"k": [true]})),
        ];
        let mut y: Value = serde_yaml::from_str(doc).unwrap();
        apply(&mut y, "", &ops).unwrap();
        let mut j: serde_json::Value = serde_yaml::from_str(doc).unwrap();
        let p: json_patch::Patch =
            serde_json::from_value(serde_json::to_value(&ops).unwrap()).unwrap();
        json_patch::patch(&mut j, &p).unwrap();
        assert_eq!(serde_json::to_value(&y).unwrap(), j);
        let out = serde_yaml::to_string(&y).unwrap();
        assert!(out.starts_with("zeta: 1\nalpha:"), "{out}");
    }

    #[test]
    fn prefix_and_errors() {
        let mut y: Value = serde_yaml::from_str("spec: {template: {spec: {}}}").unwrap();
        apply(&mut y, "/spec/template", &[op("/spec/x", json!(1))]).unwrap();
        assert_eq!(y["spec"]["template"]["spec"]["x"], Value::from(1));
        for bad in ["/nope/x", "/spec/template/spec/x/y", "x"] {
            assert!(apply(&mut y, "", &[op(bad, json!(1))]).is_err(), "{bad}");
        }
    }
}
