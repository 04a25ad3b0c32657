//! The `patchStrategy` / `patchMergeKey` struct tags of the built-in kinds
//! this server serves, as data.

/// How strategic merge patch treats the fields of one built-in kind: the
/// `patchStrategy` and `patchMergeKey` tags of its Go type (k8s.io/api),
/// encoded for the fields that have them.
///
/// Semantics, as apimachinery's `strategicpatch` applies them on the server:
///
/// - Objects merge recursively; `null` deletes a field.
/// - A list without a strategy is replaced wholesale (RBAC `rules` and
///   `subjects`, for instance). So is every list at a path the schema does
///   not describe, and every map there merges.
/// - A list with strategy `merge` and a merge key (`ownerReferences` by
///   `uid`) merges its items by key: a patch item updates the live item with
///   the same key, or is added. A list with strategy `merge` and no key
///   (`finalizers`) is a set union.
/// - Order, as in Kubernetes: items the patch names follow the patch's
///   order, the others keep theirs, and the two are interleaved by their
///   live positions. So a patch item new to the list comes before the live
///   items when it leads the patch (`["c"]` on `["a", "b"]` gives
///   `["c", "a", "b"]`), and after its predecessor otherwise (`["b", "c"]`
///   gives `["a", "b", "c"]`). `$setElementOrder/<field>` overrides this.
///
/// Directives:
///
/// - In an object, `$patch: replace` replaces the object by the rest of the
///   patch, `$patch: delete` deletes it (an empty object at the root) and
///   `$patch: merge` is the default.
/// - In a list merged by key, an item `{"<key>": ..., "$patch": "delete"}`
///   deletes the live items with that key; an item `{"$patch": "replace"}`
///   makes the list's other items replace the live list.
/// - `$retainKeys: [names]` in an object deletes the live fields not named;
///   every field the patch sets must be named.
/// - `$deleteFromPrimitiveList/<field>: [values]` deletes those values from
///   the list `<field>` (after the patch's own additions to it).
/// - `$setElementOrder/<field>: [items]` (what `kubectl apply` sends) orders
///   the merged list `<field>`: the patch's items must appear in it in the
///   same relative order. It is accepted and dropped for lists without a
///   merge strategy.
/// - Any other key starting with `$` is refused as an unknown directive,
///   except the JSON Schema keywords `$ref` and `$schema` (fields of CRD
///   schemas).
///
/// Values the patch puts where there was nothing to merge with (a new field,
/// a new list item, a replaced object) are merged into nothing, so their
/// `null`s and directives are dropped, as RFC 7386 does for new values.
/// Kubernetes stores them as sent and relies on decoding into the typed
/// object to drop them; this server stores JSON, so it cleans them here.
#[derive(Debug)]
pub struct StrategicSchema {
    group: &'static str,
    kind: &'static str,
    root: Shape,
}

impl StrategicSchema {
    /// The schema of `kind` in `group` whose top-level object is `root`.
    pub const fn new(group: &'static str, kind: &'static str, root: Shape) -> Self {
        StrategicSchema { group, kind, root }
    }

    /// The API group of the kind (`""` for the core group).
    pub fn group(&self) -> &'static str {
        self.group
    }

    /// The kind, as in `Namespace`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The shape of the kind's top-level object.
    pub(crate) fn root(&self) -> Shape {
        self.root
    }
}

/// The schema of a built-in kind by API group (`""` for the core group) and
/// kind, or `None`. For custom resources, which have none, the caller
/// answers a strategic merge patch with 415 UnsupportedMediaType, as
/// Kubernetes does.
///
/// Each built-in kind declares its schema in its strategy
/// ([`crate::kinds::Strategy::strategic_merge`]); this looks it up among
/// [`crate::kinds::builtins`].
pub fn strategic_schema(group: &str, kind: &str) -> Option<&'static StrategicSchema> {
    crate::kinds::builtins()
        .iter()
        .filter_map(|strategy| strategy.strategic_merge())
        .find(|schema| schema.group == group && schema.kind == kind)
}

/// What the schema knows about an object: the fields that carry a strategy.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// Nothing known: objects merge, lists are replaced.
    Free,
    /// A Go struct; fields not listed behave as in [`Shape::Free`].
    Struct(&'static [Field]),
}

impl Shape {
    /// The strategy of field `name` and the shape of its value (of each item,
    /// for a list).
    pub(crate) fn field(self, name: &str) -> (PatchStrategy, Shape) {
        match self {
            Shape::Free => (PatchStrategy::Default, Shape::Free),
            Shape::Struct(fields) => fields
                .iter()
                .find(|field| field.name == name)
                .map_or((PatchStrategy::Default, Shape::Free), |field| {
                    (field.strategy, field.shape)
                }),
        }
    }
}

/// One struct field with its tags.
#[derive(Debug)]
pub struct Field {
    /// The JSON name.
    name: &'static str,
    /// Its `patchStrategy` / `patchMergeKey`.
    strategy: PatchStrategy,
    /// The shape of its value, or of each item of a list.
    shape: Shape,
}

/// A field's `patchStrategy` and `patchMergeKey` tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchStrategy {
    /// No tag: objects merge, lists are replaced.
    Default,
    /// `patchStrategy:"merge"` without a merge key: a list of scalars merged
    /// as a set union.
    Merge,
    /// `patchStrategy:"merge" patchMergeKey:"<key>"`: a list of objects
    /// merged by the value of `<key>`.
    MergeByKey(&'static str),
}

/// A field `name` of a Go struct with its patch tags and the shape of its
/// value.
pub const fn field(name: &'static str, strategy: PatchStrategy, shape: Shape) -> Field {
    Field {
        name,
        strategy,
        shape,
    }
}

/// metav1.ObjectMeta: `finalizers` (patchStrategy merge) and
/// `ownerReferences` (patchStrategy merge, patchMergeKey uid); `labels` and
/// `annotations` are maps, `managedFields` has no strategy.
pub const OBJECT_META: Shape = Shape::Struct(&[
    field("finalizers", PatchStrategy::Merge, Shape::Free),
    field(
        "ownerReferences",
        PatchStrategy::MergeByKey("uid"),
        Shape::Free,
    ),
]);

/// The `metadata` field every kind has.
pub const METADATA: Field = field("metadata", PatchStrategy::Default, OBJECT_META);
