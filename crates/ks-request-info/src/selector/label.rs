//! Label selectors: `app=web,tier in (a,b),!canary,version>3`.
//!
//! The grammar is k8s.io/apimachinery `labels.Parse`:
//!
//! ```text
//! selector    ::= requirement | requirement "," selector
//! requirement ::= ["!"] KEY [ set-based | exact-match ]
//! set-based   ::= ("in" | "notin") "(" VALUE ("," VALUE)* ")"
//! exact-match ::= ("=" | "==" | "!=" | ">" | "<") VALUE
//! ```
//!
//! Whitespace (space, tab, CR, LF) separates tokens; `in` and `notin` are
//! keywords only in operator position; a NUL byte ends the input where a
//! token starts and is skipped right after a token, as in Go's lexer. Keys are qualified names with an optional DNS subdomain prefix;
//! values are label values (empty allowed).

use std::collections::BTreeMap;

use super::SelectorError;
use super::validation::{
    go_quote, invalid_value, is_valid_label_key, is_valid_label_value, label_key_errors,
    label_value_errors,
};

/// A label selector operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `key`
    Exists,
    /// `!key`
    DoesNotExist,
    /// `key=value`
    Equals,
    /// `key==value`
    DoubleEquals,
    /// `key!=value`
    NotEquals,
    /// `key in (a,b)`
    In,
    /// `key notin (a,b)`
    NotIn,
    /// `key>value` (integers)
    GreaterThan,
    /// `key<value` (integers)
    LessThan,
}

impl Operator {
    /// The operator a `metav1.LabelSelectorRequirement` names (`In`,
    /// `NotIn`, `Exists`, `DoesNotExist`, case-sensitive), as
    /// `metav1.LabelSelectorAsSelector` maps it; `None` for anything else.
    pub fn from_label_selector_operator(operator: &str) -> Option<Operator> {
        match operator {
            "In" => Some(Operator::In),
            "NotIn" => Some(Operator::NotIn),
            "Exists" => Some(Operator::Exists),
            "DoesNotExist" => Some(Operator::DoesNotExist),
            _ => None,
        }
    }
}

/// One requirement of a label selector, with its values sorted and deduplicated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRequirement {
    /// The label key.
    pub key: String,
    /// The operator.
    pub operator: Operator,
    /// The values, sorted and without duplicates; empty for `Exists` and
    /// `DoesNotExist`.
    pub values: Vec<String>,
}

impl LabelRequirement {
    /// Builds a requirement as Kubernetes' `labels.NewRequirement` does:
    /// the key must be a label key, `In` and `NotIn` need at least one
    /// value, `=`, `==`, `!=`, `>` and `<` exactly one (an integer for `>`
    /// and `<`), `Exists` and `DoesNotExist` none, and every value must be
    /// a label value. The values are sorted and deduplicated.
    ///
    /// ```
    /// use ks_request_info::selector::{LabelRequirement, LabelSelector, Operator};
    ///
    /// let tier = LabelRequirement::new("tier", Operator::In, vec!["web".into(), "db".into()])?;
    /// let selector = LabelSelector::from_requirements([tier]);
    /// assert_eq!(selector, LabelSelector::parse("tier in (db,web)")?);
    /// assert!(LabelRequirement::new("tier", Operator::In, vec![]).is_err());
    /// # Ok::<(), ks_request_info::SelectorError>(())
    /// ```
    pub fn new(
        key: &str,
        operator: Operator,
        mut values: Vec<String>,
    ) -> Result<Self, SelectorError> {
        let mut errs = Vec::new();
        if !is_valid_label_key(key) {
            // Go validates the key with a nil field path, printed <nil>.
            errs.push(invalid_value(
                "<nil>",
                key,
                &label_key_errors(key).join("; "),
            ));
        }
        let count_problem = match operator {
            Operator::In | Operator::NotIn if values.is_empty() => {
                Some("for 'in', 'notin' operators, values set can't be empty")
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals
                if values.len() != 1 =>
            {
                Some("exact-match compatibility requires one single value")
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                Some("values set must be empty for exists and does not exist")
            }
            Operator::GreaterThan | Operator::LessThan if values.len() != 1 => {
                Some("for 'Gt', 'Lt' operators, exactly one value is required")
            }
            _ => None,
        };
        if let Some(problem) = count_problem {
            errs.push(format!(
                "values: Invalid value: {}: {problem}",
                go_string_slice(&values)
            ));
        }
        errs.extend(value_errors(key, operator, &values));
        aggregate(errs).map_err(SelectorError::label)?;
        values.sort_unstable();
        values.dedup();
        Ok(LabelRequirement {
            key: key.to_owned(),
            operator,
            values,
        })
    }

    /// Whether a set of labels satisfies this requirement, with Kubernetes'
    /// semantics: `!=` and `notin` hold when the label is absent; `>` and `<`
    /// need the label's value to be an integer.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key).map(String::as_str);
        match self.operator {
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::Equals | Operator::DoubleEquals | Operator::In => {
                value.is_some_and(|v| self.values.iter().any(|x| x == v))
            }
            Operator::NotEquals | Operator::NotIn => {
                value.is_none_or(|v| !self.values.iter().any(|x| x == v))
            }
            Operator::GreaterThan | Operator::LessThan => {
                let Some(have) = value.and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                self.values
                    .iter()
                    .filter_map(|x| x.parse::<i64>().ok())
                    .any(|want| {
                        if self.operator == Operator::GreaterThan {
                            have > want
                        } else {
                            have < want
                        }
                    })
            }
        }
    }
}

/// A parsed label selector: the conjunction of its requirements, sorted by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<LabelRequirement>,
}

impl LabelSelector {
    /// Parses a selector. The empty string selects everything.
    pub fn parse(selector: &str) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        parse_requirements(selector, |key, operator, values| {
            requirements.push(LabelRequirement {
                key: key.to_owned(),
                operator,
                values: values.iter().map(|v| (*v).to_owned()).collect(),
            })
        })?;
        // Stable, like Go's sort.Sort on ByKey for equal keys in practice.
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements })
    }

    /// The selector of `requirements` (their conjunction), sorted by key as
    /// [`LabelSelector::parse`] sorts them. No requirements select
    /// everything.
    pub fn from_requirements(requirements: impl IntoIterator<Item = LabelRequirement>) -> Self {
        let mut requirements: Vec<LabelRequirement> = requirements.into_iter().collect();
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        LabelSelector { requirements }
    }

    /// Checks a selector without building it. Allocates only for set-based
    /// requirements and on error.
    pub fn validate(selector: &str) -> Result<(), SelectorError> {
        parse_requirements(selector, |_, _, _| {})
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[LabelRequirement] {
        &self.requirements
    }

    /// Whether the selector has no requirements (selects everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether `labels` satisfies every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// The single value the selector requires for `key` (`=`, `==`, or `in`
    /// with one value), as Kubernetes' `RequiresExactMatch`.
    pub fn requires_exact_match(&self, key: &str) -> Option<&str> {
        let r = self.requirements.iter().find(|r| r.key == key)?;
        match r.operator {
            Operator::Equals | Operator::DoubleEquals | Operator::In if r.values.len() == 1 => {
                Some(r.values[0].as_str())
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    End,
    ClosedPar,
    Comma,
    Bang,
    DoubleEquals,
    Equals,
    Greater,
    Ident,
    In,
    Less,
    NotEquals,
    NotIn,
    OpenPar,
}

struct Lexer<'a> {
    s: &'a str,
    pos: usize,
    peeked: Option<(Tok, &'a str)>,
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

impl<'a> Lexer<'a> {
    fn new(s: &'a str) -> Self {
        Lexer {
            s,
            pos: 0,
            peeked: None,
        }
    }

    fn lex(&mut self) -> (Tok, &'a str) {
        let b = self.s.as_bytes();
        while self.pos < b.len() && is_whitespace(b[self.pos]) {
            self.pos += 1;
        }
        let start = self.pos;
        // Go's lexer reads a NUL byte like the end of the input: where a
        // token starts it ends the selector; after a token it is consumed and
        // lexing goes on behind it.
        let c = match b.get(start) {
            None | Some(0) => return (Tok::End, ""),
            Some(&c) => c,
        };
        if is_special(c) {
            let two = b.get(start + 1).copied();
            let (tok, len) = match (c, two) {
                (b'!', Some(b'=')) => (Tok::NotEquals, 2),
                (b'=', Some(b'=')) => (Tok::DoubleEquals, 2),
                (b'!', _) => (Tok::Bang, 1),
                (b'=', _) => (Tok::Equals, 1),
                (b'(', _) => (Tok::OpenPar, 1),
                (b')', _) => (Tok::ClosedPar, 1),
                (b',', _) => (Tok::Comma, 1),
                (b'>', _) => (Tok::Greater, 1),
                _ => (Tok::Less, 1),
            };
            self.pos += len;
            self.skip_nul();
            return (tok, &self.s[start..start + len]);
        }
        while self.pos < b.len()
            && !is_special(b[self.pos])
            && !is_whitespace(b[self.pos])
            && b[self.pos] != 0
        {
            self.pos += 1;
        }
        let lit = &self.s[start..self.pos];
        self.skip_nul();
        let tok = match lit {
            "in" => Tok::In,
            "notin" => Tok::NotIn,
            _ => Tok::Ident,
        };
        (tok, lit)
    }

    /// Consumes a NUL right after a token, as Go's `read` does.
    fn skip_nul(&mut self) {
        if self.s.as_bytes().get(self.pos) == Some(&0) {
            self.pos += 1;
        }
    }

    /// Next token; in value context `in` and `notin` are identifiers.
    fn next(&mut self, values: bool) -> (Tok, &'a str) {
        let (tok, lit) = self.peeked.take().unwrap_or_else(|| self.lex());
        (as_context(tok, values), lit)
    }

    fn peek(&mut self, values: bool) -> (Tok, &'a str) {
        let t = match self.peeked {
            Some(t) => t,
            None => {
                let t = self.lex();
                self.peeked = Some(t);
                t
            }
        };
        (as_context(t.0, values), t.1)
    }
}

fn as_context(tok: Tok, values: bool) -> Tok {
    match tok {
        Tok::In | Tok::NotIn if values => Tok::Ident,
        t => t,
    }
}

const VALUES: bool = true;
const KEY_AND_OPERATOR: bool = false;

/// Drives the parser, handing each requirement (key, operator, sorted and
/// deduplicated values) to `emit`.
fn parse_requirements<'a>(
    selector: &'a str,
    mut emit: impl FnMut(&'a str, Operator, &[&'a str]),
) -> Result<(), SelectorError> {
    let mut lx = Lexer::new(selector);
    loop {
        let (tok, lit) = lx.peek(VALUES);
        match tok {
            Tok::Ident | Tok::Bang => {
                parse_requirement(&mut lx, &mut emit).map_err(|e| {
                    SelectorError::label(format!("unable to parse requirement: {e}"))
                })?;
                let (t, l) = lx.next(VALUES);
                match t {
                    Tok::End => return Ok(()),
                    Tok::Comma => {
                        let (t2, l2) = lx.peek(VALUES);
                        if t2 != Tok::Ident && t2 != Tok::Bang {
                            return Err(SelectorError::label(format!(
                                "found '{l2}', expected: identifier after ','"
                            )));
                        }
                    }
                    _ => {
                        return Err(SelectorError::label(format!(
                            "found '{l}', expected: ',' or 'end of string'"
                        )));
                    }
                }
            }
            Tok::End => return Ok(()),
            _ => {
                return Err(SelectorError::label(format!(
                    "found '{lit}', expected: !, identifier, or 'end of string'"
                )));
            }
        }
    }
}

/// One requirement; the error text is what follows "unable to parse
/// requirement: " (or, for syntax errors, the whole message, as Go wraps
/// both alike).
fn parse_requirement<'a>(
    lx: &mut Lexer<'a>,
    emit: &mut impl FnMut(&'a str, Operator, &[&'a str]),
) -> Result<(), String> {
    let mut operator = None;
    let (mut tok, mut key) = lx.next(VALUES);
    if tok == Tok::Bang {
        operator = Some(Operator::DoesNotExist);
        (tok, key) = lx.next(VALUES);
    }
    if tok != Tok::Ident {
        return Err(format!("found '{key}', expected: identifier"));
    }
    if !is_valid_label_key(key) {
        // The parser validates with a nil field path, which Go prints as <nil>.
        return Err(invalid_value(
            "<nil>",
            key,
            &label_key_errors(key).join("; "),
        ));
    }
    if matches!(lx.peek(VALUES).0, Tok::End | Tok::Comma) && operator.is_none() {
        operator = Some(Operator::Exists);
    }
    if let Some(op) = operator {
        emit(key, op, &[]);
        return Ok(());
    }
    let (tok, lit) = lx.next(KEY_AND_OPERATOR);
    let op = match tok {
        Tok::In => Operator::In,
        Tok::Equals => Operator::Equals,
        Tok::DoubleEquals => Operator::DoubleEquals,
        Tok::Greater => Operator::GreaterThan,
        Tok::Less => Operator::LessThan,
        Tok::NotIn => Operator::NotIn,
        Tok::NotEquals => Operator::NotEquals,
        _ => {
            return Err(format!(
                "found '{lit}', expected: in, notin, =, ==, !=, gt, lt"
            ));
        }
    };
    let mut single = [""];
    let mut set = Vec::new();
    let values: &mut [&'a str] = match op {
        Operator::In | Operator::NotIn => {
            parse_values(lx, &mut set)?;
            set.sort_unstable();
            set.dedup();
            &mut set
        }
        _ => {
            single[0] = parse_exact_value(lx)?;
            &mut single
        }
    };
    check_values(key, op, values)?;
    emit(key, op, values);
    Ok(())
}

fn parse_values<'a>(lx: &mut Lexer<'a>, set: &mut Vec<&'a str>) -> Result<(), String> {
    let (tok, lit) = lx.next(VALUES);
    if tok != Tok::OpenPar {
        return Err(format!("found '{lit}' expected: '('"));
    }
    let (tok, lit) = lx.peek(VALUES);
    match tok {
        Tok::Ident | Tok::Comma => {
            parse_identifiers(lx, set)?;
            // parse_identifiers only returns Ok with ')' next.
            lx.next(VALUES);
            Ok(())
        }
        Tok::ClosedPar => {
            lx.next(VALUES);
            set.push("");
            Ok(())
        }
        _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
    }
}

fn parse_identifiers<'a>(lx: &mut Lexer<'a>, set: &mut Vec<&'a str>) -> Result<(), String> {
    loop {
        let (tok, lit) = lx.next(VALUES);
        match tok {
            Tok::Ident => {
                set.push(lit);
                let (t2, l2) = lx.peek(VALUES);
                match t2 {
                    Tok::Comma => continue,
                    Tok::ClosedPar => return Ok(()),
                    _ => return Err(format!("found '{l2}', expected: ',' or ')'")),
                }
            }
            Tok::Comma => {
                if set.is_empty() {
                    set.push("");
                }
                match lx.peek(VALUES).0 {
                    Tok::ClosedPar => {
                        set.push("");
                        return Ok(());
                    }
                    Tok::Comma => set.push(""),
                    _ => {}
                }
            }
            _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
        }
    }
}

fn parse_exact_value<'a>(lx: &mut Lexer<'a>) -> Result<&'a str, String> {
    if matches!(lx.peek(VALUES).0, Tok::End | Tok::Comma) {
        return Ok("");
    }
    let (tok, lit) = lx.next(VALUES);
    if tok == Tok::Ident {
        Ok(lit)
    } else {
        Err(format!("found '{lit}', expected: identifier"))
    }
}

/// `NewRequirement`'s value checks, aggregated as Go's `ToAggregate` prints them.
fn check_values(key: &str, op: Operator, values: &[&str]) -> Result<(), String> {
    let numeric = matches!(op, Operator::GreaterThan | Operator::LessThan);
    let all_ok = values
        .iter()
        .all(|v| is_valid_label_value(v) && (!numeric || v.parse::<i64>().is_ok()));
    if all_ok {
        return Ok(());
    }
    aggregate(value_errors(key, op, values))
}

/// `NewRequirement`'s value problems: integers for `>` and `<`, then label
/// values, each as `field.Invalid(...).Error()`.
fn value_errors(key: &str, op: Operator, values: &[impl AsRef<str>]) -> Vec<String> {
    let mut errs: Vec<String> = Vec::new();
    if matches!(op, Operator::GreaterThan | Operator::LessThan) {
        for (i, v) in values.iter().map(AsRef::as_ref).enumerate() {
            if v.parse::<i64>().is_err() {
                errs.push(invalid_value(
                    &format!("values[{i}]"),
                    v,
                    "for 'Gt', 'Lt' operators, the value must be an integer",
                ));
            }
        }
    }
    for (i, v) in values.iter().map(AsRef::as_ref).enumerate() {
        let problems = label_value_errors(v);
        if !problems.is_empty() {
            errs.push(invalid_value(
                &format!("values[{i}][{key}]"),
                v,
                &problems.join("; "),
            ));
        }
    }
    errs
}

/// Go's `ToAggregate(...).Error()`: nothing is `Ok`, one error is itself,
/// more are bracketed and comma-separated (repeats dropped).
fn aggregate(mut errs: Vec<String>) -> Result<(), String> {
    errs.dedup();
    match errs.len() {
        0 => Ok(()),
        1 => Err(errs.remove(0)),
        _ => Err(format!("[{}]", errs.join(", "))),
    }
}

/// Go's `%#v` of a `[]string`, e.g. `[]string{"a", "b"}`.
fn go_string_slice(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| go_quote(v)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn req(key: &str, operator: Operator, values: &[&str]) -> LabelRequirement {
        LabelRequirement {
            key: key.to_owned(),
            operator,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    #[test]
    fn parses_the_grammar() {
        use Operator::*;
        let cases: &[(&str, Vec<LabelRequirement>)] = &[
            ("", vec![]),
            ("   ", vec![]),
            ("x", vec![req("x", Exists, &[])]),
            ("!x", vec![req("x", DoesNotExist, &[])]),
            ("x=a", vec![req("x", Equals, &["a"])]),
            ("x==a", vec![req("x", DoubleEquals, &["a"])]),
            ("x!=a", vec![req("x", NotEquals, &["a"])]),
            ("x=", vec![req("x", Equals, &[""])]),
            ("x>1", vec![req("x", GreaterThan, &["1"])]),
            ("x<10", vec![req("x", LessThan, &["10"])]),
            (" x in ( b , a , a ) ", vec![req("x", In, &["a", "b"])]),
            ("x notin ()", vec![req("x", NotIn, &[""])]),
            ("x in (a,,b)", vec![req("x", In, &["", "a", "b"])]),
            ("x in (,a)", vec![req("x", In, &["", "a"])]),
            ("x in (a,)", vec![req("x", In, &["", "a"])]),
            ("x in (in,notin)", vec![req("x", In, &["in", "notin"])]),
            (
                "z,y=b,x in (a)",
                vec![
                    req("x", In, &["a"]),
                    req("y", Equals, &["b"]),
                    req("z", Exists, &[]),
                ],
            ),
            (
                "kubesphere.io/workspace=ws1",
                vec![req("kubesphere.io/workspace", Equals, &["ws1"])],
            ),
            // NUL: the end where a token starts, consumed after one.
            ("x=a \0,junk((", vec![req("x", Equals, &["a"])]),
            (
                "x=a\0,y=b",
                vec![req("x", Equals, &["a"]), req("y", Equals, &["b"])],
            ),
            ("x=\0a", vec![req("x", Equals, &["a"])]),
            ("!\0x", vec![req("x", DoesNotExist, &[])]),
        ];
        for (input, want) in cases {
            let got = LabelSelector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(got.requirements(), &want[..], "{input:?}");
            assert!(LabelSelector::validate(input).is_ok());
        }
    }

    #[test]
    fn error_messages_match_kubernetes() {
        let cases = [
            ("x=a,", "found '', expected: identifier after ','"),
            ("x=a b", "found 'b', expected: ',' or 'end of string'"),
            (
                "=a",
                "found '=', expected: !, identifier, or 'end of string'",
            ),
            (
                "x in a",
                "unable to parse requirement: found 'a' expected: '('",
            ),
            (
                "x in (a",
                "unable to parse requirement: found '', expected: ',' or ')'",
            ),
            (
                "x in (=)",
                "unable to parse requirement: found '=', expected: ',', ')' or identifier",
            ),
            (
                "x in (a,=)",
                "unable to parse requirement: found '=', expected: ',', or identifier",
            ),
            (
                "x (",
                "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt",
            ),
            (
                "x=(",
                "unable to parse requirement: found '(', expected: identifier",
            ),
            (
                "!=",
                "found '!=', expected: !, identifier, or 'end of string'",
            ),
            (
                "!",
                "unable to parse requirement: found '', expected: identifier",
            ),
            (
                "x<-1",
                "unable to parse requirement: values[0][x]: Invalid value: \"-1\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            ),
            ("!x=a", "found '=', expected: ',' or 'end of string'"),
            (
                "x>a",
                "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer",
            ),
        ];
        for (input, want) in cases {
            let err = LabelSelector::parse(input).expect_err(input);
            assert_eq!(err.to_string(), want, "{input:?}");
            assert_eq!(LabelSelector::validate(input).unwrap_err(), err);
        }
    }

    #[test]
    fn invalid_key_and_value_messages() {
        let err = LabelSelector::parse("a b=c").unwrap_err().to_string();
        assert_eq!(
            err,
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
        );
        let err = LabelSelector::parse("-x=a").unwrap_err().to_string();
        assert!(
            err.starts_with("unable to parse requirement: <nil>: Invalid value: \"-x\": name part must consist of alphanumeric characters"),
            "{err}"
        );
        let err = LabelSelector::parse("x=a/b").unwrap_err().to_string();
        assert!(
            err.starts_with("unable to parse requirement: values[0][x]: Invalid value: \"a/b\": a valid label must be an empty string"),
            "{err}"
        );
        let err = LabelSelector::parse("x in (-a,-b)")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("unable to parse requirement: [values[0][x]: Invalid value: \"-a\""),
            "{err}"
        );
        assert!(
            err.contains(", values[1][x]: Invalid value: \"-b\""),
            "{err}"
        );
    }

    #[test]
    fn matching() {
        let l = labels(&[("app", "web"), ("n", "5")]);
        let yes = [
            "app",
            "app=web",
            "app==web",
            "app in (web,db)",
            "app!=db",
            "x!=a",
            "x notin (a)",
            "!x",
            "n>4",
            "n<6",
            "app,n>1",
            "",
        ];
        let no = [
            "x",
            "!app",
            "app=db",
            "app!=web",
            "app notin (web)",
            "n>5",
            "n<5",
            "app>1",
            "app=web,x",
        ];
        for s in yes {
            assert!(LabelSelector::parse(s).unwrap().matches(&l), "{s}");
        }
        for s in no {
            assert!(!LabelSelector::parse(s).unwrap().matches(&l), "{s}");
        }
    }

    #[test]
    fn exact_match() {
        let s = LabelSelector::parse("a=1,b in (2),c in (3,4),d!=5").unwrap();
        assert_eq!(s.requires_exact_match("a"), Some("1"));
        assert_eq!(s.requires_exact_match("b"), Some("2"));
        assert_eq!(s.requires_exact_match("c"), None);
        assert_eq!(s.requires_exact_match("d"), None);
        assert_eq!(s.requires_exact_match("e"), None);
    }

    #[test]
    fn requirements_built_as_new_requirement_builds_them() {
        use Operator::*;
        let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        /// The selector text the requirement equals, or the error.
        type Want = Result<&'static str, &'static str>;
        let cases: &[(&str, Operator, &[&str], Want)] = &[
            ("x", In, &["b", "a", "b"], Ok("x in (a,b)")),
            ("x", NotIn, &["a"], Ok("x notin (a)")),
            ("x", Exists, &[], Ok("x")),
            ("x", DoesNotExist, &[], Ok("!x")),
            ("x", Equals, &["a"], Ok("x=a")),
            ("x", NotEquals, &[""], Ok("x!=")),
            ("x", GreaterThan, &["3"], Ok("x>3")),
            (
                "kubesphere.io/workspace",
                Equals,
                &["ws"],
                Ok("kubesphere.io/workspace=ws"),
            ),
            (
                "x",
                In,
                &[],
                Err(
                    "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty",
                ),
            ),
            (
                "x",
                Equals,
                &["a", "b"],
                Err(
                    r#"values: Invalid value: []string{"a", "b"}: exact-match compatibility requires one single value"#,
                ),
            ),
            (
                "x",
                Exists,
                &["a"],
                Err(
                    r#"values: Invalid value: []string{"a"}: values set must be empty for exists and does not exist"#,
                ),
            ),
            (
                "x",
                LessThan,
                &["a"],
                Err(
                    r#"values[0]: Invalid value: "a": for 'Gt', 'Lt' operators, the value must be an integer"#,
                ),
            ),
            (
                "x",
                GreaterThan,
                &[],
                Err(
                    "values: Invalid value: []string{}: for 'Gt', 'Lt' operators, exactly one value is required",
                ),
            ),
        ];
        for (key, op, values, want) in cases {
            let got = LabelRequirement::new(key, *op, owned(values));
            match want {
                Ok(text) => {
                    let selector = LabelSelector::from_requirements([got.expect(text)]);
                    assert_eq!(selector, LabelSelector::parse(text).unwrap(), "{text}");
                }
                Err(message) => {
                    assert_eq!(
                        got.unwrap_err().to_string(),
                        *message,
                        "{key} {op:?} {values:?}"
                    )
                }
            }
        }
        // Several problems are aggregated as Go prints them.
        let err = LabelRequirement::new("-x", In, owned(&["a b"])).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("[<nil>: Invalid value: \"-x\": name part must consist"),
            "{text}"
        );
        assert!(
            text.contains(", values[0][-x]: Invalid value: \"a b\": a valid label"),
            "{text}"
        );
    }

    #[test]
    fn selectors_from_requirements_sort_by_key_and_match() {
        let reqs = [
            LabelRequirement::new("z", Operator::Exists, vec![]).unwrap(),
            LabelRequirement::new("a", Operator::Equals, vec!["1".into()]).unwrap(),
        ];
        let s = LabelSelector::from_requirements(reqs);
        assert_eq!(s, LabelSelector::parse("z,a=1").unwrap());
        assert!(s.matches(&labels(&[("a", "1"), ("z", "")])));
        assert!(!s.matches(&labels(&[("a", "1")])));
        assert!(LabelSelector::from_requirements([]).is_empty());
    }

    #[test]
    fn label_selector_operators() {
        use Operator::*;
        let table = [
            ("In", Some(In)),
            ("NotIn", Some(NotIn)),
            ("Exists", Some(Exists)),
            ("DoesNotExist", Some(DoesNotExist)),
            ("in", None),
            ("Equals", None),
            ("", None),
        ];
        for (name, want) in table {
            assert_eq!(Operator::from_label_selector_operator(name), want, "{name}");
        }
    }
}
