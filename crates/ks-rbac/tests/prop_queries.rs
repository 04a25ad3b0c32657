//! Properties of the queries: who-can agrees with decisions, and
//! `covers(A, B)` means every request B's rules allow, A's rules allow.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{policy, request, rule};
use k8s_openapi::api::rbac::v1::PolicyRule;
use ks_rbac::grant::subject_applies;
use ks_rbac::matching::rule_allows;
use ks_rbac::queries::{breakdown_rule, covers};
use ks_rbac::{Groups, PolicySnapshot};
use proptest::prelude::*;

const USERS: &[&str] = &[
    "alice",
    "bob",
    "system:serviceaccount:n0:sa",
    "system:serviceaccount:n1:sa",
    "",
];
const GROUP_SETS: &[&[&str]] = &[&[], &["g0"], &["g1", "system:authenticated"]];

/// Resource entries whose split and match agree (see `queries` docs).
fn plain_rule() -> impl Strategy<Value = PolicyRule> {
    rule().prop_map(|mut r| {
        if let Some(resources) = &mut r.resources {
            resources.retain(|x| x.matches('/').count() <= 1 && !x.ends_with('/'));
            if resources.is_empty() {
                resources.push("pods".into());
            }
        }
        r
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn prop_who_can_agrees_with_decide(policy in policy(), req in request()) {
        let snapshot = PolicySnapshot::build(&policy);
        let entries = snapshot.who_can(&req.attrs());
        for user in USERS {
            for groups in GROUP_SETS {
                let attrs = ks_rbac::Attributes { user, groups: Groups::Strs(groups), ..req.attrs() };
                let listed = entries
                    .iter()
                    .any(|e| e.subjects.iter().any(|s| subject_applies(s, &attrs, "")));
                prop_assert_eq!(snapshot.is_allowed(&attrs), listed, "{} {:?} {:?}", user, groups, entries);
            }
        }
    }

    #[test]
    fn prop_covers_implies_every_request_allowed(
        owner in prop::collection::vec(plain_rule(), 0..4),
        extra in prop::collection::vec(plain_rule(), 0..2),
        pick in any::<prop::sample::Index>(),
        requests in prop::collection::vec(request(), 1..24),
    ) {
        // Requested rules: some atoms of the owner's rules (covered, unless
        // a rule mixes resource names and URLs), plus maybe random ones.
        let atoms: Vec<PolicyRule> = owner.iter().flat_map(breakdown_rule).collect();
        let mut requested: Vec<PolicyRule> = if atoms.is_empty() {
            Vec::new()
        } else {
            let i = pick.index(atoms.len());
            atoms[i..].iter().step_by(2).cloned().collect()
        };
        requested.extend(extra);
        let (covered, missing) = covers(&owner, &requested);
        prop_assert_eq!(covered, missing.is_empty());
        if covered {
            for req in &requests {
                let attrs = req.attrs();
                if requested.iter().any(|r| rule_allows(r, &attrs)) {
                    prop_assert!(owner.iter().any(|r| rule_allows(r, &attrs)), "{:?}", req);
                }
            }
        }
    }

    #[test]
    fn prop_rules_for_holds_what_decide_allows(policy in policy(), req in request()) {
        // Every allowed request is allowed by one of the user's rules, and
        // no rule the user holds allows a request that is denied.
        let snapshot = PolicySnapshot::build(&policy);
        let attrs = req.attrs();
        let review = snapshot.rules_for(&attrs);
        let by_rules = review.rules.iter().any(|r| rule_allows(r, &attrs));
        prop_assert_eq!(snapshot.is_allowed(&attrs), by_rules);
    }
}
