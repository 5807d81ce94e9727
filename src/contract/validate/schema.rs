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

/// The code points of the digit zero of every run of ten decimal digits (Unicode general
/// category Nd, Unicode 14), for XSD's `\d`, which means `\p{Nd}`.
const DECIMAL_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50,
    0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

/// XSD's `\d`.
fn is_xsd_digit(c: char) -> bool {
    let u = c as u32;
    DECIMAL_ZEROS.iter().any(|&z| (z..z + 10).contains(&u))
}

/// DateType: the whole value matches `(19|20)\d\d(0[1-9]|1[012])(0[1-9]|[12][0-9]|3[01])`.
pub(super) fn is_date(v: &str) -> bool {
    let cs: Vec<char> = v.chars().take(9).collect();
    let &[c0, c1, c2, c3, c4, c5, c6, c7] = cs.as_slice() else {
        return false;
    };
    matches!((c0, c1), ('1', '9') | ('2', '0'))
        && is_xsd_digit(c2)
        && is_xsd_digit(c3)
        && matches!((c4, c5), ('0', '1'..='9') | ('1', '0'..='2'))
        && matches!(
            (c6, c7),
            ('0', '1'..='9') | ('1' | '2', '0'..='9') | ('3', '0' | '1')
        )
}
