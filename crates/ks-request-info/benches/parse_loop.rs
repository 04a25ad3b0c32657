//! A plain loop over the parse mix, for instruction counts and wall time
//! without criterion's machinery.
//!
//! Workload: the 12 requests of `benches/mix.txt`, each parsed N times
//! (`N` from the environment, default 100,000) with `Resolver::default()`.
//! `ONLY=i` (0-based line of `mix.txt`) parses that one request instead, for
//! per-request counts (then divide by `N`).
//! Prints the mean wall time per parse. Under callgrind, the instruction
//! count divided by `12 * N` is the cost of one parse (process start-up
//! adds about 1.4M instructions):
//!
//! ```sh
//! cargo bench -p ks-request-info --bench parse_loop
//! N=10000 valgrind --tool=callgrind target/release/deps/parse_loop-<hash> --bench
//! ```

use std::hint::black_box;
use std::time::Instant;

use ks_request_info::Resolver;

fn main() {
    let only: Option<usize> = std::env::var("ONLY").ok().and_then(|v| v.parse().ok());
    let mix: Vec<(&str, &str)> = include_str!("mix.txt")
        .lines()
        .filter_map(|l| l.split_once(' '))
        .enumerate()
        .filter(|(i, _)| only.is_none_or(|o| o == *i))
        .map(|(_, r)| r)
        .collect();
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let resolver = Resolver::default();
    let start = Instant::now();
    for _ in 0..n {
        for (method, target) in &mix {
            black_box(resolver.parse(black_box(method), black_box(target)).is_ok());
        }
    }
    let elapsed = start.elapsed();
    let parses = n * mix.len();
    println!(
        "{parses} parses in {elapsed:.2?}: {:.1} ns per parse",
        elapsed.as_nanos() as f64 / parses as f64
    );
}
