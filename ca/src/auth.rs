//! Who may have which identity: bearer tokens mapped to SPIFFE IDs.
//!
//! Two sources, tried in order:
//!
//! 1. **The static token file** (`--tokens`): one `TOKEN SPIFFE_ID [DNS_NAME...]` a line, `#`
//!    comments, blank lines ignored. Extra words after the ID are DNS names that identity may
//!    also put in its certificate (none by default). Read at start (an error stops the CA) and on
//!    SIGHUP (an error keeps the previous file and is logged). Tokens are held as SHA-256 digests
//!    and never logged.
//! 2. **Kubernetes TokenReview** (`--kube-api`, or in-cluster config when
//!    `KUBERNETES_SERVICE_HOST` is set): the token is sent to
//!    `POST /apis/authentication.k8s.io/v1/tokenreviews` with audience `phimesh-ca` through a
//!    `kube` client, authenticated with the CA's own service-account token (its file is re-read
//!    for each review, as the kubelet rotates it, and the client rebuilt when it changed). The
//!    API server's roots and the token file are read at start: a missing one stops the CA. An authenticated
//!    `system:serviceaccount:NS:SA` becomes `spiffe://<trust-domain>/ns/NS/sa/SA`. Positive answers
//!    are cached for a minute (bounded), so a restart storm does not flood the API server. In
//!    this repository the TokenReview path is tested against a small fake API server written to
//!    the published `authentication.k8s.io/v1` API (real HTTPS, real JSON), not a real cluster.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use kube::api::{Api, PostParams};

use crate::spiffe::SpiffeId;

/// The audience sidecar tokens are minted for.
pub const AUDIENCE: &str = "phimesh-ca";
/// Deadline of one TokenReview.
const REVIEW_TIMEOUT: Duration = Duration::from_secs(5);
const CACHE_TTL: Duration = Duration::from_secs(60);
const CACHE_MAX: usize = 10_000;
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// What a token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The identity.
    pub identity: SpiffeId,
    /// DNS names the identity may also carry.
    pub dns_names: Vec<String>,
}

/// Why a token does not authenticate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No such token (static file), or TokenReview says not authenticated.
    #[error("unknown or invalid token")]
    Unknown,
    /// TokenReview authenticated someone who is not a service account.
    #[error("token does not belong to a service account")]
    NotServiceAccount,
    /// TokenReview could not be asked (API server down, bad answer).
    #[error("token review unavailable: {0}")]
    Unavailable(String),
    /// The TokenReview client cannot be set up (bad `--kube-api`, unreadable roots or token).
    #[error("TokenReview client: {0}")]
    Kube(String),
    /// The token file is unusable.
    #[error("token file {path}: {reason}")]
    File {
        /// the file
        path: PathBuf,
        /// what is wrong (never the token)
        reason: String,
    },
}

type Digest = [u8; 32];

fn digest(token: &str) -> Digest {
    let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// A parsed token file.
#[derive(Debug, Default)]
pub struct TokenFile {
    grants: HashMap<Digest, Grant>,
}

impl TokenFile {
    /// Reads and parses a token file; every identity must be in `trust_domain`.
    pub fn load(path: &Path, trust_domain: &str) -> Result<Self, AuthError> {
        let err = |reason: String| AuthError::File {
            path: path.to_owned(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
        if meta.len() > 16 * 1024 * 1024 {
            return Err(err("larger than 16 MiB".into()));
        }
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        Self::parse(&text, trust_domain).map_err(err)
    }

    /// Parses token file text.
    pub fn parse(text: &str, trust_domain: &str) -> Result<Self, String> {
        let mut grants = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(token), Some(id)) = (words.next(), words.next()) else {
                return Err(format!(
                    "line {}: expected `TOKEN SPIFFE_ID [DNS_NAME...]`",
                    n + 1
                ));
            };
            let identity = SpiffeId::parse(id).map_err(|e| format!("line {}: {e}", n + 1))?;
            if identity.trust_domain() != trust_domain {
                return Err(format!(
                    "line {}: {identity} is not in trust domain {trust_domain}",
                    n + 1
                ));
            }
            let dns_names: Vec<String> = words.map(str::to_owned).collect();
            for d in &dns_names {
                if rcgen::string::Ia5String::try_from(d.as_str()).is_err() || d.is_empty() {
                    return Err(format!("line {}: invalid DNS name", n + 1));
                }
            }
            if grants
                .insert(
                    digest(token),
                    Grant {
                        identity,
                        dns_names,
                    },
                )
                .is_some()
            {
                return Err(format!("line {}: duplicate token", n + 1));
            }
        }
        Ok(TokenFile { grants })
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.grants.len()
    }

    /// Whether the file has no token.
    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }

    fn lookup(&self, token: &str) -> Option<&Grant> {
        self.grants.get(&digest(token))
    }
}

/// Where and how to reach the Kubernetes API for TokenReview.
#[derive(Debug, Clone)]
pub struct KubeConfig {
    /// `https://HOST:PORT` of the API server.
    pub api: String,
    /// PEM roots of the API server.
    pub ca_file: PathBuf,
    /// The CA's own service-account token (re-read by the client as it rotates).
    pub token_file: PathBuf,
    /// Audience required of sidecar tokens.
    pub audience: String,
}

impl KubeConfig {
    /// In-cluster defaults, when `KUBERNETES_SERVICE_HOST` is set.
    pub fn in_cluster() -> Option<Self> {
        let host = std::env::var("KUBERNETES_SERVICE_HOST").ok()?;
        let port = std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_else(|_| "443".into());
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host
        };
        Some(KubeConfig {
            api: format!("https://{host}:{port}"),
            ca_file: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt".into(),
            token_file: "/var/run/secrets/kubernetes.io/serviceaccount/token".into(),
            audience: AUDIENCE.into(),
        })
    }
}

struct TokenReviewer {
    /// The client and the (trimmed) token it authenticates with.
    client: Mutex<(String, kube::Client)>,
    roots: Vec<Vec<u8>>,
    cfg: KubeConfig,
    trust_domain: String,
    cache: Mutex<HashMap<Digest, (Grant, Instant)>>,
    in_flight: tokio::sync::Semaphore,
}

/// The API server's roots, DER, from `cfg.ca_file`.
fn review_roots(cfg: &KubeConfig) -> Result<Vec<Vec<u8>>, AuthError> {
    let pem = std::fs::read_to_string(&cfg.ca_file)
        .map_err(|e| AuthError::Kube(format!("{}: {e}", cfg.ca_file.display())))?;
    Ok(crate::pki::parse_certs_pem(&pem)
        .map_err(|e| AuthError::Kube(format!("{}: {e}", cfg.ca_file.display())))?
        .into_iter()
        .map(|c| c.as_ref().to_vec())
        .collect())
}

/// The CA's own token, trimmed (a file written with a trailing newline still works).
fn own_token(cfg: &KubeConfig) -> Result<String, String> {
    let t = std::fs::read_to_string(&cfg.token_file)
        .map_err(|e| format!("{}: {e}", cfg.token_file.display()))?;
    let t = t.trim();
    if t.is_empty() {
        return Err(format!("{}: empty", cfg.token_file.display()));
    }
    Ok(t.to_owned())
}

/// A `kube` client for `cfg` that sends `token`. Needs a tokio runtime.
fn review_client(
    cfg: &KubeConfig,
    roots: &[Vec<u8>],
    token: &str,
) -> Result<kube::Client, AuthError> {
    let uri: http::Uri = cfg
        .api
        .parse()
        .map_err(|_| AuthError::Kube(format!("--kube-api {:?} is not a URL", cfg.api)))?;
    if uri.scheme_str() != Some("https") || uri.host().is_none() {
        return Err(AuthError::Kube(format!(
            "--kube-api {:?} is not https://HOST[:PORT]",
            cfg.api
        )));
    }
    let mut bearer = http::HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
        AuthError::Kube(format!(
            "{}: not a valid bearer token",
            cfg.token_file.display()
        ))
    })?;
    bearer.set_sensitive(true);
    let mut config = kube::Config::new(uri);
    config.root_cert = Some(roots.to_vec());
    config.headers = vec![(http::header::AUTHORIZATION, bearer)];
    config.connect_timeout = Some(REVIEW_TIMEOUT);
    config.read_timeout = Some(REVIEW_TIMEOUT);
    kube::Client::try_from(config).map_err(|e| AuthError::Kube(e.to_string()))
}

impl TokenReviewer {
    async fn review(&self, token: &str) -> Result<Grant, AuthError> {
        let key = digest(token);
        if let Ok(cache) = self.cache.lock() {
            if let Some((g, at)) = cache.get(&key) {
                if at.elapsed() < CACHE_TTL {
                    return Ok(g.clone());
                }
            }
        }
        let _permit = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| AuthError::Unavailable("shutting down".into()))?;
        let review = TokenReview {
            spec: TokenReviewSpec {
                token: Some(token.to_owned()),
                audiences: Some(vec![self.cfg.audience.clone()]),
            },
            ..Default::default()
        };
        let token_now = own_token(&self.cfg).map_err(AuthError::Unavailable)?;
        let client = {
            let mut c = self
                .client
                .lock()
                .map_err(|_| AuthError::Unavailable("client lock poisoned".into()))?;
            if c.0 != token_now {
                let fresh = review_client(&self.cfg, &self.roots, &token_now)
                    .map_err(|e| AuthError::Unavailable(e.to_string()))?;
                *c = (token_now, fresh);
            }
            c.1.clone()
        };
        let api: Api<TokenReview> = Api::all(client);
        // Errors name the status or the transport failure, never the request (the token).
        let answer =
            match tokio::time::timeout(REVIEW_TIMEOUT, api.create(&PostParams::default(), &review))
                .await
            {
                Ok(Ok(a)) => a,
                Ok(Err(kube::Error::Api(s))) => {
                    return Err(AuthError::Unavailable(format!(
                        "API server answered {} {}",
                        s.code, s.reason
                    )))
                }
                Ok(Err(e)) => return Err(AuthError::Unavailable(e.to_string())),
                Err(_) => return Err(AuthError::Unavailable("TokenReview timed out".into())),
            };
        let status = answer.status.ok_or(AuthError::Unknown)?;
        if status.authenticated != Some(true) {
            return Err(AuthError::Unknown);
        }
        if let Some(auds) = &status.audiences {
            if !auds.iter().any(|a| a == &self.cfg.audience) {
                return Err(AuthError::Unknown);
            }
        }
        let username = status.user.and_then(|u| u.username).unwrap_or_default();
        let identity = service_account_identity(&username, &self.trust_domain)?;
        let grant = Grant {
            identity,
            dns_names: Vec::new(),
        };
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_MAX {
                cache.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
                if cache.len() >= CACHE_MAX {
                    cache.clear();
                }
            }
            cache.insert(key, (grant.clone(), Instant::now()));
        }
        Ok(grant)
    }
}

/// Maps `system:serviceaccount:NS:SA` to `spiffe://TD/ns/NS/sa/SA`.
pub fn service_account_identity(username: &str, trust_domain: &str) -> Result<SpiffeId, AuthError> {
    let rest = username
        .strip_prefix("system:serviceaccount:")
        .ok_or(AuthError::NotServiceAccount)?;
    let (ns, sa) = rest.split_once(':').ok_or(AuthError::NotServiceAccount)?;
    SpiffeId::new(trust_domain, ns, sa).map_err(|_| AuthError::NotServiceAccount)
}

/// Decides what a bearer token grants.
pub struct Authenticator {
    trust_domain: String,
    tokens_path: Option<PathBuf>,
    tokens: RwLock<Arc<TokenFile>>,
    reviewer: Option<TokenReviewer>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("tokens_path", &self.tokens_path)
            .field("token_review", &self.reviewer.as_ref().map(|r| &r.cfg.api))
            .finish()
    }
}

impl Authenticator {
    /// Loads the token file (if any) and sets up TokenReview (if configured; needs a tokio
    /// runtime).
    pub fn new(
        trust_domain: &str,
        tokens_path: Option<PathBuf>,
        kube: Option<KubeConfig>,
    ) -> Result<Self, AuthError> {
        let tokens = match &tokens_path {
            Some(p) => TokenFile::load(p, trust_domain)?,
            None => TokenFile::default(),
        };
        let reviewer = match kube {
            Some(cfg) => {
                let roots = review_roots(&cfg)?;
                let token = own_token(&cfg).map_err(AuthError::Kube)?;
                let client = review_client(&cfg, &roots, &token)?;
                Some(TokenReviewer {
                    client: Mutex::new((token, client)),
                    roots,
                    cfg,
                    trust_domain: trust_domain.to_owned(),
                    cache: Mutex::new(HashMap::new()),
                    in_flight: tokio::sync::Semaphore::new(32),
                })
            }
            None => None,
        };
        Ok(Authenticator {
            trust_domain: trust_domain.to_owned(),
            tokens_path,
            tokens: RwLock::new(Arc::new(tokens)),
            reviewer,
        })
    }

    /// Re-reads the token file (SIGHUP). On error the previous tokens stay in force.
    pub fn reload(&self) -> Result<usize, AuthError> {
        let Some(path) = &self.tokens_path else {
            return Ok(0);
        };
        let file = TokenFile::load(path, &self.trust_domain)?;
        let n = file.len();
        if let Ok(mut t) = self.tokens.write() {
            *t = Arc::new(file);
        }
        Ok(n)
    }

    /// What `token` grants.
    pub async fn authenticate(&self, token: &str) -> Result<Grant, AuthError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::Unknown);
        }
        let from_file = self
            .tokens
            .read()
            .ok()
            .and_then(|t| t.lookup(token).cloned());
        if let Some(g) = from_file {
            return Ok(g);
        }
        match &self.reviewer {
            Some(r) => r.review(token).await,
            None => Err(AuthError::Unknown),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_token_files() {
        let f = TokenFile::parse(
            "# comment\n\ntok-a spiffe://cluster.local/ns/a/sa/web  # trailing\ntok-b spiffe://cluster.local/ns/b/sa/db db.b.svc\n",
            "cluster.local",
        )
        .unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(
            f.lookup("tok-a").unwrap().identity.as_str(),
            "spiffe://cluster.local/ns/a/sa/web"
        );
        assert_eq!(
            f.lookup("tok-b").unwrap().dns_names,
            vec!["db.b.svc".to_string()]
        );
        assert!(f.lookup("tok-c").is_none());
    }

    #[test]
    fn token_file_errors_name_the_line_never_the_token() {
        for (text, want) in [
            ("secret-1", "line 1"),
            (
                "x spiffe://cluster.local/ns/a/sa/b\nsecret-2 not-an-id",
                "line 2",
            ),
            ("secret-3 spiffe://other/ns/a/sa/b", "not in trust domain"),
            (
                "t spiffe://cluster.local/ns/a/sa/b\nt spiffe://cluster.local/ns/a/sa/c",
                "duplicate",
            ),
        ] {
            let e = TokenFile::parse(text, "cluster.local").unwrap_err();
            assert!(e.contains(want), "{e}");
            assert!(!e.contains("secret"), "{e}");
        }
    }

    #[test]
    fn maps_service_accounts() {
        assert_eq!(
            service_account_identity("system:serviceaccount:billing:api", "cluster.local")
                .unwrap()
                .as_str(),
            "spiffe://cluster.local/ns/billing/sa/api"
        );
        for bad in [
            "alice",
            "system:serviceaccount:ns",
            "system:serviceaccount::sa",
            "system:node:n1",
        ] {
            assert!(
                service_account_identity(bad, "cluster.local").is_err(),
                "{bad}"
            );
        }
    }
}
