//! Control plane of phimesh: the rotating CA, its identity API and the workload identity client.
//!
//! The crate has two halves that share one certificate vocabulary ([`pki`], [`identity::SpiffeId`]):
//!
//! * the **CA** (`phimesh ca`): [`state`] keeps roots and issuers in one directory, [`authority`]
//!   signs leaves and runs the rotation state machine, [`auth`] decides which identity a bearer
//!   token may have (static token file or Kubernetes TokenReview), [`server`] is the HTTPS identity
//!   API (`POST /v1/certificates`, `GET /v1/trust-bundle`, `/metrics`, `/ready`), [`throttle`]
//!   slows down addresses that fail authentication;
//! * the **identity client** ([`identity`]) that each sidecar embeds: it keeps a private key in
//!   memory, fetches and renews its certificate, refreshes the trust bundle and exposes rustls
//!   server and client configurations that always use the current certificate and roots.
//!
//! Every TLS object in this crate uses rustls with the *ring* provider ([`tls::provider`]).
//!
//! Logs and errors never contain key material: private keys are only ever held in memory, written
//! to the CA state file (mode 0600) or handed to rustls, and no `Debug` impl of a key-holding type
//! prints the key.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod auth;
pub mod authority;
pub mod cli;
pub mod duration;
pub mod https;
pub mod identity;
pub mod kubernetes;
pub mod pki;
pub mod server;
pub mod spiffe;
pub mod state;
pub mod testing;
pub mod throttle;
pub mod tls;

pub use identity::{Identity, IdentityConfig, SpiffeId};
