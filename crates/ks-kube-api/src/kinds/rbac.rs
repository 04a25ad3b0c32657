//! rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding and
//! ClusterRoleBinding, one family with shared rules.

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use serde_json::{Map, Value, json};

use super::{NameRule, Names, Strategy, Validation, encode, openapi_of};
use crate::error::ApiResult;
use crate::patch::{METADATA, PatchStrategy, Shape, StrategicSchema, field};
use crate::table::{Cell, TableColumn};
use crate::validation::{Problems, validate_binding, validate_rules};

const GROUP: &str = "rbac.authorization.k8s.io";

/// rbac/v1 Role.
#[derive(Debug)]
pub struct Roles;
/// rbac/v1 ClusterRole.
#[derive(Debug)]
pub struct ClusterRoles;
/// rbac/v1 RoleBinding.
#[derive(Debug)]
pub struct RoleBindings;
/// rbac/v1 ClusterRoleBinding.
#[derive(Debug)]
pub struct ClusterRoleBindings;

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

fn names(plural: &str, kind: &str, namespaced: bool) -> Names {
    let names = Names::new(GROUP, "v1", kind, plural);
    if namespaced {
        names
    } else {
        names.cluster_scoped()
    }
}

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

impl Strategy for Roles {
    fn names(&self) -> Names {
        names("roles", "Role", true)
    }
    fn name_rule(&self) -> NameRule {
        NameRule::PathSegment
    }
    fn allow_create_on_update(&self) -> bool {
        true
    }
    fn validate(
        &self,
        obj: &mut Value,
        _old: Option<&Value>,
        cx: &mut Validation,
    ) -> ApiResult<()> {
        let role: Role = cx.decode(obj)?;
        let mut problems = Problems::new();
        validate_rules(
            role.rules.as_deref().unwrap_or_default(),
            true,
            &mut problems,
        );
        cx.causes.extend(problems.causes);
        *obj = encode(&role)?;
        Ok(())
    }
    fn table_columns(&self) -> Option<Vec<TableColumn>> {
        Some(role_columns())
    }
    fn strategic_merge(&self) -> Option<&'static StrategicSchema> {
        Some(&ROLE)
    }
    fn openapi(&self, generator: &mut schemars::SchemaGenerator) -> Option<String> {
        Some(openapi_of::<Role>(generator))
    }
    fn decode_protobuf(&self, raw: &[u8]) -> Option<Result<Map<String, Value>, String>> {
        Some(crate::protobuf::role(&[raw], 1, false))
    }
}

impl Strategy for ClusterRoles {
    fn names(&self) -> Names {
        names("clusterroles", "ClusterRole", false)
    }
    fn name_rule(&self) -> NameRule {
        NameRule::PathSegment
    }
    fn allow_create_on_update(&self) -> bool {
        true
    }
    fn validate(
        &self,
        obj: &mut Value,
        _old: Option<&Value>,
        cx: &mut Validation,
    ) -> ApiResult<()> {
        let role: ClusterRole = cx.decode(obj)?;
        let mut problems = Problems::new();
        validate_rules(
            role.rules.as_deref().unwrap_or_default(),
            false,
            &mut problems,
        );
        cx.causes.extend(problems.causes);
        *obj = encode(&role)?;
        Ok(())
    }
    fn table_columns(&self) -> Option<Vec<TableColumn>> {
        Some(role_columns())
    }
    fn strategic_merge(&self) -> Option<&'static StrategicSchema> {
        Some(&CLUSTER_ROLE)
    }
    fn openapi(&self, generator: &mut schemars::SchemaGenerator) -> Option<String> {
        Some(openapi_of::<ClusterRole>(generator))
    }
    fn decode_protobuf(&self, raw: &[u8]) -> Option<Result<Map<String, Value>, String>> {
        Some(crate::protobuf::role(&[raw], 1, true))
    }
}

impl Strategy for RoleBindings {
    fn names(&self) -> Names {
        names("rolebindings", "RoleBinding", true)
    }
    fn name_rule(&self) -> NameRule {
        NameRule::PathSegment
    }
    fn allow_create_on_update(&self) -> bool {
        true
    }
    fn validate(&self, obj: &mut Value, old: Option<&Value>, cx: &mut Validation) -> ApiResult<()> {
        let binding: RoleBinding = cx.decode(obj)?;
        let mut problems = Problems::new();
        validate_binding(
            &binding.role_ref,
            binding.subjects.as_deref().unwrap_or_default(),
            true,
            old,
            &mut problems,
        );
        cx.causes.extend(problems.causes);
        *obj = encode(&binding)?;
        Ok(())
    }
    fn table_columns(&self) -> Option<Vec<TableColumn>> {
        Some(binding_columns())
    }
    fn strategic_merge(&self) -> Option<&'static StrategicSchema> {
        Some(&ROLE_BINDING)
    }
    fn openapi(&self, generator: &mut schemars::SchemaGenerator) -> Option<String> {
        Some(openapi_of::<RoleBinding>(generator))
    }
    fn decode_protobuf(&self, raw: &[u8]) -> Option<Result<Map<String, Value>, String>> {
        Some(crate::protobuf::role_binding(&[raw], 1))
    }
}

impl Strategy for ClusterRoleBindings {
    fn names(&self) -> Names {
        names("clusterrolebindings", "ClusterRoleBinding", false)
    }
    fn name_rule(&self) -> NameRule {
        NameRule::PathSegment
    }
    fn allow_create_on_update(&self) -> bool {
        true
    }
    fn validate(&self, obj: &mut Value, old: Option<&Value>, cx: &mut Validation) -> ApiResult<()> {
        let binding: ClusterRoleBinding = cx.decode(obj)?;
        let mut problems = Problems::new();
        validate_binding(
            &binding.role_ref,
            binding.subjects.as_deref().unwrap_or_default(),
            false,
            old,
            &mut problems,
        );
        cx.causes.extend(problems.causes);
        *obj = encode(&binding)?;
        Ok(())
    }
    fn table_columns(&self) -> Option<Vec<TableColumn>> {
        Some(binding_columns())
    }
    fn strategic_merge(&self) -> Option<&'static StrategicSchema> {
        Some(&CLUSTER_ROLE_BINDING)
    }
    fn openapi(&self, generator: &mut schemars::SchemaGenerator) -> Option<String> {
        Some(openapi_of::<ClusterRoleBinding>(generator))
    }
    fn decode_protobuf(&self, raw: &[u8]) -> Option<Result<Map<String, Value>, String>> {
        Some(crate::protobuf::role_binding(&[raw], 1))
    }
}
