//! Inspection of one message part (a body, an opaque byte stream, a request head) with the
//! streaming PHI engine, and the hold-back rule.
//!
//! An [`Inspector`] sits between what was received and what may be forwarded. When it *holds
//! back* (a path where PHI is refused), it only releases bytes before the scanner's
//! `releasable()` offset, so no byte of a match can leave before the verdict; once the verdict is
//! PHI or uninspectable it releases nothing more. Elsewhere bytes pass straight through and the
//! scanner only watches. [`InspectBody`] wraps an HTTP body with an inspector.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, HeaderMap};
use http_body::{Body, Frame, SizeHint};
use phimesh_detect::{Decoding, Engine, Finding, Limits, Scanner, StreamOptions, Uninspectable};

use crate::config::Bounds;
use crate::policy::{Unreadable, Verdict};

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
fn list_elements<'a>(
    headers: &'a HeaderMap,
    name: header::HeaderName,
) -> Result<(Vec<&'a str>, usize), ()> {
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
        if b.is_empty() {
            return self.verdict();
        }
        self.fed += b.len() as u64;
        if let (Some(s), None) = (self.scanner.as_mut(), self.fixed) {
            let t = Instant::now();
            if s.feed(&b).is_err() {
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

/// What an [`InspectBody`] reports when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEnd {
    /// The whole body went through with this verdict.
    Complete(Verdict),
    /// The body was cut (reset) because of this verdict.
    Reset(Verdict),
}

/// Called once when an [`InspectBody`] ends, with the inspector (for findings) and the ending.
pub type OnEnd = Box<dyn FnOnce(&Inspector, BodyEnd) + Send>;

/// Called with a body's trailers (gRPC status and metadata, HTTP trailers) before they are
/// forwarded: returns the trailers to forward (the same, or a replacement) or an error that
/// resets the stream instead. The body's data has all been forwarded by then.
pub type TrailerCheck = Box<dyn FnOnce(HeaderMap) -> Result<HeaderMap, InspectError> + Send>;

pin_project_lite::pin_project! {
    /// An HTTP body passed through an [`Inspector`]. On a holding inspector a late PHI verdict
    /// ends the body with [`InspectError::Refused`], which makes hyper reset the stream (HTTP/2)
    /// or close the connection (HTTP/1) instead of releasing the held bytes.
    pub struct InspectBody<B> {
        #[pin]
        inner: B,
        inspector: Inspector,
        out: VecDeque<Bytes>,
        trailers: Option<HeaderMap>,
        inner_done: bool,
        finished: bool,
        failed: bool,
        on_end: Option<OnEnd>,
        trailer_check: Option<TrailerCheck>,
    }

    impl<B> PinnedDrop for InspectBody<B> {
        fn drop(this: Pin<&mut Self>) {
            // A body whose reader stopped at its declared length (or went away) still gets its
            // verdict reported once.
            let this = this.project();
            if let Some(f) = this.on_end.take() {
                let mut sink = VecDeque::new();
                let v = this.inspector.finish(&mut sink);
                f(this.inspector, BodyEnd::Complete(v));
            }
        }
    }
}

impl<B> InspectBody<B> {
    /// Wraps `inner`; `ready` are bytes already released (from a prefetch), `inner_done` says the
    /// inner body already ended (then `trailers` are its trailers).
    pub fn new(
        inner: B,
        inspector: Inspector,
        ready: VecDeque<Bytes>,
        inner_done: bool,
        trailers: Option<HeaderMap>,
        on_end: OnEnd,
    ) -> Self {
        InspectBody {
            inner,
            inspector,
            out: ready,
            trailers,
            inner_done,
            finished: false,
            failed: false,
            on_end: Some(on_end),
            trailer_check: None,
        }
    }

    /// Runs `check` on the trailers (if any) before they are forwarded.
    pub fn with_trailer_check(mut self, check: TrailerCheck) -> Self {
        self.trailer_check = Some(check);
        self
    }
}

fn refused_label(v: Verdict) -> &'static str {
    crate::policy::reason(v)
}

impl<B> Body for InspectBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
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
                    let holds = this.inspector.holds_back();
                    if holds && v != Verdict::Clean {
                        *this.failed = true;
                        if let Some(f) = this.on_end.take() {
                            f(this.inspector, BodyEnd::Reset(v));
                        }
                        return Poll::Ready(Some(Err(InspectError::Refused(refused_label(v)))));
                    }
                    if let Some(f) = this.on_end.take() {
                        f(this.inspector, BodyEnd::Complete(v));
                    }
                    continue;
                }
                let Some(t) = this.trailers.take() else {
                    return Poll::Ready(None);
                };
                let t = match this.trailer_check.take() {
                    Some(check) => match check(t) {
                        Ok(t) => t,
                        Err(e) => {
                            *this.failed = true;
                            return Poll::Ready(Some(Err(e)));
                        }
                    },
                    None => t,
                };
                return Poll::Ready(Some(Ok(Frame::trailers(t))));
            }
            match ready!(this.inner.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        if this.inner.is_end_stream() {
                            *this.inner_done = true;
                        }
                        let v = this.inspector.push(data, this.out);
                        if this.inspector.holds_back() && v != Verdict::Clean {
                            *this.failed = true;
                            this.out.clear();
                            if let Some(f) = this.on_end.take() {
                                f(this.inspector, BodyEnd::Reset(v));
                            }
                            return Poll::Ready(Some(Err(InspectError::Refused(refused_label(v)))));
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
                    if let Some(f) = this.on_end.take() {
                        f(this.inspector, BodyEnd::Reset(Verdict::Clean));
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

    #[tokio::test]
    async fn inspect_body_resets_on_late_phi_after_releasing_clean_bytes() {
        use http_body_util::BodyExt;
        let e = engine();
        let clean = Bytes::from(vec![b'a'; 200_000]);
        let chunks: Vec<Result<Frame<Bytes>, std::convert::Infallible>> = vec![
            Ok(Frame::data(clean.clone())),
            Ok(Frame::data(Bytes::from_static(SSN_DOC))),
        ];
        let inner = http_body_util::StreamBody::new(futures_util::stream::iter(chunks));
        let ended = std::sync::Arc::new(std::sync::Mutex::new(None));
        let e2 = ended.clone();
        let mut body = InspectBody::new(
            inner,
            Inspector::new(Some(&e), opts(), true, 1 << 20),
            VecDeque::new(),
            false,
            None,
            Box::new(move |_, end| *e2.lock().unwrap() = Some(end)),
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
        assert_eq!(*ended.lock().unwrap(), Some(BodyEnd::Reset(Verdict::Phi)));
    }

    #[tokio::test]
    async fn trailer_check_sees_the_trailers_after_the_data_and_decides_their_fate() {
        use http_body_util::BodyExt;
        let e = engine();
        let body = |check: TrailerCheck| {
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
                Box::new(|_, _| {}),
            )
            .with_trailer_check(check)
        };
        // Replaced: the data, then the replacement trailers.
        let mut b = body(Box::new(|t: HeaderMap| {
            assert_eq!(t["x-note"], "patient SSN 123-45-6789");
            let mut r = HeaderMap::new();
            r.insert("grpc-status", "7".parse().unwrap());
            Ok(r)
        }));
        let d = b.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(&d[..], b"clean");
        let t = b.frame().await.unwrap().unwrap().into_trailers().unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t["grpc-status"], "7");
        assert!(b.frame().await.is_none());
        // Refused: the data, then an error instead of the trailers, then the end.
        let mut b = body(Box::new(|_| Err(InspectError::Refused("phi"))));
        assert!(b.frame().await.unwrap().unwrap().is_data());
        assert!(matches!(
            b.frame().await.unwrap(),
            Err(InspectError::Refused("phi"))
        ));
        assert!(b.frame().await.is_none());
    }
}
