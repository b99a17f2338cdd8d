//! `phimesh init` in real network namespaces: the rules it installs redirect an app's outbound
//! connections to 15001 and inbound connections to 15006, `SO_ORIGINAL_DST` recovers where they
//! were going, and the proxy's UID, loopback, the admin port and the excluded ports/CIDRs pass
//! untouched. IPv4 and IPv6. Stand-ins listen on 15001/15006 (the proxy is not involved here).
//!
//! Needs root; fails loudly without it unless `PHIMESH_SKIP_NETNS=1` (see tests/support/netns.rs).

mod support {
    pub(crate) mod netns;
}

use std::process::Command;

use phimesh_proxy::orig_dst::so_original_dst;
use support::netns::{self, http_reply, Net, APP_UID, PROXY_UID};

/// A stand-in listener: answers every request with `<label> orig=<SO_ORIGINAL_DST>`.
fn reporter(
    label: &'static str,
) -> impl Fn(tokio::net::TcpStream) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
       + Send
       + 'static {
    move |s| {
        let body = match so_original_dst(&s) {
            Ok(a) => format!("{label} orig={a}"),
            Err(e) => format!("{label} orig-error={e}"),
        };
        Box::pin(http_reply(s, body))
    }
}

/// A plain app: answers every request with `body`.
fn app(
    body: &'static str,
) -> impl Fn(tokio::net::TcpStream) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
       + Send
       + 'static {
    move |s| Box::pin(http_reply(s, body.to_string()))
}

#[test]
fn init_redirects_outbound_and_inbound_but_not_the_proxy() {
    if netns::require_netns("init_redirects").is_none() {
        return;
    }
    let mut net = Net::new("redir");
    let a = net.pod("a");
    let b = net.pod("b");
    let ext = net.pod("ext");

    let init = a.init(&[
        "--exclude-inbound-ports",
        "2222",
        "--exclude-outbound-cidrs",
        &format!("{}/32", ext.ip),
    ]);
    let init_err = String::from_utf8_lossy(&init.stderr).into_owned();
    assert!(init_err.contains("IPv4 redirect in place"), "{init_err}");
    let v6 = init_err.contains("IPv6 redirect in place");
    if !v6 {
        eprintln!("note: ip6tables has no nat table here; IPv6 cases not checked: {init_err}");
    }

    // Stand-ins for the proxy's listeners, and apps, in pod A; apps in pod B and on the external host.
    let _out = a.serve("[::]:15001".parse().unwrap(), reporter("outbound-listener"));
    let _in = a.serve("[::]:15006".parse().unwrap(), reporter("inbound-listener"));
    let _admin = a.serve("0.0.0.0:15020".parse().unwrap(), app("a-admin"));
    let _local = a.serve("[::]:8081".parse().unwrap(), app("a-local"));
    let _skip = a.serve("0.0.0.0:2222".parse().unwrap(), app("a-excluded-port"));
    let _b = b.serve("[::]:8080".parse().unwrap(), app("b-app"));
    let _ext = ext.serve("0.0.0.0:80".parse().unwrap(), app("ext-host"));

    let expect = |pod: &netns::Pod, uid: u32, url: &str, want: &str| {
        let (ok, body) = pod.curl(uid, &["-g", url]);
        assert!(
            ok && body == want,
            "{} uid {uid} {url}: want {want:?}, got {body:?}",
            pod.name
        );
    };

    // Outbound from an app UID: redirected, original destination recovered.
    let b_url = format!("http://{}/", b.addr(8080));
    expect(
        &a,
        APP_UID,
        &b_url,
        &format!("outbound-listener orig={}", b.addr(8080)),
    );
    expect(
        &a,
        0,
        &b_url,
        &format!("outbound-listener orig={}", b.addr(8080)),
    );
    // The proxy's own connections are not redirected.
    expect(&a, PROXY_UID, &b_url, "b-app");
    // Loopback, and the pod's own IP (routed through lo), are not redirected.
    expect(&a, APP_UID, "http://127.0.0.1:8081/", "a-local");
    expect(&a, APP_UID, &format!("http://{}/", a.addr(8081)), "a-local");
    // An excluded CIDR is not redirected.
    expect(
        &a,
        APP_UID,
        &format!("http://{}/", ext.addr(80)),
        "ext-host",
    );

    // Inbound from another pod: redirected to 15006, except the admin port and excluded ports.
    expect(
        &b,
        APP_UID,
        &format!("http://{}/", a.addr(9999)),
        &format!("inbound-listener orig={}", a.addr(9999)),
    );
    expect(
        &b,
        APP_UID,
        &format!("http://{}/", a.addr(15020)),
        "a-admin",
    );
    expect(
        &b,
        APP_UID,
        &format!("http://{}/", a.addr(2222)),
        "a-excluded-port",
    );

    if v6 {
        let b6 = format!("http://{}/", b.addr6(8080));
        expect(
            &a,
            APP_UID,
            &b6,
            &format!("outbound-listener orig={}", b.addr6(8080)),
        );
        expect(&a, PROXY_UID, &b6, "b-app");
        expect(&a, APP_UID, "http://[::1]:8081/", "a-local");
        expect(
            &b,
            APP_UID,
            &format!("http://{}/", a.addr6(9999)),
            &format!("inbound-listener orig={}", a.addr6(9999)),
        );
    }

    // Pod B has no rules: its traffic goes straight out.
    expect(
        &b,
        APP_UID,
        &format!("http://{}/", ext.addr(80)),
        "ext-host",
    );
    assert!(!b.nat_rules(false).contains("PHIMESH"));

    // Idempotent: a second run converges to the same rules, no duplicated jump.
    let before = (a.nat_rules(false), a.nat_rules(true));
    a.init(&[
        "--exclude-inbound-ports",
        "2222",
        "--exclude-outbound-cidrs",
        &format!("{}/32", ext.ip),
    ]);
    let after = (a.nat_rules(false), a.nat_rules(true));
    assert_eq!(before, after, "second phimesh init changed the rules");
    for rules in [&after.0, &after.1] {
        if rules.contains("PHIMESH") {
            assert_eq!(
                rules.matches("-A OUTPUT -p tcp -j PHIMESH_OUTPUT").count(),
                1,
                "{rules}"
            );
            assert_eq!(
                rules
                    .matches("-A PREROUTING -p tcp -j PHIMESH_INBOUND")
                    .count(),
                1,
                "{rules}"
            );
        }
    }
    // Changed flags converge too: the excluded CIDR goes, traffic to it is now redirected.
    a.init(&[]);
    let rules = a.nat_rules(false);
    assert!(!rules.contains(&ext.ip.to_string()), "{rules}");
    assert_eq!(
        rules.matches("-A OUTPUT -p tcp -j PHIMESH_OUTPUT").count(),
        1,
        "{rules}"
    );
    expect(
        &a,
        APP_UID,
        &format!("http://{}/", ext.addr(80)),
        &format!("outbound-listener orig={}", ext.addr(80)),
    );

    // `--dry-run | sh` is the same thing: it leaves the rules as they are.
    let script = netns::run(a.cmd(netns::phimesh_bin()).args(["init", "--dry-run"])).stdout;
    let mut sh = a.cmd("sh");
    sh.stdin(std::process::Stdio::piped());
    let mut child = sh.stdout(std::process::Stdio::null()).spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), &script).unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    assert_eq!(a.nat_rules(false), rules);
}

/// Without root or namespaces: the binary's dry run reads `PHIMESH_*` and rejects bad flags
/// with exit 2.
#[test]
fn init_dry_run_and_flags() {
    let out = Command::new(netns::phimesh_bin())
        .args(["init", "--dry-run", "--ipv6", "off"])
        .env("PHIMESH_EXCLUDE_INBOUND_PORTS", "22,8081")
        .env("PHIMESH_PROXY_UID", "2000")
        .output()
        .unwrap();
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("-A PHIMESH_INBOUND -p tcp --dport 22 -j RETURN\n-A PHIMESH_INBOUND -p tcp --dport 8081 -j RETURN\n"), "{s}");
    assert!(
        s.contains("-A PHIMESH_OUTPUT -m owner --uid-owner 2000 -j RETURN\n"),
        "{s}"
    );
    assert!(!s.contains("ip6tables"), "{s}");

    let env_dry = Command::new(netns::phimesh_bin())
        .arg("init")
        .env("PHIMESH_DRY_RUN", "true")
        .output()
        .unwrap();
    assert!(env_dry.status.success());
    assert!(String::from_utf8_lossy(&env_dry.stdout).starts_with("#!/bin/sh\n"));

    for bad in [
        &[
            "init",
            "--dry-run",
            "--exclude-outbound-cidrs",
            "10.0.0.0/40",
        ][..],
        &["init", "--dry-run", "--exclude-inbound-ports", "0"],
        &["init", "--dry-run", "--proxy-uid", "root"],
    ] {
        let out = Command::new(netns::phimesh_bin())
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.lines()
                .next()
                .unwrap_or("")
                .starts_with("error: invalid value"),
            "{err}"
        );
    }
}
