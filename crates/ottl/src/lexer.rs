//! Splits a condition into tokens, each with its 1-based column (in chars).
//!
//! The token classes follow upstream OTTL's lexer (`pkg/ottl/grammar.go`): signed ints,
//! floats with a fraction (`1.5`, `-.5`, `2.5e3`), `0x` byte literals, Go-quoted strings,
//! the keywords `and`, `or`, `not`, `true`, `false`, `nil`, the six comparison operators,
//! and identifiers: lowercase ones name paths, all-uppercase ones are enum symbols, and
//! mixed ones starting with an uppercase letter are function names.

use crate::ParseError;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A path segment: starts with a lowercase letter.
    Lower(String),
    /// An enum symbol: uppercase letters, digits and `_`.
    Enum(String),
    /// A function name: starts uppercase, has a lowercase letter.
    Func(String),
    Str(String),
    Int(i64),
    Float(f64),
    Bytes(Vec<u8>),
    Op(CmpOp),
    And,
    Or,
    Not,
    True,
    False,
    Nil,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    Comma,
    End,
}

/// A token, where it starts (1-based column, in chars) and its text in the condition.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub col: usize,
    pub text: String,
}

impl Token {
    /// How an error message names this token: `"and"`, or `end of condition`.
    pub(crate) fn describe(&self) -> String {
        match self.tok {
            Tok::End => "end of condition".to_string(),
            Tok::Str(_) => format!("the string {}", self.text),
            _ => quoted(&self.text),
        }
    }
}

/// `text` in double quotes, unless it is a string literal, which has its own.
pub(crate) fn quoted(text: &str) -> String {
    if text.starts_with('"') {
        text.to_string()
    } else {
        format!("\"{text}\"")
    }
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

/// Tokenizes `src`; the last token is [`Tok::End`].
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut lx = Lexer {
        chars: src.chars().collect(),
        pos: 0,
    };
    let mut out = Vec::new();
    loop {
        while lx.peek().is_some_and(char::is_whitespace) {
            lx.pos += 1;
        }
        let start = lx.pos;
        let Some(c) = lx.peek() else {
            out.push(Token {
                tok: Tok::End,
                col: start + 1,
                text: String::new(),
            });
            return Ok(out);
        };
        let tok = lx.token(c)?;
        let text: String = lx.chars[start..lx.pos].iter().collect();
        out.push(Token {
            tok,
            col: start + 1,
            text,
        });
    }
}

fn err(col: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        column: col,
        message: message.into(),
    }
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }

    fn col(&self) -> usize {
        self.pos + 1
    }

    fn token(&mut self, c: char) -> Result<Tok, ParseError> {
        let col = self.col();
        let single = |t: Tok| Ok(t);
        match c {
            '(' => {
                self.pos += 1;
                single(Tok::LParen)
            }
            ')' => {
                self.pos += 1;
                single(Tok::RParen)
            }
            '[' => {
                self.pos += 1;
                single(Tok::LBracket)
            }
            ']' => {
                self.pos += 1;
                single(Tok::RBracket)
            }
            ',' => {
                self.pos += 1;
                single(Tok::Comma)
            }
            '"' => self.string(),
            '=' | '!' | '<' | '>' => self.operator(c),
            '.' if self.peek_at(1).is_some_and(|d| d.is_ascii_digit()) => self.number(),
            '.' => {
                self.pos += 1;
                single(Tok::Dot)
            }
            '+' | '-'
                if self
                    .peek_at(1)
                    .is_some_and(|d| d.is_ascii_digit() || d == '.') =>
            {
                self.number()
            }
            '0' if matches!(self.peek_at(1), Some('x')) => self.bytes(),
            d if d.is_ascii_digit() => self.number(),
            a if a.is_ascii_alphabetic() || a == '_' => Ok(self.word()),
            '\'' => Err(err(
                col,
                "strings are written in double quotes (\"...\"), not single quotes",
            )),
            other => Err(err(col, format!("unexpected character '{other}'"))),
        }
    }

    fn operator(&mut self, c: char) -> Result<Tok, ParseError> {
        let col = self.col();
        let next = self.peek_at(1);
        let (op, len) = match (c, next) {
            ('=', Some('=')) => (CmpOp::Eq, 2),
            ('!', Some('=')) => (CmpOp::Ne, 2),
            ('<', Some('=')) => (CmpOp::Le, 2),
            ('>', Some('=')) => (CmpOp::Ge, 2),
            ('<', _) => (CmpOp::Lt, 1),
            ('>', _) => (CmpOp::Gt, 1),
            ('=', _) => return Err(err(col, "expected \"==\" to compare, found \"=\"")),
            _ => {
                return Err(err(
                    col,
                    "expected \"!=\", found \"!\" (negation is written \"not\")",
                ));
            }
        };
        self.pos += len;
        Ok(Tok::Op(op))
    }

    fn word(&mut self) -> Tok {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.pos += 1;
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        match word.as_str() {
            "and" => Tok::And,
            "or" => Tok::Or,
            "not" => Tok::Not,
            "true" => Tok::True,
            "false" => Tok::False,
            "nil" => Tok::Nil,
            _ => {
                let first = word.chars().next().unwrap_or('a');
                if first.is_ascii_uppercase() {
                    if word.chars().any(|c| c.is_ascii_lowercase()) {
                        Tok::Func(word)
                    } else {
                        Tok::Enum(word)
                    }
                } else {
                    Tok::Lower(word)
                }
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Tok, ParseError> {
        let start = self.pos;
        let col = self.col();
        if matches!(self.peek(), Some('+' | '-')) {
            self.pos += 1;
        }
        self.digits();
        let mut float = false;
        if self.peek() == Some('.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(err(
                    self.col(),
                    "expected digits after the decimal point (write 1.0, not 1.)",
                ));
            }
            float = true;
            if matches!(self.peek(), Some('e' | 'E')) {
                self.pos += 1;
                if matches!(self.peek(), Some('+' | '-')) {
                    self.pos += 1;
                }
                if self.digits() == 0 {
                    return Err(err(self.col(), "expected digits in the exponent"));
                }
            }
        }
        if self
            .peek()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        {
            let rest = self.pos;
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                self.pos += 1;
            }
            let text: String = self.chars[start..self.pos].iter().collect();
            let hint = if float || !matches!(self.chars.get(rest), Some('e' | 'E')) {
                ""
            } else {
                " (an exponent needs a fraction: 1.0e3)"
            };
            return Err(err(col, format!("\"{text}\" is not a number{hint}")));
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if float {
            text.parse::<f64>()
                .map(Tok::Float)
                .map_err(|_| err(col, format!("\"{text}\" is not a valid float")))
        } else {
            text.parse::<i64>().map(Tok::Int).map_err(|_| {
                err(
                    col,
                    format!("{text} does not fit in a 64-bit integer (-2^63 to 2^63-1)"),
                )
            })
        }
    }

    fn bytes(&mut self) -> Result<Tok, ParseError> {
        let col = self.col();
        self.pos += 2;
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
            self.pos += 1;
        }
        let hex: String = self.chars[start..self.pos].iter().collect();
        if hex.is_empty() {
            return Err(err(col, "expected hex digits after \"0x\""));
        }
        if self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(err(
                self.col(),
                "expected hex digits (0-9, a-f) in a byte literal",
            ));
        }
        if !hex.len().is_multiple_of(2) {
            return Err(err(
                col,
                format!("byte literal 0x{hex} has an odd number of hex digits"),
            ));
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| err(col, format!("0x{hex} is not a valid byte literal")))?;
        Ok(Tok::Bytes(bytes))
    }

    /// A double-quoted string with Go's escapes (`\"`, `\\`, `\n`, `\t`, `\r`, `\a`, `\b`,
    /// `\f`, `\v`, `\'`, `\xHH` below 0x80, `\uHHHH`, `\UHHHHHHHH`), as upstream OTTL
    /// unquotes them.
    fn string(&mut self) -> Result<Tok, ParseError> {
        let open = self.col();
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(err(
                    open,
                    "unterminated string: the \" here has no closing \"",
                ));
            };
            let at = self.col();
            self.pos += 1;
            match c {
                '"' => return Ok(Tok::Str(out)),
                '\\' => {
                    let Some(e) = self.peek() else {
                        return Err(err(
                            open,
                            "unterminated string: the \" here has no closing \"",
                        ));
                    };
                    self.pos += 1;
                    match e {
                        '"' => out.push('"'),
                        '\\' => out.push('\\'),
                        '\'' => out.push('\''),
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'a' => out.push('\u{7}'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'v' => out.push('\u{b}'),
                        'x' => out.push(self.hex_escape(at, 2)?),
                        'u' => out.push(self.hex_escape(at, 4)?),
                        'U' => out.push(self.hex_escape(at, 8)?),
                        other => {
                            return Err(err(
                                at,
                                format!(
                                    "unknown escape \"\\{other}\" in string (write \"\\\\{other}\" \
                                     for a backslash, e.g. in a regular expression)"
                                ),
                            ));
                        }
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn hex_escape(&mut self, at: usize, n: usize) -> Result<char, ParseError> {
        let end = self.pos + n;
        let digits: String = self
            .chars
            .get(self.pos..end)
            .unwrap_or(&[])
            .iter()
            .collect();
        if digits.len() != n || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(err(at, format!("expected {n} hex digits in this escape")));
        }
        self.pos = end;
        let code = u32::from_str_radix(&digits, 16).map_err(|_| err(at, "invalid escape"))?;
        if n == 2 && code > 0x7f {
            return Err(err(
                at,
                "\\x escapes above \\x7f would not be valid UTF-8; use \\u00XX",
            ));
        }
        char::from_u32(code).ok_or_else(|| err(at, format!("\\u{digits} is not a valid character")))
    }
}
