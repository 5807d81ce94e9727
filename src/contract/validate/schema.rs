//! The schema (XSD-R and XSD-C of ProcessCervixScreeningInformation 1.0) as static tables,
//! with the TKB's rules attached to the elements they apply to.

use crate::contract::{CORE_NS, RESPONDER_NS};

// The schema (XSD-R and XSD-C of ProcessCervixScreeningInformation 1.0) with the TKB's rules
// attached. Types used with different TKB rules (IIType, RegionType, CVType) appear once per
// use; their `name` is the schema's.

/// A complex type: an `xs:sequence` of particles followed by
/// `xs:any namespace="##other" processContents="lax" minOccurs="0" maxOccurs="unbounded"`.
pub(super) struct Type {
    pub(super) name: &'static str,
    /// The target namespace: that of the declared elements; extension elements must be in
    /// another one.
    pub(super) ns: &'static str,
    pub(super) particles: &'static [Particle],
}

/// One element of a sequence.
pub(super) struct Particle {
    pub(super) name: &'static str,
    pub(super) min: u32,
    /// `None`: unbounded.
    pub(super) max: Option<u32>,
    pub(super) content: Content,
    pub(super) tkb: Tkb,
}

#[derive(Clone, Copy)]
pub(super) enum Content {
    Complex(&'static Type),
    /// `xs:string`, with the TKB's rule on the value.
    Str(Value),
    /// DateType.
    Date,
}

/// A TKB rule on a string value.
#[derive(Clone, Copy)]
pub(super) enum Value {
    Any,
    PersonnummerOid,
    Personnummer,
    HsaIdOid,
    CodeSystem,
    Code(List),
}

#[derive(Clone, Copy)]
pub(super) enum List {
    ExclusionReason,
    FollowUpGroup,
    HpvStatus,
}

/// A TKB rule on an element's presence.
#[derive(Clone, Copy)]
pub(super) enum Tkb {
    None,
    /// Optional in the schema, required by the TKB; the text says what it is.
    Required(&'static str),
    /// Allowed by the schema, "Skall ej anges" in the TKB, under the named parent.
    Forbidden(&'static str),
}

pub(super) const fn p(
    name: &'static str,
    min: u32,
    max: Option<u32>,
    content: Content,
) -> Particle {
    Particle {
        name,
        min,
        max,
        content,
        tkb: Tkb::None,
    }
}

const ONE: Option<u32> = Some(1);
const MANY: Option<u32> = None;

pub(super) static PROCESS: Type = Type {
    name: "ProcessCervixScreeningInformationType",
    ns: RESPONDER_NS,
    particles: &[p(
        "cervixScreeningInformation",
        1,
        ONE,
        Content::Complex(&INFORMATION),
    )],
};

static INFORMATION: Type = Type {
    name: "CervixScreeningInformationType",
    ns: CORE_NS,
    particles: &[
        p("subjectOfCare", 1, ONE, Content::Complex(&PERSON)),
        p("sendingRegion", 1, ONE, Content::Complex(&SENDING_REGION)),
        p("exclusion", 0, ONE, Content::Complex(&EXCLUSION)),
        p(
            "followUpGroups",
            0,
            MANY,
            Content::Complex(&FOLLOW_UP_GROUP),
        ),
        p(
            "plannedInvitation",
            0,
            ONE,
            Content::Complex(&PLANNED_INVITATION),
        ),
        p("specimen", 0, ONE, Content::Complex(&SPECIMEN)),
    ],
};

static PERSON: Type = Type {
    name: "PersonType",
    ns: CORE_NS,
    particles: &[p("personId", 1, ONE, Content::Complex(&PERSON_ID))],
};

static PERSON_ID: Type = Type {
    name: "IIType",
    ns: CORE_NS,
    particles: &[
        p("root", 1, ONE, Content::Str(Value::PersonnummerOid)),
        Particle {
            tkb: Tkb::Required("the woman's personnummer, YYYYMMDDNNNN"),
            ..p("extension", 0, ONE, Content::Str(Value::Personnummer))
        },
    ],
};

static SENDING_REGION: Type = Type {
    name: "RegionType",
    ns: CORE_NS,
    particles: &[
        p("region", 1, ONE, Content::Complex(&ORGANISATION)),
        Particle {
            tkb: Tkb::Forbidden("sendingRegion"),
            ..p("careGiver", 0, ONE, Content::Complex(&ORGANISATION))
        },
        Particle {
            tkb: Tkb::Forbidden("sendingRegion"),
            ..p("careUnit", 0, ONE, Content::Complex(&ORGANISATION))
        },
    ],
};

static REGION: Type = Type {
    name: "RegionType",
    ns: CORE_NS,
    particles: &[
        p("region", 1, ONE, Content::Complex(&ORGANISATION)),
        p("careGiver", 0, ONE, Content::Complex(&ORGANISATION)),
        p("careUnit", 0, ONE, Content::Complex(&ORGANISATION)),
    ],
};

static ORGANISATION: Type = Type {
    name: "OrganisationType",
    ns: CORE_NS,
    particles: &[
        p("id", 1, ONE, Content::Complex(&HSA_ID)),
        p("name", 1, ONE, Content::Str(Value::Any)),
    ],
};

static HSA_ID: Type = Type {
    name: "IIType",
    ns: CORE_NS,
    particles: &[
        p("root", 1, ONE, Content::Str(Value::HsaIdOid)),
        p("extension", 0, ONE, Content::Str(Value::Any)),
    ],
};

static EXCLUSION: Type = Type {
    name: "ExclusionType",
    ns: CORE_NS,
    particles: &[
        p("reason", 1, ONE, Content::Complex(&EXCLUSION_REASON)),
        p("registeredAt", 1, ONE, Content::Date),
        p("originalRegion", 1, ONE, Content::Complex(&REGION)),
    ],
};

static FOLLOW_UP_GROUP: Type = Type {
    name: "FollowUpGroupType",
    ns: CORE_NS,
    particles: &[
        p("type", 1, ONE, Content::Complex(&FOLLOW_UP_GROUP_TYPE)),
        p("inclusionDate", 1, ONE, Content::Date),
        p("originalRegion", 1, ONE, Content::Complex(&REGION)),
    ],
};

static PLANNED_INVITATION: Type = Type {
    name: "PlannedInvitationType",
    ns: CORE_NS,
    particles: &[
        p("date", 1, ONE, Content::Date),
        p("reason", 0, ONE, Content::Str(Value::Any)),
    ],
};

static SPECIMEN: Type = Type {
    name: "SpecimenType",
    ns: CORE_NS,
    particles: &[
        p("specimenDate", 1, ONE, Content::Date),
        p("originalRegion", 1, ONE, Content::Complex(&REGION)),
        p("HPVstatusList", 0, MANY, Content::Complex(&HPV_STATUS)),
    ],
};

static HPV_STATUS: Type = Type {
    name: "HPVstatusType",
    ns: CORE_NS,
    particles: &[p("value", 1, ONE, Content::Complex(&HPV_STATUS_VALUE))],
};

pub(super) const fn cv(list: List) -> [Particle; 6] {
    [
        p("code", 1, ONE, Content::Str(Value::Code(list))),
        p("codeSystem", 1, ONE, Content::Str(Value::CodeSystem)),
        p("codeSystemName", 0, ONE, Content::Str(Value::Any)),
        p("codeSystemVersion", 0, ONE, Content::Str(Value::Any)),
        p("displayName", 0, ONE, Content::Str(Value::Any)),
        p("originalText", 0, ONE, Content::Str(Value::Any)),
    ]
}

static EXCLUSION_REASON: Type = Type {
    name: "CVType",
    ns: CORE_NS,
    particles: &cv(List::ExclusionReason),
};

static FOLLOW_UP_GROUP_TYPE: Type = Type {
    name: "CVType",
    ns: CORE_NS,
    particles: &cv(List::FollowUpGroup),
};

static HPV_STATUS_VALUE: Type = Type {
    name: "CVType",
    ns: CORE_NS,
    particles: &cv(List::HpvStatus),
};

/// The elements that may repeat, whose path steps always carry a 1-based index.
pub(super) const REPEATABLE: [&str; 2] = ["followUpGroups", "HPVstatusList"];

pub(super) fn cardinality(p: &Particle) -> String {
    match p.max {
        Some(max) => format!("{}..{max}", p.min),
        None => format!("{}..*", p.min),
    }
}
