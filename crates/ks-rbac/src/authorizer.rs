//! The authorizer as a visitor over rule sources, as Kubernetes and
//! KubeSphere structure it: a [`RuleSource`] walks the rules that apply to a
//! request in scope-walk order, and [`authorize`] stops at the first rule
//! that allows it.
//!
//! Evaluation is allow-only: a matching rule allows, and when none matches
//! the answer is "no opinion" (a denial unless another authorizer allows).

use std::fmt;
use std::ops::ControlFlow;

use k8s_openapi::api::rbac::v1::PolicyRule;

use crate::Attributes;
use crate::grant::{Grant, ResolutionError};
use crate::matching::rule_allows;

/// What a [`RuleSource`] hands its visitor.
#[derive(Clone, Copy, Debug)]
pub enum Visit<'a> {
    /// A rule granted to the requester through a binding.
    Rule {
        /// The binding and subject.
        grant: Grant<'a>,
        /// The rule.
        rule: &'a PolicyRule,
    },
    /// A binding naming the requester whose role could not be resolved.
    Error(ResolutionError<'a>),
}

/// Anything that can list the rules applying to a request: the
/// [`reference`](mod@crate::reference) walk over a [`Policy`](crate::Policy),
/// the indexed [`PolicySnapshot`](crate::PolicySnapshot), or a source of
/// your own.
pub trait RuleSource {
    /// Calls `visitor` with every rule granted to the requester at the
    /// request's scope, and every resolution error, in scope-walk order,
    /// until it returns `Break`.
    fn visit_rules(
        &self,
        attrs: &Attributes<'_>,
        visitor: &mut dyn FnMut(Visit<'_>) -> ControlFlow<()>,
    );
}

/// An authorization decision with its reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the request is allowed (otherwise: no opinion).
    pub allowed: bool,
    /// Why: `RBAC: allowed by ...`, or which rules were missing.
    pub reason: String,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let answer = if self.allowed {
            "allowed"
        } else {
            "no opinion"
        };
        write!(f, "{answer}: {}", self.reason)
    }
}

/// The reason of an Allow: `RBAC: allowed by RoleBinding "x/ns" of
/// ClusterRole "y" to User "z"`.
pub fn allow_reason(grant: &Grant<'_>) -> String {
    format!("RBAC: allowed by {grant}")
}

/// The reason of a NoOpinion, naming the request and the resolution errors
/// met on the way: `RBAC: no rules authorize user "u" with groups ["g"] to
/// "get" resource "pods" in namespace "ns"`.
pub fn deny_reason(attrs: &Attributes<'_>, errors: &[String]) -> String {
    let groups: Vec<String> = attrs.groups.iter().map(|g| format!("{g:?}")).collect();
    let mut reason = format!(
        "RBAC: no rules authorize user {:?} with groups [{}] to {}",
        attrs.user,
        groups.join(" "),
        attrs.describe_operation()
    );
    if !errors.is_empty() {
        reason.push_str("; ");
        reason.push_str(&errors.join("; "));
    }
    reason
}

/// Runs the walk of `source` for `attrs`: Allow at the first rule that
/// matches, else NoOpinion with every resolution error in the reason.
pub fn authorize<S: RuleSource + ?Sized>(source: &S, attrs: &Attributes<'_>) -> Verdict {
    let mut allowed = None;
    let mut errors = Vec::new();
    source.visit_rules(attrs, &mut |visit| match visit {
        Visit::Rule { grant, rule } if rule_allows(rule, attrs) => {
            allowed = Some(allow_reason(&grant));
            ControlFlow::Break(())
        }
        Visit::Rule { .. } => ControlFlow::Continue(()),
        Visit::Error(e) => {
            errors.push(e.to_string());
            ControlFlow::Continue(())
        }
    });
    match allowed {
        Some(reason) => Verdict {
            allowed: true,
            reason,
        },
        None => Verdict {
            allowed: false,
            reason: deny_reason(attrs, &errors),
        },
    }
}

/// Every rule `source` grants to the requester at the request's scope (the
/// rules KubeSphere's `rulesFor` collects), and the resolution errors.
pub fn rules_for<S: RuleSource + ?Sized>(
    source: &S,
    attrs: &Attributes<'_>,
) -> (Vec<PolicyRule>, Vec<String>) {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    source.visit_rules(attrs, &mut |visit| {
        match visit {
            Visit::Rule { rule, .. } => rules.push(rule.clone()),
            Visit::Error(e) => errors.push(e.to_string()),
        }
        ControlFlow::Continue(())
    });
    (rules, errors)
}
