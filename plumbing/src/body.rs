//! Draining a refused request body.

use std::time::Duration;

use bytes::Buf;
use http_body::Body;
use http_body_util::BodyExt;

/// How long the rest of a refused body is read for, at the most.
pub const DISCARD_TIME: Duration = Duration::from_secs(2);
/// How many bytes of the rest of a refused body are read, at the most.
pub const DISCARD_MAX: usize = 8 << 20;

/// Reads and drops, beside a refusal, the rest of a request body that is refused, for at most
/// [`DISCARD_TIME`] and [`DISCARD_MAX`] bytes, on a task of its own; nothing of it goes
/// anywhere. A server that closes a connection with unread bytes in its receive buffer makes the
/// kernel send a reset, which can reach a client still sending before the refusal does. Past
/// either bound the connection closes anyway: a client cannot hold it by sending on.
///
/// Must be called inside a tokio runtime. A client that sent `Expect: 100-continue` has sent no
/// body yet, and reading it would invite it: see [`expects_continue`].
pub fn discard<B>(mut body: B)
where
    B: Body + Unpin + Send + 'static,
    B::Data: Send,
{
    tokio::spawn(async move {
        let drain = async {
            let mut seen = 0usize;
            while let Some(Ok(frame)) = body.frame().await {
                seen += frame.data_ref().map_or(0, Buf::remaining);
                if seen > DISCARD_MAX {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(DISCARD_TIME, drain).await;
    });
}

/// Whether a request asked for `100 Continue` before it sends its body.
pub fn expects_continue(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use bytes::Bytes;
    use http_body::Frame;
    use http_body_util::StreamBody;

    use super::*;

    /// Discards a body of `mib` 1 MiB frames; returns the MiB read once the drain ended.
    async fn drained(mib: usize) -> usize {
        let read = Arc::new(AtomicUsize::new(0));
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let counter = read.clone();
        let frames = futures_util::stream::iter((0..mib).map(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok::<_, Infallible>(Frame::data(Bytes::from(vec![0u8; 1 << 20])))
        }));
        // Dropping the body (the drain's end) drops the sender: the receiver then resolves.
        let body = StreamBody::new(futures_util::StreamExt::map(frames, move |f| {
            let _keep = &done_tx;
            f
        }));
        discard(body);
        let _ = tokio::time::timeout(Duration::from_secs(10), done_rx).await;
        read.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn a_short_body_is_read_to_its_end_and_a_long_one_only_to_the_bound() {
        assert_eq!(drained(3).await, 3);
        // Past DISCARD_MAX (8 MiB) the drain stops: the ninth MiB is the last one read.
        assert_eq!(drained(64).await, DISCARD_MAX / (1 << 20) + 1);
    }

    #[test]
    fn expect_continue_is_recognised_in_any_case() {
        let mut h = http::HeaderMap::new();
        assert!(!expects_continue(&h));
        h.insert(http::header::EXPECT, "100-Continue".parse().unwrap());
        assert!(expects_continue(&h));
        h.insert(http::header::EXPECT, "something-else".parse().unwrap());
        assert!(!expects_continue(&h));
    }
}
