//! `ks auth`: offline policy questions over a directory of manifests.

use std::fs;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

use ks_rbac::{Attributes, AttributesRecord, Groups, Policy, PolicySnapshot, Severity, Strictness};
use ks_request_info::{ResolverConfig, ResourceScope};

use crate::CliError;
use crate::args::{CanIArgs, RulesArgs, WhoCanArgs};

/// Every `*.yaml`/`*.yml` file under `dir`, recursively, in a stable order.
fn manifest_files(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = fs::read_dir(&current)
            .map_err(|e| CliError::Usage(format!("--policy {}: {e}", current.display())))?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Largest manifest file read (the YAML parser's cost grows with nesting).
const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// Loads the policy under `dir`. Diagnostics go to `diagnostics` (stderr);
/// with `strict`, the first error fails the load. Returns the policy and
/// whether any document failed to load.
pub fn load_policy(
    dir: &Path,
    strict: bool,
    diagnostics: &mut impl Write,
) -> Result<(Policy, bool), CliError> {
    let mut failed = false;
    let mut policy = Policy::new();
    let strictness = if strict {
        Strictness::Strict
    } else {
        Strictness::Tolerant
    };
    for file in manifest_files(dir)? {
        let size = fs::metadata(&file)?.len();
        if size > MAX_MANIFEST_BYTES {
            return Err(CliError::Usage(format!(
                "{}: {size} bytes, over the {MAX_MANIFEST_BYTES}-byte limit for a manifest",
                file.display()
            )));
        }
        let text = fs::read_to_string(&file)
            .map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
        let source = file.display().to_string();
        let found = policy
            .load_yaml(&source, &text, strictness)
            .map_err(|e| CliError::Usage(e.to_string()))?;
        for d in &found {
            writeln!(diagnostics, "{d}")?;
        }
        failed |= found.iter().any(|d| d.severity == Severity::Error);
    }
    Ok((policy, failed))
}

/// `ks auth lint`: writes every finding; returns whether any is an error.
pub fn lint(policy: &Policy, out: &mut impl Write) -> io::Result<bool> {
    let findings = ks_rbac::lint::lint(policy);
    for finding in &findings {
        writeln!(out, "{finding}")?;
    }
    Ok(findings.iter().any(|f| f.severity == Severity::Error))
}

/// `RESOURCE[.GROUP][/SUBRESOURCE]` -> (group, resource, subresource), as
/// `kubectl auth can-i` reads it (without discovery: names are literal).
fn split_resource(arg: &str) -> (&str, &str, &str) {
    let (resource_group, subresource) = arg.split_once('/').unwrap_or((arg, ""));
    let (resource, group) = resource_group
        .split_once('.')
        .unwrap_or((resource_group, ""));
    (group, resource, subresource)
}

/// The answer to one `ks auth can-i` question.
pub struct Answer {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// Why: the binding, role and subject that allowed it, or why nothing did.
    pub reason: String,
    /// The rule that allowed it, as compact JSON, when allowed.
    pub rule: Option<String>,
}

/// What a single-form question asks, before it is borrowed as [`Attributes`].
struct Question<'a> {
    verb: &'a str,
    target: &'a str,
    name: &'a str,
    namespace: &'a str,
    workspace: &'a str,
    cluster: &'a str,
    scope: Option<&'a str>,
}

impl<'a> Question<'a> {
    /// The attributes for `user` and `groups`. The scope is the given one,
    /// else Namespace with a namespace, Workspace with a workspace, Global for
    /// KubeSphere's global resources (users, globalroles, ...), else Cluster.
    fn attributes(&self, user: &'a str, groups: &'a [&'a str]) -> Result<Attributes<'a>, CliError> {
        let non_resource = self.target.starts_with('/');
        let (group, resource, subresource) = if non_resource {
            ("", "", "")
        } else {
            split_resource(self.target)
        };
        let scope = match self.scope {
            Some(s) => s
                .parse::<ResourceScope>()
                .map_err(|e| CliError::Usage(e.to_string()))?,
            None if !self.namespace.is_empty() => ResourceScope::Namespace,
            None if !self.workspace.is_empty() => ResourceScope::Workspace,
            None if ResolverConfig::default()
                .global_resources
                .iter()
                .any(|gr| gr.group == group && gr.resource == resource) =>
            {
                ResourceScope::Global
            }
            None => ResourceScope::Cluster,
        };
        Ok(Attributes {
            user,
            groups: Groups::Strs(groups),
            verb: self.verb,
            api_group: group,
            resource,
            subresource,
            name: self.name,
            namespace: self.namespace,
            workspace: self.workspace,
            cluster: self.cluster,
            resource_scope: Some(scope),
            is_resource_request: !non_resource,
            path: if non_resource { self.target } else { "" },
            ..Attributes::default()
        })
    }
}

/// Answers the single form.
pub fn can_i(snapshot: &PolicySnapshot, args: &CanIArgs) -> Result<Answer, CliError> {
    let (Some(verb), Some(target)) = (args.verb.as_deref(), args.target.as_deref()) else {
        return Err(CliError::Usage(
            "usage: ks auth can-i VERB RESOURCE[.GROUP][/SUBRESOURCE] [NAME], or VERB /URL"
                .to_owned(),
        ));
    };
    let groups: Vec<&str> = args.subject.as_group.iter().map(String::as_str).collect();
    let question = Question {
        verb,
        target,
        name: args.name.as_deref().unwrap_or(""),
        namespace: args.place.namespace.as_deref().unwrap_or(""),
        workspace: args.place.workspace.as_deref().unwrap_or(""),
        cluster: args.cluster.as_deref().unwrap_or(""),
        scope: args.place.scope.as_deref(),
    };
    let attrs = question.attributes(&args.subject.as_user, &groups)?;
    let decision = snapshot.decide(&attrs);
    Ok(Answer {
        allowed: decision.is_allowed(),
        reason: snapshot.explain(&attrs, decision),
        rule: snapshot
            .allowing_rule(decision)
            .and_then(|rule| serde_json::to_string(rule).ok()),
    })
}

/// `ks auth who-can`: one row per (binding, subject) that grants the request.
pub fn who_can(
    snapshot: &PolicySnapshot,
    args: &WhoCanArgs,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let question = Question {
        verb: &args.verb,
        target: &args.target,
        name: args.name.as_deref().unwrap_or(""),
        namespace: args.place.namespace.as_deref().unwrap_or(""),
        workspace: args.place.workspace.as_deref().unwrap_or(""),
        cluster: "",
        scope: args.place.scope.as_deref(),
    };
    let attrs = question.attributes("", &[])?;
    let mut rows = vec![[
        "BINDING".to_owned(),
        "ROLE".to_owned(),
        "SUBJECT".to_owned(),
    ]];
    for grant in snapshot.who_can(&attrs) {
        let binding = if grant.binding_namespace.is_empty() {
            format!("{:?} {}", grant.binding_kind, grant.binding_name)
        } else {
            format!(
                "{:?} {}/{}",
                grant.binding_kind, grant.binding_namespace, grant.binding_name
            )
        };
        let role = format!("{} {}", grant.role_kind, grant.role_name);
        for subject in &grant.subjects {
            let who = match subject.namespace.as_deref() {
                Some(ns) if subject.kind == "ServiceAccount" => {
                    format!("ServiceAccount {ns}/{}", subject.name)
                }
                _ => format!("{} {}", subject.kind, subject.name),
            };
            rows.push([binding.clone(), role.clone(), who]);
        }
    }
    write_table(out, &rows)?;
    Ok(())
}

/// `ks auth rules`: the rules a user holds, one row per rule, in kubectl's
/// `can-i --list` columns. Unresolvable bindings are reported after the table.
pub fn rules(
    snapshot: &PolicySnapshot,
    args: &RulesArgs,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let groups: Vec<&str> = args.subject.as_group.iter().map(String::as_str).collect();
    let question = Question {
        verb: "",
        target: "",
        name: "",
        namespace: args.place.namespace.as_deref().unwrap_or(""),
        workspace: args.place.workspace.as_deref().unwrap_or(""),
        cluster: "",
        scope: args.place.scope.as_deref(),
    };
    let attrs = question.attributes(&args.subject.as_user, &groups)?;
    let review = snapshot.rules_for(&attrs);
    let list =
        |v: &Option<Vec<String>>| format!("[{}]", v.as_deref().unwrap_or_default().join(" "));
    let mut rows = vec![[
        "Resources".to_owned(),
        "Non-Resource URLs".to_owned(),
        "Resource Names".to_owned(),
        "Verbs".to_owned(),
    ]];
    for rule in &review.rules {
        let groups = rule.api_groups.as_deref().unwrap_or_default();
        let resources: Vec<String> = rule
            .resources
            .as_deref()
            .unwrap_or_default()
            .iter()
            .flat_map(|r| {
                groups.iter().map(move |g| {
                    if g.is_empty() {
                        r.clone()
                    } else {
                        format!("{r}.{g}")
                    }
                })
            })
            .collect();
        rows.push([
            resources.join(","),
            list(&rule.non_resource_urls),
            list(&rule.resource_names),
            format!("[{}]", rule.verbs.join(" ")),
        ]);
    }
    write_table(out, &rows)?;
    for error in &review.errors {
        writeln!(out, "incomplete: {error}")?;
    }
    Ok(())
}

/// Left-aligned columns separated by three spaces.
fn write_table<const N: usize>(out: &mut impl Write, rows: &[[String; N]]) -> io::Result<()> {
    let mut widths = [0; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}   "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// The batch form: one JSON attributes object per input line, one
/// `{"allowed": bool, "reason": string}` per output line, in order. A line
/// that is not a valid attributes object is answered `allowed: false` with
/// the problem as the reason; no line is skipped.
pub fn can_i_batch(
    snapshot: &PolicySnapshot,
    input: impl BufRead,
    out: &mut impl Write,
) -> io::Result<()> {
    for line in input.split(b'\n') {
        let line = line?;
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        let verdict = serde_json::from_slice::<AttributesRecord>(line)
            .map_err(|e| format!("invalid attributes: {e}"))
            .and_then(|record| {
                let attrs = record.as_attributes().map_err(|e| e.to_string())?;
                Ok(snapshot.authorize(&attrs))
            });
        let (allowed, reason) = match verdict {
            Ok(v) => (v.allowed, v.reason),
            Err(problem) => (false, problem),
        };
        serde_json::to_writer(
            &mut *out,
            &serde_json::json!({ "allowed": allowed, "reason": reason }),
        )?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_split_like_kubectl() {
        assert_eq!(split_resource("pods"), ("", "pods", ""));
        assert_eq!(split_resource("pods/log"), ("", "pods", "log"));
        assert_eq!(
            split_resource("deployments.apps/scale"),
            ("apps", "deployments", "scale")
        );
        assert_eq!(
            split_resource("users.iam.kubesphere.io"),
            ("iam.kubesphere.io", "users", "")
        );
        assert_eq!(split_resource("*"), ("", "*", ""));
    }
}
