//! The webhook's serving certificate: loaded from PEM files, checked (key matches certificate),
//! and reloaded when the files change, so a rotated Secret takes effect without a restart.
//!
//! Kubernetes updates a mounted Secret by swapping a symlink; [`ReloadingCert::reload_if_changed`]
//! compares the files' bytes rather than modification times, so any form of update is seen. A
//! file that is half-written or does not match its key is refused and the previous certificate
//! keeps serving (logged once per change).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Largest certificate or key file read.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// A certificate or key that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file holds no usable PEM item of the expected kind.
    #[error("{path}: {what}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong.
        what: &'static str,
    },
    /// The key is not supported or does not match the certificate.
    #[error("{path}: {source}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// Cause (never key material).
        source: rustls::Error,
    },
}

/// The ring provider: the only one compiled in this workspace.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    use std::io::Read;
    let err = |source| TlsError::Read {
        path: path.to_owned(),
        source,
    };
    let mut buf = Vec::new();
    std::fs::File::open(path)
        .map_err(err)?
        .take(MAX_PEM_BYTES)
        .read_to_end(&mut buf)
        .map_err(err)?;
    Ok(buf)
}

/// Parses a chain and key and checks that they belong together.
pub fn certified_key(
    cert_pem: &[u8],
    key_pem: &[u8],
    cert_path: &Path,
    key_path: &Path,
) -> Result<CertifiedKey, TlsError> {
    let chain: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut &cert_pem[..])
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::Pem {
            path: cert_path.to_owned(),
            what: "malformed PEM",
        })?;
    if chain.is_empty() {
        return Err(TlsError::Pem {
            path: cert_path.to_owned(),
            what: "no CERTIFICATE in the file",
        });
    }
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut &key_pem[..])
        .map_err(|_| TlsError::Pem {
            path: key_path.to_owned(),
            what: "malformed PEM",
        })?
        .ok_or_else(|| TlsError::Pem {
            path: key_path.to_owned(),
            what: "no PRIVATE KEY in the file",
        })?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(|source| TlsError::Key {
        path: key_path.to_owned(),
        source,
    })
}

/// The current serving certificate, swappable while connections use it.
#[derive(Debug)]
pub struct ReloadingCert {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    /// Bytes of the last files seen (loaded or refused), so each change is tried and logged once.
    seen: Mutex<(Vec<u8>, Vec<u8>)>,
}

impl ReloadingCert {
    /// Loads the files; an error here stops the webhook at start.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Self, TlsError> {
        let (c, k) = (read(cert_path)?, read(key_path)?);
        let ck = certified_key(&c, &k, cert_path, key_path)?;
        Ok(ReloadingCert {
            cert_path: cert_path.to_owned(),
            key_path: key_path.to_owned(),
            current: RwLock::new(Arc::new(ck)),
            seen: Mutex::new((c, k)),
        })
    }

    /// Re-reads the files; swaps the certificate in when they changed and are valid.
    /// Returns `Ok(true)` when a new certificate now serves.
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let (c, k) = (read(&self.cert_path)?, read(&self.key_path)?);
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if seen.0 == c && seen.1 == k {
                return Ok(false);
            }
            *seen = (c.clone(), k.clone());
        }
        let ck = certified_key(&c, &k, &self.cert_path, &self.key_path)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(ck);
        Ok(true)
    }

    /// The end-entity certificate now served (DER).
    pub fn current_leaf(&self) -> CertificateDer<'static> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).cert[0].clone()
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        )
    }
}

/// TLS 1.2 and 1.3 with the ring provider, ALPN `h2` and `http/1.1` (the API server uses either).
pub fn server_config(cert: Arc<ReloadingCert>) -> ServerConfig {
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("ring supports TLS 1.2 and 1.3")
        .with_no_client_auth()
        .with_cert_resolver(cert);
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs;

    #[test]
    fn loads_reloads_and_refuses_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let a = certs::generate("phimesh-webhook", "phimesh-system", 30).unwrap();
        let b = certs::generate("phimesh-webhook", "phimesh-system", 30).unwrap();
        let (cp, kp) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
        std::fs::write(&cp, &a.cert_pem).unwrap();
        std::fs::write(&kp, &a.key_pem).unwrap();
        let r = ReloadingCert::load(&cp, &kp).unwrap();
        let first = r.current_leaf();
        assert!(!r.reload_if_changed().unwrap());
        // Certificate of b with key of a: refused, a keeps serving.
        std::fs::write(&cp, &b.cert_pem).unwrap();
        let e = r.reload_if_changed().unwrap_err();
        assert!(matches!(e, TlsError::Key { .. }), "{e}");
        assert_eq!(r.current_leaf(), first);
        std::fs::write(&kp, &b.key_pem).unwrap();
        assert!(r.reload_if_changed().unwrap());
        assert_ne!(r.current_leaf(), first);
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.pem");
        std::fs::write(&p, "not pem").unwrap();
        let e = ReloadingCert::load(&p, &p).unwrap_err().to_string();
        assert!(e.contains("x.pem") && e.contains("no CERTIFICATE"), "{e}");
        let missing = dir.path().join("missing.pem");
        assert!(ReloadingCert::load(&missing, &p).is_err());
    }
}
