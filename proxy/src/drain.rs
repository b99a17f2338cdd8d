//! Graceful shutdown: a signal every connection watches (stop taking new requests, finish the
//! ones in flight) and a count of open connections to wait on, up to a grace timeout.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

/// The drain signal and the connection count. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Drain {
    signal: Arc<watch::Sender<bool>>,
    open: Arc<(AtomicUsize, Notify)>,
}

impl Default for Drain {
    fn default() -> Self {
        let (tx, _) = watch::channel(false);
        Drain {
            signal: Arc::new(tx),
            open: Arc::new((AtomicUsize::new(0), Notify::new())),
        }
    }
}

/// Held by each open connection.
#[derive(Debug)]
pub struct ConnGuard(Arc<(AtomicUsize, Notify)>);

impl Drop for ConnGuard {
    fn drop(&mut self) {
        if self.0 .0.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0 .1.notify_waiters();
        }
    }
}

impl Drain {
    /// Starts draining.
    pub fn signal(&self) {
        self.signal.send_replace(true);
    }

    /// Whether draining has started.
    pub fn is_draining(&self) -> bool {
        *self.signal.borrow()
    }

    /// Resolves once draining starts.
    pub async fn signaled(&self) {
        let mut rx = self.signal.subscribe();
        let _ = rx.wait_for(|d| *d).await;
    }

    /// Counts a connection until the guard drops.
    pub fn guard(&self) -> ConnGuard {
        self.open.0.fetch_add(1, Ordering::AcqRel);
        ConnGuard(self.open.clone())
    }

    /// Open connections.
    pub fn open(&self) -> usize {
        self.open.0.load(Ordering::Acquire)
    }

    /// Waits until no connection is open or `grace` passes; true if all finished.
    pub async fn wait_idle(&self, grace: Duration) -> bool {
        let wait = async {
            loop {
                let notified = self.open.1.notified();
                if self.open() == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(grace, wait).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_guards() {
        let d = Drain::default();
        let g = d.guard();
        assert!(!d.wait_idle(Duration::from_millis(10)).await);
        let d2 = d.clone();
        let t = tokio::spawn(async move { d2.wait_idle(Duration::from_secs(30)).await });
        drop(g);
        assert!(t.await.unwrap());
        d.signal();
        d.signaled().await;
        assert!(d.is_draining());
    }
}
