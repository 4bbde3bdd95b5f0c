//! Runs every case of an Autobahn|Testsuite `fuzzingserver` with the oneport
//! WebSocket client, echoing what each case sends, then asks the server to
//! write its reports.
//!
//! ```text
//! cargo run --release --example autobahn_client -- ws://127.0.0.1:9001 [AGENT]
//! ```

use oneport::ws::deflate::DeflateConfig;
use oneport::ws::{Config, ConnectOptions, Message, connect_with};

const AGENT_DEFAULT: &str = "oneport";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let Some(base) = args.next() else {
        eprintln!("usage: autobahn_client ws://HOST:PORT [AGENT]");
        std::process::exit(2);
    };
    let agent = args.next().unwrap_or_else(|| AGENT_DEFAULT.to_owned());
    let base = base.trim_end_matches('/');

    let count = match case_count(base).await {
        Ok(n) => n,
        Err(e) => {
            eprintln!("autobahn_client: cannot get the case count: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("autobahn_client: running {count} cases as {agent}");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        if let Err(e) = run_case(&url).await {
            eprintln!("autobahn_client: case {case}: {e}");
        }
    }
    let url = format!("{base}/updateReports?agent={agent}");
    match connect_with(&url, options()).await {
        Ok((mut ws, _)) => {
            // The server closes once the reports are written.
            while let Some(Ok(_)) = ws.recv().await {}
        }
        Err(e) => {
            eprintln!("autobahn_client: updateReports failed: {e}");
            std::process::exit(1);
        }
    }
}

fn options() -> ConnectOptions {
    // Cases 9.x send 16 MiB messages; the defaults allow 64 MiB. Cases 12
    // and 13 need permessage-deflate; every message is compressed, however
    // short, so that each size the cases send goes through the compressor.
    let deflate = DeflateConfig {
        min_size: 0,
        ..DeflateConfig::default()
    };
    ConnectOptions::default().config(Config::default().deflate(Some(deflate)))
}

async fn case_count(base: &str) -> Result<u32, Box<dyn std::error::Error>> {
    let (mut ws, _) = connect_with(&format!("{base}/getCaseCount"), options()).await?;
    while let Some(msg) = ws.recv().await {
        if let Message::Text(t) = msg? {
            return Ok(t.as_str().trim().parse()?);
        }
    }
    Err("no case count received".into())
}

async fn run_case(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let (mut ws, _) = connect_with(url, options()).await?;
    while let Some(msg) = ws.recv().await {
        let msg = msg?;
        if matches!(msg, Message::Text(_) | Message::Binary(_)) {
            ws.send(msg).await?;
        }
    }
    Ok(())
}
