//! The `Sec-WebSocket-Extensions` value grammar (RFC 6455 §9.1):
//!
//! ```text
//! extension-list = 1#extension
//! extension      = extension-token *( ";" extension-param )
//! extension-param = token [ "=" (token | quoted-string) ]
//! ```
//!
//! A quoted value must itself be a token once unescaped (§9.1). Names are
//! compared case-insensitively by the caller; values are kept as sent.

use http::HeaderMap;
use http::header::SEC_WEBSOCKET_EXTENSIONS;

/// The most extensions (offers) read from one request or response: enough
/// for any real client (browsers send one), small enough to bound the work.
pub const MAX_EXTENSIONS: usize = 16;

/// The most parameters one extension may carry.
pub const MAX_EXTENSION_PARAMS: usize = 16;

/// One element of an extension list: a name and its parameters, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The extension token, such as `permessage-deflate`.
    pub name: String,
    /// Each parameter's name and, if it had one, its (unquoted) value.
    pub params: Vec<(String, Option<String>)>,
}

/// Why a `Sec-WebSocket-Extensions` value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionSyntaxError {
    /// The value is not valid UTF-8 text.
    #[error("Sec-WebSocket-Extensions is not text")]
    NotText,
    /// The value breaks the §9.1 grammar at this byte offset.
    #[error("malformed Sec-WebSocket-Extensions at byte {0}")]
    Malformed(usize),
    /// More than [`MAX_EXTENSIONS`] extensions, or more than
    /// [`MAX_EXTENSION_PARAMS`] parameters on one.
    #[error("too many extensions or extension parameters")]
    TooMany,
}

/// Reads every `Sec-WebSocket-Extensions` field of `headers`, in order
/// (several fields form one list, RFC 9110 §5.3).
pub fn parse_extensions(headers: &HeaderMap) -> Result<Vec<Extension>, ExtensionSyntaxError> {
    let mut out = Vec::new();
    for value in headers.get_all(SEC_WEBSOCKET_EXTENSIONS) {
        let text = value.to_str().map_err(|_| ExtensionSyntaxError::NotText)?;
        parse_list(text, &mut out)?;
    }
    Ok(out)
}

/// Parses one field value, appending its extensions to `out`.
pub fn parse_list(text: &str, out: &mut Vec<Extension>) -> Result<(), ExtensionSyntaxError> {
    let mut p = Cursor {
        s: text.as_bytes(),
        at: 0,
    };
    loop {
        p.skip_ws();
        if p.eat(b',') {
            // Empty list elements are allowed and ignored (RFC 9110 §5.6.1).
            continue;
        }
        if p.done() {
            return Ok(());
        }
        if out.len() == MAX_EXTENSIONS {
            return Err(ExtensionSyntaxError::TooMany);
        }
        let name = p.token()?;
        let mut params = Vec::new();
        loop {
            p.skip_ws();
            if !p.eat(b';') {
                break;
            }
            p.skip_ws();
            let key = p.token()?;
            p.skip_ws();
            let value = if p.eat(b'=') {
                p.skip_ws();
                Some(p.value()?)
            } else {
                None
            };
            if params.len() == MAX_EXTENSION_PARAMS {
                return Err(ExtensionSyntaxError::TooMany);
            }
            params.push((key, value));
        }
        out.push(Extension { name, params });
        p.skip_ws();
        if !p.done() && !p.eat(b',') {
            return Err(p.malformed());
        }
    }
}

/// Formats extensions as one `Sec-WebSocket-Extensions` value. Values are
/// written bare: every value this crate writes is a token.
pub fn format_extensions(extensions: &[Extension]) -> String {
    let mut s = String::new();
    for (i, e) in extensions.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&e.name);
        for (k, v) in &e.params {
            s.push_str("; ");
            s.push_str(k);
            if let Some(v) = v {
                s.push('=');
                s.push_str(v);
            }
        }
    }
    s
}

struct Cursor<'a> {
    s: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn done(&self) -> bool {
        self.at == self.s.len()
    }

    fn malformed(&self) -> ExtensionSyntaxError {
        ExtensionSyntaxError::Malformed(self.at)
    }

    fn skip_ws(&mut self) {
        while matches!(self.s.get(self.at), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.s.get(self.at) == Some(&b) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn token(&mut self) -> Result<String, ExtensionSyntaxError> {
        let start = self.at;
        while self.s.get(self.at).is_some_and(|&b| is_tchar(b)) {
            self.at += 1;
        }
        if self.at == start {
            return Err(self.malformed());
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.at]).into_owned())
    }

    /// A token, or a quoted string whose unescaped content is a token.
    fn value(&mut self) -> Result<String, ExtensionSyntaxError> {
        if !self.eat(b'"') {
            return self.token();
        }
        let start = self.at;
        let mut v = String::new();
        loop {
            match self.s.get(self.at) {
                None => return Err(self.malformed()),
                Some(b'"') => break,
                Some(b'\\') => {
                    self.at += 1;
                    match self.s.get(self.at) {
                        Some(&b) if is_tchar(b) => v.push(char::from(b)),
                        _ => return Err(self.malformed()),
                    }
                }
                Some(&b) if is_tchar(b) => v.push(char::from(b)),
                Some(_) => return Err(self.malformed()),
            }
            self.at += 1;
        }
        self.at += 1;
        if v.is_empty() {
            return Err(ExtensionSyntaxError::Malformed(start));
        }
        Ok(v)
    }
}

/// RFC 9110 §5.6.2 `tchar`: the one definition in this crate (subprotocol
/// names use it too).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<Extension>, ExtensionSyntaxError> {
        let mut out = Vec::new();
        parse_list(s, &mut out).map(|()| out)
    }

    fn ext(name: &str, params: &[(&str, Option<&str>)]) -> Extension {
        Extension {
            name: name.into(),
            params: params
                .iter()
                .map(|(k, v)| ((*k).into(), v.map(Into::into)))
                .collect(),
        }
    }

    #[test]
    fn reads_what_browsers_and_libraries_send() {
        assert_eq!(
            parse("permessage-deflate; client_max_window_bits").unwrap(),
            vec![ext(
                "permessage-deflate",
                &[("client_max_window_bits", None)]
            )]
        );
        assert_eq!(
            parse(
                "permessage-deflate; server_max_window_bits=10 ,\tpermessage-deflate;client_max_window_bits=\"15\", x-foo"
            )
            .unwrap(),
            vec![
                ext("permessage-deflate", &[("server_max_window_bits", Some("10"))]),
                ext("permessage-deflate", &[("client_max_window_bits", Some("15"))]),
                ext("x-foo", &[]),
            ]
        );
        assert_eq!(parse(" , ,").unwrap(), vec![]);
        assert_eq!(
            parse("a;b=\"\\c\"").unwrap(),
            vec![ext("a", &[("b", Some("c"))])]
        );
    }

    #[test]
    fn rejects_what_the_grammar_forbids() {
        for bad in [
            "permessage-deflate;",
            "permessage-deflate; =1",
            "permessage-deflate; a=",
            "permessage-deflate; a=\"1",
            "permessage-deflate; a=\"1 2\"",
            "permessage-deflate; a=\"\"",
            "permessage-deflate; a=\"x,y\"",
            "permessage-deflate a",
            "perm=essage",
            ";a",
            "a; b=1 2",
        ] {
            assert!(
                matches!(parse(bad), Err(ExtensionSyntaxError::Malformed(_))),
                "{bad:?} was accepted as {:?}",
                parse(bad)
            );
        }
    }

    #[test]
    fn bounds_the_work() {
        let many = vec!["a"; MAX_EXTENSIONS + 1].join(",");
        assert_eq!(parse(&many), Err(ExtensionSyntaxError::TooMany));
        assert_eq!(
            parse(&vec!["a"; MAX_EXTENSIONS].join(",")).unwrap().len(),
            MAX_EXTENSIONS
        );
        let params = format!("a{}", ";p".repeat(MAX_EXTENSION_PARAMS + 1));
        assert_eq!(parse(&params), Err(ExtensionSyntaxError::TooMany));
    }

    #[test]
    fn formats_what_it_parses() {
        let list = vec![
            ext(
                "permessage-deflate",
                &[
                    ("server_no_context_takeover", None),
                    ("client_max_window_bits", Some("12")),
                ],
            ),
            ext("x", &[]),
        ];
        let text = format_extensions(&list);
        assert_eq!(
            text,
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=12, x"
        );
        assert_eq!(parse(&text).unwrap(), list);
    }

    #[test]
    fn never_panics_on_any_prefix() {
        let s = "permessage-deflate; a=\"b\\c\"; d , e;f=g";
        for i in 0..=s.len() {
            let _ = parse(&s[..i]);
        }
    }
}
