//! KubeSphere's admission plugins, added after Kubernetes' own: its type
//! checks ([`KubeSphereTypes`]) and password hashing ([`UserPasswords`]).

use std::sync::Arc;

use async_trait::async_trait;
use ks_kube_api::admission::{AdmissionPlugin, AdmissionRequest, Operation};
use ks_kube_api::error::{ApiResult, Cause, GroupResource};
use ks_kube_api::resources::ResourceDef;
use ks_kube_api::{ApiError, App};
use ks_types::resource::KindInfo;
use ks_types::validation::{FieldErrors, Validate};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::authn::users::{Revocations, is_bcrypt_hash};

/// KubeSphere's own rules for its kinds (users, roles and bindings,
/// workspaces, clusters, ...), from ks-types, checked on every create and
/// update after the CRD's schema accepted the object (the part KubeSphere
/// runs as validating webhooks). Only the version ks-types models is
/// checked; other versions pass through.
#[derive(Debug)]
pub struct KubeSphereTypes;

#[async_trait]
impl AdmissionPlugin for KubeSphereTypes {
    fn name(&self) -> &'static str {
        "KubeSphereTypes"
    }

    async fn validate(&self, _app: &App, request: &AdmissionRequest<'_>) -> ApiResult<()> {
        let Some(obj) = &request.object else {
            return Ok(());
        };
        validate(request.resource, obj)
    }
}

/// Checks `obj` of resource `def` against ks-types' rules (a 422 naming
/// every invalid field); resources ks-types does not model pass.
pub fn validate(def: &ResourceDef, obj: &Value) -> ApiResult<()> {
    use ks_types::*;
    let errors = if is::<User>(def) {
        check::<User>(obj)?
    } else if is::<GlobalRole>(def) {
        check::<GlobalRole>(obj)?
    } else if is::<GlobalRoleBinding>(def) {
        check::<GlobalRoleBinding>(obj)?
    } else if is::<WorkspaceRole>(def) {
        check::<WorkspaceRole>(obj)?
    } else if is::<WorkspaceRoleBinding>(def) {
        check::<WorkspaceRoleBinding>(obj)?
    } else if is::<Group>(def) {
        check::<Group>(obj)?
    } else if is::<GroupBinding>(def) {
        check::<GroupBinding>(obj)?
    } else if is::<LoginRecord>(def) {
        check::<LoginRecord>(obj)?
    } else if is::<Workspace>(def) {
        check::<Workspace>(obj)?
    } else if is::<WorkspaceTemplate>(def) {
        check::<WorkspaceTemplate>(obj)?
    } else if is::<Cluster>(def) {
        check::<Cluster>(obj)?
    } else {
        return Ok(());
    };
    if errors.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid(
        GroupResource {
            group: &def.group,
            resource: &def.plural,
        },
        &def.kind,
        ks_kube_api::object::meta_str(obj, "name"),
        errors.into_iter().map(Into::into).collect(),
    ))
}

fn is<K: KindInfo>(def: &ResourceDef) -> bool {
    def.group == K::GROUP && def.kind == K::KIND && def.version == K::VERSION
}

fn check<K: DeserializeOwned + Validate>(obj: &Value) -> ApiResult<FieldErrors> {
    let typed: K = serde_json::from_value(obj.clone())
        .map_err(|e| ApiError::bad_request(format!("the object does not decode: {e}")))?;
    Ok(typed.validate())
}

/// Hashes users' passwords before anything is stored, and revokes a
/// user's tokens when the password changes or the user is disabled.
///
/// KubeSphere 3.x stores the plaintext and leaves hashing to its user
/// controller, so the password sits in the store (and in the
/// `kubectl.kubernetes.io/last-applied-configuration` copy that `kubectl
/// apply` keeps) until the controller runs. Here no plaintext reaches the
/// store: a `spec.password` that is not already a bcrypt hash must follow
/// KubeSphere's rule (8 to 64 characters with a lowercase letter, an
/// uppercase letter and a digit; 422 otherwise, without echoing it), and
/// is replaced by its bcrypt hash (cost 10) with
/// `iam.kubesphere.io/last-password-change-time` set and the
/// last-applied annotation dropped. Re-sending the current password (as
/// `kubectl apply` does once that annotation is gone) keeps the stored
/// hash and changes nothing.
#[derive(Debug)]
pub struct UserPasswords {
    revocations: Option<Arc<Revocations>>,
}

impl UserPasswords {
    /// The plugin; with `revocations`, password changes and disabling a
    /// user revoke the user's tokens.
    pub fn new(revocations: Option<Arc<Revocations>>) -> Self {
        UserPasswords { revocations }
    }

    async fn revoke(&self, user: &str) -> ApiResult<()> {
        if let Some(revocations) = &self.revocations {
            revocations
                .revoke_all(user, jiff::Timestamp::now().as_second())
                .await
                .map_err(ApiError::from)?;
        }
        Ok(())
    }
}

/// The annotation `kubectl apply` keeps the applied object in.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// KubeSphere's password rule: 8 to 64 characters, with a lowercase
/// letter, an uppercase letter and a digit.
pub fn password_is_acceptable(password: &str) -> bool {
    let n = password.chars().count();
    (8..=64).contains(&n)
        && password.chars().any(|c| c.is_ascii_lowercase())
        && password.chars().any(|c| c.is_ascii_uppercase())
        && password.chars().any(|c| c.is_ascii_digit())
}

fn password_of(obj: Option<&Value>) -> &str {
    obj.and_then(|o| o.pointer("/spec/password"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn state_of(obj: Option<&Value>) -> &str {
    obj.and_then(|o| o.pointer("/status/state"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

#[async_trait]
impl AdmissionPlugin for UserPasswords {
    fn name(&self) -> &'static str {
        "UserPasswords"
    }

    async fn admit(&self, _app: &App, request: &mut AdmissionRequest<'_>) -> ApiResult<()> {
        if !is::<ks_types::User>(request.resource) || request.operation == Operation::Delete {
            return Ok(());
        }
        let old = request.old_object;
        if request.subresource == "status" {
            if state_of(request.object.as_ref()) == "Disabled"
                && state_of(old) != "Disabled"
                && !request.dry_run
            {
                self.revoke(request.name).await?;
            }
            return Ok(());
        }
        let resource = request.resource;
        let (name, dry_run) = (request.name.to_owned(), request.dry_run);
        let Some(obj) = request.object.as_mut() else {
            return Ok(());
        };
        let new = password_of(Some(obj)).to_owned();
        let old_password = password_of(old);
        if new.is_empty() || new == old_password {
            return Ok(());
        }
        let hash = if is_bcrypt_hash(&new) {
            new
        } else {
            if !password_is_acceptable(&new) {
                return Err(ApiError::invalid(
                    GroupResource {
                        group: &resource.group,
                        resource: &resource.plural,
                    },
                    "User",
                    &name,
                    vec![Cause {
                        reason: "FieldValueInvalid".into(),
                        message: "Invalid value: \"<redacted>\": must be 8 to 64 characters with a lowercase letter, an uppercase letter and a digit".into(),
                        field: "spec.password".into(),
                    }],
                ));
            }
            let old_hash = is_bcrypt_hash(old_password).then(|| old_password.to_owned());
            let (unchanged, hash) = tokio::task::spawn_blocking(move || {
                if let Some(old_hash) = old_hash
                    && bcrypt::verify(&new, &old_hash).unwrap_or(false)
                {
                    return Ok((true, old_hash));
                }
                crate::authn::hash_password(&new).map(|h| (false, h))
            })
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(|e| ApiError::internal(format!("hashing the password: {e}")))?;
            if unchanged {
                obj["spec"]["password"] = Value::String(hash);
                drop_last_applied(obj);
                return Ok(());
            }
            hash
        };
        obj["spec"]["password"] = Value::String(hash);
        drop_last_applied(obj);
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            let annotations = meta
                .entry("annotations")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(map) = annotations.as_object_mut() {
                map.insert(
                    ks_types::meta::LAST_PASSWORD_CHANGE_TIME_ANNOTATION.to_owned(),
                    Value::String(
                        jiff::Timestamp::now()
                            .round(jiff::Unit::Second)
                            .map_or_else(|_| String::new(), |t| t.to_string()),
                    ),
                );
            }
        }
        if request.operation == Operation::Update && !dry_run {
            self.revoke(&name).await?;
        }
        Ok(())
    }
}

/// Drops the `kubectl apply` copy of the object, which holds the password
/// as the user sent it.
fn drop_last_applied(obj: &mut Value) {
    if let Some(annotations) = obj
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.remove(LAST_APPLIED);
    }
}
