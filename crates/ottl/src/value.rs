//! Values a path or a literal evaluates to, and upstream OTTL's comparison rules
//! (`pkg/ottl/compare.go`).

use std::fmt::Write as _;

use stratus_core::pdata::common::{AnyValue, KeyValue, any_value};

use crate::lexer::CmpOp;

/// A trace or span id as lowercase hex, kept on the stack.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hex {
    buf: [u8; 32],
    len: u8,
}

impl Hex {
    /// The hex form of an id of `width` bytes (16 for trace ids, 8 for span ids). An id
    /// of another length is zero-padded or cut to `width`, as upstream's fixed-size ids
    /// read an empty id as all zeros.
    pub(crate) fn of(id: &[u8], width: usize) -> Hex {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let width = width.min(16);
        let mut buf = [b'0'; 32];
        for (i, b) in id.iter().take(width).enumerate() {
            buf[2 * i] = DIGITS[usize::from(b >> 4)];
            buf[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
        }
        Hex {
            buf,
            len: (2 * width) as u8,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("")
    }
}

/// What a path or literal evaluates to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    /// A trace or span id, read as lowercase hex of `width` bytes. Kept as the bytes
    /// (the hex is written on the stack only when compared or matched) so that a value
    /// stays small to pass around.
    Id(&'a [u8], u8),
    Bytes(&'a [u8]),
    Map(&'a [KeyValue]),
    Array(&'a [AnyValue]),
}

impl<'a> Value<'a> {
    /// An OTLP value; an absent or empty one is nil.
    pub(crate) fn of_any(v: Option<&'a AnyValue>) -> Value<'a> {
        use any_value::Value as V;
        match v.and_then(|v| v.value.as_ref()) {
            // A string-table index only means something inside a profile's dictionary.
            None | Some(V::StringValueStrindex(_)) => Value::Nil,
            Some(V::StringValue(s)) => Value::Str(s),
            Some(V::BoolValue(b)) => Value::Bool(*b),
            Some(V::IntValue(i)) => Value::Int(*i),
            Some(V::DoubleValue(d)) => Value::Float(*d),
            Some(V::BytesValue(b)) => Value::Bytes(b),
            Some(V::ArrayValue(a)) => Value::Array(&a.values),
            Some(V::KvlistValue(m)) => Value::Map(&m.values),
        }
    }

    /// The type name used in error messages, as upstream names pdata value types.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "Empty",
            Value::Bool(_) => "Bool",
            Value::Int(_) => "Int",
            Value::Float(_) => "Double",
            Value::Str(_) | Value::Id(..) => "Str",
            Value::Bytes(_) => "Bytes",
            Value::Map(_) => "Map",
            Value::Array(_) => "Slice",
        }
    }
}

/// The value of attribute `key` in `attrs`, nil when absent. A linear scan, as OTLP
/// attribute lists are short; no allocation.
#[inline]
pub(crate) fn lookup<'a>(attrs: &'a [KeyValue], key: &str) -> Value<'a> {
    match attrs.iter().find(|kv| kv.key == key) {
        Some(kv) => Value::of_any(kv.value.as_ref()),
        None => Value::Nil,
    }
}

fn ordered<T: PartialOrd>(a: T, b: T, op: CmpOp) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
    }
}

/// Upstream's answer to a comparison of values that cannot be compared: only `!=` holds.
fn invalid(op: CmpOp) -> bool {
    op == CmpOp::Ne
}

/// Compares two values the way upstream OTTL does:
///
/// - nil equals nil (`==`, `<=`, `>=` hold) and nothing else;
/// - ints and floats compare numerically with each other;
/// - strings compare bytewise (lexicographic), bools with `false < true`, bytes bytewise;
/// - values of different types, and maps or arrays, are not comparable: `!=` is true and
///   every other operator false. Never an error.
#[inline]
pub(crate) fn compare(a: &Value<'_>, b: &Value<'_>, op: CmpOp) -> bool {
    use Value as V;
    match (a, b) {
        (V::Nil, V::Nil) => matches!(op, CmpOp::Eq | CmpOp::Le | CmpOp::Ge),
        (V::Int(x), V::Int(y)) => ordered(x, y, op),
        (V::Int(x), V::Float(y)) => ordered(*x as f64, *y, op),
        (V::Float(x), V::Int(y)) => ordered(*x, *y as f64, op),
        (V::Float(x), V::Float(y)) => ordered(x, y, op),
        (V::Bool(x), V::Bool(y)) => ordered(x, y, op),
        (V::Bytes(x), V::Bytes(y)) => ordered(x, y, op),
        (x, y) => {
            let (hx, hy);
            let sx = match x {
                V::Str(s) => Some(*s),
                V::Id(id, width) => {
                    hx = Hex::of(id, usize::from(*width));
                    Some(hx.as_str())
                }
                _ => None,
            };
            let sy = match y {
                V::Str(s) => Some(*s),
                V::Id(id, width) => {
                    hy = Hex::of(id, usize::from(*width));
                    Some(hy.as_str())
                }
                _ => None,
            };
            match (sx, sy) {
                (Some(x), Some(y)) => ordered(x, y, op),
                _ => invalid(op),
            }
        }
    }
}

/// A small stack buffer for the text of a number, so matching a regular expression
/// against an int attribute does not allocate.
pub(crate) struct StackText {
    buf: [u8; 64],
    len: usize,
    overflow: bool,
}

impl StackText {
    pub(crate) fn new() -> Self {
        StackText {
            buf: [0; 64],
            len: 0,
            overflow: false,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        if self.overflow {
            None
        } else {
            std::str::from_utf8(&self.buf[..self.len]).ok()
        }
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            self.overflow = true;
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Runs `f` on the text upstream's string-like conversion gives a value (what
/// `IsMatch` matches against): strings as they are, ids as hex, ints and floats in
/// decimal, bools as `true`/`false`, bytes as lowercase hex. Nil, maps and arrays have
/// none (`IsMatch` is false on them).
pub(crate) fn with_text<R>(v: &Value<'_>, f: impl FnOnce(&str) -> R) -> Option<R> {
    let mut text = StackText::new();
    match v {
        Value::Str(s) => return Some(f(s)),
        Value::Id(id, width) => return Some(f(Hex::of(id, usize::from(*width)).as_str())),
        Value::Bool(b) => return Some(f(if *b { "true" } else { "false" })),
        Value::Int(i) => {
            let _ = write!(text, "{i}");
        }
        Value::Float(x) => {
            if write!(text, "{x}").is_err() {
                return Some(f(&x.to_string()));
            }
        }
        Value::Bytes(b) => {
            let mut s = String::with_capacity(b.len() * 2);
            for byte in b.iter() {
                let _ = write!(s, "{byte:02x}");
            }
            return Some(f(&s));
        }
        Value::Nil | Value::Map(_) | Value::Array(_) => return None,
    }
    text.as_str().map(f)
}
