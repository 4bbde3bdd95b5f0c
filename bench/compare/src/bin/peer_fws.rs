//! fastwebsockets behind hyper 1: `/plaintext` and a WebSocket echo on
//! `/ws`, upgraded with `fastwebsockets::upgrade` as its documentation does.

use bytes::Bytes;
use fastwebsockets::{FragmentCollector, OpCode, upgrade};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};

async fn echo(fut: upgrade::UpgradeFut) -> Result<(), fastwebsockets::WebSocketError> {
    let mut ws = FragmentCollector::new(fut.await?);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => return Ok(()),
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
}

async fn handle(
    mut req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, fastwebsockets::WebSocketError> {
    if req.uri().path() == "/ws" && upgrade::is_upgrade_request(&req) {
        let (res, fut) = upgrade::upgrade(&mut req)?;
        tokio::spawn(async move {
            let _ = echo(fut).await;
        });
        let (parts, _) = res.into_parts();
        return Ok(Response::from_parts(parts, Full::new(Bytes::new())));
    }
    let mut res = if req.uri().path() == "/plaintext" {
        Response::new(Full::new(Bytes::from_static(b"Hello, World!")))
    } else {
        let mut r = Response::new(Full::new(Bytes::from_static(b"not found\n")));
        *r.status_mut() = hyper::StatusCode::NOT_FOUND;
        r
    };
    res.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("text/plain"),
    );
    Ok(res)
}

async fn serve(tcp: tokio::net::TcpStream) {
    let io = hyper_util::rt::TokioIo::new(tcp);
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, hyper::service::service_fn(handle))
        .with_upgrades();
    let _ = conn.await;
}

#[tokio::main]
async fn main() {
    let listener = oneport_compare::bind_from_args().await;
    oneport_compare::accept_each(listener, serve).await;
}
