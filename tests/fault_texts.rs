//! Fault details exactly as the real VP writes them (issue 11, point 3), each compared with the
//! whole fault body character by character, over real mutual TLS (and plain HTTP for the
//! certificate-header route): VP015 with the parser's message in Woodstox's shape, VP002 per
//! route and case, VP004's whitespace hint only for a space.

mod common;

use common::*;

const CONTRACT: &str = "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1";

/// The whole fault body VP writes: `faultcode`, `faultstring` (`<code> [NTJP-TEST] <message>`)
/// and `details`, the text escaped as VP's serialiser escapes it.
fn fault_body(code: &str, client: bool, message: &str, details: &str) -> String {
    let escape = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let side = if client { "Client" } else { "Server" };
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">"#,
            "<SOAP-ENV:Header/><SOAP-ENV:Body><SOAP-ENV:Fault>",
            "<faultcode>SOAP-ENV:{}</faultcode><faultstring>{} [NTJP-TEST] {}</faultstring>",
            "<detail><detailString>{}</detailString></detail>",
            "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"
        ),
        side,
        code,
        message,
        escape(details)
    )
}

const VP015: &str = "Anrop ej korrekt utformat och kan därför inte behandlas.";
const VP002: &str =
    "Fel i klientcertifikat. Saknas, är av felaktig typ, eller är felaktigt utformad.";
const VP004: &str = "Det finns inget vägval i tjänsteadresseringskatalogen som matchar anropets logiska adressat (ReceiverId) och tjänstekontrakt. Kontrollera uppgifterna i anropet och vid behov, beställ konfigurering i aktuell tjänsteplattform.";

fn at(row: usize, col: usize) -> String {
    format!("\n at [row,col {{unknown-source}}]: [{row},{col}]")
}

/// Each parser message VP015 maps, with its row and column, over HTTPS.
#[tokio::test]
async fn vp015_details_are_the_parsers_message_in_woodstox_shape() {
    let bed = start().await;
    let client = bed.consumer();
    let sit = bed.https_addr("sit");
    let envelope =
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">"#;
    let cases: Vec<(String, String)> = vec![
        // The issue's example (VP's own system test): an attribute without `=`.
        (
            format!(
                "<felaktigt format {}<soapenv:Body/></soapenv:Envelope>",
                &envelope[1..]
            ),
            format!(
                "Unexpected character 's' (code 115) expected '='{}",
                at(1, 19)
            ),
        ),
        // Text before the root element, on the second line.
        (
            format!("\nx{envelope}<soapenv:Body/></soapenv:Envelope>"),
            format!(
                "Unexpected character 'x' (code 120) in prolog; expected '<'{}",
                at(2, 1)
            ),
        ),
        // The end of input: in the prolog, and inside the body.
        (
            "   ".to_owned(),
            format!("Unexpected EOF in prolog{}", at(1, 3)),
        ),
        (
            format!("{envelope}\n<soapenv:Body>"),
            format!(
                "Unexpected EOF; was expecting a close tag for element <soapenv:Body>{}",
                at(2, 14)
            ),
        ),
        // A mismatched end tag: the place is the last character of the name.
        (
            format!("{envelope}<soapenv:Header>\n  <a>\n    <b></a>"),
            format!("Unexpected close tag </a>; expected </b>.{}", at(3, 10)),
        ),
        // A control character in the address (Woodstox's description of it).
        (
            cervix_request("PLACE").replace("PLACE", "0\u{7}"),
            String::new(),
        ),
    ];
    for (body, details) in cases {
        let details = if details.is_empty() {
            // Where the BEL is: row and column counted from 1.
            let i = body.find('\u{7}').unwrap();
            let before = &body[..i];
            let row = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().unwrap().chars().count() + 1;
            format!("Illegal character ((CTRL-CHAR, code 7)){}", at(row, col))
        } else {
            details
        };
        let a = client.post(sit, body.clone(), &[]).await.unwrap();
        assert_eq!(a.status, 500, "{body:?}");
        assert_eq!(
            a.body,
            fault_body("VP015", true, VP015, &details),
            "{body:?}"
        );
    }
    assert_eq!(bed.testbed.recorder().total(), 0);
    bed.stop().await;
}

/// VP002 over HTTPS: a certificate of the platform's CA without serialNumber gets its subject
/// as VP's HTTPS route has it (Java's `getSubjectDN().getName()`: last RDN first, `", "`).
#[tokio::test]
async fn vp002_over_https_names_the_subject() {
    let bed = start().await;
    let (c, k) = bed.issue(None, "no-serial");
    let a = Client::new(&bed.ca(), Some((&c, &k)))
        .post(bed.https_addr("sit"), cervix_request("01"), &[])
        .await
        .unwrap();
    assert_eq!(
        a.body,
        fault_body(
            "VP002",
            true,
            VP002,
            "No senderId found in Certificate: CN=system-without-hsa-id, O=NTjP testbed, C=SE"
        )
    );
    bed.stop().await;
}

/// VP002 on the certificate-header route (plain HTTP): VP's four texts.
#[tokio::test]
async fn vp002_over_the_certificate_header_has_vps_texts() {
    let bed = start().await;
    let http = bed.http_addr("sit");
    let (c, _) = bed.issue(None, "no-serial");
    let no_serial = std::fs::read_to_string(c).unwrap().replace('\n', "");
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "No certificate found in httpheader x-vp-auth-cert"),
        (
            vec![("x-vp-auth-cert", "not a certificate")],
            "Exception, unkown certificate type found in httpheader x-vp-auth-cert",
        ),
        (
            vec![("x-vp-auth-cert", "MIIBroken")],
            "Exception occured parsing certificate in httpheader x-vp-auth-cert",
        ),
        (
            vec![(
                "x-vp-auth-cert",
                "-----BEGIN CERTIFICATE-----AAAA-----END CERTIFICATE-----",
            )],
            "Exception occured parsing certificate in httpheader x-vp-auth-cert",
        ),
        (
            vec![("x-vp-auth-cert", no_serial.as_str())],
            "No senderId found in Certificate",
        ),
    ];
    for (headers, details) in cases {
        let a = post_plain(http, cervix_request("01"), &headers)
            .await
            .unwrap();
        assert_eq!(a.status, 500, "{headers:?}");
        assert_eq!(
            a.body,
            fault_body("VP002", true, VP002, details),
            "{headers:?}"
        );
    }
    assert_eq!(bed.testbed.recorder().total(), 0);
    bed.stop().await;
}

/// VP004's hint comes only for a space in the address, as VP's `contains(" ")`.
#[tokio::test]
async fn vp004_hints_at_whitespace_only_for_a_space() {
    let bed = start().await;
    let client = bed.consumer();
    let sit = bed.https_addr("sit");
    for (address, hint) in [
        ("99", false),
        (" 01", true),
        ("0 1", true),
        ("0\t1", false),
        ("01\n", false),
    ] {
        let a = client
            .post(sit, cervix_request(address), &[])
            .await
            .unwrap();
        let mut details = format!(
            "No receiverId (logical address) found for serviceNamespace: {CONTRACT}, receiverId: {address}"
        );
        if hint {
            details.push_str(". Whitespace detected in incoming request!");
        }
        assert_eq!(
            a.body,
            fault_body("VP004", true, VP004, &details),
            "{address:?}"
        );
    }
    bed.stop().await;
}
