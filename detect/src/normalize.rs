//! Streaming normalisation of content before scanning: percent-encoding (`%2D`), JSON string
//! escapes (`\u0031`, `\"`, `\n`, ...) and, in form bodies and URLs, `+` as a space.
//!
//! The common case (no escape in a chunk) costs one `memchr` pass and no copy. When escapes are
//! present the normaliser writes the decoded bytes and records *anchors* so that an offset in the
//! normalised stream maps back to the content offset it came from: between two anchors bytes are
//! one to one. Anchors older than the scanner's history window are pruned, so memory is bounded.
//!
//! An escape cut by a chunk boundary is carried (at most [`MAX_CARRY`] bytes) until the next chunk.

use std::collections::VecDeque;

/// Longest escape: `\uXXXX`.
#[cfg(test)]
pub(crate) const MAX_CARRY: usize = 6;

pub(crate) struct Normalizer {
    plus_as_space: bool,
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

fn decode_escape(s: &[u8], plus_as_space: bool) -> Esc {
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
            if s[1] != b'u' && s[1] != b'U' {
                return Esc::Literal;
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
            // Surrogates (emoji and the like) carry no PHI the detectors look for: one '?'.
            let c = char::from_u32(v).unwrap_or('?');
            let mut buf = [0u8; 4];
            let enc = c.encode_utf8(&mut buf).as_bytes();
            if enc.len() > 3 {
                return Esc::Decoded([b'?', 0, 0], 1, 6);
            }
            let mut out = [0u8; 3];
            out[..enc.len()].copy_from_slice(enc);
            Esc::Decoded(out, enc.len(), 6)
        }
        _ => Esc::Literal,
    }
}

impl Normalizer {
    pub(crate) fn new(plus_as_space: bool) -> Normalizer {
        Normalizer {
            plus_as_space,
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

    fn find_special(&self, s: &[u8]) -> Option<usize> {
        if self.plus_as_space {
            memchr::memchr3(b'%', b'\\', b'+', s)
        } else {
            memchr::memchr2(b'%', b'\\', s)
        }
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
            match decode_escape(&input[i..], self.plus_as_space) {
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
                n.carry.len() < MAX_CARRY,
                "an incomplete escape is shorter than a whole one"
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
    fn offsets_map_back_to_the_escape() {
        let input = br#"ab\u0031cd"#;
        let (o, n) = run(&[input], false);
        assert_eq!(o, b"ab1cd".to_vec());
        assert_eq!(n.content_offset(2), 2); // the escape starts at content 2
        assert_eq!(n.content_offset(3), 8); // 'c' is content byte 8
        assert_eq!(n.content_offset(5), 10);
    }
}
