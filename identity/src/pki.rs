//! Certificate vocabulary shared by the CA, the identity client and the test PKI: key generation,
//! root/issuer/leaf certificates, CSR validation and certificate inspection.
//!
//! Everything here is synchronous, allocation-bounded by its input, and never panics on untrusted
//! bytes: malformed input is a [`PkiError`] / [`CsrError`].

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType, SerialNumber, SignatureAlgorithm,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateSigningRequestDer};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate};

use crate::spiffe::SpiffeId;

/// How far back `notBefore` is set on issued certificates, so that a peer whose clock is a little
/// behind the CA's still accepts a certificate issued "now".
pub const BACKDATE: Duration = Duration::from_secs(60);

/// Largest CSR (DER) the CA parses. A P-384 CSR with a long SPIFFE ID and a few DNS names is well
/// under 2 KiB.
pub const MAX_CSR_DER: usize = 16 * 1024;

/// Errors making or reading certificates and keys (not the CSR checks: see [`CsrError`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// rcgen refused to build or sign a certificate (a bug or an invalid name).
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// A PEM certificate or key could not be read.
    #[error("invalid PEM: {0}")]
    Pem(String),
    /// A certificate's DER could not be parsed.
    #[error("invalid certificate: {0}")]
    Certificate(String),
}

/// Why a CSR is refused. [`CsrError::status`] maps each case to the API's HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsrError {
    /// No `CERTIFICATE REQUEST` PEM block, or bad base64.
    #[error("csr is not a PEM CERTIFICATE REQUEST")]
    Pem,
    /// Larger than [`MAX_CSR_DER`].
    #[error("csr is larger than {MAX_CSR_DER} bytes")]
    TooLarge,
    /// The DER is not a PKCS#10 request.
    #[error("csr is not a valid PKCS#10 request")]
    Der,
    /// The request's self-signature does not verify (tampered, or signed by another key).
    #[error("csr signature does not verify")]
    Signature,
    /// Key type other than ECDSA P-256, ECDSA P-384 or Ed25519 (RSA, P-521, ...).
    #[error("csr key type is not allowed (allowed: ECDSA P-256, ECDSA P-384, Ed25519)")]
    KeyType,
    /// The CSR carries no URI SAN naming a SPIFFE ID.
    #[error("csr has no SPIFFE ID URI SAN")]
    NoIdentity,
    /// A URI SAN that is not a valid SPIFFE ID.
    #[error("csr URI SAN is not a valid SPIFFE ID")]
    BadIdentity,
    /// The CSR asks for a different identity than the token grants.
    #[error("csr asks for an identity the token does not grant")]
    WrongIdentity,
    /// The CSR asks for more than one URI, or for DNS/IP/e-mail/other names not granted.
    #[error("csr asks for subject alternative names the token does not grant")]
    ExtraNames,
}

impl CsrError {
    /// HTTP status of the identity API for this refusal: 403 for identity or names the caller may
    /// not have, 400 for everything malformed.
    pub fn status(&self) -> u16 {
        match self {
            CsrError::WrongIdentity | CsrError::ExtraNames => 403,
            _ => 400,
        }
    }
}

/// Public key algorithms a workload may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// ECDSA on P-256 (the default; what the identity client makes).
    EcdsaP256,
    /// ECDSA on P-384.
    EcdsaP384,
    /// Ed25519.
    Ed25519,
}

impl KeyAlgorithm {
    fn rcgen(self) -> &'static SignatureAlgorithm {
        match self {
            KeyAlgorithm::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyAlgorithm::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyAlgorithm::Ed25519 => &rcgen::PKCS_ED25519,
        }
    }
}

/// A validated CSR: its signature verified, its key type allowed, its names extracted.
#[derive(Clone)]
pub struct ValidatedCsr {
    public_key: CsrPublicKey,
    /// The URI SANs requested.
    pub uris: Vec<String>,
    /// The DNS SANs requested.
    pub dns_names: Vec<String>,
    /// Whether IP, e-mail or any other SAN kind was requested (never granted).
    pub other_names: bool,
}

impl std::fmt::Debug for ValidatedCsr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatedCsr")
            .field("key", &self.public_key.alg)
            .field("uris", &self.uris)
            .field("dns_names", &self.dns_names)
            .finish()
    }
}

#[derive(Clone)]
struct CsrPublicKey {
    alg: KeyAlgorithm,
    raw: Vec<u8>,
}

impl PublicKeyData for CsrPublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.raw
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.alg.rcgen()
    }
}

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_ED25519: &str = "1.3.101.112";

impl ValidatedCsr {
    /// Reads a PEM `CERTIFICATE REQUEST`, verifies its self-signature and key type.
    pub fn from_pem(pem: &str) -> Result<Self, CsrError> {
        let der = CertificateSigningRequestDer::from_pem_slice(pem.as_bytes())
            .map_err(|_| CsrError::Pem)?;
        Self::from_der(der.as_ref())
    }

    /// Same as [`from_pem`](Self::from_pem) for DER bytes.
    pub fn from_der(der: &[u8]) -> Result<Self, CsrError> {
        if der.len() > MAX_CSR_DER {
            return Err(CsrError::TooLarge);
        }
        let (rest, csr) =
            x509_parser::certification_request::X509CertificationRequest::from_der(der)
                .map_err(|_| CsrError::Der)?;
        if !rest.is_empty() {
            return Err(CsrError::Der);
        }
        let spki = &csr.certification_request_info.subject_pki;
        let alg_oid = spki.algorithm.algorithm.to_id_string();
        let alg = if alg_oid == OID_ED25519 {
            KeyAlgorithm::Ed25519
        } else if alg_oid == OID_EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            match curve.as_deref() {
                Some(OID_P256) => KeyAlgorithm::EcdsaP256,
                Some(OID_P384) => KeyAlgorithm::EcdsaP384,
                _ => return Err(CsrError::KeyType),
            }
        } else {
            return Err(CsrError::KeyType);
        };
        csr.verify_signature().map_err(|_| CsrError::Signature)?;

        let mut uris = Vec::new();
        let mut dns_names = Vec::new();
        let mut other_names = false;
        if let Some(exts) = csr.requested_extensions() {
            for ext in exts {
                if let ParsedExtension::SubjectAlternativeName(san) = ext {
                    for name in &san.general_names {
                        match name {
                            GeneralName::URI(u) => uris.push((*u).to_owned()),
                            GeneralName::DNSName(d) => dns_names.push((*d).to_owned()),
                            _ => other_names = true,
                        }
                    }
                }
                // Other requested extensions (key usage, basic constraints, ...) are ignored: the
                // CA decides every extension of the leaf itself.
            }
        }
        Ok(ValidatedCsr {
            public_key: CsrPublicKey {
                alg,
                raw: spki.subject_public_key.data.to_vec(),
            },
            uris,
            dns_names,
            other_names,
        })
    }

    /// The key algorithm of the request.
    pub fn key_algorithm(&self) -> KeyAlgorithm {
        self.public_key.alg
    }

    /// Checks that the CSR asks for exactly `granted` as its only URI SAN and for no DNS name
    /// outside `allowed_dns`, and no other kind of name.
    pub fn check_names(&self, granted: &SpiffeId, allowed_dns: &[String]) -> Result<(), CsrError> {
        let Some(first) = self.uris.first() else {
            return Err(CsrError::NoIdentity);
        };
        let requested = SpiffeId::parse(first).map_err(|_| CsrError::BadIdentity)?;
        if &requested != granted {
            return Err(CsrError::WrongIdentity);
        }
        if self.uris.len() > 1 || self.other_names {
            return Err(CsrError::ExtraNames);
        }
        if self
            .dns_names
            .iter()
            .any(|d| !allowed_dns.iter().any(|a| a.eq_ignore_ascii_case(d)))
        {
            return Err(CsrError::ExtraNames);
        }
        Ok(())
    }
}

/// Current time as Unix seconds.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn odt(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A fresh random 128-bit serial number.
pub fn random_serial() -> SerialNumber {
    let bytes: [u8; 16] = rand::random();
    SerialNumber::from_slice(&bytes)
}

/// Generates a private key of the given algorithm.
pub fn generate_key(alg: KeyAlgorithm) -> Result<KeyPair, PkiError> {
    Ok(KeyPair::generate_for(alg.rcgen())?)
}

/// A certificate and its private key, both PEM. `Debug` never shows the key.
#[derive(Clone)]
pub struct CertAndKey {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The PKCS#8 private key, PEM.
    pub key_pem: String,
}

impl std::fmt::Debug for CertAndKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertAndKey")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

fn ca_params(cn: &str, not_before: i64, not_after: i64, path_len: Option<u8>) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "phimesh");
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.not_before = odt(not_before);
    params.not_after = odt(not_after);
    params.serial_number = Some(random_serial());
    params.is_ca = IsCa::Ca(match path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.use_authority_key_identifier_extension = true;
    params
}

/// Makes a self-signed root (ECDSA P-256) valid from `now` for `ttl`, allowed one intermediate.
pub fn make_root(trust_domain: &str, now: i64, ttl: Duration) -> Result<CertAndKey, PkiError> {
    let key = generate_key(KeyAlgorithm::EcdsaP256)?;
    let cn = format!(
        "phimesh root CA {trust_domain} {}",
        hex(&rand::random::<[u8; 6]>())
    );
    let mut params = ca_params(
        &cn,
        now - BACKDATE.as_secs() as i64,
        now + ttl.as_secs() as i64,
        Some(1),
    );
    params.use_authority_key_identifier_extension = false;
    let cert = params.self_signed(&key)?;
    Ok(CertAndKey {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Loads an issuing CA (root or intermediate) from PEM for signing.
pub fn load_issuer(ca: &CertAndKey) -> Result<Issuer<'static, KeyPair>, PkiError> {
    let key = KeyPair::from_pem(&ca.key_pem).map_err(|e| PkiError::Pem(e.to_string()))?;
    Issuer::from_ca_cert_pem(&ca.cert_pem, key).map_err(|e| PkiError::Certificate(e.to_string()))
}

/// Makes an intermediate issuer (ECDSA P-256, path length 0) signed by `root`, valid from `now`
/// until `not_after` (the caller keeps it inside the root's validity).
pub fn make_issuer(
    root: &CertAndKey,
    trust_domain: &str,
    now: i64,
    not_after: i64,
) -> Result<CertAndKey, PkiError> {
    let root_issuer = load_issuer(root)?;
    let key = generate_key(KeyAlgorithm::EcdsaP256)?;
    let cn = format!(
        "phimesh issuer {trust_domain} {}",
        hex(&rand::random::<[u8; 6]>())
    );
    let params = ca_params(&cn, now - BACKDATE.as_secs() as i64, not_after, Some(0));
    let cert = params.signed_by(&key, &root_issuer)?;
    Ok(CertAndKey {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// What a leaf says about its subject.
#[derive(Debug, Clone)]
pub struct LeafNames<'a> {
    /// The SPIFFE ID, carried as the only URI SAN.
    pub identity: Option<&'a SpiffeId>,
    /// DNS SANs (only for identities allowed them, and the CA's own serving certificate).
    pub dns_names: &'a [String],
    /// IP SANs (only the CA's own serving certificate).
    pub ip_addrs: &'a [IpAddr],
}

fn leaf_params(
    names: &LeafNames<'_>,
    not_before: i64,
    not_after: i64,
) -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::default();
    // Subject: empty apart from an O, as SPIFFE recommends; the identity is in the SAN.
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "phimesh");
    params.distinguished_name = dn;
    params.not_before = odt(not_before);
    params.not_after = odt(not_after);
    params.serial_number = Some(random_serial());
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.use_authority_key_identifier_extension = true;
    if let Some(id) = names.identity {
        params.subject_alt_names.push(SanType::URI(
            id.as_str()
                .try_into()
                .map_err(|e: rcgen::Error| PkiError::Generate(e))?,
        ));
    }
    for d in names.dns_names {
        params
            .subject_alt_names
            .push(SanType::DnsName(d.as_str().try_into()?));
    }
    for ip in names.ip_addrs {
        params.subject_alt_names.push(SanType::IpAddress(*ip));
    }
    Ok(params)
}

/// An issued leaf: DER, PEM, serial (hex) and validity.
#[derive(Debug, Clone)]
pub struct IssuedLeaf {
    /// The certificate, DER.
    pub der: CertificateDer<'static>,
    /// The certificate, PEM.
    pub pem: String,
    /// Serial number, lower-case hex.
    pub serial_hex: String,
    /// `notAfter`, Unix seconds.
    pub not_after: i64,
}

/// Signs a leaf for a validated CSR's public key. `not_before` is backdated by [`BACKDATE`].
pub fn sign_leaf(
    csr: &ValidatedCsr,
    names: &LeafNames<'_>,
    issuer: &Issuer<'_, KeyPair>,
    now: i64,
    not_after: i64,
) -> Result<IssuedLeaf, PkiError> {
    let params = leaf_params(names, now - BACKDATE.as_secs() as i64, not_after)?;
    let serial_hex = hex(params
        .serial_number
        .as_ref()
        .map(|s| s.to_bytes())
        .unwrap_or_default()
        .as_slice());
    let cert = params.signed_by(&csr.public_key, issuer)?;
    Ok(IssuedLeaf {
        pem: cert.pem(),
        der: cert.der().clone(),
        serial_hex,
        not_after,
    })
}

/// Makes a key pair and a leaf for it in one step (the CA's serving certificate, the test PKI).
pub fn make_leaf_with_key(
    names: &LeafNames<'_>,
    issuer: &Issuer<'_, KeyPair>,
    now: i64,
    not_after: i64,
) -> Result<(IssuedLeaf, KeyPair), PkiError> {
    let key = generate_key(KeyAlgorithm::EcdsaP256)?;
    let params = leaf_params(names, now - BACKDATE.as_secs() as i64, not_after)?;
    let serial_hex = hex(params
        .serial_number
        .as_ref()
        .map(|s| s.to_bytes())
        .unwrap_or_default()
        .as_slice());
    let cert = params.signed_by(&key, issuer)?;
    Ok((
        IssuedLeaf {
            pem: cert.pem(),
            der: cert.der().clone(),
            serial_hex,
            not_after,
        },
        key,
    ))
}

/// Builds a PEM CSR asking for `identity` (and optional DNS names) with `key`.
pub fn make_csr(
    key: &KeyPair,
    identity: &SpiffeId,
    dns_names: &[String],
) -> Result<String, PkiError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.subject_alt_names.push(SanType::URI(
        identity
            .as_str()
            .try_into()
            .map_err(|e: rcgen::Error| PkiError::Generate(e))?,
    ));
    for d in dns_names {
        params
            .subject_alt_names
            .push(SanType::DnsName(d.as_str().try_into()?));
    }
    Ok(params.serialize_request(key)?.pem()?)
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Reads every `CERTIFICATE` block of a PEM string. Errors if there is none or one is malformed.
pub fn parse_certs_pem(pem: &str) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let mut out = Vec::new();
    for item in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        out.push(item.map_err(|e| PkiError::Pem(e.to_string()))?);
    }
    if out.is_empty() {
        return Err(PkiError::Pem("no CERTIFICATE block".into()));
    }
    Ok(out)
}

/// Encodes DER certificates as PEM.
pub fn certs_to_pem(certs: &[CertificateDer<'_>]) -> String {
    use base64::Engine;
    let mut s = String::new();
    for c in certs {
        s.push_str("-----BEGIN CERTIFICATE-----\n");
        let b64 = base64::engine::general_purpose::STANDARD.encode(c.as_ref());
        for line in b64.as_bytes().chunks(64) {
            s.push_str(std::str::from_utf8(line).unwrap_or_default());
            s.push('\n');
        }
        s.push_str("-----END CERTIFICATE-----\n");
    }
    s
}

/// Facts read from a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// `notBefore`, Unix seconds.
    pub not_before: i64,
    /// `notAfter`, Unix seconds.
    pub not_after: i64,
    /// Serial number, lower-case hex without leading zero bytes.
    pub serial_hex: String,
    /// URI SANs.
    pub uris: Vec<String>,
    /// Whether basicConstraints says CA.
    pub is_ca: bool,
    /// DER of the SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
}

/// Reads validity, serial, URI SANs and the public key from a DER certificate.
pub fn cert_info(der: &[u8]) -> Result<CertInfo, PkiError> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| PkiError::Certificate(e.to_string()))?;
    let mut uris = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            if let GeneralName::URI(u) = n {
                uris.push((*u).to_owned());
            }
        }
    }
    let serial = cert.raw_serial();
    let serial = match serial.iter().position(|b| *b != 0) {
        Some(i) => &serial[i..],
        None => serial,
    };
    Ok(CertInfo {
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        serial_hex: hex(serial),
        uris,
        is_ca: cert.is_ca(),
        spki_der: cert.public_key().raw.to_vec(),
    })
}

/// The SPIFFE ID of a certificate: its URI SAN, when there is exactly one and it parses.
pub fn spiffe_id_of(der: &[u8]) -> Option<SpiffeId> {
    let info = cert_info(der).ok()?;
    match info.uris.as_slice() {
        [one] => SpiffeId::parse(one).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> SpiffeId {
        SpiffeId::parse("spiffe://cluster.local/ns/default/sa/web").unwrap()
    }

    #[test]
    fn csr_round_trip_for_each_allowed_key_type() {
        for alg in [
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
            KeyAlgorithm::Ed25519,
        ] {
            let key = generate_key(alg).unwrap();
            let pem = make_csr(&key, &id(), &[]).unwrap();
            let csr = ValidatedCsr::from_pem(&pem).unwrap();
            assert_eq!(csr.key_algorithm(), alg);
            assert_eq!(csr.uris, vec![id().to_string()]);
            csr.check_names(&id(), &[]).unwrap();
        }
    }

    #[test]
    fn refuses_rsa_and_p521() {
        // made with `openssl req -new -newkey rsa:2048` / `ec_paramgen_curve:P-521`
        for pem in [
            include_str!("testdata/rsa.csr"),
            include_str!("testdata/p521.csr"),
        ] {
            assert_eq!(ValidatedCsr::from_pem(pem).unwrap_err(), CsrError::KeyType);
        }
    }

    #[test]
    fn tampered_csr_fails_signature() {
        let key = generate_key(KeyAlgorithm::EcdsaP256).unwrap();
        let pem = make_csr(&key, &id(), &[]).unwrap();
        let mut der = CertificateSigningRequestDer::from_pem_slice(pem.as_bytes())
            .unwrap()
            .as_ref()
            .to_vec();
        // flip a byte inside the SPIFFE ID (in the signed part)
        let needle = b"default";
        let pos = der.windows(needle.len()).position(|w| w == needle).unwrap();
        der[pos] = b'D';
        assert_eq!(
            ValidatedCsr::from_der(&der).unwrap_err(),
            CsrError::Signature
        );
    }

    #[test]
    fn names_checked() {
        let key = generate_key(KeyAlgorithm::EcdsaP256).unwrap();
        let other = SpiffeId::parse("spiffe://cluster.local/ns/default/sa/db").unwrap();
        let csr = ValidatedCsr::from_pem(&make_csr(&key, &other, &[]).unwrap()).unwrap();
        assert_eq!(csr.check_names(&id(), &[]), Err(CsrError::WrongIdentity));
        let csr =
            ValidatedCsr::from_pem(&make_csr(&key, &id(), &["web.default.svc".into()]).unwrap())
                .unwrap();
        assert_eq!(csr.check_names(&id(), &[]), Err(CsrError::ExtraNames));
        csr.check_names(&id(), &["web.default.svc".into()]).unwrap();
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let key = generate_key(KeyAlgorithm::EcdsaP256).unwrap();
        let good = CertificateSigningRequestDer::from_pem_slice(
            make_csr(&key, &id(), &[]).unwrap().as_bytes(),
        )
        .unwrap()
        .as_ref()
        .to_vec();
        for i in 0..3000 {
            let mut der = good.clone();
            if i % 3 == 0 {
                der.truncate(rng.gen_range(0..good.len()));
            } else {
                for _ in 0..rng.gen_range(1..4) {
                    let p = rng.gen_range(0..der.len());
                    der[p] = rng.gen();
                }
            }
            let _ = ValidatedCsr::from_der(&der);
        }
        assert_eq!(
            ValidatedCsr::from_pem("not pem").unwrap_err(),
            CsrError::Pem
        );
        assert_eq!(
            ValidatedCsr::from_der(&vec![0x30; MAX_CSR_DER + 1]).unwrap_err(),
            CsrError::TooLarge
        );
    }

    #[test]
    fn leaf_has_identity_usages_and_backdating() {
        let now = unix_now();
        let root = make_root("cluster.local", now, Duration::from_secs(3600)).unwrap();
        let issuer_ck = make_issuer(&root, "cluster.local", now, now + 1800).unwrap();
        let issuer = load_issuer(&issuer_ck).unwrap();
        let key = generate_key(KeyAlgorithm::EcdsaP256).unwrap();
        let csr = ValidatedCsr::from_pem(&make_csr(&key, &id(), &[]).unwrap()).unwrap();
        let identity = id();
        let names = LeafNames {
            identity: Some(&identity),
            dns_names: &[],
            ip_addrs: &[],
        };
        let leaf = sign_leaf(&csr, &names, &issuer, now, now + 600).unwrap();
        let info = cert_info(&leaf.der).unwrap();
        assert_eq!(info.uris, vec![identity.to_string()]);
        assert_eq!(info.not_before, now - BACKDATE.as_secs() as i64);
        assert_eq!(info.not_after, now + 600);
        assert_eq!(info.serial_hex, leaf.serial_hex.trim_start_matches("00"));
        assert!(!info.is_ca);
        assert_eq!(spiffe_id_of(&leaf.der), Some(identity));
        let (_, cert) = X509Certificate::from_der(&leaf.der).unwrap();
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && eku.client_auth && !eku.any);
        let ku = cert.key_usage().unwrap().unwrap().value;
        assert!(ku.digital_signature() && !ku.key_cert_sign());
        assert_eq!(
            cert.public_key().raw,
            key.subject_public_key_info().as_slice()
        );
    }
}
