//! Mesh discovery in the sidecar: which addresses of `--mesh-networks` have a sidecar, and
//! which SPIFFE ID each must present.
//!
//! A task polls the CA's `GET /v1/mesh` every `--discovery-interval` (10 s) with the sidecar's
//! token and `If-None-Match` (a `304` costs no body), backing off (1 s doubling to 60 s, with
//! jitter) while the CA cannot answer, and keeps an address → identity map ([`MeshMap`]).
//! An outbound destination inside `--mesh-networks` is then ([`MeshMap::lookup`]):
//!
//! * **listed** ([`Lookup::Meshed`]): a mesh peer. The sidecar originates mTLS and the peer's
//!   certificate must carry exactly the listed SPIFFE ID, checked inside the handshake; any
//!   other identity of the trust domain is refused (reset, `peer_identity_mismatch`, audited);
//! * **not listed** ([`Lookup::NotMeshed`]): no sidecar there (an unmeshed namespace, a
//!   node-local agent). Egress: inspected, plaintext PHI refused as for any egress;
//! * **unknown** ([`Lookup::Unknown`]): the sidecar has never had a list (the CA has not
//!   answered since it started). The `--mesh-networks` rule alone decides, as without
//!   discovery: a mesh peer, mTLS, any identity of the trust domain.
//!
//! Once the sidecar has had a list, that list keeps deciding, also when its last confirmation
//! is older than `--discovery-max-age` (60 s): a listed address stays pinned to its last
//! listed identity, an unlisted one stays egress. Staleness is reported
//! (`phimesh_discovery_stale`, a warning in the log) and polling goes on with backoff. A stale
//! list fails closed for PHI: an address that went to another pod since is refused (the new
//! holder is not the listed identity), and a pod created since is reached as egress (its
//! sidecar's strict inbound refuses plaintext: refused connections, no leak). The CA being
//! unreachable, or answering the sidecar's address `429` (its auth-failure throttle, which a
//! token guesser sharing that address can trigger), therefore never widens what is accepted.
//! Before the first list the fallback fails closed for PHI too: every pod-network destination
//! gets mTLS, which a destination without a sidecar cannot answer; what is lost there is the
//! identity pinning and reaching unmeshed destinations.
//!
//! An answer is read with a bound ([`MAX_MESH_BODY`]) and refused whole (the previous list
//! kept, `bad_answer` counted) when it lists more than [`MAX_MESH_WORKLOADS`] workloads (the
//! CA's cap; parsing stops there) or an identity that is not a SPIFFE ID of the trust domain.
//! An address is taken in its IPv4 form when IPv4-mapped; an address that two different
//! identities claim (in any spelling) is left out, as the CA does; the same identity twice is
//! one entry.
//!
//! Metrics: `phimesh_discovery_workloads` (addresses in the map),
//! `phimesh_discovery_last_success_timestamp_seconds` (last answer, 200 or 304),
//! `phimesh_discovery_stale` (1 while there is no current list: never fetched or older than
//! `--discovery-max-age`),
//! `phimesh_discovery_fetch_errors_total{reason}` ([`FETCH_ERROR_REASONS`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use phimesh_identity::api::{MeshResponse, MeshWorkload, MAX_MESH_BODY, MAX_MESH_WORKLOADS};
use phimesh_identity::https::HttpsError;
use phimesh_identity::identity::{Identity, IdentityConfig, IdentityError};
use phimesh_identity::spiffe::SpiffeId;
use prometheus::{Gauge, IntCounterVec, IntGauge, Opts, Registry};
use tracing::{debug, info, warn};

/// Settings of the discovery poller (`--discovery-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscoveryConfig {
    /// Time between two polls of `GET /v1/mesh` (`--discovery-interval`, 10 s).
    pub interval: Duration,
    /// How long a map is current after its last confirmation (`--discovery-max-age`, 60 s);
    /// past it the map is reported stale but keeps deciding.
    pub max_age: Duration,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            interval: Duration::from_secs(10),
            max_age: Duration::from_secs(60),
        }
    }
}

/// What discovery says about an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// It has a sidecar holding this identity.
    Meshed(SpiffeId),
    /// It has no sidecar.
    NotMeshed,
    /// Discovery cannot say: the sidecar has never had a list.
    Unknown,
}

#[derive(Debug, Default)]
struct State {
    map: HashMap<IpAddr, SpiffeId>,
    etag: Option<String>,
    /// Last `200` or `304`; `None` until the first list is installed.
    confirmed: Option<Instant>,
    generation: u64,
}

/// The address → identity map, shared by the poller and the connections. Cloning shares it.
#[derive(Debug, Clone)]
pub struct MeshMap {
    state: Arc<RwLock<State>>,
    max_age: Duration,
}

/// An IPv4-mapped IPv6 address as its IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The body of a `200` to `GET /v1/mesh`, parsed with a bound: more than
/// [`MAX_MESH_WORKLOADS`] entries is an error as soon as the next one starts, so parsing never
/// holds more than the CA would ever send.
#[derive(Debug, serde::Deserialize)]
struct BoundedAnswer {
    #[serde(deserialize_with = "bounded_workloads")]
    workloads: Vec<MeshWorkload>,
}

fn bounded_workloads<'de, D>(d: D) -> Result<Vec<MeshWorkload>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Vec<MeshWorkload>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "at most {MAX_MESH_WORKLOADS} workloads")
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(w) = seq.next_element::<MeshWorkload>()? {
                if out.len() == MAX_MESH_WORKLOADS {
                    return Err(serde::de::Error::custom(TOO_MANY));
                }
                out.push(w);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(V)
}

const TOO_MANY: &str = "more workloads than the CA ever lists";

impl MeshMap {
    /// An empty map (everything [`Lookup::Unknown`] until the first [`install`](Self::install))
    /// that is current for `max_age` after each confirmation.
    pub fn new(max_age: Duration) -> Self {
        MeshMap {
            state: Arc::new(RwLock::new(State::default())),
            max_age,
        }
    }

    /// What the map says about `ip` now: [`Lookup::Unknown`] only before the first list; a
    /// stale list still decides.
    pub fn lookup(&self, ip: IpAddr) -> Lookup {
        let Ok(st) = self.state.read() else {
            // A poisoned lock: nothing known can be trusted; no PHI goes plaintext either way
            // (the fallback originates mTLS).
            return Lookup::Unknown;
        };
        if st.confirmed.is_none() {
            return Lookup::Unknown;
        }
        match st.map.get(&canonical(ip)) {
            Some(id) => Lookup::Meshed(id.clone()),
            None => Lookup::NotMeshed,
        }
    }

    /// Whether there is no current list now: never fetched, or not confirmed for longer than
    /// `max_age` (reported; a stale list still decides).
    pub fn is_stale(&self) -> bool {
        self.is_stale_at(Instant::now())
    }

    fn is_stale_at(&self, now: Instant) -> bool {
        self.state.read().map_or(true, |st| self.stale_at(&st, now))
    }

    /// Whether the sidecar has had a list (then [`lookup`](Self::lookup) never falls back).
    pub fn has_list(&self) -> bool {
        self.state.read().is_ok_and(|st| st.confirmed.is_some())
    }

    /// The `ETag` of the installed map.
    pub fn etag(&self) -> Option<String> {
        self.state.read().ok().and_then(|st| st.etag.clone())
    }

    /// Bumped whenever a connection verified under the map before may no longer be reused: an
    /// address's identity changed or the address left the list, or the first list came (before
    /// it any identity of the trust domain was accepted).
    pub fn generation(&self) -> u64 {
        self.state.read().map_or(0, |st| st.generation)
    }

    /// Addresses in the map.
    pub fn len(&self) -> usize {
        self.state.read().map_or(0, |st| st.map.len())
    }

    /// Whether the map holds no address.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Installs a `200` answer: every identity must parse and be of `trust_domain`, and there
    /// may be at most [`MAX_MESH_WORKLOADS`] entries, or the whole answer is refused (and the
    /// map left as it was). Addresses are taken in their IPv4 form when IPv4-mapped; an
    /// address two different identities claim is left out (the same identity twice is one
    /// entry). Returns the number of addresses installed.
    pub fn install(
        &self,
        answer: MeshResponse,
        etag: Option<String>,
        trust_domain: &str,
    ) -> Result<usize, &'static str> {
        self.install_workloads(answer.workloads, etag, trust_domain)
    }

    fn install_workloads(
        &self,
        workloads: Vec<MeshWorkload>,
        etag: Option<String>,
        trust_domain: &str,
    ) -> Result<usize, &'static str> {
        if workloads.len() > MAX_MESH_WORKLOADS {
            return Err(TOO_MANY);
        }
        let mut map = HashMap::with_capacity(workloads.len());
        let mut conflicted = std::collections::HashSet::new();
        for w in workloads {
            let id = SpiffeId::parse(&w.identity).map_err(|_| "identity is not a SPIFFE ID")?;
            if id.trust_domain() != trust_domain {
                return Err("identity outside the trust domain");
            }
            let ip = canonical(w.ip);
            match map.get(&ip) {
                Some(prev) if *prev != id => {
                    conflicted.insert(ip);
                }
                Some(_) => {}
                None => {
                    map.insert(ip, id);
                }
            }
        }
        if !conflicted.is_empty() {
            warn!(
                addresses = conflicted.len(),
                "mesh list claims addresses for two identities: left out"
            );
            for ip in &conflicted {
                map.remove(ip);
            }
        }
        let n = map.len();
        if let Ok(mut st) = self.state.write() {
            let invalidates =
                st.confirmed.is_none() || st.map.iter().any(|(ip, id)| map.get(ip) != Some(id));
            let generation = st.generation + u64::from(invalidates);
            *st = State {
                map,
                etag,
                confirmed: Some(Instant::now()),
                generation,
            };
        }
        Ok(n)
    }

    /// A `304`: the installed map is still current.
    pub fn confirm(&self) {
        if let Ok(mut st) = self.state.write() {
            if st.confirmed.is_some() {
                st.confirmed = Some(Instant::now());
            }
        }
    }

    fn stale_at(&self, st: &State, now: Instant) -> bool {
        st.confirmed
            .is_none_or(|t| now.saturating_duration_since(t) > self.max_age)
    }
}

/// Every `reason` of `phimesh_discovery_fetch_errors_total`: the CA could not be reached or
/// spoke no HTTP (`connect`), refused the token (`unauthenticated`), had no list (`unavailable`,
/// a 503: no source, or its source lost), answered another status (`http_status`) or an
/// unusable list (`bad_answer`); the token or roots file could not be read (`local`).
pub const FETCH_ERROR_REASONS: [&str; 6] = [
    "connect",
    "unauthenticated",
    "unavailable",
    "http_status",
    "bad_answer",
    "local",
];

/// The discovery metrics.
#[derive(Debug, Clone)]
pub struct DiscoveryMetrics {
    workloads: IntGauge,
    last_success: Gauge,
    stale: IntGauge,
    errors: IntCounterVec,
}

impl DiscoveryMetrics {
    /// Makes and registers the metrics on `registry`.
    pub fn register(registry: &Registry) -> Self {
        let workloads = IntGauge::new(
            "phimesh_discovery_workloads",
            "Meshed addresses in the sidecar's discovery map",
        )
        .expect("valid metric");
        let last_success = Gauge::new(
            "phimesh_discovery_last_success_timestamp_seconds",
            "When GET /v1/mesh last answered (200 or 304), Unix seconds",
        )
        .expect("valid metric");
        let stale = IntGauge::new(
            "phimesh_discovery_stale",
            "1 while there is no current discovery list: never fetched (--mesh-networks alone decides) or older than --discovery-max-age (the last list keeps deciding)",
        )
        .expect("valid metric");
        let errors = IntCounterVec::new(
            Opts::new(
                "phimesh_discovery_fetch_errors_total",
                "Failed polls of GET /v1/mesh, by reason",
            ),
            &["reason"],
        )
        .expect("valid metric");
        for r in FETCH_ERROR_REASONS {
            errors.with_label_values(&[r]);
        }
        stale.set(1);
        let _ = registry.register(Box::new(workloads.clone()));
        let _ = registry.register(Box::new(last_success.clone()));
        let _ = registry.register(Box::new(stale.clone()));
        let _ = registry.register(Box::new(errors.clone()));
        DiscoveryMetrics {
            workloads,
            last_success,
            stale,
            errors,
        }
    }
}

/// Why one poll failed: a reason of [`FETCH_ERROR_REASONS`] and a text for the log line (never
/// the token, nor the answer's text).
#[derive(Debug)]
struct PollError {
    reason: &'static str,
    detail: String,
}

fn from_identity_error(e: IdentityError) -> PollError {
    let reason = match &e {
        // Over MAX_MESH_BODY: reading stopped at the bound.
        IdentityError::Https(HttpsError::TooLarge(_)) => "bad_answer",
        IdentityError::Https(_) => "connect",
        _ => "local",
    };
    PollError {
        reason,
        detail: e.to_string(),
    }
}

async fn poll_once(
    identity: &Identity,
    cfg: &IdentityConfig,
    map: &MeshMap,
) -> Result<Option<usize>, PollError> {
    let etag = map.etag();
    let mut headers = Vec::new();
    if let Some(t) = &etag {
        headers.push(("if-none-match", t.as_str()));
    }
    let resp = identity
        .ca_get(cfg, "/v1/mesh", &headers, MAX_MESH_BODY)
        .await
        .map_err(from_identity_error)?;
    let status_err = |reason| PollError {
        reason,
        detail: format!("HTTP {}", resp.status),
    };
    match resp.status {
        304 if etag.is_some() => {
            map.confirm();
            Ok(None)
        }
        200 => {
            let new_etag = resp
                .headers
                .get(http::header::ETAG)
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            let answer: BoundedAnswer =
                serde_json::from_slice(&resp.body).map_err(|e| PollError {
                    reason: "bad_answer",
                    detail: if e.to_string().starts_with(TOO_MANY) {
                        format!("more than {MAX_MESH_WORKLOADS} workloads")
                    } else {
                        "not the mesh list JSON".into()
                    },
                })?;
            drop(resp);
            map.install_workloads(
                answer.workloads,
                new_etag,
                identity.spiffe_id().trust_domain(),
            )
            .map(Some)
            .map_err(|why| PollError {
                reason: "bad_answer",
                detail: why.into(),
            })
        }
        401 | 403 => Err(status_err("unauthenticated")),
        503 => Err(status_err("unavailable")),
        _ => Err(status_err("http_status")),
    }
}

fn jitter(d: Duration) -> Duration {
    // Up to 10 % earlier, so that sidecars started together spread their polls.
    d.mul_f64(1.0 - rand::random::<f64>() * 0.1)
}

const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Polls the CA into `map` forever (abort the task to stop).
pub async fn run(
    identity: Identity,
    cfg: IdentityConfig,
    settings: DiscoveryConfig,
    map: MeshMap,
    metrics: DiscoveryMetrics,
) {
    let mut backoff = BACKOFF_MIN;
    let mut was_stale = true;
    loop {
        let wait = match poll_once(&identity, &cfg, &map).await {
            Ok(installed) => {
                if let Some(n) = installed {
                    debug!(workloads = n, "mesh discovery map updated");
                }
                metrics.last_success.set(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0.0, |d| d.as_secs_f64()),
                );
                backoff = BACKOFF_MIN;
                jitter(settings.interval)
            }
            Err(e) => {
                metrics.errors.with_label_values(&[e.reason]).inc();
                warn!(reason = e.reason, error = %e.detail, retry_in = ?backoff, "mesh discovery poll failed");
                let w = jitter(backoff);
                backoff = (backoff * 2).min(BACKOFF_MAX);
                w
            }
        };
        metrics.workloads.set(map.len() as i64);
        // Wake in time to say when the map goes stale.
        let wait = wait.min(settings.max_age);
        let stale = map.is_stale();
        metrics.stale.set(i64::from(stale));
        if stale != was_stale {
            if stale {
                if map.has_list() {
                    warn!(
                        workloads = map.len(),
                        "mesh discovery list stale: the last list keeps deciding (listed addresses pinned, unlisted ones egress) until the CA answers"
                    );
                } else {
                    warn!("no mesh discovery list yet: --mesh-networks alone decides until the CA answers");
                }
            } else {
                info!(workloads = map.len(), "mesh discovery list current");
            }
            was_stale = stale;
        }
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phimesh_identity::api::MeshWorkload;

    fn answer(entries: &[(&str, &str)]) -> MeshResponse {
        MeshResponse {
            workloads: entries
                .iter()
                .map(|(ip, id)| MeshWorkload {
                    ip: ip.parse().unwrap(),
                    identity: id.to_string(),
                })
                .collect(),
        }
    }

    const WEB: &str = "spiffe://cluster.local/ns/shop/sa/web";

    #[test]
    fn lookups_before_during_and_after_the_map_is_current() {
        let map = MeshMap::new(Duration::from_secs(60));
        let ip: IpAddr = "10.1.0.5".parse().unwrap();
        let other: IpAddr = "10.1.0.6".parse().unwrap();
        assert_eq!(map.lookup(ip), Lookup::Unknown, "never fetched");
        assert!(map.is_stale());
        map.install(
            answer(&[("10.1.0.5", WEB)]),
            Some("\"t1\"".into()),
            "cluster.local",
        )
        .unwrap();
        assert_eq!(map.lookup(ip), Lookup::Meshed(WEB.parse().unwrap()));
        assert_eq!(map.lookup(other), Lookup::NotMeshed);
        let mapped: IpAddr = "::ffff:10.1.0.5".parse().unwrap();
        assert_eq!(map.lookup(mapped), Lookup::Meshed(WEB.parse().unwrap()));
        assert_eq!(map.etag().as_deref(), Some("\"t1\""));
        assert!(!map.is_stale());

        // Past max_age without a confirmation: stale, and still deciding (no fallback once
        // there has been a list).
        let later = Instant::now() + Duration::from_secs(61);
        assert!(map.is_stale_at(later));
        assert!(map.has_list());
        let stale = MeshMap::new(Duration::ZERO);
        stale
            .install(answer(&[("10.1.0.5", WEB)]), None, "cluster.local")
            .unwrap();
        std::thread::sleep(Duration::from_millis(2));
        assert!(stale.is_stale());
        assert_eq!(stale.lookup(ip), Lookup::Meshed(WEB.parse().unwrap()));
        assert_eq!(stale.lookup(other), Lookup::NotMeshed);
    }

    #[test]
    fn a_304_confirms_the_map() {
        let map = MeshMap::new(Duration::from_millis(0));
        let ip: IpAddr = "10.1.0.5".parse().unwrap();
        map.install(
            answer(&[("10.1.0.5", WEB)]),
            Some("\"t1\"".into()),
            "cluster.local",
        )
        .unwrap();
        let t = map.state.read().unwrap().confirmed.unwrap();
        map.confirm();
        let t2 = map.state.read().unwrap().confirmed.unwrap();
        assert!(t2 >= t);
        assert!(!map.is_stale_at(t2));
        assert!(map.is_stale_at(t2 + Duration::from_millis(1)));
        assert_eq!(map.lookup(ip), Lookup::Meshed(WEB.parse().unwrap()));
    }

    #[test]
    fn a_304_before_any_list_is_not_a_list() {
        let map = MeshMap::new(Duration::from_secs(60));
        map.confirm();
        assert!(!map.has_list());
        assert!(map.is_stale());
        assert_eq!(map.lookup("10.1.0.5".parse().unwrap()), Lookup::Unknown);
    }

    #[test]
    fn pooled_connections_are_dropped_when_an_identity_changes_or_goes() {
        const DB: &str = "spiffe://cluster.local/ns/shop/sa/db";
        let map = MeshMap::new(Duration::from_secs(60));
        let g0 = map.generation();
        let t = |s: &str| Some(format!("\"{s}\""));
        map.install(answer(&[("10.1.0.5", WEB)]), t("1"), "cluster.local")
            .unwrap();
        let g1 = map.generation();
        assert!(g1 > g0, "the first list: connections of the fallback go");
        map.install(
            answer(&[("10.1.0.5", WEB), ("10.1.0.6", DB)]),
            t("2"),
            "cluster.local",
        )
        .unwrap();
        map.confirm();
        assert_eq!(
            map.generation(),
            g1,
            "an address added, a 304: nothing to drop"
        );
        map.install(
            answer(&[("10.1.0.5", DB), ("10.1.0.6", DB)]),
            t("3"),
            "cluster.local",
        )
        .unwrap();
        let g2 = map.generation();
        assert!(g2 > g1, "an identity changed");
        map.install(answer(&[("10.1.0.6", DB)]), t("4"), "cluster.local")
            .unwrap();
        let g3 = map.generation();
        assert!(g3 > g2, "an address left");

        // A stale list kept deciding (connections stayed pinned): the same list again when
        // the CA answers drops nothing, a changed one does.
        let stale = MeshMap::new(Duration::ZERO);
        stale
            .install(answer(&[("10.1.0.6", DB)]), t("1"), "cluster.local")
            .unwrap();
        let s1 = stale.generation();
        std::thread::sleep(Duration::from_millis(2));
        assert!(stale.is_stale());
        stale
            .install(answer(&[("10.1.0.6", DB)]), t("1"), "cluster.local")
            .unwrap();
        stale.confirm();
        assert_eq!(stale.generation(), s1, "the same list after staleness");
        stale
            .install(answer(&[("10.1.0.6", WEB)]), t("2"), "cluster.local")
            .unwrap();
        assert!(stale.generation() > s1, "an identity changed while stale");
    }

    #[test]
    fn an_address_two_identities_claim_is_left_out_in_every_spelling() {
        const DB: &str = "spiffe://cluster.local/ns/shop/sa/db";
        let map = MeshMap::new(Duration::from_secs(60));
        let n = map
            .install(
                answer(&[
                    ("10.1.0.5", WEB),
                    ("::ffff:10.1.0.5", DB),
                    ("10.1.0.6", DB),
                    ("10.1.0.7", WEB),
                    ("10.1.0.7", DB),
                    ("10.1.0.8", WEB),
                    ("::ffff:10.1.0.8", WEB),
                ]),
                None,
                "cluster.local",
            )
            .unwrap();
        assert_eq!(n, 2);
        for gone in ["10.1.0.5", "::ffff:10.1.0.5", "10.1.0.7"] {
            assert_eq!(
                map.lookup(gone.parse().unwrap()),
                Lookup::NotMeshed,
                "{gone}"
            );
        }
        assert_eq!(
            map.lookup("10.1.0.6".parse().unwrap()),
            Lookup::Meshed(DB.parse().unwrap())
        );
        assert_eq!(
            map.lookup("::ffff:10.1.0.8".parse().unwrap()),
            Lookup::Meshed(WEB.parse().unwrap()),
            "the same identity twice is one entry"
        );
    }

    #[test]
    fn an_answer_over_the_workload_bound_is_refused_while_parsing() {
        let entry = format!("{{\"ip\":\"10.1.0.5\",\"identity\":\"{WEB}\"}}");
        let body = |n: usize| format!("{{\"workloads\":[{}]}}", vec![entry.as_str(); n].join(","));
        let ok: BoundedAnswer = serde_json::from_str(&body(MAX_MESH_WORKLOADS)).unwrap();
        assert_eq!(ok.workloads.len(), MAX_MESH_WORKLOADS);
        let e = serde_json::from_str::<BoundedAnswer>(&body(MAX_MESH_WORKLOADS + 1)).unwrap_err();
        assert!(e.to_string().starts_with(TOO_MANY), "{e}");
        let map = MeshMap::new(Duration::from_secs(60));
        map.install(answer(&[("10.1.0.6", WEB)]), None, "cluster.local")
            .unwrap();
        let many = MeshResponse {
            workloads: vec![
                MeshWorkload {
                    ip: "10.1.0.5".parse().unwrap(),
                    identity: WEB.into(),
                };
                MAX_MESH_WORKLOADS + 1
            ],
        };
        assert_eq!(map.install(many, None, "cluster.local"), Err(TOO_MANY));
        assert_eq!(map.len(), 1, "the previous list kept");
    }

    #[test]
    fn a_bad_answer_leaves_the_map_as_it_was() {
        let map = MeshMap::new(Duration::from_secs(60));
        map.install(
            answer(&[("10.1.0.5", WEB)]),
            Some("\"t1\"".into()),
            "cluster.local",
        )
        .unwrap();
        for (bad, why) in [
            (
                answer(&[("10.1.0.6", "spiffe://other.td/ns/a/sa/b")]),
                "trust domain",
            ),
            (answer(&[("10.1.0.6", "https://x")]), "SPIFFE"),
        ] {
            let e = map
                .install(bad, Some("\"t2\"".into()), "cluster.local")
                .unwrap_err();
            assert!(e.contains(why), "{e}");
        }
        assert_eq!(map.etag().as_deref(), Some("\"t1\""));
        assert_eq!(map.len(), 1);
    }
}
