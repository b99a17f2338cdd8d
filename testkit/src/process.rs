//! Child processes with their output captured line by line.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Lines of one output stream, and whether it has ended (set under the lines' lock).
#[derive(Default)]
struct Stream {
    lines: Arc<Mutex<Vec<String>>>,
    ended: AtomicBool,
    grew: Condvar,
}

/// A child process whose stdout and stderr lines are collected (by a thread each) as they come.
/// Dropping it kills the process.
pub struct ChildProc {
    name: String,
    child: Child,
    out: Arc<Stream>,
    err: Arc<Stream>,
    echo: Arc<Mutex<Option<String>>>,
}

fn collect<R: Read + Send + 'static>(
    from: R,
    stream: Arc<Stream>,
    echo: Option<Arc<Mutex<Option<String>>>>,
) {
    std::thread::spawn(move || {
        for l in BufReader::new(from).lines().map_while(Result::ok) {
            if let Some(prefix) = echo.as_ref().and_then(|e| e.lock().ok()?.clone()) {
                println!("{prefix}{l}");
            }
            if let Ok(mut v) = stream.lines.lock() {
                v.push(l);
            }
            stream.grew.notify_all();
        }
        if let Ok(_v) = stream.lines.lock() {
            stream.ended.store(true, Ordering::SeqCst);
        }
        stream.grew.notify_all();
    });
}

impl ChildProc {
    /// Starts `cmd` (stdin from /dev/null, stdout and stderr captured); `name` is what errors
    /// call it.
    pub fn spawn(name: &str, mut cmd: Command) -> Result<ChildProc, String> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let (out, err) = (Arc::new(Stream::default()), Arc::new(Stream::default()));
        let echo = Arc::new(Mutex::new(None));
        if let Some(o) = child.stdout.take() {
            collect(o, out.clone(), Some(echo.clone()));
        }
        if let Some(e) = child.stderr.take() {
            collect(e, err.clone(), None);
        }
        Ok(ChildProc {
            name: name.to_owned(),
            child,
            out,
            err,
            echo,
        })
    }

    /// The stdout lines so far (shared with the collecting thread).
    pub fn stdout(&self) -> Arc<Mutex<Vec<String>>> {
        self.out.lines.clone()
    }

    /// The stderr lines so far (shared with the collecting thread).
    pub fn stderr(&self) -> Arc<Mutex<Vec<String>>> {
        self.err.lines.clone()
    }

    /// Waits (at most `within`) for the first stderr line from which `find` takes a value,
    /// looking at every line from the first. Fails when stderr ends first (the process exited)
    /// or time is up, with the last lines of stderr.
    pub fn wait_stderr<T>(
        &self,
        within: Duration,
        mut find: impl FnMut(&str) -> Option<T>,
    ) -> Result<T, String> {
        let deadline = Instant::now() + within;
        let mut seen = 0;
        let mut guard = self.err.lines.lock().map_err(|_| "stderr reader failed")?;
        loop {
            while seen < guard.len() {
                if let Some(v) = find(&guard[seen]) {
                    return Ok(v);
                }
                seen += 1;
            }
            let now = Instant::now();
            let ended = self.err.ended.load(Ordering::SeqCst);
            if ended || now >= deadline {
                let why = if ended {
                    "exited (its stderr ended) before it was ready".to_owned()
                } else {
                    format!("was not ready within {within:?}")
                };
                drop(guard);
                return Err(format!("{} {why}: {}", self.name, self.stderr_tail(5)));
            }
            guard = self
                .err
                .grew
                .wait_timeout(guard, deadline - now)
                .map_err(|_| "stderr reader failed")?
                .0;
        }
    }

    /// Waits (at most `within`) until there are `n` stdout lines; returns how many there are.
    pub fn wait_stdout_lines(&self, n: usize, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        let Ok(mut guard) = self.out.lines.lock() else {
            return 0;
        };
        loop {
            let now = Instant::now();
            if guard.len() >= n || self.out.ended.load(Ordering::SeqCst) || now >= deadline {
                return guard.len();
            }
            match self.out.grew.wait_timeout(guard, deadline - now) {
                Ok((g, _)) => guard = g,
                Err(_) => return 0,
            }
        }
    }

    /// The stdout lines from the `n`-th on.
    pub fn stdout_since(&self, n: usize) -> Vec<String> {
        self.out
            .lines
            .lock()
            .map(|v| v.get(n..).unwrap_or_default().to_vec())
            .unwrap_or_default()
    }

    /// How many stdout lines there are.
    pub fn stdout_len(&self) -> usize {
        self.out.lines.lock().map_or(0, |v| v.len())
    }

    /// The last `n` stderr lines.
    pub fn stderr_tail(&self, n: usize) -> String {
        let v = self.err.lines.lock().map(|v| v.clone()).unwrap_or_default();
        v[v.len().saturating_sub(n)..].join("\n")
    }

    /// From now on, prints each new stdout line after `prefix` on this process's stdout.
    pub fn echo_stdout(&self, prefix: &str) {
        if let Ok(mut e) = self.echo.lock() {
            *e = Some(prefix.to_owned());
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Sends SIGTERM and waits up to `grace` for it to exit, then kills it. The exit status,
    /// `None` when it had to be killed.
    pub fn terminate(&mut self, grace: Duration) -> Option<ExitStatus> {
        if let Ok(Some(st)) = self.child.try_wait() {
            return Some(st);
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        None
    }

    /// Kills it and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildProc {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> ChildProc {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        ChildProc::spawn("sh", cmd).unwrap()
    }

    #[test]
    fn waits_for_a_line_collects_output_and_terminates() {
        let mut p = sh(
            // The trap goes first: the test signals as soon as it has read
            // audit-2, which may be before the shell reaches a later line.
            "trap 'exit 0' TERM; echo audit-1; echo 'listening on 127.0.0.1:9' >&2; \
                        echo audit-2; while :; do sleep 0.05; done",
        );
        let addr = p
            .wait_stderr(Duration::from_secs(10), |l| {
                l.strip_prefix("listening on ").map(str::to_owned)
            })
            .unwrap();
        assert_eq!(addr, "127.0.0.1:9");
        assert_eq!(p.wait_stdout_lines(2, Duration::from_secs(10)), 2);
        assert_eq!(p.stdout_since(1), ["audit-2"]);
        let st = p
            .terminate(Duration::from_secs(10))
            .expect("exits on SIGTERM");
        assert!(st.success(), "{st}");
    }

    #[test]
    fn a_process_that_exits_first_is_an_error_with_its_last_words() {
        let p = sh("echo 'bad flag --x' >&2; exit 2");
        let e = p
            .wait_stderr(Duration::from_secs(10), |l| {
                l.starts_with("ready").then_some(())
            })
            .unwrap_err();
        assert!(
            e.contains("before it was ready") && e.contains("bad flag --x"),
            "{e}"
        );
    }
}
