//! What every KubeSphere kind shares: its identity ([`KindInfo`]), kube's
//! [`Resource`](kube_core::Resource) trait, the generic [`List`] wrapper and
//! the `apiVersion`/`kind` handling on the wire.
//!
//! Kubernetes objects carry `apiVersion` and `kind` at the top level. Like
//! k8s-openapi, the Rust structs do not store them: serialization writes the
//! constants of the kind, and deserialization accepts them when they are
//! absent or match, and fails (naming the field) when they name another kind.

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::ser::{self, Impossible, SerializeStruct};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Whether objects of a kind live in a namespace or at cluster level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Cluster-scoped (all KubeSphere kinds in this crate).
    Cluster,
    /// Namespaced.
    Namespaced,
}

impl Scope {
    /// The name used in a CRD's `spec.scope`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Cluster => "Cluster",
            Scope::Namespaced => "Namespaced",
        }
    }
}

/// Compile-time identity of a kind: group, version, kind, plural and scope.
///
/// Implemented for every top-level type of this crate; kube's
/// [`Resource`](kube_core::Resource) is implemented from the same constants.
pub trait KindInfo {
    /// API group, e.g. `iam.kubesphere.io`.
    const GROUP: &'static str;
    /// API version within the group, e.g. `v1alpha2`.
    const VERSION: &'static str;
    /// `group/version`, as written in `apiVersion`.
    const API_VERSION: &'static str;
    /// Kind, e.g. `User`.
    const KIND: &'static str;
    /// Kind of the list type, e.g. `UserList`.
    const LIST_KIND: &'static str;
    /// Plural resource name, e.g. `users`.
    const PLURAL: &'static str;
    /// Singular resource name, e.g. `user`.
    const SINGULAR: &'static str;
    /// Resource scope.
    const SCOPE: Scope;
}

/// Defines a top-level kind: the struct, its `KindInfo` and kube `Resource`
/// impls, and serde impls that add and check `apiVersion`/`kind`.
///
/// The struct's own serde derive uses `remote = "Self"`, which turns the
/// derived code into inherent functions that the trait impls wrap.
macro_rules! kind {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($body:tt)*
        }
        group = $group:literal, version = $version:literal, plural = $plural:literal,
        singular = $singular:literal, list = $list:ident
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        #[serde(remote = "Self", rename_all = "camelCase")]
        pub struct $name {
            $($body)*
        }

        impl $crate::resource::KindInfo for $name {
            const GROUP: &'static str = $group;
            const VERSION: &'static str = $version;
            const API_VERSION: &'static str = concat!($group, "/", $version);
            const KIND: &'static str = stringify!($name);
            const LIST_KIND: &'static str = concat!(stringify!($name), "List");
            const PLURAL: &'static str = $plural;
            const SINGULAR: &'static str = $singular;
            const SCOPE: $crate::resource::Scope = $crate::resource::Scope::Cluster;
        }

        impl kube_core::Resource for $name {
            type DynamicType = ();
            type Scope = k8s_openapi::ClusterResourceScope;

            fn kind(_: &()) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(<Self as $crate::resource::KindInfo>::KIND)
            }
            fn group(_: &()) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed($group)
            }
            fn version(_: &()) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed($version)
            }
            fn api_version(_: &()) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(<Self as $crate::resource::KindInfo>::API_VERSION)
            }
            fn plural(_: &()) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed($plural)
            }
            fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &mut self.metadata
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                $name::serialize(self, $crate::resource::TypeMetaSerializer::new::<$name>(serializer))
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $name::deserialize($crate::resource::TypeMetaDeserializer::new::<$name>(deserializer))
            }
        }

        #[doc = concat!("A list of [`", stringify!($name), "`] objects (`", stringify!($name), "List` on the wire).")]
        pub type $list = $crate::resource::List<$name>;
    };
}
pub(crate) use kind;

/// A list of objects of one kind, as returned by a `list` call
/// (`{"apiVersion", "kind": "<Kind>List", "metadata", "items"}`).
#[derive(Clone, Debug, PartialEq)]
pub struct List<K> {
    /// Standard list metadata (`resourceVersion`, `continue`, ...).
    pub metadata: ListMeta,
    /// The objects.
    pub items: Vec<K>,
}

impl<K> Default for List<K> {
    fn default() -> Self {
        List {
            metadata: ListMeta::default(),
            items: Vec::new(),
        }
    }
}

impl<K> From<Vec<K>> for List<K> {
    fn from(items: Vec<K>) -> Self {
        List {
            metadata: ListMeta::default(),
            items,
        }
    }
}

impl<K: KindInfo> KindInfo for List<K> {
    const GROUP: &'static str = K::GROUP;
    const VERSION: &'static str = K::VERSION;
    const API_VERSION: &'static str = K::API_VERSION;
    const KIND: &'static str = K::LIST_KIND;
    const LIST_KIND: &'static str = K::LIST_KIND;
    const PLURAL: &'static str = K::PLURAL;
    const SINGULAR: &'static str = K::SINGULAR;
    const SCOPE: Scope = K::SCOPE;
}

impl<K: KindInfo + Serialize> Serialize for List<K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut st = serializer.serialize_struct(K::LIST_KIND, 4)?;
        st.serialize_field("apiVersion", K::API_VERSION)?;
        st.serialize_field("kind", K::LIST_KIND)?;
        // Go's ListMeta is a struct field without a pointer: always written.
        st.serialize_field("metadata", &self.metadata)?;
        st.serialize_field("items", &self.items)?;
        st.end()
    }
}

impl<'de, K: KindInfo + Deserialize<'de>> Deserialize<'de> for List<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(bound = "K: Deserialize<'de>")]
        struct Fields<K> {
            #[serde(default)]
            metadata: ListMeta,
            // Go writes `"items": null` for a nil slice.
            #[serde(
                default = "Vec::new",
                deserialize_with = "crate::resource::null_as_default"
            )]
            items: Vec<K>,
        }
        let fields: Fields<K> =
            Fields::deserialize(TypeMetaDeserializer::new::<List<K>>(deserializer))?;
        Ok(List {
            metadata: fields.metadata,
            items: fields.items,
        })
    }
}

/// Deserializes `null` as the zero value, as Go does: Go writes nil slices
/// without `omitempty` as `null` (a role's `rules`), and an empty YAML value
/// (`description:`) is `null` too.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

// `skip_serializing_if` predicates for Go's `omitempty` on scalars.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}
pub(crate) fn is_zero_u16(n: &u16) -> bool {
    *n == 0
}
pub(crate) fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

// ---------------------------------------------------------------------------
// Serialization: put apiVersion and kind in front of the derived fields.

/// A serializer that forwards to `S` and writes `apiVersion` and `kind` as
/// the first two fields of the (single) struct it is asked to serialize.
#[doc(hidden)]
pub struct TypeMetaSerializer<S> {
    inner: S,
    api_version: &'static str,
    kind: &'static str,
}

impl<S> TypeMetaSerializer<S> {
    /// Wraps `inner` for kind `K`.
    pub fn new<K: KindInfo>(inner: S) -> Self {
        TypeMetaSerializer {
            inner,
            api_version: K::API_VERSION,
            kind: K::KIND,
        }
    }
}

fn not_a_struct<E: ser::Error>() -> E {
    E::custom("a Kubernetes object must serialize as a struct")
}

macro_rules! reject {
    ($($method:ident($($arg:ty),*);)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<Self::Ok, Self::Error> {
            Err(not_a_struct())
        })*
    };
}

impl<S: Serializer> Serializer for TypeMetaSerializer<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Impossible<S::Ok, S::Error>;
    type SerializeTuple = Impossible<S::Ok, S::Error>;
    type SerializeTupleStruct = Impossible<S::Ok, S::Error>;
    type SerializeTupleVariant = Impossible<S::Ok, S::Error>;
    type SerializeMap = Impossible<S::Ok, S::Error>;
    type SerializeStruct = S::SerializeStruct;
    type SerializeStructVariant = Impossible<S::Ok, S::Error>;

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, Self::Error> {
        let mut st = self.inner.serialize_struct(name, len + 2)?;
        st.serialize_field("apiVersion", self.api_version)?;
        st.serialize_field("kind", self.kind)?;
        Ok(st)
    }

    reject! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
        serialize_bytes(&[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        Err(not_a_struct())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        Err(not_a_struct())
    }
    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

// ---------------------------------------------------------------------------
// Deserialization: consume and check apiVersion and kind, hand every other
// key to the derived visitor.

/// A deserializer that forwards to `D` but removes `apiVersion` and `kind`
/// from the top-level map, failing if they name a different kind.
#[doc(hidden)]
pub struct TypeMetaDeserializer<D> {
    inner: D,
    expected: Expected,
}

#[derive(Clone, Copy)]
struct Expected {
    api_version: &'static str,
    kind: &'static str,
}

impl<D> TypeMetaDeserializer<D> {
    /// Wraps `inner` for kind `K`.
    pub fn new<K: KindInfo>(inner: D) -> Self {
        TypeMetaDeserializer {
            inner,
            expected: Expected {
                api_version: K::API_VERSION,
                kind: K::KIND,
            },
        }
    }
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for TypeMetaDeserializer<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_any(TypeMetaVisitor {
            inner: visitor,
            expected: self.expected,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner.deserialize_struct(
            name,
            fields,
            TypeMetaVisitor {
                inner: visitor,
                expected: self.expected,
            },
        )
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_map(TypeMetaVisitor {
            inner: visitor,
            expected: self.expected,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct enum identifier ignored_any
    }
}

struct TypeMetaVisitor<V> {
    inner: V,
    expected: Expected,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for TypeMetaVisitor<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(TypeMetaMap {
            inner: map,
            expected: self.expected,
        })
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.inner.visit_seq(seq)
    }
}

struct TypeMetaMap<A> {
    inner: A,
    expected: Expected,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for TypeMetaMap<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            let Some(key) = self.inner.next_key::<String>()? else {
                return Ok(None);
            };
            match key.as_str() {
                "apiVersion" => self.inner.next_value_seed(ExpectStr {
                    field: "apiVersion",
                    expected: self.expected.api_version,
                })?,
                "kind" => self.inner.next_value_seed(ExpectStr {
                    field: "kind",
                    expected: self.expected.kind,
                })?,
                _ => return seed.deserialize(key.into_deserializer()).map(Some),
            }
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// Accepts a missing (null or empty) value or exactly `expected`.
struct ExpectStr {
    field: &'static str,
    expected: &'static str,
}

impl<'de> DeserializeSeed<'de> for ExpectStr {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let got = Option::<String>::deserialize(deserializer)?;
        match got.as_deref() {
            None | Some("") => Ok(()),
            Some(s) if s == self.expected => Ok(()),
            Some(s) => Err(de::Error::custom(format_args!(
                "{} is {s:?}, expected {:?}",
                self.field, self.expected
            ))),
        }
    }
}
