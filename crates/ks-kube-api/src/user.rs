//! The caller's identity, as the authentication in front of the API
//! established it.

use std::collections::BTreeMap;

/// Who is making a request: Kubernetes' `user.Info`. The server in front
/// of the API (ks-apiserver's filters) inserts it as a request extension;
/// admission plugins read it. A request without one runs as
/// [`UserInfo::default`] (empty name, no groups): the API itself never
/// authenticates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// The user name (`admin`, `system:serviceaccount:ns:sa`).
    pub name: String,
    /// A unique, stable identifier, if the authenticator has one.
    pub uid: String,
    /// The groups the user is a member of.
    pub groups: Vec<String>,
    /// Whatever else the authenticator knows (e.g. the token's scopes).
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    /// A user with a name and groups.
    pub fn new(
        name: impl Into<String>,
        groups: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        UserInfo {
            name: name.into(),
            groups: groups.into_iter().map(Into::into).collect(),
            ..UserInfo::default()
        }
    }
}
