//! `iam.kubesphere.io/v1alpha2`: users (and, next, roles, members and
//! groups).

pub mod users;

use std::sync::Arc;

use axum::Router;

use super::Kapis;

pub(super) fn routes() -> Router<Arc<Kapis>> {
    Router::new().merge(users::routes())
}
