//! Which controllers run: KubeSphere's `--controllers` list.
//!
//! KubeSphere 3.4 (`cmd/controller-manager/app/options/options.go`): each
//! item is `*` (every controller), `name` (enable it) or `-name` (disable
//! it). For a given name the first item naming it wins; `*` has the lowest
//! priority, so `*,-foo` runs everything but `foo`, and `-foo,foo` disables
//! `foo`. Without `*`, only the named controllers run. Unknown names are an
//! error (KubeSphere's `Validate`).

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// Every controller name KubeSphere 3.4 accepts in `--controllers`
/// (`allControllers` in `cmd/controller-manager/app/controllers.go`), in its
/// order. Names that ks-rs does not implement yet are accepted and do
/// nothing (see [`IMPLEMENTED_CONTROLLERS`]).
pub const ALL_CONTROLLERS: &[&str] = &[
    "user",
    "workspacetemplate",
    "workspace",
    "workspacerole",
    "workspacerolebinding",
    "namespace",
    "helmrepo",
    "helmcategory",
    "helmapplication",
    "helmapplicationversion",
    "helmrelease",
    "helm",
    "application",
    "serviceaccount",
    "resourcequota",
    "virtualservice",
    "destinationrule",
    "job",
    "storagecapability",
    "pvcautoresizer",
    "workloadrestart",
    "loginrecord",
    "cluster",
    "nsnp",
    "ippool",
    "csr",
    "clusterrolebinding",
    "fedglobalrolecache",
    "globalrole",
    "fedglobalrolebindingcache",
    "globalrolebinding",
    "groupbinding",
    "group",
    "notification",
    "pvcworkloadrestarter",
    "rulegroup",
    "clusterrulegroup",
    "globalrulegroup",
];

/// The controllers this crate implements so far, in [`ALL_CONTROLLERS`]'
/// order.
pub const IMPLEMENTED_CONTROLLERS: &[&str] = &[
    crate::user::NAME,
    crate::workspacetemplate::NAME,
    crate::workspace::NAME,
    crate::workspacerole::WORKSPACE_ROLE,
    crate::workspacerole::WORKSPACE_ROLE_BINDING,
    crate::namespace::NAME,
    crate::loginrecord::NAME,
    crate::globalrolebinding::NAME,
    crate::groupbinding::NAME,
    crate::group::NAME,
];

/// One item of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Gate {
    All,
    Enable(String),
    Disable(String),
}

/// A parsed `--controllers` list.
///
/// ```
/// use ks_controller_manager::Controllers;
///
/// let c = Controllers::parse(["*", "-namespace"]).unwrap();
/// assert!(c.is_enabled("user"));
/// assert!(!c.is_enabled("namespace"));
/// assert!(Controllers::parse(["users"]).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Controllers {
    gates: Vec<Gate>,
}

impl Default for Controllers {
    /// `*`: every controller, KubeSphere's default.
    fn default() -> Self {
        Controllers {
            gates: vec![Gate::All],
        }
    }
}

impl Controllers {
    /// Parses list items (`*`, `name`, `-name`); surrounding spaces and
    /// empty items are ignored. Fails naming every unknown controller.
    pub fn parse<I, S>(items: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut gates = Vec::new();
        let mut unknown = Vec::new();
        for item in items {
            let item = item.as_ref().trim();
            if item.is_empty() {
                continue;
            }
            if item == "*" {
                gates.push(Gate::All);
                continue;
            }
            let (name, enable) = match item.strip_prefix('-') {
                Some(name) => (name, false),
                None => (item, true),
            };
            if !ALL_CONTROLLERS.contains(&name) {
                unknown.push(name.to_owned());
                continue;
            }
            gates.push(if enable {
                Gate::Enable(name.to_owned())
            } else {
                Gate::Disable(name.to_owned())
            });
        }
        if unknown.is_empty() {
            Ok(Controllers { gates })
        } else {
            Err(Error::UnknownControllers { names: unknown })
        }
    }

    /// Whether the controller `name` runs: the first item naming it decides,
    /// else whether the list holds `*`.
    pub fn is_enabled(&self, name: &str) -> bool {
        let mut all = false;
        for gate in &self.gates {
            match gate {
                Gate::Enable(n) if n == name => return true,
                Gate::Disable(n) if n == name => return false,
                Gate::All => all = true,
                _ => {}
            }
        }
        all
    }

    /// The implemented controllers that run, in [`ALL_CONTROLLERS`]' order.
    pub fn enabled_implemented(&self) -> impl Iterator<Item = &'static str> + '_ {
        IMPLEMENTED_CONTROLLERS
            .iter()
            .copied()
            .filter(|name| self.is_enabled(name))
    }
}

impl FromStr for Controllers {
    type Err = Error;

    /// Parses the comma-separated form of the flag, e.g. `*,-namespace`.
    fn from_str(s: &str) -> Result<Self, Error> {
        Controllers::parse(s.split(','))
    }
}

impl fmt::Display for Controllers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, gate) in self.gates.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match gate {
                Gate::All => f.write_str("*")?,
                Gate::Enable(n) => f.write_str(n)?,
                Gate::Disable(n) => write!(f, "-{n}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (list, name, enabled)
    const CASES: &[(&str, &str, bool)] = &[
        ("*", "user", true),
        ("*", "globalrulegroup", true),
        ("", "user", false),
        ("user", "user", true),
        ("user", "namespace", false),
        ("-user", "user", false),
        ("-user", "namespace", false),
        ("*,-user", "user", false),
        ("*,-user", "namespace", true),
        ("-user,*", "user", false),
        ("-user,user", "user", false),
        ("user,-user", "user", true),
        ("user,*,-user", "user", true),
        (" user , namespace ", "namespace", true),
        ("user,,namespace", "namespace", true),
    ];

    #[test]
    fn table() {
        for (list, name, want) in CASES {
            let c: Controllers = list.parse().unwrap();
            assert_eq!(c.is_enabled(name), *want, "--controllers={list:?} {name}");
        }
    }

    #[test]
    fn unknown_names_are_all_reported() {
        let err = "*,users,-nope,user".parse::<Controllers>().unwrap_err();
        match &err {
            Error::UnknownControllers { names } => assert_eq!(names, &["users", "nope"]),
            other => panic!("unexpected {other:?}"),
        }
        let text = err.to_string();
        assert!(text.contains("users, nope"), "{text}");
        assert!(text.contains("workspacetemplate"), "{text}");
    }

    #[test]
    fn default_is_all() {
        let c = Controllers::default();
        assert!(ALL_CONTROLLERS.iter().all(|n| c.is_enabled(n)));
        assert_eq!(c.to_string(), "*");
    }

    #[test]
    fn display_round_trips() {
        let c: Controllers = "*,-user,namespace".parse().unwrap();
        assert_eq!(c.to_string(), "*,-user,namespace");
        assert_eq!(c.to_string().parse::<Controllers>().unwrap(), c);
    }

    #[test]
    fn implemented_are_known() {
        let positions: Vec<usize> = IMPLEMENTED_CONTROLLERS
            .iter()
            .map(|n| ALL_CONTROLLERS.iter().position(|a| a == n).expect(n))
            .collect();
        assert!(positions.is_sorted(), "{IMPLEMENTED_CONTROLLERS:?}");
        let c: Controllers = "-user".parse().unwrap();
        assert_eq!(c.enabled_implemented().count(), 0);
    }
}
