//! The loader: what `Policy::to_yaml` writes, `Policy::from_yaml` reads
//! back unchanged; and no input makes the loader or the evaluators panic
//! or disagree (the fuzz entry point on random text).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ks_rbac::Policy;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn prop_yaml_round_trip(policy in common::policy()) {
        let yaml = policy.to_yaml().unwrap();
        let (back, diagnostics) = Policy::from_yaml("generated", &yaml);
        prop_assert!(diagnostics.is_empty(), "{:?}", diagnostics);
        prop_assert_eq!(back, policy);
    }

    #[test]
    fn prop_fuzz_entry_never_panics_on_yaml_like_text(
        lines in prop::collection::vec(
            prop_oneof![
                Just("---".to_owned()),
                Just("%%".to_owned()),
                Just("kind: ClusterRole".to_owned()),
                Just("apiVersion: rbac.authorization.k8s.io/v1".to_owned()),
                Just("kind: List\nitems:".to_owned()),
                Just("metadata: {name: x, namespace: n}".to_owned()),
                Just("rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*']}]".to_owned()),
                Just("roleRef: {kind: ClusterRole, name: x, apiGroup: g}".to_owned()),
                Just("subjects: [{kind: User, name: u}]".to_owned()),
                Just(r#"{"user":"u","verb":"get","resource":"pods","isResourceRequest":true}"#.to_owned()),
                "[ -~]{0,40}",
            ],
            0..24,
        )
    ) {
        ks_rbac::fuzzing::check_policy(lines.join("\n").as_bytes());
    }

    #[test]
    fn prop_fuzz_entry_never_panics_on_bytes(data in prop::collection::vec(any::<u8>(), 0..256)) {
        ks_rbac::fuzzing::check_policy(&data);
    }
}

#[test]
fn round_trip_of_a_generated_policy_is_generated_yaml() {
    // Document the format: every object its own document, kinds in order.
    let mut policy = Policy::new();
    let (p, _) = Policy::from_yaml("t", include_str!("data/kubesphere.yaml"));
    policy.extend(p);
    let yaml = policy.to_yaml().unwrap();
    assert!(
        yaml.starts_with("---\napiVersion: v1\nkind: Namespace\n"),
        "{yaml}"
    );
    assert_eq!(Policy::from_yaml("again", &yaml).0, policy);
}
