//! `cargo bench --bench ca`: certificate issuance (CSR parse + signature verify + name check +
//! sign + PEM encode) and full mTLS handshakes between two identities issued by the CA, in
//! process (rustls connections wired back to back, no sockets), with the crypto provider named.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use phimesh_ca::authority::Settings;
use phimesh_ca::identity::{Identity, SpiffeId};
use phimesh_ca::pki::{self, KeyAlgorithm, ValidatedCsr};
use phimesh_ca::state::CaState;
use rustls::pki_types::ServerName;

fn issuance(c: &mut Criterion) {
    let settings = Settings::new("cluster.local");
    let now = pki::unix_now();
    let state = CaState::create(&settings, now).unwrap();
    let signer = state.signer(&settings, now).unwrap();
    let id: SpiffeId = "spiffe://cluster.local/ns/default/sa/web".parse().unwrap();
    let key = pki::generate_key(KeyAlgorithm::EcdsaP256).unwrap();
    let csr_pem = pki::make_csr(&key, &id, &[]).unwrap();
    let mut g = c.benchmark_group(format!("ca/{}", phimesh_ca::tls::PROVIDER_NAME));
    g.throughput(Throughput::Elements(1));
    g.bench_function("issue_p256_leaf", |b| {
        b.iter(|| {
            let csr = ValidatedCsr::from_pem(&csr_pem).unwrap();
            csr.check_names(&id, &[]).unwrap();
            let leaf = signer.sign(&csr, &id, &[], now).unwrap();
            std::hint::black_box(format!("{}{}", leaf.pem, signer.issuer_pem));
        })
    });
    g.finish();
}

fn issued_identity(signer: &phimesh_ca::authority::Signer, id: &str) -> Identity {
    let id: SpiffeId = id.parse().unwrap();
    let key = pki::generate_key(KeyAlgorithm::EcdsaP256).unwrap();
    let csr = ValidatedCsr::from_pem(&pki::make_csr(&key, &id, &[]).unwrap()).unwrap();
    let leaf = signer.sign(&csr, &id, &[], pki::unix_now()).unwrap();
    Identity::from_static(
        &format!("{}{}", leaf.pem, signer.issuer_pem),
        &key.serialize_pem(),
        &signer.bundle_pem,
        "cluster.local",
        None,
    )
    .unwrap()
}

fn handshakes(c: &mut Criterion) {
    let settings = Settings::new("cluster.local");
    let now = pki::unix_now();
    let state = CaState::create(&settings, now).unwrap();
    let signer = state.signer(&settings, now).unwrap();
    let web = issued_identity(&signer, "spiffe://cluster.local/ns/default/sa/web");
    let db = issued_identity(&signer, "spiffe://cluster.local/ns/default/sa/db");
    let server_cfg = {
        let mut s = (*db.server_config(vec![b"h2".to_vec()], true)).clone();
        s.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        s.send_tls13_tickets = 0;
        Arc::new(s)
    };
    let client_cfg = {
        let mut c = (*web.client_config(vec![b"h2".to_vec()])).clone();
        c.resumption = rustls::client::Resumption::disabled();
        Arc::new(c)
    };
    let mut g = c.benchmark_group(format!("ca/{}", phimesh_ca::tls::PROVIDER_NAME));
    g.throughput(Throughput::Elements(1));
    g.bench_function("mtls_full_handshake_tls13_p256", |b| {
        b.iter(|| {
            let mut client = rustls::ClientConnection::new(
                client_cfg.clone(),
                ServerName::try_from("db").unwrap(),
            )
            .unwrap();
            let mut server = rustls::ServerConnection::new(server_cfg.clone()).unwrap();
            let mut buf = Vec::with_capacity(16 * 1024);
            for _ in 0..10 {
                if !client.is_handshaking() && !server.is_handshaking() {
                    break;
                }
                buf.clear();
                while client.wants_write() {
                    client.write_tls(&mut buf).unwrap();
                }
                let mut rd = &buf[..];
                while !rd.is_empty() {
                    server.read_tls(&mut rd).unwrap();
                }
                server.process_new_packets().unwrap();
                buf.clear();
                while server.wants_write() {
                    server.write_tls(&mut buf).unwrap();
                }
                let mut rd = &buf[..];
                while !rd.is_empty() {
                    client.read_tls(&mut rd).unwrap();
                }
                client.process_new_packets().unwrap();
            }
            assert!(!client.is_handshaking() && !server.is_handshaking());
            assert!(phimesh_ca::identity::peer_identity(&server).is_some());
        })
    });
    g.finish();
}

criterion_group!(benches, issuance, handshakes);
criterion_main!(benches);
