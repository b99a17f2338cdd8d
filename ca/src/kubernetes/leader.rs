//! Leader election on a `coordination.k8s.io/v1` Lease, the way client-go's `leaderelection`
//! does it.
//!
//! Every `retry_period` each replica reads the Lease:
//!
//! * it does not exist: create it holding it (a create that loses the race is a `409`);
//! * another replica holds it and its record (holder, renew time) changed less than
//!   `lease_duration` ago **as this replica observed it** (its own monotonic clock, so clock skew
//!   between nodes does not matter): follow;
//! * this replica holds it, or the holder stopped renewing for `lease_duration`: write it with
//!   this replica as holder and a new renew time, carrying the `resourceVersion` read, so of two
//!   replicas trying at once exactly one wins.
//!
//! A leader that cannot renew for `renew_deadline` (shorter than `lease_duration`) steps down
//! before any other replica may take over. A leader that stops (SIGTERM) releases the Lease
//! (empty holder, duration 1 s) so the next one takes over at its next try.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::sync::watch;
use tokio::time::Instant;

use super::{call, KubeSettings};

/// What this replica last saw of the Lease.
struct Observed {
    holder: Option<String>,
    renew: Option<MicroTime>,
    at: Instant,
}

/// When this replica last renewed (or acquired) the Lease, shared between the election loop
/// and every writer: a write is allowed only while the last successful renewal began less than
/// `renew_deadline` ago, so a leader that cannot reach the API server stops writing on its own
/// clock, before any other replica may take the Lease over.
#[derive(Debug, Clone)]
pub struct Leadership {
    last_renew: Arc<Mutex<Option<Instant>>>,
    renew_deadline: Duration,
}

impl Leadership {
    /// No renewal yet; valid for `renew_deadline` after each one.
    pub fn new(renew_deadline: Duration) -> Self {
        Leadership {
            last_renew: Arc::default(),
            renew_deadline,
        }
    }

    fn set(&self, at: Option<Instant>) {
        match self.last_renew.lock() {
            Ok(mut t) => *t = at,
            Err(p) => *p.into_inner() = at,
        }
    }

    /// Whether the last successful renewal began less than the renew deadline ago.
    pub fn valid(&self) -> bool {
        let at = match self.last_renew.lock() {
            Ok(t) => *t,
            Err(p) => *p.into_inner(),
        };
        at.is_some_and(|t| t.elapsed() < self.renew_deadline)
    }
}

/// The election loop of one replica.
pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
    lease_duration: Duration,
    renew_deadline: Duration,
    retry_period: Duration,
    observed: Option<Observed>,
    last_renew: Option<Instant>,
    leadership: Leadership,
}

fn now_micro() -> MicroTime {
    MicroTime(Timestamp::now())
}

impl Elector {
    /// An elector for `settings`' Lease.
    pub fn new(settings: &KubeSettings) -> Self {
        Elector {
            api: Api::namespaced(settings.client.clone(), &settings.namespace),
            name: settings.lease.clone(),
            identity: settings.identity.clone(),
            lease_duration: settings.lease_duration,
            renew_deadline: settings.renew_deadline,
            retry_period: settings.retry_period,
            observed: None,
            last_renew: None,
            leadership: Leadership::new(settings.renew_deadline),
        }
    }

    /// Keeps `leadership` current instead of a clock of its own (shared with the writers).
    pub fn with_leadership(mut self, leadership: Leadership) -> Self {
        self.leadership = leadership;
        self
    }

    fn spec(&self, acquire: Option<MicroTime>, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.lease_duration.as_secs().max(1) as i32),
            acquire_time: acquire,
            renew_time: Some(now_micro()),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }

    /// One attempt to acquire or renew. Whether this replica holds the Lease now.
    pub async fn try_acquire_or_renew(&mut self) -> bool {
        let current = match call(self.api.get_opt(&self.name)).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(lease = %self.name, error = %e, "cannot read the leader Lease");
                return false;
            }
        };
        let Some(lease) = current else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..Default::default()
                },
                spec: Some(self.spec(Some(now_micro()), 0)),
            };
            return match call(self.api.create(&PostParams::default(), &lease)).await {
                Ok(_) => true,
                Err(e) => {
                    if !e.is_conflict() {
                        tracing::warn!(lease = %self.name, error = %e, "cannot create the leader Lease");
                    }
                    false
                }
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let now = Instant::now();
        let changed = self
            .observed
            .as_ref()
            .is_none_or(|o| o.holder != holder || o.renew != spec.renew_time);
        if changed {
            self.observed = Some(Observed {
                holder: holder.clone(),
                renew: spec.renew_time.clone(),
                at: now,
            });
        }
        let mine = holder.as_deref() == Some(self.identity.as_str());
        let held_duration = spec
            .lease_duration_seconds
            .map(|s| Duration::from_secs(s.max(0) as u64))
            .unwrap_or(self.lease_duration);
        let expired = holder.is_none()
            || self
                .observed
                .as_ref()
                .is_some_and(|o| now.duration_since(o.at) >= held_duration);
        if !mine && !expired {
            return false;
        }
        let (acquire, transitions) = if mine {
            (
                spec.acquire_time.clone(),
                spec.lease_transitions.unwrap_or(0),
            )
        } else {
            (Some(now_micro()), spec.lease_transitions.unwrap_or(0) + 1)
        };
        let next = Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                resource_version: lease.metadata.resource_version.clone(),
                ..lease.metadata.clone()
            },
            spec: Some(self.spec(acquire, transitions)),
        };
        match call(self.api.replace(&self.name, &PostParams::default(), &next)).await {
            Ok(written) => {
                let spec = written.spec.unwrap_or_default();
                self.observed = Some(Observed {
                    holder: spec.holder_identity,
                    renew: spec.renew_time,
                    at: Instant::now(),
                });
                if !mine {
                    tracing::info!(lease = %self.name, previous = ?holder, "acquired the leader Lease");
                }
                true
            }
            Err(e) => {
                if !e.is_conflict() {
                    tracing::warn!(lease = %self.name, error = %e, "cannot write the leader Lease");
                }
                false
            }
        }
    }

    /// Gives the Lease up if this replica holds it (on shutdown).
    pub async fn release(&mut self) {
        let Ok(Some(lease)) = call(self.api.get_opt(&self.name)).await else {
            return;
        };
        let spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return;
        }
        let next = Lease {
            metadata: lease.metadata.clone(),
            spec: Some(LeaseSpec {
                holder_identity: None,
                lease_duration_seconds: Some(1),
                acquire_time: None,
                renew_time: Some(now_micro()),
                lease_transitions: spec.lease_transitions,
                ..Default::default()
            }),
        };
        match call(self.api.replace(&self.name, &PostParams::default(), &next)).await {
            Ok(_) => tracing::info!(lease = %self.name, "released the leader Lease"),
            Err(e) => {
                tracing::warn!(lease = %self.name, error = %e, "cannot release the leader Lease")
            }
        }
    }

    /// Runs the election until `stop` turns true, publishing leadership on `leader`; releases
    /// the Lease on the way out if held.
    pub async fn run(mut self, leader: watch::Sender<bool>, mut stop: watch::Receiver<bool>) {
        loop {
            // The renewal counts from when it began; one that hangs past the renew deadline
            // counts as failed (client-go does the same).
            let started = Instant::now();
            let held = tokio::time::timeout(self.renew_deadline, self.try_acquire_or_renew())
                .await
                .unwrap_or(false);
            let now = Instant::now();
            if held {
                self.last_renew = Some(started);
                self.leadership.set(Some(started));
                if !*leader.borrow() {
                    tracing::info!(identity = %self.identity, "leading: this replica rotates and writes the CA state");
                    let _ = leader.send(true);
                }
            } else if self
                .observed
                .as_ref()
                .is_some_and(|o| o.holder.as_deref() != Some(self.identity.as_str()))
            {
                self.leadership.set(None);
            }
            if !held && *leader.borrow() {
                let overdue = self
                    .last_renew
                    .is_none_or(|t| now.duration_since(t) >= self.renew_deadline);
                let lost = self
                    .observed
                    .as_ref()
                    .is_some_and(|o| o.holder.as_deref() != Some(self.identity.as_str()));
                if overdue || lost {
                    self.leadership.set(None);
                    tracing::warn!(identity = %self.identity, "stopped leading: the Lease was not renewed in time or is held by another replica");
                    let _ = leader.send(false);
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.retry_period) => {}
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
        }
        if *leader.borrow() {
            self.leadership.set(None);
            let _ = leader.send(false);
            self.release().await;
        }
    }
}
