//! What the peer servers share: the demo contract's command line
//! (`--addr HOST:PORT`, port 0 allowed) and its first line of output
//! (`listening on ADDR`).

use std::future::Future;

use tokio::net::{TcpListener, TcpStream};

/// Binds the address given with `--addr` (default `127.0.0.1:0`) and prints
/// the contract's first line.
pub async fn bind_from_args() -> TcpListener {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:0".to_owned();
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--addr", Some(v)) => addr = v,
            _ => {
                eprintln!("usage: [--addr HOST:PORT]");
                std::process::exit(2);
            }
        }
    }
    let listener = TcpListener::bind(&addr).await.expect("bind");
    println!(
        "listening on {}",
        listener.local_addr().expect("local address")
    );
    listener
}

/// Accepts forever, handing each connection (with `TCP_NODELAY` set, as
/// every contestant has it) to its own task running `serve`.
pub async fn accept_each<F, Fut>(listener: TcpListener, serve: F)
where
    F: Fn(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        tokio::spawn(serve(tcp));
    }
}
