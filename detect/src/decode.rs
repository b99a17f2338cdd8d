//! Transfer decoding before scanning: gzip, deflate (zlib or raw) and gRPC message framing,
//! each bounded in output size and expansion ratio.
//!
//! A decoder turns the input (wire bytes) into content bytes and remembers, at a bounded number
//! of checkpoints, how much input produced how much content, so that the scanner's hold-back
//! (which is in content coordinates) can be turned back into an input offset.

use std::collections::VecDeque;
use std::io::Write;

use flate2::write::{DeflateDecoder, GzDecoder, ZlibDecoder};

use crate::types::{Compression, Decoding, Limits, Uninspectable};

/// Why decoding stopped. Value-free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    Corrupt,
    Truncated,
    Ratio,
    TooLarge,
    Grpc,
    Unsupported,
}

/// Compressed input is fed to the inflater at most this many bytes at a time, so one step
/// produces at most about 1 KiB × 1032 (deflate's maximum ratio) ≈ 1 MiB before limits are checked.
const INFLATE_STEP: usize = 1024;
/// Checkpoints kept for mapping content offsets back to input offsets. Older ones are merged.
const MAX_CHECKPOINTS: usize = 64;

/// Members a gzip stream may hold beyond one per [`MEMBER_INPUT`] bytes of its input.
const FREE_MEMBERS: u64 = 64;
/// Input bytes per gzip member, on average, past [`FREE_MEMBERS`]. Encoders write one member
/// per file, batch or block (BGZF: 64 KiB); a stream of tiny or empty members costs a decoder
/// set-up each (a million took seconds) with next to nothing to scan, and is refused.
const MEMBER_INPUT: u64 = 512;

/// The members of a gzip stream ([`Inflater::header_fields`]).
struct GzMembers {
    /// No header of the current member was read out yet.
    fresh: bool,
    /// Members begun, and input fed.
    count: u64,
    input: u64,
}

impl Default for GzMembers {
    fn default() -> Self {
        GzMembers {
            fresh: true,
            count: 1,
            input: 0,
        }
    }
}

enum Inflater {
    /// One member at a time: a member's end starts the next ([`Inflater::write`]).
    Gzip(GzDecoder<Vec<u8>>, GzMembers),
    Zlib(ZlibDecoder<Vec<u8>>),
    Raw(DeflateDecoder<Vec<u8>>),
}

impl Inflater {
    fn new(c: Compression, first: u8) -> Inflater {
        match c {
            Compression::Gzip => Inflater::Gzip(GzDecoder::new(Vec::new()), GzMembers::default()),
            // A zlib stream starts with CMF 0x78 for the usual window sizes; anything else is
            // treated as raw deflate, which is what some servers send for "deflate".
            Compression::Deflate if first & 0x0f == 8 && first >> 4 <= 7 => {
                Inflater::Zlib(ZlibDecoder::new(Vec::new()))
            }
            Compression::Deflate => Inflater::Raw(DeflateDecoder::new(Vec::new())),
        }
    }

    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Inflater::Gzip(d, m) => match d.write(buf) {
                // The member ended: what follows is the next one (RFC 1952 allows any number).
                Ok(0) if !buf.is_empty() => {
                    d.try_finish()?;
                    // Its output so far goes on in the next member's decoder.
                    let out = std::mem::take(d.get_mut());
                    *d = GzDecoder::new(out);
                    m.count += 1;
                    m.fresh = true;
                    if m.count > FREE_MEMBERS && (m.count - FREE_MEMBERS) * MEMBER_INPUT > m.input {
                        return Err(std::io::Error::other("too many gzip members"));
                    }
                    d.write(buf)
                }
                r => r,
            },
            Inflater::Zlib(d) => d.write(buf),
            Inflater::Raw(d) => d.write(buf),
        }
    }

    fn out(&mut self) -> &mut Vec<u8> {
        match self {
            Inflater::Gzip(d, _) => d.get_mut(),
            Inflater::Zlib(d) => d.get_mut(),
            Inflater::Raw(d) => d.get_mut(),
        }
    }

    fn try_finish(&mut self) -> std::io::Result<()> {
        match self {
            Inflater::Gzip(d, _) => d.try_finish(),
            Inflater::Zlib(d) => d.try_finish(),
            Inflater::Raw(d) => d.try_finish(),
        }
    }

    /// Feeds all of `input`, appending what it inflates to `out`, checking `check` after every step.
    fn feed(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        mut check: impl FnMut(usize, usize) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        while !input.is_empty() {
            let step = input.len().min(INFLATE_STEP);
            let n = match self.write(&input[..step]) {
                Ok(n) if n > 0 => n,
                // The deflate stream ended (trailing bytes after it are garbage) or is corrupt.
                // What it inflated up to there is still content: flate2 keeps the last step's
                // output buffered until the next write, so take it out first.
                _ => {
                    let _ = self.try_finish();
                    let produced = self.out();
                    out.extend_from_slice(produced);
                    produced.clear();
                    return Err(DecodeError::Corrupt);
                }
            };
            input = &input[n..];
            if let Inflater::Gzip(_, m) = self {
                m.input += n as u64;
            }
            // What the inflater hands over after a write is what the write before decoded (a
            // member's last bytes included): it goes ahead of a header read by this write.
            let produced = self.out();
            out.extend_from_slice(produced);
            let len = produced.len();
            produced.clear();
            let fields = self.header_fields(out);
            check(n, fields + len)?;
        }
        // flate2 keeps a write's output until the next write: without a flush the last bytes
        // fed would count as having produced nothing, and the hold-back would release them
        // before their content is scanned (a small body in one piece, all of it). The flush
        // emits everything the input so far decodes to (bounded by the inflater's window).
        let flushed = self.flush();
        let produced = self.out();
        out.extend_from_slice(produced);
        let len = produced.len();
        produced.clear();
        if flushed.is_err() {
            return Err(DecodeError::Corrupt);
        }
        check(0, len)
    }

    /// The text fields of a gzip member's header (file name, comment, extra field), each on a
    /// line, appended to `out` once per member as soon as the header is read: they travel in
    /// the clear with the compressed data, and `gzip` writes the original file name there.
    /// Returns how many bytes were appended.
    fn header_fields(&mut self, out: &mut Vec<u8>) -> usize {
        let Inflater::Gzip(d, f) = self else {
            return 0;
        };
        let Some(h) = d.header() else {
            // A member's header is being read: the next one seen is new.
            f.fresh = true;
            return 0;
        };
        if !f.fresh {
            return 0;
        }
        f.fresh = false;
        let before = out.len();
        for field in [h.filename(), h.comment(), h.extra()].into_iter().flatten() {
            out.extend_from_slice(field);
            out.push(b'\n');
        }
        if out.len() > before {
            // A blank line ends them, as it ends a MIME part's headers: the member's data
            // starts a segment (`views.rs`), where UTF-16 text or a zlib stream is looked for.
            out.extend_from_slice(b"\r\n\r\n");
        }
        out.len() - before
    }

    /// Keeps `from` at the input offset where a gzip member's header being read began (`at`,
    /// the offset of the bytes just fed, unless an earlier one is kept): its text fields are
    /// not out yet. `None` once no header is pending.
    fn track_header(&self, from: &mut Option<u64>, at: u64) {
        if matches!(self, Inflater::Gzip(d, _) if d.header().is_none()) {
            from.get_or_insert(at);
        } else {
            *from = None;
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Inflater::Gzip(d, _) => d.flush(),
            Inflater::Zlib(d) => d.flush(),
            Inflater::Raw(d) => d.flush(),
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        let r = self.try_finish();
        let produced = self.out();
        out.extend_from_slice(produced);
        produced.clear();
        r.map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                DecodeError::Truncated
            } else {
                DecodeError::Truncated.max_with(DecodeError::Corrupt, e)
            }
        })
    }
}

impl DecodeError {
    fn max_with(self, other: DecodeError, e: std::io::Error) -> DecodeError {
        // flate2 reports a stream that simply stops as "unexpected EOF" or as a generic
        // error whose message mentions it; everything else is corruption.
        if e.to_string().contains("end of") || e.to_string().contains("EOF") {
            self
        } else {
            other
        }
    }
}

/// gRPC framing state: 5-byte header (flag + big-endian length), then the payload.
struct GrpcState {
    compression: Option<Compression>,
    unknown_compression: bool,
    header: [u8; 5],
    header_len: usize,
    remaining: u64,
    inflater: Option<Inflater>,
    compressed_msg: bool,
    msg_content: u64,
    msg_input: u64,
}

pub(crate) struct Decoder {
    mode: Mode,
    limits: Limits,
    input_len: u64,
    content_len: u64,
    /// (input offset, content offset) pairs, ascending: input `[0, i)` produced content `[0, c)`.
    checkpoints: VecDeque<(u64, u64)>,
    /// While a gzip member's header is being read: the input offset it began at (or an earlier
    /// one). Its file name, comment and extra field are scanned once they are whole, so
    /// nothing from there on counts as having produced content, and none of it is released.
    header_from: Option<u64>,
}

enum Mode {
    Identity,
    Compressed {
        compression: Compression,
        inflater: Option<Box<Inflater>>,
        done: bool,
    },
    Grpc(Box<GrpcState>),
}

impl Decoder {
    pub(crate) fn new(decoding: Decoding, limits: Limits) -> Decoder {
        let kind = match decoding {
            Decoding::Identity => Mode::Identity,
            Decoding::Gzip => Mode::Compressed {
                compression: Compression::Gzip,
                inflater: None,
                done: false,
            },
            Decoding::Deflate => Mode::Compressed {
                compression: Compression::Deflate,
                inflater: None,
                done: false,
            },
            Decoding::Grpc {
                compression,
                unknown_compression,
            } => Mode::Grpc(Box::new(GrpcState {
                compression,
                unknown_compression,
                header: [0; 5],
                header_len: 0,
                remaining: 0,
                inflater: None,
                compressed_msg: false,
                msg_content: 0,
                msg_input: 0,
            })),
        };
        Decoder {
            mode: kind,
            limits,
            input_len: 0,
            content_len: 0,
            checkpoints: VecDeque::new(),
            header_from: None,
        }
    }

    /// Whether content is the input as it is (no compression, no gRPC framing).
    pub(crate) fn is_identity(&self) -> bool {
        matches!(self.mode, Mode::Identity)
    }

    pub(crate) fn input_len(&self) -> u64 {
        self.input_len
    }

    pub(crate) fn content_len(&self) -> u64 {
        self.content_len
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        let inflater = match &self.mode {
            Mode::Identity => 0,
            // zlib's inflate state with its 32 KiB window, plus one step's output.
            Mode::Compressed { .. } => 48 * 1024,
            Mode::Grpc(_) => 48 * 1024 + std::mem::size_of::<GrpcState>(),
        };
        inflater + self.checkpoints.capacity() * 16
    }

    /// Decodes `input`. Identity input comes back as it is (no copy); otherwise `out` is filled.
    pub(crate) fn push<'a>(
        &mut self,
        input: &'a [u8],
        out: &'a mut Vec<u8>,
    ) -> Result<&'a [u8], DecodeError> {
        out.clear();
        let limits = self.limits;
        match &mut self.mode {
            Mode::Identity => {
                self.input_len += input.len() as u64;
                let allowed = limits.max_content_bytes.saturating_sub(self.content_len);
                if input.len() as u64 > allowed {
                    // Past the limit the stream is uninspectable; what is left is not scanned.
                    self.content_len += allowed;
                    return Err(DecodeError::TooLarge);
                }
                self.content_len += input.len() as u64;
                Ok(input)
            }
            Mode::Compressed {
                compression,
                inflater,
                done,
            } => {
                if input.is_empty() {
                    return Ok(&out[..]);
                }
                if *done {
                    return Err(DecodeError::Corrupt);
                }
                let inf =
                    inflater.get_or_insert_with(|| Box::new(Inflater::new(*compression, input[0])));
                let base_in = self.input_len;
                let base_content = self.content_len;
                let mut fed = 0u64;
                let mut made = 0u64;
                let res = inf.feed(input, out, |n, len| {
                    fed += n as u64;
                    made += len as u64;
                    check_limits(&limits, base_in + fed, base_content + made)?;
                    check_overhead(base_in + fed, base_content + made)
                });
                self.input_len += input.len() as u64;
                self.content_len += out.len() as u64;
                inf.track_header(&mut self.header_from, base_in);
                self.checkpoint(base_in + fed, base_content + made);
                res.map(|_| &out[..])
            }
            Mode::Grpc(g) => {
                let base_in = self.input_len;
                let base_content = self.content_len;
                let mut content = base_content;
                let mut pos = 0usize;
                let mut cps: Vec<(u64, u64)> = Vec::new();
                let mut header_from = self.header_from;
                let mut result = Ok(());
                while pos < input.len() {
                    if g.header_len < 5 {
                        let take = (5 - g.header_len).min(input.len() - pos);
                        g.header[g.header_len..g.header_len + take]
                            .copy_from_slice(&input[pos..pos + take]);
                        g.header_len += take;
                        pos += take;
                        if g.header_len == 5 {
                            let flag = g.header[0];
                            let len = u32::from_be_bytes([
                                g.header[1],
                                g.header[2],
                                g.header[3],
                                g.header[4],
                            ]) as u64;
                            if flag > 1 || len > limits.max_grpc_message {
                                result = Err(DecodeError::Grpc);
                                break;
                            }
                            g.compressed_msg = flag == 1;
                            if g.compressed_msg && g.compression.is_none() {
                                result = Err(if g.unknown_compression {
                                    DecodeError::Unsupported
                                } else {
                                    DecodeError::Grpc
                                });
                                break;
                            }
                            g.remaining = len;
                            g.msg_content = 0;
                            g.msg_input = 0;
                            g.inflater = None;
                            if len == 0 {
                                g.header_len = 0;
                            }
                        }
                        cps.push((base_in + pos as u64, content));
                        continue;
                    }
                    let take = (g.remaining.min((input.len() - pos) as u64)) as usize;
                    let piece = &input[pos..pos + take];
                    pos += take;
                    g.remaining -= take as u64;
                    if g.compressed_msg {
                        let c = g.compression.unwrap_or(Compression::Gzip);
                        let inf = g.inflater.get_or_insert_with(|| Inflater::new(c, piece[0]));
                        let before = out.len();
                        let msg_in = g.msg_input;
                        let msg_content = g.msg_content;
                        let r = inf.feed(piece, out, |_, _| Ok(()));
                        inf.track_header(&mut header_from, base_in + (pos - take) as u64);
                        let made = (out.len() - before) as u64;
                        g.msg_input = msg_in + take as u64;
                        g.msg_content = msg_content + made;
                        content += made;
                        if let Err(e) = r {
                            result = Err(e);
                            break;
                        }
                        if let Err(e) = check_limits(&limits, base_in + pos as u64, content) {
                            result = Err(e);
                            break;
                        }
                        if g.msg_content
                            > limits
                                .max_grpc_message
                                .saturating_mul(limits.max_ratio.max(1))
                        {
                            result = Err(DecodeError::Ratio);
                            break;
                        }
                        if g.remaining == 0 {
                            let before = out.len();
                            let r = inf.finish(out);
                            content += (out.len() - before) as u64;
                            g.inflater = None;
                            header_from = None;
                            if let Err(e) = r {
                                result = Err(e);
                                break;
                            }
                        }
                    } else {
                        out.extend_from_slice(piece);
                        content += take as u64;
                        if content > limits.max_content_bytes {
                            result = Err(DecodeError::TooLarge);
                            break;
                        }
                    }
                    if g.remaining == 0 {
                        g.header_len = 0;
                    }
                    let at = base_in + pos as u64;
                    cps.push((header_from.map_or(at, |h| h.min(at)), content));
                }
                self.input_len += input.len() as u64;
                self.content_len = content;
                self.header_from = header_from;
                for (i, c) in cps {
                    self.checkpoint(i, c);
                }
                result.map(|_| &out[..])
            }
        }
    }

    /// Ends the input: a compressed stream must be complete, a gRPC stream must end on a
    /// message boundary.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        out.clear();
        match &mut self.mode {
            Mode::Identity => Ok(()),
            Mode::Compressed { inflater, done, .. } => {
                *done = true;
                match inflater {
                    // An empty body is a clean empty body.
                    None => Ok(()),
                    Some(inf) => {
                        let r = inf.finish(out);
                        self.content_len += out.len() as u64;
                        r
                    }
                }
            }
            Mode::Grpc(g) => {
                if g.header_len != 0 {
                    Err(DecodeError::Grpc)
                } else {
                    Ok(())
                }
            }
        }
    }

    fn checkpoint(&mut self, input: u64, content: u64) {
        let input = self.header_from.map_or(input, |h| h.min(input));
        if let Some(&(li, lc)) = self.checkpoints.back() {
            if li == input && lc == content {
                return;
            }
        }
        self.checkpoints.push_back((input, content));
        if self.checkpoints.len() > MAX_CHECKPOINTS {
            // Drop the oldest: mapping stays conservative (an earlier input offset).
            self.checkpoints.pop_front();
        }
    }

    /// The largest input offset whose bytes produced only content before `content`.
    pub(crate) fn input_offset_for(&self, content: u64) -> u64 {
        match self.mode {
            Mode::Identity => content.min(self.input_len),
            _ => {
                let mut best = 0;
                for &(i, c) in &self.checkpoints {
                    if c <= content {
                        best = i;
                    } else {
                        break;
                    }
                }
                best
            }
        }
    }

    /// Forgets checkpoints that can no longer matter (content before `content`).
    #[allow(dead_code)]
    pub(crate) fn prune(&mut self, content: u64) {
        while self.checkpoints.len() > 1 && self.checkpoints[1].1 <= content {
            self.checkpoints.pop_front();
        }
    }
}

/// Compressed input a body may spend before it must inflate to at least half its size.
const OVERHEAD_GRACE: u64 = 64 * 1024;

/// A compressed body that inflates to less than half its size is made of member headers and
/// empty blocks, which no encoder writes: gzip and deflate grow data by a few bytes per member
/// and block at most. A million empty gzip members (20 MB) took seconds of a single-threaded
/// sidecar to read, with nothing to scan; past [`OVERHEAD_GRACE`] such a body is refused.
fn check_overhead(input: u64, content: u64) -> Result<(), DecodeError> {
    if input > OVERHEAD_GRACE && content.saturating_mul(2) < input {
        Err(DecodeError::Corrupt)
    } else {
        Ok(())
    }
}

fn check_limits(limits: &Limits, input: u64, content: u64) -> Result<(), DecodeError> {
    if content > limits.max_content_bytes {
        return Err(DecodeError::TooLarge);
    }
    if content > limits.ratio_grace_bytes && content > input.saturating_mul(limits.max_ratio) {
        return Err(DecodeError::Ratio);
    }
    Ok(())
}

impl From<DecodeError> for Uninspectable {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::Corrupt => Uninspectable::CorruptCompression,
            DecodeError::Truncated => Uninspectable::TruncatedCompression,
            DecodeError::Ratio => Uninspectable::CompressionRatio,
            DecodeError::TooLarge => Uninspectable::ContentTooLarge,
            DecodeError::Grpc => Uninspectable::MalformedGrpc,
            DecodeError::Unsupported => Uninspectable::UnsupportedEncoding,
        }
    }
}
