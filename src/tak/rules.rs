//! VP's settings for the fallbacks of route and authorisation lookups (takdatahandler's
//! `DefaultRoutingConfiguration` and `HsaLookupConfiguration`), and the splitting of an
//! old-style default-routing address (`VG#VE`).
//!
//! Pure values built once from the configuration; the lookups in [`super::snapshot`] read them.

use smallvec::SmallVec;

/// Whether the HSA climb applies to a contract (VP's `hsa.lookup.vagval.*` /
/// `hsa.lookup.behorighet.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HsaLookup {
    /// `defaultEnabled` (VP: true).
    pub default_enabled: bool,
    /// `exceptedNamespaces`: a contract namespace starting with one of these (case-sensitive;
    /// blank entries ignored) gets the opposite of the default.
    pub excepted_namespaces: Vec<String>,
}

impl Default for HsaLookup {
    fn default() -> Self {
        HsaLookup {
            default_enabled: true,
            excepted_namespaces: Vec::new(),
        }
    }
}

impl HsaLookup {
    /// Whether the climb applies to `namespace` (takdatahandler's `HsaLookupUtil`).
    pub fn enabled(&self, namespace: &str) -> bool {
        let excepted = self
            .excepted_namespaces
            .iter()
            .filter(|e| !e.trim().is_empty())
            .any(|e| namespace.starts_with(e.as_str()));
        self.default_enabled != excepted
    }
}

/// The fallback settings of both lookups. `Default` is VP's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingRules {
    /// `defaultrouting.delimiter` (VP: `#`): an address containing it is an old-style
    /// default-routing address, split at each of its characters. Empty: no such addresses.
    pub delimiter: String,
    /// `defaultrouting.allowedContracts`: contracts whose calls may be authorised by an
    /// old-style address (exact, case-sensitive); empty: all.
    pub allowed_contracts: Vec<String>,
    /// `defaultrouting.allowedSenderIds`: consumers who may be; empty: all.
    pub allowed_sender_ids: Vec<String>,
    /// The HSA climb of route lookups.
    pub vagval_hsa: HsaLookup,
    /// The HSA climb of authorisation lookups.
    pub behorighet_hsa: HsaLookup,
}

impl Default for RoutingRules {
    fn default() -> Self {
        RoutingRules {
            delimiter: "#".to_string(),
            allowed_contracts: Vec::new(),
            allowed_sender_ids: Vec::new(),
            vagval_hsa: HsaLookup::default(),
            behorighet_hsa: HsaLookup::default(),
        }
    }
}

/// The parts of an old-style address; inline up to this many (an address has two).
pub type Parts<'a> = SmallVec<[&'a str; 4]>;

/// Beyond this many parts, duplicates are found by hashing (a pathological address must not
/// cost time quadratic in its length).
const SCAN_LIMIT: usize = 16;

impl RoutingRules {
    /// Whether `address` is an old-style default-routing address (takdatahandler's
    /// `useOldStyleDefaultRouting`: the delimiter is set and the address contains it).
    pub fn is_default_routing(&self, address: &str) -> bool {
        !self.delimiter.is_empty() && address.contains(self.delimiter.as_str())
    }

    /// The parts of an old-style address in the order VP tries them (takdatahandler's
    /// `extractReceiverAdresses`): split at every character of the delimiter, empty parts
    /// dropped (`StringTokenizer`), duplicates dropped (case-sensitive), the last part first.
    /// Allocates nothing for up to four parts.
    pub fn parts<'a>(&self, address: &'a str) -> Parts<'a> {
        let delimiter = self.delimiter.as_str();
        let tokens = address
            .split(|c: char| delimiter.contains(c))
            .filter(|t| !t.is_empty());
        let mut parts = Parts::new();
        let mut seen: Option<std::collections::HashSet<&'a str>> = None;
        for t in tokens {
            let new = match seen.as_mut() {
                Some(set) => set.insert(t),
                None => !parts.contains(&t),
            };
            if new {
                parts.push(t);
            }
            if seen.is_none() && parts.len() > SCAN_LIMIT {
                seen = Some(parts.iter().copied().collect());
            }
        }
        parts.reverse();
        parts
    }

    /// Whether an old-style address may be authorised at all (takdatahandler's
    /// `isParametersValidForDefaultRouting`): at most two parts, the contract and the consumer
    /// allowed.
    pub fn default_routing_allowed(&self, parts: usize, contract: &str, sender: &str) -> bool {
        let allowed = |list: &[String], v: &str| list.is_empty() || list.iter().any(|a| a == v);
        parts <= 2
            && allowed(&self.allowed_contracts, contract)
            && allowed(&self.allowed_sender_ids, sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_reversed_deduplicated_and_empty_ones_dropped() {
        let r = RoutingRules::default();
        assert!(r.is_default_routing("VG#VE"));
        assert!(!r.is_default_routing("VE"));
        assert_eq!(r.parts("VG#VE").as_slice(), ["VE", "VG"]);
        assert_eq!(r.parts("A#B#A").as_slice(), ["B", "A"]);
        assert_eq!(r.parts("#A##B#").as_slice(), ["B", "A"]);
        assert_eq!(r.parts("A#a").as_slice(), ["a", "A"]);
        assert!(r.parts("#").is_empty());
        let many: String = (0..100).map(|i| format!("P{}#", i % 40)).collect();
        let p = r.parts(&many);
        assert_eq!(p.len(), 40);
        assert_eq!(p[0], "P39");
        assert_eq!(p[39], "P0");
    }

    #[test]
    fn every_character_of_the_delimiter_splits_and_empty_disables() {
        let r = RoutingRules {
            delimiter: "#|".into(),
            ..RoutingRules::default()
        };
        // The whole delimiter must occur for the mode; then each character splits.
        assert!(!r.is_default_routing("A#B"));
        assert!(r.is_default_routing("A#|B|C"));
        assert_eq!(r.parts("A#|B|C").as_slice(), ["C", "B", "A"]);
        let off = RoutingRules {
            delimiter: String::new(),
            ..RoutingRules::default()
        };
        assert!(!off.is_default_routing("A#B"));
    }

    #[test]
    fn authorisation_mode_needs_two_parts_an_allowed_contract_and_sender() {
        let mut r = RoutingRules::default();
        assert!(r.default_routing_allowed(2, "urn:x:1", "S"));
        assert!(!r.default_routing_allowed(3, "urn:x:1", "S"));
        r.allowed_contracts = vec!["urn:x:1".into()];
        r.allowed_sender_ids = vec!["S".into()];
        assert!(r.default_routing_allowed(1, "urn:x:1", "S"));
        assert!(!r.default_routing_allowed(1, "URN:X:1", "S"));
        assert!(!r.default_routing_allowed(1, "urn:x:1", "s"));
    }

    #[test]
    fn excepted_namespaces_invert_the_default_by_prefix() {
        let mut l = HsaLookup::default();
        assert!(l.enabled("urn:riv:a:1"));
        l.excepted_namespaces = vec![" ".into(), "urn:riv:a".into()];
        assert!(!l.enabled("urn:riv:a:1"));
        assert!(l.enabled("urn:riv:b:1"));
        l.default_enabled = false;
        assert!(l.enabled("urn:riv:a:1"));
        assert!(!l.enabled("urn:riv:b:1"));
    }
}
