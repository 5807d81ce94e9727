//! WSDL and XSD from the platform URL (issue 11, point 7): `?wsdl` and `?xsd=` on the routers'
//! listeners, over real mutual TLS and plain HTTP, read from a raw socket so that status line,
//! header values and body are compared as sent.

mod common;

use std::{
    collections::{BTreeSet, VecDeque},
    net::SocketAddr,
    time::Duration,
};

use common::*;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
};

const PATH: &str =
    "/vp/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21";

/// One answer as it came off the wire.
#[derive(Debug)]
struct Raw {
    status_line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Writes `request` (head and body) and reads the answer until the server closes.
async fn exchange(mut io: impl AsyncRead + AsyncWrite + Unpin, request: String) -> Raw {
    io.write_all(request.as_bytes()).await.unwrap();
    io.flush().await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), io.read_to_end(&mut out))
        .await
        .expect("no answer within 30 s")
        .ok();
    let text = String::from_utf8(out).expect("a UTF-8 answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("a whole answer");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap().to_owned();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.to_owned(), v.trim().to_owned())
        })
        .collect();
    Raw {
        status_line,
        headers,
        body: body.to_owned(),
    }
}

fn request(method: &str, target: &str, host: &str, extra: &[(&str, &str)], body: &str) -> String {
    let mut r = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in extra {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        r.push_str(&format!(
            "Content-Type: text/xml; charset=UTF-8\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r
}

/// A GET over mutual TLS with the consumer's certificate.
async fn get_https(bed: &Bed, target: &str, extra: &[(&str, &str)]) -> Raw {
    let addr = bed.https_addr("sit");
    let tls = bed.consumer().connect(addr).await.unwrap();
    exchange(tls, request("GET", target, &host(addr), extra, "")).await
}

/// A GET on the plain-HTTP listener.
async fn get_http(bed: &Bed, target: &str, extra: &[(&str, &str)]) -> Raw {
    let addr = bed.http_addr("sit");
    let tcp = TcpStream::connect(addr).await.unwrap();
    exchange(tcp, request("GET", target, &host(addr), extra, "")).await
}

fn host(addr: SocketAddr) -> String {
    format!("127.0.0.1:{}", addr.port())
}

/// Every `schemaLocation="…"` value of a document.
fn schema_locations(doc: &str) -> Vec<String> {
    doc.split("schemaLocation=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

/// The root `targetNamespace` of a schema.
fn target_namespace(doc: &str) -> String {
    let at = doc.find("<xs:schema").expect("a schema");
    let rest = &doc[at..];
    let rest = &rest[rest.find("targetNamespace=\"").expect("a targetNamespace") + 17..];
    rest.split('"').next().unwrap().to_owned()
}

/// Which listener a crawl uses.
#[derive(Clone, Copy)]
enum Via {
    Https,
    Http,
}

/// Asserts the WSDL answer for `base`, follows every schema link from it (and from the
/// schemas) on the same listener with the same extra headers, and returns the schemas'
/// namespaces.
async fn assert_wsdl_and_crawl(
    bed: &Bed,
    (via, extra): (Via, &[(&str, &str)]),
    wsdl: Raw,
    base: &str,
) -> BTreeSet<String> {
    assert_eq!(wsdl.status_line, "HTTP/1.1 200 OK", "{wsdl:?}");
    assert_eq!(wsdl.header("content-type"), Some("text/xml;UTF-8"));
    assert!(wsdl.header("x-skltp-correlation-id").is_some(), "{wsdl:?}");
    assert!(
        wsdl.body
            .contains(&format!(r#"<soap:address location="{base}"/>"#)),
        "{}",
        wsdl.body
    );
    assert!(wsdl.body.contains("<wsdl:definitions"), "{}", wsdl.body);
    let mut namespaces = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut todo: VecDeque<String> = schema_locations(&wsdl.body).into();
    assert_eq!(todo.len(), 2, "the WSDL imports two schemas: {todo:?}");
    while let Some(link) = todo.pop_front() {
        if !seen.insert(link.clone()) {
            continue;
        }
        let query = link
            .strip_prefix(&format!("{base}?"))
            .unwrap_or_else(|| panic!("{link} is not a ?xsd= link of {base}"));
        assert!(query.starts_with("xsd="), "{link}");
        let target = format!("{}?{query}", &base[base.find("/vp/").unwrap()..]);
        let xsd = match via {
            Via::Https => get_https(bed, &target, extra).await,
            Via::Http => get_http(bed, &target, extra).await,
        };
        assert_eq!(xsd.status_line, "HTTP/1.1 200 OK", "{link}: {xsd:?}");
        assert_eq!(xsd.header("content-type"), Some("text/xml;UTF-8"));
        namespaces.insert(target_namespace(&xsd.body));
        todo.extend(schema_locations(&xsd.body));
    }
    namespaces
}

fn all_namespaces() -> BTreeSet<String> {
    [
        "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1",
        "urn:riv:clinicalprocess:logistics:cervixscreening:1",
        "urn:riv:itintegration:registry:1",
    ]
    .map(str::to_owned)
    .into()
}

#[tokio::test]
async fn the_wsdl_over_mutual_tls_names_the_url_asked_for_and_every_schema_link_answers() {
    let bed = start().await;
    let base = format!("https://{}{PATH}", host(bed.https_addr("sit")));
    let wsdl = get_https(&bed, &format!("{PATH}?wsdl"), &[]).await;
    let namespaces = assert_wsdl_and_crawl(&bed, (Via::Https, &[]), wsdl, &base).await;
    assert_eq!(namespaces, all_namespaces());

    // The path in any case, `WSDL` in capitals: the answer names the path as asked.
    let upper = PATH.replace("clinicalprocess", "ClinicalProcess");
    let wsdl = get_https(&bed, &format!("{upper}?WSDL"), &[]).await;
    assert_eq!(wsdl.status_line, "HTTP/1.1 200 OK", "{wsdl:?}");
    assert!(wsdl.body.contains(&format!(
        r#"<soap:address location="https://{}{upper}"/>"#,
        host(bed.https_addr("sit"))
    )));
    bed.stop().await;
}

#[tokio::test]
async fn the_plain_http_listener_serves_it_with_its_own_url() {
    let bed = start().await;
    let base = format!("http://{}{PATH}", host(bed.http_addr("sit")));
    let wsdl = get_http(&bed, &format!("{PATH}?wsdl"), &[]).await;
    let namespaces = assert_wsdl_and_crawl(&bed, (Via::Http, &[]), wsdl, &base).await;
    assert_eq!(namespaces, all_namespaces());
    bed.stop().await;
}

#[tokio::test]
async fn the_forwarded_headers_change_the_url() {
    let bed = start().await;
    let forwarded = [
        ("X-VP-Forwarded-Proto", "https"),
        ("X-VP-Forwarded-Host", "vp.example.org"),
        ("X-VP-Forwarded-Port", "443"),
    ];
    let base = format!("https://vp.example.org:443{PATH}");
    let wsdl = get_http(&bed, &format!("{PATH}?wsdl"), &forwarded).await;
    let namespaces = assert_wsdl_and_crawl(&bed, (Via::Http, &forwarded), wsdl, &base).await;
    assert_eq!(namespaces, all_namespaces());

    // Only the host forwarded: scheme and port stay those of the request.
    let wsdl = get_https(
        &bed,
        &format!("{PATH}?wsdl"),
        &[("X-VP-Forwarded-Host", "vp.example.org")],
    )
    .await;
    let location = format!(
        r#"<soap:address location="https://vp.example.org:{}{PATH}"/>"#,
        bed.https_addr("sit").port()
    );
    assert!(wsdl.body.contains(&location), "{}", wsdl.body);
    bed.stop().await;
}

#[tokio::test]
async fn an_unknown_path_gets_vps_list_of_wsdl_paths() {
    let bed = start().await;
    let authority = host(bed.https_addr("sit"));
    let answer = get_https(&bed, "/vp/no/such/Service/1/rivtabp21?wsdl", &[]).await;
    assert_eq!(answer.status_line, "HTTP/1.1 500 Internal Server Error");
    assert_eq!(answer.header("content-type"), Some("text/plain;UTF-8"));
    assert_eq!(
        answer.body,
        format!(
            "No wsdl found on this path, following wsdl paths is available:\nhttps://{authority}{PATH}?wsdl"
        )
    );
    // The list names the forwarded URL too.
    let answer = get_http(
        &bed,
        "/vp/nothing?wsdl",
        &[
            ("X-VP-Forwarded-Proto", "https"),
            ("X-VP-Forwarded-Host", "vp.example.org"),
            ("X-VP-Forwarded-Port", "8443"),
        ],
    )
    .await;
    assert_eq!(
        answer.body,
        format!(
            "No wsdl found on this path, following wsdl paths is available:\nhttps://vp.example.org:8443{PATH}?wsdl"
        )
    );
    // A trailing slash is another path; so is /vp itself; an xsd of an unknown path too.
    for target in [
        format!("{PATH}/?wsdl"),
        "/vp?wsdl".to_owned(),
        "/vp/x?xsd=../../core_components/itintegration_registry_1.0.xsd".to_owned(),
    ] {
        let answer = get_https(&bed, &target, &[]).await;
        assert_eq!(
            answer.status_line, "HTTP/1.1 500 Internal Server Error",
            "{target}"
        );
        assert!(
            answer
                .body
                .starts_with("No wsdl found on this path, following wsdl paths is available:\n"),
            "{target}: {}",
            answer.body
        );
    }
    bed.stop().await;
}

#[tokio::test]
async fn an_unknown_schema_gets_vps_generic_fault() {
    let bed = start().await;
    let answer = get_https(&bed, &format!("{PATH}?xsd=nope%2Fmissing.xsd"), &[]).await;
    assert_eq!(answer.status_line, "HTTP/1.1 500 Internal Server Error");
    assert_eq!(
        answer.header("content-type"),
        Some("text/xml; charset=UTF-8")
    );
    assert_eq!(
        answer.body,
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">"#,
            "<SOAP-ENV:Header/><SOAP-ENV:Body><SOAP-ENV:Fault>",
            "<faultcode>SOAP-ENV:Server</faultcode>",
            "<faultstring>WSDLException: faultCode=OTHER_ERROR: Couldn't find xsd named nope/missing.xsd</faultstring>",
            "<detail><detailString>WSDLException: faultCode=OTHER_ERROR: Couldn't find xsd named nope/missing.xsd: </detailString></detail>",
            "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"
        )
    );
    bed.stop().await;
}

#[tokio::test]
async fn other_requests_to_the_same_path_are_unchanged_and_identity_is_not_asked() {
    let bed = start().await;
    // A POST without the query routes as before.
    assert_ok(
        &bed.consumer()
            .post(bed.https_addr("sit"), cervix_request("01"), &[])
            .await
            .unwrap(),
    );
    // A GET without it is still VP015.
    let answer = get_https(&bed, PATH, &[]).await;
    assert_eq!(answer.status_line, "HTTP/1.1 500 Internal Server Error");
    assert!(answer.body.contains("VP015"), "{}", answer.body);
    // So is a query that only looks like it.
    let answer = get_https(&bed, &format!("{PATH}?wsdlx"), &[]).await;
    assert!(answer.body.contains("VP015"), "{}", answer.body);

    // VP branches on the query before reading anything else: a POST with ?wsdl gets the WSDL
    // (its body unread, the connection closed), and a consumer TAK does not authorise too.
    let addr = bed.https_addr("sit");
    let tls = bed.consumer().connect(addr).await.unwrap();
    let body = cervix_request("01");
    let answer = exchange(
        tls,
        request("POST", &format!("{PATH}?wsdl"), &host(addr), &[], &body),
    )
    .await;
    assert_eq!(answer.status_line, "HTTP/1.1 200 OK", "{answer:?}");
    assert!(answer.body.contains("<wsdl:definitions"));
    let tls = bed.unauthorised().connect(addr).await.unwrap();
    let answer = exchange(
        tls,
        request("GET", &format!("{PATH}?wsdl"), &host(addr), &[], ""),
    )
    .await;
    assert_eq!(answer.status_line, "HTTP/1.1 200 OK", "{answer:?}");
    assert_eq!(
        bed.testbed.recorder().for_address("01").len(),
        1,
        "only the POST without ?wsdl reached the producer"
    );
    bed.stop().await;
}

#[tokio::test]
async fn the_readme_curl_command_gets_the_wsdl() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block = readme
        .split("<!-- curl-wsdl-example -->")
        .nth(1)
        .and_then(|rest| rest.split("```sh\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("README has the curl-wsdl-example block")
        .to_owned();
    let bed = start().await;
    let pki = &bed.testbed.endpoints().pki;
    let port = bed.https_addr("sit").port();
    let command = block
        .replace(
            ".ntjp/pki/consumer.pem",
            &pki.consumer_cert.display().to_string(),
        )
        .replace(
            ".ntjp/pki/consumer-key.pem",
            &pki.consumer_key.display().to_string(),
        )
        .replace("localhost:20000", &format!("localhost:{port}"));
    let out = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(&command)
        .output()
        .await
        .expect("run bash");
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{command}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        body.contains(&format!(
            r#"<soap:address location="https://localhost:{port}{PATH}"/>"#
        )),
        "{command}\n{body}"
    );
    bed.stop().await;
}
