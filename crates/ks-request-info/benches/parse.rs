//! Cost of one `Resolver::parse`.
//!
//! Workload: the 12 requests of `benches/mix.txt` (core list, group get,
//! namespaced subresource, watch in the path and in the query, proxy, kapis
//! workspace, `/clusters/` prefix, non-resource, list with encoded selectors,
//! global delete, workspace watch), parsed with `Resolver::default()`.
//! `parse/mix` times one pass over all 12 (criterion's throughput line gives
//! parses per second); `parse/one/N` times request N alone. Before timing,
//! the heap allocations of one parse of each request are counted with a
//! counting global allocator and printed.
//!
//! Run: `cargo bench -p ks-request-info --bench parse`

use std::alloc::System;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ks_request_info::Resolver;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn mix() -> Vec<(&'static str, &'static str)> {
    include_str!("mix.txt")
        .lines()
        .filter_map(|l| l.split_once(' '))
        .collect()
}

fn report_allocations(resolver: &Resolver, mix: &[(&str, &str)]) {
    let mut total = 0;
    eprintln!("heap allocations per parse:");
    for (method, target) in mix {
        let region = Region::new(GLOBAL);
        let result = black_box(resolver.parse(black_box(method), black_box(target)));
        let allocations = region.change().allocations;
        drop(result);
        total += allocations;
        eprintln!("  {allocations:>2}  {method} {target}");
    }
    eprintln!(
        "  mean {:.2} per parse over {} requests",
        total as f64 / mix.len() as f64,
        mix.len()
    );
}

fn bench(c: &mut Criterion) {
    let resolver = Resolver::default();
    let mix = mix();
    report_allocations(&resolver, &mix);

    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(mix.len() as u64));
    group.bench_function("mix", |b| {
        b.iter(|| {
            for (method, target) in &mix {
                black_box(resolver.parse(black_box(method), black_box(target)).is_ok());
            }
        })
    });
    group.throughput(Throughput::Elements(1));
    for (i, (method, target)) in mix.iter().enumerate() {
        group.bench_function(format!("one/{i:02}"), |b| {
            b.iter(|| black_box(resolver.parse(black_box(method), black_box(target)).is_ok()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
