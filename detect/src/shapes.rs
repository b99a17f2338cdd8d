//! Identifiers written as digit groups with separators, found here rather than by Hyperscan:
//! SSNs (`123-45-6789`, `123 45 6789`, `123.45.6789`), dashed MBIs, grouped card numbers
//! (4-4-4-4 with dashes or spaces, American Express 4-6-5) and phone numbers without a label
//! (`555-867-5309`, `(555) 867-5309`).
//!
//! Their patterns (in `rules.rs`, pass [`crate::rules::SHAPES`]) anchor on one-byte literals
//! (`-`, `.`, a space) that ordinary traffic is full of: ISO timestamps, UUIDs, IP addresses,
//! decimals. Hyperscan wakes up on every one of them, and on an API log with ISO timestamps
//! and UUID request ids these six detectors cost three quarters of the scan (`engine.rs`,
//! `leave_one_out_throughput`). Here a 64-byte block is first tested with byte masks: a
//! separator with a digit before it and another separator 3, 4, 5 or 7 bytes on. Only blocks
//! that pass look at the bytes, and then only at the starts those separators allow.
//!
//! A candidate is reported like a Hyperscan match of the rule's pattern: from its first byte to
//! the byte after it (the pattern's right boundary), in the `scan` call that brings that byte,
//! or to the end of the stream at `close` (the pattern's `$`). The rule's validator and left
//! boundary then decide, as for any other match. `engine::tests` checks that the findings are
//! Hyperscan's for the same patterns, in any chunking.

use crate::rules::{self, Rule, SHAPES};
#[cfg(target_arch = "x86_64")]
use crate::tokens::{signed_range, DIGIT};
use crate::types::RawMatch;

/// The shapes; the discriminant indexes [`ShapeRules::ids`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Ssn,
    Mbi,
    CardDashed,
    CardSpaced,
    Amex,
    Phone,
}

const ALL: [Shape; 6] = [
    Shape::Ssn,
    Shape::Mbi,
    Shape::CardDashed,
    Shape::CardSpaced,
    Shape::Amex,
    Shape::Phone,
];

/// The pattern each shape implements.
fn pattern(shape: Shape) -> &'static str {
    match shape {
        Shape::Ssn => rules::SSN_SEPARATED,
        Shape::Mbi => rules::MBI_DASHED,
        Shape::CardDashed => rules::CARD_DASHED,
        Shape::CardSpaced => rules::CARD_SPACED,
        Shape::Amex => rules::CARD_AMEX_GROUPED,
        Shape::Phone => rules::PHONE_SEPARATED,
    }
}

/// Longest value of any shape (a dashed card number).
const LONGEST: usize = 19;

/// Every length a value of some shape can have ([`value_len`]).
const LENGTHS: [usize; 6] = [11, 12, 13, 14, 17, 19];

/// Bytes of the stream kept for values that straddle two inputs: a value's first byte is at
/// most [`LONGEST`] bytes before its boundary byte.
const KEEP: usize = 32;

/// Rule indexes of the shape detectors of an engine, by [`Shape`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ShapeRules {
    ids: [Option<usize>; ALL.len()],
}

impl ShapeRules {
    /// Finds the shape detectors among `rules` (pass [`SHAPES`]) by their patterns.
    pub(crate) fn of(rules: &[Rule]) -> ShapeRules {
        let mut t = ShapeRules::default();
        for (i, r) in rules.iter().enumerate().filter(|(_, r)| r.pass == SHAPES) {
            if let Some(&shape) = ALL.iter().find(|&&s| pattern(s) == r.pattern) {
                t.ids[shape as usize] = Some(i);
            }
        }
        t
    }

    pub(crate) fn any(&self) -> bool {
        self.ids.iter().any(Option::is_some)
    }

    /// Whether every rule of pass [`SHAPES`] in `rules` has a shape here.
    pub(crate) fn covers(&self, rules: &[Rule]) -> bool {
        let known = self.ids.iter().flatten().count();
        known == rules.iter().filter(|r| r.pass == SHAPES).count()
    }
}

/// Per-stream state: the stream offset and its last [`KEEP`] bytes (no `Debug`: they are
/// traffic).
#[derive(Default)]
pub(crate) struct ShapeStream {
    /// Stream offset of the next byte.
    offset: u64,
    kept: [u8; KEEP],
    /// How many bytes of `kept` are the stream's (fewer at its start).
    kept_len: usize,
}

fn digits(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_digit)
}

/// A letter an MBI may hold: A-Z without B, I, L, O, S, Z.
fn mbi_letter(b: u8) -> bool {
    b.is_ascii_uppercase() && !matches!(b, b'B' | b'I' | b'L' | b'O' | b'S' | b'Z')
}

fn mbi_letter_or_digit(b: u8) -> bool {
    mbi_letter(b) || b.is_ascii_digit()
}

/// Length of the value of `shape` at the start of `b`, if `b` starts with one (`None` also
/// when `b` is too short to tell).
fn value_len(shape: Shape, b: &[u8]) -> Option<usize> {
    let is_dash_dot = |c: u8| c == b'-' || c == b'.';
    match shape {
        Shape::Ssn => {
            let v = b.get(..11)?;
            (matches!(v[3], b'-' | b' ' | b'.')
                && v[6] == v[3]
                && digits(&v[..3])
                && digits(&v[4..6])
                && digits(&v[7..]))
            .then_some(11)
        }
        Shape::Mbi => {
            let v = b.get(..13)?;
            (matches!(v[0], b'1'..=b'9')
                && mbi_letter(v[1])
                && mbi_letter_or_digit(v[2])
                && v[3].is_ascii_digit()
                && v[4] == b'-'
                && mbi_letter(v[5])
                && mbi_letter_or_digit(v[6])
                && v[7].is_ascii_digit()
                && v[8] == b'-'
                && mbi_letter(v[9])
                && mbi_letter(v[10])
                && digits(&v[11..]))
            .then_some(13)
        }
        Shape::CardDashed | Shape::CardSpaced => {
            let v = b.get(..19)?;
            let sep = if shape == Shape::CardDashed {
                b'-'
            } else {
                b' '
            };
            v.chunks(5)
                .all(|g| digits(&g[..4]) && g.get(4).is_none_or(|&s| s == sep))
                .then_some(19)
        }
        Shape::Amex => {
            let v = b.get(..17)?;
            (matches!(v[4], b' ' | b'-')
                && v[11] == v[4]
                && digits(&v[..4])
                && digits(&v[5..11])
                && digits(&v[12..]))
            .then_some(17)
        }
        Shape::Phone => {
            // `(555) 867-5309`, `(555)867-5309` or `555-867-5309`; the separators between
            // the last groups are `-` or `.`, and need not match.
            let area = if *b.first()? == b'(' {
                let v = b.get(..6)?;
                (digits(&v[1..4]) && v[4] == b')').then_some(if v[5] == b' ' { 6 } else { 5 })?
            } else {
                let v = b.get(..4)?;
                (digits(&v[..3]) && is_dash_dot(v[3])).then_some(4)?
            };
            let v = b.get(area..area + 8)?;
            (digits(&v[..3]) && is_dash_dot(v[3]) && digits(&v[4..])).then_some(area + 8)
        }
    }
}

/// Whether `next` may follow a value of `shape` (the pattern's right boundary class).
fn boundary(shape: Shape, next: u8) -> bool {
    match shape {
        Shape::Ssn => !(next.is_ascii_digit() || next == b'-'),
        Shape::Mbi => !next.is_ascii_alphanumeric(),
        Shape::CardDashed | Shape::CardSpaced | Shape::Amex => {
            !(next.is_ascii_alphanumeric() || next == b'-')
        }
        Shape::Phone => !next.is_ascii_digit(),
    }
}

/// Reports the value of `shape` that starts at `b[s]` if its boundary byte is `b[s + len]`
/// with `s + len >= from` (values whose boundary came earlier were reported before); `base`
/// is the stream offset of `b[0]`.
#[inline]
fn try_shape(
    rules: ShapeRules,
    shape: Shape,
    b: &[u8],
    s: usize,
    from: usize,
    base: u64,
    out: &mut Vec<RawMatch>,
) {
    let Some(id) = rules.ids[shape as usize] else {
        return;
    };
    if let Some(len) = value_len(shape, &b[s..]) {
        let end = s + len;
        if end >= from && end < b.len() && boundary(shape, b[end]) {
            out.push(RawMatch {
                id,
                from: base + s as u64,
                to: base + end as u64 + 1,
            });
        }
    }
}

impl ShapeStream {
    /// Scans the next `data` of the stream; values go to `out` (not in order).
    pub(crate) fn scan(&mut self, rules: ShapeRules, data: &[u8], out: &mut Vec<RawMatch>) {
        let base = self.offset;
        if self.kept_len > 0 && !data.is_empty() {
            // Values that start in the kept bytes and end in `data`.
            let kl = self.kept_len;
            let mut seam = [0u8; KEEP + LONGEST + 1];
            let take = data.len().min(LONGEST + 1);
            seam[..kl].copy_from_slice(&self.kept[KEEP - kl..]);
            seam[kl..kl + take].copy_from_slice(&data[..take]);
            let seam = &seam[..kl + take];
            let seam_base = base - kl as u64;
            // First separators after a digit, of values that start in the kept bytes.
            for q in 1..(kl + 4).min(seam.len()) {
                if is_sep(seam[q]) && seam[q - 1].is_ascii_digit() {
                    dispatch(rules, seam, q, kl, seam_base, out);
                }
            }
        }
        bulk(rules, data, base, out);
        self.offset += data.len() as u64;
        self.keep(data);
    }

    /// Ends the stream: a value that reaches its end, or a final newline, is reported (the
    /// patterns' `$`, which as in PCRE also matches before a newline that ends the data).
    pub(crate) fn close(&mut self, rules: ShapeRules, out: &mut Vec<RawMatch>) {
        let kl = std::mem::take(&mut self.kept_len);
        let kept = &self.kept[KEEP - kl..];
        let base = self.offset - kl as u64;
        let ends = if kept.last() == Some(&b'\n') {
            [kl, kl - 1]
        } else {
            [kl, kl]
        };
        // Every shape's value ends in a digit and has one of a few lengths: only the starts
        // those lengths put a value at can hold one that ends at the end of the stream.
        let mut starts = [false; KEEP];
        for e in ends {
            if e == 0 || !kept[e - 1].is_ascii_digit() {
                continue;
            }
            for len in LENGTHS {
                if let Some(s) = e.checked_sub(len) {
                    starts[s] = true;
                }
            }
        }
        for s in (0..kl).filter(|&s| starts[s]) {
            for shape in ALL {
                let Some(id) = rules.ids[shape as usize] else {
                    continue;
                };
                match value_len(shape, &kept[s..]) {
                    Some(len) if s + len == ends[0] || s + len == ends[1] => {
                        out.push(RawMatch {
                            id,
                            from: base + s as u64,
                            to: base + (s + len) as u64,
                        });
                    }
                    _ => {}
                }
            }
        }
    }

    /// Keeps the last [`KEEP`] bytes of the stream, right-aligned in `kept`.
    fn keep(&mut self, data: &[u8]) {
        if data.len() >= KEEP {
            self.kept.copy_from_slice(&data[data.len() - KEEP..]);
            self.kept_len = KEEP;
        } else {
            self.kept.copy_within(data.len().., 0);
            self.kept[KEEP - data.len()..].copy_from_slice(data);
            self.kept_len = (self.kept_len + data.len()).min(KEEP);
        }
    }
}

/// Byte masks of a 64-byte block: digits, and separators (`-`, `.`, space, `)`).
#[derive(Clone, Copy, Default)]
struct Masks {
    digit: u64,
    sep: u64,
}

/// Scans `data` (stream offset `base`) for values that start and end inside it, boundary byte
/// included.
fn bulk(rules: ShapeRules, data: &[u8], base: u64, out: &mut Vec<RawMatch>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        #[allow(unsafe_code)]
        return unsafe { bulk_avx2(rules, data, base, out) };
    }
    bulk_with(masks, rules, data, base, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
unsafe fn bulk_avx2(rules: ShapeRules, data: &[u8], base: u64, out: &mut Vec<RawMatch>) {
    bulk_with(|b| masks_avx2(b), rules, data, base, out);
}

#[inline(always)]
fn bulk_with(
    masks: impl Fn(&[u8; 64]) -> Masks,
    rules: ShapeRules,
    data: &[u8],
    base: u64,
    out: &mut Vec<RawMatch>,
) {
    let n = data.len();
    let whole = n / 64;
    // The last partial block, padded with zero bytes (no digit, no separator).
    let mut pad = [0u8; 64];
    pad[..n - 64 * whole].copy_from_slice(&data[64 * whole..]);
    let tail = masks(&pad);
    let mut cur = tail;
    let mut carry = 0u64;
    if whole > 0 {
        let mut blocks = data
            .chunks_exact(64)
            .map(|b| masks(b.try_into().expect("64")));
        cur = blocks.next().expect("a block");
        for i in 0..whole {
            let next = blocks.next().unwrap_or(tail);
            let g = gate(&cur, &next, carry);
            if g != 0 {
                candidates(g, 64 * i, rules, data, base, out);
            }
            carry = cur.digit >> 63;
            cur = next;
        }
    }
    if n > 64 * whole {
        let g = gate(&cur, &Masks::default(), carry);
        if g != 0 {
            candidates(g, 64 * whole, rules, data, base, out);
        }
    }
}

/// Bits of the block (masks `cur`, the next block's `next`, `carry` when the byte before the
/// block is a digit) where a separator follows a digit and another separator comes 3, 4, 5
/// or 7 bytes on. Every value's first separator (the `)` of a phone number's area code)
/// passes: the shapes put them 3 (SSN), 4 (phone, MBI, `(555)867-5309`), 5 (4-4-4-4 card,
/// `(555) 867-5309`) or 7 (American Express) bytes apart.
#[inline(always)]
fn gate(cur: &Masks, next: &Masks, carry: u64) -> u64 {
    let on = |k: u32| (cur.sep >> k) | (next.sep << (64 - k));
    let before = (cur.digit << 1) | carry;
    cur.sep & before & (on(3) | on(4) | on(5) | on(7))
}

/// Tries, for each separator at a bit of `gate` (block at `at`), the shapes whose first
/// separator it can be, at the start that makes it so. A value's first separator is one byte,
/// so each value is tried once.
#[cold]
#[inline(never)]
fn candidates(
    mut gate: u64,
    at: usize,
    rules: ShapeRules,
    data: &[u8],
    base: u64,
    out: &mut Vec<RawMatch>,
) {
    while gate != 0 {
        let q = at + gate.trailing_zeros() as usize;
        gate &= gate - 1;
        dispatch(rules, data, q, 0, base, out);
    }
}

fn is_sep(b: u8) -> bool {
    matches!(b, b'-' | b'.' | b' ' | b')')
}

/// Tries the shapes whose first separator (or `)`) can be `b[q]`, at the start that makes it
/// so; `split` as for [`try_shape`]'s `from`, and when it is not zero (the kept bytes before
/// an input) only starts before it are tried: later ones belong to the input's own scan.
#[inline]
fn dispatch(
    rules: ShapeRules,
    b: &[u8],
    q: usize,
    split: usize,
    base: u64,
    out: &mut Vec<RawMatch>,
) {
    let c = b[q];
    let ahead = |k: usize| b.get(q + k).copied().unwrap_or(0);
    let mut go = |shape: Shape, s: usize| {
        if split == 0 || s < split {
            try_shape(rules, shape, b, s, split, base, out);
        }
    };
    if q >= 3 {
        if matches!(c, b'-' | b' ' | b'.') && ahead(3) == c {
            go(Shape::Ssn, q - 3);
        }
        if matches!(c, b'-' | b'.') && matches!(ahead(4), b'-' | b'.') {
            go(Shape::Phone, q - 3);
        }
    }
    if q >= 4 {
        match c {
            b')' => go(Shape::Phone, q - 4),
            b'-' | b' ' => {
                if c == b'-' && ahead(4) == c {
                    go(Shape::Mbi, q - 4);
                }
                if ahead(5) == c {
                    let card = if c == b'-' {
                        Shape::CardDashed
                    } else {
                        Shape::CardSpaced
                    };
                    go(card, q - 4);
                }
                if ahead(7) == c {
                    go(Shape::Amex, q - 4);
                }
            }
            _ => {}
        }
    }
}

/// `-` and `.`, neighbours in ASCII.
#[cfg(target_arch = "x86_64")]
const DASH_DOT: (i8, i8) = signed_range(b'-', 2);

/// The masks with AVX2: 32 bytes per compare.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
fn masks_avx2(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi8, _mm256_cmpeq_epi8, _mm256_cmpgt_epi8, _mm256_loadu_si256,
        _mm256_movemask_epi8, _mm256_or_si256, _mm256_set1_epi8,
    };
    // SAFETY: the caller runs with AVX2 (this function's target feature); `block` holds 64
    // bytes, so each unaligned 32-byte load at 32 * k (k < 2) stays inside it.
    unsafe {
        let mut m = Masks::default();
        for k in 0..2 {
            let v = _mm256_loadu_si256(block.as_ptr().add(32 * k).cast::<__m256i>());
            let d = _mm256_cmpgt_epi8(
                _mm256_set1_epi8(DIGIT.1),
                _mm256_add_epi8(v, _mm256_set1_epi8(DIGIT.0)),
            );
            let s = _mm256_or_si256(
                _mm256_cmpgt_epi8(
                    _mm256_set1_epi8(DASH_DOT.1),
                    _mm256_add_epi8(v, _mm256_set1_epi8(DASH_DOT.0)),
                ),
                _mm256_or_si256(
                    _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b' ' as i8)),
                    _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b')' as i8)),
                ),
            );
            let bits = |x| u64::from(_mm256_movemask_epi8(x) as u32) << (32 * k);
            m.digit |= bits(d);
            m.sep |= bits(s);
        }
        m
    }
}

/// The masks with SSE2, which every x86_64 CPU has: 16 bytes per compare.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn masks(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8,
        _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of every x86_64 target, so the intrinsics are available; `block`
    // holds 64 bytes, so each unaligned 16-byte load at 16 * k (k < 4) stays inside it.
    unsafe {
        let mut m = Masks::default();
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
            let d = _mm_cmplt_epi8(
                _mm_add_epi8(v, _mm_set1_epi8(DIGIT.0)),
                _mm_set1_epi8(DIGIT.1),
            );
            let s = _mm_or_si128(
                _mm_cmplt_epi8(
                    _mm_add_epi8(v, _mm_set1_epi8(DASH_DOT.0)),
                    _mm_set1_epi8(DASH_DOT.1),
                ),
                _mm_or_si128(
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b' ' as i8)),
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b')' as i8)),
                ),
            );
            let bits = |x| u64::from(_mm_movemask_epi8(x) as u32 & 0xffff) << (16 * k);
            m.digit |= bits(d);
            m.sep |= bits(s);
        }
        m
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn masks(block: &[u8; 64]) -> Masks {
    let mut m = Masks::default();
    for (i, &b) in block.iter().enumerate() {
        m.digit |= u64::from(b.is_ascii_digit()) << i;
        m.sep |= u64::from(matches!(b, b'-' | b'.' | b' ' | b')')) << i;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shape's rule id is its index.
    fn all_rules() -> ShapeRules {
        ShapeRules {
            ids: [Some(0), Some(1), Some(2), Some(3), Some(4), Some(5)],
        }
    }

    /// Byte-wise masks: the definition the SIMD versions must meet.
    fn masks_bytewise(block: &[u8; 64]) -> Masks {
        let mut m = Masks::default();
        for (i, &b) in block.iter().enumerate() {
            m.digit |= u64::from(b.is_ascii_digit()) << i;
            m.sep |= u64::from(is_sep(b)) << i;
        }
        m
    }

    /// Values of `data` with their boundary byte inside it, tried at every start.
    fn naive(data: &[u8]) -> Vec<(u64, usize, u64)> {
        let mut out = Vec::new();
        for s in 0..data.len() {
            for shape in ALL {
                try_shape(all_rules(), shape, data, s, 0, 0, &mut out);
            }
        }
        sorted(out)
    }

    fn sorted(v: Vec<RawMatch>) -> Vec<(u64, usize, u64)> {
        let mut v: Vec<_> = v.iter().map(|m| (m.to, m.id, m.from)).collect();
        v.sort_unstable();
        v
    }

    fn random_text(seed: u64, len: usize) -> Vec<u8> {
        let alphabet = b"0123456789012345678901234567890123456789- .)(-.-. AZEGxa\n,/:\x80\xff";
        crate::testing::text(seed, len, alphabet)
    }

    #[test]
    fn simd_masks_are_the_bytewise_masks() {
        for seed in 1..200 {
            let text = random_text(seed, 64);
            let block: &[u8; 64] = text[..].try_into().unwrap();
            let want = masks_bytewise(block);
            let sse2 = masks(block);
            assert_eq!(
                (sse2.digit, sse2.sep),
                (want.digit, want.sep),
                "SSE2, seed {seed}"
            );
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 is present (checked just above).
                #[allow(unsafe_code)]
                let avx2 = unsafe { masks_avx2(block) };
                assert_eq!(
                    (avx2.digit, avx2.sep),
                    (want.digit, want.sep),
                    "AVX2, seed {seed}"
                );
            }
        }
    }

    /// Values, near misses and glue in random order.
    fn pieces_text(seed: u64) -> Vec<u8> {
        let pieces: [&[u8]; 16] = [
            b"219-09-9999",
            b"219 09 9999",
            b"219.09.9999",
            b"1EG4-TE5-MK73",
            b"4539-5787-6362-1486",
            b"4539 5787 6362 1486",
            b"3782-822463-10005",
            b"3782 822463 10005",
            b"(555) 867-5309",
            b"(555)867-5309",
            b"555.867-5309",
            b"219-09 9999",
            b"2026-03-14T09:26:53Z",
            b"10.12.13.14",
            b"7",
            b"-",
        ];
        let glue = random_text(seed, 400);
        let mut r = crate::testing::Rng::new(seed);
        let mut v = Vec::new();
        for g in glue.chunks(3) {
            let x = r.next();
            v.extend_from_slice(pieces[(x % pieces.len() as u64) as usize]);
            v.extend_from_slice(&g[..(x >> 20) as usize % 4 % g.len().max(1)]);
        }
        v
    }

    #[test]
    fn the_gate_lets_every_value_through() {
        // The bulk scan looks only where the gate lets it; trying every start must find
        // nothing more, with either mask implementation.
        let mut found = 0;
        for seed in 1..300 {
            let text = if seed % 2 == 0 {
                pieces_text(seed)
            } else {
                let len = match seed {
                    1 => 64,
                    3 => 65,
                    5 => 63,
                    7 => 128,
                    _ => 1 + (seed as usize * 37) % 700,
                };
                random_text(seed, len)
            };
            let want = naive(&text);
            found += want.len();
            let mut got = Vec::new();
            bulk_with(masks, all_rules(), &text, 0, &mut got);
            assert_eq!(sorted(got), want, "SSE2 masks, seed {seed}");
            let mut got = Vec::new();
            bulk(all_rules(), &text, 0, &mut got);
            assert_eq!(sorted(got), want, "runtime masks, seed {seed}");
        }
        assert!(found > 2000, "the inputs hold values: {found}");
    }

    #[test]
    fn a_value_is_reported_once_whatever_the_chunking() {
        let text = b"ssn 219-09-9999, card 4539 5787 6362 1486, call (555) 867-5309.\n";
        let whole = naive(text);
        assert_eq!(whole.len(), 3);
        for chunk in 1..text.len() {
            let mut s = ShapeStream::default();
            let mut out = Vec::new();
            for c in text.chunks(chunk) {
                s.scan(all_rules(), c, &mut out);
            }
            s.close(all_rules(), &mut out);
            assert_eq!(sorted(out), whole, "chunks of {chunk}");
        }
    }

    #[test]
    fn a_value_at_the_end_of_the_stream_is_reported_at_close() {
        for (text, end) in [(&b"x 219-09-9999"[..], 13), (b"x 219-09-9999\n", 13)] {
            let mut s = ShapeStream::default();
            let mut out = Vec::new();
            s.scan(all_rules(), text, &mut out);
            s.close(all_rules(), &mut out);
            let ends: Vec<u64> = out.iter().map(|m| m.to).collect();
            // Before a final newline the value is reported twice, like Hyperscan's `$` and
            // its boundary byte: the engine keeps one finding.
            let want: &[u64] = if text.ends_with(b"\n") {
                &[14, 13]
            } else {
                &[13]
            };
            assert_eq!(ends, want, "{:?}", String::from_utf8_lossy(text));
            assert!(out.iter().all(|m| m.from == 2 && m.to >= end));
        }
    }
}
