//! The routing core end to end: real mutual TLS over loopback to the real routers, TAK filled
//! from orders, and the real mock producers.

mod common;

use common::*;
use ntjp_testbed::vocab::EnvName;

const COUNTIES: [&str; 21] = [
    "01", "03", "04", "05", "06", "07", "08", "09", "10", "12", "13", "14", "17", "18", "19", "20",
    "21", "22", "23", "24", "25",
];

#[tokio::test]
async fn every_county_load_mocks_and_ntjp_mocks_is_answered_ok_by_its_own_mock_in_sit() {
    let bed = start().await;
    let client = bed.consumer();
    let sit = bed.https_addr("sit");
    for address in COUNTIES.iter().copied().chain(["LOAD-MOCKS", "NTJP-MOCKS"]) {
        let answer = client
            .post(sit, cervix_request(address), &[])
            .await
            .unwrap();
        assert_eq!(
            assert_ok(&answer),
            address,
            "wrong mock answered for {address}"
        );
        let recorded = bed.testbed.recorder().for_address(address);
        assert_eq!(recorded.len(), 1, "mock {address} should have one message");
        assert_eq!(recorded[0].logical_address.as_deref(), Some(address));
        assert_eq!(recorded[0].environment.as_deref(), Some("sit"));
        assert_eq!(
            recorded[0].platform_hsa_id.as_deref(),
            Some("TSTNMT2321000156-NTJP-SIT")
        );
    }
    assert_eq!(bed.testbed.recorder().total(), 23);
    bed.stop().await;
}

#[tokio::test]
async fn qa_and_prod_route_counties_but_not_load_mocks() {
    let bed = start().await;
    let client = bed.consumer();
    for env in ["qa", "prod"] {
        let addr = bed.https_addr(env);
        assert_eq!(
            assert_ok(&client.post(addr, cervix_request("14"), &[]).await.unwrap()),
            "14"
        );
        let rec = bed.testbed.recorder().for_address("14");
        assert_eq!(rec.last().unwrap().environment.as_deref(), Some(env));
        let f = client
            .post(addr, cervix_request("LOAD-MOCKS"), &[])
            .await
            .unwrap()
            .vp("VP004");
        let platform = if env == "qa" { "NTJP-QA" } else { "NTJP-PROD" };
        assert!(
            f.faultstring.starts_with(&format!("VP004 [{platform}] ")),
            "{f:?}"
        );
    }
    bed.stop().await;
}

#[tokio::test]
async fn missing_logical_address_is_vp003_with_the_real_texts() {
    let bed = start().await;
    let body = cervix_request("01").replace(">01</", "></");
    let a = bed
        .consumer()
        .post(bed.https_addr("sit"), body, &[])
        .await
        .unwrap();
    let f = a.vp("VP003");
    assert_eq!(f.faultcode, "SOAP-ENV:Client");
    assert_eq!(
        f.faultstring,
        "VP003 [NTJP-TEST] Logisk adressat (ReceiverId) saknas i RivHeadern i inkommande meddelande."
    );
    assert_eq!(
        f.detail.as_deref(),
        Some("No receiverId (logical address) found in message header. ")
    );
    bed.stop().await;
}

#[tokio::test]
async fn unknown_address_is_vp004_with_whitespace_hint_when_applicable() {
    let bed = start().await;
    let client = bed.consumer();
    let sit = bed.https_addr("sit");
    let f = client
        .post(sit, cervix_request("99"), &[])
        .await
        .unwrap()
        .vp("VP004");
    assert_eq!(f.faultcode, "SOAP-ENV:Client");
    assert_eq!(
        f.faultstring,
        "VP004 [NTJP-TEST] Det finns inget vägval i tjänsteadresseringskatalogen som matchar anropets logiska adressat (ReceiverId) och tjänstekontrakt. Kontrollera uppgifterna i anropet och vid behov, beställ konfigurering i aktuell tjänsteplattform."
    );
    assert_eq!(
        f.detail.as_deref(),
        Some(format!("No receiverId (logical address) found for serviceNamespace: {CONTRACT}, receiverId: 99").as_str())
    );
    let f = client
        .post(sit, cervix_request(" 01"), &[])
        .await
        .unwrap()
        .vp("VP004");
    assert_eq!(
        f.detail.as_deref(),
        Some(format!("No receiverId (logical address) found for serviceNamespace: {CONTRACT}, receiverId:  01. Whitespace detected in incoming request!").as_str())
    );
    bed.stop().await;
}

#[tokio::test]
async fn unauthorised_consumer_is_vp007_but_unroutable_address_is_still_vp004() {
    let bed = start().await;
    let client = bed.unauthorised();
    let sit = bed.https_addr("sit");
    let f = client
        .post(sit, cervix_request("01"), &[])
        .await
        .unwrap()
        .vp("VP007");
    assert_eq!(f.faultcode, "SOAP-ENV:Server");
    assert_eq!(
        f.faultstring,
        "VP007 [NTJP-TEST] Tjänstekonsumenten saknar behörighet att anropa den logiska adressaten via detta tjänstekontrakt. Kontrollera uppgifterna och vid behov, tillse att det beställs konfiguration i aktuell tjänsteplattform."
    );
    assert_eq!(
        f.detail.as_deref(),
        Some(format!("Authorization missing for serviceNamespace: {CONTRACT}, receiverId: 01, senderId: TSTNMT2321000156-OBEH").as_str())
    );
    // Routing runs before authorisation, as in VP.
    client
        .post(sit, cervix_request("99"), &[])
        .await
        .unwrap()
        .vp("VP004");
    assert!(
        bed.testbed.recorder().for_address("01").is_empty(),
        "nothing may reach the producer"
    );
    bed.stop().await;
}

#[tokio::test]
async fn producer_down_is_vp009() {
    // A port that nothing listens on: bind, note, close.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bed = start_with(|c, dir| {
        let url = format!("https://127.0.0.1:{closed}/down/ProcessCervixScreeningInformation/1/rivtabp21");
        let o = order(
            chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(),
            &format!(
                r#"{{"logiskadresser": [{{"hsaId": "TEST-DOWN", "beskrivning": "Producent som inte svarar"}}],
                    "tjanstekomponenter": [{{"hsaId": "TEST-DOWN-SYSTEM", "beskrivning": "Nedstängt system"}}],
                    "vagval": [{{"adress": "{url}", "logiskAdress": "TEST-DOWN", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "TEST-DOWN-SYSTEM"}}]}}"#
            ),
            "{}",
        );
        sit_orders_with(c, dir, &[("90-down.json", o)]);
    })
    .await;
    let a = bed
        .consumer()
        .post(bed.https_addr("sit"), cervix_request("TEST-DOWN"), &[])
        .await
        .unwrap();
    let f = a.vp("VP009");
    assert_eq!(f.faultcode, "SOAP-ENV:Server");
    assert_eq!(
        f.faultstring,
        "VP009 [NTJP-TEST] Fel vid kontakt med tjänsteproducenten."
    );
    let detail = f.detail.unwrap_or_default();
    assert!(
        detail.starts_with(&format!(
            "Error connecting to service producer at address https://127.0.0.1:{closed}/down/"
        )),
        "{detail}"
    );
    bed.stop().await;
}

#[tokio::test]
async fn malformed_xml_is_vp015() {
    let bed = start().await;
    let a = bed
        .consumer()
        .post(bed.https_addr("sit"), "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Header><a></b>", &[])
        .await
        .unwrap();
    let f = a.vp("VP015");
    assert_eq!(f.faultcode, "SOAP-ENV:Client");
    assert_eq!(
        f.faultstring,
        "VP015 [NTJP-TEST] Anrop ej korrekt utformat och kan därför inte behandlas."
    );
    // The parser's message alone, as VP's parser (Woodstox) writes it: the place is the end
    // tag name's last character (`</b>`: the `b`).
    let col = "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Header><a></b"
        .len();
    assert_eq!(
        f.detail.as_deref(),
        Some(
            format!(
                "Unexpected close tag </b>; expected </a>.\n at [row,col {{unknown-source}}]: [1,{col}]"
            )
            .as_str()
        )
    );
    bed.stop().await;
}

#[tokio::test]
async fn tls_handshake_refuses_missing_or_foreign_certificates_and_no_serial_number_is_vp002() {
    let bed = start().await;
    let sit = bed.https_addr("sit");
    // No client certificate at all.
    let anonymous = Client::new(&bed.ca(), None);
    let err = anonymous
        .post(sit, cervix_request("01"), &[])
        .await
        .unwrap_err();
    assert!(!err.is_empty());
    // A certificate from another CA.
    let other = ntjp_testbed::pki::Ca::generate("Some other CA").unwrap();
    let cert = other
        .issue(&ntjp_testbed::pki::CertRequest::function(
            "SE2321000016-EVIL",
        ))
        .unwrap();
    let (c, k) = cert.write(bed.dir.path(), "evil").unwrap();
    let foreign = Client::new(&bed.ca(), Some((&c, &k)));
    assert!(foreign.post(sit, cervix_request("01"), &[]).await.is_err());
    // Our CA, but no serialNumber in the subject.
    let (c, k) = bed.issue(None, "no-serial");
    let a = Client::new(&bed.ca(), Some((&c, &k)))
        .post(sit, cervix_request("01"), &[])
        .await
        .unwrap();
    let f = a.vp("VP002");
    assert_eq!(f.faultcode, "SOAP-ENV:Client");
    assert_eq!(
        f.faultstring,
        "VP002 [NTJP-TEST] Fel i klientcertifikat. Saknas, är av felaktig typ, eller är felaktigt utformad."
    );
    // The subject as VP's HTTPS route has it from Camel (Java's getSubjectDN().getName()).
    assert_eq!(
        f.detail.as_deref(),
        Some("No senderId found in Certificate: CN=system-without-hsa-id, O=NTjP testbed, C=SE")
    );
    assert_eq!(bed.testbed.recorder().total(), 0);
    bed.stop().await;
}

#[tokio::test]
async fn plain_http_with_empty_whitelist_is_vp011() {
    let bed = start_with(|c, _| c.environments.sit.ip_whitelist.clear()).await;
    let a = post_plain(
        bed.http_addr("sit"),
        cervix_request("01"),
        &[
            ("x-vp-sender-id", "TSTNMT2321000156-KONS"),
            ("x-vp-instance-id", "NTJP-TEST"),
        ],
    )
    .await
    .unwrap();
    let f = a.vp("VP011");
    assert_eq!(f.faultcode, "SOAP-ENV:Client");
    assert_eq!(
        f.faultstring,
        "VP011 [NTJP-TEST] Anrop har gjorts utanför TLS vilket ej är tillåtet. Tjänstekonsumenten ska alltid använda TLS för säker kommunikation."
    );
    assert!(f.detail.unwrap_or_default().starts_with(
        "Caller was not on the white list of accepted IP-addresses.  IP-address: 127.0.0.1"
    ));
    bed.stop().await;
}

#[tokio::test]
async fn plain_http_internal_caller_is_routed_as_the_named_consumer() {
    let bed = start().await;
    let http = bed.http_addr("sit");
    let a = post_plain(
        http,
        cervix_request("05"),
        &[
            ("x-vp-sender-id", "TSTNMT2321000156-KONS"),
            ("x-vp-instance-id", "NTJP-TEST"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(assert_ok(&a), "05");
    // Naming the unauthorised consumer gives VP007; a wrong instance id means "not internal",
    // and without a certificate header that is VP002.
    post_plain(
        http,
        cervix_request("05"),
        &[
            ("x-vp-sender-id", "TSTNMT2321000156-OBEH"),
            ("x-vp-instance-id", "NTJP-TEST"),
        ],
    )
    .await
    .unwrap()
    .vp("VP007");
    post_plain(
        http,
        cervix_request("05"),
        &[
            ("x-vp-sender-id", "TSTNMT2321000156-KONS"),
            ("x-vp-instance-id", "OTHER"),
        ],
    )
    .await
    .unwrap()
    .vp("VP002");
    bed.stop().await;
}

#[tokio::test]
async fn plain_http_with_forwarded_certificate_checks_routing_history_vp014() {
    let bed = start().await;
    let http = bed.http_addr("sit");
    let pem = std::fs::read_to_string(&bed.testbed.endpoints().pki.consumer_cert).unwrap();
    let pem_one_line = pem.replace('\n', "");
    let a = post_plain(
        http,
        cervix_request("06"),
        &[("x-vp-auth-cert", &pem_one_line)],
    )
    .await
    .unwrap();
    assert_eq!(assert_ok(&a), "06");
    let rec = bed.testbed.recorder().for_address("06");
    let history = rec[0]
        .headers
        .iter()
        .find(|(k, _)| k == "x-rivta-routing-history")
        .map(|(_, v)| v.as_str());
    assert_eq!(history, Some("TSTNMT2321000156-KONS#NTJP-TEST"));
    let f = post_plain(
        http,
        cervix_request("06"),
        &[
            ("x-vp-auth-cert", &pem_one_line),
            ("x-rivta-routing-history", "OTHER-VP#NTJP-TEST"),
        ],
    )
    .await
    .unwrap()
    .vp("VP014");
    assert_eq!(f.faultcode, "SOAP-ENV:Server");
    assert_eq!(
        f.faultstring,
        "VP014 [NTJP-TEST] Anropsförmedlingen för den logiska adressaten har givit upphov till rundgång mellan tjänsteplattformar. Rapportera felet till tjänsteplattformsförvaltningen."
    );
    bed.stop().await;
}

#[tokio::test]
async fn original_consumer_header_from_a_sender_not_allowed_is_vp013_when_enabled() {
    let bed = start_with(|c, _| {
        c.environments.sit.refuse_original_consumer = true;
        c.environments.sit.original_consumer_allowed = vec!["SOME-OTHER-SYSTEM".into()];
    })
    .await;
    let client = bed.consumer();
    let sit = bed.https_addr("sit");
    let f = client
        .post(
            sit,
            cervix_request("01"),
            &[("x-rivta-original-serviceconsumer-hsaid", "SE123-ORIGINAL")],
        )
        .await
        .unwrap()
        .vp("VP013");
    assert_eq!(f.faultcode, "SOAP-ENV:Client");
    assert_eq!(
        f.faultstring,
        "VP013 [NTJP-TEST] Enligt tjänsteplattformens konfiguration saknar tjänstekonsumenten rätt att använda headern x-rivta-original-serviceconsumer-hsaid. Kontakta tjänsteplattformsförvaltningen."
    );
    assert_eq!(
        f.detail.as_deref(),
        Some("Sender is not approved to set header x-rivta-original-serviceconsumer-hsaid.")
    );
    // Without the header the same consumer is routed.
    assert_eq!(
        assert_ok(&client.post(sit, cervix_request("01"), &[]).await.unwrap()),
        "01"
    );
    bed.stop().await;
}

#[tokio::test]
async fn unknown_rivta_profile_of_the_route_is_vp005() {
    let bed = start_with(|c, dir| {
        c.environments.sit.extra_rivta_profiles = vec!["RIVTABP22".into()];
        let o = order(
            chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(),
            &format!(
                r#"{{"logiskadresser": [{{"hsaId": "TEST-BP22", "beskrivning": "Producent med okänd profil"}}],
                    "vagval": [{{"adress": "https://127.0.0.1:1/bp22", "logiskAdress": "TEST-BP22", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP22", "tjanstekomponent": "TSTNMT2321000156-MOCK01"}}]}}"#
            ),
            "{}",
        );
        sit_orders_with(c, dir, &[("90-bp22.json", o)]);
    })
    .await;
    let f = bed
        .consumer()
        .post(bed.https_addr("sit"), cervix_request("TEST-BP22"), &[])
        .await
        .unwrap()
        .vp("VP005");
    assert_eq!(f.faultcode, "SOAP-ENV:Client");
    assert_eq!(
        f.faultstring,
        "VP005 [NTJP-TEST] Tjänsteproducenten stödjer inte anropets angivna rivta-version. Kontrollera uppgifterna."
    );
    assert_eq!(
        f.detail.as_deref(),
        Some("No receiverId (logical address) with matching Riv-version found for rivtabp21")
    );
    bed.stop().await;
}

#[tokio::test]
async fn a_producer_soap_fault_passes_through_unchanged() {
    // A second contract routed to a cervix mock: the mock answers with its own SOAP Fault.
    let other = "urn:riv:test:OtherThingResponder:1";
    let bed = start_with(|c, dir| {
        let o = order(
            chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(),
            &format!(
                r#"{{"tjanstekontrakt": [{{"namnrymd": "{other}", "beskrivning": "Annat kontrakt", "majorVersion": 1}}],
                    "vagval": [{{"adress": "{{{{mocks}}}}/01/ProcessCervixScreeningInformation/1/rivtabp21", "logiskAdress": "01", "tjanstekontrakt": "{other}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "TSTNMT2321000156-MOCK01"}}],
                    "anropsbehorigheter": [{{"logiskAdress": "SE", "tjanstekontrakt": "{other}", "tjanstekonsument": "TSTNMT2321000156-KONS"}}]}}"#
            ),
            "{}",
        );
        sit_orders_with(c, dir, &[("90-other.json", o)]);
    })
    .await;
    let body = cervix_request("01").replace(CONTRACT, other);
    let a = bed
        .consumer()
        .post(bed.https_addr("sit"), body, &[])
        .await
        .unwrap();
    assert_eq!(a.status, http::StatusCode::INTERNAL_SERVER_ERROR);
    let f = a.fault();
    assert_eq!(f.faultcode, "soap:Client");
    assert!(f.faultstring.starts_with("This mock implements"), "{f:?}");
    assert!(!f.faultstring.starts_with("VP"));
    bed.stop().await;
}

#[tokio::test]
async fn route_from_tomorrow_is_not_used_today_and_authorisation_ended_yesterday_is_vp007() {
    let today = today();
    let tomorrow = today.succ_opt().unwrap();
    let bed = start_with(|c, dir| {
        let future_route = order(
            tomorrow,
            &format!(
                r#"{{"logiskadresser": [{{"hsaId": "TEST-TOMORROW", "beskrivning": "Startar i morgon"}}],
                    "vagval": [{{"adress": "{{{{mocks}}}}/TEST-TOMORROW/ProcessCervixScreeningInformation/1/rivtabp21", "logiskAdress": "TEST-TOMORROW", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "TSTNMT2321000156-MOCK01"}}]}}"#
            ),
            "{}",
        );
        let granted = order(
            chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
            r#"{"tjanstekomponenter": [{"hsaId": "TSTNMT2321000156-GONE", "beskrivning": "Konsument vars behörighet upphört"}],
                "anropsbehorigheter": [{"logiskAdress": "SE", "tjanstekontrakt": "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1", "tjanstekonsument": "TSTNMT2321000156-GONE"}]}"#,
            "{}",
        );
        // Excluding with execution day today ends the authorisation yesterday (F - 1).
        let ended = order(
            today,
            "{}",
            r#"{"anropsbehorigheter": [{"logiskAdress": "SE", "tjanstekontrakt": "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1", "tjanstekonsument": "TSTNMT2321000156-GONE"}]}"#,
        );
        sit_orders_with(c, dir, &[("90-tomorrow.json", future_route), ("91-granted.json", granted), ("92-ended.json", ended)]);
    })
    .await;
    let sit = bed.https_addr("sit");
    bed.consumer()
        .post(sit, cervix_request("TEST-TOMORROW"), &[])
        .await
        .unwrap()
        .vp("VP004");
    let (c, k) = bed.issue(Some("TSTNMT2321000156-GONE"), "gone");
    let gone = Client::new(&bed.ca(), Some((&c, &k)));
    let f = gone
        .post(sit, cervix_request("01"), &[])
        .await
        .unwrap()
        .vp("VP007");
    assert!(
        f.detail
            .unwrap_or_default()
            .ends_with("senderId: TSTNMT2321000156-GONE")
    );
    bed.stop().await;
}

#[tokio::test]
async fn an_invalid_start_up_order_stops_start_up_with_the_real_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    let o = order(
        chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(),
        &format!(
            r#"{{"vagval": [{{"adress": "https://127.0.0.1:1/x", "logiskAdress": "01", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP99", "tjanstekomponent": "TSTNMT2321000156-MOCK01"}}]}}"#
        ),
        "{}",
    )
    .replace("NTJP-TEST", "NTJP-QA");
    sit_orders_with(&mut config, dir.path(), &[("90-bad.json", o)]);
    let err = match ntjp_testbed::server::start(config).await {
        Ok(_) => panic!("an invalid order must stop start-up"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("90-bad.json"), "{err}");
    assert!(
        err.contains("Beställningen avser plattform NTJP-QA, men den här instansen av tak-web hanterar NTJP-TEST."),
        "{err}"
    );
}

#[tokio::test]
async fn endpoints_file_and_health_describe_the_running_testbed() {
    let bed = start().await;
    let text = std::fs::read_to_string(bed.testbed.endpoints_file()).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    for env in ["sit", "qa", "prod"] {
        let e = &json["environments"][env];
        assert!(
            e["router_https"]
                .as_str()
                .unwrap()
                .starts_with("https://localhost:")
        );
        assert!(
            e["router_http"]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:")
        );
        assert!(!e["instance_id"].as_str().unwrap().is_empty());
    }
    for key in [
        "ca",
        "consumer_cert",
        "consumer_key",
        "unauthorised_cert",
        "unauthorised_key",
    ] {
        assert!(
            std::path::Path::new(json["pki"][key].as_str().unwrap()).exists(),
            "{key}"
        );
    }
    assert_eq!(json["environments"]["sit"]["platform"], "NTJP-TEST");
    let admin = common::addr_of(json["admin"].as_str().unwrap());
    for (path, expected) in [("/health/live", "UP"), ("/health/ready", "UP")] {
        let a = admin_get(admin, path).await;
        assert!(a.starts_with("HTTP/1.1 200"), "{path}: {a}");
        assert!(a.contains(&format!("\"status\": \"{expected}\"")), "{a}");
    }
    assert!(bed.testbed.tak(EnvName::Sit).unwrap().load().is_some());
    bed.stop().await;
}

async fn admin_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}
