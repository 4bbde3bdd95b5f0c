//! What TLS costs the demo server, measured from outside it: the release
//! demo runs as a child process, plain and then with a certificate made by
//! `openssl` (`--tls-cert`, `--tls-key`), and its CPU time is read from
//! `/proc/PID/stat` around:
//!
//! - handshakes: new connections, each making one `GET /plaintext` and
//!   closing (four at a time), reported as connections per second and
//!   server CPU per connection;
//! - echoes: 64 B and 16 KiB WebSocket messages over four open
//!   connections, reported as server CPU per echo.
//!
//! ```text
//! cargo build --release --example demo --example tls_cost
//! target/release/examples/tls_cost
//! ```
//!
//! Linux only. The client (this process) runs on the same machine.

use std::time::Instant;

use oneport::net::{ClientStream, Security, TlsClientConfig};
use oneport::ws::{ConnectOptions, Message, connect_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "child.rs"]
mod child;
use child::{cpu_seconds, start_demo_with};

const PARALLEL: usize = 4;
const CONNECTIONS: usize = 8000;

/// One fresh connection: handshake, one request, the whole answer, close.
async fn one_request(host_port: &str, security: Security, tls: Option<&TlsClientConfig>) {
    let (host, port) = host_port.rsplit_once(':').expect("HOST:PORT");
    let port: u16 = port.parse().expect("port");
    let name = if security == Security::Tls {
        "localhost"
    } else {
        host
    };
    let mut s: ClientStream = oneport::net::connect(name, port, security, tls)
        .await
        .expect("connect");
    s.write_all(b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    s.flush().await.expect("flush");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    assert!(
        out.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
}

async fn handshakes(
    pid: u32,
    addr: &str,
    security: Security,
    tls: Option<&TlsClientConfig>,
) -> (f64, f64) {
    one_request(addr, security, tls).await;
    let (cpu0, t0) = (cpu_seconds(pid), Instant::now());
    let tasks: Vec<_> = (0..PARALLEL)
        .map(|_| {
            let (addr, tls) = (addr.to_owned(), tls.cloned());
            tokio::spawn(async move {
                for _ in 0..CONNECTIONS / PARALLEL {
                    one_request(&addr, security, tls.as_ref()).await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("client task");
    }
    let (cpu, secs) = (cpu_seconds(pid) - cpu0, t0.elapsed().as_secs_f64());
    (CONNECTIONS as f64 / secs, cpu * 1e6 / CONNECTIONS as f64)
}

async fn echoes(
    pid: u32,
    url: &str,
    tls: Option<&TlsClientConfig>,
    size: usize,
    count: usize,
) -> f64 {
    let mut opts = ConnectOptions::default();
    if let Some(t) = tls {
        opts = opts.tls(t.clone());
    }
    let mut sockets = Vec::new();
    for _ in 0..PARALLEL {
        let (mut ws, _) = connect_with(url, opts.clone()).await.expect("connect");
        ws.send(Message::binary(vec![7u8; size]))
            .await
            .expect("send");
        ws.recv().await.expect("echo").expect("echo");
        sockets.push(ws);
    }
    let cpu0 = cpu_seconds(pid);
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let msg = Message::binary(vec![7u8; size]);
                for _ in 0..count {
                    ws.send(msg.clone()).await.expect("send");
                    ws.recv().await.expect("echo").expect("echo");
                }
                let _ = ws.close(None).await;
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("client task");
    }
    (cpu_seconds(pid) - cpu0) * 1e6 / (count * PARALLEL) as f64
}

fn test_certificate(dir: &std::path::Path) -> (String, String) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args([
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl failed");
    (cert.display().to_string(), key.display().to_string())
}

fn main() {
    let dir = std::env::temp_dir().join(format!("oneport-tls-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (cert, key) = test_certificate(&dir);
    let trust = TlsClientConfig::from_pem(&std::fs::read(&cert).expect("cert")).expect("root");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "| transport | new connections per second | server CPU per connection | server CPU per 64 B echo | per 16 KiB echo |"
    );
    println!("|---|---|---|---|---|");
    for security in [Security::Plain, Security::Tls] {
        let (mut child, addr) = match security {
            Security::Plain => start_demo_with(&[]),
            Security::Tls => start_demo_with(&["--tls-cert", &cert, "--tls-key", &key]),
        };
        let pid = child.id();
        let tls = (security == Security::Tls).then_some(&trust);
        let (name, scheme) = match security {
            Security::Plain => ("plain TCP", "ws"),
            Security::Tls => ("TLS 1.3", "wss"),
        };
        let port = addr
            .rsplit_once(':')
            .map(|(_, p)| p.to_owned())
            .unwrap_or_default();
        let url = format!("{scheme}://localhost:{port}/ws");
        rt.block_on(async {
            let (rate, per_conn) = handshakes(pid, &addr, security, tls).await;
            let small = echoes(pid, &url, tls, 64, 50_000).await;
            let large = echoes(pid, &url, tls, 16 * 1024, 20_000).await;
            println!("| {name} | {rate:.0} | {per_conn:.0} µs | {small:.1} µs | {large:.1} µs |");
        });
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
