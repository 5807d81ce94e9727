//! The order service end to end: real-format orders and forms over the admin API, then calls
//! through the router over mutual TLS.

mod common;

use common::*;
use ntjp_testbed::cli::client;
use serde_json::{Value, json};

fn admin(bed: &Bed) -> String {
    bed.testbed.endpoints().admin.clone()
}

async fn post(bed: &Bed, path: &str, body: &Value) -> client::Answer {
    client::post(
        &format!("{}{path}", admin(bed)),
        serde_json::to_vec(body).unwrap(),
    )
    .await
    .unwrap()
}

async fn post_text(bed: &Bed, path: &str, body: String) -> client::Answer {
    client::post(&format!("{}{path}", admin(bed)), body.into_bytes())
        .await
        .unwrap()
}

async fn get(bed: &Bed, path: &str) -> client::Answer {
    client::get(&format!("{}{path}", admin(bed))).await.unwrap()
}

fn created(a: &client::Answer) -> &Value {
    assert_eq!(a.status.as_u16(), 201, "{}", a.json);
    &a.json
}

fn day(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

async fn register_system(bed: &Bed, hsa_id: &str, env: &str) {
    let a = post(
        bed,
        "/api/systems",
        &json!({
            "organisation": "Region Testland", "system_name": "Kallelsesystemet", "hsa_id": hsa_id,
            "main_contact": {"name": "Anna Andersson", "email": "anna@example.se"},
            "technical_contact": {"name": "Bo Berg", "email": "bo@example.se"},
            "environment": env,
        }),
    )
    .await;
    assert_eq!(a.status.as_u16(), 201, "{}", a.json);
}

async fn register_prestudy(bed: &Bed, case: &str, envs: &[&str]) {
    let a = post(
        bed,
        "/api/prestudies",
        &json!({"case_number": case, "organisation": "Region Testland", "approved_for": envs}),
    )
    .await;
    assert_eq!(a.status.as_u16(), 201, "{}", a.json);
}

#[tokio::test]
async fn a_new_consumer_gets_vp007_before_its_consumer_order_and_ok_after() {
    let bed = start().await;
    let sit = bed.https_addr("sit");
    let (c, k) = bed.issue(Some("SE2321000016-NYKONS"), "nykons");
    let consumer = Client::new(&bed.ca(), Some((&c, &k)));
    consumer
        .post(sit, cervix_request("14"), &[])
        .await
        .unwrap()
        .vp("VP007");

    register_system(&bed, "SE2321000016-NYKONS", "sit").await;
    register_prestudy(&bed, "FS-2026-001", &["sit", "qa"]).await;
    let a = post(
        &bed,
        "/api/sit/orders/consumer",
        &json!({
            "environment": "sit", "execution_date": today(), "consumer_hsa_id": "SE2321000016-NYKONS",
            "contract": CONTRACT, "logical_addresses": [], "prestudy_case": "FS-2026-001",
            "region_name": null, "ordered_by": "test",
        }),
    )
    .await;
    let record = created(&a);
    // The form produced a real-format order, shown to the user.
    let order: Value = serde_json::from_str(record["json"].as_str().unwrap()).unwrap();
    assert_eq!(order["plattform"], "NTJP-TEST");
    assert!(
        record["report_text"].as_str().unwrap().contains("Nyskapad"),
        "{record}"
    );

    assert_eq!(
        assert_ok(&consumer.post(sit, cervix_request("14"), &[]).await.unwrap()),
        "14"
    );
    assert_eq!(
        assert_ok(
            &consumer
                .post(sit, cervix_request("LOAD-MOCKS"), &[])
                .await
                .unwrap()
        ),
        "LOAD-MOCKS"
    );
    // The same form again: one order per system, connection type and environment.
    let again = post(
        &bed,
        "/api/sit/orders/consumer",
        &json!({
            "environment": "sit", "execution_date": today(), "consumer_hsa_id": "SE2321000016-NYKONS",
            "contract": CONTRACT, "logical_addresses": [], "prestudy_case": "FS-2026-001",
            "region_name": null, "ordered_by": "test",
        }),
    )
    .await;
    assert_eq!(again.status.as_u16(), 422, "{}", again.json);
    bed.stop().await;
}

fn exclude_route(address: &str, on: chrono::NaiveDate) -> String {
    order(
        on,
        "{}",
        &format!(
            r#"{{"vagval": [{{"adress": "{{{{mocks}}}}/{address}/ProcessCervixScreeningInformation/1/rivtabp21", "logiskAdress": "{address}", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "TSTNMT2321000156-MOCK{address}"}}]}}"#
        ),
    )
}

fn include_route(address: &str, url: &str, on: chrono::NaiveDate) -> String {
    order(
        on,
        &format!(
            r#"{{"vagval": [{{"adress": "{url}", "logiskAdress": "{address}", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "TSTNMT2321000156-MOCK{address}"}}]}}"#
        ),
        "{}",
    )
}

#[tokio::test]
async fn exclusion_producer_order_and_replacement_change_routing_on_their_day() {
    let bed = start().await;
    let sit = bed.https_addr("sit");
    let consumer = bed.consumer();
    assert_eq!(
        assert_ok(&consumer.post(sit, cervix_request("25"), &[]).await.unwrap()),
        "25"
    );

    // Exclusion today: the route ends yesterday, so the county is unroutable.
    let a = post_text(&bed, "/api/sit/orders", exclude_route("25", today())).await;
    assert!(
        created(&a)["report_text"]
            .as_str()
            .unwrap()
            .contains("Deaktiverad"),
        "{}",
        a.json
    );
    consumer
        .post(sit, cervix_request("25"), &[])
        .await
        .unwrap()
        .vp("VP004");

    // A producer order through the form routes the county again.
    register_system(&bed, "SE2321000016-NORRPROD", "sit").await;
    register_prestudy(&bed, "FS-2026-025", &["sit"]).await;
    let url = format!(
        "{}/25/ProcessCervixScreeningInformation/1/rivtabp21?norr",
        bed.testbed.endpoints().mocks
    );
    let a = post(
        &bed,
        "/api/sit/orders/producer",
        &json!({
            "environment": "sit", "execution_date": today(), "producer_hsa_id": "SE2321000016-NORRPROD",
            "contract": CONTRACT, "county_code": "25", "rivta_profile": "RIVTABP21", "url": url,
            "prestudy_case": "FS-2026-025", "region_name": "Region Norrbotten", "ordered_by": "test",
        }),
    )
    .await;
    created(&a);
    assert_eq!(
        assert_ok(&consumer.post(sit, cervix_request("25"), &[]).await.unwrap()),
        "25"
    );
    let rec = bed.testbed.recorder().for_address("25");
    assert!(rec.last().unwrap().path_and_query.ends_with("?norr"));

    // Replacing county 14's URL from tomorrow: today the old URL, tomorrow the new one.
    let tomorrow = today().succ_opt().unwrap();
    let new_url = "{{mocks}}/14/ProcessCervixScreeningInformation/1/rivtabp21?v2".to_string();
    let a = post_text(
        &bed,
        "/api/sit/orders",
        include_route("14", &new_url, tomorrow),
    )
    .await;
    created(&a);
    assert_ok(&consumer.post(sit, cervix_request("14"), &[]).await.unwrap());
    assert!(
        !bed.testbed
            .recorder()
            .for_address("14")
            .last()
            .unwrap()
            .path_and_query
            .contains("v2")
    );
    let a = post(&bed, "/api/sit/clock", &json!({"advance_days": 1})).await;
    assert_eq!(a.json["today"], json!(tomorrow), "{}", a.json);
    assert_ok(&consumer.post(sit, cervix_request("14"), &[]).await.unwrap());
    assert!(
        bed.testbed
            .recorder()
            .for_address("14")
            .last()
            .unwrap()
            .path_and_query
            .ends_with("?v2")
    );

    // The operators' connection test ran against the new producer.
    wait_for("the connection test of county 25 did not pass", || async {
        // The list gives summaries; each order's tests are in its whole record.
        let list = get(&bed, "/api/sit/orders").await;
        let mut tests: Vec<Value> = Vec::new();
        for o in list.json.as_array().unwrap() {
            let whole = get(&bed, &format!("/api/sit/orders/{}", o["id"])).await;
            tests.extend(
                whole.json["connection_tests"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        tests
            .iter()
            .any(|t| t["logical_address"] == "25" && t["status"] == "ok")
    })
    .await;
    bed.stop().await;
}

#[tokio::test]
async fn an_order_is_answered_without_its_text_listed_as_a_summary_and_shown_whole_by_id() {
    let bed = start().await;
    let text = exclude_route("25", today());
    let a = post_text(&bed, "/api/sit/orders", text.clone()).await;
    let record = created(&a);
    assert!(
        record.get("json").is_none(),
        "the order is not echoed: {record}"
    );
    assert!(
        record["report_text"]
            .as_str()
            .unwrap()
            .contains("Deaktiverad")
    );
    assert_eq!(record["report_lines"]["inkludera"], json!({}));
    assert_eq!(
        record["report_lines"]["exkludera"]["Vägval"]["Deaktiverad"],
        1
    );
    let id = record["id"].as_u64().unwrap();

    let list = get(&bed, "/api/sit/orders").await;
    let listed = list
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == id)
        .unwrap()
        .clone();
    assert!(listed.get("json").is_none() && listed.get("report").is_none());
    assert_eq!(listed["report_lines"], record["report_lines"]);

    let whole = get(&bed, &format!("/api/sit/orders/{id}")).await;
    assert_eq!(whole.json["json"].as_str(), Some(text.as_str()));
    assert_eq!(
        whole.json["report"]["exkludera"]["Vägval"][0]["status"],
        "Deaktiverad"
    );
    assert_eq!(whole.json["report_text"], record["report_text"]);
    bed.stop().await;
}

#[tokio::test]
async fn a_future_order_changes_nothing_until_the_clock_passes_its_day() {
    let bed = start().await;
    let sit = bed.https_addr("sit");
    let (c, k) = bed.issue(Some("SE2321000016-SENARE"), "senare");
    let consumer = Client::new(&bed.ca(), Some((&c, &k)));
    let in_three_days = today() + chrono::Duration::days(3);
    let o = order(
        in_three_days,
        &format!(
            r#"{{"tjanstekomponenter": [{{"hsaId": "SE2321000016-SENARE", "beskrivning": "Konsument från om tre dagar"}}],
                "anropsbehorigheter": [{{"logiskAdress": "SE", "tjanstekontrakt": "{CONTRACT}", "tjanstekonsument": "SE2321000016-SENARE"}}]}}"#
        ),
        "{}",
    );
    created(&post_text(&bed, "/api/sit/orders", o).await);
    consumer
        .post(sit, cervix_request("01"), &[])
        .await
        .unwrap()
        .vp("VP007");
    post(&bed, "/api/sit/clock", &json!({"advance_days": 2})).await;
    consumer
        .post(sit, cervix_request("01"), &[])
        .await
        .unwrap()
        .vp("VP007");
    post(&bed, "/api/sit/clock", &json!({"today": in_three_days})).await;
    assert_ok(&consumer.post(sit, cervix_request("01"), &[]).await.unwrap());
    // Other environments keep their own clock.
    let qa = get(&bed, "/api/qa/clock").await;
    assert_eq!(qa.json["offset_days"], 0);
    bed.stop().await;
}

/// Submits `order` and asserts TAK refuses it with exactly `expected` (and changes nothing).
async fn refused(bed: &Bed, order: String, expected: &[&str]) {
    let before = get(bed, "/api/sit/versions").await.json;
    let a = post_text(bed, "/api/sit/orders", order).await;
    assert_eq!(a.status.as_u16(), 422, "{}", a.json);
    let got: Vec<&str> = a.json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(got, expected);
    assert!(
        a.json["text"]
            .as_str()
            .unwrap()
            .starts_with("JsonBestallning ERROR:::\n")
    );
    assert_eq!(
        get(bed, "/api/sit/versions").await.json,
        before,
        "a refused order must not change TAK"
    );
}

#[tokio::test]
async fn every_validation_message_of_tak_is_produced_with_its_exact_text() {
    let bed = start().await;
    let d = day(2026, 1, 1);
    // 1. Platform.
    refused(
        &bed,
        order(d, "{}", "{}").replace("NTJP-TEST", "NTJP-QA"),
        &["Beställningen avser plattform NTJP-QA, men den här instansen av tak-web hanterar NTJP-TEST."],
    )
    .await;
    // 2. Duplicates over inkludera ∪ exkludera.
    let route = format!(
        r#"{{"adress": "https://example.se/x", "logiskAdress": "01", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "TSTNMT2321000156-MOCK01"}}"#
    );
    refused(
        &bed,
        order(
            d,
            &format!(r#"{{"vagval": [{route}]}}"#),
            &format!(r#"{{"vagval": [{route}]}}"#),
        ),
        &[&format!(
            "Vägvalet [01, {CONTRACT}] får inte finnas på flera ställen i beställningen."
        )],
    )
    .await;
    let auth = format!(
        r#"{{"logiskAdress": "SE", "tjanstekontrakt": "{CONTRACT}", "tjanstekonsument": "TSTNMT2321000156-KONS"}}"#
    );
    refused(
        &bed,
        order(d, &format!(r#"{{"anropsbehorigheter": [{auth}, {auth}]}}"#), "{}"),
        &[&format!("Anropsbehörigheten [SE, TSTNMT2321000156-KONS, {CONTRACT}] får inte finnas på flera ställen i beställningen.")],
    )
    .await;
    // 2e. Field rules for new plain objects.
    refused(
        &bed,
        order(
            d,
            r#"{"logiskadresser": [{"hsaId": "", "beskrivning": "tom"}]}"#,
            "{}",
        ),
        &["Skapa Logisk Adress: HSA-ID får inte vara tomt"],
    )
    .await;
    // 3. References and the RIVTA profile.
    refused(
        &bed,
        order(
            d,
            &format!(r#"{{"vagval": [{{"adress": "https://example.se/x", "logiskAdress": "01", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP99", "tjanstekomponent": "SE-FINNS-INTE"}}]}}"#),
            "{}",
        ),
        &[
            "Skapa Vägval: RivTaProfil med namn = RIVTABP99 finns inte.",
            "Skapa Vägval: Tjänstekomponent med HSAId = SE-FINNS-INTE finns inte.",
        ],
    )
    .await;
    refused(
        &bed,
        order(d, &format!(r#"{{"anropsbehorigheter": [{{"logiskAdress": "XX-OKAND", "tjanstekontrakt": "{CONTRACT}", "tjanstekonsument": "TSTNMT2321000156-KONS"}}]}}"#), "{}"),
        &["Skapa Anropsbehörighet: Logisk Adress med HSAId = XX-OKAND finns inte."],
    )
    .await;
    // Excluding what does not exist is not an error: "Existerar ej".
    let a = post_text(
        &bed,
        "/api/sit/orders",
        exclude_route("99", d).replace("MOCK99", "MOCK01"),
    )
    .await;
    assert!(
        created(&a)["report_text"]
            .as_str()
            .unwrap()
            .contains("Existerar ej"),
        "{}",
        a.json
    );
    bed.stop().await;
}

#[tokio::test]
async fn form_rules_give_the_user_a_precise_error() {
    let bed = start().await;
    register_prestudy(&bed, "FS-QA-ONLY", &["qa"]).await;
    register_prestudy(&bed, "FS-SIT", &["sit"]).await;
    let producer = |county: &str, hsa: &str, case: &str, env: &str| {
        json!({
            "environment": env, "execution_date": today(), "producer_hsa_id": hsa, "contract": CONTRACT,
            "county_code": county, "rivta_profile": "RIVTABP21",
            "url": "https://producer.example.se/ProcessCervixScreeningInformation/1/rivtabp21",
            "prestudy_case": case, "region_name": null, "ordered_by": "test",
        })
    };
    let error = |a: &client::Answer| -> String {
        assert_eq!(a.status.as_u16(), 422, "{}", a.json);
        a.json["error"].as_str().unwrap().to_string()
    };
    // Not registered.
    let e = error(
        &post(
            &bed,
            "/api/sit/orders/producer",
            &producer("12", "SE2321000016-SKANE", "FS-SIT", "sit"),
        )
        .await,
    );
    assert!(e.contains("SE2321000016-SKANE"), "{e}");
    register_system(&bed, "SE2321000016-SKANE", "sit").await;
    register_system(&bed, "SE2321000016-SKANE", "qa").await;
    // An HSA-id or a retired code is not a county code.
    let e = error(
        &post(
            &bed,
            "/api/sit/orders/producer",
            &producer("SE2321000016-X", "SE2321000016-SKANE", "FS-SIT", "sit"),
        )
        .await,
    );
    assert!(e.contains("county code"), "{e}");
    let e = error(
        &post(
            &bed,
            "/api/sit/orders/producer",
            &producer("11", "SE2321000016-SKANE", "FS-SIT", "sit"),
        )
        .await,
    );
    assert!(e.contains("11"), "{e}");
    // One producing system per county: 12 is held by the mock producer.
    let e = error(
        &post(
            &bed,
            "/api/sit/orders/producer",
            &producer("12", "SE2321000016-SKANE", "FS-SIT", "sit"),
        )
        .await,
    );
    assert!(e.contains("TSTNMT2321000156-MOCK12"), "{e}");
    // Pre-study: unknown, or not approved for the environment.
    let e = error(
        &post(
            &bed,
            "/api/sit/orders/producer",
            &producer("12", "SE2321000016-SKANE", "FS-NOPE", "sit"),
        )
        .await,
    );
    assert!(e.contains("FS-NOPE"), "{e}");
    let e = error(
        &post(
            &bed,
            "/api/sit/orders/producer",
            &producer("12", "SE2321000016-SKANE", "FS-QA-ONLY", "sit"),
        )
        .await,
    );
    assert!(e.contains("FS-QA-ONLY"), "{e}");
    // Profile must be RIVTABP21.
    let mut bp20 = producer("12", "SE2321000016-SKANE", "FS-SIT", "sit");
    bp20["rivta_profile"] = json!("RIVTABP20");
    let e = error(&post(&bed, "/api/sit/orders/producer", &bp20).await);
    assert!(e.contains("RIVTABP21"), "{e}");
    // LOAD-MOCKS only in SIT.
    register_prestudy(&bed, "FS-QA", &["qa"]).await;
    let consumer = json!({
        "environment": "qa", "execution_date": today(), "consumer_hsa_id": "SE2321000016-SKANE", "contract": CONTRACT,
        "logical_addresses": ["SE", "LOAD-MOCKS"], "prestudy_case": "FS-QA", "region_name": null, "ordered_by": "test",
    });
    let e = error(&post(&bed, "/api/qa/orders/consumer", &consumer).await);
    assert!(e.contains("LOAD-MOCKS"), "{e}");
    bed.stop().await;
}

fn soap_call(body: &str) -> String {
    format!(
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header/><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
    )
}

#[tokio::test]
async fn tak_soap_read_apis_answer_in_the_real_namespaces_with_the_tak_content() {
    let bed = start().await;
    let url = format!("{}/tak/sit/SokVagvalsInfo/v2", admin(&bed));
    let a = client::post(
        &url,
        soap_call(r#"<urn:hamtaAllaVirtualiseringar xmlns:urn="urn:skl:tp:vagvalsinfo:v2"/>"#)
            .into_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(a.status.as_u16(), 200);
    let xml = a.json.as_str().unwrap().to_string();
    assert!(xml.contains("urn:skl:tp:vagvalsinfo:v2"), "{xml}");
    assert_eq!(
        xml.matches("virtualiseringsInfoId>").count() / 2,
        23,
        "21 counties + LOAD-MOCKS + NTJP-MOCKS: {xml}"
    );
    assert!(xml.contains("receiverId>LOAD-MOCKS</"), "{xml}");
    assert!(
        xml.contains("T00:00:00.000"),
        "zone-less local midnight dates: {xml}"
    );
    let a = client::post(
        &url,
        soap_call(r#"<urn:hamtaAllaAnropsBehorigheter xmlns:urn="urn:skl:tp:vagvalsinfo:v2"/>"#)
            .into_bytes(),
    )
    .await
    .unwrap();
    let xml = a.json.as_str().unwrap().to_string();
    assert!(xml.contains("senderId>TSTNMT2321000156-KONS</"), "{xml}");
    let url = format!(
        "{}/tak/sit/GetLogicalAddresseesByServiceContract/v2",
        admin(&bed)
    );
    let body = soap_call(&format!(
        r#"<urn:GetLogicalAddresseesByServiceContract xmlns:urn="urn:riv:infrastructure:itintegration:registry:GetLogicalAddresseesByServiceContractResponder:2" xmlns:urn1="urn:riv:infrastructure:itintegration:registry:2"><urn:serviceConsumerHsaId>TSTNMT2321000156-KONS</urn:serviceConsumerHsaId><urn:serviceContractNameSpace><urn1:ServiceContractNamespace>{CONTRACT}</urn1:ServiceContractNamespace></urn:serviceContractNameSpace></urn:GetLogicalAddresseesByServiceContract>"#
    ));
    let a = client::post(&url, body.into_bytes()).await.unwrap();
    let xml = a.json.as_str().unwrap().to_string();
    assert!(
        xml.contains("GetLogicalAddresseesByServiceContractResponder:2"),
        "{xml}"
    );
    assert!(
        xml.contains(">SE<") && xml.contains(">LOAD-MOCKS<"),
        "{xml}"
    );
    // The JSON export of the same snapshot.
    let export = get(&bed, "/api/sit/tak/export").await.json;
    assert_eq!(export["formatVersion"], "1");
    assert_eq!(export["data"]["vagval"].as_array().unwrap().len(), 23);
    bed.stop().await;
}

#[tokio::test]
async fn unpublished_changes_are_invisible_and_publishing_is_atomic_for_requests_in_flight() {
    let bed = start().await;
    let sit = bed.https_addr("sit");
    let a = post(&bed, "/api/sit/settings", &json!({"auto_publish": false})).await;
    assert_eq!(a.status.as_u16(), 200, "{}", a.json);
    // Move county 22 to a new URL, executed but not published: the router still uses the old.
    let new_url = "{{mocks}}/22/ProcessCervixScreeningInformation/1/rivtabp21?v2";
    let a = post_text(
        &bed,
        "/api/sit/orders",
        include_route("22", new_url, today()),
    )
    .await;
    assert!(created(&a)["published_version"].is_null());
    assert!(get(&bed, "/api/sit/tak/pending").await.status.is_success());
    let consumer = bed.consumer();
    assert_ok(&consumer.post(sit, cervix_request("22"), &[]).await.unwrap());
    assert!(
        !bed.testbed
            .recorder()
            .for_address("22")
            .last()
            .unwrap()
            .path_and_query
            .contains("v2")
    );

    // Route continuously from 4 streams while publishing: every answer OK, and each stream
    // switches from the old URL to the new one exactly once.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut streams = Vec::new();
    for _ in 0..4 {
        let consumer = consumer.clone();
        let stop = stop.clone();
        streams.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || n < 5 {
                let a = consumer.post(sit, cervix_request("22"), &[]).await.unwrap();
                assert_ok(&a);
                n += 1;
            }
            n
        }));
    }
    // The streams route to the old URL before the publish and go on to the new one after it.
    let routed_to = |new: bool| {
        let bed = &bed;
        move || async move {
            let rec = bed.testbed.recorder().for_address("22");
            rec.iter()
                .filter(|r| r.path_and_query.ends_with("v2") == new)
                .count()
                >= 8
        }
    };
    wait_for(
        "no calls to the old URL before the publish",
        routed_to(false),
    )
    .await;
    let p = post(&bed, "/api/sit/publish", &json!({"comment": "flytta 22"})).await;
    assert_eq!(p.status.as_u16(), 200, "{}", p.json);
    wait_for("no calls to the new URL after the publish", routed_to(true)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    for s in streams {
        total += s.await.unwrap();
    }
    let rec = bed.testbed.recorder().for_address("22");
    assert_eq!(rec.len(), total + 1);
    let first_new = rec
        .iter()
        .position(|r| r.path_and_query.ends_with("v2"))
        .expect("the new URL was used");
    assert!(
        rec[first_new..]
            .iter()
            .all(|r| r.path_and_query.ends_with("v2")),
        "an old answer after the switch"
    );
    // Nothing pending now; publishing again is refused with TAK's text.
    let again = post(&bed, "/api/sit/publish", &json!({})).await;
    assert_eq!(again.status.as_u16(), 409);
    assert_eq!(
        again.json["error"],
        "Det finns inga ändringar, genomförda av inloggad användare, att publicera"
    );
    // Roll back the latest version: the old URL again.
    let version = p.json["version"].as_u64().unwrap();
    let r = post(&bed, "/api/sit/rollback", &json!({"version": version})).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    assert_ok(&consumer.post(sit, cervix_request("22"), &[]).await.unwrap());
    assert!(
        !bed.testbed
            .recorder()
            .for_address("22")
            .last()
            .unwrap()
            .path_and_query
            .contains("v2")
    );
    let diff = get(&bed, &format!("/api/sit/versions/1/diff/{}", version - 1)).await;
    assert!(diff.status.is_success(), "{}", diff.json);
    bed.stop().await;
}

#[tokio::test]
async fn a_restart_rebuilds_tak_versions_clock_and_orders_from_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let snapshot = |tb: &ntjp_testbed::server::Testbed| {
        let admin = tb.endpoints().admin.clone();
        let mocks = tb.endpoints().mocks.clone();
        async move {
            let mut out = Vec::new();
            for path in [
                "/api/sit/versions",
                "/api/sit/tak/export",
                "/api/sit/clock",
                "/api/sit/orders",
                "/api/sit/settings",
                "/api/qa/clock",
            ] {
                let mut v = client::get(&format!("{admin}{path}")).await.unwrap().json;
                // The clock's `real_now` is the wall clock to the second, which the restart
                // moves on; its day and offset must match.
                if let Some(clock) = v.as_object_mut() {
                    clock.remove("real_now");
                }
                // The mocks listen on another port after the restart; everything else must match.
                let text = v.to_string().replace(&mocks, "{{mocks}}");
                out.push((path, text));
            }
            out
        }
    };
    let first = ntjp_testbed::server::start(config.clone()).await.unwrap();
    let admin = first.endpoints().admin.clone();
    let post = |path: &str, body: String| {
        let url = format!("{admin}{path}");
        async move { client::post(&url, body.into_bytes()).await.unwrap() }
    };
    assert_eq!(
        post("/api/sit/clock", r#"{"advance_days": 5}"#.into())
            .await
            .status
            .as_u16(),
        200
    );
    assert_eq!(
        post("/api/sit/orders", exclude_route("25", today()))
            .await
            .status
            .as_u16(),
        201
    );
    assert_eq!(
        post("/api/sit/settings", r#"{"auto_publish": false}"#.into())
            .await
            .status
            .as_u16(),
        200
    );
    assert_eq!(
        post("/api/sit/orders", exclude_route("24", today()))
            .await
            .status
            .as_u16(),
        201
    );
    assert_eq!(
        post("/api/sit/publish", r#"{"comment": "v3"}"#.into())
            .await
            .status
            .as_u16(),
        200
    );
    assert_eq!(
        post("/api/sit/rollback", r#"{"version": 3}"#.into())
            .await
            .status
            .as_u16(),
        200
    );
    assert_eq!(
        post("/api/sit/orders", exclude_route("23", today()))
            .await
            .status
            .as_u16(),
        201
    );
    let before = snapshot(&first).await;
    first.shutdown().await;

    let second = ntjp_testbed::server::start(config).await.unwrap();
    let after = snapshot(&second).await;
    for ((path, a), (_, b)) in before.iter().zip(after.iter()) {
        assert_eq!(a, b, "{path} differs after the restart");
    }
    // The router uses the rebuilt TAK: 25 was excluded and published, 24 rolled back.
    let p = &second.endpoints().pki;
    let consumer = Client::new(&p.ca, Some((&p.consumer_cert, &p.consumer_key)));
    let sit = addr_of(&second.endpoints().environments["sit"].router_https);
    consumer
        .post(sit, cervix_request("25"), &[])
        .await
        .unwrap()
        .vp("VP004");
    assert_ok(&consumer.post(sit, cervix_request("24"), &[]).await.unwrap());
    second.shutdown().await;
}
