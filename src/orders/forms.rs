//! The forms of Beställningsstödet (the ordering tool): system information (systeminformation),
//! pre-studies (förstudier), the consumer order and the producer order.
//!
//! A form is typed input (it arrives as JSON over the admin API or from CLI flags). [`Forms`]
//! checks it against the rules of Beställningsstödet's procedure — the system is registered for
//! the environment, an approved pre-study exists, one order per system, connection type and
//! environment, a producer is addressed by a current county code, one producing system per
//! county and contract, `LOAD-MOCKS` only in SIT, RIVTABP21 only, TAK's URL rule — and turns it
//! into a real-format JSON order ([`PreparedOrder::json`]): the same JSON a user could submit raw,
//! shown to the user. Every [`FormError`] names the offending input and says what to do.
//!
//! What it does not do: it does not submit or execute orders (the caller passes the JSON to
//! [`crate::orders::parse`] and [`crate::orders::apply`], and then calls [`Forms::record`]), it
//! repeats none of TAK's own validation beyond what gives a clearer message here, and it is a pure
//! core: no IO, no clock (times and days are passed in), no router.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::format::{AuthorisationItem, ContractItem, PlainItem, RouteItem, Section};
use crate::{
    contract::{COUNTY_CODES, LOAD_MOCKS, NTJP_MOCKS, RESPONDER_NS},
    tak::{Store, Validity},
    vocab::EnvName,
};

/// The only RIVTA profile of ProcessCervixScreeningInformation.
const PROFILE: &str = "RIVTABP21";
/// The mock producer's addresses: `LOAD-MOCKS` and its newer name. They exist in SIT only.
const MOCK_ADDRESSES: [&str; 2] = [LOAD_MOCKS, NTJP_MOCKS];
// The national level, the root of the HSA tree: an authorisation to `SE` is the open
// authorisation to every region.
use crate::tak::snapshot::HSA_ROOT as NATIONAL;
/// TAK keeps at most this many characters of a description or comment.
const TAK_TEXT_MAX: usize = 255;

/// A contact person (kontaktperson).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Namn.
    pub name: String,
    /// E-post.
    pub email: String,
    /// Telefon (optional).
    #[serde(default)]
    pub phone: Option<String>,
}

/// Systeminformation: a system, registered per environment before anything is ordered for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemInfo {
    /// Organisation.
    pub organisation: String,
    /// Systemnamn.
    pub system_name: String,
    /// HSA-id, as in the system's function certificate (funktionscertifikat).
    pub hsa_id: String,
    /// Huvudkontakt.
    pub main_contact: Contact,
    /// Teknisk kontakt.
    pub technical_contact: Contact,
    /// Miljö.
    pub environment: EnvName,
}

/// Förstudie: a pre-study by its case number and the environments it approves connection to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreStudy {
    /// Ärendenummer.
    pub case_number: String,
    /// Organisation.
    pub organisation: String,
    /// Godkänd för miljö: the environments the connection is approved for.
    pub approved_for: Vec<EnvName>,
}

/// Beställning av anslutning som tjänstekonsument: the consumer order form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerForm {
    /// Miljö.
    pub environment: EnvName,
    /// Genomförandedatum: the first day of the authorisations.
    pub execution_date: NaiveDate,
    /// Tjänstekonsument: the consumer system's HSA-id.
    pub consumer_hsa_id: String,
    /// Tjänstekontrakt (responder namespace); default ProcessCervixScreeningInformation v1.
    #[serde(default = "default_contract")]
    pub contract: String,
    /// Logiska adresser; empty = the default: `SE` (national level, open authorisation), plus
    /// `LOAD-MOCKS` in SIT.
    #[serde(default)]
    pub logical_addresses: Vec<String>,
    /// Förstudiens ärendenummer.
    pub prestudy_case: String,
    /// Regionens namn, when an agent (ombud) orders on a region's behalf.
    #[serde(default)]
    pub region_name: Option<String>,
    /// Beställare: who orders (the order's `utforare`).
    #[serde(default = "default_ordered_by")]
    pub ordered_by: String,
}

/// Beställning av anslutning som tjänsteproducent: the producer order form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerForm {
    /// Miljö.
    pub environment: EnvName,
    /// Genomförandedatum: the first day of the route.
    pub execution_date: NaiveDate,
    /// Tjänsteproducent: the producing system's HSA-id.
    pub producer_hsa_id: String,
    /// Tjänstekontrakt (responder namespace); default ProcessCervixScreeningInformation v1.
    #[serde(default = "default_contract")]
    pub contract: String,
    /// Logisk adress = länskod: the region's two-digit county code, not an HSA-id.
    pub county_code: String,
    /// RIV-TA-profil; must be `RIVTABP21`.
    #[serde(default = "default_profile")]
    pub rivta_profile: String,
    /// Adress (URL) the platform shall call.
    pub url: String,
    /// Förstudiens ärendenummer.
    pub prestudy_case: String,
    /// Regionens namn, when an agent (ombud) orders on a region's behalf.
    #[serde(default)]
    pub region_name: Option<String>,
    /// Beställare: who orders (the order's `utforare`).
    #[serde(default = "default_ordered_by")]
    pub ordered_by: String,
}

fn default_contract() -> String {
    RESPONDER_NS.to_string()
}

fn default_profile() -> String {
    PROFILE.to_string()
}

fn default_ordered_by() -> String {
    "Beställningsstödet".to_string()
}

/// Anslutningstyp: consumer or producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionKind {
    /// Tjänstekonsument.
    Consumer,
    /// Tjänsteproducent.
    Producer,
}

impl ConnectionKind {
    /// `consumer` or `producer`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionKind::Consumer => "consumer",
            ConnectionKind::Producer => "producer",
        }
    }
}

impl fmt::Display for ConnectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A checked form turned into a real-format order; not yet submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedOrder {
    /// The order, pretty-printed in Beställningsstödet's JSON format, as it is submitted to TAK.
    pub json: String,
    /// Consumer or producer connection.
    pub kind: ConnectionKind,
    /// The environment it is for.
    pub environment: EnvName,
    /// The system's HSA-id (upper-cased, as TAK stores it).
    pub hsa_id: String,
    /// The logical addresses it concerns (for a producer: its county code).
    #[serde(default)]
    pub logical_addresses: Vec<String>,
    /// The contract's namespace.
    #[serde(default)]
    pub contract: String,
}

/// A form rule that was broken. Each message starts with the offending input and says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// A required field is empty.
    #[error("{form}: {field} must not be empty")]
    Missing {
        /// Which form.
        form: &'static str,
        /// The field.
        field: &'static str,
    },
    /// An e-mail address without `@`.
    #[error("{form}: {field} {value:?} is not an e-mail address")]
    Email {
        /// Which form.
        form: &'static str,
        /// The field.
        field: &'static str,
        /// The input.
        value: String,
    },
    /// An HSA-id TAK would refuse.
    #[error(
        "{field}: {value:?} is not a valid HSA-id: TAK allows 1 to 255 of the characters 0-9, a-z, A-Z, '_' and '-'"
    )]
    HsaId {
        /// The field.
        field: &'static str,
        /// The input.
        value: String,
    },
    /// The same system registered twice for one environment.
    #[error(
        "hsa_id: system {hsa_id} is already registered for {environment} (\"{system_name}\", {organisation}); a system is registered once per environment"
    )]
    SystemExists {
        /// HSA-id.
        hsa_id: String,
        /// Environment.
        environment: EnvName,
        /// The registered system's name.
        system_name: String,
        /// The registered system's organisation.
        organisation: String,
    },
    /// The same pre-study registered twice.
    #[error(
        "case_number: pre-study {case} is already registered (for {organisation}); case numbers are unique"
    )]
    PreStudyExists {
        /// Case number.
        case: String,
        /// The registered pre-study's organisation.
        organisation: String,
    },
    /// The system is not registered for the environment.
    #[error(
        "{field}: system {hsa_id} is not registered for {environment}: register its system information for {environment} first (POST /api/systems with \"environment\": \"{environment}\", or `ntjp system register --env {environment} --hsa-id {hsa_id} --organisation ... --name ...`)"
    )]
    UnknownSystem {
        /// The field.
        field: &'static str,
        /// HSA-id.
        hsa_id: String,
        /// Environment.
        environment: EnvName,
    },
    /// No pre-study with that case number.
    #[error(
        "prestudy_case: pre-study {case} is not registered: an approved pre-study is required before connection; register it first (POST /api/prestudies, or `ntjp prestudy register --case {case} --organisation ... --env {environment}`)"
    )]
    UnknownPreStudy {
        /// Case number.
        case: String,
        /// The environment ordered for.
        environment: EnvName,
    },
    /// The pre-study exists but is not approved for the environment.
    #[error(
        "prestudy_case: pre-study {case} is not approved for {environment} (approved for: {approved}); an approved pre-study for {environment} is required before connection"
    )]
    NotApproved {
        /// Case number.
        case: String,
        /// The environment ordered for.
        environment: EnvName,
        /// The environments it is approved for, or `none`.
        approved: String,
    },
    /// One order per system, connection type and environment.
    #[error(
        "{field}: {hsa_id} already has a {kind} order in {environment} ({earlier}); Beställningsstödet takes one order per system, connection type and environment: change an existing connection with a raw order (POST /api/{environment}/orders, or `ntjp order apply FILE --env {environment}`)"
    )]
    AlreadyOrdered {
        /// The field.
        field: &'static str,
        /// HSA-id.
        hsa_id: String,
        /// Consumer or producer.
        kind: ConnectionKind,
        /// Environment.
        environment: EnvName,
        /// The earlier order: when it was made, its execution day, its addresses.
        earlier: String,
    },
    /// Not a current county code.
    #[error(
        "{field}: logical address {value} is not a current county code ({}); a producer of {contract} is addressed by its region's two-digit county code, not an HSA-id{why}",
        county_list()
    )]
    NotCounty {
        /// The field.
        field: &'static str,
        /// The input.
        value: String,
        /// The contract's name.
        contract: String,
        /// Extra reason for retired codes and 00 (starting with `; `), else empty.
        why: String,
    },
    /// Another system already produces for the county and contract.
    #[error(
        "county_code: county {county} ({region}) already has a producing system for {contract} in {environment}: {holder} ({detail}); there is one producing system per county and contract, so {holder}'s route must end before another system can be ordered for the county"
    )]
    CountyTaken {
        /// County code.
        county: String,
        /// The region's name.
        region: String,
        /// The contract's name.
        contract: String,
        /// Environment.
        environment: EnvName,
        /// The HSA-id of the system holding the county.
        holder: String,
        /// Where that was found: its route in TAK or an earlier order.
        detail: String,
    },
    /// `LOAD-MOCKS` outside SIT.
    #[error(
        "logical_addresses: {value} exists only in SIT (the platform's mock producer in the test environment); {environment} has no {value}: order SE (and county codes) only"
    )]
    MocksOutsideSit {
        /// The input.
        value: String,
        /// Environment.
        environment: EnvName,
    },
    /// The same logical address listed twice.
    #[error(
        "logical_addresses: {value} is listed more than once (TAK refuses an order with the same authorisation twice)"
    )]
    DuplicateAddress {
        /// The input.
        value: String,
    },
    /// Not RIVTABP21.
    #[error("rivta_profile: {value:?} is not allowed: {contract} is RIVTABP21 only")]
    Profile {
        /// The input.
        value: String,
        /// The contract's name.
        contract: String,
    },
    /// A URL TAK (or the platform) would refuse.
    #[error("url: {value:?} is not valid: {reason}")]
    Url {
        /// The input.
        value: String,
        /// Why.
        reason: String,
    },
    /// A contract that is not a responder namespace.
    #[error("contract: {value:?} is not a service contract namespace: {reason}")]
    Contract {
        /// The input.
        value: String,
        /// Why.
        reason: String,
    },
}

fn county_list() -> String {
    COUNTY_CODES
        .iter()
        .map(|(c, _)| *c)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The form registry of one testbed (all environments): registered systems, pre-studies and
/// which orders the forms produced and TAK accepted.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Forms {
    systems: Vec<SystemInfo>,
    prestudies: Vec<PreStudy>,
    orders: Vec<PreparedOrder>,
}

fn same(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

fn is_hsa_id(id: &str) -> bool {
    !id.is_empty()
        && id.chars().count() <= TAK_TEXT_MAX
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn need(form: &'static str, field: &'static str, value: &str) -> Result<(), FormError> {
    if value.trim().is_empty() {
        return Err(FormError::Missing { form, field });
    }
    Ok(())
}

fn need_hsa_id(field: &'static str, value: &str) -> Result<(), FormError> {
    if !is_hsa_id(value) {
        return Err(FormError::HsaId {
            field,
            value: value.to_string(),
        });
    }
    Ok(())
}

fn need_contact(
    form: &'static str,
    (name_field, email_field): (&'static str, &'static str),
    c: &Contact,
) -> Result<(), FormError> {
    need(form, name_field, &c.name)?;
    need(form, email_field, &c.email)?;
    if !c.email.contains('@') {
        return Err(FormError::Email {
            form,
            field: email_field,
            value: c.email.clone(),
        });
    }
    Ok(())
}

/// The contract's namespace must follow TAK's namespace rule and end in `:<major version>`.
fn check_contract(contract: &str) -> Result<i64, FormError> {
    let err = |reason: &str| FormError::Contract {
        value: contract.to_string(),
        reason: reason.to_string(),
    };
    if contract.chars().count() > TAK_TEXT_MAX
        || !contract
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
    {
        return Err(err(
            "TAK allows at most 255 of the characters 0-9, a-z, A-Z, '_', '.', ':' and '-'",
        ));
    }
    contract
        .rsplit_once(':')
        .and_then(|(_, v)| v.parse::<i64>().ok())
        .ok_or_else(|| {
            err(&format!(
                "a responder namespace ends in its major version, like {RESPONDER_NS}"
            ))
        })
}

/// `urn:…:ProcessCervixScreeningInformationResponder:1` → `ProcessCervixScreeningInformation`.
fn contract_name(contract: &str) -> String {
    contract
        .rsplit(':')
        .nth(1)
        .map(|n| n.strip_suffix("Responder").unwrap_or(n).to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| contract.to_string())
}

fn clip(text: &str) -> String {
    text.chars().take(TAK_TEXT_MAX).collect()
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn county_region(code: &str) -> Option<&'static str> {
    COUNTY_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, r)| *r)
}

/// Checks that `value` is a current county code; the reason otherwise.
fn check_county(field: &'static str, value: &str, contract: &str) -> Result<(), FormError> {
    if county_region(value).is_some() {
        return Ok(());
    }
    let why = match value {
        "02" | "11" | "15" | "16" => format!(
            "; {value} is a retired county code (02, 11, 15 and 16 no longer name a region)"
        ),
        "00" => "; 00 is not a region".to_string(),
        _ => String::new(),
    };
    Err(FormError::NotCounty {
        field,
        value: value.to_string(),
        contract: contract_name(contract),
        why,
    })
}

fn check_url(value: &str) -> Result<(), FormError> {
    let err = |reason: &str| FormError::Url {
        value: value.to_string(),
        reason: reason.to_string(),
    };
    if !(value.starts_with("http://") || value.starts_with("https://")) {
        return Err(err(
            "the platform calls producers over HTTP(S): it must start with https:// (or http://)",
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_.:/-?&".contains(*c)))
    {
        return Err(err(&format!(
            "TAK allows only 0-9, a-z, A-Z and _ . : / - ? & in an address, not {c:?}"
        )));
    }
    if !(5..=TAK_TEXT_MAX).contains(&value.chars().count()) {
        return Err(err("TAK allows 5 to 255 characters"));
    }
    Ok(())
}

/// `2026-12-01T00:00:00+0000`: the order's time format.
fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S+0000").to_string()
}

/// The top level of a real-format order, in Beställningsstödet's field order.
#[derive(Serialize)]
struct OrderJson<'a> {
    plattform: &'a str,
    #[serde(rename = "formatVersion")]
    format_version: &'static str,
    version: &'static str,
    #[serde(rename = "bestallningsTidpunkt")]
    ordered_at: String,
    #[serde(rename = "genomforandeTidpunkt")]
    executes_at: String,
    utforare: &'a str,
    kommentar: String,
    inkludera: Section,
    exkludera: Section,
}

/// What the kommentar says about the order.
struct About<'a> {
    kind: &'static str,
    system: &'a SystemInfo,
    environment: EnvName,
    prestudy: &'a PreStudy,
    region: Option<&'a str>,
}

/// The kommentar: the case number, the connection, the region (via an agent) and the contacts,
/// in that order of importance, within TAK's 255 characters (phone numbers only if they fit;
/// TAK would cut a longer comment).
fn comment(a: &About<'_>) -> String {
    let mut head = format!(
        "Förstudie {}. Anslutning av {} {} ({}, {}) i {}.",
        a.prestudy.case_number.trim(),
        a.kind,
        a.system.hsa_id.trim(),
        a.system.system_name.trim(),
        a.system.organisation.trim(),
        a.environment.as_str().to_uppercase(),
    );
    if let Some(region) = a.region {
        head.push_str(&format!(" Beställd av ombud för {region}."));
    }
    let contacts = |phones: bool| {
        let one = |c: &Contact| match non_empty(&c.phone).filter(|_| phones) {
            Some(p) => format!("{} <{}> {p}", c.name.trim(), c.email.trim()),
            None => format!("{} <{}>", c.name.trim(), c.email.trim()),
        };
        format!(
            " Kontakt: {}; teknisk kontakt: {}.",
            one(&a.system.main_contact),
            one(&a.system.technical_contact)
        )
    };
    let with_phones = format!("{head}{}", contacts(true));
    if with_phones.chars().count() <= TAK_TEXT_MAX {
        return with_phones;
    }
    clip(&format!("{head}{}", contacts(false)))
}

/// When an earlier order was made and executes, from its JSON.
fn describe(order: &PreparedOrder) -> String {
    let v: serde_json::Value = serde_json::from_str(&order.json).unwrap_or_default();
    let field = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    let executes = field("genomforandeTidpunkt");
    let day = executes.get(..10).unwrap_or(&executes);
    format!(
        "the order of {}, executing {day}, for {}",
        field("bestallningsTidpunkt"),
        order.logical_addresses.join(", ")
    )
}

impl Forms {
    /// Registers a system for one environment. The HSA-id follows TAK's rule (`[0-9a-zA-Z_-]+`),
    /// organisation, system name and both contacts' name and e-mail are required, and a system is
    /// registered once per environment.
    pub fn register_system(&mut self, s: SystemInfo) -> Result<(), FormError> {
        const FORM: &str = "system information";
        need(FORM, "organisation", &s.organisation)?;
        need(FORM, "system_name", &s.system_name)?;
        need(FORM, "hsa_id", &s.hsa_id)?;
        need_hsa_id("hsa_id", s.hsa_id.trim())?;
        need_contact(
            FORM,
            ("main_contact.name", "main_contact.email"),
            &s.main_contact,
        )?;
        need_contact(
            FORM,
            ("technical_contact.name", "technical_contact.email"),
            &s.technical_contact,
        )?;
        if let Some(x) = self
            .systems
            .iter()
            .find(|x| same(x.hsa_id.trim(), s.hsa_id.trim()) && x.environment == s.environment)
        {
            return Err(FormError::SystemExists {
                hsa_id: s.hsa_id.trim().to_string(),
                environment: s.environment,
                system_name: x.system_name.clone(),
                organisation: x.organisation.clone(),
            });
        }
        self.systems.push(SystemInfo {
            hsa_id: s.hsa_id.trim().to_string(),
            ..s
        });
        Ok(())
    }

    /// Registers a pre-study. The case number is required and unique (case-insensitive).
    pub fn register_prestudy(&mut self, p: PreStudy) -> Result<(), FormError> {
        const FORM: &str = "pre-study";
        need(FORM, "case_number", &p.case_number)?;
        need(FORM, "organisation", &p.organisation)?;
        if let Some(x) = self
            .prestudies
            .iter()
            .find(|x| same(x.case_number.trim(), p.case_number.trim()))
        {
            return Err(FormError::PreStudyExists {
                case: p.case_number.trim().to_string(),
                organisation: x.organisation.clone(),
            });
        }
        self.prestudies.push(PreStudy {
            case_number: p.case_number.trim().to_string(),
            ..p
        });
        Ok(())
    }

    /// The registered systems, in registration order.
    pub fn systems(&self) -> &[SystemInfo] {
        &self.systems
    }

    /// The registered pre-studies, in registration order.
    pub fn prestudies(&self) -> &[PreStudy] {
        &self.prestudies
    }

    /// The recorded orders (accepted by TAK), in order.
    pub fn orders(&self) -> &[PreparedOrder] {
        &self.orders
    }

    fn system(
        &self,
        field: &'static str,
        hsa_id: &str,
        environment: EnvName,
    ) -> Result<&SystemInfo, FormError> {
        self.systems
            .iter()
            .find(|s| same(&s.hsa_id, hsa_id) && s.environment == environment)
            .ok_or_else(|| FormError::UnknownSystem {
                field,
                hsa_id: hsa_id.to_string(),
                environment,
            })
    }

    fn prestudy(&self, case: &str, environment: EnvName) -> Result<&PreStudy, FormError> {
        let p = self
            .prestudies
            .iter()
            .find(|p| same(&p.case_number, case))
            .ok_or_else(|| FormError::UnknownPreStudy {
                case: case.to_string(),
                environment,
            })?;
        if !p.approved_for.contains(&environment) {
            let approved: Vec<&str> = p.approved_for.iter().map(|e| e.as_str()).collect();
            return Err(FormError::NotApproved {
                case: p.case_number.clone(),
                environment,
                approved: if approved.is_empty() {
                    "none".to_string()
                } else {
                    approved.join(", ")
                },
            });
        }
        Ok(p)
    }

    fn once(
        &self,
        field: &'static str,
        hsa_id: &str,
        kind: ConnectionKind,
        environment: EnvName,
    ) -> Result<(), FormError> {
        match self
            .orders
            .iter()
            .find(|o| o.kind == kind && o.environment == environment && same(&o.hsa_id, hsa_id))
        {
            Some(earlier) => Err(FormError::AlreadyOrdered {
                field,
                hsa_id: earlier.hsa_id.clone(),
                kind,
                environment,
                earlier: describe(earlier),
            }),
            None => Ok(()),
        }
    }

    /// Checks the consumer form's rules and builds its order: the consumer component (described
    /// from its system information), the contract and the logical addresses (TAK skips the ones
    /// that exist) and one authorisation per logical address. Does not submit it.
    pub fn consumer_order(
        &self,
        form: &ConsumerForm,
        platform: &str,
        store: &Store,
        now: DateTime<Utc>,
    ) -> Result<PreparedOrder, FormError> {
        const FORM: &str = "consumer order";
        let env = form.environment;
        let consumer = form.consumer_hsa_id.trim();
        let contract = form.contract.trim();
        let case = form.prestudy_case.trim();
        need(FORM, "consumer_hsa_id", consumer)?;
        need(FORM, "contract", contract)?;
        need(FORM, "prestudy_case", case)?;
        need(FORM, "ordered_by", &form.ordered_by)?;
        need_hsa_id("consumer_hsa_id", consumer)?;
        let major = check_contract(contract)?;

        let addresses = consumer_addresses(form, contract)?;

        let system = self.system("consumer_hsa_id", consumer, env)?;
        let prestudy = self.prestudy(case, env)?;
        self.once("consumer_hsa_id", consumer, ConnectionKind::Consumer, env)?;

        let consumer = consumer.to_uppercase();
        let include = Section {
            contracts: vec![contract_item(store, contract, major)],
            logical_addresses: addresses
                .iter()
                .map(|a| PlainItem {
                    hsa_id: a.clone(),
                    description: address_description(store, a),
                })
                .collect(),
            components: vec![component_item(system, &consumer)],
            authorisations: addresses
                .iter()
                .map(|a| AuthorisationItem {
                    logical_address: Some(a.clone()),
                    contract: Some(contract.to_string()),
                    consumer: Some(consumer.clone()),
                })
                .collect(),
            routes: Vec::new(),
        };
        let about = About {
            kind: "tjänstekonsument",
            system,
            environment: env,
            prestudy,
            region: non_empty(&form.region_name),
        };
        let json = order_json(
            platform,
            now,
            form.execution_date,
            &form.ordered_by,
            &about,
            include,
        );
        Ok(PreparedOrder {
            json,
            kind: ConnectionKind::Consumer,
            environment: env,
            hsa_id: consumer,
            logical_addresses: addresses,
            contract: contract.to_string(),
        })
    }

    /// Checks the producer form's rules and builds its order: the producer component, the
    /// county's logical address (described with the region's name), the contract (TAK skips the
    /// ones that exist) and the route (vägval) to the URL with RIVTABP21. Does not submit it.
    pub fn producer_order(
        &self,
        form: &ProducerForm,
        platform: &str,
        store: &Store,
        now: DateTime<Utc>,
    ) -> Result<PreparedOrder, FormError> {
        const FORM: &str = "producer order";
        let env = form.environment;
        let producer = form.producer_hsa_id.trim();
        let contract = form.contract.trim();
        let county = form.county_code.trim();
        let url = form.url.trim();
        let case = form.prestudy_case.trim();
        need(FORM, "producer_hsa_id", producer)?;
        need(FORM, "contract", contract)?;
        need(FORM, "county_code", county)?;
        need(FORM, "url", url)?;
        need(FORM, "prestudy_case", case)?;
        need(FORM, "ordered_by", &form.ordered_by)?;
        need_hsa_id("producer_hsa_id", producer)?;
        let major = check_contract(contract)?;
        check_county("county_code", county, contract)?;
        let region = county_region(county).unwrap_or(county);
        if form.rivta_profile.trim() != PROFILE {
            return Err(FormError::Profile {
                value: form.rivta_profile.clone(),
                contract: contract_name(contract),
            });
        }
        check_url(url)?;

        let system = self.system("producer_hsa_id", producer, env)?;
        let prestudy = self.prestudy(case, env)?;
        self.once("producer_hsa_id", producer, ConnectionKind::Producer, env)?;

        self.county_free(form, store, producer, region)?;

        let producer = producer.to_uppercase();
        let include = Section {
            contracts: vec![contract_item(store, contract, major)],
            logical_addresses: vec![PlainItem {
                hsa_id: county.to_string(),
                description: region.to_string(),
            }],
            components: vec![component_item(system, &producer)],
            authorisations: Vec::new(),
            routes: vec![RouteItem {
                url: Some(url.to_string()),
                logical_address: Some(county.to_string()),
                contract: Some(contract.to_string()),
                profile: Some(PROFILE.to_string()),
                producer: Some(producer.clone()),
            }],
        };
        let about = About {
            kind: "tjänsteproducent",
            system,
            environment: env,
            prestudy,
            region: non_empty(&form.region_name),
        };
        let json = order_json(
            platform,
            now,
            form.execution_date,
            &form.ordered_by,
            &about,
            include,
        );
        Ok(PreparedOrder {
            json,
            kind: ConnectionKind::Producer,
            environment: env,
            hsa_id: producer,
            logical_addresses: vec![county.to_string()],
            contract: contract.to_string(),
        })
    }

    /// One producing system per county and contract: TAK's routes from the execution day on
    /// (pending changes included), then the orders recorded earlier. `producer` is the form's
    /// (trimmed) HSA-id, `region` the county's name.
    fn county_free(
        &self,
        form: &ProducerForm,
        store: &Store,
        producer: &str,
        region: &str,
    ) -> Result<(), FormError> {
        let env = form.environment;
        let contract = form.contract.trim();
        let county = form.county_code.trim();
        let taken = |holder: String, detail: String| FormError::CountyTaken {
            county: county.to_string(),
            region: region.to_string(),
            contract: contract_name(contract),
            environment: env,
            holder,
            detail,
        };
        let period = Validity::new(form.execution_date, NaiveDate::MAX);
        let cat = store.catalogue();
        for route in store.overlapping_routes(county, contract, period) {
            let Some(call) = cat.call_addresses.get(route.call_address) else {
                continue;
            };
            let holder = cat
                .components
                .get(call.producer)
                .map(|c| c.hsa_id.to_string())
                .unwrap_or_default();
            if !same(&holder, producer) {
                let detail = format!(
                    "its route in TAK is valid {} to {}, to {}",
                    route.validity.from, route.validity.to, call.url
                );
                return Err(taken(holder, detail));
            }
        }
        if let Some(o) = self.orders.iter().find(|o| {
            o.kind == ConnectionKind::Producer
                && o.environment == env
                && !same(&o.hsa_id, producer)
                && same(&o.contract, contract)
                && o.logical_addresses.iter().any(|a| a == county)
        }) {
            return Err(taken(o.hsa_id.clone(), format!("by {}", describe(o))));
        }
        Ok(())
    }

    /// Remembers an order TAK accepted, for the one-order-per-system and one-producer-per-county
    /// rules.
    pub fn record(&mut self, prepared: &PreparedOrder) {
        self.orders.push(prepared.clone());
    }
}

/// The contract item: TAK's own description when the contract exists (TAK skips it then),
/// else its name and major version.
/// The consumer form's logical addresses, upper-cased (the national one, and in SIT the load
/// mocks', when it names none), checked: HSA-ids, the mocks' only in SIT, counties the
/// contract knows, none twice.
fn consumer_addresses(form: &ConsumerForm, contract: &str) -> Result<Vec<String>, FormError> {
    let env = form.environment;
    let addresses: Vec<String> = if form.logical_addresses.is_empty() {
        let mut a = vec![NATIONAL.to_string()];
        if env == EnvName::Sit {
            a.push(LOAD_MOCKS.to_string());
        }
        a
    } else {
        form.logical_addresses
            .iter()
            .map(|a| a.trim().to_uppercase())
            .collect()
    };
    for (i, a) in addresses.iter().enumerate() {
        need_hsa_id("logical_addresses", a)?;
        if MOCK_ADDRESSES.contains(&a.as_str()) && env != EnvName::Sit {
            return Err(FormError::MocksOutsideSit {
                value: a.clone(),
                environment: env,
            });
        }
        if a.chars().all(|c| c.is_ascii_digit()) {
            check_county("logical_addresses", a, contract)?;
        }
        if addresses[..i].contains(a) {
            return Err(FormError::DuplicateAddress { value: a.clone() });
        }
    }
    Ok(addresses)
}

fn contract_item(store: &Store, contract: &str, major: i64) -> ContractItem {
    let description = match store.find_contract(contract) {
        Some(row) => row.description.to_string(),
        None => format!("{} v{major}", contract_name(contract)),
    };
    ContractItem {
        namespace: contract.to_string(),
        description: clip(&description),
        major_version: major,
    }
}

/// A logical address's description: TAK's own when it exists, else from what the address is.
fn address_description(store: &Store, address: &str) -> String {
    if let Some(row) = store.find_logical_address(address) {
        return row.description.to_string();
    }
    match address {
        NATIONAL => "Nationell nivå (öppen behörighet till alla regioner)".to_string(),
        a if MOCK_ADDRESSES.contains(&a) => {
            "Tjänsteplattformens mockproducent i testmiljön".to_string()
        }
        a => county_region(a).map_or_else(|| format!("Logisk adress {a}"), str::to_string),
    }
}

fn component_item(system: &SystemInfo, hsa_id: &str) -> PlainItem {
    PlainItem {
        hsa_id: hsa_id.to_string(),
        description: clip(&format!(
            "{}, {}",
            system.system_name.trim(),
            system.organisation.trim()
        )),
    }
}

fn order_json(
    platform: &str,
    now: DateTime<Utc>,
    execution_date: NaiveDate,
    ordered_by: &str,
    about: &About<'_>,
    include: Section,
) -> String {
    let order = OrderJson {
        plattform: platform,
        format_version: "1.0",
        version: "1",
        ordered_at: timestamp(now),
        executes_at: format!("{}T00:00:00+0000", execution_date.format("%Y-%m-%d")),
        utforare: ordered_by.trim(),
        kommentar: comment(about),
        inkludera: include,
        exkludera: Section::default(),
    };
    // Serialising plain strings and numbers cannot fail; an empty string would be refused by
    // the parser rather than submitted.
    serde_json::to_string_pretty(&order).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::orders::{self, Status};

    const MOCKS: &str = "https://127.0.0.1:25000/mocks";
    const KALL: &str = "SE2321000016-KALL";
    const PROD: &str = "SE2321000016-PROD";
    const PRD2: &str = "SE2321000016-PRD2";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// A store prepared like the real start-up: the environment's fixture orders, published.
    fn fixture_store(platform: &str, orders_text: &[&str]) -> Store {
        let mut store = Store::new(platform);
        for text in orders_text {
            let order = orders::parse(&text.replace("{{mocks}}", MOCKS)).unwrap();
            orders::apply(&mut store, &order).unwrap();
        }
        store.publish("test", "start", now());
        store
    }

    fn sit_store() -> Store {
        fixture_store(
            "NTJP-TEST",
            &[
                include_str!("../../fixtures/orders/sit/01-producer-cervix-mocks.json"),
                include_str!("../../fixtures/orders/sit/02-consumer-testbed.json"),
            ],
        )
    }

    fn qa_store() -> Store {
        fixture_store(
            "NTJP-QA",
            &[
                include_str!("../../fixtures/orders/qa/01-producer-cervix-mocks.json"),
                include_str!("../../fixtures/orders/qa/02-consumer-testbed.json"),
            ],
        )
    }

    fn contact(name: &str, email: &str) -> Contact {
        Contact {
            name: name.into(),
            email: email.into(),
            phone: None,
        }
    }

    fn system(hsa_id: &str, name: &str, environment: EnvName) -> SystemInfo {
        SystemInfo {
            organisation: "Region Testland".into(),
            system_name: name.into(),
            hsa_id: hsa_id.into(),
            main_contact: Contact {
                phone: Some("010-123 45 67".into()),
                ..contact("Anna Andersson", "anna@example.se")
            },
            technical_contact: contact("Bo Berg", "bo@example.se"),
            environment,
        }
    }

    fn forms() -> Forms {
        let mut f = Forms::default();
        for (hsa, name, env) in [
            (KALL, "Kallelsesystemet", EnvName::Sit),
            (KALL, "Kallelsesystemet", EnvName::Qa),
            (PROD, "Screeningregistret", EnvName::Sit),
            (PRD2, "Screeningregistret 2", EnvName::Sit),
        ] {
            f.register_system(system(hsa, name, env)).unwrap();
        }
        for (case, envs) in [
            ("FS-2026-001", vec![EnvName::Sit]),
            ("FS-2026-002", vec![EnvName::Qa]),
        ] {
            f.register_prestudy(PreStudy {
                case_number: case.into(),
                organisation: "Region Testland".into(),
                approved_for: envs,
            })
            .unwrap();
        }
        f
    }

    fn consumer(env: EnvName, case: &str) -> ConsumerForm {
        ConsumerForm {
            environment: env,
            execution_date: day(2026, 12, 1),
            consumer_hsa_id: KALL.into(),
            contract: RESPONDER_NS.into(),
            logical_addresses: vec![],
            prestudy_case: case.into(),
            region_name: Some("Region Testland".into()),
            ordered_by: "Anna Andersson".into(),
        }
    }

    fn producer(hsa_id: &str, county: &str) -> ProducerForm {
        ProducerForm {
            environment: EnvName::Sit,
            execution_date: day(2026, 12, 1),
            producer_hsa_id: hsa_id.into(),
            contract: RESPONDER_NS.into(),
            county_code: county.into(),
            rivta_profile: "RIVTABP21".into(),
            url: format!(
                "https://screening.example.se:8443/{county}/ProcessCervixScreeningInformation/1/rivtabp21"
            ),
            prestudy_case: "FS-2026-001".into(),
            region_name: None,
            ordered_by: "Anna Andersson".into(),
        }
    }

    fn consumer_error(f: &Forms, form: &ConsumerForm, store: &Store) -> String {
        f.consumer_order(form, "NTJP-TEST", store, now())
            .unwrap_err()
            .to_string()
    }

    fn producer_error(f: &Forms, form: &ProducerForm, store: &Store) -> String {
        f.producer_order(form, "NTJP-TEST", store, now())
            .unwrap_err()
            .to_string()
    }

    fn created(report: &orders::Report, section: &str) -> Vec<String> {
        report
            .included(section)
            .iter()
            .filter(|r| r.status == Status::Created)
            .map(|r| r.value.clone())
            .collect()
    }

    #[test]
    fn the_consumer_form_gives_a_real_order_that_tak_accepts() {
        let f = forms();
        let mut store = sit_store();
        let p = f
            .consumer_order(
                &consumer(EnvName::Sit, "FS-2026-001"),
                "NTJP-TEST",
                &store,
                now(),
            )
            .unwrap();
        assert_eq!(p.kind, ConnectionKind::Consumer);
        assert_eq!((p.environment, p.hsa_id.as_str()), (EnvName::Sit, KALL));
        assert_eq!(p.logical_addresses, ["SE", "LOAD-MOCKS"]);
        // The real format, in Beställningsstödet's field order.
        let head: Vec<&str> = p.json.lines().take(8).collect();
        assert_eq!(
            head,
            [
                "{",
                r#"  "plattform": "NTJP-TEST","#,
                r#"  "formatVersion": "1.0","#,
                r#"  "version": "1","#,
                r#"  "bestallningsTidpunkt": "2026-11-20T08:00:00+0000","#,
                r#"  "genomforandeTidpunkt": "2026-12-01T00:00:00+0000","#,
                r#"  "utforare": "Anna Andersson","#,
                r#"  "kommentar": "Förstudie FS-2026-001. Anslutning av tjänstekonsument SE2321000016-KALL (Kallelsesystemet, Region Testland) i SIT. Beställd av ombud för Region Testland. Kontakt: Anna Andersson <anna@example.se> 010-123 45 67; teknisk kontakt: Bo Berg <bo@example.se>.","#,
            ]
        );
        let order = orders::parse(&p.json).unwrap();
        assert_eq!(
            order.include.components[0].description,
            "Kallelsesystemet, Region Testland"
        );
        let report = orders::apply(&mut store, &order).unwrap();
        assert_eq!(created(&report, "Tjänstekomponenter"), [KALL]);
        let auth = created(&report, "Anropsbehörigheter");
        assert_eq!(auth.len(), 2, "{}", report.to_text());
        assert!(
            auth[0].starts_with("SE - SE2321000016-KALL - urn:"),
            "{auth:?}"
        );
        assert!(
            auth[1].starts_with("LOAD-MOCKS - SE2321000016-KALL - urn:"),
            "{auth:?}"
        );
        // SE, LOAD-MOCKS and the contract exist: TAK skipped them.
        assert!(created(&report, "Logiska adresser").is_empty());
        assert!(created(&report, "Tjänstekontrakt").is_empty());
    }

    #[test]
    fn a_consumer_in_qa_gets_se_only_and_tak_accepts_it() {
        let f = forms();
        let mut store = qa_store();
        let p = f
            .consumer_order(
                &consumer(EnvName::Qa, "FS-2026-002"),
                "NTJP-QA",
                &store,
                now(),
            )
            .unwrap();
        assert_eq!(p.logical_addresses, ["SE"]);
        let report = orders::apply(&mut store, &orders::parse(&p.json).unwrap()).unwrap();
        assert_eq!(created(&report, "Anropsbehörigheter").len(), 1);
    }

    #[test]
    fn the_producer_form_gives_a_real_order_that_tak_accepts_once_the_county_is_free() {
        let f = forms();
        let mut store = sit_store();
        let form = ProducerForm {
            region_name: Some("Region Norrbotten".into()),
            ..producer(PROD, "25")
        };
        // The mock producer holds county 25 ...
        assert!(
            producer_error(&f, &form, &store).contains("TSTNMT2321000156-MOCK25"),
            "{}",
            producer_error(&f, &form, &store)
        );
        // ... until its route is excluded (the platform's own order, as in the examples).
        let exclusion = include_str!("../../fixtures/orders/examples/exclude-route-25.json");
        let order = orders::parse(&exclusion.replace("{{mocks}}", MOCKS)).unwrap();
        orders::apply(&mut store, &order).unwrap();

        let p = f.producer_order(&form, "NTJP-TEST", &store, now()).unwrap();
        assert_eq!(
            (p.kind, p.hsa_id.as_str()),
            (ConnectionKind::Producer, PROD)
        );
        let order = orders::parse(&p.json).unwrap();
        assert_eq!(order.include.logical_addresses[0].hsa_id, "25");
        assert_eq!(
            order.include.logical_addresses[0].description,
            "Region Norrbotten"
        );
        assert!(
            order
                .comment
                .as_deref()
                .unwrap()
                .contains("i SIT. Beställd av ombud för Region Norrbotten."),
            "{:?}",
            order.comment
        );
        let report = orders::apply(&mut store, &order).unwrap();
        assert_eq!(created(&report, "Tjänstekomponenter"), [PROD]);
        assert_eq!(
            created(&report, "Vägval"),
            [
                "25 - urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1 - SE2321000016-PROD - RIVTABP21 - https://screening.example.se:8443/25/ProcessCervixScreeningInformation/1/rivtabp21 (2026-12-01 - 2126-12-01)"
            ],
            "{}",
            report.to_text()
        );
    }

    #[test]
    fn the_comment_keeps_the_important_parts_within_tak_s_255_characters() {
        let f = forms();
        let store = sit_store();
        let comment = |form: &ConsumerForm| {
            let p = f.consumer_order(form, "NTJP-TEST", &store, now()).unwrap();
            orders::parse(&p.json).unwrap().comment.unwrap_or_default()
        };
        let mut form = consumer(EnvName::Sit, "FS-2026-001");
        form.region_name = None;
        assert_eq!(
            comment(&form),
            "Förstudie FS-2026-001. Anslutning av tjänstekonsument SE2321000016-KALL (Kallelsesystemet, Region Testland) i SIT. Kontakt: Anna Andersson <anna@example.se> 010-123 45 67; teknisk kontakt: Bo Berg <bo@example.se>."
        );
        form.region_name = Some(format!("Region {}", "X".repeat(300)));
        let long = comment(&form);
        assert_eq!(long.chars().count(), 255);
        assert!(long.starts_with(
            "Förstudie FS-2026-001. Anslutning av tjänstekonsument SE2321000016-KALL"
        ));
    }

    #[test]
    fn system_information_rules() {
        let mut f = forms();
        let mut s = system("SE2321000016-NY", "Nytt", EnvName::Sit);
        s.organisation = " ".into();
        assert_eq!(
            f.register_system(s).unwrap_err().to_string(),
            "system information: organisation must not be empty"
        );
        let s = system("SE2321000016 NY", "Nytt", EnvName::Sit);
        assert_eq!(
            f.register_system(s).unwrap_err().to_string(),
            r#"hsa_id: "SE2321000016 NY" is not a valid HSA-id: TAK allows 1 to 255 of the characters 0-9, a-z, A-Z, '_' and '-'"#
        );
        let mut s = system("SE2321000016-NY", "Nytt", EnvName::Sit);
        s.technical_contact.email = "bo.example.se".into();
        assert_eq!(
            f.register_system(s).unwrap_err().to_string(),
            r#"system information: technical_contact.email "bo.example.se" is not an e-mail address"#
        );
        let s = system("se2321000016-kall", "Kallelse 2", EnvName::Sit);
        assert_eq!(
            f.register_system(s).unwrap_err().to_string(),
            r#"hsa_id: system se2321000016-kall is already registered for sit ("Kallelsesystemet", Region Testland); a system is registered once per environment"#
        );
        f.register_system(system(KALL, "Kallelsesystemet", EnvName::Prod))
            .unwrap();
        assert_eq!(f.systems().len(), 5);
    }

    #[test]
    fn pre_study_rules() {
        let mut f = forms();
        let p = |case: &str| PreStudy {
            case_number: case.into(),
            organisation: "Region Annat".into(),
            approved_for: vec![EnvName::Prod],
        };
        assert_eq!(
            f.register_prestudy(p("")).unwrap_err().to_string(),
            "pre-study: case_number must not be empty"
        );
        assert_eq!(
            f.register_prestudy(p("fs-2026-001"))
                .unwrap_err()
                .to_string(),
            "case_number: pre-study fs-2026-001 is already registered (for Region Testland); case numbers are unique"
        );
        f.register_prestudy(p("FS-2026-003")).unwrap();
        assert_eq!(f.prestudies().len(), 3);
    }

    #[test]
    fn the_system_must_be_registered_for_the_environment() {
        let f = forms();
        let store = sit_store();
        let form = ProducerForm {
            environment: EnvName::Qa,
            prestudy_case: "FS-2026-002".into(),
            ..producer(PROD, "12")
        };
        assert_eq!(
            producer_error(&f, &form, &store),
            "producer_hsa_id: system SE2321000016-PROD is not registered for qa: register its system information for qa first (POST /api/systems with \"environment\": \"qa\", or `ntjp system register --env qa --hsa-id SE2321000016-PROD --organisation ... --name ...`)"
        );
    }

    #[test]
    fn an_approved_pre_study_for_the_environment_is_required() {
        let f = forms();
        let store = sit_store();
        assert_eq!(
            consumer_error(&f, &consumer(EnvName::Sit, "FS-2026-404"), &store),
            "prestudy_case: pre-study FS-2026-404 is not registered: an approved pre-study is required before connection; register it first (POST /api/prestudies, or `ntjp prestudy register --case FS-2026-404 --organisation ... --env sit`)"
        );
        assert_eq!(
            consumer_error(&f, &consumer(EnvName::Sit, "FS-2026-002"), &store),
            "prestudy_case: pre-study FS-2026-002 is not approved for sit (approved for: qa); an approved pre-study for sit is required before connection"
        );
    }

    #[test]
    fn one_order_per_system_connection_type_and_environment() {
        let mut f = forms();
        let mut store = sit_store();
        let form = consumer(EnvName::Sit, "FS-2026-001");
        let p = f.consumer_order(&form, "NTJP-TEST", &store, now()).unwrap();
        orders::apply(&mut store, &orders::parse(&p.json).unwrap()).unwrap();
        f.record(&p);
        assert_eq!(
            consumer_error(&f, &form, &store),
            "consumer_hsa_id: SE2321000016-KALL already has a consumer order in sit (the order of 2026-11-20T08:00:00+0000, executing 2026-12-01, for SE, LOAD-MOCKS); Beställningsstödet takes one order per system, connection type and environment: change an existing connection with a raw order (POST /api/sit/orders, or `ntjp order apply FILE --env sit`)"
        );
        // Another environment, or the other connection type, is a new order.
        f.consumer_order(
            &consumer(EnvName::Qa, "FS-2026-002"),
            "NTJP-QA",
            &qa_store(),
            now(),
        )
        .unwrap();
        // The registry survives serialisation (it is journaled) with its orders.
        let back: Forms = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(back.orders(), f.orders());
        assert!(matches!(
            back.consumer_order(&form, "NTJP-TEST", &store, now()),
            Err(FormError::AlreadyOrdered { .. })
        ));
    }

    #[test]
    fn a_producer_is_addressed_by_a_current_county_code() {
        let f = forms();
        let store = Store::new("NTJP-TEST");
        let codes =
            "01, 03, 04, 05, 06, 07, 08, 09, 10, 12, 13, 14, 17, 18, 19, 20, 21, 22, 23, 24, 25";
        assert_eq!(
            producer_error(&f, &producer(PROD, "1A"), &store),
            format!(
                "county_code: logical address 1A is not a current county code ({codes}); a producer of ProcessCervixScreeningInformation is addressed by its region's two-digit county code, not an HSA-id"
            )
        );
        assert_eq!(
            producer_error(&f, &producer(PROD, "SE2321000016-1234"), &store),
            format!(
                "county_code: logical address SE2321000016-1234 is not a current county code ({codes}); a producer of ProcessCervixScreeningInformation is addressed by its region's two-digit county code, not an HSA-id"
            )
        );
        for retired in ["02", "11", "15", "16"] {
            assert_eq!(
                producer_error(&f, &producer(PROD, retired), &store),
                format!(
                    "county_code: logical address {retired} is not a current county code ({codes}); a producer of ProcessCervixScreeningInformation is addressed by its region's two-digit county code, not an HSA-id; {retired} is a retired county code (02, 11, 15 and 16 no longer name a region)"
                )
            );
        }
        assert_eq!(
            producer_error(&f, &producer(PROD, "00"), &store),
            format!(
                "county_code: logical address 00 is not a current county code ({codes}); a producer of ProcessCervixScreeningInformation is addressed by its region's two-digit county code, not an HSA-id; 00 is not a region"
            )
        );
        // A consumer naming a retired code gets the same reason.
        let mut form = consumer(EnvName::Sit, "FS-2026-001");
        form.logical_addresses = vec!["SE".into(), "11".into()];
        assert!(
            consumer_error(&f, &form, &store)
                .starts_with("logical_addresses: logical address 11 is not a current county code")
        );
    }

    #[test]
    fn one_producing_system_per_county_and_contract() {
        // In TAK: the mock producer's route for 14 runs from 2025-01-01.
        let mut f = forms();
        let store = sit_store();
        assert_eq!(
            producer_error(&f, &producer(PROD, "14"), &store),
            "county_code: county 14 (Västra Götalandsregionen) already has a producing system for ProcessCervixScreeningInformation in sit: TSTNMT2321000156-MOCK14 (its route in TAK is valid 2025-01-01 to 2125-01-01, to https://127.0.0.1:25000/mocks/14/ProcessCervixScreeningInformation/1/rivtabp21); there is one producing system per county and contract, so TSTNMT2321000156-MOCK14's route must end before another system can be ordered for the county"
        );
        // Among the orders: PROD holds 12 by an earlier order (not yet published or executed).
        let empty = Store::new("NTJP-TEST");
        let p = f
            .producer_order(&producer(PROD, "12"), "NTJP-TEST", &empty, now())
            .unwrap();
        f.record(&p);
        assert_eq!(
            producer_error(&f, &producer(PRD2, "12"), &empty),
            "county_code: county 12 (Region Skåne) already has a producing system for ProcessCervixScreeningInformation in sit: SE2321000016-PROD (by the order of 2026-11-20T08:00:00+0000, executing 2026-12-01, for 12); there is one producing system per county and contract, so SE2321000016-PROD's route must end before another system can be ordered for the county"
        );
        // Another county is free.
        f.producer_order(&producer(PRD2, "13"), "NTJP-TEST", &empty, now())
            .unwrap();
        // The same producer again: one order per system.
        assert!(
            producer_error(&f, &producer(PROD, "13"), &empty).starts_with(
                "producer_hsa_id: SE2321000016-PROD already has a producer order in sit"
            )
        );
    }

    #[test]
    fn load_mocks_only_in_sit_and_each_address_once() {
        let f = forms();
        let store = qa_store();
        let mut form = consumer(EnvName::Qa, "FS-2026-002");
        form.logical_addresses = vec!["SE".into(), "load-mocks".into()];
        assert_eq!(
            consumer_error(&f, &form, &store),
            "logical_addresses: LOAD-MOCKS exists only in SIT (the platform's mock producer in the test environment); qa has no LOAD-MOCKS: order SE (and county codes) only"
        );
        form.logical_addresses = vec!["SE".into(), "14".into(), "se".into()];
        assert_eq!(
            consumer_error(&f, &form, &store),
            "logical_addresses: SE is listed more than once (TAK refuses an order with the same authorisation twice)"
        );
        form.logical_addresses = vec!["SE".into(), "14".into()];
        let p = f.consumer_order(&form, "NTJP-QA", &store, now()).unwrap();
        assert_eq!(p.logical_addresses, ["SE", "14"]);
    }

    #[test]
    fn the_profile_must_be_rivtabp21() {
        let f = forms();
        let form = ProducerForm {
            rivta_profile: "RIVTABP20".into(),
            ..producer(PROD, "12")
        };
        assert_eq!(
            producer_error(&f, &form, &Store::new("NTJP-TEST")),
            r#"rivta_profile: "RIVTABP20" is not allowed: ProcessCervixScreeningInformation is RIVTABP21 only"#
        );
    }

    #[test]
    fn the_url_follows_tak_s_rule() {
        let f = forms();
        let store = Store::new("NTJP-TEST");
        let with = |url: &str| ProducerForm {
            url: url.into(),
            ..producer(PROD, "12")
        };
        assert_eq!(
            producer_error(&f, &with("ftp://screening.example.se/x"), &store),
            r#"url: "ftp://screening.example.se/x" is not valid: the platform calls producers over HTTP(S): it must start with https:// (or http://)"#
        );
        assert_eq!(
            producer_error(&f, &with("https://screening.example.se/x?a=b"), &store),
            r#"url: "https://screening.example.se/x?a=b" is not valid: TAK allows only 0-9, a-z, A-Z and _ . : / - ? & in an address, not '='"#
        );
        let long = format!("https://{}.se", "a".repeat(250));
        assert_eq!(
            producer_error(&f, &with(&long), &store),
            format!(r#"url: "{long}" is not valid: TAK allows 5 to 255 characters"#)
        );
        assert_eq!(
            producer_error(&f, &with(""), &store),
            "producer order: url must not be empty"
        );
        // Without the profile and major version in the path it is unusual, but allowed.
        f.producer_order(
            &with("http://screening.example.se/cervix"),
            "NTJP-TEST",
            &store,
            now(),
        )
        .unwrap();
    }

    #[test]
    fn the_contract_must_be_a_responder_namespace() {
        let f = forms();
        let mut form = consumer(EnvName::Sit, "FS-2026-001");
        form.contract = "ProcessCervixScreeningInformation".into();
        assert_eq!(
            consumer_error(&f, &form, &sit_store()),
            r#"contract: "ProcessCervixScreeningInformation" is not a service contract namespace: a responder namespace ends in its major version, like urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1"#
        );
    }

    #[test]
    fn forms_arrive_as_json_with_defaults() {
        let form: ConsumerForm = serde_json::from_str(
            r#"{"environment": "sit", "execution_date": "2026-12-01",
                "consumer_hsa_id": "SE2321000016-KALL", "prestudy_case": "FS-2026-001"}"#,
        )
        .unwrap();
        assert_eq!(form.contract, RESPONDER_NS);
        assert!(form.logical_addresses.is_empty() && form.region_name.is_none());
        assert_eq!(form.ordered_by, "Beställningsstödet");
        let form: ProducerForm = serde_json::from_str(
            r#"{"environment": "qa", "execution_date": "2026-12-01", "producer_hsa_id": "X",
                "county_code": "14", "url": "https://x.se/", "prestudy_case": "FS"}"#,
        )
        .unwrap();
        assert_eq!(form.rivta_profile, "RIVTABP21");
        assert_eq!(form.environment, EnvName::Qa);
        // Journals written before the last two fields existed still read.
        let old: PreparedOrder = serde_json::from_str(
            r#"{"json": "{}", "kind": "producer", "environment": "sit", "hsa_id": "X"}"#,
        )
        .unwrap();
        assert!(old.logical_addresses.is_empty() && old.contract.is_empty());
    }
}
