//! The report modes (`ReportMode`) on real Hyperscan: `Kinds` lists every kind `All` lists,
//! with its first finding, `First` stops reading once the verdict is PHI and still says PHI,
//! and neither changes the verdict or the hold-back while the stream is clean.

use std::io::Write;

use base64::Engine as _;
use phimesh_detect::{Engine, Kind, Limits, Report, ReportMode, StreamOptions, Verdict};

fn engine() -> &'static Engine {
    static E: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    E.get_or_init(|| Engine::new().expect("engine builds"))
}

fn opts(report: ReportMode) -> StreamOptions {
    StreamOptions {
        report,
        ..StreamOptions::default()
    }
}

/// The report, and `releasable()` after each chunk, of `input` fed in pieces of `chunk`.
fn scan(report: ReportMode, input: &[u8], chunk: usize) -> (Report, Vec<u64>) {
    let mut s = engine().scanner(opts(report)).unwrap();
    let mut released = Vec::new();
    for c in input.chunks(chunk.max(1)) {
        s.feed(c).unwrap();
        released.push(s.releasable());
    }
    assert_eq!(
        s.input_len(),
        input.len() as u64,
        "every byte counts as fed"
    );
    (s.finish().unwrap(), released)
}

fn kinds(r: &Report) -> Vec<Kind> {
    r.kinds()
}

fn gzip(d: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(d).unwrap();
    e.finish().unwrap()
}

/// Bodies with PHI of several kinds, repeated, some encoded; and clean ones.
fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    let record = r#"{"patient":{"name":"Jane Roe","ssn":"219-09-9999","birthDate":"1961-03-14","phone":"(415) 555-2671","mrn":"MRN: 00482913"}}"#;
    let hl7 = "MSH|^~\\&|ADT|HOSP|||202401011200||ADT^A01|1|P|2.5\rPID|1||448812^^^HOSP^MR||DOE^JANE^Q||19610314|F|||1 MAIN ST^^SPRINGFIELD^IL^62701||(217)555-0134|||||88123004|219-09-9999\r";
    let mut v: Vec<(&'static str, Vec<u8>)> = vec![
        ("json records", record.repeat(40).into_bytes()),
        ("hl7 batch", hl7.repeat(60).into_bytes()),
        (
            "phones, then patient context late",
            format!(
                "{}{}",
                "{\"callback\":\"(415) 555-2671\",\"status\":200}\n".repeat(200),
                "{\"patient\":{\"note\":\"x\"}}\n"
            )
            .into_bytes(),
        ),
        (
            "a card and an MBI far apart",
            format!(
                "{}card 4539 5787 6362 1486 exp 12/29\n{}ref=1EG4TE5MK73&x=1\n{}",
                "{\"ts\":1700000000,\"id\":12345}\n".repeat(300),
                "{\"ts\":1700000001,\"id\":12346}\n".repeat(300),
                "{\"ssn\":\"219-09-9999\"}\n".repeat(50),
            )
            .into_bytes(),
        ),
        (
            "base64 and escapes",
            format!(
                "{{\"doc\":\"{}\",\"x\":\"ssn=219%2D09%2D9999\",\"y\":\"DOB\\u003a 03\\/14\\/1961\"}}",
                base64::engine::general_purpose::STANDARD
                    .encode(b"Patient: Jane Doe, MBI 1EG4-TE5-MK73, MRN: 00482913")
            )
            .repeat(20)
            .into_bytes(),
        ),
        (
            "clean log with phones",
            "{\"ts\":1700000000,\"phone\":\"(415) 555-2671\",\"order\":42}\n"
                .repeat(300)
                .into_bytes(),
        ),
        (
            "clean digits",
            phimesh_detect::bench_data::api_log(64 << 10, 7),
        ),
    ];
    let gz = gzip(record.repeat(30).as_bytes());
    let mut wrapped = b"{\"x\":1}\r\n\r\n".to_vec();
    wrapped.extend_from_slice(&gz);
    v.push(("gzip inside a body", wrapped));
    v
}

const CHUNKS: [usize; 5] = [1, 7, 64, 4096, usize::MAX];

#[test]
fn kinds_lists_the_first_finding_of_every_kind_all_lists() {
    let mut phi = 0;
    for (name, input) in inputs() {
        let (all, _) = scan(ReportMode::All, &input, input.len());
        for chunk in CHUNKS {
            let chunk = chunk.min(input.len());
            let (a, a_rel) = scan(ReportMode::All, &input, chunk);
            let (k, k_rel) = scan(ReportMode::Kinds, &input, chunk);
            assert_eq!(a.verdict, all.verdict, "{name}, chunks of {chunk}");
            assert_eq!(k.verdict, all.verdict, "{name}, chunks of {chunk}: kinds");
            assert_eq!(kinds(&k), kinds(&all), "{name}, chunks of {chunk}");
            assert_eq!(k_rel, a_rel, "{name}, chunks of {chunk}: the hold-back");
            // The first finding `All` lists of each kind.
            let mut want = a.findings.clone();
            let mut seen = Vec::new();
            want.retain(|f| {
                let new = !seen.contains(&f.kind);
                seen.push(f.kind);
                new
            });
            assert_eq!(k.findings, want, "{name}, chunks of {chunk}");
        }
        if all.verdict == Verdict::Phi {
            phi += 1;
            assert!(kinds(&all).len() >= 2 || name.contains("phones"), "{name}");
        }
    }
    assert_eq!(phi, 6, "the PHI inputs are PHI");
}

#[test]
fn first_stops_reading_and_still_says_phi() {
    for (name, input) in inputs() {
        let (all, _) = scan(ReportMode::All, &input, input.len());
        for chunk in [7, 64, 4096] {
            let (a, a_rel) = scan(ReportMode::All, &input, chunk);
            // The feed after which `All`'s verdict is first PHI.
            let mut s = engine().scanner(opts(ReportMode::All)).unwrap();
            let all_phi_at = input
                .chunks(chunk)
                .position(|c| s.feed(c).unwrap() == Verdict::Phi);
            let mut s = engine().scanner(opts(ReportMode::First)).unwrap();
            let mut f_rel = Vec::new();
            let mut stopped_at = None;
            for (i, c) in input.chunks(chunk).enumerate() {
                let v = s.feed(c).unwrap();
                f_rel.push(s.releasable());
                if s.stopped() && stopped_at.is_none() {
                    stopped_at = Some(i);
                    assert_eq!(v, Verdict::Phi, "{name}: stops only on PHI");
                }
            }
            let end = s.input_len();
            let f = s.finish().unwrap();
            assert_eq!(end, input.len() as u64, "{name}");
            assert_eq!(f.verdict, a.verdict, "{name}, chunks of {chunk}");
            // It stops where `All`'s verdict turns.
            assert_eq!(stopped_at, all_phi_at, "{name}, chunks of {chunk}");
            match stopped_at {
                None => {
                    // Not PHI before the end: exactly `All`'s scan, hold-back included.
                    assert_eq!(f_rel, a_rel, "{name}, chunks of {chunk}");
                    assert_eq!(f.kinds(), a.kinds(), "{name}, chunks of {chunk}");
                }
                Some(i) => {
                    assert_eq!(all.verdict, Verdict::Phi, "{name}");
                    assert!(
                        !f.findings.is_empty(),
                        "{name}: a PHI report names a finding"
                    );
                    // Up to the chunk that decided, the hold-back is `All`'s; after it nothing
                    // more becomes releasable.
                    assert_eq!(f_rel[..=i], a_rel[..=i], "{name}, chunks of {chunk}");
                    assert!(
                        f_rel[i..].iter().all(|&r| r == f_rel[i]),
                        "{name}, chunks of {chunk}: released after the verdict"
                    );
                    // What it names is PHI `All` names too.
                    for x in &f.findings {
                        assert!(
                            all.findings.iter().any(|y| y.kind == x.kind),
                            "{name}: {x:?}"
                        );
                    }
                    // It stopped early: the decision was in the first part of the input.
                    assert!(
                        name.contains("late")
                            || chunk * 4 > input.len()
                            || (i + 1) * chunk < input.len(),
                        "{name}, chunks of {chunk}: read to the end"
                    );
                }
            }
        }
    }
}

#[test]
fn first_holds_back_every_byte_of_the_deciding_value() {
    // A clean prefix, then an SSN split across chunks: while the verdict is clean, nothing from
    // the SSN's first byte on is releasable, in any mode, at any split.
    let mut input = "{\"ts\":1700000000,\"order\":42}\n".repeat(40).into_bytes();
    let at = input.len() as u64;
    input.extend_from_slice(b"{\"ssn\":\"219-09-9999\"}\n");
    input.extend_from_slice(&"{\"ts\":1700000001,\"order\":43}\n".repeat(40).into_bytes());
    let value = at + 8;
    for mode in [ReportMode::All, ReportMode::Kinds, ReportMode::First] {
        for split in (value as usize - 4)..(value as usize + 14) {
            let mut s = engine().scanner(opts(mode)).unwrap();
            s.feed(&input[..split]).unwrap();
            assert!(s.releasable() <= value, "{mode:?} split {split}");
            s.feed(&input[split..]).unwrap();
            assert_eq!(s.verdict(), Verdict::Phi, "{mode:?} split {split}");
            let r = s.finish().unwrap();
            assert_eq!(r.kinds(), [Kind::Ssn], "{mode:?} split {split}");
        }
    }
}

#[test]
fn all_keeps_listing_past_a_full_list() {
    // Skipping matches that a full list cannot take must not change what `All` lists.
    let input = "{\"ssn\":\"219-09-9999\",\"callback\":\"(415) 555-2671\"}\n"
        .repeat(300)
        .into_bytes();
    for cap in [1, 5, 64] {
        let o = StreamOptions {
            limits: Limits {
                max_findings: cap,
                ..Limits::default()
            },
            ..StreamOptions::default()
        };
        let want = {
            let mut s = engine().scanner(o).unwrap();
            s.feed(&input).unwrap();
            s.finish().unwrap()
        };
        assert_eq!(want.verdict, Verdict::Phi);
        for chunk in [1, 13, 512] {
            let mut s = engine().scanner(o).unwrap();
            for c in input.chunks(chunk) {
                s.feed(c).unwrap();
            }
            assert_eq!(s.finish().unwrap(), want, "cap {cap}, chunks of {chunk}");
        }
    }
}
