//! What the injector puts into every pod: image, trust domain, CA address, mesh networks, the
//! defaults that pod annotations may override, and the operator's allow-list of the exclusions
//! pods in PHI namespaces may still ask for ([`PhiAllowList`]). Shared by `phimesh webhook` and
//! `phimesh inject`.

use crate::values;
pub use crate::values::{InboundMtls, Mode, Resources, SidecarMode};

/// Image used when `--image` is not given: the release that matches this binary.
pub const DEFAULT_IMAGE: &str = concat!("ghcr.io/phimesh/phimesh:", env!("CARGO_PKG_VERSION"));
/// The CA's in-cluster address.
pub const DEFAULT_CA_ADDR: &str = "https://phimesh-ca.phimesh-system.svc:15012";
/// Trust domain of SPIFFE IDs.
pub const DEFAULT_TRUST_DOMAIN: &str = "cluster.local";
/// UID the proxy runs as; `phimesh init` exempts its traffic from redirection.
pub const PROXY_UID: i64 = 1337;
/// Admin port: `/metrics`, `/ready`, `/live`.
pub const ADMIN_PORT: u16 = 15020;
/// Outbound listener of the proxy.
pub const OUTBOUND_PORT: u16 = 15001;
/// Inbound listener of the proxy (mTLS from peers lands here).
pub const INBOUND_PORT: u16 = 15006;
/// Audience of the projected service-account token the CA accepts.
pub const TOKEN_AUDIENCE: &str = "phimesh-ca";
/// ConfigMap holding `trust-bundle.pem` in each meshed namespace.
pub const TRUST_BUNDLE_CONFIGMAP: &str = "phimesh-trust-bundle";

/// Everything the injector needs besides the pod itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectorConfig {
    /// Image of both the init step and the proxy.
    pub image: String,
    /// `imagePullPolicy` of both.
    pub image_pull_policy: String,
    /// SPIFFE trust domain.
    pub trust_domain: String,
    /// `PHIMESH_CA_ADDR` of the proxy.
    pub ca_addr: String,
    /// `PHIMESH_MESH_NETWORKS` of the proxy (the pod network's CIDRs).
    pub mesh_networks: Vec<String>,
    /// Default sidecar mode.
    pub sidecar_mode: SidecarMode,
    /// Default `PHIMESH_MODE`.
    pub mode: Mode,
    /// Default `PHIMESH_INBOUND_MTLS`.
    pub inbound_mtls: InboundMtls,
    /// Default resources of the proxy.
    pub resources: Resources,
    /// What pods in PHI namespaces may still exclude from the proxy.
    pub phi: PhiAllowList,
}

/// The exclusions the operator lets pods in PHI namespaces ask for (`POST /mutate/phi`). Anything
/// else a pod there asks to exclude is denied. Entries are compared **as written** (after
/// trimming), by the webhook and by the ValidatingAdmissionPolicy in `deploy/` alike: allowing
/// `169.254.169.254/32` allows exactly that string, not a network inside or around it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhiAllowList {
    /// `phimesh.io/exclude-outbound-cidrs` entries allowed.
    pub exclude_outbound_cidrs: Vec<String>,
    /// `phimesh.io/exclude-outbound-ports` entries allowed.
    pub exclude_outbound_ports: Vec<u16>,
    /// `phimesh.io/exclude-inbound-ports` entries allowed.
    pub exclude_inbound_ports: Vec<u16>,
}

impl InjectorConfig {
    /// A configuration for unit tests.
    pub fn for_tests() -> Self {
        InjectorFlags::defaults_with_mesh("10.0.0.0/8")
            .into_config()
            .expect("test defaults are valid")
    }
}

/// The injector's flags, shared by `phimesh webhook` and `phimesh inject`. Every flag also reads
/// `PHIMESH_<FLAG>` from the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct InjectorFlags {
    /// Image of the init step and the proxy.
    #[arg(long, env = "PHIMESH_IMAGE", default_value = DEFAULT_IMAGE)]
    pub image: String,
    /// imagePullPolicy of the injected containers.
    #[arg(long, env = "PHIMESH_IMAGE_PULL_POLICY", default_value = "IfNotPresent",
          value_parser = ["Always", "IfNotPresent", "Never"])]
    pub image_pull_policy: String,
    /// SPIFFE trust domain of the identities.
    #[arg(long, env = "PHIMESH_TRUST_DOMAIN", default_value = DEFAULT_TRUST_DOMAIN)]
    pub trust_domain: String,
    /// Address of the CA's identity API, given to every sidecar.
    #[arg(long, env = "PHIMESH_CA_ADDR", default_value = DEFAULT_CA_ADDR)]
    pub ca_addr: String,
    /// The pod network's CIDRs (comma-separated): outbound traffic there is mTLS to a peer.
    #[arg(long, env = "PHIMESH_MESH_NETWORKS", default_value = "")]
    pub mesh_networks: String,
    /// Default sidecar mode (annotation `phimesh.io/sidecar-mode` overrides).
    #[arg(long, env = "PHIMESH_SIDECAR_MODE", default_value = "native")]
    pub sidecar_mode: String,
    /// Default proxy mode, enforce or audit (annotation `phimesh.io/mode` overrides).
    #[arg(long, env = "PHIMESH_MODE", default_value = "enforce")]
    pub mode: String,
    /// Default inbound mTLS, strict or permissive (annotation `phimesh.io/inbound-mtls` overrides).
    #[arg(long, env = "PHIMESH_INBOUND_MTLS", default_value = "strict")]
    pub inbound_mtls: String,
    /// CPU request of the proxy.
    #[arg(long, env = "PHIMESH_PROXY_CPU", default_value = "100m")]
    pub proxy_cpu: String,
    /// Memory request of the proxy.
    #[arg(long, env = "PHIMESH_PROXY_MEMORY", default_value = "128Mi")]
    pub proxy_memory: String,
    /// CPU limit of the proxy (empty: none).
    #[arg(long, env = "PHIMESH_PROXY_CPU_LIMIT", default_value = "2")]
    pub proxy_cpu_limit: String,
    /// Memory limit of the proxy (empty: none).
    #[arg(long, env = "PHIMESH_PROXY_MEMORY_LIMIT", default_value = "1Gi")]
    pub proxy_memory_limit: String,
    /// PHI namespaces: the outbound CIDRs (comma-separated, compared as written) a pod may still
    /// exclude with `phimesh.io/exclude-outbound-cidrs`; any other is denied. Default: none.
    #[arg(
        long,
        env = "PHIMESH_PHI_ALLOWED_EXCLUDE_OUTBOUND_CIDRS",
        default_value = ""
    )]
    pub phi_allowed_exclude_outbound_cidrs: String,
    /// PHI namespaces: the outbound ports a pod may still exclude with
    /// `phimesh.io/exclude-outbound-ports`; any other is denied. Default: none.
    #[arg(
        long,
        env = "PHIMESH_PHI_ALLOWED_EXCLUDE_OUTBOUND_PORTS",
        default_value = ""
    )]
    pub phi_allowed_exclude_outbound_ports: String,
    /// PHI namespaces: the inbound ports a pod may still exclude with
    /// `phimesh.io/exclude-inbound-ports`; any other is denied. Default: none.
    #[arg(
        long,
        env = "PHIMESH_PHI_ALLOWED_EXCLUDE_INBOUND_PORTS",
        default_value = ""
    )]
    pub phi_allowed_exclude_inbound_ports: String,
}

impl InjectorFlags {
    /// The defaults with the given mesh networks (tests and examples).
    pub fn defaults_with_mesh(mesh: &str) -> Self {
        InjectorFlags {
            image: DEFAULT_IMAGE.into(),
            image_pull_policy: "IfNotPresent".into(),
            trust_domain: DEFAULT_TRUST_DOMAIN.into(),
            ca_addr: DEFAULT_CA_ADDR.into(),
            mesh_networks: mesh.into(),
            sidecar_mode: "native".into(),
            mode: "enforce".into(),
            inbound_mtls: "strict".into(),
            proxy_cpu: "100m".into(),
            proxy_memory: "128Mi".into(),
            proxy_cpu_limit: "2".into(),
            proxy_memory_limit: "1Gi".into(),
            phi_allowed_exclude_outbound_cidrs: String::new(),
            phi_allowed_exclude_outbound_ports: String::new(),
            phi_allowed_exclude_inbound_ports: String::new(),
        }
    }

    /// Validates the flags; the error is one line naming the flag.
    pub fn into_config(self) -> Result<InjectorConfig, String> {
        if self.image.trim().is_empty() || self.image.chars().any(char::is_whitespace) {
            return Err("--image: not an image reference".into());
        }
        let td = &self.trust_domain;
        if td.is_empty()
            || !td
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b))
        {
            return Err(format!(
                "--trust-domain: {td:?} is not a SPIFFE trust domain"
            ));
        }
        if !self.ca_addr.starts_with("https://") || self.ca_addr.len() <= "https://".len() {
            return Err(format!(
                "--ca-addr: {:?} is not https://HOST:PORT",
                self.ca_addr
            ));
        }
        let mesh_networks = values::parse_cidrs(&self.mesh_networks)
            .map_err(|e| format!("--mesh-networks: {e}"))?;
        if mesh_networks.is_empty() {
            return Err("--mesh-networks: give the pod network's CIDRs".into());
        }
        let opt = |flag: &str, v: String| -> Result<Option<String>, String> {
            let v = v.trim().to_owned();
            if v.is_empty() {
                return Ok(None);
            }
            values::check_quantity(&v).map_err(|e| format!("{flag}: {e}"))?;
            Ok(Some(v))
        };
        Ok(InjectorConfig {
            image: self.image,
            image_pull_policy: self.image_pull_policy,
            trust_domain: self.trust_domain,
            ca_addr: self.ca_addr,
            mesh_networks,
            sidecar_mode: self
                .sidecar_mode
                .parse()
                .map_err(|e| format!("--sidecar-mode: {e}"))?,
            mode: self.mode.parse().map_err(|e| format!("--mode: {e}"))?,
            inbound_mtls: self
                .inbound_mtls
                .parse()
                .map_err(|e| format!("--inbound-mtls: {e}"))?,
            resources: Resources {
                cpu_request: opt("--proxy-cpu", self.proxy_cpu)?,
                memory_request: opt("--proxy-memory", self.proxy_memory)?,
                cpu_limit: opt("--proxy-cpu-limit", self.proxy_cpu_limit)?,
                memory_limit: opt("--proxy-memory-limit", self.proxy_memory_limit)?,
            },
            phi: PhiAllowList {
                exclude_outbound_cidrs: values::parse_cidrs(
                    &self.phi_allowed_exclude_outbound_cidrs,
                )
                .map_err(|e| format!("--phi-allowed-exclude-outbound-cidrs: {e}"))?,
                exclude_outbound_ports: values::parse_ports(
                    &self.phi_allowed_exclude_outbound_ports,
                )
                .map_err(|e| format!("--phi-allowed-exclude-outbound-ports: {e}"))?,
                exclude_inbound_ports: values::parse_ports(&self.phi_allowed_exclude_inbound_ports)
                    .map_err(|e| format!("--phi-allowed-exclude-inbound-ports: {e}"))?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let c = InjectorConfig::for_tests();
        assert_eq!(c.image, DEFAULT_IMAGE);
        assert!(c.image.ends_with(env!("CARGO_PKG_VERSION")));
        assert_eq!(c.mesh_networks, vec!["10.0.0.0/8"]);
        assert_eq!(c.resources.memory_limit.as_deref(), Some("1Gi"));
    }

    #[test]
    fn each_bad_flag_is_named() {
        let base = InjectorFlags::defaults_with_mesh("10.0.0.0/8");
        type Change = Box<dyn Fn(&mut InjectorFlags)>;
        let cases: Vec<(&str, Change)> = vec![
            ("--mesh-networks", Box::new(|f| f.mesh_networks = "".into())),
            (
                "--mesh-networks",
                Box::new(|f| f.mesh_networks = "10/8".into()),
            ),
            ("--mode", Box::new(|f| f.mode = "x".into())),
            ("--inbound-mtls", Box::new(|f| f.inbound_mtls = "x".into())),
            ("--sidecar-mode", Box::new(|f| f.sidecar_mode = "x".into())),
            (
                "--trust-domain",
                Box::new(|f| f.trust_domain = "A B".into()),
            ),
            ("--ca-addr", Box::new(|f| f.ca_addr = "http://ca".into())),
            ("--image", Box::new(|f| f.image = "a b".into())),
            ("--proxy-cpu", Box::new(|f| f.proxy_cpu = "fast".into())),
            (
                "--phi-allowed-exclude-outbound-cidrs",
                Box::new(|f| f.phi_allowed_exclude_outbound_cidrs = "0.0.0.0".into()),
            ),
            (
                "--phi-allowed-exclude-outbound-ports",
                Box::new(|f| f.phi_allowed_exclude_outbound_ports = "0".into()),
            ),
            (
                "--phi-allowed-exclude-inbound-ports",
                Box::new(|f| f.phi_allowed_exclude_inbound_ports = "http".into()),
            ),
        ];
        for (flag, change) in cases {
            let mut f = base.clone();
            change(&mut f);
            let e = f.into_config().unwrap_err();
            assert!(e.starts_with(flag), "{e}");
        }
    }

    #[test]
    fn phi_allow_list_parses_and_defaults_to_nothing() {
        assert_eq!(InjectorConfig::for_tests().phi, PhiAllowList::default());
        let mut f = InjectorFlags::defaults_with_mesh("10.0.0.0/8");
        f.phi_allowed_exclude_outbound_cidrs = " 169.254.169.254/32 , fd00::/8".into();
        f.phi_allowed_exclude_outbound_ports = "5432".into();
        f.phi_allowed_exclude_inbound_ports = "9090,8080".into();
        let phi = f.into_config().unwrap().phi;
        assert_eq!(
            phi.exclude_outbound_cidrs,
            ["169.254.169.254/32", "fd00::/8"]
        );
        assert_eq!(phi.exclude_outbound_ports, [5432]);
        assert_eq!(phi.exclude_inbound_ports, [8080, 9090]);
    }

    #[test]
    fn empty_limit_means_none() {
        let mut f = InjectorFlags::defaults_with_mesh("10.0.0.0/8");
        f.proxy_cpu_limit = String::new();
        assert_eq!(f.into_config().unwrap().resources.cpu_limit, None);
    }
}
