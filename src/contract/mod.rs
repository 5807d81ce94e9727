//! The service contract (tjänstekontrakt) ProcessCervixScreeningInformation: its names, the
//! county codes that address it, and its messages.
//!
//! [`request`] writes a minimal valid request (the woman's personnummer and the sending region,
//! "no invitation information"), [`response`] the producer's answer, and [`parse_response`]
//! reads an answer back by streaming. This module does no IO and does not validate requests
//! against the schema or the contract's rules; the mock producers do that.

pub mod validate;

use quick_xml::{events::Event, reader::Reader};

use crate::soap::{Profile, escape_text};
use crate::vocab::{REGISTRY_NS, SOAP11_NS, WSA_NS};

/// The responder (service schema) namespace: what VP routes on.
pub const RESPONDER_NS: &str = "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1";
/// The core components namespace: everything below `cervixScreeningInformation`.
pub const CORE_NS: &str = "urn:riv:clinicalprocess:logistics:cervixscreening:1";
/// The WSDL (interaction) target namespace.
pub const WSDL_NS: &str = "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformation:1:rivtabp21";
/// The SOAPAction of the operation (forwarded by VP, never used for routing).
pub const SOAP_ACTION: &str = "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1:ProcessCervixScreeningInformation";
/// The operation, i.e. the local name of the request's body element.
pub const OPERATION: &str = "ProcessCervixScreeningInformation";
/// The logical address (and HSA-id) of the platform's mock producer in the test environment.
pub const LOAD_MOCKS: &str = "LOAD-MOCKS";
/// The newer name of the platform's mock producer (`LOAD-MOCKS`), in the test environment.
pub const NTJP_MOCKS: &str = "NTJP-MOCKS";
/// OID of Swedish personnummer (`personId/root`).
pub const PERSONNUMMER_OID: &str = "1.2.752.129.2.1.3.1";
/// OID of HSA-ids (organisation `id/root`).
pub const HSA_ID_OID: &str = "1.2.752.129.2.1.4.1";

/// The 21 current county codes (länskod), the logical addresses of this contract, with the name
/// of the region each one addresses. Retired codes (02, 11, 15, 16) and 00 are not regions.
pub const COUNTY_CODES: [(&str, &str); 21] = [
    ("01", "Region Stockholm"),
    ("03", "Region Uppsala"),
    ("04", "Region Sörmland"),
    ("05", "Region Östergötland"),
    ("06", "Region Jönköpings län"),
    ("07", "Region Kronoberg"),
    ("08", "Region Kalmar län"),
    ("09", "Region Gotland"),
    ("10", "Region Blekinge"),
    ("12", "Region Skåne"),
    ("13", "Region Halland"),
    ("14", "Västra Götalandsregionen"),
    ("17", "Region Värmland"),
    ("18", "Region Örebro län"),
    ("19", "Region Västmanland"),
    ("20", "Region Dalarna"),
    ("21", "Region Gävleborg"),
    ("22", "Region Västernorrland"),
    ("23", "Region Jämtland Härjedalen"),
    ("24", "Region Västerbotten"),
    ("25", "Region Norrbotten"),
];

/// The region name for a county code, if it is a current one.
pub fn region_name(code: &str) -> Option<&'static str> {
    COUNTY_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// The HSA-id this test bed gives the region with a county code: a synthetic test id in the
/// style of NTjP's test data (`TSTNMT2321000156-…`), never a real organisation's.
pub fn region_hsa_id(code: &str) -> String {
    format!("TSTNMT2321000156-R{code}")
}

/// The response's `resultCode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResultCode {
    /// The transaction was carried out as asked.
    Ok,
    /// Carried out, with a message the consumer must show the user.
    Info,
    /// Not carried out because of a logical error (e.g. a validation report); the message counts
    /// as not received.
    Error,
}

impl ResultCode {
    /// `OK`, `INFO` or `ERROR`, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ResultCode::Ok => "OK",
            ResultCode::Info => "INFO",
            ResultCode::Error => "ERROR",
        }
    }

    /// The code for its wire form (exact, as the schema's enumeration).
    pub fn parse(s: &str) -> Option<ResultCode> {
        [ResultCode::Ok, ResultCode::Info, ResultCode::Error]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for ResultCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A whole SOAP 1.1 response envelope: `ProcessCervixScreeningInformationResponse` with
/// `resultCode` and, when given, `resultText` (escaped). The contract requires a text for INFO
/// and ERROR; that is the caller's to supply.
pub fn response(code: ResultCode, text: Option<&str>) -> String {
    let text = text
        .map(|t| format!("<resultText>{}</resultText>", escape_text(t)))
        .unwrap_or_default();
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soap:Envelope xmlns:soap="{soap}"><soap:Header/><soap:Body>"#,
            r#"<ProcessCervixScreeningInformationResponse xmlns="{ns}">"#,
            "<resultCode>{code}</resultCode>{text}",
            "</ProcessCervixScreeningInformationResponse></soap:Body></soap:Envelope>"
        ),
        soap = SOAP11_NS,
        ns = RESPONDER_NS,
        code = code.as_str(),
        text = text,
    )
}

/// A minimal valid request envelope: the woman (`personnummer`, 12 digits) and the sending
/// region (`region_code`, a county code; its HSA-id from [`region_hsa_id`] and its name from
/// [`COUNTY_CODES`], or `Region <code>` for a code not in it), addressed to `logical_address`
/// in a BP21 `LogicalAddress` or BP20 `wsa:To` header. All values are escaped, none checked.
pub fn request(
    logical_address: &str,
    profile: Profile,
    personnummer: &str,
    region_code: &str,
) -> String {
    let address = escape_text(logical_address);
    let header = match profile {
        Profile::Bp21 => {
            format!(r#"<LogicalAddress xmlns="{REGISTRY_NS}">{address}</LogicalAddress>"#)
        }
        Profile::Bp20 => format!(r#"<wsa:To xmlns:wsa="{WSA_NS}">{address}</wsa:To>"#),
    };
    let name =
        region_name(region_code).map_or_else(|| format!("Region {region_code}"), str::to_owned);
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soap:Envelope xmlns:soap="{soap}"><soap:Header>{header}</soap:Header><soap:Body>"#,
            r#"<urn:ProcessCervixScreeningInformation xmlns:urn="{responder}" xmlns:urn1="{core}">"#,
            "<urn:cervixScreeningInformation>",
            "<urn1:subjectOfCare><urn1:personId><urn1:root>{pn_oid}</urn1:root>",
            "<urn1:extension>{pn}</urn1:extension></urn1:personId></urn1:subjectOfCare>",
            "<urn1:sendingRegion><urn1:region><urn1:id><urn1:root>{hsa_oid}</urn1:root>",
            "<urn1:extension>{hsa}</urn1:extension></urn1:id><urn1:name>{name}</urn1:name>",
            "</urn1:region></urn1:sendingRegion>",
            "</urn:cervixScreeningInformation></urn:ProcessCervixScreeningInformation>",
            "</soap:Body></soap:Envelope>"
        ),
        soap = SOAP11_NS,
        header = header,
        responder = RESPONDER_NS,
        core = CORE_NS,
        pn_oid = PERSONNUMMER_OID,
        pn = escape_text(personnummer),
        hsa_oid = HSA_ID_OID,
        hsa = escape_text(&region_hsa_id(region_code)),
        name = escape_text(&name),
    )
}

/// Reads a response by streaming: the `resultCode` and `resultText` of
/// `ProcessCervixScreeningInformationResponse` (matched by local name). `None` when there is no
/// such element, its `resultCode` is missing or not OK/INFO/ERROR (surrounding whitespace
/// allowed), or the XML breaks before the element ends. `resultText` is returned as written.
pub fn parse_response(xml: &[u8]) -> Option<(ResultCode, Option<String>)> {
    let mut reader = Reader::from_reader(xml);
    let mut depth = 0usize;
    // Depth of the response element once seen.
    let mut response_at: Option<usize> = None;
    // Which child's text is being read: true = resultCode, false = resultText.
    let mut reading: Option<bool> = None;
    let (mut code, mut text) = (None::<String>, None::<String>);

    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                depth += 1;
                let local = e.local_name().into_inner();
                match response_at {
                    None if local == "ProcessCervixScreeningInformationResponse" => {
                        response_at = Some(depth)
                    }
                    Some(r) if depth == r + 1 => {
                        reading = match local {
                            "resultCode" => Some(true),
                            "resultText" => Some(false),
                            _ => None,
                        };
                        match reading {
                            Some(true) => code = Some(String::new()),
                            Some(false) => text = Some(String::new()),
                            None => {}
                        }
                    }
                    _ => {}
                }
            }
            Event::Empty(e) => {
                let local = e.local_name().into_inner();
                match response_at {
                    None if local == "ProcessCervixScreeningInformationResponse" => return None,
                    Some(r) if depth == r && local == "resultText" => text = Some(String::new()),
                    _ => {}
                }
            }
            Event::End(_) => {
                if response_at == Some(depth) {
                    break;
                }
                if response_at.is_some_and(|r| depth == r + 1) {
                    reading = None;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Text(t) => push(reading, &mut code, &mut text, &t.xml10_content()),
            Event::CData(t) => push(reading, &mut code, &mut text, &t.xml10_content()),
            Event::GeneralRef(r) => {
                let resolved = crate::soap::ref_text(&r)?;
                push(reading, &mut code, &mut text, &resolved);
            }
            Event::Eof => return None,
            _ => {}
        }
    }
    Some((ResultCode::parse(code?.trim())?, text))
}

fn push(reading: Option<bool>, code: &mut Option<String>, text: &mut Option<String>, s: &str) {
    let target = match reading {
        Some(true) => code,
        Some(false) => text,
        None => return,
    };
    target.get_or_insert_default().push_str(s);
}

/// PingForConfiguration's responder namespace: the monitoring contract every producer offers.
pub const PING_NS: &str = "urn:riv:itintegration:monitoring:PingForConfigurationResponder:1";

/// A PingForConfiguration request to `logical_address` (RIVTABP21), as the platform's
/// operators send after configuring a producer.
pub fn ping_request(logical_address: &str) -> String {
    let la = escape_text(logical_address);
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soap:Envelope xmlns:soap="{soap}" xmlns:reg="urn:riv:itintegration:registry:1" xmlns:ping="{ns}">"#,
            "<soap:Header><reg:LogicalAddress>{la}</reg:LogicalAddress></soap:Header>",
            "<soap:Body><ping:PingForConfiguration><ping:serviceContractNamespace>{contract}</ping:serviceContractNamespace>",
            "<ping:logicalAddress>{la}</ping:logicalAddress></ping:PingForConfiguration></soap:Body></soap:Envelope>"
        ),
        soap = SOAP11_NS,
        ns = PING_NS,
        contract = RESPONDER_NS,
        la = la,
    )
}

/// A PingForConfiguration answer: `version`, `pingDateTime` (`YYYYMMDDhhmmss`) and
/// `configuration` name/value pairs.
pub fn ping_response(
    version: &str,
    ping_date_time: &str,
    configuration: &[(&str, &str)],
) -> String {
    let config: String = configuration
        .iter()
        .map(|(n, v)| {
            format!(
                "<configuration><name>{}</name><value>{}</value></configuration>",
                escape_text(n),
                escape_text(v)
            )
        })
        .collect();
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soap:Envelope xmlns:soap="{soap}"><soap:Header/><soap:Body>"#,
            r#"<PingForConfigurationResponse xmlns="{ns}"><version>{version}</version><pingDateTime>{at}</pingDateTime>{config}</PingForConfigurationResponse>"#,
            "</soap:Body></soap:Envelope>"
        ),
        soap = SOAP11_NS,
        ns = PING_NS,
        version = escape_text(version),
        at = escape_text(ping_date_time),
        config = config,
    )
}

/// The `version` of a PingForConfigurationResponse, if `xml` is one.
pub fn parse_ping_response(xml: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(xml).ok()?;
    let start = text.find("PingForConfigurationResponse")?;
    let rest = &text[start..];
    let open = rest.find("version>")? + "version>".len();
    let close = rest[open..].find('<')?;
    Some(rest[open..open + close].trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::sniff;

    #[test]
    fn county_codes_are_the_current_ones() {
        let codes: Vec<&str> = COUNTY_CODES.iter().map(|(c, _)| *c).collect();
        assert_eq!(
            codes,
            [
                "01", "03", "04", "05", "06", "07", "08", "09", "10", "12", "13", "14", "17", "18",
                "19", "20", "21", "22", "23", "24", "25"
            ]
        );
        assert_eq!(region_name("12"), Some("Region Skåne"));
        for retired in ["00", "02", "11", "15", "16"] {
            assert_eq!(region_name(retired), None);
        }
    }

    #[test]
    fn request_sniffs_as_addressed() {
        for (profile, address) in [
            (Profile::Bp21, "01"),
            (Profile::Bp20, "01"),
            (Profile::Bp21, LOAD_MOCKS),
        ] {
            let xml = request(address, profile, "191212121212", "12");
            let s = sniff(xml.as_bytes()).unwrap();
            assert_eq!(s.profile, Some(profile));
            assert_eq!(s.logical_address.as_deref(), Some(address));
            assert_eq!(s.contract.as_deref(), Some(RESPONDER_NS));
            assert_eq!(s.operation.as_deref(), Some(OPERATION));
        }
    }

    #[test]
    fn request_has_the_contract_elements_in_order() {
        let xml = request("01", Profile::Bp21, "191212121212", "12");
        let order = [
            "<urn:cervixScreeningInformation>",
            "<urn1:subjectOfCare><urn1:personId><urn1:root>1.2.752.129.2.1.3.1</urn1:root><urn1:extension>191212121212</urn1:extension>",
            "<urn1:sendingRegion><urn1:region><urn1:id><urn1:root>1.2.752.129.2.1.4.1</urn1:root><urn1:extension>TSTNMT2321000156-R12</urn1:extension></urn1:id><urn1:name>Region Skåne</urn1:name>",
        ];
        let mut at = 0;
        for part in order {
            let found = xml[at..]
                .find(part)
                .unwrap_or_else(|| panic!("{part} missing in {xml}"));
            at += found + part.len();
        }
        assert!(xml.contains(&format!(r#"xmlns:urn1="{CORE_NS}""#)));
    }

    #[test]
    fn request_escapes_its_values() {
        let xml = request("a<&b", Profile::Bp20, "1&2", "x");
        let s = sniff(xml.as_bytes()).unwrap();
        assert_eq!(s.logical_address.as_deref(), Some("a<&b"));
        assert!(xml.contains("<urn1:name>Region x</urn1:name>"));
        assert!(xml.contains("<urn1:extension>1&amp;2</urn1:extension>"));
    }

    #[test]
    fn response_round_trips() {
        let ok = response(ResultCode::Ok, None);
        assert!(ok.contains(&format!(
            r#"<ProcessCervixScreeningInformationResponse xmlns="{RESPONDER_NS}"><resultCode>OK</resultCode></ProcessCervixScreeningInformationResponse>"#
        )));
        assert_eq!(parse_response(ok.as_bytes()), Some((ResultCode::Ok, None)));
        let err = response(
            ResultCode::Error,
            Some("personId/extension: <ogiltigt> & fel"),
        );
        assert!(
            err.contains("<resultText>personId/extension: &lt;ogiltigt&gt; &amp; fel</resultText>")
        );
        assert_eq!(
            parse_response(err.as_bytes()),
            Some((
                ResultCode::Error,
                Some("personId/extension: <ogiltigt> & fel".to_owned())
            ))
        );
        let info = response(ResultCode::Info, Some("Observera"));
        assert_eq!(
            parse_response(info.as_bytes()),
            Some((ResultCode::Info, Some("Observera".to_owned())))
        );
    }

    #[test]
    fn parses_prefixed_responses_and_rejects_others() {
        let xml = format!(
            r#"<s:Envelope xmlns:s="{SOAP11_NS}"><s:Body><r:ProcessCervixScreeningInformationResponse xmlns:r="{RESPONDER_NS}"><r:resultCode> INFO </r:resultCode><r:resultText>a&#x20;b</r:resultText><x:ext xmlns:x="urn:x"><x:resultCode>ERROR</x:resultCode></x:ext></r:ProcessCervixScreeningInformationResponse></s:Body></s:Envelope>"#
        );
        assert_eq!(
            parse_response(xml.as_bytes()),
            Some((ResultCode::Info, Some("a b".to_owned())))
        );
        assert_eq!(parse_response(b"<Envelope><Body/></Envelope>"), None);
        let bad = response(ResultCode::Ok, None).replace(">OK<", ">FINE<");
        assert_eq!(parse_response(bad.as_bytes()), None);
        assert_eq!(parse_response(b"garbage"), None);
    }

    fn fixture_sniffs(xml: &str, profile: Profile, address: &str) {
        let s = sniff(xml.as_bytes()).unwrap();
        assert_eq!(s.profile, Some(profile));
        assert_eq!(s.logical_address.as_deref(), Some(address));
        assert_eq!(s.contract.as_deref(), Some(RESPONDER_NS));
        assert_eq!(s.operation.as_deref(), Some(OPERATION));
        // The whole fixture is well-formed, not just up to the body.
        let mut reader = Reader::from_str(xml);
        loop {
            match reader.read_event() {
                Ok(Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("fixture not well-formed: {e}"),
            }
        }
    }

    #[test]
    fn fixtures_sniff_correctly() {
        fixture_sniffs(
            include_str!("../../fixtures/requests/cervix-01.xml"),
            Profile::Bp21,
            "01",
        );
        fixture_sniffs(
            include_str!("../../fixtures/requests/cervix-load-mocks.xml"),
            Profile::Bp21,
            LOAD_MOCKS,
        );
        fixture_sniffs(
            include_str!("../../fixtures/requests/cervix-01-rivtabp20.xml"),
            Profile::Bp20,
            "01",
        );
    }
}
