//! One [`Strategy`] per kind: everything that differs between kinds, in
//! one place, as kube-apiserver keeps each kind's rules in its
//! `registry/<group>/<kind>/strategy.go`.
//!
//! The handlers in `api` hold no per-kind branch: they ask the target's
//! strategy. Adding a built-in kind is one file here implementing
//! [`Strategy`] plus one line in [`builtins`] (or, from outside the crate,
//! [`crate::app::AppBuilder::kind`]). Custom resources get one generic
//! strategy driven by their CRD ([`custom::CustomResource`]).

pub mod configmap;
pub mod crd;
pub mod custom;
pub mod event;
pub mod events_v1;
pub mod lease;
pub mod namespace;
pub mod rbac;
pub mod secret;
pub mod serviceaccount;

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use crate::api::params::FieldValidation;
use crate::error::{ApiError, ApiResult, Cause};
use crate::patch::StrategicSchema;
pub use crate::selectable::{SelectableField, SelectableFields};
use crate::table::TableColumn;
use ks_types::validation::{FieldError, FieldPath};

pub use ks_types::validation::NameRule;

/// What a served resource is called and how it is addressed: the facts
/// discovery publishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    /// API group, empty for core.
    pub group: String,
    /// Version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural resource name (the URL segment).
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Namespaced (true) or cluster-scoped.
    pub namespaced: bool,
    /// Short names for kubectl.
    pub short_names: Vec<String>,
    /// Categories (`kubectl get all`-style groups).
    pub categories: Vec<String>,
    /// Whether the `status` subresource is served.
    pub status: bool,
}

impl Names {
    /// A namespaced resource without subresources, its singular name the
    /// kind in lower case.
    pub fn new(group: &str, version: &str, kind: &str, plural: &str) -> Self {
        Names {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
            plural: plural.to_owned(),
            singular: kind.to_ascii_lowercase(),
            namespaced: true,
            short_names: Vec::new(),
            categories: Vec::new(),
            status: false,
        }
    }

    /// Makes it cluster-scoped.
    pub fn cluster_scoped(mut self) -> Self {
        self.namespaced = false;
        self
    }

    /// Sets the short names.
    pub fn short_names(mut self, names: &[&str]) -> Self {
        self.short_names = names.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Sets the categories.
    pub fn categories(mut self, categories: &[&str]) -> Self {
        self.categories = categories.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Serves the `status` subresource.
    pub fn with_status(mut self) -> Self {
        self.status = true;
        self
    }
}

/// The server-owned parts of validation a strategy reports into: the
/// causes of a 422, the warnings of the `Warning` header, and how unknown
/// fields are treated (`fieldValidation`).
#[derive(Debug)]
pub struct Validation {
    /// `Strict`, `Warn` or `Ignore`.
    pub field_validation: FieldValidation,
    /// Warnings for the `Warning` response header.
    pub warnings: Vec<String>,
    /// What is invalid (a 422 Invalid when not empty).
    pub causes: Vec<Cause>,
}

impl Validation {
    /// Nothing found yet.
    pub fn new(field_validation: FieldValidation) -> Self {
        Validation {
            field_validation,
            warnings: Vec::new(),
            causes: Vec::new(),
        }
    }

    /// Records Kubernetes field errors as Status causes.
    pub fn extend(&mut self, errors: impl IntoIterator<Item = FieldError>) {
        self.causes.extend(errors.into_iter().map(Cause::from));
    }

    /// Records one field error.
    pub fn push(&mut self, error: FieldError) {
        self.causes.push(error.into());
    }

    /// Applies `fieldValidation` to the unknown fields found while decoding:
    /// Strict rejects them (400), Warn reports them, Ignore drops them.
    pub fn unknown_fields(&mut self, unknown: Vec<String>) -> ApiResult<()> {
        if unknown.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = unknown
            .iter()
            .map(|p| format!("unknown field {p:?}"))
            .collect();
        match self.field_validation {
            FieldValidation::Strict => Err(ApiError::bad_request(format!(
                "strict decoding error: {}",
                list.join(", ")
            ))),
            FieldValidation::Warn => {
                self.warnings.extend(list);
                Ok(())
            }
            FieldValidation::Ignore => Ok(()),
        }
    }

    /// Decodes `obj` as `K` (the kind's Rust type), recording unknown
    /// fields per `fieldValidation`; 400 when it does not decode.
    pub fn decode<K: DeserializeOwned>(&mut self, obj: &Value) -> ApiResult<K> {
        let mut unknown = Vec::new();
        let typed: K = serde_ignored::deserialize(obj, |path| unknown.push(path.to_string()))
            .map_err(|e| ApiError::bad_request(format!("the object does not decode: {e}")))?;
        self.unknown_fields(unknown)?;
        Ok(typed)
    }
}

/// Where the objects of a resource live when it shares another resource's
/// storage, and how they convert to and from that resource's form.
///
/// Kubernetes serves some kinds under two APIs over one storage:
/// events.k8s.io/v1 Events are core/v1 Events, converted field by field.
/// A strategy says so with [`Strategy::stored_as`]; the handlers then
/// store every object of it in the other resource's form, under that
/// resource's keys, and convert what they read back (get, list, watch,
/// the old object of an update, patch or delete, and tables) in the few
/// central places that turn stored bytes into served objects.
#[derive(Clone, Copy, Debug)]
pub struct StoredAs {
    /// API group of the resource whose storage is shared (empty for core).
    pub group: &'static str,
    /// Its plural: objects are stored under `/{group or "core"}/{plural}/`.
    pub plural: &'static str,
    /// The `apiVersion` stored objects carry (`v1`).
    pub api_version: &'static str,
    /// The `kind` stored objects carry.
    pub kind: &'static str,
    /// Renames and moves this resource's fields into the stored form. The
    /// caller then sets `apiVersion` and `kind`.
    pub to_storage: fn(&mut Map<String, Value>),
    /// The inverse of `to_storage`: a stored object in this resource's
    /// form. The caller then sets `apiVersion` and `kind`.
    pub from_storage: fn(&mut Map<String, Value>),
}

/// Kubernetes' rule for ConfigMaps and Secrets whose `immutable` is true:
/// none of `fields` may change (a Forbidden error on `data` otherwise).
pub fn check_immutable_data(old: &Value, new: &Value, fields: &[&str], cx: &mut Validation) {
    if old.get("immutable") == Some(&Value::Bool(true))
        && fields.iter().any(|f| old.get(*f) != new.get(*f))
    {
        cx.push(FieldError::forbidden(
            &FieldPath::new("data"),
            "field is immutable when `immutable` is set",
        ));
    }
}

/// Encodes a typed object back into the JSON the server stores.
pub fn encode<T: Serialize>(typed: &T) -> ApiResult<Value> {
    serde_json::to_value(typed).map_err(|e| ApiError::internal(format!("encoding the object: {e}")))
}

/// Everything kind-specific about a served resource.
///
/// Every method but [`Strategy::names`] has the default that fits most
/// kinds. The object is the JSON the server stores; strategies that want
/// the typed form decode it with [`Validation::decode`].
///
/// The order of a write, as kube-apiserver runs it: the handler fills the
/// identity and server fields, calls [`prepare_for_create`] (or
/// [`prepare_for_update`]), runs the mutating admission plugins, then
/// [`validate`] (decoding, defaulting, validation), then the validating
/// plugins, then stores the object.
///
/// [`prepare_for_create`]: Strategy::prepare_for_create
/// [`prepare_for_update`]: Strategy::prepare_for_update
/// [`validate`]: Strategy::validate
pub trait Strategy: Send + Sync + fmt::Debug + 'static {
    /// Group, version, names, scope and subresources.
    fn names(&self) -> Names;

    /// The rule `metadata.name` must follow.
    fn name_rule(&self) -> NameRule {
        NameRule::Subdomain
    }

    /// Whether `metadata.generation` counts spec changes (custom resources
    /// and CRDs do; most built-in kinds without a spec/status split don't).
    fn tracks_generation(&self) -> bool {
        false
    }

    /// Whether a PUT of a missing object creates it (RBAC kinds).
    fn allow_create_on_update(&self) -> bool {
        false
    }

    /// Whether a PUT may omit `metadata.resourceVersion` (then it applies
    /// to whatever is current). Custom resources require it.
    fn allow_unconditional_update(&self) -> bool {
        true
    }

    /// Server-owned fields of a new object (status phases, finalizers the
    /// server adds), before admission and validation.
    fn prepare_for_create(&self, obj: &mut Value) {
        let _ = obj;
    }

    /// Server-owned fields of an updated object; `new` already carries
    /// `old`'s system metadata.
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        let _ = (new, old);
    }

    /// Marks an object whose deletion has started (a namespace becomes
    /// `Terminating`).
    fn prepare_for_delete(&self, obj: &mut Value) {
        let _ = obj;
    }

    /// Decodes, defaults and validates `obj` in place (`old` on update).
    /// Decoding into the kind's type keeps exactly the fields it defines;
    /// problems go into `validation`. Metadata rules are checked by the
    /// caller with [`Strategy::name_rule`].
    fn validate(&self, obj: &mut Value, old: Option<&Value>, cx: &mut Validation) -> ApiResult<()>;

    /// Whether something other than `metadata.finalizers` still holds a
    /// deleted object (a namespace's `spec.finalizers`).
    fn pending_finalization(&self, obj: &Value) -> bool {
        let _ = obj;
        false
    }

    /// Whether a completed delete answers with the object (true) or with a
    /// success Status (false, most built-in kinds).
    fn delete_returns_object(&self) -> bool {
        false
    }

    /// Whether writes of this kind change what the server serves (CRDs).
    fn defines_resources(&self) -> bool {
        false
    }

    /// The server-side table columns (`kubectl get`), Name first. `None`:
    /// Name and Age. The cells of a resource stored as another
    /// ([`Strategy::stored_as`]) are computed from the stored form, so it
    /// can print the other resource's columns, as Kubernetes' one printer
    /// serves both Event APIs.
    fn table_columns(&self) -> Option<Vec<TableColumn>> {
        None
    }

    /// The strategic merge patch tags of the kind's Go type, or `None` when
    /// it takes no strategic merge patch (415, as for custom resources).
    fn strategic_merge(&self) -> Option<&'static StrategicSchema> {
        None
    }

    /// The kind's OpenAPI schema, added to `generator`'s definitions;
    /// returns the definition's name. `None`: no schema published.
    fn openapi(&self, generator: &mut schemars::SchemaGenerator) -> Option<String> {
        let _ = generator;
        None
    }

    /// Whether the objects live in another resource's storage, in its form
    /// (see [`StoredAs`]). `None`: under this resource's own keys, as
    /// written.
    fn stored_as(&self) -> Option<StoredAs> {
        None
    }

    /// What a field selector may name (`fieldSelector` of list, watch and
    /// deletecollection), as the kind's field label conversion in
    /// Kubernetes has it, and where each field's value is in the stored
    /// object. Default: `metadata.name` and `metadata.namespace`.
    fn selectable_fields(&self) -> SelectableFields {
        SelectableFields::Metadata
    }

    /// Decodes the kind's Kubernetes protobuf message (the `raw` of a
    /// `runtime.Unknown`) into its JSON fields, or `None` when the kind
    /// takes no protobuf bodies (415).
    fn decode_protobuf(&self, raw: &[u8]) -> Option<Result<Map<String, Value>, String>> {
        let _ = raw;
        None
    }
}

/// The built-in kinds, in registration order.
pub fn builtins() -> Vec<Arc<dyn Strategy>> {
    vec![
        Arc::new(namespace::Namespaces),
        Arc::new(secret::Secrets),
        Arc::new(configmap::ConfigMaps),
        Arc::new(serviceaccount::ServiceAccounts),
        Arc::new(event::Events),
        Arc::new(events_v1::Events),
        Arc::new(rbac::Roles::new()),
        Arc::new(rbac::RoleBindings::new()),
        Arc::new(rbac::ClusterRoles::new()),
        Arc::new(rbac::ClusterRoleBindings::new()),
        Arc::new(crd::CustomResourceDefinitions),
        Arc::new(lease::Leases),
    ]
}

/// Adds `T`'s schema to `generator` and returns its definition name: the
/// usual [`Strategy::openapi`] of a kind with a k8s-openapi type.
pub fn openapi_of<T: schemars::JsonSchema>(generator: &mut schemars::SchemaGenerator) -> String {
    generator.subschema_for::<T>();
    T::schema_name().into_owned()
}
