//! Opaque TCP (for example HL7 v2 over MLLP), relayed both ways and inspected as a byte stream
//! with the same hold-back rule as bodies: on a refusing path PHI resets both connections and the
//! destination receives none of it.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::BytesMut;
use phimesh_detect::{Limits, StreamOptions};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::context::{ConnCtx, Shared};
use crate::inspect::Inspector;
use crate::io::{Activity, Resettable};
use crate::policy::{Action, Flow, Verdict};

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
    mk: impl Fn() -> Inspector,
    shared: Arc<Shared>,
    ctx: Arc<ConnCtx>,
    flow: Flow,
) -> std::io::Result<Dir>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut insp = mk();
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
        let mut v = insp.push(buf.freeze(), &mut out);
        if at_boundary && v == Verdict::Clean {
            v = insp.finish(&mut out);
            if v == Verdict::Clean {
                report(&shared, &ctx, flow, &insp);
                insp = mk();
            }
        }
        if insp.holds_back() && v != Verdict::Clean {
            break Dir::Refused;
        }
        for b in out.drain(..) {
            w.write_all(&b).await?;
        }
    };
    report(&shared, &ctx, flow, &insp);
    let v = insp.verdict();
    let action = match result {
        Dir::Refused => Some(Action::Reset),
        Dir::Done => shared.policy.decide(ctx.path, flow, v),
    };
    if let Some(action) = action {
        let id = crate::audit::new_request_id();
        shared.record(
            &ctx,
            flow,
            "tcp",
            &id,
            v,
            &insp.findings(),
            "stream",
            action,
        );
    }
    Ok(result)
}

fn report(shared: &Shared, ctx: &ConnCtx, _flow: Flow, insp: &Inspector) {
    if insp.is_active() {
        let dir = ctx.path.direction().as_str();
        shared
            .metrics
            .inspected_bytes
            .with_label_values(&[dir])
            .inc_by(insp.fed());
        shared
            .metrics
            .inspection_duration
            .observe(insp.scan_time().as_secs_f64());
    }
}

/// Relays `down` ⇄ `up` until both directions end, inspecting each with the policy of `ctx`.
/// `inspect == false` passes bytes untouched (app TLS). Returns how it ended.
pub async fn relay<D, U>(
    down: D,
    up: U,
    activity: Activity,
    ctx: ConnCtx,
    inspect: bool,
    shared: Arc<Shared>,
) -> RelayEnd
where
    D: AsyncRead + AsyncWrite + Resettable + Unpin + Send + 'static,
    U: AsyncRead + AsyncWrite + Resettable + Unpin + Send + 'static,
{
    let limits = Limits {
        max_ratio: u64::MAX,
        ..Limits::default()
    };
    let opts = Ok(StreamOptions {
        limits,
        ..StreamOptions::default()
    });
    let max_held = shared.max_held();
    let path = ctx.path;
    let policy = shared.policy;
    let mk = |flow| {
        let engine = shared.engine_for(path, flow).filter(|_| inspect);
        Inspector::new(engine, opts, policy.holds_back(path, flow), max_held)
    };
    let (req_insp, resp_insp) = (|| mk(Flow::Request), || mk(Flow::Response));
    let ctx = Arc::new(ctx);
    let (mut dr, mut dw) = tokio::io::split(down);
    let (mut ur, mut uw) = tokio::io::split(up);
    let end = {
        let a = pump(
            &mut dr,
            &mut uw,
            req_insp,
            shared.clone(),
            ctx.clone(),
            Flow::Request,
        );
        let b = pump(
            &mut ur,
            &mut dw,
            resp_insp,
            shared.clone(),
            ctx.clone(),
            Flow::Response,
        );
        tokio::pin!(a, b);
        let idle = activity.idle(shared.cfg.bounds.idle_timeout);
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
