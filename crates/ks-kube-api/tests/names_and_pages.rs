//! `generateName` retries on collision, and `remainingItemCount` on
//! limited lists, through the router as a tower Service.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use ks_kube_api::App;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn call(
    app: &Arc<App>,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value, Option<String>) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let response = ks_kube_api::router(Arc::clone(app))
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        retry_after,
    )
}

/// A name generator that answers `taken` for its first `collisions` calls,
/// then fresh names; counts its calls.
fn generator(collisions: usize, calls: Arc<AtomicUsize>) -> ks_kube_api::app::NameGenerator {
    Arc::new(move |prefix: &str| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        if n < collisions {
            format!("{prefix}taken")
        } else {
            format!("{prefix}fresh{n}")
        }
    })
}

async fn app_with(collisions: usize, calls: &Arc<AtomicUsize>) -> (Arc<App>, Arc<ks_store::Store>) {
    let store = Arc::new(ks_store::Store::in_memory(Default::default()));
    let app = App::builder(store.clone())
        .name_generator(generator(collisions, Arc::clone(calls)))
        .build();
    let (status, _, _) = call(
        &app,
        "POST",
        "/api/v1/namespaces",
        Some(json!({"metadata": {"name": "default"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, _) = call(
        &app,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some(json!({"metadata": {"name": "cm-taken"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    (app, store)
}

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

#[tokio::test]
async fn generate_name_retries_a_taken_name() {
    for collisions in [1, 7] {
        let calls = Arc::new(AtomicUsize::new(0));
        let (app, store) = app_with(collisions, &calls).await;
        let (status, created, _) = call(
            &app,
            "POST",
            CONFIGMAPS,
            Some(json!({"metadata": {"generateName": "cm-"}, "data": {"k": "v"}})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{collisions}: {created}");
        let name = created["metadata"]["name"].as_str().unwrap();
        assert_eq!(name, format!("cm-fresh{collisions}"));
        assert_eq!(calls.load(Ordering::SeqCst), collisions + 1);
        // The one that was there is untouched; the new one is stored.
        let (status, got, _) = call(&app, "GET", &format!("{CONFIGMAPS}/{name}"), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(got["data"]["k"], "v");
        store.shutdown().await;
    }
}

#[tokio::test]
async fn generate_name_gives_up_after_eight_names() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (app, store) = app_with(usize::MAX, &calls).await;
    let (status, err, retry_after) = call(
        &app,
        "POST",
        CONFIGMAPS,
        Some(json!({"metadata": {"generateName": "cm-"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(err["reason"], "AlreadyExists");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .ends_with("the server was not able to generate a unique name for the object"),
        "{err}"
    );
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(calls.load(Ordering::SeqCst), 8);
    // An explicit name that is taken is a plain AlreadyExists, no retry.
    let (status, err, _) = call(
        &app,
        "POST",
        CONFIGMAPS,
        Some(json!({"metadata": {"name": "cm-taken"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["message"], "configmaps \"cm-taken\" already exists");
    assert_eq!(calls.load(Ordering::SeqCst), 8);
    store.shutdown().await;
}

#[tokio::test]
async fn limited_lists_without_selectors_count_what_remains() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (app, store) = app_with(0, &calls).await;
    for i in 0..9 {
        let (status, _, _) = call(
            &app,
            "POST",
            CONFIGMAPS,
            Some(json!({"metadata": {"name": format!("cm-{i}"), "labels": {"odd": (i % 2).to_string()}}})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    // 10 objects (cm-taken too), pages of 4: 6 remain, then 2, then none.
    let (_, page, _) = call(&app, "GET", &format!("{CONFIGMAPS}?limit=4"), None).await;
    assert_eq!(page["metadata"]["remainingItemCount"], 6, "{page}");
    let token = page["metadata"]["continue"].as_str().unwrap().to_owned();
    let (_, page, _) = call(
        &app,
        "GET",
        &format!("{CONFIGMAPS}?limit=4&continue={token}"),
        None,
    )
    .await;
    assert_eq!(page["metadata"]["remainingItemCount"], 2, "{page}");
    let token = page["metadata"]["continue"].as_str().unwrap().to_owned();
    let (_, page, _) = call(
        &app,
        "GET",
        &format!("{CONFIGMAPS}?limit=4&continue={token}"),
        None,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert!(
        page["metadata"].get("remainingItemCount").is_none(),
        "{page}"
    );
    assert!(page["metadata"].get("continue").is_none(), "{page}");
    // With a selector the count would be a guess: Kubernetes leaves it out.
    let (_, page, _) = call(
        &app,
        "GET",
        &format!("{CONFIGMAPS}?limit=2&labelSelector=odd%3D1"),
        None,
    )
    .await;
    assert!(page["metadata"]["continue"].is_string(), "{page}");
    assert!(
        page["metadata"].get("remainingItemCount").is_none(),
        "{page}"
    );
    // Unlimited lists have none either.
    let (_, page, _) = call(&app, "GET", CONFIGMAPS, None).await;
    assert!(
        page["metadata"].get("remainingItemCount").is_none(),
        "{page}"
    );
    store.shutdown().await;
}
