//! `phimesh init`: the iptables rules that send a pod's TCP connections through the sidecar.
//!
//! Run once per pod network namespace (an init container with `NET_ADMIN`), before the app
//! starts. All rules live in the `nat` table, in chains of our own:
//!
//! | chain | hooked from | job |
//! | --- | --- | --- |
//! | `PHIMESH_OUTPUT` | `OUTPUT -p tcp` | skip the proxy's own connections (UID, optional GID), loopback and excluded ports/CIDRs, else `PHIMESH_REDIRECT` |
//! | `PHIMESH_REDIRECT` | `PHIMESH_OUTPUT` | `REDIRECT --to-ports 15001` (outbound listener) |
//! | `PHIMESH_INBOUND` | `PREROUTING -p tcp` | skip the admin port (15020) and excluded ports, else `PHIMESH_IN_REDIRECT` |
//! | `PHIMESH_IN_REDIRECT` | `PHIMESH_INBOUND` | `REDIRECT --to-ports 15006` (inbound listener) |
//!
//! The proxy recovers where a redirected connection was going with `SO_ORIGINAL_DST`
//! ([`crate::orig_dst`]).
//!
//! **Loopback.** Everything leaving through `lo` is left alone: that is the app talking to
//! itself (on `127.0.0.1` or on its own pod IP, which the kernel routes through `lo` too) and the
//! sidecar handing inbound connections to the app. Neither leaves the pod.
//!
//! **Idempotence.** Running `phimesh init` again converges to the same rules, never duplicates:
//! the chain declarations in the `iptables-restore --noflush` input create our chains or flush
//! them if they exist, and the two jumps from the built-in chains are appended only when
//! `iptables -C` says they are missing. Other rules in the namespace are not touched.
//!
//! **IPv6.** The same generator writes the ip6tables rules (only the excluded CIDRs differ by
//! family). With `--ipv6 auto` (the default) they are skipped, with a line on stderr, when
//! `ip6tables` has no usable `nat` table; `--ipv6 require` makes that an error, `--ipv6 off`
//! skips IPv6.
//!
//! **`--dry-run`** prints, instead of running them, exactly the commands `phimesh init` runs, as
//! a POSIX shell script (the `iptables-restore` input as a here-document, then one line per jump
//! check); `phimesh init --dry-run | sh` does what `phimesh init` does.
//!
//! Exit status: 0 rules in place, 1 an iptables command failed (its stderr is printed),
//! 2 bad flags. Every flag also reads `PHIMESH_<FLAG>`.

use std::fmt;
use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, ExitCode, Stdio};
use std::str::FromStr;

/// Chain for outbound connections, jumped to from `OUTPUT`.
pub const CHAIN_OUTPUT: &str = "PHIMESH_OUTPUT";
/// Chain that redirects outbound connections to the outbound listener.
pub const CHAIN_REDIRECT: &str = "PHIMESH_REDIRECT";
/// Chain for inbound connections, jumped to from `PREROUTING`.
pub const CHAIN_INBOUND: &str = "PHIMESH_INBOUND";
/// Chain that redirects inbound connections to the inbound listener.
pub const CHAIN_IN_REDIRECT: &str = "PHIMESH_IN_REDIRECT";

/// Seconds an iptables command waits for the xtables lock before failing.
const XTABLES_WAIT_SECS: &str = "10";

/// Arguments of `phimesh init`.
#[derive(Debug, Clone, clap::Args)]
pub struct InitArgs {
    /// Print the commands (a shell script) instead of running them.
    #[arg(long, env = "PHIMESH_DRY_RUN")]
    pub dry_run: bool,
    /// UID the proxy runs as; its own connections are never redirected.
    #[arg(long, env = "PHIMESH_PROXY_UID", default_value_t = 1337)]
    pub proxy_uid: u32,
    /// GID whose connections are never redirected either (off unless given).
    #[arg(long, env = "PHIMESH_PROXY_GID")]
    pub proxy_gid: Option<u32>,
    /// Port of the proxy's outbound listener.
    #[arg(long, env = "PHIMESH_OUTBOUND_PORT", default_value_t = 15001, value_parser = port)]
    pub outbound_port: u16,
    /// Port of the proxy's inbound listener.
    #[arg(long, env = "PHIMESH_INBOUND_PORT", default_value_t = 15006, value_parser = port)]
    pub inbound_port: u16,
    /// Port of the proxy's admin listener; inbound connections to it are never redirected.
    #[arg(long, env = "PHIMESH_ADMIN_PORT", default_value_t = 15020, value_parser = port)]
    pub admin_port: u16,
    /// Inbound destination ports that bypass the proxy (comma-separated).
    #[arg(long, env = "PHIMESH_EXCLUDE_INBOUND_PORTS", value_delimiter = ',', value_parser = port)]
    pub exclude_inbound_ports: Vec<u16>,
    /// Outbound destination ports that bypass the proxy (comma-separated).
    #[arg(long, env = "PHIMESH_EXCLUDE_OUTBOUND_PORTS", value_delimiter = ',', value_parser = port)]
    pub exclude_outbound_ports: Vec<u16>,
    /// Outbound destination networks that bypass the proxy (comma-separated CIDRs or addresses,
    /// IPv4 and IPv6).
    #[arg(long, env = "PHIMESH_EXCLUDE_OUTBOUND_CIDRS", value_delimiter = ',')]
    pub exclude_outbound_cidrs: Vec<Cidr>,
    /// IPv6 rules: `auto` installs them when ip6tables has a nat table, `require` fails
    /// without one, `off` skips them.
    #[arg(long, env = "PHIMESH_IPV6", value_enum, default_value_t = Ipv6Mode::Auto)]
    pub ipv6: Ipv6Mode,
}

fn port(s: &str) -> Result<u16, String> {
    match s.trim().parse::<u16>() {
        Ok(0) => Err("port 0 is not a port".into()),
        Ok(p) => Ok(p),
        Err(_) => Err(format!("'{s}' is not a port (1-65535)")),
    }
}

/// Whether `phimesh init` writes IPv6 rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Ipv6Mode {
    /// When ip6tables has a usable nat table; otherwise skipped with a note on stderr.
    Auto,
    /// Always; no usable ip6tables nat table is an error.
    Require,
    /// Never.
    Off,
}

/// An IPv4 or IPv6 network, `ADDR/LEN` or a bare address (a host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    len: u8,
}

impl Cidr {
    /// The network's address with the host bits cleared.
    pub fn network(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                IpAddr::V4((u32::from(a) & mask).into())
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.len))
                    .unwrap_or(0);
                IpAddr::V6((u128::from(a) & mask).into())
            }
        }
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// Which iptables family the network belongs to.
    pub fn family(&self) -> Family {
        match self.addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("'{s}' is not a CIDR (ADDR/LEN) or an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            None => max,
            Some(l) => match l.parse::<u8>() {
                Ok(l) if l <= max => l,
                _ => return Err(format!("'{s}': prefix length must be 0-{max}")),
            },
        };
        Ok(Cidr { addr, len })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.len)
    }
}

/// An address family and the iptables binaries that handle it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IPv4: `iptables`.
    V4,
    /// IPv6: `ip6tables`.
    V6,
}

impl Family {
    /// The rule command (`iptables`, `ip6tables`).
    pub fn iptables(self) -> &'static str {
        match self {
            Family::V4 => "iptables",
            Family::V6 => "ip6tables",
        }
    }

    /// The batch command (`iptables-restore`, `ip6tables-restore`).
    pub fn restore(self) -> &'static str {
        match self {
            Family::V4 => "iptables-restore",
            Family::V6 => "ip6tables-restore",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// A rule in a built-in chain that sends traffic into one of ours; added only when missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jump {
    /// The built-in chain (`OUTPUT`, `PREROUTING`).
    pub chain: &'static str,
    /// The rule's match and target, as iptables arguments.
    pub rule: Vec<String>,
}

impl Jump {
    fn args(&self, op: &str) -> Vec<String> {
        let mut a = vec![
            "-w".to_string(),
            XTABLES_WAIT_SECS.to_string(),
            "-t".to_string(),
            "nat".to_string(),
            op.to_string(),
            self.chain.to_string(),
        ];
        a.extend(self.rule.iter().cloned());
        a
    }
}

/// Everything `phimesh init` does for one address family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The family.
    pub family: Family,
    /// Input for `iptables-restore --noflush`: declares (creates or flushes) our chains and fills them.
    pub restore: String,
    /// Jumps from the built-in chains, checked with `-C` and appended when missing.
    pub jumps: Vec<Jump>,
}

/// Builds the rules for one family from the flags. Pure: no system is consulted.
pub fn plan(args: &InitArgs, family: Family) -> Plan {
    let mut r = String::new();
    let mut line = |s: String| {
        r.push_str(&s);
        r.push('\n');
    };
    line("*nat".into());
    for chain in [
        CHAIN_INBOUND,
        CHAIN_IN_REDIRECT,
        CHAIN_OUTPUT,
        CHAIN_REDIRECT,
    ] {
        line(format!(":{chain} - [0:0]"));
    }

    // Inbound: everything TCP except the admin port and the excluded ports goes to the inbound listener.
    line(format!(
        "-A {CHAIN_IN_REDIRECT} -p tcp -j REDIRECT --to-ports {}",
        args.inbound_port
    ));
    let mut inbound_skip = vec![args.admin_port];
    for p in &args.exclude_inbound_ports {
        if !inbound_skip.contains(p) {
            inbound_skip.push(*p);
        }
    }
    for p in inbound_skip {
        line(format!("-A {CHAIN_INBOUND} -p tcp --dport {p} -j RETURN"));
    }
    line(format!("-A {CHAIN_INBOUND} -p tcp -j {CHAIN_IN_REDIRECT}"));

    // Outbound: the proxy's own connections first, then loopback, then exclusions.
    line(format!(
        "-A {CHAIN_REDIRECT} -p tcp -j REDIRECT --to-ports {}",
        args.outbound_port
    ));
    line(format!(
        "-A {CHAIN_OUTPUT} -m owner --uid-owner {} -j RETURN",
        args.proxy_uid
    ));
    if let Some(gid) = args.proxy_gid {
        line(format!(
            "-A {CHAIN_OUTPUT} -m owner --gid-owner {gid} -j RETURN"
        ));
    }
    line(format!("-A {CHAIN_OUTPUT} -o lo -j RETURN"));
    let mut outbound_skip: Vec<u16> = Vec::new();
    for p in &args.exclude_outbound_ports {
        if !outbound_skip.contains(p) {
            outbound_skip.push(*p);
        }
    }
    for p in outbound_skip {
        line(format!("-A {CHAIN_OUTPUT} -p tcp --dport {p} -j RETURN"));
    }
    let mut cidrs: Vec<String> = Vec::new();
    for c in args
        .exclude_outbound_cidrs
        .iter()
        .filter(|c| c.family() == family)
    {
        let c = c.to_string();
        if !cidrs.contains(&c) {
            cidrs.push(c);
        }
    }
    for c in cidrs {
        line(format!("-A {CHAIN_OUTPUT} -d {c} -j RETURN"));
    }
    line(format!("-A {CHAIN_OUTPUT} -j {CHAIN_REDIRECT}"));
    line("COMMIT".into());

    let jump = |chain: &'static str, target: &str| Jump {
        chain,
        rule: ["-p", "tcp", "-j", target]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    Plan {
        family,
        restore: r,
        jumps: vec![
            jump("PREROUTING", CHAIN_INBOUND),
            jump("OUTPUT", CHAIN_OUTPUT),
        ],
    }
}

/// The families `args` asks for, in order.
fn families(args: &InitArgs) -> Vec<Family> {
    match args.ipv6 {
        Ipv6Mode::Off => vec![Family::V4],
        Ipv6Mode::Auto | Ipv6Mode::Require => vec![Family::V4, Family::V6],
    }
}

/// The `--dry-run` output: a POSIX shell script doing exactly what `phimesh init` does.
pub fn script(args: &InitArgs) -> String {
    let mut s = String::from(
        "#!/bin/sh\n# phimesh init --dry-run: the commands `phimesh init` runs (nat table, idempotent).\nset -e\n",
    );
    for family in families(args) {
        let p = plan(args, family);
        let indent = if family == Family::V6 && args.ipv6 == Ipv6Mode::Auto {
            s.push_str(&format!(
                "# {}: only where {} has a nat table\nif {} -w {XTABLES_WAIT_SECS} -t nat -S >/dev/null 2>&1; then\n",
                family.name(),
                family.iptables(),
                family.iptables()
            ));
            "  "
        } else {
            s.push_str(&format!("# {}\n", family.name()));
            ""
        };
        s.push_str(&format!(
            "{indent}{} -w {XTABLES_WAIT_SECS} --noflush <<'EOF'\n{}EOF\n",
            family.restore(),
            p.restore
        ));
        for j in &p.jumps {
            let check = j.args("-C").join(" ");
            let add = j.args("-A").join(" ");
            let cmd = family.iptables();
            s.push_str(&format!(
                "{indent}{cmd} {check} 2>/dev/null || {cmd} {add}\n"
            ));
        }
        if !indent.is_empty() {
            s.push_str(&format!(
                "else\n  echo 'phimesh init: {} skipped: {} has no nat table' >&2\nfi\n",
                family.name(),
                family.iptables()
            ));
        }
    }
    s
}

/// Why applying the rules failed.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A command could not be started (not installed, not on `PATH`).
    #[error("cannot run {command}: {source}")]
    Spawn {
        /// The command.
        command: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A command ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// Its stderr, trimmed.
        stderr: String,
    },
}

fn run(cmd: &str, args: &[String], stdin: Option<&str>) -> Result<std::process::Output, InitError> {
    let spawn_err = |source| InitError::Spawn {
        command: cmd.to_string(),
        source,
    };
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_err)?;
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input.as_bytes()).map_err(spawn_err)?;
    }
    child.wait_with_output().map_err(spawn_err)
}

fn failed(cmd: &str, args: &[String], out: &std::process::Output) -> InitError {
    InitError::Failed {
        command: format!("{cmd} {}", args.join(" ")),
        status: out.status.to_string(),
        stderr: String::from_utf8_lossy(&out.stderr)
            .trim()
            .replace('\n', "; "),
    }
}

/// Whether `family`'s iptables has a usable nat table in this network namespace.
pub fn nat_available(family: Family) -> bool {
    let args: Vec<String> = ["-w", XTABLES_WAIT_SECS, "-t", "nat", "-S"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    matches!(run(family.iptables(), &args, None), Ok(o) if o.status.success())
}

/// Installs `plan` in the current network namespace: restore our chains, then add missing jumps.
pub fn apply(plan: &Plan) -> Result<(), InitError> {
    let restore_args: Vec<String> = ["-w", XTABLES_WAIT_SECS, "--noflush"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let cmd = plan.family.restore();
    let out = run(cmd, &restore_args, Some(&plan.restore))?;
    if !out.status.success() {
        return Err(failed(cmd, &restore_args, &out));
    }
    let cmd = plan.family.iptables();
    for jump in &plan.jumps {
        let check = jump.args("-C");
        let out = run(cmd, &check, None)?;
        match out.status.code() {
            Some(0) => continue,
            // 1: "Bad rule (does a matching rule exist in that chain?)", i.e. missing.
            Some(1) => {}
            _ => return Err(failed(cmd, &check, &out)),
        }
        let add = jump.args("-A");
        let out = run(cmd, &add, None)?;
        if !out.status.success() {
            return Err(failed(cmd, &add, &out));
        }
    }
    Ok(())
}

/// Runs `phimesh init` and returns the process exit code.
pub fn run_init(args: InitArgs) -> ExitCode {
    if args.dry_run {
        print!("{}", script(&args));
        return ExitCode::SUCCESS;
    }
    for family in families(&args) {
        if family == Family::V6 && !nat_available(family) {
            if args.ipv6 == Ipv6Mode::Require {
                eprintln!("phimesh init: --ipv6 require: ip6tables has no usable nat table here");
                return ExitCode::from(1);
            }
            eprintln!("phimesh init: IPv6 rules skipped: ip6tables has no usable nat table here");
            continue;
        }
        let p = plan(&args, family);
        if let Err(e) = apply(&p) {
            eprintln!("phimesh init: {} rules: {e}", family.name());
            return ExitCode::from(1);
        }
        eprintln!(
            "phimesh init: {} redirect in place (outbound -> :{}, inbound -> :{}, proxy uid {})",
            family.name(),
            args.outbound_port,
            args.inbound_port,
            args.proxy_uid
        );
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        init: InitArgs,
    }

    fn args(flags: &[&str]) -> InitArgs {
        Cli::try_parse_from(std::iter::once("init").chain(flags.iter().copied()))
            .expect("flags parse")
            .init
    }

    #[test]
    fn default_ipv4_rules() {
        let p = plan(&args(&[]), Family::V4);
        assert_eq!(
            p.restore,
            "\
*nat
:PHIMESH_INBOUND - [0:0]
:PHIMESH_IN_REDIRECT - [0:0]
:PHIMESH_OUTPUT - [0:0]
:PHIMESH_REDIRECT - [0:0]
-A PHIMESH_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006
-A PHIMESH_INBOUND -p tcp --dport 15020 -j RETURN
-A PHIMESH_INBOUND -p tcp -j PHIMESH_IN_REDIRECT
-A PHIMESH_REDIRECT -p tcp -j REDIRECT --to-ports 15001
-A PHIMESH_OUTPUT -m owner --uid-owner 1337 -j RETURN
-A PHIMESH_OUTPUT -o lo -j RETURN
-A PHIMESH_OUTPUT -j PHIMESH_REDIRECT
COMMIT
"
        );
        assert_eq!(
            p.jumps,
            vec![
                Jump {
                    chain: "PREROUTING",
                    rule: vec![
                        "-p".into(),
                        "tcp".into(),
                        "-j".into(),
                        "PHIMESH_INBOUND".into()
                    ],
                },
                Jump {
                    chain: "OUTPUT",
                    rule: vec![
                        "-p".into(),
                        "tcp".into(),
                        "-j".into(),
                        "PHIMESH_OUTPUT".into()
                    ],
                },
            ]
        );
    }

    #[test]
    fn exclusions_split_by_family_and_deduplicated() {
        let a = args(&[
            "--proxy-uid",
            "1000",
            "--proxy-gid",
            "1001",
            "--exclude-inbound-ports",
            "22,8081,22,15020",
            "--exclude-outbound-ports",
            "53",
            "--exclude-outbound-cidrs",
            "10.96.0.7/12,fd00::1/8,192.168.1.1,10.96.0.0/12",
        ]);
        let v4 = plan(&a, Family::V4).restore;
        let v6 = plan(&a, Family::V6).restore;
        for r in [&v4, &v6] {
            assert!(r.contains("-A PHIMESH_OUTPUT -m owner --uid-owner 1000 -j RETURN\n-A PHIMESH_OUTPUT -m owner --gid-owner 1001 -j RETURN\n-A PHIMESH_OUTPUT -o lo -j RETURN\n-A PHIMESH_OUTPUT -p tcp --dport 53 -j RETURN\n"));
            assert!(r.contains("-A PHIMESH_INBOUND -p tcp --dport 15020 -j RETURN\n-A PHIMESH_INBOUND -p tcp --dport 22 -j RETURN\n-A PHIMESH_INBOUND -p tcp --dport 8081 -j RETURN\n-A PHIMESH_INBOUND -p tcp -j PHIMESH_IN_REDIRECT\n"));
            assert_eq!(r.matches("--dport 22 ").count(), 1);
            assert_eq!(r.matches("--dport 15020 ").count(), 1);
            // The catch-all redirect comes after every exclusion.
            let last_return = r.rfind("-j RETURN").unwrap();
            assert!(r.find("-A PHIMESH_OUTPUT -j PHIMESH_REDIRECT").unwrap() > last_return);
        }
        assert!(v4.contains("-A PHIMESH_OUTPUT -d 10.96.0.0/12 -j RETURN\n-A PHIMESH_OUTPUT -d 192.168.1.1/32 -j RETURN\n"));
        assert_eq!(v4.matches("10.96.0.0/12").count(), 1);
        assert!(!v4.contains("fd00"));
        assert!(v6.contains("-A PHIMESH_OUTPUT -d fd00::/8 -j RETURN\n"));
        assert!(!v6.contains("10.96") && !v6.contains("192.168"));
    }

    #[test]
    fn ports_follow_flags() {
        let r = plan(
            &args(&[
                "--outbound-port",
                "16001",
                "--inbound-port",
                "16006",
                "--admin-port",
                "16020",
            ]),
            Family::V4,
        )
        .restore;
        assert!(r.contains("REDIRECT --to-ports 16001\n"));
        assert!(r.contains("REDIRECT --to-ports 16006\n"));
        assert!(r.contains("--dport 16020 -j RETURN\n"));
        assert!(!r.contains("1500") && !r.contains("15020"));
    }

    #[test]
    fn bad_flags_are_rejected() {
        for bad in [
            &["--exclude-outbound-cidrs", "10.0.0.0/33"][..],
            &["--exclude-outbound-cidrs", "nonsense"],
            &["--exclude-outbound-cidrs", "::/129"],
            &["--exclude-inbound-ports", "0"],
            &["--exclude-inbound-ports", "70000"],
            &["--exclude-inbound-ports", "22,x"],
            &["--proxy-uid", "-1"],
            &["--ipv6", "maybe"],
        ] {
            let r = Cli::try_parse_from(std::iter::once("init").chain(bad.iter().copied()));
            assert!(r.is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn cidr_parsing() {
        let c: Cidr = "10.1.2.3/8".parse().unwrap();
        assert_eq!(c.to_string(), "10.0.0.0/8");
        assert_eq!(c.family(), Family::V4);
        assert_eq!(
            "0.0.0.0/0".parse::<Cidr>().unwrap().to_string(),
            "0.0.0.0/0"
        );
        assert_eq!("::/0".parse::<Cidr>().unwrap().to_string(), "::/0");
        assert_eq!(
            "2001:db8::5".parse::<Cidr>().unwrap().to_string(),
            "2001:db8::5/128"
        );
        assert_eq!(
            " 2001:db8:ffff::/33".parse::<Cidr>().unwrap().to_string(),
            "2001:db8:8000::/33"
        );
        assert!("10.0.0.0/".parse::<Cidr>().is_err());
    }

    #[test]
    fn dry_run_script_runs_the_same_plan() {
        let a = args(&["--exclude-outbound-cidrs", "10.0.0.0/8"]);
        let s = script(&a);
        let v4 = plan(&a, Family::V4);
        let v6 = plan(&a, Family::V6);
        assert!(s.contains(&format!(
            "iptables-restore -w 10 --noflush <<'EOF'\n{}EOF\n",
            v4.restore
        )));
        assert!(s.contains(&format!(
            "  ip6tables-restore -w 10 --noflush <<'EOF'\n{}EOF\n",
            v6.restore
        )));
        assert!(s.contains(
            "iptables -w 10 -t nat -C OUTPUT -p tcp -j PHIMESH_OUTPUT 2>/dev/null || iptables -w 10 -t nat -A OUTPUT -p tcp -j PHIMESH_OUTPUT\n"
        ));
        assert!(s.contains(
            "iptables -w 10 -t nat -C PREROUTING -p tcp -j PHIMESH_INBOUND 2>/dev/null || iptables -w 10 -t nat -A PREROUTING -p tcp -j PHIMESH_INBOUND\n"
        ));
        assert!(s.contains("if ip6tables -w 10 -t nat -S >/dev/null 2>&1; then\n"));

        let off = script(&args(&["--ipv6", "off"]));
        assert!(!off.contains("ip6tables"));
        let req = script(&args(&["--ipv6", "require"]));
        assert!(req.contains("\nip6tables-restore -w 10 --noflush"));
        assert!(!req.contains("if ip6tables"));
    }
}
