//! A minimal HTTP/1.1 client for the admin API (plain HTTP on loopback): JSON in, JSON out.

use anyhow::{Context, Result};

use super::exit::{Status, WithStatus};
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::Value;

/// An admin API answer.
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// The JSON body (`Value::String` with the text when it is not JSON).
    pub json: Value,
}

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters, so `+`
/// in a time zone offset is not read as a space).
pub fn encode(s: &str) -> String {
    const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, UNRESERVED).to_string()
}

/// GET `url`.
pub async fn get(url: &str) -> Result<Answer> {
    request(Method::GET, url, Vec::new()).await
}

/// POST `body` to `url`.
pub async fn post(url: &str, body: Vec<u8>) -> Result<Answer> {
    request(Method::POST, url, body).await
}

/// PUT `body` to `url`.
pub async fn put(url: &str, body: Vec<u8>) -> Result<Answer> {
    request(Method::PUT, url, body).await
}

/// DELETE `url`.
pub async fn delete(url: &str) -> Result<Answer> {
    request(Method::DELETE, url, Vec::new()).await
}

async fn request(method: Method, url: &str, body: Vec<u8>) -> Result<Answer> {
    let uri: http::Uri = url
        .parse()
        .with_context(|| format!("invalid admin URL {url}"))
        .status(Status::Usage)?;
    let host = uri
        .host()
        .with_context(|| format!("admin URL without host: {url}"))
        .status(Status::Usage)?
        .to_string();
    let port = uri.port_u16().unwrap_or(80);
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .with_context(|| format!("cannot reach the testbed's admin API at {host}:{port}: is `ntjp serve` running? (--admin URL or --state-dir DIR tell where)"))
        .status(Status::Unreachable)?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
            .await
            .status(Status::Unreachable)?;
    tokio::spawn(conn);
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", format!("{host}:{port}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))?;
    let resp = sender
        .send_request(req)
        .await
        .with_context(|| format!("admin API request to {host}:{port} failed"))
        .status(Status::Unreachable)?;
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .with_context(|| format!("admin API answer from {host}:{port} broke off"))
        .status(Status::Unreachable)?
        .to_bytes();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Ok(Answer { status, json })
}
