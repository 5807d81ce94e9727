//! The contract's scenarios: which one a message's content represents.

use serde::{Deserialize, Serialize};

/// Which of the contract's scenarios a message represents (the testbed's reading of its
/// content; see [`Scenario::of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Only `subjectOfCare` and `sendingRegion`: "Kallelsegrundande information saknas".
    NoInformation,
    /// The woman moves between regions: the message carries `plannedInvitation`.
    Moved,
    /// She left a sample in another region: `specimen` only.
    SampleElsewhere,
    /// She was treated in another region: `followUpGroups`.
    TreatedElsewhere,
    /// She is excluded from invitations: `exclusion`.
    Exclusion,
}

impl Scenario {
    /// Every scenario, in declaration order.
    pub const ALL: [Scenario; 5] = [
        Scenario::NoInformation,
        Scenario::Moved,
        Scenario::SampleElsewhere,
        Scenario::TreatedElsewhere,
        Scenario::Exclusion,
    ];

    /// The kebab-case name, as serialized (`no-information`, `sample-elsewhere`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::NoInformation => "no-information",
            Scenario::Moved => "moved",
            Scenario::SampleElsewhere => "sample-elsewhere",
            Scenario::TreatedElsewhere => "treated-elsewhere",
            Scenario::Exclusion => "exclusion",
        }
    }

    /// The scenario with a kebab-case name ([`Scenario::as_str`]).
    pub fn parse(s: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// What the scenario means, in English with the Swedish wording after a slash.
    pub fn description(self) -> &'static str {
        match self {
            Scenario::NoInformation => {
                "No invitation information: only subjectOfCare and sendingRegion / \
                 Kallelsegrundande information saknas"
            }
            Scenario::Moved => {
                "The woman moves between regions (plannedInvitation) / \
                 Kvinnan flyttar mellan regioner"
            }
            Scenario::SampleElsewhere => {
                "She left a sample in another region (specimen) / \
                 Kvinnan har lämnat prov i en annan region"
            }
            Scenario::TreatedElsewhere => {
                "She was treated in another region (followUpGroups) / \
                 Kvinnan har behandlats i en annan region"
            }
            Scenario::Exclusion => {
                "She is excluded from invitations (exclusion) / \
                 Kvinnan är exkluderad från kallelse"
            }
        }
    }

    /// The scenario for the local names of the elements under `cervixScreeningInformation`:
    /// `exclusion` wins over `plannedInvitation`, which wins over `followUpGroups`, which wins
    /// over `specimen`; none of them is [`Scenario::NoInformation`].
    pub fn of<'a>(elements: impl IntoIterator<Item = &'a str>) -> Scenario {
        let mut best = Scenario::NoInformation;
        let rank = |s: Scenario| match s {
            Scenario::NoInformation => 0,
            Scenario::SampleElsewhere => 1,
            Scenario::TreatedElsewhere => 2,
            Scenario::Moved => 3,
            Scenario::Exclusion => 4,
        };
        for name in elements {
            let s = match name {
                "exclusion" => Scenario::Exclusion,
                "plannedInvitation" => Scenario::Moved,
                "followUpGroups" => Scenario::TreatedElsewhere,
                "specimen" => Scenario::SampleElsewhere,
                _ => continue,
            };
            if rank(s) > rank(best) {
                best = s;
            }
        }
        best
    }
}

impl std::fmt::Display for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
