//! The common list query of KubeSphere's `/kapis` list routes: paging,
//! sorting, a label selector and metadata filters, parsed from the URL query
//! and applied to a list of objects.
//!
//! ```
//! use ks_apiserver::kapis::query::ListQuery;
//! use serde_json::json;
//!
//! let query = ListQuery::parse(Some("name=web&sortBy=name&ascending=true&limit=1"), &[])?;
//! let items = vec![
//!     json!({"metadata": {"name": "web-b"}}),
//!     json!({"metadata": {"name": "db"}}),
//!     json!({"metadata": {"name": "web-a"}}),
//! ];
//! let listed = query.select(items, |_| true);
//! assert_eq!(
//!     serde_json::to_value(&listed)?,
//!     json!({"items": [{"metadata": {"name": "web-a"}}], "totalItems": 2}),
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The parameters are KubeSphere v3.4's (`pkg/apiserver/query/types.go`,
//! `field.go`, and the filters and order of `DefaultList`,
//! `DefaultObjectMetaFilter` and `DefaultObjectMetaCompare` in
//! `pkg/models/resources/v1alpha3/interface.go`):
//!
//! | parameter | meaning |
//! |---|---|
//! | `page` | 1-based page number, default 1; used only with `limit` |
//! | `limit` | page size; absent or `-1`: everything; `0`: no items, only `totalItems` |
//! | `sortBy` | `creationTimestamp` (default) or its alias `createTime`, or `name` |
//! | `ascending` | `true` or `false` (Go's `strconv.ParseBool` spellings), default `false` |
//! | `labelSelector` | a Kubernetes label selector (`a=b,c!=d,e in (f,g),!h`) |
//! | `name` | the name contains this text (case-sensitive) |
//! | `names` | the name is one of these, comma-separated, exactly |
//! | `uid`, `namespace` | exact match |
//! | `label`, `annotation` | a label selector over the labels, or the annotations |
//! | `ownerReference` | an owner reference has this uid |
//! | `ownerKind` | an owner reference has this kind |
//! | `alias` | the `kubesphere.io/alias-name` annotation contains this text |
//!
//! Where we differ from KubeSphere, we say why instead of returning an
//! empty or unfiltered list: an unknown parameter, a malformed value, an
//! invalid selector and a parameter repeated with different values are
//! errors ([`QueryError`], a 400 naming the parameter). Equal keys keep
//! their order deterministically (see [`ListQuery::select`]).

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use ks_kube_api::ApiError;
use ks_request_info::SelectorError;
use ks_request_info::selector::{LabelSelector, Operator};

/// At most this many parameters (`&`-separated pairs) in a query.
pub const MAX_PARAMETERS: usize = 128;

/// At most this many bytes in the decoded value of `names`.
pub const MAX_NAMES_BYTES: usize = 16 * 1024;

/// At most this many requirements in all of `labelSelector`, `label` and
/// `annotation` together: each is checked against every object listed.
pub const MAX_REQUIREMENTS: usize = 128;

/// The annotation the `alias` filter reads (KubeSphere's
/// `constants.DisplayNameAnnotationKey`).
pub const ALIAS_ANNOTATION: &str = "kubesphere.io/alias-name";

/// The parameters that page and sort (never filters).
const CONTROL_PARAMETERS: [&str; 5] = ["page", "limit", "sortBy", "ascending", "labelSelector"];

/// The filters every list route accepts.
pub const COMMON_FILTERS: [&str; 9] = [
    "name",
    "names",
    "uid",
    "namespace",
    "label",
    "annotation",
    "ownerReference",
    "ownerKind",
    "alias",
];

/// Keys longer than this are cut in error messages.
const MAX_KEY_IN_ERROR: usize = 128;

/// A list query that cannot be served: the message of a 400 `Status`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// A key or value is not well-formed percent-encoded UTF-8.
    #[error("query parameter \"{parameter}\" is not valid percent-encoded UTF-8: {problem}")]
    Encoding {
        /// The parameter (its raw key, cut if long).
        parameter: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A parameter the route does not know.
    #[error(
        "unknown query parameter \"{parameter}\": this list accepts {}{hint}",
        accepted.join(", ")
    )]
    UnknownParameter {
        /// The parameter (cut if long).
        parameter: String,
        /// Every parameter the route accepts.
        accepted: Vec<String>,
        /// A pointer to the right parameter, if we can guess it.
        hint: &'static str,
    },
    /// A paging or sorting parameter with a value it cannot take.
    #[error("invalid value \"{value}\" for query parameter \"{parameter}\": {expected}")]
    InvalidValue {
        /// `page`, `limit`, `sortBy` or `ascending`.
        parameter: &'static str,
        /// The value given (cut if long).
        value: String,
        /// What the parameter takes.
        expected: &'static str,
    },
    /// A parameter given more than once with different values.
    #[error(
        "query parameter \"{parameter}\" is given more than once with different values \
         (\"{first}\" and \"{second}\"); give it once"
    )]
    Repeated {
        /// The parameter.
        parameter: String,
        /// Its first value (cut if long).
        first: String,
        /// A later, different value (cut if long).
        second: String,
    },
    /// `labelSelector`, `label` or `annotation` is not a label selector.
    #[error("invalid {parameter}: {source}")]
    Selector {
        /// `labelSelector`, `label` or `annotation`.
        parameter: &'static str,
        /// Kubernetes' message for the selector.
        source: SelectorError,
    },
    /// The query is larger than we serve.
    #[error("query parameter \"{parameter}\" is too large: {size} {unit}, at most {max}")]
    TooLarge {
        /// The parameter, or `query` for the number of parameters.
        parameter: &'static str,
        /// What was given.
        size: usize,
        /// What was counted: `bytes`, `parameters` or `requirements`.
        unit: &'static str,
        /// The bound.
        max: usize,
    },
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        ApiError::bad_request(error.to_string())
    }
}

/// The order of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SortBy {
    /// `creationTimestamp` (or `createTime`), ties broken by name.
    #[default]
    CreationTimestamp,
    /// `name`.
    Name,
}

impl SortBy {
    fn parse(value: &str) -> Option<SortBy> {
        match value {
            "creationTimestamp" | "createTime" => Some(SortBy::CreationTimestamp),
            "name" => Some(SortBy::Name),
            _ => None,
        }
    }
}

impl fmt::Display for SortBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SortBy::CreationTimestamp => "creationTimestamp",
            SortBy::Name => "name",
        })
    }
}

/// One owner reference, as the filters read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnerRef<'a> {
    /// The owner's uid.
    pub uid: &'a str,
    /// The owner's kind.
    pub kind: &'a str,
}

/// What the common filters and the sort read from an object's metadata.
///
/// Implemented for a JSON object (`serde_json::Value`, reading
/// `metadata.*`; a missing or mistyped field reads as absent), for
/// [`ObjectMeta`], and through `&T`, `Box<T>` and `Arc<T>`. For a typed
/// resource (`Namespace`, `User`), use [`ListQuery::select_by`] with its
/// metadata.
pub trait ObjectView {
    /// `metadata.name`, empty if absent.
    fn name(&self) -> &str;
    /// `metadata.namespace`, empty if absent (cluster-scoped).
    fn namespace(&self) -> &str;
    /// `metadata.uid`, empty if absent.
    fn uid(&self) -> &str;
    /// `metadata.creationTimestamp`; `None` if absent or not a timestamp.
    fn creation_timestamp(&self) -> Option<Timestamp>;
    /// The value of label `key`.
    fn label(&self, key: &str) -> Option<&str>;
    /// The value of annotation `key`.
    fn annotation(&self, key: &str) -> Option<&str>;
    /// `metadata.ownerReferences`.
    fn owner_references(&self) -> impl Iterator<Item = OwnerRef<'_>>;
}

impl<T: ObjectView + ?Sized> ObjectView for &T {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn namespace(&self) -> &str {
        (**self).namespace()
    }
    fn uid(&self) -> &str {
        (**self).uid()
    }
    fn creation_timestamp(&self) -> Option<Timestamp> {
        (**self).creation_timestamp()
    }
    fn label(&self, key: &str) -> Option<&str> {
        (**self).label(key)
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        (**self).annotation(key)
    }
    fn owner_references(&self) -> impl Iterator<Item = OwnerRef<'_>> {
        (**self).owner_references()
    }
}

impl<T: ObjectView + ?Sized> ObjectView for Box<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn namespace(&self) -> &str {
        (**self).namespace()
    }
    fn uid(&self) -> &str {
        (**self).uid()
    }
    fn creation_timestamp(&self) -> Option<Timestamp> {
        (**self).creation_timestamp()
    }
    fn label(&self, key: &str) -> Option<&str> {
        (**self).label(key)
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        (**self).annotation(key)
    }
    fn owner_references(&self) -> impl Iterator<Item = OwnerRef<'_>> {
        (**self).owner_references()
    }
}

impl<T: ObjectView + ?Sized> ObjectView for Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn namespace(&self) -> &str {
        (**self).namespace()
    }
    fn uid(&self) -> &str {
        (**self).uid()
    }
    fn creation_timestamp(&self) -> Option<Timestamp> {
        (**self).creation_timestamp()
    }
    fn label(&self, key: &str) -> Option<&str> {
        (**self).label(key)
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        (**self).annotation(key)
    }
    fn owner_references(&self) -> impl Iterator<Item = OwnerRef<'_>> {
        (**self).owner_references()
    }
}

type JsonMap = serde_json::Map<String, serde_json::Value>;

fn json_metadata(object: &serde_json::Value) -> Option<&JsonMap> {
    object.get("metadata")?.as_object()
}

fn json_meta_str<'a>(object: &'a serde_json::Value, field: &str) -> Option<&'a str> {
    json_metadata(object)?.get(field)?.as_str()
}

fn json_meta_map_get<'a>(object: &'a serde_json::Value, map: &str, key: &str) -> Option<&'a str> {
    json_metadata(object)?.get(map)?.get(key)?.as_str()
}

impl ObjectView for serde_json::Value {
    fn name(&self) -> &str {
        json_meta_str(self, "name").unwrap_or_default()
    }
    fn namespace(&self) -> &str {
        json_meta_str(self, "namespace").unwrap_or_default()
    }
    fn uid(&self) -> &str {
        json_meta_str(self, "uid").unwrap_or_default()
    }
    fn creation_timestamp(&self) -> Option<Timestamp> {
        parse_timestamp(json_meta_str(self, "creationTimestamp")?)
    }
    fn label(&self, key: &str) -> Option<&str> {
        json_meta_map_get(self, "labels", key)
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        json_meta_map_get(self, "annotations", key)
    }
    fn owner_references(&self) -> impl Iterator<Item = OwnerRef<'_>> {
        json_metadata(self)
            .and_then(|m| m.get("ownerReferences"))
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter(|owner| owner.is_object())
            .map(|owner| OwnerRef {
                uid: owner
                    .get("uid")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default(),
                kind: owner
                    .get("kind")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default(),
            })
    }
}

/// An RFC 3339 timestamp (jiff's parser: measured, a hand-written one for
/// Kubernetes' `Z` form gained under 10%).
fn parse_timestamp(text: &str) -> Option<Timestamp> {
    text.parse().ok()
}

impl ObjectView for ObjectMeta {
    fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }
    fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or_default()
    }
    fn uid(&self) -> &str {
        self.uid.as_deref().unwrap_or_default()
    }
    fn creation_timestamp(&self) -> Option<Timestamp> {
        self.creation_timestamp.as_ref().map(|time| time.0)
    }
    fn label(&self, key: &str) -> Option<&str> {
        self.labels.as_ref()?.get(key).map(String::as_str)
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }
    fn owner_references(&self) -> impl Iterator<Item = OwnerRef<'_>> {
        self.owner_references
            .iter()
            .flatten()
            .map(|owner| OwnerRef {
                uid: &owner.uid,
                kind: &owner.kind,
            })
    }
}

/// One page of a filtered, sorted list: KubeSphere's `api.ListResult`,
/// serialized as `{"items": [...], "totalItems": N}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed<T> {
    /// The page (an array, possibly empty, never null).
    pub items: Vec<T>,
    /// How many items passed the filters, before paging.
    pub total_items: usize,
}

impl<T> Listed<T> {
    /// The same page with every item transformed (for the response shape).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Listed<U> {
        Listed {
            items: self.items.into_iter().map(f).collect(),
            total_items: self.total_items,
        }
    }
}

/// A label selector requirement, compiled for matching by lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    operator: Operator,
    /// Sorted and deduplicated, for binary search.
    values: Vec<String>,
    /// The bound of `>` and `<`.
    bound: Option<i64>,
}

impl Requirement {
    fn compile(selector: &LabelSelector) -> Vec<Requirement> {
        selector
            .requirements()
            .iter()
            .map(|r| {
                let mut values = r.values.clone();
                values.sort_unstable();
                values.dedup();
                Requirement {
                    key: r.key.clone(),
                    operator: r.operator,
                    bound: values.first().and_then(|v| v.parse().ok()),
                    values,
                }
            })
            .collect()
    }

    /// Kubernetes' `Requirement.Matches` on the value of the key (`None`:
    /// absent): `!=` and `notin` hold for an absent key.
    fn holds(&self, value: Option<&str>) -> bool {
        let listed = |v: &str| self.values.binary_search_by(|x| x.as_str().cmp(v)).is_ok();
        match self.operator {
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::Equals | Operator::DoubleEquals | Operator::In => value.is_some_and(listed),
            Operator::NotEquals | Operator::NotIn => !value.is_some_and(listed),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(have), Some(bound)) =
                    (value.and_then(|v| v.parse::<i64>().ok()), self.bound)
                else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    have > bound
                } else {
                    have < bound
                }
            }
        }
    }
}

/// A common filter, as given.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Filter {
    /// The name contains this (case-sensitive, as Go's `strings.Contains`).
    Name(String),
    /// The name is one of these (sorted, deduplicated).
    Names(Vec<String>),
    Uid(String),
    Namespace(String),
    Label(Vec<Requirement>),
    Annotation(Vec<Requirement>),
    OwnerReference(String),
    OwnerKind(String),
    /// The alias annotation contains this.
    Alias(String),
}

impl Filter {
    fn matches<V: ObjectView + ?Sized>(&self, object: &V) -> bool {
        match self {
            Filter::Name(part) => object.name().contains(part.as_str()),
            Filter::Names(names) => names
                .binary_search_by(|n| n.as_str().cmp(object.name()))
                .is_ok(),
            Filter::Uid(uid) => object.uid() == uid,
            Filter::Namespace(namespace) => object.namespace() == namespace,
            Filter::Label(requirements) => {
                requirements.iter().all(|r| r.holds(object.label(&r.key)))
            }
            Filter::Annotation(requirements) => requirements
                .iter()
                .all(|r| r.holds(object.annotation(&r.key))),
            Filter::OwnerReference(uid) => object.owner_references().any(|o| o.uid == uid),
            Filter::OwnerKind(kind) => object.owner_references().any(|o| o.kind == kind),
            Filter::Alias(part) => object
                .annotation(ALIAS_ANNOTATION)
                .is_some_and(|alias| alias.contains(part.as_str())),
        }
    }
}

/// A parsed common list query.
///
/// Parameters given twice with the same value count once; with different
/// values they are an error, except `labelSelector`, `label` and
/// `annotation`, whose occurrences all apply (a conjunction, like the
/// requirements of one selector). An empty `page`, `limit`, `sortBy` or
/// `ascending` is the default, as in KubeSphere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    page: usize,
    limit: Option<usize>,
    sort_by: SortBy,
    ascending: bool,
    /// `labelSelector`, all occurrences.
    selector: Vec<Requirement>,
    /// The common filters, in the order given.
    filters: Vec<Filter>,
    /// The route's own filters, in the order given, each key once.
    extra: Vec<(String, String)>,
}

impl Default for ListQuery {
    /// No filters, newest first, no paging.
    fn default() -> Self {
        ListQuery {
            page: 1,
            limit: None,
            sort_by: SortBy::CreationTimestamp,
            ascending: false,
            selector: Vec::new(),
            filters: Vec::new(),
            extra: Vec::new(),
        }
    }
}

/// The sort key of an item that passed the filters, borrowed from it.
struct SortKey<'a> {
    time: Option<Timestamp>,
    name: &'a str,
    namespace: &'a str,
    /// The item's position in the input: equal keys keep input order.
    index: usize,
}

impl ListQuery {
    /// Parses `query`, the raw URL query string (percent-encoded, without
    /// the `?`; `None` or empty for none). `extra_filters` are the filter
    /// keys the route accepts besides [`COMMON_FILTERS`] (e.g. `["email",
    /// "globalrole"]`); a route may name a common filter there to take it
    /// over (KubeSphere's user list reads `namespace` as a scope), and then
    /// [`ListQuery::select`] leaves it to the route. `page`, `limit`,
    /// `sortBy`, `ascending` and `labelSelector` cannot be taken over.
    ///
    /// ```
    /// use ks_apiserver::kapis::query::{ListQuery, QueryError};
    ///
    /// let query = ListQuery::parse(Some("page=2&limit=10&globalrole=admin"), &["globalrole"])?;
    /// assert_eq!((query.page(), query.limit()), (2, Some(10)));
    /// assert_eq!(query.extra_filter("globalrole"), Some("admin"));
    ///
    /// let error = ListQuery::parse(Some("colour=red"), &[]).unwrap_err();
    /// assert!(matches!(error, QueryError::UnknownParameter { ref parameter, .. } if parameter == "colour"));
    /// # Ok::<(), QueryError>(())
    /// ```
    pub fn parse(query: Option<&str>, extra_filters: &[&str]) -> Result<ListQuery, QueryError> {
        let mut q = ListQuery::default();
        // First value of each single-valued parameter, to catch repeats.
        let mut given: Vec<(String, String)> = Vec::new();
        let mut pairs = 0usize;
        let mut requirements = 0usize;
        for pair in query.unwrap_or_default().split('&') {
            if pair.is_empty() {
                continue;
            }
            pairs += 1;
            if pairs > MAX_PARAMETERS {
                return Err(QueryError::TooLarge {
                    parameter: "query",
                    size: query
                        .unwrap_or_default()
                        .split('&')
                        .filter(|p| !p.is_empty())
                        .count(),
                    unit: "parameters",
                    max: MAX_PARAMETERS,
                });
            }
            let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(raw_key).map_err(|problem| QueryError::Encoding {
                parameter: cut(raw_key),
                problem,
            })?;
            let value = decode(raw_value).map_err(|problem| QueryError::Encoding {
                parameter: cut(&key),
                problem,
            })?;
            let key = key.as_str();

            // Selectors combine; everything else is given once.
            match key {
                "labelSelector" => {
                    let parsed = parse_selector("labelSelector", &value, &mut requirements)?;
                    q.selector.extend(parsed);
                    continue;
                }
                "label" if !extra_filters.contains(&key) => {
                    let parsed = parse_selector("label", &value, &mut requirements)?;
                    q.filters.push(Filter::Label(parsed));
                    continue;
                }
                "annotation" if !extra_filters.contains(&key) => {
                    let parsed = parse_selector("annotation", &value, &mut requirements)?;
                    q.filters.push(Filter::Annotation(parsed));
                    continue;
                }
                _ => {}
            }
            if let Some((_, first)) = given.iter().find(|(k, _)| k == key) {
                if *first == value {
                    continue;
                }
                return Err(QueryError::Repeated {
                    parameter: cut(key),
                    first: cut(first),
                    second: cut(&value),
                });
            }
            given.push((key.to_owned(), value.clone()));

            if let Some(&control) = CONTROL_PARAMETERS.iter().find(|&&p| p == key) {
                q.set_control(control, &value)?;
            } else if extra_filters.contains(&key) {
                q.extra.push((key.to_owned(), value));
            } else if let Some(filter) = common_filter(key, value)? {
                q.filters.push(filter);
            } else {
                return Err(unknown(key, extra_filters));
            }
        }
        Ok(q)
    }

    /// Sets `page`, `limit`, `sortBy` or `ascending` (empty: the default).
    fn set_control(&mut self, parameter: &'static str, value: &str) -> Result<(), QueryError> {
        if value.is_empty() {
            return Ok(());
        }
        let invalid = |expected| QueryError::InvalidValue {
            parameter,
            value: cut(value),
            expected,
        };
        match parameter {
            "page" => {
                self.page = parse_count(value)
                    .filter(|&page| page >= 1)
                    .ok_or_else(|| invalid("a page number: an integer from 1"))?;
            }
            "limit" => {
                self.limit = if value == "-1" {
                    None
                } else {
                    Some(parse_count(value).ok_or_else(|| {
                        invalid("a page size: a non-negative integer, or -1 for no paging")
                    })?)
                };
            }
            "sortBy" => {
                self.sort_by = SortBy::parse(value)
                    .ok_or_else(|| invalid("one of creationTimestamp, createTime, name"))?;
            }
            _ => {
                self.ascending = parse_bool(value).ok_or_else(|| invalid("true or false"))?;
            }
        }
        Ok(())
    }

    /// The page number, from 1.
    pub fn page(&self) -> usize {
        self.page
    }

    /// The page size; `None` when the whole list is one page.
    pub fn limit(&self) -> Option<usize> {
        self.limit
    }

    /// The sort key.
    pub fn sort_by(&self) -> SortBy {
        self.sort_by
    }

    /// Whether the order is ascending (default: descending, newest first).
    pub fn ascending(&self) -> bool {
        self.ascending
    }

    /// The route-specific filters given, `(key, value)` in the order given,
    /// each key once, for the caller to apply.
    pub fn extra_filters(&self) -> impl Iterator<Item = (&str, &str)> {
        self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value of route-specific filter `key`, if given.
    pub fn extra_filter(&self, key: &str) -> Option<&str> {
        self.extra
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `object` passes the label selector and the common filters.
    pub fn matches<V: ObjectView + ?Sized>(&self, object: &V) -> bool {
        self.selector.iter().all(|r| r.holds(object.label(&r.key)))
            && self.filters.iter().all(|f| f.matches(object))
    }

    /// Filters `items` (label selector, common filters, then `extra`, the
    /// route's own filters: return true to keep; it sees only items that
    /// passed the others, once each), sorts what remains and cuts the
    /// page. `total_items` counts the items that passed the filters.
    ///
    /// The order is KubeSphere's: by creation time then name, or by name;
    /// descending unless `ascending`. Ties go on to the namespace (in the
    /// same direction) and then to the input order, so the result is
    /// deterministic. An item without a creation time (or with one that
    /// does not parse) sorts as the oldest, as Go's zero time does.
    pub fn select<T: ObjectView>(&self, items: Vec<T>, extra: impl FnMut(&T) -> bool) -> Listed<T> {
        self.select_by(items, identity, extra)
    }

    /// [`ListQuery::select`] for items that are not themselves an
    /// [`ObjectView`]: `view` gives each one's metadata.
    ///
    /// ```
    /// use k8s_openapi::api::core::v1::Namespace;
    /// use ks_apiserver::kapis::query::ListQuery;
    ///
    /// let query = ListQuery::parse(Some("names=a,c"), &[])?;
    /// let namespaces: Vec<Namespace> = ["a", "b", "c"]
    ///     .iter()
    ///     .map(|n| Namespace { metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
    ///         name: Some(n.to_string()), ..Default::default() }, ..Default::default() })
    ///     .collect();
    /// let listed = query.select_by(namespaces, |ns| &ns.metadata, |_| true);
    /// assert_eq!(listed.total_items, 2);
    /// # Ok::<(), ks_apiserver::kapis::query::QueryError>(())
    /// ```
    pub fn select_by<T, V: ObjectView + ?Sized>(
        &self,
        items: Vec<T>,
        view: impl Fn(&T) -> &V,
        mut extra: impl FnMut(&T) -> bool,
    ) -> Listed<T> {
        let by_time = self.sort_by == SortBy::CreationTimestamp;
        let mut keys: Vec<SortKey<'_>> = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let object = view(item);
            if !self.matches(object) || !extra(item) {
                continue;
            }
            keys.push(SortKey {
                time: if by_time {
                    object.creation_timestamp()
                } else {
                    None
                },
                name: object.name(),
                namespace: object.namespace(),
                index,
            });
        }
        let total_items = keys.len();
        let (start, end) = self.window(total_items);
        if start == end {
            return Listed {
                items: Vec::new(),
                total_items,
            };
        }
        let order = |a: &SortKey<'_>, b: &SortKey<'_>| self.order(a, b);
        // Only the window needs sorting: partition around its ends first.
        if end < keys.len() {
            keys.select_nth_unstable_by(end, order);
            keys.truncate(end);
        }
        if start > 0 {
            keys.select_nth_unstable_by(start, order);
        }
        let window = &mut keys[start..];
        window.sort_unstable_by(order);
        let picked: Vec<usize> = window.iter().map(|k| k.index).collect();
        drop(keys);
        Listed {
            items: take_in_order(items, &picked),
            total_items,
        }
    }

    /// The page's bounds in a list of `total` items.
    fn window(&self, total: usize) -> (usize, usize) {
        match self.limit {
            None => (0, total),
            Some(limit) => {
                let start = (self.page - 1).saturating_mul(limit).min(total);
                (start, start.saturating_add(limit).min(total))
            }
        }
    }

    /// The list order: a total order, whatever the items.
    fn order(&self, a: &SortKey<'_>, b: &SortKey<'_>) -> Ordering {
        let key = match self.sort_by {
            SortBy::CreationTimestamp => a.time.cmp(&b.time).then_with(|| a.name.cmp(b.name)),
            SortBy::Name => a.name.cmp(b.name),
        }
        .then_with(|| a.namespace.cmp(b.namespace));
        let key = if self.ascending { key } else { key.reverse() };
        key.then(a.index.cmp(&b.index))
    }
}

fn identity<T>(item: &T) -> &T {
    item
}

/// The items at `picked` (distinct positions), in that order.
fn take_in_order<T>(items: Vec<T>, picked: &[usize]) -> Vec<T> {
    // (position in the input, position in the output), by input position.
    let mut wanted: Vec<(usize, usize)> = picked.iter().copied().zip(0..).collect();
    wanted.sort_unstable();
    let mut out: Vec<Option<T>> = std::iter::repeat_with(|| None).take(picked.len()).collect();
    let mut next = wanted.iter().peekable();
    for (index, item) in items.into_iter().enumerate() {
        let Some(&&(at, slot)) = next.peek() else {
            break;
        };
        if at == index {
            out[slot] = Some(item);
            next.next();
        }
    }
    out.into_iter().flatten().collect()
}

/// A common filter from its key and value; `None` if `key` is not one.
fn common_filter(key: &str, value: String) -> Result<Option<Filter>, QueryError> {
    Ok(Some(match key {
        "name" => Filter::Name(value),
        "names" => {
            if value.len() > MAX_NAMES_BYTES {
                return Err(QueryError::TooLarge {
                    parameter: "names",
                    size: value.len(),
                    unit: "bytes",
                    max: MAX_NAMES_BYTES,
                });
            }
            let mut names: Vec<String> = value.split(',').map(str::to_owned).collect();
            names.sort_unstable();
            names.dedup();
            Filter::Names(names)
        }
        "uid" => Filter::Uid(value),
        "namespace" => Filter::Namespace(value),
        "ownerReference" => Filter::OwnerReference(value),
        "ownerKind" => Filter::OwnerKind(value),
        "alias" => Filter::Alias(value),
        _ => return Ok(None),
    }))
}

/// Parses the selector of `parameter`, counting its requirements against
/// [`MAX_REQUIREMENTS`].
fn parse_selector(
    parameter: &'static str,
    value: &str,
    count: &mut usize,
) -> Result<Vec<Requirement>, QueryError> {
    let selector =
        LabelSelector::parse(value).map_err(|source| QueryError::Selector { parameter, source })?;
    *count += selector.requirements().len();
    if *count > MAX_REQUIREMENTS {
        return Err(QueryError::TooLarge {
            parameter,
            size: *count,
            unit: "requirements",
            max: MAX_REQUIREMENTS,
        });
    }
    Ok(Requirement::compile(&selector))
}

fn unknown(key: &str, extra_filters: &[&str]) -> QueryError {
    let mut accepted: Vec<String> = Vec::new();
    for name in CONTROL_PARAMETERS
        .iter()
        .chain(&COMMON_FILTERS)
        .chain(extra_filters)
    {
        if !accepted.iter().any(|a| a == name) {
            accepted.push((*name).to_owned());
        }
    }
    let hint = match key {
        // KubeSphere's legacy v1alpha2 paging; its common query never read it.
        "paging" => " (for paging, give limit=N&page=M)",
        "orderBy" | "reverse" => {
            " (for sorting, give sortBy=name|creationTimestamp&ascending=true|false)"
        }
        _ => "",
    };
    QueryError::UnknownParameter {
        parameter: cut(key),
        accepted,
        hint,
    }
}

/// A non-negative decimal integer (ASCII digits only).
fn parse_count(value: &str) -> Option<usize> {
    if value.bytes().all(|b| b.is_ascii_digit()) {
        value.parse().ok()
    } else {
        None
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Decodes one key or value of a query: `+` is a space, `%XX` a byte, and
/// the result must be UTF-8 (Go's `url.QueryUnescape`).
fn decode(raw: &str) -> Result<String, &'static str> {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return Ok(raw.to_owned());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
                let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) else {
                    return Err("a '%' not followed by two hex digits");
                };
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "it decodes to bytes that are not UTF-8")
}

/// `s` for an error message: at most [`MAX_KEY_IN_ERROR`] bytes.
fn cut(s: &str) -> String {
    if s.len() <= MAX_KEY_IN_ERROR {
        return s.to_owned();
    }
    let mut end = MAX_KEY_IN_ERROR;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    fn parse(query: &str) -> Result<ListQuery, QueryError> {
        ListQuery::parse(Some(query), &[])
    }

    // ---- parsing ----

    #[test]
    fn defaults() {
        for query in [None, Some(""), Some("&"), Some("&&&")] {
            let q = ListQuery::parse(query, &[]).unwrap();
            assert_eq!(q, ListQuery::default(), "{query:?}");
            assert_eq!(
                (q.page(), q.limit(), q.sort_by(), q.ascending()),
                (1, None, SortBy::CreationTimestamp, false)
            );
            assert_eq!(q.extra_filters().count(), 0);
        }
    }

    #[test]
    fn paging_and_sorting_parameters() {
        type Case = (&'static str, usize, Option<usize>, SortBy, bool);
        let cases: &[Case] = &[
            (
                "page=3&limit=5",
                3,
                Some(5),
                SortBy::CreationTimestamp,
                false,
            ),
            ("limit=10", 1, Some(10), SortBy::CreationTimestamp, false),
            ("page=2", 2, None, SortBy::CreationTimestamp, false),
            ("limit=-1", 1, None, SortBy::CreationTimestamp, false),
            ("limit=0", 1, Some(0), SortBy::CreationTimestamp, false),
            (
                "limit=007&page=02",
                2,
                Some(7),
                SortBy::CreationTimestamp,
                false,
            ),
            ("sortBy=name", 1, None, SortBy::Name, false),
            (
                "sortBy=createTime",
                1,
                None,
                SortBy::CreationTimestamp,
                false,
            ),
            (
                "sortBy=creationTimestamp",
                1,
                None,
                SortBy::CreationTimestamp,
                false,
            ),
            ("ascending=true", 1, None, SortBy::CreationTimestamp, true),
            ("ascending=1", 1, None, SortBy::CreationTimestamp, true),
            ("ascending=T", 1, None, SortBy::CreationTimestamp, true),
            ("ascending=True", 1, None, SortBy::CreationTimestamp, true),
            ("ascending=TRUE", 1, None, SortBy::CreationTimestamp, true),
            ("ascending=false", 1, None, SortBy::CreationTimestamp, false),
            ("ascending=0", 1, None, SortBy::CreationTimestamp, false),
            ("ascending=F", 1, None, SortBy::CreationTimestamp, false),
            // Empty values are the defaults, as in KubeSphere.
            (
                "page=&limit=&sortBy=&ascending=",
                1,
                None,
                SortBy::CreationTimestamp,
                false,
            ),
            (
                "page&limit&sortBy&ascending",
                1,
                None,
                SortBy::CreationTimestamp,
                false,
            ),
            // Escaped keys are the same parameters.
            (
                "%70age=4&l%69mit=2&sort%42y=name&asc%65nding=t",
                4,
                Some(2),
                SortBy::Name,
                true,
            ),
        ];
        for &(query, page, limit, sort_by, ascending) in cases {
            let q = parse(query).unwrap_or_else(|e| panic!("{query}: {e}"));
            assert_eq!(
                (q.page(), q.limit(), q.sort_by(), q.ascending()),
                (page, limit, sort_by, ascending),
                "{query}"
            );
        }
    }

    #[test]
    fn bad_paging_and_sorting_values_name_the_parameter() {
        let cases = [
            ("page=0", "page"),
            ("page=-1", "page"),
            ("page=abc", "page"),
            ("page=+1", "page"),
            ("page=1.0", "page"),
            ("page=%201", "page"),
            ("page=99999999999999999999999999", "page"),
            ("limit=-2", "limit"),
            ("limit=-0", "limit"),
            ("limit=ten", "limit"),
            ("limit=1e3", "limit"),
            ("limit=99999999999999999999999999", "limit"),
            ("sortBy=status", "sortBy"),
            ("sortBy=Name", "sortBy"),
            ("sortBy=lastUpdateTimestamp", "sortBy"),
            ("ascending=yes", "ascending"),
            ("ascending=tRUE", "ascending"),
        ];
        for (query, parameter) in cases {
            let error = parse(query).unwrap_err();
            match &error {
                QueryError::InvalidValue { parameter: p, .. } => {
                    assert_eq!(*p, parameter, "{query}")
                }
                other => panic!("{query}: {other:?}"),
            }
            let message = error.to_string();
            assert!(
                message.contains(&format!("\"{parameter}\"")),
                "{query}: {message}"
            );
            assert!(ApiError::from(error).code == 400);
        }
        assert_eq!(
            parse("limit=x").unwrap_err().to_string(),
            "invalid value \"x\" for query parameter \"limit\": a page size: a non-negative \
             integer, or -1 for no paging"
        );
    }

    #[test]
    fn common_filters_parse_in_order() {
        let q = parse(
            "name=web&names=b,a,b&uid=u1&namespace=ns&label=app%3Dweb&annotation=note\
             &ownerReference=o1&ownerKind=Workspace&alias=Al",
        )
        .unwrap();
        let label = Requirement::compile(&LabelSelector::parse("app=web").unwrap());
        let annotation = Requirement::compile(&LabelSelector::parse("note").unwrap());
        assert_eq!(
            q.filters,
            vec![
                Filter::Name("web".into()),
                Filter::Names(vec!["a".into(), "b".into()]),
                Filter::Uid("u1".into()),
                Filter::Namespace("ns".into()),
                Filter::Label(label),
                Filter::Annotation(annotation),
                Filter::OwnerReference("o1".into()),
                Filter::OwnerKind("Workspace".into()),
                Filter::Alias("Al".into()),
            ]
        );
        // KubeSphere's test case: label, name, status (a route filter), paging.
        let q = ListQuery::parse(
            Some("label=app.kubernetes.io/name=book&name=foo&status=Running&page=1&limit=10&ascending=true"),
            &["status"],
        )
        .unwrap();
        assert_eq!((q.page(), q.limit(), q.ascending()), (1, Some(10), true));
        assert_eq!(q.extra_filter("status"), Some("Running"));
        assert_eq!(q.filters.len(), 2);
    }

    #[test]
    fn percent_decoding() {
        let cases = [
            ("name=a%20b", "a b"),
            ("name=a+b", "a b"),
            ("name=a%2Bb", "a+b"),
            ("name=a%2bb", "a+b"),
            ("name=%E4%B8%AD", "中"),
            ("name=a%26b%3Dc", "a&b=c"),
            ("name=a=b", "a=b"),
            ("name=", ""),
            ("name", ""),
            ("n%61me=x", "x"),
        ];
        for (query, name) in cases {
            let q = parse(query).unwrap();
            assert_eq!(q.filters, vec![Filter::Name(name.into())], "{query}");
        }
        let bad = [
            ("name=%zz", "name"),
            ("name=%2", "name"),
            ("name=abc%", "name"),
            ("name=%ff", "name"),
            ("%zz=1", "%zz"),
            ("%C3=1", "%C3"),
        ];
        for (query, parameter) in bad {
            match parse(query).unwrap_err() {
                QueryError::Encoding { parameter: p, .. } => assert_eq!(p, parameter, "{query}"),
                other => panic!("{query}: {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_parameters_are_named() {
        let error = parse("name=a&colour=red").unwrap_err();
        match &error {
            QueryError::UnknownParameter {
                parameter,
                accepted,
                hint,
            } => {
                assert_eq!(parameter, "colour");
                assert!(accepted.iter().any(|a| a == "ownerKind"));
                assert!(hint.is_empty());
            }
            other => panic!("{other:?}"),
        }
        assert!(error.to_string().starts_with(
            "unknown query parameter \"colour\": this list accepts page, limit, sortBy, \
             ascending, labelSelector, name, names,"
        ));
        // The route's filters are listed, once each.
        let error = ListQuery::parse(Some("colour=red"), &["email", "name"]).unwrap_err();
        let message = error.to_string();
        assert!(message.ends_with("alias, email"), "{message}");
        // A route filter of another route is unknown here; keys are case-sensitive.
        for (query, parameter) in [
            ("email=a", "email"),
            ("Name=a", "Name"),
            ("fieldSelector=metadata.name%3Da", "fieldSelector"),
            ("=x", ""),
            ("status", "status"),
        ] {
            match parse(query).unwrap_err() {
                QueryError::UnknownParameter { parameter: p, .. } => {
                    assert_eq!(p, parameter, "{query}")
                }
                other => panic!("{query}: {other:?}"),
            }
        }
        // KubeSphere's legacy v1alpha2 paging gets a pointer to the right form.
        let message = parse("paging=limit%3D10,page%3D1").unwrap_err().to_string();
        assert!(message.contains("\"paging\""), "{message}");
        assert!(message.contains("limit=N&page=M"), "{message}");
        // Long keys are cut.
        let long = "k".repeat(1000);
        match parse(&format!("{long}=1")).unwrap_err() {
            QueryError::UnknownParameter { parameter, .. } => {
                assert_eq!(parameter.len(), MAX_KEY_IN_ERROR + 3)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn repeated_parameters() {
        // The same value twice counts once.
        let q = parse("limit=10&limit=10&name=a&name=a").unwrap();
        assert_eq!(q.limit(), Some(10));
        assert_eq!(q.filters, vec![Filter::Name("a".into())]);
        // Different values are ambiguous.
        for (query, parameter) in [
            ("limit=10&limit=20", "limit"),
            ("page=1&page=2", "page"),
            ("sortBy=name&sortBy=createTime", "sortBy"),
            ("ascending=true&ascending=false", "ascending"),
            ("ascending=true&ascending=1", "ascending"),
            ("limit=&limit=5", "limit"),
            ("name=a&name=b", "name"),
            ("names=a&names=b", "names"),
            ("uid=a&namespace=n&uid=b", "uid"),
            ("ownerKind=a&ownerKind=b", "ownerKind"),
        ] {
            match parse(query).unwrap_err() {
                QueryError::Repeated { parameter: p, .. } => assert_eq!(p, parameter, "{query}"),
                other => panic!("{query}: {other:?}"),
            }
        }
        assert_eq!(
            parse("name=a&name=b").unwrap_err().to_string(),
            "query parameter \"name\" is given more than once with different values \
             (\"a\" and \"b\"); give it once"
        );
        // Selectors add up.
        let q = parse("labelSelector=a&labelSelector=b%3D1&label=c&label=d").unwrap();
        assert_eq!(q.selector.len(), 2);
        assert_eq!(q.filters.len(), 2);
        // A route's filter too is given once.
        let extra = ["globalrole"];
        let q = ListQuery::parse(Some("globalrole=a&globalrole=a"), &extra).unwrap();
        assert_eq!(q.extra_filters().collect::<Vec<_>>(), [("globalrole", "a")]);
        assert!(matches!(
            ListQuery::parse(Some("globalrole=a&globalrole=b"), &extra),
            Err(QueryError::Repeated { .. })
        ));
    }

    #[test]
    fn route_filters() {
        let extra = ["email", "namespace", "label", "page"];
        let q = ListQuery::parse(
            Some("email=a%40b.c&name=x&namespace=ns1&label=k%3Dv&page=2"),
            &extra,
        )
        .unwrap();
        // In the order given; a common filter named by the route is the route's.
        assert_eq!(
            q.extra_filters().collect::<Vec<_>>(),
            [("email", "a@b.c"), ("namespace", "ns1"), ("label", "k=v")]
        );
        assert_eq!(q.extra_filter("namespace"), Some("ns1"));
        assert_eq!(q.extra_filter("missing"), None);
        assert_eq!(q.filters, vec![Filter::Name("x".into())]);
        // Paging is never the route's.
        assert_eq!(q.page(), 2);
        // Given as a route filter, `namespace` does not filter by namespace.
        let item = json!({"metadata": {"name": "x", "namespace": "other"}});
        assert!(q.matches(&item));
    }

    #[test]
    fn invalid_selectors_name_the_parameter() {
        for (query, parameter) in [
            ("labelSelector=a%3D%3D%3Db", "labelSelector"),
            ("labelSelector=a+in+(b", "labelSelector"),
            ("label=!!a", "label"),
            ("label=app:web", "label"),
            ("annotation=a%3Dhas+space", "annotation"),
            ("labelSelector=x>y", "labelSelector"),
        ] {
            let error = parse(query).unwrap_err();
            match &error {
                QueryError::Selector { parameter: p, .. } => assert_eq!(*p, parameter, "{query}"),
                other => panic!("{query}: {other:?}"),
            }
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("invalid {parameter}: ")),
                "{error}"
            );
        }
    }

    #[test]
    fn bounds() {
        let names = vec!["n"; MAX_NAMES_BYTES / 2].join(",");
        assert!(parse(&format!("names={names}")).is_ok());
        let names = format!("{names},xx");
        match parse(&format!("names={names}")).unwrap_err() {
            QueryError::TooLarge {
                parameter, size, ..
            } => assert_eq!((parameter, size), ("names", MAX_NAMES_BYTES + 2)),
            other => panic!("{other:?}"),
        }

        let many = |n: usize| {
            (0..n)
                .map(|i| format!("label=k{i}"))
                .collect::<Vec<_>>()
                .join("&")
        };
        assert!(parse(&many(MAX_PARAMETERS)).is_ok());
        let error = parse(&many(MAX_PARAMETERS + 1)).unwrap_err();
        assert!(matches!(
            error,
            QueryError::TooLarge { parameter: "query", size, .. } if size == MAX_PARAMETERS + 1
        ));

        let selector = (0..=MAX_REQUIREMENTS)
            .map(|i| format!("k{i}"))
            .collect::<Vec<_>>();
        let query = format!("labelSelector={}", selector[1..].join(","));
        assert!(parse(&query).is_ok());
        let query = format!("label=k0&labelSelector={}", selector[1..].join(","));
        assert!(matches!(
            parse(&query).unwrap_err(),
            QueryError::TooLarge {
                parameter: "labelSelector",
                unit: "requirements",
                ..
            }
        ));
    }

    // ---- selecting ----

    /// A JSON object with the given metadata.
    fn object(
        namespace: &str,
        name: &str,
        uid: &str,
        created: Option<&str>,
        labels: &[(&str, &str)],
        annotations: &[(&str, &str)],
        owners: &[(&str, &str)],
    ) -> Value {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), json!(v)))
                .collect::<serde_json::Map<_, _>>()
        };
        let mut metadata = json!({"name": name, "uid": uid});
        if !namespace.is_empty() {
            metadata["namespace"] = json!(namespace);
        }
        if let Some(created) = created {
            metadata["creationTimestamp"] = json!(created);
        }
        if !labels.is_empty() {
            metadata["labels"] = Value::Object(map(labels));
        }
        if !annotations.is_empty() {
            metadata["annotations"] = Value::Object(map(annotations));
        }
        if !owners.is_empty() {
            metadata["ownerReferences"] = owners
                .iter()
                .map(|(uid, kind)| {
                    json!({"apiVersion": "v1", "kind": kind, "name": "owner", "uid": uid})
                })
                .collect();
        }
        json!({"metadata": metadata})
    }

    fn fixture() -> Vec<Value> {
        let alias = ALIAS_ANNOTATION;
        vec![
            object(
                "default",
                "web-a",
                "u-1",
                Some("2024-01-01T00:00:00Z"),
                &[("app", "web"), ("tier", "front")],
                &[(alias, "Alpha Web"), ("note", "x")],
                &[("o-1", "Workspace")],
            ),
            object(
                "default",
                "db-b",
                "u-2",
                Some("2024-01-02T00:00:00Z"),
                &[("app", "db")],
                &[],
                &[("o-2", "Deployment")],
            ),
            object(
                "kube",
                "web-c",
                "u-3",
                Some("2024-01-02T00:00:00Z"),
                &[("app", "web"), ("version", "3")],
                &[],
                &[],
            ),
            object("", "misc-d", "u-4", None, &[], &[("note", "y")], &[]),
            // 2023-12-31T23:00:00Z: older than web-a, though its text sorts after.
            object(
                "kube",
                "Web-E",
                "u-5",
                Some("2024-01-01T00:00:00+01:00"),
                &[("app", "web"), ("version", "10")],
                &[],
                &[("o-1", "Workspace"), ("o-3", "ReplicaSet")],
            ),
            object(
                "other",
                "web-a",
                "u-6",
                Some("2024-01-01T00:00:00Z"),
                &[("tier", "back")],
                &[(alias, "Beta")],
                &[],
            ),
        ]
    }

    /// Newest first; equal times by name, then namespace, descending.
    const NEWEST_FIRST: [&str; 6] = [
        "kube/web-c",
        "default/db-b",
        "other/web-a",
        "default/web-a",
        "kube/Web-E",
        "/misc-d",
    ];

    fn key(object: &impl ObjectView) -> String {
        format!("{}/{}", object.namespace(), object.name())
    }

    fn select_cases() -> Vec<(&'static str, Vec<&'static str>, usize)> {
        let all = NEWEST_FIRST.to_vec();
        let oldest_first: Vec<&str> = NEWEST_FIRST.iter().rev().copied().collect();
        let pick = |keys: &[&'static str]| -> Vec<&'static str> {
            NEWEST_FIRST
                .iter()
                .copied()
                .filter(|k| keys.contains(k))
                .collect()
        };
        let by_name_desc = vec![
            "kube/web-c",
            "other/web-a",
            "default/web-a",
            "/misc-d",
            "default/db-b",
            "kube/Web-E",
        ];
        let by_name_asc: Vec<&str> = by_name_desc.iter().rev().copied().collect();
        vec![
            // Sorting.
            ("", all.clone(), 6),
            ("sortBy=creationTimestamp", all.clone(), 6),
            ("sortBy=createTime&ascending=false", all.clone(), 6),
            ("ascending=true", oldest_first.clone(), 6),
            ("sortBy=createTime&ascending=true", oldest_first.clone(), 6),
            ("sortBy=name", by_name_desc.clone(), 6),
            ("sortBy=name&ascending=true", by_name_asc.clone(), 6),
            // name: a case-sensitive substring.
            (
                "name=web",
                pick(&["kube/web-c", "other/web-a", "default/web-a"]),
                3,
            ),
            ("name=Web", pick(&["kube/Web-E"]), 1),
            ("name=-", all.clone(), 6),
            ("name=", all.clone(), 6),
            ("name=zzz", vec![], 0),
            // names: exact, comma-separated.
            (
                "names=web-a,misc-d",
                pick(&["other/web-a", "default/web-a", "/misc-d"]),
                3,
            ),
            ("names=web", vec![], 0),
            (
                "names=web-a,,nothing",
                pick(&["other/web-a", "default/web-a"]),
                2,
            ),
            ("uid=u-3", pick(&["kube/web-c"]), 1),
            ("uid=u", vec![], 0),
            ("namespace=kube", pick(&["kube/web-c", "kube/Web-E"]), 2),
            ("namespace=", pick(&["/misc-d"]), 1),
            // label: a label selector over the labels.
            (
                "label=app%3Dweb",
                pick(&["kube/web-c", "default/web-a", "kube/Web-E"]),
                3,
            ),
            (
                "label=app",
                pick(&["kube/web-c", "default/db-b", "default/web-a", "kube/Web-E"]),
                4,
            ),
            ("label=!app", pick(&["other/web-a", "/misc-d"]), 2),
            (
                "label=app!%3Dweb",
                pick(&["default/db-b", "other/web-a", "/misc-d"]),
                3,
            ),
            ("label=app%3D", vec![], 0),
            ("label=version>5", pick(&["kube/Web-E"]), 1),
            ("label=version<5", pick(&["kube/web-c"]), 1),
            (
                "label=tier+in+(front,back)",
                pick(&["other/web-a", "default/web-a"]),
                2,
            ),
            ("label=app%3Dweb,tier%3Dfront", pick(&["default/web-a"]), 1),
            (
                "label=app%3Dweb&label=version",
                pick(&["kube/web-c", "kube/Web-E"]),
                2,
            ),
            ("label=", all.clone(), 6),
            // labelSelector, set-based too.
            (
                "labelSelector=app%3Dweb,version!%3D3",
                pick(&["default/web-a", "kube/Web-E"]),
                2,
            ),
            (
                "labelSelector=app+notin+(web)",
                pick(&["default/db-b", "other/web-a", "/misc-d"]),
                3,
            ),
            (
                "labelSelector=app+in+(db,web),!version",
                pick(&["default/db-b", "default/web-a"]),
                2,
            ),
            ("labelSelector=app%3D%3Ddb", pick(&["default/db-b"]), 1),
            (
                "labelSelector=app&labelSelector=tier",
                pick(&["default/web-a"]),
                1,
            ),
            // annotation: a label selector over the annotations.
            ("annotation=note", pick(&["default/web-a", "/misc-d"]), 2),
            ("annotation=note%3Dy", pick(&["/misc-d"]), 1),
            (
                "annotation=note!%3Dy",
                pick(&[
                    "kube/web-c",
                    "default/db-b",
                    "other/web-a",
                    "default/web-a",
                    "kube/Web-E",
                ]),
                5,
            ),
            // alias: a substring of the alias annotation.
            ("alias=Web", pick(&["default/web-a"]), 1),
            ("alias=eta", pick(&["other/web-a"]), 1),
            ("alias=web", vec![], 0),
            ("alias=", pick(&["other/web-a", "default/web-a"]), 2),
            // Owners.
            (
                "ownerReference=o-1",
                pick(&["default/web-a", "kube/Web-E"]),
                2,
            ),
            ("ownerReference=o-3", pick(&["kube/Web-E"]), 1),
            ("ownerReference=Workspace", vec![], 0),
            (
                "ownerKind=Workspace",
                pick(&["default/web-a", "kube/Web-E"]),
                2,
            ),
            ("ownerKind=ReplicaSet", pick(&["kube/Web-E"]), 1),
            ("ownerKind=workspace", vec![], 0),
            // Filters combine.
            ("namespace=default&name=web", pick(&["default/web-a"]), 1),
            (
                "name=web&sortBy=name&ascending=true",
                vec!["default/web-a", "other/web-a", "kube/web-c"],
                3,
            ),
            (
                "label=app&limit=2&page=2&ascending=true",
                vec!["default/db-b", "kube/web-c"],
                4,
            ),
            // Paging.
            ("limit=2", all[0..2].to_vec(), 6),
            ("limit=2&page=2", all[2..4].to_vec(), 6),
            ("limit=2&page=3", all[4..6].to_vec(), 6),
            ("limit=4&page=2", all[4..6].to_vec(), 6),
            ("limit=1&page=6", all[5..6].to_vec(), 6),
            ("limit=5&page=2&sortBy=name", by_name_desc[5..6].to_vec(), 6),
            (
                "limit=3&page=2&ascending=true",
                oldest_first[3..6].to_vec(),
                6,
            ),
            ("limit=6", all.clone(), 6),
            ("limit=100", all.clone(), 6),
            ("limit=2&page=4", vec![], 6),
            ("limit=1&page=7", vec![], 6),
            ("limit=0", vec![], 6),
            ("limit=0&page=3", vec![], 6),
            ("limit=-1&page=3", all.clone(), 6),
            ("page=2", all.clone(), 6),
            ("limit=3&page=18446744073709551615", vec![], 6),
            ("limit=18446744073709551615", all.clone(), 6),
            ("limit=18446744073709551615&page=2", vec![], 6),
            ("name=zzz&limit=2&page=3", vec![], 0),
        ]
    }

    #[test]
    fn select_json() {
        for (query, want, total) in select_cases() {
            let q = parse(query).unwrap_or_else(|e| panic!("{query}: {e}"));
            let listed = q.select(fixture(), |_| true);
            let got: Vec<String> = listed.items.iter().map(key).collect();
            assert_eq!(
                (got, listed.total_items),
                (want.iter().map(|s| s.to_string()).collect(), total),
                "{query}"
            );
        }
    }

    #[test]
    fn select_borrowed_and_typed_agree_with_json() {
        let objects = fixture();
        let metas: Vec<ObjectMeta> = objects
            .iter()
            .map(|o| serde_json::from_value(o["metadata"].clone()).unwrap())
            .collect();
        for (query, want, total) in select_cases() {
            let q = parse(query).unwrap();
            let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();

            let borrowed = q.select(objects.iter().collect::<Vec<&Value>>(), |_| true);
            assert_eq!(borrowed.total_items, total, "{query}");
            assert_eq!(
                borrowed.items.iter().map(key).collect::<Vec<_>>(),
                want,
                "{query}"
            );

            let typed = q.select(metas.clone(), |_| true);
            assert_eq!(typed.total_items, total, "{query}");
            assert_eq!(
                typed.items.iter().map(key).collect::<Vec<_>>(),
                want,
                "{query}"
            );

            let wrapped: Vec<(u8, Arc<ObjectMeta>)> =
                metas.iter().cloned().map(|m| (0, Arc::new(m))).collect();
            let by = q.select_by(wrapped, |w| &w.1, |_| true);
            assert_eq!(by.total_items, total, "{query}");
            assert_eq!(
                by.items.iter().map(|w| key(&w.1)).collect::<Vec<_>>(),
                want,
                "{query}"
            );
        }
    }

    #[test]
    fn route_filter_sees_only_what_passed_the_others() {
        let q = ListQuery::parse(Some("namespace=default&limit=1&tier=front"), &["tier"]).unwrap();
        let mut seen = Vec::new();
        let tier = q.extra_filter("tier").unwrap();
        let listed = q.select(fixture(), |o| {
            seen.push(key(o));
            o.label("tier") == Some(tier)
        });
        assert_eq!(seen, ["default/web-a", "default/db-b"]);
        assert_eq!(listed.total_items, 1);
        assert_eq!(
            listed.items.iter().map(key).collect::<Vec<_>>(),
            ["default/web-a"]
        );
    }

    #[test]
    fn equal_keys_keep_input_order() {
        let same = |uid: &str| object("ns", "x", uid, Some("2024-01-01T00:00:00Z"), &[], &[], &[]);
        let items = vec![same("1"), same("2"), same("3"), same("4")];
        for query in [
            "",
            "ascending=true",
            "sortBy=name",
            "sortBy=name&ascending=true",
        ] {
            let q = parse(query).unwrap();
            let uids = |l: Listed<Value>| {
                l.items
                    .iter()
                    .map(|o| o.uid().to_owned())
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                uids(q.select(items.clone(), |_| true)),
                ["1", "2", "3", "4"],
                "{query}"
            );
            let q = parse(&format!("{query}&limit=2&page=2")).unwrap();
            assert_eq!(
                uids(q.select(items.clone(), |_| true)),
                ["3", "4"],
                "{query}"
            );
        }
        // The same instant written two ways is a tie, broken by name.
        let a = object(
            "",
            "a",
            "",
            Some("2024-01-01T01:00:00+01:00"),
            &[],
            &[],
            &[],
        );
        let b = object("", "b", "", Some("2024-01-01T00:00:00Z"), &[], &[], &[]);
        let c = object(
            "",
            "c",
            "",
            Some("2024-01-01T00:00:00.000000001Z"),
            &[],
            &[],
            &[],
        );
        let listed = parse("").unwrap().select(vec![a, b, c], |_| true);
        assert_eq!(
            listed.items.iter().map(|o| o.name()).collect::<Vec<_>>(),
            ["c", "b", "a"]
        );
    }

    #[test]
    fn timestamps() {
        let cases = [
            ("1970-01-01T00:00:00Z", Some((0, 0))),
            ("2024-02-29T12:34:56Z", Some((1_709_210_096, 0))),
            ("2024-02-29T12:34:56.5Z", Some((1_709_210_096, 500_000_000))),
            ("2024-02-29T12:34:56.000000001Z", Some((1_709_210_096, 1))),
            ("2024-02-29T13:34:56+01:00", Some((1_709_210_096, 0))),
            ("1969-12-31T23:59:59Z", Some((-1, 0))),
            ("0000-03-01T00:00:00Z", Some((-62_162_035_200, 0))),
            ("2023-02-29T00:00:00Z", None),
            ("2024-13-01T00:00:00Z", None),
            ("2024-01-01T24:00:00Z", None),
            ("2024-01-01T00:00:00.Z", None),
            ("2024-01-01T00:00:00.0000000001Z", None),
            ("2024-01-01T00:00:00", None),
            ("2024-01-01", None),
            ("", None),
            ("yesterday", None),
        ];
        for (text, want) in cases {
            let want = want.map(|(s, n)| Timestamp::new(s, n).unwrap());
            assert_eq!(parse_timestamp(text), want, "{text}");
            assert_eq!(text.parse::<Timestamp>().ok(), want, "jiff: {text}");
        }
    }

    #[test]
    fn malformed_metadata_reads_as_absent() {
        let odd = json!({"metadata": {
            "name": 7,
            "namespace": ["x"],
            "creationTimestamp": "yesterday",
            "labels": {"app": 1, "tier": "x"},
            "ownerReferences": [{"uid": 5}, "junk"],
        }});
        assert_eq!((odd.name(), odd.namespace(), odd.uid()), ("", "", ""));
        assert_eq!(odd.creation_timestamp(), None);
        assert_eq!((odd.label("app"), odd.label("tier")), (None, Some("x")));
        assert_eq!(
            odd.owner_references().collect::<Vec<_>>(),
            [OwnerRef { uid: "", kind: "" }]
        );
        for no_metadata in [json!(null), json!({}), json!({"metadata": 1}), json!([1])] {
            assert_eq!(no_metadata.name(), "");
            assert_eq!(no_metadata.annotation("a"), None);
            assert_eq!(no_metadata.owner_references().count(), 0);
        }
        // Without a (parsable) creation time, an item is the oldest.
        let new = object("", "new", "", Some("1970-01-01T00:00:00Z"), &[], &[], &[]);
        let listed = parse("")
            .unwrap()
            .select(vec![odd.clone(), new.clone()], |_| true);
        assert_eq!(listed.items, [new.clone(), odd.clone()]);
        let listed = parse("ascending=true")
            .unwrap()
            .select(vec![new.clone(), odd.clone()], |_| true);
        assert_eq!(listed.items, [odd, new]);
    }

    #[test]
    fn listed_serializes_as_kubesphere_list_result() {
        let empty: Listed<Value> = parse("limit=0").unwrap().select(fixture(), |_| true);
        assert_eq!(
            serde_json::to_value(&empty).unwrap(),
            json!({"items": [], "totalItems": 6})
        );
        let none: Listed<Value> = parse("").unwrap().select(Vec::new(), |_| true);
        assert_eq!(
            serde_json::to_string(&none).unwrap(),
            r#"{"items":[],"totalItems":0}"#
        );
        let page = parse("names=misc-d").unwrap().select(fixture(), |_| true);
        let names = page.map(|o| o.name().to_owned());
        assert_eq!(
            serde_json::to_value(&names).unwrap(),
            json!({"items": ["misc-d"], "totalItems": 1})
        );
        let back: Listed<String> =
            serde_json::from_str(r#"{"items":["a"],"totalItems":3}"#).unwrap();
        assert_eq!(
            back,
            Listed {
                items: vec!["a".to_owned()],
                total_items: 3
            }
        );
    }

    #[test]
    fn query_error_is_a_bad_request() {
        let error = ApiError::from(parse("colour=red").unwrap_err());
        assert_eq!((error.code, error.reason), (400, "BadRequest"));
        assert!(error.message.contains("\"colour\""), "{}", error.message);
    }

    // ---- differential: select against a naive model ----

    const NAMES: [&str; 6] = ["a", "b", "ab", "ba", "Ab", ""];
    const NAMESPACES: [&str; 3] = ["", "x", "y"];
    const UIDS: [&str; 3] = ["u1", "u2", "u3"];
    const TIMES: [Option<&str>; 7] = [
        None,
        Some("2024-01-01T00:00:00Z"),
        Some("2024-01-01T01:00:00+01:00"),
        Some("2024-01-01T00:00:00.5Z"),
        Some("2023-12-31T23:59:59Z"),
        Some("2024-06-01T00:00:00Z"),
        Some("not a time"),
    ];
    const LABEL_KEYS: [&str; 2] = ["k1", "k2"];
    const LABEL_VALUES: [&str; 4] = ["v1", "v2", "1", "7"];
    const ANNOTATION_KEYS: [&str; 2] = ["n1", ALIAS_ANNOTATION];
    const ANNOTATION_VALUES: [&str; 3] = ["Al", "al", "b"];
    const OWNER_UIDS: [&str; 2] = ["o1", "o2"];
    const OWNER_KINDS: [&str; 2] = ["K1", "K2"];
    const SELECTORS: [&str; 12] = [
        "k1",
        "!k1",
        "k1=v1",
        "k1==v2",
        "k1!=v1",
        "k1 in (v1,1)",
        "k1 notin (v2)",
        "k2>2",
        "k2<5",
        "k1,k2=7",
        "",
        "n1=Al",
    ];

    #[derive(Debug, Clone)]
    struct Model {
        name: &'static str,
        namespace: &'static str,
        uid: &'static str,
        time: Option<&'static str>,
        labels: BTreeMap<String, String>,
        annotations: BTreeMap<String, String>,
        owners: Vec<(&'static str, &'static str)>,
    }

    impl Model {
        fn json(&self, index: usize) -> Value {
            fn pairs(m: &BTreeMap<String, String>) -> Vec<(&str, &str)> {
                m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
            }
            let mut o = object(
                self.namespace,
                self.name,
                self.uid,
                self.time,
                &pairs(&self.labels),
                &pairs(&self.annotations),
                &self.owners,
            );
            o["index"] = json!(index);
            o
        }
    }

    fn pick<T: Clone + std::fmt::Debug + 'static>(
        options: &'static [T],
    ) -> impl Strategy<Value = T> {
        (0..options.len()).prop_map(move |i| options[i].clone())
    }

    fn string_map(
        keys: &'static [&'static str],
        values: &'static [&'static str],
    ) -> impl Strategy<Value = BTreeMap<String, String>> {
        proptest::collection::btree_map(pick(keys), pick(values), 0..=keys.len()).prop_map(|m| {
            m.into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
    }

    fn model() -> impl Strategy<Value = Model> {
        (
            pick(&NAMES),
            pick(&NAMESPACES),
            pick(&UIDS),
            pick(&TIMES),
            string_map(&LABEL_KEYS, &LABEL_VALUES),
            string_map(&ANNOTATION_KEYS, &ANNOTATION_VALUES),
            proptest::collection::vec((pick(&OWNER_UIDS), pick(&OWNER_KINDS)), 0..3),
        )
            .prop_map(
                |(name, namespace, uid, time, labels, annotations, owners)| Model {
                    name,
                    namespace,
                    uid,
                    time,
                    labels,
                    annotations,
                    owners,
                },
            )
    }

    /// A query in structured form; `render` makes its URL query.
    #[derive(Debug, Clone)]
    struct QueryModel {
        page: Option<usize>,
        limit: Option<i64>,
        sort_by: Option<&'static str>,
        ascending: Option<bool>,
        selectors: Vec<&'static str>,
        filters: Vec<(&'static str, String)>,
    }

    fn filter() -> impl Strategy<Value = (&'static str, String)> {
        let text = |options: &'static [&'static str]| pick(options).prop_map(str::to_owned);
        prop_oneof![
            text(&["a", "b", "A", "", "ab"]).prop_map(|v| ("name", v)),
            proptest::collection::vec(pick(&NAMES), 1..4).prop_map(|v| ("names", v.join(","))),
            text(&UIDS).prop_map(|v| ("uid", v)),
            text(&NAMESPACES).prop_map(|v| ("namespace", v)),
            text(&SELECTORS).prop_map(|v| ("label", v)),
            text(&SELECTORS).prop_map(|v| ("annotation", v)),
            text(&OWNER_UIDS).prop_map(|v| ("ownerReference", v)),
            text(&OWNER_KINDS).prop_map(|v| ("ownerKind", v)),
            text(&["A", "l", "al", ""]).prop_map(|v| ("alias", v)),
        ]
    }

    fn query_model() -> impl Strategy<Value = QueryModel> {
        (
            proptest::option::of(1usize..6),
            proptest::option::of(-1i64..6),
            proptest::option::of(pick(&["creationTimestamp", "createTime", "name"])),
            proptest::option::of(any::<bool>()),
            proptest::collection::vec(pick(&SELECTORS), 0..3),
            proptest::collection::vec(filter(), 0..4),
        )
            .prop_map(
                |(page, limit, sort_by, ascending, selectors, mut filters)| {
                    // Single-valued filters are given once.
                    let mut seen = Vec::new();
                    filters.retain(|(k, _)| {
                        matches!(*k, "label" | "annotation") || {
                            let fresh = !seen.contains(k);
                            seen.push(*k);
                            fresh
                        }
                    });
                    QueryModel {
                        page,
                        limit,
                        sort_by,
                        ascending,
                        selectors,
                        filters,
                    }
                },
            )
    }

    /// Percent-encodes everything but unreserved characters; spaces as `+`.
    fn encode(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    impl QueryModel {
        fn render(&self) -> String {
            let mut pairs = Vec::new();
            if let Some(page) = self.page {
                pairs.push(format!("page={page}"));
            }
            if let Some(limit) = self.limit {
                pairs.push(format!("limit={limit}"));
            }
            if let Some(sort_by) = self.sort_by {
                pairs.push(format!("sortBy={sort_by}"));
            }
            if let Some(ascending) = self.ascending {
                pairs.push(format!("ascending={ascending}"));
            }
            for selector in &self.selectors {
                pairs.push(format!("labelSelector={}", encode(selector)));
            }
            for (key, value) in &self.filters {
                pairs.push(format!("{key}={}", encode(value)));
            }
            pairs.join("&")
        }

        /// The naive model: filter each item plainly, sort everything
        /// (stably), slice the page. Returns input positions.
        fn apply(&self, models: &[Model]) -> (Vec<usize>, usize) {
            let selects = |selector: &str, map: &BTreeMap<String, String>| {
                LabelSelector::parse(selector).unwrap().matches(map)
            };
            let keep = |m: &Model| {
                self.selectors.iter().all(|s| selects(s, &m.labels))
                    && self.filters.iter().all(|(key, value)| match *key {
                        "name" => m.name.contains(value.as_str()),
                        "names" => value.split(',').any(|n| n == m.name),
                        "uid" => m.uid == value,
                        "namespace" => m.namespace == value,
                        "label" => selects(value, &m.labels),
                        "annotation" => selects(value, &m.annotations),
                        "ownerReference" => m.owners.iter().any(|(uid, _)| uid == value),
                        "ownerKind" => m.owners.iter().any(|(_, kind)| kind == value),
                        "alias" => m
                            .annotations
                            .get(ALIAS_ANNOTATION)
                            .is_some_and(|a| a.contains(value.as_str())),
                        other => panic!("{other}"),
                    })
            };
            let mut kept: Vec<usize> = (0..models.len()).filter(|&i| keep(&models[i])).collect();
            let time = |m: &Model| m.time.and_then(|t| t.parse::<Timestamp>().ok());
            let by_name = self.sort_by == Some("name");
            kept.sort_by(|&i, &j| {
                let (a, b) = (&models[i], &models[j]);
                let order = if by_name {
                    a.name.cmp(b.name)
                } else {
                    time(a).cmp(&time(b)).then(a.name.cmp(b.name))
                }
                .then(a.namespace.cmp(b.namespace));
                if self.ascending == Some(true) {
                    order
                } else {
                    order.reverse()
                }
            });
            let total = kept.len();
            let page = match self.limit {
                None | Some(-1) => kept,
                Some(limit) => {
                    let limit = limit as usize;
                    let skip = (self.page.unwrap_or(1) - 1) * limit;
                    kept.into_iter().skip(skip).take(limit).collect()
                }
            };
            (page, total)
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn prop_select_matches_naive_model(
            models in proptest::collection::vec(model(), 0..24),
            query in query_model(),
        ) {
            let rendered = query.render();
            let q = ListQuery::parse(Some(&rendered), &[]).unwrap();
            let (want, total) = query.apply(&models);

            let objects: Vec<Value> = models.iter().enumerate().map(|(i, m)| m.json(i)).collect();
            let listed = q.select(objects.iter().collect::<Vec<_>>(), |_| true);
            let got: Vec<usize> =
                listed.items.iter().map(|o| o["index"].as_u64().unwrap() as usize).collect();
            prop_assert_eq!(&got, &want, "query {}", rendered);
            prop_assert_eq!(listed.total_items, total);

            // Typed metadata lists the same (ObjectMeta cannot hold a
            // malformed time: it does not decode).
            if models.iter().all(|m| m.time != Some("not a time")) {
                let metas: Vec<(usize, ObjectMeta)> = objects
                    .iter()
                    .enumerate()
                    .map(|(i, o)| (i, serde_json::from_value(o["metadata"].clone()).unwrap()))
                    .collect();
                let typed = q.select_by(metas, |m| &m.1, |_| true);
                let got_typed: Vec<usize> = typed.items.iter().map(|m| m.0).collect();
                prop_assert_eq!(&got_typed, &want, "query {}", rendered);
                prop_assert_eq!(typed.total_items, total);
            }
        }

        #[test]
        fn prop_parse_never_panics(query in "[a-zA-Z=&%+,!()<> 0-9-]{0,64}") {
            let _ = ListQuery::parse(Some(&query), &["extra"]);
        }

        #[test]
        fn prop_pages_partition_the_list(
            models in proptest::collection::vec(model(), 0..30),
            limit in 1usize..7,
            sort in pick(&["", "sortBy=name&", "ascending=true&", "sortBy=name&ascending=true&"]),
        ) {
            let objects: Vec<Value> = models.iter().enumerate().map(|(i, m)| m.json(i)).collect();
            let all = parse(sort).unwrap().select(objects.iter().collect::<Vec<_>>(), |_| true);
            let mut paged = Vec::new();
            for page in 1..=objects.len().div_ceil(limit) + 1 {
                let q = parse(&format!("{sort}limit={limit}&page={page}")).unwrap();
                let listed = q.select(objects.iter().collect::<Vec<_>>(), |_| true);
                prop_assert_eq!(listed.total_items, objects.len());
                prop_assert!(listed.items.len() <= limit);
                paged.extend(listed.items);
            }
            prop_assert_eq!(paged, all.items);
        }
    }
}
