//! Streaming normalisation of content before scanning, so that what is scanned is what a
//! receiver would read:
//! - percent-encoding (`%2D`), repeated as often as it was applied (`%252D`, `%25252D`);
//! - JSON string escapes (`\u0031`, `\"`, `\n`, ...);
//! - HTML/XML character references (`&#49;`, `&#x31;`, `&amp;`, `&hyphen;` ...), also chained
//!   with the others (`&amp;#49;`, `%26%2349%3B`);
//! - Unicode look-alikes of digits, letters, hyphens and spaces (full-width digits, Arabic-Indic
//!   digits, U+2010 and U+2212 dashes, no-break spaces) become their ASCII letter; invisible
//!   characters (zero-width spaces, soft hyphens, word joiners, a BOM) are dropped;
//! - in form bodies and URLs, `+` as a space;
//! - in quoted-printable content (a MIME part that says so), `=XX` and soft line breaks.
//!
//! The common case (a chunk of ASCII without `%`, `\`, `&`) costs two fast passes and no copy.
//! When escapes are present the normaliser writes the decoded bytes and records *anchors* so
//! that an offset in the normalised stream maps back to the content offset it came from:
//! between two anchors bytes are one to one. Anchors older than the scanner's history window
//! are pruned, so memory is bounded.
//!
//! An escape cut by a chunk boundary is carried (at most [`MAX_CARRY`] bytes) until the next
//! chunk.

use std::collections::VecDeque;

/// Longest escape chain carried across a chunk boundary: a percent escape re-encoded three
/// times (`%25252D`), or an HTML reference with leading zeros (`&#x0000002D;`), with room.
pub(crate) const MAX_CARRY: usize = 24;

/// How many times a decoded `%`, `&` or `\` is combined with what follows it (`%252D` is two).
const MAX_CHAIN: usize = 4;

/// Longest HTML named reference recognised (`&hyphen;`).
const MAX_NAMED: usize = 8;

/// Longest numeric reference body: `&#` or `&#x`, up to 8 digits (leading zeros), `;`.
const MAX_NUMERIC: usize = 12;

/// One pass of decoding (see the module docs); [`Normalizer`] runs two.
pub(crate) struct Stage {
    plus_as_space: bool,
    quoted_printable: bool,
    /// Content bytes consumed (including the carry).
    content_len: u64,
    /// Normalised bytes produced.
    output_len: u64,
    carry: Vec<u8>,
    /// (normalised offset, content offset): from this normalised offset on, bytes map one to one.
    anchors: VecDeque<(u64, u64)>,
    /// Anchors are only needed once the two coordinates diverge.
    diverged: bool,
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Result of decoding one escape at the start of a slice.
enum Esc {
    /// Decoded to these bytes (at most 3), consuming this many input bytes.
    Decoded([u8; 3], usize, usize),
    /// Not an escape: emit the first byte literally.
    Literal,
    /// Could be an escape but the slice ends first.
    Incomplete,
}

/// Named references that can stand for a character a detector reads (digits' separators,
/// label punctuation). Others are left as they are.
const NAMED: &[(&[u8], u8)] = &[
    (b"amp", b'&'),
    (b"nbsp", b' '),
    (b"hyphen", b'-'),
    (b"dash", b'-'),
    (b"minus", b'-'),
    (b"ndash", b'-'),
    (b"mdash", b'-'),
    (b"period", b'.'),
    (b"colon", b':'),
    (b"lpar", b'('),
    (b"rpar", b')'),
    (b"quot", b'"'),
    (b"apos", b'\''),
    (b"lt", b'<'),
    (b"gt", b'>'),
    (b"num", b'#'),
    (b"commat", b'@'),
    (b"sol", b'/'),
    (b"plus", b'+'),
    (b"equals", b'='),
    (b"comma", b','),
    (b"lowbar", b'_'),
    (b"percnt", b'%'),
    (b"bsol", b'\\'),
    (b"Tab", b'\t'),
    (b"NewLine", b'\n'),
];

/// An HTML/XML character reference at the start of `s` (`s[0] == b'&'`).
fn decode_reference(s: &[u8]) -> Esc {
    if s.len() < 2 {
        return Esc::Incomplete;
    }
    if s[1] == b'#' {
        let (radix, digits_at) = match s.get(2) {
            None => return Esc::Incomplete,
            Some(b'x' | b'X') => (16u32, 3),
            Some(b) if b.is_ascii_digit() => (10, 2),
            Some(_) => return Esc::Literal,
        };
        let mut v: u32 = 0;
        let mut i = digits_at;
        loop {
            let Some(&b) = s.get(i) else {
                // Browsers read `&#49` without its `;` too; wait for the byte after the digits.
                return if i < MAX_NUMERIC {
                    Esc::Incomplete
                } else {
                    Esc::Literal
                };
            };
            let d = match radix {
                16 => hex(b).map(u32::from),
                _ => b.is_ascii_digit().then(|| u32::from(b - b'0')),
            };
            match d {
                Some(d) if i < MAX_NUMERIC => {
                    v = v.saturating_mul(radix).saturating_add(d);
                    i += 1;
                }
                Some(_) => return Esc::Literal,
                None => break,
            }
        }
        if i == digits_at {
            return Esc::Literal;
        }
        let used = if s[i] == b';' { i + 1 } else { i };
        return encode_char(v, used);
    }
    let name_len = s[1..]
        .iter()
        .take(MAX_NAMED + 1)
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    let end = 1 + name_len;
    if end == s.len() {
        return if name_len <= MAX_NAMED {
            Esc::Incomplete
        } else {
            Esc::Literal
        };
    }
    if s[end] != b';' {
        return Esc::Literal;
    }
    let name = &s[1..end];
    match NAMED.iter().find(|(n, _)| *n == name) {
        Some(&(_, c)) => Esc::Decoded([c, 0, 0], 1, end + 1),
        None => Esc::Literal,
    }
}

/// The UTF-8 of code point `v` (one ASCII look-alike, or up to 3 bytes), consuming `used`.
fn encode_char(v: u32, used: usize) -> Esc {
    let c = char::from_u32(v).unwrap_or('?');
    let mut buf = [0u8; 4];
    let enc = c.encode_utf8(&mut buf).as_bytes();
    if let Some(l) = lookalike(enc) {
        return match l {
            Some(b) => Esc::Decoded([b, 0, 0], 1, used),
            None => Esc::Decoded([0, 0, 0], 0, used),
        };
    }
    if enc.len() > 3 {
        // Emoji and the like carry nothing the detectors look for: one '?'.
        return Esc::Decoded([b'?', 0, 0], 1, used);
    }
    let mut out = [0u8; 3];
    out[..enc.len()].copy_from_slice(enc);
    Esc::Decoded(out, enc.len(), used)
}

/// An ASCII reading of a UTF-8 sequence at the start of `s`: `Some(Some(b))` for a look-alike
/// of `b`, `Some(None)` for an invisible character (dropped), `None` for anything else.
/// `s` must hold the whole sequence.
fn lookalike(s: &[u8]) -> Option<Option<u8>> {
    let digit = |b: u8, first: u8| Some(Some(b'0' + (b - first)));
    match *s {
        [0xC2, 0xA0, ..] => Some(Some(b' ')), // no-break space
        [0xC2, 0xAD, ..] => Some(None),       // soft hyphen
        [0xC2, 0xB2, ..] => Some(Some(b'2')), // superscript two
        [0xC2, 0xB3, ..] => Some(Some(b'3')), // superscript three
        [0xC2, 0xB9, ..] => Some(Some(b'1')), // superscript one
        [0xC2, 0xB7, ..] => Some(Some(b'.')), // middle dot
        [0xCB, 0x97, ..] => Some(Some(b'-')), // modifier letter minus
        [0xCC, 0x80..=0xBF, ..] | [0xCD, 0x80..=0xAF, ..] => Some(None), // combining marks
        [0xDF, b @ 0x80..=0x89, ..] => digit(b, 0x80), // NKo digits
        // Indic digits: Bengali, Gurmukhi, Gujarati, Oriya, Tamil, Telugu, Kannada, Malayalam.
        [0xE0, 0xA7 | 0xA9 | 0xAB | 0xAD | 0xAF | 0xB1 | 0xB3 | 0xB5, b @ 0xA6..=0xAF, ..] => {
            digit(b, 0xA6)
        }
        [0xE0, 0xB9 | 0xBB, b @ 0x90..=0x99, ..] => digit(b, 0x90), // Thai, Lao digits
        [0xE0, 0xBC, b @ 0xA0..=0xA9, ..] => digit(b, 0xA0),        // Tibetan digits
        [0xE1, 0x81, b @ 0x80..=0x89, ..] => digit(b, 0x80),        // Myanmar digits
        [0xE1, 0x9F, b @ 0xA0..=0xA9, ..] => digit(b, 0xA0),        // Khmer digits
        [0xE1, 0xA0, b @ 0x90..=0x99, ..] => digit(b, 0x90),        // Mongolian digits
        [0xE2, 0x81, 0xB0, ..] => Some(Some(b'0')),                 // superscript zero
        [0xE2, 0x81, b @ 0xB4..=0xB9, ..] => digit(b, 0xB0),        // superscripts 4-9
        [0xE2, 0x82, b @ 0x80..=0x89, ..] => digit(b, 0x80),        // subscripts
        [0xE2, 0x91, b @ 0xA0..=0xA8, ..] => digit(b, 0x9F),        // circled 1-9
        [0xE2, 0x91, b @ 0xB4..=0xBC, ..] => digit(b, 0xB3),        // parenthesised 1-9
        [0xE2, 0x92, b @ 0x88..=0x90, ..] => digit(b, 0x87),        // digit full stops 1-9
        [0xE2, 0x93, 0xAA, ..] => Some(Some(b'0')),                 // circled zero
        [0xE2, 0x9D, b @ 0xB6..=0xBE, ..] => digit(b, 0xB5),        // negative circled 1-9
        [0xE2, 0x9E, b @ 0x80..=0x88, ..] => digit(b, 0x7F),        // dingbat circled 1-9
        [0xE2, 0x9E, 0x96, ..] => Some(Some(b'-')),                 // heavy minus
        [0xE2, 0x80, 0xA7, ..] => Some(Some(b'.')),                 // hyphenation point
        [0xD9, b @ 0xA0..=0xA9, ..] => digit(b, 0xA0),              // Arabic-Indic digits
        [0xDB, b @ 0xB0..=0xB9, ..] => digit(b, 0xB0),              // extended Arabic-Indic digits
        [0xE0, 0xA5, b @ 0xA6..=0xAF, ..] => digit(b, 0xA6),        // Devanagari digits
        [0xE2, 0x80, 0x80..=0x8A, ..] | [0xE2, 0x80, 0xAF, ..] | [0xE2, 0x81, 0x9F, ..] => {
            Some(Some(b' ')) // en/em/figure/thin spaces, narrow no-break, medium math space
        }
        [0xE2, 0x80, 0x8B..=0x8D, ..] | [0xE2, 0x81, 0xA0, ..] => Some(None), // zero-width, joiner
        [0xE2, 0x80, 0x90..=0x95, ..] | [0xE2, 0x88, 0x92, ..] | [0xE2, 0x81, 0x83, ..] => {
            Some(Some(b'-')) // hyphens, dashes, minus sign, hyphen bullet
        }
        [0xE2, 0x80, 0xA4, ..] => Some(Some(b'.')), // one dot leader
        [0xE3, 0x80, 0x80, ..] => Some(Some(b' ')), // ideographic space
        [0xEF, 0xBB, 0xBF, ..] => Some(None),       // BOM / zero-width no-break space
        [0xEF, 0xB9, 0xA3, ..] | [0xEF, 0xB9, 0x98, ..] => Some(Some(b'-')), // small hyphens
        [0xEF, 0xBC, b @ 0x80..=0xBF, ..] => match b {
            // Full-width forms U+FF00-FF3F: ！ to ＿ are ASCII 0x20-0x5F.
            0x80 => None,
            b => Some(Some(b - 0x80 + 0x20)),
        },
        [0xEF, 0xBD, b @ 0x80..=0x9E, ..] => Some(Some(b - 0x80 + 0x60)), // ｀ to ～
        [0xF0, 0x9D, 0x9F, b @ 0x8E..=0xBF, ..] => digit(b'0' + (b - 0x8E) % 10, b'0'), // math digits
        _ => None,
    }
}

/// Length of the UTF-8 sequence a lead byte starts (1 for anything that is not a lead byte).
fn utf8_len(b: u8) -> usize {
    match b {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 1,
    }
}

fn decode_escape(s: &[u8], plus_as_space: bool, qp: bool) -> Esc {
    match s[0] {
        b'+' if plus_as_space => Esc::Decoded([b' ', 0, 0], 1, 1),
        b'%' => {
            if s.len() < 3 {
                // "%" followed by fewer than two bytes: wait only if what we have could be hex.
                if s[1..].iter().all(|&b| hex(b).is_some()) {
                    return Esc::Incomplete;
                }
                return Esc::Literal;
            }
            match (hex(s[1]), hex(s[2])) {
                (Some(h), Some(l)) => Esc::Decoded([h << 4 | l, 0, 0], 1, 3),
                _ => Esc::Literal,
            }
        }
        b'=' if qp => {
            // Quoted-printable: `=XX` or a soft line break. RFC 2045 writes the hex in upper
            // case and asks decoders to read lower case too (`=2d`): some encoders write it.
            let rest = &s[1..];
            match rest {
                [] | [b'\r'] => Esc::Incomplete,
                [b'\r', b'\n', ..] => Esc::Decoded([0, 0, 0], 0, 3),
                [b'\n', ..] => Esc::Decoded([0, 0, 0], 0, 2),
                [a] if a.is_ascii_hexdigit() => Esc::Incomplete,
                [a, b, ..] if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => Esc::Decoded(
                    [hex(*a).unwrap_or(0) << 4 | hex(*b).unwrap_or(0), 0, 0],
                    1,
                    3,
                ),
                _ => Esc::Literal,
            }
        }
        b'&' => decode_reference(s),
        b'\\' => {
            if s.len() < 2 {
                return Esc::Incomplete;
            }
            let simple = match s[1] {
                b'n' => Some(b'\n'),
                b'r' => Some(b'\r'),
                b't' => Some(b'\t'),
                b'"' => Some(b'"'),
                b'\\' => Some(b'\\'),
                b'/' => Some(b'/'),
                b'b' => Some(0x08),
                b'f' => Some(0x0c),
                b'\'' => Some(b'\''),
                _ => None,
            };
            if let Some(c) = simple {
                return Esc::Decoded([c, 0, 0], 1, 2);
            }
            match s[1] {
                // C, JavaScript and Python string escapes: `\x32`, octal `\062`.
                b'x' => {
                    return match s.get(2..4) {
                        None if s[2..].iter().all(|&b| hex(b).is_some()) => Esc::Incomplete,
                        Some([h, l]) if hex(*h).is_some() && hex(*l).is_some() => Esc::Decoded(
                            [hex(*h).unwrap_or(0) << 4 | hex(*l).unwrap_or(0), 0, 0],
                            1,
                            4,
                        ),
                        _ => Esc::Literal,
                    };
                }
                b'0'..=b'3' => {
                    let octal = |b: &u8| (b'0'..=b'7').contains(b);
                    return match s.get(1..4) {
                        None if s[1..].iter().all(octal) => Esc::Incomplete,
                        Some(d) if d.iter().all(octal) => Esc::Decoded(
                            [
                                (d[0] - b'0') << 6 | (d[1] - b'0') << 3 | (d[2] - b'0'),
                                0,
                                0,
                            ],
                            1,
                            4,
                        ),
                        _ => Esc::Literal,
                    };
                }
                // A line continuation (YAML double quotes, shells): the break and the
                // indentation after it are not there.
                b'\n' | b'\r' => {
                    let mut i = 2;
                    if s[1] == b'\r' && s.get(2) == Some(&b'\n') {
                        i = 3;
                    }
                    while i < s.len() && i < MAX_CARRY - 1 && matches!(s[i], b' ' | b'\t') {
                        i += 1;
                    }
                    if i == s.len() && i < MAX_CARRY - 1 {
                        return Esc::Incomplete;
                    }
                    return Esc::Decoded([0, 0, 0], 0, i);
                }
                // Markdown and regex-style escapes of punctuation: `\-` is `-`.
                c if c.is_ascii_punctuation() && c != b'%' && c != b'&' => {
                    return Esc::Decoded([c, 0, 0], 1, 2);
                }
                b'u' | b'U' => {}
                _ => return Esc::Literal,
            }
            if s.len() < 6 {
                if s[2..].iter().all(|&b| hex(b).is_some()) {
                    return Esc::Incomplete;
                }
                return Esc::Literal;
            }
            let mut v: u32 = 0;
            for &b in &s[2..6] {
                match hex(b) {
                    Some(h) => v = v << 4 | h as u32,
                    None => return Esc::Literal,
                }
            }
            encode_char(v, 6)
        }
        b if b >= 0x80 => {
            let n = utf8_len(b);
            if n == 1 {
                return Esc::Literal;
            }
            if s.len() < n {
                // Wait for the rest only if what is there continues the sequence.
                if s[1..].iter().all(|&c| c & 0xC0 == 0x80) {
                    return Esc::Incomplete;
                }
                return Esc::Literal;
            }
            match lookalike(&s[..n]) {
                Some(Some(c)) => Esc::Decoded([c, 0, 0], 1, n),
                Some(None) => Esc::Decoded([0, 0, 0], 0, n),
                // Any other character passes as it is, all its bytes at once.
                None => Esc::Decoded(
                    [s[0], s[1], if n > 2 { s[2] } else { 0 }],
                    n.min(3),
                    n.min(3),
                ),
            }
        }
        _ => Esc::Literal,
    }
}

/// Decodes the escape at the start of `s`, then, while the result is one byte that begins an
/// escape itself (`%`, `&`, `\`), decodes that byte together with what follows
/// (`%252D` → `%2D` → `-`), at most [`MAX_CHAIN`] times.
fn decode_chained(s: &[u8], plus_as_space: bool, qp: bool) -> Esc {
    let first = decode_escape(s, plus_as_space, qp);
    let Esc::Decoded(mut bytes, mut n, mut used) = first else {
        return first;
    };
    let mut buf = [0u8; MAX_CARRY];
    for _ in 0..MAX_CHAIN {
        if n != 1 || !matches!(bytes[0], b'%' | b'&' | b'\\') {
            break;
        }
        // The decoded byte followed by the input after the escape.
        let rest = &s[used..];
        let take = rest.len().min(MAX_CARRY - 1);
        buf[0] = bytes[0];
        buf[1..=take].copy_from_slice(&rest[..take]);
        match decode_escape(&buf[..=take], false, false) {
            Esc::Decoded(b, n2, used2) if used2 > 1 => {
                bytes = b;
                n = n2;
                used += used2 - 1;
            }
            Esc::Incomplete if take < MAX_CARRY - 1 => return Esc::Incomplete,
            _ => break,
        }
    }
    Esc::Decoded(bytes, n, used)
}

impl Stage {
    pub(crate) fn new(plus_as_space: bool) -> Stage {
        Stage {
            plus_as_space,
            quoted_printable: false,
            content_len: 0,
            output_len: 0,
            carry: Vec::new(),
            anchors: VecDeque::new(),
            diverged: false,
        }
    }

    pub(crate) fn output_len(&self) -> u64 {
        self.output_len
    }

    /// Content offset of the first byte not yet turned into output (the carry's start).
    pub(crate) fn safe_content(&self) -> u64 {
        self.content_len - self.carry.len() as u64
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.carry.capacity() + self.anchors.capacity() * 16
    }

    /// Takes in `n` bytes known to hold nothing to decode (the carry is empty).
    fn skip(&mut self, n: usize) {
        debug_assert!(self.carry.is_empty());
        self.content_len += n as u64;
        self.output_len += n as u64;
    }

    /// Decodes quoted-printable `=XX` and soft line breaks from now on.
    pub(crate) fn set_quoted_printable(&mut self) {
        self.quoted_printable = true;
    }

    /// First byte that may begin an escape or a look-alike.
    fn find_special(&self, s: &[u8]) -> Option<usize> {
        let ascii = memchr::memchr3(b'%', b'\\', b'&', s);
        let limit = ascii.unwrap_or(s.len());
        let extra = match (self.plus_as_space, self.quoted_printable) {
            (false, false) => None,
            (true, false) => memchr::memchr(b'+', &s[..limit]),
            (false, true) => memchr::memchr(b'=', &s[..limit]),
            (true, true) => memchr::memchr2(b'+', b'=', &s[..limit]),
        };
        let limit = extra.unwrap_or(limit);
        let non_ascii = if s[..limit].is_ascii() {
            None
        } else {
            first_non_ascii(&s[..limit])
        };
        non_ascii.or(extra).or(ascii)
    }

    fn anchor(&mut self, norm: u64, content: u64) {
        self.diverged = true;
        if let Some(last) = self.anchors.back_mut() {
            if last.0 == norm {
                *last = (norm, content);
                return;
            }
        }
        self.anchors.push_back((norm, content));
    }

    /// Normalises `content`. Returns `None` when the output is exactly `content` (scan it as
    /// it is); otherwise `out` holds the output.
    pub(crate) fn push(&mut self, content: &[u8], out: &mut Vec<u8>) -> Option<()> {
        out.clear();
        if self.carry.is_empty() && self.find_special(content).is_none() {
            self.content_len += content.len() as u64;
            self.output_len += content.len() as u64;
            return None;
        }
        // Content offset of `input[0]`.
        let base = self.content_len - self.carry.len() as u64;
        let joined;
        let input: &[u8] = if self.carry.is_empty() {
            content
        } else {
            let mut v = std::mem::take(&mut self.carry);
            v.extend_from_slice(content);
            joined = v;
            &joined
        };
        self.content_len += content.len() as u64;
        let start_out = self.output_len;
        let mut i = 0;
        while i < input.len() {
            let next = match self.find_special(&input[i..]) {
                Some(k) => i + k,
                None => {
                    out.extend_from_slice(&input[i..]);
                    break;
                }
            };
            out.extend_from_slice(&input[i..next]);
            i = next;
            match decode_chained(&input[i..], self.plus_as_space, self.quoted_printable) {
                Esc::Literal => {
                    out.push(input[i]);
                    i += 1;
                }
                Esc::Incomplete => {
                    self.carry.extend_from_slice(&input[i..]);
                    break;
                }
                Esc::Decoded(bytes, n, used) => {
                    let norm_here = start_out + out.len() as u64;
                    self.anchor(norm_here, base + i as u64);
                    out.extend_from_slice(&bytes[..n]);
                    i += used;
                    self.anchor(norm_here + n as u64, base + i as u64);
                }
            }
        }
        self.output_len = start_out + out.len() as u64;
        Some(())
    }

    /// Flushes an incomplete escape at the end of the stream as literal bytes.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        let tail = std::mem::take(&mut self.carry);
        if !tail.is_empty() && self.diverged {
            let c = self.content_len - tail.len() as u64;
            self.anchor(self.output_len, c);
        }
        self.output_len += tail.len() as u64;
        tail
    }

    /// Maps a normalised offset back to a content offset.
    pub(crate) fn content_offset(&self, norm: u64) -> u64 {
        if !self.diverged {
            return norm;
        }
        // Anchors are few (pruned to the history window); search from the back.
        for &(n, c) in self.anchors.iter().rev() {
            if n <= norm {
                return c + (norm - n);
            }
        }
        // Before every anchor we keep: before the first escape, coordinates are equal.
        match self.anchors.front() {
            Some(&(n, c)) if c >= n => norm.min(c),
            _ => norm,
        }
    }

    /// Drops anchors that only describe normalised offsets before `norm` (keeping the last one
    /// at or before it).
    pub(crate) fn prune(&mut self, norm: u64) {
        while self.anchors.len() > 1 && self.anchors[1].0 <= norm {
            self.anchors.pop_front();
        }
    }
}

/// Two [`Stage`]s, the second reading the first's output, so that what one encoding wraps in
/// another is read too (`%26%2349%3B` → `&#49;` → `1`, `%EF%BC%91` → `１` → `1`). The second
/// stage costs nothing on a chunk the first left as it was.
pub(crate) struct Normalizer {
    a: Stage,
    b: Stage,
    buf: Vec<u8>,
}

impl Normalizer {
    pub(crate) fn new(plus_as_space: bool) -> Normalizer {
        Normalizer {
            a: Stage::new(plus_as_space),
            b: Stage::new(false),
            buf: Vec::new(),
        }
    }

    pub(crate) fn set_quoted_printable(&mut self) {
        self.a.set_quoted_printable();
    }

    pub(crate) fn output_len(&self) -> u64 {
        self.b.output_len()
    }

    pub(crate) fn safe_content(&self) -> u64 {
        self.a
            .content_offset(self.b.safe_content())
            .min(self.a.safe_content())
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.a.memory_bytes() + self.b.memory_bytes() + self.buf.capacity()
    }

    /// Normalises `content`: `None` when the output is exactly `content`, otherwise `out`.
    pub(crate) fn push(&mut self, content: &[u8], out: &mut Vec<u8>) -> Option<()> {
        out.clear();
        let mut buf = std::mem::take(&mut self.buf);
        let r = match self.a.push(content, &mut buf) {
            // Nothing the first stage decodes is nothing the second decodes either.
            None if self.b.carry.is_empty() => {
                self.b.skip(content.len());
                None
            }
            None => self.b.push(content, out),
            Some(()) => {
                if self.b.push(&buf, out).is_none() {
                    out.extend_from_slice(&buf);
                }
                Some(())
            }
        };
        self.buf = buf;
        r
    }

    pub(crate) fn finish(&mut self) -> Vec<u8> {
        let tail = self.a.finish();
        let mut out = Vec::new();
        if self.b.push(&tail, &mut out).is_none() {
            out = tail;
        }
        out.extend_from_slice(&self.b.finish());
        out
    }

    pub(crate) fn content_offset(&self, norm: u64) -> u64 {
        self.a.content_offset(self.b.content_offset(norm))
    }

    pub(crate) fn prune(&mut self, norm: u64) {
        let mid = self.b.content_offset(norm);
        self.b.prune(norm);
        self.a.prune(mid);
    }
}

/// Index of the first byte >= 0x80, eight bytes at a time.
fn first_non_ascii(s: &[u8]) -> Option<usize> {
    let mut chunks = s.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let w = u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        if w & 0x8080_8080_8080_8080 != 0 {
            return c.iter().position(|&b| b >= 0x80).map(|p| at + p);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b >= 0x80)
        .map(|p| at + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]], plus: bool) -> (Vec<u8>, Normalizer) {
        let mut n = Normalizer::new(plus);
        let mut all = Vec::new();
        let mut out = Vec::new();
        for c in chunks {
            match n.push(c, &mut out) {
                None => all.extend_from_slice(c),
                Some(()) => all.extend_from_slice(&out),
            }
            assert!(
                n.a.carry.len() + n.b.carry.len() < 4 * MAX_CARRY,
                "an incomplete escape chain is bounded"
            );
        }
        all.extend_from_slice(&n.finish());
        (all, n)
    }

    #[test]
    fn decodes_json_and_percent_escapes() {
        let (o, _) = run(&[br#"ssn \u0031\u00323-45%2D6789 \"x\" a+b %zz \q"#], false);
        assert_eq!(o, br#"ssn 123-45-6789 "x" a+b %zz \q"#.to_vec());
        let (o, _) = run(&[b"a+b%20c"], true);
        assert_eq!(o, b"a b c".to_vec());
    }

    #[test]
    fn any_split_gives_the_same_output_and_offsets() {
        let input: &[u8] = br#"x\u0031%32\n3-\u00344%2d5+6 \u00e9 end%"#;
        let (whole, wn) = run(&[input], true);
        for cut in 0..=input.len() {
            let (split, sn) = run(&[&input[..cut], &input[cut..]], true);
            assert_eq!(split, whole, "cut at {cut}");
            for k in 0..=whole.len() as u64 {
                assert_eq!(
                    sn.content_offset(k),
                    wn.content_offset(k),
                    "cut {cut} offset {k}"
                );
            }
        }
    }

    #[test]
    fn decodes_what_a_receiver_would_read() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"&#49;&#x32;&#X33;-45-6789", b"123-45-6789"),
            (b"&#0000049;&#x0002D;&#49 ", b"1-1 "),
            (
                b"1&hyphen;2&minus;3&amp;#52;&nbsp;5 &bogus; &#;",
                b"1-2-34 5 &bogus; &#;",
            ),
            (b"123%252D45%25252D6789", b"123-45-6789"),
            (b"%26#49; %5Cu0032 %2526%2523", b"1 2 &#"),
            (b"%26%2349%3B %EF%BC%92 %26%23x2D;", b"1 2 -"),
            ("１２３‐４５－６７８９".as_bytes(), b"123-45-6789"),
            (
                "123\\u2011 45\u{200b}-67\u{ad}89".as_bytes(),
                b"123- 45-6789",
            ),
            ("٠١٢ ۳ ०\u{a0}x\u{3000}y".as_bytes(), b"012 3 0 x y"),
            ("é ü 中 😀".as_bytes(), "é ü 中 😀".as_bytes()),
            ("๒๑๙-০৯-৯৯৯৯ ²¹⁹ ②①⑨ ⓪".as_bytes(), b"219-09-9999 219 219 0"),
            ("2\u{301}1\u{301}9˗09·9999".as_bytes(), b"219-09.9999"),
            (
                b"\\x32\\x31\\x39 \\062\\061\\071 219\\-09\\-9999",
                b"219 219 219-09-9999",
            ),
            (b"219-09-\\\n    9999 a\\\r\n\tb", b"219-09-9999 ab"),
            (b"C:\\data \\q \\8", b"C:\\data \\q \\8"),
            (b"\\u00e9", "é".as_bytes()),
        ];
        for (input, want) in cases {
            let (o, _) = run(&[input], false);
            assert_eq!(o, want.to_vec(), "{:?}", String::from_utf8_lossy(input));
        }
        // Quoted-printable only when asked for.
        let qp = b"SSN=3A 123=2D45=\r\n-6789 a=b";
        let (o, _) = run(&[qp], false);
        assert_eq!(o, qp.to_vec());
        let mut n = Normalizer::new(false);
        n.set_quoted_printable();
        let mut out = Vec::new();
        if n.push(qp, &mut out).is_none() {
            out = qp.to_vec();
        }
        out.extend_from_slice(&n.finish());
        assert_eq!(out, b"SSN: 123-45-6789 a=b".to_vec());
    }

    #[test]
    fn every_split_of_new_escapes_gives_the_same_output() {
        let input =
            "a&#49;%252D&hyphen;１\u{200b}٣&amp;#x34;%25%32%35 \\u2010 é&#x1F600;".as_bytes();
        let (whole, wn) = run(&[input], true);
        for cut in 0..=input.len() {
            for cut2 in cut..=input.len() {
                let (split, sn) = run(&[&input[..cut], &input[cut..cut2], &input[cut2..]], true);
                assert_eq!(split, whole, "cuts {cut} {cut2}");
                for k in 0..=whole.len() as u64 {
                    assert_eq!(
                        sn.content_offset(k),
                        wn.content_offset(k),
                        "cut {cut} {cut2} @{k}"
                    );
                }
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_output_is_bounded() {
        let alphabet: &[u8] = b"%&#x;\\u25aF0129-+=\r\n\xef\xbc\x91\xe2\x80\x90";
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in 0..400 {
            let v: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    alphabet[(x % alphabet.len() as u64) as usize]
                })
                .collect();
            let (o, n) = run(&[&v], true);
            assert!(o.len() <= v.len(), "never longer than the input");
            let _ = n.content_offset(o.len() as u64);
        }
    }

    #[test]
    fn offsets_map_back_to_the_escape() {
        let input = br#"ab\u0031cd"#;
        let (o, n) = run(&[input], false);
        assert_eq!(o, b"ab1cd".to_vec());
        assert_eq!(n.content_offset(2), 2); // the escape starts at content 2
        assert_eq!(n.content_offset(3), 8); // 'c' is content byte 8
        assert_eq!(n.content_offset(5), 10);
    }
}
