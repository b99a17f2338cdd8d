//! Sidecar injection: the mutating admission webhook and offline `phimesh inject`.

pub mod cli;
