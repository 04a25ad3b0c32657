//! Reading, merging and writing kubeconfig files the way kubectl leaves
//! them usable: entries `ks login` does not own (other clusters, users,
//! contexts, preferences, extensions, unknown fields) are kept as they
//! are, in their order; the file is replaced atomically with mode 0600.
//!
//! The document is held as a YAML value rather than typed structs so that
//! nothing a newer kubectl (or a plugin) wrote is lost on a round trip.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_norway::{Mapping, Value};

use crate::CliError;
use crate::client::Trust;

/// The exec plugin API version written into users (client-go has served
/// `client.authentication.k8s.io/v1` since Kubernetes 1.22).
pub const EXEC_API_VERSION: &str = "client.authentication.k8s.io/v1";

/// The kubeconfig to use: `explicit`, else the first file of
/// `$KUBECONFIG`, else `~/.kube/config`.
pub fn path(explicit: Option<&Path>) -> Result<PathBuf, CliError> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    if let Some(list) = std::env::var_os("KUBECONFIG")
        && let Some(first) = std::env::split_paths(&list).find(|p| !p.as_os_str().is_empty())
    {
        return Ok(first);
    }
    dirs::home_dir()
        .map(|home| home.join(".kube").join("config"))
        .ok_or_else(|| {
            CliError::Usage(
                "no home directory to find ~/.kube/config in: pass --kubeconfig FILE".to_owned(),
            )
        })
}

/// What a cluster entry says about its server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterEntry {
    /// `server`.
    pub server: String,
    /// How its certificate is checked: `certificate-authority-data`, the
    /// `certificate-authority` file, `insecure-skip-tls-verify`, or nothing.
    pub trust: Trust,
}

/// The credentials of a user entry, as far as `ks` cares.
#[derive(Clone, PartialEq, Eq)]
pub enum UserCredentials {
    /// The exec plugin `ks login` writes: `ks credential --server S
    /// --username U`.
    KsExec {
        /// The server.
        server: String,
        /// The user.
        username: String,
    },
    /// A bearer token.
    Token(String),
    /// Something else (a client certificate, another plugin).
    Other,
    /// Nothing.
    None,
}

impl std::fmt::Debug for UserCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserCredentials::KsExec { server, username } => f
                .debug_struct("KsExec")
                .field("server", server)
                .field("username", username)
                .finish(),
            UserCredentials::Token(_) => f.write_str("Token(..)"),
            UserCredentials::Other => f.write_str("Other"),
            UserCredentials::None => f.write_str("None"),
        }
    }
}

/// The exec plugin entry of a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecPlugin {
    /// The program (the absolute path of `ks`).
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// What kubectl prints when the program is missing.
    pub install_hint: String,
}

/// A kubeconfig document.
#[derive(Clone, Debug, PartialEq)]
pub struct Kubeconfig {
    doc: Mapping,
}

fn key(k: &str) -> Value {
    Value::String(k.to_owned())
}

fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}

impl Default for Kubeconfig {
    fn default() -> Self {
        Self::new()
    }
}

impl Kubeconfig {
    /// An empty `kind: Config`.
    pub fn new() -> Self {
        let mut doc = Mapping::new();
        doc.insert(key("apiVersion"), string("v1"));
        doc.insert(key("kind"), string("Config"));
        doc.insert(key("clusters"), Value::Sequence(Vec::new()));
        doc.insert(key("contexts"), Value::Sequence(Vec::new()));
        doc.insert(key("current-context"), string(""));
        doc.insert(key("preferences"), Value::Mapping(Mapping::new()));
        doc.insert(key("users"), Value::Sequence(Vec::new()));
        Kubeconfig { doc }
    }

    /// Parses a kubeconfig (YAML or JSON); an empty document is an empty
    /// config.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::new());
        }
        match serde_norway::from_str::<Value>(text).map_err(|e| e.to_string())? {
            Value::Mapping(doc) => {
                for list in ["clusters", "contexts", "users"] {
                    match doc.get(list) {
                        None | Some(Value::Null | Value::Sequence(_)) => {}
                        Some(_) => return Err(format!("`{list}` is not a list")),
                    }
                }
                Ok(Kubeconfig { doc })
            }
            Value::Null => Ok(Self::new()),
            _ => Err("not a kubeconfig (the document is not a mapping)".to_owned()),
        }
    }

    /// Reads `path`; `None` when the file does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>, CliError> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(config_error(path, e.to_string())),
        };
        Self::parse(&text)
            .map(Some)
            .map_err(|reason| config_error(path, reason))
    }

    /// The document as YAML.
    pub fn to_yaml(&self) -> Result<String, String> {
        serde_norway::to_string(&Value::Mapping(self.doc.clone())).map_err(|e| e.to_string())
    }

    /// Writes the document to `path` atomically (a temporary file in the
    /// same directory, then a rename), mode 0600, creating missing parent
    /// directories (mode 0700). A symbolic link is followed, so the file
    /// it points at is replaced, not the link.
    pub fn save(&self, path: &Path) -> Result<(), CliError> {
        let text = self
            .to_yaml()
            .map_err(|reason| config_error(path, reason))?;
        write_private(path, text.as_bytes()).map_err(|e| config_error(path, e.to_string()))
    }

    fn entries(&self, list: &str) -> impl Iterator<Item = &Mapping> {
        self.doc
            .get(list)
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(Value::as_mapping)
    }

    /// The inner mapping (`cluster`, `user`, `context`) of the entry
    /// `name` of `list`.
    fn entry(&self, list: &str, inner: &str, name: &str) -> Option<&Mapping> {
        self.entries(list)
            .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|e| e.get(inner))
            .and_then(Value::as_mapping)
    }

    /// The inner mapping of the entry `name`, created (at the end of the
    /// list) when missing.
    fn entry_mut(&mut self, list: &str, inner: &str, name: &str) -> &mut Mapping {
        let seq = ensure_sequence(self.doc.entry(key(list)).or_insert(Value::Null));
        let position = seq.iter().position(|e| {
            e.as_mapping()
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                == Some(name)
        });
        let index = position.unwrap_or_else(|| {
            let mut entry = Mapping::new();
            entry.insert(key("name"), string(name));
            seq.push(Value::Mapping(entry));
            seq.len() - 1
        });
        let entry = ensure_mapping(&mut seq[index]);
        ensure_mapping(entry.entry(key(inner)).or_insert(Value::Null))
    }

    /// `current-context`, when set.
    pub fn current_context(&self) -> Option<&str> {
        self.doc
            .get("current-context")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// Sets `current-context`.
    pub fn set_current_context(&mut self, name: &str) {
        self.doc.insert(key("current-context"), string(name));
    }

    /// The cluster and user names of the context `name`.
    pub fn context(&self, name: &str) -> Option<(String, String)> {
        let context = self.entry("contexts", "context", name)?;
        let field = |k: &str| {
            context
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Some((field("cluster"), field("user")))
    }

    /// Sets the context `name` to `cluster` and `user`, keeping its other
    /// fields (a namespace, extensions).
    pub fn set_context(&mut self, name: &str, cluster: &str, user: &str) {
        let context = self.entry_mut("contexts", "context", name);
        context.insert(key("cluster"), string(cluster));
        context.insert(key("user"), string(user));
    }

    /// The cluster `name`. A `certificate-authority` file is read, relative
    /// to `base_dir` (the kubeconfig's directory).
    pub fn cluster(&self, name: &str, base_dir: &Path) -> Result<Option<ClusterEntry>, String> {
        match self.entry("clusters", "cluster", name) {
            Some(cluster) => cluster_entry(cluster, base_dir).map(Some),
            None => Ok(None),
        }
    }

    /// The first cluster whose `server` is `server` (ignoring a trailing
    /// `/`).
    pub fn cluster_by_server(
        &self,
        server: &str,
        base_dir: &Path,
    ) -> Result<Option<ClusterEntry>, String> {
        let wanted = server.trim_end_matches('/');
        for entry in self.entries("clusters") {
            if let Some(cluster) = entry.get("cluster").and_then(Value::as_mapping)
                && cluster
                    .get("server")
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.trim_end_matches('/') == wanted)
            {
                return cluster_entry(cluster, base_dir).map(Some);
            }
        }
        Ok(None)
    }

    /// Sets the cluster `name` to `server` with `trust`, keeping its other
    /// fields (a proxy URL, `tls-server-name`, extensions).
    pub fn set_cluster(&mut self, name: &str, server: &str, trust: &Trust) {
        let cluster = self.entry_mut("clusters", "cluster", name);
        cluster.insert(key("server"), string(server));
        for k in [
            "certificate-authority",
            "certificate-authority-data",
            "insecure-skip-tls-verify",
        ] {
            cluster.shift_remove(k);
        }
        match trust {
            Trust::Ca(pem) => {
                cluster.insert(
                    key("certificate-authority-data"),
                    string(&base64::engine::general_purpose::STANDARD.encode(pem)),
                );
            }
            Trust::InsecureSkipVerify => {
                cluster.insert(key("insecure-skip-tls-verify"), Value::Bool(true));
            }
            Trust::Nothing => {}
        }
    }

    /// Replaces the credentials of the user `name` with `plugin`.
    pub fn set_user_exec(&mut self, name: &str, plugin: &ExecPlugin) {
        let mut exec = Mapping::new();
        exec.insert(key("apiVersion"), string(EXEC_API_VERSION));
        exec.insert(key("command"), string(&plugin.command));
        exec.insert(
            key("args"),
            Value::Sequence(plugin.args.iter().map(|a| string(a)).collect()),
        );
        exec.insert(key("installHint"), string(&plugin.install_hint));
        exec.insert(key("interactiveMode"), string("Never"));
        exec.insert(key("provideClusterInfo"), Value::Bool(false));
        let user = self.entry_mut("users", "user", name);
        user.clear();
        user.insert(key("exec"), Value::Mapping(exec));
    }

    /// The credentials of the user `name` (`None` for an unknown user).
    pub fn user_credentials(&self, name: &str) -> UserCredentials {
        let Some(user) = self.entry("users", "user", name) else {
            return UserCredentials::None;
        };
        if let Some(exec) = user.get("exec").and_then(Value::as_mapping) {
            return match ks_exec_args(exec) {
                Some((server, username)) => UserCredentials::KsExec { server, username },
                None => UserCredentials::Other,
            };
        }
        if let Some(token) = user
            .get("token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            return UserCredentials::Token(token.to_owned());
        }
        let has_other = user.keys().any(|k| {
            matches!(
                k.as_str(),
                Some(
                    "client-certificate"
                        | "client-certificate-data"
                        | "client-key"
                        | "client-key-data"
                        | "tokenFile"
                        | "username"
                        | "password"
                        | "auth-provider"
                )
            )
        });
        if has_other {
            UserCredentials::Other
        } else {
            UserCredentials::None
        }
    }

    /// Removes what `ks login` put into the user `name` (its exec plugin)
    /// and any bearer token; other credentials (certificates, other
    /// plugins) are left alone. Returns whether anything was removed.
    pub fn clear_user_credentials(&mut self, name: &str) -> bool {
        let ours = matches!(
            self.user_credentials(name),
            UserCredentials::KsExec { .. } | UserCredentials::Token(_)
        );
        if !ours {
            return false;
        }
        let user = self.entry_mut("users", "user", name);
        let mut removed = false;
        if user
            .get("exec")
            .and_then(Value::as_mapping)
            .is_some_and(|e| ks_exec_args(e).is_some())
        {
            removed |= user.shift_remove("exec").is_some();
        }
        removed |= user.shift_remove("token").is_some();
        removed
    }
}

/// `--server S --username U` of an exec entry running `ks credential`.
fn ks_exec_args(exec: &Mapping) -> Option<(String, String)> {
    let args: Vec<&str> = exec
        .get("args")?
        .as_sequence()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if args.first() != Some(&"credential") {
        return None;
    }
    let value = |flag: &str| {
        let with_eq = format!("{flag}=");
        args.iter().enumerate().find_map(|(i, a)| {
            if *a == flag {
                args.get(i + 1).map(|v| (*v).to_owned())
            } else {
                a.strip_prefix(&with_eq).map(str::to_owned)
            }
        })
    };
    Some((value("--server")?, value("--username")?))
}

fn cluster_entry(cluster: &Mapping, base_dir: &Path) -> Result<ClusterEntry, String> {
    let server = cluster
        .get("server")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let trust = if let Some(data) = cluster
        .get("certificate-authority-data")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
    {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| format!("certificate-authority-data is not base64: {e}"))?;
        let pem = String::from_utf8(bytes)
            .map_err(|_| "certificate-authority-data is not PEM text".to_owned())?;
        Trust::from_pem(&pem).map_err(|e| format!("certificate-authority-data: {e}"))?
    } else if let Some(file) = cluster
        .get("certificate-authority")
        .and_then(Value::as_str)
        .filter(|f| !f.is_empty())
    {
        let file = base_dir.join(file);
        let pem = fs::read_to_string(&file)
            .map_err(|e| format!("certificate-authority {}: {e}", file.display()))?;
        Trust::from_pem(&pem)
            .map_err(|e| format!("certificate-authority {}: {e}", file.display()))?
    } else if cluster
        .get("insecure-skip-tls-verify")
        .and_then(Value::as_bool)
        == Some(true)
    {
        Trust::InsecureSkipVerify
    } else {
        Trust::Nothing
    };
    Ok(ClusterEntry { server, trust })
}

/// `value` as a mapping, replaced by an empty one when it is not.
fn ensure_mapping(value: &mut Value) -> &mut Mapping {
    if !value.is_mapping() {
        *value = Value::Mapping(Mapping::new());
    }
    match value {
        Value::Mapping(m) => m,
        _ => unreachable!("made a mapping above"),
    }
}

/// `value` as a sequence, replaced by an empty one when it is not.
fn ensure_sequence(value: &mut Value) -> &mut Vec<Value> {
    if !value.is_sequence() {
        *value = Value::Sequence(Vec::new());
    }
    match value {
        Value::Sequence(s) => s,
        _ => unreachable!("made a sequence above"),
    }
}

fn config_error(path: &Path, reason: String) -> CliError {
    CliError::Config {
        path: path.to_path_buf(),
        reason,
    }
}

/// The directory a file `path` lives in (`.` for a bare name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to `path` atomically with mode 0600 (owner only), and
/// creates missing parent directories with mode 0700.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    // Replace the file a symbolic link points at, not the link.
    let target = match fs::canonicalize(path) {
        Ok(real) => real,
        Err(_) => path.to_path_buf(),
    };
    let dir = parent_dir(&target);
    create_private_dir(dir)?;
    // tempfile creates the file with mode 0600 on Unix.
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.as_file()
            .set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    file.persist(&target).map_err(|e| e.error)?;
    Ok(())
}

/// Creates `dir` and its missing parents, mode 0700 for the ones created.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXISTING: &str = r#"
apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://prod.example.com:6443
    insecure-skip-tls-verify: true
    proxy-url: http://proxy:3128
contexts:
- name: prod-admin
  context:
    cluster: prod
    user: prod-admin
    namespace: kube-system
current-context: prod-admin
preferences: {}
users:
- name: prod-admin
  user:
    client-certificate-data: Y2VydA==
    client-key-data: a2V5
extensions:
- name: keep-me
  extension: {a: 1}
"#;

    fn plugin() -> ExecPlugin {
        ExecPlugin {
            command: "/usr/bin/ks".into(),
            args: vec![
                "credential".into(),
                "--server".into(),
                "http://127.0.0.1:9".into(),
                "--username".into(),
                "alice".into(),
            ],
            install_hint: "install ks".into(),
        }
    }

    #[test]
    fn merging_keeps_every_entry_it_does_not_own() {
        let mut config = Kubeconfig::parse(EXISTING).unwrap();
        let original = config.clone();
        config.set_cluster("127.0.0.1:9", "http://127.0.0.1:9", &Trust::Nothing);
        config.set_user_exec("alice@127.0.0.1:9", &plugin());
        config.set_context("alice@127.0.0.1:9", "127.0.0.1:9", "alice@127.0.0.1:9");
        config.set_current_context("alice@127.0.0.1:9");

        let reread = Kubeconfig::parse(&config.to_yaml().unwrap()).unwrap();
        assert_eq!(reread, config);
        // The old entries, exactly.
        for (list, inner, name) in [
            ("clusters", "cluster", "prod"),
            ("contexts", "context", "prod-admin"),
            ("users", "user", "prod-admin"),
        ] {
            assert_eq!(
                reread.entry(list, inner, name),
                original.entry(list, inner, name),
                "{list}/{name}"
            );
        }
        assert!(reread.doc.get("extensions").is_some());
        assert_eq!(reread.current_context(), Some("alice@127.0.0.1:9"));
        assert_eq!(
            reread.context("alice@127.0.0.1:9"),
            Some(("127.0.0.1:9".into(), "alice@127.0.0.1:9".into()))
        );
        assert_eq!(
            reread.user_credentials("alice@127.0.0.1:9"),
            UserCredentials::KsExec {
                server: "http://127.0.0.1:9".into(),
                username: "alice".into()
            }
        );
        assert_eq!(
            reread.user_credentials("prod-admin"),
            UserCredentials::Other
        );
    }

    #[test]
    fn updating_a_cluster_replaces_only_its_trust_and_server() {
        let mut config = Kubeconfig::parse(EXISTING).unwrap();
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        config.set_cluster(
            "prod",
            "https://prod.example.com:6443",
            &Trust::Ca(pem.into()),
        );
        let cluster = config.entry("clusters", "cluster", "prod").unwrap();
        assert!(cluster.get("insecure-skip-tls-verify").is_none());
        assert_eq!(
            cluster.get("proxy-url").and_then(Value::as_str),
            Some("http://proxy:3128")
        );
        assert!(cluster.get("certificate-authority-data").is_some());
        // The context keeps its namespace when re-pointed.
        config.set_context("prod-admin", "prod", "someone");
        let context = config.entry("contexts", "context", "prod-admin").unwrap();
        assert_eq!(
            context.get("namespace").and_then(Value::as_str),
            Some("kube-system")
        );
    }

    #[test]
    fn clearing_credentials_leaves_foreign_ones_alone() {
        let mut config = Kubeconfig::parse(EXISTING).unwrap();
        assert!(!config.clear_user_credentials("prod-admin"));
        assert_eq!(
            config.user_credentials("prod-admin"),
            UserCredentials::Other
        );
        config.set_user_exec("alice", &plugin());
        assert!(config.clear_user_credentials("alice"));
        assert_eq!(config.user_credentials("alice"), UserCredentials::None);
        // The entry stays (its context still names it).
        assert!(config.entry("users", "user", "alice").is_some());
    }

    #[test]
    fn empty_and_null_documents_are_empty_configs() {
        for text in ["", "  \n", "null", "clusters: null\n"] {
            let config = Kubeconfig::parse(text).unwrap();
            assert_eq!(config.current_context(), None);
        }
        assert!(Kubeconfig::parse("- a\n- b\n").is_err());
        assert!(Kubeconfig::parse("clusters: 3\n").is_err());
        assert!(Kubeconfig::parse("{{{").is_err());
    }

    #[test]
    fn foreign_exec_plugins_are_not_ours() {
        let text = r#"
users:
- name: eks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [eks, get-token, --cluster-name, x]
"#;
        let config = Kubeconfig::parse(text).unwrap();
        assert_eq!(config.user_credentials("eks"), UserCredentials::Other);
    }

    #[cfg(unix)]
    #[test]
    fn saved_files_are_private_and_links_are_followed() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("nested").join("real-config");
        let link = dir.path().join("config");
        Kubeconfig::new().save(&real).unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut config = Kubeconfig::load(&link).unwrap().unwrap();
        config.set_current_context("x");
        config.save(&link).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let mode = fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = fs::metadata(real.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
        assert_eq!(
            Kubeconfig::load(&real).unwrap().unwrap().current_context(),
            Some("x")
        );
    }
}
