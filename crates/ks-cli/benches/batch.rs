//! Throughput of `ks request-info --batch`, in process.
//!
//! Workload: 100,000 generated `METHOD URL` lines (`support/lines.rs`: 16
//! request shapes across core, group, KubeSphere workspace, member-cluster,
//! global and non-resource paths, with varying names), parsed and written as
//! JSON lines into a reused buffer by `ks_cli::request_info::run_batch`, the
//! function behind the command. Throughput is in lines per second.
//!
//! Run: `cargo bench -p ks-cli --bench batch`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ks_request_info::Resolver;

mod support {
    pub(crate) mod lines;
}

const LINES: usize = 100_000;

fn bench(c: &mut Criterion) {
    let mut input = String::new();
    support::lines::write_lines(&mut input, LINES);
    let resolver = Resolver::default();
    let mut out = Vec::with_capacity(64 << 20);
    let mut group = c.benchmark_group("batch");
    group.throughput(Throughput::Elements(LINES as u64));
    group.sample_size(20);
    group.bench_function("request-info", |b| {
        b.iter(|| {
            out.clear();
            ks_cli::request_info::run_batch(&resolver, input.as_bytes(), &mut out)
                .map(|()| black_box(out.len()))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
