//! Encoded content inside a stream, decoded whatever the headers say: the *views* of a scanner.
//!
//! A careless app or library sends PHI base64-encoded inside JSON, gzip-compressed without a
//! `Content-Encoding`, as UTF-16 from a Windows export, or quoted-printable in a MIME part. The
//! receiver decodes it; so does the scanner. Each view watches one tap of its parent scanner and,
//! where an encoded segment begins, feeds the decoded bytes to a *child* [`Scanner`] (with views
//! of its own, so gzip inside base64 inside JSON works), whose findings count as the parent's:
//!
//! | view | tap | where a segment begins |
//! | --- | --- | --- |
//! | compressed | content | gzip magic (`1f 8b 08`) anywhere; zlib at the start of a segment |
//! | UTF-16 | content | a BOM or NUL-interleaved text at the start of a segment |
//! | base64 | normalised | a run of 12 or more base64/base64url characters with both cases whose decoded start is text, compressed or UTF-16 (MIME's 76-character lines continue a run) |
//! | quoted-printable | normalised | the words `quoted-printable` (a MIME part header); from there on |
//!
//! The raw bytes are still scanned by the parent: a view only adds findings.
//!
//! # One budget for the whole nest
//! Every scanner of a nest shares a [`Budget`]: the bytes all views produce together may not
//! exceed the top stream's input times `max_ratio` (after `ratio_grace_bytes`) nor
//! `max_content_bytes`, and views nest at most [`MAX_DEPTH`] deep. Past a bound the stream is
//! uninspectable, which on a path that refuses PHI means refused.
//!
//! # Hold-back
//! A view holds its parent back: no parent byte at or after the parent offset of the child's own
//! `releasable()` may be released, nor any byte of a base64 run whose qualification is still
//! open. Offsets map back through a small piecewise-linear [`Map`] (4 characters per 3 bytes in
//! base64, 2 bytes per unit in UTF-16, one to one otherwise), floored, so the bound is
//! conservative.
//!
//! # Offsets of findings
//! A finding inside a base64, UTF-16 or quoted-printable view is reported at the parent offsets
//! its bytes map to; inside a compressed view, at the two magic bytes where the compressed segment
//! begins (a compressed byte has no single position).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::Scanner;
use crate::engine::Engine;
use crate::rules::{Kind, Role};
use crate::types::{
    Decoding, Limits, ReportMode, ScanError, StreamOptions, Uninspectable, Verdict,
};

/// Bytes a segment's start signature is judged on.
const HEAD: usize = 8;
/// Deepest nesting of views (the top stream is depth 0): base64 in gzip in base64 in a body.
pub(crate) const MAX_DEPTH: u8 = 3;
/// Compressed segments open at once in one stream; more is uninspectable.
const MAX_COMPRESSED: usize = 8;
/// A base64 run shorter than this is not decoded: 12 characters are 9 bytes, an SSN's digits.
const MIN_RUN: usize = 12;
/// A run is judged on its first decoded bytes, at most this many.
const JUDGE_BYTES: usize = 48;
/// Share of text bytes (printable ASCII, whitespace, NUL of UTF-16) a decoded run must start
/// with, in percent, unless it starts with a compression or UTF-16 signature.
const TEXT_SHARE: usize = 75;
/// Anchors kept per map; older ones only matter for findings far behind the history window.
const MAX_ANCHORS: usize = 256;

/// The budget shared by every scanner of one nest.
#[derive(Debug)]
pub(crate) struct Budget {
    limits: Limits,
    /// Input bytes of the top stream.
    root_input: AtomicU64,
    /// Bytes produced by every view of the nest.
    derived: AtomicU64,
}

impl Budget {
    pub(crate) fn new(limits: Limits) -> Arc<Budget> {
        Arc::new(Budget {
            limits,
            root_input: AtomicU64::new(0),
            derived: AtomicU64::new(0),
        })
    }

    pub(crate) fn add_root_input(&self, n: u64) {
        self.root_input.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` more derived bytes; the reason to stop if a bound is passed.
    fn spend(&self, n: u64) -> Option<Uninspectable> {
        let total = self.derived.fetch_add(n, Ordering::Relaxed) + n;
        let l = &self.limits;
        if total > l.max_content_bytes {
            return Some(Uninspectable::ContentTooLarge);
        }
        let input = self.root_input.load(Ordering::Relaxed);
        if total > l.ratio_grace_bytes && total > input.saturating_mul(l.max_ratio) {
            return Some(Uninspectable::CompressionRatio);
        }
        None
    }
}

/// A finding a child passes up, in its own content coordinates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exported {
    pub(crate) kind: Kind,
    pub(crate) role: Role,
    pub(crate) start: u64,
    pub(crate) end: u64,
}

/// Child offset → parent offset, piecewise linear: from an anchor `(c, p)` on, child byte
/// `c + k` comes from parent byte `p + floor(k * num / den)`.
#[derive(Debug)]
struct Map {
    anchors: VecDeque<(u64, u64)>,
    num: u64,
    den: u64,
}

impl Map {
    fn new(parent_start: u64, num: u64, den: u64) -> Map {
        let mut anchors = VecDeque::new();
        anchors.push_back((0, parent_start));
        Map { anchors, num, den }
    }

    fn anchor(&mut self, child: u64, parent: u64) {
        if let Some(last) = self.anchors.back_mut() {
            if last.0 == child {
                *last = (child, parent);
                return;
            }
        }
        self.anchors.push_back((child, parent));
        if self.anchors.len() > MAX_ANCHORS {
            self.anchors.pop_front();
        }
    }

    fn parent(&self, child: u64) -> u64 {
        let &(c, p) = self
            .anchors
            .iter()
            .rev()
            .find(|(c, _)| *c <= child)
            .or(self.anchors.front())
            .expect("a map has an anchor");
        p + child.saturating_sub(c) * self.num / self.den
    }
}

/// A child scanner and where its bytes come from.
struct Child {
    scanner: Box<Scanner>,
    map: Map,
    /// Derived bytes already charged to the budget.
    charged: u64,
}

/// What a child's state means for its parent after a feed.
enum ChildState {
    Open,
    /// The segment ended or was not what its signature said: close the view quietly.
    Closed,
    /// A bound was passed: the parent is uninspectable.
    Failed(Uninspectable),
}

impl Child {
    fn new(
        engine: &Engine,
        decoding: Decoding,
        qp: bool,
        parent: &ViewCtx<'_>,
        map: Map,
    ) -> Result<Child, ScanError> {
        let opts = StreamOptions {
            decoding,
            plus_as_space: false,
            limits: parent.limits,
            report: parent.report,
        };
        let mut scanner = Scanner::new_child(
            engine.clone(),
            opts,
            parent.depth + 1,
            parent.budget.clone(),
        )?;
        if qp {
            scanner.set_quoted_printable();
        }
        Ok(Child {
            scanner: Box::new(scanner),
            map,
            charged: 0,
        })
    }

    fn feed(&mut self, bytes: &[u8], budget: &Budget) -> Result<ChildState, ScanError> {
        self.scanner.feed(bytes)?;
        match self.state(budget) {
            // The segment ended (a compressed member followed by other bytes, a MIME boundary
            // after a gzip part): what it decoded ends here too, and a value at its very end is
            // found only by the end of the stream's matches.
            ChildState::Closed => self.finish(budget),
            state => Ok(state),
        }
    }

    fn finish(&mut self, budget: &Budget) -> Result<ChildState, ScanError> {
        self.scanner.finish_in_place()?;
        Ok(match self.state(budget) {
            ChildState::Failed(u) => ChildState::Failed(u),
            _ => ChildState::Closed,
        })
    }

    fn state(&mut self, budget: &Budget) -> ChildState {
        let made = self.scanner.content_len();
        if made > self.charged {
            let n = made - self.charged;
            self.charged = made;
            if let Some(u) = budget.spend(n) {
                return ChildState::Failed(u);
            }
        }
        match self.scanner.verdict() {
            Verdict::Uninspectable(
                Uninspectable::CorruptCompression | Uninspectable::TruncatedCompression,
            ) => ChildState::Closed,
            Verdict::Uninspectable(u) => ChildState::Failed(u),
            _ => ChildState::Open,
        }
    }

    /// Parent offset before which no byte may be released for this child.
    fn hold(&self) -> u64 {
        self.map.parent(self.scanner.releasable())
    }
}

/// What a view needs of its parent.
pub(crate) struct ViewCtx<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) depth: u8,
    pub(crate) budget: &'a Arc<Budget>,
    pub(crate) limits: Limits,
    /// The parent reads `+` as a space (forms, URLs): a space may be a `+` of a base64 run.
    pub(crate) plus_as_space: bool,
    /// The parent's report mode, which its children share.
    pub(crate) report: ReportMode,
}

/// Findings and context gathered from children, for the parent to record.
#[derive(Debug, Default)]
pub(crate) struct Gathered {
    /// Findings in parent *content* coordinates.
    pub(crate) content: Vec<Exported>,
    /// Findings in parent *normalised* coordinates.
    pub(crate) normalized: Vec<Exported>,
    pub(crate) patient_context: bool,
    pub(crate) failed: Option<Uninspectable>,
}

impl Gathered {
    fn take_from(&mut self, child: &mut Child, normalized: bool, compressed_at: Option<u64>) {
        if child.scanner.patient_context() {
            self.patient_context = true;
        }
        for e in child.scanner.take_exported() {
            let (start, end) = match compressed_at {
                Some(at) => (at, at + 2),
                None => (
                    child.map.parent(e.start),
                    child.map.parent(e.end).max(child.map.parent(e.start) + 1),
                ),
            };
            let f = Exported { start, end, ..e };
            if normalized {
                self.normalized.push(f);
            } else {
                self.content.push(f);
            }
        }
    }

    fn apply(&mut self, state: ChildState) -> bool {
        match state {
            ChildState::Open => true,
            ChildState::Closed => false,
            ChildState::Failed(u) => {
                self.failed.get_or_insert(u);
                false
            }
        }
    }
}

/// The views of one scanner.
pub(crate) struct Views {
    /// Compressed segments: (content offset of the magic, child).
    compressed: Vec<(u64, Child)>,
    /// The last bytes of content, for a gzip magic cut by a chunk boundary.
    tail: [u8; 3],
    tail_len: usize,
    /// Bytes at the start of the content, until the segment signatures can be judged: the
    /// first `head_len` of `head`.
    head: [u8; HEAD],
    head_len: usize,
    head_done: bool,
    /// Content offset where the segment being judged begins: 0, or just after a blank line
    /// (`\r\n\r\n`, the end of a MIME part's or an HTTP message's header block).
    head_at: u64,
    utf16: Option<Utf16>,
    b64: Base64Runs,
    qp: Option<Child>,
    qp_seen: Trigger,
}

impl Views {
    pub(crate) fn new() -> Views {
        Views {
            compressed: Vec::new(),
            tail: [0; 3],
            tail_len: 0,
            head: [0; HEAD],
            head_len: 0,
            head_done: false,
            head_at: 0,
            utf16: None,
            b64: Base64Runs::default(),
            qp: None,
            qp_seen: Trigger::default(),
        }
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        let child = |c: &Child| c.scanner.memory_bytes() + c.map.anchors.capacity() * 16;
        self.compressed.iter().map(|(_, c)| child(c)).sum::<usize>()
            + self.utf16.as_ref().map_or(0, |u| child(&u.child))
            + self.b64.child.as_ref().map_or(0, child)
            + self.b64.chars.capacity()
            + self.b64.decoded.capacity()
            + self.qp.as_ref().map_or(0, child)
    }

    /// Content bytes `data` starting at content offset `start` (before normalisation).
    pub(crate) fn on_content(
        &mut self,
        data: &[u8],
        start: u64,
        ctx: &ViewCtx<'_>,
        out: &mut Gathered,
    ) -> Result<(), ScanError> {
        // Open segments first, so a magic found below starts with this chunk's bytes after it.
        let mut i = 0;
        while i < self.compressed.len() {
            let (at, c) = &mut self.compressed[i];
            let skip = at.saturating_sub(start) as usize;
            let state = if skip < data.len() {
                c.feed(&data[skip..], ctx.budget)?
            } else {
                ChildState::Open
            };
            let at = *at;
            out.take_from(c, false, Some(at));
            if out.apply(state) {
                i += 1;
            } else {
                self.compressed.swap_remove(i);
            }
        }
        if let Some(u) = &mut self.utf16 {
            let state = u.feed(data, ctx.budget)?;
            out.take_from(&mut u.child, false, None);
            if !out.apply(state) {
                self.utf16 = None;
            }
        }
        // Segment starts: the content's first bytes, then the first bytes after each blank line
        // while no UTF-16 view is open.
        let mut pos = 0;
        let mut tail = [0u8; 3];
        tail[..self.tail_len].copy_from_slice(&self.tail[..self.tail_len]);
        let tail = &tail[..self.tail_len];
        loop {
            if !self.head_done {
                let used = self.judge_head(&data[pos..], ctx, out)?;
                pos += used;
                if !self.head_done || self.utf16.is_some() {
                    break;
                }
            }
            match blank_line_end(tail, data, pos) {
                Some(end) => {
                    self.head_done = false;
                    self.head_at = start + end as u64;
                    pos = end;
                }
                None => break,
            }
        }
        self.find_gzip(data, start, ctx, out)
    }

    /// Signatures at the start of a segment: zlib and UTF-16 (gzip is found anywhere).
    /// Returns how many bytes of `data` went into the head.
    fn judge_head(
        &mut self,
        data: &[u8],
        ctx: &ViewCtx<'_>,
        out: &mut Gathered,
    ) -> Result<usize, ScanError> {
        let have = self.head_len;
        let need = (HEAD - have).min(data.len());
        self.head[have..have + need].copy_from_slice(&data[..need]);
        self.head_len += need;
        if self.head_len < HEAD
            && matches!(signature(&self.head[..self.head_len]), Signature::Undecided)
        {
            return Ok(need); // more bytes, or the end of the stream (see `finish`)
        }
        self.head_done = true;
        let head = self.head;
        let n = std::mem::take(&mut self.head_len);
        self.open_head(&head[..n], &data[need..], ctx, out)?;
        Ok(need)
    }

    /// Opens the view the content's first bytes `head` call for, fed `head` and then `rest`.
    fn open_head(
        &mut self,
        head: &[u8],
        rest: &[u8],
        ctx: &ViewCtx<'_>,
        out: &mut Gathered,
    ) -> Result<(), ScanError> {
        let (decoding, utf16) = match signature(head) {
            Signature::Zlib => (Decoding::Deflate, None),
            Signature::Utf16(le) => (Decoding::Identity, Some(le)),
            _ => return Ok(()),
        };
        if ctx.depth >= MAX_DEPTH {
            out.failed.get_or_insert(Uninspectable::NestingTooDeep);
            return Ok(());
        }
        match utf16 {
            Some(le) => {
                let child = Child::new(
                    ctx.engine,
                    decoding,
                    false,
                    ctx,
                    Map::new(self.head_at, 2, 1),
                )?;
                let mut u = Utf16::new(le, child);
                u.at = self.head_at;
                let mut state = u.feed(head, ctx.budget)?;
                if matches!(state, ChildState::Open) && !rest.is_empty() {
                    state = u.feed(rest, ctx.budget)?;
                }
                out.take_from(&mut u.child, false, None);
                if out.apply(state) {
                    self.utf16 = Some(u);
                }
            }
            None => {
                let at = self.head_at;
                if self.compressed.len() >= MAX_COMPRESSED {
                    out.failed.get_or_insert(Uninspectable::NestingTooDeep);
                    return Ok(());
                }
                let mut c = Child::new(ctx.engine, decoding, false, ctx, Map::new(at, 1, 1))?;
                let mut state = c.feed(head, ctx.budget)?;
                if matches!(state, ChildState::Open) && !rest.is_empty() {
                    state = c.feed(rest, ctx.budget)?;
                }
                out.take_from(&mut c, false, Some(at));
                if out.apply(state) {
                    self.compressed.push((at, c));
                }
            }
        }
        Ok(())
    }

    fn find_gzip(
        &mut self,
        data: &[u8],
        start: u64,
        ctx: &ViewCtx<'_>,
        out: &mut Gathered,
    ) -> Result<(), ScanError> {
        // Candidates: in the kept tail joined with the chunk's first bytes, then in the chunk.
        let mut joined = [0u8; 6];
        let t = self.tail_len;
        joined[..t].copy_from_slice(&self.tail[..t]);
        let j = data.len().min(3);
        joined[t..t + j].copy_from_slice(&data[..j]);
        let tail_start = start - t as u64;
        for p in 0..t {
            if is_gzip_magic(&joined[p..t + j]) {
                let at = tail_start + p as u64;
                let mut seg = joined[p..t].to_vec();
                seg.extend_from_slice(data);
                self.open_gzip(at, &seg, ctx, out)?;
            }
        }
        let mut from = 0;
        while let Some(k) = memchr::memchr(0x1f, &data[from..]) {
            let p = from + k;
            if is_gzip_magic(&data[p..]) {
                self.open_gzip(start + p as u64, &data[p..], ctx, out)?;
            }
            from = p + 1;
        }
        // Keep the last bytes that could begin a magic cut by the boundary.
        let keep = data.len().min(3);
        if data.len() >= 3 {
            self.tail[..3].copy_from_slice(&data[data.len() - 3..]);
            self.tail_len = 3;
        } else {
            let mut v: Vec<u8> = self.tail[..self.tail_len].to_vec();
            v.extend_from_slice(&data[..keep]);
            let n = v.len().min(3);
            self.tail[..n].copy_from_slice(&v[v.len() - n..]);
            self.tail_len = n;
        }
        Ok(())
    }

    fn open_gzip(
        &mut self,
        at: u64,
        seg: &[u8],
        ctx: &ViewCtx<'_>,
        out: &mut Gathered,
    ) -> Result<(), ScanError> {
        if self.compressed.iter().any(|(a, _)| *a == at) {
            return Ok(());
        }
        if ctx.depth >= MAX_DEPTH || self.compressed.len() >= MAX_COMPRESSED {
            out.failed.get_or_insert(Uninspectable::NestingTooDeep);
            return Ok(());
        }
        let mut c = Child::new(ctx.engine, Decoding::Gzip, false, ctx, Map::new(at, 1, 1))?;
        let state = c.feed(seg, ctx.budget)?;
        out.take_from(&mut c, false, Some(at));
        if out.apply(state) {
            self.compressed.push((at, c));
        }
        Ok(())
    }

    /// Normalised bytes `data` starting at normalised offset `start`.
    pub(crate) fn on_normalized(
        &mut self,
        data: &[u8],
        start: u64,
        ctx: &ViewCtx<'_>,
        out: &mut Gathered,
    ) -> Result<(), ScanError> {
        if let Some(c) = &mut self.qp {
            let state = c.feed(data, ctx.budget)?;
            out.take_from(c, true, None);
            if !out.apply(state) {
                self.qp = None;
            }
        } else if let Some((kept, from)) = self.qp_seen.find(data) {
            if ctx.depth >= MAX_DEPTH {
                out.failed.get_or_insert(Uninspectable::NestingTooDeep);
            } else {
                let at = start + from as u64 - kept.len() as u64;
                let mut c = Child::new(
                    ctx.engine,
                    Decoding::Identity,
                    true,
                    ctx,
                    Map::new(at, 1, 1),
                )?;
                let mut state = c.feed(&kept, ctx.budget)?;
                if matches!(state, ChildState::Open) {
                    state = c.feed(&data[from..], ctx.budget)?;
                }
                out.take_from(&mut c, true, None);
                if out.apply(state) {
                    self.qp = Some(c);
                }
            }
        }
        self.b64.push(data, start, ctx, out)
    }

    /// Ends the stream: closes every open segment.
    pub(crate) fn finish(
        &mut self,
        ctx: &ViewCtx<'_>,
        out: &mut Gathered,
    ) -> Result<(), ScanError> {
        if !self.head_done {
            self.head_done = true;
            let head = self.head;
            let n = std::mem::take(&mut self.head_len);
            self.open_head(&head[..n], &[], ctx, out)?;
        }
        for (at, mut c) in self.compressed.drain(..) {
            let state = c.finish(ctx.budget)?;
            out.take_from(&mut c, false, Some(at));
            out.apply(state);
        }
        if let Some(mut u) = self.utf16.take() {
            let state = u.child.finish(ctx.budget)?;
            out.take_from(&mut u.child, false, None);
            out.apply(state);
        }
        if let Some(mut c) = self.qp.take() {
            let state = c.finish(ctx.budget)?;
            out.take_from(&mut c, true, None);
            out.apply(state);
        }
        self.b64.end_run(ctx, out)
    }

    /// Content offset before which the content views let bytes go.
    pub(crate) fn content_hold(&self) -> u64 {
        let mut h = u64::MAX;
        if !self.head_done {
            h = self.head_at;
        }
        for (_, c) in &self.compressed {
            h = h.min(c.hold());
        }
        if let Some(u) = &self.utf16 {
            h = h.min(u.child.hold());
        }
        h
    }

    /// Normalised offset before which the normalised views let bytes go.
    pub(crate) fn normalized_hold(&self) -> u64 {
        let mut h = self.b64.hold();
        if let Some(c) = &self.qp {
            h = h.min(c.hold());
        }
        h
    }
}

/// Index in `data` just after the first `\r\n\r\n` that ends at or after `from + 1`
/// (`tail` holds the bytes before `data`, for one cut by the chunk boundary).
fn blank_line_end(tail: &[u8], data: &[u8], from: usize) -> Option<usize> {
    if from == 0 && !tail.is_empty() {
        let mut j = [0u8; 6];
        j[..tail.len()].copy_from_slice(tail);
        let n = data.len().min(3);
        j[tail.len()..tail.len() + n].copy_from_slice(&data[..n]);
        let joined = &j[..tail.len() + n];
        if let Some(p) = BLANK_LINE.find(joined) {
            let end = p + 4;
            if end > tail.len() {
                return Some(end - tail.len());
            }
        }
    }
    BLANK_LINE.find(&data[from..]).map(|p| from + p + 4)
}

/// The searcher for a blank line, built once: `memmem::find` builds one per call, which was
/// most of the cost of looking for one in a short message.
static BLANK_LINE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\r\n\r\n"));

fn is_gzip_magic(s: &[u8]) -> bool {
    // ID1 ID2 CM=deflate, and FLG with its reserved bits clear.
    matches!(s, [0x1f, 0x8b, 0x08, flg, ..] if flg & 0xe0 == 0) || matches!(s, [0x1f, 0x8b, 0x08])
}

enum Signature {
    Zlib,
    Utf16(bool),
    None,
    Undecided,
}

fn signature(h: &[u8]) -> Signature {
    match h {
        [0x78, b, ..] if (0x7800u16 | u16::from(*b)).is_multiple_of(31) && b & 0x20 == 0 => {
            Signature::Zlib
        }
        [0xff, 0xfe, ..] => Signature::Utf16(true),
        [0xfe, 0xff, ..] => Signature::Utf16(false),
        _ if h.len() >= 8 => {
            let text = |b: u8| (0x20..0x7f).contains(&b) || b == b'\t' || b == b'\n' || b == b'\r';
            let le = (0..4).all(|i| text(h[2 * i]) && h[2 * i + 1] == 0);
            let be = (0..4).all(|i| h[2 * i] == 0 && text(h[2 * i + 1]));
            match (le, be) {
                (true, _) => Signature::Utf16(true),
                (_, true) => Signature::Utf16(false),
                _ => Signature::None,
            }
        }
        _ => Signature::Undecided,
    }
}

/// UTF-16 text transcoded to UTF-8 for a child. Every ASCII unit is one byte (the map's 2:1);
/// other units are anchored where they are.
struct Utf16 {
    le: bool,
    odd: Option<u8>,
    high: Option<u16>,
    /// Parent (content) offset of the next unit.
    at: u64,
    child: Child,
    buf: Vec<u8>,
}

impl Utf16 {
    fn new(le: bool, child: Child) -> Utf16 {
        Utf16 {
            le,
            odd: None,
            high: None,
            at: 0,
            child,
            buf: Vec::new(),
        }
    }

    fn feed(&mut self, data: &[u8], budget: &Budget) -> Result<ChildState, ScanError> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let child_len = self.child.scanner.input_len();
        let mut i = 0;
        let mut unit = |u: u16, at: u64, buf: &mut Vec<u8>, map: &mut Map| {
            if u < 0x80 {
                buf.push(u as u8);
                return;
            }
            let c = match (self.high.take(), u) {
                (None, 0xd800..=0xdbff) => {
                    self.high = Some(u);
                    return;
                }
                (Some(h), 0xdc00..=0xdfff) => char::from_u32(
                    0x10000 + ((u32::from(h) - 0xd800) << 10) + (u32::from(u) - 0xdc00),
                ),
                (_, u) => char::from_u32(u32::from(u)),
            }
            .unwrap_or('?');
            let mut tmp = [0u8; 4];
            let enc = c.encode_utf8(&mut tmp).as_bytes();
            map.anchor(child_len + buf.len() as u64, at);
            buf.extend_from_slice(enc);
            map.anchor(child_len + buf.len() as u64, at + 2);
        };
        if let Some(b0) = self.odd.take() {
            if let Some(&b1) = data.first() {
                let u = if self.le {
                    u16::from_le_bytes([b0, b1])
                } else {
                    u16::from_be_bytes([b0, b1])
                };
                unit(u, self.at, &mut buf, &mut self.child.map);
                self.at += 2;
                i = 1;
            } else {
                self.odd = Some(b0);
            }
        }
        while i + 1 < data.len() {
            let u = if self.le {
                u16::from_le_bytes([data[i], data[i + 1]])
            } else {
                u16::from_be_bytes([data[i], data[i + 1]])
            };
            unit(u, self.at, &mut buf, &mut self.child.map);
            self.at += 2;
            i += 2;
        }
        if i < data.len() {
            self.odd = Some(data[i]);
        }
        let r = self.child.feed(&buf, budget);
        self.buf = buf;
        r
    }
}

/// Finds `quoted-printable` (any case) across chunk boundaries.
#[derive(Default)]
struct Trigger {
    /// The last bytes seen (at most `QP_WORD.len() - 1`): the first `len` of `tail`.
    tail: [u8; QP_WORD.len() - 1],
    len: usize,
}

const QP_WORD: &[u8] = b"quoted-printable";

impl Trigger {
    /// Where quoted-printable content begins, if it does in this chunk (or straddling its
    /// start): the bytes of it kept from the previous chunk, and the offset in `data` from
    /// which the rest follows. Signs of it: the words `quoted-printable` (a part header; the
    /// content follows), an RFC 2047 `?Q?` encoded word, or two `=XX` escapes in a row.
    fn find(&mut self, data: &[u8]) -> Option<(Vec<u8>, usize)> {
        let t = self.len;
        // The kept tail and the chunk's first bytes, on the stack.
        let mut j = [0u8; 2 * QP_WORD.len()];
        j[..t].copy_from_slice(&self.tail[..t]);
        let n = data.len().min(QP_WORD.len());
        j[t..t + n].copy_from_slice(&data[..n]);
        let joined = &j[..t + n];
        let r = match qp_start(joined) {
            Some(p) if p < t => Some((joined[p..t].to_vec(), 0)),
            Some(p) => Some((Vec::new(), p - t)),
            None => qp_start(data).map(|p| (Vec::new(), p)),
        };
        // Keep the last bytes of what was seen (old tail and this chunk) for the next chunk,
        // without copying the chunk.
        let keep = self.tail.len();
        if data.len() >= keep {
            self.tail.copy_from_slice(&data[data.len() - keep..]);
            self.len = keep;
        } else {
            // Old tail then the whole (short) chunk: `joined` already holds both.
            let seen = &j[..t + data.len()];
            let from = seen.len().saturating_sub(keep);
            self.len = seen.len() - from;
            self.tail[..self.len].copy_from_slice(&seen[from..]);
        }
        r
    }
}

/// The first place in `hay` from which it reads as quoted-printable (see [`Trigger::find`]).
fn qp_start(hay: &[u8]) -> Option<usize> {
    let mut best: Option<usize> = None;
    let mut from = 0;
    while let Some(k) = next_q_start(&hay[from..]) {
        let p = from + k;
        if hay[p..].len() >= QP_WORD.len()
            && hay[p..p + QP_WORD.len()].eq_ignore_ascii_case(QP_WORD)
        {
            best = Some(p + QP_WORD.len());
            break;
        }
        if p > 0 && hay[p - 1] == b'?' && hay.get(p + 1) == Some(&b'?') {
            best = Some(p + 2);
            break;
        }
        from = p + 1;
    }
    let upper_hex = |b: u8| b.is_ascii_digit() || (b'A'..=b'F').contains(&b);
    let mut from = 0;
    while let Some(k) = memchr::memchr(b'=', &hay[from..]) {
        let p = from + k;
        if best.is_some_and(|b| b <= p) {
            break;
        }
        if let Some(w) = hay.get(p..p + 6) {
            if upper_hex(w[1])
                && upper_hex(w[2])
                && w[3] == b'='
                && upper_hex(w[4])
                && upper_hex(w[5])
            {
                best = Some(p);
                break;
            }
        }
        from = p + 1;
    }
    best
}

/// Base64 alphabet value of a byte (standard and URL-safe), or a class.
const B64_PAD: u8 = 64;
const B64_BREAK: u8 = 65;
const B64_OTHER: u8 = 66;

const fn b64_table() -> [u8; 256] {
    let mut t = [B64_OTHER; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'-' as usize] = 62;
    t[b'/' as usize] = 63;
    t[b'_' as usize] = 63;
    t[b'=' as usize] = B64_PAD;
    t[b'\r' as usize] = B64_BREAK;
    t[b'\n' as usize] = B64_BREAK;
    t
}

static B64: [u8; 256] = b64_table();

/// Runs of base64 characters in the normalised stream.
///
/// The hot loop only finds run boundaries; a run is looked at when it ends or reaches
/// [`JUDGE_CHARS`] characters: shorter than [`MIN_RUN`], single-case (words, hex) or decoding to
/// binary, it is dropped; otherwise its decoded bytes go to a child from its first character on.
#[derive(Default)]
struct Base64Runs {
    /// Normalised offset of the current run's first character (`None`: not in a run).
    run_start: Option<u64>,
    /// Characters in the run (line breaks excluded) and in its current line.
    run_len: usize,
    line_len: usize,
    /// A line break ended the last line; the run goes on if a character follows.
    at_break: bool,
    /// Padding characters seen (the run ends after them).
    pad: u8,
    /// The first characters of a run not yet judged (at most [`JUDGE_CHARS`]).
    chars: Vec<u8>,
    /// The run was judged and is decoded into `child`.
    child: Option<Child>,
    /// The run was judged not worth decoding.
    rejected: bool,
    /// Times a rejected run started over after a `/` (a URL path before the payload).
    restarts: u8,
    /// Partial quantum of a decoded run.
    quantum: u32,
    qlen: u8,
    decoded: Vec<u8>,
}

/// Restarts after a `/` per rejected run.
const MAX_RESTARTS: u8 = 4;

/// A run is judged on this many characters (48 decoded bytes).
const JUDGE_CHARS: usize = JUDGE_BYTES / 3 * 4;

impl Base64Runs {
    fn hold(&self) -> u64 {
        match (&self.child, self.run_start) {
            (Some(c), _) => c.hold(),
            (None, Some(s)) if !self.rejected => s,
            _ => u64::MAX,
        }
    }

    fn push(
        &mut self,
        data: &[u8],
        start: u64,
        ctx: &ViewCtx<'_>,
        out: &mut Gathered,
    ) -> Result<(), ScanError> {
        let n = data.len();
        let mut i = 0;
        while i < n {
            if self.run_start.is_none() {
                // Runs too short to open end inside the chunk: skip them all at once.
                i += next_long_run(&data[i..]);
                if i == n {
                    break;
                }
                // A run worth decoding has an upper-case letter: skip to the next one and back
                // to where its run begins. Without one, only a run that reaches the end of the
                // chunk may still become one (it goes on in the next chunk).
                let from = match next_upper(&data[i..]) {
                    Some(u) => i + u,
                    None => n,
                };
                let mut s = from;
                while s > i && B64[data[s - 1] as usize] < 64 {
                    s -= 1;
                }
                if s == n {
                    break;
                }
                // A run that ends inside this chunk short of MIN_RUN characters is nothing
                // (unless a space may go on as its `+`): skip it without touching the state.
                let mut e = from;
                while e < n && B64[data[e] as usize] < 64 {
                    e += 1;
                }
                if e < n
                    && e - s < MIN_RUN
                    && !(ctx.plus_as_space && data[e] == b' ' && e - s >= LONG_RUN)
                {
                    i = e + 1;
                    continue;
                }
                i = s;
                self.run_start = Some(start + i as u64);
            }
            if self.pad == 0 {
                let from = i;
                while i < n && B64[data[i] as usize] < 64 {
                    i += 1;
                }
                if i > from {
                    if self.at_break {
                        self.at_break = false;
                        self.line_len = 0;
                        if let Some(c) = &mut self.child {
                            let at = c.scanner.input_len() + self.decoded.len() as u64;
                            c.map.anchor(at, start + from as u64);
                        }
                    }
                    self.chars_in(&data[from..i], start + from as u64, ctx, out)?;
                }
                if i == n {
                    break;
                }
            }
            // `data[i]` ends the characters: padding, a line break or the end of the run.
            let v = B64[data[i] as usize];
            if data[i] == b' ' && ctx.plus_as_space && self.plus_may_continue() {
                // Where `+` reads as a space, a space inside a run that already looks like
                // base64 (eight characters or more, both cases) is its `+`.
                self.chars_in(b"+", start + i as u64, ctx, out)?;
                i += 1;
                continue;
            }
            if v == B64_PAD && self.pad < 2 && !self.at_break && self.run_len > 0 {
                self.pad += 1;
                i += 1;
                continue;
            }
            if v == B64_BREAK
                && self.pad == 0
                && (self.at_break || (self.line_len >= 16 && self.line_len.is_multiple_of(4)))
            {
                if !self.at_break {
                    self.judge_at_break(ctx, out)?;
                }
                self.at_break = true;
                i += 1;
                continue;
            }
            self.end_run(ctx, out)?;
            if v >= 64 {
                i += 1; // not a character: it cannot begin the next run
            }
        }
        self.flush(ctx, out)
    }

    /// Whether a space may stand for a `+` of the current run.
    fn plus_may_continue(&self) -> bool {
        if self.pad != 0 || self.at_break || self.run_len < 8 || self.rejected {
            return false;
        }
        self.child.is_some()
            || (self.chars.iter().any(u8::is_ascii_uppercase)
                && self.chars.iter().any(u8::is_ascii_lowercase))
    }

    /// Takes in characters of the current run, the first at normalised offset `at`.
    fn chars_in(
        &mut self,
        mut s: &[u8],
        mut at: u64,
        ctx: &ViewCtx<'_>,
        out: &mut Gathered,
    ) -> Result<(), ScanError> {
        self.run_len += s.len();
        self.line_len += s.len();
        loop {
            if self.child.is_some() {
                self.decode(s);
                return Ok(());
            }
            if self.rejected {
                // A rejected run may still end in a payload after a `/` (a URL path):
                // start over after the last one (a few times per run).
                if self.restarts >= MAX_RESTARTS {
                    return Ok(());
                }
                let Some(p) = memchr::memrchr(b'/', s) else {
                    return Ok(());
                };
                self.restart(at + p as u64 + 1);
                s = &s[p + 1..];
                at += p as u64 + 1;
                self.run_len = s.len();
            }
            let take = (JUDGE_CHARS - self.chars.len()).min(s.len());
            self.chars.extend_from_slice(&s[..take]);
            s = &s[take..];
            at += take as u64;
            if self.chars.len() < JUDGE_CHARS {
                return Ok(());
            }
            self.judge(ctx, out)?;
            if s.is_empty() {
                return Ok(());
            }
        }
    }

    /// At the end of a run's line: a run whose characters so far are worth decoding is judged
    /// now, on them alone. What follows the break may be no part of it (a MIME boundary,
    /// `--XyZb0undary--`, reads as URL-safe base64) and would otherwise be judged with it:
    /// enough undecodable characters after a short encoded value turned the whole run into
    /// "binary" and the value went unscanned. A line that is not worth it on its own waits
    /// for more, as before.
    fn judge_at_break(&mut self, ctx: &ViewCtx<'_>, out: &mut Gathered) -> Result<(), ScanError> {
        if self.child.is_some() || self.rejected || self.chars.len() < MIN_RUN {
            return Ok(());
        }
        // Only at the line's own first character: on a line this short another alignment
        // can look like text by chance, and would misread every line after it.
        if matches!(aligned_start(&self.chars, &mut Vec::new()), Some((0, ..))) {
            self.judge(ctx, out)?;
        }
        Ok(())
    }

    /// Starts the run over at normalised offset `at` (after a `/`).
    fn restart(&mut self, at: u64) {
        self.run_start = Some(at);
        self.restarts += 1;
        self.rejected = false;
        self.chars.clear();
        self.decoded.clear();
        self.quantum = 0;
        self.qlen = 0;
    }

    fn decode(&mut self, s: &[u8]) {
        for &b in s {
            self.quantum = self.quantum << 6 | u32::from(B64[b as usize]);
            self.qlen += 1;
            if self.qlen == 4 {
                let q = self.quantum;
                self.decoded
                    .extend_from_slice(&[(q >> 16) as u8, (q >> 8) as u8, q as u8]);
                self.quantum = 0;
                self.qlen = 0;
            }
        }
    }

    /// Feeds what was decoded so far to the open child.
    fn flush(&mut self, ctx: &ViewCtx<'_>, out: &mut Gathered) -> Result<(), ScanError> {
        if self.decoded.is_empty() {
            return Ok(());
        }
        if let Some(c) = &mut self.child {
            let state = c.feed(&self.decoded, ctx.budget)?;
            out.take_from(c, true, None);
            if !out.apply(state) {
                self.child = None;
                self.rejected = true;
            }
        }
        self.decoded.clear();
        Ok(())
    }

    /// Decides whether the run is worth decoding, from its first characters, at each of the
    /// four alignments (a prefix of one to three base64 characters, `p/` or `id-`, shifts
    /// every quantum). Worth it: a child from the aligned start, `decoded` and the partial
    /// quantum set from there.
    fn judge(&mut self, ctx: &ViewCtx<'_>, out: &mut Gathered) -> Result<(), ScanError> {
        let Some(run_start) = self.run_start else {
            return Ok(());
        };
        let chars = std::mem::take(&mut self.chars);
        let aligned = aligned_start(&chars, &mut self.decoded);
        self.chars = chars;
        self.chars.clear();
        let Some((k, quantum, qlen)) = aligned else {
            self.rejected = true;
            self.decoded.clear();
            self.quantum = 0;
            self.qlen = 0;
            return Ok(());
        };
        if ctx.depth >= MAX_DEPTH {
            out.failed.get_or_insert(Uninspectable::NestingTooDeep);
            self.rejected = true;
            self.decoded.clear();
            return Ok(());
        }
        self.quantum = quantum;
        self.qlen = qlen;
        self.child = Some(Child::new(
            ctx.engine,
            Decoding::Identity,
            false,
            ctx,
            Map::new(run_start + k as u64, 4, 3),
        )?);
        Ok(())
    }

    /// Feeds the last partial quantum (2 characters are one byte, 3 are two) and ends the
    /// child.
    fn finish_child(&mut self, ctx: &ViewCtx<'_>, out: &mut Gathered) -> Result<(), ScanError> {
        let q = self.quantum;
        match self.qlen {
            2 => self.decoded.push((q >> 4) as u8),
            3 => self
                .decoded
                .extend_from_slice(&[(q >> 10) as u8, (q >> 2) as u8]),
            _ => {}
        }
        self.quantum = 0;
        self.qlen = 0;
        self.flush(ctx, out)?;
        if let Some(mut c) = self.child.take() {
            let state = c.finish(ctx.budget)?;
            out.take_from(&mut c, true, None);
            out.apply(state);
        }
        Ok(())
    }

    /// Ends the current run (a byte that is not base64, or the end of the stream). A short
    /// run not worth decoding whole is tried segment by segment between its `/`s (a URL path
    /// whose last segment is the payload).
    fn end_run(&mut self, ctx: &ViewCtx<'_>, out: &mut Gathered) -> Result<(), ScanError> {
        let Some(run_start) = self.run_start else {
            return Ok(());
        };
        if !self.rejected && self.child.is_none() {
            if self.run_len < MIN_RUN {
                self.rejected = true;
            } else {
                // Segments between `/`s are tried only when one is long enough to be a run.
                let segments = self.chars.contains(&b'/')
                    && self.chars.split(|&c| c == b'/').any(|s| s.len() >= MIN_RUN);
                let whole = segments.then(|| self.chars.clone());
                self.judge(ctx, out)?;
                if let (true, Some(whole)) = (self.rejected, whole) {
                    let mut off = 0u64;
                    for seg in whole.split(|&c| c == b'/') {
                        if seg.len() >= MIN_RUN {
                            self.rejected = false;
                            self.run_start = Some(run_start + off);
                            self.chars.clear();
                            self.chars.extend_from_slice(seg);
                            self.judge(ctx, out)?;
                            self.finish_child(ctx, out)?;
                        }
                        off += seg.len() as u64 + 1;
                    }
                }
            }
        }
        if self.child.is_some() {
            self.finish_child(ctx, out)?;
        }
        self.run_start = None;
        self.run_len = 0;
        self.line_len = 0;
        self.at_break = false;
        self.pad = 0;
        self.chars.clear();
        self.rejected = false;
        self.restarts = 0;
        self.quantum = 0;
        self.qlen = 0;
        self.decoded.clear();
        Ok(())
    }
}

/// Decodes `chars` (base64 or base64url characters) into `out`, whole quanta only, and
/// returns the partial quantum left (its bits and how many characters it holds).
fn decode_into(chars: &[u8], out: &mut Vec<u8>) -> (u32, u8) {
    let (mut q, mut n) = (0u32, 0u8);
    for &b in chars {
        q = q << 6 | u32::from(B64[b as usize]);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(q >> 16) as u8, (q >> 8) as u8, q as u8]);
            q = 0;
            n = 0;
        }
    }
    (q, n)
}

/// The alignment (characters to skip, 0 to 3) at which the run's first characters decode to
/// something worth scanning, with `decoded` set and the partial quantum returned; `None` if
/// none does (or the run has too few characters, or only one case).
fn aligned_start(chars: &[u8], decoded: &mut Vec<u8>) -> Option<(usize, u32, u8)> {
    if chars.len() < MIN_RUN
        || !chars.iter().any(u8::is_ascii_uppercase)
        || !chars.iter().any(u8::is_ascii_lowercase)
    {
        return None;
    }
    decoded.clear();
    for k in 0..4 {
        if chars.len() - k < MIN_RUN {
            break;
        }
        if worth_decoding_chars(&chars[k..]) {
            let (q, n) = decode_into(&chars[k..], decoded);
            return Some((k, q, n));
        }
    }
    None
}

/// Whether what `chars` (at least [`MIN_RUN`], at most [`JUDGE_CHARS`] base64 characters)
/// decode to is worth scanning: it starts with a compression or UTF-16 signature, or
/// [`TEXT_SHARE`] percent of it is text. Judged quantum by quantum without building it: most
/// runs that are no payload (identifiers, words of both cases) fail on their first bytes.
fn worth_decoding_chars(chars: &[u8]) -> bool {
    let quanta = chars.len() / 4;
    let n = quanta * 3;
    debug_assert!(quanta >= 3 && n <= JUDGE_BYTES);
    let mut d = [0u8; JUDGE_BYTES];
    let decode = |q: usize, d: &mut [u8; JUDGE_BYTES]| {
        let c = &chars[4 * q..4 * q + 4];
        let v = c
            .iter()
            .fold(0u32, |v, &b| v << 6 | u32::from(B64[b as usize]));
        d[3 * q..3 * q + 3].copy_from_slice(&[(v >> 16) as u8, (v >> 8) as u8, v as u8]);
    };
    // The signatures need the first 8 bytes: three quanta.
    for q in 0..3 {
        decode(q, &mut d);
    }
    if d.starts_with(&[0x1f, 0x8b])
        || matches!(signature(&d[..9]), Signature::Zlib | Signature::Utf16(_))
    {
        return true;
    }
    // Text in at least TEXT_SHARE percent of the n bytes: at most this many others.
    let others_allowed = n - (n * TEXT_SHARE).div_ceil(100);
    let text = |b: u8| (0x20..0x7f).contains(&b) || matches!(b, b'\t' | b'\n' | b'\r' | 0);
    let mut others = 0;
    for q in 0..quanta {
        if q >= 3 {
            decode(q, &mut d);
        }
        others += d[3 * q..3 * q + 3].iter().filter(|&&b| !text(b)).count();
        if others > others_allowed {
            return false;
        }
    }
    true
}

/// Index of the first `q` or `Q` followed by `u`, `U` or `?`: the only places where
/// [`qp_start`]'s word or encoded word can begin (text holds many other `q`s: `"qty"`).
/// 32 bytes per compare with AVX2.
fn next_q_start(s: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        #[allow(unsafe_code)]
        return unsafe { next_q_start_avx2(s) };
    }
    next_q_start_scalar(s, 0)
}

/// Whether `s[p..]` starts with a `q` that [`next_q_start`] looks for.
fn is_q_start(s: &[u8], p: usize) -> bool {
    s[p] | 0x20 == b'q' && s.get(p + 1).is_some_and(|&n| n | 0x20 == b'u' || n == b'?')
}

/// [`next_q_start`] from `at` on, on any CPU.
fn next_q_start_scalar(s: &[u8], mut at: usize) -> Option<usize> {
    while let Some(k) = memchr::memchr2(b'q', b'Q', &s[at..]) {
        let p = at + k;
        if is_q_start(s, p) {
            return Some(p);
        }
        at = p + 1;
    }
    None
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
fn next_q_start_avx2(s: &[u8]) -> Option<usize> {
    use std::arch::x86_64::{
        __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8,
        _mm256_or_si256, _mm256_set1_epi8,
    };
    let fold = _mm256_set1_epi8(0x20);
    let q = _mm256_set1_epi8(b'q' as i8);
    let u = _mm256_set1_epi8(b'u' as i8);
    let question = _mm256_set1_epi8(b'?' as i8);
    let mut at = 0;
    // Each lane looks at its byte and the next one: 33 bytes per step.
    while at + 33 <= s.len() {
        // SAFETY: `at + 33 <= s.len()`, so both unaligned 32-byte loads (at `at` and `at + 1`)
        // stay inside `s`.
        let (a, b) = unsafe {
            (
                _mm256_loadu_si256(s.as_ptr().add(at).cast::<__m256i>()),
                _mm256_loadu_si256(s.as_ptr().add(at + 1).cast::<__m256i>()),
            )
        };
        let is_q = _mm256_cmpeq_epi8(_mm256_or_si256(a, fold), q);
        let next = _mm256_or_si256(
            _mm256_cmpeq_epi8(_mm256_or_si256(b, fold), u),
            _mm256_cmpeq_epi8(b, question),
        );
        let m = _mm256_movemask_epi8(_mm256_and_si256(is_q, next)) as u32;
        if m != 0 {
            return Some(at + m.trailing_zeros() as usize);
        }
        at += 32;
    }
    next_q_start_scalar(s, at)
}

/// Fewest characters of a run that [`Base64Runs::push`] may open when it ends inside a chunk
/// (a space after eight or more may be its `+`; otherwise [`MIN_RUN`]).
const LONG_RUN: usize = 8;
const _: () = assert!(MIN_RUN >= LONG_RUN);

/// Where the first run of base64 characters that [`Base64Runs::push`] could open begins in
/// `s`: the first (maximal) run of [`LONG_RUN`] characters or more, or the one that reaches the
/// end of `s`; `s.len()` when there is none. The search for a run to open skips shorter runs
/// that end inside `s` without a change of state, so it may start there: on JSON, where most
/// upper-case letters sit in short words, that is most of the search.
fn next_long_run(s: &[u8]) -> usize {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        #[allow(unsafe_code)]
        return unsafe { next_long_run_avx2(s) };
    }
    next_long_run_from(s, 0, None)
}

/// [`next_long_run`] byte by byte from `at`, where a run that began at `open` may go on.
fn next_long_run_from(s: &[u8], mut at: usize, open: Option<usize>) -> usize {
    let is_char = |b: u8| B64[b as usize] < 64;
    let mut start = open;
    while at < s.len() {
        if is_char(s[at]) {
            let st = *start.get_or_insert(at);
            while at < s.len() && is_char(s[at]) {
                at += 1;
            }
            if at - st >= LONG_RUN || at == s.len() {
                return st;
            }
        }
        // A run (carried in or just read) ended short before `s[at]`.
        start = None;
        at += 1;
    }
    match start {
        Some(st) => st,
        None => s.len(),
    }
}

/// [`next_long_run`] 32 bytes at a time: a mask of the base64 characters, runs of eight set
/// bits found with three shifts, a run across windows carried to the next.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
fn next_long_run_avx2(s: &[u8]) -> usize {
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi8, _mm256_cmpeq_epi8, _mm256_cmpgt_epi8, _mm256_loadu_si256,
        _mm256_movemask_epi8, _mm256_or_si256, _mm256_set1_epi8,
    };
    const UPPER: (i8, i8) = crate::tokens::signed_range(b'A', 26);
    const LOWER: (i8, i8) = crate::tokens::signed_range(b'a', 26);
    const DIGIT: (i8, i8) = crate::tokens::signed_range(b'0', 10);
    let range = |v: __m256i, (bias, limit): (i8, i8)| {
        _mm256_cmpgt_epi8(
            _mm256_set1_epi8(limit),
            _mm256_add_epi8(v, _mm256_set1_epi8(bias)),
        )
    };
    let eq = |v: __m256i, b: u8| _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b as i8));
    // Where the run that reaches the current window began, if one does.
    let mut open: Option<usize> = None;
    let mut at = 0;
    while at + 32 <= s.len() {
        // SAFETY: `at + 32 <= s.len()`, so the unaligned 32-byte load stays inside `s`.
        let v = unsafe { _mm256_loadu_si256(s.as_ptr().add(at).cast::<__m256i>()) };
        let letters = _mm256_or_si256(range(v, UPPER), range(v, LOWER));
        let signs = _mm256_or_si256(
            _mm256_or_si256(eq(v, b'+'), eq(v, b'-')),
            _mm256_or_si256(eq(v, b'/'), eq(v, b'_')),
        );
        let chars = _mm256_or_si256(_mm256_or_si256(letters, range(v, DIGIT)), signs);
        let m = _mm256_movemask_epi8(chars) as u32;
        if let Some(st) = open {
            let t = m.trailing_ones() as usize;
            if at + t - st >= LONG_RUN {
                return st;
            }
            if t == 32 {
                at += 32;
                continue;
            }
            open = None;
        }
        // Bit j: characters at j..j+8 (a run carried in is shorter than that, see above).
        let mut y = m & (m >> 1);
        y &= y >> 2;
        y &= y >> 4;
        if y != 0 {
            return at + y.trailing_zeros() as usize;
        }
        let l = m.leading_ones() as usize;
        if l > 0 {
            open = Some(at + 32 - l);
        }
        at += 32;
    }
    next_long_run_from(s, at, open)
}

/// Index of the first ASCII upper-case letter: 32 bytes per compare with AVX2, else eight
/// bytes at a time.
fn next_upper(s: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        #[allow(unsafe_code)]
        return unsafe { next_upper_avx2(s) };
    }
    next_upper_swar(s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
fn next_upper_avx2(s: &[u8]) -> Option<usize> {
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi8, _mm256_cmpgt_epi8, _mm256_loadu_si256, _mm256_movemask_epi8,
        _mm256_set1_epi8,
    };
    const UPPER: (i8, i8) = crate::tokens::signed_range(b'A', 26);
    let bias = _mm256_set1_epi8(UPPER.0);
    let limit = _mm256_set1_epi8(UPPER.1);
    let mut at = 0;
    while at + 32 <= s.len() {
        // SAFETY: `at + 32 <= s.len()`, so the unaligned 32-byte load stays inside `s`.
        let v = unsafe { _mm256_loadu_si256(s.as_ptr().add(at).cast::<__m256i>()) };
        let m = _mm256_movemask_epi8(_mm256_cmpgt_epi8(limit, _mm256_add_epi8(v, bias))) as u32;
        if m != 0 {
            return Some(at + m.trailing_zeros() as usize);
        }
        at += 32;
    }
    s[at..]
        .iter()
        .position(u8::is_ascii_uppercase)
        .map(|p| at + p)
}

/// [`next_upper`] eight bytes at a time, on any CPU.
fn next_upper_swar(s: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut chunks = s.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        // Each lane's low seven bits (so no carry crosses lanes): >= 'A' and not >= '[', and
        // the byte itself ASCII.
        let low = w & !HIGH;
        let ge_a = low + ONES * (0x80 - u64::from(b'A'));
        let ge_z1 = low + ONES * (0x80 - u64::from(b'['));
        if ge_a & !ge_z1 & !w & HIGH != 0 {
            if let Some(p) = c.iter().position(u8::is_ascii_uppercase) {
                return Some(at + p);
            }
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(u8::is_ascii_uppercase)
        .map(|p| at + p)
}

/// Whether a decoded start is text (or a compression/UTF-16 signature) rather than binary: what
/// [`worth_decoding_chars`] answers from the characters.
#[cfg(test)]
fn worth_decoding(d: &[u8]) -> bool {
    if d.starts_with(&[0x1f, 0x8b]) || matches!(signature(d), Signature::Zlib | Signature::Utf16(_))
    {
        return true;
    }
    let n = d.len().min(JUDGE_BYTES);
    if n == 0 {
        return false;
    }
    let text = d[..n]
        .iter()
        .filter(|&&b| (0x20..0x7f).contains(&b) || matches!(b, b'\t' | b'\n' | b'\r' | 0))
        .count();
    text * 100 >= n * TEXT_SHARE
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`next_long_run`] as its definition reads.
    fn long_run_plainly(s: &[u8]) -> usize {
        let is_char = |b: &u8| B64[*b as usize] < 64;
        let mut i = 0;
        while i < s.len() {
            if !is_char(&s[i]) {
                i += 1;
                continue;
            }
            let len = s[i..].iter().take_while(|b| is_char(b)).count();
            if len >= LONG_RUN || i + len == s.len() {
                return i;
            }
            i += len;
        }
        s.len()
    }

    #[test]
    fn the_long_run_search_finds_the_first_run_that_may_open() {
        let mut r = crate::testing::Rng::new(5);
        // Characters and the bytes that end runs (padding, breaks, quotes, spaces, non-ASCII),
        // in runs of every length around eight and across 32-byte windows.
        let pool: &[u8] = b"Aa0+-/_Zz9\"=\r\n :,.{\xc3\x80@[`{/:\x7f\xff\x90";
        for _ in 0..20_000 {
            let len = r.below(200) as usize;
            let chars = 1 + r.below(pool.len() as u64 - 1);
            let mut s = Vec::with_capacity(len);
            while s.len() < len {
                let run = r.below(12) as usize;
                for _ in 0..run {
                    s.push(pool[r.below(7) as usize]);
                }
                s.push(pool[7 + r.below(chars.max(1)) as usize % (pool.len() - 7)]);
            }
            s.truncate(len);
            assert_eq!(
                next_long_run(&s),
                long_run_plainly(&s),
                "{:?}",
                String::from_utf8_lossy(&s)
            );
            assert_eq!(next_long_run_from(&s, 0, None), long_run_plainly(&s));
        }
        assert_eq!(next_long_run(b""), 0);
        assert_eq!(
            next_long_run(b"ab cd ef"),
            6,
            "the last run reaches the end"
        );
        let json = b"SKU-1\",\"qty\":3,\"sku\":\"SKU-2\"";
        assert_eq!(next_long_run(json), json.len(), "no run to open");
        let mut s = b".".repeat(28);
        s.extend_from_slice(b" abcdefg hijklmnop ");
        assert_eq!(
            next_long_run(&s),
            37,
            "a run of 7 across the window is too short"
        );
    }

    #[test]
    fn judging_characters_agrees_with_judging_their_bytes() {
        let mut r = crate::testing::Rng::new(11);
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_";
        let mut worth = 0;
        for i in 0..20_000u64 {
            let len = MIN_RUN + r.below((JUDGE_CHARS - MIN_RUN + 1) as u64) as usize;
            // Runs of random characters, and base64 of text, UTF-16 and compressed bytes.
            let chars: Vec<u8> = match i % 4 {
                0 => (0..len)
                    .map(|_| alphabet[r.below(alphabet.len() as u64) as usize])
                    .collect(),
                k => {
                    use base64::Engine as _;
                    let mut raw: Vec<u8> = (0..48)
                        .map(|_| match k {
                            1 => b' ' + r.below(95) as u8,
                            2 => [b'a', 0, 0xc3, 0x1f][r.below(4) as usize],
                            _ => r.below(256) as u8,
                        })
                        .collect();
                    if k == 3 && i % 8 == 3 {
                        raw[..2].copy_from_slice(&[0x78, 0x9c]);
                    }
                    let e = base64::engine::general_purpose::STANDARD.encode(&raw);
                    e.as_bytes()[..len.min(e.len())].to_vec()
                }
            };
            let mut d = Vec::new();
            decode_into(&chars, &mut d);
            let want = worth_decoding(&d);
            worth += usize::from(want);
            assert_eq!(worth_decoding_chars(&chars), want, "{i}");
        }
        assert!(
            worth > 3000 && worth < 17_000,
            "both answers are tried: {worth}"
        );
    }

    #[test]
    fn next_q_start_finds_every_q_that_can_begin_quoted_printable() {
        let mut r = crate::testing::Rng::new(0x5eed_9e37);
        let alphabet = b"qQuU?x-";
        for len in [0usize, 1, 2, 31, 32, 33, 34, 64, 65, 100, 300] {
            for _ in 0..50 {
                let s: Vec<u8> = (0..len)
                    .map(|_| alphabet[r.below(alphabet.len() as u64) as usize])
                    .collect();
                let want = (0..s.len()).find(|&p| is_q_start(&s, p));
                assert_eq!(next_q_start(&s), want, "{:?}", String::from_utf8_lossy(&s));
                assert_eq!(next_q_start_scalar(&s, 0), want);
            }
        }
    }

    #[test]
    fn next_upper_is_exact_on_every_byte() {
        for pre in 0..20usize {
            for b in 0..=255u8 {
                let mut v = vec![0xffu8; pre];
                v.push(b);
                v.extend_from_slice(b"zz\xc3\xa9aZ");
                let want = v.iter().position(u8::is_ascii_uppercase);
                assert_eq!(next_upper(&v), want, "{pre} {b}");
                assert_eq!(next_upper_swar(&v), want, "{pre} {b}");
                let long: Vec<u8> = std::iter::repeat_n(b'a', 40)
                    .chain(v.iter().copied())
                    .collect();
                assert_eq!(next_upper(&long), want.map(|p| p + 40), "{pre} {b}");
            }
        }
    }
}
