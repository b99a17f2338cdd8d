//! Writes a `serde_yaml::Value` as YAML that reads back the same under YAML 1.2 (serde_yaml) *and*
//! YAML 1.1 (kubectl's `sigs.k8s.io/yaml`).
//!
//! `serde_yaml::to_string` writes the string `"on"` as `on`, which YAML 1.1 reads as the boolean
//! `true` — an annotation `"on"` would then break `kubectl apply` on `phimesh inject`'s output, and
//! `2024-01-01` or `1_000` would change type the same way. Here a string is written plain only when
//! it cannot be anything but a string in either version: it starts with a letter, `_`, `/` or
//! `--`/`-x`, holds only letters, digits and `_ . / - : =` (no `: `, no trailing `:`), and is not
//! one of YAML 1.1's boolean or null words; anything starting with a digit is quoted.
//! Every other string is written double-quoted with JSON escapes, which both versions read.
//! Layout follows `kubectl get -o yaml`: two-space indentation, sequences at their key's column.

use serde_yaml::Value;

/// YAML 1.1 words that are not strings when plain (compared lower-cased).
const RESERVED: [&str; 9] = ["y", "yes", "n", "no", "true", "false", "on", "off", "null"];

fn plain_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return false;
    };
    // `-` starts a plain scalar only before a letter or another `-` (`--flag`, not `- x` or `-1`).
    let start = first.is_ascii_alphabetic()
        || first == b'_'
        || first == b'/'
        || (first == b'-'
            && b.get(1)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'-'));
    // `:` only inside and not before a space (`spiffe://x`, `image:tag`), never at the end.
    let colons_ok = !s.ends_with(':') && !s.contains(": ");
    start
        && colons_ok
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"_./-:=".contains(c))
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str())
}

fn scalar(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if plain_ok(s) => s.clone(),
        Value::String(s) => serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()),
        Value::Sequence(s) if s.is_empty() => "[]".into(),
        Value::Mapping(m) if m.is_empty() => "{}".into(),
        _ => return None,
    })
}

fn key(k: &Value) -> Result<String, &'static str> {
    match k {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => scalar(k).ok_or("unsupported key"),
        _ => Err("mapping key is not a scalar"),
    }
}

/// Writes `v` (a mapping at the top, as a Kubernetes object is).
pub fn to_string(v: &Value) -> Result<String, &'static str> {
    let mut out = String::new();
    match v {
        Value::Mapping(m) if !m.is_empty() => mapping(m, 0, &mut out)?,
        other => {
            out.push_str(&scalar(other).ok_or("unsupported value")?);
            out.push('\n');
        }
    }
    Ok(out)
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Each `key: value` line at `indent`; the first line's indentation is written by the caller
/// when `first_inline` (a mapping that is a sequence item starts after `- `).
fn mapping_lines(
    m: &serde_yaml::Mapping,
    indent: usize,
    first_inline: bool,
    out: &mut String,
) -> Result<(), &'static str> {
    for (i, (k, v)) in m.iter().enumerate() {
        if !(i == 0 && first_inline) {
            pad(out, indent);
        }
        out.push_str(&key(k)?);
        out.push(':');
        value_after_key(v, indent, out)?;
    }
    Ok(())
}

fn mapping(m: &serde_yaml::Mapping, indent: usize, out: &mut String) -> Result<(), &'static str> {
    mapping_lines(m, indent, false, out)
}

fn value_after_key(v: &Value, indent: usize, out: &mut String) -> Result<(), &'static str> {
    if let Some(s) = scalar(v) {
        out.push(' ');
        out.push_str(&s);
        out.push('\n');
        return Ok(());
    }
    out.push('\n');
    match v {
        Value::Mapping(m) => mapping(m, indent + 2, out),
        Value::Sequence(s) => sequence(s, indent, out),
        Value::Tagged(_) => Err("tagged values are not supported"),
        _ => Err("unsupported value"),
    }
}

fn sequence(s: &[Value], indent: usize, out: &mut String) -> Result<(), &'static str> {
    for item in s {
        pad(out, indent);
        out.push('-');
        if let Some(sc) = scalar(item) {
            out.push(' ');
            out.push_str(&sc);
            out.push('\n');
            continue;
        }
        match item {
            Value::Mapping(m) => {
                out.push(' ');
                mapping_lines(m, indent + 2, true, out)?;
            }
            Value::Sequence(inner) => {
                out.push('\n');
                sequence(inner, indent + 2, out)?;
            }
            _ => return Err("unsupported value"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_1_1_traps_are_quoted_and_everything_reads_back() {
        let src = r#"
a: "on"
b: "yes"
c: "No"
d: "0755"
e: "1_000"
f: "2024-01-01"
g: "~"
h: "null"
i: ""
j: "multi\nline \"quoted\" \\ tab\t"
k: "- dash"
k2: "-1"
k3: "a: b"
k4: "x:"
k5: "--listen=0.0.0.0:15017"
l: "spiffe://cluster.local/ns/a/sa/b"
m: plain-value_1.2/x
n: 15020
o: true
p: null
q: []
r: {}
"on": key
"#;
        let v: Value = serde_yaml::from_str(src).unwrap();
        let out = to_string(&v).unwrap();
        for quoted in [
            "a: \"on\"",
            "b: \"yes\"",
            "c: \"No\"",
            "d: \"0755\"",
            "e: \"1_000\"",
            "f: \"2024-01-01\"",
            "g: \"~\"",
            "h: \"null\"",
            "i: \"\"",
            "k2: \"-1\"",
            "k3: \"a: b\"",
            "k4: \"x:\"",
            "\"on\": key",
        ] {
            assert!(out.contains(quoted), "{quoted} in\n{out}");
        }
        for plain in [
            "m: plain-value_1.2/x",
            "l: spiffe://cluster.local/ns/a/sa/b",
            "\"n\": 15020",
            "o: true",
            "p: null",
            "q: []",
            "r: {}",
            "k5: --listen=0.0.0.0:15017",
        ] {
            assert!(out.contains(plain), "{plain} in\n{out}");
        }
        let back: Value = serde_yaml::from_str(&out).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn nested_layout_like_kubectl() {
        let src = "spec:\n  containers:\n  - name: a\n    args: [x, \"--y=1\"]\n    env:\n    - {name: K, value: \"1\"}\n  list: [[1, 2], []]\n";
        let v: Value = serde_yaml::from_str(src).unwrap();
        let out = to_string(&v).unwrap();
        assert_eq!(
            out,
            "spec:\n  containers:\n  - name: a\n    args:\n    - x\n    - --y=1\n    env:\n    - name: K\n      value: \"1\"\n  list:\n  -\n    - 1\n    - 2\n  - []\n"
        );
        assert_eq!(serde_yaml::from_str::<Value>(&out).unwrap(), v);
    }
}
