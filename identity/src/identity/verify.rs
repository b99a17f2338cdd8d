//! The rustls hooks of an [`Identity`](super::Identity): a resolver that hands out the current
//! certificate, and client/server verifiers that read the current roots and check SPIFFE IDs.

use std::sync::{Arc, Weak};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::ParsedCertificate;
use rustls::sign::CertifiedKey;
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme,
};

use super::sessions::{chain_not_after, ClientSessions};
use super::{IdentityState, SpiffeId};
use crate::pki;
use crate::tls::provider;

/// Why a peer's verified certificate is still refused. Carried inside
/// `rustls::Error::InvalidCertificate(CertificateError::Other(..))`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerIdentityError {
    /// The peer's leaf has no URI SAN, several, or one that is not a SPIFFE ID.
    #[error("peer certificate carries no single SPIFFE ID")]
    NoSpiffeId,
    /// The peer's SPIFFE ID is of another trust domain.
    #[error("peer identity {0} is outside trust domain {1}")]
    ForeignTrustDomain(String, String),
    /// The peer's SPIFFE ID is not in the allow list.
    #[error("peer identity {0} is not allowed")]
    NotAllowed(String),
    /// The identity this verifier belongs to was dropped.
    #[error("identity is shut down")]
    Gone,
    /// There is no trust bundle yet.
    #[error("no trust bundle yet")]
    NoTrust,
}

fn reject(e: PeerIdentityError) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(e))))
}

/// The verified SPIFFE ID of the peer of a finished handshake (either side).
pub fn peer_identity(conn: &rustls::CommonState) -> Option<SpiffeId> {
    let certs = conn.peer_certificates()?;
    peer_identity_from_der(certs.first()?)
}

/// The SPIFFE ID carried by a DER leaf certificate, if it has exactly one valid one.
pub fn peer_identity_from_der(der: &CertificateDer<'_>) -> Option<SpiffeId> {
    pki::spiffe_id_of(der)
}

fn check_identity(
    end_entity: &CertificateDer<'_>,
    trust_domain: &str,
    allow: Option<&[SpiffeId]>,
) -> Result<SpiffeId, PeerIdentityError> {
    let id = pki::spiffe_id_of(end_entity).ok_or(PeerIdentityError::NoSpiffeId)?;
    if id.trust_domain() != trust_domain {
        return Err(PeerIdentityError::ForeignTrustDomain(
            id.to_string(),
            trust_domain.to_owned(),
        ));
    }
    if let Some(list) = allow {
        if !list.contains(&id) {
            return Err(PeerIdentityError::NotAllowed(id.to_string()));
        }
    }
    Ok(id)
}

/// Verifies `chain` (leaf first) up to one of `roots`, as a TLS server certificate would be.
pub(crate) fn verify_chain(
    roots: &RootCertStore,
    chain: &[CertificateDer<'static>],
) -> Result<(), rustls::Error> {
    let (leaf, intermediates) = chain
        .split_first()
        .ok_or(rustls::Error::NoCertificatesPresented)?;
    let parsed = ParsedCertificate::try_from(leaf)?;
    rustls::client::verify_server_cert_signed_by_trust_anchor(
        &parsed,
        roots,
        intermediates,
        UnixTime::now(),
        provider().signature_verification_algorithms.all,
    )
}

/// Hands rustls the current certificate, on both the server and the client side, while it has
/// not expired.
#[derive(Clone)]
pub(crate) struct CurrentCert(pub(crate) Arc<IdentityState>);

impl std::fmt::Debug for CurrentCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CurrentCert({})", self.0.identity)
    }
}

impl CurrentCert {
    /// The current certificate; none once it has expired, so that neither side presents it
    /// (a server then fails even a resumed handshake: rustls resolves the certificate first).
    fn current(&self) -> Option<Arc<CertifiedKey>> {
        self.0.valid_cert()
    }
}

impl rustls::server::ResolvesServerCert for CurrentCert {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current()
    }
}

impl rustls::client::ResolvesClientCert for CurrentCert {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        self.current()
    }
    fn has_certs(&self) -> bool {
        true
    }
}

/// Server side: verifies client certificates against the current roots, then the SPIFFE ID.
#[derive(Debug)]
pub(crate) struct SpiffeClientVerifier {
    shared: Weak<IdentityState>,
    mandatory: bool,
}

impl SpiffeClientVerifier {
    pub(crate) fn new(shared: Weak<IdentityState>, mandatory: bool) -> Self {
        SpiffeClientVerifier { shared, mandatory }
    }
}

impl std::fmt::Debug for IdentityState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identity({})", self.identity)
    }
}

impl ClientCertVerifier for SpiffeClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // The roots change under rotation; mesh clients have exactly one certificate anyway.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let shared = self
            .shared
            .upgrade()
            .ok_or_else(|| reject(PeerIdentityError::Gone))?;
        let trust = shared
            .trust
            .read()
            .map(|t| t.clone())
            .map_err(|_| reject(PeerIdentityError::NoTrust))?;
        let inner = trust
            .client_verifier
            .as_ref()
            .ok_or_else(|| reject(PeerIdentityError::NoTrust))?;
        inner.verify_client_cert(end_entity, intermediates, now)?;
        check_identity(end_entity, &shared.trust_domain, shared.allow.as_deref())
            .map_err(reject)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        handshake_signature(message, cert, dss, false)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        handshake_signature(message, cert, dss, true)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Client side: verifies the server's chain against the current roots (no host-name check), then
/// its SPIFFE ID (trust domain, and the expected identities when given), and tells the config's
/// ticket store when the accepted chain expires.
#[derive(Debug)]
pub(crate) struct SpiffeServerVerifier {
    shared: Weak<IdentityState>,
    expected: Option<Vec<SpiffeId>>,
    sessions: Option<Arc<ClientSessions>>,
}

impl SpiffeServerVerifier {
    pub(crate) fn new(
        shared: Weak<IdentityState>,
        expected: Option<Vec<SpiffeId>>,
        sessions: Option<Arc<ClientSessions>>,
    ) -> Self {
        SpiffeServerVerifier {
            shared,
            expected,
            sessions,
        }
    }
}

impl ServerCertVerifier for SpiffeServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let shared = self
            .shared
            .upgrade()
            .ok_or_else(|| reject(PeerIdentityError::Gone))?;
        let trust = shared
            .trust
            .read()
            .map(|t| t.clone())
            .map_err(|_| reject(PeerIdentityError::NoTrust))?;
        if trust.ders.is_empty() {
            return Err(reject(PeerIdentityError::NoTrust));
        }
        let parsed = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &parsed,
            &trust.roots,
            intermediates,
            now,
            provider().signature_verification_algorithms.all,
        )?;
        check_identity(end_entity, &shared.trust_domain, self.expected.as_deref())
            .map_err(reject)?;
        if let Some(sessions) = &self.sessions {
            let chain: Vec<CertificateDer<'_>> = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| CertificateDer::from(c.as_ref()))
                .collect();
            // Unreadable validity: nothing recorded, so no ticket from this server is kept.
            if let Some(t) = chain_not_after(&chain) {
                sessions.verified(server_name, t);
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        handshake_signature(message, cert, dss, false)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        handshake_signature(message, cert, dss, true)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Checks a handshake signature with the provider's algorithms (both verifiers).
fn handshake_signature(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    tls13: bool,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    let algs = &provider().signature_verification_algorithms;
    if tls13 {
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    } else {
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }
}
