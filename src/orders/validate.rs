//! Validation of an order against a TAK, in tak-web's phases, producing an execution plan (`Plan`).
//!
//! Phases (each runs only when the previous ones found nothing; errors are a de-duplicated set):
//! 1. platform check;
//! 2. duplicates over `inkludera` ∪ `exkludera` (case-insensitive; a route is keyed on address +
//!    contract only), the rows that excluded routes/authorisations end (more than one overlapping
//!    row is an error, none is "Existerar ej"), and the field rules of new plain objects
//!    (excluded plain objects are ignored, included ones that already exist are skipped);
//! 3. required fields of routes/authorisations, then their references: component, contract and
//!    logical address in TAK (case-insensitive) or created by the same order (case-sensitive, as
//!    tak-web looks them up in the order), the RIVTA profile in TAK; the call address is reused
//!    or a new one is validated;
//! 4. the date arithmetic of included routes/authorisations (more than one overlapping row is an
//!    error).
//!
//! Nothing here changes the store; [`super::execute`] carries out the plan. Not modelled: the
//! "unpublished and edited by another user" checks (this TAK has no users).

use std::collections::{BTreeSet, HashMap, HashSet};

use hashbrown::HashTable;

use crate::tak::key::{KeyHasher, ci_eq};
use crate::tak::model::{Id, Validity};
use crate::tak::{Day, Store};

use super::format::{AuthorisationItem, Order, PlainItem, RouteItem, java_str};

/// A reference to a plain object: a TAK row or one created by the order (index into the plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Ref {
    Existing(Id),
    New(usize),
}

/// A logical address or service component the order creates.
#[derive(Debug, Clone)]
pub(crate) struct NewPlain {
    /// The cleaned HSA-id as written in the order (upper-cased when stored).
    pub hsa_id: String,
    pub description: String,
}

/// A service contract the order creates.
#[derive(Debug, Clone)]
pub(crate) struct NewContract {
    pub namespace: String,
    pub description: String,
    pub major_version: i64,
}

/// A call address (anropsadress) the order creates.
#[derive(Debug, Clone)]
pub(crate) struct NewCallAddress {
    pub producer: Ref,
    pub profile: Id,
    pub url: String,
}

/// How an existing row ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// `F` before the row's start: soft-delete it (Borttagen).
    Delete,
    /// Otherwise: the row now ends on `F − 1` (Deaktiverad).
    EndOn(Day),
}

/// What an included authorisation does.
#[derive(Debug, Clone)]
pub(crate) enum AuthorisationPlan {
    /// No overlapping row: a new one valid [F, T].
    Create {
        consumer: Ref,
        contract: Ref,
        logical_address: Ref,
    },
    /// One overlapping row: extended to T (and starting at F when F is earlier).
    Update { id: Id, validity: Validity },
}

/// What an included route does.
#[derive(Debug, Clone)]
pub(crate) enum RoutePlan {
    /// No overlapping row: a new one valid [F, T].
    Create {
        logical_address: Ref,
        contract: Ref,
        call_address: Ref,
    },
    /// One overlapping row with the same call address: extended.
    Update { id: Id, validity: Validity },
    /// One overlapping row with another call address: it ends, a new one starts.
    Replace {
        old: Id,
        ending: Ending,
        logical_address: Ref,
        contract: Ref,
        call_address: Ref,
    },
}

/// What an excluded route or authorisation does.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ExclusionPlan {
    /// Nothing overlapping: reported "Existerar ej", not an error.
    NotFound,
    /// The one overlapping row ends.
    End { id: Id, ending: Ending },
}

/// Everything an order will do, decided before anything changes.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// [F, T]: the execution day and F + 100 years.
    pub period: Validity,
    pub logical_addresses: Vec<NewPlain>,
    pub components: Vec<NewPlain>,
    pub contracts: Vec<NewContract>,
    pub call_addresses: Vec<NewCallAddress>,
    /// Existing call addresses referenced by included routes (tak-web re-saves them).
    pub touched_call_addresses: Vec<Id>,
    /// Parallel to `order.include.authorisations`.
    pub include_authorisations: Vec<AuthorisationPlan>,
    /// Parallel to `order.include.routes`.
    pub include_routes: Vec<RoutePlan>,
    /// Parallel to `order.exclude.authorisations`.
    pub exclude_authorisations: Vec<ExclusionPlan>,
    /// Parallel to `order.exclude.routes`.
    pub exclude_routes: Vec<ExclusionPlan>,
}

impl Plan {
    /// Whether executing the plan would leave nothing for tak-web to publish: no object
    /// created, no route or authorisation included (tak-web re-saves an included one even when
    /// its dates stay, so that is a change), and nothing to end. Such an order is `{}`, only
    /// plain objects TAK already holds (tak-web drops them silently), or only exclusions of
    /// what does not exist ("Existerar ej").
    pub(crate) fn changes_nothing(&self) -> bool {
        self.logical_addresses.is_empty()
            && self.components.is_empty()
            && self.contracts.is_empty()
            && self.call_addresses.is_empty()
            && self.include_authorisations.is_empty()
            && self.include_routes.is_empty()
            && self
                .exclude_authorisations
                .iter()
                .chain(&self.exclude_routes)
                .all(|p| matches!(p, ExclusionPlan::NotFound))
    }

    /// Whether the order's report has a line even when it changes nothing: an exclusion
    /// (reported "Existerar ej" when there is nothing to end).
    pub(crate) fn reports_something(&self) -> bool {
        !self.exclude_authorisations.is_empty() || !self.exclude_routes.is_empty()
    }
}

/// The exact Swedish messages of tak-web.
pub mod messages {
    /// Phase 1.
    pub fn wrong_platform(order: &str, instance: &str) -> String {
        format!(
            "Beställningen avser plattform {order}, men den här instansen av tak-web hanterar {instance}."
        )
    }
    /// Phase 2, duplicates (`parts` is Java's `List.toString`, e.g. `[01, urn:…]`).
    pub fn duplicate_authorisation(parts: &str) -> String {
        format!("Anropsbehörigheten {parts} får inte finnas på flera ställen i beställningen.")
    }
    /// Phase 2, duplicates.
    pub fn duplicate_route(parts: &str) -> String {
        format!("Vägvalet {parts} får inte finnas på flera ställen i beställningen.")
    }
    /// Phase 2, duplicates.
    pub fn duplicate_contract(parts: &str) -> String {
        format!("Tjänstekontraktet {parts} får inte finnas på flera ställen i beställningen.")
    }
    /// Phase 2, duplicates.
    pub fn duplicate_component(parts: &str) -> String {
        format!("Tjänstekomponenten {parts} får inte finnas på flera ställen i beställningen.")
    }
    /// Phase 2, duplicates.
    pub fn duplicate_logical_address(parts: &str) -> String {
        format!("Den logiska adressen {parts} får inte finnas på flera ställen i beställningen.")
    }
    /// Phases 2 and 4: more than one overlapping route.
    pub fn several_routes(address: &str, contract: &str) -> String {
        format!(
            "Det finns mer än ett vagval i databasen med dessa parametrar {address} - {contract}."
        )
    }
    /// Phases 2 and 4: more than one overlapping authorisation.
    pub fn several_authorisations(address: &str, contract: &str, consumer: &str) -> String {
        format!(
            "Det finns mer än en anropsbehörighet i databasen med dessa parametrar {address} - {contract} - {consumer}."
        )
    }
    /// Prefix of field-rule errors of a new logical address.
    pub const CREATE_LOGICAL_ADDRESS: &str = "Skapa Logisk Adress: ";
    /// Prefix of field-rule errors of a new service component.
    pub const CREATE_COMPONENT: &str = "Skapa Tjänstekomponent: ";
    /// Prefix of field-rule errors of a new service contract.
    pub const CREATE_CONTRACT: &str = "Skapa Tjänstekontrakt: ";
    /// Prefix of reference and call-address errors of an included route.
    pub const CREATE_ROUTE: &str = "Skapa Vägval: ";
    /// Prefix of reference errors of an included authorisation.
    pub const CREATE_AUTHORISATION: &str = "Skapa Anropsbehörighet: ";
    /// Field rules (tak-web's messages.properties).
    pub const HSA_ID_EMPTY: &str = "HSA-ID får inte vara tomt";
    /// Field rules.
    pub const HSA_ID_CONTENT: &str = "HSA-ID har ogiltigt innehåll";
    /// Field rules.
    pub const HSA_ID_LENGTH: &str = "HSA-ID har felaktig längd";
    /// Field rules.
    pub const NAMESPACE_EMPTY: &str = "Namnrymd får inte vara tom";
    /// Field rules.
    pub const NAMESPACE_CONTENT: &str = "Namnrymd har ogiltigt innehåll";
    /// Field rules.
    pub const NAMESPACE_LENGTH: &str = "Namnrymd har felaktig längd";
    /// Field rules.
    pub const DESCRIPTION_LENGTH: &str = "Beskrivning har felaktig längd";
    /// Field rules.
    pub const URL_EMPTY: &str = "Adress får inte vara tom";
    /// Field rules.
    pub const URL_CONTENT: &str = "Adress har ogiltigt innehåll";
    /// Field rules.
    pub const URL_LENGTH: &str = "Adress har felaktig längd";
    /// Phase 3a, with ` (<item>)` appended.
    pub const MISSING_CREATE_ROUTE: &str =
        "Det saknas information i beställningen för att kunna skapa Vägval.";
    /// Phase 3a.
    pub const MISSING_DELETE_ROUTE: &str =
        "Det saknas information i beställningen för att kunna radera Vägval.";
    /// Phase 3a.
    pub const MISSING_CREATE_AUTHORISATION: &str =
        "Det saknas information i beställningen för att kunna skapa Anropsbehörighet.";
    /// Phase 3a.
    pub const MISSING_DELETE_AUTHORISATION: &str =
        "Det saknas information i beställningen för att kunna radera Anropsbehörighet.";
    /// Phase 3b.
    pub fn no_profile(prefix: &str, name: &str) -> String {
        format!("{prefix}RivTaProfil med namn = {name} finns inte.")
    }
    /// Phase 3b.
    pub fn no_component(prefix: &str, hsa_id: &str) -> String {
        format!("{prefix}Tjänstekomponent med HSAId = {hsa_id} finns inte.")
    }
    /// Phase 3b.
    pub fn no_logical_address(prefix: &str, hsa_id: &str) -> String {
        format!("{prefix}Logisk Adress med HSAId = {hsa_id} finns inte.")
    }
    /// Phase 3b.
    pub fn no_contract(prefix: &str, namespace: &str) -> String {
        format!("{prefix}Tjänstekontrakt med namnrymd = {namespace} finns inte.")
    }
}

/// Java's `List.toString` of strings: `[a, b, c]`.
fn java_list(parts: &[&str]) -> String {
    format!("[{}]", parts.join(", "))
}

/// Reports, for every item that equals a later one (case-insensitively on every key part),
/// the message built from the earlier item (tak-web's `detectDuplicates`): every occurrence of
/// a key but its last. One pass with a hash table of the last occurrence, so O(n).
fn detect_duplicates<T>(
    items: &[&T],
    key: impl Fn(&T) -> Vec<&str>,
    shown: impl Fn(&T) -> Vec<String>,
    message: impl Fn(&str) -> String,
    errors: &mut BTreeSet<String>,
) {
    let keys: Vec<Vec<&str>> = items.iter().map(|i| key(i)).collect();
    let hash = |k: &[&str]| {
        let mut h = KeyHasher::new();
        for part in k {
            h.text(part);
        }
        h.finish()
    };
    let same =
        |a: &[&str], b: &[&str]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| ci_eq(x, y));
    // Key → index of its last occurrence.
    let mut last: HashTable<usize> = HashTable::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let h = hash(k);
        match last.find_mut(h, |&j| same(&keys[j], k)) {
            Some(j) => *j = i,
            None => {
                last.insert_unique(h, i, |&j| hash(&keys[j]));
            }
        }
    }
    for (i, item) in items.iter().enumerate() {
        let k = &keys[i];
        let is_last = last.find(hash(k), |&j| same(&keys[j], k)) == Some(&i);
        if !is_last {
            let parts = shown(item);
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            errors.insert(message(&java_list(&parts)));
        }
    }
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or_default()
}

fn shown(v: &Option<String>) -> String {
    java_str(v).to_string()
}

fn is_hsa_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn is_namespace_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')
}

fn is_url_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '-' | '?' | '&')
}

fn is_blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

/// Field rules of a new logical address or component (`allow_star`: a logical address may be
/// exactly `*`). An empty id gives only the "empty" message (our choice: one message per field).
fn check_hsa_id(hsa_id: &str, allow_star: bool, prefix: &str, errors: &mut BTreeSet<String>) {
    if is_blank(hsa_id) {
        errors.insert(format!("{prefix}{}", messages::HSA_ID_EMPTY));
        return;
    }
    let star = allow_star && hsa_id == "*";
    if !star && !hsa_id.chars().all(is_hsa_char) {
        errors.insert(format!("{prefix}{}", messages::HSA_ID_CONTENT));
    }
    if hsa_id.chars().count() > 255 {
        errors.insert(format!("{prefix}{}", messages::HSA_ID_LENGTH));
    }
}

fn check_description(description: &str, prefix: &str, errors: &mut BTreeSet<String>) {
    if description.chars().count() > 255 {
        errors.insert(format!("{prefix}{}", messages::DESCRIPTION_LENGTH));
    }
}

fn check_namespace(namespace: &str, prefix: &str, errors: &mut BTreeSet<String>) {
    if is_blank(namespace) {
        errors.insert(format!("{prefix}{}", messages::NAMESPACE_EMPTY));
        return;
    }
    if !namespace.chars().all(is_namespace_char) {
        errors.insert(format!("{prefix}{}", messages::NAMESPACE_CONTENT));
    }
    if namespace.chars().count() > 255 {
        errors.insert(format!("{prefix}{}", messages::NAMESPACE_LENGTH));
    }
}

/// Field rules of a new call address: not blank, `[0-9a-zA-Z_.:/\-?&]`, 5 to 255 characters.
fn check_url(url: &str, errors: &mut BTreeSet<String>) {
    let prefix = messages::CREATE_ROUTE;
    if is_blank(url) {
        errors.insert(format!("{prefix}{}", messages::URL_EMPTY));
        return;
    }
    if !url.chars().all(is_url_char) {
        errors.insert(format!("{prefix}{}", messages::URL_CONTENT));
    }
    let len = url.chars().count();
    if !(5..=255).contains(&len) {
        errors.insert(format!("{prefix}{}", messages::URL_LENGTH));
    }
}

/// The ending of a row starting on `row_from` when the order executes on `f`.
fn ending(f: Day, f_minus_1: Day, row_from: Day) -> Ending {
    if f < row_from {
        Ending::Delete
    } else {
        Ending::EndOn(f_minus_1)
    }
}

/// Extension of a row: to T, and from F when F is earlier.
fn extended(period: Validity, existing: Validity) -> Validity {
    if period.from < existing.from {
        period
    } else {
        Validity::new(existing.from, period.to)
    }
}

struct Checker<'a> {
    store: &'a Store,
    order: &'a Order,
    period: Validity,
    f_minus_1: Day,
    errors: BTreeSet<String>,
}

/// Validates `order` against `store` and returns what executing it would do, or every error of
/// the first failing phase. `zone` is the platform's time zone, whose day of
/// `genomforandeTidpunkt` is the execution day.
pub(crate) fn plan(
    store: &Store,
    order: &Order,
    zone: &jiff::tz::TimeZone,
) -> Result<Plan, BTreeSet<String>> {
    let mut errors = BTreeSet::new();

    // Phase 1: platform.
    if order.platform != store.platform() {
        errors.insert(messages::wrong_platform(&order.platform, store.platform()));
        return Err(errors);
    }

    let Some(f) = order.execution_day(zone) else {
        errors.insert("Bestallning is missing mandatory field: genomforandeTidpunkt".to_string());
        return Err(errors);
    };
    let (Some(t), Some(f_minus_1)) = (
        f.checked_add_months(chrono::Months::new(1200)),
        f.pred_opt(),
    ) else {
        errors.insert(format!(
            "genomforandeTidpunkt {f} ligger utanför det datumintervall som kan hanteras."
        ));
        return Err(errors);
    };
    let mut c = Checker {
        store,
        order,
        period: Validity::new(f, t),
        f_minus_1,
        errors,
    };

    let phase2 = c.phase2();
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    let (logical_addresses, components, contracts, exclude_routes, exclude_authorisations) = phase2;

    let phase3 = c.phase3(&logical_addresses, &components, &contracts);
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    let Some(phase3) = phase3 else {
        return Err(c.errors);
    };

    let (include_authorisations, include_routes) = c.phase4(&phase3);
    if !c.errors.is_empty() {
        return Err(c.errors);
    }

    Ok(Plan {
        period: c.period,
        logical_addresses,
        components,
        contracts,
        call_addresses: phase3.new_call_addresses,
        touched_call_addresses: phase3.touched_call_addresses,
        include_authorisations,
        include_routes,
        exclude_authorisations,
        exclude_routes,
    })
}

/// Resolved references of the included routes and authorisations (phase 3).
struct Relations {
    /// (consumer, contract, logical address) per included authorisation.
    authorisations: Vec<(Ref, Ref, Ref)>,
    /// (logical address, contract, call address) per included route.
    routes: Vec<(Ref, Ref, Ref)>,
    new_call_addresses: Vec<NewCallAddress>,
    touched_call_addresses: Vec<Id>,
}

type Phase2 = (
    Vec<NewPlain>,
    Vec<NewPlain>,
    Vec<NewContract>,
    Vec<ExclusionPlan>,
    Vec<ExclusionPlan>,
);

impl<'a> Checker<'a> {
    fn phase2(&mut self) -> Phase2 {
        // a. Duplicates over inkludera ∪ exkludera.
        self.detect_all_duplicates();

        // b. Excluded plain objects are ignored (orders cannot delete them).

        // c. The rows excluded routes and authorisations end.
        let exc = &self.order.exclude;
        let exclude_routes = exc.routes.iter().map(|r| self.exclude_route(r)).collect();
        let exclude_authorisations = exc
            .authorisations
            .iter()
            .map(|a| self.exclude_authorisation(a))
            .collect();

        // d + e. Included plain objects: existing ones are skipped, new ones checked.
        let inc = &self.order.include;
        let new_las = self.new_plain(
            &inc.logical_addresses,
            |store, hsa_id| store.find_logical_address(hsa_id).is_some(),
            true,
            messages::CREATE_LOGICAL_ADDRESS,
        );
        let new_components = self.new_plain(
            &inc.components,
            |store, hsa_id| store.find_component(hsa_id).is_some(),
            false,
            messages::CREATE_COMPONENT,
        );
        let new_contracts = self.new_contracts();
        (
            new_las,
            new_components,
            new_contracts,
            exclude_routes,
            exclude_authorisations,
        )
    }

    /// Phase 2a: every kind of item named twice over inkludera ∪ exkludera.
    fn detect_all_duplicates(&mut self) {
        let (inc, exc) = (&self.order.include, &self.order.exclude);
        let abs: Vec<_> = inc
            .authorisations
            .iter()
            .chain(&exc.authorisations)
            .collect();
        detect_duplicates(
            &abs,
            |a| vec![opt(&a.consumer), opt(&a.logical_address), opt(&a.contract)],
            |a| {
                vec![
                    shown(&a.logical_address),
                    shown(&a.consumer),
                    shown(&a.contract),
                ]
            },
            messages::duplicate_authorisation,
            &mut self.errors,
        );
        let routes: Vec<_> = inc.routes.iter().chain(&exc.routes).collect();
        detect_duplicates(
            &routes,
            |r| vec![opt(&r.logical_address), opt(&r.contract)],
            |r| vec![shown(&r.logical_address), shown(&r.contract)],
            messages::duplicate_route,
            &mut self.errors,
        );
        let contracts: Vec<_> = inc.contracts.iter().chain(&exc.contracts).collect();
        detect_duplicates(
            &contracts,
            |k| vec![k.namespace.as_str()],
            |k| vec![k.namespace.clone()],
            messages::duplicate_contract,
            &mut self.errors,
        );
        let components: Vec<_> = inc.components.iter().chain(&exc.components).collect();
        detect_duplicates(
            &components,
            |k: &PlainItem| vec![k.hsa_id.as_str()],
            |k: &PlainItem| vec![k.hsa_id.clone()],
            messages::duplicate_component,
            &mut self.errors,
        );
        let las: Vec<_> = inc
            .logical_addresses
            .iter()
            .chain(&exc.logical_addresses)
            .collect();
        detect_duplicates(
            &las,
            |k: &PlainItem| vec![k.hsa_id.as_str()],
            |k: &PlainItem| vec![k.hsa_id.clone()],
            messages::duplicate_logical_address,
            &mut self.errors,
        );
    }

    /// Phase 2d + e for logical addresses or components: the ones not in TAK, checked.
    fn new_plain(
        &mut self,
        items: &[PlainItem],
        exists: impl Fn(&Store, &str) -> bool,
        is_logical_address: bool,
        context: &str,
    ) -> Vec<NewPlain> {
        let mut new = Vec::new();
        for item in items {
            if exists(self.store, &item.hsa_id) {
                continue;
            }
            check_hsa_id(&item.hsa_id, is_logical_address, context, &mut self.errors);
            check_description(&item.description, context, &mut self.errors);
            new.push(NewPlain {
                hsa_id: item.hsa_id.clone(),
                description: item.description.clone(),
            });
        }
        new
    }

    /// Phase 2d + e for contracts: the ones not in TAK, checked.
    fn new_contracts(&mut self) -> Vec<NewContract> {
        let mut new = Vec::new();
        for item in &self.order.include.contracts {
            if self.store.find_contract(&item.namespace).is_some() {
                continue;
            }
            check_namespace(&item.namespace, messages::CREATE_CONTRACT, &mut self.errors);
            check_description(
                &item.description,
                messages::CREATE_CONTRACT,
                &mut self.errors,
            );
            new.push(NewContract {
                namespace: item.namespace.clone(),
                description: item.description.clone(),
                major_version: item.major_version,
            });
        }
        new
    }

    fn exclude_authorisation(&mut self, a: &AuthorisationItem) -> ExclusionPlan {
        let (Some(la), Some(consumer), Some(contract)) =
            (&a.logical_address, &a.consumer, &a.contract)
        else {
            return ExclusionPlan::NotFound;
        };
        let rows = self
            .store
            .overlapping_authorisations(la, consumer, contract, self.period);
        match rows.as_slice() {
            [] => ExclusionPlan::NotFound,
            [row] => ExclusionPlan::End {
                id: row.id,
                ending: ending(self.period.from, self.f_minus_1, row.validity.from),
            },
            [first, ..] => {
                self.several_authorisations(first.item.clone());
                ExclusionPlan::NotFound
            }
        }
    }

    fn exclude_route(&mut self, r: &RouteItem) -> ExclusionPlan {
        let (Some(la), Some(contract)) = (&r.logical_address, &r.contract) else {
            return ExclusionPlan::NotFound;
        };
        let rows = self.store.overlapping_routes(la, contract, self.period);
        match rows.as_slice() {
            [] => ExclusionPlan::NotFound,
            [row] => ExclusionPlan::End {
                id: row.id,
                ending: ending(self.period.from, self.f_minus_1, row.validity.from),
            },
            [first, ..] => {
                let (la, contract) = (first.logical_address, first.contract);
                self.several_routes(la, contract);
                ExclusionPlan::NotFound
            }
        }
    }

    fn several_routes(&mut self, la: Id, contract: Id) {
        let cat = self.store.catalogue();
        let la = cat
            .logical_addresses
            .get(la)
            .map(|r| r.hsa_id.clone())
            .unwrap_or_default();
        let contract = cat
            .contracts
            .get(contract)
            .map(|r| r.namespace.clone())
            .unwrap_or_default();
        self.errors.insert(messages::several_routes(&la, &contract));
    }

    fn several_authorisations(&mut self, row: crate::tak::model::Authorisation) {
        let cat = self.store.catalogue();
        let la = cat
            .logical_addresses
            .get(row.logical_address)
            .map(|r| r.hsa_id.clone())
            .unwrap_or_default();
        let contract = cat
            .contracts
            .get(row.contract)
            .map(|r| r.namespace.clone())
            .unwrap_or_default();
        let consumer = cat
            .components
            .get(row.consumer)
            .map(|r| r.hsa_id.clone())
            .unwrap_or_default();
        self.errors
            .insert(messages::several_authorisations(&la, &contract, &consumer));
    }

    fn phase3(
        &mut self,
        new_las: &[NewPlain],
        new_components: &[NewPlain],
        new_contracts: &[NewContract],
    ) -> Option<Relations> {
        // a. Required fields.
        self.check_required_fields();
        if !self.errors.is_empty() {
            return None;
        }

        // b. References: TAK first (case-insensitive), then the order's new objects
        // (case-sensitive).
        let refs = References::new(self.store, new_las, new_components, new_contracts);
        let mut relations = Relations {
            authorisations: Vec::new(),
            routes: Vec::new(),
            new_call_addresses: Vec::new(),
            touched_call_addresses: Vec::new(),
        };
        self.relate_authorisations(&refs, &mut relations);
        self.relate_routes(&refs, &mut relations);
        Some(relations)
    }

    /// Phase 3a: every route and authorisation names what it needs.
    fn check_required_fields(&mut self) {
        let (inc, exc) = (&self.order.include, &self.order.exclude);
        let missing = |prefix: &str, item: &dyn std::fmt::Display| format!("{prefix} ({item})");
        for r in &inc.routes {
            let ok = r.url.is_some()
                && r.profile.is_some()
                && r.producer.is_some()
                && r.logical_address.is_some()
                && r.contract.is_some();
            if !ok {
                self.errors
                    .insert(missing(messages::MISSING_CREATE_ROUTE, r));
            }
        }
        for r in &exc.routes {
            let ok = r.profile.is_some()
                && r.producer.is_some()
                && r.logical_address.is_some()
                && r.contract.is_some();
            if !ok {
                self.errors
                    .insert(missing(messages::MISSING_DELETE_ROUTE, r));
            }
        }
        for (list, prefix) in [
            (&inc.authorisations, messages::MISSING_CREATE_AUTHORISATION),
            (&exc.authorisations, messages::MISSING_DELETE_AUTHORISATION),
        ] {
            for a in list {
                if a.logical_address.is_none() || a.contract.is_none() || a.consumer.is_none() {
                    self.errors.insert(missing(prefix, a));
                }
            }
        }
    }

    /// Phase 3b for the authorisations of `inkludera`.
    fn relate_authorisations(&mut self, refs: &References<'_>, relations: &mut Relations) {
        let p = messages::CREATE_AUTHORISATION;
        for a in &self.order.include.authorisations {
            let (consumer_id, contract_ns, la) = (
                a.consumer.as_deref().unwrap_or_default(),
                a.contract.as_deref().unwrap_or_default(),
                a.logical_address.as_deref().unwrap_or_default(),
            );
            let found = (
                refs.component(consumer_id),
                refs.contract(contract_ns),
                refs.address(la),
            );
            match found {
                (Some(k), Some(c), Some(l)) => relations.authorisations.push((k, c, l)),
                (k, c, l) => {
                    if k.is_none() {
                        self.errors.insert(messages::no_component(p, consumer_id));
                    }
                    if c.is_none() {
                        self.errors.insert(messages::no_contract(p, contract_ns));
                    }
                    if l.is_none() {
                        self.errors.insert(messages::no_logical_address(p, la));
                    }
                }
            }
        }
    }

    /// Phase 3b + c for the routes of `inkludera`: their references and call addresses.
    fn relate_routes(&mut self, refs: &References<'_>, relations: &mut Relations) {
        // The call addresses created so far in this order, and the existing ones it re-saves.
        let mut new_call_at: HashMap<(Ref, Id, String), usize> = HashMap::new();
        let mut touched: HashSet<Id> = HashSet::new();
        let p = messages::CREATE_ROUTE;
        for r in &self.order.include.routes {
            let (profile_name, producer_id, la, contract_ns, url) = (
                r.profile.as_deref().unwrap_or_default(),
                r.producer.as_deref().unwrap_or_default(),
                r.logical_address.as_deref().unwrap_or_default(),
                r.contract.as_deref().unwrap_or_default(),
                r.url.as_deref().unwrap_or_default(),
            );
            let profile = self.store.find_profile(profile_name).map(|r| r.id);
            let found = (
                profile,
                refs.component(producer_id),
                refs.address(la),
                refs.contract(contract_ns),
            );
            let (Some(profile), Some(producer), Some(l), Some(c)) = found else {
                if found.0.is_none() {
                    self.errors.insert(messages::no_profile(p, profile_name));
                }
                if found.1.is_none() {
                    self.errors.insert(messages::no_component(p, producer_id));
                }
                if found.2.is_none() {
                    self.errors.insert(messages::no_logical_address(p, la));
                }
                if found.3.is_none() {
                    self.errors.insert(messages::no_contract(p, contract_ns));
                }
                continue;
            };
            // c. The call address: reuse one created earlier in the order, then one in TAK,
            // else create (and validate) a new one.
            let in_order = new_call_at
                .get(&(producer, profile, url.to_string()))
                .copied();
            let call = if let Some(i) = in_order {
                Ref::New(i)
            } else if let Some(existing) = match producer {
                Ref::Existing(id) => self.store.find_call_address(id, profile, url),
                Ref::New(_) => None,
            } {
                if touched.insert(existing.id) {
                    relations.touched_call_addresses.push(existing.id);
                }
                Ref::Existing(existing.id)
            } else {
                let before = self.errors.len();
                check_url(url, &mut self.errors);
                if self.errors.len() != before {
                    continue;
                }
                relations.new_call_addresses.push(NewCallAddress {
                    producer,
                    profile,
                    url: url.to_string(),
                });
                let i = relations.new_call_addresses.len() - 1;
                new_call_at.insert((producer, profile, url.to_string()), i);
                Ref::New(i)
            };
            relations.routes.push((l, c, call));
        }
    }

    fn phase4(&mut self, relations: &Relations) -> (Vec<AuthorisationPlan>, Vec<RoutePlan>) {
        (
            self.plan_authorisations(relations),
            self.plan_routes(relations),
        )
    }

    /// Phase 4 for the authorisations of `inkludera`: create, or extend the one overlapping.
    fn plan_authorisations(&mut self, relations: &Relations) -> Vec<AuthorisationPlan> {
        let mut authorisations = Vec::new();
        for (a, &(consumer, contract, logical_address)) in self
            .order
            .include
            .authorisations
            .iter()
            .zip(&relations.authorisations)
        {
            let rows = self.store.overlapping_authorisations(
                a.logical_address.as_deref().unwrap_or_default(),
                a.consumer.as_deref().unwrap_or_default(),
                a.contract.as_deref().unwrap_or_default(),
                self.period,
            );
            match rows.as_slice() {
                [] => authorisations.push(AuthorisationPlan::Create {
                    consumer,
                    contract,
                    logical_address,
                }),
                [row] => authorisations.push(AuthorisationPlan::Update {
                    id: row.id,
                    validity: extended(self.period, row.validity),
                }),
                [first, ..] => self.several_authorisations(first.item.clone()),
            }
        }
        authorisations
    }

    /// Phase 4 for the routes of `inkludera`: create, extend the one overlapping (same call
    /// address), or replace it (another call address).
    fn plan_routes(&mut self, relations: &Relations) -> Vec<RoutePlan> {
        let mut routes = Vec::new();
        for (r, &(logical_address, contract, call_address)) in
            self.order.include.routes.iter().zip(&relations.routes)
        {
            let rows = self.store.overlapping_routes(
                r.logical_address.as_deref().unwrap_or_default(),
                r.contract.as_deref().unwrap_or_default(),
                self.period,
            );
            match rows.as_slice() {
                [] => routes.push(RoutePlan::Create {
                    logical_address,
                    contract,
                    call_address,
                }),
                [row] if self.same_call_address(call_address, row.call_address) => {
                    routes.push(RoutePlan::Update {
                        id: row.id,
                        validity: extended(self.period, row.validity),
                    })
                }
                [row] => routes.push(RoutePlan::Replace {
                    old: row.id,
                    ending: ending(self.period.from, self.f_minus_1, row.validity.from),
                    logical_address,
                    contract,
                    call_address,
                }),
                [first, ..] => {
                    let (la, contract) = (first.logical_address, first.contract);
                    self.several_routes(la, contract);
                }
            }
        }
        routes
    }

    /// Same call address = same producer row, same profile row, identical URL.
    fn same_call_address(&self, new: Ref, old: Id) -> bool {
        let cat = self.store.catalogue();
        match new {
            Ref::Existing(id) => match (cat.call_addresses.get(id), cat.call_addresses.get(old)) {
                (Some(new), Some(old)) => {
                    new.producer == old.producer && new.profile == old.profile && new.url == old.url
                }
                _ => false,
            },
            Ref::New(_) => false,
        }
    }
}

/// Where an order's references point: TAK first (case-insensitive), then the order's new
/// objects by their exact text (tak-web looks them up case-sensitively); the first of equal
/// ones wins, as a scan would find it.
struct References<'a> {
    store: &'a Store,
    components: HashMap<&'a str, usize>,
    logical_addresses: HashMap<&'a str, usize>,
    contracts: HashMap<&'a str, usize>,
}

impl<'a> References<'a> {
    fn new(
        store: &'a Store,
        new_las: &'a [NewPlain],
        new_components: &'a [NewPlain],
        new_contracts: &'a [NewContract],
    ) -> Self {
        fn first_by<'a, T>(
            items: &'a [T],
            key: impl Fn(&'a T) -> &'a str,
        ) -> HashMap<&'a str, usize> {
            let mut map = HashMap::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                map.entry(key(item)).or_insert(i);
            }
            map
        }
        References {
            store,
            components: first_by(new_components, |n| n.hsa_id.as_str()),
            logical_addresses: first_by(new_las, |n| n.hsa_id.as_str()),
            contracts: first_by(new_contracts, |n| n.namespace.as_str()),
        }
    }

    fn component(&self, hsa_id: &str) -> Option<Ref> {
        self.store
            .find_component(hsa_id)
            .map(|r| Ref::Existing(r.id))
            .or_else(|| self.components.get(hsa_id).copied().map(Ref::New))
    }

    fn address(&self, hsa_id: &str) -> Option<Ref> {
        self.store
            .find_logical_address(hsa_id)
            .map(|r| Ref::Existing(r.id))
            .or_else(|| self.logical_addresses.get(hsa_id).copied().map(Ref::New))
    }

    fn contract(&self, namespace: &str) -> Option<Ref> {
        self.store
            .find_contract(namespace)
            .map(|r| Ref::Existing(r.id))
            .or_else(|| self.contracts.get(namespace).copied().map(Ref::New))
    }
}
