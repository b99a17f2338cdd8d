//! Control plane of phimesh: the rotating CA and its identity API.
//!
//! The workload identity client that each sidecar embeds is its own crate, `phimesh-identity`,
//! which also holds the vocabulary both sides share ([`pki`], [`spiffe`], [`api`]); they are
//! re-exported here under their old paths.
//!
//! The **CA** (`phimesh ca`): [`state`] keeps roots and issuers in one directory, [`authority`]
//!   signs leaves and runs the rotation state machine, [`auth`] decides which identity a bearer
//!   token may have (static token file or Kubernetes TokenReview), [`server`] is the HTTPS identity
//!   API (`POST /v1/certificates`, `GET /v1/trust-bundle`, `/metrics`, `/ready`), [`throttle`]
//!   slows down addresses that fail authentication.
//!
//! Every TLS object in this crate uses rustls with the *ring* provider ([`tls::provider`]).
//!
//! Logs and errors never contain key material: private keys are only ever held in memory, written
//! to the CA state file (mode 0600) or handed to rustls, and no `Debug` impl of a key-holding type
//! prints the key.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auth;
pub mod authority;
pub mod cli;
pub mod discovery;
pub mod kubernetes;
pub mod server;
pub mod state;
pub mod throttle;

// The vocabulary shared with the identity client lives in `phimesh-identity`; these paths are
// kept so `phimesh_ca::pki` and `crate::pki` keep naming the same modules.
pub use phimesh_identity::{api, duration, https, identity, pki, spiffe, testing, tls};
pub use phimesh_identity::{Identity, IdentityConfig, SpiffeId};
