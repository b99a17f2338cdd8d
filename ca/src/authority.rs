//! The signing side of the CA: creating the hierarchy, the rotation state machine, and the
//! [`Signer`] that turns a validated CSR into a leaf.
//!
//! Hierarchy: a self-signed root (ECDSA P-256, `--root-ttl`, one year by default) signs an
//! intermediate issuer (path length 0) that signs leaves. Clients trust only roots.
//!
//! Time drives every transition, in [`CaState::advance`] (called at start and every second):
//!
//! 1. **Issuer rotation**: when the active issuer is `--issuer-rotation` old (7 days by default),
//!    or can no longer cover a full leaf lifetime, a new issuer is made under the signing root.
//!    Issuers live `2 × rotation + leaf TTL` (never past their root), so the old one still
//!    verifies every leaf it signed; nothing changes for clients, who trust only the root.
//! 2. **Root rotation** ([`CaState::start_root_rotation`], from `phimesh ca rotate-root` or
//!    automatically when the signing root has less than a third of its life left): the new root
//!    joins the bundle at once; after the propagation delay signing moves to a new issuer under
//!    it; the old root is marked to leave the bundle at `switch + longest leaf TTL + skew`, the
//!    moment no leaf it signed can still be valid.
//! 3. Expired issuers and retired roots are dropped.

use std::sync::Arc;
use std::time::Duration;

use rcgen::{Issuer, KeyPair};
use rustls_pki_types::CertificateDer;

use crate::pki::{self, CertAndKey, IssuedLeaf, LeafNames, PkiError, ValidatedCsr};
use crate::spiffe::SpiffeId;
use crate::state::{CaState, IssuerEntry, PendingRotation, RootEntry, StateError, STATE_VERSION};

/// Timings of the CA.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The trust domain (`--trust-domain`).
    pub trust_domain: String,
    /// Root lifetime (`--root-ttl`).
    pub root_ttl: Duration,
    /// How often the issuer is replaced (`--issuer-rotation`).
    pub issuer_rotation: Duration,
    /// Leaf lifetime (`--leaf-ttl`).
    pub leaf_ttl: Duration,
    /// Delay between a new root joining the bundle and signing moving to it, for automatic root
    /// rotations (`--propagation-delay`; `rotate-root` takes its own).
    pub propagation_delay: Duration,
}

impl Settings {
    /// Defaults: 1 year root, 7 day issuer rotation, 24 h leaves, 1 h propagation delay.
    pub fn new(trust_domain: impl Into<String>) -> Self {
        Settings {
            trust_domain: trust_domain.into(),
            root_ttl: Duration::from_secs(365 * 86_400),
            issuer_rotation: Duration::from_secs(7 * 86_400),
            leaf_ttl: Duration::from_secs(86_400),
            propagation_delay: Duration::from_secs(3600),
        }
    }

    fn issuer_ttl(&self) -> i64 {
        (2 * self.issuer_rotation + self.leaf_ttl).as_secs() as i64
    }

    /// Clock-skew allowance added before an old root leaves the bundle.
    fn skew(&self) -> i64 {
        (pki::BACKDATE.as_secs() as i64).min(self.leaf_ttl.as_secs() as i64)
    }
}

fn cert_serial(pem: &str) -> Result<String, PkiError> {
    let der = pki::parse_certs_pem(pem)?;
    Ok(pki::cert_info(&der[0])?.serial_hex)
}

fn new_root(settings: &Settings, now: i64) -> Result<RootEntry, PkiError> {
    let ck = pki::make_root(&settings.trust_domain, now, settings.root_ttl)?;
    Ok(RootEntry {
        id: cert_serial(&ck.cert_pem)?,
        not_after: now + settings.root_ttl.as_secs() as i64,
        cert_pem: ck.cert_pem,
        key_pem: ck.key_pem,
        retire_at: None,
    })
}

fn new_issuer(settings: &Settings, root: &RootEntry, now: i64) -> Result<IssuerEntry, PkiError> {
    let root_ck = CertAndKey {
        cert_pem: root.cert_pem.clone(),
        key_pem: root.key_pem.clone(),
    };
    let not_after = (now + settings.issuer_ttl()).min(root.not_after);
    let ck = pki::make_issuer(&root_ck, &settings.trust_domain, now, not_after)?;
    Ok(IssuerEntry {
        id: cert_serial(&ck.cert_pem)?,
        root_id: root.id.clone(),
        cert_pem: ck.cert_pem,
        key_pem: ck.key_pem,
        not_before: now - pki::BACKDATE.as_secs() as i64,
        not_after,
        created_at: now,
    })
}

impl CaState {
    /// A new CA: one root and one issuer under it.
    pub fn create(settings: &Settings, now: i64) -> Result<CaState, StateError> {
        let root = new_root(settings, now)?;
        let issuer = new_issuer(settings, &root, now)?;
        Ok(CaState {
            version: STATE_VERSION,
            generation: 0,
            trust_domain: settings.trust_domain.clone(),
            signing_root: root.id.clone(),
            roots: vec![root],
            issuers: vec![issuer],
            pending: None,
            max_leaf_ttl_secs: settings.leaf_ttl.as_secs(),
        })
    }

    /// Starts a root rotation: a new root joins the bundle now; signing moves to it after `delay`.
    pub fn start_root_rotation(
        &mut self,
        settings: &Settings,
        now: i64,
        delay: Duration,
    ) -> Result<&RootEntry, StateError> {
        if let Some(p) = &self.pending {
            return Err(StateError::RotationInProgress(rfc3339(p.switch_at)));
        }
        let root = new_root(settings, now)?;
        self.pending = Some(PendingRotation {
            new_root_id: root.id.clone(),
            switch_at: now + delay.as_secs() as i64,
        });
        self.roots.push(root);
        Ok(self.roots.last().expect("just pushed"))
    }

    /// Applies every transition due at `now`. Returns whether the state changed (and must be
    /// stored).
    pub fn advance(&mut self, settings: &Settings, now: i64) -> Result<bool, StateError> {
        let mut changed = false;
        if self.max_leaf_ttl_secs < settings.leaf_ttl.as_secs() {
            self.max_leaf_ttl_secs = settings.leaf_ttl.as_secs();
            changed = true;
        }
        let max_leaf = self.max_leaf_ttl_secs as i64;

        // Automatic root rotation when the signing root has a third of its life left.
        if self.pending.is_none() {
            if let Some(root) = self.signing_root_entry() {
                let life = settings.root_ttl.as_secs() as i64;
                if root.not_after - now < life / 3 {
                    tracing::info!(root = %root.id, "signing root is in the last third of its life: starting a root rotation");
                    self.start_root_rotation(settings, now, settings.propagation_delay)?;
                    changed = true;
                }
            }
        }

        // Signing moves to the new root.
        if let Some(p) = self.pending.clone() {
            if now >= p.switch_at {
                let old = self.signing_root.clone();
                let new_root = self
                    .roots
                    .iter()
                    .find(|r| r.id == p.new_root_id)
                    .cloned()
                    .ok_or_else(|| StateError::Missing(p.new_root_id.clone().into()))?;
                let issuer = new_issuer(settings, &new_root, now)?;
                self.issuers.push(issuer);
                self.signing_root = new_root.id.clone();
                self.pending = None;
                let retire = now + max_leaf + settings.skew();
                for r in self.roots.iter_mut().filter(|r| r.id != self.signing_root) {
                    let at = retire.min(r.not_after);
                    r.retire_at = Some(r.retire_at.map_or(at, |t| t.min(at)));
                }
                tracing::info!(old_root = %old, new_root = %self.signing_root, retire_old_at = retire, "signing moved to the new root");
                changed = true;
            }
        }

        // Issuer rotation.
        if let (Some(active), Some(root)) = (self.active_issuer(), self.signing_root_entry()) {
            let old_enough = now - active.created_at >= settings.issuer_rotation.as_secs() as i64;
            let too_short = active.not_after - now < settings.leaf_ttl.as_secs() as i64
                && root.not_after > active.not_after;
            if old_enough || too_short {
                let root = root.clone();
                let issuer = new_issuer(settings, &root, now)?;
                tracing::info!(issuer = %issuer.id, root = %root.id, "issuer rotated");
                self.issuers.push(issuer);
                changed = true;
            }
        }

        // Drop what no longer matters.
        let before = (self.roots.len(), self.issuers.len());
        let signing = self.signing_root.clone();
        let pending_root = self.pending.as_ref().map(|p| p.new_root_id.clone());
        self.roots.retain(|r| {
            r.id == signing
                || Some(&r.id) == pending_root.as_ref()
                || (r.retire_at.is_none_or(|t| t > now) && r.not_after > now)
        });
        let active_id = self.active_issuer().map(|i| i.id.clone());
        let roots: Vec<String> = self.roots.iter().map(|r| r.id.clone()).collect();
        self.issuers.retain(|i| {
            Some(&i.id) == active_id.as_ref() || (i.not_after > now && roots.contains(&i.root_id))
        });
        if before != (self.roots.len(), self.issuers.len()) {
            tracing::info!(
                roots = self.roots.len(),
                issuers = self.issuers.len(),
                "expired roots/issuers removed"
            );
            changed = true;
        }
        Ok(changed)
    }

    /// Adds to this state, as retiring roots, the roots of `previous` (the state this one
    /// replaces) that may still have valid leaves: its signing root, and the roots it was
    /// retiring that are not retired yet. A state restored from an older backup therefore never
    /// takes out of the bundle a root whose leaves are still live; the signing root of
    /// `previous` leaves the bundle a full leaf lifetime (plus skew) from `now`. Returns whether
    /// anything was added.
    pub fn keep_live_roots(&mut self, previous: &CaState, settings: &Settings, now: i64) -> bool {
        let max_leaf = self.max_leaf_ttl_secs.max(previous.max_leaf_ttl_secs);
        let mut added = false;
        for r in &previous.roots {
            if r.not_after <= now || self.roots.iter().any(|x| x.id == r.id) {
                continue;
            }
            let retire_at = if r.id == previous.signing_root {
                (now + max_leaf as i64 + settings.skew()).min(r.not_after)
            } else {
                match r.retire_at {
                    Some(t) if t > now => t,
                    // Never signed (a pending root) or already retired.
                    _ => continue,
                }
            };
            let mut kept = r.clone();
            kept.retire_at = Some(retire_at);
            tracing::warn!(root = %r.id, retire_at, "the CA state adopted lacks a root that may still have live leaves: keeping it in the bundle until they expire");
            self.roots.push(kept);
            added = true;
        }
        if added {
            self.max_leaf_ttl_secs = max_leaf;
        }
        added
    }

    /// Builds the signer for the current state.
    pub fn signer(&self, settings: &Settings, now: i64) -> Result<Signer, PkiError> {
        let active = self
            .active_issuer()
            .ok_or_else(|| PkiError::Certificate("no active issuer".into()))?;
        let root = self
            .signing_root_entry()
            .ok_or_else(|| PkiError::Certificate("no signing root".into()))?;
        let ck = CertAndKey {
            cert_pem: active.cert_pem.clone(),
            key_pem: active.key_pem.clone(),
        };
        let bundle_pem = self.bundle_pem(now);
        let bundle_ders = pki::parse_certs_pem(&bundle_pem)?;
        Ok(Signer {
            issuer: pki::load_issuer(&ck)?,
            issuer_id: active.id.clone(),
            issuer_pem: active.cert_pem.clone(),
            issuer_der: pki::parse_certs_pem(&active.cert_pem)?.remove(0),
            issuer_not_after: active.not_after,
            root_not_after: root.not_after,
            bundle_pem,
            bundle_ders,
            leaf_ttl: settings.leaf_ttl.as_secs() as i64,
            generation: self.generation,
        })
    }
}

/// Starts a root rotation on the state in `dir` (what `phimesh ca rotate-root` does): under the
/// directory lock, so a running CA adopts it at its next tick. Returns the new root's id and when
/// signing moves to it.
pub fn rotate_root(
    dir: &crate::state::StateDir,
    root_ttl: Duration,
    delay: Duration,
    now: i64,
) -> Result<(String, i64), StateError> {
    let lock = dir.lock()?;
    let mut state = dir
        .load(&lock)?
        .ok_or_else(|| StateError::Missing(dir.path().to_owned()))?;
    let mut settings = Settings::new(state.trust_domain.clone());
    settings.root_ttl = root_ttl;
    let id = state.start_root_rotation(&settings, now, delay)?.id.clone();
    dir.store(&lock, &mut state, now)?;
    Ok((id, now + delay.as_secs() as i64))
}

/// Formats Unix seconds as RFC 3339 (UTC).
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// Signs leaves with the active issuer. Immutable: a state change builds a new one.
pub struct Signer {
    issuer: Issuer<'static, KeyPair>,
    /// Serial of the active issuer.
    pub issuer_id: String,
    /// The issuer certificate, PEM (appended to every chain).
    pub issuer_pem: String,
    /// The issuer certificate, DER.
    pub issuer_der: CertificateDer<'static>,
    /// `notAfter` of the issuer.
    pub issuer_not_after: i64,
    /// `notAfter` of the signing root.
    pub root_not_after: i64,
    /// The trust bundle, PEM.
    pub bundle_pem: String,
    /// The trust bundle, DER.
    pub bundle_ders: Vec<CertificateDer<'static>>,
    leaf_ttl: i64,
    /// Generation of the state this signer was made from.
    pub generation: u64,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("issuer_id", &self.issuer_id)
            .field("generation", &self.generation)
            .finish()
    }
}

impl Signer {
    /// Signs a leaf for `identity` (and granted DNS names) valid until `now + leaf TTL`, never past
    /// the issuer.
    pub fn sign(
        &self,
        csr: &ValidatedCsr,
        identity: &SpiffeId,
        dns_names: &[String],
        now: i64,
    ) -> Result<IssuedLeaf, PkiError> {
        let names = LeafNames {
            identity: Some(identity),
            dns_names,
            ip_addrs: &[],
        };
        let not_after = (now + self.leaf_ttl).min(self.issuer_not_after);
        pki::sign_leaf(csr, &names, &self.issuer, now, not_after)
    }

    /// Makes a key and a serving certificate for the CA itself.
    pub fn serving_cert(
        &self,
        identity: &SpiffeId,
        dns_names: &[String],
        ips: &[std::net::IpAddr],
        now: i64,
    ) -> Result<(IssuedLeaf, KeyPair), PkiError> {
        let names = LeafNames {
            identity: Some(identity),
            dns_names,
            ip_addrs: ips,
        };
        let not_after = (now + self.leaf_ttl).min(self.issuer_not_after);
        pki::make_leaf_with_key(&names, &self.issuer, now, not_after)
    }
}

/// A shareable signer.
pub type SharedSigner = Arc<Signer>;

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            trust_domain: "cluster.local".into(),
            root_ttl: Duration::from_secs(3000),
            issuer_rotation: Duration::from_secs(100),
            leaf_ttl: Duration::from_secs(50),
            propagation_delay: Duration::from_secs(20),
        }
    }

    #[test]
    fn issuer_rotates_on_schedule_and_old_ones_expire() {
        let s = settings();
        let t0 = 1_000_000;
        let mut st = CaState::create(&s, t0).unwrap();
        st.validate().unwrap();
        assert!(!st.advance(&s, t0 + 50).unwrap());
        let first = st.active_issuer().unwrap().id.clone();
        assert!(st.advance(&s, t0 + 100).unwrap());
        assert_ne!(st.active_issuer().unwrap().id, first);
        assert_eq!(st.issuers.len(), 2);
        // the first issuer lives 2*100+50 = 250 s
        st.advance(&s, t0 + 251).unwrap();
        assert!(st.issuers.iter().all(|i| i.id != first));
        st.validate().unwrap();
    }

    #[test]
    fn root_rotation_overlaps_then_retires_old_root() {
        let s = settings();
        let t0 = 1_000_000;
        let mut st = CaState::create(&s, t0).unwrap();
        let old = st.signing_root.clone();
        let new = st
            .start_root_rotation(&s, t0 + 10, Duration::from_secs(30))
            .unwrap()
            .id
            .clone();
        assert!(matches!(
            st.start_root_rotation(&s, t0 + 11, Duration::from_secs(30)),
            Err(StateError::RotationInProgress(_))
        ));
        // both roots in the bundle, old still signs
        assert_eq!(st.bundle_roots(t0 + 20).count(), 2);
        st.advance(&s, t0 + 20).unwrap();
        assert_eq!(st.signing_root, old);
        // switch at t0+40: new issuer under the new root
        assert!(st.advance(&s, t0 + 40).unwrap());
        assert_eq!(st.signing_root, new);
        assert_eq!(st.active_issuer().unwrap().root_id, new);
        let retire = st
            .roots
            .iter()
            .find(|r| r.id == old)
            .unwrap()
            .retire_at
            .unwrap();
        assert_eq!(retire, t0 + 40 + 50 + 50); // switch + max leaf TTL + skew (min(60, ttl))
        assert_eq!(st.bundle_roots(retire - 1).count(), 2);
        assert_eq!(st.bundle_roots(retire).count(), 1);
        st.advance(&s, retire).unwrap();
        assert_eq!(st.roots.len(), 1);
        assert!(st.issuers.iter().all(|i| i.root_id == new));
        st.validate().unwrap();
        // the signer chains to the new root only
        let signer = st.signer(&s, retire).unwrap();
        assert_eq!(signer.bundle_ders.len(), 1);
    }

    #[test]
    fn automatic_root_rotation_in_last_third() {
        let s = settings();
        let t0 = 1_000_000;
        let mut st = CaState::create(&s, t0).unwrap();
        assert!(st.pending.is_none());
        st.advance(&s, t0 + 2001).unwrap();
        assert!(st.pending.is_some());
        assert_eq!(st.bundle_roots(t0 + 2001).count(), 2);
    }

    #[test]
    fn a_state_restored_over_a_rotation_keeps_the_roots_with_live_leaves() {
        let s = settings();
        let t0 = 1_000_000;
        let backup = CaState::create(&s, t0).unwrap();
        let mut st = backup.clone();
        st.start_root_rotation(&s, t0, Duration::from_secs(10))
            .unwrap();
        // A pending root never signed: a backup from before the rotation drops it.
        let mut restored = backup.clone();
        assert!(!restored.keep_live_roots(&st, &s, t0 + 5));
        assert_eq!(restored.roots.len(), 1);
        st.advance(&s, t0 + 10).unwrap();
        let new_root = st.signing_root.clone();
        assert_ne!(new_root, backup.signing_root);
        // Signing moved: the root that signed stays until its leaves have expired.
        let mut restored = backup.clone();
        assert!(restored.keep_live_roots(&st, &s, t0 + 20));
        restored.validate().unwrap();
        assert_eq!(restored.signing_root, backup.signing_root);
        let retire = t0 + 20 + 50 + s.skew();
        let kept = restored.roots.iter().find(|r| r.id == new_root).unwrap();
        assert_eq!(kept.retire_at, Some(retire));
        assert_eq!(restored.bundle_roots(t0 + 20).count(), 2);
        // Merging again adds nothing.
        assert!(!restored.clone().keep_live_roots(&st, &s, t0 + 21));
        restored.advance(&s, retire).unwrap();
        assert!(restored.roots.iter().all(|r| r.id != new_root));
        assert_eq!(restored.bundle_roots(retire).count(), 1);
    }

    #[test]
    fn leaves_never_outlive_their_issuer() {
        let mut s = settings();
        s.root_ttl = Duration::from_secs(120);
        let t0 = pki::unix_now();
        let st = CaState::create(&s, t0).unwrap();
        let signer = st.signer(&s, t0).unwrap();
        let key = pki::generate_key(pki::KeyAlgorithm::EcdsaP256).unwrap();
        let id: SpiffeId = "spiffe://cluster.local/ns/a/sa/b".parse().unwrap();
        let csr = ValidatedCsr::from_pem(&pki::make_csr(&key, &id, &[]).unwrap()).unwrap();
        let leaf = signer.sign(&csr, &id, &[], t0 + 100).unwrap();
        assert_eq!(leaf.not_after, t0 + 120);
    }
}
