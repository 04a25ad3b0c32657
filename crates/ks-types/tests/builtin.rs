//! The built-in roles: complete, valid, and their aggregation references
//! resolve within their scope.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::rbac::v1::PolicyRule;
use ks_types::builtin::{self, GLOBAL_ROLES, NAMESPACE_ROLES, WORKSPACE_ROLE_BASES};
use ks_types::meta::{self, aggregation_roles, is_role_template, workspace_of};
use ks_types::validation::{FieldPath, Validate, validate_rules};
use ks_types::{GlobalRole, WorkspaceRole, decode};

fn names<'a>(
    metas: impl IntoIterator<Item = &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
) -> Vec<String> {
    metas.into_iter().map(|m| m.name.clone().unwrap()).collect()
}

fn assert_resolves(scope: &str, aggregating: &[(String, Vec<String>)], templates: &[String]) {
    let known: BTreeSet<&String> = templates.iter().collect();
    for (role, refs) in aggregating {
        assert!(!refs.is_empty(), "{scope} role {role} aggregates nothing");
        for r in refs {
            assert!(
                known.contains(r),
                "{scope} role {role} aggregates unknown template {r}"
            );
        }
        let unique: BTreeSet<&String> = refs.iter().collect();
        assert_eq!(
            unique.len(),
            refs.len(),
            "{scope} role {role} lists a template twice"
        );
    }
}

fn allows(rules: &[PolicyRule], group: &str, resource: &str, verb: &str) -> bool {
    let has = |list: &Option<Vec<String>>, v: &str| {
        list.as_deref()
            .unwrap_or_default()
            .iter()
            .any(|x| x == "*" || x == v)
    };
    rules.iter().any(|r| {
        has(&r.api_groups, group)
            && has(&r.resources, resource)
            && r.verbs.iter().any(|v| v == "*" || v == verb)
    })
}

#[test]
fn global_roles_are_complete_and_valid() {
    let roles = builtin::global_roles();
    assert_eq!(names(roles.iter().map(|r| &r.metadata)), GLOBAL_ROLES);
    let templates = builtin::global_role_templates();
    for r in roles.iter().chain(&templates) {
        assert!(
            r.validate().is_empty(),
            "{:?}: {}",
            r.metadata.name,
            r.validate()
        );
    }
    assert!(templates.iter().all(|t| is_role_template(&t.metadata)));
    assert!(roles.iter().all(|t| !is_role_template(&t.metadata)));
    let aggregating: Vec<_> = roles
        .iter()
        .map(|r| {
            (
                r.metadata.name.clone().unwrap(),
                aggregation_roles(&r.metadata).unwrap().unwrap(),
            )
        })
        .collect();
    assert_resolves(
        "global",
        &aggregating,
        &names(templates.iter().map(|t| &t.metadata)),
    );

    let admin = &roles[0];
    assert!(allows(&admin.rules, "apps", "deployments", "delete"));
    assert!(admin.rules.iter().any(|r| r.non_resource_urls.is_some()));
    let regular = &roles[1];
    assert!(regular.rules.is_empty());
    let users_manager = &roles[2];
    assert!(allows(
        &users_manager.rules,
        "iam.kubesphere.io",
        "users",
        "create"
    ));
    assert!(!allows(
        &users_manager.rules,
        "tenant.kubesphere.io",
        "workspaces",
        "create"
    ));
    let workspaces_manager = &roles[3];
    assert!(allows(
        &workspaces_manager.rules,
        "tenant.kubesphere.io",
        "workspaces",
        "delete"
    ));
    assert!(allows(
        &workspaces_manager.rules,
        "iam.kubesphere.io",
        "users",
        "list"
    ));
    assert!(!allows(
        &workspaces_manager.rules,
        "iam.kubesphere.io",
        "users",
        "delete"
    ));
}

#[test]
fn workspace_roles_are_instantiated_per_workspace() {
    let roles = builtin::workspace_roles("demo");
    let expected: Vec<String> = WORKSPACE_ROLE_BASES
        .iter()
        .map(|b| format!("demo-{b}"))
        .collect();
    assert_eq!(names(roles.iter().map(|r| &r.metadata)), expected);
    for r in &roles {
        assert_eq!(workspace_of(&r.metadata), Some("demo"));
        assert_eq!(
            meta::annotation(&r.metadata, meta::CREATOR_ANNOTATION),
            Some("system")
        );
        assert!(
            r.validate().is_empty(),
            "{:?}: {}",
            r.metadata.name,
            r.validate()
        );
    }
    // The unbound bases have no workspace label, so they are not valid
    // workspace roles by themselves; templates are exempt from the label.
    for base in builtin::workspace_role_bases() {
        assert!(workspace_of(&base.metadata).is_none());
        assert_eq!(
            base.validate().fields(),
            ["metadata.labels[kubesphere.io/workspace]"]
        );
    }
    let templates = builtin::workspace_role_templates();
    for t in &templates {
        assert!(is_role_template(&t.metadata));
        assert!(
            t.validate().is_empty(),
            "{:?}: {}",
            t.metadata.name,
            t.validate()
        );
    }
    let aggregating: Vec<_> = roles
        .iter()
        .map(|r| {
            (
                r.metadata.name.clone().unwrap(),
                aggregation_roles(&r.metadata).unwrap().unwrap(),
            )
        })
        .collect();
    assert_resolves(
        "workspace",
        &aggregating,
        &names(templates.iter().map(|t| &t.metadata)),
    );

    let viewer = &roles[2];
    assert!(allows(&viewer.rules, "apps", "deployments", "list"));
    assert!(!allows(&viewer.rules, "apps", "deployments", "delete"));
    let self_provisioner = &roles[3];
    assert!(allows(&self_provisioner.rules, "", "namespaces", "create"));
    assert!(!allows(&self_provisioner.rules, "", "namespaces", "delete"));
}

#[test]
fn namespace_roles_and_templates() {
    let roles = builtin::namespace_roles(Some("project-a"));
    assert_eq!(names(roles.iter().map(|r| &r.metadata)), NAMESPACE_ROLES);
    let templates = builtin::namespace_role_templates(Some("project-a"));
    for r in roles.iter().chain(&templates) {
        assert_eq!(r.metadata.namespace.as_deref(), Some("project-a"));
        let errs = validate_rules(
            r.rules.as_deref().unwrap_or_default(),
            &FieldPath::new("rules"),
        );
        assert!(errs.is_empty(), "{:?}: {errs}", r.metadata.name);
        assert!(
            r.rules
                .iter()
                .flatten()
                .all(|rule| rule.non_resource_urls.is_none())
        );
    }
    let aggregating: Vec<_> = roles
        .iter()
        .map(|r| {
            (
                r.metadata.name.clone().unwrap(),
                aggregation_roles(&r.metadata).unwrap().unwrap(),
            )
        })
        .collect();
    assert_resolves(
        "namespace",
        &aggregating,
        &names(templates.iter().map(|t| &t.metadata)),
    );
    let operator = roles[1].rules.as_deref().unwrap();
    assert!(allows(operator, "apps", "deployments", "delete"));
    assert!(!allows(
        operator,
        "rbac.authorization.k8s.io",
        "roles",
        "delete"
    ));
    assert!(
        builtin::namespace_roles(None)
            .iter()
            .all(|r| r.metadata.namespace.is_none())
    );
}

#[test]
fn builtin_roles_round_trip_strictly() {
    for r in builtin::global_roles()
        .into_iter()
        .chain(builtin::global_role_templates())
    {
        let back: GlobalRole =
            decode::from_yaml_strict(decode::to_yaml(&r).unwrap().as_bytes()).unwrap();
        assert_eq!(back, r);
    }
    for r in builtin::workspace_roles("ws")
        .into_iter()
        .chain(builtin::workspace_role_templates())
    {
        let back: WorkspaceRole =
            decode::from_json_strict(decode::to_json(&r).unwrap().as_bytes()).unwrap();
        assert_eq!(back, r);
    }
}

/// Every template carries the console's rules as KubeSphere 3.4 ships them
/// (a JSON map from a console module to `view`, `manage` or `create`),
/// except the one ks-installer ships without; roles that are not
/// templates carry none (the console reads the templates they aggregate).
#[test]
fn templates_carry_the_console_rules() {
    const RULES: &str = "iam.kubesphere.io/role-template-rules";
    let rules_of = |meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
        meta.annotations
            .as_ref()
            .and_then(|a| a.get(RULES))
            .map(|v| serde_json::from_str::<BTreeMap<String, String>>(v).expect(v))
    };
    let mut metas: Vec<_> = builtin::global_role_templates()
        .into_iter()
        .map(|r| r.metadata)
        .collect();
    metas.extend(
        builtin::workspace_role_templates()
            .into_iter()
            .map(|r| r.metadata),
    );
    metas.extend(
        builtin::namespace_role_templates(Some("ns"))
            .into_iter()
            .map(|r| r.metadata),
    );
    for meta in &metas {
        let name = meta.name.as_deref().unwrap();
        match rules_of(meta) {
            Some(rules) => {
                assert!(!rules.is_empty(), "{name}");
                assert!(
                    rules
                        .values()
                        .all(|v| ["view", "manage", "create"].contains(&v.as_str())),
                    "{name}: {rules:?}"
                );
            }
            None => assert_eq!(name, "role-template-manage-alerting-messages"),
        }
    }
    let find = |name: &str| {
        metas
            .iter()
            .find(|m| m.name.as_deref() == Some(name))
            .and_then(rules_of)
            .unwrap()
    };
    assert_eq!(
        find("role-template-manage-workspaces"),
        BTreeMap::from([("workspaces".to_owned(), "manage".to_owned())])
    );
    for role in builtin::global_roles() {
        assert!(
            rules_of(&role.metadata).is_none(),
            "{:?}",
            role.metadata.name
        );
    }
    for role in builtin::workspace_roles("ws") {
        assert!(
            rules_of(&role.metadata).is_none(),
            "{:?}",
            role.metadata.name
        );
    }
}
