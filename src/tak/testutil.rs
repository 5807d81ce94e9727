//! Shared test fixtures for the TAK modules: a small catalogue built directly on a store, times,
//! and a tiny namespace-aware XML tree for reading responses back.

use chrono::{DateTime, Utc};
use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;

use super::Store;
use super::model::{
    Authorisation, CallAddress, Day, Id, LogicalAddress, Route, ServiceComponent, ServiceContract,
    Validity,
};

pub(crate) use crate::contract::RESPONDER_NS as NS;
pub(crate) const URL: &str = "https://p1.example/cervix?a=1&b=2";

pub(crate) fn day(s: &str) -> Day {
    s.parse().unwrap()
}

pub(crate) fn v(from: &str, to: &str) -> Validity {
    Validity::new(day(from), day(to))
}

/// A publish time `secs` after 2025-01-15T10:00:00Z (winter time in Sweden).
pub(crate) fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_736_935_200 + secs, 0).unwrap()
}

/// Row ids of the fixture.
pub(crate) struct Ids {
    pub la_01: Id,
    pub la_se: Id,
    pub consumer: Id,
    pub call: Id,
    pub route_01: Id,
    pub route_se: Id,
    pub auth_01: Id,
    pub auth_se: Id,
}

/// A store (platform NTJP-TEST) with one contract, logical addresses 01 and SE, producer P1 at
/// [`URL`] (RIVTABP21), consumer KONS; routes 01 and SE; authorisations KONS→01 and KONS→SE.
/// Everything is pending.
pub(crate) fn store() -> (Store, Ids) {
    let mut s = Store::new("NTJP-TEST");
    let profile = s.find_profile("RIVTABP21").unwrap().id;
    let contract = s.insert(ServiceContract {
        namespace: NS.into(),
        description: "Cervix <screening> & co".into(),
        major_version: 1,
        minor_version: 0,
    });
    let la_01 = s.insert(LogicalAddress {
        hsa_id: "01".into(),
        description: "Region Stockholm".into(),
    });
    let la_se = s.insert(LogicalAddress {
        hsa_id: "SE".into(),
        description: "Sverige".into(),
    });
    let producer = s.insert(ServiceComponent {
        hsa_id: "P1".into(),
        description: "Producent 1".into(),
    });
    let consumer = s.insert(ServiceComponent {
        hsa_id: "KONS".into(),
        description: "Konsument".into(),
    });
    let call = s.insert(CallAddress {
        producer,
        profile,
        url: URL.into(),
    });
    let route_01 = s.insert(Route {
        logical_address: la_01,
        contract,
        call_address: call,
        validity: v("2025-01-01", "2125-01-01"),
    });
    let route_se = s.insert(Route {
        logical_address: la_se,
        contract,
        call_address: call,
        validity: v("2025-07-01", "2025-12-31"),
    });
    let auth_01 = s.insert(Authorisation {
        consumer,
        contract,
        logical_address: la_01,
        validity: v("2025-01-01", "2125-01-01"),
        integration_agreement: "AUTOTAKNING".into(),
    });
    let auth_se = s.insert(Authorisation {
        consumer,
        contract,
        logical_address: la_se,
        validity: v("2024-01-01", "2024-12-31"),
        integration_agreement: "AUTOTAKNING".into(),
    });
    (
        s,
        Ids {
            la_01,
            la_se,
            consumer,
            call,
            route_01,
            route_se,
            auth_01,
            auth_se,
        },
    )
}

/// An element read back from XML: namespace, local name, text and child elements.
#[derive(Debug, Default)]
pub(crate) struct Node {
    pub ns: Option<String>,
    pub name: String,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    /// The children with this local name.
    pub fn all(&self, name: &str) -> Vec<&Node> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    /// The only child with this local name.
    pub fn one(&self, name: &str) -> &Node {
        let all = self.all(name);
        assert_eq!(all.len(), 1, "exactly one <{name}> in <{}>", self.name);
        all[0]
    }

    /// The text of the only child with this local name.
    pub fn text_of(&self, name: &str) -> &str {
        &self.one(name).text
    }

    /// The local names of the children, in order.
    pub fn names(&self) -> Vec<&str> {
        self.children.iter().map(|c| c.name.as_str()).collect()
    }
}

/// Parses a whole XML document into a tree (the root element).
pub(crate) fn tree(xml: &str) -> Node {
    let mut reader = NsReader::from_str(xml);
    let mut stack: Vec<Node> = vec![Node::default()];
    loop {
        let (ns, event) = reader.read_resolved_event().unwrap();
        let ns = match ns {
            ResolveResult::Bound(Namespace(n)) => Some(n.to_string()),
            _ => None,
        };
        match event {
            Event::Start(e) => stack.push(Node {
                ns,
                name: e.local_name().as_ref().to_string(),
                ..Node::default()
            }),
            Event::Empty(e) => stack.last_mut().unwrap().children.push(Node {
                ns,
                name: e.local_name().as_ref().to_string(),
                ..Node::default()
            }),
            Event::End(_) => {
                let done = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(done);
            }
            Event::Text(t) => stack.last_mut().unwrap().text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let s = crate::soap::ref_text(&r).unwrap();
                stack.last_mut().unwrap().text.push_str(&s);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut root = stack.pop().unwrap();
    assert_eq!(root.children.len(), 1, "one root element");
    root.children.pop().unwrap()
}
