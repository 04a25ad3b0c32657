//! create, update, patch, delete and deletecollection.

use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use ks_request_info::RequestInfo;
use ks_store::{KeyValue, Precondition, StoreError, WriteOp};
use serde_json::{Map, Value, json};

use super::negotiate::{self, Format};
use super::params::{Propagation, parse_propagation};
use super::read::{read_page, selectors, served_bytes, served_object};
use super::{Params, Target, decode_body};
use crate::admission::{AdmissionRequest, Operation};
use crate::app::App;
use crate::error::{ApiError, ApiResult, GroupResource, success_status};
use crate::kinds::Validation;
use crate::object::{self, encode_with_revision, finalizers, is_deleting, meta_str, set_meta};
use crate::resources::ResourceDef;
use crate::user::UserInfo;

/// How many times an unconditional update or a patch is retried when a
/// concurrent write wins the race.
const MAX_RETRIES: usize = 16;

/// How many names a create with `generateName` tries before answering 409
/// (Kubernetes 1.32+: the first and 7 more).
pub(crate) const GENERATE_NAME_ATTEMPTS: usize = 8;

/// Finalizer the garbage collector honours for Orphan propagation.
pub(crate) const ORPHAN_FINALIZER: &str = "orphan";
/// Finalizer the garbage collector honours for Foreground propagation.
pub(crate) const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

fn with_warnings(mut response: Response, warnings: &[String]) -> Response {
    for w in warnings {
        let text = format!("299 - {:?}", w);
        if let Ok(value) = HeaderValue::from_str(&text) {
            response.headers_mut().append("warning", value);
        }
    }
    response
}

/// Fills apiVersion/kind (rejecting others), namespace and name.
fn prepare_identity(def: &ResourceDef, obj: &mut Value, namespace: &str) -> ApiResult<()> {
    let api_version = def.api_version();
    let Some(map) = obj.as_object_mut() else {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    };
    match map.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("apiVersion".into(), json!(api_version));
        }
        Some(v) if v == api_version => {}
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )));
        }
    }
    match map.get("kind").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("kind".into(), json!(def.kind));
        }
        Some(k) if k == def.kind => {}
        Some(k) => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                def.kind
            )));
        }
    }
    if !map.get("metadata").is_none_or(Value::is_object) {
        return Err(ApiError::bad_request("metadata must be an object"));
    }
    let body_ns = object::meta_str(obj, "namespace").to_owned();
    if def.namespaced {
        if !body_ns.is_empty() && body_ns != namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        set_meta(obj, "namespace", json!(namespace));
    } else {
        object::remove_meta(obj, "namespace");
    }
    Ok(())
}

/// Runs a write through admission and the kind's strategy: mutating
/// plugins, then the strategy's decoding, defaults and validation (with
/// the metadata rules), then validating plugins. Returns the object to
/// store and the warnings to send.
async fn admit(
    app: &App,
    target: &Target<'_>,
    params: &Params,
    operation: Operation,
    obj: Value,
    old: Option<&Value>,
) -> ApiResult<(Value, Vec<String>)> {
    let def = &target.def;
    let name = meta_str(&obj, "name").to_owned();
    let mut request = AdmissionRequest {
        operation,
        resource: def,
        subresource: target.subresource,
        namespace: target.namespace,
        name: &name,
        object: Some(obj),
        old_object: old,
        user: target.user,
        dry_run: params.dry_run,
    };
    app.admission.admit(app, &mut request).await?;
    let mut obj = request
        .object
        .take()
        .ok_or_else(|| ApiError::internal("an admission plugin removed the object"))?;
    let warnings = validate_object(def, &mut obj, old, params.field_validation)?;
    request.object = Some(obj);
    app.admission.validate(app, &request).await?;
    let obj = request.object.unwrap_or_default();
    Ok((obj, warnings))
}

/// The strategy's part of a write: the metadata rules, then the kind's
/// decoding, defaults and validation. A 422 names every invalid field.
pub(crate) fn validate_object(
    def: &ResourceDef,
    obj: &mut Value,
    old: Option<&Value>,
    field_validation: crate::api::params::FieldValidation,
) -> ApiResult<Vec<String>> {
    let name = meta_str(obj, "name").to_owned();
    let mut validation = Validation::new(field_validation);
    validation.extend(ks_types::validation::validate_object_meta_json(
        obj,
        def.strategy.name_rule(),
    ));
    def.strategy.validate(obj, old, &mut validation)?;
    if !validation.causes.is_empty() {
        return Err(ApiError::invalid(
            GroupResource {
                group: &def.group,
                resource: &def.plural,
            },
            &def.kind,
            &name,
            validation.causes,
        ));
    }
    Ok(validation.warnings)
}

pub(super) async fn create(
    app: &App,
    target: &Target<'_>,
    format: &Format,
    params: &Params,
    content_type: &str,
    body: &[u8],
) -> ApiResult<Response> {
    if !target.name.is_empty() {
        return Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource (POST to a named resource)",
        ));
    }
    let obj = decode_body(body, content_type, &app.registry.view())?;
    create_object(app, target, format, params, obj).await
}

pub(super) async fn create_object(
    app: &App,
    target: &Target<'_>,
    format: &Format,
    params: &Params,
    mut obj: Value,
) -> ApiResult<Response> {
    let def = &target.def;
    prepare_identity(def, &mut obj, target.namespace)?;
    let generate_name = match meta_str(&obj, "name") {
        "" => Some(meta_str(&obj, "generateName").to_owned()).filter(|p| !p.is_empty()),
        _ => None,
    };
    if let Some(prefix) = &generate_name {
        set_meta(&mut obj, "name", json!((app.name_generator)(prefix)));
    }
    if object::metadata(&obj)
        .and_then(|m| m.get("resourceVersion"))
        .is_some_and(|v| !v.is_null() && v != "")
    {
        return Err(ApiError::bad_request(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    for field in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "selfLink",
        "resourceVersion",
    ] {
        object::remove_meta(&mut obj, field);
    }
    set_meta(&mut obj, "uid", json!(uuid::Uuid::new_v4().to_string()));
    set_meta(&mut obj, "creationTimestamp", json!(object::now_rfc3339()));
    if def.strategy.tracks_generation() {
        set_meta(&mut obj, "generation", json!(1));
    }
    def.strategy.prepare_for_create(&mut obj);
    let (mut obj, warnings) = admit(app, target, params, Operation::Create, obj, None).await?;
    if params.dry_run {
        return Ok(with_warnings(
            negotiate::respond(StatusCode::CREATED, format, &obj),
            &warnings,
        ));
    }
    // A generated name that is taken is replaced by another, as
    // Kubernetes does since 1.32, up to GENERATE_NAME_ATTEMPTS names.
    let mut attempt = 1;
    let result = loop {
        let name = meta_str(&obj, "name").to_owned();
        let retry = generate_name.is_some() && attempt < GENERATE_NAME_ATTEMPTS;
        let stored = def.stored(if retry {
            obj.clone()
        } else {
            std::mem::take(&mut obj)
        });
        let written = app
            .store
            .write(
                &def.key(target.namespace, &name),
                Precondition::MustNotExist,
                WriteOp::Put(Box::new(move |rev| Ok(encode_with_revision(stored, rev)?))),
            )
            .await;
        match (written, &generate_name) {
            (Ok(result), _) => break result,
            (Err(StoreError::AlreadyExists { .. }), Some(prefix)) if retry => {
                attempt += 1;
                set_meta(&mut obj, "name", json!((app.name_generator)(prefix)));
            }
            (Err(StoreError::AlreadyExists { .. }), Some(_)) => {
                return Err(ApiError::generate_name_conflict(target.gr(), &name));
            }
            (Err(StoreError::AlreadyExists { .. }), None) => {
                return Err(ApiError::already_exists(target.gr(), &name));
            }
            (Err(other), _) => return Err(ApiError::from(other)),
        }
    };
    let Some(current) = result.current else {
        return Err(ApiError::internal("the write returned no value"));
    };
    after_write(app, def).await;
    let bytes = served_bytes(def, &current.value)?.into_owned();
    Ok(with_warnings(
        negotiate::respond_bytes(StatusCode::CREATED, format, bytes),
        &warnings,
    ))
}

fn add_finalizer(obj: &mut Value, finalizer: &str) {
    let mut list = finalizers(obj);
    if !list.iter().any(|f| f == finalizer) {
        list.push(finalizer.to_owned());
        set_meta(obj, "finalizers", json!(list));
    }
}

/// Hooks that run after a committed write: a CRD change updates what the
/// registry serves; every write may give the garbage collector work.
pub(crate) async fn after_write(app: &App, def: &ResourceDef) {
    if def.strategy.defines_resources()
        && let Err(e) = crate::crd::load_crds(app).await
    {
        tracing::error!(error = %e, "re-reading CRDs after a write failed");
    }
    app.gc_wakeup.notify_one();
}

/// The outcome of [`commit_update`].
pub(crate) enum Committed {
    /// The object was written; its new value.
    Written(KeyValue),
    /// The update removed the last finalizer of an object being deleted,
    /// so it was deleted; its last value.
    Deleted(KeyValue),
    /// Nothing changed; the current value.
    Unchanged(KeyValue),
}

/// Writes `new` over `current` (which must still be the key's value:
/// otherwise `Conflict`), keeping server-owned fields, bumping the
/// generation on spec changes, and completing a pending deletion when the
/// last finalizer is gone.
pub(crate) async fn commit_update(
    app: &App,
    def: &ResourceDef,
    key: &str,
    current: &KeyValue,
    old: &Value,
    mut new: Value,
    dry_run: bool,
) -> Result<Committed, StoreError> {
    keep_system_fields(&mut new, old);
    if def.strategy.tracks_generation() {
        let spec_changed = {
            let strip = |v: &Value| {
                let mut v = v.clone();
                if let Some(m) = v.as_object_mut() {
                    m.remove("metadata");
                    m.remove("status");
                }
                v
            };
            strip(old) != strip(&new)
        };
        let generation = object::metadata(old)
            .and_then(|m| m.get("generation"))
            .and_then(Value::as_i64)
            .unwrap_or(1);
        set_meta(
            &mut new,
            "generation",
            json!(if spec_changed {
                generation + 1
            } else {
                generation
            }),
        );
    }
    // Compare without resourceVersion: a no-op update writes nothing.
    let mut old_cmp = old.clone();
    object::remove_meta(&mut old_cmp, "resourceVersion");
    object::remove_meta(&mut new, "resourceVersion");
    if old_cmp == new {
        return Ok(Committed::Unchanged(current.clone()));
    }
    let finalized = finalizers(&new).is_empty() && !def.strategy.pending_finalization(&new);
    if is_deleting(&new) && finalized {
        if dry_run {
            return Ok(Committed::Deleted(current.clone()));
        }
        let result = app
            .store
            .write(
                key,
                Precondition::Revision(current.mod_revision),
                WriteOp::Delete,
            )
            .await?;
        after_write(app, def).await;
        return Ok(Committed::Deleted(
            result.prev.unwrap_or_else(|| current.clone()),
        ));
    }
    put_at_revision(app, def, key, current, new, dry_run).await
}

/// Applies the status-subresource rules: through `status` only the status
/// changes; through the main resource the status does not.
fn merge_for_subresource(
    def: &ResourceDef,
    subresource: &str,
    old: &Value,
    mut new: Value,
) -> Value {
    if !def.status {
        return new;
    }
    if subresource == "status" {
        let mut merged = old.clone();
        if let Some(map) = merged.as_object_mut() {
            match new.as_object_mut().and_then(|m| m.remove("status")) {
                Some(status) => map.insert("status".into(), status),
                None => map.remove("status"),
            };
        }
        return merged;
    }
    if let Some(map) = new.as_object_mut() {
        match old.get("status") {
            Some(status) => map.insert("status".into(), status.clone()),
            None => map.remove("status"),
        };
    }
    new
}

fn respond_committed(
    def: &ResourceDef,
    format: &Format,
    committed: Committed,
    warnings: &[String],
) -> ApiResult<Response> {
    let kv = match committed {
        Committed::Written(kv) | Committed::Deleted(kv) | Committed::Unchanged(kv) => kv,
    };
    let bytes = served_bytes(def, &kv.value)?.into_owned();
    Ok(with_warnings(
        negotiate::respond_bytes(StatusCode::OK, format, bytes),
        warnings,
    ))
}

pub(super) async fn update(
    app: &App,
    target: &Target<'_>,
    format: &Format,
    params: &Params,
    content_type: &str,
    body: &[u8],
) -> ApiResult<Response> {
    let def = &target.def;
    let mut body_obj = decode_body(body, content_type, &app.registry.view())?;
    prepare_identity(def, &mut body_obj, target.namespace)?;
    let body_name = meta_str(&body_obj, "name");
    if body_name.is_empty() {
        set_meta(&mut body_obj, "name", json!(target.name));
    } else if body_name != target.name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({})",
            target.name
        )));
    }
    let body_rv = match object::metadata(&body_obj)
        .and_then(|m| m.get("resourceVersion"))
        .and_then(Value::as_str)
    {
        Some("") | None => None,
        Some(rv) => Some(
            super::read::parse_rv(rv)
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {rv:?}")))?,
        ),
    };
    if body_rv.is_none() && !def.strategy.allow_unconditional_update() {
        return Err(ApiError::invalid(
            target.gr(),
            &def.kind,
            target.name,
            vec![crate::error::Cause {
                reason: "FieldValueInvalid".into(),
                message: "Invalid value: 0: must be specified for an update".into(),
                field: "metadata.resourceVersion".into(),
            }],
        ));
    }
    let key = def.key(target.namespace, target.name);
    for _ in 0..MAX_RETRIES {
        let Some(current) = app.store.get(&key).await.map_err(ApiError::from)? else {
            if def.strategy.allow_create_on_update() && target.subresource.is_empty() {
                return create_object(app, target, format, params, body_obj).await;
            }
            return Err(ApiError::not_found(target.gr(), target.name));
        };
        if let Some(rv) = body_rv
            && rv != current.mod_revision
        {
            return Err(ApiError::stale(target.gr(), target.name));
        }
        let old = served_object(def, &current.value)?;
        let new = merge_for_subresource(def, target.subresource, &old, body_obj.clone());
        match admit_and_commit(app, target, format, params, &key, &current, &old, new).await? {
            Ok(response) => return Ok(response),
            Err(_) if body_rv.is_none() => continue,
            Err(lost) => return Err(lost.error(target)),
        }
    }
    Err(too_many_writes(target.gr(), target.name))
}

/// How an update lost a race with a concurrent write.
enum Lost {
    /// The object changed since it was read.
    Conflict,
    /// The object was deleted since it was read.
    NotFound,
}

impl Lost {
    fn error(&self, target: &Target<'_>) -> ApiError {
        match self {
            Lost::Conflict => ApiError::stale(target.gr(), target.name),
            Lost::NotFound => ApiError::not_found(target.gr(), target.name),
        }
    }
}

/// Validates an update of `current` (decoded as `old`) to `new` and writes
/// it at `current`'s revision. `Ok(Err(_))`: a concurrent write won the
/// race; the caller retries or reports it.
#[allow(clippy::too_many_arguments)]
async fn admit_and_commit(
    app: &App,
    target: &Target<'_>,
    format: &Format,
    params: &Params,
    key: &str,
    current: &KeyValue,
    old: &Value,
    mut new: Value,
) -> ApiResult<Result<Response, Lost>> {
    let def = &target.def;
    keep_system_fields(&mut new, old);
    def.strategy.prepare_for_update(&mut new, old);
    let (new, warnings) = admit(app, target, params, Operation::Update, new, Some(old)).await?;
    match commit_update(app, def, key, current, old, new, params.dry_run).await {
        Ok(committed) => respond_committed(def, format, committed, &warnings).map(Ok),
        Err(StoreError::Conflict { .. }) => Ok(Err(Lost::Conflict)),
        Err(StoreError::NotFound { .. }) => Ok(Err(Lost::NotFound)),
        Err(e) => Err(ApiError::from(e)),
    }
}

pub(super) async fn patch(
    app: &App,
    target: &Target<'_>,
    format: &Format,
    params: &Params,
    content_type: &str,
    body: &[u8],
) -> ApiResult<Response> {
    use crate::patch::{PatchKind, apply_patch};
    let def = &target.def;
    let Some(kind) = PatchKind::from_content_type(content_type) else {
        return Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {content_type:?})"
        )));
    };
    let schema = match kind {
        PatchKind::Strategic => match def.strategy.strategic_merge() {
            Some(schema) => Some(schema),
            None => {
                return Err(ApiError::unsupported_media_type(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                ));
            }
        },
        _ => None,
    };
    let explicit_rv = object::contains_bytes(body, b"\"resourceVersion\"");
    let key = def.key(target.namespace, target.name);
    for _ in 0..MAX_RETRIES {
        let Some(current) = app.store.get(&key).await.map_err(ApiError::from)? else {
            return Err(ApiError::not_found(target.gr(), target.name));
        };
        let old = served_object(def, &current.value)?;
        let patched = apply_patch(kind, &old, body, schema).map_err(|e| {
            let mut err = ApiError::bad_request(e.to_string());
            err.code = e.http_status();
            err.reason = e.reason();
            err
        })?;
        let mut patched_obj = patched;
        prepare_identity(def, &mut patched_obj, target.namespace)?;
        if meta_str(&patched_obj, "name") != target.name {
            return Err(ApiError::bad_request(
                "the name of an object cannot be changed by a patch",
            ));
        }
        let patched_rv = meta_str(&patched_obj, "resourceVersion").to_owned();
        if !patched_rv.is_empty() && patched_rv != current.mod_revision.to_string() {
            return Err(ApiError::stale(target.gr(), target.name));
        }
        let new = merge_for_subresource(def, target.subresource, &old, patched_obj);
        match admit_and_commit(app, target, format, params, &key, &current, &old, new).await? {
            Ok(response) => return Ok(response),
            Err(_) if !explicit_rv => continue,
            Err(lost) => return Err(lost.error(target)),
        }
    }
    Err(too_many_writes(target.gr(), target.name))
}

/// DeleteOptions from a request body and the query.
struct DeleteOptions {
    propagation: Propagation,
    uid: Option<String>,
    resource_version: Option<String>,
    dry_run: bool,
}

fn delete_options(params: &Params, body: &[u8]) -> ApiResult<DeleteOptions> {
    let mut opts = DeleteOptions {
        propagation: params.propagation(),
        uid: None,
        resource_version: None,
        dry_run: params.dry_run,
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(opts);
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("the DeleteOptions body does not decode: {e}"))
    })?;
    if let Some(p) = value.get("propagationPolicy").and_then(Value::as_str) {
        opts.propagation = parse_propagation(p)?;
    } else if value.get("orphanDependents") == Some(&Value::Bool(true)) {
        opts.propagation = Propagation::Orphan;
    }
    opts.uid = value
        .pointer("/preconditions/uid")
        .and_then(Value::as_str)
        .map(str::to_owned);
    opts.resource_version = value
        .pointer("/preconditions/resourceVersion")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(list) = value.get("dryRun").and_then(Value::as_array) {
        for v in list {
            if v != "All" {
                return Err(ApiError::bad_request(format!(
                    "dryRun: Unsupported value: {v}: supported values: \"All\""
                )));
            }
            opts.dry_run = true;
        }
    }
    Ok(opts)
}

/// Deletes one object (or starts its deletion when finalizers remain).
/// Returns the response body: the object, or a success Status.
/// How to delete one object.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DeleteRequest<'a> {
    pub(crate) propagation: Propagation,
    /// Precondition on the object's uid.
    pub(crate) uid: Option<&'a str>,
    /// Precondition on the object's resourceVersion.
    pub(crate) resource_version: Option<&'a str>,
    pub(crate) dry_run: bool,
    /// The caller, for admission; `None` for the server's own deletions
    /// (garbage collection), which skip it.
    pub(crate) user: Option<&'a UserInfo>,
}

impl DeleteRequest<'_> {
    /// A plain delete with the given propagation.
    pub(crate) fn new(propagation: Propagation) -> Self {
        DeleteRequest {
            propagation,
            uid: None,
            resource_version: None,
            dry_run: false,
            user: None,
        }
    }
}

/// Deletes one object, or starts its deletion when finalizers (or the
/// propagation's finalizer) keep it; returns the status and body to answer.
pub(crate) async fn delete_object(
    app: &App,
    def: &ResourceDef,
    namespace: &str,
    name: &str,
    request: DeleteRequest<'_>,
) -> ApiResult<(StatusCode, Value)> {
    let DeleteRequest {
        propagation,
        uid,
        resource_version,
        dry_run,
        user,
    } = request;
    let gr = GroupResource {
        group: &def.group,
        resource: &def.plural,
    };
    let key = def.key(namespace, name);
    for _ in 0..MAX_RETRIES {
        let Some(current) = app.store.get(&key).await.map_err(ApiError::from)? else {
            return Err(ApiError::not_found(gr, name));
        };
        let old = served_object(def, &current.value)?;
        let current_uid = meta_str(&old, "uid");
        if let Some(uid) = uid
            && uid != current_uid
        {
            return Err(ApiError::conflict(
                gr,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {current_uid}"
                ),
            ));
        }
        if let Some(rv) = resource_version
            && rv != current.mod_revision.to_string()
        {
            return Err(ApiError::conflict(
                gr,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    current.mod_revision
                ),
            ));
        }
        if let Some(user) = user {
            let request = AdmissionRequest {
                operation: Operation::Delete,
                resource: def,
                subresource: "",
                namespace,
                name,
                object: None,
                old_object: Some(&old),
                user,
                dry_run,
            };
            app.admission.validate(app, &request).await?;
        }
        let mut new = old.clone();
        match propagation {
            Propagation::Orphan => add_finalizer(&mut new, ORPHAN_FINALIZER),
            Propagation::Foreground => add_finalizer(&mut new, FOREGROUND_FINALIZER),
            Propagation::Background => {}
        }
        let graceful = !finalizers(&new).is_empty() || def.strategy.pending_finalization(&new);
        if graceful {
            if !is_deleting(&new) {
                set_meta(&mut new, "deletionTimestamp", json!(object::now_rfc3339()));
                set_meta(&mut new, "deletionGracePeriodSeconds", json!(0));
            }
            def.strategy.prepare_for_delete(&mut new);
            // commit_update keeps the old deletionTimestamp; set it on both.
            let mut old_for_commit = old.clone();
            if let Some(ts) = object::metadata(&new)
                .and_then(|m| m.get("deletionTimestamp"))
                .cloned()
            {
                set_meta(&mut old_for_commit, "deletionTimestamp", ts);
                set_meta(&mut old_for_commit, "deletionGracePeriodSeconds", json!(0));
            }
            let result = if old_for_commit == new && is_deleting(&old) {
                Ok(Committed::Unchanged(current.clone()))
            } else {
                put_at_revision(app, def, &key, &current, new, dry_run).await
            };
            match result {
                Ok(committed) => {
                    let kv = match committed {
                        Committed::Written(kv)
                        | Committed::Deleted(kv)
                        | Committed::Unchanged(kv) => kv,
                    };
                    return Ok((StatusCode::OK, served_object(def, &kv.value)?));
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(StoreError::NotFound { .. }) => return Err(ApiError::not_found(gr, name)),
                Err(e) => return Err(ApiError::from(e)),
            }
        }
        if dry_run {
            return Ok((StatusCode::OK, deleted_body(def, &old, gr, name)));
        }
        match app
            .store
            .write(
                &key,
                Precondition::Revision(current.mod_revision),
                WriteOp::Delete,
            )
            .await
        {
            Ok(_) => {
                after_write(app, def).await;
                return Ok((StatusCode::OK, deleted_body(def, &old, gr, name)));
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(StoreError::NotFound { .. }) => return Err(ApiError::not_found(gr, name)),
            Err(e) => return Err(ApiError::from(e)),
        }
    }
    Err(too_many_writes(gr, name))
}

/// The 409 of a write that lost [`MAX_RETRIES`] races in a row.
fn too_many_writes(gr: GroupResource<'_>, name: &str) -> ApiError {
    ApiError::conflict(gr, name, "too many concurrent writes; try again")
}

/// Writes `new` over `current` if the key still has `current`'s revision
/// (else `Conflict`); under dry run, only encodes it. Either way the value
/// returned is in the stored form, as read from the store.
async fn put_at_revision(
    app: &App,
    def: &ResourceDef,
    key: &str,
    current: &KeyValue,
    new: Value,
    dry_run: bool,
) -> Result<Committed, StoreError> {
    let new = def.stored(new);
    if dry_run {
        let bytes = serde_json::to_vec(&new).map_err(|e| StoreError::Encode(e.into()))?;
        return Ok(Committed::Written(KeyValue {
            value: Bytes::from(bytes),
            ..current.clone()
        }));
    }
    let result = app
        .store
        .write(
            key,
            Precondition::Revision(current.mod_revision),
            WriteOp::Put(Box::new(move |rev| Ok(encode_with_revision(new, rev)?))),
        )
        .await?;
    let Some(kv) = result.current else {
        return Err(StoreError::Backend("the write returned no value".into()));
    };
    after_write(app, def).await;
    Ok(Committed::Written(kv))
}

/// What a completed delete answers: built-in kinds a success Status (as
/// kube-apiserver does for them), custom resources the deleted object.
fn deleted_body(def: &ResourceDef, old: &Value, gr: GroupResource<'_>, name: &str) -> Value {
    if def.strategy.delete_returns_object() {
        old.clone()
    } else {
        success_status(gr, name, Some(meta_str(old, "uid")))
    }
}

pub(super) async fn delete(
    app: &App,
    target: &Target<'_>,
    format: &Format,
    params: &Params,
    body: &[u8],
) -> ApiResult<Response> {
    let opts = delete_options(params, body)?;
    let (status, body) = delete_object(
        app,
        &target.def,
        target.namespace,
        target.name,
        DeleteRequest {
            propagation: opts.propagation,
            uid: opts.uid.as_deref(),
            resource_version: opts.resource_version.as_deref(),
            dry_run: opts.dry_run,
            user: Some(target.user),
        },
    )
    .await?;
    Ok(negotiate::respond(status, format, &body))
}

pub(super) async fn delete_collection(
    app: &App,
    target: &Target<'_>,
    format: &Format,
    params: &Params,
    info: &RequestInfo<'_>,
    body: &[u8],
) -> ApiResult<Response> {
    let opts = delete_options(params, body)?;
    let selectors = selectors(info, &target.def)?;
    let def = &target.def;
    let ns = (!target.namespace.is_empty()).then_some(target.namespace);
    let prefix = def.prefix_in(ns);
    let list_params = Params::default();
    let page = read_page(app, &prefix, &selectors, &list_params).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for kv in &page.items {
        let obj = served_object(def, &kv.value)?;
        let (name, namespace) = (
            meta_str(&obj, "name").to_owned(),
            meta_str(&obj, "namespace").to_owned(),
        );
        match delete_object(
            app,
            def,
            &namespace,
            &name,
            DeleteRequest {
                dry_run: opts.dry_run,
                user: Some(target.user),
                ..DeleteRequest::new(opts.propagation)
            },
        )
        .await
        {
            Ok(_) => items.push(obj),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let list = json!({
        "kind": def.list_kind,
        "apiVersion": def.api_version(),
        "metadata": {"resourceVersion": app.store.current_revision().to_string()},
        "items": items,
    });
    Ok(negotiate::respond(StatusCode::OK, format, &list))
}

/// Copies the server-owned parts of `old` (status and everything
/// metadata the client may not change) into `new`.
pub(crate) fn keep_system_fields(new: &mut Value, old: &Value) {
    let Some(old_meta) = old.get("metadata").and_then(Value::as_object) else {
        return;
    };
    let Some(new_map) = new.as_object_mut() else {
        return;
    };
    let new_meta = new_map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(new_meta) = new_meta.as_object_mut() {
        for field in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "namespace",
            "selfLink",
        ] {
            match old_meta.get(field) {
                Some(v) => {
                    new_meta.insert(field.to_owned(), v.clone());
                }
                None => {
                    new_meta.remove(field);
                }
            }
        }
        new_meta
            .remove("generateName")
            .map(|g| new_meta.insert("generateName".to_owned(), g));
    }
}
