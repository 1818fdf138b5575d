//! Writing JSON text straight into a `String`, for the exporters whose documents
//! are built field by field (EMF, Application Insights, Log Analytics rows) rather
//! than through a `serde_json::Value`.
//!
//! [`string`] escapes a string in one pass over its bytes, with a table of the
//! bytes to escape: [`Escapes::JSON`] writes exactly what `serde_json` writes (`"`,
//! `\`, and control characters as `\n`, `\t`, `\u001f`, ...), and
//! [`Escapes::with_html`] and [`Escapes::with_line_separators`] add what Go's
//! `encoding/json` escapes besides (`<`, `>`, `&`, U+2028, U+2029). `serde_json`
//! scans each string for escapes and a Go formatter on top of it scans it again;
//! this is one scan.

/// Which bytes [`string`] escapes, and how: per byte, `0` for as is, else a class.
#[derive(Debug, Clone)]
pub struct Escapes([u8; 256]);

/// `\u00XX` (control characters, and Go's `<`, `>`, `&`).
const UNICODE: u8 = b'u';
/// The lead byte of U+2028 and U+2029 (E2 80 A8 / E2 80 A9).
const LINE_SEPARATOR_LEAD: u8 = b'e';

impl Escapes {
    /// What `serde_json` escapes: `"`, `\`, `\b`, `\f`, `\n`, `\r`, `\t` in their
    /// short forms, other control characters as `\u00XX` (lowercase hex).
    pub const JSON: Escapes = {
        let mut t = [0u8; 256];
        let mut b = 0;
        while b < 0x20 {
            t[b] = UNICODE;
            b += 1;
        }
        t[0x08] = b'b';
        t[0x0c] = b'f';
        t[b'\n' as usize] = b'n';
        t[b'\r' as usize] = b'r';
        t[b'\t' as usize] = b't';
        t[b'"' as usize] = b'"';
        t[b'\\' as usize] = b'\\';
        Escapes(t)
    };

    /// Also `<`, `>` and `&`, as `\u003c`, `\u003e`, `\u0026` (Go's `json.Marshal`).
    pub const fn with_html(self) -> Escapes {
        let mut t = self.0;
        t[b'<' as usize] = UNICODE;
        t[b'>' as usize] = UNICODE;
        t[b'&' as usize] = UNICODE;
        Escapes(t)
    }

    /// Also U+2028 and U+2029, as `\u2028` and `\u2029` (Go, always).
    pub const fn with_line_separators(self) -> Escapes {
        let mut t = self.0;
        t[0xE2] = LINE_SEPARATOR_LEAD;
        Escapes(t)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` as a quoted JSON string, escaping what `escapes` says.
pub fn string(out: &mut String, s: &str, escapes: &Escapes) {
    out.reserve(s.len() + 2);
    out.push('"');
    escaped(out, s, escapes);
    out.push('"');
}

/// Appends `s` escaped as [`string`] does, without the quotes.
pub fn escaped(out: &mut String, s: &str, escapes: &Escapes) {
    let bytes = s.as_bytes();
    let table = &escapes.0;
    let mut plain = 0;
    let mut i = 0;
    loop {
        i = next_escape(bytes, i, table);
        let Some(&b) = bytes.get(i) else { break };
        let class = table[usize::from(b)];
        // Every escaped byte is ASCII or the lead of a whole character, so `plain..i`
        // starts and ends on character boundaries.
        match class {
            UNICODE => {
                out.push_str(&s[plain..i]);
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
                i += 1;
            }
            LINE_SEPARATOR_LEAD => match (bytes.get(i + 1), bytes.get(i + 2)) {
                (Some(0x80), Some(0xA8)) => {
                    out.push_str(&s[plain..i]);
                    out.push_str("\\u2028");
                    i += 3;
                }
                (Some(0x80), Some(0xA9)) => {
                    out.push_str(&s[plain..i]);
                    out.push_str("\\u2029");
                    i += 3;
                }
                _ => {
                    i += 1;
                    continue;
                }
            },
            short => {
                out.push_str(&s[plain..i]);
                out.push('\\');
                out.push(char::from(short));
                i += 1;
            }
        }
        plain = i;
    }
    out.push_str(&s[plain..]);
}

/// The index of the first byte at or after `from` that `table` escapes, or
/// `bytes.len()`. Plain text is checked eight bytes at a time: one test of the
/// eight table entries or'd together instead of a branch a byte.
#[inline]
fn next_escape(bytes: &[u8], from: usize, table: &[u8; 256]) -> usize {
    let mut i = from;
    let rest = bytes.get(from..).unwrap_or_default();
    for c in rest.chunks_exact(8) {
        let any = table[usize::from(c[0])]
            | table[usize::from(c[1])]
            | table[usize::from(c[2])]
            | table[usize::from(c[3])]
            | table[usize::from(c[4])]
            | table[usize::from(c[5])]
            | table[usize::from(c[6])]
            | table[usize::from(c[7])];
        if any != 0 {
            break;
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if table[usize::from(b)] != 0 {
            break;
        }
        i += 1;
    }
    i
}

/// Appends a double as `serde_json` writes it (the shortest round-trip digits, by
/// `zmij` as serde_json formats them: `1.0`, `1e+21`); NaN and infinities as
/// `null`, as serde_json writes them.
pub fn float(out: &mut String, d: f64) {
    if d.is_finite() {
        out.push_str(zmij::Buffer::new().format_finite(d));
    } else {
        out.push_str("null");
    }
}

/// Appends the lowercase hex of `bytes` (trace and span ids).
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
}

/// The lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

/// Byte-wise order (as `str`'s), inline: keys and labels are short, and a call
/// into the C library's `memcmp` per comparison cost more than the comparison
/// itself (60 % of the X-Ray translator's time in `benches/floor.rs`, and the
/// sorting of every EMF label set and OTLP/JSON object).
pub fn cmp_bytes(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// Appends an integer.
pub fn integer(out: &mut String, i: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(i));
}

/// An object being written: `{` on creation, entries separated by commas, `}` at
/// [`Object::end`]. Field names given to [`Object::key`] are written as they are;
/// keys that come from data go through [`Object::escaped_key`].
pub struct Object<'o> {
    out: &'o mut String,
    escapes: &'static Escapes,
    empty: bool,
}

impl<'o> Object<'o> {
    /// Starts an object whose string values (and data keys) `escapes` escapes.
    pub fn new(out: &'o mut String, escapes: &'static Escapes) -> Self {
        out.push('{');
        Object {
            out,
            escapes,
            empty: true,
        }
    }

    #[inline]
    fn comma(&mut self) {
        if !std::mem::take(&mut self.empty) {
            self.out.push(',');
        }
    }

    /// Writes `"key":` for a field name, which needs no escaping, and returns the
    /// buffer for the value.
    #[inline]
    pub fn key(&mut self, key: &str) -> &mut String {
        self.comma();
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
        self.out
    }

    /// Writes `"key":` for a key from data, escaped, and returns the buffer for the
    /// value.
    pub fn escaped_key(&mut self, key: &str) -> &mut String {
        self.comma();
        string(self.out, key, self.escapes);
        self.out.push(':');
        self.out
    }

    /// Writes `"<prefix><key>":` for a key from data (`key`, escaped) under a prefix
    /// that needs no escaping, and returns the buffer for the value.
    pub fn prefixed_key(&mut self, prefix: &str, key: &str) -> &mut String {
        self.comma();
        self.out.push('"');
        self.out.push_str(prefix);
        escaped(self.out, key, self.escapes);
        self.out.push_str("\":");
        self.out
    }

    /// `"key":"value"`.
    pub fn str(&mut self, key: &str, value: &str) {
        let escapes = self.escapes;
        string(self.key(key), value, escapes);
    }

    /// `"key":"value"`, left out when there is no value.
    pub fn opt_str(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.str(key, v);
        }
    }

    /// `"key":"value"`, or `"key":null` when there is no value.
    pub fn str_or_null(&mut self, key: &str, value: Option<&str>) {
        match value {
            Some(v) => self.str(key, v),
            None => self.key(key).push_str("null"),
        }
    }

    /// `"key":integer`.
    pub fn int(&mut self, key: &str, value: impl itoa::Integer) {
        integer(self.key(key), value);
    }

    /// `"key":integer`, left out when there is no value.
    pub fn opt_int(&mut self, key: &str, value: Option<impl itoa::Integer>) {
        if let Some(v) = value {
            self.int(key, v);
        }
    }

    /// `"key":double`, as [`float`] writes it.
    pub fn float(&mut self, key: &str, value: f64) {
        float(self.key(key), value);
    }

    /// `"key":double`, left out when there is no value.
    pub fn opt_float(&mut self, key: &str, value: Option<f64>) {
        if let Some(v) = value {
            self.float(key, v);
        }
    }

    /// `"key":true` or `"key":false`.
    pub fn bool(&mut self, key: &str, value: bool) {
        self.key(key).push_str(if value { "true" } else { "false" });
    }

    /// `"key":bool`, left out when there is no value.
    pub fn opt_bool(&mut self, key: &str, value: Option<bool>) {
        if let Some(v) = value {
            self.bool(key, v);
        }
    }

    /// Ends the object.
    pub fn end(self) {
        self.out.push('}');
    }
}

/// An array being written: `[` on creation, items separated by commas, `]` at
/// [`Array::end`].
pub struct Array<'o> {
    out: &'o mut String,
    empty: bool,
}

impl<'o> Array<'o> {
    /// Starts an array.
    pub fn new(out: &'o mut String) -> Self {
        out.push('[');
        Array { out, empty: true }
    }

    /// The buffer for the next item.
    #[inline]
    pub fn item(&mut self) -> &mut String {
        if !std::mem::take(&mut self.empty) {
            self.out.push(',');
        }
        self.out
    }

    /// Ends the array.
    pub fn end(self) {
        self.out.push(']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(s: &str) -> String {
        let mut out = String::new();
        string(&mut out, s, &Escapes::JSON);
        out
    }

    #[test]
    fn json_escapes_are_serde_jsons() {
        let mut every_ascii: String = (0u8..0x80).map(char::from).collect();
        every_ascii.push_str("é ☃ \u{2028} \u{2029} 😀 <&>");
        for s in [
            "",
            "plain",
            "quote \" backslash \\ slash /",
            "\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}",
            every_ascii.as_str(),
        ] {
            assert_eq!(json(s), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn go_escapes_add_html_and_line_separators() {
        const GO: Escapes = Escapes::JSON.with_html().with_line_separators();
        const GO_NO_HTML: Escapes = Escapes::JSON.with_line_separators();
        let s = "a<b>&c\u{2028}d\u{2029}e\u{2027}\u{e2}\"\u{1}";
        let mut out = String::new();
        string(&mut out, s, &GO);
        assert_eq!(out, r#""a\u003cb\u003e\u0026c\u2028d\u2029e‧â\"\u0001""#);
        out.clear();
        string(&mut out, s, &GO_NO_HTML);
        assert_eq!(out, r#""a<b>&c\u2028d\u2029e‧â\"\u0001""#);
        // A string ending in the lead byte's character, or cut short after it.
        out.clear();
        string(&mut out, "\u{2000}\u{20ac}", &GO);
        assert_eq!(out, "\"\u{2000}\u{20ac}\"");
    }

    #[test]
    fn floats_are_serde_jsons() {
        for d in [
            0.0,
            -0.0,
            1.0,
            0.1,
            1.5e-7,
            1e21,
            123456789.125,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
        ] {
            let mut out = String::new();
            float(&mut out, d);
            assert_eq!(out, serde_json::to_string(&d).unwrap(), "{d:e}");
        }
    }

    #[test]
    fn hex_is_lowercase_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn integers() {
        let mut out = String::new();
        integer(&mut out, -42i64);
        integer(&mut out, u64::MAX);
        assert_eq!(out, "-4218446744073709551615");
    }
}
