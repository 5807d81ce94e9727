//! Step 2: walking the recorded tree along the schema's tables, collecting violations in
//! document order.

use super::read::clark;
use super::schema::{Content, Particle, REPEATABLE, Tkb, Type, cardinality, is_date};
use super::tree::Node;
use super::{CodeLists, QUOTE_MAX, Violation};
use crate::contract::OPERATION;

pub(super) struct Checker<'a> {
    pub(super) lists: &'a CodeLists,
    /// The violations kept, at most `max`.
    pub(super) out: Vec<Violation>,
    pub(super) max: usize,
    /// Violations found past `max`.
    pub(super) omitted: usize,
}

/// How a child element relates to its parent's type.
enum Role {
    /// In the type's namespace and declared in it (the particle's index).
    Declared(usize),
    /// In the type's namespace, not declared in it.
    Undeclared,
    /// In no namespace (the particle with its local name, if any).
    Unqualified(Option<usize>),
    /// In another namespace (the particle with its local name, if any).
    Foreign(Option<usize>),
}

/// The state of matching a sequence.
struct Sequence<'t> {
    ty: &'t Type,
    /// The particle last matched (or 0).
    pub(super) pos: usize,
    /// Occurrences of each particle.
    pub(super) counts: Vec<u32>,
    /// The first extension element, once seen: after it only extension elements may follow.
    pub(super) extension: Option<String>,
}

impl Sequence<'_> {
    pub(super) fn fits(&self, j: usize) -> bool {
        let Some(p) = self.ty.particles.get(j) else {
            return false;
        };
        let count = self.counts.get(j).copied().unwrap_or(0);
        self.extension.is_none() && j >= self.pos && p.max.is_none_or(|m| count < m)
    }

    /// Whether a particle the schema or the TKB requires is still unsatisfied from the
    /// current position on.
    fn requires_more(&self) -> bool {
        self.ty
            .particles
            .iter()
            .enumerate()
            .skip(self.pos)
            .any(|(k, p)| {
                let count = self.counts.get(k).copied().unwrap_or(0);
                count < p.min || (count == 0 && matches!(p.tkb, Tkb::Required(_)))
            })
    }

    /// What may come next, for messages.
    pub(super) fn expected(&self) -> String {
        if self.extension.is_some() {
            return "only extension elements (after an extension element)".to_owned();
        }
        let mut names: Vec<String> = Vec::new();
        let mut open_end = true;
        for (k, p) in self.ty.particles.iter().enumerate().skip(self.pos) {
            let count = self.counts.get(k).copied().unwrap_or(0);
            if p.max.is_none_or(|m| count < m) {
                names.push(p.name.to_owned());
            }
            if count < p.min {
                open_end = false;
                break;
            }
        }
        if open_end {
            names.push(format!("an extension element (not in {})", self.ty.ns));
        }
        match names.split_last() {
            None => "nothing more".to_owned(),
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        }
    }
}

pub(super) fn join(path: &str, step: &str) -> String {
    if path.is_empty() {
        step.to_owned()
    } else {
        format!("{path}/{step}")
    }
}

/// `'value'`, control characters escaped, cut after [`QUOTE_MAX`] characters.
pub(super) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(QUOTE_MAX * 4) + 2);
    out.push('\'');
    for (i, c) in value.chars().enumerate() {
        if i == QUOTE_MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

impl Checker<'_> {
    pub(super) fn push(&mut self, path: &str, message: String) {
        if self.out.len() >= self.max {
            self.omitted = self.omitted.saturating_add(1);
            return;
        }
        let path = if path.is_empty() { OPERATION } else { path };
        self.out.push(Violation {
            path: path.to_owned(),
            message,
        });
    }

    pub(super) fn attributes(&mut self, node: &Node, what: &str, path: &str) {
        for a in node.attributes() {
            let message = format!(
                "attribute {a} is not allowed: {} ({what}) declares no attributes",
                node.local
            );
            self.push(path, message);
        }
    }

    /// Checks an element of a complex type: its attributes, text and children.
    pub(super) fn complex(&mut self, node: &Node, ty: &Type, path: &str) {
        self.attributes(node, ty.name, path);
        let mut seq = Sequence {
            ty,
            pos: 0,
            counts: vec![0; ty.particles.len()],
            extension: None,
        };
        // Occurrences so far of each name in REPEATABLE, whatever their namespace.
        let mut occurrences = [0usize; REPEATABLE.len()];
        for (k, child) in node.children.iter().enumerate() {
            if node.text_at() == Some(k) {
                self.stray_text(node, ty, path);
            }
            let repeatable = REPEATABLE.iter().position(|r| *r == &*child.local);
            let step = match repeatable.and_then(|r| occurrences.get_mut(r)) {
                Some(n) => {
                    *n += 1;
                    format!("{}[{n}]", child.local)
                }
                None => child.local.to_string(),
            };
            let cpath = join(path, &step);
            let later = node.children.get(k + 1..).unwrap_or(&[]);
            self.child(&mut seq, child, &cpath, path, later);
        }
        if node.text_at().is_some_and(|k| k >= node.children.len()) {
            self.stray_text(node, ty, path);
        }
        if seq.extension.is_none() {
            let end = ty.particles.len();
            self.skip_to(&mut seq, end, None, path, &[]);
        }
    }

    fn stray_text(&mut self, node: &Node, ty: &Type, path: &str) {
        let text = node
            .text()
            .trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        let message = format!(
            "element {} has element-only content ({}) and must not contain text; found {}",
            node.local,
            ty.name,
            quote(text)
        );
        self.push(path, message);
    }

    fn child(
        &mut self,
        seq: &mut Sequence<'_>,
        child: &Node,
        cpath: &str,
        path: &str,
        later: &[Node],
    ) {
        let ty = seq.ty;
        let particle = ty.particles.iter().position(|p| p.name == &*child.local);
        let role = if child.ns == ty.ns {
            particle.map_or(Role::Undeclared, Role::Declared)
        } else if child.ns.is_empty() {
            Role::Unqualified(particle)
        } else {
            Role::Foreign(particle)
        };
        match role {
            Role::Declared(j) => self.declared(seq, j, child, cpath, path, later),
            Role::Undeclared => {
                let message = format!(
                    "unexpected element {} (not declared in {}); expected {}",
                    child.local,
                    ty.name,
                    seq.expected()
                );
                self.push(cpath, message);
            }
            Role::Unqualified(particle) => {
                let message = match particle {
                    Some(_) => format!(
                        "element {} is in no namespace; expected {}",
                        child.local, ty.ns
                    ),
                    None => format!(
                        "element {} is in no namespace; expected {} \
                         (or, for an extension element, another namespace)",
                        child.local, ty.ns
                    ),
                };
                self.push(cpath, message);
                if let Some(j) = particle.filter(|j| seq.fits(*j)) {
                    let found = clark(&child.ns, &child.local);
                    self.skip_to(seq, j, Some(&found), path, later);
                    self.take(seq, j);
                }
            }
            Role::Foreign(particle) => self.foreign(seq, particle, child, cpath, path, later),
        }
    }

    /// A child declared in its parent's type: in order and within its cardinality, or a
    /// violation saying which it breaks.
    fn declared(
        &mut self,
        seq: &mut Sequence<'_>,
        j: usize,
        child: &Node,
        cpath: &str,
        path: &str,
        later: &[Node],
    ) {
        let ty = seq.ty;
        // Declared: in the type's namespace, so named by its local name alone.
        let found: &str = &child.local;
        let Some(p) = ty.particles.get(j) else {
            return;
        };
        if let Some(ext) = &seq.extension {
            let message = format!(
                "element {} is not allowed after the extension element {ext}; \
                 extension elements must come last",
                child.local
            );
            self.push(cpath, message);
        } else if !seq.fits(j) {
            let count = seq.counts.get(j).copied().unwrap_or(0);
            let message = if p.max.is_some_and(|m| count >= m) {
                format!(
                    "surplus element {}: the schema allows at most {} ({})",
                    child.local,
                    p.max.unwrap_or(0),
                    cardinality(p)
                )
            } else {
                let before = ty.particles.get(seq.pos).map_or("", |q| q.name);
                format!(
                    "element {} is out of order: it must come before {before}",
                    child.local
                )
            };
            self.push(cpath, message);
        } else {
            self.skip_to(seq, j, Some(found), path, later);
            self.take(seq, j);
            if let Tkb::Forbidden(parent) = p.tkb {
                let message = format!("must not be given under {parent} (TKB: \"Skall ej anges\")");
                self.push(cpath, message);
            }
            self.element(child, p, cpath);
        }
    }

    /// A child in another namespace: the declared element in the wrong namespace, or an
    /// extension element (which ends the declared sequence).
    fn foreign(
        &mut self,
        seq: &mut Sequence<'_>,
        particle: Option<usize>,
        child: &Node,
        cpath: &str,
        path: &str,
        later: &[Node],
    ) {
        let ty = seq.ty;
        let found = clark(&child.ns, &child.local);
        // An element named like a declared one where an extension element is not
        // allowed yet is taken for that element in the wrong namespace.
        let wrong = particle.filter(|j| seq.fits(*j) && seq.requires_more());
        if let Some(j) = wrong {
            let message = format!(
                "element {} is in namespace {}; expected {}",
                child.local, child.ns, ty.ns
            );
            self.push(cpath, message);
            self.skip_to(seq, j, Some(&found), path, later);
            self.take(seq, j);
        } else if seq.extension.is_none() {
            let end = ty.particles.len();
            let what = format!("extension element {found}");
            self.skip_to(seq, end, Some(&what), path, later);
            seq.extension = Some(found);
        }
    }

    fn take(&mut self, seq: &mut Sequence<'_>, j: usize) {
        seq.pos = j;
        if let Some(c) = seq.counts.get_mut(j) {
            *c += 1;
        }
    }

    /// Moves the sequence from its position up to particle `to`, reporting the required
    /// particles passed without an occurrence, unless they occur later (those are reported
    /// where they occur, as out of order).
    fn skip_to(
        &mut self,
        seq: &mut Sequence<'_>,
        to: usize,
        found: Option<&str>,
        path: &str,
        later: &[Node],
    ) {
        let ty = seq.ty;
        for k in seq.pos..to {
            let Some(p) = ty.particles.get(k) else {
                break;
            };
            let count = seq.counts.get(k).copied().unwrap_or(0);
            if later.iter().any(|n| &*n.local == p.name) {
                continue;
            }
            let message = if count < p.min {
                match found {
                    Some(found) => format!("expected element {} here, found {found}", p.name),
                    None => format!("missing (required by the schema, {})", cardinality(p)),
                }
            } else if let (0, Tkb::Required(what)) = (count, p.tkb) {
                format!("missing (required by the TKB: {what})")
            } else {
                continue;
            };
            self.push(&join(path, p.name), message);
        }
        // `to` may be the end: past the last particle nothing declared may follow.
        seq.pos = seq.pos.max(to);
    }

    pub(super) fn element(&mut self, node: &Node, p: &Particle, path: &str) {
        match p.content {
            Content::Complex(ty) => self.complex(node, ty, path),
            Content::Str(rule) => {
                if let Some(value) = self.simple(node, "xs:string", path) {
                    self.value(rule, value, path);
                }
            }
            Content::Date => {
                if let Some(value) = self.simple(node, "DateType", path)
                    && !is_date(value)
                {
                    let message = format!(
                        "{} does not match the date pattern YYYYMMDD \
                         (years 1900-2099, month 01-12, day 01-31)",
                        quote(value)
                    );
                    self.push(path, message);
                }
            }
        }
    }

    /// The value of a simple element, or `None` (reported) when it has child elements.
    pub(super) fn simple<'n>(&mut self, node: &'n Node, ty: &str, path: &str) -> Option<&'n str> {
        self.attributes(node, ty, path);
        if node.children_free() {
            return Some(node.text());
        }
        let found = node.children.first().map_or_else(
            || "child elements".to_owned(),
            |c| format!("element {}", c.local),
        );
        let message = format!(
            "element {} has simple content ({ty}) and must not contain elements; found {found}",
            node.local
        );
        self.push(path, message);
        None
    }
}
