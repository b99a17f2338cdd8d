//! Identifiers that stand alone with no keyword: payment card numbers (15 or 16 digits) and
//! undashed Medicare MBIs (11 characters), found here rather than by Hyperscan.
//!
//! Their patterns (in `rules.rs`, pass [`crate::rules::TOKENS`]) are character classes with no
//! literal. Hyperscan runs such patterns as an automaton over every byte, and on digit-heavy
//! traffic that made the whole scan ten times slower (callgrind on the 16 MiB clean API log:
//! 115 M instructions without them, 1.2 G with them in any pass). Here a run of digits and
//! capital letters is found 64 bytes at a time from SSE2 (or AVX2) byte masks; only whole runs of exactly
//! 11, 15 or 16 such characters, with no lower-case letter or dash right after them, become
//! candidates. A candidate is reported like a Hyperscan match of the rule's pattern (start of
//! the run to the byte after it, or to the end of the stream) and the rule's validator and left
//! boundary decide, as for any other match.

use crate::rules::{Kind, Rule, TOKENS};
use crate::types::RawMatch;

/// Longest run length that can still be a candidate.
const LONGEST: usize = 16;

/// Rule indexes of the token detectors of an engine.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TokenRules {
    mbi: Option<usize>,
    card: Option<usize>,
}

impl TokenRules {
    /// Finds the token detectors among `rules` (pass [`TOKENS`]).
    pub(crate) fn of(rules: &[Rule]) -> TokenRules {
        let mut t = TokenRules::default();
        for (i, r) in rules.iter().enumerate().filter(|(_, r)| r.pass == TOKENS) {
            match r.kind {
                Kind::Mbi => t.mbi = Some(i),
                Kind::CreditCard => t.card = Some(i),
                // `engine::tests::token_detectors_find_what_hyperscan_finds_with_their_patterns`
                // checks that the token detectors are these two.
                _ => {}
            }
        }
        t
    }

    pub(crate) fn any(&self) -> bool {
        self.mbi.is_some() || self.card.is_some()
    }
}

/// Per-stream state: where the stream is and the run of token characters it ends in (no
/// `Debug`: the run is traffic).
#[derive(Default)]
pub(crate) struct TokenStream {
    /// Stream offset of the next byte.
    offset: u64,
    /// Length of the run of token characters that ends the input so far (saturates above
    /// [`LONGEST`]).
    open: usize,
    /// That run's characters while it is short enough to be a candidate.
    run: [u8; LONGEST],
}

/// A digit or a capital letter: the characters of card numbers and MBIs.
#[inline]
fn is_token(b: u8) -> bool {
    b.is_ascii_digit() || b.is_ascii_uppercase()
}

/// The byte after a candidate run must not continue a word or an id (`-`). The run already
/// ends at a byte that is no digit or capital.
#[inline]
fn ends_token(next: u8) -> bool {
    !(next.is_ascii_lowercase() || next == b'-')
}

impl TokenStream {
    /// Scans the next `data` of the stream; candidates go to `out` (not in order).
    pub(crate) fn scan(&mut self, rules: TokenRules, data: &[u8], out: &mut Vec<RawMatch>) {
        let base = self.offset;
        self.offset += data.len() as u64;
        let mut i = 0;
        if self.open > 0 {
            // The run the previous input ended in continues here.
            let more = data.iter().take_while(|&&b| is_token(b)).count();
            self.extend(&data[..more]);
            if more == data.len() {
                return;
            }
            if ends_token(data[more]) && self.open <= LONGEST {
                let end = base + more as u64;
                let len = self.open;
                candidate(rules, &self.run[..len], end - len as u64, end + 1, out);
            }
            self.open = 0;
            i = more;
        }
        let tail = bulk(rules, data, i, base, out);
        self.extend(&data[tail..]);
    }

    /// Adds characters to the open run.
    fn extend(&mut self, more: &[u8]) {
        let len = self.open.saturating_add(more.len());
        if len <= LONGEST {
            self.run[self.open..len].copy_from_slice(more);
        }
        self.open = len.min(LONGEST + 1);
    }

    /// Ends the stream: a run that reaches the end is a candidate (the patterns' `$`).
    pub(crate) fn close(&mut self, rules: TokenRules, out: &mut Vec<RawMatch>) {
        let len = std::mem::take(&mut self.open);
        if len > 0 && len <= LONGEST {
            candidate(
                rules,
                &self.run[..len],
                self.offset - len as u64,
                self.offset,
                out,
            );
        }
    }
}

/// Reports the run `bytes` of token characters starting at `from` whose match ends at `to`,
/// if it could be a card number or an MBI by its length and first characters.
fn candidate(rules: TokenRules, bytes: &[u8], from: u64, to: u64, out: &mut Vec<RawMatch>) {
    let id = match bytes.len() {
        // An MBI starts with a digit and a letter.
        11 if bytes[0].is_ascii_digit() && bytes[1].is_ascii_uppercase() => rules.mbi,
        15 | 16 if bytes.iter().all(u8::is_ascii_digit) => rules.card,
        _ => None,
    };
    if let Some(id) = id {
        out.push(RawMatch { id, from, to });
    }
}

/// Scans `data[start..]` (the byte before `start`, if any, is no token character) for whole
/// runs that end inside `data`, and returns where the run that reaches the end of `data`
/// begins (`data.len()` when the last byte is no token character).
fn bulk(rules: TokenRules, data: &[u8], start: usize, base: u64, out: &mut Vec<RawMatch>) -> usize {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("bmi1")
        && std::arch::is_x86_feature_detected!("lzcnt")
    {
        // SAFETY: the CPU has AVX2, BMI1 and LZCNT (checked just above).
        #[allow(unsafe_code)]
        return unsafe { bulk_avx2(rules, data, start, base, out) };
    }
    bulk_with(mask64, rules, data, start, base, out)
}

/// [`bulk`] compiled for AVX2 (the 32-byte mask) with LZCNT and TZCNT for the run ends.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi1,lzcnt")]
#[allow(unsafe_code)]
unsafe fn bulk_avx2(
    rules: TokenRules,
    data: &[u8],
    start: usize,
    base: u64,
    out: &mut Vec<RawMatch>,
) -> usize {
    bulk_with(|b| mask64_avx2(b), rules, data, start, base, out)
}

#[inline(always)]
fn bulk_with(
    mask64: impl Fn(&[u8; 64]) -> u64,
    rules: TokenRules,
    data: &[u8],
    start: usize,
    base: u64,
    out: &mut Vec<RawMatch>,
) -> usize {
    let n = data.len();
    let body = &data[start..];
    // Whole blocks while the one after them is whole too; the last one or two blocks go
    // through a copy padded with bytes that are no token character.
    let whole = (body.len() / 64).saturating_sub(1);
    let mut carry = false;
    if whole > 0 {
        let mut blocks = body
            .chunks_exact(64)
            .map(|b| mask64(b.try_into().expect("64")));
        let mut cur = blocks.next().expect("a block");
        for (i, next) in blocks.take(whole).enumerate() {
            if rare(cur, next) {
                let pos = start + 64 * i;
                in_block(cur, next, carry, data, pos, base, rules, out);
            }
            carry = cur >> 63 == 1;
            cur = next;
        }
    }
    let pos = start + 64 * whole;
    let mut pad = [0u8; 192];
    let rest = n - pos;
    pad[..rest].copy_from_slice(&data[pos..]);
    let mut cur = mask64(pad[..64].try_into().expect("64"));
    let mut at = 0;
    while at < rest {
        let next = mask64(pad[at + 64..at + 128].try_into().expect("64"));
        if rare(cur, next) {
            in_block(
                cur,
                next,
                carry,
                &pad[..rest],
                at,
                base + pos as u64,
                rules,
                out,
            );
        }
        carry = cur >> 63 == 1;
        cur = next;
        at += 64;
    }
    // The run that reaches the end of `data`.
    let mut t = n;
    while t > start && is_token(data[t - 1]) {
        t -= 1;
    }
    t
}

/// Lengths a candidate run can have, as bits.
const LENGTHS: u32 = (1 << 11) | (1 << 15) | (1 << 16);

/// Whether the block with token mask `cur` (followed by `next`) may hold a candidate: a run
/// of 11 or more characters inside it, or one of a candidate's length going on into the next
/// block. One branch for both: on text whether a block ends inside a run is a coin toss, and
/// a mispredicted branch costs more than the test.
#[inline(always)]
fn rare(cur: u64, next: u64) -> bool {
    let r2 = cur & (cur >> 1);
    let r4 = r2 & (r2 >> 2);
    let r8 = r4 & (r4 >> 4);
    let long_inside = r8 & (r2 >> 8) & (cur >> 10);
    let top = (!cur).leading_zeros();
    // Zero (no candidate length) unless a run touches the end without filling the block.
    let len = (top + (!next).trailing_zeros()) * u32::from(top.wrapping_sub(1) < 63);
    // `len & 31` lets a run of 43 or more pass as a candidate length: `in_block` checks
    // exactly, and such runs are rare.
    let crossing = (LENGTHS >> (len & 31)) & 1;
    (long_inside | u64::from(crossing)) != 0
}

/// Reports the candidates of the block at `pos` (token mask `cur`, the next block's `next`,
/// `carry` when the byte before the block is a token character): whole runs that start in
/// the block and end before the end of `data`.
#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn in_block(
    cur: u64,
    next: u64,
    carry: bool,
    data: &[u8],
    pos: usize,
    base: u64,
    rules: TokenRules,
    out: &mut Vec<RawMatch>,
) {
    // The run that touches the block's last byte goes on into the next block.
    let top = cur.leading_ones() as usize;
    if top > 0 && top < 64 {
        let len = top + next.trailing_ones() as usize;
        if (LENGTHS >> len.min(31)) & 1 == 1 {
            report(rules, data, pos + 64 - top, len, base, out);
        }
    }
    // Whole runs that end inside the block; the first one is not a start when it continues a
    // run from the block before.
    let inner = if top == 64 {
        0
    } else {
        cur & (u64::MAX >> top)
    };
    let starts = inner & !((inner << 1) | u64::from(carry));
    // Bit s of r_k: the k characters from s on are token characters.
    let r2 = inner & (inner >> 1);
    let r4 = r2 & (r2 >> 2);
    let r8 = r4 & (r4 >> 4);
    let r11 = r8 & (r2 >> 8) & (inner >> 10);
    let r12 = r8 & (r4 >> 8);
    let r15 = r12 & (r2 >> 12) & (inner >> 14);
    let r17 = r12 & (r4 >> 12) & (inner >> 16);
    let eleven = r11 & !r12;
    let mut cands = starts & (eleven | (r15 & !r17));
    while cands != 0 {
        let bit = cands.trailing_zeros() as usize;
        cands &= cands - 1;
        let len = if (eleven >> bit) & 1 == 1 {
            11
        } else if (inner >> (bit + 15)) & 1 == 1 {
            16
        } else {
            15
        };
        report(rules, data, pos + bit, len, base, out);
    }
}

/// Reports the run of `len` token characters at `data[s..]` unless it reaches the end of
/// `data` (then the next input decides) or a lower-case letter or dash follows it.
#[cold]
fn report(
    rules: TokenRules,
    data: &[u8],
    s: usize,
    len: usize,
    base: u64,
    out: &mut Vec<RawMatch>,
) {
    let end = s + len;
    if end < data.len() && ends_token(data[end]) {
        let to = base + end as u64 + 1;
        candidate(rules, &data[s..end], base + s as u64, to, out);
    }
}

/// A byte range `[lo, lo + span)` as one signed compare of SIMD lanes: `x` is in it when
/// `(x + bias) as i8 < limit`, with `bias = 128 - lo` and `limit = span - 128`.
#[cfg(target_arch = "x86_64")]
pub(crate) const fn signed_range(lo: u8, span: u8) -> (i8, i8) {
    (128u8.wrapping_sub(lo) as i8, span.wrapping_sub(128) as i8)
}

/// Digits and capital letters as [`signed_range`]s (digits are `shapes.rs`'s too).
#[cfg(target_arch = "x86_64")]
pub(crate) const DIGIT: (i8, i8) = signed_range(b'0', 10);
#[cfg(target_arch = "x86_64")]
const UPPER: (i8, i8) = signed_range(b'A', 26);

/// The mask with AVX2: 32 bytes per compare.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
fn mask64_avx2(block: &[u8; 64]) -> u64 {
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi8, _mm256_cmpgt_epi8, _mm256_loadu_si256, _mm256_movemask_epi8,
        _mm256_or_si256, _mm256_set1_epi8,
    };
    // SAFETY: the caller runs with AVX2 (this function's target feature); `block` holds 64
    // bytes, so each unaligned 32-byte load at 32 * k (k < 2) stays inside it.
    unsafe {
        let digit_bias = _mm256_set1_epi8(DIGIT.0);
        let digit_limit = _mm256_set1_epi8(DIGIT.1);
        let upper_bias = _mm256_set1_epi8(UPPER.0);
        let upper_limit = _mm256_set1_epi8(UPPER.1);
        let mut m = 0u64;
        for k in 0..2 {
            let v = _mm256_loadu_si256(block.as_ptr().add(32 * k).cast::<__m256i>());
            let d = _mm256_cmpgt_epi8(digit_limit, _mm256_add_epi8(v, digit_bias));
            let u = _mm256_cmpgt_epi8(upper_limit, _mm256_add_epi8(v, upper_bias));
            let bits = _mm256_movemask_epi8(_mm256_or_si256(d, u)) as u32 as u64;
            m |= bits << (32 * k);
        }
        m
    }
}

/// The mask with SSE2, which every x86_64 CPU has: 16 bytes per compare.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn mask64(block: &[u8; 64]) -> u64 {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of every x86_64 target, so the intrinsics are available; `block`
    // holds 64 bytes, so each unaligned 16-byte load at 16 * k (k < 4) stays inside it.
    unsafe {
        let digit_bias = _mm_set1_epi8(DIGIT.0);
        let digit_limit = _mm_set1_epi8(DIGIT.1);
        let upper_bias = _mm_set1_epi8(UPPER.0);
        let upper_limit = _mm_set1_epi8(UPPER.1);
        let mut m = 0u64;
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
            let d = _mm_cmplt_epi8(_mm_add_epi8(v, digit_bias), digit_limit);
            let u = _mm_cmplt_epi8(_mm_add_epi8(v, upper_bias), upper_limit);
            let bits = _mm_movemask_epi8(_mm_or_si128(d, u)) as u32 as u64;
            m |= (bits & 0xffff) << (16 * k);
        }
        m
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn mask64(block: &[u8; 64]) -> u64 {
    block
        .iter()
        .enumerate()
        .fold(0u64, |m, (i, &b)| m | (u64::from(is_token(b)) << i))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every run of token characters the slow way: (start, len) of whole runs.
    fn naive(data: &[u8]) -> Vec<(u64, u64)> {
        let mut v = Vec::new();
        let mut i = 0;
        while i < data.len() {
            if is_token(data[i]) {
                let s = i;
                while i < data.len() && is_token(data[i]) {
                    i += 1;
                }
                let len = i - s;
                let ok_end = i == data.len() || ends_token(data[i]);
                let plausible = match len {
                    11 => data[s].is_ascii_digit() && data[s + 1].is_ascii_uppercase(),
                    15 | 16 => data[s..i].iter().all(u8::is_ascii_digit),
                    _ => false,
                };
                if ok_end && plausible {
                    let to = if i == data.len() { i } else { i + 1 };
                    v.push((s as u64, to as u64));
                }
            } else {
                i += 1;
            }
        }
        v
    }

    fn rules() -> TokenRules {
        TokenRules {
            mbi: Some(1),
            card: Some(2),
        }
    }

    fn chunked(data: &[u8], sizes: &[usize]) -> Vec<(u64, u64)> {
        let mut st = TokenStream::default();
        let mut out = Vec::new();
        let mut rest = data;
        let mut k = 0;
        while !rest.is_empty() {
            let n = sizes[k % sizes.len()].clamp(1, rest.len());
            st.scan(rules(), &rest[..n], &mut out);
            rest = &rest[n..];
            k += 1;
        }
        st.close(rules(), &mut out);
        let mut v: Vec<(u64, u64)> = out.iter().map(|m| (m.from, m.to)).collect();
        v.sort_unstable();
        v
    }

    /// Reproducible inputs of card-like and MBI-like characters.
    fn input(seed: u64, len: usize) -> Vec<u8> {
        let alphabet = b"0123456789012345678901234567890123456789ACEGKMX .-,\"ab:";
        crate::testing::text(seed, len, alphabet)
    }

    #[test]
    fn finds_whole_runs_of_card_and_mbi_length() {
        let s = b"x 4111111111111111 y,378282246310005;1EG4TE5MK73\n";
        let got = chunked(s, &[4096]);
        assert_eq!(got, vec![(2, 19), (21, 37), (37, 49)]);
        // Part of a longer run, a lower-case letter or a dash after it: no candidate.
        for s in [
            &b"41111111111111111 "[..],
            b"4111111111111111x",
            b"4111111111111111-1",
            b"1EG4TE5MK73b",
            b"1EG4TE5MK73-",
        ] {
            assert!(
                chunked(s, &[4096]).is_empty(),
                "{}",
                String::from_utf8_lossy(s)
            );
        }
        // At the end of the stream the match ends with it.
        assert_eq!(chunked(b"4111111111111111", &[4096]), vec![(0, 16)]);
    }

    #[test]
    fn any_chunking_gives_the_whole_input_result() {
        for seed in 1..40u64 {
            let data = input(seed, 3000 + seed as usize * 37);
            let want = naive(&data);
            assert!(
                seed > 3 || !want.is_empty(),
                "the generator makes candidates"
            );
            for sizes in [
                &[data.len()][..],
                &[1],
                &[7, 64, 3],
                &[63, 65, 1, 128],
                &[17],
            ] {
                assert_eq!(chunked(&data, sizes), want, "seed {seed} sizes {sizes:?}");
            }
        }
    }

    #[test]
    fn mask_matches_the_byte_test() {
        let block: [u8; 64] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
        for shift in 0..=255u8 {
            let b: [u8; 64] = block.map(|x| x.wrapping_add(shift));
            let want = b
                .iter()
                .enumerate()
                .fold(0u64, |m, (i, &c)| m | (u64::from(is_token(c)) << i));
            assert_eq!(mask64(&b), want, "shift {shift}");
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                #[allow(unsafe_code)]
                let avx2 = unsafe { mask64_avx2(&b) };
                assert_eq!(avx2, want, "avx2, shift {shift}");
            }
        }
    }
}
