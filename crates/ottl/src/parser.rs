//! A recursive-descent parser for the condition subset (grammar in the README).

use regex::Regex;

use crate::ParseError;
use crate::ast::{IsMatch, Key, Lit, Node, Operand, Path};
use crate::item::Context;
use crate::lexer::{CmpOp, Tok, Token, quoted, tokenize};
use crate::paths::{self, Base, Keys};

/// The one function of the subset.
const IS_MATCH: &str = "IsMatch";

pub(crate) fn parse(text: &str, ctx: Context) -> Result<Node, ParseError> {
    let toks = tokenize(text)?;
    let mut p = Parser { toks, pos: 0, ctx };
    let node = p.or_expr()?;
    let t = p.peek();
    if t.tok != Tok::End {
        let hint = if matches!(t.tok, Tok::Op(_)) {
            " (a comparison has one operator on each side: write `a == 1 and b == 2`)"
        } else {
            ""
        };
        return Err(p.error(
            t.col,
            format!(
                "expected \"and\", \"or\" or the end of the condition, found {}{hint}",
                t.describe()
            ),
        ));
    }
    Ok(node)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    ctx: Context,
}

impl Parser {
    fn peek(&self) -> &Token {
        // `tokenize` always ends with `End`, and `advance` never moves past it.
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn advance(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::End {
            self.pos += 1;
        }
        t
    }

    fn error(&self, column: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            column,
            message: message.into(),
        }
    }

    /// `after "x"` for the token before the current one, or nothing at the start.
    fn after(&self) -> String {
        match self.pos.checked_sub(1).and_then(|i| self.toks.get(i)) {
            Some(t) => format!(" after {}", quoted(&t.text)),
            None => String::new(),
        }
    }

    fn or_expr(&mut self) -> Result<Node, ParseError> {
        let mut terms = vec![self.and_expr()?];
        while self.peek().tok == Tok::Or {
            self.advance();
            terms.push(self.and_expr()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Node::Or(terms.into_boxed_slice())
        })
    }

    fn and_expr(&mut self) -> Result<Node, ParseError> {
        let mut values = vec![self.bool_value()?];
        while self.peek().tok == Tok::And {
            self.advance();
            values.push(self.bool_value()?);
        }
        Ok(if values.len() == 1 {
            values.remove(0)
        } else {
            Node::And(values.into_boxed_slice())
        })
    }

    fn bool_value(&mut self) -> Result<Node, ParseError> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Not => {
                self.advance();
                Ok(Node::Not(Box::new(self.bool_value()?)))
            }
            Tok::LParen => {
                self.advance();
                let inner = self.or_expr()?;
                let close = self.peek().clone();
                if close.tok != Tok::RParen {
                    return Err(self.error(
                        close.col,
                        format!(
                            "expected \")\" to close the \"(\" at column {}, found {}",
                            t.col,
                            close.describe()
                        ),
                    ));
                }
                self.advance();
                Ok(inner)
            }
            Tok::End | Tok::And | Tok::Or | Tok::RParen | Tok::Op(_) | Tok::Comma => Err(self
                .error(
                    t.col,
                    format!(
                        "expected a condition{}, found {}",
                        self.after(),
                        t.describe()
                    ),
                )),
            _ => self.comparison_or_constant(),
        }
    }

    fn comparison_or_constant(&mut self) -> Result<Node, ParseError> {
        let start = self.peek().clone();
        let left = self.operand()?;
        let next = self.peek().clone();
        let Tok::Op(op) = next.tok else {
            return match left {
                Operand::Lit(Lit::Bool(b)) => Ok(Node::Const(b)),
                Operand::Match(m) => Ok(Node::Match(m)),
                _ => Err(self.error(
                    next.col,
                    format!(
                        "expected a comparison operator (==, !=, <, <=, >, >=) after {}, \
                         found {}",
                        describe_operand(&left, &start),
                        next.describe()
                    ),
                )),
            };
        };
        self.advance();
        let right_tok = self.peek().clone();
        let right = self.operand()?;
        if self.ctx == Context::Request {
            return self.request_comparison(left, &start, op, &next, right, &right_tok);
        }
        Ok(Node::Compare { left, op, right })
    }

    /// The request context's one form: `request["key"] == "value"` or `!=`.
    fn request_comparison(
        &self,
        left: Operand,
        left_tok: &Token,
        op: CmpOp,
        op_tok: &Token,
        right: Operand,
        right_tok: &Token,
    ) -> Result<Node, ParseError> {
        const FORM: &str = "request[\"key\"] == \"value\" or request[\"key\"] != \"value\"";
        let Operand::Path(path) = left else {
            return Err(self.error(
                left_tok.col,
                format!("the request context compares a header: write {FORM}"),
            ));
        };
        if !matches!(op, CmpOp::Eq | CmpOp::Ne) {
            return Err(self.error(
                op_tok.col,
                format!(
                    "the request context compares with == or != only, found \"{}\"",
                    op.as_str()
                ),
            ));
        }
        let Operand::Lit(Lit::Str(value)) = right else {
            return Err(self.error(
                right_tok.col,
                format!(
                    "expected a string after \"{}\" ({FORM}), found {}",
                    op.as_str(),
                    right_tok.describe()
                ),
            ));
        };
        Ok(Node::Request {
            key: path.key,
            op,
            value,
        })
    }

    fn operand(&mut self) -> Result<Operand, ParseError> {
        let t = self.peek().clone();
        let lit = |l: Lit| Ok(Operand::Lit(l));
        match t.tok {
            Tok::Str(_)
            | Tok::Int(_)
            | Tok::Float(_)
            | Tok::Bytes(_)
            | Tok::True
            | Tok::False
            | Tok::Nil => {
                let t = self.advance();
                match t.tok {
                    Tok::Str(s) => lit(Lit::Str(s.into_boxed_str())),
                    Tok::Int(i) => lit(Lit::Int(i)),
                    Tok::Float(f) => lit(Lit::Float(f)),
                    Tok::Bytes(b) => lit(Lit::Bytes(b.into_boxed_slice())),
                    Tok::True => lit(Lit::Bool(true)),
                    Tok::False => lit(Lit::Bool(false)),
                    _ => lit(Lit::Nil),
                }
            }
            Tok::Enum(ref name)
                if self.toks.get(self.pos + 1).map(|n| &n.tok) != Some(&Tok::LParen) =>
            {
                self.advance();
                let symbols = paths::enums(self.ctx);
                match symbols.iter().find(|(s, _)| s == name) {
                    Some((_, v)) => lit(Lit::Int(*v)),
                    None if symbols.is_empty() => Err(self.error(
                        t.col,
                        format!(
                            "the {} context has no enum symbols, found \"{name}\"",
                            self.ctx
                        ),
                    )),
                    None => Err(self.error(
                        t.col,
                        format!(
                            "unknown enum symbol \"{name}\" in the {} context; valid symbols: {}",
                            self.ctx,
                            symbols
                                .iter()
                                .map(|(s, _)| *s)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )),
                }
            }
            Tok::Func(_) | Tok::Enum(_) => self.call().map(Operand::Match),
            Tok::Lower(_) => self.path().map(Operand::Path),
            _ => Err(self.error(
                t.col,
                format!("expected a value{}, found {}", self.after(), t.describe()),
            )),
        }
    }

    fn call(&mut self) -> Result<Box<IsMatch>, ParseError> {
        let name_tok = self.advance();
        let name = name_tok.text.as_str();
        if name != IS_MATCH {
            return Err(self.error(
                name_tok.col,
                format!(
                    "unknown function \"{name}\": the function this subset supports is \
                     IsMatch(target, \"pattern\")"
                ),
            ));
        }
        if self.ctx == Context::Request {
            return Err(self.error(
                name_tok.col,
                "the request context supports only request[\"key\"] == \"value\" and \
                 request[\"key\"] != \"value\", not IsMatch",
            ));
        }
        let open = self.peek().clone();
        if open.tok != Tok::LParen {
            return Err(self.error(
                open.col,
                format!("expected \"(\" after IsMatch, found {}", open.describe()),
            ));
        }
        self.advance();
        if self.peek().tok == Tok::RParen {
            let t = self.peek().col;
            return Err(self.error(
                t,
                "IsMatch takes 2 arguments (target, \"pattern\"), found none",
            ));
        }
        let target = self.operand()?;
        let sep = self.peek().clone();
        match sep.tok {
            Tok::Comma => {
                self.advance();
            }
            Tok::RParen => {
                return Err(self.error(
                    sep.col,
                    "IsMatch takes 2 arguments (target, \"pattern\"), found 1",
                ));
            }
            _ => {
                return Err(self.error(
                    sep.col,
                    format!(
                        "expected \",\" between the arguments of IsMatch, found {}",
                        sep.describe()
                    ),
                ));
            }
        }
        let pat = self.peek().clone();
        let Tok::Str(pattern) = pat.tok else {
            return Err(self.error(
                pat.col,
                format!(
                    "expected the pattern of IsMatch as a string literal (it is compiled once, \
                     when the config is loaded), found {}",
                    pat.describe()
                ),
            ));
        };
        self.advance();
        let regex = Regex::new(&pattern).map_err(|e| {
            self.error(
                pat.col,
                format!(
                    "invalid regular expression {}: {}",
                    pat.text,
                    regex_message(&e)
                ),
            )
        })?;
        let close = self.peek().clone();
        match close.tok {
            Tok::RParen => {
                self.advance();
            }
            Tok::Comma => {
                return Err(self.error(
                    close.col,
                    "IsMatch takes 2 arguments (target, \"pattern\"), found more",
                ));
            }
            _ => {
                return Err(self.error(
                    close.col,
                    format!(
                        "expected \")\" to close IsMatch( at column {}, found {}",
                        open.col,
                        close.describe()
                    ),
                ));
            }
        }
        Ok(Box::new(IsMatch { target, regex }))
    }

    fn path(&mut self) -> Result<Path, ParseError> {
        let first = self.advance();
        let col = first.col;
        if self.peek().tok == Tok::LParen {
            return Err(self.error(
                col,
                format!(
                    "\"{}\" is not a function: this subset has one function, IsMatch (functions \
                     start with an uppercase letter)",
                    first.text
                ),
            ));
        }
        let mut dotted = first.text.clone();
        while self.peek().tok == Tok::Dot {
            self.advance();
            let seg = self.peek().clone();
            match seg.tok {
                Tok::Lower(_) => {
                    self.advance();
                    dotted.push('.');
                    dotted.push_str(&seg.text);
                }
                _ => {
                    return Err(self.error(
                        seg.col,
                        format!(
                            "expected a path segment after \"{dotted}.\", found {}",
                            seg.describe()
                        ),
                    ));
                }
            }
        }
        let mut keys: Vec<(Key, usize)> = Vec::new();
        let mut text = dotted.clone();
        while self.peek().tok == Tok::LBracket {
            let open = self.advance();
            let k = self.peek().clone();
            let key = match k.tok {
                Tok::Str(ref s) => Key::Str(s.clone().into_boxed_str()),
                Tok::Int(i) => Key::Int(i),
                _ => {
                    return Err(self.error(
                        k.col,
                        format!(
                            "expected a string key (or an integer index) after \"[\", found {}",
                            k.describe()
                        ),
                    ));
                }
            };
            self.advance();
            let close = self.peek().clone();
            if close.tok != Tok::RBracket {
                return Err(self.error(
                    close.col,
                    format!(
                        "expected \"]\" to close the \"[\" at column {}, found {}",
                        open.col,
                        close.describe()
                    ),
                ));
            }
            self.advance();
            text.push('[');
            text.push_str(&k.text);
            text.push(']');
            keys.push((key, k.col));
        }
        if self.peek().tok == Tok::Dot {
            let t = self.peek().col;
            return Err(self.error(
                t,
                format!("a path cannot continue after its keys: \"{text}.\""),
            ));
        }
        let Some(def) = paths::find(self.ctx, &dotted) else {
            return Err(self.error(col, self.unknown_path(&dotted)));
        };
        let mut keys = keys.into_iter();
        let key = match def.keys {
            Keys::None => {
                if let Some((_, kcol)) = keys.next() {
                    return Err(self.error(
                        kcol - 1,
                        format!("\"{dotted}\" takes no [key]: write just {dotted}"),
                    ));
                }
                String::new()
            }
            Keys::Map => {
                match keys.next() {
                    None => {
                        let end = self.peek().col;
                        let example = if def.base == Base::Request {
                            "x-tenant"
                        } else {
                            "service.name"
                        };
                        return Err(self.error(
                            end,
                            format!(
                                "expected [\"key\"] after \"{dotted}\": {dotted} is read one key \
                             at a time, e.g. {dotted}[\"{example}\"]"
                            ),
                        ));
                    }
                    Some((Key::Int(i), kcol)) => {
                        return Err(self.error(
                        kcol,
                        format!("keys of \"{dotted}\" are strings: write {dotted}[\"key\"], found {i}"),
                    ));
                    }
                    Some((Key::Str(s), _)) if def.base == Base::Request => s.to_ascii_lowercase(),
                    Some((Key::Str(s), _)) => s.into_string(),
                }
            }
            Keys::Optional => String::new(),
        };
        let rest: Vec<Key> = keys.map(|(k, _)| k).collect();
        if def.base == Base::Request && !rest.is_empty() {
            return Err(self.error(col, "request[\"key\"] takes one key"));
        }
        Ok(Path {
            base: def.base,
            key: key.into_boxed_str(),
            keys: rest.into_boxed_slice(),
            text: text.into_boxed_str(),
        })
    }

    fn unknown_path(&self, dotted: &str) -> String {
        let mut hint = String::new();
        if ["trace_id", "span_id", "parent_span_id"]
            .iter()
            .any(|id| dotted.ends_with(id))
        {
            hint = format!(" (ids are read as hex strings: {dotted}.string)");
        } else if let Some(other) = Context::ALL
            .into_iter()
            .find(|c| *c != self.ctx && paths::find(*c, dotted).is_some())
        {
            hint = format!(" (it is a path of the {other} context)");
        }
        format!(
            "unknown path \"{dotted}\" in the {} context{hint}; valid paths: {}",
            self.ctx,
            paths::path_list(self.ctx).join(", ")
        )
    }
}

/// What an error message calls a parsed operand.
fn describe_operand(op: &Operand, start: &Token) -> String {
    match op {
        Operand::Path(p) => format!("path {}", p.text),
        _ => start.describe(),
    }
}

/// The one-line reason of a regex error (the crate's messages span several lines).
fn regex_message(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .unwrap_or(text.lines().next().unwrap_or(""))
        .to_string()
}
