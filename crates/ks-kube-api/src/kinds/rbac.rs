//! rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding and
//! ClusterRoleBinding, one family with shared rules.

use std::fmt;
use std::marker::PhantomData;

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use serde_json::{Map, Value, json};

use super::{NameRule, Names, Strategy, Validation, encode, openapi_of};
use crate::error::ApiResult;
use crate::patch::{METADATA, PatchStrategy, Shape, StrategicSchema, field};
use crate::table::{Cell, TableColumn};
use k8s_openapi::api::rbac::v1::{RoleRef, Subject};
use ks_types::validation::{
    BindingKind, FieldErrors, FieldPath, RoleKind, validate_binding_role_ref,
    validate_binding_subjects, validate_policy_rules, validate_role_ref_update,
};

const GROUP: &str = "rbac.authorization.k8s.io";

/// One strategy for the four kinds, parameterized by the kind's Rust type.
pub struct Rbac<T>(PhantomData<fn() -> T>);

impl<T> fmt::Debug for Rbac<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::any::type_name::<T>())
    }
}

/// rbac/v1 Role.
pub type Roles = Rbac<Role>;
/// rbac/v1 ClusterRole.
pub type ClusterRoles = Rbac<ClusterRole>;
/// rbac/v1 RoleBinding.
pub type RoleBindings = Rbac<RoleBinding>;
/// rbac/v1 ClusterRoleBinding.
pub type ClusterRoleBindings = Rbac<ClusterRoleBinding>;

impl<T> Rbac<T> {
    /// The strategy.
    pub const fn new() -> Self {
        Rbac(PhantomData)
    }
}

impl<T> Default for Rbac<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// What differs between the four kinds.
pub trait RbacKind:
    k8s_openapi::Resource
    + serde::de::DeserializeOwned
    + serde::Serialize
    + schemars::JsonSchema
    + 'static
{
    /// Namespaced (Role, RoleBinding) or cluster-scoped.
    const NAMESPACED: bool;
    /// Its strategic merge patch tags.
    fn strategic() -> &'static StrategicSchema;
    /// Its table columns.
    fn columns() -> Vec<TableColumn>;
    /// What is invalid, as Kubernetes validates it (`old` on update).
    fn check(&self, old: Option<&Value>) -> FieldErrors;
    /// Its protobuf message.
    fn protobuf(raw: &[u8]) -> Result<Map<String, Value>, String>;
}

/// Roles: `rules` (and a ClusterRole's
/// `aggregationRule.clusterRoleSelectors`) have no strategy: replaced
/// wholesale.
static ROLE: StrategicSchema = StrategicSchema::new(
    GROUP,
    "Role",
    Shape::Struct(&[
        METADATA,
        field("rules", PatchStrategy::Default, Shape::Free),
    ]),
);
static CLUSTER_ROLE: StrategicSchema = StrategicSchema::new(
    GROUP,
    "ClusterRole",
    Shape::Struct(&[
        METADATA,
        field("rules", PatchStrategy::Default, Shape::Free),
    ]),
);
/// Bindings: `subjects` has no strategy: replaced wholesale.
static ROLE_BINDING: StrategicSchema = StrategicSchema::new(
    GROUP,
    "RoleBinding",
    Shape::Struct(&[
        METADATA,
        field("subjects", PatchStrategy::Default, Shape::Free),
    ]),
);
static CLUSTER_ROLE_BINDING: StrategicSchema = StrategicSchema::new(
    GROUP,
    "ClusterRoleBinding",
    Shape::Struct(&[
        METADATA,
        field("subjects", PatchStrategy::Default, Shape::Free),
    ]),
);

fn role_columns() -> Vec<TableColumn> {
    vec![TableColumn::name(), TableColumn::created_at()]
}

fn binding_columns() -> Vec<TableColumn> {
    let subjects = |title: &str, description: &str, kind: &'static str| TableColumn {
        definition: TableColumn::definition(title, "string", "", description, 1),
        cell: Cell::Computed(match kind {
            "User" => |obj| subject_names(obj, "User"),
            "Group" => |obj| subject_names(obj, "Group"),
            _ => |obj| subject_names(obj, "ServiceAccount"),
        }),
    };
    vec![
        TableColumn::name(),
        TableColumn {
            definition: TableColumn::definition("Role", "string", "", "Role of this binding", 0),
            cell: Cell::Computed(role_ref),
        },
        TableColumn::age(),
        subjects("Users", "Users in the roleBinding", "User"),
        subjects("Groups", "Groups in the roleBinding", "Group"),
        subjects(
            "ServiceAccounts",
            "ServiceAccounts in the roleBinding",
            "ServiceAccount",
        ),
    ]
}

/// `Kind/name` of the binding's role.
fn role_ref(obj: &Value) -> Value {
    let get = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("");
    json!(format!("{}/{}", get("/roleRef/kind"), get("/roleRef/name")))
}

/// The names of the subjects of one kind, comma-separated; service
/// accounts as `namespace/name`.
fn subject_names(obj: &Value, kind: &str) -> Value {
    let names: Vec<String> = obj
        .get("subjects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|s| s.get("kind").and_then(Value::as_str) == Some(kind))
        .map(|s| {
            let name = s.get("name").and_then(Value::as_str).unwrap_or("");
            match s.get("namespace").and_then(Value::as_str) {
                Some(ns) if kind == "ServiceAccount" => format!("{ns}/{name}"),
                _ => name.to_owned(),
            }
        })
        .collect();
    json!(names.join(", "))
}

impl<T: RbacKind> Strategy for Rbac<T> {
    fn names(&self) -> Names {
        let names = Names::new(T::GROUP, T::VERSION, T::KIND, T::URL_PATH_SEGMENT);
        if T::NAMESPACED {
            names
        } else {
            names.cluster_scoped()
        }
    }

    fn name_rule(&self) -> NameRule {
        NameRule::PathSegment
    }

    fn allow_create_on_update(&self) -> bool {
        true
    }

    fn validate(&self, obj: &mut Value, old: Option<&Value>, cx: &mut Validation) -> ApiResult<()> {
        let typed: T = cx.decode(obj)?;
        cx.extend(typed.check(old));
        *obj = encode(&typed)?;
        Ok(())
    }

    fn table_columns(&self) -> Option<Vec<TableColumn>> {
        Some(T::columns())
    }

    fn strategic_merge(&self) -> Option<&'static StrategicSchema> {
        Some(T::strategic())
    }

    fn openapi(&self, generator: &mut schemars::SchemaGenerator) -> Option<String> {
        Some(openapi_of::<T>(generator))
    }

    fn decode_protobuf(&self, raw: &[u8]) -> Option<Result<Map<String, Value>, String>> {
        Some(T::protobuf(raw))
    }
}

impl RbacKind for Role {
    const NAMESPACED: bool = true;
    fn strategic() -> &'static StrategicSchema {
        &ROLE
    }
    fn columns() -> Vec<TableColumn> {
        role_columns()
    }
    fn check(&self, _old: Option<&Value>) -> FieldErrors {
        let rules = self.rules.as_deref().unwrap_or_default();
        validate_policy_rules(rules, RoleKind::Role, &FieldPath::new("rules"))
    }
    fn protobuf(raw: &[u8]) -> Result<Map<String, Value>, String> {
        crate::protobuf::role(raw)
    }
}

impl RbacKind for ClusterRole {
    const NAMESPACED: bool = false;
    fn strategic() -> &'static StrategicSchema {
        &CLUSTER_ROLE
    }
    fn columns() -> Vec<TableColumn> {
        role_columns()
    }
    fn check(&self, _old: Option<&Value>) -> FieldErrors {
        let rules = self.rules.as_deref().unwrap_or_default();
        validate_policy_rules(rules, RoleKind::ClusterRole, &FieldPath::new("rules"))
    }
    fn protobuf(raw: &[u8]) -> Result<Map<String, Value>, String> {
        crate::protobuf::cluster_role(raw)
    }
}

impl RbacKind for RoleBinding {
    const NAMESPACED: bool = true;
    fn strategic() -> &'static StrategicSchema {
        &ROLE_BINDING
    }
    fn columns() -> Vec<TableColumn> {
        binding_columns()
    }
    fn check(&self, old: Option<&Value>) -> FieldErrors {
        let subjects = self.subjects.as_deref().unwrap_or_default();
        check_binding(&self.role_ref, subjects, BindingKind::RoleBinding, old)
    }
    fn protobuf(raw: &[u8]) -> Result<Map<String, Value>, String> {
        crate::protobuf::role_binding(raw)
    }
}

impl RbacKind for ClusterRoleBinding {
    const NAMESPACED: bool = false;
    fn strategic() -> &'static StrategicSchema {
        &CLUSTER_ROLE_BINDING
    }
    fn columns() -> Vec<TableColumn> {
        binding_columns()
    }
    fn check(&self, old: Option<&Value>) -> FieldErrors {
        let subjects = self.subjects.as_deref().unwrap_or_default();
        check_binding(
            &self.role_ref,
            subjects,
            BindingKind::ClusterRoleBinding,
            old,
        )
    }
    fn protobuf(raw: &[u8]) -> Result<Map<String, Value>, String> {
        crate::protobuf::role_binding(raw)
    }
}

/// Kubernetes' binding rules: the role reference, which never changes once
/// set, then the subjects.
fn check_binding(
    role_ref: &RoleRef,
    subjects: &[Subject],
    kind: BindingKind,
    old: Option<&Value>,
) -> FieldErrors {
    let mut errors = validate_binding_role_ref(role_ref, kind, &FieldPath::new("roleRef"));
    if let Some(old_ref) = old
        .and_then(|o| o.get("roleRef"))
        .and_then(|r| serde_json::from_value::<RoleRef>(r.clone()).ok())
    {
        errors.extend(validate_role_ref_update(&old_ref, role_ref));
    }
    errors.extend(validate_binding_subjects(
        subjects,
        kind,
        &FieldPath::new("subjects"),
    ));
    errors
}
