//! The recorded tree of the body element: small nodes, only the contract's namespaces, only
//! [`MAX_RECORDED_DEPTH`](super::MAX_RECORDED_DEPTH) levels deep, built from reader events.

use std::borrow::Cow;

use super::MAX_RECORDED_DEPTH;
use crate::contract::{CORE_NS, RESPONDER_NS};

/// One recorded element of the body element's tree. Kept small (80 bytes, the contract's
/// namespaces not copied, what most elements lack boxed): a 15 MiB message can hold a
/// million elements.
#[derive(Debug, Default)]
pub(super) struct Node {
    /// Namespace URI; empty for an unqualified element.
    pub(super) ns: Cow<'static, str>,
    pub(super) local: Box<str>,
    /// Attributes and character data, for the elements that have either.
    pub(super) extra: Option<Box<Extra>>,
    pub(super) children: Vec<Node>,
    /// The element has child elements that were not recorded (it is foreign or too deep).
    pub(super) unrecorded_children: bool,
    /// Whether children and text are recorded: only for the contract's namespaces, and
    /// only down to [`MAX_RECORDED_DEPTH`].
    pub(super) recording: bool,
}

// The bound the doc comment above promises (on 64-bit targets).
const _: () = assert!(std::mem::size_of::<Node>() <= 80);

/// What few elements of a request have: attributes and character data.
#[derive(Debug, Default)]
pub(super) struct Extra {
    /// Attributes the schema does not allow, as written (namespace declarations and `xsi`
    /// attributes are not among them).
    pub(super) attributes: Vec<String>,
    /// The character data directly inside, references and CDATA resolved, line ends
    /// normalised as XML does, nothing trimmed.
    pub(super) text: String,
    /// How many child elements came before the first non-whitespace character data.
    pub(super) text_at: Option<usize>,
}

impl Node {
    pub(super) fn child(&self, ns: &str, local: &str) -> Option<&Node> {
        self.children
            .iter()
            .find(|n| n.ns == ns && &*n.local == local)
    }

    pub(super) fn attributes(&self) -> &[String] {
        self.extra.as_ref().map_or(&[], |e| &e.attributes)
    }

    pub(super) fn text(&self) -> &str {
        self.extra.as_ref().map_or("", |e| &e.text)
    }

    pub(super) fn text_at(&self) -> Option<usize> {
        self.extra.as_ref().and_then(|e| e.text_at)
    }

    /// No child elements at all, recorded or not.
    pub(super) fn children_free(&self) -> bool {
        self.children.is_empty() && !self.unrecorded_children
    }
}

/// Builds the tree of the body element from events, skipping what it does not record.
#[derive(Default)]
pub(super) struct Builder {
    /// The open recorded elements, the body element first.
    pub(super) stack: Vec<Node>,
    /// Open elements below the top of `stack` that are not recorded.
    skipping: usize,
    /// The body element once it has ended.
    pub(super) done: Option<Node>,
}

impl Builder {
    pub(super) fn start(&mut self, mut node: Node, empty: bool) {
        if self.skipping > 0 {
            if !empty {
                self.skipping += 1;
            }
            return;
        }
        let depth = self.stack.len();
        match self.stack.last_mut() {
            Some(top) if !top.recording => {
                top.unrecorded_children = true;
                if !empty {
                    self.skipping = 1;
                }
                return;
            }
            _ => {}
        }
        node.recording =
            (node.ns == CORE_NS || node.ns == RESPONDER_NS) && depth < MAX_RECORDED_DEPTH;
        self.stack.push(node);
        if empty {
            self.end();
        }
    }

    pub(super) fn end(&mut self) {
        if self.skipping > 0 {
            self.skipping -= 1;
            return;
        }
        let Some(node) = self.stack.pop() else {
            return;
        };
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(node),
            None => self.done = Some(node),
        }
    }

    pub(super) fn text(&mut self, s: &str) {
        if self.skipping > 0 {
            return;
        }
        if let Some(top) = self.stack.last_mut().filter(|t| t.recording) {
            let children = top.children.len();
            let extra = top.extra.get_or_insert_with(Box::default);
            if extra.text_at.is_none() && !is_xml_whitespace(s) {
                extra.text_at = Some(children);
            }
            extra.text.push_str(s);
        }
    }

    pub(super) fn building(&self) -> bool {
        !self.stack.is_empty()
    }
}

/// XML's white space (S): space, tab, carriage return, line feed.
pub(super) fn is_xml_whitespace(s: &str) -> bool {
    s.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}
