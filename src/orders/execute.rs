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
    let ids = insert_objects(store, &plan);
    let authorisations = include_authorisations(store, &plan, &ids);
    exclude_authorisations(store, &plan);
    let mut deleted_routes = Vec::new();
    let routes = include_routes(store, &plan, &ids, &mut deleted_routes);
    exclude_routes(store, &plan, &mut deleted_routes);
    delete_unused_call_addresses(store, deleted_routes);

    // The report: each line the row it is about, with its validity as the order left it.
    let cat = store.catalogue();
    let (include, routes) = include_report(cat, &ids, &authorisations, &routes, f);
    let (exclude, texts) = exclude_report(cat, order, &plan, f);
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

/// The ids of the rows an order creates, per kind, in the plan's order (what `Ref::New`
/// indexes).
struct NewIds {
    logical_addresses: Vec<Id>,
    components: Vec<Id>,
    contracts: Vec<Id>,
    call_addresses: Vec<Id>,
}

/// Creates the plain objects (HSA-ids upper-cased) and the new call addresses, and re-saves
/// the existing call addresses the plan touches.
fn insert_objects(store: &mut Store, plan: &Plan) -> NewIds {
    let logical_addresses: Vec<Id> = plan
        .logical_addresses
        .iter()
        .map(|n| {
            store.insert(LogicalAddress {
                hsa_id: n.hsa_id.to_uppercase().into(),
                description: n.description.as_str().into(),
            })
        })
        .collect();
    let components: Vec<Id> = plan
        .components
        .iter()
        .map(|n| {
            store.insert(ServiceComponent {
                hsa_id: n.hsa_id.to_uppercase().into(),
                description: n.description.as_str().into(),
            })
        })
        .collect();
    let contracts: Vec<Id> = plan
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
    let call_addresses: Vec<Id> = plan
        .call_addresses
        .iter()
        .map(|n| {
            store.insert(CallAddress {
                producer: id_of(n.producer, &components),
                profile: n.profile,
                url: n.url.as_str().into(),
            })
        })
        .collect();
    for &id in &plan.touched_call_addresses {
        touch(store, id, |_: &mut Row<CallAddress>| {});
    }
    NewIds {
        logical_addresses,
        components,
        contracts,
        call_addresses,
    }
}

/// Creates or extends the authorisations of `inkludera`: per plan, the row it is about.
fn include_authorisations<'p>(
    store: &mut Store,
    plan: &'p Plan,
    ids: &NewIds,
) -> Vec<(&'p AuthorisationPlan, Id)> {
    let mut out = Vec::with_capacity(plan.include_authorisations.len());
    for p in &plan.include_authorisations {
        let id = match *p {
            AuthorisationPlan::Create {
                consumer,
                contract,
                logical_address,
            } => store.insert(Authorisation {
                consumer: id_of(consumer, &ids.components),
                contract: id_of(contract, &ids.contracts),
                logical_address: id_of(logical_address, &ids.logical_addresses),
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
        out.push((p, id));
    }
    out
}

/// Ends or deletes the authorisations of `exkludera`.
fn exclude_authorisations(store: &mut Store, plan: &Plan) {
    for p in &plan.exclude_authorisations {
        if let ExclusionPlan::End { id, ending } = *p {
            touch(store, id, |row: &mut Row<Authorisation>| {
                end_row(&mut row.item.validity, &mut row.state, ending)
            });
        }
    }
}

/// Creates, extends or replaces the routes of `inkludera`: per plan, (the existing route it
/// touched, the route it created). Deleted routes are added to `deleted`.
fn include_routes(
    store: &mut Store,
    plan: &Plan,
    ids: &NewIds,
    deleted: &mut Vec<Id>,
) -> Vec<(Option<Id>, Option<Id>)> {
    let new_route = |store: &mut Store, logical_address, contract, call_address| {
        store.insert(Route {
            logical_address: id_of(logical_address, &ids.logical_addresses),
            contract: id_of(contract, &ids.contracts),
            call_address: id_of(call_address, &ids.call_addresses),
            validity: plan.period,
        })
    };
    let mut out = Vec::with_capacity(plan.include_routes.len());
    for p in &plan.include_routes {
        let touched = match *p {
            RoutePlan::Create {
                logical_address,
                contract,
                call_address,
            } => (
                None,
                Some(new_route(store, logical_address, contract, call_address)),
            ),
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
                    deleted.push(old);
                }
                (
                    Some(old),
                    Some(new_route(store, logical_address, contract, call_address)),
                )
            }
        };
        out.push(touched);
    }
    out
}

/// Ends or deletes the routes of `exkludera`; deleted routes are added to `deleted`.
fn exclude_routes(store: &mut Store, plan: &Plan, deleted: &mut Vec<Id>) {
    for p in &plan.exclude_routes {
        if let ExclusionPlan::End { id, ending } = *p {
            touch(store, id, |row: &mut Row<Route>| {
                end_row(&mut row.item.validity, &mut row.state, ending)
            });
            if ending == Ending::Delete {
                deleted.push(id);
            }
        }
    }
}

/// A call address whose routes are all deleted goes too (the store counts the active routes
/// per call address).
fn delete_unused_call_addresses(store: &mut Store, deleted_routes: Vec<Id>) {
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
}

/// The report's `inkludera` sections, and per route of `inkludera` the route it now has.
fn include_report(
    cat: &Catalogue,
    ids: &NewIds,
    authorisations: &[(&AuthorisationPlan, Id)],
    routes: &[(Option<Id>, Option<Id>)],
    f: Day,
) -> (Vec<RunSection>, Vec<Id>) {
    let mut include = Vec::new();
    for (name, kind, created) in [
        (
            LOGICAL_ADDRESSES,
            LineKind::LogicalAddress,
            &ids.logical_addresses,
        ),
        (COMPONENTS, LineKind::Component, &ids.components),
        (CONTRACTS, LineKind::Contract, &ids.contracts),
    ] {
        let mut section = RunSection::new(name);
        for &id in created {
            section.push(kind, Status::Created, id, None);
        }
        push_section(&mut include, section);
    }
    let mut section = RunSection::new(AUTHORISATIONS);
    for &(p, id) in authorisations {
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
    let mut now = Vec::with_capacity(routes.len());
    for &(old, new) in routes {
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
        now.extend(new.or(old));
    }
    push_section(&mut include, section);
    (include, now)
}

/// The report's `exkludera` sections, and the texts of their `Existerar ej` lines.
fn exclude_report(
    cat: &Catalogue,
    order: &Order,
    plan: &Plan,
    f: Day,
) -> (Vec<RunSection>, Vec<String>) {
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
    (exclude, texts)
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
