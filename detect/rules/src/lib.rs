//! The detectors of phimesh's PHI engine, apart from the engine so that its build script can
//! compile them ahead of time from the same source: the kinds, roles and patterns
//! ([`rules`]), the validators that check what a pattern cannot ([`validate`]) and the plan that
//! groups them into Hyperscan databases ([`plan`]).
//!
//! Not a stable interface: it is `phimesh-detect`'s, split out for its build script.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod plan;
pub mod rules;
pub mod validate;
