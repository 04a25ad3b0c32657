//! KubeSphere's own configuration file, `kubesphere.yaml`, for
//! `ks-apiserver --config FILE`: an operator's existing file works.
//!
//! The file is what KubeSphere 3.4 reads from `/etc/kubesphere` (the
//! `kubesphere-config` ConfigMap its chart and ks-installer render). Three
//! sections are modelled, because the server acts on them:
//! `authentication` (lockout, login history, `multipleLogin`, the JWT
//! secret, OAuth lifetimes and clients), `authorization` (`mode`) and
//! `auditing` (KubeSphere's webhook, plus ks-rs's own log keys). Every other
//! section KubeSphere knows (`monitoring`, `multicluster`, `ldap`, ...) is
//! accepted and kept as an opaque value. `docs/configuration.md` lists every
//! key, its default and where it comes from.
//!
//! ```
//! use std::time::Duration;
//! use ks_apiserver::options::{FlagOverrides, KubeSphereOptions};
//!
//! let loaded = KubeSphereOptions::from_str(
//!     "authentication:\n  authenticateRateLimiterDuration: 15m\n  oauthOptions:\n    acessTokenMaxAge: 1h\nauthorization:\n  mode: RBAC\n",
//! )?;
//! assert_eq!(
//!     loaded.warnings,
//!     ["authentication.oauthOptions.acessTokenMaxAge: unknown key; did you mean `accessTokenMaxAge`?"],
//! );
//! // Flags > file > defaults.
//! let effective = loaded.options.effective().with_flags(&FlagOverrides {
//!     audit_webhook_url: Some("http://127.0.0.1:8080/audit".into()),
//!     ..FlagOverrides::default()
//! });
//! assert_eq!(effective.authentication.lockout_window, Duration::from_secs(15 * 60));
//! assert_eq!(effective.authentication.access_token_max_age, Some(Duration::from_secs(2 * 3600)));
//! assert!(effective.auditing.webhook.is_some());
//! # Ok::<(), ks_apiserver::options::OptionsError>(())
//! ```
//!
//! How the file is read (KubeSphere reads it with viper and mapstructure;
//! where ks-rs differs, it says so):
//! - Keys are KubeSphere's camelCase YAML keys, matched exactly. A key
//!   ks-rs does not know inside a modelled section is a warning naming its
//!   path (with a suggestion when it looks like a typo); a bad value is an
//!   [`OptionsError::Invalid`] naming the key and the problem. Secrets
//!   (`jwtSecret`, client secrets) never appear in errors or in `Debug`.
//! - Durations are Go's `time.Duration` text (`10m`, `2h0m0s`, `1.5h`,
//!   `500ms`, `0`): see [`parse_go_duration`]. A bare YAML integer is a
//!   number of nanoseconds, as KubeSphere's loader reads it (`0` is common:
//!   the chart's `accessTokenMaxAge: 0` on member clusters); any other
//!   integer is accepted with a warning, since it is almost always a
//!   mistake. Negative durations are errors.
//! - A YAML `null` (a key with nothing after it) is the same as an absent
//!   key, as in KubeSphere.
//! - The file is at most [`MAX_FILE_BYTES`] and holds one YAML document. A
//!   whole `kubesphere-config` ConfigMap manifest is accepted too: its
//!   `data["kubesphere.yaml"]` is read.
//!
//! [`EffectiveOptions`] is what the server reads: defaults applied,
//! `std::time::Duration`s, and command-line flags on top
//! ([`EffectiveOptions::with_flags`]); precedence is flags > file >
//! defaults.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_norway::Value;

use crate::audit::{AuditLevel, AuditSink};
use crate::authz::Mode;

/// The largest configuration file read (1 MiB); KubeSphere's own files are
/// a few KiB.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The longest duration text [`parse_go_duration`] reads (bytes). Go has
/// no limit; no meaningful duration comes near it.
pub const MAX_DURATION_TEXT: usize = 128;

/// KubeSphere's top-level sections besides the three modelled ones
/// (release-3.0 to 3.4 `pkg/apiserver/config/config.go`, plus `mysql`,
/// which ks-installer still renders). Kept as opaque values, no warning.
/// Matched case-insensitively, as KubeSphere's loader (viper) does.
pub const KUBESPHERE_SECTIONS: &[&str] = &[
    "alerting",
    "cache",
    "devops",
    "edgeruntime",
    "events",
    "gateway",
    "gpu",
    "kubeedge",
    "kubernetes",
    "ldap",
    "logging",
    "metering",
    "monitoring",
    "multicluster",
    "mysql",
    "network",
    "notification",
    "openpitrix",
    "redis",
    "s3",
    "servicemesh",
    "sonarqube",
    "terminal",
];

// ---------------------------------------------------------------------------
// Durations in Go's text form
// ---------------------------------------------------------------------------

const NANOS_PER_SECOND: u64 = 1_000_000_000;
/// Go's `time.Duration` is an `int64` of nanoseconds.
const GO_MAX_NANOS: u64 = i64::MAX as u64;
const TWO_POW_63: u64 = 1 << 63;

/// Why a duration text was refused ([`parse_go_duration`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// Not of the form `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or empty.
    #[error("invalid duration {text:?} (write e.g. 10m, 2h0m0s, 1.5h or 500ms)")]
    Invalid {
        /// The text (at most 64 characters of it).
        text: String,
    },
    /// A number without a unit (only `0` may stand alone).
    #[error("missing unit in duration {text:?} (units: ns, us, µs, ms, s, m, h)")]
    MissingUnit {
        /// The text (at most 64 characters of it).
        text: String,
    },
    /// A unit Go does not know (there is no `d`: write `24h`).
    #[error("unknown unit {unit:?} in duration {text:?} (units: ns, us, µs, ms, s, m, h)")]
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The text (at most 64 characters of it).
        text: String,
    },
    /// Longer than Go's largest duration (about 292 years).
    #[error("duration {text:?} is too long (the largest is 2562047h47m16.854775807s)")]
    Overflow {
        /// The text (at most 64 characters of it).
        text: String,
    },
    /// Negative: Go allows it, none of these options does.
    #[error("duration {text:?} is negative")]
    Negative {
        /// The text (at most 64 characters of it).
        text: String,
    },
    /// Longer than [`MAX_DURATION_TEXT`] bytes.
    #[error("duration text of {len} bytes is too long (at most {MAX_DURATION_TEXT})")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
}

/// The first 64 characters of `text`, for an error message.
fn excerpt(text: &str) -> String {
    text.chars().take(64).collect()
}

/// Parses a duration exactly as Go's `time.ParseDuration` does, refusing
/// negative ones: a sequence of decimal numbers, each with an optional
/// fraction and a unit (`ns`, `us`, `µs` or `μs`, `ms`, `s`, `m`, `h`),
/// after an optional sign; `0` alone needs no unit.
///
/// So `2h0m0s`, `1h30m`, `1.5h`, `.5s`, `1.s`, `+3s`, `0` and `-0s` are
/// accepted; `1`, `1d`, `1 h`, `.s`, `1H` and the empty string are not. A
/// fraction is scaled through an `f64`, as Go does, so the results agree to
/// the nanosecond. One deliberate difference: Go's total can wrap around
/// (two components of 2^63 ns each add up to 0); here that is an
/// overflow.
///
/// Input longer than [`MAX_DURATION_TEXT`] is refused without being read;
/// the function never panics.
pub fn parse_go_duration(text: &str) -> Result<Duration, DurationError> {
    if text.len() > MAX_DURATION_TEXT {
        return Err(DurationError::TooLong { len: text.len() });
    }
    let invalid = || DurationError::Invalid {
        text: excerpt(text),
    };
    let overflow = || DurationError::Overflow {
        text: excerpt(text),
    };
    let bytes = text.as_bytes();
    let (negative, mut rest) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        Some(b'+') => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    if rest == b"0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while let Some(&first) = rest.first() {
        if first != b'.' && !first.is_ascii_digit() {
            return Err(invalid());
        }
        // The whole part: it must stay at most 2^63.
        let int_digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let mut whole: u64 = 0;
        for &digit in &rest[..int_digits] {
            whole = whole
                .checked_mul(10)
                .and_then(|w| w.checked_add(u64::from(digit - b'0')))
                .filter(|&w| w <= TWO_POW_63)
                .ok_or_else(overflow)?;
        }
        rest = &rest[int_digits..];
        // The fraction: digits past what fits are dropped, not an error.
        let mut fraction: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut fraction_digits = 0;
        if rest.first() == Some(&b'.') {
            rest = &rest[1..];
            fraction_digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            let mut saturated = false;
            for &digit in &rest[..fraction_digits] {
                if saturated {
                    continue;
                }
                match fraction
                    .checked_mul(10)
                    .and_then(|f| f.checked_add(u64::from(digit - b'0')))
                    .filter(|&f| f <= TWO_POW_63)
                {
                    Some(f) if fraction <= GO_MAX_NANOS / 10 => {
                        fraction = f;
                        scale *= 10.0;
                    }
                    _ => saturated = true,
                }
            }
            rest = &rest[fraction_digits..];
        }
        if int_digits == 0 && fraction_digits == 0 {
            // `.s`, `-.s`
            return Err(invalid());
        }
        let unit_len = rest
            .iter()
            .take_while(|&&b| b != b'.' && !b.is_ascii_digit())
            .count();
        if unit_len == 0 {
            return Err(DurationError::MissingUnit {
                text: excerpt(text),
            });
        }
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let unit_nanos: u64 = match unit {
            b"ns" => 1,
            // `µs` is U+00B5 (micro sign), `μs` U+03BC (Greek mu).
            b"us" | [0xC2, 0xB5, b's'] | [0xCE, 0xBC, b's'] => 1_000,
            b"ms" => 1_000_000,
            b"s" => NANOS_PER_SECOND,
            b"m" => 60 * NANOS_PER_SECOND,
            b"h" => 3600 * NANOS_PER_SECOND,
            _ => {
                return Err(DurationError::UnknownUnit {
                    unit: excerpt(&String::from_utf8_lossy(unit)),
                    text: excerpt(text),
                });
            }
        };
        if whole > TWO_POW_63 / unit_nanos {
            return Err(overflow());
        }
        let mut value = whole * unit_nanos;
        if fraction > 0 {
            // As Go: f64 keeps fractions of hours exact to the nanosecond.
            let part = (fraction as f64 * (unit_nanos as f64 / scale)) as u64;
            value = value
                .checked_add(part)
                .filter(|&v| v <= TWO_POW_63)
                .ok_or_else(overflow)?;
        }
        total = total
            .checked_add(value)
            .filter(|&t| t <= TWO_POW_63)
            .ok_or_else(overflow)?;
    }
    if negative && total > 0 {
        return Err(DurationError::Negative {
            text: excerpt(text),
        });
    }
    if total > GO_MAX_NANOS {
        return Err(overflow());
    }
    Ok(Duration::from_nanos(total))
}

/// Formats a duration as Go's `Duration.String()` does: `0s`, `1.5µs`,
/// `500ms`, `1.5s`, `1m0s`, `2h0m0s`, `1h30m5.25s`. Below a second the
/// unit is the largest of ns, µs (U+00B5) and ms that fits; from a second
/// up, hours, minutes and seconds with the fraction of the seconds,
/// trailing zeros dropped.
///
/// [`parse_go_duration`] reads every output back to the same nanosecond
/// (for durations up to Go's largest, 2^63 - 1 ns; longer ones are
/// formatted the same way but Go could not read them).
pub fn format_go_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    let mut out = String::new();
    if nanos == 0 {
        out.push_str("0s");
    } else if nanos < 1_000_000_000 {
        let (unit, suffix, digits) = if nanos < 1_000 {
            (1, "ns", 0)
        } else if nanos < 1_000_000 {
            (1_000, "µs", 3)
        } else {
            (1_000_000, "ms", 6)
        };
        push_decimal(&mut out, nanos / unit, nanos % unit, digits);
        out.push_str(suffix);
    } else {
        let seconds = nanos / 1_000_000_000;
        let hours = seconds / 3600;
        let minutes = (seconds / 60) % 60;
        if hours > 0 {
            let _ = write!(out, "{hours}h");
        }
        if seconds >= 60 {
            let _ = write!(out, "{minutes}m");
        }
        push_decimal(&mut out, seconds % 60, nanos % 1_000_000_000, 9);
        out.push('s');
    }
    out
}

/// Writes `whole.fraction` with the fraction as `digits` decimals, trailing
/// zeros (and a bare point) dropped.
fn push_decimal(out: &mut String, whole: u128, fraction: u128, digits: usize) {
    let _ = write!(out, "{whole}");
    if fraction > 0 {
        let text = format!("{fraction:0digits$}");
        out.push('.');
        out.push_str(text.trim_end_matches('0'));
    }
}

// ---------------------------------------------------------------------------
// Secrets and opaque values
// ---------------------------------------------------------------------------

/// A secret from the file (`jwtSecret`, a client's `secret`): its `Debug`
/// is `Secret(<redacted>)`, it has no `Display`, and no error message ever
/// contains it. Read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// A secret holding `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A value ks-rs keeps without interpreting it (a KubeSphere section such
/// as `monitoring`, an identity provider, a KubeSphere key ks-rs does not
/// use), as JSON. Its `Debug` shows only its shape: these values hold
/// passwords (`ldap.managerPassword`, `s3.secretAccessKey`, identity
/// providers' `clientSecret`), so whoever serves them must redact.
#[derive(Clone, PartialEq, Default)]
pub struct Opaque(serde_json::Value);

impl Opaque {
    /// The value as JSON.
    pub fn as_json(&self) -> &serde_json::Value {
        &self.0
    }

    /// The value as JSON, owned.
    pub fn into_json(self) -> serde_json::Value {
        self.0
    }
}

impl fmt::Debug for Opaque {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape = match &self.0 {
            serde_json::Value::Object(map) => format!("{{{} keys}}", map.len()),
            serde_json::Value::Array(items) => format!("[{} items]", items.len()),
            serde_json::Value::Null => "null".to_owned(),
            _ => "scalar".to_owned(),
        };
        write!(f, "Opaque({shape})")
    }
}

// ---------------------------------------------------------------------------
// The file, as written
// ---------------------------------------------------------------------------

/// `kubesphere.yaml` as written: `None` and empty lists mean the key was
/// absent (or `null`); [`KubeSphereOptions::effective`] applies the
/// defaults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KubeSphereOptions {
    /// `authentication`.
    pub authentication: AuthenticationOptions,
    /// `authorization`.
    pub authorization: AuthorizationOptions,
    /// `auditing`.
    pub auditing: AuditingOptions,
    /// Every other top-level section, as written (key as in the file).
    pub sections: BTreeMap<String, Opaque>,
}

/// `authentication` (KubeSphere 3.4 `pkg/apiserver/authentication/options.go`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuthenticationOptions {
    /// `authenticateRateLimiterMaxTries`: failed logins within the window
    /// that lock a user.
    pub authenticate_rate_limiter_max_tries: Option<u32>,
    /// `authenticateRateLimiterDuration` (or the spelling
    /// `authenticationRateLimiterDuration`; both may be set only to the
    /// same value): the failure window, and how long a lock lasts.
    pub authenticate_rate_limiter_duration: Option<Duration>,
    /// `maximumClockSkew`: tolerated clock difference when checking
    /// tokens.
    pub maximum_clock_skew: Option<Duration>,
    /// `loginHistoryRetentionPeriod`: how long login records are kept.
    pub login_history_retention_period: Option<Duration>,
    /// `loginHistoryMaximumEntries`: login records kept per user.
    pub login_history_maximum_entries: Option<u32>,
    /// `multipleLogin`: whether a user may hold several sessions.
    pub multiple_login: Option<bool>,
    /// `jwtSecret`: the HS256 key of the server's tokens.
    pub jwt_secret: Option<Secret>,
    /// `oauthOptions`.
    pub oauth_options: OAuthOptions,
    /// KubeSphere keys ks-rs accepts and does not use (`kubectlImage`).
    pub unused: BTreeMap<String, Opaque>,
}

/// `authentication.oauthOptions` (KubeSphere 3.4
/// `pkg/apiserver/authentication/oauth/options.go`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OAuthOptions {
    /// `issuer`: the tokens' `iss`.
    pub issuer: Option<String>,
    /// `accessTokenMaxAge`: an access token's lifetime; zero means it
    /// never expires.
    pub access_token_max_age: Option<Duration>,
    /// `accessTokenInactivityTimeout`: how much longer than the access
    /// token its refresh token lives (KubeSphere issues refresh tokens for
    /// max age + inactivity timeout).
    pub access_token_inactivity_timeout: Option<Duration>,
    /// `clients`: the OAuth clients; empty means the default client.
    pub clients: Vec<OAuthClientOptions>,
    /// `identityProviders`, kept as written: not supported yet (a warning
    /// says so when there are any).
    pub identity_providers: Vec<Opaque>,
    /// KubeSphere keys ks-rs accepts and does not use (`signKey`,
    /// `signKeyData`).
    pub unused: BTreeMap<String, Opaque>,
}

/// One of `authentication.oauthOptions.clients`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OAuthClientOptions {
    /// `name`: the `client_id`.
    pub name: String,
    /// `secret`: the `client_secret` (absent: the empty string, as in
    /// KubeSphere).
    pub secret: Secret,
    /// `grantMethod` (`auto`, `prompt`, `deny`): for the authorization-code
    /// flow, which ks-rs does not serve yet.
    pub grant_method: Option<String>,
    /// `respondWithChallenges`: not used.
    pub respond_with_challenges: Option<bool>,
    /// `redirectURIs`: for the authorization-code flow; not used yet.
    pub redirect_uris: Vec<String>,
    /// `scopeRestrictions`: not used.
    pub scope_restrictions: Vec<String>,
    /// `accessTokenMaxAge`: a per-client override that KubeSphere 3.4
    /// reads but never applies; neither does ks-rs.
    pub access_token_max_age: Option<Duration>,
    /// `accessTokenInactivityTimeout`: as `access_token_max_age`.
    pub access_token_inactivity_timeout: Option<Duration>,
}

/// `authorization` (KubeSphere 3.4 `pkg/apiserver/authorization/options.go`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuthorizationOptions {
    /// `mode`: `RBAC` or `AlwaysAllow`. KubeSphere's third mode,
    /// `AlwaysDeny`, is refused with an error rather than ignored.
    pub mode: Option<Mode>,
}

/// `auditing`: KubeSphere 3.4's keys (`pkg/simple/client/auditing/options.go`)
/// and ks-rs's own (`level`, `logPath`, `maxSize`, `maxBackups`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditingOptions {
    /// `enable`: post events to KubeSphere's auditing webhook.
    pub enable: Option<bool>,
    /// `webhookUrl` (ks-installer writes `webhookURL`, which KubeSphere's
    /// case-insensitive loader reads too; so does ks-rs).
    pub webhook_url: Option<String>,
    /// `eventSendersNum`: concurrent POSTs in KubeSphere; ks-rs posts one
    /// batch at a time and ignores it.
    pub event_senders_num: Option<u32>,
    /// `eventBatchSize`: the most events in one POST (0: the default).
    pub event_batch_size: Option<u32>,
    /// `eventBatchInterval`: how long a batch waits to fill (0: the
    /// default).
    pub event_batch_interval: Option<Duration>,
    /// `level` (ks-rs): `None`, `Metadata`, `Request` or `RequestResponse`.
    pub level: Option<AuditLevel>,
    /// `logPath` (ks-rs): the audit log file, `-` for standard output.
    pub log_path: Option<String>,
    /// `maxSize` (ks-rs): MiB a log file may reach before it is rotated.
    pub max_size: Option<u64>,
    /// `maxBackups` (ks-rs): rotated files kept (0: none).
    pub max_backups: Option<u32>,
    /// KubeSphere keys ks-rs accepts and does not use (the Elasticsearch
    /// settings `host`, `basicAuth`, `username`, `password`,
    /// `indexPrefix`, `version`).
    pub unused: BTreeMap<String, Opaque>,
}

/// A file read: the options, and what the reader has to say about them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Loaded {
    /// The options.
    pub options: KubeSphereOptions,
    /// One line per finding that did not stop the load, each starting
    /// with the key's path: unknown keys, identity providers that are not
    /// supported yet, suspicious values. Sections are reported in file
    /// order, a section's inner findings before its own unknown keys.
    pub warnings: Vec<String>,
}

/// Why a configuration could not be used. Messages name the key
/// (`authentication.oauthOptions.accessTokenMaxAge`) and never contain a
/// secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("the file is larger than {limit} bytes; a kubesphere.yaml is a few KiB")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// Not YAML (the message has the line and column).
    #[error("not valid YAML: {0}")]
    Yaml(String),
    /// More than one YAML document (`---`).
    #[error("the file holds more than one YAML document (`---`); kubesphere.yaml is one mapping")]
    MultipleDocuments,
    /// A key's value is wrong.
    #[error("{key}: {problem}")]
    Invalid {
        /// The key's path, e.g. `auditing.eventBatchInterval`.
        key: String,
        /// What is wrong and what would be right.
        problem: String,
    },
    /// A value KubeSphere accepts but ks-rs cannot honour.
    #[error("{key}: {problem}")]
    Unsupported {
        /// The key's path.
        key: String,
        /// What is not supported, and what to do instead.
        problem: String,
    },
}

impl KubeSphereOptions {
    /// `gpu.kinds` (section and key matched case-insensitively, as
    /// KubeSphere's loader does; fields it does not know are ignored):
    /// empty without them. An entry that is not a mapping of those fields
    /// is an error naming it.
    pub fn gpu_kinds(&self) -> Result<Vec<crate::kapis::config::GpuKind>, String> {
        let section = self
            .sections
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case("gpu"))
            .map(|(_, value)| value.as_json());
        let kinds = section
            .and_then(serde_json::Value::as_object)
            .and_then(|map| map.iter().find(|(k, _)| k.eq_ignore_ascii_case("kinds")))
            .map(|(_, v)| v);
        match kinds {
            None | Some(serde_json::Value::Null) => Ok(Vec::new()),
            Some(kinds) => serde_json::from_value(kinds.clone()).map_err(|e| {
                format!(
                    "gpu.kinds: {e} (expected a list of {{resourceName, resourceType, default}})"
                )
            }),
        }
    }

    /// Reads `path` (at most [`MAX_FILE_BYTES`]). Report errors with the
    /// file name: `--config {path}: {error}`.
    pub fn load(path: impl AsRef<Path>) -> Result<Loaded, OptionsError> {
        let path = path.as_ref();
        let read_error = |source| OptionsError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mut bytes = Vec::new();
        // One byte more than the limit tells "too large" from "exactly".
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(OptionsError::TooLarge {
                limit: MAX_FILE_BYTES,
            });
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            OptionsError::Yaml(format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        Self::from_str(&text)
    }

    /// Reads the text of a `kubesphere.yaml` (or of a `kubesphere-config`
    /// ConfigMap manifest holding one).
    #[allow(clippy::should_implement_trait)] // it returns `Loaded`, with warnings
    pub fn from_str(text: &str) -> Result<Loaded, OptionsError> {
        let mut warnings = Vec::new();
        let document = single_document(text)?;
        let document = match config_map_data(&document) {
            Some(inner) => single_document(inner)?,
            None => document,
        };
        let options = read_options(document, &mut warnings)?;
        Ok(Loaded { options, warnings })
    }

    /// The options with defaults applied, for the server.
    pub fn effective(&self) -> EffectiveOptions {
        EffectiveOptions::from_options(self)
    }
}

/// Deserializes from any self-describing format (YAML, JSON) with the
/// same rules as [`KubeSphereOptions::from_str`]; the warnings are
/// dropped, so prefer `load` or `from_str` where they can be shown.
impl<'de> serde::Deserialize<'de> for KubeSphereOptions {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut value = Value::deserialize(deserializer)?;
        value.apply_merge().map_err(serde::de::Error::custom)?;
        read_options(value, &mut Vec::new()).map_err(serde::de::Error::custom)
    }
}

/// The one document of `text` (an empty text is an empty mapping), with
/// YAML merge keys (`<<`) applied.
fn single_document(text: &str) -> Result<Value, OptionsError> {
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(OptionsError::TooLarge {
            limit: MAX_FILE_BYTES,
        });
    }
    let mut documents = serde_norway::Deserializer::from_str(text);
    let Some(first) = documents.next() else {
        return Ok(Value::Null);
    };
    let mut value: Value = serde::Deserialize::deserialize(first)
        .map_err(|e: serde_norway::Error| OptionsError::Yaml(e.to_string()))?;
    if documents.next().is_some() {
        return Err(OptionsError::MultipleDocuments);
    }
    Value::apply_merge(&mut value).map_err(|e| OptionsError::Yaml(e.to_string()))?;
    Ok(value)
}

/// `data["kubesphere.yaml"]` when `document` is a ConfigMap manifest.
fn config_map_data(document: &Value) -> Option<&str> {
    let map = document.as_mapping()?;
    if map.get("kind")?.as_str()? != "ConfigMap" {
        return None;
    }
    map.get("data")?.get("kubesphere.yaml")?.as_str()
}

// ---------------------------------------------------------------------------
// Reading the value tree
// ---------------------------------------------------------------------------

/// `parent.key`, or `key` at the top.
fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

fn invalid(key: &str, problem: impl Into<String>) -> OptionsError {
    OptionsError::Invalid {
        key: key.to_owned(),
        problem: problem.into(),
    }
}

/// What a value is, for "expected X, found Y" (no secret is ever passed
/// here with `show` set).
fn describe(value: &Value, show: bool) -> String {
    let shown = |text: String| {
        if show {
            format!(" {}", excerpt(&text))
        } else {
            String::new()
        }
    };
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("a boolean{}", shown(b.to_string())),
        Value::Number(n) => format!("a number{}", shown(n.to_string())),
        Value::String(s) => format!("a string{}", shown(format!("{s:?}"))),
        Value::Sequence(_) => "a list".to_owned(),
        Value::Mapping(_) => "a mapping".to_owned(),
        Value::Tagged(tagged) => format!("a value tagged {}", tagged.tag),
    }
}

/// A mapping being read: each key asked for is taken out; what is left at
/// the end is unknown, and each such key is a warning (with a suggestion
/// among the keys asked for).
struct Fields {
    path: String,
    entries: Vec<(String, Value)>,
    asked: Vec<&'static str>,
}

impl Fields {
    /// The mapping at `path` (`null` is an empty one).
    fn new(path: String, value: Value, warnings: &mut Vec<String>) -> Result<Self, OptionsError> {
        let mapping = match value {
            Value::Null => serde_norway::Mapping::new(),
            Value::Mapping(mapping) => mapping,
            other => {
                let key = if path.is_empty() {
                    "(top level)"
                } else {
                    &path
                };
                return Err(invalid(
                    key,
                    format!("expected a mapping, found {}", describe(&other, false)),
                ));
            }
        };
        let mut entries = Vec::with_capacity(mapping.len());
        for (key, value) in mapping {
            match key {
                Value::String(key) => entries.push((key, value)),
                other => warnings.push(format!(
                    "{}: unknown key",
                    join(&path, &scalar_text(&other))
                )),
            }
        }
        Ok(Fields {
            path,
            entries,
            asked: Vec::new(),
        })
    }

    /// Takes `key` out, with its path; `null` counts as absent.
    fn take(&mut self, key: &'static str) -> Option<(String, Value)> {
        self.asked.push(key);
        let index = self.entries.iter().position(|(k, _)| k == key)?;
        let (_, value) = self.entries.remove(index);
        if value.is_null() {
            return None;
        }
        Some((join(&self.path, key), value))
    }

    /// Takes KubeSphere keys ks-rs does not use, as opaque values.
    fn take_unused(
        &mut self,
        keys: &[&'static str],
    ) -> Result<BTreeMap<String, Opaque>, OptionsError> {
        let mut unused = BTreeMap::new();
        for &key in keys {
            if let Some((path, value)) = self.take(key) {
                unused.insert(key.to_owned(), Opaque(to_json(&path, value)?));
            }
        }
        Ok(unused)
    }

    /// Warns about every key left.
    fn finish(self, warnings: &mut Vec<String>) {
        for (key, _) in &self.entries {
            let mut warning = format!("{}: unknown key", join(&self.path, key));
            if let Some(suggestion) = suggest(key, &self.asked) {
                let _ = write!(warning, "; did you mean `{suggestion}`?");
            }
            warnings.push(warning);
        }
    }
}

/// The text of a scalar key (`1`, `true`, `null`).
fn scalar_text(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => format!("<{}>", describe(other, false)),
    }
}

/// The known key `key` was probably meant to be: the same but for case,
/// or within two edits.
fn suggest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    if let Some(same) = known.iter().find(|k| k.eq_ignore_ascii_case(key)) {
        return Some(same);
    }
    known
        .iter()
        .map(|k| (edit_distance(key, k, 3), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance of `a` and `b` (case-insensitive), or `cap` when
/// it is at least that.
fn edit_distance(a: &str, b: &str, cap: usize) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    if a.len().abs_diff(b.len()) >= cap || a.len() > 64 {
        return cap;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()].min(cap)
}

/// A YAML value as JSON (mapping keys that are numbers or booleans become
/// their text; tags are dropped).
fn to_json(path: &str, value: Value) -> Result<serde_json::Value, OptionsError> {
    Ok(match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                serde_json::Value::from(u)
            } else if let Some(i) = n.as_i64() {
                serde_json::Value::from(i)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(serde_json::Value::Number)
                    .ok_or_else(|| invalid(path, format!("{n} cannot be kept (not finite)")))?
            }
        }
        Value::String(s) => serde_json::Value::String(s),
        Value::Sequence(items) => serde_json::Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| to_json(&format!("{path}[{i}]"), item))
                .collect::<Result<_, _>>()?,
        ),
        Value::Mapping(mapping) => {
            let mut object = serde_json::Map::new();
            for (key, item) in mapping {
                let key = match key {
                    Value::String(s) => s,
                    Value::Number(_) | Value::Bool(_) => scalar_text(&key),
                    other => {
                        return Err(invalid(
                            path,
                            format!(
                                "mapping keys must be scalars, found {}",
                                describe(&other, false)
                            ),
                        ));
                    }
                };
                let item = to_json(&join(path, &key), item)?;
                object.insert(key, item);
            }
            serde_json::Value::Object(object)
        }
        Value::Tagged(tagged) => to_json(path, tagged.value)?,
    })
}

fn read_bool(path: &str, value: Value) -> Result<bool, OptionsError> {
    match value {
        Value::Bool(b) => Ok(b),
        other => Err(invalid(
            path,
            format!("expected true or false, found {}", describe(&other, true)),
        )),
    }
}

fn read_u32(path: &str, value: Value) -> Result<u32, OptionsError> {
    let n = read_u64(path, value)?;
    u32::try_from(n).map_err(|_| invalid(path, format!("{n} is too large")))
}

fn read_u64(path: &str, value: Value) -> Result<u64, OptionsError> {
    match &value {
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Ok(u),
            (None, Some(_)) => Err(invalid(path, format!("{n} is negative"))),
            (None, None) => Err(invalid(
                path,
                format!("expected a whole number, found a number {n}"),
            )),
        },
        other => Err(invalid(
            path,
            format!("expected a whole number, found {}", describe(other, true)),
        )),
    }
}

fn read_string(path: &str, value: Value) -> Result<String, OptionsError> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(invalid(
            path,
            format!("expected a string, found {}", describe(&other, true)),
        )),
    }
}

/// A secret: the error never shows the value, not even its type's text.
fn read_secret(path: &str, value: Value) -> Result<Secret, OptionsError> {
    match value {
        Value::String(s) => Ok(Secret(s)),
        other => Err(invalid(
            path,
            format!(
                "expected a string, found {} (not shown: it is a secret); quote it",
                describe(&other, false)
            ),
        )),
    }
}

fn read_string_list(path: &str, value: Value) -> Result<Vec<String>, OptionsError> {
    match value {
        Value::Sequence(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| read_string(&format!("{path}[{i}]"), item))
            .collect(),
        other => Err(invalid(
            path,
            format!(
                "expected a list of strings, found {}",
                describe(&other, true)
            ),
        )),
    }
}

/// A Go duration: text, or a bare integer of nanoseconds as KubeSphere's
/// loader (viper's weakly typed decoding into `time.Duration`) reads it.
fn read_duration(
    path: &str,
    value: Value,
    warnings: &mut Vec<String>,
) -> Result<Duration, OptionsError> {
    match &value {
        Value::String(text) => parse_go_duration(text).map_err(|e| invalid(path, e.to_string())),
        Value::Number(n) => {
            if let Some(nanos) = n.as_u64() {
                if nanos > GO_MAX_NANOS {
                    return Err(invalid(path, format!("{n} nanoseconds is too long")));
                }
                if nanos != 0 {
                    warnings.push(format!(
                        "{path}: {nanos} has no unit and is read as {nanos} nanoseconds ({}), as KubeSphere does; write a unit, e.g. {nanos}s",
                        format_go_duration(Duration::from_nanos(nanos))
                    ));
                }
                Ok(Duration::from_nanos(nanos))
            } else if n.as_i64().is_some() {
                Err(invalid(path, format!("duration {n} is negative")))
            } else {
                Err(invalid(
                    path,
                    format!("{n} has no unit; write a duration such as {n}s or {n}h"),
                ))
            }
        }
        other => Err(invalid(
            path,
            format!(
                "expected a duration such as 10m or 2h0m0s, found {}",
                describe(other, true)
            ),
        )),
    }
}

fn read_options(
    value: Value,
    warnings: &mut Vec<String>,
) -> Result<KubeSphereOptions, OptionsError> {
    let top = Fields::new(String::new(), value, warnings)?;
    let mut options = KubeSphereOptions::default();
    for (key, value) in top.entries {
        match key.as_str() {
            "authentication" => {
                options.authentication = read_authentication(value, warnings)?;
            }
            "authorization" => options.authorization = read_authorization(value, warnings)?,
            "auditing" => options.auditing = read_auditing(value, warnings)?,
            _ => {
                if !KUBESPHERE_SECTIONS
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(&key))
                {
                    let mut warning =
                        format!("{key}: unknown key (not a KubeSphere section; kept, not used)");
                    let known: Vec<&str> = ["authentication", "authorization", "auditing"]
                        .into_iter()
                        .chain(KUBESPHERE_SECTIONS.iter().copied())
                        .collect();
                    if let Some(suggestion) = suggest(&key, &known) {
                        let _ = write!(warning, "; did you mean `{suggestion}`?");
                    }
                    warnings.push(warning);
                }
                let json = to_json(&key, value)?;
                options.sections.insert(key, Opaque(json));
            }
        }
    }
    Ok(options)
}

fn read_authentication(
    value: Value,
    warnings: &mut Vec<String>,
) -> Result<AuthenticationOptions, OptionsError> {
    let mut fields = Fields::new("authentication".to_owned(), value, warnings)?;
    let mut out = AuthenticationOptions::default();
    if let Some((path, v)) = fields.take("authenticateRateLimiterMaxTries") {
        let tries = read_u32(&path, v)?;
        if tries == 0 {
            return Err(invalid(
                &path,
                "must be at least 1 (0 would lock every user out)",
            ));
        }
        out.authenticate_rate_limiter_max_tries = Some(tries);
    }
    let canonical = fields
        .take("authenticateRateLimiterDuration")
        .map(|(path, v)| read_duration(&path, v, warnings).map(|d| (path, d)))
        .transpose()?;
    // The spelling of ks-installer's values (and KubeSphere 3.0's YAML tag).
    let alias = fields
        .take("authenticationRateLimiterDuration")
        .map(|(path, v)| read_duration(&path, v, warnings).map(|d| (path, d)))
        .transpose()?;
    out.authenticate_rate_limiter_duration = match (canonical, alias) {
        (Some((path, a)), Some((other, b))) if a != b => {
            return Err(invalid(
                &path,
                format!(
                    "{} here and {} in {other}: both spellings are set and disagree; keep one",
                    format_go_duration(a),
                    format_go_duration(b)
                ),
            ));
        }
        (Some((_, d)), _) | (None, Some((_, d))) => Some(d),
        (None, None) => None,
    };
    if let Some((path, v)) = fields.take("maximumClockSkew") {
        out.maximum_clock_skew = Some(read_duration(&path, v, warnings)?);
    }
    if let Some((path, v)) = fields.take("loginHistoryRetentionPeriod") {
        out.login_history_retention_period = Some(read_duration(&path, v, warnings)?);
    }
    if let Some((path, v)) = fields.take("loginHistoryMaximumEntries") {
        out.login_history_maximum_entries = Some(read_u32(&path, v)?);
    }
    if let Some((path, v)) = fields.take("multipleLogin") {
        out.multiple_login = Some(read_bool(&path, v)?);
    }
    if let Some((path, v)) = fields.take("jwtSecret") {
        out.jwt_secret = Some(read_secret(&path, v)?);
    }
    if let Some((_, v)) = fields.take("oauthOptions") {
        out.oauth_options = read_oauth(v, warnings)?;
    }
    out.unused = fields.take_unused(&["kubectlImage"])?;
    fields.finish(warnings);
    // KubeSphere's own check (authentication.Options.Validate).
    let tries = out
        .authenticate_rate_limiter_max_tries
        .unwrap_or(defaults::MAX_TRIES);
    let entries = out
        .login_history_maximum_entries
        .unwrap_or(defaults::LOGIN_HISTORY_MAXIMUM_ENTRIES);
    if tries > entries {
        return Err(invalid(
            "authentication.authenticateRateLimiterMaxTries",
            format!(
                "{tries} is more than loginHistoryMaximumEntries ({entries}): the failures could not all be kept"
            ),
        ));
    }
    Ok(out)
}

fn read_oauth(value: Value, warnings: &mut Vec<String>) -> Result<OAuthOptions, OptionsError> {
    let mut fields = Fields::new("authentication.oauthOptions".to_owned(), value, warnings)?;
    let mut out = OAuthOptions::default();
    if let Some((path, v)) = fields.take("issuer") {
        out.issuer = Some(read_string(&path, v)?);
    }
    if let Some((path, v)) = fields.take("accessTokenMaxAge") {
        out.access_token_max_age = Some(read_duration(&path, v, warnings)?);
    }
    if let Some((path, v)) = fields.take("accessTokenInactivityTimeout") {
        out.access_token_inactivity_timeout = Some(read_duration(&path, v, warnings)?);
    }
    if let Some((path, v)) = fields.take("clients") {
        let Value::Sequence(items) = v else {
            return Err(invalid(
                &path,
                format!("expected a list of clients, found {}", describe(&v, false)),
            ));
        };
        for (i, item) in items.into_iter().enumerate() {
            let client = read_client(format!("{path}[{i}]"), item, warnings)?;
            if out.clients.iter().any(|c| c.name == client.name) {
                warnings.push(format!(
                    "{path}[{i}]: a second client named {:?}; the first one is used, as in KubeSphere",
                    client.name
                ));
            }
            out.clients.push(client);
        }
    }
    if let Some((path, v)) = fields.take("identityProviders") {
        let Value::Sequence(items) = v else {
            return Err(invalid(
                &path,
                format!(
                    "expected a list of identity providers, found {}",
                    describe(&v, false)
                ),
            ));
        };
        let mut names = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let json = to_json(&format!("{path}[{i}]"), item)?;
            names.push(
                json.get("name")
                    .and_then(|n| n.as_str())
                    .map_or_else(|| format!("#{i}"), str::to_owned),
            );
            out.identity_providers.push(Opaque(json));
        }
        if !names.is_empty() {
            warnings.push(format!(
                "{path}: identity providers are not supported yet; {} ignored: only KubeSphere users log in with their passwords",
                names.join(", ")
            ));
        }
    }
    out.unused = fields.take_unused(&["signKey", "signKeyData"])?;
    fields.finish(warnings);
    Ok(out)
}

fn read_client(
    path: String,
    value: Value,
    warnings: &mut Vec<String>,
) -> Result<OAuthClientOptions, OptionsError> {
    let mut fields = Fields::new(path.clone(), value, warnings)?;
    let mut out = OAuthClientOptions::default();
    if let Some((key, v)) = fields.take("name") {
        out.name = read_string(&key, v)?;
    }
    if out.name.is_empty() {
        return Err(invalid(
            &join(&path, "name"),
            "every client needs a name (its client_id)",
        ));
    }
    if let Some((key, v)) = fields.take("secret") {
        out.secret = read_secret(&key, v)?;
    }
    if out.secret.is_empty() {
        warnings.push(format!(
            "{path}: client {:?} has no secret: anyone may use it",
            out.name
        ));
    }
    if let Some((key, v)) = fields.take("grantMethod") {
        out.grant_method = Some(read_string(&key, v)?);
    }
    if let Some((key, v)) = fields.take("respondWithChallenges") {
        out.respond_with_challenges = Some(read_bool(&key, v)?);
    }
    if let Some((key, v)) = fields.take("redirectURIs") {
        out.redirect_uris = read_string_list(&key, v)?;
    }
    if let Some((key, v)) = fields.take("scopeRestrictions") {
        out.scope_restrictions = read_string_list(&key, v)?;
    }
    if let Some((key, v)) = fields.take("accessTokenMaxAge") {
        out.access_token_max_age = Some(read_duration(&key, v, warnings)?);
    }
    if let Some((key, v)) = fields.take("accessTokenInactivityTimeout") {
        out.access_token_inactivity_timeout = Some(read_duration(&key, v, warnings)?);
    }
    fields.finish(warnings);
    Ok(out)
}

fn read_authorization(
    value: Value,
    warnings: &mut Vec<String>,
) -> Result<AuthorizationOptions, OptionsError> {
    let mut fields = Fields::new("authorization".to_owned(), value, warnings)?;
    let mut out = AuthorizationOptions::default();
    if let Some((path, v)) = fields.take("mode") {
        out.mode = Some(parse_mode(&path, &read_string(&path, v)?)?);
    }
    fields.finish(warnings);
    Ok(out)
}

/// KubeSphere's modes, matched exactly as its `Validate` does.
fn parse_mode(path: &str, mode: &str) -> Result<Mode, OptionsError> {
    match mode {
        "RBAC" => Ok(Mode::Rbac),
        "AlwaysAllow" => Ok(Mode::AlwaysAllow),
        "AlwaysDeny" => Err(OptionsError::Unsupported {
            key: path.to_owned(),
            problem:
                "AlwaysDeny (KubeSphere's deny-everything mode) is not supported by ks-rs; use RBAC"
                    .to_owned(),
        }),
        other => Err(invalid(
            path,
            format!(
                "unknown authorization mode {:?} (expected RBAC or AlwaysAllow)",
                excerpt(other)
            ),
        )),
    }
}

fn parse_level(path: &str, level: &str) -> Result<AuditLevel, OptionsError> {
    match level {
        "None" => Ok(AuditLevel::None),
        "Metadata" => Ok(AuditLevel::Metadata),
        "Request" => Ok(AuditLevel::Request),
        "RequestResponse" => Ok(AuditLevel::RequestResponse),
        other => Err(invalid(
            path,
            format!(
                "unknown audit level {:?} (expected None, Metadata, Request or RequestResponse)",
                excerpt(other)
            ),
        )),
    }
}

fn read_auditing(
    value: Value,
    warnings: &mut Vec<String>,
) -> Result<AuditingOptions, OptionsError> {
    let mut fields = Fields::new("auditing".to_owned(), value, warnings)?;
    let mut out = AuditingOptions::default();
    if let Some((path, v)) = fields.take("enable") {
        out.enable = Some(read_bool(&path, v)?);
    }
    let canonical = fields.take("webhookUrl");
    // ks-installer's spelling, which KubeSphere's case-insensitive loader reads.
    let alias = fields.take("webhookURL");
    let url = match (canonical, alias) {
        (Some((path, _)), Some(_)) => {
            return Err(invalid(
                &path,
                "set as both webhookUrl and webhookURL; keep one",
            ));
        }
        (Some(pair), None) | (None, Some(pair)) => Some(pair),
        (None, None) => None,
    };
    if let Some((path, v)) = url {
        let url = read_string(&path, v)?;
        if !url.is_empty() {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid(
                    &path,
                    format!("{:?} is not an http:// or https:// URL", excerpt(&url)),
                ));
            }
            out.webhook_url = Some(url);
        }
    }
    if let Some((path, v)) = fields.take("eventSendersNum") {
        out.event_senders_num = Some(read_u32(&path, v)?);
    }
    if let Some((path, v)) = fields.take("eventBatchSize") {
        out.event_batch_size = Some(read_u32(&path, v)?);
    }
    if let Some((path, v)) = fields.take("eventBatchInterval") {
        out.event_batch_interval = Some(read_duration(&path, v, warnings)?);
    }
    if let Some((path, v)) = fields.take("level") {
        out.level = Some(parse_level(&path, &read_string(&path, v)?)?);
    }
    if let Some((path, v)) = fields.take("logPath") {
        let log_path = read_string(&path, v)?;
        if !log_path.is_empty() {
            out.log_path = Some(log_path);
        }
    }
    if let Some((path, v)) = fields.take("maxSize") {
        let mib = read_u64(&path, v)?;
        if mib == 0 || mib > 1024 * 1024 {
            return Err(invalid(
                &path,
                format!("{mib} MiB: expected 1 to 1048576 (MiB)"),
            ));
        }
        out.max_size = Some(mib);
    }
    if let Some((path, v)) = fields.take("maxBackups") {
        out.max_backups = Some(read_u32(&path, v)?);
    }
    out.unused = fields.take_unused(&[
        "host",
        "basicAuth",
        "username",
        "password",
        "indexPrefix",
        "version",
    ])?;
    fields.finish(warnings);
    if out.enable == Some(true) && out.webhook_url.is_none() {
        warnings.push(
            "auditing.enable: true without auditing.webhookUrl: KubeSphere would post to its in-cluster kube-auditing webhook; ks-rs posts nowhere (set webhookUrl)"
                .to_owned(),
        );
    }
    if out.enable != Some(true) && out.webhook_url.is_some() {
        warnings.push(
            "auditing.webhookUrl: set, but auditing.enable is not true, so no events are posted (as in KubeSphere)"
                .to_owned(),
        );
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// What the server reads
// ---------------------------------------------------------------------------

/// The defaults applied to absent keys, and where each comes from.
pub mod defaults {
    use std::time::Duration;

    /// `authenticateRateLimiterMaxTries`: 10, what KubeSphere's chart and
    /// ks-installer write (its code default, unused by them, is 5).
    pub const MAX_TRIES: u32 = 10;
    /// `authenticateRateLimiterDuration`: 10m, what the chart and
    /// ks-installer write (`10m0s`; the code default is 30m).
    pub const LOCKOUT_WINDOW: Duration = Duration::from_secs(10 * 60);
    /// `loginHistoryRetentionPeriod`: 168h (code and chart agree).
    pub const LOGIN_HISTORY_RETENTION: Duration = Duration::from_secs(168 * 3600);
    /// `loginHistoryMaximumEntries`: 100 (KubeSphere's code default; the
    /// chart does not write it).
    pub const LOGIN_HISTORY_MAXIMUM_ENTRIES: u32 = 100;
    /// `maximumClockSkew`: 10s (code and chart agree).
    pub const MAXIMUM_CLOCK_SKEW: Duration = Duration::from_secs(10);
    /// `multipleLogin`: true, what the chart writes (the code default is
    /// false).
    pub const MULTIPLE_LOGIN: bool = true;
    /// `oauthOptions.issuer`: `kubesphere` (`oauth.DefaultIssuer`).
    pub const ISSUER: &str = "kubesphere";
    /// `oauthOptions.accessTokenMaxAge`: 2h (`oauth.NewOptions`).
    pub const ACCESS_TOKEN_MAX_AGE: Duration = Duration::from_secs(2 * 3600);
    /// `oauthOptions.accessTokenInactivityTimeout`: 2h (`oauth.NewOptions`).
    pub const ACCESS_TOKEN_INACTIVITY_TIMEOUT: Duration = Duration::from_secs(2 * 3600);
    /// The client used when `oauthOptions.clients` is empty: the one the
    /// chart's values configure (`kubesphere`, secret `kubesphere`).
    pub const CLIENT_NAME: &str = "kubesphere";
    /// The default client's secret.
    pub const CLIENT_SECRET: &str = "kubesphere";
    /// `auditing.eventBatchSize` when absent or 0: 100
    /// (`auditing.DefaultBatchSize`).
    pub const EVENT_BATCH_SIZE: usize = 100;
    /// `auditing.eventBatchInterval` when absent or 0: 3s
    /// (`auditing.DefaultBatchInterval`).
    pub const EVENT_BATCH_INTERVAL: Duration = Duration::from_secs(3);
    /// `auditing.maxSize` (ks-rs): 100 MiB.
    pub const AUDIT_MAX_SIZE_MIB: u64 = 100;
    /// `auditing.maxBackups` (ks-rs): 5.
    pub const AUDIT_MAX_BACKUPS: usize = 5;
}

/// The configuration in force: the file with defaults applied
/// ([`EffectiveOptions::from_options`]), then the command-line flags
/// ([`EffectiveOptions::with_flags`]). Precedence: flags > file >
/// defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct EffectiveOptions {
    /// Logins and tokens.
    pub authentication: EffectiveAuthentication,
    /// How requests are authorized.
    pub authorization: Mode,
    /// What is audited, and where it goes.
    pub auditing: EffectiveAuditing,
}

/// Logins and tokens in force.
#[derive(Clone, Debug, PartialEq)]
pub struct EffectiveAuthentication {
    /// Failed logins within `lockout_window` that lock a user.
    pub max_tries: u32,
    /// The failure window, and how long a lock lasts.
    pub lockout_window: Duration,
    /// How long login records are kept.
    pub login_history_retention: Duration,
    /// Login records kept per user.
    pub login_history_max_entries: u32,
    /// Tolerated clock difference when checking tokens.
    pub maximum_clock_skew: Duration,
    /// Whether a user may hold several sessions.
    pub multiple_login: bool,
    /// The tokens' HS256 key; `None` (absent or empty) lets the server
    /// read or create `DATA/jwt-secret`.
    pub jwt_secret: Option<Secret>,
    /// The tokens' issuer.
    pub issuer: String,
    /// An access token's lifetime; `None` when the file says 0: tokens
    /// never expire (KubeSphere's chart sets that on member clusters).
    pub access_token_max_age: Option<Duration>,
    /// How much longer a refresh token lives than its access token.
    pub access_token_inactivity_timeout: Duration,
    /// The OAuth clients (never empty).
    pub clients: Vec<crate::oauth::Client>,
}

impl EffectiveAuthentication {
    /// The lockout for [`crate::authn::login::Logins`].
    pub fn lockout(&self) -> crate::authn::login::Lockout {
        crate::authn::login::Lockout {
            max_tries: self.max_tries,
            window: self.lockout_window,
        }
    }

    /// The token lifetimes for [`crate::authn::Tokens`]; tokens that never
    /// expire are not supported by the server yet, which is
    /// [`OptionsError::Unsupported`].
    pub fn token_policy(&self) -> Result<crate::authn::TokenPolicy, OptionsError> {
        let access_max_age = self.access_token_max_age.ok_or_else(|| OptionsError::Unsupported {
            key: "authentication.oauthOptions.accessTokenMaxAge".to_owned(),
            problem: "0 (tokens that never expire) is not supported by ks-rs yet; set a lifetime such as 2h".to_owned(),
        })?;
        Ok(crate::authn::TokenPolicy {
            access_max_age,
            inactivity_timeout: self.access_token_inactivity_timeout,
            multiple_login: self.multiple_login,
        })
    }
}

/// Auditing in force.
#[derive(Clone, Debug, PartialEq)]
pub struct EffectiveAuditing {
    /// The level requests are recorded at; `None` turns auditing off (no
    /// log, no webhook).
    pub level: AuditLevel,
    /// The log; `None` leaves it to the server (`DATA/audit.log`).
    pub log_path: Option<AuditSink>,
    /// A log file is rotated before it would grow past this.
    pub max_size_bytes: u64,
    /// Rotated files kept.
    pub max_backups: usize,
    /// KubeSphere's auditing webhook, when `enable` is true and a
    /// `webhookUrl` is set (or `--audit-webhook-url` is given).
    pub webhook: Option<EffectiveWebhook>,
}

/// KubeSphere's auditing webhook in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectiveWebhook {
    /// Where batches are posted.
    pub url: String,
    /// The most events in one POST.
    pub batch_size: usize,
    /// How long a batch waits to fill.
    pub batch_interval: Duration,
}

/// The command-line flags that override the file (`None`: not given).
/// Flags whose clap definition has a default must be `Option`s there too,
/// or the default would always override the file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FlagOverrides {
    /// `--authorization-mode`.
    pub authorization_mode: Option<Mode>,
    /// `--audit-level`.
    pub audit_level: Option<AuditLevel>,
    /// `--audit-log-path` (`-`: standard output).
    pub audit_log_path: Option<AuditSink>,
    /// `--audit-webhook-url`: posts to this webhook whatever
    /// `auditing.enable` says, keeping the file's batch settings.
    pub audit_webhook_url: Option<String>,
}

impl Default for EffectiveOptions {
    /// The defaults alone (no file, no flags).
    fn default() -> Self {
        EffectiveOptions::from_options(&KubeSphereOptions::default())
    }
}

impl EffectiveOptions {
    /// The file's options with defaults for what it leaves out.
    pub fn from_options(file: &KubeSphereOptions) -> Self {
        let authn = &file.authentication;
        let oauth = &authn.oauth_options;
        let mut clients: Vec<crate::oauth::Client> = Vec::new();
        for client in &oauth.clients {
            // KubeSphere takes the first client of a name.
            if !clients.iter().any(|c| c.id == client.name) {
                clients.push(crate::oauth::Client {
                    id: client.name.clone(),
                    secret: client.secret.expose().to_owned(),
                });
            }
        }
        if clients.is_empty() {
            clients.push(crate::oauth::Client {
                id: defaults::CLIENT_NAME.to_owned(),
                secret: defaults::CLIENT_SECRET.to_owned(),
            });
        }
        let authentication = EffectiveAuthentication {
            max_tries: authn
                .authenticate_rate_limiter_max_tries
                .unwrap_or(defaults::MAX_TRIES),
            lockout_window: authn
                .authenticate_rate_limiter_duration
                .unwrap_or(defaults::LOCKOUT_WINDOW),
            login_history_retention: authn
                .login_history_retention_period
                .unwrap_or(defaults::LOGIN_HISTORY_RETENTION),
            login_history_max_entries: authn
                .login_history_maximum_entries
                .unwrap_or(defaults::LOGIN_HISTORY_MAXIMUM_ENTRIES),
            maximum_clock_skew: authn
                .maximum_clock_skew
                .unwrap_or(defaults::MAXIMUM_CLOCK_SKEW),
            multiple_login: authn.multiple_login.unwrap_or(defaults::MULTIPLE_LOGIN),
            jwt_secret: authn.jwt_secret.clone().filter(|s| !s.is_empty()),
            issuer: oauth
                .issuer
                .clone()
                .filter(|i| !i.is_empty())
                .unwrap_or_else(|| defaults::ISSUER.to_owned()),
            access_token_max_age: Some(
                oauth
                    .access_token_max_age
                    .unwrap_or(defaults::ACCESS_TOKEN_MAX_AGE),
            )
            .filter(|d| !d.is_zero()),
            access_token_inactivity_timeout: oauth
                .access_token_inactivity_timeout
                .unwrap_or(defaults::ACCESS_TOKEN_INACTIVITY_TIMEOUT),
            clients,
        };
        let audit = &file.auditing;
        let webhook = match (&audit.webhook_url, audit.enable) {
            (Some(url), Some(true)) => Some(webhook_for(url.clone(), audit)),
            _ => None,
        };
        let auditing = EffectiveAuditing {
            level: audit.level.unwrap_or_default(),
            log_path: audit.log_path.as_deref().map(|p| match p {
                "-" => AuditSink::Stdout,
                path => AuditSink::Path(PathBuf::from(path)),
            }),
            max_size_bytes: audit.max_size.unwrap_or(defaults::AUDIT_MAX_SIZE_MIB) * 1024 * 1024,
            max_backups: audit
                .max_backups
                .map_or(defaults::AUDIT_MAX_BACKUPS, |n| n as usize),
            webhook,
        };
        EffectiveOptions {
            authentication,
            authorization: file.authorization.mode.unwrap_or_default(),
            auditing,
        }
    }

    /// These options with the flags that were given on top.
    pub fn with_flags(mut self, flags: &FlagOverrides) -> Self {
        if let Some(mode) = flags.authorization_mode {
            self.authorization = mode;
        }
        if let Some(level) = flags.audit_level {
            self.auditing.level = level;
        }
        if let Some(sink) = &flags.audit_log_path {
            self.auditing.log_path = Some(sink.clone());
        }
        if let Some(url) = &flags.audit_webhook_url {
            let (batch_size, batch_interval) = match &self.auditing.webhook {
                Some(w) => (w.batch_size, w.batch_interval),
                None => (defaults::EVENT_BATCH_SIZE, defaults::EVENT_BATCH_INTERVAL),
            };
            self.auditing.webhook = Some(EffectiveWebhook {
                url: url.clone(),
                batch_size,
                batch_interval,
            });
        }
        self
    }

    /// The options in KubeSphere's key names, durations in Go's form, for
    /// the server to report (secrets left out: the JWT secret and client
    /// secrets never appear).
    pub fn report(&self) -> serde_json::Value {
        let authn = &self.authentication;
        let mode = match self.authorization {
            Mode::Rbac => "RBAC",
            Mode::AlwaysAllow => "AlwaysAllow",
        };
        let clients: Vec<serde_json::Value> = authn
            .clients
            .iter()
            .map(|c| serde_json::json!({ "name": c.id }))
            .collect();
        let mut auditing = serde_json::json!({
            "enable": self.auditing.webhook.is_some(),
            "level": self.auditing.level.as_str(),
            "maxSize": self.auditing.max_size_bytes / (1024 * 1024),
            "maxBackups": self.auditing.max_backups,
        });
        if let Some(sink) = &self.auditing.log_path {
            auditing["logPath"] = serde_json::Value::from(match sink {
                AuditSink::Stdout => "-".to_owned(),
                AuditSink::Path(path) => path.display().to_string(),
            });
        }
        if let Some(webhook) = &self.auditing.webhook {
            auditing["webhookUrl"] = serde_json::Value::from(webhook.url.clone());
            auditing["eventBatchSize"] = serde_json::Value::from(webhook.batch_size);
            auditing["eventBatchInterval"] =
                serde_json::Value::from(format_go_duration(webhook.batch_interval));
        }
        serde_json::json!({
            "authentication": {
                "authenticateRateLimiterMaxTries": authn.max_tries,
                "authenticateRateLimiterDuration": format_go_duration(authn.lockout_window),
                "loginHistoryRetentionPeriod": format_go_duration(authn.login_history_retention),
                "loginHistoryMaximumEntries": authn.login_history_max_entries,
                "maximumClockSkew": format_go_duration(authn.maximum_clock_skew),
                "multipleLogin": authn.multiple_login,
                "oauthOptions": {
                    "issuer": authn.issuer,
                    "accessTokenMaxAge": format_go_duration(authn.access_token_max_age.unwrap_or_default()),
                    "accessTokenInactivityTimeout": format_go_duration(authn.access_token_inactivity_timeout),
                    "clients": clients,
                },
            },
            "authorization": { "mode": mode },
            "auditing": auditing,
        })
    }
}

/// The webhook at `url` with the file's batch settings (0 or absent:
/// KubeSphere's defaults).
fn webhook_for(url: String, audit: &AuditingOptions) -> EffectiveWebhook {
    EffectiveWebhook {
        url,
        batch_size: audit
            .event_batch_size
            .filter(|&n| n > 0)
            .map_or(defaults::EVENT_BATCH_SIZE, |n| n as usize),
        batch_interval: audit
            .event_batch_interval
            .filter(|d| !d.is_zero())
            .unwrap_or(defaults::EVENT_BATCH_INTERVAL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Loaded {
        match KubeSphereOptions::from_str(text) {
            Ok(loaded) => loaded,
            Err(e) => panic!("{text:?} did not load: {e}"),
        }
    }

    fn load_err(text: &str) -> String {
        match KubeSphereOptions::from_str(text) {
            Ok(loaded) => panic!("{text:?} loaded: {loaded:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name)
    }

    const NS: u64 = 1;
    const US: u64 = 1_000;
    const MS: u64 = 1_000_000;
    const S: u64 = 1_000_000_000;
    const M: u64 = 60 * S;
    const H: u64 = 3600 * S;

    /// Go's `time.ParseDuration` on these (its `format_test.go` cases and
    /// the edges of its grammar), nanoseconds.
    const VALID_DURATIONS: &[(&str, u64)] = &[
        ("0", 0),
        ("+0", 0),
        ("-0", 0),
        ("0s", 0),
        ("-0s", 0),
        ("5s", 5 * S),
        ("30s", 30 * S),
        ("1478s", 1478 * S),
        ("+5s", 5 * S),
        ("5.0s", 5 * S),
        ("5.6s", 5 * S + 600 * MS),
        ("5.s", 5 * S),
        ("1.s", S),
        (".5s", 500 * MS),
        ("1.0s", S),
        ("1.00s", S),
        ("1.004s", S + 4 * MS),
        ("1.0040s", S + 4 * MS),
        ("100.00100s", 100 * S + MS),
        ("10ns", 10 * NS),
        ("11us", 11 * US),
        ("12µs", 12 * US),
        ("12μs", 12 * US),
        ("13ms", 13 * MS),
        ("14s", 14 * S),
        ("15m", 15 * M),
        ("16h", 16 * H),
        ("3h30m", 3 * H + 30 * M),
        ("10.5s4m", 4 * M + 10 * S + 500 * MS),
        (
            "1h2m3s4ms5us6ns",
            H + 2 * M + 3 * S + 4 * MS + 5 * US + 6 * NS,
        ),
        ("39h9m14.425s", 39 * H + 9 * M + 14 * S + 425 * MS),
        ("52763797000ns", 52763797000 * NS),
        ("0.3333333333333333333h", 20 * M),
        ("9007199254740993ns", (1 << 53) + 1),
        ("9223372036854775807ns", GO_MAX_NANOS),
        ("9223372036854775.807us", GO_MAX_NANOS),
        ("9223372036s854ms775us807ns", GO_MAX_NANOS),
        ("0.100000000000000000000h", 6 * M),
        ("0.830103483285477580700h", 49 * M + 48 * S + 372539827 * NS),
        ("2h0m0s", 2 * H),
        ("1h0m0.5s", H + 500 * MS),
        ("10m0s", 10 * M),
        ("168h", 168 * H),
        ("1.5h", 90 * M),
        ("500ms", 500 * MS),
        ("1h30m", 90 * M),
    ];

    const INVALID_DURATIONS: &[&str] = &[
        "",
        "3",
        "-",
        "+",
        "s",
        ".",
        "-.",
        ".s",
        "+.s",
        "1d",
        "1w",
        "1 h",
        " 1h",
        "1h ",
        "1H",
        "1S",
        "1hh",
        "1..5s",
        "1.5.s",
        "1s2",
        "\u{0}1s",
        "1e3s",
        "0x10s",
        "9223372036854775808ns",
        "9223372036854775807ns1ns",
        "3000000h",
        "9223372036854775808ns9223372036854775808ns",
        "-1s",
        "-1ns",
        "-0.5s",
        "-2h0m0s",
        "1ns-1ns",
    ];

    #[test]
    fn parses_go_durations() {
        for &(text, nanos) in VALID_DURATIONS {
            assert_eq!(
                parse_go_duration(text),
                Ok(Duration::from_nanos(nanos)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn refuses_what_go_refuses_and_negatives() {
        for &text in INVALID_DURATIONS {
            assert!(parse_go_duration(text).is_err(), "{text:?} was accepted");
        }
        assert!(matches!(
            parse_go_duration("1d"),
            Err(DurationError::UnknownUnit { unit, .. }) if unit == "d"
        ));
        assert!(matches!(
            parse_go_duration("3"),
            Err(DurationError::MissingUnit { .. })
        ));
        assert!(matches!(
            parse_go_duration("-1s"),
            Err(DurationError::Negative { .. })
        ));
        assert!(matches!(
            parse_go_duration("9223372036854775808ns"),
            Err(DurationError::Overflow { .. })
        ));
        let long = "1".repeat(MAX_DURATION_TEXT) + "s";
        assert_eq!(
            parse_go_duration(&long),
            Err(DurationError::TooLong { len: long.len() })
        );
        // Exactly at the limit is read (and is too long a number).
        let at_limit = "1".repeat(MAX_DURATION_TEXT - 1) + "s";
        assert!(matches!(
            parse_go_duration(&at_limit),
            Err(DurationError::Overflow { .. })
        ));
    }

    /// Go's `Duration.String()` on these (its `format_test.go` cases).
    const FORMATTED: &[(u64, &str)] = &[
        (0, "0s"),
        (1, "1ns"),
        (1_100, "1.1µs"),
        (2_200_000, "2.2ms"),
        (3_300_000_000, "3.3s"),
        (4 * M + 5 * S, "4m5s"),
        (4 * M + 5_001 * MS, "4m5.001s"),
        (5 * H + 6 * M + 7_001 * MS, "5h6m7.001s"),
        (8 * M + 1, "8m0.000000001s"),
        (GO_MAX_NANOS, "2562047h47m16.854775807s"),
        (2 * H, "2h0m0s"),
        (10 * M, "10m0s"),
        (M, "1m0s"),
        (59 * S, "59s"),
        (999_999_999, "999.999999ms"),
        (999, "999ns"),
        (1_000, "1µs"),
        (H + 500 * MS, "1h0m0.5s"),
    ];

    #[test]
    fn formats_as_go() {
        for &(nanos, text) in FORMATTED {
            assert_eq!(format_go_duration(Duration::from_nanos(nanos)), text);
            assert_eq!(
                parse_go_duration(text),
                Ok(Duration::from_nanos(nanos)),
                "{text}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn prop_format_then_parse_is_identity(nanos in 0..=GO_MAX_NANOS) {
            let d = Duration::from_nanos(nanos);
            proptest::prop_assert_eq!(parse_go_duration(&format_go_duration(d)), Ok(d));
        }

        #[test]
        fn prop_small_durations_round_trip(nanos in 0..10 * H) {
            let d = Duration::from_nanos(nanos);
            proptest::prop_assert_eq!(parse_go_duration(&format_go_duration(d)), Ok(d));
        }

        #[test]
        fn prop_hms_sums(h in 0..100_000u64, m in 0..1000u64, s in 0..1000u64) {
            let text = format!("{h}h{m}m{s}s");
            proptest::prop_assert_eq!(
                parse_go_duration(&text),
                Ok(Duration::from_secs(h * 3600 + m * 60 + s))
            );
        }

        #[test]
        fn prop_parse_never_panics(text in "[-+.0-9a-zµμ ]{0,40}") {
            let _ = parse_go_duration(&text);
        }
    }

    #[test]
    fn gpu_kinds_come_from_the_gpu_section() {
        use crate::kapis::config::GpuKind;
        assert_eq!(load("").options.gpu_kinds(), Ok(Vec::new()));
        assert_eq!(load("gpu: {}\n").options.gpu_kinds(), Ok(Vec::new()));
        let text = "GPU:\n  Kinds:\n  - resourceName: nvidia.com/gpu\n    resourceType: GPU\n    default: true\n";
        assert_eq!(
            load(text).options.gpu_kinds(),
            Ok(vec![GpuKind {
                resource_name: "nvidia.com/gpu".into(),
                resource_type: "GPU".into(),
                default: true,
            }])
        );
        let bad = load("gpu:\n  kinds: nvidia.com/gpu\n").options.gpu_kinds();
        assert!(
            bad.as_ref().is_err_and(|e| e.starts_with("gpu.kinds: ")),
            "{bad:?}"
        );
    }

    #[test]
    fn the_charts_kubesphere_yaml_loads_with_defaults() {
        let loaded = match KubeSphereOptions::load(fixture("kubesphere-3.4.yaml")) {
            Ok(loaded) => loaded,
            Err(e) => panic!("fixture: {e}"),
        };
        assert_eq!(loaded.warnings, Vec::<String>::new());
        let options = &loaded.options;
        let authn = &options.authentication;
        assert_eq!(authn.authenticate_rate_limiter_max_tries, Some(10));
        assert_eq!(
            authn.authenticate_rate_limiter_duration,
            Some(Duration::from_secs(600))
        );
        assert_eq!(authn.login_history_maximum_entries, None);
        assert_eq!(
            authn.jwt_secret.as_ref().map(Secret::expose),
            Some("ks-rs-fixture-jwt-secret-0123456789")
        );
        assert_eq!(authn.oauth_options.clients.len(), 1);
        assert_eq!(
            authn.oauth_options.clients[0].redirect_uris,
            vec!["*".to_owned()]
        );
        assert!(authn.unused.contains_key("kubectlImage"));
        assert_eq!(
            options
                .sections
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            [
                "alerting",
                "devops",
                "events",
                "gateway",
                "kubeedge",
                "ldap",
                "logging",
                "monitoring",
                "multicluster",
                "network",
                "notification",
                "openpitrix",
                "redis",
                "s3",
                "servicemesh",
                "sonarQube",
                "terminal",
            ]
        );
        assert_eq!(
            options.sections["monitoring"].as_json()["endpoint"],
            "http://prometheus-operated.kubesphere-monitoring-system.svc:9090"
        );
        assert_eq!(
            options.auditing.webhook_url.as_deref(),
            Some(
                "https://kube-auditing-webhook-svc.kubesphere-logging-system.svc:6443/audit/webhook/event"
            )
        );

        let effective = options.effective();
        let authn = &effective.authentication;
        assert_eq!(authn.max_tries, 10);
        assert_eq!(authn.lockout_window, Duration::from_secs(600));
        assert_eq!(
            authn.login_history_retention,
            Duration::from_secs(168 * 3600)
        );
        assert_eq!(authn.login_history_max_entries, 100);
        assert_eq!(authn.maximum_clock_skew, Duration::from_secs(10));
        assert!(authn.multiple_login);
        assert_eq!(authn.issuer, "kubesphere");
        assert_eq!(authn.access_token_max_age, Some(Duration::from_secs(7200)));
        assert_eq!(
            authn.access_token_inactivity_timeout,
            Duration::from_secs(7200)
        );
        assert_eq!(authn.clients, [crate::oauth::Client::kubesphere_default()]);
        assert_eq!(effective.authorization, Mode::Rbac);
        assert_eq!(effective.auditing.level, AuditLevel::Metadata);
        assert_eq!(effective.auditing.log_path, None);
        assert_eq!(
            effective.auditing.webhook,
            Some(EffectiveWebhook {
                url: "https://kube-auditing-webhook-svc.kubesphere-logging-system.svc:6443/audit/webhook/event".to_owned(),
                batch_size: 100,
                batch_interval: Duration::from_secs(3),
            })
        );
    }

    #[test]
    fn a_member_clusters_file_loads() {
        let loaded = match KubeSphereOptions::load(fixture("kubesphere-member.yaml")) {
            Ok(loaded) => loaded,
            Err(e) => panic!("fixture: {e}"),
        };
        assert_eq!(
            loaded.warnings,
            ["authentication.maxAuthenticateRetries: unknown key"]
        );
        let authn = &loaded.options.authentication;
        // The chart's spelling of the values key.
        assert_eq!(
            authn.authenticate_rate_limiter_duration,
            Some(Duration::from_secs(30 * 60))
        );
        assert_eq!(authn.multiple_login, Some(false));
        let effective = loaded.options.effective();
        assert_eq!(effective.authentication.access_token_max_age, None);
        assert!(matches!(
            effective.authentication.token_policy(),
            Err(OptionsError::Unsupported { key, .. }) if key == "authentication.oauthOptions.accessTokenMaxAge"
        ));
        assert_eq!(effective.authentication.lockout().max_tries, 5);
        assert!(effective.auditing.webhook.is_none());
    }

    #[test]
    fn a_configmap_manifest_is_read_through() {
        let loaded = load(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kubesphere-config\n  namespace: kubesphere-system\ndata:\n  kubesphere.yaml: |\n    authentication:\n      authenticateRateLimiterMaxTries: 7\n",
        );
        assert_eq!(
            loaded
                .options
                .authentication
                .authenticate_rate_limiter_max_tries,
            Some(7)
        );
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }

    #[test]
    fn an_empty_file_is_all_defaults() {
        for text in [
            "",
            "---\n",
            "# nothing\n",
            "~\n",
            "{}\n",
            "authentication:\n",
        ] {
            let loaded = load(text);
            assert_eq!(loaded.options, KubeSphereOptions::default(), "{text:?}");
            assert!(loaded.warnings.is_empty());
        }
        let effective = EffectiveOptions::default();
        assert_eq!(effective.authentication.lockout(), Default::default());
        assert_eq!(
            effective.authentication.token_policy().ok(),
            Some(crate::authn::TokenPolicy::default())
        );
    }

    #[test]
    fn both_spellings_of_the_lockout_window() {
        let canonical = load("authentication:\n  authenticateRateLimiterDuration: 15m\n");
        let alias = load("authentication:\n  authenticationRateLimiterDuration: 15m\n");
        let both = load(
            "authentication:\n  authenticateRateLimiterDuration: 15m\n  authenticationRateLimiterDuration: 900s\n",
        );
        for loaded in [canonical, alias, both] {
            assert_eq!(
                loaded
                    .options
                    .authentication
                    .authenticate_rate_limiter_duration,
                Some(Duration::from_secs(900))
            );
            assert!(loaded.warnings.is_empty());
        }
        assert_eq!(
            load_err(
                "authentication:\n  authenticateRateLimiterDuration: 15m\n  authenticationRateLimiterDuration: 30m\n"
            ),
            "authentication.authenticateRateLimiterDuration: 15m0s here and 30m0s in authentication.authenticationRateLimiterDuration: both spellings are set and disagree; keep one"
        );
    }

    #[test]
    fn unknown_keys_are_warnings_with_paths() {
        let loaded = load(
            "authentication:\n  jwtSecret: abc\n  oauthOptions:\n    acessTokenMaxAge: 1h\n    clients:\n    - name: console\n      secret: s\n      redirectUris: ['*']\n  MultipleLogin: false\n  favouriteColour: blue\nauthorization:\n  mod: RBAC\nauditing:\n  enable: false\n  eventBatchSise: 5\n  1: one\nmonitoring:\n  endpoint: http://prometheus:9090\nMonitoring: {}\nmonitorng: {}\nextensions: {}\n",
        );
        assert_eq!(
            loaded.warnings,
            [
                "authentication.oauthOptions.clients[0].redirectUris: unknown key; did you mean `redirectURIs`?",
                "authentication.oauthOptions.acessTokenMaxAge: unknown key; did you mean `accessTokenMaxAge`?",
                "authentication.MultipleLogin: unknown key; did you mean `multipleLogin`?",
                "authentication.favouriteColour: unknown key",
                "authorization.mod: unknown key; did you mean `mode`?",
                "auditing.1: unknown key",
                "auditing.eventBatchSise: unknown key; did you mean `eventBatchSize`?",
                "monitorng: unknown key (not a KubeSphere section; kept, not used); did you mean `monitoring`?",
                "extensions: unknown key (not a KubeSphere section; kept, not used)",
            ]
        );
        // Unknown keys change nothing; unknown sections are kept.
        assert_eq!(loaded.options.authentication.multiple_login, None);
        assert_eq!(loaded.options.authorization.mode, None);
        assert!(loaded.options.sections.contains_key("extensions"));
        assert!(loaded.options.sections.contains_key("Monitoring"));
    }

    #[test]
    fn bad_values_are_errors_with_paths() {
        let cases: &[(&str, &str)] = &[
            (
                "authentication:\n  authenticateRateLimiterMaxTries: ten\n",
                "authentication.authenticateRateLimiterMaxTries: expected a whole number, found a string \"ten\"",
            ),
            (
                "authentication:\n  authenticateRateLimiterMaxTries: -1\n",
                "authentication.authenticateRateLimiterMaxTries: -1 is negative",
            ),
            (
                "authentication:\n  authenticateRateLimiterMaxTries: 0\n",
                "authentication.authenticateRateLimiterMaxTries: must be at least 1 (0 would lock every user out)",
            ),
            (
                "authentication:\n  authenticateRateLimiterMaxTries: 101\n",
                "authentication.authenticateRateLimiterMaxTries: 101 is more than loginHistoryMaximumEntries (100): the failures could not all be kept",
            ),
            (
                "authentication:\n  loginHistoryRetentionPeriod: 7d\n",
                "authentication.loginHistoryRetentionPeriod: unknown unit \"d\" in duration \"7d\" (units: ns, us, µs, ms, s, m, h)",
            ),
            (
                "authentication:\n  oauthOptions:\n    accessTokenMaxAge: -2h\n",
                "authentication.oauthOptions.accessTokenMaxAge: duration \"-2h\" is negative",
            ),
            (
                "authentication:\n  oauthOptions:\n    accessTokenMaxAge: -5\n",
                "authentication.oauthOptions.accessTokenMaxAge: duration -5 is negative",
            ),
            (
                "authentication:\n  oauthOptions:\n    accessTokenInactivityTimeout: 1.5\n",
                "authentication.oauthOptions.accessTokenInactivityTimeout: 1.5 has no unit; write a duration such as 1.5s or 1.5h",
            ),
            (
                "authentication:\n  oauthOptions:\n    clients:\n    - secret: x\n",
                "authentication.oauthOptions.clients[0].name: every client needs a name (its client_id)",
            ),
            (
                "authentication:\n  oauthOptions:\n    clients:\n    - name: a\n      redirectURIs: ['*', 3]\n",
                "authentication.oauthOptions.clients[0].redirectURIs[1]: expected a string, found a number 3",
            ),
            (
                "authentication:\n  multipleLogin: yes\n",
                "authentication.multipleLogin: expected true or false, found a string \"yes\"",
            ),
            (
                "authentication: [1, 2]\n",
                "authentication: expected a mapping, found a list",
            ),
            (
                "authorization:\n  mode: rbac\n",
                "authorization.mode: unknown authorization mode \"rbac\" (expected RBAC or AlwaysAllow)",
            ),
            (
                "authorization:\n  mode: AlwaysDeny\n",
                "authorization.mode: AlwaysDeny (KubeSphere's deny-everything mode) is not supported by ks-rs; use RBAC",
            ),
            (
                "auditing:\n  level: Verbose\n",
                "auditing.level: unknown audit level \"Verbose\" (expected None, Metadata, Request or RequestResponse)",
            ),
            (
                "auditing:\n  eventBatchInterval: 3\n  eventBatchSize: many\n",
                "auditing.eventBatchSize: expected a whole number, found a string \"many\"",
            ),
            (
                "auditing:\n  webhookUrl: kube-auditing:6443\n",
                "auditing.webhookUrl: \"kube-auditing:6443\" is not an http:// or https:// URL",
            ),
            (
                "auditing:\n  webhookUrl: http://a\n  webhookURL: http://a\n",
                "auditing.webhookUrl: set as both webhookUrl and webhookURL; keep one",
            ),
            (
                "auditing:\n  maxSize: 0\n",
                "auditing.maxSize: 0 MiB: expected 1 to 1048576 (MiB)",
            ),
            (
                "- a\n- b\n",
                "(top level): expected a mapping, found a list",
            ),
        ];
        for &(text, expected) in cases {
            assert_eq!(load_err(text), expected, "{text:?}");
        }
    }

    #[test]
    fn yaml_errors_and_limits() {
        assert!(load_err("authentication: {\n").starts_with("not valid YAML: "));
        assert_eq!(
            load_err("authorization:\n  mode: RBAC\n---\nauthorization:\n  mode: AlwaysAllow\n"),
            OptionsError::MultipleDocuments.to_string()
        );
        // A duplicate key names the key, never the values.
        let error = load_err("authentication:\n  jwtSecret: one-SECRET\n  jwtSecret: two-SECRET\n");
        assert!(
            error.starts_with("not valid YAML: ") && error.contains("jwtSecret"),
            "{error}"
        );
        assert!(!error.contains("SECRET"), "{error}");
        let big = format!("# {}\n", "x".repeat(MAX_FILE_BYTES as usize));
        assert!(matches!(
            KubeSphereOptions::from_str(&big),
            Err(OptionsError::TooLarge { .. })
        ));
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(e) => panic!("tempdir: {e}"),
        };
        let path = dir.path().join("kubesphere.yaml");
        if let Err(e) = std::fs::write(&path, &big) {
            panic!("write: {e}");
        }
        assert!(matches!(
            KubeSphereOptions::load(&path),
            Err(OptionsError::TooLarge { .. })
        ));
        assert!(matches!(
            KubeSphereOptions::load(dir.path().join("missing.yaml")),
            Err(OptionsError::Read { .. })
        ));
        // Merge keys, as Go's YAML reads them.
        let loaded = load(
            "common: &times\n  accessTokenMaxAge: 1h\nauthentication:\n  oauthOptions:\n    <<: *times\n    accessTokenInactivityTimeout: 30m\n",
        );
        assert_eq!(
            loaded
                .options
                .authentication
                .oauth_options
                .access_token_max_age,
            Some(Duration::from_secs(3600))
        );
    }

    #[test]
    fn bare_integer_durations_are_nanoseconds() {
        let loaded = load(
            "authentication:\n  oauthOptions:\n    accessTokenMaxAge: 0\n    accessTokenInactivityTimeout: 7200\n",
        );
        let oauth = &loaded.options.authentication.oauth_options;
        assert_eq!(oauth.access_token_max_age, Some(Duration::ZERO));
        assert_eq!(
            oauth.access_token_inactivity_timeout,
            Some(Duration::from_nanos(7200))
        );
        assert_eq!(
            loaded.warnings,
            [
                "authentication.oauthOptions.accessTokenInactivityTimeout: 7200 has no unit and is read as 7200 nanoseconds (7.2µs), as KubeSphere does; write a unit, e.g. 7200s"
            ]
        );
    }

    #[test]
    fn secrets_stay_out_of_debug_and_errors() {
        let loaded = load(
            "authentication:\n  jwtSecret: \"jwt-SECRET-value\"\n  oauthOptions:\n    clients:\n    - name: console\n      secret: client-SECRET-value\n    identityProviders:\n    - name: ldap\n      type: LDAPIdentityProvider\n      provider:\n        managerPassword: idp-SECRET-value\nauditing:\n  password: es-SECRET-value\nldap:\n  managerPassword: ldap-SECRET-value\n",
        );
        let debug = format!("{loaded:?} {:?}", loaded.options.effective());
        assert!(!debug.contains("SECRET"), "{debug}");
        assert!(debug.contains("Secret(<redacted>)"));
        let report = loaded.options.effective().report().to_string();
        assert!(!report.contains("SECRET"), "{report}");
        assert_eq!(
            loaded.warnings,
            [
                "authentication.oauthOptions.identityProviders: identity providers are not supported yet; ldap ignored: only KubeSphere users log in with their passwords"
            ]
        );
        assert_eq!(
            loaded.options.authentication.oauth_options.clients[0]
                .secret
                .expose(),
            "client-SECRET-value"
        );
        // A secret of the wrong type: the error shows neither value nor type text.
        for text in [
            "authentication:\n  jwtSecret: 123456789\n",
            "authentication:\n  jwtSecret: [SECRET]\n",
            "authentication:\n  oauthOptions:\n    clients:\n    - name: a\n      secret: 987654321\n",
        ] {
            let error = load_err(text);
            assert!(
                !error.contains("SECRET")
                    && !error.contains("123456789")
                    && !error.contains("987654321"),
                "{error}"
            );
            assert!(error.contains("not shown: it is a secret"), "{error}");
        }
    }

    #[test]
    fn clients_default_and_first_of_a_name_wins() {
        let effective = load("authentication:\n  oauthOptions:\n    clients: []\n")
            .options
            .effective();
        assert_eq!(
            effective.authentication.clients,
            [crate::oauth::Client::kubesphere_default()]
        );
        let loaded = load(
            "authentication:\n  oauthOptions:\n    clients:\n    - name: a\n      secret: one\n    - name: a\n      secret: two\n    - name: open\n",
        );
        assert_eq!(
            loaded.warnings,
            [
                "authentication.oauthOptions.clients[1]: a second client named \"a\"; the first one is used, as in KubeSphere",
                "authentication.oauthOptions.clients[2]: client \"open\" has no secret: anyone may use it",
            ]
        );
        let clients = loaded.options.effective().authentication.clients;
        assert_eq!(clients.len(), 2);
        assert_eq!(clients[0].secret, "one");
        assert_eq!(clients[1].secret, "");
    }

    #[test]
    fn auditing_maps_kubespheres_keys_and_ours() {
        let loaded = load(
            "auditing:\n  enable: true\n  webhookURL: http://127.0.0.1:9000/audit\n  eventSendersNum: 10\n  eventBatchSize: 0\n  eventBatchInterval: 2s\n  host: http://elasticsearch:9200\n  indexPrefix: ks-logstash-auditing\n  level: RequestResponse\n  logPath: '-'\n  maxSize: 10\n  maxBackups: 0\n",
        );
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        let auditing = loaded.options.effective().auditing;
        assert_eq!(auditing.level, AuditLevel::RequestResponse);
        assert_eq!(auditing.log_path, Some(AuditSink::Stdout));
        assert_eq!(auditing.max_size_bytes, 10 * 1024 * 1024);
        assert_eq!(auditing.max_backups, 0);
        assert_eq!(
            auditing.webhook,
            Some(EffectiveWebhook {
                url: "http://127.0.0.1:9000/audit".to_owned(),
                batch_size: 100,
                batch_interval: Duration::from_secs(2),
            })
        );
        // enable without a URL, and a URL without enable: warnings, no webhook.
        let loaded = load("auditing:\n  enable: true\n");
        assert_eq!(loaded.warnings.len(), 1);
        assert!(loaded.warnings[0].starts_with("auditing.enable: true without"));
        assert!(loaded.options.effective().auditing.webhook.is_none());
        let loaded = load("auditing:\n  webhookUrl: http://a/b\n");
        assert_eq!(loaded.warnings.len(), 1);
        assert!(loaded.options.effective().auditing.webhook.is_none());
    }

    #[test]
    fn flags_override_the_file() {
        let file = load(
            "authorization:\n  mode: RBAC\nauditing:\n  enable: true\n  webhookUrl: http://a/one\n  eventBatchSize: 7\n  level: Request\n  logPath: /var/log/a.log\n",
        )
        .options;
        let effective = file.effective().with_flags(&FlagOverrides {
            authorization_mode: Some(Mode::AlwaysAllow),
            audit_level: Some(AuditLevel::None),
            audit_log_path: Some(AuditSink::Path("/tmp/b.log".into())),
            audit_webhook_url: Some("http://b/two".to_owned()),
        });
        assert_eq!(effective.authorization, Mode::AlwaysAllow);
        assert_eq!(effective.auditing.level, AuditLevel::None);
        assert_eq!(
            effective.auditing.log_path,
            Some(AuditSink::Path("/tmp/b.log".into()))
        );
        let webhook = effective.auditing.webhook.as_ref();
        assert_eq!(webhook.map(|w| w.url.as_str()), Some("http://b/two"));
        assert_eq!(webhook.map(|w| w.batch_size), Some(7));
        // No flags: the file; no file: the defaults.
        let unchanged = file.effective().with_flags(&FlagOverrides::default());
        assert_eq!(unchanged, file.effective());
        assert_eq!(unchanged.auditing.level, AuditLevel::Request);
        let from_flag_only = EffectiveOptions::default().with_flags(&FlagOverrides {
            audit_webhook_url: Some("http://c".to_owned()),
            ..FlagOverrides::default()
        });
        assert_eq!(
            from_flag_only.auditing.webhook,
            Some(EffectiveWebhook {
                url: "http://c".to_owned(),
                batch_size: 100,
                batch_interval: Duration::from_secs(3),
            })
        );
    }

    #[test]
    fn the_report_uses_kubespheres_names_and_go_durations() {
        let report = EffectiveOptions::default().report();
        assert_eq!(
            report["authentication"]["authenticateRateLimiterDuration"],
            "10m0s"
        );
        assert_eq!(
            report["authentication"]["loginHistoryRetentionPeriod"],
            "168h0m0s"
        );
        assert_eq!(
            report["authentication"]["oauthOptions"]["accessTokenMaxAge"],
            "2h0m0s"
        );
        assert_eq!(
            report["authentication"]["oauthOptions"]["clients"],
            serde_json::json!([{ "name": "kubesphere" }])
        );
        assert_eq!(report["authorization"]["mode"], "RBAC");
        assert_eq!(report["auditing"]["level"], "Metadata");
        assert_eq!(report["auditing"]["enable"], false);
    }

    #[test]
    fn deserializes_through_serde() {
        let options: KubeSphereOptions =
            match serde_json::from_str(r#"{"authorization":{"mode":"AlwaysAllow"}}"#) {
                Ok(options) => options,
                Err(e) => panic!("{e}"),
            };
        assert_eq!(options.authorization.mode, Some(Mode::AlwaysAllow));
        let error = serde_json::from_str::<KubeSphereOptions>(r#"{"authorization":{"mode":"x"}}"#)
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(
            matches!(&error, Err(e) if e.starts_with("authorization.mode: unknown authorization mode")),
            "{error:?}"
        );
    }
}
