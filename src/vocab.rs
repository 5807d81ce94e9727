//! Shared vocabulary: the words several parts must spell the same way — environment names,
//! the platform's HTTP header names and content types, XML namespaces, and the care
//! programme's code lists with the contract check's default limits.
//!
//! It imports nothing of this crate, so that every part, the pure core and `config`
//! included, may import it without pulling anything else in (`tests/module_rules.rs` keeps
//! it so). Not here: a word only one part uses (it stays beside its use), and behaviour:
//! these are names and plain data.

use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------
// Environments

/// The platform's time zone, whose calendar day is "today" unless `clock.time_zone` says
/// otherwise: the real platform runs in Swedish time.
pub const PLATFORM_TIME_ZONE: &str = "Europe/Stockholm";

/// The name of an environment, as used in URLs, flags and `endpoints.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvName {
    /// First test environment.
    Sit,
    /// End-to-end test environment.
    Qa,
    /// Production.
    Prod,
}

impl EnvName {
    /// All environments, in start-up order.
    pub const ALL: [EnvName; 3] = [EnvName::Sit, EnvName::Qa, EnvName::Prod];

    /// Lower-case name: `sit`, `qa`, `prod`.
    pub fn as_str(self) -> &'static str {
        match self {
            EnvName::Sit => "sit",
            EnvName::Qa => "qa",
            EnvName::Prod => "prod",
        }
    }
}

impl std::fmt::Display for EnvName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EnvName {
    type Err = String;

    /// `sit`, `qa` or `prod`, in any case (as a flag value); the error names the input.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "sit" => Ok(EnvName::Sit),
            "qa" => Ok(EnvName::Qa),
            "prod" => Ok(EnvName::Prod),
            other => Err(format!(
                "unknown environment {other:?}: use sit, qa or prod"
            )),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP header names (lower case, as `http::HeaderName` holds them)

/// `x-skltp-correlation-id`: kept from the request, else a new UUID; always returned.
pub const CORRELATION_ID: &str = "x-skltp-correlation-id";
/// `x-skltp-prt`: producer response time in ms, added to the consumer's answer.
pub const PRODUCER_RESPONSE_TIME: &str = "x-skltp-prt";
/// `x-vp-sender-id`: the consumer, from an internal caller, and towards `http://` producers.
pub const SENDER_ID: &str = "x-vp-sender-id";
/// `x-vp-instance-id`: the platform instance an internal caller claims to be.
pub const INSTANCE_ID: &str = "x-vp-instance-id";
/// `x-vp-auth-cert`: a consumer certificate forwarded by a TLS-terminating proxy.
pub const AUTH_CERT: &str = "x-vp-auth-cert";
/// `x-rivta-original-serviceconsumer-hsaid`: the consumer a call is made for.
pub const ORIGINAL_CONSUMER: &str = "x-rivta-original-serviceconsumer-hsaid";
/// `x-rivta-routing-history`: `#`-separated platforms a call passed.
pub const ROUTING_HISTORY: &str = "x-rivta-routing-history";
/// `X-Forwarded-For`, checked against the whitelist for internal calls.
pub const FORWARDED_FOR: &str = "x-forwarded-for";
/// The testbed's own response header naming the logical address of the mock that answered.
pub const MOCK_ADDRESS: &str = "x-ntjp-mock-address";

// ---------------------------------------------------------------------------------------------
// Content types

/// Content type of SOAP 1.1 messages: what the consumers, the mocks and TAK's read APIs
/// send, and what VP returns to a consumer.
pub const SOAP_CONTENT_TYPE: &str = "text/xml; charset=UTF-8";
/// Content type of what VP sends a producer (without the space, as the real VP writes it).
pub const SOAP_CONTENT_TYPE_TO_PRODUCER: &str = "text/xml;charset=UTF-8";

// ---------------------------------------------------------------------------------------------
// XML namespaces

/// SOAP 1.1 envelope namespace.
pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP 1.2 envelope namespace (TAK's read APIs accept it; the testbed answers SOAP 1.1).
pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// RIVTABP20's address header namespace (WS-Addressing 1.0, element `To`).
pub const WSA_NS: &str = "http://www.w3.org/2005/08/addressing";
/// RIVTABP21's address header namespace (element `LogicalAddress`).
pub const REGISTRY_NS: &str = "urn:riv:itintegration:registry:1";
/// `xml:` is bound to this namespace without a declaration, and may not be bound otherwise.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// `xmlns:` is bound to this namespace, and may not be declared.
pub const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";
/// XML Schema instance (`xsi:type`, `xsi:nil`).
pub const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

// ---------------------------------------------------------------------------------------------
// The contract check's settings
//
// These are here, not in `contract::validate` or `config::mocks`, because both need them:
// the check applies them and the configuration carries them (TOML `[mock_producers]`), and
// `config` may import nothing but this module while the pure core may not import `config`.

/// SNOMED CT, the code system of every CV in ProcessCervixScreeningInformation.
pub const SNOMED_CT_OID: &str = "1.2.752.116.2.1.1";

/// Default of the check's limit on attributes per element. Real XML stacks bound this too:
/// Apache CXF (its StAX limits over Woodstox) 500, the JDK's `jdk.xml.elementAttributeLimit`
/// 10,000; no element of this contract has any attribute beyond namespace declarations and
/// `xsi:type`.
pub const DEFAULT_MAX_ATTRIBUTES: usize = 256;

/// Default of the check's limit on element depth: libxml2's limit without `XML_PARSE_HUGE`
/// and MSXML 6's `MaxElementDepth` (Apache CXF's is 100); the contract's deepest element is at
/// level 9.
pub const DEFAULT_MAX_DEPTH: usize = 256;

/// Default of the number of violations the check keeps per message.
pub const DEFAULT_MAX_VIOLATIONS: usize = 1000;

/// The care programme's code lists the mock producers check. The TKB says the selection "kan
/// komma att förändras vid förändringar i vårdprogrammet", so they are configuration, with
/// the TKB's lists as defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodeLists {
    /// `codeSystem` every CV must carry (SNOMED CT).
    pub code_system: String,
    /// `exclusion/reason/code`.
    pub exclusion_reasons: Vec<String>,
    /// `followUpGroups/type/code`.
    pub follow_up_groups: Vec<String>,
    /// `specimen/HPVstatusList/value/code`.
    pub hpv_statuses: Vec<String>,
}

impl Default for CodeLists {
    fn default() -> Self {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect();
        CodeLists {
            code_system: SNOMED_CT_OID.to_string(),
            exclusion_reasons: v(&["31021000119100", "116140006", "702371008"]),
            follow_up_groups: v(&[
                "59461000052109",
                "59291000052102",
                "59321000052109",
                "59301000052103",
            ]),
            hpv_statuses: v(&[
                "59291000052102",
                "59321000052109",
                "59301000052103",
                "59311000052101",
            ]),
        }
    }
}
