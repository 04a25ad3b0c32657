//! Writes the synthetic benchmark policy of issue 4 as YAML manifests on
//! standard output, so any tool can load the same objects:
//!
//! ```text
//! cargo run --release -p ks-rbac --example generate_policy -- 1      > policy-100k.yaml
//! cargo run --release -p ks-rbac --example generate_policy -- 10     > policy-10k.yaml
//! cargo run --release -p ks-rbac --example generate_policy -- 100    > policy-1k.yaml
//! ```
//!
//! The argument divides every count of the issue's shape (100k
//! RoleBindings at 1). The probes, requests with known answers, go to
//! standard error as `ks auth can-i --batch` lines.

use std::io::Write;

use ks_rbac::synthetic::{Shape, generate, probes};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let factor: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1);
    let shape = Shape::ISSUE.scaled_down(factor);
    let policy = generate(&shape);
    std::io::stdout()
        .lock()
        .write_all(policy.to_yaml()?.as_bytes())?;
    let mut err = std::io::stderr().lock();
    for probe in probes(&shape) {
        writeln!(err, "{}", serde_json::to_string(&probe.attributes)?)?;
    }
    Ok(())
}
