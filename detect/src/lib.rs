//! PHI detection engine.
