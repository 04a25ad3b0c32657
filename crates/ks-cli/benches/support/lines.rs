//! A deterministic generator of `METHOD URL` lines for `ks request-info
//! --batch`, shared by the `batch` benchmark and the `request_lines` example.
//!
//! The mix: namespaced and cluster lists, gets and subresources, watches in
//! the path and the query, proxy, KubeSphere workspace and member-cluster
//! paths, global resources, non-resource paths, and lists with selectors.
//! Names vary (from a small LCG) so no two neighbouring lines are equal.

use std::fmt::Write as _;

/// Appends `n` lines to `out`.
pub(crate) fn write_lines(out: &mut String, n: usize) {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    for i in 0..n {
        let ns = next() % 10_000;
        let name = next() % 100_000;
        let ws = next() % 1_000;
        let _ = match i % 16 {
            0 => writeln!(out, "GET /api/v1/namespaces/ns-{ns}/pods"),
            1 => writeln!(
                out,
                "GET /apis/apps/v1/namespaces/ns-{ns}/deployments/web-{name}"
            ),
            2 => writeln!(out, "PUT /api/v1/namespaces/ns-{ns}/pods/web-{name}/status"),
            3 => writeln!(out, "GET /api/v1/watch/namespaces/ns-{ns}/configmaps"),
            4 => writeln!(
                out,
                "GET /api/v1/namespaces/ns-{ns}/pods?watch=true&resourceVersion={name}"
            ),
            5 => writeln!(
                out,
                "GET /api/v1/proxy/namespaces/ns-{ns}/services/svc-{name}:80/healthz"
            ),
            6 => writeln!(
                out,
                "GET /kapis/iam.kubesphere.io/v1beta1/workspaces/ws-{ws}/workspacemembers"
            ),
            7 => writeln!(
                out,
                "GET /clusters/member-{ws}/apis/apps/v1/namespaces/ns-{ns}/deployments"
            ),
            8 => writeln!(out, "GET /healthz"),
            9 => writeln!(
                out,
                "GET /api/v1/namespaces/ns-{ns}/pods?labelSelector=app%3Dweb-{name}&limit=500"
            ),
            10 => writeln!(
                out,
                "DELETE /apis/iam.kubesphere.io/v1alpha2/users/user-{name}"
            ),
            11 => writeln!(
                out,
                "GET /api/v1/namespaces?watch=1&labelSelector=kubesphere.io/workspace=ws-{ws}"
            ),
            12 => writeln!(
                out,
                "POST /apis/rbac.authorization.k8s.io/v1/namespaces/ns-{ns}/rolebindings"
            ),
            13 => writeln!(
                out,
                "PATCH /apis/tenant.kubesphere.io/v1alpha2/workspacetemplates/ws-{ws}"
            ),
            14 => writeln!(
                out,
                "GET /apis/clusters/member-{ws}/rbac.authorization.k8s.io/v1/clusterroles"
            ),
            _ => writeln!(
                out,
                "DELETE /api/v1/namespaces/ns-{ns}/secrets?fieldSelector=type%3DOpaque"
            ),
        };
    }
}
