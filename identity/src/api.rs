//! The identity API's vocabulary, shared by the CA's server and the identity client that talks
//! to it: the wire types of `POST /v1/certificates` and `GET /v1/trust-bundle`, the refusals and
//! their fixed error texts. A leaf module: it imports only the CSR checks' error type.

use std::time::Duration;

use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::pki::CsrError;

/// Largest request body accepted (a CSR in JSON is about 1 KiB).
pub const MAX_BODY: usize = 64 * 1024;

/// Body of `POST /v1/certificates`.
#[derive(Debug, Serialize, Deserialize)]
pub struct CertificateRequest {
    /// PEM `CERTIFICATE REQUEST`.
    pub csr: String,
}

/// Answer of `POST /v1/certificates`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertificateResponse {
    /// PEM chain: leaf first, then the issuer.
    pub certificate_chain: String,
    /// PEM roots currently trusted.
    pub trust_bundle: String,
    /// The leaf's `notAfter`, RFC 3339.
    pub not_after: String,
}

/// Answer of `GET /v1/trust-bundle`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrustBundleResponse {
    /// PEM roots currently trusted.
    pub trust_bundle: String,
}

/// Answer of `GET /v1/mesh` (mesh discovery): the pod IPs that have a sidecar, each with the
/// SPIFFE ID its sidecar holds. An address of the pod network that is not listed has no sidecar.
/// The answer carries an `ETag`; a request with `If-None-Match` of the current one is answered
/// `304 Not Modified` without a body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeshResponse {
    /// The meshed workloads, sorted by address, at most one entry per address.
    pub workloads: Vec<MeshWorkload>,
}

/// One meshed address of [`MeshResponse`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MeshWorkload {
    /// The pod IP.
    pub ip: std::net::IpAddr,
    /// The SPIFFE ID of the pod's sidecar (`spiffe://<td>/ns/<ns>/sa/<sa>`).
    pub identity: String,
}

/// Most workloads one `GET /v1/mesh` answer lists; a source with more serves none (and says
/// so in its log), rather than a partial list.
pub const MAX_MESH_WORKLOADS: usize = 65_536;

/// Largest `GET /v1/mesh` body: [`MAX_MESH_WORKLOADS`] entries of an IPv6 address and a SPIFFE
/// ID of a Kubernetes namespace and service account (at most 63 and 253 bytes) fit. The CA
/// refuses to serve a larger one and a client does not read past it.
pub const MAX_MESH_BODY: usize = 32 * 1024 * 1024;

/// Why a certificate request is refused (the CA answers with its text as JSON `error`).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No `Authorization: Bearer` header.
    #[error("missing bearer token")]
    NoToken,
    /// The token is not known or does not review.
    #[error("unknown or invalid token")]
    BadToken,
    /// The token could not be checked (TokenReview unreachable).
    #[error("token review unavailable")]
    Unavailable,
    /// The CSR is refused.
    #[error("{0}")]
    Csr(CsrError),
    /// The body is not the JSON the route reads.
    #[error("request body is not JSON {{\"csr\": \"<PEM>\"}}")]
    Json,
    /// The body is over [`MAX_BODY`].
    #[error("request body over {MAX_BODY} bytes")]
    TooLarge,
    /// The identity asked for certificates too often.
    #[error("rate limit exceeded for this identity")]
    RateLimited,
    /// The caller's address failed authentication too often; retry after the duration.
    #[error("too many failed authentications from this address")]
    Throttled(Duration),
    /// The body could not be read.
    #[error("could not read the request body")]
    Body,
    /// Anything else.
    #[error("internal error")]
    Internal,
}

impl ApiError {
    /// The HTTP status of this refusal.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NoToken | ApiError::BadToken => StatusCode::UNAUTHORIZED,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Csr(e) => StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            ApiError::Json | ApiError::Body => StatusCode::BAD_REQUEST,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited | ApiError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The bounded `result` label of the CA's issue counter for this refusal.
    pub fn label(&self) -> &'static str {
        match self.status() {
            StatusCode::UNAUTHORIZED => "unauthenticated",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            StatusCode::TOO_MANY_REQUESTS => "rate_limited",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            _ => "error",
        }
    }
}

/// Every `error` text of the identity API's refusals. The identity client repeats a CA's error
/// text in its log lines only when it is one of these: whatever else answered (a gateway, a
/// proxy, a misconfigured address) may echo the request, and the request carries the token.
pub fn api_error_texts() -> Vec<String> {
    use crate::pki::CsrError;
    // Exhaustive matches: a new refusal does not compile until it is listed below.
    fn _every_api_error(e: &ApiError) {
        match e {
            ApiError::NoToken
            | ApiError::BadToken
            | ApiError::Unavailable
            | ApiError::Csr(_)
            | ApiError::Json
            | ApiError::TooLarge
            | ApiError::RateLimited
            | ApiError::Throttled(_)
            | ApiError::Body
            | ApiError::Internal => {}
        }
    }
    fn _every_csr_error(e: &CsrError) {
        match e {
            CsrError::Pem
            | CsrError::TooLarge
            | CsrError::Der
            | CsrError::Signature
            | CsrError::KeyType
            | CsrError::NoIdentity
            | CsrError::BadIdentity
            | CsrError::WrongIdentity
            | CsrError::ExtraNames => {}
        }
    }
    let csr = [
        CsrError::Pem,
        CsrError::TooLarge,
        CsrError::Der,
        CsrError::Signature,
        CsrError::KeyType,
        CsrError::NoIdentity,
        CsrError::BadIdentity,
        CsrError::WrongIdentity,
        CsrError::ExtraNames,
    ];
    let mut v: Vec<String> = [
        ApiError::NoToken,
        ApiError::BadToken,
        ApiError::Unavailable,
        ApiError::Json,
        ApiError::TooLarge,
        ApiError::RateLimited,
        ApiError::Throttled(Duration::ZERO),
        ApiError::Body,
        ApiError::Internal,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    v.extend(csr.into_iter().map(|e| ApiError::Csr(e).to_string()));
    v.extend(ROUTE_ERRORS.iter().map(|s| s.to_string()));
    v
}

/// The `error` texts of the routes' own refusals (see [`api_error_texts`]).
pub const ROUTE_ERRORS: [&str; 3] = ["not ready", "method not allowed", "not found"];
