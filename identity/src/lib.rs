//! Workload identity of phimesh: what a sidecar needs to hold a SPIFFE identity and speak mTLS
//! with it, without the CA's server side.
//!
//! * [`identity`]: the identity client each sidecar embeds. It keeps a private key in memory,
//!   fetches and renews its certificate from the CA, refreshes the trust bundle and exposes rustls
//!   server and client configurations that always use the current certificate and roots;
//! * [`spiffe`]: SPIFFE IDs (`spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`);
//! * [`api`]: the identity API's wire types and refusal texts, shared with the CA's server;
//! * [`pki`]: the certificate vocabulary shared with the CA (keys, CSRs, certificates);
//! * [`https`]: the small HTTPS client the identity client (and the CA's TokenReview) use;
//! * [`tls`]: the one rustls crypto provider (*ring*);
//! * [`duration`]: `90s` / `15m` / `24h` durations as the command line reads them;
//! * [`testing`]: an in-memory PKI for tests and the demo.
//!
//! The CA (`phimesh-ca`) depends on this crate for the shared vocabulary; this crate depends on
//! nothing of the CA.
//!
//! Logs and errors never contain key material: private keys are only ever held in memory or
//! handed to rustls, and no `Debug` impl of a key-holding type prints the key.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod duration;
pub mod https;
pub mod identity;
pub mod pki;
pub mod spiffe;
pub mod testing;
pub mod tls;

pub use identity::{Identity, IdentityConfig, SpiffeId};
