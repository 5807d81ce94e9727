//! The admin API's request gate (issue 9): what a web page in the operator's browser could
//! send (a cross-site `text/plain` POST, a rebound host name) is refused before it changes
//! anything, and the CLI's own requests still pass.

mod common;

use common::*;
use ntjp_testbed::cli::client;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An order that would route county 25 somewhere new (a change TAK accepts).
fn an_order() -> String {
    order(
        today(),
        &format!(
            r#"{{"vagval": [{{"adress": "{{{{mocks}}}}/25/ProcessCervixScreeningInformation/1/rivtabp21?ny", "logiskAdress": "25", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "TSTNMT2321000156-MOCK25"}}]}}"#
        ),
        "{}",
    )
}

/// Sends one request as written (headers and all) and returns the status and the body as
/// JSON (or text).
async fn raw(
    bed: &Bed,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    let addr = addr_of(&bed.testbed.endpoints().admin);
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(body.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let json = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()));
    (status, json)
}

/// What a change would show: the versions, the pending changes and the accepted orders.
async fn state(bed: &Bed) -> (Value, Value, usize) {
    let admin = &bed.testbed.endpoints().admin;
    let get = |p: &str| {
        let url = format!("{admin}{p}");
        async move { client::get(&url).await.unwrap().json }
    };
    let versions = get("/api/sit/versions").await;
    let pending = get("/api/sit/tak/pending").await;
    let orders = get("/api/sit/orders").await;
    (versions, pending, orders.as_array().map_or(0, Vec::len))
}

#[tokio::test]
async fn a_cross_site_text_plain_order_is_refused_and_tak_is_unchanged() {
    let bed = start().await;
    let port = addr_of(&bed.testbed.endpoints().admin).port();
    let host = format!("127.0.0.1:{port}");
    let before = state(&bed).await;

    // What a page on another site can make a browser send: a "simple" POST, text/plain,
    // with its own Origin. On main this was 201 and TAK changed.
    let (status, body) = raw(
        &bed,
        "POST",
        "/api/sit/orders",
        &[
            ("host", &host),
            ("origin", "https://evil.example"),
            ("content-type", "text/plain"),
        ],
        &an_order(),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("https://evil.example"),
        "{body}"
    );

    // The same without an Origin (a form post from a page that hides it): 415, naming the type.
    for ct in ["text/plain", "application/x-www-form-urlencoded"] {
        let (status, body) = raw(
            &bed,
            "POST",
            "/api/sit/orders",
            &[("host", &host), ("content-type", ct)],
            &an_order(),
        )
        .await;
        assert_eq!(status, 415, "{body}");
        assert!(body["error"].as_str().unwrap().contains(ct), "{body}");
    }
    let (status, body) = raw(&bed, "POST", "/api/sit/publish", &[("host", &host)], "").await;
    assert_eq!(status, 415, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("no Content-Type"),
        "{body}"
    );

    assert_eq!(state(&bed).await, before, "a refused request changed TAK");
    bed.stop().await;
}

#[tokio::test]
async fn a_foreign_host_is_refused_even_for_reads() {
    let bed = start().await;
    let port = addr_of(&bed.testbed.endpoints().admin).port();
    let before = state(&bed).await;
    // DNS rebinding: a hostile name pointed at 127.0.0.1; the browser names it in Host.
    let rebound = format!("rebound.evil.example:{port}");
    for (method, path) in [
        ("GET", "/api/sit/versions"),
        ("GET", "/api/sit/tak/export"),
        ("GET", "/status"),
        ("POST", "/tak/sit/SokVagvalsInfo/v2"),
    ] {
        let (status, body) = raw(&bed, method, path, &[("host", &rebound)], "").await;
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert!(body["error"].as_str().unwrap().contains(&rebound), "{body}");
    }
    let (status, body) = raw(
        &bed,
        "POST",
        "/api/sit/orders",
        &[("host", &rebound), ("content-type", "application/json")],
        &an_order(),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(state(&bed).await, before, "a refused request changed TAK");

    // The listener's own names pass, and so do the health probes whatever they name.
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        "[::1]".to_string(),
    ] {
        let (status, body) = raw(&bed, "GET", "/api/sit/versions", &[("host", &host)], "").await;
        assert_eq!(status, 200, "{host}: {body}");
    }
    let (status, _) = raw(&bed, "GET", "/health/ready", &[("host", "10.1.2.3")], "").await;
    assert_eq!(status, 200);
    bed.stop().await;
}

#[tokio::test]
async fn configured_host_names_pass() {
    let bed = start_with(|c, _| c.admin_allowed_hosts = vec!["ntjp.testbed.svc".into()]).await;
    let (status, body) = raw(
        &bed,
        "GET",
        "/api/sit/versions",
        &[("host", "NTJP.testbed.svc:8080")],
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = raw(
        &bed,
        "GET",
        "/api/sit/versions",
        &[("host", "other.svc")],
        "",
    )
    .await;
    assert_eq!(status, 403);
    bed.stop().await;
}

#[tokio::test]
async fn the_clis_requests_and_the_browser_page_still_pass() {
    let bed = start().await;
    let admin = bed.testbed.endpoints().admin.clone();
    // The CLI's client (what `ntjp order apply` sends): an order, a publish, a rollback.
    let a = client::post(
        &format!("{admin}/api/sit/orders?publish=false"),
        an_order().into_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(a.status.as_u16(), 201, "{}", a.json);
    let a = client::post(
        &format!("{admin}/api/sit/publish"),
        br#"{"comment": "cli"}"#.to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(a.status.as_u16(), 200, "{}", a.json);
    let v = a.json["version"].as_u64().unwrap();
    let a = client::post(
        &format!("{admin}/api/sit/rollback"),
        format!(r#"{{"version": {v}}}"#).into_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(a.status.as_u16(), 200, "{}", a.json);
    // `ntjp mocks set` and `ntjp mocks clear`.
    let a = client::put(
        &format!("{admin}/api/mocks/25/behaviour"),
        br#"{"answer": "fault"}"#.to_vec(),
    )
    .await
    .unwrap();
    assert!(a.status.is_success(), "{}", a.json);
    let a = client::delete(&format!("{admin}/api/mocks/messages"))
        .await
        .unwrap();
    assert!(a.status.is_success(), "{}", a.json);
    // The one page a browser opens (VP's resetcache, HTML), from the listener's own origin.
    let port = addr_of(&admin).port();
    let (status, body) = raw(
        &bed,
        "GET",
        "/api/sit/resetcache",
        &[
            ("host", &format!("localhost:{port}")),
            ("origin", &format!("http://localhost:{port}")),
        ],
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.as_str()
            .unwrap()
            .contains("Init done, was successful: true"),
        "{body}"
    );
    bed.stop().await;
}
