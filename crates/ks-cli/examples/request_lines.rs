//! Prints N `METHOD URL` lines (default 1,000,000) for `ks request-info
//! --batch`, e.g. to measure its throughput:
//!
//! ```sh
//! cargo run --release -p ks-cli --example request_lines -- 1000000 > /tmp/lines.txt
//! time target/release/ks request-info --batch < /tmp/lines.txt > /dev/null
//! ```

use std::io::Write;

#[path = "../benches/support/lines.rs"]
mod lines;

fn main() -> std::io::Result<()> {
    let n = match std::env::args().nth(1) {
        None => 1_000_000,
        Some(arg) => match arg.parse() {
            Ok(n) => n,
            Err(_) => {
                eprintln!("usage: request_lines [COUNT]");
                std::process::exit(2);
            }
        },
    };
    let mut out = String::new();
    lines::write_lines(&mut out, n);
    std::io::stdout().lock().write_all(out.as_bytes())
}
