//! Property tests: every kind round-trips through JSON and YAML; generated
//! valid objects pass validation, and each single rule-breaking mutation is
//! rejected with an error at exactly the broken field.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::rbac::v1::{PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use ks_types::cluster::{ClusterCondition, ClusterConditionType, ConditionStatus, ConnectionType};
use ks_types::iam::{GroupRef, LoginRecordSpec, UserSpec, UserStatus};
use ks_types::meta::{AGGREGATION_ROLES_ANNOTATION, WORKSPACE_LABEL};
use ks_types::tenant::{
    ClusterOverride, FederatedWorkspaceSpec, GenericClusterReference, GenericOverrideItem,
    GenericPlacementFields, WorkspaceSpec, WorkspaceTemplateSpec,
};
use ks_types::validation::{SUPPORTED_LANGUAGES, Validate};
use ks_types::{
    Cluster, GlobalRole, GlobalRoleBinding, Group, GroupBinding, KindInfo, LoginRecord, LoginType,
    User, UserList, UserState, Workspace, WorkspaceRole, WorkspaceRoleBinding, WorkspaceTemplate,
    decode,
};
use proptest::collection::{btree_map, btree_set, vec};
use proptest::option;
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

// ---------------------------------------------------------------------------
// Building blocks

fn dns_label() -> impl Strategy<Value = String> {
    "[a-z]([a-z0-9-]{0,12}[a-z0-9])?"
}

/// Free text, including strings YAML could mistake for other types.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,20}",
        Just(String::new()),
        prop::sample::select(vec![
            "true",
            "null",
            "~",
            "1.5",
            "0x1F",
            "yes",
            "- a",
            "a: b",
            "#c",
            "'q'",
            "\"d\"",
            "2021-05-12T05:50:07Z"
        ])
        .prop_map(str::to_owned),
    ]
}

fn time() -> impl Strategy<Value = Time> {
    (0i64..4_102_444_800).prop_map(|s| Time(Timestamp::from_second(s).unwrap()))
}

fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[A-Za-z0-9]([-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?"
    ]
}

fn label_key() -> impl Strategy<Value = String> {
    "([a-z]{1,6}\\.io/)?[a-z][a-z0-9]{0,8}"
}

/// Valid metadata with the given name; extra labels never use
/// `kubesphere.io/workspace` or the role-template label.
fn meta(name: impl Strategy<Value = String>) -> impl Strategy<Value = ObjectMeta> {
    (
        name,
        option::of(btree_map(label_key(), label_value(), 0..3)),
        option::of(btree_map(label_key(), text(), 0..3)),
        option::of(time()),
    )
        .prop_map(|(name, labels, annotations, created)| {
            let strip = |m: BTreeMap<String, String>| {
                m.into_iter()
                    .filter(|(k, _)| {
                        !k.starts_with("kubesphere.io/") && !k.starts_with("iam.kubesphere.io/")
                    })
                    .collect::<BTreeMap<_, _>>()
            };
            ObjectMeta {
                name: Some(name),
                labels: labels.map(strip),
                annotations: annotations.map(strip),
                creation_timestamp: created,
                ..Default::default()
            }
        })
}

fn with_label(mut m: ObjectMeta, key: &str, value: &str) -> ObjectMeta {
    m.labels
        .get_or_insert_with(BTreeMap::new)
        .insert(key.into(), value.into());
    m
}

fn strings(items: Vec<String>) -> Option<Vec<String>> {
    Some(items)
}

fn rule() -> impl Strategy<Value = PolicyRule> {
    let verbs = vec(
        prop::sample::select(vec!["get", "list", "watch", "create", "*"]),
        1..4,
    )
    .prop_map(|v| v.into_iter().map(str::to_owned).collect::<Vec<_>>());
    prop_oneof![
        (
            vec("[a-z.]{0,10}", 1..3),
            vec("[a-z*/]{1,12}", 0..3),
            option::of(vec("[a-z-]{1,8}", 1..2)),
            verbs.clone()
        )
            .prop_map(|(g, r, names, verbs)| PolicyRule {
                api_groups: strings(g),
                resources: strings(r),
                resource_names: names,
                non_resource_urls: None,
                verbs,
            }),
        (vec("/[a-z/]{0,10}\\*?", 1..3), verbs).prop_map(|(urls, verbs)| PolicyRule {
            non_resource_urls: strings(urls),
            verbs,
            ..Default::default()
        }),
    ]
}

fn subject() -> impl Strategy<Value = Subject> {
    prop_oneof![
        (
            prop::sample::select(vec!["User", "Group"]),
            "[a-z][a-z0-9:-]{0,10}"
        )
            .prop_map(|(kind, name)| Subject {
                api_group: Some("rbac.authorization.k8s.io".into()),
                kind: kind.into(),
                name,
                namespace: None,
            }),
        (dns_label(), dns_label()).prop_map(|(name, ns)| Subject {
            api_group: None,
            kind: "ServiceAccount".into(),
            name,
            namespace: Some(ns),
        }),
    ]
}

fn aggregation(meta: ObjectMeta, names: Option<Vec<String>>) -> ObjectMeta {
    let mut meta = meta;
    if let Some(names) = names {
        ks_types::meta::set_aggregation_roles(&mut meta, &names);
    }
    meta
}

// ---------------------------------------------------------------------------
// Valid objects, one strategy per kind

fn user() -> impl Strategy<Value = User> {
    let spec = (
        prop_oneof![
            Just(String::new()),
            "[a-z0-9_+-]{1,8}(\\.[a-z0-9]{1,4})?@[a-z]{1,8}\\.(io|com)"
        ],
        prop_oneof![
            Just(String::new()),
            prop::sample::select(SUPPORTED_LANGUAGES.to_vec()).prop_map(str::to_owned)
        ],
        text(),
        text(),
        vec(dns_label(), 0..3),
        prop_oneof![Just(String::new()), "[a-z]{3,8}[A-Z]{3,8}[0-9]{3,8}"],
    )
        .prop_map(
            |(email, lang, description, display_name, groups, encrypted_password)| UserSpec {
                email,
                lang,
                description,
                display_name,
                groups,
                encrypted_password,
            },
        );
    let status = (
        option::of(prop::sample::select(vec![
            UserState::Active,
            UserState::Disabled,
            UserState::AuthLimitExceeded,
        ])),
        text(),
        option::of(time()),
        option::of(time()),
    )
        .prop_map(
            |(state, reason, last_transition_time, last_login_time)| UserStatus {
                state,
                reason,
                last_transition_time,
                last_login_time,
            },
        );
    (meta(dns_label()), spec, status).prop_map(|(metadata, spec, status)| User {
        metadata,
        spec,
        status,
    })
}

fn global_role() -> impl Strategy<Value = GlobalRole> {
    (
        meta(dns_label()),
        option::of(vec(dns_label(), 0..3)),
        vec(rule(), 0..4),
    )
        .prop_map(|(m, agg, rules)| GlobalRole {
            metadata: aggregation(m, agg),
            rules,
        })
}

fn workspace_role() -> impl Strategy<Value = WorkspaceRole> {
    (meta(dns_label()), dns_label(), vec(rule(), 0..4)).prop_map(|(m, ws, rules)| WorkspaceRole {
        metadata: with_label(m, WORKSPACE_LABEL, &ws),
        rules,
    })
}

fn role_ref(kind: &'static str) -> impl Strategy<Value = RoleRef> {
    (
        prop::sample::select(vec!["iam.kubesphere.io", "iam.kubesphere.io/v1alpha2"]),
        dns_label(),
    )
        .prop_map(move |(group, name)| RoleRef {
            api_group: group.into(),
            kind: kind.into(),
            name,
        })
}

fn global_role_binding() -> impl Strategy<Value = GlobalRoleBinding> {
    (
        meta(dns_label()),
        vec(subject(), 0..3),
        role_ref("GlobalRole"),
    )
        .prop_map(|(metadata, subjects, role_ref)| GlobalRoleBinding {
            metadata,
            subjects,
            role_ref,
        })
}

fn workspace_role_binding() -> impl Strategy<Value = WorkspaceRoleBinding> {
    (
        meta(dns_label()),
        dns_label(),
        vec(subject(), 0..3),
        role_ref("WorkspaceRole"),
    )
        .prop_map(|(m, ws, subjects, role_ref)| WorkspaceRoleBinding {
            metadata: with_label(m, WORKSPACE_LABEL, &ws),
            subjects,
            role_ref,
        })
}

fn login_record() -> impl Strategy<Value = LoginRecord> {
    let spec = (
        prop::sample::select(vec![LoginType::Basic, LoginType::OAuth, LoginType::Token]),
        text(),
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
        text(),
        any::<bool>(),
        text(),
    )
        .prop_map(
            |(type_, provider, source_ip, user_agent, success, reason)| LoginRecordSpec {
                type_,
                provider,
                source_ip,
                user_agent,
                success,
                reason,
            },
        );
    (meta(dns_label()), spec).prop_map(|(metadata, spec)| LoginRecord { metadata, spec })
}

fn group() -> impl Strategy<Value = Group> {
    (meta(dns_label()), option::of(dns_label())).prop_map(|(m, ws)| Group {
        metadata: match ws {
            Some(ws) => with_label(m, WORKSPACE_LABEL, &ws),
            None => m,
        },
        ..Default::default()
    })
}

fn group_binding() -> impl Strategy<Value = GroupBinding> {
    (
        meta(dns_label()),
        dns_label(),
        btree_set(dns_label(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(metadata, name, users, typed)| GroupBinding {
            metadata,
            group_ref: GroupRef {
                api_group: if typed {
                    "iam.kubesphere.io".into()
                } else {
                    String::new()
                },
                kind: if typed { "Group".into() } else { String::new() },
                name,
            },
            users: users.into_iter().collect(),
        })
}

fn workspace_spec() -> impl Strategy<Value = WorkspaceSpec> {
    (
        prop_oneof![Just(String::new()), dns_label()],
        option::of(any::<bool>()),
    )
        .prop_map(|(manager, network_isolation)| WorkspaceSpec {
            manager,
            network_isolation,
        })
}

fn workspace() -> impl Strategy<Value = Workspace> {
    (meta(dns_label()), workspace_spec()).prop_map(|(metadata, spec)| Workspace {
        metadata,
        spec,
        ..Default::default()
    })
}

fn workspace_template() -> impl Strategy<Value = WorkspaceTemplate> {
    let over = (
        prop::sample::select(vec!["", "add", "remove", "replace"]),
        "/[a-z/]{0,12}",
        option::of(prop_oneof![
            text().prop_map(serde_json::Value::from),
            any::<i32>().prop_map(serde_json::Value::from)
        ]),
    )
        .prop_map(|(op, path, value)| ClusterOverride {
            op: op.into(),
            path,
            value,
        });
    let item = (dns_label(), vec(over, 0..3)).prop_map(|(cluster_name, cluster_overrides)| {
        GenericOverrideItem {
            cluster_name,
            cluster_overrides,
        }
    });
    let selector = option::of(
        option::of(btree_map(label_key(), label_value(), 0..3)).prop_map(|match_labels| {
            LabelSelector {
                match_labels,
                match_expressions: None,
            }
        }),
    );
    let template_meta =
        option::of(btree_map(label_key(), label_value(), 0..3)).prop_map(|labels| ObjectMeta {
            labels,
            ..Default::default()
        });
    (
        meta(dns_label()),
        template_meta,
        workspace_spec(),
        btree_set(dns_label(), 0..3),
        selector,
        vec(item, 0..2),
    )
        .prop_map(
            |(metadata, tmeta, tspec, clusters, cluster_selector, overrides)| WorkspaceTemplate {
                metadata,
                spec: FederatedWorkspaceSpec {
                    template: WorkspaceTemplateSpec {
                        metadata: tmeta,
                        spec: tspec,
                    },
                    placement: GenericPlacementFields {
                        clusters: clusters
                            .into_iter()
                            .map(|name| GenericClusterReference { name })
                            .collect(),
                        cluster_selector,
                    },
                    overrides,
                },
            },
        )
}

fn cluster() -> impl Strategy<Value = Cluster> {
    let url = prop_oneof![
        Just(String::new()),
        "https?://[a-z0-9.]{1,12}(:[0-9]{2,5})?"
    ];
    let conn = (
        prop::sample::select(vec![
            None,
            Some(ConnectionType::Proxy),
            Some(ConnectionType::Direct),
        ]),
        url.clone(),
        url.clone(),
        url,
        vec(any::<u8>(), 1..40),
        text(),
        any::<u16>(),
        any::<u16>(),
    );
    let condition_types = vec![
        ClusterConditionType::Initialized,
        ClusterConditionType::AgentAvailable,
        ClusterConditionType::Ready,
        ClusterConditionType::KsCoreReady,
    ];
    let condition = (
        option::of(time()),
        option::of(time()),
        text(),
        text(),
        prop::sample::select(vec![
            ConditionStatus::True,
            ConditionStatus::False,
            ConditionStatus::Unknown,
        ]),
    );
    let status = (
        prop::sample::subsequence(condition_types, 0..4),
        vec(condition, 4),
        text(),
        any::<i64>(),
        vec(dns_label(), 0..3),
        option::of(text()),
        btree_map("[a-z]{1,8}", any::<bool>(), 0..3),
        text(),
    );
    let flags = (any::<bool>(), any::<bool>(), any::<bool>(), text());
    (meta(dns_label()), conn, flags, status).prop_map(|(metadata, conn, flags, status)| {
        let (type_, ks, k8s, ext, kubeconfig, token, p1, p2) = conn;
        let (types, conds, version, node_count, zones, region, configz, uid) = status;
        let mut c = Cluster {
            metadata,
            ..Default::default()
        };
        c.spec.join_federation = flags.0;
        c.spec.enable = flags.1;
        c.spec.external_kube_api_enabled = flags.2;
        c.spec.provider = flags.3;
        c.spec.connection.type_ = type_;
        c.spec.connection.kubesphere_api_endpoint = ks;
        c.spec.connection.kubernetes_api_endpoint = k8s;
        c.spec.connection.external_kubernetes_api_endpoint = ext;
        c.spec.connection.kubeconfig = ByteString(kubeconfig);
        c.spec.connection.token = token;
        c.spec.connection.kubernetes_api_server_port = p1;
        c.spec.connection.kubesphere_api_server_port = p2;
        c.status.conditions = types
            .into_iter()
            .zip(conds)
            .map(
                |(type_, (u, t, reason, message, status))| ClusterCondition {
                    type_,
                    status,
                    last_update_time: u,
                    last_transition_time: t,
                    reason,
                    message,
                },
            )
            .collect();
        c.status.kubernetes_version = version;
        c.status.node_count = node_count;
        c.status.zones = zones;
        c.status.region = region;
        c.status.configz = configz;
        c.status.uid = uid;
        c
    })
}

// ---------------------------------------------------------------------------
// Round trips

fn round_trip<K>(object: &K) -> Result<(), TestCaseError>
where
    K: Serialize + DeserializeOwned + KindInfo + PartialEq + std::fmt::Debug,
{
    let json = decode::to_json(object).unwrap();
    let from_json: K = decode::from_json_strict(json.as_bytes())
        .map_err(|e| TestCaseError::fail(format!("{e}\n{json}")))?;
    prop_assert_eq!(&from_json, object, "JSON: {}", json);
    let yaml = decode::to_yaml(object).unwrap();
    let from_yaml: K = decode::from_yaml_strict(yaml.as_bytes())
        .map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?;
    prop_assert_eq!(&from_yaml, object, "YAML: {}", yaml);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn prop_user_round_trips(o in user()) { round_trip(&o)?; }
    #[test]
    fn prop_user_list_round_trips(items in vec(user(), 0..3)) { round_trip(&UserList::from(items))?; }
    #[test]
    fn prop_global_role_round_trips(o in global_role()) { round_trip(&o)?; }
    #[test]
    fn prop_workspace_role_round_trips(o in workspace_role()) { round_trip(&o)?; }
    #[test]
    fn prop_global_role_binding_round_trips(o in global_role_binding()) { round_trip(&o)?; }
    #[test]
    fn prop_workspace_role_binding_round_trips(o in workspace_role_binding()) { round_trip(&o)?; }
    #[test]
    fn prop_login_record_round_trips(o in login_record()) { round_trip(&o)?; }
    #[test]
    fn prop_group_round_trips(o in group()) { round_trip(&o)?; }
    #[test]
    fn prop_group_binding_round_trips(o in group_binding()) { round_trip(&o)?; }
    #[test]
    fn prop_workspace_round_trips(o in workspace()) { round_trip(&o)?; }
    #[test]
    fn prop_workspace_template_round_trips(o in workspace_template()) { round_trip(&o)?; }
    #[test]
    fn prop_cluster_round_trips(o in cluster()) { round_trip(&o)?; }
}

// ---------------------------------------------------------------------------
// Validation: generated objects are valid; each mutation breaks one rule.

type Mutation<K> = (&'static str, fn(&mut K) -> String);

/// Asserts `object` is valid, and that each mutation makes it invalid with
/// every error at the path the mutation returns.
fn check_mutations<K: Validate + Clone + std::fmt::Debug>(
    object: &K,
    mutations: &[Mutation<K>],
) -> Result<(), TestCaseError> {
    let errors = object.validate();
    prop_assert!(
        errors.is_empty(),
        "generated object is invalid: {}\n{:?}",
        errors,
        object
    );
    for (name, mutate) in mutations {
        let mut broken = object.clone();
        let path = mutate(&mut broken);
        let errors = broken.validate();
        prop_assert!(!errors.is_empty(), "mutation {:?} was accepted", name);
        for e in &errors {
            prop_assert_eq!(&e.field, &path, "mutation {:?}: {}", name, errors);
        }
    }
    Ok(())
}

fn set_label<K: kube_core::Resource>(o: &mut K, key: &str, value: &str) {
    o.meta_mut()
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(key.into(), value.into());
}

fn bad_name<K: kube_core::Resource>(o: &mut K) -> String {
    o.meta_mut().name = Some("Not_A_Name".into());
    "metadata.name".into()
}

fn namespaced<K: kube_core::Resource>(o: &mut K) -> String {
    o.meta_mut().namespace = Some("default".into());
    "metadata.namespace".into()
}

fn bad_label_value<K: kube_core::Resource>(o: &mut K) -> String {
    set_label(o, "app", "-x-");
    "metadata.labels[app]".into()
}

fn no_workspace<K: kube_core::Resource>(o: &mut K) -> String {
    if let Some(l) = o.meta_mut().labels.as_mut() {
        l.remove(WORKSPACE_LABEL);
    }
    format!("metadata.labels[{WORKSPACE_LABEL}]")
}

fn bad_rule_verbs(rules: &mut Vec<PolicyRule>) -> String {
    rules.push(PolicyRule {
        api_groups: Some(vec![String::new()]),
        verbs: vec![],
        ..Default::default()
    });
    format!("rules[{}].verbs", rules.len() - 1)
}

fn bad_subject(subjects: &mut Vec<Subject>) -> String {
    subjects.push(Subject {
        kind: "Robot".into(),
        name: "r2".into(),
        ..Default::default()
    });
    format!("subjects[{}].kind", subjects.len() - 1)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn prop_user_validation(o in user()) {
        check_mutations(&o, &[
            ("bad name", bad_name), ("namespaced", namespaced), ("bad label", bad_label_value),
            ("bad email", |u| { u.spec.email = "no-at-sign".into(); "spec.email".into() }),
            ("bad lang", |u| { u.spec.lang = "klingon".into(); "spec.lang".into() }),
            ("weak password", |u| { u.spec.encrypted_password = "weak".into(); "spec.password".into() }),
            ("unknown state", |u| { u.status.state = Some(UserState::Other("Frozen".into())); "status.state".into() }),
            ("empty group", |u| { u.spec.groups.push(String::new()); format!("spec.groups[{}]", u.spec.groups.len() - 1) }),
        ])?;
    }

    #[test]
    fn prop_global_role_validation(o in global_role()) {
        check_mutations(&o, &[
            ("bad name", bad_name),
            ("no verbs", |r| bad_rule_verbs(&mut r.rules)),
            ("no api groups", |r| { r.rules.push(PolicyRule { resources: Some(vec!["pods".into()]), verbs: vec!["get".into()], ..Default::default() }); format!("rules[{}].apiGroups", r.rules.len() - 1) }),
            ("mixed rule", |r| { r.rules.push(PolicyRule { api_groups: Some(vec![String::new()]), non_resource_urls: Some(vec!["/x".into()]), verbs: vec!["get".into()], ..Default::default() }); format!("rules[{}].nonResourceURLs", r.rules.len() - 1) }),
            ("bad aggregation", |r| { r.metadata.annotations.get_or_insert_with(BTreeMap::new).insert(AGGREGATION_ROLES_ANNOTATION.into(), "{".into()); format!("metadata.annotations[{AGGREGATION_ROLES_ANNOTATION}]") }),
        ])?;
    }

    #[test]
    fn prop_workspace_role_validation(o in workspace_role()) {
        check_mutations(&o, &[
            ("no workspace", no_workspace),
            ("bad workspace", |r| { set_label(r, WORKSPACE_LABEL, "Bad.WS"); format!("metadata.labels[{WORKSPACE_LABEL}]") }),
            ("no verbs", |r| bad_rule_verbs(&mut r.rules)),
        ])?;
    }

    #[test]
    fn prop_global_role_binding_validation(o in global_role_binding()) {
        check_mutations(&o, &[
            ("workspace role ref", |b| { b.role_ref.kind = "WorkspaceRole".into(); "roleRef.kind".into() }),
            ("rbac role ref", |b| { b.role_ref.api_group = "rbac.authorization.k8s.io".into(); "roleRef.apiGroup".into() }),
            ("empty role name", |b| { b.role_ref.name = String::new(); "roleRef.name".into() }),
            ("bad subject", |b| bad_subject(&mut b.subjects)),
            ("bad name", bad_name),
        ])?;
    }

    #[test]
    fn prop_workspace_role_binding_validation(o in workspace_role_binding()) {
        check_mutations(&o, &[
            ("global role ref", |b| { b.role_ref.kind = "GlobalRole".into(); "roleRef.kind".into() }),
            ("no workspace", no_workspace),
            ("bad subject", |b| bad_subject(&mut b.subjects)),
        ])?;
    }

    #[test]
    fn prop_login_record_validation(o in login_record()) {
        check_mutations(&o, &[
            ("unknown type", |r| { r.spec.type_ = LoginType::Other("SAML".into()); "spec.type".into() }),
            ("bad name", bad_name),
        ])?;
    }

    #[test]
    fn prop_group_validation(o in group()) {
        check_mutations(&o, &[
            ("bad name", bad_name),
            ("bad workspace", |g| { set_label(g, WORKSPACE_LABEL, "-ws"); format!("metadata.labels[{WORKSPACE_LABEL}]") }),
        ])?;
    }

    #[test]
    fn prop_group_binding_validation(o in group_binding()) {
        check_mutations(&o, &[
            ("no group", |b| { b.group_ref.name = String::new(); "groupRef.name".into() }),
            ("wrong kind", |b| { b.group_ref.kind = "User".into(); "groupRef.kind".into() }),
            ("duplicate user", |b| { b.users.push("dup".into()); b.users.push("dup".into()); format!("users[{}]", b.users.len() - 1) }),
        ])?;
    }

    #[test]
    fn prop_workspace_validation(o in workspace()) {
        check_mutations(&o, &[
            ("dotted name", |w| { w.metadata.name = Some("a.b".into()); "metadata.name".into() }),
            ("bad manager", |w| { w.spec.manager = "Bad Manager".into(); "spec.manager".into() }),
        ])?;
    }

    #[test]
    fn prop_workspace_template_validation(o in workspace_template()) {
        check_mutations(&o, &[
            ("duplicate cluster", |t| {
                let c = &mut t.spec.placement.clusters;
                c.push(GenericClusterReference { name: "dup".into() });
                c.push(GenericClusterReference { name: "dup".into() });
                format!("spec.placement.clusters[{}].name", c.len() - 1)
            }),
            ("bad op", |t| {
                t.spec.overrides.push(GenericOverrideItem {
                    cluster_name: "c".into(),
                    cluster_overrides: vec![ClusterOverride { op: "move".into(), path: "/a".into(), value: None }],
                });
                format!("spec.overrides[{}].clusterOverrides[0].op", t.spec.overrides.len() - 1)
            }),
            ("bad manager", |t| { t.spec.template.spec.manager = "-".into(); "spec.template.spec.manager".into() }),
        ])?;
    }

    #[test]
    fn prop_cluster_validation(o in cluster()) {
        check_mutations(&o, &[
            ("direct without kubeconfig", |c| {
                c.spec.connection.type_ = Some(ConnectionType::Direct);
                c.spec.connection.kubeconfig = ByteString(vec![]);
                "spec.connection.kubeconfig".into()
            }),
            ("unknown connection type", |c| { c.spec.connection.type_ = Some(ConnectionType::Other("vpn".into())); "spec.connection.type".into() }),
            ("bad endpoint", |c| { c.spec.connection.kubernetes_api_endpoint = "ftp://x".into(); "spec.connection.kubernetesAPIEndpoint".into() }),
            ("bad condition status", |c| {
                c.status.conditions.push(ClusterCondition {
                    type_: ClusterConditionType::Other("Custom".into()),
                    status: ConditionStatus::Other("Maybe".into()),
                    last_update_time: None,
                    last_transition_time: None,
                    reason: String::new(),
                    message: String::new(),
                });
                format!("status.conditions[{}].status", c.status.conditions.len() - 1)
            }),
            ("bad name", bad_name),
        ])?;
    }
}
