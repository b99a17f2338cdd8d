//! The one crypto provider (rustls + *ring*) every TLS object in phimesh is built with.
//!
//! aws-lc is not compiled into phimesh, so nothing may rely on rustls' process-default provider
//! being set: every config in this crate is made with `builder_with_provider(provider())`.

use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;

/// Human-readable name of the provider, printed by the benchmark and the CA at start.
pub const PROVIDER_NAME: &str = "rustls 0.23 + ring";

/// The shared *ring* crypto provider.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// Installs the *ring* provider as the process default, for code (tokio-rustls helpers, other
/// crates) that calls `ServerConfig::builder()`. Harmless if a default is already installed.
pub fn install_default_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
