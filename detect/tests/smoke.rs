use phimesh_detect::{Engine, StreamOptions, Verdict};

#[test]
fn engine_builds_and_finds_an_ssn() {
    let e = Engine::new().expect("engine");
    eprintln!("{e:?}");
    let mut s = e.scanner(StreamOptions::default()).unwrap();
    s.feed(b"{\"ssn\": \"219-09-9999\"}").unwrap();
    let r = s.finish().unwrap();
    assert_eq!(r.verdict, Verdict::Phi, "{r:?}");
}
