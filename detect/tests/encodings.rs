//! Encoded PHI is found whatever the headers say (base64 and base64url runs, JWTs, `data:` URIs,
//! MIME parts, UTF-16, gzip/zlib by their magic, nested encodings, quoted-printable, HTML
//! references, repeated percent-encoding, Unicode look-alikes), in any chunking, and the
//! hold-back never lets a byte of an encoded value out before its verdict.

use std::io::Read;

use base64::Engine as _;
use phimesh_detect::{Engine, Report, StreamOptions, Uninspectable, Verdict};
use phimesh_testkit::codec::{b64, b64url, gzip, mime_lines, utf16, zlib};

fn engine() -> &'static Engine {
    static E: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    E.get_or_init(|| Engine::new().expect("engine builds"))
}

fn scan(chunks: &[&[u8]]) -> Report {
    let mut s = engine().scanner(StreamOptions::default()).unwrap();
    for c in chunks {
        s.feed(c).unwrap();
    }
    s.finish().unwrap()
}

const RECORD: &str =
    r#"{"patient":{"name":"Jane Roe","ssn":"219-09-9999","note":"follow-up in two weeks"}}"#;
const SSN_TEXT: &str = "SSN 219-09-9999";

/// (name, bytes) of inputs with PHI only in an encoded form.
fn positives() -> Vec<(&'static str, Vec<u8>)> {
    let long_note = format!(
        "Discharge summary for the patient seen on the ward. {} {} Follow-up in clinic.",
        "Vitals stable, wound clean and dry, no signs of infection.".repeat(2),
        SSN_TEXT
    );
    let jwt = format!(
        "{}.{}.{}",
        b64url(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64url(br#"{"sub":"42","ssn":"219-09-9999","iat":1700000000}"#),
        b64url(&[0x5a; 32])
    );
    vec![
        ("base64 body", b64(RECORD.as_bytes()).into_bytes()),
        (
            "base64 json value",
            format!(r#"{{"id":7,"payload":"{}"}}"#, b64(SSN_TEXT.as_bytes())).into_bytes(),
        ),
        (
            "base64 under an ssn key",
            format!(r#"{{"ssn":"{}"}}"#, b64(b"219-09-9999")).into_bytes(),
        ),
        (
            "base64url query",
            format!(
                "GET /v1/x?state={}&x=1 HTTP/1.1\r\n",
                b64url(RECORD.as_bytes())
            )
            .into_bytes(),
        ),
        (
            "percent-encoded padding",
            format!("q={}", b64(SSN_TEXT.as_bytes()).replace('=', "%3D")).into_bytes(),
        ),
        ("jwt", format!("Authorization: Bearer {jwt}\n").into_bytes()),
        (
            "data uri",
            format!(
                r#"<img src="x"><a href="data:text/plain;base64,{}">n</a>"#,
                b64(SSN_TEXT.as_bytes())
            )
            .into_bytes(),
        ),
        (
            "mime base64 part",
            format!(
                "--b1\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
                mime_lines(&b64(long_note.as_bytes()))
            )
            .into_bytes(),
        ),
        ("utf-16le bom", utf16(RECORD, true, true)),
        ("utf-16be bom", utf16(RECORD, false, true)),
        ("utf-16le no bom", utf16(RECORD, true, false)),
        ("utf-16be no bom", utf16(RECORD, false, false)),
        ("gzip without a header", gzip(RECORD.as_bytes())),
        ("zlib without a header", zlib(RECORD.as_bytes())),
        ("gzip in gzip", gzip(&gzip(RECORD.as_bytes()))),
        ("base64 of gzip", b64(&gzip(RECORD.as_bytes())).into_bytes()),
        (
            "base64 of gzip in json",
            format!(r#"{{"blob":"{}"}}"#, b64(&gzip(RECORD.as_bytes()))).into_bytes(),
        ),
        ("gzip of base64 json", gzip(format!(r#"{{"d":"{}"}}"#, b64(RECORD.as_bytes())).as_bytes())),
        ("base64 of utf-16", b64(&utf16(RECORD, true, true)).into_bytes()),
        ("multipart gzip part", {
            let mut v = b"--b2\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.json.gz\"\r\nContent-Type: application/gzip\r\n\r\n".to_vec();
            v.extend_from_slice(&gzip(RECORD.as_bytes()));
            v.extend_from_slice(b"\r\n--b2--\r\n");
            v
        }),
        ("multipart utf-16 part", {
            let mut v = b"--b4\r\nContent-Disposition: form-data; name=\"f\"; filename=\"export.csv\"\r\nContent-Type: text/csv; charset=utf-16\r\n\r\n".to_vec();
            v.extend_from_slice(&utf16("name,ssn\r\nJane Roe,219-09-9999\r\n", true, false));
            v.extend_from_slice(b"\r\n--b4--\r\n");
            v
        }),
        ("http body in zlib", {
            let mut v = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 99\r\n\r\n".to_vec();
            v.extend_from_slice(&zlib(RECORD.as_bytes()));
            v
        }),
        (
            "quoted-printable part",
            b"--b3\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nPatient SSN=3A 219=2D09=\r\n-9999 on file=2E\r\n--b3--\r\n".to_vec(),
        ),
        ("html decimal", b"<td>SSN &#50;&#49;&#57;-&#48;&#57;-&#57;&#57;&#57;&#57;</td>".to_vec()),
        ("html hex", b"ssn=&#x32;&#x31;&#x39;&#x2D;09&#x2d;9999".to_vec()),
        ("double percent", b"ssn=219%252D09%252D9999".to_vec()),
        ("double percent digits", b"q=%2532%2531%2539-09-9999 SSN".to_vec()),
        ("full-width digits", "SSN ２１９-０９-９９９９".as_bytes().to_vec()),
        ("unicode hyphen", "SSN 219\u{2010}09\u{2010}9999".as_bytes().to_vec()),
        ("zero-width space", "SSN 219-0\u{200b}9-9999".as_bytes().to_vec()),
        ("label joined by a dash", b"X-SSN-219-09-9999: 1\n".to_vec()),
        // Red-team findings: quoted-printable without a part header, an RFC 2047 Q word; other
        // scripts' digits, superscripts, circled digits, combining marks; C and octal escapes;
        // markdown escapes; a YAML line continuation; a label glued to its value.
        ("bare quoted-printable", b"ssn =32=31=39=2D=30=39=2D=39=39=39=39".to_vec()),
        (
            "rfc 2047 q word",
            b"X-Patient: =?utf-8?Q?SSN_=32=31=39=2D=30=39=2D=39=39=39=39?=\r\n".to_vec(),
        ),
        ("thai digits", "SSN ๒๑๙-๐๙-๙๙๙๙".as_bytes().to_vec()),
        ("bengali digits", "SSN ২১৯-০৯-৯৯৯৯".as_bytes().to_vec()),
        ("superscripts", "SSN ²¹⁹-⁰⁹-⁹⁹⁹⁹".as_bytes().to_vec()),
        ("circled digits", "SSN ②①⑨-⓪⑨-⑨⑨⑨⑨".as_bytes().to_vec()),
        ("combining marks", "SSN 2\u{301}19-09-9999".as_bytes().to_vec()),
        ("c hex escapes", br#"{"ssn":"\x32\x31\x39-09-9999"}"#.to_vec()),
        ("octal escapes", br#"ssn = "\062\061\071-09-9999""#.to_vec()),
        ("markdown escapes", b"SSN 219\\-09\\-9999".to_vec()),
        ("yaml line continuation", b"ssn: \"219-09-\\\n    9999\"\n".to_vec()),
        ("label glued", br#"{"patient":{"ssn":"SSN219-09-9999"}}"#.to_vec()),
        // Red-team findings: a browser's MIME boundary reads as URL-safe base64 and joined the
        // run of a short base64 part (judged binary with it); a gzip part followed by the
        // boundary ended its segment before the value at its very end was matched.
        (
            "base64 part before a browser boundary",
            format!(
                "------WebKitFormBoundary7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name=\"f\"; filename=\"n.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n------WebKitFormBoundary7MA4YWxkTrZu0gW--\r\n",
                b64(b"ssn 219-09-9999")
            )
            .into_bytes(),
        ),
        (
            "quoted-printable part in lower-case hex",
            b"--b5\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nSSN 219=2d09=2d9999\r\n--b5--\r\n".to_vec(),
        ),
        ("gzip part before a long boundary", {
            let mut v = b"--XyZb0undary\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.gz\"\r\nContent-Type: application/gzip\r\n\r\n".to_vec();
            v.extend_from_slice(&gzip(b"ssn 219-09-9999"));
            v.extend_from_slice(b"\r\n--XyZb0undary--\r\n");
            v
        }),
        // Red-team findings: base64 as a URL path segment, after a short prefix, after a path.
        (
            "base64 path segment",
            format!("GET /api/patients/{} HTTP/1.1\r\n", b64url(b"219-09-9999")).into_bytes(),
        ),
        (
            "base64 after a short prefix",
            format!(r#"{{"ref":"p/{}"}}"#, b64(RECORD.as_bytes())).into_bytes(),
        ),
        (
            "base64 ending a url",
            format!(
                r#"{{"next":"https://records.example/patients/{}"}}"#,
                b64(b"219-09-9999")
            )
            .into_bytes(),
        ),
        (
            "base64 after a long path",
            format!(
                "GET /{}/{} HTTP/1.1\r\n",
                "segment/".repeat(12).trim_end_matches('/'),
                b64(RECORD.as_bytes())
            )
            .into_bytes(),
        ),
        ("host label", b"Host: ssn-219-09-9999.example\n".to_vec()),
    ]
}

fn negatives() -> Vec<(&'static str, Vec<u8>)> {
    let mut x: u32 = 7;
    let binary: Vec<u8> = (0..3000)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect();
    let clean_json = br#"{"order":{"item":"gauze","qty":3,"ref":"A-1001"}}"#;
    vec![
        ("base64 image", format!(r#"{{"img":"{}"}}"#, b64(&binary)).into_bytes()),
        ("mime image part", mime_lines(&b64(&binary)).into_bytes()),
        (
            "jwt without phi",
            format!(
                "Authorization: Bearer {}.{}.{}\n",
                b64url(br#"{"alg":"HS256"}"#),
                b64url(br#"{"sub":"user-42","iat":1700000000,"scope":"orders:read"}"#),
                b64url(&binary[..32])
            )
            .into_bytes(),
        ),
        (
            "camelCase keys",
            br#"{"patientIdentifierSystem":"urn:oid:2.16.840","applicationVersionNumber":"1.22.3","ThisIsALongPascalCaseName":true}"#.to_vec(),
        ),
        (
            "hex and uuids",
            b"trace=4f9a1c2e8b7d4e219c3a1f2e3d4c5b6a id=4f9a1c2e-8b7d-4e21-9c3a-1f2e3d4c5b6a".to_vec(),
        ),
        ("base64 of an invalid ssn", b64(b"SSN 000-12-3456").into_bytes()),
        ("utf-16 clean", utf16("order 42 shipped, 3 items, total 19.99", true, true)),
        ("gzip clean", gzip(clean_json)),
        ("base64 of gzip clean", b64(&gzip(clean_json)).into_bytes()),
        (
            "quoted-printable clean",
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\nTotal =3D 42 =E2=82=AC, order A=2D1001\r\n".to_vec(),
        ),
        ("html clean", b"<p>Order &#35;1001 &amp; &#x23;1002 &mdash; 3 items</p>".to_vec()),
        ("a dash after digits", b"ref 1-219-09-9999 and 2024-219-09-9999".to_vec()),
    ]
}

#[test]
fn every_encoding_of_phi_is_found() {
    for (name, input) in positives() {
        let r = scan(&[&input]);
        assert_eq!(r.verdict, Verdict::Phi, "{name}");
        assert!(!r.findings.is_empty(), "{name}");
    }
}

#[test]
fn clean_look_alikes_stay_clean() {
    for (name, input) in negatives() {
        let r = scan(&[&input]);
        assert_eq!(r.verdict, Verdict::Clean, "{name}: {:?}", r.kinds());
    }
}

#[test]
fn any_two_chunk_split_gives_the_one_shot_report() {
    for (name, input) in positives().into_iter().chain(negatives()) {
        let whole = scan(&[&input]);
        for cut in 0..=input.len() {
            let r = scan(&[&input[..cut], &input[cut..]]);
            assert_eq!(r, whole, "{name}: cut {cut}");
        }
    }
}

#[test]
fn byte_at_a_time_gives_the_one_shot_report() {
    for (name, input) in positives().into_iter().chain(negatives()) {
        let whole = scan(&[&input]);
        let chunks: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(scan(&chunks), whole, "{name}");
        let chunks: Vec<&[u8]> = input.chunks(7).collect();
        assert_eq!(scan(&chunks), whole, "{name} by 7");
    }
}

/// What a receiver could read from the first `n` bytes of `input`: the bytes themselves, and,
/// for compressed input, as much as inflates.
fn readable_prefix(input: &[u8], n: usize) -> Vec<u8> {
    let mut out = input[..n].to_vec();
    for at in 0..n {
        if input[at..n].starts_with(&[0x1f, 0x8b]) || (at == 0 && input.first() == Some(&0x78)) {
            let mut d: Box<dyn Read> = if input[at] == 0x1f {
                Box::new(flate2::read::MultiGzDecoder::new(&input[at..n]))
            } else {
                Box::new(flate2::read::ZlibDecoder::new(&input[at..n]))
            };
            let mut buf = vec![0u8; 1 << 16];
            loop {
                match d.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => out.extend_from_slice(&buf[..k]),
                }
            }
        }
    }
    out
}

/// The digits of the SSN in every form a prefix could carry them: plain, base64 of the text
/// around them at any alignment is covered by decoding below.
fn leaks(prefix: &[u8]) -> bool {
    let has = |h: &[u8]| h.windows(4).any(|w| w == b"9999") || h.windows(6).any(|w| w == b"219-09");
    if has(prefix) {
        return true;
    }
    // Decode every base64 run in the prefix, at every start alignment.
    let text = String::from_utf8_lossy(prefix);
    for run in text.split(|c: char| !(c.is_ascii_alphanumeric() || "+/-_".contains(c))) {
        for skip in 0..4.min(run.len()) {
            let r = &run[skip..];
            let r = &r[..r.len() / 4 * 4];
            for eng in [
                &base64::engine::general_purpose::STANDARD_NO_PAD,
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ] {
                if let Ok(d) = eng.decode(r) {
                    if has(&d) || has(&readable_prefix(&d, d.len())) {
                        return true;
                    }
                }
            }
        }
    }
    // UTF-16: drop the NULs.
    let denul: Vec<u8> = prefix.iter().copied().filter(|&b| b != 0).collect();
    has(&denul)
}

#[test]
fn hold_back_never_releases_an_encoded_value() {
    for (name, input) in positives() {
        for cut in 0..=input.len() {
            let mut s = engine().scanner(StreamOptions::default()).unwrap();
            s.feed(&input[..cut]).unwrap();
            let mut rel = s.releasable() as usize;
            if s.verdict() == Verdict::Clean {
                s.feed(&input[cut..]).unwrap();
                if s.verdict() == Verdict::Clean {
                    rel = rel.max(s.releasable() as usize);
                }
            }
            assert!(
                !leaks(&readable_prefix(&input, rel)),
                "{name}: cut {cut} released {rel} of {} bytes with the value in them",
                input.len()
            );
        }
    }
}

#[test]
fn nesting_and_bombs_are_bounded() {
    // gzip nested deeper than the engine follows is uninspectable, not clean.
    let mut deep = RECORD.as_bytes().to_vec();
    for _ in 0..5 {
        deep = gzip(&deep);
    }
    let r = scan(&[&deep]);
    assert_eq!(
        r.verdict,
        Verdict::Uninspectable(Uninspectable::NestingTooDeep),
        "{:?}",
        r
    );
    // A bomb inside base64 inside JSON: one budget for the whole nest.
    let bomb = gzip(&vec![b'a'; 64 << 20]);
    let body = format!(r#"{{"f":"{}"}}"#, b64(&bomb));
    let mut s = engine().scanner(StreamOptions::default()).unwrap();
    for c in body.as_bytes().chunks(64 * 1024) {
        s.feed(c).unwrap();
        assert!(s.memory_bytes() < 8 << 20, "memory stays bounded");
    }
    let r = s.finish().unwrap();
    assert_eq!(
        r.verdict,
        Verdict::Uninspectable(Uninspectable::CompressionRatio)
    );
}

#[test]
fn a_long_clean_base64_body_is_released_as_it_streams() {
    // A 1 MiB text attachment in base64: the hold-back stays a window, not the whole run.
    let text = "Vitals stable, wound clean and dry. ".repeat(30_000);
    let body = mime_lines(&b64(text.as_bytes()));
    let mut s = engine().scanner(StreamOptions::default()).unwrap();
    s.feed(body.as_bytes()).unwrap();
    let held = body.len() as u64 - s.releasable();
    assert!(held < 4096, "held {held} bytes");
    assert_eq!(s.finish().unwrap().verdict, Verdict::Clean);
}
