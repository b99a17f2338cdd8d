//! A CA started in process for the `ca` crate's API tests (`tests/api.rs`, `tests/mesh.rs`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use phimesh_ca::auth::Authenticator;
use phimesh_ca::authority::Settings;
use phimesh_ca::server::{self, CaConfig, RunningCa};

/// A CA for trust domain `cluster.local` with its state in `dir/state`, on a loopback port,
/// allowing 30 certificates per identity and `auth_failures_per_minute` failed authentications
/// per address a minute.
pub(crate) async fn start_ca_with(
    dir: &Path,
    auth: Authenticator,
    auth_failures_per_minute: u32,
) -> RunningCa {
    server::start(
        CaConfig {
            settings: Settings::new("cluster.local"),
            state: server::StateConfig::Directory(dir.join("state")),
            listen: "127.0.0.1:0".parse().unwrap(),
            server_names: server::default_server_names(),
            rate_limit_per_minute: 30,
            auth_failures_per_minute,
            tick: Duration::from_secs(1),
        },
        Arc::new(auth),
    )
    .await
    .unwrap()
}
