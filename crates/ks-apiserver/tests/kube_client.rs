//! Every verb through kube-rs `Api<T>`, against an in-process server.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::TestServer;
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, PropagationPolicy, WatchEvent,
    WatchParams,
};
use kube::runtime::watcher;
use serde_json::json;

fn cm(name: &str, labels: &[(&str, &str)], data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            ..Default::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        ),
        ..Default::default()
    }
}

fn api_error(err: kube::Error) -> kube::core::Status {
    match err {
        kube::Error::Api(e) => *e,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn create_get_update_conflict_and_delete() {
    let ts = TestServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(ts.client.clone(), "default");

    let created = cms
        .create(
            &PostParams::default(),
            &cm("a", &[("app", "web")], &[("k", "v")]),
        )
        .await
        .unwrap();
    let meta = &created.metadata;
    assert!(meta.uid.as_deref().is_some_and(|u| u.len() == 36));
    assert!(meta.creation_timestamp.is_some());
    let rv1: i64 = meta.resource_version.as_deref().unwrap().parse().unwrap();
    assert_eq!(meta.namespace.as_deref(), Some("default"));

    let again = api_error(
        cms.create(&PostParams::default(), &cm("a", &[], &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!((again.code, again.reason.as_str()), (409, "AlreadyExists"));

    let got = cms.get("a").await.unwrap();
    assert_eq!(got, created);

    // Update with the current resourceVersion succeeds and moves it forward.
    let mut edit = got.clone();
    edit.data.as_mut().unwrap().insert("k2".into(), "v2".into());
    let updated = cms
        .replace("a", &PostParams::default(), &edit)
        .await
        .unwrap();
    let rv2: i64 = updated
        .metadata
        .resource_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv2 > rv1);
    assert_eq!(updated.metadata.uid, created.metadata.uid);

    // The stale copy gets 409 Conflict.
    let stale = api_error(
        cms.replace("a", &PostParams::default(), &edit)
            .await
            .unwrap_err(),
    );
    assert_eq!((stale.code, stale.reason.as_str()), (409, "Conflict"));

    // generateName.
    let mut generated = cm("", &[], &[]);
    generated.metadata.name = None;
    generated.metadata.generate_name = Some("gen-".into());
    let g = cms
        .create(&PostParams::default(), &generated)
        .await
        .unwrap();
    assert!(g.metadata.name.as_deref().unwrap().starts_with("gen-"));

    // Missing namespace: 404 on the namespace.
    let nowhere: Api<ConfigMap> = Api::namespaced(ts.client.clone(), "nowhere");
    let e = api_error(
        nowhere
            .create(&PostParams::default(), &cm("x", &[], &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 404);
    assert!(
        e.message.contains("namespaces \"nowhere\" not found"),
        "{}",
        e.message
    );

    // Delete, then 404.
    cms.delete("a", &DeleteParams::default()).await.unwrap();
    let gone = api_error(cms.get("a").await.unwrap_err());
    assert_eq!((gone.code, gone.reason.as_str()), (404, "NotFound"));
    assert_eq!(gone.message, "configmaps \"a\" not found");
    ts.stop().await;
}

#[tokio::test]
async fn patches_merge_json_and_strategic() {
    let ts = TestServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(ts.client.clone(), "default");
    cms.create(
        &PostParams::default(),
        &cm("p", &[("a", "1")], &[("x", "1")]),
    )
    .await
    .unwrap();

    let merged = cms
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"y": "2", "x": null}})),
        )
        .await
        .unwrap();
    assert_eq!(
        merged.data.unwrap(),
        BTreeMap::from([("y".to_owned(), "2".to_owned())])
    );

    let ops: json_patch::Patch =
        serde_json::from_value(json!([{"op": "add", "path": "/data/z", "value": "3"}])).unwrap();
    let patched = cms
        .patch("p", &PatchParams::default(), &Patch::<()>::Json(ops))
        .await
        .unwrap();
    assert_eq!(
        patched.data.as_ref().unwrap().get("z").map(String::as_str),
        Some("3")
    );

    let strategic = cms
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::Strategic(json!({"metadata": {"labels": {"b": "2"}}})),
        )
        .await
        .unwrap();
    let labels = strategic.metadata.labels.unwrap();
    assert_eq!(labels.get("a").map(String::as_str), Some("1"));
    assert_eq!(labels.get("b").map(String::as_str), Some("2"));

    // A JSON patch whose test fails changes nothing.
    let failing: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/data/z", "value": "nope"}]))
            .unwrap();
    let err = cms
        .patch("p", &PatchParams::default(), &Patch::<()>::Json(failing))
        .await
        .unwrap_err();
    assert!(api_error(err).code >= 400);
    ts.stop().await;
}

#[tokio::test]
async fn list_with_selectors_and_pages_stays_consistent_while_writing() {
    let ts = TestServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(ts.client.clone(), "default");
    for i in 0..25 {
        let tier = if i % 2 == 0 { "even" } else { "odd" };
        cms.create(
            &PostParams::default(),
            &cm(&format!("c{i:02}"), &[("tier", tier)], &[]),
        )
        .await
        .unwrap();
    }
    let even = cms
        .list(&ListParams::default().labels("tier=even"))
        .await
        .unwrap();
    assert_eq!(even.items.len(), 13);
    let not_even = cms
        .list(&ListParams::default().labels("tier!=even"))
        .await
        .unwrap();
    assert_eq!(not_even.items.len(), 12);
    let in_set = cms
        .list(&ListParams::default().labels("tier in (odd,none)"))
        .await
        .unwrap();
    assert_eq!(in_set.items.len(), 12);
    let by_name = cms
        .list(&ListParams::default().fields("metadata.name=c03"))
        .await
        .unwrap();
    assert_eq!(by_name.items.len(), 1);
    let bad = api_error(
        cms.list(&ListParams::default().fields("data.x=1"))
            .await
            .unwrap_err(),
    );
    assert_eq!(bad.code, 400);

    // Page through with limit 10 while creating more objects: the pages
    // come from the first page's snapshot.
    let first = cms.list(&ListParams::default().limit(10)).await.unwrap();
    assert_eq!(first.items.len(), 10);
    let snapshot_rv = first.metadata.resource_version.clone().unwrap();
    let mut names: Vec<String> = first
        .items
        .iter()
        .map(|c| c.metadata.name.clone().unwrap())
        .collect();
    let mut token = first.metadata.continue_.clone();
    let mut extra = 0;
    while let Some(t) = token.filter(|t| !t.is_empty()) {
        cms.create(
            &PostParams::default(),
            &cm(&format!("late{extra}"), &[], &[]),
        )
        .await
        .unwrap();
        extra += 1;
        let page = cms
            .list(&ListParams::default().limit(10).continue_token(&t))
            .await
            .unwrap();
        assert_eq!(
            page.metadata.resource_version.as_deref(),
            Some(snapshot_rv.as_str())
        );
        names.extend(page.items.iter().map(|c| c.metadata.name.clone().unwrap()));
        token = page.metadata.continue_.clone();
    }
    let expected: Vec<String> = (0..25).map(|i| format!("c{i:02}")).collect();
    assert_eq!(names, expected);
    assert!(extra >= 2);
    ts.stop().await;
}

#[tokio::test]
async fn watcher_sees_create_update_delete() {
    let ts = TestServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(ts.client.clone(), "default");
    let stream = watcher(cms.clone(), watcher::Config::default());
    let mut stream = Box::pin(stream);
    // Initial list completes first.
    loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            watcher::Event::InitDone => break,
            _ => continue,
        }
    }
    cms.create(&PostParams::default(), &cm("w", &[], &[("a", "1")]))
        .await
        .unwrap();
    cms.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"a": "2"}})),
    )
    .await
    .unwrap();
    cms.delete("w", &DeleteParams::default()).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let event = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        match event {
            watcher::Event::Apply(o) => seen.push(format!("apply {}", o.data.unwrap()["a"])),
            watcher::Event::Delete(o) => seen.push(format!("delete {}", o.metadata.name.unwrap())),
            _ => {}
        }
    }
    assert_eq!(seen, ["apply 1", "apply 2", "delete w"]);
    ts.stop().await;
}

#[tokio::test]
async fn raw_watch_from_a_resource_version_and_bookmarks() {
    let ts = TestServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(ts.client.clone(), "default");
    let a = cms
        .create(&PostParams::default(), &cm("r1", &[("x", "y")], &[]))
        .await
        .unwrap();
    let rv = a.metadata.resource_version.unwrap();
    cms.create(&PostParams::default(), &cm("r2", &[], &[]))
        .await
        .unwrap();
    cms.create(&PostParams::default(), &cm("r3", &[("x", "y")], &[]))
        .await
        .unwrap();
    let params = WatchParams::default().labels("x=y").timeout(3);
    let mut events = Box::pin(cms.watch(&params, &rv).await.unwrap());
    let first = events.next().await.unwrap().unwrap();
    match first {
        WatchEvent::Added(o) => assert_eq!(o.metadata.name.as_deref(), Some("r3")),
        other => panic!("unexpected {other:?}"),
    }
    // The stream ends at its timeout.
    let rest: Vec<_> = tokio::time::timeout(Duration::from_secs(6), events.collect::<Vec<_>>())
        .await
        .unwrap();
    assert!(
        rest.iter()
            .all(|e| matches!(e, Ok(WatchEvent::Bookmark(_)))),
        "{rest:?}"
    );
    ts.stop().await;
}

#[tokio::test]
async fn finalizers_keep_an_object_until_removed() {
    let ts = TestServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(ts.client.clone(), "default");
    let mut obj = cm("f", &[], &[]);
    obj.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    cms.create(&PostParams::default(), &obj).await.unwrap();
    cms.delete("f", &DeleteParams::default()).await.unwrap();
    let held = cms.get("f").await.unwrap();
    assert!(held.metadata.deletion_timestamp.is_some());
    cms.patch(
        "f",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    let e = api_error(cms.get("f").await.unwrap_err());
    assert_eq!(e.code, 404);
    ts.stop().await;
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn owner_references_are_garbage_collected() {
    let ts = TestServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(ts.client.clone(), "default");
    let owner = cms
        .create(&PostParams::default(), &cm("owner", &[], &[]))
        .await
        .unwrap();
    let owner_ref = OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: "owner".into(),
        uid: owner.metadata.uid.clone().unwrap(),
        ..Default::default()
    };
    for name in ["dep1", "dep2"] {
        let mut d = cm(name, &[], &[]);
        d.metadata.owner_references = Some(vec![owner_ref.clone()]);
        cms.create(&PostParams::default(), &d).await.unwrap();
    }
    // Background: dependents go after the owner.
    cms.delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    eventually("dependents deleted", || async {
        cms.get_opt("dep1").await.unwrap().is_none() && cms.get_opt("dep2").await.unwrap().is_none()
    })
    .await;

    // Orphan: dependents stay without the reference.
    let owner = cms
        .create(&PostParams::default(), &cm("owner2", &[], &[]))
        .await
        .unwrap();
    let mut d = cm("dep3", &[], &[]);
    d.metadata.owner_references = Some(vec![OwnerReference {
        name: "owner2".into(),
        uid: owner.metadata.uid.clone().unwrap(),
        ..owner_ref.clone()
    }]);
    cms.create(&PostParams::default(), &d).await.unwrap();
    cms.delete("owner2", &DeleteParams::orphan()).await.unwrap();
    eventually("owner2 deleted", || async {
        cms.get_opt("owner2").await.unwrap().is_none()
    })
    .await;
    let dep3 = cms.get("dep3").await.unwrap();
    assert!(
        dep3.metadata
            .owner_references
            .unwrap_or_default()
            .is_empty()
    );

    // Foreground: the owner waits for its dependents.
    let owner = cms
        .create(&PostParams::default(), &cm("owner3", &[], &[]))
        .await
        .unwrap();
    let mut d = cm("dep4", &[], &[]);
    d.metadata.owner_references = Some(vec![OwnerReference {
        name: "owner3".into(),
        uid: owner.metadata.uid.clone().unwrap(),
        ..owner_ref
    }]);
    cms.create(&PostParams::default(), &d).await.unwrap();
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Foreground),
        ..Default::default()
    };
    cms.delete("owner3", &dp).await.unwrap();
    eventually("owner3 and dep4 deleted", || async {
        cms.get_opt("owner3").await.unwrap().is_none()
            && cms.get_opt("dep4").await.unwrap().is_none()
    })
    .await;
    ts.stop().await;
}

#[tokio::test]
async fn deleting_a_namespace_deletes_its_content() {
    let ts = TestServer::start().await;
    let nss: Api<Namespace> = Api::all(ts.client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some("team".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let created = nss.create(&PostParams::default(), &ns).await.unwrap();
    assert_eq!(created.status.unwrap().phase.as_deref(), Some("Active"));
    let secrets: Api<Secret> = Api::namespaced(ts.client.clone(), "team");
    let s = Secret {
        metadata: ObjectMeta {
            name: Some("s".into()),
            ..Default::default()
        },
        string_data: Some(BTreeMap::from([(
            "password".to_owned(),
            "hunter2".to_owned(),
        )])),
        ..Default::default()
    };
    let s = secrets.create(&PostParams::default(), &s).await.unwrap();
    assert_eq!(s.type_.as_deref(), Some("Opaque"));
    assert_eq!(s.data.unwrap()["password"].0, b"hunter2");
    nss.delete("team", &DeleteParams::default()).await.unwrap();
    let e = api_error(
        secrets
            .create(
                &PostParams::default(),
                &Secret {
                    metadata: ObjectMeta {
                        name: Some("t".into()),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            )
            .await
            .unwrap_err(),
    );
    assert!(e.code == 403 || e.code == 404, "{e:?}");
    eventually("namespace gone", || async {
        nss.get_opt("team").await.unwrap().is_none()
    })
    .await;
    assert!(secrets.get_opt("s").await.unwrap().is_none());
    ts.stop().await;
}

#[tokio::test]
async fn dry_run_writes_nothing_and_validation_reports_fields() {
    let ts = TestServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(ts.client.clone(), "default");
    let pp = PostParams {
        dry_run: true,
        ..Default::default()
    };
    cms.create(&pp, &cm("dry", &[], &[])).await.unwrap();
    assert!(cms.get_opt("dry").await.unwrap().is_none());

    let bad = api_error(
        cms.create(
            &PostParams::default(),
            &cm("Bad_Name", &[], &[("bad key", "x")]),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((bad.code, bad.reason.as_str()), (422, "Invalid"));
    assert!(bad.message.contains("metadata.name"), "{}", bad.message);

    let roles: Api<ClusterRole> = Api::all(ts.client.clone());
    let role = ClusterRole {
        metadata: ObjectMeta {
            name: Some("r".into()),
            ..Default::default()
        },
        rules: Some(vec![PolicyRule {
            verbs: vec![],
            api_groups: Some(vec!["".into()]),
            resources: Some(vec!["pods".into()]),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let e = api_error(
        roles
            .create(&PostParams::default(), &role)
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 422);
    assert!(e.message.contains("rules[0].verbs"), "{}", e.message);
    ts.stop().await;
}

#[tokio::test]
async fn concurrent_read_modify_write_never_loses_an_update() {
    let ts = TestServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(ts.client.clone(), "default");
    cms.create(&PostParams::default(), &cm("counter", &[], &[("n", "0")]))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let cms = cms.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut conflicts) = (0u32, 0u32);
            for _ in 0..10 {
                let mut cur = cms.get("counter").await.unwrap();
                let n: u32 = cur.data.as_ref().unwrap()["n"].parse().unwrap();
                cur.data
                    .as_mut()
                    .unwrap()
                    .insert("n".into(), (n + 1).to_string());
                match cms.replace("counter", &PostParams::default(), &cur).await {
                    Ok(_) => ok += 1,
                    Err(kube::Error::Api(e)) if e.code == 409 => conflicts += 1,
                    Err(e) => panic!("{e}"),
                }
            }
            (ok, conflicts)
        }));
    }
    let mut successes = 0;
    for t in tasks {
        let (ok, conflicts) = t.await.unwrap();
        assert_eq!(ok + conflicts, 10);
        successes += ok;
    }
    let n: u32 = cms.get("counter").await.unwrap().data.unwrap()["n"]
        .parse()
        .unwrap();
    assert_eq!(n, successes);
    ts.stop().await;
}

#[tokio::test]
async fn custom_resource_definitions_start_and_stop_serving() {
    let ts = TestServer::start().await;
    let crds: Api<kube::core::DynamicObject> = Api::all_with(
        ts.client.clone(),
        &kube::discovery::ApiResource::erase::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>(&()),
    );
    let crd: kube::core::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "crontabs.stable.example.com"},
        "spec": {"group": "stable.example.com", "scope": "Namespaced",
            "names": {"kind": "CronTab", "plural": "crontabs", "singular": "crontab", "listKind": "CronTabList"},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"cronSpec": {"type": "string"}}},
                    "status": {"type": "object", "properties": {"ok": {"type": "boolean"}}}}}}}]}
    })).unwrap();
    crds.create(&PostParams::default(), &crd).await.unwrap();
    let ar = kube::discovery::ApiResource {
        group: "stable.example.com".into(),
        version: "v1".into(),
        api_version: "stable.example.com/v1".into(),
        kind: "CronTab".into(),
        plural: "crontabs".into(),
    };
    let tabs: Api<kube::core::DynamicObject> =
        Api::namespaced_with(ts.client.clone(), "default", &ar);
    let tab: kube::core::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "stable.example.com/v1", "kind": "CronTab",
        "metadata": {"name": "t1"}, "spec": {"cronSpec": "* * * * */5"}, "status": {"ok": true}
    }))
    .unwrap();
    let created = tabs.create(&PostParams::default(), &tab).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    // The CRD's schema prunes unknown fields and rejects wrong types.
    let sloppy: kube::core::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "stable.example.com/v1", "kind": "CronTab",
        "metadata": {"name": "t2"}, "spec": {"cronSpec": "x", "color": "blue"}
    }))
    .unwrap();
    let pruned = tabs.create(&PostParams::default(), &sloppy).await.unwrap();
    assert_eq!(pruned.data["spec"], json!({"cronSpec": "x"}));
    let wrong: kube::core::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "stable.example.com/v1", "kind": "CronTab",
        "metadata": {"name": "t3"}, "spec": {"cronSpec": 5}
    }))
    .unwrap();
    let e = api_error(
        tabs.create(&PostParams::default(), &wrong)
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 422, "{e:?}");
    assert!(
        e.message
            .contains("spec.cronSpec in body must be of type string"),
        "{}",
        e.message
    );
    assert!(
        created.data.get("status").is_none(),
        "status is dropped on create"
    );
    // Status changes go through the status subresource only.
    let st = tabs
        .patch_status(
            "t1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"ok": true}, "spec": {"cronSpec": "ignored"}})),
        )
        .await
        .unwrap();
    assert_eq!(st.data["status"]["ok"], true);
    assert_eq!(st.data["spec"]["cronSpec"], "* * * * */5");
    assert_eq!(st.metadata.generation, Some(1));
    let sp = tabs
        .patch(
            "t1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"cronSpec": "0 * * * *"}, "status": {"ok": false}})),
        )
        .await
        .unwrap();
    assert_eq!(sp.metadata.generation, Some(2));
    assert_eq!(sp.data["status"]["ok"], true);
    // Strategic merge patch is not defined for custom resources.
    let e = api_error(
        tabs.patch(
            "t1",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {}})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(e.code, 415);

    crds.delete("crontabs.stable.example.com", &DeleteParams::default())
        .await
        .unwrap();
    eventually("CRD gone", || async {
        crds.get_opt("crontabs.stable.example.com")
            .await
            .unwrap()
            .is_none()
    })
    .await;
    let e = api_error(tabs.get("t1").await.unwrap_err());
    assert_eq!(e.code, 404);
    ts.stop().await;
}

/// KubeSphere's kinds are custom resources: their CRD's schema applies
/// first (a missing required field is a 422 naming it, as kube-apiserver
/// reports it), then ks-types' own rules.
#[tokio::test]
async fn kubesphere_kinds_are_checked_by_schema_then_by_their_rules() {
    let ts = TestServer::start().await;
    let c = &ts.client;
    let templates = "/apis/tenant.kubesphere.io/v1alpha2/workspacetemplates";
    let post = |body: serde_json::Value| {
        raw(
            c,
            "POST",
            templates,
            "application/json",
            body.to_string().into_bytes(),
        )
    };
    let template = |name: &str, spec: serde_json::Value| {
        json!({"apiVersion": "tenant.kubesphere.io/v1alpha2", "kind": "WorkspaceTemplate",
               "metadata": {"name": name}, "spec": spec})
    };

    let (code, body) = post(template("no-placement", json!({"template": {}}))).await;
    assert_eq!(code, 422, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    let causes = status["details"]["causes"].as_array().unwrap();
    assert_eq!(
        causes
            .iter()
            .map(|c| (c["reason"].as_str().unwrap(), c["field"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [("FieldValueRequired", "spec.placement")],
        "{body}"
    );

    // Wrong type: the schema's message, not a decoding error.
    let (code, body) = post(template(
        "bad-type",
        json!({"template": {}, "placement": {"clusters": "host"}}),
    ))
    .await;
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("spec.placement.clusters"), "{body}");

    // Passes the schema, fails ks-types' rule (cluster names are unique).
    let (code, body) = post(template(
        "dup",
        json!({"template": {}, "placement": {"clusters": [{"name": "host"}, {"name": "host"}]}}),
    ))
    .await;
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("spec.placement.clusters[1]"), "{body}");

    let (code, body) = post(template(
        "ok",
        json!({"template": {"spec": {"manager": "alice"}}, "placement": {}}),
    ))
    .await;
    assert_eq!(code, 201, "{body}");
    ts.stop().await;
}

/// Aggregated discovery (one request for `/apis`, one for `/api`) says
/// what the per-group-version documents say, as kube-rs reads each.
#[tokio::test]
async fn aggregated_discovery_matches_the_per_group_documents() {
    let ts = TestServer::start().await;
    let summary = |d: &kube::Discovery| -> Vec<String> {
        let mut out = Vec::new();
        for g in d.groups() {
            let versions: Vec<&str> = g.versions().collect();
            out.push(format!(
                "{:?} {versions:?} preferred {:?}",
                g.name(),
                g.preferred_version()
            ));
            for v in versions {
                for (ar, caps) in g.versioned_resources(v) {
                    let subresources: Vec<String> = caps
                        .subresources
                        .iter()
                        .map(|(s, c)| format!("{} {:?} {:?}", s.plural, c.scope, c.operations))
                        .collect();
                    out.push(format!(
                        "  {ar:?} {:?} {:?} {subresources:?}",
                        caps.scope, caps.operations
                    ));
                }
            }
        }
        out.sort();
        out
    };
    let legacy = kube::Discovery::new(ts.client.clone()).run().await.unwrap();
    let aggregated = kube::Discovery::new(ts.client.clone())
        .run_aggregated()
        .await
        .unwrap();
    let (legacy, aggregated) = (summary(&legacy), summary(&aggregated));
    assert_eq!(aggregated, legacy);
    for expected in [
        "\"iam.kubesphere.io\"",
        "kind: \"ConfigMap\"",
        "plural: \"workspacetemplates\"",
        "status",
    ] {
        assert!(
            aggregated.iter().any(|l| l.contains(expected)),
            "{expected} missing: {aggregated:#?}"
        );
    }
    ts.stop().await;
}

/// The media type is negotiated: kubectl 1.27-1.29 ask for `v2beta1`,
/// later ones for `v2`, and plain JSON still gets the classic document.
#[tokio::test]
async fn aggregated_discovery_is_negotiated() {
    let ts = TestServer::start().await;
    let get = |path: &'static str, accept: &'static str| {
        let client = ts.client.clone();
        async move {
            let req = http::Request::get(path)
                .header("accept", accept)
                .body(Vec::new())
                .unwrap();
            let resp = client
                .send(req.map(kube::client::Body::from))
                .await
                .unwrap();
            let headers = resp.headers().clone();
            let bytes = http_body_util::BodyExt::collect(resp.into_body())
                .await
                .unwrap()
                .to_bytes();
            let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            (headers, body)
        }
    };
    for (version, accept) in [
        (
            "v2",
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json",
        ),
        (
            "v2beta1",
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json",
        ),
    ] {
        for path in ["/api", "/apis", "/apis/"] {
            let (headers, body) = get(path, accept).await;
            assert_eq!(
                headers["content-type"],
                format!(
                    "application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"
                )
                .as_str()
            );
            assert_eq!(headers["vary"], "Accept");
            assert_eq!(body["kind"], "APIGroupDiscoveryList");
            assert_eq!(body["apiVersion"], format!("apidiscovery.k8s.io/{version}"));
            let names: Vec<&str> = body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["metadata"]["name"].as_str().unwrap_or(""))
                .collect();
            if path == "/api" {
                assert_eq!(names, [""]);
            } else {
                assert!(
                    names.contains(&"tenant.kubesphere.io") && !names.contains(&""),
                    "{names:?}"
                );
            }
        }
    }
    let (headers, body) = get("/apis", "application/json").await;
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body["kind"], "APIGroupList");
    // Elsewhere the discovery media type is not a candidate.
    let (headers, body) = get(
        "/api/v1/namespaces",
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
    )
    .await;
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body["kind"], "NamespaceList");
    ts.stop().await;
}

/// Sends a raw request; returns the status and body.
#[allow(clippy::unwrap_used)]
async fn raw(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, String) {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(body)
        .unwrap();
    let resp = client
        .send(req.map(kube::client::Body::from))
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn error_statuses_match_kubernetes() {
    let ts = TestServer::start().await;
    let c = &ts.client;
    let cms = "/api/v1/namespaces/default/configmaps";
    // 413: bodies over 3 MiB.
    let big = format!(
        r#"{{"metadata":{{"name":"big"}},"data":{{"k":"{}"}}}}"#,
        "x".repeat(3 * 1024 * 1024 + 10)
    );
    let (code, body) = raw(c, "POST", cms, "application/json", big.into_bytes()).await;
    assert_eq!(code, 413, "{body}");
    assert!(body.contains("RequestEntityTooLarge"));
    // 400: malformed JSON.
    let (code, body) = raw(c, "POST", cms, "application/json", b"{not json".to_vec()).await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("\"kind\":\"Status\""));
    // 415: unknown patch type.
    raw(
        c,
        "POST",
        cms,
        "application/json",
        br#"{"metadata":{"name":"p"}}"#.to_vec(),
    )
    .await;
    let (code, _) = raw(
        c,
        "PATCH",
        &format!("{cms}/p"),
        "text/plain",
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(code, 415);
    // 405: POST to a named object.
    let (code, body) = raw(
        c,
        "POST",
        &format!("{cms}/p"),
        "application/json",
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(code, 405, "{body}");
    // 404: unknown resource; 404 for a namespaced path of a cluster-scoped resource.
    let (code, _) = raw(c, "GET", "/api/v1/namespaces/default/pods", "", vec![]).await;
    assert_eq!(code, 404);
    let (code, _) = raw(
        c,
        "GET",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/default/clusterroles",
        "",
        vec![],
    )
    .await;
    assert_eq!(code, 404);
    // 400 for an ambiguous path, never a normalized one.
    let (code, _) = raw(
        c,
        "GET",
        "/api/v1/namespaces/default/configmaps/../secrets",
        "",
        vec![],
    )
    .await;
    assert_eq!(code, 400);
    // 400: the name in the body must match the URL on update.
    let (code, body) = raw(
        c,
        "PUT",
        &format!("{cms}/p"),
        "application/json",
        br#"{"metadata":{"name":"q"}}"#.to_vec(),
    )
    .await;
    assert_eq!(code, 400, "{body}");
    ts.stop().await;
}

#[tokio::test]
async fn watch_from_a_compacted_revision_gets_410_expired() {
    let ts = TestServer::start_with(|c| c.store.history = 4).await;
    let cms: Api<ConfigMap> = Api::namespaced(ts.client.clone(), "default");
    for i in 0..20 {
        cms.create(&PostParams::default(), &cm(&format!("x{i}"), &[], &[]))
            .await
            .unwrap();
    }
    let mut events = Box::pin(
        cms.watch(&WatchParams::default().timeout(2), "2")
            .await
            .unwrap(),
    );
    match events.next().await {
        Some(Ok(WatchEvent::Error(e))) => {
            assert_eq!((e.code, e.reason.as_str()), (410, "Expired"));
        }
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
    // A list at a compacted revision is 410 too.
    let lp = ListParams::default()
        .at("2")
        .matching(kube::api::VersionMatch::Exact);
    let e = api_error(cms.list(&lp).await.unwrap_err());
    assert_eq!(e.code, 410);
    ts.stop().await;
}

#[tokio::test]
async fn leases_and_events_are_served() {
    use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
    use k8s_openapi::api::core::v1::{Event, ObjectReference};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;

    let ts = TestServer::start().await;
    let leases: Api<Lease> = Api::namespaced(ts.client.clone(), "kube-system");
    let mut stream = watcher(leases.clone(), watcher::Config::default()).boxed();
    // The watcher starts when polled: wait for its (empty) initial list.
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("the initial list")
            .unwrap()
            .unwrap();
        if matches!(event, watcher::Event::InitDone) {
            break;
        }
    }

    let lease = Lease {
        metadata: ObjectMeta {
            name: Some("leader".into()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some("a".into()),
            lease_duration_seconds: Some(15),
            acquire_time: Some(MicroTime(
                jiff::Timestamp::from_second(1_700_000_000).unwrap(),
            )),
            ..Default::default()
        }),
    };
    let created = leases.create(&PostParams::default(), &lease).await.unwrap();
    assert_eq!(created.spec, lease.spec);
    // Renewal as leader election does it: read, modify, replace.
    let mut renewed = leases.get("leader").await.unwrap();
    renewed.spec.as_mut().unwrap().holder_identity = Some("b".into());
    renewed.spec.as_mut().unwrap().lease_transitions = Some(1);
    let replaced = leases
        .replace("leader", &PostParams::default(), &renewed)
        .await
        .unwrap();
    assert_eq!(
        replaced.spec.as_ref().unwrap().holder_identity.as_deref(),
        Some("b")
    );
    // Kubernetes' lease validation.
    let mut bad = lease.clone();
    bad.metadata.name = Some("bad".into());
    bad.spec.as_mut().unwrap().lease_duration_seconds = Some(0);
    let err = api_error(
        leases
            .create(&PostParams::default(), &bad)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 422);
    assert!(
        err.message.contains("spec.leaseDurationSeconds"),
        "{}",
        err.message
    );

    let mut holders = Vec::new();
    while holders.last().map(String::as_str) != Some("b") {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("a watch event")
            .unwrap()
            .unwrap();
        if let watcher::Event::Apply(l) | watcher::Event::InitApply(l) = event {
            holders.push(l.spec.unwrap().holder_identity.unwrap());
        }
    }
    assert_eq!(holders, ["a", "b"]);
    leases
        .delete("leader", &DeleteParams::default())
        .await
        .unwrap();
    assert!(leases.get_opt("leader").await.unwrap().is_none());

    let events: Api<Event> = Api::namespaced(ts.client.clone(), "default");
    let event = Event {
        metadata: ObjectMeta {
            generate_name: Some("cm.".into()),
            ..Default::default()
        },
        involved_object: ObjectReference {
            kind: Some("ConfigMap".into()),
            name: Some("cm".into()),
            namespace: Some("default".into()),
            ..Default::default()
        },
        reason: Some("Synced".into()),
        message: Some("synced".into()),
        type_: Some("Normal".into()),
        count: Some(1),
        ..Default::default()
    };
    let recorded = events.create(&PostParams::default(), &event).await.unwrap();
    let name = recorded.metadata.name.clone().unwrap();
    assert!(name.starts_with("cm."), "{name}");
    let mut bumped = recorded.clone();
    bumped.count = Some(2);
    let bumped = events
        .replace(&name, &PostParams::default(), &bumped)
        .await
        .unwrap();
    assert_eq!(bumped.count, Some(2));
    let listed = events.list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    // An event about an object of another namespace is refused.
    let mut elsewhere = event.clone();
    elsewhere.involved_object.namespace = Some("kube-system".into());
    let err = api_error(
        events
            .create(&PostParams::default(), &elsewhere)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 422);
    events
        .delete(&name, &DeleteParams::default())
        .await
        .unwrap();
    ts.stop().await;
}

/// events.k8s.io/v1 and core/v1 Events are one set of objects, as in
/// Kubernetes: what kube-runtime's `Recorder` publishes through the new API
/// is what `kubectl get events` lists through the old one, and the other
/// way round, each in its own API's shape.
#[tokio::test]
async fn events_k8s_io_and_core_events_are_the_same_objects() {
    use k8s_openapi::api::core::v1::{Event as CoreEvent, ObjectReference};
    use k8s_openapi::api::events::v1::Event;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
    use kube::runtime::events::{Event as Published, EventType, Recorder, Reporter};

    let ts = TestServer::start().await;
    let events: Api<Event> = Api::namespaced(ts.client.clone(), "default");
    let core_events: Api<CoreEvent> = Api::namespaced(ts.client.clone(), "default");
    let mut stream = watcher(events.clone(), watcher::Config::default()).boxed();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("the initial list")
            .unwrap()
            .unwrap();
        if matches!(event, watcher::Event::InitDone) {
            break;
        }
    }

    // Written through events.k8s.io/v1, read through both.
    let regarding = ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("ConfigMap".into()),
        name: Some("app-config".into()),
        namespace: Some("default".into()),
        ..Default::default()
    };
    let event = Event {
        metadata: ObjectMeta {
            name: Some("app-config.1".into()),
            ..Default::default()
        },
        event_time: Some(MicroTime(
            jiff::Timestamp::from_second(1_700_000_000).unwrap(),
        )),
        regarding: Some(regarding.clone()),
        note: Some("configuration synced".into()),
        reason: Some("Synced".into()),
        action: Some("Reconcile".into()),
        type_: Some("Normal".into()),
        reporting_controller: Some("ks-controller-manager".into()),
        reporting_instance: Some("ks-controller-manager-0".into()),
        ..Default::default()
    };
    let created = events.create(&PostParams::default(), &event).await.unwrap();
    assert_eq!(
        (&created.note, &created.regarding, &created.event_time),
        (&event.note, &event.regarding, &event.event_time)
    );
    assert_eq!(events.get("app-config.1").await.unwrap(), created);
    let core = core_events.get("app-config.1").await.unwrap();
    assert_eq!(core.message, event.note);
    assert_eq!(core.involved_object, regarding);
    assert_eq!(core.reporting_component, event.reporting_controller);
    assert_eq!(core.event_time, event.event_time);
    assert_eq!(core.metadata.uid, created.metadata.uid);
    let listed = core_events.list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items, [core]);

    // Written through core/v1, read through events.k8s.io/v1.
    let old_style = CoreEvent {
        metadata: ObjectMeta {
            name: Some("app-config.2".into()),
            ..Default::default()
        },
        involved_object: regarding.clone(),
        message: Some("second".into()),
        reason: Some("Synced".into()),
        type_: Some("Normal".into()),
        count: Some(3),
        ..Default::default()
    };
    core_events
        .create(&PostParams::default(), &old_style)
        .await
        .unwrap();
    let listed = events.list(&ListParams::default()).await.unwrap();
    let names: Vec<_> = listed.iter().map(|e| e.metadata.name.clone()).collect();
    assert_eq!(
        names,
        [Some("app-config.1".into()), Some("app-config.2".into())]
    );
    let second = &listed.items[1];
    assert_eq!(second.note.as_deref(), Some("second"));
    assert_eq!(second.regarding.as_ref(), Some(&regarding));
    assert_eq!(second.deprecated_count, Some(3));

    // The watch through events.k8s.io/v1 saw both, in its shape.
    let mut notes = Vec::new();
    while notes.len() < 2 {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("a watch event")
            .unwrap()
            .unwrap();
        if let watcher::Event::Apply(e) = event {
            notes.push(e.note.unwrap_or_default());
        }
    }
    assert_eq!(notes, ["configuration synced", "second"]);

    // kube-runtime's Recorder: a create, then a merge patch of the series.
    let recorder = Recorder::new(
        ts.client.clone(),
        Reporter {
            controller: "ks-controller-manager".into(),
            instance: Some("ks-controller-manager-0".into()),
        },
    );
    let published = Published {
        type_: EventType::Warning,
        reason: "SyncFailed".into(),
        note: Some("backing off".into()),
        action: "Reconcile".into(),
        secondary: None,
    };
    recorder.publish(&published, &regarding).await.unwrap();
    recorder.publish(&published, &regarding).await.unwrap();
    let recorded = core_events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|e| e.reason.as_deref() == Some("SyncFailed"))
        .expect("the recorded event, through core/v1");
    assert_eq!(recorded.message.as_deref(), Some("backing off"));
    assert_eq!(recorded.type_.as_deref(), Some("Warning"));
    assert_eq!(recorded.involved_object, regarding);
    assert_eq!(recorded.series.and_then(|s| s.count), Some(2));

    // Kubernetes' validation of the new API, with its (core) field paths.
    let mut bad = event.clone();
    bad.metadata.name = Some("bad".into());
    bad.reporting_controller = None;
    bad.note = Some("x".repeat(1025));
    let err = api_error(
        events
            .create(&PostParams::default(), &bad)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 422);
    for expected in [
        "reportingController: Required value",
        "message: Invalid value: \"\": can have at most 1024 characters",
    ] {
        assert!(err.message.contains(expected), "{}", err.message);
    }
    let mut rewritten = events.get("app-config.1").await.unwrap();
    rewritten.note = Some("rewritten".into());
    let err = api_error(
        events
            .replace("app-config.1", &PostParams::default(), &rewritten)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 422);
    assert!(
        err.message
            .contains("message: Invalid value: \"rewritten\": field is immutable"),
        "{}",
        err.message
    );

    // Deleted through one API, gone from both.
    events
        .delete("app-config.2", &DeleteParams::default())
        .await
        .unwrap();
    assert!(core_events.get_opt("app-config.2").await.unwrap().is_none());
    core_events
        .delete("app-config.1", &DeleteParams::default())
        .await
        .unwrap();
    assert!(events.get_opt("app-config.1").await.unwrap().is_none());
    ts.stop().await;
}

/// Discovery lists events.k8s.io/v1 `events` without short names (Kubernetes
/// gives `ev` to core events only), as `kubectl api-resources` reads it.
#[tokio::test]
async fn events_k8s_io_is_discovered() {
    let ts = TestServer::start().await;
    let resources = |body: String| -> serde_json::Value {
        let list: serde_json::Value = serde_json::from_str(&body).unwrap();
        list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "events")
            .cloned()
            .unwrap()
    };
    let (status, body) = raw(&ts.client, "GET", "/apis/events.k8s.io/v1", "", Vec::new()).await;
    assert_eq!(status, 200, "{body}");
    let events = resources(body);
    assert_eq!(events["kind"], "Event");
    assert_eq!(events["namespaced"], true);
    assert!(events.get("shortNames").is_none_or(|s| s == &json!([])));
    let (_, body) = raw(&ts.client, "GET", "/api/v1", "", Vec::new()).await;
    assert_eq!(resources(body)["shortNames"], json!(["ev"]));
    let discovery = kube::Discovery::new(ts.client.clone())
        .run_aggregated()
        .await
        .unwrap();
    let group = discovery
        .groups()
        .find(|g| g.name() == "events.k8s.io")
        .expect("events.k8s.io in aggregated discovery");
    assert_eq!(group.preferred_version(), Some("v1"));
    assert!(
        group
            .recommended_resources()
            .iter()
            .any(|(ar, _)| ar.plural == "events" && ar.kind == "Event")
    );
    ts.stop().await;
}
