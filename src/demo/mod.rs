//! `phimesh demo`: the whole product on one machine, without root or a cluster.
//!
//! It starts, on loopback addresses `127.0.0.x`:
//!
//! | what | where |
//! | --- | --- |
//! | the CA (`phimesh ca`) | `127.0.0.5`, an ephemeral port |
//! | sidecar A, the "frontend" pod's (`phimesh proxy`) | routes on `127.0.0.10:8080` (to the patient service) and `127.0.0.10:8081` (to the external host), admin `127.0.0.10:15020` |
//! | sidecar B, the "patients" pod's | inbound mTLS on `127.0.0.20:15006`, admin `127.0.0.20:15020` |
//! | the patient-record service (in this process) | `127.0.0.20:8080`, behind sidecar B |
//! | the plaintext "external" sink (in this process) | `127.0.0.99:8080`, records every byte it receives |
//!
//! The CA and the sidecars are this executable's own `ca` and `proxy` subcommands, run as child
//! processes with the flags docs/architecture.md documents: the demo exercises exactly what a pod runs, and
//! a sidecar that crashes cannot take the demo's bookkeeping with it. The sidecars get their
//! certificates from the CA over its HTTPS identity API with bearer tokens, like in a cluster.
//! The mesh is `127.0.0.16/28` (pod B); the sink is outside it, so traffic to it is egress.
//!
//! Then it plays the scenarios as the app in pod A would, through sidecar A, and prints a table:
//! PHI between the sidecars over mTLS is delivered and audited; clean plaintext egress is
//! delivered; PHI egress as JSON, gzip, a chunk-split body and gRPC is refused, and the sink's
//! count of PHI bytes is 0. Then a few lines of the sidecars' metrics.
//!
//! **PHI bytes at the sink** counts the bytes of the synthetic patient's identifiers (SSN with
//! and without dashes, MRN, name) found in what the sink received: in the raw bytes off the wire,
//! in the request bodies as the sink decoded them (de-chunked, HTTP/2 DATA), and in those bodies
//! gunzipped and gRPC-unframed.
//!
//! The modules follow the roles: [`world`] starts and stops the CA, the sidecars and the
//! in-process [`apps`]; [`scenarios`] are what the app in pod A sends (through [`clients`]) and
//! how each outcome is judged and printed.
//!
//! Exit status: 0 when every scenario had its expected outcome, 1 otherwise (or when something
//! could not start; the line says what), 2 for bad flags. `--serve` keeps everything running
//! after the table and prints curl commands to try, until Ctrl-C.

mod apps;
mod clients;
mod scenarios;
mod world;

use std::process::ExitCode;
use std::time::Duration;

use scenarios::{print_table, scenarios};
use world::World;

/// Trust domain of the demo's identities.
const TRUST_DOMAIN: &str = "cluster.local";
/// The namespace of the demo's pods.
const NAMESPACE: &str = "demo";
/// Sidecar A's service account (the frontend pod).
const SA_A: &str = "frontend";
/// Sidecar B's service account (the patient-record pod).
const SA_B: &str = "patients";
/// Sidecar A's identity.
const ID_A: &str = "spiffe://cluster.local/ns/demo/sa/frontend";
/// Sidecar B's identity.
const ID_B: &str = "spiffe://cluster.local/ns/demo/sa/patients";

const CA_HOST: &str = "127.0.0.5";
const CA_LISTEN: &str = "127.0.0.5:0";
const POD_A: &str = "127.0.0.10";
const POD_B: &str = "127.0.0.20";
const EXTERNAL: &str = "127.0.0.99";
/// The mesh: pod B's address, not the external host's.
const MESH: &str = "127.0.0.16/28";
const APP_PORT: u16 = 8080;
/// Sidecar A's route to the external host.
const EGRESS_PORT: u16 = 8081;
const ADMIN_PORT: u16 = 15020;
const INBOUND_PORT: u16 = 15006;

/// How long one scenario's request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The synthetic patient (not a real person; `examples/patient-fhir.json`).
const SSN: &str = "512-38-4471";
const MRN: &str = "E4471902";
/// Identifiers whose bytes are counted at the sink.
const PHI_NEEDLES: &[&str] = &[SSN, "512384471", MRN, "Calloway"];

fn patient_json() -> String {
    format!(
        r#"{{"resourceType":"Patient","id":"4711","identifier":[{{"type":"MR","value":"{MRN}"}},{{"system":"http://hl7.org/fhir/sid/us-ssn","value":"{SSN}"}}],"name":[{{"family":"Calloway","given":["Tamsin"]}}],"birthDate":"1958-11-23"}}"#
    )
}

#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Keep the CA, sidecars, patient service and sink running after the scenarios, and print
    /// curl commands to try (Ctrl-C stops).
    #[arg(long, env = "PHIMESH_SERVE")]
    pub serve: bool,
}

/// Runs `phimesh demo`.
pub(crate) fn run(args: DemoArgs, shutdown: phimesh_plumbing::Shutdown) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("phimesh demo: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(demo(args, shutdown))
}

async fn demo(args: DemoArgs, shutdown: phimesh_plumbing::Shutdown) -> ExitCode {
    let world = match World::start().await {
        Ok(w) => w,
        Err(e) => {
            eprintln!("phimesh demo: could not start: {e}");
            return ExitCode::from(1);
        }
    };
    println!("{}", world.describe());
    let mut results = Vec::new();
    for s in scenarios() {
        let r = scenarios::play(&world, &s).await;
        results.push((s, r));
    }
    print_table(&results);
    println!("\nmetrics (excerpt):");
    for line in world.metrics_excerpt().await {
        println!("  {line}");
    }
    let failed: Vec<&str> = results
        .iter()
        .filter(|(_, r)| !r.ok)
        .map(|(s, _)| s.id)
        .collect();
    let code = if failed.is_empty() {
        println!(
            "\nphimesh demo: all {} scenarios had the expected outcome",
            results.len()
        );
        ExitCode::SUCCESS
    } else {
        println!("\nphimesh demo: FAILED: {}", failed.join(", "));
        eprintln!("{}", world.child_logs());
        ExitCode::from(1)
    };
    if args.serve {
        world.print_try_commands();
        shutdown.wait().await;
    }
    world.stop().await;
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identities_are_the_ones_the_test_ca_issues() {
        assert_eq!(phimesh_testkit::mesh::spiffe_id(NAMESPACE, SA_A), ID_A);
        assert_eq!(phimesh_testkit::mesh::spiffe_id(NAMESPACE, SA_B), ID_B);
        assert!(ID_A.starts_with(&format!("spiffe://{TRUST_DOMAIN}/")));
    }
}
