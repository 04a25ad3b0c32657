//! Cost of one `Resolver::parse`.
//!
//! Workload: the 12 requests of `benches/mix.txt` (core list, group get,
//! namespaced subresource, watch in the path and in the query, proxy, kapis
//! workspace, `/clusters/` prefix, non-resource, list with encoded selectors,
//! global delete, workspace watch), parsed with `Resolver::default()`.
//! `parse/mix` times one pass over all 12 (criterion's throughput line gives
//! parses per second); `parse/one/N` times request N alone. With the
//! system allocator: the allocations per parse are counted by the
//! `allocations` benchmark, whose counting allocator would otherwise add
//! its atomic updates to the times here.
//!
//! Run: `cargo bench -p ks-request-info --bench parse` (and
//! `--bench allocations` for the counts)

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ks_request_info::Resolver;

fn mix() -> Vec<(&'static str, &'static str)> {
    include_str!("mix.txt")
        .lines()
        .filter_map(|l| l.split_once(' '))
        .collect()
}

fn bench(c: &mut Criterion) {
    let resolver = Resolver::default();
    let mix = mix();

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
