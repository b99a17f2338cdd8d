//! The CA and sidecars, started from a `phimesh` executable as child processes with the flags
//! docs/architecture.md documents.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::process::ChildProc;

/// How long a CA or a sidecar may take to start.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A `phimesh` executable and the environment its subcommands get.
#[derive(Debug, Clone)]
pub struct Phimesh {
    exe: PathBuf,
    env: Vec<(String, String)>,
}

impl Phimesh {
    /// The executable at `exe`, run with this process's environment.
    pub fn new(exe: impl Into<PathBuf>) -> Phimesh {
        Phimesh {
            exe: exe.into(),
            env: Vec::new(),
        }
    }

    /// Sets `key` to `value` in the subcommands' environment.
    pub fn env(mut self, key: &str, value: &str) -> Phimesh {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// `phimesh SUBCOMMAND`, to add flags to.
    pub fn command(&self, subcommand: &str) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.arg(subcommand)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd
    }
}

/// The SPIFFE ID the test CA issues for `(ns, sa)`.
pub fn spiffe_id(ns: &str, sa: &str) -> String {
    format!("spiffe://cluster.local/ns/{ns}/sa/{sa}")
}

/// A running `phimesh ca` in a directory of its own: a token `tok-NS-SA` in file `token-NS-SA`
/// for each identity `(ns, sa)` it issues, its state in `state/`.
pub struct Ca {
    proc: ChildProc,
    phimesh: Phimesh,
    /// `https://ADDR`.
    pub url: String,
    /// The CA's trust bundle file.
    pub roots: PathBuf,
    dir: PathBuf,
    extra: Vec<String>,
}

impl Ca {
    /// Starts `phimesh ca` listening on `listen` (`127.0.0.1:0`) with its files in `dir`, issuing
    /// [`spiffe_id`]`(ns, sa)` for each of `ids`, with more `phimesh ca` flags `extra`; returns
    /// once it listens.
    pub fn start(
        phimesh: &Phimesh,
        dir: &Path,
        listen: &str,
        ids: &[(&str, &str)],
        extra: &[&str],
    ) -> Result<Ca, String> {
        let tokens: String = ids
            .iter()
            .map(|(ns, sa)| format!("tok-{ns}-{sa} {}\n", spiffe_id(ns, sa)))
            .collect();
        let write = |f: PathBuf, text: String| {
            std::fs::write(&f, text).map_err(|e| format!("{}: {e}", f.display()))
        };
        write(dir.join("tokens"), tokens)?;
        for (ns, sa) in ids {
            write(
                dir.join(format!("token-{ns}-{sa}")),
                format!("tok-{ns}-{sa}"),
            )?;
        }
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let (proc, url) = Self::spawn(phimesh, dir, listen, &extra)?;
        Ok(Ca {
            proc,
            phimesh: phimesh.clone(),
            url,
            roots: dir.join("state").join("trust-bundle.pem"),
            dir: dir.to_owned(),
            extra,
        })
    }

    fn spawn(
        phimesh: &Phimesh,
        dir: &Path,
        listen: &str,
        extra: &[String],
    ) -> Result<(ChildProc, String), String> {
        let mut cmd = phimesh.command("ca");
        cmd.args(["--listen", listen, "--state-dir"])
            .arg(dir.join("state"))
            .arg("--tokens")
            .arg(dir.join("tokens"))
            .args(extra);
        let proc = ChildProc::spawn("ca", cmd)?;
        let url = proc.wait_stderr(START_TIMEOUT, |l| {
            Some(
                l.strip_prefix("phimesh ca: listening on ")?
                    .trim()
                    .to_owned(),
            )
        })?;
        Ok((proc, url))
    }

    /// The CA's address.
    pub fn addr(&self) -> SocketAddr {
        self.url
            .trim_start_matches("https://")
            .parse()
            .expect("the CA prints its address")
    }

    /// The CA's state directory.
    pub fn state_dir(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// The token file of `(ns, sa)`.
    pub fn token_file(&self, ns: &str, sa: &str) -> PathBuf {
        self.dir.join(format!("token-{ns}-{sa}"))
    }

    /// The `--identity ... --ca-addr ... --ca-roots ... --token-file ...` flags for `(ns, sa)`.
    pub fn identity_args(&self, ns: &str, sa: &str) -> Vec<String> {
        vec![
            "--identity".into(),
            spiffe_id(ns, sa),
            "--ca-addr".into(),
            self.url.clone(),
            "--ca-roots".into(),
            self.roots.display().to_string(),
            "--token-file".into(),
            self.token_file(ns, sa).display().to_string(),
        ]
    }

    /// Starts a sidecar (`phimesh proxy`, [`ProxyProc::start`]) with the flags `args`, from the
    /// same executable as the CA.
    pub fn sidecar(&self, name: &str, args: &[String]) -> Result<ProxyProc, String> {
        ProxyProc::start(&self.phimesh, name, args)
    }

    /// The CA process.
    pub fn process(&self) -> &ChildProc {
        &self.proc
    }

    /// Kills the CA (its address stays known for [`restart`](Self::restart)).
    pub fn stop(&mut self) {
        self.proc.kill();
    }

    /// Sends SIGTERM and waits (5 s at most) for it to exit.
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        self.proc.terminate(Duration::from_secs(5))
    }

    /// Starts the CA again on the same address, state and flags; returns once it listens.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        let (proc, url) = Self::spawn(
            &self.phimesh,
            &self.dir,
            &self.addr().to_string(),
            &self.extra,
        )?;
        if url != self.url {
            return Err(format!("the CA came back on {url}, not {}", self.url));
        }
        self.proc = proc;
        Ok(())
    }
}

/// A running `phimesh proxy` and the addresses it printed.
pub struct ProxyProc {
    proc: ChildProc,
    /// Route listeners, in flag order.
    pub routes: Vec<SocketAddr>,
    /// The outbound (transparent) listener.
    pub outbound: Option<SocketAddr>,
    /// The inbound listener.
    pub inbound: Option<SocketAddr>,
    /// The admin listener.
    pub admin: SocketAddr,
    /// Audit lines (stdout), shared with the collecting thread.
    pub stdout: Arc<Mutex<Vec<String>>>,
    /// stderr lines, shared with the collecting thread.
    pub stderr: Arc<Mutex<Vec<String>>>,
}

fn addr_of(line: &str) -> Option<SocketAddr> {
    line.split("addr=")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

impl ProxyProc {
    /// Starts `phimesh proxy ARGS` (the flags include an `--admin-listen`) and waits until it
    /// says it is ready: identity from the CA, every listener bound. `name` is what errors call
    /// it.
    pub fn start(phimesh: &Phimesh, name: &str, args: &[String]) -> Result<ProxyProc, String> {
        let mut cmd = phimesh.command("proxy");
        cmd.args(args);
        let proc = ChildProc::spawn(name, cmd)?;
        let (mut routes, mut outbound, mut inbound, mut admin) = (Vec::new(), None, None, None);
        proc.wait_stderr(START_TIMEOUT, |line| {
            let role = |r: &str| line.contains(&format!("listening role={r} "));
            if role("route") {
                routes.extend(addr_of(line));
            } else if role("outbound") {
                outbound = addr_of(line);
            } else if role("inbound") {
                inbound = addr_of(line);
            } else if role("admin") {
                admin = addr_of(line);
            }
            (line == "phimesh proxy: ready").then_some(())
        })?;
        let admin = admin.ok_or_else(|| format!("{name} printed no admin address"))?;
        Ok(ProxyProc {
            stdout: proc.stdout(),
            stderr: proc.stderr(),
            proc,
            routes,
            outbound,
            inbound,
            admin,
        })
    }

    /// The process.
    pub fn process(&self) -> &ChildProc {
        &self.proc
    }

    /// The process, to stop it.
    pub fn process_mut(&mut self) -> &mut ChildProc {
        &mut self.proc
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// How many audit lines there are.
    pub fn audit_len(&self) -> usize {
        self.proc.stdout_len()
    }

    /// The audit lines from the `n`-th on.
    pub fn audit_since(&self, n: usize) -> Vec<String> {
        self.proc.stdout_since(n)
    }

    /// The raw audit text (to search for values that must not be there).
    pub fn audit_text(&self) -> String {
        self.stdout.lock().map(|v| v.join("\n")).unwrap_or_default()
    }

    /// Waits (10 s at most) until there are `n` audit lines; returns how many there are.
    pub fn wait_audit_lines(&self, n: usize) -> usize {
        self.proc.wait_stdout_lines(n, Duration::from_secs(10))
    }

    /// Sends SIGTERM and waits (`grace` at most, then kills) for the exit status.
    pub fn terminate(&mut self, grace: Duration) -> Option<ExitStatus> {
        self.proc.terminate(grace)
    }
}

/// The value of the sample `series` (`name{labels}` exactly as rendered) in a Prometheus text
/// exposition, 0 when absent.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// The sum of the samples of metric `name` whose labels include every one of `labels`
/// (`key="value"` as rendered).
pub fn metric_sum(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|l| labels.iter().all(|k| l.contains(k)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_lookups() {
        let text = "# HELP x\nphimesh_requests_total{direction=\"inbound\",tls=\"mtls\"} 2\n\
                    phimesh_requests_total{direction=\"inbound\",tls=\"none\"} 5\n\
                    phimesh_requests_total{direction=\"outbound\",tls=\"mtls\"} 7\n\
                    phimesh_requests_totally 9\n";
        assert_eq!(
            metric(
                text,
                "phimesh_requests_total{direction=\"inbound\",tls=\"none\"}"
            ),
            5.0
        );
        assert_eq!(metric(text, "absent"), 0.0);
        assert_eq!(
            metric_sum(text, "phimesh_requests_total", &[r#"tls="mtls""#]),
            9.0
        );
        assert_eq!(metric_sum(text, "phimesh_requests_total", &[]), 14.0);
    }
}
