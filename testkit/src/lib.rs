//! phimesh's test kit: what the demo (`phimesh demo`), the end-to-end tests and the proxy
//! benches share to run the product the way a cluster would and talk to it.
//!
//! * [`client`]: HTTP/1.1, h2 (prior knowledge) and unary gRPC clients on hyper, with the
//!   request bodies the scenarios send (whole, chunk by chunk);
//! * [`server`]: in-process apps and upstreams (HTTP/1.1 and h2) that can record every byte
//!   read off their connections;
//! * [`process`]: `phimesh` subcommands as child processes, with their output captured line by
//!   line;
//! * [`mesh`]: the CA (`phimesh ca`, with a token per identity) and sidecars (`phimesh proxy`)
//!   started from a `phimesh` executable and ready to use;
//! * [`codec`]: the encodings PHI is hidden in (gzip, zlib, gRPC frames, and with the `tests`
//!   feature base64, UTF-16, MIME lines) and byte counting.
//!
//! The `tests` feature adds what only tests use ([`server::RecordingServer`], [`server::Sink`],
//! the text encoders); the demo ships in the binary without it.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
pub mod codec;
pub mod mesh;
pub mod process;
pub mod server;
