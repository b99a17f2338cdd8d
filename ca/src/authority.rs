//! authority (placeholder)
