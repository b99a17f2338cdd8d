//! Opaque TCP (for example HL7 v2 over MLLP), relayed both ways and inspected as a byte stream
//! with the same hold-back rule as bodies: on a refusing path PHI resets both connections (the
//! decision of the direction's [`Gate`]) and the destination receives none of it.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::BytesMut;
use phimesh_detect::{Limits, StreamOptions};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::gate::{Enforce, Exchange, Gate, Stage};
use crate::io::{Activity, Resettable};
use crate::policy::{Flow, Verdict};

/// Read buffer of the relay: starts small, grows to this while the stream keeps it full.
const MAX_READ_BUF: usize = 64 * 1024;
const MIN_READ_BUF: usize = 8 * 1024;

/// How a relay ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayEnd {
    /// Both directions finished.
    Closed,
    /// A refusing direction found PHI (or uninspectable content): both sides were reset.
    Reset,
    /// Idle timeout, drain or an I/O error.
    Aborted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Done,
    Refused,
}

/// End of an MLLP (HL7 v2) message. A held-back tail is released at this boundary: the message
/// is complete, so its verdict is final, and a request/response protocol does not stall waiting
/// for bytes the sender will only write after the reply.
const MLLP_END: &[u8] = b"\x1c\r";

async fn pump<R, W>(
    r: &mut R,
    w: &mut W,
    gate: Gate,
    opts: Result<StreamOptions, Verdict>,
    inspect: bool,
) -> std::io::Result<Dir>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut insp = gate.inspector(opts, inspect);
    let mut out = VecDeque::new();
    let mut size = MIN_READ_BUF;
    let result = loop {
        let mut buf = BytesMut::with_capacity(size);
        let n = r.read_buf(&mut buf).await?;
        if n == 0 {
            let v = insp.finish(&mut out);
            if insp.holds_back() && v != Verdict::Clean {
                break Dir::Refused;
            }
            for b in out.drain(..) {
                w.write_all(&b).await?;
            }
            let _ = w.shutdown().await;
            break Dir::Done;
        }
        if n == size && size < MAX_READ_BUF {
            size *= 2;
        }
        let at_boundary = insp.holds_back() && buf.ends_with(MLLP_END);
        // A message ends here: its scanner ends with these bytes.
        let mut v = if at_boundary {
            insp.push_last(buf.freeze(), &mut out)
        } else {
            insp.push(buf.freeze(), &mut out)
        };
        if at_boundary && v == Verdict::Clean {
            v = insp.finish(&mut out);
            if v == Verdict::Clean {
                gate.scanned(&insp);
                insp = gate.inspector(opts, inspect);
            }
        }
        // A holding inspector that is not clean releases nothing more: the gate decides.
        if insp.holds_back() && v != Verdict::Clean {
            break Dir::Refused;
        }
        for b in out.drain(..) {
            w.write_all(&b).await?;
        }
    };
    gate.scanned(&insp);
    // Part of the stream went out: a refusal is a reset.
    match gate.check(Stage::Streaming, "stream", &insp) {
        Enforce::Forward if result == Dir::Done => Ok(Dir::Done),
        _ => Ok(Dir::Refused),
    }
}

/// Relays `down` ⇄ `up` until both directions end, each inspected and decided by its gate of
/// `ex`. `inspect == false` passes bytes untouched (app TLS in a mesh tunnel). Returns how it
/// ended.
pub async fn relay<D, U>(
    down: D,
    up: U,
    activity: Activity,
    ex: &Arc<Exchange>,
    inspect: bool,
    idle: std::time::Duration,
) -> RelayEnd
where
    D: AsyncRead + AsyncWrite + Resettable + Unpin + Send + 'static,
    U: AsyncRead + AsyncWrite + Resettable + Unpin + Send + 'static,
{
    // The stream itself is read as it is; the default ratio bounds what the engine inflates
    // from compressed segments inside it (gzip magic in a raw stream), one budget per stream.
    let limits = Limits::default();
    let opts = Ok(StreamOptions {
        limits,
        ..StreamOptions::default()
    });
    let (mut dr, mut dw) = tokio::io::split(down);
    let (mut ur, mut uw) = tokio::io::split(up);
    let end = {
        let a = pump(&mut dr, &mut uw, ex.gate(Flow::Request), opts, inspect);
        let b = pump(&mut ur, &mut dw, ex.gate(Flow::Response), opts, inspect);
        tokio::pin!(a, b);
        let idle = activity.idle(idle);
        tokio::pin!(idle);
        let (mut a_done, mut b_done) = (false, false);
        let mut end = RelayEnd::Closed;
        while !(a_done && b_done) {
            let r = tokio::select! {
                r = &mut a, if !a_done => { a_done = true; r }
                r = &mut b, if !b_done => { b_done = true; r }
                _ = &mut idle => { end = RelayEnd::Aborted; break; }
            };
            match r {
                Ok(Dir::Done) => {}
                Ok(Dir::Refused) => {
                    end = RelayEnd::Reset;
                    break;
                }
                Err(_) => {
                    end = RelayEnd::Aborted;
                    break;
                }
            }
        }
        end
    };
    if end != RelayEnd::Closed {
        // Abortive close: the peer sees a reset, not a clean end of stream.
        dr.unsplit(dw).set_reset_on_close();
        ur.unsplit(uw).set_reset_on_close();
    }
    end
}
