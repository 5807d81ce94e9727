//! The contract's WSDL and schemas (`wsdl/`) and the message fixtures (`fixtures/messages/`),
//! checked with libxml2's `xmllint`, a validator not written here: every valid fixture passes
//! the published schemas and the testbed's TKB profile, every invalid one fails where its
//! comment says it does (and for the element it names), the technical ones fail outright, and
//! the WSDL, the schemas and the fixtures' machine-readable comments agree with the contract's
//! names in `src/contract`.

mod common;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
};

use ntjp_testbed::contract::{
    self, CORE_NS, HSA_ID_OID, OPERATION, PERSONNUMMER_OID, RESPONDER_NS, SOAP_ACTION, WSDL_NS,
};
use ntjp_testbed::vocab::{CodeLists, REGISTRY_NS, SNOMED_CT_OID, SOAP11_NS};
use quick_xml::{
    events::{BytesStart, Event},
    name::{Namespace, ResolveResult},
    reader::NsReader,
};

const WSDL: &str = "wsdl/interactions/ProcessCervixScreeningInformationInteraction/ProcessCervixScreeningInformationInteraction_1.0_RIVTABP21.wsdl";
const RESPONDER_XSD: &str = "wsdl/interactions/ProcessCervixScreeningInformationInteraction/ProcessCervixScreeningInformationResponder_1.0.xsd";
const CORE_XSD: &str = "wsdl/core_components/clinicalprocess_logistics_cervixscreening_1.0.xsd";
const REGISTRY_XSD: &str = "wsdl/core_components/itintegration_registry_1.0.xsd";
const TKB_RESPONDER_XSD: &str = "wsdl/tkb/ProcessCervixScreeningInformationResponder_1.0_tkb.xsd";
const TKB_CORE_XSD: &str = "wsdl/tkb/clinicalprocess_logistics_cervixscreening_1.0_tkb.xsd";
const REQUEST_XSD: &str = "wsdl/validation/request.xsd";
const REQUEST_TKB_XSD: &str = "wsdl/validation/request-tkb.xsd";

const SCENARIOS: [&str; 5] = [
    "moved",
    "sample-elsewhere",
    "treated-elsewhere",
    "exclusion",
    "no-information",
];

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ------------------------------------------------------------------------------ xmllint

/// One xmllint run: its exit code and everything it printed.
struct Lint {
    code: Option<i32>,
    output: String,
}

impl Lint {
    /// Valid: exit 0 and the per-file "validates" line.
    fn validates(&self) -> bool {
        self.code == Some(0) && self.output.contains(" validates")
    }
    /// Rejected by the schema (exit 3), as opposed to a schema that did not compile (exit 5),
    /// which must never count as a rejection.
    fn rejects(&self) -> bool {
        self.code == Some(3) && self.output.contains("fails to validate")
    }
    /// Not well-formed (exit 1, a parser error).
    fn unparsable(&self) -> bool {
        self.code == Some(1) && self.output.contains("parser error")
    }
    fn compiled(&self) -> bool {
        !self.output.contains("failed to compile") && self.code != Some(5)
    }
    fn validity_errors(&self) -> usize {
        self.output.matches("Schemas validity error").count()
    }
}

fn run_xmllint(args: &[&std::ffi::OsStr]) -> Lint {
    let out = Command::new(common::install::xmllint())
        .arg("--noout")
        .args(args)
        .output()
        .expect("xmllint runs");
    Lint {
        code: out.status.code(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// `xmllint --noout file`: well-formedness only.
fn well_formed(file: &Path) -> Lint {
    run_xmllint(&[file.as_os_str()])
}

/// `xmllint --noout --schema <schema> file`, the schema relative to the repository (or
/// absolute).
fn validate(schema: &str, file: &Path) -> Lint {
    let schema = repo(schema);
    run_xmllint(&["--schema".as_ref(), schema.as_os_str(), file.as_os_str()])
}

/// Panics with every failure at once, each naming its file and showing xmllint's output.
fn report(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} failure(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

// ------------------------------------------------------------------------------ fixtures

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Valid,
    Invalid,
    Technical,
}

/// A fixture and the machine-readable lines of its comment.
#[derive(Debug)]
struct Fixture {
    /// Relative to `fixtures/messages/`, e.g. `valid/exclusion.xml`.
    name: String,
    path: PathBuf,
    kind: Kind,
    text: String,
    /// `key: value` lines in order (scenario, rule, expect, address).
    meta: Vec<(String, String)>,
    /// What is wrong with the comment itself, if anything.
    comment_problems: Vec<String>,
}

impl Fixture {
    fn all(&self, key: &str) -> Vec<&str> {
        self.meta
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    fn one(&self, key: &str) -> Option<&str> {
        match self.all(key)[..] {
            [v] => Some(v),
            _ => None,
        }
    }
}

const META_KEYS: [&str; 4] = ["scenario", "rule", "expect", "address"];

/// Reads the one comment right after the XML declaration; its last lines are `key: value`.
fn parse_comment(text: &str) -> (Vec<(String, String)>, Vec<String>) {
    let mut problems = Vec::new();
    let Some(rest) = text.strip_prefix("<?xml") else {
        return (
            Vec::new(),
            vec!["does not start with an XML declaration".into()],
        );
    };
    let Some(after_decl) = rest.find("?>").map(|i| &rest[i + 2..]) else {
        return (Vec::new(), vec!["unterminated XML declaration".into()]);
    };
    let Some(comment) = after_decl.trim_start().strip_prefix("<!--") else {
        return (
            Vec::new(),
            vec!["no comment right after the XML declaration".into()],
        );
    };
    let Some(end) = comment.find("-->") else {
        return (Vec::new(), vec!["unterminated comment".into()]);
    };
    let comment = &comment[..end];
    if text.matches("<!--").count() != 1 {
        problems.push("more than one XML comment".into());
    }
    let lines: Vec<&str> = comment
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let is_meta = |l: &str| {
        l.split_once(": ")
            .is_some_and(|(k, _)| META_KEYS.contains(&k))
    };
    let first_meta = lines.iter().position(|l| is_meta(l));
    let mut meta = Vec::new();
    match first_meta {
        None => problems.push("no machine-readable lines".into()),
        Some(0) => problems.push("no plain-English description before the machine lines".into()),
        Some(i) => {
            for l in &lines[i..] {
                match l.split_once(": ") {
                    Some((k, v)) if META_KEYS.contains(&k) => {
                        meta.push((k.to_string(), v.trim().to_string()))
                    }
                    _ => problems.push(format!("not a machine line after the first one: {l:?}")),
                }
            }
        }
    }
    (meta, problems)
}

fn fixtures() -> Vec<Fixture> {
    let mut out = Vec::new();
    for (dir, kind) in [
        ("valid", Kind::Valid),
        ("invalid", Kind::Invalid),
        ("technical", Kind::Technical),
    ] {
        let base = repo("fixtures/messages").join(dir);
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&base)
            .unwrap_or_else(|e| panic!("{}: {e}", base.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "xml"))
            .collect();
        paths.sort();
        for path in paths {
            let text = read(&path);
            let (meta, comment_problems) = parse_comment(&text);
            let name = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
            out.push(Fixture {
                name,
                path,
                kind,
                text,
                meta,
                comment_problems,
            });
        }
    }
    assert!(!out.is_empty(), "no fixtures in fixtures/messages");
    out
}

fn of_kind(kind: Kind) -> Vec<Fixture> {
    fixtures().into_iter().filter(|f| f.kind == kind).collect()
}

// ------------------------------------------------------------------------------ XML reading

/// An element as read by streaming: its namespace, local name, attributes (raw values), text,
/// and its parent's index.
#[derive(Debug)]
struct El {
    ns: Option<String>,
    local: String,
    attrs: BTreeMap<String, String>,
    text: String,
    parent: Option<usize>,
}

impl El {
    fn attr(&self, name: &str) -> &str {
        self.attrs.get(name).map_or("", String::as_str)
    }
}

fn el_of(ns: &ResolveResult<'_>, e: &BytesStart<'_>, parent: Option<usize>) -> El {
    let ns = match ns {
        ResolveResult::Bound(Namespace(ns)) => Some(ns.to_string()),
        _ => None,
    };
    let attrs = e
        .attributes()
        .map(|a| {
            let a = a.expect("attribute");
            (a.key.as_ref().to_string(), a.value.into_owned())
        })
        .collect();
    El {
        ns,
        local: e.local_name().as_ref().to_string(),
        attrs,
        text: String::new(),
        parent,
    }
}

/// Every element of a well-formed document, in document order.
fn elements(text: &str) -> Result<Vec<El>, String> {
    let mut reader = NsReader::from_str(text);
    let mut els: Vec<El> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(|e| e.to_string())?;
        match event {
            Event::Start(e) => {
                els.push(el_of(&ns, &e, stack.last().copied()));
                stack.push(els.len() - 1);
            }
            Event::Empty(e) => els.push(el_of(&ns, &e, stack.last().copied())),
            Event::End(_) => {
                stack.pop();
            }
            Event::Text(t) => {
                if let Some(&top) = stack.last() {
                    els[top].text.push_str(&t.xml10_content());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if stack.is_empty() {
        Ok(els)
    } else {
        Err("unclosed elements".into())
    }
}

/// The scenario the content represents, by the testbed's precedence: exclusion, then
/// plannedInvitation, then followUpGroups, then specimen, else no information.
fn scenario_of(els: &[El]) -> Option<&'static str> {
    let csi = els.iter().position(|e| {
        e.local == "cervixScreeningInformation" && e.ns.as_deref() == Some(RESPONDER_NS)
    })?;
    let children: BTreeSet<&str> = els
        .iter()
        .filter(|e| e.parent == Some(csi) && e.ns.as_deref() == Some(CORE_NS))
        .map(|e| e.local.as_str())
        .collect();
    Some(
        [
            ("exclusion", "exclusion"),
            ("plannedInvitation", "moved"),
            ("followUpGroups", "treated-elsewhere"),
            ("specimen", "sample-elsewhere"),
        ]
        .into_iter()
        .find(|(el, _)| children.contains(el))
        .map_or("no-information", |(_, s)| s),
    )
}

/// The text of the first `LogicalAddress` element, read as text so that a body broken later
/// does not matter.
fn header_address(text: &str) -> Option<&str> {
    let at = text.find("LogicalAddress")?;
    let rest = &text[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')?;
    Some(&rest[start..start + end])
}

/// A well-formed `expect:` path: `cervixScreeningInformation/...`, local names, the repeating
/// elements with a 1-based index and no other element with one.
fn path_problem(path: &str) -> Option<String> {
    let mut segments = path.split('/');
    if segments.next() != Some("cervixScreeningInformation") {
        return Some("does not start with cervixScreeningInformation".into());
    }
    for seg in segments {
        let (name, index) = match seg.split_once('[') {
            Some((n, i)) => (n, Some(i)),
            None => (seg, None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Some(format!("bad segment {seg:?}"));
        }
        let repeats = matches!(name, "followUpGroups" | "HPVstatusList");
        match index {
            None if repeats => return Some(format!("{name} needs an index")),
            Some(_) if !repeats => return Some(format!("{name} cannot carry an index")),
            Some(i) => {
                let n = i.strip_suffix(']').and_then(|n| n.parse::<u32>().ok());
                if n.is_none_or(|n| n < 1) {
                    return Some(format!("bad index in {seg:?}"));
                }
            }
            None => {}
        }
    }
    None
}

/// The local name an `expect:` path ends in, without its index.
fn last_local(path: &str) -> &str {
    let last = path.rsplit('/').next().unwrap_or(path);
    last.split('[').next().unwrap_or(last)
}

// ------------------------------------------------------------------------------ the tests

#[test]
fn every_fixture_carries_its_comment_and_machine_lines() {
    let all = fixtures();
    let mut failures = Vec::new();
    let mut scenarios = BTreeSet::new();
    let addresses: BTreeSet<&str> = contract::COUNTY_CODES
        .iter()
        .map(|(c, _)| *c)
        .chain([contract::LOAD_MOCKS, "NTJP-MOCKS"])
        .collect();
    for f in &all {
        let mut problems = f.comment_problems.clone();
        let keys: BTreeSet<&str> = f.meta.iter().map(|(k, _)| k.as_str()).collect();
        let allowed: &[&str] = match f.kind {
            Kind::Valid => &["scenario", "address"],
            Kind::Invalid => &["rule", "expect", "address"],
            Kind::Technical => &["expect", "address"],
        };
        for k in &keys {
            if !allowed.contains(k) {
                problems.push(format!("`{k}:` does not belong in this kind of fixture"));
            }
        }
        match f.one("address") {
            None => problems.push("needs exactly one `address:` line".into()),
            Some(a) if !addresses.contains(a) => {
                problems.push(format!("address {a:?} is not a county code or LOAD-MOCKS"))
            }
            Some(a) if header_address(&f.text) != Some(a) => problems.push(format!(
                "address line {a:?} differs from the LogicalAddress header {:?}",
                header_address(&f.text)
            )),
            Some(_) => {}
        }
        match f.kind {
            Kind::Valid => match f.one("scenario") {
                Some(s) if SCENARIOS.contains(&s) => {
                    scenarios.insert(s.to_string());
                    match elements(&f.text) {
                        Ok(els) if scenario_of(&els) == Some(s) => {}
                        Ok(els) => problems.push(format!(
                            "scenario {s}, but the content reads as {:?}",
                            scenario_of(&els)
                        )),
                        Err(e) => problems.push(format!("not well-formed: {e}")),
                    }
                }
                other => problems.push(format!(
                    "needs exactly one `scenario:` of {SCENARIOS:?}, has {other:?}"
                )),
            },
            Kind::Invalid => {
                if !matches!(f.one("rule"), Some("schema" | "tkb")) {
                    problems.push("needs exactly one `rule: schema` or `rule: tkb`".into());
                }
                let expects = f.all("expect");
                if expects.is_empty() {
                    problems.push("needs at least one `expect:` line".into());
                }
                for e in expects {
                    if let Some(p) = path_problem(e) {
                        problems.push(format!("expect {e:?}: {p}"));
                    }
                }
            }
            Kind::Technical => {
                if f.all("expect") != ["fault"] {
                    problems.push("needs exactly `expect: fault`".into());
                }
            }
        }
        // The mocks' behaviour triggers must not be set off by a fixture.
        if f.text.contains(">19000101") || f.text.contains("189012139805") {
            problems.push("uses a personnummer reserved for the mocks' triggers".into());
        }
        if !problems.is_empty() {
            failures.push(format!("{}:\n  {}", f.name, problems.join("\n  ")));
        }
    }
    for s in SCENARIOS {
        if !scenarios.contains(s) {
            failures.push(format!("no valid fixture has `scenario: {s}`"));
        }
    }
    for (kind, min) in [(Kind::Valid, 7), (Kind::Invalid, 20), (Kind::Technical, 2)] {
        let n = all.iter().filter(|f| f.kind == kind).count();
        if n < min {
            failures.push(format!(
                "only {n} {kind:?} fixtures, expected at least {min}"
            ));
        }
    }
    report(failures);
}

#[test]
fn valid_fixtures_pass_both_entry_points() {
    let mut failures = Vec::new();
    for f in of_kind(Kind::Valid) {
        for schema in [REQUEST_XSD, REQUEST_TKB_XSD] {
            let lint = validate(schema, &f.path);
            if !lint.validates() {
                failures.push(format!("{} should pass {schema}:\n{}", f.name, lint.output));
            }
        }
    }
    report(failures);
}

#[test]
fn schema_invalid_fixtures_fail_both_entry_points() {
    let mut failures = Vec::new();
    for f in of_kind(Kind::Invalid) {
        if f.one("rule") != Some("schema") {
            continue;
        }
        for schema in [REQUEST_XSD, REQUEST_TKB_XSD] {
            let lint = validate(schema, &f.path);
            if !lint.rejects() {
                failures.push(format!(
                    "{} should fail {schema} (exit {:?}):\n{}",
                    f.name, lint.code, lint.output
                ));
            }
        }
    }
    report(failures);
}

#[test]
fn tkb_invalid_fixtures_fail_only_the_tkb_profile() {
    let mut failures = Vec::new();
    for f in of_kind(Kind::Invalid) {
        if f.one("rule") != Some("tkb") {
            continue;
        }
        let published = validate(REQUEST_XSD, &f.path);
        if !published.validates() {
            failures.push(format!(
                "{} breaks a TKB rule only, so it should pass {REQUEST_XSD}:\n{}",
                f.name, published.output
            ));
        }
        let tkb = validate(REQUEST_TKB_XSD, &f.path);
        if !tkb.rejects() {
            failures.push(format!(
                "{} should fail {REQUEST_TKB_XSD} (exit {:?}):\n{}",
                f.name, tkb.code, tkb.output
            ));
        }
    }
    report(failures);
}

/// Each invalid fixture breaks exactly the rules its `expect:` lines name: the TKB profile
/// (which holds every rule) reports one validity error per line, naming the element the path
/// ends in. libxml2 reports value errors independently, so a file with several of them gets
/// all of them.
#[test]
fn invalid_fixtures_break_exactly_what_they_expect() {
    let mut failures = Vec::new();
    for f in of_kind(Kind::Invalid) {
        let expects = f.all("expect");
        let lint = validate(REQUEST_TKB_XSD, &f.path);
        if lint.validity_errors() != expects.len() {
            failures.push(format!(
                "{}: {} expect line(s) but {} validity error(s):\n{}",
                f.name,
                expects.len(),
                lint.validity_errors(),
                lint.output
            ));
        }
        for e in expects {
            let local = last_local(e);
            if !lint.output.contains(&format!("}}{local}")) {
                failures.push(format!(
                    "{}: xmllint does not name {local} (from {e}):\n{}",
                    f.name, lint.output
                ));
            }
        }
    }
    report(failures);
}

#[test]
fn technical_fixtures_fail() {
    let mut failures = Vec::new();
    for f in of_kind(Kind::Technical) {
        for schema in [REQUEST_XSD, REQUEST_TKB_XSD] {
            let lint = validate(schema, &f.path);
            if !(lint.rejects() || lint.unparsable()) {
                failures.push(format!(
                    "{} should fail {schema} (exit {:?}):\n{}",
                    f.name, lint.code, lint.output
                ));
            }
        }
    }
    // Each shows its own technical error.
    let nwf = repo("fixtures/messages/technical/not-well-formed.xml");
    let lint = well_formed(&nwf);
    if !lint.unparsable() {
        failures.push(format!(
            "technical/not-well-formed.xml should not be well-formed:\n{}",
            lint.output
        ));
    }
    // ... but broken only after the header and the start of the body element, which the
    // router reads.
    let text = read(&nwf);
    let mut reader = NsReader::from_str(&text);
    let mut first_in_body = None;
    let mut in_body = false;
    while first_in_body.is_none() {
        match reader.read_resolved_event() {
            Ok((ns, Event::Start(e))) => {
                let bound = matches!(ns, ResolveResult::Bound(Namespace(n)) if n == SOAP11_NS);
                if in_body {
                    first_in_body = Some(e.local_name().as_ref().to_string());
                } else if bound && e.local_name().as_ref() == "Body" {
                    in_body = true;
                }
            }
            Ok((_, Event::Eof)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    if first_in_body.as_deref() != Some(OPERATION) {
        failures.push(format!(
            "technical/not-well-formed.xml: a streaming reader must reach the body element \
             {OPERATION} before the break, got {first_in_body:?}"
        ));
    }
    let not_op = repo("fixtures/messages/technical/not-this-operation.xml");
    match elements(&read(&not_op)) {
        Ok(els) => {
            let body = els.iter().position(|e| e.local == "Body");
            let first = els.iter().find(|e| body.is_some() && e.parent == body);
            let ok = first.is_some_and(|e| {
                e.local == "ProcessCervixScreeningInformationResponse"
                    && e.ns.as_deref() == Some(RESPONDER_NS)
            });
            if !ok {
                failures.push(format!(
                    "technical/not-this-operation.xml: the first body element should be the \
                     response in the responder namespace, got {first:?}"
                ));
            }
        }
        Err(e) => failures.push(format!(
            "technical/not-this-operation.xml should be well-formed: {e}"
        )),
    }
    report(failures);
}

#[test]
fn wsdl_and_schemas_are_well_formed_and_compile() {
    let mut failures = Vec::new();
    let mut schemas = Vec::new();
    let mut stack = vec![repo("wsdl")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "xsd") {
                schemas.push(p);
            }
        }
    }
    schemas.sort();
    for expected in [
        RESPONDER_XSD,
        CORE_XSD,
        REGISTRY_XSD,
        TKB_RESPONDER_XSD,
        TKB_CORE_XSD,
        REQUEST_XSD,
        REQUEST_TKB_XSD,
    ] {
        if !schemas.contains(&repo(expected)) {
            failures.push(format!("{expected} is missing"));
        }
    }
    let wsdl = repo(WSDL);
    for file in schemas.iter().chain([&wsdl]) {
        let lint = well_formed(file);
        if lint.code != Some(0) {
            failures.push(format!(
                "{} is not well-formed:\n{}",
                file.display(),
                lint.output
            ));
        }
    }

    // Every schema compiles. The component schemas (no global element for a whole envelope)
    // reject the document; only a compile failure counts here.
    let doc = repo("fixtures/messages/valid/exclusion.xml");
    for schema in &schemas {
        let rel = schema.strip_prefix(repo("")).unwrap();
        let lint = validate(&rel.to_string_lossy(), &doc);
        if !lint.compiled() {
            failures.push(format!(
                "{} does not compile:\n{}",
                rel.display(),
                lint.output
            ));
        }
    }

    // The response element, the registry element and the WSDL's own inline schema, each
    // against a document of its own.
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let response_ok = write(
        "response-ok.xml",
        &format!(
            r#"<ProcessCervixScreeningInformationResponse xmlns="{RESPONDER_NS}"><resultCode>OK</resultCode></ProcessCervixScreeningInformationResponse>"#
        ),
    );
    let response_bad = write(
        "response-bad.xml",
        &format!(
            r#"<ProcessCervixScreeningInformationResponse xmlns="{RESPONDER_NS}"><resultCode>FINE</resultCode></ProcessCervixScreeningInformationResponse>"#
        ),
    );
    let address = write(
        "address.xml",
        &format!(r#"<LogicalAddress xmlns="{REGISTRY_NS}">01</LogicalAddress>"#),
    );
    let wsdl_text = read(&wsdl);
    let inline = inline_schema(&wsdl_text, wsdl.parent().unwrap());
    let inline = write("inline.xsd", &inline);
    let inline = inline.to_string_lossy().into_owned();
    let checks: [(&str, &Path, bool); 7] = [
        (RESPONDER_XSD, &response_ok, true),
        (RESPONDER_XSD, &response_bad, false),
        (TKB_RESPONDER_XSD, &response_ok, true),
        (TKB_RESPONDER_XSD, &response_bad, false),
        (REGISTRY_XSD, &address, true),
        (&inline, &response_ok, true),
        (&inline, &address, true),
    ];
    for (schema, doc, ok) in checks {
        let lint = validate(schema, doc);
        let as_expected = if ok { lint.validates() } else { lint.rejects() };
        if !as_expected {
            failures.push(format!(
                "{} should {} {schema}:\n{}",
                doc.file_name().unwrap().to_string_lossy(),
                if ok { "pass" } else { "fail" },
                lint.output
            ));
        }
    }
    report(failures);
}

/// The WSDL's `xs:schema` as a file of its own: the `xs` prefix declared on it, relative
/// schema locations made absolute.
fn inline_schema(wsdl: &str, wsdl_dir: &Path) -> String {
    let start = wsdl.find("<xs:schema").expect("xs:schema in wsdl:types");
    let end = wsdl.find("</xs:schema>").expect("end of xs:schema") + "</xs:schema>".len();
    let mut schema = wsdl[start..end].replacen(
        "<xs:schema",
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema""#,
        1,
    );
    for rel in [
        "ProcessCervixScreeningInformationResponder_1.0.xsd",
        "../../core_components/itintegration_registry_1.0.xsd",
    ] {
        let quoted = format!(r#"schemaLocation="{rel}""#);
        assert!(schema.contains(&quoted), "the inline schema imports {rel}");
        let abs = wsdl_dir.join(rel);
        schema = schema.replace(&quoted, &format!(r#"schemaLocation="{}""#, abs.display()));
    }
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{schema}\n")
}

#[test]
fn wsdl_names_match_the_contract() {
    let els = elements(&read(&repo(WSDL))).expect("the WSDL is well-formed");
    const WSDL_NS_11: &str = "http://schemas.xmlsoap.org/wsdl/";
    const SOAP_BINDING_NS: &str = "http://schemas.xmlsoap.org/wsdl/soap/";
    const XS_NS: &str = "http://www.w3.org/2001/XMLSchema";
    let root = &els[0];
    // QName attribute values resolved with the root's namespace declarations (the WSDL
    // declares all its prefixes there).
    let resolve = |qname: &str| -> (String, String) {
        let (prefix, local) = qname.split_once(':').unwrap_or(("", qname));
        let ns = root.attr(&format!("xmlns:{prefix}")).to_string();
        (ns, local.to_string())
    };
    let find = |ns: &str, local: &str| -> Vec<&El> {
        els.iter()
            .filter(|e| e.ns.as_deref() == Some(ns) && e.local == local)
            .collect()
    };
    let one = |ns: &str, local: &str| -> &El {
        let v = find(ns, local);
        assert_eq!(v.len(), 1, "exactly one {{{ns}}}{local}");
        v[0]
    };

    assert_eq!(root.local, "definitions");
    assert_eq!(
        root.attr("name"),
        "ProcessCervixScreeningInformationInteraction"
    );
    assert_eq!(root.attr("targetNamespace"), WSDL_NS);
    let doc = els
        .iter()
        .find(|e| e.local == "documentation" && e.parent == Some(0))
        .expect("wsdl:documentation");
    for line in [
        "Överföring av kallelseinformation för screeningstöd, livmoderhalscancer",
        "Fråga-Svar",
        "RIVTABP21",
    ] {
        assert!(doc.text.contains(line), "documentation has {line:?}");
    }

    let schema = one(XS_NS, "schema");
    assert_eq!(schema.attr("targetNamespace"), WSDL_NS);
    let imports: BTreeMap<&str, &str> = find(XS_NS, "import")
        .iter()
        .map(|e| (e.attr("namespace"), e.attr("schemaLocation")))
        .collect();
    let wsdl_dir = repo(WSDL).parent().unwrap().to_path_buf();
    assert_eq!(
        imports.keys().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([RESPONDER_NS, REGISTRY_NS])
    );
    for (ns, loc) in &imports {
        let file = wsdl_dir.join(loc);
        assert!(file.is_file(), "{ns} imported from {loc}, which exists");
        let target = elements(&read(&file)).unwrap();
        assert_eq!(target[0].attr("targetNamespace"), *ns, "{loc}");
    }

    let messages: BTreeMap<&str, &El> = find(WSDL_NS_11, "message")
        .into_iter()
        .map(|e| (e.attr("name"), e))
        .collect();
    let parts_of = |name: &str| -> Vec<(String, (String, String))> {
        let idx = els
            .iter()
            .position(|e| std::ptr::eq(e, messages[name]))
            .unwrap();
        els.iter()
            .filter(|e| e.parent == Some(idx) && e.local == "part")
            .map(|e| (e.attr("name").to_string(), resolve(e.attr("element"))))
            .collect()
    };
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        parts_of("ProcessCervixScreeningInformationRequest"),
        vec![
            ("LogicalAddress".into(), s(REGISTRY_NS, "LogicalAddress")),
            ("parameters".into(), s(RESPONDER_NS, OPERATION)),
        ]
    );
    assert_eq!(
        parts_of("ProcessCervixScreeningInformationResponse"),
        vec![(
            "parameters".into(),
            s(RESPONDER_NS, "ProcessCervixScreeningInformationResponse")
        )]
    );

    let port_type = one(WSDL_NS_11, "portType");
    assert_eq!(
        port_type.attr("name"),
        "ProcessCervixScreeningInformationResponderInterface"
    );
    let operations = find(WSDL_NS_11, "operation");
    assert_eq!(operations.len(), 2, "one operation in portType and binding");
    assert!(operations.iter().all(|o| o.attr("name") == OPERATION));
    let inputs = find(WSDL_NS_11, "input");
    let request_input = inputs
        .iter()
        .find(|e| !e.attr("message").is_empty())
        .unwrap();
    assert_eq!(
        resolve(request_input.attr("message")),
        s(WSDL_NS, "ProcessCervixScreeningInformationRequest")
    );

    let binding = one(WSDL_NS_11, "binding");
    assert_eq!(
        binding.attr("name"),
        "ProcessCervixScreeningInformationResponderBinding"
    );
    assert_eq!(
        resolve(binding.attr("type")),
        s(
            WSDL_NS,
            "ProcessCervixScreeningInformationResponderInterface"
        )
    );
    let soap_binding = one(SOAP_BINDING_NS, "binding");
    assert_eq!(soap_binding.attr("style"), "document");
    assert_eq!(
        soap_binding.attr("transport"),
        "http://schemas.xmlsoap.org/soap/http"
    );
    assert_eq!(
        one(SOAP_BINDING_NS, "operation").attr("soapAction"),
        SOAP_ACTION
    );
    let header = one(SOAP_BINDING_NS, "header");
    assert_eq!(header.attr("use"), "literal");
    assert_eq!(header.attr("part"), "LogicalAddress");
    assert_eq!(
        resolve(header.attr("message")),
        s(WSDL_NS, "ProcessCervixScreeningInformationRequest")
    );
    let bodies = find(SOAP_BINDING_NS, "body");
    assert_eq!(bodies.len(), 2, "input and output body");
    assert!(bodies.iter().all(|b| b.attr("use") == "literal"));
    assert_eq!(bodies[0].attr("parts"), "parameters");
    assert_eq!(els[bodies[0].parent.unwrap()].local, "input");
    assert_eq!(els[bodies[1].parent.unwrap()].local, "output");

    assert_eq!(
        one(WSDL_NS_11, "service").attr("name"),
        "ProcessCervixScreeningInformationResponderService"
    );
    let port = one(WSDL_NS_11, "port");
    assert_eq!(
        port.attr("name"),
        "ProcessCervixScreeningInformationResponderPort"
    );
    assert_eq!(
        resolve(port.attr("binding")),
        s(WSDL_NS, "ProcessCervixScreeningInformationResponderBinding")
    );
    assert!(
        one(SOAP_BINDING_NS, "address")
            .attr("location")
            .ends_with("/vp/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21")
    );
}

/// The schemas' namespaces are the contract's, and the TKB profile's OIDs and code lists are
/// the mock producers' defaults (so xmllint and the mocks judge alike out of the box).
#[test]
fn schemas_agree_with_the_contract_module() {
    let target = |path: &str| -> String {
        let els = elements(&read(&repo(path))).unwrap();
        assert_eq!(els[0].attr("elementFormDefault"), "qualified", "{path}");
        els[0].attr("targetNamespace").to_string()
    };
    assert_eq!(target(RESPONDER_XSD), RESPONDER_NS);
    assert_eq!(target(TKB_RESPONDER_XSD), RESPONDER_NS);
    assert_eq!(target(CORE_XSD), CORE_NS);
    assert_eq!(target(TKB_CORE_XSD), CORE_NS);
    assert_eq!(target(REGISTRY_XSD), REGISTRY_NS);

    let els = elements(&read(&repo(TKB_CORE_XSD))).unwrap();
    let enumeration = |simple_type: &str| -> Vec<String> {
        let idx = els
            .iter()
            .position(|e| e.local == "simpleType" && e.attr("name") == simple_type)
            .unwrap_or_else(|| panic!("simpleType {simple_type} in the TKB profile"));
        let restriction = els
            .iter()
            .position(|e| e.parent == Some(idx) && e.local == "restriction")
            .unwrap();
        els.iter()
            .filter(|e| e.parent == Some(restriction) && e.local == "enumeration")
            .map(|e| e.attr("value").to_string())
            .collect()
    };
    let lists = CodeLists::default();
    assert_eq!(
        enumeration("ExclusionReasonCodeType"),
        lists.exclusion_reasons
    );
    assert_eq!(enumeration("FollowUpGroupCodeType"), lists.follow_up_groups);
    assert_eq!(enumeration("HPVstatusCodeType"), lists.hpv_statuses);
    assert_eq!(enumeration("SnomedCtOidType"), vec![lists.code_system]);
    assert_eq!(enumeration("SnomedCtOidType"), vec![SNOMED_CT_OID]);
    assert_eq!(enumeration("PersonnummerOidType"), vec![PERSONNUMMER_OID]);
    assert_eq!(enumeration("HsaIdOidType"), vec![HSA_ID_OID]);
}

/// The two entry points differ only in their comment and the responder schema they import,
/// so they cannot drift apart.
#[test]
fn entry_points_differ_only_in_the_imported_responder_schema() {
    let strip = |path: &str| -> String {
        let text = read(&repo(path));
        let start = text.find("<!--").unwrap();
        let end = text.find("-->").unwrap() + 3;
        format!("{}{}", &text[..start], &text[end..])
    };
    let published = strip(REQUEST_XSD);
    let tkb = strip(REQUEST_TKB_XSD);
    let swapped = published.replace(
        "../interactions/ProcessCervixScreeningInformationInteraction/ProcessCervixScreeningInformationResponder_1.0.xsd",
        "../tkb/ProcessCervixScreeningInformationResponder_1.0_tkb.xsd",
    );
    assert_ne!(
        swapped, published,
        "request.xsd imports the published responder schema"
    );
    assert_eq!(swapped, tkb);
}

/// libxml2 really validates the header and the body: a broken LogicalAddress, a missing one,
/// a BP20 header, and (through the lax extension points) an extension element whose
/// declaration libxml2 knows are all rejected, while unknown extension elements are skipped.
#[test]
fn header_body_and_lax_extensions_are_really_validated() {
    let base = read(&repo("fixtures/messages/valid/with-extensions.xml"));
    let header = "<urn:LogicalAddress>25</urn:LogicalAddress>";
    let ext_end = "</ext:sender>";
    assert!(base.contains(header) && base.contains(ext_end));
    let registry_decl = format!(r#"xmlns:reg="{REGISTRY_NS}""#);
    let cases: Vec<(&str, String, bool)> = vec![
        ("unchanged", base.clone(), true),
        (
            "LogicalAddress with element content",
            base.replace(header, "<urn:LogicalAddress><urn:x/>25</urn:LogicalAddress>"),
            false,
        ),
        ("no LogicalAddress", base.replace(header, ""), false),
        (
            "a BP20 wsa:To header instead",
            base.replace(
                header,
                r#"<wsa:To xmlns:wsa="http://www.w3.org/2005/08/addressing">25</wsa:To>"#,
            ),
            false,
        ),
        (
            "an unknown header block after LogicalAddress (lax, skipped)",
            base.replace(
                header,
                &format!("{header}<t:trace xmlns:t=\"urn:example:trace\"><t:id>1</t:id></t:trace>"),
            ),
            true,
        ),
        (
            "a known header block after LogicalAddress, invalid (lax, validated)",
            base.replace(
                header,
                &format!("{header}<urn:LogicalAddress><urn:x/></urn:LogicalAddress>"),
            ),
            false,
        ),
        (
            "a known element at a body extension point, valid (lax, validated)",
            base.replace(
                ext_end,
                &format!("{ext_end}<reg:LogicalAddress {registry_decl}>01</reg:LogicalAddress>"),
            ),
            true,
        ),
        (
            "a known element at a body extension point, invalid (lax, validated)",
            base.replace(
                ext_end,
                &format!(
                    "{ext_end}<reg:LogicalAddress {registry_decl}><reg:x/></reg:LogicalAddress>"
                ),
            ),
            false,
        ),
        (
            "a Fault as the body element",
            base.replace(
                "<urn1:ProcessCervixScreeningInformation>",
                "<soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>x</faultstring></soapenv:Fault><urn1:ProcessCervixScreeningInformation>",
            ),
            false,
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (i, (what, text, ok)) in cases.into_iter().enumerate() {
        assert!(i == 0 || text != base, "case {what:?} changed nothing");
        let file = dir.path().join(format!("case-{i}.xml"));
        std::fs::write(&file, text).unwrap();
        for schema in [REQUEST_XSD, REQUEST_TKB_XSD] {
            let lint = validate(schema, &file);
            let as_expected = if ok { lint.validates() } else { lint.rejects() };
            if !as_expected {
                failures.push(format!(
                    "with-extensions.xml with {what} should {} {schema}:\n{}",
                    if ok { "pass" } else { "fail" },
                    lint.output
                ));
            }
        }
    }
    report(failures);
}
