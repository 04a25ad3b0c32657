//! The borrowing parse allocates nothing for targets without a query or
//! percent-escapes. Counted with a counting global allocator; this file is
//! its own test binary and holds one test, so nothing else allocates while
//! it counts (the minimum over several runs guards against stray harness
//! allocations).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::System;
use std::hint::black_box;

use ks_request_info::Resolver;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn allocations(resolver: &Resolver, method: &str, target: &str) -> usize {
    (0..5)
        .map(|_| {
            let region = Region::new(GLOBAL);
            let result = black_box(resolver.parse(black_box(method), black_box(target)));
            let n = region.change().allocations;
            drop(result);
            n
        })
        .min()
        .unwrap_or(usize::MAX)
}

#[test]
fn no_allocations_without_query_or_escapes() {
    let resolver = Resolver::default();
    let mut checked = 0;
    for (method, target) in include_str!("../benches/mix.txt")
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, t)| !t.contains(['?', '%']))
    {
        assert_eq!(
            allocations(&resolver, method, target),
            0,
            "{method} {target}"
        );
        checked += 1;
    }
    assert!(checked >= 8, "the mix lost its query-free requests");
    // Queries that need no decoding do not allocate either.
    for target in [
        "/api/v1/namespaces/default/pods?watch=1&labelSelector=app=web",
        "/api/v1/namespaces/default/pods?fieldSelector=metadata.name=web&limit=10",
    ] {
        assert_eq!(allocations(&resolver, "GET", target), 0, "{target}");
    }
    // Decoding allocates: proof that the counter counts.
    assert!(allocations(&resolver, "GET", "/api/v1/namespaces/d%65fault/pods") > 0);
}
