//! Sending a request again that an HTTP/2 upstream refused without processing it.
//!
//! An HTTP/2 server that closes a connection gracefully (nginx after `keepalive_requests`, any
//! server on a restart) sends `GOAWAY` with the last stream it will process; streams the client
//! opened after that one are refused, unprocessed (RFC 9113 §6.8), as are streams reset with
//! `REFUSED_STREAM` (§8.7). Requests in flight on such a connection at that moment are safe to
//! send again on a new one, and a proxy that answered them `502` would fail requests its
//! upstream never saw. A request is sent again when its body can be replayed: the frames
//! already handed to the upstream connection are kept (reference-counted, up to
//! [`REPLAY_MAX`] bytes) until the response head arrives.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use hyper::body::{Body, Frame, SizeHint};

use crate::forward::ReqBody;
use crate::inspect::InspectError;

/// The most request body bytes kept for a replay; a request that had sent more when it was
/// refused gets the `502` it got before.
pub const REPLAY_MAX: usize = 64 << 10;

/// How many times one request is sent again.
pub const MAX_RETRIES: usize = 2;

struct State {
    inner: ReqBody,
    /// What was handed out so far, while it fits in [`REPLAY_MAX`].
    sent: Vec<Frame<Bytes>>,
    sent_len: usize,
    /// More than [`REPLAY_MAX`] went out: no replay.
    overflow: bool,
    /// The inner body ended (or failed) after `sent`.
    ended: bool,
}

/// A request body whose frames can be handed out again from the start ([`Rewind::rewind`]),
/// then the rest of the inner body.
pub struct Replay {
    state: Arc<Mutex<State>>,
    cursor: usize,
}

/// Makes a [`Replay`] start over.
pub struct Rewind {
    state: Arc<Mutex<State>>,
}

impl Replay {
    /// Wraps `inner`; the [`Rewind`] makes bodies that hand out its frames again.
    pub fn new(inner: ReqBody) -> (Replay, Rewind) {
        let state = Arc::new(Mutex::new(State {
            inner,
            sent: Vec::new(),
            sent_len: 0,
            overflow: false,
            ended: false,
        }));
        let rewind = Rewind {
            state: state.clone(),
        };
        (Replay { state, cursor: 0 }, rewind)
    }
}

impl Rewind {
    /// A body that hands out again what the last one handed out, then the rest; `None` when
    /// more than [`REPLAY_MAX`] went out or the inner body failed.
    pub fn rewind(&self) -> Option<Replay> {
        let st = self.state.lock().ok()?;
        (!st.overflow).then(|| Replay {
            state: self.state.clone(),
            cursor: 0,
        })
    }

    /// Drops what was kept for a replay (the response head arrived).
    pub fn forget(&self) {
        if let Ok(mut st) = self.state.lock() {
            st.overflow = true;
            st.sent = Vec::new();
        }
    }
}

fn copy(f: &Frame<Bytes>) -> Frame<Bytes> {
    match f.data_ref() {
        Some(d) => Frame::data(d.clone()),
        None => Frame::trailers(f.trailers_ref().cloned().unwrap_or_else(HeaderMap::new)),
    }
}

impl Body for Replay {
    type Data = Bytes;
    type Error = InspectError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, InspectError>>> {
        let this = &mut *self;
        let Ok(mut guard) = this.state.lock() else {
            return Poll::Ready(None);
        };
        let st = &mut *guard;
        if let Some(f) = st.sent.get(this.cursor) {
            this.cursor += 1;
            return Poll::Ready(Some(Ok(copy(f))));
        }
        if st.ended {
            return Poll::Ready(None);
        }
        let r = Pin::new(&mut st.inner).poll_frame(cx);
        match &r {
            Poll::Ready(Some(Ok(f))) => {
                if !st.overflow {
                    st.sent_len += f.data_ref().map_or(0, Bytes::len);
                    if st.sent_len > REPLAY_MAX {
                        st.overflow = true;
                        st.sent = Vec::new();
                    } else {
                        st.sent.push(copy(f));
                        this.cursor = st.sent.len();
                    }
                }
            }
            Poll::Ready(Some(Err(_))) => {
                st.ended = true;
                st.overflow = true;
            }
            Poll::Ready(None) => st.ended = true,
            Poll::Pending => {}
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        let Ok(st) = self.state.lock() else {
            return true;
        };
        self.cursor >= st.sent.len() && (st.ended || st.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.state.lock().map_or_else(
            |_| SizeHint::default(),
            |st| {
                // The replayed frames plus what the inner body says of the rest.
                let replay: usize = st.sent[self.cursor.min(st.sent.len())..]
                    .iter()
                    .filter_map(|f| f.data_ref().map(Bytes::len))
                    .sum();
                let rest = if st.ended {
                    SizeHint::with_exact(0)
                } else {
                    st.inner.size_hint()
                };
                let mut h = SizeHint::new();
                h.set_lower(rest.lower() + replay as u64);
                if let Some(u) = rest.upper() {
                    h.set_upper(u + replay as u64);
                }
                h
            },
        )
    }
}

/// Whether `e`, the error of a request sent upstream, says the upstream did not process it: its
/// HTTP/2 stream was refused by a graceful `GOAWAY` (one with `NO_ERROR`, which names the
/// last stream the server processes) or reset with `REFUSED_STREAM`.
pub fn unprocessed(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(e) = err.downcast_ref::<h2::Error>() {
            return e.is_remote()
                && ((e.is_go_away() && e.reason() == Some(h2::Reason::NO_ERROR))
                    || (e.is_reset() && e.reason() == Some(h2::Reason::REFUSED_STREAM)));
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};

    fn body(chunks: &[&'static [u8]]) -> ReqBody {
        let frames: Vec<Result<Frame<Bytes>, InspectError>> = chunks
            .iter()
            .map(|c| Ok(Frame::data(Bytes::from_static(c))))
            .collect();
        StreamBody::new(futures_util::stream::iter(frames)).boxed_unsync()
    }

    #[tokio::test]
    async fn a_rewound_body_hands_out_what_went_out_then_the_rest() {
        let (mut first, rewind) = Replay::new(body(&[b"ab", b"cd", b"ef"]));
        let f = first.frame().await.unwrap().unwrap();
        assert_eq!(f.into_data().unwrap(), "ab");
        let second = rewind.rewind().unwrap();
        drop(first);
        let all = second.collect().await.unwrap().to_bytes();
        assert_eq!(all, "abcdef");
    }

    #[tokio::test]
    async fn a_body_past_the_replay_bound_is_not_rewound() {
        static BIG: [u8; REPLAY_MAX + 1] = [b'x'; REPLAY_MAX + 1];
        let (mut r, rewind) = Replay::new(body(&[&BIG, b"y"]));
        let _ = r.frame().await.unwrap().unwrap();
        assert!(rewind.rewind().is_none());
        let (_r, rewind) = Replay::new(body(&[b"y"]));
        rewind.forget();
        assert!(rewind.rewind().is_none(), "forgotten once the head arrived");
    }

    #[test]
    fn only_refusals_of_unprocessed_streams_count() {
        let go_away: h2::Error = h2::Reason::NO_ERROR.into();
        // A locally made error is not the upstream's refusal.
        assert!(!unprocessed(&go_away));
        let io = std::io::Error::other("reset by peer");
        assert!(!unprocessed(&io));
    }
}
