//! A small HTTPS/1.1 client (hyper 1 over tokio-rustls) for the identity client's calls to the CA
//! (the CA's own calls to the Kubernetes API go through `kube`).
//!
//! One request per connection: the calls are rare (a renewal every few hours, a bundle refresh
//! every few minutes, a mesh discovery poll every few seconds, mostly answered 304), so a pool
//! would only add state. Every call has a deadline and a cap
//! on the response body.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;

/// An `https://host:port[/prefix]` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsUrl {
    /// Host name or IP address (no brackets for IPv6).
    pub host: String,
    /// Port, 443 when not given.
    pub port: u16,
    /// Path prefix without a trailing slash (often empty).
    pub prefix: String,
}

/// Errors of an HTTPS call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpsError {
    /// The address is not `https://host[:port][/path]`.
    #[error("invalid https URL {0:?}: expected https://HOST:PORT")]
    Url(String),
    /// DNS, TCP connect or TLS handshake failed.
    #[error("connect to {addr} failed: {source}")]
    Connect {
        /// host:port
        addr: String,
        /// cause
        source: std::io::Error,
    },
    /// The HTTP exchange failed.
    #[error("http error: {0}")]
    Http(String),
    /// The whole call took longer than its deadline.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The response body was larger than allowed.
    #[error("response body over {0} bytes")]
    TooLarge(usize),
}

impl HttpsUrl {
    /// Parses `https://host[:port][/prefix]`; `[v6]:port` for IPv6.
    pub fn parse(s: &str) -> Result<Self, HttpsError> {
        let err = || HttpsError::Url(s.to_owned());
        let rest = s.strip_prefix("https://").ok_or_else(err)?;
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(err());
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6.find(']').ok_or_else(err)?;
            let host = &v6[..end];
            let port = match &v6[end + 1..] {
                "" => 443,
                p => p
                    .strip_prefix(':')
                    .ok_or_else(err)?
                    .parse()
                    .map_err(|_| err())?,
            };
            (host.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| err())?),
                None => (authority.to_owned(), 443),
            }
        };
        if host.is_empty() || ServerName::try_from(host.clone()).is_err() {
            return Err(err());
        }
        Ok(HttpsUrl {
            host,
            port,
            prefix: prefix.to_owned(),
        })
    }

    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// A response: status and body.
#[derive(Debug)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// The response's header fields.
    pub headers: http::HeaderMap,
    /// The body (at most the limit given).
    pub body: Bytes,
}

/// Bounds of one call.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deadline of the whole call (connect, handshake, request, response body).
    pub timeout: Duration,
    /// Largest response body read.
    pub max_body: usize,
}

/// Sends one request and reads the response, all within `limits.timeout`.
pub async fn request(
    url: &HttpsUrl,
    tls: Arc<ClientConfig>,
    method: http::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
    limits: Limits,
) -> Result<Response, HttpsError> {
    match tokio::time::timeout(
        limits.timeout,
        request_inner(url, tls, method, path, headers, body, limits.max_body),
    )
    .await
    {
        Ok(r) => r,
        Err(_) => Err(HttpsError::Timeout(limits.timeout)),
    }
}

async fn request_inner(
    url: &HttpsUrl,
    tls: Arc<ClientConfig>,
    method: http::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
    max_body: usize,
) -> Result<Response, HttpsError> {
    let addr = url.authority();
    let connect_err = |source| HttpsError::Connect {
        addr: addr.clone(),
        source,
    };
    let tcp = tokio::net::TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(connect_err)?;
    let _ = tcp.set_nodelay(true);
    let server_name =
        ServerName::try_from(url.host.clone()).map_err(|_| HttpsError::Url(url.host.clone()))?;
    let tls_stream = tokio_rustls::TlsConnector::from(tls)
        .connect(server_name, tcp)
        .await
        .map_err(connect_err)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls_stream))
        .await
        .map_err(|e| HttpsError::Http(e.to_string()))?;
    let conn_task = tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut builder = http::Request::builder()
        .method(method)
        .uri(format!("{}{}", url.prefix, path))
        .header(http::header::HOST, addr.as_str());
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let req = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| HttpsError::Http(e.to_string()))?;
    let result = async {
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| HttpsError::Http(e.to_string()))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = Limited::new(resp.into_body(), max_body)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    HttpsError::TooLarge(max_body)
                } else {
                    HttpsError::Http(e.to_string())
                }
            })?
            .to_bytes();
        Ok(Response {
            status,
            headers,
            body,
        })
    }
    .await;
    conn_task.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        assert_eq!(
            HttpsUrl::parse("https://127.0.0.1:15012").unwrap(),
            HttpsUrl {
                host: "127.0.0.1".into(),
                port: 15012,
                prefix: String::new()
            }
        );
        assert_eq!(
            HttpsUrl::parse("https://kubernetes.default.svc/").unwrap(),
            HttpsUrl {
                host: "kubernetes.default.svc".into(),
                port: 443,
                prefix: String::new()
            }
        );
        assert_eq!(
            HttpsUrl::parse("https://[::1]:8443/api").unwrap().prefix,
            "/api"
        );
        assert_eq!(
            HttpsUrl::parse("https://[::1]:8443/api").unwrap().host,
            "::1"
        );
        for bad in [
            "http://x:1",
            "https://",
            "https://x:notaport",
            "https://u@x:1",
            "https://[::1",
            "x",
        ] {
            assert!(HttpsUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
