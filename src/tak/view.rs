//! Readable rows: TAK rows with their references resolved to natural keys (HSA-ids, namespaces,
//! URLs, profile names), for the pending view, diffs and the `tables` listing.
//!
//! A view keeps the row id (so rows can be matched across versions) and says nothing about the
//! row's publish state. In the store ([`Scope::All`]) references resolve whatever the referenced
//! row's state, so a deleted row still resolves to the keys it had; in a published snapshot
//! ([`Scope::Published`]) only the active rows are published and references resolve to them.
//! The `*_parts` functions give the same content borrowed, to compare rows without copying.
//! This module does no lookups by name and no date checks.

use serde::Serialize;

use super::model::{
    Authorisation, CallAddress, Catalogue, Id, LogicalAddress, RivtaProfile, Route, Row,
    ServiceComponent, ServiceContract, Table, Validity,
};

/// Which rows of a catalogue count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every row, active or deleted (the store's live tables).
    All,
    /// The active rows only (a published snapshot's tables).
    Published,
}

impl Scope {
    fn get<T>(self, table: &Table<T>, id: Id) -> Option<&Row<T>> {
        match self {
            Scope::All => table.get(id),
            Scope::Published => table.get_active(id),
        }
    }

    /// The rows of `table` in this scope, in id order.
    pub fn rows<T>(self, table: &Table<T>) -> impl Iterator<Item = &Row<T>> + '_ {
        table
            .rows()
            .filter(move |r| self == Scope::All || r.is_active())
    }
}

/// A call address's content, borrowed: (id, producer, profile, url).
pub type CallAddressParts<'a> = (Id, &'a str, &'a str, &'a str);
/// A route's content, borrowed: (id, logical address, contract, producer, profile, url,
/// validity).
pub type RouteParts<'a> = (Id, &'a str, &'a str, &'a str, &'a str, &'a str, Validity);
/// An authorisation's content, borrowed: (id, consumer, contract, logical address, validity,
/// integration agreement).
pub type AuthorisationParts<'a> = (Id, &'a str, &'a str, &'a str, Validity, &'a str);

/// RIVTA profile (RIV-TA profil) by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileView {
    /// Row id.
    pub id: Id,
    /// `namn`.
    pub name: String,
    /// `beskrivning`.
    pub description: String,
}

/// Service component (tjänstekomponent) by HSA-id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentView {
    /// Row id.
    pub id: Id,
    /// `hsaId`.
    pub hsa_id: String,
    /// `beskrivning`.
    pub description: String,
}

/// Service contract (tjänstekontrakt) by namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContractView {
    /// Row id.
    pub id: Id,
    /// `namnrymd`.
    pub namespace: String,
    /// `beskrivning`.
    pub description: String,
    /// `majorVersion`.
    pub major_version: i64,
    /// `minorVersion`.
    pub minor_version: i64,
}

/// Logical address (logisk adress) by HSA-id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogicalAddressView {
    /// Row id.
    pub id: Id,
    /// `hsaId`.
    pub hsa_id: String,
    /// `beskrivning`.
    pub description: String,
}

/// Call address (anropsadress): producer HSA-id, profile name and URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallAddressView {
    /// Row id.
    pub id: Id,
    /// The producer component's HSA-id.
    pub producer: String,
    /// The RIVTA profile name.
    pub profile: String,
    /// `adress`.
    pub url: String,
}

/// Route (vägval) by (logical address, contract) with where it goes and its validity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteView {
    /// Row id.
    pub id: Id,
    /// Logical address HSA-id.
    pub logical_address: String,
    /// Contract namespace.
    pub contract: String,
    /// Producer HSA-id (of the call address).
    pub producer: String,
    /// RIVTA profile name (of the call address).
    pub profile: String,
    /// Producer URL (of the call address).
    pub url: String,
    /// `fromTidpunkt` .. `tomTidpunkt`.
    pub validity: Validity,
}

/// Authorisation (anropsbehörighet) by (consumer, contract, logical address) with its validity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthorisationView {
    /// Row id.
    pub id: Id,
    /// Consumer (tjänstekonsument) HSA-id.
    pub consumer: String,
    /// Contract namespace.
    pub contract: String,
    /// Logical address HSA-id.
    pub logical_address: String,
    /// `fromTidpunkt` .. `tomTidpunkt`.
    pub validity: Validity,
    /// `integrationsavtal`.
    pub integration_agreement: String,
}

/// Every table of a catalogue as views, in id order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogueViews {
    /// RIVTA profiles.
    pub rivta_profiles: Vec<ProfileView>,
    /// Service components.
    pub components: Vec<ComponentView>,
    /// Service contracts.
    pub contracts: Vec<ContractView>,
    /// Logical addresses.
    pub logical_addresses: Vec<LogicalAddressView>,
    /// Call addresses.
    pub call_addresses: Vec<CallAddressView>,
    /// Routes.
    pub routes: Vec<RouteView>,
    /// Authorisations.
    pub authorisations: Vec<AuthorisationView>,
}

impl CatalogueViews {
    /// Views of the rows of `cat` in `scope`; rows whose references cannot be resolved are left
    /// out (as [`crate::tak::Snapshot::build`] leaves them out).
    pub fn of(cat: &Catalogue, scope: Scope) -> Self {
        CatalogueViews {
            rivta_profiles: scope.rows(&cat.profiles).map(profile).collect(),
            components: scope.rows(&cat.components).map(component).collect(),
            contracts: scope.rows(&cat.contracts).map(contract).collect(),
            logical_addresses: scope
                .rows(&cat.logical_addresses)
                .map(logical_address)
                .collect(),
            call_addresses: scope
                .rows(&cat.call_addresses)
                .filter_map(|r| call_address(cat, scope, r))
                .collect(),
            routes: scope
                .rows(&cat.routes)
                .filter_map(|r| route(cat, scope, r))
                .collect(),
            authorisations: scope
                .rows(&cat.authorisations)
                .filter_map(|r| authorisation(cat, scope, r))
                .collect(),
        }
    }
}

/// A profile row as a view.
pub fn profile(row: &Row<RivtaProfile>) -> ProfileView {
    ProfileView {
        id: row.id,
        name: row.name.to_string(),
        description: row.description.to_string(),
    }
}

/// A component row as a view.
pub fn component(row: &Row<ServiceComponent>) -> ComponentView {
    ComponentView {
        id: row.id,
        hsa_id: row.hsa_id.to_string(),
        description: row.description.to_string(),
    }
}

/// A contract row as a view.
pub fn contract(row: &Row<ServiceContract>) -> ContractView {
    ContractView {
        id: row.id,
        namespace: row.namespace.to_string(),
        description: row.description.to_string(),
        major_version: row.major_version,
        minor_version: row.minor_version,
    }
}

/// A logical address row as a view.
pub fn logical_address(row: &Row<LogicalAddress>) -> LogicalAddressView {
    LogicalAddressView {
        id: row.id,
        hsa_id: row.hsa_id.to_string(),
        description: row.description.to_string(),
    }
}

/// A call address row's content, borrowed; `None` if its producer or profile does not resolve.
pub fn call_address_parts<'a>(
    cat: &'a Catalogue,
    scope: Scope,
    row: &'a Row<CallAddress>,
) -> Option<CallAddressParts<'a>> {
    Some((
        row.id,
        &scope.get(&cat.components, row.producer)?.hsa_id,
        &scope.get(&cat.profiles, row.profile)?.name,
        &row.url,
    ))
}

/// A call address row as a view; `None` if its producer or profile row does not resolve.
pub fn call_address(
    cat: &Catalogue,
    scope: Scope,
    row: &Row<CallAddress>,
) -> Option<CallAddressView> {
    let (id, producer, profile, url) = call_address_parts(cat, scope, row)?;
    Some(CallAddressView {
        id,
        producer: producer.to_string(),
        profile: profile.to_string(),
        url: url.to_string(),
    })
}

/// A route row's content, borrowed; `None` if a referenced row does not resolve.
pub fn route_parts<'a>(
    cat: &'a Catalogue,
    scope: Scope,
    row: &'a Row<Route>,
) -> Option<RouteParts<'a>> {
    let call = scope.get(&cat.call_addresses, row.call_address)?;
    Some((
        row.id,
        &scope
            .get(&cat.logical_addresses, row.logical_address)?
            .hsa_id,
        &scope.get(&cat.contracts, row.contract)?.namespace,
        &scope.get(&cat.components, call.producer)?.hsa_id,
        &scope.get(&cat.profiles, call.profile)?.name,
        &call.url,
        row.validity,
    ))
}

/// A route row as a view; `None` if a referenced row does not resolve.
pub fn route(cat: &Catalogue, scope: Scope, row: &Row<Route>) -> Option<RouteView> {
    let (id, logical_address, contract, producer, profile, url, validity) =
        route_parts(cat, scope, row)?;
    Some(RouteView {
        id,
        logical_address: logical_address.to_string(),
        contract: contract.to_string(),
        producer: producer.to_string(),
        profile: profile.to_string(),
        url: url.to_string(),
        validity,
    })
}

/// An authorisation row's content, borrowed; `None` if a referenced row does not resolve.
pub fn authorisation_parts<'a>(
    cat: &'a Catalogue,
    scope: Scope,
    row: &'a Row<Authorisation>,
) -> Option<AuthorisationParts<'a>> {
    Some((
        row.id,
        &scope.get(&cat.components, row.consumer)?.hsa_id,
        &scope.get(&cat.contracts, row.contract)?.namespace,
        &scope
            .get(&cat.logical_addresses, row.logical_address)?
            .hsa_id,
        row.validity,
        &row.integration_agreement,
    ))
}

/// An authorisation row as a view; `None` if a referenced row does not resolve.
pub fn authorisation(
    cat: &Catalogue,
    scope: Scope,
    row: &Row<Authorisation>,
) -> Option<AuthorisationView> {
    let (id, consumer, contract, logical_address, validity, agreement) =
        authorisation_parts(cat, scope, row)?;
    Some(AuthorisationView {
        id,
        consumer: consumer.to_string(),
        contract: contract.to_string(),
        logical_address: logical_address.to_string(),
        validity,
        integration_agreement: agreement.to_string(),
    })
}
