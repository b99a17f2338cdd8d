//! Encodings PHI travels in, both ways, and byte counting.

use std::io::{Read, Write};

/// Whether `hay` contains `needle` (an empty needle is contained everywhere).
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    count(hay, needle) > 0 || needle.is_empty()
}

/// How many times `needle` occurs in `hay`, overlapping occurrences included (0 for an empty
/// needle).
pub fn count(hay: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() || hay.len() < needle.len() {
        return 0;
    }
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// `data` gzip-compressed.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("writing to memory");
    e.finish().expect("writing to memory")
}

/// `data` zlib-compressed.
pub fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("writing to memory");
    e.finish().expect("writing to memory")
}

/// Every gzip member found anywhere in `b`, decompressed (at most 4 MiB each), concatenated.
pub fn gunzip_all(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..b.len().saturating_sub(2) {
        if b[i..].starts_with(&[0x1f, 0x8b, 0x08]) {
            let mut d = flate2::read::GzDecoder::new(&b[i..]).take(4 << 20);
            let mut buf = Vec::new();
            let _ = d.read_to_end(&mut buf);
            out.extend_from_slice(&buf);
        }
    }
    out
}

/// A gRPC length-prefixed message: the compressed flag, the big-endian length, `payload`.
pub fn grpc_frame(compressed: bool, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![u8::from(compressed)];
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The gRPC messages in `b`, concatenated: uncompressed ones as they are, compressed ones
/// gunzipped. A message cut short counts as far as it goes.
pub fn grpc_unframe(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 5 <= b.len() {
        let len = u32::from_be_bytes([b[i + 1], b[i + 2], b[i + 3], b[i + 4]]) as usize;
        let end = (i + 5).saturating_add(len).min(b.len());
        let msg = &b[i + 5..end];
        if b[i] == 1 {
            out.extend_from_slice(&gunzip_all(msg));
        } else {
            out.extend_from_slice(msg);
        }
        i = end;
    }
    out
}

/// A protobuf message with `data` in length-delimited field `field` (1 to 15).
pub fn protobuf_bytes(field: u8, data: &[u8]) -> Vec<u8> {
    let mut msg = vec![(field << 3) | 2];
    let mut n = data.len();
    while n >= 0x80 {
        msg.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    msg.push(n as u8);
    msg.extend_from_slice(data);
    msg
}

/// `data` in standard base64, padded.
#[cfg(feature = "tests")]
pub fn b64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// `data` in URL-safe base64 without padding (JWT segments).
#[cfg(feature = "tests")]
pub fn b64url(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// `s` in UTF-16, little- or big-endian, with or without its byte-order mark.
#[cfg(feature = "tests")]
pub fn utf16(s: &str, le: bool, bom: bool) -> Vec<u8> {
    let mut v = Vec::new();
    if bom {
        v.extend_from_slice(if le { &[0xff, 0xfe] } else { &[0xfe, 0xff] });
    }
    for u in s.encode_utf16() {
        v.extend_from_slice(&if le { u.to_le_bytes() } else { u.to_be_bytes() });
    }
    v
}

/// ASCII `s` cut into MIME's 76-character lines (CRLF between them).
#[cfg(feature = "tests")]
pub fn mime_lines(s: &str) -> String {
    s.as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_and_compression_round_trip() {
        let rec = b"{\"ssn\":\"123-45-6789\"}";
        assert_eq!(gunzip_all(&gzip(rec)), rec);
        assert!(!contains(&gzip(rec), b"123-45-6789"));
        let both = [grpc_frame(false, rec), grpc_frame(true, &gzip(rec))].concat();
        assert_eq!(grpc_unframe(&both), [&rec[..], &rec[..]].concat());
        assert_eq!(count(b"aaaa", b"aa"), 3);
        let long = vec![b'x'; 300];
        let pb = protobuf_bytes(1, &long);
        assert_eq!(&pb[..3], &[0x0a, 0xac, 0x02]);
        assert_eq!(&pb[3..], &long[..]);
    }
}
