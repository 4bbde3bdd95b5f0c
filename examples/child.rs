//! What the measuring examples share: the release demo started as a child
//! process, and its resident memory.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Starts the demo that sits next to this binary on `127.0.0.1:0` and
/// returns it with the address it printed; exits with a message when the
/// demo is not built.
pub(crate) fn start_demo() -> (Child, String) {
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
