//! Logging for every subcommand, set up once in `main`: `tracing` events to stderr, filtered by
//! one environment variable, `PHIMESH_LOG` (env-filter syntax; by default `info`, with rustls's
//! per-handshake alerts left to the handshake counters). Audit lines keep stdout.
//!
//! The HTTP/2 and HTTP libraries are held at `warn` whatever `PHIMESH_LOG` says: their trace
//! events quote traffic (h2 logs a `te` header's value, a GOAWAY's debug data, an extended
//! CONNECT's `:protocol`; hyper logs header names and bodies' framing), and no log line may
//! carry a value from traffic, a bearer token the CA or the webhook received included.

use tracing_subscriber::EnvFilter;

/// The variable that sets what is logged.
pub(crate) const ENV: &str = "PHIMESH_LOG";

/// Targets whose events may quote traffic, and the most they may log.
const TRAFFIC_QUOTING_TARGETS: &[&str] = &["h2=warn", "hyper=warn", "hyper_util=warn"];

/// Installs the subscriber (once; a second call does nothing).
pub(crate) fn init() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(std::env::var(ENV).ok().as_deref()))
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// The filter for a `PHIMESH_LOG` value (`None` or unparsable: the default).
fn filter(env: Option<&str>) -> EnvFilter {
    let mut f = env
        .and_then(|s| EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| EnvFilter::new("info,rustls=error"));
    for d in TRAFFIC_QUOTING_TARGETS {
        if let Ok(d) = d.parse() {
            f = f.add_directive(d);
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enabled(env: Option<&str>) -> (bool, bool, bool) {
        let sub = tracing_subscriber::fmt()
            .with_env_filter(filter(env))
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(sub, || {
            (
                tracing::enabled!(target: "h2::frame::headers", tracing::Level::TRACE),
                tracing::enabled!(target: "hyper::proto", tracing::Level::DEBUG),
                tracing::enabled!(target: "phimesh_proxy::http", tracing::Level::TRACE),
            )
        })
    }

    #[test]
    fn http_libraries_never_log_below_warn() {
        // h2's trace events quote header values; PHIMESH_LOG cannot turn them on.
        assert_eq!(enabled(Some("trace")), (false, false, true));
        assert_eq!(
            enabled(Some("info,h2=trace,hyper=trace")),
            (false, false, false)
        );
        assert_eq!(enabled(None), (false, false, false));
        assert_eq!(enabled(Some("not a [filter")), (false, false, false));
    }
}
