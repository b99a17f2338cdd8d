//! Inspection of one message part (a body, an opaque byte stream, a request head) with the
//! streaming PHI engine, and the hold-back rule.
//!
//! An [`Inspector`] sits between what was received and what may be forwarded. When it *holds
//! back* (a path where PHI is refused), it only releases bytes before the scanner's
//! `releasable()` offset, so no byte of a match can leave before the verdict; once the verdict is
//! PHI or uninspectable it releases nothing more. Elsewhere bytes pass straight through and the
//! scanner only watches. [`InspectBody`] wraps an HTTP body with an inspector. What is done
//! about a verdict is not decided here: the gate of the message decides ([`crate::gate`]).

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, HeaderMap};
use http_body::{Body, Frame, SizeHint};
use phimesh_detect::{Decoding, Engine, Finding, Limits, Scanner, StreamOptions, Uninspectable};

use crate::config::Bounds;
use crate::gate::Enforce;
use crate::policy::{reason, Unreadable, Verdict};

/// Errors a body yields when inspection stops it. Never carries payload bytes.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// PHI or uninspectable content appeared on a refusing path after the message had started:
    /// the stream is reset.
    #[error("stream reset: {0}")]
    Refused(&'static str),
    /// The body being inspected failed.
    #[error("body: {0}")]
    Body(#[source] BoxError),
}

/// Boxed error of bodies and services.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The essence of a media type (`type/subtype`, no parameters), lowercased: media types are
/// compared case-insensitively (RFC 9110 §8.3.1), so `Application/GRPC` is gRPC.
pub fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether `value` has a comma outside a quoted string: a list where one value belongs.
fn has_list_comma(value: &str) -> bool {
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => return true,
            _ => {}
        }
    }
    false
}

/// The single `content-type` of a message, if it has one that everyone reads the same way.
/// Two field lines, a list, or bytes that are not visible ASCII are ambiguous: one recipient
/// may take the first, another the last or the whole.
pub fn content_type(headers: &HeaderMap) -> Result<Option<&str>, Verdict> {
    let mut lines = headers.get_all(header::CONTENT_TYPE).iter();
    let Some(v) = lines.next() else {
        return Ok(None);
    };
    if lines.next().is_some() {
        return Err(Unreadable::Ambiguous.into());
    }
    let v = v.to_str().map_err(|_| Unreadable::Ambiguous)?;
    if has_list_comma(v) {
        return Err(Unreadable::Ambiguous.into());
    }
    Ok(Some(v))
}

/// The comma-separated elements of every line of field `name`, in order, trimmed, empty ones
/// dropped (RFC 9110 §5.3: field lines of a list combine in order). `Err` when a line is not
/// visible ASCII. Also returns how many lines had an element.
fn list_elements(headers: &HeaderMap, name: header::HeaderName) -> Result<(Vec<&str>, usize), ()> {
    let mut out = Vec::new();
    let mut lines = 0;
    for v in headers.get_all(name).iter() {
        let v = v.to_str().map_err(|_| ())?;
        let before = out.len();
        out.extend(v.split(',').map(str::trim).filter(|e| !e.is_empty()));
        if out.len() > before {
            lines += 1;
        }
    }
    Ok((out, lines))
}

/// How a message part's content is to be decoded, from its header fields read as RFC 9110
/// says, or why it cannot be read:
/// - every `content-encoding` line combined in order, `identity` dropped; one gzip or deflate
///   layer is decoded; a layer the scanner does not know is `unsupported_encoding`; more than
///   one layer (which the scanner cannot undo) is `uninspectable` when written as one list and
///   `ambiguous` when spread over lines that disagree;
/// - `transfer-encoding` (HTTP/1.1; hyper has undone a final `chunked`): any other transfer
///   coding is `uninspectable`, `chunked` twice is `malformed`;
/// - gRPC: one `grpc-encoding` line at most (`ambiguous` otherwise);
/// - one `content-type` line at most, not a list ([`content_type`]).
pub fn stream_options(
    headers: &HeaderMap,
    grpc: bool,
    bounds: &Bounds,
) -> Result<StreamOptions, Verdict> {
    let limits = Limits {
        max_content_bytes: bounds.max_inspect_bytes,
        max_ratio: bounds.max_decode_ratio,
        ..Limits::default()
    };
    let unsupported = Verdict::Uninspectable(Uninspectable::UnsupportedEncoding);
    let (te, _) = list_elements(headers, header::TRANSFER_ENCODING)
        .map_err(|_| Verdict::from(Unreadable::Malformed))?;
    let chunked = te
        .iter()
        .filter(|c| c.eq_ignore_ascii_case("chunked"))
        .count();
    if chunked > 1 {
        return Err(Unreadable::Malformed.into());
    }
    if te.len() > chunked {
        return Err(Unreadable::Uninspectable.into());
    }
    let ct = content_type(headers)?;
    let decoding = if grpc {
        let mut lines = headers.get_all("grpc-encoding").iter();
        let enc = match (lines.next(), lines.next()) {
            (None, _) => None,
            (Some(v), None) => Some(v.to_str().map_err(|_| unsupported)?),
            (Some(_), Some(_)) => return Err(Unreadable::Ambiguous.into()),
        };
        Decoding::grpc(enc.filter(|e| !e.trim().is_empty()))
    } else {
        let (codings, lines) =
            list_elements(headers, header::CONTENT_ENCODING).map_err(|_| unsupported)?;
        let layers: Vec<Decoding> = codings
            .iter()
            .filter(|c| !c.eq_ignore_ascii_case("identity"))
            .map(|c| Decoding::from_content_encoding(c).ok_or(unsupported))
            .collect::<Result<_, _>>()?;
        match layers.as_slice() {
            [] => Decoding::Identity,
            [one] => *one,
            _ if lines > 1 => return Err(Unreadable::Ambiguous.into()),
            _ => return Err(Unreadable::Uninspectable.into()),
        }
    };
    let form = ct.is_some_and(|v| media_type(v) == "application/x-www-form-urlencoded");
    Ok(StreamOptions {
        decoding,
        plus_as_space: form,
        limits,
        ..StreamOptions::default()
    })
}

/// The scanner of one part plus the hold-back buffer.
pub struct Inspector {
    scanner: Option<Scanner>,
    fixed: Option<Verdict>,
    hold: bool,
    held: VecDeque<Bytes>,
    held_len: usize,
    max_held: usize,
    /// Input offset of `held[0]`'s first byte.
    held_start: u64,
    fed: u64,
    scan_time: Duration,
}

impl std::fmt::Debug for Inspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inspector")
            .field("hold", &self.hold)
            .field("fed", &self.fed)
            .field("verdict", &self.verdict())
            .finish()
    }
}

impl Inspector {
    /// An inspector for one part. `opts == Err(v)` means the content cannot be read (why: `v`,
    /// see [`stream_options`]); `engine == None` disables inspection (everything clean, nothing
    /// held).
    pub fn new(
        engine: Option<&Engine>,
        opts: Result<StreamOptions, Verdict>,
        hold: bool,
        max_held: usize,
    ) -> Self {
        let (scanner, fixed) = match (engine, opts) {
            (None, _) => (None, Some(Verdict::Clean)),
            (Some(_), Err(v)) => (None, Some(v)),
            (Some(e), Ok(o)) => match e.scanner(o) {
                Ok(s) => (Some(s), None),
                Err(_) => (
                    None,
                    Some(Verdict::Uninspectable(Uninspectable::UnsupportedEncoding)),
                ),
            },
        };
        let hold = hold && engine.is_some();
        Inspector {
            scanner,
            fixed,
            hold,
            held: VecDeque::new(),
            held_len: 0,
            max_held,
            held_start: 0,
            fed: 0,
            scan_time: Duration::ZERO,
        }
    }

    /// Whether this inspector holds bytes back.
    pub fn holds_back(&self) -> bool {
        self.hold
    }

    /// The verdict so far.
    pub fn verdict(&self) -> Verdict {
        if let Some(v) = self.fixed {
            return v;
        }
        self.scanner
            .as_ref()
            .map_or(Verdict::Clean, |s| s.verdict().into())
    }

    /// Findings so far (kinds and offsets only).
    pub fn findings(&self) -> Vec<Finding> {
        self.scanner
            .as_ref()
            .map(|s| s.findings())
            .unwrap_or_default()
    }

    /// Bytes fed so far.
    pub fn fed(&self) -> u64 {
        self.fed
    }

    /// Time spent scanning.
    pub fn scan_time(&self) -> Duration {
        self.scan_time
    }

    /// Whether anything was scanned (so the part counts as inspected).
    pub fn is_active(&self) -> bool {
        self.scanner.is_some()
    }

    /// Takes in the next bytes; what may be forwarded now is pushed onto `out`. Returns the
    /// verdict so far. On a holding inspector nothing more is released once it is not clean.
    pub fn push(&mut self, b: Bytes, out: &mut VecDeque<Bytes>) -> Verdict {
        self.take(b, out, false)
    }

    /// Like [`Inspector::push`] for the last bytes of the part: the scanner ends with them
    /// (cheaper when they are the whole part). [`Inspector::finish`] still ends the part.
    pub fn push_last(&mut self, b: Bytes, out: &mut VecDeque<Bytes>) -> Verdict {
        self.take(b, out, true)
    }

    fn take(&mut self, b: Bytes, out: &mut VecDeque<Bytes>, last: bool) -> Verdict {
        if b.is_empty() {
            return self.verdict();
        }
        self.fed += b.len() as u64;
        if let (Some(s), None) = (self.scanner.as_mut(), self.fixed) {
            let t = Instant::now();
            let r = if last { s.feed_last(&b) } else { s.feed(&b) };
            if r.is_err() {
                self.fixed = Some(Verdict::Uninspectable(Uninspectable::ContentTooLarge));
            }
            self.scan_time += t.elapsed();
        }
        let v = self.verdict();
        if !self.hold {
            out.push_back(b);
            return v;
        }
        if v != Verdict::Clean {
            return v;
        }
        self.held_len += b.len();
        self.held.push_back(b);
        let upto = self.scanner.as_ref().map_or(self.fed, |s| s.releasable());
        self.release_upto(upto, out);
        if self.held_len > self.max_held {
            self.fixed = Some(Verdict::Uninspectable(Uninspectable::ContentTooLarge));
            return self.verdict();
        }
        v
    }

    /// Ends the part: flushes decoders and, if still clean (or not holding), releases the rest.
    pub fn finish(&mut self, out: &mut VecDeque<Bytes>) -> Verdict {
        if let (Some(s), None) = (self.scanner.as_mut(), self.fixed) {
            let t = Instant::now();
            if s.finish_in_place().is_err() {
                self.fixed = Some(Verdict::Uninspectable(Uninspectable::ContentTooLarge));
            }
            self.scan_time += t.elapsed();
        }
        let v = self.verdict();
        if !self.hold || v == Verdict::Clean {
            let end = self.fed;
            self.release_upto(end, out);
        }
        v
    }

    fn release_upto(&mut self, upto: u64, out: &mut VecDeque<Bytes>) {
        while let Some(front) = self.held.front_mut() {
            if self.held_start >= upto {
                break;
            }
            let avail = (upto - self.held_start) as usize;
            if avail >= front.len() {
                let b = self.held.pop_front().expect("front exists");
                self.held_start += b.len() as u64;
                self.held_len -= b.len();
                out.push_back(b);
            } else {
                let part = front.split_to(avail);
                self.held_start += part.len() as u64;
                self.held_len -= part.len();
                out.push_back(part);
                break;
            }
        }
    }
}

/// Scans a few bytes of plaintext metadata whole (the names of a TLS ClientHello), as a head.
pub fn scan_text(engine: &Engine, text: Vec<u8>) -> Inspector {
    let opts = StreamOptions {
        plus_as_space: true,
        ..StreamOptions::default()
    };
    let mut insp = Inspector::new(Some(engine), Ok(opts), false, usize::MAX);
    let mut sink = VecDeque::new();
    insp.push_last(Bytes::from(text), &mut sink);
    insp.finish(&mut sink);
    insp
}

/// Scans header fields as one part: the (percent-decoded by the scanner) target, an extension
/// method, the target's authority (HTTP/2 `:authority`, forwarded upstream as the app wrote
/// it) and every field as `name: value`, one a line, so that PHI in a custom field (or gRPC
/// metadata) name counts as much as PHI in a value. Heads and trailers alike.
pub fn scan_fields(
    engine: &Engine,
    method: Option<&http::Method>,
    target: Option<&http::Uri>,
    fields: &HeaderMap,
) -> Inspector {
    let opts = StreamOptions {
        plus_as_space: true,
        ..StreamOptions::default()
    };
    let mut insp = Inspector::new(Some(engine), Ok(opts), false, usize::MAX);
    let mut sink = VecDeque::new();
    // One push for the whole head: each push costs a Hyperscan call per database, and pushing
    // piece by piece made the head scan cost more than a 1 KiB body (`cargo bench --bench proxy`).
    let mut head = Vec::with_capacity(512);
    if let Some(t) = target.and_then(|u| u.path_and_query()) {
        head.extend_from_slice(t.as_str().as_bytes());
        head.push(b'\n');
    }
    // An extension method is any token the app chose, forwarded as is.
    if let Some(m) = method.filter(|m| !is_standard_method(m)) {
        head.extend_from_slice(b":method: ");
        head.extend_from_slice(m.as_str().as_bytes());
        head.push(b'\n');
    }
    if let Some(a) = target.and_then(|u| u.authority()) {
        head.extend_from_slice(b":authority: ");
        head.extend_from_slice(a.as_str().as_bytes());
        head.push(b'\n');
    }
    for (name, v) in fields {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(v.as_bytes());
        head.push(b'\n');
    }
    insp.push_last(Bytes::from(head), &mut sink);
    insp.finish(&mut sink);
    insp
}

fn is_standard_method(m: &http::Method) -> bool {
    use http::Method as M;
    [
        M::GET,
        M::POST,
        M::PUT,
        M::DELETE,
        M::HEAD,
        M::OPTIONS,
        M::PATCH,
        M::CONNECT,
        M::TRACE,
    ]
    .contains(m)
}

/// Why an [`InspectBody`] asks its gate for a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEnd {
    /// Its holding inspector's verdict is no longer clean: it releases nothing more.
    Stopped,
    /// The whole body went through.
    Complete,
    /// The body was dropped before its end (its reader stopped at the declared length, or
    /// went away).
    Dropped,
    /// The inner body failed.
    Failed,
}

/// Where an [`InspectBody`] takes its decisions: the gate of its message
/// ([`crate::gate::Gate`]). The body only scans, holds back and does what it is told.
pub trait BodyGate: Send {
    /// The decision on the body's verdict (`insp`), asked once: when it stops, ends, fails or
    /// is dropped. Anything but [`Enforce::Forward`] ends the body with an error, which makes
    /// hyper reset the stream (HTTP/2) or close the connection (HTTP/1).
    fn body(&self, insp: &Inspector, end: BodyEnd) -> Enforce;
    /// The decision on the trailers, after the whole body went through: forward them,
    /// replace them, or reset instead.
    fn trailers(&self, trailers: &HeaderMap) -> Enforce;
}

pin_project_lite::pin_project! {
    /// An HTTP body passed through an [`Inspector`], its decisions taken by a [`BodyGate`]. On a
    /// holding inspector a verdict that is not clean stops the body: the gate is asked, and
    /// the body ends with [`InspectError::Refused`] instead of releasing the held bytes.
    pub struct InspectBody<B, G: BodyGate> {
        #[pin]
        inner: B,
        inspector: Inspector,
        out: VecDeque<Bytes>,
        trailers: Option<HeaderMap>,
        inner_done: bool,
        finished: bool,
        failed: bool,
        gate: G,
        asked: bool,
    }

    impl<B, G: BodyGate> PinnedDrop for InspectBody<B, G> {
        fn drop(this: Pin<&mut Self>) {
            // A body whose reader stopped at its declared length (or went away) still gets its
            // decision, once.
            let this = this.project();
            if !*this.asked {
                *this.asked = true;
                let mut sink = VecDeque::new();
                this.inspector.finish(&mut sink);
                let _ = this.gate.body(this.inspector, BodyEnd::Dropped);
            }
        }
    }
}

impl<B, G: BodyGate> InspectBody<B, G> {
    /// Wraps `inner`; `ready` are bytes already released (from a prefetch), `inner_done` says the
    /// inner body already ended (then `trailers` are its trailers).
    pub fn new(
        inner: B,
        inspector: Inspector,
        ready: VecDeque<Bytes>,
        inner_done: bool,
        trailers: Option<HeaderMap>,
        gate: G,
    ) -> Self {
        InspectBody {
            inner,
            inspector,
            out: ready,
            trailers,
            inner_done,
            finished: false,
            failed: false,
            gate,
            asked: false,
        }
    }
}

impl<B, G> Body for InspectBody<B, G>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
    G: BodyGate,
{
    type Data = Bytes;
    type Error = InspectError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, InspectError>>> {
        let mut this = self.project();
        loop {
            if let Some(b) = this.out.pop_front() {
                return Poll::Ready(Some(Ok(Frame::data(b))));
            }
            if *this.failed {
                return Poll::Ready(None);
            }
            if *this.inner_done {
                if !*this.finished {
                    *this.finished = true;
                    let v = this.inspector.finish(this.out);
                    let end = if this.inspector.holds_back() && v != Verdict::Clean {
                        BodyEnd::Stopped
                    } else {
                        BodyEnd::Complete
                    };
                    *this.asked = true;
                    let e = this.gate.body(this.inspector, end);
                    if end == BodyEnd::Stopped || !matches!(e, Enforce::Forward) {
                        *this.failed = true;
                        this.out.clear();
                        return Poll::Ready(Some(Err(InspectError::Refused(reason(v)))));
                    }
                    continue;
                }
                let Some(t) = this.trailers.take() else {
                    return Poll::Ready(None);
                };
                return match this.gate.trailers(&t) {
                    Enforce::Forward => Poll::Ready(Some(Ok(Frame::trailers(t)))),
                    Enforce::Replace(r) => Poll::Ready(Some(Ok(Frame::trailers(r)))),
                    Enforce::Reset | Enforce::Answer(_) => {
                        *this.failed = true;
                        Poll::Ready(Some(Err(InspectError::Refused("trailers"))))
                    }
                };
            }
            match ready!(this.inner.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        let v = if this.inner.is_end_stream() {
                            *this.inner_done = true;
                            this.inspector.push_last(data, this.out)
                        } else {
                            this.inspector.push(data, this.out)
                        };
                        if this.inspector.holds_back() && v != Verdict::Clean {
                            *this.failed = true;
                            this.out.clear();
                            *this.asked = true;
                            // Whatever the gate says, the held bytes cannot go out any more.
                            let _ = this.gate.body(this.inspector, BodyEnd::Stopped);
                            return Poll::Ready(Some(Err(InspectError::Refused(reason(v)))));
                        }
                    }
                    Err(frame) => {
                        if let Ok(t) = frame.into_trailers() {
                            *this.trailers = Some(t);
                        }
                    }
                },
                Some(Err(e)) => {
                    *this.failed = true;
                    if !*this.asked {
                        *this.asked = true;
                        let _ = this.gate.body(this.inspector, BodyEnd::Failed);
                    }
                    return Poll::Ready(Some(Err(InspectError::Body(e.into()))));
                }
                None => *this.inner_done = true,
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.finished && self.out.is_empty() && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SSN_DOC: &[u8] = b"{\"patient\":{\"name\":\"Jane Roe\",\"ssn\":\"123-45-6789\"}}";

    fn engine() -> Engine {
        Engine::new().unwrap()
    }

    fn opts() -> Result<StreamOptions, Verdict> {
        stream_options(&HeaderMap::new(), false, &Bounds::default())
    }

    #[test]
    fn holding_inspector_never_releases_a_split_match() {
        let e = engine();
        // Sanity: the document is PHI when scanned whole.
        let mut whole = Inspector::new(Some(&e), opts(), true, 1 << 20);
        let mut out = VecDeque::new();
        whole.push(Bytes::from_static(SSN_DOC), &mut out);
        assert_eq!(whole.finish(&mut out), Verdict::Phi);
        let ssn = b"123-45-6789";
        for cut in 0..=SSN_DOC.len() {
            let mut i = Inspector::new(Some(&e), opts(), true, 1 << 20);
            let mut out = VecDeque::new();
            let mut v = i.push(Bytes::copy_from_slice(&SSN_DOC[..cut]), &mut out);
            if v == Verdict::Clean {
                v = i.push(Bytes::copy_from_slice(&SSN_DOC[cut..]), &mut out);
            }
            if v == Verdict::Clean {
                v = i.finish(&mut out);
            }
            assert_eq!(v, Verdict::Phi, "cut {cut}");
            let released: Vec<u8> = out.iter().flat_map(|b| b.iter().copied()).collect();
            assert!(
                !released.windows(ssn.len()).any(|w| w == ssn),
                "cut {cut}: released the whole value"
            );
            // Not even the first digits of the value are released.
            let start = SSN_DOC.windows(ssn.len()).position(|w| w == ssn).unwrap();
            assert!(
                released.len() <= start,
                "cut {cut}: released {} bytes",
                released.len()
            );
        }
    }

    #[test]
    fn a_last_piece_is_held_like_any_other() {
        let e = engine();
        let ssn = b"123-45-6789";
        for cut in [0, 1, SSN_DOC.len() / 2, SSN_DOC.len() - 1] {
            // The body ends with the piece after the cut (the whole of it when the cut is 0).
            let mut i = Inspector::new(Some(&e), opts(), true, 1 << 20);
            let mut out = VecDeque::new();
            let mut v = i.push(Bytes::copy_from_slice(&SSN_DOC[..cut]), &mut out);
            if v == Verdict::Clean {
                v = i.push_last(Bytes::copy_from_slice(&SSN_DOC[cut..]), &mut out);
            }
            assert_eq!(v, Verdict::Phi, "cut {cut}");
            assert_eq!(i.finish(&mut out), Verdict::Phi);
            let released: Vec<u8> = out.iter().flat_map(|b| b.iter().copied()).collect();
            let start = SSN_DOC.windows(ssn.len()).position(|w| w == ssn).unwrap();
            assert!(
                released.len() <= start,
                "cut {cut}: released {}",
                released.len()
            );
            // Bytes after the end were never scanned: never clean.
            let mut after = VecDeque::new();
            assert_ne!(i.push(Bytes::from_static(b"x"), &mut after), Verdict::Clean);
            assert!(after.is_empty());
        }
        // A clean last piece is released whole at once.
        let mut i = Inspector::new(Some(&e), opts(), true, 1 << 20);
        let mut out = VecDeque::new();
        assert_eq!(
            i.push_last(Bytes::from_static(b"{\"order\":42}"), &mut out),
            Verdict::Clean
        );
        let released: Vec<u8> = out.iter().flat_map(|b| b.iter().copied()).collect();
        assert_eq!(released, b"{\"order\":42}");
        assert_eq!(i.finish(&mut out), Verdict::Clean);
    }

    #[test]
    fn passing_inspector_forwards_at_once_and_still_sees_phi() {
        let e = engine();
        let mut i = Inspector::new(Some(&e), opts(), false, 1 << 20);
        let mut out = VecDeque::new();
        i.push(Bytes::from_static(SSN_DOC), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(i.finish(&mut out), Verdict::Phi);
        assert!(!i.findings().is_empty());
    }

    #[test]
    fn unknown_encoding_is_uninspectable_and_disabled_is_clean() {
        let e = engine();
        let mut h = HeaderMap::new();
        h.insert("content-encoding", "br".parse().unwrap());
        assert_eq!(
            stream_options(&h, false, &Bounds::default()).unwrap_err(),
            Verdict::Uninspectable(Uninspectable::UnsupportedEncoding)
        );
        let i = Inspector::new(
            Some(&e),
            Err(Verdict::Uninspectable(Uninspectable::UnsupportedEncoding)),
            true,
            1,
        );
        assert_eq!(
            i.verdict(),
            Verdict::Uninspectable(Uninspectable::UnsupportedEncoding)
        );
        let mut off = Inspector::new(None, opts(), true, 1);
        let mut out = VecDeque::new();
        assert_eq!(
            off.push(Bytes::from_static(SSN_DOC), &mut out),
            Verdict::Clean
        );
        assert_eq!(out.len(), 1);
    }

    fn fields(lines: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in lines {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn header_fields_are_read_as_rfc_9110_says() {
        let b = Bounds::default();
        let read = |lines: &[(&'static str, &'static str)], grpc: bool| {
            stream_options(&fields(lines), grpc, &b).map(|o| (o.decoding, o.plus_as_space))
        };
        let ce = "content-encoding";
        // Every content-encoding line counts, in order; identity entries drop out.
        assert_eq!(
            read(&[(ce, "identity"), (ce, "gzip")], false),
            Ok((Decoding::Gzip, false))
        );
        assert_eq!(
            read(&[(ce, "gzip"), (ce, "identity")], false),
            Ok((Decoding::Gzip, false))
        );
        assert_eq!(
            read(&[(ce, "Identity, GZIP")], false),
            Ok((Decoding::Gzip, false))
        );
        assert_eq!(
            read(&[(ce, ""), (ce, "deflate")], false),
            Ok((Decoding::Deflate, false))
        );
        // More than one layer: the scanner cannot undo a chain.
        assert_eq!(
            read(&[(ce, "gzip, deflate")], false),
            Err(Verdict::Unreadable(Unreadable::Uninspectable))
        );
        assert_eq!(
            read(&[(ce, "gzip"), (ce, "deflate")], false),
            Err(Verdict::Unreadable(Unreadable::Ambiguous))
        );
        assert_eq!(
            read(&[(ce, "gzip"), (ce, "gzip")], false),
            Err(Verdict::Unreadable(Unreadable::Ambiguous))
        );
        assert_eq!(
            read(&[(ce, "identity"), (ce, "br")], false),
            Err(Verdict::Uninspectable(Uninspectable::UnsupportedEncoding))
        );
        // Transfer codings: only `chunked` (which hyper undid).
        let te = "transfer-encoding";
        assert_eq!(
            read(&[(te, "chunked")], false),
            Ok((Decoding::Identity, false))
        );
        assert_eq!(
            read(&[(te, "Chunked")], false),
            Ok((Decoding::Identity, false))
        );
        assert_eq!(
            read(&[(te, "gzip, chunked")], false),
            Err(Verdict::Unreadable(Unreadable::Uninspectable))
        );
        assert_eq!(
            read(&[(te, "gzip"), (te, "chunked")], false),
            Err(Verdict::Unreadable(Unreadable::Uninspectable))
        );
        assert_eq!(
            read(&[(te, "chunked, chunked")], false),
            Err(Verdict::Unreadable(Unreadable::Malformed))
        );
        // Media types: case-insensitive, one line, not a list.
        let ct = "content-type";
        assert_eq!(
            read(
                &[(ct, "Application/X-WWW-Form-Urlencoded; charset=utf-8")],
                false
            ),
            Ok((Decoding::Identity, true))
        );
        assert_eq!(
            read(&[(ct, "application/json"), (ct, "application/json")], false),
            Err(Verdict::Unreadable(Unreadable::Ambiguous))
        );
        assert_eq!(
            read(&[(ct, "application/json, application/grpc")], false),
            Err(Verdict::Unreadable(Unreadable::Ambiguous))
        );
        assert_eq!(
            read(&[(ct, "text/plain; note=\"a, b\"")], false),
            Ok((Decoding::Identity, false))
        );
        // gRPC: one grpc-encoding.
        let ge = "grpc-encoding";
        assert_eq!(
            read(&[(ct, "Application/GRPC"), (ge, "gzip")], true),
            Ok((Decoding::grpc(Some("gzip")), false))
        );
        assert_eq!(
            read(&[(ge, "identity"), (ge, "gzip")], true),
            Err(Verdict::Unreadable(Unreadable::Ambiguous))
        );
        assert_eq!(
            media_type(" Application/GRPC+proto ; x=1"),
            "application/grpc+proto"
        );
    }

    /// A gate that records what it was asked and answers as told.
    #[derive(Clone, Default)]
    struct MockGate {
        asked: std::sync::Arc<std::sync::Mutex<Vec<(BodyEnd, Verdict)>>>,
        trailers: std::sync::Arc<std::sync::Mutex<Vec<HeaderMap>>>,
        replace: Option<HeaderMap>,
    }

    impl BodyGate for MockGate {
        fn body(&self, insp: &Inspector, end: BodyEnd) -> Enforce {
            self.asked.lock().unwrap().push((end, insp.verdict()));
            match (end, insp.verdict()) {
                (_, Verdict::Clean) => Enforce::Forward,
                _ => Enforce::Reset,
            }
        }
        fn trailers(&self, t: &HeaderMap) -> Enforce {
            self.trailers.lock().unwrap().push(t.clone());
            match &self.replace {
                Some(r) if r.is_empty() => Enforce::Reset,
                Some(r) => Enforce::Replace(r.clone()),
                None => Enforce::Forward,
            }
        }
    }

    #[tokio::test]
    async fn inspect_body_stops_on_late_phi_after_releasing_clean_bytes() {
        use http_body_util::BodyExt;
        let e = engine();
        let clean = Bytes::from(vec![b'a'; 200_000]);
        let chunks: Vec<Result<Frame<Bytes>, std::convert::Infallible>> = vec![
            Ok(Frame::data(clean.clone())),
            Ok(Frame::data(Bytes::from_static(SSN_DOC))),
        ];
        let inner = http_body_util::StreamBody::new(futures_util::stream::iter(chunks));
        let gate = MockGate::default();
        let mut body = InspectBody::new(
            inner,
            Inspector::new(Some(&e), opts(), true, 1 << 20),
            VecDeque::new(),
            false,
            None,
            gate.clone(),
        );
        let mut got = Vec::new();
        let mut err = false;
        while let Some(f) = body.frame().await {
            match f {
                Ok(f) => got.extend_from_slice(&f.into_data().unwrap()),
                Err(InspectError::Refused(r)) => {
                    assert_eq!(r, "phi");
                    err = true;
                    break;
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert!(err);
        assert!(got.len() >= 100_000, "clean prefix streamed");
        assert!(!got.windows(11).any(|w| w == b"123-45-6789"));
        drop(body);
        assert_eq!(
            *gate.asked.lock().unwrap(),
            vec![(BodyEnd::Stopped, Verdict::Phi)],
            "asked once"
        );
    }

    #[tokio::test]
    async fn the_gate_decides_the_fate_of_trailers_after_the_data() {
        use http_body_util::BodyExt;
        let e = engine();
        let body = |gate: MockGate| {
            let mut t = HeaderMap::new();
            t.insert("x-note", "patient SSN 123-45-6789".parse().unwrap());
            let frames: Vec<Result<Frame<Bytes>, std::convert::Infallible>> = vec![
                Ok(Frame::data(Bytes::from_static(b"clean"))),
                Ok(Frame::trailers(t)),
            ];
            let inner = http_body_util::StreamBody::new(futures_util::stream::iter(frames));
            InspectBody::new(
                inner,
                Inspector::new(Some(&e), opts(), true, 1 << 20),
                VecDeque::new(),
                false,
                None,
                gate,
            )
        };
        // Replaced: the data, then the replacement trailers.
        let mut r = HeaderMap::new();
        r.insert("grpc-status", "7".parse().unwrap());
        let gate = MockGate {
            replace: Some(r),
            ..MockGate::default()
        };
        let mut b = body(gate.clone());
        let d = b.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(&d[..], b"clean");
        let t = b.frame().await.unwrap().unwrap().into_trailers().unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t["grpc-status"], "7");
        assert!(b.frame().await.is_none());
        assert_eq!(
            gate.trailers.lock().unwrap()[0]["x-note"],
            "patient SSN 123-45-6789"
        );
        assert_eq!(
            *gate.asked.lock().unwrap(),
            vec![(BodyEnd::Complete, Verdict::Clean)]
        );
        // Reset: the data, then an error instead of the trailers, then the end.
        let gate = MockGate {
            replace: Some(HeaderMap::new()),
            ..MockGate::default()
        };
        let mut b = body(gate);
        assert!(b.frame().await.unwrap().unwrap().is_data());
        assert!(matches!(
            b.frame().await.unwrap(),
            Err(InspectError::Refused(_))
        ));
        assert!(b.frame().await.is_none());
        // Forwarded as they are.
        let mut b = body(MockGate::default());
        assert!(b.frame().await.unwrap().unwrap().is_data());
        let t = b.frame().await.unwrap().unwrap().into_trailers().unwrap();
        assert_eq!(t["x-note"], "patient SSN 123-45-6789");
    }
}
