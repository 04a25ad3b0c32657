//! Label key and value validation with Kubernetes' messages
//! (k8s.io/apimachinery `pkg/util/validation`).

use std::fmt::Write as _;

const QUALIFIED_NAME_MAX_LEN: usize = 63;
const LABEL_VALUE_MAX_LEN: usize = 63;
const DNS1123_SUBDOMAIN_MAX_LEN: usize = 253;

const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

/// `msg (e.g. 'a',  or 'b', regex used for validation is 'fmt')`, spacing
/// included, as Kubernetes' `RegexError` renders it.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let mut out = String::from(msg);
    out.push_str(" (e.g. ");
    for (i, ex) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        let _ = write!(out, "'{ex}', ");
    }
    let _ = write!(out, "regex used for validation is '{fmt}')");
    out
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
pub(crate) fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphanumeric()
                && l.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            (f.is_ascii_lowercase() || f.is_ascii_digit())
                && (l.is_ascii_lowercase() || l.is_ascii_digit())
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        }
        _ => false,
    }
}

/// Whether `s` matches the DNS-1123 subdomain regex (length not checked).
fn is_dns1123_subdomain_shape(s: &str) -> bool {
    s.split('.').all(is_dns1123_label)
}

/// Kubernetes' `IsQualifiedName`, which is also `IsLabelKey`: the list of
/// problems, empty when valid.
pub(crate) fn label_key_errors(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let mut parts = key.split('/');
    let first = parts.next().unwrap_or("");
    let (prefix, name) = match (parts.next(), parts.next()) {
        (None, _) => (None, first),
        (Some(name), None) => (Some(first), name),
        (Some(_), Some(_)) => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(
                    QUALIFIED_NAME_MSG,
                    QUALIFIED_NAME_FMT,
                    &["MyName", "my.name", "123-abc"]
                )
            ));
            return errs;
        }
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            errs.push("prefix part must be non-empty".to_owned());
        } else {
            if prefix.len() > DNS1123_SUBDOMAIN_MAX_LEN {
                errs.push(format!(
                    "prefix part must be no more than {DNS1123_SUBDOMAIN_MAX_LEN} characters"
                ));
            }
            if !is_dns1123_subdomain_shape(prefix) {
                errs.push(format!(
                    "prefix part {}",
                    regex_error(
                        DNS1123_SUBDOMAIN_MSG,
                        DNS1123_SUBDOMAIN_FMT,
                        &["example.com"]
                    )
                ));
            }
        }
    }
    if name.is_empty() {
        errs.push("name part must be non-empty".to_owned());
    } else if name.len() > QUALIFIED_NAME_MAX_LEN {
        errs.push(format!(
            "name part must be no more than {QUALIFIED_NAME_MAX_LEN} characters"
        ));
    }
    if !is_qualified_name_part(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_MSG,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

/// Fast path of [`label_key_errors`]: no allocation when the key is valid.
pub(crate) fn is_valid_label_key(key: &str) -> bool {
    let (prefix, name) = match key.split_once('/') {
        None => (None, key),
        Some((p, n)) => (Some(p), n),
    };
    if name.contains('/') {
        return false;
    }
    if let Some(p) = prefix
        && (p.is_empty() || p.len() > DNS1123_SUBDOMAIN_MAX_LEN || !is_dns1123_subdomain_shape(p))
    {
        return false;
    }
    name.len() <= QUALIFIED_NAME_MAX_LEN && is_qualified_name_part(name)
}

/// Whether `v` is a valid label value (empty, or a qualified name part of at
/// most 63 bytes).
pub(crate) fn is_valid_label_value(v: &str) -> bool {
    v.is_empty() || (v.len() <= LABEL_VALUE_MAX_LEN && is_qualified_name_part(v))
}

/// Kubernetes' `IsValidLabelValue` problems, empty when valid.
pub(crate) fn label_value_errors(v: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if v.len() > LABEL_VALUE_MAX_LEN {
        errs.push(format!(
            "must be no more than {LABEL_VALUE_MAX_LEN} characters"
        ));
    }
    if !(v.is_empty() || is_qualified_name_part(v)) {
        errs.push(regex_error(
            LABEL_VALUE_MSG,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// Go's `%q` for a string: double quotes, with `"` and `\` escaped and
/// non-printable characters written as escapes.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `field.Invalid(path, value, detail).Error()`.
pub(crate) fn invalid_value(path: &str, value: &str, detail: &str) -> String {
    format!("{path}: Invalid value: {}: {detail}", go_quote(value))
}

/// `path.IsValidPathSegmentName`: not `.` or `..`, no `/` or `%`.
pub(crate) fn is_valid_path_segment_name(name: &str) -> bool {
    name != "." && name != ".." && !name.contains(['/', '%'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for k in [
            "a",
            "app",
            "kubesphere.io/workspace",
            "A_b.c-D",
            "x/y",
            &"a".repeat(63),
        ] {
            assert!(is_valid_label_key(k), "{k}");
            assert!(label_key_errors(k).is_empty(), "{k}");
        }
        for k in [
            "",
            "-a",
            "a-",
            "/a",
            "a/",
            "A.io/b",
            "a/b/c",
            "a b",
            &"a".repeat(64),
        ] {
            assert!(!is_valid_label_key(k), "{k}");
            assert!(!label_key_errors(k).is_empty(), "{k}");
        }
        assert_eq!(
            label_key_errors("a/"),
            vec![
                "name part must be non-empty".to_owned(),
                format!(
                    "name part {}",
                    regex_error(
                        QUALIFIED_NAME_MSG,
                        QUALIFIED_NAME_FMT,
                        &["MyName", "my.name", "123-abc"]
                    )
                )
            ]
        );
    }

    #[test]
    fn regex_error_spacing() {
        assert_eq!(
            regex_error("m", "f", &["a", "b"]),
            "m (e.g. 'a',  or 'b', regex used for validation is 'f')"
        );
    }

    #[test]
    fn values() {
        for v in ["", "a", "A-1_b.c", &"x".repeat(63)] {
            assert!(is_valid_label_value(v));
            assert!(label_value_errors(v).is_empty());
        }
        for v in ["-", "a b", "a/b", &"x".repeat(64)] {
            assert!(!is_valid_label_value(v));
            assert!(!label_value_errors(v).is_empty());
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(go_quote("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\x01é\"");
    }
}
