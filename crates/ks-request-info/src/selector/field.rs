//! Field selectors: `metadata.name=foo,status.phase!=Running`.
//!
//! As k8s.io/apimachinery `fields.ParseSelector`: terms are split on
//! unescaped `,`, sorted, and each is split at the first `!=`, `==` or `=`.
//! Values may escape `\`, `,` and `=` with a backslash; any other escape, or
//! an unescaped `,` or `=` left in a value, is an error. Empty terms are
//! skipped. Field names are not validated here; which fields a resource
//! supports is the server's business.

use std::borrow::Cow;

use super::SelectorError;

/// One term of a field selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    /// The field path, e.g. `metadata.name`.
    pub field: String,
    /// `true` for `=` and `==`, `false` for `!=`.
    pub equal: bool,
    /// The unescaped value.
    pub value: String,
}

/// A parsed field selector: the conjunction of its terms, in sorted order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses a selector. The empty string selects everything.
    pub fn parse(selector: &str) -> Result<Self, SelectorError> {
        let mut terms: Vec<&str> = split_terms(selector).collect();
        terms.sort_unstable();
        let mut requirements = Vec::with_capacity(terms.len());
        for term in terms.into_iter().filter(|t| !t.is_empty()) {
            let (field, equal, value) = parse_term(selector, term)?;
            requirements.push(FieldRequirement {
                field: field.to_owned(),
                equal,
                value: value.into_owned(),
            });
        }
        Ok(FieldSelector { requirements })
    }

    /// Checks a selector without building it, reporting the same error as
    /// [`FieldSelector::parse`] (the first bad term in sorted order).
    /// Allocates only on error.
    pub fn validate(selector: &str) -> Result<(), SelectorError> {
        let mut first_bad: Option<&str> = None;
        for term in split_terms(selector).filter(|t| !t.is_empty()) {
            if parse_term(selector, term).is_err() && first_bad.is_none_or(|b| term < b) {
                first_bad = Some(term);
            }
        }
        match first_bad {
            Some(term) => parse_term(selector, term).map(|_| ()),
            None => Ok(()),
        }
    }

    /// The value the selector requires `field` to equal, as Kubernetes'
    /// `RequiresExactMatch`: the first `=`/`==` term on that field in sorted
    /// order. Works on the raw string; returns `Ok(None)` when there is none.
    pub fn exact_match<'s>(
        selector: &'s str,
        field: &str,
    ) -> Result<Option<Cow<'s, str>>, SelectorError> {
        // One pass: the first matching term and the first bad term, both in
        // sorted order; a bad term anywhere makes the selector invalid.
        let mut best: Option<(&str, Cow<'s, str>)> = None;
        let mut first_bad: Option<(&str, SelectorError)> = None;
        for term in split_terms(selector).filter(|t| !t.is_empty()) {
            match parse_term(selector, term) {
                Ok((f, true, value)) if f == field => {
                    if best.as_ref().is_none_or(|(t, _)| term < *t) {
                        best = Some((term, value));
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    if first_bad.as_ref().is_none_or(|(t, _)| term < *t) {
                        first_bad = Some((term, e));
                    }
                }
            }
        }
        match first_bad {
            Some((_, e)) => Err(e),
            None => Ok(best.map(|(_, v)| v)),
        }
    }

    /// The terms, in sorted order.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// Whether the selector has no terms (selects everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether the fields given by `get` satisfy every term; a missing field
    /// reads as the empty string, as in Kubernetes' `fields.Set`.
    pub fn matches<'f>(&self, get: impl Fn(&str) -> Option<&'f str>) -> bool {
        self.requirements
            .iter()
            .all(|r| (get(&r.field).unwrap_or("") == r.value) == r.equal)
    }
}

/// Splits on `,` not preceded by an escaping backslash.
fn split_terms(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = if s.is_empty() { None } else { Some(s) };
    std::iter::from_fn(move || {
        let current = rest?;
        let mut escaped = false;
        for (i, b) in current.bytes().enumerate() {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b',' => {
                    rest = Some(&current[i + 1..]);
                    return Some(&current[..i]);
                }
                _ => {}
            }
        }
        rest = None;
        Some(current)
    })
}

/// `(field, is_equality, unescaped value)`.
fn parse_term<'s>(
    selector: &str,
    term: &'s str,
) -> Result<(&'s str, bool, Cow<'s, str>), SelectorError> {
    let Some((i, op)) = term.char_indices().find_map(|(i, _)| {
        let rest = &term[i..];
        ["!=", "==", "="]
            .into_iter()
            .find(|op| rest.starts_with(op))
            .map(|op| (i, op))
    }) else {
        return Err(SelectorError::field(format!(
            "invalid selector: '{selector}'; can't understand '{term}'"
        )));
    };
    let value = unescape_value(&term[i + op.len()..])?;
    Ok((&term[..i], op != "!=", value))
}

fn unescape_value(s: &str) -> Result<Cow<'_, str>, SelectorError> {
    if !s.contains(['\\', ',', '=']) {
        return Ok(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                Some(other) => {
                    return Err(SelectorError::field(format!(
                        "invalid field selector: invalid escape sequence: \\{other}"
                    )));
                }
                None => {
                    return Err(SelectorError::field(
                        "invalid field selector: invalid escape sequence: \\",
                    ));
                }
            },
            // Go formats the rune with %v, which prints its code point.
            ',' | '=' => {
                return Err(SelectorError::field(format!(
                    "invalid field selector: unescaped character in value: {}",
                    c as u32
                )));
            }
            c => out.push(c),
        }
    }
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(field: &str, equal: bool, value: &str) -> FieldRequirement {
        FieldRequirement {
            field: field.to_owned(),
            equal,
            value: value.to_owned(),
        }
    }

    #[test]
    fn parses() {
        let cases: &[(&str, Vec<FieldRequirement>)] = &[
            ("", vec![]),
            (",", vec![]),
            ("metadata.name=a", vec![req("metadata.name", true, "a")]),
            ("metadata.name==a", vec![req("metadata.name", true, "a")]),
            ("a!=b", vec![req("a", false, "b")]),
            ("a=", vec![req("a", true, "")]),
            ("=b", vec![req("", true, "b")]),
            ("a=!b", vec![req("a", true, "!b")]),
            ("x=1,a=2", vec![req("a", true, "2"), req("x", true, "1")]),
            (r"a=x\,y\=z\\", vec![req("a", true, r"x,y=z\")]),
            (r"a\,b=c", vec![req(r"a\,b", true, "c")]),
        ];
        for (input, want) in cases {
            let got = FieldSelector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(got.requirements(), &want[..], "{input:?}");
            assert!(FieldSelector::validate(input).is_ok());
        }
    }

    #[test]
    fn errors_match_kubernetes() {
        let cases = [
            ("*bar", "invalid selector: '*bar'; can't understand '*bar'"),
            ("b=1,a", "invalid selector: 'b=1,a'; can't understand 'a'"),
            (
                "a=b=c",
                "invalid field selector: unescaped character in value: 61",
            ),
            (
                "a!==b",
                "invalid field selector: unescaped character in value: 61",
            ),
            (
                r"a=b\x",
                r"invalid field selector: invalid escape sequence: \x",
            ),
            (
                r"a=b\",
                r"invalid field selector: invalid escape sequence: \",
            ),
            // The first bad term in sorted order is reported.
            ("z,y", "invalid selector: 'z,y'; can't understand 'y'"),
        ];
        for (input, want) in cases {
            let err = FieldSelector::parse(input).expect_err(input);
            assert_eq!(err.to_string(), want, "{input:?}");
            assert_eq!(
                FieldSelector::validate(input).unwrap_err(),
                err,
                "{input:?}"
            );
        }
    }

    #[test]
    fn exact_match_and_matching() {
        let m = |s| FieldSelector::exact_match(s, "metadata.name").unwrap();
        assert_eq!(m("metadata.name=foo").as_deref(), Some("foo"));
        assert_eq!(m("metadata.name==foo").as_deref(), Some("foo"));
        assert_eq!(m("metadata.name!=foo"), None);
        assert_eq!(m("metadata.namespace=foo"), None);
        assert_eq!(m("metadata.name=b,metadata.name=a").as_deref(), Some("a"));
        assert_eq!(m(r"metadata.name=a\,b").as_deref(), Some("a,b"));
        assert!(FieldSelector::exact_match("junk", "metadata.name").is_err());

        let s = FieldSelector::parse("metadata.name=a,metadata.namespace!=b").unwrap();
        let get = |f: &str| match f {
            "metadata.name" => Some("a"),
            "metadata.namespace" => Some("c"),
            _ => None,
        };
        assert!(s.matches(get));
        assert!(!s.matches(|_| None));
    }
}
