//! The shutdown signal of the `phimesh` binary.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::watch;

/// Fires once, on SIGTERM or SIGINT (or [`trigger`](Self::trigger)); every clone sees it.
///
/// `main` creates one and hands it to the subcommand it runs. The signal handlers are installed
/// by [`listen`](Self::listen) (or the first [`wait`](Self::wait)) in the subcommand's own tokio
/// runtime, so a subcommand that never waits keeps the default action of the signals: a
/// `phimesh scan` stopped with SIGTERM ends at once.
#[derive(Debug, Clone)]
pub struct Shutdown {
    fired: Arc<watch::Sender<bool>>,
    listening: Arc<AtomicBool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A token that nothing has fired yet, with no signal handler installed.
    pub fn new() -> Shutdown {
        Shutdown {
            fired: Arc::new(watch::Sender::new(false)),
            listening: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Installs the SIGTERM and SIGINT handlers that fire this token (once; later calls do
    /// nothing). Must run inside a tokio runtime with its I/O driver; the handlers live as long
    /// as that runtime.
    pub fn listen(&self) -> std::io::Result<()> {
        if self.listening.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        if self.listening.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let fired = self.fired.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            fired.send_replace(true);
        });
        Ok(())
    }

    /// Fires the token, as a signal would.
    pub fn trigger(&self) {
        self.fired.send_replace(true);
    }

    /// Whether the token has fired.
    pub fn is_fired(&self) -> bool {
        *self.fired.borrow()
    }

    /// Resolves once the token has fired (at once if it already has). Installs the signal
    /// handlers first ([`listen`](Self::listen)); where they cannot be installed only
    /// [`trigger`](Self::trigger) fires it.
    pub async fn wait(&self) {
        let _ = self.listen();
        let mut rx = self.fired.subscribe();
        // The sender lives in `self`: `wait_for` ends only when the value turns true.
        let _ = rx.wait_for(|fired| *fired).await;
    }
}

/// SIGHUP as a stream of reload requests (`recv().await` once per signal). Must run inside a
/// tokio runtime with its I/O driver.
pub fn hangups() -> std::io::Result<Signal> {
    signal(SignalKind::hangup())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn every_clone_sees_the_trigger_and_a_late_waiter_returns_at_once() {
        let s = Shutdown::new();
        let waiter = tokio::spawn({
            let s = s.clone();
            async move { s.wait().await }
        });
        assert!(!s.is_fired());
        s.clone().trigger();
        tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("the waiter returns")
            .unwrap();
        assert!(s.is_fired());
        tokio::time::timeout(Duration::from_secs(10), s.wait())
            .await
            .expect("fired before the wait");
    }
}
