//! The forms of Beställningsstödet: system information, pre-studies, the consumer order and
//! the producer order. A form is checked against the rules Beställningsstödet's procedure sets
//! and turned into a real-format JSON order (the same JSON a user could submit raw), which the
//! caller shows to the user and submits to TAK with [`crate::orders::apply`].
//!
//! Pure: no IO, no clock (times are passed in). It does not execute orders and does not know
//! the router.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    config::EnvName,
    contract::{COUNTY_CODES, LOAD_MOCKS, RESPONDER_NS},
    tak::Store,
};

/// A contact person (kontaktperson).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Name (namn).
    pub name: String,
    /// E-mail (e-post).
    pub email: String,
    /// Phone (telefon).
    #[serde(default)]
    pub phone: Option<String>,
}

/// System information (systeminformation), registered before ordering for a system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemInfo {
    /// Organisation (organisation).
    pub organisation: String,
    /// System name (systemnamn).
    pub system_name: String,
    /// HSA-id, as in the system's function certificate.
    pub hsa_id: String,
    /// Main contact (huvudkontakt).
    pub main_contact: Contact,
    /// Technical contact (teknisk kontakt).
    pub technical_contact: Contact,
    /// Environment (miljö).
    pub environment: EnvName,
}

/// A pre-study (förstudie) and the environments it is approved for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreStudy {
    /// Case number (ärendenummer).
    pub case_number: String,
    /// Organisation.
    pub organisation: String,
    /// Environments the connection is approved for.
    pub approved_for: Vec<EnvName>,
}

/// The consumer order form (beställning av tjänstekonsument).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsumerForm {
    /// Environment (miljö).
    pub environment: EnvName,
    /// Execution day (genomförandedatum).
    pub execution_date: NaiveDate,
    /// The consumer system's HSA-id.
    pub consumer_hsa_id: String,
    /// Service contract (tjänstekontrakt); default ProcessCervixScreeningInformation.
    #[serde(default = "default_contract")]
    pub contract: String,
    /// Logical addresses; empty: `SE`, plus `LOAD-MOCKS` in SIT.
    #[serde(default)]
    pub logical_addresses: Vec<String>,
    /// Pre-study case number (förstudiens ärendenummer).
    pub prestudy_case: String,
    /// The region's name when an agent (ombud) orders on its behalf.
    #[serde(default)]
    pub region_name: Option<String>,
    /// Who orders (beställare).
    #[serde(default = "default_by")]
    pub ordered_by: String,
}

/// The producer order form (beställning av tjänsteproducent).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProducerForm {
    /// Environment (miljö).
    pub environment: EnvName,
    /// Execution day (genomförandedatum).
    pub execution_date: NaiveDate,
    /// The producing system's HSA-id.
    pub producer_hsa_id: String,
    /// Service contract; default ProcessCervixScreeningInformation.
    #[serde(default = "default_contract")]
    pub contract: String,
    /// The region's two-digit county code (länskod): the logical address.
    pub county_code: String,
    /// RIVTA profile; must be RIVTABP21.
    #[serde(default = "default_profile")]
    pub rivta_profile: String,
    /// The URL the platform shall call.
    pub url: String,
    /// Pre-study case number.
    pub prestudy_case: String,
    /// The region's name when an agent orders on its behalf.
    #[serde(default)]
    pub region_name: Option<String>,
    /// Who orders.
    #[serde(default = "default_by")]
    pub ordered_by: String,
}

fn default_contract() -> String {
    RESPONDER_NS.to_string()
}
fn default_profile() -> String {
    "RIVTABP21".to_string()
}
fn default_by() -> String {
    "Beställningsstödet".to_string()
}

/// Consumer or producer connection (anslutningstyp).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionKind {
    /// Tjänstekonsument.
    Consumer,
    /// Tjänsteproducent.
    Producer,
}

/// A checked form turned into a real-format order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedOrder {
    /// The order JSON (pretty-printed), as it is submitted to TAK.
    pub json: String,
    /// Consumer or producer.
    pub kind: ConnectionKind,
    /// For which environment.
    pub environment: EnvName,
    /// For which system.
    pub hsa_id: String,
    /// The logical addresses it concerns (for the one-producer-per-county rule).
    pub logical_addresses: Vec<String>,
    /// The contract.
    pub contract: String,
}

/// A form rule that was broken; each message names the input and says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// A required field is empty.
    #[error("{field} must not be empty")]
    Missing {
        /// The field.
        field: &'static str,
    },
    /// An HSA-id with characters TAK does not allow.
    #[error("HSA-id {0:?} is not valid: only 0-9, a-z, A-Z, '_' and '-' are allowed")]
    HsaId(String),
    /// Registered twice.
    #[error("system {hsa_id} is already registered for {environment}")]
    SystemExists {
        /// HSA-id.
        hsa_id: String,
        /// Environment.
        environment: EnvName,
    },
    /// Pre-study registered twice.
    #[error("pre-study {0} is already registered")]
    PreStudyExists(String),
    /// The system is not registered for the environment.
    #[error(
        "system {hsa_id} is not registered for {environment}: register its system information first (POST /api/systems, or `ntjp system register --env {environment} --hsa-id {hsa_id} ...`)"
    )]
    UnknownSystem {
        /// HSA-id.
        hsa_id: String,
        /// Environment.
        environment: EnvName,
    },
    /// No such pre-study.
    #[error(
        "pre-study {0} is not registered: register the approved pre-study first (POST /api/prestudies, or `ntjp prestudy register`)"
    )]
    UnknownPreStudy(String),
    /// The pre-study is not approved for this environment.
    #[error(
        "pre-study {case} is not approved for {environment} (approved for: {approved}); an approved pre-study for the environment is required before connection"
    )]
    NotApproved {
        /// Case number.
        case: String,
        /// Environment.
        environment: EnvName,
        /// Where it is approved.
        approved: String,
    },
    /// One order per system, connection type and environment.
    #[error(
        "{hsa_id} already has a {kind} order in {environment}; Beställningsstödet takes one order per system, connection type and environment"
    )]
    AlreadyOrdered {
        /// HSA-id.
        hsa_id: String,
        /// consumer/producer.
        kind: &'static str,
        /// Environment.
        environment: EnvName,
    },
    /// Not a current county code.
    #[error(
        "logical address {code:?} is not a current county code ({codes}); a producer of ProcessCervixScreeningInformation is addressed by its region's two-digit county code, not an HSA-id{retired}"
    )]
    NotCounty {
        /// The input.
        code: String,
        /// The current codes.
        codes: String,
        /// Extra text for retired codes.
        retired: &'static str,
    },
    /// Another system produces for the county.
    #[error(
        "county {county} already has a producing system for this contract in {environment}: {holder}; there is one producing system per county"
    )]
    CountyTaken {
        /// County code.
        county: String,
        /// Environment.
        environment: EnvName,
        /// The system holding it.
        holder: String,
    },
    /// LOAD-MOCKS outside SIT.
    #[error(
        "LOAD-MOCKS exists only in SIT (the platform's test mocks); {environment} has no LOAD-MOCKS address"
    )]
    LoadMocksOutsideSit {
        /// Environment.
        environment: EnvName,
    },
    /// Not RIVTABP21.
    #[error(
        "RIVTA profile {0:?} is not allowed: ProcessCervixScreeningInformation is RIVTABP21 only"
    )]
    Profile(String),
    /// A URL TAK would refuse.
    #[error("URL {url:?} is not valid: {reason}")]
    Url {
        /// The input.
        url: String,
        /// Why.
        reason: String,
    },
}

/// Registered systems and pre-studies, and the orders the forms produced.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Forms {
    systems: Vec<SystemInfo>,
    prestudies: Vec<PreStudy>,
    orders: Vec<PreparedOrder>,
}

fn hsa_ok(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn need(field: &'static str, value: &str) -> Result<(), FormError> {
    if value.trim().is_empty() {
        return Err(FormError::Missing { field });
    }
    Ok(())
}

impl Forms {
    /// Registers a system for an environment.
    pub fn register_system(&mut self, s: SystemInfo) -> Result<(), FormError> {
        need("organisation", &s.organisation)?;
        need("system_name", &s.system_name)?;
        need("main_contact.name", &s.main_contact.name)?;
        if !hsa_ok(&s.hsa_id) {
            return Err(FormError::HsaId(s.hsa_id));
        }
        if self
            .systems
            .iter()
            .any(|x| x.hsa_id.eq_ignore_ascii_case(&s.hsa_id) && x.environment == s.environment)
        {
            return Err(FormError::SystemExists {
                hsa_id: s.hsa_id,
                environment: s.environment,
            });
        }
        self.systems.push(s);
        Ok(())
    }

    /// Registers a pre-study.
    pub fn register_prestudy(&mut self, p: PreStudy) -> Result<(), FormError> {
        need("case_number", &p.case_number)?;
        if self
            .prestudies
            .iter()
            .any(|x| x.case_number == p.case_number)
        {
            return Err(FormError::PreStudyExists(p.case_number));
        }
        self.prestudies.push(p);
        Ok(())
    }

    /// Registered systems.
    pub fn systems(&self) -> &[SystemInfo] {
        &self.systems
    }

    /// Registered pre-studies.
    pub fn prestudies(&self) -> &[PreStudy] {
        &self.prestudies
    }

    fn system(&self, hsa_id: &str, env: EnvName) -> Result<&SystemInfo, FormError> {
        self.systems
            .iter()
            .find(|s| s.hsa_id.eq_ignore_ascii_case(hsa_id) && s.environment == env)
            .ok_or_else(|| FormError::UnknownSystem {
                hsa_id: hsa_id.to_string(),
                environment: env,
            })
    }

    fn prestudy(&self, case: &str, env: EnvName) -> Result<&PreStudy, FormError> {
        let p = self
            .prestudies
            .iter()
            .find(|p| p.case_number == case)
            .ok_or_else(|| FormError::UnknownPreStudy(case.to_string()))?;
        if !p.approved_for.contains(&env) {
            return Err(FormError::NotApproved {
                case: case.to_string(),
                environment: env,
                approved: p
                    .approved_for
                    .iter()
                    .map(|e| e.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(p)
    }

    fn once(&self, hsa_id: &str, kind: ConnectionKind, env: EnvName) -> Result<(), FormError> {
        if self.orders.iter().any(|o| {
            o.kind == kind && o.environment == env && o.hsa_id.eq_ignore_ascii_case(hsa_id)
        }) {
            return Err(FormError::AlreadyOrdered {
                hsa_id: hsa_id.to_string(),
                kind: match kind {
                    ConnectionKind::Consumer => "consumer",
                    ConnectionKind::Producer => "producer",
                },
                environment: env,
            });
        }
        Ok(())
    }

    /// Checks the consumer form and builds its order.
    pub fn consumer_order(
        &self,
        form: &ConsumerForm,
        platform: &str,
        _store: &Store,
        now: DateTime<Utc>,
    ) -> Result<PreparedOrder, FormError> {
        let env = form.environment;
        let system = self.system(&form.consumer_hsa_id, env)?;
        let prestudy = self.prestudy(&form.prestudy_case, env)?;
        self.once(&form.consumer_hsa_id, ConnectionKind::Consumer, env)?;
        let addresses: Vec<String> = if form.logical_addresses.is_empty() {
            let mut a = vec!["SE".to_string()];
            if env == EnvName::Sit {
                a.push(LOAD_MOCKS.to_string());
            }
            a
        } else {
            form.logical_addresses.clone()
        };
        for a in &addresses {
            if a.eq_ignore_ascii_case(LOAD_MOCKS) && env != EnvName::Sit {
                return Err(FormError::LoadMocksOutsideSit { environment: env });
            }
            if !hsa_ok(a) {
                return Err(FormError::HsaId(a.clone()));
            }
        }
        let consumer = form.consumer_hsa_id.to_ascii_uppercase();
        let describe = |a: &str| match a {
            "SE" => "Nationell nivå (öppen behörighet)".to_string(),
            LOAD_MOCKS => "Tjänsteplattformens mockproducent i testmiljön".to_string(),
            other => format!("Logisk adress {other}"),
        };
        let order = json!({
            "plattform": platform,
            "formatVersion": "1.0",
            "version": "1",
            "bestallningsTidpunkt": now.format("%Y-%m-%dT%H:%M:%S+0000").to_string(),
            "genomforandeTidpunkt": format!("{}T00:00:00+0000", form.execution_date.format("%Y-%m-%d")),
            "utforare": form.ordered_by,
            "kommentar": comment("tjänstekonsument", system, prestudy, form.region_name.as_deref()),
            "inkludera": {
                "tjanstekontrakt": [{"namnrymd": form.contract, "beskrivning": contract_description(&form.contract), "majorVersion": major(&form.contract)}],
                "logiskadresser": addresses.iter().map(|a| json!({"hsaId": a, "beskrivning": describe(a)})).collect::<Vec<_>>(),
                "tjanstekomponenter": [{"hsaId": consumer, "beskrivning": format!("{}, {}", system.organisation, system.system_name)}],
                "anropsbehorigheter": addresses.iter().map(|a| json!({"logiskAdress": a, "tjanstekontrakt": form.contract, "tjanstekonsument": consumer})).collect::<Vec<_>>(),
            },
            "exkludera": {},
        });
        Ok(PreparedOrder {
            json: serde_json::to_string_pretty(&order).unwrap_or_default(),
            kind: ConnectionKind::Consumer,
            environment: env,
            hsa_id: consumer,
            logical_addresses: addresses,
            contract: form.contract.clone(),
        })
    }

    /// Checks the producer form and builds its order.
    pub fn producer_order(
        &self,
        form: &ProducerForm,
        platform: &str,
        store: &Store,
        now: DateTime<Utc>,
    ) -> Result<PreparedOrder, FormError> {
        let env = form.environment;
        let system = self.system(&form.producer_hsa_id, env)?;
        let county = form.county_code.trim();
        let Some((_, region)) = COUNTY_CODES.iter().find(|(c, _)| *c == county) else {
            let retired = if matches!(county, "00" | "02" | "11" | "15" | "16") {
                " (02, 11, 15 and 16 are retired county codes and 00 is not a region)"
            } else {
                ""
            };
            return Err(FormError::NotCounty {
                code: form.county_code.clone(),
                codes: COUNTY_CODES
                    .iter()
                    .map(|(c, _)| *c)
                    .collect::<Vec<_>>()
                    .join(", "),
                retired,
            });
        };
        if form.rivta_profile != "RIVTABP21" {
            return Err(FormError::Profile(form.rivta_profile.clone()));
        }
        let url = form.url.trim();
        let url_err = |reason: &str| FormError::Url {
            url: form.url.clone(),
            reason: reason.to_string(),
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(url_err("it must start with http:// or https://"));
        }
        if url.len() < 5 || url.len() > 255 {
            return Err(url_err("it must be 5 to 255 characters long"));
        }
        if let Some(c) = url
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "_.:/-?&".contains(*c)))
        {
            return Err(url_err(&format!(
                "TAK allows only 0-9, a-z, A-Z and _ . : / - ? & in addresses, not {c:?}"
            )));
        }
        let prestudy = self.prestudy(&form.prestudy_case, env)?;
        self.once(&form.producer_hsa_id, ConnectionKind::Producer, env)?;
        let producer = form.producer_hsa_id.to_ascii_uppercase();
        // One producing system per county and contract: in TAK, and among earlier orders.
        if let Some(s) = store.latest_snapshot() {
            for r in s.routes() {
                if r.logical_address.eq_ignore_ascii_case(county)
                    && r.contract.eq_ignore_ascii_case(&form.contract)
                    && r.target.validity.to >= form.execution_date
                    && !r.target.producer.eq_ignore_ascii_case(&producer)
                {
                    return Err(FormError::CountyTaken {
                        county: county.to_string(),
                        environment: env,
                        holder: r.target.producer.clone(),
                    });
                }
            }
        }
        if let Some(o) = self.orders.iter().find(|o| {
            o.kind == ConnectionKind::Producer
                && o.environment == env
                && !o.hsa_id.eq_ignore_ascii_case(&producer)
                && o.contract.eq_ignore_ascii_case(&form.contract)
                && o.logical_addresses.iter().any(|a| a == county)
        }) {
            return Err(FormError::CountyTaken {
                county: county.to_string(),
                environment: env,
                holder: o.hsa_id.clone(),
            });
        }
        let order = json!({
            "plattform": platform,
            "formatVersion": "1.0",
            "version": "1",
            "bestallningsTidpunkt": now.format("%Y-%m-%dT%H:%M:%S+0000").to_string(),
            "genomforandeTidpunkt": format!("{}T00:00:00+0000", form.execution_date.format("%Y-%m-%d")),
            "utforare": form.ordered_by,
            "kommentar": comment("tjänsteproducent", system, prestudy, form.region_name.as_deref()),
            "inkludera": {
                "tjanstekontrakt": [{"namnrymd": form.contract, "beskrivning": contract_description(&form.contract), "majorVersion": major(&form.contract)}],
                "logiskadresser": [{"hsaId": county, "beskrivning": region}],
                "tjanstekomponenter": [{"hsaId": producer, "beskrivning": format!("{}, {}", system.organisation, system.system_name)}],
                "vagval": [{"adress": url, "logiskAdress": county, "tjanstekontrakt": form.contract, "rivtaprofil": "RIVTABP21", "tjanstekomponent": producer}],
            },
            "exkludera": {},
        });
        Ok(PreparedOrder {
            json: serde_json::to_string_pretty(&order).unwrap_or_default(),
            kind: ConnectionKind::Producer,
            environment: env,
            hsa_id: producer,
            logical_addresses: vec![county.to_string()],
            contract: form.contract.clone(),
        })
    }

    /// Remembers an order TAK accepted (for the one-order-per-system rule).
    pub fn record(&mut self, prepared: &PreparedOrder) {
        self.orders.push(prepared.clone());
    }
}

fn major(contract: &str) -> i64 {
    contract
        .rsplit(':')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn contract_description(contract: &str) -> String {
    contract
        .rsplit(':')
        .nth(1)
        .map(|n| n.trim_end_matches("Responder").to_string())
        .unwrap_or_else(|| contract.to_string())
}

fn comment(kind: &str, system: &SystemInfo, prestudy: &PreStudy, region: Option<&str>) -> String {
    let mut c = format!(
        "Anslutning av {kind} {} ({}, {}). Förstudie {}. Kontakt: {} <{}>, teknisk kontakt: {} <{}>.",
        system.hsa_id,
        system.organisation,
        system.system_name,
        prestudy.case_number,
        system.main_contact.name,
        system.main_contact.email,
        system.technical_contact.name,
        system.technical_contact.email
    );
    if let Some(r) = region {
        c.push_str(&format!(" Beställd av ombud för {r}."));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders;

    fn contact() -> Contact {
        Contact {
            name: "Anna".into(),
            email: "anna@example.se".into(),
            phone: None,
        }
    }

    fn sit_store() -> Store {
        let mut store = Store::new("NTJP-TEST");
        for text in [
            include_str!("../../fixtures/orders/sit/01-producer-cervix-mocks.json"),
            include_str!("../../fixtures/orders/sit/02-consumer-testbed.json"),
        ] {
            let o =
                orders::parse(&text.replace("{{mocks}}", "https://127.0.0.1:25000/mocks")).unwrap();
            orders::apply(&mut store, &o).unwrap();
        }
        store.publish("t", "t", Utc::now());
        store
    }

    fn forms() -> Forms {
        let mut f = Forms::default();
        for env in [EnvName::Sit, EnvName::Qa] {
            f.register_system(SystemInfo {
                organisation: "Region Test".into(),
                system_name: "Sys".into(),
                hsa_id: "SE2321000016-SYS".into(),
                main_contact: contact(),
                technical_contact: contact(),
                environment: env,
            })
            .unwrap();
        }
        f.register_prestudy(PreStudy {
            case_number: "FS-1".into(),
            organisation: "Region Test".into(),
            approved_for: vec![EnvName::Sit],
        })
        .unwrap();
        f
    }

    fn producer(county: &str) -> ProducerForm {
        ProducerForm {
            environment: EnvName::Sit,
            execution_date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            producer_hsa_id: "SE2321000016-SYS".into(),
            contract: RESPONDER_NS.into(),
            county_code: county.into(),
            rivta_profile: "RIVTABP21".into(),
            url: "https://p.example.se/ProcessCervixScreeningInformation/1/rivtabp21".into(),
            prestudy_case: "FS-1".into(),
            region_name: None,
            ordered_by: "t".into(),
        }
    }

    fn consumer(env: EnvName) -> ConsumerForm {
        ConsumerForm {
            environment: env,
            execution_date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            consumer_hsa_id: "SE2321000016-SYS".into(),
            contract: RESPONDER_NS.into(),
            logical_addresses: vec![],
            prestudy_case: "FS-1".into(),
            region_name: Some("Region Test".into()),
            ordered_by: "t".into(),
        }
    }

    #[test]
    fn a_consumer_form_becomes_an_order_tak_accepts_and_only_once() {
        let mut f = forms();
        let mut store = sit_store();
        let p = f
            .consumer_order(&consumer(EnvName::Sit), "NTJP-TEST", &store, Utc::now())
            .unwrap();
        assert_eq!(p.logical_addresses, vec!["SE", "LOAD-MOCKS"]);
        let report = orders::apply(&mut store, &orders::parse(&p.json).unwrap()).unwrap();
        assert!(report.to_text().contains("Nyskapad"));
        f.record(&p);
        let e = f
            .consumer_order(&consumer(EnvName::Sit), "NTJP-TEST", &store, Utc::now())
            .unwrap_err();
        assert!(matches!(e, FormError::AlreadyOrdered { .. }), "{e}");
    }

    #[test]
    fn producer_rules_name_the_input() {
        let f = forms();
        let store = sit_store();
        let e = f
            .producer_order(&producer("SE2321000016-X"), "NTJP-TEST", &store, Utc::now())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not a current county code") && e.contains("not an HSA-id"),
            "{e}"
        );
        let e = f
            .producer_order(&producer("02"), "NTJP-TEST", &store, Utc::now())
            .unwrap_err()
            .to_string();
        assert!(e.contains("retired"), "{e}");
        let e = f
            .producer_order(&producer("14"), "NTJP-TEST", &store, Utc::now())
            .unwrap_err()
            .to_string();
        assert!(e.contains("TSTNMT2321000156-MOCK14"), "{e}");
        let mut bp20 = producer("14");
        bp20.rivta_profile = "RIVTABP20".into();
        assert!(matches!(
            f.producer_order(&bp20, "NTJP-TEST", &store, Utc::now()),
            Err(FormError::Profile(_))
        ));
        let mut bad_url = producer("14");
        bad_url.url = "https://p.example.se/x?a=b".into();
        assert!(matches!(
            f.producer_order(&bad_url, "NTJP-TEST", &store, Utc::now()),
            Err(FormError::Url { .. })
        ));
        // A county nobody produces for yet.
        let empty = Store::new("NTJP-TEST");
        let p = f
            .producer_order(&producer("14"), "NTJP-TEST", &empty, Utc::now())
            .unwrap();
        assert!(
            p.json.contains("Region Västra Götaland") || p.json.contains("\"14\""),
            "{}",
            p.json
        );
    }

    #[test]
    fn system_prestudy_and_load_mocks_rules() {
        let f = forms();
        let store = sit_store();
        let mut unknown = consumer(EnvName::Sit);
        unknown.consumer_hsa_id = "SE2321000016-NOPE".into();
        assert!(matches!(
            f.consumer_order(&unknown, "NTJP-TEST", &store, Utc::now()),
            Err(FormError::UnknownSystem { .. })
        ));
        let mut qa = consumer(EnvName::Qa);
        let e = f
            .consumer_order(&qa, "NTJP-QA", &store, Utc::now())
            .unwrap_err();
        assert!(matches!(e, FormError::NotApproved { .. }), "{e}");
        qa.prestudy_case = "FS-404".into();
        assert!(matches!(
            f.consumer_order(&qa, "NTJP-QA", &store, Utc::now()),
            Err(FormError::UnknownPreStudy(_))
        ));
        let mut f2 = f.clone();
        f2.register_prestudy(PreStudy {
            case_number: "FS-QA".into(),
            organisation: "R".into(),
            approved_for: vec![EnvName::Qa],
        })
        .unwrap();
        let mut lm = consumer(EnvName::Qa);
        lm.prestudy_case = "FS-QA".into();
        lm.logical_addresses = vec!["SE".into(), "LOAD-MOCKS".into()];
        assert!(matches!(
            f2.consumer_order(&lm, "NTJP-QA", &store, Utc::now()),
            Err(FormError::LoadMocksOutsideSit { .. })
        ));
    }
}
