//! Execution of a validated order plan (`Plan`) against the store, and the report of what it did.
//!
//! Date arithmetic (decided in `validate`, carried out here), with F = execution day
//! (`genomforandeTidpunkt`'s UTC calendar day) and T = F + 100 years:
//! - create: a new row valid [F, T] (`Nyskapad`); new authorisations get `AUTOTAKNING`;
//! - extend: the one overlapping row with the same call address (for routes) now ends on T, and
//!   starts on F when F is earlier (`Uppdaterad`);
//! - replace (route with another call address): the old row is deactivated, a new one created;
//! - deactivate (replace and exclude): F before the row's start → the row is soft-deleted
//!   (`Borttagen`, and its call address too when no active route uses it any more); else it ends
//!   on F − 1 (`Deaktiverad`). As in tak-web, F equal to the row's start gives [F, F − 1], a row
//!   that is never valid;
//! - exclude with nothing overlapping: `Existerar ej`.
//!
//! Every touched row is marked pending. This step cannot fail: all checks are in `validate`.

use std::sync::LazyLock;

use crate::tak::Store;
use crate::tak::model::{
    Authorisation, CallAddress, Catalogue, Day, Id, LogicalAddress, Route, Row, RowState,
    ServiceComponent, ServiceContract, Text, Validity,
};
use crate::tak::store::Entity;

use super::format::Order;
use super::report::{
    AUTHORISATIONS, COMPONENTS, CONTRACTS, LOGICAL_ADDRESSES, Metadata, ROUTES, Report, ReportRow,
    ReportSection, Sections, Status, java_float,
};
use super::validate::{AuthorisationPlan, Ending, ExclusionPlan, Plan, Ref, RoutePlan};

/// `integrationsavtal` of authorisations created by orders.
pub const INTEGRATION_AGREEMENT: &str = "AUTOTAKNING";

/// Resolves a plan reference to a row id.
fn id_of(r: Ref, new_ids: &[Id]) -> Id {
    match r {
        Ref::Existing(id) => id,
        // The plan only holds indexes of objects it creates; `new_ids` has one id per object.
        Ref::New(i) => new_ids.get(i).copied().unwrap_or_default(),
    }
}

/// The `integrationsavtal` every authorisation an order creates shares.
static AUTOTAKNING: LazyLock<Text> = LazyLock::new(|| Text::from(INTEGRATION_AGREEMENT));

/// Changes a row and marks it pending (through the store, which keeps its indexes in step).
fn touch<T: Entity>(store: &mut Store, id: Id, f: impl FnOnce(&mut Row<T>)) {
    store.change(id, |row: &mut Row<T>| {
        row.pending = true;
        f(row);
    });
}

fn end_row(validity: &mut Validity, state: &mut RowState, ending: Ending) {
    match ending {
        Ending::Delete => *state = RowState::Deleted,
        Ending::EndOn(day) => validity.to = day,
    }
}

/// Carries out `plan` (from `validate::plan` on the same store) and reports.
pub(crate) fn execute(store: &mut Store, order: &Order, plan: Plan) -> Report {
    let f = plan.period.from;

    // Plain objects, HSA-ids upper-cased.
    let la_ids: Vec<Id> = plan
        .logical_addresses
        .iter()
        .map(|n| {
            store.insert(LogicalAddress {
                hsa_id: n.hsa_id.to_uppercase().into(),
                description: n.description.as_str().into(),
            })
        })
        .collect();
    let component_ids: Vec<Id> = plan
        .components
        .iter()
        .map(|n| {
            store.insert(ServiceComponent {
                hsa_id: n.hsa_id.to_uppercase().into(),
                description: n.description.as_str().into(),
            })
        })
        .collect();
    let contract_ids: Vec<Id> = plan
        .contracts
        .iter()
        .map(|n| {
            store.insert(ServiceContract {
                namespace: n.namespace.as_str().into(),
                description: n.description.as_str().into(),
                major_version: n.major_version,
                minor_version: 0,
            })
        })
        .collect();

    // Call addresses: new ones created, existing ones re-saved.
    let call_ids: Vec<Id> = plan
        .call_addresses
        .iter()
        .map(|n| {
            store.insert(CallAddress {
                producer: id_of(n.producer, &component_ids),
                profile: n.profile,
                url: n.url.as_str().into(),
            })
        })
        .collect();
    for &id in &plan.touched_call_addresses {
        touch(store, id, |_: &mut Row<CallAddress>| {});
    }

    // Authorisations.
    let mut include_auth_ids = Vec::with_capacity(plan.include_authorisations.len());
    for p in &plan.include_authorisations {
        let id = match *p {
            AuthorisationPlan::Create {
                consumer,
                contract,
                logical_address,
            } => store.insert(Authorisation {
                consumer: id_of(consumer, &component_ids),
                contract: id_of(contract, &contract_ids),
                logical_address: id_of(logical_address, &la_ids),
                validity: plan.period,
                integration_agreement: AUTOTAKNING.clone(),
            }),
            AuthorisationPlan::Update { id, validity } => {
                touch(store, id, |row: &mut Row<Authorisation>| {
                    row.item.validity = validity
                });
                id
            }
        };
        include_auth_ids.push((p, id));
    }
    for p in &plan.exclude_authorisations {
        if let ExclusionPlan::End { id, ending } = *p {
            touch(store, id, |row: &mut Row<Authorisation>| {
                end_row(&mut row.item.validity, &mut row.state, ending)
            });
        }
    }

    // Routes.
    let mut deleted_routes = Vec::new();
    let mut include_route_ids = Vec::with_capacity(plan.include_routes.len());
    for p in &plan.include_routes {
        let ids = match *p {
            RoutePlan::Create {
                logical_address,
                contract,
                call_address,
            } => {
                let new = store.insert(Route {
                    logical_address: id_of(logical_address, &la_ids),
                    contract: id_of(contract, &contract_ids),
                    call_address: id_of(call_address, &call_ids),
                    validity: plan.period,
                });
                (None, Some(new))
            }
            RoutePlan::Update { id, validity } => {
                touch(store, id, |row: &mut Row<Route>| {
                    row.item.validity = validity
                });
                (Some(id), None)
            }
            RoutePlan::Replace {
                old,
                ending,
                logical_address,
                contract,
                call_address,
            } => {
                touch(store, old, |row: &mut Row<Route>| {
                    end_row(&mut row.item.validity, &mut row.state, ending)
                });
                if ending == Ending::Delete {
                    deleted_routes.push(old);
                }
                let new = store.insert(Route {
                    logical_address: id_of(logical_address, &la_ids),
                    contract: id_of(contract, &contract_ids),
                    call_address: id_of(call_address, &call_ids),
                    validity: plan.period,
                });
                (Some(old), Some(new))
            }
        };
        include_route_ids.push(ids);
    }
    for p in &plan.exclude_routes {
        if let ExclusionPlan::End { id, ending } = *p {
            touch(store, id, |row: &mut Row<Route>| {
                end_row(&mut row.item.validity, &mut row.state, ending)
            });
            if ending == Ending::Delete {
                deleted_routes.push(id);
            }
        }
    }
    // A call address whose routes are all deleted goes too (the store counts the active
    // routes per call address).
    for route in deleted_routes {
        let Some(call) = store.catalogue().routes.get(route).map(|r| r.call_address) else {
            continue;
        };
        if store.routes_using(call) == 0 {
            touch(store, call, |row: &mut Row<CallAddress>| {
                row.state = RowState::Deleted
            });
        }
    }

    // The report.
    let cat = store.catalogue();
    let mut include = Vec::new();
    push_section(
        &mut include,
        LOGICAL_ADDRESSES,
        la_ids
            .iter()
            .filter_map(|&id| cat.logical_addresses.get(id))
            .map(|r| created(r.hsa_id.to_string()))
            .collect(),
    );
    push_section(
        &mut include,
        COMPONENTS,
        component_ids
            .iter()
            .filter_map(|&id| cat.components.get(id))
            .map(|r| created(r.hsa_id.to_string()))
            .collect(),
    );
    push_section(
        &mut include,
        CONTRACTS,
        contract_ids
            .iter()
            .filter_map(|&id| cat.contracts.get(id))
            .map(|r| created(r.namespace.to_string()))
            .collect(),
    );
    push_section(
        &mut include,
        AUTHORISATIONS,
        include_auth_ids
            .iter()
            .map(|&(p, id)| match p {
                AuthorisationPlan::Create { .. } => created(authorisation_text(cat, id)),
                AuthorisationPlan::Update { .. } => ReportRow {
                    status: authorisation_status(cat, id, f),
                    value: authorisation_text(cat, id),
                },
            })
            .collect(),
    );
    push_section(
        &mut include,
        ROUTES,
        include_route_ids
            .iter()
            .flat_map(|&(old, new)| {
                let old = old.map(|id| ReportRow {
                    status: route_status(cat, id, f),
                    value: route_text(cat, id),
                });
                let new = new.map(|id| created(route_text(cat, id)));
                old.into_iter().chain(new)
            })
            .collect(),
    );

    let mut exclude = Vec::new();
    push_section(
        &mut exclude,
        AUTHORISATIONS,
        plan.exclude_authorisations
            .iter()
            .zip(&order.exclude.authorisations)
            .map(|(p, item)| match *p {
                ExclusionPlan::NotFound => not_exists(item.to_string()),
                ExclusionPlan::End { id, .. } => ReportRow {
                    status: authorisation_status(cat, id, f),
                    value: authorisation_text(cat, id),
                },
            })
            .collect(),
    );
    push_section(
        &mut exclude,
        ROUTES,
        plan.exclude_routes
            .iter()
            .zip(&order.exclude.routes)
            .map(|(p, item)| match *p {
                ExclusionPlan::NotFound => not_exists(item.to_string()),
                ExclusionPlan::End { id, .. } => ReportRow {
                    status: route_status(cat, id, f),
                    value: route_text(cat, id),
                },
            })
            .collect(),
    );

    Report {
        metadata: metadata(order, f),
        include: Sections(include),
        exclude: Sections(exclude),
    }
}

fn metadata(order: &Order, f: Day) -> Metadata {
    // tak-web shows java.sql.Date.toString(): the day only.
    let ordered = order
        .ordered_at
        .map(|t| t.with_timezone(&chrono::Utc).date_naive().to_string())
        .unwrap_or_else(|| "null".to_string());
    Metadata(vec![
        ("Plattform", order.platform.clone()),
        ("Format Version", java_float(order.format_version)),
        ("Version", order.version.to_string()),
        ("Beställningstidpunkt", ordered),
        ("Genomförandetidpunkt", f.to_string()),
        (
            "Utförare",
            order.executor.clone().unwrap_or_else(|| "null".into()),
        ),
        (
            "Kommentar",
            order.comment.clone().unwrap_or_else(|| "null".into()),
        ),
    ])
}

fn push_section(out: &mut Vec<ReportSection>, name: &'static str, rows: Vec<ReportRow>) {
    if !rows.is_empty() {
        out.push(ReportSection { name, rows });
    }
}

fn created(value: String) -> ReportRow {
    ReportRow {
        status: Status::Created,
        value,
    }
}

fn not_exists(value: String) -> ReportRow {
    ReportRow {
        status: Status::NotExists,
        value,
    }
}

/// tak-web's status of a changed existing row: deleted → Borttagen; the execution time after
/// its end → Deaktiverad; else Uppdaterad.
fn changed_status(state: RowState, validity: Validity, f: Day) -> Status {
    if state == RowState::Deleted {
        Status::Deleted
    } else if validity.to < f {
        Status::Deactivated
    } else {
        Status::Updated
    }
}

fn authorisation_status(cat: &Catalogue, id: Id, f: Day) -> Status {
    cat.authorisations
        .get(id)
        .map(|r| changed_status(r.state, r.validity, f))
        .unwrap_or(Status::NotExists)
}

fn route_status(cat: &Catalogue, id: Id, f: Day) -> Status {
    cat.routes
        .get(id)
        .map(|r| changed_status(r.state, r.validity, f))
        .unwrap_or(Status::NotExists)
}

fn la_text(cat: &Catalogue, id: Id) -> String {
    cat.logical_addresses
        .get(id)
        .map(|r| r.hsa_id.to_string())
        .unwrap_or_default()
}

fn component_text(cat: &Catalogue, id: Id) -> String {
    cat.components
        .get(id)
        .map(|r| r.hsa_id.to_string())
        .unwrap_or_default()
}

fn contract_text(cat: &Catalogue, id: Id) -> String {
    cat.contracts
        .get(id)
        .map(|r| r.namespace.to_string())
        .unwrap_or_default()
}

/// `LA - konsument - namnrymd  (from - tom)` (two spaces, as tak-web writes it).
fn authorisation_text(cat: &Catalogue, id: Id) -> String {
    let Some(a) = cat.authorisations.get(id) else {
        return String::new();
    };
    format!(
        "{} - {} - {}  ({} - {})",
        la_text(cat, a.logical_address),
        component_text(cat, a.consumer),
        contract_text(cat, a.contract),
        a.validity.from,
        a.validity.to
    )
}

/// `LA - namnrymd - producent - rivtaprofil - adress (from - tom)`.
fn route_text(cat: &Catalogue, id: Id) -> String {
    let Some(r) = cat.routes.get(id) else {
        return String::new();
    };
    let call = cat.call_addresses.get(r.call_address);
    let producer = call
        .map(|c| component_text(cat, c.producer))
        .unwrap_or_default();
    let profile = call
        .and_then(|c| cat.profiles.get(c.profile))
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let url = call.map(|c| c.url.clone()).unwrap_or_default();
    format!(
        "{} - {} - {} - {} - {} ({} - {})",
        la_text(cat, r.logical_address),
        contract_text(cat, r.contract),
        producer,
        profile,
        url,
        r.validity.from,
        r.validity.to
    )
}
