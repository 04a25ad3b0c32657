//! Differential tests: the indexed [`PolicySnapshot`] must agree with the
//! naive reference walk on every decision and every reason, for random
//! small policies and requests; and adding a binding never removes a
//! permission; and the user's extra attributes never change a decision.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{add_binding, binding, extra, policy, request};
use ks_rbac::{Attributes, Extra, PolicySnapshot, ReferenceAuthorizer};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn prop_snapshot_agrees_with_reference(
        policy in policy(),
        requests in prop::collection::vec(request(), 1..12),
    ) {
        let reference = ReferenceAuthorizer::new(&policy);
        let snapshot = PolicySnapshot::build(&policy);
        for req in &requests {
            let attrs = req.attrs();
            let want = reference.authorize(&attrs);
            let decision = snapshot.decide(&attrs);
            prop_assert_eq!(decision.is_allowed(), want.allowed, "{:?}\n{}", req, want.reason);
            prop_assert_eq!(&snapshot.explain(&attrs, decision), &want.reason, "{:?}", req);
            // The snapshot as a generic rule source walks the same rules.
            prop_assert_eq!(&snapshot.authorize_by_walk(&attrs), &want, "{:?}", req);
            if let Some(rule) = snapshot.allowing_rule(decision) {
                prop_assert!(ks_rbac::matching::rule_allows(rule, &attrs));
            }
        }
    }

    #[test]
    fn prop_extra_never_changes_a_decision(
        policy in policy(),
        requests in prop::collection::vec(request(), 1..12),
        extra in extra(),
    ) {
        // Kubernetes' RBAC ignores user.Info Extra, and so do we: with
        // random extra, in either borrowed form, every evaluator answers
        // exactly as without.
        let reference = ReferenceAuthorizer::new(&policy);
        let snapshot = PolicySnapshot::build(&policy);
        let values: Vec<Vec<&str>> = extra
            .values()
            .map(|v| v.iter().map(String::as_str).collect())
            .collect();
        let pairs: Vec<(&str, &[&str])> = extra
            .keys()
            .map(String::as_str)
            .zip(values.iter().map(Vec::as_slice))
            .collect();
        for req in &requests {
            let without = req.attrs();
            let want = reference.authorize(&without);
            let decision = snapshot.decide(&without);
            let reason = snapshot.explain(&without, decision);
            let rules = snapshot.rules_for(&without);
            for with in [
                Attributes { extra: Extra::Map(&extra), ..without },
                Attributes { extra: Extra::Strs(&pairs), ..without },
            ] {
                prop_assert_eq!(with.extra.len(), extra.len());
                prop_assert_eq!(&reference.authorize(&with), &want, "{:?} {:?}", req, extra);
                let got = snapshot.decide(&with);
                prop_assert_eq!(got, decision, "{:?} {:?}", req, extra);
                prop_assert_eq!(&snapshot.explain(&with, got), &reason, "{:?}", req);
                prop_assert_eq!(&snapshot.authorize_by_walk(&with), &want, "{:?}", req);
                prop_assert_eq!(&snapshot.rules_for(&with), &rules, "{:?}", req);
            }
        }
    }

    #[test]
    fn prop_adding_a_binding_never_removes_a_permission(
        policy in policy(),
        extra in binding(),
        requests in prop::collection::vec(request(), 1..12),
    ) {
        let before = PolicySnapshot::build(&policy);
        let mut bigger = policy.clone();
        // A new binding under a fresh name (a same-named one would replace).
        let mut extra = extra;
        extra.kind %= 4;
        add_binding(&mut bigger, &extra);
        rename_last_binding(&mut bigger, extra.kind);
        let after = PolicySnapshot::build(&bigger);
        let reference_after = ReferenceAuthorizer::new(&bigger);
        for req in &requests {
            let attrs = req.attrs();
            if before.is_allowed(&attrs) {
                prop_assert!(after.is_allowed(&attrs), "{:?}", req);
                prop_assert!(reference_after.authorize(&attrs).allowed, "{:?}", req);
            }
        }
    }
}

fn rename_last_binding(p: &mut ks_rbac::Policy, kind: usize) {
    let fresh = Some("fresh-binding".to_owned());
    match kind {
        0 => p.global_role_bindings.last_mut().unwrap().metadata.name = fresh,
        1 => p.workspace_role_bindings.last_mut().unwrap().metadata.name = fresh,
        2 => p.role_bindings.last_mut().unwrap().metadata.name = fresh,
        _ => p.cluster_role_bindings.last_mut().unwrap().metadata.name = fresh,
    }
}
