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
//!   without values, `Exists`/`DoesNotExist` with values) selects nothing.
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

/// Whether `selector` selects an object with `labels`, or `None` when the
/// selector is invalid (`metav1.LabelSelectorAsSelector` fails).
pub fn selector_matches(
    selector: &LabelSelector,
    labels: Option<&BTreeMap<String, String>>,
) -> Option<bool> {
    let get = |key: &str| labels.and_then(|l| l.get(key)).map(String::as_str);
    let mut matches = true;
    for (key, value) in selector.match_labels.iter().flatten() {
        matches &= get(key) == Some(value.as_str());
    }
    for requirement in selector.match_expressions.iter().flatten() {
        let values = requirement.values.as_deref().unwrap_or_default();
        let have = get(&requirement.key);
        let ok = match requirement.operator.as_str() {
            "In" if !values.is_empty() => have.is_some_and(|h| values.iter().any(|v| v == h)),
            "NotIn" if !values.is_empty() => have.is_none_or(|h| !values.iter().any(|v| v == h)),
            "Exists" if values.is_empty() => have.is_some(),
            "DoesNotExist" if values.is_empty() => have.is_none(),
            _ => return None,
        };
        matches &= ok;
    }
    Some(matches)
}

/// Whether any of `selectors` selects an object with `meta`'s labels
/// (invalid selectors select nothing).
pub fn any_selector_matches(selectors: &[LabelSelector], meta: &ObjectMeta) -> bool {
    selectors
        .iter()
        .any(|s| selector_matches(s, meta.labels.as_ref()) == Some(true))
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
        ];
        for (s, want) in table {
            assert_eq!(selector_matches(&s, Some(&l)), want, "{s:?}");
        }
        assert_eq!(
            selector_matches(&LabelSelector::default(), None),
            Some(true)
        );
    }
}
