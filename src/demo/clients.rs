//! The app in pod A: its HTTP/1.1 and gRPC requests (the test kit's clients, each on a fresh
//! connection within the scenario's time), and how an answer is summed up in the table.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use hyper::{Request, StatusCode};
use phimesh_testkit::client::{
    chunked, exchange, full, grpc_unary, request, Proto, Reply, ReqBody,
};
use phimesh_testkit::codec::protobuf_bytes;

use super::{REQUEST_TIMEOUT, SSN};

/// The pause between the chunks of a chunked body.
const CHUNK_PAUSE: Duration = Duration::from_millis(100);

pub(super) fn post(path: &str, body: Bytes, headers: &[(&str, &str)]) -> Request<ReqBody> {
    let mut h = vec![("host", "demo"), ("content-type", "application/json")];
    h.extend_from_slice(headers);
    request("POST", path, &h, full(body))
}

pub(super) fn get(path: &str) -> Request<ReqBody> {
    request("GET", path, &[("host", "demo")], full(Bytes::new()))
}

pub(super) async fn http1(addr: SocketAddr, req: Request<ReqBody>) -> Result<Reply, String> {
    exchange(addr, Proto::H1, req, REQUEST_TIMEOUT).await
}

/// A POST whose body goes out as separate chunks, a pause between them.
pub(super) async fn http1_chunked(
    addr: SocketAddr,
    path: &str,
    chunks: Vec<Bytes>,
) -> Result<Reply, String> {
    let req = request(
        "POST",
        path,
        &[("host", "demo"), ("content-type", "application/json")],
        chunked(chunks, CHUNK_PAUSE),
    );
    http1(addr, req).await
}

/// `record` in two chunks, cut inside the patient's SSN.
pub(super) fn split_in_ssn(record: &str) -> Vec<Bytes> {
    let cut = record.find(SSN).map_or(record.len() / 2, |i| i + 5);
    vec![
        Bytes::from(record[..cut].to_string()),
        Bytes::from(record[cut..].to_string()),
    ]
}

/// One unary gRPC call over HTTP/2 (prior knowledge); the message is a protobuf with the record
/// in field 1.
pub(super) async fn grpc(addr: SocketAddr, record: &str) -> Result<Reply, String> {
    let req = grpc_unary(
        addr,
        "/demo.Records/Upload",
        &protobuf_bytes(1, record.as_bytes()),
    );
    exchange(addr, Proto::H2, req, REQUEST_TIMEOUT).await
}

/// What the client saw, for the table: `201`, `403 phi_refused [ssn,mrn]`, `grpc-status 7
/// PERMISSION_DENIED`...
pub(super) fn summary(r: &Reply) -> String {
    if let Some(g) = r.grpc_status {
        return format!(
            "grpc-status {g}{}",
            if g == 7 { " PERMISSION_DENIED" } else { "" }
        );
    }
    let body = String::from_utf8_lossy(&r.body);
    if r.status == StatusCode::FORBIDDEN {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) {
            if let Some(e) = v.get("error").and_then(|e| e.as_str()) {
                let kinds = v
                    .get("kinds")
                    .and_then(|k| k.as_array())
                    .map(|k| {
                        k.iter()
                            .filter_map(|x| x.as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default();
                return format!("403 {e} [{kinds}]");
            }
        }
    }
    r.status.as_u16().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_summaries() {
        let r = Reply {
            status: StatusCode::FORBIDDEN,
            grpc_status: None,
            body: Bytes::from_static(
                br#"{"error":"phi_refused","kinds":["ssn","mrn"],"request_id":"1"}"#,
            ),
        };
        assert_eq!(summary(&r), "403 phi_refused [ssn,mrn]");
        let g = Reply {
            status: StatusCode::OK,
            grpc_status: Some(7),
            body: Bytes::new(),
        };
        assert_eq!(summary(&g), "grpc-status 7 PERMISSION_DENIED");
    }
}
