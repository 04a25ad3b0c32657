//! KubeSphere's built-in roles, as data.
//!
//! Three scopes, each with the roles users are bound to and the *role
//! templates* (labelled `iam.kubesphere.io/role-template: "true"`) whose
//! rules those roles aggregate through the
//! `iam.kubesphere.io/aggregation-roles` annotation:
//!
//! - global: `platform-admin`, `platform-regular`, `users-manager`,
//!   `workspaces-manager` ([`global_roles`], [`global_role_templates`]);
//! - workspace: `admin`, `regular`, `viewer`, `self-provisioner`, created in
//!   each workspace as `{workspace}-admin` etc. ([`workspace_roles`],
//!   [`workspace_role_templates`]);
//! - namespace (project): `admin`, `operator`, `viewer`, created in each
//!   namespace ([`namespace_roles`], [`namespace_role_templates`]).
//!
//! ```
//! use ks_types::builtin;
//! use ks_types::meta::{workspace_of, aggregation_roles};
//!
//! let roles = builtin::workspace_roles("demo");
//! let admin = &roles[0];
//! assert_eq!(admin.metadata.name.as_deref(), Some("demo-admin"));
//! assert_eq!(workspace_of(&admin.metadata), Some("demo"));
//!
//! // Every aggregated template exists among the workspace templates.
//! let templates = builtin::workspace_role_templates();
//! for name in aggregation_roles(&admin.metadata)?.unwrap_or_default() {
//!     assert!(templates.iter().any(|t| t.metadata.name.as_deref() == Some(name.as_str())));
//! }
//! # Ok::<(), ks_types::Error>(())
//! ```
//!
//! The data follows the role templates KubeSphere 3.x ships with its
//! installer (`ks-init/role-templates.yaml`): the same names, rules and
//! aggregation lists, and each template's console rules
//! (`iam.kubesphere.io/role-template-rules`). Left out: the `anonymous`,
//! `authenticated` and `pre-registration` global roles (they depend on OPA
//! rego overrides), cluster-scope roles and templates, and DevOps-project
//! templates (pipelines, credentials, DevOps settings).

use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1::{PolicyRule, Role};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::iam::{GlobalRole, WorkspaceRole};
use crate::meta::{
    ALIAS_NAME_ANNOTATION, CREATOR_ANNOTATION, DEPENDENCIES_ANNOTATION, MODULE_ANNOTATION,
    ROLE_TEMPLATE_LABEL, ROLE_TEMPLATE_RULES_ANNOTATION, WORKSPACE_LABEL, set_aggregation_roles,
};

/// Names of the built-in global roles.
pub const GLOBAL_ROLES: &[&str] = &[
    PLATFORM_ADMIN,
    PLATFORM_REGULAR,
    USERS_MANAGER,
    WORKSPACES_MANAGER,
];
/// Global role: everything, everywhere.
pub const PLATFORM_ADMIN: &str = "platform-admin";
/// Global role: a regular user; sees app templates, gets more through
/// workspace and namespace bindings.
pub const PLATFORM_REGULAR: &str = "platform-regular";
/// Global role: manages users and global roles.
pub const USERS_MANAGER: &str = "users-manager";
/// Global role: manages workspaces and what is in them.
pub const WORKSPACES_MANAGER: &str = "workspaces-manager";

/// Names of the workspace role bases, created per workspace as
/// `{workspace}-{name}`.
pub const WORKSPACE_ROLE_BASES: &[&str] = &["admin", "regular", "viewer", "self-provisioner"];

/// Names of the namespace roles created in every namespace.
pub const NAMESPACE_ROLES: &[&str] = &["admin", "operator", "viewer"];

/// The name of a workspace role instantiated from a base: `{workspace}-{base}`.
pub fn workspace_role_name(workspace: &str, base: &str) -> String {
    format!("{workspace}-{base}")
}

// ---------------------------------------------------------------------------
// Compact rule data

struct Rule {
    groups: &'static [&'static str],
    resources: &'static [&'static str],
    urls: &'static [&'static str],
    verbs: &'static [&'static str],
}

const fn res(
    groups: &'static [&'static str],
    resources: &'static [&'static str],
    verbs: &'static [&'static str],
) -> Rule {
    Rule {
        groups,
        resources,
        urls: &[],
        verbs,
    }
}

const fn urls(urls: &'static [&'static str], verbs: &'static [&'static str]) -> Rule {
    Rule {
        groups: &[],
        resources: &[],
        urls,
        verbs,
    }
}

struct RoleData {
    name: &'static str,
    /// Role templates this role aggregates.
    aggregates: &'static [&'static str],
    /// Role templates a template depends on (shown by the console).
    dependencies: &'static [&'static str],
    /// `Some((module, alias))` marks a role template.
    template: Option<(&'static str, &'static str)>,
    creator: Option<&'static str>,
    rules: &'static [Rule],
}

const fn role(
    name: &'static str,
    creator: &'static str,
    aggregates: &'static [&'static str],
    rules: &'static [Rule],
) -> RoleData {
    RoleData {
        name,
        aggregates,
        dependencies: &[],
        template: None,
        creator: Some(creator),
        rules,
    }
}

const fn template(
    name: &'static str,
    module: &'static str,
    alias: &'static str,
    dependencies: &'static [&'static str],
    rules: &'static [Rule],
) -> RoleData {
    RoleData {
        name,
        aggregates: &[],
        dependencies,
        template: Some((module, alias)),
        creator: None,
        rules,
    }
}

fn strings(items: &[&str]) -> Option<Vec<String>> {
    (!items.is_empty()).then(|| items.iter().map(|s| (*s).to_owned()).collect())
}

impl Rule {
    fn to_policy_rule(&self) -> PolicyRule {
        PolicyRule {
            api_groups: strings(self.groups),
            resources: strings(self.resources),
            non_resource_urls: strings(self.urls),
            resource_names: None,
            verbs: self.verbs.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

impl RoleData {
    fn metadata(&self) -> ObjectMeta {
        let mut meta = ObjectMeta {
            name: Some(self.name.to_owned()),
            ..Default::default()
        };
        let mut annotations = BTreeMap::new();
        if let Some(creator) = self.creator {
            annotations.insert(CREATOR_ANNOTATION.to_owned(), creator.to_owned());
        }
        if let Some((module, alias)) = self.template {
            for (key, value) in [(MODULE_ANNOTATION, module), (ALIAS_NAME_ANNOTATION, alias)] {
                if !value.is_empty() {
                    annotations.insert(key.to_owned(), value.to_owned());
                }
            }
            meta.labels = Some(BTreeMap::from([(
                ROLE_TEMPLATE_LABEL.to_owned(),
                "true".to_owned(),
            )]));
        }
        if !self.dependencies.is_empty() {
            let deps: Vec<&str> = self.dependencies.to_vec();
            // Serializing a list of strings cannot fail.
            let value = serde_json::to_string(&deps).unwrap_or_default();
            annotations.insert(DEPENDENCIES_ANNOTATION.to_owned(), value);
        }
        if !annotations.is_empty() {
            meta.annotations = Some(annotations);
        }
        if !self.aggregates.is_empty() {
            set_aggregation_roles(&mut meta, self.aggregates);
        }
        meta
    }

    fn rules(&self) -> Vec<PolicyRule> {
        self.rules.iter().map(Rule::to_policy_rule).collect()
    }

    /// The metadata, with the template's console rules from `table` (by
    /// name) when it has some.
    fn metadata_with_rules(&self, table: &[(&str, &str)]) -> ObjectMeta {
        let mut meta = self.metadata();
        if self.template.is_some()
            && let Some((_, rules)) = table.iter().find(|(name, _)| *name == self.name)
        {
            meta.annotations.get_or_insert_with(BTreeMap::new).insert(
                ROLE_TEMPLATE_RULES_ANNOTATION.to_owned(),
                (*rules).to_owned(),
            );
        }
        meta
    }

    fn global_role(&self) -> GlobalRole {
        GlobalRole {
            metadata: self.metadata_with_rules(GLOBAL_TEMPLATE_RULES),
            rules: self.rules(),
        }
    }

    fn workspace_role(&self) -> WorkspaceRole {
        WorkspaceRole {
            metadata: self.metadata_with_rules(WORKSPACE_TEMPLATE_RULES),
            rules: self.rules(),
        }
    }

    fn role(&self, namespace: Option<&str>) -> Role {
        let mut metadata = self.metadata_with_rules(NAMESPACE_TEMPLATE_RULES);
        metadata.namespace = namespace.map(str::to_owned);
        Role {
            metadata,
            rules: Some(self.rules()),
        }
    }
}

// ---------------------------------------------------------------------------
// The console's rules of each role template
//
// `iam.kubesphere.io/role-template-rules`: a JSON map from a console module
// to `view` or `manage` (or `create`), from which KubeSphere's console
// decides what to show a user (it reads the templates a user's roles
// aggregate). Values as KubeSphere 3.4 ships them (ks-installer
// `roles/ks-core/prepare/files/ks-init/role-templates.yaml`), by scope and
// template name; a template absent here carries none.

const GLOBAL_TEMPLATE_RULES: &[(&str, &str)] = &[
    ("role-template-view-basic", r#"{"basic":"view"}"#),
    ("role-template-view-clusters", r#"{"clusters":"view"}"#),
    ("role-template-manage-clusters", r#"{"clusters":"manage"}"#),
    ("role-template-view-workspaces", r#"{"workspaces":"view"}"#),
    (
        "role-template-manage-workspaces",
        r#"{"workspaces":"manage"}"#,
    ),
    ("role-template-view-users", r#"{"users":"view"}"#),
    ("role-template-manage-users", r#"{"users":"manage"}"#),
    ("role-template-view-roles", r#"{"roles":"view"}"#),
    ("role-template-manage-roles", r#"{"roles":"manage"}"#),
    (
        "role-template-view-app-templates",
        r#"{"app-templates":"view"}"#,
    ),
    (
        "role-template-manage-app-templates",
        r#"{"app-templates":"manage"}"#,
    ),
    (
        "role-template-manage-platform-settings",
        r#"{"platform-settings":"manage"}"#,
    ),
];

const WORKSPACE_TEMPLATE_RULES: &[(&str, &str)] = &[
    ("role-template-view-projects", r#"{"projects":"view"}"#),
    ("role-template-create-projects", r#"{"projects":"create"}"#),
    ("role-template-manage-projects", r#"{"projects":"manage"}"#),
    ("role-template-view-devops", r#"{"devops":"view"}"#),
    ("role-template-create-devops", r#"{"devops":"create"}"#),
    ("role-template-manage-devops", r#"{"devops":"manage"}"#),
    ("role-template-view-app-repos", r#"{"app-repos":"view"}"#),
    (
        "role-template-manage-app-repos",
        r#"{"app-repos":"manage"}"#,
    ),
    (
        "role-template-view-app-templates",
        r#"{"app-templates":"view"}"#,
    ),
    (
        "role-template-manage-app-templates",
        r#"{"app-templates":"manage"}"#,
    ),
    ("role-template-view-roles", r#"{"roles":"view"}"#),
    ("role-template-manage-roles", r#"{"roles":"manage"}"#),
    ("role-template-view-members", r#"{"members":"view"}"#),
    ("role-template-manage-members", r#"{"members":"manage"}"#),
    (
        "role-template-view-basic",
        r#"{"basic":"view","members":"view"}"#,
    ),
    (
        "role-template-manage-workspace-settings",
        r#"{"workspace-settings":"manage"}"#,
    ),
    (
        "role-template-view-workspace-settings",
        r#"{"workspace-settings":"view"}"#,
    ),
    ("role-template-manage-groups", r#"{"groups":"manage"}"#),
    ("role-template-view-groups", r#"{"groups":"view"}"#),
];

const NAMESPACE_TEMPLATE_RULES: &[(&str, &str)] = &[
    (
        "role-template-view-alerting-messages",
        r#"{"alerts":"view"}"#,
    ),
    (
        "role-template-view-alerting-policies",
        r#"{"alert-rules":"view"}"#,
    ),
    (
        "role-template-manage-alerting-policies",
        r#"{"alert-rules":"manage"}"#,
    ),
    (
        "role-template-view-custom-monitoring",
        r#"{"custom-monitoring":"view"}"#,
    ),
    (
        "role-template-manage-custom-monitoring",
        r#"{"custom-monitoring":"manage"}"#,
    ),
    ("role-template-view-members", r#"{"members":"view"}"#),
    ("role-template-manage-members", r#"{"members":"manage"}"#),
    ("role-template-view-basic", r#"{"basic":"view"}"#),
    (
        "role-template-manage-project-settings",
        r#"{"project-settings":"manage"}"#,
    ),
    ("role-template-view-roles", r#"{"roles":"view"}"#),
    ("role-template-manage-roles", r#"{"roles":"manage"}"#),
    (
        "role-template-view-app-workloads",
        r#"{"applications":"view","deployments":"view","statefulsets":"view","daemonsets":"view","jobs":"view","cronjobs":"view","pods":"view","services":"view","ingresses":"view"}"#,
    ),
    (
        "role-template-manage-app-workloads",
        r#"{"applications":"manage","deployments":"manage","statefulsets":"manage","daemonsets":"manage","jobs":"manage","cronjobs":"manage","pods":"manage","services":"manage","ingresses":"manage","s2ibuilders":"manage","grayscale-release":"manage"}"#,
    ),
    ("role-template-view-configmaps", r#"{"configmaps":"view"}"#),
    (
        "role-template-manage-configmaps",
        r#"{"configmaps":"manage"}"#,
    ),
    ("role-template-view-secrets", r#"{"secrets":"view"}"#),
    ("role-template-manage-secrets", r#"{"secrets":"manage"}"#),
    (
        "role-template-view-serviceaccount",
        r#"{"serviceaccounts":"view"}"#,
    ),
    (
        "role-template-manage-serviceaccount",
        r#"{"serviceaccounts":"manage"}"#,
    ),
    ("role-template-view-volumes", r#"{"volumes":"view"}"#),
    ("role-template-manage-volumes", r#"{"volumes":"manage"}"#),
    (
        "role-template-view-snapshots",
        r#"{"volume-snapshots":"view"}"#,
    ),
    (
        "role-template-manage-snapshots",
        r#"{"volume-snapshots":"manage"}"#,
    ),
];

const ALL: &[&str] = &["*"];
const READ: &[&str] = &["get", "list", "watch"];
const GET_LIST: &[&str] = &["get", "list"];
const MONITORING_GROUPS: &[&str] = &[
    "monitoring.kubesphere.io",
    "metering.kubesphere.io",
    "monitoring.coreos.com",
];

// ---------------------------------------------------------------------------
// Global scope

/// API groups of the cluster-management templates.
const CLUSTER_GROUPS: &[&str] = &[
    "",
    "apiextensions.k8s.io",
    "app.k8s.io",
    "apps",
    "autoscaling",
    "batch",
    "config.istio.io",
    "devops.kubesphere.io",
    "events.k8s.io",
    "events.kubesphere.io",
    "extensions",
    "istio.kubesphere.io",
    "jaegertracing.io",
    "logging.kubesphere.io",
    "metrics.k8s.io",
    "monitoring.coreos.com",
    "monitoring.kubesphere.io",
    "metering.kubesphere.io",
    "network.kubesphere.io",
    "networking.istio.io",
    "networking.k8s.io",
    "node.k8s.io",
    "rbac.istio.io",
    "scheduling.k8s.io",
    "security.istio.io",
    "servicemesh.kubesphere.io",
    "snapshot.storage.k8s.io",
    "storage.k8s.io",
    "storage.kubesphere.io",
    "resources.kubesphere.io",
    "notification.kubesphere.io",
    "alerting.kubesphere.io",
    "cluster.kubesphere.io",
    "types.kubefed.io",
];

/// Resources of tenants (workspaces and what is in them) that the
/// workspace-management roles cover.
const TENANT_RESOURCES: &[&str] = &[
    "abnormalworkloads",
    "quotas",
    "workloads",
    "volumesnapshots",
    "dashboards",
    "configmaps",
    "endpoints",
    "events",
    "limitranges",
    "namespaces",
    "persistentvolumeclaims",
    "podtemplates",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "serviceaccounts",
    "services",
    "applications",
    "controllerrevisions",
    "deployments",
    "replicasets",
    "statefulsets",
    "daemonsets",
    "meshpolicies",
    "cronjobs",
    "jobs",
    "devopsprojects",
    "devops",
    "pipelines",
    "pipelines/runs",
    "pipelines/branches",
    "pipelines/checkScriptCompile",
    "pipelines/consolelog",
    "pipelines/scan",
    "pipelines/sonarstatus",
    "checkCron",
    "credentials",
    "credentials/usage",
    "s2ibinaries",
    "s2ibinaries/file",
    "s2ibuilders",
    "s2ibuildertemplates",
    "s2iruns",
    "ingresses",
    "router",
    "filters",
    "pods",
    "pods/log",
    "pods/containers",
    "namespacenetworkpolicies",
    "workspacenetworkpolicies",
    "networkpolicies",
    "podsecuritypolicies",
    "rolebindings",
    "roles",
    "members",
    "servicepolicies",
    "federatedconfigmaps",
    "federateddeployments",
    "federatedingresses",
    "federatedjobs",
    "federatedlimitranges",
    "federatednamespaces",
    "federatedpersistentvolumeclaims",
    "federatedreplicasets",
    "federatedsecrets",
    "federatedserviceaccounts",
    "federatedservices",
    "federatedservicestatuses",
    "federatedstatefulsets",
    "federatedworkspaces",
    "workspaces",
    "workspaceroles",
    "workspacemembers",
    "workspacemembers/namespaces",
    "workspacemembers/devops",
    "workspacerolebindings",
];

/// App-store resources of the workspace-management templates.
const APP_STORE_RESOURCES: &[&str] = &[
    "repos",
    "repos/action",
    "repos/events",
    "apps",
    "apps/versions",
    "categories",
    "apps/audits",
];

const GLOBAL: &[RoleData] = &[
    role(
        PLATFORM_ADMIN,
        "admin",
        &[
            "role-template-manage-clusters",
            "role-template-view-clusters",
            "role-template-view-roles",
            "role-template-manage-roles",
            "role-template-view-workspaces",
            "role-template-manage-workspaces",
            "role-template-manage-users",
            "role-template-view-users",
            "role-template-manage-app-templates",
            "role-template-view-app-templates",
            "role-template-manage-platform-settings",
        ],
        &[res(ALL, ALL, ALL), urls(ALL, ALL)],
    ),
    role(
        PLATFORM_REGULAR,
        "admin",
        &["role-template-view-app-templates"],
        &[],
    ),
    role(
        USERS_MANAGER,
        "admin",
        &[
            "role-template-view-users",
            "role-template-manage-users",
            "role-template-view-roles",
            "role-template-manage-roles",
        ],
        &[res(
            ALL,
            &[
                "users",
                "users/password",
                "users/loginrecords",
                "globalroles",
            ],
            ALL,
        )],
    ),
    role(
        WORKSPACES_MANAGER,
        "admin",
        &[
            "role-template-view-workspaces",
            "role-template-manage-workspaces",
            "role-template-view-users",
        ],
        &[
            res(ALL, TENANT_RESOURCES, ALL),
            res(
                ALL,
                &[
                    "pods/exec",
                    "federatedapplications",
                    "groups",
                    "groupbindings",
                ],
                ALL,
            ),
            res(ALL, &["users", "users/loginrecords"], READ),
            res(
                &["openpitrix.io"],
                &[
                    "repos",
                    "apps",
                    "apps/versions",
                    "categories",
                    "apps/audits",
                ],
                ALL,
            ),
            res(ALL, &["clusters", "cluster"], &["list"]),
        ],
    ),
];

const GLOBAL_TEMPLATES: &[RoleData] = &[
    template("role-template-view-basic", "", "", &[], &[]),
    template(
        "role-template-view-clusters",
        "Clusters Management",
        "Clusters View",
        &[],
        &[
            res(CLUSTER_GROUPS, ALL, READ),
            res(
                &["tenant.kubesphere.io"],
                &["workspaces", "workspacetemplates"],
                READ,
            ),
            urls(ALL, &["GET"]),
        ],
    ),
    template(
        "role-template-manage-clusters",
        "Clusters Management",
        "Clusters Management",
        &["role-template-view-clusters"],
        &[
            res(CLUSTER_GROUPS, ALL, ALL),
            res(
                &["tenant.kubesphere.io"],
                &["workspaces", "workspacetemplates"],
                &["update", "patch"],
            ),
            urls(ALL, &["GET"]),
        ],
    ),
    template(
        "role-template-view-workspaces",
        "Access Control",
        "Workspaces View",
        &[],
        &[
            res(ALL, TENANT_RESOURCES, READ),
            res(ALL, APP_STORE_RESOURCES, READ),
            res(
                ALL,
                &["horizontalpodautoscalers", "groups", "groupbindings"],
                READ,
            ),
            res(MONITORING_GROUPS, ALL, GET_LIST),
            res(ALL, &["clusters", "cluster"], &["list"]),
        ],
    ),
    template(
        "role-template-manage-workspaces",
        "Access Control",
        "Workspaces Management",
        &["role-template-view-workspaces"],
        &[
            res(ALL, TENANT_RESOURCES, ALL),
            res(ALL, APP_STORE_RESOURCES, ALL),
            res(
                ALL,
                &[
                    "horizontalpodautoscalers",
                    "pods/exec",
                    "federatedapplications",
                ],
                ALL,
            ),
            res(ALL, &["clusters"], &["list"]),
        ],
    ),
    template(
        "role-template-view-users",
        "Access Control",
        "Users View",
        &[],
        &[res(ALL, &["users", "users/loginrecords"], READ)],
    ),
    template(
        "role-template-manage-users",
        "Access Control",
        "Users Management",
        &["role-template-view-users", "role-template-view-roles"],
        &[res(
            ALL,
            &["users", "users/password", "users/loginrecords"],
            ALL,
        )],
    ),
    template(
        "role-template-view-roles",
        "Access Control",
        "Roles View",
        &["role-template-view-users"],
        &[res(&["iam.kubesphere.io"], &["globalroles"], READ)],
    ),
    template(
        "role-template-manage-roles",
        "Access Control",
        "Roles Management",
        &["role-template-view-roles"],
        &[res(ALL, &["globalroles"], ALL)],
    ),
    template(
        "role-template-view-app-templates",
        "Apps Management",
        "App Templates View",
        &[],
        &[res(
            &["openpitrix.io"],
            &["apps", "apps/versions", "categories"],
            GET_LIST,
        )],
    ),
    template(
        "role-template-manage-app-templates",
        "Apps Management",
        "App Templates Management",
        &["role-template-view-app-templates"],
        &[res(&["openpitrix.io"], ALL, ALL)],
    ),
    template(
        "role-template-manage-platform-settings",
        "Platform Settings",
        "Platform Settings Management",
        &[],
        &[
            res(&["logging.kubesphere.io"], ALL, ALL),
            res(&["notification.kubesphere.io"], ALL, ALL),
        ],
    ),
];

/// The built-in global roles: `platform-admin`, `platform-regular`,
/// `users-manager`, `workspaces-manager`.
pub fn global_roles() -> Vec<GlobalRole> {
    GLOBAL.iter().map(RoleData::global_role).collect()
}

/// The global role templates the global roles aggregate.
pub fn global_role_templates() -> Vec<GlobalRole> {
    GLOBAL_TEMPLATES.iter().map(RoleData::global_role).collect()
}

// ---------------------------------------------------------------------------
// Workspace scope

/// Resources of a project (namespace) as the workspace project templates
/// see them.
const PROJECT_RESOURCES: &[&str] = &[
    "namespaces",
    "configmaps",
    "endpoints",
    "events",
    "limitranges",
    "persistentvolumeclaims",
    "podtemplates",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "serviceaccounts",
    "services",
    "applications",
    "controllerrevisions",
    "deployments",
    "replicasets",
    "statefulsets",
    "daemonsets",
    "meshpolicies",
    "cronjobs",
    "jobs",
    "s2ibinaries",
    "s2ibinaries/file",
    "s2ibuilders",
    "s2ibuildertemplates",
    "s2iruns",
    "ingresses",
    "router",
    "pods",
    "pods/log",
    "pods/containers",
    "namespacenetworkpolicies",
    "networkpolicies",
    "podsecuritypolicies",
    "rolebindings",
    "roles",
    "members",
    "servicepolicies",
    "federatedapplications",
    "federatedconfigmaps",
    "federateddeployments",
    "federatedingresses",
    "federatedjobs",
    "federatedlimitranges",
    "federatednamespaces",
    "federatedpersistentvolumeclaims",
    "federatedreplicasets",
    "federatedsecrets",
    "federatedserviceaccounts",
    "federatedservices",
    "federatedservicestatuses",
    "federatedstatefulsets",
    "workspaces",
    "quotas",
    "abnormalworkloads",
    "workloads",
    "dashboards",
    "strategies",
    "volumesnapshots",
];

/// API groups whose every resource the project templates cover.
const PROJECT_GROUPS: &[&str] = &[
    "metering.kubesphere.io",
    "apps",
    "extensions",
    "batch",
    "logging.kubesphere.io",
    "monitoring.kubesphere.io",
    "monitoring.coreos.com",
    "autoscaling",
    "app.k8s.io",
    "servicemesh.kubesphere.io",
    "operations.kubesphere.io",
    "resources.kubesphere.io",
];

const DEVOPS_RESOURCES: &[&str] = &[
    "pipelines",
    "pipelines/runs",
    "pipelines/branches",
    "pipelines/checkScriptCompile",
    "pipelines/consolelog",
    "pipelines/scan",
    "pipelines/sonarstatus",
    "checkCron",
    "credentials",
    "credentials/usage",
    "roles",
    "members",
    "devops",
    "devopsprojects",
];

const WORKSPACE_BASES: &[RoleData] = &[
    role(
        "admin",
        "system",
        &[
            "role-template-manage-workspace-settings",
            "role-template-view-workspace-settings",
            "role-template-manage-projects",
            "role-template-view-projects",
            "role-template-create-projects",
            "role-template-create-devops",
            "role-template-view-devops",
            "role-template-manage-devops",
            "role-template-manage-app-templates",
            "role-template-view-app-templates",
            "role-template-manage-app-repos",
            "role-template-view-app-repos",
            "role-template-view-members",
            "role-template-manage-members",
            "role-template-manage-roles",
            "role-template-view-roles",
            "role-template-manage-groups",
            "role-template-view-groups",
        ],
        &[res(ALL, ALL, ALL)],
    ),
    role(
        "regular",
        "system",
        &["role-template-view-workspace-settings"],
        &[
            res(ALL, &["workspaces", "workspacemembers"], READ),
            res(MONITORING_GROUPS, &["namespaces"], &["list"]),
        ],
    ),
    role(
        "viewer",
        "system",
        &[
            "role-template-view-projects",
            "role-template-view-devops",
            "role-template-view-app-templates",
            "role-template-view-app-repos",
            "role-template-view-members",
            "role-template-view-roles",
            "role-template-view-groups",
            "role-template-view-workspace-settings",
        ],
        &[res(ALL, ALL, READ)],
    ),
    role(
        "self-provisioner",
        "system",
        &[
            "role-template-create-projects",
            "role-template-create-devops",
            "role-template-view-app-templates",
            "role-template-manage-app-templates",
            "role-template-view-workspace-settings",
        ],
        &[
            res(
                ALL,
                &[
                    "workspaces",
                    "workspacemembers",
                    "quotas",
                    "abnormalworkloads",
                    "pods",
                ],
                READ,
            ),
            res(
                ALL,
                &[
                    "namespaces",
                    "federatednamespaces",
                    "devops",
                    "devopsprojects",
                ],
                &["create", "watch"],
            ),
            res(MONITORING_GROUPS, &["namespaces", "workloads"], GET_LIST),
            res(&["openpitrix.io"], ALL, ALL),
        ],
    ),
];

const WORKSPACE_TEMPLATES: &[RoleData] = &[
    template(
        "role-template-view-projects",
        "Projects Management",
        "Projects View",
        &[],
        &[
            res(ALL, PROJECT_RESOURCES, READ),
            res(PROJECT_GROUPS, ALL, READ),
        ],
    ),
    template(
        "role-template-create-projects",
        "Projects Management",
        "Projects Create",
        &[],
        &[
            res(
                ALL,
                &[
                    "workspaces",
                    "workspacemembers",
                    "quotas",
                    "abnormalworkloads",
                    "pods",
                ],
                READ,
            ),
            res(
                ALL,
                &["namespaces", "federatednamespaces"],
                &["create", "watch"],
            ),
        ],
    ),
    template(
        "role-template-manage-projects",
        "Projects Management",
        "Projects Management",
        &[
            "role-template-view-projects",
            "role-template-view-members",
            "role-template-create-projects",
        ],
        &[
            res(PROJECT_GROUPS, ALL, ALL),
            res(ALL, PROJECT_RESOURCES, ALL),
            res(ALL, &["pods/exec"], ALL),
        ],
    ),
    template(
        "role-template-view-devops",
        "DevOps Management",
        "DevOps View",
        &[],
        &[res(ALL, DEVOPS_RESOURCES, READ)],
    ),
    template(
        "role-template-create-devops",
        "DevOps Management",
        "DevOps Create",
        &[],
        &[res(
            ALL,
            &["devops", "devopsprojects"],
            &["create", "watch"],
        )],
    ),
    template(
        "role-template-manage-devops",
        "DevOps Management",
        "DevOps Management",
        &[
            "role-template-view-devops",
            "role-template-view-members",
            "role-template-create-devops",
        ],
        &[res(ALL, DEVOPS_RESOURCES, ALL)],
    ),
    template(
        "role-template-view-app-repos",
        "Apps Management",
        "Workspace App Repos View",
        &[],
        &[res(&["openpitrix.io"], &["repos", "repos/events"], READ)],
    ),
    template(
        "role-template-manage-app-repos",
        "Apps Management",
        "Workspace App Repos Management",
        &["role-template-view-app-repos"],
        &[res(
            &["openpitrix.io"],
            &["repos", "repos/events", "repos/action"],
            ALL,
        )],
    ),
    template(
        "role-template-view-app-templates",
        "Apps Management",
        "Workspace App Templates View",
        &[],
        &[res(&["openpitrix.io"], ALL, READ)],
    ),
    template(
        "role-template-manage-app-templates",
        "Apps Management",
        "Workspace App Templates Management",
        &["role-template-view-app-templates"],
        &[res(&["openpitrix.io"], ALL, ALL)],
    ),
    template(
        "role-template-view-roles",
        "Access Control",
        "Workspace Roles View",
        &["role-template-view-members"],
        &[res(ALL, &["workspaceroles"], READ)],
    ),
    template(
        "role-template-manage-roles",
        "Access Control",
        "Workspace Roles Management",
        &["role-template-view-roles"],
        &[res(ALL, &["workspaceroles"], ALL)],
    ),
    template(
        "role-template-view-members",
        "Access Control",
        "Workspace Members View",
        &[],
        &[res(ALL, &["workspacemembers"], READ)],
    ),
    template(
        "role-template-manage-members",
        "Access Control",
        "Workspace Members Management",
        &["role-template-view-members", "role-template-view-roles"],
        &[
            res(ALL, &["workspacemembers"], ALL),
            res(ALL, &["workspaceroles"], READ),
        ],
    ),
    template(
        "role-template-view-basic",
        "",
        "",
        &[],
        &[
            res(ALL, &["workspaces"], &["get"]),
            res(MONITORING_GROUPS, &["namespaces", "workloads"], GET_LIST),
            res(ALL, &["namespaces"], &["watch"]),
            res(&["iam.kubesphere.io"], &["workspacemembers"], &["list"]),
        ],
    ),
    template(
        "role-template-manage-workspace-settings",
        "Workspace Settings",
        "Workspace Settings Management",
        &[],
        &[res(ALL, &["workspaces"], ALL)],
    ),
    template(
        "role-template-view-workspace-settings",
        "Workspace Settings",
        "Workspace Settings View",
        &[],
        &[res(ALL, &["workspaces"], READ)],
    ),
    template(
        "role-template-manage-groups",
        "Access Control",
        "Workspace Groups Management",
        &["role-template-view-groups", "role-template-view-roles"],
        &[res(
            ALL,
            &[
                "groups",
                "groupbindings",
                "rolebindings",
                "workspacerolebindings",
            ],
            ALL,
        )],
    ),
    template(
        "role-template-view-groups",
        "Access Control",
        "Workspace Groups View",
        &["role-template-view-roles"],
        &[res(
            ALL,
            &[
                "groups",
                "groupbindings",
                "roles",
                "rolebindings",
                "workspacerolebindings",
                "namespaces",
            ],
            READ,
        )],
    ),
];

/// The workspace role bases `admin`, `regular`, `viewer` and
/// `self-provisioner`, unbound to a workspace (no workspace label).
pub fn workspace_role_bases() -> Vec<WorkspaceRole> {
    WORKSPACE_BASES
        .iter()
        .map(RoleData::workspace_role)
        .collect()
}

/// The workspace roles of workspace `workspace`: each base as
/// `{workspace}-{base}`, labelled `kubesphere.io/workspace: {workspace}`.
pub fn workspace_roles(workspace: &str) -> Vec<WorkspaceRole> {
    WORKSPACE_BASES
        .iter()
        .map(|base| {
            let mut r = base.workspace_role();
            r.metadata.name = Some(workspace_role_name(workspace, base.name));
            r.metadata
                .labels
                .get_or_insert_with(BTreeMap::new)
                .insert(WORKSPACE_LABEL.to_owned(), workspace.to_owned());
            r
        })
        .collect()
}

/// The workspace role templates the workspace roles aggregate. They are
/// shared by all workspaces, so they carry no workspace label.
pub fn workspace_role_templates() -> Vec<WorkspaceRole> {
    WORKSPACE_TEMPLATES
        .iter()
        .map(RoleData::workspace_role)
        .collect()
}

// ---------------------------------------------------------------------------
// Namespace scope

const APP_WORKLOAD_RESOURCES: &[&str] = &[
    "services",
    "applications",
    "controllerrevisions",
    "deployments",
    "replicasets",
    "statefulsets",
    "daemonsets",
    "jobs",
    "cronjobs",
    "pods",
    "pods/log",
    "pods/containers",
    "ingresses",
    "router",
    "s2ibinaries",
    "s2ibinaries/file",
    "s2ibuilders",
    "s2ibuildertemplates",
    "s2iruns",
    "horizontalpodautoscalers",
];

/// API groups the namespace operator may change freely.
const OPERATOR_GROUPS: &[&str] = &[
    "",
    "apps",
    "extensions",
    "batch",
    "logging.kubesphere.io",
    "monitoring.kubesphere.io",
    "monitoring.coreos.com",
    "metering.kubesphere.io",
    "notification.kubesphere.io",
    "autoscaling",
    "alerting.kubesphere.io",
    "openpitrix.io",
    "app.k8s.io",
    "servicemesh.kubesphere.io",
    "operations.kubesphere.io",
    "devops.kubesphere.io",
    "resources.kubesphere.io",
    "config.istio.io",
    "events.k8s.io",
    "events.kubesphere.io",
    "snapshot.storage.k8s.io",
];

const NAMESPACE_BASES: &[RoleData] = &[
    role(
        "admin",
        "system",
        &[
            "role-template-view-members",
            "role-template-manage-members",
            "role-template-view-roles",
            "role-template-manage-roles",
            "role-template-view-app-workloads",
            "role-template-manage-app-workloads",
            "role-template-view-volumes",
            "role-template-manage-volumes",
            "role-template-view-snapshots",
            "role-template-manage-snapshots",
            "role-template-view-secrets",
            "role-template-manage-secrets",
            "role-template-view-serviceaccount",
            "role-template-manage-serviceaccount",
            "role-template-view-configmaps",
            "role-template-manage-configmaps",
            "role-template-view-alerting-policies",
            "role-template-manage-alerting-policies",
            "role-template-view-alerting-messages",
            "role-template-manage-alerting-messages",
            "role-template-view-custom-monitoring",
            "role-template-manage-custom-monitoring",
            "role-template-manage-project-settings",
        ],
        &[res(ALL, ALL, ALL)],
    ),
    role(
        "operator",
        "system",
        &[
            "role-template-view-members",
            "role-template-view-roles",
            "role-template-view-app-workloads",
            "role-template-manage-app-workloads",
            "role-template-view-volumes",
            "role-template-manage-volumes",
            "role-template-view-snapshots",
            "role-template-manage-snapshots",
            "role-template-view-secrets",
            "role-template-manage-secrets",
            "role-template-view-serviceaccount",
            "role-template-manage-serviceaccount",
            "role-template-view-configmaps",
            "role-template-manage-configmaps",
            "role-template-view-alerting-policies",
            "role-template-manage-alerting-policies",
            "role-template-view-alerting-messages",
            "role-template-manage-alerting-messages",
            "role-template-view-custom-monitoring",
            "role-template-manage-custom-monitoring",
        ],
        &[res(ALL, ALL, READ), res(OPERATOR_GROUPS, ALL, ALL)],
    ),
    role(
        "viewer",
        "system",
        &[
            "role-template-view-members",
            "role-template-view-roles",
            "role-template-view-app-workloads",
            "role-template-view-custom-monitoring",
            "role-template-view-volumes",
            "role-template-view-snapshots",
            "role-template-view-secrets",
            "role-template-view-configmaps",
            "role-template-view-serviceaccount",
            "role-template-view-alerting-policies",
            "role-template-view-alerting-messages",
        ],
        &[res(ALL, ALL, READ)],
    ),
];

const NAMESPACE_TEMPLATES: &[RoleData] = &[
    template(
        "role-template-view-alerting-messages",
        "Monitoring & Alerting",
        "Alerting Messages View",
        &[],
        &[res(&["alerting.kubesphere.io"], ALL, READ)],
    ),
    template(
        "role-template-manage-alerting-messages",
        "Monitoring & Alerting",
        "Alerting Messages Management",
        &["role-template-view-alerting-messages"],
        &[res(&["alerting.kubesphere.io"], ALL, ALL)],
    ),
    template(
        "role-template-view-alerting-policies",
        "Monitoring & Alerting",
        "Alerting Policies View",
        &[],
        &[
            res(&["alerting.kubesphere.io"], ALL, READ),
            res(&["resources.kubesphere.io"], ALL, &["list"]),
        ],
    ),
    template(
        "role-template-manage-alerting-policies",
        "Monitoring & Alerting",
        "Alerting Policies Management",
        &["role-template-view-alerting-policies"],
        &[res(&["alerting.kubesphere.io"], ALL, ALL)],
    ),
    template(
        "role-template-view-custom-monitoring",
        "Monitoring & Alerting",
        "Custom Monitoring View",
        &[],
        &[res(MONITORING_GROUPS, ALL, READ)],
    ),
    template(
        "role-template-manage-custom-monitoring",
        "Monitoring & Alerting",
        "Custom Monitoring Management",
        &["role-template-view-custom-monitoring"],
        &[res(MONITORING_GROUPS, ALL, ALL)],
    ),
    template(
        "role-template-view-members",
        "Access Control",
        "Project Members View",
        &[],
        &[res(ALL, &["members", "rolebindings"], READ)],
    ),
    template(
        "role-template-manage-members",
        "Access Control",
        "Project Members Management",
        &["role-template-view-members", "role-template-view-roles"],
        &[res(ALL, &["members", "rolebindings"], ALL)],
    ),
    template(
        "role-template-view-basic",
        "",
        "",
        &[],
        &[res(
            ALL,
            &[
                "namespaces",
                "quotas",
                "abnormalworkloads",
                "workloads",
                "limitranges",
                "events",
            ],
            READ,
        )],
    ),
    template(
        "role-template-manage-project-settings",
        "Project Settings",
        "Project Settings",
        &[],
        &[res(ALL, ALL, ALL)],
    ),
    template(
        "role-template-view-roles",
        "Access Control",
        "Project Roles View",
        &["role-template-view-members"],
        &[res(ALL, &["roles"], READ)],
    ),
    template(
        "role-template-manage-roles",
        "Access Control",
        "Project Roles Management",
        &["role-template-view-roles"],
        &[res(ALL, &["roles"], ALL)],
    ),
    template(
        "role-template-view-app-workloads",
        "Application Workloads",
        "Application Workloads View",
        &[
            "role-template-view-volumes",
            "role-template-view-secrets",
            "role-template-view-configmaps",
        ],
        &[
            res(
                &[
                    "monitoring.kubesphere.io",
                    "metering.kubesphere.io",
                    "monitoring.coreos.com",
                    "servicemesh.kubesphere.io",
                ],
                ALL,
                READ,
            ),
            res(ALL, APP_WORKLOAD_RESOURCES, READ),
        ],
    ),
    template(
        "role-template-manage-app-workloads",
        "Application Workloads",
        "Application Workloads Management",
        &["role-template-view-app-workloads"],
        &[
            res(ALL, APP_WORKLOAD_RESOURCES, ALL),
            res(ALL, &["pods/exec", "workloads"], ALL),
            res(ALL, &["secrets"], &["list"]),
            res(&["servicemesh.kubesphere.io"], ALL, ALL),
        ],
    ),
    template(
        "role-template-view-configmaps",
        "Configuration Center",
        "ConfigMaps View",
        &[],
        &[res(ALL, &["configmaps"], READ)],
    ),
    template(
        "role-template-manage-configmaps",
        "Configuration Center",
        "ConfigMaps Management",
        &["role-template-view-configmaps"],
        &[res(ALL, &["configmaps"], ALL)],
    ),
    template(
        "role-template-view-secrets",
        "Configuration Center",
        "Secrets View",
        &[],
        &[res(ALL, &["secrets"], READ)],
    ),
    template(
        "role-template-manage-secrets",
        "Configuration Center",
        "Secrets Management",
        &["role-template-view-secrets"],
        &[res(ALL, &["secrets"], ALL)],
    ),
    template(
        "role-template-view-serviceaccount",
        "Configuration Center",
        "ServiceAccount View",
        &["role-template-view-roles", "role-template-view-secrets"],
        &[res(ALL, &["serviceaccounts"], READ)],
    ),
    template(
        "role-template-manage-serviceaccount",
        "Configuration Center",
        "ServiceAccount Management",
        &["role-template-view-serviceaccount"],
        &[res(ALL, &["serviceaccounts"], ALL)],
    ),
    template(
        "role-template-view-volumes",
        "Storage Management",
        "Volumes View",
        &["role-template-view-snapshots"],
        &[
            res(ALL, &["persistentvolumeclaims"], READ),
            res(ALL, &["pods"], &["list"]),
        ],
    ),
    template(
        "role-template-manage-volumes",
        "Storage Management",
        "Volumes Management",
        &[
            "role-template-view-volumes",
            "role-template-manage-snapshots",
        ],
        &[
            res(ALL, &["persistentvolumeclaims"], ALL),
            res(ALL, &["pods"], &["list"]),
        ],
    ),
    template(
        "role-template-view-snapshots",
        "Storage Management",
        "Volume Snapshots View",
        &[],
        &[res(ALL, &["volumesnapshots"], READ)],
    ),
    template(
        "role-template-manage-snapshots",
        "Storage Management",
        "Volume Snapshots Management",
        &["role-template-view-snapshots"],
        &[res(ALL, &["volumesnapshots"], ALL)],
    ),
];

/// The namespace roles `admin`, `operator` and `viewer`, in `namespace`
/// (or without a namespace, as templates to print).
pub fn namespace_roles(namespace: Option<&str>) -> Vec<Role> {
    NAMESPACE_BASES.iter().map(|r| r.role(namespace)).collect()
}

/// The namespace role templates the namespace roles aggregate, in
/// `namespace` (or without a namespace).
pub fn namespace_role_templates(namespace: Option<&str>) -> Vec<Role> {
    NAMESPACE_TEMPLATES
        .iter()
        .map(|r| r.role(namespace))
        .collect()
}
