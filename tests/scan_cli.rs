//! `phimesh scan` on the built binary: exit codes, JSON shape, stdin, gzip, bounded memory,
//! and never a matched value in any output.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_phimesh");
const SSN: &str = "219-09-9999";

fn scan(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(BIN)
        .arg("scan")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run phimesh");
    if let Some(data) = stdin {
        let mut w = child.stdin.take().unwrap();
        w.write_all(data).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn assert_no_value(o: &Output, value: &str) {
    let all = [o.stdout.as_slice(), o.stderr.as_slice()].concat();
    let text = String::from_utf8_lossy(&all);
    assert!(
        !text.contains(value),
        "output must never contain the matched value"
    );
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    assert!(!text.contains(&digits), "nor its digits");
}

#[test]
fn clean_and_phi_files_exit_codes_and_json_shape() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.json");
    let phi = dir.path().join("phi.json");
    std::fs::write(&clean, br#"{"order_id": 219099999, "status": "shipped"}"#).unwrap();
    std::fs::write(&phi, format!(r#"{{"patient": {{"ssn": "{SSN}"}}}}"#)).unwrap();

    let o = scan(&[clean.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(0));
    let l = lines(&o);
    assert_eq!(l.len(), 1);
    assert_eq!(l[0]["file"], clean.to_str().unwrap());
    assert_eq!(l[0]["phi"], false);
    assert_eq!(l[0]["findings"], serde_json::json!([]));

    let o = scan(&[clean.to_str().unwrap(), phi.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(1));
    let l = lines(&o);
    assert_eq!(l.len(), 2);
    assert_eq!(l[1]["phi"], true);
    let f = &l[1]["findings"][0];
    assert_eq!(f["kind"], "ssn");
    assert_eq!(f["start"], 21);
    assert_eq!(f["end"], 32);
    assert_eq!(
        f.as_object().unwrap().len(),
        3,
        "kind, start, end and nothing else"
    );
    assert_no_value(&o, SSN);
}

#[test]
fn stdin_with_dash_and_by_default() {
    let body = format!("Patient: Jane Doe\nSSN {SSN}\n");
    for args in [&["-"][..], &[][..]] {
        let o = scan(args, Some(body.as_bytes()));
        assert_eq!(o.status.code(), Some(1));
        let l = lines(&o);
        assert_eq!(l[0]["file"], "-");
        let kinds: Vec<&str> = l[0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["patient_name", "ssn"]);
        assert_no_value(&o, SSN);
        assert!(!String::from_utf8_lossy(&o.stdout).contains("Jane"));
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn gzip_files_are_decompressed_and_broken_ones_are_uninspectable() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("note.txt.gz");
    let text = format!(
        "Pt seen today. Social Security Number: {}\n",
        SSN.replace('-', "")
    );
    let data = gzip(text.as_bytes());
    std::fs::write(&gz, &data).unwrap();
    let o = scan(&[gz.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(lines(&o)[0]["findings"][0]["kind"], "ssn");
    assert_no_value(&o, SSN);

    let cut = dir.path().join("cut.gz");
    std::fs::write(&cut, &data[..data.len() - 12]).unwrap();
    let o = scan(&[cut.to_str().unwrap()], None);
    assert_eq!(
        o.status.code(),
        Some(1),
        "uninspectable is refused like PHI"
    );
    let l = lines(&o);
    assert_eq!(l[0]["phi"], false);
    assert_eq!(l[0]["uninspectable"], "truncated_compression");
}

#[test]
fn compression_bomb_on_stdin_is_uninspectable() {
    let zeros = vec![0u8; 64 << 20];
    let bomb = gzip(&zeros);
    let o = scan(&["-"], Some(&bomb));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(lines(&o)[0]["uninspectable"], "compression_ratio");
}

#[test]
fn missing_file_is_an_error_and_other_files_are_still_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("ok.txt");
    std::fs::write(&ok, b"nothing here").unwrap();
    let missing = dir.path().join("missing.txt");
    let o = scan(&[missing.to_str().unwrap(), ok.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2));
    let l = lines(&o);
    assert_eq!(l.len(), 2);
    assert_eq!(l[0]["error"], "not found");
    assert_eq!(l[1]["phi"], false);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not found"));
}

#[test]
fn bad_flags_exit_2() {
    let o = scan(&["--no-such-flag"], None);
    assert_eq!(o.status.code(), Some(2));
}

/// Streams 512 MiB through stdin and checks the peak memory of the process stays small:
/// the file is never read whole.
#[test]
fn huge_input_streams_in_bounded_memory() {
    let script = format!(
        r#"
import resource, subprocess, sys
p = subprocess.Popen([{BIN:?}, "scan", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
block = (b'{{"id": 12345678, "ts": 1700000000, "msg": "clean"}}\n' * 25000)[:1 << 20]
assert len(block) == 1 << 20
for _ in range(512):
    p.stdin.write(block)
p.stdin.write(b"SSN {SSN}\n")
p.stdin.close()
out = p.stdout.read()
rc = p.wait()
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, out.decode().strip())
"#
    );
    let o = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .expect("python3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    let mut parts = out.splitn(3, ' ');
    let rc: i32 = parts.next().unwrap().parse().unwrap();
    let maxrss_kib: u64 = parts.next().unwrap().parse().unwrap();
    let line: serde_json::Value = serde_json::from_str(parts.next().unwrap()).unwrap();
    assert_eq!(rc, 1, "the SSN at the very end is found");
    assert_eq!(line["findings"][0]["start"], 512u64 * (1 << 20) + 4);
    assert!(
        maxrss_kib < 64 * 1024,
        "peak RSS {maxrss_kib} KiB for a 512 MiB input"
    );
}

#[test]
fn kinds_and_first_say_what_they_list_and_keep_the_verdict() {
    // Forty records with an SSN and a name each, then a card number far down the file.
    let mut body =
        format!("{{\"patient\":{{\"name\":\"Jane Doe\",\"ssn\":\"{SSN}\"}}}}\n").repeat(40);
    body.push_str(&"{\"ts\":1700000000,\"order\":42}\n".repeat(20_000));
    body.push_str("card 4539 5787 6362 1486 exp 12/29\n");
    // A file, not stdin: `--first` stops reading, and a writer to its stdin would see the pipe
    // close.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records.json");
    std::fs::write(&file, &body).unwrap();
    let file = file.to_str().unwrap();
    let clean = dir.path().join("clean.json");
    std::fs::write(&clean, b"{\"order_id\": 219099999}\n").unwrap();
    let clean = clean.to_str().unwrap();
    let kinds_of = |l: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = l["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["kind"].as_str().unwrap().to_string())
            .collect();
        k.sort();
        k
    };
    let all = scan(&[file], None);
    assert_eq!(all.status.code(), Some(1));
    let all = &lines(&all)[0];
    assert!(
        all.get("listed").is_none(),
        "the full listing says nothing more"
    );
    assert!(all["findings"].as_array().unwrap().len() > 80);

    let o = scan(&["--kinds", file], None);
    assert_eq!(o.status.code(), Some(1));
    let l = &lines(&o)[0];
    assert_eq!(l["phi"], true);
    assert_eq!(l["listed"], "kinds");
    let mut want = kinds_of(all);
    want.dedup();
    assert_eq!(kinds_of(l), want, "every kind, once");
    assert!(want.contains(&"credit_card".to_string()));
    assert_no_value(&o, SSN);

    let o = scan(&["--first", file], None);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a stream that stops early is still PHI"
    );
    let l = &lines(&o)[0];
    assert_eq!(l["phi"], true);
    assert_eq!(l["listed"], "first");
    let k = kinds_of(l);
    assert!(!k.is_empty() && k.iter().all(|k| want.contains(k)), "{k:?}");
    assert!(
        !k.contains(&"credit_card".to_string()),
        "it stopped before the card"
    );

    // A clean input is clean in every mode.
    for mode in ["--kinds", "--first"] {
        let o = scan(&[mode, clean], None);
        assert_eq!(o.status.code(), Some(0), "{mode}");
        assert_eq!(lines(&o)[0]["findings"], serde_json::json!([]));
    }
    assert_eq!(
        scan(&["--kinds", "--first", clean], None).status.code(),
        Some(2),
        "one mode at a time"
    );
}
