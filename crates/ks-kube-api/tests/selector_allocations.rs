//! What matching a field selector allocates per stored object, counted:
//! kubectl describe lists every event of the cluster with a selector on
//! `involvedObject.*`, so that read must not decode whole events.
//!
//! Counted with a counting global allocator; this file is its own test
//! binary and holds one test, so nothing else allocates while it counts
//! (the minimum over several runs guards against stray harness
//! allocations).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::System;
use std::hint::black_box;

use ks_kube_api::kinds::Strategy as _;
use ks_kube_api::object::Selectors;
use ks_request_info::selector::{FieldSelector, LabelSelector};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Whether `f` matched, and the fewest allocations it made in five runs.
fn allocations(f: impl Fn() -> bool) -> (bool, usize) {
    let mut matched = false;
    let n = (0..5)
        .map(|_| {
            let region = Region::new(GLOBAL);
            matched = black_box(f());
            region.change().allocations
        })
        .min()
        .unwrap_or(usize::MAX);
    (matched, n)
}

/// A stored core/v1 Event as a controller records it.
const EVENT: &[u8] = br#"{"apiVersion":"v1","kind":"Event","metadata":{"name":"w1.17f0a1b2c3d4e5f6","namespace":"default","uid":"0b7c3f6e-3c1d-4c52-9b7e-8f1e2d3c4b5a","resourceVersion":"4211","creationTimestamp":"2026-01-02T03:04:05Z","labels":{"app":"web"}},"involvedObject":{"kind":"WorkspaceTemplate","name":"w1","uid":"6f1c0d3e-4a2b-4c8d-9e10-2b7f5a6c1d84","apiVersion":"tenant.kubesphere.io/v1alpha2","resourceVersion":"4200"},"reason":"Synced","message":"Workspace w1 synced successfully, with \"quotes\" in the message","source":{"component":"ks-controller-manager","host":"node-1"},"firstTimestamp":"2026-01-02T03:04:05Z","lastTimestamp":"2026-01-02T03:04:05Z","count":3,"type":"Normal","eventTime":null,"reportingComponent":"","reportingInstance":""}"#;

#[test]
fn event_selectors_read_only_what_they_name() {
    let fields = ks_kube_api::kinds::event::Events.selectable_fields();
    let selectors = |field: &str, label: Option<&str>| {
        Selectors::new(
            label.map(|l| LabelSelector::parse(l).unwrap()),
            Some(FieldSelector::parse(field).unwrap()),
            &fields,
        )
        .unwrap()
    };

    // kubectl describe's query: two allocations, the values' slots and the
    // parser's stack for skipping nested objects (metadata.labels); the
    // strings are borrowed from the stored bytes, the rest skipped.
    let describe = selectors(
        "involvedObject.name=w1,involvedObject.namespace=,involvedObject.kind=WorkspaceTemplate,involvedObject.uid=6f1c0d3e-4a2b-4c8d-9e10-2b7f5a6c1d84",
        None,
    );
    assert_eq!(allocations(|| describe.matches_bytes(EVENT)), (true, 2));
    let flat = String::from_utf8_lossy(EVENT).replace(r#","labels":{"app":"web"}"#, "");
    assert_eq!(
        allocations(|| describe.matches_bytes(flat.as_bytes())),
        (true, 1)
    );
    let other = selectors("involvedObject.name=w2", None);
    assert_eq!(allocations(|| other.matches_bytes(EVENT)), (false, 2));

    // With metadata named too, its strings are decoded as on the
    // metadata-only path (name, namespace, one label's node, key, value).
    let with_meta = selectors("reason=Synced,metadata.namespace=default", Some("app=web"));
    let (matched, with_meta_count) = allocations(|| with_meta.matches_bytes(EVENT));
    let meta_only = selectors("metadata.namespace=default", Some("app=web"));
    let (_, meta_only_count) = allocations(|| meta_only.matches_bytes(EVENT));
    assert!(matched);
    assert_eq!(with_meta_count, meta_only_count + 1);

    // For scale: decoding the whole event.
    let (_, full) = allocations(|| {
        serde_json::from_slice::<serde_json::Value>(EVENT)
            .unwrap()
            .is_object()
    });
    assert!(full > 4 * with_meta_count, "{full} {with_meta_count}");
}
