//! Role aggregation, resolved when a policy is evaluated or compiled.
//!
//! Two mechanisms add other roles' rules to a role:
//!
//! - a ClusterRole's `aggregationRule.clusterRoleSelectors` (Kubernetes'
//!   ClusterRole aggregation controller): every other ClusterRole whose
//!   labels match any of the selectors. Selectors follow
//!   `metav1.LabelSelectorAsSelector`: `matchLabels` are equalities, the
//!   operators are `In`, `NotIn` (which also holds when the label is
//!   absent), `Exists` and `DoesNotExist`, and an empty selector matches
//!   everything. An invalid selector (unknown operator, `In`/`NotIn`
//!   without values, `Exists`/`DoesNotExist` with values, a key that is not
//!   a label key or a value that is not a label value) selects nothing.
//!   The selectors are ks-request-info's label selectors, so aggregation
//!   and `?labelSelector=` match labels with the same code.
//! - KubeSphere's `iam.kubesphere.io/aggregation-roles` annotation, a JSON
//!   array of role(-template) names of the same kind (for a Role, in the
//!   same namespace). An annotation that is not a JSON array of strings
//!   aggregates nothing, as in KubeSphere; unknown names are skipped.
//!
//! The effective rules of a role are its own rules followed by the own rules
//! of every role reachable from it through these edges (transitively, each
//! role once, itself excluded), in the order the roles appear in the
//! policy. Both controllers write the aggregated rules into `rules`, so on
//! a dump of a converged cluster the extra rules are already there and
//! adding them again changes nothing; on hand-written manifests (aggregated
//! roles with no rules yet) this gives what the controllers would converge
//! to. Unlike the controllers, a role's own rules are kept rather than
//! overwritten: KubeSphere ships roles with both (`platform-admin` has
//! `*` rules and an aggregation annotation), and keeping them is never less
//! than what the object says.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use ks_request_info::selector::{self, LabelRequirement, Operator};

/// `selector` as a label selector (`metav1.LabelSelectorAsSelector`), or
/// `None` when it is invalid. Matching is ks-request-info's, the same code
/// that serves `?labelSelector=`.
pub fn label_selector(selector: &LabelSelector) -> Option<selector::LabelSelector> {
    let mut requirements = Vec::new();
    for (key, value) in selector.match_labels.iter().flatten() {
        let equality = LabelRequirement::new(key, Operator::Equals, vec![value.clone()]);
        requirements.push(equality.ok()?);
    }
    for e in selector.match_expressions.iter().flatten() {
        let operator = Operator::from_label_selector_operator(&e.operator)?;
        let values = e.values.clone().unwrap_or_default();
        requirements.push(LabelRequirement::new(&e.key, operator, values).ok()?);
    }
    Some(selector::LabelSelector::from_requirements(requirements))
}

/// The labels of an object that has none.
static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

/// The labels of `meta`, empty when it has none.
fn labels_of(meta: &ObjectMeta) -> &BTreeMap<String, String> {
    meta.labels.as_ref().unwrap_or(&NO_LABELS)
}

/// Whether `selector` selects an object with `labels`, or `None` when the
/// selector is invalid (`metav1.LabelSelectorAsSelector` fails).
pub fn selector_matches(
    selector: &LabelSelector,
    labels: Option<&BTreeMap<String, String>>,
) -> Option<bool> {
    label_selector(selector).map(|s| s.matches(labels.unwrap_or(&NO_LABELS)))
}

/// Whether any of `selectors` selects an object with `meta`'s labels
/// (invalid selectors select nothing).
pub fn any_selector_matches(selectors: &[LabelSelector], meta: &ObjectMeta) -> bool {
    selectors
        .iter()
        .filter_map(label_selector)
        .any(|s| s.matches(labels_of(meta)))
}

/// Whether any of the already-built `selectors` selects an object with
/// `meta`'s labels.
pub fn any_built_selector_matches(
    selectors: &[selector::LabelSelector],
    meta: &ObjectMeta,
) -> bool {
    selectors.iter().any(|s| s.matches(labels_of(meta)))
}

/// The names in the `iam.kubesphere.io/aggregation-roles` annotation; empty
/// when absent or not a JSON array of strings.
pub fn aggregation_role_names(meta: &ObjectMeta) -> Vec<String> {
    ks_types::meta::aggregation_roles(meta)
        .ok()
        .flatten()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn expr(key: &str, op: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: (!values.is_empty()).then(|| values.iter().map(|v| (*v).to_owned()).collect()),
        }
    }

    #[test]
    fn selectors() {
        let l = labels(&[("agg", "true"), ("tier", "web")]);
        let sel = |ml: &[(&str, &str)], me: Vec<LabelSelectorRequirement>| LabelSelector {
            match_labels: (!ml.is_empty()).then(|| labels(ml)),
            match_expressions: (!me.is_empty()).then_some(me),
        };
        let table = [
            (sel(&[], vec![]), Some(true)),
            (sel(&[("agg", "true")], vec![]), Some(true)),
            (sel(&[("agg", "false")], vec![]), Some(false)),
            (sel(&[("agg", "true"), ("x", "y")], vec![]), Some(false)),
            (
                sel(&[], vec![expr("tier", "In", &["web", "db"])]),
                Some(true),
            ),
            (sel(&[], vec![expr("tier", "NotIn", &["web"])]), Some(false)),
            (
                sel(&[], vec![expr("absent", "NotIn", &["web"])]),
                Some(true),
            ),
            (sel(&[], vec![expr("agg", "Exists", &[])]), Some(true)),
            (
                sel(&[], vec![expr("agg", "DoesNotExist", &[])]),
                Some(false),
            ),
            (sel(&[], vec![expr("agg", "In", &[])]), None),
            (sel(&[], vec![expr("agg", "Exists", &["x"])]), None),
            (sel(&[], vec![expr("agg", "in", &["true"])]), None),
            // Keys and values are checked as Kubernetes' NewRequirement does.
            (sel(&[("-agg", "true")], vec![]), None),
            (sel(&[], vec![expr("absent", "NotIn", &["a b"])]), None),
            (sel(&[], vec![expr("a/b/c", "DoesNotExist", &[])]), None),
        ];
        for (s, want) in table {
            assert_eq!(selector_matches(&s, Some(&l)), want, "{s:?}");
        }
        assert_eq!(
            selector_matches(&LabelSelector::default(), None),
            Some(true)
        );
    }

    #[test]
    fn selectors_are_request_info_selectors() {
        let selector = LabelSelector {
            match_labels: Some(labels(&[("agg", "true")])),
            match_expressions: Some(vec![
                expr("tier", "NotIn", &["db", "cache"]),
                expr("canary", "DoesNotExist", &[]),
            ]),
        };
        let built = label_selector(&selector).unwrap();
        let parsed =
            selector::LabelSelector::parse("agg=true,tier notin (cache,db),!canary").unwrap();
        assert_eq!(built, parsed);

        let mut meta = ObjectMeta {
            labels: Some(labels(&[("agg", "true")])),
            ..ObjectMeta::default()
        };
        let invalid = LabelSelector {
            match_expressions: Some(vec![expr("agg", "Exists", &["x"])]),
            ..LabelSelector::default()
        };
        assert!(any_selector_matches(
            &[invalid.clone(), selector.clone()],
            &meta
        ));
        assert!(!any_selector_matches(&[invalid], &meta));
        assert!(any_built_selector_matches(
            std::slice::from_ref(&built),
            &meta
        ));
        meta.labels = None;
        assert!(!any_built_selector_matches(&[built], &meta));
        assert!(any_selector_matches(&[LabelSelector::default()], &meta));
    }
}
