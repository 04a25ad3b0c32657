//! Table tests for validation: each case breaks one rule of a valid object
//! and names the field error it must produce.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ks_types::validation::{FieldErrorType as T, Validate};
use ks_types::{
    Cluster, Error, GlobalRole, GlobalRoleBinding, GroupBinding, LoginRecord, User, Workspace,
    WorkspaceRole, WorkspaceRoleBinding, WorkspaceTemplate, decode,
};

/// Decodes a YAML object, applies a YAML-level edit, and validates.
fn errors_of<K>(yaml: &str) -> Vec<(T, String)>
where
    K: serde::de::DeserializeOwned + ks_types::KindInfo + Validate,
{
    let object: K = decode::from_yaml_strict(yaml.as_bytes())
        .unwrap_or_else(|e| panic!("case does not decode: {e}\n{yaml}"));
    object
        .validate()
        .iter()
        .map(|e| (e.error_type, e.field.clone()))
        .collect()
}

struct Case {
    name: &'static str,
    yaml: &'static str,
    expect: &'static [(T, &'static str)],
}

fn run<K>(cases: &[Case])
where
    K: serde::de::DeserializeOwned + ks_types::KindInfo + Validate,
{
    for case in cases {
        let got = errors_of::<K>(case.yaml);
        let want: Vec<(T, String)> = case
            .expect
            .iter()
            .map(|(t, p)| (*t, (*p).to_owned()))
            .collect();
        assert_eq!(got, want, "case {:?}", case.name);
    }
}

#[test]
fn users() {
    run::<User>(&[
        Case {
            name: "valid",
            yaml: "metadata: {name: admin}\nspec: {email: admin@kubesphere.io, lang: zh, password: P@88w0rd}\nstatus: {state: Active}",
            expect: &[],
        },
        Case {
            name: "empty email is allowed",
            yaml: "metadata: {name: admin}\nspec: {email: ''}",
            expect: &[],
        },
        Case {
            name: "bcrypt password",
            yaml: "metadata: {name: admin}\nspec: {email: '', password: $2a$10$w312tzLTvXObnfEYiIrk9u5Nu/reJpwQeI66vrM1XJETWtpjd1/q2}",
            expect: &[],
        },
        Case {
            name: "no name",
            yaml: "spec: {email: ''}",
            expect: &[(T::Required, "metadata.name")],
        },
        Case {
            name: "generateName",
            yaml: "metadata: {generateName: user-}\nspec: {email: ''}",
            expect: &[],
        },
        Case {
            name: "upper-case name",
            yaml: "metadata: {name: Admin}\nspec: {email: ''}",
            expect: &[(T::Invalid, "metadata.name")],
        },
        Case {
            name: "name too long for a label value",
            yaml: "metadata: {name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}\nspec: {email: ''}",
            expect: &[(T::Invalid, "metadata.name")],
        },
        Case {
            name: "namespaced",
            yaml: "metadata: {name: a, namespace: default}\nspec: {email: ''}",
            expect: &[(T::Forbidden, "metadata.namespace")],
        },
        Case {
            name: "bad email",
            yaml: "metadata: {name: a}\nspec: {email: admin}",
            expect: &[(T::Invalid, "spec.email")],
        },
        Case {
            name: "unsupported lang",
            yaml: "metadata: {name: a}\nspec: {email: '', lang: fr}",
            expect: &[(T::NotSupported, "spec.lang")],
        },
        Case {
            name: "weak password",
            yaml: "metadata: {name: a}\nspec: {email: '', password: password}",
            expect: &[(T::Invalid, "spec.password")],
        },
        Case {
            name: "unknown state",
            yaml: "metadata: {name: a}\nspec: {email: ''}\nstatus: {state: Frozen}",
            expect: &[(T::NotSupported, "status.state")],
        },
        Case {
            name: "bad label key and value",
            yaml: "metadata: {name: a, labels: {'bad key': ok, good: '-bad'}}\nspec: {email: ''}",
            expect: &[
                (T::Invalid, "metadata.labels"),
                (T::Invalid, "metadata.labels[good]"),
            ],
        },
        Case {
            name: "bad annotation key",
            yaml: "metadata: {name: a, annotations: {'/x': y}}\nspec: {email: ''}",
            expect: &[(T::Invalid, "metadata.annotations")],
        },
        Case {
            name: "bad finalizer",
            yaml: "metadata: {name: a, finalizers: ['a b']}\nspec: {email: ''}",
            expect: &[(T::Invalid, "metadata.finalizers[0]")],
        },
        Case {
            name: "every error at once",
            yaml: "metadata: {name: A}\nspec: {email: x, lang: fr}\nstatus: {state: X}",
            expect: &[
                (T::Invalid, "metadata.name"),
                (T::Invalid, "spec.email"),
                (T::NotSupported, "spec.lang"),
                (T::NotSupported, "status.state"),
            ],
        },
    ]);
}

#[test]
fn roles() {
    run::<GlobalRole>(&[
        Case {
            name: "valid",
            yaml: "metadata: {name: r}\nrules: [{apiGroups: ['*'], resources: ['*'], verbs: ['*']}, {nonResourceURLs: ['/healthz'], verbs: [get]}]",
            expect: &[],
        },
        Case {
            name: "no verbs",
            yaml: "metadata: {name: r}\nrules: [{apiGroups: [''], resources: [pods], verbs: []}]",
            expect: &[(T::Required, "rules[0].verbs")],
        },
        Case {
            name: "no api groups",
            yaml: "metadata: {name: r}\nrules: [{resources: [pods], verbs: [get]}]",
            expect: &[(T::Required, "rules[0].apiGroups")],
        },
        Case {
            name: "mixed rule",
            yaml: "metadata: {name: r}\nrules: [{apiGroups: [''], nonResourceURLs: ['/x'], verbs: [get]}]",
            expect: &[(T::Invalid, "rules[0].nonResourceURLs")],
        },
        Case {
            name: "bad aggregation annotation",
            yaml: "metadata: {name: r, annotations: {iam.kubesphere.io/aggregation-roles: 'a,b'}}",
            expect: &[(
                T::Invalid,
                "metadata.annotations[iam.kubesphere.io/aggregation-roles]",
            )],
        },
        Case {
            name: "aggregation annotation",
            yaml: "metadata: {name: r, annotations: {iam.kubesphere.io/aggregation-roles: '[\"role-template-view-users\"]'}}",
            expect: &[],
        },
    ]);
    run::<WorkspaceRole>(&[
        Case {
            name: "valid",
            yaml: "metadata: {name: demo-admin, labels: {kubesphere.io/workspace: demo}}\nrules: []",
            expect: &[],
        },
        Case {
            name: "missing workspace label",
            yaml: "metadata: {name: demo-admin}",
            expect: &[(T::Required, "metadata.labels[kubesphere.io/workspace]")],
        },
        Case {
            name: "role templates need no workspace",
            yaml: "metadata: {name: role-template-view-members, labels: {iam.kubesphere.io/role-template: 'true'}}",
            expect: &[],
        },
        Case {
            name: "bad workspace name",
            yaml: "metadata: {name: x, labels: {kubesphere.io/workspace: Demo.ws}}",
            expect: &[(T::Invalid, "metadata.labels[kubesphere.io/workspace]")],
        },
    ]);
}

#[test]
fn bindings() {
    const WRB: &str = "metadata: {name: alice-demo-admin, labels: {kubesphere.io/workspace: demo}}\nsubjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]\nroleRef: {apiGroup: iam.kubesphere.io, kind: WorkspaceRole, name: demo-admin}";
    run::<WorkspaceRoleBinding>(&[
        Case {
            name: "valid",
            yaml: WRB,
            expect: &[],
        },
        Case {
            name: "role ref to a global role",
            yaml: "metadata: {name: b, labels: {kubesphere.io/workspace: demo}}\nroleRef: {apiGroup: iam.kubesphere.io, kind: GlobalRole, name: platform-admin}",
            expect: &[(T::NotSupported, "roleRef.kind")],
        },
        Case {
            name: "missing workspace label",
            yaml: "metadata: {name: b}\nroleRef: {apiGroup: iam.kubesphere.io, kind: WorkspaceRole, name: demo-admin}",
            expect: &[(T::Required, "metadata.labels[kubesphere.io/workspace]")],
        },
        Case {
            name: "rbac role ref group",
            yaml: "metadata: {name: b, labels: {kubesphere.io/workspace: demo}}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: WorkspaceRole, name: demo-admin}",
            expect: &[(T::NotSupported, "roleRef.apiGroup")],
        },
        Case {
            name: "empty role name",
            yaml: "metadata: {name: b, labels: {kubesphere.io/workspace: demo}}\nroleRef: {apiGroup: iam.kubesphere.io, kind: WorkspaceRole, name: ''}",
            expect: &[(T::Required, "roleRef.name")],
        },
    ]);
    run::<GlobalRoleBinding>(&[
        Case {
            name: "valid, KubeSphere's versioned groups",
            yaml: "metadata: {name: admin}\nsubjects: [{apiGroup: iam.kubesphere.io/v1alpha2, kind: User, name: admin}]\nroleRef: {apiGroup: iam.kubesphere.io/v1alpha2, kind: GlobalRole, name: platform-admin}",
            expect: &[],
        },
        Case {
            name: "role ref to a workspace role",
            yaml: "metadata: {name: b}\nroleRef: {apiGroup: iam.kubesphere.io, kind: WorkspaceRole, name: x}",
            expect: &[(T::NotSupported, "roleRef.kind")],
        },
        Case {
            name: "subject kinds",
            yaml: "metadata: {name: b}\nsubjects: [{kind: Robot, name: r2}, {kind: ServiceAccount, name: sa}, {apiGroup: rbac.authorization.k8s.io, kind: Group, name: ''}, {kind: User, name: u}]\nroleRef: {apiGroup: iam.kubesphere.io, kind: GlobalRole, name: x}",
            expect: &[
                (T::NotSupported, "subjects[0].kind"),
                (T::Required, "subjects[1].namespace"),
                (T::Required, "subjects[2].name"),
                (T::NotSupported, "subjects[3].apiGroup"),
            ],
        },
        Case {
            name: "service account",
            yaml: "metadata: {name: b}\nsubjects: [{kind: ServiceAccount, name: sa, namespace: kubesphere-system}]\nroleRef: {apiGroup: iam.kubesphere.io, kind: GlobalRole, name: x}",
            expect: &[],
        },
    ]);
    run::<GroupBinding>(&[
        Case {
            name: "valid",
            yaml: "metadata: {name: dev-alice}\ngroupRef: {apiGroup: iam.kubesphere.io, kind: Group, name: dev}\nusers: [alice, bob]",
            expect: &[],
        },
        Case {
            name: "no group",
            yaml: "metadata: {name: g}\nusers: [alice]",
            expect: &[(T::Required, "groupRef.name")],
        },
        Case {
            name: "wrong kind and duplicate user",
            yaml: "metadata: {name: g}\ngroupRef: {kind: User, name: dev}\nusers: [alice, alice]",
            expect: &[
                (T::NotSupported, "groupRef.kind"),
                (T::Duplicate, "users[1]"),
            ],
        },
    ]);
}

#[test]
fn login_records() {
    run::<LoginRecord>(&[
        Case {
            name: "valid",
            yaml: "metadata: {name: alice-1}\nspec: {type: Basic, provider: '', sourceIP: 10.0.0.1, success: true, reason: authenticated successfully}",
            expect: &[],
        },
        Case {
            name: "unknown type",
            yaml: "metadata: {name: alice-1}\nspec: {type: SAML, provider: '', sourceIP: 10.0.0.1, success: true, reason: ''}",
            expect: &[(T::NotSupported, "spec.type")],
        },
    ]);
}

#[test]
fn tenants() {
    run::<Workspace>(&[
        Case {
            name: "valid",
            yaml: "metadata: {name: demo}\nspec: {manager: admin, networkIsolation: true}",
            expect: &[],
        },
        Case {
            name: "dotted name",
            yaml: "metadata: {name: demo.ws}",
            expect: &[(T::Invalid, "metadata.name")],
        },
        Case {
            name: "bad manager",
            yaml: "metadata: {name: demo}\nspec: {manager: Admin}",
            expect: &[(T::Invalid, "spec.manager")],
        },
    ]);
    run::<WorkspaceTemplate>(&[
        Case {
            name: "valid",
            yaml: "metadata: {name: demo}\nspec:\n  template: {metadata: {labels: {a: b}}, spec: {manager: admin}}\n  placement: {clusters: [{name: host}, {name: member}]}\n  overrides: [{clusterName: member, clusterOverrides: [{op: replace, path: /spec/manager, value: bob}]}]",
            expect: &[],
        },
        Case {
            name: "selector placement",
            yaml: "metadata: {name: demo}\nspec: {template: {}, placement: {clusterSelector: {}}}",
            expect: &[],
        },
        Case {
            name: "duplicate cluster",
            yaml: "metadata: {name: demo}\nspec: {template: {}, placement: {clusters: [{name: host}, {name: host}]}}",
            expect: &[(T::Duplicate, "spec.placement.clusters[1].name")],
        },
        Case {
            name: "bad override",
            yaml: "metadata: {name: demo}\nspec: {template: {}, placement: {}, overrides: [{clusterName: '', clusterOverrides: [{op: move, path: spec}]}]}",
            expect: &[
                (T::Required, "spec.overrides[0].clusterName"),
                (T::NotSupported, "spec.overrides[0].clusterOverrides[0].op"),
                (T::Invalid, "spec.overrides[0].clusterOverrides[0].path"),
            ],
        },
        Case {
            name: "bad template label",
            yaml: "metadata: {name: demo}\nspec: {template: {metadata: {labels: {a: '?'}}}, placement: {}}",
            expect: &[(T::Invalid, "spec.template.metadata.labels[a]")],
        },
    ]);
}

#[test]
fn clusters() {
    run::<Cluster>(&[
        Case {
            name: "valid proxy",
            yaml: "metadata: {name: member}\nspec: {connection: {type: proxy, kubernetesAPIEndpoint: 'https://10.0.0.1:6443'}}\nstatus: {conditions: [{type: Ready, status: 'True'}]}",
            expect: &[],
        },
        Case {
            name: "direct needs kubeconfig",
            yaml: "metadata: {name: member}\nspec: {connection: {type: direct}}",
            expect: &[(T::Required, "spec.connection.kubeconfig")],
        },
        Case {
            name: "direct with kubeconfig",
            yaml: "metadata: {name: member}\nspec: {connection: {type: direct, kubeconfig: YWJj}}",
            expect: &[],
        },
        Case {
            name: "unknown type",
            yaml: "metadata: {name: member}\nspec: {connection: {type: tunnel}}",
            expect: &[(T::NotSupported, "spec.connection.type")],
        },
        Case {
            name: "bad endpoint",
            yaml: "metadata: {name: member}\nspec: {connection: {kubesphereAPIEndpoint: '10.0.0.1:80'}}",
            expect: &[(T::Invalid, "spec.connection.kubesphereAPIEndpoint")],
        },
        Case {
            name: "conditions",
            yaml: "metadata: {name: member}\nstatus: {conditions: [{type: Ready, status: 'True'}, {type: Ready, status: Maybe}]}",
            expect: &[
                (T::Duplicate, "status.conditions[1].type"),
                (T::NotSupported, "status.conditions[1].status"),
            ],
        },
    ]);
}

#[test]
fn ensure_valid_names_the_object() {
    let user: User = decode::from_yaml(b"metadata: {name: a}\nspec: {email: nope}").unwrap();
    match user.ensure_valid() {
        Err(Error::Invalid { kind, name, errors }) => {
            assert_eq!((kind, name.as_str()), ("User", "a"));
            assert_eq!(errors.fields(), ["spec.email"]);
        }
        other => panic!("{other:?}"),
    }
    let user: User = decode::from_yaml(b"metadata: {name: a}\nspec: {email: a@b.c}").unwrap();
    user.ensure_valid().unwrap();
    // Passwords are never echoed in errors.
    let user: User =
        decode::from_yaml(b"metadata: {name: a}\nspec: {email: '', password: secret}").unwrap();
    let errors = user.validate();
    assert!(errors.iter().all(|e| e.bad_value.is_none()));
    assert!(!errors.to_string().contains("secret"));
}
