//! `iam.kubesphere.io/v1alpha2`: users, roles, members and groups.
//!
//! - [`users`]: users, their passwords, login records and global role
//!   templates;
//! - [`roles`]: global roles, cluster roles, workspace roles and namespace
//!   roles, whose rules follow their role templates;
//! - [`members`]: the members of the cluster, a workspace or a namespace
//!   (the users its bindings name), adding, changing and removing them,
//!   and the role templates they hold there;
//! - [`groups`]: a workspace's groups, the users in them, and the roles
//!   given to groups in the workspace and its namespaces.

pub mod groups;
pub mod members;
pub mod roles;
pub mod users;

use std::sync::Arc;

use axum::Router;

use super::Kapis;

pub(super) fn routes() -> Router<Arc<Kapis>> {
    Router::new()
        .merge(users::routes())
        .merge(roles::routes())
        .merge(members::routes())
        .merge(groups::routes())
}
