//! Compact OTLP/JSON written straight from the OTLP types' `Serialize`.
//!
//! This writes what `serde_json::to_value`, then the compaction of
//! [`super::compact_value`], then `serde_json::to_writer` wrote, without building
//! the `Value` tree: every key, string and number of a batch was allocated there
//! once, and the tree was freed again. Here each value is written into the output
//! as it comes, and tells its parent what it was (null, a default, an empty list,
//! ...). An object ends with the entries it keeps in the byte order of their keys
//! (the order of serde_json's `Map`, a `BTreeMap`): cut out of place when they
//! were written in that order, rewritten from a copy when not.
//! So it inherits every rule of the OTLP types' serde impls (hex ids, 64-bit
//! integers as strings, flattened `AnyValue`s) and stays the same bytes.

use std::fmt::{self, Display};

use serde::ser::{self, Serialize};

use super::{ALWAYS_KEPT, U64_STRING_FIELDS};
use crate::jsonw::{self, Escapes, cmp_bytes};

/// Why a value could not be written: a `Serialize` impl failed, or a map key is
/// not a string, integer, boolean or character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(super) struct Error(String);

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// What a written value was, for the compaction rules of the object holding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Null,
    False,
    True,
    /// A number equal to zero (`0`, `0.0`, `-0.0`).
    Zero,
    Number,
    EmptyString,
    /// The string `"0"` (a zero 64-bit integer, written as a string).
    ZeroString,
    String,
    EmptyArray,
    Array,
    Object,
}

/// Whether an object keeps its entry `key` of this kind ([`super::compact_object`]).
fn kept(key: &str, kind: Kind) -> bool {
    match kind {
        Kind::Null => false,
        Kind::Object | Kind::Array => true,
        Kind::EmptyArray => false,
        _ if ALWAYS_KEPT.contains(&key) => true,
        Kind::True | Kind::Number | Kind::String => true,
        Kind::False | Kind::Zero | Kind::EmptyString => false,
        Kind::ZeroString => !U64_STRING_FIELDS.contains(&key),
    }
}

/// An object entry: its key in [`Writer::keys`], and where `"key":value` is in
/// the output.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: (usize, usize),
    value: (usize, usize),
    kind: Kind,
}

/// The output and what open objects share: their entries, stacked, the keys' text,
/// and one buffer an object copies its region into when it ends.
pub(super) struct Writer<'o> {
    out: &'o mut String,
    entries: Vec<Entry>,
    keys: String,
    scratch: String,
}

impl<'o> Writer<'o> {
    pub(super) fn new(out: &'o mut String) -> Self {
        Writer {
            out,
            entries: Vec::new(),
            keys: String::new(),
            scratch: String::new(),
        }
    }

    /// Writes `value` compacted; on error the output is as it was.
    pub(super) fn write<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let start = self.out.len();
        let result = value.serialize(&mut *self).map(|_| ());
        if result.is_err() {
            self.out.truncate(start);
            self.entries.clear();
            self.keys.clear();
        }
        result
    }

    fn object(&mut self) -> Object<'_, 'o> {
        let start = self.out.len();
        self.out.push('{');
        Object {
            base: self.entries.len(),
            keys_base: self.keys.len(),
            start,
            w: self,
            variant: None,
        }
    }
}

/// An object being written: its entries go straight into the output after the
/// `{` at `start`, as `"key":value` separated by commas; `end` leaves out the
/// entries the compaction drops and puts the rest in key order.
pub(super) struct Object<'w, 'o> {
    w: &'w mut Writer<'o>,
    base: usize,
    keys_base: usize,
    start: usize,
    /// A struct or tuple variant: the object is the value of `{"variant":...}`.
    variant: Option<&'static str>,
}

impl Object<'_, '_> {
    fn key_str(&mut self, key: &str) -> (usize, usize) {
        let k = self.w.keys.len();
        self.w.keys.push_str(key);
        (k, self.w.keys.len())
    }

    /// Writes `,"key":value` (no comma first) and records the entry.
    fn value<T: Serialize + ?Sized>(
        &mut self,
        key: (usize, usize),
        value: &T,
    ) -> Result<(), Error> {
        if self.w.entries.len() > self.base {
            self.w.out.push(',');
        }
        let start = self.w.out.len();
        jsonw::string(self.w.out, &self.w.keys[key.0..key.1], &Escapes::JSON);
        self.w.out.push(':');
        let kind = value.serialize(&mut *self.w)?;
        self.w.entries.push(Entry {
            key,
            value: (start, self.w.out.len()),
            kind,
        });
        Ok(())
    }

    /// Ends the object: entries already in key order stay where they are (the
    /// dropped ones cut out); others are rewritten in key order from a copy.
    fn end(self) -> Result<Kind, Error> {
        let Object {
            w,
            base,
            keys_base,
            start,
            variant,
        } = self;
        let Writer {
            out,
            entries,
            keys,
            scratch,
        } = w;
        let key_of = |e: &Entry| &keys.as_bytes()[e.key.0..e.key.1];
        let own = &mut entries[base..];
        let in_order = own
            .windows(2)
            .all(|p| cmp_bytes(key_of(&p[0]), key_of(&p[1])).is_lt());
        if in_order {
            // Cut out the dropped entries, last first, so the earlier ones keep
            // their positions; each takes the comma before it (the first, the one
            // after it).
            for (i, e) in own.iter().enumerate().rev() {
                // `keys` holds raw key text: compare it, not the escaped form.
                let key = &keys[e.key.0..e.key.1];
                if kept(key, e.kind) {
                    continue;
                }
                let (from, to) = e.value;
                if i > 0 {
                    out.drain(from - 1..to);
                } else if out.as_bytes().get(to) == Some(&b',') {
                    out.drain(from..=to);
                } else {
                    out.drain(from..to);
                }
            }
        } else {
            // A stable sort: of repeated keys the last one written wins, as in a map.
            own.sort_by(|a, b| cmp_bytes(key_of(a), key_of(b)));
            let body = start + 1;
            scratch.clear();
            scratch.push_str(&out[body..]);
            out.truncate(body);
            let mut first = true;
            for (i, e) in own.iter().enumerate() {
                let key = &keys[e.key.0..e.key.1];
                if !kept(key, e.kind)
                    || own
                        .get(i + 1)
                        .is_some_and(|next| key_of(next) == key.as_bytes())
                {
                    continue;
                }
                if !std::mem::take(&mut first) {
                    out.push(',');
                }
                out.push_str(&scratch[e.value.0 - body..e.value.1 - body]);
            }
        }
        out.push('}');
        entries.truncate(base);
        keys.truncate(keys_base);
        if let Some(variant) = variant {
            wrap_in_variant(out, start, variant);
        }
        Ok(Kind::Object)
    }
}

/// Turns the value written from `start` into `{"variant":value}`, as serde_json's
/// `Value` holds an enum's newtype, tuple and struct variants.
fn wrap_in_variant(out: &mut String, start: usize, variant: &str) {
    let mut head = String::with_capacity(variant.len() + 4);
    head.push('{');
    jsonw::string(&mut head, variant, &Escapes::JSON);
    head.push(':');
    out.insert_str(start, &head);
    out.push('}');
}

/// A list being written: elements are never dropped or reordered.
pub(super) struct List<'w, 'o> {
    w: &'w mut Writer<'o>,
    empty: bool,
    start: usize,
    variant: Option<&'static str>,
}

impl List<'_, '_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !std::mem::take(&mut self.empty) {
            self.w.out.push(',');
        }
        value.serialize(&mut *self.w).map(|_| ())
    }

    fn end(self) -> Result<Kind, Error> {
        self.w.out.push(']');
        match (self.variant, self.empty) {
            (None, true) => Ok(Kind::EmptyArray),
            (None, false) => Ok(Kind::Array),
            // `{"variant":[]}` compacts to `{}`.
            (Some(_), true) => {
                self.w.out.truncate(self.start);
                self.w.out.push_str("{}");
                Ok(Kind::Object)
            }
            (Some(variant), false) => {
                wrap_in_variant(self.w.out, self.start, variant);
                Ok(Kind::Object)
            }
        }
    }
}

fn number_kind(zero: bool) -> Kind {
    if zero { Kind::Zero } else { Kind::Number }
}

impl<'w, 'o> ser::Serializer for &'w mut Writer<'o> {
    type Ok = Kind;
    type Error = Error;
    type SerializeSeq = List<'w, 'o>;
    type SerializeTuple = List<'w, 'o>;
    type SerializeTupleStruct = List<'w, 'o>;
    type SerializeTupleVariant = List<'w, 'o>;
    type SerializeMap = MapWriter<'w, 'o>;
    type SerializeStruct = Object<'w, 'o>;
    type SerializeStructVariant = Object<'w, 'o>;

    fn serialize_bool(self, v: bool) -> Result<Kind, Error> {
        self.out.push_str(if v { "true" } else { "false" });
        Ok(if v { Kind::True } else { Kind::False })
    }
    fn serialize_i8(self, v: i8) -> Result<Kind, Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Kind, Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Kind, Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Kind, Error> {
        self.out.push_str(itoa::Buffer::new().format(v));
        Ok(number_kind(v == 0))
    }
    fn serialize_i128(self, v: i128) -> Result<Kind, Error> {
        self.out.push_str(itoa::Buffer::new().format(v));
        Ok(number_kind(v == 0))
    }
    fn serialize_u8(self, v: u8) -> Result<Kind, Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Kind, Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Kind, Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Kind, Error> {
        self.out.push_str(itoa::Buffer::new().format(v));
        Ok(number_kind(v == 0))
    }
    fn serialize_u128(self, v: u128) -> Result<Kind, Error> {
        self.out.push_str(itoa::Buffer::new().format(v));
        Ok(number_kind(v == 0))
    }
    fn serialize_f32(self, v: f32) -> Result<Kind, Error> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Kind, Error> {
        // `Value` holds no NaN or infinity: they become null.
        if !v.is_finite() {
            return self.serialize_unit();
        }
        self.out.push_str(zmij::Buffer::new().format_finite(v));
        Ok(number_kind(v == 0.0))
    }
    fn serialize_char(self, v: char) -> Result<Kind, Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<Kind, Error> {
        jsonw::string(self.out, v, &Escapes::JSON);
        Ok(match v {
            "" => Kind::EmptyString,
            "0" => Kind::ZeroString,
            _ => Kind::String,
        })
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Kind, Error> {
        // A `Value` holds bytes as a list of numbers.
        let mut list = ser::Serializer::serialize_seq(self, Some(v.len()))?;
        for b in v {
            list.element(b)?;
        }
        list.end()
    }
    fn serialize_none(self) -> Result<Kind, Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Kind, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Kind, Error> {
        self.out.push_str("null");
        Ok(Kind::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Kind, Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Kind, Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Kind, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Kind, Error> {
        // `{"variant":value}`: an object of one entry, compacted like any other.
        let mut o = self.object();
        let key = o.key_str(variant);
        o.value(key, value)?;
        o.end()
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<List<'w, 'o>, Error> {
        let start = self.out.len();
        self.out.push('[');
        Ok(List {
            w: self,
            empty: true,
            start,
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<List<'w, 'o>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<List<'w, 'o>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<List<'w, 'o>, Error> {
        let mut list = self.serialize_seq(Some(len))?;
        list.variant = Some(variant);
        Ok(list)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapWriter<'w, 'o>, Error> {
        Ok(MapWriter {
            object: self.object(),
            key: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Object<'w, 'o>, Error> {
        Ok(self.object())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Object<'w, 'o>, Error> {
        let mut o = self.object();
        o.variant = Some(variant);
        Ok(o)
    }
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<Kind, Error> {
        self.serialize_str(&value.to_string())
    }
}

/// The list traits serde has one of per kind of list: each writes an element.
macro_rules! list_impl {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for List<'_, '_> {
            type Ok = Kind;
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
            fn end(self) -> Result<Kind, Error> {
                List::end(self)
            }
        }
    )*};
}
list_impl!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// The two struct traits: each writes a field.
macro_rules! struct_impl {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Object<'_, '_> {
            type Ok = Kind;
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                let key = self.key_str(key);
                self.value(key, value)
            }
            fn end(self) -> Result<Kind, Error> {
                Object::end(self)
            }
        }
    )*};
}
struct_impl!(SerializeStruct, SerializeStructVariant);

/// A map (and the flattened entries serde forwards into one): keys are written as
/// text first, then their values.
pub(super) struct MapWriter<'w, 'o> {
    object: Object<'w, 'o>,
    key: Option<(usize, usize)>,
}

impl ser::SerializeMap for MapWriter<'_, '_> {
    type Ok = Kind;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        let start = self.object.w.keys.len();
        key.serialize(MapKey(&mut self.object.w.keys))?;
        self.key = Some((start, self.object.w.keys.len()));
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error("a map value without its key".into()))?;
        self.object.value(key, value)
    }
    fn end(self) -> Result<Kind, Error> {
        self.object.end()
    }
}

/// A map key, as text: strings and characters as themselves, integers and booleans
/// as their digits and words (as `serde_json::to_value` makes them); anything else
/// is an error.
struct MapKey<'k>(&'k mut String);

fn key_must_be_a_string() -> Error {
    Error("key must be a string".into())
}

impl MapKey<'_> {
    fn text(self, text: &str) -> Result<Kind, Error> {
        self.0.push_str(text);
        Ok(Kind::String)
    }
}

impl ser::Serializer for MapKey<'_> {
    type Ok = Kind;
    type Error = Error;
    type SerializeSeq = ser::Impossible<Kind, Error>;
    type SerializeTuple = ser::Impossible<Kind, Error>;
    type SerializeTupleStruct = ser::Impossible<Kind, Error>;
    type SerializeTupleVariant = ser::Impossible<Kind, Error>;
    type SerializeMap = ser::Impossible<Kind, Error>;
    type SerializeStruct = ser::Impossible<Kind, Error>;
    type SerializeStructVariant = ser::Impossible<Kind, Error>;

    fn serialize_str(self, v: &str) -> Result<Kind, Error> {
        self.text(v)
    }
    fn serialize_char(self, v: char) -> Result<Kind, Error> {
        self.text(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_bool(self, v: bool) -> Result<Kind, Error> {
        self.text(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result<Kind, Error> {
        self.text(itoa::Buffer::new().format(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Kind, Error> {
        self.text(itoa::Buffer::new().format(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Kind, Error> {
        self.text(itoa::Buffer::new().format(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Kind, Error> {
        self.text(itoa::Buffer::new().format(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Kind, Error> {
        self.text(itoa::Buffer::new().format(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Kind, Error> {
        self.text(itoa::Buffer::new().format(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Kind, Error> {
        self.text(itoa::Buffer::new().format(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Kind, Error> {
        self.text(itoa::Buffer::new().format(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Kind, Error> {
        self.text(itoa::Buffer::new().format(v))
    }
    fn serialize_u128(self, v: u128) -> Result<Kind, Error> {
        self.text(itoa::Buffer::new().format(v))
    }
    fn serialize_f32(self, _v: f32) -> Result<Kind, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_f64(self, _v: f64) -> Result<Kind, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<Kind, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<Kind, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<Kind, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result<Kind, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Kind, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Kind, Error> {
        self.text(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Kind, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<Kind, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<Kind, Error> {
        use fmt::Write as _;
        write!(self.0, "{value}").map_err(|_| Error("a Display implementation failed".into()))?;
        Ok(Kind::String)
    }
}
