//! A `redis-server` for one test, on a free loopback port, stopped by its
//! PID when dropped. Shared by the backplane's tests and the facade's
//! tests of the examples on Redis (which include this file by path).

#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A redis-server on `port`, persisting every write (so that a restart
/// keeps what was written), stopped when dropped.
pub(crate) struct Redis {
    child: Child,
    /// The port it listens on.
    pub(crate) port: u16,
    dir: std::path::PathBuf,
}

impl Redis {
    pub(crate) fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let dir = std::env::temp_dir().join(format!("oneport-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("data dir");
        Self::on(port, dir)
    }

    fn on(port: u16, dir: std::path::PathBuf) -> Self {
        let child = Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (.ci/run installs it)");
        let redis = Redis { child, port, dir };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return redis;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start on port {port}");
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Stops it (SIGKILL: no goodbye) and starts it again on the same port
    /// and data.
    pub(crate) fn restart(mut self) -> Self {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (port, dir) = (self.port, self.dir.clone());
        std::mem::forget(self);
        Redis::on(port, dir)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
