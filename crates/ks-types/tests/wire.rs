//! Wire compatibility: objects encode exactly as KubeSphere's Go types do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::rbac::v1::{PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use ks_types::cluster::{
    Cluster, ClusterCondition, ClusterConditionType, ConditionStatus, ConnectionType,
};
use ks_types::iam::{GroupRef, LoginRecordSpec};
use ks_types::tenant::{GenericClusterReference, WorkspaceSpec};
use ks_types::{
    Error, GlobalRole, GlobalRoleBinding, Group, GroupBinding, KindInfo, LoginRecord, LoginType,
    User, UserList, UserState, Workspace, WorkspaceRole, WorkspaceRoleBinding, WorkspaceTemplate,
    decode,
};
use kube_core::Resource;
use serde_json::{Value, json};

fn to_value<T: serde::Serialize>(t: &T) -> Value {
    serde_json::from_str(&decode::to_json(t).unwrap()).unwrap()
}

fn named(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        ..Default::default()
    }
}

/// The User of issue 3: YAML in, JSON out, equal to the Go wire form.
#[test]
fn user_example_yaml_to_json() {
    let yaml = br#"
apiVersion: iam.kubesphere.io/v1alpha2
kind: User
metadata:
  name: admin
  annotations:
    iam.kubesphere.io/last-password-change-time: "2021-05-12T05:50:07Z"
spec:
  email: admin@kubesphere.io
  lang: zh
  description: description
  password: $2a$10$w312tzLTvXObnfEYiIrk9u5Nu/reJpwQeI66vrM1XJETWtpjd1/q2
status:
  lastLoginTime: "2021-06-08T06:37:36Z"
  state: Active
"#;
    let user: User = decode::from_yaml_strict(yaml).unwrap();
    assert_eq!(user.status.state, Some(UserState::Active));
    assert_eq!(
        user.spec.encrypted_password,
        "$2a$10$w312tzLTvXObnfEYiIrk9u5Nu/reJpwQeI66vrM1XJETWtpjd1/q2"
    );
    let expected = json!({
        "apiVersion": "iam.kubesphere.io/v1alpha2",
        "kind": "User",
        "metadata": {
            "name": "admin",
            "annotations": {
                "iam.kubesphere.io/last-password-change-time": "2021-05-12T05:50:07Z"
            }
        },
        "spec": {
            "email": "admin@kubesphere.io",
            "lang": "zh",
            "description": "description",
            "password": "$2a$10$w312tzLTvXObnfEYiIrk9u5Nu/reJpwQeI66vrM1XJETWtpjd1/q2"
        },
        "status": {
            "lastLoginTime": "2021-06-08T06:37:36Z",
            "state": "Active"
        }
    });
    assert_eq!(to_value(&user), expected);
    // And back again, through JSON.
    let again: User = decode::from_json_strict(expected.to_string().as_bytes()).unwrap();
    assert_eq!(again, user);
}

#[test]
fn roles_keep_rules_at_the_top_level() {
    let rule = PolicyRule {
        api_groups: Some(vec!["iam.kubesphere.io".into()]),
        resources: Some(vec!["users".into()]),
        verbs: vec!["get".into(), "list".into()],
        ..Default::default()
    };
    let role = GlobalRole {
        metadata: named("users-viewer"),
        rules: vec![rule.clone()],
    };
    assert_eq!(
        to_value(&role),
        json!({
            "apiVersion": "iam.kubesphere.io/v1alpha2",
            "kind": "GlobalRole",
            "metadata": {"name": "users-viewer"},
            "rules": [{"apiGroups": ["iam.kubesphere.io"], "resources": ["users"], "verbs": ["get", "list"]}]
        })
    );
    // `rules` has no omitempty in Go: an empty role still writes it.
    let empty = WorkspaceRole {
        metadata: named("ws-empty"),
        rules: vec![],
    };
    assert_eq!(to_value(&empty)["rules"], json!([]));
    // Go writes a nil slice as null; it reads as no rules.
    let from_go: WorkspaceRole =
        decode::from_json_strict(br#"{"metadata":{"name":"x"},"rules":null}"#).unwrap();
    assert!(from_go.rules.is_empty());
}

#[test]
fn bindings_keep_subjects_and_role_ref_at_the_top_level() {
    let binding = WorkspaceRoleBinding {
        metadata: ObjectMeta {
            name: Some("alice-demo-admin".into()),
            labels: Some(BTreeMap::from([(
                "kubesphere.io/workspace".into(),
                "demo".into(),
            )])),
            ..Default::default()
        },
        subjects: vec![Subject {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "User".into(),
            name: "alice".into(),
            namespace: None,
        }],
        role_ref: RoleRef {
            api_group: "iam.kubesphere.io".into(),
            kind: "WorkspaceRole".into(),
            name: "demo-admin".into(),
        },
    };
    assert_eq!(
        to_value(&binding),
        json!({
            "apiVersion": "iam.kubesphere.io/v1alpha2",
            "kind": "WorkspaceRoleBinding",
            "metadata": {"name": "alice-demo-admin", "labels": {"kubesphere.io/workspace": "demo"}},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}],
            "roleRef": {"apiGroup": "iam.kubesphere.io", "kind": "WorkspaceRole", "name": "demo-admin"}
        })
    );
    // `subjects` is omitempty; `roleRef` is always written.
    let bare = GlobalRoleBinding {
        metadata: named("nobody"),
        subjects: vec![],
        role_ref: RoleRef {
            api_group: "iam.kubesphere.io".into(),
            kind: "GlobalRole".into(),
            name: "platform-regular".into(),
        },
    };
    let v = to_value(&bare);
    assert!(v.get("subjects").is_none());
    assert_eq!(v["roleRef"]["name"], "platform-regular");
}

#[test]
fn empty_fields_are_omitted_like_go() {
    // Struct-typed fields (spec, status, metadata) are written even when
    // empty, as Go's encoding/json does; omitempty scalars are not.
    let user = User {
        metadata: named("bob"),
        ..Default::default()
    };
    assert_eq!(
        to_value(&user),
        json!({
            "apiVersion": "iam.kubesphere.io/v1alpha2",
            "kind": "User",
            "metadata": {"name": "bob"},
            "spec": {"email": ""},
            "status": {}
        })
    );
    assert_eq!(
        to_value(&Group::default()),
        json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "Group", "metadata": {}, "spec": {}, "status": {}})
    );
    assert_eq!(
        to_value(&GroupBinding::default()),
        json!({"apiVersion": "iam.kubesphere.io/v1alpha2", "kind": "GroupBinding", "metadata": {}, "groupRef": {}})
    );
    assert_eq!(
        to_value(&Cluster::default()),
        json!({"apiVersion": "cluster.kubesphere.io/v1alpha1", "kind": "Cluster", "metadata": {}, "spec": {"connection": {}}, "status": {}})
    );
}

#[test]
fn login_record_required_fields_are_always_written() {
    let record = LoginRecord {
        metadata: named("alice-login-1"),
        spec: LoginRecordSpec {
            type_: LoginType::Token,
            provider: String::new(),
            source_ip: "10.0.0.1".into(),
            user_agent: String::new(),
            success: false,
            reason: String::new(),
        },
    };
    assert_eq!(
        to_value(&record)["spec"],
        json!({"type": "Token", "provider": "", "sourceIP": "10.0.0.1", "success": false, "reason": ""})
    );
}

#[test]
fn workspace_and_template_wire_form() {
    let ws = Workspace {
        metadata: named("demo"),
        spec: WorkspaceSpec {
            manager: "admin".into(),
            network_isolation: Some(false),
        },
        ..Default::default()
    };
    assert_eq!(
        to_value(&ws),
        json!({
            "apiVersion": "tenant.kubesphere.io/v1alpha1",
            "kind": "Workspace",
            "metadata": {"name": "demo"},
            "spec": {"manager": "admin", "networkIsolation": false},
            "status": {}
        })
    );
    let mut wt = WorkspaceTemplate {
        metadata: named("demo"),
        ..Default::default()
    };
    wt.spec.template.spec.manager = "admin".into();
    wt.spec.placement.clusters = vec![GenericClusterReference {
        name: "host".into(),
    }];
    assert_eq!(
        to_value(&wt),
        json!({
            "apiVersion": "tenant.kubesphere.io/v1alpha2",
            "kind": "WorkspaceTemplate",
            "metadata": {"name": "demo"},
            "spec": {
                "template": {"metadata": {}, "spec": {"manager": "admin"}},
                "placement": {"clusters": [{"name": "host"}]}
            }
        })
    );
}

#[test]
fn cluster_kubeconfig_is_base64_and_acronyms_keep_go_names() {
    let mut cluster = Cluster {
        metadata: named("member"),
        ..Default::default()
    };
    cluster.spec.external_kube_api_enabled = true;
    cluster.spec.connection.type_ = Some(ConnectionType::Direct);
    cluster.spec.connection.kubeconfig = ByteString(b"apiVersion: v1".to_vec());
    cluster.spec.connection.kubernetes_api_endpoint = "https://10.0.0.1:6443".into();
    cluster.spec.connection.kubesphere_api_server_port = 30880;
    cluster.status.kube_sphere_version = "v3.4.1".into();
    cluster.status.configz = BTreeMap::from([("devops".into(), true)]);
    cluster.status.conditions = vec![ClusterCondition {
        type_: ClusterConditionType::Ready,
        status: ConditionStatus::True,
        last_update_time: None,
        last_transition_time: None,
        reason: String::new(),
        message: String::new(),
    }];
    let v = to_value(&cluster);
    assert_eq!(
        v["spec"],
        json!({
            "externalKubeAPIEnabled": true,
            "connection": {
                "type": "direct",
                "kubernetesAPIEndpoint": "https://10.0.0.1:6443",
                "kubeconfig": "YXBpVmVyc2lvbjogdjE=",
                "kubesphereAPIServerPort": 30880
            }
        })
    );
    assert_eq!(
        v["status"],
        json!({
            "conditions": [{"type": "Ready", "status": "True"}],
            "kubeSphereVersion": "v3.4.1",
            "configz": {"devops": true}
        })
    );
    let back: Cluster = decode::from_json_strict(v.to_string().as_bytes()).unwrap();
    assert_eq!(back, cluster);
}

#[test]
fn group_binding_wire_form() {
    let gb = GroupBinding {
        metadata: named("dev-alice"),
        group_ref: GroupRef {
            api_group: "iam.kubesphere.io".into(),
            kind: "Group".into(),
            name: "dev".into(),
        },
        users: vec!["alice".into()],
    };
    assert_eq!(
        to_value(&gb),
        json!({
            "apiVersion": "iam.kubesphere.io/v1alpha2",
            "kind": "GroupBinding",
            "metadata": {"name": "dev-alice"},
            "groupRef": {"apiGroup": "iam.kubesphere.io", "kind": "Group", "name": "dev"},
            "users": ["alice"]
        })
    );
}

#[test]
fn unknown_enum_values_survive_a_round_trip() {
    let user: User =
        decode::from_json(br#"{"spec":{"email":""},"status":{"state":"Frozen"}}"#).unwrap();
    assert_eq!(user.status.state, Some(UserState::Other("Frozen".into())));
    assert!(!user.status.state.as_ref().unwrap().is_known());
    assert_eq!(to_value(&user)["status"]["state"], "Frozen");
    // Constructing `Other` with a known value is the known variant.
    assert_eq!(UserState::Other("Active".into()), UserState::Active);
}

#[test]
fn api_version_and_kind_are_checked() {
    let err = decode::from_json::<User>(
        br#"{"apiVersion":"iam.kubesphere.io/v1alpha2","kind":"GlobalRole","spec":{"email":""}}"#,
    )
    .unwrap_err();
    match err {
        Error::Decode { path, message, .. } => {
            assert_eq!(path, "kind");
            assert!(message.contains("GlobalRole"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let err = decode::from_json::<User>(
        br#"{"apiVersion":"iam.kubesphere.io/v1beta1","spec":{"email":""}}"#,
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::Decode { ref path, .. } if path == "apiVersion"),
        "{err}"
    );
    // Absent type information is fine (e.g. items of some lists).
    decode::from_json_strict::<User>(br#"{"spec":{"email":""}}"#).unwrap();
}

#[test]
fn lists_have_list_kind_and_items() {
    let list = UserList::from(vec![User {
        metadata: named("a"),
        ..Default::default()
    }]);
    let v = to_value(&list);
    assert_eq!(v["kind"], "UserList");
    assert_eq!(v["apiVersion"], "iam.kubesphere.io/v1alpha2");
    assert_eq!(v["items"][0]["metadata"]["name"], "a");
    assert_eq!(v["items"][0]["kind"], "User");
    let back: UserList = decode::from_json_strict(v.to_string().as_bytes()).unwrap();
    assert_eq!(back, list);
    // Go writes nil items as null.
    let empty: UserList =
        decode::from_json_strict(br#"{"kind":"UserList","metadata":{},"items":null}"#).unwrap();
    assert!(empty.items.is_empty());
}

#[test]
fn kind_identity_and_kube_resource() {
    fn check<K: KindInfo + Resource<DynamicType = ()>>(
        group: &str,
        version: &str,
        kind: &str,
        plural: &str,
    ) {
        assert_eq!(K::GROUP, group);
        assert_eq!(K::VERSION, version);
        assert_eq!(K::KIND, kind);
        assert_eq!(K::PLURAL, plural);
        assert_eq!(K::LIST_KIND, format!("{kind}List"));
        assert_eq!(K::API_VERSION, format!("{group}/{version}"));
        assert_eq!(K::SCOPE, ks_types::Scope::Cluster);
        assert_eq!(K::kind(&()), kind);
        assert_eq!(K::api_version(&()), K::API_VERSION);
        assert_eq!(K::plural(&()), plural);
        assert_eq!(
            K::url_path(&(), None),
            format!("/apis/{group}/{version}/{plural}")
        );
    }
    check::<User>("iam.kubesphere.io", "v1alpha2", "User", "users");
    check::<GlobalRole>("iam.kubesphere.io", "v1alpha2", "GlobalRole", "globalroles");
    check::<WorkspaceRole>(
        "iam.kubesphere.io",
        "v1alpha2",
        "WorkspaceRole",
        "workspaceroles",
    );
    check::<GlobalRoleBinding>(
        "iam.kubesphere.io",
        "v1alpha2",
        "GlobalRoleBinding",
        "globalrolebindings",
    );
    check::<WorkspaceRoleBinding>(
        "iam.kubesphere.io",
        "v1alpha2",
        "WorkspaceRoleBinding",
        "workspacerolebindings",
    );
    check::<LoginRecord>(
        "iam.kubesphere.io",
        "v1alpha2",
        "LoginRecord",
        "loginrecords",
    );
    check::<Group>("iam.kubesphere.io", "v1alpha2", "Group", "groups");
    check::<GroupBinding>(
        "iam.kubesphere.io",
        "v1alpha2",
        "GroupBinding",
        "groupbindings",
    );
    check::<Workspace>(
        "tenant.kubesphere.io",
        "v1alpha1",
        "Workspace",
        "workspaces",
    );
    check::<WorkspaceTemplate>(
        "tenant.kubesphere.io",
        "v1alpha2",
        "WorkspaceTemplate",
        "workspacetemplates",
    );
    check::<Cluster>("cluster.kubesphere.io", "v1alpha1", "Cluster", "clusters");

    let mut user = User::default();
    user.meta_mut().name = Some("carol".into());
    assert_eq!(user.metadata.name.as_deref(), Some("carol"));
    let reference = user.object_ref(&());
    assert_eq!(reference.kind.as_deref(), Some("User"));
    assert_eq!(
        reference.api_version.as_deref(),
        Some("iam.kubesphere.io/v1alpha2")
    );
}
