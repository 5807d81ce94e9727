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
    config::EnvName,
    contract::{COUNTY_CODES, LOAD_MOCKS, RESPONDER_NS},
    tak::{Store, Validity},
};

/// The only RIVTA profile of ProcessCervixScreeningInformation.
const PROFILE: &str = "RIVTABP21";
/// The mock producer's addresses: `LOAD-MOCKS` and its newer name. They exist in SIT only.
const MOCK_ADDRESSES: [&str; 2] = [LOAD_MOCKS, "NTJP-MOCKS"];
/// The national level: an authorisation to `SE` is the open authorisation to every region.
const NATIONAL: &str = "SE";
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
        return Err(err("the platform calls producers over HTTP(S): it must start with https:// (or http://)"));
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
    contract: &'a str,
    environment: EnvName,
    prestudy: &'a PreStudy,
    region: Option<&'a str>,
}

/// The kommentar: the connection, the case number, the region (via an agent) and the contacts,
/// within TAK's 255 characters.
fn comment(a: &About<'_>) -> String {
    let contact = |c: &Contact| match non_empty(&c.phone) {
        Some(p) => format!("{} <{}>, tfn {p}", c.name.trim(), c.email.trim()),
        None => format!("{} <{}>", c.name.trim(), c.email.trim()),
    };
    let mut text = format!(
        "Anslutning av {} {} ({}, {}) till {} i {}. Förstudie {}.",
        a.kind,
        a.system.hsa_id.trim(),
        a.system.system_name.trim(),
        a.system.organisation.trim(),
        contract_name(a.contract),
        a.environment.as_str().to_uppercase(),
        a.prestudy.case_number.trim(),
    );
    if let Some(region) = a.region {
        text.push_str(&format!(" Beställd av ombud för {region}."));
    }
    text.push_str(&format!(
        " Kontakt: {}; teknisk kontakt: {}.",
        contact(&a.system.main_contact),
        contact(&a.system.technical_contact)
    ));
    clip(&text)
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
            contract,
            environment: env,
            prestudy,
            region: non_empty(&form.region_name),
        };
        let json = order_json(platform, now, form.execution_date, &form.ordered_by, &about, include);
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

        // One producing system per county and contract: TAK's routes from the execution day on
        // (pending changes included), then the orders recorded earlier.
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
                .map(|c| c.hsa_id.clone())
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
            contract,
            environment: env,
            prestudy,
            region: non_empty(&form.region_name),
        };
        let json = order_json(platform, now, form.execution_date, &form.ordered_by, &about, include);
        Ok(PreparedOrder {
            json,
            kind: ConnectionKind::Producer,
            environment: env,
            hsa_id: producer,
            logical_addresses: vec![county.to_string()],
            contract: contract.to_string(),
        })
    }

    /// Remembers an order TAK accepted, for the one-order-per-system and one-producer-per-county
    /// rules.
    pub fn record(&mut self, prepared: &PreparedOrder) {
        self.orders.push(prepared.clone());
    }
}

/// The contract item: TAK's own description when the contract exists (TAK skips it then),
/// else its name and major version.
fn contract_item(store: &Store, contract: &str, major: i64) -> ContractItem {
    let description = match store.find_contract(contract) {
        Some(row) => row.description.clone(),
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
        return row.description.clone();
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
