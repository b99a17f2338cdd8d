//! Data plane of phimesh: interception, mTLS, HTTP/gRPC inspection, policy, metrics and audit.

pub mod cli;
pub mod init;
pub mod orig_dst;
