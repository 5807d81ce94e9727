//! The immutable published view of one TAK (a publicerad version) that the router reads on every
//! request.
//!
//! A [`Snapshot`] is made once at publish time. It shares the catalogue's tables with the store
//! (copy-on-write chunks: publishing copies no rows, and later changes copy only the chunks they
//! touch) and adds lookup indexes: every published route and authorisation as a compact entry
//! (validity and row positions, no strings), grouped by natural key, and a hash table from the
//! case-insensitive hash of the key to its group. A lookup hashes the request's strings without
//! allocating, probes once, compares the group's key with the rows' own strings (see
//! [`super::key`]) and checks the dates: no locks, no allocation. Lookups apply the VP fallback
//! rules of takdatahandler (old-style `VG#VE` addresses; routes: exact → HSA climb to `SE` → `*`;
//! authorisations: exact → `*` → HSA climb to `SE`), given the [`RoutingRules`] and the
//! [`HsaTree`] (see [`super::hsa`]). Validity is checked at lookup time against the day the caller passes
//! in; this module never reads the clock and never changes.

use std::fmt;
use std::sync::{LazyLock, OnceLock};

use chrono::{DateTime, Utc};
use hashbrown::HashTable;

use super::hsa::HsaTree;
use super::key::{KeyHasher, ci_eq, combine};
use super::model::{
    Authorisation, Catalogue, Day, Id, LogicalAddress, Route, Row, ServiceComponent,
    ServiceContract, Table, Text, Validity,
};
use super::rules::RoutingRules;

pub use super::hsa::HSA_ROOT;
/// The default logical address (`*`).
pub const DEFAULT_ADDRESS: &str = "*";

/// VP's default rules (delimiter `#`, every contract and consumer allowed, HSA climbs on) and
/// no HSA tree: what [`Snapshot::route`] and [`Snapshot::authorise`] apply.
static DEFAULT_RULES: LazyLock<RoutingRules> = LazyLock::new(RoutingRules::default);
static NO_TREE: LazyLock<HsaTree> = LazyLock::new(HsaTree::empty);

/// Where a route (vägval) sends a call: its call address (anropsadress) resolved to strings,
/// one per call address and shared by every route to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTarget {
    /// The producer URL (`adress`); may be empty (the router answers VP010).
    pub url: Text,
    /// The RIVTA profile name, e.g. `RIVTABP21`.
    pub profile: Text,
    /// The producer component's HSA-id.
    pub producer: Text,
}

/// A lookup's trace, exactly as takdatahandler writes it (VP's `routerVagvalTrace` and
/// `routerBehorighetTrace`): the address asked for, then each fallback tried
/// (`01`; `X,(parent),P1,SE`; `X,(parent),SE,(default),*`; `X,(default),*,(parent),SE`), or
/// for an old-style address the parts tried (`(leaf),VE,VG`; `(leaf),Invalid parameters`).
/// Holds references only; the text is written only when displayed.
#[derive(Debug, Clone, Copy)]
pub struct Trace<'a> {
    address: &'a str,
    kind: TraceKind<'a>,
}

#[derive(Debug, Clone, Copy)]
enum TraceKind<'a> {
    /// The exact address, then up to two fallbacks.
    Plain { steps: [Step<'a>; 2], len: u8 },
    /// An old-style address: the first `tried` of its parts, or refused as a whole.
    Leaf {
        rules: &'a RoutingRules,
        tried: usize,
        invalid: bool,
    },
}

#[derive(Debug, Clone, Copy)]
enum Step<'a> {
    /// `,(parent)` and the first `tried` addresses of the HSA climb.
    Parent { tree: &'a HsaTree, tried: usize },
    /// `,(default),*`.
    Default,
}

impl<'a> Trace<'a> {
    fn new(address: &'a str) -> Self {
        Trace {
            address,
            kind: TraceKind::Plain {
                steps: [Step::Default; 2],
                len: 0,
            },
        }
    }

    fn leaf(address: &'a str, rules: &'a RoutingRules, tried: usize, invalid: bool) -> Self {
        Trace {
            address,
            kind: TraceKind::Leaf {
                rules,
                tried,
                invalid,
            },
        }
    }

    fn push(&mut self, step: Step<'a>) {
        if let TraceKind::Plain { steps, len } = &mut self.kind
            && let Some(slot) = steps.get_mut(usize::from(*len))
        {
            *slot = step;
            *len += 1;
        }
    }
}

impl fmt::Display for Trace<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TraceKind::Plain { steps, len } => {
                f.write_str(self.address)?;
                for step in &steps[..usize::from(len)] {
                    match step {
                        Step::Default => f.write_str(",(default),*")?,
                        Step::Parent { tree, tried } => {
                            f.write_str(",(parent)")?;
                            for p in tree.climb(self.address).take(*tried) {
                                write!(f, ",{p}")?;
                            }
                        }
                    }
                }
            }
            TraceKind::Leaf {
                rules,
                tried,
                invalid,
            } => {
                f.write_str("(leaf)")?;
                if invalid {
                    f.write_str(",Invalid parameters")?;
                } else {
                    for p in rules.parts(self.address).iter().take(tried) {
                        write!(f, ",{p}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Compares the written trace with a text, writing it piece by piece (no allocation).
impl PartialEq<&str> for Trace<'_> {
    fn eq(&self, other: &&str) -> bool {
        struct Rest<'s>(&'s str);
        impl fmt::Write for Rest<'_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                self.0 = self.0.strip_prefix(s).ok_or(fmt::Error)?;
                Ok(())
            }
        }
        let mut rest = Rest(other);
        fmt::write(&mut rest, format_args!("{self}")).is_ok() && rest.0.is_empty()
    }
}

/// The valid routes a lookup found: all of them counted, the first two kept (enough to tell
/// one from several). Plain references, no heap: a lookup allocates nothing and holds no
/// destructor that would keep the snapshot borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Matches<'a> {
    items: [&'a RouteTarget; 2],
    kept: u8,
    total: usize,
}

/// Fills the unused slots of [`Matches`].
static UNUSED: LazyLock<RouteTarget> = LazyLock::new(|| RouteTarget {
    url: Text::default(),
    profile: Text::default(),
    producer: Text::default(),
});

impl<'a> Matches<'a> {
    fn new() -> Self {
        let unused: &'static RouteTarget = &UNUSED;
        Matches {
            items: [unused; 2],
            kept: 0,
            total: 0,
        }
    }

    fn push(&mut self, target: &'a RouteTarget) {
        if let Some(slot) = self.items.get_mut(usize::from(self.kept)) {
            *slot = target;
            self.kept += 1;
        }
        self.total += 1;
    }

    /// The first (at most two) matches.
    pub fn as_slice(&self) -> &[&'a RouteTarget] {
        &self.items[..usize::from(self.kept)]
    }

    /// How many valid routes were found.
    pub fn len(&self) -> usize {
        self.total
    }

    /// Whether none was found.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

impl<'a> std::ops::Deref for Matches<'a> {
    type Target = [&'a RouteTarget];
    fn deref(&self) -> &[&'a RouteTarget] {
        self.as_slice()
    }
}

/// The result of a route lookup: the valid routes of the first address (in fallback order) that
/// has any, and a trace of the addresses tried.
#[derive(Debug)]
pub struct RouteLookup<'a> {
    /// The valid routes found (0 → VP004, more than one → VP006).
    pub matches: Matches<'a>,
    /// The addresses tried.
    pub trace: Trace<'a>,
}

/// The result of an authorisation lookup.
#[derive(Debug)]
pub struct AuthorisationLookup<'a> {
    /// Whether some valid authorisation was found.
    pub granted: bool,
    /// The addresses tried: `X`, `X,(default),*`, `X,(default),*,(parent),SE`.
    pub trace: Trace<'a>,
}

/// Row counts of a snapshot (for status and `resetcache` answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SnapshotCounts {
    /// Number of published routes (vägval).
    pub routes: usize,
    /// Number of published authorisations (anropsbehörigheter).
    pub authorisations: usize,
}

/// A published route (vägval) resolved to natural keys, borrowed from the snapshot.
#[derive(Debug, Clone, Copy)]
pub struct PublishedRoute<'a> {
    /// The route's row id.
    pub id: Id,
    /// Logical address HSA-id as stored.
    pub logical_address: &'a Text,
    /// Contract namespace as stored.
    pub contract: &'a Text,
    /// Where it goes.
    pub target: &'a RouteTarget,
    /// Validity of the route.
    pub validity: Validity,
}

/// A published authorisation (anropsbehörighet) resolved to natural keys, borrowed from the
/// snapshot.
#[derive(Debug, Clone, Copy)]
pub struct PublishedAuthorisation<'a> {
    /// The authorisation's row id.
    pub id: Id,
    /// Consumer HSA-id as stored.
    pub consumer: &'a Text,
    /// Contract namespace as stored.
    pub contract: &'a Text,
    /// Logical address HSA-id as stored.
    pub logical_address: &'a Text,
    /// Validity.
    pub validity: Validity,
    /// `integrationsavtal`.
    pub integration_agreement: &'a Text,
}

/// Entries `start .. start + len` of a snapshot's entry list share one natural key.
#[derive(Debug, Clone, Copy)]
struct Group {
    start: u32,
    len: u32,
}

/// A published route in a lookup group: row positions, no strings.
#[derive(Debug, Clone, Copy)]
struct RouteEntry {
    validity: Validity,
    /// Index into `targets`.
    target: u32,
    /// Positions of the logical address and contract rows (for comparing the key).
    logical_address: u32,
    contract: u32,
}

/// A published authorisation in a lookup group.
#[derive(Debug, Clone, Copy)]
struct AuthEntry {
    validity: Validity,
    consumer: u32,
    contract: u32,
    logical_address: u32,
}

/// No target: the call address is not published or does not resolve.
const NO_TARGET: u32 = u32::MAX;

/// One published version of TAK. Immutable; shared behind an `ArcSwap`.
pub struct Snapshot {
    version: u64,
    platform: String,
    published_at: DateTime<Utc>,
    executor: String,
    comment: String,
    /// The tables as published (shared with the store; deleted rows included, see
    /// [`Snapshot::catalogue`]).
    catalogue: Catalogue,
    /// Published routes and authorisations (what the lookups hold).
    counts: SnapshotCounts,
    /// Built with the snapshot at publish time; for a version restored from a checkpoint,
    /// when first needed ([`Snapshot::prepare`]): an old version nobody reads costs no
    /// lookup memory and no start-up time.
    lookups: OnceLock<Lookups>,
}

/// A snapshot's lookup structures, derived from its catalogue alone.
struct Lookups {
    /// One target per published call address.
    targets: Vec<RouteTarget>,
    /// Call address position → index into `targets`, or [`NO_TARGET`].
    target_of_call: Vec<u32>,
    /// Published routes, grouped by (contract, logical address).
    route_entries: Vec<RouteEntry>,
    route_groups: HashTable<Group>,
    /// Published authorisations, grouped by (consumer, contract, logical address).
    auth_entries: Vec<AuthEntry>,
    auth_groups: HashTable<Group>,
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("version", &self.version)
            .field("platform", &self.platform)
            .field("published_at", &self.published_at)
            .field("executor", &self.executor)
            .field("comment", &self.comment)
            .field("counts", &self.counts())
            .finish_non_exhaustive()
    }
}

fn same_active<T: PartialEq>(a: &Table<T>, b: &Table<T>) -> bool {
    a.active().eq(b.active())
}

/// Two snapshots are equal when their metadata and published rows are: the lookup indexes are
/// derived from the rows. Used to check that a replay gives the same versions.
impl PartialEq for Snapshot {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&self.catalogue, &other.catalogue);
        self.version == other.version
            && self.platform == other.platform
            && self.published_at == other.published_at
            && self.executor == other.executor
            && self.comment == other.comment
            && same_active(&a.profiles, &b.profiles)
            && same_active(&a.components, &b.components)
            && same_active(&a.contracts, &b.contracts)
            && same_active(&a.logical_addresses, &b.logical_addresses)
            && same_active(&a.call_addresses, &b.call_addresses)
            && same_active(&a.routes, &b.routes)
            && same_active(&a.authorisations, &b.authorisations)
    }
}

impl Eq for Snapshot {}

fn pos(p: usize) -> u32 {
    u32::try_from(p).unwrap_or(u32::MAX)
}

/// Groups entries by a key: `hashes[i]` is entry i's key hash and `same` says whether two
/// entries have the same key. Returns the entries reordered into groups (stable) and the
/// group table.
fn group<E: Copy>(
    entries: Vec<E>,
    hashes: &[u64],
    same: impl Fn(&E, &E) -> bool,
) -> (Vec<E>, HashTable<Group>) {
    // Pass 1: the group of every entry; a group is named by its first entry while counting.
    let mut table: HashTable<Group> = HashTable::with_capacity(entries.len());
    let mut group_of = Vec::with_capacity(entries.len());
    let mut first_of: Vec<u32> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let h = hashes[i];
        let found = table.find_mut(h, |g| {
            same(&entries[first_of[g.start as usize] as usize], e)
        });
        match found {
            Some(g) => {
                g.len += 1;
                group_of.push(g.start);
            }
            None => {
                let gid = pos(first_of.len());
                first_of.push(pos(i));
                table.insert_unique(h, Group { start: gid, len: 1 }, |g| {
                    hashes[first_of[g.start as usize] as usize]
                });
                group_of.push(gid);
            }
        }
    }
    // Pass 2: group starts in order of first appearance, then scatter (stable).
    let mut starts = vec![0u32; first_of.len()];
    let mut lens = vec![0u32; first_of.len()];
    for g in table.iter() {
        lens[g.start as usize] = g.len;
    }
    let mut next = 0u32;
    for (gid, start) in starts.iter_mut().enumerate() {
        *start = next;
        next += lens[gid];
    }
    let mut fill = starts.clone();
    let mut grouped = entries.clone();
    for (i, e) in entries.iter().enumerate() {
        let slot = &mut fill[group_of[i] as usize];
        grouped[*slot as usize] = *e;
        *slot += 1;
    }
    for g in table.iter_mut() {
        g.start = starts[g.start as usize];
    }
    (grouped, table)
}

impl Snapshot {
    /// Freezes the active rows of `catalogue` as version `version` (sharing its tables). Rows
    /// whose references cannot be resolved to active rows are left out of the lookups and
    /// listings.
    pub fn build(
        version: u64,
        platform: &str,
        published_at: DateTime<Utc>,
        executor: &str,
        comment: &str,
        catalogue: &Catalogue,
    ) -> Snapshot {
        let catalogue = catalogue.clone();
        let lookups = Lookups::build(&catalogue);
        Snapshot {
            version,
            platform: platform.to_string(),
            published_at,
            executor: executor.to_string(),
            comment: comment.to_string(),
            catalogue,
            counts: SnapshotCounts {
                routes: lookups.route_entries.len(),
                authorisations: lookups.auth_entries.len(),
            },
            lookups: OnceLock::from(lookups),
        }
    }

    /// A published version as a checkpoint kept it: its tables and counts; the lookups are
    /// built when first needed ([`Snapshot::prepare`] builds them at once).
    pub(crate) fn restore(
        version: u64,
        platform: &str,
        published_at: DateTime<Utc>,
        executor: &str,
        comment: &str,
        catalogue: Catalogue,
        counts: SnapshotCounts,
    ) -> Snapshot {
        Snapshot {
            version,
            platform: platform.to_string(),
            published_at,
            executor: executor.to_string(),
            comment: comment.to_string(),
            catalogue,
            counts,
            lookups: OnceLock::new(),
        }
    }

    /// Builds the lookups now if they are not yet (a restored version about to be served):
    /// the router's first request must not pay for it.
    pub fn prepare(&self) {
        self.lookups();
    }

    fn lookups(&self) -> &Lookups {
        self.lookups.get_or_init(|| Lookups::build(&self.catalogue))
    }
}

impl Lookups {
    fn build(cat: &Catalogue) -> Lookups {
        let keys = Keys::new(cat);
        let (targets, target_of_call) = call_targets(cat);
        let (route_entries, route_groups) = keys.route_groups(&target_of_call);
        let (auth_entries, auth_groups) = keys.auth_groups();
        Lookups {
            targets,
            target_of_call,
            route_entries,
            route_groups,
            auth_entries,
            auth_groups,
        }
    }
}

/// One target per active call address whose producer and profile are active, and per call
/// address position its target's index, or [`NO_TARGET`].
fn call_targets(cat: &Catalogue) -> (Vec<RouteTarget>, Vec<u32>) {
    let mut targets = Vec::new();
    let target_of_call: Vec<u32> = cat
        .call_addresses
        .rows()
        .map(|call| {
            if !call.is_active() {
                return NO_TARGET;
            }
            let producer = cat.components.get_active(call.producer);
            let profile = cat.profiles.get_active(call.profile);
            let (Some(producer), Some(profile)) = (producer, profile) else {
                return NO_TARGET;
            };
            targets.push(RouteTarget {
                url: call.url.clone(),
                profile: profile.name.clone(),
                producer: producer.hsa_id.clone(),
            });
            pos(targets.len() - 1)
        })
        .collect();
    (targets, target_of_call)
}

/// The keys routes and authorisations are grouped by: per row position of the logical
/// addresses, contracts and components, the hash of its text (compared case-insensitively).
struct Keys<'a> {
    cat: &'a Catalogue,
    la_hash: Vec<u64>,
    contract_hash: Vec<u64>,
    component_hash: Vec<u64>,
}

impl<'a> Keys<'a> {
    fn new(cat: &'a Catalogue) -> Self {
        let hashes_of = |n: usize, key: &dyn Fn(usize) -> Option<u64>| -> Vec<u64> {
            (0..n).map(|p| key(p).unwrap_or(0)).collect()
        };
        let text_hash = |t: &Text| KeyHasher::new().text(t).finish();
        Keys {
            cat,
            la_hash: hashes_of(cat.logical_addresses.len(), &|p| {
                cat.logical_addresses.at(p).map(|r| text_hash(&r.hsa_id))
            }),
            contract_hash: hashes_of(cat.contracts.len(), &|p| {
                cat.contracts.at(p).map(|r| text_hash(&r.namespace))
            }),
            component_hash: hashes_of(cat.components.len(), &|p| {
                cat.components.at(p).map(|r| text_hash(&r.hsa_id))
            }),
        }
    }

    /// The position of an active logical address.
    fn la_pos(&self, id: Id) -> Option<usize> {
        let t = &self.cat.logical_addresses;
        t.position(id)
            .filter(|&p| t.at(p).is_some_and(|r| r.is_active()))
    }

    /// The position of an active contract.
    fn contract_pos(&self, id: Id) -> Option<usize> {
        let t = &self.cat.contracts;
        t.position(id)
            .filter(|&p| t.at(p).is_some_and(|r| r.is_active()))
    }

    /// The position of an active component.
    fn component_pos(&self, id: Id) -> Option<usize> {
        let t = &self.cat.components;
        t.position(id)
            .filter(|&p| t.at(p).is_some_and(|r| r.is_active()))
    }

    /// The same logical address: the same row, or texts equal case-insensitively.
    fn same_la(&self, a: u32, b: u32) -> bool {
        let text = |p: u32| self.cat.logical_addresses.at(p as usize).map(|r| &r.hsa_id);
        a == b || same_text(text(a), text(b))
    }

    fn same_contract(&self, a: u32, b: u32) -> bool {
        let text = |p: u32| self.cat.contracts.at(p as usize).map(|r| &r.namespace);
        a == b || same_text(text(a), text(b))
    }

    fn same_component(&self, a: u32, b: u32) -> bool {
        let text = |p: u32| self.cat.components.at(p as usize).map(|r| &r.hsa_id);
        a == b || same_text(text(a), text(b))
    }

    /// The active routes with an active logical address, contract and target, grouped by
    /// (contract, logical address).
    fn route_groups(&self, target_of_call: &[u32]) -> (Vec<RouteEntry>, HashTable<Group>) {
        let cat = self.cat;
        let mut routes = Vec::new();
        let mut route_hashes = Vec::new();
        for row in cat.routes.active() {
            let target = cat
                .call_addresses
                .position(row.call_address)
                .and_then(|p| target_of_call.get(p).copied())
                .unwrap_or(NO_TARGET);
            let (Some(la), Some(contract)) = (
                self.la_pos(row.logical_address),
                self.contract_pos(row.contract),
            ) else {
                continue;
            };
            if target == NO_TARGET {
                continue;
            }
            route_hashes.push(combine(self.contract_hash[contract], self.la_hash[la]));
            routes.push(RouteEntry {
                validity: row.validity,
                target,
                logical_address: pos(la),
                contract: pos(contract),
            });
        }
        group(routes, &route_hashes, |a, b| {
            self.same_contract(a.contract, b.contract)
                && self.same_la(a.logical_address, b.logical_address)
        })
    }

    /// The active authorisations with an active consumer, contract and logical address,
    /// grouped by (consumer, contract, logical address).
    fn auth_groups(&self) -> (Vec<AuthEntry>, HashTable<Group>) {
        let mut auths = Vec::new();
        let mut auth_hashes = Vec::new();
        for row in self.cat.authorisations.active() {
            let (Some(consumer), Some(contract), Some(la)) = (
                self.component_pos(row.consumer),
                self.contract_pos(row.contract),
                self.la_pos(row.logical_address),
            ) else {
                continue;
            };
            auth_hashes.push(combine(
                combine(self.component_hash[consumer], self.contract_hash[contract]),
                self.la_hash[la],
            ));
            auths.push(AuthEntry {
                validity: row.validity,
                consumer: pos(consumer),
                contract: pos(contract),
                logical_address: pos(la),
            });
        }
        group(auths, &auth_hashes, |a, b| {
            self.same_component(a.consumer, b.consumer)
                && self.same_contract(a.contract, b.contract)
                && self.same_la(a.logical_address, b.logical_address)
        })
    }
}

fn same_text(a: Option<&Text>, b: Option<&Text>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => ci_eq(a, b),
        _ => false,
    }
}

impl Snapshot {
    /// Publish version id: 1, 2, 3, …
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The TAK platform name, e.g. `NTJP-TEST`.
    pub fn platform(&self) -> &str {
        &self.platform
    }

    /// When the version was published.
    pub fn published_at(&self) -> DateTime<Utc> {
        self.published_at
    }

    /// Who published (utförare).
    pub fn executor(&self) -> &str {
        &self.executor
    }

    /// The publish comment (kommentar).
    pub fn comment(&self) -> &str {
        &self.comment
    }

    /// The tables as they were published. They are shared with the store, so they also hold
    /// the rows that were deleted before this version: the published rows are the active ones
    /// ([`Table::active`], [`Table::get_active`]).
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    fn target_of(&self, call_address: Id) -> Option<&RouteTarget> {
        let p = self.catalogue.call_addresses.position(call_address)?;
        let l = self.lookups();
        let t = *l.target_of_call.get(p)?;
        l.targets.get(t as usize)
    }

    fn resolve_route<'a>(&'a self, row: &'a Row<Route>) -> Option<PublishedRoute<'a>> {
        let cat = &self.catalogue;
        Some(PublishedRoute {
            id: row.id,
            logical_address: &cat
                .logical_addresses
                .get_active(row.logical_address)?
                .hsa_id,
            contract: &cat.contracts.get_active(row.contract)?.namespace,
            target: self.target_of(row.call_address)?,
            validity: row.validity,
        })
    }

    fn resolve_authorisation<'a>(
        &'a self,
        row: &'a Row<Authorisation>,
    ) -> Option<PublishedAuthorisation<'a>> {
        let cat = &self.catalogue;
        Some(PublishedAuthorisation {
            id: row.id,
            consumer: &cat.components.get_active(row.consumer)?.hsa_id,
            contract: &cat.contracts.get_active(row.contract)?.namespace,
            logical_address: &cat
                .logical_addresses
                .get_active(row.logical_address)?
                .hsa_id,
            validity: row.validity,
            integration_agreement: &row.integration_agreement,
        })
    }

    /// All published routes, resolved to natural keys, in id order.
    pub fn routes(&self) -> impl Iterator<Item = PublishedRoute<'_>> + '_ {
        self.catalogue
            .routes
            .active()
            .filter_map(|r| self.resolve_route(r))
    }

    /// All published authorisations, resolved to natural keys, in id order.
    pub fn authorisations(&self) -> impl Iterator<Item = PublishedAuthorisation<'_>> + '_ {
        self.catalogue
            .authorisations
            .active()
            .filter_map(|r| self.resolve_authorisation(r))
    }

    fn la_text(&self, p: u32) -> &str {
        self.catalogue
            .logical_addresses
            .at(p as usize)
            .map_or("", |r: &Row<LogicalAddress>| &r.hsa_id)
    }

    fn contract_text(&self, p: u32) -> &str {
        self.catalogue
            .contracts
            .at(p as usize)
            .map_or("", |r: &Row<ServiceContract>| &r.namespace)
    }

    fn component_text(&self, p: u32) -> &str {
        self.catalogue
            .components
            .at(p as usize)
            .map_or("", |r: &Row<ServiceComponent>| &r.hsa_id)
    }

    /// The published routes for exactly this (contract, address), case-insensitive;
    /// `contract_hash` is the contract's [`KeyHasher`] hash.
    fn route_group(&self, contract_hash: u64, contract: &str, address: &str) -> &[RouteEntry] {
        let h = combine(contract_hash, KeyHasher::new().text(address).finish());
        let l = self.lookups();
        l.route_groups
            .find(h, |g| {
                let e = &l.route_entries[g.start as usize];
                ci_eq(self.la_text(e.logical_address), address)
                    && ci_eq(self.contract_text(e.contract), contract)
            })
            .and_then(|g| {
                l.route_entries
                    .get(g.start as usize..(g.start + g.len) as usize)
            })
            .unwrap_or(&[])
    }

    /// Routes (vägval) valid on `today` for exactly this (contract, logical address),
    /// case-insensitive, without fallback.
    fn valid_routes(
        &self,
        contract_hash: u64,
        contract: &str,
        address: &str,
        today: Day,
    ) -> Matches<'_> {
        let mut matches = Matches::new();
        let targets = &self.lookups().targets;
        for e in self.route_group(contract_hash, contract, address) {
            if e.validity.contains(today)
                && let Some(t) = targets.get(e.target as usize)
            {
                matches.push(t);
            }
        }
        matches
    }

    fn is_authorised_exactly(
        &self,
        prefix_hash: u64,
        consumer: &str,
        contract: &str,
        address: &str,
        today: Day,
    ) -> bool {
        let h = combine(prefix_hash, KeyHasher::new().text(address).finish());
        let l = self.lookups();
        l.auth_groups
            .find(h, |g| {
                let e = &l.auth_entries[g.start as usize];
                ci_eq(self.la_text(e.logical_address), address)
                    && ci_eq(self.component_text(e.consumer), consumer)
                    && ci_eq(self.contract_text(e.contract), contract)
            })
            .and_then(|g| {
                l.auth_entries
                    .get(g.start as usize..(g.start + g.len) as usize)
            })
            .is_some_and(|es| es.iter().any(|e| e.validity.contains(today)))
    }

    /// Routes (vägval) valid on `today` for (contract, logical address), case-insensitive, with
    /// VP's default rules and no HSA tree (see [`Snapshot::route_with`]).
    pub fn route<'a>(
        &'a self,
        contract: &str,
        logical_address: &'a str,
        today: Day,
    ) -> RouteLookup<'a> {
        self.route_with(contract, logical_address, today, &DEFAULT_RULES, &NO_TREE)
    }

    /// Routes (vägval) valid on `today` for (contract, logical address), case-insensitive, by
    /// takdatahandler's `VagvalHandlerImpl`:
    /// - an old-style address (`VG#VE`, [`RoutingRules::is_default_routing`]): its parts, last
    ///   first, the first with a valid route wins; no HSA climb and no `*`;
    /// - else the exact address; then, if the climb applies to the contract, each address of
    ///   the HSA climb up to and including `SE` ([`HsaTree::climb`]); then `*`.
    ///
    /// Returns the valid routes of the first address in that order that has any (router: 0 →
    /// VP004, >1 → VP006, empty url → VP010) and the trace. Allocates nothing (an old-style
    /// address of more than four parts excepted).
    pub fn route_with<'a>(
        &'a self,
        contract: &str,
        logical_address: &'a str,
        today: Day,
        rules: &'a RoutingRules,
        tree: &'a HsaTree,
    ) -> RouteLookup<'a> {
        let hc = KeyHasher::new().text(contract).finish();
        if rules.is_default_routing(logical_address) {
            let mut tried = 0;
            for part in rules.parts(logical_address) {
                tried += 1;
                let matches = self.valid_routes(hc, contract, part, today);
                if !matches.is_empty() {
                    let trace = Trace::leaf(logical_address, rules, tried, false);
                    return RouteLookup { matches, trace };
                }
            }
            return RouteLookup {
                matches: Matches::new(),
                trace: Trace::leaf(logical_address, rules, tried, false),
            };
        }
        let mut trace = Trace::new(logical_address);
        let matches = self.valid_routes(hc, contract, logical_address, today);
        if !matches.is_empty() {
            return RouteLookup { matches, trace };
        }
        if rules.vagval_hsa.enabled(contract) {
            let mut tried = 0;
            let mut found = None;
            for parent in tree.climb(logical_address) {
                tried += 1;
                let matches = self.valid_routes(hc, contract, parent, today);
                if !matches.is_empty() {
                    found = Some(matches);
                    break;
                }
            }
            trace.push(Step::Parent { tree, tried });
            if let Some(matches) = found {
                return RouteLookup { matches, trace };
            }
        }
        trace.push(Step::Default);
        let matches = self.valid_routes(hc, contract, DEFAULT_ADDRESS, today);
        RouteLookup { matches, trace }
    }

    /// Authorisation (anropsbehörighet) valid on `today`, case-insensitive, with VP's default
    /// rules and no HSA tree (see [`Snapshot::authorise_with`]).
    pub fn authorise<'a>(
        &self,
        consumer: &str,
        contract: &str,
        logical_address: &'a str,
        today: Day,
    ) -> AuthorisationLookup<'a> {
        self.authorise_with(
            consumer,
            contract,
            logical_address,
            today,
            &DEFAULT_RULES,
            &NO_TREE,
        )
    }

    /// Authorisation (anropsbehörighet) valid on `today`, case-insensitive on all three keys,
    /// by takdatahandler's `BehorighetHandlerImpl`:
    /// - an old-style address: refused as a whole (trace `(leaf),Invalid parameters`) unless it
    ///   has at most two parts and the contract and consumer are allowed
    ///   ([`RoutingRules::default_routing_allowed`]); else its parts, last first; no `*`, no
    ///   climb;
    /// - else exact, then `*`, then, if the climb applies to the contract, the HSA climb up to
    ///   and including `SE` (note: `*` before the climb, unlike routes).
    ///
    /// Allocates nothing (an old-style address of more than four parts excepted).
    pub fn authorise_with<'a>(
        &self,
        consumer: &str,
        contract: &str,
        logical_address: &'a str,
        today: Day,
        rules: &'a RoutingRules,
        tree: &'a HsaTree,
    ) -> AuthorisationLookup<'a> {
        let prefix = combine(
            KeyHasher::new().text(consumer).finish(),
            KeyHasher::new().text(contract).finish(),
        );
        let granted =
            |address: &str| self.is_authorised_exactly(prefix, consumer, contract, address, today);
        if rules.is_default_routing(logical_address) {
            let parts = rules.parts(logical_address);
            if !rules.default_routing_allowed(parts.len(), contract, consumer) {
                return AuthorisationLookup {
                    granted: false,
                    trace: Trace::leaf(logical_address, rules, 0, true),
                };
            }
            let hit = parts.iter().position(|p| granted(p));
            let tried = hit.map_or(parts.len(), |i| i + 1);
            return AuthorisationLookup {
                granted: hit.is_some(),
                trace: Trace::leaf(logical_address, rules, tried, false),
            };
        }
        let mut trace = Trace::new(logical_address);
        if granted(logical_address) {
            return AuthorisationLookup {
                granted: true,
                trace,
            };
        }
        trace.push(Step::Default);
        if granted(DEFAULT_ADDRESS) {
            return AuthorisationLookup {
                granted: true,
                trace,
            };
        }
        let mut hit = false;
        if rules.behorighet_hsa.enabled(contract) {
            let mut tried = 0;
            for parent in tree.climb(logical_address) {
                tried += 1;
                if granted(parent) {
                    hit = true;
                    break;
                }
            }
            trace.push(Step::Parent { tree, tried });
        }
        AuthorisationLookup {
            granted: hit,
            trace,
        }
    }

    /// Number of published routes and authorisations.
    pub fn counts(&self) -> SnapshotCounts {
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tak::model::*;
    use crate::tak::rules::HsaLookup;

    use crate::contract::RESPONDER_NS as CONTRACT;

    fn day(s: &str) -> Day {
        s.parse().unwrap()
    }

    /// A small catalogue built directly (not through orders).
    struct Builder {
        c: Catalogue,
        contract: Id,
        profile: Id,
    }

    impl Builder {
        fn new() -> Self {
            let mut c = Catalogue::default();
            let profile = c.profiles.insert(RivtaProfile {
                name: "RIVTABP21".into(),
                description: Default::default(),
            });
            let contract = c.contracts.insert(ServiceContract {
                namespace: CONTRACT.into(),
                description: Default::default(),
                major_version: 1,
                minor_version: 0,
            });
            Builder {
                c,
                contract,
                profile,
            }
        }

        fn address(&mut self, hsa: &str) -> Id {
            if let Some(r) = self.c.logical_addresses.active().find(|r| r.hsa_id == hsa) {
                return r.id;
            }
            self.c.logical_addresses.insert(LogicalAddress {
                hsa_id: hsa.into(),
                description: Default::default(),
            })
        }

        fn component(&mut self, hsa: &str) -> Id {
            if let Some(r) = self.c.components.active().find(|r| r.hsa_id == hsa) {
                return r.id;
            }
            self.c.components.insert(ServiceComponent {
                hsa_id: hsa.into(),
                description: Default::default(),
            })
        }

        fn route(&mut self, la: &str, producer: &str, url: &str, from: &str, to: &str) {
            let logical_address = self.address(la);
            let producer = self.component(producer);
            let call_address = self.c.call_addresses.insert(CallAddress {
                producer,
                profile: self.profile,
                url: url.into(),
            });
            self.c.routes.insert(Route {
                logical_address,
                contract: self.contract,
                call_address,
                validity: Validity::new(day(from), day(to)),
            });
        }

        fn auth(&mut self, consumer: &str, la: &str, from: &str, to: &str) {
            let consumer = self.component(consumer);
            let logical_address = self.address(la);
            self.c.authorisations.insert(Authorisation {
                consumer,
                contract: self.contract,
                logical_address,
                validity: Validity::new(day(from), day(to)),
                integration_agreement: "AUTOTAKNING".into(),
            });
        }

        fn build(&self) -> Snapshot {
            Snapshot::build(3, "NTJP-TEST", Utc::now(), "test", "", &self.c)
        }
    }

    #[test]
    fn route_exact_is_case_insensitive_and_inclusive() {
        let mut b = Builder::new();
        b.route(
            "load-mocks",
            "P",
            "https://x/load",
            "2025-01-01",
            "2025-12-31",
        );
        let s = b.build();
        let upper = CONTRACT.to_uppercase();
        for d in ["2025-01-01", "2025-12-31"] {
            let r = s.route(&upper, "LOAD-MOCKS", day(d));
            assert_eq!(r.matches.len(), 1, "{d}");
            assert_eq!(r.matches[0].url, "https://x/load");
            assert_eq!(r.trace, "LOAD-MOCKS");
        }
        assert!(
            s.route(CONTRACT, "LOAD-MOCKS", day("2024-12-31"))
                .matches
                .is_empty()
        );
        assert!(
            s.route(CONTRACT, "LOAD-MOCKS", day("2026-01-01"))
                .matches
                .is_empty()
        );
        assert_eq!(s.version(), 3);
        assert_eq!(s.platform(), "NTJP-TEST");
        assert_eq!(s.counts().routes, 1);
    }

    #[test]
    fn route_falls_back_to_se_then_default() {
        let mut b = Builder::new();
        b.route("01", "P01", "https://x/01", "2025-01-01", "2125-01-01");
        b.route("SE", "PSE", "https://x/se", "2025-01-01", "2125-01-01");
        b.route("*", "PDEF", "https://x/default", "2025-01-01", "2125-01-01");
        let s = b.build();
        let today = day("2026-11-22");

        let exact = s.route(CONTRACT, "01", today);
        assert_eq!(exact.matches[0].producer, "P01");
        assert_eq!(exact.trace, "01");

        let parent = s.route(CONTRACT, "AnyReceiver", today);
        assert_eq!(parent.matches[0].producer, "PSE");
        assert_eq!(parent.trace, "AnyReceiver,(parent),SE");

        let mut b = Builder::new();
        b.route("*", "PDEF", "https://x/default", "2025-01-01", "2125-01-01");
        let s = b.build();
        let default = s.route(CONTRACT, "AnyReceiver", today);
        assert_eq!(default.matches[0].producer, "PDEF");
        assert_eq!(default.trace, "AnyReceiver,(parent),SE,(default),*");

        let empty = Builder::new().build();
        let none = empty.route(CONTRACT, "AnyReceiver", today);
        assert!(none.matches.is_empty());
        assert_eq!(none.trace, "AnyReceiver,(parent),SE,(default),*");
    }

    #[test]
    fn route_fallback_skips_routes_not_valid_today() {
        let mut b = Builder::new();
        b.route("01", "P01", "https://x/01", "2020-01-01", "2020-12-31");
        b.route("SE", "PSE", "https://x/se", "2025-01-01", "2125-01-01");
        let s = b.build();
        let r = s.route(CONTRACT, "01", day("2026-01-01"));
        assert_eq!(r.matches[0].producer, "PSE");
        assert_eq!(r.trace, "01,(parent),SE");
    }

    #[test]
    fn two_valid_routes_give_two_matches() {
        let mut b = Builder::new();
        b.route("01", "A", "https://x/a", "2025-01-01", "2125-01-01");
        b.route("01", "B", "https://x/b", "2025-06-01", "2125-01-01");
        let s = b.build();
        assert_eq!(s.route(CONTRACT, "01", day("2025-07-01")).matches.len(), 2);
        assert_eq!(s.route(CONTRACT, "01", day("2025-02-01")).matches.len(), 1);
    }

    #[test]
    fn deleted_rows_are_not_published() {
        let mut b = Builder::new();
        b.route("01", "A", "https://x/a", "2025-01-01", "2125-01-01");
        if let Some(r) = b.c.routes.get_mut(1) {
            r.state = RowState::Deleted;
        }
        let s = b.build();
        assert!(
            s.route(CONTRACT, "01", day("2025-07-01"))
                .matches
                .is_empty()
        );
        assert_eq!(s.counts().routes, 0);
        assert_eq!(s.catalogue().routes.active().count(), 0);
        assert_eq!(s.routes().count(), 0);
    }

    #[test]
    fn authorisation_exact_then_default_then_se() {
        let today = day("2026-11-22");
        let mut b = Builder::new();
        b.auth("KONS", "01", "2025-01-01", "2125-01-01");
        let s = b.build();
        let a = s.authorise("kons", &CONTRACT.to_uppercase(), "01", today);
        assert!(a.granted);
        assert_eq!(a.trace, "01");
        let a = s.authorise("KONS", CONTRACT, "03", today);
        assert!(!a.granted);
        assert_eq!(a.trace, "03,(default),*,(parent),SE");

        let mut b = Builder::new();
        b.auth("KONS", "*", "2025-01-01", "2125-01-01");
        let a = b.build().authorise("KONS", CONTRACT, "03", today);
        assert!(a.granted);
        assert_eq!(a.trace, "03,(default),*");

        let mut b = Builder::new();
        b.auth("KONS", "se", "2025-01-01", "2125-01-01");
        let s = b.build();
        let a = s.authorise("KONS", CONTRACT, "LOAD-MOCKS", today);
        assert!(a.granted);
        assert_eq!(a.trace, "LOAD-MOCKS,(default),*,(parent),SE");
        assert!(!s.authorise("OTHER", CONTRACT, "01", today).granted);
        assert!(!s.authorise("KONS", "urn:other:1", "01", today).granted);
    }

    #[test]
    fn authorisation_validity_is_inclusive() {
        let mut b = Builder::new();
        b.auth("KONS", "01", "2025-01-01", "2025-01-31");
        let s = b.build();
        assert!(
            s.authorise("KONS", CONTRACT, "01", day("2025-01-01"))
                .granted
        );
        assert!(
            s.authorise("KONS", CONTRACT, "01", day("2025-01-31"))
                .granted
        );
        assert!(
            !s.authorise("KONS", CONTRACT, "01", day("2025-02-01"))
                .granted
        );
        assert!(
            !s.authorise("KONS", CONTRACT, "01", day("2024-12-31"))
                .granted
        );
        assert_eq!(s.counts().authorisations, 1);
    }

    fn tree() -> HsaTree {
        let xml = r#"<HsaUnitsResponse xmlns="urn:riv:hsa:HsaWsResponder:3"><hsaUnits>
            <hsaUnit><hsaIdentity>UNIT</hsaIdentity><DN>ou=VC,ou=Primärvård,o=Region,c=SE</DN><name>VC</name></hsaUnit>
            <hsaUnit><hsaIdentity>GIVER</hsaIdentity><DN>ou=Primärvård,o=Region,c=SE</DN><name>P</name></hsaUnit>
            <hsaUnit><hsaIdentity>REGION</hsaIdentity><DN>o=Region,c=SE</DN><name>R</name></hsaUnit>
            </hsaUnits></HsaUnitsResponse>"#;
        HsaTree::build(vec![
            super::super::hsa::parse_file("t", xml.as_bytes()).unwrap(),
        ])
    }

    #[test]
    fn route_climbs_the_hsa_tree_before_se_and_default() {
        let today = day("2026-11-22");
        let rules = RoutingRules::default();
        let t = tree();
        let mut b = Builder::new();
        b.route("GIVER", "PG", "https://x/g", "2025-01-01", "2125-01-01");
        b.route("SE", "PSE", "https://x/se", "2025-01-01", "2125-01-01");
        let s = b.build();
        let r = s.route_with(CONTRACT, "UNIT", today, &rules, &t);
        assert_eq!(r.matches[0].producer, "PG");
        assert_eq!(r.trace, "UNIT,(parent),GIVER");
        let r = s.route_with(CONTRACT, "REGION", today, &rules, &t);
        assert_eq!(r.matches[0].producer, "PSE");
        assert_eq!(r.trace, "REGION,(parent),SE");
        // The tree is case-sensitive; TAK is not.
        let r = s.route_with(CONTRACT, "unit", today, &rules, &t);
        assert_eq!(r.trace, "unit,(parent),SE");
        // Climb off for the contract: straight to `*`.
        let off = RoutingRules {
            vagval_hsa: HsaLookup {
                default_enabled: true,
                excepted_namespaces: vec![CONTRACT[..10].to_string()],
            },
            ..RoutingRules::default()
        };
        let r = s.route_with(CONTRACT, "UNIT", today, &off, &t);
        assert!(r.matches.is_empty());
        assert_eq!(r.trace, "UNIT,(default),*");
        let none = Builder::new().build();
        let r = none.route_with(CONTRACT, "UNIT", today, &rules, &t);
        assert_eq!(r.trace, "UNIT,(parent),GIVER,REGION,SE,(default),*");
        assert_eq!(
            none.route(CONTRACT, "SE", today).trace,
            "SE,(parent),SE,(default),*"
        );
    }

    #[test]
    fn authorisation_tries_default_before_the_climb() {
        let today = day("2026-11-22");
        let rules = RoutingRules::default();
        let t = tree();
        let mut b = Builder::new();
        b.auth("KONS", "REGION", "2025-01-01", "2125-01-01");
        let s = b.build();
        let a = s.authorise_with("KONS", CONTRACT, "UNIT", today, &rules, &t);
        assert!(a.granted);
        assert_eq!(a.trace, "UNIT,(default),*,(parent),GIVER,REGION");
        let a = s.authorise_with("KONS", CONTRACT, "OTHER", today, &rules, &t);
        assert!(!a.granted);
        assert_eq!(a.trace, "OTHER,(default),*,(parent),SE");
        let off = RoutingRules {
            behorighet_hsa: HsaLookup {
                default_enabled: false,
                excepted_namespaces: vec![],
            },
            ..RoutingRules::default()
        };
        let a = s.authorise_with("KONS", CONTRACT, "UNIT", today, &off, &t);
        assert!(!a.granted);
        assert_eq!(a.trace, "UNIT,(default),*");
    }

    #[test]
    fn old_style_addresses_try_their_parts_last_first_without_fallback() {
        let today = day("2026-11-22");
        let mut b = Builder::new();
        b.route("VG", "PVG", "https://x/vg", "2025-01-01", "2125-01-01");
        b.route("VE", "PVE", "https://x/ve", "2025-01-01", "2125-01-01");
        b.route("SE", "PSE", "https://x/se", "2025-01-01", "2125-01-01");
        b.route("*", "PDEF", "https://x/d", "2025-01-01", "2125-01-01");
        b.auth("KONS", "vg", "2025-01-01", "2125-01-01");
        b.auth("KONS", "*", "2025-01-01", "2125-01-01");
        let s = b.build();
        let r = s.route(CONTRACT, "VG#VE", today);
        assert_eq!(r.matches[0].producer, "PVE");
        assert_eq!(r.trace, "(leaf),VE");
        let r = s.route(CONTRACT, "VG#NONE", today);
        assert_eq!(r.matches[0].producer, "PVG");
        assert_eq!(r.trace, "(leaf),NONE,VG");
        let r = s.route(CONTRACT, "X#Y", today);
        assert!(r.matches.is_empty());
        assert_eq!(r.trace, "(leaf),Y,X");

        let a = s.authorise("KONS", CONTRACT, "VG#VE", today);
        assert!(a.granted);
        assert_eq!(a.trace, "(leaf),VE,VG");
        // No `*` in this mode.
        let a = s.authorise("KONS", CONTRACT, "X#Y", today);
        assert!(!a.granted);
        assert_eq!(a.trace, "(leaf),Y,X");
        let a = s.authorise("KONS", CONTRACT, "A#VE#VG", today);
        assert!(!a.granted);
        assert_eq!(a.trace, "(leaf),Invalid parameters");
        let only = RoutingRules {
            allowed_contracts: vec!["urn:other:1".into()],
            ..RoutingRules::default()
        };
        let a = s.authorise_with("KONS", CONTRACT, "VG#VE", today, &only, &NO_TREE);
        assert!(!a.granted);
        assert_eq!(a.trace, "(leaf),Invalid parameters");
        // Disabled: the whole address is looked up as it is, with the usual fallbacks.
        let off = RoutingRules {
            delimiter: String::new(),
            ..RoutingRules::default()
        };
        let r = s.route_with(CONTRACT, "VG#VE", today, &off, &NO_TREE);
        assert_eq!(r.matches[0].producer, "PSE");
        assert_eq!(r.trace, "VG#VE,(parent),SE");
    }
}
