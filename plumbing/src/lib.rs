//! Server plumbing shared by phimesh's servers (the sidecar, the CA, the webhook, the demo):
//!
//! * [`Shutdown`]: the one SIGTERM / SIGINT handling of the `phimesh` binary, created once in
//!   `main` and handed to every subcommand that serves;
//! * [`discard`]: reading and dropping the rest of a refused request body, so that the client
//!   gets the refusal rather than a TCP reset.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod body;
mod shutdown;

pub use body::{discard, expects_continue, DISCARD_MAX, DISCARD_TIME};
pub use shutdown::{hangups, Shutdown};
