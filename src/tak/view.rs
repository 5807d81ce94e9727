//! Readable rows: TAK rows with their references resolved to natural keys (HSA-ids, namespaces,
//! URLs, profile names), for the pending view, diffs and the `tables` listing.
//!
//! A view keeps the row id (so rows can be matched across versions) and says nothing about the
//! row's publish state. Resolution reads the rows by id whatever their state, so a deleted row
//! still resolves to the keys it had. This module does no lookups by name and no date checks.

use serde::Serialize;

use super::model::{
    Authorisation, CallAddress, Catalogue, Id, LogicalAddress, RivtaProfile, Route, Row,
    ServiceComponent, ServiceContract, Validity,
};

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
    /// Views of every row of `cat` (active and deleted alike); rows whose references cannot be
    /// resolved are left out (as [`crate::tak::Snapshot::build`] leaves them out).
    pub fn of(cat: &Catalogue) -> Self {
        CatalogueViews {
            rivta_profiles: cat.profiles.rows().iter().map(profile).collect(),
            components: cat.components.rows().iter().map(component).collect(),
            contracts: cat.contracts.rows().iter().map(contract).collect(),
            logical_addresses: cat
                .logical_addresses
                .rows()
                .iter()
                .map(logical_address)
                .collect(),
            call_addresses: cat
                .call_addresses
                .rows()
                .iter()
                .filter_map(|r| call_address(cat, r))
                .collect(),
            routes: cat
                .routes
                .rows()
                .iter()
                .filter_map(|r| route(cat, r))
                .collect(),
            authorisations: cat
                .authorisations
                .rows()
                .iter()
                .filter_map(|r| authorisation(cat, r))
                .collect(),
        }
    }
}

/// A profile row as a view.
pub fn profile(row: &Row<RivtaProfile>) -> ProfileView {
    ProfileView {
        id: row.id,
        name: row.name.clone(),
        description: row.description.clone(),
    }
}

/// A component row as a view.
pub fn component(row: &Row<ServiceComponent>) -> ComponentView {
    ComponentView {
        id: row.id,
        hsa_id: row.hsa_id.clone(),
        description: row.description.clone(),
    }
}

/// A contract row as a view.
pub fn contract(row: &Row<ServiceContract>) -> ContractView {
    ContractView {
        id: row.id,
        namespace: row.namespace.clone(),
        description: row.description.clone(),
        major_version: row.major_version,
        minor_version: row.minor_version,
    }
}

/// A logical address row as a view.
pub fn logical_address(row: &Row<LogicalAddress>) -> LogicalAddressView {
    LogicalAddressView {
        id: row.id,
        hsa_id: row.hsa_id.clone(),
        description: row.description.clone(),
    }
}

/// A call address row as a view; `None` if its producer or profile row does not exist.
pub fn call_address(cat: &Catalogue, row: &Row<CallAddress>) -> Option<CallAddressView> {
    Some(CallAddressView {
        id: row.id,
        producer: cat.components.get(row.producer)?.hsa_id.clone(),
        profile: cat.profiles.get(row.profile)?.name.clone(),
        url: row.url.clone(),
    })
}

/// A route row as a view; `None` if a referenced row does not exist.
pub fn route(cat: &Catalogue, row: &Row<Route>) -> Option<RouteView> {
    let call = cat.call_addresses.get(row.call_address)?;
    Some(RouteView {
        id: row.id,
        logical_address: cat
            .logical_addresses
            .get(row.logical_address)?
            .hsa_id
            .clone(),
        contract: cat.contracts.get(row.contract)?.namespace.clone(),
        producer: cat.components.get(call.producer)?.hsa_id.clone(),
        profile: cat.profiles.get(call.profile)?.name.clone(),
        url: call.url.clone(),
        validity: row.validity,
    })
}

/// An authorisation row as a view; `None` if a referenced row does not exist.
pub fn authorisation(cat: &Catalogue, row: &Row<Authorisation>) -> Option<AuthorisationView> {
    Some(AuthorisationView {
        id: row.id,
        consumer: cat.components.get(row.consumer)?.hsa_id.clone(),
        contract: cat.contracts.get(row.contract)?.namespace.clone(),
        logical_address: cat
            .logical_addresses
            .get(row.logical_address)?
            .hsa_id
            .clone(),
        validity: row.validity,
        integration_agreement: row.integration_agreement.clone(),
    })
}
