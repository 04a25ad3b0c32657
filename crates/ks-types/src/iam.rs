//! `iam.kubesphere.io/v1alpha2`: users, roles, role bindings, groups and
//! login records.
//!
//! Field names, `omitempty` and required fields follow KubeSphere's Go types
//! (`kubesphere.io/api/iam/v1alpha2`). Roles and bindings keep `rules`,
//! `subjects` and `roleRef` at the top level, as rbac.authorization.k8s.io
//! does.

use k8s_openapi::api::rbac::v1::{PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::open_enum::open_enum;
use crate::resource::kind;

/// The API group of this module.
pub const GROUP: &str = "iam.kubesphere.io";
/// The API version of this module.
pub const VERSION: &str = "v1alpha2";

kind! {
    /// A KubeSphere user account.
    #[derive(Default)]
    pub struct User {
        /// Standard object metadata.
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub metadata: ObjectMeta,
        /// Desired state of the user.
        #[serde(deserialize_with = "crate::resource::null_as_default")]
        pub spec: UserSpec,
        /// Observed state of the user.
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub status: UserStatus,
    }
    group = "iam.kubesphere.io", version = "v1alpha2", plural = "users", singular = "user", list = UserList
}

/// Whether `s` has the shape of a bcrypt hash (`$2a$`, `$2b$`, `$2x$` or
/// `$2y$`, a two-digit cost, 53 characters of bcrypt's base64): what
/// KubeSphere's `bcrypt.Cost(...) > 0` accepts as an already hashed
/// [`UserSpec::encrypted_password`].
pub fn is_bcrypt_hash(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 60
        && b[0] == b'$'
        && b[1] == b'2'
        && matches!(b[2], b'a' | b'b' | b'x' | b'y')
        && b[3] == b'$'
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && b[6] == b'$'
        && b[7..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'.' || c == b'/')
}

/// Desired state of a [`User`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSpec {
    /// Unique email address (RFC 5322). May be empty.
    #[serde(deserialize_with = "crate::resource::null_as_default")]
    pub email: String,
    /// Preferred language of the console (`en`, `zh`, `tc`, `es`).
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub lang: String,
    /// Description of the user.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub description: String,
    /// Display name.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub display_name: String,
    /// Groups the user belongs to.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub groups: Vec<String>,
    /// The password: plain text on creation (8 to 64 characters with a
    /// lowercase letter, an uppercase letter and a digit), a bcrypt hash
    /// once the controller has encrypted it.
    #[schemars(schema_with = "password_schema")]
    #[serde(
        rename = "password",
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub encrypted_password: String,
}

/// Schema of `spec.password`, with the rule of KubeSphere's User CRD: 8 to
/// 64 characters with a lowercase letter, an uppercase letter and a digit
/// (in any order: regular expressions in CRDs have no lookahead, so every
/// order is spelled out), or a bcrypt hash.
fn password_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let classes = ["[a-z]", "[A-Z]", "[0-9]"];
    let orders = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    let mut alternatives: Vec<String> = orders
        .iter()
        .map(|o| {
            format!(
                "^(.*{}.*{}.*{}.*)$",
                classes[o[0]], classes[o[1]], classes[o[2]]
            )
        })
        .collect();
    alternatives.push(r"^(\$2[ayb]\$.{56})$".to_owned());
    schemars::json_schema!({
        "description": "The password: plain text on creation, a bcrypt hash once encrypted.",
        "type": "string",
        "minLength": 8,
        "maxLength": 64,
        "pattern": alternatives.join("|"),
    })
}

open_enum! {
    /// State of a [`User`].
    pub enum UserState {
        /// The user can log in.
        Active = "Active",
        /// The user is disabled and cannot log in.
        Disabled = "Disabled",
        /// Too many failed logins; login is blocked for a while.
        AuthLimitExceeded = "AuthLimitExceeded",
    }
}

/// Observed state of a [`User`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserStatus {
    /// The user's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<UserState>,
    /// Why the user is in this state.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub reason: String,
    /// When the state last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// Time of the last login attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_login_time: Option<Time>,
}

kind! {
    /// A role that applies everywhere on the platform.
    #[derive(Default)]
    pub struct GlobalRole {
        /// Standard object metadata.
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub metadata: ObjectMeta,
        /// The rules of the role. Always written, like Go (no `omitempty`).
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub rules: Vec<PolicyRule>,
    }
    group = "iam.kubesphere.io", version = "v1alpha2", plural = "globalroles", singular = "globalrole", list = GlobalRoleList
}

kind! {
    /// A role that applies to a workspace and every namespace in it. Carries
    /// the `kubesphere.io/workspace` label unless it is a role template.
    #[derive(Default)]
    pub struct WorkspaceRole {
        /// Standard object metadata.
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub metadata: ObjectMeta,
        /// The rules of the role. Always written, like Go (no `omitempty`).
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub rules: Vec<PolicyRule>,
    }
    group = "iam.kubesphere.io", version = "v1alpha2", plural = "workspaceroles", singular = "workspacerole", list = WorkspaceRoleList
}

kind! {
    /// Grants a [`GlobalRole`] to users, groups or service accounts.
    #[derive(Default)]
    pub struct GlobalRoleBinding {
        /// Standard object metadata.
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub metadata: ObjectMeta,
        /// Who the role is granted to.
        #[serde(
            default,
            skip_serializing_if = "Vec::is_empty",
            deserialize_with = "crate::resource::null_as_default"
        )]
        pub subjects: Vec<Subject>,
        /// The granted role; its kind must be `GlobalRole`.
        #[serde(deserialize_with = "crate::resource::null_as_default")]
        pub role_ref: RoleRef,
    }
    group = "iam.kubesphere.io", version = "v1alpha2", plural = "globalrolebindings", singular = "globalrolebinding", list = GlobalRoleBindingList
}

kind! {
    /// Grants a [`WorkspaceRole`] in one workspace (named by the
    /// `kubesphere.io/workspace` label).
    #[derive(Default)]
    pub struct WorkspaceRoleBinding {
        /// Standard object metadata.
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub metadata: ObjectMeta,
        /// Who the role is granted to.
        #[serde(
            default,
            skip_serializing_if = "Vec::is_empty",
            deserialize_with = "crate::resource::null_as_default"
        )]
        pub subjects: Vec<Subject>,
        /// The granted role; its kind must be `WorkspaceRole`.
        #[serde(deserialize_with = "crate::resource::null_as_default")]
        pub role_ref: RoleRef,
    }
    group = "iam.kubesphere.io", version = "v1alpha2", plural = "workspacerolebindings", singular = "workspacerolebinding", list = WorkspaceRoleBindingList
}

kind! {
    /// One login attempt of a user (labelled `iam.kubesphere.io/user-ref`).
    pub struct LoginRecord {
        /// Standard object metadata.
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub metadata: ObjectMeta,
        /// What happened.
        pub spec: LoginRecordSpec,
    }
    group = "iam.kubesphere.io", version = "v1alpha2", plural = "loginrecords", singular = "loginrecord", list = LoginRecordList
}

open_enum! {
    /// How a user authenticated.
    pub enum LoginType {
        /// Username and password.
        Basic = "Basic",
        /// An OAuth identity provider.
        OAuth = "OAuth",
        /// A bearer token.
        Token = "Token",
    }
}

/// What happened in a [`LoginRecord`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginRecordSpec {
    /// Authentication method.
    #[serde(rename = "type")]
    pub type_: LoginType,
    /// Identity provider, e.g. an LDAP or GitHub provider's name.
    #[serde(deserialize_with = "crate::resource::null_as_default")]
    pub provider: String,
    /// Source IP of the client.
    #[serde(
        rename = "sourceIP",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub source_ip: String,
    /// User agent of the client.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub user_agent: String,
    /// Whether the attempt succeeded.
    #[serde(deserialize_with = "crate::resource::null_as_default")]
    pub success: bool,
    /// Why the attempt failed, or a success message.
    #[serde(deserialize_with = "crate::resource::null_as_default")]
    pub reason: String,
}

kind! {
    /// A group of users, usually inside a workspace.
    #[derive(Default)]
    pub struct Group {
        /// Standard object metadata.
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub metadata: ObjectMeta,
        /// Desired state (no fields yet).
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub spec: GroupSpec,
        /// Observed state (no fields yet).
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub status: GroupStatus,
    }
    group = "iam.kubesphere.io", version = "v1alpha2", plural = "groups", singular = "group", list = GroupList
}

/// Desired state of a [`Group`]; KubeSphere defines no fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GroupSpec {}

/// Observed state of a [`Group`]; KubeSphere defines no fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GroupStatus {}

kind! {
    /// Puts users into a [`Group`].
    #[derive(Default)]
    pub struct GroupBinding {
        /// Standard object metadata.
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub metadata: ObjectMeta,
        /// The group.
        #[serde(default, deserialize_with = "crate::resource::null_as_default")]
        pub group_ref: GroupRef,
        /// Names of the users in the group.
        #[serde(
            default,
            skip_serializing_if = "Vec::is_empty",
            deserialize_with = "crate::resource::null_as_default"
        )]
        pub users: Vec<String>,
    }
    group = "iam.kubesphere.io", version = "v1alpha2", plural = "groupbindings", singular = "groupbinding", list = GroupBindingList
}

/// Reference from a [`GroupBinding`] to its [`Group`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupRef {
    /// API group of the referent (`iam.kubesphere.io`).
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub api_group: String,
    /// Kind of the referent (`Group`).
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub kind: String,
    /// Name of the group.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::resource::null_as_default"
    )]
    pub name: String,
}
