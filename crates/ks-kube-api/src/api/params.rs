//! Query parameters of API requests (metav1 ListOptions, GetOptions,
//! CreateOptions, UpdateOptions, PatchOptions, DeleteOptions).

use crate::error::{ApiError, ApiResult};

/// `fieldValidation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FieldValidation {
    /// Drop unknown fields silently.
    Ignore,
    /// Drop unknown fields, with a warning header.
    #[default]
    Warn,
    /// Reject unknown and duplicate fields.
    Strict,
}

/// Deletion propagation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Propagation {
    /// Delete now, dependents in the background.
    Background,
    /// Delete dependents first.
    Foreground,
    /// Keep dependents, removing their owner reference.
    Orphan,
}

/// Parsed query parameters. Unknown parameters are ignored, as Kubernetes
/// ignores them.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pub(crate) limit: Option<usize>,
    pub(crate) continue_token: Option<String>,
    pub(crate) resource_version: Option<String>,
    pub(crate) resource_version_match: Option<String>,
    pub(crate) allow_bookmarks: bool,
    pub(crate) send_initial_events: Option<bool>,
    pub(crate) timeout_seconds: Option<u64>,
    pub(crate) dry_run: bool,
    pub(crate) field_validation: FieldValidation,
    pub(crate) field_manager: Option<String>,
    pub(crate) propagation: Option<Propagation>,
    pub(crate) orphan_dependents: Option<bool>,
    pub(crate) grace_period_seconds: Option<i64>,
    pub(crate) include_object: Option<String>,
    pub(crate) pretty: bool,
    pub(crate) force: bool,
    /// `labelSelector` and `fieldSelector` (first values). The request
    /// info carries them too, but empty on the deprecated `/watch/` path
    /// form (Kubernetes hides them from authorizers there), where they
    /// still select what the watch sends.
    pub(crate) label_selector: Option<String>,
    pub(crate) field_selector: Option<String>,
}

fn parse_bool(name: &str, value: &str) -> ApiResult<bool> {
    match value {
        "true" | "1" | "True" | "TRUE" | "t" | "T" => Ok(true),
        "false" | "0" | "False" | "FALSE" | "f" | "F" | "" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "invalid value for {name}: {value:?}"
        ))),
    }
}

impl Params {
    /// Parses a raw query string.
    pub(crate) fn parse(query: &str) -> ApiResult<Params> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))?;
        let mut p = Params::default();
        let mut seen_dry_run = false;
        for (key, value) in pairs {
            match key.as_str() {
                "limit" => {
                    let n: i64 = value.parse().map_err(|_| {
                        ApiError::bad_request(format!("invalid value for limit: {value:?}"))
                    })?;
                    // Kubernetes treats a non-positive limit as no limit.
                    p.limit = (n > 0).then(|| usize::try_from(n).unwrap_or(usize::MAX));
                }
                "continue" if p.continue_token.is_none() && !value.is_empty() => {
                    p.continue_token = Some(value)
                }
                "resourceVersion" if p.resource_version.is_none() && !value.is_empty() => {
                    p.resource_version = Some(value)
                }
                "resourceVersionMatch"
                    if p.resource_version_match.is_none() && !value.is_empty() =>
                {
                    p.resource_version_match = Some(value)
                }
                "allowWatchBookmarks" => p.allow_bookmarks = parse_bool(&key, &value)?,
                "sendInitialEvents" => p.send_initial_events = Some(parse_bool(&key, &value)?),
                "timeoutSeconds" => {
                    let n: u64 = value.parse().map_err(|_| {
                        ApiError::bad_request(format!(
                            "invalid value for timeoutSeconds: {value:?}"
                        ))
                    })?;
                    p.timeout_seconds = Some(n);
                }
                "dryRun" => {
                    if value != "All" {
                        return Err(ApiError::bad_request(format!(
                            "dryRun: Unsupported value: {value:?}: supported values: \"All\""
                        )));
                    }
                    seen_dry_run = true;
                }
                "fieldValidation" => {
                    p.field_validation = match value.as_str() {
                        "Ignore" => FieldValidation::Ignore,
                        "Warn" | "" => FieldValidation::Warn,
                        "Strict" => FieldValidation::Strict,
                        _ => {
                            return Err(ApiError::bad_request(format!(
                                "fieldValidation: Unsupported value: {value:?}: supported values: \"Ignore\", \"Strict\", \"Warn\""
                            )));
                        }
                    }
                }
                "fieldManager" => p.field_manager = Some(value),
                "propagationPolicy" => p.propagation = Some(parse_propagation(&value)?),
                "orphanDependents" => p.orphan_dependents = Some(parse_bool(&key, &value)?),
                "gracePeriodSeconds" => {
                    let n: i64 = value.parse().map_err(|_| {
                        ApiError::bad_request(format!(
                            "invalid value for gracePeriodSeconds: {value:?}"
                        ))
                    })?;
                    p.grace_period_seconds = Some(n);
                }
                "includeObject" => p.include_object = Some(value),
                "pretty" => p.pretty = parse_bool(&key, &value).unwrap_or(false),
                "force" => p.force = parse_bool(&key, &value)?,
                "labelSelector" if p.label_selector.is_none() => p.label_selector = Some(value),
                "fieldSelector" if p.field_selector.is_none() => p.field_selector = Some(value),
                _ => {}
            }
        }
        p.dry_run = seen_dry_run;
        Ok(p)
    }

    /// The effective propagation of a delete, from the query or a
    /// DeleteOptions body, defaulting to Background for the resources this
    /// server serves (Kubernetes' default for everything but a few
    /// workload kinds).
    pub(crate) fn propagation(&self) -> Propagation {
        if let Some(p) = self.propagation {
            return p;
        }
        match self.orphan_dependents {
            Some(true) => Propagation::Orphan,
            _ => Propagation::Background,
        }
    }
}

pub(crate) fn parse_propagation(value: &str) -> ApiResult<Propagation> {
    match value {
        "Background" => Ok(Propagation::Background),
        "Foreground" => Ok(Propagation::Foreground),
        "Orphan" => Ok(Propagation::Orphan),
        _ => Err(ApiError::bad_request(format!(
            "propagationPolicy: Unsupported value: {value:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_list_and_write_options() {
        let p = Params::parse("limit=500&continue=abc&resourceVersion=12&watch=1&dryRun=All&fieldValidation=Strict&propagationPolicy=Foreground&timeoutSeconds=30").unwrap();
        assert_eq!(p.limit, Some(500));
        assert_eq!(p.continue_token.as_deref(), Some("abc"));
        assert_eq!(p.resource_version.as_deref(), Some("12"));
        assert!(p.dry_run);
        assert_eq!(p.field_validation, FieldValidation::Strict);
        assert_eq!(p.propagation(), Propagation::Foreground);
        assert_eq!(p.timeout_seconds, Some(30));
    }

    #[test]
    fn rejects_bad_values() {
        assert!(Params::parse("limit=x").is_err());
        assert!(Params::parse("dryRun=Some").is_err());
        assert!(Params::parse("propagationPolicy=Later").is_err());
        assert!(Params::parse("fieldValidation=Loose").is_err());
        assert_eq!(Params::parse("limit=0").unwrap().limit, None);
        assert_eq!(Params::parse("limit=-3").unwrap().limit, None);
    }
}
