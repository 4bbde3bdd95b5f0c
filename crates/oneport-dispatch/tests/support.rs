//! Shared helpers for the loopback integration tests.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    missing_debug_implementations
)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use oneport_dispatch::{Builder, Dispatcher, ShutdownHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// Every test body runs under this limit.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(20);

pub struct Running {
    pub addr: SocketAddr,
    pub stop: ShutdownHandle,
    pub task: JoinHandle<std::io::Result<()>>,
}

pub async fn start(d: impl Dispatcher) -> Running {
    start_with(Builder::new(), d).await
}

pub async fn start_with(b: Builder, d: impl Dispatcher) -> Running {
    let server = b.bind("127.0.0.1:0").await.expect("bind");
    let addr = server.local_addr();
    let stop = server.shutdown_handle();
    let task = tokio::spawn(server.serve(d));
    Running { addr, stop, task }
}

/// Sends raw bytes and reads until the peer closes (or `limit` passes).
pub async fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(raw).await.expect("write");
    read_all(&mut s).await
}

pub async fn read_all(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads one response with a Content-Length body (or none) from `s`.
pub async fn read_response(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        let n = s.read(&mut byte).await.expect("read");
        assert!(
            n > 0,
            "eof before a full head: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.push(byte[0]);
        if buf.ends_with(b"\r\n\r\n") {
            break;
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await.expect("body");
    head + &String::from_utf8_lossy(&body)
}

pub fn status_of(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"))
}

pub fn body_of(response: &str) -> &str {
    response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("")
}

pub fn header_of<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response
        .split_once("\r\n\r\n")
        .map(|(h, _)| h)
        .unwrap_or(response);
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// A loopback address with a port that was free a moment ago, for servers
/// that take an address and do not report the port they bound.
pub fn free_loopback_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("local address")
}

/// Connects to `addr`, retrying while the server is still starting.
pub async fn connect_when_up(addr: SocketAddr) -> TcpStream {
    for _ in 0..200 {
        if let Ok(s) = TcpStream::connect(addr).await {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("nothing listening on {addr}");
}

/// Writes `raw` in one write and reads the response head; returns it and
/// the bytes that followed it.
pub async fn handshake(s: &mut TcpStream, raw: &[u8]) -> (String, BytesMut) {
    s.write_all(raw).await.expect("write");
    let mut buf = BytesMut::new();
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end + 4]).into_owned();
            buf.advance(end + 4);
            return (head, buf);
        }
        let n = s.read_buf(&mut buf).await.expect("read");
        assert!(
            n > 0,
            "eof in the head: {:?}",
            String::from_utf8_lossy(&buf)
        );
    }
}
