use super::*;
use crate::contract::request;
use crate::soap::Profile;
use crate::vocab::SOAP11_NS;
use schema::is_date;

// Building blocks of a message, with `r:` the responder and `c:` the core namespace.

const SUBJECT: &str = "<c:subjectOfCare><c:personId><c:root>1.2.752.129.2.1.3.1</c:root>\
    <c:extension>191212121212</c:extension></c:personId></c:subjectOfCare>";

fn org(tag: &str, hsa: &str) -> String {
    format!(
        "<c:{tag}><c:id><c:root>1.2.752.129.2.1.4.1</c:root><c:extension>{hsa}</c:extension>\
         </c:id><c:name>Region {hsa}</c:name></c:{tag}>"
    )
}

fn sending() -> String {
    format!(
        "<c:sendingRegion>{}</c:sendingRegion>",
        org("region", "TSTNMT2321000156-R12")
    )
}

fn original() -> String {
    format!(
        "<c:originalRegion>{}</c:originalRegion>",
        org("region", "TSTNMT2321000156-R14")
    )
}

fn cv(tag: &str, code: &str) -> String {
    format!(
        "<c:{tag}><c:code>{code}</c:code><c:codeSystem>1.2.752.116.2.1.1</c:codeSystem></c:{tag}>"
    )
}

fn exclusion(code: &str) -> String {
    format!(
        "<c:exclusion>{}<c:registeredAt>20240101</c:registeredAt>{}</c:exclusion>",
        cv("reason", code),
        original()
    )
}

fn follow_up(code: &str) -> String {
    format!(
        "<c:followUpGroups>{}<c:inclusionDate>20240102</c:inclusionDate>{}</c:followUpGroups>",
        cv("type", code),
        original()
    )
}

const PLANNED: &str = "<c:plannedInvitation><c:date>20260101</c:date>\
    <c:reason>flytt</c:reason></c:plannedInvitation>";

fn specimen(codes: &[&str]) -> String {
    let hpv: String = codes
        .iter()
        .map(|c| format!("<c:HPVstatusList>{}</c:HPVstatusList>", cv("value", c)))
        .collect();
    format!(
        "<c:specimen><c:specimenDate>20250314</c:specimenDate>{}{hpv}</c:specimen>",
        original()
    )
}

/// An envelope whose `cervixScreeningInformation` holds `inner`.
fn envelope(inner: &str) -> String {
    body(&format!(
        "<r:cervixScreeningInformation>{inner}</r:cervixScreeningInformation>"
    ))
}

/// An envelope whose body element holds `inner`.
fn body(inner: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="{SOAP11_NS}"><soap:Header><LogicalAddress xmlns="urn:riv:itintegration:registry:1">01</LogicalAddress></soap:Header><soap:Body><r:ProcessCervixScreeningInformation xmlns:r="{RESPONDER_NS}" xmlns:c="{CORE_NS}">{inner}</r:ProcessCervixScreeningInformation></soap:Body></soap:Envelope>"#
    )
}

fn minimal() -> String {
    format!("{SUBJECT}{}", sending())
}

fn checked_with(xml: &str, lists: &CodeLists) -> Checked {
    match validate(xml.as_bytes(), lists) {
        Outcome::Checked(c) => c,
        Outcome::Technical(why) => panic!("technical: {why}\n{xml}"),
    }
}

fn checked(xml: &str) -> Checked {
    checked_with(xml, &CodeLists::default())
}

fn technical(xml: &[u8]) -> String {
    match validate(xml, &CodeLists::default()) {
        Outcome::Technical(why) => why,
        Outcome::Checked(c) => panic!(
            "expected a technical error, got {:?}\n{}",
            c.violations,
            String::from_utf8_lossy(xml)
        ),
    }
}

fn paths(c: &Checked) -> Vec<&str> {
    c.violations.iter().map(|v| v.path.as_str()).collect()
}

/// The single violation of the message whose `cervixScreeningInformation` holds `inner`.
fn single(inner: &str) -> Violation {
    let c = checked(&envelope(inner));
    assert_eq!(c.violations.len(), 1, "{:#?}", c.violations);
    c.violations.into_iter().next().unwrap()
}

fn assert_valid(xml: &str) -> Checked {
    let c = checked(xml);
    assert!(c.violations.is_empty(), "{:#?}\n{xml}", c.violations);
    c
}

// ---- valid messages and scenarios ---------------------------------------------------------

#[test]
fn the_minimal_request_is_valid_with_no_information() {
    let xml = request("01", Profile::Bp21, "191212121212", "12");
    let c = assert_valid(&xml);
    assert_eq!(c.scenario, Scenario::NoInformation);
    assert_eq!(c.personnummer.as_deref(), Some("191212121212"));
    assert_eq!(c.sending_region.as_deref(), Some("TSTNMT2321000156-R12"));
}

#[test]
fn the_request_fixture_is_a_valid_sample_elsewhere() {
    let c = assert_valid(include_str!("../../../fixtures/requests/cervix-01.xml"));
    assert_eq!(c.scenario, Scenario::SampleElsewhere);
    assert_eq!(c.personnummer.as_deref(), Some("191212121212"));
    for xml in [
        include_str!("../../../fixtures/requests/cervix-load-mocks.xml"),
        include_str!("../../../fixtures/requests/cervix-01-rivtabp20.xml"),
    ] {
        assert!(matches!(
            validate(xml.as_bytes(), &CodeLists::default()),
            Outcome::Checked(_)
        ));
    }
}

#[test]
fn a_message_with_every_element_is_valid() {
    let inner = format!(
        "{SUBJECT}{}{}{}{}{PLANNED}{}",
        sending(),
        exclusion("116140006"),
        follow_up("59461000052109"),
        follow_up("59291000052102"),
        specimen(&["59291000052102", "59311000052101"])
    )
    // Optional CV fields and an originalRegion with careGiver and careUnit.
    .replacen(
        "<c:codeSystem>1.2.752.116.2.1.1</c:codeSystem>",
        "<c:codeSystem>1.2.752.116.2.1.1</c:codeSystem><c:codeSystemName>SNOMED CT</c:codeSystemName>\
         <c:codeSystemVersion>x</c:codeSystemVersion><c:displayName>Hysterektomi</c:displayName>\
         <c:originalText>y</c:originalText>",
        1,
    )
    .replacen(
        "</c:region></c:originalRegion>",
        &format!(
            "</c:region>{}{}</c:originalRegion>",
            org("careGiver", "SE1"),
            org("careUnit", "SE2")
        ),
        1,
    );
    let c = assert_valid(&envelope(&inner));
    assert_eq!(c.scenario, Scenario::Exclusion);
}

#[test]
fn scenarios_follow_the_precedence() {
    let cases = [
        (String::new(), Scenario::NoInformation),
        (specimen(&[]), Scenario::SampleElsewhere),
        (
            format!("{}{}", follow_up("59461000052109"), specimen(&[])),
            Scenario::TreatedElsewhere,
        ),
        (
            format!("{}{PLANNED}{}", follow_up("59461000052109"), specimen(&[])),
            Scenario::Moved,
        ),
        (
            format!("{}{PLANNED}", exclusion("702371008")),
            Scenario::Exclusion,
        ),
    ];
    for (extra, scenario) in cases {
        let c = assert_valid(&envelope(&format!("{}{extra}", minimal())));
        assert_eq!(c.scenario, scenario, "{extra}");
    }
    // Computed even when the message has violations.
    let c = checked(&envelope(&format!("{SUBJECT}{PLANNED}")));
    assert_eq!(c.scenario, Scenario::Moved);
    assert!(!c.violations.is_empty());
}

#[test]
fn scenario_names_and_descriptions() {
    for s in Scenario::ALL {
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, format!("\"{}\"", s.as_str()));
        assert_eq!(Scenario::parse(s.as_str()), Some(s));
        assert_eq!(s.to_string(), s.as_str());
        assert!(s.description().contains(" / "), "{s}");
    }
    assert_eq!(Scenario::SampleElsewhere.as_str(), "sample-elsewhere");
    assert_eq!(Scenario::parse("nope"), None);
    assert_eq!(Scenario::of(["specimen", "exclusion"]), Scenario::Exclusion);
    assert_eq!(Scenario::of(["subjectOfCare"]), Scenario::NoInformation);
}

// ---- schema: order, cardinality ------------------------------------------------------------

#[test]
fn missing_subject_of_care_is_reported_where_it_should_be() {
    let v = single(&sending());
    assert_eq!(v.path, "cervixScreeningInformation/subjectOfCare");
    assert_eq!(
        v.message,
        "expected element subjectOfCare here, found sendingRegion"
    );

    let v = single(
        &format!("{}{}", sending(), exclusion("116140006"))
            .replace("<c:sendingRegion>", "<c:sendingRegion>"),
    );
    assert_eq!(v.path, "cervixScreeningInformation/subjectOfCare");

    let c = checked(&envelope(&exclusion("116140006")));
    assert_eq!(
        paths(&c),
        [
            "cervixScreeningInformation/subjectOfCare",
            "cervixScreeningInformation/sendingRegion"
        ]
    );
    assert_eq!(
        c.violations[0].message,
        "expected element subjectOfCare here, found exclusion"
    );
}

#[test]
fn missing_elements_at_the_end_of_a_sequence() {
    let v = single(SUBJECT);
    assert_eq!(v.path, "cervixScreeningInformation/sendingRegion");
    assert_eq!(v.message, "missing (required by the schema, 1..1)");

    let inner = minimal().replace("<c:name>Region TSTNMT2321000156-R12</c:name>", "");
    let v = single(&inner);
    assert_eq!(
        v.path,
        "cervixScreeningInformation/sendingRegion/region/name"
    );
    assert_eq!(v.message, "missing (required by the schema, 1..1)");

    let c = checked(&envelope(&format!(
        "{}<c:specimen></c:specimen>",
        minimal()
    )));
    assert_eq!(
        paths(&c),
        [
            "cervixScreeningInformation/specimen/specimenDate",
            "cervixScreeningInformation/specimen/originalRegion"
        ]
    );
}

#[test]
fn missing_cervix_screening_information() {
    for inner in ["", "  \n  ", "<!-- x -->"] {
        let c = checked(&body(inner));
        assert_eq!(paths(&c), ["cervixScreeningInformation"]);
        assert_eq!(
            c.violations[0].message,
            "missing (required by the schema, 1..1)"
        );
        assert_eq!(c.scenario, Scenario::NoInformation);
        assert_eq!(c.personnummer, None);
    }
    let xml = format!(
        r#"<s:Envelope xmlns:s="{SOAP11_NS}"><s:Body><ProcessCervixScreeningInformation xmlns="{RESPONDER_NS}"/></s:Body></s:Envelope>"#
    );
    assert_eq!(paths(&checked(&xml)), ["cervixScreeningInformation"]);
}

#[test]
fn a_second_subject_of_care_is_surplus() {
    let v = single(&format!("{SUBJECT}{SUBJECT}{}", sending()));
    assert_eq!(v.path, "cervixScreeningInformation/subjectOfCare");
    assert_eq!(
        v.message,
        "surplus element subjectOfCare: the schema allows at most 1 (1..1)"
    );
    let v = single(&format!("{}{}", minimal(), sending()));
    assert_eq!(v.path, "cervixScreeningInformation/sendingRegion");
    assert!(v.message.starts_with("surplus"), "{}", v.message);
}

#[test]
fn planned_invitation_after_specimen_is_out_of_order() {
    let v = single(&format!("{}{}{PLANNED}", minimal(), specimen(&[])));
    assert_eq!(v.path, "cervixScreeningInformation/plannedInvitation");
    assert_eq!(
        v.message,
        "element plannedInvitation is out of order: it must come before specimen"
    );
    // Swapped required elements: one violation, at the one found too late.
    let v = single(&format!("{}{SUBJECT}", sending()));
    assert_eq!(v.path, "cervixScreeningInformation/subjectOfCare");
    assert!(v.message.contains("out of order"), "{}", v.message);
    let inner = minimal().replace(
        "<c:root>1.2.752.129.2.1.3.1</c:root><c:extension>191212121212</c:extension>",
        "<c:extension>191212121212</c:extension><c:root>1.2.752.129.2.1.3.1</c:root>",
    );
    let v = single(&inner);
    assert_eq!(
        v.path,
        "cervixScreeningInformation/subjectOfCare/personId/root"
    );
}

#[test]
fn repeatable_elements_are_indexed() {
    let inner = format!(
        "{}{}{}{}",
        minimal(),
        follow_up("59461000052109"),
        follow_up("123"),
        specimen(&["59291000052102", "1", "59311000052101"])
    );
    let c = checked(&envelope(&inner));
    assert_eq!(
        paths(&c),
        [
            "cervixScreeningInformation/followUpGroups[2]/type/code",
            "cervixScreeningInformation/specimen/HPVstatusList[2]/value/code"
        ]
    );
    assert_eq!(
        c.violations[0].message,
        "code '123' is not in the care programme's list for the follow-up group: \
         59461000052109, 59291000052102, 59321000052109, 59301000052103"
    );
    assert!(c.violations[1].message.contains("'1'"));
    assert!(c.violations[1].message.contains("HPV status"));
    // A missing element inside a repeated one.
    let inner = format!(
        "{}{}",
        minimal(),
        follow_up("59461000052109").replace("<c:inclusionDate>20240102</c:inclusionDate>", "")
    );
    let v = single(&inner);
    assert_eq!(
        v.path,
        "cervixScreeningInformation/followUpGroups[1]/inclusionDate"
    );
    assert_eq!(
        v.message,
        "expected element inclusionDate here, found originalRegion"
    );
}

#[test]
fn undeclared_elements_of_the_namespace_are_violations() {
    let v = single(&format!("{}<c:comment>x</c:comment>", minimal()));
    assert_eq!(v.path, "cervixScreeningInformation/comment");
    assert!(
        v.message.contains("unexpected element comment"),
        "{}",
        v.message
    );
    assert!(
        v.message.contains("CervixScreeningInformationType"),
        "{}",
        v.message
    );
    assert!(v.message.contains("exclusion"), "{}", v.message);
    // Its content is not looked at.
    let v = single(&format!("{}<c:x>{SUBJECT}<c:bad/></c:x>", minimal()));
    assert_eq!(v.path, "cervixScreeningInformation/x");
}

// ---- schema: namespaces and extension points ----------------------------------------------

#[test]
fn extension_elements_are_allowed_last_with_any_content() {
    let ext = r#"<x:future xmlns:x="urn:example:minor:2"><x:a>any <b/> content</x:a></x:future>"#;
    // Last in every type, and in the core namespace under the body element.
    let inner = format!("{}{ext}", minimal())
        .replace("</c:personId>", &format!("{ext}</c:personId>"))
        .replace("</c:subjectOfCare>", &format!("{ext}</c:subjectOfCare>"))
        .replace("</c:region>", &format!("{ext}</c:region>"))
        .replace("</c:id>", &format!("{ext}</c:id>"));
    let xml = body(&format!(
        "<r:cervixScreeningInformation>{inner}</r:cervixScreeningInformation>\
         <c:subjectOfCare>core is foreign here</c:subjectOfCare>{ext}"
    ));
    assert_valid(&xml);
    // Several in a row, also one named like a declared optional element.
    let inner = minimal().replace(
        "</c:sendingRegion>",
        &format!("{ext}<y:careGiver xmlns:y=\"urn:y\"/>{ext}</c:sendingRegion>"),
    );
    assert_valid(&envelope(&inner));
}

#[test]
fn declared_elements_after_an_extension_element_are_violations() {
    let inner = minimal().replace(
        "<c:extension>191212121212</c:extension>",
        r#"<x:e xmlns:x="urn:x"/><c:extension>191212121212</c:extension>"#,
    );
    let v = single(&inner);
    assert_eq!(
        v.path,
        "cervixScreeningInformation/subjectOfCare/personId/extension"
    );
    assert_eq!(
        v.message,
        "element extension is not allowed after the extension element {urn:x}e; \
         extension elements must come last"
    );
    // Before a required element: that element is misplaced, not missing.
    let v = single(&format!(r#"{SUBJECT}<x:e xmlns:x="urn:x"/>{}"#, sending()));
    assert_eq!(v.path, "cervixScreeningInformation/sendingRegion");
    assert!(v.message.contains("{urn:x}e"), "{}", v.message);
    // Instead of a required element that never comes: that one is missing.
    let v = single(&format!(r#"{SUBJECT}<x:e xmlns:x="urn:x"/>"#));
    assert_eq!(v.path, "cervixScreeningInformation/sendingRegion");
    assert_eq!(
        v.message,
        "expected element sendingRegion here, found extension element {urn:x}e"
    );
}

#[test]
fn wrong_namespaces_are_named() {
    // The core element in the responder namespace.
    let inner = minimal()
        .replace("<c:subjectOfCare>", "<r:subjectOfCare>")
        .replace("</c:subjectOfCare>", "</r:subjectOfCare>");
    let v = single(&inner);
    assert_eq!(v.path, "cervixScreeningInformation/subjectOfCare");
    assert_eq!(
        v.message,
        format!("element subjectOfCare is in namespace {RESPONDER_NS}; expected {CORE_NS}")
    );
    // Unqualified.
    let inner = minimal().replace("c:sendingRegion", "sendingRegion");
    let v = single(&inner);
    assert_eq!(v.path, "cervixScreeningInformation/sendingRegion");
    assert_eq!(
        v.message,
        format!("element sendingRegion is in no namespace; expected {CORE_NS}")
    );
    // An unqualified element is never an extension element.
    let v = single(&format!("{}<note>hi</note>", minimal()));
    assert_eq!(v.path, "cervixScreeningInformation/note");
    assert!(v.message.contains("no namespace"), "{}", v.message);
    // cervixScreeningInformation in the core namespace.
    let c = checked(&body(&format!(
        "<c:cervixScreeningInformation>{}</c:cervixScreeningInformation>",
        minimal()
    )));
    assert_eq!(paths(&c), ["cervixScreeningInformation"]);
    assert_eq!(
        c.violations[0].message,
        format!(
            "element cervixScreeningInformation is in namespace {CORE_NS}; expected {RESPONDER_NS}"
        )
    );
    // A wrong-namespace element named like one the TKB requires.
    let inner = minimal().replace(
        "<c:extension>191212121212</c:extension>",
        "<r:extension>191212121212</r:extension>",
    );
    let v = single(&inner);
    assert_eq!(
        v.path,
        "cervixScreeningInformation/subjectOfCare/personId/extension"
    );
    assert!(v.message.contains("is in namespace"), "{}", v.message);
}

#[test]
fn prefixes_do_not_matter() {
    let expect = checked(&envelope(&minimal()));
    // Default namespaces throughout.
    let xml = format!(
        r#"<Envelope xmlns="{SOAP11_NS}"><Header/><Body><ProcessCervixScreeningInformation xmlns="{RESPONDER_NS}"><cervixScreeningInformation><subjectOfCare xmlns="{CORE_NS}"><personId><root>1.2.752.129.2.1.3.1</root><extension>191212121212</extension></personId></subjectOfCare><q:sendingRegion xmlns:q="{CORE_NS}"><q:region><id xmlns="{CORE_NS}"><root>1.2.752.129.2.1.4.1</root><extension>TSTNMT2321000156-R12</extension></id><q:name>Region TSTNMT2321000156-R12</q:name></q:region></q:sendingRegion></cervixScreeningInformation></ProcessCervixScreeningInformation></Body></Envelope>"#
    );
    assert_eq!(checked(&xml), expect);
    // Other prefixes, the same namespace under two prefixes, a prefix redeclared inside.
    let xml = envelope(&minimal())
        .replace("soap:", "S:")
        .replace("xmlns:soap=", "xmlns:S=")
        .replace("c:", "core:")
        .replace("xmlns:c=", "xmlns:core=")
        .replace(
            "<core:region>",
            &format!(r#"<r:region xmlns:r="{CORE_NS}">"#),
        )
        .replace("</core:region>", "</r:region>");
    assert_eq!(checked(&xml), expect);
    assert!(xml.contains("<r:region"), "{xml}");
}

// ---- schema: content and values ------------------------------------------------------------

#[test]
fn simple_elements_must_not_contain_elements() {
    let inner = minimal().replace(
        "<c:extension>191212121212</c:extension>",
        "<c:extension>1912<c:b/>12121212</c:extension>",
    );
    let v = single(&inner);
    assert_eq!(
        v.path,
        "cervixScreeningInformation/subjectOfCare/personId/extension"
    );
    assert_eq!(
        v.message,
        "element extension has simple content (xs:string) and must not contain elements; \
         found element b"
    );
    // A foreign child counts too; the value check is not run on top of it.
    let inner = format!("{}{}", minimal(), exclusion("x<y:z xmlns:y=\"urn:y\"/>"));
    let v = single(&inner);
    assert_eq!(v.path, "cervixScreeningInformation/exclusion/reason/code");
    assert!(
        v.message.contains("must not contain elements"),
        "{}",
        v.message
    );
}

#[test]
fn element_only_content_must_not_contain_text() {
    let inner = minimal().replace("<c:personId>", "<c:personId>oops");
    let v = single(&inner);
    assert_eq!(v.path, "cervixScreeningInformation/subjectOfCare/personId");
    assert_eq!(
        v.message,
        "element personId has element-only content (IIType) and must not contain text; found 'oops'"
    );
    // Whitespace, comments and processing instructions are fine.
    let inner = minimal().replace(
        "<c:personId>",
        "<c:personId>\n\t <!-- c --><?pi x?>&#32;&#x9;<![CDATA[ ]]>",
    );
    assert_valid(&envelope(&inner));
    let c = checked(&body("text<r:cervixScreeningInformation/>"));
    assert_eq!(c.violations[0].path, "ProcessCervixScreeningInformation");
    assert!(c.violations[0].message.contains("'text'"));
}

#[test]
fn attributes_are_not_allowed_except_xsi_and_namespace_declarations() {
    let inner = minimal().replace("<c:personId>", r#"<c:personId id="1" xmlns:u="urn:u">"#);
    let v = single(&inner);
    assert_eq!(v.path, "cervixScreeningInformation/subjectOfCare/personId");
    assert_eq!(
        v.message,
        "attribute id is not allowed: personId (IIType) declares no attributes"
    );
    let inner = minimal().replace(
        "<c:personId>",
        r#"<c:personId xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="c:IIType">"#,
    );
    assert_valid(&envelope(&inner));
}

#[test]
fn date_pattern() {
    for ok in [
        "20230101",
        "19000101",
        "20991231",
        "20230231",
        "19990931",
        "20\u{0663}\u{0663}0101",
    ] {
        assert!(is_date(ok), "{ok}");
    }
    for bad in [
        "2023131",
        "202301011",
        "18991231",
        "21000101",
        "20231301",
        "20230001",
        "20230100",
        "20230132",
        " 20230101",
        "20230101 ",
        "2023-01-01",
        "20250314120000",
        "",
        "\u{0662}\u{0660}230101",
        "２０２３0101",
    ] {
        assert!(!is_date(bad), "{bad}");
    }
    let inner = format!("{}{}", minimal(), specimen(&[])).replace("20250314", "2023131");
    let v = single(&inner);
    assert_eq!(v.path, "cervixScreeningInformation/specimen/specimenDate");
    assert_eq!(
        v.message,
        "'2023131' does not match the date pattern YYYYMMDD (years 1900-2099, month 01-12, day 01-31)"
    );
    // A timestamp, as the TKB's text would have it, fails the schema.
    let inner =
        format!("{}{}", minimal(), exclusion("116140006")).replace("20240101", "20240101120000");
    let v = single(&inner);
    assert_eq!(v.path, "cervixScreeningInformation/exclusion/registeredAt");
    assert!(v.message.contains("'20240101120000'"), "{}", v.message);
    // Not trimmed.
    let inner = format!("{}{PLANNED}", minimal()).replace("20260101", " 20260101\n");
    let v = single(&inner);
    assert_eq!(v.path, "cervixScreeningInformation/plannedInvitation/date");
    assert!(v.message.starts_with("' 20260101\\n'"), "{}", v.message);
}

// ---- TKB rules -----------------------------------------------------------------------------

#[test]
fn person_id_root_must_be_the_personnummer_oid() {
    let inner = minimal().replace("1.2.752.129.2.1.3.1", "1.2.752.129.2.1.3.3");
    let v = single(&inner);
    assert_eq!(
        v.path,
        "cervixScreeningInformation/subjectOfCare/personId/root"
    );
    assert!(
        v.message
            .starts_with("'1.2.752.129.2.1.3.3' is not 1.2.752.129.2.1.3.1"),
        "{}",
        v.message
    );
}

#[test]
fn personnummer_is_required_and_twelve_digits() {
    let inner = minimal().replace("<c:extension>191212121212</c:extension>", "");
    let c = checked(&envelope(&inner));
    assert_eq!(
        paths(&c),
        ["cervixScreeningInformation/subjectOfCare/personId/extension"]
    );
    assert_eq!(
        c.violations[0].message,
        "missing (required by the TKB: the woman's personnummer, YYYYMMDDNNNN)"
    );
    assert_eq!(c.personnummer, None);

    for bad in [
        "19121212121",
        "1912121212123",
        "19121212-1212",
        "191212121212 ",
        "19121312121212",
        "191213121212",
        "191200121212",
        "191212321212",
        "19121212121X",
        "１９1212121212",
        "",
    ] {
        let inner = minimal().replace("191212121212", bad);
        let c = checked(&envelope(&inner));
        assert_eq!(
            paths(&c),
            ["cervixScreeningInformation/subjectOfCare/personId/extension"],
            "{bad}"
        );
        assert!(
            c.violations[0].message.contains(&format!("'{bad}'")),
            "{}",
            c.violations[0].message
        );
        assert_eq!(c.personnummer.as_deref(), Some(bad));
    }
    for ok in [
        "200001012384",
        "190001310000",
        "19121212&#49;212",
        "<![CDATA[191212121212]]>",
    ] {
        assert_valid(&envelope(&minimal().replace("191212121212", ok)));
    }
}

#[test]
fn organisation_ids_must_be_hsa_ids() {
    let inner = minimal().replace("1.2.752.129.2.1.4.1", "1.2.752.129.2.1.4.2");
    let v = single(&inner);
    assert_eq!(
        v.path,
        "cervixScreeningInformation/sendingRegion/region/id/root"
    );
    assert!(
        v.message
            .starts_with("'1.2.752.129.2.1.4.2' is not 1.2.752.129.2.1.4.1"),
        "{}",
        v.message
    );
    // Everywhere, including careGiver and careUnit of an originalRegion.
    let region = format!(
        "<c:originalRegion>{}{}{}</c:originalRegion>",
        org("region", "R"),
        org("careGiver", "G").replace("1.2.752.129.2.1.4.1", "x"),
        org("careUnit", "U").replace("1.2.752.129.2.1.4.1", "y")
    );
    let inner = format!("{}{}", minimal(), specimen(&[])).replace(&original(), &region);
    let c = checked(&envelope(&inner));
    assert_eq!(
        paths(&c),
        [
            "cervixScreeningInformation/specimen/originalRegion/careGiver/id/root",
            "cervixScreeningInformation/specimen/originalRegion/careUnit/id/root"
        ]
    );
}

#[test]
fn sending_region_must_not_carry_care_giver_or_care_unit() {
    let inner = minimal().replace(
        "</c:region></c:sendingRegion>",
        &format!(
            "</c:region>{}{}</c:sendingRegion>",
            org("careGiver", "G"),
            org("careUnit", "U")
        ),
    );
    let c = checked(&envelope(&inner));
    assert_eq!(
        paths(&c),
        [
            "cervixScreeningInformation/sendingRegion/careGiver",
            "cervixScreeningInformation/sendingRegion/careUnit"
        ]
    );
    assert_eq!(
        c.violations[0].message,
        "must not be given under sendingRegion (TKB: \"Skall ej anges\")"
    );
}

#[test]
fn code_system_and_codes() {
    let inner = format!("{}{}", minimal(), exclusion("123"))
        .replace("1.2.752.116.2.1.1", "2.16.840.1.113883.6.96");
    let c = checked(&envelope(&inner));
    assert_eq!(
        paths(&c),
        [
            "cervixScreeningInformation/exclusion/reason/code",
            "cervixScreeningInformation/exclusion/reason/codeSystem"
        ]
    );
    assert_eq!(
        c.violations[0].message,
        "code '123' is not in the care programme's list for the exclusion reason: \
         31021000119100, 116140006, 702371008"
    );
    assert_eq!(
        c.violations[1].message,
        "codeSystem '2.16.840.1.113883.6.96' is not 1.2.752.116.2.1.1 (SNOMED CT), \
         the code system of the care programme's codes"
    );
    // Missing codeSystem does not stop the code check.
    let inner = format!("{}{}", minimal(), exclusion("123"))
        .replace("<c:codeSystem>1.2.752.116.2.1.1</c:codeSystem>", "");
    let c = checked(&envelope(&inner));
    assert_eq!(
        paths(&c),
        [
            "cervixScreeningInformation/exclusion/reason/code",
            "cervixScreeningInformation/exclusion/reason/codeSystem"
        ]
    );
    assert_eq!(
        c.violations[1].message,
        "missing (required by the schema, 1..1)"
    );
}

#[test]
fn code_lists_are_configurable() {
    let xml = envelope(&format!("{}{}", minimal(), specimen(&["99999"])));
    let mut lists = CodeLists::default();
    let c = checked_with(&xml, &lists);
    assert_eq!(
        paths(&c),
        ["cervixScreeningInformation/specimen/HPVstatusList[1]/value/code"]
    );
    lists.hpv_statuses.push("99999".into());
    assert!(checked_with(&xml, &lists).violations.is_empty());
    lists.code_system = "1.2.3".into();
    let c = checked_with(&xml, &lists);
    assert_eq!(
        paths(&c),
        ["cervixScreeningInformation/specimen/HPVstatusList[1]/value/codeSystem"]
    );
    assert!(
        c.violations[0].message.contains("is not 1.2.3,"),
        "{}",
        c.violations[0].message
    );
    // Code lists read from configuration.
    let lists: CodeLists = toml::from_str(r#"exclusion_reasons = ["1"]"#).unwrap();
    assert_eq!(lists.exclusion_reasons, ["1"]);
    assert_eq!(lists.code_system, SNOMED_CT_OID);
}

#[test]
fn values_are_compared_exactly_as_sent() {
    // Entities and CDATA resolved, nothing trimmed.
    let inner = format!("{}{}", minimal(), exclusion("&#x31;16140006"));
    assert_valid(&envelope(&inner));
    let inner = format!("{}{}", minimal(), exclusion("<![CDATA[116140006]]>"));
    assert_valid(&envelope(&inner));
    let inner = format!("{}{}", minimal(), exclusion(" 116140006"));
    let v = single(&inner);
    assert!(v.message.starts_with("code ' 116140006'"), "{}", v.message);
    // Long values are cut in messages.
    let long = "9".repeat(500);
    let v = single(&format!("{}{}", minimal(), exclusion(&long)));
    assert!(
        v.message.contains(&format!("'{}…'", "9".repeat(80))),
        "{}",
        v.message
    );
    assert!(v.message.len() < 300);
}

#[test]
fn every_violation_in_document_order() {
    let inner = format!(
        "{}{}{}{PLANNED}{}",
        SUBJECT.replace("191212121212", "1912"),
        sending().replace(
            "</c:region>",
            &format!("</c:region>{}", org("careUnit", "U"))
        ),
        follow_up("1").replace("20240102", "2024"),
        specimen(&["59311000052101", "2"]).replace("<c:specimenDate>20250314</c:specimenDate>", "")
    );
    let inner = inner.replace(
        "1.2.752.129.2.1.4.1</c:root><c:extension>TSTNMT2321000156-R14",
        "bad</c:root><c:extension>TSTNMT2321000156-R14",
    );
    let c = checked(&envelope(&format!("{inner}<c:junk/>")));
    assert_eq!(
        paths(&c),
        [
            "cervixScreeningInformation/subjectOfCare/personId/extension",
            "cervixScreeningInformation/sendingRegion/careUnit",
            "cervixScreeningInformation/followUpGroups[1]/type/code",
            "cervixScreeningInformation/followUpGroups[1]/inclusionDate",
            "cervixScreeningInformation/followUpGroups[1]/originalRegion/region/id/root",
            "cervixScreeningInformation/specimen/specimenDate",
            "cervixScreeningInformation/specimen/originalRegion/region/id/root",
            "cervixScreeningInformation/specimen/HPVstatusList[2]/value/code",
            "cervixScreeningInformation/junk",
        ]
    );
    assert_eq!(c.personnummer.as_deref(), Some("1912"));
    let text = report(&c.violations, c.violations_omitted);
    assert!(text.starts_with("9 violation(s) of ProcessCervixScreeningInformation 1.0"));
    assert_eq!(text.lines().count(), 10);
    assert!(text.contains("\ncervixScreeningInformation/specimen/specimenDate: expected element specimenDate here, found originalRegion"), "{text}");
}

// ---- technical errors ----------------------------------------------------------------------

#[test]
fn not_well_formed_documents_are_technical() {
    let good = envelope(&minimal());
    let cases: Vec<(String, &str)> = vec![
        (
            good.replace("</c:personId>", "</c:personid>"),
            "does not match",
        ),
        (
            good.replace("<c:name>", "<u:name>")
                .replace("</c:name>", "</u:name>"),
            "`u`",
        ),
        (format!("{good}trailing"), "outside the root"),
        (format!("{good}<x/>"), "more than one root"),
        (good.replace("191212121212", "1 & 2"), "not well-formed"),
        (good.replace("191212121212", "&nbsp;"), "nbsp"),
        (good.replace("191212121212", "a\u{1}b"), "U+0001"),
        (good.replace("<c:personId>", "<c:personId a=1>"), "quoted"),
        (
            good.replace("<c:personId>", "<c:personId a='1' a='2'>"),
            "duplicated",
        ),
        (
            good.replace("<c:personId>", "<c:personId xmlns:e=''>"),
            "empty namespace",
        ),
        (good.replace("<c:personId>", "<c:personId q:a='1'>"), "`q`"),
        (
            good.replace("<c:personId>", "<c:1personId>")
                .replace("</c:personId>", "</c:1personId>"),
            "invalid element name",
        ),
        (
            good.replace(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
                "<!DOCTYPE x>",
            ),
            "document type",
        ),
        (
            good.replace("<soap:Header>", "<soap:Header><!-- a -- b -->"),
            "--",
        ),
        (format!(" {good}"), "XML declaration"),
        (
            good.replace("</soap:Envelope>", ""),
            "ends before `</soap:Envelope>`",
        ),
        (String::new(), "no root element"),
        ("   ".into(), "no root element"),
    ];
    for (xml, needle) in cases {
        let why = technical(xml.as_bytes());
        assert!(
            why.starts_with("The message is not well-formed XML: "),
            "{why}"
        );
        assert!(why.contains(needle), "{needle}: {why}");
        assert!(why.contains("(byte "), "{why}");
    }
    let why = technical(b"<a>\n  <b></a>");
    assert!(why.contains("[row,col]: [2,6]"), "{why}");
}

#[test]
fn wrong_envelopes_are_technical_with_a_clear_cause() {
    let response = crate::contract::response(crate::contract::ResultCode::Ok, None);
    assert_eq!(
        technical(response.as_bytes()),
        format!(
            "The SOAP Body's first element is {{{RESPONDER_NS}}}ProcessCervixScreeningInformationResponse, \
             not {{{RESPONDER_NS}}}ProcessCervixScreeningInformation"
        )
    );
    let bare = format!(r#"<ProcessCervixScreeningInformation xmlns="{RESPONDER_NS}"/>"#);
    assert_eq!(
        technical(bare.as_bytes()),
        format!(
            "The root element is {{{RESPONDER_NS}}}ProcessCervixScreeningInformation, \
             not {{{SOAP11_NS}}}Envelope"
        )
    );
    let soap12 =
        r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>"#;
    assert!(
        technical(soap12.as_bytes())
            .starts_with("The root element is {http://www.w3.org/2003/05/soap-envelope}Envelope")
    );
    let no_body = format!(r#"<s:Envelope xmlns:s="{SOAP11_NS}"><s:Header/><Body/></s:Envelope>"#);
    assert_eq!(
        technical(no_body.as_bytes()),
        format!("The SOAP Envelope has no {{{SOAP11_NS}}}Body element")
    );
    for b in ["<s:Body/>", "<s:Body> <!-- x --> </s:Body>"] {
        let xml = format!(r#"<s:Envelope xmlns:s="{SOAP11_NS}">{b}</s:Envelope>"#);
        assert_eq!(
            technical(xml.as_bytes()),
            format!(
                "The SOAP Body has no element; expected {{{RESPONDER_NS}}}ProcessCervixScreeningInformation"
            )
        );
    }
    let unqualified = format!(
        r#"<s:Envelope xmlns:s="{SOAP11_NS}"><s:Body><ProcessCervixScreeningInformation/></s:Body></s:Envelope>"#
    );
    assert!(
        technical(unqualified.as_bytes())
            .contains("is ProcessCervixScreeningInformation (no namespace), not")
    );
    // Well-formedness is checked to the end even when the structure is already wrong.
    let broken = format!("{}<a>", response);
    assert!(technical(broken.as_bytes()).starts_with("The message is not well-formed XML"));
}

#[test]
fn garbage_truncation_and_other_encodings_are_technical() {
    let good = envelope(&format!("{}{}", minimal(), specimen(&["59311000052101"])));
    let end = good.rfind('>').unwrap();
    for cut in 0..=end {
        let Some(prefix) = good.get(..cut) else {
            continue;
        };
        technical(prefix.as_bytes());
    }
    // Not UTF-8.
    let latin1 = good
        .replace("UTF-8", "ISO-8859-1")
        .replace("Region TSTNMT2321000156-R12", "V\u{e4}st");
    let mut bytes = latin1.into_bytes();
    let at = bytes.iter().position(|&b| b == 0xC3).unwrap();
    bytes.splice(at..at + 2, [0xE4]);
    let why = technical(&bytes);
    assert!(
        why.contains("not UTF-8") && why.contains(&format!("(byte {at})")),
        "{why}"
    );
    let utf16: Vec<u8> = format!("\u{feff}{good}")
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    technical(&utf16);
    for garbage in [
        &b"\x00\x01\x02\xff\xfe"[..],
        b"GET / HTTP/1.1\r\n\r\n",
        b"{\"json\": true}",
        b"<",
        b"<<<>>>",
        b"<?xml",
        b"<!--",
        b"<![CDATA[",
    ] {
        technical(garbage);
    }
    // A UTF-8 byte order mark is fine.
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(good.as_bytes());
    assert!(
        checked(std::str::from_utf8(&bom).unwrap())
            .violations
            .is_empty()
    );
}

#[test]
fn mutated_messages_never_panic() {
    let good = envelope(&format!(
        "{}{}{}{PLANNED}{}",
        minimal(),
        exclusion("116140006"),
        follow_up("59461000052109"),
        specimen(&["59311000052101"])
    ))
    .into_bytes();
    // A small deterministic generator (xorshift), so that failures reproduce.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"<>/:=\"'&;#x![]-? \nac";
    for _ in 0..3000 {
        let mut m = good.clone();
        for _ in 0..(next() % 4 + 1) {
            let i = (next() as usize) % m.len();
            match next() % 3 {
                0 => m[i] = alphabet[(next() as usize) % alphabet.len()],
                1 => {
                    m.remove(i);
                }
                _ => m.insert(i, alphabet[(next() as usize) % alphabet.len()]),
            }
        }
        let _ = validate(&m, &CodeLists::default());
    }
}

// ---- hostile nesting -----------------------------------------------------------------------

fn nested(depth: usize, open: &str, close: &str) -> String {
    let mut s = String::with_capacity(depth * (open.len() + close.len()));
    for _ in 0..depth {
        s.push_str(open);
    }
    for _ in 0..depth {
        s.push_str(close);
    }
    s
}

/// Checked with no limit on depth: what the tree reader does with a depth the default
/// [`Limits`] refuse (nothing recursive, nothing stored past the recorded depth).
fn checked_deep(xml: &str) -> Checked {
    let limits = Limits {
        max_depth: usize::MAX,
        ..Limits::default()
    };
    match validate_with(xml.as_bytes(), &CodeLists::default(), &limits) {
        Outcome::Checked(c) => c,
        Outcome::Technical(why) => panic!("technical: {why}"),
    }
}

#[test]
fn deep_nesting_inside_an_extension_element_is_skipped() {
    let deep = nested(200_000, "<x:a>", "</x:a>");
    let inner = format!(r#"{}<x:ext xmlns:x="urn:x">{deep}</x:ext>"#, minimal());
    assert!(technical(envelope(&inner).as_bytes()).contains("max_element_depth"));
    let c = checked_deep(&envelope(&inner));
    assert!(c.violations.is_empty(), "{:?}", c.violations);
    assert_eq!(c.scenario, Scenario::NoInformation);
    // Also with a namespace declaration at every level.
    let deep = nested(100_000, r#"<y:a xmlns:y="urn:y">"#, "</y:a>");
    let c = checked_deep(&envelope(&format!(
        r#"{}<x:ext xmlns:x="urn:x">{deep}</x:ext>"#,
        minimal()
    )));
    assert!(c.violations.is_empty(), "{:?}", c.violations);
}

#[test]
fn deep_nesting_inside_declared_elements_is_reported_not_read() {
    let deep = nested(200_000, "<c:name>", "</c:name>");
    let inner = minimal().replace("Region TSTNMT2321000156-R12", &deep);
    let c = checked_deep(&envelope(&inner));
    assert_eq!(
        paths(&c),
        ["cervixScreeningInformation/sendingRegion/region/name"]
    );
    assert!(
        c.violations[0]
            .message
            .contains("must not contain elements"),
        "{}",
        c.violations[0].message
    );
    // Deep in element-only content: the first surplus element is reported.
    let deep = nested(200_000, "<c:personId>", "</c:personId>");
    let inner = minimal().replace("<c:personId>", &format!("<c:personId>{deep}"));
    let c = checked_deep(&envelope(&inner));
    assert_eq!(
        paths(&c),
        ["cervixScreeningInformation/subjectOfCare/personId/personId"]
    );
    // In an undeclared element, and directly under the body element.
    let deep = nested(200_000, "<c:z>", "</c:z>");
    let c = checked_deep(&envelope(&format!("{}{deep}", minimal())));
    assert_eq!(paths(&c), ["cervixScreeningInformation/z"]);
    let c = checked_deep(&body(&format!(
        "<r:cervixScreeningInformation>{}</r:cervixScreeningInformation>{}",
        minimal(),
        nested(200_000, "<r:q>", "</r:q>")
    )));
    assert_eq!(paths(&c), ["q"]);
    // Unclosed deep nesting is technical.
    let deep = "<c:a>".repeat(200_000);
    technical(envelope(&deep).as_bytes());
}

#[test]
fn report_lists_every_violation() {
    let vs = [
        Violation {
            path: "a".into(),
            message: "x".into(),
        },
        Violation {
            path: "b/c".into(),
            message: "y".into(),
        },
    ];
    assert_eq!(
        report(&vs, 0),
        "2 violation(s) of ProcessCervixScreeningInformation 1.0 (schema and TKB rules):\na: x\nb/c: y"
    );
}

// ---- the shared fixtures -------------------------------------------------------------------

/// Every file in `fixtures/messages/{valid,invalid,technical}/` against the machine-readable
/// lines of its leading comment (see `fixtures/messages/README.md`): `scenario:` for a valid
/// one, `expect: <path>` (all of them, in order) for an invalid one, `expect: fault` for a
/// technical one.
#[test]
fn every_message_fixture_gives_what_its_comment_expects() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/messages");
    let mut mismatches = Vec::new();
    let mut seen = 0;
    for kind in ["valid", "invalid", "technical"] {
        let Ok(dir) = std::fs::read_dir(root.join(kind)) else {
            continue;
        };
        let mut files: Vec<_> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "xml"))
            .collect();
        files.sort();
        for file in files {
            seen += 1;
            let name = format!("{kind}/{}", file.file_name().unwrap().to_string_lossy());
            let bytes = std::fs::read(&file).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            let comment = text
                .find("<!--")
                .and_then(|a| text[a..].find("-->").map(|b| &text[a..a + b]))
                .unwrap_or("");
            let lines = |key: &str| -> Vec<String> {
                comment
                    .lines()
                    .filter_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_owned()))
                    .collect()
            };
            let outcome = validate(&bytes, &CodeLists::default());
            match (kind, outcome) {
                ("technical", Outcome::Technical(_)) => {}
                ("valid", Outcome::Checked(c)) => {
                    let expected = lines("scenario:");
                    if !c.violations.is_empty()
                        || expected.first().map(String::as_str) != Some(c.scenario.as_str())
                    {
                        mismatches.push(format!(
                            "{name}: scenario {} (expected {expected:?}), violations {:#?}",
                            c.scenario, c.violations
                        ));
                    }
                }
                ("invalid", Outcome::Checked(c)) => {
                    let expected = lines("expect:");
                    if paths(&c) != expected {
                        mismatches.push(format!(
                            "{name}: expected {expected:#?}, got {:#?}",
                            c.violations
                        ));
                    }
                }
                (_, outcome) => mismatches.push(format!("{name}: {outcome:?}")),
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));
    if root.exists() {
        assert!(seen > 0, "no fixtures in {}", root.display());
    }
}

#[test]
fn many_siblings_are_checked_in_linear_time() {
    let groups = follow_up("59461000052109").repeat(20_000);
    let c = checked(&envelope(&format!(
        "{}{groups}{}",
        minimal(),
        follow_up("1")
    )));
    assert_eq!(
        paths(&c),
        ["cervixScreeningInformation/followUpGroups[20001]/type/code"]
    );
    let junk = "<c:x/>".repeat(50_000);
    let c = checked(&envelope(&format!("{}{junk}", minimal())));
    assert_eq!(c.violations.len(), DEFAULT_MAX_VIOLATIONS);
    assert_eq!(c.violations_omitted, 50_000 - DEFAULT_MAX_VIOLATIONS);
}

#[test]
fn the_report_lists_at_most_max_reported_violations() {
    let many: Vec<Violation> = (0..MAX_REPORTED + 5)
        .map(|i| Violation {
            path: format!("cervixScreeningInformation/x{i}"),
            message: "unexpected".into(),
        })
        .collect();
    let r = report(&many, 0);
    assert_eq!(r.lines().count(), 1 + MAX_REPORTED + 1);
    assert!(r.starts_with(&format!("{} violation(s)", MAX_REPORTED + 5)));
    assert!(
        r.ends_with("... and 5 more violation(s), not listed"),
        "{}",
        &r[r.len() - 80..]
    );
}

// ---- limits --------------------------------------------------------------------------------

/// A body element with `n` attributes `a0="v" a1="v" ...`.
fn with_attributes(n: usize) -> String {
    let attrs: String = (0..n).map(|i| format!(" a{i}=\"v\"")).collect();
    body(&format!(
        "<r:cervixScreeningInformation{attrs}>{}</r:cervixScreeningInformation>",
        minimal()
    ))
}

#[test]
fn attributes_up_to_the_limit_are_judged_and_more_are_refused_naming_the_limit() {
    // The body element declares two namespaces: 254 attributes more are the limit.
    let at_limit = checked(&body(&format!(
        "<r:cervixScreeningInformation{}>{}</r:cervixScreeningInformation>",
        (0..DEFAULT_MAX_ATTRIBUTES)
            .map(|i| format!(" a{i}=\"v\""))
            .collect::<String>(),
        minimal()
    )));
    assert_eq!(at_limit.violations.len(), DEFAULT_MAX_ATTRIBUTES);
    let why = technical(with_attributes(DEFAULT_MAX_ATTRIBUTES + 1).as_bytes());
    assert!(
        why.starts_with("The message exceeds a limit of the mock producers: `<r:cervixScreeningInformation>` has more than 256 attributes"),
        "{why}"
    );
    assert!(
        why.contains("mock_producers.max_attributes_per_element") && why.contains("[row,col]: [2,"),
        "{why}"
    );
    // Namespace declarations count too.
    let decls: String = (0..300)
        .map(|i| format!(" xmlns:p{i}=\"urn:x:{i}\""))
        .collect();
    let why = technical(body(&format!("<r:cervixScreeningInformation{decls}/>")).as_bytes());
    assert!(why.contains("more than 256 attributes"), "{why}");
}

#[test]
fn many_attributes_cost_linear_time_and_duplicates_are_still_found() {
    // 15,000 attributes (the issue's attack) under a limit raised to let them in: the check
    // of expanded names is a set, so this is quick; a duplicate at the end is found.
    let limits = Limits {
        max_attributes: 100_000,
        ..Limits::default()
    };
    let mut attrs: String = (0..15_000).map(|i| format!(" c:a{i}=\"v\"")).collect();
    attrs.push_str(" x:a14999=\"w\"");
    let xml = body(&format!(
        "<r:cervixScreeningInformation xmlns:x=\"{CORE_NS}\"{attrs}>{}</r:cervixScreeningInformation>",
        minimal()
    ));
    match validate_with(xml.as_bytes(), &CodeLists::default(), &limits) {
        Outcome::Technical(why) => assert!(
            why.contains(&format!("the attribute {{{CORE_NS}}}a14999 appears twice")),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn elements_deeper_than_the_limit_are_refused_naming_the_limit() {
    let nest = |n: usize| format!("{}{}", "<c:x>".repeat(n), "</c:x>".repeat(n));
    // The body element is at level 3, cervixScreeningInformation at 4: 252 more fit.
    let fits = checked(&envelope(&format!("{}{}", minimal(), nest(252))));
    assert_eq!(fits.violations.len(), 1);
    let why = technical(envelope(&format!("{}{}", minimal(), nest(253))).as_bytes());
    assert!(
        why.starts_with("The message exceeds a limit of the mock producers: `<c:x>` is nested 257 elements deep; the mock producers accept at most 256 levels (mock_producers.max_element_depth)"),
        "{why}"
    );
    let shallow = Limits {
        max_depth: 9,
        ..Limits::default()
    };
    match validate_with(request_bytes().as_slice(), &CodeLists::default(), &shallow) {
        Outcome::Checked(c) => assert!(c.violations.is_empty(), "{:?}", c.violations),
        other => panic!("the contract's deepest element is at level 9: {other:?}"),
    }
}

fn request_bytes() -> Vec<u8> {
    request("01", Profile::Bp21, "199001012384", "01").into_bytes()
}

#[test]
fn violations_past_the_limit_are_counted_not_kept() {
    let limits = Limits {
        max_violations: 3,
        ..Limits::default()
    };
    let junk = "<c:x/>".repeat(10);
    let xml = envelope(&format!("{}{junk}", minimal()));
    let Outcome::Checked(c) = validate_with(xml.as_bytes(), &CodeLists::default(), &limits) else {
        panic!("technical");
    };
    assert_eq!(c.violations.len(), 3);
    assert_eq!(c.violations_omitted, 7);
    let r = report(&c.violations, c.violations_omitted);
    assert!(r.starts_with("10 violation(s)"), "{r}");
    assert!(
        r.ends_with("\n... and 7 more violation(s), not listed"),
        "{r}"
    );
}
