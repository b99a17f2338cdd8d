//! Streaming guarantees of the engine, on real Hyperscan:
//! any chunking gives the one-shot findings, and the hold-back rule never lets a byte of a
//! match out before its verdict.

use std::io::Write;

use phimesh_detect::{
    Decoding, Engine, Finding, Kind, Limits, Report, ReportMode, StreamOptions, Uninspectable,
    Verdict,
};
use proptest::prelude::*;

fn engine() -> &'static Engine {
    static E: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    E.get_or_init(|| Engine::new().expect("engine builds"))
}

fn scan_chunks(opts: StreamOptions, chunks: &[&[u8]]) -> Report {
    let mut s = engine().scanner(opts).unwrap();
    for c in chunks {
        s.feed(c).unwrap();
    }
    s.finish().unwrap()
}

fn one_shot(input: &[u8]) -> Report {
    scan_chunks(StreamOptions::default(), &[input])
}

/// Inputs with PHI of every strong kind, some behind escapes.
const SAMPLES: &[&str] = &[
    r#"{"patient":{"ssn":"219-09-9999","note":"ok"}}"#,
    "SSN: 219099999\n",
    "member MBI 1EG4-TE5-MK73 on file",
    "mbi=1EG4TE5MK73&x=1",
    "MRN: 00482913; visit 2",
    r#"{"memberId": "XKW482910553"}"#,
    "Patient account number: 88123004",
    "DOB: 03/14/1961, seen today",
    r#"{"birthDate": "1961-03-14"}"#,
    "card 4539 5787 6362 1486 exp 12/29",
    "MSH|^~\\&|ADT|HOSP|||202401011200||ADT^A01|1|P|2.5\rPID|1||448812^^^HOSP^MR||DOE^JANE^Q||19610314|F\r",
    r#"{"resourceType": "Patient", "id": "p1"}"#,
    "Patient: Jane Doe\nReason: follow-up",
    r#"{"ssn":"\u0032\u00319-09-9999"}"#,
    "ssn=219%2D09%2D9999&name=x",
    r#"{"text": "DOB\u003a 03\/14\/1961"}"#,
    // The value starts before Hyperscan's match (the e-mail's local part).
    "Patient email: jane.doe.longer.local.part77@mail.test\n",
    // CSV exports: the label is the column header.
    "\"memberdob\";\"zip\"\n\"28.10.1947\";\"13452\"\n",
    "mrn,zip,reason\r\nH307224082,77384,follow-up\r\n",
    "patient_name\tpatient_phone\nDoe, Jane\t(415) 555-2671\n",
    // A fixed-width report: columns named above a rule of dashes.
    "person_id   subscriber_no\n----------- -------------\n0fd08f6d-50 M67049568A   \n",
    // A multipart field whose value is found from its field name, with part headers between.
    "--b7\r\nContent-Disposition: form-data; name=\"member_dob\"\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n03/14/1961\r\n--b7--\r\n",
    // Card numbers and MBIs standing alone, found outside Hyperscan.
    r#"{"value":"4539578763621486","n":2}"#,
    "ref=1EG4TE5MK73&x=1",
    // The widest detector's match: a long reference to a Patient resource.
    r#"{"subject": {"reference": "https://fhir.hospital.test/r4/organisations/north-campus/departments/cardiology/wards/7/Patient/pt-0000482913-aa"}}"#,
];

/// Clean inputs that look like PHI to a naive matcher.
const CLEAN: &[&str] = &[
    r#"{"order_id": 219099999, "ts": 1700000000, "trace": "4f9a1c2e-8b7d-4e21-9c3a-1f2e3d4c5b6a"}"#,
    "SSN: 000-12-3456 and 666-12-3456 and 912-12-3456 and 219-00-9999 and 219-09-0000",
    "card 4539578763621487 (bad Luhn)",
    r#"{"value":"4539578763621487","id":94539578763621486,"ref":"1SG4TE5MK73"}"#,
    "Dr. Ada Smith, NPI 1234567893, Cardiology, (415) 555-2671",
    "Prescriber DEA AB1234563",
    "# HELP phimesh_requests_total Requests.\nphimesh_requests_total{direction=\"outbound\"} 219099999\n",
    "sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "Patient Portal: Login here. New patients call (415) 555-2671.",
    "npi,provider_name,practice_phone\n1234567893,\"Smith, Ada\",(415) 555-2671\n",
    "order_id,dob_verified,zip\n219099999,yes,94110\n",
];

#[test]
fn every_sample_is_phi_and_every_clean_input_is_clean() {
    for s in SAMPLES {
        let r = one_shot(s.as_bytes());
        assert_eq!(
            r.verdict,
            Verdict::Phi,
            "sample #{} should be PHI",
            SAMPLES.iter().position(|x| x == s).unwrap()
        );
        assert!(!r.findings.is_empty());
    }
    for s in CLEAN {
        let r = one_shot(s.as_bytes());
        assert_eq!(
            r.verdict,
            Verdict::Clean,
            "clean #{} found {:?}",
            CLEAN.iter().position(|x| x == s).unwrap(),
            r.kinds()
        );
    }
}

#[test]
fn findings_are_offsets_into_the_content() {
    let input = b"xx {\"ssn\":\"219-09-9999\"} yy";
    let r = one_shot(input);
    assert_eq!(
        r.findings,
        vec![Finding {
            kind: Kind::Ssn,
            start: 11,
            end: 22
        }]
    );
    let escaped = br#"{"ssn":"\u0032\u00319-09-9999"}"#;
    let r = one_shot(escaped);
    assert_eq!(r.findings.len(), 1);
    // The finding covers the escaped bytes in the original content.
    assert_eq!(r.findings[0].start, 8);
    assert_eq!(r.findings[0].end, escaped.len() as u64 - 2);
}

#[test]
fn every_two_chunk_split_gives_the_one_shot_findings() {
    for s in SAMPLES.iter().chain(CLEAN) {
        let input = s.as_bytes();
        let whole = one_shot(input);
        for cut in 0..=input.len() {
            let split = scan_chunks(StreamOptions::default(), &[&input[..cut], &input[cut..]]);
            assert_eq!(split, whole, "split at {cut} of sample {:?}", input.len());
        }
    }
}

#[test]
fn byte_at_a_time_gives_the_one_shot_findings() {
    for s in SAMPLES {
        let input = s.as_bytes();
        let chunks: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(
            scan_chunks(StreamOptions::default(), &chunks),
            one_shot(input)
        );
    }
}

/// The first bytes of a body wait unscanned while there are too few of them to hold a match:
/// a value whose first bytes arrive alone (a slow client, one byte a segment) is still found
/// where the one-shot scan finds it, and a body that ends that short is clean and releases
/// nothing before its end.
#[test]
fn short_first_pieces_are_scanned_with_what_follows() {
    for input in SAMPLES {
        let input = input.as_bytes();
        let want = one_shot(input).findings;
        for a in 1..=4.min(input.len()) {
            for b in 1..=4.min(input.len() - a) {
                let got = scan_chunks(
                    StreamOptions::default(),
                    &[&input[..a], &input[a..a + b], &input[a + b..]],
                )
                .findings;
                assert_eq!(got, want, "pieces of {a} and {b} bytes first");
            }
        }
    }
    for body in [&b""[..], b"o", b"ok", b"ok\n", b"{}", b"[]"] {
        let mut s = engine().scanner(StreamOptions::default()).unwrap();
        for byte in body.chunks(1) {
            s.feed(byte).unwrap();
            assert_eq!(
                s.releasable(),
                0,
                "nothing of {body:?} leaves before its end"
            );
        }
        s.finish_in_place().unwrap();
        assert_eq!(s.releasable(), body.len() as u64);
        let r = s.finish().unwrap();
        assert_eq!(r.verdict, Verdict::Clean);
        assert_eq!(r.content_bytes, body.len() as u64);
    }
}

/// Past `max_findings` the listed findings are the lowest-offset ones, the same for every
/// chunking: a body with over a hundred findings from every source (Hyperscan, the token and shape
/// scanners, CSV columns, labels), capped below that.
#[test]
fn capped_findings_are_the_lowest_ones_in_any_chunking() {
    let body: String = (0..6).map(|_| SAMPLES.join("\n") + "\n").collect();
    let input = body.as_bytes();
    let all = one_shot(input).findings;
    assert!(all.len() > 100, "{} findings", all.len());
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for cap in [1, 5, 37, all.len() / 2, all.len() - 1] {
        let opts = StreamOptions {
            limits: Limits {
                max_findings: cap,
                ..Limits::default()
            },
            ..StreamOptions::default()
        };
        // Strong findings and those that need patient context are capped apart, so the
        // lowest `cap` of all are listed, and at most `2 * cap`, every one of them a finding.
        let whole = scan_chunks(opts, &[input]).findings;
        assert!(whole.len() <= 2 * cap && all[..cap].iter().all(|f| whole.contains(f)));
        assert!(whole.iter().all(|f| all.contains(f)), "cap {cap}");
        let mut chunkings: Vec<Vec<&[u8]>> = [1usize, 3, 7, 64, 333, input.len()]
            .iter()
            .map(|&n| input.chunks(n).collect())
            .collect();
        for _ in 0..8 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let cut = (rng % input.len() as u64) as usize;
            chunkings.push(vec![&input[..cut], &input[cut..]]);
        }
        for chunks in &chunkings {
            let got = scan_chunks(opts, chunks).findings;
            assert_eq!(
                got,
                whole,
                "cap {cap}, first chunk {} bytes",
                chunks[0].len()
            );
        }
    }
}

/// Feeds `input` in `cuts`, checking after every feed that no byte of any not-yet-reported
/// finding is releasable.
fn check_hold_back(input: &[u8], cuts: &[usize]) {
    let final_findings = one_shot(input).findings;
    let mut s = engine().scanner(StreamOptions::default()).unwrap();
    let mut pos = 0;
    let mut bounds: Vec<usize> = cuts
        .iter()
        .copied()
        .filter(|&c| c > 0 && c < input.len())
        .collect();
    bounds.sort();
    bounds.dedup();
    bounds.push(input.len());
    let mut last_released = 0;
    for b in bounds {
        s.feed(&input[pos..b]).unwrap();
        pos = b;
        let released = s.releasable();
        assert!(released >= last_released, "releasable never goes back");
        assert!(released <= pos as u64);
        last_released = released;
        let reported = s.findings();
        for f in &final_findings {
            if !reported.contains(f) {
                assert!(
                    released <= f.start,
                    "{:?} not yet reported but {} bytes releasable (fed {})",
                    f.kind,
                    released,
                    pos
                );
            }
        }
    }
    s.finish_in_place().unwrap();
    assert_eq!(s.releasable(), input.len() as u64);
}

#[test]
fn hold_back_at_every_split_point() {
    for s in SAMPLES {
        let input = s.as_bytes();
        for cut in 0..=input.len() {
            check_hold_back(input, &[cut]);
        }
    }
}

#[test]
fn clean_streams_release_all_but_the_window() {
    let e = engine();
    let mut s = e.scanner(StreamOptions::default()).unwrap();
    let body = vec![b'a'; 1 << 20];
    s.feed(&body).unwrap();
    assert_eq!(s.releasable(), (body.len() - e.hold_back()) as u64);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn opts(decoding: Decoding) -> StreamOptions {
    StreamOptions {
        decoding,
        ..Default::default()
    }
}

#[test]
fn gzip_content_gives_the_plain_findings_in_any_chunking() {
    for s in SAMPLES {
        let plain = one_shot(s.as_bytes());
        let gz = gzip(s.as_bytes());
        for cut in 0..=gz.len() {
            let r = scan_chunks(opts(Decoding::Gzip), &[&gz[..cut], &gz[cut..]]);
            assert_eq!(r, plain);
        }
    }
}

/// What a receiver can inflate from the first bytes of a compressed body: everything up to
/// where the bytes stop (a truncated stream is no obstacle to a reader).
fn inflate_prefix(d: Decoding, bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    let mut r: Box<dyn Read + '_> = match d {
        Decoding::Gzip => Box::new(flate2::read::GzDecoder::new(bytes)),
        _ if bytes.first().is_some_and(|b| b & 0x0f == 8) => {
            Box::new(flate2::read::ZlibDecoder::new(bytes))
        }
        _ => Box::new(flate2::read::DeflateDecoder::new(bytes)),
    };
    while let Ok(n) = r.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// Under `Content-Encoding: gzip` or `deflate`, the compressed bytes released before the
/// verdict inflate to no byte of a value that is still to be reported: not for a small body in
/// one piece (the inflater keeps its last output until more input or the end), not for a body
/// flushed right after the value, in any chunking.
#[test]
fn compressed_bytes_are_held_until_their_content_is_scanned() {
    let value = br#"{"ssn":"219-09-9999"}"#;
    let mut bodies: Vec<(Decoding, Vec<u8>)> = Vec::new();
    for level in [1, 6, 9] {
        let c = flate2::Compression::new(level);
        let mut g = flate2::write::GzEncoder::new(Vec::new(), c);
        g.write_all(value).unwrap();
        bodies.push((Decoding::Gzip, g.finish().unwrap()));
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), c);
        z.write_all(value).unwrap();
        bodies.push((Decoding::Deflate, z.finish().unwrap()));
        let mut r = flate2::write::DeflateEncoder::new(Vec::new(), c);
        r.write_all(value).unwrap();
        bodies.push((Decoding::Deflate, r.finish().unwrap()));
        // Clean text, the value, a sync flush (its bytes are decodable from here), more text.
        let mut g = flate2::write::GzEncoder::new(Vec::new(), c);
        g.write_all(&b"note: all clear. ".repeat(40)).unwrap();
        g.write_all(value).unwrap();
        g.flush().unwrap();
        g.write_all(&b" and more clean text".repeat(10)).unwrap();
        bodies.push((Decoding::Gzip, g.finish().unwrap()));
    }
    // The same compressed bytes without a Content-Encoding: found by content (a `.gz`
    // upload), read by a receiver all the same.
    let by_content: Vec<(Decoding, Vec<u8>)> = bodies
        .iter()
        .filter(|(d, b)| *d == Decoding::Gzip || b[0] & 0x0f == 8)
        .map(|(_, b)| (Decoding::Identity, b.clone()))
        .collect();
    bodies.extend(by_content);
    for (d, body) in &bodies {
        let report = scan_chunks(opts(*d), &[body]);
        assert_eq!(report.verdict, Verdict::Phi);
        let first = report.findings.iter().map(|f| f.start).min().unwrap();
        for step in [1, 2, 3, 7, 16, body.len()] {
            let mut s = engine().scanner(opts(*d)).unwrap();
            for piece in body.chunks(step) {
                s.feed(piece).unwrap();
                if s.verdict() == Verdict::Phi {
                    break;
                }
                let released = s.releasable() as usize;
                let as_sent = if *d == Decoding::Identity && body[0] == 0x1f {
                    Decoding::Gzip
                } else {
                    *d
                };
                let readable = inflate_prefix(as_sent, &body[..released]).len() as u64;
                assert!(
                    readable <= first,
                    "{d:?} in pieces of {step}: {released} bytes released inflate to {readable} \
                     content bytes, the value starts at {first}"
                );
            }
        }
    }
}

/// A gRPC message compressed with `grpc-encoding: gzip`, fed in pieces: the bytes released
/// before the verdict inflate to no byte of the value.
#[test]
fn compressed_grpc_messages_are_held_until_their_content_is_scanned() {
    let value = br#"{"ssn":"219-09-9999"}"#;
    let body = grpc_frame(&gzip(value), true);
    let d = Decoding::grpc(Some("gzip"));
    let report = scan_chunks(opts(d), &[&body]);
    assert_eq!(report.verdict, Verdict::Phi);
    let first = report.findings[0].start;
    for step in 1..=body.len() {
        let mut s = engine().scanner(opts(d)).unwrap();
        for piece in body.chunks(step) {
            s.feed(piece).unwrap();
            if s.verdict() == Verdict::Phi {
                break;
            }
            let released = s.releasable() as usize;
            let readable = inflate_prefix(Decoding::Gzip, &body[5.min(released)..released]);
            assert!(
                readable.len() as u64 <= first,
                "pieces of {step}: {released} bytes released inflate to {} content bytes",
                readable.len()
            );
        }
    }
}

/// A gzip member's header carries a file name, a comment and an extra field in the clear:
/// `gzip patient-219-09-9999.csv` writes the file name there. They are scanned as content, in
/// any chunking, for every member of the stream.
#[test]
fn gzip_header_fields_are_scanned() {
    let clean = br#"{"note":"all clear"}"#;
    let member = |name: Option<&str>, comment: Option<&str>, extra: Option<&[u8]>| {
        let mut b = flate2::GzBuilder::new();
        if let Some(n) = name {
            b = b.filename(n);
        }
        if let Some(c) = comment {
            b = b.comment(c);
        }
        if let Some(x) = extra {
            b = b.extra(x);
        }
        let mut w = b.write(Vec::new(), flate2::Compression::default());
        w.write_all(clean).unwrap();
        w.finish().unwrap()
    };
    let plain = member(Some("export.json"), Some("nightly"), None);
    let cases = [
        (member(Some("ssn 219-09-9999.json"), None, None), true),
        (member(None, Some("SSN: 219-09-9999"), None), true),
        (member(None, None, Some(b"AB\x0b\x00MRN: 00482913")), true),
        (plain.clone(), false),
        // A second member's header.
        (
            [
                plain.clone(),
                member(Some("ssn 219-09-9999.json"), None, None),
            ]
            .concat(),
            true,
        ),
    ];
    // A field is scanned once it is whole: until then none of the header is released (it is
    // in the clear), nor anything after it.
    let unterminated = [
        &member(None, None, None)[..3],
        &[0x08][..],
        &[0; 6],
        b"ssn 219-09-9999 and",
    ]
    .concat();
    for (body, phi) in &cases {
        for step in [1, 5, 11, body.len()] {
            let pieces: Vec<&[u8]> = body.chunks(step).collect();
            let r = scan_chunks(opts(Decoding::Gzip), &pieces);
            assert_eq!(r.verdict == Verdict::Phi, *phi, "pieces of {step}: {r:?}");
        }
    }
    let grpc = grpc_frame(&cases[0].0, true);
    let bodies = cases
        .iter()
        .filter(|(_, phi)| *phi)
        .map(|(b, _)| (b.clone(), Decoding::Gzip))
        .chain([
            (unterminated, Decoding::Gzip),
            (grpc, Decoding::grpc(Some("gzip"))),
        ]);
    for (body, d) in bodies {
        let mut checked = 0;
        for step in 1..=body.len() {
            let mut s = engine().scanner(opts(d)).unwrap();
            for piece in body.chunks(step) {
                s.feed(piece).unwrap();
                if s.verdict() != Verdict::Clean {
                    break;
                }
                checked += 1;
                let released = &body[..s.releasable() as usize];
                for part in [&b"219-09"[..], b"00482913"] {
                    assert!(
                        !contains(released, part),
                        "pieces of {step}: released {}",
                        released.len()
                    );
                }
            }
        }
        assert!(checked > body.len(), "{d:?}: the releases were checked");
    }
    // The member's data starts a segment after its header fields: UTF-16 text there is read.
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(
            "SSN: 219-09-9999\r\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    let mut w = flate2::GzBuilder::new()
        .filename("report.csv")
        .write(Vec::new(), flate2::Compression::default());
    w.write_all(&utf16).unwrap();
    let r = scan_chunks(opts(Decoding::Gzip), &[&w.finish().unwrap()]);
    assert_eq!(r.verdict, Verdict::Phi, "{r:?}");
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A body of empty or data-less gzip members costs a decoder set-up per member with nothing to
/// scan (a million took seconds): refused past 64 members and one per 512 input bytes, or
/// once it inflates to less than half its size past 64 KiB, while real multi-member and
/// incompressible bodies read as before.
#[test]
fn gzip_made_of_member_headers_is_refused() {
    let empty = gzip(b"");
    // Empty members; members with a file name each and no data (the names are content, so
    // they pass the half-size rule); the same inside a gRPC message.
    let named: Vec<u8> = (0..10_000)
        .flat_map(|i| {
            let mut w = flate2::GzBuilder::new()
                .filename(format!("part-{i:08}-of-a-long-export-name.json"))
                .write(Vec::new(), flate2::Compression::default());
            w.write_all(b"").unwrap();
            w.finish().unwrap()
        })
        .collect();
    for (d, body) in [
        (Decoding::Gzip, empty.repeat(20_000)),
        (Decoding::Gzip, named.clone()),
        (Decoding::grpc(Some("gzip")), grpc_frame(&named, true)),
    ] {
        let r = scan_chunks(opts(d), &[&body]);
        assert!(
            matches!(
                r.verdict,
                Verdict::Uninspectable(
                    Uninspectable::CorruptCompression | Uninspectable::MalformedGrpc
                )
            ),
            "{d:?}: {r:?}"
        );
    }
    // Many real members, and data that does not compress (stored blocks), are read whole.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut noise = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as u8
    };
    let text: Vec<u8> = (0..1024).map(|_| b'a' + noise() % 26).collect();
    let members = gzip(&text).repeat(300);
    let r = scan_chunks(opts(Decoding::Gzip), &[&members]);
    assert_eq!(r.verdict, Verdict::Clean);
    assert_eq!(r.content_bytes, 300 * 1024);
    let random: Vec<u8> = (0..256 * 1024).map(|_| noise()).collect();
    let stored = gzip(&random);
    for step in [1000, stored.len()] {
        let pieces: Vec<&[u8]> = stored.chunks(step).collect();
        let r = scan_chunks(opts(Decoding::Gzip), &pieces);
        assert_eq!(r.content_bytes, random.len() as u64, "pieces of {step}");
        assert!(
            !matches!(r.verdict, Verdict::Uninspectable(_)),
            "{:?}",
            r.verdict
        );
    }
}

#[test]
fn compression_bomb_is_uninspectable_within_bounded_memory() {
    // 1 GiB of zeros compresses to about 1 MiB.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        enc.write_all(&zeros).unwrap();
    }
    let bomb = enc.finish().unwrap();
    let mut s = engine().scanner(opts(Decoding::Gzip)).unwrap();
    let mut peak = 0;
    let mut verdict = Verdict::Clean;
    for c in bomb.chunks(16 * 1024) {
        verdict = s.feed(c).unwrap();
        peak = peak.max(s.memory_bytes());
        if matches!(verdict, Verdict::Uninspectable(_)) {
            break;
        }
    }
    assert_eq!(
        verdict,
        Verdict::Uninspectable(Uninspectable::CompressionRatio)
    );
    assert!(
        s.content_len() < 200 << 20,
        "stopped early: {} bytes inflated",
        s.content_len()
    );
    assert!(peak < 8 << 20, "stream memory stays bounded, peak {peak}");
}

#[test]
fn truncated_and_corrupt_gzip_are_uninspectable_never_clean() {
    let gz = gzip(b"nothing to see here, just a long enough clean body to compress");
    let r = scan_chunks(opts(Decoding::Gzip), &[&gz[..gz.len() - 10]]);
    assert_eq!(
        r.verdict,
        Verdict::Uninspectable(Uninspectable::TruncatedCompression)
    );
    let r = scan_chunks(opts(Decoding::Gzip), &[b"this is not gzip at all"]);
    assert_eq!(
        r.verdict,
        Verdict::Uninspectable(Uninspectable::CorruptCompression)
    );
    // PHI before the point of corruption is still PHI-or-uninspectable, never clean.
    let mut gz = gzip(b"SSN 219-09-9999 then garbage follows");
    let n = gz.len();
    gz[n - 6] ^= 0xff;
    let r = scan_chunks(opts(Decoding::Gzip), &[&gz]);
    assert_ne!(r.verdict, Verdict::Clean);
}

#[test]
fn content_limit_makes_a_stream_uninspectable() {
    let o = StreamOptions {
        limits: Limits {
            max_content_bytes: 1000,
            ..Limits::default()
        },
        ..Default::default()
    };
    let r = scan_chunks(o, &[&[b'x'; 600], &[b'y'; 600]]);
    assert_eq!(
        r.verdict,
        Verdict::Uninspectable(Uninspectable::ContentTooLarge)
    );
}

fn grpc_frame(msg: &[u8], compressed: bool) -> Vec<u8> {
    let mut v = vec![compressed as u8];
    v.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    v.extend_from_slice(msg);
    v
}

#[test]
fn grpc_messages_are_unframed_and_decompressed() {
    // A PHI value split across two messages is still found.
    let mut body = grpc_frame(b"\x0a\x07ssn 219-0", false);
    body.extend(grpc_frame(b"9-9999\x10\x01", false));
    for cut in 0..=body.len() {
        let r = scan_chunks(opts(Decoding::grpc(None)), &[&body[..cut], &body[cut..]]);
        assert_eq!(r.verdict, Verdict::Phi, "cut {cut}");
        assert_eq!(r.kinds(), vec![Kind::Ssn]);
    }
    let compressed = grpc_frame(&gzip(b"\x0a\x0b219-09-9999"), true);
    let r = scan_chunks(opts(Decoding::grpc(Some("gzip"))), &[&compressed]);
    assert_eq!(r.verdict, Verdict::Phi);
    // Compressed message without a grpc-encoding, unknown encodings, bad frames.
    let r = scan_chunks(opts(Decoding::grpc(None)), &[&compressed]);
    assert_eq!(
        r.verdict,
        Verdict::Uninspectable(Uninspectable::MalformedGrpc)
    );
    let r = scan_chunks(opts(Decoding::grpc(Some("snappy"))), &[&compressed]);
    assert_eq!(
        r.verdict,
        Verdict::Uninspectable(Uninspectable::UnsupportedEncoding)
    );
    let r = scan_chunks(opts(Decoding::grpc(None)), &[&[0, 0xff, 0xff, 0xff, 0xff]]);
    assert_eq!(
        r.verdict,
        Verdict::Uninspectable(Uninspectable::MalformedGrpc)
    );
    let r = scan_chunks(
        opts(Decoding::grpc(None)),
        &[&grpc_frame(b"abc", false)[..6]],
    );
    assert_eq!(
        r.verdict,
        Verdict::Uninspectable(Uninspectable::MalformedGrpc)
    );
}

#[test]
fn memory_per_stream_is_bounded_and_reported() {
    let mut s = engine().scanner(StreamOptions::default()).unwrap();
    let chunk = br#"{"id": 12345678, "ts": 1700000000, "v": "\u0041%41"} "#.repeat(2000);
    for _ in 0..50 {
        s.feed(&chunk).unwrap();
    }
    let m = s.memory_bytes();
    assert!(m > engine().stream_size());
    assert!(m < 512 * 1024, "stream memory {m}");
}

/// The whole body in one [`phimesh_detect::Scanner::feed_last`] call (one block-mode scan when it
/// is short).
fn scan_whole(opts: StreamOptions, input: &[u8]) -> Report {
    let mut s = engine().scanner(opts).unwrap();
    s.feed_last(input).unwrap();
    s.finish().unwrap()
}

#[test]
fn a_body_fed_whole_gives_the_streamed_report() {
    // Every sample and clean input alone, all of them together, at the very end of the body
    // (end-anchored matches), behind an escape left open at the end, and padded to either side
    // of the length scanned in one call; in every report mode, as a form and not.
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    let all = SAMPLES.join("\n");
    for s in SAMPLES.iter().chain(CLEAN).copied().chain([all.as_str()]) {
        for pad in [0, 200, 3500, 4090, 5000] {
            let filler: String = "ok, ".repeat(pad / 4 + 1)[..pad].to_string();
            inputs.push(format!("{filler}{s}").into_bytes());
            inputs.push(format!("{s}{filler}").into_bytes());
            inputs.push(format!("{filler}{s}%2").into_bytes());
            inputs.push(format!("{s}\\u00").into_bytes());
        }
    }
    inputs.push(b"ssn=219-09-999".to_vec());
    inputs.push(b"SSN 219-09-9999".to_vec());
    inputs.push(b"ssn=219%2D09%2D9999".to_vec());
    let mut checked = 0;
    for input in &inputs {
        for report in [ReportMode::All, ReportMode::Kinds, ReportMode::First] {
            for plus_as_space in [false, true] {
                let o = StreamOptions {
                    plus_as_space,
                    report,
                    ..StreamOptions::default()
                };
                let whole = scan_whole(o, input);
                // `First` stops at the end of the piece that decided: compare one piece.
                let pieces: Vec<&[u8]> = if report == ReportMode::First {
                    vec![input]
                } else {
                    input.chunks(7).collect()
                };
                assert_eq!(
                    whole,
                    scan_chunks(o, &pieces),
                    "{report:?} plus_as_space={plus_as_space}, input {} bytes: {:?}",
                    input.len(),
                    String::from_utf8_lossy(&input[input.len().saturating_sub(120)..])
                );
                checked += usize::from(whole.verdict == Verdict::Phi);
            }
        }
    }
    assert!(checked > inputs.len(), "the inputs hold PHI: {checked}");
}

#[test]
fn a_compressed_body_fed_whole_gives_the_streamed_report() {
    for s in SAMPLES {
        let z = gzip(s.as_bytes());
        let whole = scan_whole(opts(Decoding::Gzip), &z);
        assert_eq!(whole.verdict, Verdict::Phi, "{s}");
        let pieces: Vec<&[u8]> = z.chunks(5).collect();
        assert_eq!(whole, scan_chunks(opts(Decoding::Gzip), &pieces), "{s}");
    }
}

#[test]
fn a_wide_csv_header_and_a_long_first_line_are_read_in_any_chunking() {
    // A 240-column export whose header line is over 4 KiB, and an ordinary export below a
    // 20 KB first line (read past, not a reason to stop looking): found in one piece and in
    // 7-byte pieces alike.
    let names: Vec<String> = (0..240).map(|i| format!("column_number_{i:03}")).collect();
    let values: Vec<String> = (0..240).map(|i| format!("v{i}")).collect();
    let wide = format!("{},ssn\n{},219099999\n", names.join(","), values.join(","));
    assert!(wide.find('\n').unwrap() > 4096);
    let long_first = format!("{}\nname,ssn\nJane Roe,219099999\n", "x".repeat(20_000));
    for input in [wide, long_first] {
        let bytes = input.as_bytes();
        let whole = one_shot(bytes);
        assert!(
            whole.findings.iter().any(|f| f.kind == Kind::Ssn),
            "{} bytes: {whole:?}",
            bytes.len()
        );
        let pieces: Vec<&[u8]> = bytes.chunks(7).collect();
        assert_eq!(scan_chunks(StreamOptions::default(), &pieces), whole);
    }
}

#[test]
fn input_after_the_end_is_an_error_not_clean() {
    // Bytes that come after the scanner ended were never scanned: they must not pass.
    let mut s = engine().scanner(StreamOptions::default()).unwrap();
    assert_eq!(s.feed_last(b"order 42").unwrap(), Verdict::Clean);
    assert!(s.feed(b"SSN 219-09-9999").is_err());
    assert!(s.feed_last(b"SSN 219-09-9999").is_err());
    let mut s = engine().scanner(StreamOptions::default()).unwrap();
    s.feed(b"order 42").unwrap();
    s.finish_in_place().unwrap();
    assert!(s.feed(b"SSN 219-09-9999").is_err());
    // Nothing is not an error.
    assert_eq!(s.feed(b"").unwrap(), Verdict::Clean);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_last_piece_fed_as_last_gives_the_one_shot_findings(idx in 0..SAMPLES.len(), pad in "[ -~]{0,64}", cut in 0usize..200) {
        let input = format!("{pad}{}{pad}", SAMPLES[idx]);
        let bytes = input.as_bytes();
        let cut = cut.min(bytes.len());
        let mut s = engine().scanner(StreamOptions::default()).unwrap();
        s.feed(&bytes[..cut]).unwrap();
        s.feed_last(&bytes[cut..]).unwrap();
        prop_assert_eq!(s.finish().unwrap(), one_shot(bytes));
    }

    #[test]
    fn any_chunking_gives_the_one_shot_findings(idx in 0..SAMPLES.len(), pad in "[ -~]{0,64}", cuts in proptest::collection::vec(0usize..200, 0..8)) {
        let input = format!("{pad}{}{pad}", SAMPLES[idx]);
        let bytes = input.as_bytes();
        let whole = one_shot(bytes);
        let mut bounds: Vec<usize> = cuts.into_iter().filter(|&c| c < bytes.len()).collect();
        bounds.sort();
        bounds.dedup();
        let mut chunks = Vec::new();
        let mut prev = 0;
        for b in bounds {
            chunks.push(&bytes[prev..b]);
            prev = b;
        }
        chunks.push(&bytes[prev..]);
        prop_assert_eq!(scan_chunks(StreamOptions::default(), &chunks), whole);
    }

    #[test]
    fn hold_back_holds_for_any_chunking(idx in 0..SAMPLES.len(), pad in "[ -~]{0,300}", cuts in proptest::collection::vec(0usize..400, 0..10)) {
        let input = format!("{pad}{}{pad}", SAMPLES[idx]);
        check_hold_back(input.as_bytes(), &cuts);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048), cut in 0usize..2048) {
        let cut = cut.min(data.len());
        for d in [Decoding::Identity, Decoding::Gzip, Decoding::Deflate, Decoding::grpc(Some("gzip"))] {
            let r = scan_chunks(opts(d), &[&data[..cut], &data[cut..]]);
            prop_assert!(r.findings.len() <= data.len());
        }
    }
}
