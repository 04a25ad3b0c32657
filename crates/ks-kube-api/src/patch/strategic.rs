//! Kubernetes' strategic merge patch, as apimachinery's
//! `strategicpatch.StrategicMergeMapPatch` applies it on the server. The
//! semantics are documented on [`StrategicSchema`].

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value};

use super::schema::{PatchStrategy as Strategy, Shape};
use super::{PatchError, PatchKind, StrategicSchema, limits};

/// `$patch`: the directive key.
const DIRECTIVE: &str = "$patch";
const DELETE: &str = "delete";
const REPLACE: &str = "replace";
const MERGE: &str = "merge";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
/// Keys starting with `$` that are fields, not directives: JSON Schema
/// keywords, which CRD schemas (`JSONSchemaProps`) carry.
const SCHEMA_KEYWORDS: [&str; 2] = ["$ref", "$schema"];

type Object = Map<String, Value>;

/// A list item with the key it is matched and ordered by: its merge key's
/// value, or the item itself for a list of scalars, as compact JSON.
type Keyed = (String, Value);

/// Applies a strategic merge patch body to `original`.
pub(super) fn apply(
    original: &Value,
    body: &[u8],
    schema: &StrategicSchema,
) -> Result<Value, PatchError> {
    let patch: Value = serde_json::from_slice(body).map_err(|source| PatchError::InvalidJson {
        kind: PatchKind::Strategic,
        source,
    })?;
    let patch = match patch {
        Value::Object(patch) => patch,
        // Kubernetes decodes `null` into an empty patch map.
        Value::Null => Object::new(),
        other => {
            return Err(malformed(
                &Loc::ROOT,
                format!(
                    "a strategic merge patch must be a JSON object, not {}",
                    limits::type_name(&other)
                ),
            ));
        }
    };
    let live = original.as_object().cloned().unwrap_or_default();
    // `$patch: delete` at the root leaves an empty object, as in Kubernetes.
    let merged = merge_object(live, patch, schema.root(), &Loc::ROOT)?.unwrap_or_default();
    Ok(Value::Object(merged))
}

/// Merges `patch` into the object `live`. `None` when the patch deletes the
/// object (`$patch: delete`).
fn merge_object(
    mut live: Object,
    mut patch: Object,
    shape: Shape,
    loc: &Loc<'_>,
) -> Result<Option<Object>, PatchError> {
    if let Some(directive) = patch.remove(DIRECTIVE) {
        match directive.as_str() {
            Some(DELETE) => return Ok(None),
            Some(REPLACE) => live.clear(),
            Some(MERGE) => {}
            _ => {
                return Err(malformed(
                    loc,
                    format!(
                        "unknown {DIRECTIVE} directive {directive} in an object; \
                         expected \"{REPLACE}\", \"{DELETE}\" or \"{MERGE}\""
                    ),
                ));
            }
        }
    }
    if let Some(retain) = patch.remove(RETAIN_KEYS) {
        retain_keys(&mut live, &patch, retain, loc)?;
    }

    // Split the parallel lists off the fields they apply to.
    let mut orders = BTreeMap::new();
    let mut deletions = BTreeMap::new();
    let mut fields = Vec::with_capacity(patch.len());
    for (key, value) in patch {
        if let Some(rest) = key.strip_prefix(SET_ELEMENT_ORDER) {
            let (field, list) = parallel_list(SET_ELEMENT_ORDER, rest, value, loc)?;
            orders.insert(field, list);
        } else if let Some(rest) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            let (field, list) = parallel_list(DELETE_FROM_PRIMITIVE_LIST, rest, value, loc)?;
            deletions.insert(field, list);
        } else if key.starts_with('$') && !SCHEMA_KEYWORDS.contains(&key.as_str()) {
            return Err(malformed(loc, format!("unknown directive {key:?}")));
        } else {
            fields.push((key, value));
        }
    }

    for (key, value) in fields {
        let (strategy, field_shape) = shape.field(&key);
        let order = orders.remove(&key);
        let merged = merge_field(
            live.remove(&key),
            value,
            strategy,
            field_shape,
            order,
            &loc.key(&key),
        )?;
        if let Some(merged) = merged {
            live.insert(key, merged);
        }
    }

    // An order for a list the patch leaves alone reorders the live list.
    // Kubernetes only orders lists that merge; for others it is dropped.
    for (key, order) in orders {
        let (strategy, field_shape) = shape.field(&key);
        if strategy == Strategy::Default || !matches!(live.get(&key), Some(Value::Array(_))) {
            continue;
        }
        let merged = merge_field(
            live.remove(&key),
            Value::Array(Vec::new()),
            strategy,
            field_shape,
            Some(order),
            &loc.key(&key),
        )?;
        if let Some(merged) = merged {
            live.insert(key, merged);
        }
    }

    for (key, doomed) in deletions {
        match live.get_mut(&key) {
            Some(Value::Array(items)) => {
                let doomed: HashSet<String> = doomed.iter().map(key_of).collect();
                items.retain(|item| !doomed.contains(&key_of(item)));
            }
            None => {}
            Some(other) => {
                return Err(not_applicable(
                    &loc.key(&key),
                    format!(
                        "{DELETE_FROM_PRIMITIVE_LIST}/{key} deletes from a {}, not a list",
                        limits::type_name(other)
                    ),
                ));
            }
        }
    }
    Ok(Some(live))
}

/// Applies `$retainKeys` (apimachinery `applyRetainKeysDirective`): drops the
/// live fields not named, after checking the patch sets no field it does not
/// name.
fn retain_keys(
    live: &mut Object,
    patch: &Object,
    retain: Value,
    loc: &Loc<'_>,
) -> Result<(), PatchError> {
    let bad_format = || malformed(loc, format!("{RETAIN_KEYS} must be a list of field names"));
    let Value::Array(names) = retain else {
        return Err(bad_format());
    };
    let names = names
        .iter()
        .map(|name| name.as_str().ok_or_else(bad_format))
        .collect::<Result<HashSet<&str>, _>>()?;
    let unlisted = patch.iter().find(|(key, value)| {
        !value.is_null()
            && !key.starts_with(SET_ELEMENT_ORDER)
            && !key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            && !names.contains(key.as_str())
    });
    if let Some((key, _)) = unlisted {
        return Err(malformed(
            loc,
            format!("the patch sets {key:?}, which {RETAIN_KEYS} does not list"),
        ));
    }
    live.retain(|key, _| names.contains(key.as_str()));
    Ok(())
}

/// Checks a `$setElementOrder/<field>` or `$deleteFromPrimitiveList/<field>`
/// entry (`rest` is what follows the prefix) and returns the field and list.
fn parallel_list(
    prefix: &str,
    rest: &str,
    value: Value,
    loc: &Loc<'_>,
) -> Result<(String, Vec<Value>), PatchError> {
    let field = rest.strip_prefix('/').filter(|field| !field.is_empty());
    match (field, value) {
        (Some(field), Value::Array(list)) => Ok((field.to_owned(), list)),
        (Some(field), other) => Err(malformed(
            loc,
            format!(
                "{prefix}/{field} must be a list, not {}",
                limits::type_name(&other)
            ),
        )),
        (None, _) => Err(malformed(
            loc,
            format!("unknown directive \"{prefix}{rest}\"; expected \"{prefix}/<field>\""),
        )),
    }
}

/// Merges the patch value of one field into its live value (absent when
/// `None`). `None` when the field is to be deleted.
fn merge_field(
    live: Option<Value>,
    patch: Value,
    strategy: Strategy,
    shape: Shape,
    order: Option<Vec<Value>>,
    loc: &Loc<'_>,
) -> Result<Option<Value>, PatchError> {
    match patch {
        Value::Null => Ok(None),
        Value::Object(patch) => {
            let live = match live {
                Some(Value::Object(live)) => live,
                // Absent, or of another type: the patch object is merged
                // into nothing, which drops its nulls and directives.
                _ => Object::new(),
            };
            Ok(merge_object(live, patch, shape, loc)?.map(Value::Object))
        }
        Value::Array(patch) => {
            let live = match live {
                Some(Value::Array(live)) => live,
                _ => Vec::new(),
            };
            let merged = match strategy {
                Strategy::Merge => merge_scalar_list(live, patch, order, loc)?,
                Strategy::MergeByKey(key) => merge_keyed_list(live, patch, key, shape, order, loc)?,
                // Replaced as sent, as RFC 7386 and Kubernetes do.
                Strategy::Default => patch,
            };
            Ok(Some(Value::Array(merged)))
        }
        scalar => Ok(Some(scalar)),
    }
}

/// Merges a list of objects by the value of their `key` field
/// (apimachinery `mergeSlice` for lists of maps).
fn merge_keyed_list(
    live: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
    shape: Shape,
    order: Option<Vec<Value>>,
    loc: &Loc<'_>,
) -> Result<Vec<Value>, PatchError> {
    // Sort the patch into deletions, a replace marker and items to merge.
    let mut deleted = HashSet::new();
    let mut replace = false;
    let mut updates = Vec::with_capacity(patch.len());
    for (index, item) in patch.into_iter().enumerate() {
        let item_loc = loc.index(index);
        let Value::Object(mut fields) = item else {
            return Err(malformed(
                &item_loc,
                format!(
                    "items of a list merged by {key:?} must be objects, not {}",
                    limits::type_name(&item)
                ),
            ));
        };
        if let Some(directive) = fields.remove(DIRECTIVE) {
            match directive.as_str() {
                Some(DELETE) => {
                    let value = fields.get(key).ok_or_else(|| {
                        malformed(
                            &item_loc,
                            format!("a {DIRECTIVE}: {DELETE} item must name its {key:?}"),
                        )
                    })?;
                    deleted.insert(key_of(value));
                    continue;
                }
                Some(REPLACE) => {
                    replace = true;
                    continue;
                }
                // An explicit merge is the default; a bare marker is dropped.
                Some(MERGE) if fields.is_empty() => continue,
                Some(MERGE) => {}
                _ => {
                    return Err(malformed(
                        &item_loc,
                        format!(
                            "unknown {DIRECTIVE} directive {directive} in a list item; \
                             expected \"{REPLACE}\", \"{DELETE}\" or \"{MERGE}\""
                        ),
                    ));
                }
            }
        }
        let item_key = fields
            .get(key)
            .map(key_of)
            .ok_or_else(|| malformed(&item_loc, format!("list item has no merge key {key:?}")))?;
        updates.push((index, item_key, fields));
    }

    // The live items by key; `$patch: replace` discards them.
    let mut live_order = HashMap::new();
    let mut items: Vec<Keyed> = Vec::with_capacity(live.len() + updates.len());
    if !replace {
        for (index, item) in live.into_iter().enumerate() {
            let item_key = item
                .as_object()
                .and_then(|fields| fields.get(key))
                .map(key_of)
                .ok_or_else(|| {
                    not_applicable(
                        &loc.index(index),
                        format!("the live list item has no merge key {key:?}"),
                    )
                })?;
            live_order.entry(item_key.clone()).or_insert(index);
            if !deleted.contains(&item_key) {
                items.push((item_key, item));
            }
        }
    }

    // Merge each patch item into the first item with its key, or add it.
    let mut position: HashMap<String, usize> = HashMap::with_capacity(items.len());
    for (at, (item_key, _)) in items.iter().enumerate() {
        position.entry(item_key.clone()).or_insert(at);
    }
    let mut patch_keys = Vec::with_capacity(updates.len());
    for (index, item_key, fields) in updates {
        let item_loc = loc.index(index);
        patch_keys.push(item_key.clone());
        let slot = position
            .get(&item_key)
            .and_then(|&at| items.get_mut(at))
            .map(|(_, slot)| slot);
        // The directive was taken off the item, so it cannot delete itself.
        match slot {
            Some(slot) => {
                let base = match std::mem::take(slot) {
                    Value::Object(base) => base,
                    _ => Object::new(),
                };
                let merged = merge_object(base, fields, shape, &item_loc)?;
                *slot = Value::Object(merged.unwrap_or_default());
            }
            None => {
                let merged = merge_object(Object::new(), fields, shape, &item_loc)?;
                position.insert(item_key.clone(), items.len());
                items.push((item_key, Value::Object(merged.unwrap_or_default())));
            }
        }
    }

    let mut items = normalize_order(items, &patch_keys, &live_order);
    if let Some(order) = order {
        let order_keys = order
            .iter()
            .map(|item| {
                item.as_object()
                    .and_then(|fields| fields.get(key))
                    .map(key_of)
                    .ok_or_else(|| {
                        malformed(
                            loc,
                            format!("{SET_ELEMENT_ORDER} items must be objects with {key:?}"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        check_order(&patch_keys, &order_keys, loc)?;
        items = normalize_order(items, &order_keys, &live_order);
    }
    Ok(items.into_iter().map(|(_, item)| item).collect())
}

/// Merges a list of scalars as a set union (apimachinery `mergeSlice` for
/// lists of primitives).
fn merge_scalar_list(
    live: Vec<Value>,
    patch: Vec<Value>,
    order: Option<Vec<Value>>,
    loc: &Loc<'_>,
) -> Result<Vec<Value>, PatchError> {
    // Kubernetes answers lists of lists with 422 (ErrNoListOfLists) and
    // refuses to merge objects without a merge key.
    let compound = |list: &[Value]| list.iter().position(|item| !is_scalar(item));
    if let Some(index) = compound(&live) {
        return Err(not_applicable(
            &loc.index(index),
            "the live list is merged without a merge key, so it must hold only scalars",
        ));
    }
    if let Some(index) = compound(&patch) {
        return Err(not_applicable(
            &loc.index(index),
            "a list merged without a merge key takes only scalars",
        ));
    }
    let mut live_order = HashMap::new();
    let mut seen = HashSet::new();
    let mut items: Vec<Keyed> = Vec::with_capacity(live.len() + patch.len());
    for (index, item) in live.into_iter().enumerate() {
        let item_key = key_of(&item);
        live_order.entry(item_key.clone()).or_insert(index);
        if seen.insert(item_key.clone()) {
            items.push((item_key, item));
        }
    }
    let mut patch_keys = Vec::with_capacity(patch.len());
    for item in patch {
        let item_key = key_of(&item);
        patch_keys.push(item_key.clone());
        if seen.insert(item_key.clone()) {
            items.push((item_key, item));
        }
    }

    let mut items = normalize_order(items, &patch_keys, &live_order);
    if let Some(order) = order {
        if !order.iter().all(is_scalar) {
            return Err(malformed(
                loc,
                format!("{SET_ELEMENT_ORDER} of a list of scalars must hold scalars"),
            ));
        }
        let order_keys: Vec<String> = order.iter().map(key_of).collect();
        check_order(&patch_keys, &order_keys, loc)?;
        items = normalize_order(items, &order_keys, &live_order);
    }
    Ok(items.into_iter().map(|(_, item)| item).collect())
}

/// Kubernetes' ordering of a merged list (apimachinery
/// `normalizeElementOrder` and `mergeSortedSlice`): the items whose key is
/// in `order` are sorted by it; the others keep their live order; the two
/// runs are interleaved, a live-only item going first only when both items
/// are in the live list and it comes earlier there. O(n log n).
fn normalize_order(
    items: Vec<Keyed>,
    order: &[String],
    live_order: &HashMap<String, usize>,
) -> Vec<Keyed> {
    let mut order_index: HashMap<&str, usize> = HashMap::with_capacity(order.len());
    for (index, item_key) in order.iter().enumerate() {
        order_index.entry(item_key.as_str()).or_insert(index);
    }
    let (mut named, mut live_only): (Vec<Keyed>, Vec<Keyed>) = items
        .into_iter()
        .partition(|(item_key, _)| order_index.contains_key(item_key.as_str()));
    // Stable sorts, as Kubernetes' sort.SliceStable.
    named.sort_by_key(|(item_key, _)| order_index.get(item_key.as_str()).copied());
    let live_position = |item_key: &str| live_order.get(item_key).copied();
    live_only.sort_by_key(|(item_key, _)| live_position(item_key).unwrap_or(usize::MAX));

    let mut merged = Vec::with_capacity(named.len() + live_only.len());
    let mut left = live_only.into_iter().peekable();
    let mut right = named.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (Some((l, _)), Some((r, _))) => matches!(
                (live_position(l), live_position(r)),
                (Some(l), Some(r)) if l < r
            ),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_left { left.next() } else { right.next() };
        merged.extend(next);
    }
    merged
}

/// Checks that the patch's items appear in `$setElementOrder` in the same
/// relative order (apimachinery `validatePatchWithSetOrderList`).
fn check_order(
    patch_keys: &[String],
    order_keys: &[String],
    loc: &Loc<'_>,
) -> Result<(), PatchError> {
    let mut order = order_keys.iter();
    let missing = patch_keys
        .iter()
        .find(|patch_key| !order.any(|order_key| order_key == *patch_key));
    match missing {
        None => Ok(()),
        Some(item_key) => Err(malformed(
            loc,
            format!(
                "the patch list does not follow {SET_ELEMENT_ORDER}: \
                 item {item_key} is missing from it or out of order"
            ),
        )),
    }
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

/// The identity of a list item or merge key value: its compact JSON, so
/// `"1"` and `1` differ, as they do in Kubernetes.
fn key_of(value: &Value) -> String {
    value.to_string()
}

fn malformed(loc: &Loc<'_>, reason: impl Into<String>) -> PatchError {
    PatchError::Malformed {
        kind: PatchKind::Strategic,
        path: loc.render(),
        reason: reason.into(),
    }
}

fn not_applicable(loc: &Loc<'_>, reason: impl Into<String>) -> PatchError {
    PatchError::NotApplicable {
        kind: PatchKind::Strategic,
        path: loc.render(),
        reason: reason.into(),
    }
}

/// Where the merge is, for error messages: a chain of borrowed steps that
/// costs nothing until rendered.
#[derive(Clone, Copy)]
struct Loc<'a> {
    parent: Option<&'a Loc<'a>>,
    step: Option<Step<'a>>,
}

#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

impl<'a> Loc<'a> {
    const ROOT: Loc<'static> = Loc {
        parent: None,
        step: None,
    };

    fn key<'b>(&'b self, key: &'b str) -> Loc<'b> {
        Loc {
            parent: Some(self),
            step: Some(Step::Key(key)),
        }
    }

    fn index<'b>(&'b self, index: usize) -> Loc<'b> {
        Loc {
            parent: Some(self),
            step: Some(Step::Index(index)),
        }
    }

    /// As `metadata.ownerReferences[2].uid`.
    fn render(&self) -> String {
        let mut steps = Vec::new();
        let mut at = Some(self);
        while let Some(loc) = at {
            steps.extend(loc.step);
            at = loc.parent;
        }
        let mut rendered = String::new();
        for step in steps.iter().rev() {
            match step {
                Step::Key(key) => {
                    if !rendered.is_empty() {
                        rendered.push('.');
                    }
                    rendered.push_str(key);
                }
                Step::Index(index) => {
                    rendered.push('[');
                    rendered.push_str(&index.to_string());
                    rendered.push(']');
                }
            }
        }
        rendered
    }
}
