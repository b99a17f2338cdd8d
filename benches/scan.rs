//! `cargo bench --bench scan`: throughput of the PHI engine, one-shot and in 16 KiB streaming
//! chunks, on five kinds of traffic, with a `regex::bytes::RegexSet` of the same patterns as
//! the baseline in the same run (every pattern with a literal; every pattern on a 1 MiB slice).
//! The streaming scan runs in each report mode: `All` (every finding), `Kinds` (one finding per
//! kind, as the proxy audits the mesh) and `First` (the verdict, as the proxy refuses PHI).
//! Inputs are generated here (synthetic, deterministic).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use phimesh_detect::{Engine, ReportMode, StreamOptions, Verdict};

const SIZE: usize = 16 << 20;
const CHUNK: usize = 16 << 10;

/// Small deterministic generator (xorshift) so runs compare.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// (a) A digit-heavy, clean JSON API access log.
fn api_log() -> Vec<u8> {
    phimesh_detect::bench_data::api_log(SIZE, 0x9e3779b97f4a7c15)
}

/// (e) The API log with a phone number on every line: every line a match to validate, clean
/// for the verdict (a phone number is PHI only next to patient data).
fn api_log_phones() -> Vec<u8> {
    let mut r = Rng(0x452821e638d01377);
    let mut out = Vec::with_capacity(SIZE + 512);
    for line in phimesh_detect::bench_data::ApiLogLines::new(0x9e3779b97f4a7c15) {
        if out.len() >= SIZE {
            break;
        }
        let at = line.find(",\"amount\"").expect("an amount field");
        out.extend_from_slice(&line.as_bytes()[..at]);
        out.extend_from_slice(
            format!(
                ",\"phone\":\"({}) {}-{:04}\"",
                201 + r.below(789),
                200 + r.below(800),
                r.below(10000)
            )
            .as_bytes(),
        );
        out.extend_from_slice(&line.as_bytes()[at..]);
    }
    out
}

/// (b) PHI-dense HL7 v2 ADT messages.
fn hl7() -> Vec<u8> {
    let mut r = Rng(0x243f6a8885a308d3);
    let mut out = Vec::with_capacity(SIZE + 1024);
    let names = [
        "DOE^JANE^Q",
        "SMITH^JOHN^A",
        "GARCIA^MARIA",
        "NGUYEN^LINH^T",
        "OKAFOR^CHIDI",
    ];
    while out.len() < SIZE {
        let msg = format!(
            "MSH|^~\\&|ADT|HOSP|EHR|HOSP|2024{:02}{:02}1200||ADT^A01|{}|P|2.5\rEVN|A01|20240101\rPID|1||{}^^^HOSP^MR||{}||19{:02}{:02}{:02}|F|||{} MAIN ST^^SPRINGFIELD^IL^{:05}||(217)555-{:04}|||||{}|{:03}-{:02}-{:04}\rPV1|1|I|W7^{}^1|||||||MED\rOBX|1|NM|8867-4^Heart rate||{}|/min|||||F\r",
            1 + r.below(12), 1 + r.below(28), r.below(1_000_000), 100_000 + r.below(900_000), names[r.below(5) as usize],
            40 + r.below(50), 1 + r.below(12), 1 + r.below(28), r.below(9999), r.below(99999), r.below(10000),
            r.below(1_000_000_000), 100 + r.below(500), 10 + r.below(89), 1000 + r.below(8999), r.below(40), 50 + r.below(80),
        );
        out.extend_from_slice(msg.as_bytes());
    }
    out
}

/// (c) A FHIR R4 searchset Bundle of Patients and Observations.
fn fhir_bundle() -> Vec<u8> {
    let mut r = Rng(0x13198a2e03707344);
    let mut out = Vec::with_capacity(SIZE + 2048);
    out.extend_from_slice(b"{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"entry\":[");
    let mut first = true;
    while out.len() < SIZE {
        if !first {
            out.push(b',');
        }
        first = false;
        let id = r.below(10_000_000);
        let e = format!(
            "{{\"fullUrl\":\"https://fhir.hospital.test/Patient/{id}\",\"resource\":{{\"resourceType\":\"Patient\",\"id\":\"{id}\",\"identifier\":[{{\"system\":\"urn:oid:1.2.36.146.595.217.0.1\",\"value\":\"{}\"}}],\"name\":[{{\"family\":\"Doe\",\"given\":[\"Jane\"]}}],\"gender\":\"female\",\"birthDate\":\"19{:02}-{:02}-{:02}\"}}}},{{\"resource\":{{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{{\"coding\":[{{\"system\":\"http://loinc.org\",\"code\":\"8867-4\"}}]}},\"subject\":{{\"reference\":\"Patient/{id}\"}},\"valueQuantity\":{{\"value\":{},\"unit\":\"/min\"}}}}}}",
            r.below(100_000_000), 40 + r.below(50), 1 + r.below(12), 1 + r.below(28), 50 + r.below(80)
        );
        out.extend_from_slice(e.as_bytes());
    }
    out.extend_from_slice(b"]}");
    out
}

/// (d) A clean body that is mostly base64: JSON records carrying small base64 images and a JWT
/// each, as API gateways and document services send them.
fn base64_clean() -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut r = Rng(0xa4093822299f31d0);
    let mut out = Vec::with_capacity(SIZE + 8192);
    out.push(b'[');
    while out.len() < SIZE {
        // The image: base64 of random bytes (compressed pixels), 4-12 KiB.
        let n = 4096 + r.below(8192) as usize;
        let img: Vec<u8> = (0..n).map(|_| ALPHABET[r.below(64) as usize]).collect();
        let e = format!(
            "{{\"id\":{},\"token\":\"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLXtpZH0iLCJzY29wZSI6Im9yZGVyczpyZWFkIiwiaWF0IjoxNzAwMDAwMDAwfQ.{:016x}{:016x}\",\"image\":\"data:image/png;base64,{}\"}},",
            r.below(1_000_000),
            r.next(),
            r.next(),
            std::str::from_utf8(&img).expect("ascii"),
        );
        out.extend_from_slice(e.as_bytes());
    }
    out.extend_from_slice(b"{}]");
    out
}

fn bench(c: &mut Criterion) {
    let engine = Engine::new().expect("engine");
    // The baseline runs every pattern with a literal to anchor on: the ones Hyperscan runs and
    // the separated digit groups (SSNs, grouped cards, dashed MBIs, phones) that phimesh finds
    // beside it. phimesh also runs its whole-token detectors (bare card numbers and MBIs), so it
    // does more work than this set.
    let set = regex::bytes::RegexSet::new(phimesh_detect::anchored_patterns())
        .expect("RegexSet of the same patterns");

    // Every pattern, the token detectors' included: regex's lazy DFA gives up on them and the
    // set runs about a thousand times slower, so it gets a 1 MiB slice of the clean log.
    let all = regex::bytes::RegexSet::new(phimesh_detect::builtin_patterns())
        .expect("RegexSet of every pattern");
    let inputs = [
        ("api_log_clean", api_log()),
        ("hl7_phi_dense", hl7()),
        ("fhir_bundle", fhir_bundle()),
        ("base64_clean", base64_clean()),
        ("api_log_phones_clean", api_log_phones()),
    ];
    for (name, data) in &inputs {
        // Sanity: the clean log is clean, the others are PHI.
        let mut s = engine.scanner(StreamOptions::default()).unwrap();
        s.feed(data).unwrap();
        let report = s.finish().unwrap();
        let v = report.verdict;
        assert_eq!(
            v == Verdict::Clean,
            name.ends_with("_clean"),
            "{name}: {v:?} {:?}",
            report
                .findings
                .iter()
                .take(5)
                .map(|f| (f.kind, f.start, f.end))
                .collect::<Vec<_>>()
        );

        let mut g = c.benchmark_group(format!("scan/{name}"));
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(4));
        g.warm_up_time(Duration::from_secs(1));
        g.bench_function("phimesh_one_shot", |b| {
            b.iter(|| {
                let mut s = engine.scanner(StreamOptions::default()).unwrap();
                s.feed(black_box(data)).unwrap();
                black_box(s.finish().unwrap().verdict)
            })
        });
        for (label, report) in [
            ("phimesh_stream_16k", ReportMode::All),
            ("phimesh_stream_16k_kinds", ReportMode::Kinds),
            ("phimesh_stream_16k_first", ReportMode::First),
        ] {
            let opts = StreamOptions {
                report,
                ..StreamOptions::default()
            };
            g.bench_function(label, |b| {
                b.iter(|| {
                    let mut s = engine.scanner(opts).unwrap();
                    let mut released = 0;
                    for chunk in data.chunks(CHUNK) {
                        s.feed(black_box(chunk)).unwrap();
                        released = s.releasable();
                    }
                    black_box(released);
                    black_box(s.finish().unwrap().verdict)
                })
            });
        }
        g.bench_function("regexset_one_shot", |b| {
            b.iter(|| black_box(set.matches(black_box(data)).matched_any()))
        });

        g.finish();
    }
    let slice = &inputs[0].1[..1 << 20];
    let mut g = c.benchmark_group("scan/api_log_clean_1mib");
    g.throughput(Throughput::Bytes(slice.len() as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(4));
    g.warm_up_time(Duration::from_secs(1));
    g.bench_function("phimesh_stream_16k", |b| {
        b.iter(|| {
            let mut s = engine.scanner(StreamOptions::default()).unwrap();
            for chunk in slice.chunks(CHUNK) {
                s.feed(black_box(chunk)).unwrap();
            }
            black_box(s.finish().unwrap().verdict)
        })
    });
    g.bench_function("regexset_every_pattern", |b| {
        b.iter(|| black_box(all.matches(black_box(slice)).matched_any()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
