//! Parsers of the binary's flag values (part of the `ks-controller-manager`
//! binary, not of the library).
//!
//! `ks_apiserver::options::parse_go_duration` is the full parser, but this
//! crate cannot depend on ks-apiserver (which depends on it), so the
//! binary has this small one for its flags.

use std::net::SocketAddr;
use std::time::Duration;

/// Parses a duration in Go's `time.ParseDuration` syntax, as KubeSphere's
/// flags take them: one or more decimal numbers, each with an optional
/// fraction and a unit (`ns`, `us` or `µs`, `ms`, `s`, `m`, `h`), such as
/// `30m`, `168h`, `1h30m`, `1.5s`, `500ms`; `0` alone needs no unit.
/// Negative durations are refused (no flag of ours takes one).
pub(crate) fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let invalid = |why: &str| Err(format!("invalid duration {text:?}: {why}"));
    let body = text.strip_prefix('+').unwrap_or(text);
    if body.starts_with('-') {
        return invalid("negative durations are not allowed");
    }
    if body == "0" {
        return Ok(Duration::ZERO);
    }
    if body.is_empty() {
        return invalid("expected a number and a unit, such as 30s or 1h30m");
    }
    let mut total: u128 = 0;
    let mut rest = body;
    while !rest.is_empty() {
        let whole_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (whole, after) = rest.split_at(whole_len);
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after) => after.split_at(after.bytes().take_while(u8::is_ascii_digit).count()),
            None => ("", after),
        };
        if whole.is_empty() && fraction.is_empty() {
            return invalid("expected a number");
        }
        let unit_len = after
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            // U+00B5 (micro sign) and U+03BC (Greek mu), as Go accepts.
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return invalid("missing unit (ns, us, ms, s, m or h)"),
            _ => return invalid("unknown unit (expected ns, us, ms, s, m or h)"),
        };
        // Digits beyond nanosecond precision change nothing: drop them.
        let fraction = &fraction[..fraction.len().min(18)];
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            match whole.parse::<u128>() {
                Ok(n) => n,
                Err(_) => return invalid("out of range"),
            }
        };
        let fraction_nanos = if fraction.is_empty() {
            0
        } else {
            let digits: u128 = fraction.parse().unwrap_or(0);
            let scale = 10u128.pow(u32::try_from(fraction.len()).unwrap_or(18));
            digits * unit_nanos / scale
        };
        total = match whole
            .checked_mul(unit_nanos)
            .and_then(|n| n.checked_add(fraction_nanos))
            .and_then(|n| n.checked_add(total))
        {
            // Go's limit: what fits in an int64 of nanoseconds.
            Some(n) if n <= i64::MAX as u128 => n,
            _ => return invalid("out of range"),
        };
        rest = after;
    }
    // `total` fits in an i64, so in a u64.
    Ok(Duration::from_nanos(
        u64::try_from(total).unwrap_or(u64::MAX),
    ))
}

/// Where an endpoint listens, if anywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BindAddress(pub(crate) Option<SocketAddr>);

/// Parses `--metrics-bind-address`: `0` turns the endpoint off; `:PORT`
/// (Go's form) listens on every IPv4 address; otherwise `HOST:PORT` with
/// an IP address.
pub(crate) fn parse_bind_address(text: &str) -> Result<BindAddress, String> {
    if text == "0" {
        return Ok(BindAddress(None));
    }
    let full = match text.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => text.to_owned(),
    };
    full.parse().map(|addr| BindAddress(Some(addr))).map_err(|_| {
        format!("invalid address {text:?}: expected IP:PORT (such as 127.0.0.1:8080), :PORT, or 0 to disable")
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const MS: u64 = 1_000_000;
    const S: u64 = 1_000 * MS;

    /// (text, nanoseconds); every one agrees with Go's `time.ParseDuration`.
    const VALID: &[(&str, u64)] = &[
        ("0", 0),
        ("+0", 0),
        ("0s", 0),
        ("30m", 30 * 60 * S),
        ("168h", 168 * 3600 * S),
        ("15s", 15 * S),
        ("500ms", 500 * MS),
        ("1h30m", 5400 * S),
        ("2h0m0s", 7200 * S),
        ("1.5s", 1_500 * MS),
        ("1.5h", 5400 * S),
        (".5s", 500 * MS),
        ("1.s", S),
        ("+3s", 3 * S),
        ("10us", 10_000),
        ("10\u{b5}s", 10_000),
        ("10\u{3bc}s", 10_000),
        ("7ns", 7),
        ("1.0000000001s", S),
        ("1.123456789123456789123s", S + 123_456_789),
        ("1m1m", 120 * S),
        ("2562047h", 2_562_047 * 3600 * S),
    ];

    const INVALID: &[&str] = &[
        "",
        "1",
        "1d",
        "1 h",
        "1H",
        ".s",
        "s",
        "-1s",
        "-0s",
        "1s ",
        " 1s",
        "1..5s",
        "1s.",
        "2562048h", // past Go's int64 nanoseconds
        "99999999999999999999999999999999999999999h",
    ];

    #[test]
    fn valid_durations() {
        for (text, nanos) in VALID {
            assert_eq!(
                parse_go_duration(text),
                Ok(Duration::from_nanos(*nanos)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn invalid_durations() {
        for text in INVALID {
            let err = parse_go_duration(text).unwrap_err();
            assert!(err.starts_with("invalid duration"), "{text:?}: {err}");
        }
        assert!(
            parse_go_duration("5").unwrap_err().contains("missing unit"),
            "the message says what is missing"
        );
    }

    #[test]
    fn bind_addresses() {
        let addr = |s: &str| Ok(BindAddress(Some(s.parse().unwrap())));
        assert_eq!(parse_bind_address("0"), Ok(BindAddress(None)));
        assert_eq!(parse_bind_address("127.0.0.1:8080"), addr("127.0.0.1:8080"));
        assert_eq!(parse_bind_address(":8080"), addr("0.0.0.0:8080"));
        assert_eq!(parse_bind_address("[::1]:0"), addr("[::1]:0"));
        for bad in ["", "localhost:8080", "8080", "127.0.0.1"] {
            assert!(parse_bind_address(bad).is_err(), "{bad:?}");
        }
    }
}
