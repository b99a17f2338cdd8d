//! The monitoring in `deploy/monitoring/alerting/`, checked with real parsers and against the code:
//!
//! * the alert rules (`phimesh.rules.yml`) pass `promtool check rules`, and `promtool test rules`
//!   runs `phimesh.rules.test.yml`, in which every alert fires on synthetic series (with its
//!   labels and rendered annotations) and healthy series beside them do not;
//! * the operator's `PrometheusRule` (`prometheusrule.yml`) holds exactly the same groups, also
//!   passes `promtool`, and the kustomization builds it and the dashboard's ConfigMap;
//! * the Grafana dashboard parses as JSON, and every query in it (panels and template variables)
//!   is valid PromQL: written into a rules file of `record:` entries, which `promtool` parses;
//! * every metric name in an alert, a test series or a dashboard query is one the code registers
//!   (grepped from the Rust sources of the crates that export metrics), every label a selector or
//!   `by (...)` names is one that metric has (or a target label Prometheus adds), and every label
//!   value matched literally (`reason="phi"`, `reason=~"connect|timeout"`) is a string the code
//!   writes. A rule that is malformed, or names a metric, label or value that does not exist,
//!   fails here; `the_checks_reject_what_they_should` shows that each check can fail.
//!
//! Needs `promtool` (Debian's `prometheus` package, installed by `scripts/setup`) and `kubectl`
//! (kustomize); without them the tests fail and say so, rather than skip.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use regex::Regex;
use serde_yaml::Value as Yaml;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn alerting() -> PathBuf {
    root().join("deploy/monitoring/alerting")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml(path: &Path) -> Yaml {
    serde_yaml::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run(program: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{program} must be installed to test deploy/monitoring ({e}); scripts/setup \
                 installs promtool (Debian package `prometheus`)"
            )
        })
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `promtool check rules FILE` (with every lint), asserting success.
fn promtool_check(file: &Path) {
    let out = run(
        "promtool",
        &[
            "check",
            "rules",
            "--lint=all",
            "--lint-fatal",
            file.to_str().unwrap(),
        ],
        &root(),
    );
    assert!(
        out.status.success(),
        "promtool check rules {}:\n{}",
        file.display(),
        text(&out)
    );
}

// ---------------------------------------------------------------------------------------------
// What the code exports, grepped from its sources.

/// Metric names, their label names, and every short string literal of the non-test code.
struct Code {
    /// Metric name → label names (empty for a metric without labels).
    metrics: BTreeMap<String, BTreeSet<String>>,
    /// Metrics registered as histograms (`_bucket`, `_sum`, `_count` series).
    histograms: BTreeSet<String>,
    /// Every `"word"` literal (`[a-z0-9_]+`): the label values the code can write.
    words: BTreeSet<String>,
}

/// The crates whose sources are searched: those that export metrics and those whose words
/// become label values (the engine's uninspectable reasons).
const SOURCE_DIRS: &[&str] = &[
    "src",
    "detect/src",
    "proxy/src",
    "identity/src",
    "ca/src",
    "inject/src",
];

/// Labels Prometheus adds when it scrapes a target (PodMonitor / pod service discovery).
const TARGET_LABELS: &[&str] = &[
    "namespace",
    "pod",
    "container",
    "job",
    "instance",
    "endpoint",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The source without its unit-test module (`#[cfg(test)] mod ... {` to the end of the file):
/// a metric or value that only a test mentions does not exist.
fn without_tests(src: &str) -> &str {
    static TESTS: OnceLock<Regex> = OnceLock::new();
    let re = TESTS.get_or_init(|| Regex::new(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{").unwrap());
    match re.find(src) {
        Some(m) => &src[..m.start()],
        None => src,
    }
}

/// The label names in the statement that starts at `at` (up to its `;` or the `}` that closes
/// its block): `&["a", "b"]`.
fn labels_after(src: &str, at: usize) -> BTreeSet<String> {
    static LIST: OnceLock<Regex> = OnceLock::new();
    let list = LIST.get_or_init(|| Regex::new(r#"&\[((?:\s*"[a-z_]+"\s*,?)+)\]"#).unwrap());
    let end = src[at..].find([';', '}']).map_or(src.len(), |e| at + e);
    list.captures_iter(&src[at..end])
        .flat_map(|c| {
            c[1].split(',')
                .map(|l| l.trim().trim_matches('"').to_owned())
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn code() -> &'static Code {
    static CODE: OnceLock<Code> = OnceLock::new();
    CODE.get_or_init(|| {
        let mut files = Vec::new();
        for d in SOURCE_DIRS {
            rust_files(&root().join(d), &mut files);
        }
        files.sort();
        // Without comment lines: a name or word a comment mentions is not code.
        let sources: Vec<String> = files
            .iter()
            .map(|f| {
                without_tests(&read(f))
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect();

        // A metric is named where it is constructed: `Opts::new("phimesh_...")`,
        // `HistogramOpts::new(...)`, `Gauge::new(...)`, ..., the proxy's `cv("phimesh_...")`
        // helper, or a `const ..._METRIC: &str = "phimesh_..."` used in one of those.
        let ctor = Regex::new(
            r#"(?:Opts::new|Gauge::new|Counter::new|\bcv)\(\s*"(phimesh_[a-z0-9_]+)""#,
        )
        .unwrap();
        let hist = Regex::new(r#"HistogramOpts::new\(\s*"(phimesh_[a-z0-9_]+)""#).unwrap();
        let konst = Regex::new(
            r#"const\s+([A-Z0-9_]*METRIC[A-Z0-9_]*)\s*:\s*&(?:'static\s+)?str\s*=\s*"(phimesh_[a-z0-9_]+)""#,
        )
        .unwrap();
        let word = Regex::new(r#""([a-z0-9_]+)""#).unwrap();

        let mut metrics: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut histograms = BTreeSet::new();
        let mut words = BTreeSet::new();
        let mut consts = Vec::new();
        for src in &sources {
            for c in ctor.captures_iter(src).chain(hist.captures_iter(src)) {
                let m = c.get(1).unwrap();
                metrics
                    .entry(m.as_str().to_owned())
                    .or_default()
                    .extend(labels_after(src, m.end()));
            }
            for c in hist.captures_iter(src) {
                histograms.insert(c[1].to_owned());
            }
            for c in konst.captures_iter(src) {
                consts.push((c[1].to_owned(), c[2].to_owned()));
            }
            words.extend(word.captures_iter(src).map(|c| c[1].to_owned()));
        }
        // A metric named by a constant: its labels are where the constant is used.
        for (name, metric) in consts {
            let used = Regex::new(&format!(r"\b{name}\b")).unwrap();
            let labels = metrics.entry(metric).or_default();
            for src in &sources {
                for m in used.find_iter(src) {
                    let rest = &src[m.end()..];
                    if !rest.trim_start().starts_with(':') {
                        labels.extend(labels_after(src, m.end()));
                    }
                }
            }
        }
        Code {
            metrics,
            histograms,
            words,
        }
    })
}

// ---------------------------------------------------------------------------------------------
// A small PromQL reader: enough to find every selector and grouping clause of an expression.
// Whether the expression is valid PromQL is promtool's job; this finds what it refers to.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num,
    Op(String),
}

fn lex(expr: &str) -> Result<Vec<Tok>, String> {
    let b: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '#' {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '"' || c == '\'' || c == '`' {
            let mut s = String::new();
            i += 1;
            loop {
                let Some(&d) = b.get(i) else {
                    return Err(format!("unterminated string in {expr:?}"));
                };
                i += 1;
                if d == c {
                    break;
                }
                if d == '\\' && c != '`' {
                    let Some(&e) = b.get(i) else {
                        return Err(format!("unterminated string in {expr:?}"));
                    };
                    i += 1;
                    s.push(e);
                } else {
                    s.push(d);
                }
            }
            out.push(Tok::Str(s));
        } else if c.is_ascii_digit()
            || (c == '.' && b.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == '.' || b[i] == '_') {
                i += 1;
            }
            out.push(Tok::Num);
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == '_' || b[i] == ':') {
                i += 1;
            }
            out.push(Tok::Ident(b[start..i].iter().collect()));
        } else {
            let two: String = b[i..(i + 2).min(b.len())].iter().collect();
            if ["=~", "!~", "!=", "==", ">=", "<="].contains(&two.as_str()) {
                out.push(Tok::Op(two));
                i += 2;
            } else if "(){}[],=<>+-*/%^@".contains(c) {
                out.push(Tok::Op(c.to_string()));
                i += 1;
            } else {
                return Err(format!(
                    "unexpected {c:?} in {expr:?} (an unsubstituted variable?)"
                ));
            }
        }
    }
    Ok(out)
}

/// A series selector: `metric{label op "value", ...}`.
#[derive(Debug)]
struct Selector {
    metric: String,
    matchers: Vec<(String, String, String)>,
}

/// What an expression refers to: its selectors and the labels of its `by`/`without`/`on`/
/// `ignoring`/`group_*` clauses.
#[derive(Debug, Default)]
struct Refs {
    selectors: Vec<Selector>,
    grouping: Vec<String>,
}

const CLAUSES: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];
const KEYWORDS: &[&str] = &[
    "and", "or", "unless", "bool", "offset", "atan2", "inf", "nan", "start", "end",
];

fn op(t: Option<&Tok>, s: &str) -> bool {
    matches!(t, Some(Tok::Op(o)) if o == s)
}

fn refs(expr: &str) -> Result<Refs, String> {
    let t = lex(expr)?;
    let mut r = Refs::default();
    let mut i = 0;
    while i < t.len() {
        match &t[i] {
            Tok::Ident(id) if CLAUSES.contains(&id.as_str()) => {
                i += 1;
                if op(t.get(i), "(") {
                    i += 1;
                    while i < t.len() && !op(t.get(i), ")") {
                        if let Tok::Ident(l) = &t[i] {
                            r.grouping.push(l.clone());
                        }
                        i += 1;
                    }
                    i += 1;
                }
            }
            Tok::Ident(id) if KEYWORDS.contains(&id.as_str()) => i += 1,
            // A function or aggregation (`sum(...)`, `sum by (...) (...)`).
            Tok::Ident(_)
                if op(t.get(i + 1), "(")
                    || matches!(t.get(i + 1), Some(Tok::Ident(c)) if c == "by" || c == "without") =>
            {
                i += 1
            }
            Tok::Ident(id) => {
                let mut sel = Selector {
                    metric: id.clone(),
                    matchers: Vec::new(),
                };
                i += 1;
                if op(t.get(i), "{") {
                    i = matchers(&t, i + 1, &mut sel, expr)?;
                }
                r.selectors.push(sel);
            }
            Tok::Op(o) if o == "{" => {
                return Err(format!("a selector without a metric name in {expr:?}"));
            }
            // Range and subquery durations.
            Tok::Op(o) if o == "[" => {
                while i < t.len() && !op(t.get(i), "]") {
                    i += 1;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    Ok(r)
}

/// Reads `label op "value"` pairs up to `}`; returns the index after it.
fn matchers(t: &[Tok], mut i: usize, sel: &mut Selector, expr: &str) -> Result<usize, String> {
    loop {
        match (t.get(i), t.get(i + 1), t.get(i + 2)) {
            (Some(Tok::Op(c)), _, _) if c == "}" => return Ok(i + 1),
            (Some(Tok::Op(c)), _, _) if c == "," => i += 1,
            (Some(Tok::Ident(l)), Some(Tok::Op(o)), Some(Tok::Str(v)))
                if ["=", "!=", "=~", "!~"].contains(&o.as_str()) =>
            {
                sel.matchers.push((l.clone(), o.clone(), v.clone()));
                i += 3;
            }
            _ => return Err(format!("cannot read the label matchers of {expr:?}")),
        }
    }
}

/// The labels a series of `metric` can have, or an error naming the metric that does not exist.
fn labels_of(metric: &str) -> Result<BTreeSet<String>, String> {
    let code = code();
    if let Some(l) = code.metrics.get(metric) {
        return Ok(l.clone());
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = metric.strip_suffix(suffix) {
            if code.histograms.contains(base) {
                let mut l = code.metrics[base].clone();
                if suffix == "_bucket" {
                    l.insert("le".to_owned());
                }
                return Ok(l);
            }
        }
    }
    Err(format!(
        "metric {metric} does not exist in the code (searched {SOURCE_DIRS:?})"
    ))
}

/// Checks an expression's references against the code; returns the metric names it uses.
fn check_expr(expr: &str) -> Result<BTreeSet<String>, String> {
    let r = refs(expr)?;
    if r.selectors.is_empty() {
        return Err(format!("{expr:?} selects no metric"));
    }
    let code = code();
    let words = Regex::new(r"^[a-z0-9_]+(\|[a-z0-9_]+)*$").unwrap();
    let mut used = BTreeSet::new();
    let mut all_labels: BTreeSet<String> = TARGET_LABELS.iter().map(|s| s.to_string()).collect();
    for sel in &r.selectors {
        if !sel.metric.starts_with("phimesh_") {
            return Err(format!(
                "{} in {expr:?} is not a phimesh metric",
                sel.metric
            ));
        }
        let labels = labels_of(&sel.metric)?;
        for (label, op, value) in &sel.matchers {
            if !labels.contains(label) && !TARGET_LABELS.contains(&label.as_str()) {
                return Err(format!(
                    "{}{{{label}}} in {expr:?}: the metric has no label {label} (it has {labels:?})",
                    sel.metric
                ));
            }
            if TARGET_LABELS.contains(&label.as_str()) || value.contains('$') {
                continue; // namespaces and pods are the cluster's; `$var` is Grafana's
            }
            let alternatives: Vec<&str> = if op.ends_with('~') {
                if !words.is_match(value) {
                    return Err(format!(
                        "{label}{op}{value:?} in {expr:?}: write label regexes as word|word so \
                         each value can be checked"
                    ));
                }
                value.split('|').collect()
            } else {
                vec![value.as_str()]
            };
            for v in alternatives {
                if !code.words.contains(v) {
                    return Err(format!(
                        "{}{{{label}{op}{value:?}}} in {expr:?}: the code never writes {v:?}",
                        sel.metric
                    ));
                }
            }
        }
        all_labels.extend(labels);
        used.insert(sel.metric.clone());
    }
    for l in &r.grouping {
        if !all_labels.contains(l) {
            return Err(format!(
                "by/without/on ({l}) in {expr:?}: none of its metrics has that label"
            ));
        }
    }
    Ok(used)
}

fn check_all<'a>(exprs: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let mut errors = Vec::new();
    for e in exprs {
        match check_expr(e) {
            Ok(u) => used.extend(u),
            Err(err) => errors.push(err),
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    used
}

// ---------------------------------------------------------------------------------------------
// The rules.

/// Every rule of a rules file: (alert name, expression).
fn rules(doc: &Yaml) -> Vec<(String, String)> {
    let groups = doc["groups"].as_sequence().expect("groups: a list");
    assert!(!groups.is_empty());
    let mut out = Vec::new();
    for g in groups {
        for r in g["rules"].as_sequence().expect("rules: a list") {
            let name = r["alert"]
                .as_str()
                .expect("every rule is an alert")
                .to_owned();
            let expr = r["expr"].as_str().expect("expr").to_owned();
            for key in ["summary", "description", "runbook"] {
                assert!(
                    r["annotations"][key]
                        .as_str()
                        .is_some_and(|s| !s.is_empty()),
                    "{name}: annotation {key} missing"
                );
            }
            assert!(
                ["warning", "critical"].contains(&r["labels"]["severity"].as_str().unwrap_or("")),
                "{name}: severity label missing"
            );
            out.push((name, expr));
        }
    }
    out
}

#[test]
fn alert_rules_pass_promtool_and_each_alert_fires_in_its_unit_test() {
    let file = alerting().join("phimesh.rules.yml");
    promtool_check(&file);

    let out = run(
        "promtool",
        &["test", "rules", "phimesh.rules.test.yml"],
        &alerting(),
    );
    assert!(
        out.status.success(),
        "promtool test rules phimesh.rules.test.yml:\n{}",
        text(&out)
    );

    // Every alert has a unit test in which it fires.
    let tests = yaml(&alerting().join("phimesh.rules.test.yml"));
    let mut fired = BTreeSet::new();
    for t in tests["tests"].as_sequence().unwrap() {
        for a in t["alert_rule_test"].as_sequence().unwrap() {
            if a["exp_alerts"].as_sequence().is_some_and(|e| !e.is_empty()) {
                fired.insert(a["alertname"].as_str().unwrap().to_owned());
            }
        }
    }
    let alerts: BTreeSet<String> = rules(&yaml(&file)).into_iter().map(|(n, _)| n).collect();
    let untested: Vec<_> = alerts.difference(&fired).collect();
    assert!(
        untested.is_empty(),
        "alerts never fired in phimesh.rules.test.yml: {untested:?}"
    );
    let unknown: Vec<_> = fired.difference(&alerts).collect();
    assert!(
        unknown.is_empty(),
        "tests of alerts that do not exist: {unknown:?}"
    );
}

#[test]
fn alert_rules_name_only_metrics_labels_and_values_the_code_has() {
    let doc = yaml(&alerting().join("phimesh.rules.yml"));
    let used = check_all(rules(&doc).iter().map(|(_, e)| e.as_str()));
    // The alerts the runbook in docs/operations.md describes, by the metric each one watches.
    for m in [
        "phimesh_identity_cert_expiry_timestamp_seconds",
        "phimesh_identity_fetch_errors_total",
        "phimesh_refusals_total",
        "phimesh_requests_total",
        "phimesh_webhook_reviews_total",
        "phimesh_webhook_rejected_requests_total",
        "phimesh_ca_root_expiry_timestamp_seconds",
        "phimesh_ca_issuer_expiry_timestamp_seconds",
    ] {
        assert!(used.contains(m), "no alert watches {m}");
    }

    // The unit tests' input series are real series too (a typo there would test nothing).
    let tests = yaml(&alerting().join("phimesh.rules.test.yml"));
    let series: Vec<String> = tests["tests"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|t| t["input_series"].as_sequence().cloned().unwrap_or_default())
        .map(|s| s["series"].as_str().unwrap().to_owned())
        .collect();
    assert!(!series.is_empty());
    check_all(series.iter().map(String::as_str));
}

#[test]
fn the_prometheus_rule_holds_the_same_rules_and_the_kustomization_builds() {
    let plain = yaml(&alerting().join("phimesh.rules.yml"));
    let cr = yaml(&alerting().join("prometheusrule.yml"));
    assert_eq!(cr["apiVersion"].as_str(), Some("monitoring.coreos.com/v1"));
    assert_eq!(cr["kind"].as_str(), Some("PrometheusRule"));
    assert_eq!(cr["metadata"]["name"].as_str(), Some("phimesh"));
    assert_eq!(cr["metadata"]["namespace"].as_str(), Some("phimesh-system"));
    let spec_keys: Vec<_> = cr["spec"].as_mapping().unwrap().keys().collect();
    assert_eq!(
        spec_keys,
        vec![&Yaml::from("groups")],
        "spec has only groups"
    );
    assert_eq!(
        cr["spec"], plain,
        "prometheusrule.yml's spec must be phimesh.rules.yml word for word"
    );
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.rules.yml");
    std::fs::write(&spec, serde_yaml::to_string(&cr["spec"]).unwrap()).unwrap();
    promtool_check(&spec);

    // `kubectl apply -k deploy/monitoring/alerting` applies the rule and the dashboard.
    let out = run(
        "kubectl",
        &["kustomize", alerting().to_str().unwrap()],
        &root(),
    );
    assert!(out.status.success(), "kubectl kustomize: {}", text(&out));
    let built: Vec<Yaml> = serde_yaml::Deserializer::from_slice(&out.stdout)
        .map(|d| <Yaml as serde::Deserialize>::deserialize(d).unwrap())
        .collect();
    let kinds: Vec<_> = built.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    let rule = built
        .iter()
        .find(|d| d["kind"] == "PrometheusRule")
        .unwrap();
    assert_eq!(rule["spec"], plain);
    let cm = built.iter().find(|d| d["kind"] == "ConfigMap").unwrap();
    let json = serde_json::to_value(cm).unwrap();
    let typed: k8s_openapi::api::core::v1::ConfigMap =
        serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("dashboard ConfigMap: {e}"));
    assert_eq!(
        serde_json::to_value(&typed).unwrap(),
        json,
        "unknown ConfigMap fields"
    );
    assert_eq!(
        cm["metadata"]["name"].as_str(),
        Some("phimesh-grafana-dashboard")
    );
    assert_eq!(cm["metadata"]["namespace"].as_str(), Some("phimesh-system"));
    assert_eq!(
        cm["metadata"]["labels"]["grafana_dashboard"].as_str(),
        Some("1")
    );
    assert_eq!(
        cm["data"]["phimesh-dashboard.json"].as_str(),
        Some(read(&alerting().join("phimesh-dashboard.json")).as_str())
    );
}

// ---------------------------------------------------------------------------------------------
// The dashboard.

/// Every query of the dashboard: (where, PromQL), with Grafana's interval variables replaced.
fn dashboard_queries(d: &serde_json::Value) -> Vec<(String, String)> {
    fn panels(list: &serde_json::Value, out: &mut Vec<(String, String)>) {
        for p in list.as_array().into_iter().flatten() {
            let title = p["title"].as_str().unwrap_or("?").to_owned();
            assert!(p["id"].is_u64(), "panel {title}: no id");
            for t in p["targets"].as_array().into_iter().flatten() {
                let expr = t["expr"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{title}: no expr"));
                out.push((format!("panel {title:?} {}", t["refId"]), expr.to_owned()));
            }
            if p["type"] != "row" {
                assert!(
                    p["targets"].as_array().is_some_and(|t| !t.is_empty()),
                    "panel {title}: no query"
                );
                assert_eq!(p["datasource"]["type"], "prometheus", "panel {title}");
            }
            panels(&p["panels"], out);
        }
    }
    let mut out = Vec::new();
    panels(&d["panels"], &mut out);
    // Template variables: `label_values(METRIC, LABEL)` is Grafana's; METRIC is PromQL.
    let lv = Regex::new(r"^label_values\((.+),\s*([a-z_]+)\)$").unwrap();
    for v in d["templating"]["list"].as_array().unwrap() {
        if v["type"] == "query" {
            let q = v["query"]["query"]
                .as_str()
                .or(v["query"].as_str())
                .unwrap();
            let c = lv.captures(q).unwrap_or_else(|| {
                panic!("variable {}: only label_values(...) is checked", v["name"])
            });
            let label = &c[2];
            out.push((
                format!("variable {}", v["name"]),
                format!("count by ({label}) ({})", &c[1]),
            ));
        }
    }
    out.into_iter()
        .map(|(w, e)| {
            let e = e
                .replace("$__rate_interval", "5m")
                .replace("$__interval", "1m")
                .replace("$__range", "1h");
            (w, e)
        })
        .collect()
}

#[test]
fn dashboard_queries_are_valid_promql_on_metrics_the_code_exports() {
    let path = alerting().join("phimesh-dashboard.json");
    let d: serde_json::Value =
        serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(d["title"].is_string() && d["uid"].is_string());
    let queries = dashboard_queries(&d);
    assert!(queries.len() >= 10, "{queries:?}");

    // promtool parses each query as the expression of a recording rule.
    let rules: Vec<Yaml> = queries
        .iter()
        .enumerate()
        .map(|(i, (_, e))| {
            let mut m = serde_yaml::Mapping::new();
            m.insert(
                "record".into(),
                format!("phimesh_dashboard:query_{i}").into(),
            );
            m.insert("expr".into(), e.as_str().into());
            Yaml::Mapping(m)
        })
        .collect();
    let mut group = serde_yaml::Mapping::new();
    group.insert("name".into(), "dashboard".into());
    group.insert("rules".into(), Yaml::Sequence(rules));
    let mut doc = serde_yaml::Mapping::new();
    doc.insert("groups".into(), Yaml::Sequence(vec![Yaml::Mapping(group)]));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dashboard.rules.yml");
    std::fs::write(&file, serde_yaml::to_string(&doc).unwrap()).unwrap();
    let out = run(
        "promtool",
        &["check", "rules", file.to_str().unwrap()],
        &root(),
    );
    assert!(
        out.status.success(),
        "the dashboard's queries as recording rules:\n{}\n{}",
        text(&out),
        queries
            .iter()
            .enumerate()
            .map(|(i, (w, e))| format!("query_{i}: {w}: {e}"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    let mut errors = Vec::new();
    let mut used = BTreeSet::new();
    for (w, e) in &queries {
        match check_expr(e) {
            Ok(u) => used.extend(u),
            Err(err) => errors.push(format!("{w}: {err}")),
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    for m in [
        "phimesh_requests_total",
        "phimesh_refusals_total",
        "phimesh_inspected_bytes_total",
        "phimesh_inspection_duration_seconds_bucket",
        "phimesh_identity_cert_expiry_timestamp_seconds",
        "phimesh_webhook_reviews_total",
    ] {
        assert!(used.contains(m), "the dashboard does not show {m}");
    }
}

// ---------------------------------------------------------------------------------------------
// The checks themselves.

#[test]
fn the_code_search_finds_the_metrics_and_their_labels() {
    let c = code();
    let expect: &[(&str, &[&str])] = &[
        (
            "phimesh_requests_total",
            &["direction", "protocol", "tls", "action"],
        ),
        ("phimesh_refusals_total", &["direction", "reason"]),
        ("phimesh_inspection_duration_seconds", &[]),
        (
            "phimesh_request_duration_seconds",
            &["direction", "protocol"],
        ),
        ("phimesh_identity_cert_expiry_timestamp_seconds", &[]),
        ("phimesh_identity_fetch_errors_total", &["reason"]),
        ("phimesh_ca_certificates_issued_total", &["result"]),
        ("phimesh_webhook_reviews_total", &["action", "reason"]),
        ("phimesh_webhook_rejected_requests_total", &["reason"]),
    ];
    for (m, labels) in expect {
        let found = c
            .metrics
            .get(*m)
            .unwrap_or_else(|| panic!("{m} not found: {:?}", c.metrics));
        let want: BTreeSet<String> = labels.iter().map(|s| s.to_string()).collect();
        assert_eq!(found, &want, "labels of {m}");
    }
    assert!(c
        .histograms
        .contains("phimesh_webhook_review_duration_seconds"));
    for w in [
        "phi",
        "not_tls",
        "compression_ratio",
        "max_connections",
        "connect",
        "busy",
    ] {
        assert!(c.words.contains(w), "{w}");
    }
}

#[test]
fn the_checks_reject_what_they_should() {
    // A metric, label or value that does not exist, in alerts or dashboards alike.
    for bad in [
        "rate(phimesh_no_such_metric_total[5m]) > 0",
        "rate(phimesh_refusals_totl[5m])",
        "phimesh_refusals_total{reason=\"no_such_reason\"}",
        "phimesh_refusals_total{reason=~\"phi|no_such_reason\"}",
        "phimesh_refusals_total{reason=~\"ph.*\"}",
        "phimesh_refusals_total{kind=\"ssn\"}",
        "sum by (reasons) (rate(phimesh_refusals_total[5m]))",
        "histogram_quantile(0.99, sum by (le) (rate(phimesh_inspection_duration_seconds_bucket{direction=\"inbound\"}[5m])))",
        "phimesh_requests_total_bucket",
        "up{job=\"phimesh\"} == 0",
        "sum(rate(phimesh_requests_total[$__unknown]))",
    ] {
        assert!(check_expr(bad).is_err(), "accepted {bad:?}");
    }
    for good in [
        "sum by (namespace, reason) (increase(phimesh_refusals_total{direction=\"outbound\"}[10m]))",
        "histogram_quantile(0.9, sum by (le) (rate(phimesh_request_duration_seconds_bucket{protocol=~\"http1|http2|grpc\"}[5m])))",
        "phimesh_identity_cert_expiry_timestamp_seconds{namespace=~\"$namespace\"} - time() < 3600",
        "absent(phimesh_webhook_certificate_reloads_total)",
    ] {
        check_expr(good).unwrap_or_else(|e| panic!("{good}: {e}"));
    }

    // promtool rejects a malformed expression, an unknown function and a bad `for`.
    let dir = tempfile::tempdir().unwrap();
    for (i, bad) in [
        "groups: [{name: g, rules: [{alert: A, expr: 'sum(rate(phimesh_refusals_total[5m])'}]}]",
        "groups: [{name: g, rules: [{alert: A, expr: 'ratez(phimesh_refusals_total[5m]) > 0'}]}]",
        "groups: [{name: g, rules: [{alert: A, expr: 'vector(1)', for: 'ten minutes'}]}]",
        "groups: [{name: g, rules: [{alert: A, expr: 'vector(1)', annotations: {s: '{{ $value | nosuchfunc }}'}}]}]",
    ]
    .iter()
    .enumerate()
    {
        let f = dir.path().join(format!("bad{i}.yml"));
        std::fs::write(&f, bad).unwrap();
        let out = run("promtool", &["check", "rules", f.to_str().unwrap()], &root());
        assert!(!out.status.success(), "promtool accepted {bad}");
    }
}

// ---------------------------------------------------------------------------------------------
// The operator's documentation.

/// GitHub's anchor of a Markdown heading.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn runbook_links_resolve_and_docs_list_every_metric() {
    let ops = read(&root().join("docs/operations.md"));
    let anchors: BTreeSet<String> = ops
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|h| slug(h.trim_start_matches('#')))
        .collect();
    let doc = yaml(&alerting().join("phimesh.rules.yml"));
    for g in doc["groups"].as_sequence().unwrap() {
        for r in g["rules"].as_sequence().unwrap() {
            let link = r["annotations"]["runbook"].as_str().unwrap();
            let anchor = link.strip_prefix("docs/operations.md#").unwrap_or_else(|| {
                panic!(
                    "{}: runbook {link} is not in docs/operations.md",
                    r["alert"].as_str().unwrap()
                )
            });
            assert!(
                anchors.contains(anchor),
                "{}: docs/operations.md has no heading #{anchor} ({anchors:?})",
                r["alert"].as_str().unwrap()
            );
            assert!(
                ops.contains(&format!("`{}`", r["alert"].as_str().unwrap())),
                "docs/operations.md's alert table lacks {}",
                r["alert"].as_str().unwrap()
            );
        }
    }

    // The metrics the docs name exist, and every metric the code exports is in the docs.
    let named = Regex::new(r"\bphimesh_[a-z0-9_]+\b").unwrap();
    let mut documented = BTreeSet::new();
    for f in ["docs/operations.md", "docs/architecture.md", "README.md"] {
        let text = read(&root().join(f));
        for m in named.find_iter(&text) {
            if text[m.end()..].starts_with("::") || m.as_str().starts_with("phimesh_detect") {
                continue; // a crate path (`phimesh_detect::Uninspectable`)
            }
            labels_of(m.as_str()).unwrap_or_else(|e| panic!("{f}: {e}"));
            if f == "docs/operations.md" {
                documented.insert(m.as_str().to_owned());
            }
        }
    }
    for m in code().metrics.keys() {
        // identity/src/identity.rs's fallback name for a gauge whose constant name is always valid.
        if m == "phimesh_unnamed" {
            continue;
        }
        assert!(
            documented.contains(m),
            "{m} is exported but not in docs/operations.md's metrics tables"
        );
    }
}
