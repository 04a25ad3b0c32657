//! A plain loop over the parse mix, for instruction counts and wall time
//! without criterion's machinery.
//!
//! Workload: the 12 requests of `benches/mix.txt`, each parsed N times
//! (`N` from the environment, default 100,000) with `Resolver::default()`.
//! `ONLY=i` (0-based line of `mix.txt`) parses that one request instead, for
//! per-request counts (then divide by `N`).
//! Prints the mean wall time per parse. Under callgrind, the instruction
//! count divided by `12 * N` is the cost of one parse, once the start-up
//! (a run with `N=0`, about 0.32M instructions) is subtracted:
//!
//! ```sh
//! cargo bench -p ks-request-info --bench parse_loop
//! N=10000 valgrind --tool=callgrind target/release/deps/parse_loop-<hash> --bench
//! ```
//!
//! `ROUNDS=r` (wall time only) instead runs `r` rounds, each timing `N`
//! passes of the parse and then `N` passes of a yardstick that uses only
//! the standard library on the same targets (split each at `/`, look every
//! segment up in a `HashMap`). The shared machine this project is measured
//! on runs at one of two speeds for seconds at a time; both workloads slow
//! down together, so their ratio shows what is the parse and what is the
//! machine.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use ks_request_info::Resolver;

fn main() {
    let only: Option<usize> = env("ONLY");
    let mix: Vec<(&str, &str)> = include_str!("mix.txt")
        .lines()
        .filter_map(|l| l.split_once(' '))
        .enumerate()
        .filter(|(i, _)| only.is_none_or(|o| o == *i))
        .map(|(_, r)| r)
        .collect();
    if mix.is_empty() {
        eprintln!("ONLY={only:?}: mix.txt has no such line (0-based)");
        std::process::exit(2);
    }
    let resolver = Resolver::default();
    match env::<usize>("ROUNDS") {
        None => {
            let n = env("N").unwrap_or(100_000);
            let ns = time_parses(&resolver, &mix, n);
            println!("{} parses: {ns:.1} ns per parse", n * mix.len());
        }
        Some(rounds) => {
            let n = env("N").unwrap_or(20_000);
            let segments = segment_ids(&mix);
            let (mut parses, mut yardsticks, mut ratios) = (vec![], vec![], vec![]);
            for round in 0..rounds {
                let parse = time_parses(&resolver, &mix, n);
                let yardstick = time_yardstick(&segments, &mix, n);
                println!(
                    "round {round:2}: parse {parse:6.1} ns, yardstick {yardstick:6.1} ns, ratio {:.2}",
                    parse / yardstick
                );
                parses.push(parse);
                yardsticks.push(yardstick);
                ratios.push(parse / yardstick);
            }
            println!(
                "median of {rounds} rounds: parse {:.1} ns, yardstick {:.1} ns, ratio {:.2}",
                median(&mut parses),
                median(&mut yardsticks),
                median(&mut ratios)
            );
        }
    }
}

/// The median (upper for an even count); NaN for none.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A variable of the environment, parsed; `None` when unset or malformed.
fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Mean wall time of one parse over `n` passes of `mix`, in ns.
fn time_parses(resolver: &Resolver, mix: &[(&str, &str)], n: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        for (method, target) in mix {
            black_box(resolver.parse(black_box(method), black_box(target)).is_ok());
        }
    }
    start.elapsed().as_nanos() as f64 / (n * mix.len()).max(1) as f64
}

/// Every `/`-separated piece of the mix's targets, numbered.
fn segment_ids(mix: &[(&str, &str)]) -> HashMap<String, u64> {
    let mut ids = HashMap::new();
    for (_, target) in mix {
        for segment in target.split('/') {
            let next = ids.len() as u64;
            ids.entry(segment.to_owned()).or_insert(next);
        }
    }
    ids
}

/// Mean wall time of the yardstick for one target, in ns.
fn time_yardstick(ids: &HashMap<String, u64>, mix: &[(&str, &str)], n: usize) -> f64 {
    let start = Instant::now();
    let mut sum = 0u64;
    for _ in 0..n {
        for (_, target) in mix {
            for segment in black_box(*target).split('/') {
                sum = sum.wrapping_add(ids.get(segment).copied().unwrap_or(0));
            }
        }
    }
    black_box(sum);
    start.elapsed().as_nanos() as f64 / (n * mix.len()).max(1) as f64
}
