//! Uploads over a WebSocket, of any size, streamed to disk as they arrive.
//!
//! ```text
//! cargo run --example ws_upload -- --addr 127.0.0.1:8080 --dir ./uploads
//! ```
//!
//! On `/upload` each binary message a client sends is written into a new
//! file under `--dir` as its bytes arrive (`recv_stream`: the message is
//! never held whole, so there is no size limit), then answered with a text
//! message `{"bytes": N, "sha256": "HEX"}`; the file is
//! `upload-RUN-N.bin`, numbered in arrival order. A text message is
//! answered with `{"error": ...}`. The first line
//! on standard output is `listening on ADDR`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use oneport::dispatch::{Server, WebSocket, filter, websocket};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

#[path = "cli.rs"]
mod cli;

/// Where uploads go, and how the next one is named.
struct Uploads {
    dir: PathBuf,
    next: AtomicU64,
    /// Tells this process's files from an earlier run's.
    run: u128,
}

impl Uploads {
    fn path(&self) -> PathBuf {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.dir.join(format!("upload-{}-{n}.bin", self.run))
    }
}

/// Streams one message into `path`; its length and SHA-256.
async fn store(
    stream: &mut oneport::dispatch::MessageStream<'_>,
    path: &std::path::Path,
) -> Result<(u64, String), String> {
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| format!("cannot create the file: {e}"))?;
    let (mut n, mut hash) = (0u64, Sha256::new());
    while let Some(chunk) = stream.chunk().await {
        let chunk = chunk.map_err(|e| format!("the message broke off: {e}"))?;
        hash.update(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(|e| format!("cannot write the file: {e}"))?;
        n += chunk.len() as u64;
    }
    file.flush()
        .await
        .map_err(|e| format!("cannot write the file: {e}"))?;
    let hex: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((n, hex))
}

async fn upload(mut ws: WebSocket, _req: http::request::Parts, uploads: Arc<Uploads>) {
    while let Some(Ok(mut stream)) = ws.recv_stream_with(None).await {
        let answer = if stream.is_text() {
            json!({"error": "send files as binary messages"})
        } else {
            let path = uploads.path();
            match store(&mut stream, &path).await {
                Ok((bytes, sha256)) => json!({"bytes": bytes, "sha256": sha256}),
                Err(why) => {
                    let _ = tokio::fs::remove_file(&path).await;
                    json!({"error": why})
                }
            }
        };
        // The rest of a message left unread is skipped by the next receive.
        drop(stream);
        if ws.send_text(answer.to_string()).await.is_err() {
            break;
        }
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let known = ["addr", "dir"];
    let addr = cli::option("addr", "127.0.0.1:8080", &known);
    let dir = PathBuf::from(cli::option("dir", "uploads", &known));
    tokio::fs::create_dir_all(&dir).await?;
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let uploads = Arc::new(Uploads {
        dir,
        next: AtomicU64::new(0),
        run,
    });
    let site = filter(
        "^/upload$",
        websocket(move |ws: WebSocket, req| upload(ws, req, uploads.clone())),
    );
    let server = Server::builder().bind(addr.as_str()).await?;
    println!("listening on {}", server.local_addr());
    server.serve(site).await
}
