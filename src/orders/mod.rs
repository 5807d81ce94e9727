//! Orders (beställningar) in Beställningsstödet's JSON format, as tak-web imports them.
//!
//! [`parse`] reads the real JSON ([`format`](mod@format)); [`apply`] validates an order against a
//! [`Store`] in tak-web's phases with its exact Swedish messages ([`validate`]) and, only when the
//! whole order is valid, executes it as one transaction with tak-web's date arithmetic
//! ([`execute`]), returning the [`Report`] ([`report`]). Changes are pending in the store until it
//! is published. Pure core: no IO, no clock (the execution day comes from the order itself).

pub mod builtin;
pub mod bulk;
pub mod execute;
pub mod format;
pub mod forms;
pub mod report;
pub mod validate;

pub use format::{
    AuthorisationItem, ContractItem, Order, ParseError, PlainItem, RouteItem, Section, parse,
};
pub use report::{CompactReport, Report, ReportRow, ReportSection, Status};

use crate::tak::Store;

/// An order refused by validation: every error of the first failing phase, de-duplicated and
/// sorted. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .messages.join("\n"))]
pub struct Rejected {
    /// The Swedish messages, one per problem.
    pub messages: Vec<String>,
}

impl Rejected {
    /// tak-web's REST error body: `JsonBestallning ERROR:::` and one line per message.
    pub fn to_rest_text(&self) -> String {
        let mut out = String::from("JsonBestallning ERROR:::");
        for m in &self.messages {
            out.push('\n');
            out.push_str(m);
        }
        out
    }
}

/// Validate in the real phases (platform check; duplicates over inkludera ∪ exkludera; field rules
/// for new plain objects; required fields + references incl. RIVTA profile must exist; date
/// overlaps) and, only if everything is valid, execute (one transaction: nothing changes on
/// error). New HSA-ids are upper-cased. The changes are pending until [`Store::publish`].
/// Execution days are days in Swedish time ([`format::platform_zone`]).
pub fn apply(store: &mut Store, order: &Order) -> Result<Report, Rejected> {
    let plan =
        validate::plan(store, order, format::platform_zone()).map_err(|errors| Rejected {
            messages: errors.into_iter().collect(),
        })?;
    let executed = execute::execute(store, order, plan);
    Ok(executed.report.render(store.catalogue()))
}

#[cfg(test)]
mod tests;
