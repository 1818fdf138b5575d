//! The OTTL condition subset shared by the `filter` processor, the `routing` connector
//! and tail sampling's `ottl_condition` policy.
//!
//! Full OTTL (statements, editors, most converters, math) is out of scope. A
//! [`Condition`] is a boolean expression over the paths of one [`Context`], parsed once
//! when a component is built and evaluated per item without allocating:
//!
//! ```
//! use stratus_ottl::{Condition, Context, Item};
//! use stratus_core::pdata::trace::Span;
//!
//! let slow_errors = Condition::parse(
//!     r#"status.code == STATUS_CODE_ERROR and not IsMatch(name, "^health")"#,
//!     Context::Span,
//! )?;
//! let span = Span { name: "GET /cart".into(), status: Some(Default::default()), ..Default::default() };
//! let item = Item::Span { resource: None, scope: None, span: &span };
//! assert!(!slow_errors.eval(&item)?);
//!
//! let err = Condition::parse(r#"name == "a" and kind =="#, Context::Span).unwrap_err();
//! assert_eq!(err.column, 24);
//! assert_eq!(
//!     err.to_string(),
//!     r#"column 24: expected a value after "==", found end of condition"#
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Semantics follow upstream OTTL (`pkg/ottl`): comparisons are by type (ints and
//! floats numerically, strings bytewise, bools with `false < true`), a missing
//! attribute is `nil`, and values of different types are never an error: `!=` is true
//! and every other operator false. `and` binds tighter than `or`; both short-circuit.
//!
//! [`ErrorMode`] is the `error_mode` key of the components using conditions;
//! [`Conditions`] is a list of conditions where any match counts (the filter
//! processor's lists), with the error mode applied. The README lists the grammar and
//! every path per context.

mod ast;
mod item;
mod lexer;
mod parser;
mod paths;
mod value;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub use item::{Context, Item, Point, UnknownContext};

/// A condition that did not parse: where (1-based column, counted in characters of
/// the condition text) and what was expected. Displays as `column N: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ParseError {
    /// 1-based column of the problem, in characters.
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

impl ParseError {
    /// The same error with its column moved right by `columns`: for a condition that
    /// was cut out of a longer text (the routing connector's `route() where ...`).
    pub fn shifted(mut self, columns: usize) -> ParseError {
        self.column += columns;
        self
    }
}

/// A condition that could not be evaluated on an item: indexing into a value that
/// cannot be indexed (`attributes["k"]["x"]` on a string), an array index out of
/// bounds, or an item of another context than the condition's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    /// What went wrong, naming the path.
    pub message: String,
}

impl EvalError {
    /// An evaluation error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        EvalError {
            message: message.into(),
        }
    }
}

/// How a component reacts to a condition that fails to evaluate (upstream's
/// `error_mode`). Parse errors are config errors and never reach this.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorMode {
    /// The error is returned to the caller (the batch is refused). The default.
    #[default]
    Propagate,
    /// The error is logged (at most once a second per process) and the condition is
    /// taken as not matching.
    Ignore,
    /// As `ignore`, without the log.
    Silent,
}

impl ErrorMode {
    /// The mode's name as configs write it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorMode::Propagate => "propagate",
            ErrorMode::Ignore => "ignore",
            ErrorMode::Silent => "silent",
        }
    }

    /// What one evaluation's result becomes under this mode: errors stay errors for
    /// `propagate`; for `ignore` (logged) and `silent` they become `false`.
    pub fn resolve(
        self,
        condition: &Condition,
        result: Result<bool, EvalError>,
    ) -> Result<bool, EvalError> {
        match result {
            Ok(b) => Ok(b),
            Err(e) if self == ErrorMode::Propagate => Err(e),
            Err(e) => {
                self.log(condition, &e);
                Ok(false)
            }
        }
    }

    /// Logs an evaluation error when this mode logs them (`ignore`), at most once a
    /// second per process, with the number of errors not logged since.
    pub fn log(self, condition: &Condition, error: &EvalError) {
        if self != ErrorMode::Ignore {
            return;
        }
        static LAST_MS: AtomicU64 = AtomicU64::new(0);
        static SUPPRESSED: AtomicU64 = AtomicU64::new(0);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let last = LAST_MS.load(Ordering::Relaxed);
        if now.saturating_sub(last) < 1000
            || LAST_MS
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            SUPPRESSED.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let suppressed = SUPPRESSED.swap(0, Ordering::Relaxed);
        tracing::warn!(
            condition = condition.text(),
            context = condition.context().as_str(),
            error = %error,
            not_logged_since_last = suppressed,
            "failed to evaluate a condition; taken as not matching (error_mode: ignore)"
        );
    }
}

impl fmt::Display for ErrorMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

struct Inner {
    text: Box<str>,
    context: Context,
    root: ast::Node,
}

/// A parsed condition of one context. Cheap to clone (shared), `Send + Sync`.
#[derive(Clone)]
pub struct Condition {
    inner: Arc<Inner>,
}

impl Condition {
    /// Parses `text` as a condition of `context`. Regular expressions are compiled
    /// here; an unknown path, a path of another context, an unknown enum symbol or
    /// function, an invalid regular expression and any syntax error is a
    /// [`ParseError`] with its column.
    pub fn parse(text: &str, context: Context) -> Result<Condition, ParseError> {
        let root = parser::parse(text, context)?;
        Ok(Condition {
            inner: Arc::new(Inner {
                text: text.into(),
                context,
                root,
            }),
        })
    }

    /// Whether the condition holds for `item`. Fails only where upstream OTTL fails
    /// (see [`EvalError`]), or when `item` is not of the condition's context.
    pub fn eval(&self, item: &Item<'_>) -> Result<bool, EvalError> {
        if item.context() != self.inner.context {
            return Err(EvalError::new(format!(
                "a {} condition cannot be evaluated on a {} item",
                self.inner.context,
                item.context()
            )));
        }
        self.inner.root.eval(item)
    }

    /// The condition as written.
    pub fn text(&self) -> &str {
        &self.inner.text
    }

    /// The context it was parsed in.
    pub fn context(&self) -> Context {
        self.inner.context
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("context", &self.inner.context)
            .field("text", &self.text())
            .finish()
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

impl Context {
    /// Every path this context accepts, as written in a condition
    /// (`attributes["…"]`, `status.code`, ...).
    pub fn paths(self) -> Vec<String> {
        paths::path_list(self)
    }

    /// The enum symbols this context knows, with their values
    /// (`("SPAN_KIND_SERVER", 2)`, ...).
    pub fn enum_symbols(self) -> &'static [(&'static str, i64)] {
        paths::enums(self)
    }
}

/// A list of conditions of one context where any match counts (upstream's condition
/// sequences: the filter processor's `traces.span` and the like), with an error mode.
#[derive(Debug, Clone)]
pub struct Conditions {
    list: Vec<Condition>,
    mode: ErrorMode,
}

impl Conditions {
    /// Conditions already parsed.
    pub fn new(list: Vec<Condition>, mode: ErrorMode) -> Self {
        Conditions { list, mode }
    }

    /// Parses every text in `context`. On failure, the index of the first condition that
    /// did not parse, with its error.
    pub fn parse<S: AsRef<str>>(
        texts: &[S],
        context: Context,
        mode: ErrorMode,
    ) -> Result<Self, (usize, ParseError)> {
        let list = texts
            .iter()
            .enumerate()
            .map(|(i, t)| Condition::parse(t.as_ref(), context).map_err(|e| (i, e)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Conditions { list, mode })
    }

    /// Whether the list is empty (then [`Conditions::any`] is always false).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The conditions, in order.
    pub fn conditions(&self) -> &[Condition] {
        &self.list
    }

    /// The error mode.
    pub fn error_mode(&self) -> ErrorMode {
        self.mode
    }

    /// Whether any condition holds for `item`, in order, stopping at the first that
    /// does. A condition that fails to evaluate fails the call under `propagate` (the
    /// error starts with the condition's text), and is taken as not matching (logged
    /// under `ignore`) otherwise.
    pub fn any(&self, item: &Item<'_>) -> Result<bool, EvalError> {
        for c in &self.list {
            let matched = self
                .mode
                .resolve(c, c.eval(item))
                .map_err(|e| EvalError::new(format!("condition `{}`: {}", c.text(), e)))?;
            if matched {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
