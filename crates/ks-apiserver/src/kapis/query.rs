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
        json_meta_str(self, "creationTimestamp")?.parse().ok()
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
    /// [`ListQuery::select`] leaves it to the route. The paging and sorting
    /// parameters cannot be taken over.
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

impl fmt::Display for SortBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SortBy::CreationTimestamp => "creationTimestamp",
            SortBy::Name => "name",
        })
    }
}
