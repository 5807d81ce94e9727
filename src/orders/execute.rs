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
    AUTHORISATIONS, COMPONENTS, CONTRACTS, CompactReport, LOGICAL_ADDRESSES, LineKind, Metadata,
    ROUTES, RunSection, Status, java_float,
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

/// What executing an order gave.
#[derive(Debug)]
pub(crate) struct Executed {
    /// The report, its lines referring to the rows.
    pub report: CompactReport,
    /// Per route of `inkludera`, in order, the route it now has (created, replacing or
    /// extended).
    pub routes: Vec<Id>,
}

/// Carries out `plan` (from `validate::plan` on the same store) and reports.
pub(crate) fn execute(store: &mut Store, order: &Order, plan: Plan) -> Executed {
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

    // The report: each line the row it is about, with its validity as the order left it.
    let cat = store.catalogue();
    let mut include = Vec::new();
    let mut section = RunSection::new(LOGICAL_ADDRESSES);
    for &id in &la_ids {
        section.push(LineKind::LogicalAddress, Status::Created, id, None);
    }
    push_section(&mut include, section);
    let mut section = RunSection::new(COMPONENTS);
    for &id in &component_ids {
        section.push(LineKind::Component, Status::Created, id, None);
    }
    push_section(&mut include, section);
    let mut section = RunSection::new(CONTRACTS);
    for &id in &contract_ids {
        section.push(LineKind::Contract, Status::Created, id, None);
    }
    push_section(&mut include, section);
    let mut section = RunSection::new(AUTHORISATIONS);
    for &(p, id) in &include_auth_ids {
        let status = match p {
            AuthorisationPlan::Create { .. } => Status::Created,
            AuthorisationPlan::Update { .. } => authorisation_status(cat, id, f),
        };
        section.push(
            LineKind::Authorisation,
            status,
            id,
            authorisation_validity(cat, id),
        );
    }
    push_section(&mut include, section);
    let mut section = RunSection::new(ROUTES);
    let mut routes = Vec::with_capacity(include_route_ids.len());
    for &(old, new) in &include_route_ids {
        if let Some(id) = old {
            section.push(
                LineKind::Route,
                route_status(cat, id, f),
                id,
                route_validity(cat, id),
            );
        }
        if let Some(id) = new {
            section.push(
                LineKind::Route,
                Status::Created,
                id,
                route_validity(cat, id),
            );
        }
        routes.extend(new.or(old));
    }
    push_section(&mut include, section);

    let mut texts = Vec::new();
    let mut exclude = Vec::new();
    let mut section = RunSection::new(AUTHORISATIONS);
    for (p, item) in plan
        .exclude_authorisations
        .iter()
        .zip(&order.exclude.authorisations)
    {
        match *p {
            ExclusionPlan::NotFound => {
                section.push(LineKind::Text, Status::NotExists, texts.len() as Id, None);
                texts.push(item.to_string());
            }
            ExclusionPlan::End { id, .. } => section.push(
                LineKind::Authorisation,
                authorisation_status(cat, id, f),
                id,
                authorisation_validity(cat, id),
            ),
        }
    }
    push_section(&mut exclude, section);
    let mut section = RunSection::new(ROUTES);
    for (p, item) in plan.exclude_routes.iter().zip(&order.exclude.routes) {
        match *p {
            ExclusionPlan::NotFound => {
                section.push(LineKind::Text, Status::NotExists, texts.len() as Id, None);
                texts.push(item.to_string());
            }
            ExclusionPlan::End { id, .. } => section.push(
                LineKind::Route,
                route_status(cat, id, f),
                id,
                route_validity(cat, id),
            ),
        }
    }
    push_section(&mut exclude, section);

    Executed {
        report: CompactReport {
            metadata: metadata(order, f),
            include,
            exclude,
            texts,
        },
        routes,
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

fn push_section(out: &mut Vec<RunSection>, section: RunSection) {
    if !section.runs.is_empty() {
        out.push(section);
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

fn authorisation_validity(cat: &Catalogue, id: Id) -> Option<Validity> {
    cat.authorisations.get(id).map(|r| r.validity)
}

fn route_validity(cat: &Catalogue, id: Id) -> Option<Validity> {
    cat.routes.get(id).map(|r| r.validity)
}
