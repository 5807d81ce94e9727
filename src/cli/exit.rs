//! How `ntjp` ends: the exit statuses a pipeline can tell apart, and the error message, each
//! cause printed once.
//!
//! A command marks an error with its [`Status`] where it knows the kind ([`Failure`]);
//! configuration errors and the load generator's are recognised by type; anything else is a
//! usage or local problem (2). This module decides nothing about what a command does.

use std::fmt;

use crate::{config::ConfigError, load::LoadError};

/// The exit statuses of `ntjp`, as `ntjp --help` (src/main.rs) and the README list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0: the command did what it was asked.
    Success = 0,
    /// 1: a check or verification failed: a `verify` case, an order TAK refused by its
    /// rules (also `--offline`).
    CheckFailed = 1,
    /// 2: usage or configuration error, or a local file that cannot be read or written.
    Usage = 2,
    /// 3: the testbed (or `ntjp load`'s target) could not be reached.
    Unreachable = 3,
    /// 4: the testbed refused the request (an unknown order or version, a conflict, a
    /// testbed shutting down).
    Refused = 4,
}

/// An error that knows its exit status. Shows as the error it wraps, so the status adds no
/// text to the message.
#[derive(Debug)]
pub struct Failure {
    /// The exit status.
    pub status: Status,
    error: anyhow::Error,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.error, f)
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// Marks `error` with `status`.
pub fn fail(status: Status, error: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        status,
        error: error.into(),
    })
}

/// Marks the error of a result with a status.
pub trait WithStatus<T> {
    /// The error, marked with `status`.
    fn status(self, status: Status) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> WithStatus<T> for Result<T, E> {
    fn status(self, status: Status) -> anyhow::Result<T> {
        self.map_err(|e| fail(status, e))
    }
}

/// The exit status of an error: the first [`Failure`] in its chain, else by its type.
pub fn status_of(error: &anyhow::Error) -> Status {
    for cause in error.chain() {
        if let Some(f) = cause.downcast_ref::<Failure>() {
            return f.status;
        }
        if cause.downcast_ref::<ConfigError>().is_some() {
            return Status::Usage;
        }
        if let Some(LoadError::Resolve { .. }) = cause.downcast_ref::<LoadError>() {
            return Status::Unreachable;
        }
    }
    Status::Usage
}

/// The error and its causes on one line, `outer: cause: cause`, leaving out a cause whose
/// text the line already holds: errors here and in the crates below differ in whether their
/// message includes their source, and printing both was how the same cause came out two or
/// three times.
pub fn message(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = ConfigError::Read {
            path: "x.toml".into(),
            source: io,
        };
        let err = anyhow::Error::new(err).context("loading the configuration");
        let text = message(&err);
        assert_eq!(text.matches("no such file").count(), 1, "{text}");
        assert!(text.starts_with("loading the configuration: "), "{text}");
        assert_eq!(status_of(&err), Status::Usage);
    }

    #[test]
    fn a_marked_error_keeps_its_status_under_context() {
        let err = fail(Status::Unreachable, anyhow::anyhow!("connection refused"))
            .context("cannot reach the testbed");
        assert_eq!(status_of(&err), Status::Unreachable);
        assert_eq!(
            message(&err),
            "cannot reach the testbed: connection refused"
        );
    }
}
