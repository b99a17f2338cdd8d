//! An in-memory PKI for tests and the demo: a root, an issuer and leaves for any SPIFFE ID, made in
//! milliseconds, with the same certificate profile the CA issues.
//!
//! ```
//! use phimesh_identity::testing::TestPki;
//! let pki = TestPki::new("cluster.local");
//! let web = pki.identity("spiffe://cluster.local/ns/default/sa/web");
//! assert!(web.is_ready());
//! ```

use std::sync::Arc;
use std::time::Duration;

use rcgen::{Issuer, KeyPair};

use crate::identity::Identity;
use crate::pki::{self, CertAndKey, LeafNames};
use crate::spiffe::SpiffeId;

/// A root and an issuer under it, kept in memory.
pub struct TestPki {
    trust_domain: String,
    root: CertAndKey,
    issuer: CertAndKey,
    signer: Issuer<'static, KeyPair>,
}

/// A leaf certificate chain (leaf, issuer) and its private key, PEM.
#[derive(Clone)]
pub struct TestLeaf {
    /// Leaf then issuer, PEM.
    pub chain_pem: String,
    /// PKCS#8 private key, PEM.
    pub key_pem: String,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TestPki({})", self.trust_domain)
    }
}

impl TestPki {
    /// A fresh root (valid 1 day) and issuer for `trust_domain`.
    pub fn new(trust_domain: &str) -> Self {
        let now = pki::unix_now();
        let root = pki::make_root(trust_domain, now, Duration::from_secs(86_400)).expect("root");
        let issuer = pki::make_issuer(&root, trust_domain, now, now + 86_000).expect("issuer");
        let signer = pki::load_issuer(&issuer).expect("issuer loads");
        TestPki {
            trust_domain: trust_domain.to_owned(),
            root,
            issuer,
            signer,
        }
    }

    /// The trust bundle (the root), PEM.
    pub fn bundle_pem(&self) -> String {
        self.root.cert_pem.clone()
    }

    /// The trust domain.
    pub fn trust_domain(&self) -> &str {
        &self.trust_domain
    }

    /// A leaf for `id` valid for `ttl` (an hour if `None`).
    pub fn leaf(&self, id: &SpiffeId, ttl: Option<Duration>) -> TestLeaf {
        let now = pki::unix_now();
        let ttl = ttl.unwrap_or(Duration::from_secs(3600)).as_secs() as i64;
        let names = LeafNames {
            identity: Some(id),
            dns_names: &[],
            ip_addrs: &[],
        };
        let (leaf, key) =
            pki::make_leaf_with_key(&names, &self.signer, now, now + ttl).expect("leaf");
        TestLeaf {
            chain_pem: format!("{}{}", leaf.pem, self.issuer.cert_pem),
            key_pem: key.serialize_pem(),
        }
    }

    /// A ready [`Identity`] for `id` accepting any peer of the trust domain. Panics on a bad ID.
    pub fn identity(&self, id: &str) -> Identity {
        self.identity_allowing(id, None)
    }

    /// A ready [`Identity`] for `id` accepting only `allow` inbound (when `Some`).
    pub fn identity_allowing(&self, id: &str, allow: Option<Vec<SpiffeId>>) -> Identity {
        let id: SpiffeId = id.parse().expect("valid SPIFFE ID");
        let leaf = self.leaf(&id, None);
        Identity::from_static(
            &leaf.chain_pem,
            &leaf.key_pem,
            &self.bundle_pem(),
            &self.trust_domain,
            allow,
        )
        .expect("test identity")
    }
}

/// A TLS client configuration (this crate's provider, webpki with host-name checks) trusting the
/// roots in `bundle_pem`: what a test's HTTPS client of the CA uses.
///
/// # Panics
/// When `bundle_pem` holds a certificate that does not parse.
pub fn client_config_for(bundle_pem: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in pki::parse_certs_pem(bundle_pem).expect("trust bundle PEM") {
        roots.add(c).expect("trust bundle certificate");
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}
