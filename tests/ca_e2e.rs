//! End-to-end tests of `phimesh ca` as a process, with real `openssl` and `curl`: issuance and
//! chain verification, every refusal, restart, corrupt state, bad flags, rotate-root, SIGHUP.

use std::path::{Path, PathBuf};
use std::process::Command;

use phimesh_testkit::mesh::Phimesh;
use phimesh_testkit::process::ChildProc;
use std::time::{Duration, Instant};

const WEB: &str = "spiffe://cluster.local/ns/default/sa/web";

/// A `phimesh ca` process (the test kit's child-process harness: output captured, killed on
/// drop) and the directory it keeps its state and tokens in.
struct Ca {
    proc: ChildProc,
    port: u16,
    dir: PathBuf,
}

fn phimesh() -> Command {
    Command::new(env!("CARGO_BIN_EXE_phimesh"))
}

fn start_ca(dir: &Path, extra: &[&str]) -> Ca {
    let mut cmd = Phimesh::new(env!("CARGO_BIN_EXE_phimesh"))
        .env("PHIMESH_LOG", "warn")
        .command("ca");
    cmd.arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--tokens")
        .arg(dir.join("tokens"))
        .args(["--listen", "127.0.0.1:0"])
        .args(extra);
    let proc = ChildProc::spawn("ca", cmd).unwrap();
    let port = proc
        .wait_stderr(Duration::from_secs(20), |l| {
            l.strip_prefix("phimesh ca: listening on https://")?
                .rsplit(':')
                .next()?
                .trim()
                .parse()
                .ok()
        })
        .expect("CA did not start");
    Ca {
        proc,
        port,
        dir: dir.to_owned(),
    }
}

impl Ca {
    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }
    fn bootstrap(&self) -> PathBuf {
        self.dir.join("state/trust-bundle.pem")
    }
    /// curl; returns (status, body)
    fn curl(&self, args: &[&str]) -> (u16, String) {
        let out = Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "20",
                "-o",
                "-",
                "-w",
                "\n%{http_code}",
                "--cacert",
            ])
            .arg(self.bootstrap())
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap();
        (code.trim().parse().unwrap_or(0), body.to_owned())
    }
    fn post_csr(&self, token: Option<&str>, body_file: &Path) -> (u16, String) {
        self.post_csr_with(token, body_file, &[])
    }
    /// [`Ca::post_csr`] with more curl arguments.
    fn post_csr_with(
        &self,
        token: Option<&str>,
        body_file: &Path,
        extra: &[&str],
    ) -> (u16, String) {
        let auth = token.map(|t| format!("Authorization: Bearer {t}"));
        let data = format!("@{}", body_file.display());
        let mut args = vec![
            "-H",
            "content-type: application/json",
            "--data-binary",
            &data,
        ];
        args.extend_from_slice(extra);
        if let Some(a) = &auth {
            args.extend(["-H", a.as_str()]);
        }
        let url = self.url("/v1/certificates");
        args.push(&url);
        self.curl(&args)
    }
}

fn openssl(args: &[&str]) -> std::process::Output {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `openssl req` CSR with `key_args` (e.g. EC P-256) and SAN text; returns the JSON body file.
fn csr_body(dir: &Path, name: &str, key_args: &[&str], san: &str) -> PathBuf {
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    let mut args = vec!["req", "-new", "-nodes", "-subj", "/O=test"];
    args.extend(key_args);
    let ks = key.display().to_string();
    let cs = csr.display().to_string();
    let san_arg = format!("subjectAltName={san}");
    args.extend(["-keyout", &ks, "-out", &cs, "-addext", &san_arg]);
    openssl(&args);
    let pem = std::fs::read_to_string(&csr).unwrap();
    let body = dir.join(format!("{name}.json"));
    std::fs::write(&body, serde_json::json!({ "csr": pem }).to_string()).unwrap();
    body
}

const P256: &[&str] = &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];

fn setup(tokens: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tokens"), tokens).unwrap();
    dir
}

fn error_of(body: &str) -> String {
    let v: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error field: {body}"))
        .to_owned()
}

#[test]
fn openssl_csr_curl_issue_and_openssl_verify() {
    let dir = setup(&format!("tok-web {WEB}\n"));
    let ca = start_ca(dir.path(), &[]);
    let body = csr_body(dir.path(), "web", P256, &format!("URI:{WEB}"));
    let (status, resp) = ca.post_csr(Some("tok-web"), &body);
    assert_eq!(status, 200, "{resp}");
    let v: serde_json::Value = serde_json::from_str(&resp).unwrap();
    let chain = dir.path().join("chain.pem");
    std::fs::write(&chain, v["certificate_chain"].as_str().unwrap()).unwrap();
    assert!(v["not_after"].as_str().unwrap().ends_with('Z'));

    // the bundle from the API verifies the chain
    let (status, bundle) = ca.curl(&[
        "-H",
        "Accept: application/x-pem-file",
        &ca.url("/v1/trust-bundle"),
    ]);
    assert_eq!(status, 200);
    let bundle_file = dir.path().join("bundle.pem");
    std::fs::write(&bundle_file, &bundle).unwrap();
    let (status, json_bundle) = ca.curl(&[&ca.url("/v1/trust-bundle")]);
    assert_eq!(status, 200);
    let jb: serde_json::Value = serde_json::from_str(&json_bundle).unwrap();
    assert_eq!(jb["trust_bundle"].as_str().unwrap(), bundle);
    assert_eq!(v["trust_bundle"].as_str().unwrap(), bundle);
    let chain_s = chain.display().to_string();
    let out = openssl(&[
        "verify",
        "-CAfile",
        &bundle_file.display().to_string(),
        "-untrusted",
        &chain_s,
        "-purpose",
        "sslclient",
        &chain_s,
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(": OK"));

    // the leaf: our SPIFFE ID as the only SAN, leaf usages, 24 h
    let out = openssl(&[
        "x509",
        "-in",
        &chain_s,
        "-noout",
        "-ext",
        "subjectAltName,keyUsage,extendedKeyUsage,basicConstraints",
        "-dates",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("URI:{WEB}")), "{text}");
    assert!(!text.contains("DNS:"), "{text}");
    assert!(
        text.contains("Digital Signature") && !text.contains("Certificate Sign"),
        "{text}"
    );
    assert!(
        text.contains("TLS Web Server Authentication, TLS Web Client Authentication"),
        "{text}"
    );
    assert!(text.contains("CA:FALSE"), "{text}");
    // the leaf's key is the CSR's key
    let leaf_pub = openssl(&["x509", "-in", &chain_s, "-noout", "-pubkey"]).stdout;
    let key_pub = openssl(&[
        "pkey",
        "-in",
        &dir.path().join("web.key").display().to_string(),
        "-pubout",
    ])
    .stdout;
    assert_eq!(leaf_pub, key_pub);

    // state files and modes
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("state/ca-state.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // metrics and readiness
    let (status, metrics) = ca.curl(&[&ca.url("/metrics")]);
    assert_eq!(status, 200);
    assert!(
        metrics.contains("phimesh_ca_certificates_issued_total{result=\"issued\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("phimesh_ca_issue_duration_seconds_count 1"));
    // The standard process metrics an operator's dashboards expect.
    for m in [
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
    ] {
        assert!(metrics.contains(m), "{m} missing");
    }
    assert!(metrics.contains("phimesh_ca_root_expiry_timestamp_seconds "));
    assert!(metrics.contains("phimesh_ca_issuer_expiry_timestamp_seconds "));
    assert_eq!(ca.curl(&[&ca.url("/ready")]).0, 200);
}

#[test]
fn every_refusal_has_its_status_and_a_json_error() {
    let dir = setup(&format!(
        "tok-web {WEB}\ntok-dns spiffe://cluster.local/ns/default/sa/api api.default.svc\n"
    ));
    let ca = start_ca(dir.path(), &["--rate-limit", "12"]);
    let d = dir.path();
    let good = csr_body(d, "good", P256, &format!("URI:{WEB}"));

    let cases: Vec<(&str, Option<&str>, PathBuf, u16, &str)> = vec![
        ("no token", None, good.clone(), 401, "missing bearer token"),
        (
            "unknown token",
            Some("nope"),
            good.clone(),
            401,
            "unknown or invalid token",
        ),
        (
            "other identity",
            Some("tok-web"),
            csr_body(
                d,
                "other",
                P256,
                "URI:spiffe://cluster.local/ns/default/sa/db",
            ),
            403,
            "does not grant",
        ),
        (
            "extra DNS SAN",
            Some("tok-web"),
            csr_body(d, "dns", P256, &format!("URI:{WEB},DNS:evil.example")),
            403,
            "does not grant",
        ),
        (
            "extra URI",
            Some("tok-web"),
            csr_body(
                d,
                "uri2",
                P256,
                &format!("URI:{WEB},URI:spiffe://cluster.local/ns/x/sa/y"),
            ),
            403,
            "does not grant",
        ),
        (
            "RSA key",
            Some("tok-web"),
            csr_body(d, "rsa", &["-newkey", "rsa:2048"], &format!("URI:{WEB}")),
            400,
            "key type",
        ),
    ];
    for (what, token, body, want, text) in cases {
        let (status, resp) = ca.post_csr(token, &body);
        assert_eq!(status, want, "{what}: {resp}");
        assert!(error_of(&resp).contains(text), "{what}: {resp}");
    }
    // malformed bodies: 400 with JSON errors
    let write = |name: &str, content: &[u8]| {
        let p = d.join(name);
        std::fs::write(&p, content).unwrap();
        p
    };
    let pem = serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&good).unwrap())
        .unwrap()["csr"]
        .as_str()
        .unwrap()
        .to_owned();
    // flip one base64 character in the middle of the CSR: signature no longer verifies (or DER breaks)
    let mut lines: Vec<String> = pem.lines().map(str::to_owned).collect();
    let mid = lines.len() / 2;
    let mut chars: Vec<char> = lines[mid].chars().collect();
    chars[10] = if chars[10] == 'A' { 'B' } else { 'A' };
    lines[mid] = chars.into_iter().collect();
    let tampered = lines.join("\n") + "\n";
    for (what, content) in [
        ("not JSON", b"{not json".to_vec()),
        ("wrong JSON", br#"{"certificate": 1}"#.to_vec()),
        ("not PEM", serde_json::json!({"csr": "hello"}).to_string().into_bytes()),
        ("bad base64", serde_json::json!({"csr": "-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n"}).to_string().into_bytes()),
        ("tampered", serde_json::json!({"csr": tampered}).to_string().into_bytes()),
        ("binary", vec![0xff, 0x00, 0xfe]),
    ] {
        let (status, resp) = ca.post_csr(Some("tok-web"), &write("bad.json", &content));
        assert_eq!(status, 400, "{what}: {resp}");
        error_of(&resp);
    }

    // 413: declared and streamed (chunked) oversize bodies. The client is still sending when the
    // CA has read enough to refuse: unless the CA reads the rest, its close resets the connection
    // and the client sees no answer at all (about one try in ten did), so each is tried 8 times.
    // So is a large body refused for its missing token.
    // Oversize bodies are refused before the rate limit counts them.
    let huge = write("huge.json", &vec![b'a'; 200 * 1024]);
    let data = format!("@{}", huge.display());
    let post_huge = |token, expect| ca.post_csr_with(token, &huge, &["-H", expect]);
    // A client that asks for `100 Continue` gets the 413 instead.
    let (status, resp) = post_huge(Some("tok-web"), "Expect: 100-continue");
    assert_eq!(status, 413, "declared, expecting 100: {resp}");
    for attempt in 0..8 {
        // `Expect:` with no value: curl sends the body at once, whatever its size
        let (status, resp) = post_huge(Some("tok-web"), "Expect:");
        assert_eq!(status, 413, "declared, try {attempt}: {resp}");
        error_of(&resp);
        let (status, resp) = ca.curl(&[
            "-H",
            "Authorization: Bearer tok-web",
            "-H",
            "Transfer-Encoding: chunked",
            "-H",
            "Expect:",
            "--data-binary",
            &data,
            &ca.url("/v1/certificates"),
        ]);
        assert_eq!(status, 413, "chunked, try {attempt}: {resp}");
        error_of(&resp);
        // refused by its head, before the body is read: the same holds
        let (status, resp) = post_huge(None, "Expect:");
        assert_eq!(status, 401, "no token, try {attempt}: {resp}");
        error_of(&resp);
    }

    // 404 / 405
    assert_eq!(ca.curl(&[&ca.url("/nope")]).0, 404);
    assert_eq!(
        ca.curl(&["-X", "DELETE", &ca.url("/v1/trust-bundle")]).0,
        405
    );

    // 429: web has used 10 of its 12 per minute on the refusals above (counted after auth);
    // two more succeed, then it is limited, while another identity is unaffected
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (status, resp) = ca.post_csr(Some("tok-web"), &good);
        if status == 429 {
            assert!(error_of(&resp).contains("rate limit"));
        }
        statuses.push(status);
    }
    assert_eq!(statuses, vec![200, 200, 429, 429]);
    // a granted DNS name is fine for the identity that may have it
    let api = csr_body(
        d,
        "api",
        &["-newkey", "ed25519"],
        "URI:spiffe://cluster.local/ns/default/sa/api,DNS:api.default.svc",
    );
    assert_eq!(ca.post_csr(Some("tok-dns"), &api).0, 200);

    let (_, metrics) = ca.curl(&[&ca.url("/metrics")]);
    for r in [
        "unauthenticated",
        "forbidden",
        "bad_request",
        "too_large",
        "rate_limited",
    ] {
        assert!(
            !metrics.contains(&format!(
                "phimesh_ca_certificates_issued_total{{result=\"{r}\"}} 0"
            )),
            "{r} not counted: {metrics}"
        );
    }
    assert!(
        metrics.contains("phimesh_ca_certificates_issued_total{result=\"too_large\"} 17\n"),
        "17 oversize bodies were refused: {metrics}"
    );
}

#[test]
fn restart_keeps_roots_and_issuer_and_rotate_root_extends_the_bundle() {
    let dir = setup(&format!("tok-web {WEB}\n"));
    let bundle_path = dir.path().join("state/trust-bundle.pem");
    let ca = start_ca(dir.path(), &[]);
    let (_, first) = ca.curl(&[
        "-H",
        "Accept: application/x-pem-file",
        &ca.url("/v1/trust-bundle"),
    ]);
    let body = csr_body(dir.path(), "web", P256, &format!("URI:{WEB}"));
    let (_, resp) = ca.post_csr(Some("tok-web"), &body);
    let v: serde_json::Value = serde_json::from_str(&resp).unwrap();
    let issuer1 = v["certificate_chain"]
        .as_str()
        .unwrap()
        .split("-----END CERTIFICATE-----")
        .nth(1)
        .unwrap()
        .to_owned();
    drop(ca);

    let ca = start_ca(dir.path(), &[]);
    let (_, second) = ca.curl(&[
        "-H",
        "Accept: application/x-pem-file",
        &ca.url("/v1/trust-bundle"),
    ]);
    assert_eq!(first, second, "root survives a restart");
    let (status, resp) = ca.post_csr(Some("tok-web"), &body);
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&resp).unwrap();
    let issuer2 = v["certificate_chain"]
        .as_str()
        .unwrap()
        .split("-----END CERTIFICATE-----")
        .nth(1)
        .unwrap()
        .to_owned();
    assert_eq!(issuer1, issuer2, "issuer survives a restart");

    // rotate-root on the running CA's state: new root joins the bundle at once
    let out = phimesh()
        .args(["ca", "rotate-root", "--state-dir"])
        .arg(dir.path().join("state"))
        .args(["--propagation-delay", "1h"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["event"], "root_rotation_started");
    let on_disk = std::fs::read_to_string(&bundle_path).unwrap();
    assert_eq!(on_disk.matches("BEGIN CERTIFICATE").count(), 2);
    assert!(on_disk.starts_with(&first));
    // the running CA adopts it within its 1 s tick
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, b) = ca.curl(&[
            "-H",
            "Accept: application/x-pem-file",
            &ca.url("/v1/trust-bundle"),
        ]);
        if b.matches("BEGIN CERTIFICATE").count() == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "running CA did not adopt the rotation: {b}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // signing has not moved yet: the old chain still verifies against the old root alone
    let (_, resp) = ca.post_csr(Some("tok-web"), &body);
    let v: serde_json::Value = serde_json::from_str(&resp).unwrap();
    let chain = dir.path().join("c.pem");
    let old_root = dir.path().join("old.pem");
    std::fs::write(&chain, v["certificate_chain"].as_str().unwrap()).unwrap();
    std::fs::write(&old_root, &first).unwrap();
    let c = chain.display().to_string();
    openssl(&[
        "verify",
        "-CAfile",
        &old_root.display().to_string(),
        "-untrusted",
        &c,
        &c,
    ]);

    // a second rotation while one is pending is refused with exit 2
    let out = phimesh()
        .args(["ca", "rotate-root", "--state-dir"])
        .arg(dir.path().join("state"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already in progress"));
}

#[test]
fn corrupt_or_half_written_state_stops_the_ca_and_is_left_alone() {
    let dir = setup(&format!("tok-web {WEB}\n"));
    drop(start_ca(dir.path(), &[]));
    let state = dir.path().join("state/ca-state.json");
    let good = std::fs::read_to_string(&state).unwrap();
    let key_swapped = {
        // swap the root's key for the issuer's: parses, but does not hold together
        let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
        let ik = v["issuers"][0]["key_pem"].clone();
        v["roots"][0]["key_pem"] = ik;
        v.to_string()
    };
    for (what, content) in [
        ("truncated", good[..good.len() / 2].to_owned()),
        ("empty", String::new()),
        ("key mismatch", key_swapped),
    ] {
        std::fs::write(&state, &content).unwrap();
        let out = phimesh()
            .args(["ca", "--listen", "127.0.0.1:0", "--state-dir"])
            .arg(dir.path().join("state"))
            .arg("--tokens")
            .arg(dir.path().join("tokens"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{what}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("corrupt CA state"), "{what}: {err}");
        assert!(
            !err.contains("PRIVATE KEY"),
            "key material in an error: {err}"
        );
        assert_eq!(
            std::fs::read_to_string(&state).unwrap(),
            content,
            "{what}: state was overwritten"
        );
    }
}

#[test]
fn bad_flags_and_files_exit_2_with_one_line() {
    let dir = setup("garbage-without-identity\n");
    let run = |args: &[&str]| {
        let out = phimesh()
            .args(args)
            .env_remove("PHIMESH_STATE_DIR")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let st = dir.path().join("state").display().to_string();
    let tk = dir.path().join("tokens").display().to_string();
    let missing = dir.path().join("missing").display().to_string();
    for (args, want) in [
        (vec!["ca", "--state-dir", &st, "--tokens", &tk], "line 1"),
        (
            vec!["ca", "--state-dir", &st, "--tokens", &missing],
            "token file",
        ),
        (vec!["ca", "--tokens", &tk], "--state-dir is required"),
        (
            vec![
                "ca",
                "--state-dir",
                &st,
                "--tokens",
                &tk,
                "--leaf-ttl",
                "soon",
            ],
            "invalid duration",
        ),
        (
            vec![
                "ca",
                "--state-dir",
                &st,
                "--tokens",
                &tk,
                "--trust-domain",
                "Bad Domain",
            ],
            "trust-domain",
        ),
        (
            vec!["ca", "rotate-root", "--state-dir", &missing],
            "no CA state",
        ),
    ] {
        let (code, err) = run(&args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // env vars work like flags
    let out = phimesh()
        .args(["ca", "--tokens", &tk])
        .env("PHIMESH_STATE_DIR", &st)
        .env("PHIMESH_LEAF_TTL", "nonsense")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid duration"));
}

#[test]
fn sighup_reloads_the_token_file() {
    let dir = setup(&format!("tok-web {WEB}\n"));
    let ca = start_ca(dir.path(), &[]);
    let body = csr_body(dir.path(), "web", P256, &format!("URI:{WEB}"));
    assert_eq!(ca.post_csr(Some("tok-new"), &body).0, 401);
    std::fs::write(dir.path().join("tokens"), format!("tok-new {WEB}\n")).unwrap();
    let pid = ca.proc.pid().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if ca.post_csr(Some("tok-new"), &body).0 == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "SIGHUP did not reload tokens");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        ca.post_csr(Some("tok-web"), &body).0,
        401,
        "old token revoked"
    );
}
