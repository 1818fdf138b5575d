//! A parsed condition and its evaluation.

use regex::Regex;
use stratus_core::Metadata;

use crate::EvalError;
use crate::item::Item;
use crate::lexer::CmpOp;
use crate::paths::{Base, read};
use crate::value::{Value, compare, lookup, with_text};

/// A boolean expression.
#[derive(Debug)]
pub(crate) enum Node {
    Or(Box<[Node]>),
    And(Box<[Node]>),
    Not(Box<Node>),
    Const(bool),
    Compare {
        left: Operand,
        op: CmpOp,
        right: Operand,
    },
    Match(Box<IsMatch>),
    /// `request["key"] == "value"` (or `!=`) in the request context; `key` lower-cased.
    Request {
        key: Box<str>,
        op: CmpOp,
        value: Box<str>,
    },
}

/// One side of a comparison.
#[derive(Debug)]
pub(crate) enum Operand {
    Lit(Lit),
    Path(Path),
    Match(Box<IsMatch>),
}

/// A literal.
#[derive(Debug)]
pub(crate) enum Lit {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Box<str>),
    Bytes(Box<[u8]>),
}

/// A path: what it reads and the keys that index into the value read.
#[derive(Debug)]
pub(crate) struct Path {
    pub base: Base,
    /// The first key of an attribute map (`attributes["k"]`); empty otherwise.
    pub key: Box<str>,
    /// Further keys, indexing into maps (string) and arrays (int).
    pub keys: Box<[Key]>,
    /// The path as written, for error messages.
    pub text: Box<str>,
}

#[derive(Debug)]
pub(crate) enum Key {
    Str(Box<str>),
    Int(i64),
}

/// `IsMatch(target, "pattern")`, the pattern compiled at parse time.
#[derive(Debug)]
pub(crate) struct IsMatch {
    pub target: Operand,
    pub regex: Regex,
}

impl Node {
    pub(crate) fn eval(&self, item: &Item<'_>) -> Result<bool, EvalError> {
        match self {
            Node::Or(nodes) => {
                for n in nodes.iter() {
                    if n.eval(item)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Node::And(nodes) => {
                for n in nodes.iter() {
                    if !n.eval(item)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Node::Not(n) => Ok(!n.eval(item)?),
            Node::Const(b) => Ok(*b),
            Node::Compare { left, op, right } => {
                let a = left.value(item)?;
                let b = right.value(item)?;
                Ok(compare(&a, &b, *op))
            }
            Node::Match(m) => m.eval(item),
            Node::Request { key, op, value } => Ok(match item {
                Item::Request { metadata } => {
                    let values = header(metadata, key);
                    match op {
                        CmpOp::Eq => values.iter().any(|v| v.as_str() == &**value),
                        _ => values.iter().any(|v| v.as_str() != &**value),
                    }
                }
                _ => false,
            }),
        }
    }
}

/// The values of header `key` (already lower-cased), without allocating.
fn header<'m>(metadata: &'m Metadata, key: &str) -> &'m [String] {
    metadata
        .headers()
        .find(|(k, _)| *k == key)
        .map_or(&[], |(_, v)| v)
}

impl IsMatch {
    fn eval(&self, item: &Item<'_>) -> Result<bool, EvalError> {
        let target = self.target.value(item)?;
        Ok(with_text(&target, |s| self.regex.is_match(s)).unwrap_or(false))
    }
}

impl Operand {
    #[inline]
    fn value<'v>(&'v self, item: &Item<'v>) -> Result<Value<'v>, EvalError> {
        match self {
            Operand::Lit(l) => Ok(match l {
                Lit::Nil => Value::Nil,
                Lit::Bool(b) => Value::Bool(*b),
                Lit::Int(i) => Value::Int(*i),
                Lit::Float(f) => Value::Float(*f),
                Lit::Str(s) => Value::Str(s),
                Lit::Bytes(b) => Value::Bytes(b),
            }),
            Operand::Path(p) => p.value(item),
            Operand::Match(m) => m.eval(item).map(Value::Bool),
        }
    }
}

impl Path {
    #[inline]
    fn value<'v>(&self, item: &Item<'v>) -> Result<Value<'v>, EvalError> {
        let mut v = read(self.base, &self.key, item);
        for key in self.keys.iter() {
            v = match (v, key) {
                // Absent at any level stays absent, as upstream reads a missing key.
                (Value::Nil, _) => return Ok(Value::Nil),
                (Value::Map(kvs), Key::Str(k)) => lookup(kvs, k),
                (Value::Array(values), Key::Int(i)) => {
                    match usize::try_from(*i).ok().and_then(|i| values.get(i)) {
                        Some(v) => Value::of_any(Some(v)),
                        None => {
                            return Err(self.error(format!(
                                "index {i} out of bounds (the array has {} elements)",
                                values.len()
                            )));
                        }
                    }
                }
                (Value::Map(_), Key::Int(i)) => {
                    return Err(self.error(format!(
                        "a map is indexed by string keys, not by the integer {i}"
                    )));
                }
                (Value::Array(_), Key::Str(k)) => {
                    return Err(self.error(format!(
                        "an array is indexed by integers, not by the string \"{k}\""
                    )));
                }
                (other, _) => {
                    return Err(self.error(format!(
                        "type {} does not support indexing",
                        other.type_name()
                    )));
                }
            };
        }
        Ok(v)
    }

    fn error(&self, message: String) -> EvalError {
        EvalError {
            message: format!("{}: {message}", self.text),
        }
    }
}
