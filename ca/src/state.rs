//! The CA's persistent state: roots, issuers and rotation progress in one directory.
//!
//! Layout of `--state-dir`:
//!
//! | file | mode | what |
//! | --- | --- | --- |
//! | `ca-state.json` | 0600 | every root and issuer with its private key, the rotation in progress |
//! | `trust-bundle.pem` | 0644 | the roots clients should trust now (for bootstrapping sidecars) |
//! | `.lock` | 0600 | `flock` taken around every read-modify-write, so `phimesh ca rotate-root` and a running CA never lose each other's writes |
//!
//! One JSON file means one atomic write: a new state is written to a temporary file, fsynced,
//! renamed over `ca-state.json`, and the directory is fsynced. A reader therefore sees the old or
//! the new state, never half of one. A state that does not parse or does not hold together (a key
//! that does not match its certificate, a signing root that is missing, ...) is
//! [`StateError::Corrupt`]: the CA stops instead of overwriting it, so an operator can restore it.
//! Keys are never logged; [`CaState`]'s `Debug` omits them.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::pki;

/// File name of the state inside the directory.
pub const STATE_FILE: &str = "ca-state.json";
/// File name of the public trust bundle inside the directory.
pub const BUNDLE_FILE: &str = "trust-bundle.pem";
const LOCK_FILE: &str = ".lock";
const MAX_STATE_BYTES: u64 = 16 * 1024 * 1024;
/// Version of the state format written.
pub const STATE_VERSION: u32 = 1;

/// Errors reading or writing the state directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The directory or a file in it could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// the path
        path: PathBuf,
        /// cause
        source: std::io::Error,
    },
    /// The state exists but is unreadable or inconsistent. It is left untouched.
    #[error("corrupt CA state in {path}: {reason} (refusing to start; restore the file from a backup or move it away)")]
    Corrupt {
        /// the state file
        path: PathBuf,
        /// what is wrong
        reason: String,
    },
    /// The state Secret exists but is unreadable or inconsistent. It is left untouched.
    #[error("corrupt CA state in Secret {secret}: {reason} (refusing to start; restore the Secret from a backup, or delete it to start a new CA)")]
    CorruptSecret {
        /// `namespace/name`
        secret: String,
        /// what is wrong
        reason: String,
    },
    /// The Kubernetes API failed (unreachable, refused, ...).
    #[error("{0}")]
    Api(String),
    /// There is no state Secret (for commands that need one).
    #[error("no CA state in Secret {0} (start `phimesh ca --state-backend kubernetes` once to create it)")]
    MissingSecret(String),
    /// There is no state in the directory (for commands that need one).
    #[error("no CA state in {0} (start `phimesh ca` once to create it)")]
    Missing(PathBuf),
    /// A root rotation was asked for while one is in progress.
    #[error("a root rotation is already in progress: signing moves to the new root at {0}")]
    RotationInProgress(String),
    /// Making a key or certificate failed.
    #[error("{0}")]
    Pki(#[from] pki::PkiError),
}

/// A root CA.
#[derive(Clone, Serialize, Deserialize)]
pub struct RootEntry {
    /// Serial (hex): the root's id.
    pub id: String,
    /// Certificate, PEM.
    pub cert_pem: String,
    /// PKCS#8 key, PEM.
    pub key_pem: String,
    /// `notAfter`, Unix seconds.
    pub not_after: i64,
    /// When the root leaves the trust bundle (set when signing moves away from it).
    #[serde(default)]
    pub retire_at: Option<i64>,
}

/// An intermediate issuer.
#[derive(Clone, Serialize, Deserialize)]
pub struct IssuerEntry {
    /// Serial (hex).
    pub id: String,
    /// The root that signed it.
    pub root_id: String,
    /// Certificate, PEM.
    pub cert_pem: String,
    /// PKCS#8 key, PEM.
    pub key_pem: String,
    /// `notBefore` (backdated), Unix seconds.
    pub not_before: i64,
    /// `notAfter`, Unix seconds.
    pub not_after: i64,
    /// When it was made, Unix seconds (what issuer rotation counts from).
    pub created_at: i64,
}

/// A root rotation in progress: the new root is in the bundle, signing has not moved yet.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingRotation {
    /// The new root's id.
    pub new_root_id: String,
    /// When signing moves to an issuer under the new root, Unix seconds.
    pub switch_at: i64,
}

/// Everything the CA keeps across restarts.
#[derive(Clone, Serialize, Deserialize)]
pub struct CaState {
    /// Format version ([`STATE_VERSION`]).
    pub version: u32,
    /// Incremented by every write; lets a running CA notice another process's write.
    pub generation: u64,
    /// The trust domain the roots were made for.
    pub trust_domain: String,
    /// Roots, oldest first.
    pub roots: Vec<RootEntry>,
    /// Issuers, oldest first; the last one under `signing_root` signs.
    pub issuers: Vec<IssuerEntry>,
    /// The root whose issuer signs leaves now.
    pub signing_root: String,
    /// A root rotation in progress.
    #[serde(default)]
    pub pending: Option<PendingRotation>,
    /// The longest leaf lifetime ever used, seconds: how long an old root must stay trusted after
    /// signing leaves it.
    pub max_leaf_ttl_secs: u64,
}

impl std::fmt::Debug for CaState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaState")
            .field("generation", &self.generation)
            .field("trust_domain", &self.trust_domain)
            .field(
                "roots",
                &self
                    .roots
                    .iter()
                    .map(|r| (&r.id, r.retire_at))
                    .collect::<Vec<_>>(),
            )
            .field(
                "issuers",
                &self
                    .issuers
                    .iter()
                    .map(|i| (&i.id, &i.root_id))
                    .collect::<Vec<_>>(),
            )
            .field("signing_root", &self.signing_root)
            .field("pending", &self.pending)
            .finish()
    }
}

impl CaState {
    /// Checks that the state holds together; `Err(reason)` otherwise.
    pub fn validate(&self) -> Result<(), String> {
        if self.version != STATE_VERSION {
            return Err(format!("unknown state version {}", self.version));
        }
        if self.roots.is_empty() {
            return Err("no root".into());
        }
        for r in &self.roots {
            check_pair(&r.cert_pem, &r.key_pem).map_err(|e| format!("root {}: {e}", r.id))?;
        }
        for i in &self.issuers {
            check_pair(&i.cert_pem, &i.key_pem).map_err(|e| format!("issuer {}: {e}", i.id))?;
            if !self.roots.iter().any(|r| r.id == i.root_id) {
                return Err(format!(
                    "issuer {} names a missing root {}",
                    i.id, i.root_id
                ));
            }
        }
        if !self.roots.iter().any(|r| r.id == self.signing_root) {
            return Err(format!("signing root {} is missing", self.signing_root));
        }
        if self.active_issuer().is_none() {
            return Err("no issuer under the signing root".into());
        }
        if let Some(p) = &self.pending {
            if !self.roots.iter().any(|r| r.id == p.new_root_id) {
                return Err(format!(
                    "pending rotation names a missing root {}",
                    p.new_root_id
                ));
            }
        }
        Ok(())
    }

    /// The issuer that signs now: the newest one under the signing root.
    pub fn active_issuer(&self) -> Option<&IssuerEntry> {
        self.issuers
            .iter()
            .rev()
            .find(|i| i.root_id == self.signing_root)
    }

    /// The root that signs now.
    pub fn signing_root_entry(&self) -> Option<&RootEntry> {
        self.roots.iter().find(|r| r.id == self.signing_root)
    }

    /// Roots that clients must trust at `now`.
    pub fn bundle_roots(&self, now: i64) -> impl Iterator<Item = &RootEntry> {
        self.roots
            .iter()
            .filter(move |r| r.retire_at.is_none_or(|t| t > now) && r.not_after > now)
    }

    /// The trust bundle at `now`, PEM.
    pub fn bundle_pem(&self, now: i64) -> String {
        self.bundle_roots(now)
            .map(|r| r.cert_pem.as_str())
            .collect()
    }
}

fn check_pair(cert_pem: &str, key_pem: &str) -> Result<(), String> {
    let certs = pki::parse_certs_pem(cert_pem).map_err(|e| e.to_string())?;
    let info = pki::cert_info(&certs[0]).map_err(|e| e.to_string())?;
    if !info.is_ca {
        return Err("certificate is not a CA".into());
    }
    let key =
        rcgen::KeyPair::from_pem(key_pem).map_err(|_| "private key does not parse".to_string())?;
    if rcgen::PublicKeyData::subject_public_key_info(&key) != info.spki_der {
        return Err("private key does not match the certificate".into());
    }
    Ok(())
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
}

/// Holds the directory's lock until dropped.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

impl StateDir {
    /// Opens (and creates, mode 0700) the directory.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StateError> {
        let dir = dir.into();
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|source| StateError::Io {
                    path: dir.clone(),
                    source,
                })?;
        }
        if !dir.is_dir() {
            return Err(StateError::Io {
                path: dir.clone(),
                source: std::io::Error::other("not a directory"),
            });
        }
        Ok(StateDir { dir })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Path of the state file.
    pub fn state_path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// Path of the public trust bundle.
    pub fn bundle_path(&self) -> PathBuf {
        self.dir.join(BUNDLE_FILE)
    }

    fn io(&self, path: PathBuf) -> impl FnOnce(std::io::Error) -> StateError {
        move |source| StateError::Io { path, source }
    }

    /// Takes the directory's exclusive lock (blocking; holders keep it for milliseconds).
    pub fn lock(&self) -> Result<StateLock, StateError> {
        let path = self.dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(self.io(path.clone()))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive).map_err(|e| {
            StateError::Io {
                path,
                source: e.into(),
            }
        })?;
        Ok(StateLock { _file: file })
    }

    /// Reads and validates the state; `Ok(None)` when there is none yet.
    pub fn load(&self, _lock: &StateLock) -> Result<Option<CaState>, StateError> {
        let path = self.state_path();
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StateError::Io { path, source: e }),
        };
        let corrupt = |reason: String| StateError::Corrupt {
            path: path.clone(),
            reason,
        };
        let mut bytes = Vec::new();
        file.take(MAX_STATE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(self.io(path.clone()))?;
        if bytes.len() as u64 > MAX_STATE_BYTES {
            return Err(corrupt("file is implausibly large".into()));
        }
        let state: CaState = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(format!("not valid state JSON ({e})")))?;
        state.validate().map_err(corrupt)?;
        Ok(Some(state))
    }

    /// Writes the state atomically (temp file 0600, fsync, rename, fsync dir) after bumping its
    /// generation, then the public trust bundle for `now`.
    pub fn store(
        &self,
        _lock: &StateLock,
        state: &mut CaState,
        now: i64,
    ) -> Result<(), StateError> {
        state.generation += 1;
        let json = serde_json::to_vec_pretty(state).map_err(|e| StateError::Io {
            path: self.state_path(),
            source: std::io::Error::other(e),
        })?;
        self.write_atomic(STATE_FILE, &json, 0o600)?;
        self.write_atomic(BUNDLE_FILE, state.bundle_pem(now).as_bytes(), 0o644)?;
        Ok(())
    }

    fn write_atomic(&self, name: &str, bytes: &[u8], mode: u32) -> Result<(), StateError> {
        let target = self.dir.join(name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let mut f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .map_err(self.io(tmp.clone()))?;
        // `mode` only applies when the file is created: enforce it on a leftover temp file too.
        f.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(self.io(tmp.clone()))?;
        f.write_all(bytes).map_err(self.io(tmp.clone()))?;
        f.sync_all().map_err(self.io(tmp.clone()))?;
        drop(f);
        std::fs::rename(&tmp, &target).map_err(self.io(target.clone()))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(self.io(self.dir.clone()))?;
        Ok(())
    }
}
