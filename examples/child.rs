//! What the measuring examples share: the release demo started as a child
//! process, its resident memory and its CPU time. Each example uses what
//! it needs.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Starts the demo that sits next to this binary on `127.0.0.1:0` and
/// returns it with the address it printed; exits with a message when the
/// demo is not built.
pub(crate) fn start_demo() -> (Child, String) {
    start_demo_with(&[])
}

/// [`start_demo`] with more arguments (`--tls-cert`, ...).
pub(crate) fn start_demo_with(extra: &[&str]) -> (Child, String) {
    let demo = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("demo")))
        .filter(|p| p.exists())
        .unwrap_or_else(|| {
            eprintln!("build the demo first: cargo build --release --example demo");
            std::process::exit(2)
        });
    let mut child = Command::new(demo)
        .args(["--addr", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            eprintln!("cannot start the demo: {e}");
            std::process::exit(1)
        });
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let addr = line.trim().trim_start_matches("listening on ").to_owned();
    (child, addr)
}

/// CPU seconds (user + system) process `pid` has used.
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses; utime
    // and stime are the 14th and 15th of the whole line, in 1/100 s.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// The resident memory of process `pid`, in KiB (0 if unknown).
pub(crate) fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
