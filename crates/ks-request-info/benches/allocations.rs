//! Heap allocations of one `Resolver::parse` of each request of
//! `benches/mix.txt`, counted with a counting global allocator.
//!
//! Kept apart from the timing benchmarks: the counting allocator updates
//! shared atomic counters on every allocation and free, which would be
//! timed with the parse. `tests/allocations.rs` asserts the same counts.
//!
//! Run: `cargo bench -p ks-request-info --bench allocations`

use std::alloc::System;
use std::hint::black_box;

use ks_request_info::Resolver;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn main() {
    let resolver = Resolver::default();
    let mix: Vec<(&str, &str)> = include_str!("mix.txt")
        .lines()
        .filter_map(|l| l.split_once(' '))
        .collect();
    let mut total = 0;
    println!("heap allocations per parse:");
    for (method, target) in &mix {
        let region = Region::new(GLOBAL);
        let result = black_box(resolver.parse(black_box(method), black_box(target)));
        let allocations = region.change().allocations;
        drop(result);
        total += allocations;
        println!("  {allocations:>2}  {method} {target}");
    }
    println!(
        "  mean {:.2} per parse over {} requests",
        total as f64 / mix.len() as f64,
        mix.len()
    );
}
